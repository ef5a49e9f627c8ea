/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmempager: the Mach external memory management interface over
 * /dev/mempager, with Mach's names.
 *
 * A memory_object_control_t names one object's kernel state: the manager
 * fd, the object handle on it and the control of the current incarnation,
 * as delivered by memory_object_init. Calls return kern_return_t; errno
 * keeps the kernel's exact error.
 */
#ifndef LIBMEMPAGER_H
#define LIBMEMPAGER_H

#include <stddef.h>
#include <stdint.h>
#include <linux/mempager.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int kern_return_t;
typedef uint64_t vm_offset_t;
typedef uint64_t vm_size_t;
typedef int vm_prot_t;
typedef int boolean_t;
typedef int memory_object_copy_strategy_t;

#define KERN_SUCCESS		0
#define KERN_INVALID_ADDRESS	1
#define KERN_PROTECTION_FAILURE	2
#define KERN_INVALID_ARGUMENT	4
#define KERN_FAILURE		5
#define KERN_RESOURCE_SHORTAGE	6
#define KERN_INVALID_NAME	15
#define KERN_MEMORY_PRESENT	MEMPAGER_KERN_MEMORY_PRESENT
#define KERN_NOT_SUPPORTED	46

#define VM_PROT_NONE		MEMPAGER_PROT_NONE
#define VM_PROT_READ		MEMPAGER_PROT_READ
#define VM_PROT_WRITE		MEMPAGER_PROT_WRITE
#define VM_PROT_EXECUTE		MEMPAGER_PROT_EXECUTE
#define VM_PROT_ALL		MEMPAGER_PROT_ALL
#define VM_PROT_NO_CHANGE	MEMPAGER_PROT_NO_CHANGE

#define MEMORY_OBJECT_COPY_NONE		MEMPAGER_COPY_NONE
#define MEMORY_OBJECT_COPY_CALL		MEMPAGER_COPY_CALL
#define MEMORY_OBJECT_COPY_DELAY	MEMPAGER_COPY_DELAY
#define MEMORY_OBJECT_COPY_TEMPORARY	MEMPAGER_COPY_TEMPORARY

/**
 * typedef memory_object_control_t - the kernel side of one object
 * @fd: the manager fd
 * @object: the object handle on @fd
 * @control: the incarnation, from memory_object_init
 */
typedef struct {
	int fd;
	uint32_t object;
	uint64_t control;
} memory_object_control_t;

/* Turn an errno value into a kern_return_t. */
kern_return_t mempager_kern_return(int err);

/* The control a kernel message is about. */
memory_object_control_t mempager_msg_control(int fd,
					     const struct mempager_msg *msg);

/* Open /dev/mempager (O_RDWR | O_CLOEXEC); -1 and errno on error. */
int mempager_open(void);

/*
 * Create an object of @size bytes managed through @fd. Returns its handle
 * in *@object, a new object fd in *@object_fd and its name in *@name
 * (each may be NULL; an unwanted fd is closed).
 */
kern_return_t mempager_object_create(int fd, uint64_t size, unsigned int mode,
				     uint32_t *object, int *object_fd,
				     uint64_t *name);

/* Open an object by name; a new object fd in *@object_fd. */
kern_return_t mempager_object_open(int fd, uint64_t name, boolean_t writable,
				   int *object_fd);

/* Name the object that a later mmap of @fd maps. */
kern_return_t mempager_object_bind(int fd, int object_fd);

/* Mach's vm_region: the object name mapped at @addr. */
kern_return_t mempager_region(int fd, const void *addr, uint64_t *name,
			      uint64_t *start, uint64_t *end,
			      uint64_t *offset);

/*
 * Read up to @max messages; blocks unless @fd is O_NONBLOCK. Returns the
 * number read, or -1 and errno.
 */
int mempager_receive(int fd, struct mempager_msg *msgs, int max);

kern_return_t memory_object_ready(memory_object_control_t control,
				  boolean_t may_cache,
				  memory_object_copy_strategy_t copy_strategy);
kern_return_t memory_object_change_attributes(memory_object_control_t control,
				  boolean_t may_cache,
				  memory_object_copy_strategy_t copy_strategy,
				  boolean_t reply);
kern_return_t memory_object_get_attributes(memory_object_control_t control,
				  boolean_t *ready, boolean_t *may_cache,
				  memory_object_copy_strategy_t *copy_strategy);
kern_return_t memory_object_data_supply(memory_object_control_t control,
				  vm_offset_t offset, const void *data,
				  vm_size_t count, vm_prot_t lock_value,
				  boolean_t precious, boolean_t reply);
kern_return_t memory_object_data_unavailable(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size);
kern_return_t memory_object_data_error(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size,
				  kern_return_t reason);
kern_return_t memory_object_destroy(memory_object_control_t control,
				  kern_return_t reason);

#ifdef __cplusplus
}
#endif

#endif /* LIBMEMPAGER_H */
