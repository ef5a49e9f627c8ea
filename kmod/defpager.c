// SPDX-License-Identifier: GPL-2.0
/*
 * The default memory manager link: registration
 * (host_default_memory_manager) and temporary memory handed to it.
 *
 * Temporary memory (an mmap of /dev/mempager with no object bound) is
 * zero-filled by the kernel and has no manager. The first time such an
 * object must give up pages (the shrinker or the write-back worker), it is
 * attached to the default manager of the moment: memory_object_create gives
 * it a handle and a control there, and from then on it is an ordinary
 * managed object: written pages the manager never had go out with
 * data_initialize, later ones with data_return, and faults on pages not
 * resident send data_request. With no default manager registered,
 * temporary memory stays resident. Private copies (copy.c) are never
 * attached: their pages stay resident.
 *
 * Locking overview: mp_default_lock (a spinlock) protects mp_default_mgr;
 * it is taken inside the object mutex when attaching and never held while
 * calling out. An object's "known" xarray is written under its mutex.
 */
#include <linux/spinlock.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

static DEFINE_SPINLOCK(mp_default_lock);
static struct mp_manager *mp_default_mgr;

/**
 * mp_default_set() - make a manager the default memory manager
 * @mgr: the manager of the caller's fd
 *
 * The previous one is sent nothing more; the objects it backs stay with it.
 *
 * The caller checked that the fd's opener has CAP_SYS_ADMIN.
 *
 * Return: 0.
 */
int mp_default_set(struct mp_manager *mgr)
{
	struct mp_manager *old;

	kref_get(&mgr->ref);
	spin_lock(&mp_default_lock);
	old = mp_default_mgr;
	mp_default_mgr = mgr;
	spin_unlock(&mp_default_lock);
	if (old)
		mp_manager_put(old);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mp_default_set);

/**
 * mp_default_clear() - a manager fd is closing: unregister it if default
 * @mgr: the manager
 */
void mp_default_clear(struct mp_manager *mgr)
{
	bool was;

	spin_lock(&mp_default_lock);
	was = mp_default_mgr == mgr;
	if (was)
		mp_default_mgr = NULL;
	spin_unlock(&mp_default_lock);
	if (was)
		mp_manager_put(mgr);
}

/**
 * mp_default_registered() - is there a default memory manager?
 *
 * Return: true when one is registered (a hint: it may go any time).
 */
bool mp_default_registered(void)
{
	return READ_ONCE(mp_default_mgr);
}

static struct mp_manager *mp_default_get(void)
{
	struct mp_manager *mgr;

	spin_lock(&mp_default_lock);
	mgr = mp_default_mgr;
	if (mgr)
		kref_get(&mgr->ref);
	spin_unlock(&mp_default_lock);
	return mgr;
}

/**
 * mp_temp_attach_locked() - give temporary memory to the default manager
 * @obj: a temporary object without a manager, its mutex held
 * @gfp: allocation flags (GFP_NOWAIT from reclaim)
 *
 * Sends memory_object_create; the object is ready at once. An object that
 * nothing maps any more is never attached.
 *
 * Return: 0, -ENOENT when nothing maps it, -ENODEV without a default
 * manager, -ENOMEM, or -EPIPE when it just died.
 */
int mp_temp_attach_locked(struct mp_object *obj, gfp_t gfp)
{
	struct mp_manager *mgr;
	struct mp_msg_entry *e;
	u32 handle;
	int err;

	lockdep_assert_held(&obj->mutex);
	/*
	 * Nothing maps it any more (the shrinker's reference outlived the
	 * last munmap): it is going away, and its last unmap has decided, under
	 * the mutex, that it has no handle to forget.
	 */
	if (!obj->nr_maps)
		return -ENOENT;
	mgr = mp_default_get();
	if (!mgr)
		return -ENODEV;
	e = mp_msg_alloc(0, gfp);
	err = -ENOMEM;
	if (!e)
		goto out_put;
	if (!obj->term_msg)
		obj->term_msg = mp_msg_alloc(0, gfp);
	if (!obj->term_msg) {
		mp_msg_free(e);
		goto out_put;
	}
	err = xa_alloc(&mgr->objects, &handle, obj, xa_limit_31b,
		       gfp | __GFP_ACCOUNT);
	if (err) {
		mp_msg_free(e);
		goto out_put;
	}
	/* The handle table's reference; the manager reference is ours. */
	mp_object_get(obj);
	obj->mgr = mgr;
	obj->handle = handle;
	obj->control = mp_new_control();
	e->msg.type = MEMPAGER_MSG_CREATE;
	e->msg.create.size = (u64)obj->npages << PAGE_SHIFT;
	e->msg.create.name = obj->name;
	e->msg.create.page_size = PAGE_SIZE;
	err = mp_msg_post_locked(obj, e);
	if (err) {
		/* It died meanwhile: stay temporary memory without a manager. */
		/* The table's reference; never the last: the caller has one. */
		if (xa_erase(&mgr->objects, handle) == obj)
			refcount_dec(&obj->ref.refcount);
		obj->mgr = NULL;
		obj->handle = 0;
		obj->control = 0;
		mp_manager_put(mgr);
	}
	return err;

out_put:
	mp_manager_put(mgr);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mp_temp_attach_locked);

/**
 * mp_known_mark() - the default manager holds this page of a temporary object
 * @obj: the object, its mutex held
 * @pgoff: the page
 * @gfp: allocation flags
 *
 * Return: 0 or -ENOMEM.
 */
int mp_known_mark(struct mp_object *obj, pgoff_t pgoff, gfp_t gfp)
{
	lockdep_assert_held(&obj->mutex);
	return xa_err(xa_store(&obj->known, pgoff, xa_mk_value(1),
			       gfp | __GFP_ACCOUNT));
}

/**
 * mp_known() - has the default manager had this page of a temporary object?
 * @obj: the object, its mutex held
 * @pgoff: the page
 *
 * Return: true when it was given (data_initialize) or supplied it.
 */
bool mp_known(struct mp_object *obj, pgoff_t pgoff)
{
	return xa_load(&obj->known, pgoff);
}
