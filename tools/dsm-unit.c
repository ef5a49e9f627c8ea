// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-unit: host-side unit test of mempager-dsm's slot routing: CRC16 and
 * the key slot with hash tags, against Redis's documented values
 * (CRC16("123456789") = 0x31C3; CLUSTER KEYSLOT answers). Prints TAP.
 * With -k, prints the slot of each further argument (to compare with a
 * server's CLUSTER KEYSLOT). With -w SEEDS, checks against a live cluster
 * that a command and its WAIT in one round trip (dsm_cmd_wait) keep the
 * connection's replies in step, also through a MOVED redirect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsm_redis.h"

static const struct {
	const char *key;
	unsigned int slot;
} cases[] = {
	/* From Redis's cluster specification and CLUSTER KEYSLOT. */
	{ "foo", 12182 },
	{ "bar", 5061 },
	{ "hello", 866 },
	{ "somekey", 11058 },
	{ "{user1000}.following", 3443 },
	{ "{user1000}.followers", 3443 },
	{ "user1000", 3443 },
	/* An empty tag is no tag; only the first '{' counts. */
	{ "foo{}{bar}", 8363 },
	{ "foo{{bar}}zap", 4015 },
	{ "foo{bar}{zap}", 5061 },
	{ "{", 4092 },
	{ "", 0 },
};

/* One SET + WAIT sent to @slot (maybe the wrong node), then a GET. */
static int set_wait_get(struct dsm_store *st, struct dsm_conn *c,
			const char *key, unsigned int slot, const char *value)
{
	const char *argv[3] = { "SET", key, value };
	size_t lens[3] = { 3, strlen(key), strlen(value) };
	redisReply *r;
	int acked, ok;

	r = dsm_cmd_wait(st, c, slot, 3, argv, lens, 5000, 1, &acked);
	ok = r && r->type == REDIS_REPLY_STATUS && acked >= 1;
	printf("# SET via slot %u: %s, acked %d\n", slot,
	       r ? (r->type == REDIS_REPLY_STATUS ? r->str : "not a status") : c->err, acked);
	if (r)
		freeReplyObject(r);
	r = dsm_cmdf(st, c, dsm_keyslot(key, strlen(key)), 5000, "GET %s", key);
	ok = ok && r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, value);
	if (r)
		freeReplyObject(r);
	return ok;
}

static int live(const char *seeds)
{
	const char *key = "dsmunit:{wait}";
	unsigned int slot = dsm_keyslot(key, strlen(key));
	struct dsm_conn c = { .node = -1 };
	struct dsm_store *st;
	redisReply *r;
	char err[200];
	int a, b, e, acked;

	st = dsm_store_open(seeds, 5000, err, sizeof(err));
	if (!st) {
		printf("1..1\nnot ok 1 store # %s\n", err);
		return 1;
	}
	printf("TAP version 13\n1..3\n");
	a = set_wait_get(st, &c, key, slot, "one");
	printf("%sok 1 set_wait_then_get\n", a ? "" : "not ");
	/* Half the slots away: another master, which answers MOVED. */
	b = set_wait_get(st, &c, key, (slot + 8192) % 16384, "two");
	printf("%sok 2 set_wait_moved_then_get\n", b ? "" : "not ");
	/* An error answer (INCR of "two") still has its WAIT answer behind. */
	r = dsm_cmd_wait(st, &c, slot, 2, (const char *[]){ "INCR", key },
			 (size_t[]){ 4, strlen(key) }, 5000, 1, &acked);
	e = r && r->type == REDIS_REPLY_ERROR && acked >= 0;
	if (r)
		freeReplyObject(r);
	r = dsm_cmdf(st, &c, slot, 5000, "GET %s", key);
	e = e && r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "two");
	if (r)
		freeReplyObject(r);
	printf("%sok 3 error_wait_then_get\n", e ? "" : "not ");
	dsm_conn_close(&c);
	dsm_store_close(st);
	return a && b && e ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned int i, n = sizeof(cases) / sizeof(cases[0]), failed = 0;
	uint16_t crc;

	if (argc > 1 && !strcmp(argv[1], "-k")) {
		for (i = 2; i < (unsigned int)argc; i++)
			printf("%u\n", dsm_keyslot(argv[i], strlen(argv[i])));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "-w"))
		return live(argv[2]);
	printf("TAP version 13\n1..%u\n", n + 1);
	crc = dsm_crc16("123456789", 9);
	printf("%sok 1 crc16_test_vector # 0x%04X\n", crc == 0x31C3 ? "" : "not ", crc);
	failed += crc != 0x31C3;
	for (i = 0; i < n; i++) {
		unsigned int s = dsm_keyslot(cases[i].key, strlen(cases[i].key));

		printf("%sok %u keyslot %s # %u, want %u\n", s == cases[i].slot ? "" : "not ",
		       i + 2, cases[i].key[0] ? cases[i].key : "(empty)", s, cases[i].slot);
		failed += s != cases[i].slot;
	}
	return failed ? 1 : 0;
}
