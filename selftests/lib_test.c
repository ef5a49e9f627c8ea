// SPDX-License-Identifier: GPL-2.0
/*
 * libmempager itself: every call against the kernel, the errno mapping,
 * the server demultiplexers (routine, arguments, seqno, dropping a
 * control; copy for COPY_CALL objects, create and data_initialize for the
 * default manager) and the multi-threaded server loop's per-object order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "pager_util.h"

#define NPAGES 8

/* What the recording routines saw. */
static struct {
	int calls;
	int type;
	memory_object_t mo;
	mach_port_seqno_t seqno;
	memory_object_control_t control;
	memory_object_t other;	/* copy's new object, create's manager */
	uint64_t a, b, c, d;
	unsigned char first_byte;
	kern_return_t result;	/* what the routines return */
} seen;

static void seen_reset(kern_return_t result)
{
	memset(&seen, 0, sizeof(seen));
	seen.result = result;
}

static kern_return_t rec(int type, memory_object_t mo,
			 memory_object_control_t c, uint64_t a, uint64_t b,
			 uint64_t cc)
{
	seen.calls++;
	seen.type = type;
	seen.mo = mo;
	seen.control = c;
	seen.a = a;
	seen.b = b;
	seen.c = cc;
	return seen.result;
}

static kern_return_t r_init(memory_object_t mo, memory_object_control_t c,
			    memory_object_name_t name, vm_size_t page_size)
{
	return rec(MEMPAGER_MSG_INIT, mo, c, name, page_size, 0);
}

static kern_return_t r_data_request(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	return rec(MEMPAGER_MSG_DATA_REQUEST, mo, c, offset, length, access);
}

static kern_return_t r_data_unlock(memory_object_t mo,
				   memory_object_control_t c,
				   vm_offset_t offset, vm_size_t length,
				   vm_prot_t access)
{
	return rec(MEMPAGER_MSG_DATA_UNLOCK, mo, c, offset, length, access);
}

static kern_return_t r_data_return(memory_object_t mo,
				   memory_object_control_t c,
				   vm_offset_t offset, const void *data,
				   vm_size_t count, boolean_t dirty,
				   boolean_t kernel_copy)
{
	seen.first_byte = *(const unsigned char *)data;
	return rec(MEMPAGER_MSG_DATA_RETURN, mo, c, offset, count,
		   dirty << 1 | kernel_copy);
}

static kern_return_t r_lock_completed(memory_object_t mo,
				      memory_object_control_t c,
				      vm_offset_t offset, vm_size_t length)
{
	return rec(MEMPAGER_MSG_LOCK_COMPLETED, mo, c, offset, length, 0);
}

static kern_return_t r_supply_completed(memory_object_t mo,
					memory_object_control_t c,
					vm_offset_t offset, vm_size_t length,
					kern_return_t result,
					vm_offset_t error_offset)
{
	return rec(MEMPAGER_MSG_SUPPLY_COMPLETED, mo, c, offset, length,
		   (uint64_t)result << 32 | error_offset);
}

static kern_return_t r_change_completed(memory_object_t mo,
					boolean_t may_cache,
					memory_object_copy_strategy_t strategy)
{
	memory_object_control_t none = { 0 };

	return rec(MEMPAGER_MSG_CHANGE_COMPLETED, mo, none, may_cache,
		   strategy, 0);
}

static kern_return_t r_terminate(memory_object_t mo, memory_object_control_t c)
{
	return rec(MEMPAGER_MSG_TERMINATE, mo, c, 0, 0, 0);
}

static kern_return_t r_synchronize(memory_object_t mo,
				   memory_object_control_t c,
				   vm_offset_t offset, vm_size_t length,
				   vm_sync_t flags)
{
	return rec(MEMPAGER_MSG_SYNCHRONIZE, mo, c, offset, length, flags);
}

static kern_return_t r_copy(memory_object_t mo, memory_object_control_t c,
			    vm_offset_t offset, vm_size_t length,
			    memory_object_t new_mo)
{
	seen.other = new_mo;
	return rec(MEMPAGER_MSG_COPY, mo, c, offset, length, new_mo.object);
}

static kern_return_t r_create(memory_object_t dm, memory_object_t new_mo,
			      vm_size_t size, memory_object_control_t c,
			      memory_object_name_t name, vm_size_t page_size)
{
	seen.other = dm;
	seen.d = page_size;
	return rec(MEMPAGER_MSG_CREATE, new_mo, c, size, name, 0);
}

static kern_return_t r_data_initialize(memory_object_t mo,
				       memory_object_control_t c,
				       vm_offset_t offset, const void *data,
				       vm_size_t count)
{
	seen.first_byte = *(const unsigned char *)data;
	return rec(MEMPAGER_MSG_DATA_INITIALIZE, mo, c, offset, count, 0);
}

static const struct memory_object_routines recorder = {
	.init = r_init,
	.data_request = r_data_request,
	.data_unlock = r_data_unlock,
	.data_return = r_data_return,
	.lock_completed = r_lock_completed,
	.supply_completed = r_supply_completed,
	.change_completed = r_change_completed,
	.terminate = r_terminate,
	.synchronize = r_synchronize,
	.copy = r_copy,
	.create = r_create,
	.data_initialize = r_data_initialize,
};

static kern_return_t s_data_request(memory_object_t mo, mach_port_seqno_t seq,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	seen.seqno = seq;
	return r_data_request(mo, c, offset, length, access);
}

static kern_return_t s_data_unlock(memory_object_t mo, mach_port_seqno_t seq,
				   memory_object_control_t c,
				   vm_offset_t offset, vm_size_t length,
				   vm_prot_t access)
{
	seen.seqno = seq;
	return r_data_unlock(mo, c, offset, length, access);
}

static kern_return_t s_terminate(memory_object_t mo, mach_port_seqno_t seq,
				 memory_object_control_t c)
{
	seen.seqno = seq;
	return r_terminate(mo, c);
}

static kern_return_t s_copy(memory_object_t mo, mach_port_seqno_t seq,
			    memory_object_control_t c, vm_offset_t offset,
			    vm_size_t length, memory_object_t new_mo)
{
	seen.seqno = seq;
	return r_copy(mo, c, offset, length, new_mo);
}

static kern_return_t s_create(memory_object_t dm, mach_port_seqno_t seq,
			      memory_object_t new_mo, vm_size_t size,
			      memory_object_control_t c,
			      memory_object_name_t name, vm_size_t page_size)
{
	seen.seqno = seq;
	return r_create(dm, new_mo, size, c, name, page_size);
}

static kern_return_t s_data_initialize(memory_object_t mo,
				       mach_port_seqno_t seq,
				       memory_object_control_t c,
				       vm_offset_t offset, const void *data,
				       vm_size_t count)
{
	seen.seqno = seq;
	return r_data_initialize(mo, c, offset, data, count);
}

static const struct seqnos_memory_object_routines seqnos_recorder = {
	.data_request = s_data_request,
	.data_unlock = s_data_unlock,
	.terminate = s_terminate,
	.copy = s_copy,
	.create = s_create,
	.data_initialize = s_data_initialize,
};

/* A message as the kernel would send it; fd 1000 is not open. */
#define FAKE_FD 1000

static struct mempager_msg fake(int type, uint64_t control, uint64_t seqno)
{
	struct mempager_msg m = {
		.type = type, .object = 3, .seqno = seqno, .control = control,
	};

	/* offset 0x2000, length 0x1000; access READ, dirty, no copy. */
	m.raw[0] = 0x2000;
	m.raw[1] = 0x1000;
	m.raw[2] = 1;
	return m;
}

TEST(errno_to_kern_return)
{
	EXPECT_EQ(KERN_SUCCESS, mempager_kern_return(0));
	EXPECT_EQ(KERN_INVALID_ADDRESS, mempager_kern_return(EFAULT));
	EXPECT_EQ(KERN_PROTECTION_FAILURE, mempager_kern_return(EACCES));
	EXPECT_EQ(KERN_PROTECTION_FAILURE, mempager_kern_return(EPERM));
	EXPECT_EQ(KERN_INVALID_ARGUMENT, mempager_kern_return(EINVAL));
	EXPECT_EQ(KERN_INVALID_ARGUMENT, mempager_kern_return(E2BIG));
	EXPECT_EQ(KERN_INVALID_ARGUMENT, mempager_kern_return(EOVERFLOW));
	EXPECT_EQ(KERN_INVALID_NAME, mempager_kern_return(ENOENT));
	EXPECT_EQ(KERN_INVALID_NAME, mempager_kern_return(EBADF));
	EXPECT_EQ(KERN_RESOURCE_SHORTAGE, mempager_kern_return(ENOMEM));
	EXPECT_EQ(KERN_NOT_SUPPORTED, mempager_kern_return(EOPNOTSUPP));
	EXPECT_EQ(KERN_NOT_SUPPORTED, mempager_kern_return(ENOTTY));
	EXPECT_EQ(KERN_FAILURE, mempager_kern_return(EIO));
	EXPECT_STREQ("KERN_SUCCESS", mach_error_string(KERN_SUCCESS));
	EXPECT_STREQ("KERN_MEMORY_PRESENT",
		     mach_error_string(KERN_MEMORY_PRESENT));
	EXPECT_STREQ("MIG_BAD_ID", mach_error_string(MIG_BAD_ID));
}

/* A call's errno reaches the caller as kern_return_t, errno kept. */
TEST(call_errors_map)
{
	memory_object_control_t bad = { .fd = FAKE_FD, .object = 1 };
	int mfd = mempager_open();

	ASSERT_GE(mfd, 0);
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_ready(bad, 0, 0));
	EXPECT_EQ(EBADF, errno);
	bad.fd = mfd;
	EXPECT_EQ(KERN_INVALID_NAME,
		  memory_object_data_unavailable(bad, 0, PS));
	EXPECT_EQ(ENOENT, errno);
	close(mfd);
}

TEST(msg_format_and_data)
{
	struct mempager_msg m = fake(MEMPAGER_MSG_DATA_REQUEST, 7, 3);
	char data[64] = { [0x20] = 'x' };
	char line[128];

	m.request.desired_access = VM_PROT_READ;
	mempager_msg_format(&m, line, sizeof(line));
	EXPECT_STREQ("data_request obj=3 seq=3 offset=0x2000 len=4096 access=R",
		     line);
	EXPECT_EQ(NULL, mempager_msg_data(&m, data));
	m = fake(MEMPAGER_MSG_DATA_RETURN, 7, 4);
	m.data_return.data_offset = 0x20;
	EXPECT_EQ(&data[0x20], mempager_msg_data(&m, data));
	EXPECT_EQ(NULL, mempager_msg_data(&m, NULL));
	m.type = MEMPAGER_MSG_DATA_INITIALIZE;
	EXPECT_EQ(&data[0x20], mempager_msg_data(&m, data));
	EXPECT_EQ(NULL, mempager_msg_data(&m, NULL));
	mempager_msg_format(&m, line, sizeof(line));
	EXPECT_STREQ("data_initialize obj=3 seq=4 offset=0x2000 len=4096",
		     line);
	m = fake(MEMPAGER_MSG_COPY, 7, 5);
	m.copy.new_name = 77;
	m.copy.new_object = 4;
	mempager_msg_format(&m, line, sizeof(line));
	EXPECT_STREQ("copy obj=3 seq=5 offset=0x2000 len=4096 new_obj=4 new_name=77",
		     line);
	m = fake(MEMPAGER_MSG_CREATE, 7, 1);
	m.create.size = 0x10000;
	m.create.name = 78;
	m.create.page_size = 4096;
	mempager_msg_format(&m, line, sizeof(line));
	EXPECT_STREQ("create obj=3 seq=1 control=7 name=78 size=65536 page_size=4096",
		     line);
}

/* Each message type reaches its routine with its arguments. */
TEST(server_dispatches_each_type)
{
	static const int types[] = {
		MEMPAGER_MSG_INIT, MEMPAGER_MSG_DATA_REQUEST,
		MEMPAGER_MSG_DATA_UNLOCK, MEMPAGER_MSG_DATA_RETURN,
		MEMPAGER_MSG_LOCK_COMPLETED, MEMPAGER_MSG_SUPPLY_COMPLETED,
		MEMPAGER_MSG_CHANGE_COMPLETED, MEMPAGER_MSG_TERMINATE,
		MEMPAGER_MSG_SYNCHRONIZE,
	};
	unsigned char data[16] = { [8] = 0xab };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct mempager_msg m = fake(types[i], 11, i + 1);

		m.data_return.data_offset = 8;
		seen_reset(KERN_SUCCESS);
		EXPECT_EQ(KERN_SUCCESS,
			  memory_object_server(FAKE_FD, &m, data, &recorder));
		EXPECT_EQ(1, seen.calls);
		EXPECT_EQ(types[i], seen.type);
		EXPECT_EQ(FAKE_FD, seen.mo.fd);
		EXPECT_EQ(3, seen.mo.object);
		if (types[i] != MEMPAGER_MSG_CHANGE_COMPLETED) {
			EXPECT_EQ(11, seen.control.control);
			EXPECT_EQ(3, seen.control.object);
		}
	}
	/* Arguments of the ones with the most. */
	{
		struct mempager_msg m = fake(MEMPAGER_MSG_DATA_RETURN, 11, 1);

		m.data_return.data_offset = 8;
		seen_reset(KERN_SUCCESS);
		memory_object_server(FAKE_FD, &m, data, &recorder);
		EXPECT_EQ(0x2000, seen.a);
		EXPECT_EQ(0x1000, seen.b);
		EXPECT_EQ(1 << 1 | 0, seen.c);	/* dirty, no kernel copy */
		EXPECT_EQ(0xab, seen.first_byte);
		m = fake(MEMPAGER_MSG_SUPPLY_COMPLETED, 11, 2);
		m.supply.result = KERN_MEMORY_PRESENT;
		m.supply.error_offset = 0x3000;
		memory_object_server(FAKE_FD, &m, NULL, &recorder);
		EXPECT_EQ((uint64_t)KERN_MEMORY_PRESENT << 32 | 0x3000,
			  seen.c);
	}
}

TEST(seqnos_server_passes_seqno)
{
	struct mempager_msg m = fake(MEMPAGER_MSG_DATA_REQUEST, 12, 41);

	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS,
		  seqnos_memory_object_server(FAKE_FD, &m, NULL,
					      &seqnos_recorder));
	EXPECT_EQ(MEMPAGER_MSG_DATA_REQUEST, seen.type);
	EXPECT_EQ(41, seen.seqno);
	EXPECT_EQ(0x2000, seen.a);
	EXPECT_EQ(1, seen.c);
	/* A routine the pager left NULL is not handled. */
	m = fake(MEMPAGER_MSG_INIT, 12, 42);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(MIG_BAD_ID, seqnos_memory_object_server(FAKE_FD, &m, NULL,
							  &seqnos_recorder));
	EXPECT_EQ(0, seen.calls);
	m = fake(99, 12, 43);
	EXPECT_EQ(MIG_BAD_ID, memory_object_server(FAKE_FD, &m, NULL,
						   &recorder));
	EXPECT_EQ(0, seen.calls);
}

/* memory_object_copy: the range and the new object, with the seqno. */
TEST(server_dispatches_copy)
{
	struct mempager_msg m = fake(MEMPAGER_MSG_COPY, 15, 6);

	m.copy.new_object = 9;
	m.copy.new_name = 1234;
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(FAKE_FD, &m, NULL,
						     &recorder));
	EXPECT_EQ(1, seen.calls);
	EXPECT_EQ(MEMPAGER_MSG_COPY, seen.type);
	EXPECT_EQ(3, seen.mo.object);
	EXPECT_EQ(15, seen.control.control);
	EXPECT_EQ(0x2000, seen.a);
	EXPECT_EQ(0x1000, seen.b);
	EXPECT_EQ(FAKE_FD, seen.other.fd);
	EXPECT_EQ(9, seen.other.object);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS,
		  seqnos_memory_object_server(FAKE_FD, &m, NULL,
					      &seqnos_recorder));
	EXPECT_EQ(6, seen.seqno);
	EXPECT_EQ(9, seen.other.object);
	/* Not the default manager's; create and initialize not a pager's. */
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(MIG_BAD_ID, memory_object_default_server(FAKE_FD, &m, NULL,
							   &recorder));
	m = fake(MEMPAGER_MSG_CREATE, 15, 1);
	EXPECT_EQ(MIG_BAD_ID, memory_object_server(FAKE_FD, &m, NULL,
						   &recorder));
	m = fake(MEMPAGER_MSG_DATA_INITIALIZE, 15, 2);
	EXPECT_EQ(MIG_BAD_ID, seqnos_memory_object_server(FAKE_FD, &m, NULL,
							  &seqnos_recorder));
	EXPECT_EQ(0, seen.calls);
}

/* memory_object_create and memory_object_data_initialize, with the data. */
TEST(default_server_dispatches_create_and_initialize)
{
	unsigned char data[16] = { [4] = 0xcd };
	struct mempager_msg m = fake(MEMPAGER_MSG_CREATE, 16, 1);

	m.create.size = 0x40000;
	m.create.name = 4321;
	m.create.page_size = 4096;
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_default_server(FAKE_FD, &m, NULL,
							     &recorder));
	EXPECT_EQ(MEMPAGER_MSG_CREATE, seen.type);
	EXPECT_EQ(FAKE_FD, seen.other.fd);
	EXPECT_EQ(0, seen.other.object);
	EXPECT_EQ(FAKE_FD, seen.mo.fd);
	EXPECT_EQ(3, seen.mo.object);
	EXPECT_EQ(16, seen.control.control);
	EXPECT_EQ(3, seen.control.object);
	EXPECT_EQ(0x40000, seen.a);
	EXPECT_EQ(4321, seen.b);
	EXPECT_EQ(4096, seen.d);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS,
		  seqnos_memory_object_default_server(FAKE_FD, &m, NULL,
						      &seqnos_recorder));
	EXPECT_EQ(1, seen.seqno);
	EXPECT_EQ(4321, seen.b);

	m = fake(MEMPAGER_MSG_DATA_INITIALIZE, 16, 2);
	m.data_return.data_offset = 4;
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_default_server(FAKE_FD, &m, data,
							     &recorder));
	EXPECT_EQ(MEMPAGER_MSG_DATA_INITIALIZE, seen.type);
	EXPECT_EQ(3, seen.mo.object);
	EXPECT_EQ(16, seen.control.control);
	EXPECT_EQ(0x2000, seen.a);
	EXPECT_EQ(0x1000, seen.b);
	EXPECT_EQ(0xcd, seen.first_byte);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS,
		  seqnos_memory_object_default_server(FAKE_FD, &m, data,
						      &seqnos_recorder));
	EXPECT_EQ(2, seen.seqno);
	EXPECT_EQ(0xcd, seen.first_byte);
	/* Without the data buffer nothing is called, nothing dropped. */
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_INVALID_ARGUMENT,
		  memory_object_default_server(FAKE_FD, &m, NULL, &recorder));
	EXPECT_EQ(0, seen.calls);
	EXPECT_EQ(KERN_SUCCESS, memory_object_default_server(FAKE_FD, &m, data,
							     &recorder));
	EXPECT_EQ(1, seen.calls);
}

TEST(default_server_takes_only_default_messages)
{
	static const int refused[] = {
		MEMPAGER_MSG_DATA_UNLOCK, MEMPAGER_MSG_LOCK_COMPLETED,
		MEMPAGER_MSG_SUPPLY_COMPLETED, MEMPAGER_MSG_COPY,
	};
	struct mempager_msg m;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		m = fake(refused[i], 13, i + 1);
		seen_reset(KERN_SUCCESS);
		EXPECT_EQ(MIG_BAD_ID,
			  memory_object_default_server(FAKE_FD, &m, NULL,
						       &recorder));
		EXPECT_EQ(MIG_BAD_ID,
			  seqnos_memory_object_default_server(FAKE_FD, &m,
						NULL, &seqnos_recorder));
		EXPECT_EQ(0, seen.calls);
	}
	m = fake(MEMPAGER_MSG_DATA_REQUEST, 13, 9);
	EXPECT_EQ(KERN_SUCCESS, memory_object_default_server(FAKE_FD, &m, NULL,
							     &recorder));
	EXPECT_EQ(1, seen.calls);
	EXPECT_EQ(KERN_SUCCESS,
		  seqnos_memory_object_default_server(FAKE_FD, &m, NULL,
						      &seqnos_recorder));
	EXPECT_EQ(9, seen.seqno);
}

/* Without a synchronize routine the library answers msync itself. */
TEST(server_answers_synchronize_by_default)
{
	static const struct memory_object_routines none = { 0 };
	struct mempager_msg m = fake(MEMPAGER_MSG_SYNCHRONIZE, 14, 1);
	int p[2];

	/* Not a mempager fd: the call is made and fails with ENOTTY. */
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(KERN_NOT_SUPPORTED, memory_object_server(p[0], &m, NULL,
							   &none));
	EXPECT_EQ(ENOTTY, errno);
	close(p[0]);
	close(p[1]);
}

/* A failing routine drops its control: later messages are discarded. */
TEST(failing_routine_drops_control)
{
	struct mempager_msg m = fake(MEMPAGER_MSG_DATA_REQUEST, 1u << 30, 1);

	seen_reset(KERN_FAILURE);
	EXPECT_EQ(KERN_FAILURE, memory_object_server(FAKE_FD, &m, NULL,
						     &recorder));
	EXPECT_EQ(1, seen.calls);
	seen_reset(KERN_SUCCESS);
	m.seqno = 2;
	EXPECT_EQ(KERN_INVALID_CAPABILITY,
		  memory_object_server(FAKE_FD, &m, NULL, &recorder));
	EXPECT_EQ(0, seen.calls);
	/* MIG_NO_REPLY drops nothing; terminate still arrives and ends it. */
	m = fake(MEMPAGER_MSG_TERMINATE, 1u << 30, 3);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(FAKE_FD, &m, NULL,
						     &recorder));
	EXPECT_EQ(1, seen.calls);
	m = fake(MEMPAGER_MSG_DATA_REQUEST, (1u << 30) + 1, 1);
	seen_reset(MIG_NO_REPLY);
	EXPECT_EQ(MIG_NO_REPLY, memory_object_server(FAKE_FD, &m, NULL,
						     &recorder));
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(FAKE_FD, &m, NULL,
						     &recorder));
	EXPECT_EQ(1, seen.calls);
}

FIXTURE(obj) {
	struct tpager tp;
	unsigned char *p;
};

FIXTURE_SETUP(obj)
{
	struct mempager_msg m;

	ASSERT_EQ(0, tp_create(&self->tp, NPAGES, 0600));
	self->p = tp_map(self->tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	self->tp.ctl = mempager_msg_control(self->tp.mfd, &m);
}

FIXTURE_TEARDOWN(obj)
{
	munmap(self->p, NPAGES * PS);
	tp_destroy(&self->tp);
}

/* The library's calls that work on today's kernel, each once. */
TEST_F(obj, basic_calls)
{
	uint64_t name, start, end, offset;
	boolean_t ready, may_cache;
	int strategy, ofd, bfd;
	struct mempager_msg m;

	EXPECT_TRUE(mempager_has_ioctl(self->tp.mfd, MEMPAGER_CMD_API));
	EXPECT_FALSE(mempager_has_ioctl(self->tp.mfd, 63));
	ASSERT_EQ(KERN_SUCCESS, memory_object_change_attributes(self->tp.ctl,
					1, MEMORY_OBJECT_COPY_DELAY, 1));
	ASSERT_EQ(1, mempager_receive(self->tp.mfd, &m, 1));
	EXPECT_EQ(MEMPAGER_MSG_CHANGE_COMPLETED, m.type);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 1,
					MEMORY_OBJECT_COPY_NONE));
	ASSERT_EQ(KERN_SUCCESS, memory_object_get_attributes(self->tp.ctl,
					&ready, &may_cache, &strategy));
	EXPECT_EQ(1, ready);
	EXPECT_EQ(1, may_cache);
	EXPECT_EQ(MEMORY_OBJECT_COPY_NONE, strategy);
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 0, 1, 0));
	EXPECT_EQ(0, tp_check(self->p, 0, 1));
	EXPECT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(self->tp.ctl, PS, PS));
	EXPECT_EQ(KERN_SUCCESS,
		  memory_object_data_error(self->tp.ctl, PS, PS, 0));
	ASSERT_EQ(KERN_SUCCESS, mempager_region(self->tp.mfd, self->p + PS,
						&name, &start, &end, &offset));
	EXPECT_EQ(self->tp.name, name);
	EXPECT_EQ((uintptr_t)self->p, start);
	EXPECT_EQ(0, offset);
	ASSERT_EQ(KERN_SUCCESS, mempager_object_open(self->tp.mfd,
						     self->tp.name, 1, &ofd));
	bfd = mempager_open();
	ASSERT_GE(bfd, 0);
	EXPECT_EQ(KERN_SUCCESS, mempager_object_bind(bfd, ofd));
	close(bfd);
	close(ofd);
	EXPECT_EQ(KERN_SUCCESS, memory_object_destroy(self->tp.ctl, 0));
	ASSERT_EQ(1, tp_next(self->tp.mfd, &m, TP_TIMEOUT_MS));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
}

/* MEMPAGER_RECEIVE is there exactly when the handshake says so. */
TEST_F(obj, receive_data_matches_handshake)
{
	struct mempager_msg m;
	char data[64];
	int n;

	ASSERT_EQ(0, fcntl(self->tp.mfd, F_SETFL, O_NONBLOCK));
	n = mempager_receive_data(self->tp.mfd, &m, 1, data, sizeof(data));
	if (mempager_has_ioctl(self->tp.mfd, MEMPAGER_CMD_RECEIVE)) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EAGAIN, errno);
	} else {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(ENOTTY, errno);
	}
	EXPECT_EQ(-1, mempager_receive_data(self->tp.mfd, &m, 0, data,
					    sizeof(data)));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Receive until a message of @type, one at a time so that none after it is
 * lost; the routines see every one.
 */
static int serve_until(int mfd, int type,
		       const struct memory_object_routines *r,
		       void *data, size_t size)
{
	struct pollfd p = { .fd = mfd, .events = POLLIN };
	struct mempager_msg m;

	do {
		if (poll(&p, 1, TP_TIMEOUT_MS) <= 0 ||
		    mempager_receive_data(mfd, &m, 1, data, size) != 1)
			return -1;
		memory_object_server(mfd, &m, data, r);
	} while ((int)m.type != type);
	return 0;
}

/* Needs the kernel's lock_request, data_return and MEMPAGER_RECEIVE. */
TEST_F(obj, lock_request_returns_dirty_page)
{
	static char data[NPAGES * 4096 * 4];

	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0,
					MEMORY_OBJECT_COPY_DELAY));
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 2, 1, 0));
	self->p[2 * PS] = 0x77;
	ASSERT_EQ(KERN_SUCCESS, memory_object_lock_request(self->tp.ctl,
					2 * PS, PS, MEMORY_OBJECT_RETURN_DIRTY,
					1, VM_PROT_NO_CHANGE, 1))
		TH_LOG("lock_request: %s", strerror(errno));
	seen_reset(KERN_SUCCESS);
	ASSERT_EQ(0, serve_until(self->tp.mfd, MEMPAGER_MSG_DATA_RETURN,
				 &recorder, data, sizeof(data)));
	EXPECT_EQ(2 * PS, seen.a);
	EXPECT_EQ(PS, seen.b);
	EXPECT_EQ(1 << 1 | 0, seen.c);	/* dirty, flushed */
	EXPECT_EQ(0x77, seen.first_byte);
	ASSERT_EQ(0, serve_until(self->tp.mfd, MEMPAGER_MSG_LOCK_COMPLETED,
				 &recorder, data, sizeof(data)));
	EXPECT_EQ(2 * PS, seen.a);
	EXPECT_EQ(PS, seen.b);
}

struct syncer {
	void *addr;
	int ret;
	int err;
};

static void *msync_thread(void *arg)
{
	struct syncer *s = arg;

	s->ret = msync(s->addr, PS, MS_SYNC);
	s->err = errno;
	return NULL;
}

/*
 * msync: data_return, then synchronize, which the server answers with
 * memory_object_synchronize_completed() (no routine: the default). Needs
 * the kernel's synchronize and MEMPAGER_RECEIVE.
 */
TEST_F(obj, msync_served_by_default_synchronize)
{
	static char data[NPAGES * 4096 * 4];
	struct memory_object_routines r = recorder;
	struct syncer s = { .addr = self->p + 3 * PS };
	pthread_t th;

	r.synchronize = NULL;
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0,
					MEMORY_OBJECT_COPY_DELAY));
	ASSERT_EQ(KERN_SUCCESS, tp_supply(&self->tp, 3, 1, 0));
	self->p[3 * PS] = 0x42;
	ASSERT_EQ(0, pthread_create(&th, NULL, msync_thread, &s));
	seen_reset(KERN_SUCCESS);
	ASSERT_EQ(0, serve_until(self->tp.mfd, MEMPAGER_MSG_DATA_RETURN, &r,
				 data, sizeof(data)));
	EXPECT_EQ(0x42, seen.first_byte);
	EXPECT_EQ(1 << 1 | 1, seen.c);	/* dirty, kernel kept a copy */
	ASSERT_EQ(0, serve_until(self->tp.mfd, MEMPAGER_MSG_SYNCHRONIZE, &r,
				 data, sizeof(data)));
	pthread_join(th, NULL);
	EXPECT_EQ(0, s.ret) TH_LOG("msync: %s", strerror(s.err));
	/* A second answer finds no msync waiting. */
	EXPECT_EQ(KERN_INVALID_NAME, memory_object_synchronize_completed(
					self->tp.ctl, 3 * PS, PS));
}

static kern_return_t unlock_grants(memory_object_t mo,
				   memory_object_control_t c,
				   vm_offset_t offset, vm_size_t length,
				   vm_prot_t access)
{
	rec(MEMPAGER_MSG_DATA_UNLOCK, mo, c, offset, length, access);
	return memory_object_lock_request(c, offset, length,
					  MEMORY_OBJECT_RETURN_NONE, 0,
					  VM_PROT_NONE, 0);
}

/* A write to a write-locked page: data_unlock, granted by lock_request. */
TEST_F(obj, data_unlock_served)
{
	struct memory_object_routines r = recorder;
	char *buf = malloc(PS);
	pid_t pid;

	r.data_unlock = unlock_grants;
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(self->tp.ctl, 0,
					MEMORY_OBJECT_COPY_DELAY));
	tp_fill(buf, 4, 1);
	ASSERT_EQ(KERN_SUCCESS, memory_object_data_supply(self->tp.ctl,
					4 * PS, buf, PS, VM_PROT_WRITE, 0, 0));
	free(buf);
	pid = tp_touch_child(self->p + 4 * PS, 1, 0x99);
	seen_reset(KERN_SUCCESS);
	ASSERT_EQ(0, serve_until(self->tp.mfd, MEMPAGER_MSG_DATA_UNLOCK, &r,
				 NULL, 0));
	EXPECT_EQ(4 * PS, seen.a);
	EXPECT_EQ(VM_PROT_READ | VM_PROT_WRITE, seen.c);
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
}

static kern_return_t init_refuses(memory_object_t mo, memory_object_control_t c,
				  memory_object_name_t name, vm_size_t ps)
{
	rec(MEMPAGER_MSG_INIT, mo, c, name, ps, 0);
	return KERN_FAILURE;
}

/* Dropping a control destroys it: faults fail, terminate still comes. */
TEST(dropped_control_is_destroyed)
{
	struct memory_object_routines r = recorder;
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p;
	pid_t pid;

	r.init = init_refuses;
	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	pid = tp_touch_child(p, 0, 0);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_FAILURE, memory_object_server(tp.mfd, &m, NULL, &r));
	EXPECT_TRUE(tp_sigbus(tp_wait(pid, TP_TIMEOUT_MS)));
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_TERMINATE, m.type);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(tp.mfd, &m, NULL, &r));
	EXPECT_EQ(MEMPAGER_MSG_TERMINATE, seen.type);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/*
 * A COPY_CALL object mapped MAP_PRIVATE: the server calls the pager's
 * copy routine with the range and the new object, whose init follows;
 * the copy's data_request reaches the routines under the new handle.
 */
TEST(copy_call_served)
{
	memory_object_control_t cctl;
	struct mempager_msg m;
	struct tpager tp;
	unsigned char *p, *q;
	uint32_t copy_handle;
	size_t i;
	pid_t pid;

	ASSERT_EQ(0, tp_create(&tp, NPAGES, 0600));
	p = tp_map(tp.ofd, NPAGES, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	tp.ctl = mempager_msg_control(tp.mfd, &m);
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(tp.ctl, 0,
						    MEMORY_OBJECT_COPY_CALL));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(KERN_SUCCESS, tp_supply(&tp, i, 1, 0));

	q = mmap(NULL, NPAGES * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 tp.ofd, 0);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_COPY, m.type);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(tp.mfd, &m, NULL,
						     &recorder));
	ASSERT_EQ(1, seen.calls);
	ASSERT_EQ(MEMPAGER_MSG_COPY, seen.type);
	EXPECT_EQ(tp.mfd, seen.mo.fd);
	EXPECT_EQ(tp.ctl.object, seen.mo.object);
	EXPECT_EQ(tp.ctl.control, seen.control.control);
	EXPECT_EQ(0, seen.a);
	EXPECT_EQ(NPAGES * PS, seen.b);
	EXPECT_EQ(tp.mfd, seen.other.fd);
	copy_handle = seen.other.object;
	EXPECT_EQ(m.copy.new_object, copy_handle);
	EXPECT_NE(0, copy_handle);
	EXPECT_NE(tp.ctl.object, copy_handle);

	/* The new object's init follows, under the handle copy was given. */
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	ASSERT_EQ(MEMPAGER_MSG_INIT, m.type);
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(tp.mfd, &m, NULL,
						     &recorder));
	ASSERT_EQ(MEMPAGER_MSG_INIT, seen.type);
	EXPECT_EQ(copy_handle, seen.mo.object);
	EXPECT_EQ(copy_handle, seen.control.object);
	EXPECT_NE(tp.ctl.control, seen.control.control);
	EXPECT_EQ(PS, seen.b);
	cctl = seen.control;
	ASSERT_EQ(KERN_SUCCESS, memory_object_ready(cctl, 0,
						    MEMORY_OBJECT_COPY_DELAY));

	/* The copy's page: asked for under the new handle. */
	pid = tp_touch_child(q + PS, 0, tp_byte(1, 0, 1));
	ASSERT_EQ(1, tp_next(tp.mfd, &m, TP_TIMEOUT_MS));
	seen_reset(KERN_SUCCESS);
	EXPECT_EQ(KERN_SUCCESS, memory_object_server(tp.mfd, &m, NULL,
						     &recorder));
	ASSERT_EQ(MEMPAGER_MSG_DATA_REQUEST, seen.type);
	EXPECT_EQ(copy_handle, seen.mo.object);
	EXPECT_EQ(PS, seen.a);
	/* data_unavailable on the copy: the original's page. */
	ASSERT_EQ(KERN_SUCCESS,
		  memory_object_data_unavailable(cctl, PS, PS));
	EXPECT_TRUE(tp_exited_ok(tp_wait(pid, TP_TIMEOUT_MS)));
	munmap(q, NPAGES * PS);
	munmap(p, NPAGES * PS);
	tp_destroy(&tp);
}

/* A default manager built on memory_object_default_server(). */
#define DM_PAGES	4096	/* 16 MiB: well over 1% of the guest's RAM */
#define DM_UNWRITTEN	16	/* the last pages, never written */
#define DM_BATCH	64
#define DM_DATA		(DM_BATCH * 16 * 4096)

static struct {
	int fd;
	atomic_int stop;
	unsigned char *store, *held;
	memory_object_t manager, object;
	memory_object_control_t ctl;
	uint64_t size, name, page_size;
	long creates, inits, inits_bad, returns, requests, terminates;
	long errors;
} dsv;

/* Each written page holds one word, at an offset of its own. */
static size_t dsv_pos(size_t pg)
{
	return (pg * 8) % (PS / 2);
}

static uint64_t dsv_word(size_t pg)
{
	return (uint64_t)pg << 32 ^ 0x5a5a1234;
}

static kern_return_t d_create(memory_object_t dm, memory_object_t new_mo,
			      vm_size_t size, memory_object_control_t c,
			      memory_object_name_t name, vm_size_t page_size)
{
	dsv.creates++;
	dsv.manager = dm;
	dsv.object = new_mo;
	dsv.ctl = c;
	dsv.size = size;
	dsv.name = name;
	dsv.page_size = page_size;
	return KERN_SUCCESS;
}

/* Keep the pages; data_initialize of a page held already is ignored. */
static void d_store(memory_object_t mo, vm_offset_t offset,
		    const unsigned char *data, vm_size_t count, int init)
{
	size_t pg = offset / PS, n = count / PS, i;
	uint64_t word, zero;

	if (mo.object != dsv.object.object || pg + n > DM_PAGES) {
		dsv.errors++;
		return;
	}
	for (i = 0; i < n; i++, pg++) {
		const unsigned char *page = data + i * PS;

		if (init) {
			dsv.inits++;
			memcpy(&word, page + dsv_pos(pg), 8);
			memcpy(&zero, page + dsv_pos(pg) + PS / 2, 8);
			if (word != dsv_word(pg) || zero)
				dsv.inits_bad++;
			if (dsv.held[pg])
				continue;
		} else {
			dsv.returns++;
		}
		memcpy(dsv.store + pg * PS, page, PS);
		dsv.held[pg] = 1;
	}
}

static kern_return_t d_data_initialize(memory_object_t mo,
				       memory_object_control_t c,
				       vm_offset_t offset, const void *data,
				       vm_size_t count)
{
	(void)c;
	d_store(mo, offset, data, count, 1);
	return KERN_SUCCESS;
}

static kern_return_t d_data_return(memory_object_t mo,
				   memory_object_control_t c,
				   vm_offset_t offset, const void *data,
				   vm_size_t count, boolean_t dirty,
				   boolean_t kernel_copy)
{
	(void)c;
	(void)dirty;
	(void)kernel_copy;
	d_store(mo, offset, data, count, 0);
	return KERN_SUCCESS;
}

static kern_return_t d_data_request(memory_object_t mo,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	size_t pg, end = (offset + length) / PS;

	(void)access;
	if (mo.object != dsv.object.object || end > DM_PAGES) {
		dsv.errors++;
		return KERN_SUCCESS;
	}
	for (pg = offset / PS; pg < end; pg++) {
		dsv.requests++;
		if (dsv.held[pg] ?
		    memory_object_data_supply(c, pg * PS, dsv.store + pg * PS,
					      PS, 0, 0, 0) :
		    memory_object_data_unavailable(c, pg * PS, PS))
			dsv.errors++;
	}
	return KERN_SUCCESS;
}

static kern_return_t d_terminate(memory_object_t mo,
				 memory_object_control_t c)
{
	(void)c;
	if (mo.object != dsv.object.object)
		dsv.errors++;
	dsv.terminates++;
	return KERN_SUCCESS;
}

static const struct memory_object_routines dsv_routines = {
	.data_request = d_data_request,
	.data_return = d_data_return,
	.terminate = d_terminate,
	.create = d_create,
	.data_initialize = d_data_initialize,
};

static void *dsv_thread(void *arg)
{
	struct mempager_msg m[DM_BATCH];
	void *data = malloc(DM_DATA);
	int n, i;

	(void)arg;
	while (!atomic_load(&dsv.stop)) {
		struct pollfd p = { .fd = dsv.fd, .events = POLLIN };

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = mempager_receive_data(dsv.fd, m, DM_BATCH, data, DM_DATA);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			dsv.errors++;
		for (i = 0; i < n; i++)
			if (memory_object_default_server(dsv.fd, &m[i], data,
							 &dsv_routines))
				dsv.errors++;
	}
	free(data);
	return NULL;
}

FIXTURE(defmgr) {
	int unused;
};

FIXTURE_SETUP(defmgr)
{
}

FIXTURE_TEARDOWN(defmgr)
{
}

/*
 * Temporary memory under a low resident limit: memory_object_create and
 * memory_object_data_initialize (with the page data) reach the default
 * manager's routines; pages come back through data_request.
 */
TEST_F_TIMEOUT(defmgr, default_server_serves_create_and_initialize, 300)
{
	struct mempager_default_manager reg = { .size = sizeof(reg) };
	size_t pg, bad = 0;
	unsigned char *p;
	uint64_t word;
	pthread_t th;
	char old[16];
	int fd, ms;

	memset(&dsv, 0, sizeof(dsv));
	dsv.store = malloc(DM_PAGES * PS);
	dsv.held = calloc(DM_PAGES, 1);
	ASSERT_TRUE(dsv.store && dsv.held);
	dsv.fd = mempager_open();
	ASSERT_GE(dsv.fd, 0);
	ASSERT_EQ(0, ioctl(dsv.fd, MEMPAGER_SET_DEFAULT_MANAGER, &reg))
		TH_LOG("register: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&th, NULL, dsv_thread, NULL));

	fd = mempager_open();
	ASSERT_GE(fd, 0);
	p = mmap(NULL, DM_PAGES * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, tp_set_resident_percent("1\n", old, sizeof(old)));
	for (pg = 0; pg < DM_PAGES - DM_UNWRITTEN; pg++) {
		word = dsv_word(pg);
		memcpy(p + pg * PS + dsv_pos(pg), &word, 8);
	}
	/* Read back: paged-out pages come from the manager's store. */
	for (pg = 0; pg < DM_PAGES; pg++) {
		memcpy(&word, p + pg * PS + dsv_pos(pg), 8);
		bad += word != (pg < DM_PAGES - DM_UNWRITTEN ? dsv_word(pg) : 0);
	}
	tp_set_resident_percent(old, NULL, 0);
	EXPECT_EQ(0, bad);
	munmap(p, DM_PAGES * PS);
	close(fd);
	for (ms = 0; ms < TP_TIMEOUT_MS &&
	     !__atomic_load_n(&dsv.terminates, __ATOMIC_RELAXED); ms += 10)
		usleep(10000);
	atomic_store(&dsv.stop, 1);
	pthread_join(th, NULL);

	EXPECT_EQ(1, dsv.creates);
	EXPECT_EQ(dsv.fd, dsv.manager.fd);
	EXPECT_EQ(0, dsv.manager.object);
	EXPECT_EQ(dsv.fd, dsv.object.fd);
	EXPECT_NE(0, dsv.object.object);
	EXPECT_EQ(dsv.object.object, dsv.ctl.object);
	EXPECT_NE(0, dsv.ctl.control);
	EXPECT_EQ(DM_PAGES * PS, dsv.size);
	EXPECT_NE(0, dsv.name);
	EXPECT_EQ(PS, dsv.page_size);
	EXPECT_GT(dsv.inits, 0);
	EXPECT_EQ(0, dsv.inits_bad);
	EXPECT_GT(dsv.requests, 0);
	EXPECT_EQ(1, dsv.terminates);
	EXPECT_EQ(0, dsv.errors);
	TH_LOG("%ld data_initialize, %ld data_return pages, %ld requested",
	       dsv.inits, dsv.returns, dsv.requests);
	close(dsv.fd);
	free(dsv.store);
	free(dsv.held);
}

TEST(server_loop_arguments)
{
	EXPECT_EQ(-1, mempager_server_stop(FAKE_FD));
	EXPECT_EQ(ESRCH, errno);
	EXPECT_EQ(-1, mempager_server_loop(FAKE_FD, &recorder, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* The loop's bookkeeping, per object handle. */
#define LOOP_OBJS	3
#define LOOP_PAGES	24
#define LOOP_FAULTERS	2

static struct {
	atomic_int busy[LOOP_OBJS + 1];
	uint64_t last_seqno[LOOP_OBJS + 1];
	atomic_int overlaps, disorders, running, max_running;
	atomic_int terminated, requests;
	int mfd;
} lp;

static void loop_enter(memory_object_t mo, mach_port_seqno_t seqno)
{
	int now = atomic_fetch_add(&lp.running, 1) + 1;
	int max = atomic_load(&lp.max_running);

	while (now > max && !atomic_compare_exchange_weak(&lp.max_running,
							  &max, now))
		;
	if (atomic_exchange(&lp.busy[mo.object], 1))
		lp.overlaps++;
	if (seqno <= lp.last_seqno[mo.object])
		lp.disorders++;
	lp.last_seqno[mo.object] = seqno;
	/* Linger, so that other objects' messages run meanwhile. */
	usleep(2000);
}

static void loop_leave(memory_object_t mo)
{
	atomic_store(&lp.busy[mo.object], 0);
	atomic_fetch_sub(&lp.running, 1);
}

static kern_return_t l_init(memory_object_t mo, mach_port_seqno_t seqno,
			    memory_object_control_t c,
			    memory_object_name_t name, vm_size_t ps)
{
	kern_return_t kr;

	(void)name;
	(void)ps;
	loop_enter(mo, seqno);
	kr = memory_object_ready(c, 0, MEMORY_OBJECT_COPY_DELAY);
	loop_leave(mo);
	return kr;
}

static kern_return_t l_data_request(memory_object_t mo,
				    mach_port_seqno_t seqno,
				    memory_object_control_t c,
				    vm_offset_t offset, vm_size_t length,
				    vm_prot_t access)
{
	unsigned char *buf = malloc(length);
	kern_return_t kr;

	(void)access;
	loop_enter(mo, seqno);
	tp_fill(buf, offset / PS, mo.object);
	kr = memory_object_data_supply(c, offset, buf, length, 0, 0, 0);
	free(buf);
	lp.requests++;
	loop_leave(mo);
	return kr;
}

static kern_return_t l_terminate(memory_object_t mo, mach_port_seqno_t seqno,
				 memory_object_control_t c)
{
	(void)c;
	loop_enter(mo, seqno);
	loop_leave(mo);
	if (atomic_fetch_add(&lp.terminated, 1) + 1 == LOOP_OBJS)
		mempager_server_stop(mo.fd);
	return KERN_SUCCESS;
}

static const struct seqnos_memory_object_routines loop_routines = {
	.init = l_init,
	.data_request = l_data_request,
	.terminate = l_terminate,
};

static void *loop_thread(void *arg)
{
	int *ret = arg;

	*ret = seqnos_mempager_server_loop(lp.mfd, &loop_routines, 4);
	return NULL;
}

struct faulter {
	unsigned char *p;
	uint32_t object;
	int first;
	int bad;
};

static void *fault_thread(void *arg)
{
	struct faulter *f = arg;
	int i;

	for (i = f->first; i < LOOP_PAGES; i += LOOP_FAULTERS)
		if (tp_check(f->p + i * PS, i, f->object))
			f->bad++;
	return NULL;
}

/* Four threads, three objects: each object's messages one at a time. */
TEST(server_loop_keeps_object_order)
{
	struct faulter f[LOOP_OBJS][LOOP_FAULTERS];
	pthread_t th[LOOP_OBJS][LOOP_FAULTERS], loop;
	unsigned char *maps[LOOP_OBJS];
	int i, j, ofd, loop_ret = -1;
	uint32_t object;

	memset(&lp, 0, sizeof(lp));
	lp.mfd = mempager_open();
	ASSERT_GE(lp.mfd, 0);
	for (i = 0; i < LOOP_OBJS; i++) {
		ASSERT_EQ(KERN_SUCCESS,
			  mempager_object_create(lp.mfd, LOOP_PAGES * PS, 0600,
						 &object, &ofd, NULL));
		ASSERT_EQ(i + 1, object);
		maps[i] = tp_map(ofd, LOOP_PAGES, 0);
		ASSERT_NE(MAP_FAILED, maps[i]);
		close(ofd);
	}
	ASSERT_EQ(0, pthread_create(&loop, NULL, loop_thread, &loop_ret));
	for (i = 0; i < LOOP_OBJS; i++)
		for (j = 0; j < LOOP_FAULTERS; j++) {
			f[i][j] = (struct faulter){ maps[i], i + 1, j, 0 };
			ASSERT_EQ(0, pthread_create(&th[i][j], NULL,
						    fault_thread, &f[i][j]));
		}
	for (i = 0; i < LOOP_OBJS; i++) {
		for (j = 0; j < LOOP_FAULTERS; j++) {
			pthread_join(th[i][j], NULL);
			EXPECT_EQ(0, f[i][j].bad);
		}
		munmap(maps[i], LOOP_PAGES * PS);
	}
	pthread_join(loop, NULL);
	EXPECT_EQ(0, loop_ret);
	EXPECT_EQ(LOOP_OBJS, lp.terminated);
	EXPECT_EQ(LOOP_OBJS * LOOP_PAGES, lp.requests);
	EXPECT_EQ(0, lp.overlaps);
	EXPECT_EQ(0, lp.disorders);
	/* Different objects did run at the same time. */
	EXPECT_GE(lp.max_running, 2);
	close(lp.mfd);
}

TEST_HARNESS_MAIN
