// SPDX-License-Identifier: GPL-2.0
/*
 * The per-object page cache: one set of pages per object, shared by every
 * mapping in every process, filled by data_supply / data_unavailable and
 * failed by data_error.
 *
 * An entry of mp_object.pages is either a resident struct page (holding a
 * page reference) or, while a data_request is outstanding for the offset,
 * a struct mp_request tagged with MP_REQUEST_TAG.
 *
 * Locking overview: writers of mp_object.pages hold mp_object.mutex (the
 * xarray's own lock nests inside it). mp_cache_get() reads under RCU only,
 * so faults on resident pages take no lock of ours. Page data is copied from
 * the manager before the mutex is taken: copying may fault, and the fault
 * may be on a mempager mapping.
 */
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

#define MP_REQUEST_TAG 1
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
	if (xa_pointer_tag(entry) != MP_REQUEST_TAG)
		return NULL;
	return xa_untag_pointer(entry);
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

/*
 * Another reference to a cgroup the caller holds one to. Without
 * CONFIG_MEMCG struct mem_cgroup is opaque and there is nothing to count
 * (mem_cgroup_put() is a stub then; 6.1 has no mem_cgroup_tryget()).
 */
static struct mem_cgroup *mp_mem_cgroup_get(struct mem_cgroup *memcg)
{
#ifdef CONFIG_MEMCG
	css_get(&memcg->css);
#endif
	return memcg;
}

/**
 * mp_request_memcg_locked() - the cgroup a page's answer is charged to
 * @obj: the object, its mutex held
 * @pgoff: the page
 *
 * Pages answering a fault are charged to the faulting task's memory
 * cgroup, not to the manager's that allocates them.
 *
 * Return: that cgroup with a reference (mem_cgroup_put() it), or NULL when
 * no fault waits for the page: the caller's own cgroup pays then.
 */
struct mem_cgroup *mp_request_memcg_locked(struct mp_object *obj,
					   pgoff_t pgoff)
{
	struct mp_request *req = mp_request_entry(xa_load(&obj->pages, pgoff));

	lockdep_assert_held(&obj->mutex);
	if (!req || !req->memcg)
		return NULL;
	return mp_mem_cgroup_get(req->memcg);
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
 * mp_zero_page_alloc() - a zero-filled page charged to the caller's cgroup
 *
 * Return: the page, or NULL.
 */
struct page *mp_zero_page_alloc(void)
{
	return alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(mp_zero_page_alloc);

/**
 * mp_cache_get() - look up a resident page without locks
 * @obj: the object
 * @pgoff: page offset in the object
 *
 * Return: the page with a new reference, or NULL when it is not resident.
 */
struct page *mp_cache_get(struct mp_object *obj, pgoff_t pgoff)
{
	struct page *page;
	void *entry;

	rcu_read_lock();
	for (;;) {
		entry = xa_load(&obj->pages, pgoff);
		if (!entry || xa_pointer_tag(entry)) {
			page = NULL;
			break;
		}
		page = entry;
		if (!get_page_unless_zero(page))
			continue;
		/* The page may have been freed and reused before the get. */
		if (likely(xa_load(&obj->pages, pgoff) == page))
			break;
		put_page(page);
	}
	rcu_read_unlock();
	return page;
}
EXPORT_SYMBOL_IF_KUNIT(mp_cache_get);

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

/**
 * mp_cache_store_locked() - make a page resident
 * @obj: the object, its mutex held
 * @pgoff: where; empty or holding a request, which is answered
 * @page: the page; the cache takes over the caller's reference
 *
 * Return: 0 or -ENOMEM (the caller keeps its reference then).
 */
int mp_cache_store_locked(struct mp_object *obj, pgoff_t pgoff,
			  struct page *page)
{
	struct mp_request *req;
	void *old;

	lockdep_assert_held(&obj->mutex);
	old = xa_store(&obj->pages, pgoff, page, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old))
		return xa_err(old);
	obj->nr_resident++;
	atomic_long_inc(&mp_resident_total);
	if (obj->mgr || (obj->temporary && mp_default_registered()))
		mp_writeback_kick();
	req = mp_request_entry(old);
	if (req)
		mp_request_complete_locked(obj, req, 1);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mp_cache_store_locked);

/**
 * mp_cache_remove_locked() - take a resident page out of the cache
 * @obj: the object, its mutex held
 * @pgoff: a resident page's offset
 *
 * Return: the page; the caller owns the cache's reference.
 */
struct page *mp_cache_remove_locked(struct mp_object *obj, pgoff_t pgoff)
{
	struct page *page = xa_erase(&obj->pages, pgoff);

	lockdep_assert_held(&obj->mutex);
	obj->nr_resident--;
	atomic_long_dec(&mp_resident_total);
	return page;
}

static void mp_free_pages(struct page **pages, unsigned int n)
{
	while (n--)
		put_page(pages[n]);
}

static int mp_copy_in(struct page **pages, unsigned int n, u64 data,
		      struct mem_cgroup *memcg)
{
	struct mem_cgroup *old = set_active_memcg(memcg);
	unsigned int i;
	void *dst;
	int left;

	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT);
		if (!pages[i]) {
			mp_free_pages(pages, i);
			set_active_memcg(old);
			return -ENOMEM;
		}
		dst = kmap_local_page(pages[i]);
		left = copy_from_user(dst, u64_to_user_ptr(data) +
				      (u64)i * PAGE_SIZE, PAGE_SIZE);
		kunmap_local(dst);
		if (left) {
			mp_free_pages(pages, i + 1);
			set_active_memcg(old);
			return -EFAULT;
		}
	}
	set_active_memcg(old);
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
	struct mem_cgroup *memcg;
	pgoff_t done = 0;
	unsigned int n, i;
	bool present = false;
	int err = 0;

	mp_msg_init(&msg, MEMPAGER_MSG_SUPPLY_COMPLETED);
	msg.supply.offset = ds->offset;
	msg.supply.length = ds->length;
	msg.supply.result = MEMPAGER_KERN_SUCCESS;

	/* A batch is charged to whoever faulted on its first page. */
	mutex_lock(&obj->mutex);
	memcg = mp_request_memcg_locked(obj, first);
	mutex_unlock(&obj->mutex);
	while (done < count && !present) {
		n = min_t(pgoff_t, count - done, MP_SUPPLY_BATCH);
		err = mp_copy_in(pages, n, ds->data + (u64)done * PAGE_SIZE,
				 memcg);
		mem_cgroup_put(memcg);
		memcg = NULL;
		if (err)
			return err;

		mutex_lock(&obj->mutex);
		err = mp_object_check_control(obj, ds->control);
		for (i = 0; i < n && !err; i++) {
			pgoff_t pgoff = first + done + i;
			void *entry = xa_load(&obj->pages, pgoff);

			if (entry && !xa_pointer_tag(entry)) {
				present = true;
				msg.supply.result = MEMPAGER_KERN_MEMORY_PRESENT;
				msg.supply.error_offset = (u64)pgoff << PAGE_SHIFT;
				obj->stats.present++;
				break;
			}
			set_page_private(pages[i], ds->lock_value |
					 (ds->flags & MEMPAGER_SUPPLY_PRECIOUS ?
					  MP_PAGE_PRECIOUS : 0));
			err = obj->temporary ?
			      mp_known_mark(obj, pgoff, GFP_KERNEL) : 0;
			if (!err)
				err = mp_cache_store_locked(obj, pgoff,
							    pages[i]);
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
		if (!err && !present && done + n < count)
			memcg = mp_request_memcg_locked(obj, first + done + n);
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
	struct mem_cgroup *memcg, *old_memcg;
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
		memcg = mp_request_memcg_locked(obj, pgoff);
		mutex_unlock(&obj->mutex);
		old_memcg = set_active_memcg(memcg);
		page = mp_zero_page_alloc();
		set_active_memcg(old_memcg);
		mem_cgroup_put(memcg);
		mutex_lock(&obj->mutex);
		if (!page)
			return -ENOMEM;
		err = mp_object_check_control(obj, control);
		if (!err && !mp_request_entry(xa_load(&obj->pages, pgoff)))
			err = 1;	/* answered meanwhile */
		if (!err)
			err = mp_cache_store_locked(obj, pgoff, page);
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
	void *entry;

	lockdep_assert_held(&obj->mutex);
	xa_for_each(&obj->pages, pgoff, entry) {
		struct page *page = entry;

		if (mp_entry_is_shadow(entry)) {
			xa_erase(&obj->pages, pgoff);
			continue;
		}
		if (WARN_ON_ONCE(xa_pointer_tag(entry)))
			continue;
		page = mp_cache_remove_locked(obj, pgoff);
		set_page_private(page, 0);
		put_page(page);
	}
}

