#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of the cluster lane (scripts/cluster-test.sh), run as a
# test program by the guest's /init on both machines:
#   cluster-guest ROLE IP STORE [INCR [INCR64 [RECORDS]]]
# ROLE is a or b. The two guests coordinate through barriers in the store
# (dsm-test barrier), never through sleeps. Prints kselftest-style
# "ok N name" lines; the host counts them.
role=$1 ip=$2 store=$3
[ "$role" = a ] && other=b || other=a
[ "$role" = a ] && me=0 || me=1
T=/tools
export DSM_STORE=$store
# Test sizes (TCG on a loaded machine: keep them small, see cluster.rst).
INCR=${4:-100000}
INCR64=${5:-200}
RECORDS=${6:-1000}
DEBUG=${7:-}	# "v": trace the daemon; "v1": and stop after test 1;
		# "bench": run only dsm-test bench (make cluster-bench);
		# "bench-r0": the same without WAIT (mempager-dsm -r 0)
vflag=
case "$DEBUG" in v*) vflag=-v ;; bench-r0) vflag="-r 0" ;; esac
# Longer than a failover of the store (cluster-node-timeout 2000 ms and an
# election), or a failover would lapse every lease (Documentation/cluster.rst).
LEASE=10000
FAULT_T=20000

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
t() { # t NAME COMMAND...: one result from a command's status
	name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
now() { cut -d' ' -f1 /proc/uptime | tr -d .; }	# centiseconds

ip link set lo up
ip addr add "$ip/24" dev eth0
ip link set eth0 up
echo "# guest $role: $ip, store $store"

dpid=
start_daemon() {
	$T/mempager-dsm -m "$role" -l $LEASE -t $FAULT_T $vflag "$@" >>/tmp/dsm-$role.log 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ -S /run/mempager-dsm.sock ] && return 0
		kill -0 $dpid 2>/dev/null || break
		sleep 0.1
	done
	cat /tmp/dsm-$role.log
	return 1
}
stop_daemon() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	dpid=
	rm -f /run/mempager-dsm.sock
}
# A barrier the other guest never reaches ends the run: no point waiting
# at every later one.
bar() {
	$T/dsm-test barrier "$1" 2 "${2:-300}" && return 0
	notok "barrier $1"
	stop_daemon
	exit 1
}

mkdir -p /run
t daemon_starts start_daemon
if [ "$role" = a ]; then
	for r in ctr:64K ctr64:64K rec:16M kill:256K part:4K rec4:16M text:64K bench:8M; do
		$T/mempager-dsm create "${r%%:*}" "${r#*:}"
	done
fi
bar created

if [ "${DEBUG%-r0}" = bench ]; then
	t bench $T/dsm-test bench bench "$role" 12 64
	bar benchend
	stop_daemon
	exit $failed
fi

# (1) one counter, both machines at once; then 64 counters on 16 pages.
bar c1
t counter_increments $T/dsm-test incr ctr $INCR
bar c1done
v=$($T/dsm-test read ctr)
echo "# counter: $v"
t counter_total_$((2 * INCR)) [ "$v" = $((2 * INCR)) ]
if [ "$DEBUG" = v1 ]; then
	bar dbg
	stop_daemon
	sed 's/^/# /' /tmp/dsm-$role.log
	exit $failed
fi
bar c64
t counters64_increments $T/dsm-test incr64 ctr64 $INCR64
bar c64done
t counters64_total_$((2 * INCR64)) $T/dsm-test check64 ctr64 $((2 * INCR64))

# (2) checksummed records over 16 MiB from both; each checks the other's.
bar r2
t records_write $T/dsm-test records rec $me $RECORDS
bar r2done
t records_verify_other $T/dsm-test verify rec $((1 - me)) $RECORDS
t records_verify_own $T/dsm-test verify rec $me $RECORDS

# (5) bad input: clear errors, no hang.
bad() { # bad NAME PATTERN COMMAND...: fails in time with PATTERN on stderr
	name=$1 pat=$2
	shift 2
	s=$(now)
	timeout 30 "$@" >/tmp/bad.out 2>&1
	rc=$?
	el=$(( $(now) - s ))
	echo "# $name: rc=$rc in ${el}0 ms: $(head -c 200 /tmp/bad.out)"
	t "$name" sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '$pat' /tmp/bad.out"
}
bad bad_region_name 'no such region' $T/dsm-test read nosuchregion
bad bad_store_refused 'cannot connect' \
	$T/mempager-dsm -s "${store%%:*}:1" -S /tmp/x.sock create x 4096
bad bad_store_unreachable 'cannot connect' \
	$T/mempager-dsm -s 10.77.0.99:7001 -S /tmp/x.sock create x 4096
printf '#!/bin/sh\necho "hello, this is not redis"\n' >/tmp/garbage.sh
chmod +x /tmp/garbage.sh
nc -ll -p 7999 -e /tmp/garbage.sh &
gpid=$!
bad bad_store_garbage 'rotocol error' \
	$T/mempager-dsm -s 127.0.0.1:7999 -S /tmp/x.sock create x 4096
kill $gpid 2>/dev/null

# (3) kill B's daemon mid-run: A goes on after the lease, B's faults get
# SIGBUS, a restarted daemon on B sees A's writes.
bar k0
$T/dsm-test hammer kill 64 25 >/tmp/hammer.out 2>&1 &
hpid=$!
bar k1
if [ "$role" = b ]; then
	sleep 3		# mid-run: both hammer the same 64 pages
	kill -9 "$dpid"
	wait "$dpid" 2>/dev/null
	dpid=
	s=$(now)
	wait $hpid
	rc=$?
	echo "# b: hammer ended rc=$rc $(( $(now) - s ))0 ms after the kill"
	t kill_b_faults_get_sigbus [ $rc = 135 ]
	rm -f /run/mempager-dsm.sock
	bar k2
	bar k3
	t kill_b_restarted start_daemon
	t kill_b_sees_a_writes $T/dsm-test checkfill kill 0x5a 64
else
	bar k2
	s=$(now)
	wait $hpid
	rc=$?
	cat /tmp/hammer.out
	echo "# a: hammer ended rc=$rc, $(( $(now) - s ))0 ms after b's kill"
	t kill_a_goes_on [ $rc = 0 ]
	t kill_a_writes_after_lease $T/dsm-test fill kill 0x5a 64
	bar k3
fi

# (3b) A cut off from the store for twice its lease while its kernel holds
# a page writable: B takes the page over, and once back A must see B's
# data, not its own stale copy (A's daemon fenced itself in time).
bar p0
if [ "$role" = a ]; then
	t part_a_writes $T/dsm-test fill part 0x61 1
	bar p1
	ip link set eth0 down
	sleep $((2 * LEASE / 1000))
	ip link set eth0 up
	for _ in $(seq 50); do	# until the store answers again
		$T/dsm-test get bar:p1 >/dev/null 2>&1 && break
		sleep 0.2
	done
	bar p2
	t part_a_sees_b_after_its_lease $T/dsm-test checkfill part 0x62 1
else
	bar p1
	sleep $((LEASE / 1000 + 2))	# A's lease lapses meanwhile
	t part_b_takes_over $T/dsm-test fill part 0x62 1
	bar p2
fi

# (4) kill the Redis master of a region mid-run (the host does, once both
# are writing): both go on, test 2's check passes.
bar r4
$T/dsm-test put "r4:$role" running
t failover_records_write $T/dsm-test records rec4 $me $RECORDS
bar r4done
t failover_records_verify_other $T/dsm-test verify rec4 $((1 - me)) $RECORDS
echo "# failover: $($T/dsm-test get failover || echo none)"

bar end
stop_daemon
echo "# daemon log:"
sed 's/^/# /' /tmp/dsm-$role.log | tail -n 40
exit $failed
