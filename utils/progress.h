/*
 * utils/progress.h — how far a long computation is, and a way to stop it.
 *
 * Work that may take seconds on a huge profile (building a call tree, a top
 * table, a source listing) runs on a worker thread while the terminal UI
 * keeps drawing.  The worker names its step and counts units done out of a
 * total; the UI thread reads them to draw a progress line and sets `cancel`
 * when the user presses Esc.  The worker polls ig_progress_add() between
 * units and gives up (returning "cancelled") once it says so.  All fields
 * are atomics, so readers on other threads need no lock.  A NULL progress
 * pointer is allowed everywhere and costs nothing.
 */
#ifndef IG_PROGRESS_H
#define IG_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct ig_progress {
    _Atomic(const char *) step;   /* what is being done ("building the call tree"), static text */
    _Atomic uint64_t done, total; /* units of the current step (total 0: unknown) */
    atomic_int cancel;            /* set by another thread: stop as soon as possible */
} ig_progress;

/* Starts a step of `total` units (0 when unknown). */
static inline void ig_progress_step(ig_progress *p, const char *step, uint64_t total)
{
    if (!p)
        return;
    atomic_store_explicit(&p->step, step, memory_order_relaxed);
    atomic_store_explicit(&p->total, total, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
}

/* Counts n more units; returns nonzero when the work was cancelled. */
static inline int ig_progress_add(ig_progress *p, uint64_t n)
{
    if (!p)
        return 0;
    atomic_fetch_add_explicit(&p->done, n, memory_order_relaxed);
    return atomic_load_explicit(&p->cancel, memory_order_relaxed);
}

static inline int ig_progress_cancelled(const ig_progress *p)
{
    return p && atomic_load_explicit(&((ig_progress *)p)->cancel, memory_order_relaxed);
}

/* Asks the worker to stop (any thread). */
static inline void ig_progress_cancel(ig_progress *p)
{
    if (p)
        atomic_store_explicit(&p->cancel, 1, memory_order_relaxed);
}

#endif
