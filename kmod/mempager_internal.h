/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempager internals shared by the files of the module and its KUnit suites.
 *
 * Locking overview, in acquisition order:
 *
 *  1. mmap_lock / the VMA lock (held by the core around ->mmap, ->fault,
 *     ->open and ->close)
 *  2. mempager_file.lock: the role of one open of /dev/mempager
 *  3. mp_object.mutex: an object's state, its page cache (writers), its
 *     requests, its sequence numbers and the messages it posts
 *  4. mp_manager.lock (spinlock): a manager's message queue
 *
 * The xarrays have their own internal locks, taken innermost. A resident
 * page is found without any of these: mp_cache_get() looks it up under RCU
 * and takes a page reference. Nothing waits for user space with a lock
 * held: a fault that must wait drops the object mutex and the fault lock
 * first and returns VM_FAULT_RETRY; one that cannot drop the fault lock
 * (no FAULT_FLAG_ALLOW_RETRY) fails at once instead of waiting.
 */
#ifndef _MEMPAGER_INTERNAL_H
#define _MEMPAGER_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/mempager.h>

#include "compat.h"

struct file;
struct vm_area_struct;

/**
 * struct mp_manager - the receive side of a manager fd
 * @ref: references: the manager fd and every object it manages
 * @lock: protects @queue, @queued and @dead
 * @queue: messages not yet read, struct mp_msg_entry in order
 * @queued: number of entries in @queue
 * @queued_pages: pages of data held by entries in @queue
 * @dead: the manager fd was closed; nothing more is queued
 * @wait: readers and pollers of the manager fd
 * @drain_wait: faults throttled until @queued_pages drains
 * @objects: object handle to struct mp_object (one reference each);
 *	looked up under RCU with kref_get_unless_zero()
 * @kernel_faults: its objects serve kernel-mode faults: the manager fd's
 *	opener had CAP_SYS_PTRACE, or allow_kernel_faults was set, when the
 *	manager was made; set before it is published, never changed
 */
struct mp_manager {
	struct kref ref;
	spinlock_t lock;	/* protects the queue and @dead */
	struct list_head queue;
	unsigned int queued;
	unsigned long queued_pages;
	bool dead;
	wait_queue_head_t wait;
	wait_queue_head_t drain_wait;
	struct xarray objects;
	bool kernel_faults;
};

/**
 * enum mp_object_state - the kernel's state for a memory object
 * @MP_IDLE: no kernel state: no init sent, or terminated since
 * @MP_INIT_SENT: init sent, waiting for ready; faults wait
 * @MP_READY: the manager answered ready or change_attributes
 * @MP_DESTROYED: destroy was called while mapped: terminate is sent,
 *	faults on pages not resident fail; becomes MP_IDLE at the last unmap
 * @MP_DEAD: the manager is gone: faults on pages not resident fail for good
 */
enum mp_object_state {
	MP_IDLE,
	MP_INIT_SENT,
	MP_READY,
	MP_DESTROYED,
	MP_DEAD,
};

/**
 * struct mp_stats - per-object counters shown in debugfs
 * @requests: data_request messages sent
 * @supplied: pages installed by data_supply
 * @unavailable: pages zero-filled (data_unavailable or temporary memory)
 * @errors: faults failed by data_error
 * @present: data_supply calls stopped by a page already present
 * @unlocks: data_unlock messages sent
 * @returned: pages sent back with data_return
 * @evicted: pages dropped or returned by the shrinker
 * @inits: init messages sent
 * @terminates: terminate messages sent
 */
struct mp_stats {
	u64 requests;
	u64 supplied;
	u64 unavailable;
	u64 errors;
	u64 present;
	u64 unlocks;
	u64 returned;
	u64 evicted;
	u64 inits;
	u64 terminates;
};

/**
 * struct mp_object - a memory object
 * @ref: references: the manager's handle table, object fds, mappings,
 *	faults waiting, msync(2) calls, lookups
 * @name: system-wide name (index in the name table)
 * @handle: handle on the manager fd (0 for temporary memory)
 * @mgr: the manager (holds a reference), NULL for temporary memory
 * @file: the object's private file: every mapping's vm_file, so each object
 *	has its own address_space for unmap_mapping_range(). A reference,
 *	dropped at the last object reference; the file owns the object's
 *	memory and frees it when released, so a file that msync(2) pinned
 *	never reaches freed memory
 * @npages: size in pages
 * @uid: owner, for MEMPAGER_OBJECT_OPEN
 * @gid: group, for MEMPAGER_OBJECT_OPEN
 * @mode: permission bits, for MEMPAGER_OBJECT_OPEN
 * @mutex: protects every field below and writers of @pages
 * @state: enum mp_object_state
 * @control: the current incarnation's control, 0 when MP_IDLE
 * @seqno: sequence number of the last message posted for this object
 * @may_cache: keep the object's pages when it is no longer mapped
 * @copy_strategy: MEMPAGER_COPY_*
 * @nr_maps: VMAs mapping the object
 * @nr_resident: resident pages (folios in the page cache)
 * @syncs: struct mp_sync: msync(2) calls waiting for synchronize_completed
 * @scan_next: where the shrinker looks next
 * @outstanding: data_requests sent and not answered
 * @pages: page offset to the Mach state of a resident page (whose folio
 *	is in the inode's i_mapping), to a struct mp_request while a request
 *	is outstanding, or to a shadow entry (see MP_ENTRY_SHADOW)
 * @tickets: struct mp_ticket: faults to fail when their task retries them
 * @nr_tickets: entries in @tickets, read without the mutex by the fast path
 * @events: bumped, under @mutex, at every change of the object faults may
 *	wait for (ready, a lock relaxed, death), but not when a request is
 *	answered: faults wait for their own request's @result
 * @completions: bumped, under @mutex, when a request is answered (a request
 *	slot is free)
 * @wait: faults waiting for @events, @completions or a request's result
 * @stats: counters
 * @node: in the shrinker's list of objects (managed objects only)
 * @src: for a private copy, the object it copies (a reference; the copy
 *	counts as one of its mappings)
 * @src_off: the source page that is page 0 of the copy
 * @copies: private copies of this object that still read from it
 * @copy_node: in the source's @copies, under the source's mutex
 * @temporary: kernel-made temporary memory, backed by the default manager
 *	once attached (@mgr set then)
 * @known: pages of a temporary object the default manager holds
 * @term_msg: the terminate message, allocated with init so that a
 *	terminate can never be lost for want of memory
 * @term_retry: retries a terminate whose data_return messages could not be
 *	allocated (the pages stay meanwhile); holds a reference while queued
 * @charged: counted in its owner's max_objects_per_user
 */
struct mp_object {
	struct kref ref;
	u64 name;
	u32 handle;
	struct mp_manager *mgr;
	struct file *file;
	pgoff_t npages;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;

	struct mutex mutex;	/* protects the fields below */
	enum mp_object_state state;
	u64 control;
	u64 seqno;
	bool may_cache;
	u32 copy_strategy;
	unsigned long nr_maps;
	unsigned long nr_resident;
	struct list_head syncs;
	pgoff_t scan_next;
	unsigned int outstanding;
	struct xarray pages;
	struct list_head tickets;
	atomic_t nr_tickets;
	unsigned long events;
	unsigned long completions;
	wait_queue_head_t wait;
	struct mp_stats stats;
	struct list_head node;
	struct mp_object *src;
	pgoff_t src_off;
	struct list_head copies;
	struct list_head copy_node;
	bool temporary;
	struct xarray known;
	struct mp_msg_entry *term_msg;
	struct delayed_work term_retry;
	bool charged;
};

/*
 * Entries of mp_object.pages, the side table of the object's page cache
 * (the pages themselves are folios in the object inode's i_mapping): a
 * resident page's Mach state as a value entry, changed under the object
 * mutex (the lock bits also under the page lock): the lock value (access the
 * kernel must not grant), precious, and the accesses a data_unlock was sent
 * for. A shadow entry (copy.c) is a value entry with MP_ENTRY_SHADOW; an
 * outstanding request is a plain pointer to its struct mp_request. Not in
 * folio->private: migration would take that for a buffer head (6.1).
 */
#define MP_PAGE_LOCK_MASK	0x7UL
#define MP_PAGE_PRECIOUS	0x8UL
#define MP_PAGE_UNLOCK_SHIFT	4
#define MP_PAGE_UNLOCK_MASK	(0x7UL << MP_PAGE_UNLOCK_SHIFT)
#define MP_ENTRY_SHADOW		0x100UL

/* Does this entry of mp_object.pages stand for a resident page? */
static inline bool mp_entry_is_page(void *entry)
{
	return xa_is_value(entry) && !(xa_to_value(entry) & MP_ENTRY_SHADOW);
}

/* The state of resident page @pgoff (0 if it is not resident). */
static inline unsigned long mp_page_state(struct mp_object *obj,
					  pgoff_t pgoff)
{
	void *entry = xa_load(&obj->pages, pgoff);

	return mp_entry_is_page(entry) ? xa_to_value(entry) : 0;
}

static inline unsigned int mp_page_lock(struct mp_object *obj, pgoff_t pgoff)
{
	return mp_page_state(obj, pgoff) & MP_PAGE_LOCK_MASK;
}

static inline unsigned int mp_page_unlock_sent(struct mp_object *obj,
					       pgoff_t pgoff)
{
	return (mp_page_state(obj, pgoff) & MP_PAGE_UNLOCK_MASK) >>
		MP_PAGE_UNLOCK_SHIFT;
}

/**
 * struct mp_request - one outstanding data_request for a page
 * @ref: the page cache entry and each fault waiting on it
 * @result: 0 while outstanding, 1 answered with data, -EIO failed
 * @memcg: the faulting task's memory cgroup (a reference, or NULL): the
 *	pages that answer the request are charged to it
 */
struct mp_request {
	refcount_t ref;
	int result;
	struct mem_cgroup *memcg;
};

/**
 * struct mempager_file - one open of /dev/mempager
 * @lock: protects @mgr, @bound and @bound_writable
 * @mgr: set once the fd created an object: it is a manager fd
 * @bound: the object MEMPAGER_OBJECT_BIND named (a reference)
 * @bound_writable: the object fd bound was writable
 */
struct mempager_file {
	struct mutex lock;	/* protects the role fields */
	struct mp_manager *mgr;
	struct mp_object *bound;
	bool bound_writable;
};

/**
 * struct mp_ucmd - one ioctl call on its way through the dispatch
 * @file: the file it was made on, whose opener's credentials (f_cred)
 *	decide what it may do
 * @mf: its mempager_file
 * @cmd: the caller's structure, copied in; copied back on success
 * @new_file: a file to install as @new_fd once the output reached the caller
 * @new_fd: the reserved fd number, or -1
 * @created: an object the call created (a reference), undone if the caller
 *	cannot be told of it
 * @nonblock: the file is O_NONBLOCK
 */
struct mp_ucmd {
	struct file *file;
	struct mempager_file *mf;
	void *cmd;
	struct file *new_file;
	int new_fd;
	struct mp_object *created;
	bool nonblock;
};

/* main.c */
int mempager_api_ioctl(struct mp_ucmd *uc);
u64 mempager_supported_ioctls(void);
extern unsigned int mp_max_outstanding;
extern bool mp_allow_kernel_faults;
extern unsigned int mp_max_queued_pages;
extern unsigned int mp_max_resident_percent;
extern unsigned int mp_max_objects_per_user;

/**
 * struct mp_msg_entry - a queued kernel to manager message
 * @node: in mp_manager.queue
 * @msg: the message
 * @npages: pages of data it carries (data_return)
 * @pages: those pages, a reference each
 */
struct mp_msg_entry {
	struct list_head node;
	struct mempager_msg msg;
	unsigned int npages;
	struct page *pages[];
};

/**
 * struct mp_recv - a receive call's buffers
 * @msgs: user array of struct mempager_msg
 * @max: its length
 * @data: user buffer for page data
 * @data_size: its size
 * @out_msgs: messages delivered
 * @out_data: bytes of page data delivered
 */
struct mp_recv {
	void __user *msgs;
	unsigned int max;
	void __user *data;
	u64 data_size;
	unsigned int out_msgs;
	u64 out_data;
};

/**
 * mp_msg_init() - start a message built on the stack
 * @msg: the message
 * @type: MEMPAGER_MSG_*
 *
 * Every byte is zeroed first: messages reach user space whole, and an
 * initializer naming one member of the union leaves the bytes beyond that
 * member unspecified (fs/userfaultfd.c's msg_init() does the same).
 */
static inline void mp_msg_init(struct mempager_msg *msg, u32 type)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
}

/* msgqueue.c */
struct mp_manager *mp_manager_alloc(void);
void mp_manager_put(struct mp_manager *mgr);
void mp_manager_kill(struct mp_manager *mgr);
struct mp_msg_entry *mp_msg_alloc(unsigned int npages, gfp_t gfp);
void mp_msg_free(struct mp_msg_entry *e);
int mp_msg_post_locked(struct mp_object *obj, struct mp_msg_entry *e);
int mp_post_locked(struct mp_object *obj, struct mempager_msg *msg);
int mp_manager_receive(struct mp_manager *mgr, struct mp_recv *rv,
		       bool nonblock);
bool mp_manager_congested(struct mp_manager *mgr);
__poll_t mp_manager_poll(struct mp_manager *mgr, struct file *file,
			 poll_table *pt);

/* object.c */
struct mp_object *mp_object_create(struct mp_manager *mgr, u64 size,
				   umode_t mode, const struct file *opener);
struct mp_object *mp_object_lookup(u64 name);
void mp_object_get(struct mp_object *obj);
void mp_object_put(struct mp_object *obj);
struct file *mp_object_open_file(struct mp_object *obj, bool writable);
struct mp_object *mp_object_from_file(struct file *file);
int mp_object_may_open(struct mp_object *obj, bool writable);
int mp_object_check_control(struct mp_object *obj, u64 control);
int mp_object_set_attributes(struct mp_object *obj, u64 control,
			     u32 may_cache, u32 copy_strategy, bool reply);
void mp_object_get_attributes(struct mp_object *obj,
			      struct mempager_attributes *attr);
int mp_object_destroy(struct mp_object *obj, u64 control);
void mp_object_manager_died(struct mp_object *obj);
int mp_object_map_locked(struct mp_object *obj);
void mp_object_unmap(struct mp_object *obj);
void mp_object_bump_locked(struct mp_object *obj);
struct mp_object *mp_object_next(unsigned long *name);
int mp_objects_init(void);
u64 mp_new_control(void);
void mp_object_forget(struct mp_object *obj);
void mp_objects_exit(void);

/* pagecache.c */
struct address_space *mp_mapping(struct mp_object *obj);
struct page *mp_cache_get(struct mp_object *obj, pgoff_t pgoff);
bool mp_cache_holds(struct mp_object *obj, pgoff_t pgoff, struct page *page);
void mp_page_set_bits(struct mp_object *obj, pgoff_t pgoff,
		      struct page *page, unsigned long mask,
		      unsigned long bits);
int mp_check_range(struct mp_object *obj, u64 offset, u64 length);
int mp_data_supply(struct mp_object *obj, struct mempager_data_supply *ds);
int mp_data_unavailable(struct mp_object *obj, u64 control, pgoff_t first,
			pgoff_t count);
int mp_data_error(struct mp_object *obj, pgoff_t first, pgoff_t count);
struct mp_request *mp_request_entry(void *entry);
void mp_request_put(struct mp_request *req);
void mp_request_complete_locked(struct mp_object *obj,
				struct mp_request *req, int result);
void mp_cache_drop_all_locked(struct mp_object *obj);
void mp_fail_requests_locked(struct mp_object *obj);
struct page *mp_zero_page_alloc(void);
extern atomic_long_t mp_resident_total;

int mp_cache_store_locked(struct mp_object *obj, pgoff_t pgoff,
			  struct page *page, unsigned long state);
void mp_cache_remove_locked(struct mp_object *obj, pgoff_t pgoff,
			    struct page *page);

/* lock.c */
struct page *mp_page_copy(struct page *page, gfp_t gfp);
void mp_zap_range(struct mp_object *obj, pgoff_t first, pgoff_t count);
int mp_lock_request(struct mp_object *obj,
		    const struct mempager_lock_request *lr);
int mp_return_range_locked(struct mp_object *obj, pgoff_t first,
			   pgoff_t count, u32 should_return, bool flush,
			   u32 lock_value, gfp_t gfp);
vm_fault_t mp_page_mkwrite(struct vm_fault *vmf);
int mp_fsync(struct file *file, loff_t start, loff_t end, int datasync);
int mp_synchronize_completed(struct mp_object *obj, u64 control, u64 offset,
			     u64 length);
void mp_writeback_kick(void);
void mp_shrinker_track(struct mp_object *obj);
void mp_shrinker_untrack(struct mp_object *obj);
int mp_shrinker_init(void);
void mp_shrinker_exit(void);

/* copy.c */
bool mp_entry_is_shadow(void *entry);
void *mp_shadow_entry(void);
struct mp_object *mp_copy_create(struct mp_object *src, pgoff_t first,
				 pgoff_t count);
void mp_copy_detach(struct mp_object *copy);
bool mp_copy_from_source(struct mp_object *copy, pgoff_t pgoff);
struct page *mp_copy_page_locked(struct mp_object *src, struct page *page,
				 struct mp_object *copy, pgoff_t cpgoff);
int mp_push_locked(struct mp_object *src, pgoff_t pgoff, struct page *page,
		   gfp_t gfp);

/* fault.c */
struct mp_request *mp_request_send_locked(struct mp_object *obj,
					  pgoff_t pgoff, bool write);
int mp_mmap_object(struct mp_object *obj, struct vm_area_struct *vma);
struct mp_object *mp_vma_object(struct vm_area_struct *vma);
void mp_tickets_free_locked(struct mp_object *obj);

/* defpager.c */
int mp_default_set(struct mp_manager *mgr);
void mp_default_clear(struct mp_manager *mgr);
bool mp_default_registered(void);
int mp_temp_attach_locked(struct mp_object *obj, gfp_t gfp);
int mp_known_mark(struct mp_object *obj, pgoff_t pgoff, gfp_t gfp);
bool mp_known(struct mp_object *obj, pgoff_t pgoff);

/* debugfs.c */
void mp_debugfs_init(void);
void mp_debugfs_exit(void);

#endif /* _MEMPAGER_INTERNAL_H */
