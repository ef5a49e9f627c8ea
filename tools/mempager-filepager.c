// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-filepager: map a file through mempager. The object has the
 * file's size; data_request is served by pread(2), data_return written
 * back by pwrite(2). Every message received and every call made is traced,
 * like strace for a pager. See usage() for how the client gets the object.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolutil.h"

#define PROG		"mempager-filepager"
#define MSG_BATCH	32
#define DATA_MIN	(1u << 20)
#define DATA_MAX	(64u << 20)

static struct {
	FILE *trace;
	int file_fd;
	uint64_t file_size;
	char *page_buf;
	size_t page_buf_size;
	bool live;		/* an incarnation between init and terminate */
} fp;

static const char *const strategy_names[] = {
	"none", "call", "delay", "temporary",
};

static kern_return_t fp_init(memory_object_t mo, memory_object_control_t c,
			     memory_object_name_t name, vm_size_t page_size)
{
	(void)mo;
	(void)name;
	(void)page_size;
	fp.live = true;
	/* Not cached: the last unmap returns dirty pages and terminates. */
	return tool_trace_call(fp.trace,
			       memory_object_ready(c, 0, MEMORY_OBJECT_COPY_DELAY),
			       "ready may_cache=0 copy_strategy=%s",
			       strategy_names[MEMORY_OBJECT_COPY_DELAY]);
}

static void *fp_buffer(size_t len)
{
	if (len > fp.page_buf_size) {
		char *b = realloc(fp.page_buf, len);

		if (!b)
			return NULL;
		fp.page_buf = b;
		fp.page_buf_size = len;
	}
	return fp.page_buf;
}

/* Read [@offset, @offset + @len) of the file; zeroes past its end. */
static int fp_read(char *buf, vm_offset_t offset, vm_size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len && offset + done < fp.file_size) {
		n = pread(fp.file_fd, buf + done, len - done, offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		done += n;
	}
	memset(buf + done, 0, len - done);
	return 0;
}

static kern_return_t fp_data_request(memory_object_t mo,
				     memory_object_control_t c,
				     vm_offset_t offset, vm_size_t length,
				     vm_prot_t access)
{
	char *buf = fp_buffer(length);
	int err;

	(void)mo;
	(void)access;
	if (!buf || fp_read(buf, offset, length)) {
		err = buf ? errno : ENOMEM;
		return tool_trace_call(fp.trace,
				       memory_object_data_error(c, offset, length,
						mempager_kern_return(err)),
				       "data_error offset=%#llx len=%llu reason=%s",
				       (unsigned long long)offset,
				       (unsigned long long)length,
				       strerror(err));
	}
	return tool_trace_call(fp.trace,
			       memory_object_data_supply(c, offset, buf, length,
							 VM_PROT_NONE, 0, 0),
			       "data_supply offset=%#llx len=%llu",
			       (unsigned long long)offset,
			       (unsigned long long)length);
}

/* Pages are supplied unlocked, but a pager answers unlocks anyway. */
static kern_return_t fp_data_unlock(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	(void)mo;
	(void)access;
	return tool_trace_call(fp.trace,
			       memory_object_lock_request(c, offset, length,
					MEMORY_OBJECT_RETURN_NONE, 0,
					VM_PROT_NONE, 0),
			       "lock_request offset=%#llx len=%llu return=none flush=0 lock=none",
			       (unsigned long long)offset,
			       (unsigned long long)length);
}

/* Write returned pages back; the part past the end of the file is padding. */
static kern_return_t fp_data_return(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, const void *data,
				    vm_size_t count, boolean_t dirty,
				    boolean_t kernel_copy)
{
	size_t len, done = 0;
	ssize_t n;

	(void)mo;
	(void)c;
	(void)kernel_copy;
	if (!dirty || offset >= fp.file_size)
		return KERN_SUCCESS;
	len = count < fp.file_size - offset ? count : fp.file_size - offset;
	while (done < len) {
		n = pwrite(fp.file_fd, (const char *)data + done, len - done,
			   offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(fp.trace, "   pwrite offset=%#llx: %s\n",
				(unsigned long long)(offset + done),
				strerror(errno));
			return KERN_SUCCESS;
		}
		done += n;
	}
	fprintf(fp.trace, "   pwrite offset=%#llx len=%zu\n",
		(unsigned long long)offset, len);
	return KERN_SUCCESS;
}

static kern_return_t fp_terminate(memory_object_t mo,
				  memory_object_control_t c)
{
	(void)mo;
	(void)c;
	fp.live = false;
	if (fdatasync(fp.file_fd))
		fprintf(fp.trace, "   fdatasync: %s\n", strerror(errno));
	return KERN_SUCCESS;
}

static kern_return_t fp_synchronize(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_sync_t flags)
{
	(void)mo;
	(void)flags;
	/* The dirty pages came before this message: make them durable. */
	if (fdatasync(fp.file_fd))
		fprintf(fp.trace, "   fdatasync: %s\n", strerror(errno));
	return tool_trace_call(fp.trace,
			       memory_object_synchronize_completed(c, offset,
								   length),
			       "synchronize_completed offset=%#llx len=%llu",
			       (unsigned long long)offset,
			       (unsigned long long)length);
}

static const struct memory_object_routines fp_routines = {
	.init = fp_init,
	.data_request = fp_data_request,
	.data_unlock = fp_data_unlock,
	.data_return = fp_data_return,
	.terminate = fp_terminate,
	.synchronize = fp_synchronize,
};

/* Receive what is queued; data_return needs MEMPAGER_RECEIVE. */
static int fp_receive(int mfd, bool with_data, struct mempager_msg *msgs,
		      void **data, size_t *data_size)
{
	char *grown;
	int n;

	if (!with_data)
		return mempager_receive(mfd, msgs, MSG_BATCH);
	for (;;) {
		n = mempager_receive_data(mfd, msgs, MSG_BATCH, *data,
					  *data_size);
		if (n >= 0 || errno != EMSGSIZE || *data_size >= DATA_MAX)
			return n;
		grown = realloc(*data, 2 * *data_size);
		if (!grown)
			return -1;
		*data = grown;
		*data_size *= 2;
	}
}

/*
 * Serve until the command has exited and the object has no incarnation
 * left, or the deadline passes. Returns the command's wait status, or -1.
 */
static int fp_serve(int mfd, pid_t child, int timeout_s)
{
	long long deadline = tool_now_ms() + timeout_s * 1000LL;
	bool with_data = mempager_has_ioctl(mfd, MEMPAGER_CMD_RECEIVE);
	struct mempager_msg msgs[MSG_BATCH];
	size_t data_size = DATA_MIN;
	void *data = malloc(data_size);
	int i, n, status = -1;
	bool reaped = false;

	while (data) {
		struct pollfd p = { .fd = mfd, .events = POLLIN };

		if (!reaped && tool_reaped(child, &status)) {
			reaped = true;
			tool_print_status(fp.trace, PROG, status);
		}
		if (reaped && !fp.live)
			break;
		if (tool_now_ms() > deadline) {
			fprintf(stderr, "%s: timed out after %d s\n", PROG,
				timeout_s);
			if (!reaped)
				kill(child, SIGKILL);
			status = -1;
			break;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = fp_receive(mfd, with_data, msgs, &data, &data_size);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, "%s: receive: %s\n", PROG,
				strerror(errno));
			status = -1;
			break;
		}
		for (i = 0; i < n; i++) {
			tool_trace_msg(fp.trace, &msgs[i]);
			memory_object_server(mfd, &msgs[i], data, &fp_routines);
		}
		fflush(fp.trace);
	}
	free(data);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-o TRACE] [-t SECONDS] FILE COMMAND [ARG...]\n"
		"\n"
		"Map FILE through mempager and run COMMAND as its client.\n"
		"\n"
		"The pager creates a memory object of FILE's size (rounded up to\n"
		"whole pages), serves its data_request messages by reading FILE\n"
		"and writes the pages of data_return messages back to FILE (msync,\n"
		"page-out, terminate). COMMAND inherits the object fd: its number\n"
		"is in the environment variable " TOOL_ENV_FD ", the object's size\n"
		"in bytes in " TOOL_ENV_SIZE ". COMMAND maps it with\n"
		"mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).\n"
		"Bytes written past the end of FILE are not stored.\n"
		"\n"
		"Each message received is traced as a line starting with \"<- \",\n"
		"each call made with \"-> \" (and its error when it failed).\n"
		"\n"
		"The pager exits when COMMAND has exited and the object has been\n"
		"terminated, with COMMAND's exit status.\n"
		"\n"
		"  -o TRACE    write the trace to TRACE instead of stderr\n"
		"  -t SECONDS  give up (killing COMMAND) after SECONDS; default 60\n"
		"  -h, --help  show this help\n");
}

static int fp_open_file(const char *path, uint64_t *object_size)
{
	long ps = sysconf(_SC_PAGESIZE);
	struct stat st;

	fp.file_fd = open(path, O_RDWR | O_CLOEXEC);
	if (fp.file_fd < 0 || fstat(fp.file_fd, &st)) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	fp.file_size = st.st_size;
	*object_size = st.st_size ? (st.st_size + ps - 1) / ps * ps : ps;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *trace_path = NULL;
	int c, mfd, ofd, status, timeout_s = 60;
	uint64_t size, name;
	uint32_t object;
	kern_return_t kr;
	pid_t child;

	while ((c = getopt_long(argc, argv, "+o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			trace_path = optarg;
			break;
		case 't':
			timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	fp.trace = trace_path ? fopen(trace_path, "we") : stderr;
	if (!fp.trace) {
		fprintf(stderr, PROG ": %s: %s\n", trace_path, strerror(errno));
		return 1;
	}
	if (fp_open_file(argv[optind], &size))
		return 1;
	mfd = mempager_open();
	if (mfd < 0) {
		fprintf(stderr, PROG ": /dev/mempager: %s\n", strerror(errno));
		return 1;
	}
	kr = mempager_object_create(mfd, size, 0600, &object, &ofd, &name);
	if (kr) {
		fprintf(stderr, PROG ": object_create: %s (%s)\n",
			mach_error_string(kr), strerror(errno));
		return 1;
	}
	fprintf(fp.trace, "   object %u name %llu size %llu for %s\n", object,
		(unsigned long long)name, (unsigned long long)size,
		argv[optind]);
	child = tool_spawn(PROG, &argv[optind + 1], ofd, size);
	if (child < 0)
		return 1;
	close(ofd);
	status = fp_serve(mfd, child, timeout_s);
	fclose(fp.trace);
	return status < 0 ? 1 : tool_exit_code(status);
}
