/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The small Redis Cluster client of mempager-dsm: hiredis (0.14, which has
 * no cluster support) plus the slot routing. Every key of a region carries
 * the hash tag {region}, so all of a region's keys are in one slot and a
 * Lua script may touch them all; the routing is CRC16 -> slot -> node
 * (from CLUSTER SLOTS) and following MOVED and ASK redirects. A server
 * without cluster support serves every slot.
 *
 * Every command has a deadline: connection errors, TRYAGAIN, CLUSTERDOWN
 * and failovers are retried (re-reading the slot map from any seed) until
 * it passes; then the command fails with a message, never hangs.
 */
#ifndef MEMPAGER_DSM_REDIS_H
#define MEMPAGER_DSM_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#define DSM_SLOTS	16384
#define DSM_MAX_NODES	32

/* CRC16-CCITT (XMODEM), Redis Cluster's key hash: CRC16("123456789") = 0x31C3. */
uint16_t dsm_crc16(const void *buf, size_t len);

/* The cluster slot of a key, honouring the first non-empty {hash tag}. */
unsigned int dsm_keyslot(const char *key, size_t len);

struct dsm_store;

/* One thread's connection; zero-initialise. */
struct dsm_conn {
	redisContext *c;
	int node;		/* index into the store's nodes, -1 none */
	char err[160];		/* why the last command failed */
};

/*
 * A store from "HOST:PORT[,HOST:PORT...]" (the seeds). Reads the slot map
 * within @timeout_ms; NULL with a message in @err when no seed answers
 * sensibly.
 */
struct dsm_store *dsm_store_open(const char *seeds, int timeout_ms,
				 char *err, size_t errlen);
void dsm_store_close(struct dsm_store *s);

/* Whether the store is a cluster (else a single server). */
int dsm_store_is_cluster(struct dsm_store *s);

/*
 * Run one command (argv/lens as redisCommandArgv) on the node serving
 * @slot, retrying until @timeout_ms has passed. Returns the reply (which
 * may be a REDIS_REPLY_ERROR other than a redirect) or NULL with the
 * reason in @conn->err. Free with freeReplyObject().
 */
redisReply *dsm_cmd(struct dsm_store *s, struct dsm_conn *conn,
		    unsigned int slot, int argc, const char **argv,
		    const size_t *lens, int timeout_ms);

/*
 * dsm_cmd(), then in the same round trip WAIT @replicas (for at most 9/10
 * of what is left of @timeout_ms): *@acked is how many replicas have this
 * connection's writes, or -1 when unknown (no answer, or a redirect).
 */
redisReply *dsm_cmd_wait(struct dsm_store *s, struct dsm_conn *conn,
			 unsigned int slot, int argc, const char **argv,
			 const size_t *lens, int timeout_ms, int replicas,
			 int *acked);

/*
 * The same with hiredis's format: %s, %b, and integer conversions with the
 * h, hh, l and ll modifiers only (no %zu: it garbles the arguments).
 */
redisReply *dsm_cmdf(struct dsm_store *s, struct dsm_conn *conn,
		     unsigned int slot, int timeout_ms, const char *fmt, ...);

void dsm_conn_close(struct dsm_conn *conn);

#endif /* MEMPAGER_DSM_REDIS_H */
