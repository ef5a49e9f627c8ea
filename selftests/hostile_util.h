/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the hostile-conditions selftests (failinject_test, fuzz_test,
 * death_test, limits_test): module parameters, debugfs object counts, a
 * seeded PRNG, faults taken in this thread with SIGBUS caught, per-task
 * fault injection (fail-nth) and cgroup v2 files.
 *
 * Include after kselftest_harness.h and pager_util.h.
 */
#ifndef MEMPAGER_HOSTILE_UTIL_H
#define MEMPAGER_HOSTILE_UTIL_H

#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define HU_PARAM_DIR "/sys/module/mempager/parameters/"
#define HU_OBJECTS "/sys/kernel/debug/mempager/objects"

static inline long long hu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline pid_t hu_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Read a whole small file into @buf (NUL-terminated); -1 on error. */
static inline ssize_t hu_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* A module parameter as a number; -1 when it does not exist. */
static inline long long hu_param_get(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), HU_PARAM_DIR "%s", name);
	if (hu_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtoll(buf, NULL, 0);
}

static inline int hu_param_set(const char *name, long long val)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), HU_PARAM_DIR "%s", name);
	snprintf(buf, sizeof(buf), "%lld\n", val);
	return tp_write_file(path, buf);
}

/* Number of live objects in debugfs; -1 without debugfs. */
static inline int hu_count_objects(void)
{
	FILE *f = fopen(HU_OBJECTS, "r");
	char line[512];
	int n = -1;	/* the header line */

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n < 0 ? 0 : n;
}

/* Open file descriptors of this process. */
static inline int hu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* A small seeded PRNG (splitmix64 to seed, xorshift64* to run). */
struct hu_rng {
	uint64_t s;
};

static inline void hu_rng_seed(struct hu_rng *r, uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->s = (z ^ (z >> 31)) | 1;
}

static inline uint64_t hu_rng_next(struct hu_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n). */
static inline uint32_t hu_rnd(struct hu_rng *r, uint32_t n)
{
	return n ? (uint32_t)((hu_rng_next(r) >> 32) % n) : 0;
}

/*
 * Faults taken by this very thread with SIGBUS (and SIGSEGV) caught: the
 * handler long-jumps back, so a test observes the signal and goes on.
 */
/* volatile: the stores around the access must not be optimised away. */
static __thread sigjmp_buf *volatile hu_jmp;

static inline void hu_sig_handler(int sig)
{
	if (hu_jmp)
		siglongjmp(*hu_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void hu_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = hu_sig_handler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * Touch @addr (read, or write @val): 0 when it worked (*@out gets the byte
 * read), or the signal number it raised.
 */
static inline int hu_touch(volatile unsigned char *addr, int write,
			   unsigned char val, unsigned char *out)
{
	sigjmp_buf jb;
	int sig;

	sig = sigsetjmp(jb, 1);
	if (sig) {
		hu_jmp = NULL;
		return sig;
	}
	hu_jmp = &jb;
	if (write)
		*addr = val;
	val = *addr;
	hu_jmp = NULL;
	if (out)
		*out = val;
	return 0;
}

/*
 * Per-task fault injection: /proc/self/task/<tid>/fail-nth makes the nth
 * fault-injectable allocation of this thread fail (failslab and
 * fail_page_alloc). See Documentation/fault-injection/fault-injection.rst.
 */
static inline bool hu_fi_setup(void)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc" };
	char path[256];
	unsigned int i;

	if (access("/sys/kernel/debug/failslab", F_OK) ||
	    access("/sys/kernel/debug/fail_page_alloc", F_OK))
		return false;
	/* Allow any allocation to be failed, sleeping and order 0 ones too. */
	if (tp_write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") ||
	    tp_write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N") ||
	    tp_write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N") ||
	    tp_write_file("/sys/kernel/debug/fail_page_alloc/min-order", "0"))
		return false;
	for (i = 0; i < 2; i++) {
		/* Quiet: no stack dump per injected failure. */
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose", dirs[i]);
		tp_write_file(path, "0");
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", hu_gettid());
	return access(path, W_OK) == 0;
}

/* This thread's fail-nth file, opened. */
static inline int hu_fi_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", hu_gettid());
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Fail the @nth injectable allocation of this thread from now on. */
static inline int hu_fi_arm(int fd, unsigned int nth)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", nth);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/*
 * Stop injecting. Returns 1 when the failure was injected, 0 when fewer
 * than nth allocations happened, -1 on error.
 */
static inline int hu_fi_disarm(int fd)
{
	char buf[16] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int injected;

	if (n <= 0)
		return -1;
	injected = atoi(buf) == 0;
	if (pwrite(fd, "0", 1, 0) != 1)
		return -1;
	return injected;
}

/* cgroup v2: the root of the hierarchy guest-init mounts. */
#define HU_CGROOT "/sys/fs/cgroup"

/* Create cgroup @name with the memory controller on; 0 or -1. */
static inline int hu_cg_create(const char *name)
{
	char path[256];

	if (access(HU_CGROOT "/cgroup.subtree_control", W_OK))
		return -1;
	tp_write_file(HU_CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(path, sizeof(path), HU_CGROOT "/%s", name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), HU_CGROOT "/%s/memory.current", name);
	return access(path, R_OK) ? -1 : 0;
}

static inline long long hu_cg_read(const char *name, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), HU_CGROOT "/%s/%s", name, file);
	if (hu_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	if (!strncmp(buf, "max", 3))
		return -2;
	return strtoll(buf, NULL, 0);
}

static inline int hu_cg_write(const char *name, const char *file,
			      const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), HU_CGROOT "/%s/%s", name, file);
	return tp_write_file(path, val);
}

/* Move process @pid (0: the caller) into cgroup @name. */
static inline int hu_cg_enter(const char *name, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid ? pid : getpid());
	return hu_cg_write(name, "cgroup.procs", buf);
}

static inline void hu_cg_remove(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), HU_CGROOT "/%s", name);
	rmdir(path);
}

/* Drop to an unprivileged uid/gid (no capabilities left): 0 or -1. */
static inline int hu_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL))
		return -1;
	if (setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -1;
	return 0;
}


/*
 * A pager thread serving one test pager: answers init with ready, every
 * data_request with the page pattern of @seed (or data_unavailable with
 * @unavailable), data_unlock by lifting the lock, synchronize by
 * synchronize_completed; keeps the data of data_returns in @shadow (one
 * page per object page, when set) and counts what it saw.
 */
struct hu_server {
	struct tpager *tp;
	pthread_t thread;
	volatile int stop;
	int may_cache;
	unsigned int seed;
	int unavailable;
	unsigned char *shadow;
	volatile unsigned long inits, requests, unlocks, returned, syncs;
	volatile unsigned long terminates, others;
};

static inline void *hu_server_fn(void *arg)
{
	struct hu_server *s = arg;
	struct tpager *tp = s->tp;
	size_t bufsz = 64 * PS;
	unsigned char *data = malloc(bufsz), *page = malloc(PS);
	struct mempager_msg m;

	while (!s->stop) {
		memory_object_control_t ctl;
		size_t i, n;
		int r = tp_recv(tp->mfd, &m, data, bufsz, 50);

		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				break;
			continue;
		}
		ctl = mempager_msg_control(tp->mfd, &m);
		switch (m.type) {
		case MEMPAGER_MSG_INIT:
			tp->ctl = ctl;
			memory_object_ready(ctl, s->may_cache,
					    MEMORY_OBJECT_COPY_DELAY);
			s->inits++;
			break;
		case MEMPAGER_MSG_DATA_REQUEST:
			s->requests++;
			n = m.request.length / PS;
			for (i = 0; i < n; i++) {
				size_t pg = m.request.offset / PS + i;

				if (s->unavailable) {
					memory_object_data_unavailable(ctl,
						pg * PS, PS);
					continue;
				}
				tp_fill(page, pg, s->seed);
				memory_object_data_supply(ctl, pg * PS, page,
							  PS, 0, 0, 0);
			}
			break;
		case MEMPAGER_MSG_DATA_UNLOCK:
			s->unlocks++;
			memory_object_lock_request(ctl, m.request.offset,
						   m.request.length,
						   MEMORY_OBJECT_RETURN_NONE,
						   0, VM_PROT_NONE, 0);
			break;
		case MEMPAGER_MSG_SYNCHRONIZE:
			s->syncs++;
			memory_object_synchronize_completed(ctl,
				m.range.offset, m.range.length);
			break;
		case MEMPAGER_MSG_DATA_RETURN:
			s->returned += m.data_return.length / PS;
			if (s->shadow && m.data_return.offset +
			    m.data_return.length <= tp->npages * PS)
				memcpy(s->shadow + m.data_return.offset, data,
				       m.data_return.length);
			break;
		case MEMPAGER_MSG_TERMINATE:
			s->terminates++;
			break;
		default:
			s->others++;
			break;
		}
	}
	free(data);
	free(page);
	return NULL;
}

static inline int hu_server_start(struct hu_server *s, struct tpager *tp,
				  int may_cache, unsigned int seed)
{
	memset(s, 0, sizeof(*s));
	s->tp = tp;
	s->may_cache = may_cache;
	s->seed = seed;
	return pthread_create(&s->thread, NULL, hu_server_fn, s);
}

static inline void hu_server_stop(struct hu_server *s)
{
	s->stop = 1;
	pthread_join(s->thread, NULL);
}

#endif /* MEMPAGER_HOSTILE_UTIL_H */
