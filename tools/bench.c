// SPDX-License-Identifier: GPL-2.0
/*
 * bench: mempager against its Linux peers, measured in the same run.
 *
 *   bench [--pages N] [--reps R] [--budget S] [--cases ID,ID...] [--json FILE]
 *   bench --quick      tiny sizes, every page of every case checked,
 *                      no timing verdict; exit status 0 when all is well
 *   bench --list       the cases
 *
 * Cases (N pages each, 64 MiB by default; every case once per round, its
 * mempager and peer runs one after the other, which first alternating; up
 * to R rounds, fewer when --budget runs out; medians reported, and for each
 * ratio mempager / peer its 95% interval by bootstrap over the rounds, see
 * bn_bootstrap()):
 *   1     fault round trip: one thread touches missing pages one at a time,
 *         a pager thread answers each request with one page; the peer is
 *         userfaultfd MISSING + UFFDIO_COPY with the same pager loop. Both
 *         threads run on CPU 0: under TCG a wake-up across virtual CPUs
 *         costs the emulator and the host's scheduler far more than the
 *         code under test (and varies tenfold with the host's load), so the
 *         single-threaded round trips (1, 2, 3b) measure the software path.
 *         1f (threads where the scheduler puts them) and 1x (faulting
 *         thread on CPU 0, pager on CPU 1) run only when named
 *   2.16  batched supply: each request answered with 16 pages (and 2.64
 *         with 64); the peer copies the same cluster with UFFDIO_COPY
 *   3a    zero fill: temporary memory (mmap of /dev/mempager, nothing
 *         bound, MAP_SHARED) written page by page; the peer is anonymous
 *         private memory's first touch (no target; 3s has the same with
 *         shared anonymous memory, shmem, as the peer)
 *   3b    zero fill through a pager answering data_unavailable; the peer
 *         answers userfaultfd with UFFDIO_ZEROPAGE (no target)
 *   4     cache hit: a new mapping of an object whose pages are resident,
 *         read page by page; the peer is a second mapping of a memfd
 *   5.tTpP  scaling: T faulting threads (1, 2, 4) on one object, P pager
 *         threads (1, 2), where the scheduler puts them; the peer is
 *         userfaultfd with the same threads. Speed-ups are taken within a
 *         round against 5.t1p1. Under TCG on a busy host a wake-up across
 *         virtual CPUs can take milliseconds: these rows want a quiet host
 *         (or MEMPAGER_KVM=1), and run on N/8 pages
 *   6     write-back: lock_request(RETURN_DIRTY, flush) of N dirty pages,
 *         received with MEMPAGER_RECEIVE; the peer read()s the same bytes
 *         from a memfd in chunks of the same size
 *   7     clones: 8 processes map one image of N/8 pages and touch every
 *         page once, at the same time, each writing its own 5% of them:
 *         mempager's map one object MAP_PRIVATE (COPY_DELAY) served lazily
 *         by one pager thread; the peer's are 8 userfaultfd regions filled
 *         from the same store by the bench (a pager thread each). Also
 *         reported: the resident memory the clones gained (Rss and Pss of
 *         /proc/PID/smaps_rollup, summed), with the Pss ratio's interval
 *
 * On a guest with one vCPU the cases are named "(1 vCPU)": scripts/bench.sh
 * runs case 1 there too, and merges its rows into the same table.
 *
 * Every pager loop is blocking, with no poll(2), and uses the cheapest
 * calls its interface has: userfaultfd's read(2)s up to 16 messages and
 * makes one ioctl per message; mempager's does the same, except that the
 * answer to the last message of a batch travels with the receipt of the
 * next batch (MEMPAGER_RECEIVE with MEMPAGER_RECEIVE_SUPPLY, one system
 * call, like a Mach server's mach_msg), which userfaultfd has no call for.
 * Times are wall-clock nanoseconds per page of the timed part only (the
 * touches, case 4's second mmap(2) included, or lock_request plus the
 * receive loop; case 7: from the clones' start to the last one's last
 * page, per page of one clone); set-up, verification and tear-down are not
 * timed. A target's verdict is "met" or "MISSED" only when the ratio's
 * whole interval is on one side of it, "unclear" otherwise.
 * Anonymous memory is MADV_NOHUGEPAGE so that the peers fault 4 KiB pages
 * like mempager. --side and BENCH_PERF_CTL (see bn_perf()) help profiling.
 *
 * The table goes to stdout between "==== bench table begin/end ====" lines
 * and the JSON between "==== bench json begin/end ====" (and to --json).
 *
 * Build with -DBENCH_NO_MAIN to use the cases from a test (bench_test.c):
 * bench_quick_case() runs one case in quick mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mempager.h>
#include <linux/userfaultfd.h>

#define BENCH_DEV "/dev/mempager"
/* Messages one read(2) of a pager loop takes at most. */
#define BENCH_MSGS 16
#define BENCH_MAX_THREADS 4
#define BENCH_MAX_PAGERS 2
#define BENCH_MAX_REPS 200
/* Bootstrap of the 95% intervals: resamples, and a fixed seed. */
#define BENCH_BOOT_RESAMPLES 2000
#define BENCH_BOOT_SEED 0x6d656d7061676572ULL
/* Pages per supply ioctl when filling an object before a case. */
#define BENCH_FILL_CHUNK 1024
/* Receive buffer of the write-back case, and the peer's read size. */
#define BENCH_WB_MSGS 64
#define BENCH_WB_BYTES (1 << 20)
/* Default size: 64 MiB of 4 KiB pages. */
#define BENCH_DEFAULT_BYTES (64UL << 20)
#define BENCH_QUICK_PAGES 256
/*
 * Rounds, and the seconds they may take: enough rounds for 95% intervals
 * of a few percent, in a `make bench` of under 15 minutes.
 */
#define BENCH_DEFAULT_REPS 40
#define BENCH_DEFAULT_BUDGET 720
/*
 * The scaling cases wake threads across vCPUs at every fault, which under
 * TCG on a shared host costs milliseconds: they run on 1/8 of the pages,
 * so that a round stays short and there is time for many rounds.
 */
#define BENCH_SCALING_SHRINK 8
/* The clones case: processes, and one page in this many written by each. */
#define BENCH_CLONES 8
#define BENCH_CLONE_WRITE_EVERY 20
/* Pages must divide among 4 threads in whole clusters of 64. */
#define BENCH_PAGE_MULTIPLE 256

enum bench_kind {
	BK_ROUNDTRIP,	/* a pager answers every missing page: 1, 2, 5 */
	BK_ZERO_TEMP,	/* temporary memory vs anonymous memory: 3a */
	BK_ZERO_SHMEM,	/* temporary memory vs shared anonymous (shmem): 3s */
	BK_ZERO_PAGER,	/* data_unavailable vs UFFDIO_ZEROPAGE: 3b */
	BK_CACHE,	/* a new mapping of resident pages: 4 */
	BK_WRITEBACK,	/* lock_request + MEMPAGER_RECEIVE vs read(2): 6 */
	BK_CLONES,	/* MAP_PRIVATE clones vs userfaultfd regions: 7 */
};

/* Where the faulting and pager threads run. */
enum bench_place {
	BP_FREE,	/* where the scheduler puts them */
	BP_SAME,	/* all on CPU 0: the software path, no IPI */
	BP_SPLIT,	/* faulting threads on CPU 0, pager threads on CPU 1 */
};

struct bench_case {
	const char *id;
	const char *name;
	const char *peer;
	enum bench_kind kind;
	size_t cluster;		/* pages per answer */
	int threads;		/* faulting threads (0: the main thread) */
	int pagers;		/* pager threads */
	double target;		/* ratio target, 0 for none */
	bool scaling;		/* the target is throughput growth */
	int place;		/* enum bench_place */
	bool extra;		/* only when named in --cases */
	int shrink;		/* runs on 1/shrink of the pages */
};

static const struct bench_case bench_cases[] = {
	{ "1", "fault round trip", "uffd MISSING+COPY", BK_ROUNDTRIP,
	  1, 0, 1, 0.9, false, BP_SAME, false, 1 },
	{ "1f", "fault round trip, free CPUs", "uffd MISSING+COPY", BK_ROUNDTRIP,
	  1, 0, 1, 0, false, BP_FREE, true, 1 },
	{ "1x", "fault round trip, split CPUs", "uffd MISSING+COPY", BK_ROUNDTRIP,
	  1, 0, 1, 0, false, BP_SPLIT, true, 1 },
	{ "2.16", "batched supply, 16 pages", "uffd COPY 16 pages", BK_ROUNDTRIP,
	  16, 0, 1, 0.5, false, BP_SAME, false, 1 },
	{ "2.64", "batched supply, 64 pages", "uffd COPY 64 pages", BK_ROUNDTRIP,
	  64, 0, 1, 0.7, false, BP_SAME, false, 1 },
	{ "3a", "zero fill, temporary vs anon", "anon first touch", BK_ZERO_TEMP,
	  1, 0, 0, 0, false, BP_FREE, false, 1 },
	{ "3s", "zero fill, temporary vs shmem", "shmem first touch",
	  BK_ZERO_SHMEM, 1, 0, 0, 1.1, false, BP_FREE, false, 1 },
	{ "3b", "zero fill, data_unavailable", "uffd ZEROPAGE", BK_ZERO_PAGER,
	  1, 0, 1, 0, false, BP_SAME, false, 1 },
	{ "4", "cache hit, new mapping", "memfd 2nd mapping", BK_CACHE,
	  1, 0, 1, 1.1, false, BP_FREE, false, 1 },
	{ "5.t1p1", "scaling, 1 thread, 1 pager", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 1, 1, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "5.t2p1", "scaling, 2 threads, 1 pager", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 2, 1, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "5.t4p1", "scaling, 4 threads, 1 pager", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 4, 1, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "5.t1p2", "scaling, 1 thread, 2 pagers", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 1, 2, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "5.t2p2", "scaling, 2 threads, 2 pagers", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 2, 2, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "5.t4p2", "scaling, 4 threads, 2 pagers", "uffd, same threads",
	  BK_ROUNDTRIP, 1, 4, 2, 0, true, BP_FREE, false, BENCH_SCALING_SHRINK },
	{ "6", "write-back, lock_request", "memfd read()", BK_WRITEBACK,
	  1, 0, 0, 1.5, false, BP_FREE, false, 1 },
	{ "7", "8 clones, 5% written", "8 uffd regions", BK_CLONES,
	  1, 0, 1, 0, false, BP_FREE, false, BENCH_SCALING_SHRINK },
};

#define BENCH_NCASES (sizeof(bench_cases) / sizeof(bench_cases[0]))

/* One run's outcome. */
struct bench_run {
	uint64_t ns;		/* the timed part */
	long requests;		/* pager requests (faults reported) */
	long errors;		/* failed calls */
	long bad;		/* pages whose data was wrong */
	long rss_kb, pss_kb;	/* clones: their growth in resident memory */
};

static size_t bn_ps;
static bool bn_verbose;
/* --side: run only mempager's side (1) or only the peer's (2), to profile. */
static int bn_side_only;

static void bn_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void bn_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static uint64_t bn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Run the calling thread on @cpu only (nothing for -1). */
static void bn_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The CPU of the pager (@pager) or faulting threads for a placement. */
static int bn_place_cpu(int place, bool pager)
{
	switch (place) {
	case BP_SAME:
		return 0;
	case BP_SPLIT:
		return pager ? 1 : 0;
	default:
		return -1;
	}
}

/*
 * perf control: with BENCH_PERF_CTL (and BENCH_PERF_ACK) naming the fifos
 * of `perf record -D -1 --control fifo:CTL,ACK`, only the timed parts are
 * profiled.
 */
static int bn_perf_ctl = -1, bn_perf_ack = -1;

static void bn_perf_open(void)
{
	const char *ctl = getenv("BENCH_PERF_CTL");
	const char *ack = getenv("BENCH_PERF_ACK");

	if (ctl)
		bn_perf_ctl = open(ctl, O_WRONLY | O_CLOEXEC);
	if (ack)
		bn_perf_ack = open(ack, O_RDONLY | O_CLOEXEC);
}

static void bn_perf(bool on)
{
	const char *cmd = on ? "enable\n" : "disable\n";
	char buf[16];

	if (bn_perf_ctl < 0)
		return;
	if (write(bn_perf_ctl, cmd, strlen(cmd)) < 0)
		return;
	if (bn_perf_ack >= 0 && read(bn_perf_ack, buf, sizeof(buf)) < 0)
		return;
}

/* The start and the length of a timed part. */
static uint64_t bn_start(void)
{
	bn_perf(true);
	return bn_now();
}

static uint64_t bn_stop(uint64_t t0)
{
	uint64_t ns = bn_now() - t0;

	bn_perf(false);
	return ns;
}

/* ---- page data ---- */

/* Word @i of page @pg of the backing store. */
static uint64_t bn_word(size_t pg, size_t i)
{
	return ((uint64_t)pg << 32) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0x5eed;
}

/* What a write touch puts in word 0 of page @pg. */
static uint64_t bn_marker(size_t pg)
{
	return 0xfeed000000000000ULL | pg;
}

static void *bn_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		bn_err("mmap of %zu bytes: %s", bytes, strerror(errno));
		return NULL;
	}
	/* 4 KiB faults, as mempager's, not 2 MiB ones. */
	madvise(p, bytes, MADV_NOHUGEPAGE);
	return p;
}

/* The pager's backing store: npages of bn_word() data. */
static unsigned char *bn_store_new(size_t npages)
{
	uint64_t *w = bn_anon(npages * bn_ps);
	size_t pg, i, per = bn_ps / 8;

	if (!w)
		return NULL;
	for (pg = 0; pg < npages; pg++)
		for (i = 0; i < per; i++)
			w[pg * per + i] = bn_word(pg, i);
	return (unsigned char *)w;
}

/* Pages of @p that differ from @expect. */
static long bn_compare(const unsigned char *p, const unsigned char *expect,
		       size_t npages)
{
	long bad = 0;
	size_t pg;

	for (pg = 0; pg < npages; pg++)
		bad += memcmp(p + pg * bn_ps, expect + pg * bn_ps, bn_ps) != 0;
	return bad;
}

/* Pages that are not a marker in word 0 followed by zeros. */
static long bn_check_marked_zero(const unsigned char *p, size_t npages)
{
	long bad = 0;
	size_t pg, i;

	for (pg = 0; pg < npages; pg++) {
		const uint64_t *w = (const uint64_t *)(p + pg * bn_ps);
		bool ok = w[0] == bn_marker(pg);

		for (i = 1; ok && i < bn_ps / 8; i++)
			ok = !w[i];
		bad += !ok;
	}
	return bad;
}

/* Read word 0 of each page (a fault each when missing); mismatches. */
static long bn_touch_read(const unsigned char *p, const unsigned char *store,
			  size_t first, size_t n)
{
	long bad = 0;
	size_t pg;

	for (pg = first; pg < first + n; pg++)
		bad += *(volatile const uint64_t *)(p + pg * bn_ps) !=
		       *(const uint64_t *)(store + pg * bn_ps);
	return bad;
}

static void bn_touch_write(unsigned char *p, size_t first, size_t n)
{
	size_t pg;

	for (pg = first; pg < first + n; pg++)
		*(volatile uint64_t *)(p + pg * bn_ps) = bn_marker(pg);
}

/* ---- mempager objects, with raw ioctls ---- */

struct bn_object {
	int mfd;		/* manager fd */
	int ofd;		/* object fd */
	uint32_t object;
	uint64_t control;
	unsigned char *map;	/* the first mapping */
	size_t npages;
};

/* Create an object, map it, answer its init with ready. */
static int bn_object_setup(struct bn_object *o, size_t npages, int may_cache)
{
	struct mempager_object_create oc = {
		.size = sizeof(oc), .object_size = npages * bn_ps,
		.mode = 0600,
	};
	struct mempager_attributes a = { .size = sizeof(a) };
	struct mempager_msg m;

	memset(o, 0, sizeof(*o));
	o->ofd = -1;
	o->map = MAP_FAILED;
	o->npages = npages;
	o->mfd = open(BENCH_DEV, O_RDWR | O_CLOEXEC);
	if (o->mfd < 0) {
		bn_err("open %s: %s", BENCH_DEV, strerror(errno));
		return -1;
	}
	if (ioctl(o->mfd, MEMPAGER_OBJECT_CREATE, &oc)) {
		bn_err("MEMPAGER_OBJECT_CREATE: %s", strerror(errno));
		return -1;
	}
	o->object = oc.out_object;
	o->ofd = oc.out_fd;
	o->map = mmap(NULL, npages * bn_ps, PROT_READ | PROT_WRITE,
		      MAP_SHARED, o->ofd, 0);
	if (o->map == MAP_FAILED) {
		bn_err("mmap of the object: %s", strerror(errno));
		return -1;
	}
	if (read(o->mfd, &m, sizeof(m)) != sizeof(m) ||
	    m.type != MEMPAGER_MSG_INIT) {
		bn_err("no init message");
		return -1;
	}
	o->control = m.control;
	a.object = o->object;
	a.control = o->control;
	a.may_cache = may_cache;
	a.copy_strategy = MEMPAGER_COPY_DELAY;
	if (ioctl(o->mfd, MEMPAGER_READY, &a)) {
		bn_err("MEMPAGER_READY: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The manager dies first: the mapping then drops its pages, unreturned. */
static void bn_object_teardown(struct bn_object *o)
{
	if (o->mfd >= 0)
		close(o->mfd);
	if (o->map != MAP_FAILED)
		munmap(o->map, o->npages * bn_ps);
	if (o->ofd >= 0)
		close(o->ofd);
	o->mfd = o->ofd = -1;
	o->map = MAP_FAILED;
}

static int bn_supply(struct bn_object *o, size_t first, size_t n,
		     const unsigned char *data)
{
	struct mempager_data_supply ds = {
		.size = sizeof(ds), .object = o->object,
		.control = o->control, .offset = first * bn_ps,
		.length = n * bn_ps, .data = (uintptr_t)data,
	};

	return ioctl(o->mfd, MEMPAGER_DATA_SUPPLY, &ds);
}

/* Make every page resident, unrequested (not timed). */
static int bn_supply_all(struct bn_object *o, const unsigned char *store)
{
	size_t pg, n;

	for (pg = 0; pg < o->npages; pg += n) {
		n = o->npages - pg < BENCH_FILL_CHUNK ? o->npages - pg :
							 BENCH_FILL_CHUNK;
		if (bn_supply(o, pg, n, store + pg * bn_ps)) {
			bn_err("MEMPAGER_DATA_SUPPLY: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- userfaultfd ---- */

static int bn_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is userfaultfd there to compare with? */
static bool bn_uffd_available(void)
{
	int fd = bn_uffd_open();

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Anonymous memory registered for MISSING faults with a new uffd. */
static int bn_uffd_region(size_t npages, unsigned char **mem)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int fd = bn_uffd_open();

	*mem = NULL;
	if (fd < 0) {
		bn_err("userfaultfd: %s", strerror(errno));
		return -1;
	}
	*mem = bn_anon(npages * bn_ps);
	if (!*mem) {
		close(fd);
		return -1;
	}
	reg.range.start = (uintptr_t)*mem;
	reg.range.len = npages * bn_ps;
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		bn_err("UFFDIO_REGISTER: %s", strerror(errno));
		munmap(*mem, npages * bn_ps);
		*mem = NULL;
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- pager threads: mempager and userfaultfd, the same loop ---- */

enum bn_answer { BN_SUPPLY, BN_ZERO };

struct bn_pager;

struct bn_pager_arg {
	struct bn_pager *pg;
	int idx;
};

struct bn_pager {
	bool uffd;		/* a userfaultfd pager, else mempager */
	int fd;			/* manager fd or uffd */
	unsigned char *base;	/* uffd: the registered region */
	const unsigned char *store;
	size_t npages;
	size_t cluster;
	enum bn_answer answer;
	atomic_int stop;
	atomic_long requests;
	atomic_long errors;
	int nthreads;
	int cpu;		/* the pager threads' CPU, or -1 */
	pthread_t th[BENCH_MAX_PAGERS];
	atomic_int exited[BENCH_MAX_PAGERS];
	struct bn_pager_arg args[BENCH_MAX_PAGERS];
	int started;
};

/*
 * Answer a data_request. With @defer, a supply is not made but left in
 * *@defer for the next receive to carry: returns true then.
 */
static bool bn_mp_answer(struct bn_pager *pg, const struct mempager_msg *m,
			 struct mempager_data_supply *defer)
{
	size_t first, n;
	int ret;

	if (m->type != MEMPAGER_MSG_DATA_REQUEST)
		return false;
	atomic_fetch_add(&pg->requests, 1);
	first = m->request.offset / bn_ps;
	n = pg->npages - first < pg->cluster ? pg->npages - first :
					       pg->cluster;
	if (pg->answer == BN_SUPPLY) {
		struct mempager_data_supply ds = {
			.size = sizeof(ds), .object = m->object,
			.control = m->control, .offset = first * bn_ps,
			.length = n * bn_ps,
			.data = (uintptr_t)(pg->store + first * bn_ps),
		};

		if (defer) {
			*defer = ds;
			return true;
		}
		ret = ioctl(pg->fd, MEMPAGER_DATA_SUPPLY, &ds);
	} else {
		struct mempager_data_range dr = {
			.size = sizeof(dr), .object = m->object,
			.control = m->control, .offset = first * bn_ps,
			.length = n * bn_ps,
		};

		ret = ioctl(pg->fd, MEMPAGER_DATA_UNAVAILABLE, &dr);
	}
	if (ret)
		atomic_fetch_add(&pg->errors, 1);
	return false;
}

/*
 * mempager's receive: a read(2), or with a deferred supply in *@pending
 * the supply and the receive in one MEMPAGER_RECEIVE. Returns the bytes
 * of messages received, or -1 and errno.
 */
static ssize_t bn_mp_receive(struct bn_pager *pg, struct mempager_msg *msgs,
			     struct mempager_data_supply *pending,
			     bool *have_pending)
{
	struct mempager_receive r = {
		.size = sizeof(r), .flags = MEMPAGER_RECEIVE_SUPPLY,
		.msgs = (uintptr_t)msgs, .msgs_max = BENCH_MSGS,
		.supply = (uintptr_t)pending,
	};

	if (!*have_pending)
		return read(pg->fd, msgs, BENCH_MSGS * sizeof(*msgs));
	*have_pending = false;
	if (ioctl(pg->fd, MEMPAGER_RECEIVE, &r)) {
		/* The supply failed: count it, receive nothing. */
		atomic_fetch_add(&pg->errors, 1);
		errno = EAGAIN;
		return -1;
	}
	return r.out_msgs * sizeof(*msgs);
}

static void bn_uffd_answer(struct bn_pager *pg, const struct uffd_msg *m)
{
	uintptr_t addr;
	size_t first, n;
	int ret;

	if (m->event != UFFD_EVENT_PAGEFAULT)
		return;
	atomic_fetch_add(&pg->requests, 1);
	addr = m->arg.pagefault.address & ~(uintptr_t)(bn_ps - 1);
	first = (addr - (uintptr_t)pg->base) / bn_ps;
	n = pg->npages - first < pg->cluster ? pg->npages - first :
					       pg->cluster;
	for (;;) {
		if (pg->answer == BN_SUPPLY) {
			struct uffdio_copy c = {
				.dst = addr, .len = n * bn_ps,
				.src = (uintptr_t)(pg->store + first * bn_ps),
			};

			ret = ioctl(pg->fd, UFFDIO_COPY, &c);
		} else {
			struct uffdio_zeropage z = {
				.range = { .start = addr, .len = n * bn_ps },
			};

			ret = ioctl(pg->fd, UFFDIO_ZEROPAGE, &z);
		}
		if (!ret || errno != EAGAIN)
			break;
	}
	if (ret && errno == EEXIST) {
		/* Already there: the faulting thread still needs waking. */
		struct uffdio_range r = { .start = addr, .len = bn_ps };

		ret = ioctl(pg->fd, UFFDIO_WAKE, &r);
	}
	if (ret)
		atomic_fetch_add(&pg->errors, 1);
}

static void *bn_pager_thread(void *arg)
{
	struct bn_pager_arg *a = arg;
	struct bn_pager *pg = a->pg;
	union {
		struct mempager_msg mp[BENCH_MSGS];
		struct uffd_msg uf[BENCH_MSGS];
	} buf;
	size_t size = pg->uffd ? sizeof(buf.uf[0]) : sizeof(buf.mp[0]);
	struct mempager_data_supply pending;
	bool have_pending = false;
	ssize_t n, i;

	bn_pin_self(pg->cpu);
	while (!atomic_load(&pg->stop)) {
		if (pg->uffd)
			n = read(pg->fd, &buf, BENCH_MSGS * size);
		else
			n = bn_mp_receive(pg, buf.mp, &pending, &have_pending);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			bn_err("pager read: %s", strerror(errno));
			atomic_fetch_add(&pg->errors, 1);
			break;
		}
		for (i = 0; i < n / (ssize_t)size; i++) {
			if (pg->uffd)
				bn_uffd_answer(pg, &buf.uf[i]);
			else if (bn_mp_answer(pg, &buf.mp[i],
					      i == n / (ssize_t)size - 1 ?
					      &pending : NULL))
				have_pending = true;
		}
	}
	if (have_pending && ioctl(pg->fd, MEMPAGER_DATA_SUPPLY, &pending))
		atomic_fetch_add(&pg->errors, 1);
	atomic_store(&pg->exited[a->idx], 1);
	return NULL;
}

/* SIGUSR1 interrupts a pager's read(2) (no SA_RESTART) so it can stop. */
static void bn_on_sigusr1(int sig)
{
	(void)sig;
}

static int bn_pager_start(struct bn_pager *pg, int nthreads)
{
	struct sigaction sa = { .sa_handler = bn_on_sigusr1 };
	int i;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pg->nthreads = nthreads;
	for (i = 0; i < nthreads; i++) {
		pg->args[i].pg = pg;
		pg->args[i].idx = i;
		atomic_store(&pg->exited[i], 0);
		if (pthread_create(&pg->th[i], NULL, bn_pager_thread,
				   &pg->args[i])) {
			bn_err("pthread_create failed");
			return -1;
		}
		pg->started++;
	}
	return 0;
}

static void bn_pager_stop(struct bn_pager *pg)
{
	int i;

	atomic_store(&pg->stop, 1);
	for (i = 0; i < pg->started; i++) {
		while (!atomic_load(&pg->exited[i])) {
			pthread_kill(pg->th[i], SIGUSR1);
			usleep(1000);
		}
		pthread_join(pg->th[i], NULL);
	}
	pg->started = 0;
}

/* ---- faulting threads ---- */

struct bn_worker {
	const unsigned char *p;
	const unsigned char *store;
	size_t first, n;
	pthread_barrier_t *go;
	int cpu;
	long bad;
};

static void *bn_worker_thread(void *arg)
{
	struct bn_worker *w = arg;

	bn_pin_self(w->cpu);
	pthread_barrier_wait(w->go);
	w->bad = bn_touch_read(w->p, w->store, w->first, w->n);
	return NULL;
}

/*
 * Touch all pages from @threads threads (0: this one), on @cpu unless it
 * is -1; the time taken.
 */
static uint64_t bn_touch_threads(const unsigned char *p,
				 const unsigned char *store, size_t npages,
				 int threads, int cpu, long *bad)
{
	struct bn_worker w[BENCH_MAX_THREADS];
	pthread_t th[BENCH_MAX_THREADS];
	pthread_barrier_t go;
	uint64_t t0, t1;
	cpu_set_t old;
	int i;

	if (!threads) {
		pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
		bn_pin_self(cpu);
		t0 = bn_start();
		*bad += bn_touch_read(p, store, 0, npages);
		t1 = t0 + bn_stop(t0);
		pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
		return t1 - t0;
	}
	pthread_barrier_init(&go, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		w[i] = (struct bn_worker) {
			.p = p, .store = store, .go = &go, .cpu = cpu,
			.first = npages / threads * i, .n = npages / threads,
		};
		if (pthread_create(&th[i], NULL, bn_worker_thread, &w[i])) {
			/* Cannot happen at these numbers; fail loudly. */
			bn_err("pthread_create failed");
			exit(2);
		}
	}
	bn_perf(true);
	pthread_barrier_wait(&go);
	t0 = bn_now();
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		*bad += w[i].bad;
	}
	t1 = t0 + bn_stop(t0);
	pthread_barrier_destroy(&go);
	return t1 - t0;
}

/* ---- the cases: one run of one side each ---- */

struct bn_ctx {
	size_t npages;
	const unsigned char *store;
	int memfd;		/* the memfd peers' file, or -1 */
	unsigned char *wbuf;	/* receive / read buffer */
	bool verify;		/* check every byte after the run */
	bool deep;		/* and inside the timed part (quick mode) */
};

/*
 * The region a paged case faults on: the peer's userfaultfd region, or a
 * new object; @pg is set to serve it. Returns the mapping, or NULL (with
 * nothing left to release).
 */
static unsigned char *bn_paged_setup(struct bn_ctx *c, bool peer,
				     struct bn_pager *pg, struct bn_object *o)
{
	if (peer) {
		pg->uffd = true;
		pg->fd = bn_uffd_region(c->npages, &pg->base);
		return pg->fd < 0 ? NULL : pg->base;
	}
	if (bn_object_setup(o, c->npages, 0)) {
		bn_object_teardown(o);
		return NULL;
	}
	pg->fd = o->mfd;
	return o->map;
}

/* Stop @pg (if started), take its counts, release the region. */
static void bn_paged_teardown(struct bn_ctx *c, bool peer,
			      struct bn_pager *pg, struct bn_object *o,
			      struct bench_run *r)
{
	bn_pager_stop(pg);
	r->requests = atomic_load(&pg->requests);
	r->errors += atomic_load(&pg->errors);
	if (peer) {
		munmap(pg->base, c->npages * bn_ps);
		close(pg->fd);
	} else {
		bn_object_teardown(o);
	}
}

/* 1, 2, 5: missing pages answered by pager threads. */
static int bn_run_roundtrip(struct bn_ctx *c, const struct bench_case *bc,
			    bool peer, struct bench_run *r)
{
	struct bn_pager pg = {
		.store = c->store, .npages = c->npages,
		.cluster = bc->cluster, .answer = BN_SUPPLY,
		.cpu = bn_place_cpu(bc->place, true),
	};
	struct bn_object o = { .mfd = -1, .ofd = -1, .map = MAP_FAILED };
	unsigned char *p;
	int ret = -1;

	p = bn_paged_setup(c, peer, &pg, &o);
	if (!p)
		return -1;
	if (bn_pager_start(&pg, bc->pagers))
		goto out;
	r->ns = bn_touch_threads(p, c->store, c->npages, bc->threads,
				 bn_place_cpu(bc->place, false), &r->bad);
	if (c->verify)
		r->bad += bn_compare(p, c->store, c->npages);
	ret = 0;
out:
	bn_paged_teardown(c, peer, &pg, &o, r);
	return ret;
}

/*
 * 3a, 3s: temporary memory vs anonymous private memory (or, with @shmem,
 * shared anonymous memory, which is shmem), first write of each page.
 */
static int bn_run_zero_temp(struct bn_ctx *c, bool peer, bool shmem,
			    struct bench_run *r)
{
	size_t bytes = c->npages * bn_ps;
	unsigned char *p;
	uint64_t t0;
	int fd = -1;

	if (peer && shmem) {
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			bn_err("mmap of shmem: %s", strerror(errno));
			return -1;
		}
		madvise(p, bytes, MADV_NOHUGEPAGE);
	} else if (peer) {
		p = bn_anon(bytes);
		if (!p)
			return -1;
	} else {
		fd = open(BENCH_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			bn_err("open %s: %s", BENCH_DEV, strerror(errno));
			return -1;
		}
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			bn_err("mmap of temporary memory: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	t0 = bn_start();
	bn_touch_write(p, 0, c->npages);
	r->ns = bn_stop(t0);
	if (c->verify)
		r->bad += bn_check_marked_zero(p, c->npages);
	munmap(p, bytes);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* 3b: a pager answering data_unavailable vs UFFDIO_ZEROPAGE, writes. */
static int bn_run_zero_pager(struct bn_ctx *c, const struct bench_case *bc,
			     bool peer, struct bench_run *r)
{
	struct bn_pager pg = {
		.store = c->store, .npages = c->npages,
		.cluster = bc->cluster, .answer = BN_ZERO,
		.cpu = bn_place_cpu(bc->place, true),
	};
	struct bn_object o = { .mfd = -1, .ofd = -1, .map = MAP_FAILED };
	unsigned char *p;
	uint64_t t0;
	cpu_set_t old;
	int ret = -1;

	p = bn_paged_setup(c, peer, &pg, &o);
	if (!p)
		return -1;
	if (bn_pager_start(&pg, bc->pagers))
		goto out;
	pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
	bn_pin_self(bn_place_cpu(bc->place, false));
	t0 = bn_start();
	bn_touch_write(p, 0, c->npages);
	r->ns = bn_stop(t0);
	pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
	if (c->verify)
		r->bad += bn_check_marked_zero(p, c->npages);
	ret = 0;
out:
	bn_paged_teardown(c, peer, &pg, &o, r);
	return ret;
}

/* A memfd holding @npages pages of @data (the peers' file). */
static int bn_memfd(const unsigned char *data, size_t npages)
{
	size_t bytes = npages * bn_ps, off;
	int fd = memfd_create("bench", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, bytes)) {
		bn_err("memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (off = 0; off < bytes;) {
		ssize_t n = pwrite(fd, data + off, bytes - off, off);

		if (n <= 0) {
			bn_err("memfd write: %s", strerror(errno));
			close(fd);
			return -1;
		}
		off += n;
	}
	return fd;
}

/* 4: a second mapping of resident pages, read page by page. */
static int bn_run_cache(struct bn_ctx *c, const struct bench_case *bc,
			bool peer, struct bench_run *r)
{
	struct bn_pager pg = {
		.store = c->store, .npages = c->npages,
		.cluster = bc->cluster, .answer = BN_SUPPLY, .cpu = -1,
	};
	struct bn_object o = { .mfd = -1, .ofd = -1, .map = MAP_FAILED };
	size_t bytes = c->npages * bn_ps;
	unsigned char *first = MAP_FAILED, *p;
	uint64_t t0;
	int ret = -1, fd;

	if (peer) {
		if (c->memfd < 0)
			c->memfd = bn_memfd(c->store, c->npages);
		if (c->memfd < 0)
			return -1;
		fd = c->memfd;
		/* The first mapping, as the object's, has touched it all. */
		first = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd, 0);
		if (first == MAP_FAILED) {
			bn_err("mmap of the memfd: %s", strerror(errno));
			return -1;
		}
		r->bad += bn_touch_read(first, c->store, 0, c->npages);
	} else {
		if (bn_object_setup(&o, c->npages, 1) ||
		    bn_supply_all(&o, c->store))
			goto out;
		fd = o.ofd;
		pg.fd = o.mfd;
		/* Nothing should be asked; a pager answers if it is. */
		if (bn_pager_start(&pg, 1))
			goto out_stop;
	}
	t0 = bn_start();
	p = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		bn_err("second mmap: %s", strerror(errno));
		goto out_stop;
	}
	r->bad += bn_touch_read(p, c->store, 0, c->npages);
	r->ns = bn_stop(t0);
	if (c->verify)
		r->bad += bn_compare(p, c->store, c->npages);
	munmap(p, bytes);
	ret = 0;
out_stop:
	if (!peer) {
		bn_pager_stop(&pg);
		r->requests = atomic_load(&pg.requests);
		r->errors += atomic_load(&pg.errors);
	}
out:
	if (first != MAP_FAILED)
		munmap(first, bytes);
	if (!peer)
		bn_object_teardown(&o);
	return ret;
}

/* Check a returned (or read) page: the marker, then the store's bytes. */
static bool bn_page_ok(const unsigned char *page, size_t pg,
		       const unsigned char *store, bool full)
{
	if (*(const uint64_t *)page != bn_marker(pg))
		return false;
	return !full || !memcmp(page + 8, store + pg * bn_ps + 8, bn_ps - 8);
}

/* 6, mempager: dirty every page, then lock_request and receive them all. */
static int bn_run_writeback_mp(struct bn_ctx *c, struct bench_run *r)
{
	struct mempager_msg m[BENCH_WB_MSGS];
	struct mempager_lock_request lr = {
		.size = sizeof(lr), .flags = MEMPAGER_REPLY,
		.should_return = MEMPAGER_RETURN_DIRTY, .should_flush = 1,
		.lock_value = MEMPAGER_PROT_NO_CHANGE,
	};
	struct bn_object o;
	unsigned char *seen = calloc(c->npages, 1);
	bool completed = false;
	long pages = 0;
	uint64_t t0;
	int ret = -1;
	unsigned int i;

	if (!seen)
		return -1;
	if (bn_object_setup(&o, c->npages, 1) || bn_supply_all(&o, c->store))
		goto out;
	bn_touch_write(o.map, 0, c->npages);
	lr.object = o.object;
	lr.control = o.control;
	lr.length = c->npages * bn_ps;

	t0 = bn_start();
	if (ioctl(o.mfd, MEMPAGER_LOCK_REQUEST, &lr)) {
		bn_err("MEMPAGER_LOCK_REQUEST: %s", strerror(errno));
		goto out;
	}
	while (!completed) {
		struct mempager_receive rv = {
			.size = sizeof(rv), .msgs = (uintptr_t)m,
			.msgs_max = BENCH_WB_MSGS, .data = (uintptr_t)c->wbuf,
			.data_size = BENCH_WB_BYTES,
		};

		if (ioctl(o.mfd, MEMPAGER_RECEIVE, &rv)) {
			if (errno == EINTR)
				continue;
			bn_err("MEMPAGER_RECEIVE: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < rv.out_msgs; i++) {
			size_t first = m[i].data_return.offset / bn_ps;
			size_t n = m[i].data_return.length / bn_ps, k;
			const unsigned char *d;

			if (m[i].type == MEMPAGER_MSG_LOCK_COMPLETED) {
				completed = true;
				continue;
			}
			if (m[i].type != MEMPAGER_MSG_DATA_RETURN)
				continue;
			d = c->wbuf + m[i].data_return.data_offset;
			for (k = 0; k < n; k++) {
				if (first + k >= c->npages ||
				    seen[first + k]++ ||
				    !m[i].data_return.dirty ||
				    !bn_page_ok(d + k * bn_ps, first + k,
						c->store, c->deep))
					r->bad++;
			}
			pages += n;
		}
	}
	r->ns = bn_stop(t0);
	r->requests = pages;
	if (pages != (long)c->npages) {
		bn_err("write-back returned %ld of %zu pages", pages,
		       c->npages);
		r->bad += labs((long)c->npages - pages);
	}
	ret = 0;
out:
	bn_object_teardown(&o);
	free(seen);
	return ret;
}

/* 6, peer: read(2) the same bytes from a memfd, chunk by chunk. */
static int bn_run_writeback_peer(struct bn_ctx *c, struct bench_run *r)
{
	size_t bytes = c->npages * bn_ps, off, k;
	unsigned char *data;
	uint64_t t0;

	if (c->memfd < 0) {
		/* The bytes the object would return: markers over the store. */
		data = bn_anon(bytes);
		if (!data)
			return -1;
		memcpy(data, c->store, bytes);
		bn_touch_write(data, 0, c->npages);
		c->memfd = bn_memfd(data, c->npages);
		munmap(data, bytes);
		if (c->memfd < 0)
			return -1;
	}
	t0 = bn_start();
	for (off = 0; off < bytes; off += BENCH_WB_BYTES) {
		size_t len = bytes - off < BENCH_WB_BYTES ? bytes - off :
							    BENCH_WB_BYTES;

		if (pread(c->memfd, c->wbuf, len, off) != (ssize_t)len) {
			bn_err("memfd read: %s", strerror(errno));
			return -1;
		}
		for (k = 0; k < len / bn_ps; k++)
			r->bad += !bn_page_ok(c->wbuf + k * bn_ps,
					      off / bn_ps + k, c->store,
					      c->deep);
	}
	r->ns = bn_stop(t0);
	r->requests = c->npages;
	return 0;
}

/* ---- 7: clones of one image ---- */

/* Does clone @k write page @pg? Each writes its own 5% of the pages. */
static bool bn_clone_writes(size_t pg, int k)
{
	return (pg + k) % BENCH_CLONE_WRITE_EVERY == 0;
}

/* Field @name ("Rss", "Pss") of /proc/@pid/smaps_rollup in KiB, or -1. */
static long bn_rollup_kb(pid_t pid, const char *name)
{
	size_t len = strlen(name);
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* What a clone tells the bench: its region, then the pages it found wrong. */
struct bn_clone_msg {
	uintptr_t base;
	long bad;
};

/* Send @m on @sock, with @fd (unless -1) as SCM_RIGHTS. */
static int bn_clone_send(int sock, const struct bn_clone_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(&cb, 0, sizeof(cb));
		mh.msg_control = cb.buf;
		mh.msg_controllen = sizeof(cb.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == sizeof(*m) ? 0 : -1;
}

/* Receive a message into @m, and the fd it carries into *@fd (or -1). */
static int bn_clone_recv(int sock, struct bn_clone_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *cm;

	*fd = -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != sizeof(*m))
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/*
 * Clone @k: map the image (a MAP_PRIVATE mapping of the object @ofd, or a
 * userfaultfd region whose fd goes to the bench, which serves it), tell
 * the bench, wait for @go to close, touch every page once (a write for
 * its 5%, a read checking word 0 for the others), report, wait for @end to
 * close, check every byte when asked, report again and exit.
 */
static void bn_clone_child(const struct bn_ctx *c, bool peer, int ofd, int k,
			   int sock, int go, int end)
{
	struct bn_clone_msg m = { 0 };
	size_t pg;
	unsigned char *p;
	int fd = -1;
	char ch;

	if (peer) {
		fd = bn_uffd_region(c->npages, &p);
		if (fd < 0)
			_exit(1);
	} else {
		p = mmap(NULL, c->npages * bn_ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, ofd, 0);
		if (p == MAP_FAILED)
			_exit(1);
	}
	m.base = (uintptr_t)p;
	if (bn_clone_send(sock, &m, fd) || read(go, &ch, 1) < 0)
		_exit(1);
	for (pg = 0; pg < c->npages; pg++) {
		volatile uint64_t *w = (volatile uint64_t *)(p + pg * bn_ps);

		if (bn_clone_writes(pg, k))
			*w = bn_marker(pg);
		else
			m.bad += *w != bn_word(pg, 0);
	}
	if (bn_clone_send(sock, &m, -1) || read(end, &ch, 1) < 0)
		_exit(1);
	m.bad = 0;
	for (pg = 0; c->verify && pg < c->npages; pg++) {
		const unsigned char *page = p + pg * bn_ps;

		if (bn_clone_writes(pg, k))
			m.bad += !bn_page_ok(page, pg, c->store, true);
		else
			m.bad += memcmp(page, c->store + pg * bn_ps, bn_ps) != 0;
	}
	_exit(bn_clone_send(sock, &m, -1) ? 1 : 0);
}

/* The sum over @pid of smaps_rollup's @name. */
static long bn_clones_kb(const pid_t *pid, int n, const char *name)
{
	long sum = 0, kb;
	int k;

	for (k = 0; k < n; k++) {
		kb = bn_rollup_kb(pid[k], name);
		if (kb < 0)
			return -1;
		sum += kb;
	}
	return sum;
}

/*
 * 7: BENCH_CLONES processes each map the same image and touch every page
 * once, concurrently: mempager's clones map one object MAP_PRIVATE (COPY_
 * DELAY) served by one pager thread; the peer's are userfaultfd regions,
 * each filled by its own pager thread of the bench (userfaultfd has one
 * fd per region) from the same store. Timed: from the start of all to the
 * last clone's last page, per page of one clone (so that the times compare
 * with the other cases'). Resident memory: the growth of the clones'
 * Rss and Pss (smaps_rollup) over the run, summed.
 */
static int bn_run_clones(struct bn_ctx *c, bool peer, struct bench_run *r)
{
	struct bn_object o = { .mfd = -1, .ofd = -1, .map = MAP_FAILED };
	struct bn_pager pg[BENCH_CLONES];
	int sock[BENCH_CLONES], go[2] = { -1, -1 }, end[2] = { -1, -1 };
	pid_t pid[BENCH_CLONES];
	long rss0, pss0, rss1, pss1;
	struct bn_clone_msg m;
	int k, n = 0, npg = 0, fd, sv[2], st, ret = -1;
	uint64_t t0;

	memset(pg, 0, sizeof(pg));
	for (k = 0; k < BENCH_CLONES; k++) {
		pg[k].store = c->store;
		pg[k].npages = c->npages;
		pg[k].cluster = 1;
		pg[k].answer = BN_SUPPLY;
		pg[k].cpu = -1;
		pg[k].uffd = peer;
		pg[k].fd = -1;
		sock[k] = -1;
	}
	if (!peer && bn_object_setup(&o, c->npages, 1))
		goto out;
	if (pipe2(go, O_CLOEXEC) || pipe2(end, O_CLOEXEC)) {
		bn_err("pipe: %s", strerror(errno));
		goto out;
	}
	for (k = 0; k < BENCH_CLONES; k++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			bn_err("socketpair: %s", strerror(errno));
			goto out;
		}
		pid[k] = fork();
		if (!pid[k]) {
			close(go[1]);
			close(end[1]);
			close(sv[0]);
			bn_clone_child(c, peer, o.ofd, k, sv[1], go[0], end[0]);
		}
		close(sv[1]);
		sock[k] = sv[0];
		if (pid[k] < 0) {
			bn_err("fork: %s", strerror(errno));
			goto out;
		}
		n++;
		if (bn_clone_recv(sock[k], &m, &fd)) {
			bn_err("clone %d did not map its image", k);
			goto out;
		}
		pg[k].fd = fd;
		pg[k].base = (unsigned char *)m.base;
	}
	/* One pager for mempager's object, one per uffd region for the peer. */
	for (k = 0; k < (peer ? BENCH_CLONES : 1); k++) {
		if (!peer)
			pg[k].fd = o.mfd;
		if (bn_pager_start(&pg[k], 1))
			goto out;
		npg++;
	}
	rss0 = bn_clones_kb(pid, n, "Rss");
	pss0 = bn_clones_kb(pid, n, "Pss");

	t0 = bn_start();
	close(go[1]);
	go[1] = -1;
	for (k = 0; k < BENCH_CLONES; k++) {
		if (bn_clone_recv(sock[k], &m, &fd)) {
			bn_err("clone %d did not finish", k);
			goto out;
		}
		r->bad += m.bad;
	}
	r->ns = bn_stop(t0) / BENCH_CLONES;

	rss1 = bn_clones_kb(pid, n, "Rss");
	pss1 = bn_clones_kb(pid, n, "Pss");
	if (rss0 < 0 || pss0 < 0 || rss1 < 0 || pss1 < 0) {
		bn_err("no /proc/PID/smaps_rollup: %s", strerror(errno));
		goto out;
	}
	r->rss_kb = rss1 - rss0;
	r->pss_kb = pss1 - pss0;
	/* Every clone has mapped every page: the measure must see them. */
	if (r->rss_kb < (long)(BENCH_CLONES * c->npages * (bn_ps / 1024))) {
		bn_err("clones: Rss grew by %ld KiB, less than the %zu KiB mapped",
		       r->rss_kb, BENCH_CLONES * c->npages * (bn_ps / 1024));
		r->errors++;
	}
	close(end[1]);
	end[1] = -1;
	for (k = 0; k < BENCH_CLONES; k++) {
		if (bn_clone_recv(sock[k], &m, &fd)) {
			bn_err("clone %d did not check its pages", k);
			goto out;
		}
		r->bad += m.bad;
	}
	ret = 0;
out:
	/* On a failure the clones may wait for pages nobody serves. */
	for (k = 0; ret && k < n; k++)
		kill(pid[k], SIGKILL);
	for (k = 0; k < n; k++) {
		if (waitpid(pid[k], &st, 0) != pid[k] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			r->errors += !ret;
		close(sock[k]);
	}
	for (k = 0; k < npg; k++) {
		bn_pager_stop(&pg[k]);
		r->requests += atomic_load(&pg[k].requests);
		r->errors += atomic_load(&pg[k].errors);
	}
	for (k = 0; peer && k < BENCH_CLONES; k++)
		if (pg[k].fd >= 0)
			close(pg[k].fd);
	for (k = 0; k < 2; k++) {
		if (go[k] >= 0)
			close(go[k]);
		if (end[k] >= 0)
			close(end[k]);
	}
	if (!peer)
		bn_object_teardown(&o);
	return ret;
}

static int bn_run(struct bn_ctx *c, const struct bench_case *bc, bool peer,
		  struct bench_run *r)
{
	memset(r, 0, sizeof(*r));
	switch (bc->kind) {
	case BK_ROUNDTRIP:
		return bn_run_roundtrip(c, bc, peer, r);
	case BK_ZERO_TEMP:
	case BK_ZERO_SHMEM:
		return bn_run_zero_temp(c, peer, bc->kind == BK_ZERO_SHMEM, r);
	case BK_ZERO_PAGER:
		return bn_run_zero_pager(c, bc, peer, r);
	case BK_CACHE:
		return bn_run_cache(c, bc, peer, r);
	case BK_WRITEBACK:
		return peer ? bn_run_writeback_peer(c, r) :
			      bn_run_writeback_mp(c, r);
	case BK_CLONES:
		return bn_run_clones(c, peer, r);
	}
	return -1;
}

/* ---- cases run in rounds: repetitions, medians ---- */

struct bench_result {
	const struct bench_case *bc;
	struct bn_ctx ctx;
	size_t npages;
	int runs;			/* rounds it ran in */
	bool peer_ok;			/* the peer runs */
	bool ran[BENCH_MAX_REPS];	/* it ran in round i */
	double mp[BENCH_MAX_REPS];	/* ns per page, by round */
	double peer[BENCH_MAX_REPS];
	double mp_med, peer_med, ratio;
	double ratio_lo, ratio_hi;	/* its 95% interval */
	/* Clones: resident memory (KiB) by round, medians, Pss ratio. */
	double mp_rss[BENCH_MAX_REPS], mp_pss[BENCH_MAX_REPS];
	double peer_rss[BENCH_MAX_REPS], peer_pss[BENCH_MAX_REPS];
	double mp_rss_med, mp_pss_med, peer_rss_med, peer_pss_med;
	double pss_ratio, pss_lo, pss_hi;
	long mp_requests, peer_requests;
	long bad, errors;
	bool failed;
};

static int bn_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the @n values of @v (it sorts them). */
static double bn_median(double *v, int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bn_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of a result's samples of the rounds it ran in. */
static double bn_median_runs(const struct bench_result *res, const double *v)
{
	double s[BENCH_MAX_REPS];
	int i, n = 0;

	for (i = 0; i < BENCH_MAX_REPS; i++)
		if (res->ran[i])
			s[n++] = v[i];
	return bn_median(s, n);
}

/* splitmix64: the bootstrap's generator, the same numbers on every host. */
static uint64_t bn_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * The 95% interval of median(@x) / median(@y) (of median(@x) when @y is
 * NULL), by bootstrap: the @n rounds are resampled with replacement
 * BENCH_BOOT_RESAMPLES times, keeping each round's pair together (both
 * ran close in time, under the same load of the host), and the 2.5th and
 * 97.5th percentiles of the statistic are taken. A fixed seed makes the
 * same samples give the same interval.
 */
static void bn_bootstrap(const double *x, const double *y, int n,
			 double *lo, double *hi)
{
	static double stat[BENCH_BOOT_RESAMPLES];
	double xs[BENCH_MAX_REPS], ys[BENCH_MAX_REPS], d;
	uint64_t seed = BENCH_BOOT_SEED;
	int b, k;

	*lo = *hi = 0;
	if (n < 1)
		return;
	for (b = 0; b < BENCH_BOOT_RESAMPLES; b++) {
		for (k = 0; k < n; k++) {
			int j = bn_rand(&seed) % n;

			xs[k] = x[j];
			ys[k] = y ? y[j] : 1;
		}
		d = bn_median(ys, n);
		stat[b] = d > 0 ? bn_median(xs, n) / d : 0;
	}
	qsort(stat, BENCH_BOOT_RESAMPLES, sizeof(stat[0]), bn_cmp_double);
	*lo = stat[BENCH_BOOT_RESAMPLES * 25 / 1000];
	*hi = stat[BENCH_BOOT_RESAMPLES * 975 / 1000 - 1];
}

/* The mempager and peer samples of the rounds a result ran in. */
static int bn_pairs(const struct bench_result *res, double *mp, double *peer)
{
	int i, n = 0;

	for (i = 0; i < BENCH_MAX_REPS; i++) {
		if (!res->ran[i])
			continue;
		mp[n] = res->mp[i];
		peer[n++] = res->peer[i];
	}
	return n;
}

static void bn_case_init(struct bench_result *res, const struct bench_case *bc,
			 size_t npages, bool verify_all, bool with_peer,
			 const unsigned char *store, unsigned char *wbuf)
{
	memset(res, 0, sizeof(*res));
	res->bc = bc;
	res->npages = npages;
	res->peer_ok = with_peer;
	res->ctx = (struct bn_ctx) {
		.npages = npages, .store = store, .memfd = -1, .wbuf = wbuf,
		.deep = verify_all,
	};
}

/*
 * Round @i of a case: a mempager run and a peer run, which goes first
 * alternating. Round 0, and every round with verify_all, checks every byte
 * after the timed part; the write-back case, whose data is gone after it,
 * checks every byte only with verify_all (inside the timed part) and
 * otherwise each page's first word.
 */
static void bn_case_round(struct bench_result *res, int i)
{
	const struct bench_case *bc = res->bc;
	struct bn_ctx *c = &res->ctx;
	struct bench_run r;
	int side;

	if (res->failed)
		return;
	c->verify = c->deep || i == 0;
	for (side = 0; side < 2; side++) {
		bool peer = side ? !(i & 1) : (i & 1);

		if ((peer && !res->peer_ok) ||
		    (bn_side_only == 1 && peer) ||
		    (bn_side_only == 2 && !peer))
			continue;
		if (bn_run(c, bc, peer, &r)) {
			res->failed = true;
			return;
		}
		res->bad += r.bad;
		res->errors += r.errors;
		if (r.bad || r.errors) {
			bn_err("case %s, %s run %d: %ld bad pages, %ld errors",
			       bc->id, peer ? "peer" : "mempager", i, r.bad,
			       r.errors);
			res->failed = true;
		}
		if (peer) {
			res->peer[i] = (double)r.ns / res->npages;
			res->peer_requests = r.requests;
			res->peer_rss[i] = r.rss_kb;
			res->peer_pss[i] = r.pss_kb;
		} else {
			res->mp[i] = (double)r.ns / res->npages;
			res->mp_requests = r.requests;
			res->mp_rss[i] = r.rss_kb;
			res->mp_pss[i] = r.pss_kb;
		}
		if (bn_verbose)
			fprintf(stderr, "bench: %s %s run %d: %.0f ns/page, %ld requests\n",
				bc->id, peer ? "peer" : "mempager", i,
				(double)r.ns / res->npages, r.requests);
	}
	res->ran[i] = true;
	res->runs++;
}

/* The clones' resident memory: medians, and the Pss ratio's interval. */
static void bn_case_finish_memory(struct bench_result *res)
{
	double mp[BENCH_MAX_REPS], peer[BENCH_MAX_REPS];
	int i, n = 0;

	res->mp_rss_med = bn_median_runs(res, res->mp_rss);
	res->mp_pss_med = bn_median_runs(res, res->mp_pss);
	if (!res->peer_ok)
		return;
	res->peer_rss_med = bn_median_runs(res, res->peer_rss);
	res->peer_pss_med = bn_median_runs(res, res->peer_pss);
	if (res->peer_pss_med <= 0)
		return;
	res->pss_ratio = res->mp_pss_med / res->peer_pss_med;
	for (i = 0; i < BENCH_MAX_REPS; i++) {
		if (!res->ran[i])
			continue;
		mp[n] = res->mp_pss[i];
		peer[n++] = res->peer_pss[i];
	}
	bn_bootstrap(mp, peer, n, &res->pss_lo, &res->pss_hi);
}

static void bn_case_finish(struct bench_result *res)
{
	if (res->ctx.memfd >= 0)
		close(res->ctx.memfd);
	res->ctx.memfd = -1;
	if (res->failed)
		return;
	res->mp_med = bn_median_runs(res, res->mp);
	if (res->peer_ok)
		res->peer_med = bn_median_runs(res, res->peer);
	res->ratio = res->peer_med > 0 ? res->mp_med / res->peer_med : 0;
	if (res->ratio > 0) {
		double mp[BENCH_MAX_REPS], peer[BENCH_MAX_REPS];
		int n = bn_pairs(res, mp, peer);

		bn_bootstrap(mp, peer, n, &res->ratio_lo, &res->ratio_hi);
	}
	if (res->bc->kind == BK_CLONES)
		bn_case_finish_memory(res);
}

static const struct bench_case *bn_find_case(const char *id)
{
	size_t i;

	for (i = 0; i < BENCH_NCASES; i++)
		if (!strcmp(bench_cases[i].id, id))
			return &bench_cases[i];
	return NULL;
}

static bool bn_init(void)
{
	bn_ps = sysconf(_SC_PAGESIZE);
	if (bn_perf_ctl < 0)
		bn_perf_open();
	return access(BENCH_DEV, R_OK | W_OK) == 0;
}

/* Does the case have a peer to run (userfaultfd's cases need it)? */
static bool bn_has_peer(const struct bench_case *bc, bool with_uffd)
{
	return with_uffd || bc->kind == BK_ZERO_TEMP ||
	       bc->kind == BK_ZERO_SHMEM || bc->kind == BK_CACHE ||
	       bc->kind == BK_WRITEBACK;
}

/*
 * Run case @id in quick mode (BENCH_QUICK_PAGES pages, one repetition,
 * every byte checked, the peer too when userfaultfd is there): 0 when all
 * data was right and no call failed, 1 otherwise, -1 for an unknown case.
 * Writes a line about it to @log when not NULL.
 */
static int bench_quick_case(const char *id, FILE *log)
{
	const struct bench_case *bc = bn_find_case(id);
	struct bench_result res;
	unsigned char *store, *wbuf;
	bool with_peer;

	if (!bc)
		return -1;
	if (!bn_init()) {
		bn_err("%s: %s", BENCH_DEV, strerror(errno));
		return 1;
	}
	with_peer = bn_has_peer(bc, bn_uffd_available());
	store = bn_store_new(BENCH_QUICK_PAGES);
	wbuf = malloc(BENCH_WB_BYTES);
	if (!store || !wbuf)
		return 1;
	bn_case_init(&res, bc, BENCH_QUICK_PAGES, true, with_peer, store,
		     wbuf);
	bn_case_round(&res, 0);
	bn_case_finish(&res);
	if (log)
		fprintf(log, "quick %-7s %-30s mempager %s (%ld requests), peer %s (%ld)\n",
			bc->id, bc->name, res.failed ? "FAILED" : "data ok",
			res.mp_requests,
			!with_peer ? "skipped (no userfaultfd)" :
			res.failed ? "FAILED" : "data ok", res.peer_requests);
	if (log && bc->kind == BK_CLONES && !res.failed)
		fprintf(log, "quick %-7s resident memory gained: Rss %.0f KiB, Pss %.0f KiB; peer Rss %.0f KiB, Pss %.0f KiB\n",
			bc->id, res.mp_rss[0], res.mp_pss[0], res.peer_rss[0],
			res.peer_pss[0]);
	munmap(store, BENCH_QUICK_PAGES * bn_ps);
	free(wbuf);
	return res.failed ? 1 : 0;
}

#ifndef BENCH_NO_MAIN
#include <getopt.h>

/* The pages case @bc runs on out of @npages (a whole multiple). */
static size_t bn_case_pages(const struct bench_case *bc, size_t npages)
{
	size_t n = npages / bc->shrink;

	n -= n % BENCH_PAGE_MULTIPLE;
	return n ? n : BENCH_PAGE_MULTIPLE;
}

/*
 * The case's name; on a guest with one vCPU marked so, as such rows come
 * from a second boot (scripts/bench.sh) into the same table.
 */
static const char *bn_case_name(char *buf, size_t size,
				const struct bench_case *bc)
{
	snprintf(buf, size, "%s%s", bc->name,
		 sysconf(_SC_NPROCESSORS_ONLN) == 1 ? " (1 vCPU)" : "");
	return buf;
}

static const char *bn_verdict(const struct bench_result *r)
{
	if (r->failed)
		return "FAILED";
	if (!r->peer_ok)
		return "no peer";
	if (!r->bc->target)
		return "";
	/* A verdict only when the whole interval is on one side. */
	if (r->ratio_hi <= r->bc->target)
		return "met";
	return r->ratio_lo > r->bc->target ? "MISSED" : "unclear";
}

/*
 * Throughput of a scaling row relative to 5.t1p1's, for mempager or the
 * peer: the median over the rounds of the ratio within each round (the
 * rows of a round ran close together, under the same load of the host),
 * and its 95% interval in *@lo and *@hi.
 */
static double bn_speedup(const struct bench_result *res, int n,
			 const char *id, bool peer, double *lo, double *hi)
{
	const struct bench_result *base = NULL, *row = NULL;
	double s[BENCH_MAX_REPS];
	int i, k = 0;

	*lo = *hi = 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(res[i].bc->id, "5.t1p1"))
			base = &res[i];
		if (!strcmp(res[i].bc->id, id))
			row = &res[i];
	}
	if (!base || !row || row->failed || base->failed ||
	    (peer && !row->peer_ok))
		return 0;
	for (i = 0; i < BENCH_MAX_REPS; i++) {
		double b = peer ? base->peer[i] : base->mp[i];
		double t = peer ? row->peer[i] : row->mp[i];

		if (base->ran[i] && row->ran[i] && b > 0 && t > 0)
			s[k++] = b / t;
	}
	bn_bootstrap(s, NULL, k, lo, hi);
	return bn_median(s, k);
}

/* "LO-HI", or "-". */
static const char *bn_interval(char *buf, size_t size, double lo, double hi)
{
	if (lo > 0)
		snprintf(buf, size, "%.2f-%.2f", lo, hi);
	else
		snprintf(buf, size, "-");
	return buf;
}

static void bn_print_table(FILE *f, const struct bench_result *res, int n,
			   const char *kernel, size_t npages, int rounds)
{
	double mp4, pe4, lo, hi, plo, phi;
	bool any_scaling = false;
	char ci[2][24];
	int i;

	fprintf(f, "mempager bench: kernel %s, %ld vCPUs, %zu pages (%zu MiB) per case, %d rounds\n",
		kernel, sysconf(_SC_NPROCESSORS_ONLN), npages,
		npages * bn_ps >> 20, rounds);
	for (i = 0; i < n; i++)
		any_scaling |= res[i].bc->scaling;
	if (any_scaling)
		fprintf(f, "(the scaling cases 5.x on 1/%d of them)\n",
			BENCH_SCALING_SHRINK);
	fprintf(f, "median ns per page of the runs (wall clock; under TCG compare ratios, not times);\n"
		   "95%% interval of each ratio by bootstrap over the rounds (%d resamples);\n"
		   "verdict only when the whole interval is on one side of the target\n",
		BENCH_BOOT_RESAMPLES);
	fprintf(f, "%-7s %-32s %9s %9s %5s %-11s %6s %-7s %4s %s\n", "case", "",
		"mempager", "peer", "ratio", "95% interv.", "target",
		"verdict", "runs", "peer");
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];
		char target[16] = "-", ratio[16] = "-", peer[16] = "-";
		char name[64];

		if (r->bc->target)
			snprintf(target, sizeof(target), "<=%.2f", r->bc->target);
		else if (r->bc->scaling)
			snprintf(target, sizeof(target), "grows");
		if (r->peer_ok && !r->failed) {
			snprintf(peer, sizeof(peer), "%.0f", r->peer_med);
			snprintf(ratio, sizeof(ratio), "%.2f", r->ratio);
		}
		bn_case_name(name, sizeof(name), r->bc);
		fprintf(f, "%-7s %-32s %9.0f %9s %5s %-11s %6s %-7s %4d %s\n",
			r->bc->id, name, r->mp_med, peer, ratio,
			bn_interval(ci[0], sizeof(ci[0]), r->ratio_lo,
				    r->ratio_hi),
			target, bn_verdict(r), r->runs, r->bc->peer);
	}
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if (r->bc->kind != BK_CLONES || r->failed)
			continue;
		fprintf(f, "%s: resident memory the %d clones gained (smaps_rollup, summed, median):\n"
			   "  Pss mempager %.1f MiB, uffd %.1f MiB, ratio %.2f (%s); Rss %.1f / %.1f MiB\n",
			r->bc->id, BENCH_CLONES, r->mp_pss_med / 1024,
			r->peer_pss_med / 1024, r->pss_ratio,
			bn_interval(ci[0], sizeof(ci[0]), r->pss_lo, r->pss_hi),
			r->mp_rss_med / 1024, r->peer_rss_med / 1024);
	}
	if (!any_scaling)
		return;
	fprintf(f, "scaling: throughput relative to 5.t1p1 (median of per-round ratios, 95%% interval), mempager / uffd:\n");
	for (i = 0; i < n; i++) {
		if (!res[i].bc->scaling)
			continue;
		mp4 = bn_speedup(res, n, res[i].bc->id, false, &lo, &hi);
		pe4 = bn_speedup(res, n, res[i].bc->id, true, &plo, &phi);
		fprintf(f, "  %-7s x%.2f (%s) / x%.2f (%s)\n", res[i].bc->id,
			mp4, bn_interval(ci[0], sizeof(ci[0]), lo, hi),
			pe4, bn_interval(ci[1], sizeof(ci[1]), plo, phi));
	}
	mp4 = bn_speedup(res, n, "5.t4p2", false, &lo, &hi);
	pe4 = bn_speedup(res, n, "5.t4p2", true, &plo, &phi);
	if (mp4 > 0)
		fprintf(f, "scaling target (5.t4p2: mempager x%.2f >= x1.30 and above uffd's x%.2f, beyond both intervals): %s\n",
			mp4, pe4,
			lo >= 1.3 && lo > phi ? "met" :
			hi < 1.3 || hi <= plo ? "MISSED" : "unclear");
}

/* Samples by round, null for the rounds the case did not run in. */
static void bn_json_samples(FILE *f, const struct bench_result *r,
			    const double *v, int rounds, bool have)
{
	int i;

	fprintf(f, "[");
	for (i = 0; have && i < rounds; i++) {
		if (r->ran[i])
			fprintf(f, "%s%.1f", i ? ", " : "", v[i]);
		else
			fprintf(f, "%snull", i ? ", " : "");
	}
	fprintf(f, "]");
}

static void bn_print_json(FILE *f, const struct bench_result *res, int n,
			  const char *kernel, size_t npages, int rounds,
			  double seconds)
{
	int i;

	fprintf(f, "{\n  \"kernel\": \"%s\",\n  \"page_size\": %zu,\n  \"vcpus\": %ld,\n",
		kernel, bn_ps, sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"interval\": \"95%%, bootstrap over rounds, %d resamples, seed %#llx\",\n",
		BENCH_BOOT_RESAMPLES, (unsigned long long)BENCH_BOOT_SEED);
	fprintf(f, "  \"pages_per_case\": %zu,\n  \"rounds\": %d,\n  \"seconds\": %.1f,\n",
		npages, rounds, seconds);
	fprintf(f, "  \"unit\": \"ns per page, median\",\n  \"cases\": [\n");
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];
		const struct bench_case *bc = r->bc;
		char name[64];

		fprintf(f, "    {\"id\": \"%s\", \"name\": \"%s\", \"peer\": \"%s\", \"vcpus\": %ld,\n",
			bc->id, bn_case_name(name, sizeof(name), bc), bc->peer,
			sysconf(_SC_NPROCESSORS_ONLN));
		fprintf(f, "     \"cluster\": %zu, \"threads\": %d, \"pagers\": %d, \"same_cpu\": %s, \"pages\": %zu, \"runs\": %d,\n",
			bc->cluster, bc->threads ? bc->threads : 1, bc->pagers,
			bc->place == BP_SAME ? "true" : "false", r->npages,
			r->runs);
		fprintf(f, "     \"mempager_ns_per_page\": %.1f, ", r->mp_med);
		if (r->peer_ok && !r->failed)
			fprintf(f, "\"peer_ns_per_page\": %.1f, \"ratio\": %.3f, \"ratio_ci95\": [%.3f, %.3f],\n",
				r->peer_med, r->ratio, r->ratio_lo,
				r->ratio_hi);
		else
			fprintf(f, "\"peer_ns_per_page\": null, \"ratio\": null, \"ratio_ci95\": null,\n");
		if (bc->target)
			fprintf(f, "     \"target\": %.2f, ", bc->target);
		else
			fprintf(f, "     \"target\": null, ");
		fprintf(f, "\"verdict\": \"%s\", \"failed\": %s,\n",
			bn_verdict(r), r->failed ? "true" : "false");
		fprintf(f, "     \"mempager_requests\": %ld, \"peer_requests\": %ld,\n",
			r->mp_requests, r->peer_requests);
		if (bc->scaling) {
			double m, p, lo, hi, plo, phi;

			m = bn_speedup(res, n, bc->id, false, &lo, &hi);
			p = bn_speedup(res, n, bc->id, true, &plo, &phi);
			fprintf(f, "     \"mempager_speedup\": %.3f, \"mempager_speedup_ci95\": [%.3f, %.3f],\n",
				m, lo, hi);
			fprintf(f, "     \"peer_speedup\": %.3f, \"peer_speedup_ci95\": [%.3f, %.3f],\n",
				p, plo, phi);
		}
		if (bc->kind == BK_CLONES && !r->failed)
			fprintf(f, "     \"mempager_rss_kib\": %.0f, \"mempager_pss_kib\": %.0f, \"peer_rss_kib\": %.0f, \"peer_pss_kib\": %.0f, \"pss_ratio\": %.3f, \"pss_ratio_ci95\": [%.3f, %.3f],\n",
				r->mp_rss_med, r->mp_pss_med, r->peer_rss_med,
				r->peer_pss_med, r->pss_ratio, r->pss_lo,
				r->pss_hi);
		fprintf(f, "     \"mempager_samples\": ");
		bn_json_samples(f, r, r->mp, rounds, !r->failed);
		fprintf(f, ",\n     \"peer_samples\": ");
		bn_json_samples(f, r, r->peer, rounds, r->peer_ok && !r->failed);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
}

static void bn_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: bench [--quick] [--pages N] [--reps R] [--budget SECONDS] [--cases ID,...]\n"
		   "             [--json FILE] [--verbose] [--pin] [--side mempager|peer] [--list]\n");
	fprintf(f, "  every selected case runs once per round, the rounds repeat up to --reps\n"
		   "  times (default %d) while the next one fits in --budget (default %d s,\n"
		   "  0 for none); the first round runs whole, a later one stops at the budget\n",
		BENCH_DEFAULT_REPS, BENCH_DEFAULT_BUDGET);
	fprintf(f, "  --pin runs every thread on CPU 0; --cases 5 selects every 5.x;\n");
	fprintf(f, "  --side mempager|peer runs one side only (to profile it)\n");
	fprintf(f, "cases:\n");
	for (i = 0; i < BENCH_NCASES; i++)
		fprintf(f, "  %-7s %-30s vs %s%s\n", bench_cases[i].id,
			bench_cases[i].name, bench_cases[i].peer,
			bench_cases[i].extra ? " (only when named)" : "");
}

/* Is case @bc chosen by --cases @list (NULL: the default set)? */
static bool bn_selected(const char *list, const struct bench_case *bc)
{
	const char *id = bc->id, *p = list;
	size_t len = strlen(id);

	if (!list)
		return !bc->extra;
	while ((p = strstr(p, id))) {
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || !p[len]))
			return true;
		p += len;
	}
	/* "5" selects every 5.x, "2" every 2.x. */
	for (p = list; !bc->extra && *p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : "") {
		size_t l = strcspn(p, ",");

		if (l && !strncmp(p, id, l) && id[l] == '.')
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "pages", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "cases", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pin", no_argument, NULL, 'p' },
		{ "side", required_argument, NULL, 's' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	static struct bench_result res[BENCH_NCASES];
	const char *cases = NULL, *json = NULL;
	bool quick = false, pin = false, with_uffd;
	size_t npages = 0, i;
	unsigned char *store, *wbuf;
	struct utsname un;
	int reps = BENCH_DEFAULT_REPS, rounds = 0, n = 0, opt, k, failed = 0;
	double budget = BENCH_DEFAULT_BUDGET, elapsed;
	uint64_t start;
	FILE *jf;

	while ((opt = getopt_long(argc, argv, "qn:r:b:c:j:vps:lh", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'q':
			quick = true;
			break;
		case 'n':
			npages = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'b':
			budget = atof(optarg);
			break;
		case 'c':
			cases = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'v':
			bn_verbose = true;
			break;
		case 'p':
			pin = true;
			break;
		case 's':
			bn_side_only = !strcmp(optarg, "mempager") ? 1 :
				       !strcmp(optarg, "peer") ? 2 : 0;
			break;
		case 'l':
			bn_usage(stdout);
			return 0;
		default:
			bn_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!bn_init()) {
		bn_err("%s: %s (is mempager.ko loaded?)", BENCH_DEV,
		       strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (quick) {
		printf("==== bench table begin ====\n");
		for (i = 0; i < BENCH_NCASES; i++) {
			if (!bn_selected(cases, &bench_cases[i]))
				continue;
			failed += bench_quick_case(bench_cases[i].id, stdout) != 0;
		}
		printf("quick: %s\n", failed ? "FAILED" : "all data verified");
		printf("==== bench table end ====\n");
		return failed ? 1 : 0;
	}

	if (!npages)
		npages = BENCH_DEFAULT_BYTES / bn_ps;
	if (npages < BENCH_PAGE_MULTIPLE || npages % BENCH_PAGE_MULTIPLE ||
	    reps < 1 || reps > BENCH_MAX_REPS) {
		bn_err("--pages must be a multiple of %d, --reps 1 to %d",
		       BENCH_PAGE_MULTIPLE, BENCH_MAX_REPS);
		return 2;
	}
	if (pin) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	uname(&un);
	with_uffd = bn_uffd_available();
	if (!with_uffd)
		bn_err("no userfaultfd (%s): its rows have no peer",
		       strerror(errno));
	store = bn_store_new(npages);
	wbuf = malloc(BENCH_WB_BYTES);
	if (!store || !wbuf)
		return 1;
	for (i = 0; i < BENCH_NCASES; i++)
		if (bn_selected(cases, &bench_cases[i]))
			bn_case_init(&res[n++], &bench_cases[i],
				     bn_case_pages(&bench_cases[i], npages), false,
				     bn_has_peer(&bench_cases[i], with_uffd),
				     store, wbuf);

	/*
	 * Round-robin: every case once per round, so that every case sees
	 * the host's changing load alike (other VMs share its CPUs).
	 */
	start = bn_now();
	while (rounds < reps) {
		for (k = 0; k < n; k++) {
			uint64_t t0 = bn_now();

			/* Past the budget, later rounds give up (not the first). */
			if (rounds && budget > 0 &&
			    (t0 - start) / 1e9 > budget) {
				fprintf(stderr, "bench: budget spent, round %d stops before %s\n",
					rounds, res[k].bc->id);
				break;
			}
			/* A hung case must not hang the VM until its time-out. */
			alarm(600);
			bn_case_round(&res[k], rounds);
			alarm(0);
			fprintf(stderr, "bench: round %d %-7s %9.0f %9.0f ns/page (%.1f s)\n",
				rounds, res[k].bc->id, res[k].mp[rounds],
				res[k].peer[rounds], (bn_now() - t0) / 1e9);
		}
		rounds++;
		elapsed = (bn_now() - start) / 1e9;
		if (budget > 0 && elapsed / rounds * (rounds + 1) > budget)
			break;
	}
	elapsed = (bn_now() - start) / 1e9;
	for (k = 0; k < n; k++) {
		bn_case_finish(&res[k]);
		failed += res[k].failed;
	}

	printf("==== bench table begin ====\n");
	bn_print_table(stdout, res, n, un.release, npages, rounds);
	printf("==== bench table end ====\n");
	printf("==== bench json begin ====\n");
	bn_print_json(stdout, res, n, un.release, npages, rounds, elapsed);
	printf("==== bench json end ====\n");
	if (json) {
		jf = fopen(json, "w");
		if (!jf) {
			bn_err("%s: %s", json, strerror(errno));
			return 1;
		}
		bn_print_json(jf, res, n, un.release, npages, rounds, elapsed);
		fclose(jf);
	}
	return failed ? 1 : 0;
}

#endif /* BENCH_NO_MAIN */
