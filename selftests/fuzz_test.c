// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded, seeded ABI fuzzer: several processes with several threads
 * each throw random and mutated ioctls, message reads (read(2) and
 * MEMPAGER_RECEIVE), mmaps, munmaps, mprotects, forks (whose children touch
 * and msync the mappings under an alarm) and closes at /dev/mempager, and
 * sometimes serve the messages they read like a real pager, for a fixed
 * number of operations. The kernel must not splat or leak (the VM harness
 * checks the log and kmemleak); every object must be gone at the end.
 *
 * The seed is printed; replay with MEMPAGER_FUZZ_SEED=<seed> or
 * --seed=<seed>. MEMPAGER_FUZZ_OPS / --ops=<n> sets the number of
 * operations (default FUZZ_OPS; rounded up to a multiple of the number of
 * threads, which share them). Thread interleavings are not replayed,
 * only each thread's sequence of operations. MEMPAGER_FUZZ_ROUNDS /
 * --rounds=<n> runs the tests n times, each in a new process, the fuzzer
 * with the seeds seed, seed + 1, ..., seed + n - 1 (make soak: many
 * operations, each round within the test's timeout).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

#define FUZZ_SEED 20260101ULL
#define FUZZ_OPS 12000
#define NPROC 3
#define NTHREAD 2
#define SLOTS 24
#define MAXPG 16

static uint64_t fuzz_seed = FUZZ_SEED;
static unsigned long fuzz_ops = FUZZ_OPS;

enum fd_kind { K_NONE, K_DEV, K_OBJ };

struct fobj {
	int mfd;
	uint32_t handle;
	uint64_t control;
	uint64_t name;
	uint32_t npages;
};

struct fmap {
	unsigned char *addr;
	size_t len;
};

/* One worker process's view, shared by its threads (under lock). */
struct world {
	pthread_mutex_t lock;
	int fd[SLOTS];
	enum fd_kind kind[SLOTS];
	struct fobj obj[SLOTS];
	struct fmap map[SLOTS];
	unsigned char *scratch;		/* MAXPG * 4 pages, prefaulted */
	unsigned long *done;		/* shared with the parent */
	unsigned long *stat;
};

enum { ST_IOCTL_OK, ST_IOCTL_ERR, ST_MSGS, ST_MAPS, ST_FORKS, ST_SERVED,
       ST_MAX };

static int pick_fd(struct world *w, struct hu_rng *r, enum fd_kind want)
{
	int i, s = hu_rnd(r, SLOTS);

	for (i = 0; i < SLOTS; i++, s = (s + 1) % SLOTS)
		if (w->kind[s] != K_NONE && (want == K_NONE || w->kind[s] == want))
			return w->fd[s];
	/* Sometimes a number that is no fd of ours, or not a mempager fd. */
	return hu_rnd(r, 2) ? -1 : 1000;
}

static void add_fd(struct world *w, struct hu_rng *r, int fd, enum fd_kind k)
{
	int s = hu_rnd(r, SLOTS);

	if (fd < 0)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->kind[s] != K_NONE)
		close(w->fd[s]);
	w->fd[s] = fd;
	w->kind[s] = k;
	pthread_mutex_unlock(&w->lock);
}

static void add_obj(struct world *w, struct hu_rng *r, struct fobj o)
{
	w->obj[hu_rnd(r, SLOTS)] = o;
}

static struct fobj *pick_obj(struct world *w, struct hu_rng *r)
{
	int i, s = hu_rnd(r, SLOTS);

	for (i = 0; i < SLOTS; i++, s = (s + 1) % SLOTS)
		if (w->obj[s].handle)
			return &w->obj[s];
	return &w->obj[0];
}

/* Note the control of the messages read from @mfd. */
static void learn(struct world *w, int mfd, struct mempager_msg *m, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (m[i].type != MEMPAGER_MSG_INIT)
			continue;
		for (j = 0; j < SLOTS; j++)
			if (w->obj[j].mfd == mfd && w->obj[j].handle == m[i].object)
				w->obj[j].control = m[i].control;
	}
}

/* A value for a field: usually sensible, sometimes hostile. */
static uint64_t fval(struct hu_rng *r, uint64_t good)
{
	switch (hu_rnd(r, 24)) {
	case 0: return 0;
	case 1: return hu_rng_next(r);
	case 2: return 1ULL << hu_rnd(r, 64);
	case 3: return good + PS * (hu_rnd(r, 3) - 1);
	case 4: return good ^ 1;
	default: return good;
	}
}

static uint64_t fptr(struct world *w, struct hu_rng *r)
{
	switch (hu_rnd(r, 10)) {
	case 0: return 0;
	case 1: return 0xffffffff81000000ULL;	/* a kernel address */
	case 2: return (uintptr_t)w->scratch + hu_rnd(r, PS);	/* unaligned */
	case 3: return hu_rng_next(r) & 0x7ffffffff000ULL;
	default: return (uintptr_t)w->scratch;
	}
}

/* Build a mutated call of @nr into @buf (128 bytes): its size. */
static uint32_t build(struct world *w, struct hu_rng *r, unsigned int nr,
		      uint8_t *buf, int *mfd)
{
	struct fobj *o = pick_obj(w, r);
	uint32_t size = 0;

	memset(buf, 0, 128);
	*mfd = o->mfd;
	switch (nr) {
	case MEMPAGER_CMD_API: {
		struct mempager_api *a = (void *)buf;

		size = sizeof(*a);
		a->features = fval(r, 0);
		break;
	}
	case MEMPAGER_CMD_OBJECT_CREATE: {
		struct mempager_object_create *c = (void *)buf;

		size = sizeof(*c);
		c->object_size = fval(r, (1 + hu_rnd(r, MAXPG)) * PS);
		c->mode = fval(r, 0600);
		break;
	}
	case MEMPAGER_CMD_OBJECT_OPEN: {
		struct mempager_object_open *op = (void *)buf;

		size = sizeof(*op);
		op->name = fval(r, o->name);
		op->flags = fval(r, MEMPAGER_OPEN_WRITE) & 3;
		break;
	}
	case MEMPAGER_CMD_OBJECT_BIND: {
		struct mempager_object_bind *b = (void *)buf;

		size = sizeof(*b);
		b->fd = pick_fd(w, r, K_OBJ);
		*mfd = pick_fd(w, r, K_DEV);
		break;
	}
	case MEMPAGER_CMD_READY:
	case MEMPAGER_CMD_CHANGE_ATTRIBUTES:
	case MEMPAGER_CMD_GET_ATTRIBUTES: {
		struct mempager_attributes *a = (void *)buf;

		size = sizeof(*a);
		a->object = fval(r, o->handle);
		a->control = fval(r, o->control);
		a->may_cache = fval(r, hu_rnd(r, 2)) & 3;
		a->copy_strategy = fval(r, hu_rnd(r, 4)) & 7;
		a->flags = hu_rnd(r, 4) ? 0 : MEMPAGER_REPLY;
		break;
	}
	case MEMPAGER_CMD_DATA_SUPPLY: {
		struct mempager_data_supply *d = (void *)buf;
		uint32_t n = 1 + hu_rnd(r, MAXPG);

		size = sizeof(*d);
		d->object = fval(r, o->handle);
		d->control = fval(r, o->control);
		d->offset = fval(r, hu_rnd(r, o->npages ? o->npages : 1) * PS);
		d->length = fval(r, n * PS);
		d->data = fptr(w, r);
		d->lock_value = hu_rnd(r, 3) ? 0 : hu_rnd(r, 9);
		d->flags = hu_rnd(r, 4);
		break;
	}
	case MEMPAGER_CMD_DATA_UNAVAILABLE:
	case MEMPAGER_CMD_DATA_ERROR: {
		struct mempager_data_range *d = (void *)buf;

		size = sizeof(*d);
		d->object = fval(r, o->handle);
		d->control = fval(r, o->control);
		d->offset = fval(r, hu_rnd(r, o->npages ? o->npages : 1) * PS);
		d->length = fval(r, (1 + hu_rnd(r, 4)) * PS);
		d->reason = hu_rnd(r, 4) ? 0 : hu_rng_next(r);
		break;
	}
	case MEMPAGER_CMD_DESTROY: {
		struct mempager_destroy *d = (void *)buf;

		size = sizeof(*d);
		d->object = fval(r, o->handle);
		d->control = fval(r, o->control);
		break;
	}
	case MEMPAGER_CMD_REGION: {
		struct mempager_region *g = (void *)buf;
		struct fmap *m = &w->map[hu_rnd(r, SLOTS)];

		size = sizeof(*g);
		g->addr = fval(r, (uintptr_t)m->addr);
		break;
	}
	case MEMPAGER_CMD_LOCK_REQUEST: {
		struct mempager_lock_request *l = (void *)buf;

		size = sizeof(*l);
		l->object = fval(r, o->handle);
		l->control = fval(r, o->control);
		l->offset = fval(r, hu_rnd(r, o->npages ? o->npages : 1) * PS);
		l->length = fval(r, (1 + hu_rnd(r, 8)) * PS);
		l->should_return = hu_rnd(r, 5);
		l->should_flush = hu_rnd(r, 3) & 1;
		l->lock_value = hu_rnd(r, 10);
		l->flags = hu_rnd(r, 2);
		break;
	}
	case MEMPAGER_CMD_SYNCHRONIZE_COMPLETED: {
		struct mempager_synchronize_completed *s = (void *)buf;

		size = sizeof(*s);
		s->object = fval(r, o->handle);
		s->control = fval(r, o->control);
		s->offset = fval(r, 0);
		s->length = fval(r, PS);
		break;
	}
	case MEMPAGER_CMD_RECEIVE: {
		struct mempager_receive *v = (void *)buf;

		size = sizeof(*v);
		v->msgs = fptr(w, r);
		v->msgs_max = fval(r, 1 + hu_rnd(r, 16));
		v->data = fptr(w, r);
		v->data_size = fval(r, hu_rnd(r, 3 * MAXPG) * PS);
		*mfd = pick_fd(w, r, K_DEV);
		break;
	}
	default:
		size = 8 + 8 * hu_rnd(r, 14);
		for (uint32_t i = 4; i < size; i++)
			buf[i] = hu_rng_next(r);
		break;
	}
	/* Mutate: flip a byte, or change the size. */
	if (!hu_rnd(r, 10))
		buf[4 + hu_rnd(r, size > 4 ? size - 4 : 1)] ^= 1 << hu_rnd(r, 8);
	switch (hu_rnd(r, 24)) {
	case 0: size = hu_rnd(r, size); break;
	case 1: size += 8; break;
	case 2: size += 8; buf[size - 1] = 1; break;
	case 3: size = hu_rnd(r, 4) ? 128 : 0xffffffff; break;
	}
	memcpy(buf, &size, 4);
	if (hu_rnd(r, 16) == 0)
		*mfd = pick_fd(w, r, K_NONE);
	return size;
}

/* Read and answer messages of a manager fd, as a pager would. */
static void serve(struct world *w, struct hu_rng *r, int mfd)
{
	struct mempager_msg m[8];
	int n, i;

	n = mempager_receive_data(mfd, m, 8, w->scratch + MAXPG * PS,
				  2 * MAXPG * PS);
	if (n <= 0)
		return;
	pthread_mutex_lock(&w->lock);
	learn(w, mfd, m, n);
	pthread_mutex_unlock(&w->lock);
	w->stat[ST_MSGS] += n;
	for (i = 0; i < n; i++) {
		memory_object_control_t c = mempager_msg_control(mfd, &m[i]);

		switch (m[i].type) {
		case MEMPAGER_MSG_INIT:
			memory_object_ready(c, hu_rnd(r, 2), hu_rnd(r, 4));
			break;
		case MEMPAGER_MSG_DATA_REQUEST:
			switch (hu_rnd(r, 6)) {
			case 0:
				memory_object_data_unavailable(c,
					m[i].request.offset, m[i].request.length);
				break;
			case 1:
				memory_object_data_error(c, m[i].request.offset,
					m[i].request.length, 5);
				break;
			default:
				memory_object_data_supply(c, m[i].request.offset,
					w->scratch, m[i].request.length,
					hu_rnd(r, 4) ? 0 : VM_PROT_WRITE,
					hu_rnd(r, 4) == 0, hu_rnd(r, 2));
			}
			break;
		case MEMPAGER_MSG_DATA_UNLOCK:
			memory_object_lock_request(c, m[i].request.offset,
				m[i].request.length, hu_rnd(r, 4), 0,
				VM_PROT_NONE, hu_rnd(r, 2));
			break;
		case MEMPAGER_MSG_SYNCHRONIZE:
			memory_object_synchronize_completed(c, m[i].range.offset,
							    m[i].range.length);
			break;
		}
		w->stat[ST_SERVED]++;
	}
}

static void one_op(struct world *w, struct hu_rng *r, int in_child);

/* A child that touches and msyncs mappings, under an alarm. */
static void fork_op(struct world *w, struct hu_rng *r)
{
	uint64_t child_seed = hu_rng_next(r);
	pid_t pid = fork();

	if (pid == 0) {
		struct hu_rng cr;
		int i, n;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(3);
		hu_rng_seed(&cr, child_seed);
		n = 4 + hu_rnd(&cr, 12);
		for (i = 0; i < n; i++)
			one_op(w, &cr, 1);
		_exit(0);
	}
	if (pid > 0) {
		/* Stuck past the alarm: SIGKILL must still work. */
		int status = tp_wait(pid, 15000);

		if (status == -1)
			w->stat[ST_MAX]++;	/* counted as a hang */
		w->stat[ST_FORKS]++;
	}
}

static void one_op(struct world *w, struct hu_rng *r, int in_child)
{
	uint8_t buf[136];
	struct fmap *m;
	int fd, s, nr;
	unsigned int op = hu_rnd(r, in_child ? 20 : 100);

	if (in_child && op < 6) {
		/* Touch a page of a mapping: read or write. */
		m = &w->map[hu_rnd(r, SLOTS)];
		if (m->addr) {
			volatile unsigned char *a = m->addr + hu_rnd(r, m->len / PS) * PS;

			if (hu_rnd(r, 2))
				*a = 1;
			else
				(void)*a;
		}
		return;
	}
	if (in_child && op < 8) {
		m = &w->map[hu_rnd(r, SLOTS)];
		if (m->addr)
			msync(m->addr, m->len, hu_rnd(r, 2) ? MS_SYNC : MS_ASYNC);
		return;
	}
	if (in_child)
		op = hu_rnd(r, 100);

	if (op < 8) {			/* open */
		add_fd(w, r, open("/dev/mempager", O_RDWR | O_NONBLOCK | O_CLOEXEC),
		       K_DEV);
	} else if (op < 14) {		/* close */
		s = hu_rnd(r, SLOTS);
		pthread_mutex_lock(&w->lock);
		if (w->kind[s] != K_NONE) {
			close(w->fd[s]);
			w->kind[s] = K_NONE;
		}
		pthread_mutex_unlock(&w->lock);
	} else if (op < 24) {		/* create, well formed */
		struct fobj o = { 0 };
		int ofd;

		fd = pick_fd(w, r, K_DEV);
		o.npages = 1 + hu_rnd(r, MAXPG);
		if (!mempager_object_create(fd, o.npages * PS, hu_rnd(r, 2) ? 0600 : 0666,
					    &o.handle, &ofd, &o.name)) {
			o.mfd = fd;
			pthread_mutex_lock(&w->lock);
			add_obj(w, r, o);
			pthread_mutex_unlock(&w->lock);
			add_fd(w, r, ofd, K_OBJ);
		}
	} else if (op < 34) {		/* mmap */
		size_t len = (1 + hu_rnd(r, MAXPG)) * PS;
		int prot = hu_rnd(r, 4) ? PROT_READ | PROT_WRITE : PROT_READ;
		void *a;

		fd = pick_fd(w, r, hu_rnd(r, 3) ? K_OBJ : K_DEV);
		a = mmap(NULL, len, prot, hu_rnd(r, 10) ? MAP_SHARED : MAP_PRIVATE,
			 fd, hu_rnd(r, 4) ? 0 : hu_rnd(r, 4) * PS);
		if (a != MAP_FAILED) {
			w->stat[ST_MAPS]++;
			s = hu_rnd(r, SLOTS);
			pthread_mutex_lock(&w->lock);
			if (w->map[s].addr)
				munmap(w->map[s].addr, w->map[s].len);
			w->map[s] = (struct fmap){ a, len };
			pthread_mutex_unlock(&w->lock);
		}
	} else if (op < 40) {		/* munmap, whole or a piece */
		s = hu_rnd(r, SLOTS);
		pthread_mutex_lock(&w->lock);
		m = &w->map[s];
		if (m->addr) {
			if (hu_rnd(r, 3)) {
				munmap(m->addr, m->len);
				m->addr = NULL;
			} else {
				munmap(m->addr + hu_rnd(r, m->len / PS) * PS, PS);
			}
		}
		pthread_mutex_unlock(&w->lock);
	} else if (op < 43) {		/* mprotect / madvise */
		m = &w->map[hu_rnd(r, SLOTS)];
		if (m->addr) {
			if (hu_rnd(r, 2))
				mprotect(m->addr, m->len, hu_rnd(r, 2) ?
					 PROT_READ : PROT_READ | PROT_WRITE);
			else
				madvise(m->addr, m->len, hu_rnd(r, 2) ?
					MADV_DONTNEED : MADV_DONTFORK);
		}
	} else if (op < 70) {		/* a mutated ioctl */
		unsigned int cmd;

		nr = hu_rnd(r, MEMPAGER_CMD_MAX + 2);
		build(w, r, nr, buf, &fd);
		cmd = hu_rnd(r, 16) ? _IO(MEMPAGER_TYPE, nr) :
		      _IOWR(MEMPAGER_TYPE, nr, uint64_t);
		if (!ioctl(fd, cmd, buf)) {
			w->stat[ST_IOCTL_OK]++;
			if (nr == MEMPAGER_CMD_OBJECT_CREATE) {
				struct mempager_object_create *c = (void *)buf;
				struct fobj o = { fd, c->out_object, 0,
						  c->out_name, c->object_size / PS };

				pthread_mutex_lock(&w->lock);
				add_obj(w, r, o);
				pthread_mutex_unlock(&w->lock);
				add_fd(w, r, c->out_fd, K_OBJ);
			} else if (nr == MEMPAGER_CMD_OBJECT_OPEN) {
				add_fd(w, r, ((struct mempager_object_open *)buf)->out_fd,
				       K_OBJ);
			}
		} else {
			w->stat[ST_IOCTL_ERR]++;
		}
	} else if (op < 78) {		/* read(2), any size */
		struct mempager_msg msgs[8];
		ssize_t n;

		fd = pick_fd(w, r, K_NONE);
		n = read(fd, msgs, hu_rnd(r, sizeof(msgs) + 8));
		if (n > 0) {
			pthread_mutex_lock(&w->lock);
			learn(w, fd, msgs, n / sizeof(msgs[0]));
			pthread_mutex_unlock(&w->lock);
			w->stat[ST_MSGS] += n / sizeof(msgs[0]);
		}
	} else if (op < 92) {		/* act as the pager */
		serve(w, r, pick_fd(w, r, K_DEV));
	} else if (op < 94) {
		struct pollfd p = { .fd = pick_fd(w, r, K_NONE), .events = POLLIN };

		poll(&p, 1, 0);
	} else if (op < 96) {		/* dup an fd into a slot */
		fd = pick_fd(w, r, K_NONE);
		s = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (s >= 0)
			add_fd(w, r, s, fd == pick_fd(w, r, K_OBJ) ? K_OBJ : K_DEV);
	} else if (!in_child && op < 99) {
		fork_op(w, r);
	}
}

struct tharg {
	struct world *w;
	uint64_t seed;
	unsigned long ops;
};

/* Each thread's share of the operations, rounded up. */
static unsigned long thread_ops(void)
{
	return (fuzz_ops + NPROC * NTHREAD - 1) / (NPROC * NTHREAD);
}

static void *worker_thread(void *arg)
{
	struct tharg *t = arg;
	struct hu_rng r;
	unsigned long i;

	hu_rng_seed(&r, t->seed);
	for (i = 0; i < t->ops; i++) {
		one_op(t->w, &r, 0);
		__atomic_add_fetch(t->w->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void worker(int id, unsigned long *done, unsigned long *stat)
{
	struct world w = { .lock = PTHREAD_MUTEX_INITIALIZER, .done = done,
			   .stat = stat };
	struct tharg t[NTHREAD];
	pthread_t th[NTHREAD];
	int i;

	/* A SIGBUS or SIGSEGV of a child is expected; the worker does not touch. */
	w.scratch = malloc(4 * MAXPG * PS);
	memset(w.scratch, 0x5c, 4 * MAXPG * PS);
	for (i = 0; i < NTHREAD; i++) {
		t[i].w = &w;
		t[i].seed = fuzz_seed * 1000003ULL + id * NTHREAD + i;
		t[i].ops = thread_ops();
		pthread_create(&th[i], NULL, worker_thread, &t[i]);
	}
	for (i = 0; i < NTHREAD; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < SLOTS; i++) {
		if (w.map[i].addr)
			munmap(w.map[i].addr, w.map[i].len);
		if (w.kind[i] != K_NONE)
			close(w.fd[i]);
	}
	_exit(0);
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, abi, 600)
{
	unsigned long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned long *done = shared, *stat = shared + 8;
	int objs = hu_count_objects(), i, n = -1, status;
	long long t0 = hu_now_ms();
	pid_t pid[NPROC];

	ASSERT_NE(MAP_FAILED, shared);
	/* The children's expected SIGSEGVs need not fill the kernel log. */
	tp_write_file("/proc/sys/debug/exception-trace", "0");
	printf("# fuzz: seed %llu, %lu operations, %d processes x %d threads (replay: MEMPAGER_FUZZ_SEED=%llu)\n",
	       (unsigned long long)fuzz_seed, fuzz_ops, NPROC, NTHREAD,
	       (unsigned long long)fuzz_seed);
	fflush(stdout);
	for (i = 0; i < NPROC; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker(i, done, stat);
		}
	}
	for (i = 0; i < NPROC; i++) {
		status = tp_wait(pid[i], 500000);
		EXPECT_TRUE(tp_exited_ok(status))
			TH_LOG("worker %d: status %d (seed %llu)", i, status,
			       (unsigned long long)fuzz_seed);
	}
	printf("# fuzz: %lu operations in %lld ms: %lu ioctls ok, %lu failed, %lu messages, %lu served, %lu mappings, %lu forks\n",
	       *done, hu_now_ms() - t0, stat[ST_IOCTL_OK], stat[ST_IOCTL_ERR],
	       stat[ST_MSGS], stat[ST_SERVED], stat[ST_MAPS], stat[ST_FORKS]);
	EXPECT_EQ(0, stat[ST_MAX]) TH_LOG("children stuck past their alarm");
	EXPECT_EQ(thread_ops() * NPROC * NTHREAD, *done);
	/* Every object is freed once nothing refers to it. */
	for (i = 0; i < 200; i++) {
		n = hu_count_objects();
		if (n == objs)
			break;
		usleep(20000);
	}
	EXPECT_EQ(objs, n) TH_LOG("objects left after the fuzzer (seed %llu)",
				  (unsigned long long)fuzz_seed);
}

/*
 * Directed: a structure the kernel can read but not write back. The call
 * fails with EFAULT, so it must leave nothing behind: no fd, no object.
 */
TEST(create_with_unwritable_struct_leaves_nothing)
{
	struct mempager_object_create *oc;
	int fd = mempager_open(), objs = hu_count_objects(), fds;

	ASSERT_GE(fd, 0);
	oc = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, oc);
	oc->size = sizeof(*oc);
	oc->object_size = 4 * PS;
	oc->mode = 0600;
	ASSERT_EQ(0, mprotect(oc, PS, PROT_READ));
	fds = hu_count_fds();
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_OBJECT_CREATE, oc));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(fds, hu_count_fds());
	EXPECT_EQ(objs, hu_count_objects())
		TH_LOG("MEMPAGER_OBJECT_CREATE failed with EFAULT but its object lives on");
	close(fd);
	munmap(oc, PS);
}

/* Round @round of --rounds: the next seed. */
static void fuzz_round(unsigned long round)
{
	fuzz_seed += round;
}

int main(int argc, char **argv)
{
	const char *e = getenv("MEMPAGER_FUZZ_SEED");
	unsigned long rounds = 1;
	int i, j = 1;

	if (e)
		fuzz_seed = strtoull(e, NULL, 0);
	e = getenv("MEMPAGER_FUZZ_OPS");
	if (e)
		fuzz_ops = strtoul(e, NULL, 0);
	e = getenv("MEMPAGER_FUZZ_ROUNDS");
	if (e && *e)
		rounds = strtoul(e, NULL, 0);
	/* Take --seed=, --ops= and --rounds= out before the harness parses argv. */
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--seed=", 7))
			fuzz_seed = strtoull(argv[i] + 7, NULL, 0);
		else if (!strncmp(argv[i], "--ops=", 6))
			fuzz_ops = strtoul(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "--rounds=", 9))
			rounds = strtoul(argv[i] + 9, NULL, 0);
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	if (rounds > 1)
		return tp_harness_rounds(j, argv, rounds, 0, fuzz_round);
	return test_harness_run(j, argv);
}
