/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mempager selftests: a test pager, message reading
 * with time-outs, page patterns, and faults taken in child processes (so a
 * SIGBUS is observed rather than suffered).
 */
#ifndef MEMPAGER_PAGER_UTIL_H
#define MEMPAGER_PAGER_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmempager.h"

#define PS ((size_t)sysconf(_SC_PAGESIZE))
/* How long the tests wait for something that must happen (TCG is slow). */
#define TP_TIMEOUT_MS 20000
/* How long they wait to be sure that something does not happen. */
#define TP_QUIET_MS 300
/* Pages data_supply copies per trip through the object mutex (kmod/pagecache.c). */
#define TP_SUPPLY_BATCH 64

/**
 * struct tpager - a test pager: a manager fd with one object
 * @mfd: the manager fd
 * @ofd: an object fd
 * @name: the object's name
 * @npages: its size in pages
 * @ctl: its control, once tp_expect_init() saw the init message
 */
struct tpager {
	int mfd;
	int ofd;
	uint64_t name;
	size_t npages;
	memory_object_control_t ctl;
};

static inline int tp_create(struct tpager *tp, size_t npages, unsigned int mode)
{
	uint32_t object;

	memset(tp, 0, sizeof(*tp));
	tp->npages = npages;
	tp->mfd = mempager_open();
	if (tp->mfd < 0)
		return -1;
	if (mempager_object_create(tp->mfd, npages * PS, mode, &object,
				   &tp->ofd, &tp->name))
		return -1;
	tp->ctl.fd = tp->mfd;
	tp->ctl.object = object;
	return 0;
}

static inline void tp_destroy(struct tpager *tp)
{
	if (tp->ofd > 0)
		close(tp->ofd);
	if (tp->mfd > 0)
		close(tp->mfd);
}

/* Read one message within @timeout_ms: 1, or 0 on time-out, -1 on error. */
static inline int tp_next(int mfd, struct mempager_msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = mfd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n <= 0)
		return n;
	return read(mfd, m, sizeof(*m)) == sizeof(*m) ? 1 : -1;
}

static inline void *tp_map(int fd, size_t npages, size_t first_page)
{
	return mmap(NULL, npages * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    first_page * PS);
}

/* The byte a test pager keeps at @i of page @pgoff, for pattern @seed. */
static inline unsigned char tp_byte(size_t pgoff, size_t i, unsigned int seed)
{
	return (unsigned char)(pgoff * 131 + i * 7 + seed + (i >> 8));
}

static inline void tp_fill(void *buf, size_t pgoff, unsigned int seed)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < PS; i++)
		b[i] = tp_byte(pgoff, i, seed);
}

/* 0 when the page at @p holds the pattern of @pgoff and @seed. */
static inline int tp_check(const void *p, size_t pgoff, unsigned int seed)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < PS; i++)
		if (b[i] != tp_byte(pgoff, i, seed))
			return -1;
	return 0;
}

/* Supply page @pgoff with its pattern; returns the kern_return_t. */
static inline kern_return_t tp_supply(struct tpager *tp, size_t pgoff,
				      unsigned int seed, int reply)
{
	char *buf = malloc(PS);
	kern_return_t kr;

	tp_fill(buf, pgoff, seed);
	kr = memory_object_data_supply(tp->ctl, pgoff * PS, buf, PS, 0, 0,
				       reply);
	free(buf);
	return kr;
}

/*
 * Fork a child that touches byte 0 of @addr (reading it, or writing @val)
 * and exits 0 if it then reads @val there, 1 otherwise.
 */
static inline pid_t tp_touch_child(volatile unsigned char *addr, int write,
				   unsigned char val)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (write)
			*addr = val;
		_exit(*addr == val ? 0 : 1);
	}
	return pid;
}

/*
 * Wait up to @timeout_ms for @pid; returns its wait status, or -1 on
 * time-out (the child is then killed and reaped).
 */
static inline int tp_wait(pid_t pid, int timeout_ms)
{
	int status, waited = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -2;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(10000);
		waited += 10;
	}
}

/* Copy the file at @path to stderr, each line after @prefix; 0 or -1. */
static inline int tp_cat(const char *path, const char *prefix)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "%s%s", prefix, line);
	fclose(f);
	return 0;
}

/*
 * Read the small /proc file @path (a line of stat, a wchan) into @buf, NUL
 * terminated; an empty string when it cannot be read.
 */
static inline void tp_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

/* The state letter of a task's "pid (comm) S ..." stat line, or 0. */
static inline char tp_stat_state(const char *stat)
{
	const char *p = strrchr(stat, ')');

	return p && p[1] ? p[2] : 0;
}

/*
 * Evidence for a test that is stuck: the state, wait channel and kernel
 * stack of every thread of @pid (0: this process) on stderr, which the
 * test VM keeps in its log. Reads nothing that can block on mempager.
 */
static inline void tp_dump_task(pid_t pid)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid ? pid : getpid());
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "# tp_dump_task: %s: %s\n", path, strerror(errno));
		return;
	}
	while ((d = readdir(dir))) {
		char stat[256], wchan[64];

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat",
			 pid ? pid : getpid(), d->d_name);
		tp_read_small(path, stat, sizeof(stat));
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan",
			 pid ? pid : getpid(), d->d_name);
		tp_read_small(path, wchan, sizeof(wchan));
		fprintf(stderr, "# task %s: state %c wchan %s: %.40s\n",
			d->d_name, tp_stat_state(stat) ?: '?', wchan, stat);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack",
			 pid ? pid : getpid(), d->d_name);
		if (tp_cat(path, "#   "))
			fprintf(stderr, "#   (no %s: %s)\n", path, strerror(errno));
	}
	closedir(dir);
}

/*
 * Put the blocked tasks' stacks (sysrq w) and the CPUs' (sysrq l) in the
 * kernel log, which the test VM prints at the end.
 */
static inline void tp_sysrq_dump(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	if (fd < 0) {
		fprintf(stderr, "# no /proc/sysrq-trigger: %s\n", strerror(errno));
		return;
	}
	if (write(fd, "w", 1) != 1 || write(fd, "l", 1) != 1)
		fprintf(stderr, "# sysrq: %s\n", strerror(errno));
	close(fd);
}

/*
 * A watchdog for a test whose time goes into many waits rather than one
 * that can be bounded: unless tp_watchdog_stop() comes first, at @ms it
 * logs the test's phase and leaves the evidence of what is stuck (this
 * process's threads, the child @pid's if set, the blocked tasks' kernel
 * stacks) before the harness kills the test after its 30 s.
 */
struct tp_watchdog {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct timespec start, deadline;
	int done, started;
	volatile pid_t pid;		/* a child to dump too, or 0 */
	const char *volatile phase;	/* what the test is doing */
};

static inline double tp_elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) +
	       (now.tv_nsec - since->tv_nsec) / 1e9;
}

static inline void *tp_watchdog_fn(void *arg)
{
	struct tp_watchdog *w = arg;
	int timedout = 0;

	pthread_mutex_lock(&w->lock);
	while (!w->done && !timedout)
		timedout = pthread_cond_timedwait(&w->cond, &w->lock,
						  &w->deadline) == ETIMEDOUT;
	pthread_mutex_unlock(&w->lock);
	if (!w->done) {
		fprintf(stderr, "# watchdog: still %s after %.1f s: our threads\n",
			w->phase, tp_elapsed(&w->start));
		tp_dump_task(0);
		if (w->pid > 0) {
			fprintf(stderr, "# watchdog: child %d\n", w->pid);
			tp_dump_task(w->pid);
		}
		tp_sysrq_dump();
	}
	return NULL;
}

static inline void tp_watchdog_start(struct tp_watchdog *w, int ms)
{
	pthread_condattr_t a;

	w->done = 0;
	w->pid = 0;
	w->phase = "starting";
	clock_gettime(CLOCK_MONOTONIC, &w->start);
	w->deadline = w->start;
	w->deadline.tv_sec += ms / 1000;
	w->deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (w->deadline.tv_nsec >= 1000000000L) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000L;
	}
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &a);
	pthread_condattr_destroy(&a);
	pthread_mutex_init(&w->lock, NULL);
	w->started = !pthread_create(&w->th, NULL, tp_watchdog_fn, w);
	if (!w->started)
		fprintf(stderr, "# tp_watchdog_start: no thread\n");
}

static inline void tp_watchdog_stop(struct tp_watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->th, NULL);
}

static inline int tp_sigbus(int status)
{
	return status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS;
}

static inline int tp_exited_ok(int status)
{
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Send @fd over a Unix socket (SCM_RIGHTS). */
static inline int tp_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

/* Receive an fd sent by tp_send_fd(); -1 on error. */
static inline int tp_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* A line of /sys/kernel/debug/mempager/objects for @name, parsed. */
struct tp_stats {
	unsigned long maps, resident, outstanding, requests, supplied;
	unsigned long unavailable, errors, present, inits, terminates;
	unsigned long unlocks, returned, evicted;
	char state[16];
};

static inline int tp_stats(uint64_t name, struct tp_stats *s)
{
	FILE *f = fopen("/sys/kernel/debug/mempager/objects", "r");
	char line[512];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long n;
		unsigned int handle;
		unsigned long pages;

		if (sscanf(line, "%llu %u %lu %15s %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu",
			   &n, &handle, &pages, s->state, &s->maps,
			   &s->resident, &s->outstanding, &s->requests,
			   &s->supplied, &s->unavailable, &s->errors,
			   &s->present, &s->inits, &s->terminates,
			   &s->unlocks, &s->returned, &s->evicted) == 17 &&
		    n == name) {
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * Long tests (minutes on TCG) run only in the lanes that ask for them:
 * MEMPAGER_HEAVY lists their names; when it is unset, all run.
 */
static inline int tp_heavy_wanted(const char *name)
{
	const char *list = getenv("MEMPAGER_HEAVY");

	return !list || strstr(list, name);
}

/*
 * Where the example pagers are: $MEMPAGER_TOOLS, else ../tools beside the
 * test binary (build/tools next to build/selftests, /tools in the VM).
 * Half of PATH_MAX, so that callers' PATH_MAX buffers hold it and a name.
 */
static inline const char *tp_tools_dir(void)
{
	static char dir[PATH_MAX / 2];
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("MEMPAGER_TOOLS"))
		return getenv("MEMPAGER_TOOLS");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "/tools";
	exe[n] = 0;
	snprintf(dir, sizeof(dir), "%s/../tools", dirname(exe));
	return dir;
}

/* The guest's RAM (MemTotal) in pages, 0 if unknown. */
static inline size_t tp_mem_total_pages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long kb = 0;

	if (f) {
		if (fscanf(f, "MemTotal: %lu kB", &kb) != 1)
			kb = 0;
		fclose(f);
	}
	return kb * 1024 / PS;
}

/*
 * Write @val to the file @path (sysctl, debugfs, tracefs, cgroupfs) as a
 * shell's "echo -n val > path" would, O_TRUNC included: 0 or -1.
 */
static inline int tp_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

#define TP_RESIDENT_PARAM "/sys/module/mempager/parameters/max_resident_percent"

/*
 * Write @val to the module parameter max_resident_percent, first reading
 * the old value into @old (@oldlen bytes) unless @old is NULL: 0 or -1.
 */
static inline int tp_set_resident_percent(const char *val, char *old,
					  size_t oldlen)
{
	int fd = open(TP_RESIDENT_PARAM, O_RDWR);
	ssize_t n;

	if (fd < 0)
		return -1;
	if (old) {
		n = pread(fd, old, oldlen - 1, 0);
		old[n > 0 ? n : 0] = 0;
	}
	n = pwrite(fd, val, strlen(val), 0);
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* memory_object_lock_request through the raw ioctl; 0 or -1 and errno. */
static inline int tp_lock(struct tpager *tp, size_t first, size_t npages,
			  unsigned int should_return, int flush,
			  unsigned int lock_value, int reply)
{
	struct mempager_lock_request lr = {
		.size = sizeof(lr), .object = tp->ctl.object,
		.control = tp->ctl.control, .offset = first * PS,
		.length = npages * PS, .should_return = should_return,
		.should_flush = flush, .lock_value = lock_value,
		.flags = reply ? MEMPAGER_REPLY : 0,
	};

	return ioctl(tp->mfd, MEMPAGER_LOCK_REQUEST, &lr);
}

/*
 * One message with its page data (copied to @data, at most @data_size
 * bytes) within @timeout_ms: 1, 0 on time-out, -1 on error.
 */
static inline int tp_recv(int mfd, struct mempager_msg *m, void *data,
			  size_t data_size, int timeout_ms)
{
	struct pollfd p = { .fd = mfd, .events = POLLIN };
	struct mempager_receive r = {
		.size = sizeof(r), .msgs = (uintptr_t)m, .msgs_max = 1,
		.data = (uintptr_t)data, .data_size = data_size,
	};
	int n = poll(&p, 1, timeout_ms);

	if (n <= 0)
		return n;
	if (ioctl(mfd, MEMPAGER_RECEIVE, &r))
		return -1;
	if (r.out_msgs == 1 && m->type == MEMPAGER_MSG_DATA_RETURN &&
	    m->data_return.data_offset)
		memmove(data, (char *)data + m->data_return.data_offset,
			m->data_return.length);
	return r.out_msgs;
}

/*
 * Assertions shared by the tests: they need kselftest_harness.h, which every
 * test includes before this file.
 */
/* Map the whole object, read the init message, answer ready. */
static inline unsigned char *map_ready(struct __test_metadata *_metadata,
				struct tpager *tp, int may_cache)
{
	struct mempager_msg m;
	unsigned char *p = tp_map(tp->ofd, tp->npages, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp->mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	tp->ctl = mempager_msg_control(tp->mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp->ctl, may_cache,
						    MEMORY_OBJECT_COPY_DELAY));
	return p;
}

static inline void expect_request(struct __test_metadata *_metadata,
			   struct tpager *tp, size_t pgoff, unsigned int access)
{
	struct mempager_msg m;

	ASSERT_EQ(1, tp_next(tp->mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
	EXPECT_EQ(tp->ctl.object, m.object);
	EXPECT_EQ(tp->ctl.control, m.control);
	EXPECT_EQ(pgoff * PS, m.request.offset);
	EXPECT_EQ(PS, m.request.length);
	EXPECT_EQ(access, m.request.desired_access);
}

static inline void expect_quiet(struct __test_metadata *_metadata, struct tpager *tp)
{
	struct mempager_msg m;

	ASSERT_EQ(0, tp_next(tp->mfd, &m, TP_QUIET_MS))
		TH_LOG("unexpected message type %u", m.type);
}

/**
 * tp_harness_rounds() - the harness's main(), run again and again (a soak)
 * @argc: as for main()
 * @argv: as for main()
 * @rounds: run at least this many rounds
 * @seconds: and start new rounds until this many seconds have passed
 * @before: if not NULL, called in each round's process before its tests,
 *	    with the round's number (from 0)
 *
 * The harness exits once its tests are done, so each round is a child
 * process running every selected test and printing its own results.
 *
 * Return: 0 when every round passed, else 1.
 */
static inline int tp_harness_rounds(int argc, char **argv, unsigned long rounds,
				    unsigned long seconds,
				    void (*before)(unsigned long round))
{
	struct timespec t0, t;
	unsigned long r, bad = 0;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; ; r++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (r >= rounds && t.tv_sec - t0.tv_sec >= (time_t)seconds)
			break;
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			if (before)
				before(r);
			exit(test_harness_run(argc, argv));
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("# %lu rounds in %ld s, %lu failed\n", r,
	       (long)(t.tv_sec - t0.tv_sec), bad);
	return bad ? 1 : 0;
}

#endif /* MEMPAGER_PAGER_UTIL_H */
