// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-defpager: the default pager. It registers as the system's
 * default memory manager (MEMPAGER_SET_DEFAULT_MANAGER) and keeps the pages
 * of temporary memory that the kernel pushes out of RAM in paging files;
 * over a Unix socket it serves privileged clients the default_pager
 * interface of Mach: object_create, info, objects, object_pages and
 * paging_file. See Documentation/default-pager.rst and defpager_proto.h.
 *
 * Structure: one thread, one poll loop over the default manager fd, one
 * manager fd per client connection that created objects, the listening
 * socket, the client sockets and a signalfd. Kernel messages are served
 * in the order received, so a data_request always sees the data_return
 * the kernel sent before it. The kernel's messages go through the
 * library's memory_object_default_server(); memory_object_create and
 * memory_object_data_initialize, which the library does not know yet, are
 * handled here before it.
 *
 * Storage: every paging file is an array of page-sized slots with a
 * bitmap; an object maps its page offsets to slots with a hash of chunks of
 * 512 entries, so memory is proportional to the pages held, not to the
 * object's size. When no slot is free (or a paging file fails) a page is
 * kept in the daemon's memory: the kernel has given it up and the daemon
 * must not lose it.
 *
 * Paged-out data is kept only while the daemon lives: the kernel keeps
 * what is resident, but the pages held here die with the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "toolutil.h"
#include "defpager_proto.h"

#define PROG		"mempager-defpager"
#define MAX_FILES	32
#define DP_MSG_BATCH	64
#define DATA_MIN	(1u << 20)
#define DATA_MAX	(64u << 20)
#define IO_PAGES	64
#define CHUNK_SHIFT	9
#define CHUNK_PAGES	(1u << CHUNK_SHIFT)
#define OBJ_BUCKETS	1024

/*
 * A page's place, an entry of an object's page map: 0 when the daemon
 * does not hold the page; SLOT_MEM | address for a page kept in memory;
 * else (file id + 1) << SLOT_FILE_SHIFT | slot.
 */
#define SLOT_MEM	(1ULL << 63)
#define SLOT_FILE_SHIFT	40
#define SLOT_MASK	((1ULL << SLOT_FILE_SHIFT) - 1)

static inline bool slot_is_mem(uint64_t e)
{
	return e & SLOT_MEM;
}

static inline int slot_file(uint64_t e)
{
	return (int)(e >> SLOT_FILE_SHIFT) - 1;
}

static inline uint64_t slot_index(uint64_t e)
{
	return e & SLOT_MASK;
}

static inline void *slot_mem(uint64_t e)
{
	return (void *)(uintptr_t)(e & ~SLOT_MEM);
}

static inline uint64_t slot_make(int file, uint64_t slot)
{
	return ((uint64_t)(file + 1) << SLOT_FILE_SHIFT) | slot;
}

/**
 * struct pfile - a paging file
 * @used: this entry is a paging file
 * @removing: being removed: no new slots
 * @fd: open O_RDWR (O_DIRECT when the file system allows)
 * @dev, @ino: its identity, to refuse adding it twice
 * @nslots: pages it holds
 * @nfree: of which free
 * @hint: where the next search for a free slot starts
 * @bitmap: one bit per slot, set when in use
 */
struct pfile {
	bool used;
	bool removing;
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t nslots;
	uint64_t nfree;
	uint64_t hint;
	uint64_t *bitmap;
	char path[DP_PATH_MAX];
};

struct chunk {
	uint64_t index;
	uint32_t used;
	uint64_t e[CHUNK_PAGES];
};

/* An object's page map: open-addressing hash of chunks by chunk index. */
struct pmap {
	struct chunk **tab;
	size_t cap;
	size_t nchunks;
	uint64_t npages;
};

struct conn;

/**
 * struct mgr - a manager fd of the daemon
 * @fd: the /dev/mempager fd
 * @is_default: the default manager fd (registered with the kernel)
 * @owner: the client connection it creates objects for, NULL once gone
 * @nobjs: objects on it that the daemon still holds
 */
struct mgr {
	struct mgr *next;
	int fd;
	bool is_default;
	struct conn *owner;
	unsigned long nobjs;
	bool doomed;
	int pidx;
};

enum { OBJ_TEMPORARY, OBJ_CREATED };

/**
 * struct dpobj - an object the daemon pages
 * @kind: OBJ_TEMPORARY (memory_object_create) or OBJ_CREATED
 *	(default_pager_object_create)
 * @mgr: the manager fd it is on; @handle its handle there
 * @live: the kernel has state for it (between create/init and terminate)
 * @control: that state's control
 * @name: system-wide name
 * @size: bytes (a hint for temporary objects)
 * @map: its pages held
 * @owner: OBJ_CREATED: the connection that keeps it alive, NULL once gone
 */
struct dpobj {
	struct dpobj *hnext;
	struct dpobj *next, *prev;
	int kind;
	struct mgr *mgr;
	uint32_t handle;
	bool live;
	uint64_t control;
	uint64_t name;
	uint64_t size;
	struct pmap map;
	struct conn *owner;
};

struct conn {
	struct conn *next;
	int fd;
	bool dead;
	struct mgr *mgr;
	int pidx;
};

static struct {
	size_t ps;
	bool verbose;
	bool registered;
	struct pfile files[MAX_FILES];
	int cur_file;
	struct mgr *mgrs;
	struct mgr *dmgr;
	struct conn *conns;
	struct dpobj *buckets[OBJ_BUCKETS];
	struct dpobj objs;	/* list head */
	unsigned long nobjs;
	int listen_fd;
	int sig_fd;
	const char *sock_path;
	void *iobuf;		/* IO_PAGES pages, aligned */
	void *rdata;		/* receive buffer */
	size_t rdata_size;
	struct dp_info_reply st;	/* the counters */
	unsigned char pkt[DP_MAX_PACKET + 1];
} dp;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define vlog(...) do { if (dp.verbose) logmsg(__VA_ARGS__); } while (0)

/* ---- paging files and slots ---- */

static uint64_t total_slots(bool free_only, int except)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < MAX_FILES; i++) {
		struct pfile *f = &dp.files[i];

		if (!f->used || i == except || (free_only && f->removing))
			continue;
		n += free_only ? f->nfree : f->nslots;
	}
	return n;
}

static bool bit_test(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ULL << (i % 64);
}

static void bit_clear(uint64_t *bm, uint64_t i)
{
	bm[i / 64] &= ~(1ULL << (i % 64));
}

/* A free slot of @f from its hint on (next fit), or -1. */
static int64_t file_alloc(struct pfile *f)
{
	uint64_t words = (f->nslots + 63) / 64, w, i, start;

	if (!f->nfree || f->removing)
		return -1;
	start = f->hint / 64;
	for (i = 0; i < words; i++) {
		uint64_t word, bit;

		w = (start + i) % words;
		word = f->bitmap[w];
		if (word == ~0ULL)
			continue;
		bit = __builtin_ctzll(~word);
		if (w * 64 + bit >= f->nslots)
			continue;
		bit_set(f->bitmap, w * 64 + bit);
		f->nfree--;
		f->hint = w * 64 + bit + 1;
		if (f->hint >= f->nslots)
			f->hint = 0;
		return (int64_t)(w * 64 + bit);
	}
	return -1;
}

/* A free slot in any paging file: its entry, or 0. */
static uint64_t slot_alloc(void)
{
	int i;

	for (i = 0; i < MAX_FILES; i++) {
		int fi = (dp.cur_file + i) % MAX_FILES;
		struct pfile *f = &dp.files[fi];
		int64_t s;

		if (!f->used)
			continue;
		s = file_alloc(f);
		if (s >= 0) {
			dp.cur_file = fi;
			return slot_make(fi, s);
		}
	}
	return 0;
}

static void slot_free(uint64_t e)
{
	struct pfile *f;

	if (!e)
		return;
	if (slot_is_mem(e)) {
		free(slot_mem(e));
		dp.st.mem_pages--;
		return;
	}
	f = &dp.files[slot_file(e)];
	if (f->used && bit_test(f->bitmap, slot_index(e))) {
		bit_clear(f->bitmap, slot_index(e));
		f->nfree++;
	}
}

static int file_io(bool write, struct pfile *f, void *buf, size_t len,
		   uint64_t slot)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		off_t off = slot * dp.ps + done;

		n = write ? pwrite(f->fd, (char *)buf + done, len - done, off)
			  : pread(f->fd, (char *)buf + done, len - done, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			dp.st.io_errors++;
			logmsg("%s %s at slot %llu: %s", write ? "write" : "read",
			       f->path, (unsigned long long)slot,
			       strerror(errno));
			return -1;
		}
		done += n;
	}
	return 0;
}

/* ---- page maps ---- */

static size_t pmap_hash(uint64_t index, size_t cap)
{
	return (size_t)(index * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
}

static struct chunk *pmap_chunk(struct pmap *m, uint64_t index)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = pmap_hash(index, m->cap); m->tab[i]; i = (i + 1) & (m->cap - 1))
		if (m->tab[i]->index == index)
			return m->tab[i];
	return NULL;
}

static int pmap_grow(struct pmap *m)
{
	size_t cap = m->cap ? 2 * m->cap : 16, i, j;
	struct chunk **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -1;
	for (i = 0; i < m->cap; i++) {
		if (!m->tab[i])
			continue;
		for (j = pmap_hash(m->tab[i]->index, cap); tab[j];
		     j = (j + 1) & (cap - 1))
			;
		tab[j] = m->tab[i];
	}
	free(m->tab);
	m->tab = tab;
	m->cap = cap;
	return 0;
}

static uint64_t pmap_get(struct pmap *m, uint64_t pg)
{
	struct chunk *c = pmap_chunk(m, pg >> CHUNK_SHIFT);

	return c ? c->e[pg & (CHUNK_PAGES - 1)] : 0;
}

/* Set page @pg's entry (never to 0); -1 without memory. */
static int pmap_set(struct pmap *m, uint64_t pg, uint64_t e)
{
	uint64_t index = pg >> CHUNK_SHIFT;
	struct chunk *c = pmap_chunk(m, index);
	uint64_t *slot;
	size_t i;

	if (!c) {
		if (2 * (m->nchunks + 1) > m->cap && pmap_grow(m))
			return -1;
		c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		c->index = index;
		for (i = pmap_hash(index, m->cap); m->tab[i];
		     i = (i + 1) & (m->cap - 1))
			;
		m->tab[i] = c;
		m->nchunks++;
	}
	slot = &c->e[pg & (CHUNK_PAGES - 1)];
	if (!*slot) {
		c->used++;
		m->npages++;
	}
	*slot = e;
	return 0;
}

static void pmap_free(struct pmap *m)
{
	size_t i, j;

	for (i = 0; i < m->cap; i++) {
		if (!m->tab[i])
			continue;
		for (j = 0; j < CHUNK_PAGES; j++)
			slot_free(m->tab[i]->e[j]);
		free(m->tab[i]);
	}
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct chunk *x = *(struct chunk *const *)a;
	const struct chunk *y = *(struct chunk *const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* The map's chunks in index order (malloc'd); NULL without memory. */
static struct chunk **pmap_sorted(struct pmap *m, size_t *n)
{
	struct chunk **v = malloc((m->nchunks + 1) * sizeof(*v));
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < m->cap; i++)
		if (m->tab[i])
			v[(*n)++] = m->tab[i];
	qsort(v, *n, sizeof(*v), cmp_chunk);
	return v;
}

/* ---- objects ---- */

static size_t obj_bucket(int fd, uint32_t handle)
{
	return ((unsigned int)fd * 31u + handle) % OBJ_BUCKETS;
}

static struct dpobj *obj_find(int fd, uint32_t handle)
{
	struct dpobj *o;

	for (o = dp.buckets[obj_bucket(fd, handle)]; o; o = o->hnext)
		if (o->mgr->fd == fd && o->handle == handle)
			return o;
	return NULL;
}

static struct dpobj *obj_by_name(uint64_t name)
{
	struct dpobj *o;

	for (o = dp.objs.next; o != &dp.objs; o = o->next)
		if (o->name == name)
			return o;
	return NULL;
}

static struct dpobj *obj_new(struct mgr *m, uint32_t handle, int kind)
{
	struct dpobj *o = calloc(1, sizeof(*o));
	size_t b = obj_bucket(m->fd, handle);

	if (!o)
		return NULL;
	o->kind = kind;
	o->mgr = m;
	o->handle = handle;
	o->hnext = dp.buckets[b];
	dp.buckets[b] = o;
	o->next = &dp.objs;
	o->prev = dp.objs.prev;
	dp.objs.prev->next = o;
	dp.objs.prev = o;
	m->nobjs++;
	dp.nobjs++;
	return o;
}

/* Close the manager fds that nothing needs any more. */
static void mgr_sweep(void)
{
	struct mgr **p = &dp.mgrs, *m;

	while ((m = *p)) {
		if (!m->doomed) {
			p = &m->next;
			continue;
		}
		*p = m->next;
		close(m->fd);
		free(m);
	}
}

/* Forget @o and free its paging space. */
static void obj_free(struct dpobj *o)
{
	struct dpobj **p;
	struct mgr *m = o->mgr;

	vlog("free object %llu (%llu pages)", (unsigned long long)o->name,
	     (unsigned long long)o->map.npages);
	for (p = &dp.buckets[obj_bucket(m->fd, o->handle)]; *p != o;
	     p = &(*p)->hnext)
		;
	*p = o->hnext;
	o->prev->next = o->next;
	o->next->prev = o->prev;
	pmap_free(&o->map);
	free(o);
	dp.nobjs--;
	/* A client's manager fd goes when its client and objects have. */
	if (!--m->nobjs && !m->is_default && !m->owner)
		m->doomed = true;
}

/* Keep a page in the daemon's memory; its entry, or 0 without memory. */
static uint64_t mem_page(const void *src)
{
	void *mem = aligned_alloc(4096, dp.ps);

	if (!mem)
		return 0;
	memcpy(mem, src, dp.ps);
	if (!dp.st.mem_pages)
		logmsg("paging space exhausted or failing: keeping pages in memory");
	dp.st.mem_pages++;
	return SLOT_MEM | (uintptr_t)mem;
}

static void page_lost(struct dpobj *o, uint64_t pg)
{
	logmsg("out of memory: page %#llx of object %llu lost",
	       (unsigned long long)(pg * dp.ps), (unsigned long long)o->name);
}

/*
 * Store up to IO_PAGES pages at page @pg of @o from @src. Pages held are
 * overwritten in place; the others get a slot, or memory when no slot is
 * free. Runs of pages whose slots follow each other are written with one
 * pwrite; a failing write moves the pages to memory.
 */
static void store_batch(struct dpobj *o, uint64_t pg, const char *src,
			uint64_t n)
{
	uint64_t e[IO_PAGES], i, run;

	for (i = 0; i < n; i++) {
		e[i] = pmap_get(&o->map, pg + i);
		if (e[i])
			continue;
		e[i] = slot_alloc();
		if (!e[i])
			e[i] = mem_page(src + i * dp.ps);
		if (e[i] && pmap_set(&o->map, pg + i, e[i])) {
			slot_free(e[i]);
			e[i] = 0;
		}
		if (!e[i])
			page_lost(o, pg + i);
	}
	for (i = 0; i < n; i += run) {
		const char *p = src + i * dp.ps;
		struct pfile *f;

		run = 1;
		if (!e[i])
			continue;
		if (slot_is_mem(e[i])) {
			memcpy(slot_mem(e[i]), p, dp.ps);
			dp.st.pageouts++;
			continue;
		}
		while (i + run < n && e[i + run] == e[i] + run)
			run++;
		f = &dp.files[slot_file(e[i])];
		if ((uintptr_t)p % 4096) {
			memcpy(dp.iobuf, p, run * dp.ps);
			p = dp.iobuf;
		}
		if (!file_io(true, f, (void *)p, run * dp.ps,
			     slot_index(e[i]))) {
			dp.st.pageouts += run;
			continue;
		}
		/* Keep them in memory; the slots stay allocated (bad). */
		for (uint64_t k = 0; k < run; k++) {
			uint64_t m = mem_page(src + (i + k) * dp.ps);

			if (m && !pmap_set(&o->map, pg + i + k, m))
				dp.st.pageouts++;
			else
				page_lost(o, pg + i + k);
		}
	}
}

static void store_pages(struct dpobj *o, uint64_t pg, const char *src,
			uint64_t n)
{
	uint64_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < IO_PAGES ? n - i : IO_PAGES;
		store_batch(o, pg + i, src + i * dp.ps, k);
	}
}

/* ---- the kernel's messages ---- */

static struct dpobj *obj_of(memory_object_t mo)
{
	return obj_find(mo.fd, mo.object);
}

static kern_return_t dp_init(memory_object_t mo, memory_object_control_t c,
			     memory_object_name_t name, vm_size_t page_size)
{
	struct dpobj *o = obj_of(mo);
	kern_return_t kr;

	(void)name;
	if (!o || page_size != dp.ps) {
		/* Its paging space is gone (its client left): no data. */
		memory_object_destroy(c, KERN_FAILURE);
		return KERN_SUCCESS;
	}
	o->live = true;
	o->control = c.control;
	/*
	 * Not cached: the last unmap returns the dirty pages and terminates,
	 * so that the pages are here and the object can die. COPY_DELAY: the
	 * daemon never changes the data behind the kernel's back.
	 */
	kr = memory_object_ready(c, 0, MEMORY_OBJECT_COPY_DELAY);
	if (kr)
		logmsg("ready object %llu: %s", (unsigned long long)o->name,
		       strerror(errno));
	return KERN_SUCCESS;
}

static void supply_run(struct dpobj *o, memory_object_control_t c,
		       uint64_t pg, uint64_t n)
{
	uint64_t i = 0;

	while (i < n) {
		uint64_t e = pmap_get(&o->map, pg + i), run = 1;
		char *buf = dp.iobuf;

		if (slot_is_mem(e)) {
			buf = slot_mem(e);
		} else {
			struct pfile *f = &dp.files[slot_file(e)];

			while (i + run < n && run < IO_PAGES &&
			       pmap_get(&o->map, pg + i + run) == e + run)
				run++;
			if (file_io(false, f, buf, run * dp.ps, slot_index(e))) {
				memory_object_data_error(c, (pg + i) * dp.ps,
							 run * dp.ps,
							 KERN_FAILURE);
				i += run;
				continue;
			}
		}
		if (memory_object_data_supply(c, (pg + i) * dp.ps, buf,
					      run * dp.ps, VM_PROT_NONE, 0, 0))
			vlog("data_supply object %llu offset %#llx: %s",
			     (unsigned long long)o->name,
			     (unsigned long long)((pg + i) * dp.ps),
			     strerror(errno));
		else
			dp.st.pageins += run;
		i += run;
	}
}

/*
 * Exactly the range asked for: pages held are supplied, the others are
 * zero (data_unavailable). Never more: a page next to it may be on its
 * way here in a data_return not yet read, and supplying the old copy
 * would change the object's contents.
 */
static kern_return_t dp_data_request(memory_object_t mo,
				     memory_object_control_t c,
				     vm_offset_t offset, vm_size_t length,
				     vm_prot_t access)
{
	struct dpobj *o = obj_of(mo);
	uint64_t pg = offset / dp.ps, n = length / dp.ps, i, j;

	(void)access;
	if (!o) {
		memory_object_data_error(c, offset, length, KERN_FAILURE);
		return KERN_SUCCESS;
	}
	for (i = 0; i < n; i = j) {
		bool held = pmap_get(&o->map, pg + i) != 0;

		for (j = i + 1; j < n && (pmap_get(&o->map, pg + j) != 0) == held;
		     j++)
			;
		if (held) {
			supply_run(o, c, pg + i, j - i);
		} else {
			memory_object_data_unavailable(c, (pg + i) * dp.ps,
						       (j - i) * dp.ps);
			dp.st.zero_fills += j - i;
		}
	}
	return KERN_SUCCESS;
}

static kern_return_t dp_data_return(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, const void *data,
				    vm_size_t count, boolean_t dirty,
				    boolean_t kernel_copy)
{
	struct dpobj *o = obj_of(mo);

	(void)c;
	(void)kernel_copy;
	if (!o)
		return KERN_SUCCESS;
	if (dirty) {
		store_pages(o, offset / dp.ps, data, count / dp.ps);
		return KERN_SUCCESS;
	}
	/* Clean: only what is not held already (the daemon's copy is it). */
	for (uint64_t i = 0; i < count / dp.ps; i++)
		if (!pmap_get(&o->map, offset / dp.ps + i))
			store_pages(o, offset / dp.ps + i,
				    (const char *)data + i * dp.ps, 1);
	return KERN_SUCCESS;
}

static kern_return_t dp_terminate(memory_object_t mo,
				  memory_object_control_t c)
{
	struct dpobj *o = obj_of(mo);

	if (!o || o->control != c.control)
		return KERN_SUCCESS;
	o->live = false;
	o->control = 0;
	/* Temporary memory is gone; a created object lives on with its client. */
	if (o->kind == OBJ_TEMPORARY || !o->owner)
		obj_free(o);
	return KERN_SUCCESS;
}

static const struct memory_object_routines dp_routines = {
	.init = dp_init,
	.data_request = dp_data_request,
	.data_return = dp_data_return,
	.terminate = dp_terminate,
};

/* memory_object_create: the kernel hands over a temporary object. */
static void dp_create(struct mgr *m, const struct mempager_msg *msg)
{
	struct dpobj *o = obj_find(m->fd, msg->object);

	if (o) {
		/* A handle is never reused while the daemon holds it. */
		logmsg("memory_object_create for object handle %u held already",
		       msg->object);
		return;
	}
	if (msg->create.page_size != dp.ps)
		logmsg("memory_object_create: page size %u, not %zu",
		       msg->create.page_size, dp.ps);
	o = obj_new(m, msg->object, OBJ_TEMPORARY);
	if (!o) {
		logmsg("out of memory for object %llu",
		       (unsigned long long)msg->create.name);
		return;
	}
	o->live = true;
	o->control = msg->control;
	o->name = msg->create.name;
	o->size = msg->create.size;
}

/* memory_object_data_initialize: ignored for pages held (as in Mach). */
static void dp_data_initialize(struct mgr *m, const struct mempager_msg *msg,
			       const void *data)
{
	struct dpobj *o = obj_find(m->fd, msg->object);
	/* mempager_msg_data() knows only MEMPAGER_MSG_DATA_RETURN. */
	const char *pages = data ? (const char *)data +
				   msg->data_return.data_offset : NULL;
	uint64_t pg = msg->data_return.offset / dp.ps, i, j;
	uint64_t n = msg->data_return.length / dp.ps;

	if (!o || !pages) {
		logmsg("data_initialize for unknown object handle %u: %llu pages lost",
		       msg->object, (unsigned long long)n);
		dp.st.io_errors++;
		return;
	}
	for (i = 0; i < n; i = j) {
		if (pmap_get(&o->map, pg + i)) {
			dp.st.init_ignored++;
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n && !pmap_get(&o->map, pg + j); j++)
			;
		store_pages(o, pg + i, pages + i * dp.ps, j - i);
	}
}

static void trace(const struct mempager_msg *msg)
{
	char line[256];

	if (!dp.verbose)
		return;
	switch (msg->type) {
	case MEMPAGER_MSG_CREATE:
		snprintf(line, sizeof(line),
			 "create obj=%u seq=%llu control=%llu name=%llu size=%llu",
			 msg->object, (unsigned long long)msg->seqno,
			 (unsigned long long)msg->control,
			 (unsigned long long)msg->create.name,
			 (unsigned long long)msg->create.size);
		break;
	case MEMPAGER_MSG_DATA_INITIALIZE:
		snprintf(line, sizeof(line),
			 "data_initialize obj=%u seq=%llu offset=%#llx len=%llu",
			 msg->object, (unsigned long long)msg->seqno,
			 (unsigned long long)msg->data_return.offset,
			 (unsigned long long)msg->data_return.length);
		break;
	default:
		mempager_msg_format(msg, line, sizeof(line));
	}
	fprintf(stderr, "<- %s\n", line);
}

static void serve_msg(struct mgr *m, const struct mempager_msg *msg,
		      const void *data)
{
	kern_return_t kr;

	trace(msg);
	switch (msg->type) {
	case MEMPAGER_MSG_CREATE:
		dp_create(m, msg);
		return;
	case MEMPAGER_MSG_DATA_INITIALIZE:
		dp_data_initialize(m, msg, data);
		return;
	}
	kr = memory_object_default_server(m->fd, msg, data, &dp_routines);
	if (kr == MIG_BAD_ID)
		logmsg("unexpected message type %u for object handle %u",
		       msg->type, msg->object);
}

/* Serve what @m has queued; -1 when its fd fails. */
static int serve_mgr(struct mgr *m)
{
	struct mempager_msg msgs[DP_MSG_BATCH];
	int n, i, rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		n = mempager_receive_data(m->fd, msgs, DP_MSG_BATCH, dp.rdata,
					  dp.rdata_size);
		if (n < 0 && errno == EMSGSIZE && dp.rdata_size < DATA_MAX) {
			void *bigger = aligned_alloc(4096, 2 * dp.rdata_size);

			if (!bigger)
				return -1;
			free(dp.rdata);
			dp.rdata = bigger;
			dp.rdata_size *= 2;
			continue;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		for (i = 0; i < n; i++)
			serve_msg(m, &msgs[i], dp.rdata);
		if (n < DP_MSG_BATCH)
			break;
	}
	return 0;
}

static struct mgr *mgr_open(bool is_default)
{
	struct mgr *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fd = mempager_open();
	if (m->fd < 0) {
		free(m);
		return NULL;
	}
	fcntl(m->fd, F_SETFL, fcntl(m->fd, F_GETFL) | O_NONBLOCK);
	m->is_default = is_default;
	m->pidx = -1;
	m->next = dp.mgrs;
	dp.mgrs = m;
	return m;
}

/* ---- paging files ---- */

static int paging_add(const char *path, uint64_t size)
{
	int fd, i, slot = -1, flags = O_RDWR | O_CLOEXEC;
	struct stat st;
	uint64_t bytes;
	struct pfile *f;
	bool direct = true;

	if (path[0] != '/')
		return EINVAL;
	if (strlen(path) >= DP_PATH_MAX)
		return ENAMETOOLONG;
	if (size && stat(path, &st) && errno == ENOENT)
		flags |= O_CREAT | O_EXCL;
	fd = open(path, flags | O_DIRECT, 0600);
	if (fd < 0 && errno == EINVAL) {
		/*
		 * A file system without O_DIRECT (tmpfs before 6.6): the
		 * refused open may have created the file already.
		 */
		direct = false;
		fd = open(path, flags & ~O_EXCL, 0600);
	}
	if (fd < 0)
		return errno;
	if (fstat(fd, &st))
		goto out_errno;
	for (i = 0; i < MAX_FILES; i++) {
		f = &dp.files[i];
		if (f->used && f->dev == st.st_dev && f->ino == st.st_ino) {
			close(fd);
			return EEXIST;
		}
		if (!f->used && slot < 0)
			slot = i;
	}
	if (slot < 0) {
		close(fd);
		return ENFILE;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			goto out_errno;
	} else if (S_ISREG(st.st_mode)) {
		/* Others must not read the pages of temporary memory. */
		if (st.st_mode & 077) {
			close(fd);
			return EACCES;
		}
		if (size > (uint64_t)st.st_size) {
			int err = posix_fallocate(fd, 0, size);

			if (err && ftruncate(fd, size))
				goto out_errno;
		}
		bytes = size ? size : (uint64_t)st.st_size;
	} else {
		close(fd);
		return EINVAL;
	}
	if (bytes / dp.ps == 0 || bytes / dp.ps > SLOT_MASK) {
		close(fd);
		return EINVAL;
	}
	f = &dp.files[slot];
	memset(f, 0, sizeof(*f));
	f->nslots = bytes / dp.ps;
	f->bitmap = calloc((f->nslots + 63) / 64, sizeof(uint64_t));
	if (!f->bitmap) {
		close(fd);
		return ENOMEM;
	}
	f->used = true;
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->nfree = f->nslots;
	strcpy(f->path, path);
	logmsg("paging file %s: %llu pages%s", path,
	       (unsigned long long)f->nslots, direct ? "" : " (no O_DIRECT)");
	return 0;

out_errno:
	i = errno;
	close(fd);
	return i;
}

/* Move the pages on file @fi elsewhere, then forget it. */
static int paging_remove(const char *path)
{
	struct pfile *f = NULL;
	struct dpobj *o;
	int fi, err = 0;
	size_t i, j, n;

	for (fi = 0; fi < MAX_FILES; fi++)
		if (dp.files[fi].used && !strcmp(dp.files[fi].path, path)) {
			f = &dp.files[fi];
			break;
		}
	if (!f)
		return ENOENT;
	if (f->nslots - f->nfree > total_slots(true, fi))
		return ENOSPC;
	f->removing = true;
	for (o = dp.objs.next; o != &dp.objs && !err; o = o->next) {
		struct chunk **v = pmap_sorted(&o->map, &n);

		if (!v) {
			err = ENOMEM;
			break;
		}
		for (i = 0; i < n && !err; i++) {
			for (j = 0; j < CHUNK_PAGES; j++) {
				uint64_t e = v[i]->e[j], ne;

				if (!e || slot_is_mem(e) || slot_file(e) != fi)
					continue;
				ne = slot_alloc();
				if (!ne) {
					err = ENOSPC;
					break;
				}
				if (file_io(false, f, dp.iobuf, dp.ps,
					    slot_index(e)) ||
				    file_io(true, &dp.files[slot_file(ne)],
					    dp.iobuf, dp.ps, slot_index(ne))) {
					slot_free(ne);
					err = EIO;
					break;
				}
				v[i]->e[j] = ne;
				slot_free(e);
			}
		}
		free(v);
	}
	if (err) {
		f->removing = false;
		return err;
	}
	close(f->fd);
	free(f->bitmap);
	logmsg("paging file %s removed", f->path);
	memset(f, 0, sizeof(*f));
	return 0;
}

/* ---- the socket ---- */

static void conn_send(struct conn *c, void *rep, size_t size, int fd)
{
	struct dp_reply *r = rep;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = rep, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	r->hdr.magic = DP_PROTO_MAGIC;
	r->hdr.version = DP_PROTO_VERSION;
	r->hdr.size = size;
	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	/* A client that does not read its replies is dropped, not waited for. */
	if (sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)size)
		c->dead = true;
}

static void conn_error(struct conn *c, const struct dp_hdr *h, int err)
{
	struct dp_reply r = { .status = err };

	if (h) {
		r.hdr.op = h->op;
		r.hdr.seq = h->seq;
	}
	conn_send(c, &r, sizeof(r), -1);
}

static void op_info(struct conn *c, const struct dp_hdr *h)
{
	struct dp_info_reply r = dp.st;

	memset(&r.r, 0, sizeof(r.r));
	r.r.hdr.op = h->op;
	r.r.hdr.seq = h->seq;
	r.total_space = total_slots(false, -1) * dp.ps;
	r.free_space = total_slots(true, -1) * dp.ps;
	r.page_size = dp.ps;
	r.flags = dp.registered ? DP_INFO_DEFAULT_MANAGER : 0;
	for (int i = 0; i < MAX_FILES; i++)
		r.nfiles += dp.files[i].used;
	r.nobjects = dp.nobjs;
	conn_send(c, &r, sizeof(r), -1);
}

static void op_object_create(struct conn *c, const struct dp_hdr *h)
{
	const struct dp_object_create_req *q = (const void *)h;
	struct dp_object_create_reply r = { 0 };
	uint64_t size = (q->object_size + dp.ps - 1) / dp.ps * dp.ps;
	uint32_t handle;
	struct dpobj *o;
	int ofd;

	if (!q->object_size || size < q->object_size) {
		conn_error(c, h, EINVAL);
		return;
	}
	if (!c->mgr) {
		c->mgr = mgr_open(false);
		if (!c->mgr) {
			conn_error(c, h, errno);
			return;
		}
		c->mgr->owner = c;
	}
	if (mempager_object_create(c->mgr->fd, size, 0600, &handle, &ofd,
				   &r.name)) {
		conn_error(c, h, errno);
		return;
	}
	o = obj_new(c->mgr, handle, OBJ_CREATED);
	if (!o) {
		close(ofd);
		conn_error(c, h, ENOMEM);
		return;
	}
	o->name = r.name;
	o->size = size;
	o->owner = c;
	r.object_size = size;
	r.r.hdr.op = h->op;
	r.r.hdr.seq = h->seq;
	vlog("object_create: object %llu, %llu bytes", (unsigned long long)r.name,
	     (unsigned long long)size);
	conn_send(c, &r, sizeof(r), ofd);
	close(ofd);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void op_objects(struct conn *c, const struct dp_hdr *h)
{
	const struct dp_objects_req *q = (const void *)h;
	struct dp_objects_reply *r = (void *)dp.pkt;
	uint64_t *names = malloc((dp.nobjs + 1) * sizeof(*names));
	size_t n = 0, i;
	struct dpobj *o;

	if (!names) {
		conn_error(c, h, ENOMEM);
		return;
	}
	for (o = dp.objs.next; o != &dp.objs; o = o->next)
		if (o->name > q->after)
			names[n++] = o->name;
	qsort(names, n, sizeof(*names), cmp_u64);
	memset(r, 0, sizeof(*r));
	for (i = 0; i < n && r->count < DP_OBJECTS_MAX; i++) {
		struct dp_object_entry *e = &r->entries[r->count++];

		o = obj_by_name(names[i]);
		memset(e, 0, sizeof(*e));
		e->name = o->name;
		e->size = o->size;
		e->pages = o->map.npages;
		e->flags = (o->kind == OBJ_TEMPORARY ? DP_OBJ_TEMPORARY :
			    DP_OBJ_CREATED) | (o->live ? DP_OBJ_MAPPED : 0);
	}
	if (i < n)
		r->flags = DP_MORE;
	free(names);
	r->r.hdr.op = h->op;
	r->r.hdr.seq = h->seq;
	conn_send(c, r, sizeof(*r) + r->count * sizeof(r->entries[0]), -1);
}

static void op_object_pages(struct conn *c, const struct dp_hdr *h)
{
	const struct dp_object_pages_req *q = (const void *)h;
	struct dp_object_pages_reply *r = (void *)dp.pkt;
	struct dpobj *o = obj_by_name(q->name);
	uint64_t from = q->start / dp.ps;
	struct chunk **v;
	size_t n, i, j;

	if (!o) {
		conn_error(c, h, ENOENT);
		return;
	}
	v = pmap_sorted(&o->map, &n);
	if (!v) {
		conn_error(c, h, ENOMEM);
		return;
	}
	memset(r, 0, sizeof(*r));
	for (i = 0; i < n; i++) {
		for (j = 0; j < CHUNK_PAGES; j++) {
			uint64_t pg = v[i]->index * CHUNK_PAGES + j;

			if (pg < from || !v[i]->e[j])
				continue;
			if (r->count == DP_PAGES_MAX) {
				r->flags = DP_MORE;
				r->next = pg * dp.ps;
				goto out;
			}
			r->offsets[r->count++] = pg * dp.ps;
		}
	}
out:
	free(v);
	r->r.hdr.op = h->op;
	r->r.hdr.seq = h->seq;
	conn_send(c, r, sizeof(*r) + r->count * sizeof(r->offsets[0]), -1);
}

static void op_paging_file(struct conn *c, const struct dp_hdr *h)
{
	const struct dp_paging_file_req *q = (const void *)h;
	struct dp_reply r = { .hdr.op = h->op, .hdr.seq = h->seq };

	if (!memchr(q->path, 0, sizeof(q->path)) || q->__reserved)
		r.status = EINVAL;
	else if (q->action == DP_PAGING_ADD)
		r.status = paging_add(q->path, q->file_size);
	else if (q->action == DP_PAGING_REMOVE)
		r.status = paging_remove(q->path);
	else
		r.status = EINVAL;
	conn_send(c, &r, sizeof(r), -1);
}

static void op_paging_files(struct conn *c, const struct dp_hdr *h)
{
	struct dp_paging_files_reply *r = (void *)dp.pkt;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < MAX_FILES; i++) {
		struct pfile *f = &dp.files[i];
		struct dp_file_entry *e;

		if (!f->used)
			continue;
		e = &r->entries[r->count++];
		memset(e, 0, sizeof(*e));
		e->total_slots = f->nslots;
		e->free_slots = f->nfree;
		snprintf(e->path, sizeof(e->path), "%s", f->path);
	}
	r->r.hdr.op = h->op;
	r->r.hdr.seq = h->seq;
	conn_send(c, r, sizeof(*r) + r->count * sizeof(r->entries[0]), -1);
}

static const struct {
	size_t size;	/* the request as version 1 defined it */
	void (*fn)(struct conn *c, const struct dp_hdr *h);
} dp_ops[] = {
	[DP_OP_INFO] = { sizeof(struct dp_hdr), op_info },
	[DP_OP_OBJECT_CREATE] = { sizeof(struct dp_object_create_req),
				  op_object_create },
	[DP_OP_OBJECTS] = { sizeof(struct dp_objects_req), op_objects },
	[DP_OP_OBJECT_PAGES] = { sizeof(struct dp_object_pages_req),
				 op_object_pages },
	[DP_OP_PAGING_FILE] = { sizeof(struct dp_paging_file_req),
				op_paging_file },
	[DP_OP_PAGING_FILES] = { sizeof(struct dp_hdr), op_paging_files },
};

static void serve_conn(struct conn *c)
{
	union {
		struct dp_hdr h;
		struct dp_paging_file_req biggest;
		uint64_t align;
	} req;
	struct dp_hdr *h = (void *)dp.pkt;
	ssize_t n = recv(c->fd, dp.pkt, sizeof(dp.pkt), MSG_DONTWAIT | MSG_TRUNC);
	size_t known;
	unsigned int op;

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		c->dead = true;
		return;
	}
	if ((size_t)n < sizeof(*h) || h->magic != DP_PROTO_MAGIC) {
		conn_error(c, NULL, EPROTO);
		c->dead = true;
		return;
	}
	op = h->op;
	if ((size_t)n > DP_MAX_PACKET) {
		conn_error(c, h, EMSGSIZE);
		return;
	}
	if (h->size != (size_t)n || !h->version) {
		conn_error(c, h, EINVAL);
		return;
	}
	if (op >= sizeof(dp_ops) / sizeof(dp_ops[0]) || !dp_ops[op].fn) {
		conn_error(c, h, EOPNOTSUPP);
		return;
	}
	known = dp_ops[op].size;
	if ((size_t)n < known) {
		conn_error(c, h, EINVAL);
		return;
	}
	for (size_t i = known; i < (size_t)n; i++)
		if (dp.pkt[i]) {
			conn_error(c, h, E2BIG);
			return;
		}
	memset(&req, 0, sizeof(req));
	memcpy(&req, dp.pkt, known);
	dp_ops[op].fn(c, &req.h);
}

static void conn_close(struct conn *c)
{
	struct conn **p;
	struct dpobj *o, *next;

	for (p = &dp.conns; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	close(c->fd);
	if (c->mgr) {
		/* Its objects die now, or at their last unmap. */
		for (o = dp.objs.next; o != &dp.objs; o = next) {
			next = o->next;
			if (o->owner != c)
				continue;
			o->owner = NULL;
			if (!o->live)
				obj_free(o);
		}
		c->mgr->owner = NULL;
		if (!c->mgr->nobjs)
			c->mgr->doomed = true;
	}
	free(c);
}

static void accept_conn(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	int fd = accept4(dp.listen_fd, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->pidx = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.uid != 0) {
		logmsg("refused a client (uid %d, pid %d)",
		       len == sizeof(cred) ? (int)cred.uid : -1,
		       len == sizeof(cred) ? (int)cred.pid : -1);
		conn_error(c, NULL, EPERM);
		close(fd);
		free(c);
		return;
	}
	c->next = dp.conns;
	dp.conns = c;
}

static int listen_on(const char *path, bool replace)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int s, t;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logmsg("%s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* Another daemon serving this socket? */
	t = dp_connect(path);
	if (t >= 0) {
		close(t);
		if (!replace) {
			logmsg("%s: another default pager serves it (--replace to take over)",
			       path);
			return -1;
		}
	}
	unlink(path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	old = umask(077);
	t = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (t || chmod(path, 0600) || listen(s, 16)) {
		logmsg("%s: %s", path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options] --paging-file PATH[:SIZE] ...\n"
		"\n"
		"The default pager: registers as the system's default memory\n"
		"manager (MEMPAGER_SET_DEFAULT_MANAGER, needs CAP_SYS_ADMIN) and\n"
		"keeps the pages that temporary memory (mmap of /dev/mempager with\n"
		"no object bound) must give up under memory pressure in its paging\n"
		"files. It also serves privileged clients (uid 0) on a Unix socket:\n"
		"default_pager_object_create, _info, _objects, _object_pages and\n"
		"_paging_file (see mempager-defpagerctl and\n"
		"Documentation/default-pager.rst).\n"
		"\n"
		"  -f, --paging-file PATH[:SIZE]\n"
		"        a paging file: a block device, or a regular file that only\n"
		"        its owner may access; with SIZE (K, M, G suffixes) a regular\n"
		"        file is created or grown to SIZE bytes. May be repeated.\n"
		"  -s, --socket PATH   the socket (default " DP_SOCKET_PATH ")\n"
		"  -n, --no-register   serve the socket only; do not become the\n"
		"        default manager\n"
		"  -r, --replace       take the socket over from a running daemon\n"
		"  -v, --verbose       trace every kernel message\n"
		"  -h, --help          show this help\n"
		"\n"
		"The daemon runs in the foreground until SIGTERM or SIGINT. Pages it\n"
		"holds are lost when it stops: processes then get SIGBUS on the\n"
		"pages of their temporary memory that were paged out. Pages in RAM\n"
		"are not affected, and a new daemon serves new temporary memory.\n");
}

static int add_arg_file(const char *arg)
{
	char path[DP_PATH_MAX];
	const char *colon = strrchr(arg, ':');
	uint64_t size = 0;
	int err;

	if (strlen(arg) >= sizeof(path))
		return -1;
	strcpy(path, arg);
	if (colon && !tool_parse_size(colon + 1, &size))
		path[colon - arg] = 0;
	err = paging_add(path, size);
	if (err) {
		logmsg("%s: %s", path, strerror(err));
		return -1;
	}
	return 0;
}

static int register_default(void)
{
	struct mempager_default_manager dm = { .size = sizeof(dm) };

	dp.dmgr = mgr_open(true);
	if (!dp.dmgr) {
		logmsg("/dev/mempager: %s", strerror(errno));
		return -1;
	}
	if (!mempager_has_ioctl(dp.dmgr->fd, MEMPAGER_CMD_RECEIVE)) {
		logmsg("the kernel has no MEMPAGER_RECEIVE");
		return -1;
	}
	if (ioctl(dp.dmgr->fd, MEMPAGER_SET_DEFAULT_MANAGER, &dm)) {
		logmsg("MEMPAGER_SET_DEFAULT_MANAGER: %s%s", strerror(errno),
		       errno == ENOTTY ? " (the kernel has no default manager support)" : "");
		return -1;
	}
	dp.registered = true;
	logmsg("registered as the default memory manager");
	return 0;
}

static void run(void)
{
	struct pollfd *p = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n = 0, nmgr = 0;
		struct mgr *m;
		struct conn *c, *cnext;
		bool stop = false;

		for (m = dp.mgrs; m; m = m->next)
			nmgr++;
		for (c = dp.conns; c; c = c->next)
			n++;
		n += nmgr + 2;
		if (n > cap) {
			struct pollfd *bigger = realloc(p, n * sizeof(*p));

			if (!bigger) {
				logmsg("out of memory");
				sleep(1);
				continue;
			}
			p = bigger;
			cap = n;
		}
		n = 0;
		p[n++] = (struct pollfd){ .fd = dp.sig_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = dp.listen_fd, .events = POLLIN };
		for (m = dp.mgrs; m; m = m->next) {
			m->pidx = n;
			p[n++] = (struct pollfd){ .fd = m->fd, .events = POLLIN };
		}
		for (c = dp.conns; c; c = c->next) {
			c->pidx = n;
			p[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(dp.sig_fd, &si, sizeof(si)) == sizeof(si)) {
				logmsg("signal %u: stopping", si.ssi_signo);
				stop = true;
			}
		}
		/* The kernel first: it may be waiting for memory. */
		for (m = dp.mgrs; m; m = m->next) {
			if (m->pidx < 0 || !p[m->pidx].revents)
				continue;
			if (serve_mgr(m)) {
				logmsg("receive: %s", strerror(errno));
				stop = m->is_default;
			}
		}
		mgr_sweep();
		if (p[1].revents)
			accept_conn();
		for (c = dp.conns; c; c = cnext) {
			cnext = c->next;
			/* Connections accepted in this round are not in p[]. */
			if (c->pidx >= 0) {
				if (p[c->pidx].revents & POLLIN)
					serve_conn(c);
				else if (p[c->pidx].revents)
					c->dead = true;
			}
			if (c->dead)
				conn_close(c);
		}
		mgr_sweep();
		if (stop)
			break;
	}
	free(p);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "paging-file", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-register", no_argument, NULL, 'n' },
		{ "replace", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	bool no_register = false, replace = false;
	const char *files[MAX_FILES];
	int c, nfiles = 0, i, adj;
	sigset_t mask;

	dp.sock_path = DP_SOCKET_PATH;
	while ((c = getopt_long(argc, argv, "f:s:nrvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (nfiles == MAX_FILES) {
				logmsg("at most %d paging files", MAX_FILES);
				return 2;
			}
			files[nfiles++] = optarg;
			break;
		case 's':
			dp.sock_path = optarg;
			break;
		case 'n':
			no_register = true;
			break;
		case 'r':
			replace = true;
			break;
		case 'v':
			dp.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	dp.ps = sysconf(_SC_PAGESIZE);
	dp.objs.next = dp.objs.prev = &dp.objs;
	dp.listen_fd = -1;
	dp.rdata_size = DATA_MIN;
	dp.rdata = aligned_alloc(4096, dp.rdata_size);
	dp.iobuf = aligned_alloc(4096, IO_PAGES * dp.ps);
	if (!dp.rdata || !dp.iobuf) {
		logmsg("out of memory");
		return 1;
	}
	if (geteuid() != 0)
		logmsg("warning: not running as root");
	for (i = 0; i < nfiles; i++)
		if (add_arg_file(files[i]))
			return 1;
	if (!nfiles)
		logmsg("warning: no paging file: pages will be kept in memory");

	/*
	 * The pager must not wait for the memory it is asked to free: lock
	 * it in, keep the OOM killer away.
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		logmsg("warning: mlockall: %s", strerror(errno));
	adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (adj >= 0) {
		if (write(adj, "-1000", 5) != 5)
			logmsg("warning: oom_score_adj: %s", strerror(errno));
		close(adj);
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	dp.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (dp.sig_fd < 0) {
		logmsg("signalfd: %s", strerror(errno));
		return 1;
	}
	dp.listen_fd = listen_on(dp.sock_path, replace);
	if (dp.listen_fd < 0)
		return 1;
	if (!no_register && register_default()) {
		unlink(dp.sock_path);
		return 1;
	}
	logmsg("serving %s", dp.sock_path);
	run();

	unlink(dp.sock_path);
	logmsg("stopped: %llu pages out, %llu in, %llu zero-filled; %lu objects dropped",
	       (unsigned long long)dp.st.pageouts,
	       (unsigned long long)dp.st.pageins,
	       (unsigned long long)dp.st.zero_fills, dp.nobjs);
	return 0;
}
