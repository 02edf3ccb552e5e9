/*
 * profiler/alloc/heaptab.c — sampled-allocation records and live table.
 *
 * Design.  Everything lives in one anonymous mapping carved into:
 *   filter   65536 16-bit counters: filter[ig_heaptab_filter_index(ptr)]
 *            counts live entries whose address lands there (a
 *            multiplicative hash, inlined into the shim's free()).  free() of an unsampled pointer
 *            reads one counter, finds 0 and returns: no lock, no probe.
 *   stripes  64 stripes, each a spin lock and a linear-probing array of
 *            (ptr, record id) with backward-shift deletion (no tombstones,
 *            so a stripe never degrades).
 *   records  a dense array of ig_heaprec and an index of 2x its size;
 *            the array and its counters (count of records, drops) are
 *            in this mapping or in a caller's store (heaptab.h), which
 *            grows through its reserve callback as records are added.
 * Locks are test-and-test-and-set spin locks on an int (sched_yield while
 * contended): no allocation, trivially reset after fork.  Counters in
 * records are updated with atomics so free() needs only its stripe lock.
 */
#include "profiler/alloc/heaptab.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "utils/hash.h"

#define NSTRIPES 64
#define FILTER_BITS 16

typedef struct live_ent {
    uint64_t ptr; /* 0 = empty */
    uint32_t rec;
    uint32_t pad;
} live_ent;

typedef struct stripe {
    int lock;
    uint32_t count;
    live_ent *slots;
    char pad[64 - sizeof(int) - sizeof(uint32_t) - sizeof(live_ent *)];
} stripe;

struct ig_heaptab {
    size_t map_len;
    uint16_t *filter;
    stripe stripes[NSTRIPES];
    uint32_t live_cap;      /* slots per stripe, power of two */
    int rec_lock;
    uint32_t rec_cap;       /* max records, power of two */
    uint32_t usable;        /* records the store made writable */
    uint32_t *rec_index;    /* 2*rec_cap slots: record id + 1, 0 empty */
    ig_heaprec *recs;
    ig_heaptab_shared *sh;  /* nrecs and drops: own_shared or the store's */
    uint32_t (*reserve)(void *ctx, uint32_t need);
    void *reserve_ctx;
    ig_heaptab_shared own_shared;
};

static void spin_lock(int *l)
{
    for (;;) {
        if (!__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
            return;
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            sched_yield();
    }
}

static void spin_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t c = 1;
    while (c < n && c < (1u << 30))
        c <<= 1;
    return c;
}

uint32_t ig_heaptab_capacity(uint32_t max_records)
{
    return pow2_at_least(max_records ? max_records : 1);
}

ig_heaptab *ig_heaptab_new_with(uint32_t max_records, uint32_t live_per_stripe, const ig_heaptab_store *store)
{
    uint32_t rc = ig_heaptab_capacity(max_records);
    uint32_t lc = pow2_at_least(live_per_stripe ? live_per_stripe : 1);
    size_t off_filter = (sizeof(ig_heaptab) + 63) & ~(size_t)63;
    size_t off_live = off_filter + ((size_t)1 << FILTER_BITS) * sizeof(uint16_t);
    size_t off_index = off_live + (size_t)NSTRIPES * lc * sizeof(live_ent);
    size_t off_recs = (off_index + (size_t)rc * 2 * sizeof(uint32_t) + 63) & ~(size_t)63;
    size_t len = off_recs + (store ? 0 : (size_t)rc * sizeof(ig_heaprec));
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    ig_heaptab *t = (ig_heaptab *)m;
    t->map_len = len;
    t->filter = (uint16_t *)(m + off_filter);
    t->live_cap = lc;
    for (int i = 0; i < NSTRIPES; i++)
        t->stripes[i].slots = (live_ent *)(m + off_live) + (size_t)i * lc;
    t->rec_cap = rc;
    t->rec_index = (uint32_t *)(m + off_index);
    if (store) {
        t->recs = store->recs;
        t->sh = store->shared;
        t->reserve = store->reserve;
        t->reserve_ctx = store->ctx;
        t->usable = store->reserve ? 0 : rc;
    } else {
        t->recs = (ig_heaprec *)(m + off_recs);
        t->sh = &t->own_shared;
        t->usable = rc;
    }
    return t;
}

ig_heaptab *ig_heaptab_new(uint32_t max_records, uint32_t live_per_stripe)
{
    return ig_heaptab_new_with(max_records, live_per_stripe, NULL);
}

void ig_heaptab_destroy(ig_heaptab *t)
{
    if (t)
        munmap(t, t->map_len);
}

static const ig_heapspan no_span;

static uint64_t stack_hash(uint64_t size, const uint64_t *ips, int depth, const ig_heapspan *span)
{
    uint64_t h = ig_hash_bytes(ips, (size_t)depth * sizeof *ips, size);
    if (span->in_span)
        h = ig_hash_bytes(span, sizeof *span, h);
    return h ? h : 1;
}

static bool rec_equal(const ig_heaprec *r, uint64_t h, uint64_t size, const uint64_t *ips, int depth,
                      const ig_heapspan *span)
{
    return r->hash == h && r->size == size && r->depth == (uint32_t)depth &&
           !memcmp(r->ips, ips, (size_t)depth * sizeof *ips) && !memcmp(&r->span, span, sizeof *span);
}

/* Finds or creates the record; called with rec_lock held. */
static int find_record(ig_heaptab *t, uint64_t size, const uint64_t *ips, int depth, const ig_heapspan *span)
{
    uint64_t h = stack_hash(size, ips, depth, span);
    uint32_t mask = t->rec_cap * 2 - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t id = t->rec_index[i];
        if (!id) {
            uint32_t n = t->sh->nrecs;
            if (n >= t->rec_cap)
                return -1;
            if (n >= t->usable) {
                uint32_t got = t->reserve(t->reserve_ctx, n + 1);
                t->usable = got < t->rec_cap ? got : t->rec_cap;
                if (n >= t->usable)
                    return -1;
            }
            ig_heaprec *r = &t->recs[n];
            r->hash = h;
            r->size = size;
            r->depth = (uint32_t)depth;
            memcpy(r->ips, ips, (size_t)depth * sizeof *ips);
            r->span = *span;
            /* Publish the filled record before the count that exposes it. */
            __atomic_store_n(&t->sh->nrecs, n + 1, __ATOMIC_RELEASE);
            t->rec_index[i] = n + 1;
            return (int)n;
        }
        if (rec_equal(&t->recs[id - 1], h, size, ips, depth, span))
            return (int)(id - 1);
    }
}

static inline uint64_t ptr_hash(uint64_t ptr)
{
    return ig_hash_mix(ptr);
}

static inline uint16_t *filter_slot(ig_heaptab *t, uint64_t ptr)
{
    return &t->filter[ig_heaptab_filter_index(ptr)];
}

const uint16_t *ig_heaptab_filter(const ig_heaptab *t)
{
    return t->filter;
}

/* Inserts or replaces ptr in its stripe; returns the replaced record id
 * + 1 (0 if new, -1 if the stripe is full).  Stripe lock held. */
static int64_t live_put(ig_heaptab *t, stripe *s, uint64_t h, uint64_t ptr, uint32_t rec)
{
    uint32_t mask = t->live_cap - 1;
    for (uint32_t i = (uint32_t)(h >> 8) & mask, n = 0; n < t->live_cap; i = (i + 1) & mask, n++) {
        live_ent *e = &s->slots[i];
        if (e->ptr == ptr) {
            uint32_t old = e->rec;
            e->rec = rec;
            return (int64_t)old + 1;
        }
        if (!e->ptr) {
            if (s->count + 1 > t->live_cap - t->live_cap / 8)
                return -1; /* keep probe chains short: at most 7/8 full */
            e->ptr = ptr;
            e->rec = rec;
            __atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED); /* read without the lock */
            return 0;
        }
    }
    return -1;
}

int ig_heaptab_add(ig_heaptab *t, uint64_t ptr, uint64_t size, const uint64_t *ips, int depth)
{
    return ig_heaptab_add_span(t, ptr, size, ips, depth, NULL);
}

int ig_heaptab_add_span(ig_heaptab *t, uint64_t ptr, uint64_t size, const uint64_t *ips, int depth,
                        const ig_heapspan *span)
{
    if (!span || !span->in_span)
        span = &no_span;
    if (depth > IG_HEAP_MAX_DEPTH)
        depth = IG_HEAP_MAX_DEPTH;
    if (depth < 0)
        depth = 0;
    spin_lock(&t->rec_lock);
    int id = find_record(t, size, ips, depth, span);
    spin_unlock(&t->rec_lock);
    if (id < 0) {
        __atomic_add_fetch(&t->sh->dropped_records, 1, __ATOMIC_RELAXED);
        return -1;
    }
    ig_heaprec *r = &t->recs[id];
    __atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
    if (!ptr)
        return id;
    uint64_t h = ptr_hash(ptr);
    stripe *s = &t->stripes[h & (NSTRIPES - 1)];
    spin_lock(&s->lock);
    int64_t old = live_put(t, s, h, ptr, (uint32_t)id);
    if (old == 0)
        __atomic_add_fetch(filter_slot(t, ptr), 1, __ATOMIC_RELAXED);
    if (old >= 0)
        __atomic_add_fetch(&r->inuse, 1, __ATOMIC_RELAXED);
    spin_unlock(&s->lock);
    if (old > 0) /* the address was reused without a free we saw */
        __atomic_sub_fetch(&t->recs[old - 1].inuse, 1, __ATOMIC_RELAXED);
    else if (old < 0)
        __atomic_add_fetch(&t->sh->dropped_live, 1, __ATOMIC_RELAXED);
    return id;
}

/* Removes slot i and shifts later entries of the chain back. */
static void live_delete(ig_heaptab *t, stripe *s, uint32_t i)
{
    uint32_t mask = t->live_cap - 1;
    for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        live_ent *e = &s->slots[j];
        if (!e->ptr)
            break;
        uint32_t home = (uint32_t)(ptr_hash(e->ptr) >> 8) & mask;
        /* Move e into the hole at i unless its home lies in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            s->slots[i] = *e;
            i = j;
        }
    }
    s->slots[i].ptr = 0;
    __atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
}

bool ig_heaptab_remove(ig_heaptab *t, uint64_t ptr)
{
    uint16_t *f = filter_slot(t, ptr);
    if (__builtin_expect(__atomic_load_n(f, __ATOMIC_RELAXED) == 0, 1))
        return false;
    uint64_t h = ptr_hash(ptr);
    stripe *s = &t->stripes[h & (NSTRIPES - 1)];
    uint32_t mask = t->live_cap - 1;
    int64_t rec = -1;
    spin_lock(&s->lock);
    for (uint32_t i = (uint32_t)(h >> 8) & mask, n = 0; n < t->live_cap; i = (i + 1) & mask, n++) {
        live_ent *e = &s->slots[i];
        if (!e->ptr)
            break;
        if (e->ptr == ptr) {
            rec = e->rec;
            live_delete(t, s, i);
            __atomic_sub_fetch(f, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    spin_unlock(&s->lock);
    if (rec < 0)
        return false;
    __atomic_sub_fetch(&t->recs[rec].inuse, 1, __ATOMIC_RELAXED);
    return true;
}

size_t ig_heaptab_snapshot(ig_heaptab *t, ig_heaprec *out, size_t max)
{
    size_t n = __atomic_load_n(&t->sh->nrecs, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n && i < max; i++) {
        const ig_heaprec *r = &t->recs[i];
        out[i].hash = r->hash;
        out[i].size = r->size;
        out[i].depth = r->depth;
        out[i].flags = r->flags;
        memcpy(out[i].ips, r->ips, r->depth * sizeof r->ips[0]);
        out[i].span = r->span;
        out[i].count = __atomic_load_n(&r->count, __ATOMIC_RELAXED);
        out[i].inuse = __atomic_load_n(&r->inuse, __ATOMIC_RELAXED);
    }
    return n;
}

void ig_heaptab_get_stats(ig_heaptab *t, ig_heaptab_stats *st)
{
    memset(st, 0, sizeof *st);
    st->records = __atomic_load_n(&t->sh->nrecs, __ATOMIC_ACQUIRE);
    for (int i = 0; i < NSTRIPES; i++)
        st->live += __atomic_load_n(&t->stripes[i].count, __ATOMIC_RELAXED);
    st->dropped_records = __atomic_load_n(&t->sh->dropped_records, __ATOMIC_RELAXED);
    st->dropped_live = __atomic_load_n(&t->sh->dropped_live, __ATOMIC_RELAXED);
}

void ig_heaptab_count_dropped(ig_heaptab *t, uint64_t records, uint64_t live)
{
    if (records)
        __atomic_add_fetch(&t->sh->dropped_records, records, __ATOMIC_RELAXED);
    if (live)
        __atomic_add_fetch(&t->sh->dropped_live, live, __ATOMIC_RELAXED);
}
