// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmempager: a multi-threaded server loop.
 *
 * The calling thread receives messages in batches; worker threads serve
 * them. Each object has a queue of its messages in the order received
 * (sequence-number order, since the kernel queues one object's messages in
 * order and only one thread receives). An object with messages is on the
 * run queue at most once, and the worker that takes it serves one message
 * and puts it back at the tail: one object's messages run one at a time,
 * in order, while different objects run in parallel.
 *
 * Locking: mp_loop.lock protects the run queue, the object queues and the
 * batch count; routines run without it. mp_loops_lock protects the list of
 * running loops and nests outside nothing.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

#define MP_BATCH	64
#define MP_BUCKETS	64
/* Page data per batch to start with; doubled on EMSGSIZE up to the max. */
#define MP_DATA_MIN	(256u << 10)
#define MP_DATA_MAX	(64u << 20)

struct mp_batch;

/* One received message on its way through an object queue. */
struct mp_job {
	struct mp_job *next;
	struct mp_batch *batch;
	const struct mempager_msg *msg;
};

/*
 * What one receive call filled; recycled when its last message is served,
 * so that receiving allocates nothing in the steady state.
 * @refs: messages not yet served, under mp_loop.lock
 * @next_free: on mp_loop.free
 */
struct mp_batch {
	int refs;
	struct mp_batch *next_free;
	void *data;
	size_t data_size;
	struct mempager_msg msgs[MP_BATCH];
	struct mp_job jobs[MP_BATCH];
};

/* The messages of one object not yet served. */
struct mp_objq {
	struct mp_objq *hnext;
	struct mp_objq *rnext;
	uint32_t object;
	bool scheduled;
	struct mp_job *head, **tail;
};

struct mp_loop {
	int fd;
	int stopfd;
	const struct memory_object_routines *r;
	const struct seqnos_memory_object_routines *sr;
	unsigned int types;
	bool with_data;
	size_t data_size;

	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t room;
	struct mp_objq *buckets[MP_BUCKETS];
	struct mp_objq *run_head, **run_tail;
	struct mp_batch *free;
	int batches, max_batches;
	bool exiting;

	struct mp_loop *next;
};

static pthread_mutex_t mp_loops_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_loop *mp_loops;

static struct mp_objq *mp_objq_get_locked(struct mp_loop *l, uint32_t object)
{
	struct mp_objq **b = &l->buckets[object % MP_BUCKETS], *q;

	for (q = *b; q; q = q->hnext)
		if (q->object == object)
			return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->object = object;
	q->tail = &q->head;
	q->hnext = *b;
	*b = q;
	return q;
}

static void mp_run_locked(struct mp_loop *l, struct mp_objq *q)
{
	q->scheduled = true;
	q->rnext = NULL;
	*l->run_tail = q;
	l->run_tail = &q->rnext;
	pthread_cond_signal(&l->work);
}

static void mp_batch_put_locked(struct mp_loop *l, struct mp_batch *b)
{
	if (--b->refs)
		return;
	b->next_free = l->free;
	l->free = b;
	l->batches--;
	pthread_cond_signal(&l->room);
}

static void mp_serve_job(struct mp_loop *l, struct mp_job *job)
{
	mp_serve(l->fd, job->msg, job->batch->data, l->r, l->sr, l->types);
}

static void *mp_worker(void *arg)
{
	struct mp_loop *l = arg;
	struct mp_objq *q;
	struct mp_job *job;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->run_head && !l->exiting)
			pthread_cond_wait(&l->work, &l->lock);
		q = l->run_head;
		if (!q)
			break;
		l->run_head = q->rnext;
		if (!l->run_head)
			l->run_tail = &l->run_head;
		job = q->head;
		q->head = job->next;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&l->lock);

		mp_serve_job(l, job);

		pthread_mutex_lock(&l->lock);
		mp_batch_put_locked(l, job->batch);
		if (q->head)
			mp_run_locked(l, q);
		else
			q->scheduled = false;
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* Queue a batch's messages on their objects; serve inline without memory. */
static void mp_dispatch_batch(struct mp_loop *l, struct mp_batch *b, int n)
{
	struct mp_objq *q;
	int i;

	pthread_mutex_lock(&l->lock);
	b->refs = n;
	l->batches++;
	for (i = 0; i < n; i++) {
		struct mp_job *job = &b->jobs[i];

		job->batch = b;
		job->msg = &b->msgs[i];
		job->next = NULL;
		q = mp_objq_get_locked(l, job->msg->object);
		if (!q) {
			/* No queue, no order to keep: nothing else waits. */
			pthread_mutex_unlock(&l->lock);
			mp_serve_job(l, job);
			pthread_mutex_lock(&l->lock);
			mp_batch_put_locked(l, b);
			continue;
		}
		*q->tail = job;
		q->tail = &job->next;
		if (!q->scheduled)
			mp_run_locked(l, q);
	}
	pthread_mutex_unlock(&l->lock);
}

/* A batch from the free list, or a new one. */
static struct mp_batch *mp_batch_get(struct mp_loop *l)
{
	struct mp_batch *b;

	pthread_mutex_lock(&l->lock);
	b = l->free;
	if (b)
		l->free = b->next_free;
	pthread_mutex_unlock(&l->lock);
	return b ? b : calloc(1, sizeof(*b));
}

static void mp_batch_recycle(struct mp_loop *l, struct mp_batch *b)
{
	pthread_mutex_lock(&l->lock);
	b->next_free = l->free;
	l->free = b;
	pthread_mutex_unlock(&l->lock);
}

static int mp_receive_batch(struct mp_loop *l, struct mp_batch *b)
{
	void *grown;
	int n;

	if (!l->with_data)
		return mempager_receive(l->fd, b->msgs, MP_BATCH);
	for (;;) {
		if (b->data_size < l->data_size) {
			grown = realloc(b->data, l->data_size);
			if (!grown)
				return -1;
			b->data = grown;
			b->data_size = l->data_size;
		}
		n = mempager_receive_data(l->fd, b->msgs, MP_BATCH, b->data,
					  b->data_size);
		if (n >= 0 || errno != EMSGSIZE || l->data_size >= MP_DATA_MAX)
			return n;
		l->data_size *= 2;
	}
}

/* Wait for room and a message; false when stopped. */
static bool mp_wait_message(struct mp_loop *l)
{
	struct pollfd p[2] = {
		{ .fd = l->fd, .events = POLLIN },
		{ .fd = l->stopfd, .events = POLLIN },
	};

	pthread_mutex_lock(&l->lock);
	while (l->batches >= l->max_batches)
		pthread_cond_wait(&l->room, &l->lock);
	pthread_mutex_unlock(&l->lock);
	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return !p[1].revents;
}

static int mp_receive_loop(struct mp_loop *l)
{
	struct mp_batch *b;
	int n, err;

	while (mp_wait_message(l)) {
		b = mp_batch_get(l);
		if (!b)
			return -1;
		n = mp_receive_batch(l, b);
		if (n > 0) {
			mp_dispatch_batch(l, b, n);
			continue;
		}
		err = errno;
		mp_batch_recycle(l, b);
		if (n < 0 && err != EINTR && err != EAGAIN) {
			errno = err;
			return -1;
		}
	}
	return 0;
}

static void mp_loop_register(struct mp_loop *l)
{
	pthread_mutex_lock(&mp_loops_lock);
	l->next = mp_loops;
	mp_loops = l;
	pthread_mutex_unlock(&mp_loops_lock);
}

static void mp_loop_unregister(struct mp_loop *l)
{
	struct mp_loop **p;

	pthread_mutex_lock(&mp_loops_lock);
	for (p = &mp_loops; *p != l; p = &(*p)->next)
		;
	*p = l->next;
	pthread_mutex_unlock(&mp_loops_lock);
}

static void mp_loop_free(struct mp_loop *l)
{
	struct mp_batch *b;
	struct mp_objq *q;
	int i;

	while ((b = l->free)) {
		l->free = b->next_free;
		free(b->data);
		free(b);
	}
	for (i = 0; i < MP_BUCKETS; i++)
		while ((q = l->buckets[i])) {
			l->buckets[i] = q->hnext;
			free(q);
		}
	close(l->stopfd);
	pthread_cond_destroy(&l->room);
	pthread_cond_destroy(&l->work);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct mp_loop *mp_loop_alloc(int fd, int nthreads)
{
	struct mp_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stopfd < 0) {
		free(l);
		return NULL;
	}
	l->fd = fd;
	l->with_data = mempager_has_ioctl(fd, MEMPAGER_CMD_RECEIVE);
	l->data_size = MP_DATA_MIN;
	l->max_batches = 2 * nthreads + 2;
	l->run_tail = &l->run_head;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->work, NULL);
	pthread_cond_init(&l->room, NULL);
	return l;
}

static int mp_loop_run(int fd, const struct memory_object_routines *r,
		       const struct seqnos_memory_object_routines *sr,
		       unsigned int types, int nthreads)
{
	pthread_t *threads;
	struct mp_loop *l;
	int i, started, ret, err = 0;

	if (nthreads < 1) {
		errno = EINVAL;
		return -1;
	}
	threads = calloc(nthreads, sizeof(*threads));
	l = threads ? mp_loop_alloc(fd, nthreads) : NULL;
	if (!l) {
		free(threads);
		return -1;
	}
	l->r = r;
	l->sr = sr;
	l->types = types;
	for (started = 0; started < nthreads; started++) {
		err = pthread_create(&threads[started], NULL, mp_worker, l);
		if (err)
			break;
	}
	mp_loop_register(l);
	ret = err ? -1 : mp_receive_loop(l);
	if (ret)
		err = err ? err : errno;
	mp_loop_unregister(l);

	/* Serve what was received, then let the workers go. */
	pthread_mutex_lock(&l->lock);
	l->exiting = true;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	mp_loop_free(l);
	free(threads);
	if (ret)
		errno = err;
	return ret;
}

/* Two versions, as the servers (server.c). */
int mempager_server_loop(int fd, const struct memory_object_routines *routines,
			 int nthreads)
{
	return mp_loop_run(fd, routines, NULL, MP_TYPES_ALL, nthreads);
}

int seqnos_mempager_server_loop(int fd,
			const struct seqnos_memory_object_routines *routines,
			int nthreads)
{
	return mp_loop_run(fd, NULL, routines, MP_TYPES_ALL, nthreads);
}

int mp_v0_loop(int fd, const struct memory_object_routines *routines,
	       int nthreads)
{
	return mp_loop_run(fd, routines, NULL, MP_TYPES_V0, nthreads);
}

MP_SYMVER_V0(mp_v0_loop, mempager_server_loop);

int mp_v0_seqnos_loop(int fd, const struct seqnos_memory_object_routines *r,
		      int nthreads)
{
	return mp_loop_run(fd, NULL, r, MP_TYPES_V0, nthreads);
}

MP_SYMVER_V0(mp_v0_seqnos_loop, seqnos_mempager_server_loop);

int mempager_server_stop(int fd)
{
	static const uint64_t one = 1;
	struct mp_loop *l;
	int ret = -1;

	pthread_mutex_lock(&mp_loops_lock);
	for (l = mp_loops; l; l = l->next)
		if (l->fd == fd)
			break;
	if (l)
		ret = write(l->stopfd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
	else
		errno = ESRCH;
	pthread_mutex_unlock(&mp_loops_lock);
	return ret;
}
