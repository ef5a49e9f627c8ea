/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmempager's own interfaces between its files; not installed.
 */
#ifndef LIBMEMPAGER_INTERNAL_H
#define LIBMEMPAGER_INTERNAL_H

#include "libmempager.h"

#define MP_TYPE_BIT(t) (1u << (t))

/* Every message type the library knows. */
#define MP_TYPES_ALL							\
	(MP_TYPE_BIT(MEMPAGER_MSG_INIT) |				\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_REQUEST) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_SUPPLY_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_CHANGE_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_TERMINATE) |				\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_UNLOCK) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_DATA_RETURN) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_LOCK_COMPLETED) |			\
	 MP_TYPE_BIT(MEMPAGER_MSG_SYNCHRONIZE))

/* What a default pager receives: never data_unlock or the completions. */
#define MP_TYPES_DEFAULT						\
	(MP_TYPES_ALL & ~(MP_TYPE_BIT(MEMPAGER_MSG_DATA_UNLOCK) |	\
			  MP_TYPE_BIT(MEMPAGER_MSG_LOCK_COMPLETED) |	\
			  MP_TYPE_BIT(MEMPAGER_MSG_SUPPLY_COMPLETED)))

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
