// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-dsm: one memory object mapped coherently by several machines,
 * its pages and page directory in Redis (Cluster). One daemon per machine;
 * see Documentation/cluster.rst and mempager-dsm(1).
 *
 * Per page: single writer, multiple readers. A read fault registers a read
 * copy in the directory (Lua, atomic) and is answered with data_supply
 * (lock_value WRITE: readable, not writable); a write fault or data_unlock
 * takes ownership (Lua), after the daemons of the other holders have done
 * lock_request(should_flush, RETURN_DIRTY), written the page back (WAIT for
 * a replica) and released it. Holders are asked through a list per machine
 * and region (their inbox) and answer on a list per request (its ack).
 * Liveness is a lease: the key alive:<machine> of each region, refreshed
 * by a heartbeat; a holder whose lease lapsed is dropped from the
 * directory, its unwritten changes lost. A daemon fences itself: before
 * its own lease can have lapsed in the store, it takes every right on the
 * region back from its kernel (the fence thread), so that no stale page
 * stays readable or writable here once another machine may take it. A
 * fault not served within the fault timeout gets data_error (SIGBUS).
 *
 * Threads: the receiver (main) reads the kernel's messages and answers
 * init, data_return, lock_completed, synchronize and terminate itself;
 * workers serve data_request and data_unlock; one inbox thread per region
 * flushes pages for the other machines and one renews its lease (the
 * heartbeat); the fence; a socket thread hands object fds to local
 * applications (dsm_client.h).
 *
 * Locking: a region's page mutex (pg_lock[n]) is held from a directory
 * change to the kernel call that makes it true locally (supply, unlock,
 * flush), never while waiting for another machine. rg->lock protects the
 * flush bookkeeping (flushing, flush_done, flush_data) and is innermost.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dsm_client.h"
#include "dsm_redis.h"
#include "toolutil.h"

#define PROG "mempager-dsm"
#define MAX_REGIONS 16

enum { ST_NONE, ST_READ, ST_WRITE };

struct region {
	char name[DSM_NAME_MAX + 1];
	unsigned int slot;
	size_t npages;
	uint32_t object;
	int object_fd;
	atomic_bool inited;
	memory_object_control_t control;	/* of the current incarnation */
	pthread_mutex_t *pg_lock;
	unsigned char *state;			/* under pg_lock[n] */
	unsigned char *error;			/* refuse the next data_request */
	long long *since;			/* when the right was granted */
	uint64_t *served;			/* hash of the last request served */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *flushing, *flush_done;	/* under lock */
	unsigned char **flush_data;		/* under lock */
	unsigned char **unsaved;		/* flushed, not yet stored: pg_lock */
	atomic_llong lease_until;		/* our alive key lives until then */
	atomic_bool fenced;			/* pages taken back since renewed */
	pthread_t inbox, heartbeat;
};

struct work {
	struct work *next;
	struct mempager_msg msg;
};

static struct {
	const char *seeds, *sock, *machine;
	int lease_ms, fault_ms, replicas, nworkers, verbose, hold_ms;
	size_t ps;
	int mfd;
	struct dsm_store *store;
	char incarnation[64];
	pthread_mutex_t lock;		/* regions, the work queue */
	pthread_cond_t work_cond;
	struct work *head, *tail;
	int nregions;
	struct region *regions[MAX_REGIONS];
	atomic_ulong nonce;
	atomic_ulong reads, writes, unlocks, flushes, writebacks, errors;
} d = {
	.sock = DSM_DEFAULT_SOCKET, .lease_ms = 3000, .fault_ms = 10000,
	.replicas = 1, .nworkers = 4, .hold_ms = 10,
};

static void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void dlog(const char *fmt, ...)
{
	va_list ap;

	if (!d.verbose)
		return;
	flockfile(stderr);
	fprintf(stderr, PROG "[%s]: ", d.machine);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

/*
 * The directory scripts. KEYS: dir (hash owner, ver), rd (set of readers),
 * pg (the page). ARGV[1] this machine, ARGV[2] the alive key prefix.
 * A holder is live while its alive key exists.
 */
/*
 * Register a read copy: {0, data}, {1, owner}, or {3, 'lease'} when this
 * machine's own lease lapsed (it must not take rights until renewed).
 */
static const char READ_LUA[] =
	"if redis.call('EXISTS', ARGV[2] .. ARGV[1]) == 0 then return {3, 'lease'} end\n"
	"local o = redis.call('HGET', KEYS[1], 'owner')\n"
	"if o and o ~= ARGV[1] then\n"
	"  if redis.call('EXISTS', ARGV[2] .. o) == 1 then return {1, o} end\n"
	"  redis.call('HDEL', KEYS[1], 'owner')\n"
	"end\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"return {0, redis.call('GET', KEYS[3])}\n";

/*
 * Take ownership: {0, ver[, data]} (no data when ARGV[3] is 1 and this
 * machine holds a copy), {1, owner}, {2, reader...} or {3, 'lease'}.
 */
static const char WRITE_LUA[] =
	"if redis.call('EXISTS', ARGV[2] .. ARGV[1]) == 0 then return {3, 'lease'} end\n"
	"local o = redis.call('HGET', KEYS[1], 'owner')\n"
	"if o and o ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. o) == 1 then\n"
	"  return {1, o}\n"
	"end\n"
	"local live = {}\n"
	"for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	"  if r ~= ARGV[1] then\n"
	"    if redis.call('EXISTS', ARGV[2] .. r) == 1 then live[#live + 1] = r\n"
	"    else redis.call('SREM', KEYS[2], r) end\n"
	"  end\n"
	"end\n"
	"if #live > 0 then return {2, unpack(live)} end\n"
	"local mine = o == ARGV[1] or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1\n"
	"redis.call('DEL', KEYS[2])\n"
	"redis.call('HSET', KEYS[1], 'owner', ARGV[1])\n"
	"local v = redis.call('HINCRBY', KEYS[1], 'ver', 1)\n"
	"if mine and ARGV[3] == '1' then return {0, v} end\n"
	"return {0, v, redis.call('GET', KEYS[3])}\n";

/* Write a page back if still its owner: 1 written, 0 not the owner. */
static const char WB_LUA[] =
	"if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end\n"
	"redis.call('SET', KEYS[3], ARGV[3])\n"
	"return 1\n";

/*
 * Give up every right on a page and answer the request (push to its ack
 * list ARGV[4], which lives ARGV[5] ms). An owner hands the page to the
 * machine that asked to write it (ARGV[3]), so that its fault is served
 * next and a busy local writer cannot starve it.
 */
static const char RELEASE_LUA[] =
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then\n"
	"  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[3])\n"
	"  else redis.call('HDEL', KEYS[1], 'owner') end\n"
	"end\n"
	"redis.call('RPUSH', ARGV[4], 1)\n"
	"redis.call('PEXPIRE', ARGV[4], ARGV[5])\n"
	"return 1\n";

static __thread struct dsm_conn conn = { .node = -1 };

/* The list that answers request @nonce on @rg (200 bytes). */
static void ack_key(char *buf, struct region *rg, const char *nonce)
{
	snprintf(buf, 200, "dsm:{%s}:ack:%s", rg->name, nonce);
}

/*
 * Run a directory script on page @n of @rg; @data (a page) is ARGV[3];
 * with @nonce, ARGV[4] is its ack list and ARGV[5] the list's life in ms.
 * With @acked, WAIT for d.replicas in the same round trip: *@acked is how
 * many replicas have this connection's writes (-1: unknown).
 */
static redisReply *script(struct region *rg, const char *lua, size_t n,
			  const char *arg3, size_t arg3len, const char *nonce,
			  int timeout_ms, int *acked)
{
	char dir[128], rd[128], pg[128], alive[128], ack[200], life[24];
	const char *argv[11] = { "EVAL", lua, "3", dir, rd, pg, d.machine, alive,
				 arg3 ? arg3 : "", ack, life };
	size_t lens[11];
	int i, argc = nonce ? 11 : 9;

	snprintf(dir, sizeof(dir), "dsm:{%s}:dir:%zu", rg->name, n);
	snprintf(rd, sizeof(rd), "dsm:{%s}:rd:%zu", rg->name, n);
	snprintf(pg, sizeof(pg), "dsm:{%s}:pg:%zu", rg->name, n);
	snprintf(alive, sizeof(alive), "dsm:{%s}:alive:", rg->name);
	if (nonce) {
		ack_key(ack, rg, nonce);
		snprintf(life, sizeof(life), "%d", 2 * d.fault_ms);
	}
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (arg3)
		lens[8] = arg3len;
	if (!acked)
		return dsm_cmd(d.store, &conn, rg->slot, argc, argv, lens, timeout_ms);
	if (!d.replicas || !dsm_store_is_cluster(d.store)) {
		*acked = d.replicas;
		return dsm_cmd(d.store, &conn, rg->slot, argc, argv, lens, timeout_ms);
	}
	return dsm_cmd_wait(d.store, &conn, rg->slot, argc, argv, lens,
			    timeout_ms, d.replicas, acked);
}

/*
 * WAIT until d.replicas replicas have this connection's writes, in slices
 * of at most a second (a slot whose master just failed over has no
 * replica until one rejoins): 0, or -1 when @timeout_ms passed.
 */
static int wait_replicas(struct region *rg, int timeout_ms)
{
	long long deadline = tool_now_ms() + timeout_ms;
	redisReply *r;
	int ok;

	if (!d.replicas || !dsm_store_is_cluster(d.store))
		return 0;
	do {
		long long left = deadline - tool_now_ms();
		int slice = left > 1000 ? 1000 : left > 10 ? (int)left : 10;
		/* The network's share of the call: 2 s, within @timeout_ms. */
		long long net = left - slice > 2000 ? 2000 : left - slice;

		r = dsm_cmdf(d.store, &conn, rg->slot, slice + (net > 0 ? (int)net : 0) + 100,
			     "WAIT %d %d", d.replicas, slice);
		ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= d.replicas;
		if (r)
			freeReplyObject(r);
		if (ok)
			return 0;
		if (!r)
			usleep(100000);
	} while (tool_now_ms() < deadline);
	return -1;
}

static long long left_ms(long long deadline)
{
	return deadline - tool_now_ms();
}

/*
 * Whether this machine may hold rights on @rg's pages now: its alive key
 * was set (and is on a replica) at a time t, so it lives in the store at
 * least until t + lease; a quarter of the lease is left for the fence to
 * take the pages back before then.
 */
static bool lease_held(struct region *rg)
{
	return tool_now_ms() < atomic_load(&rg->lease_until) - d.lease_ms / 4;
}

/* Renew this machine's lease on @rg: 0, or -1 (not renewed). */
static int lease_renew(struct region *rg, int timeout_ms)
{
	long long sent = tool_now_ms();
	redisReply *r = dsm_cmdf(d.store, &conn, rg->slot, timeout_ms,
				 "SET dsm:{%s}:alive:%s %s PX %d", rg->name,
				 d.machine, d.incarnation, d.lease_ms);
	bool ok = r && r->type == REDIS_REPLY_STATUS;

	if (!r || !ok)
		fprintf(stderr, PROG ": %s: lease not renewed: %s\n", rg->name,
			r ? (r->type == REDIS_REPLY_ERROR ? r->str : "bad answer") : conn.err);
	if (r)
		freeReplyObject(r);
	/* A renewal a failover could lose does not count. */
	if (!ok || wait_replicas(rg, timeout_ms))
		return -1;
	atomic_store(&rg->lease_until, sent + d.lease_ms);
	return 0;
}

static char zero_page[65536];

static int write_back(struct region *rg, size_t n, const void *data,
		      int timeout_ms);

/*
 * Serve one page fault: @write for a write data_request or data_unlock
 * (@unlock). Returns 0, or -1 when it could not be served in time.
 */
static int fault_page(struct region *rg, memory_object_control_t c, size_t n,
		      bool write, bool unlock)
{
	long long deadline = tool_now_ms() + d.fault_ms, last_sent = 0;
	char nonce[96], ackkey[200], msg[256];
	int ret = -1;

	snprintf(nonce, sizeof(nonce), "%s.%s.%lu", d.machine, d.incarnation,
		 (unsigned long)++d.nonce);
	ack_key(ackkey, rg, nonce);
	while (left_ms(deadline) > 0) {
		/* Under pg_lock, a call to the store lasts at most a lease/8. */
		int call_ms = (int)(left_ms(deadline) < d.lease_ms / 8 ?
				    left_ms(deadline) : d.lease_ms / 8);
		redisReply *r, *data = NULL;
		long long code;
		int acked;
		size_t i;

		pthread_mutex_lock(&rg->pg_lock[n]);
		if (rg->unsaved[n]) {
			/* Our last version is not in the store yet: it goes first. */
			if (write_back(rg, n, rg->unsaved[n], call_ms)) {
				pthread_mutex_unlock(&rg->pg_lock[n]);
				continue;
			}
			free(rg->unsaved[n]);
			rg->unsaved[n] = NULL;
		}
		if (unlock && rg->state[n] == ST_NONE) {
			/* Flushed meanwhile: the fault asks again. */
			pthread_mutex_unlock(&rg->pg_lock[n]);
			return 0;
		}
		r = script(rg, write ? WRITE_LUA : READ_LUA, n, unlock ? "1" : "0",
			   1, NULL, call_ms, &acked);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER) {
			pthread_mutex_unlock(&rg->pg_lock[n]);
			fprintf(stderr, PROG ": %s page %zu: directory: %s\n", rg->name,
				n, r ? (r->type == REDIS_REPLY_ERROR ? r->str : "bad answer")
				     : conn.err);
			if (r)
				freeReplyObject(r);
			usleep(100000);
			continue;
		}
		code = r->element[0]->integer;
		if (code == 3 || (code == 0 && !lease_held(rg))) {
			/* Our lease lapsed: no right until the heartbeat renews it. */
			pthread_mutex_unlock(&rg->pg_lock[n]);
			freeReplyObject(r);
			usleep(50000);
			continue;
		}
		if (code == 0) {
			kern_return_t kr;

			if (acked < d.replicas && wait_replicas(rg, call_ms)) {
				pthread_mutex_unlock(&rg->pg_lock[n]);
				freeReplyObject(r);
				fprintf(stderr, PROG ": %s page %zu: no replica acknowledged\n",
					rg->name, n);
				continue;
			}
			if (!lease_held(rg)) {
				/* It lapsed while we waited: the fence may be done. */
				pthread_mutex_unlock(&rg->pg_lock[n]);
				freeReplyObject(r);
				continue;
			}
			data = write ? (r->elements > 2 ? r->element[2] : NULL) : r->element[1];
			if (data && data->type == REDIS_REPLY_STRING && data->len != d.ps)
				data = NULL;	/* never a partial page */
			if (unlock && r->elements > 2) {
				/* Our copy is not the directory's: drop it, refault. */
				kr = memory_object_lock_request(c, n * d.ps, d.ps,
						MEMORY_OBJECT_RETURN_NONE, 1,
						VM_PROT_NONE, 0);
				rg->state[n] = ST_NONE;
			} else if (unlock) {
				kr = memory_object_lock_request(c, n * d.ps, d.ps,
						MEMORY_OBJECT_RETURN_NONE, 0,
						VM_PROT_NONE, 0);
				rg->state[n] = ST_WRITE;
				rg->since[n] = tool_now_ms();
			} else {
				const void *p = data && data->type == REDIS_REPLY_STRING ?
						data->str : zero_page;

				kr = memory_object_data_supply(c, n * d.ps, p, d.ps,
						write ? VM_PROT_NONE : VM_PROT_WRITE, 0, 0);
				rg->state[n] = write ? ST_WRITE : ST_READ;
				rg->since[n] = tool_now_ms();
			}
			/* Held again: requests served before count anew. */
			rg->served[n] = 0;
			pthread_mutex_unlock(&rg->pg_lock[n]);
			freeReplyObject(r);
			if (kr)
				dlog("%s page %zu: %s", rg->name, n, mach_error_string(kr));
			if (write)
				d.writes++;
			else
				d.reads++;
			return 0;
		}
		pthread_mutex_unlock(&rg->pg_lock[n]);
		/* Ask the holders (again, as requests may be lost). */
		if (tool_now_ms() - last_sent >= 1000) {
			for (i = 1; i < r->elements; i++) {
				redisReply *q;

				if (r->element[i]->type != REDIS_REPLY_STRING)
					continue;
				/* One argument: hiredis splits the format at spaces. */
				snprintf(msg, sizeof(msg), "%zu %s %s", n, nonce,
					 write ? d.machine : "-");
				q = dsm_cmdf(d.store, &conn, rg->slot,
					     (int)left_ms(deadline),
					     "RPUSH dsm:{%s}:in:%s %s", rg->name,
					     r->element[i]->str, msg);
				if (q)
					freeReplyObject(q);
				dlog("%s page %zu: asked %s (%s)", rg->name, n,
				     r->element[i]->str, write ? "write" : "read");
			}
			last_sent = tool_now_ms();
		}
		freeReplyObject(r);
		if (left_ms(deadline) <= 0)
			break;
		r = dsm_cmdf(d.store, &conn, rg->slot, (int)left_ms(deadline) + 1000,
			     "BLPOP %s 0.2", ackkey);
		if (r)
			freeReplyObject(r);
	}
	d.errors++;
	fprintf(stderr, PROG ": %s page %zu: not served within %d ms\n", rg->name,
		n, d.fault_ms);
	return ret;
}

static struct region *region_of(uint32_t object)
{
	struct region *rg = NULL;
	int i;

	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.nregions; i++)
		if (d.regions[i]->object == object)
			rg = d.regions[i];
	pthread_mutex_unlock(&d.lock);
	return rg;
}

static void serve_work(const struct mempager_msg *m)
{
	memory_object_control_t c = mempager_msg_control(d.mfd, m);
	struct region *rg = region_of(m->object);
	size_t n, first = m->request.offset / d.ps;
	size_t count = (m->request.length + d.ps - 1) / d.ps;
	bool unlock = m->type == MEMPAGER_MSG_DATA_UNLOCK;
	bool write = unlock || (m->request.desired_access & VM_PROT_WRITE);

	if (!rg)
		return;
	if (unlock)
		d.unlocks++;
	for (n = first; n < first + count && n < rg->npages; n++) {
		if (!unlock) {
			bool refuse;

			pthread_mutex_lock(&rg->pg_lock[n]);
			refuse = rg->error[n];
			rg->error[n] = 0;
			pthread_mutex_unlock(&rg->pg_lock[n]);
			if (refuse) {
				memory_object_data_error(c, n * d.ps, d.ps, KERN_FAILURE);
				continue;
			}
		}
		if (!fault_page(rg, c, n, write, unlock))
			continue;
		if (unlock) {
			/* Refuse: flush, and fail the data_request that follows. */
			pthread_mutex_lock(&rg->pg_lock[n]);
			rg->error[n] = 1;
			rg->state[n] = ST_NONE;
			memory_object_lock_request(c, n * d.ps, d.ps,
						   MEMORY_OBJECT_RETURN_NONE, 1,
						   VM_PROT_NONE, 0);
			pthread_mutex_unlock(&rg->pg_lock[n]);
		} else {
			memory_object_data_error(c, n * d.ps, d.ps, KERN_FAILURE);
		}
	}
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		struct work *w;

		pthread_mutex_lock(&d.lock);
		while (!d.head)
			pthread_cond_wait(&d.work_cond, &d.lock);
		w = d.head;
		d.head = w->next;
		if (!d.head)
			d.tail = NULL;
		pthread_mutex_unlock(&d.lock);
		serve_work(&w->msg);
		free(w);
	}
	return NULL;
}

/* Write page @n back (its owner only), WAIT for a replica. */
static int write_back(struct region *rg, size_t n, const void *data,
		      int timeout_ms)
{
	long long deadline = tool_now_ms() + timeout_ms;
	int acked, ret = -1;
	redisReply *r = script(rg, WB_LUA, n, data, d.ps, NULL, timeout_ms, &acked);

	if (r && r->type == REDIS_REPLY_INTEGER) {
		ret = 0;
		if (r->integer == 1) {
			d.writebacks++;
			if (acked < d.replicas)
				ret = left_ms(deadline) > 0 ?
				      wait_replicas(rg, (int)left_ms(deadline)) : -1;
		}
	} else {
		fprintf(stderr, PROG ": %s page %zu: write-back: %s\n", rg->name, n,
			r ? (r->type == REDIS_REPLY_ERROR ? r->str : "bad answer") : conn.err);
	}
	if (r)
		freeReplyObject(r);
	return ret;
}

/*
 * Take page @n of @rg back from the kernel (flush, dirty data returned):
 * its data if it was modified, else NULL. Under pg_lock[n].
 */
static unsigned char *flush_local(struct region *rg, size_t n)
{
	long long deadline = tool_now_ms() + 5000;
	unsigned char *data;
	struct timespec ts;
	kern_return_t kr;

	rg->state[n] = ST_NONE;
	if (!rg->inited) {
		dlog("%s page %zu: flush: object not initialised", rg->name, n);
		return NULL;
	}
	pthread_mutex_lock(&rg->lock);
	rg->flushing[n] = 1;
	rg->flush_done[n] = 0;
	pthread_mutex_unlock(&rg->lock);
	dlog("%s page %zu: lock_request flush", rg->name, n);
	kr = memory_object_lock_request(rg->control, n * d.ps, d.ps,
					MEMORY_OBJECT_RETURN_DIRTY, 1,
					VM_PROT_NONE, 1);
	pthread_mutex_lock(&rg->lock);
	while (!kr && !rg->flush_done[n] && tool_now_ms() < deadline) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&rg->cond, &rg->lock, &ts);
	}
	rg->flushing[n] = 0;
	data = rg->flush_data[n];
	rg->flush_data[n] = NULL;
	dlog("%s page %zu: flush: %s, %s, %s", rg->name, n,
	     mach_error_string(kr),
	     rg->flush_done[n] ? "completed" : "NOT COMPLETED",
	     data ? "dirty" : "clean");
	pthread_mutex_unlock(&rg->lock);
	return data;
}

/*
 * Another machine wants page @n: flush it, write it back, release it (to
 * @writer, when it wants to write).
 */
static void flush_page(struct region *rg, size_t n, const char *nonce,
		       const char *writer)
{
	unsigned char *data;
	redisReply *r;
	long long held;

	uint64_t h = 1469598103934665603ULL;
	const char *c;

	for (c = nonce; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	dlog("%s page %zu: asked by %s (%s)", rg->name, n, nonce, writer);
	pthread_mutex_lock(&rg->pg_lock[n]);
	/*
	 * A requester repeats its request while it waits: a copy of one
	 * already served is dropped (until this machine holds the page
	 * again), or under load the repeats would fill the inbox and each
	 * cost a flush, a WAIT and a release.
	 */
	if (rg->served[n] == h) {
		pthread_mutex_unlock(&rg->pg_lock[n]);
		dlog("%s page %zu: %s served already", rg->name, n, nonce);
		return;
	}
	/* Let a new holder use the page a little before it goes again. */
	held = tool_now_ms() - rg->since[n];
	if (rg->state[n] != ST_NONE && held >= 0 && held < d.hold_ms) {
		pthread_mutex_unlock(&rg->pg_lock[n]);
		usleep((d.hold_ms - held) * 1000);
		pthread_mutex_lock(&rg->pg_lock[n]);
	}
	data = flush_local(rg, n);
	d.flushes++;
	/* A page flushed before whose write-back failed goes first. */
	if (!data) {
		data = rg->unsaved[n];
	} else {
		free(rg->unsaved[n]);
	}
	rg->unsaved[n] = NULL;
	/*
	 * Release only what is on a replica: the page written back, and the
	 * directory changes before (WAIT covers this connection's writes).
	 */
	if ((data && write_back(rg, n, data, d.fault_ms)) ||
	    (!data && wait_replicas(rg, d.fault_ms))) {
		/* Keep ownership and the data; the requester asks again. */
		fprintf(stderr, PROG ": %s page %zu: not stored, kept\n",
			rg->name, n);
		rg->unsaved[n] = data;
		pthread_mutex_unlock(&rg->pg_lock[n]);
		return;
	}
	free(data);
	rg->served[n] = h;
	r = script(rg, RELEASE_LUA, n, strcmp(writer, "-") ? writer : "",
		   strcmp(writer, "-") ? strlen(writer) : 0, nonce, d.fault_ms, NULL);
	if (r)
		freeReplyObject(r);
	pthread_mutex_unlock(&rg->pg_lock[n]);
	dlog("%s page %zu: released for %s", rg->name, n, nonce);
}

static void *inbox(void *arg)
{
	struct region *rg = arg;

	for (;;) {
		redisReply *r = dsm_cmdf(d.store, &conn, rg->slot, 3000,
					 "BLPOP dsm:{%s}:in:%s 1", rg->name,
					 d.machine);
		unsigned long long n;
		char nonce[100], writer[100];

		if (!r) {
			dlog("%s: inbox: %s", rg->name, conn.err);
			usleep(100000);
			continue;
		}
		if (r->type != REDIS_REPLY_NIL)
			dlog("%s: inbox: type %d %s", rg->name, r->type,
			     r->type == REDIS_REPLY_ARRAY && r->elements == 2 ?
			     r->element[1]->str : r->type == REDIS_REPLY_ERROR ? r->str : "");
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    sscanf(r->element[1]->str, "%llu %99s %99s", &n, nonce,
			   writer) == 3 && n < rg->npages)
			flush_page(rg, n, nonce, writer);
		freeReplyObject(r);
	}
	return NULL;
}

/*
 * Write back the pages the fence took (while this machine is still their
 * owner) for at most @timeout_ms, stopping at the first failure: the
 * number left, for the next heartbeat.
 */
static size_t store_unsaved(struct region *rg, int timeout_ms)
{
	long long deadline = tool_now_ms() + timeout_ms;
	size_t n, left = 0;

	for (n = 0; n < rg->npages; n++) {
		pthread_mutex_lock(&rg->pg_lock[n]);
		if (rg->unsaved[n]) {
			if (!left && left_ms(deadline) > 0 &&
			    !write_back(rg, n, rg->unsaved[n], (int)left_ms(deadline))) {
				free(rg->unsaved[n]);
				rg->unsaved[n] = NULL;
			} else {
				left++;
			}
		}
		pthread_mutex_unlock(&rg->pg_lock[n]);
	}
	return left;
}

/*
 * Renew this machine's lease on @arg (a region) every quarter of a lease;
 * once renewed after a fence, store what the fence took.
 */
static void *heartbeat(void *arg)
{
	struct region *rg = arg;
	bool unsaved = false;

	for (;;) {
		if (!lease_renew(rg, d.lease_ms / 4)) {
			if (atomic_exchange(&rg->fenced, false))
				unsaved = true;
			if (unsaved)
				unsaved = store_unsaved(rg, d.lease_ms / 4) > 0;
		}
		usleep(d.lease_ms / 4 * 1000);
	}
	return NULL;
}

/*
 * The fence: once a region's lease may lapse (lease_held() false), take
 * every page this machine holds back from its kernel, keeping modified
 * ones to write back while this machine is still their owner. Faults
 * grant nothing until the lease is renewed, so one pass over every page
 * per lapse does; a page whose lock a fault holds (talking to the store,
 * at most a lease/8 a call) is left for the next pass, not waited for.
 * Returns the number of pages left.
 */
static size_t fence_region(struct region *rg)
{
	size_t n, count = 0, busy = 0;

	for (n = 0; n < rg->npages; n++) {
		unsigned char *data;

		if (pthread_mutex_trylock(&rg->pg_lock[n])) {
			busy++;
			continue;
		}
		if (rg->state[n] != ST_NONE) {
			data = flush_local(rg, n);
			if (data) {
				free(rg->unsaved[n]);
				rg->unsaved[n] = data;
			}
			count++;
		}
		pthread_mutex_unlock(&rg->pg_lock[n]);
	}
	if (count || !busy)
		fprintf(stderr, PROG ": %s: lease lapsing, %zu pages taken back\n",
			rg->name, count);
	return busy;
}

static void *fence(void *arg)
{
	(void)arg;
	for (;;) {
		int i, n;

		pthread_mutex_lock(&d.lock);
		n = d.nregions;
		pthread_mutex_unlock(&d.lock);
		for (i = 0; i < n; i++) {
			struct region *rg = d.regions[i];

			if (!lease_held(rg) && !atomic_load(&rg->fenced) &&
			    !fence_region(rg))
				atomic_store(&rg->fenced, true);
		}
		usleep(d.lease_ms / 40 * 1000);
	}
	return NULL;
}

/* The region named @name, opened on first use; NULL with @err. */
static struct region *region_open(const char *name, char *err, size_t errlen)
{
	struct region *rg;
	redisReply *r;
	unsigned long long size;
	kern_return_t kr;
	size_t i;

	if (!*name || strlen(name) > DSM_NAME_MAX || strpbrk(name, "{}: \t\r\n")) {
		snprintf(err, errlen, "bad region name");
		return NULL;
	}
	pthread_mutex_lock(&d.lock);
	for (i = 0; i < (size_t)d.nregions; i++)
		if (!strcmp(d.regions[i]->name, name)) {
			rg = d.regions[i];
			pthread_mutex_unlock(&d.lock);
			return rg;
		}
	pthread_mutex_unlock(&d.lock);
	r = dsm_cmdf(d.store, &conn, dsm_keyslot(name, strlen(name)), 5000,
		     "HGET dsm:{%s}:meta size", name);
	if (!r) {
		snprintf(err, errlen, "store: %s", conn.err);
		return NULL;
	}
	if (r->type != REDIS_REPLY_STRING) {
		snprintf(err, errlen, r->type == REDIS_REPLY_NIL ?
			 "no such region: %s" : "store: bad answer for region %s",
			 name);
		freeReplyObject(r);
		return NULL;
	}
	size = strtoull(r->str, NULL, 0);
	freeReplyObject(r);
	if (!size || size % d.ps) {
		snprintf(err, errlen, "region %s: bad size %llu", name, size);
		return NULL;
	}
	rg = calloc(1, sizeof(*rg));
	if (!rg)
		goto nomem;
	snprintf(rg->name, sizeof(rg->name), "%s", name);
	rg->slot = dsm_keyslot(name, strlen(name));
	rg->npages = size / d.ps;
	rg->pg_lock = calloc(rg->npages, sizeof(*rg->pg_lock));
	rg->state = calloc(rg->npages, 1);
	rg->error = calloc(rg->npages, 1);
	rg->since = calloc(rg->npages, sizeof(*rg->since));
	rg->served = calloc(rg->npages, sizeof(*rg->served));
	rg->flushing = calloc(rg->npages, 1);
	rg->flush_done = calloc(rg->npages, 1);
	rg->flush_data = calloc(rg->npages, sizeof(*rg->flush_data));
	rg->unsaved = calloc(rg->npages, sizeof(*rg->unsaved));
	if (!rg->pg_lock || !rg->state || !rg->error || !rg->since || !rg->served || !rg->flushing ||
	    !rg->flush_done || !rg->flush_data || !rg->unsaved)
		goto nomem;
	for (i = 0; i < rg->npages; i++)
		pthread_mutex_init(&rg->pg_lock[i], NULL);
	pthread_mutex_init(&rg->lock, NULL);
	pthread_cond_init(&rg->cond, NULL);
	lease_renew(rg, 5000);
	/*
	 * Under d.lock from the object's creation to its registration: the
	 * receiver looks the object of its init message up under it.
	 */
	pthread_mutex_lock(&d.lock);
	if (d.nregions == MAX_REGIONS) {
		pthread_mutex_unlock(&d.lock);
		snprintf(err, errlen, "too many regions");
		return NULL;
	}
	kr = mempager_object_create(d.mfd, size, 0600, &rg->object,
				    &rg->object_fd, NULL);
	if (kr) {
		pthread_mutex_unlock(&d.lock);
		snprintf(err, errlen, "object_create: %s", mach_error_string(kr));
		return NULL;
	}
	d.regions[d.nregions++] = rg;
	pthread_mutex_unlock(&d.lock);
	pthread_create(&rg->inbox, NULL, inbox, rg);
	pthread_create(&rg->heartbeat, NULL, heartbeat, rg);
	dlog("region %s: %zu pages, object %u", name, rg->npages, rg->object);
	return rg;
nomem:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static void *clients(void *arg)
{
	int ls = *(int *)arg;

	for (;;) {
		char line[256], reply[300], err[200];
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { reply, 0 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct region *rg = NULL;
		ssize_t n;
		int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

		if (s < 0)
			continue;
		n = read(s, line, sizeof(line) - 1);
		if (n > 0) {
			line[n] = 0;
			line[strcspn(line, "\r\n")] = 0;
		}
		if (n <= 5 || strncmp(line, "OPEN ", 5))
			snprintf(err, sizeof(err), "bad request");
		else
			rg = region_open(line + 5, err, sizeof(err));
		if (rg) {
			struct cmsghdr *cm;

			iov.iov_len = snprintf(reply, sizeof(reply), "OK %zu\n",
					       rg->npages * d.ps);
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &rg->object_fd, sizeof(int));
		} else {
			iov.iov_len = snprintf(reply, sizeof(reply), "ERR %s\n", err);
		}
		if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
			dlog("client: %s", strerror(errno));
		close(s);
	}
	return NULL;
}

/* A data_return: pages being flushed go to their flusher, others back to the store. */
static void take_return(const struct mempager_msg *m, const void *data)
{
	struct region *rg = region_of(m->object);
	size_t i, first = m->data_return.offset / d.ps;
	size_t count = m->data_return.length / d.ps;

	if (!rg || !data)
		return;
	for (i = 0; i < count && first + i < rg->npages; i++) {
		const unsigned char *p = (const unsigned char *)data + i * d.ps;
		size_t n = first + i;
		bool mine;

		pthread_mutex_lock(&rg->lock);
		mine = rg->flushing[n];
		if (mine && m->data_return.dirty && !rg->flush_data[n]) {
			rg->flush_data[n] = malloc(d.ps);
			if (rg->flush_data[n])
				memcpy(rg->flush_data[n], p, d.ps);
		}
		pthread_mutex_unlock(&rg->lock);
		if (!mine && m->data_return.dirty)
			write_back(rg, n, p, d.fault_ms);
	}
}

static void lock_completed(const struct mempager_msg *m)
{
	struct region *rg = region_of(m->object);
	size_t n, first = m->range.offset / d.ps;

	if (!rg)
		return;
	pthread_mutex_lock(&rg->lock);
	for (n = first; n < first + m->range.length / d.ps && n < rg->npages; n++)
		rg->flush_done[n] = 1;
	pthread_cond_broadcast(&rg->cond);
	pthread_mutex_unlock(&rg->lock);
}

static void receive(const struct mempager_msg *m, const void *data)
{
	memory_object_control_t c = mempager_msg_control(d.mfd, m);
	struct region *rg;
	struct work *w;

	if (d.verbose) {
		char buf[256];

		mempager_msg_format(m, buf, sizeof(buf));
		dlog("<- %s", buf);
	}
	switch (m->type) {
	case MEMPAGER_MSG_INIT:
		rg = region_of(m->object);
		if (rg) {
			rg->control = c;
			rg->inited = true;
		}
		memory_object_ready(c, 1, MEMORY_OBJECT_COPY_DELAY);
		break;
	case MEMPAGER_MSG_DATA_REQUEST:
	case MEMPAGER_MSG_DATA_UNLOCK:
		w = malloc(sizeof(*w));
		if (!w) {
			memory_object_data_error(c, m->request.offset,
						 m->request.length, KERN_RESOURCE_SHORTAGE);
			break;
		}
		w->msg = *m;
		w->next = NULL;
		pthread_mutex_lock(&d.lock);
		if (d.tail)
			d.tail->next = w;
		else
			d.head = w;
		d.tail = w;
		pthread_cond_signal(&d.work_cond);
		pthread_mutex_unlock(&d.lock);
		break;
	case MEMPAGER_MSG_DATA_RETURN:
		take_return(m, mempager_msg_data(m, data));
		break;
	case MEMPAGER_MSG_LOCK_COMPLETED:
		lock_completed(m);
		break;
	case MEMPAGER_MSG_SYNCHRONIZE:
		memory_object_synchronize_completed(c, m->range.offset, m->range.length);
		break;
	case MEMPAGER_MSG_TERMINATE:
		rg = region_of(m->object);
		if (rg)
			rg->inited = false;
		break;
	default:
		break;
	}
}

/*
 * A failover takes cluster-node-timeout and an election (about a second);
 * a lease shorter than that lapses in every failover, as if every machine
 * had died: the directory stays coherent, but unwritten changes are lost.
 */
static void warn_short_lease(void)
{
	redisReply *r;

	if (!dsm_store_is_cluster(d.store))
		return;
	r = dsm_cmdf(d.store, &conn, 0, 5000, "CONFIG GET cluster-node-timeout");
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    d.lease_ms < atoi(r->element[1]->str) + 2000)
		fprintf(stderr, PROG ": warning: a lease of %d ms is shorter than a failover (cluster-node-timeout %s ms + 2000)\n",
			d.lease_ms, r->element[1]->str);
	if (r)
		freeReplyObject(r);
}

static int serve(void)
{
	static struct mempager_msg msgs[64];
	size_t data_size = 64 * 16 * 65536;
	void *data = malloc(data_size);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;
	int ls, i;

	d.mfd = mempager_open();
	if (d.mfd < 0 || !data) {
		fprintf(stderr, PROG ": /dev/mempager: %s\n", strerror(errno));
		return 1;
	}
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
	unlink(d.sock);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16)) {
		fprintf(stderr, PROG ": %s: %s\n", d.sock, strerror(errno));
		return 1;
	}
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.work_cond, NULL);
	for (i = 0; i < d.nworkers; i++)
		pthread_create(&t, NULL, worker, NULL);
	pthread_create(&t, NULL, fence, NULL);
	pthread_create(&t, NULL, clients, &ls);
	fprintf(stderr, PROG ": machine %s serving on %s (store %s, %s)\n",
		d.machine, d.sock, d.seeds,
		dsm_store_is_cluster(d.store) ? "cluster" : "single server");
	for (;;) {
		struct pollfd p = { d.mfd, POLLIN, 0 };
		int n, have;

		/* The fd is a manager once it created its first object. */
		pthread_mutex_lock(&d.lock);
		have = d.nregions;
		pthread_mutex_unlock(&d.lock);
		if (!have) {
			usleep(20000);
			continue;
		}
		if (poll(&p, 1, -1) < 0)
			continue;
		n = mempager_receive_data(d.mfd, msgs, 64, data, data_size);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, PROG ": receive: %s\n", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++)
			receive(&msgs[i], data);
	}
}

static int create(const char *name, const char *size_s)
{
	uint64_t size;
	redisReply *r;
	unsigned int slot = dsm_keyslot(name, strlen(name));

	if (tool_parse_size(size_s, &size) || size % d.ps) {
		fprintf(stderr, PROG ": bad size %s (a multiple of %zu)\n", size_s, d.ps);
		return 2;
	}
	if (!*name || strlen(name) > DSM_NAME_MAX || strpbrk(name, "{}: \t\r\n")) {
		fprintf(stderr, PROG ": bad region name\n");
		return 2;
	}
	r = dsm_cmdf(d.store, &conn, slot, 5000, "HSETNX dsm:{%s}:meta size %llu",
		     name, (unsigned long long)size);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		fprintf(stderr, PROG ": create %s: %s\n", name,
			r ? (r->type == REDIS_REPLY_ERROR ? r->str : "bad answer") : conn.err);
		return 1;
	}
	if (!r->integer)
		fprintf(stderr, PROG ": region %s exists already\n", name);
	freeReplyObject(r);
	if (wait_replicas(&(struct region){ .slot = slot }, 2000))
		fprintf(stderr, PROG ": warning: region %s not yet on a replica\n", name);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " -s HOST:PORT[,...] [options] [serve]\n"
		"       " PROG " -s HOST:PORT[,...] create REGION SIZE\n"
		"\n"
		"Serve named shared regions whose pages live in Redis (Cluster), kept\n"
		"coherent with the other machines' daemons; see mempager-dsm(1).\n"
		"\n"
		"  -s SEEDS     store nodes, HOST:PORT[,HOST:PORT...] (or $DSM_STORE)\n"
		"  -m MACHINE   this machine's name in the directory (default: hostname)\n"
		"  -S SOCKET    the local socket (default " DSM_DEFAULT_SOCKET ")\n"
		"  -l MS        the lease of a machine's rights (default 3000; longer\n"
		"               than a failover of the store)\n"
		"  -t MS        fault timeout: past it a fault gets SIGBUS (default 10000)\n"
		"  -r N         replicas a write must reach (WAIT) before it counts\n"
		"               (default 1; 0: none, not safe across failover)\n"
		"  -j N         fault worker threads (default 4)\n"
		"  -H MS        keep a page at least MS before giving it up (default 10)\n"
		"  -v           trace the protocol on stderr\n"
		"  -h           this help\n");
}

int main(int argc, char **argv)
{
	static char host[64];
	char err[200];
	int c;

	d.seeds = getenv("DSM_STORE");
	while ((c = getopt(argc, argv, "s:m:S:l:t:r:j:H:vh")) != -1) {
		switch (c) {
		case 's': d.seeds = optarg; break;
		case 'm': d.machine = optarg; break;
		case 'S': d.sock = optarg; break;
		case 'l': d.lease_ms = atoi(optarg); break;
		case 't': d.fault_ms = atoi(optarg); break;
		case 'r': d.replicas = atoi(optarg); break;
		case 'j': d.nworkers = atoi(optarg); break;
		case 'H': d.hold_ms = atoi(optarg); break;
		case 'v': d.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!d.seeds || d.lease_ms < 100 || d.fault_ms < 100 || d.nworkers < 1 ||
	    d.replicas < 0) {
		usage(stderr);
		return 2;
	}
	if (!d.machine) {
		gethostname(host, sizeof(host) - 1);
		d.machine = host;
	}
	if (!*d.machine || strpbrk(d.machine, "{}: \t")) {
		fprintf(stderr, PROG ": bad machine name\n");
		return 2;
	}
	d.ps = sysconf(_SC_PAGESIZE);
	snprintf(d.incarnation, sizeof(d.incarnation), "%ld%ld", (long)getpid(),
		 (long)time(NULL));
	d.store = dsm_store_open(d.seeds, 5000, err, sizeof(err));
	if (!d.store) {
		fprintf(stderr, PROG ": store: %s\n", err);
		return 1;
	}
	if (optind < argc && !strcmp(argv[optind], "create")) {
		if (argc - optind != 3) {
			usage(stderr);
			return 2;
		}
		return create(argv[optind + 1], argv[optind + 2]);
	}
	if (optind < argc && strcmp(argv[optind], "serve")) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	warn_short_lease();
	return serve();
}
