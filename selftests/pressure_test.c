// SPDX-License-Identifier: GPL-2.0
/*
 * Memory pressure: an object larger than the machine's RAM, backed by a
 * pager that keeps its pages on a scratch disk (MEMPAGER_SCRATCH, a block
 * device, written with O_DIRECT so the disk's own page cache does not eat
 * the memory). A client writes every page, then reads every byte back.
 * The kernel must evict, returning dirty pages with data_return; a precious
 * page must come back clean (dirty 0); clean pages that are not precious
 * must be dropped silently (checklist item 21).
 */
#include <pthread.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define BATCH 64
/* Pages a request is answered with, as a pager with a cluster size does. */
#define CLUSTER 16
/* Clean, read-only pages at the start; the last of them is precious. */
#define CLEAN_PAGES 64
#define PRECIOUS_PAGE (CLEAN_PAGES - 1)

struct backing {
	struct tpager *tp;
	int disk;
	size_t npages;
	unsigned char *written;	/* page was returned dirty at least once */
	unsigned char *buf;	/* CLUSTER pages, aligned for O_DIRECT */
	unsigned char *data;	/* receive buffer */
	volatile int stop;
	long requests, returns, returned_pages, clean_returns, precious_clean;
	long errors;
};

static uint64_t word(size_t pgoff, size_t i)
{
	return ((uint64_t)pgoff << 20) ^ (i * 0x9e3779b97f4a7c15ULL);
}

static void fill_page(uint64_t *p, size_t pgoff)
{
	size_t i;

	for (i = 0; i < PS / 8; i++)
		p[i] = word(pgoff, i);
}

static int check_page(const uint64_t *p, size_t pgoff)
{
	size_t i;

	for (i = 0; i < PS / 8; i++)
		if (p[i] != word(pgoff, i))
			return -1;
	return 0;
}

/*
 * Answer a request with the cluster of pages starting there: the clean
 * region's own data, zeros for pages never written, the disk for the others.
 * Pages already resident stop the supply (KERN_MEMORY_PRESENT): harmless.
 */
static void serve_request(struct backing *b, struct mempager_msg *m)
{
	size_t pg = m->request.offset / PS, n, i;
	kern_return_t kr;

	b->requests++;
	if (pg < CLEAN_PAGES) {
		fill_page((uint64_t *)b->buf, pg);
		kr = memory_object_data_supply(b->tp->ctl, pg * PS, b->buf, PS,
					       VM_PROT_WRITE,
					       pg == PRECIOUS_PAGE, 0);
		if (kr)
			b->errors++;
		return;
	}
	n = b->npages - pg < CLUSTER ? b->npages - pg : CLUSTER;
	if (pread(b->disk, b->buf, n * PS, pg * PS) != (ssize_t)(n * PS)) {
		memory_object_data_error(b->tp->ctl, pg * PS, PS, EIO);
		b->errors++;
		return;
	}
	for (i = 0; i < n; i++)
		if (!b->written[pg + i])
			memset(b->buf + i * PS, 0, PS);
	kr = memory_object_data_supply(b->tp->ctl, pg * PS, b->buf, n * PS, 0,
				       0, 0);
	if (kr)
		b->errors++;
}

static void store_return(struct backing *b, struct mempager_msg *m)
{
	size_t first = m->data_return.offset / PS;
	size_t n = m->data_return.length / PS, i;

	b->returns++;
	b->returned_pages += n;
	if (!m->data_return.dirty) {
		b->clean_returns++;
		if (first <= PRECIOUS_PAGE && PRECIOUS_PAGE < first + n)
			b->precious_clean++;
	}
	for (i = 0; i < n; i++) {
		size_t pg = first + i;

		if (pg < CLEAN_PAGES) {
			/* Only the precious page may come back from here. */
			if (pg != PRECIOUS_PAGE || m->data_return.dirty)
				b->errors++;
			continue;
		}
		memcpy(b->buf, b->data + m->data_return.data_offset + i * PS, PS);
		if (pwrite(b->disk, b->buf, PS, pg * PS) != (ssize_t)PS)
			b->errors++;
		b->written[pg] = 1;
	}
}

static void *pager_thread(void *arg)
{
	struct backing *b = arg;
	struct mempager_msg m[BATCH];

	while (!b->stop) {
		struct pollfd p = { .fd = b->tp->mfd, .events = POLLIN };
		struct mempager_receive r = {
			.size = sizeof(r), .msgs = (uintptr_t)m,
			.msgs_max = BATCH, .data = (uintptr_t)b->data,
			.data_size = BATCH * PS,
		};
		unsigned int i;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if (ioctl(b->tp->mfd, MEMPAGER_RECEIVE, &r)) {
			b->errors++;
			continue;
		}
		for (i = 0; i < r.out_msgs; i++) {
			switch (m[i].type) {
			case MEMPAGER_MSG_DATA_REQUEST:
				serve_request(b, &m[i]);
				break;
			case MEMPAGER_MSG_DATA_RETURN:
				store_return(b, &m[i]);
				break;
			case MEMPAGER_MSG_DATA_UNLOCK:
				/* The clean region is write-locked: no writes. */
			default:
				b->errors++;
			}
		}
	}
	return NULL;
}

FIXTURE(pressure) {
	int unused;
};

FIXTURE_SETUP(pressure)
{
}

FIXTURE_TEARDOWN(pressure)
{
}

/* Writing and reading more than RAM through a pager takes minutes on TCG. */
TEST_F_TIMEOUT(pressure, object_larger_than_ram_survives, 1200)
{
	const char *disk = getenv("MEMPAGER_SCRATCH");
	struct backing b = { 0 };
	struct tp_stats st;
	struct tpager tp;
	struct mempager_msg m;
	pthread_t th;
	unsigned char *p;
	size_t pg, bad = 0;
	time_t start, mid;

	if (!tp_heavy_wanted("pressure"))
		SKIP(return, "not in this lane (MEMPAGER_HEAVY)");
	if (!disk)
		disk = "/dev/vda";
	b.disk = open(disk, O_RDWR | O_DIRECT);
	if (b.disk < 0)
		SKIP(return, "no scratch disk %s (%s)", disk, strerror(errno));
	/* A quarter more than all of RAM. */
	b.npages = tp_mem_total_pages() * 5 / 4;
	ASSERT_GT(b.npages, CLEAN_PAGES);
	ASSERT_GE(lseek(b.disk, 0, SEEK_END), (off_t)(b.npages * PS))
		TH_LOG("the scratch disk is smaller than %zu pages", b.npages);
	b.written = calloc(b.npages, 1);
	ASSERT_EQ(0, posix_memalign((void **)&b.buf, PS, CLUSTER * PS));
	b.data = malloc(BATCH * PS);
	ASSERT_TRUE(b.written && b.data);

	ASSERT_EQ(0, tp_create(&tp, b.npages, 0600));
	b.tp = &tp;
	p = tp_map(tp.ofd, b.npages, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, pager_thread, &b));

	/* Read the clean region, write everything else, read it all back. */
	for (pg = 0; pg < CLEAN_PAGES; pg++)
		bad += check_page((uint64_t *)(p + pg * PS), pg) != 0;
	start = time(NULL);
	for (pg = CLEAN_PAGES; pg < b.npages; pg++)
		fill_page((uint64_t *)(p + pg * PS), pg);
	mid = time(NULL);
	for (pg = 0; pg < b.npages; pg++)
		bad += check_page((uint64_t *)(p + pg * PS), pg) != 0;
	TH_LOG("write pass %lds, read pass %lds", (long)(mid - start),
	       (long)(time(NULL) - mid));

	ASSERT_EQ(0, tp_stats(tp.name, &st));
	b.stop = 1;
	pthread_join(th, NULL);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, b.errors);
	/* The kernel did evict, and the dirty pages did come back. */
	EXPECT_GT(st.evicted, 0);
	EXPECT_GT(b.returned_pages, 0);
	EXPECT_LT(st.resident, b.npages);
	EXPECT_GT(b.precious_clean, 0)
		TH_LOG("the precious page was never returned clean");
	TH_LOG("%zu pages (RAM %zu), every byte checked; %ld requests, %ld returns of %ld pages (%ld clean), %lu evicted",
	       b.npages, tp_mem_total_pages(), b.requests, b.returns,
	       b.returned_pages, b.clean_returns, st.evicted);
	munmap(p, b.npages * PS);
	tp_destroy(&tp);
	close(b.disk);
}

TEST_HARNESS_MAIN
