#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cluster lane: two QEMU guests (Debian's stock 6.12 kernel) each run
# mempager-dsm against a Redis Cluster of 3 masters + 3 replicas, all in a
# network namespace this script creates and removes (EXIT trap, whatever
# happened). The guests run scripts/cluster-guest.sh; midway the host kills
# the Redis master of the failover test's region. Prints one line per
# result and writes build/cluster.summary ("passed failed skipped").
# Exits non-zero when anything failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$SCRIPTS_DIR/cluster-lib.sh"

build="$TOP_DIR/build"
dir="$build/cluster"
summary="$build/cluster.summary"
mkdir -p "$build"
echo "0 1 0" >"$summary"	# until the end says otherwise
passed=0 failed=0 skipped=0
result() { # result ok|not-ok NAME
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		echo "ok - cluster: $2"
	else
		failed=$((failed + 1))
		echo "not ok - cluster: $2"
	fi
}

make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }
[ -x "$build/tools/mempager-dsm" ] || die "mempager-dsm was not built (libhiredis-dev?)"
cluster_prepare

# The slot routing, on the host: test vectors, then against the cluster.
if "$build/tools/dsm-unit" >"$build/cluster-unit.log"; then
	result ok "dsm-unit (CRC16, key slots)"
else
	result not-ok "dsm-unit (CRC16, key slots)"
	cat "$build/cluster-unit.log"
fi

kpid=
cleanup() {
	[ -z "$kpid" ] || kill "$kpid" 2>/dev/null || true
	cluster_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
cluster_setup "$dir"
result ok "redis cluster of 3 masters and 3 replicas"
keys="ctr rec4 dsm:{rec4}:pg:17 {dsmtest} x{y}z"
mine=$("$build/tools/dsm-unit" -k $keys | tr '\n' ' ')
theirs=$(for k in $keys; do cluster_rcli 7001 cluster keyslot "$k"; done | tr '\n' ' ')
[ "$mine" = "$theirs" ] && result ok "key slots match CLUSTER KEYSLOT ($mine)" ||
	result not-ok "key slots match CLUSTER KEYSLOT: $mine vs $theirs"
if nsx "$build/tools/dsm-unit" -w "$CLUSTER_STORE" >>"$build/cluster-unit.log"; then
	result ok "dsm-unit -w (a command and its WAIT in one round trip)"
else
	result not-ok "dsm-unit -w (a command and its WAIT in one round trip)"
	cat "$build/cluster-unit.log"
fi

tests="$dir/tests"
mkdir -p "$tests"
cp "$SCRIPTS_DIR/cluster-guest.sh" "$tests/cluster-guest"
chmod +x "$tests/cluster-guest"

# Kill the master of region rec4 once both guests write it.
killer() {
	local slot port pid now
	slot=$(cluster_rcli 7001 cluster keyslot rec4)
	for _ in $(seq 1800); do
		[ "$(cluster_rcli 7001 -c get 'dsmtest:{dsmtest}:r4:a' 2>/dev/null)" = running ] &&
		[ "$(cluster_rcli 7001 -c get 'dsmtest:{dsmtest}:r4:b' 2>/dev/null)" = running ] &&
			break
		sleep 1
	done
	sleep 2
	port=$(cluster_master_port "$slot")
	pid=$(cat "$dir/redis-$port/pid")
	echo "killer: killing the master of slot $slot, port $port, pid $pid" >"$dir/killer.log"
	kill -9 "$pid"
	for _ in $(seq 60); do
		sleep 1
		# One reading: the map changes during the failover, and a second
		# look could see no master where the first saw the dead one.
		now=$(cluster_master_port "$slot")
		if [ -n "$now" ] && [ "$now" != "$port" ]; then
			echo "killer: slot $slot now on port $now" >>"$dir/killer.log"
			# Repair as an operator would: the old master rejoins as
			# the new one's replica, so that writes can be WAITed on
			# a replica again.
			cluster_node_start "$port"
			echo "killer: port $port restarted" >>"$dir/killer.log"
			return 0
		fi
	done
	echo "killer: no failover" >>"$dir/killer.log"
}
killer &
kpid=$!

start=$(date +%s)
export VM_TIMEOUT=${VM_TIMEOUT:-900}
cluster_guests "$tests" "$dir"
kill "$kpid" 2>/dev/null || true
wait "$kpid" 2>/dev/null || true
kpid=
echo "cluster: guests ran $(($(date +%s) - start)) s"
cat "$dir/killer.log" 2>/dev/null || true
for g in a b; do
	cat "$dir/guest-$g.results"
	read -r p f k <"$build/cluster-$g.summary"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
	rm -f "$build/cluster-$g.summary"
done
grep -q "now on port" "$dir/killer.log" 2>/dev/null &&
	result ok "redis master killed mid-run, replica took over" ||
	result not-ok "redis master killed mid-run, replica took over"
echo "$passed $failed $skipped" >"$summary"
echo "cluster: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$rca" = 0 ] && [ "$rcb" = 0 ]
