// SPDX-License-Identifier: GPL-2.0
/*
 * mempager: the Mach external memory management interface on Linux.
 *
 * This file owns the misc device /dev/mempager and the ioctl dispatch: every
 * ioctl goes through one table that checks the size-first structure with
 * copy_struct_from_user() before a handler sees it, and copies the handler's
 * output back.
 *
 * Locking overview: mempager_file.lock serialises the role changes of one
 * open file (becoming a manager, binding an object) and mmap of it; it nests
 * inside mmap_lock (taken by the core around ->mmap) and outside the object
 * mutex. The manager pointer is published with smp_store_release() so that
 * read(), poll() and the manager calls need no lock.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "mempager_internal.h"
#include "mempager_trace.h"

unsigned int mp_max_outstanding = 50;

static int mp_set_max_outstanding(const char *val,
				  const struct kernel_param *kp)
{
	/* 0 would make every fault on a missing page wait for ever. */
	return param_set_uint_minmax(val, kp, 1, 1U << 20);
}

static const struct kernel_param_ops mp_max_outstanding_ops = {
	.set = mp_set_max_outstanding,
	.get = param_get_uint,
};

module_param_cb(max_outstanding, &mp_max_outstanding_ops,
		&mp_max_outstanding, 0644);
MODULE_PARM_DESC(max_outstanding,
		 "data_requests outstanding per object before faults wait (default 50, as GNU Mach)");

bool mp_allow_kernel_faults;
module_param_named(allow_kernel_faults, mp_allow_kernel_faults, bool, 0644);
MODULE_PARM_DESC(allow_kernel_faults,
		 "managers made while set serve kernel-mode faults without CAP_SYS_PTRACE, as vm.unprivileged_userfaultfd (default 0)");

unsigned int mp_max_queued_pages = 8192;
EXPORT_SYMBOL_IF_KUNIT(mp_max_queued_pages);
module_param_named(max_queued_pages, mp_max_queued_pages, uint, 0644);
MODULE_PARM_DESC(max_queued_pages,
		 "pages of data_return a manager may leave unread before its faults wait (default 8192)");

unsigned int mp_max_objects_per_user = 1024;
module_param_named(max_objects_per_user, mp_max_objects_per_user, uint, 0644);
MODULE_PARM_DESC(max_objects_per_user,
		 "objects (and temporary mappings) one uid may own; 0: no limit; CAP_SYS_RESOURCE is exempt (default 1024)");

unsigned int mp_max_resident_percent = 50;
module_param_named(max_resident_percent, mp_max_resident_percent, uint, 0644);
MODULE_PARM_DESC(max_resident_percent,
		 "percent of RAM the object caches may hold before write-back starts (default 50)");

/**
 * mempager_api_ioctl() - MEMPAGER_API: report the ABI version and features
 * @uc: the call; @uc->cmd is a struct mempager_api
 *
 * Return: 0, or -EINVAL for flags, -EOPNOTSUPP for unknown features.
 */
int mempager_api_ioctl(struct mp_ucmd *uc)
{
	struct mempager_api *api = uc->cmd;

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

/* Hand a new fd to the caller once its output is copied (see the dispatch). */
static int mp_ucmd_new_fd(struct mp_ucmd *uc, struct file *file, s32 *out_fd)
{
	int fd = get_unused_fd_flags(O_CLOEXEC);

	if (fd < 0) {
		fput(file);
		return fd;
	}
	uc->new_file = file;
	uc->new_fd = fd;
	*out_fd = fd;
	return 0;
}

/*
 * The manager of a manager fd, made a manager fd now if it is not yet.
 * Whether its objects serve kernel-mode faults is decided here, once, from
 * the credentials @file was opened with: userfaultfd's policy (see
 * mp_fault_may_wait()).
 */
static struct mp_manager *mp_file_make_manager(struct mempager_file *mf,
					       struct file *file)
{
	struct mp_manager *mgr;

	lockdep_assert_held(&mf->lock);
	if (!mf->mgr) {
		mgr = mp_manager_alloc();
		if (!mgr)
			return NULL;
		mgr->kernel_faults = READ_ONCE(mp_allow_kernel_faults) ||
			file_ns_capable(file, &init_user_ns, CAP_SYS_PTRACE);
		/* Pairs with smp_load_acquire() in read, poll and calls. */
		smp_store_release(&mf->mgr, mgr);
	}
	return mf->mgr;
}

static int mp_set_default_manager_ioctl(struct mp_ucmd *uc)
{
	struct mempager_default_manager *dm = uc->cmd;
	struct mempager_file *mf = uc->mf;
	struct mp_manager *mgr;
	int err;

	if (dm->flags)
		return -EINVAL;
	/* The opener's privilege, as for any file: not the caller's now. */
	if (!file_ns_capable(uc->file, &init_user_ns, CAP_SYS_ADMIN))
		return -EPERM;
	mutex_lock(&mf->lock);
	err = -EBUSY;
	if (mf->bound)
		goto out_unlock;
	mgr = mp_file_make_manager(mf, uc->file);
	err = mgr ? mp_default_set(mgr) : -ENOMEM;
out_unlock:
	mutex_unlock(&mf->lock);
	return err;
}

static int mp_object_create_ioctl(struct mp_ucmd *uc)
{
	struct mempager_object_create *oc = uc->cmd;
	struct mempager_file *mf = uc->mf;
	struct mp_object *obj;
	struct file *file;
	int err;

	if (oc->flags || oc->__reserved || oc->mode & ~0666)
		return -EINVAL;
	if (!oc->object_size || !PAGE_ALIGNED(oc->object_size))
		return -EINVAL;
	if (oc->object_size > MAX_LFS_FILESIZE)
		return -EOVERFLOW;

	mutex_lock(&mf->lock);
	err = -EBUSY;
	if (mf->bound)
		goto out_unlock;
	err = -ENOMEM;
	if (!mp_file_make_manager(mf, uc->file))
		goto out_unlock;
	obj = mp_object_create(mf->mgr, oc->object_size, oc->mode, uc->file);
	err = PTR_ERR_OR_ZERO(obj);
	if (err)
		goto out_unlock;
	oc->out_object = obj->handle;
	oc->out_name = obj->name;
	file = mp_object_open_file(obj, true);
	err = IS_ERR(file) ? PTR_ERR(file) : mp_ucmd_new_fd(uc, file, &oc->out_fd);
	if (err) {
		mp_object_forget(obj);
		mp_object_put(obj);
	} else {
		uc->created = obj;	/* undone if the caller is not told */
	}
out_unlock:
	mutex_unlock(&mf->lock);
	return err;
}

static int mp_object_open_ioctl(struct mp_ucmd *uc)
{
	struct mempager_object_open *oo = uc->cmd;
	bool writable = oo->flags & MEMPAGER_OPEN_WRITE;
	struct mp_object *obj;
	struct file *file;
	int err;

	if (oo->flags & ~MEMPAGER_OPEN_WRITE || oo->__reserved)
		return -EINVAL;
	obj = mp_object_lookup(oo->name);
	if (!obj)
		return -ENOENT;
	err = mp_object_may_open(obj, writable);
	if (!err) {
		file = mp_object_open_file(obj, writable);
		err = IS_ERR(file) ? PTR_ERR(file) :
			mp_ucmd_new_fd(uc, file, &oo->out_fd);
	}
	mp_object_put(obj);
	return err;
}

static int mp_object_bind_ioctl(struct mp_ucmd *uc)
{
	struct mempager_object_bind *ob = uc->cmd;
	struct mempager_file *mf = uc->mf;
	struct mp_object *obj;
	struct fd f;
	int err;

	if (ob->flags || ob->__reserved)
		return -EINVAL;
	f = fdget(ob->fd);
	if (!fd_file(f))
		return -EBADF;
	obj = mp_object_from_file(fd_file(f));
	err = -EBADF;
	if (!obj)
		goto out_fdput;
	mutex_lock(&mf->lock);
	err = -EBUSY;
	if (!mf->mgr && !mf->bound) {
		mp_object_get(obj);
		mf->bound = obj;
		mf->bound_writable = fd_file(f)->f_mode & FMODE_WRITE;
		err = 0;
	}
	mutex_unlock(&mf->lock);
out_fdput:
	fdput(f);
	return err;
}

/* The manager of a manager fd, or NULL for other fds. */
static struct mp_manager *mp_file_manager(struct mempager_file *mf)
{
	/* Pairs with smp_store_release() in mp_object_create_ioctl(). */
	return smp_load_acquire(&mf->mgr);
}

/* The object a manager call names, with a reference, or NULL. */
static struct mp_object *mp_managed_object(struct mp_ucmd *uc, u32 handle)
{
	struct mp_manager *mgr = mp_file_manager(uc->mf);
	struct mp_object *obj;

	if (!mgr)
		return NULL;
	/* Objects leave the table at terminate (temporary memory, copies). */
	rcu_read_lock();
	obj = xa_load(&mgr->objects, handle);
	if (obj && !kref_get_unless_zero(&obj->ref))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

static int mp_attributes_ioctl(struct mp_ucmd *uc, bool reply_allowed)
{
	struct mempager_attributes *at = uc->cmd;
	u32 allowed = reply_allowed ? MEMPAGER_REPLY : 0;
	struct mp_object *obj;
	int err;

	if (at->flags & ~allowed || at->__reserved || at->__reserved2 ||
	    at->out_ready)
		return -EINVAL;
	obj = mp_managed_object(uc, at->object);
	if (!obj)
		return -ENOENT;
	err = mp_object_set_attributes(obj, at->control, at->may_cache,
				       at->copy_strategy,
				       at->flags & MEMPAGER_REPLY);
	mp_object_put(obj);
	return err;
}

static int mp_ready_ioctl(struct mp_ucmd *uc)
{
	return mp_attributes_ioctl(uc, false);
}

static int mp_change_attributes_ioctl(struct mp_ucmd *uc)
{
	return mp_attributes_ioctl(uc, true);
}

static int mp_get_attributes_ioctl(struct mp_ucmd *uc)
{
	struct mempager_attributes *at = uc->cmd;
	struct mp_object *obj;
	int err;

	if (at->flags || at->__reserved || at->__reserved2)
		return -EINVAL;
	obj = mp_managed_object(uc, at->object);
	if (!obj)
		return -ENOENT;
	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, at->control);
	if (!err)
		mp_object_get_attributes(obj, at);
	mutex_unlock(&obj->mutex);
	mp_object_put(obj);
	return err;
}

static int mp_data_supply_ioctl(struct mp_ucmd *uc)
{
	struct mempager_data_supply *ds = uc->cmd;
	struct mp_object *obj;
	int err;

	if (ds->flags & ~(MEMPAGER_REPLY | MEMPAGER_SUPPLY_PRECIOUS) ||
	    ds->lock_value & ~MEMPAGER_PROT_ALL)
		return -EINVAL;
	obj = mp_managed_object(uc, ds->object);
	if (!obj)
		return -ENOENT;
	err = mp_check_range(obj, ds->offset, ds->length);
	if (!err)
		err = mp_data_supply(obj, ds);
	mp_object_put(obj);
	return err;
}

static int mp_data_range_ioctl(struct mp_ucmd *uc, bool error)
{
	struct mempager_data_range *dr = uc->cmd;
	struct mp_object *obj;
	int err;

	if (dr->flags || (!error && dr->reason))
		return -EINVAL;
	obj = mp_managed_object(uc, dr->object);
	if (!obj)
		return -ENOENT;
	err = mp_check_range(obj, dr->offset, dr->length);
	if (err)
		goto out_put;
	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, dr->control);
	if (!err && error)
		err = mp_data_error(obj, dr->offset >> PAGE_SHIFT,
				    dr->length >> PAGE_SHIFT);
	else if (!err)
		err = mp_data_unavailable(obj, dr->control,
					  dr->offset >> PAGE_SHIFT,
					  dr->length >> PAGE_SHIFT);
	mutex_unlock(&obj->mutex);
out_put:
	mp_object_put(obj);
	return err;
}

static int mp_data_unavailable_ioctl(struct mp_ucmd *uc)
{
	return mp_data_range_ioctl(uc, false);
}

static int mp_data_error_ioctl(struct mp_ucmd *uc)
{
	return mp_data_range_ioctl(uc, true);
}

static int mp_destroy_ioctl(struct mp_ucmd *uc)
{
	struct mempager_destroy *d = uc->cmd;
	struct mp_object *obj;
	int err;

	if (d->flags)
		return -EINVAL;
	obj = mp_managed_object(uc, d->object);
	if (!obj)
		return -ENOENT;
	err = mp_object_destroy(obj, d->control);
	mp_object_put(obj);
	return err;
}

static int mp_lock_request_ioctl(struct mp_ucmd *uc)
{
	struct mempager_lock_request *lr = uc->cmd;
	struct mp_object *obj;
	int err;

	if (lr->flags & ~MEMPAGER_REPLY ||
	    lr->should_return > MEMPAGER_RETURN_ANYTHING ||
	    lr->should_flush > 1 ||
	    (lr->lock_value & ~MEMPAGER_PROT_ALL &&
	     lr->lock_value != MEMPAGER_PROT_NO_CHANGE))
		return -EINVAL;
	obj = mp_managed_object(uc, lr->object);
	if (!obj)
		return -ENOENT;
	err = mp_check_range(obj, lr->offset, lr->length);
	if (!err)
		err = mp_lock_request(obj, lr);
	mp_object_put(obj);
	return err;
}

static int mp_synchronize_completed_ioctl(struct mp_ucmd *uc)
{
	struct mempager_synchronize_completed *sc = uc->cmd;
	struct mp_object *obj;
	int err;

	if (sc->flags || sc->__reserved)
		return -EINVAL;
	obj = mp_managed_object(uc, sc->object);
	if (!obj)
		return -ENOENT;
	err = mp_synchronize_completed(obj, sc->control, sc->offset,
				       sc->length);
	mp_object_put(obj);
	return err;
}

static int mp_cmd_from_user(unsigned int nr, void *buf, void __user *ubuf,
			    u32 *user_size);

/* The data_supply of MEMPAGER_RECEIVE_SUPPLY, a structure of its own. */
static int mp_receive_supply(struct mp_ucmd *uc, u64 uaddr)
{
	struct mp_ucmd suc = *uc;
	u64 buf[128 / sizeof(u64)];
	u32 user_size;
	int err;

	err = mp_cmd_from_user(MEMPAGER_CMD_DATA_SUPPLY, buf,
			       u64_to_user_ptr(uaddr), &user_size);
	if (err)
		return err;
	suc.cmd = buf;
	err = mp_data_supply_ioctl(&suc);
	trace_mempager_call(MEMPAGER_CMD_DATA_SUPPLY, err);
	return err;
}

static int mp_receive_ioctl(struct mp_ucmd *uc)
{
	struct mempager_receive *r = uc->cmd;
	struct mp_manager *mgr = mp_file_manager(uc->mf);
	struct mp_recv rv = {
		.msgs = u64_to_user_ptr(r->msgs),
		.max = r->msgs_max,
		.data = u64_to_user_ptr(r->data),
		.data_size = r->data_size,
	};
	bool supply = r->flags & MEMPAGER_RECEIVE_SUPPLY;
	int err;

	if (r->flags & ~MEMPAGER_RECEIVE_SUPPLY || r->out_msgs ||
	    r->out_data || (!supply && r->supply))
		return -EINVAL;
	if (!mgr)
		return -EINVAL;
	if (supply) {
		err = mp_receive_supply(uc, r->supply);
		if (err)
			return err;
	}
	err = mp_manager_receive(mgr, &rv, uc->nonblock);
	/* After a supply, never fail (nor restart) the call: see the uapi. */
	if (err && supply)
		err = 0;
	r->out_msgs = rv.out_msgs;
	r->out_data = rv.out_data;
	return err;
}

static int mp_region_ioctl(struct mp_ucmd *uc)
{
	struct mempager_region *r = uc->cmd;
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct mp_object *obj;
	int err = -ENOENT;

	if (r->flags)
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, r->addr);
	obj = vma ? mp_vma_object(vma) : NULL;
	if (obj) {
		/* A private copy is named by its original (Mach's vm_region). */
		r->out_name = obj->src ? obj->src->name : obj->name;
		r->out_start = vma->vm_start;
		r->out_end = vma->vm_end;
		r->out_offset = (u64)(vma->vm_pgoff + obj->src_off) << PAGE_SHIFT;
		err = 0;
	}
	mmap_read_unlock(mm);
	return err;
}

/*
 * Every mempager ioctl is _IO(MEMPAGER_TYPE, MEMPAGER_CMD_*): the size
 * travels in the structure, not in the command.
 */
struct mempager_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct mp_ucmd *uc);
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
	IOCTL_OP(MEMPAGER_CMD_OBJECT_CREATE, mp_object_create_ioctl,
		 struct mempager_object_create, out_name),
	IOCTL_OP(MEMPAGER_CMD_OBJECT_OPEN, mp_object_open_ioctl,
		 struct mempager_object_open, __reserved),
	IOCTL_OP(MEMPAGER_CMD_OBJECT_BIND, mp_object_bind_ioctl,
		 struct mempager_object_bind, __reserved),
	IOCTL_OP(MEMPAGER_CMD_READY, mp_ready_ioctl,
		 struct mempager_attributes, __reserved2),
	IOCTL_OP(MEMPAGER_CMD_CHANGE_ATTRIBUTES, mp_change_attributes_ioctl,
		 struct mempager_attributes, __reserved2),
	IOCTL_OP(MEMPAGER_CMD_GET_ATTRIBUTES, mp_get_attributes_ioctl,
		 struct mempager_attributes, __reserved2),
	IOCTL_OP(MEMPAGER_CMD_DATA_SUPPLY, mp_data_supply_ioctl,
		 struct mempager_data_supply, data),
	IOCTL_OP(MEMPAGER_CMD_DATA_UNAVAILABLE, mp_data_unavailable_ioctl,
		 struct mempager_data_range, length),
	IOCTL_OP(MEMPAGER_CMD_DATA_ERROR, mp_data_error_ioctl,
		 struct mempager_data_range, length),
	IOCTL_OP(MEMPAGER_CMD_DESTROY, mp_destroy_ioctl,
		 struct mempager_destroy, control),
	IOCTL_OP(MEMPAGER_CMD_REGION, mp_region_ioctl,
		 struct mempager_region, out_offset),
	IOCTL_OP(MEMPAGER_CMD_LOCK_REQUEST, mp_lock_request_ioctl,
		 struct mempager_lock_request, lock_value),
	IOCTL_OP(MEMPAGER_CMD_SYNCHRONIZE_COMPLETED,
		 mp_synchronize_completed_ioctl,
		 struct mempager_synchronize_completed, length),
	IOCTL_OP(MEMPAGER_CMD_RECEIVE, mp_receive_ioctl,
		 struct mempager_receive, out_data),
	IOCTL_OP(MEMPAGER_CMD_SET_DEFAULT_MANAGER, mp_set_default_manager_ioctl,
		 struct mempager_default_manager, flags),
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

/*
 * Copy the structure of command @nr from @ubuf into @buf (128 bytes): its
 * size comes first; a larger one must end in zeros, a smaller one is
 * zero-extended (copy_struct_from_user()).
 */
static int mp_cmd_from_user(unsigned int nr, void *buf, void __user *ubuf,
			    u32 *user_size)
{
	const struct mempager_ioctl_op *op = &mempager_ioctl_ops[nr];

	if (get_user(*user_size, (u32 __user *)ubuf))
		return -EFAULT;
	if (*user_size < op->min_size)
		return -EINVAL;
	return copy_struct_from_user(buf, op->size, ubuf, *user_size);
}

static long mempager_ioctl(struct file *file, unsigned int cmd,
			   unsigned long uarg)
{
	void __user *ubuf = (void __user *)uarg;
	const struct mempager_ioctl_op *op;
	u64 buf[128 / sizeof(u64)];
	unsigned int nr = _IOC_NR(cmd);
	struct mp_ucmd uc = {
		.file = file,
		.mf = file->private_data,
		.cmd = buf,
		.new_fd = -1,
		.nonblock = file->f_flags & O_NONBLOCK,
	};
	u32 user_size;
	int ret;

	if (cmd != _IO(MEMPAGER_TYPE, nr) ||
	    nr >= ARRAY_SIZE(mempager_ioctl_ops))
		return -ENOTTY;
	op = &mempager_ioctl_ops[nr];
	if (!op->execute)
		return -ENOTTY;

	ret = mp_cmd_from_user(nr, buf, ubuf, &user_size);
	if (ret)
		return ret;

	ret = op->execute(&uc);
	trace_mempager_call(nr, ret);
	if (ret)
		return ret;
	/* Outputs go back only as far as the caller's structure reaches. */
	if (copy_to_user(ubuf, buf, min_t(u32, user_size, op->size)))
		ret = -EFAULT;
	/* A new fd becomes visible only once the caller can learn its number. */
	if (uc.new_file) {
		if (ret) {
			put_unused_fd(uc.new_fd);
			fput(uc.new_file);
		} else {
			fd_install(uc.new_fd, uc.new_file);
		}
	}
	if (uc.created) {
		if (ret)
			mp_object_forget(uc.created);
		mp_object_put(uc.created);
	}
	return ret;
}

static int mempager_open(struct inode *inode, struct file *file)
{
	struct mempager_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return -ENOMEM;
	mutex_init(&mf->lock);
	file->private_data = mf;
	return 0;
}

static int mempager_release(struct inode *inode, struct file *file)
{
	struct mempager_file *mf = file->private_data;

	if (mf->mgr) {
		mp_manager_kill(mf->mgr);
		mp_manager_put(mf->mgr);
	}
	if (mf->bound)
		mp_object_put(mf->bound);
	mutex_destroy(&mf->lock);
	kfree(mf);
	return 0;
}

/* read(2): messages only; see MEMPAGER_RECEIVE for page data. */
static ssize_t mempager_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct mp_manager *mgr = mp_file_manager(file->private_data);
	struct mp_recv rv = {
		.msgs = buf,
		.max = min_t(size_t, count / sizeof(struct mempager_msg),
			     UINT_MAX),
	};
	int err;

	if (!mgr)
		return -EINVAL;
	err = mp_manager_receive(mgr, &rv, file->f_flags & O_NONBLOCK);
	return err ? err : rv.out_msgs * sizeof(struct mempager_msg);
}

static __poll_t mempager_poll(struct file *file, poll_table *pt)
{
	struct mp_manager *mgr = mp_file_manager(file->private_data);

	return mgr ? mp_manager_poll(mgr, file, pt) : EPOLLERR;
}

/*
 * mmap of /dev/mempager: the bound object, or with none bound new
 * temporary memory (zero-filled, the vm_allocate case).
 */
static int mempager_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mempager_file *mf = file->private_data;
	struct mp_object *obj;
	int err;

	mutex_lock(&mf->lock);
	obj = mf->bound;
	if (obj) {
		mp_object_get(obj);
		err = 0;
		if (!mf->bound_writable) {
			if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) ==
			    (VM_SHARED | VM_WRITE))
				err = -EACCES;
			vm_flags_clear(vma, VM_MAYWRITE);
		}
	} else if (mf->mgr) {
		err = -EINVAL;	/* a manager fd maps nothing itself */
	} else if (vma->vm_pgoff) {
		err = -EINVAL;
	} else {
		obj = mp_object_create(NULL, vma->vm_end - vma->vm_start, 0,
				       file);
		err = PTR_ERR_OR_ZERO(obj);
	}
	mutex_unlock(&mf->lock);
	if (err) {
		if (!IS_ERR_OR_NULL(obj))
			mp_object_put(obj);
		return err;
	}
	err = mp_mmap_object(obj, vma);
	mp_object_put(obj);
	return err;
}

static const struct file_operations mempager_fops = {
	.owner = THIS_MODULE,
	.open = mempager_open,
	.release = mempager_release,
	.read = mempager_read,
	.poll = mempager_poll,
	.mmap = mempager_mmap,
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
	int err = mp_objects_init();

	if (err)
		return err;
	err = mp_shrinker_init();
	if (err)
		goto out_objects;
	err = misc_register(&mempager_miscdev);
	if (err)
		goto out_shrinker;
	mp_debugfs_init();
	return 0;

out_shrinker:
	mp_shrinker_exit();
out_objects:
	mp_objects_exit();
	return err;
}

static void __exit mempager_exit(void)
{
	mp_debugfs_exit();
	misc_deregister(&mempager_miscdev);
	mp_objects_exit();
	mp_shrinker_exit();
}

module_init(mempager_init);
module_exit(mempager_exit);
MODULE_DESCRIPTION("Mach external memory management interface");
MODULE_LICENSE("GPL");
