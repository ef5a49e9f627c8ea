#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package mempager's build, tests and test VM need.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

# Debian's 6.12 LTS kernel: headers to build against, the unsigned image to boot.
STOCK_META=linux-headers-6.12-amd64
# Debian 12's default 6.1 LTS kernel: headers for the 6.1 lane.
STOCK61_META=linux-headers-amd64

pkgs=(build-essential bc bison flex libelf-dev libssl-dev dwarves cpio
      xz-utils kmod qemu-system-x86 busybox-static sparse
      linux-source-6.12 "$STOCK_META" "$STOCK61_META" python3 perl pkg-config man-db dkms lcov
      redis-server libhiredis-dev iproute2 gnuplot-nox)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
