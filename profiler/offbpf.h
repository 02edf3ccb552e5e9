/*
 * profiler/offbpf.h — off-CPU waits recorded by a BPF program that decides
 * at the end of each wait whether to record it (profiler/bpf/offcpu.bpf.c
 * has the design), for `ignis record --off-cpu` and `--wall`.
 *
 * The recorder loads it once (ig_offbpf_new; on failure it falls back to
 * the perf sched_switch path and says why), follows its target processes
 * (ig_offbpf_follow; children follow themselves from their fork), and in
 * each drain hands every event to its callback (ig_offbpf_drain).  Events
 * are decoded by one function, ig_offbpf_decode (fuzzed: fuzz/fuzz_offbpf.c):
 *   IG_OFFBPF_WAIT  a whole wait: its stacks, state, first switch-out, last
 *                   switch-in and the value it stands for (time-weighted
 *                   sampling: `value` ns, see --off-cpu-period);
 *   IG_OFFBPF_IN    a thread presumed waiting at attach is on the CPU;
 *   IG_OFFBPF_OUT   (not written any more) a switch-out with its stacks.
 * Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC, the perf events' clock.
 * x86-64, Linux 6.18+ (BTF, bpf_task_work: the chosen waits are written by
 * their threads on their way back to user space), root or CAP_BPF +
 * CAP_PERFMON; pids are the initial pid namespace's, so the engine is not
 * used from inside another one.
 */
#ifndef IG_PROFILER_OFFBPF_H
#define IG_PROFILER_OFFBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profiler/bpf/offcpu_abi.h" /* the event kinds, IG_OFFBPF_MAX_STACK */
#include "profiler/spanbpf.h"
#include "utils/err.h"

#define IG_OFFBPF_EV_REGS 17   /* perf's user register order (perf.h IG_PREG_*) */
#define IG_OFFBPF_EV_KFRAMES 64

/* A decoded event; `stack` points into the decoded bytes. */
typedef struct ig_offbpf_event {
    int kind;                  /* IG_OFFBPF_WAIT, _OUT or _IN (profiler/bpf/offcpu_abi.h) */
    pid_t pid, tid;
    uint64_t out_time, in_time;
    uint64_t value;            /* WAIT: ns it stands for; IN: ns its OUT's wait stands
                                * for (its length over the probability it was drawn
                                * with), 0: its length */
    bool drop;                 /* IN: the presumed wait is dropped (a thread found runnable was on a CPU) */
    int64_t state;             /* prev_state of the switch-out */
    bool has_regs;             /* regs and stack are the thread's user ones */
    uint64_t regs[IG_OFFBPF_EV_REGS];
    uint32_t nkernel;          /* kernel frames, leaf first */
    uint64_t kstack[IG_OFFBPF_EV_KFRAMES];
    const uint8_t *stack;      /* user stack from regs' SP */
    uint32_t stack_len;
    bool has_span;             /* the thread was in this span: */
    ig_spanbpf_label span;
} ig_offbpf_event;

/* Decodes one ring buffer record.  0, or -1 when it is not an event of a
 * known kind or its lengths do not fit in `size` (lengths are hostile:
 * nothing outside data[0, size) is ever read). */
int ig_offbpf_decode(const void *data, size_t size, ig_offbpf_event *out);

typedef struct ig_offbpf ig_offbpf;

typedef struct ig_offbpf_opts {
    uint64_t period_ns;        /* --off-cpu-period: 0 records every wait */
    uint64_t min_ns;           /* --off-cpu-min */
    unsigned stack_size;       /* user stack bytes per event (at most IG_OFFBPF_MAX_STACK) */
    bool kernel;               /* kernel stacks */
    bool everyone;             /* every task of the machine (-a) */
    const char *cache_dir;     /* for the span reader's kernel offsets */
} ig_offbpf_opts;

/* Loads and attaches the programs.  NULL with a one-line reason ("off-CPU
 * BPF: ...") when it cannot. */
ig_offbpf *ig_offbpf_new(const ig_offbpf_opts *o, ig_err *err);
void ig_offbpf_free(ig_offbpf *ob);

/* Follows process pid (at_exec: from its next exec on, for a command the
 * recorder launched); unfollow when it exits.  0 or -1 with a reason. */
int ig_offbpf_follow(ig_offbpf *ob, pid_t pid, bool at_exec, ig_err *err);
void ig_offbpf_unfollow(ig_offbpf *ob, pid_t pid);

/* Thread tid was found off the CPU at attach (its wait opened by the
 * caller, ig_offcpu before_start): its first switch-in writes an IN.
 * runnable: it was found runnable (on a CPU, or waiting for one); if its
 * first switch is a switch-out, it was on one, and the IN says drop.
 * False when the program has followed the thread already (it switched
 * out since it was followed: its wait is the program's, the caller's is
 * to be dropped), or has no room for it. */
bool ig_offbpf_presume_waiting(ig_offbpf *ob, pid_t tid, bool runnable);

/* Labels pid's waits with their span (its entry as ig_spanbpf_proc_entry
 * makes it), or stops doing so. */
int ig_offbpf_add_span_process(ig_offbpf *ob, pid_t pid, ig_err *err);
/* The same with an entry made once for both programs
 * (ig_spanbpf_proc_entry_from). */
int ig_offbpf_add_span_entry(ig_offbpf *ob, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err);
void ig_offbpf_remove_span_process(ig_offbpf *ob, pid_t pid);

/* The map of followed processes, for a span-label program that drops
 * CPU-wide samples of other processes (ig_spanbpf_opts.follow_fd); -1:
 * none (everyone is followed). */
int ig_offbpf_follow_fd(const ig_offbpf *ob);
/* A perf_event program that drops every sample of a thread not followed
 * (or before a launched command's exec), to attach to CPU-wide sampling
 * events (PERF_EVENT_IOC_SET_BPF) that have no span-label program; -1:
 * none (everyone is followed: nothing to drop). */
int ig_offbpf_cpu_filter_fd(const ig_offbpf *ob);

/* Hands each event written since the last drain to cb.  The events
 * handed. */
size_t ig_offbpf_drain(ig_offbpf *ob, void (*cb)(void *ctx, const ig_offbpf_event *e), void *ctx);

/* An fd that polls readable (POLLIN) when the ring buffer went past a
 * quarter full since the last drain: the recorder sleeps on it beside its
 * timer (-1: none). */
int ig_offbpf_wake_fd(const ig_offbpf *ob);

/* The program's counters, summed over CPUs (offcpu_abi.h). */
typedef struct ig_offbpf_stats {
    uint64_t seen;         /* switch-outs of followed threads */
    uint64_t off_ns;       /* their exact off-CPU time */
    uint64_t recorded;     /* events written (waits and switch-outs) */
    uint64_t sampled_out;  /* waits not drawn (time-weighted sampling) */
    uint64_t below_min;    /* waits under --off-cpu-min */
    uint64_t dropped;      /* events lost: ring buffer full */
    uint64_t mismatch;     /* drawn waits dropped: registers changed before the exit */
    uint64_t exits;        /* drawn waits dropped: the thread exited in them */
    uint64_t late_in;      /* switch-ins found at the next switch-out (see offcpu.bpf.c) */
    uint64_t late_ns;      /* ... the values of those drawn, not written (stacks unknown) */
    uint64_t value_ns;     /* the values of the waits drawn: off_ns, in expectation */
    uint64_t prog_ns;      /* the programs' run time, when the kernel counts it
                            * (kernel.bpf_stats_enabled, or IGNIS_BPF_STATS=1) */
} ig_offbpf_stats;

/* The counters: the per-CPU ones now, with the live threads' own as of
 * the last ig_offbpf_stats_refresh (seen, off_ns, sampled_out are kept
 * per thread; reading them copies every thread's entry, so the caller
 * refreshes now and then, and before its last reading). */
void ig_offbpf_stats_get(const ig_offbpf *ob, ig_offbpf_stats *out);
void ig_offbpf_stats_refresh(ig_offbpf *ob);

#endif
