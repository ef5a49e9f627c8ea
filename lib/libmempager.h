/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmempager: the Mach external memory management interface over
 * /dev/mempager, with Mach's names.
 *
 * A memory_object_control_t names one object's kernel state: the manager
 * fd, the object handle on it and the control of the current incarnation,
 * as delivered by memory_object_init. Calls return kern_return_t; errno
 * keeps the kernel's exact error.
 *
 * The server half (memory_object_server() and friends) turns received
 * messages into calls of the pager's routines, as MIG's generated server
 * does in Mach. Every function has a man page in section 3.
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
typedef int memory_object_return_t;
typedef uint64_t memory_object_name_t;
typedef uint64_t mach_port_seqno_t;
typedef unsigned int vm_sync_t;

#define KERN_SUCCESS		0
#define KERN_INVALID_ADDRESS	1
#define KERN_PROTECTION_FAILURE	2
#define KERN_INVALID_ARGUMENT	4
#define KERN_FAILURE		5
#define KERN_RESOURCE_SHORTAGE	6
#define KERN_INVALID_NAME	15
#define KERN_INVALID_CAPABILITY	20
#define KERN_MEMORY_PRESENT	MEMPAGER_KERN_MEMORY_PRESENT
#define KERN_NOT_SUPPORTED	46

/* MIG's server return codes, as in Mach. */
#define MIG_BAD_ID		(-303)
#define MIG_NO_REPLY		(-305)

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

#define MEMORY_OBJECT_RETURN_NONE	MEMPAGER_RETURN_NONE
#define MEMORY_OBJECT_RETURN_DIRTY	MEMPAGER_RETURN_DIRTY
#define MEMORY_OBJECT_RETURN_ALL	MEMPAGER_RETURN_ALL
#define MEMORY_OBJECT_RETURN_ANYTHING	MEMPAGER_RETURN_ANYTHING

#define VM_SYNC_SYNCHRONOUS	MEMPAGER_SYNC_SYNCHRONOUS

/**
 * typedef memory_object_t - an object as its manager names it
 * @fd: the manager fd (the receive right)
 * @object: the object handle on @fd
 */
typedef struct {
	int fd;
	uint32_t object;
} memory_object_t;

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

/* The name of a kern_return_t ("KERN_SUCCESS"), as Mach's. */
const char *mach_error_string(kern_return_t kr);

/* The control a kernel message is about. */
memory_object_control_t mempager_msg_control(int fd,
					     const struct mempager_msg *msg);

/*
 * The page data of a MEMPAGER_MSG_DATA_RETURN or
 * MEMPAGER_MSG_DATA_INITIALIZE in a receive buffer.
 */
const void *mempager_msg_data(const struct mempager_msg *msg,
			      const void *data);

/*
 * One line describing @msg ("data_request obj=1 seq=3 offset=0x2000
 * len=4096 access=R"), at most @size bytes with its NUL. Returns what
 * snprintf returns.
 */
int mempager_msg_format(const struct mempager_msg *msg, char *buf,
			size_t size);

/* Open /dev/mempager (O_RDWR | O_CLOEXEC); -1 and errno on error. */
int mempager_open(void);

/* Whether the kernel behind @fd implements ioctl command @cmd. */
boolean_t mempager_has_ioctl(int fd, unsigned int cmd);

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
 * Read up to @max messages with read(2); blocks unless @fd is O_NONBLOCK.
 * Returns the number read, or -1 and errno.
 */
int mempager_receive(int fd, struct mempager_msg *msgs, int max);

/*
 * Take up to @max messages and the page data of their data_returns into
 * @data (@data_size bytes) with MEMPAGER_RECEIVE; blocks unless @fd is
 * O_NONBLOCK. Returns the number of messages, or -1 and errno (EMSGSIZE:
 * the first message's data does not fit in @data).
 */
int mempager_receive_data(int fd, struct mempager_msg *msgs, int max,
			  void *data, size_t data_size);

/*
 * memory_object_data_supply() and then mempager_receive_data() in one
 * system call (MEMPAGER_RECEIVE_SUPPLY), as a Mach server's mach_msg()
 * sends its reply and receives the next request. Returns the number of
 * messages received, 0 when the supply was done but nothing could be
 * received (mempager_receive_data() tells why), or -1 and errno when the
 * supply failed (nothing was received then).
 */
int mempager_supply_receive(memory_object_control_t control,
			    vm_offset_t offset, const void *page_data,
			    vm_size_t count, vm_prot_t lock_value,
			    boolean_t precious, boolean_t reply,
			    struct mempager_msg *msgs, int max, void *data,
			    size_t data_size);

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
kern_return_t memory_object_lock_request(memory_object_control_t control,
				  vm_offset_t offset, vm_size_t size,
				  memory_object_return_t should_return,
				  boolean_t should_flush, vm_prot_t lock_value,
				  boolean_t reply);
kern_return_t memory_object_synchronize_completed(
				  memory_object_control_t control,
				  vm_offset_t offset, vm_size_t length);

/**
 * struct memory_object_routines - a pager's server routines
 *
 * memory_object_server() calls the one a message names; NULL means the
 * pager does not handle that message (MIG_BAD_ID), except @synchronize,
 * whose absence is answered by memory_object_synchronize_completed().
 * A routine that returns anything but KERN_SUCCESS or MIG_NO_REPLY drops
 * the control reference (see memory_object_server(3)).
 *
 * The library reads a table through a pointer and never knows its size,
 * so members are only ever appended: @copy, @create and @data_initialize
 * came with libmempager 0.2. A program built against this header gets the
 * servers of version node LIBMEMPAGER_0.2, which read them; one built
 * against 0.1 keeps the LIBMEMPAGER_0 servers, which stop at @synchronize.
 * Initialise the table with designated initialisers (or zero it first):
 * members left out are NULL.
 *
 * @create's @default_manager is the manager fd with object handle 0: the
 * message is addressed to the default manager, @new_memory_object is the
 * new object's handle on that fd.
 */
struct memory_object_routines {
	kern_return_t (*init)(memory_object_t memory_object,
			      memory_object_control_t memory_control,
			      memory_object_name_t memory_object_name,
			      vm_size_t memory_object_page_size);
	kern_return_t (*data_request)(memory_object_t memory_object,
				      memory_object_control_t memory_control,
				      vm_offset_t offset, vm_size_t length,
				      vm_prot_t desired_access);
	kern_return_t (*data_unlock)(memory_object_t memory_object,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, vm_size_t length,
				     vm_prot_t desired_access);
	kern_return_t (*data_return)(memory_object_t memory_object,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, const void *data,
				     vm_size_t data_count, boolean_t dirty,
				     boolean_t kernel_copy);
	kern_return_t (*lock_completed)(memory_object_t memory_object,
					memory_object_control_t memory_control,
					vm_offset_t offset, vm_size_t length);
	kern_return_t (*supply_completed)(memory_object_t memory_object,
					  memory_object_control_t memory_control,
					  vm_offset_t offset, vm_size_t length,
					  kern_return_t result,
					  vm_offset_t error_offset);
	kern_return_t (*change_completed)(memory_object_t memory_object,
					  boolean_t may_cache,
					  memory_object_copy_strategy_t
					  copy_strategy);
	kern_return_t (*terminate)(memory_object_t memory_object,
				   memory_object_control_t memory_control);
	kern_return_t (*synchronize)(memory_object_t memory_object,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, vm_size_t length,
				     vm_sync_t sync_flags);
	/* Appended in libmempager 0.2 (version node LIBMEMPAGER_0.2). */
	kern_return_t (*copy)(memory_object_t old_memory_object,
			      memory_object_control_t old_memory_control,
			      vm_offset_t offset, vm_size_t length,
			      memory_object_t new_memory_object);
	kern_return_t (*create)(memory_object_t default_manager,
				memory_object_t new_memory_object,
				vm_size_t new_object_size,
				memory_object_control_t new_control,
				memory_object_name_t new_name,
				vm_size_t new_page_size);
	kern_return_t (*data_initialize)(memory_object_t memory_object,
					 memory_object_control_t memory_control,
					 vm_offset_t offset, const void *data,
					 vm_size_t data_count);
};

/* The same routines with the message's sequence number after the object. */
struct seqnos_memory_object_routines {
	kern_return_t (*init)(memory_object_t memory_object,
			      mach_port_seqno_t seqno,
			      memory_object_control_t memory_control,
			      memory_object_name_t memory_object_name,
			      vm_size_t memory_object_page_size);
	kern_return_t (*data_request)(memory_object_t memory_object,
				      mach_port_seqno_t seqno,
				      memory_object_control_t memory_control,
				      vm_offset_t offset, vm_size_t length,
				      vm_prot_t desired_access);
	kern_return_t (*data_unlock)(memory_object_t memory_object,
				     mach_port_seqno_t seqno,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, vm_size_t length,
				     vm_prot_t desired_access);
	kern_return_t (*data_return)(memory_object_t memory_object,
				     mach_port_seqno_t seqno,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, const void *data,
				     vm_size_t data_count, boolean_t dirty,
				     boolean_t kernel_copy);
	kern_return_t (*lock_completed)(memory_object_t memory_object,
					mach_port_seqno_t seqno,
					memory_object_control_t memory_control,
					vm_offset_t offset, vm_size_t length);
	kern_return_t (*supply_completed)(memory_object_t memory_object,
					  mach_port_seqno_t seqno,
					  memory_object_control_t memory_control,
					  vm_offset_t offset, vm_size_t length,
					  kern_return_t result,
					  vm_offset_t error_offset);
	kern_return_t (*change_completed)(memory_object_t memory_object,
					  mach_port_seqno_t seqno,
					  boolean_t may_cache,
					  memory_object_copy_strategy_t
					  copy_strategy);
	kern_return_t (*terminate)(memory_object_t memory_object,
				   mach_port_seqno_t seqno,
				   memory_object_control_t memory_control);
	kern_return_t (*synchronize)(memory_object_t memory_object,
				     mach_port_seqno_t seqno,
				     memory_object_control_t memory_control,
				     vm_offset_t offset, vm_size_t length,
				     vm_sync_t sync_flags);
	/* Appended in libmempager 0.2 (version node LIBMEMPAGER_0.2). */
	kern_return_t (*copy)(memory_object_t old_memory_object,
			      mach_port_seqno_t seqno,
			      memory_object_control_t old_memory_control,
			      vm_offset_t offset, vm_size_t length,
			      memory_object_t new_memory_object);
	kern_return_t (*create)(memory_object_t default_manager,
				mach_port_seqno_t seqno,
				memory_object_t new_memory_object,
				vm_size_t new_object_size,
				memory_object_control_t new_control,
				memory_object_name_t new_name,
				vm_size_t new_page_size);
	kern_return_t (*data_initialize)(memory_object_t memory_object,
					 mach_port_seqno_t seqno,
					 memory_object_control_t memory_control,
					 vm_offset_t offset, const void *data,
					 vm_size_t data_count);
};

/*
 * Call the routine that @msg, received on @fd, names. @data is the data
 * buffer the message was received with (mempager_receive_data), or NULL.
 * Returns the routine's value, MIG_BAD_ID when this server does not
 * handle the message, KERN_INVALID_CAPABILITY when its control was
 * dropped (the message is discarded).
 */
kern_return_t memory_object_server(int fd, const struct mempager_msg *msg,
				   const void *data,
				   const struct memory_object_routines *routines);
kern_return_t seqnos_memory_object_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct seqnos_memory_object_routines *routines);

/*
 * The default pager's server: the same, but only for the messages a
 * default pager receives: create and data_initialize, and no copy,
 * data_unlock, lock_completed, supply_completed. memory_object_server()
 * does not take create and data_initialize.
 */
kern_return_t memory_object_default_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct memory_object_routines *routines);
kern_return_t seqnos_memory_object_default_server(int fd,
			const struct mempager_msg *msg, const void *data,
			const struct seqnos_memory_object_routines *routines);

/*
 * Receive and serve @fd's messages with @nthreads threads, one object's
 * messages one at a time and in sequence-number order. Every message
 * either server takes is dispatched, so a default pager may use it too.
 * Returns 0 after mempager_server_stop(@fd), or -1 and errno when
 * receiving fails.
 */
int mempager_server_loop(int fd, const struct memory_object_routines *routines,
			 int nthreads);
int seqnos_mempager_server_loop(int fd,
			const struct seqnos_memory_object_routines *routines,
			int nthreads);

/* Make the server loop running on @fd return; -1 and ESRCH if none. */
int mempager_server_stop(int fd);

#ifdef __cplusplus
}
#endif

#endif /* LIBMEMPAGER_H */
