#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make soak (not part of make check): the seeded ABI fuzzer for at least
# SOAK_FUZZ_OPS operations (default 1,000,000) and the stress test looped for
# SOAK_STRESS_SECONDS (default 1800), in the debug lane (KASAN, lockdep,
# kmemleak). The fuzzer runs in rounds of SOAK_FUZZ_ROUND_OPS operations,
# each with the next seed (MEMPAGER_FUZZ_SEED, default the test's own), so
# that each stays within the test's timeout; the stress test starts new
# rounds until its time is up. VM_TIMEOUT (default: the stress time plus
# SOAK_FUZZ_OPS / 50 s plus 20 minutes) bounds the VM.
#
# Ends with "N passed, N failed, N skipped" like make check; exits non-zero
# on any failure or splat. Log: build/soak.log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ops=${SOAK_FUZZ_OPS:-1000000}
round_ops=${SOAK_FUZZ_ROUND_OPS:-25000}
seconds=${SOAK_STRESS_SECONDS:-1800}
if ! [ "$ops" -gt 0 ] || ! [ "$round_ops" -gt 0 ] || ! [ "$seconds" -ge 0 ]; then
	die "SOAK_FUZZ_OPS, SOAK_FUZZ_ROUND_OPS and SOAK_STRESS_SECONDS are numbers"
fi
[ "$round_ops" -le "$ops" ] || round_ops=$ops
rounds=$(((ops + round_ops - 1) / round_ops))

"$SCRIPTS_DIR/install-deps.sh"
build="$TOP_DIR/build"
mkdir -p "$build"
make -C "$TOP_DIR" selftests >"$build/selftests.log" 2>&1 ||
	{ cat "$build/selftests.log"; die "selftests build failed"; }
make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }
kdir=$("$SCRIPTS_DIR/build-test-kernel.sh") || die "debug kernel build failed"
mod=$("$SCRIPTS_DIR/build-module.sh" soak "$kdir")

tests="$build/selftests-soak"
rm -rf "$tests"
mkdir -p "$tests"
cp "$build/selftests/fuzz_test" "$build/selftests/stress_test" "$tests/"

env="MEMPAGER_FUZZ_OPS=$round_ops MEMPAGER_FUZZ_ROUNDS=$rounds"
env+=" MEMPAGER_STRESS_SECONDS=$seconds"
[ -z "${MEMPAGER_FUZZ_SEED:-}" ] || env+=" MEMPAGER_FUZZ_SEED=$MEMPAGER_FUZZ_SEED"
echo "soak: fuzzer $rounds x $round_ops operations, stress test ${seconds} s (debug lane)"
rm -f "$build/soak.summary"
status=0
TEST_ENV=$env MEMPAGER_HEAVY="" WITH_KUNIT="" VM_MEM=${VM_MEM:-384M} \
	VM_TIMEOUT=${VM_TIMEOUT:-$((seconds + ops / 50 + 1200))} \
	"$SCRIPTS_DIR/vm-test.sh" soak "$kdir/arch/x86/boot/bzImage" "$mod" "$tests" ||
	status=$?
read -r passed failed skipped <"$build/soak.summary" || die "no build/soak.summary"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
