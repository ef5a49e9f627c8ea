// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's correctness path: every case of tools/bench.c in its
 * --quick mode (a few hundred pages, one run, every byte of every page
 * checked, on the mempager side and on its peer's). No timing is judged
 * here; `make bench` measures. The bench's code is built in, so the test
 * needs nothing else in the VM.
 */
#define BENCH_NO_MAIN
#include "../tools/bench.c"

#include "kselftest_harness.h"

#define QUICK_CASE(test, id)					\
	TEST(test)						\
	{							\
		ASSERT_EQ(0, bench_quick_case(id, stdout));	\
	}

QUICK_CASE(round_trip, "1")
QUICK_CASE(batched_supply_16, "2.16")
QUICK_CASE(batched_supply_64, "2.64")
QUICK_CASE(zero_fill_temporary, "3a")
QUICK_CASE(zero_fill_temporary_shmem, "3s")
QUICK_CASE(zero_fill_unavailable, "3b")
QUICK_CASE(cache_hit, "4")
QUICK_CASE(scaling_t1p1, "5.t1p1")
QUICK_CASE(scaling_t4p1, "5.t4p1")
QUICK_CASE(scaling_t2p2, "5.t2p2")
QUICK_CASE(scaling_t4p2, "5.t4p2")
QUICK_CASE(write_back, "6")
QUICK_CASE(clones, "7")

TEST_HARNESS_MAIN
