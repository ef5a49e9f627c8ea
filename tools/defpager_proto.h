/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire protocol of mempager-defpager, the default pager, and a small
 * client for it (static inline: the CLI and the selftests include it).
 *
 * Transport: a Unix SOCK_SEQPACKET socket (default DP_SOCKET_PATH, mode
 * 0600). The daemon serves only peers whose SO_PEERCRED uid is 0; any other
 * peer is sent one reply with status EPERM (op DP_OP_NONE, seq 0) and the
 * connection is closed.
 *
 * Every request is one packet: struct dp_hdr, then the op's fixed body.
 * Every reply is one packet: struct dp_reply (whose hdr echoes op and seq),
 * then the op's body when status is 0. Integers are in host byte order
 * (the socket is local), structs are naturally aligned with explicit
 * padding, and every reserved or padding field must be 0.
 *
 * Versioning, as the mempager ioctls: hdr.size is the size of the packet
 * as the sender knows it. A request shorter than the op's first defined
 * body fails with EINVAL; bytes beyond what the daemon knows must be zero
 * (else E2BIG). hdr.version is the sender's DP_PROTO_VERSION; the daemon
 * serves every version up to its own and puts its own in replies. New
 * fields are only ever appended; new ops get new numbers. A wrong magic
 * gives EPROTO and the connection is closed.
 *
 * Replies whose list may be long (objects, object_pages) are paged: the
 * reply says how many entries it holds and, with DP_MORE, where to go on.
 */
#ifndef MEMPAGER_DEFPAGER_PROTO_H
#define MEMPAGER_DEFPAGER_PROTO_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DP_SOCKET_PATH		"/run/mempager-defpager.sock"
#define DP_PROTO_MAGIC		0x6d704450u	/* "PDpm" */
#define DP_PROTO_VERSION	1

/* Largest packet either side sends or accepts. */
#define DP_MAX_PACKET		(64u << 10)
#define DP_PATH_MAX		4096

enum dp_op {
	DP_OP_NONE = 0,		/* only in the refusal reply */
	DP_OP_INFO = 1,		/* default_pager_info */
	DP_OP_OBJECT_CREATE = 2,	/* default_pager_object_create */
	DP_OP_OBJECTS = 3,	/* default_pager_objects */
	DP_OP_OBJECT_PAGES = 4,	/* default_pager_object_pages */
	DP_OP_PAGING_FILE = 5,	/* default_pager_paging_file */
	DP_OP_PAGING_FILES = 6,	/* list the paging files */
};

/**
 * struct dp_hdr - first bytes of every packet
 * @magic: DP_PROTO_MAGIC
 * @version: the sender's DP_PROTO_VERSION
 * @op: enum dp_op
 * @size: bytes in the packet, this header included
 * @seq: chosen by the client, echoed in the reply
 */
struct dp_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t size;
	uint32_t seq;
};

/**
 * struct dp_reply - first bytes of every reply
 * @hdr: op and seq of the request; size of the whole reply
 * @status: 0, or a positive errno value (then no body follows)
 * @__reserved: 0
 */
struct dp_reply {
	struct dp_hdr hdr;
	int32_t status;
	uint32_t __reserved;
};

/* DP_OP_INFO: the request is the bare header. */

/* dp_info_reply.flags */
#define DP_INFO_DEFAULT_MANAGER	(1u << 0)	/* registered with the kernel */

/**
 * struct dp_info_reply - default_pager_info
 * @total_space: bytes of paging space (every paging file)
 * @free_space: bytes of it not in use
 * @page_size: the page size slots are made of
 * @flags: DP_INFO_*
 * @nfiles: paging files
 * @nobjects: objects the daemon holds (temporary and created)
 * @pageouts: pages stored (data_initialize and data_return)
 * @pageins: pages supplied from paging space (data_supply)
 * @zero_fills: pages answered with data_unavailable
 * @init_ignored: data_initialize pages ignored: the page was held already
 * @mem_pages: pages held in the daemon's memory because no slot was free
 *	or a paging file failed (they are not lost, but take RAM)
 * @io_errors: paging file reads and writes that failed
 */
struct dp_info_reply {
	struct dp_reply r;
	uint64_t total_space;
	uint64_t free_space;
	uint32_t page_size;
	uint32_t flags;
	uint32_t nfiles;
	uint32_t nobjects;
	uint64_t pageouts;
	uint64_t pageins;
	uint64_t zero_fills;
	uint64_t init_ignored;
	uint64_t mem_pages;
	uint64_t io_errors;
};

/**
 * struct dp_object_create_req - default_pager_object_create
 * @hdr: op DP_OP_OBJECT_CREATE
 * @object_size: bytes, non-zero; rounded up to a page multiple
 *
 * The reply carries the new object fd (read-write) as SCM_RIGHTS. The
 * object is zero-filled, not persistent and may be shared by passing the
 * fd on. It lives while the connection that created it is open, and after
 * that until it is no longer mapped anywhere; then its paging space is
 * freed and its fd maps nothing any more (faults get SIGBUS).
 */
struct dp_object_create_req {
	struct dp_hdr hdr;
	uint64_t object_size;
};

/**
 * struct dp_object_create_reply - the new object
 * @name: its system-wide name (as MEMPAGER_REGION reports it)
 * @object_size: its size in bytes
 */
struct dp_object_create_reply {
	struct dp_reply r;
	uint64_t name;
	uint64_t object_size;
};

/**
 * struct dp_objects_req - default_pager_objects, one page of the list
 * @hdr: op DP_OP_OBJECTS
 * @after: list objects whose name is greater than this (0: from the start)
 */
struct dp_objects_req {
	struct dp_hdr hdr;
	uint64_t after;
};

/* dp_object_entry.flags */
#define DP_OBJ_TEMPORARY	(1u << 0)	/* the kernel's (memory_object_create) */
#define DP_OBJ_CREATED		(1u << 1)	/* default_pager_object_create */
#define DP_OBJ_MAPPED		(1u << 2)	/* the kernel has state for it now */

/**
 * struct dp_object_entry - one object
 * @name: system-wide name
 * @size: bytes (for temporary objects the kernel's hint)
 * @pages: pages it has in paging space (or in the daemon's memory)
 * @flags: DP_OBJ_*
 * @__reserved: 0
 */
struct dp_object_entry {
	uint64_t name;
	uint64_t size;
	uint64_t pages;
	uint32_t flags;
	uint32_t __reserved;
};

/* dp_objects_reply.flags, dp_object_pages_reply.flags */
#define DP_MORE			(1u << 0)	/* ask again for the rest */

#define DP_OBJECTS_MAX		1024

/**
 * struct dp_objects_reply - objects in name order
 * @count: entries that follow
 * @flags: DP_MORE when more objects follow the last entry's name
 * @entries: @count entries
 */
struct dp_objects_reply {
	struct dp_reply r;
	uint32_t count;
	uint32_t flags;
	struct dp_object_entry entries[];
};

/**
 * struct dp_object_pages_req - default_pager_object_pages, one page
 * @hdr: op DP_OP_OBJECT_PAGES
 * @name: the object's name (ENOENT when the daemon has no such object)
 * @start: list offsets at or beyond this byte offset
 */
struct dp_object_pages_req {
	struct dp_hdr hdr;
	uint64_t name;
	uint64_t start;
};

#define DP_PAGES_MAX		4096

/**
 * struct dp_object_pages_reply - the object offsets held, ascending
 * @count: offsets that follow
 * @flags: DP_MORE when more follow; ask again from @next
 * @next: where to go on
 * @offsets: @count byte offsets
 */
struct dp_object_pages_reply {
	struct dp_reply r;
	uint32_t count;
	uint32_t flags;
	uint64_t next;
	uint64_t offsets[];
};

#define DP_PAGING_ADD		1
#define DP_PAGING_REMOVE	2

/**
 * struct dp_paging_file_req - default_pager_paging_file
 * @hdr: op DP_OP_PAGING_FILE
 * @action: DP_PAGING_ADD or DP_PAGING_REMOVE
 * @__reserved: 0
 * @file_size: ADD of a regular file: bytes to make it (it is created,
 *	mode 0600, and allocated); 0 to use it at its present size. Ignored
 *	for block devices and for REMOVE
 * @path: absolute path, NUL-terminated
 *
 * ADD: EEXIST when already in use, EACCES for a regular file that others
 * than its owner may read or write. REMOVE: the pages it holds move to the
 * other paging files first; ENOSPC (nothing changed) when they do not fit;
 * ENOENT when it is not a paging file.
 */
struct dp_paging_file_req {
	struct dp_hdr hdr;
	uint32_t action;
	uint32_t __reserved;
	uint64_t file_size;
	char path[DP_PATH_MAX];
};

/* DP_OP_PAGING_FILE replies with the bare struct dp_reply. */

#define DP_FILES_MAX		64
#define DP_FILE_PATH		232

/**
 * struct dp_file_entry - one paging file
 * @total_slots: pages it holds
 * @free_slots: of which free
 * @path: its path (truncated to fit, NUL-terminated)
 */
struct dp_file_entry {
	uint64_t total_slots;
	uint64_t free_slots;
	char path[DP_FILE_PATH];
};

/* DP_OP_PAGING_FILES: the request is the bare header. */
struct dp_paging_files_reply {
	struct dp_reply r;
	uint32_t count;
	uint32_t __reserved;
	struct dp_file_entry entries[];
};

/*
 * The client. Calls return 0, or -1 with errno set: the reply's status,
 * or the socket's error (ECONNRESET when the daemon hung up).
 */

/* Connect to the daemon at @path (NULL: DP_SOCKET_PATH). */
static inline int dp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (!path)
		path = DP_SOCKET_PATH;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(s);
		errno = err;
		return -1;
	}
	return s;
}

/*
 * Send request @req (@req_size bytes, header filled in here with @op) and
 * receive its reply into @reply (at most @reply_max bytes). An fd that
 * comes with it goes to *@fd (when @fd is not NULL; else it is closed).
 * Returns the reply's size, or -1 and errno.
 */
static inline ssize_t dp_call(int s, uint16_t op, void *req, size_t req_size,
			      void *reply, size_t reply_max, int *fd)
{
	static uint32_t dp_seq;
	struct dp_hdr *h = req;
	struct dp_reply *r = reply;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = reply, .iov_len = reply_max };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int got_fd = -1, send_err = 0;
	ssize_t n;

	if (fd)
		*fd = -1;
	h->magic = DP_PROTO_MAGIC;
	h->version = DP_PROTO_VERSION;
	h->op = op;
	h->size = req_size;
	h->seq = ++dp_seq;
	if (send(s, req, req_size, MSG_NOSIGNAL) != (ssize_t)req_size)
		send_err = errno;	/* a refusal may still be queued */
	n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&got_fd, CMSG_DATA(c), sizeof(int));
	if (got_fd >= 0) {
		if (fd)
			*fd = got_fd;
		else
			close(got_fd);
	}
	if (n == 0) {
		errno = send_err ? send_err : ECONNRESET;
		return -1;
	}
	if ((size_t)n < sizeof(*r) || r->hdr.magic != DP_PROTO_MAGIC ||
	    (mh.msg_flags & MSG_TRUNC)) {
		errno = EPROTO;
		return -1;
	}
	if (r->status) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		errno = r->status;
		return -1;
	}
	if (r->hdr.op != op || r->hdr.seq != h->seq) {
		errno = EPROTO;
		return -1;
	}
	return n;
}

static inline int dp_info(int s, struct dp_info_reply *info)
{
	struct dp_hdr req = { 0 };

	memset(info, 0, sizeof(*info));
	return dp_call(s, DP_OP_INFO, &req, sizeof(req), info, sizeof(*info),
		       NULL) < 0 ? -1 : 0;
}

/* default_pager_object_create: the object fd, or -1 and errno. */
static inline int dp_object_create(int s, uint64_t size, uint64_t *name)
{
	struct dp_object_create_req req = { .object_size = size };
	struct dp_object_create_reply rep;
	int fd;

	if (dp_call(s, DP_OP_OBJECT_CREATE, &req, sizeof(req), &rep,
		    sizeof(rep), &fd) < 0)
		return -1;
	if (fd < 0) {
		errno = EPROTO;
		return -1;
	}
	if (name)
		*name = rep.name;
	return fd;
}

static inline int dp_paging_file(int s, const char *path, int action,
				 uint64_t file_size)
{
	struct dp_paging_file_req req = {
		.action = action, .file_size = file_size,
	};
	struct dp_reply rep;

	if (strlen(path) >= sizeof(req.path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(req.path, path);
	return dp_call(s, DP_OP_PAGING_FILE, &req, sizeof(req), &rep,
		       sizeof(rep), NULL) < 0 ? -1 : 0;
}

/*
 * One page of the objects list after name @after into @buf (DP_MAX_PACKET
 * bytes): the reply, or NULL and errno.
 */
static inline struct dp_objects_reply *dp_objects(int s, uint64_t after,
						  void *buf)
{
	struct dp_objects_req req = { .after = after };
	ssize_t n = dp_call(s, DP_OP_OBJECTS, &req, sizeof(req), buf,
			    DP_MAX_PACKET, NULL);
	struct dp_objects_reply *rep = buf;

	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(*rep) ||
	    (size_t)n < sizeof(*rep) + rep->count * sizeof(rep->entries[0])) {
		errno = EPROTO;
		return NULL;
	}
	return rep;
}

/* One page of the offsets of object @name from @start into @buf. */
static inline struct dp_object_pages_reply *dp_object_pages(int s,
						uint64_t name, uint64_t start,
						void *buf)
{
	struct dp_object_pages_req req = { .name = name, .start = start };
	ssize_t n = dp_call(s, DP_OP_OBJECT_PAGES, &req, sizeof(req), buf,
			    DP_MAX_PACKET, NULL);
	struct dp_object_pages_reply *rep = buf;

	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(*rep) ||
	    (size_t)n < sizeof(*rep) + rep->count * sizeof(rep->offsets[0])) {
		errno = EPROTO;
		return NULL;
	}
	return rep;
}

static inline struct dp_paging_files_reply *dp_paging_files(int s, void *buf)
{
	struct dp_hdr req = { 0 };
	ssize_t n = dp_call(s, DP_OP_PAGING_FILES, &req, sizeof(req), buf,
			    DP_MAX_PACKET, NULL);
	struct dp_paging_files_reply *rep = buf;

	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(*rep) ||
	    (size_t)n < sizeof(*rep) + rep->count * sizeof(rep->entries[0])) {
		errno = EPROTO;
		return NULL;
	}
	return rep;
}

#endif /* MEMPAGER_DEFPAGER_PROTO_H */
