#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the debug test kernel (KUnit, KASAN, lockdep, kmemleak, fault injection)
# from Debian's linux-source-6.12 into a cache keyed by source version and config.
# A second run with the same inputs does nothing. Prints the build directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$(debug_kernel_dir)
# .done is written last: a kernel built is used without waiting for the
# lock, which a build of another configuration may hold for minutes.
if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi
# One build at a time: a second caller (another checkout, a make started
# meanwhile) waits for the first instead of wiping its build directory.
mkdir -p "$MEMPAGER_CACHE"
exec 9>"$MEMPAGER_CACHE/.kernel-build.lock"
flock 9
if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

src=$("$SCRIPTS_DIR/unpack-source.sh")

rm -rf "$out"
mkdir -p "$out"
frag="$SCRIPTS_DIR/debug-kernel.config"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
	make -C "$src" O="$out" olddefconfig
} >"$out/config.log" 2>&1 || { tail -20 "$out/config.log" >&2; die "kernel config failed"; }

# Every option asked for must have survived olddefconfig (KASAN silently
# drops out without SLUB_TINY=n, for example).
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%=n}
		if grep -q "^$opt=" "$out/.config"; then
			echo "build-test-kernel: $opt should be off" >&2; bad=1
		fi ;;
	CONFIG_*) grep -qx "$line" "$out/.config" ||
		{ echo "build-test-kernel: $line missing from .config" >&2; bad=1; } ;;
	esac
done <"$frag"
[ $bad -eq 0 ] || die "debug kernel config incomplete"

echo "build-test-kernel: building in $out (about 10 minutes on 2 cores)" >&2
# modules_prepare/modules produce Module.symvers, which modpost needs for
# out-of-tree modules against a KASAN kernel.
make -C "$src" O="$out" -j"$(nproc)" bzImage modules >"$out/build.log" 2>&1 ||
	{ tail -30 "$out/build.log" >&2; die "kernel build failed"; }
touch "$out/.done"
echo "$out"
