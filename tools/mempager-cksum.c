// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-cksum: a pager that keeps an object's pages in its own memory
 * with a CRC-32 of each, and checks what comes back. Pages are supplied
 * precious, so the kernel returns them even when clean; a clean page that
 * does not match the checksum of what was supplied has been changed behind
 * the manager's back, which the kernel cannot know. Stored pages are
 * checked again before they are supplied.
 *
 * It serves with mempager_server_loop() and the seqnos_ routines, and
 * checks that every object's messages arrive in sequence-number order.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolutil.h"

#define PROG "mempager-cksum"

/*
 * struct ck_page - one page of the object
 * @data: its contents, NULL until the kernel first returns it
 * @crc: CRC-32 of @data
 */
struct ck_page {
	unsigned char *data;
	uint32_t crc;
};

static struct {
	FILE *trace;
	size_t page_size;
	size_t npages;
	struct ck_page *pages;
	/* Messages of one object never run concurrently: no page lock. */
	uint64_t last_seqno;
	atomic_bool live;
	atomic_ulong supplied, zero_filled, returned_dirty, returned_clean;
	atomic_ulong mismatches, disorders;
	int mfd;
} ck;

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffff;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffff;
}

/*
 * Trace a received message and check per-object order: a seqno never goes
 * back. The server loop runs one object's messages one at a time.
 */
static void ck_received(memory_object_t mo, mach_port_seqno_t seqno,
			const char *fmt, ...)
{
	va_list ap;

	flockfile(ck.trace);
	fprintf(ck.trace, "<- ");
	va_start(ap, fmt);
	vfprintf(ck.trace, fmt, ap);
	va_end(ap);
	fprintf(ck.trace, " obj=%u seq=%llu\n", mo.object,
		(unsigned long long)seqno);
	funlockfile(ck.trace);
	if (seqno <= ck.last_seqno) {
		ck.disorders++;
		fprintf(ck.trace, "   OUT OF ORDER: seq=%llu after %llu\n",
			(unsigned long long)seqno,
			(unsigned long long)ck.last_seqno);
	}
	ck.last_seqno = seqno;
}

static kern_return_t ck_init(memory_object_t mo, mach_port_seqno_t seqno,
			     memory_object_control_t c,
			     memory_object_name_t name, vm_size_t page_size)
{
	(void)name;
	ck_received(mo, seqno, "init page_size=%llu",
		    (unsigned long long)page_size);
	if (page_size != ck.page_size)
		return KERN_INVALID_ARGUMENT;	/* drops (destroys) the object */
	ck.live = true;
	return tool_trace_call(ck.trace,
			       memory_object_ready(c, 0, MEMORY_OBJECT_COPY_DELAY),
			       "ready may_cache=0 copy_strategy=delay");
}

static kern_return_t ck_supply_page(memory_object_control_t c, size_t i)
{
	struct ck_page *pg = &ck.pages[i];
	vm_offset_t offset = i * ck.page_size;

	if (!pg->data) {
		ck.zero_filled++;
		return tool_trace_call(ck.trace,
				       memory_object_data_unavailable(c, offset,
							ck.page_size),
				       "data_unavailable offset=%#llx len=%zu",
				       (unsigned long long)offset, ck.page_size);
	}
	if (crc32(pg->data, ck.page_size) != pg->crc) {
		ck.mismatches++;
		return tool_trace_call(ck.trace,
				       memory_object_data_error(c, offset,
						ck.page_size, KERN_FAILURE),
				       "data_error offset=%#llx len=%zu (stored page corrupt)",
				       (unsigned long long)offset, ck.page_size);
	}
	ck.supplied++;
	return tool_trace_call(ck.trace,
			       memory_object_data_supply(c, offset, pg->data,
							 ck.page_size,
							 VM_PROT_NONE, 1, 0),
			       "data_supply offset=%#llx len=%zu precious crc=%08x",
			       (unsigned long long)offset, ck.page_size,
			       pg->crc);
}

static kern_return_t ck_data_request(memory_object_t mo,
				     mach_port_seqno_t seqno,
				     memory_object_control_t c,
				     vm_offset_t offset, vm_size_t length,
				     vm_prot_t access)
{
	size_t i;
	kern_return_t kr = KERN_SUCCESS;

	ck_received(mo, seqno, "data_request offset=%#llx len=%llu access=%d",
		    (unsigned long long)offset, (unsigned long long)length,
		    access);
	for (i = offset / ck.page_size;
	     !kr && i < (offset + length) / ck.page_size; i++)
		kr = ck_supply_page(c, i);
	return kr;
}

/* Store one returned page; a clean one must be what was supplied. */
static void ck_take_page(size_t i, const unsigned char *data, bool dirty)
{
	struct ck_page *pg = &ck.pages[i];
	uint32_t crc = crc32(data, ck.page_size);

	if (!dirty) {
		ck.returned_clean++;
		if (pg->data && crc == pg->crc) {
			fprintf(ck.trace, "   verified clean page %#zx crc=%08x\n",
				i * ck.page_size, crc);
			return;
		}
		ck.mismatches++;
		fprintf(ck.trace,
			"   MISMATCH: clean page %#zx came back with crc %08x, supplied %08x\n",
			i * ck.page_size, crc, pg->crc);
	} else {
		ck.returned_dirty++;
	}
	if (!pg->data) {
		pg->data = malloc(ck.page_size);
		if (!pg->data)
			return;
	}
	memcpy(pg->data, data, ck.page_size);
	pg->crc = crc;
	fprintf(ck.trace, "   stored page %#zx crc=%08x\n", i * ck.page_size,
		crc);
}

static kern_return_t ck_data_return(memory_object_t mo,
				    mach_port_seqno_t seqno,
				    memory_object_control_t c,
				    vm_offset_t offset, const void *data,
				    vm_size_t count, boolean_t dirty,
				    boolean_t kernel_copy)
{
	size_t i;

	(void)c;
	ck_received(mo, seqno,
		    "data_return offset=%#llx len=%llu dirty=%d kernel_copy=%d",
		    (unsigned long long)offset, (unsigned long long)count,
		    dirty, kernel_copy);
	for (i = 0; i < count / ck.page_size; i++)
		ck_take_page(offset / ck.page_size + i,
			     (const unsigned char *)data + i * ck.page_size,
			     dirty);
	return KERN_SUCCESS;
}

static kern_return_t ck_data_unlock(memory_object_t mo,
				    mach_port_seqno_t seqno,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	ck_received(mo, seqno, "data_unlock offset=%#llx len=%llu access=%d",
		    (unsigned long long)offset, (unsigned long long)length,
		    access);
	return tool_trace_call(ck.trace,
			       memory_object_lock_request(c, offset, length,
					MEMORY_OBJECT_RETURN_NONE, 0,
					VM_PROT_NONE, 0),
			       "lock_request offset=%#llx len=%llu lock=none",
			       (unsigned long long)offset,
			       (unsigned long long)length);
}

static kern_return_t ck_terminate(memory_object_t mo, mach_port_seqno_t seqno,
				  memory_object_control_t c)
{
	(void)c;
	ck_received(mo, seqno, "terminate");
	ck.live = false;
	return KERN_SUCCESS;
}

static kern_return_t ck_synchronize(memory_object_t mo,
				    mach_port_seqno_t seqno,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_sync_t flags)
{
	ck_received(mo, seqno, "synchronize offset=%#llx len=%llu flags=%u",
		    (unsigned long long)offset, (unsigned long long)length,
		    flags);
	return tool_trace_call(ck.trace,
			       memory_object_synchronize_completed(c, offset,
								   length),
			       "synchronize_completed offset=%#llx len=%llu",
			       (unsigned long long)offset,
			       (unsigned long long)length);
}

static const struct seqnos_memory_object_routines ck_routines = {
	.init = ck_init,
	.data_request = ck_data_request,
	.data_unlock = ck_data_unlock,
	.data_return = ck_data_return,
	.terminate = ck_terminate,
	.synchronize = ck_synchronize,
};

struct ck_watch {
	pid_t child;
	int timeout_s;
	int status;
};

/* Stop the server once the command is gone and the object terminated. */
static void *ck_watcher(void *arg)
{
	struct ck_watch *w = arg;
	long long deadline = tool_now_ms() + w->timeout_s * 1000LL;
	bool reaped = false;

	while (tool_now_ms() < deadline) {
		if (!reaped && tool_reaped(w->child, &w->status))
			reaped = true;
		if (reaped && !ck.live)
			break;
		usleep(20000);
	}
	if (!reaped) {
		fprintf(stderr, PROG ": timed out after %d s\n", w->timeout_s);
		kill(w->child, SIGKILL);
		waitpid(w->child, &w->status, 0);
		w->status = -1;
	} else if (ck.live) {
		fprintf(stderr, PROG ": no terminate after %d s\n",
			w->timeout_s);
		w->status = -1;
	}
	mempager_server_stop(ck.mfd);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-n PAGES] [-j THREADS] [-o TRACE] [-t SECONDS] COMMAND [ARG...]\n"
		"\n"
		"Serve a memory object of PAGES pages from the pager's own memory,\n"
		"keeping a CRC-32 of every page, and run COMMAND as its client.\n"
		"\n"
		"Pages never written read as zeros (data_unavailable). Pages the\n"
		"kernel returns (data_return) are stored with their checksum and\n"
		"supplied again precious, so that the kernel returns them even when\n"
		"clean: a clean page whose checksum differs from the one supplied,\n"
		"or a stored page whose checksum no longer matches, is reported as\n"
		"a MISMATCH. Messages are served by THREADS threads\n"
		"(mempager_server_loop); per-object sequence-number order is\n"
		"checked.\n"
		"\n"
		"COMMAND inherits the object fd, named in " TOOL_ENV_FD "; its size\n"
		"is in " TOOL_ENV_SIZE ". The pager exits when COMMAND has exited\n"
		"and the object has been terminated, after printing a summary; the\n"
		"exit status is COMMAND's, or 1 on a mismatch, an out-of-order\n"
		"message or a time-out.\n"
		"\n"
		"  -n PAGES    object size in pages; default 16\n"
		"  -j THREADS  server threads; default 4\n"
		"  -o TRACE    write the trace to TRACE instead of stderr\n"
		"  -t SECONDS  give up (killing COMMAND) after SECONDS; default 60\n"
		"  -h, --help  show this help\n");
}

static void ck_summary(FILE *f)
{
	fprintf(f,
		PROG ": %lu supplied, %lu zero-filled, %lu returned dirty, %lu returned clean, %lu mismatches, %lu out of order\n",
		(unsigned long)ck.supplied, (unsigned long)ck.zero_filled,
		(unsigned long)ck.returned_dirty,
		(unsigned long)ck.returned_clean,
		(unsigned long)ck.mismatches, (unsigned long)ck.disorders);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct ck_watch watch = { .timeout_s = 60 };
	const char *trace_path = NULL;
	int c, ofd, nthreads = 4, ret;
	pthread_t watcher;
	kern_return_t kr;
	uint32_t object;

	ck.npages = 16;
	while ((c = getopt_long(argc, argv, "+n:j:o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ck.npages = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			nthreads = atoi(optarg);
			break;
		case 'o':
			trace_path = optarg;
			break;
		case 't':
			watch.timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc || !ck.npages || nthreads < 1) {
		usage(stderr);
		return 2;
	}
	ck.trace = trace_path ? fopen(trace_path, "we") : stderr;
	if (!ck.trace) {
		fprintf(stderr, PROG ": %s: %s\n", trace_path, strerror(errno));
		return 1;
	}
	crc_init();
	ck.page_size = sysconf(_SC_PAGESIZE);
	ck.pages = calloc(ck.npages, sizeof(*ck.pages));
	ck.mfd = mempager_open();
	if (!ck.pages || ck.mfd < 0) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(errno));
		return 1;
	}
	kr = mempager_object_create(ck.mfd, ck.npages * ck.page_size, 0600,
				    &object, &ofd, NULL);
	if (kr) {
		fprintf(stderr, PROG ": object_create: %s (%s)\n",
			mach_error_string(kr), strerror(errno));
		return 1;
	}
	watch.child = tool_spawn(PROG, &argv[optind], ofd,
				 ck.npages * ck.page_size);
	if (watch.child < 0)
		return 1;
	close(ofd);
	if (pthread_create(&watcher, NULL, ck_watcher, &watch)) {
		kill(watch.child, SIGKILL);
		return 1;
	}
	ret = seqnos_mempager_server_loop(ck.mfd, &ck_routines, nthreads);
	if (ret)
		fprintf(stderr, PROG ": server loop: %s\n", strerror(errno));
	pthread_join(watcher, NULL);
	ck_summary(ck.trace);
	if (ck.trace != stderr)
		ck_summary(stderr);
	fclose(ck.trace);
	if (ret || watch.status < 0 || ck.mismatches || ck.disorders)
		return 1;
	return tool_exit_code(watch.status);
}
