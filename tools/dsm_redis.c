// SPDX-License-Identifier: GPL-2.0
/*
 * The slot routing of mempager-dsm's Redis Cluster client: see dsm_redis.h.
 *
 * Locking: the store's mutex protects the node table and the slot map; it
 * is never held across network I/O except while re-reading the slot map
 * (dsm_refresh), which has its own deadline. A struct dsm_conn belongs to
 * one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dsm_redis.h"

struct dsm_node {
	char host[64];
	int port;
};

struct dsm_store {
	pthread_mutex_t lock;
	int cluster;
	int nseeds;
	struct dsm_node seeds[DSM_MAX_NODES];
	int nnodes;
	struct dsm_node nodes[DSM_MAX_NODES];
	int8_t slot_node[DSM_SLOTS];	/* index into nodes, -1 unknown */
};

uint16_t dsm_crc16(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint16_t crc = 0;
	int i;

	while (len--) {
		crc ^= (uint16_t)*p++ << 8;
		for (i = 0; i < 8; i++)
			crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
	}
	return crc;
}

unsigned int dsm_keyslot(const char *key, size_t len)
{
	size_t s, e;

	for (s = 0; s < len; s++)
		if (key[s] == '{')
			break;
	if (s < len) {
		for (e = s + 1; e < len; e++)
			if (key[e] == '}')
				break;
		/* Only a non-empty tag counts: "{}x" hashes the whole key. */
		if (e < len && e != s + 1)
			return dsm_crc16(key + s + 1, e - s - 1) & (DSM_SLOTS - 1);
	}
	return dsm_crc16(key, len) & (DSM_SLOTS - 1);
}

static long long dsm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int parse_hostport(const char *s, size_t len, struct dsm_node *n)
{
	const char *colon = memrchr(s, ':', len);
	char port[8];
	size_t hl;

	if (!colon)
		return -1;
	hl = colon - s;
	if (!hl || hl >= sizeof(n->host) || len - hl - 1 >= sizeof(port) ||
	    len - hl - 1 == 0)
		return -1;
	memcpy(n->host, s, hl);
	n->host[hl] = 0;
	memcpy(port, colon + 1, len - hl - 1);
	port[len - hl - 1] = 0;
	n->port = atoi(port);
	return n->port > 0 && n->port < 65536 ? 0 : -1;
}

/* The index of a node, added if new; -1 when the table is full. */
static int node_index_locked(struct dsm_store *s, const char *host, int port)
{
	int i;

	for (i = 0; i < s->nnodes; i++)
		if (s->nodes[i].port == port && !strcmp(s->nodes[i].host, host))
			return i;
	if (s->nnodes == DSM_MAX_NODES || strlen(host) >= sizeof(s->nodes[0].host))
		return -1;
	snprintf(s->nodes[i].host, sizeof(s->nodes[i].host), "%s", host);
	s->nodes[i].port = port;
	return s->nnodes++;
}

static redisContext *dsm_connect(const struct dsm_node *n, int timeout_ms,
				 char *err, size_t errlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(n->host, n->port, tv);

	if (!c) {
		snprintf(err, errlen, "%s:%d: out of memory", n->host, n->port);
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "%s:%d: cannot connect: %s", n->host,
			 n->port, c->errstr);
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

/* Read CLUSTER SLOTS from one node into the map; 0 or -1 with @err. */
static int load_slots(struct dsm_store *s, redisContext *c, const char *who,
		      char *err, size_t errlen)
{
	redisReply *r = redisCommand(c, "CLUSTER SLOTS");
	size_t i;
	int ret = -1;

	if (!r) {
		snprintf(err, errlen, "%s: %s", who,
			 c->errstr[0] ? c->errstr : "no answer");
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "cluster support disabled")) {
		/* A single server: every slot is the seed's. */
		pthread_mutex_lock(&s->lock);
		s->cluster = 0;
		memset(s->slot_node, 0, sizeof(s->slot_node));
		pthread_mutex_unlock(&s->lock);
		freeReplyObject(r);
		return 0;
	}
	if (r->type != REDIS_REPLY_ARRAY || !r->elements) {
		snprintf(err, errlen, "%s: unexpected answer to CLUSTER SLOTS%s%s",
			 who, r->type == REDIS_REPLY_ERROR ? ": " : "",
			 r->type == REDIS_REPLY_ERROR ? r->str : "");
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	s->cluster = 1;
	for (i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *m;
		long long a, b, k;
		int idx;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER)
			break;
		m = e->element[2];
		if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
		    m->element[0]->type != REDIS_REPLY_STRING ||
		    m->element[1]->type != REDIS_REPLY_INTEGER)
			break;
		a = e->element[0]->integer;
		b = e->element[1]->integer;
		if (a < 0 || b >= DSM_SLOTS || a > b)
			break;
		idx = node_index_locked(s, m->element[0]->str,
					(int)m->element[1]->integer);
		if (idx < 0)
			break;
		for (k = a; k <= b; k++)
			s->slot_node[k] = idx;
	}
	pthread_mutex_unlock(&s->lock);
	if (i < r->elements)
		snprintf(err, errlen, "%s: malformed CLUSTER SLOTS answer", who);
	else
		ret = 0;
out:
	freeReplyObject(r);
	return ret;
}

/* Re-read the slot map from the known nodes, then the seeds. */
static int dsm_refresh(struct dsm_store *s, int timeout_ms, char *err,
		       size_t errlen)
{
	struct dsm_node cand[2 * DSM_MAX_NODES];
	int n = 0, i;
	char who[96];

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nnodes; i++)
		cand[n++] = s->nodes[i];
	for (i = 0; i < s->nseeds; i++)
		cand[n++] = s->seeds[i];
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++) {
		int per = timeout_ms < 1000 ? timeout_ms : 1000;
		redisContext *c = dsm_connect(&cand[i], per > 50 ? per : 50,
					      err, errlen);

		if (!c)
			continue;
		snprintf(who, sizeof(who), "%.63s:%d", cand[i].host, cand[i].port);
		if (!load_slots(s, c, who, err, errlen)) {
			if (!s->cluster) {
				pthread_mutex_lock(&s->lock);
				s->nnodes = 0;
				node_index_locked(s, cand[i].host, cand[i].port);
				pthread_mutex_unlock(&s->lock);
			}
			redisFree(c);
			return 0;
		}
		redisFree(c);
	}
	return -1;
}

struct dsm_store *dsm_store_open(const char *seeds, int timeout_ms, char *err,
				 size_t errlen)
{
	struct dsm_store *s = calloc(1, sizeof(*s));
	const char *p = seeds;
	long long deadline = dsm_now_ms() + timeout_ms;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	memset(s->slot_node, -1, sizeof(s->slot_node));
	while (*p && s->nseeds < DSM_MAX_NODES) {
		size_t len = strcspn(p, ",");

		if (parse_hostport(p, len, &s->seeds[s->nseeds])) {
			snprintf(err, errlen, "bad store address '%.*s' (want HOST:PORT)",
				 (int)len, p);
			free(s);
			return NULL;
		}
		s->nseeds++;
		p += len + (p[len] == ',');
	}
	if (!s->nseeds) {
		snprintf(err, errlen, "no store address");
		free(s);
		return NULL;
	}
	for (;;) {
		if (!dsm_refresh(s, timeout_ms, err, errlen))
			return s;
		if (dsm_now_ms() + 200 >= deadline)
			break;
		usleep(200000);
	}
	free(s);
	return NULL;
}

void dsm_store_close(struct dsm_store *s)
{
	free(s);
}

int dsm_store_is_cluster(struct dsm_store *s)
{
	return s->cluster;
}

void dsm_conn_close(struct dsm_conn *conn)
{
	if (conn->c)
		redisFree(conn->c);
	conn->c = NULL;
	conn->node = -1;
}

/* Connect @conn to node @idx unless it already is. */
static int conn_to(struct dsm_store *s, struct dsm_conn *conn, int idx,
		   int timeout_ms)
{
	struct dsm_node n;

	if (conn->c && conn->node == idx)
		return 0;
	dsm_conn_close(conn);
	pthread_mutex_lock(&s->lock);
	n = s->nodes[idx];
	pthread_mutex_unlock(&s->lock);
	conn->c = dsm_connect(&n, timeout_ms, conn->err, sizeof(conn->err));
	if (!conn->c)
		return -1;
	conn->node = idx;
	return 0;
}

/* "MOVED 3999 127.0.0.1:6381": the node index, or -1. */
static int redirect_node(struct dsm_store *s, const char *msg, int moved)
{
	const char *sp = strchr(msg, ' '), *addr;
	struct dsm_node n;
	long slot;
	int idx;

	if (!sp)
		return -1;
	slot = strtol(sp + 1, NULL, 10);
	addr = strchr(sp + 1, ' ');
	if (!addr || slot < 0 || slot >= DSM_SLOTS ||
	    parse_hostport(addr + 1, strlen(addr + 1), &n))
		return -1;
	pthread_mutex_lock(&s->lock);
	idx = node_index_locked(s, n.host, n.port);
	if (idx >= 0 && moved)
		s->slot_node[slot] = idx;
	pthread_mutex_unlock(&s->lock);
	return idx;
}

/*
 * Run @cmd on the node of @slot, following redirects; with @acked, WAIT
 * for @replicas in the same round trip (*@acked: its answer, or -1).
 */
static redisReply *dsm_raw(struct dsm_store *s, struct dsm_conn *conn,
			   unsigned int slot, const char *cmd, size_t len,
			   int timeout_ms, int replicas, int *acked)
{
	long long deadline = dsm_now_ms() + timeout_ms;
	int asking = -1, moved_to = -1, backoff = 20, redirects = 0;

	conn->err[0] = 0;
	for (;;) {
		long long left = deadline - dsm_now_ms();
		redisReply *r = NULL, *w = NULL;
		struct timeval tv;
		int idx;

		if (acked)
			*acked = -1;
		if (left <= 0) {
			if (!conn->err[0])
				snprintf(conn->err, sizeof(conn->err), "timed out");
			return NULL;
		}
		if (asking >= 0 || moved_to >= 0) {
			/* A redirect names the node: go there, whatever @slot says. */
			idx = asking >= 0 ? asking : moved_to;
			moved_to = -1;
		} else {
			pthread_mutex_lock(&s->lock);
			idx = s->slot_node[slot & (DSM_SLOTS - 1)];
			pthread_mutex_unlock(&s->lock);
		}
		if (idx < 0) {
			dsm_refresh(s, (int)left, conn->err, sizeof(conn->err));
			pthread_mutex_lock(&s->lock);
			idx = s->slot_node[slot & (DSM_SLOTS - 1)];
			pthread_mutex_unlock(&s->lock);
			if (idx < 0)
				goto retry;
		}
		if (conn_to(s, conn, idx, left < 1000 ? (int)left : 1000))
			goto refresh;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		redisSetTimeout(conn->c, tv);
		if (asking >= 0)
			redisAppendCommand(conn->c, "ASKING");
		redisAppendFormattedCommand(conn->c, cmd, len);
		/* WAIT's own timeout leaves the network a tenth of what is left. */
		if (acked)
			redisAppendCommand(conn->c, "WAIT %d %lld", replicas,
					   left > 10 ? left * 9 / 10 : 1);
		if (asking >= 0) {
			if (redisGetReply(conn->c, (void **)&r) != REDIS_OK)
				goto io_error;
			freeReplyObject(r);
			r = NULL;
		}
		if (redisGetReply(conn->c, (void **)&r) != REDIS_OK)
			goto io_error;
		if (acked && redisGetReply(conn->c, (void **)&w) != REDIS_OK) {
			freeReplyObject(r);
			goto io_error;
		}
		if (w) {
			if (w->type == REDIS_REPLY_INTEGER)
				*acked = (int)w->integer;
			freeReplyObject(w);
		}
		asking = -1;
		if (r->type != REDIS_REPLY_ERROR)
			return r;
		if (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4)) {
			int moved = r->str[0] == 'M';

			idx = redirect_node(s, r->str, moved);
			if (idx < 0 || ++redirects > 16) {
				snprintf(conn->err, sizeof(conn->err),
					 "bad redirect: %s", r->str);
				freeReplyObject(r);
				return NULL;
			}
			if (moved)
				moved_to = idx;
			else
				asking = idx;
			freeReplyObject(r);
			continue;
		}
		if (!strncmp(r->str, "TRYAGAIN", 8) ||
		    !strncmp(r->str, "CLUSTERDOWN", 11) ||
		    !strncmp(r->str, "LOADING", 7) ||
		    !strncmp(r->str, "MASTERDOWN", 10) ||
		    !strncmp(r->str, "READONLY", 8)) {
			snprintf(conn->err, sizeof(conn->err), "%s", r->str);
			freeReplyObject(r);
			goto refresh;
		}
		return r;	/* a real error: the caller's */
io_error:
		snprintf(conn->err, sizeof(conn->err), "%s:%d: %s",
			 s->nodes[idx].host, s->nodes[idx].port,
			 conn->c->errstr[0] ? conn->c->errstr : "connection lost");
		/* A protocol error is garbage from the server: do not retry it. */
		if (conn->c->err == REDIS_ERR_PROTOCOL) {
			dsm_conn_close(conn);
			return NULL;
		}
		dsm_conn_close(conn);
refresh:
		asking = -1;
		if (s->cluster) {
			char e[160];

			left = deadline - dsm_now_ms();
			if (left > 0)
				dsm_refresh(s, left < 1000 ? (int)left : 1000,
					    e, sizeof(e));
		}
retry:
		usleep(backoff * 1000);
		if (backoff < 200)
			backoff *= 2;
	}
}

/* dsm_cmd() and dsm_cmd_wait(): the command from its arguments. */
static redisReply *dsm_argv(struct dsm_store *s, struct dsm_conn *conn,
			    unsigned int slot, int argc, const char **argv,
			    const size_t *lens, int timeout_ms, int replicas,
			    int *acked)
{
	char *cmd;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	redisReply *r;

	if (acked)
		*acked = -1;
	if (len < 0) {
		snprintf(conn->err, sizeof(conn->err), "out of memory");
		return NULL;
	}
	r = dsm_raw(s, conn, slot, cmd, len, timeout_ms, replicas, acked);
	free(cmd);
	return r;
}

redisReply *dsm_cmd(struct dsm_store *s, struct dsm_conn *conn,
		    unsigned int slot, int argc, const char **argv,
		    const size_t *lens, int timeout_ms)
{
	return dsm_argv(s, conn, slot, argc, argv, lens, timeout_ms, 0, NULL);
}

redisReply *dsm_cmd_wait(struct dsm_store *s, struct dsm_conn *conn,
			 unsigned int slot, int argc, const char **argv,
			 const size_t *lens, int timeout_ms, int replicas,
			 int *acked)
{
	return dsm_argv(s, conn, slot, argc, argv, lens, timeout_ms, replicas,
			acked);
}

redisReply *dsm_cmdf(struct dsm_store *s, struct dsm_conn *conn,
		     unsigned int slot, int timeout_ms, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int len;
	redisReply *r;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		snprintf(conn->err, sizeof(conn->err), "bad command");
		return NULL;
	}
	r = dsm_raw(s, conn, slot, cmd, len, timeout_ms, 0, NULL);
	free(cmd);
	return r;
}
