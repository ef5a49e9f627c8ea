// SPDX-License-Identifier: GPL-2.0
/*
 * Locks, write-back and coherence: lock_request, data_unlock, data_return,
 * lock_completed, msync and terminate with dirty pages. Test names carry
 * the item numbers of the fidelity checklist in shared/MACH-EMM.md.
 */
#include <pthread.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define NPAGES 16

FIXTURE(pager) {
	struct tpager tp;
	unsigned char *p;
	unsigned char *data;
};

FIXTURE_SETUP(pager)
{
	ASSERT_EQ(0, tp_create(&self->tp, NPAGES, 0600));
	self->p = map_ready(_metadata, &self->tp, 0);
	self->data = malloc(NPAGES * PS);
}

FIXTURE_TEARDOWN(pager)
{
	free(self->data);
	tp_destroy(&self->tp);
}

/* Supply page @pgoff (pattern @seed) with a lock value. */
static kern_return_t supply_locked(struct tpager *tp, size_t pgoff,
				   unsigned int seed, int lock, int precious)
{
	char *buf = malloc(PS);
	kern_return_t kr;

	tp_fill(buf, pgoff, seed);
	kr = memory_object_data_supply(tp->ctl, pgoff * PS, buf, PS, lock,
				       precious, 0);
	free(buf);
	return kr;
}

static void expect_msg(struct __test_metadata *_metadata, struct tpager *tp,
		       struct mempager_msg *m, void *data, unsigned int type)
{
	ASSERT_EQ(1, tp_recv(tp->mfd, m, data, NPAGES * PS, TP_TIMEOUT_MS));
	ASSERT_EQ(type, m->type) TH_LOG("got message type %u", m->type);
	EXPECT_EQ(tp->ctl.object, m->object);
}

/* Fault page @pgoff in (from the pager's pattern, seed 1) by reading it. */
static void fault_in(struct __test_metadata *_metadata, struct tpager *tp,
		     unsigned char *p, size_t pgoff)
{
	ASSERT_EQ(KERN_SUCCESS, tp_supply(tp, pgoff, 1, 0));
	EXPECT_EQ(tp_byte(pgoff, 0, 1), p[pgoff * PS]);
}

/* 12: lock WRITE: reads are free; a write sends data_unlock(READ|WRITE) and waits. */
TEST_F(pager, item12_write_lock_sends_unlock)
{
	struct mempager_msg m;
	pid_t pid;

	ASSERT_EQ(KERN_SUCCESS, supply_locked(&self->tp, 2, 1, VM_PROT_WRITE, 0));
	EXPECT_EQ(0, tp_check(self->p + 2 * PS, 2, 1));
	expect_quiet(_metadata, &self->tp);

	pid = tp_touch_child(self->p + 2 * PS, 1, 0x77);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	EXPECT_EQ(2 * PS, m.request.offset);
	EXPECT_EQ(PS, m.request.length);
	EXPECT_EQ(VM_PROT_READ | VM_PROT_WRITE, m.request.desired_access);
	usleep(TP_QUIET_MS * 1000);
	EXPECT_EQ(0, waitpid(pid, NULL, WNOHANG));
	ASSERT_EQ(0, tp_lock(&self->tp, 2, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_NONE, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	EXPECT_EQ(0x77, self->p[2 * PS]);
}

/* 13: a second writer on the same locked page sends no second data_unlock. */
TEST_F(pager, item13_one_unlock_for_two_writers)
{
	struct mempager_msg m;
	pid_t a, b;

	ASSERT_EQ(KERN_SUCCESS, supply_locked(&self->tp, 3, 1, VM_PROT_WRITE, 0));
	a = tp_touch_child(self->p + 3 * PS, 1, 5);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	b = tp_touch_child(self->p + 3 * PS + 1, 1, 5);
	usleep(TP_QUIET_MS * 1000);
	expect_quiet(_metadata, &self->tp);
	ASSERT_EQ(0, tp_lock(&self->tp, 3, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_NONE, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
	EXPECT_TRUE(tp_exited_ok(tp_wait(b, TP_TIMEOUT_MS)));
}

/* 14: lock_request with the same lock wakes the waiters, which ask again. */
TEST_F(pager, item14_same_lock_wakes_and_asks_again)
{
	struct mempager_msg m;
	pid_t pid;

	ASSERT_EQ(KERN_SUCCESS, supply_locked(&self->tp, 4, 1, VM_PROT_WRITE, 0));
	pid = tp_touch_child(self->p + 4 * PS, 1, 9);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	ASSERT_EQ(0, tp_lock(&self->tp, 4, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_WRITE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	EXPECT_EQ(4 * PS, m.request.offset);
	ASSERT_EQ(0, tp_lock(&self->tp, 4, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_NO_CHANGE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	ASSERT_EQ(0, tp_lock(&self->tp, 4, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_NONE, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* 15: locking a writable page: the next write asks; locks replace; NO_CHANGE keeps. */
TEST_F(pager, item15_locks_replace_and_no_change_keeps)
{
	struct mempager_msg m;
	pid_t pid;

	fault_in(_metadata, &self->tp, self->p, 5);
	self->p[5 * PS] = 1;		/* writable and written */
	ASSERT_EQ(0, tp_lock(&self->tp, 5, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_READ | VM_PROT_WRITE, 0));
	/* Even a read asks now. */
	pid = tp_touch_child(self->p + 5 * PS, 0, 1);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	EXPECT_EQ(VM_PROT_READ, m.request.desired_access);
	/* Replaced by WRITE alone: reads go through. */
	ASSERT_EQ(0, tp_lock(&self->tp, 5, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_WRITE, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	/* NO_CHANGE keeps WRITE: a write asks. */
	ASSERT_EQ(0, tp_lock(&self->tp, 5, 1, MEMPAGER_RETURN_NONE, 0,
			     VM_PROT_NO_CHANGE, 0));
	pid = tp_touch_child(self->p + 5 * PS, 1, 2);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_UNLOCK);
	EXPECT_EQ(VM_PROT_READ | VM_PROT_WRITE, m.request.desired_access);
	ASSERT_EQ(0, tp_lock(&self->tp, 5, 1, MEMPAGER_RETURN_NONE, 0, 0, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	EXPECT_EQ(2, self->p[5 * PS]);
}

/* 16: a written page + RETURN_DIRTY + flush → data_return(dirty, !kernel_copy); then a request. */
TEST_F(pager, item16_return_dirty_flush)
{
	struct mempager_msg m;
	pid_t pid;

	fault_in(_metadata, &self->tp, self->p, 6);
	memset(self->p + 6 * PS + 10, 0xab, 100);
	ASSERT_EQ(0, tp_lock(&self->tp, 6, 1, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NO_CHANGE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(6 * PS, m.data_return.offset);
	EXPECT_EQ(PS, m.data_return.length);
	EXPECT_EQ(1, m.data_return.dirty);
	EXPECT_EQ(0, m.data_return.kernel_copy);
	EXPECT_EQ(0xab, self->data[10]);
	EXPECT_EQ(0xab, self->data[109]);
	EXPECT_EQ(tp_byte(6, 110, 1), self->data[110]);
	/* Flushed: the next access asks. */
	pid = tp_touch_child(self->p + 6 * PS + 10, 0, 0xab);
	expect_request(_metadata, &self->tp, 6, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl, 6 * PS,
							  self->data, PS, 0, 0, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* 17, 19: without flush → kernel_copy; the page stays; a later write dirties it again. */
TEST_F(pager, item17_19_return_without_flush)
{
	struct mempager_msg m;

	fault_in(_metadata, &self->tp, self->p, 7);
	fault_in(_metadata, &self->tp, self->p, 8);
	self->p[7 * PS] = 0x11;
	ASSERT_EQ(0, tp_lock(&self->tp, 7, 2, MEMPAGER_RETURN_DIRTY, 0,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(7 * PS, m.data_return.offset);
	EXPECT_EQ(PS, m.data_return.length);	/* page 8 is clean */
	EXPECT_EQ(1, m.data_return.kernel_copy);
	EXPECT_EQ(0x11, self->data[0]);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	/* Still resident: no request; clean now: not returned again. */
	EXPECT_EQ(0x11, self->p[7 * PS]);
	ASSERT_EQ(0, tp_lock(&self->tp, 7, 2, MEMPAGER_RETURN_ALL, 0,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	/* Written again: dirty again. */
	self->p[7 * PS] = 0x22;
	ASSERT_EQ(0, tp_lock(&self->tp, 7, 1, MEMPAGER_RETURN_DIRTY, 0,
			     VM_PROT_NO_CHANGE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(0x22, self->data[0]);
	expect_quiet(_metadata, &self->tp);
}

/* 18: RETURN_NONE + flush discards dirty data; re-reading gets the manager's data. */
TEST_F(pager, item18_flush_discards)
{
	struct mempager_msg m;
	pid_t pid;

	fault_in(_metadata, &self->tp, self->p, 9);
	self->p[9 * PS] = 0x99;
	ASSERT_EQ(0, tp_lock(&self->tp, 9, 1, MEMPAGER_RETURN_NONE, 1,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	pid = tp_touch_child(self->p + 9 * PS, 0, tp_byte(9, 0, 1));
	expect_request(_metadata, &self->tp, 9, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 9, 1, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* 20: a clean precious page: returned (dirty 0) with RETURN_ALL, dropped by RETURN_DIRTY+flush. */
TEST_F(pager, item20_precious)
{
	struct mempager_msg m;

	ASSERT_EQ(KERN_SUCCESS, supply_locked(&self->tp, 10, 4, 0, 1));
	ASSERT_EQ(0, tp_lock(&self->tp, 10, 1, MEMPAGER_RETURN_ALL, 0,
			     VM_PROT_NO_CHANGE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(0, m.data_return.dirty);
	EXPECT_EQ(1, m.data_return.kernel_copy);
	EXPECT_EQ(0, tp_check(self->data, 10, 4));
	ASSERT_EQ(0, tp_lock(&self->tp, 10, 1, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	/* Gone: the next access asks. */
	tp_touch_child(self->p + 10 * PS, 0, 0);
	expect_request(_metadata, &self->tp, 10, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(self->tp.ctl, 10 * PS, PS));
	wait(NULL);
}

/* 22, 23: lock_completed follows every data_return and echoes the range, also when nothing is resident. */
TEST_F(pager, item22_23_lock_completed)
{
	struct mempager_msg m;

	ASSERT_EQ(0, tp_lock(&self->tp, 0, NPAGES, MEMPAGER_RETURN_ALL, 1,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	EXPECT_EQ(0, m.range.offset);
	EXPECT_EQ(NPAGES * PS, m.range.length);

	fault_in(_metadata, &self->tp, self->p, 1);
	fault_in(_metadata, &self->tp, self->p, 3);
	self->p[1 * PS] = 1;
	self->p[3 * PS] = 3;
	ASSERT_EQ(0, tp_lock(&self->tp, 1, 4, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NO_CHANGE, 1));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(1 * PS, m.data_return.offset);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(3 * PS, m.data_return.offset);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_LOCK_COMPLETED);
	EXPECT_EQ(1 * PS, m.range.offset);
	EXPECT_EQ(4 * PS, m.range.length);
}

/* 24: contiguous dirty pages come in one data_return; coverage is exact. */
TEST_F(pager, item24_multi_page_return)
{
	struct mempager_msg m;
	size_t i;

	for (i = 11; i < 15; i++) {
		fault_in(_metadata, &self->tp, self->p, i);
		self->p[i * PS + 1] = (unsigned char)i;
	}
	ASSERT_EQ(0, tp_lock(&self->tp, 10, 6, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NO_CHANGE, 0));
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(11 * PS, m.data_return.offset);
	EXPECT_EQ(4 * PS, m.data_return.length);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(11 + i, self->data[i * PS + 1]);
		EXPECT_EQ(tp_byte(11 + i, 2, 1), self->data[i * PS + 2]);
	}
	expect_quiet(_metadata, &self->tp);
}

/* 25: a request right after a return of the same page comes after it; seqnos increase. */
TEST_F(pager, item25_return_then_request_order)
{
	struct mempager_msg m;
	uint64_t seq;
	pid_t pid;

	fault_in(_metadata, &self->tp, self->p, 12);
	self->p[12 * PS] = 0x42;
	ASSERT_EQ(0, tp_lock(&self->tp, 12, 1, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NO_CHANGE, 0));
	pid = tp_touch_child(self->p + 12 * PS, 0, 0x42);
	usleep(TP_QUIET_MS * 1000);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	seq = m.seqno;
	expect_msg(_metadata, &self->tp, &m, self->data + PS,
		   MEMPAGER_MSG_DATA_REQUEST);
	EXPECT_EQ(seq + 1, m.seqno);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl, 12 * PS,
							  self->data, PS, 0, 0, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* read(2) does not deliver page data: it stops before a data_return. */
TEST_F(pager, read_refuses_data_return)
{
	struct mempager_msg m[2];

	fault_in(_metadata, &self->tp, self->p, 0);
	self->p[0] = 1;
	ASSERT_EQ(0, tp_lock(&self->tp, 0, 1, MEMPAGER_RETURN_DIRTY, 0,
			     VM_PROT_NO_CHANGE, 0));
	EXPECT_EQ(-1, read(self->tp.mfd, m, sizeof(m)));
	EXPECT_EQ(EMSGSIZE, errno);
	{
		/* Nor does a receive whose data buffer is too small. */
		struct mempager_receive r = {
			.size = sizeof(r), .msgs = (uintptr_t)m, .msgs_max = 2,
			.data = (uintptr_t)self->data, .data_size = PS - 1,
		};

		EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
		EXPECT_EQ(EMSGSIZE, errno);
		r.data_size = PS;
		ASSERT_EQ(0, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
		EXPECT_EQ(1, r.out_msgs);
		EXPECT_EQ(PS, r.out_data);
		EXPECT_EQ(1, self->data[0]);
	}
}

/* Bad lock_request arguments change nothing. */
TEST_F(pager, lock_request_invalid_arguments)
{
	struct mempager_lock_request lr = {
		.size = sizeof(lr), .object = self->tp.ctl.object,
		.control = self->tp.ctl.control, .length = PS,
	};

	lr.lock_value = 9;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(EINVAL, errno);
	lr.lock_value = 0;
	lr.should_return = 4;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(EINVAL, errno);
	lr.should_return = 0;
	lr.should_flush = 2;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(EINVAL, errno);
	lr.should_flush = 0;
	lr.length = PS + 5;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(EINVAL, errno);
	lr.length = 2 * NPAGES * PS;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(EOVERFLOW, errno);
	lr.length = PS;
	lr.control++;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_LOCK_REQUEST, &lr));
	EXPECT_EQ(ENOENT, errno);
	expect_quiet(_metadata, &self->tp);
}

/* msync(MS_SYNC): dirty pages come back, then synchronize; msync waits for the answer. */
TEST_F(pager, msync_synchronize)
{
	struct mempager_synchronize_completed sc = {
		.size = sizeof(sc), .object = self->tp.ctl.object,
		.control = self->tp.ctl.control,
	};
	struct mempager_msg m;
	pid_t pid;

	fault_in(_metadata, &self->tp, self->p, 2);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		self->p[2 * PS + 7] = 0x5c;
		_exit(msync(self->p, NPAGES * PS, MS_SYNC) ? 2 : 0);
	}
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(2 * PS, m.data_return.offset);
	EXPECT_EQ(1, m.data_return.kernel_copy);
	EXPECT_EQ(0x5c, self->data[7]);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_SYNCHRONIZE);
	EXPECT_EQ(0, m.range.offset);
	EXPECT_EQ(NPAGES * PS, m.range.length);
	EXPECT_EQ(MEMPAGER_SYNC_SYNCHRONOUS, m.range.flags);
	/* msync waits for the manager. */
	usleep(TP_QUIET_MS * 1000);
	EXPECT_EQ(0, waitpid(pid, NULL, WNOHANG));
	sc.offset = PS;		/* not the range it waits for */
	sc.length = PS;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_SYNCHRONIZE_COMPLETED, &sc));
	EXPECT_EQ(ENOENT, errno);
	sc.offset = m.range.offset;
	sc.length = m.range.length;
	ASSERT_EQ(0, ioctl(self->tp.mfd, MEMPAGER_SYNCHRONIZE_COMPLETED, &sc));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* 26: unmapping an uncacheable object returns its dirty pages, then terminates. */
TEST_F(pager, item26_unmap_returns_then_terminates)
{
	struct mempager_msg m;

	fault_in(_metadata, &self->tp, self->p, 4);
	fault_in(_metadata, &self->tp, self->p, 5);
	self->p[4 * PS] = 0x44;
	munmap(self->p, NPAGES * PS);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_DATA_RETURN);
	EXPECT_EQ(4 * PS, m.data_return.offset);
	EXPECT_EQ(PS, m.data_return.length);
	EXPECT_EQ(0, m.data_return.kernel_copy);
	EXPECT_EQ(0x44, self->data[0]);
	expect_msg(_metadata, &self->tp, &m, self->data, MEMPAGER_MSG_TERMINATE);
}

/*
 * Two processes increment counters in the same pages while the pager keeps
 * taking the pages away (flush) and write-locking them (clean + lock WRITE),
 * adding its own changes between flushes: no update may be lost and no
 * process may keep seeing a page the pager took back.
 */
#define COH_PAGES 4
#define COH_ROUNDS 1000

static int coherence_client(unsigned char *p)
{
	int i, pg;

	for (i = 0; i < COH_ROUNDS; i++) {
		for (pg = 0; pg < COH_PAGES; pg++)
			__atomic_fetch_add((uint64_t *)(p + pg * PS), 1,
					   __ATOMIC_SEQ_CST);
		/* Give the pager room to take pages away meanwhile. */
		if (i % 8 == 0)
			usleep(200);
	}
	return 0;
}

TEST(two_process_coherence)
{
	unsigned char *pages = calloc(COH_PAGES, PS);
	unsigned char *data = malloc(16 * PS);
	uint64_t added = 0;
	struct mempager_msg m;
	struct tpager tp;
	pid_t pids[2];
	unsigned char *p;
	int i = 0, c, done = 0, round = 0, status;

	ASSERT_EQ(0, tp_create(&tp, COH_PAGES, 0600));
	p = tp_map(tp.ofd, COH_PAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0, 0));
	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0)
			_exit(coherence_client(p));
	}
	while (done < 2) {
		int n = tp_recv(tp.mfd, &m, data, 16 * PS, 1);
		size_t pg;

		ASSERT_GE(n, 0);
		if (n == 1) {
			pg = m.request.offset / PS;
			switch (m.type) {
			case MEMPAGER_MSG_DATA_REQUEST:
				ASSERT_EQ(KERN_SUCCESS,
					  memory_object_data_supply(tp.ctl, pg * PS,
						pages + pg * PS, PS, 0, 0, 0));
				break;
			case MEMPAGER_MSG_DATA_UNLOCK:
				ASSERT_EQ(0, tp_lock(&tp, pg, 1, MEMPAGER_RETURN_NONE,
						     0, VM_PROT_NONE, 0));
				break;
			case MEMPAGER_MSG_DATA_RETURN:
				pg = m.data_return.offset / PS;
				memcpy(pages + pg * PS, data, m.data_return.length);
				break;
			case MEMPAGER_MSG_LOCK_COMPLETED:
				break;
			default:
				ASSERT_TRUE(0) TH_LOG("message %u", m.type);
			}
			/* Answer messages; every fourth time act on our own. */
			if (++i % 4)
				continue;
		}
		/* Take a page back, or write-lock it. */
		round++;
		pg = round % COH_PAGES;
		if (round % 2) {
			size_t pend[COH_PAGES];
			int npend = 0, k;

			ASSERT_EQ(0, tp_lock(&tp, pg, 1, MEMPAGER_RETURN_DIRTY, 1,
					     VM_PROT_NO_CHANGE, 1));
			/*
			 * Our copy is the truth until it is supplied again: a
			 * request (one that was already outstanding when the
			 * flush came) is answered only once our change is in.
			 */
			do {
				ASSERT_EQ(1, tp_recv(tp.mfd, &m, data, 16 * PS,
						     TP_TIMEOUT_MS));
				if (m.type == MEMPAGER_MSG_DATA_RETURN) {
					memcpy(pages + m.data_return.offset,
					       data, m.data_return.length);
				} else if (m.type == MEMPAGER_MSG_DATA_REQUEST) {
					/* One request per page at most. */
					ASSERT_LT(npend, COH_PAGES);
					pend[npend++] = m.request.offset;
				} else if (m.type == MEMPAGER_MSG_DATA_UNLOCK) {
					ASSERT_EQ(0, tp_lock(&tp, m.request.offset / PS,
						  1, MEMPAGER_RETURN_NONE, 0,
						  VM_PROT_NONE, 0));
				}
			} while (m.type != MEMPAGER_MSG_LOCK_COMPLETED);
			*(uint64_t *)(pages + pg * PS) += 1000;
			added += 1000;
			for (k = 0; k < npend; k++)
				ASSERT_EQ(KERN_SUCCESS,
					  memory_object_data_supply(tp.ctl,
						pend[k], pages + pend[k], PS,
						0, 0, 0));
		} else {
			ASSERT_EQ(0, tp_lock(&tp, pg, 1, MEMPAGER_RETURN_DIRTY, 0,
					     VM_PROT_WRITE, 0));
		}
		for (c = 0; c < 2; c++) {
			if (pids[c] && waitpid(pids[c], &status, WNOHANG) == pids[c]) {
				EXPECT_TRUE(tp_exited_ok(status));
				pids[c] = 0;
				done++;
			}
		}
	}
	/* Take everything back and check the counters. */
	ASSERT_EQ(0, tp_lock(&tp, 0, COH_PAGES, MEMPAGER_RETURN_DIRTY, 1,
			     VM_PROT_NONE, 1));
	do {
		ASSERT_EQ(1, tp_recv(tp.mfd, &m, data, 16 * PS, TP_TIMEOUT_MS));
		if (m.type == MEMPAGER_MSG_DATA_RETURN)
			memcpy(pages + m.data_return.offset, data,
			       m.data_return.length);
	} while (m.type != MEMPAGER_MSG_LOCK_COMPLETED);
	{
		uint64_t total = 0;

		for (i = 0; i < COH_PAGES; i++)
			total += *(uint64_t *)(pages + i * PS);
		EXPECT_EQ(2ULL * COH_ROUNDS * COH_PAGES + added, total);
		TH_LOG("%d pager rounds, total %llu", round,
		       (unsigned long long)total);
	}
	munmap(p, COH_PAGES * PS);
	tp_destroy(&tp);
	free(pages);
	free(data);
}

TEST_HARNESS_MAIN
