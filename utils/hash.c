/*
 * utils/hash.c — open-addressing id table (see hash.h).  Linear probing,
 * load factor at most 1/2, the low 32 bits of the hash kept beside each id:
 * they pick the slot (so growing never reads an element) and reject most
 * mismatches without touching the element.  A grown table is prefaulted in
 * one system call (ig_prefault) since it is about to be written all over;
 * big ones are page blocks (ig_pages_resize), zero from the kernel, so
 * nothing clears them again.
 */
#include "utils/hash.h"
#include "utils/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void ig_prefault(void *p, size_t bytes)
{
    const uintptr_t page = 4096;
    if (!p || bytes < 16 * page)
        return;
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

static size_t whole_pages(size_t bytes)
{
    const size_t page = 4096;
    return (bytes + page - 1) & ~(page - 1);
}

void *ig_pages_resize(void *p, size_t old_bytes, size_t new_bytes)
{
    size_t old_len = p ? whole_pages(old_bytes) : 0, new_len = whole_pages(new_bytes);
    if (!new_len) {
        if (p)
            munmap(p, old_len);
        return NULL;
    }
    if (new_len == old_len)
        return p;
    void *q = p ? mremap(p, old_len, new_len, MREMAP_MAYMOVE)
                : mmap(NULL, new_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
        fputs("ignis: out of memory\n", stderr);
        abort();
    }
    const size_t huge = (size_t)2 << 20;
    if (new_len >= 4 * huge && new_len > old_len) /* the kernel uses them on aligned 2 MB extents */
        madvise(q, new_len, MADV_HUGEPAGE);
    return q;
}

/* Tables of 128 KB and more are page blocks: zero when fresh. */
enum { TABLE_PAGES_MIN = 128 << 10 };

static uint32_t *table_new(size_t cap)
{
    if (cap * sizeof(uint32_t) >= TABLE_PAGES_MIN)
        return ig_pages_resize(NULL, 0, cap * sizeof(uint32_t));
    return ig_xcalloc(cap, sizeof(uint32_t));
}

static void table_free(uint32_t *a, size_t cap)
{
    if (cap * sizeof(uint32_t) >= TABLE_PAGES_MIN)
        ig_pages_resize(a, cap * sizeof(uint32_t), 0);
    else
        free(a);
}

uint32_t ig_idtab_find(const ig_idtab *t, uint64_t hash, const void *key, ig_idtab_eq eq, const void *ctx)
{
    if (!t->cap)
        return 0;
    uint32_t h32 = (uint32_t)hash;
    size_t mask = t->cap - 1;
    for (size_t i = h32 & mask;; i = (i + 1) & mask) {
        uint32_t id = t->ids[i];
        if (!id)
            return 0;
        if (t->hashes[i] == h32 && eq(ctx, id, key))
            return id;
    }
}

static void put(uint32_t *ids, uint32_t *hashes, size_t cap, uint32_t h32, uint32_t id)
{
    size_t mask = cap - 1;
    size_t i = h32 & mask;
    while (ids[i])
        i = (i + 1) & mask;
    ids[i] = id;
    hashes[i] = h32;
}

static void grow(ig_idtab *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    uint32_t *ids = table_new(ncap);
    uint32_t *hashes = table_new(ncap);
    ig_prefault(ids, ncap * sizeof *ids); /* every page gets a slot */
    ig_prefault(hashes, ncap * sizeof *hashes);
    /* The slot derives from the stored 32-bit hash, so no element is read. */
    for (size_t i = 0; i < t->cap; i++)
        if (t->ids[i])
            put(ids, hashes, ncap, t->hashes[i], t->ids[i]);
    table_free(t->ids, t->cap);
    table_free(t->hashes, t->cap);
    t->ids = ids;
    t->hashes = hashes;
    t->cap = ncap;
}

void ig_idtab_insert(ig_idtab *t, uint64_t hash, uint32_t id)
{
    if ((t->count + 1) * 2 > t->cap)
        grow(t);
    put(t->ids, t->hashes, t->cap, (uint32_t)hash, id);
    t->count++;
}

void ig_idtab_free(ig_idtab *t)
{
    table_free(t->ids, t->cap);
    table_free(t->hashes, t->cap);
    t->ids = t->hashes = NULL;
    t->cap = t->count = 0;
}
