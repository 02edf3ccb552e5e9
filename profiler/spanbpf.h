/*
 * profiler/spanbpf.h — exact span labels for perf samples: a BPF program
 * on the sampling events reads, at the moment of each sample, the span the
 * sampled thread is in (OTEP 4947 record, through the thread pointer), and
 * a join hands each sample the label taken for it.
 *
 * Why at sample time: reading the record when the recorder drains its rings
 * (every few hundred ms) only tells what the thread is in *then*; a thread
 * that ran ten 1 ms spans since has no way to say which sample ran in
 * which.  The kernel runs a BPF_PROG_TYPE_PERF_EVENT program in the
 * event's overflow handler, on the sampled CPU, with the thread
 * interrupted, just before it writes the sample (profiler/bpf/spanctx.bpf.c).
 *
 * Two parts:
 *   - ig_spanbpf: loads the program (libbpf, the object embedded in the
 *     binary), follows processes (their TLS offset of otel_thread_ctx_v1,
 *     from profiler/spanctx.c), attaches to perf events, and drains what
 *     the program found, one event per sample (a BPF ring buffer).
 *   - ig_spanjoin: pure bookkeeping, no BPF: events queued per CPU, in the
 *     order the program ran, and the one taken for a given sample.
 *
 * Integration with the recorder (the contract this module relies on):
 *   1. ig_spanbpf_new() once; on failure print its one line as a warning
 *      and record without span labels (nothing else depends on it).
 *   2. ig_spanbpf_add_process() for each target process when first seen,
 *      again after it execs (a COMM record with PERF_RECORD_MISC_COMM_EXEC:
 *      the new image has its own TLS layout; until then the program sees
 *      the image changed and labels nothing), and again later for a process
 *      that did not publish yet (its tracer provider is created after
 *      start): a failure is cheap (one read of /proc/PID/maps).
 *      ig_spanbpf_remove_process() when it exits.
 *   3. ig_spanbpf_attach() on every sampling event right after opening it,
 *      before it is enabled and before the target creates threads: an
 *      inherited event passes the program to the copies the kernel makes
 *      for new threads at their creation, not to copies made before.  Both
 *      of the recorder's layouts work: per-thread events with `inherit`
 *      (per thread x CPU, redirected into per-CPU rings) and per-CPU events
 *      (tid -1: the program then runs for every thread on the CPU, and
 *      for a process not followed only writes a short "no span" event).
 *   4. Each drain: ig_ring_begin() on every perf ring FIRST, then
 *      ig_spanbpf_drain(sb, ig_spanjoin_push, join), then handle the
 *      samples in time order per CPU (the recorder's merge of its per-CPU
 *      rings), calling ig_spanjoin_take() with the ring's CPU for each.
 *      The program commits its event before the kernel writes the sample,
 *      so every sample visible at ig_ring_begin has its event in the ring
 *      buffer by then; samples held back for a later drain keep their
 *      events queued in the join.
 *
 * Exactness of the join.  The program writes one event per run, i.e. per
 * sample (a short "no span" event when there is nothing to report), and on
 * one CPU the overflow handlers run one after the other: the sample is
 * stamped, then the program runs and stamps its event
 * (bpf_ktime_get_ns(): CLOCK_MONOTONIC, the clock the recorder's events
 * use with use_clockid), then the next sample of that CPU is stamped.  So
 * per CPU, events and samples are one sequence, strictly interleaved in
 * time, whatever the delay between the stamps (a stalled virtual CPU has
 * shown 0.7 ms).  ig_spanjoin_take(), given a sample of that CPU, drops the
 * CPU's events older than the sample (samples the caller never asked
 * about, or lost in a full perf ring), and the next one is the sample's
 * own: taken if its thread, instruction pointer and period agree.  An
 * event that follows events the program could not write (the ring buffer
 * was full: each event carries its CPU's drop count) or the join's
 * capacity bound pushed out may belong to a later sample: it is never
 * given to a sample, which then stays unlabelled.  A wrong label would
 * need the kernel to break the order above.
 *
 * Costs and limits: x86-64 (the thread pointer is task->thread.fsbase);
 * Linux 5.11 or later with BTF (five field offsets read from it, cached
 * per boot: no CO-RE, so a load does not parse the kernel's BTF); the
 * loader needs CAP_BPF + CAP_PERFMON (or root).  bench/spanbpf.sh measures
 * the program's time per sample.  Only static TLS (the executable or a library loaded at start)
 * is supported, as ig_spanctx_tls_offset says.  The kernel skips a BPF
 * perf program when another BPF program is running on that CPU at the
 * time (its recursion guard), and then drops that sample too.
 */
#ifndef IG_PROFILER_SPANBPF_H
#define IG_PROFILER_SPANBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "utils/err.h"

#define IG_SPANBPF_NAME_MAX 64 /* span name bytes kept per label (libignis publishes at most 64) */

/* What the program found for one sample. */
typedef struct ig_spanbpf_label {
    uint32_t tgid, tid;    /* in the loader's pid namespace, as perf samples name them */
    uint32_t cpu;          /* the CPU the sample was taken on */
    uint32_t cpu_drops;    /* events the program dropped on this CPU before this one */
    uint64_t time;         /* CLOCK_MONOTONIC ns, after the sample's stamp, before the CPU's next */
    uint64_t ip;           /* the sampled instruction pointer */
    uint64_t period;       /* the sample's period (0 for a switch-out) */
    bool from_switch;      /* written by the sched_switch program (a switch-out), not at a sample */
    bool in_span;          /* false: no span (or none readable); the fields below are zero */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;   /* W3C trace flags */
    uint8_t name_len;      /* 0: the record had no span_name */
    char name[IG_SPANBPF_NAME_MAX + 1]; /* NUL-terminated, cut to IG_SPANBPF_NAME_MAX bytes */
} ig_spanbpf_label;

/* What the program saw, summed over CPUs since ig_spanbpf_new. */
typedef struct ig_spanbpf_stats {
    uint64_t samples;    /* program runs (samples of the events it is attached to) */
    uint64_t labelled;   /* runs that found a span */
    uint64_t no_span;    /* runs on a followed process outside any span (no record, or not valid) */
    uint64_t stale;      /* the pid is another process image now (exec, pid reuse) */
    uint64_t unreadable; /* TLS slot or record not readable at that moment */
    uint64_t dropped;    /* events lost: the ring buffer was full */
    uint64_t sw_seen;    /* switch-outs of followed processes (ig_spanbpf_attach_switches) */
    uint64_t sw_labelled;/* ... in a span */
    uint64_t sw_dropped; /* ... whose event was lost */
} ig_spanbpf_stats;

typedef struct ig_spanbpf ig_spanbpf;

typedef struct ig_spanbpf_opts {
    size_t ring_bytes;    /* event ring buffer (rounded up to a power of two); 0: 64 KiB per CPU, 256 KiB at least */
    const char *btf_path; /* kernel BTF; NULL: /sys/kernel/btf/vmlinux */
    const char *cache_dir; /* keeps the kernel field offsets found in the BTF, per boot
                            * (spanbpf/<boot id>.offsets); NULL: none, the BTF is read at
                            * every load (~80 ms of CPU); unused with btf_path */
    bool switches;         /* load the sched_switch half too (ig_spanbpf_attach_switches) */
    int follow_fd;         /* > 0: the off-CPU program's map of followed processes
                            * (ig_offbpf_follow_fd); the program then drops every
                            * sample of a thread not followed (for CPU-wide events) */
} ig_spanbpf_opts;

/* Loads the program.  NULL with one line naming what is missing when BPF
 * is not available (not permitted, kernel without BTF, not x86-64, ...). */
ig_spanbpf *ig_spanbpf_new(ig_err *err);
ig_spanbpf *ig_spanbpf_new_opts(const ig_spanbpf_opts *o, ig_err *err);
/* Unloads it (events it was attached to keep sampling, unlabelled). */
void ig_spanbpf_free(ig_spanbpf *sb);

/* Follows process `pid`: resolves the thread-pointer offset of its
 * otel_thread_ctx_v1 (profiler/spanctx) and its image identity.  0, or -1
 * with a reason; a process without libignis (or with publishing off) is
 * simply not labelled.  Calling it again refreshes the entry (exec). */
int ig_spanbpf_add_process(ig_spanbpf *sb, pid_t pid, ig_err *err);
/* The same with an entry made by ig_spanbpf_proc_entry_from (one entry for
 * this program's map and the off-CPU program's). */
struct ig_spanbpf_proc;
int ig_spanbpf_add_entry(ig_spanbpf *sb, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err);
/* Stops following `pid` (it exited). */
void ig_spanbpf_remove_process(ig_spanbpf *sb, pid_t pid);

/* Attaches the program to a sampling perf event (PERF_EVENT_IOC_SET_BPF).
 * 0, or -1 with a reason (e.g. the event already has a program). */
int ig_spanbpf_attach(ig_spanbpf *sb, int perf_event_fd, ig_err *err);

/* Labels switch-outs too: attaches the program's sched:sched_switch half
 * to the tracepoint whose perf id is tp_id (tracefs
 * events/sched/sched_switch/id, profiler/sched_switch.h), through a
 * disabled perf event of its own (the program then runs at every
 * switch-out on the machine and writes an event for the threads of
 * followed processes only; see ig_spanjoin_take_switch).  Its events come
 * out of ig_spanbpf_drain with from_switch set.  Needs opts.switches at
 * load.  0, or -1 with a reason. */
int ig_spanbpf_attach_switches(ig_spanbpf *sb, unsigned tp_id, ig_err *err);

typedef struct ig_spanjoin ig_spanjoin;

/* Notes the switch program's drop count on each CPU now (the cpu_drops of
 * the events it writes next) in join j (ig_spanjoin_note_drops), after a
 * drain.  -1 when it cannot be read: then every CPU is noted as having
 * lost events, and switch-outs without a later event stay unlabelled. */
int ig_spanbpf_note_switch_drops(ig_spanbpf *sb, ig_spanjoin *j);

/* Calls cb for every event since the last drain (one per sample, in the
 * order the program ran on each CPU); returns how many.  The label is
 * valid during the call. */
typedef void (*ig_spanbpf_label_fn)(void *ctx, const ig_spanbpf_label *l);
size_t ig_spanbpf_drain(ig_spanbpf *sb, ig_spanbpf_label_fn cb, void *ctx);

/* Decodes one ring buffer record of the program (ig_spanbpf_drain's
 * work; pure, for the fuzzer): 0, or -1 if it is too short to be one. */
int ig_spanbpf_decode_event(const void *data, size_t size, ig_spanbpf_label *out);

/* The program's counters (summed over CPUs). */
void ig_spanbpf_stats_get(const ig_spanbpf *sb, ig_spanbpf_stats *out);
/* The loaded program's fd (for bpf_prog_get_info_by_fd run-time stats). */
int ig_spanbpf_prog_fd(const ig_spanbpf *sb);

/* ---- for other programs built on spanctx.bpf.c -----------------------------------
 * (profiler/bpf/allocspan.bpf.c, loaded by profiler/alloc/allocbpf.c): what
 * they must be given before and after their load, found as ig_spanbpf_new
 * and ig_spanbpf_add_process find it. */

struct ig_spanbpf_proc;

/* The read-only values a program must be loaded with. */
typedef struct ig_spanbpf_kernel {
    uint32_t fsbase, group_leader, mm, start_boottime, start_stack; /* kernel field offsets */
    uint64_t pidns_dev, pidns_ino; /* the loader's pid namespace (0, 0: the initial one) */
} ig_spanbpf_kernel;

/* Finds them (the BTF, or the per-boot cache: o's btf_path and cache_dir),
 * and keeps libbpf's messages from now on for ig_spanbpf_load_error.  0, or
 * -1 with a reason. */
int ig_spanbpf_kernel_get(const ig_spanbpf_opts *o, ig_spanbpf_kernel *k, ig_err *err);
/* The entry of the followed processes' map for process pid.  0, or -1 with
 * a reason (e.g. it does not publish its span context). */
int ig_spanbpf_proc_entry(pid_t pid, struct ig_spanbpf_proc *out, ig_err *err);
/* The same from c, pid's context already read, and its TLS offset when
 * known (NULL: resolved now, which parses its modules' ELF). */
struct ig_spanctx;
int ig_spanbpf_proc_entry_from(pid_t pid, struct ig_spanctx *c, const int64_t *tls, struct ig_spanbpf_proc *out,
                               ig_err *err);
/* The one line for a load that failed with errno e (libbpf's first warning
 * included); returns -1. */
int ig_spanbpf_load_error(int e, ig_err *err);
/* Sums over the ncpus CPUs of each of keys 0..nkeys-1 of a per-CPU array
 * of u64 counters (every ignis BPF program's `stats`), into sums[]; a key
 * that cannot be read sums to 0.  BPF builds only. */
struct bpf_map;
void ig_bpf_percpu_sums(const struct bpf_map *map, int ncpus, uint64_t *sums, uint32_t nkeys);

/* A BPF ring buffer read up to what was written before the read began.
 * libbpf's ring_buffer__consume stops at the first record still being
 * written (reserved by a program run that has not committed it yet: a run
 * on another CPU, or one stalled or preempted mid-write: uprobe programs
 * run preemptibly) and leaves every record behind it, committed or not,
 * for its next call.  So a sample already in a perf ring could miss its
 * event, committed before the sample was written, but queued behind
 * another thread's unfinished record.  ig_bpf_ring_consume_all notes the
 * producer position first and consumes until everything reserved before
 * it is delivered, sleeping 20 us at a time (about 50 ms in all at most,
 * then the rest waits for the next drain) while a record is unfinished;
 * it returns what ring_buffer__consume returned last.
 * ig_bpf_ringpos_new maps the positions of ring buffer map fd read-only
 * (NULL when it cannot: ig_bpf_ring_consume_all then consumes once).  BPF
 * builds only. */
typedef struct ig_bpf_ringpos ig_bpf_ringpos;
struct ring_buffer;
ig_bpf_ringpos *ig_bpf_ringpos_new(int ringbuf_map_fd);
void ig_bpf_ringpos_free(ig_bpf_ringpos *p);
int ig_bpf_ring_consume_all(struct ring_buffer *rb, const ig_bpf_ringpos *p);

/* ---- the join ------------------------------------------------------------------ */

/* A sample to find the label of, as parsed from the perf ring. */
typedef struct ig_spanjoin_sample {
    uint32_t cpu;    /* the CPU of the ring it came from */
    uint32_t tid;
    uint64_t time;   /* the sample's time, CLOCK_MONOTONIC */
    uint64_t ip;     /* 0: not compared */
    uint64_t period; /* 0: not compared */
} ig_spanjoin_sample;

typedef struct ig_spanjoin_stats {
    uint64_t labelled;   /* samples given their span */
    uint64_t outside;    /* samples the program found outside any span */
    uint64_t unlabelled; /* samples whose event could not be told (a gap, or not drained yet) */
    uint64_t skipped;    /* events whose sample was never asked about (or lost) */
    uint64_t evicted;    /* events pushed out by the capacity bound */
} ig_spanjoin_stats;

/* capacity: events held at most (0: 16384; ~150 bytes each), the oldest
 * pushed out first: at least the samples of all CPUs between two drains
 * (plus those held back), e.g. CPUs x frequency x 0.5 s. */
ig_spanjoin *ig_spanjoin_new(size_t capacity);
void ig_spanjoin_free(ig_spanjoin *j);

/* Queues an event (ctx is the join: usable as ig_spanbpf_drain's
 * callback).  Events of one CPU must be pushed in the order drained. */
void ig_spanjoin_push(void *join, const ig_spanbpf_label *l);

/* The span sample s ran in, or NULL (it ran outside any span, or its event
 * could not be told).  Samples of one CPU must come in time order.  The
 * pointer is valid until the next push or take. */
const ig_spanbpf_label *ig_spanjoin_take(ig_spanjoin *j, const ig_spanjoin_sample *s);

/* The join of switch-outs (a join of its own, fed only events with
 * from_switch).  The sched_switch program writes its event for a hit just
 * before the kernel writes that hit's switch-out sample, both on the CPU
 * the thread leaves, with interrupts off: so the sample's event is the
 * CPU's last one stamped before the sample, and nothing of another hit of
 * that CPU comes between.  It is taken if its thread is the sample's and
 * no event of that CPU was lost after it (the next event's drop count, or
 * the count ig_spanjoin_note_drops gave when none follows yet); events
 * before it are of switch-outs never asked about.  The caller asks only
 * for samples of processes followed since before the sample (an event is
 * written only for those), so an older event of the same thread can never
 * stand in for a missing one. */
const ig_spanbpf_label *ig_spanjoin_take_switch(ig_spanjoin *j, const ig_spanjoin_sample *s);

/* The program's drop count on `cpu` read after the latest drain (see
 * ig_spanjoin_take_switch). */
void ig_spanjoin_note_drops(ig_spanjoin *j, uint32_t cpu, uint32_t drops);

/* Events queued now. */
size_t ig_spanjoin_pending(const ig_spanjoin *j);
void ig_spanjoin_stats_get(const ig_spanjoin *j, ig_spanjoin_stats *out);

#endif
