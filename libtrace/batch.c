/*
 * libtrace/batch.c — the batch and simple span processors.
 *
 * Batch: ended spans go into a bounded lock-free MPSC ring (Vyukov's
 * sequence-numbered cells; capacity max_queue_size rounded up to a power
 * of two).  A producer claims a cell with one CAS on the tail, stores the
 * span and publishes it by bumping the cell's sequence; a full ring drops
 * the span and counts it.  Producers never take a lock and never wait.
 *
 * One export thread (started lazily by the first span to end, so a child
 * after fork() gets its own) consumes the ring.  It sleeps in poll() on an
 * eventfd for at most schedule_delay ms; the producer whose span fills a
 * batch (its position equals `wake_at`, published by the sleeping thread)
 * writes the eventfd.  Flush and shutdown requests are generation numbers
 * under a mutex that is never held during an export; callers wait on a
 * condition variable with a deadline, so force_flush/shutdown always
 * return within their timeout even when the exporter is stuck (shutdown
 * then abandons the thread and its memory on purpose).
 *
 * Fork: the prepare handler takes the processor mutex (never held during
 * I/O, so this cannot deadlock on a mid-export thread); in the child the
 * mutex, condition and eventfd are recreated, queued spans are released,
 * the ring is reset, the exporter drops its parent state
 * (after_fork_child) and the export thread restarts on the next span.
 *
 * Simple: exports each span synchronously from ignis_span_end under a
 * mutex (debugging only).
 */
#include "libtrace/internal.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
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
    _Atomic size_t seq;
    uintptr_t span;
    ig_tcache *home;
    uintptr_t pad;
} ig_cell;

enum { TAG_EXCLUSIVE = 1, TAG_CHUNKS = 2, TAG_MASK = 63 };

static inline ignis_span *untag(uintptr_t t) { return (ignis_span *)(t & ~(uintptr_t)TAG_MASK); }

enum { TS_NONE = 0, TS_RUNNING = 1, TS_FAILED = 2 };

struct ig_processor {
    bool is_batch;
    ig_exporter *e;
    int export_timeout_ms;
    pthread_mutex_t emu; /* simple: serialises export calls */
    /* batch */
    ig_cell *cells;
    size_t mask, batch_size;
    size_t wake_n; /* queued spans that wake the export thread */
    int delay_ms;
    _Alignas(64) _Atomic size_t tail;
    _Alignas(64) _Atomic size_t wake_at;
    _Atomic int thread_state;
    _Atomic uint64_t dropped;
    _Alignas(64) size_t head; /* export thread only */
    pthread_t thread;
    int efd;
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
    _Atomic bool snapped;      /* exporter destroyed; counters below are final */
    uint64_t final[4];         /* exported, failed, rejected, retries */
};

/* Snapshot the exporter's counters, then destroy it. */
static void destroy_exporter(ig_processor *p)
{
    ig_export_counters *c = &p->e->counters;
    p->final[0] = atomic_load(&c->exported);
    p->final[1] = atomic_load(&c->failed);
    p->final[2] = atomic_load(&c->rejected);
    p->final[3] = atomic_load(&c->retries);
    atomic_store(&p->snapped, true);
    p->e->destroy(p->e);
}

void ig_processor_counters(ig_processor *p, uint64_t out[4])
{
    if (atomic_load(&p->snapped)) {
        memcpy(out, p->final, sizeof p->final);
        return;
    }
    ig_export_counters *c = &p->e->counters;
    out[0] = atomic_load(&c->exported);
    out[1] = atomic_load(&c->failed);
    out[2] = atomic_load(&c->rejected);
    out[3] = atomic_load(&c->retries);
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

static void reset_ring(ig_processor *p)
{
    for (size_t i = 0; i <= p->mask; i++)
        atomic_store_explicit(&p->cells[i].seq, i, memory_order_relaxed);
    atomic_store(&p->tail, 0);
    p->head = 0;
    atomic_store(&p->wake_at, p->wake_n);
}

ig_processor *ig_batch_processor_new(ig_exporter *e, const ignis_batch_options *o)
{
    ig_processor *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->is_batch = true;
    p->e = e;
    p->export_timeout_ms = o->export_timeout_ms > 0 ? o->export_timeout_ms : 30000;
    size_t cap = 2;
    while (cap < (size_t)(o->max_queue_size > 0 ? o->max_queue_size : 2048))
        cap <<= 1;
    p->mask = cap - 1;
    p->batch_size = o->max_export_batch_size > 0 ? (size_t)o->max_export_batch_size : 512;
    if (p->batch_size > cap)
        p->batch_size = cap;
    p->delay_ms = o->schedule_delay_ms >= 0 ? o->schedule_delay_ms : 5000;
    p->wake_n = p->batch_size;
    p->cells = calloc(cap, sizeof *p->cells);
    p->bspans = calloc(p->batch_size, sizeof *p->bspans);
    p->bhome = calloc(p->batch_size, sizeof *p->bhome);
    p->batch = calloc(p->batch_size, sizeof *p->batch);
    if (!p->cells || !p->bspans || !p->bhome || !p->batch)
        abort();
    reset_ring(p);
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    init_sync(p);
    return p;
}

ig_processor *ig_simple_processor_new(ig_exporter *e, int export_timeout_ms)
{
    ig_processor *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->e = e;
    p->export_timeout_ms = export_timeout_ms > 0 ? export_timeout_ms : 30000;
    p->efd = -1;
    init_sync(p);
    return p;
}

uint64_t ig_processor_dropped(ig_processor *p) { return atomic_load_explicit(&p->dropped, memory_order_relaxed); }

static void wake(ig_processor *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->efd, &one, sizeof one);
    (void)r; /* EAGAIN only if the counter saturates: already awake */
}

/* ---- export thread -------------------------------------------------------------- */

/* Takes up to batch_size published spans from the ring. */
static size_t take(ig_processor *p)
{
    size_t n = 0;
    while (n < p->batch_size) {
        ig_cell *c = &p->cells[p->head & p->mask];
        if (atomic_load_explicit(&c->seq, memory_order_acquire) != p->head + 1)
            break;
        p->bhome[n] = c->home;
        p->bspans[n++] = c->span;
        atomic_store_explicit(&c->seq, p->head + p->mask + 1, memory_order_release);
        p->head++;
    }
    return n;
}

static int export_timeout(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t dl = p->deadline_ns;
    pthread_mutex_unlock(&p->mu);
    int t = p->export_timeout_ms;
    if (dl) {
        uint64_t now = mono_ns();
        int left = now >= dl ? 0 : (int)((dl - now) / 1000000ull);
        if (left < t)
            t = left;
    }
    return t;
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

static void export_batch(ig_processor *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->batch[i] = &untag(p->bspans[i])->d;
    p->e->export_spans(p->e, p->batch, n, export_timeout(p));
    release_batch(p, n);
}

/* Exports everything published so far; with `upto`, also waits for spans
 * claimed before that position to be published (a producer between its
 * CAS and its publish store finishes within a few instructions). */
static void drain(ig_processor *p, size_t upto)
{
    for (;;) {
        size_t n = take(p);
        if (n) {
            export_batch(p, n);
            continue;
        }
        if (p->head >= upto)
            return;
        sched_yield();
    }
}

static void *export_main(void *arg)
{
    ig_processor *p = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    uint64_t flushed = 0;
    for (;;) {
        drain(p, 0);
        pthread_mutex_lock(&p->mu);
        uint64_t req = p->flush_req;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (req > flushed || stop) {
            drain(p, atomic_load(&p->tail));
            if (p->e->force_flush)
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
        /* Publish where a producer must wake us, then re-check (Dekker
         * with the producer's seq_cst CAS on tail / load of wake_at). */
        atomic_store(&p->wake_at, p->head + p->wake_n);
        if (atomic_load(&p->tail) - p->head >= p->wake_n)
            continue;
        struct pollfd pfd = {p->efd, POLLIN, 0};
        poll(&pfd, 1, p->delay_ms > 0 ? p->delay_ms : 1); /* delay 0: export at once, but do not spin */
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

static void batch_on_end(ig_processor *p, ignis_span *s)
{
    if (IG_UNLIKELY(atomic_load_explicit(&p->thread_state, memory_order_acquire) != TS_RUNNING))
        start_thread(p);
    size_t pos = atomic_load_explicit(&p->tail, memory_order_relaxed);
    ig_cell *c;
    for (;;) {
        c = &p->cells[pos & p->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&p->tail, &pos, pos + 1, memory_order_seq_cst,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
            ig_span_unref(s);
            return;
        } else {
            pos = atomic_load_explicit(&p->tail, memory_order_relaxed);
        }
    }
    uintptr_t tag = (uintptr_t)s;
    if (atomic_load_explicit(&s->refs, memory_order_relaxed) == 1)
        tag |= TAG_EXCLUSIVE; /* only the queue holds it now: nobody can take another reference */
    if (s->chunks)
        tag |= TAG_CHUNKS;
    c->span = tag;
    c->home = s->home;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    if (IG_UNLIKELY(pos + 1 == atomic_load(&p->wake_at)))
        wake(p);
}

static void simple_on_end(ig_processor *p, ignis_span *s)
{
    const ig_span_data *d = &s->d;
    pthread_mutex_lock(&p->emu);
    if (!p->destroyed)
        p->e->export_spans(p->e, &d, 1, p->export_timeout_ms);
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

int ig_processor_shutdown(ig_processor *p, int timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (!p->is_batch) {
        int rc = simple_flush(p, timeout_ms);
        if (rc < 0) {
            p->abandoned = true;
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
        if (wait_until(p, &never, 2, &p->exited, deadline) < 0) {
            p->abandoned = true;
            pthread_detach(p->thread);
            return -1;
        }
        pthread_join(p->thread, NULL);
    }
    p->destroyed = true;
    destroy_exporter(p);
    return 0;
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
    if (p->abandoned && !p->destroyed) {
        /* called by the abandoned export thread itself on its way out */
        p->destroyed = true;
        destroy_exporter(p);
    }
    if (p->is_batch) {
        /* spans still queued (ended after shutdown began) */
        size_t n;
        while ((n = take(p)) > 0)
            for (size_t i = 0; i < n; i++)
                ig_span_unref(untag(p->bspans[i]));
        close(p->efd);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->emu);
    pthread_cond_destroy(&p->cv);
    free(p->cells);
    free(p->bspans);
    free(p->bhome);
    free(p->batch);
    free(p);
}

bool ig_processor_abandoned(ig_processor *p) { return p->abandoned; }

/* ---- fork ---------------------------------------------------------------------------------- */

void ig_processor_atfork_prepare(ig_processor *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->is_batch)
        pthread_mutex_lock(&p->emu);
}

void ig_processor_atfork_parent(ig_processor *p)
{
    if (!p->is_batch)
        pthread_mutex_unlock(&p->emu);
    pthread_mutex_unlock(&p->mu);
}

void ig_processor_atfork_child(ig_processor *p)
{
    init_sync(p);
    if (p->is_batch) {
        /* Release spans still queued: a cell is full when its sequence is
         * one past its index (mod capacity).  Spans the parent's export
         * thread held mid-export are leaked (bounded by one batch). */
        for (size_t i = 0; i <= p->mask; i++) {
            size_t seq = atomic_load_explicit(&p->cells[i].seq, memory_order_relaxed);
            if ((seq & p->mask) == ((i + 1) & p->mask))
                ig_span_unref(untag(p->cells[i].span));
        }
        reset_ring(p);
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
