// SPDX-License-Identifier: GPL-2.0
/*
 * Privilege belongs to the opener of /dev/mempager, as for any file: the
 * credentials the fd was opened with (f_cred) decide, checked once, not
 * those of whoever makes the ioctl later. An fd an unprivileged user opened
 * and handed to root cannot make root's process the default manager; an fd
 * root opened keeps its exemption from max_objects_per_user after the
 * process drops its privileges.
 */
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "pager_util.h"
#include "hostile_util.h"

#define NOBODY 65534

TEST(default_manager_needs_a_privileged_opener)
{
	struct mempager_default_manager dm = { .size = sizeof(dm) };
	int sv[2], fd, status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (hu_become(NOBODY, NOBODY))
			_exit(1);
		fd = mempager_open();
		if (fd < 0 || tp_send_fd(sv[1], fd))
			_exit(2);
		_exit(0);
	}
	fd = tp_recv_fd(sv[0]);
	status = tp_wait(pid, TP_TIMEOUT_MS);
	ASSERT_TRUE(tp_exited_ok(status)) TH_LOG("child status %#x", status);
	ASSERT_LE(0, fd);
	/* Root asks, on nobody's fd. */
	EXPECT_EQ(-1, ioctl(fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm));
	EXPECT_EQ(EPERM, errno);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* Open as root, drop every privilege, then create objects on that fd. */
static int quota_fn(void)
{
	int fd = mempager_open(), i, ofd;
	uint32_t h;

	if (fd < 0)
		return 10;
	if (hu_become(NOBODY, NOBODY))
		return 11;
	for (i = 0; i < 6; i++)
		if (mempager_object_create(fd, PS, 0600, &h, &ofd, NULL))
			return 1 + i;
	return 0;
}

TEST(quota_exemption_is_the_openers)
{
	long long old = hu_param_get("max_objects_per_user");
	int status;
	pid_t pid;

	ASSERT_LE(0, old);
	ASSERT_EQ(0, hu_param_set("max_objects_per_user", 4));
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(quota_fn());
	}
	status = tp_wait(pid, TP_TIMEOUT_MS);
	hu_param_set("max_objects_per_user", old);
	EXPECT_TRUE(tp_exited_ok(status))
		TH_LOG("exit status %d: object %d refused",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

TEST_HARNESS_MAIN
