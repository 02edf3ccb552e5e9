/*
 * libtrace/batch.c — the batch and simple span processors.
 *
 * Batch: every thread that ends spans gets its own bounded ring for the
 * processor (a single-producer/single-consumer queue; capacity
 * max_queue_size rounded up to a power of two).  Ending a span writes one
 * cell and bumps the ring's tail: no compare-and-swap and no cache line
 * written by another producer, so threads do not slow each other down.
 * The export thread is the one consumer of all rings.
 *
 * max_queue_size stays a bound on the spans queued by all threads
 * together: a producer takes queue credits from the processor's shared
 * budget `avail` in chunks (up to 64, fewer as threads multiply, one
 * credit when the queue is small), spends one per span, and drops and
 * counts a span when no credit is left; the export thread gives credits
 * back as it takes spans.  A thread's ring is found in its tcache by the
 * processor's id; when a thread exits its tcache — rings included — is
 * adopted by the next new thread, so rings are bounded by the peak number
 * of live threads, and the export thread keeps draining a dead thread's
 * ring meanwhile.
 *
 * The export thread (started lazily by the first span to end, so a child
 * after fork() gets its own) sleeps in poll() on an eventfd for at most
 * schedule_delay ms.  A producer that refills its credits while the
 * thread sleeps and sees at least a batch outstanding writes the eventfd
 * (checked once per credit chunk, so a wake-up comes within a chunk of the
 * batch size); woken so, it exports full batches only, and the partial
 * rest when the schedule delay elapses, as the OTel batch processor does
 * (when the credits taken reach a batch but fewer spans are queued —
 * credits still in producers' hands — it sleeps 1 ms, not the delay, then
 * takes what is there: no wake-up is lost).  Flush and shutdown requests are generation numbers under a
 * mutex that is never held during an export; callers wait on a condition
 * variable with a deadline, so force_flush/shutdown always return within
 * their timeout even when the exporter is stuck (shutdown then abandons
 * the thread and its memory on purpose).
 *
 * Fork: the prepare handler takes the processor mutex (never held during
 * I/O, so this cannot deadlock on a mid-export thread); in the child the
 * mutex, condition and eventfd are recreated, queued spans are released
 * uncounted (they are the parent's, which exports them), the counters,
 * rings and credit budget are reset, the exporter drops its parent state
 * (after_fork_child) and the export thread restarts on the next span.
 *
 * Simple: exports each span synchronously from ignis_span_end under a
 * mutex (debugging only).
 *
 * Callbacks: an application's span processor (ignis_span_processor_new):
 * on_start/on_end are called from the SDK's hot path, flush and shutdown
 * are passed on.
 *
 * A shutdown that runs out of time: past its deadline no export starts;
 * the deadline's "expiry" (by the shutdown caller when its wait times out,
 * or by the export thread if it gets there first) counts as dropped every
 * span still queued and the part of the export in flight that the
 * exporter has not accounted yet, freezes the exporter's counters (what
 * the abandoned export does later is not counted twice) and asks the
 * exporter to cancel the export in flight.  Batches are taken and the
 * export in flight is recorded under the processor mutex, so the count is
 * exact: once shutdown returns, every span handed to the processor is
 * exported, failed, rejected or dropped.
 */
#include "libtrace/internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A ring cell.  The span pointer carries two tag bits (blocks are 64-byte
 * aligned): EXCLUSIVE — the queue holds the only reference, so the export
 * thread needs not read the block's reference count; CHUNKS — the span has
 * overflow chunks to free.  The home cache travels in the cell so that
 * returning the block needs no read of it either. */
typedef struct ig_cell {
    uintptr_t span;
    ig_tcache *home;
} ig_cell;

enum { TAG_EXCLUSIVE = 1, TAG_CHUNKS = 2, TAG_MASK = 63 };

static inline ignis_span *untag(uintptr_t t) { return (ignis_span *)(t & ~(uintptr_t)TAG_MASK); }

/* One thread's queue.  The producer's line and the consumer's line are
 * apart; each side reads the other's index only when it must. */
struct ig_ring {
    _Alignas(64) _Atomic size_t tail; /* producer: next cell to fill */
    size_t head_seen;                 /* producer: last head it read */
    uint32_t credits;                 /* producer: queue credits in hand */
    _Atomic uint64_t dropped;         /* producer: spans dropped (single writer) */
    _Alignas(64) _Atomic size_t head; /* consumer: next cell to take */
    _Alignas(64) ig_ring *next;       /* processor's list; set before publication */
    _Atomic bool owned;               /* held by some thread's slot */
    size_t mask;
    ig_cell cells[];
};

enum { TS_NONE = 0, TS_RUNNING = 1, TS_FAILED = 2 };

struct ignis_span_processor {
    bool is_batch;
    int kind;            /* IG_PROC_* */
    ig_exporter *e;
    int export_timeout_ms;
    pthread_mutex_t emu; /* simple: serialises export calls */
    /* batch: read by producers, rarely written */
    _Alignas(64) uint64_t id;    /* unique, never reused: the tcache slot key */
    size_t ring_mask;
    size_t queue_size;           /* max_queue_size: the credit budget */
    size_t batch_size;
    size_t wake_n;               /* outstanding credits that wake the export thread */
    _Atomic uint32_t chunk;      /* credits taken at a time */
    _Atomic int thread_state;
    _Atomic(ig_ring *) rings;    /* every ring, newest first; append-only */
    int delay_ms;
    int efd;
    /* shared counters, each on its own line */
    _Alignas(64) _Atomic size_t avail; /* unclaimed queue credits */
    _Alignas(64) _Atomic int asleep;   /* the export thread is (about to be) in poll() */
    /* export thread only */
    _Alignas(64) ig_ring *cursor; /* where the next take() starts */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t flush_req, flush_done;
    bool stop, exited, abandoned, destroyed;
    uint64_t deadline_ns; /* shutdown deadline, 0 = none */
    uintptr_t *bspans;    /* tagged, as in the cells */
    ig_tcache **bhome;
    const ig_span_data **batch;
    void (*orphan_cb)(void *); /* abandoned: called by the exiting thread to free all */
    void *orphan_arg;
    _Atomic bool snapped;      /* exporter destroyed or frozen; counters below are final */
    uint64_t final[4];         /* exported, failed, rejected, retries */
    /* a shutdown that ran out of time (under mu) */
    bool frozen;               /* counters final, nothing more is exported */
    size_t inflight;           /* spans of the export running now */
    uint64_t inflight_base;    /* spans the exporter had accounted when it began */
    _Atomic uint64_t late_dropped; /* dropped at the deadline or after it */
    /* callbacks (IG_PROC_CALLBACKS) */
    ignis_processor_options cb;
    bool cb_shut;
    _Atomic bool given;        /* handed to a provider */
};

static _Atomic uint64_t g_processor_ids;

/* Snapshot the exporter's counters, then destroy it. */
static void read_counters(const ig_exporter *e, uint64_t out[4])
{
    out[0] = atomic_load(&e->counters.exported);
    out[1] = atomic_load(&e->counters.failed);
    out[2] = atomic_load(&e->counters.rejected);
    out[3] = atomic_load(&e->counters.retries);
}

/* Spans the exporter has counted one way or another. */
static uint64_t accounted(const ig_exporter *e)
{
    uint64_t c[4];
    read_counters(e, c);
    return c[0] + c[1] + c[2];
}

/* Snapshot the exporter's counters (unless frozen earlier), then destroy it. */
static void destroy_exporter(ig_processor *p)
{
    if (!atomic_load(&p->snapped)) {
        read_counters(p->e, p->final);
        atomic_store(&p->snapped, true);
    }
    p->e->destroy(p->e);
}

void ig_processor_counters(ig_processor *p, uint64_t out[4])
{
    if (p->kind == IG_PROC_CALLBACKS) {
        memset(out, 0, 4 * sizeof *out);
        return;
    }
    if (atomic_load(&p->snapped)) {
        memcpy(out, p->final, sizeof p->final);
        return;
    }
    read_counters(p->e, out);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec deadline_ts(uint64_t deadline)
{
    return (struct timespec){(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
}

static void init_sync(ig_processor *p)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->emu, NULL);
}

/* Credits a producer takes at a time: at most 64, at most a quarter of a
 * batch (so a wake-up comes close to the batch size), and small enough that
 * credits idle in other threads' hands cannot starve the queue (1/8 of it
 * over all rings). */
static void update_chunk(ig_processor *p, size_t nrings)
{
    size_t k = p->batch_size / 4;
    size_t share = p->queue_size / (8 * nrings);
    if (share < k)
        k = share;
    if (k > 64)
        k = 64;
    atomic_store_explicit(&p->chunk, k ? (uint32_t)k : 1, memory_order_relaxed);
}

ig_processor *ig_batch_processor_new(ig_exporter *e, const ignis_batch_options *o)
{
    ig_processor *p = aligned_alloc(64, sizeof *p);
    if (!p)
        abort();
    memset(p, 0, sizeof *p);
    p->is_batch = true;
    p->kind = IG_PROC_BATCH;
    p->e = e;
    p->id = atomic_fetch_add(&g_processor_ids, 1) + 1;
    p->export_timeout_ms = o->export_timeout_ms > 0 ? o->export_timeout_ms : 30000;
    p->queue_size = (size_t)(o->max_queue_size > 0 ? o->max_queue_size : 2048);
    size_t cap = 2;
    while (cap < p->queue_size)
        cap <<= 1;
    p->ring_mask = cap - 1;
    p->batch_size = o->max_export_batch_size > 0 ? (size_t)o->max_export_batch_size : 512;
    if (p->batch_size > p->queue_size)
        p->batch_size = p->queue_size;
    p->delay_ms = o->schedule_delay_ms >= 0 ? o->schedule_delay_ms : 5000;
    p->wake_n = p->batch_size;
    atomic_store(&p->avail, p->queue_size);
    update_chunk(p, 1);
    p->bspans = calloc(p->batch_size, sizeof *p->bspans);
    p->bhome = calloc(p->batch_size, sizeof *p->bhome);
    p->batch = calloc(p->batch_size, sizeof *p->batch);
    if (!p->bspans || !p->bhome || !p->batch)
        abort();
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    init_sync(p);
    return p;
}

ig_processor *ig_simple_processor_new(ig_exporter *e, int export_timeout_ms)
{
    ig_processor *p = aligned_alloc(64, sizeof *p);
    if (!p)
        abort();
    memset(p, 0, sizeof *p);
    p->kind = IG_PROC_SIMPLE;
    p->e = e;
    p->export_timeout_ms = export_timeout_ms > 0 ? export_timeout_ms : 30000;
    p->efd = -1;
    init_sync(p);
    return p;
}

ig_processor *ig_callback_processor_new(const ignis_processor_options *cb)
{
    ig_processor *p = aligned_alloc(64, sizeof *p);
    if (!p)
        abort();
    memset(p, 0, sizeof *p);
    p->kind = IG_PROC_CALLBACKS;
    p->cb = *cb;
    p->efd = -1;
    init_sync(p);
    return p;
}

int ig_processor_kind(const ig_processor *p) { return p->kind; }

bool ig_processor_given(const ig_processor *p) { return atomic_load(&p->given); }
void ig_processor_give(ig_processor *p) { atomic_store(&p->given, true); }

uint64_t ig_processor_dropped(ig_processor *p)
{
    uint64_t n = atomic_load(&p->late_dropped);
    if (p->is_batch)
        for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire); r; r = r->next)
            n += atomic_load_explicit(&r->dropped, memory_order_relaxed);
    return n;
}

size_t ig_processor_rings(ig_processor *p)
{
    size_t n = 0;
    if (p->is_batch)
        for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire); r; r = r->next)
            n++;
    return n;
}

static void wake(ig_processor *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->efd, &one, sizeof one);
    (void)r; /* EAGAIN only if the counter saturates: already awake */
}

/* ---- rings ------------------------------------------------------------------------ */

static ig_ring *ring_new(ig_processor *p)
{
    size_t cap = p->ring_mask + 1;
    ig_ring *r = aligned_alloc(64, (sizeof *r + cap * sizeof(ig_cell) + 63) & ~(size_t)63);
    if (!r)
        abort();
    memset(r, 0, sizeof *r);
    r->mask = p->ring_mask;
    atomic_store_explicit(&r->owned, true, memory_order_relaxed);
    size_t n = 1;
    ig_ring *head = atomic_load_explicit(&p->rings, memory_order_relaxed);
    for (ig_ring *q = head; q; q = q->next)
        n++;
    r->next = head;
    atomic_store_explicit(&p->rings, r, memory_order_release); /* under the registry lock */
    update_chunk(p, n);
    return r;
}

/* A ring for this thread: one left by a thread that gave it up, or a new
 * one.  Caller holds the registry lock. */
static ig_ring *ring_claim(ig_processor *p)
{
    for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire); r; r = r->next) {
        bool expect = false;
        if (atomic_compare_exchange_strong_explicit(&r->owned, &expect, true, memory_order_acquire,
                                                    memory_order_relaxed))
            return r;
    }
    return ring_new(p);
}

/* The calling thread's ring for p, looked up past the first slot, or
 * claimed; it moves to the first slot.  A slot pushed out of the last place
 * gives its ring up (the owner is this thread, so its writes are
 * published by the release store). */
static __attribute__((noinline)) ig_ring *ring_slow(ig_processor *p, ig_tcache *tc)
{
    ig_tcache_lock();
    ig_ring *r = NULL;
    int at = IG_RING_SLOTS - 1;
    for (int i = 0; i < IG_RING_SLOTS; i++)
        if (atomic_load_explicit(&tc->rings[i].proc, memory_order_relaxed) == p->id) {
            r = atomic_load_explicit(&tc->rings[i].ring, memory_order_relaxed);
            at = i;
            break;
        }
    if (!r) {
        for (int i = 0; i < IG_RING_SLOTS; i++)
            if (!atomic_load_explicit(&tc->rings[i].proc, memory_order_relaxed)) {
                at = i;
                break;
            }
        ig_ring *old = atomic_load_explicit(&tc->rings[at].ring, memory_order_relaxed);
        if (old && atomic_load_explicit(&tc->rings[at].proc, memory_order_relaxed))
            atomic_store_explicit(&old->owned, false, memory_order_release);
        r = ring_claim(p);
    }
    for (int i = at; i > 0; i--) {
        atomic_store_explicit(&tc->rings[i].proc, atomic_load_explicit(&tc->rings[i - 1].proc, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&tc->rings[i].ring, atomic_load_explicit(&tc->rings[i - 1].ring, memory_order_relaxed),
                              memory_order_relaxed);
    }
    atomic_store_explicit(&tc->rings[0].ring, r, memory_order_relaxed);
    atomic_store_explicit(&tc->rings[0].proc, p->id, memory_order_relaxed);
    ig_tcache_unlock();
    return r;
}

/* Spans queued in every ring (export thread). */
static size_t queued(ig_processor *p)
{
    size_t n = 0;
    for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire); r; r = r->next)
        n += atomic_load_explicit(&r->tail, memory_order_acquire) - atomic_load_explicit(&r->head, memory_order_relaxed);
    return n;
}

/* Releases the spans queued in a ring and empties it (free, fork child). */
static void ring_release(ig_ring *r)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    for (; h != t; h++)
        ig_span_unref(untag(r->cells[h & r->mask].span));
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    r->head_seen = 0;
    r->credits = 0;
}

/* Releases the spans queued in every ring without exporting them and
 * counts them as dropped (shutdown's time ran out; mu held: the rings'
 * one consumer at a time). */
static void discard_queued(ig_processor *p)
{
    size_t n = 0;
    for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire); r; r = r->next) {
        size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        for (; h != t; h++, n++)
            ig_span_unref(untag(r->cells[h & r->mask].span));
        atomic_store_explicit(&r->head, h, memory_order_release);
    }
    if (n) {
        atomic_fetch_add_explicit(&p->avail, n, memory_order_relaxed);
        atomic_fetch_add(&p->late_dropped, n);
    }
}

/* Shutdown's time ran out (mu held): counts as dropped what is queued and
 * the part of the export in flight the exporter has not accounted yet,
 * and freezes the counters, so nothing is counted twice or left out. */
static void expire(ig_processor *p)
{
    if (p->frozen)
        return;
    uint64_t c[4];
    read_counters(p->e, c);
    uint64_t done = c[0] + c[1] + c[2] - p->inflight_base;
    uint64_t lost = p->inflight > done ? p->inflight - done : 0;
    memcpy(p->final, c, sizeof c);
    atomic_store(&p->snapped, true);
    p->frozen = true;
    atomic_fetch_add(&p->late_dropped, lost);
    if (p->is_batch)
        discard_queued(p);
}

/* ---- export thread -------------------------------------------------------------- */

/* Takes up to batch_size queued spans, visiting the rings round-robin from
 * where the last full batch stopped, and gives their credits back. */
static size_t take(ig_processor *p)
{
    ig_ring *first = atomic_load_explicit(&p->rings, memory_order_acquire);
    ig_ring *start = p->cursor ? p->cursor : first;
    ig_ring *r = start;
    size_t n = 0;
    while (r) {
        size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t m = t - h;
        if (m > p->batch_size - n)
            m = p->batch_size - n;
        for (size_t i = 0; i < m; i++, h++) {
            const ig_cell *c = &r->cells[h & r->mask];
            p->bhome[n] = c->home;
            p->bspans[n++] = c->span;
        }
        if (m)
            atomic_store_explicit(&r->head, h, memory_order_release);
        r = r->next ? r->next : first;
        if (n == p->batch_size || r == start)
            break;
    }
    p->cursor = r;
    if (n)
        atomic_fetch_add_explicit(&p->avail, n, memory_order_relaxed);
    return n;
}

/* The time an export may take: the export timeout, or what is left of
 * shutdown's (at least 1 ms: no export starts once it has passed). */
static int export_timeout(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t dl = p->deadline_ns;
    pthread_mutex_unlock(&p->mu);
    int t = p->export_timeout_ms;
    if (dl) {
        uint64_t now = mono_ns();
        uint64_t left = now >= dl ? 1 : (dl - now + 999999ull) / 1000000ull;
        if (left < (uint64_t)t)
            t = (int)left;
    }
    return t;
}

static bool is_frozen(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    bool f = p->frozen;
    pthread_mutex_unlock(&p->mu);
    return f;
}

/* Frees the batch's blocks back to their threads: exclusively owned spans
 * without touching their memory, grouped into return nodes (one CAS per
 * group of up to IG_RET_CAP blocks with the same home). */
static void release_batch(ig_processor *p, size_t n)
{
    ignis_span *node = NULL;
    ig_ret_node *r = NULL;
    ig_tcache *node_home = NULL;
    for (size_t i = 0; i < n; i++) {
        ignis_span *s = untag(p->bspans[i]);
        if (p->bspans[i] & TAG_EXCLUSIVE) {
            if (p->bspans[i] & TAG_CHUNKS)
                ig_span_free_chunks(s);
        } else if (!ig_span_unref_last(s)) {
            continue; /* someone else still holds it */
        }
        if (node && (node_home != p->bhome[i] || r->n == IG_RET_CAP)) {
            ig_span_block_return(node);
            node = NULL;
        }
        if (!node) {
            node = s;
            node_home = p->bhome[i];
            r = (ig_ret_node *)s->arena;
            r->n = 0;
        } else {
            r->p[r->n++] = s;
        }
    }
    if (node)
        ig_span_block_return(node);
}

/* Takes the next batch to export, recorded as in flight: a full one, or
 * with `all` whatever is queued.  0 when there is none, or when shutdown's
 * deadline has passed (then what is queued is dropped and counted). */
static size_t begin_export(ig_processor *p, bool all)
{
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    if (!p->frozen && p->stop && p->deadline_ns && mono_ns() >= p->deadline_ns)
        expire(p);
    if (p->frozen) {
        discard_queued(p); /* spans that raced with shutdown */
    } else if (all || queued(p) >= p->batch_size) {
        n = take(p);
        p->inflight = n;
        p->inflight_base = accounted(p->e);
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void export_batch(ig_processor *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->batch[i] = &untag(p->bspans[i])->d;
    p->e->export_spans(p->e, p->batch, n, export_timeout(p));
    pthread_mutex_lock(&p->mu);
    p->inflight = 0;
    pthread_mutex_unlock(&p->mu);
    release_batch(p, n);
}

/* Exports full batches while there are some; with `all` (the schedule
 * delay elapsed, a flush, shutdown) also the partial one at the end. */
static void drain(ig_processor *p, bool all)
{
    size_t n;
    while ((n = begin_export(p, all)) > 0)
        export_batch(p, n);
}

static void *export_main(void *arg)
{
    ig_processor *p = arg;
    sigset_t signals;
    sigfillset(&signals);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    pthread_setname_np(pthread_self(), "ignis-export"); /* for top -H, perf */
    uint64_t flushed = 0;
    bool all = false; /* the schedule delay (or a linger) elapsed */
    for (;;) {
        drain(p, all);
        pthread_mutex_lock(&p->mu);
        uint64_t req = p->flush_req;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (req > flushed || stop) {
            drain(p, true);
            if (p->e->force_flush && !is_frozen(p))
                p->e->force_flush(p->e, export_timeout(p));
            flushed = req;
            pthread_mutex_lock(&p->mu);
            p->flush_done = req;
            if (stop)
                p->exited = true;
            void (*cb)(void *) = p->orphan_cb;
            void *cb_arg = p->orphan_arg;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            if (stop) {
                if (cb)
                    cb(cb_arg); /* shutdown gave up on us and the owner is gone: free it all */
                return NULL;
            }
            continue;
        }
        /* Announce the sleep, then re-check (Dekker with the producer's
         * fence after publishing and before reading `asleep`). */
        atomic_store(&p->asleep, 1);
        atomic_thread_fence(memory_order_seq_cst);
        size_t q = queued(p);
        if (q >= p->wake_n) {
            atomic_store(&p->asleep, 0);
            continue;
        }
        /* Producers wake us when the credits they took reach a batch,
         * which they check only when they take credits: if the credits
         * taken already reach one (some still in producers' hands, or
         * their wake-up came while we were awake), no wake-up may come for
         * the rest, so wait only a moment (1 ms), then take what is
         * there.  Idle credits cost one early, partial export (none when
         * nothing is queued: no polling while idle). */
        bool pending = q && p->queue_size - atomic_load_explicit(&p->avail, memory_order_relaxed) >= p->wake_n;
        struct pollfd pfd = {p->efd, POLLIN, 0};
        /* delay 0: export at once, but do not spin */
        all = poll(&pfd, 1, pending || p->delay_ms <= 0 ? 1 : p->delay_ms) == 0;
        atomic_store(&p->asleep, 0);
        uint64_t v;
        ssize_t r = read(p->efd, &v, sizeof v);
        (void)r;
    }
}

static void start_thread(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    if (atomic_load(&p->thread_state) == TS_NONE && !p->stop) {
        int rc = pthread_create(&p->thread, NULL, export_main, p);
        if (rc) {
            ig_tlog(IGNIS_LOG_ERROR, "cannot start the span export thread: %s", strerror(rc));
            atomic_store(&p->thread_state, TS_FAILED);
        } else {
            atomic_store(&p->thread_state, TS_RUNNING);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* ---- producer side ------------------------------------------------------------------ */

/* Wakes the export thread if it sleeps while a batch is outstanding
 * (credits taken count as outstanding: checked once per chunk). */
static void maybe_wake(ig_processor *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&p->asleep, memory_order_relaxed))
        return;
    if (p->queue_size - atomic_load_explicit(&p->avail, memory_order_relaxed) < p->wake_n)
        return;
    if (atomic_exchange(&p->asleep, 0))
        wake(p);
}

/* Takes a chunk of credits from the shared budget; 0 when the queue is full. */
static uint32_t take_credits(ig_processor *p)
{
    size_t want = atomic_load_explicit(&p->chunk, memory_order_relaxed);
    size_t avail = atomic_load_explicit(&p->avail, memory_order_relaxed);
    for (;;) {
        if (!avail)
            return 0;
        size_t got = avail < want ? avail : want;
        if (atomic_compare_exchange_weak_explicit(&p->avail, &avail, avail - got, memory_order_relaxed,
                                                  memory_order_relaxed))
            return (uint32_t)got;
    }
}

static void drop(ig_processor *p, ig_ring *r, ignis_span *s)
{
    atomic_store_explicit(&r->dropped, atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    ig_span_unref(s);
    maybe_wake(p);
}

static void batch_on_end(ig_processor *p, ignis_span *s)
{
    if (IG_UNLIKELY(atomic_load_explicit(&p->thread_state, memory_order_acquire) != TS_RUNNING))
        start_thread(p);
    ig_tcache *tc = ig_tls_cache; /* set: the caller took it */
    ig_ring *r = atomic_load_explicit(&tc->rings[0].ring, memory_order_relaxed);
    if (IG_UNLIKELY(atomic_load_explicit(&tc->rings[0].proc, memory_order_relaxed) != p->id))
        r = ring_slow(p, tc);
    bool refilled = false;
    if (IG_UNLIKELY(!r->credits)) {
        r->credits = take_credits(p);
        if (!r->credits)
            return drop(p, r, s);
        refilled = true;
    }
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (IG_UNLIKELY(t - r->head_seen > r->mask)) {
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - r->head_seen > r->mask)
            return drop(p, r, s); /* cannot happen while credits bound the queue; kept as a guard */
    }
    r->credits--;
    uintptr_t tag = (uintptr_t)s;
    if (atomic_load_explicit(&s->refs, memory_order_relaxed) == 1)
        tag |= TAG_EXCLUSIVE; /* only the queue holds it now: nobody can take another reference */
    if (s->chunks)
        tag |= TAG_CHUNKS;
    ig_cell *c = &r->cells[t & r->mask];
    c->span = tag;
    c->home = s->home;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    if (IG_UNLIKELY(refilled))
        maybe_wake(p);
}

static void simple_on_end(ig_processor *p, ignis_span *s)
{
    const ig_span_data *d = &s->d;
    pthread_mutex_lock(&p->emu);
    pthread_mutex_lock(&p->mu);
    bool go = !p->destroyed && !p->frozen;
    if (go) {
        p->inflight = 1;
        p->inflight_base = accounted(p->e);
    }
    pthread_mutex_unlock(&p->mu);
    if (go) {
        p->e->export_spans(p->e, &d, 1, p->export_timeout_ms);
        pthread_mutex_lock(&p->mu);
        p->inflight = 0;
        pthread_mutex_unlock(&p->mu);
    } else {
        atomic_fetch_add(&p->late_dropped, 1);
    }
    pthread_mutex_unlock(&p->emu);
    ig_span_unref(s);
}

void ig_processor_on_end(ig_processor *p, ignis_span *s)
{
    if (p->is_batch)
        batch_on_end(p, s);
    else
        simple_on_end(p, s);
}

void ig_processor_started(ig_processor *p, ignis_span *s, const ignis_span_context *parent)
{
    if (p->cb.on_start)
        p->cb.on_start(p->cb.arg, s, parent);
}

void ig_processor_ended(ig_processor *p, const ignis_span *s)
{
    if (p->cb.on_end)
        p->cb.on_end(p->cb.arg, &s->d);
}

/* ---- flush / shutdown ------------------------------------------------------------------ */

/* Waits on cv until *flag reaches target or the deadline passes. */
static int wait_until(ig_processor *p, uint64_t *val, uint64_t target, bool *exited, uint64_t deadline)
{
    struct timespec ts = deadline_ts(deadline);
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while (*val < target && !(exited && *exited)) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT) {
            rc = *val < target && !(exited && *exited) ? -1 : 0;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int simple_flush(ig_processor *p, int timeout_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t dl = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + (uint64_t)timeout_ms * 1000000ull;
    struct timespec ts = deadline_ts(dl);
    if (pthread_mutex_timedlock(&p->emu, &ts) != 0)
        return -1;
    int rc = 0;
    if (!p->destroyed && p->e->force_flush)
        rc = p->e->force_flush(p->e, timeout_ms) == 0 ? 0 : -1;
    pthread_mutex_unlock(&p->emu);
    return rc;
}

int ig_processor_force_flush(ig_processor *p, int timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (p->kind == IG_PROC_CALLBACKS)
        return p->cb.force_flush && p->cb.force_flush(p->cb.arg, timeout_ms) != 0 ? -1 : 0;
    if (!p->is_batch)
        return simple_flush(p, timeout_ms);
    if (atomic_load(&p->thread_state) != TS_RUNNING)
        return 0; /* nothing ever ended (the first span starts the thread) */
    uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    pthread_mutex_lock(&p->mu);
    uint64_t req = ++p->flush_req;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    return wait_until(p, &p->flush_done, req, &p->exited, deadline);
}

/* The time ran out while an export may be running: count and freeze
 * (unless the export thread got out meanwhile), then ask the exporter to
 * cancel.  Returns false when the thread has exited after all. */
static bool give_up(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    bool exited = p->is_batch && p->exited;
    if (!exited) {
        expire(p);
        p->abandoned = true;
    }
    pthread_mutex_unlock(&p->mu);
    if (!exited && p->e->cancel)
        p->e->cancel(p->e);
    return !exited;
}

int ig_processor_shutdown(ig_processor *p, int timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (p->kind == IG_PROC_CALLBACKS) {
        if (p->cb_shut)
            return 0;
        p->cb_shut = true;
        return p->cb.shutdown && p->cb.shutdown(p->cb.arg, timeout_ms) != 0 ? -1 : 0;
    }
    if (!p->is_batch) {
        int rc = simple_flush(p, timeout_ms);
        if (rc < 0) {
            give_up(p);
            return -1;
        }
        pthread_mutex_lock(&p->emu);
        p->destroyed = true;
        pthread_mutex_unlock(&p->emu);
        destroy_exporter(p);
        return 0;
    }
    uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    p->deadline_ns = deadline;
    bool running = atomic_load(&p->thread_state) == TS_RUNNING;
    pthread_mutex_unlock(&p->mu);
    if (running) {
        wake(p);
        uint64_t never = 1;
        if (wait_until(p, &never, 2, &p->exited, deadline) < 0 && give_up(p)) {
            pthread_detach(p->thread);
            return -1;
        }
        pthread_join(p->thread, NULL);
    }
    p->destroyed = true;
    destroy_exporter(p);
    return p->frozen ? -1 : 0; /* frozen: the thread itself found the deadline passed */
}

bool ig_processor_wait_exit(ig_processor *p, int timeout_ms)
{
    if (!p->is_batch || atomic_load(&p->thread_state) != TS_RUNNING)
        return true;
    uint64_t never = 1;
    return wait_until(p, &never, 2, &p->exited, mono_ns() + (uint64_t)timeout_ms * 1000000ull) == 0;
}

bool ig_processor_hand_over(ig_processor *p, void (*cb)(void *), void *arg)
{
    if (!p->is_batch)
        return false; /* a stuck synchronous export: leak on purpose */
    pthread_mutex_lock(&p->mu);
    bool exited = p->exited;
    if (!exited) {
        p->orphan_cb = cb;
        p->orphan_arg = arg;
    }
    pthread_mutex_unlock(&p->mu);
    if (exited) { /* finished meanwhile: the caller frees now */
        p->abandoned = false;
        p->destroyed = true;
        destroy_exporter(p);
    }
    return exited;
}

void ig_processor_free(ig_processor *p)
{
    if (p->kind == IG_PROC_CALLBACKS) {
        pthread_mutex_destroy(&p->mu);
        pthread_mutex_destroy(&p->emu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return;
    }
    if (p->abandoned && !p->destroyed) {
        /* called by the abandoned export thread itself on its way out */
        p->destroyed = true;
        destroy_exporter(p);
    }
    if (p->is_batch) {
        ig_tcache_lock(); /* no thread can reach the rings after this */
        ig_tcache_forget_ring(p->id);
        ig_tcache_unlock();
        ig_ring *r = atomic_load_explicit(&p->rings, memory_order_acquire);
        while (r) {
            ig_ring *next = r->next;
            ring_release(r); /* spans still queued (ended after shutdown began) */
            free(r);
            r = next;
        }
        close(p->efd);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->emu);
    pthread_cond_destroy(&p->cv);
    free(p->bspans);
    free(p->bhome);
    free(p->batch);
    free(p);
}

bool ig_processor_abandoned(ig_processor *p) { return p->abandoned; }

/* ---- fork ---------------------------------------------------------------------------------- */

void ig_processor_atfork_prepare(ig_processor *p)
{
    if (!p->is_batch)
        pthread_mutex_lock(&p->emu); /* emu before mu, as simple_on_end takes them */
    pthread_mutex_lock(&p->mu);
}

void ig_processor_atfork_parent(ig_processor *p)
{
    pthread_mutex_unlock(&p->mu);
    if (!p->is_batch)
        pthread_mutex_unlock(&p->emu);
}

/* The child's counters start at zero: they describe its own spans.  The
 * spans queued or in an export at the fork are the parent's (it exports
 * and counts them), so the child counts them nowhere, and the balance
 * sampled = exported + dropped + failures + rejected holds in both. */
static void reset_counters(ig_processor *p)
{
    for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_relaxed); r; r = r->next)
        atomic_store_explicit(&r->dropped, 0, memory_order_relaxed);
    atomic_store(&p->late_dropped, 0);
    p->inflight = 0;
    p->inflight_base = 0;
    memset(p->final, 0, sizeof p->final);
    if (!atomic_load(&p->snapped) && p->e) {
        atomic_store(&p->e->counters.exported, 0);
        atomic_store(&p->e->counters.failed, 0);
        atomic_store(&p->e->counters.rejected, 0);
        atomic_store(&p->e->counters.retries, 0);
    }
}

void ig_processor_atfork_child(ig_processor *p)
{
    init_sync(p);
    if (p->kind != IG_PROC_CALLBACKS)
        reset_counters(p);
    if (p->is_batch) {
        /* Release the spans still queued and reset the budget.  Spans the
         * parent's export thread held mid-export are leaked (bounded by
         * one batch). */
        for (ig_ring *r = atomic_load_explicit(&p->rings, memory_order_relaxed); r; r = r->next)
            ring_release(r);
        atomic_store(&p->avail, p->queue_size);
        atomic_store(&p->asleep, 0);
        p->cursor = NULL;
        close(p->efd);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        p->flush_req = p->flush_done = 0;
        p->exited = false;
        if (!p->destroyed && !p->abandoned)
            atomic_store(&p->thread_state, TS_NONE);
    }
    if (!p->destroyed && !p->abandoned && p->e && p->e->after_fork_child)
        p->e->after_fork_child(p->e);
}
