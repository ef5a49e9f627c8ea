// SPDX-License-Identifier: GPL-2.0
/*
 * Copy strategies: what a MAP_PRIVATE mapping of a managed object (Mach's
 * vm_map with copy) sees.
 *
 * A private mapping maps a copy object made at mmap time. Writes to it go
 * to anonymous pages the core makes (private COW), so the copy only has to
 * provide what the original held at the moment of the copy:
 *
 *  - DELAY (and TEMPORARY, and NONE, and an object not yet ready): the copy
 *    is a kernel object with no manager. A page it does not hold is read
 *    from the original. Before a page of the original changes (a write
 *    through a shared mapping, or the page leaving the cache: flush,
 *    eviction) its contents are pushed into every copy that does not hold
 *    its own version yet, and the copies' mappings of the original's page
 *    are zapped. Every copy is therefore a true snapshot of its moment.
 *  - NONE copies eagerly: at mmap the resident pages are copied and every
 *    missing one is requested at once.
 *  - CALL: the copy is a new object of the same manager, which gets
 *    memory_object_copy and then init for it, and serves it; data_unavailable
 *    on it means "use the original's page" (a shadow entry), copied then.
 *    The original's resident pages become write-locked, so the manager hears
 *    (data_unlock) before the original changes.
 *
 * A copy counts as a mapping of its original, which keeps the original's
 * kernel state (and manager link) alive while the copy needs it.
 *
 * Locking overview: the original's mutex, then a copy's mutex
 * (mutex_lock_nested(SINGLE_DEPTH_NESTING): one lock class), then the page
 * lock of the original's page, then i_mmap_rwsem in unmap_mapping_range().
 * The original's page is locked while pushing so that a fault installing it
 * in a copy's page table (it holds that page lock) is zapped, not missed.
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

/**
 * mp_shadow_entry() - the entry meaning "use the original's page"
 *
 * Return: the tagged entry.
 */
void *mp_shadow_entry(void)
{
	return xa_mk_value(MP_ENTRY_SHADOW);
}
EXPORT_SYMBOL_IF_KUNIT(mp_shadow_entry);

/**
 * mp_entry_is_shadow() - is this page cache entry a shadow entry?
 * @entry: an entry of mp_object.pages
 *
 * Return: true for the entry of mp_shadow_entry().
 */
bool mp_entry_is_shadow(void *entry)
{
	return xa_is_value(entry) && (xa_to_value(entry) & MP_ENTRY_SHADOW);
}
EXPORT_SYMBOL_IF_KUNIT(mp_entry_is_shadow);

/* memory_object_copy to the original's manager (COPY_CALL). */
static int mp_copy_call_locked(struct mp_object *src, struct mp_object *copy,
			       pgoff_t first, pgoff_t count)
{
	struct mempager_msg msg;
	unsigned long pgoff;
	void *entry;

	mp_msg_init(&msg, MEMPAGER_MSG_COPY);
	msg.copy.offset = (u64)first << PAGE_SHIFT;
	msg.copy.length = (u64)count << PAGE_SHIFT;
	msg.copy.new_object = copy->handle;
	msg.copy.new_name = copy->name;

	/* Writes to the original now ask the manager first. */
	xa_for_each_range(&src->pages, pgoff, entry, first, first + count - 1) {
		struct page *page;

		if (!mp_entry_is_page(entry))
			continue;
		page = mp_cache_get(src, pgoff);
		if (WARN_ON_ONCE(!page))
			continue;
		lock_page(page);
		mp_page_set_bits(src, pgoff, page, MEMPAGER_PROT_WRITE,
				 MEMPAGER_PROT_WRITE);
		unlock_page(page);
		put_page(page);
	}
	return mp_post_locked(src, &msg);
}

/*
 * COPY_NONE: copy the resident pages now, ask for the missing ones. What it
 * costs is what the range holds plus the requests it may send, not the
 * range's length; it runs with mmap_lock held for writing, so copying many
 * pages stops for a fatal signal (-EINTR).
 */
static int mp_copy_eager_locked(struct mp_object *src, struct mp_object *copy,
				pgoff_t first, pgoff_t count)
{
	unsigned int max = READ_ONCE(mp_max_outstanding);
	struct page *page, *orig;
	unsigned long pgoff;
	pgoff_t end;
	void *entry;
	int err;

	if (first >= src->npages)
		return 0;
	end = first + min_t(pgoff_t, count, src->npages - first);
	xa_for_each_range(&src->pages, pgoff, entry, first, end - 1) {
		if (!mp_entry_is_page(entry))
			continue;
		if (fatal_signal_pending(current))
			return -EINTR;
		orig = mp_cache_get(src, pgoff);
		if (WARN_ON_ONCE(!orig))
			continue;
		page = mp_page_copy(orig, GFP_KERNEL);
		put_page(orig);
		if (!page)
			return -ENOMEM;
		mutex_lock_nested(&copy->mutex, SINGLE_DEPTH_NESTING);
		err = mp_cache_store_locked(copy, pgoff - first, page, 0);
		mutex_unlock(&copy->mutex);
		if (err) {
			put_page(page);
			return err;
		}
		cond_resched();
	}
	/*
	 * The missing pages, in order, while request slots are free: the
	 * entries skipped on the way are present ones.
	 */
	for (pgoff = first; pgoff < end && src->outstanding < max; pgoff++) {
		struct mp_request *req;

		if (xa_load(&src->pages, pgoff))
			continue;
		req = mp_request_send_locked(src, pgoff, false);
		if (IS_ERR(req))
			return PTR_ERR(req);
		cond_resched();
	}
	return 0;
}

/**
 * mp_copy_create() - the copy a MAP_PRIVATE mapping maps
 * @src: a managed object
 * @first: first page of @src copied
 * @count: pages
 *
 * Return: the copy with a reference, or an ERR_PTR: -ENXIO when @src is
 * destroyed or its manager is dead, -ENOMEM, -EINTR when a fatal signal
 * stopped a COPY_NONE copy.
 */
struct mp_object *mp_copy_create(struct mp_object *src, pgoff_t first,
				 pgoff_t count)
{
	struct mp_object *copy;
	bool call;
	int err;

	mutex_lock(&src->mutex);
	err = mp_object_map_locked(src);
	if (err)
		goto out_unlock;
	call = src->state == MP_READY &&
	       src->copy_strategy == MEMPAGER_COPY_CALL;
	copy = mp_object_create(call ? src->mgr : NULL,
				(u64)count << PAGE_SHIFT, src->mode, NULL);
	if (IS_ERR(copy)) {
		err = PTR_ERR(copy);
		goto out_unmap;
	}
	mp_object_get(src);
	copy->src = src;
	copy->src_off = first;
	list_add(&copy->copy_node, &src->copies);
	/* The original's next writes must go through page_mkwrite. */
	mp_zap_range(src, first, count);

	if (call)
		err = mp_copy_call_locked(src, copy, first, count);
	else if (src->state == MP_READY &&
		 src->copy_strategy == MEMPAGER_COPY_NONE)
		err = mp_copy_eager_locked(src, copy, first, count);
	mutex_unlock(&src->mutex);
	if (err) {
		/*
		 * The manager never heard of the copy; when it is dying, its
		 * close may have walked past the handle already.
		 */
		if (copy->mgr)
			mp_object_forget(copy);
		mp_copy_detach(copy);
		mp_object_put(copy);
		return ERR_PTR(err == -EPIPE ? -ENXIO : err);
	}
	return copy;

out_unmap:
	mutex_unlock(&src->mutex);
	mp_object_unmap(src);
	return ERR_PTR(err);
out_unlock:
	mutex_unlock(&src->mutex);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_IF_KUNIT(mp_copy_create);

/**
 * mp_copy_detach() - a copy no longer reads from its original
 * @copy: a copy whose last mapping is gone (or that never got one)
 *
 * Drops the copy's mapping of the original and its reference.
 */
void mp_copy_detach(struct mp_object *copy)
{
	struct mp_object *src = copy->src;

	if (!src)
		return;
	mutex_lock(&src->mutex);
	list_del(&copy->copy_node);
	mutex_unlock(&src->mutex);
	copy->src = NULL;
	mp_object_unmap(src);
	mp_object_put(src);
}

/**
 * mp_copy_from_source() - does a fault on the copy read its original?
 * @copy: a copy (mp_object.src set)
 * @pgoff: the page, which the copy does not hold
 *
 * Return: true for a DELAY copy, and for a CALL copy whose manager said
 * "use the original's page". Checked again under the mutexes.
 */
bool mp_copy_from_source(struct mp_object *copy, pgoff_t pgoff)
{
	return !copy->mgr || mp_entry_is_shadow(xa_load(&copy->pages, pgoff));
}

/**
 * mp_copy_page_locked() - the page a fault on a copy maps
 * @src: the original, its mutex held
 * @page: the original's resident page, with a reference of the caller's,
 *	which this takes over
 * @copy: the copy
 * @cpgoff: the page in the copy
 *
 * Return: with a reference, the copy's own page when it has one (pushed, or
 * copied now for a CALL copy), else @page; ERR_PTR(-EAGAIN) when the copy's
 * manager now answers for the page itself, ERR_PTR(-ENOMEM).
 */
struct page *mp_copy_page_locked(struct mp_object *src, struct page *page,
				 struct mp_object *copy, pgoff_t cpgoff)
{
	struct page *own = NULL;
	void *entry;
	int err = 0;

	lockdep_assert_held(&src->mutex);
	mutex_lock_nested(&copy->mutex, SINGLE_DEPTH_NESTING);
	entry = xa_load(&copy->pages, cpgoff);
	if (!mp_entry_is_page(entry) && copy->mgr) {
		if (!mp_entry_is_shadow(entry)) {
			err = -EAGAIN;
			goto out_unlock;
		}
		own = mp_page_copy(page, GFP_KERNEL);
		err = own ? mp_cache_store_locked(copy, cpgoff, own, 0) : -ENOMEM;
		if (err) {
			if (own)
				put_page(own);
			goto out_unlock;
		}
		entry = xa_load(&copy->pages, cpgoff);
	}
	/* The mutex keeps the copy's page in its cache. */
	if (mp_entry_is_page(entry)) {
		own = mp_cache_get(copy, cpgoff);
		if (WARN_ON_ONCE(!own))
			err = -EAGAIN;
	}
out_unlock:
	mutex_unlock(&copy->mutex);
	if (err) {
		put_page(page);
		return ERR_PTR(err);
	}
	if (!own)
		return page;
	put_page(page);
	return own;
}

/**
 * mp_push_locked() - save a page of an original into its copies
 * @src: the original, its mutex held
 * @pgoff: the page, about to change or to leave the cache
 * @page: the page, locked by the caller
 * @gfp: for the page copies and the copies' page caches
 *
 * Every DELAY copy covering @pgoff that does not hold its own version gets
 * a copy of this one (a page is in one page cache only), and its mappings
 * of the original's page are zapped.
 *
 * Return: 0 or -ENOMEM (then the page must not change or leave).
 */
int mp_push_locked(struct mp_object *src, pgoff_t pgoff, struct page *page,
		   gfp_t gfp)
{
	struct mp_object *copy;
	struct page *data;
	int err = 0;

	lockdep_assert_held(&src->mutex);
	list_for_each_entry(copy, &src->copies, copy_node) {
		pgoff_t cpgoff = pgoff - copy->src_off;

		/* CALL copies are the manager's business (data_unlock). */
		if (copy->mgr || pgoff < copy->src_off ||
		    cpgoff >= copy->npages)
			continue;
		mutex_lock_nested(&copy->mutex, SINGLE_DEPTH_NESTING);
		if (!xa_load(&copy->pages, cpgoff)) {
			data = mp_page_copy(page, gfp);
			err = data ? mp_cache_store_locked(copy, cpgoff, data, 0) :
				     -ENOMEM;
			if (err && data)
				put_page(data);
			if (!err)
				mp_zap_range(copy, cpgoff, 1);
		}
		mutex_unlock(&copy->mutex);
		if (err)
			break;
	}
	return err;
}
