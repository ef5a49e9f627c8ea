#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of make cluster-demo (scripts/cluster-demo.sh), on both
# machines: cluster-demo-guest ROLE IP STORE. A program on each machine
# increments shared counters and writes a line into a shared text; both
# print what they see and the final totals.
role=$1 ip=$2 store=$3
T=/tools
export DSM_STORE=$store
ip link set lo up
ip addr add "$ip/24" dev eth0
ip link set eth0 up
mkdir -p /run
$T/mempager-dsm -m "$role" -l 10000 >/tmp/dsm.log 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S /run/mempager-dsm.sock ] && break; sleep 0.1; done
[ "$role" = a ] && $T/mempager-dsm create demo 64K && $T/mempager-dsm create text 64K
$T/dsm-test barrier created 2 || exit 1
echo "machine $role: the counter before: $($T/dsm-test read demo)"
$T/dsm-test barrier go 2 || exit 1
$T/dsm-test incr demo 50000
$T/dsm-test text text "hello from machine $role ($ip), $(date -u +%T)"
$T/dsm-test barrier done 2 || exit 1
echo "machine $role: the counter after both added 50000: $($T/dsm-test read demo)"
echo "machine $role: the shared text:"
$T/dsm-test text text | sed 's/^/    /'
[ "$($T/dsm-test read demo)" = 100000 ] && echo "ok 1 demo_total" || echo "not ok 1 demo_total"
[ "$($T/dsm-test text text | grep -c '^hello from machine')" = 2 ] &&
	echo "ok 2 demo_text_has_both_lines" || echo "not ok 2 demo_text_has_both_lines"
$T/dsm-test barrier end 2
kill $dpid
wait $dpid 2>/dev/null
exit 0
