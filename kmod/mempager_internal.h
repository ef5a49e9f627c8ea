/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempager internals shared by the files of the module and its KUnit suites.
 */
#ifndef _MEMPAGER_INTERNAL_H
#define _MEMPAGER_INTERNAL_H

#include <linux/types.h>
#include <linux/mempager.h>

/**
 * struct mempager_file - the state of one open of /dev/mempager
 * @unused: placeholder until the file has roles
 */
struct mempager_file {
	int unused;
};

int mempager_api_ioctl(struct mempager_file *mf, void *arg);
u64 mempager_supported_ioctls(void);

#endif /* _MEMPAGER_INTERNAL_H */
