// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own reclaim and compaction on mapped mempager pages:
 * /proc/sys/vm/compact_memory and drop_caches (3: page cache and slab,
 * which runs every shrinker) while an object's pages are resident and
 * mapped, some written (dirty), some only read. Afterwards every byte is
 * what the client last wrote or read: pages that left went back to the
 * pager (store_pager.h keeps data_returns) and come back from it. A splat
 * fails the lane (panic_on_warn, KASAN). One of issue 14's tests; it
 * passes with today's module (its shrinker evicts on drop_caches) and must
 * keep passing with the page cache.
 *
 * Every page that left comes back through one data_request round trip
 * between the client and the pager thread (three passes of 2048 pages), so
 * the test keeps both on one CPU: see pin_here().
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "store_pager.h"

#define NPAGES 2048	/* 8 MiB */
#define SEED 3
/* The client's own pattern for the pages it writes (every other one). */
#define WSEED 77

static unsigned int seed_of(size_t pg)
{
	return pg % 2 ? WSEED : SEED;
}

/* Pages of @p whose bytes are not what the client expects. */
static size_t bad_pages(const unsigned char *p)
{
	size_t pg, bad = 0;

	for (pg = 0; pg < NPAGES; pg++)
		bad += tp_check(p + pg * PS, pg, seed_of(pg)) != 0;
	return bad;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run this test process, and the pager thread it starts, on the CPU it is
 * on. Under TCG on a loaded host (two build cores, another lane's VM),
 * a hand-off between a thread on one vCPU and one on the other stalls both
 * vCPUs until the host schedules the other vCPU thread: about 3.5 ms, twice
 * per page. The 2048-page refaults then took 6-16 s instead of 1-1.5 s,
 * with main's module as with the page cache's, and the test overran the
 * harness's 30 s (notes/pagecache-plan.md). On one vCPU a round trip is a
 * context switch. Nothing here depends on the two running in parallel.
 */
static int pin_here(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

FIXTURE(reclaim) {
	struct tpager tp;
	struct sp_pager sp;
	unsigned char *p;
};

FIXTURE_SETUP(reclaim)
{
	size_t pg;

	ASSERT_EQ(0, pin_here()) TH_LOG("sched_setaffinity: %s", strerror(errno));
	memset(&self->sp, 0, sizeof(self->sp));
	self->sp.seed = SEED;
	ASSERT_EQ(0, tp_create(&self->tp, NPAGES, 0600));
	ASSERT_EQ(0, sp_start(&self->sp, &self->tp, -1));
	self->p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	/* Every page resident and mapped: odd ones written, even ones read. */
	for (pg = 0; pg < NPAGES; pg++)
		if (pg % 2)
			tp_fill(self->p + pg * PS, pg, WSEED);
	ASSERT_EQ(0, bad_pages(self->p));
}

FIXTURE_TEARDOWN(reclaim)
{
	munmap(self->p, NPAGES * PS);
	sp_stop(&self->sp);
	tp_destroy(&self->tp);
}

TEST_F(reclaim, compact_memory_keeps_mapped_pages)
{
	struct tp_stats st;

	ASSERT_EQ(0, tp_write_file("/proc/sys/vm/compact_memory", "1"))
		TH_LOG("compact_memory: %s", strerror(errno));
	EXPECT_EQ(0, bad_pages(self->p));
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	TH_LOG("after compaction: %lu resident, %lu evicted, %lu pages returned",
	       st.resident, st.evicted, self->sp.returned_pages);
	EXPECT_EQ(0, self->sp.errors) TH_LOG("pager: %s", self->sp.first_error);
}

TEST_F(reclaim, drop_caches_keeps_every_byte)
{
	struct tp_stats before, st;
	long t;
	size_t pg;

	ASSERT_EQ(0, tp_stats(self->tp.name, &before));
	ASSERT_EQ(0, tp_write_file("/proc/sys/vm/drop_caches", "3"))
		TH_LOG("drop_caches: %s", strerror(errno));
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	TH_LOG("drop_caches: resident %lu -> %lu, evicted %lu -> %lu, %lu pages returned (%lu dirty)",
	       before.resident, st.resident, before.evicted, st.evicted,
	       self->sp.returned_pages, self->sp.dirty_pages);
	t = now_ms();
	EXPECT_EQ(0, bad_pages(self->p));
	TH_LOG("read back: %ld ms", now_ms() - t);
	/* Again, with the pages just faulted back, and both at once. */
	for (pg = 0; pg < NPAGES; pg += 3)
		tp_fill(self->p + pg * PS, pg, seed_of(pg));
	ASSERT_EQ(0, tp_write_file("/proc/sys/vm/compact_memory", "1"));
	ASSERT_EQ(0, tp_write_file("/proc/sys/vm/drop_caches", "3"));
	t = now_ms();
	EXPECT_EQ(0, bad_pages(self->p));
	TH_LOG("read back: %ld ms", now_ms() - t);
	EXPECT_EQ(0, self->sp.errors) TH_LOG("pager: %s", self->sp.first_error);
}

TEST_HARNESS_MAIN
