// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmempager: the server side, what MIG generates for a Mach pager. A
 * received message becomes a call of the pager's routine for it.
 *
 * Dropping the control reference: in Mach, a server routine that fails
 * makes the MIG server destroy the request, releasing the control right
 * it carried. A mempager control is a number, not a counted right, so the
 * library gives the failing incarnation up explicitly: it calls
 * memory_object_destroy() with the routine's return value as the reason
 * (the kernel fails the faults waiting on it instead of leaving them to
 * wait for an answer that will not come), and discards every later
 * message of that control except memory_object_terminate, which ends it.
 * The set of dropped controls is the process's, like a task's port name
 * space; controls are never reused, so an entry lives until its terminate.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

static pthread_mutex_t mp_dropped_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *mp_dropped;
static size_t mp_ndropped, mp_dropped_max;

static ssize_t mp_dropped_find_locked(uint64_t control)
{
	size_t i;

	for (i = 0; i < mp_ndropped; i++)
		if (mp_dropped[i] == control)
			return (ssize_t)i;
	return -1;
}

static int mp_control_dropped(uint64_t control)
{
	int dropped;

	pthread_mutex_lock(&mp_dropped_lock);
	dropped = mp_dropped_find_locked(control) >= 0;
	pthread_mutex_unlock(&mp_dropped_lock);
	return dropped;
}

/* Remember @control as dropped; without memory it is only destroyed. */
static void mp_control_remember(uint64_t control)
{
	uint64_t *grown;

	pthread_mutex_lock(&mp_dropped_lock);
	if (mp_ndropped == mp_dropped_max) {
		size_t max = mp_dropped_max ? 2 * mp_dropped_max : 16;

		grown = realloc(mp_dropped, max * sizeof(*grown));
		if (!grown)
			goto out_unlock;
		mp_dropped = grown;
		mp_dropped_max = max;
	}
	mp_dropped[mp_ndropped++] = control;
out_unlock:
	pthread_mutex_unlock(&mp_dropped_lock);
}

static void mp_control_forget(uint64_t control)
{
	ssize_t i;

	pthread_mutex_lock(&mp_dropped_lock);
	i = mp_dropped_find_locked(control);
	if (i >= 0)
		mp_dropped[i] = mp_dropped[--mp_ndropped];
	pthread_mutex_unlock(&mp_dropped_lock);
}

static void mp_control_drop(memory_object_control_t c, kern_return_t reason)
{
	mp_control_remember(c.control);
	memory_object_destroy(c, reason);
}

/*
 * Call routine @fn of whichever table is set, for @to, with the seqno for
 * @sr.
 */
#define MP_CALL_TO(to, fn, ...)						\
	(sr ? (sr->fn ? (*called = 1, sr->fn(to, m->seqno, __VA_ARGS__)) \
		      : MIG_BAD_ID)					\
	    : (r->fn ? (*called = 1, r->fn(to, __VA_ARGS__)) : MIG_BAD_ID))
#define MP_CALL(fn, ...) MP_CALL_TO(mo, fn, __VA_ARGS__)

static kern_return_t mp_dispatch(int fd, const struct mempager_msg *m,
				 const void *data,
				 const struct memory_object_routines *r,
				 const struct seqnos_memory_object_routines *sr,
				 int *called)
{
	memory_object_t mo = { .fd = fd, .object = m->object };
	memory_object_control_t c = mempager_msg_control(fd, m);
	memory_object_t other = { .fd = fd };
	const void *pages;

	switch (m->type) {
	case MEMPAGER_MSG_INIT:
		return MP_CALL(init, c, m->init.name, m->init.page_size);
	case MEMPAGER_MSG_DATA_REQUEST:
		return MP_CALL(data_request, c, m->request.offset,
			       m->request.length, m->request.desired_access);
	case MEMPAGER_MSG_DATA_UNLOCK:
		return MP_CALL(data_unlock, c, m->request.offset,
			       m->request.length, m->request.desired_access);
	case MEMPAGER_MSG_DATA_RETURN:
		pages = mempager_msg_data(m, data);
		if (!pages)
			return KERN_INVALID_ARGUMENT;
		return MP_CALL(data_return, c, m->data_return.offset, pages,
			       m->data_return.length, m->data_return.dirty,
			       m->data_return.kernel_copy);
	case MEMPAGER_MSG_LOCK_COMPLETED:
		return MP_CALL(lock_completed, c, m->range.offset,
			       m->range.length);
	case MEMPAGER_MSG_SUPPLY_COMPLETED:
		return MP_CALL(supply_completed, c, m->supply.offset,
			       m->supply.length, m->supply.result,
			       m->supply.error_offset);
	case MEMPAGER_MSG_CHANGE_COMPLETED:
		return MP_CALL(change_completed, m->change.may_cache,
			       m->change.copy_strategy);
	case MEMPAGER_MSG_TERMINATE:
		return MP_CALL(terminate, c);
	case MEMPAGER_MSG_SYNCHRONIZE:
		/* msync(2) waits for the answer: give it one by default. */
		if (sr ? !sr->synchronize : !r->synchronize)
			return memory_object_synchronize_completed(c,
					m->range.offset, m->range.length);
		return MP_CALL(synchronize, c, m->range.offset,
			       m->range.length, m->range.flags);
	case MEMPAGER_MSG_COPY:
		other.object = m->copy.new_object;
		return MP_CALL(copy, c, m->copy.offset, m->copy.length, other);
	case MEMPAGER_MSG_CREATE:
		/* To the default manager (object 0) about the new object. */
		return MP_CALL_TO(other, create, mo, m->create.size, c,
				  m->create.name, m->create.page_size);
	case MEMPAGER_MSG_DATA_INITIALIZE:
		pages = mempager_msg_data(m, data);
		if (!pages)
			return KERN_INVALID_ARGUMENT;
		return MP_CALL(data_initialize, c, m->data_return.offset,
			       pages, m->data_return.length);
	default:
		return MIG_BAD_ID;
	}
}

kern_return_t mp_serve(int fd, const struct mempager_msg *m,
		       const void *data,
		       const struct memory_object_routines *r,
		       const struct seqnos_memory_object_routines *sr,
		       unsigned int types)
{
	int called = 0;
	kern_return_t kr;

	if (m->type >= 32 || !(types & MP_TYPE_BIT(m->type)))
		return MIG_BAD_ID;
	if (m->type == MEMPAGER_MSG_TERMINATE)
		mp_control_forget(m->control);
	else if (mp_control_dropped(m->control))
		return KERN_INVALID_CAPABILITY;

	kr = mp_dispatch(fd, m, data, r, sr, &called);
	if (called && kr != KERN_SUCCESS && kr != MIG_NO_REPLY &&
	    m->type != MEMPAGER_MSG_TERMINATE)
		mp_control_drop(mempager_msg_control(fd, m), kr);
	return kr;
}

/*
 * The servers come in two versions. LIBMEMPAGER_0.2 (the default) reads
 * the whole routine table; LIBMEMPAGER_0, for programs built against
 * libmempager 0.1, whose tables end at synchronize, takes only the
 * messages that version knew and so never reads past a table's end.
 */
kern_return_t memory_object_server(int fd, const struct mempager_msg *msg,
				   const void *data,
				   const struct memory_object_routines *routines)
{
	return mp_serve(fd, msg, data, routines, NULL, MP_TYPES_OBJECT);
}

kern_return_t seqnos_memory_object_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct seqnos_memory_object_routines *routines)
{
	return mp_serve(fd, msg, data, NULL, routines, MP_TYPES_OBJECT);
}

kern_return_t memory_object_default_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct memory_object_routines *routines)
{
	return mp_serve(fd, msg, data, routines, NULL, MP_TYPES_DEFAULT);
}

kern_return_t seqnos_memory_object_default_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct seqnos_memory_object_routines *routines)
{
	return mp_serve(fd, msg, data, NULL, routines, MP_TYPES_DEFAULT);
}

kern_return_t mp_v0_server(int fd, const struct mempager_msg *msg,
			   const void *data,
			   const struct memory_object_routines *routines)
{
	return mp_serve(fd, msg, data, routines, NULL, MP_TYPES_V0);
}

MP_SYMVER_V0(mp_v0_server, memory_object_server);

kern_return_t mp_v0_seqnos_server(int fd, const struct mempager_msg *msg,
				  const void *data,
				  const struct seqnos_memory_object_routines *r)
{
	return mp_serve(fd, msg, data, NULL, r, MP_TYPES_V0);
}

MP_SYMVER_V0(mp_v0_seqnos_server, seqnos_memory_object_server);

kern_return_t mp_v0_default_server(int fd, const struct mempager_msg *msg,
				   const void *data,
				   const struct memory_object_routines *r)
{
	return mp_serve(fd, msg, data, r, NULL, MP_TYPES_V0_DEFAULT);
}

MP_SYMVER_V0(mp_v0_default_server, memory_object_default_server);

kern_return_t mp_v0_seqnos_default_server(int fd,
				const struct mempager_msg *msg,
				const void *data,
				const struct seqnos_memory_object_routines *r)
{
	return mp_serve(fd, msg, data, NULL, r, MP_TYPES_V0_DEFAULT);
}

MP_SYMVER_V0(mp_v0_seqnos_default_server,
	     seqnos_memory_object_default_server);
