/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The local protocol of mempager-dsm: an application connects to the
 * daemon's Unix socket, sends one line "OPEN <region>\n" and gets back
 * either "OK <size>\n" with the region's object fd attached (SCM_RIGHTS),
 * or "ERR <message>\n". The application mmaps the object fd (MAP_SHARED).
 */
#ifndef MEMPAGER_DSM_CLIENT_H
#define MEMPAGER_DSM_CLIENT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DSM_DEFAULT_SOCKET	"/run/mempager-dsm.sock"
#define DSM_NAME_MAX		64

/*
 * Ask the daemon at @sock for region @name: its object fd (mmap it), and
 * its size in *@size; -1 with the reason in @err.
 */
static inline int dsm_client_open(const char *sock, const char *name,
				  uint64_t *size, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { line, sizeof(line) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int s, fd = -1, len;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "%s: %s", sock, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	len = snprintf(line, sizeof(line), "OPEN %s\n", name);
	if (len >= (int)sizeof(line) || write(s, line, len) != len) {
		snprintf(err, errlen, "%s: cannot send the request", sock);
		close(s);
		return -1;
	}
	n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	close(s);
	if (n <= 0) {
		snprintf(err, errlen, "%s: no answer", sock);
		return -1;
	}
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (strncmp(line, "OK ", 3) || fd < 0) {
		snprintf(err, errlen, "%s", strncmp(line, "ERR ", 4) ? line : line + 4);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*size = strtoull(line + 3, NULL, 0);
	return fd;
}

#endif /* MEMPAGER_DSM_CLIENT_H */
