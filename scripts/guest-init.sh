#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test VM: load mempager, run the KUnit suites and the
# selftests, unload, look for leaks, dump the kernel log, power off.
# Every line the host parses starts with "@@MP ".
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null

. /lane.conf
echo "@@MP lane $LANE kernel $(uname -r)"
leak=/sys/kernel/debug/kmemleak
[ -e $leak ] && echo clear > $leak

result() { # result ok|not-ok name
	echo "@@MP $1 $2"
}

# In name order: vm-test.sh numbers them, dependencies first.
for m in /modules/*.ko; do
	[ -f "$m" ] || continue
	insmod "$m" || echo "guest-init: insmod $m failed"
done

if insmod /mempager.ko $MODULE_PARAMS; then
	result ok module-load
else
	result not-ok module-load
fi

if [ -f /mempager_kunit.ko ]; then
	insmod /mempager_kunit.ko
	for d in /sys/kernel/debug/kunit/mempager*; do
		[ -d "$d" ] || continue
		echo "@@MP kunit-begin ${d##*/}"
		cat "$d/results"
		echo "@@MP kunit-end ${d##*/}"
	done
	rmmod mempager_kunit
fi

if [ -n "${DEMO:-}" ]; then
	echo "@@MP demo-begin"
	(cd /tmp && sh "$DEMO")
	echo "@@MP demo-end rc=$?"
fi

for t in /tests/*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	i=0
	while [ $i -lt "${TEST_REPEAT:-1}" ]; do
		i=$((i + 1))
		echo "@@MP test-begin $name"
		# shellcheck disable=SC2086
		(cd /tmp && "$t" $TEST_ARGS)
		echo "@@MP test-end $name rc=$?"
	done
done

if rmmod mempager; then
	result ok module-unload
else
	result not-ok module-unload
fi

# Line coverage, when the module was built for it (scripts/build-module.sh):
# the .gcda files stay in debugfs after rmmod (gcov_persist). debugfs gives
# them no size, so each is copied before tar; scripts/coverage.py decodes.
gcov=/sys/kernel/debug/gcov
if [ -d $gcov ] && [ -n "$(find $gcov -name '*.gcda' | head -n 1)" ]; then
	find $gcov -name '*.gcda' | while read -r f; do
		d=/tmp/gcov/${f#"$gcov"/}
		mkdir -p "${d%/*}"
		cat "$f" >"$d"
	done
	echo "@@MP gcov-begin"
	tar -czf - -C /tmp/gcov . | base64
	echo "@@MP gcov-end"
	rm -rf /tmp/gcov
fi

if [ -e $leak ]; then
	# kmemleak only reports objects older than 5 s, and wants two scans.
	sleep 6
	echo scan > $leak
	echo scan > $leak
	echo "@@MP kmemleak-begin"
	cat $leak
	echo "@@MP kmemleak-end"
else
	echo "@@MP kmemleak-unavailable"
fi
echo "@@MP dmesg-begin"
dmesg
echo "@@MP dmesg-end"
echo "@@MP done"
reboot -f
