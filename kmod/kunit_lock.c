// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lock_request's flush where user space cannot reach it
 * reliably: a page pinned for DMA (pin_user_pages(), as O_DIRECT and
 * io_uring do) through a real mapping, and a manager that died between
 * queueing its messages and its objects learning of it.
 */
#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>

#include "mempager_internal.h"

struct mp_lock_fixture {
	struct mp_manager *mgr;
	struct mp_object *obj;
	u64 control;
};

static int mp_lock_init(struct kunit *test)
{
	struct mp_lock_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->mgr = mp_manager_alloc();
	KUNIT_ASSERT_NOT_NULL(test, f->mgr);
	f->obj = mp_object_create(f->mgr, 4 * PAGE_SIZE, 0600, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->obj));
	test->priv = f;
	return 0;
}

static void mp_lock_exit(struct kunit *test)
{
	struct mp_lock_fixture *f = test->priv;

	mp_object_put(f->obj);
	mp_manager_kill(f->mgr);
	mp_manager_put(f->mgr);
}

/* The oldest queued message of @type, copied to @m; its first page. */
static struct page *find_msg(struct mp_manager *mgr, u32 type,
			     struct mempager_msg *m)
{
	struct mp_msg_entry *e;
	struct page *page = NULL;
	bool found = false;

	spin_lock(&mgr->lock);
	list_for_each_entry(e, &mgr->queue, node) {
		if (e->msg.type != type)
			continue;
		*m = e->msg;
		page = e->npages ? e->pages[0] : NULL;
		found = true;
		break;
	}
	spin_unlock(&mgr->lock);
	return found ? page : ERR_PTR(-ENOENT);
}

/* Answer init with ready (may_cache) and put a page at 0 with @byte. */
static struct page *ready_with_page(struct kunit *test, u8 byte)
{
	struct mp_lock_fixture *f = test->priv;
	struct mempager_msg m;
	struct page *page;
	void *p;

	KUNIT_ASSERT_FALSE(test, IS_ERR(find_msg(f->mgr, MEMPAGER_MSG_INIT,
						 &m)));
	f->control = m.control;
	KUNIT_ASSERT_EQ(test, mp_object_set_attributes(f->obj, f->control, 1,
						       MEMPAGER_COPY_DELAY,
						       false), 0);
	page = mp_zero_page_alloc();
	KUNIT_ASSERT_NOT_NULL(test, page);
	p = kmap_local_page(page);
	memset(p, byte, PAGE_SIZE);
	kunmap_local(p);
	mutex_lock(&f->obj->mutex);
	KUNIT_ASSERT_EQ(test, mp_cache_store_locked(f->obj, 0, page, 0), 0);
	mutex_unlock(&f->obj->mutex);
	return page;
}

/* The page resident at @pgoff, or NULL: a pointer to compare, no reference. */
static struct page *resident(struct mp_object *obj, pgoff_t pgoff)
{
	struct page *page = mp_cache_get(obj, pgoff);

	if (page)
		put_page(page);
	return page;
}

static int flush_page0(struct kunit *test)
{
	struct mp_lock_fixture *f = test->priv;
	struct mempager_lock_request lr = {
		.size = sizeof(lr),
		.control = f->control,
		.offset = 0,
		.length = PAGE_SIZE,
		.should_return = MEMPAGER_RETURN_ALL,
		.should_flush = 1,
		.lock_value = MEMPAGER_PROT_NO_CHANGE,
	};

	return mp_lock_request(f->obj, &lr);
}

/*
 * A page pinned for DMA is not flushed: the I/O completes into the page
 * the object still holds, and its dirty bit reaches the manager with the
 * next return. The manager gets a copy now (kernel_copy).
 */
static void lock_flush_keeps_a_pinned_page(struct kunit *test)
{
	struct mp_lock_fixture *f = test->priv;
	struct file *file;
	struct page *page, *pinned = NULL, *sent;
	struct mempager_msg m;
	unsigned long addr;
	u8 *p;

	file = mp_object_open_file(f->obj, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	addr = kunit_vm_mmap(test, file, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, 0);
	fput(file);	/* the mapping holds its own */
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	page = ready_with_page(test, 0x11);

	/* What O_DIRECT does to its buffer: FOLL_PIN | FOLL_WRITE. */
	KUNIT_ASSERT_EQ(test, pin_user_pages_unlocked(addr, 1, &pinned,
						      FOLL_WRITE), 1);
	KUNIT_ASSERT_PTR_EQ(test, pinned, page);
	KUNIT_EXPECT_TRUE(test, folio_maybe_dma_pinned(page_folio(page)));

	KUNIT_EXPECT_EQ(test, flush_page0(test), 0);
	KUNIT_EXPECT_PTR_EQ(test, resident(f->obj, 0), page);
	sent = find_msg(f->mgr, MEMPAGER_MSG_DATA_RETURN, &m);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(sent));
	KUNIT_EXPECT_PTR_NE(test, sent, page);
	KUNIT_EXPECT_EQ(test, m.data_return.kernel_copy, 1);
	KUNIT_EXPECT_EQ(test, m.data_return.dirty, 1);

	/* The DMA completes; unpinning marks the page dirty again. */
	p = kmap_local_page(page);
	memset(p, 0x22, PAGE_SIZE);
	kunmap_local(p);
	unpin_user_pages_dirty_lock(&pinned, 1, true);
	KUNIT_EXPECT_PTR_EQ(test, resident(f->obj, 0), page);
	KUNIT_EXPECT_TRUE(test, PageDirty(page));

	/* Unpinned, the page leaves at the next flush, itself. */
	KUNIT_EXPECT_EQ(test, flush_page0(test), 0);
	KUNIT_EXPECT_NULL(test, resident(f->obj, 0));
	vm_munmap(addr, PAGE_SIZE);
}

/*
 * Between the manager fd's death and its objects becoming MP_DEAD, a
 * flush cannot hand pages to anyone: they stay resident (and readable, as
 * the guide promises for a dead manager's objects) rather than being freed.
 */
static void lock_flush_to_a_dead_manager_keeps_pages(struct kunit *test)
{
	struct mp_lock_fixture *f = test->priv;
	struct page *page;
	u8 *p;

	mutex_lock(&f->obj->mutex);
	KUNIT_ASSERT_EQ(test, mp_object_map_locked(f->obj), 0);
	mutex_unlock(&f->obj->mutex);
	page = ready_with_page(test, 0x33);
	SetPageDirty(page);

	spin_lock(&f->mgr->lock);
	f->mgr->dead = true;
	spin_unlock(&f->mgr->lock);
	flush_page0(test);
	/* A page that left a page cache comes back as a copy of itself. */
	page = resident(f->obj, 0);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, f->obj->nr_resident, 1);
	KUNIT_EXPECT_TRUE(test, PageDirty(page));
	p = kmap_local_page(page);
	KUNIT_EXPECT_EQ(test, p[PAGE_SIZE - 1], 0x33);
	kunmap_local(p);
	mp_object_unmap(f->obj);
}

static struct kunit_case mempager_lock_cases[] = {
	KUNIT_CASE(lock_flush_keeps_a_pinned_page),
	KUNIT_CASE(lock_flush_to_a_dead_manager_keeps_pages),
	{}
};

static struct kunit_suite mempager_lock_suite = {
	.name = "mempager_lock",
	.init = mp_lock_init,
	.exit = mp_lock_exit,
	.test_cases = mempager_lock_cases,
};

kunit_test_suites(&mempager_lock_suite);
