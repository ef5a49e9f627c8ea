#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's stock kernel image matching an installed headers meta
# package (argument; default linux-headers-6.12-amd64, the 6.12 LTS) without
# installing it, and print the path of its vmlinuz. Cached; the package
# registry is asked only once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=$(stock_kver "${1:-$STOCK_612}")
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
