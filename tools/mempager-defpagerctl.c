// SPDX-License-Identifier: GPL-2.0
/*
 * mempager-defpagerctl: the default pager's client. Asks mempager-defpager
 * over its socket for info, its objects, the pages of one, changes its
 * paging files, or creates an object and runs a command with it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolutil.h"
#include "defpager_proto.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mempager-defpagerctl [-s SOCKET] COMMAND [ARG...]\n"
		"\n"
		"Talk to the default pager (mempager-defpager), as root.\n"
		"\n"
		"  info                      paging space, page size, counters\n"
		"  objects                   the objects it pages: name, size,\n"
		"                            pages held, kind\n"
		"  object-pages NAME         the offsets of object NAME held in\n"
		"                            paging space\n"
		"  paging-files              the paging files\n"
		"  paging-file add PATH [SIZE]\n"
		"                            add a paging file (a regular file is\n"
		"                            created or grown to SIZE bytes; K, M, G)\n"
		"  paging-file remove PATH   move its pages elsewhere and drop it\n"
		"  object-create SIZE [COMMAND [ARG...]]\n"
		"                            create a zero-filled shared object of\n"
		"                            SIZE bytes; print its name and run\n"
		"                            COMMAND with its fd in " TOOL_ENV_FD "\n"
		"                            and its size in " TOOL_ENV_SIZE " (the\n"
		"                            object lives until COMMAND exits and it\n"
		"                            is no longer mapped)\n"
		"\n"
		"  -s, --socket PATH   the daemon's socket (default " DP_SOCKET_PATH ")\n"
		"  -h, --help          show this help\n");
}

static int fail(const char *what)
{
	fprintf(stderr, "mempager-defpagerctl: %s: %s\n", what, strerror(errno));
	return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
	if (!tool_parse_size(s, out))
		return 0;
	fprintf(stderr, "mempager-defpagerctl: bad size %s\n", s);
	return -1;
}

static int cmd_info(int s)
{
	struct dp_info_reply i;

	if (dp_info(s, &i))
		return fail("info");
	printf("page size      %u\n", i.page_size);
	printf("total space    %" PRIu64 " bytes (%" PRIu64 " pages)\n",
	       i.total_space, i.total_space / i.page_size);
	printf("free space     %" PRIu64 " bytes (%" PRIu64 " pages)\n",
	       i.free_space, i.free_space / i.page_size);
	printf("default manager %s\n",
	       i.flags & DP_INFO_DEFAULT_MANAGER ? "yes" : "no");
	printf("paging files   %u\n", i.nfiles);
	printf("objects        %u\n", i.nobjects);
	printf("pageouts       %" PRIu64 "\n", i.pageouts);
	printf("pageins        %" PRIu64 "\n", i.pageins);
	printf("zero fills     %" PRIu64 "\n", i.zero_fills);
	printf("init ignored   %" PRIu64 "\n", i.init_ignored);
	printf("in memory      %" PRIu64 " pages\n", i.mem_pages);
	printf("I/O errors     %" PRIu64 "\n", i.io_errors);
	return 0;
}

static int cmd_objects(int s)
{
	static char buf[DP_MAX_PACKET];
	struct dp_objects_reply *r;
	uint64_t after = 0;
	uint32_t i;

	printf("%-12s %14s %10s  %s\n", "NAME", "SIZE", "PAGES", "KIND");
	do {
		r = dp_objects(s, after, buf);
		if (!r)
			return fail("objects");
		for (i = 0; i < r->count; i++) {
			struct dp_object_entry *e = &r->entries[i];

			printf("%-12" PRIu64 " %14" PRIu64 " %10" PRIu64 "  %s%s\n",
			       e->name, e->size, e->pages,
			       e->flags & DP_OBJ_TEMPORARY ? "temporary" : "created",
			       e->flags & DP_OBJ_MAPPED ? ",mapped" : "");
			after = e->name;
		}
	} while (r->flags & DP_MORE);
	return 0;
}

static int cmd_object_pages(int s, const char *arg)
{
	static char buf[DP_MAX_PACKET];
	struct dp_object_pages_reply *r;
	uint64_t name, start = 0;
	char *end;
	uint32_t i;

	name = strtoull(arg, &end, 0);
	if (*end) {
		fprintf(stderr, "mempager-defpagerctl: bad object name %s\n", arg);
		return 2;
	}
	do {
		r = dp_object_pages(s, name, start, buf);
		if (!r)
			return fail("object-pages");
		for (i = 0; i < r->count; i++)
			printf("0x%" PRIx64 "\n", r->offsets[i]);
		start = r->next;
	} while (r->flags & DP_MORE);
	return 0;
}

static int cmd_paging_files(int s)
{
	static char buf[DP_MAX_PACKET];
	struct dp_paging_files_reply *r = dp_paging_files(s, buf);
	uint32_t i;

	if (!r)
		return fail("paging-files");
	printf("%12s %12s  %s\n", "PAGES", "FREE", "PATH");
	for (i = 0; i < r->count; i++)
		printf("%12" PRIu64 " %12" PRIu64 "  %s\n",
		       r->entries[i].total_slots, r->entries[i].free_slots,
		       r->entries[i].path);
	return 0;
}

static int cmd_paging_file(int s, int argc, char **argv)
{
	uint64_t size = 0;

	if (argc < 2 || argc > 3)
		goto bad;
	if (!strcmp(argv[0], "add")) {
		if (argc == 3 && parse_size(argv[2], &size))
			return 2;
		if (dp_paging_file(s, argv[1], DP_PAGING_ADD, size))
			return fail(argv[1]);
		return 0;
	}
	if (!strcmp(argv[0], "remove") && argc == 2) {
		if (dp_paging_file(s, argv[1], DP_PAGING_REMOVE, 0))
			return fail(argv[1]);
		return 0;
	}
bad:
	usage(stderr);
	return 2;
}

static int cmd_object_create(int s, int argc, char **argv)
{
	uint64_t size, name;
	pid_t pid;
	int fd, status;

	if (argc < 1 || parse_size(argv[0], &size))
		return 2;
	fd = dp_object_create(s, size, &name);
	if (fd < 0)
		return fail("object-create");
	printf("%" PRIu64 "\n", name);
	fflush(stdout);
	if (argc == 1)
		return 0;
	/* The connection stays open while the command runs: it owns it. */
	pid = tool_spawn("mempager-defpagerctl", &argv[1], fd,
			 (size + getpagesize() - 1) / getpagesize() *
			 getpagesize());
	if (pid < 0)
		return 1;
	close(fd);
	if (waitpid(pid, &status, 0) != pid)
		return fail("waitpid");
	return tool_exit_code(status);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *path = DP_SOCKET_PATH, *cmd;
	int c, s;

	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	s = dp_connect(path);
	if (s < 0)
		return fail(path);
	if (!strcmp(cmd, "info"))
		return cmd_info(s);
	if (!strcmp(cmd, "objects"))
		return cmd_objects(s);
	if (!strcmp(cmd, "object-pages") && argc - optind == 1)
		return cmd_object_pages(s, argv[optind]);
	if (!strcmp(cmd, "paging-files"))
		return cmd_paging_files(s);
	if (!strcmp(cmd, "paging-file"))
		return cmd_paging_file(s, argc - optind, argv + optind);
	if (!strcmp(cmd, "object-create"))
		return cmd_object_create(s, argc - optind, argv + optind);
	usage(stderr);
	return 2;
}
