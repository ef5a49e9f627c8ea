// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's message queue: kernel to manager messages, in the order
 * they were posted, read as fixed-size records from the manager fd.
 *
 * Locking overview: mp_manager.lock (a spinlock) protects the queue and the
 * dead flag. Posting happens with the object's mutex held, so one object's
 * messages are queued in sequence-number order; the queue lock nests inside
 * the object mutex.
 */
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mempager_internal.h"

struct mp_msg_entry {
	struct list_head node;
	struct mempager_msg msg;
};

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
	xa_init_flags(&mgr->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	return mgr;
}

static void mp_manager_flush(struct mp_manager *mgr)
{
	struct mp_msg_entry *e, *tmp;
	LIST_HEAD(old);

	spin_lock(&mgr->lock);
	list_splice_init(&mgr->queue, &old);
	mgr->queued = 0;
	spin_unlock(&mgr->lock);
	list_for_each_entry_safe(e, tmp, &old, node)
		kfree(e);
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

/**
 * mp_manager_kill() - the manager fd is closed: the manager is dead
 * @mgr: the manager
 *
 * Every object it managed fails the faults waiting on it and every later
 * fault on a page not resident. No terminate is sent: nobody would read it.
 * Drops the handle table's object references.
 */
void mp_manager_kill(struct mp_manager *mgr)
{
	struct mp_object *obj;
	unsigned long handle;

	spin_lock(&mgr->lock);
	mgr->dead = true;
	spin_unlock(&mgr->lock);
	mp_manager_flush(mgr);

	xa_for_each(&mgr->objects, handle, obj) {
		xa_erase(&mgr->objects, handle);
		mp_object_manager_died(obj);
		mp_object_put(obj);
	}
}

/**
 * mp_post_locked() - queue a message for an object's manager
 * @obj: the object, its mutex held
 * @msg: the message; its object and seqno fields are filled here, and its
 *	control unless the caller set one
 *
 * Return: 0, -ENOMEM (nothing queued), or -EPIPE when the manager is dead.
 */
int mp_post_locked(struct mp_object *obj, struct mempager_msg *msg)
{
	struct mp_manager *mgr = obj->mgr;
	struct mp_msg_entry *e;

	lockdep_assert_held(&obj->mutex);
	if (!mgr)
		return -EPIPE;
	e = kmalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e)
		return -ENOMEM;
	msg->object = obj->handle;
	if (!msg->control)
		msg->control = obj->control;
	e->msg = *msg;

	spin_lock(&mgr->lock);
	if (mgr->dead) {
		spin_unlock(&mgr->lock);
		kfree(e);
		return -EPIPE;
	}
	e->msg.seqno = ++obj->seqno;
	list_add_tail(&e->node, &mgr->queue);
	mgr->queued++;
	spin_unlock(&mgr->lock);
	wake_up_interruptible_poll(&mgr->wait, EPOLLIN | EPOLLRDNORM);
	return 0;
}

/* Take up to @max messages off the queue, in order, into @list. */
static unsigned int mp_dequeue(struct mp_manager *mgr, struct list_head *list,
			       unsigned int max)
{
	unsigned int n = 0;

	spin_lock(&mgr->lock);
	while (n < max && !list_empty(&mgr->queue)) {
		list_move_tail(mgr->queue.next, list);
		mgr->queued--;
		n++;
	}
	spin_unlock(&mgr->lock);
	return n;
}

/* Put messages that could not be copied back at the head of the queue. */
static void mp_requeue(struct mp_manager *mgr, struct list_head *list,
		       unsigned int n)
{
	spin_lock(&mgr->lock);
	list_splice(list, &mgr->queue);
	mgr->queued += n;
	spin_unlock(&mgr->lock);
}

/**
 * mp_manager_read() - read(2) on a manager fd
 * @mgr: the manager
 * @buf: user buffer
 * @count: its size; whole messages are copied, as many as fit
 * @nonblock: O_NONBLOCK: return -EAGAIN rather than wait
 *
 * Return: bytes copied, -EINVAL for a buffer smaller than one message,
 * -EAGAIN, -ERESTARTSYS, or -EFAULT (the messages stay queued).
 */
ssize_t mp_manager_read(struct mp_manager *mgr, char __user *buf,
			size_t count, bool nonblock)
{
	unsigned int max = min_t(size_t, count / sizeof(struct mempager_msg),
				 1024);
	struct mp_msg_entry *e, *tmp;
	unsigned int n, copied = 0;
	LIST_HEAD(list);
	int ret;

	if (!max)
		return -EINVAL;
	for (;;) {
		n = mp_dequeue(mgr, &list, max);
		if (n)
			break;
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(mgr->wait,
					       READ_ONCE(mgr->queued));
		if (ret)
			return ret;
	}

	list_for_each_entry_safe(e, tmp, &list, node) {
		if (copy_to_user(buf + copied * sizeof(e->msg), &e->msg,
				 sizeof(e->msg)))
			break;
		list_del(&e->node);
		kfree(e);
		copied++;
	}
	if (copied < n) {
		/* A fault in the buffer: keep what was not delivered. */
		mp_requeue(mgr, &list, n - copied);
		if (!copied)
			return -EFAULT;
	}
	return copied * sizeof(struct mempager_msg);
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
