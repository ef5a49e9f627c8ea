// SPDX-License-Identifier: GPL-2.0
/*
 * Calls over a range cost what is present in the range, not its length.
 *
 * Objects reach MAX_LFS_FILESIZE (2^63 bytes less a page). A manager's
 * data_error or data_unavailable over the whole of such an object, and a
 * COPY_NONE private mapping of a terabyte of it, touch a handful of pages:
 * each must return at once with the right effect on those pages. A kernel
 * that visits every page index of the range takes years (a few
 * microseconds an index), so the bound below (TP_TIMEOUT_MS) is beaten by
 * orders of magnitude either way and does not depend on the machine's load.
 *
 * The call runs in a child process: when it does not return in time the
 * test fails rather than hangs (the child cannot be killed then, which is
 * the other half of the defect).
 */
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "pager_util.h"

/* The largest object the module allows: MAX_LFS_FILESIZE, page aligned. */
#define HUGE_BYTES ((uint64_t)INT64_MAX & ~(uint64_t)(PS - 1))
#define HUGE_PAGES (HUGE_BYTES / PS)
/* A page far into the object: 2^62 bytes. */
#define FAR_PAGE (((uint64_t)1 << 62) / PS)

/*
 * Run @fn(@tp) in a child and wait for it: its exit status, or -1 when it
 * did not finish within TP_TIMEOUT_MS. Unlike tp_wait(), a child that
 * SIGKILL does not stop is not waited for.
 */
static int in_child(int (*fn)(struct tpager *), struct tpager *tp)
{
	struct timespec t0, t1;
	pid_t pid = fork();
	int status, waited;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		status = fn(tp);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* For the record, not checked: the bound below is what counts. */
		fprintf(stderr, "# the call took %ld us\n",
			(t1.tv_sec - t0.tv_sec) * 1000000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000);
		_exit(status);
	}
	for (waited = 0; waited < TP_TIMEOUT_MS; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	return -1;
}

FIXTURE(huge) {
	struct tpager tp;
	unsigned char *near, *far;
};

FIXTURE_SETUP(huge)
{
	struct mempager_msg m;

	ASSERT_EQ(0, tp_create(&self->tp, HUGE_PAGES, 0600));
	/* Two windows: the first pages and pages 2^62 bytes in. */
	self->near = tp_map(self->tp.ofd, 4, 0);
	ASSERT_NE(MAP_FAILED, self->near);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
	self->far = tp_map(self->tp.ofd, 4, FAR_PAGE);
	ASSERT_NE(MAP_FAILED, self->far);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 1,
						    MEMORY_OBJECT_COPY_NONE));
}

FIXTURE_TEARDOWN(huge)
{
	munmap(self->near, 4 * PS);
	munmap(self->far, 4 * PS);
	tp_destroy(&self->tp);
}

static int error_all(struct tpager *tp)
{
	return memory_object_data_error(tp->ctl, 0, HUGE_BYTES, KERN_FAILURE)
		== KERN_SUCCESS ? 0 : 1;
}

static int unavailable_all(struct tpager *tp)
{
	return memory_object_data_unavailable(tp->ctl, 0, HUGE_BYTES)
		== KERN_SUCCESS ? 0 : 1;
}

/*
 * Faults wait on page 1 and on a page 2^62 bytes in; page 2 is resident.
 * Returns the two waiting children.
 */
static void two_waiting_faults(struct __test_metadata *_metadata,
			       FIXTURE_DATA(huge) *self, pid_t *a, pid_t *b)
{
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 2, 5, 0));
	*a = tp_touch_child(self->near + PS, 0, 0);
	expect_request(_metadata, &self->tp, 1, MEMPAGER_PROT_READ);
	*b = tp_touch_child(self->far + PS, 0, 0);
	expect_request(_metadata, &self->tp, FAR_PAGE + 1, MEMPAGER_PROT_READ);
}

TEST_F(huge, data_error_over_the_whole_object_is_prompt)
{
	pid_t a, b;

	two_waiting_faults(_metadata, self, &a, &b);
	ASSERT_EQ(0, in_child(error_all, &self->tp))
		TH_LOG("data_error over 2^63 bytes did not return in %d ms",
		       TP_TIMEOUT_MS);
	EXPECT_TRUE(tp_sigbus(tp_wait(a, TP_TIMEOUT_MS)));
	EXPECT_TRUE(tp_sigbus(tp_wait(b, TP_TIMEOUT_MS)));
	/* The resident page is left alone; the failed ones are asked again. */
	EXPECT_EQ(0, tp_check(self->near + 2 * PS, 2, 5));
	a = tp_touch_child(self->near + PS, 0, 0);
	expect_request(_metadata, &self->tp, 1, MEMPAGER_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_unavailable(self->tp.ctl,
							       PS, PS));
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
}

TEST_F(huge, data_unavailable_over_the_whole_object_is_prompt)
{
	pid_t a, b;

	two_waiting_faults(_metadata, self, &a, &b);
	ASSERT_EQ(0, in_child(unavailable_all, &self->tp))
		TH_LOG("data_unavailable over 2^63 bytes did not return in %d ms",
		       TP_TIMEOUT_MS);
	/* The waiting faults read zeros; the resident page is left alone. */
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
	EXPECT_TRUE(tp_exited_ok(tp_wait(b, TP_TIMEOUT_MS)));
	EXPECT_EQ(0, tp_check(self->near + 2 * PS, 2, 5));
	/* Nothing else was made resident: page 3 is asked for. */
	a = tp_touch_child(self->near + 3 * PS, 0, 0);
	expect_request(_metadata, &self->tp, 3, MEMPAGER_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 3, 0, 0));
	EXPECT_EQ(1, WEXITSTATUS(tp_wait(a, TP_TIMEOUT_MS)));
}

/* 2^40 bytes: 2^28 page indexes, 2^20 of them take seconds unfixed. */
#define PRIVATE_BYTES ((size_t)1 << 40)

static int map_private(struct tpager *tp)
{
	unsigned char *p;
	int rc;

	/* Read-only: a writable private terabyte would be refused as overcommit. */
	p = mmap(NULL, PRIVATE_BYTES, PROT_READ, MAP_PRIVATE, tp->ofd, 0);
	if (p == MAP_FAILED)
		return 2;
	/* The copy made at mmap holds the resident page's data. */
	rc = tp_check(p + 2 * PS, 2, 5) ? 3 : 0;
	munmap(p, PRIVATE_BYTES);
	return rc;
}

TEST_F(huge, copy_none_private_mapping_of_a_terabyte_is_prompt)
{
	struct mempager_msg m;
	int status;

	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 2, 5, 0));
	status = in_child(map_private, &self->tp);
	ASSERT_LE(0, status)
		TH_LOG("a COPY_NONE private mmap of 2^40 bytes did not return in %d ms",
		       TP_TIMEOUT_MS);
	EXPECT_TRUE(tp_exited_ok(status)) TH_LOG("status %#x", status);
	/* The missing pages were asked for at once: page 0 first. */
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_DATA_REQUEST, m.type);
	EXPECT_EQ(0, m.request.offset);
}

TEST_HARNESS_MAIN
