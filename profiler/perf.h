/*
 * profiler/perf.h — perf_event_open sampling events and their ring buffers.
 *
 * One event per attached thread (or one per CPU for every thread on it):
 * a software cpu-clock event in frequency mode that records the IP,
 * pid/tid, time, period, the kernel callchain, the user registers and a
 * copy of the user stack.  Off-CPU profiles use a switch event instead (or
 * beside it): the sched:sched_switch tracepoint, whose raw data carries the
 * state the thread leaves the CPU in, or the context-switches software
 * event where the tracepoint cannot be used; either samples every
 * switch-out of its thread with the same stacks, and asks for
 * PERF_RECORD_SWITCH records, whose switch-ins end the off-CPU intervals.  Side-band records (MMAP2, COMM, FORK, EXIT,
 * LOST, THROTTLE) carry the pid/tid and time too (sample_id_all), on
 * CLOCK_MONOTONIC when the kernel allows, so records of several rings can
 * be put in time order and compared with the recorder's own clock.  Each
 * event writes to a ring buffer (ig_ring) that the kernel fills and we
 * drain in place; only a record that wraps around the end of the buffer is
 * copied, into one scratch buffer of the ring.
 */
#ifndef IG_PROFILER_PERF_H
#define IG_PROFILER_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest user stack copy perf accepts (the record size is 16 bits). */
#define IG_PERF_MAX_STACK 65528u

/* The user registers we sample, in perf's x86_64 numbering: AX BX CX DX SI
 * DI BP SP IP and R8..R15.  Sample records carry them in bit order. */
enum {
    IG_PREG_AX, IG_PREG_BX, IG_PREG_CX, IG_PREG_DX, IG_PREG_SI, IG_PREG_DI,
    IG_PREG_BP, IG_PREG_SP, IG_PREG_IP,
    IG_PREG_R8, IG_PREG_R9, IG_PREG_R10, IG_PREG_R11,
    IG_PREG_R12, IG_PREG_R13, IG_PREG_R14, IG_PREG_R15,
    IG_PREG_COUNT
};
#define IG_PERF_REGS_MASK 0xff01ffULL /* bits 0-8 and 16-23 */

/* What an event samples. */
typedef enum ig_perf_kind {
    IG_PERF_CPU_CLOCK,        /* cpu-clock at `freq` */
    IG_PERF_SCHED_SWITCH,     /* every switch-out: sched:sched_switch (tracepoint
                               * `tp_id`), with its raw data */
    IG_PERF_CONTEXT_SWITCHES, /* every switch-out: the context-switches software
                               * event (no tracefs, no raw data) */
    IG_PERF_SIDEBAND,         /* no samples: only the side-band records (the
                               * off-CPU BPF engine, profiler/offbpf.h) */
} ig_perf_kind;

typedef struct ig_perf_opts {
    ig_perf_kind kind;
    unsigned tp_id;        /* IG_PERF_SCHED_SWITCH: the tracepoint's id */
    unsigned freq;         /* samples per second per thread */
    unsigned stack_size;   /* bytes of user stack to copy, multiple of 8 */
    bool kernel;           /* record kernel callchains */
    bool inherit;          /* follow threads/processes the target creates */
    bool enable_on_exec;   /* start disabled, enable at exec (-- CMD) */
    bool sideband;         /* ask for MMAP2/COMM/FORK/EXIT records */
    bool mono_clock;       /* timestamps on CLOCK_MONOTONIC (use_clockid) */
    unsigned wakeup_bytes; /* wake a poller when this much is waiting */
    int cgroup_fd;         /* > 0: CPU-wide events (tid -1) count only the tasks
                            * of this cgroup directory (PERF_FLAG_PID_CGROUP) */
} ig_perf_opts;

/* True for the kinds that sample switch-outs.  Those events sample kernel
 * code (the scheduler), so they never set exclude_kernel: they need
 * perf_event_paranoid <= 1 or CAP_PERFMON even without kernel callchains,
 * and the tracepoint's raw data needs CAP_PERFMON or paranoid -1. */
bool ig_perf_kind_switches(ig_perf_kind k);

/* Opens the sampling event on thread `tid` while it runs on `cpu`.  The
 * kernel refuses to mmap an inherited event that is not bound to a CPU, so
 * inherited sampling takes one event per (thread, CPU), all redirected into
 * one ring per CPU.  tid -1 samples every thread on the CPU (inherit must
 * be off; needs CAP_PERFMON or perf_event_paranoid <= 0), only the tasks
 * of o->cgroup_fd's cgroup when that is set.  Returns the fd,
 * or -1 with errno set (EACCES/EPERM: not permitted, ESRCH: no such
 * thread, ENODEV: CPU offline, EINVAL: CPU offline or mono_clock refused). */
int ig_perf_open(const ig_perf_opts *o, pid_t tid, int cpu);

/* Opens the owner of a CPU's ring: a dummy event on that CPU (on the
 * calling thread where CPU-wide events are not permitted), which never
 * produces records itself but whose ring the sampling events
 * of that CPU write to (ig_perf_redirect).  Uses wakeup_bytes and
 * mono_clock of opts (the kernel redirects only between events of one
 * clock). */
int ig_perf_open_sink(int cpu, const ig_perf_opts *o);

/* Sends event fd's records to the ring of sink_fd (same CPU).  0 or -1. */
int ig_perf_redirect(int fd, int sink_fd);
/* Runs BPF program prog_fd (BPF_PROG_TYPE_PERF_EVENT) at each of event
 * fd's samples; one that returns 0 drops its sample.  0 or -1. */
int ig_perf_set_bpf(int fd, int prog_fd);

typedef struct ig_ring {
    int fd;
    struct perf_event_mmap_page *meta;
    uint8_t *data;       /* data area, `size` bytes, a power of two */
    size_t size;
    size_t map_len;
    uint64_t tail;       /* our read position */
    uint64_t head;       /* kernel write position seen at ig_ring_begin */
    uint8_t *scratch;    /* for records that wrap (64 KiB) */
} ig_ring;

/* Maps `pages` data pages (a power of two) of fd; halves the size while
 * the kernel refuses (locked memory limit).  Returns 0 or -1 (errno). */
int ig_ring_map(ig_ring *r, int fd, size_t pages);
void ig_ring_unmap(ig_ring *r);

/* Reading: ig_ring_begin() snapshots the kernel head (acquire barrier),
 * ig_ring_next() returns the next record (pointing into the buffer, or into
 * the scratch copy when it wraps) or NULL when caught up, and ig_ring_end()
 * publishes the new tail (release barrier) so the kernel can reuse the
 * space.  A record pointer is valid until the next ig_ring_next().
 * ig_ring_peek() returns the next record without consuming it (the same
 * one again until ig_ring_advance() steps past it), so a reader can leave
 * a record in the ring for a later drain; valid until the next peek. */
void ig_ring_begin(ig_ring *r);
const struct perf_event_header *ig_ring_next(ig_ring *r);
const struct perf_event_header *ig_ring_peek(ig_ring *r);
void ig_ring_advance(ig_ring *r, const struct perf_event_header *h);
void ig_ring_end(ig_ring *r);

/* The time of a record of an event opened by ig_perf_open() with
 * `sideband` set: a sample's time field, else the time of the sample_id
 * that ends every other record.  0 when the record is too short to hold
 * one. */
uint64_t ig_perf_record_time(const struct perf_event_header *h);

/* A parsed PERF_RECORD_SAMPLE (pointers into the record). */
typedef struct ig_perf_sample {
    uint64_t ip;
    uint32_t pid, tid;
    uint64_t time;
    uint64_t period;
    uint64_t nr_chain;
    const uint64_t *chain;   /* kernel callchain with context markers */
    uint64_t regs_abi;       /* PERF_SAMPLE_REGS_ABI_NONE: no user regs */
    uint64_t regs[IG_PREG_COUNT];
    uint64_t stack_size;     /* bytes valid in stack (dyn_size) */
    const uint8_t *stack;    /* copy of the user stack from regs[SP] */
    bool user_mode;          /* the sample hit user code */
    const uint8_t *raw;      /* IG_PERF_SCHED_SWITCH: the tracepoint's data */
    uint32_t raw_size;
} ig_perf_sample;

/* Parses a sample record laid out as ig_perf_open() asked for `kind`
 * (the sched_switch tracepoint's carries raw data after the callchain).
 * Returns 0, or -1 when the record is malformed (lengths beyond its size). */
int ig_perf_parse_sample_of(const struct perf_event_header *h, ig_perf_kind kind, ig_perf_sample *s);

/* The same for the cpu-clock and context-switches layout. */
int ig_perf_parse_sample(const struct perf_event_header *h, ig_perf_sample *s);

/* A PERF_RECORD_SWITCH or PERF_RECORD_SWITCH_CPU_WIDE record: the thread
 * that left or entered the CPU (its sample_id) and when. */
typedef struct ig_perf_switch {
    uint32_t pid, tid;
    uint64_t time;
    bool out;                /* a switch-out (else a switch-in) */
    bool preempt;            /* ... while runnable (preempted) */
} ig_perf_switch;

/* Parses a switch record of an event opened with `sideband`.  0, or -1
 * when it is not one or too short to carry its sample_id. */
int ig_perf_parse_switch(const struct perf_event_header *h, ig_perf_switch *sw);

/* perf_event_paranoid value, or -99 when unreadable. */
int ig_perf_paranoid(void);

#endif
