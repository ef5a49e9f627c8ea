// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmempager: Mach names over the /dev/mempager ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libmempager.h"

kern_return_t mempager_kern_return(int err)
{
	switch (err) {
	case 0:
		return KERN_SUCCESS;
	case EFAULT:
		return KERN_INVALID_ADDRESS;
	case EACCES:
	case EPERM:
		return KERN_PROTECTION_FAILURE;
	case EINVAL:
	case E2BIG:
	case EOVERFLOW:
		return KERN_INVALID_ARGUMENT;
	case ENOENT:
	case EBADF:
		return KERN_INVALID_NAME;
	case ENOMEM:
		return KERN_RESOURCE_SHORTAGE;
	case EOPNOTSUPP:
	case ENOTTY:
		return KERN_NOT_SUPPORTED;
	default:
		return KERN_FAILURE;
	}
}

/* Every call: the ioctl, its errno turned into a kern_return_t. */
static kern_return_t mp_call(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? mempager_kern_return(errno) : KERN_SUCCESS;
}

memory_object_control_t mempager_msg_control(int fd,
					     const struct mempager_msg *msg)
{
	memory_object_control_t c = {
		.fd = fd, .object = msg->object, .control = msg->control,
	};

	return c;
}

const void *mempager_msg_data(const struct mempager_msg *msg,
			      const void *data)
{
	if ((msg->type != MEMPAGER_MSG_DATA_RETURN &&
	     msg->type != MEMPAGER_MSG_DATA_INITIALIZE) || !data)
		return NULL;
	return (const char *)data + msg->data_return.data_offset;
}

int mempager_open(void)
{
	return open("/dev/mempager", O_RDWR | O_CLOEXEC);
}

boolean_t mempager_has_ioctl(int fd, unsigned int cmd)
{
	struct mempager_api api = { .size = sizeof(api) };

	if (cmd >= 64 || ioctl(fd, MEMPAGER_API, &api))
		return 0;
	return !!(api.out_ioctls & (1ULL << cmd));
}

kern_return_t mempager_object_create(int fd, uint64_t size, unsigned int mode,
				     uint32_t *object, int *object_fd,
				     uint64_t *name)
{
	struct mempager_object_create oc = {
		.size = sizeof(oc), .object_size = size, .mode = mode,
	};
	kern_return_t kr = mp_call(fd, MEMPAGER_OBJECT_CREATE, &oc);

	if (kr)
		return kr;
	if (object)
		*object = oc.out_object;
	if (name)
		*name = oc.out_name;
	if (object_fd)
		*object_fd = oc.out_fd;
	else
		close(oc.out_fd);
	return KERN_SUCCESS;
}

kern_return_t mempager_object_open(int fd, uint64_t name, boolean_t writable,
				   int *object_fd)
{
	struct mempager_object_open oo = {
		.size = sizeof(oo), .name = name,
		.flags = writable ? MEMPAGER_OPEN_WRITE : 0,
	};
	kern_return_t kr = mp_call(fd, MEMPAGER_OBJECT_OPEN, &oo);

	if (!kr)
		*object_fd = oo.out_fd;
	return kr;
}

kern_return_t mempager_object_bind(int fd, int object_fd)
{
	struct mempager_object_bind ob = { .size = sizeof(ob), .fd = object_fd };

	return mp_call(fd, MEMPAGER_OBJECT_BIND, &ob);
}

kern_return_t mempager_region(int fd, const void *addr, uint64_t *name,
			      uint64_t *start, uint64_t *end, uint64_t *offset)
{
	struct mempager_region r = {
		.size = sizeof(r), .addr = (uintptr_t)addr,
	};
	kern_return_t kr = mp_call(fd, MEMPAGER_REGION, &r);

	if (kr)
		return kr;
	if (name)
		*name = r.out_name;
	if (start)
		*start = r.out_start;
	if (end)
		*end = r.out_end;
	if (offset)
		*offset = r.out_offset;
	return KERN_SUCCESS;
}

int mempager_receive(int fd, struct mempager_msg *msgs, int max)
{
	ssize_t n = read(fd, msgs, (size_t)max * sizeof(*msgs));

	return n < 0 ? -1 : (int)(n / sizeof(*msgs));
}

int mempager_receive_data(int fd, struct mempager_msg *msgs, int max,
			  void *data, size_t data_size)
{
	struct mempager_receive r = {
		.size = sizeof(r), .msgs = (uintptr_t)msgs, .msgs_max = max,
		.data = (uintptr_t)data, .data_size = data_size,
	};

	if (max < 1) {
		errno = EINVAL;
		return -1;
	}
	return ioctl(fd, MEMPAGER_RECEIVE, &r) ? -1 : (int)r.out_msgs;
}

/* The arguments of memory_object_data_supply() as the kernel takes them. */
static struct mempager_data_supply mp_supply_args(memory_object_control_t c,
				vm_offset_t offset, const void *data,
				vm_size_t count, vm_prot_t lock_value,
				boolean_t precious, boolean_t reply)
{
	struct mempager_data_supply ds = {
		.size = sizeof(ds), .object = c.object, .control = c.control,
		.offset = offset, .length = count, .data = (uintptr_t)data,
		.lock_value = lock_value,
		.flags = (precious ? MEMPAGER_SUPPLY_PRECIOUS : 0) |
			 (reply ? MEMPAGER_REPLY : 0),
	};

	return ds;
}

int mempager_supply_receive(memory_object_control_t control,
			    vm_offset_t offset, const void *page_data,
			    vm_size_t count, vm_prot_t lock_value,
			    boolean_t precious, boolean_t reply,
			    struct mempager_msg *msgs, int max, void *data,
			    size_t data_size)
{
	struct mempager_data_supply ds = mp_supply_args(control, offset,
			page_data, count, lock_value, precious, reply);
	struct mempager_receive r = {
		.size = sizeof(r), .flags = MEMPAGER_RECEIVE_SUPPLY,
		.msgs = (uintptr_t)msgs, .msgs_max = max,
		.data = (uintptr_t)data, .data_size = data_size,
		.supply = (uintptr_t)&ds,
	};

	if (max < 1) {
		errno = EINVAL;
		return -1;
	}
	return ioctl(control.fd, MEMPAGER_RECEIVE, &r) ? -1 : (int)r.out_msgs;
}

static kern_return_t mp_attributes(memory_object_control_t c,
				   unsigned long cmd, uint32_t flags,
				   boolean_t may_cache,
				   memory_object_copy_strategy_t strategy)
{
	struct mempager_attributes at = {
		.size = sizeof(at), .flags = flags, .object = c.object,
		.control = c.control, .may_cache = may_cache,
		.copy_strategy = strategy,
	};

	return mp_call(c.fd, cmd, &at);
}

kern_return_t memory_object_ready(memory_object_control_t control,
				  boolean_t may_cache,
				  memory_object_copy_strategy_t copy_strategy)
{
	return mp_attributes(control, MEMPAGER_READY, 0, may_cache,
			     copy_strategy);
}

kern_return_t memory_object_change_attributes(memory_object_control_t control,
				  boolean_t may_cache,
				  memory_object_copy_strategy_t copy_strategy,
				  boolean_t reply)
{
	return mp_attributes(control, MEMPAGER_CHANGE_ATTRIBUTES,
			     reply ? MEMPAGER_REPLY : 0, may_cache,
			     copy_strategy);
}

kern_return_t memory_object_get_attributes(memory_object_control_t control,
				  boolean_t *ready, boolean_t *may_cache,
				  memory_object_copy_strategy_t *copy_strategy)
{
	struct mempager_attributes at = {
		.size = sizeof(at), .object = control.object,
		.control = control.control,
	};
	kern_return_t kr = mp_call(control.fd, MEMPAGER_GET_ATTRIBUTES, &at);

	if (kr)
		return kr;
	*ready = at.out_ready;
	*may_cache = at.may_cache;
	*copy_strategy = at.copy_strategy;
	return KERN_SUCCESS;
}

kern_return_t memory_object_data_supply(memory_object_control_t control,
				  vm_offset_t offset, const void *data,
				  vm_size_t count, vm_prot_t lock_value,
				  boolean_t precious, boolean_t reply)
{
	struct mempager_data_supply ds = mp_supply_args(control, offset, data,
			count, lock_value, precious, reply);

	return mp_call(control.fd, MEMPAGER_DATA_SUPPLY, &ds);
}

static kern_return_t mp_data_range(memory_object_control_t c,
				   unsigned long cmd, vm_offset_t offset,
				   vm_size_t size, int reason)
{
	struct mempager_data_range dr = {
		.size = sizeof(dr), .object = c.object, .control = c.control,
		.offset = offset, .length = size, .reason = reason,
	};

	return mp_call(c.fd, cmd, &dr);
}

kern_return_t memory_object_data_unavailable(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size)
{
	return mp_data_range(control, MEMPAGER_DATA_UNAVAILABLE, offset, size,
			     0);
}

kern_return_t memory_object_data_error(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size,
				  kern_return_t reason)
{
	return mp_data_range(control, MEMPAGER_DATA_ERROR, offset, size,
			     reason);
}

kern_return_t memory_object_destroy(memory_object_control_t control,
				  kern_return_t reason)
{
	struct mempager_destroy d = {
		.size = sizeof(d), .object = control.object,
		.control = control.control, .reason = reason,
	};

	return mp_call(control.fd, MEMPAGER_DESTROY, &d);
}

kern_return_t memory_object_lock_request(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size,
				  memory_object_return_t should_return,
				  boolean_t should_flush, vm_prot_t lock_value,
				  boolean_t reply)
{
	struct mempager_lock_request lr = {
		.size = sizeof(lr), .flags = reply ? MEMPAGER_REPLY : 0,
		.object = control.object, .control = control.control,
		.offset = offset, .length = size,
		.should_return = should_return,
		.should_flush = !!should_flush, .lock_value = lock_value,
	};

	return mp_call(control.fd, MEMPAGER_LOCK_REQUEST, &lr);
}

kern_return_t memory_object_synchronize_completed(
				  memory_object_control_t control,
				  vm_offset_t offset, vm_size_t length)
{
	struct mempager_synchronize_completed sc = {
		.size = sizeof(sc), .object = control.object,
		.control = control.control, .offset = offset, .length = length,
	};

	return mp_call(control.fd, MEMPAGER_SYNCHRONIZE_COMPLETED, &sc);
}
