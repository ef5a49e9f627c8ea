/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: every message in each direction and every fault, for
 * trace-cmd and bpftrace (events/mempager/).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mempager

#if !defined(_MEMPAGER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MEMPAGER_TRACE_H

#include <linux/tracepoint.h>
#include <linux/mempager.h>

#define mp_show_msg(type) __print_symbolic(type,			\
	{ MEMPAGER_MSG_INIT, "init" },					\
	{ MEMPAGER_MSG_DATA_REQUEST, "data_request" },			\
	{ MEMPAGER_MSG_SUPPLY_COMPLETED, "supply_completed" },		\
	{ MEMPAGER_MSG_CHANGE_COMPLETED, "change_completed" },		\
	{ MEMPAGER_MSG_TERMINATE, "terminate" },			\
	{ MEMPAGER_MSG_DATA_UNLOCK, "data_unlock" },			\
	{ MEMPAGER_MSG_DATA_RETURN, "data_return" },			\
	{ MEMPAGER_MSG_LOCK_COMPLETED, "lock_completed" },		\
	{ MEMPAGER_MSG_SYNCHRONIZE, "synchronize" },			\
	{ MEMPAGER_MSG_COPY, "copy" },					\
	{ MEMPAGER_MSG_CREATE, "create" },				\
	{ MEMPAGER_MSG_DATA_INITIALIZE, "data_initialize" })

#define mp_show_cmd(cmd) __print_symbolic(cmd,				\
	{ MEMPAGER_CMD_API, "api" },					\
	{ MEMPAGER_CMD_OBJECT_CREATE, "object_create" },		\
	{ MEMPAGER_CMD_OBJECT_OPEN, "object_open" },			\
	{ MEMPAGER_CMD_OBJECT_BIND, "object_bind" },			\
	{ MEMPAGER_CMD_READY, "ready" },				\
	{ MEMPAGER_CMD_CHANGE_ATTRIBUTES, "change_attributes" },	\
	{ MEMPAGER_CMD_GET_ATTRIBUTES, "get_attributes" },		\
	{ MEMPAGER_CMD_DATA_SUPPLY, "data_supply" },			\
	{ MEMPAGER_CMD_DATA_UNAVAILABLE, "data_unavailable" },		\
	{ MEMPAGER_CMD_DATA_ERROR, "data_error" },			\
	{ MEMPAGER_CMD_DESTROY, "destroy" },				\
	{ MEMPAGER_CMD_REGION, "region" },				\
	{ MEMPAGER_CMD_LOCK_REQUEST, "lock_request" },			\
	{ MEMPAGER_CMD_SYNCHRONIZE_COMPLETED, "synchronize_completed" },\
	{ MEMPAGER_CMD_RECEIVE, "receive" },				\
	{ MEMPAGER_CMD_SET_DEFAULT_MANAGER, "set_default_manager" })

/* A kernel to manager message, as it is queued. */
TRACE_EVENT(mempager_msg,
	TP_PROTO(u64 name, const struct mempager_msg *msg),
	TP_ARGS(name, msg),
	TP_STRUCT__entry(
		__field(u64, name)
		__field(u32, object)
		__field(u32, type)
		__field(u64, seqno)
		__field(u64, control)
		__field(u64, arg0)
		__field(u64, arg1)
	),
	TP_fast_assign(
		__entry->name = name;
		__entry->object = msg->object;
		__entry->type = msg->type;
		__entry->seqno = msg->seqno;
		__entry->control = msg->control;
		__entry->arg0 = msg->raw[0];
		__entry->arg1 = msg->raw[1];
	),
	TP_printk("name=%llu object=%u %s seqno=%llu control=%llu offset=%#llx length=%#llx",
		  __entry->name, __entry->object, mp_show_msg(__entry->type),
		  __entry->seqno, __entry->control, __entry->arg0,
		  __entry->arg1)
);

/* A manager to kernel call (an ioctl), with its result. */
TRACE_EVENT(mempager_call,
	TP_PROTO(unsigned int cmd, int result),
	TP_ARGS(cmd, result),
	TP_STRUCT__entry(
		__field(unsigned int, cmd)
		__field(int, result)
	),
	TP_fast_assign(
		__entry->cmd = cmd;
		__entry->result = result;
	),
	TP_printk("%s result=%d", mp_show_cmd(__entry->cmd), __entry->result)
);

DECLARE_EVENT_CLASS(mempager_fault_class,
	TP_PROTO(u64 name, unsigned long pgoff, unsigned int flags),
	TP_ARGS(name, pgoff, flags),
	TP_STRUCT__entry(
		__field(u64, name)
		__field(unsigned long, pgoff)
		__field(unsigned int, flags)
	),
	TP_fast_assign(
		__entry->name = name;
		__entry->pgoff = pgoff;
		__entry->flags = flags;
	),
	TP_printk("name=%llu pgoff=%lu %#x", __entry->name, __entry->pgoff,
		  __entry->flags)
);

/* Fault entry: flags are the fault flags (FAULT_FLAG_WRITE = 1). */
DEFINE_EVENT(mempager_fault_class, mempager_fault_enter,
	TP_PROTO(u64 name, unsigned long pgoff, unsigned int flags),
	TP_ARGS(name, pgoff, flags));

/* Fault exit: flags are the vm_fault_t result (VM_FAULT_RETRY = 0x400). */
DEFINE_EVENT(mempager_fault_class, mempager_fault_exit,
	TP_PROTO(u64 name, unsigned long pgoff, unsigned int flags),
	TP_ARGS(name, pgoff, flags));

#endif /* _MEMPAGER_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE mempager_trace
#include <trace/define_trace.h>
