// SPDX-License-Identifier: GPL-2.0
/*
 * The example pagers and tools of tools/, run as a user would: the file
 * pager and the checksumming pager with the demo client, and mempagerctl.
 * The programs are found in $MEMPAGER_TOOLS, else in ../tools beside this
 * test (build/tools on the host, /tools in the test VM).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define RUN_TIMEOUT_MS (6 * TP_TIMEOUT_MS)

/* Where a tool is; fails the test when it is not there. */
static void tool_path(struct __test_metadata *_metadata, const char *name,
		      char *path)
{
	snprintf(path, PATH_MAX, "%s/%s", tp_tools_dir(), name);
	ASSERT_EQ(0, access(path, X_OK))
		TH_LOG("%s: %s (copy build/tools into the VM, or set MEMPAGER_TOOLS)",
		       path, strerror(errno));
}

/*
 * Run @argv (argv[0] a tool name) with stdout and stderr to @out; returns
 * its wait status, -1 on time-out. PATH leads to the tools, so that the
 * pagers find the client by name.
 */
static int run(struct __test_metadata *_metadata, char **argv,
	       const char *out)
{
	char path[PATH_MAX], env[PATH_MAX + 64];
	pid_t pid;
	int fd;

	tool_path(_metadata, argv[0], path);
	snprintf(env, sizeof(env), "%s:%s", tp_tools_dir(), getenv("PATH") ?: "/bin");
	pid = fork();
	if (!pid) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setenv("PATH", env, 1);
		execv(path, argv);
		_exit(127);
	}
	ASSERT_GT(pid, 0);
	return tp_wait(pid, RUN_TIMEOUT_MS);
}

/* The contents of @path, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
	static char buf[64 << 10];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

#define EXPECT_HAS(text, needle)					\
	EXPECT_NE(NULL, strstr(text, needle))				\
		TH_LOG("\"%s\" not in:\n%s", needle, text)

static int kernel_syncs(void)
{
	int fd = mempager_open();
	int yes = fd >= 0 &&
		mempager_has_ioctl(fd, MEMPAGER_CMD_SYNCHRONIZE_COMPLETED);

	if (fd >= 0)
		close(fd);
	return yes;
}

TEST(help_of_every_tool)
{
	static const char *const tools[] = {
		"mempagerctl", "mempager-filepager", "mempager-cksum",
		"mempager-democlient",
	};
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char *argv[] = { (char *)tools[i], "--help", NULL };

		EXPECT_TRUE(tp_exited_ok(run(_metadata, argv, "/tmp/help.out")));
		EXPECT_HAS(slurp("/tmp/help.out"), "usage:");
	}
}

/* The file pager serves a file to the demo client, tracing each step. */
TEST(filepager_serves_file)
{
	static const char head[] = "hello from the file\n";
	char *argv[] = {
		"mempager-filepager", "-o", "/tmp/fp.trace", "-t", "100",
		"/tmp/fp.data", "mempager-democlient", NULL,
	};
	char page[2 * 4096] = { 0 };
	const char *text;
	int fd;

	fd = open("/tmp/fp.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	memcpy(page, head, sizeof(head) - 1);
	ASSERT_EQ(2 * PS, write(fd, page, 2 * PS));

	EXPECT_TRUE(tp_exited_ok(run(_metadata, argv, "/tmp/fp.out")));
	text = slurp("/tmp/fp.out");
	EXPECT_HAS(text, "parent read at 0: \"hello from the file\"");
	EXPECT_HAS(text, "parent wrote at 0x1000: \"written by the application\"");
	EXPECT_HAS(text, "child  read at 0x1000: \"written by the application\"");
	EXPECT_HAS(text, "unmapped");
	text = slurp("/tmp/fp.trace");
	EXPECT_HAS(text, "<- init obj=1 seq=1");
	EXPECT_HAS(text, "-> ready may_cache=0 copy_strategy=delay\n");
	EXPECT_HAS(text, "<- data_request obj=1 seq=2 offset=0 len=4096 access=R\n");
	EXPECT_HAS(text, "-> data_supply offset=0 len=4096\n");
	EXPECT_HAS(text, "access=RW\n");
	EXPECT_HAS(text, "<- terminate obj=1");
	EXPECT_HAS(text, "command exited with status 0");

	/* With msync in the kernel the write reached the file. */
	if (kernel_syncs()) {
		EXPECT_HAS(text, "<- data_return obj=1");
		EXPECT_HAS(text, "-> synchronize_completed offset=0");
		ASSERT_EQ(PS, pread(fd, page, PS, PS));
		EXPECT_EQ(0, memcmp(page, "written by the application\n", 27));
	} else {
		EXPECT_HAS(slurp("/tmp/fp.out"),
			   "msync: not supported by this kernel");
	}
	close(fd);
}

/*
 * The checksumming pager with many threads: a first client writes a page,
 * a second reads it back (supplied precious, returned clean at terminate
 * and checked), with per-object order kept and nothing corrupted.
 */
TEST(cksum_pager_verifies)
{
	char *argv[] = {
		"mempager-cksum", "-n", "4", "-j", "3", "-o", "/tmp/ck.trace",
		"-t", "100", "sh", "-c",
		"mempager-democlient -m checked && "
		"mempager-democlient -r 0x1000 -w 0x2000 -m again", NULL,
	};
	const char *text;

	EXPECT_TRUE(tp_exited_ok(run(_metadata, argv, "/tmp/ck.out")));
	text = slurp("/tmp/ck.out");
	EXPECT_HAS(text, "child  read at 0x1000: \"checked\"");
	EXPECT_HAS(text, "parent read at 0x1000: \"checked\"");
	EXPECT_HAS(text, "child  read at 0x2000: \"again\"");
	EXPECT_HAS(text, "1 supplied, ");
	EXPECT_HAS(text, ", 1 returned clean, 0 mismatches, 0 out of order");
	text = slurp("/tmp/ck.trace");
	EXPECT_HAS(text, "<- data_request offset=0 len=4096 access=1 obj=1");
	EXPECT_HAS(text, "-> data_unavailable offset=0 len=4096\n");
	EXPECT_HAS(text, "stored page 0x1000");
	EXPECT_HAS(text, "-> data_supply offset=0x1000 len=4096 precious");
	EXPECT_HAS(text, "-> synchronize_completed offset=0");
	EXPECT_HAS(text, "<- terminate obj=1");
}

TEST(mempagerctl_api_and_objects)
{
	char *api[] = { "mempagerctl", "api", NULL };
	char *objects[] = { "mempagerctl", "objects", NULL };
	char line[64];
	struct tpager tp;

	EXPECT_TRUE(tp_exited_ok(run(_metadata, api, "/tmp/ctl.out")));
	EXPECT_HAS(slurp("/tmp/ctl.out"), "mempager ABI version 1");
	EXPECT_HAS(slurp("/tmp/ctl.out"), " data_supply ");
	EXPECT_HAS(slurp("/tmp/ctl.out"), " set_default_manager");
	/* Every ioctl the module serves has a name. */
	EXPECT_EQ(NULL, strstr(slurp("/tmp/ctl.out"), " ?"))
		TH_LOG("%s", slurp("/tmp/ctl.out"));

	ASSERT_EQ(0, tp_create(&tp, 3, 0600));
	EXPECT_TRUE(tp_exited_ok(run(_metadata, objects, "/tmp/ctl.out")));
	EXPECT_HAS(slurp("/tmp/ctl.out"), "name  handle  pages  state");
	/* The new object: its name, handle 1, 3 pages, idle. */
	snprintf(line, sizeof(line), "%llu", (unsigned long long)tp.name);
	EXPECT_HAS(slurp("/tmp/ctl.out"), line);
	EXPECT_HAS(slurp("/tmp/ctl.out"), "idle");
	tp_destroy(&tp);
}

TEST_HARNESS_MAIN
