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

/*
 * Each ioctl accepts its structure from its MEMPAGER_*_SIZE_VER0 on, and
 * nothing smaller: one byte less gives EINVAL, the minimum gets past the
 * size check to the call's own answer (the same as with the full size).
 */
struct min_case {
	const char *name;
	unsigned int cmd;
	size_t min, full;
	int fd;		/* 0: the manager fd, 1: a fresh fd, 2: a bound fd */
	int expect;	/* errno at the minimum size (0: success) */
};

/* The ioctl with @arg's size field set to @size: 0 or the errno. */
static int call_sized(int fd, unsigned int cmd, void *arg, size_t size)
{
	__u32 sz = size;

	memcpy(arg, &sz, sizeof(sz));
	return ioctl(fd, cmd, arg) ? errno : 0;
}

TEST(every_ioctl_accepts_its_minimum_size_and_no_less)
{
	struct mempager_object_create oc = {
		.size = sizeof(oc), .object_size = 4096, .mode = 0600,
	};
	union {
		__u64 raw[128 / sizeof(__u64)];
		struct mempager_object_create oc;
		struct mempager_object_open oo;
		struct mempager_object_bind ob;
		struct mempager_attributes at;
		struct mempager_data_supply ds;
		struct mempager_data_range dr;
		struct mempager_destroy d;
		struct mempager_region rg;
		struct mempager_lock_request lr;
		struct mempager_synchronize_completed sc;
		struct mempager_receive rv;
	} arg;
	struct mempager_msg msg;
	char page[4096] = { 0 };
	int mfd, bfd, ffd, r;
	unsigned int i;
	struct min_case cases[] = {
		{ "API", MEMPAGER_API, MEMPAGER_API_SIZE_VER0,
		  sizeof(struct mempager_api), 0, 0 },
		{ "OBJECT_CREATE", MEMPAGER_OBJECT_CREATE,
		  MEMPAGER_OBJECT_CREATE_SIZE_VER0,
		  sizeof(struct mempager_object_create), 0, 0 },
		{ "OBJECT_OPEN", MEMPAGER_OBJECT_OPEN,
		  MEMPAGER_OBJECT_OPEN_SIZE_VER0,
		  sizeof(struct mempager_object_open), 0, 0 },
		{ "OBJECT_BIND", MEMPAGER_OBJECT_BIND,
		  MEMPAGER_OBJECT_BIND_SIZE_VER0,
		  sizeof(struct mempager_object_bind), 1, 0 },
		{ "READY", MEMPAGER_READY, MEMPAGER_ATTRIBUTES_SIZE_VER0,
		  sizeof(struct mempager_attributes), 0, ENOENT },
		{ "CHANGE_ATTRIBUTES", MEMPAGER_CHANGE_ATTRIBUTES,
		  MEMPAGER_ATTRIBUTES_SIZE_VER0,
		  sizeof(struct mempager_attributes), 0, ENOENT },
		{ "GET_ATTRIBUTES", MEMPAGER_GET_ATTRIBUTES,
		  MEMPAGER_ATTRIBUTES_SIZE_VER0,
		  sizeof(struct mempager_attributes), 0, ENOENT },
		{ "DATA_SUPPLY", MEMPAGER_DATA_SUPPLY,
		  MEMPAGER_DATA_SUPPLY_SIZE_VER0,
		  sizeof(struct mempager_data_supply), 0, ENOENT },
		{ "DATA_UNAVAILABLE", MEMPAGER_DATA_UNAVAILABLE,
		  MEMPAGER_DATA_RANGE_SIZE_VER0,
		  sizeof(struct mempager_data_range), 0, ENOENT },
		{ "DATA_ERROR", MEMPAGER_DATA_ERROR,
		  MEMPAGER_DATA_RANGE_SIZE_VER0,
		  sizeof(struct mempager_data_range), 0, ENOENT },
		{ "DESTROY", MEMPAGER_DESTROY, MEMPAGER_DESTROY_SIZE_VER0,
		  sizeof(struct mempager_destroy), 0, ENOENT },
		{ "REGION", MEMPAGER_REGION, MEMPAGER_REGION_SIZE_VER0,
		  sizeof(struct mempager_region), 0, ENOENT },
		{ "LOCK_REQUEST", MEMPAGER_LOCK_REQUEST,
		  MEMPAGER_LOCK_REQUEST_SIZE_VER0,
		  sizeof(struct mempager_lock_request), 0, ENOENT },
		{ "SYNCHRONIZE_COMPLETED", MEMPAGER_SYNCHRONIZE_COMPLETED,
		  MEMPAGER_SYNCHRONIZE_COMPLETED_SIZE_VER0,
		  sizeof(struct mempager_synchronize_completed), 0, ENOENT },
		{ "RECEIVE", MEMPAGER_RECEIVE, MEMPAGER_RECEIVE_SIZE_VER0,
		  sizeof(struct mempager_receive), 0, EAGAIN },
		{ "SET_DEFAULT_MANAGER", MEMPAGER_SET_DEFAULT_MANAGER,
		  MEMPAGER_DEFAULT_MANAGER_SIZE_VER0,
		  sizeof(struct mempager_default_manager), 2, EBUSY },
	};

	/* A manager fd with one object, never mapped: no control, no message. */
	mfd = open("/dev/mempager", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, ioctl(mfd, MEMPAGER_OBJECT_CREATE, &oc));
	bfd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	ASSERT_GE(bfd, 0);
	{
		struct mempager_object_bind ob = {
			.size = sizeof(ob), .fd = oc.out_fd,
		};

		ASSERT_EQ(0, ioctl(bfd, MEMPAGER_OBJECT_BIND, &ob));
	}
	/* Every command is covered: a new one must be added here. */
	ASSERT_EQ(MEMPAGER_CMD_MAX, sizeof(cases) / sizeof(cases[0]));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct min_case *c = &cases[i];
		int size;

		/* Arguments valid but for the stale control (0: never mapped). */
		memset(&arg, 0, sizeof(arg));
		switch (_IOC_NR(c->cmd)) {
		case MEMPAGER_CMD_OBJECT_CREATE:
			arg.oc.object_size = 4096;
			arg.oc.mode = 0600;
			break;
		case MEMPAGER_CMD_OBJECT_OPEN:
			arg.oo.name = oc.out_name;
			break;
		case MEMPAGER_CMD_OBJECT_BIND:
			arg.ob.fd = oc.out_fd;
			break;
		case MEMPAGER_CMD_READY:
		case MEMPAGER_CMD_CHANGE_ATTRIBUTES:
		case MEMPAGER_CMD_GET_ATTRIBUTES:
			arg.at.object = oc.out_object;
			break;
		case MEMPAGER_CMD_DATA_SUPPLY:
			arg.ds.object = oc.out_object;
			arg.ds.length = sizeof(page);
			arg.ds.data = (uintptr_t)page;
			break;
		case MEMPAGER_CMD_DATA_UNAVAILABLE:
		case MEMPAGER_CMD_DATA_ERROR:
			arg.dr.object = oc.out_object;
			arg.dr.length = 4096;
			break;
		case MEMPAGER_CMD_DESTROY:
			arg.d.object = oc.out_object;
			break;
		case MEMPAGER_CMD_REGION:
			arg.rg.addr = (uintptr_t)page;
			break;
		case MEMPAGER_CMD_LOCK_REQUEST:
			arg.lr.object = oc.out_object;
			arg.lr.length = 4096;
			break;
		case MEMPAGER_CMD_SYNCHRONIZE_COMPLETED:
			arg.sc.object = oc.out_object;
			arg.sc.length = 4096;
			break;
		case MEMPAGER_CMD_RECEIVE:
			arg.rv.msgs = (uintptr_t)&msg;
			arg.rv.msgs_max = 1;
			break;
		}
		EXPECT_LE(c->min, c->full) TH_LOG("%s", c->name);
		for (size = c->min - 1; size <= (int)c->full; size++) {
			if (size > (int)c->min && size < (int)c->full)
				continue;	/* the edges are what counts */
			if (c->fd == 1) {
				ffd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
				ASSERT_GE(ffd, 0);
			} else {
				ffd = c->fd ? bfd : mfd;
			}
			r = call_sized(ffd, c->cmd, &arg, size);
			EXPECT_EQ(size < (int)c->min ? EINVAL : c->expect, r)
				TH_LOG("%s with %d bytes (minimum %zu): %s",
				       c->name, size, c->min, strerror(r));
			/* Fds handed out on success. */
			if (!r && _IOC_NR(c->cmd) == MEMPAGER_CMD_OBJECT_CREATE)
				close(arg.oc.out_fd);
			if (!r && _IOC_NR(c->cmd) == MEMPAGER_CMD_OBJECT_OPEN)
				close(arg.oo.out_fd);
			if (c->fd == 1)
				close(ffd);
		}
	}
	close(bfd);
	close(oc.out_fd);
	close(mfd);
}

TEST_HARNESS_MAIN
