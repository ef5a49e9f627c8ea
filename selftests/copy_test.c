// SPDX-License-Identifier: GPL-2.0
/*
 * Copy strategies: MAP_PRIVATE mappings and fork with Mach's NONE, CALL,
 * DELAY and TEMPORARY semantics. Test names carry the item numbers of the
 * fidelity checklist in shared/MACH-EMM.md.
 */
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define NPAGES 8

/* A pager that answers every request from its own pattern @seed. */
static void serve(struct __test_metadata *_metadata, struct tpager *tp,
		  unsigned int seed, int quiet_ms)
{
	struct mempager_msg m;

	while (tp_next(tp->mfd, &m, quiet_ms) == 1) {
		ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type)
			TH_LOG("message %u", m.type);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(tp, m.request.offset / PS,
						  seed, 0));
	}
}

static unsigned char *map_private(int fd, size_t npages)
{
	return mmap(NULL, npages * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		    0);
}

/* Ready with @strategy; pages 0..NPAGES-1 resident with pattern @seed. */
static unsigned char *setup(struct __test_metadata *_metadata,
			    struct tpager *tp, int strategy, unsigned int seed)
{
	struct mempager_msg m;
	unsigned char *p;
	size_t i;

	ASSERT_EQ(0, tp_create(tp, NPAGES, 0600));
	p = tp_map(tp->ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp->mfd, &m, TP_TIMEOUT_MS));
	tp->ctl = mempager_msg_control(tp->mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp->ctl, 1, strategy));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(KERN_SUCCESS, tp_supply(tp, i, seed, 0));
	return p;
}

/* Flush page @pg from the kernel and supply it anew with pattern @seed. */
static void manager_changes(struct __test_metadata *_metadata,
			    struct tpager *tp, size_t pg, unsigned int seed)
{
	ASSERT_EQ(0, tp_lock(tp, pg, 1, MEMPAGER_RETURN_NONE, 1,
			     VM_PROT_NO_CHANGE, 0));
	ASSERT_EQ(KERN_SUCCESS, tp_supply(tp, pg, seed, 0));
}

/* 36: DELAY: snapshots at three moments, each frozen; private writes stay private. */
TEST(item36_delay_three_snapshots)
{
	unsigned char *shared, *snap[3];
	struct tpager tp;
	size_t i, pg;
	int k;

	shared = setup(_metadata, &tp, MEMORY_OBJECT_COPY_DELAY, 1);
	for (k = 0; k < 3; k++) {
		snap[k] = map_private(tp.ofd, NPAGES);
		ASSERT_NE(MAP_FAILED, snap[k]);
		/* Read half the snapshot now, leave half for later. */
		for (pg = 0; pg < NPAGES; pg += 2) {
			unsigned char want = k ? 0x10 + k - 1 : tp_byte(pg, 3, 1);

			EXPECT_EQ(want, snap[k][pg * PS + 3]);
		}
		/* Change the original through the shared mapping. */
		for (pg = 0; pg < NPAGES; pg++)
			memset(shared + pg * PS, 0x10 + k, PS);
	}
	/* Each snapshot still shows its moment, byte for byte. */
	for (pg = 0; pg < NPAGES; pg++) {
		EXPECT_EQ(0, tp_check(snap[0] + pg * PS, pg, 1)) TH_LOG("snap 0 page %zu", pg);
		for (k = 1; k < 3; k++)
			for (i = 0; i < PS; i += 97)
				ASSERT_EQ(0x10 + k - 1, snap[k][pg * PS + i])
					TH_LOG("snap %d page %zu", k, pg);
	}
	/* Private writes never reach the original or the other snapshots. */
	memset(snap[1], 0xee, PS);
	EXPECT_EQ(0x12, shared[0]);
	EXPECT_EQ(0x11, snap[2][0]);
	EXPECT_EQ(0, tp_check(snap[0], 0, 1));
	/* ...nor the manager: a full return brings back only the shared data. */
	{
		struct mempager_msg m;
		unsigned char *data = malloc(NPAGES * PS);

		ASSERT_EQ(0, tp_lock(&tp, 0, NPAGES, MEMPAGER_RETURN_DIRTY, 0,
				     VM_PROT_NO_CHANGE, 1));
		do {
			ASSERT_EQ(1, tp_recv(tp.mfd, &m, data, NPAGES * PS,
					     TP_TIMEOUT_MS));
			if (m.type == MEMPAGER_MSG_DATA_RETURN)
				for (i = 0; i < m.data_return.length; i += 211)
					ASSERT_EQ(0x12, data[i]);
		} while (m.type != MEMPAGER_MSG_LOCK_COMPLETED);
		free(data);
	}
	/* The manager replacing a page does not reach the snapshots either. */
	manager_changes(_metadata, &tp, 3, 9);
	EXPECT_EQ(0, tp_check(shared + 3 * PS, 3, 9));
	EXPECT_EQ(0, tp_check(snap[0] + 3 * PS, 3, 1));
	EXPECT_EQ(0x10, snap[1][3 * PS]);
	for (k = 0; k < 3; k++)
		munmap(snap[k], NPAGES * PS);
	munmap(shared, NPAGES * PS);
	tp_destroy(&tp);
}

/* 36: a snapshot of pages not yet resident reads them from the manager, once. */
TEST(item36_delay_missing_pages_come_from_manager)
{
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p, *q;

	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0,
						    MEMORY_OBJECT_COPY_DELAY));
	q = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, q);
	{
		pid_t pid = tp_touch_child(q + 2 * PS, 0, tp_byte(2, 0, 4));

		expect_request(_metadata, &tp, 2, VM_PROT_READ);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 2, 4, 0));
		EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	}
	/* A private write fault asks for READ only: the manager's page is not written. */
	{
		pid_t pid = tp_touch_child(q + 5 * PS, 1, 0x33);

		expect_request(_metadata, &tp, 5, VM_PROT_READ);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 5, 4, 0));
		EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	}
	EXPECT_EQ(0, tp_check(p + 5 * PS, 5, 4));
	EXPECT_EQ(0, tp_check(q + 2 * PS, 2, 4));
	expect_quiet(_metadata, &tp);
	munmap(q, NPAGES * PS);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/* 35: NONE: every missing page is asked for at map time; later changes stay invisible. */
TEST(item35_none_copies_eagerly)
{
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p, *q;
	int got = 0;

	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0,
						    MEMORY_OBJECT_COPY_NONE));
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 0, 2, 0));
	q = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, q);
	/* Pages 1..7 are asked for by the mmap itself, no access needed. */
	while (tp_next(tp.mfd, &m, TP_QUIET_MS) == 1) {
		ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
		EXPECT_EQ(VM_PROT_READ, m.request.desired_access);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, m.request.offset / PS, 2, 0));
		got++;
	}
	EXPECT_EQ(NPAGES - 1, got);
	/* The manager changes every page; the copy keeps the old data. */
	for (got = 0; got < NPAGES; got++)
		manager_changes(_metadata, &tp, got, 7);
	for (got = 0; got < NPAGES; got++) {
		EXPECT_EQ(0, tp_check(q + got * PS, got, 2));
		EXPECT_EQ(0, tp_check(p + got * PS, got, 7));
	}
	munmap(q, NPAGES * PS);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/* 37: CALL: memory_object_copy, then init on the new object, which the manager serves. */
TEST(item37_call_asks_the_manager)
{
	memory_object_control_t cctl;
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p, *q;
	uint32_t copy_handle;
	pid_t pid;

	p = setup(_metadata, &tp, MEMORY_OBJECT_COPY_CALL, 1);
	q = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_COPY, m.type);
	EXPECT_EQ(tp.ctl.object, m.object);
	EXPECT_EQ(0, m.copy.offset);
	EXPECT_EQ(NPAGES * PS, m.copy.length);
	copy_handle = m.copy.new_object;
	EXPECT_NE(tp.ctl.object, copy_handle);
	/* A copy belongs to its mapping: its name cannot be opened. */
	{
		int cfd = -1;

		EXPECT_NE(KERN_SUCCESS, mempager_object_open(tp.mfd,
				m.copy.new_name, 0, &cfd));
		EXPECT_EQ(ENOENT, errno);
		EXPECT_EQ(-1, cfd);
	}
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	EXPECT_EQ(copy_handle, m.object);
	cctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(cctl, 0,
						    MEMORY_OBJECT_COPY_DELAY));
	/* The copy's page comes from the manager... */
	pid = tp_touch_child(q + PS, 0, tp_byte(1, 0, 6));
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
	EXPECT_EQ(copy_handle, m.object);
	EXPECT_EQ(PS, m.request.offset);
	{
		char *buf = malloc(PS);

		tp_fill(buf, 1, 6);
		ASSERT_EQ(KERN_SUCCESS,
			  memory_object_data_supply(cctl, PS, buf, PS, 0, 0, 0));
		free(buf);
	}
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	/* ...or, with data_unavailable, from the original. */
	pid = tp_touch_child(q + 2 * PS, 0, tp_byte(2, 0, 1));
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(cctl, 2 * PS, PS));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	/* The original's pages are write-locked: a write asks first. */
	pid = tp_touch_child(p + 3 * PS, 1, 0x5e);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_DATA_UNLOCK, m.type);
	EXPECT_EQ(tp.ctl.object, m.object);
	EXPECT_EQ(3 * PS, m.request.offset);
	ASSERT_EQ(0, tp_lock(&tp, 3, 1, MEMPAGER_RETURN_NONE, 0, 0, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	/* 42: the copy's region names the original. */
	{
		uint64_t name;

		ASSERT_EQ(KERN_SUCCESS, mempager_region(tp.mfd, q, &name, NULL,
							NULL, NULL));
		EXPECT_EQ(tp.name, name);
	}
	munmap(q, NPAGES * PS);
	/* The copy terminates with its mapping. */
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	EXPECT_EQ(copy_handle, m.object);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/* 38: fork: shared mappings stay shared (no init); private ones are isolated. */
TEST(item38_fork_shared_and_private)
{
	unsigned char *shared, *priv;
	struct tpager tp;
	int status;
	pid_t pid;

	shared = setup(_metadata, &tp, MEMORY_OBJECT_COPY_DELAY, 1);
	priv = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, priv);
	priv[0] = 0xa1;		/* the parent's private write */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int bad = 0;

		bad |= priv[0] != 0xa1;			/* inherited */
		priv[PS] = 0xc1;			/* the child's own */
		shared[2 * PS] = 0xc2;			/* seen by the parent */
		bad |= tp_check(priv + 3 * PS, 3, 1) ? 2 : 0;
		_exit(bad);
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	EXPECT_TRUE(tp_exited_ok(status));
	EXPECT_EQ(0xc2, shared[2 * PS]);
	EXPECT_EQ(tp_byte(1, 0, 1), priv[PS]);	/* not the child's write */
	EXPECT_EQ(tp_byte(2, 0, 1), priv[2 * PS]);	/* the snapshot */
	expect_quiet(_metadata, &tp);		/* no new init */
	munmap(priv, NPAGES * PS);
	munmap(shared, NPAGES * PS);
	tp_destroy(&tp);
}

/* 38 with each strategy: a private mapping forked keeps its snapshot in both. */
TEST(item38_fork_private_each_strategy)
{
	static const int strategies[] = {
		MEMORY_OBJECT_COPY_NONE, MEMORY_OBJECT_COPY_DELAY,
		MEMORY_OBJECT_COPY_TEMPORARY,
	};
	unsigned int s;

	for (s = 0; s < 3; s++) {
		unsigned char *shared, *priv;
		struct tpager tp;
		pid_t pid;

		shared = setup(_metadata, &tp, strategies[s], 1);
		priv = map_private(tp.ofd, NPAGES);
		ASSERT_NE(MAP_FAILED, priv);
		serve(_metadata, &tp, 1, TP_QUIET_MS);
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			/* The original changes after the fork too. */
			usleep(TP_QUIET_MS * 1000);
			_exit(tp_check(priv + 4 * PS, 4, 1) ? 1 : 0);
		}
		memset(shared + 4 * PS, 0x77, PS);
		EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)))
			TH_LOG("strategy %d", strategies[s]);
		EXPECT_EQ(0, tp_check(priv + 4 * PS, 4, 1));
		munmap(priv, NPAGES * PS);
		munmap(shared, NPAGES * PS);
		tp_destroy(&tp);
	}
}

/* 39: TEMPORARY objects are discarded at terminate, nothing returned. */
TEST(item39_temporary_discarded)
{
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p;

	p = setup(_metadata, &tp, MEMORY_OBJECT_COPY_TEMPORARY, 1);
	memset(p, 0x39, 2 * PS);	/* dirty pages */
	ASSERT_EQ(KERN_SUCCESS, memory_object_change_attributes(tp.ctl, 0,
					MEMORY_OBJECT_COPY_TEMPORARY, 0));
	munmap(p, NPAGES * PS);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	expect_quiet(_metadata, &tp);
	tp_destroy(&tp);
}

/* 42: the name of a private DELAY copy's range is the original's. */
TEST(item42_region_of_copy_names_original)
{
	struct tpager tp;
	unsigned char *p, *q;
	uint64_t name, start, end, off;

	p = setup(_metadata, &tp, MEMORY_OBJECT_COPY_DELAY, 1);
	q = mmap(NULL, 2 * PS, PROT_READ, MAP_PRIVATE, tp.ofd, 3 * PS);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, tp_check(q, 3, 1));
	ASSERT_EQ(KERN_SUCCESS, mempager_region(tp.mfd, q + PS, &name, &start,
						&end, &off));
	EXPECT_EQ(tp.name, name);
	EXPECT_EQ((uintptr_t)q, start);
	EXPECT_EQ(3 * PS, off);		/* the original's offset */
	munmap(q, 2 * PS);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/* A copy object under memory pressure: the original's pages evicted, the snapshot kept. */
TEST(copy_survives_eviction_of_original)
{
	struct tpager tp;
	unsigned char *p, *q;
	size_t pg;

	p = setup(_metadata, &tp, MEMORY_OBJECT_COPY_DELAY, 1);
	q = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, q);
	munmap(p, NPAGES * PS);
	/* Drop every page of the original, as reclaim does (clean pages go silently). */
	ASSERT_EQ(0, tp_lock(&tp, 0, NPAGES, MEMPAGER_RETURN_NONE, 1,
			     VM_PROT_NO_CHANGE, 0));
	/* The manager now has other data; the copy must not see it. */
	for (pg = 0; pg < NPAGES; pg++)
		EXPECT_EQ(0, tp_check(q + pg * PS, pg, 1)) TH_LOG("page %zu", pg);
	expect_quiet(_metadata, &tp);
	munmap(q, NPAGES * PS);
	tp_destroy(&tp);
}

/* Real write-back pressure: the copy's pushed pages are its snapshot and stay. */
TEST(copy_keeps_snapshot_under_writeback)
{
	const char *param = "/sys/module/mempager/parameters/max_resident_percent";
	struct tpager tp, big;
	unsigned char *p, *q, *buf;
	char old[16] = "50";
	size_t pg, bigpages = 8192;
	struct tp_stats st;
	int fd;
	ssize_t n;

	p = setup(_metadata, &tp, MEMORY_OBJECT_COPY_DELAY, 1);
	q = map_private(tp.ofd, NPAGES);
	ASSERT_NE(MAP_FAILED, q);
	/* Writes to the original push its pages into the copy. */
	memset(p, 0x66, NPAGES * PS);
	munmap(p, NPAGES * PS);

	/* Another object fills the caches past a 1% limit: write-back runs. */
	fd = open(param, O_RDWR);
	ASSERT_GE(fd, 0);
	n = read(fd, old, sizeof(old) - 1);
	old[n > 0 ? n : 0] = 0;
	ASSERT_EQ(2, pwrite(fd, "1\n", 2, 0));
	ASSERT_EQ(0, tp_create(&big, bigpages, 0600));
	buf = tp_map(big.ofd, bigpages, 0);
	ASSERT_NE(MAP_FAILED, buf);
	{
		struct mempager_msg m;
		char *data = calloc(64, PS);

		ASSERT_EQ(1, tp_next(big.mfd, &m, TP_TIMEOUT_MS));
		big.ctl = mempager_msg_control(big.mfd, &m);
		ASSERT_EQ(KERN_SUCCESS, memory_object_ready(big.ctl, 1, 0));
		for (pg = 0; pg < bigpages; pg += 64)
			ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(big.ctl,
					pg * PS, data, 64 * PS, 0, 0, 0));
		free(data);
	}
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(0, tp_stats(big.name, &st));
	EXPECT_GT(st.evicted, 0) TH_LOG("write-back did not run");
	pwrite(fd, old, strlen(old), 0);
	close(fd);
	/* The snapshot is intact and nothing was asked of the manager. */
	for (pg = 0; pg < NPAGES; pg++)
		EXPECT_EQ(0, tp_check(q + pg * PS, pg, 1)) TH_LOG("page %zu", pg);
	{
		/* The original's dirty pages may have come back: that is all. */
		unsigned char *data = malloc(16 * PS);
		struct mempager_msg m;

		while (tp_recv(tp.mfd, &m, data, 16 * PS, TP_QUIET_MS) == 1)
			EXPECT_EQ(MEMPAGER_MSG_DATA_RETURN, m.type);
		free(data);
	}
	munmap(buf, bigpages * PS);
	munmap(q, NPAGES * PS);
	tp_destroy(&big);
	tp_destroy(&tp);
}

TEST_HARNESS_MAIN
