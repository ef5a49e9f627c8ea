// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the example pagers; see toolutil.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "toolutil.h"

pid_t tool_spawn(const char *prog, char **argv, int object_fd, uint64_t size)
{
	char fdbuf[16], sizebuf[24];
	pid_t pid;

	snprintf(fdbuf, sizeof(fdbuf), "%d", object_fd);
	snprintf(sizebuf, sizeof(sizebuf), "%" PRIu64, size);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return -1;
	}
	if (pid)
		return pid;
	/* The object fd is O_CLOEXEC: the command must inherit it. */
	if (fcntl(object_fd, F_SETFD, 0) || setenv(TOOL_ENV_FD, fdbuf, 1) ||
	    setenv(TOOL_ENV_SIZE, sizebuf, 1))
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s: %s\n", prog, argv[0], strerror(errno));
	_exit(127);
}

int tool_reaped(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == pid;
}

void tool_print_status(FILE *f, const char *prog, int status)
{
	if (WIFEXITED(status))
		fprintf(f, "%s: command exited with status %d\n", prog,
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(f, "%s: command killed by signal %d (%s)\n", prog,
			WTERMSIG(status), strsignal(WTERMSIG(status)));
}

int tool_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

long long tool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void tool_trace_msg(FILE *f, const struct mempager_msg *msg)
{
	char line[256];

	mempager_msg_format(msg, line, sizeof(line));
	fprintf(f, "<- %s\n", line);
}

kern_return_t tool_trace_call(FILE *f, kern_return_t kr, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	/* Several threads may trace: keep each line whole. */
	flockfile(f);
	fputs("-> ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (kr)
		fprintf(f, ": %s (%s)", mach_error_string(kr), strerror(err));
	fputc('\n', f);
	funlockfile(f);
	errno = err;
	return kr;
}

int tool_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K':
		v <<= 10; end++;
		break;
	case 'm': case 'M':
		v <<= 20; end++;
		break;
	case 'g': case 'G':
		v <<= 30; end++;
		break;
	}
	if (*end || !v)
		return -1;
	*out = v;
	return 0;
}
