// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for the ioctl dispatch and the API handshake.
 */
#include <kunit/test.h>
#include <linux/module.h>

#include "mempager_internal.h"

static int mp_api_call(struct mempager_api *api)
{
	struct mp_ucmd uc = { .cmd = api, .new_fd = -1 };

	return mempager_api_ioctl(&uc);
}

static void api_reports_version_and_ioctls(struct kunit *test)
{
	struct mempager_api api = { .size = sizeof(api) };

	KUNIT_ASSERT_EQ(test, mp_api_call(&api), 0);
	KUNIT_EXPECT_EQ(test, api.out_version, MEMPAGER_API_VERSION);
	KUNIT_EXPECT_EQ(test, api.out_features, MEMPAGER_FEATURES_ALL);
	KUNIT_EXPECT_TRUE(test, api.out_ioctls & BIT_ULL(MEMPAGER_CMD_API));
	KUNIT_EXPECT_EQ(test, api.out_ioctls, mempager_supported_ioctls());
}

static void api_rejects_flags_and_unknown_features(struct kunit *test)
{
	struct mempager_api api = { .size = sizeof(api), .flags = 1 };

	KUNIT_EXPECT_EQ(test, mp_api_call(&api), -EINVAL);
	KUNIT_EXPECT_EQ(test, api.out_version, 0);

	api.flags = 0;
	api.__reserved = 1;
	KUNIT_EXPECT_EQ(test, mp_api_call(&api), -EINVAL);

	api.__reserved = 0;
	api.features = BIT_ULL(63);
	KUNIT_EXPECT_EQ(test, mp_api_call(&api), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, api.out_ioctls, 0);
}

static void supported_ioctls_within_cmd_range(struct kunit *test)
{
	u64 mask = mempager_supported_ioctls();

	KUNIT_EXPECT_EQ(test, mask & ~GENMASK_ULL(MEMPAGER_CMD_MAX - 1, 0), 0);
}

static struct kunit_case mempager_api_cases[] = {
	KUNIT_CASE(api_reports_version_and_ioctls),
	KUNIT_CASE(api_rejects_flags_and_unknown_features),
	KUNIT_CASE(supported_ioctls_within_cmd_range),
	{}
};

static struct kunit_suite mempager_api_suite = {
	.name = "mempager_api",
	.test_cases = mempager_api_cases,
};

kunit_test_suites(&mempager_api_suite);

MODULE_DESCRIPTION("KUnit tests for mempager");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
