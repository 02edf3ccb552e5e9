/*
 * utils/hash.h — fast non-cryptographic hashing and an id table.
 *
 * ig_idtab is an open-addressing set of 32-bit ids.  The table stores only
 * (hash, id) pairs; the caller's eq callback compares a probe key with the
 * element behind an id.  This lets every interning table of the profile
 * model (strings, functions, locations, stacks, samples) share one hash
 * implementation while keeping the elements in their own dense arrays.
 *
 * ig_prefault and ig_pages_resize are the memory helpers those tables and
 * pools share.
 */
#ifndef IG_HASH_H
#define IG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t ig_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Hashes bytes; 8 bytes at a time. */
static inline uint64_t ig_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = ig_hash_mix(h ^ v) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t v = 0;
    if (len)            /* p may be NULL for an empty key */
        memcpy(&v, p, len);
    return ig_hash_mix(h ^ v ^ ((uint64_t)len << 56));
}

static inline uint64_t ig_hash_u64(uint64_t h, uint64_t v)
{
    return ig_hash_mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6)));
}

typedef int (*ig_idtab_eq)(const void *ctx, uint32_t id, const void *key);

typedef struct ig_idtab {
    uint32_t *ids;    /* 0 = empty slot */
    uint32_t *hashes;
    size_t cap;       /* power of two */
    size_t count;
} ig_idtab;

/* Finds the id whose element equals key, or 0. */
uint32_t ig_idtab_find(const ig_idtab *t, uint64_t hash, const void *key, ig_idtab_eq eq, const void *ctx);

/* Inserts id (which must not be present) under hash. */
void ig_idtab_insert(ig_idtab *t, uint64_t hash, uint32_t id);

void ig_idtab_free(ig_idtab *t);

/* Faults in the pages of [p, p + bytes) in one system call
 * (MADV_POPULATE_WRITE) before they are written.  Big tables and pools are
 * filled page after page, and on a VM a page fault taken one at a time
 * costs several microseconds: prefaulting is about 4 times cheaper.  Only
 * whole pages inside the range are touched; content is unchanged; a kernel
 * without the feature simply faults as before. */
void ig_prefault(void *p, size_t bytes);

/* Big tables and pools (a megabyte and more) live in blocks of their own
 * pages rather than in malloc's heap: a fresh block is already zero (no
 * memset), and growing one moves its page tables (mremap) instead of
 * copying its bytes into fresh pages that fault in one at a time, which
 * realloc does whenever malloc kept the block in its heap.  Blocks of 8 MB
 * and more are asked for transparent huge pages.  Resizes the block p of
 * old_bytes (NULL, 0: none yet) to new_bytes, keeping the common prefix;
 * new_bytes 0 frees it and returns NULL.  Never fails (exits on out of
 * memory, as ig_xmalloc).  Such a block is freed only through this. */
void *ig_pages_resize(void *p, size_t old_bytes, size_t new_bytes);

#endif
