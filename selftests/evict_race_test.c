// SPDX-License-Identifier: GPL-2.0
/*
 * Eviction racing with faults: a fault must never map a page that has left
 * the object's cache. The shrinker (kmod/lock.c, mp_shrink_object()) used
 * to unlock a page before taking it out of the cache, while the fault path
 * maps a resident page under its page lock after checking that it is still
 * cached: a fault that got the page lock in between mapped a page the
 * cache no longer had (an orphan), which the manager was told is gone.
 *
 * The test makes that visible from user space. Every page is supplied
 * precious, so each eviction sends a data_return (kernel_copy 0: the page
 * left). The pager then stamps a new generation into its copy, as a
 * distributed pager may change a page it was given back; the next
 * data_request supplies that. Client threads spin on a few pages each:
 * read the page's generation the pager has seen (after the return), then
 * the generation in the mapped page. A smaller one in the page is a read
 * of the instance that left the cache after the manager had it: an orphan
 * mapping. Each thread also counts its writes into its pages; at the end
 * lock_request returns everything and every page's count must be the
 * client's last (no write was lost). A thread writes "2" to
 * /proc/sys/vm/drop_caches in a loop meanwhile, running the shrinker over
 * and over.
 *
 * Before the fix, on Debian's stock 6.12 (TCG, 2 vCPUs), each of 4 runs
 * saw a stale read within 60 s, after 482 to 30189 evictions; the debug
 * kernel (PREEMPT_NONE, KASAN, lockdep) never hit the window. With the
 * page taken out of the cache before it is unlocked: 3 stock runs, 383,003
 * evictions, none stale. It runs for RACE_SECONDS (default 60), or until
 * the first stale read; being a race, a pass is evidence, not proof.
 */
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "store_pager.h"

#define THREADS 2
#define HOT 4			/* pages per client thread */
#define NPAGES (THREADS * HOT)

/* The words of a page this test looks at. */
enum { W_PGOFF, W_GEN, W_WRITES };

static _Atomic unsigned long gen[NPAGES];	/* as the pager has it */
static volatile int stop;

struct client {
	pthread_t th;
	unsigned int first;	/* its pages: first .. first + HOT - 1 */
	volatile uint64_t *p;	/* the mapping */
	uint64_t writes[HOT];
	unsigned long reads, stale, lost;
	char first_bad[128];
};

static unsigned long kernel_copies;

/*
 * The pager got page @pg back, and the page left the kernel (kernel_copy
 * 0): a new generation for its next supply. A copy (the page stays) would
 * change nothing; none is expected here.
 */
static void stamp(struct sp_pager *sp, size_t pg, unsigned char *page,
		  const struct mempager_msg *m)
{
	uint64_t *w = (uint64_t *)page;

	if (m->data_return.kernel_copy) {
		kernel_copies++;
		return;
	}
	w[W_GEN] = atomic_load(&gen[pg]) + 1;
	/* Published once the store has it: sp_store() copies after this. */
	atomic_store_explicit(&gen[pg], w[W_GEN], memory_order_release);
}

static void *client_fn(void *arg)
{
	struct client *c = arg;
	unsigned int i;

	while (!stop) {
		for (i = 0; i < HOT; i++) {
			unsigned int pg = c->first + i;
			volatile uint64_t *w = c->p + pg * (PS / 8);
			unsigned long seen = atomic_load_explicit(&gen[pg],
						memory_order_acquire);
			uint64_t g = w[W_GEN], n = w[W_WRITES];

			c->reads++;
			if (g < seen && !c->stale++)
				snprintf(c->first_bad, sizeof(c->first_bad),
					 "page %u: generation %llu mapped after the pager had %lu",
					 pg, (unsigned long long)g, seen);
			if (n != c->writes[i] && !c->lost++ && !c->stale)
				snprintf(c->first_bad, sizeof(c->first_bad),
					 "page %u: write count %llu, wrote %llu",
					 pg, (unsigned long long)n,
					 (unsigned long long)c->writes[i]);
			c->writes[i] = n + 1;
			w[W_WRITES] = c->writes[i];
		}
	}
	return NULL;
}

static void *dropper_fn(void *arg)
{
	unsigned long *rounds = arg;

	while (!stop) {
		if (tp_write_file("/proc/sys/vm/drop_caches", "2"))
			break;
		(*rounds)++;
	}
	return NULL;
}

FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, fault_never_maps_an_evicted_page, 900)
{
	const char *secs = getenv("RACE_SECONDS");
	struct client c[THREADS] = { 0 };
	unsigned long rounds = 0, reads = 0, stale = 0, lost = 0, wrong = 0;
	unsigned long others;
	long long deadline;
	struct sp_pager sp = { .precious = 1, .on_return = stamp };
	struct tp_stats st;
	struct tpager tp;
	pthread_t dropper;
	uint64_t *p;
	unsigned int i, pg;

	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	ASSERT_EQ(0, sp_start(&sp, &tp, -1));
	/* Generation 0, no writes: the first supply of every page. */
	for (pg = 0; pg < NPAGES; pg++) {
		memset(sp.mem + pg * PS, 0, PS);
		((uint64_t *)(sp.mem + pg * PS))[W_PGOFF] = pg;
		sp.kept[pg] = 1;
	}
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);

	deadline = time(NULL) + (secs ? atoi(secs) : 60);
	for (i = 0; i < THREADS; i++) {
		c[i].first = i * HOT;
		c[i].p = p;
		ASSERT_EQ(0, pthread_create(&c[i].th, NULL, client_fn, &c[i]));
	}
	ASSERT_EQ(0, pthread_create(&dropper, NULL, dropper_fn, &rounds));
	while (time(NULL) < deadline && !c[0].stale && !c[1].stale)
		usleep(100000);
	stop = 1;
	for (i = 0; i < THREADS; i++) {
		pthread_join(c[i].th, NULL);
		reads += c[i].reads;
		stale += c[i].stale;
		lost += c[i].lost;
		if (c[i].first_bad[0])
			TH_LOG("thread %u: %s", i, c[i].first_bad);
	}
	pthread_join(dropper, NULL);

	/* Everything back to the pager: each page holds the last write. */
	others = sp.others;
	ASSERT_EQ(0, tp_lock(&tp, 0, NPAGES, MEMPAGER_RETURN_ALL, 1,
			     MEMPAGER_PROT_NO_CHANGE, 1));
	/* lock_completed (counted in others) follows the last data_return. */
	for (i = 0; sp.others == others && i < TP_TIMEOUT_MS / 10; i++)
		usleep(10000);
	ASSERT_NE(others, sp.others) TH_LOG("no lock_completed");
	for (i = 0; i < THREADS; i++)
		for (pg = 0; pg < HOT; pg++)
			wrong += ((uint64_t *)(sp.mem + (c[i].first + pg) * PS))
				 [W_WRITES] != c[i].writes[pg];
	if (tp_stats(tp.name, &st))
		memset(&st, 0, sizeof(st));
	TH_LOG("%lu drop_caches rounds, %lu evictions (%lu data_returns, %lu pages kernel_copy), %lu data_requests, %lu reads: %lu stale, %lu lost writes, %lu pages whose last write the pager lacks",
	       rounds, st.evicted, sp.returns, kernel_copies, sp.requests,
	       reads, stale, lost, wrong);
	EXPECT_LT(0, sp.returns) TH_LOG("nothing was evicted");
	EXPECT_EQ(0, stale);
	EXPECT_EQ(0, lost);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, sp.errors) TH_LOG("pager: %s", sp.first_error);
	munmap(p, NPAGES * PS);
	sp_stop(&sp);
	tp_destroy(&tp);
}

TEST_HARNESS_MAIN
