// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-democlient: an application of a memory object, run by an
 * example pager (mempager-filepager, mempager-cksum) that hands it the
 * object fd. It maps the object, reads, writes, forks (the child reads
 * what the parent wrote), msyncs and unmaps, saying what it sees.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolutil.h"

#define PROG "mempager-democlient"
/* Every step that waits for the pager gives up after this (killed). */
#define STEP_TIMEOUT_S 30

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-r OFFSET] [-w OFFSET] [-m TEXT]\n"
		"\n"
		"Map the memory object whose fd is in " TOOL_ENV_FD " (size in\n"
		TOOL_ENV_SIZE "), as an example pager's command, and:\n"
		"  1. print the line at OFFSET given by -r (default 0);\n"
		"  2. write TEXT at OFFSET (default: \"written by the application\"\n"
		"     at the start of the second page, or of the first if there is\n"
		"     only one);\n"
		"  3. fork: the child prints what it reads at OFFSET;\n"
		"  4. msync(MS_SYNC) the mapping, so that the pager gets the dirty\n"
		"     page (data_return) and a synchronize message; on a kernel\n"
		"     without msync support it says so and skips this step;\n"
		"  5. unmap.\n"
		"Each step that waits for the pager is killed by SIGALRM after\n"
		"%d s.\n"
		"\n"
		"  -r OFFSET   where to read first\n"
		"  -w OFFSET   where to write\n"
		"  -m TEXT     what to write\n"
		"  -h, --help  show this help\n", STEP_TIMEOUT_S);
}

/* Print the line at @p, at most @max bytes, as text. */
static void print_line(const char *who, size_t offset, const char *p,
		       size_t max)
{
	size_t n = 0;

	while (n < max && p[n] && p[n] != '\n')
		n++;
	printf("%s read at %#zx: \"%.*s\"\n", who, offset, (int)n, p);
	fflush(stdout);
}

static int child_reads(const char *map, size_t offset, size_t max)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		perror(PROG ": fork");
		return -1;
	}
	if (!pid) {
		print_line("child ", offset, map + offset, max);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, PROG ": the child failed\n");
		return -1;
	}
	return 0;
}

/* msync needs the kernel's synchronize support; ask before waiting. */
static int sync_map(char *map, size_t size)
{
	int fd = mempager_open();
	boolean_t supported;

	supported = fd >= 0 &&
		mempager_has_ioctl(fd, MEMPAGER_CMD_SYNCHRONIZE_COMPLETED);
	if (fd >= 0)
		close(fd);
	if (!supported) {
		printf("msync: not supported by this kernel\n");
		return 0;
	}
	alarm(STEP_TIMEOUT_S);
	if (msync(map, size, MS_SYNC)) {
		printf("msync: %s\n", strerror(errno));
		return -1;
	}
	alarm(0);
	printf("msync: done, the pager has the data\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *text = "written by the application";
	const char *env_fd = getenv(TOOL_ENV_FD);
	const char *env_size = getenv(TOOL_ENV_SIZE);
	size_t ps = sysconf(_SC_PAGESIZE), size, offset = (size_t)-1, at = 0;
	int c, fd, ret = 0;
	char *map;

	while ((c = getopt_long(argc, argv, "r:w:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			at = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			offset = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			text = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!env_fd || !env_size) {
		fprintf(stderr, PROG ": " TOOL_ENV_FD " and " TOOL_ENV_SIZE
			" must name the object (run me from a pager)\n");
		return 2;
	}
	fd = atoi(env_fd);
	size = strtoull(env_size, NULL, 0);
	if (offset == (size_t)-1)
		offset = size > ps ? ps : 0;
	if (offset + strlen(text) + 1 > size || at >= size) {
		fprintf(stderr, PROG ": offset beyond the object\n");
		return 2;
	}

	alarm(STEP_TIMEOUT_S);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror(PROG ": mmap");
		return 1;
	}
	printf("mapped %zu bytes of the object (fd %d)\n", size, fd);
	print_line("parent", at, map + at, size - at);
	memcpy(map + offset, text, strlen(text));
	map[offset + strlen(text)] = '\n';
	printf("parent wrote at %#zx: \"%s\"\n", offset, text);
	fflush(stdout);
	if (child_reads(map, offset, size - offset))
		ret = 1;
	alarm(0);
	if (sync_map(map, size))
		ret = 1;
	if (munmap(map, size)) {
		perror(PROG ": munmap");
		return 1;
	}
	printf("unmapped\n");
	return ret;
}
