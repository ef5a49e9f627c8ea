#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make cluster-bench: the cluster lane's guests and store, running only
# dsm-test bench: per-page costs of mempager-dsm (a read fault of a page
# nobody owns, an ownership transfer) against a plain Redis GET and SET of
# 4 KiB from the same guest, and read-fault throughput with 1, 2 and 4
# threads. The table is printed and kept in build/cluster-bench.txt.
# BENCH_NOWAIT=1 runs the daemons with -r 0 (no WAIT for a replica), to
# show what the replication round trips cost.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build="$TOP_DIR/build"
CLUSTER_COUNTS="0 0 0 bench${BENCH_NOWAIT:+-r0}" "$SCRIPTS_DIR/cluster-test.sh" >"$build/cluster-bench.log" 2>&1 || true
sed -n '/^@@MP test-begin/,/^@@MP test-end/p' "$build/cluster-a.log" | tr -d '\r' |
	grep -E '^# (per page|round|read|transfer|[0-9])' | sed 's/^# //' | tee "$build/cluster-bench.txt"
grep -q 'read faults, 4 threads' "$build/cluster-bench.txt"
