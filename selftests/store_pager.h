/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A store pager for the reclaim tests (reclaim_test and issue 14's
 * acceptance tests): a thread that keeps the data of every data_return
 * and answers each data_request with what it kept, so that a page that
 * left the kernel and comes back holds what the client wrote. A page never
 * returned is the pattern of @seed (tp_fill()), or zeros with @zeros
 * (data_unavailable). The store is RAM, or with @disk >= 0 a block device
 * written with O_DIRECT (objects larger than the guest's RAM), one page
 * per object page at its offset.
 *
 * It supplies exactly the pages asked for: a page supplied unasked could
 * be one whose data_return is still queued behind the request, and the
 * store would hand back its older data.
 *
 * @on_return, if set, sees each returned page (after the store has it)
 * and may change the stored copy (@page, in RAM) before it is kept: the
 * eviction race test stamps a new generation there.
 *
 * Include after kselftest_harness.h and pager_util.h.
 */
#ifndef MEMPAGER_STORE_PAGER_H
#define MEMPAGER_STORE_PAGER_H

#include <pthread.h>

/* Messages taken per MEMPAGER_RECEIVE; data_returns carry <= 16 pages. */
#define SP_BATCH 64

struct sp_pager {
	struct tpager *tp;
	pthread_t thread;
	volatile int stop;
	int disk;		/* a block device, or -1: @mem */
	unsigned char *mem;	/* the RAM store, tp->npages pages */
	unsigned char *kept;	/* per page: a data_return was stored */
	unsigned char *page;	/* one page, aligned for O_DIRECT */
	unsigned char *data;	/* the receive buffer */
	unsigned int seed;
	int zeros;
	int precious;		/* supply every page precious */
	void (*on_return)(struct sp_pager *sp, size_t pgoff,
			  unsigned char *page, const struct mempager_msg *m);
	void *priv;
	volatile unsigned long requests, returns, returned_pages;
	volatile unsigned long dirty_pages, errors, others;
	char first_error[128];	/* what went wrong first, for the log */
};

/* Count an error; the first one is kept in @sp->first_error. */
static inline void sp_error(struct sp_pager *sp, const char *what, size_t pg,
			    int err)
{
	if (!sp->errors++)
		snprintf(sp->first_error, sizeof(sp->first_error),
			 "%s, page %zu: %d (errno %s)", what, pg, err,
			 strerror(errno));
}

static inline void sp_supply(struct sp_pager *sp, memory_object_control_t ctl,
			     size_t pg)
{
	kern_return_t kr;

	if (!sp->kept[pg] && sp->zeros) {
		kern_return_t kr = memory_object_data_unavailable(ctl, pg * PS,
								  PS);

		if (kr)
			sp_error(sp, "data_unavailable", pg, kr);
		return;
	}
	if (!sp->kept[pg])
		tp_fill(sp->page, pg, sp->seed);
	else if (sp->disk < 0)
		memcpy(sp->page, sp->mem + pg * PS, PS);
	else if (pread(sp->disk, sp->page, PS, pg * PS) != (ssize_t)PS)
		sp_error(sp, "pread", pg, 0);
	kr = memory_object_data_supply(ctl, pg * PS, sp->page, PS, 0,
				       sp->precious, 0);
	if (kr)
		sp_error(sp, "data_supply", pg, kr);
}

static inline void sp_store(struct sp_pager *sp, const struct mempager_msg *m)
{
	size_t first = m->data_return.offset / PS;
	size_t n = m->data_return.length / PS, i;

	sp->returns++;
	sp->returned_pages += n;
	if (m->data_return.dirty)
		sp->dirty_pages += n;
	for (i = 0; i < n; i++) {
		size_t pg = first + i;

		if (pg >= sp->tp->npages) {
			sp_error(sp, "data_return past the end", pg, 0);
			continue;
		}
		memcpy(sp->page, sp->data + m->data_return.data_offset + i * PS,
		       PS);
		if (sp->on_return)
			sp->on_return(sp, pg, sp->page, m);
		if (sp->disk < 0)
			memcpy(sp->mem + pg * PS, sp->page, PS);
		else if (pwrite(sp->disk, sp->page, PS, pg * PS) != (ssize_t)PS)
			sp_error(sp, "pwrite", pg, 0);
		sp->kept[pg] = 1;
	}
}

static inline void *sp_thread(void *arg)
{
	struct sp_pager *sp = arg;
	struct tpager *tp = sp->tp;
	struct mempager_msg m[SP_BATCH];

	while (!sp->stop) {
		struct pollfd p = { .fd = tp->mfd, .events = POLLIN };
		struct mempager_receive r = {
			.size = sizeof(r), .msgs = (uintptr_t)m,
			.msgs_max = SP_BATCH, .data = (uintptr_t)sp->data,
			.data_size = SP_BATCH * PS,
		};
		unsigned int i;
		size_t pg;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if (ioctl(tp->mfd, MEMPAGER_RECEIVE, &r)) {
			if (errno != EAGAIN && errno != EINTR)
				sp_error(sp, "MEMPAGER_RECEIVE", 0, -1);
			continue;
		}
		for (i = 0; i < r.out_msgs; i++) {
			memory_object_control_t ctl =
				mempager_msg_control(tp->mfd, &m[i]);

			switch (m[i].type) {
			case MEMPAGER_MSG_INIT:
				tp->ctl = ctl;
				if (memory_object_ready(ctl, 0,
						MEMORY_OBJECT_COPY_DELAY))
					sp_error(sp, "ready", 0, -1);
				break;
			case MEMPAGER_MSG_DATA_REQUEST:
				sp->requests++;
				for (pg = m[i].request.offset / PS;
				     pg < (m[i].request.offset +
					   m[i].request.length) / PS; pg++)
					sp_supply(sp, ctl, pg);
				break;
			case MEMPAGER_MSG_DATA_RETURN:
				sp_store(sp, &m[i]);
				break;
			default:
				sp->others++;
				break;
			}
		}
	}
	return NULL;
}

/*
 * Start serving @tp, storing in RAM (@disk < 0) or on @disk: 0 or -1.
 * Set seed, zeros, precious and on_return in @sp before, the rest is
 * cleared here.
 */
static inline int sp_start(struct sp_pager *sp, struct tpager *tp, int disk)
{
	sp->tp = tp;
	sp->disk = disk;
	sp->stop = 0;
	sp->requests = sp->returns = sp->returned_pages = 0;
	sp->dirty_pages = sp->errors = sp->others = 0;
	sp->first_error[0] = 0;
	sp->mem = disk < 0 ? malloc(tp->npages * PS) : NULL;
	sp->kept = calloc(tp->npages, 1);
	sp->data = malloc(SP_BATCH * PS);
	if (posix_memalign((void **)&sp->page, PS, PS))
		sp->page = NULL;
	if ((disk < 0 && !sp->mem) || !sp->kept || !sp->data || !sp->page)
		return -1;
	return pthread_create(&sp->thread, NULL, sp_thread, sp) ? -1 : 0;
}

static inline void sp_stop(struct sp_pager *sp)
{
	sp->stop = 1;
	pthread_join(sp->thread, NULL);
	free(sp->mem);
	free(sp->kept);
	free(sp->data);
	free(sp->page);
}

/*
 * The Rss of the mapping that starts at @addr, from /proc/@pid/smaps
 * (0: this process), in kB; -1 if it is not found.
 */
static inline long sp_smaps_rss_kb(pid_t pid, const void *addr)
{
	char path[64], line[512];
	unsigned long start;
	long rss = -1;
	int in = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/smaps");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t hex = strspn(line, "0123456789abcdef");

		/* A mapping's first line: "start-end perms ...". */
		if (hex && line[hex] == '-' && sscanf(line, "%lx", &start) == 1) {
			in = start == (unsigned long)addr;
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &rss) == 1)
			break;
	}
	fclose(f);
	return rss;
}

#endif /* MEMPAGER_STORE_PAGER_H */
