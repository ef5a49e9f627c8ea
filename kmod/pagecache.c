// SPDX-License-Identifier: GPL-2.0
/*
 * The per-object page cache: one set of pages per object, shared by every
 * mapping in every process, filled by data_supply / data_unavailable and
 * failed by data_error.
 *
 * The pages are folios in the page cache of the object's inode, so that the
 * core maps them itself (filemap_map_pages()) and fork copies no PTE of a
 * shared mapping. The mapping is unevictable: the shrinker and the
 * write-back worker (lock.c) still decide which pages leave. What Mach keeps
 * per page, and the outstanding requests, are in mp_object.pages (see
 * MP_ENTRY_SHADOW).
 *
 * Locking overview: writers of mp_object.pages and of the page cache hold
 * mp_object.mutex, then the page lock of the folio. Faults on resident
 * pages take no lock of ours. A page whose lock value forbids reading is
 * kept not uptodate, which hides it from filemap_map_pages(). Page data is
 * copied from the manager before the mutex is taken: copying may fault, and
 * the fault may be on a mempager mapping.
 */
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

/*
 * Pages copied from the manager per trip through the object mutex. A batch
 * becomes visible at once: a fault running ahead through a clustered
 * answer must not find the cluster's tail missing and ask for it again.
 */
#define MP_SUPPLY_BATCH 64

/**
 * mp_request_entry() - the request an xarray entry stands for
 * @entry: an entry of mp_object.pages
 *
 * Return: the request, or NULL for a page or an empty entry.
 */
struct mp_request *mp_request_entry(void *entry)
{
	if (!entry || xa_is_value(entry))
		return NULL;
	return entry;
}
EXPORT_SYMBOL_IF_KUNIT(mp_request_entry);

/**
 * mp_request_put() - drop a reference to a request
 * @req: the request
 */
void mp_request_put(struct mp_request *req)
{
	if (refcount_dec_and_test(&req->ref)) {
		mem_cgroup_put(req->memcg);
		kfree(req);
	}
}

/**
 * mp_request_complete_locked() - a request was answered or failed
 * @obj: the object, its mutex held
 * @req: the request, whose page cache entry is already replaced
 * @result: 1 when the page is now resident, -EIO when the faults fail
 *
 * Drops the page cache's reference and wakes the waiting faults. Only the
 * faults waiting for this request, or for a free request slot, stop
 * waiting: the others go back to sleep without retrying their fault.
 */
void mp_request_complete_locked(struct mp_object *obj,
				struct mp_request *req, int result)
{
	lockdep_assert_held(&obj->mutex);
	WRITE_ONCE(req->result, result);
	obj->outstanding--;
	mp_request_put(req);
	WRITE_ONCE(obj->completions, obj->completions + 1);
	wake_up_all(&obj->wait);
}

/**
 * mp_zero_page_alloc() - a zero-filled page for the cache
 *
 * Not charged: the page cache charges it when it becomes resident.
 *
 * Return: the page, or NULL.
 */
struct page *mp_zero_page_alloc(void)
{
	return alloc_page(GFP_HIGHUSER | __GFP_ZERO);
}
EXPORT_SYMBOL_IF_KUNIT(mp_zero_page_alloc);

/**
 * mp_mapping() - the page cache of an object
 * @obj: the object
 *
 * Return: its inode's address_space.
 */
struct address_space *mp_mapping(struct mp_object *obj)
{
	return obj->file->f_mapping;
}
EXPORT_SYMBOL_IF_KUNIT(mp_mapping);

/**
 * mp_cache_get() - look up a resident page without locks
 * @obj: the object
 * @pgoff: page offset in the object
 *
 * The page may be on its way in or out: lock it and check
 * mp_cache_holds() before trusting it.
 *
 * Return: the page with a new reference, or NULL when it is not resident.
 */
struct page *mp_cache_get(struct mp_object *obj, pgoff_t pgoff)
{
	return find_get_page(mp_mapping(obj), pgoff);
}
EXPORT_SYMBOL_IF_KUNIT(mp_cache_get);

/**
 * mp_cache_holds() - is @page the resident page @pgoff of @obj?
 * @obj: the object
 * @pgoff: page offset
 * @page: a page, locked, or with the object mutex held
 *
 * Return: true if the page is in the cache, at @pgoff.
 */
bool mp_cache_holds(struct mp_object *obj, pgoff_t pgoff, struct page *page)
{
	return page->mapping == mp_mapping(obj) && page->index == pgoff;
}
EXPORT_SYMBOL_IF_KUNIT(mp_cache_holds);

/**
 * mp_page_set_bits() - change the state of a resident page
 * @obj: the object, its mutex held
 * @pgoff: the page's offset
 * @page: the page, locked when the lock value changes
 * @mask: the bits to change
 * @bits: their new values
 *
 * A page whose lock value forbids reading is kept not uptodate:
 * filemap_map_pages() then leaves it to ->fault, which asks the manager.
 * (Nothing else acts on that here: the mapping is unevictable, and the
 * side table's reference keeps drop_caches away.)
 */
void mp_page_set_bits(struct mp_object *obj, pgoff_t pgoff,
		      struct page *page, unsigned long mask,
		      unsigned long bits)
{
	unsigned long state = mp_page_state(obj, pgoff);

	lockdep_assert_held(&obj->mutex);
	state = (state & ~mask) | bits;
	/* Replacing a present entry allocates nothing. */
	xa_store(&obj->pages, pgoff, xa_mk_value(state), GFP_NOWAIT);
	if (!(mask & MP_PAGE_LOCK_MASK))
		return;
	if (state & MEMPAGER_PROT_READ)
		ClearPageUptodate(page);
	else
		SetPageUptodate(page);
}
EXPORT_SYMBOL_IF_KUNIT(mp_page_set_bits);

/**
 * mp_check_range() - validate a manager's offset and length
 * @obj: the object
 * @offset: byte offset
 * @length: bytes
 *
 * Return: 0, -EINVAL for a length of 0 or values that are not page
 * multiples, -EOVERFLOW for a range that overflows or ends past the object.
 */
int mp_check_range(struct mp_object *obj, u64 offset, u64 length)
{
	u64 end;

	if (!length || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(offset, length, &end) ||
	    end > (u64)obj->npages << PAGE_SHIFT)
		return -EOVERFLOW;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mp_check_range);

/* Resident pages of all objects, for the shrinker's count. */
atomic_long_t mp_resident_total = ATOMIC_LONG_INIT(0);

/*
 * A page that was in a page cache, or that someone else holds (a copy
 * sharing it, a message), cannot be added to ours: it gets a copy, dirty
 * if the page is. The caller's reference stays the caller's.
 */
static struct page *mp_cache_page_for(struct page *page)
{
	struct page *copy;

	if (!PageLRU(page) && !page->mapping && page_count(page) == 1) {
		get_page(page);
		return page;
	}
	copy = alloc_page(GFP_HIGHUSER);
	if (!copy)
		return NULL;
	copy_highpage(copy, page);
	if (PageDirty(page))
		SetPageDirty(copy);
	return copy;
}

/**
 * mp_cache_store_locked() - make a page resident
 * @obj: the object, its mutex held
 * @pgoff: where; empty, a shadow or a request, which is answered
 * @page: the page; the cache takes over the caller's reference
 * @state: its Mach state (lock value, precious)
 *
 * The page is charged to the memory cgroup of the fault that asked for it,
 * or else to the caller's.
 *
 * Return: 0 or -ENOMEM (the caller keeps its reference then).
 */
int mp_cache_store_locked(struct mp_object *obj, pgoff_t pgoff,
			  struct page *page, unsigned long state)
{
	struct mem_cgroup *old_memcg;
	struct mp_request *req;
	struct page *cached;
	void *old;
	int err;

	lockdep_assert_held(&obj->mutex);
	cached = mp_cache_page_for(page);
	if (!cached)
		return -ENOMEM;
	old = xa_load(&obj->pages, pgoff);
	if (WARN_ON_ONCE(mp_entry_is_page(old))) {
		put_page(cached);
		return -EEXIST;
	}
	req = mp_request_entry(old);
	/* The entry goes first: a fault that finds the folio finds it. */
	err = xa_err(xa_store(&obj->pages, pgoff, xa_mk_value(state),
			      GFP_KERNEL_ACCOUNT));
	if (!err) {
		old_memcg = set_active_memcg(req ? req->memcg : NULL);
		err = filemap_add_folio(mp_mapping(obj), page_folio(cached),
					pgoff, GFP_KERNEL);
		set_active_memcg(old_memcg);
		if (err)
			xa_store(&obj->pages, pgoff, old, GFP_NOWAIT);
	}
	if (err) {
		put_page(cached);
		return err;
	}
	if (!(state & MEMPAGER_PROT_READ))
		SetPageUptodate(cached);
	unlock_page(cached);
	/* Ours stays: see mp_cache_remove_locked(). */
	put_page(page);
	obj->nr_resident++;
	atomic_long_inc(&mp_resident_total);
	if (obj->mgr || (obj->temporary && mp_default_registered()))
		mp_writeback_kick();
	if (req)
		mp_request_complete_locked(obj, req, 1);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mp_cache_store_locked);

/**
 * mp_cache_remove_locked() - take a resident page out of the cache
 * @obj: the object, its mutex held
 * @pgoff: a resident page's offset
 * @page: that page, locked, with a reference of the caller's, which stays
 *
 * The page is unmapped from every mapping of the object first.
 */
void mp_cache_remove_locked(struct mp_object *obj, pgoff_t pgoff,
			    struct page *page)
{
	lockdep_assert_held(&obj->mutex);
	xa_erase(&obj->pages, pgoff);
	WARN_ON_ONCE(mp_error_remove_folio(mp_mapping(obj), page_folio(page)));
	/*
	 * The reference mp_cache_store_locked() kept for the side table: with
	 * it, drop_caches (invalidate_mapping_pages()) and migration, which
	 * expect only the page cache's and the mappings', leave the page
	 * alone. Unevictable does not stop them, and only we may take a page
	 * out, or its Mach state would be lost.
	 */
	put_page(page);
	obj->nr_resident--;
	atomic_long_dec(&mp_resident_total);
}

static void mp_free_pages(struct page **pages, unsigned int n)
{
	while (n--)
		put_page(pages[n]);
}

static int mp_copy_in(struct page **pages, unsigned int n, u64 data)
{
	unsigned int i;
	void *dst;
	int left;

	for (i = 0; i < n; i++) {
		/* Charged when it becomes resident. */
		pages[i] = alloc_page(GFP_HIGHUSER);
		if (!pages[i]) {
			mp_free_pages(pages, i);
			return -ENOMEM;
		}
		dst = kmap_local_page(pages[i]);
		left = copy_from_user(dst, u64_to_user_ptr(data) +
				      (u64)i * PAGE_SIZE, PAGE_SIZE);
		kunmap_local(dst);
		if (left) {
			mp_free_pages(pages, i + 1);
			return -EFAULT;
		}
	}
	return 0;
}

/**
 * mp_data_supply() - memory_object_data_supply
 * @obj: the object
 * @ds: the call's arguments, flags already checked
 *
 * Installs the pages in order, requested or not, and stops at the first
 * page already present (reported as MEMPAGER_KERN_MEMORY_PRESENT in the
 * reply). Pages are copied in batches: on -EFAULT or -ENOMEM the batches
 * before the failing one stay installed.
 *
 * Return: 0, -ENOENT for a stale control, -EFAULT, -ENOMEM.
 */
int mp_data_supply(struct mp_object *obj, struct mempager_data_supply *ds)
{
	struct mempager_msg msg;
	struct page *pages[MP_SUPPLY_BATCH];
	pgoff_t first = ds->offset >> PAGE_SHIFT;
	pgoff_t count = ds->length >> PAGE_SHIFT;
	pgoff_t done = 0;
	unsigned int n, i;
	bool present = false;
	int err = 0;

	mp_msg_init(&msg, MEMPAGER_MSG_SUPPLY_COMPLETED);
	msg.supply.offset = ds->offset;
	msg.supply.length = ds->length;
	msg.supply.result = MEMPAGER_KERN_SUCCESS;

	while (done < count && !present) {
		n = min_t(pgoff_t, count - done, MP_SUPPLY_BATCH);
		err = mp_copy_in(pages, n, ds->data + (u64)done * PAGE_SIZE);
		if (err)
			return err;

		mutex_lock(&obj->mutex);
		err = mp_object_check_control(obj, ds->control);
		for (i = 0; i < n && !err; i++) {
			pgoff_t pgoff = first + done + i;

			if (mp_entry_is_page(xa_load(&obj->pages, pgoff))) {
				present = true;
				msg.supply.result = MEMPAGER_KERN_MEMORY_PRESENT;
				msg.supply.error_offset = (u64)pgoff << PAGE_SHIFT;
				obj->stats.present++;
				break;
			}
			err = obj->temporary ?
			      mp_known_mark(obj, pgoff, GFP_KERNEL) : 0;
			if (!err)
				err = mp_cache_store_locked(obj, pgoff, pages[i],
							    ds->lock_value |
							    (ds->flags &
							     MEMPAGER_SUPPLY_PRECIOUS ?
							     MP_PAGE_PRECIOUS : 0));
			if (err)
				break;
			obj->stats.supplied++;
		}
		if (!err && (present || done + n == count) &&
		    (ds->flags & MEMPAGER_REPLY)) {
			err = mp_post_locked(obj, &msg);
			if (err == -EPIPE)
				err = 0;
		}
		mutex_unlock(&obj->mutex);
		/* Pages not installed: after a present one, or on error. */
		mp_free_pages(pages + i, n - i);
		if (err)
			return err;
		done += n;
	}
	return 0;
}

/**
 * mp_data_unavailable() - memory_object_data_unavailable
 * @obj: the object, its mutex held and @control checked
 * @control: the caller's control, checked again after each allocation
 * @first: first page
 * @count: pages
 *
 * Zero-fills the pages that faults wait for (a CALL copy takes the
 * original's page instead); others are left alone. Pages
 * are allocated with the mutex dropped: reclaim may need the shrinker, which
 * needs the mutex.
 *
 * Return: 0, -ENOENT when the object terminated meanwhile, or -ENOMEM
 * (pages before the failing one are filled).
 */
int mp_data_unavailable(struct mp_object *obj, u64 control, pgoff_t first,
			pgoff_t count)
{
	unsigned long pgoff;
	struct page *page;
	void *entry;
	int err;

	lockdep_assert_held(&obj->mutex);
	/*
	 * Only what is present costs: each step finds the next entry with a
	 * fresh lookup from the next index (the mutex is dropped inside).
	 */
	for (pgoff = first; pgoff < first + count; pgoff++) {
		struct mp_request *req;

		entry = xa_find(&obj->pages, &pgoff, first + count - 1,
				XA_PRESENT);
		if (!entry)
			break;
		req = mp_request_entry(entry);
		cond_resched();
		if (!req)
			continue;
		if (obj->src) {
			/* A CALL copy: "use the original's page". */
			err = xa_err(xa_store(&obj->pages, pgoff,
					      mp_shadow_entry(),
					      GFP_KERNEL_ACCOUNT));
			if (err)
				return err;
			mp_request_complete_locked(obj, req, 1);
			continue;
		}
		mutex_unlock(&obj->mutex);
		page = mp_zero_page_alloc();
		mutex_lock(&obj->mutex);
		if (!page)
			return -ENOMEM;
		err = mp_object_check_control(obj, control);
		if (!err && !mp_request_entry(xa_load(&obj->pages, pgoff)))
			err = 1;	/* answered meanwhile */
		if (!err)
			err = mp_cache_store_locked(obj, pgoff, page, 0);
		if (err) {
			put_page(page);
			if (err < 0)
				return err;
			continue;
		}
		obj->stats.unavailable++;
	}
	return 0;
}

/**
 * mp_data_error() - memory_object_data_error
 * @obj: the object, its mutex held and control checked
 * @first: first page
 * @count: pages
 *
 * Fails the faults waiting on the pages (SIGBUS); the pages stay absent so
 * that the next access asks again. Pages nobody waits for are left alone.
 *
 * Return: 0.
 */
int mp_data_error(struct mp_object *obj, pgoff_t first, pgoff_t count)
{
	struct mp_request *req;
	unsigned long pgoff;
	void *entry;

	lockdep_assert_held(&obj->mutex);
	/* As in mp_data_unavailable(): only what is present costs. */
	for (pgoff = first; pgoff < first + count; pgoff++) {
		entry = xa_find(&obj->pages, &pgoff, first + count - 1,
				XA_PRESENT);
		if (!entry)
			break;
		cond_resched();
		req = mp_request_entry(entry);
		if (!req)
			continue;
		xa_erase(&obj->pages, pgoff);
		mp_request_complete_locked(obj, req, -EIO);
		obj->stats.errors++;
	}
	return 0;
}

/**
 * mp_fail_requests_locked() - fail every outstanding request of an object
 * @obj: the object, its mutex held
 */
void mp_fail_requests_locked(struct mp_object *obj)
{
	unsigned long pgoff;
	void *entry;

	lockdep_assert_held(&obj->mutex);
	xa_for_each(&obj->pages, pgoff, entry) {
		struct mp_request *req = mp_request_entry(entry);

		if (!req)
			continue;
		xa_erase(&obj->pages, pgoff);
		mp_request_complete_locked(obj, req, -EIO);
	}
}

/**
 * mp_cache_drop_all_locked() - drop every resident page of an object
 * @obj: the object, its mutex held, no request outstanding
 *
 * Mapped pages live on until their mappings go away.
 */
void mp_cache_drop_all_locked(struct mp_object *obj)
{
	unsigned long pgoff;
	struct page *page;
	void *entry;

	lockdep_assert_held(&obj->mutex);
	xa_for_each(&obj->pages, pgoff, entry) {
		if (WARN_ON_ONCE(mp_request_entry(entry)))
			continue;
		if (!mp_entry_is_page(entry)) {
			xa_erase(&obj->pages, pgoff);
			continue;
		}
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page)) {
			xa_erase(&obj->pages, pgoff);
			continue;
		}
		lock_page(page);
		mp_cache_remove_locked(obj, pgoff, page);
		unlock_page(page);
		put_page(page);
	}
}
