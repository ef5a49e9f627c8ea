// SPDX-License-Identifier: GPL-2.0
/*
 * Mappings of memory objects and their fault path.
 *
 * The object's pages are its inode's page cache: around a read fault the
 * core maps the resident neighbours itself (filemap_map_pages()), and fork
 * copies no PTE of a shared mapping. A fault on a resident page maps it
 * without leaving the kernel and without a lock of ours. A fault on a
 * missing page queues one data_request (faults on the same page share it),
 * drops the object mutex and the fault lock, waits killably and returns
 * VM_FAULT_RETRY; the retried fault finds the page. A request that fails
 * (data_error) must fail the faults that waited for it, yet they return
 * VM_FAULT_RETRY: each leaves a ticket (task, page) that its retry takes
 * and turns into SIGBUS.
 *
 * A resident page whose lock value forbids the access sends data_unlock
 * (once per new access bit) and waits the same way.
 *
 * Only faults that mp_fault_may_wait() allows wait: one that cannot drop
 * the fault lock, or a kernel-mode fault on an object whose manager is not
 * trusted to stall the kernel, fails at once with SIGBUS (EFAULT for the
 * kernel access) and sends nothing, as handle_userfault() does.
 *
 * Locking overview: the core holds mmap_lock or the VMA lock around every
 * function here; mp_object.mutex nests inside it and is dropped, as is the
 * fault lock, before waiting for the manager. The page lock nests inside
 * the object mutex; ->fault returns pages locked (VM_FAULT_LOCKED) so that
 * lock_request, which changes a page's lock value under the page lock and
 * then zaps, cannot miss a PTE being set up.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "mempager_internal.h"
#include "mempager_trace.h"

/**
 * struct mp_ticket - a failed fault that its task is about to retry
 * @node: in mp_object.tickets
 * @task: the faulting task (a reference)
 * @pgoff: the page
 */
struct mp_ticket {
	struct list_head node;
	struct task_struct *task;
	pgoff_t pgoff;
};

static void mp_ticket_add(struct mp_object *obj, pgoff_t pgoff)
{
	struct mp_ticket *t = kmalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);

	/* Without memory the retry asks the manager again: no harm done. */
	if (!t)
		return;
	t->task = get_task_struct(current);
	t->pgoff = pgoff;
	mutex_lock(&obj->mutex);
	list_add(&t->node, &obj->tickets);
	atomic_inc(&obj->nr_tickets);
	mutex_unlock(&obj->mutex);
}

static bool mp_ticket_take_locked(struct mp_object *obj, pgoff_t pgoff)
{
	struct mp_ticket *t;

	if (!atomic_read(&obj->nr_tickets))
		return false;
	list_for_each_entry(t, &obj->tickets, node) {
		if (t->task == current && t->pgoff == pgoff) {
			list_del(&t->node);
			atomic_dec(&obj->nr_tickets);
			put_task_struct(t->task);
			kfree(t);
			return true;
		}
	}
	return false;
}

/**
 * mp_tickets_free_locked() - forget the tickets of an object going away
 * @obj: the object, its mutex held
 */
void mp_tickets_free_locked(struct mp_object *obj)
{
	struct mp_ticket *t, *tmp;

	list_for_each_entry_safe(t, tmp, &obj->tickets, node) {
		list_del(&t->node);
		put_task_struct(t->task);
		kfree(t);
	}
	atomic_set(&obj->nr_tickets, 0);
}

/**
 * mp_request_send_locked() - post a data_request and enter it in the cache
 * @obj: the object, its mutex held; nothing at @pgoff in its cache
 * @pgoff: the page
 * @write: ask for READ|WRITE rather than READ
 *
 * Return: the request (the cache's reference), or an ERR_PTR: -ENOMEM,
 * -EPIPE when the manager is dead.
 */
struct mp_request *mp_request_send_locked(struct mp_object *obj,
					  pgoff_t pgoff, bool write)
{
	struct mempager_msg msg;
	struct mp_request *req;
	void *old;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_DATA_REQUEST);
	msg.request.offset = (u64)pgoff << PAGE_SHIFT;
	msg.request.length = PAGE_SIZE;
	msg.request.desired_access = MEMPAGER_PROT_READ |
		(write ? MEMPAGER_PROT_WRITE : 0);

	req = kzalloc(sizeof(*req), GFP_KERNEL_ACCOUNT);
	if (!req)
		return ERR_PTR(-ENOMEM);
	refcount_set(&req->ref, 1);
	/* The answer's pages are charged to the faulting task's cgroup. */
	if (current->mm)
		req->memcg = get_mem_cgroup_from_mm(current->mm);
	old = xa_store(&obj->pages, pgoff, req, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		mp_request_put(req);
		return ERR_PTR(xa_err(old));
	}
	err = mp_post_locked(obj, &msg);
	if (err) {
		xa_erase(&obj->pages, pgoff);
		mp_request_put(req);
		return ERR_PTR(err);
	}
	obj->outstanding++;
	obj->stats.requests++;
	return req;
}

/*
 * Has what the fault waits for happened? A change of the object, or its
 * request's answer; without a request (waiting for ready, a free request
 * slot or an unlock), any answer too.
 */
static bool mp_fault_woken(struct mp_object *obj, struct mp_request *req,
			   unsigned long seen, unsigned long done)
{
	if (READ_ONCE(obj->events) != seen)
		return true;
	if (req)
		return READ_ONCE(req->result) != 0;
	return READ_ONCE(obj->completions) != done;
}

/**
 * mp_fault_may_wait() - may this fault wait for the manager of @obj?
 * @obj: the object whose page is missing or locked, its mutex held
 * @vmf: the fault
 *
 * userfaultfd's policy (fs/userfaultfd.c: handle_userfault()). A fault
 * that cannot drop the fault lock (no FAULT_FLAG_ALLOW_RETRY:
 * fixup_user_fault() from the futex code, get_user_pages() without a way to
 * unlock) must not hold mmap_lock while user space thinks: it fails.
 * A kernel-mode fault (copy_from_user() and the like, or get_user_pages(),
 * with no FAULT_FLAG_USER) waits only for a manager trusted with stalling
 * the kernel (mp_manager.kernel_faults, as UFFD_USER_MODE_ONLY is forced on
 * unprivileged userfaultfds), or for the default manager of temporary
 * memory, which needed CAP_SYS_ADMIN. Otherwise any user could hold a
 * kernel copy on a page it controls for as long as it likes.
 *
 * Return: true if it may wait; false if it must fail now (SIGBUS, which a
 * kernel access turns into EFAULT).
 */
static bool mp_fault_may_wait(struct mp_object *obj, struct vm_fault *vmf)
{
	lockdep_assert_held(&obj->mutex);
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return false;
	if (vmf->flags & FAULT_FLAG_USER)
		return true;
	return obj->temporary || (obj->mgr && obj->mgr->kernel_faults);
}

/*
 * Wait for the object to change (@req answered, ready, a request slot
 * free, death), or with @throttle for the manager to drain its queue.
 * Called with the object mutex held, for a fault that mp_fault_may_wait()
 * allows; returns without the mutex and without the fault lock.
 */
static void mp_fault_wait(struct mp_object *obj, struct vm_fault *vmf,
			  pgoff_t pgoff, struct mp_request *req, bool throttle)
{
	unsigned long seen = obj->events, done = obj->completions;
	int killed;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		mutex_unlock(&obj->mutex);
		if (req)
			mp_request_put(req);
		return;
	}
	mp_object_get(obj);
	mutex_unlock(&obj->mutex);
	release_fault_lock(vmf);

	if (throttle)
		killed = wait_event_killable(obj->mgr->drain_wait,
					     !mp_manager_congested(obj->mgr) ||
					     READ_ONCE(obj->mgr->dead));
	else
		killed = wait_event_killable(obj->wait,
					     mp_fault_woken(obj, req, seen,
							    done));
	if (!killed && req && READ_ONCE(req->result) < 0)
		mp_ticket_add(obj, pgoff);
	if (req)
		mp_request_put(req);
	mp_object_put(obj);
}

/* May this fault be granted by resident page @pgoff's lock value? */
static bool mp_access_allowed(struct mp_object *obj, pgoff_t pgoff,
			      bool write)
{
	unsigned int want = MEMPAGER_PROT_READ | (write ? MEMPAGER_PROT_WRITE : 0);

	return !(mp_page_lock(obj, pgoff) & want);
}

/*
 * The page's lock forbids the access: ask the manager with data_unlock,
 * unless an unlock for these access bits is already on its way.
 */
static int mp_unlock_send_locked(struct mp_object *obj, pgoff_t pgoff,
				 struct page *page, bool write)
{
	unsigned int want = MEMPAGER_PROT_READ | (write ? MEMPAGER_PROT_WRITE : 0);
	unsigned int sent = mp_page_unlock_sent(obj, pgoff);
	struct mempager_msg msg;
	int err;

	mp_msg_init(&msg, MEMPAGER_MSG_DATA_UNLOCK);
	msg.request.offset = (u64)pgoff << PAGE_SHIFT;
	msg.request.length = PAGE_SIZE;
	msg.request.desired_access = want;

	if ((sent & want) == want)
		return 0;
	err = mp_post_locked(obj, &msg);
	if (err)
		return err;
	mp_page_set_bits(obj, pgoff, page, MP_PAGE_UNLOCK_MASK,
			 (unsigned long)(sent | want) << MP_PAGE_UNLOCK_SHIFT);
	obj->stats.unlocks++;
	return 0;
}

/*
 * Does the fault write the object's page itself? Writes to a private
 * mapping go to an anonymous copy the core makes: they only read ours.
 */
static bool mp_fault_writes(struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) &&
	       (vmf->vma->vm_flags & VM_SHARED);
}

/*
 * The slow path: find page @pgoff of @obj, asking its manager and waiting
 * as needed. With @copy, the fault is on page @cpgoff of @copy, a private
 * copy whose page is taken from @obj (its source), for reading.
 */
static vm_fault_t mp_fault_slow(struct mp_object *obj, pgoff_t pgoff,
				struct vm_fault *vmf, struct mp_object *copy,
				pgoff_t cpgoff)
{
	bool write = !copy && mp_fault_writes(vmf);
	struct page *zero = NULL;
	struct mp_request *req;
	bool throttle = false;
	struct page *page;
	void *entry;
	int err;

	/*
	 * Temporary memory is zero-filled here; allocate before taking the
	 * mutex, which the shrinker needs to make room.
	 */
	if (!obj->mgr) {
		zero = mp_zero_page_alloc();
		if (!zero)
			return VM_FAULT_OOM;
	}
	mutex_lock(&obj->mutex);
	if (mp_ticket_take_locked(obj, pgoff))
		goto out_sigbus;
	entry = xa_load(&obj->pages, pgoff);
	req = mp_request_entry(entry);
	if (mp_entry_is_page(entry)) {
		/* A reference: the page cannot leave while the mutex is held. */
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page))
			goto out_sigbus;
		if (mp_access_allowed(obj, pgoff, write))
			goto out_page;
		/* Locked: only a ready manager can unlock it. */
		err = -EPIPE;
		if (mp_fault_may_wait(obj, vmf) && obj->state == MP_INIT_SENT)
			err = 0;
		else if (mp_fault_may_wait(obj, vmf) && obj->state == MP_READY)
			err = mp_unlock_send_locked(obj, pgoff, page, write);
		put_page(page);
		if (!err)
			goto wait;
		if (err == -EPIPE)
			goto out_sigbus;
		goto out_oom;
	}
	if (obj->state == MP_INIT_SENT) {
		/* Faults before ready wait for it. */
		req = NULL;
		if (!mp_fault_may_wait(obj, vmf))
			goto out_sigbus;
		goto wait;
	}
	if (obj->state != MP_READY)
		goto out_sigbus;

	if (!obj->mgr) {
		if (!zero) {
			/* Detached from a dead default manager meanwhile. */
			mutex_unlock(&obj->mutex);
			return VM_FAULT_NOPAGE;
		}
		if (mp_cache_store_locked(obj, pgoff, zero, 0))
			goto out_oom;
		zero = NULL;
		obj->stats.unavailable++;
		page = mp_cache_get(obj, pgoff);
		if (WARN_ON_ONCE(!page))
			goto out_sigbus;
		goto out_page;
	}

	/* Sharing another fault's request is waiting for the manager too. */
	if (!mp_fault_may_wait(obj, vmf))
		goto out_sigbus;
	if (!req) {
		if (mp_manager_congested(obj->mgr)) {
			throttle = true;
			goto wait;
		}
		if (obj->outstanding >= READ_ONCE(mp_max_outstanding))
			goto wait;	/* for a free request slot */
		req = mp_request_send_locked(obj, pgoff, write);
		if (IS_ERR(req)) {
			if (PTR_ERR(req) == -EPIPE)
				goto out_sigbus;
			goto out_oom;
		}
	}
	refcount_inc(&req->ref);
wait:
	mp_fault_wait(obj, vmf, pgoff, req, throttle);
	if (zero)
		put_page(zero);
	return VM_FAULT_RETRY;

out_page:
	if (copy) {
		page = mp_copy_page_locked(obj, page, copy, cpgoff);
		if (IS_ERR(page)) {
			mutex_unlock(&obj->mutex);
			if (zero)
				put_page(zero);
			return PTR_ERR(page) == -EAGAIN ? VM_FAULT_NOPAGE :
							  VM_FAULT_OOM;
		}
	}
	/*
	 * Locked before the mutex goes: see mp_return_range_locked(). Our
	 * reference kept it from migrating.
	 */
	lock_page(page);
	mutex_unlock(&obj->mutex);
	if (zero)
		put_page(zero);
	vmf->page = page;
	return VM_FAULT_LOCKED;
out_sigbus:
	mutex_unlock(&obj->mutex);
	if (zero)
		put_page(zero);
	return VM_FAULT_SIGBUS;
out_oom:
	mutex_unlock(&obj->mutex);
	if (zero)
		put_page(zero);
	return VM_FAULT_OOM;
}

static vm_fault_t mp_fault_find(struct vm_fault *vmf)
{
	struct mp_object *obj = vmf->vma->vm_private_data;
	bool write = mp_fault_writes(vmf);
	struct page *page;

	if (vmf->pgoff >= obj->npages)
		return VM_FAULT_SIGBUS;
	if (likely(!atomic_read(&obj->nr_tickets))) {
		page = mp_cache_get(obj, vmf->pgoff);
		if (page) {
			/*
			 * Under the page lock the page cannot leave the cache
			 * nor change its lock value until the PTE is set.
			 */
			lock_page(page);
			if (likely(mp_cache_holds(obj, vmf->pgoff, page) &&
				   mp_access_allowed(obj, vmf->pgoff, write))) {
				vmf->page = page;
				return VM_FAULT_LOCKED;
			}
			unlock_page(page);
			put_page(page);
		}
	}
	if (obj->src && mp_copy_from_source(obj, vmf->pgoff)) {
		if (vmf->pgoff + obj->src_off >= obj->src->npages)
			return VM_FAULT_SIGBUS;
		return mp_fault_slow(obj->src, vmf->pgoff + obj->src_off, vmf,
				     obj, vmf->pgoff);
	}
	return mp_fault_slow(obj, vmf->pgoff, vmf, NULL, 0);
}

static void mp_vm_open(struct vm_area_struct *vma)
{
	struct mp_object *obj = vma->vm_private_data;

	mp_object_get(obj);
	mutex_lock(&obj->mutex);
	obj->nr_maps++;
	mutex_unlock(&obj->mutex);
}

static void mp_vm_close(struct vm_area_struct *vma)
{
	struct mp_object *obj = vma->vm_private_data;

	mp_object_unmap(obj);
	mp_object_put(obj);
}

static vm_fault_t mp_fault(struct vm_fault *vmf)
{
	struct mp_object *obj = vmf->vma->vm_private_data;
	vm_fault_t ret;

	trace_mempager_fault_enter(obj->name, vmf->pgoff, vmf->flags);
	ret = mp_fault_find(vmf);
	trace_mempager_fault_exit(obj->name, vmf->pgoff, (__force unsigned int)ret);
	return ret;
}

static const struct vm_operations_struct mp_vm_ops = {
	.open = mp_vm_open,
	.close = mp_vm_close,
	.fault = mp_fault,
	/* Resident, readable pages: the core maps them itself. */
	.map_pages = filemap_map_pages,
	.page_mkwrite = mp_page_mkwrite,
};

/**
 * mp_mmap_object() - map an object (->mmap of object fds and of
 *	/dev/mempager fds)
 * @obj: the object
 * @vma: the new mapping; its file becomes the object's private file
 *
 * A MAP_PRIVATE mapping of a managed object maps a private copy made with
 * the object's copy strategy (copy.c). A range past the end of the object
 * may be mapped; touching it gives SIGBUS.
 *
 * Return: 0, -EOVERFLOW, -ENXIO (destroyed or manager dead), -ENOMEM.
 */
int mp_mmap_object(struct mp_object *obj, struct vm_area_struct *vma)
{
	pgoff_t end;
	int err;

	if (check_add_overflow(vma->vm_pgoff, vma_pages(vma), &end) ||
	    end > MAX_LFS_FILESIZE >> PAGE_SHIFT)
		return -EOVERFLOW;
	/*
	 * A private mapping of a managed object maps a copy made by the
	 * object's copy strategy (VM_MAYSHARE: a read-only shared mapping has
	 * no VM_SHARED).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE) && !obj->temporary && !obj->src) {
		obj = mp_copy_create(obj, vma->vm_pgoff, vma_pages(vma));
		if (IS_ERR(obj))
			return PTR_ERR(obj);
		vma->vm_pgoff = 0;
		err = mp_mmap_object(obj, vma);
		/* A copy never mapped needs no handle (its manager is dying). */
		if (err && obj->mgr)
			mp_object_forget(obj);
		mp_object_put(obj);
		return err;
	}

	mutex_lock(&obj->mutex);
	err = mp_object_map_locked(obj);
	mutex_unlock(&obj->mutex);
	if (err)
		return err;

	mp_object_get(obj);
	vma->vm_private_data = obj;
	vma_set_file(vma, obj->file);
	/* No VM_MIXEDMAP: fork copies no PTE of a shared mapping. */
	vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = &mp_vm_ops;
	return 0;
}

/**
 * mp_vma_object() - the object a VMA maps
 * @vma: any VMA, mmap_lock held
 *
 * Return: the object (no new reference), or NULL if @vma maps none.
 */
struct mp_object *mp_vma_object(struct vm_area_struct *vma)
{
	return vma->vm_ops == &mp_vm_ops ? vma->vm_private_data : NULL;
}
