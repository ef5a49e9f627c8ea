// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the module's internals: the object life cycle and the
 * messages it queues, range checks, the page cache's entries, and the
 * manager queue's throttling. They drive the same functions the ioctls and
 * the fault path call, without user space.
 */
#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>

#include "mempager_internal.h"

/* The messages a manager has queued, oldest first. */
static unsigned int queued(struct mp_manager *mgr, struct mempager_msg *out,
			   unsigned int max)
{
	struct mp_msg_entry *e;
	unsigned int n = 0;

	spin_lock(&mgr->lock);
	list_for_each_entry(e, &mgr->queue, node)
		if (n < max)
			out[n++] = e->msg;
	spin_unlock(&mgr->lock);
	return n;
}

struct mp_fixture {
	struct mp_manager *mgr;
	struct mp_object *obj;
};

static int mp_fixture_init(struct kunit *test)
{
	struct mp_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->mgr = mp_manager_alloc();
	KUNIT_ASSERT_NOT_NULL(test, f->mgr);
	f->obj = mp_object_create(f->mgr, 8 * PAGE_SIZE, 0600, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->obj));
	test->priv = f;
	return 0;
}

static void mp_fixture_exit(struct kunit *test)
{
	struct mp_fixture *f = test->priv;

	mp_object_put(f->obj);
	mp_manager_kill(f->mgr);	/* drops the handle table's reference */
	mp_manager_put(f->mgr);
}

static int map_once(struct mp_object *obj)
{
	int err;

	mutex_lock(&obj->mutex);
	err = mp_object_map_locked(obj);
	mutex_unlock(&obj->mutex);
	return err;
}

/* Items 1, 29, 34: init once per incarnation, terminate at the last unmap. */
static void object_life_cycle(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;
	struct mempager_msg m[4];
	u64 control;

	KUNIT_EXPECT_EQ(test, obj->state, MP_IDLE);
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 4), 1);
	KUNIT_EXPECT_EQ(test, m[0].type, MEMPAGER_MSG_INIT);
	KUNIT_EXPECT_EQ(test, m[0].seqno, 1);
	KUNIT_EXPECT_EQ(test, m[0].init.page_size, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, m[0].init.name, obj->name);
	control = m[0].control;
	KUNIT_EXPECT_NE(test, control, 0);
	KUNIT_EXPECT_EQ(test, obj->state, MP_INIT_SENT);

	KUNIT_EXPECT_EQ(test, mp_object_set_attributes(obj, control, 0, 2, true),
			0);
	KUNIT_EXPECT_EQ(test, obj->state, MP_READY);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 4), 2);
	KUNIT_EXPECT_EQ(test, m[1].type, MEMPAGER_MSG_CHANGE_COMPLETED);
	KUNIT_EXPECT_EQ(test, m[1].change.copy_strategy, 2);
	KUNIT_EXPECT_EQ(test, m[1].seqno, 2);

	mp_object_unmap(obj);
	KUNIT_EXPECT_EQ(test, queued(f->mgr, m, 4), 2);	/* still mapped */
	mp_object_unmap(obj);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 4), 3);
	KUNIT_EXPECT_EQ(test, m[2].type, MEMPAGER_MSG_TERMINATE);
	KUNIT_EXPECT_EQ(test, m[2].control, control);
	KUNIT_EXPECT_EQ(test, obj->state, MP_IDLE);

	/* A new incarnation has a new control; the old one is stale. */
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 4), 4);
	KUNIT_EXPECT_EQ(test, m[3].type, MEMPAGER_MSG_INIT);
	KUNIT_EXPECT_NE(test, m[3].control, control);
	KUNIT_EXPECT_EQ(test, mp_object_set_attributes(obj, control, 0, 0,
						       false), -ENOENT);
	mp_object_unmap(obj);
}

/* Item 31: a bad strategy or may_cache changes nothing. */
static void object_bad_attributes_change_nothing(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;
	struct mempager_msg m[2];

	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 2), 1);
	KUNIT_EXPECT_EQ(test, mp_object_set_attributes(obj, m[0].control, 0,
						       4, true), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, mp_object_set_attributes(obj, m[0].control, 2,
						       0, true), -EINVAL);
	KUNIT_EXPECT_EQ(test, obj->state, MP_INIT_SENT);
	KUNIT_EXPECT_EQ(test, queued(f->mgr, m, 2), 1);
	mp_object_unmap(obj);
}

/* Item 32: destroy while mapped; new mappings refused until the last unmap. */
static void object_destroy_while_mapped(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;
	struct mempager_msg m[3];

	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 3), 1);
	KUNIT_EXPECT_EQ(test, mp_object_destroy(obj, m[0].control), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 3), 2);
	KUNIT_EXPECT_EQ(test, m[1].type, MEMPAGER_MSG_TERMINATE);
	KUNIT_EXPECT_EQ(test, obj->state, MP_DESTROYED);
	KUNIT_EXPECT_EQ(test, map_once(obj), -ENXIO);
	mp_object_unmap(obj);
	KUNIT_EXPECT_EQ(test, obj->state, MP_IDLE);
	/* No second terminate at the last unmap. */
	KUNIT_EXPECT_EQ(test, queued(f->mgr, m, 3), 2);
}

/* Item 33: a dead manager: no message, mappings refused. */
static void object_manager_death(struct kunit *test)
{
	struct mp_manager *mgr = mp_manager_alloc();
	struct mp_object *obj;

	KUNIT_ASSERT_NOT_NULL(test, mgr);
	obj = mp_object_create(mgr, PAGE_SIZE, 0600, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(obj));
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	mp_manager_kill(mgr);
	KUNIT_EXPECT_EQ(test, obj->state, MP_DEAD);
	KUNIT_EXPECT_EQ(test, mgr->queued, 0);
	KUNIT_EXPECT_TRUE(test, xa_empty(&mgr->objects));
	KUNIT_EXPECT_EQ(test, map_once(obj), -ENXIO);
	mp_object_unmap(obj);
	mp_object_put(obj);
	mp_manager_put(mgr);
}

/* Item 44: offsets and lengths. */
static void check_range_rules(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;

	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 0, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 7 * PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 1, PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 0, PAGE_SIZE + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, 8 * PAGE_SIZE, PAGE_SIZE),
			-EOVERFLOW);
	KUNIT_EXPECT_EQ(test, mp_check_range(obj, -PAGE_SIZE, 2 * PAGE_SIZE),
			-EOVERFLOW);
}

/* The three kinds of side table entries never pass for one another. */
static void cache_entries_and_lookup(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;
	struct page *page = mp_zero_page_alloc(), *got;
	void *shadow = mp_shadow_entry();
	void *state = xa_mk_value(MP_PAGE_PRECIOUS | MEMPAGER_PROT_WRITE);
	struct mp_request req = { };

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_TRUE(test, mp_entry_is_shadow(shadow));
	KUNIT_EXPECT_FALSE(test, mp_entry_is_page(shadow));
	KUNIT_EXPECT_NULL(test, mp_request_entry(shadow));
	KUNIT_EXPECT_NULL(test, mp_request_entry(state));
	KUNIT_EXPECT_FALSE(test, mp_entry_is_shadow(state));
	KUNIT_EXPECT_TRUE(test, mp_entry_is_page(state));
	KUNIT_EXPECT_PTR_EQ(test, mp_request_entry(&req), &req);
	KUNIT_EXPECT_FALSE(test, mp_entry_is_page(&req));
	KUNIT_EXPECT_FALSE(test, mp_entry_is_shadow(&req));

	KUNIT_EXPECT_NULL(test, mp_cache_get(obj, 3));
	mutex_lock(&obj->mutex);
	KUNIT_ASSERT_EQ(test, mp_cache_store_locked(obj, 3, page,
						    MEMPAGER_PROT_READ), 0);
	mutex_unlock(&obj->mutex);
	KUNIT_EXPECT_EQ(test, obj->nr_resident, 1);
	KUNIT_EXPECT_EQ(test, mp_page_lock(obj, 3), MEMPAGER_PROT_READ);
	got = mp_cache_get(obj, 3);
	KUNIT_EXPECT_PTR_EQ(test, got, page);
	if (got) {
		KUNIT_EXPECT_TRUE(test, mp_cache_holds(obj, 3, got));
		KUNIT_EXPECT_FALSE(test, mp_cache_holds(obj, 4, got));
		/* Read-locked: hidden from filemap_map_pages(). */
		KUNIT_EXPECT_FALSE(test, PageUptodate(got));
		lock_page(got);
		mutex_lock(&obj->mutex);
		mp_page_set_bits(obj, 3, got, MP_PAGE_LOCK_MASK, 0);
		mutex_unlock(&obj->mutex);
		unlock_page(got);
		KUNIT_EXPECT_TRUE(test, PageUptodate(got));
		KUNIT_EXPECT_EQ(test, mp_page_lock(obj, 3), 0);
		put_page(got);
	}
	KUNIT_EXPECT_NULL(test, mp_cache_get(obj, 4));
}

/*
 * Only the module takes pages out of its page cache: drop_caches
 * (invalidate_mapping_pages()) would drop clean, unmapped pages, and
 * with them their Mach state. Enough pages that some leave the per-CPU
 * LRU batches, whose reference alone would keep them.
 */
#define MP_INVALIDATE_PAGES 128
static void cache_pages_survive_invalidation(struct kunit *test)
{
	struct mp_object *obj;
	struct page *page;
	unsigned long i, lru = 0;

	obj = mp_object_create(NULL, MP_INVALIDATE_PAGES * PAGE_SIZE, 0, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(obj));
	mutex_lock(&obj->mutex);
	for (i = 0; i < MP_INVALIDATE_PAGES; i++) {
		page = mp_zero_page_alloc();
		if (!page || mp_cache_store_locked(obj, i, page, 0)) {
			if (page)
				put_page(page);
			break;
		}
	}
	mutex_unlock(&obj->mutex);
	KUNIT_ASSERT_EQ(test, i, MP_INVALIDATE_PAGES);
	for (i = 0; i < MP_INVALIDATE_PAGES; i++) {
		page = mp_cache_get(obj, i);
		KUNIT_ASSERT_NOT_NULL(test, page);
		lru += PageLRU(page);
		put_page(page);
	}
	/* Else the test would prove nothing. */
	KUNIT_ASSERT_GT(test, lru, 0);

	KUNIT_EXPECT_EQ(test, invalidate_mapping_pages(mp_mapping(obj), 0,
						       ULONG_MAX), 0);
	KUNIT_EXPECT_EQ(test, obj->nr_resident, MP_INVALIDATE_PAGES);
	for (i = 0; i < MP_INVALIDATE_PAGES; i++) {
		page = mp_cache_get(obj, i);
		KUNIT_EXPECT_NOT_NULL(test, page);
		if (page)
			put_page(page);
	}
	mp_object_put(obj);
}

/* Faults wait while a manager leaves too much data_return unread. */
static void manager_congestion(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	unsigned int saved = mp_max_queued_pages;

	mp_max_queued_pages = 4;
	f->mgr->queued_pages = 4;
	KUNIT_EXPECT_FALSE(test, mp_manager_congested(f->mgr));
	f->mgr->queued_pages = 5;
	KUNIT_EXPECT_TRUE(test, mp_manager_congested(f->mgr));
	f->mgr->queued_pages = 0;
	mp_max_queued_pages = saved;
}

/*
 * Issue 13 item 6: temporary memory that nothing maps any more is never
 * given to the default manager. The shrinker holds a reference of its own
 * across the last munmap; attaching then would leave the object in the
 * manager's handle table, and counted against its owner, for good.
 */
static void temporary_unmapped_is_not_attached(struct kunit *test)
{
	struct mp_manager *dm = mp_manager_alloc();
	struct mp_object *obj;

	KUNIT_ASSERT_NOT_NULL(test, dm);
	KUNIT_ASSERT_EQ(test, mp_default_set(dm), 0);
	obj = mp_object_create(NULL, 4 * PAGE_SIZE, 0, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(obj));
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	mp_object_unmap(obj);	/* the last munmap; our reference stays */
	mutex_lock(&obj->mutex);
	mp_temp_attach_locked(obj, GFP_KERNEL);	/* what the shrinker does */
	mutex_unlock(&obj->mutex);
	KUNIT_EXPECT_NULL(test, obj->mgr);
	KUNIT_EXPECT_TRUE(test, xa_empty(&dm->objects));
	KUNIT_EXPECT_EQ(test, dm->queued, 0);
	mp_object_put(obj);
	mp_manager_kill(dm);	/* unregisters it */
	mp_manager_put(dm);
}

/* Attached while mapped: the last unmap sends terminate and drops the handle. */
static void temporary_attached_is_forgotten_at_last_unmap(struct kunit *test)
{
	struct mp_manager *dm = mp_manager_alloc();
	struct mempager_msg m[3];
	struct mp_object *obj;

	KUNIT_ASSERT_NOT_NULL(test, dm);
	KUNIT_ASSERT_EQ(test, mp_default_set(dm), 0);
	obj = mp_object_create(NULL, 4 * PAGE_SIZE, 0, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(obj));
	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	mutex_lock(&obj->mutex);
	KUNIT_EXPECT_EQ(test, mp_temp_attach_locked(obj, GFP_KERNEL), 0);
	mutex_unlock(&obj->mutex);
	KUNIT_EXPECT_PTR_EQ(test, obj->mgr, dm);
	KUNIT_EXPECT_FALSE(test, xa_empty(&dm->objects));
	mp_object_unmap(obj);
	KUNIT_EXPECT_TRUE(test, xa_empty(&dm->objects));
	KUNIT_ASSERT_EQ(test, queued(dm, m, 3), 2);
	KUNIT_EXPECT_EQ(test, m[0].type, MEMPAGER_MSG_CREATE);
	KUNIT_EXPECT_EQ(test, m[1].type, MEMPAGER_MSG_TERMINATE);
	mp_object_put(obj);
	mp_manager_kill(dm);
	mp_manager_put(dm);
}

/*
 * A COPY_CALL copy made while its manager's close is under way (the
 * manager is dead, its object not yet marked): the copy's handle must not
 * stay in the table, which the close may already have walked past.
 */
static void call_copy_refused_by_a_dying_manager(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj, *copy, *entry;
	struct mempager_msg m[1];
	unsigned long handle;
	int n = 0;

	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 1), 1);
	KUNIT_ASSERT_EQ(test, mp_object_set_attributes(obj, m[0].control, 0,
						       MEMPAGER_COPY_CALL,
						       false), 0);
	spin_lock(&f->mgr->lock);
	f->mgr->dead = true;	/* what mp_manager_kill() does first */
	spin_unlock(&f->mgr->lock);
	copy = mp_copy_create(obj, 0, 1);
	KUNIT_EXPECT_TRUE(test, IS_ERR(copy));
	xa_for_each(&f->mgr->objects, handle, entry)
		n++;
	KUNIT_EXPECT_EQ(test, n, 1);	/* the original only */
	mp_object_unmap(obj);
}

/* What mp_msg_alloc() gives when memory is short: no room for data. */
static struct mp_msg_entry *no_data_messages(unsigned int npages, gfp_t gfp)
{
	return npages ? NULL : kzalloc(sizeof(struct mp_msg_entry), gfp);
}

/*
 * Issue 13 item 8: terminate at the last unmap allocates its data_return
 * messages. When that fails, nothing is lost and nothing is forced
 * (__GFP_NOFAIL): the dirty pages stay, and so does the object's state,
 * until a retry returns them and sends terminate.
 */
static void terminate_out_of_memory_loses_nothing(struct kunit *test)
{
	struct mp_fixture *f = test->priv;
	struct mp_object *obj = f->obj;
	struct mempager_msg m[4];
	struct page *page;
	unsigned int i, n;
	u8 *p;

	KUNIT_ASSERT_EQ(test, map_once(obj), 0);
	KUNIT_ASSERT_EQ(test, queued(f->mgr, m, 4), 1);
	KUNIT_ASSERT_EQ(test, mp_object_set_attributes(obj, m[0].control, 0,
						       MEMPAGER_COPY_DELAY,
						       false), 0);
	for (i = 0; i < 3; i++) {
		page = mp_zero_page_alloc();
		KUNIT_ASSERT_NOT_NULL(test, page);
		p = kmap_local_page(page);
		p[0] = 0x40 + i;
		kunmap_local(p);
		SetPageDirty(page);
		mutex_lock(&obj->mutex);
		KUNIT_ASSERT_EQ(test, mp_cache_store_locked(obj, i, page, 0),
				0);
		mutex_unlock(&obj->mutex);
	}

	kunit_activate_static_stub(test, mp_msg_alloc, no_data_messages);
	mp_object_unmap(obj);
	kunit_deactivate_static_stub(test, mp_msg_alloc);
	mutex_lock(&obj->mutex);
	if (obj->state != MP_IDLE) {	/* the retry has not run yet */
		KUNIT_EXPECT_EQ(test, obj->nr_resident, 3);
		KUNIT_EXPECT_EQ(test, queued(f->mgr, m, 4), 1);
	}
	mutex_unlock(&obj->mutex);

	flush_delayed_work(&obj->term_retry);
	KUNIT_EXPECT_EQ(test, obj->state, MP_IDLE);
	KUNIT_EXPECT_EQ(test, obj->nr_resident, 0);
	n = queued(f->mgr, m, 4);
	KUNIT_ASSERT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, m[1].type, MEMPAGER_MSG_DATA_RETURN);
	KUNIT_EXPECT_EQ(test, m[1].data_return.offset, 0);
	KUNIT_EXPECT_EQ(test, m[1].data_return.length, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, m[1].data_return.dirty, 1);
	KUNIT_EXPECT_EQ(test, m[2].type, MEMPAGER_MSG_TERMINATE);
}

static struct kunit_case mempager_object_cases[] = {
	KUNIT_CASE(object_life_cycle),
	KUNIT_CASE(object_bad_attributes_change_nothing),
	KUNIT_CASE(object_destroy_while_mapped),
	KUNIT_CASE(object_manager_death),
	KUNIT_CASE(check_range_rules),
	KUNIT_CASE(cache_entries_and_lookup),
	KUNIT_CASE(cache_pages_survive_invalidation),
	KUNIT_CASE(manager_congestion),
	KUNIT_CASE(call_copy_refused_by_a_dying_manager),
	KUNIT_CASE(temporary_unmapped_is_not_attached),
	KUNIT_CASE(temporary_attached_is_forgotten_at_last_unmap),
	KUNIT_CASE(terminate_out_of_memory_loses_nothing),
	{}
};

static struct kunit_suite mempager_object_suite = {
	.name = "mempager_object",
	.init = mp_fixture_init,
	.exit = mp_fixture_exit,
	.test_cases = mempager_object_cases,
};

kunit_test_suites(&mempager_object_suite);
