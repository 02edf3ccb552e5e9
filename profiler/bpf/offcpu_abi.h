/*
 * profiler/bpf/offcpu_abi.h — what the off-CPU BPF program (offcpu.bpf.c)
 * and its loader (profiler/offbpf.c) agree on: the event the program
 * writes to its ring buffer, the per-process follow flags and the
 * counters.  Included by both sides: fixed-width kernel types only, no
 * padding holes (the asserts check the layout is the same for both).
 */
#ifndef IG_PROFILER_BPF_OFFCPU_ABI_H
#define IG_PROFILER_BPF_OFFCPU_ABI_H

#include <linux/types.h>

#include "profiler/bpf/spanctx_abi.h"

/* Largest user stack copy (bytes) and kernel frames per event. */
#define IG_OFFBPF_MAX_STACK 16384u
#define IG_OFFBPF_KFRAMES 64
/* Threads with a wait entry at once (map `waits`). */
#define IG_OFFBPF_MAX_THREADS 65536
/* User registers in perf's x86-64 order (profiler/perf.h, IG_PREG_*). */
#define IG_OFFBPF_NREGS 17


/* Event kinds.  WAIT: a whole wait (the chosen waits of one stay in the
 * kernel add up), decided at its switch-in and written by the thread on
 * its way back to user space with the stacks it blocked with and its
 * (time-weighted) value.  IN: a thread user space presumed waiting at
 * attach is on the CPU.  OUT: a switch-out with its stacks, closed by its
 * IN (the recorder still takes it; this program no longer writes it). */
enum { IG_OFFBPF_WAIT = 1, IG_OFFBPF_OUT = 2, IG_OFFBPF_IN = 3 };
/* An IN's flags (its base's pad0): the wait user space presumed is dropped
 * (a thread found runnable at attach whose first switch was a switch-out:
 * it was on a CPU; offcpu.bpf.c presumed_in). */
#define IG_OFFBPF_IN_DROP 1

/* Every event begins so; an IN event is only this. */
struct ig_offbpf_base {
    __u8 kind;
    __u8 has_regs;    /* regs are the thread's user registers */
    __u8 has_span;    /* span holds an IG_SPANBPF_SPAN event */
    __u8 pad0;
    __u32 nkernel;    /* kernel frames in kstack (leaf first) */
    __u32 pid, tid;   /* the initial pid namespace's (the loader's) */
    __u64 out_time;   /* the (first) switch-out, CLOCK_MONOTONIC ns */
    __u64 in_time;    /* the (last) switch-in */
    __u64 value;      /* WAIT: off-CPU ns it stands for (see offcpu.bpf.c) */
    __s64 state;      /* prev_state (TASK_REPORT bits) of the switch-out */
    __u32 stack_len;  /* user stack bytes after the head (from regs SP) */
    __u32 pad1;
};

struct ig_offbpf_head {
    struct ig_offbpf_base b;
    __u64 regs[IG_OFFBPF_NREGS];
    __u64 kstack[IG_OFFBPF_KFRAMES];
    struct ig_spanbpf_event span;
};

_Static_assert(sizeof(struct ig_offbpf_base) == 56, "ig_offbpf_base layout");
_Static_assert(sizeof(struct ig_offbpf_head) == 56 + 8 * IG_OFFBPF_NREGS + 8 * IG_OFFBPF_KFRAMES +
                                                    sizeof(struct ig_spanbpf_event),
               "ig_offbpf_head layout");

/* A followed thread's state: all that a switch reads and writes, in one
 * cache line, in its slot of map `slots` (tid % IG_OFFBPF_SLOTS: an array,
 * so a lookup is one line and no hashing), or, when another thread holds
 * that slot or user space made it, in the head of its entry in the hash
 * map `waits` (IG_OFFBPF_T_SPILLED).  Counters are kept here rather than
 * in the per-CPU ones: a switch on a CPU that was idle finds every line
 * cold on this VM (the host ran others meanwhile), and each line more
 * cost it 30-80 ns.  The exit program adds a thread's counters to the
 * per-CPU ones and frees its slot; user space adds those of the threads
 * alive.  User space makes the entry of a thread it found waiting at
 * attach, IG_OFFBPF_T_PRESUMED | IG_OFFBPF_T_SPILLED (see
 * ig_offbpf_presume_waiting). */
#define IG_OFFBPF_SLOTS 65536u
enum {
    IG_OFFBPF_T_CHOSEN = 1,   /* (waits) a chosen wait awaits its write (write_wait) */
    IG_OFFBPF_T_WRITING = 2,  /* (waits) write_wait runs (it may be preempted) */
    IG_OFFBPF_T_PRESUMED = 4, /* found waiting at attach: an IN at its first switch-in */
    IG_OFFBPF_T_SPILLED = 8,  /* (waits) the thread's state is this entry's head */
    IG_OFFBPF_T_PRESUMED_RUNNABLE = 16, /* ... runnable then: on a CPU, or waiting for one */
};
struct ig_offbpf_thread {
    __u32 tid;        /* (slots) the slot's thread, 0: free */
    __u16 flags;      /* IG_OFFBPF_T_* */
    __u8 stopped;     /* the open wait: stopped, traced or frozen */
    __u8 pad;
    __u64 out;        /* switch-out of the wait open now, 0: on the CPU */
    __u64 ran_at_out; /* its se.sum_exec_runtime at the switch-out */
    __s64 state;      /* its state (TASK_REPORT bits) */
    __u64 rng;        /* its draws' xorshift state (0: not seeded yet) */
    __u64 seen;       /* counters: IG_OFFBPF_ST_SEEN, _OFF_NS, _SAMPLED_OUT */
    __u64 off_ns;
    __u64 sampled_out;
};
_Static_assert(sizeof(struct ig_offbpf_thread) == 64, "ig_offbpf_thread layout");

/* The records the loader has the program write to warm the ring
 * (offcpu.bpf.c ig_offcpu_warm, offbpf.c warm_ring). */
#define IG_OFFBPF_WARM_BYTES (64u << 10)

/* Per-CPU counters (array index). */
enum {
    IG_OFFBPF_ST_SEEN,       /* switch-outs of followed threads */
    IG_OFFBPF_ST_OFF_NS,     /* their off-CPU time, ns (exact, in-kernel) */
    IG_OFFBPF_ST_RECORDED,   /* events written (WAIT and OUT) */
    IG_OFFBPF_ST_SAMPLED_OUT,/* waits not chosen by the time-weighted draw */
    IG_OFFBPF_ST_BELOW_MIN,  /* waits under --off-cpu-min */
    IG_OFFBPF_ST_DROPPED,    /* events lost: ring buffer full, or the thread's
                              * write could not be queued */
    IG_OFFBPF_ST_MISMATCH,   /* chosen waits dropped: registers changed before
                              * the return to user space (exec, a signal) */
    IG_OFFBPF_ST_EXITS,      /* chosen waits dropped: the thread exited first */
    IG_OFFBPF_ST_LATE_IN,    /* switch-ins the program did not see, found at the
                              * next switch-out (timed from the run time) */
    IG_OFFBPF_ST_VALUE_NS,   /* the values of the waits recorded (drawn), ns: its
                              * expectation is OFF_NS */
    IG_OFFBPF_ST_LATE_NS,    /* the values of drawn waits whose switch-in was found
                              * late: not written (their stacks are not known) */
    IG_OFFBPF_ST_WORK_NS,    /* the threads' own time writing their chosen waits
                              * (offcpu.bpf.c write_wait, a task work), ns */
    IG_OFFBPF_ST_COUNT
};

#endif
