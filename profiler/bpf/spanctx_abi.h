/*
 * profiler/bpf/spanctx_abi.h — what the span-label BPF program
 * (spanctx.bpf.c) and its loader (profiler/spanbpf.c) agree on: the
 * per-process entry user space writes, the event the program writes per
 * labelled sample, and the counters.  Included by both sides, so only
 * fixed-width kernel types (<linux/types.h>) and no padding holes.
 */
#ifndef IG_PROFILER_BPF_SPANCTX_ABI_H
#define IG_PROFILER_BPF_SPANCTX_ABI_H

#include <linux/types.h>

/* OTEP 4947 record bytes the program copies: the 28-byte header and the
 * first 68 bytes of attrs-data (libignis publishes {0, len, name[<=64]}). */
#define IG_SPANBPF_REC_HDR 28
#define IG_SPANBPF_REC_ATTRS 68
#define IG_SPANBPF_REC_BYTES (IG_SPANBPF_REC_HDR + IG_SPANBPF_REC_ATTRS)
#define IG_SPANBPF_REC_VALID 24      /* uint8: 1 = valid */
#define IG_SPANBPF_REC_ATTRS_SIZE 26 /* uint16 */

/* Map `follow` (shared with the off-CPU program): tgid -> one of these. */
enum { IG_FOLLOW_AT_EXEC = 1, IG_FOLLOW = 2 };

/* Processes followed: tgid -> ig_spanbpf_proc. */
#define IG_SPANBPF_MAX_PROCS 4096

/* A followed process, as user space saw it when it resolved the offset.
 * The program reads the record only while the sampled task still is that
 * process image: same start time (pid reuse) and same stack top (an exec
 * gives a new image whose TLS holds something else at that offset). */
struct ig_spanbpf_proc {
    __s64 tls_offset;   /* otel_thread_ctx_v1 - thread pointer */
    __u64 start_lo;     /* the leader's start_boottime (ns) is in [start_lo, */
    __u64 start_hi;     /* start_hi): /proc/PID/stat starttime, one tick wide */
    __u64 start_stack;  /* mm->start_stack (/proc/PID/stat startstack) */
    __s32 name_key;     /* span_name's index in the key map, -1 none */
    __u32 pad;
};

/* One event per program run (BPF ring buffer record): every sample of the
 * events the program is attached to gets one, so that per CPU the events
 * and the samples are the same sequence.  Only IG_SPANBPF_SPAN events carry
 * the record bytes; the others end at `rec`. */
enum { IG_SPANBPF_NONE = 0, IG_SPANBPF_SPAN = 1 };
/* Which program wrote an event: the one on the sampling events (one event
 * per sample), or the one on sched:sched_switch (one event per switch-out
 * of a followed process, written just before the kernel writes the
 * switch-out sample of that same tracepoint hit). */
enum { IG_SPANBPF_SRC_SAMPLE = 0, IG_SPANBPF_SRC_SWITCH = 1 };

struct ig_spanbpf_head {
    __u64 time;         /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
    __u64 ip;           /* the sampled instruction pointer */
    __u64 period;       /* the sample's period */
    __u32 tgid, tid;    /* in the loader's pid namespace */
    __u32 cpu;
    __u32 drops;        /* events of this source this CPU dropped before this one (ring full) */
    __u8 kind;          /* IG_SPANBPF_NONE or IG_SPANBPF_SPAN */
    __u8 src;           /* IG_SPANBPF_SRC_SAMPLE or IG_SPANBPF_SRC_SWITCH */
    __u16 rec_len;      /* bytes of rec copied (28..96) */
    __s16 name_key;     /* the process's, when the sample was taken */
    __u16 pad2;
};

struct ig_spanbpf_event {
    struct ig_spanbpf_head h;
    __u8 rec[IG_SPANBPF_REC_BYTES];
};

/* The same layout for clang -target bpf and the host compiler. */
_Static_assert(sizeof(struct ig_spanbpf_proc) == 40, "ig_spanbpf_proc layout");
_Static_assert(sizeof(struct ig_spanbpf_head) == 48, "ig_spanbpf_head layout");
_Static_assert(sizeof(struct ig_spanbpf_event) == 48 + IG_SPANBPF_REC_BYTES, "ig_spanbpf_event layout");

/* Per-CPU counters (array index). */
enum {
    IG_SPANBPF_ST_SAMPLES,    /* program runs */
    IG_SPANBPF_ST_LABELLED,   /* span events written */
    IG_SPANBPF_ST_NO_SPAN,    /* followed process, no record or not valid */
    IG_SPANBPF_ST_STALE,      /* the tgid is another process image now */
    IG_SPANBPF_ST_UNREADABLE, /* TLS slot or record not readable at that moment */
    IG_SPANBPF_ST_DROPPED,    /* ring buffer full: events lost */
    IG_SPANBPF_ST_SW_SEEN,    /* switch-outs of followed processes */
    IG_SPANBPF_ST_SW_LABELLED,/* ... in a span */
    IG_SPANBPF_ST_SW_DROPPED, /* ... whose event was lost (ring buffer full) */
    IG_SPANBPF_ST_COUNT
};

#endif
