// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints: enable events/mempager/ in tracefs, run one fault round
 * trip, and find every event of it in the trace: the fault's entry and
 * exits, the init and data_request messages, and the ready and data_supply
 * calls.
 */
#include <pthread.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define TRACING "/sys/kernel/tracing"

/* The trace as one string (caller frees). */
static char *read_trace(void)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	int fd = open(TRACING "/trace", O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf)
		return NULL;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return buf;
}

/*
 * Clear the trace and enable the mempager events: 0 or -1.
 *
 * With the record-cmd option on (the default), enabling an event also
 * enables the sched_switch tracepoint, live-patching __schedule() with
 * int3 while the other CPU runs it. Under QEMU's TCG that can leave a CPU
 * trapping forever on an int3 already patched away (seen with 6.1: CPU 0
 * in exc_int3 at __schedule+0x1bc, CPU 1 in text_poke_sync's IPI, a soft
 * lockup). The test needs no command names: patch only mempager's own
 * tracepoints, which nothing runs while they are switched.
 */
static int trace_start(void)
{
	if (tp_write_file(TRACING "/options/record-cmd", "0"))
		return -1;
	if (tp_write_file(TRACING "/trace", ""))
		return -1;
	return tp_write_file(TRACING "/events/mempager/enable", "1");
}

/* Disable the events and return the trace (caller frees), or NULL. */
static char *trace_stop(void)
{
	if (tp_write_file(TRACING "/events/mempager/enable", "0"))
		return NULL;
	if (tp_write_file(TRACING "/options/record-cmd", "1"))
		return NULL;
	return read_trace();
}

TEST(fault_round_trip_events)
{
	struct tpager tp;
	unsigned char *p;
	char *trace;
	pid_t pid;

	if (access(TRACING "/events/mempager", F_OK))
		SKIP(return, "no tracefs with mempager events: %s", strerror(errno));
	ASSERT_EQ(0, trace_start());

	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	p = map_ready(_metadata, &tp, 0);
	pid = tp_touch_child(p + 2 * PS, 0, tp_byte(2, 0, 1));
	expect_request(_metadata, &tp, 2, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 2, 1, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));

	trace = trace_stop();
	ASSERT_NE(NULL, trace);
	EXPECT_NE(NULL, strstr(trace, "mempager_msg: ")) TH_LOG("%s", trace);
	EXPECT_NE(NULL, strstr(trace, " init seqno=1"));
	EXPECT_NE(NULL, strstr(trace, " data_request seqno=2"));
	EXPECT_NE(NULL, strstr(trace, "offset=0x2000 length=0x1000"));
	EXPECT_NE(NULL, strstr(trace, "mempager_call: ready result=0"));
	EXPECT_NE(NULL, strstr(trace, "mempager_call: data_supply result=0"));
	EXPECT_NE(NULL, strstr(trace, "mempager_fault_enter: "));
	EXPECT_NE(NULL, strstr(trace, "pgoff=2"));
	/* The first exit is VM_FAULT_RETRY (0x400): it waited for the pager. */
	EXPECT_NE(NULL, strstr(trace, "mempager_fault_exit: ")) TH_LOG("%s", trace);
	EXPECT_NE(NULL, strstr(trace, "pgoff=2 0x400"));
	free(trace);
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

static int count_of(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s++;
	}
	return n;
}

/*
 * The answer to one request wakes only the fault waiting for it: a fault
 * waiting for another page sleeps on, and is retried once, after its own
 * answer (each retry is a fault exit with VM_FAULT_RETRY, 0x400).
 */
TEST(answer_wakes_only_its_fault)
{
	char retried[96];
	struct tpager tp;
	unsigned char *p;
	pid_t a, b;
	char *trace;

	if (access(TRACING "/events/mempager", F_OK))
		SKIP(return, "no tracefs with mempager events: %s", strerror(errno));
	ASSERT_EQ(0, trace_start());

	ASSERT_EQ(0, tp_create(&tp, 4, 0600));
	p = map_ready(_metadata, &tp, 0);
	a = tp_touch_child(p + 1 * PS, 0, tp_byte(1, 0, 1));
	expect_request(_metadata, &tp, 1, VM_PROT_READ);
	b = tp_touch_child(p + 2 * PS, 0, tp_byte(2, 0, 1));
	expect_request(_metadata, &tp, 2, VM_PROT_READ);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 1, 1, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(a, TP_TIMEOUT_MS)));
	usleep(TP_QUIET_MS * 1000);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, 2, 1, 0));
	EXPECT_TRUE(tp_exited_ok(tp_wait(b, TP_TIMEOUT_MS)));

	trace = trace_stop();
	ASSERT_NE(NULL, trace);
	snprintf(retried, sizeof(retried), "name=%llu pgoff=2 0x400",
		 (unsigned long long)tp.name);
	EXPECT_EQ(1, count_of(trace, retried)) TH_LOG("%s", trace);
	free(trace);
	munmap(p, 4 * PS);
	tp_destroy(&tp);
}

TEST_HARNESS_MAIN
