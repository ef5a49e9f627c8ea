// SPDX-License-Identifier: GPL-2.0
/*
 * mempagerctl: look at the mempager facility from the command line.
 *
 *   mempagerctl api     the API handshake: ABI version, features, ioctls
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mempager.h>

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
};

static int cmd_api(int fd)
{
	struct mempager_api api = { .size = sizeof(api) };
	int i;

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

static void usage(FILE *f)
{
	fprintf(f, "usage: mempagerctl api\n"
		"  api   show the kernel's ABI version, features and ioctls\n");
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "api")) {
		usage(stderr);
		return 2;
	}
	fd = open("/dev/mempager", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mempagerctl: /dev/mempager: %s\n", strerror(errno));
		return 1;
	}
	return cmd_api(fd);
}
