// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads in several processes fault the same and different pages of
 * one object while a multi-threaded pager answers out of order: every byte
 * every client reads is checked against the pager's pattern.
 * MEMPAGER_STRESS_SECONDS=<s> repeats it for that long (see main()).
 */
#include <pthread.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define NPAGES 96
#define CLIENTS 3
#define THREADS 4
#define PAGER_THREADS 2
#define BATCH 8
#define SEED 0x3c

struct pager_ctx {
	struct tpager *tp;
	volatile int stop;
	unsigned int seed;
	long answered;
	long errors;
};

/*
 * A pager thread: take a batch of messages, answer them in reverse. Two
 * threads read one fd: both may be woken by one message, and the one that
 * finds the queue empty must not block in read() (the fd is O_NONBLOCK),
 * or it would wait for a message that may never come and never see @stop.
 */
static void *pager_thread(void *arg)
{
	struct pager_ctx *c = arg;
	struct mempager_msg m[BATCH];
	char *buf = malloc(PS);
	unsigned int rnd = c->seed;

	while (!c->stop) {
		struct pollfd p = { .fd = c->tp->mfd, .events = POLLIN };
		int n, i;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(c->tp->mfd, m, sizeof(m));
		if (n < 0 && errno != EAGAIN)
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		if (n <= 0)
			continue;
		n /= sizeof(m[0]);
		for (i = n - 1; i >= 0; i--) {
			size_t pgoff = m[i].request.offset / PS;
			kern_return_t kr;

			if (m[i].type != MEMPAGER_MSG_DATA_REQUEST) {
				__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
				continue;
			}
			rnd = rnd * 1103515245 + 12345;
			if (rnd & 0x100)
				usleep(rnd % 2000);
			tp_fill(buf, pgoff, SEED);
			kr = memory_object_data_supply(c->tp->ctl, pgoff * PS,
						       buf, PS, 0, 0, 0);
			if (kr)
				__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&c->answered, 1, __ATOMIC_RELAXED);
		}
	}
	free(buf);
	return NULL;
}

struct client_arg {
	unsigned char *p;
	unsigned int seed;
	long bad;
};

static void *client_thread(void *arg)
{
	struct client_arg *a = arg;
	unsigned int rnd = a->seed;
	int i;

	for (i = 0; i < NPAGES; i++) {
		size_t pgoff;

		rnd = rnd * 1103515245 + 12345;
		/* Half the threads walk in order (shared pages), half at random. */
		pgoff = (a->seed & 1) ? (size_t)i : (rnd >> 8) % NPAGES;
		if (tp_check(a->p + pgoff * PS, pgoff, SEED))
			a->bad++;
	}
	return NULL;
}

/* One client process: THREADS threads; exits with the number of bad pages. */
static int client(int ofd, int id)
{
	struct client_arg args[THREADS];
	pthread_t th[THREADS];
	unsigned char *p = tp_map(ofd, NPAGES, 0);
	long bad = 0;
	int i;

	if (p == MAP_FAILED)
		return 100;
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct client_arg){ .p = p, .seed = id * 31 + i };
		pthread_create(&th[i], NULL, client_thread, &args[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		bad += args[i].bad;
	}
	munmap(p, NPAGES * PS);
	return bad > 99 ? 99 : (int)bad;
}

/* Milliseconds left until @t (CLOCK_MONOTONIC), at least 0. */
static int ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (t->tv_sec - now.tv_sec) * 1000 +
	     (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

TEST(many_faulting_threads_out_of_order_pager)
{
	struct pager_ctx ctx[PAGER_THREADS];
	pthread_t pth[PAGER_THREADS];
	struct mempager_msg m;
	struct tpager tp;
	struct timespec deadline;
	struct tp_stats st;
	pid_t pids[CLIENTS];
	unsigned char *p;
	long answered = 0, errors = 0;
	int i;

	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	/* Keep a mapping so the object is initialised once for everybody. */
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0, 0));
	ASSERT_EQ(0, fcntl(tp.mfd, F_SETFL, O_NONBLOCK));

	for (i = 0; i < PAGER_THREADS; i++) {
		ctx[i] = (struct pager_ctx){ .tp = &tp, .seed = 7 + i };
		ASSERT_EQ(0, pthread_create(&pth[i], NULL, pager_thread, &ctx[i]));
	}
	for (i = 0; i < CLIENTS; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0)
			_exit(client(tp.ofd, i + 1));
	}
	/*
	 * The work takes seconds; the harness kills the test after 30. Stop
	 * short of that and leave evidence of what is stuck in the log.
	 */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TP_TIMEOUT_MS / 1000;
	for (i = 0; i < CLIENTS; i++) {
		int status = tp_wait(pids[i], ms_until(&deadline));

		if (status == -1) {
			TH_LOG("client %d stuck: its threads and ours", i);
			tp_dump_task(pids[i]);
			tp_dump_task(0);
			tp_sysrq_dump();
			status = tp_wait(pids[i], 0);
		}
		ASSERT_TRUE(WIFEXITED(status)) TH_LOG("client %d: status %d", i, status);
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("client %d: bad pages", i);
	}
	/*
	 * Check while the pagers still run: memory pressure may evict a page
	 * at any time, and its next fault asks for it again.
	 */
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, tp_check(p + i * PS, i, SEED));
	for (i = 0; i < PAGER_THREADS; i++)
		ctx[i].stop = 1;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	for (i = 0; i < PAGER_THREADS; i++) {
		if (pthread_timedjoin_np(pth[i], NULL, &deadline)) {
			TH_LOG("pager thread %d does not stop: our threads", i);
			tp_dump_task(0);
			tp_sysrq_dump();
			ASSERT_TRUE(0);
		}
		answered += ctx[i].answered;
		errors += ctx[i].errors;
	}
	EXPECT_EQ(0, errors);
	ASSERT_EQ(0, tp_stats(tp.name, &st));
	EXPECT_EQ(st.requests, answered);
	/*
	 * Each page was asked for exactly once (concurrent faults shared the
	 * request), and once more after each eviction.
	 */
	EXPECT_LE(NPAGES, st.requests);
	EXPECT_GE(NPAGES + st.evicted, st.requests)
		TH_LOG("%lu requests, %lu evictions", st.requests, st.evicted);
	if (!st.evicted)
		EXPECT_EQ(NPAGES, st.resident);
	TH_LOG("%d pages x %d threads x %d processes verified, %ld requests",
	       NPAGES, THREADS, CLIENTS, answered);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/*
 * MEMPAGER_STRESS_SECONDS=<s> (make soak): run the test again and again,
 * each time in a new process, until that many seconds have passed.
 */
int main(int argc, char **argv)
{
	const char *e = getenv("MEMPAGER_STRESS_SECONDS");

	if (!e || !*e)
		return test_harness_run(argc, argv);
	return tp_harness_rounds(argc, argv, 1, strtoul(e, NULL, 0), NULL);
}
