/*
 * libtrace/internal.h — data structures shared by the tracing SDK's files.
 *
 * Layout of the SDK:
 *   tcache.c     per-thread cache: span block pools, id generator, counters
 *   clock.c      timestamps: CLOCK_REALTIME, or the opt-in TSC clock
 *   span.c       span start/end, attributes, events, links, limits
 *   context.c    contexts, baggage storage, the thread-local current stack
 *   threadctx.c  the current span published per thread (OTEP 4947 record)
 *   procctx.c    the process context mapping OTEL_CTX (OTEP 4719)
 *   sampler.c    samplers (always/ratio/parent-based)
 *   resource.c   resource detection and OTEL_RESOURCE_ATTRIBUTES
 *   env.c        logging and environment parsing
 *   provider.c   provider and tracers, options, counters, fork registry
 *   batch.c      batch, simple and callback processors (rings, export thread)
 *   plugin.c     the public exporter/processor constructors (callbacks)
 *   spandata.c   the public read-only span view (ignis_span_data_*)
 *   console.c    console exporter
 *   w3c.c b3.c baggage.c propagate.c   propagation formats and carriers
 *
 * A span is one fixed-size block (IG_SPAN_BLOCK bytes): the header below
 * followed by a bump arena holding the name, attributes, events and links;
 * rare overflow goes to malloc'd chunks.  Blocks come from the creating
 * thread's cache and return to it through a lock-free remote-free list, so
 * the export thread never touches malloc for spans.
 */
#ifndef IG_TRACE_INTERNAL_H
#define IG_TRACE_INTERNAL_H

#include "ignis/trace.h"
#include "libtrace/export.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#define IG_SPAN_BLOCK 1024
#define IG_NSTRIPES 256

#define IG_LIKELY(x) __builtin_expect(!!(x), 1)
#define IG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- logging and environment (env.c) ---------------------------------- */
void ig_tlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Integer env var >= min; unset -> def; invalid -> warning + def. */
int ig_env_int(const char *name, int def, int min);
/* Same for a string value (no env lookup): returns 0 ok, -1 invalid. */
int ig_parse_int(const char *s, long min, long max, long *out);
/* Trims spaces/tabs; returns length, *start set. */
size_t ig_trim(const char *s, size_t len, const char **start);


/* ---- per-thread cache (tcache.c) ------------------------------------------ */
typedef struct ig_stack_entry {
    ignis_span *span;     /* ref held; or NULL */
    ignis_context *ctx;   /* ref held; or NULL */
} ig_stack_entry;

typedef struct ig_tcache ig_tcache;
typedef struct ig_tctx_block ig_tctx_block;

/* A thread's span queue for one batch processor (batch.c), found by the
 * processor's unique id.  Written by the owning thread; cleared under the
 * registry lock when the processor is freed. */
typedef struct ig_ring ig_ring;
typedef struct ig_ring_slot {
    _Atomic uint64_t proc;
    _Atomic(ig_ring *) ring;
} ig_ring_slot;
#define IG_RING_SLOTS 4

struct ig_tcache {
    uint64_t rng[4];                     /* id generator seed (wyrand uses rng[0]) */
    ignis_span **stack;                  /* local free blocks (a pointer stack: */
    uint32_t nstack, capstack;           /* popping one does not touch the block) */
    _Atomic(ignis_span *) remote_free;   /* return nodes pushed by other threads */
    unsigned stripe;                     /* counter stripe index */
    bool owns_stripe;                    /* stripe used by this cache only */
    ig_stack_entry *scopes;              /* current span/context stack */
    uint32_t depth, cap;
    ignis_span *parked;                  /* last span whose scope ended here, its ref still held (context.c) */
    uint64_t clk_tsc, clk_ns;            /* TSC clock anchor (clock.c) */
    ig_tcache *next;                     /* registry */
    bool orphan;                         /* thread exited; adoptable */
    ig_ring_slot rings[IG_RING_SLOTS];   /* most recently used first */
    ig_tctx_block *tctx;                 /* published current span (threadctx.c), or NULL */
    int64_t tid;                         /* the owning thread's id (gettid), for thread.id */
    const char *thread_name;             /* interned thread name (thread.name), or NULL */
    uint32_t thread_name_len;
    uint32_t nthread_attrs;              /* 1 or 2: thread.id[, thread.name] */
    uint64_t thread_keymask;             /* their key bits (span.c's key mask) */
    ig_attr thread_attrs[2];             /* copied into each recording span */
};

ig_tcache *ig_tcache_slow(void);
extern __thread ig_tcache *ig_tls_cache __attribute__((tls_model("initial-exec")));

static inline ig_tcache *ig_tcache_get(void)
{
    ig_tcache *tc = ig_tls_cache;
    return IG_LIKELY(tc != NULL) ? tc : ig_tcache_slow();
}

/* Ids come from wyrand (Wang Yi): one multiply per 64 bits, passes
 * BigCrush and PractRand; its state is rng[0], seeded from getrandom(). */
static inline uint64_t ig_rand64(ig_tcache *tc)
{
    uint64_t x = tc->rng[0] += 0xa0761d6478bd642full;
    unsigned __int128 m = (unsigned __int128)x * (x ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/* ---- time (clock.c) --------------------------------------------------------- */
extern bool ig_clock_tsc;
extern _Atomic uint64_t ig_clock_mult;
extern uint64_t ig_clock_window;
void ig_clock_setup(void); /* reads IGNIS_TRACE_CLOCK once */
uint64_t ig_clock_reanchor(ig_tcache *tc);

/* Nanoseconds since the epoch (CLOCK_REALTIME, or the TSC clock). */
static inline uint64_t ig_now_ns(void)
{
#if defined(__x86_64__)
    ig_tcache *tc = ig_tls_cache;
    if (ig_clock_tsc && IG_LIKELY(tc != NULL)) {
        uint64_t d = __builtin_ia32_rdtsc() - tc->clk_tsc;
        if (IG_UNLIKELY(d >= ig_clock_window))
            return ig_clock_reanchor(tc);
        return tc->clk_ns +
               (uint64_t)(((unsigned __int128)d * atomic_load_explicit(&ig_clock_mult, memory_order_relaxed)) >> 32);
    }
#endif
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reseeds the calling thread's generator (after fork). */
void ig_tcache_reseed(ig_tcache *tc);
ignis_span *ig_span_block_alloc_slow(ig_tcache *tc);
void ig_span_block_free(ignis_span *s);
/* Counter stripes handed out so far (a sum need not read the others). */
unsigned ig_tcache_stripes_used(void);
/* The registry lock: held while a thread's ring slots change hands. */
void ig_tcache_lock(void);
void ig_tcache_unlock(void);
/* Clears every thread's slot for processor `proc` (caller holds the lock). */
void ig_tcache_forget_ring(uint64_t proc);
void ig_tcache_atfork_prepare(void);
void ig_tcache_atfork_parent(void);
void ig_tcache_atfork_child(void);
/* Forks this process is down from (bumped in each child, single-threaded
 * then): a counted span keeps it from its start, and a fork child neither
 * counts nor exports the end of a span its parent started. */
extern uint16_t ig_fork_gen;

/* ---- counters --------------------------------------------------------------- */
typedef struct ig_stripe {
    _Alignas(64) _Atomic uint64_t started;
    _Atomic uint64_t sampled;
    _Atomic uint64_t ended;
    _Atomic uint64_t kept;
    _Atomic uint64_t discarded; /* ended with no processor (exporter none) */
} ig_stripe;

/* Increment of a per-thread stripe: a plain load+store when the stripe is
 * owned by one thread (no lock prefix on the hot path), else atomic add. */
static inline void ig_count(ig_tcache *tc, _Atomic uint64_t *c)
{
    if (IG_LIKELY(tc->owns_stripe))
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- sampler (sampler.c) --------------------------------------------------- */
typedef struct ig_sampler {
    ignis_sampler_kind kind;
    double ratio;
    uint64_t threshold; /* reject when the trace id's low 56 bits < threshold */
} ig_sampler;

void ig_sampler_init(ig_sampler *s, ignis_sampler_kind kind, double ratio);

/* The trace id's low 56 bits (bytes 9..15, big-endian) against the
 * threshold: one load and a byte swap. */
static inline bool ig_ratio_sampled(uint64_t threshold, const uint8_t tid[16])
{
    uint64_t w;
    memcpy(&w, tid + 8, 8);
    return (__builtin_bswap64(w) & 0x00ffffffffffffffull) >= threshold;
}

/* parent_valid/parent_sampled describe the parent span context; remote and
 * local parents are treated alike (the spec's default delegates). */
static inline bool ig_sampler_should_sample(const ig_sampler *s, const uint8_t tid[16], bool parent_valid,
                                            bool parent_remote, bool parent_sampled)
{
    (void)parent_remote;
    switch (s->kind) {
    case IGNIS_SAMPLER_ALWAYS_ON:
        return true;
    case IGNIS_SAMPLER_ALWAYS_OFF:
        return false;
    case IGNIS_SAMPLER_TRACEIDRATIO:
        return ig_ratio_sampled(s->threshold, tid);
    case IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON:
        return parent_valid ? parent_sampled : true;
    case IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return parent_valid ? parent_sampled : false;
    case IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return parent_valid ? parent_sampled : ig_ratio_sampled(s->threshold, tid);
    }
    return true;
}
uint64_t ig_ratio_threshold(double ratio);
/* Parses OTEL_TRACES_SAMPLER / _ARG values; warns and defaults. */
void ig_sampler_from_strings(const char *name, const char *arg, ignis_sampler_kind *kind, double *ratio);
const char *ig_sampler_name(ignis_sampler_kind k);

/* ---- resource (resource.c) ------------------------------------------------- */
typedef struct ig_kv {
    char *key, *value;
} ig_kv;
/* Parses OTEL_RESOURCE_ATTRIBUTES syntax (k=v,k2=v2, percent-decoded).
 * Returns 0 and a malloc'd array, or -1 with a reason in why. */
int ig_resource_attrs_parse(const char *s, ig_kv **out, size_t *n, char *why, size_t whylen);
void ig_kv_free(ig_kv *kv, size_t n);

/* Owned attribute storage (for resource and scopes). */
typedef struct ig_attr_set {
    ig_attr *attrs;
    size_t n;
} ig_attr_set;
void ig_attr_set_put(ig_attr_set *set, const ignis_attribute *a);
/* Copies a's value (a valid type) into d, strings cut to vlimit bytes at
 * a UTF-8 boundary (-1: no limit); every string and array is one
 * alloc(ctx, size) call (span.c: the span arena; resource.c: malloc). */
typedef void *ig_alloc_fn(void *ctx, size_t n);
void ig_attr_copy_value(ig_attr *d, const ignis_attribute *a, int vlimit, ig_alloc_fn *alloc, void *ctx);
void ig_attr_set_free(ig_attr_set *set);
const ig_attr *ig_attr_set_find(const ig_attr_set *set, const char *key);
/* Builds the provider resource. */
void ig_resource_build(ig_attr_set *res, const ignis_provider_options *o);

struct ig_sc;

/* ---- processor (batch.c) --------------------------------------------------- */
/* The public ignis_span_processor is this processor. */
typedef struct ignis_span_processor ig_processor;
enum { IG_PROC_BATCH, IG_PROC_SIMPLE, IG_PROC_CALLBACKS };
ig_processor *ig_batch_processor_new(ig_exporter *e, const ignis_batch_options *o);
ig_processor *ig_simple_processor_new(ig_exporter *e, int export_timeout_ms);
/* An application's processor (a copy of its callbacks). */
ig_processor *ig_callback_processor_new(const ignis_processor_options *cb);
int ig_processor_kind(const ig_processor *p);
/* Whether p was handed to a provider; marks it so. */
bool ig_processor_given(const ig_processor *p);
void ig_processor_give(ig_processor *p);
/* Batch/simple: takes over the span reference; never blocks on I/O in
 * batch mode. */
void ig_processor_on_end(ig_processor *p, ignis_span *s);
/* Callbacks: a recording span started / ended. */
void ig_processor_started(ig_processor *p, ignis_span *s, const ignis_span_context *parent);
void ig_processor_ended(ig_processor *p, const ignis_span *s);
int ig_processor_force_flush(ig_processor *p, int timeout_ms);
/* 0 ok, -1 timed out (exporter abandoned). */
int ig_processor_shutdown(ig_processor *p, int timeout_ms);
/* Frees (only after a successful shutdown; else leaks on purpose). */
void ig_processor_free(ig_processor *p);
bool ig_processor_abandoned(ig_processor *p);
/* Waits (bounded) until the export thread has ended; true if it has (or
 * never ran).  For tests of an abandoned shutdown. */
bool ig_processor_wait_exit(ig_processor *p, int timeout_ms);
/* After an abandoned shutdown: either the thread already exited (returns
 * true; the exporter is destroyed and the caller frees as usual) or the
 * thread will call cb(arg) as its last act, which must free everything. */
bool ig_processor_hand_over(ig_processor *p, void (*cb)(void *), void *arg);
uint64_t ig_processor_dropped(ig_processor *p);
/* Span queues (one per thread that ended spans; reused across threads). */
size_t ig_processor_rings(ig_processor *p);
/* Exporter counters: exported, failed, rejected, retries (final after shutdown). */
void ig_processor_counters(ig_processor *p, uint64_t out[4]);
void ig_processor_atfork_prepare(ig_processor *p);
void ig_processor_atfork_parent(ig_processor *p);
void ig_processor_atfork_child(ig_processor *p);

/* ---- exporters -------------------------------------------------------------- */
ig_exporter *ig_console_exporter_new(FILE *out);

/* ---- provider, tracer, span ------------------------------------------------- */
struct ignis_tracer {
    ignis_tracer_provider *tp;
    ig_scope scope;
    ig_attr_set scope_attrs;
    char *name, *version;
    ignis_tracer *next;
};

struct ignis_tracer_provider {
    ig_attr_set resource_attrs;
    ig_resource resource;
    ig_sampler sampler;
    ignis_span_limits limits;
    bool keep_errors;
    bool disabled;
    bool thread_attrs;      /* thread.id / thread.name on recording spans */
    bool publishes_ctx;     /* thread_context on: may own the process context */
    _Atomic bool shut;
    ig_processor *proc;     /* the built-in one for o->exporter; NULL for `none` */
    ig_exporter *exporter;  /* owned by proc when proc != NULL */
    ig_processor **queues;  /* batch/simple processors (given ones, then proc) */
    size_t nqueues;
    ig_processor **hooks;   /* callback processors, in the order given */
    size_t nhooks;
    bool start_hooks;       /* some hook has on_start */
    _Atomic int pending_release; /* abandoned threads that will free the provider */
    pthread_mutex_t lock;   /* tracers list */
    ignis_tracer *tracers;
    ig_stripe *stripes;     /* IG_NSTRIPES */
    _Atomic uint64_t dropped_late;   /* sampled spans that ended after shutdown began */
    int64_t detected_pid;   /* process.pid as detected (updated in a fork child) */
    bool logged;
    ignis_tracer_provider *next_live; /* fork registry */
};

/* Internal constructor with an explicit exporter (tests, bench). */
ignis_tracer_provider *ig_tracer_provider_new_with_exporter(const ignis_provider_options *o, ig_exporter *e,
                                                            char *errbuf, size_t errlen);
/* Span start/end calls into the callback processors (span.c). */
void ig_provider_run_start_hooks(ignis_tracer_provider *tp, ignis_span *s, const struct ig_sc *parent);
void ig_provider_run_end_hooks(ignis_tracer_provider *tp, const ignis_span *s);
/* An exported span with several batch/simple processors, or none. */
void ig_provider_dispatch(ignis_tracer_provider *tp, ig_tcache *tc, ignis_span *s);

enum {
    IG_SPAN_RECORDING = 1 << 0,
    IG_SPAN_SAMPLED = 1 << 1,
    IG_SPAN_ENDED = 1 << 2,
};

typedef struct ig_chunk {
    struct ig_chunk *next;
    char data[];
} ig_chunk;

struct ignis_span {
    /* first cache line: what the export thread touches besides the record */
    _Atomic uint32_t refs;
    uint8_t st;
    uint16_t fork_gen;     /* ig_fork_gen when it started: a span started before a fork is the parent's */
    ig_tcache *home;
    ignis_span *next_free;
    ig_chunk *chunks;
    ignis_tracer *tracer;
    char *ap, *aend;       /* arena bump pointer / end */
    uint32_t attr_cap, event_cap, link_cap;
    uint32_t attr_fast;    /* attribute slots the fast path may fill: min(cap, count limit) */
    uint32_t vlimit;       /* attribute value length limit (UINT32_MAX: none) */
    uint64_t keymask;      /* one bit per key hash set: a clear bit proves a key is new */
    uint32_t pub_name_len; /* bytes of d.name the thread context publishes (recording spans) */
    ig_span_data d;
    _Alignas(16) char arena[];
};

static inline ignis_span *ig_span_block_alloc(ig_tcache *tc)
{
    if (IG_LIKELY(tc->nstack))
        return tc->stack[--tc->nstack];
    return ig_span_block_alloc_slow(tc);
}

/* A recording span will probably be followed by another: its block is
 * likely cold (last touched by the export thread), so start fetching it. */
static inline void ig_span_block_prefetch_next(ig_tcache *tc)
{
    if (tc->nstack) {
        char *next = (char *)tc->stack[tc->nstack - 1];
        for (int i = 0; i < 6; i++)
            __builtin_prefetch(next + 64 * i, 1, 3);
    }
}

void ig_tcache_stack_grow(ig_tcache *tc);

/* Returns a block to its own thread's cache (caller is the home thread). */
static inline void ig_span_block_push_local(ig_tcache *tc, ignis_span *s)
{
    if (IG_UNLIKELY(tc->nstack == tc->capstack))
        ig_tcache_stack_grow(tc);
    tc->stack[tc->nstack++] = s;
}

/* The export thread returns blocks in nodes: the first block of a group
 * lists the others in its arena, so the rest are not written at all. */
typedef struct ig_ret_node {
    uint32_t n;
    ignis_span *p[];
} ig_ret_node;
#define IG_RET_CAP ((IG_SPAN_BLOCK - offsetof(ignis_span, arena) - sizeof(ig_ret_node)) / sizeof(ignis_span *))
/* Pushes node (whose arena lists n more blocks) to its home thread. */
void ig_span_block_return(ignis_span *node);

void ig_span_free(ignis_span *s);
/* Drops a reference; true if it was the last one (chunks are then freed
 * and the caller must return the block with ig_span_block_free*). */
bool ig_span_unref_last(ignis_span *s);
/* Frees the overflow chunks of a span (export thread, exclusive owner). */
void ig_span_free_chunks(ignis_span *s);
static inline void ig_span_unref(ignis_span *s)
{
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1) {
        ig_tcache *home = s->home;
        if (IG_LIKELY(!s->chunks && home == ig_tls_cache)) {
            ig_span_block_push_local(home, s);
            return;
        }
        ig_span_free(s);
    } else if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        ig_span_free(s);
    }
}

static inline ignis_span *ig_span_ref(ignis_span *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

/* Scope references without a second atomic read-modify-write: a scope's
 * end parks its span's reference in tc->parked instead of dropping it;
 * when the span then ends on this thread (the usual order: scope_end,
 * span_end), both of its references are this thread's and refs == 2
 * proves that nobody else holds one (a holder would make it 3), so the
 * parked one is dropped with a plain store.  Otherwise the next parked
 * span, or the thread's exit, drops it the usual way. */
static inline void ig_span_park(ig_tcache *tc, ignis_span *s)
{
    ignis_span *old = tc->parked;
    tc->parked = s;
    if (IG_UNLIKELY(old != NULL))
        ig_span_unref(old);
}

/* Called by ignis_span_end(s) on tc's thread with tc->parked == s. */
static inline void ig_span_unpark(ig_tcache *tc, ignis_span *s)
{
    tc->parked = NULL;
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 2)
        atomic_store_explicit(&s->refs, 1, memory_order_relaxed); /* the caller's ref is the other */
    else
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel); /* not the last: the caller's is left */
}

/* A parent span context as seen by span start and inject. */
typedef struct ig_sc {
    const uint8_t *trace_id, *span_id;
    uint8_t flags;
    bool remote;
    bool valid;
    const char *tracestate;
} ig_sc;

void ig_context_sc(const ignis_context *ctx, ig_sc *sc);

static inline void ig_span_sc(const ignis_span *s, ig_sc *sc)
{
    sc->trace_id = s->d.trace_id;
    sc->span_id = s->d.span_id;
    sc->flags = s->d.flags;
    sc->remote = false;
    sc->valid = true;
    sc->tracestate = s->d.tracestate;
}

/* The span context of this thread's current span/context. */
static inline void ig_current_sc(ig_sc *sc)
{
    ig_tcache *tc = ig_tls_cache;
    if (!tc || !tc->depth) {
        sc->valid = false;
        return;
    }
    ig_stack_entry *e = &tc->scopes[tc->depth - 1];
    if (e->span)
        ig_span_sc(e->span, sc);
    else
        ig_context_sc(e->ctx, sc);
}

/* ---- context (context.c) ----------------------------------------------------- */
typedef struct ig_bag_entry {
    char *key, *value, *meta;
} ig_bag_entry;

typedef struct ig_baggage {
    _Atomic uint32_t refs;
    size_t n;
    ig_bag_entry e[];
} ig_baggage;

struct ignis_context {
    _Atomic uint32_t refs;
    ignis_span *span;  /* local span (ref) */
    bool has_remote;
    uint8_t trace_id[16], span_id[8], flags;
    char *tracestate;  /* owned (remote only) */
    ig_baggage *bag;   /* ref or NULL */
    /* B3 debug flag of an extracted trace: kept, like baggage, by contexts
     * derived from this one, and injected again for spans of that trace. */
    bool b3_debug;
    uint8_t debug_trace[16];
};

ig_baggage *ig_baggage_new(const ig_bag_entry *e, size_t n); /* copies */
void ig_baggage_unref(ig_baggage *b);
ig_baggage *ig_current_baggage(void);
/* The nearest context entry of this thread's scope stack, or NULL. */
const ignis_context *ig_current_context_entry(void);
/* true when ctx carries the B3 debug flag for the trace trace_id. */
bool ig_context_b3_debug(const ignis_context *ctx, const uint8_t trace_id[16]);
const ig_baggage *ig_context_baggage(const ignis_context *ctx);
/* A new context from base with its baggage replaced (bag ref taken). */
ignis_context *ig_context_with_bag(const ignis_context *base, ig_baggage *bag);
void ig_tcache_stack_clear(ig_tcache *tc);

/* ---- propagation formats ------------------------------------------------------ */
typedef struct ig_remote {
    uint8_t trace_id[16], span_id[8], flags;
    bool valid;
    bool debug; /* B3 debug ("d", X-B3-Flags: 1); implies sampled */
} ig_remote;

/* traceparent: 0 valid, -1 invalid. */
int ig_traceparent_parse(const char *s, size_t len, ig_remote *out);
void ig_traceparent_format(const uint8_t tid[16], const uint8_t sid[8], uint8_t flags, char out[56]);
/* tracestate: returns the normalised value (malloc'd, members joined by ","),
 * NULL for empty or invalid; *invalid set on a grammar/limit violation. */
char *ig_tracestate_parse(const char *s, size_t len, bool *invalid);
/* baggage: parses members (invalid ones skipped, a repeated key keeps the
 * last value) into a new baggage; NULL if nothing valid.  `base` is unused
 * (extracted baggage replaces the context's, as in OpenTelemetry). */
ig_baggage *ig_baggage_parse(const char *s, size_t len, const ig_baggage *base);
/* Formats baggage within the W3C limits (malloc'd; NULL if empty). */
char *ig_baggage_format(const ig_baggage *b);
/* B3 single header: 0 valid, -1 invalid. */
int ig_b3_parse_single(const char *s, size_t len, ig_remote *out);
/* B3 multi: any argument may be NULL. */
int ig_b3_parse_multi(const char *tid, const char *sid, const char *sampled, const char *flags, ig_remote *out);

int ig_hex_decode(const char *s, size_t n, uint8_t *out); /* lowercase only */
void ig_hex_encode(const uint8_t *in, size_t n, char *out);
static inline bool ig_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- the published current span (threadctx.c, procctx.c) -------------------------
 *
 * OTEP 4947 "Thread Context": each thread's TLS pointer otel_thread_ctx_v1
 * points at a Thread-Local Context Record.  libignis keeps one record per
 * thread cache for the cache's life and, as the spec allows, leaves the
 * pointer fixed and toggles `valid` around each update.  The record is
 * preceded by 8 bytes of its own (owner thread id, update count) that only
 * ignis readers use; see include/ignis/trace.h for the whole contract. */
#define IG_TCTX_NAME_MAX 64 /* span name bytes published (cut at a UTF-8 boundary) */

typedef struct ig_otel_record {   /* OTEP 4947, byte-packed, host endianness */
    uint8_t trace_id[16];         /* 0 */
    uint8_t span_id[8];           /* 16 */
    uint8_t valid;                /* 24: 1 = valid, anything else = ignore */
    uint8_t trace_flags;          /* 25 */
    uint16_t attrs_data_size;     /* 26 */
    uint8_t attrs_data[2 + IG_TCTX_NAME_MAX]; /* 28: {key index, length, bytes} */
} ig_otel_record;

struct ig_tctx_block {
    uint32_t tid;                 /* owner thread (0: none: the thread exited) */
    uint32_t seq;                 /* updates so far (wraps) */
    ig_otel_record rec;           /* what otel_thread_ctx_v1 points at */
};

_Static_assert(offsetof(ig_otel_record, span_id) == 16, "OTEP 4947 span-id at 16");
_Static_assert(offsetof(ig_otel_record, valid) == 24, "OTEP 4947 valid at 24");
_Static_assert(offsetof(ig_otel_record, trace_flags) == 25, "OTEP 4947 trace-flags at 25");
_Static_assert(offsetof(ig_otel_record, attrs_data_size) == 26, "OTEP 4947 attrs-data-size at 26");
_Static_assert(offsetof(ig_otel_record, attrs_data) == 28, "OTEP 4947 attrs-data at 28");
_Static_assert(offsetof(ig_tctx_block, rec) == 8, "ignis block header is 8 bytes");

/* Nonzero once a provider turned publishing on (it stays on). */
extern _Atomic int ig_tctx_enabled;
/* Gives tc a record, registers it and points this thread's TLS at it;
 * then publishes the current span (caller: the owning thread). */
void ig_tctx_attach(ig_tcache *tc);
/* The thread ended or forked away: record invalid, no owner (registry lock held). */
void ig_tctx_detach(ig_tcache *tc);
/* Fills tc's tid and interned thread name (registry lock held). */
void ig_tcache_identify(ig_tcache *tc);
/* Turns publishing on (provider creation with thread_context set). */
void ig_tctx_enable(void);
/* The OTEP 4719 process context: publishes (or updates) the mapping with
 * `res` plus the threadlocal.* keys; 0 ok, -1 failed (logged). */
int ig_procctx_publish(const ig_attr_set *res);
/* Unmaps the process context (no provider left to describe the process). */
void ig_procctx_drop(void);
/* In a fork child: the mapping was not inherited (MADV_DONTFORK). */
void ig_procctx_forget(void);
/* Address of the published thread directory (the ignis extension). */
uint64_t ig_tctx_directory_address(void);

/* Copies n (< 2 * 32) bytes with at most two fixed-size moves of each
 * size the compiler inlines (no call into memcpy for a variable length). */
static inline __attribute__((always_inline)) void ig_copy_upto64(uint8_t *d, const char *s, size_t n)
{
    if (n >= 32) {
        memcpy(d, s, 32);
        memcpy(d + n - 32, s + n - 32, 32);
    } else if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n) {
        d[0] = (uint8_t)s[0];
        d[n / 2] = (uint8_t)s[n / 2];
        d[n - 1] = (uint8_t)s[n - 1];
    }
}

/* Publishing: `valid` cleared, a compiler fence, ids, flags and name, a
 * release store of `valid`.  Stores only.  The spec's model is a reader of
 * a stopped or interrupted thread (signal-handler semantics), for which
 * compiler ordering is enough; on x86 the stores also reach a reader on
 * another CPU in this order (TSO), and such a reader checks `seq` anyway. */
static inline __attribute__((always_inline)) void ig_tctx_begin(ig_tctx_block *b)
{
    __atomic_store_n(&b->rec.valid, 0, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    b->seq++;
}

static inline __attribute__((always_inline)) void ig_tctx_put(ig_tctx_block *b, const uint8_t *tid,
                                                              const uint8_t *sid, uint8_t flags,
                                                              const ignis_span *s)
{
    ig_otel_record *r = &b->rec;
    memcpy(r->trace_id, tid, 16);
    memcpy(r->span_id, sid, 8);
    r->trace_flags = flags;
    /* pub_name_len, not st: st changes when another thread ends the span
     * (a context may carry it here); pub_name_len is fixed at start. */
    uint32_t n = s ? s->pub_name_len : 0;
    if (n) {
        r->attrs_data[0] = 0; /* key index 0: span_name */
        r->attrs_data[1] = (uint8_t)n;
        ig_copy_upto64(r->attrs_data + 2, s->d.name, n);
        n += 2;
    }
    r->attrs_data_size = (uint16_t)n;
    __atomic_store_n(&r->valid, 1, __ATOMIC_RELEASE);
}

/* The span just made current (s non-NULL). */
static inline __attribute__((always_inline)) void ig_tctx_publish_span(ig_tctx_block *b, const ignis_span *s)
{
    ig_tctx_begin(b);
    ig_tctx_put(b, s->d.trace_id, s->d.span_id, s->d.flags, s);
}

/* The current span (or none) of tc's scope stack. */
static inline __attribute__((always_inline)) void ig_tctx_publish(ig_tctx_block *b, const ig_tcache *tc)
{
    ig_tctx_begin(b);
    if (!tc->depth)
        return;
    const ig_stack_entry *e = &tc->scopes[tc->depth - 1];
    const ignis_span *s = e->span ? e->span : e->ctx->span;
    if (s)
        ig_tctx_put(b, s->d.trace_id, s->d.span_id, s->d.flags, s);
    else if (e->ctx->has_remote)
        ig_tctx_put(b, e->ctx->trace_id, e->ctx->span_id, e->ctx->flags, NULL);
    /* else an empty context: no span is current */
}

/* After the scope stack changed: publish, if this process publishes. */
static inline void ig_tctx_sync(ig_tcache *tc)
{
    ig_tctx_block *b = tc->tctx;
    if (IG_LIKELY(b != NULL))
        ig_tctx_publish(b, tc);
    else if (IG_UNLIKELY(atomic_load_explicit(&ig_tctx_enabled, memory_order_relaxed)))
        ig_tctx_attach(tc);
}

#endif
