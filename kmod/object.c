// SPDX-License-Identifier: GPL-2.0
/*
 * Memory objects: creation, names, object fds, the init / ready / terminate
 * life cycle, attributes, destroy and manager death.
 *
 * Locking overview: mp_object.mutex protects an object's state (see struct
 * mp_object). mp_names has its own lock; lookups by name run under RCU and
 * take a reference with kref_get_unless_zero(), which is why objects are
 * freed after an RCU grace period, with their inode: the inode owns the
 * memory, the object's private file holds the inode and the object's last
 * reference drops the file (see mp_mapping_fops). The mapping count
 * changes under the mutex from ->mmap, ->open and ->close, i.e. with
 * mmap_lock held: the mutex nests inside mmap_lock and nothing here takes
 * mmap_lock.
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/uidgid.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

static void mp_object_terminate_retry(struct work_struct *work);

/*
 * Objects per owner (max_objects_per_user): uid to count, as value entries.
 * Writers hold the xarray's lock and never allocate under it: the slot is
 * reserved first. (The kernel's ucounts do this job for its own limits,
 * but neither inc_ucount() nor inc_rlimit_ucounts() is exported, and
 * enum ucount_type has no entry for a module.)
 */
static DEFINE_XARRAY(mp_user_objects);

/* Count a new object against its owner; EDQUOT past the limit. */
static int mp_user_charge(struct mp_object *obj, const struct file *opener)
{
	unsigned int max = READ_ONCE(mp_max_objects_per_user);
	unsigned long uid = from_kuid(&init_user_ns, obj->uid);
	unsigned long n;
	void *old;
	int err;

	/* The opener's privilege, as for any file: checked once, here. */
	if (!max || !opener ||
	    file_ns_capable(opener, &init_user_ns, CAP_SYS_RESOURCE))
		return 0;
	do {
		err = xa_reserve(&mp_user_objects, uid, GFP_KERNEL);
		if (err)
			return err;
		xa_lock(&mp_user_objects);
		n = xa_to_value(xa_load(&mp_user_objects, uid) ?:
				xa_mk_value(0));
		if (n >= max) {
			err = -EDQUOT;
		} else {
			/* Fails only if an uncharge freed the reserved slot. */
			old = __xa_store(&mp_user_objects, uid,
					 xa_mk_value(n + 1), 0);
			err = xa_err(old);
		}
		xa_unlock(&mp_user_objects);
	} while (err == -ENOMEM);
	if (err)
		xa_release(&mp_user_objects, uid);
	obj->charged = !err;
	return err;
}

static void mp_user_uncharge(struct mp_object *obj)
{
	unsigned long uid = from_kuid(&init_user_ns, obj->uid);
	unsigned long n;

	if (!obj->charged)
		return;
	xa_lock(&mp_user_objects);
	n = xa_to_value(xa_load(&mp_user_objects, uid));
	if (n > 1)
		/* The slot exists: nothing to allocate. */
		__xa_store(&mp_user_objects, uid, xa_mk_value(n - 1), 0);
	else
		__xa_erase(&mp_user_objects, uid);
	xa_unlock(&mp_user_objects);
}

/* System-wide names of live objects: MEMPAGER_OBJECT_OPEN and debugfs. */
static DEFINE_XARRAY_ALLOC1(mp_names);
static atomic64_t mp_last_control = ATOMIC64_INIT(0);

/*
 * The object's private file: the vm_file of every mapping of the object.
 * The object holds it until its last reference goes, and every mapping and
 * an msync(2) in progress hold it too; the file holds the object's inode,
 * which owns the object's memory (mp_fs_free_inode()). So whatever a
 * mapping's file reaches stays valid.
 */
static const struct file_operations mp_mapping_fops = {
	.owner = THIS_MODULE,
	.fsync = mp_fsync,
};

static int mp_object_fd_mmap(struct file *file, struct vm_area_struct *vma)
{
	return mp_mmap_object(file->private_data, vma);
}

static int mp_object_fd_release(struct inode *inode, struct file *file)
{
	mp_object_put(file->private_data);
	return 0;
}

/*
 * Every object has an inode of its own, so that its mappings share an
 * address_space that unmap_mapping_range() can reach: the inodes live on
 * a private pseudo filesystem, as DRM's do. Unlike alloc_anon_inode()'s,
 * they are regular files of the object's size, hashed (fake) and on the
 * superblock's list, as the page cache and writeback expect of an inode.
 */
#define MEMPAGER_FS_MAGIC 0x6d706167	/* "mpag" */

/*
 * After an RCU grace period: name lookups run under RCU (mp_object_lookup).
 * The inode goes back to the kernel's inode cache, whose constructor runs
 * once per slab object: evict() leaves a fake hash in place, and the next
 * inode made from this memory (a pipe's, say) would look hashed, so that
 * generic_drop_inode() keeps it cached for good. Unhash it here.
 */
static void mp_fs_free_inode(struct inode *inode)
{
	kfree(inode->i_private);
	INIT_HLIST_NODE(&inode->i_hash);
	free_inode_nonrcu(inode);
}

static const struct super_operations mp_fs_ops = {
	.statfs = simple_statfs,
	.drop_inode = generic_delete_inode,
	.free_inode = mp_fs_free_inode,
};

static int mp_fs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, MEMPAGER_FS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = &mp_fs_ops;
	return 0;
}

/* No .owner: the mount would pin the module; it is unmounted at exit. */
static struct file_system_type mp_fs_type = {
	.name = "mempager",
	.init_fs_context = mp_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static struct vfsmount *mp_mnt;

/*
 * The object's pages are its inode's page cache (pagecache.c). Marking one
 * dirty only sets the flag: the object keeps no dirty accounting of the
 * kernel's, and writes back through its own messages.
 */
static const struct address_space_operations mp_aops = {
	.dirty_folio = noop_dirty_folio,
};

static struct inode *mp_inode_create(struct mp_object *obj)
{
	struct inode *inode = new_inode(mp_mnt->mnt_sb);

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode->i_mode = S_IFREG | 0600;
	inode->i_uid = obj->uid;
	inode->i_gid = obj->gid;
	inode->i_flags |= S_PRIVATE;	/* no LSM hooks, as anon inodes */
	/* filemap_map_pages() maps no page at or past i_size. */
	i_size_write(inode, (loff_t)obj->npages << PAGE_SHIFT);
	inode->i_mapping->a_ops = &mp_aops;
	/* The shrinker and the write-back worker decide what leaves. */
	mapping_set_unevictable(inode->i_mapping);
	inode_fake_hash(inode);
	return inode;
}

static struct file *mp_mapping_file_create(struct mp_object *obj)
{
	struct inode *inode = mp_inode_create(obj);
	struct file *file;

	if (!inode)
		return ERR_PTR(-ENOMEM);
	/* The file's f_op reference, which __fput() drops (as anon_inodes). */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, mp_mnt, "[mempager]", O_RDWR,
				 &mp_mapping_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
		return file;
	}
	/* From here on the inode owns the object's memory. */
	inode->i_private = obj;
	file->private_data = obj;
	return file;
}

/**
 * mp_objects_init() - module load: mount the objects' pseudo filesystem
 *
 * Return: 0 or a negative errno.
 */
int mp_objects_init(void)
{
	mp_mnt = kern_mount(&mp_fs_type);
	return PTR_ERR_OR_ZERO(mp_mnt);
}

/* An object fd: the send right that applications map. */
static const struct file_operations mp_object_fops = {
	.owner = THIS_MODULE,
	.mmap = mp_object_fd_mmap,
	.release = mp_object_fd_release,
};

/**
 * mp_object_create() - create a memory object
 * @mgr: its manager, or NULL for temporary memory zero-filled by the kernel
 * @size: size in bytes, a non-zero page multiple (checked by the caller)
 * @mode: permission bits for MEMPAGER_OBJECT_OPEN
 * @opener: the file whose call makes the object: it counts against its
 *	owner unless that file's opener has CAP_SYS_RESOURCE; NULL for a
 *	private copy made by the kernel, which is not counted
 *
 * A managed object gets a handle in @mgr's table, which holds a reference.
 *
 * Return: the object with one reference for the caller, or an ERR_PTR
 * (-EDQUOT past max_objects_per_user).
 */
struct mp_object *mp_object_create(struct mp_manager *mgr, u64 size,
				   umode_t mode, const struct file *opener)
{
	struct mp_object *obj;
	u32 id;
	int err;

	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	kref_init(&obj->ref);
	mutex_init(&obj->mutex);
	xa_init_flags(&obj->pages, XA_FLAGS_ACCOUNT);
	xa_init(&obj->known);
	INIT_LIST_HEAD(&obj->tickets);
	INIT_LIST_HEAD(&obj->syncs);
	INIT_LIST_HEAD(&obj->node);
	INIT_LIST_HEAD(&obj->copies);
	INIT_LIST_HEAD(&obj->copy_node);
	init_waitqueue_head(&obj->wait);
	INIT_DELAYED_WORK(&obj->term_retry, mp_object_terminate_retry);
	obj->npages = size >> PAGE_SHIFT;
	obj->uid = current_fsuid();
	obj->gid = current_fsgid();
	obj->mode = mode;
	/* Objects users make count against them; copies are the kernel's. */
	err = mp_user_charge(obj, opener);
	if (err)
		goto out_free;
	if (!mgr) {
		/* Temporary memory is ready at once and has no manager. */
		obj->state = MP_READY;
		obj->copy_strategy = MEMPAGER_COPY_TEMPORARY;
		obj->temporary = true;
	}

	obj->file = mp_mapping_file_create(obj);
	if (IS_ERR(obj->file)) {
		err = PTR_ERR(obj->file);
		goto out_uncharge;
	}

	/* From here on the inode owns the memory: errors go through a put. */
	err = xa_alloc(&mp_names, &id, obj, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (err)
		goto out_put;
	obj->name = id;

	if (mgr) {
		kref_get(&mgr->ref);
		obj->mgr = mgr;
		err = xa_alloc(&mgr->objects, &obj->handle, obj, xa_limit_31b,
			       GFP_KERNEL_ACCOUNT);
		if (err)
			goto out_put;
		/* The handle table's reference. */
		kref_get(&obj->ref);
	}
	mp_shrinker_track(obj);
	return obj;

out_put:
	mp_object_put(obj);
	return ERR_PTR(err);
out_uncharge:
	mp_user_uncharge(obj);
out_free:
	kfree(obj);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_create);

static void mp_object_release(struct kref *ref)
{
	struct mp_object *obj = container_of(ref, struct mp_object, ref);

	mp_copy_detach(obj);
	xa_erase(&mp_names, obj->name);
	if (!list_empty(&obj->node))
		mp_shrinker_untrack(obj);
	mutex_lock(&obj->mutex);
	mp_fail_requests_locked(obj);
	mp_cache_drop_all_locked(obj);
	mp_tickets_free_locked(obj);
	mutex_unlock(&obj->mutex);
	xa_destroy(&obj->pages);
	xa_destroy(&obj->known);
	if (obj->term_msg)
		mp_msg_free(obj->term_msg);
	mp_user_uncharge(obj);
	mutex_destroy(&obj->mutex);
	if (obj->mgr)
		mp_manager_put(obj->mgr);
	/* Last: the file frees the object once no mapping nor msync holds it. */
	fput(obj->file);
}

/**
 * mp_object_get() - take a reference to an object
 * @obj: the object
 */
void mp_object_get(struct mp_object *obj)
{
	kref_get(&obj->ref);
}

/**
 * mp_object_put() - drop a reference to an object
 * @obj: the object; freed with its pages at the last reference
 */
void mp_object_put(struct mp_object *obj)
{
	kref_put(&obj->ref, mp_object_release);
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_put);

/**
 * mp_new_control() - a control never handed out before
 *
 * Return: the control.
 */
u64 mp_new_control(void)
{
	return atomic64_inc_return(&mp_last_control);
}

/**
 * mp_object_lookup() - find a live object by name
 * @name: the object's name
 *
 * Return: the object with a reference, or NULL.
 */
struct mp_object *mp_object_lookup(u64 name)
{
	struct mp_object *obj;

	if (name > U32_MAX)
		return NULL;
	rcu_read_lock();
	obj = xa_load(&mp_names, name);
	if (obj && !kref_get_unless_zero(&obj->ref))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_lookup);

/**
 * mp_object_next() - iterate over live objects, for debugfs
 * @name: in: the first name to look at; out: the name found
 *
 * Return: the next object with a reference, or NULL at the end.
 */
struct mp_object *mp_object_next(unsigned long *name)
{
	struct mp_object *obj;

	rcu_read_lock();
	for (;;) {
		obj = xa_find(&mp_names, name, ULONG_MAX, XA_PRESENT);
		if (!obj || kref_get_unless_zero(&obj->ref))
			break;
		(*name)++;
	}
	rcu_read_unlock();
	return obj;
}

/**
 * mp_object_open_file() - a new object fd's file
 * @obj: the object; the file takes a reference of its own
 * @writable: the fd may map the object writable
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *mp_object_open_file(struct mp_object *obj, bool writable)
{
	struct file *file;

	mp_object_get(obj);
	file = anon_inode_getfile("[mempager-object]", &mp_object_fops, obj,
				  (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (IS_ERR(file))
		mp_object_put(obj);
	return file;
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_open_file);

/**
 * mp_object_from_file() - the object of an object fd
 * @file: any file
 *
 * Return: the object (no new reference), or NULL if @file is no object fd.
 */
struct mp_object *mp_object_from_file(struct file *file)
{
	return file->f_op == &mp_object_fops ? file->private_data : NULL;
}

/*
 * Temporary memory and private copies belong to the one mapping that made
 * them: nobody opens them by name, and their last unmap ends their handle.
 */
static bool mp_object_mapped_once(struct mp_object *obj)
{
	return obj->temporary || obj->src;
}

/**
 * mp_object_may_open() - may the caller open this object by name?
 * @obj: the object
 * @writable: write access is asked for too
 *
 * The owner, group and other bits of the object's mode decide, as for a
 * file; CAP_DAC_OVERRIDE overrides them. Temporary memory and private
 * copies are never reached by name.
 *
 * Return: 0, -ENOENT for temporary memory, or -EACCES.
 */
int mp_object_may_open(struct mp_object *obj, bool writable)
{
	umode_t want = writable ? 06 : 04;
	umode_t mode = obj->mode;

	if (mp_object_mapped_once(obj))
		return -ENOENT;
	if (uid_eq(current_fsuid(), obj->uid))
		mode >>= 6;
	else if (in_group_p(obj->gid))
		mode >>= 3;
	if ((mode & want) == want || capable(CAP_DAC_OVERRIDE))
		return 0;
	return -EACCES;
}

/**
 * mp_object_check_control() - does a manager call name the current state?
 * @obj: the object, its mutex held
 * @control: the control the manager passed
 *
 * Return: 0, or -ENOENT when @control is stale or the object has no live
 * kernel state (never initialised, terminated, destroyed, manager dead).
 */
int mp_object_check_control(struct mp_object *obj, u64 control)
{
	lockdep_assert_held(&obj->mutex);
	if (obj->state != MP_INIT_SENT && obj->state != MP_READY)
		return -ENOENT;
	return control == obj->control ? 0 : -ENOENT;
}

/**
 * mp_object_bump_locked() - wake the faults waiting on an object
 * @obj: the object, its mutex held
 */
void mp_object_bump_locked(struct mp_object *obj)
{
	lockdep_assert_held(&obj->mutex);
	WRITE_ONCE(obj->events, obj->events + 1);
	wake_up_all(&obj->wait);
}

/* Drop the kernel's state of an object: pages, requests, the control. */
static void mp_object_reset_locked(struct mp_object *obj)
{
	mp_fail_requests_locked(obj);
	mp_cache_drop_all_locked(obj);
	obj->state = MP_IDLE;
	obj->control = 0;
	/* The next incarnation starts afresh, as after creation. */
	obj->may_cache = false;
	obj->copy_strategy = MEMPAGER_COPY_NONE;
	mp_object_bump_locked(obj);
}

static void mp_send_terminate_locked(struct mp_object *obj)
{
	/* Reserved when init was sent: a terminate is never lost. */
	struct mp_msg_entry *e = obj->term_msg;

	if (WARN_ON_ONCE(!e))
		return;
	obj->term_msg = NULL;
	e->msg.type = MEMPAGER_MSG_TERMINATE;
	/* A manager that cannot be told has nothing to learn. */
	if (!mp_msg_post_locked(obj, e))
		obj->stats.terminates++;
}

/* Retry a terminate that ran out of memory: every 100 ms, as writeback. */
#define MP_TERMINATE_RETRY_DELAY	(HZ / 10)

/* Is the terminate of an object nothing maps due (and not yet sent)? */
static bool mp_object_terminate_due_locked(struct mp_object *obj)
{
	return obj->mgr && !obj->nr_maps && !obj->may_cache &&
	       (obj->state == MP_READY || obj->state == MP_INIT_SENT);
}

/*
 * Terminate: return the dirty and precious pages of a permanent object, tell
 * the manager, then drop the object's kernel state. The data_return
 * messages are allocated here, at munmap, for as many pages as are dirty:
 * when that fails, the pages not returned stay in the cache and the object
 * keeps its state; a worker retries (holding a reference) until the memory
 * is there. Nothing is lost and nothing is forced with __GFP_NOFAIL.
 */
static void mp_object_terminate_locked(struct mp_object *obj)
{
	int err = 0;

	if (obj->copy_strategy != MEMPAGER_COPY_TEMPORARY)
		err = mp_return_range_locked(obj, 0, obj->npages,
					     MEMPAGER_RETURN_ALL, true,
					     MEMPAGER_PROT_NO_CHANGE,
					     GFP_KERNEL);
	if (err == -ENOMEM) {
		mp_object_get(obj);
		if (!queue_delayed_work(system_unbound_wq, &obj->term_retry,
					MP_TERMINATE_RETRY_DELAY))
			mp_object_put(obj);
		return;
	}
	/* Any other error is a dead manager: nothing to return to. */
	mp_send_terminate_locked(obj);
	mp_object_reset_locked(obj);
}

static void mp_object_terminate_retry(struct work_struct *work)
{
	struct mp_object *obj = container_of(to_delayed_work(work),
					     struct mp_object, term_retry);
	bool forget = false;

	mutex_lock(&obj->mutex);
	/* Mapped again, made cacheable or dead since: not due any more. */
	if (mp_object_terminate_due_locked(obj)) {
		mp_object_terminate_locked(obj);
		forget = obj->state == MP_IDLE && mp_object_mapped_once(obj);
	}
	mutex_unlock(&obj->mutex);
	if (forget)
		mp_object_forget(obj);
	mp_object_put(obj);
}

/**
 * mp_object_set_attributes() - memory_object_ready / change_attributes
 * @obj: the object
 * @control: the control the manager answers for
 * @may_cache: 0 or 1
 * @copy_strategy: MEMPAGER_COPY_*
 * @reply: send MEMPAGER_MSG_CHANGE_COMPLETED
 *
 * Makes the object ready and wakes the faults waiting for it. Turning
 * caching off on an object that is no longer mapped terminates it before the
 * change_completed message.
 *
 * Return: 0, -EINVAL, -EOPNOTSUPP, -ENOENT or -ENOMEM; nothing changes on
 * error.
 */
int mp_object_set_attributes(struct mp_object *obj, u64 control,
			     u32 may_cache, u32 copy_strategy, bool reply)
{
	struct mempager_msg msg;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_CHANGE_COMPLETED);
	msg.change.may_cache = may_cache;
	msg.change.copy_strategy = copy_strategy;

	if (may_cache > 1)
		return -EINVAL;
	if (copy_strategy > MEMPAGER_COPY_TEMPORARY)
		return -EOPNOTSUPP;
	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, control);
	if (err)
		goto out_unlock;
	obj->may_cache = may_cache;
	obj->copy_strategy = copy_strategy;
	obj->state = MP_READY;
	mp_object_bump_locked(obj);
	if (!may_cache && !obj->nr_maps)
		mp_object_terminate_locked(obj);
	if (reply) {
		msg.control = control;
		err = mp_post_locked(obj, &msg);
		if (err == -EPIPE)
			err = 0;
	}
out_unlock:
	mutex_unlock(&obj->mutex);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_set_attributes);

/**
 * mp_object_get_attributes() - memory_object_get_attributes
 * @obj: the object, its control already checked by the caller under @mutex
 * @attr: receives out_ready, may_cache and copy_strategy
 */
void mp_object_get_attributes(struct mp_object *obj,
			      struct mempager_attributes *attr)
{
	lockdep_assert_held(&obj->mutex);
	attr->out_ready = obj->state == MP_READY;
	attr->may_cache = obj->may_cache;
	attr->copy_strategy = obj->copy_strategy;
}

/**
 * mp_object_destroy() - memory_object_destroy
 * @obj: the object
 * @control: the control the manager names
 *
 * Sends terminate, returns no data, and fails the faults that wait. While
 * mapped, resident pages stay readable and other faults fail; the object
 * becomes idle at its last unmap.
 *
 * Return: 0 or -ENOENT.
 */
int mp_object_destroy(struct mp_object *obj, u64 control)
{
	int err;

	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, control);
	if (err)
		goto out_unlock;
	mp_send_terminate_locked(obj);
	if (obj->nr_maps) {
		obj->state = MP_DESTROYED;
		mp_fail_requests_locked(obj);
		mp_object_bump_locked(obj);
	} else {
		mp_object_reset_locked(obj);
	}
out_unlock:
	mutex_unlock(&obj->mutex);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_destroy);

/**
 * mp_object_manager_died() - the object's manager fd was closed
 * @obj: the object
 */
void mp_object_manager_died(struct mp_object *obj)
{
	mutex_lock(&obj->mutex);
	obj->state = MP_DEAD;
	mp_fail_requests_locked(obj);
	if (!obj->nr_maps)
		mp_cache_drop_all_locked(obj);
	mp_object_bump_locked(obj);
	mutex_unlock(&obj->mutex);
}

/**
 * mp_object_map_locked() - a new mapping of the object
 * @obj: the object, its mutex held
 *
 * The first mapping of an object with no kernel state sends init with a new
 * control.
 *
 * Return: 0, -ENXIO for an object destroyed or whose manager is dead, or
 * -ENOMEM.
 */
int mp_object_map_locked(struct mp_object *obj)
{
	struct mempager_msg msg;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_INIT);
	msg.init.page_size = PAGE_SIZE;

	lockdep_assert_held(&obj->mutex);
	if (obj->state == MP_DEAD || obj->state == MP_DESTROYED)
		return -ENXIO;
	if (obj->state == MP_IDLE) {
		if (!obj->term_msg) {
			obj->term_msg = mp_msg_alloc(0, GFP_KERNEL);
			if (!obj->term_msg)
				return -ENOMEM;
		}
		obj->control = mp_new_control();
		msg.init.name = obj->name;
		err = mp_post_locked(obj, &msg);
		if (err) {
			obj->control = 0;
			return err == -EPIPE ? -ENXIO : err;
		}
		obj->state = MP_INIT_SENT;
		obj->stats.inits++;
	}
	obj->nr_maps++;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_map_locked);

/**
 * mp_object_forget() - take an object out of its manager's handle table
 * @obj: the object; the caller holds a reference of its own
 *
 * The handle becomes stale (ENOENT).
 */
void mp_object_forget(struct mp_object *obj)
{
	if (xa_erase(&obj->mgr->objects, obj->handle) == obj)
		mp_object_put(obj);
}

/**
 * mp_object_unmap() - a mapping of the object went away
 * @obj: the object
 *
 * At the last unmap an object that may not be cached is terminated; a
 * destroyed one drops what it kept for its mappings.
 */
void mp_object_unmap(struct mp_object *obj)
{
	bool last, forget;

	mutex_lock(&obj->mutex);
	last = !--obj->nr_maps;
	if (last && obj->mgr) {
		if (obj->state == MP_DESTROYED)
			mp_object_reset_locked(obj);
		else if (mp_object_terminate_due_locked(obj))
			mp_object_terminate_locked(obj);
		else if (obj->state == MP_DEAD)
			mp_cache_drop_all_locked(obj);
	}
	/*
	 * Temporary memory and copies are mapped once: with the mapping gone
	 * they need no original and no handle (the manager had terminate; a
	 * terminate retried for want of memory forgets the handle when done).
	 * Decided under the mutex: temporary memory is attached to the
	 * default manager under it, and never once nothing maps it.
	 */
	forget = last && obj->mgr && mp_object_mapped_once(obj) &&
		 !mp_object_terminate_due_locked(obj);
	mutex_unlock(&obj->mutex);
	if (!last)
		return;
	if (obj->src)
		mp_copy_detach(obj);
	if (forget)
		mp_object_forget(obj);
}
EXPORT_SYMBOL_IF_KUNIT(mp_object_unmap);

/**
 * mp_objects_exit() - module unload: every object is gone by now
 *
 * Object files pin the module, so no object outlives it. Files whose last
 * reference went with a delayed fput are released before the unmount.
 */
void mp_objects_exit(void)
{
	WARN_ON(!xa_empty(&mp_names));
	rcu_barrier();	/* mp_fs_free_inode() of the last objects */
	kern_unmount(mp_mnt);
}
