/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels mempager builds for (Debian's 6.1 and
 * 6.12 LTS), in one place: each shim gives the older kernel the newer API.
 */
#ifndef _MEMPAGER_COMPAT_H
#define _MEMPAGER_COMPAT_H

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>

/* KUnit's static stubs (6.3) let a test replace a function, as failslab would. */
#ifdef MP_HAVE_STATIC_STUB
#include <kunit/static_stub.h>
#else
#define KUNIT_STATIC_STUB_REDIRECT(...) do { } while (0)
#endif

/* 6.12 wraps struct fd. */
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

/* The MP_HAVE_* macros come from Kbuild, which looks into the headers. */
#ifndef MP_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#ifndef MP_HAVE_RELEASE_FAULT_LOCK
/* Before per-VMA locks, a fault held mmap_lock for reading. */
static inline void release_fault_lock(struct vm_fault *vmf)
{
	mmap_read_unlock(vmf->vma->vm_mm);
}
#endif

#ifndef MP_HAVE_ACCOUNT_RECLAIMED
static inline void mm_account_reclaimed_pages(unsigned long pages)
{
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
}
#endif

/* Shrinkers became allocated objects in 6.7. */
#ifndef MP_HAVE_SHRINKER_ALLOC
static inline struct shrinker *mp_shrinker_alloc(const char *name)
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (s)
		s->seeks = DEFAULT_SEEKS;
	return s;
}

static inline int mp_shrinker_register(struct shrinker *s, const char *name)
{
	return register_shrinker(s, "%s", name);
}

static inline void mp_shrinker_free(struct shrinker *s, bool registered)
{
	if (registered)
		unregister_shrinker(s);
	kfree(s);
}
#else
static inline struct shrinker *mp_shrinker_alloc(const char *name)
{
	return shrinker_alloc(0, "%s", name);
}

static inline int mp_shrinker_register(struct shrinker *s, const char *name)
{
	shrinker_register(s);
	return 0;
}

static inline void mp_shrinker_free(struct shrinker *s, bool registered)
{
	shrinker_free(s);
}
#endif

/*
 * Take a locked folio out of its page cache (truncate's way, unmapping it
 * first): 6.8 made the page version a folio one.
 */
#ifdef MP_HAVE_ERROR_REMOVE_FOLIO
static inline int mp_error_remove_folio(struct address_space *mapping,
					struct folio *folio)
{
	return generic_error_remove_folio(mapping, folio);
}
#else
static inline int mp_error_remove_folio(struct address_space *mapping,
					struct folio *folio)
{
	return generic_error_remove_page(mapping, &folio->page);
}
#endif

#endif /* _MEMPAGER_COMPAT_H */
