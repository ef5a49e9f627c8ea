// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmempager: names of return codes and one-line descriptions of kernel
 * messages, for pagers that trace what they do.
 */
#include <stdio.h>

#include "libmempager.h"

const char *mach_error_string(kern_return_t kr)
{
	switch (kr) {
	case KERN_SUCCESS:
		return "KERN_SUCCESS";
	case KERN_INVALID_ADDRESS:
		return "KERN_INVALID_ADDRESS";
	case KERN_PROTECTION_FAILURE:
		return "KERN_PROTECTION_FAILURE";
	case KERN_INVALID_ARGUMENT:
		return "KERN_INVALID_ARGUMENT";
	case KERN_FAILURE:
		return "KERN_FAILURE";
	case KERN_RESOURCE_SHORTAGE:
		return "KERN_RESOURCE_SHORTAGE";
	case KERN_INVALID_NAME:
		return "KERN_INVALID_NAME";
	case KERN_INVALID_CAPABILITY:
		return "KERN_INVALID_CAPABILITY";
	case KERN_MEMORY_PRESENT:
		return "KERN_MEMORY_PRESENT";
	case KERN_NOT_SUPPORTED:
		return "KERN_NOT_SUPPORTED";
	case MIG_BAD_ID:
		return "MIG_BAD_ID";
	case MIG_NO_REPLY:
		return "MIG_NO_REPLY";
	default:
		return "(unknown kern_return_t)";
	}
}

static const char *const mp_access_names[] = {
	"-", "R", "W", "RW", "X", "RX", "WX", "RWX",
};

static const char *mp_access(unsigned int access)
{
	return access < 8 ? mp_access_names[access] : "?";
}

int mempager_msg_format(const struct mempager_msg *m, char *buf, size_t size)
{
	unsigned long long seq = m->seqno, ctl = m->control;
	unsigned int obj = m->object;

	switch (m->type) {
	case MEMPAGER_MSG_INIT:
		return snprintf(buf, size,
				"init obj=%u seq=%llu control=%llu name=%llu page_size=%u",
				obj, seq, ctl, (unsigned long long)m->init.name,
				m->init.page_size);
	case MEMPAGER_MSG_DATA_REQUEST:
	case MEMPAGER_MSG_DATA_UNLOCK:
		return snprintf(buf, size,
				"%s obj=%u seq=%llu offset=%#llx len=%llu access=%s",
				m->type == MEMPAGER_MSG_DATA_REQUEST ?
				"data_request" : "data_unlock", obj, seq,
				(unsigned long long)m->request.offset,
				(unsigned long long)m->request.length,
				mp_access(m->request.desired_access));
	case MEMPAGER_MSG_SUPPLY_COMPLETED:
		return snprintf(buf, size,
				"supply_completed obj=%u seq=%llu offset=%#llx len=%llu result=%s error_offset=%#llx",
				obj, seq, (unsigned long long)m->supply.offset,
				(unsigned long long)m->supply.length,
				mach_error_string(m->supply.result),
				(unsigned long long)m->supply.error_offset);
	case MEMPAGER_MSG_CHANGE_COMPLETED:
		return snprintf(buf, size,
				"change_completed obj=%u seq=%llu may_cache=%u copy_strategy=%u",
				obj, seq, m->change.may_cache,
				m->change.copy_strategy);
	case MEMPAGER_MSG_TERMINATE:
		return snprintf(buf, size, "terminate obj=%u seq=%llu control=%llu",
				obj, seq, ctl);
	case MEMPAGER_MSG_DATA_RETURN:
		return snprintf(buf, size,
				"data_return obj=%u seq=%llu offset=%#llx len=%llu dirty=%u kernel_copy=%u",
				obj, seq, (unsigned long long)m->data_return.offset,
				(unsigned long long)m->data_return.length,
				m->data_return.dirty, m->data_return.kernel_copy);
	case MEMPAGER_MSG_LOCK_COMPLETED:
	case MEMPAGER_MSG_SYNCHRONIZE:
		return snprintf(buf, size,
				"%s obj=%u seq=%llu offset=%#llx len=%llu%s",
				m->type == MEMPAGER_MSG_LOCK_COMPLETED ?
				"lock_completed" : "synchronize", obj, seq,
				(unsigned long long)m->range.offset,
				(unsigned long long)m->range.length,
				m->range.flags & MEMPAGER_SYNC_SYNCHRONOUS ?
				" sync" : "");
	case MEMPAGER_MSG_COPY:
		return snprintf(buf, size,
				"copy obj=%u seq=%llu offset=%#llx len=%llu new_obj=%u new_name=%llu",
				obj, seq, (unsigned long long)m->copy.offset,
				(unsigned long long)m->copy.length,
				m->copy.new_object,
				(unsigned long long)m->copy.new_name);
	case MEMPAGER_MSG_CREATE:
		return snprintf(buf, size,
				"create obj=%u seq=%llu control=%llu name=%llu size=%llu page_size=%u",
				obj, seq, ctl, (unsigned long long)m->create.name,
				(unsigned long long)m->create.size,
				m->create.page_size);
	case MEMPAGER_MSG_DATA_INITIALIZE:
		return snprintf(buf, size,
				"data_initialize obj=%u seq=%llu offset=%#llx len=%llu",
				obj, seq, (unsigned long long)m->data_return.offset,
				(unsigned long long)m->data_return.length);
	default:
		return snprintf(buf, size, "message type %u obj=%u seq=%llu",
				m->type, obj, seq);
	}
}
