/*
 * collect/writer.c — the store's writer thread (see collect/writer.h).
 *
 * Submitted batches are linked into a FIFO under one mutex; the thread
 * takes the whole FIFO at once into its `pending` list and inserts from
 * it in one transaction.  When the list is inserted, the transaction stays
 * open for what arrives next, until none has come for LINGER_IDLE_MS or
 * commit_ms has passed since it began (or the writer is stopping), then
 * commits.  Every commit writes the b-trees' partly filled right edges to
 * the WAL again: senders that each post a request every few milliseconds
 * would otherwise get a commit per request or two, and the writer and the
 * checkpointer about 1.4 times the CPU per span (bench/collect_ingest at
 * 40k spans/s).  Requests are answered when queued, so nobody waits for a
 * commit.  Bytes stay counted against the bound until their
 * transaction commits, so a store that cannot write fills the queue and
 * turns new requests away (503) instead of growing memory.
 *
 * A transaction that fails with IG_STORE_RETRY (disk full, I/O, busy) is
 * rolled back and its batches stay pending; the thread waits retry_ms and
 * tries again, forever while the process runs, and until the stop
 * deadline once stopping.  A batch that cannot be stored at all (-1, e.g.
 * a value past SQLite's length limit) is rolled back, left out, counted
 * as dropped and reported; the others go in with the next transaction.
 * A damaged database (IG_STORE_CORRUPT) stops writing: pending and later
 * batches are counted as dropped, every submit is refused, and
 * ig_writer_fatal() tells the collector to exit.
 *
 * Retention runs between transactions, at most once a second while it has
 * nothing to delete, in slices of RETAIN_SLICE traces.
 */
#include "collect/writer.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RETAIN_SLICE = 2000, RETAIN_PERIOD_MS = 1000, LINGER_IDLE_MS = 25 };

struct ig_writer {
    ig_writer_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ig_batch *head, *tail;      /* submitted, not yet taken */
    uint64_t bytes;             /* queued + pending, not yet committed */
    uint64_t spans;
    bool stop, failing, fatal;
    int64_t deadline_ms;        /* when stopping: give up retrying after this */
    ig_err fatal_err;
    uint64_t dropped;
    /* the thread's own */
    ig_batch *pending, *pending_tail;
    int64_t next_retention_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(ig_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(ig_writer *w, const char *fmt, ...)
{
    if (!w->cfg.log)
        return;
    char buf[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    w->cfg.log(buf);
}

/* Waits on the condition variable until ms (monotonic) at most. */
static void wait_until(ig_writer *w, int64_t until_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t left = until_ms - now_ms();
    if (left <= 0)
        return;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* ---- submitting ------------------------------------------------------------------ */

ig_submit_result ig_writer_reserve(ig_writer *w, uint64_t bytes)
{
    pthread_mutex_lock(&w->mu);
    ig_submit_result r = IG_SUBMIT_OK;
    if (w->failing || w->fatal || w->stop)
        r = IG_SUBMIT_FAILING;
    else if (w->bytes && w->bytes + bytes > w->cfg.max_queue_bytes) /* an empty queue takes any batch */
        r = IG_SUBMIT_FULL;
    else
        w->bytes += bytes;
    pthread_mutex_unlock(&w->mu);
    return r;
}

void ig_writer_push(ig_writer *w, ig_batch *b, uint64_t bytes)
{
    pthread_mutex_lock(&w->mu);
    b->next = NULL;
    if (w->tail)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    w->bytes += ig_batch_bytes(b) - bytes; /* reserved before; the batch is released by its own size */
    w->spans += b->nspans;
    atomic_store(&w->cfg.counters->queue_bytes, w->bytes);
    atomic_store(&w->cfg.counters->queue_spans, w->spans);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

ig_submit_result ig_writer_submit(ig_writer *w, ig_batch *b)
{
    uint64_t bytes = ig_batch_bytes(b);
    ig_submit_result r = ig_writer_reserve(w, bytes);
    if (r == IG_SUBMIT_OK)
        ig_writer_push(w, b, bytes);
    return r;
}

int ig_writer_retry_after(ig_writer *w)
{
    pthread_mutex_lock(&w->mu);
    bool failing = w->failing;
    pthread_mutex_unlock(&w->mu);
    int s = failing ? (w->cfg.retry_ms + 999) / 1000 : 1;
    return s < 1 ? 1 : s;
}

bool ig_writer_fatal(ig_writer *w, ig_err *err)
{
    pthread_mutex_lock(&w->mu);
    bool fatal = w->fatal;
    if (fatal && err)
        *err = w->fatal_err;
    pthread_mutex_unlock(&w->mu);
    return fatal;
}

/* ---- the thread ----------------------------------------------------------------------- */

/* Frees committed (or dropped) batches [first, stop) of the pending list
 * and uncounts them; called with the mutex held. */
static void release(ig_writer *w, ig_batch *upto, bool stored)
{
    while (w->pending && w->pending != upto) {
        ig_batch *b = w->pending;
        w->pending = b->next;
        w->bytes -= ig_batch_bytes(b);
        w->spans -= b->nspans;
        if (stored)
            atomic_fetch_add(&w->cfg.counters->spans_stored, b->nspans);
        else {
            atomic_fetch_add(&w->cfg.counters->spans_dropped, b->nspans);
            w->dropped += b->nspans;
        }
        ig_batch_free(b);
    }
    if (!w->pending)
        w->pending_tail = NULL;
    atomic_store(&w->cfg.counters->queue_bytes, w->bytes);
    atomic_store(&w->cfg.counters->queue_spans, w->spans);
}

/* Moves everything submitted to the pending list (mutex held). */
static void take_queue(ig_writer *w)
{
    if (!w->head)
        return;
    if (w->pending_tail)
        w->pending_tail->next = w->head;
    else
        w->pending = w->head;
    w->pending_tail = w->tail;
    w->head = w->tail = NULL;
}

/* With the pending list inserted up to its end: waits for more batches
 * while the transaction may stay open (see the top comment), moves them to
 * the pending list and returns the first of them; NULL to commit now. */
static ig_batch *linger(ig_writer *w, ig_batch *last, int64_t until)
{
    int64_t idle_until = now_ms() + LINGER_IDLE_MS;
    if (idle_until > until)
        idle_until = until;
    pthread_mutex_lock(&w->mu);
    while (!w->head && !w->stop && now_ms() < idle_until)
        wait_until(w, idle_until);
    ig_batch *next = NULL;
    if (w->head && !w->stop) {
        take_queue(w);
        next = last->next;
    }
    pthread_mutex_unlock(&w->mu);
    return next;
}

/* One transaction over pending batches; sets *upto to the first batch not
 * in it, and *bad to the batch an insert failed on (NULL when the begin or
 * the commit failed).  0, -1, IG_STORE_RETRY or IG_STORE_CORRUPT. */
static int write_pending(ig_writer *w, ig_batch **upto, ig_batch **bad, ig_err *err)
{
    int64_t until = now_ms() + w->cfg.commit_ms;
    ig_batch *b = w->pending, *last = NULL;
    *bad = NULL;
    int rc = ig_store_begin(w->cfg.store, err);
    while (!rc && b) {
        rc = ig_store_insert(w->cfg.store, b, err);
        if (rc) {
            *bad = b;
            break;
        }
        last = b;
        b = b->next;
        if (now_ms() >= until)
            break;
        if (!b)
            b = linger(w, last, until);
    }
    if (!rc)
        rc = ig_store_commit(w->cfg.store, err);
    else
        ig_store_rollback(w->cfg.store);
    *upto = b;
    return rc;
}

/* Takes one batch that cannot be stored out of the pending list. */
static void drop_batch(ig_writer *w, ig_batch *bad, const ig_err *err)
{
    pthread_mutex_lock(&w->mu);
    ig_batch **p = &w->pending, *prev = NULL;
    while (*p && *p != bad) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p) {
        *p = bad->next;
        if (w->pending_tail == bad)
            w->pending_tail = prev;
        w->bytes -= ig_batch_bytes(bad);
        w->spans -= bad->nspans;
        w->dropped += bad->nspans;
        atomic_fetch_add(&w->cfg.counters->spans_dropped, bad->nspans);
        atomic_store(&w->cfg.counters->queue_bytes, w->bytes);
        atomic_store(&w->cfg.counters->queue_spans, w->spans);
    }
    pthread_mutex_unlock(&w->mu);
    logf_(w, "%s; %u accepted spans of one request dropped", err->msg, bad->nspans);
    ig_batch_free(bad);
}

static void set_state(ig_writer *w, bool failing, const char *why)
{
    pthread_mutex_lock(&w->mu);
    bool was = w->failing;
    w->failing = failing;
    pthread_mutex_unlock(&w->mu);
    if (failing && !was)
        logf_(w, "cannot write the trace store: %s; refusing new spans (503) and retrying every %d ms", why,
              w->cfg.retry_ms);
    else if (!failing && was)
        logf_(w, "trace store writable again; accepting spans");
}

static void go_fatal(ig_writer *w, const ig_err *err)
{
    pthread_mutex_lock(&w->mu);
    w->fatal = true;
    w->failing = true;
    w->fatal_err = *err;
    take_queue(w);
    release(w, NULL, false);
    pthread_mutex_unlock(&w->mu);
    logf_(w, "%s; stopped writing", err->msg);
}

static void run_retention(ig_writer *w)
{
    if ((!w->cfg.retain_ns && !w->cfg.max_db_bytes) || now_ms() < w->next_retention_ms)
        return;
    uint64_t before = w->cfg.retain_ns ? wall_ns() - w->cfg.retain_ns : 0, traces, spans;
    ig_err err;
    int rc = ig_store_retain(w->cfg.store, before, w->cfg.max_db_bytes, RETAIN_SLICE, &traces, &spans, &err);
    if (rc == 0) {
        atomic_fetch_add(&w->cfg.counters->traces_deleted, traces);
        atomic_fetch_add(&w->cfg.counters->spans_deleted, spans);
    }
    /* a full slice: more to delete, come back right after the next commit */
    w->next_retention_ms = now_ms() + (rc == 0 && traces >= RETAIN_SLICE ? 0 : RETAIN_PERIOD_MS);
}

/* Waits for work; false when stopping with nothing left. */
static bool wait_for_work(ig_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->head && !w->pending && !w->stop) {
        int64_t until = w->cfg.retain_ns || w->cfg.max_db_bytes ? w->next_retention_ms : now_ms() + 60000;
        if (until <= now_ms())
            break;
        wait_until(w, until);
    }
    take_queue(w);
    bool more = w->pending || !w->stop;
    pthread_mutex_unlock(&w->mu);
    return more;
}

/* After a failed transaction: wait, or give up when the stop deadline passed. */
static bool wait_to_retry(ig_writer *w)
{
    pthread_mutex_lock(&w->mu);
    int64_t until = now_ms() + w->cfg.retry_ms;
    if (w->stop && w->deadline_ms < until)
        until = w->deadline_ms;
    wait_until(w, until);
    bool give_up = w->stop && now_ms() >= w->deadline_ms;
    if (give_up) {
        take_queue(w);
        release(w, NULL, false);
    }
    pthread_mutex_unlock(&w->mu);
    return !give_up;
}

static void *writer_main(void *arg)
{
    ig_writer *w = arg;
    pthread_setname_np(pthread_self(), "ig-writer"); /* in top -H and /proc */
    while (wait_for_work(w)) {
        bool fatal;
        pthread_mutex_lock(&w->mu);
        fatal = w->fatal;
        pthread_mutex_unlock(&w->mu);
        if (fatal) { /* nothing more will be written; wait for stop */
            pthread_mutex_lock(&w->mu);
            while (!w->stop)
                pthread_cond_wait(&w->cv, &w->mu);
            take_queue(w);
            release(w, NULL, false);
            pthread_mutex_unlock(&w->mu);
            break;
        }
        if (w->pending) {
            ig_err err = {{0}};
            ig_batch *upto, *bad;
            int rc = write_pending(w, &upto, &bad, &err);
            if (rc == -1 && bad) {
                drop_batch(w, bad, &err);
                continue;
            }
            if (rc == 0) {
                pthread_mutex_lock(&w->mu);
                release(w, upto, true);
                pthread_mutex_unlock(&w->mu);
                set_state(w, false, NULL);
            } else if (rc == IG_STORE_RETRY) {
                atomic_fetch_add(&w->cfg.counters->store_retries, 1);
                set_state(w, true, err.msg);
                if (!wait_to_retry(w))
                    break;
                continue;
            } else {
                go_fatal(w, &err);
                continue;
            }
        }
        run_retention(w);
    }
    return NULL;
}

ig_writer *ig_writer_start(const ig_writer_config *cfg, ig_err *err)
{
    ig_writer *w = ig_xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    if (w->cfg.commit_ms <= 0)
        w->cfg.commit_ms = 200;
    if (w->cfg.retry_ms <= 0)
        w->cfg.retry_ms = 1000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        ig_err_set(err, "cannot start the writer thread");
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

uint64_t ig_writer_stop(ig_writer *w, int deadline_ms)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    w->deadline_ms = now_ms() + deadline_ms;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu); /* anything submitted after the thread left */
    take_queue(w);
    release(w, NULL, false);
    uint64_t dropped = w->dropped;
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return dropped;
}
