#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make cluster-demo: two QEMU guests and a Redis Cluster in a network
# namespace (as the cluster lane, scripts/cluster-lib.sh); a program on
# each machine increments a shared counter and writes a line into a shared
# text through mempager-dsm; both print what they see and the totals.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$SCRIPTS_DIR/cluster-lib.sh"

"$SCRIPTS_DIR/install-deps.sh"
build="$TOP_DIR/build"
dir="$build/cluster-demo"
mkdir -p "$build"
make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }
cluster_prepare
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM HUP
cluster_setup "$dir"
tests="$dir/tests"
mkdir -p "$tests"
cp "$SCRIPTS_DIR/cluster-demo-guest.sh" "$tests/cluster-demo"
chmod +x "$tests/cluster-demo"
export VM_TIMEOUT=${VM_TIMEOUT:-600}
cluster_guests "$tests" "$dir"
for g in a b; do
	echo "---- machine $g ----"
	sed -n '/^@@MP test-begin/,/^@@MP test-end/{/^@@MP /d;/^\[ *[0-9.]*\]/d;p}' \
		"$build/cluster-$g.log" | tr -d '\r'
	rm -f "$build/cluster-$g.summary"
done
echo "----"
[ "$rca" = 0 ] && [ "$rcb" = 0 ]
