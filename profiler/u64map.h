/*
 * profiler/u64map.h — a small open-addressing hash map from 64-bit keys to
 * 64-bit values, for the recorder's hot lookups (address -> location id,
 * tid -> thread).  Key 0 marks an empty slot, so it is never stored: a
 * lookup of 0 misses and a put of 0 is ignored (callers then just recompute,
 * e.g. for a sampled IP of 0).  Linear probing, grows at 50% load.
 */
#ifndef IG_PROFILER_U64MAP_H
#define IG_PROFILER_U64MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "utils/hash.h"
#include "utils/strbuf.h"

typedef struct ig_u64map {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap; /* power of two or 0 */
    size_t count;
} ig_u64map;

static inline bool ig_u64map_get(const ig_u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap || !key)
        return false;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)ig_hash_mix(key) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return true;
        }
        if (!m->keys[i])
            return false;
    }
}

static inline void ig_u64map_put(ig_u64map *m, uint64_t key, uint64_t val);

static inline void ig_u64map_grow(ig_u64map *m)
{
    ig_u64map old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->keys = ig_xcalloc(m->cap, sizeof *m->keys);
    m->vals = ig_xcalloc(m->cap, sizeof *m->vals);
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            ig_u64map_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

static inline void ig_u64map_put(ig_u64map *m, uint64_t key, uint64_t val)
{
    if (!key)
        return;
    if ((m->count + 1) * 2 > m->cap)
        ig_u64map_grow(m);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)ig_hash_mix(key) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
        if (!m->keys[i]) {
            m->keys[i] = key;
            m->vals[i] = val;
            m->count++;
            return;
        }
    }
}

/* Removes key (backward-shift deletion: no tombstones, so a map whose
 * keys come and go stays as small as its live keys need). */
static inline void ig_u64map_del(ig_u64map *m, uint64_t key)
{
    if (!m->cap || !key)
        return;
    size_t mask = m->cap - 1, i = (size_t)ig_hash_mix(key) & mask;
    for (;; i = (i + 1) & mask) {
        if (!m->keys[i])
            return;
        if (m->keys[i] == key)
            break;
    }
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = (size_t)ig_hash_mix(m->keys[j]) & mask;
        bool stays = i < j ? home > i && home <= j : home > i || home <= j; /* home in (i, j] */
        if (!stays) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = 0;
    m->count--;
}

static inline void ig_u64map_clear(ig_u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->cap = m->count = 0;
}

#endif
