#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel in QEMU (TCG) with an initramfs holding busybox, the
# modules and the static test programs; run them and parse the serial log.
#
#   vm-test.sh LANE KERNEL_IMAGE MODULE_DIR TEST_DIR
#
# With DEMO_DIR set, its demo.sh runs in the guest before the tests.
# VM_MEM sets the guest's memory (default 1G), VM_CPUS its vCPUs (default
# 2); every guest gets a scratch disk (/dev/vda, VM_DISK bytes, default 2G,
# sparse) for the pagers that need a backing store larger than RAM.
# EXTRA_MODULES lists kernel modules (.ko or .ko.xz) to load before
# mempager, in that order, e.g. virtio_blk and what it needs on a kernel
# that has them as modules (stock_modules in lib.sh). MEMPAGER_HEAVY names
# the long tests the lane runs.
# MODULE_DIR holds mempager.ko (and mempager_kunit.ko for KUnit). Prints one
# line per result and a summary; writes build/LANE.log and
# build/LANE.summary. Exits non-zero when anything failed.
# TEST_ARGS is passed to every test program and TEST_REPEAT (default 1)
# runs each that many times (scripts/vm-run.sh sets them). TEST_ENV, a list
# of NAME=VALUE words, is exported to the test programs (scripts/soak.sh).
# MEMPAGER_KVM=1 uses KVM instead of TCG (not on these build machines).
# QEMU_EXTRA adds QEMU options (e.g. "-d guest_errors,cpu_reset -D FILE"),
# KCMD_EXTRA kernel command line options (e.g. ignore_loglevel).
#
# The log is only parsed once QEMU is gone: QEMU appends to it (so the
# status line added here is never overwritten), and if the timeout wrapper
# returns while QEMU lives on (killed from outside) QEMU is stopped first.
# A QEMU exit status other than 0 becomes a failed result.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lane=$1 kernel=$2 moddir=$3 testdir=$4
build="$TOP_DIR/build"
root="$build/initramfs-$lane"
log="$build/$lane.log"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,tests,etc,usr/bin,usr/sbin}

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$SCRIPTS_DIR/guest-init.sh" "$root/init"
chmod +x "$root/init"
cp "$moddir/mempager.ko" "$root/"
mkdir -p "$root/modules"
# Numbered, so that /init loads them in the order given (dependencies first).
n=10
for m in ${EXTRA_MODULES:-}; do
	case "$m" in
	*.xz) xz -dc "$m" >"$root/modules/$n-$(basename "${m%.xz}")" ;;
	*) cp "$m" "$root/modules/$n-$(basename "$m")" ;;
	esac
	n=$((n + 1))
done
[ -z "${WITH_KUNIT:-}" ] || cp "$moddir/mempager_kunit.ko" "$root/"
cp "$testdir"/* "$root/tests/" 2>/dev/null || true
# The tools, for the tests that run the example pagers (pagers_test).
mkdir -p "$root/tools"
cp "$TOP_DIR"/build/tools/* "$root/tools/" 2>/dev/null || true
demo=
if [ -n "${DEMO_DIR:-}" ]; then
	cp -a "$DEMO_DIR" "$root/demo"
	demo=/demo/demo.sh
fi
printf 'LANE=%s\nMODULE_PARAMS="%s"\nDEMO=%s\nTEST_ARGS="%s"\nTEST_REPEAT=%s\n' \
	"$lane" "${MODULE_PARAMS:-}" "$demo" "${TEST_ARGS:-}" "${TEST_REPEAT:-1}" >"$root/lane.conf"
# The long tests this lane runs (see tp_heavy_wanted()); unset: all.
[ -z "${MEMPAGER_HEAVY+x}" ] ||
	printf 'MEMPAGER_HEAVY="%s"\nexport MEMPAGER_HEAVY\n' "$MEMPAGER_HEAVY" >>"$root/lane.conf"
for kv in ${TEST_ENV:-}; do
	case "$kv" in
	[A-Za-z_]*=*) printf 'export %s\n' "$kv" >>"$root/lane.conf" ;;
	*) die "TEST_ENV: $kv is not NAME=VALUE" ;;
	esac
done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$build/initramfs-$lane.cpio.gz"

disk="$build/scratch-$lane.img"
rm -f "$disk"
truncate -s "${VM_DISK:-2G}" "$disk"

pidfile="$build/qemu-$lane.pid"
rm -f "$pidfile"
# Never leave a QEMU behind, whatever ends this script.
stop_qemu() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
	done
	kill -9 "$pid" 2>/dev/null || true
}
trap stop_qemu EXIT
trap 'exit 130' INT TERM HUP

accel="-accel tcg -cpu max"
[ "${MEMPAGER_KVM:-0}" = 1 ] && accel="-accel kvm -cpu host"
echo "vm-test: booting $lane lane ($(basename "$kernel"))" >&2
# The log is opened for appending: see above.
: >"$log"
rc=0
# tsc=unstable: under TCG the clocksource watchdog finds the TSC skewed a
# few seconds after boot and switches sched_clock's static key, patching
# sched_clock_cpu() with int3 while the other CPU runs it; TCG can then
# execute the int3 after it was patched away (an "Oops: int3" in
# sched_clock_cpu, seen once in a bench boot). Unstable from the start,
# nothing is patched there. (trace_test avoids the same with __schedule.)
# shellcheck disable=SC2086
timeout "${VM_TIMEOUT:-1500}" qemu-system-x86_64 $accel -m "${VM_MEM:-1G}" -smp "${VM_CPUS:-2}" \
	-nographic -no-reboot -nic none -pidfile "$pidfile" \
	-drive "file=$disk,format=raw,if=virtio,cache=unsafe" \
	-kernel "$kernel" -initrd "$build/initramfs-$lane.cpio.gz" \
	${QEMU_EXTRA:-} \
	-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 loglevel=5 tsc=unstable rdinit=/init ${KCMD_EXTRA:-}" \
	</dev/null >>"$log" 2>&1 || rc=$?
if pid=$(cat "$pidfile" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
	# timeout itself was killed: QEMU would go on writing the log.
	stop_qemu
	echo "@@HOST qemu-exit outlived-timeout" >>"$log"
elif [ "$rc" = 124 ]; then
	echo "@@HOST qemu-exit timeout VM_TIMEOUT=${VM_TIMEOUT:-1500}s" >>"$log"
elif [ "$rc" != 0 ]; then
	echo "@@HOST qemu-exit status $rc" >>"$log"
fi
rm -f "$disk" "$pidfile"

python3 "$SCRIPTS_DIR/parse-vm-log.py" "$lane" "$log" "$build/$lane.summary"
