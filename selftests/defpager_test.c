// SPDX-License-Identifier: GPL-2.0
/*
 * The default pager, tools/mempager-defpager, run as a system would run
 * it: registration and who may use it, default_pager_object_create and
 * the accounting of its paging space, paging files added and removed, the
 * socket protocol's checks, a restart, and temporary memory of twice the
 * guest's RAM paged to the scratch disk and back (checklist items 40, 41).
 *
 * Each test starts its own daemon (on its own socket); the program is
 * found in $MEMPAGER_TOOLS, else in ../tools beside this test (build/tools
 * on the host, /tools in the test VM).
 */
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "../tools/defpager_proto.h"

#define NOBODY 65534

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * struct daemon - one mempager-defpager
 * @pid: its pid, 0 when not running
 * @sock: its socket path
 * @log: where its stderr goes
 * @swap: its first paging file
 */
struct daemon {
	pid_t pid;
	char sock[64];
	char log[64];
	char swap[64];
};

/* The daemon's log, NUL-terminated, in a static buffer (its end if long). */
static const char *daemon_log(struct daemon *d)
{
	static char buf[8192];
	int fd = open(d->log, O_RDONLY);
	off_t size;
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

/*
 * Start the daemon with paging file @file (PATH[:SIZE]) and @flag (or
 * NULL); wait until it answers. 0, or -1 (the log says why).
 */
static int daemon_start(struct daemon *d, const char *file, const char *flag)
{
	char path[PATH_MAX];
	long long deadline;
	int s, status;

	snprintf(path, sizeof(path), "%s/mempager-defpager", tp_tools_dir());
	if (access(path, X_OK))
		return -1;
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (!d->pid) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		/* Never outlive the test that started it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(path, path, "--socket", d->sock, "--paging-file", file,
		      flag, (char *)NULL);
		_exit(127);
	}
	for (deadline = now_ms() + TP_TIMEOUT_MS; now_ms() < deadline;) {
		struct dp_info_reply info;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		s = dp_connect(d->sock);
		if (s >= 0) {
			int ok = !dp_info(s, &info);

			close(s);
			if (ok)
				return 0;
		}
		usleep(20000);
	}
	return -1;
}

/* SIGTERM (or @sig) and reap; returns its wait status or -1. */
static int daemon_stop(struct daemon *d, int sig)
{
	int status;

	if (!d->pid)
		return -1;
	kill(d->pid, sig);
	status = tp_wait(d->pid, TP_TIMEOUT_MS);
	d->pid = 0;
	return status;
}

static int kernel_has_default_manager(void)
{
	int fd = mempager_open();
	int yes = fd >= 0 &&
		mempager_has_ioctl(fd, MEMPAGER_CMD_SET_DEFAULT_MANAGER);

	if (fd >= 0)
		close(fd);
	return yes;
}

/* The byte at @i of page @pg of pattern @seed. */
static unsigned char pat(size_t pg, size_t i, unsigned int seed)
{
	return tp_byte(pg, i, seed);
}

static void fill(unsigned char *p, size_t pg, unsigned int seed)
{
	tp_fill(p, pg, seed);
}

static int is_zero(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < PS; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Poll info until free_space is @free (within the time-out); 0 or -1. */
static int wait_free(int s, uint64_t free, struct dp_info_reply *info)
{
	long long deadline = now_ms() + TP_TIMEOUT_MS;

	do {
		if (dp_info(s, info))
			return -1;
		if (info->free_space == free)
			return 0;
		usleep(20000);
	} while (now_ms() < deadline);
	return -1;
}

/* The entry of object @name in the daemon's list; 0, or -1 if absent. */
static int find_object(int s, uint64_t name, struct dp_object_entry *out)
{
	static char buf[DP_MAX_PACKET];
	struct dp_objects_reply *r;
	uint64_t after = 0;
	uint32_t i;

	do {
		r = dp_objects(s, after, buf);
		if (!r)
			return -1;
		for (i = 0; i < r->count; i++) {
			if (r->entries[i].name == name) {
				*out = r->entries[i];
				return 0;
			}
			after = r->entries[i].name;
		}
	} while (r->flags & DP_MORE);
	return -1;
}

/* Count of the offsets held for @name, and whether they are @first.. */
static long count_pages(int s, uint64_t name, uint64_t *first, size_t max)
{
	static char buf[DP_MAX_PACKET];
	struct dp_object_pages_reply *r;
	uint64_t start = 0;
	long n = 0;
	uint32_t i;

	do {
		r = dp_object_pages(s, name, start, buf);
		if (!r)
			return -1;
		for (i = 0; i < r->count; i++, n++)
			if (first && (size_t)n < max)
				first[n] = r->offsets[i];
		start = r->next;
	} while (r->flags & DP_MORE);
	return n;
}

/* Run @fn(@arg) in a child as nobody; its exit status. */
static int as_nobody(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		_exit(fn(arg));
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	return tp_exited_ok(status) ? 0 : WIFEXITED(status) ?
		WEXITSTATUS(status) : 200;
}

FIXTURE(defpager) {
	struct daemon d;
	int s;
	int registered;
};

FIXTURE_SETUP(defpager)
{
	char file[96];

	if (access("/dev/mempager", R_OK | W_OK))
		SKIP(return, "no /dev/mempager");
	if (geteuid())
		SKIP(return, "the default pager runs as root");
	self->registered = kernel_has_default_manager();
	snprintf(self->d.sock, sizeof(self->d.sock), "/tmp/dpt-%d.sock", getpid());
	snprintf(self->d.log, sizeof(self->d.log), "/tmp/dpt-%d.log", getpid());
	snprintf(self->d.swap, sizeof(self->d.swap), "/tmp/dpt-%d.swap", getpid());
	snprintf(file, sizeof(file), "%s:16M", self->d.swap);
	unlink(self->d.log);
	/* Without the kernel's default manager, only the socket side runs. */
	ASSERT_EQ(0, daemon_start(&self->d, file,
				  self->registered ? NULL : "--no-register"))
		TH_LOG("the daemon did not start (%s/mempager-defpager):\n%s",
		       tp_tools_dir(), daemon_log(&self->d));
	self->s = dp_connect(self->d.sock);
	ASSERT_LE(0, self->s);
}

FIXTURE_TEARDOWN(defpager)
{
	if (self->s > 0)
		close(self->s);
	daemon_stop(&self->d, SIGTERM);
	if (!__test_passed(_metadata))
		TH_LOG("daemon log:\n%s", daemon_log(&self->d));
	unlink(self->d.swap);
	unlink(self->d.log);
	unlink(self->d.sock);
}

/* (a) It registers as the default manager, and says so. */
TEST_F(defpager, registers)
{
	struct dp_info_reply info;

	if (!self->registered)
		SKIP(return, "the kernel has no MEMPAGER_SET_DEFAULT_MANAGER");
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_TRUE(info.flags & DP_INFO_DEFAULT_MANAGER);
	EXPECT_NE(NULL, strstr(daemon_log(&self->d), "registered"));
	EXPECT_EQ(PS, info.page_size);
	EXPECT_EQ(16 << 20, info.total_space);
	EXPECT_EQ(info.total_space, info.free_space);
}

static int try_register(void *arg)
{
	struct mempager_default_manager dm = { .size = sizeof(dm) };
	int fd = mempager_open();

	(void)arg;
	if (fd < 0)
		return 1;
	if (!ioctl(fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm))
		return 2;
	return errno == EPERM ? 0 : 3;
}

/* (a) Only CAP_SYS_ADMIN may become the default manager. */
TEST_F(defpager, nobody_may_not_register)
{
	if (!self->registered)
		SKIP(return, "the kernel has no MEMPAGER_SET_DEFAULT_MANAGER");
	EXPECT_EQ(0, as_nobody(try_register, NULL))
		TH_LOG("an unprivileged SET_DEFAULT_MANAGER was not refused with EPERM");
}

static int try_socket(void *arg)
{
	struct daemon *d = arg;
	struct dp_info_reply info;
	int s = dp_connect(d->sock);

	if (s < 0)
		return errno == EACCES ? 0 : 1;
	/* Connected (the socket's mode allowed it): the daemon must refuse. */
	if (!dp_info(s, &info))
		return 2;
	/*
	 * The daemon answers EPERM and hangs up at once: the request may
	 * meet the closed socket first (EPIPE, ECONNRESET). Refused either way.
	 */
	if (errno != EPERM && errno != EPIPE && errno != ECONNRESET)
		return 3;
	/* And hang up. */
	if (!dp_info(s, &info))
		return 4;
	if (dp_object_create(s, PS, NULL) >= 0)
		return 5;
	return 0;
}

/* (a) The socket is root's, and the daemon checks SO_PEERCRED too. */
TEST_F(defpager, nobody_is_refused_by_the_socket)
{
	struct stat st;

	ASSERT_EQ(0, stat(self->d.sock, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_EQ(0, as_nobody(try_socket, &self->d));
	/* Past the file mode, the credentials check. */
	ASSERT_EQ(0, chmod(self->d.sock, 0666));
	EXPECT_EQ(0, as_nobody(try_socket, &self->d));
	EXPECT_NE(NULL, strstr(daemon_log(&self->d), "refused a client"));
	/* Root still is served. */
	{
		struct dp_info_reply info;

		EXPECT_EQ(0, dp_info(self->s, &info));
	}
}

struct reach {
	uint64_t names[2];
	const char *swap;
};

static int try_reach(void *arg)
{
	struct reach *r = arg;
	int i, fd;

	fd = mempager_open();
	if (fd < 0)
		return 10;
	for (i = 0; i < 2; i++) {
		struct mempager_object_open oo = {
			.size = sizeof(oo), .name = r->names[i],
		};

		if (!ioctl(fd, MEMPAGER_OBJECT_OPEN, &oo))
			return 20 + i;
		if (errno != ENOENT && errno != EACCES)
			return 30 + i;
	}
	/* Nor the pages in the paging file. */
	if (open(r->swap, O_RDONLY) >= 0)
		return 40;
	close(fd);
	return 0;
}

/*
 * (a) Another user reaches neither root's temporary memory nor an object
 * of the daemon by name, nor the paging file.
 */
TEST_F(defpager, nobody_cannot_reach_objects)
{
	struct reach r = { .swap = self->d.swap };
	int mfd = mempager_open(), ofd;
	unsigned char *p;

	ASSERT_LE(0, mfd);
	p = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, 4 * PS);
	ASSERT_EQ(KERN_SUCCESS, mempager_region(mfd, p, &r.names[0], NULL, NULL,
						NULL));
	ofd = dp_object_create(self->s, 4 * PS, &r.names[1]);
	ASSERT_LE(0, ofd);
	EXPECT_EQ(0, as_nobody(try_reach, &r));
	munmap(p, 4 * PS);
	close(ofd);
	close(mfd);
}

/* (b) A zero-filled object that two processes' mappings share. */
TEST_F(defpager, object_create_is_zero_filled_and_shared)
{
	const size_t npages = 16;
	struct dp_object_entry e;
	uint64_t name, region;
	unsigned char *p;
	size_t pg, i;
	pid_t pid;
	int fd, mfd, status;

	fd = dp_object_create(self->s, npages * PS - 100, &name);
	ASSERT_LE(0, fd) TH_LOG("object_create: %s", strerror(errno));
	ASSERT_EQ(0, find_object(self->s, name, &e));
	EXPECT_EQ(npages * PS, e.size);
	EXPECT_EQ(DP_OBJ_CREATED, e.flags);
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	mfd = mempager_open();
	ASSERT_LE(0, mfd);
	ASSERT_EQ(KERN_SUCCESS, mempager_region(mfd, p, &region, NULL, NULL,
						NULL));
	EXPECT_EQ(name, region);
	close(mfd);
	for (pg = 0; pg < npages; pg++)
		EXPECT_TRUE(is_zero(p + pg * PS)) TH_LOG("page %zu", pg);

	/* A second process maps it on its own, writes half, reads the rest. */
	fill(p + 12 * PS, 12, 9);
	pid = fork();
	if (!pid) {
		unsigned char *q = tp_map(fd, npages, 0);

		if (q == MAP_FAILED)
			_exit(1);
		for (pg = 0; pg < 8; pg++)
			fill(q + pg * PS, pg, 3);
		if (tp_check(q + 12 * PS, 12, 9))
			_exit(2);
		munmap(q, npages * PS);
		_exit(0);
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	EXPECT_TRUE(tp_exited_ok(status)) TH_LOG("child status %#x", status);
	for (pg = 0; pg < 8; pg++)
		EXPECT_EQ(0, tp_check(p + pg * PS, pg, 3)) TH_LOG("page %zu", pg);
	for (i = 0; i < PS; i++)
		if (p[8 * PS + i])
			break;
	EXPECT_EQ(PS, i);
	EXPECT_EQ(0, find_object(self->s, name, &e));
	EXPECT_TRUE(e.flags & DP_OBJ_MAPPED);
	munmap(p, npages * PS);
	close(fd);
}

/*
 * (b) Free space shrinks by exactly the pages written once the kernel
 * returns them (at the last unmap: the daemon's objects are not cached),
 * they come back intact, and the space is free again when the object
 * dies with its client's connection.
 */
TEST_F(defpager, free_space_follows_pages)
{
	const size_t npages = 32, written = 20;
	struct dp_info_reply info0, info, base;
	struct dp_object_entry e;
	uint64_t name, offs[64];
	unsigned char *p;
	size_t pg;
	long n;
	int s2, fd;

	ASSERT_EQ(0, dp_info(self->s, &info0));
	s2 = dp_connect(self->d.sock);
	ASSERT_LE(0, s2);
	fd = dp_object_create(s2, npages * PS, &name);
	ASSERT_LE(0, fd);
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < written; pg++)
		fill(p + pg * PS, pg, 5);
	ASSERT_EQ(0, munmap(p, npages * PS));

	EXPECT_EQ(0, wait_free(self->s, info0.free_space - written * PS, &info))
		TH_LOG("free %llu, expected %llu",
		       (unsigned long long)info.free_space,
		       (unsigned long long)(info0.free_space - written * PS));
	EXPECT_EQ(written, info.pageouts - info0.pageouts);
	n = count_pages(self->s, name, offs, 64);
	ASSERT_EQ((long)written, n);
	for (pg = 0; pg < written; pg++)
		EXPECT_EQ(pg * PS, offs[pg]);
	ASSERT_EQ(0, find_object(self->s, name, &e));
	EXPECT_EQ(written, e.pages);
	EXPECT_EQ(DP_OBJ_CREATED, e.flags);

	/* Mapped again: the pages come from the paging file, the rest is 0. */
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < npages; pg++) {
		if (pg < written) {
			EXPECT_EQ(0, tp_check(p + pg * PS, pg, 5))
				TH_LOG("page %zu", pg);
		} else {
			EXPECT_TRUE(is_zero(p + pg * PS)) TH_LOG("page %zu", pg);
		}
	}
	base = info;
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(written, info.pageins - base.pageins);
	EXPECT_EQ(npages - written, info.zero_fills - base.zero_fills);
	/* Clean pages are not returned: nothing changes at this unmap. */
	ASSERT_EQ(0, munmap(p, npages * PS));
	close(fd);
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(info0.free_space - written * PS, info.free_space);

	/* The client goes: its unmapped object dies, its space is free. */
	close(s2);
	EXPECT_EQ(0, wait_free(self->s, info0.free_space, &info));
	EXPECT_EQ(info0.nobjects, info.nobjects);
	EXPECT_EQ(-1, find_object(self->s, name, &e));
}

/* (b) An object outlives its client while mapped, and dies at the unmap. */
TEST_F(defpager, object_dies_at_last_unmap_after_its_client)
{
	const size_t npages = 8;
	struct dp_info_reply info0, info;
	struct dp_object_entry e;
	unsigned char *p;
	uint64_t name;
	size_t pg;
	int s2, fd;

	ASSERT_EQ(0, dp_info(self->s, &info0));
	s2 = dp_connect(self->d.sock);
	ASSERT_LE(0, s2);
	fd = dp_object_create(s2, npages * PS, &name);
	ASSERT_LE(0, fd);
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < npages; pg++)
		fill(p + pg * PS, pg, 7);
	close(s2);
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(0, find_object(self->s, name, &e));
	for (pg = 0; pg < npages; pg++)
		EXPECT_EQ(0, tp_check(p + pg * PS, pg, 7));
	ASSERT_EQ(0, munmap(p, npages * PS));
	close(fd);
	/* The pages came back, and went with the object at its terminate. */
	{
		long long deadline = now_ms() + TP_TIMEOUT_MS;

		while (!find_object(self->s, name, &e) && now_ms() < deadline)
			usleep(20000);
	}
	EXPECT_EQ(-1, find_object(self->s, name, &e));
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(npages, info.pageouts - info0.pageouts);
	EXPECT_EQ(info0.free_space, info.free_space);
	EXPECT_EQ(info0.nobjects, info.nobjects);
}

/* default_pager_paging_file: add one, remove the first; pages move. */
TEST_F(defpager, paging_file_add_and_remove)
{
	static char buf[DP_MAX_PACKET];
	const size_t npages = 24;
	struct dp_paging_files_reply *files;
	struct dp_info_reply info;
	char second[96];
	unsigned char *p;
	uint64_t name;
	size_t pg;
	int fd;

	snprintf(second, sizeof(second), "%s.2", self->d.swap);
	unlink(second);
	fd = dp_object_create(self->s, npages * PS, &name);
	ASSERT_LE(0, fd);
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < npages; pg++)
		fill(p + pg * PS, pg, 11);
	ASSERT_EQ(0, munmap(p, npages * PS));
	ASSERT_EQ(0, wait_free(self->s, (16 << 20) - npages * PS, &info));

	/* Not removable while its pages fit nowhere else. */
	EXPECT_EQ(-1, dp_paging_file(self->s, self->d.swap, DP_PAGING_REMOVE, 0));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, dp_paging_file(self->s, second, DP_PAGING_ADD, 8 << 20))
		TH_LOG("add: %s", strerror(errno));
	EXPECT_EQ(-1, dp_paging_file(self->s, second, DP_PAGING_ADD, 0));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(24 << 20, info.total_space);
	EXPECT_EQ(2, info.nfiles);
	ASSERT_EQ(0, dp_paging_file(self->s, self->d.swap, DP_PAGING_REMOVE, 0))
		TH_LOG("remove: %s", strerror(errno));
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(8 << 20, info.total_space);
	EXPECT_EQ((8 << 20) - npages * PS, info.free_space);
	files = dp_paging_files(self->s, buf);
	ASSERT_NE(NULL, files);
	ASSERT_EQ(1, files->count);
	EXPECT_STREQ(second, files->entries[0].path);
	EXPECT_EQ(-1, dp_paging_file(self->s, self->d.swap, DP_PAGING_REMOVE, 0));
	EXPECT_EQ(ENOENT, errno);

	/* The pages moved intact. */
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < npages; pg++)
		EXPECT_EQ(0, tp_check(p + pg * PS, pg, 11)) TH_LOG("page %zu", pg);
	munmap(p, npages * PS);
	close(fd);

	/* A file others may read is refused. */
	{
		char open_file[96];
		int f;

		snprintf(open_file, sizeof(open_file), "%s.3", self->d.swap);
		f = open(open_file, O_CREAT | O_RDWR | O_TRUNC, 0644);
		ASSERT_LE(0, f);
		ASSERT_EQ(0, fchmod(f, 0644));
		ASSERT_EQ(0, ftruncate(f, 1 << 20));
		close(f);
		EXPECT_EQ(-1, dp_paging_file(self->s, open_file, DP_PAGING_ADD, 0));
		EXPECT_EQ(EACCES, errno);
		unlink(open_file);
	}
	EXPECT_EQ(-1, dp_paging_file(self->s, "relative", DP_PAGING_ADD, 1 << 20));
	EXPECT_EQ(EINVAL, errno);
	unlink(second);
}

/* Send raw bytes, read the reply's status (or -errno of the socket). */
static int raw_call(int s, const void *req, size_t size)
{
	struct dp_reply r;
	ssize_t n;

	if (send(s, req, size, MSG_NOSIGNAL) != (ssize_t)size)
		return -errno;
	n = recv(s, &r, sizeof(r), 0);
	if (n < (ssize_t)sizeof(r))
		return n == 0 ? -ECONNRESET : -EPROTO;
	return r.status;
}

/* The protocol's rules: sizes, trailing bytes, unknown ops, bad magic. */
TEST_F(defpager, protocol_checks)
{
	struct {
		struct dp_object_pages_req q;
		uint64_t extra;
	} big;
	struct dp_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION,
		.op = 99, .size = sizeof(h),
	};

	EXPECT_EQ(EOPNOTSUPP, raw_call(self->s, &h, sizeof(h)));
	/* Shorter than the op's body. */
	h.op = DP_OP_OBJECT_CREATE;
	EXPECT_EQ(EINVAL, raw_call(self->s, &h, sizeof(h)));
	/* Size field that lies. */
	h.op = DP_OP_INFO;
	h.size = 100;
	EXPECT_EQ(EINVAL, raw_call(self->s, &h, sizeof(h)));
	/* A newer client's longer request: zeros are fine, the rest is not. */
	memset(&big, 0, sizeof(big));
	big.q.hdr = (struct dp_hdr){
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION + 1,
		.op = DP_OP_OBJECT_PAGES, .size = sizeof(big),
	};
	big.q.name = ~0ULL;
	EXPECT_EQ(ENOENT, raw_call(self->s, &big, sizeof(big)));
	big.extra = 1;
	EXPECT_EQ(E2BIG, raw_call(self->s, &big, sizeof(big)));
	/* Object size 0. */
	EXPECT_EQ(-1, dp_object_create(self->s, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* Wrong magic: refused and hung up on. */
	h.magic = 0x12345678;
	h.size = sizeof(h);
	EXPECT_EQ(EPROTO, raw_call(self->s, &h, sizeof(h)));
	{
		struct dp_info_reply info;

		EXPECT_EQ(-1, dp_info(self->s, &info));
		close(self->s);
		self->s = dp_connect(self->d.sock);
		ASSERT_LE(0, self->s);
		EXPECT_EQ(0, dp_info(self->s, &info));
	}
}

/*
 * Killing the daemon keeps what is resident; what it held is lost (SIGBUS),
 * and a new daemon takes over.
 */
TEST_F(defpager, restart_keeps_resident_pages)
{
	const size_t npages = 8;
	struct dp_info_reply info;
	char file[96];
	unsigned char *p;
	size_t pg;
	int fd, status;

	fd = dp_object_create(self->s, npages * PS, NULL);
	ASSERT_LE(0, fd);
	p = tp_map(fd, npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (pg = 0; pg < 4; pg++)
		fill(p + pg * PS, pg, 13);
	close(self->s);
	self->s = -1;
	status = daemon_stop(&self->d, SIGKILL);
	EXPECT_TRUE(WIFSIGNALED(status));

	for (pg = 0; pg < 4; pg++)
		EXPECT_EQ(0, tp_check(p + pg * PS, pg, 13)) TH_LOG("page %zu", pg);
	/* Still writable where resident. */
	p[0] = 0xee;
	EXPECT_EQ(0xee, p[0]);
	p[0] = pat(0, 0, 13);
	/* A page never brought in has no pager any more. */
	EXPECT_TRUE(tp_sigbus(tp_wait(tp_touch_child(p + 6 * PS, 0, 0),
				      TP_TIMEOUT_MS)));

	snprintf(file, sizeof(file), "%s:16M", self->d.swap);
	ASSERT_EQ(0, daemon_start(&self->d, file,
				  self->registered ? NULL : "--no-register"))
		TH_LOG("restart:\n%s", daemon_log(&self->d));
	self->s = dp_connect(self->d.sock);
	ASSERT_LE(0, self->s);
	ASSERT_EQ(0, dp_info(self->s, &info));
	EXPECT_EQ(self->registered ? DP_INFO_DEFAULT_MANAGER : 0, info.flags);
	EXPECT_EQ(info.total_space, info.free_space);
	for (pg = 0; pg < 4; pg++)
		EXPECT_EQ(0, tp_check(p + pg * PS, pg, 13)) TH_LOG("page %zu", pg);
	munmap(p, npages * PS);
	close(fd);
}

static uint64_t word(size_t pg, size_t i)
{
	return ((uint64_t)pg << 20) ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xd5;
}

/* Run mempager-defpagerctl -s SOCK @args; its output in @out. 0 or -1. */
static int ctl(struct daemon *d, const char *args, char *out, size_t size)
{
	char cmd[PATH_MAX + 256];
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s/mempager-defpagerctl -s %s %s",
		 tp_tools_dir(), d->sock, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n < size - 1 && fgets(out + n, size - n, f))
		n += strlen(out + n);
	out[n] = 0;
	return pclose(f) == 0 ? 0 : -1;
}

/* mempager-defpagerctl prints what mempager-defpagerctl(1) says. */
TEST_F(defpager, ctl_output_is_as_documented)
{
	static const char *const labels[] = {
		"page size ", "total space ", "free space ", "default manager ",
		"paging files ", "objects ", "pageouts ", "pageins ",
		"zero fills ", "init ignored ", "in memory ", "I/O errors ",
	};
	unsigned long long v1, v2, name;
	static char out[16384];
	struct dp_info_reply info;
	char args[64], kind[32], expect[64], *line;
	uint64_t oname;
	unsigned char *p;
	unsigned int i;
	int fd;

	fd = dp_object_create(self->s, 4 * PS, &oname);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dp_info(self->s, &info));
	p = tp_map(fd, 4, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, 0, 3);
	fill(p + PS, 1, 3);
	fill(p + 3 * PS, 3, 3);
	ASSERT_EQ(0, munmap(p, 4 * PS));
	ASSERT_EQ(0, wait_free(self->s, info.free_space - 3 * PS, &info));

	ASSERT_EQ(0, ctl(&self->d, "info", out, sizeof(out)));
	line = out;
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		ASSERT_EQ(0, strncmp(line, labels[i], strlen(labels[i])))
			TH_LOG("line %u: %.40s", i, line);
		if (i == 0)
			EXPECT_EQ(1, sscanf(line, "page size %llu", &v1));
		if (i == 0)
			EXPECT_EQ(PS, v1);
		if (i == 2) {
			ASSERT_EQ(2, sscanf(line, "free space %llu bytes (%llu pages)",
					    &v1, &v2));
			EXPECT_EQ(info.free_space, v1);
			EXPECT_EQ(info.free_space / PS, v2);
		}
		line = strchr(line, '\n');
		ASSERT_NE(NULL, line);
		line++;
	}
	EXPECT_EQ(0, *line) TH_LOG("more than 12 lines: %.40s", line);

	ASSERT_EQ(0, ctl(&self->d, "objects", out, sizeof(out)));
	EXPECT_EQ(0, strncmp(out, "NAME ", 5)) TH_LOG("%.40s", out);
	line = strchr(out, '\n');
	ASSERT_NE(NULL, line);
	for (v1 = ~0ULL; line && *++line; line = strchr(line, '\n')) {
		ASSERT_EQ(4, sscanf(line, "%llu %llu %llu %31s", &name, &v2,
				    &v1, kind)) TH_LOG("%.60s", line);
		if (name == oname)
			break;
	}
	ASSERT_TRUE(line && *line) TH_LOG("object %llu not listed:\n%s",
					  (unsigned long long)oname, out);
	EXPECT_EQ(4 * PS, v2);
	EXPECT_EQ(3, v1);
	EXPECT_STREQ("created", kind);

	snprintf(args, sizeof(args), "object-pages %llu",
		 (unsigned long long)oname);
	ASSERT_EQ(0, ctl(&self->d, args, out, sizeof(out)));
	snprintf(expect, sizeof(expect), "0x0\n0x%zx\n0x%zx\n", PS, 3 * PS);
	EXPECT_STREQ(expect, out);

	ASSERT_EQ(0, ctl(&self->d, "paging-files", out, sizeof(out)));
	EXPECT_EQ(3, sscanf(out, "%31s %31s %31s", kind, expect, expect + 32));
	EXPECT_STREQ("PAGES", kind);
	EXPECT_STREQ("FREE", expect);
	EXPECT_STREQ("PATH", expect + 32);
	EXPECT_NE(NULL, strstr(out, self->d.swap)) TH_LOG("%s", out);
	close(fd);
}

FIXTURE(defpager_disk) {
	struct daemon d;
	int s;
};

FIXTURE_SETUP(defpager_disk)
{
	const char *disk = getenv("MEMPAGER_SCRATCH");
	int fd;

	if (!disk)
		disk = "/dev/vda";
	if (access("/dev/mempager", R_OK | W_OK))
		SKIP(return, "no /dev/mempager");
	if (!kernel_has_default_manager())
		SKIP(return, "the kernel has no MEMPAGER_SET_DEFAULT_MANAGER");
	fd = open(disk, O_RDWR);
	if (fd < 0)
		SKIP(return, "no scratch disk %s (%s)", disk, strerror(errno));
	close(fd);
	snprintf(self->d.sock, sizeof(self->d.sock), "/tmp/dpd-%d.sock", getpid());
	snprintf(self->d.log, sizeof(self->d.log), "/tmp/dpd-%d.log", getpid());
	unlink(self->d.log);
	ASSERT_EQ(0, daemon_start(&self->d, disk, NULL))
		TH_LOG("the daemon did not start:\n%s", daemon_log(&self->d));
	self->s = dp_connect(self->d.sock);
	ASSERT_LE(0, self->s);
}

FIXTURE_TEARDOWN(defpager_disk)
{
	if (self->s > 0)
		close(self->s);
	daemon_stop(&self->d, SIGTERM);
	if (!__test_passed(_metadata))
		TH_LOG("daemon log:\n%s", daemon_log(&self->d));
	unlink(self->d.log);
	unlink(self->d.sock);
}

/*
 * (c) Temporary memory (mmap of /dev/mempager, nothing bound) twice the
 * guest's RAM: the kernel hands it to the daemon (memory_object_create,
 * data_initialize), which pages it to the scratch disk; every page is
 * written, then every byte checked (data_request, data_supply). At the
 * unmap the object terminates and its paging space is free again.
 */
TEST_F_TIMEOUT(defpager_disk, temporary_memory_twice_ram, 3000)
{
	struct dp_info_reply info0, info1, info2, info3;
	size_t ram = tp_mem_total_pages(), npages = 2 * ram, pg, i, bad = 0;
	struct dp_object_entry e;
	long long t0, t1, t2;
	uint64_t name;
	uint64_t *p;
	long held;
	int fd;

	if (!tp_heavy_wanted("twice_ram"))
		SKIP(return, "not in this lane (MEMPAGER_HEAVY)");
	ASSERT_GT(ram, 0);
	ASSERT_EQ(0, dp_info(self->s, &info0));
	ASSERT_TRUE(info0.flags & DP_INFO_DEFAULT_MANAGER);
	ASSERT_GE(info0.total_space, npages * PS)
		TH_LOG("the scratch disk is smaller than %zu pages", npages);
	fd = mempager_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, npages * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(KERN_SUCCESS, mempager_region(fd, p, &name, NULL, NULL, NULL));

	t0 = now_ms();
	for (pg = 0; pg < npages; pg++) {
		uint64_t *w = p + pg * (PS / 8);

		for (i = 0; i < PS / 8; i++)
			w[i] = word(pg, i);
	}
	t1 = now_ms();
	ASSERT_EQ(0, dp_info(self->s, &info1));
	held = 0;
	if (!find_object(self->s, name, &e)) {
		EXPECT_EQ(DP_OBJ_TEMPORARY | DP_OBJ_MAPPED, e.flags);
		held = count_pages(self->s, name, NULL, 0);
		EXPECT_EQ((long)e.pages, held);
	} else {
		/* The kernel's temporary object should carry the region's name. */
		EXPECT_EQ(0, find_object(self->s, name, &e))
			TH_LOG("object %llu (MEMPAGER_REGION's name) not in the daemon's list",
			       (unsigned long long)name);
	}
	TH_LOG("write pass: %zu pages (RAM %zu) in %.1f s; %llu paged out (%.0f pages/s), the daemon holds %ld",
	       npages, ram, (t1 - t0) / 1000.0,
	       (unsigned long long)(info1.pageouts - info0.pageouts),
	       (info1.pageouts - info0.pageouts) * 1000.0 / (t1 - t0 ? t1 - t0 : 1),
	       held);
	/* Past a few bad pages, the rest of the pass would only take time. */
	for (pg = 0; pg < npages && bad < 64; pg++) {
		const uint64_t *w = p + pg * (PS / 8);

		for (i = 0; i < PS / 8; i++)
			if (w[i] != word(pg, i)) {
				if (bad++ < 5)
					TH_LOG("page %zu word %zu: %#llx", pg, i,
					       (unsigned long long)w[i]);
				break;
			}
	}
	t2 = now_ms();
	ASSERT_EQ(0, dp_info(self->s, &info2));
	EXPECT_EQ(0, bad);
	EXPECT_GT(info1.pageouts, info0.pageouts);
	EXPECT_GT(info2.pageins, info1.pageins);
	EXPECT_EQ(0, info2.io_errors);
	EXPECT_EQ(0, info2.mem_pages);

	TH_LOG("%zu pages (RAM %zu) written in %.1f s, checked in %.1f s; daemon held %ld pages of it after the write pass",
	       npages, ram, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0, held);
	TH_LOG("daemon: %llu pages out, %llu in, %llu I/O errors, %llu in memory",
	       (unsigned long long)info2.pageouts,
	       (unsigned long long)info2.pageins,
	       (unsigned long long)info2.io_errors,
	       (unsigned long long)info2.mem_pages);
	TH_LOG("pageout: %llu pages in the write pass, %.0f pages/s; pagein: %llu pages in the read pass, %.0f pages/s (%llu more paged out meanwhile)",
	       (unsigned long long)(info1.pageouts - info0.pageouts),
	       (info1.pageouts - info0.pageouts) * 1000.0 / (t1 - t0 ? t1 - t0 : 1),
	       (unsigned long long)(info2.pageins - info1.pageins),
	       (info2.pageins - info1.pageins) * 1000.0 / (t2 - t1 ? t2 - t1 : 1),
	       (unsigned long long)(info2.pageouts - info1.pageouts));
	TH_LOG("zero fills %llu, data_initialize ignored %llu",
	       (unsigned long long)(info2.zero_fills - info0.zero_fills),
	       (unsigned long long)(info2.init_ignored - info0.init_ignored));

	/* The object dies with the mapping: terminate frees its slots. */
	munmap(p, npages * PS);
	close(fd);
	EXPECT_EQ(0, wait_free(self->s, info0.total_space, &info3))
		TH_LOG("free %llu of %llu after the unmap",
		       (unsigned long long)info3.free_space,
		       (unsigned long long)info0.total_space);
	EXPECT_EQ(info0.nobjects, info3.nobjects);
}

TEST_HARNESS_MAIN
