// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-test: the guest side of the cluster lane (scripts/cluster-test.sh)
 * and of make cluster-demo: small commands run on each machine against a
 * region served by the local mempager-dsm, and the coordination between
 * machines through the store (barriers in Redis keys, not sleeps).
 *
 *   dsm-test barrier NAME COUNT [SECONDS]   wait until COUNT callers came
 *   dsm-test put KEY VALUE | get KEY        a coordination key
 *   dsm-test incr REGION N                  N atomic increments of counter 0
 *   dsm-test incr64 REGION N                N rounds over 64 counters on 16 pages
 *   dsm-test read REGION                    print counter 0
 *   dsm-test check64 REGION VALUE           every one of the 64 counters is VALUE
 *   dsm-test records REGION WRITER COUNT    write COUNT checksummed records
 *   dsm-test verify REGION WRITER COUNT     check WRITER's records
 *   dsm-test fill REGION BYTE PAGES         write BYTE over the first PAGES pages
 *   dsm-test checkfill REGION BYTE PAGES    check them
 *   dsm-test hammer REGION PAGES SECONDS    write the pages in a loop
 *   dsm-test text REGION [TEXT]             append a line to / print the shared text
 *   dsm-test bench REGION ROLE ROUNDS PAGES  see bench() below
 *
 * The store is $DSM_STORE, the daemon's socket $DSM_SOCKET. Exit status 0
 * when the check holds.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dsm_client.h"
#include "dsm_redis.h"
#include "toolutil.h"

#define PROG "dsm-test"
#define REC_SIZE 64

static struct dsm_store *store;
static struct dsm_conn conn = { .node = -1 };
static size_t map_size;

static void *map_region(const char *name)
{
	const char *sock = getenv("DSM_SOCKET");
	char err[256];
	uint64_t size;
	void *p;
	int fd = dsm_client_open(sock ? sock : DSM_DEFAULT_SOCKET, name, &size,
				 err, sizeof(err));

	if (fd < 0) {
		fprintf(stderr, PROG ": region %s: %s\n", name, err);
		exit(1);
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap %s: %s\n", name, strerror(errno));
		exit(1);
	}
	close(fd);
	map_size = size;
	return p;
}

static void open_store(void)
{
	const char *seeds = getenv("DSM_STORE");
	char err[200];

	if (!seeds) {
		fprintf(stderr, PROG ": DSM_STORE is not set\n");
		exit(2);
	}
	store = dsm_store_open(seeds, 10000, err, sizeof(err));
	if (!store) {
		fprintf(stderr, PROG ": store: %s\n", err);
		exit(1);
	}
}

/* Coordination keys share the hash tag {dsmtest}. */
static redisReply *tcmd(const char *fmt, const char *a, const char *b)
{
	redisReply *r;

	if (!store)
		open_store();
	r = dsm_cmdf(store, &conn, dsm_keyslot("dsmtest", 7), 10000, fmt, a, b);
	if (!r) {
		fprintf(stderr, PROG ": store: %s\n", conn.err);
		exit(1);
	}
	return r;
}

static int barrier(const char *name, long count, int seconds)
{
	long long deadline = tool_now_ms() + seconds * 1000LL;
	redisReply *r = tcmd("INCR dsmtest:{dsmtest}:bar:%s", name, NULL);

	freeReplyObject(r);
	while (tool_now_ms() < deadline) {
		long v;

		r = tcmd("GET dsmtest:{dsmtest}:bar:%s", name, NULL);
		v = r->type == REDIS_REPLY_STRING ? atol(r->str) : 0;
		freeReplyObject(r);
		if (v >= count)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, PROG ": barrier %s: not reached in %d s\n", name, seconds);
	return 1;
}

static uint32_t crc32(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffff;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Record i of @writer: a distinct slot of the writer's parity, its contents. */
static size_t rec_slot(unsigned int writer, size_t i, size_t nslots)
{
	return ((i * 2654435761u) % (nslots / 2)) * 2 + writer;
}

static void rec_make(unsigned int writer, size_t i, unsigned char *rec)
{
	uint64_t w[7];
	uint32_t crc;
	int k;

	for (k = 0; k < 7; k++)
		w[k] = mix((uint64_t)writer << 56 ^ i << 8 ^ k);
	w[0] = (uint64_t)writer << 32 | (uint32_t)i;
	memcpy(rec, w, 56);
	crc = crc32(rec, 56);
	memcpy(rec + 56, &crc, 4);
	memset(rec + 60, 0xa5, 4);
}

static int records(const char *region, unsigned int writer, size_t count, bool verify)
{
	unsigned char *p = map_region(region), rec[REC_SIZE];
	size_t nslots = map_size / REC_SIZE, i, bad = 0;

	if ((nslots / 2) % 2 == 1 || count > nslots / 2) {
		fprintf(stderr, PROG ": too many records\n");
		return 2;
	}
	for (i = 0; i < count; i++) {
		unsigned char *at = p + rec_slot(writer, i, nslots) * REC_SIZE;

		rec_make(writer, i, rec);
		if (!verify) {
			memcpy(at, rec, REC_SIZE);
			continue;
		}
		if (memcmp(at, rec, REC_SIZE) || crc32(at, 56) != *(uint32_t *)(at + 56)) {
			if (bad++ < 5)
				fprintf(stderr, PROG ": record %zu of writer %u wrong\n", i, writer);
		}
	}
	if (verify)
		printf("%s: %zu records of writer %u, %zu wrong\n", region, count, writer, bad);
	return bad ? 1 : 0;
}

static int incr(const char *region, long n, bool all64)
{
	unsigned char *p = map_region(region);
	long long t0 = tool_now_ms();
	long i;
	int k;

	if (map_size < 16 * 4096) {
		fprintf(stderr, PROG ": region too small\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (!all64) {
			atomic_fetch_add((_Atomic uint64_t *)p, 1);
			continue;
		}
		for (k = 0; k < 64; k++)
			atomic_fetch_add((_Atomic uint64_t *)(p + (k % 16) * 4096 + (k / 16) * 8), 1);
	}
	printf("%s: %ld %s in %lld ms\n", region, all64 ? n * 64 : n,
	       all64 ? "increments over 64 counters" : "increments", tool_now_ms() - t0);
	return 0;
}

static int check64(const char *region, uint64_t want)
{
	unsigned char *p = map_region(region);
	int k, bad = 0;

	for (k = 0; k < 64; k++) {
		uint64_t v = atomic_load((_Atomic uint64_t *)(p + (k % 16) * 4096 + (k / 16) * 8));

		if (v != want && bad++ < 5)
			fprintf(stderr, PROG ": counter %d is %llu, want %llu\n", k,
				(unsigned long long)v, (unsigned long long)want);
	}
	printf("%s: 64 counters, %d not %llu\n", region, bad, (unsigned long long)want);
	return bad ? 1 : 0;
}

static int fill(const char *region, int byte, size_t pages, bool check)
{
	unsigned char *p = map_region(region);
	size_t i, bad = 0;

	if (pages * 4096 > map_size)
		return 2;
	for (i = 0; i < pages * 4096; i++) {
		if (!check)
			p[i] = byte;
		else if (p[i] != byte && bad++ < 3)
			fprintf(stderr, PROG ": byte %zu is %#x, want %#x\n", i, p[i], byte);
	}
	if (check)
		printf("%s: %zu pages of %#x, %zu bytes wrong\n", region, pages, byte, bad);
	return bad ? 1 : 0;
}

static int hammer(const char *region, size_t pages, int seconds)
{
	volatile unsigned char *p = map_region(region);
	long long end = tool_now_ms() + seconds * 1000LL;
	unsigned long rounds = 0;
	size_t i;

	if (pages * 4096 > map_size)
		return 2;
	while (tool_now_ms() < end) {
		for (i = 0; i < pages; i++)
			p[i * 4096 + 100]++;
		rounds++;
	}
	printf("%s: %lu rounds over %zu pages\n", region, rounds, pages);
	return 0;
}

/* The shared text: a NUL-terminated string at the start of the region. */
/*
 * A shared text: a length word, then the lines. Appending reserves its
 * place with an atomic add on the length, so that two machines appending
 * at once both keep their line (a plain strlen() and copy would let one
 * overwrite the other, coherent memory or not).
 */
static int text(const char *region, const char *line)
{
	char *p = map_region(region);
	_Atomic uint64_t *used = (_Atomic uint64_t *)p;
	size_t room = map_size - sizeof(*used), n;
	uint64_t off;

	if (!line) {
		off = atomic_load(used);
		fwrite(p + sizeof(*used), 1, off < room ? off : room, stdout);
		return 0;
	}
	n = strlen(line);
	off = atomic_fetch_add(used, n + 1);
	if (off + n + 1 > room) {
		fprintf(stderr, PROG ": %s: the text is full\n", region);
		return 1;
	}
	memcpy(p + sizeof(*used) + off, line, n);
	p[sizeof(*used) + off + n] = '\n';
	return 0;
}


/* ---- bench: per-page costs against the store's own GET and SET ---- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct bthread {
	volatile unsigned char *p;
	size_t first, count;
	double us;
};

static void *bench_reader(void *arg)
{
	struct bthread *b = arg;
	double t0 = now_us();
	unsigned int sum = 0;
	size_t i;

	for (i = 0; i < b->count; i++)
		sum += b->p[(b->first + i) * 4096];
	b->us = now_us() - t0;
	return (void *)(uintptr_t)sum;
}

/* Mean microseconds per GET or SET of a 4 KiB value in the region's slot. */
static double bench_store(const char *region, int n, bool set)
{
	static char page[4096];
	char key[128];
	const char *argv[3] = { set ? "SET" : "GET", key, page };
	size_t lens[3] = { 3, 0, sizeof(page) };
	double t0;
	int i;

	snprintf(key, sizeof(key), "dsmbench:{%s}:page", region);
	lens[1] = strlen(key);
	if (!store)
		open_store();
	memset(page, 'x', sizeof(page));
	t0 = now_us();
	for (i = 0; i < n; i++) {
		redisReply *r = dsm_cmd(store, &conn, dsm_keyslot(region, strlen(region)),
					set ? 3 : 2, argv, lens, 10000);

		if (!r) {
			fprintf(stderr, PROG ": bench: %s\n", conn.err);
			exit(1);
		}
		freeReplyObject(r);
	}
	return (now_us() - t0) / n;
}

/*
 * dsm-test bench REGION ROLE ROUNDS PAGES: machine b writes PAGES pages of
 * each round's share (it owns them), then machine a measures per round:
 * GET and SET of 4 KiB, read faults of pages nobody owns, write faults of
 * pages b owns (ownership transfers); then read-fault throughput with 1, 2
 * and 4 threads. REGION needs 2 * ROUNDS * PAGES + 7 * PAGES pages.
 */
/*
 * The mean of @n per-round ratios with its 95% interval (Student's t: the
 * rounds are few), against the issue's @goal.
 */
static void print_ratio(const char *what, const double *x, int n, double goal)
{
	static const double t975[] = { 0, 12.71, 4.30, 3.18, 2.78, 2.57, 2.45,
		2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13 };
	double m = 0, v = 0, h;
	int i;

	for (i = 0; i < n; i++)
		m += x[i] / n;
	for (i = 0; i < n; i++)
		v += (x[i] - m) * (x[i] - m) / (n > 1 ? n - 1 : 1);
	h = n > 1 ? t975[n - 1] * sqrt(v / n) : 0;
	printf("# %s: %.2f [%.2f, %.2f] (95%%, %d rounds; goal <= %.1f)\n", what, m,
	       m - h, m + h, n, goal);
}

static int bench(const char *region, const char *role, int rounds, size_t pages)
{
	volatile unsigned char *p = map_region(region);
	double get[16], set[16], rd[16], xf[16];
	size_t base = 0, i;
	char bar[64];
	int r, k, threads;

	if (rounds > 16 || (2 * rounds + 7) * pages * 4096 > map_size) {
		fprintf(stderr, PROG ": bench: region too small\n");
		return 2;
	}
	for (r = 0; r < rounds; r++) {
		size_t xfer = base + pages, fresh = base;

		if (role[0] == 'b')
			for (i = 0; i < pages; i++)
				p[(xfer + i) * 4096] = 1;
		snprintf(bar, sizeof(bar), "bench%d", r);
		if (barrier(bar, 2, 300))
			return 1;
		if (role[0] == 'a') {
			double t0;

			get[r] = bench_store(region, pages, false);
			set[r] = bench_store(region, pages, true);
			t0 = now_us();
			for (i = 0; i < pages; i++)
				(void)p[(fresh + i) * 4096];
			rd[r] = (now_us() - t0) / pages;
			t0 = now_us();
			for (i = 0; i < pages; i++)
				p[(xfer + i) * 4096] = 2;
			xf[r] = (now_us() - t0) / pages;
		}
		snprintf(bar, sizeof(bar), "bench%d-done", r);
		if (barrier(bar, 2, 300))
			return 1;
		base += 2 * pages;
	}
	if (role[0] != 'a')
		return 0;
	printf("# per page, microseconds, %d rounds of %zu pages (mean of each round)\n",
	       rounds, pages);
	printf("# %-6s %9s %9s %9s %9s %10s %13s\n", "round", "GET", "SET",
	       "readflt", "transfer", "rd/GET", "xfer/(G+S)");
	for (r = 0; r < rounds; r++)
		printf("# %-6d %9.0f %9.0f %9.0f %9.0f %10.2f %13.2f\n", r, get[r], set[r],
		       rd[r], xf[r], rd[r] / get[r], xf[r] / (get[r] + set[r]));
	for (r = 0; r < rounds; r++) {
		rd[r] /= get[r];
		xf[r] /= get[r] + set[r];
	}
	print_ratio("read fault / GET", rd, rounds, 1.5);
	print_ratio("transfer / (GET + SET)", xf, rounds, 3);
	/* Read-fault throughput with 1, 2 and 4 threads on fresh pages. */
	for (threads = 1; threads <= 4; threads *= 2) {
		struct bthread bt[4];
		pthread_t t[4];
		double t0 = now_us(), us;

		for (k = 0; k < threads; k++) {
			bt[k].p = p;
			bt[k].first = base + k * pages / threads;
			bt[k].count = pages / threads;
			pthread_create(&t[k], NULL, bench_reader, &bt[k]);
		}
		for (k = 0; k < threads; k++)
			pthread_join(t[k], NULL);
		us = now_us() - t0;
		printf("# read faults, %d thread%s: %.0f faults/s (%zu pages in %.0f ms)\n",
		       threads, threads > 1 ? "s" : "", (threads * (pages / threads)) / (us / 1e6),
		       threads * (pages / threads), us / 1000);
		base += pages;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "barrier") && argc >= 4)
		return barrier(argv[2], atol(argv[3]), argc > 4 ? atoi(argv[4]) : 300);
	if (!strcmp(cmd, "put") && argc == 4) {
		freeReplyObject(tcmd("SET dsmtest:{dsmtest}:%s %s", argv[2], argv[3]));
		return 0;
	}
	if (!strcmp(cmd, "get") && argc == 3) {
		redisReply *r = tcmd("GET dsmtest:{dsmtest}:%s", argv[2], NULL);

		printf("%s\n", r->type == REDIS_REPLY_STRING ? r->str : "");
		return r->type == REDIS_REPLY_STRING ? 0 : 1;
	}
	if (!strcmp(cmd, "incr") && argc == 4)
		return incr(argv[2], atol(argv[3]), false);
	if (!strcmp(cmd, "incr64") && argc == 4)
		return incr(argv[2], atol(argv[3]), true);
	if (!strcmp(cmd, "read") && argc == 3) {
		uint64_t *p = map_region(argv[2]);

		printf("%llu\n", (unsigned long long)atomic_load((_Atomic uint64_t *)p));
		return 0;
	}
	if (!strcmp(cmd, "check64") && argc == 4)
		return check64(argv[2], strtoull(argv[3], NULL, 0));
	if ((!strcmp(cmd, "records") || !strcmp(cmd, "verify")) && argc == 5)
		return records(argv[2], atoi(argv[3]) & 1, strtoul(argv[4], NULL, 0),
			       cmd[0] == 'v');
	if ((!strcmp(cmd, "fill") || !strcmp(cmd, "checkfill")) && argc == 5)
		return fill(argv[2], (int)strtol(argv[3], NULL, 0),
			    strtoul(argv[4], NULL, 0), cmd[0] == 'c');
	if (!strcmp(cmd, "hammer") && argc == 5)
		return hammer(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]));
	if (!strcmp(cmd, "bench") && argc == 6)
		return bench(argv[2], argv[3], atoi(argv[4]), strtoul(argv[5], NULL, 0));
	if (!strcmp(cmd, "text") && (argc == 3 || argc == 4))
		return text(argv[2], argc == 4 ? argv[3] : NULL);
	fprintf(stderr, "usage: see the header of tools/dsm-test.c\n");
	return 2;
}
