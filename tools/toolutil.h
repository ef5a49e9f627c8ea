/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the example pagers share: running the client command with the
 * object fd, waiting with a deadline, and the trace of messages and calls.
 */
#ifndef MEMPAGER_TOOLUTIL_H
#define MEMPAGER_TOOLUTIL_H

#include <stdio.h>
#include <sys/types.h>

#include "libmempager.h"

/* The environment that hands the object to the client command. */
#define TOOL_ENV_FD	"MEMPAGER_FD"
#define TOOL_ENV_SIZE	"MEMPAGER_SIZE"

/*
 * Run @argv with @object_fd inherited and named in MEMPAGER_FD, the object
 * size in MEMPAGER_SIZE. Returns the pid, or -1 with a message printed.
 */
pid_t tool_spawn(const char *prog, char **argv, int object_fd, uint64_t size);

/*
 * Reap @pid if it exited: 1 and its wait status in *@status, 0 while it
 * runs.
 */
int tool_reaped(pid_t pid, int *status);

/* Describe a wait status on @f ("exited 0", "killed by SIGALRM"). */
void tool_print_status(FILE *f, const char *prog, int status);

/* An exit code for a pager whose command ended with @status. */
int tool_exit_code(int status);

/* Milliseconds on the monotonic clock. */
long long tool_now_ms(void);

/* A non-zero size like 4096, 0x1000, 64k, 16M or 1G: 0, or -1 if bad. */
int tool_parse_size(const char *s, uint64_t *out);

/* Trace a received message: "<- data_request obj=1 seq=3 ...". */
void tool_trace_msg(FILE *f, const struct mempager_msg *msg);

/*
 * Trace a call made and pass its result through:
 * "-> data_supply offset=0x2000 len=4096", with ": KERN_... (strerror)"
 * appended when it failed.
 */
kern_return_t tool_trace_call(FILE *f, kern_return_t kr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* MEMPAGER_TOOLUTIL_H */
