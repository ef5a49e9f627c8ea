// SPDX-License-Identifier: GPL-2.0
/*
 * mempagerctl: look at the mempager facility from the command line.
 *
 *   mempagerctl api       the API handshake: ABI version, features, ioctls
 *   mempagerctl objects   every live object, from debugfs, as a table
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mempager.h>

#define OBJECTS_FILE "/sys/kernel/debug/mempager/objects"
#define MAX_COLS 32
#define MAX_ROWS 4096

static const char *const cmd_names[MEMPAGER_CMD_MAX] = {
	[MEMPAGER_CMD_API] = "api",
	[MEMPAGER_CMD_OBJECT_CREATE] = "object_create",
	[MEMPAGER_CMD_OBJECT_OPEN] = "object_open",
	[MEMPAGER_CMD_OBJECT_BIND] = "object_bind",
	[MEMPAGER_CMD_READY] = "ready",
	[MEMPAGER_CMD_CHANGE_ATTRIBUTES] = "change_attributes",
	[MEMPAGER_CMD_GET_ATTRIBUTES] = "get_attributes",
	[MEMPAGER_CMD_DATA_SUPPLY] = "data_supply",
	[MEMPAGER_CMD_DATA_UNAVAILABLE] = "data_unavailable",
	[MEMPAGER_CMD_DATA_ERROR] = "data_error",
	[MEMPAGER_CMD_DESTROY] = "destroy",
	[MEMPAGER_CMD_REGION] = "region",
	[MEMPAGER_CMD_LOCK_REQUEST] = "lock_request",
	[MEMPAGER_CMD_SYNCHRONIZE_COMPLETED] = "synchronize_completed",
	[MEMPAGER_CMD_RECEIVE] = "receive",
	[MEMPAGER_CMD_SET_DEFAULT_MANAGER] = "set_default_manager",
};

static int cmd_api(void)
{
	struct mempager_api api = { .size = sizeof(api) };
	int fd, i;

	fd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mempagerctl: /dev/mempager: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(fd, MEMPAGER_API, &api)) {
		fprintf(stderr, "mempagerctl: MEMPAGER_API: %s\n", strerror(errno));
		return 1;
	}
	printf("mempager ABI version %u, features %#llx\n", api.out_version,
	       (unsigned long long)api.out_features);
	printf("ioctls:");
	for (i = 0; i < 64; i++)
		if (api.out_ioctls & (1ULL << i))
			printf(" %s", i < MEMPAGER_CMD_MAX && cmd_names[i] ?
			       cmd_names[i] : "?");
	printf("\n");
	return 0;
}

/* One line of the debugfs file, split into words in place. */
struct row {
	char *line;
	char *cols[MAX_COLS];
	int ncols;
};

static void split(struct row *r)
{
	char *save, *w;

	r->ncols = 0;
	for (w = strtok_r(r->line, " \n", &save); w && r->ncols < MAX_COLS;
	     w = strtok_r(NULL, " \n", &save))
		r->cols[r->ncols++] = w;
}

/*
 * Print the file's lines as a table: the header names the columns, so
 * columns the module adds later show up without a change here.
 */
static void print_table(struct row *rows, int nrows)
{
	int width[MAX_COLS] = { 0 }, right[MAX_COLS] = { 0 };
	int i, j, len;

	/* Numeric columns are right-aligned, their header too. */
	for (j = 0; j < rows[1].ncols; j++)
		right[j] = !!strchr("0123456789", rows[1].cols[j][0]);
	for (i = 0; i < nrows; i++)
		for (j = 0; j < rows[i].ncols; j++) {
			len = strlen(rows[i].cols[j]);
			if (len > width[j])
				width[j] = len;
		}
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < rows[i].ncols; j++)
			printf("%s%*s", j ? "  " : "",
			       right[j] ? width[j] : -width[j],
			       rows[i].cols[j]);
		printf("\n");
	}
}

static int cmd_objects(void)
{
	FILE *f = fopen(OBJECTS_FILE, "re");
	struct row *rows;
	size_t cap = 0;
	int nrows = 0;

	if (!f) {
		fprintf(stderr, "mempagerctl: %s: %s%s\n", OBJECTS_FILE,
			strerror(errno), errno == ENOENT ?
			" (is debugfs mounted and mempager loaded?)" : "");
		return 1;
	}
	rows = calloc(MAX_ROWS, sizeof(*rows));
	if (!rows) {
		fclose(f);
		return 1;
	}
	while (nrows < MAX_ROWS &&
	       getline(&rows[nrows].line, &cap, f) > 0) {
		split(&rows[nrows]);
		nrows++;
		cap = 0;
	}
	fclose(f);
	if (nrows <= 1)
		printf("no objects\n");
	else
		print_table(rows, nrows);
	while (nrows--)
		free(rows[nrows].line);
	free(rows);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mempagerctl api|objects\n"
		"  api      show the kernel's ABI version, features and ioctls\n"
		"  objects  list every live object with its state and counters\n"
		"           (" OBJECTS_FILE ": root, debugfs)\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "api"))
		return cmd_api();
	if (argc == 2 && !strcmp(argv[1], "objects"))
		return cmd_objects();
	usage(stderr);
	return 2;
}
