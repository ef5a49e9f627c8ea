/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmempager's own interfaces between its files; not installed.
 */
#ifndef LIBMEMPAGER_INTERNAL_H
#define LIBMEMPAGER_INTERNAL_H

#include "libmempager.h"

#define MP_TYPE_BIT(t) (1u << (t))

/* What memory_object_server() of libmempager 0.1 takes (LIBMEMPAGER_0). */
#define MP_TYPES_V0							\
	(MP_TYPE_BIT(MEMPAGER_MSG_INIT) |				\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_REQUEST) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_SUPPLY_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_CHANGE_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_TERMINATE) |				\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_UNLOCK) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_RETURN) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_LOCK_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_SYNCHRONIZE))

/* What its default server takes: never data_unlock or the completions. */
#define MP_TYPES_V0_DEFAULT						\
	(MP_TYPES_V0 & ~(MP_TYPE_BIT(MEMPAGER_MSG_DATA_UNLOCK) |	\
			 MP_TYPE_BIT(MEMPAGER_MSG_LOCK_COMPLETED) |	\
			 MP_TYPE_BIT(MEMPAGER_MSG_SUPPLY_COMPLETED)))

/* memory_object_server(): the memory_object interface, copy included. */
#define MP_TYPES_OBJECT (MP_TYPES_V0 | MP_TYPE_BIT(MEMPAGER_MSG_COPY))

/* memory_object_default_server(): with memory_object_default's two. */
#define MP_TYPES_DEFAULT						\
	(MP_TYPES_V0_DEFAULT | MP_TYPE_BIT(MEMPAGER_MSG_CREATE) |	\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_INITIALIZE))

/* Every message type the library knows: the server loop's. */
#define MP_TYPES_ALL (MP_TYPES_OBJECT | MP_TYPES_DEFAULT)

/*
 * Symbol versions of the functions that take a routine table (see
 * libmempager.map, which gives their names version LIBMEMPAGER_0.2):
 * MP_SYMVER_V0(impl, name) exports @impl as @name of LIBMEMPAGER_0, what
 * programs built against libmempager 0.1 call. A static link sees only
 * the default version.
 */
#define MP_SYMVER_V0(impl, name)					\
	__asm__(".symver " #impl "," #name "@LIBMEMPAGER_0")

/*
 * The one demultiplexer behind every server: exactly one of @r and @sr is
 * set; @types says which message types this server handles.
 */
kern_return_t mp_serve(int fd, const struct mempager_msg *msg,
		       const void *data,
		       const struct memory_object_routines *r,
		       const struct seqnos_memory_object_routines *sr,
		       unsigned int types);

#endif /* LIBMEMPAGER_INTERNAL_H */
