#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A developer's quick run: some selftests in one VM lane, without the rest
# of make check. The caches must exist (run make check or make run once).
#
#   vm-run.sh LANE TEST...      LANE: debug, stock or stock61
#
# TEST is a selftest program name (e.g. stress_test), also one of issue
# 14's acceptance tests that make check does not run (PAGECACHE_TESTS in
# selftests/Makefile, built in build/selftests-pagecache); "kunit" adds the
# KUnit suites (debug lane only). TEST_ARGS, if set, is passed to every
# program (e.g. TEST_ARGS="-t many_faulting_threads_out_of_order_pager"),
# TEST_REPEAT=N runs each program N times (each run is one result).
# VM_MEM, MEMPAGER_HEAVY, MODULE_PARAMS and VM_TIMEOUT work as in
# vm-test.sh. Results: build/LANE.log and the summary printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lane=$1
shift
build="$TOP_DIR/build"
make -C "$TOP_DIR" selftests >"$build/selftests.log" 2>&1 ||
	{ cat "$build/selftests.log"; die "selftests build failed"; }
make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }

case "$lane" in
debug)
	kdir=$("$SCRIPTS_DIR/build-test-kernel.sh")
	img="$kdir/arch/x86/boot/bzImage" ;;
stock)
	kdir="/usr/src/linux-headers-$(stock_kver)"
	img=$("$SCRIPTS_DIR/stock-kernel.sh")
	export EXTRA_MODULES=${EXTRA_MODULES-$(stock_module virtio_blk)} ;;
stock61)
	kdir="/usr/src/linux-headers-$(stock_kver "$STOCK_61")"
	img=$("$SCRIPTS_DIR/stock-kernel.sh" "$STOCK_61")
	# Debian's 6.1 has virtio and virtio_pci as modules too.
	export EXTRA_MODULES=${EXTRA_MODULES-$(stock_modules \
		"virtio_pci virtio_blk" "$STOCK_61")} ;;
*) die "unknown lane $lane (debug, stock, stock61)" ;;
esac

tests="$build/selftests-run-$lane"
rm -rf "$tests"
mkdir -p "$tests"
for t in "$@"; do
	if [ "$t" = kunit ]; then
		export WITH_KUNIT=1
		continue
	fi
	if [ -x "$build/selftests/$t" ]; then
		cp "$build/selftests/$t" "$tests/"
	elif [ -x "$build/selftests-pagecache/$t" ]; then
		cp "$build/selftests-pagecache/$t" "$tests/"
	else
		die "no selftest $t"
	fi
done
export MEMPAGER_HEAVY=${MEMPAGER_HEAVY-}
export VM_MEM=${VM_MEM:-384M}
mod=$("$SCRIPTS_DIR/build-module.sh" "$lane" "$kdir")
"$SCRIPTS_DIR/vm-test.sh" "$lane" "$img" "$mod" "$tests"
