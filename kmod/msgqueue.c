// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's message queue: kernel to manager messages, in the order
 * they were posted, read as fixed-size records from the manager fd.
 *
 * A message may carry pages (data_return): the entry owns a reference to
 * each until MEMPAGER_RECEIVE copies them out.
 *
 * Locking overview: mp_manager.lock (a spinlock) protects the queue and the
 * dead flag. Posting happens with the object's mutex held, so one object's
 * messages are queued in sequence-number order; the queue lock nests inside
 * the object mutex.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <kunit/visibility.h>

#include "mempager_internal.h"
#include "mempager_trace.h"

/**
 * mp_manager_alloc() - allocate the receive side of a manager fd
 *
 * Return: the manager with one reference, or NULL without memory.
 */
struct mp_manager *mp_manager_alloc(void)
{
	struct mp_manager *mgr = kzalloc(sizeof(*mgr), GFP_KERNEL_ACCOUNT);

	if (!mgr)
		return NULL;
	kref_init(&mgr->ref);
	spin_lock_init(&mgr->lock);
	INIT_LIST_HEAD(&mgr->queue);
	init_waitqueue_head(&mgr->wait);
	init_waitqueue_head(&mgr->drain_wait);
	xa_init_flags(&mgr->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	return mgr;
}
EXPORT_SYMBOL_IF_KUNIT(mp_manager_alloc);

static void mp_manager_flush(struct mp_manager *mgr)
{
	struct mp_msg_entry *e, *tmp;
	LIST_HEAD(old);

	spin_lock(&mgr->lock);
	list_splice_init(&mgr->queue, &old);
	mgr->queued = 0;
	mgr->queued_pages = 0;
	spin_unlock(&mgr->lock);
	wake_up_all(&mgr->drain_wait);
	list_for_each_entry_safe(e, tmp, &old, node)
		mp_msg_free(e);
}

static void mp_manager_release(struct kref *ref)
{
	struct mp_manager *mgr = container_of(ref, struct mp_manager, ref);

	mp_manager_flush(mgr);
	xa_destroy(&mgr->objects);
	kfree(mgr);
}

/**
 * mp_manager_put() - drop a reference to a manager
 * @mgr: the manager
 */
void mp_manager_put(struct mp_manager *mgr)
{
	kref_put(&mgr->ref, mp_manager_release);
}
EXPORT_SYMBOL_IF_KUNIT(mp_manager_put);

/**
 * mp_manager_kill() - the manager fd is closed: the manager is dead
 * @mgr: the manager
 *
 * Every object it managed fails the faults waiting on it and every later
 * fault on a page not resident. No terminate is sent: nobody would read it.
 * Drops the handle table's object references: each handle's reference is
 * dropped once, here or by mp_object_forget(), by whichever took it out.
 */
void mp_manager_kill(struct mp_manager *mgr)
{
	struct mp_object *obj, *mine;
	unsigned long handle;

	mp_default_clear(mgr);
	spin_lock(&mgr->lock);
	mgr->dead = true;
	spin_unlock(&mgr->lock);
	mp_manager_flush(mgr);	/* also releases throttled faults */

	/*
	 * The walk holds no reference: the last unmap of a copy or of
	 * temporary memory may take a handle out meanwhile and drop the
	 * table's reference itself (mp_object_forget()). Only what this
	 * xa_erase() removed is ours to touch and to put.
	 */
	xa_for_each(&mgr->objects, handle, obj) {
		mine = xa_erase(&mgr->objects, handle);
		if (!mine)
			continue;
		mp_object_manager_died(mine);
		mp_object_put(mine);
	}
}
EXPORT_SYMBOL_IF_KUNIT(mp_manager_kill);

/**
 * mp_msg_alloc() - allocate a message entry
 * @npages: room for this many pages of data
 * @gfp: allocation flags (GFP_NOWAIT from reclaim)
 *
 * Return: a zeroed entry, or NULL.
 */
struct mp_msg_entry *mp_msg_alloc(unsigned int npages, gfp_t gfp)
{
	KUNIT_STATIC_STUB_REDIRECT(mp_msg_alloc, npages, gfp);
	return kzalloc(struct_size_t(struct mp_msg_entry, pages, npages),
		       gfp | __GFP_ACCOUNT);
}
EXPORT_SYMBOL_IF_KUNIT(mp_msg_alloc);

/**
 * mp_msg_free() - free a message entry and the pages it holds
 * @e: the entry
 */
void mp_msg_free(struct mp_msg_entry *e)
{
	while (e->npages)
		put_page(e->pages[--e->npages]);
	kfree(e);
}

/**
 * mp_msg_post_locked() - queue a message entry for an object's manager
 * @obj: the object, its mutex held
 * @e: the entry; its object and seqno are filled here, and its control
 *	unless set. Consumed: freed when it cannot be queued.
 *
 * Return: 0, or -EPIPE when there is no live manager.
 */
int mp_msg_post_locked(struct mp_object *obj, struct mp_msg_entry *e)
{
	struct mp_manager *mgr = obj->mgr;

	lockdep_assert_held(&obj->mutex);
	e->msg.object = obj->handle;
	if (!e->msg.control)
		e->msg.control = obj->control;
	if (!mgr)
		goto out_dead;
	spin_lock(&mgr->lock);
	if (mgr->dead) {
		spin_unlock(&mgr->lock);
		goto out_dead;
	}
	e->msg.seqno = ++obj->seqno;
	trace_mempager_msg(obj->name, &e->msg);
	list_add_tail(&e->node, &mgr->queue);
	mgr->queued++;
	mgr->queued_pages += e->npages;
	spin_unlock(&mgr->lock);
	wake_up_interruptible_poll(&mgr->wait, EPOLLIN | EPOLLRDNORM);
	return 0;

out_dead:
	mp_msg_free(e);
	return -EPIPE;
}

/**
 * mp_post_locked() - queue a message without data for an object's manager
 * @obj: the object, its mutex held
 * @msg: the message, as for mp_msg_post_locked()
 *
 * Return: 0, -ENOMEM (nothing queued), or -EPIPE when the manager is dead.
 */
int mp_post_locked(struct mp_object *obj, struct mempager_msg *msg)
{
	struct mp_msg_entry *e = mp_msg_alloc(0, GFP_KERNEL);

	if (!e)
		return -ENOMEM;
	e->msg = *msg;
	return mp_msg_post_locked(obj, e);
}
EXPORT_SYMBOL_IF_KUNIT(mp_post_locked);

/*
 * Take messages off the queue, in order, into @list: at most @max, and only
 * while their page data fits in @data_left bytes.
 */
static unsigned int mp_dequeue(struct mp_manager *mgr, struct list_head *list,
			       unsigned int max, u64 data_left, bool *too_big)
{
	struct mp_msg_entry *e;
	unsigned int n = 0;

	*too_big = false;
	spin_lock(&mgr->lock);
	while (n < max && !list_empty(&mgr->queue)) {
		u64 bytes;

		e = list_first_entry(&mgr->queue, struct mp_msg_entry, node);
		bytes = (u64)e->npages << PAGE_SHIFT;
		if (bytes > data_left) {
			*too_big = !n;
			break;
		}
		data_left -= bytes;
		list_move_tail(&e->node, list);
		mgr->queued--;
		mgr->queued_pages -= e->npages;
		n++;
	}
	spin_unlock(&mgr->lock);
	return n;
}

/* Put messages that could not be copied back at the head of the queue. */
static void mp_requeue(struct mp_manager *mgr, struct list_head *list,
		       unsigned int n)
{
	struct mp_msg_entry *e;

	spin_lock(&mgr->lock);
	list_for_each_entry(e, list, node)
		mgr->queued_pages += e->npages;
	list_splice(list, &mgr->queue);
	mgr->queued += n;
	spin_unlock(&mgr->lock);
}

/**
 * mp_manager_congested() - has the manager too much page data to read?
 * @mgr: the manager
 *
 * Faults that would ask it for more wait until it drains (like dirty page
 * throttling), so a slow manager cannot pin memory without bound.
 *
 * Return: true while more than max_queued_pages pages wait in the queue.
 */
bool mp_manager_congested(struct mp_manager *mgr)
{
	return READ_ONCE(mgr->queued_pages) > READ_ONCE(mp_max_queued_pages);
}
EXPORT_SYMBOL_IF_KUNIT(mp_manager_congested);

/* Copy one message and its pages out; the data goes at rv->out_data. */
static int mp_copy_out(struct mp_recv *rv, struct mp_msg_entry *e)
{
	void __user *data = rv->data + rv->out_data;
	unsigned int i;

	if (e->npages)
		e->msg.data_return.data_offset = rv->out_data;
	for (i = 0; i < e->npages; i++) {
		void *src = kmap_local_page(e->pages[i]);
		unsigned long left;

		left = copy_to_user(data + ((u64)i << PAGE_SHIFT), src,
				    PAGE_SIZE);
		kunmap_local(src);
		if (left)
			return -EFAULT;
	}
	if (copy_to_user(rv->msgs + rv->out_msgs * sizeof(e->msg), &e->msg,
			 sizeof(e->msg)))
		return -EFAULT;
	rv->out_msgs++;
	rv->out_data += (u64)e->npages << PAGE_SHIFT;
	return 0;
}

/**
 * mp_manager_receive() - read(2) and MEMPAGER_RECEIVE on a manager fd
 * @mgr: the manager
 * @rv: where messages and page data go; out_msgs and out_data are set
 * @nonblock: O_NONBLOCK: return -EAGAIN rather than wait
 *
 * Waits for a first message, then copies as many whole messages as fit
 * (and whose page data fits). Messages that fault on the way out stay
 * queued.
 *
 * Return: 0 with at least one message delivered, -EINVAL for room for no
 * message, -EMSGSIZE when the first message's data does not fit, -EAGAIN,
 * -ERESTARTSYS, or -EFAULT when not even one message could be copied.
 */
int mp_manager_receive(struct mp_manager *mgr, struct mp_recv *rv,
		       bool nonblock)
{
	unsigned int max = min(rv->max, 1024U);
	struct mp_msg_entry *e, *tmp;
	unsigned int n, copied = 0;
	bool too_big;
	LIST_HEAD(list);
	int ret;

	rv->out_msgs = 0;
	rv->out_data = 0;
	if (!max)
		return -EINVAL;
	for (;;) {
		n = mp_dequeue(mgr, &list, max, rv->data_size, &too_big);
		if (n)
			break;
		if (too_big)
			return -EMSGSIZE;
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(mgr->wait,
					       READ_ONCE(mgr->queued));
		if (ret)
			return ret;
	}

	list_for_each_entry_safe(e, tmp, &list, node) {
		if (mp_copy_out(rv, e))
			break;
		list_del(&e->node);
		mp_msg_free(e);
		copied++;
	}
	if (copied < n) {
		mp_requeue(mgr, &list, n - copied);
		if (!copied)
			return -EFAULT;
	}
	if (!mp_manager_congested(mgr))
		wake_up_all(&mgr->drain_wait);
	return 0;
}

/**
 * mp_manager_poll() - poll(2) on a manager fd
 * @mgr: the manager
 * @file: the manager fd
 * @pt: the poll table
 *
 * Return: EPOLLIN | EPOLLRDNORM while a message is queued.
 */
__poll_t mp_manager_poll(struct mp_manager *mgr, struct file *file,
			 poll_table *pt)
{
	poll_wait(file, &mgr->wait, pt);
	return READ_ONCE(mgr->queued) ? EPOLLIN | EPOLLRDNORM : 0;
}
