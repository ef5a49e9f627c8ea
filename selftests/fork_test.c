// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 14's acceptance test for fork: a process whose 64 MiB MAP_SHARED
 * mapping of a managed object is all resident and mapped forks. A shared
 * file mapping needs no page-table entries in the child (the core copies
 * none unless the VMA has anonymous pages, VM_PFNMAP or VM_MIXEDMAP): the
 * child, before touching it, has an Rss of 0 kB for the mapping in
 * /proc/self/smaps, then reads every page, which its faults find in the
 * object's page cache (no data_request), and checks every byte.
 *
 * It failed while the module mapped with VM_MIXEDMAP (fork then copied
 * every PTE: the child started with the whole 64 MiB in its Rss); it
 * passes since the pages live in the inode's page cache and the core maps
 * them (issue 14, step 2a).
 */
#include "kselftest_harness.h"
#include "pager_util.h"
#include "store_pager.h"

#define NPAGES ((64UL << 20) / PS)
#define SEED 5

/* What the child reports through its pipe. */
struct child_report {
	long rss_kb;		/* the mapping's Rss before touching it */
	long rss_after_kb;	/* and after reading every page */
	size_t bad;		/* pages with a wrong byte */
};

FIXTURE(fork) {
	struct tpager tp;
	struct sp_pager sp;
	unsigned char *p;
};

FIXTURE_SETUP(fork)
{
	memset(&self->sp, 0, sizeof(self->sp));
	self->sp.seed = SEED;
	ASSERT_EQ(0, tp_create(&self->tp, NPAGES, 0600));
	ASSERT_EQ(0, sp_start(&self->sp, &self->tp, -1));
	self->p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, self->p);
}

FIXTURE_TEARDOWN(fork)
{
	munmap(self->p, NPAGES * PS);
	sp_stop(&self->sp);
	tp_destroy(&self->tp);
}

TEST_F_TIMEOUT(fork, shared_mapping_copies_no_ptes, 300)
{
	struct child_report rep = { -1, -1, 0 };
	unsigned long requests;
	long rss_kb;
	int fds[2], status;
	size_t pg;
	pid_t pid;

	/* Every page resident and mapped in the parent. */
	for (pg = 0; pg < NPAGES; pg++)
		ASSERT_EQ(0, tp_check(self->p + pg * PS, pg, SEED));
	rss_kb = sp_smaps_rss_kb(0, self->p);
	ASSERT_LE((long)(NPAGES * PS / 1024), rss_kb)
		TH_LOG("the parent's mapping is not all mapped: Rss %ld kB",
		       rss_kb);
	requests = self->sp.requests;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		rep.rss_kb = sp_smaps_rss_kb(0, self->p);
		for (pg = 0; pg < NPAGES; pg++)
			rep.bad += tp_check(self->p + pg * PS, pg, SEED) != 0;
		rep.rss_after_kb = sp_smaps_rss_kb(0, self->p);
		_exit(write(fds[1], &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1);
	}
	close(fds[1]);
	EXPECT_EQ(sizeof(rep), read(fds[0], &rep, sizeof(rep)));
	close(fds[0]);
	status = tp_wait(pid, TP_TIMEOUT_MS * 10);
	EXPECT_TRUE(tp_exited_ok(status));
	TH_LOG("parent Rss %ld kB; child Rss %ld kB before touching, %ld kB after reading; %zu bad pages; %lu data_requests during the child's reads",
	       rss_kb, rep.rss_kb, rep.rss_after_kb, rep.bad,
	       self->sp.requests - requests);
	/* No page-table entry was copied for the shared mapping. */
	EXPECT_EQ(0, rep.rss_kb);
	EXPECT_EQ(0, rep.bad);
	/* The child's faults were served from the cache, not the pager. */
	EXPECT_EQ(requests, self->sp.requests);
	EXPECT_EQ(0, self->sp.errors) TH_LOG("pager: %s", self->sp.first_error);
}

TEST_HARNESS_MAIN
