#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's stock 6.12 kernel image matching the installed
# linux-headers-6.12-amd64 (without installing it) and print the path of
# its vmlinuz. Cached; the package registry is asked only once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$(stock_kver)
dir="$MEMPAGER_CACHE/stock-$kver"
img="$dir/boot/vmlinuz-$kver"
if [ ! -f "$img" ]; then
	rm -rf "$dir"
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -qq "linux-image-$kver-unsigned") >&2 ||
		die "cannot download linux-image-$kver-unsigned"
	dpkg -x "$dir"/deb/*.deb "$dir"
	rm -rf "$dir/deb"
fi
[ -f "$img" ] || die "no $img in the image package"
echo "$img"
