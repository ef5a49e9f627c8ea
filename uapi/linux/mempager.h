/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mempager: the Mach external memory management interface on Linux.
 */
#ifndef _UAPI_LINUX_MEMPAGER_H
#define _UAPI_LINUX_MEMPAGER_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * Every ioctl of ``/dev/mempager`` takes a pointer to a structure whose first
 * ``__u32`` is its size, as the caller knows it. The kernel copies the
 * structure with copy_struct_from_user() semantics:
 *
 *  - a caller's structure shorter than the kernel's is zero-extended, but it
 *    must reach at least the last field the ioctl was first defined with;
 *  - a caller's structure longer than the kernel's must have only zero bytes
 *    beyond what the kernel knows.
 *
 * The smallest size each ioctl accepts is its structure's
 * ``MEMPAGER_*_SIZE_VER0`` below; a smaller one gives EINVAL. For every
 * structure but &struct mempager_receive that is its full size today:
 *
 *  - MEMPAGER_API: &struct mempager_api, 40 bytes
 *  - MEMPAGER_OBJECT_CREATE: &struct mempager_object_create, 40
 *  - MEMPAGER_OBJECT_OPEN: &struct mempager_object_open, 24
 *  - MEMPAGER_OBJECT_BIND: &struct mempager_object_bind, 16
 *  - MEMPAGER_READY, MEMPAGER_CHANGE_ATTRIBUTES, MEMPAGER_GET_ATTRIBUTES:
 *    &struct mempager_attributes, 40
 *  - MEMPAGER_DATA_SUPPLY: &struct mempager_data_supply, 48
 *  - MEMPAGER_DATA_UNAVAILABLE, MEMPAGER_DATA_ERROR:
 *    &struct mempager_data_range, 40
 *  - MEMPAGER_DESTROY: &struct mempager_destroy, 24
 *  - MEMPAGER_REGION: &struct mempager_region, 48
 *  - MEMPAGER_LOCK_REQUEST: &struct mempager_lock_request, 48
 *  - MEMPAGER_SYNCHRONIZE_COMPLETED: &struct mempager_synchronize_completed,
 *    40
 *  - MEMPAGER_RECEIVE: &struct mempager_receive up to @out_data, 48 (of 56:
 *    @supply came later)
 *  - MEMPAGER_SET_DEFAULT_MANAGER: &struct mempager_default_manager, 8
 *
 * Output fields are named ``out_*`` and written back up to the smaller of the
 * two sizes. Every ``flags`` field and every ``__reserved`` field must be zero
 * unless a flag is defined for it; pointers travel as ``__aligned_u64``.
 *
 * One errno table serves every ioctl:
 *
 *  - ENOTTY: the ioctl number is not a mempager ioctl.
 *  - E2BIG: the structure is larger than the kernel knows and a byte beyond
 *    the known part is not zero.
 *  - EINVAL: the structure is smaller than its ``MEMPAGER_*_SIZE_VER0``, a
 *    flag or reserved field is not zero, or a field is out of range (an
 *    offset or size that is not a page multiple, lock bits above
 *    %MEMPAGER_PROT_ALL); a manager call or MEMPAGER_RECEIVE on a
 *    ``/dev/mempager`` fd that is not a manager fd.
 *  - EOPNOTSUPP: the field is understood but the value is not supported
 *    (an unknown copy strategy, an unknown feature).
 *  - ENOENT: a handle (object, control) names nothing that exists now.
 *  - EOVERFLOW: offset + size overflows or lies beyond the object.
 *  - EPERM / EACCES: the caller may not do this to that object.
 *  - EDQUOT: the caller's uid owns max_objects_per_user objects already.
 *  - ENOMEM: out of memory; nothing was changed.
 *  - EFAULT: the structure, or memory it points to, cannot be accessed.
 *  - EBADF: MEMPAGER_OBJECT_BIND was given an fd that is not an object fd.
 *  - EBUSY: the fd's role forbids the call: MEMPAGER_OBJECT_CREATE or
 *    MEMPAGER_SET_DEFAULT_MANAGER on an fd with an object bound,
 *    MEMPAGER_OBJECT_BIND on a manager fd or an fd already bound.
 *  - EAGAIN: MEMPAGER_RECEIVE (and read(2)) on an O_NONBLOCK manager fd
 *    with no message queued.
 *  - EMSGSIZE: MEMPAGER_RECEIVE whose data buffer cannot hold the page data
 *    of the first queued message (read(2): any message with page data).
 *  - EINTR: a signal interrupted MEMPAGER_RECEIVE's wait for a message (the
 *    call is restarted when the handler has SA_RESTART).
 *
 * A failing call changes no state.
 */

/**
 * DOC: Handles
 *
 * A *manager fd* is a ``/dev/mempager`` file descriptor on which a pager
 * created objects: it is the receive right of those objects' ports. Kernel
 * messages for them are read from it (read(2), poll(2), epoll); the manager
 * calls are ioctls on it. Closing it is the death of the manager: when the
 * last reference to the open file goes, as for any file. A copy made with
 * dup(2), fork(2) or SCM_RIGHTS keeps the manager alive, and so does a
 * read(2) or MEMPAGER_RECEIVE blocked in another thread on the same fd
 * until it returns (with the next message, or -1 and EINTR when a signal
 * interrupts it): a threaded pager that closes its fd also stops its
 * receiving threads, or its clients may wait for answers that never come.
 *
 * An *object handle* (``__u32 object``) names an object within its manager fd.
 *
 * A *control* (``__u64 control``) names one incarnation of the kernel's state
 * for an object: ``memory_object_init`` hands out a new control, and after
 * ``memory_object_terminate`` the old control is stale (ENOENT). Every manager
 * call carries the object and the control it answers for.
 *
 * A *name* (``__u64 name``) identifies an object system-wide for as long as
 * it exists; it is what MEMPAGER_OBJECT_OPEN takes and what
 * MEMPAGER_REGION reports for a mapped address.
 *
 * An *object fd* is the send right of an object: an application that holds
 * one may mmap it (or bind it to a ``/dev/mempager`` fd and mmap that). It
 * can be passed over a Unix socket with SCM_RIGHTS.
 */

#define MEMPAGER_API_VERSION 1

/* VM_PROT_* lock values and desired accesses, as in Mach. */
#define MEMPAGER_PROT_NONE	0
#define MEMPAGER_PROT_READ	1
#define MEMPAGER_PROT_WRITE	2
#define MEMPAGER_PROT_EXECUTE	4
#define MEMPAGER_PROT_ALL	7
#define MEMPAGER_PROT_NO_CHANGE	8

/* Copy strategies, as in Mach. */
#define MEMPAGER_COPY_NONE	0
#define MEMPAGER_COPY_CALL	1
#define MEMPAGER_COPY_DELAY	2
#define MEMPAGER_COPY_TEMPORARY	3

/* lock_request's should_return, as in Mach (ANYTHING as in XNU). */
#define MEMPAGER_RETURN_NONE		0
#define MEMPAGER_RETURN_DIRTY		1
#define MEMPAGER_RETURN_ALL		2
#define MEMPAGER_RETURN_ANYTHING	3

/* Kernel return codes carried in messages (Mach's kern_return_t). */
#define MEMPAGER_KERN_SUCCESS		0
#define MEMPAGER_KERN_MEMORY_PRESENT	23

#define MEMPAGER_TYPE 0xE7

enum {
	MEMPAGER_CMD_API = 0x00,
	MEMPAGER_CMD_OBJECT_CREATE = 0x01,
	MEMPAGER_CMD_OBJECT_OPEN = 0x02,
	MEMPAGER_CMD_OBJECT_BIND = 0x03,
	MEMPAGER_CMD_READY = 0x04,
	MEMPAGER_CMD_CHANGE_ATTRIBUTES = 0x05,
	MEMPAGER_CMD_GET_ATTRIBUTES = 0x06,
	MEMPAGER_CMD_DATA_SUPPLY = 0x07,
	MEMPAGER_CMD_DATA_UNAVAILABLE = 0x08,
	MEMPAGER_CMD_DATA_ERROR = 0x09,
	MEMPAGER_CMD_DESTROY = 0x0a,
	MEMPAGER_CMD_REGION = 0x0b,
	MEMPAGER_CMD_LOCK_REQUEST = 0x0c,
	MEMPAGER_CMD_SYNCHRONIZE_COMPLETED = 0x0d,
	MEMPAGER_CMD_RECEIVE = 0x0e,
	MEMPAGER_CMD_SET_DEFAULT_MANAGER = 0x0f,
	MEMPAGER_CMD_MAX,
};

/**
 * struct mempager_api - ioctl(MEMPAGER_API): the API handshake
 * @size: sizeof(struct mempager_api)
 * @flags: Must be 0
 * @features: Features the caller wants (MEMPAGER_FEATURE_*); a bit the
 *	kernel does not know gives EOPNOTSUPP
 * @out_version: The kernel's ABI version, %MEMPAGER_API_VERSION
 * @__reserved: Must be 0
 * @out_features: Every feature the kernel supports
 * @out_ioctls: Bit n set when ioctl command n (MEMPAGER_CMD_*) is supported
 *
 * Reports what the running module supports. May be called on any
 * ``/dev/mempager`` fd at any time; it changes no state.
 */
struct mempager_api {
	__u32 size;
	__u32 flags;
	__aligned_u64 features;
	__u32 out_version;
	__u32 __reserved;
	__aligned_u64 out_features;
	__aligned_u64 out_ioctls;
};

#define MEMPAGER_API_SIZE_VER0 40

#define MEMPAGER_API _IO(MEMPAGER_TYPE, MEMPAGER_CMD_API)

/* No optional features yet: the bits are for later ABI versions. */
#define MEMPAGER_FEATURES_ALL 0ULL

/**
 * struct mempager_object_create - ioctl(MEMPAGER_OBJECT_CREATE)
 * @size: sizeof(struct mempager_object_create)
 * @flags: Must be 0
 * @object_size: Size of the object in bytes, a non-zero page multiple
 * @mode: Permission bits (0666 at most) checked by MEMPAGER_OBJECT_OPEN
 *	against the caller's uid and gid, as for a file owned by the creator
 * @__reserved: Must be 0
 * @out_object: Handle of the new object on this manager fd
 * @out_fd: A new object fd (O_RDWR, O_CLOEXEC): the object's send right
 * @out_name: The object's system-wide name
 *
 * Creates a memory object managed through this fd, which becomes (or stays)
 * a manager fd. No message is sent until the object is first mapped.
 * EDQUOT when the caller's uid owns max_objects_per_user objects (a module
 * parameter; CAP_SYS_RESOURCE is exempt); EBUSY when this fd has an object
 * bound.
 */
struct mempager_object_create {
	__u32 size;
	__u32 flags;
	__aligned_u64 object_size;
	__u32 mode;
	__u32 __reserved;
	__u32 out_object;
	__s32 out_fd;
	__aligned_u64 out_name;
};

#define MEMPAGER_OBJECT_CREATE_SIZE_VER0 40

#define MEMPAGER_OBJECT_CREATE _IO(MEMPAGER_TYPE, MEMPAGER_CMD_OBJECT_CREATE)

/* MEMPAGER_OBJECT_OPEN flags */
#define MEMPAGER_OPEN_WRITE _BITUL(0)

/**
 * struct mempager_object_open - ioctl(MEMPAGER_OBJECT_OPEN)
 * @size: sizeof(struct mempager_object_open)
 * @flags: MEMPAGER_OPEN_WRITE for a writable object fd, else read-only
 * @name: The object's name (from MEMPAGER_OBJECT_CREATE or MEMPAGER_REGION)
 * @out_fd: A new object fd (O_CLOEXEC)
 * @__reserved: Must be 0
 *
 * Opens an object by name. The object's mode bits decide, as for a file,
 * whether the caller may read (and with MEMPAGER_OPEN_WRITE write) it:
 * EACCES when they do not, ENOENT when no such object exists.
 */
struct mempager_object_open {
	__u32 size;
	__u32 flags;
	__aligned_u64 name;
	__s32 out_fd;
	__u32 __reserved;
};

#define MEMPAGER_OBJECT_OPEN_SIZE_VER0 24

#define MEMPAGER_OBJECT_OPEN _IO(MEMPAGER_TYPE, MEMPAGER_CMD_OBJECT_OPEN)

/**
 * struct mempager_object_bind - ioctl(MEMPAGER_OBJECT_BIND)
 * @size: sizeof(struct mempager_object_bind)
 * @flags: Must be 0
 * @fd: An object fd
 * @__reserved: Must be 0
 *
 * Names the object that a later mmap(2) of this ``/dev/mempager`` fd maps,
 * with the access the object fd grants. Mapping the object fd itself is
 * the same. EBADF when @fd is not an object fd; EBUSY when this fd already
 * names an object or manages objects.
 */
struct mempager_object_bind {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 __reserved;
};

#define MEMPAGER_OBJECT_BIND_SIZE_VER0 16

#define MEMPAGER_OBJECT_BIND _IO(MEMPAGER_TYPE, MEMPAGER_CMD_OBJECT_BIND)

/* Flags of the manager calls that may ask for a completion message. */
#define MEMPAGER_REPLY _BITUL(0)
/* MEMPAGER_DATA_SUPPLY: the pages are precious (returned even when clean). */
#define MEMPAGER_SUPPLY_PRECIOUS _BITUL(1)

/* MEMPAGER_MSG_SYNCHRONIZE flags: what the msync(2) asked for. */
#define MEMPAGER_SYNC_SYNCHRONOUS _BITUL(0)

/**
 * struct mempager_attributes - ioctl(MEMPAGER_READY),
 *	ioctl(MEMPAGER_CHANGE_ATTRIBUTES), ioctl(MEMPAGER_GET_ATTRIBUTES)
 * @size: sizeof(struct mempager_attributes)
 * @flags: MEMPAGER_REPLY (change_attributes only) to be sent
 *	MEMPAGER_MSG_CHANGE_COMPLETED; otherwise 0
 * @object: Object handle
 * @__reserved: Must be 0
 * @control: The control from the object's MEMPAGER_MSG_INIT
 * @may_cache: 1 to keep the object and its pages when it is no longer mapped
 * @copy_strategy: MEMPAGER_COPY_* (EOPNOTSUPP for others; nothing changes)
 * @out_ready: get_attributes: 1 once the object is ready
 * @__reserved2: Must be 0
 *
 * memory_object_ready() and memory_object_change_attributes() set the
 * attributes and make the object ready, waking the faults that wait for it.
 * memory_object_get_attributes() reads them into @out_ready, @may_cache and
 * @copy_strategy.
 */
struct mempager_attributes {
	__u32 size;
	__u32 flags;
	__u32 object;
	__u32 __reserved;
	__aligned_u64 control;
	__u32 may_cache;
	__u32 copy_strategy;
	__u32 out_ready;
	__u32 __reserved2;
};

#define MEMPAGER_ATTRIBUTES_SIZE_VER0 40

#define MEMPAGER_READY _IO(MEMPAGER_TYPE, MEMPAGER_CMD_READY)
#define MEMPAGER_CHANGE_ATTRIBUTES \
	_IO(MEMPAGER_TYPE, MEMPAGER_CMD_CHANGE_ATTRIBUTES)
#define MEMPAGER_GET_ATTRIBUTES _IO(MEMPAGER_TYPE, MEMPAGER_CMD_GET_ATTRIBUTES)

/**
 * struct mempager_data_supply - ioctl(MEMPAGER_DATA_SUPPLY)
 * @size: sizeof(struct mempager_data_supply)
 * @flags: MEMPAGER_REPLY, MEMPAGER_SUPPLY_PRECIOUS
 * @object: Object handle
 * @lock_value: MEMPAGER_PROT_* bits the kernel must not grant without a
 *	data_unlock (0 to MEMPAGER_PROT_ALL)
 * @control: The object's control
 * @offset: Object offset of the first page, page aligned
 * @length: Bytes to install, a non-zero page multiple
 * @data: User address of @length bytes of page data
 *
 * memory_object_data_supply(): installs pages, requested or not. Supply stops
 * at the first page already present; with MEMPAGER_REPLY the
 * MEMPAGER_MSG_SUPPLY_COMPLETED message reports MEMPAGER_KERN_MEMORY_PRESENT
 * and that page's offset. Bad arguments fail the call before anything
 * changes. Pages are copied in batches of 64: on EFAULT or ENOMEM (or
 * ENOENT when the object is terminated meanwhile) the batches before the
 * failing one stay installed and no reply is sent.
 */
struct mempager_data_supply {
	__u32 size;
	__u32 flags;
	__u32 object;
	__u32 lock_value;
	__aligned_u64 control;
	__aligned_u64 offset;
	__aligned_u64 length;
	__aligned_u64 data;
};

#define MEMPAGER_DATA_SUPPLY_SIZE_VER0 48

#define MEMPAGER_DATA_SUPPLY _IO(MEMPAGER_TYPE, MEMPAGER_CMD_DATA_SUPPLY)

/**
 * struct mempager_data_range - ioctl(MEMPAGER_DATA_UNAVAILABLE),
 *	ioctl(MEMPAGER_DATA_ERROR)
 * @size: sizeof(struct mempager_data_range)
 * @flags: Must be 0
 * @object: Object handle
 * @reason: data_error: the error reported (kept for tracing); else 0
 * @control: The object's control
 * @offset: Object offset, page aligned
 * @length: Bytes, a non-zero page multiple
 *
 * memory_object_data_unavailable() zero-fills the pages of the range that
 * faults wait for; memory_object_data_error() fails those faults (SIGBUS) and
 * leaves the pages absent so the next access asks again. Pages nobody waits
 * for are left alone.
 */
struct mempager_data_range {
	__u32 size;
	__u32 flags;
	__u32 object;
	__s32 reason;
	__aligned_u64 control;
	__aligned_u64 offset;
	__aligned_u64 length;
};

#define MEMPAGER_DATA_RANGE_SIZE_VER0 40

#define MEMPAGER_DATA_UNAVAILABLE \
	_IO(MEMPAGER_TYPE, MEMPAGER_CMD_DATA_UNAVAILABLE)
#define MEMPAGER_DATA_ERROR _IO(MEMPAGER_TYPE, MEMPAGER_CMD_DATA_ERROR)

/**
 * struct mempager_destroy - ioctl(MEMPAGER_DESTROY)
 * @size: sizeof(struct mempager_destroy)
 * @flags: Must be 0
 * @object: Object handle
 * @reason: Reported back in nothing; kept for tracing
 * @control: The object's control
 *
 * memory_object_destroy(): the kernel drops the object's state without
 * returning data and sends MEMPAGER_MSG_TERMINATE. Faults waiting for data
 * fail with SIGBUS, as do later faults on pages not resident; resident pages
 * stay readable in existing mappings.
 */
struct mempager_destroy {
	__u32 size;
	__u32 flags;
	__u32 object;
	__s32 reason;
	__aligned_u64 control;
};

#define MEMPAGER_DESTROY_SIZE_VER0 24

#define MEMPAGER_DESTROY _IO(MEMPAGER_TYPE, MEMPAGER_CMD_DESTROY)

/**
 * struct mempager_region - ioctl(MEMPAGER_REGION): Mach's vm_region
 * @size: sizeof(struct mempager_region)
 * @flags: Must be 0
 * @addr: A user address in the caller's address space
 * @out_name: Name of the object mapped there
 * @out_start: Start of the mapping
 * @out_end: End of the mapping
 * @out_offset: Object offset mapped at @out_start
 *
 * A private mapping reports the object it was mapped from (@out_name) and
 * the offset in that object (@out_offset), not the copy behind it. ENOENT
 * when @addr is not in a mapping of a mempager object.
 */
struct mempager_region {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 out_name;
	__aligned_u64 out_start;
	__aligned_u64 out_end;
	__aligned_u64 out_offset;
};

#define MEMPAGER_REGION_SIZE_VER0 48

#define MEMPAGER_REGION _IO(MEMPAGER_TYPE, MEMPAGER_CMD_REGION)

/**
 * struct mempager_lock_request - ioctl(MEMPAGER_LOCK_REQUEST)
 * @size: sizeof(struct mempager_lock_request)
 * @flags: MEMPAGER_REPLY to be sent MEMPAGER_MSG_LOCK_COMPLETED
 * @object: Object handle
 * @should_return: MEMPAGER_RETURN_NONE, _DIRTY, _ALL (dirty and precious)
 *	or _ANYTHING (every resident page)
 * @control: The object's control
 * @offset: Object offset, page aligned
 * @length: Bytes, a non-zero page multiple
 * @should_flush: 1 to drop the pages from memory after returning them
 *	(dirty data not returned is discarded); else 0
 * @lock_value: MEMPAGER_PROT_* bits the kernel must not grant without a
 *	data_unlock, replacing the pages' lock; MEMPAGER_PROT_NO_CHANGE keeps it
 *
 * memory_object_lock_request(): for every resident page of the range, in
 * this order: set the lock, taking away from every process's page tables the
 * access it forbids; return the pages @should_return asks for with
 * MEMPAGER_MSG_DATA_RETURN (kernel_copy = !@should_flush); flush. A page
 * pinned for I/O (O_DIRECT, io_uring) is not flushed: it stays resident and
 * its data_return has kernel_copy 1. Faults waiting on the range are woken
 * and ask again. With MEMPAGER_REPLY,
 * MEMPAGER_MSG_LOCK_COMPLETED follows the last data_return, also when no
 * page was resident.
 */
struct mempager_lock_request {
	__u32 size;
	__u32 flags;
	__u32 object;
	__u32 should_return;
	__aligned_u64 control;
	__aligned_u64 offset;
	__aligned_u64 length;
	__u32 should_flush;
	__u32 lock_value;
};

#define MEMPAGER_LOCK_REQUEST_SIZE_VER0 48

#define MEMPAGER_LOCK_REQUEST _IO(MEMPAGER_TYPE, MEMPAGER_CMD_LOCK_REQUEST)

/**
 * struct mempager_synchronize_completed - ioctl(MEMPAGER_SYNCHRONIZE_COMPLETED)
 * @size: sizeof(struct mempager_synchronize_completed)
 * @flags: Must be 0
 * @object: Object handle
 * @__reserved: Must be 0
 * @control: The object's control
 * @offset: Echoes the MEMPAGER_MSG_SYNCHRONIZE message
 * @length: Echoes the MEMPAGER_MSG_SYNCHRONIZE message
 *
 * memory_object_synchronize_completed(): the msync(2) that sent the
 * matching synchronize message returns. ENOENT when none waits.
 */
struct mempager_synchronize_completed {
	__u32 size;
	__u32 flags;
	__u32 object;
	__u32 __reserved;
	__aligned_u64 control;
	__aligned_u64 offset;
	__aligned_u64 length;
};

#define MEMPAGER_SYNCHRONIZE_COMPLETED_SIZE_VER0 40

#define MEMPAGER_SYNCHRONIZE_COMPLETED \
	_IO(MEMPAGER_TYPE, MEMPAGER_CMD_SYNCHRONIZE_COMPLETED)

/**
 * struct mempager_receive - ioctl(MEMPAGER_RECEIVE): take kernel messages
 *	and the page data they carry
 * @size: sizeof(struct mempager_receive)
 * @flags: 0, or MEMPAGER_RECEIVE_SUPPLY
 * @msgs: User address of an array of &struct mempager_msg
 * @msgs_max: Its length (at least 1)
 * @out_msgs: Messages written
 * @data: User address of a buffer for page data
 * @data_size: Its size in bytes
 * @out_data: Bytes of page data written
 * @supply: With MEMPAGER_RECEIVE_SUPPLY: user address of a
 *	&struct mempager_data_supply to perform before receiving
 *
 * Like read(2) on the manager fd (it waits for a first message unless the
 * fd is O_NONBLOCK: EAGAIN), but also delivers the page data of
 * MEMPAGER_MSG_DATA_RETURN: each such message's data_return.data_offset
 * says where in @data its bytes are. Delivery stops before a message whose
 * data does not fit; EMSGSIZE when not even the first one fits. One call
 * takes any number of pages: no syscall per page.
 *
 * With MEMPAGER_RECEIVE_SUPPLY the call first performs the data_supply at
 * @supply, exactly as MEMPAGER_DATA_SUPPLY would, then receives: a pager's
 * answer and its wait for the next message in one system call, as a Mach
 * server's mach_msg(MACH_SEND_MSG | MACH_RCV_MSG) sends its reply and
 * receives the next request. An error then means that the supply failed
 * and nothing was received. Once the supply is done the call succeeds: if
 * the receive cannot deliver (a signal, O_NONBLOCK with nothing queued, the
 * first message's data too large, a bad buffer) @out_msgs is 0, and a
 * plain MEMPAGER_RECEIVE tells why. The call is never restarted after the
 * supply.
 */
struct mempager_receive {
	__u32 size;
	__u32 flags;
	__aligned_u64 msgs;
	__u32 msgs_max;
	__u32 out_msgs;
	__aligned_u64 data;
	__aligned_u64 data_size;
	__aligned_u64 out_data;
	__aligned_u64 supply;
};

#define MEMPAGER_RECEIVE_SIZE_VER0 48 /* up to out_data */

/* MEMPAGER_RECEIVE flags */
#define MEMPAGER_RECEIVE_SUPPLY _BITUL(0)

#define MEMPAGER_RECEIVE _IO(MEMPAGER_TYPE, MEMPAGER_CMD_RECEIVE)

/**
 * struct mempager_default_manager - ioctl(MEMPAGER_SET_DEFAULT_MANAGER)
 * @size: sizeof(struct mempager_default_manager)
 * @flags: Must be 0
 *
 * host_default_memory_manager(): this fd becomes a manager fd and the
 * system's default memory manager, replacing the previous one, which is
 * sent nothing more (the temporary objects it already backs stay with
 * it). From now on, temporary memory (an mmap of /dev/mempager with no
 * object bound) that must leave RAM is given to this manager with
 * MEMPAGER_MSG_CREATE, then MEMPAGER_MSG_DATA_INITIALIZE for pages it never
 * had and MEMPAGER_MSG_DATA_RETURN after that; faults on pages it holds
 * send MEMPAGER_MSG_DATA_REQUEST, answered with data_supply, or with
 * data_unavailable for pages never written. Closing the fd unregisters it.
 * EPERM without CAP_SYS_ADMIN; EBUSY when the fd has an object bound.
 */
struct mempager_default_manager {
	__u32 size;
	__u32 flags;
};

#define MEMPAGER_DEFAULT_MANAGER_SIZE_VER0 8

#define MEMPAGER_SET_DEFAULT_MANAGER \
	_IO(MEMPAGER_TYPE, MEMPAGER_CMD_SET_DEFAULT_MANAGER)

/**
 * DOC: Kernel messages
 *
 * read(2) on a manager fd returns whole &struct mempager_msg records, as many
 * as fit in the buffer and are queued (EINVAL for a buffer smaller than one;
 * EAGAIN with O_NONBLOCK when none is queued). poll(2) reports EPOLLIN while
 * one is queued. Each carries the object handle, the call, its arguments and
 * the object's sequence number, which grows by one per message of the object.
 *
 * Messages that carry page data (MEMPAGER_MSG_DATA_RETURN,
 * MEMPAGER_MSG_DATA_INITIALIZE) are delivered
 * only by MEMPAGER_RECEIVE: read(2) stops before one, and fails with
 * EMSGSIZE when one is first in the queue.
 */
enum mempager_msg_type {
	MEMPAGER_MSG_INIT = 1,
	MEMPAGER_MSG_DATA_REQUEST = 2,
	MEMPAGER_MSG_SUPPLY_COMPLETED = 3,
	MEMPAGER_MSG_CHANGE_COMPLETED = 4,
	MEMPAGER_MSG_TERMINATE = 5,
	MEMPAGER_MSG_DATA_UNLOCK = 6,
	MEMPAGER_MSG_DATA_RETURN = 7,
	MEMPAGER_MSG_LOCK_COMPLETED = 8,
	MEMPAGER_MSG_SYNCHRONIZE = 9,
	MEMPAGER_MSG_COPY = 10,
	MEMPAGER_MSG_CREATE = 11,
	MEMPAGER_MSG_DATA_INITIALIZE = 12,
};

/**
 * struct mempager_msg - a kernel to manager message
 * @type: enum mempager_msg_type
 * @object: Object handle on the manager fd
 * @seqno: Per-object sequence number (the seqnos_ servers' argument)
 * @control: The control the message is about
 * @init: MEMPAGER_MSG_INIT: @init.name is the object's name,
 *	@init.page_size the kernel page size
 * @request: MEMPAGER_MSG_DATA_REQUEST and MEMPAGER_MSG_DATA_UNLOCK:
 *	@request.offset, @request.length and @request.desired_access
 *	(MEMPAGER_PROT_READ, or READ|WRITE for a write)
 * @supply: MEMPAGER_MSG_SUPPLY_COMPLETED: @supply.offset and @supply.length
 *	echo the call, @supply.result is a MEMPAGER_KERN_* code and
 *	@supply.error_offset the first offset it applies to
 * @change: MEMPAGER_MSG_CHANGE_COMPLETED: @change.may_cache and
 *	@change.copy_strategy echo the call
 * @data_return: MEMPAGER_MSG_DATA_RETURN and MEMPAGER_MSG_DATA_INITIALIZE
 *	(the default manager's first copy of a page; its flags as for a
 *	data_return): @data_return.length bytes at
 *	@data_return.offset, found at @data_return.data_offset in the
 *	MEMPAGER_RECEIVE data buffer; @data_return.dirty is 0 only for clean
 *	precious pages (or RETURN_ANYTHING); @data_return.kernel_copy is 1
 *	when the kernel kept the pages
 * @range: MEMPAGER_MSG_LOCK_COMPLETED and MEMPAGER_MSG_SYNCHRONIZE:
 *	@range.offset and @range.length echo the lock_request, or give the
 *	msync(2) range; @range.flags is 0 for lock_completed and for
 *	synchronize MEMPAGER_SYNC_* bits
 * @copy: MEMPAGER_MSG_COPY (COPY_CALL objects): the range
 *	@copy.offset, @copy.length of this object was copied into a new object,
 *	handle @copy.new_object and name @copy.new_name on the same manager
 *	fd, whose init follows. The manager serves the copy's data_requests;
 *	data_unavailable on the copy means "use the original's page"
 * @create: MEMPAGER_MSG_CREATE (to the default manager): a temporary
 *	object of at most @create.size bytes (a hint), name @create.name, now
 *	has handle @object and control @control on this fd; it is ready at once
 *	and its pages are zero until given with data_initialize;
 *	@create.page_size is the kernel's page size
 * @raw: The union as plain words; unused words are 0
 */
struct mempager_msg {
	__u32 type;
	__u32 object;
	__aligned_u64 seqno;
	__aligned_u64 control;
	union {
		struct {
			__aligned_u64 name;
			__u32 page_size;
			__u32 __reserved;
		} init;
		struct {
			__aligned_u64 offset;
			__aligned_u64 length;
			__u32 desired_access;
			__u32 __reserved;
		} request;
		struct {
			__aligned_u64 offset;
			__aligned_u64 length;
			__s32 result;
			__u32 __reserved;
			__aligned_u64 error_offset;
		} supply;
		struct {
			__u32 may_cache;
			__u32 copy_strategy;
		} change;
		struct {
			__aligned_u64 offset;
			__aligned_u64 length;
			__u32 dirty;
			__u32 kernel_copy;
			__aligned_u64 data_offset;
		} data_return;
		struct {
			__aligned_u64 offset;
			__aligned_u64 length;
			__u32 flags;
			__u32 __reserved;
		} range;
		struct {
			__aligned_u64 offset;
			__aligned_u64 length;
			__aligned_u64 new_name;
			__u32 new_object;
			__u32 __reserved;
		} copy;
		struct {
			__aligned_u64 size;
			__aligned_u64 name;
			__u32 page_size;
			__u32 __reserved;
		} create;
		__aligned_u64 raw[5];
	};
};

#endif /* _UAPI_LINUX_MEMPAGER_H */
