// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-mode faults and faults that cannot drop mmap_lock, on pages that
 * are not resident.
 *
 * An unprivileged manager's objects serve only user-mode faults, as an
 * unprivileged userfaultfd does on Debian (vm.unprivileged_userfaultfd=0,
 * UFFD_USER_MODE_ONLY): a kernel access (write(2) from the mapping, read(2)
 * into it, process_vm_readv(2)) fails with EFAULT at once, sending no
 * data_request, unless the manager's opener had CAP_SYS_PTRACE or the
 * module parameter allow_kernel_faults was 1 when the manager was made.
 *
 * A fault that cannot drop mmap_lock (fixup_user_fault() from the futex
 * code, get_user_pages() without a way to unlock, as /proc/PID/mem uses)
 * never waits for the pager, privileged or not: it fails at once, as
 * handle_userfault() does without FAULT_FLAG_ALLOW_RETRY.
 *
 * Each case runs in a child process (as root or as nobody) that is both
 * the pager and the client: one thread makes the access, another keeps
 * calling mmap/munmap (blocked while someone holds mmap_lock), and the
 * child's main thread answers data_requests only after a hang window, so
 * an access that waits is seen waiting, then released.
 */
#include <linux/capability.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

#define NOBODY 65534
/* How long a failing access may take, and how long the pager holds back. */
#define PROMPT_MS 2000
#define SEED 0x5a
#define READ_SEED 0x21
#define KF_PARAM "allow_kernel_faults"

enum kf_op {
	KF_TOUCH,		/* a user-mode read of the page */
	KF_PIPE_WRITE,		/* write(pipe, page): copy_from_user */
	KF_READ_INTO,		/* read(pipe, page): copy_to_user */
	KF_VM_READV,		/* process_vm_readv(2) of our own page */
	KF_PROC_MEM,		/* pread of /proc/self/mem: GUP without unlock */
	KF_FUTEX,		/* FUTEX_WAKE_OP: fault_in_user_writeable() */
	KF_POPULATE,		/* MADV_POPULATE_READ: get_user_pages() */
};

/* What a case saw, in memory shared with the test. */
struct kf_out {
	int setup;		/* 0, or the step of the set-up that failed */
	long long ret;		/* the access's return value */
	int err;		/* its errno */
	long long ms;		/* how long it took */
	int done;		/* it returned before the pager answered */
	int requests;		/* data_requests seen in the hang window */
	int data_ok;		/* the data it moved is the right data */
	long long mmap_max_ms;	/* the longest mmap+munmap meanwhile */
};

struct kf_ctx {
	enum kf_op op;
	unsigned char *page;
	unsigned char buf[4096] __attribute__((aligned(4096)));
	long long ret;
	int err;
	long long ms;
	volatile int done;
	volatile int stop;
	volatile long long mmap_start;	/* 0 when no mmap is in progress */
	volatile long long mmap_max_ms;
};

static void *kf_access(void *arg)
{
	struct kf_ctx *c = arg;
	long long t0 = hu_now_ms();
	uint32_t word = 0;
	struct iovec local = { .iov_base = c->buf, .iov_len = PS };
	struct iovec remote = { .iov_base = c->page, .iov_len = PS };
	int p[2] = { -1, -1 }, fd;

	errno = 0;
	switch (c->op) {
	case KF_TOUCH:
		c->ret = *(volatile unsigned char *)c->page;
		memcpy(c->buf, c->page, PS);
		break;
	case KF_PIPE_WRITE:
		if (pipe(p))
			break;
		c->ret = write(p[1], c->page, PS);
		c->err = errno;
		if (c->ret == (long long)PS && read(p[0], c->buf, PS) != (ssize_t)PS)
			c->ret = -2;
		break;
	case KF_READ_INTO:
		if (pipe(p))
			break;
		tp_fill(c->buf, 0, READ_SEED);
		if (write(p[1], c->buf, PS) != (ssize_t)PS)
			break;
		c->ret = read(p[0], c->page, PS);
		c->err = errno;
		break;
	case KF_VM_READV:
		c->ret = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		c->err = errno;
		break;
	case KF_PROC_MEM:
		fd = open("/proc/self/mem", O_RDONLY);
		if (fd < 0)
			break;
		c->ret = pread(fd, c->buf, PS, (off_t)(uintptr_t)c->page);
		c->err = errno;
		close(fd);
		break;
	case KF_POPULATE:
		c->ret = madvise(c->page, PS, MADV_POPULATE_READ);
		c->err = errno;
		if (!c->ret)
			memcpy(c->buf, c->page, PS);
		break;
	case KF_FUTEX:
		/* A private futex: no GUP first, the atomic op faults. */
		c->ret = syscall(SYS_futex, &word,
				 FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1,
				 (void *)1, (uint32_t *)c->page,
				 FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
		c->err = errno;
		break;
	}
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	c->ms = hu_now_ms() - t0;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* mmap and munmap over and over: each needs mmap_lock for write. */
static void *kf_mmapper(void *arg)
{
	struct kf_ctx *c = arg;

	while (!c->stop) {
		long long t0 = hu_now_ms(), d;
		void *q;

		c->mmap_start = t0;
		q = mmap(NULL, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q != MAP_FAILED)
			munmap(q, PS);
		d = hu_now_ms() - t0;
		c->mmap_start = 0;
		if (d > c->mmap_max_ms)
			c->mmap_max_ms = d;
		usleep(10000);
	}
	return NULL;
}

static int kf_data_ok(struct kf_ctx *c)
{
	switch (c->op) {
	case KF_TOUCH:
	case KF_PIPE_WRITE:
	case KF_PROC_MEM:
	case KF_VM_READV:
		return c->ret > 0 && !tp_check(c->buf, 0, SEED);
	case KF_READ_INTO:
		return c->ret == (long long)PS && !tp_check(c->page, 0, READ_SEED);
	case KF_POPULATE:
		return c->ret == 0 && !tp_check(c->buf, 0, SEED);
	case KF_FUTEX:
		return c->ret == 0 && c->page[0] == tp_byte(0, 0, SEED) + 1;
	}
	return 0;
}

/*
 * Be the pager of a one-page object and its client: make access @op on
 * the non-resident page, answer nothing for @hang_ms (or until the access
 * returns), then answer every data_request until the access is done.
 */
static void kf_case(enum kf_op op, int hang_ms, struct kf_out *o)
{
	static struct kf_ctx c;
	static unsigned char data[4096] __attribute__((aligned(4096)));
	struct mempager_msg m;
	pthread_t acc, mm;
	struct tpager tp;
	long long start, end;
	int n;

	memset(o, 0, sizeof(*o));
	o->ret = -100;
	tp_fill(data, 0, SEED);
	if (tp_create(&tp, 1, 0600)) {
		o->setup = 1;
		return;
	}
	c.op = op;
	c.page = tp_map(tp.ofd, 1, 0);
	if (c.page == MAP_FAILED) {
		o->setup = 2;
		return;
	}
	if (tp_next(tp.mfd, &m, TP_TIMEOUT_MS) != 1 ||
	    m.type != MEMPAGER_MSG_INIT) {
		o->setup = 3;
		return;
	}
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	if (memory_object_ready(tp.ctl, 1, MEMORY_OBJECT_COPY_DELAY)) {
		o->setup = 4;
		return;
	}
	/*
	 * Nothing below allocates or faults a new page of ours until the
	 * access is done: a waiting access may hold our mmap_lock.
	 */
	if (pthread_create(&mm, NULL, kf_mmapper, &c) ||
	    pthread_create(&acc, NULL, kf_access, &c)) {
		o->setup = 5;
		return;
	}
	start = hu_now_ms();
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) &&
	       hu_now_ms() - start < hang_ms) {
		n = tp_next(tp.mfd, &m, 10);
		if (n == 1 && m.type == MEMPAGER_MSG_DATA_REQUEST)
			o->requests++;
	}
	o->done = __atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
	{
		long long s = c.mmap_start;

		o->mmap_max_ms = c.mmap_max_ms;
		if (s && hu_now_ms() - s > o->mmap_max_ms)
			o->mmap_max_ms = hu_now_ms() - s;
	}
	/* Release a waiting access: the page is supplied, as asked or not. */
	end = hu_now_ms() + TP_TIMEOUT_MS / 2;
	if (!o->done)
		memory_object_data_supply(tp.ctl, 0, data, PS, 0, 0, 0);
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) && hu_now_ms() < end)
		if (tp_next(tp.mfd, &m, 10) == 1 &&
		    m.type == MEMPAGER_MSG_DATA_REQUEST)
			memory_object_data_supply(tp.ctl, 0, data, PS, 0, 0, 0);
	if (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE)) {
		o->setup = 6;	/* still stuck: the test's child is killed */
		return;
	}
	c.stop = 1;
	pthread_join(acc, NULL);
	pthread_join(mm, NULL);
	o->ret = c.ret;
	o->err = c.err;
	o->ms = c.ms;
	o->data_ok = kf_data_ok(&c);
	munmap(c.page, PS);
	tp_destroy(&tp);
}

/* Run kf_case() in a child, as nobody when @nobody. */
static void kf_run(struct __test_metadata *_metadata, enum kf_op op,
		   int nobody, int hang_ms, struct kf_out *out)
{
	struct kf_out *o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, o);
	o->setup = -1;
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (nobody && (setgroups(0, NULL) ||
			       setresgid(NOBODY, NOBODY, NOBODY) ||
			       setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(10);
		kf_case(op, hang_ms, o);
		_exit(0);
	}
	status = tp_wait(pid, hang_ms + TP_TIMEOUT_MS);
	*out = *o;
	munmap(o, sizeof(*o));
	TH_LOG("op %d as %s: ret %lld errno %d in %lld ms, returned before the answer %d, requests %d, data ok %d, longest mmap %lld ms",
	       op, nobody ? "nobody" : "root", out->ret, out->err, out->ms,
	       out->done, out->requests, out->data_ok, out->mmap_max_ms);
	ASSERT_TRUE(tp_exited_ok(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, out->setup);
}

/* The access failed with @err at once, without asking the pager. */
static void expect_failed_at_once(struct __test_metadata *_metadata,
				  struct kf_out *o, int err)
{
	EXPECT_TRUE(o->done) TH_LOG("the access waited for the pager");
	EXPECT_EQ(-1, o->ret);
	EXPECT_EQ(err, o->err);
	EXPECT_EQ(0, o->requests);
	EXPECT_LT(o->ms, PROMPT_MS);
}

/* The access waited for the pager, then got the data. */
static void expect_waited(struct __test_metadata *_metadata, struct kf_out *o)
{
	EXPECT_FALSE(o->done) TH_LOG("returned %lld (errno %d) without waiting",
				     o->ret, o->err);
	EXPECT_EQ(1, o->requests);
	EXPECT_TRUE(o->data_ok);
}

static int kf_param(int val)
{
	return hu_param_set(KF_PARAM, val);
}

/* Kernel accesses as nobody: EFAULT at once, no data_request. */
TEST(unprivileged_pipe_write_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_PIPE_WRITE, 1, PROMPT_MS, &o);
	expect_failed_at_once(_metadata, &o, EFAULT);
}

TEST(unprivileged_read_into_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_READ_INTO, 1, PROMPT_MS, &o);
	expect_failed_at_once(_metadata, &o, EFAULT);
}

TEST(unprivileged_process_vm_readv_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_VM_READV, 1, PROMPT_MS, &o);
	if (o.ret == -1 && o.err == ENOSYS)
		SKIP(return, "no process_vm_readv (CONFIG_CROSS_MEMORY_ATTACH)");
	expect_failed_at_once(_metadata, &o, EFAULT);
}

/* MADV_POPULATE_READ faults through GUP, in kernel mode. */
TEST(unprivileged_populate_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_POPULATE, 1, PROMPT_MS, &o);
	expect_failed_at_once(_metadata, &o, EFAULT);
}

TEST(privileged_populate_waits)
{
	struct kf_out o;

	kf_run(_metadata, KF_POPULATE, 0, TP_QUIET_MS, &o);
	expect_waited(_metadata, &o);
}

/* User-mode faults of an unprivileged manager's object still wait. */
TEST(unprivileged_user_fault_waits)
{
	struct kf_out o;

	kf_run(_metadata, KF_TOUCH, 1, TP_QUIET_MS, &o);
	expect_waited(_metadata, &o);
}

/* A manager with CAP_SYS_PTRACE serves kernel-mode faults too. */
TEST(privileged_pipe_write_waits)
{
	struct kf_out o;

	kf_run(_metadata, KF_PIPE_WRITE, 0, TP_QUIET_MS, &o);
	expect_waited(_metadata, &o);
	EXPECT_EQ((long long)PS, o.ret);
}

TEST(privileged_read_into_waits)
{
	struct kf_out o;

	kf_run(_metadata, KF_READ_INTO, 0, TP_QUIET_MS, &o);
	expect_waited(_metadata, &o);
}

/* process_vm_readv's GUP can drop mmap_lock: it may wait. */
TEST(privileged_process_vm_readv_waits)
{
	struct kf_out o;

	kf_run(_metadata, KF_VM_READV, 0, TP_QUIET_MS, &o);
	if (o.ret == -1 && o.err == ENOSYS)
		SKIP(return, "no process_vm_readv (CONFIG_CROSS_MEMORY_ATTACH)");
	expect_waited(_metadata, &o);
}

/* allow_kernel_faults=1 when the manager is made: nobody's manager serves them. */
TEST(parameter_allows_unprivileged_kernel_faults)
{
	struct kf_out o;

	ASSERT_EQ(0, kf_param(1)) TH_LOG("no parameter " KF_PARAM);
	kf_run(_metadata, KF_PIPE_WRITE, 1, TP_QUIET_MS, &o);
	kf_param(0);
	expect_waited(_metadata, &o);
	EXPECT_EQ((long long)PS, o.ret);
}

/* The parameter is off by default (Debian's vm.unprivileged_userfaultfd). */
TEST(parameter_default_off)
{
	EXPECT_EQ(0, hu_param_get(KF_PARAM));
}

/*
 * The futex code faults the page in with fixup_user_fault(), mmap_lock
 * held and no way to drop it: even a privileged manager's page fails at
 * once (EFAULT), and nobody's mmap in the process waits for the pager.
 */
TEST(futex_fault_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_FUTEX, 0, PROMPT_MS, &o);
	expect_failed_at_once(_metadata, &o, EFAULT);
	EXPECT_LT(o.mmap_max_ms, PROMPT_MS / 2);
}

/* /proc/PID/mem reads through GUP that cannot unlock: EIO at once. */
TEST(proc_mem_read_fails_at_once)
{
	struct kf_out o;

	kf_run(_metadata, KF_PROC_MEM, 0, PROMPT_MS, &o);
	expect_failed_at_once(_metadata, &o, EIO);
	EXPECT_LT(o.mmap_max_ms, PROMPT_MS / 2);
}

/* Temporary memory has no pager to wait for: kernel accesses work. */
TEST(unprivileged_temporary_memory_kernel_access)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd, p[2];
		unsigned char *q, buf[64];

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		fd = mempager_open();
		q = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (fd < 0 || q == MAP_FAILED || pipe(p))
			_exit(11);
		if (write(p[1], q, sizeof(buf)) != sizeof(buf))
			_exit(12);
		if (read(p[0], q + PS, sizeof(buf)) != sizeof(buf))
			_exit(13);
		_exit(q[PS] == 0 ? 0 : 14);
	}
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

/* Turn @cap on or off in our effective set (it stays permitted). */
static int kf_cap_effective(int cap, int on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	if (on)
		d[cap / 32].effective |= 1u << (cap % 32);
	else
		d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d);
}

/* A default manager that keeps the pages it is given in memory. */
struct kf_dm {
	int fd;
	size_t npages;
	unsigned char *store;
	volatile int stop;
	memory_object_control_t ctl;
	volatile long requests;
	long errors;
};

static void *kf_dm_thread(void *arg)
{
	struct kf_dm *d = arg;
	struct mempager_msg m[16];
	unsigned char *data = malloc(16 * 16 * PS);

	while (!d->stop) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		struct mempager_receive r = {
			.size = sizeof(r), .msgs = (uintptr_t)m, .msgs_max = 16,
			.data = (uintptr_t)data, .data_size = 16 * 16 * PS,
		};
		unsigned int i;
		size_t pg;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (ioctl(d->fd, MEMPAGER_RECEIVE, &r)) {
			d->errors++;
			continue;
		}
		for (i = 0; i < r.out_msgs; i++) {
			struct mempager_msg *x = &m[i];

			switch (x->type) {
			case MEMPAGER_MSG_CREATE:
				d->ctl = mempager_msg_control(d->fd, x);
				break;
			case MEMPAGER_MSG_DATA_INITIALIZE:
			case MEMPAGER_MSG_DATA_RETURN:
				memcpy(d->store + x->data_return.offset,
				       data + x->data_return.data_offset,
				       x->data_return.length);
				break;
			case MEMPAGER_MSG_DATA_REQUEST:
				d->requests++;
				pg = x->request.offset / PS;
				if (memory_object_data_supply(d->ctl, pg * PS,
						d->store + pg * PS, PS, 0, 0, 0))
					d->errors++;
				break;
			}
		}
	}
	free(data);
	return NULL;
}

/*
 * Temporary memory paged out to the default manager: kernel accesses to
 * it wait for the manager, though its opener lacked CAP_SYS_PTRACE, since
 * becoming the default manager needs CAP_SYS_ADMIN.
 */
TEST(default_manager_serves_kernel_faults)
{
	struct kf_dm d = { .npages = 2048 };
	struct mempager_default_manager reg = { .size = sizeof(reg) };
	size_t pg, efault = 0, bad = 0;
	long before;
	char old[16];
	pthread_t th;
	unsigned char *p, v;
	int fd, pp[2];

	d.store = calloc(d.npages, PS);
	ASSERT_EQ(0, pipe(pp));
	ASSERT_EQ(0, kf_cap_effective(CAP_SYS_PTRACE, 0));
	d.fd = mempager_open();
	ASSERT_EQ(0, ioctl(d.fd, MEMPAGER_SET_DEFAULT_MANAGER, &reg));
	ASSERT_EQ(0, kf_cap_effective(CAP_SYS_PTRACE, 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, kf_dm_thread, &d));
	fd = mempager_open();
	p = mmap(NULL, d.npages * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* 8 MiB, twice 1% of the guest's RAM: pages leave for the manager. */
	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	for (pg = 0; pg < d.npages; pg++)
		p[pg * PS] = (unsigned char)(pg * 7 + 1);
	usleep(TP_QUIET_MS * 1000);
	before = d.requests;
	/* The kernel reads pages for write(2): paged-out ones fault. */
	for (pg = 0; pg < d.npages; pg += 16) {
		if (write(pp[1], p + pg * PS, 1) != 1) {
			efault += errno == EFAULT;
			continue;
		}
		if (read(pp[0], &v, 1) != 1 || v != (unsigned char)(pg * 7 + 1))
			bad++;
	}
	tp_set_resident_percent(old, NULL, 0);
	munmap(p, d.npages * PS);
	close(fd);
	d.stop = 1;
	pthread_join(th, NULL);
	close(d.fd);
	TH_LOG("%ld pages paged in for write(2), %zu EFAULT", d.requests - before,
	       efault);
	EXPECT_GT(d.requests, before) TH_LOG("no page was paged out");
	EXPECT_EQ(0, efault);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, d.errors);
	free(d.store);
}

TEST_HARNESS_MAIN
