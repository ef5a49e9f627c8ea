// SPDX-License-Identifier: GPL-2.0
/*
 * Pager death at every point: the pager process is SIGKILLed while faults
 * wait for ready, for data, for a request slot, for its queue to drain,
 * while a data_supply is in flight, between a data_unlock and its
 * lock_request, during lock_requests that return dirty pages, and while an
 * msync waits for synchronize_completed. The clients must get SIGBUS (or
 * EIO) promptly, or their data where the page was resident; nothing hangs;
 * every object is freed once the clients let go (the harness unloads the
 * module at the end of the run). The manager's close also races with the
 * last references of its objects: an msync outlives every other reference,
 * and private copies are unmapped while the close walks its handle table.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

/* How soon a client must learn that its pager died (TCG is slow). */
#define PROMPT_MS 5000
#define MAXW 16

/* Results of waiting clients, shared with the processes that wait. */
struct wres {
	volatile int res[MAXW];		/* -1 waiting, 0 ok, or a signal */
	volatile unsigned char val[MAXW];
};

static struct wres *wres_new(void)
{
	struct wres *w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int i;

	for (i = 0; i < MAXW; i++)
		w->res[i] = -1;
	return w;
}

struct wthread {
	struct wres *w;
	int slot, write;
	volatile unsigned char *addr;
};

static void *wthread_fn(void *arg)
{
	struct wthread *t = arg;
	unsigned char v = 0;
	int sig = hu_touch(t->addr, t->write, 0x33, &v);

	t->w->val[t->slot] = v;
	t->w->res[t->slot] = sig;
	return NULL;
}

/*
 * A client process whose @n threads touch @addrs (writing when @write),
 * reporting in @w slots @slot.. . Returns its pid.
 */
static pid_t spawn_client(struct wres *w, int slot, unsigned char **addrs,
			  int n, int write)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct wthread t[MAXW];
		pthread_t th[MAXW];
		int i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		hu_catch_signals();
		for (i = 0; i < n; i++) {
			t[i] = (struct wthread){ w, slot + i, write, addrs[i] };
			pthread_create(&th[i], NULL, wthread_fn, &t[i]);
		}
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		_exit(0);
	}
	return pid;
}

/* Wait until slots [first, first + n) are answered: elapsed ms, or -1. */
static long long wait_slots(struct wres *w, int first, int n, int timeout_ms)
{
	long long t0 = hu_now_ms();
	int i;

	for (;;) {
		for (i = first; i < first + n; i++)
			if (w->res[i] == -1)
				break;
		if (i == first + n)
			return hu_now_ms() - t0;
		if (hu_now_ms() - t0 > timeout_ms)
			return -1;
		usleep(5000);
	}
}

/* Nobody answered yet: the waits are real. */
static int slots_pending(struct wres *w, int first, int n)
{
	int i;

	for (i = first; i < first + n; i++)
		if (w->res[i] != -1)
			return 0;
	return 1;
}

/* ---- the pager process ---- */

typedef void (*pager_script)(struct tpager *tp, int sock, void *arg);

struct pager_proc {
	pid_t pid;
	int sock;
	int ofd;
	uint64_t name;
};

static void notify(int sock, char c)
{
	if (write(sock, &c, 1) != 1)
		_exit(90);
}

/* Wait for the pager's next notification: the byte, or -1 on time-out. */
static int await(struct pager_proc *pp, int timeout_ms)
{
	struct pollfd p = { .fd = pp->sock, .events = POLLIN };
	char c;

	if (poll(&p, 1, timeout_ms) != 1 || read(pp->sock, &c, 1) != 1)
		return -1;
	return c;
}

/* Fork a pager of an @npages object running @script; it sends the object fd. */
static int pager_start(struct pager_proc *pp, size_t npages,
		       pager_script script, void *arg)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	pp->pid = fork();
	if (pp->pid < 0)
		return -1;
	if (pp->pid == 0) {
		struct tpager tp;

		/* Never outlive the test, whatever it asserted. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		if (tp_create(&tp, npages, 0600) || tp_send_fd(sv[1], tp.ofd) ||
		    write(sv[1], &tp.name, sizeof(tp.name)) != sizeof(tp.name))
			_exit(91);
		close(tp.ofd);
		tp.ofd = -1;
		script(&tp, sv[1], arg);
		for (;;)
			pause();
	}
	close(sv[1]);
	pp->sock = sv[0];
	pp->ofd = tp_recv_fd(pp->sock);
	if (pp->ofd < 0 ||
	    read(pp->sock, &pp->name, sizeof(pp->name)) != sizeof(pp->name))
		return -1;
	return 0;
}

/* SIGKILL the pager and reap it. */
static int pager_kill(struct pager_proc *pp)
{
	int status;

	if (kill(pp->pid, SIGKILL))
		return -1;
	status = tp_wait(pp->pid, TP_TIMEOUT_MS);
	close(pp->sock);
	return status >= 0 && WIFSIGNALED(status) ? 0 : -1;
}

/* Answer init with ready (may_cache 0); 0 or -1. */
static int pager_ready(struct tpager *tp)
{
	struct mempager_msg m;

	if (tp_next(tp->mfd, &m, TP_TIMEOUT_MS) != 1 ||
	    m.type != MEMPAGER_MSG_INIT)
		return -1;
	tp->ctl = mempager_msg_control(tp->mfd, &m);
	return memory_object_ready(tp->ctl, 0, MEMORY_OBJECT_COPY_DELAY);
}

/* Read messages until @n data_requests were seen; then notify 'R'. */
static void read_requests(struct tpager *tp, int sock, int n)
{
	struct mempager_msg m;
	int got = 0;

	while (got < n && tp_next(tp->mfd, &m, TP_TIMEOUT_MS) == 1)
		if (m.type == MEMPAGER_MSG_DATA_REQUEST)
			got++;
	notify(sock, 'R');
}

/* All objects this test made are gone again. */
static void expect_objects(struct __test_metadata *_metadata, int before)
{
	int i, n = -1;

	for (i = 0; i < 100; i++) {
		n = hu_count_objects();
		if (n == before)
			break;
		usleep(20000);
	}
	EXPECT_EQ(before, n) TH_LOG("objects left behind");
}

static void report(const char *point, long long ms)
{
	printf("# death point '%s': clients answered %lld ms after the kill\n",
	       point, ms);
}

/* ---- death points ---- */

static void s_never_ready(struct tpager *tp, int sock, void *arg)
{
	struct mempager_msg m;

	/* Read init, never answer. */
	if (tp_next(tp->mfd, &m, TP_TIMEOUT_MS) == 1)
		notify(sock, 'I');
}

/* Faults waiting for the manager's answer to init. */
TEST(killed_while_faults_wait_for_ready)
{
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	unsigned char *p, *a[4];
	long long ms;
	pid_t c;
	int i;

	ASSERT_EQ(0, pager_start(&pp, 8, s_never_ready, NULL));
	p = tp_map(pp.ofd, 8, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('I', await(&pp, TP_TIMEOUT_MS));
	for (i = 0; i < 4; i++)
		a[i] = p + i * PS;
	c = spawn_client(w, 0, a, 4, 0);
	usleep(TP_QUIET_MS * 1000);
	EXPECT_TRUE(slots_pending(w, 0, 4));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 4, PROMPT_MS);
	EXPECT_LE(0, ms) TH_LOG("faults still waiting after the pager died");
	for (i = 0; i < 4; i++)
		EXPECT_EQ(SIGBUS, w->res[i]);
	tp_wait(c, TP_TIMEOUT_MS);
	report("waiting for ready", ms);
	munmap(p, 8 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

static void s_supply0_then_read(struct tpager *tp, int sock, void *arg)
{
	if (pager_ready(tp))
		_exit(92);
	tp_supply(tp, 0, 1, 0);
	notify(sock, 'S');
	read_requests(tp, sock, (int)(intptr_t)arg);
}

/*
 * Faults of several processes and threads waiting for data, some on the
 * same page; one page resident.
 */
TEST(killed_while_faults_wait_for_data)
{
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	unsigned char *p, *a[3][4];
	long long ms;
	pid_t c[3];
	int i, j;

	/* 3 processes x 3 threads on pages 1..5 (5 distinct requests). */
	ASSERT_EQ(0, pager_start(&pp, 8, s_supply0_then_read, (void *)5));
	p = tp_map(pp.ofd, 8, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++)
			a[i][j] = p + (1 + (i + 2 * j) % 5) * PS;
		a[i][3] = p;	/* resident: answered at once */
		c[i] = spawn_client(w, i * 4, a[i], 4, i == 1);
	}
	ASSERT_EQ('R', await(&pp, TP_TIMEOUT_MS));
	usleep(TP_QUIET_MS * 1000);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(slots_pending(w, i * 4, 3));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 12, PROMPT_MS);
	EXPECT_LE(0, ms);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++)
			EXPECT_EQ(SIGBUS, w->res[i * 4 + j]);
		EXPECT_EQ(0, w->res[i * 4 + 3]);
	}
	/* Client 1 writes 0x33 at byte 0 of the resident page too. */
	EXPECT_TRUE(w->val[3] == tp_byte(0, 0, 1) || w->val[3] == 0x33);
	for (i = 0; i < 3; i++)
		tp_wait(c[i], TP_TIMEOUT_MS);
	report("waiting for data", ms);
	/* Later faults fail at once; the resident page stays. */
	hu_catch_signals();
	EXPECT_EQ(SIGBUS, hu_touch(p + 7 * PS, 0, 0, NULL));
	EXPECT_EQ(tp_byte(0, 1, 1), p[1]);
	munmap(p, 8 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

static void s_ready_read(struct tpager *tp, int sock, void *arg)
{
	if (pager_ready(tp))
		_exit(92);
	notify(sock, 'S');
	read_requests(tp, sock, (int)(intptr_t)arg);
}

/* Faults waiting for a free request slot (max_outstanding reached). */
TEST(killed_while_faults_wait_for_a_request_slot)
{
	long long old = hu_param_get("max_outstanding");
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	struct tp_stats st;
	unsigned char *p, *a[6];
	long long ms;
	pid_t c;
	int i;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, hu_param_set("max_outstanding", 2));
	ASSERT_EQ(0, pager_start(&pp, 8, s_ready_read, (void *)2));
	p = tp_map(pp.ofd, 8, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	for (i = 0; i < 6; i++)
		a[i] = p + i * PS;
	c = spawn_client(w, 0, a, 6, 0);
	ASSERT_EQ('R', await(&pp, TP_TIMEOUT_MS));
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(0, tp_stats(pp.name, &st));
	EXPECT_EQ(2, st.outstanding);
	EXPECT_EQ(2, st.requests);
	EXPECT_TRUE(slots_pending(w, 0, 6));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 6, PROMPT_MS);
	EXPECT_LE(0, ms);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(SIGBUS, w->res[i]);
	tp_wait(c, TP_TIMEOUT_MS);
	hu_param_set("max_outstanding", old);
	report("waiting for a request slot", ms);
	munmap(p, 8 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

/*
 * Congest the queue: data_returns of 8 pages (kernel copies) left unread
 * past max_queued_pages, then notify 'C' and read nothing more.
 */
static void s_congest(struct tpager *tp, int sock, void *arg)
{
	int i;

	if (pager_ready(tp))
		_exit(92);
	for (i = 0; i < 8; i++)
		tp_supply(tp, i, 1, 0);
	if (tp_lock(tp, 0, 8, MEMPAGER_RETURN_ANYTHING, 0,
		    MEMPAGER_PROT_NO_CHANGE, 0))
		_exit(93);
	notify(sock, 'C');
}

/* Faults throttled because the pager does not read its data_returns. */
TEST(killed_while_faults_are_throttled)
{
	long long old = hu_param_get("max_queued_pages");
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	struct tp_stats st;
	unsigned char *p, *a[2];
	long long ms;
	pid_t c;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, hu_param_set("max_queued_pages", 4));
	ASSERT_EQ(0, pager_start(&pp, 16, s_congest, NULL));
	p = tp_map(pp.ofd, 16, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('C', await(&pp, TP_TIMEOUT_MS));
	a[0] = p + 10 * PS;
	a[1] = p + 11 * PS;
	c = spawn_client(w, 0, a, 2, 0);
	usleep(TP_QUIET_MS * 1000);
	EXPECT_TRUE(slots_pending(w, 0, 2));
	/* Throttled: no request was even sent. */
	ASSERT_EQ(0, tp_stats(pp.name, &st));
	EXPECT_EQ(0, st.requests);
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 2, PROMPT_MS);
	EXPECT_LE(0, ms);
	EXPECT_EQ(SIGBUS, w->res[0]);
	EXPECT_EQ(SIGBUS, w->res[1]);
	tp_wait(c, TP_TIMEOUT_MS);
	hu_param_set("max_queued_pages", old);
	report("throttled by a full queue", ms);
	/* The resident pages are still there. */
	EXPECT_EQ(0, tp_check(p + 3 * PS, 3, 1));
	munmap(p, 16 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

/*
 * data_supply of two batches of pages whose data lies half in ordinary memory and
 * half in a mapping of a second object that nobody serves: the first batch
 * is installed, the copy of the second blocks inside the ioctl.
 */
#define B TP_SUPPLY_BATCH

static void s_supply_in_flight(struct tpager *tp, int sock, void *arg)
{
	struct tpager src;
	unsigned char *buf;
	size_t i;

	if (pager_ready(tp) || tp_create(&src, B, 0600))
		_exit(92);
	buf = mmap(NULL, 2 * B * PS, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED ||
	    mmap(buf + B * PS, B * PS, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, src.ofd, 0) == MAP_FAILED)
		_exit(93);
	for (i = 0; i < B; i++)
		tp_fill(buf + i * PS, i, 2);
	notify(sock, 'S');
	/* Blocks in the second batch until killed. */
	memory_object_data_supply(tp->ctl, 0, buf, 2 * B * PS, 0, 0, 1);
	_exit(94);
}

TEST(killed_while_a_data_supply_is_in_flight)
{
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	struct tp_stats st;
	unsigned char *p, *a[3];
	long long ms;
	pid_t c;
	int i;

	ASSERT_EQ(0, pager_start(&pp, 2 * B, s_supply_in_flight, NULL));
	p = tp_map(pp.ofd, 2 * B, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	/* The first batch gets installed; the supply then hangs. */
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, tp_stats(pp.name, &st));
		if (st.supplied >= B)
			break;
		usleep(10000);
	}
	ASSERT_EQ(B, st.supplied);
	a[0] = p + (B + 4) * PS;	/* second batch: never supplied */
	a[1] = p + (2 * B - 1) * PS;
	a[2] = p + 5 * PS;	/* first batch: resident */
	c = spawn_client(w, 0, a, 3, 0);
	usleep(TP_QUIET_MS * 1000);
	EXPECT_TRUE(slots_pending(w, 0, 2));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 3, PROMPT_MS);
	EXPECT_LE(0, ms);
	EXPECT_EQ(SIGBUS, w->res[0]);
	EXPECT_EQ(SIGBUS, w->res[1]);
	EXPECT_EQ(0, w->res[2]);
	EXPECT_EQ(tp_byte(5, 0, 2), w->val[2]);
	tp_wait(c, TP_TIMEOUT_MS);
	report("data_supply in flight", ms);
	for (i = 0; i < B; i++)
		EXPECT_EQ(0, tp_check(p + i * PS, i, 2));
	ASSERT_EQ(0, tp_stats(pp.name, &st));
	EXPECT_EQ(B, st.resident);
	munmap(p, 2 * B * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}
#undef B

/* Supply page 0 write-locked; read the data_unlock, notify 'U', stop. */
static void s_unlock_pending(struct tpager *tp, int sock, void *arg)
{
	unsigned char *buf = malloc(PS);
	struct mempager_msg m;

	if (pager_ready(tp))
		_exit(92);
	tp_fill(buf, 0, 3);
	if (memory_object_data_supply(tp->ctl, 0, buf, PS, VM_PROT_WRITE, 0, 0))
		_exit(93);
	notify(sock, 'S');
	while (tp_next(tp->mfd, &m, TP_TIMEOUT_MS) == 1)
		if (m.type == MEMPAGER_MSG_DATA_UNLOCK) {
			notify(sock, 'U');
			return;
		}
}

TEST(killed_between_data_unlock_and_lock_request)
{
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	unsigned char *p, *a[2];
	long long ms;
	pid_t c, r;

	ASSERT_EQ(0, pager_start(&pp, 4, s_unlock_pending, NULL));
	p = tp_map(pp.ofd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	a[0] = p;
	c = spawn_client(w, 0, a, 1, 1);	/* a write: needs the unlock */
	ASSERT_EQ('U', await(&pp, TP_TIMEOUT_MS));
	usleep(TP_QUIET_MS * 1000);
	EXPECT_TRUE(slots_pending(w, 0, 1));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 1, PROMPT_MS);
	EXPECT_LE(0, ms);
	EXPECT_EQ(SIGBUS, w->res[0]);
	tp_wait(c, TP_TIMEOUT_MS);
	report("between data_unlock and lock_request", ms);
	/* Reading is still allowed by the lock: the page is resident. */
	a[1] = p;
	r = spawn_client(w, 1, a + 1, 1, 0);
	EXPECT_LE(0, wait_slots(w, 1, 1, PROMPT_MS));
	EXPECT_EQ(0, w->res[1]);
	EXPECT_EQ(tp_byte(0, 0, 3), w->val[1]);
	tp_wait(r, TP_TIMEOUT_MS);
	munmap(p, 4 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

#define LR_PAGES 128

/*
 * Serve the client's faults, then once told (a byte on the socket) return
 * and flush everything with lock_requests, reading the returns slowly with
 * a small buffer, until killed.
 */
static void s_lock_returns(struct tpager *tp, int sock, void *arg)
{
	unsigned char *data = malloc(4 * PS), *page = malloc(PS);
	struct pollfd pf[2] = { { .fd = tp->mfd, .events = POLLIN },
				{ .fd = sock, .events = POLLIN } };
	struct mempager_msg m;
	size_t i;
	char c;

	if (pager_ready(tp))
		_exit(92);
	for (i = 0; i < LR_PAGES; i++) {
		tp_fill(page, i, 4);
		memory_object_data_supply(tp->ctl, i * PS, page, PS, 0, 0, 0);
	}
	notify(sock, 'S');
	/* Wait for the client to have dirtied the pages. */
	while (poll(pf + 1, 1, -1) != 1 || read(sock, &c, 1) != 1)
		;
	for (;;) {
		for (i = 0; i < LR_PAGES; i += 8)
			tp_lock(tp, i, 8, MEMPAGER_RETURN_DIRTY, (i & 8) ? 1 : 0,
				MEMPAGER_PROT_NO_CHANGE, 1);
		/* Take a few messages with a buffer of 4 pages. */
		for (i = 0; i < 4; i++)
			tp_recv(tp->mfd, &m, data, 4 * PS, 0);
	}
}

TEST(killed_during_lock_requests_with_returns)
{
	static const int delays[] = { 0, 40, 150, 400 };
	int objs = hu_count_objects();
	unsigned int r;

	hu_catch_signals();
	for (r = 0; r < sizeof(delays) / sizeof(delays[0]); r++) {
		struct pager_proc pp;
		unsigned char *p, v;
		int i, ok = 0, bus = 0;
		long long t0, ms;
		char c = 'G';

		ASSERT_EQ(0, pager_start(&pp, LR_PAGES, s_lock_returns, NULL));
		p = tp_map(pp.ofd, LR_PAGES, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
		for (i = 0; i < LR_PAGES; i++)
			ASSERT_EQ(0, hu_touch(p + i * PS, 1, 0xa0 + (i & 15), NULL));
		ASSERT_EQ(1, write(pp.sock, &c, 1));
		usleep(delays[r] * 1000);
		ASSERT_EQ(0, pager_kill(&pp));
		/* Every page: the data written, or SIGBUS if it was flushed. */
		t0 = hu_now_ms();
		for (i = 0; i < LR_PAGES; i++) {
			int sig = hu_touch(p + i * PS, 0, 0, &v);

			if (sig == SIGBUS) {
				bus++;
				continue;
			}
			EXPECT_EQ(0, sig);
			EXPECT_EQ(0xa0 + (i & 15), v) TH_LOG("page %d", i);
			ok++;
		}
		ms = hu_now_ms() - t0;
		EXPECT_GT(PROMPT_MS, ms);
		printf("# round %u (kill after %d ms): %d pages kept, %d flushed\n",
		       r, delays[r], ok, bus);
		report("during lock_requests returning dirty pages", ms);
		munmap(p, LR_PAGES * PS);
		close(pp.ofd);
	}
	expect_objects(_metadata, objs);
}

/* Read the synchronize message, notify 'Y', never answer it. */
static void s_sync_pending(struct tpager *tp, int sock, void *arg)
{
	unsigned char *data = malloc(16 * PS);
	struct mempager_msg m;

	if (pager_ready(tp))
		_exit(92);
	tp_supply(tp, 0, 1, 0);
	notify(sock, 'S');
	/* The dirty page comes first (data_return), then synchronize. */
	while (tp_recv(tp->mfd, &m, data, 16 * PS, TP_TIMEOUT_MS) == 1)
		if (m.type == MEMPAGER_MSG_SYNCHRONIZE) {
			notify(sock, 'Y');
			return;
		}
}

struct msync_arg {
	unsigned char *p;
	volatile int done, err;
};

static void *msync_fn(void *arg)
{
	struct msync_arg *a = arg;

	a->err = msync(a->p, 4 * PS, MS_SYNC) ? errno : 0;
	a->done = 1;
	return NULL;
}

TEST(killed_while_msync_waits)
{
	int objs = hu_count_objects();
	struct msync_arg ma = { 0 };
	struct pager_proc pp;
	long long t0, ms;
	pthread_t th;

	ASSERT_EQ(0, pager_start(&pp, 4, s_sync_pending, NULL));
	ma.p = tp_map(pp.ofd, 4, 0);
	ASSERT_NE(MAP_FAILED, ma.p);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	ma.p[0] = 0x44;		/* dirty: msync returns it and waits */
	ASSERT_EQ(0, pthread_create(&th, NULL, msync_fn, &ma));
	ASSERT_EQ('Y', await(&pp, TP_TIMEOUT_MS));
	usleep(TP_QUIET_MS * 1000);
	EXPECT_EQ(0, ma.done);
	ASSERT_EQ(0, pager_kill(&pp));
	t0 = hu_now_ms();
	while (!ma.done && hu_now_ms() - t0 < PROMPT_MS)
		usleep(5000);
	ms = hu_now_ms() - t0;
	ASSERT_TRUE(ma.done) TH_LOG("msync still waits after the pager died");
	pthread_join(th, NULL);
	EXPECT_EQ(EIO, ma.err);
	report("msync waiting for synchronize_completed", ms);
	EXPECT_EQ(0x44, ma.p[0]);
	munmap(ma.p, 4 * PS);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

/* Clients mapping through a bound device fd and through fork(2). */
TEST(killed_with_bound_and_forked_clients)
{
	int objs = hu_count_objects();
	struct wres *w = wres_new();
	struct pager_proc pp;
	unsigned char *p, *q, *a[2];
	long long ms;
	pid_t c, d;
	int fd;

	ASSERT_EQ(0, pager_start(&pp, 4, s_supply0_then_read, (void *)1));
	/* One mapping through a bound device fd, one inherited by fork. */
	fd = mempager_open();
	ASSERT_EQ(KERN_SUCCESS, mempager_object_bind(fd, pp.ofd));
	q = tp_map(fd, 4, 0);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ('S', await(&pp, TP_TIMEOUT_MS));
	p = tp_map(pp.ofd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	a[0] = q + 2 * PS;
	a[1] = p + 2 * PS;
	c = spawn_client(w, 0, a, 1, 0);
	d = spawn_client(w, 1, a + 1, 1, 1);
	ASSERT_EQ('R', await(&pp, TP_TIMEOUT_MS));
	usleep(TP_QUIET_MS * 1000);
	EXPECT_TRUE(slots_pending(w, 0, 2));
	ASSERT_EQ(0, pager_kill(&pp));
	ms = wait_slots(w, 0, 2, PROMPT_MS);
	EXPECT_LE(0, ms);
	EXPECT_EQ(SIGBUS, w->res[0]);
	EXPECT_EQ(SIGBUS, w->res[1]);
	tp_wait(c, TP_TIMEOUT_MS);
	tp_wait(d, TP_TIMEOUT_MS);
	report("bound and forked clients waiting", ms);
	EXPECT_EQ(0, tp_check(q, 0, 1));
	munmap(p, 4 * PS);
	munmap(q, 4 * PS);
	close(fd);
	close(pp.ofd);
	expect_objects(_metadata, objs);
}

static void on_usr1(int sig)
{
}

struct receiver {
	int mfd;
	pid_t tid;
	ssize_t ret;
	int err;
};

static void *receiver_fn(void *arg)
{
	struct receiver *r = arg;
	struct mempager_msg m;

	r->tid = syscall(SYS_gettid);
	r->ret = read(r->mfd, &m, sizeof(m));
	r->err = errno;
	return NULL;
}

/* The state letter of thread @tid of this process, or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	tp_read_small(path, buf, sizeof(buf));
	return tp_stat_state(buf);
}

/*
 * close() of the manager fd while another thread of the manager is blocked
 * in a receive on it: that receive holds the open file, so the manager
 * lives on (a client whose request was already read keeps waiting) until
 * the receive returns; a signal ends it, and the client gets SIGBUS then.
 */
TEST(close_while_another_thread_receives)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct receiver r = { .tid = 0 };
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p;
	pthread_t th;
	pid_t client;
	int status, i;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	p = map_ready(_metadata, &tp, 0);
	client = fork();
	ASSERT_GE(client, 0);
	if (!client) {
		/* A copy of the manager fd would keep the manager alive. */
		close(tp.mfd);
		_exit(p[0] == tp_byte(0, 0, 1) ? 0 : 1);
	}
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);

	/* A second thread waits for the next message, which never comes. */
	r.mfd = tp.mfd;
	ASSERT_EQ(0, pthread_create(&th, NULL, receiver_fn, &r));
	for (i = 0; i < TP_TIMEOUT_MS / 10; i++) {
		if (r.tid && thread_state(r.tid) == 'S')
			break;
		usleep(10000);
	}
	ASSERT_EQ('S', thread_state(r.tid));

	ASSERT_EQ(0, close(tp.mfd));
	tp.mfd = -1;
	/* The manager is not dead yet: the client still waits. */
	usleep(TP_QUIET_MS * 1000);
	EXPECT_EQ(0, waitpid(client, &status, WNOHANG))
		TH_LOG("the client did not wait for the receiving thread");

	/* The receive ends (EINTR), and with it the manager. */
	ASSERT_EQ(0, pthread_kill(th, SIGUSR1));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EINTR, r.err);
	status = tp_wait(client, PROMPT_MS);
	EXPECT_TRUE(tp_sigbus(status)) TH_LOG("client status %d", status);
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

/* ---- object lifetime against manager death (issue 13, items 1 and 2) ---- */

/* Run the calling thread on @cpu only (best effort: 0 or -1). */
static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *pinned_msync_fn(void *arg)
{
	pin_to_cpu(0);
	return msync_fn(arg);
}

/*
 * An msync(MS_SYNC) that waits for synchronize_completed outlives the
 * mapping, the object fd and the manager fd: msync(2) pins only the
 * mapping's file, and the object must still be there when the waiting
 * thread wakes. The waiter and the closing thread share one CPU, so that
 * the close runs to its end (the object's last reference goes) before the
 * waiter looks at the object again; freed memory is then reported by
 * KASAN or by the mutex debugging of the debug lane.
 */
TEST(msync_outlives_its_mapping_and_its_manager)
{
	unsigned char *data = malloc(16 * PS);
	int objs = hu_count_objects();
	struct msync_arg ma;
	struct mempager_msg m;
	struct tpager tp;
	pthread_t th;
	int r, sync;

	if (pin_to_cpu(0))
		TH_LOG("cannot pin to CPU 0: the race is left to chance");
	for (r = 0; r < 8; r++) {
		ASSERT_EQ(0, tp_create(&tp, 4, 0600));
		memset(&ma, 0, sizeof(ma));
		ma.p = map_ready(_metadata, &tp, 1);
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 0, 1, 0));
		ma.p[0] = 0x44;	/* dirty: msync returns it, then waits */
		ASSERT_EQ(0, pthread_create(&th, NULL, pinned_msync_fn, &ma));
		/* The dirty page comes first (data_return), then synchronize. */
		sync = 0;
		while (!sync && tp_recv(tp.mfd, &m, data, 16 * PS,
					TP_TIMEOUT_MS) == 1)
			sync = m.type == MEMPAGER_MSG_SYNCHRONIZE;
		ASSERT_TRUE(sync);
		EXPECT_EQ(0, ma.done);
		/* Every reference but the waiting msync's goes. */
		ASSERT_EQ(0, munmap(ma.p, 4 * PS));
		tp_destroy(&tp);
		pthread_join(th, NULL);
		EXPECT_EQ(EIO, ma.err);
	}
	unpin();
	free(data);
	expect_objects(_metadata, objs);
}

#define NCOPIES 32
#define COPY_ROUNDS 1000
/* The rounds stop after this long (the harness allows 30 s a test). */
#define COPY_BUDGET_MS 15000

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

struct unmapper {
	unsigned char *base;
	volatile int go;
	volatile long long start;
	long long end;
};

static void *unmapper_fn(void *arg)
{
	struct unmapper *u = arg;

	pin_to_cpu(1);
	while (!u->go)
		;
	u->start = now_us();
	munmap(u->base, NCOPIES * PS);
	u->end = now_us();
	return NULL;
}

/*
 * The last unmap of a COPY_CALL copy takes the copy out of its manager's
 * handle table while the manager's close walks that table: the table's
 * reference must be dropped once, by whichever of them took the handle out.
 * The private mappings (one copy object each, laid out against the handle
 * order so that the two walks cross) are unmapped by one munmap on one CPU
 * while the manager fd is closed on the other, a random time after the
 * munmap started; many times, for COPY_BUDGET_MS at most.
 */
TEST(call_copies_unmapped_while_the_manager_closes)
{
	long long t0, t1, close_us = 0, unmap_us = 0, overlap = 0, delay;
	long long start = hu_now_ms();
	int objs = hu_count_objects();
	struct hu_rng rng;
	struct unmapper u;
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p, *q;
	pthread_t th;
	int r, i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "the race needs two CPUs");
	hu_rng_seed(&rng, 13);
	for (r = 0; r < COPY_ROUNDS && hu_now_ms() - start < COPY_BUDGET_MS;
	     r++) {
		ASSERT_EQ(0, tp_create(&tp, 1, 0600));
		p = tp_map(tp.ofd, 1, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
		ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
		tp.ctl = mempager_msg_control(tp.mfd, &m);
		ASSERT_EQ(KERN_SUCCESS,
			  memory_object_ready(tp.ctl, 0,
					      MEMORY_OBJECT_COPY_CALL));
		memset(&u, 0, sizeof(u));
		u.base = mmap(NULL, NCOPIES * PS, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, u.base);
		for (i = 0; i < NCOPIES; i++) {
			q = mmap(u.base + (NCOPIES - 1 - i) * PS, PS, PROT_READ,
				 MAP_PRIVATE | MAP_FIXED, tp.ofd, 0);
			ASSERT_EQ(u.base + (NCOPIES - 1 - i) * PS, q);
		}
		ASSERT_EQ(0, munmap(p, PS));
		close(tp.ofd);
		ASSERT_EQ(0, pthread_create(&th, NULL, unmapper_fn, &u));
		pin_to_cpu(0);
		usleep(1000);
		/* Close within the first ~2/3 of a munmap (see the averages). */
		delay = hu_rnd(&rng, 1200);
		u.go = 1;
		while (!u.start)
			;
		while (now_us() < u.start + delay)
			;
		t0 = now_us();
		close(tp.mfd);
		t1 = now_us();
		unpin();
		pthread_join(th, NULL);
		close_us += t1 - t0;
		unmap_us += u.end - u.start;
		overlap += t0 < u.end && u.start < t1;
	}
	printf("# %d rounds: close %lld us, munmap %lld us on average; %lld overlapped\n",
	       r, close_us / r, unmap_us / r, overlap);
	expect_objects(_metadata, objs);
}

TEST_HARNESS_MAIN
