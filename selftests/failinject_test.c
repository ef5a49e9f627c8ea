// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection through every ioctl and the fault path: the per-task
 * fail-nth file (failslab and fail_page_alloc, see
 * tools/testing/selftests/iommu/iommufd_fail_nth.c) fails the 1st, 2nd, ...
 * allocation of one call until the call no longer reaches the nth. Each
 * injected failure must give a clean errno (ENOMEM) or SIGBUS, leave no
 * object, fd or mapping behind, and the next call must work. The number of
 * injection sites walked is printed per call and in total.
 *
 * Needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and
 * FAULT_INJECTION_DEBUG_FS; skips without them.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

#define NP 8
/* Walk at most this many sites per call (fork has hundreds). */
#define CAP 400

static bool fi_ok;
static unsigned long *fi_total;	/* shared by the forked test processes */

static void __attribute__((constructor)) fi_init(void)
{
	fi_ok = hu_fi_setup();
	fi_total = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

typedef int (*fi_case)(struct __test_metadata *_metadata, int fi,
		       unsigned int nth);

/* Walk @fn's injection sites: nth = 1, 2, ... until nothing is injected. */
static void walk(struct __test_metadata *_metadata, const char *name,
		 fi_case fn, unsigned int cap)
{
	unsigned int nth;
	int fi, injected = 1;

	if (!fi_ok)
		SKIP(return, "no fault injection (needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS and debugfs)");
	fi = hu_fi_open();
	ASSERT_GE(fi, 0);
	hu_catch_signals();
	for (nth = 1; nth <= cap && injected; nth++) {
		injected = fn(_metadata, fi, nth);
		ASSERT_GE(injected, 0) TH_LOG("%s: fail-nth broken at %u", name, nth);
	}
	nth -= 1 + !injected;
	close(fi);
	__atomic_add_fetch(fi_total, nth, __ATOMIC_SEQ_CST);
	printf("# %s: %u injection sites walked%s\n", name, nth,
	       injected ? " (capped)" : "");
}

static int raw_create(int fd, size_t npages, unsigned int mode,
		      struct mempager_object_create *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->size = sizeof(*oc);
	oc->object_size = npages * PS;
	oc->mode = mode;
	return ioctl(fd, MEMPAGER_OBJECT_CREATE, oc);
}

/* Map @tp and make it ready (may_cache 0), answering init here. */
static unsigned char *setup_mapped(struct __test_metadata *_metadata,
				   struct tpager *tp)
{
	ASSERT_EQ(0, tp_create(tp, NP, 0600));
	return map_ready(_metadata, tp, 0);
}

static void teardown_mapped(struct __test_metadata *_metadata,
			    struct tpager *tp, unsigned char *p)
{
	munmap(p, NP * PS);
	tp_destroy(tp);
}

/* Nothing more is queued for @tp (without waiting: posts are synchronous). */
static int queue_empty(struct tpager *tp)
{
	struct mempager_msg m;

	return tp_next(tp->mfd, &m, 0) == 0;
}

/* ---- the device and object handles ---- */

static int c_open(struct __test_metadata *_metadata, int fi, unsigned int nth)
{
	int objs = hu_count_objects(), fds = hu_count_fds();
	struct mempager_object_create oc;
	int fd, err, inj;

	hu_fi_arm(fi, nth);
	fd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (fd < 0) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("open, nth %u", nth);
		EXPECT_EQ(fds, hu_count_fds());
		fd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	}
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, raw_create(fd, 1, 0600, &oc));
	close(oc.out_fd);
	close(fd);
	EXPECT_EQ(objs, hu_count_objects());
	return inj;
}

static int create_case(struct __test_metadata *_metadata, int fi,
		       unsigned int nth, int first)
{
	struct mempager_object_create oc, oc2;
	int mfd = mempager_open(), objs, fds, r, err, inj;

	ASSERT_GE(mfd, 0);
	if (!first)
		ASSERT_EQ(0, raw_create(mfd, 1, 0600, &oc2));
	objs = hu_count_objects();
	fds = hu_count_fds();
	hu_fi_arm(fi, nth);
	r = raw_create(mfd, NP, 0600, &oc);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("create, nth %u", nth);
		EXPECT_EQ(fds, hu_count_fds()) TH_LOG("create nth %u left an fd", nth);
		/* A failing call changes no state: no object left behind. */
		EXPECT_EQ(objs, hu_count_objects())
			TH_LOG("failed create (nth %u) left an object", nth);
		ASSERT_EQ(0, raw_create(mfd, NP, 0600, &oc));
	}
	/* The object works: map, init, ready, supply, read. */
	{
		struct tpager tp = { .mfd = mfd, .ofd = oc.out_fd,
				     .name = oc.out_name, .npages = NP };
		unsigned char *p;

		tp.ctl.fd = mfd;
		tp.ctl.object = oc.out_object;
		p = map_ready(_metadata, &tp, 0);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 1, 3, 0));
		EXPECT_EQ(0, tp_check(p + PS, 1, 3));
		munmap(p, NP * PS);
	}
	close(oc.out_fd);
	if (!first)
		close(oc2.out_fd);
	close(mfd);
	return inj;
}

static int c_create_first(struct __test_metadata *_metadata, int fi,
			  unsigned int nth)
{
	return create_case(_metadata, fi, nth, 1);
}

static int c_create_more(struct __test_metadata *_metadata, int fi,
			 unsigned int nth)
{
	return create_case(_metadata, fi, nth, 0);
}

static int c_object_open(struct __test_metadata *_metadata, int fi,
			 unsigned int nth)
{
	struct mempager_object_open oo = { .size = sizeof(oo),
					   .flags = MEMPAGER_OPEN_WRITE };
	struct tpager tp;
	int fd, fds, r, err, inj;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	fd = mempager_open();
	oo.name = tp.name;
	fds = hu_count_fds();
	hu_fi_arm(fi, nth);
	r = ioctl(fd, MEMPAGER_OBJECT_OPEN, &oo);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("object_open, nth %u", nth);
		EXPECT_EQ(fds, hu_count_fds());
		oo.out_fd = -1;
		ASSERT_EQ(0, ioctl(fd, MEMPAGER_OBJECT_OPEN, &oo));
	}
	EXPECT_EQ(0, mempager_object_bind(fd, oo.out_fd));
	close(oo.out_fd);
	close(fd);
	tp_destroy(&tp);
	return inj;
}

static int c_bind(struct __test_metadata *_metadata, int fi, unsigned int nth)
{
	struct mempager_object_bind ob = { .size = sizeof(ob) };
	struct tpager tp;
	int fd, r, err, inj;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	fd = mempager_open();
	ob.fd = tp.ofd;
	hu_fi_arm(fi, nth);
	r = ioctl(fd, MEMPAGER_OBJECT_BIND, &ob);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		ASSERT_EQ(0, ioctl(fd, MEMPAGER_OBJECT_BIND, &ob));
	}
	close(fd);
	tp_destroy(&tp);
	return inj;
}

/* ---- mmap ---- */

static int mmap_case(struct __test_metadata *_metadata, int fi,
		     unsigned int nth, int again)
{
	struct mempager_msg m;
	struct tp_stats st;
	struct tpager tp;
	unsigned char *p, *q = NULL;
	int err, inj, have_init = 0;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	if (again) {
		q = map_ready(_metadata, &tp, 1);
		have_init = 1;
	}
	hu_fi_arm(fi, nth);
	p = tp_map(tp.ofd, NP, 0);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (p == MAP_FAILED) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("mmap, nth %u", nth);
		ASSERT_EQ(0, tp_stats(tp.name, &st));
		EXPECT_EQ(again ? 1 : 0, st.maps)
			TH_LOG("failed mmap (nth %u) left a mapping counted", nth);
		p = tp_map(tp.ofd, NP, 0);
		ASSERT_NE(MAP_FAILED, p);
	}
	if (!have_init) {
		ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
		ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
		tp.ctl = mempager_msg_control(tp.mfd, &m);
		ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0, 0));
	}
	EXPECT_TRUE(queue_empty(&tp)) TH_LOG("mmap nth %u: stray message", nth);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 2, 9, 0));
	EXPECT_EQ(0, tp_check(p + 2 * PS, 2, 9));
	munmap(p, NP * PS);
	if (q)
		munmap(q, NP * PS);
	ASSERT_EQ(0, tp_stats(tp.name, &st));
	EXPECT_EQ(0, st.maps);
	tp_destroy(&tp);
	return inj;
}

static int c_mmap_first(struct __test_metadata *_metadata, int fi,
			unsigned int nth)
{
	return mmap_case(_metadata, fi, nth, 0);
}

static int c_mmap_again(struct __test_metadata *_metadata, int fi,
			unsigned int nth)
{
	return mmap_case(_metadata, fi, nth, 1);
}

static int c_mmap_temporary(struct __test_metadata *_metadata, int fi,
			    unsigned int nth)
{
	int fd = mempager_open(), objs = hu_count_objects(), err, inj;
	unsigned char *p, v = 1;

	hu_fi_arm(fi, nth);
	p = mmap(NULL, NP * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (p == MAP_FAILED) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("temporary mmap, nth %u", nth);
		EXPECT_EQ(objs, hu_count_objects());
		p = mmap(NULL, NP * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
	}
	EXPECT_EQ(0, hu_touch(p + PS, 0, 0, &v));
	EXPECT_EQ(0, v);
	munmap(p, NP * PS);
	close(fd);
	EXPECT_EQ(objs, hu_count_objects());
	return inj;
}

/* ---- manager calls ---- */

static int c_change_attributes(struct __test_metadata *_metadata, int fi,
			       unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct mempager_attributes a = {
		.size = sizeof(a), .flags = MEMPAGER_REPLY,
		.object = tp.ctl.object, .control = tp.ctl.control,
		.may_cache = 1, .copy_strategy = MEMPAGER_COPY_DELAY,
	};
	struct mempager_msg m;
	int r, err, inj;

	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_CHANGE_ATTRIBUTES, &a);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		EXPECT_TRUE(queue_empty(&tp));
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_CHANGE_ATTRIBUTES, &a));
	}
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_CHANGE_COMPLETED, m.type);
	EXPECT_EQ(1, m.change.may_cache);
	EXPECT_TRUE(queue_empty(&tp));
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

static int c_get_attributes(struct __test_metadata *_metadata, int fi,
			    unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct mempager_attributes a = {
		.size = sizeof(a), .object = tp.ctl.object,
		.control = tp.ctl.control,
	};
	int r, err, inj;

	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_GET_ATTRIBUTES, &a);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_GET_ATTRIBUTES, &a));
	}
	EXPECT_EQ(1, a.out_ready);
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

static int supply_raw(struct tpager *tp, size_t first, size_t n,
		      unsigned int seed, int reply)
{
	unsigned char *buf = malloc(n * PS);
	struct mempager_data_supply ds = {
		.size = sizeof(ds), .flags = reply ? MEMPAGER_REPLY : 0,
		.object = tp->ctl.object, .control = tp->ctl.control,
		.offset = first * PS, .length = n * PS,
		.data = (uintptr_t)buf,
	};
	size_t i;
	int r, err;

	for (i = 0; i < n; i++)
		tp_fill(buf + i * PS, first + i, seed);
	r = ioctl(tp->mfd, MEMPAGER_DATA_SUPPLY, &ds);
	err = errno;
	free(buf);
	errno = err;
	return r;
}

static int c_supply_one(struct __test_metadata *_metadata, int fi,
			unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	unsigned char *buf = malloc(PS);
	struct mempager_data_supply ds = {
		.size = sizeof(ds), .flags = MEMPAGER_REPLY,
		.object = tp.ctl.object, .control = tp.ctl.control,
		.offset = 3 * PS, .length = PS, .data = (uintptr_t)buf,
	};
	struct mempager_msg m;
	int r, err, inj;

	tp_fill(buf, 3, 4);
	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_DATA_SUPPLY, &ds);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("supply, nth %u", nth);
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_DATA_SUPPLY, &ds));
	}
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_SUPPLY_COMPLETED, m.type);
	EXPECT_TRUE(m.supply.result == MEMPAGER_KERN_SUCCESS ||
		    (r && m.supply.result == MEMPAGER_KERN_MEMORY_PRESENT));
	EXPECT_TRUE(queue_empty(&tp));
	EXPECT_EQ(0, tp_check(p + 3 * PS, 3, 4));
	free(buf);
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

#define NB (TP_SUPPLY_BATCH + 4)

/* Two batches (TP_SUPPLY_BATCH + 4 pages) while a fault waits on the second. */
static int c_supply_batches(struct __test_metadata *_metadata, int fi,
			    unsigned int nth)
{
	struct tpager tp;
	unsigned char *p;
	int r, err, inj, i;
	pid_t child;

	ASSERT_EQ(0, tp_create(&tp, NB, 0600));
	p = map_ready(_metadata, &tp, 0);
	child = tp_touch_child(p + (NB - 2) * PS, 0, tp_byte(NB - 2, 0, 6));
	expect_request(_metadata, &tp, NB - 2, VM_PROT_READ);
	{
		unsigned char *buf = malloc(NB * PS);
		struct mempager_data_supply ds = {
			.size = sizeof(ds), .object = tp.ctl.object,
			.control = tp.ctl.control, .length = NB * PS,
			.data = (uintptr_t)buf,
		};

		for (i = 0; i < NB; i++)
			tp_fill(buf + i * PS, i, 6);
		hu_fi_arm(fi, nth);
		r = ioctl(tp.mfd, MEMPAGER_DATA_SUPPLY, &ds);
		err = errno;
		inj = hu_fi_disarm(fi);
		free(buf);
	}
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("supply batches, nth %u", nth);
		/* The pager supplies again what is not resident. */
		for (i = 0; i < NB; i++) {
			r = supply_raw(&tp, i, 1, 6, 0);
			EXPECT_EQ(0, r);
		}
	}
	EXPECT_TRUE(tp_exited_ok(tp_wait(child, TP_TIMEOUT_MS)))
		TH_LOG("waiting fault after failed supply, nth %u", nth);
	for (i = 0; i < NB; i++)
		EXPECT_EQ(0, tp_check(p + i * PS, i, 6));
	munmap(p, NB * PS);
	tp_destroy(&tp);
	return inj;
}
#undef NB

static int range_case(struct __test_metadata *_metadata, int fi,
		      unsigned int nth, int error)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct mempager_data_range dr = {
		.size = sizeof(dr), .object = tp.ctl.object,
		.control = tp.ctl.control, .offset = 2 * PS, .length = PS,
	};
	int r, err, inj, status;
	pid_t child = tp_touch_child(p + 2 * PS, 0, 0);

	expect_request(_metadata, &tp, 2, VM_PROT_READ);
	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, error ? MEMPAGER_DATA_ERROR : MEMPAGER_DATA_UNAVAILABLE,
		  &dr);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("data range, nth %u", nth);
		ASSERT_EQ(0, ioctl(tp.mfd, error ? MEMPAGER_DATA_ERROR :
				   MEMPAGER_DATA_UNAVAILABLE, &dr));
	}
	status = tp_wait(child, TP_TIMEOUT_MS);
	if (error) {
		EXPECT_TRUE(tp_sigbus(status));
	} else {
		EXPECT_TRUE(tp_exited_ok(status));
	}
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

static int c_unavailable(struct __test_metadata *_metadata, int fi,
			 unsigned int nth)
{
	return range_case(_metadata, fi, nth, 0);
}

static int c_error(struct __test_metadata *_metadata, int fi,
		   unsigned int nth)
{
	return range_case(_metadata, fi, nth, 1);
}

static int c_destroy(struct __test_metadata *_metadata, int fi,
		     unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct mempager_destroy d = {
		.size = sizeof(d), .object = tp.ctl.object,
		.control = tp.ctl.control,
	};
	struct mempager_msg m;
	int r, err, inj;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 0, 2, 0));
	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_DESTROY, &d);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_DESTROY, &d));
	}
	/* The manager is told, whatever failed on the way. */
	m.type = 0;
	EXPECT_EQ(1, tp_next(tp.mfd, &m, 2000))
		TH_LOG("destroy (nth %u) succeeded but sent no terminate", nth);
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	{
		unsigned char v = 0;
		int sig = hu_touch(p, 0, 0, &v);

		EXPECT_EQ(0, sig) TH_LOG("resident page after destroy (nth %u)", nth);
		EXPECT_EQ(tp_byte(0, 0, 2), v);
		sig = hu_touch(p + PS, 0, 0, NULL);
		EXPECT_EQ(SIGBUS, sig) TH_LOG("absent page after destroy (nth %u)", nth);
	}
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

/* Dirty pages 0..3 of a mapped, ready object; page i holds seed 20 + i. */
static void dirty4(struct __test_metadata *_metadata, struct tpager *tp,
		   unsigned char *p)
{
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(KERN_SUCCESS, tp_supply(tp, i, 1, 0));
		tp_fill(p + i * PS, i, 20 + i);
	}
}

/* Take messages until @until (or time-out): mark returned pages' data. */
static int drain_returns(struct __test_metadata *_metadata, struct tpager *tp,
			 int *got, unsigned int until, int timeout)
{
	unsigned char *data = malloc(16 * PS);
	struct mempager_msg m;
	int seen = 0;

	while (tp_recv(tp->mfd, &m, data, 16 * PS, timeout) == 1) {
		if (m.type == MEMPAGER_MSG_DATA_RETURN) {
			size_t i, first = m.data_return.offset / PS;

			for (i = 0; i < m.data_return.length / PS; i++) {
				if (first + i >= 4)
					continue;
				EXPECT_EQ(0, tp_check(data + i * PS, first + i,
						      20 + first + i));
				got[first + i]++;
			}
		} else if (m.type == until) {
			seen = 1;
			break;
		}
	}
	free(data);
	return seen;
}

static int lock_case(struct __test_metadata *_metadata, int fi,
		     unsigned int nth, int flush)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	int got[4] = { 0 }, r, err, inj, i;

	dirty4(_metadata, &tp, p);
	hu_fi_arm(fi, nth);
	r = tp_lock(&tp, 0, 4, MEMPAGER_RETURN_DIRTY, flush,
		    MEMPAGER_PROT_NO_CHANGE, 1);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err) TH_LOG("lock_request, nth %u", nth);
		drain_returns(_metadata, &tp, got, 0, 0);
		ASSERT_EQ(0, tp_lock(&tp, 0, 4, MEMPAGER_RETURN_DIRTY, flush,
				     MEMPAGER_PROT_NO_CHANGE, 1));
	}
	EXPECT_TRUE(drain_returns(_metadata, &tp, got, MEMPAGER_MSG_LOCK_COMPLETED,
				  TP_TIMEOUT_MS));
	/* Every dirty page came back, exactly once, whatever failed. */
	for (i = 0; i < 4; i++) {
		int g = got[i];

		EXPECT_EQ(1, g) TH_LOG("page %d returned %d times (nth %u)",
				       i, g, nth);
	}
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

static int c_lock_return(struct __test_metadata *_metadata, int fi,
			 unsigned int nth)
{
	return lock_case(_metadata, fi, nth, 0);
}

static int c_lock_return_flush(struct __test_metadata *_metadata, int fi,
			       unsigned int nth)
{
	return lock_case(_metadata, fi, nth, 1);
}

static int c_receive(struct __test_metadata *_metadata, int fi,
		     unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	unsigned char *data = malloc(16 * PS);
	struct mempager_msg m[8];
	struct mempager_receive rv = {
		.size = sizeof(rv), .msgs = (uintptr_t)m, .msgs_max = 8,
		.data = (uintptr_t)data, .data_size = 16 * PS,
	};
	int r, err, inj;

	memset(data, 0, 16 * PS);
	dirty4(_metadata, &tp, p);
	ASSERT_EQ(0, tp_lock(&tp, 0, 4, MEMPAGER_RETURN_DIRTY, 0,
			     MEMPAGER_PROT_NO_CHANGE, 1));
	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_RECEIVE, &rv);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		rv.out_msgs = rv.out_data = 0;
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_RECEIVE, &rv));
	}
	EXPECT_EQ(2, rv.out_msgs);
	EXPECT_EQ(4 * PS, rv.out_data);
	EXPECT_EQ(0, tp_check(data + 2 * PS, 2, 22));
	teardown_mapped(_metadata, &tp, p);
	free(data);
	return inj;
}

static int c_read(struct __test_metadata *_metadata, int fi, unsigned int nth)
{
	struct tpager tp;
	struct mempager_msg m[4];
	unsigned char *p;
	ssize_t n;
	int err, inj;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	p = tp_map(tp.ofd, NP, 0);
	ASSERT_NE(MAP_FAILED, p);
	hu_fi_arm(fi, nth);
	n = read(tp.mfd, m, sizeof(m));
	err = errno;
	inj = hu_fi_disarm(fi);
	if (n < 0) {
		EXPECT_EQ(ENOMEM, err);
		n = read(tp.mfd, m, sizeof(m));
	}
	EXPECT_EQ(sizeof(m[0]), n);
	EXPECT_EQ(MEMPAGER_MSG_INIT, m[0].type);
	munmap(p, NP * PS);
	tp_destroy(&tp);
	return inj;
}

static int c_region(struct __test_metadata *_metadata, int fi,
		    unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct mempager_region rg = { .size = sizeof(rg),
				      .addr = (uintptr_t)p + PS };
	int r, err, inj;

	hu_fi_arm(fi, nth);
	r = ioctl(tp.mfd, MEMPAGER_REGION, &rg);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		ASSERT_EQ(0, ioctl(tp.mfd, MEMPAGER_REGION, &rg));
	}
	EXPECT_EQ(tp.name, rg.out_name);
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

/* ---- the fault path, with a pager thread answering ---- */

static int fault_case(struct __test_metadata *_metadata, int fi,
		      unsigned int nth, int locked)
{
	struct hu_server s;
	struct tpager tp;
	struct tp_stats st;
	unsigned char *p, v = 0;
	int sig, inj, i;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	ASSERT_EQ(0, hu_server_start(&s, &tp, 0, 5));
	p = tp_map(tp.ofd, NP, 0);
	ASSERT_NE(MAP_FAILED, p);
	if (locked) {
		/* Resident and readable, but writing needs a data_unlock. */
		ASSERT_EQ(0, hu_touch(p + 4 * PS, 0, 0, &v));
		ASSERT_EQ(0, tp_lock(&tp, 4, 1, MEMPAGER_RETURN_NONE, 0,
				     VM_PROT_WRITE, 0));
	}
	hu_fi_arm(fi, nth);
	sig = hu_touch(p + 4 * PS, locked, 0x5a, &v);
	inj = hu_fi_disarm(fi);
	EXPECT_TRUE(sig == 0 || sig == SIGBUS)
		TH_LOG("fault, nth %u: signal %d", nth, sig);
	if (!sig) {
		EXPECT_EQ(locked ? 0x5a : tp_byte(4, 0, 5), v);
	}
	/* The next access works. */
	EXPECT_EQ(0, hu_touch(p + 4 * PS, locked, 0x5a, &v))
		TH_LOG("fault after injection at nth %u", nth);
	EXPECT_EQ(locked ? 0x5a : tp_byte(4, 0, 5), v);
	/* No request left outstanding for nothing. */
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, tp_stats(tp.name, &st));
		if (!st.outstanding)
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, st.outstanding);
	munmap(p, NP * PS);
	hu_server_stop(&s);
	tp_destroy(&tp);
	return inj;
}

static int c_fault_read(struct __test_metadata *_metadata, int fi,
			unsigned int nth)
{
	return fault_case(_metadata, fi, nth, 0);
}

static int c_fault_unlock(struct __test_metadata *_metadata, int fi,
			  unsigned int nth)
{
	return fault_case(_metadata, fi, nth, 1);
}

static int c_fault_temporary(struct __test_metadata *_metadata, int fi,
			     unsigned int nth)
{
	int fd = mempager_open(), sig, inj;
	unsigned char *p, v = 1;

	p = mmap(NULL, NP * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hu_fi_arm(fi, nth);
	sig = hu_touch(p + PS, 1, 7, &v);
	inj = hu_fi_disarm(fi);
	EXPECT_TRUE(sig == 0 || sig == SIGBUS) TH_LOG("signal %d", sig);
	EXPECT_EQ(0, hu_touch(p + PS, 1, 7, &v));
	EXPECT_EQ(7, v);
	munmap(p, NP * PS);
	close(fd);
	return inj;
}

static int c_msync(struct __test_metadata *_metadata, int fi,
		   unsigned int nth)
{
	struct hu_server s;
	struct tpager tp;
	unsigned char *p;
	int r, err, inj;

	ASSERT_EQ(0, tp_create(&tp, NP, 0600));
	ASSERT_EQ(0, hu_server_start(&s, &tp, 0, 5));
	s.shadow = calloc(NP, PS);
	p = tp_map(tp.ofd, NP, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, hu_touch(p + 3 * PS, 1, 0x77, NULL));
	hu_fi_arm(fi, nth);
	r = msync(p, NP * PS, MS_SYNC);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_TRUE(err == ENOMEM || err == EIO) TH_LOG("msync errno %d", err);
		ASSERT_EQ(0, msync(p, NP * PS, MS_SYNC));
	}
	/* The dirty page reached the pager. */
	EXPECT_EQ(0x77, s.shadow[3 * PS]);
	munmap(p, NP * PS);
	hu_server_stop(&s);
	free(s.shadow);
	tp_destroy(&tp);
	return inj;
}

/* The last unmap terminates: dirty pages must still come back. */
static int c_unmap_terminate(struct __test_metadata *_metadata, int fi,
			     unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	int got[4] = { 0 }, r, err, inj, i;

	dirty4(_metadata, &tp, p);
	hu_fi_arm(fi, nth);
	r = munmap(p, NP * PS);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (r) {
		EXPECT_EQ(ENOMEM, err);
		ASSERT_EQ(0, munmap(p, NP * PS));
	}
	EXPECT_TRUE(drain_returns(_metadata, &tp, got, MEMPAGER_MSG_TERMINATE,
				  TP_TIMEOUT_MS))
		TH_LOG("no terminate after unmap (nth %u)", nth);
	for (i = 0; i < 4; i++) {
		int g = got[i];

		EXPECT_EQ(1, g)
			TH_LOG("dirty page %d returned %d times at terminate (nth %u)",
			       i, g, nth);
	}
	tp_destroy(&tp);
	return inj;
}

static int c_fork(struct __test_metadata *_metadata, int fi, unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	struct tp_stats st;
	int err, inj, status;
	pid_t pid;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 1, 8, 0));
	hu_fi_arm(fi, nth);
	pid = fork();
	if (pid == 0)
		_exit(tp_check(p + PS, 1, 8) ? 1 : 0);
	err = errno;
	inj = hu_fi_disarm(fi);
	if (pid < 0) {
		EXPECT_TRUE(err == ENOMEM || err == EAGAIN) TH_LOG("fork errno %d", err);
	} else {
		status = tp_wait(pid, TP_TIMEOUT_MS);
		EXPECT_TRUE(tp_exited_ok(status));
	}
	ASSERT_EQ(0, tp_stats(tp.name, &st));
	EXPECT_EQ(1, st.maps) TH_LOG("maps %lu after fork (nth %u)", st.maps, nth);
	teardown_mapped(_metadata, &tp, p);
	return inj;
}

/* Closing the manager fd with a mapping and a waiting fault. */
static int c_close_manager(struct __test_metadata *_metadata, int fi,
			   unsigned int nth)
{
	struct tpager tp;
	unsigned char *p = setup_mapped(_metadata, &tp);
	pid_t child;
	int inj;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 0, 8, 0));
	/* The child must not hold the manager fd: closing it is the death. */
	child = fork();
	if (child == 0) {
		close(tp.mfd);
		_exit(p[5 * PS] == 0 ? 0 : 1);
	}
	expect_request(_metadata, &tp, 5, VM_PROT_READ);
	hu_fi_arm(fi, nth);
	close(tp.mfd);
	inj = hu_fi_disarm(fi);
	tp.mfd = -1;
	EXPECT_TRUE(tp_sigbus(tp_wait(child, TP_TIMEOUT_MS)));
	EXPECT_EQ(0, tp_check(p, 0, 8));
	munmap(p, NP * PS);
	tp_destroy(&tp);
	return inj;
}

FIXTURE(fi) {
	int unused;
};

FIXTURE_SETUP(fi)
{
}

FIXTURE_TEARDOWN(fi)
{
}

#define WALK(name, cap)						\
	TEST_F_TIMEOUT(fi, name, 300)				\
	{							\
		walk(_metadata, #name, c_##name, cap);		\
	}

WALK(open, CAP)
WALK(create_first, CAP)
WALK(create_more, CAP)
WALK(object_open, CAP)
WALK(bind, CAP)
WALK(mmap_first, CAP)
WALK(mmap_again, CAP)
WALK(mmap_temporary, CAP)
WALK(change_attributes, CAP)
WALK(get_attributes, CAP)
WALK(supply_one, CAP)
WALK(supply_batches, CAP)
WALK(unavailable, CAP)
WALK(error, CAP)
WALK(destroy, CAP)
WALK(lock_return, CAP)
WALK(lock_return_flush, CAP)
WALK(receive, CAP)
WALK(read, CAP)
WALK(region, CAP)
WALK(fault_read, CAP)
WALK(fault_unlock, CAP)
WALK(fault_temporary, CAP)
WALK(msync, CAP)
WALK(unmap_terminate, CAP)
WALK(close_manager, CAP)
WALK(fork, 150)

TEST_F(fi, zz_total)
{
	if (!fi_ok)
		SKIP(return, "no fault injection in this kernel");
	printf("# fault injection: %lu injection sites walked in total\n",
	       *fi_total);
	EXPECT_LT(0, *fi_total);
}

TEST_HARNESS_MAIN
