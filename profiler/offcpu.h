/*
 * profiler/offcpu.h — off-CPU intervals: from a thread's switch-out, with
 * its stack at that moment, to its next switch-in.
 *
 * The recorder (record.c) reports each switch-out sample (its frames, the
 * state the thread left the CPU in, its wait channel) and each switch-in,
 * exit and end of a profile; this module pairs them per thread and hands
 * back closed intervals, which the recorder turns into profile samples.
 * Frames are kept as addresses, not profile ids, so an interval can span
 * profiles (ig_recorder_take_profile) and one that turns out shorter than
 * the threshold costs no symbolization.  Memory: one open interval per
 * thread that is off the CPU, freed when it closes.
 *
 * Usage (one thread):
 *     ig_offcpu *oc = ig_offcpu_new();
 *     ig_offcpu_out(oc, &iv_with_frames);          // a switch-out sample
 *     const ig_offcpu_interval *iv = ig_offcpu_in(oc, tid, time);
 *     if (iv) add_sample(iv);                      // a switch-in closed it
 *     ig_offcpu_split_all(oc, end, add_sample_cb, ctx);
 */
#ifndef IG_PROFILER_OFFCPU_H
#define IG_PROFILER_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profiler/spanbpf.h"

typedef struct ig_offcpu ig_offcpu;

/* One interval.  ips holds nkernel kernel frames (leaf first), then nuser
 * user frames (ips[nkernel] is the user PC, later ones return addresses). */
typedef struct ig_offcpu_interval {
    pid_t pid, tid;
    uint64_t out_time;     /* the switch-out */
    uint64_t start, end;   /* the part this interval accounts for: start is
                            * out_time, or later for the rest of an interval
                            * an earlier profile took a part of */
    const char *state;     /* static string (sched_switch.h) */
    uint64_t wchan;        /* kernel address of the wait channel, 0: unknown */
    const uint64_t *ips;
    uint32_t nkernel, nuser;
    bool truncated;        /* the user stack was not unwound to its root */
    bool before_start;     /* the thread was off the CPU when recording began:
                            * no stacks, out_time is when it was found so */
    bool has_span;         /* the thread was in a span when it switched out: */
    ig_spanbpf_label span; /* ... that span (profiler/spanbpf.h), copied */
} ig_offcpu_interval;

typedef struct ig_offcpu_stats {
    uint64_t switches;     /* switch-outs seen */
    uint64_t unmatched;    /* intervals dropped: no switch-in before the
                            * thread's next switch-out (records lost) */
    uint64_t open;         /* intervals open now */
} ig_offcpu_stats;

ig_offcpu *ig_offcpu_new(void);
void ig_offcpu_free(ig_offcpu *oc);

/* A switch-out: opens iv->tid's interval at iv->out_time (start and end
 * are ignored), copying the frames.  An interval still open for that
 * thread lost its switch-in: it is dropped and counted (unless it was
 * one begun before_start, whose switch-in may have come before the
 * events were enabled). */
void ig_offcpu_out(ig_offcpu *oc, const ig_offcpu_interval *iv);

/* Sets the state of tid's open interval, if one is open (the switch-out
 * record that follows a sample without a state, before any switch-in). */
void ig_offcpu_set_state(ig_offcpu *oc, pid_t tid, const char *state);

/* A switch-in (or the thread's exit) at `time`: closes tid's open
 * interval and returns it (end = time, never before start), valid until
 * the next call; NULL when none was open. */
const ig_offcpu_interval *ig_offcpu_in(ig_offcpu *oc, pid_t tid, uint64_t time);

/* Every open interval, up to `time`, handed to cb; each stays open from
 * `time` on, for the next profile. */
void ig_offcpu_split_all(ig_offcpu *oc, uint64_t time, void (*cb)(const ig_offcpu_interval *iv, void *ctx),
                         void *ctx);

const ig_offcpu_stats *ig_offcpu_get_stats(const ig_offcpu *oc);

/* The wait channel of a switch-out's kernel callchain (leaf first, with
 * perf's context markers): the first frame below the scheduler's, as
 * /proc/PID/wchan names it (hrtimer_nanosleep, futex_wait_queue,
 * anon_pipe_read, ...).  name_of gives a kernel address's symbol (NULL
 * when unknown); each address is classified once and remembered.  Returns
 * its address, 0 when there is none (no kernel callchain). */
uint64_t ig_offcpu_wchan(ig_offcpu *oc, const uint64_t *chain, uint64_t n,
                         const char *(*name_of)(uint64_t addr, void *ctx), void *ctx);

/* True for the kernel's scheduling functions (the __sched text that
 * get_wchan skips, and the tracing frames above them), by name; compiler
 * suffixes (".constprop.0", ".isra.0") are ignored. */
bool ig_offcpu_is_sched_function(const char *name);

#endif
