// SPDX-License-Identifier: GPL-2.0
/*
 * Observability: /sys/kernel/debug/mempager/objects lists every live object
 * with its state and counters, one line each.
 *
 * Locking overview: each object is printed under its own mutex, with a
 * reference taken by mp_object_next(); no other lock is held meanwhile.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "mempager_internal.h"

static struct dentry *mp_debugfs_dir;

static const char *const mp_state_names[] = {
	[MP_IDLE] = "idle",
	[MP_INIT_SENT] = "init-sent",
	[MP_READY] = "ready",
	[MP_DESTROYED] = "destroyed",
	[MP_DEAD] = "dead",
};

static int mp_objects_show(struct seq_file *m, void *unused)
{
	unsigned long name = 0;
	struct mp_object *obj;

	seq_puts(m, "name handle pages state maps resident outstanding requests supplied unavailable errors present inits terminates unlocks returned evicted\n");
	while ((obj = mp_object_next(&name))) {
		mutex_lock(&obj->mutex);
		seq_printf(m, "%llu %u %lu %s %lu %lu %u %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
			   obj->name, obj->handle, obj->npages,
			   obj->temporary && !obj->mgr ? "temporary" :
			   mp_state_names[obj->state],
			   obj->nr_maps, obj->nr_resident,
			   obj->outstanding, obj->stats.requests,
			   obj->stats.supplied, obj->stats.unavailable,
			   obj->stats.errors, obj->stats.present,
			   obj->stats.inits, obj->stats.terminates,
			   obj->stats.unlocks, obj->stats.returned,
			   obj->stats.evicted);
		mutex_unlock(&obj->mutex);
		mp_object_put(obj);
		name++;
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mp_objects);

/**
 * mp_debugfs_init() - create /sys/kernel/debug/mempager
 *
 * Failure is not fatal: debugfs is for looking, not for working.
 */
void mp_debugfs_init(void)
{
	mp_debugfs_dir = debugfs_create_dir("mempager", NULL);
	debugfs_create_file("objects", 0400, mp_debugfs_dir, NULL,
			    &mp_objects_fops);
}

/**
 * mp_debugfs_exit() - remove /sys/kernel/debug/mempager
 */
void mp_debugfs_exit(void)
{
	debugfs_remove_recursive(mp_debugfs_dir);
}
