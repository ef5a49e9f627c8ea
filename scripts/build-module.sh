#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build mempager.ko (and the KUnit module where the kernel has KUnit) for
# one kernel build tree in a private copy of the sources, so that modules
# for different kernels never share object files.
#
#   build-module.sh NAME KDIR [extra make args]    prints the output dir
#
# The debug lane's module (NAME debug, a kernel with CONFIG_GCOV_KERNEL) is
# built for line coverage (GCOV_PROFILE, see Kbuild; scripts/coverage.py
# reads the results). MEMPAGER_GCOV=1 or 0 forces it on or off.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=$1 kdir=$2
shift 2
out="$TOP_DIR/build/mod-$name"
mkdir -p "$out"
cp -a "$TOP_DIR/Kbuild" "$TOP_DIR/kmod" "$TOP_DIR/uapi" "$out/"
gcov=${MEMPAGER_GCOV:-}
if [ -z "$gcov" ]; then
	gcov=0
	[ "$name" = debug ] && grep -qx CONFIG_GCOV_KERNEL=y "$kdir/.config" && gcov=1
fi
[ "$gcov" = 1 ] || gcov=
make -C "$kdir" M="$out" W=1 MEMPAGER_GCOV="$gcov" "$@" modules >"$out/build.log" 2>&1 ||
	{ cat "$out/build.log" >&2; die "module build for $name failed"; }
if grep -E "warning:|error:" "$out/build.log" >&2; then
	die "module build for $name has warnings"
fi
echo "$out"
