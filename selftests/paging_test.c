// SPDX-License-Identifier: GPL-2.0
/*
 * The paging path as a pager and its clients see it: init, ready,
 * data_request, data_supply / data_unavailable / data_error, the object
 * cache, terminate, destroy and manager death. Test names carry the item
 * numbers of the fidelity checklist in shared/MACH-EMM.md.
 */
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define NPAGES 16

FIXTURE(pager) {
	struct tpager tp;
};

FIXTURE_SETUP(pager)
{
	ASSERT_EQ(0, tp_create(&self->tp, NPAGES, 0600))
		TH_LOG("create: %s", strerror(errno));
}

FIXTURE_TEARDOWN(pager)
{
	tp_destroy(&self->tp);
}

/* 1: the first map sends one init; a second map sends none. */
TEST_F(pager, item01_init_once)
{
	struct mempager_msg m;
	void *a, *b;

	a = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = tp_map(self->tp.ofd, 4, 2);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_INIT, m.type);
	EXPECT_EQ(self->tp.ctl.object, m.object);
	EXPECT_NE(0, m.control);
	EXPECT_EQ(self->tp.name, m.init.name);
	EXPECT_EQ(PS, m.init.page_size);
	EXPECT_EQ(1, m.seqno);
	expect_quiet(_metadata, &self->tp);
	munmap(a, NPAGES * PS);
	munmap(b, 4 * PS);
}

struct toucher {
	volatile unsigned char *addr;
	int write;
	unsigned char val;
	volatile int done;
	unsigned char seen;
};

static void *touch_thread(void *arg)
{
	struct toucher *t = arg;

	if (t->write)
		*t->addr = t->val;
	t->seen = *t->addr;
	t->done = 1;
	return NULL;
}

/* 2, 4, 5: faults wait for ready; then a read fault asks READ and gets the bytes. */
TEST_F(pager, item02_04_05_fault_waits_for_ready_then_data)
{
	struct toucher t = { 0 };
	struct mempager_msg m;
	unsigned char *p;
	pthread_t th;

	p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);

	t.addr = p + 3 * PS + 5;
	ASSERT_EQ(0, pthread_create(&th, NULL, touch_thread, &t));
	/* Before ready the fault blocks and nothing is asked. */
	expect_quiet(_metadata, &self->tp);
	EXPECT_EQ(0, t.done);

	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0,
						    MEMORY_OBJECT_COPY_DELAY));
	expect_request(_metadata, &self->tp, 3, VM_PROT_READ);
	EXPECT_EQ(0, t.done);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 3, 9, 0));
	pthread_join(th, NULL);
	EXPECT_EQ(tp_byte(3, 5, 9), t.seen);
	EXPECT_EQ(0, tp_check(p + 3 * PS, 3, 9));
	/* Resident now: no further message. */
	expect_quiet(_metadata, &self->tp);
	munmap(p, NPAGES * PS);
}

/* 4: a write fault on a missing page asks for READ|WRITE. */
TEST_F(pager, item04_write_fault_asks_read_write)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct toucher t = { .write = 1, .val = 0x5a };
	pthread_t th;

	t.addr = p + 7 * PS + 100;
	ASSERT_EQ(0, pthread_create(&th, NULL, touch_thread, &t));
	expect_request(_metadata, &self->tp, 7, VM_PROT_READ | VM_PROT_WRITE);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 7, 1, 0));
	pthread_join(th, NULL);
	EXPECT_EQ(0x5a, t.seen);
	EXPECT_EQ(tp_byte(7, 101, 1), p[7 * PS + 101]);
	munmap(p, NPAGES * PS);
}

/* 3: a blocked fault can be killed; the killed fault installs nothing. */
TEST_F(pager, item03_blocked_fault_is_killable)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1);
	struct tp_stats st;
	pid_t pid;
	int status;

	pid = tp_touch_child(p + 2 * PS, 0, 0);
	ASSERT_GT(pid, 0);
	expect_request(_metadata, &self->tp, 2, VM_PROT_READ);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	status = tp_wait(pid, TP_TIMEOUT_MS);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	EXPECT_EQ(0, st.resident);
	/* The request stays outstanding; answering it later still works. */
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 2, 4, 0));
	EXPECT_EQ(0, tp_check(p + 2 * PS, 2, 4));
	munmap(p, NPAGES * PS);
}

/* 6: data_unavailable gives a zero page. */
TEST_F(pager, item06_unavailable_zero_fills)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	unsigned char zero[64] = { 0 };
	pid_t pid;

	pid = tp_touch_child(p + PS, 0, 0);
	expect_request(_metadata, &self->tp, 1, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(self->tp.ctl, PS, PS));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	EXPECT_EQ(0, memcmp(p + PS, zero, sizeof(zero)));
	EXPECT_EQ(0, memcmp(p + 2 * PS - sizeof(zero), zero, sizeof(zero)));
	munmap(p, NPAGES * PS);
}

/* 7: data_error gives SIGBUS; the next access sends a new data_request. */
TEST_F(pager, item07_error_sigbus_then_asks_again)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct tp_stats st;
	pid_t a, b;

	a = tp_touch_child(p + 4 * PS, 0, 0);
	b = tp_touch_child(p + 4 * PS, 0, 0);
	expect_request(_metadata, &self->tp, 4, VM_PROT_READ);
	/* Both faults share the one request. */
	usleep(TP_QUIET_MS * 1000);
	expect_quiet(_metadata, &self->tp);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_error(self->tp.ctl, 4 * PS, PS, 5));
	EXPECT_TRUE(tp_sigbus(tp_wait(a, TP_TIMEOUT_MS)));
	EXPECT_TRUE(tp_sigbus(tp_wait(b, TP_TIMEOUT_MS)));
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(1, st.errors);

	a = tp_touch_child(p + 4 * PS, 0, tp_byte(4, 0, 2));
	expect_request(_metadata, &self->tp, 4, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 4, 2, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
	munmap(p, NPAGES * PS);
}

/* 7 in one process: a thread's SIGBUS comes back through VM_FAULT_RETRY. */
TEST_F(pager, item07_error_in_own_thread_is_sigbus)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct toucher t = { .addr = p + 9 * PS };
		pthread_t th;

		/* The thread's SIGBUS kills this whole process. */
		pthread_create(&th, NULL, touch_thread, &t);
		pthread_join(th, NULL);
		_exit(0);
	}
	expect_request(_metadata, &self->tp, 9, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_error(self->tp.ctl, 9 * PS, PS, 0));
	EXPECT_TRUE(tp_sigbus(tp_wait(pid, TP_TIMEOUT_MS)));
	munmap(p, NPAGES * PS);
}

/* 8: unsolicited data_unavailable / data_error change nothing. */
TEST_F(pager, item08_unsolicited_unavailable_and_error_ignored)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct tp_stats st;
	pid_t pid;

	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(self->tp.ctl, 0, 4 * PS));
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_error(self->tp.ctl, 0, 4 * PS, 1));
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(0, st.errors);
	pid = tp_touch_child(p, 0, tp_byte(0, 0, 3));
	expect_request(_metadata, &self->tp, 0, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 3, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	munmap(p, NPAGES * PS);
}

/* 9: an unsolicited data_supply is accepted; the access sends no request. */
TEST_F(pager, item09_unsolicited_supply_accepted)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 11, 6, 0));
	EXPECT_EQ(0, tp_check(p + 11 * PS, 11, 6));
	expect_quiet(_metadata, &self->tp);
	munmap(p, NPAGES * PS);
}

/* Pages the kernel maps around a read fault (kmod/fault.c). */
#define FAULT_AROUND 16

/* Map the object at an address aligned to the fault-around window. */
static unsigned char *map_aligned(int ofd, int prot)
{
	size_t win = FAULT_AROUND * PS;
	unsigned char *r = mmap(NULL, 2 * win, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (r == MAP_FAILED)
		return r;
	a = ((uintptr_t)r + win - 1) & ~(uintptr_t)(win - 1);
	return mmap((void *)a, NPAGES * PS, prot, MAP_SHARED | MAP_FIXED, ofd, 0);
}

/*
 * Which pages of @p have a page table entry: the present bit of
 * /proc/self/pagemap (mincore() of a file mapping tells the page cache).
 */
static unsigned int mapped_mask(unsigned char *p)
{
	uint64_t ent[NPAGES];
	unsigned int mask = 0;
	int fd, i;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return ~0u;
	if (pread(fd, ent, sizeof(ent), (uintptr_t)p / PS * sizeof(ent[0])) !=
	    sizeof(ent)) {
		close(fd);
		return ~0u;
	}
	close(fd);
	for (i = 0; i < NPAGES; i++)
		mask |= (unsigned int)(ent[i] >> 63) << i;
	return mask;
}

/*
 * A read fault maps the resident neighbours its lock values allow to read,
 * and asks nothing for the others; a write fault maps its page alone; a
 * lock_request flush takes the neighbours away again.
 */
TEST_F(pager, read_fault_maps_resident_neighbours)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1), *q, *w;
	unsigned int all = (1u << NPAGES) - 1;
	size_t i;

	ASSERT_EQ(FAULT_AROUND, NPAGES);
	for (i = 0; i < NPAGES; i++)
		if (i != 5)
			ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, i, 3, 0));
	/* Page 9 may not be read until the manager says so. */
	ASSERT_EQ(0, tp_lock(&self->tp, 9, 1, MEMPAGER_RETURN_NONE, 0,
			     MEMPAGER_PROT_READ, 0));
	q = map_aligned(self->tp.ofd, PROT_READ);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0u, mapped_mask(q));
	EXPECT_EQ(0, tp_check(q + 2 * PS, 2, 3));
	EXPECT_EQ(all & ~(1u << 5) & ~(1u << 9), mapped_mask(q));
	expect_quiet(_metadata, &self->tp);
	for (i = 0; i < NPAGES; i++)
		if (i != 5 && i != 9)
			EXPECT_EQ(0, tp_check(q + i * PS, i, 3));

	ASSERT_EQ(0, tp_lock(&self->tp, 3, 2, MEMPAGER_RETURN_NONE, 1,
			     MEMPAGER_PROT_NO_CHANGE, 0));
	EXPECT_EQ(all & ~(0x7u << 3) & ~(1u << 9), mapped_mask(q));

	w = map_aligned(self->tp.ofd, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w);
	w[7 * PS] = 1;
	EXPECT_EQ(1u << 7, mapped_mask(w));
	munmap(w, NPAGES * PS);
	munmap(q, NPAGES * PS);
	munmap(p, NPAGES * PS);
}

/*
 * MEMPAGER_RECEIVE_SUPPLY: the answer to one request and the receipt of
 * the next in one call; a failed supply receives nothing; once the supply
 * is done the call succeeds, with no message when none can be had.
 */
TEST_F(pager, supply_then_receive_in_one_call)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct mempager_data_supply ds = { .size = sizeof(ds) };
	struct mempager_receive r = { .size = sizeof(r) };
	struct mempager_msg m[2];
	char *buf = malloc(PS);
	pid_t a, b;
	int n;

	a = tp_touch_child(p + 1 * PS, 0, tp_byte(1, 0, 4));
	expect_request(_metadata, &self->tp, 1, VM_PROT_READ);
	b = tp_touch_child(p + 2 * PS, 0, tp_byte(2, 0, 4));
	/* Wait until b's request is queued, without taking it. */
	{
		struct pollfd pf = { .fd = self->tp.mfd, .events = POLLIN };

		ASSERT_EQ(1, poll(&pf, 1, TP_TIMEOUT_MS));
	}
	tp_fill(buf, 1, 4);
	n = mempager_supply_receive(self->tp.ctl, 1 * PS, buf, PS, 0, 0, 0,
				    m, 2, NULL, 0);
	ASSERT_EQ(1, n) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(MEMPAGER_MSG_DATA_REQUEST, m[0].type);
	EXPECT_EQ(2 * PS, m[0].request.offset);
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));

	/* A supply that fails (past the end) receives nothing. */
	a = tp_touch_child(p + 3 * PS, 0, tp_byte(3, 0, 4));
	{
		struct pollfd pf = { .fd = self->tp.mfd, .events = POLLIN };

		ASSERT_EQ(1, poll(&pf, 1, TP_TIMEOUT_MS));
	}
	n = mempager_supply_receive(self->tp.ctl, NPAGES * PS, buf, PS, 0, 0,
				    0, m, 2, NULL, 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EOVERFLOW, errno);
	expect_request(_metadata, &self->tp, 3, VM_PROT_READ);

	/* Supplied, then nothing queued on a non-blocking fd: 0 messages. */
	ASSERT_EQ(0, fcntl(self->tp.mfd, F_SETFL, O_NONBLOCK));
	tp_fill(buf, 2, 4);
	n = mempager_supply_receive(self->tp.ctl, 2 * PS, buf, PS, 0, 0, 0,
				    m, 2, NULL, 0);
	EXPECT_EQ(0, n);
	EXPECT_TRUE(tp_exited_ok(tp_wait(b, TP_TIMEOUT_MS)));
	tp_fill(buf, 3, 4);
	EXPECT_EQ(0, mempager_supply_receive(self->tp.ctl, 3 * PS, buf, PS,
					     0, 0, 0, m, 2, NULL, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
	/* A plain receive then says why: nothing queued. */
	EXPECT_EQ(-1, mempager_receive_data(self->tp.mfd, m, 2, NULL, 0));
	EXPECT_EQ(EAGAIN, errno);

	/* Unknown flags, or a supply address without the flag. */
	r.msgs = (uintptr_t)m;
	r.msgs_max = 2;
	r.flags = 2;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = 0;
	r.supply = (uintptr_t)&ds;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EINVAL, errno);
	/* A bad supply structure: its own size is checked. */
	r.flags = MEMPAGER_RECEIVE_SUPPLY;
	ds.size = 4;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.supply = 16;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EFAULT, errno);
	free(buf);
	munmap(p, NPAGES * PS);
}

/* 10, 11: KERN_MEMORY_PRESENT with the first present offset; replies only when asked. */
TEST_F(pager, item10_11_supply_completed_and_present)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	char *buf = malloc(4 * PS);
	struct mempager_msg m;
	int i;

	for (i = 0; i < 4; i++)
		tp_fill(buf + i * PS, 5 + i, 7);
	/* No reply asked: none sent. */
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl, 6 * PS,
							  buf + PS, PS, 0, 0, 0));
	expect_quiet(_metadata, &self->tp);

	/* Pages 5..8 with page 6 present: stops there. */
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl, 5 * PS,
							  buf, 4 * PS, 0, 0, 1));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_SUPPLY_COMPLETED, m.type);
	EXPECT_EQ(5 * PS, m.supply.offset);
	EXPECT_EQ(4 * PS, m.supply.length);
	EXPECT_EQ(KERN_MEMORY_PRESENT, m.supply.result);
	EXPECT_EQ(6 * PS, m.supply.error_offset);
	EXPECT_EQ(0, tp_check(p + 5 * PS, 5, 7));
	EXPECT_EQ(0, tp_check(p + 6 * PS, 6, 7));

	/* A clean supply replies with success and echoes the range. */
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl, 12 * PS,
							  buf, 2 * PS, 0, 0, 1));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_SUPPLY_COMPLETED, m.type);
	EXPECT_EQ(12 * PS, m.supply.offset);
	EXPECT_EQ(2 * PS, m.supply.length);
	EXPECT_EQ(KERN_SUCCESS, m.supply.result);
	/* Pages 7 and 8 were not installed after the present page. */
	EXPECT_EQ(0, memcmp(p + 12 * PS, buf, PS));
	free(buf);
	munmap(p, NPAGES * PS);
}

/* 27: may_cache keeps the object: unmap sends no terminate, remap no init. */
TEST_F(pager, item27_may_cache_keeps_object)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1);
	struct tp_stats st;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 8, 0));
	munmap(p, NPAGES * PS);
	expect_quiet(_metadata, &self->tp);
	p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, tp_check(p, 0, 8));
	expect_quiet(_metadata, &self->tp);
	/* The same control still works. */
	EXPECT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 1, 8, 0));
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	EXPECT_EQ(1, st.inits);
	EXPECT_EQ(0, st.terminates);
	munmap(p, NPAGES * PS);
}

/*
 * A new mapping after terminate or destroy: a new control, and none of the
 * old incarnation's pages (page 0 is asked for again).
 */
static void expect_new_incarnation(struct __test_metadata *_metadata,
				   struct tpager *tp,
				   memory_object_control_t old, int may_cache)
{
	unsigned char *p = map_ready(_metadata, tp, may_cache);

	EXPECT_NE(old.control, tp->ctl.control);
	tp_touch_child(p, 0, 0);
	expect_request(_metadata, tp, 0, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(tp->ctl, 0, PS));
	wait(NULL);
	munmap(p, NPAGES * PS);
}

/* 26 (clean pages), 34: without may_cache the last unmap terminates; a new map inits anew. */
TEST_F(pager, item34_terminate_then_fresh_init)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	memory_object_control_t old = self->tp.ctl;
	struct mempager_msg m;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 8, 0));
	munmap(p, NPAGES * PS);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	EXPECT_EQ(old.control, m.control);
	/* The old control is stale now. */
	EXPECT_EQ(KERN_INVALID_NAME, tp_supply(&self->tp, 1, 8, 0));
	EXPECT_EQ(ENOENT, errno);

	expect_new_incarnation(_metadata, &self->tp, old, 0);
}

/* 29, 30: change_completed echoes; get_attributes reports. */
TEST_F(pager, item29_30_attributes)
{
	boolean_t ready, cache;
	memory_object_copy_strategy_t strategy;
	struct mempager_msg m;
	void *p;

	p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_get_attributes(self->tp.ctl,
							     &ready, &cache,
							     &strategy));
	EXPECT_EQ(0, ready);

	ASSERT_EQ(KERN_SUCCESS, memory_object_change_attributes(self->tp.ctl, 1,
					MEMORY_OBJECT_COPY_NONE, 1));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_CHANGE_COMPLETED, m.type);
	EXPECT_EQ(1, m.change.may_cache);
	EXPECT_EQ(MEMORY_OBJECT_COPY_NONE, m.change.copy_strategy);
	EXPECT_EQ(self->tp.ctl.control, m.control);

	ASSERT_EQ(KERN_SUCCESS, memory_object_get_attributes(self->tp.ctl,
							     &ready, &cache,
							     &strategy));
	EXPECT_EQ(1, ready);
	EXPECT_EQ(1, cache);
	EXPECT_EQ(MEMORY_OBJECT_COPY_NONE, strategy);

	/* Without reply: no message. */
	ASSERT_EQ(KERN_SUCCESS, memory_object_change_attributes(self->tp.ctl, 0,
					MEMORY_OBJECT_COPY_DELAY, 0));
	expect_quiet(_metadata, &self->tp);
	munmap(p, NPAGES * PS);
}

/* 28: a cached, unmapped object turned uncacheable terminates before change_completed. */
TEST_F(pager, item28_uncache_terminates_before_change_completed)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1);
	struct mempager_msg m;

	munmap(p, NPAGES * PS);
	expect_quiet(_metadata, &self->tp);
	ASSERT_EQ(KERN_SUCCESS, memory_object_change_attributes(self->tp.ctl, 0,
					MEMORY_OBJECT_COPY_DELAY, 1));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_CHANGE_COMPLETED, m.type);
	EXPECT_EQ(0, m.change.may_cache);
}

/* 31: ready with an invalid strategy changes nothing. */
TEST_F(pager, item31_invalid_strategy_rejected)
{
	boolean_t ready, cache;
	memory_object_copy_strategy_t strategy;
	struct mempager_msg m;
	unsigned char *p;
	pid_t pid;

	p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
	EXPECT_EQ(KERN_NOT_SUPPORTED, memory_object_ready(self->tp.ctl, 0, 4));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(KERN_NOT_SUPPORTED, memory_object_ready(self->tp.ctl, 0, 99));
	EXPECT_EQ(KERN_INVALID_ARGUMENT, memory_object_ready(self->tp.ctl, 2, 0));
	ASSERT_EQ(KERN_SUCCESS, memory_object_get_attributes(self->tp.ctl,
							     &ready, &cache,
							     &strategy));
	EXPECT_EQ(0, ready);
	/* Faults still wait. */
	pid = tp_touch_child(p, 0, 0);
	expect_quiet(_metadata, &self->tp);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0, 0));
	expect_request(_metadata, &self->tp, 0, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(self->tp.ctl, 0, PS));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	munmap(p, NPAGES * PS);
}

/* 32: destroy sends terminate; resident pages stay readable; others SIGBUS. */
TEST_F(pager, item32_destroy)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct mempager_msg m;
	pid_t waiting;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 3, 0));
	waiting = tp_touch_child(p + PS, 0, 0);
	expect_request(_metadata, &self->tp, 1, VM_PROT_READ);

	ASSERT_EQ(KERN_SUCCESS, memory_object_destroy(self->tp.ctl, 0));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	/* Waiting faults are woken with an error (GNU Mach forgets this). */
	EXPECT_TRUE(tp_sigbus(tp_wait(waiting, TP_TIMEOUT_MS)));
	EXPECT_TRUE(tp_sigbus(tp_wait(tp_touch_child(p + 2 * PS, 0, 0),
				      TP_TIMEOUT_MS)));
	/* Resident pages stay readable, in this and in a new process. */
	EXPECT_EQ(0, tp_check(p, 0, 3));
	EXPECT_TRUE(tp_exited_ok(tp_wait(tp_touch_child(p, 0, tp_byte(0, 0, 3)),
					 TP_TIMEOUT_MS)));
	/* No data comes back, and the control is gone. */
	expect_quiet(_metadata, &self->tp);
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_ready(self->tp.ctl, 0, 0));
	/* A new mapping of a destroyed, still mapped object is refused. */
	EXPECT_EQ(MAP_FAILED, tp_map(self->tp.ofd, 1, 0));
	EXPECT_EQ(ENXIO, errno);
	munmap(p, NPAGES * PS);
}

/* 33: the manager dies: waiting and later faults get SIGBUS promptly. */
TEST(item33_manager_death)
{
	int sv[2], ofd, status, i;
	pid_t pager, waiting[3];
	unsigned char *p;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pager = fork();
	ASSERT_GE(pager, 0);
	if (pager == 0) {
		struct tpager tp;
		struct mempager_msg m;
		char c = 'R';

		if (tp_create(&tp, 8, 0600) || tp_send_fd(sv[1], tp.ofd))
			_exit(1);
		/* Answer init, supply page 0, then ignore everything. */
		if (tp_next(tp.mfd, &m, TP_TIMEOUT_MS) != 1)
			_exit(2);
		tp.ctl = mempager_msg_control(tp.mfd, &m);
		memory_object_ready(tp.ctl, 0, 0);
		tp_supply(&tp, 0, 1, 0);
		write(sv[1], &c, 1);
		for (;;)
			pause();
	}
	ofd = tp_recv_fd(sv[0]);
	ASSERT_GE(ofd, 0);
	p = tp_map(ofd, 8, 0);
	ASSERT_NE(MAP_FAILED, p);
	{
		char c;

		ASSERT_EQ(1, read(sv[0], &c, 1));
	}
	for (i = 0; i < 3; i++)
		waiting[i] = tp_touch_child(p + (1 + i) * PS, 0, 0);
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(0, kill(pager, SIGKILL));
	status = tp_wait(pager, TP_TIMEOUT_MS);
	ASSERT_TRUE(WIFSIGNALED(status));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(tp_sigbus(tp_wait(waiting[i], TP_TIMEOUT_MS)));
	/* Later faults on pages not resident fail at once. */
	EXPECT_TRUE(tp_sigbus(tp_wait(tp_touch_child(p + 5 * PS, 0, 0),
				      TP_TIMEOUT_MS)));
	/* The resident page is still there. */
	EXPECT_EQ(0, tp_check(p, 0, 1));
	/* A new mapping of an object without a manager is refused. */
	EXPECT_EQ(MAP_FAILED, tp_map(ofd, 1, 0));
	EXPECT_EQ(ENXIO, errno);
	munmap(p, 8 * PS);
	close(ofd);
}

/* 43: past the limit of outstanding requests, further faults wait. */
TEST_F(pager, item43_outstanding_limit)
{
	const char *param = "/sys/module/mempager/parameters/max_outstanding";
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct mempager_msg m;
	pid_t pids[6];
	char old[16] = "50";
	int fd, i, got = 0;
	ssize_t n;

	fd = open(param, O_RDWR);
	ASSERT_GE(fd, 0);
	n = read(fd, old, sizeof(old) - 1);
	ASSERT_GT(n, 0);
	old[n] = 0;
	ASSERT_EQ(2, pwrite(fd, "4\n", 2, 0));

	for (i = 0; i < 6; i++)
		pids[i] = tp_touch_child(p + i * PS, 0, 0);
	while (tp_next(self->tp.mfd, &m, got < 4 ? TP_TIMEOUT_MS : TP_QUIET_MS) == 1) {
		ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
		got++;
	}
	EXPECT_EQ(4, got);
	/* Answering one lets exactly one more through. */
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(self->tp.ctl,
						       m.request.offset, PS));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
	expect_quiet(_metadata, &self->tp);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(self->tp.ctl, 0,
						       NPAGES * PS));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(self->tp.ctl, 0,
						       NPAGES * PS));
	for (i = 0; i < 6; i++)
		EXPECT_TRUE(tp_exited_ok(tp_wait(pids[i], TP_TIMEOUT_MS)));
	pwrite(fd, old, strlen(old), 0);
	close(fd);
	munmap(p, NPAGES * PS);
}

/* 44: invalid arguments are rejected with a clear error and change nothing. */
TEST_F(pager, item44_invalid_arguments)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct mempager_data_supply ds = {
		.size = sizeof(ds), .object = self->tp.ctl.object,
		.control = self->tp.ctl.control, .length = PS,
	};
	memory_object_control_t bad = self->tp.ctl;
	char *buf = calloc(1, 2 * PS);
	struct tp_stats st;

	ds.data = (uintptr_t)buf;
	ds.lock_value = 8;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EINVAL, errno);
	ds.lock_value = 0;
	ds.flags = 1u << 7;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EINVAL, errno);
	ds.flags = 0;
	ds.length = PS / 2;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EINVAL, errno);
	ds.length = 0;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EINVAL, errno);
	ds.length = PS;
	ds.offset = 1;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EINVAL, errno);
	ds.offset = NPAGES * PS;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EOVERFLOW, errno);
	ds.offset = -PS;
	ds.length = 2 * PS;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EOVERFLOW, errno);
	ds.offset = 0;
	ds.length = PS;
	ds.data = 8;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	EXPECT_EQ(EFAULT, errno);

	bad.object += 100;
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_data_unavailable(bad, 0, PS));
	EXPECT_EQ(ENOENT, errno);
	bad = self->tp.ctl;
	bad.control ^= 0x1000;
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_data_supply(bad, 0, buf, PS,
							       0, 0, 0));
	EXPECT_EQ(KERN_INVALID_ARGUMENT,
		  memory_object_data_error(self->tp.ctl, 0, PS + 1, 0));
	{
		struct mempager_data_range dr = {
			.size = sizeof(dr), .object = self->tp.ctl.object,
			.control = self->tp.ctl.control, .length = PS,
			.reason = 3,
		};

		/* A reason only belongs to data_error. */
		EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_DATA_UNAVAILABLE, &dr));
		EXPECT_EQ(EINVAL, errno);
	}
	{
		struct mempager_attributes at = {
			.size = sizeof(at), .object = self->tp.ctl.object,
			.control = self->tp.ctl.control, .flags = MEMPAGER_REPLY,
		};

		/* ready takes no reply flag; change_attributes does. */
		EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_READY, &at));
		EXPECT_EQ(EINVAL, errno);
		at.flags = 0;
		at.__reserved = 1;
		EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_READY, &at));
		EXPECT_EQ(EINVAL, errno);
	}
	/* Nothing changed: no page resident, no message sent. */
	ASSERT_EQ(0, tp_stats(self->tp.name, &st));
	EXPECT_EQ(0, st.resident);
	EXPECT_EQ(0, st.supplied);
	expect_quiet(_metadata, &self->tp);
	free(buf);
	munmap(p, NPAGES * PS);
}

/* Object creation and mapping arguments. */
TEST(create_and_map_arguments)
{
	struct mempager_object_create oc = { .size = sizeof(oc) };
	int fd = mempager_open();
	struct tpager tp;
	void *p;

	ASSERT_GE(fd, 0);
	oc.object_size = 0;
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_OBJECT_CREATE, &oc));
	EXPECT_EQ(EINVAL, errno);
	oc.object_size = PS + 1;
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_OBJECT_CREATE, &oc));
	EXPECT_EQ(EINVAL, errno);
	oc.object_size = PS;
	oc.mode = 01777;
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_OBJECT_CREATE, &oc));
	EXPECT_EQ(EINVAL, errno);
	oc.mode = 0;
	oc.object_size = -PS;
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_OBJECT_CREATE, &oc));
	EXPECT_EQ(EOVERFLOW, errno);
	close(fd);

	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	/* A manager fd maps nothing itself. */
	p = mmap(NULL, PS, PROT_READ, MAP_SHARED, tp.mfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* ... and cannot be bound. */
	EXPECT_EQ(KERN_FAILURE, mempager_object_bind(tp.mfd, tp.ofd));
	EXPECT_EQ(EBUSY, errno);
	/* Binding something that is not an object fd. */
	fd = mempager_open();
	EXPECT_EQ(KERN_INVALID_NAME, mempager_object_bind(fd, 0));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(KERN_SUCCESS, mempager_object_bind(fd, tp.ofd));
	EXPECT_EQ(KERN_FAILURE, mempager_object_bind(fd, tp.ofd));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	/* Reading messages from a fd that manages nothing. */
	fd = mempager_open();
	{
		struct mempager_msg m;

		EXPECT_EQ(-1, read(fd, &m, sizeof(m)));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, read(tp.mfd, &m, sizeof(m) - 1));
		EXPECT_EQ(EINVAL, errno);
	}
	close(fd);
	tp_destroy(&tp);
}

/* Access past the end of the object is SIGBUS, without asking the pager. */
TEST_F(pager, out_of_range_is_sigbus)
{
	unsigned char *p;
	struct mempager_msg m;

	p = mmap(NULL, (NPAGES + 2) * PS, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->tp.ofd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0, 0));
	EXPECT_TRUE(tp_sigbus(tp_wait(tp_touch_child(p + NPAGES * PS, 0, 0),
				      TP_TIMEOUT_MS)));
	expect_quiet(_metadata, &self->tp);
	munmap(p, (NPAGES + 2) * PS);
}

/* Messages: several per read, seqnos strictly increasing, O_NONBLOCK, poll. */
TEST_F(pager, messages_batch_seqno_nonblock)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	struct mempager_msg m[8];
	struct pollfd pfd = { .fd = self->tp.mfd, .events = POLLIN };
	pid_t pids[4];
	int i, n, got = 0, fl;
	uint64_t last = 1;	/* init was seqno 1 */

	fl = fcntl(self->tp.mfd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->tp.mfd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->tp.mfd, m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	for (i = 0; i < 4; i++)
		pids[i] = tp_touch_child(p + i * PS, 0, 0);
	while (got < 4) {
		ASSERT_EQ(1, poll(&pfd, 1, TP_TIMEOUT_MS));
		n = read(self->tp.mfd, m, sizeof(m));
		ASSERT_GT(n, 0);
		ASSERT_EQ(0, n % sizeof(m[0]));
		for (i = 0; i < n / (int)sizeof(m[0]); i++) {
			EXPECT_EQ(MEMPAGER_MSG_DATA_REQUEST, m[i].type);
			EXPECT_EQ(last + 1, m[i].seqno);
			last = m[i].seqno;
			got++;
		}
	}
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(self->tp.ctl, 0,
						       4 * PS));
	for (i = 0; i < 4; i++)
		EXPECT_TRUE(tp_exited_ok(tp_wait(pids[i], TP_TIMEOUT_MS)));
	munmap(p, NPAGES * PS);
}

/* vm_region: the name of the object mapped at an address. */
TEST_F(pager, region_names_the_object)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	uint64_t name, start, end, off;
	int fd = mempager_open();

	ASSERT_EQ(KERN_SUCCESS, mempager_region(fd, p + 3 * PS, &name, &start,
						&end, &off));
	EXPECT_EQ(self->tp.name, name);
	EXPECT_EQ((uintptr_t)p, start);
	EXPECT_EQ((uintptr_t)p + NPAGES * PS, end);
	EXPECT_EQ(0, off);
	EXPECT_EQ(KERN_INVALID_NAME, mempager_region(fd, &name, &name, NULL,
						     NULL, NULL));
	close(fd);
	munmap(p, NPAGES * PS);
}

/* Object fds are capabilities: passed with SCM_RIGHTS they map the object. */
TEST_F(pager, object_fd_over_unix_socket)
{
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd = tp_recv_fd(sv[1]);
		unsigned char *q;

		q = fd < 0 ? MAP_FAILED : tp_map(fd, NPAGES, 0);
		if (q == MAP_FAILED)
			_exit(3);
		_exit(tp_check(q + 5 * PS, 5, 11) ? 1 : 0);
	}
	ASSERT_EQ(0, tp_send_fd(sv[0], self->tp.ofd));
	{
		struct mempager_msg m;

		ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
		ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
		self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
	}
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0, 0));
	expect_request(_metadata, &self->tp, 5, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 5, 11, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* Mapping through a bound /dev/mempager fd is the same as the object fd. */
TEST_F(pager, bind_then_map_device_fd)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 0);
	int fd = mempager_open();
	unsigned char *q;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 2, 5, 0));
	ASSERT_EQ(KERN_SUCCESS, mempager_object_bind(fd, self->tp.ofd));
	q = tp_map(fd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, tp_check(q + 2 * PS, 2, 5));
	/* Both mappings see the same page. */
	q[2 * PS] ^= 0xff;
	EXPECT_EQ(p[2 * PS], q[2 * PS]);
	expect_quiet(_metadata, &self->tp);
	munmap(q, NPAGES * PS);
	close(fd);
	munmap(p, NPAGES * PS);
}

/* An unrelated, unprivileged user reaches nothing it was not given. */
TEST_F(pager, unrelated_user_is_refused)
{
	struct tpager open_tp;
	pid_t pid;

	ASSERT_EQ(0, tp_create(&open_tp, 4, 0644));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd, ofd, rc = 0;
		struct mempager_msg m;
		void *q;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		fd = mempager_open();
		if (fd < 0)
			_exit(11);
		/* 0600 object of another user: no access at all. */
		if (mempager_object_open(fd, self->tp.name, 0, &ofd) !=
		    KERN_PROTECTION_FAILURE || errno != EACCES)
			rc |= 1;
		/* 0644: read-only, never writable. */
		if (mempager_object_open(fd, open_tp.name, 1, &ofd) !=
		    KERN_PROTECTION_FAILURE)
			rc |= 2;
		if (mempager_object_open(fd, open_tp.name, 0, &ofd))
			rc |= 4;
		q = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, ofd, 0);
		if (q != MAP_FAILED || errno != EACCES)
			rc |= 8;
		/* A bound read-only object is not writable through the device fd either. */
		if (mempager_object_bind(fd, ofd))
			rc |= 16;
		q = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (q != MAP_FAILED || errno != EACCES)
			rc |= 32;
		/* Nothing to manage, no messages to read. */
		if (memory_object_ready(self->tp.ctl, 0, 0) != KERN_INVALID_NAME)
			rc |= 64;
		if (read(fd, &m, sizeof(m)) != -1 || errno != EINVAL)
			rc |= 128;
		/* Names that do not exist. */
		if (mempager_object_open(fd, 1ULL << 40, 0, &ofd) != KERN_INVALID_NAME)
			rc |= 256;
		_exit(rc);
	}
	{
		int status = tp_wait(pid, TP_TIMEOUT_MS);

		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	tp_destroy(&open_tp);
}

/* The owner opens its own 0600 object by name. */
TEST_F(pager, owner_opens_by_name)
{
	int fd = mempager_open(), ofd;
	unsigned char *q;

	ASSERT_EQ(KERN_SUCCESS, mempager_object_open(fd, self->tp.name, 1, &ofd));
	q = tp_map(ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, q);
	munmap(q, NPAGES * PS);
	close(ofd);
	close(fd);
}

/* With objects alive the module cannot be unloaded. */
TEST_F(pager, module_pinned_by_objects)
{
	EXPECT_EQ(-1, syscall(SYS_delete_module, "mempager", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) TH_LOG("errno %d", errno);
}

/* Temporary memory: an mmap of /dev/mempager with nothing bound. */
TEST(temporary_memory_zero_filled_and_shared)
{
	int fd = mempager_open();
	unsigned char *p;
	pid_t pid;
	size_t i;

	ASSERT_GE(fd, 0);
	p = mmap(NULL, 8 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 8 * PS; i += 512)
		ASSERT_EQ(0, p[i]);
	p[PS] = 42;
	pid = fork();
	if (pid == 0) {
		p[2 * PS] = 7;
		_exit(p[PS] == 42 ? 0 : 1);
	}
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	EXPECT_EQ(7, p[2 * PS]);
	munmap(p, 8 * PS);
	close(fd);
}

/* A member of the object's group opens it as the group bits say. */
TEST(group_member_opens_by_name)
{
	struct tpager rw, ro;
	pid_t pid;
	int status;

	/* Made by root: the objects' group is 0. */
	ASSERT_EQ(0, tp_create(&rw, 4, 0660));
	ASSERT_EQ(0, tp_create(&ro, 4, 0640));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd, ofd, rc = 0;

		/* Another user in group 0, without capabilities. */
		if (setgroups(0, NULL) || setresgid(0, 0, 0) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = mempager_open();
		if (fd < 0)
			_exit(11);
		if (mempager_object_open(fd, rw.name, 1, &ofd))
			rc |= 1;
		if (mempager_object_open(fd, ro.name, 1, &ofd) !=
		    KERN_PROTECTION_FAILURE || errno != EACCES)
			rc |= 2;
		if (mempager_object_open(fd, ro.name, 0, &ofd))
			rc |= 4;
		_exit(rc);
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	tp_destroy(&rw);
	tp_destroy(&ro);
}

/* Destroying a cached object nothing maps: terminate, and its pages go. */
TEST_F(pager, destroy_of_a_cached_unmapped_object)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1);
	memory_object_control_t old;
	struct mempager_msg m;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 4, 0));
	munmap(p, NPAGES * PS);
	expect_quiet(_metadata, &self->tp);	/* cached: no terminate */
	old = self->tp.ctl;
	ASSERT_EQ(KERN_SUCCESS, memory_object_destroy(old, 0));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	EXPECT_EQ(old.control, m.control);
	expect_quiet(_metadata, &self->tp);	/* no data comes back */
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_ready(old, 1, 0));

	expect_new_incarnation(_metadata, &self->tp, old, 1);
}

/* RECEIVE into a buffer it cannot write: EFAULT, and the message stays. */
TEST_F(pager, receive_into_a_bad_buffer_keeps_the_message)
{
	unsigned char *p = map_ready(_metadata, &self->tp, 1);
	static unsigned char data[4096];
	struct mempager_msg m;
	struct mempager_receive r = {
		.size = sizeof(r), .msgs = (uintptr_t)&m, .msgs_max = 1,
		.data = 8, .data_size = PS,	/* not mapped */
	};

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 3, 1, 0));
	p[3 * PS] ^= 0xff;	/* dirty */
	ASSERT_EQ(0, tp_lock(&self->tp, 3, 1, MEMPAGER_RETURN_DIRTY, 1,
			     MEMPAGER_PROT_NO_CHANGE, 0));
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EFAULT, errno);
	r.data = (uintptr_t)data;
	r.msgs = 8;
	EXPECT_EQ(-1, ioctl(self->tp.mfd, MEMPAGER_RECEIVE, &r));
	EXPECT_EQ(EFAULT, errno);

	/* The data_return is still there, whole. */
	ASSERT_EQ(1, tp_recv(self->tp.mfd, &m, data, sizeof(data),
			     TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_DATA_RETURN, m.type);
	EXPECT_EQ(3 * PS, m.data_return.offset);
	EXPECT_EQ(PS, m.data_return.length);
	EXPECT_EQ(1, m.data_return.dirty);
	EXPECT_EQ((unsigned char)(tp_byte(3, 0, 1) ^ 0xff), data[0]);
	data[0] ^= 0xff;
	EXPECT_EQ(0, tp_check(data, 3, 1));
	munmap(p, NPAGES * PS);
}

/* An fd that serves objects cannot become the default manager. */
TEST_F(pager, default_manager_refused_on_a_bound_fd)
{
	struct mempager_default_manager dm = { .size = sizeof(dm) };
	int fd = mempager_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(KERN_SUCCESS, mempager_object_bind(fd, self->tp.ofd));
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm));
	EXPECT_EQ(EBUSY, errno);
	close(fd);	/* ends it, should it have been set */
}

/* Without a free descriptor, create fails with EMFILE and leaves nothing. */
TEST(create_without_a_free_descriptor)
{
	int fd = mempager_open(), ofd, dups[16], n = 0;
	struct rlimit old, rl;
	uint64_t name;
	uint32_t object;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	/* Take every descriptor below a limit just above this one. */
	rl = old;
	rl.rlim_cur = fd + 16;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	while (n < 16 && (dups[n] = dup(fd)) >= 0)
		n++;
	ASSERT_EQ(EMFILE, errno);
	ASSERT_LT(0, n);
	EXPECT_NE(KERN_SUCCESS, mempager_object_create(fd, 4 * PS, 0600,
						       &object, &ofd, &name));
	EXPECT_EQ(EMFILE, errno);
	/* With one descriptor free again it works. */
	close(dups[--n]);
	EXPECT_EQ(KERN_SUCCESS, mempager_object_create(fd, 4 * PS, 0600,
						       &object, &ofd, &name));
	close(ofd);
	while (n)
		close(dups[--n]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	close(fd);
}

TEST_HARNESS_MAIN
