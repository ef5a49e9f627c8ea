// SPDX-License-Identifier: GPL-2.0
/*
 * mempager: the Mach external memory management interface on Linux.
 *
 * This file owns the misc device /dev/mempager and the ioctl dispatch: every
 * ioctl goes through one table that checks the size-first structure with
 * copy_struct_from_user() before a handler sees it, and copies the handler's
 * output back.
 *
 * Locking overview: this file takes no locks of its own; the handlers it
 * calls document theirs.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "mempager_internal.h"

/**
 * mempager_api_ioctl() - MEMPAGER_API: report the ABI version and features
 * @mf: the caller's open file
 * @arg: struct mempager_api, already copied from user space
 *
 * Return: 0, or -EINVAL for flags, -EOPNOTSUPP for unknown features.
 */
int mempager_api_ioctl(struct mempager_file *mf, void *arg)
{
	struct mempager_api *api = arg;

	if (api->flags || api->__reserved)
		return -EINVAL;
	if (api->features & ~MEMPAGER_FEATURES_ALL)
		return -EOPNOTSUPP;
	api->out_version = MEMPAGER_API_VERSION;
	api->out_features = MEMPAGER_FEATURES_ALL;
	api->out_ioctls = mempager_supported_ioctls();
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mempager_api_ioctl);

/*
 * Every mempager ioctl is _IO(MEMPAGER_TYPE, MEMPAGER_CMD_*): the size
 * travels in the structure, not in the command.
 */
struct mempager_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct mempager_file *mf, void *arg);
};

#define IOCTL_OP(_cmd, _fn, _struct, _last)				\
	[_cmd] = {							\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(_struct) > 128),	\
		.min_size = offsetofend(_struct, _last),		\
		.execute = _fn,						\
	}

static const struct mempager_ioctl_op mempager_ioctl_ops[] = {
	IOCTL_OP(MEMPAGER_CMD_API, mempager_api_ioctl, struct mempager_api,
		 out_ioctls),
};

/**
 * mempager_supported_ioctls() - the MEMPAGER_CMD_* numbers this module serves
 *
 * Return: a mask with bit n set for each supported command n.
 */
u64 mempager_supported_ioctls(void)
{
	u64 mask = 0;
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(mempager_ioctl_ops) > 64);
	for (i = 0; i < ARRAY_SIZE(mempager_ioctl_ops); i++)
		if (mempager_ioctl_ops[i].execute)
			mask |= BIT_ULL(i);
	return mask;
}
EXPORT_SYMBOL_IF_KUNIT(mempager_supported_ioctls);

static long mempager_ioctl(struct file *file, unsigned int cmd,
			   unsigned long uarg)
{
	void __user *ubuf = (void __user *)uarg;
	const struct mempager_ioctl_op *op;
	u64 buf[128 / sizeof(u64)];
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size;
	int ret;

	if (cmd != _IO(MEMPAGER_TYPE, nr) ||
	    nr >= ARRAY_SIZE(mempager_ioctl_ops))
		return -ENOTTY;
	op = &mempager_ioctl_ops[nr];
	if (!op->execute)
		return -ENOTTY;

	if (get_user(user_size, (u32 __user *)ubuf))
		return -EFAULT;
	if (user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(buf, op->size, ubuf, user_size);
	if (ret)
		return ret;

	ret = op->execute(file->private_data, buf);
	if (ret)
		return ret;
	/* Outputs go back only as far as the caller's structure reaches. */
	if (copy_to_user(ubuf, buf, min_t(u32, user_size, op->size)))
		return -EFAULT;
	return 0;
}

static int mempager_open(struct inode *inode, struct file *file)
{
	struct mempager_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return -ENOMEM;
	file->private_data = mf;
	return 0;
}

static int mempager_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations mempager_fops = {
	.owner = THIS_MODULE,
	.open = mempager_open,
	.release = mempager_release,
	.unlocked_ioctl = mempager_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice mempager_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mempager",
	.fops = &mempager_fops,
	.mode = 0666,
};

static int __init mempager_init(void)
{
	return misc_register(&mempager_miscdev);
}

static void __exit mempager_exit(void)
{
	misc_deregister(&mempager_miscdev);
}

module_init(mempager_init);
module_exit(mempager_exit);
MODULE_DESCRIPTION("Mach external memory management interface");
MODULE_LICENSE("GPL");
