/*
 * profiler/alloc/heaptab.h — the tables of sampled allocations.
 *
 * Two tables, both allocated with mmap so they never call malloc (the
 * preload shim uses them from inside its malloc hooks):
 *   records  one per distinct (call stack, allocation size): how many
 *            sampled allocations had it (count) and how many of those
 *            are still live (inuse).  Dense array, ids 0..n-1, plus an
 *            open-addressing index by hash.  Guarded by one lock: only
 *            sampled allocations insert.
 *   live     the addresses of sampled allocations not yet freed, each
 *            pointing to its record.  Lock-striped (64 stripes); a
 *            counting filter indexed by the address hash answers "not
 *            sampled" for almost every free() without taking a lock.
 * Both are fixed-size (chosen at creation); when full, new records or
 * live entries are dropped and counted, never a crash.  Thread-safe.
 * The records and their counters may live in memory the caller provides
 * (ig_heaptab_store: the preload shim keeps them in a file that `ignis
 * record` reads however the process ends); the live table, its filter and
 * the record index are always private to the process.
 */
#ifndef IG_ALLOC_HEAPTAB_H
#define IG_ALLOC_HEAPTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IG_HEAP_MAX_DEPTH 64

/* A one-frame stack of this address stands for "allocated in a signal
 * handler while its thread was inside the sampler's unwinder": counted,
 * its stack not taken (heapprof names the frame). */
#define IG_HEAP_IP_SIGNAL 1u

/* The span a sampled allocation was made in (OTEP 4947 thread context of
 * the allocating thread, read by the preload shim at the allocation):
 * part of a record's key, so each span's allocations are records of
 * their own.  All zero (in_span 0) outside any span.  No padding holes:
 * records are compared with memcmp. */
#define IG_HEAP_SPAN_NAME_MAX 62
typedef struct ig_heapspan {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t in_span;
    uint8_t name_len; /* span_name bytes, 0: none */
    char name[IG_HEAP_SPAN_NAME_MAX];
} ig_heapspan;
_Static_assert(sizeof(ig_heapspan) == 88, "ig_heapspan layout");

typedef struct ig_heaprec {
    uint64_t hash;
    uint64_t size;   /* bytes per allocation */
    uint64_t count;  /* sampled allocations */
    uint64_t inuse;  /* sampled allocations not yet freed */
    uint32_t depth;
    uint32_t flags;
    uint64_t ips[IG_HEAP_MAX_DEPTH]; /* return addresses, leaf first */
    ig_heapspan span;                /* the span it was made in */
} ig_heaprec;

typedef struct ig_heaptab ig_heaptab;

/* The counters readers of the records need, next to them in a store. */
typedef struct ig_heaptab_shared {
    uint32_t nrecs;           /* records in use, published with release order */
    uint32_t reserved_;
    uint64_t dropped_records; /* samples lost: record table full */
    uint64_t dropped_live;    /* live entries lost: stripe full */
} ig_heaptab_shared;

/* Caller-provided memory for the records: room for max_records records at
 * recs, the counters at shared (both zeroed), and reserve(ctx, need), called
 * with the record lock held before record need - 1 is first written, which
 * makes records [0, n) safe to write and returns n (n < need: the table is
 * full).  reserve may be NULL when all the memory is usable. */
typedef struct ig_heaptab_store {
    ig_heaprec *recs;
    ig_heaptab_shared *shared;
    uint32_t (*reserve)(void *ctx, uint32_t need);
    void *ctx;
} ig_heaptab_store;

typedef struct ig_heaptab_stats {
    uint64_t records;         /* distinct (stack, size) records */
    uint64_t live;            /* live sampled allocations tracked */
    uint64_t dropped_records; /* samples lost: record table full */
    uint64_t dropped_live;    /* live entries lost: stripe full */
} ig_heaptab_stats;

/* Creates the tables (mmap, MAP_NORESERVE: only touched pages cost).
 * max_records and live_per_stripe are rounded up to powers of two.
 * NULL when the mapping fails. */
ig_heaptab *ig_heaptab_new(uint32_t max_records, uint32_t live_per_stripe);

/* The same with the records in store (max_records rounded up must fit
 * it: ig_heaptab_capacity tells how many).  Uses only mmap: callable in
 * a forked child of a threaded process. */
ig_heaptab *ig_heaptab_new_with(uint32_t max_records, uint32_t live_per_stripe, const ig_heaptab_store *store);
uint32_t ig_heaptab_capacity(uint32_t max_records);

/* Unmaps the table (not a caller's store).  Writes nothing: safe on the
 * copy of a table a forked child inherited. */
void ig_heaptab_destroy(ig_heaptab *t);

/* Records a sampled allocation of `size` bytes at `ptr` with its stack
 * (depth frames, truncated to IG_HEAP_MAX_DEPTH).  ptr 0 counts the
 * allocation without tracking it as live.  Returns the record id or -1
 * when the record table is full. */
int ig_heaptab_add(ig_heaptab *t, uint64_t ptr, uint64_t size, const uint64_t *ips, int depth);
/* The same for an allocation made in span *span (NULL: outside any span). */
int ig_heaptab_add_span(ig_heaptab *t, uint64_t ptr, uint64_t size, const uint64_t *ips, int depth,
                        const ig_heapspan *span);

/* The live filter: filter[ig_heaptab_filter_index(ptr)] is 0 when ptr is
 * certainly not a live sampled allocation.  Lets free() hooks decide
 * inline, with one multiply and one load, before calling remove. */
static inline uint32_t ig_heaptab_filter_index(uint64_t ptr)
{
    return (uint32_t)(ptr >> 4) & 0xffff; /* neighbours share cache lines */
}
const uint16_t *ig_heaptab_filter(const ig_heaptab *t);

/* Forgets a live sampled allocation; false (cheaply) when ptr is not one.
 * A second free of the same pointer finds nothing and is harmless. */
bool ig_heaptab_remove(ig_heaptab *t, uint64_t ptr);

/* Copies up to max records into out (the caller's memory); returns how
 * many records exist (may exceed max). */
size_t ig_heaptab_snapshot(ig_heaptab *t, ig_heaprec *out, size_t max);

/* Counts without taking a lock (safe anywhere, even in a signal handler
 * that interrupted a table operation); live is a moment's sum. */
void ig_heaptab_get_stats(ig_heaptab *t, ig_heaptab_stats *st);

/* Counts samples (records) and live entries lost outside the table, e.g.
 * by a caller's full queue.  Lock-free. */
void ig_heaptab_count_dropped(ig_heaptab *t, uint64_t records, uint64_t live);

#endif
