#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: install what is needed, run the static checks, build the debug
# kernel (cached), the module for it and for Debian's stock 6.12 kernel, and
# run the tests in both VM lanes:
#   debug  the debug kernel (KASAN, lockdep, kmemleak, panic_on_warn): KUnit
#          and the selftests
#   stock  Debian's 6.12 kernel, the module built against Debian's headers:
#          the selftests
#   stock61  the same with Debian's 6.1 kernel
# Ends with "N passed, N failed"; exits non-zero on any failure or splat.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/install-deps.sh" || die "installing dependencies failed"
build="$TOP_DIR/build"
rm -f "$build"/*.summary
mkdir -p "$build"

"$SCRIPTS_DIR/lint.sh"
"$SCRIPTS_DIR/dkms-test.sh"
"$SCRIPTS_DIR/install-test.sh"

make -C "$TOP_DIR" selftests >"$build/selftests.log" 2>&1 ||
	{ cat "$build/selftests.log"; die "selftests build failed"; }
make -C "$TOP_DIR/lib" >"$build/lib.log" 2>&1 ||
	{ cat "$build/lib.log"; die "libmempager build failed"; }
make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }

debug_kdir=$("$SCRIPTS_DIR/build-test-kernel.sh") || die "debug kernel build failed"
stock_img=$("$SCRIPTS_DIR/stock-kernel.sh") || die "stock kernel download failed"
stock61_img=$("$SCRIPTS_DIR/stock-kernel.sh" "$STOCK_61") ||
	die "stock 6.1 kernel download failed"

lane() { # lane NAME KERNEL_IMAGE KDIR [TEST_DIR]
	local mod
	if mod=$("$SCRIPTS_DIR/build-module.sh" "$1" "$3"); then
		"$SCRIPTS_DIR/vm-test.sh" "$1" "$2" "$mod" "${4:-$build/selftests}"
	else
		echo "0 1 0" >"$build/$1.summary"
		echo "not ok - $1: module build"
	fi
}

# Small guests, so that the pressure tests' objects are larger than RAM.
# The long ones (minutes under TCG) run where they tell most and cost least:
# the object-larger-than-RAM test on the debug kernel (KASAN on reclaim)
# and on stock 6.12, the default pager's 2x RAM test (twice_ram) on stock
# 6.12 and, in a smaller guest of its own (its time grows with RAM), on the
# debug kernel.
export VM_TIMEOUT=${VM_TIMEOUT:-2700}
MEMPAGER_HEAVY=pressure WITH_KUNIT=1 VM_MEM=384M \
	lane debug "$debug_kdir/arch/x86/boot/bzImage" "$debug_kdir"
# The debug lane's line coverage of kmod/*.c (printed, not a test result).
"$SCRIPTS_DIR/coverage.py" || echo "coverage: not measured"
twice="$build/selftests-twice"
rm -rf "$twice"
mkdir -p "$twice"
cp "$build/selftests/defpager_test" "$twice/"
MEMPAGER_HEAVY=twice_ram VM_MEM=256M \
	lane debug-twice "$debug_kdir/arch/x86/boot/bzImage" "$debug_kdir" "$twice"
MEMPAGER_HEAVY="pressure twice_ram" EXTRA_MODULES=$(stock_module virtio_blk) \
	VM_MEM=384M lane stock "$stock_img" "/usr/src/linux-headers-$(stock_kver)"
# Debian 12's default kernel, 6.1 LTS, as most users of Debian 12 run it.
# Its virtio drivers are modules: the scratch disk needs them loaded first.
# The object-larger-than-RAM test runs here too (4.5 min); twice_ram (more
# than 15 min under TCG) only in the stock and debug-twice lanes.
MEMPAGER_HEAVY=pressure \
	EXTRA_MODULES=$(stock_modules "virtio_pci virtio_blk" "$STOCK_61") \
	VM_MEM=384M lane stock61 "$stock61_img" \
	"/usr/src/linux-headers-$(stock_kver "$STOCK_61")"

# Two machines sharing memory through mempager-dsm and a Redis Cluster, in
# a network namespace of their own (Documentation/cluster.rst). It writes
# build/cluster.summary itself.
"$SCRIPTS_DIR/cluster-test.sh" ||
	echo "not ok - cluster lane (see build/cluster-a.log, build/cluster-b.log)"

passed=0 failed=0 skipped=0
for s in "$build"/*.summary; do
	read -r p f k <"$s"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
