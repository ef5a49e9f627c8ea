// SPDX-License-Identifier: GPL-2.0
/*
 * Locks, write-back and coherence: lock_request, write faults through
 * page_mkwrite, data_return, msync (synchronize) and the shrinker.
 *
 * Every write to a shared mapping goes through mp_page_mkwrite(), which marks
 * the page dirty under the object mutex and returns it locked, so the PTE is
 * made writable before anyone else can look at the page. To take access
 * away, lock_request changes a page's lock value under the page lock and
 * then zaps the range from every process's page tables
 * (unmap_mapping_range() on the object's own address_space); zapping moves
 * the PTE dirty bits to the page, and no page can become dirty again while
 * the object mutex is held.
 *
 * Locking overview, in order: mp_object.mutex, then the page lock of one
 * page at a time, then i_mmap_rwsem and the page table locks inside
 * unmap_mapping_range(). The shrinker only trylocks the object mutex and
 * never waits for user space; the write-back worker takes it normally.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/workqueue.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"

/* Pages in one data_return message at most (64 KiB with 4 KiB pages). */
#define MP_RETURN_MAX 16

/**
 * struct mp_sync - an msync(2) waiting for synchronize_completed
 * @node: in mp_object.syncs
 * @offset: the range's offset, echoed by the manager
 * @length: the range's length, echoed by the manager
 * @done: the manager answered
 */
struct mp_sync {
	struct list_head node;
	u64 offset;
	u64 length;
	bool done;
};

/* A data_return under construction: contiguous pages, one dirty state. */
struct mp_return {
	struct mp_msg_entry *e;
	pgoff_t next;		/* the page that would extend it */
	/* The Mach state of each page of @e, should it come back. */
	unsigned long state[MP_RETURN_MAX];
};

/*
 * A return's page that was the cache's own could not be handed over (the
 * manager is dead): it goes back into the cache rather than being freed,
 * as a dead manager's resident pages stay readable, with its old state.
 * @page is a reference of the caller's, consumed.
 */
static void mp_return_undo_locked(struct mp_object *obj, pgoff_t pgoff,
				  struct page *page, bool dirty,
				  unsigned long state)
{
	if (dirty)
		SetPageDirty(page);
	/* It was in the cache: the cache takes a copy of it. */
	if (mp_cache_store_locked(obj, pgoff, page, state))
		put_page(page);
}

static int mp_return_flush(struct mp_object *obj, struct mp_return *r)
{
	struct mp_msg_entry *e = r->e;
	struct page *own[MP_RETURN_MAX];
	unsigned int i, n = 0, npages;
	pgoff_t first;
	bool dirty;
	int err;

	if (!e)
		return 0;
	r->e = NULL;
	npages = e->npages;
	first = e->msg.data_return.offset >> PAGE_SHIFT;
	dirty = e->msg.data_return.dirty;
	e->msg.data_return.length = (u64)npages << PAGE_SHIFT;
	/* Pages that left the cache: held until the manager has them. */
	if (!e->msg.data_return.kernel_copy)
		for (n = 0; n < npages; n++) {
			own[n] = e->pages[n];
			get_page(own[n]);
		}
	err = mp_msg_post_locked(obj, e);
	if (!err)
		obj->stats.returned += npages;
	for (i = 0; i < n; i++) {
		if (err == -EPIPE)
			mp_return_undo_locked(obj, first + i, own[i], dirty,
					      r->state[i]);
		else
			put_page(own[i]);
	}
	return err == -EPIPE ? 0 : err;
}

/*
 * Add @page (a reference the return takes over) at @pgoff to the return
 * being built, starting a new message when it does not extend it.
 */
static int mp_return_add(struct mp_object *obj, struct mp_return *r,
			 pgoff_t pgoff, struct page *page, bool dirty,
			 bool kernel_copy, unsigned long state, gfp_t gfp)
{
	struct mp_msg_entry *e = r->e;
	int err;

	/* The default manager's first copy of a page: data_initialize. */
	u32 type = obj->temporary && !mp_known(obj, pgoff) ?
		   MEMPAGER_MSG_DATA_INITIALIZE : MEMPAGER_MSG_DATA_RETURN;

	if (type == MEMPAGER_MSG_DATA_INITIALIZE) {
		err = mp_known_mark(obj, pgoff, gfp);
		if (err)
			return err;
	}
	if (e && (r->next != pgoff || e->msg.data_return.dirty != dirty ||
		  e->msg.data_return.kernel_copy != kernel_copy ||
		  e->msg.type != type || e->npages == MP_RETURN_MAX)) {
		err = mp_return_flush(obj, r);
		if (err)
			return err;
		e = NULL;
	}
	if (!e) {
		e = mp_msg_alloc(MP_RETURN_MAX, gfp);
		if (!e)
			return -ENOMEM;
		e->msg.type = type;
		e->msg.data_return.offset = (u64)pgoff << PAGE_SHIFT;
		e->msg.data_return.dirty = dirty;
		e->msg.data_return.kernel_copy = kernel_copy;
		r->e = e;
	}
	r->state[e->npages] = state;
	e->pages[e->npages++] = page;
	r->next = pgoff + 1;
	return 0;
}

/**
 * mp_page_copy() - a new page with the contents of @page
 * @page: the page
 * @gfp: allocation flags
 *
 * Not charged: the page cache charges the pages it takes.
 *
 * Return: the copy, or NULL.
 */
struct page *mp_page_copy(struct page *page, gfp_t gfp)
{
	struct page *copy = alloc_page(gfp | __GFP_HIGHMEM);

	if (copy)
		copy_highpage(copy, page);
	return copy;
}

static bool mp_should_return(unsigned long state, bool dirty,
			     u32 should_return)
{
	switch (should_return) {
	case MEMPAGER_RETURN_ANYTHING:
		return true;
	case MEMPAGER_RETURN_ALL:
		return dirty || (state & MP_PAGE_PRECIOUS);
	case MEMPAGER_RETURN_DIRTY:
		return dirty;
	default:
		return false;
	}
}

/**
 * mp_zap_range() - zap a range of an object from every page table
 * @obj: the object
 * @first: first page
 * @count: pages
 *
 * Private (COW) copies that processes made of the pages stay.
 */
void mp_zap_range(struct mp_object *obj, pgoff_t first, pgoff_t count)
{
	if (obj->nr_maps)
		unmap_mapping_range(obj->file->f_mapping,
				    (loff_t)first << PAGE_SHIFT,
				    (loff_t)count << PAGE_SHIFT, 0);
}

/**
 * mp_return_range_locked() - the work of lock_request on resident pages
 * @obj: the object, its mutex held
 * @first: first page
 * @count: pages
 * @should_return: MEMPAGER_RETURN_*
 * @flush: drop the pages (dirty data not returned is discarded)
 * @lock_value: new lock value, or MEMPAGER_PROT_NO_CHANGE
 * @gfp: for messages and page copies
 *
 * Sets the lock, zaps the range from every page table, queues data_return
 * messages (kernel_copy when not flushing: the manager gets a copy taken
 * now) and flushes. A flush leaves a page pinned for DMA in the cache and
 * returns a copy of it (kernel_copy), and gives pages back to the cache
 * when the manager turns out to be dead. Wakes the faults waiting on the
 * object.
 *
 * Return: 0 or -ENOMEM (the pages before the failing one are done).
 */
int mp_return_range_locked(struct mp_object *obj, pgoff_t first,
			   pgoff_t count, u32 should_return, bool flush,
			   u32 lock_value, gfp_t gfp)
{
	struct mp_return r = { };
	unsigned long pgoff;
	struct page *page;
	void *entry;
	int err = 0, flush_err;

	lockdep_assert_held(&obj->mutex);
	/* Our references keep the pages from migrating under us. */
	xa_for_each_range(&obj->pages, pgoff, entry, first, first + count - 1) {
		if (!mp_entry_is_page(entry))
			continue;
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page))
			continue;
		lock_page(page);
		if (lock_value != MEMPAGER_PROT_NO_CHANGE)
			mp_page_set_bits(obj, pgoff, page, MP_PAGE_LOCK_MASK |
					 MP_PAGE_UNLOCK_MASK, lock_value);
		else
			mp_page_set_bits(obj, pgoff, page, MP_PAGE_UNLOCK_MASK,
					 0);
		unlock_page(page);
		put_page(page);
	}
	mp_zap_range(obj, first, count);

	xa_for_each_range(&obj->pages, pgoff, entry, first, first + count - 1) {
		struct page *data = NULL;
		bool dirty, pinned = false, own;

		if (!mp_entry_is_page(entry))
			continue;
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page))
			continue;
		if (flush) {
			/*
			 * A page leaves the cache under its page lock, which
			 * every fault holds while it maps a page: one that
			 * mapped it again since the zap is undone here.
			 */
			lock_page(page);
			if (page_mapped(page))
				mp_zap_range(obj, pgoff, 1);
			/*
			 * Unmapped, it cannot be pinned anew. One pinned for
			 * DMA (O_DIRECT, io_uring) stays, as reclaim keeps
			 * it: the I/O completes into the object's page, whose
			 * dirty bit comes back with a later return. The
			 * manager gets a copy (kernel_copy).
			 */
			pinned = folio_maybe_dma_pinned(page_folio(page));
		}
		/* The page itself leaves the cache. */
		own = flush && !pinned;
		dirty = PageDirty(page);
		/* The page leaves: the copies keep what it held. */
		if (own && !list_empty(&obj->copies))
			err = mp_push_locked(obj, pgoff, page, gfp);
		if (!err && mp_should_return(xa_to_value(entry), dirty,
					     should_return)) {
			data = own ? page : mp_page_copy(page, gfp);
			err = data ? mp_return_add(obj, &r, pgoff, data, dirty,
						   !own, xa_to_value(entry),
						   gfp) : -ENOMEM;
			if (err && data && !own)
				put_page(data);
			if (!err)
				ClearPageDirty(page);
		}
		if (!err && own)
			mp_cache_remove_locked(obj, pgoff, page);
		if (flush)
			unlock_page(page);
		/* Unless the return took it over, our reference goes. */
		if (err || !own || !data)
			put_page(page);
		if (err)
			break;
	}
	/* Send what was gathered even after a failure; keep the first error. */
	flush_err = mp_return_flush(obj, &r);
	if (!err)
		err = flush_err;
	mp_object_bump_locked(obj);
	return err;
}

/**
 * mp_lock_request() - memory_object_lock_request
 * @obj: the object
 * @lr: the call, flags and values checked by the caller
 *
 * Return: 0, -ENOENT for a stale control, or -ENOMEM.
 */
int mp_lock_request(struct mp_object *obj,
		    const struct mempager_lock_request *lr)
{
	struct mempager_msg msg;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_LOCK_COMPLETED);
	msg.range.offset = lr->offset;
	msg.range.length = lr->length;

	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, lr->control);
	if (!err)
		err = mp_return_range_locked(obj, lr->offset >> PAGE_SHIFT,
					     lr->length >> PAGE_SHIFT,
					     lr->should_return,
					     lr->should_flush, lr->lock_value,
					     GFP_KERNEL);
	if (!err && (lr->flags & MEMPAGER_REPLY)) {
		err = mp_post_locked(obj, &msg);
		if (err == -EPIPE)
			err = 0;
	}
	mutex_unlock(&obj->mutex);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(mp_lock_request);

/**
 * mp_page_mkwrite() - a page of a shared mapping is about to be written
 * @vmf: the fault
 *
 * Marks the page dirty and returns it locked, so the PTE becomes writable
 * before a lock_request can look at the page again. When the page's lock
 * forbids writing, or the page left the cache, the PTE is zapped and the
 * fault retried through ->fault, which asks the manager and may wait.
 *
 * Return: VM_FAULT_LOCKED, or VM_FAULT_NOPAGE to refault.
 */
vm_fault_t mp_page_mkwrite(struct vm_fault *vmf)
{
	struct mp_object *obj = vmf->vma->vm_private_data;
	struct page *page = vmf->page;
	bool ok;

	mutex_lock(&obj->mutex);
	ok = mp_cache_holds(obj, vmf->pgoff, page) &&
	     !(mp_page_lock(obj, vmf->pgoff) &
	       (MEMPAGER_PROT_READ | MEMPAGER_PROT_WRITE));
	if (!ok) {
		mp_zap_range(obj, vmf->pgoff, 1);
		mutex_unlock(&obj->mutex);
		return VM_FAULT_NOPAGE;
	}
	lock_page(page);
	/* The copies keep what the page holds before this write. */
	if (!list_empty(&obj->copies) &&
	    mp_push_locked(obj, vmf->pgoff, page, GFP_KERNEL)) {
		unlock_page(page);
		mutex_unlock(&obj->mutex);
		return VM_FAULT_OOM;
	}
	SetPageDirty(page);
	mutex_unlock(&obj->mutex);
	return VM_FAULT_LOCKED;
}

/* mp_fsync() of an object the caller holds a reference to. */
static int mp_sync_range(struct mp_object *obj, loff_t start, loff_t end)
{
	struct mempager_msg msg;
	struct mp_sync sync = { };
	struct mp_manager *mgr;
	pgoff_t first, last;
	unsigned long seen;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_SYNCHRONIZE);
	msg.range.flags = MEMPAGER_SYNC_SYNCHRONOUS;

	/* Set for good once seen under the mutex (temporary memory). */
	mutex_lock(&obj->mutex);
	mgr = obj->mgr;
	mutex_unlock(&obj->mutex);
	if (!mgr)
		return 0;
	/* Like a fault, an msync waits while the manager has too much unread. */
	if (wait_event_killable(mgr->drain_wait,
				!mp_manager_congested(mgr) ||
				READ_ONCE(mgr->dead)))
		return -EINTR;
	first = start >> PAGE_SHIFT;
	last = min_t(u64, (u64)end >> PAGE_SHIFT, obj->npages - 1);
	if (start < 0 || first > last)
		return 0;
	sync.offset = (u64)first << PAGE_SHIFT;
	sync.length = (u64)(last - first + 1) << PAGE_SHIFT;

	mutex_lock(&obj->mutex);
	if (obj->state != MP_READY) {
		err = obj->state == MP_INIT_SENT ? 0 : -EIO;
		goto out_unlock;
	}
	err = mp_return_range_locked(obj, first, last - first + 1,
				     MEMPAGER_RETURN_DIRTY, false,
				     MEMPAGER_PROT_NO_CHANGE, GFP_KERNEL);
	if (err)
		goto out_unlock;
	msg.range.offset = sync.offset;
	msg.range.length = sync.length;
	err = mp_post_locked(obj, &msg);
	if (err)
		goto out_unlock;
	list_add_tail(&sync.node, &obj->syncs);
	while (!sync.done) {
		if (obj->state != MP_READY) {
			err = -EIO;
			break;
		}
		seen = obj->events;
		mutex_unlock(&obj->mutex);
		err = wait_event_killable(obj->wait,
					  READ_ONCE(obj->events) != seen);
		mutex_lock(&obj->mutex);
		if (err) {
			err = -EINTR;
			break;
		}
	}
	list_del(&sync.node);
out_unlock:
	mutex_unlock(&obj->mutex);
	return err;
}

/**
 * mp_fsync() - msync(MS_SYNC) of a mapping: memory_object_synchronize
 * @file: the object's private file
 * @start: first byte
 * @end: last byte (inclusive)
 * @datasync: unused: there is no metadata
 *
 * Returns the dirty pages of the range to the manager (kernel_copy), sends
 * synchronize and waits, killably, for synchronize_completed. msync(2)
 * pins the file, not the object (mapping, object fds and manager may all
 * go meanwhile): the file keeps the object's memory, and the object is
 * used only if a reference to it can still be had.
 *
 * Return: 0, -EIO when the manager is gone or the object terminated
 * meanwhile (or is gone), -EINTR when killed, -ENOMEM.
 */
int mp_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct mp_object *obj = file->private_data;
	int err;

	if (!kref_get_unless_zero(&obj->ref))
		return -EIO;
	err = mp_sync_range(obj, start, end);
	mp_object_put(obj);
	return err;
}

/**
 * mp_synchronize_completed() - memory_object_synchronize_completed
 * @obj: the object
 * @control: the object's control
 * @offset: echoes a synchronize message
 * @length: echoes a synchronize message
 *
 * Return: 0, or -ENOENT for a stale control or when no msync waits for
 * that range.
 */
int mp_synchronize_completed(struct mp_object *obj, u64 control, u64 offset,
			     u64 length)
{
	struct mp_sync *sync;
	int err;

	mutex_lock(&obj->mutex);
	err = mp_object_check_control(obj, control);
	if (err)
		goto out_unlock;
	err = -ENOENT;
	list_for_each_entry(sync, &obj->syncs, node) {
		if (!sync->done && sync->offset == offset &&
		    sync->length == length) {
			sync->done = true;
			mp_object_bump_locked(obj);
			err = 0;
			break;
		}
	}
out_unlock:
	mutex_unlock(&obj->mutex);
	return err;
}

/*
 * The shrinker: under memory pressure, clean pages that nobody else holds
 * are dropped; dirty and precious ones go back to the manager with
 * data_return (kernel_copy 0). It never waits for user space: the object
 * mutex is only trylocked and message memory is GFP_NOWAIT.
 */
static LIST_HEAD(mp_shrink_list);
static DEFINE_SPINLOCK(mp_shrink_lock);
static struct shrinker *mp_shrinker;

/**
 * mp_shrinker_track() - let the shrinker see a managed object
 * @obj: the object
 */
void mp_shrinker_track(struct mp_object *obj)
{
	spin_lock(&mp_shrink_lock);
	list_add_tail(&obj->node, &mp_shrink_list);
	spin_unlock(&mp_shrink_lock);
}

/**
 * mp_shrinker_untrack() - the object is going away
 * @obj: the object
 */
void mp_shrinker_untrack(struct mp_object *obj)
{
	spin_lock(&mp_shrink_lock);
	list_del(&obj->node);
	spin_unlock(&mp_shrink_lock);
}

static unsigned long mp_shrink_count(struct shrinker *s,
				     struct shrink_control *sc)
{
	long n = atomic_long_read(&mp_resident_total);

	return n > 0 ? n : SHRINK_EMPTY;
}

/*
 * Evict up to @budget pages of one object, its mutex held. Return: the
 * pages that left the cache; *@dropped counts those freed at once.
 */
static unsigned long mp_shrink_object(struct mp_object *obj,
				      unsigned long budget, gfp_t gfp,
				      unsigned long *dropped)
{
	struct mp_return r = { };
	bool can_return;
	unsigned long freed = 0;
	unsigned long pgoff;
	struct page *page;
	void *entry;

	/*
	 * Only pages that can be asked for again may go: not those of an
	 * object whose manager is gone or that was destroyed (they must stay
	 * readable), nor a private copy's (they are its snapshot).
	 */
	if (!obj->nr_resident || obj->state != MP_READY ||
	    (obj->src && !obj->mgr))
		return 0;
	/* Temporary memory goes to the default manager, if there is one. */
	if (obj->temporary && !obj->mgr && !obj->src)
		mp_temp_attach_locked(obj, gfp);
	/*
	 * Not to a dead manager: the return would fail and give the pages
	 * back, which must not count as progress (the write-back worker
	 * loops while there is some).
	 */
	can_return = obj->state == MP_READY && obj->mgr &&
		     !READ_ONCE(obj->mgr->dead);
	xa_for_each_start(&obj->pages, pgoff, entry, obj->scan_next) {
		bool dirty, keep;

		if (freed >= budget)
			break;
		obj->scan_next = pgoff + 1;
		if (!mp_entry_is_page(entry))
			continue;
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page))
			continue;
		if (page_mapped(page))
			mp_zap_range(obj, pgoff, 1);
		/*
		 * Mapped again already, pinned, or being faulted in: more
		 * references than the page cache's, the side table's, this
		 * lookup's and, until the page reaches the LRU list, the
		 * per-CPU LRU batch's.
		 */
		if (page_ref_count(page) != (PageLRU(page) ? 3 : 4) ||
		    !trylock_page(page)) {
			put_page(page);
			continue;
		}
		dirty = PageDirty(page);
		keep = dirty || (xa_to_value(entry) & MP_PAGE_PRECIOUS);
		if ((!list_empty(&obj->copies) &&
		     mp_push_locked(obj, pgoff, page, gfp)) ||
		    (keep && (!can_return || mp_manager_congested(obj->mgr) ||
			      mp_return_add(obj, &r, pgoff, page, dirty, false,
					    xa_to_value(entry), gfp)))) {
			unlock_page(page);
			put_page(page);
			continue;
		}
		ClearPageDirty(page);
		/*
		 * Out of the cache before the page lock goes: a fault waiting
		 * for it then finds the page gone and asks again, instead of
		 * mapping a page the manager is told has left.
		 */
		mp_cache_remove_locked(obj, pgoff, page);
		unlock_page(page);
		/* Returned, the message has our reference. */
		if (!keep) {
			put_page(page);
			(*dropped)++;
		}
		obj->stats.evicted++;
		freed++;
	}
	if (freed < budget)
		obj->scan_next = 0;	/* wrap around next time */
	mp_return_flush(obj, &r);
	return freed;
}

/*
 * Evict up to @budget pages, taking objects round robin. @wait: take object
 * mutexes with mutex_lock() (the writeback work) rather than trylock
 * (reclaim). Return: pages that left the caches; *@dropped as above.
 */
static unsigned long mp_evict(unsigned long budget, bool wait, gfp_t gfp,
			      unsigned long *dropped)
{
	unsigned long freed = 0, rounds = 0;
	struct mp_object *obj;

	while (freed < budget && rounds++ < 64) {
		spin_lock(&mp_shrink_lock);
		obj = list_first_entry_or_null(&mp_shrink_list,
					       struct mp_object, node);
		if (obj) {
			/* Round robin: the next scan starts at the next one. */
			list_move_tail(&obj->node, &mp_shrink_list);
			if (!kref_get_unless_zero(&obj->ref))
				obj = NULL;
		}
		spin_unlock(&mp_shrink_lock);
		if (!obj)
			break;
		if (wait)
			mutex_lock(&obj->mutex);
		if (wait || mutex_trylock(&obj->mutex)) {
			freed += mp_shrink_object(obj, budget - freed, gfp,
						  dropped);
			mutex_unlock(&obj->mutex);
		}
		mp_object_put(obj);
	}
	return freed;
}

static unsigned long mp_shrink_scan(struct shrinker *s,
				    struct shrink_control *sc)
{
	unsigned long dropped = 0;
	unsigned long freed = mp_evict(sc->nr_to_scan, false,
				       GFP_NOWAIT | __GFP_NOWARN, &dropped);

	/* Pages freed outside the LRU count as reclaim progress. */
	mm_account_reclaimed_pages(dropped);
	return freed ? freed : SHRINK_STOP;
}

/*
 * Write-back: like dirty_ratio for files, the object caches together may
 * hold max_resident_percent of RAM; past that a worker evicts down to 7/8
 * of it, returning dirty pages, before reclaim has to. Faults are throttled
 * by the managers' queues meanwhile (mp_manager_congested()).
 */
static void mp_writeback_fn(struct work_struct *work);
static DECLARE_WORK(mp_writeback_work, mp_writeback_fn);

static long mp_resident_limit(void)
{
	return totalram_pages() / 100 * READ_ONCE(mp_max_resident_percent);
}

static void mp_writeback_fn(struct work_struct *work)
{
	long target = mp_resident_limit() / 8 * 7;
	unsigned long dropped = 0;
	long excess;

	while ((excess = atomic_long_read(&mp_resident_total) - target) > 0) {
		if (!mp_evict(min(excess, 1024L), true, GFP_KERNEL, &dropped))
			break;	/* nothing evictable now: managers congested */
		cond_resched();
	}
}

/**
 * mp_writeback_kick() - start write-back when the caches are over the limit
 *
 * Called as pages become resident; cheap when under the limit.
 */
void mp_writeback_kick(void)
{
	if (atomic_long_read(&mp_resident_total) > mp_resident_limit())
		queue_work(system_unbound_wq, &mp_writeback_work);
}

/**
 * mp_shrinker_init() - register the shrinker
 *
 * Return: 0 or -ENOMEM.
 */
int mp_shrinker_init(void)
{
	int err;

	mp_shrinker = mp_shrinker_alloc("mempager");
	if (!mp_shrinker)
		return -ENOMEM;
	mp_shrinker->count_objects = mp_shrink_count;
	mp_shrinker->scan_objects = mp_shrink_scan;
	err = mp_shrinker_register(mp_shrinker, "mempager");
	if (err)
		mp_shrinker_free(mp_shrinker, false);
	return err;
}

/**
 * mp_shrinker_exit() - unregister the shrinker
 */
void mp_shrinker_exit(void)
{
	mp_shrinker_free(mp_shrinker, true);
	cancel_work_sync(&mp_writeback_work);
}
