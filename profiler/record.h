/*
 * profiler/record.h — the sampling engine behind `ignis record` and
 * `ignis top`: attach to processes (or launch one), sample their threads,
 * unwind and symbolize each sample online into an ignis_profile.
 *
 * Usage (single-threaded; one recorder per caller thread):
 *
 *     ig_record_opts o = IG_RECORD_OPTS_INIT;
 *     o.pids = pids; o.npids = n;            // or o.argv = cmd (-- CMD)
 *     ig_err err;
 *     ig_recorder *r = ig_recorder_new(&o, &err);
 *     if (!r) die(err.msg);
 *     while (!stop && ig_recorder_poll(r, 100) > 0)
 *         show(ig_recorder_stats(r));        // samples, lost, threads ...
 *     ignis_profile *p = ig_recorder_take_profile(r);
 *     ig_recorder_free(r);
 *
 * With off_cpu the recorder records the targets' waits instead of their
 * CPU: each sample's value is how long the thread stayed off the CPU (ns)
 * from a switch-out to its next switch-in (with the BPF engine, waits
 * shorter than off_cpu_period_ns drawn with probability wait/period and
 * valued the period, profiler/offbpf.h; else every switch-out is sampled);
 * with wall, on-CPU samples and off-CPU intervals go into one profile
 * valued in wall time.  Both label each sample with the thread's `state`
 * (running, runnable, sleeping, uninterruptible, ...) and, for waits, its
 * kernel wait channel (`wchan`) when kernel callchains are permitted.
 *
 * ig_recorder_take_profile() hands over everything collected since the
 * previous call (or since the start) and starts a fresh profile, so a live
 * view can call it once per refresh and merge or replace.  Unwind tables,
 * symbol caches and the set of followed threads survive the swap; only ids
 * that belong to a profile are forgotten.
 */
#ifndef IG_PROFILER_RECORD_H
#define IG_PROFILER_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ignis/profile.h"
#include "utils/err.h"

typedef struct ig_record_opts {
    const pid_t *pids;     /* processes to attach to (-p) */
    size_t npids;
    const pid_t *tids;     /* only these threads (--tid); not followed */
    size_t ntids;
    char *const *argv;     /* command to launch (-- CMD), NULL-terminated */
    unsigned freq;         /* samples per second per thread; default 99 */
    unsigned stack_size;   /* user stack bytes per sample; default 16384 */
    bool no_kernel;        /* leave kernel frames out */
    bool per_thread;       /* add the thread as the root frame */
    const char *cache_dir; /* persistent symbol cache (symbols.h), NULL: none */
    const sigset_t *poll_sigmask; /* signal mask while ig_recorder_poll waits
                                   * (ppoll), so a stop signal blocked
                                   * elsewhere ends the wait at once; NULL:
                                   * the caller's mask.  Must outlive the
                                   * recorder. */
    bool off_cpu;          /* off-CPU profile: values samples/count, off_cpu/ns */
    bool wall;             /* wall-clock profile: samples/count, cpu/ns,
                            * off_cpu/ns, wall/ns (on-CPU samples at freq) */
    uint64_t off_cpu_min_ns; /* off-CPU intervals shorter than this are left
                              * out (counted in stats.offcpu_short) */
    bool span_labels;      /* label CPU samples and off-CPU intervals (with
                            * sched_switch) taken in a span of a target that
                            * publishes OTEP 4947 thread context (libignis) with
                            * trace_id, span_id, span_name (profiler/spanbpf.h);
                            * without BPF, a note and no labels */
    bool all;              /* every process on every CPU (-a), but this one;
                            * narrowed by pids (and their children) or cgroup */
    const char *cgroup;    /* with all: only the tasks of this cgroup directory */
    bool sample_times;     /* label each sample with time_ns, when it was taken (an
                            * off-CPU interval: when it began), ns since the epoch
                            * on CLOCK_REALTIME (the kernel's CLOCK_MONOTONIC stamp
                            * plus the offset read at the profile's start), for a
                            * join with spans by thread and time (profile/spans.h);
                            * every sample is then its own */
    unsigned switch_stack_size; /* user stack bytes per switch-out sample (off_cpu,
                                 * wall); 0: the smaller of stack_size and
                                 * IG_RECORD_SWITCH_STACK.  Every switch-out
                                 * copies it in the target's context, so it is
                                 * most of what recording costs a thread that
                                 * blocks often (bench/offcpu.sh).  16K: a thread
                                 * blocked in read() into an 8K buffer on its
                                 * stack (BUFSIZ, coreutils) is truncated at 8K */
    uint64_t off_cpu_period_ns; /* off_cpu, wall with the BPF engine: waits of at
                                 * least this are recorded exactly, shorter ones
                                 * with probability wait/period and value period
                                 * (time-weighted sampling, profiler/offbpf.h);
                                 * 0: every wait (the perf engine always) */
} ig_record_opts;

#define IG_RECORD_DEFAULT_FREQ 99u
#define IG_RECORD_DEFAULT_STACK 16384u
#define IG_RECORD_SWITCH_STACK 16384u
#define IG_RECORD_MAX_FREQ 100000u
#define IG_RECORD_OPTS_INIT                                                                                        \
    {NULL, 0, NULL, 0, NULL, IG_RECORD_DEFAULT_FREQ, IG_RECORD_DEFAULT_STACK, false, false, NULL, NULL,             \
     false, false, 0, false}

typedef struct ig_record_stats {
    uint64_t samples;      /* samples added to profiles */
    uint64_t lost;         /* records the kernel dropped (ring full); with per_cpu
                            * events also other processes' */
    uint64_t partial;      /* samples not unwound to the thread root */
    uint64_t bad;          /* malformed records skipped */
    uint64_t threads;      /* distinct threads that were sampled */
    uint64_t events_open;  /* perf events currently open */
    uint64_t events_opened;/* perf events opened in total */
    uint64_t foreign_samples; /* CPU-wide events' samples of processes not
                            * followed, dropped here (a BPF filter drops them
                            * in the kernel, where it can: wants_per_cpu) */
    uint64_t attached;     /* threads attached directly (not inherited); with
                            * per_cpu events, the targets' threads at attach */
    uint64_t maps_reloads; /* /proc/PID/maps re-reads (new code seen) */
    uint64_t unattached;   /* threads that could not be attached (not sampled) */
    int unattached_errno;  /* ... the first reason (EMFILE: file descriptors) */
    uint64_t throttled;    /* times the kernel throttled sampling (THROTTLE) */
    bool per_cpu;          /* one event per CPU, filtered by process (many threads) */
    uint64_t target_cpu_ns;    /* CPU time the targets used while recorded (their
                                * /proc/PID/stat; a launched command's whole tree:
                                * its cpu-clock events' counts); 0:
                                * unknown (a target vanished between two looks) */
    uint64_t target_sampled_ns;/* ... and the CPU time their samples account for */
    bool kernel;           /* kernel callchains are being recorded */
    pid_t child;           /* the launched command, 0 for -p */
    int child_status;      /* its wait status once it exited, else -1 */
    int64_t start_ns;      /* CLOCK_REALTIME at attach */
    bool cpu_events;       /* on-CPU samples are taken (not with off_cpu) */
    /* off_cpu and wall */
    uint64_t switches;     /* switch-outs recorded */
    uint64_t switch_unwinds_cached; /* ... whose user stack was a repeat, taken
                                     * from the stack memo (unwind.h) */
    uint64_t switch_memo_differs;   /* IGNIS_UNWIND_CACHE=verify: memo answers that
                                     * a fresh unwind contradicted (a bug) */
    uint64_t intervals;    /* off-CPU intervals in the profiles */
    uint64_t offcpu_ns;    /* ... their time */
    uint64_t offcpu_short; /* intervals under off_cpu_min_ns, left out */
    uint64_t offcpu_unmatched; /* intervals dropped: their switch-in was lost */
    bool switch_states;    /* states from sched:sched_switch (else only
                            * runnable/blocked, from context-switch events) */
    char switch_note[640]; /* why sched:sched_switch is not used; "" if it is */
    bool offcpu_bpf;       /* the BPF engine records the waits (profiler/offbpf.h) */
    char offcpu_engine[400]; /* which engine, and why not BPF when not */
    uint64_t bpf_seen;       /* BPF engine: switch-outs of followed threads */
    uint64_t bpf_off_ns;     /* ... their exact off-CPU time (in-kernel) */
    uint64_t bpf_recorded;   /* ... events written */
    uint64_t bpf_sampled_out;/* ... waits not drawn (--off-cpu-period) */
    uint64_t bpf_below_min;  /* ... waits under --off-cpu-min */
    uint64_t bpf_dropped;    /* ... events lost (ring buffer full) */
    uint64_t bpf_mismatch;   /* ... drawn waits dropped: registers changed (exec) */
    uint64_t bpf_exits;      /* ... drawn waits dropped: the thread exited in them */
    uint64_t bpf_late_in;    /* ... switch-ins the program missed, timed later */
    uint64_t bpf_late_ns;    /* ... drawn values among those, left out (stacks unknown) */
    uint64_t bpf_value_ns;   /* ... the values of the waits drawn (bpf_off_ns in expectation) */
    uint64_t bpf_prog_ns;    /* ... the programs' CPU time (IGNIS_BPF_STATS=1) */
    /* span_labels */
    uint64_t span_procs;     /* processes whose samples get span labels */
    uint64_t span_labelled;  /* CPU samples labelled with their span */
    uint64_t span_outside;   /* ... of those processes, taken outside any span */
    uint64_t span_unlabelled;/* ... whose span could not be told (left unlabelled) */
    uint64_t span_sw_labelled;   /* switch-outs (off_cpu, wall) labelled with their span */
    uint64_t span_sw_outside;    /* ... of those processes, outside any span */
    uint64_t span_sw_unlabelled; /* ... whose span could not be told (left unlabelled) */
    unsigned span_notes;     /* notes so far (one line each: a process followed,
                              * or why span labels are off); the last in span_note */
    char span_note[512];
    uint64_t procs;        /* with all: processes in the table now (pruned at exit) */
    uint64_t procs_seen;   /* ... and in total */
    uint64_t procs_swept;  /* ... pruned without their EXIT record (it was lost):
                            * found gone in /proc after their records were drained */
    uint64_t cache_trims;  /* ... module and symbol caches rebuilt (more than
                            * 1024 files, or $IGNIS_MAX_MODULES, at a profile's end) */
} ig_record_stats;

typedef struct ig_recorder ig_recorder;

/* Validates options, attaches (or forks and execs argv, attaching before
 * the exec) and returns a recorder that is sampling.  On failure returns
 * NULL with a one-line reason in err (no such process, permission with the
 * perf_event_paranoid / CAP_PERFMON fix, bad option value, exec failure).
 * With o->all every process but this one is sampled (labels pid, process,
 * thread, tid); processes are pruned from its tables when they exit. */
ig_recorder *ig_recorder_new(const ig_record_opts *o, ig_err *err);

/* Waits up to timeout_ms for data, then drains every ring into the current
 * profile, follows new threads and closes events of exited ones.  Returns
 * 1 while some target is alive, 0 once every target exited (all data
 * drained), -1 on an unrecoverable error (err-less; see stats). */
int ig_recorder_poll(ig_recorder *r, int timeout_ms);

/* How long a caller may wait between ig_recorder_poll calls without risking
 * the rings: 80% of the time they take to fill at the sampling rate, at
 * most 2000 ms.  Draining once per period, all CPUs at once, is the cheapest
 * pace; every ring also wakes the poll early when it nears full. */
int ig_recorder_drain_period_ms(const ig_recorder *r);

/* The profile collected since the previous call, the rings drained first;
 * the caller owns it.  A new empty profile starts.  Its duration is the
 * time it covers. */
ignis_profile *ig_recorder_take_profile(ig_recorder *r);

/* Counters since ig_recorder_new (they are not reset by take_profile). */
const ig_record_stats *ig_recorder_stats(const ig_recorder *r);

/* Whether the launched command, or a process it started, may still run. */
bool ig_recorder_command_alive(const ig_recorder *r);

/* Sends sig to the launched command and every process it started: its
 * process group (it has one of its own when ignis has no controlling
 * terminal) and each process followed and not known to have exited (the
 * rings are drained first).  Returns how many kill() calls succeeded. */
int ig_recorder_signal_command(ig_recorder *r, int sig);

/* Stops sampling and frees everything.  A launched command that still
 * runs, or processes it started, get SIGTERM, then SIGKILL 2 s later, and
 * the command is reaped. */
void ig_recorder_free(ig_recorder *r);

/* Parses "1234,5678" into pids, each once (a repeated one is dropped);
 * returns the count or -1 on a bad list or one of more than
 * IG_MAX_PID_LIST pids. */
#define IG_MAX_PID_LIST 4096
int ig_parse_pid_list(const char *s, pid_t **out);

/* Whether ignis has a controlling terminal (then its shell's job control
 * owns the process groups: a launched command stays in ignis's group). */
bool ig_has_controlling_tty(void);

#endif
