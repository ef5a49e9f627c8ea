// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's side of the default memory manager: registration, and
 * temporary memory handed to it (memory_object_create, data_initialize,
 * data_return, data_request answered with data_supply or
 * data_unavailable). Checklist item 40 of shared/MACH-EMM.md. The
 * write-back limit (module parameter max_resident_percent) is lowered to
 * 1% of RAM so that page-out happens deterministically without filling RAM.
 * An msync of temporary memory attached to the default manager outlives
 * the mapping and the manager.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/sysinfo.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define BATCH 64

/* A default manager that keeps pages in memory. */
struct dm {
	int fd;
	size_t npages;
	unsigned char *store;	/* page data it holds */
	unsigned char *held;	/* 1: given with data_initialize/return */
	volatile int stop;
	uint32_t object;
	memory_object_control_t ctl;
	long creates, inits, returns, init_of_held, requests, unavailable;
	long errors;
};

static void dm_message(struct dm *d, struct mempager_msg *m,
		       unsigned char *data)
{
	size_t pg, n, i;

	switch (m->type) {
	case MEMPAGER_MSG_CREATE:
		d->creates++;
		d->object = m->object;
		d->ctl = mempager_msg_control(d->fd, m);
		if (m->create.size != d->npages * PS ||
		    m->create.page_size != PS)
			d->errors++;
		break;
	case MEMPAGER_MSG_DATA_INITIALIZE:
	case MEMPAGER_MSG_DATA_RETURN:
		pg = m->data_return.offset / PS;
		n = m->data_return.length / PS;
		for (i = 0; i < n; i++) {
			if (m->type == MEMPAGER_MSG_DATA_INITIALIZE) {
				d->inits++;
				/* Ignored for a page it holds, as Mach says. */
				if (d->held[pg + i]) {
					d->init_of_held++;
					continue;
				}
			} else {
				d->returns++;
			}
			memcpy(d->store + (pg + i) * PS,
			       data + m->data_return.data_offset + i * PS, PS);
			d->held[pg + i] = 1;
		}
		break;
	case MEMPAGER_MSG_DATA_REQUEST:
		d->requests++;
		pg = m->request.offset / PS;
		if (d->held[pg]) {
			if (memory_object_data_supply(d->ctl, pg * PS,
						      d->store + pg * PS, PS,
						      0, 0, 0))
				d->errors++;
		} else {
			d->unavailable++;
			if (memory_object_data_unavailable(d->ctl, pg * PS, PS))
				d->errors++;
		}
		break;
	case MEMPAGER_MSG_TERMINATE:
		break;
	default:
		d->errors++;
	}
}

static void *dm_thread(void *arg)
{
	struct dm *d = arg;
	struct mempager_msg m[BATCH];
	unsigned char *data = malloc(BATCH * 16 * PS);

	while (!d->stop) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		struct mempager_receive r = {
			.size = sizeof(r), .msgs = (uintptr_t)m,
			.msgs_max = BATCH, .data = (uintptr_t)data,
			.data_size = BATCH * 16 * PS,
		};
		unsigned int i;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (ioctl(d->fd, MEMPAGER_RECEIVE, &r)) {
			d->errors++;
			continue;
		}
		for (i = 0; i < r.out_msgs; i++)
			dm_message(d, &m[i], data);
	}
	free(data);
	return NULL;
}

static int dm_register(int fd)
{
	struct mempager_default_manager dm = { .size = sizeof(dm) };

	return ioctl(fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm);
}

static uint64_t word(size_t pg, size_t i)
{
	return ((uint64_t)pg << 24) ^ (i * 2654435761ULL) ^ 0x5a5a;
}

/* Without CAP_SYS_ADMIN nobody becomes the default manager. */
TEST(registration_needs_cap_sys_admin)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = mempager_open();
		if (dm_register(fd) != -1 || errno != EPERM)
			_exit(1);
		_exit(0);
	}
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	/* A bad flag is refused first. */
	{
		struct mempager_default_manager dm = {
			.size = sizeof(dm), .flags = 1,
		};
		int fd = mempager_open();

		EXPECT_EQ(-1, ioctl(fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm));
		EXPECT_EQ(EINVAL, errno);
		close(fd);
	}
}

/* With no default manager, temporary memory stays resident: nothing is sent. */
TEST(no_default_manager_keeps_memory_resident)
{
	char old[16];
	int fd = mempager_open();
	unsigned char *p;
	size_t i, n = 2048;

	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	p = mmap(NULL, n * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < n; i++)
		p[i * PS] = (unsigned char)i;
	usleep(TP_QUIET_MS * 1000);
	for (i = 0; i < n; i++)
		ASSERT_EQ((unsigned char)i, p[i * PS]);
	munmap(p, n * PS);
	close(fd);
	tp_set_resident_percent(old, NULL, 0);
}

/* 40: create at first page-out, initialize then return, zeros via unavailable. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, item40_temporary_memory_pages_out_and_in, 600)
{
	struct dm d = { 0 };
	pthread_t th;
	char old[16];
	uint64_t *p;
	size_t pg, i, bad = 0;
	int fd;

	d.npages = 4096;	/* 16 MiB: well over 1% of the guest's RAM */
	d.store = malloc(d.npages * PS);
	d.held = calloc(d.npages, 1);
	d.fd = mempager_open();
	ASSERT_EQ(0, dm_register(d.fd)) TH_LOG("register: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&th, NULL, dm_thread, &d));

	fd = mempager_open();
	p = mmap(NULL, d.npages * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Nothing is created before a page-out is needed. */
	p[0] = 1;
	usleep(TP_QUIET_MS * 1000);
	EXPECT_EQ(0, d.creates);

	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	/* Write every page but the last 16, which stay never written. */
	for (pg = 0; pg < d.npages - 16; pg++)
		for (i = 0; i < PS / 8; i += 61)
			p[pg * PS / 8 + i] = word(pg, i);
	/* Read everything back: paged-out pages come from the manager. */
	for (pg = 0; pg < d.npages; pg++)
		for (i = 0; i < PS / 8; i += 61)
			bad += p[pg * PS / 8 + i] !=
			       (pg < d.npages - 16 ? word(pg, i) : 0);
	EXPECT_EQ(0, bad);
	/* Written again: what the manager already had comes back as data_return. */
	for (pg = 0; pg < d.npages / 2; pg++)
		p[pg * PS / 8] = ~word(pg, 0);
	for (pg = 0; pg < d.npages / 2; pg++)
		bad += p[pg * PS / 8] != ~word(pg, 0);
	EXPECT_EQ(0, bad);
	tp_set_resident_percent(old, NULL, 0);

	munmap(p, d.npages * PS);
	close(fd);
	usleep(TP_QUIET_MS * 1000);
	d.stop = 1;
	pthread_join(th, NULL);
	EXPECT_EQ(1, d.creates);
	EXPECT_GT(d.inits, 0);
	EXPECT_GT(d.returns, 0);
	EXPECT_GT(d.requests, 0);
	EXPECT_EQ(0, d.init_of_held);
	EXPECT_EQ(0, d.errors);
	TH_LOG("%ld data_initialize, %ld data_return pages, %ld requests (%ld unavailable)",
	       d.inits, d.returns, d.requests, d.unavailable);
	close(d.fd);
	free(d.store);
	free(d.held);
}

/*
 * Pages of temporary memory that max_resident_percent=1 lets stay resident
 * (the kernel's totalram_pages() / 100), and half as many again: enough for
 * write-back to push several hundred to the default manager.
 */
static size_t dm_pages_over_one_percent(void)
{
	struct sysinfo si;
	size_t limit;

	if (sysinfo(&si))
		return 4096;
	limit = (size_t)si.totalram * si.mem_unit / PS / 100;
	return limit + limit / 2;
}

/*
 * A new default manager replaces the old one, which is sent nothing more.
 * Every page written after the create costs a data_request answered with
 * data_unavailable: 4096 pages (3405 round trips in a 384 MiB guest) took
 * 5 to 23.5 s of the harness's 30 in the debug lane, so the object is only
 * half as big again as what stays resident.
 */
TEST(replacing_the_default_manager)
{
	struct dm d = { 0 };
	struct mempager_msg m;
	char old[16];
	unsigned char *p;
	struct tp_watchdog w;
	pthread_t th;
	size_t i, n = dm_pages_over_one_percent();
	int a = mempager_open(), fd;
	double t_write;

	/* The harness kills the test at 30 s: leave evidence before. */
	tp_watchdog_start(&w, 25000);

	d.npages = n;
	d.store = malloc(n * PS);
	d.held = calloc(n, 1);
	d.fd = mempager_open();
	ASSERT_EQ(0, dm_register(a));
	ASSERT_EQ(0, dm_register(d.fd));
	ASSERT_EQ(0, pthread_create(&th, NULL, dm_thread, &d));
	fd = mempager_open();
	p = mmap(NULL, n * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	w.phase = "writing the pages";
	for (i = 0; i < n; i++)
		p[i * PS] = 1;
	t_write = tp_elapsed(&w.start);
	tp_set_resident_percent(old, NULL, 0);
	usleep(TP_QUIET_MS * 1000);
	w.phase = "stopping the manager thread";
	d.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%zu pages written in %.1f s: %ld data_initialize, %ld requests (%ld unavailable), %ld data_return",
	       n, t_write, d.inits, d.requests, d.unavailable, d.returns);
	/* The create went to the new manager; the old one hears nothing. */
	EXPECT_EQ(1, d.creates);
	EXPECT_GT(d.inits, 0);
	EXPECT_EQ(0, tp_next(a, &m, TP_QUIET_MS));
	/*
	 * The new one dies: resident pages stay readable, the pages it held
	 * give SIGBUS, never other data.
	 */
	w.phase = "killing the manager";
	close(d.fd);
	w.phase = "reading the pages in a child";
	{
		pid_t pid = fork();

		if (pid == 0) {
			for (i = 0; i < n; i++)
				if (p[i * PS] != 1)
					_exit(1);
			_exit(0);
		}
		w.pid = pid;
		EXPECT_TRUE(tp_sigbus(tp_wait(pid, TP_TIMEOUT_MS)));
		w.pid = 0;
	}
	munmap(p, n * PS);
	close(fd);
	close(a);
	tp_watchdog_stop(&w);
	TH_LOG("done in %.1f s", tp_elapsed(&w.start));
	free(d.store);
	free(d.held);
}

struct msync_arg {
	unsigned char *p;
	size_t len;
	volatile int done, err;
};

static void *pinned_msync_fn(void *arg)
{
	struct msync_arg *a = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	a->err = msync(a->p, a->len, MS_SYNC) ? errno : 0;
	a->done = 1;
	return NULL;
}

/*
 * Issue 13 item 1, temporary memory: an msync(MS_SYNC) of temporary memory
 * attached to the default manager, waiting for synchronize_completed,
 * outlives the mapping (the object's last reference but its own) and the
 * manager. The waiter and the test share one CPU, so the munmap and the
 * close run to their end before the waiter looks at the object again.
 */
TEST(msync_of_temporary_memory_outlives_its_mapping)
{
	unsigned char *data = malloc(16 * PS);
	struct msync_arg ma = { 0 };
	struct mempager_msg m;
	struct dm d = { 0 };
	pthread_t th, ms;
	cpu_set_t set, all;
	char old[16];
	size_t i;
	int fd, sync = 0;

	d.npages = 2048;	/* 8 MiB: over 1% of the guest's RAM */
	d.store = malloc(d.npages * PS);
	d.held = calloc(d.npages, 1);
	d.fd = mempager_open();
	ASSERT_EQ(0, dm_register(d.fd)) TH_LOG("register: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&th, NULL, dm_thread, &d));
	fd = mempager_open();
	ma.len = d.npages * PS;
	ma.p = mmap(NULL, ma.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, ma.p);
	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	for (i = 0; i < d.npages; i++)
		ma.p[i * PS] = 1;
	tp_set_resident_percent(old, NULL, 0);
	/* Dirty, and resident (page-out is over): msync returns it. */
	ma.p[0] = 2;
	usleep(TP_QUIET_MS * 1000);
	d.stop = 1;
	pthread_join(th, NULL);
	ASSERT_EQ(1, d.creates);	/* attached to the default manager */

	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	ASSERT_EQ(0, pthread_create(&ms, NULL, pinned_msync_fn, &ma));
	while (!sync && tp_recv(d.fd, &m, data, 16 * PS, TP_TIMEOUT_MS) == 1)
		sync = m.type == MEMPAGER_MSG_SYNCHRONIZE;
	ASSERT_TRUE(sync);
	EXPECT_EQ(0, ma.done);
	/* Every reference but the waiting msync's goes. */
	ASSERT_EQ(0, munmap(ma.p, ma.len));
	close(fd);
	close(d.fd);
	pthread_join(ms, NULL);
	sched_setaffinity(0, sizeof(all), &all);
	EXPECT_EQ(EIO, ma.err);
	free(d.store);
	free(d.held);
	free(data);
}

TEST_HARNESS_MAIN
