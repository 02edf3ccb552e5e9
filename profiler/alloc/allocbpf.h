/*
 * profiler/alloc/allocbpf.h — span labels for `ignis record --alloc -p`:
 * the span each probed allocation was made in, read by a BPF program in
 * the allocating thread at the allocation (profiler/bpf/allocspan.bpf.c),
 * joined with the uprobe sample of the same call.
 *
 * Two parts:
 *   - ig_allocbpf: loads the program, follows the target process (the TLS
 *     offset of its otel_thread_ctx_v1, as profiler/spanbpf.c does),
 *     attaches the program to per-thread entry uprobe events (a BPF link
 *     each; the cookie names the event's slot in the program's perf event
 *     array) and drains its events into a join.
 *   - ig_allocjoin: pure bookkeeping, no BPF (unit-tested): events queued
 *     per attached event, and the one of a given sample.
 *
 * Exactness.  The program writes, for every hit of a probe event in the
 * event's own thread that the kernel samples, the event's count plus one: the count the kernel
 * gives that hit a moment later, which the sample of the hit (if the
 * period says to write one) carries as its PERF_SAMPLE_READ value.  So a
 * sample's event is the one of its cookie with its count, whatever the
 * clocks, CPUs, migrations or lost samples.  A hit the program saw but the
 * kernel did not count (no known case) would leave two events with one
 * count: such a sample is not labelled.  An event the program could not
 * write (its ring buffer was full) could have been the sample's, and an
 * earlier event with the same count would then stand in for it: so an
 * event is taken only if the program's next run for that probe is known to
 * have been written (its run number follows) or, when it is the latest,
 * the program lost nothing since it.  Samples not labelled so are counted
 * and keep no span, never a wrong one.
 *
 * Integration (profiler/alloc/attach.c): ig_allocbpf_new() when the target
 * publishes its span context (else no labels); the entry probes sample
 * with PERF_SAMPLE_READ; ig_allocbpf_attach() on each per-thread entry
 * probe event; each drain: ig_ring_begin() on every perf ring FIRST, then
 * ig_allocbpf_drain() (the program writes its event before the kernel
 * writes the sample, so every sample seen has its event drained), then
 * ig_allocbpf_take() per entry sample; ig_allocbpf_detach() once a
 * thread's ring was drained for the last time.
 */
#ifndef IG_ALLOC_ALLOCBPF_H
#define IG_ALLOC_ALLOCBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profiler/alloc/heaptab.h"
#include "profiler/spanbpf.h"
#include "utils/err.h"

/* One event of the program. */
typedef struct ig_allocspan {
    uint64_t cookie; /* the probe event's slot (low 32 bits) and generation (high 32) */
    uint64_t hit;    /* the probe event's count with this hit */
    uint64_t seq;    /* the program's events for this slot (written or lost), this one included */
    uint64_t drops;  /* events the program lost before this one */
    ig_spanbpf_label l;
} ig_allocspan;

/* Decodes one ring buffer record of the program: 0, or -1 if it is not
 * one (pure; for the fuzzer and the tests). */
int ig_allocspan_decode(const void *data, size_t size, ig_allocspan *out);

/* ---- the join -------------------------------------------------------------------- */

typedef enum ig_allocjoin_result {
    IG_ALLOCJOIN_SPAN,      /* the sample's event: in a span (*out filled) */
    IG_ALLOCJOIN_OUTSIDE,   /* the sample's event: outside any span */
    IG_ALLOCJOIN_UNKNOWN,   /* its event cannot be told safely: no label */
} ig_allocjoin_result;

typedef struct ig_allocjoin_stats {
    uint64_t labelled, outside, unknown;
    uint64_t skipped; /* events of hits that wrote no sample (--every, lost samples) */
    uint64_t evicted; /* events pushed out by the per-probe bound */
} ig_allocjoin_stats;

typedef struct ig_allocjoin ig_allocjoin;

/* per_slot: events held per probe event at most (0: 2048), the oldest
 * pushed out first: at least the samples its perf ring can hold, since the
 * program's events run ahead of the samples read by as many.  A queue
 * holds only what the samples read are behind by (~170 bytes an event). */
ig_allocjoin *ig_allocjoin_new(size_t per_slot);
void ig_allocjoin_free(ig_allocjoin *j);
/* Queues an event (j is the join: usable as a drain callback).  The
 * events of one cookie come in the order the program wrote them. */
void ig_allocjoin_push(void *j, const ig_allocspan *e);
/* The program's drop count read after the latest drain. */
void ig_allocjoin_note_drops(ig_allocjoin *j, uint64_t drops);
/* The span of the sample of probe event `cookie` whose count is `hit`,
 * taken by thread tid.  Samples of one cookie come in count order; the
 * same count twice in a row (the kernel writes two samples for a first hit
 * with a period above 1) gets the same answer. */
ig_allocjoin_result ig_allocjoin_take(ig_allocjoin *j, uint64_t cookie, uint64_t hit, uint32_t tid,
                                      ig_heapspan *out);
/* Forgets every event of the cookie's slot (its event was closed). */
void ig_allocjoin_forget(ig_allocjoin *j, uint64_t cookie);
void ig_allocjoin_stats_get(const ig_allocjoin *j, ig_allocjoin_stats *out);

/* ---- the program ------------------------------------------------------------------- */

typedef struct ig_allocbpf ig_allocbpf;

/* Loads the program and follows process pid, whose entry probes sample
 * every `every` hits; the join holds per_slot events per probe event
 * (ig_allocjoin_new).  NULL with one line when BPF is not available or pid
 * does not publish its span context (then there is nothing to label). */
ig_allocbpf *ig_allocbpf_new(pid_t pid, uint64_t every, size_t per_slot, const char *cache_dir, ig_err *err);
void ig_allocbpf_free(ig_allocbpf *ab);

/* Attaches the program to entry uprobe event perf_fd (per thread);
 * *cookie names it in samples' joins.  0, or -1 with a reason (e.g. all
 * IG_ALLOCSPAN_MAX_SLOTS slots are taken). */
int ig_allocbpf_attach(ig_allocbpf *ab, int perf_fd, uint64_t *cookie, ig_err *err);
/* Detaches it (after the last drain of its samples) and frees its slot. */
void ig_allocbpf_detach(ig_allocbpf *ab, uint64_t cookie);

/* Moves the program's events into the join; returns how many. */
size_t ig_allocbpf_drain(ig_allocbpf *ab);
/* The join (ig_allocjoin_take). */
ig_allocjoin *ig_allocbpf_join(ig_allocbpf *ab);
/* The program's counters. */
void ig_allocbpf_stats_get(const ig_allocbpf *ab, ig_spanbpf_stats *out);
/* The kernel's count of the program's runs and their total time (both 0
 * unless kernel.bpf_stats_enabled is 1): every hit of a probed entry, by
 * any thread of the target, runs it once per attached thread. */
void ig_allocbpf_run_time(const ig_allocbpf *ab, uint64_t *runs, uint64_t *ns);

#endif
