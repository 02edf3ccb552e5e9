/*
 * utils/hash.c — open-addressing id table (see hash.h).  Linear probing,
 * load factor at most 1/2, the low 32 bits of the hash kept beside each id:
 * they pick the slot (so growing never reads an element) and reject most
 * mismatches without touching the element.  A grown table is prefaulted in
 * one system call (ig_prefault) since it is about to be written all over.
 */
#include "utils/hash.h"
#include "utils/strbuf.h"

#include <stdint.h>
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
    uint32_t *ids = ig_xcalloc(ncap, sizeof *ids);
    uint32_t *hashes = ig_xcalloc(ncap, sizeof *hashes);
    ig_prefault(ids, ncap * sizeof *ids); /* every page gets a slot */
    ig_prefault(hashes, ncap * sizeof *hashes);
    /* The slot derives from the stored 32-bit hash, so no element is read. */
    for (size_t i = 0; i < t->cap; i++)
        if (t->ids[i])
            put(ids, hashes, ncap, t->hashes[i], t->ids[i]);
    free(t->ids);
    free(t->hashes);
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
    free(t->ids);
    free(t->hashes);
    t->ids = t->hashes = NULL;
    t->cap = t->count = 0;
}
