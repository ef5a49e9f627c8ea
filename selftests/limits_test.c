// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege and resource limits.
 *
 * Privilege (beyond paging_test's unrelated_user_is_refused and
 * object_fd_over_unix_socket): another uid can neither read an object's
 * messages nor manage it even when it may map it; object fds passed with
 * SCM_RIGHTS across users are capabilities with exactly the access they
 * carry; a manager fd passed on makes the receiver the manager; module
 * parameters and debugfs stay root's.
 *
 * Limits: requests queued per manager stay bounded (max_outstanding per
 * object) while the pager reads nothing; unread data_returns stay bounded
 * (max_queued_pages) whoever causes them; objects per user are bounded
 * (max_objects_per_user, proposed); page cache memory is charged to the
 * memory cgroup of the process that faults it.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

#define NOBODY 65534
#define OTHER 65533

/* Run @fn in a child as uid/gid @uid; its exit status (0: all good). */
static int as_user(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (hu_become(uid, uid))
			_exit(100);
		_exit(fn(arg));
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

/* ---- privilege ---- */

struct peek {
	struct tpager *tp;
	void *root_addr;
};

/* A 0666 object: another user may map it, but never read its messages. */
static int peek_fn(void *arg)
{
	struct peek *pk = arg;
	struct mempager_region rg = { .size = sizeof(rg),
				      .addr = (uintptr_t)pk->root_addr };
	struct mempager_receive rv = { .size = sizeof(rv), .msgs_max = 1 };
	struct mempager_msg m;
	int fd = mempager_open(), ofd, rc = 0, pfd;
	uint32_t handle;
	char path[64];
	unsigned char *q;

	rv.msgs = (uintptr_t)&m;
	if (fd < 0)
		return 99;
	/* Nothing inherited: only what this user may open itself. */
	close(pk->tp->mfd);
	if (mempager_object_open(fd, pk->tp->name, 1, &ofd))
		return 98;
	q = tp_map(ofd, 1, 0);
	if (q == MAP_FAILED)
		rc |= 1;
	/* The object fd has no messages, no ioctls. */
	if (read(ofd, &m, sizeof(m)) != -1)
		rc |= 2;
	if (ioctl(ofd, MEMPAGER_RECEIVE, &rv) != -1 || errno != ENOTTY)
		rc |= 4;
	/* A device fd of one's own holds nobody else's messages. */
	if (ioctl(fd, MEMPAGER_RECEIVE, &rv) != -1 || errno != EINVAL)
		rc |= 8;
	/* Become a manager of one's own: the other object's handle and
	 * control name nothing here. */
	if (mempager_object_create(fd, PS, 0600, &handle, NULL, NULL))
		rc |= 16;
	{
		memory_object_control_t c = pk->tp->ctl;

		c.fd = fd;
		if (memory_object_ready(c, 1, 0) != KERN_INVALID_NAME)
			rc |= 32;
		if (memory_object_data_unavailable(c, 0, PS) != KERN_INVALID_NAME ||
		    memory_object_destroy(c, 0) != KERN_INVALID_NAME)
			rc |= 64;
	}
	pfd = open("/dev/null", O_RDONLY);
	if (mempager_object_bind(fd, pfd) == KERN_SUCCESS)
		rc |= 128;
	/* The root process's mapping is not ours to name. */
	if (ioctl(fd, MEMPAGER_REGION, &rg) != -1 || errno != ENOENT)
		rc |= 256;
	/* No reopening the owner's object fd through /proc. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getppid(), pk->tp->ofd);
	if (open(path, O_RDWR) >= 0)
		rc |= 512;
	/* Root's knobs and counters. */
	if (hu_param_set("max_outstanding", 1) == 0)
		rc |= 1024;
	if (open(HU_OBJECTS, O_RDONLY) >= 0)
		rc |= 2048;
	return rc;
}

TEST(other_user_maps_but_cannot_read_or_manage)
{
	struct tpager tp;
	struct peek pk = { .tp = &tp };
	unsigned char *p;
	long long mo = hu_param_get("max_outstanding");
	int rc;

	ASSERT_EQ(0, tp_create(&tp, 4, 0666));
	p = map_ready(_metadata, &tp, 1);
	pk.root_addr = p;
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 0, 1, 0));
	rc = as_user(NOBODY, peek_fn, &pk);
	EXPECT_EQ(0, rc) TH_LOG("refusals that failed: mask %#x", rc);
	/* Nothing changed for the real manager. */
	expect_quiet(_metadata, &tp);
	EXPECT_EQ(0, tp_check(p, 0, 1));
	EXPECT_EQ(mo, hu_param_get("max_outstanding"));
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

/* Receive a writable and a read-only object fd and use them. */
static int caps_fn(void *arg)
{
	int sock = *(int *)arg, rw, ro, fd, rc = 0;
	unsigned char *q;

	rw = tp_recv_fd(sock);
	ro = tp_recv_fd(sock);
	if (rw < 0 || ro < 0)
		return 99;
	/* The writable capability: read the data, write to it. */
	q = tp_map(rw, 4, 0);
	if (q == MAP_FAILED)
		return 98;
	if (tp_check(q + PS, 1, 7))
		rc |= 1;
	q[PS] = 0xab;
	/* The read-only one: never writable, however it is asked. */
	if (mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) != MAP_FAILED)
		rc |= 2;
	fd = mempager_open();
	if (mempager_object_bind(fd, ro))
		rc |= 4;
	q = mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, fd, 0);
	if (q == MAP_FAILED)
		rc |= 8;
	else if (!mprotect(q, 4 * PS, PROT_READ | PROT_WRITE) || errno != EACCES)
		rc |= 16;
	else if (q[PS] != 0xab)
		rc |= 32;
	if (mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED)
		rc |= 64;
	return rc;
}

TEST(object_fds_are_capabilities_across_users)
{
	struct mempager_object_open oo = { .size = sizeof(oo) };
	struct tpager tp;
	unsigned char *p;
	int sv[2], rc, dfd;

	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	p = map_ready(_metadata, &tp, 1);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 1, 7, 0));
	/* A read-only object fd (root may open its own 0600 object). */
	dfd = mempager_open();
	oo.name = tp.name;
	ASSERT_EQ(0, ioctl(dfd, MEMPAGER_OBJECT_OPEN, &oo));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, tp_send_fd(sv[0], tp.ofd));
	ASSERT_EQ(0, tp_send_fd(sv[0], oo.out_fd));
	rc = as_user(NOBODY, caps_fn, &sv[1]);
	EXPECT_EQ(0, rc) TH_LOG("capability checks that failed: mask %#x", rc);
	/* The other user's write reached the object. */
	EXPECT_EQ(0xab, p[PS]);
	expect_quiet(_metadata, &tp);
	close(oo.out_fd);
	close(dfd);
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

/* Receive a manager fd: serve init and one request, then exit. */
static int manager_fn(void *arg)
{
	int sock = *(int *)arg, mfd, n = 0;
	struct mempager_msg m;
	struct tpager tp = { .npages = 4 };
	char c = 'M';

	mfd = tp_recv_fd(sock);
	if (mfd < 0)
		return 99;
	tp.mfd = tp.ctl.fd = mfd;
	if (write(sock, &c, 1) != 1)
		return 98;
	while (n < 2 && tp_next(mfd, &m, TP_TIMEOUT_MS) == 1) {
		tp.ctl = mempager_msg_control(mfd, &m);
		if (m.type == MEMPAGER_MSG_INIT) {
			if (memory_object_ready(tp.ctl, 0, 0))
				return 1;
			n++;
		} else if (m.type == MEMPAGER_MSG_DATA_REQUEST) {
			if (tp_supply(&tp, m.request.offset / PS, 9, 0))
				return 2;
			n++;
		}
	}
	return n == 2 ? 0 : 3;
}

TEST(manager_fd_passed_makes_the_receiver_the_manager)
{
	struct tpager tp;
	unsigned char *p;
	int sv[2], rc;
	pid_t child;
	char c;

	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(tp.mfd);
		close(tp.ofd);
		if (hu_become(NOBODY, NOBODY))
			_exit(100);
		_exit(manager_fn(&sv[1]));
	}
	ASSERT_EQ(0, tp_send_fd(sv[0], tp.mfd));
	ASSERT_EQ(1, read(sv[0], &c, 1));
	/* Our copy goes: the receiver alone is the manager now. */
	close(tp.mfd);
	tp.mfd = -1;
	p = tp_map(tp.ofd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, tp_check(p + 2 * PS, 2, 9));
	rc = tp_wait(child, TP_TIMEOUT_MS);
	EXPECT_TRUE(tp_exited_ok(rc)) TH_LOG("manager child: %d", rc);
	/* It exited: the manager is dead, absent pages fail. */
	EXPECT_TRUE(tp_sigbus(tp_wait(tp_touch_child(p + 3 * PS, 0, 0),
				      TP_TIMEOUT_MS)));
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

/* ---- limits ---- */

/*
 * A pager that reads nothing: however many faults come, each object has
 * at most max_outstanding requests queued.
 */
TEST(requests_per_manager_stay_bounded)
{
	long long old = hu_param_get("max_outstanding");
	struct tpager tp[3];
	struct mempager_msg m;
	unsigned char *p[3];
	pid_t pids[3][8];
	int i, j, reqs = 0, others = 0;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, hu_param_set("max_outstanding", 3));
	/* Three objects on one manager fd. */
	ASSERT_EQ(0, tp_create(&tp[0], 8, 0600));
	for (i = 1; i < 3; i++) {
		tp[i] = tp[0];
		ASSERT_EQ(KERN_SUCCESS, mempager_object_create(tp[0].mfd, 8 * PS,
			0600, &tp[i].ctl.object, &tp[i].ofd, &tp[i].name));
	}
	for (i = 0; i < 3; i++)
		p[i] = map_ready(_metadata, &tp[i], 0);
	for (i = 0; i < 3; i++)
		for (j = 0; j < 8; j++)
			pids[i][j] = tp_touch_child(p[i] + j * PS, 0, 0);
	usleep(4 * TP_QUIET_MS * 1000);
	while (tp_next(tp[0].mfd, &m, TP_QUIET_MS) == 1) {
		if (m.type == MEMPAGER_MSG_DATA_REQUEST)
			reqs++;
		else
			others++;
	}
	EXPECT_EQ(9, reqs) TH_LOG("%d requests queued for 24 faults", reqs);
	EXPECT_EQ(0, others);
	/* Answering everything lets every fault finish. */
	for (j = 0; j < 8; j++) {
		for (i = 0; i < 3; i++)
			memory_object_data_unavailable(tp[i].ctl, 0, 8 * PS);
		while (tp_next(tp[0].mfd, &m, 200) == 1)
			;
	}
	for (i = 0; i < 3; i++)
		for (j = 0; j < 8; j++)
			EXPECT_TRUE(tp_exited_ok(tp_wait(pids[i][j], TP_TIMEOUT_MS)));
	hu_param_set("max_outstanding", old);
	for (i = 0; i < 3; i++) {
		munmap(p[i], 8 * PS);
		close(tp[i].ofd);
	}
	close(tp[0].mfd);
}

struct syncer {
	unsigned char *p;
	volatile int done;
};

static void *sync_fn(void *arg)
{
	struct syncer *s = arg;
	size_t i;

	for (i = 0; i < 8; i++)
		s->p[i * PS] ^= 1;	/* dirty again */
	msync(s->p, 8 * PS, MS_SYNC);
	s->done = 1;
	return NULL;
}

/*
 * Clients that msync an object whose pager reads nothing: the kernel
 * copies of the dirty pages (data_return, kernel_copy) pile up in the
 * manager's queue. They must stay bounded by max_queued_pages (plus one
 * message of 16 pages), like the faults that mp_manager_congested()
 * throttles; the clients wait instead.
 */
TEST(unread_data_returns_stay_bounded)
{
	long long old = hu_param_get("max_queued_pages");
	unsigned char *data = malloc(64 * PS);
	struct syncer s[8];
	pthread_t th[8];
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p;
	unsigned long pages = 0;
	int i, syncs = 0;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, hu_param_set("max_queued_pages", 8));
	ASSERT_EQ(0, tp_create(&tp, 8, 0600));
	p = map_ready(_metadata, &tp, 0);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, i, 1, 0));
	for (i = 0; i < 8; i++) {
		s[i].p = p;
		s[i].done = 0;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, sync_fn, &s[i]));
		usleep(100000);
	}
	usleep(4 * TP_QUIET_MS * 1000);
	/* Now read what piled up. */
	while (tp_recv(tp.mfd, &m, data, 64 * PS, 0) == 1) {
		if (m.type == MEMPAGER_MSG_DATA_RETURN) {
			pages += m.data_return.length / PS;
		} else if (m.type == MEMPAGER_MSG_SYNCHRONIZE) {
			syncs++;
			memory_object_synchronize_completed(tp.ctl,
				m.range.offset, m.range.length);
		}
	}
	EXPECT_GE(8 + 16, pages)
		TH_LOG("%lu pages of data_return queued unread (max_queued_pages 8), %d msyncs",
		       pages, syncs);
	/* Let every msync finish. */
	for (i = 0; i < 200; i++) {
		int j, all = 1;

		while (tp_recv(tp.mfd, &m, data, 64 * PS, 50) == 1)
			if (m.type == MEMPAGER_MSG_SYNCHRONIZE)
				memory_object_synchronize_completed(tp.ctl,
					m.range.offset, m.range.length);
		for (j = 0; j < 8; j++)
			all &= s[j].done;
		if (all)
			break;
	}
	for (i = 0; i < 8; i++) {
		EXPECT_TRUE(s[i].done);
		pthread_join(th[i], NULL);
	}
	hu_param_set("max_queued_pages", old);
	munmap(p, 8 * PS);
	tp_destroy(&tp);
	free(data);
}

/*
 * Proposed semantics of max_objects_per_user (module parameter, uint,
 * 0644, default 1024): every object counts against the uid that owns it
 * (the creator's fsuid, the owner MEMPAGER_OBJECT_OPEN checks), from its
 * creation (MEMPAGER_OBJECT_CREATE, or the mmap(2) that creates temporary
 * memory) until it is freed. Creating one more object than the limit fails
 * with EDQUOT, both for MEMPAGER_OBJECT_CREATE and for the mmap(2) of
 * temporary memory, and changes nothing. CAP_SYS_RESOURCE exempts the
 * caller. Lowering the limit keeps existing objects. 0 means no limit.
 */
static int quota_fn(void *arg)
{
	int fd = mempager_open(), fd2, ofd[8], i, rc = 0;
	uint32_t h;
	void *q;

	if (fd < 0)
		return 99;
	for (i = 0; i < 4; i++)
		if (mempager_object_create(fd, PS, 0600, &h, &ofd[i], NULL))
			return 1;
	/* The fifth object of this user: refused, nothing created. */
	if (mempager_object_create(fd, PS, 0600, &h, &ofd[4], NULL) == KERN_SUCCESS ||
	    errno != EDQUOT)
		rc |= 2;
	fd2 = mempager_open();
	q = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	if (q != MAP_FAILED || errno != EDQUOT)
		rc |= 4;
	/* Freeing one (its manager fd and object fd closed) makes room. */
	{
		int m2 = mempager_open();

		close(ofd[3]);
		if (mempager_object_create(m2, PS, 0600, &h, &ofd[4], NULL) ==
		    KERN_SUCCESS)
			rc |= 8;	/* the object on fd is still alive */
		close(fd);
		for (i = 0; i < 3; i++)
			close(ofd[i]);
		/* Objects are freed synchronously at the last close. */
		if (mempager_object_create(m2, PS, 0600, &h, &ofd[4], NULL))
			rc |= 16;
		q = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
		if (q == MAP_FAILED)
			rc |= 32;
		close(m2);
	}
	return rc;
}

static int quota_other_fn(void *arg)
{
	int fd = mempager_open(), i, ofd;
	uint32_t h;

	for (i = 0; i < 4; i++)
		if (mempager_object_create(fd, PS, 0600, &h, &ofd, NULL))
			return 1;
	return 0;
}

TEST(objects_per_user_are_bounded)
{
	long long old = hu_param_get("max_objects_per_user");
	int fd, i, ofd, rc;
	uint32_t h;

	if (old < 0)
		SKIP(return, "module parameter max_objects_per_user not implemented yet");
	EXPECT_EQ(1024, old);
	ASSERT_EQ(0, hu_param_set("max_objects_per_user", 4));
	rc = as_user(NOBODY, quota_fn, NULL);
	EXPECT_EQ(0, rc) TH_LOG("quota checks that failed: mask %#x", rc);
	/* Another user has a quota of its own. */
	EXPECT_EQ(0, as_user(OTHER, quota_other_fn, NULL));
	/* CAP_SYS_RESOURCE is exempt. */
	fd = mempager_open();
	for (i = 0; i < 6; i++)
		EXPECT_EQ(KERN_SUCCESS, mempager_object_create(fd, PS, 0600, &h,
							       &ofd, NULL));
	close(fd);
	hu_param_set("max_objects_per_user", old);
}

/* ---- memory cgroups ---- */

#define CG "mempager-limits"
#define CG_PAGES 256	/* 1 MiB */

/* Fault @n pages at @p in a child placed in cgroup CG; memory.current growth. */
static long long charge_in_cgroup(struct __test_metadata *_metadata,
				  unsigned char *p, size_t n)
{
	int go[2], done[2];
	long long before, after;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	if (pid == 0) {
		size_t i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (i = 0; i < n; i++)
			(void)*(volatile unsigned char *)(p + i * PS);
		if (write(done[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, hu_cg_enter(CG, pid));
	usleep(100000);
	before = hu_cg_read(CG, "memory.current");
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	after = hu_cg_read(CG, "memory.current");
	kill(pid, SIGKILL);
	tp_wait(pid, TP_TIMEOUT_MS);
	close(go[0]); close(go[1]); close(done[0]); close(done[1]);
	return after - before;
}

FIXTURE(cg) {
	int unused;
};

FIXTURE_SETUP(cg)
{
	if (hu_cg_create(CG))
		SKIP(return, "no cgroup v2 memory controller at " HU_CGROOT);
}

FIXTURE_TEARDOWN(cg)
{
	hu_cg_remove(CG);
}

/* Temporary memory's pages are charged to the process that faults them. */
TEST_F(cg, temporary_memory_charged_to_the_faulting_cgroup)
{
	int fd = mempager_open();
	unsigned char *p;
	long long grew;

	p = mmap(NULL, CG_PAGES * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	grew = charge_in_cgroup(_metadata, p, CG_PAGES);
	printf("# temporary memory: %d pages faulted, memory.current grew by %lld pages\n",
	       CG_PAGES, grew / (long long)PS);
	EXPECT_LE((long long)(CG_PAGES * PS * 9 / 10), grew);
	munmap(p, CG_PAGES * PS);
	close(fd);
}

/*
 * A managed object's pages, faulted by a client in a cgroup and supplied
 * by a pager outside it: charged to the client's cgroup, the faulting one.
 */
TEST_F(cg, object_pages_charged_to_the_faulting_cgroup)
{
	struct hu_server s;
	struct tpager tp;
	unsigned char *p;
	long long grew;

	ASSERT_EQ(0, tp_create(&tp, CG_PAGES, 0600));
	ASSERT_EQ(0, hu_server_start(&s, &tp, 0, 3));
	p = tp_map(tp.ofd, CG_PAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	grew = charge_in_cgroup(_metadata, p, CG_PAGES);
	printf("# object: %d pages faulted, the client's memory.current grew by %lld pages\n",
	       CG_PAGES, grew / (long long)PS);
	EXPECT_LE((long long)(CG_PAGES * PS * 9 / 10), grew)
		TH_LOG("supplied pages are charged to the pager, not the faulting cgroup");
	munmap(p, CG_PAGES * PS);
	hu_server_stop(&s);
	tp_destroy(&tp);
}

TEST_HARNESS_MAIN
