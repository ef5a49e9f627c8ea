// SPDX-License-Identifier: GPL-2.0
/*
 * The API handshake and the ioctl ABI rules every mempager ioctl follows.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <linux/mempager.h>

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open /dev/mempager: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, handshake)
{
	struct mempager_api api = { .size = sizeof(api) };

	ASSERT_EQ(0, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(MEMPAGER_API_VERSION, api.out_version);
	EXPECT_EQ(MEMPAGER_FEATURES_ALL, api.out_features);
	EXPECT_TRUE(api.out_ioctls & (1ULL << MEMPAGER_CMD_API));
	/* Nothing outside the defined command range is reported. */
	EXPECT_EQ(0, api.out_ioctls & ~((1ULL << MEMPAGER_CMD_MAX) - 1));
}

TEST_F(dev, unknown_ioctl_is_enotty)
{
	struct mempager_api api = { .size = sizeof(api) };

	EXPECT_EQ(-1, ioctl(self->fd, _IO(MEMPAGER_TYPE, 0x3f), &api));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(MEMPAGER_TYPE + 1, 0), &api));
	EXPECT_EQ(ENOTTY, errno);
	/* A known number with a different encoding is not that ioctl. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(MEMPAGER_TYPE, MEMPAGER_CMD_API,
					  struct mempager_api), &api));
	EXPECT_EQ(ENOTTY, errno);
}

struct api_bigger {
	struct mempager_api api;
	__u64 tail[2];
};

TEST_F(dev, larger_struct_with_nonzero_tail_is_e2big)
{
	struct api_bigger b = { .api.size = sizeof(b) };

	b.tail[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &b));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(0, b.api.out_version);
}

TEST_F(dev, larger_struct_with_zero_tail_is_accepted)
{
	struct api_bigger b = { .api.size = sizeof(b) };

	ASSERT_EQ(0, ioctl(self->fd, MEMPAGER_API, &b));
	EXPECT_EQ(MEMPAGER_API_VERSION, b.api.out_version);
	/* The kernel writes nothing beyond what it knows. */
	EXPECT_EQ(0, b.tail[0]);
	EXPECT_EQ(0, b.tail[1]);
}

TEST_F(dev, too_small_struct_is_einval)
{
	struct mempager_api api = { .size = sizeof(__u32) };

	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(EINVAL, errno);
	api.size = offsetof(struct mempager_api, out_ioctls);
	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, unknown_flags_are_einval)
{
	struct mempager_api api = { .size = sizeof(api), .flags = 1u << 31 };

	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(EINVAL, errno);
	api.flags = 0;
	api.__reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, unknown_features_are_eopnotsupp)
{
	struct mempager_api api = { .size = sizeof(api), .features = 1ULL << 63 };

	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, &api));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

TEST_F(dev, bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, MEMPAGER_API, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_HARNESS_MAIN
