/*
 * profiler/bpf/allocspan_abi.h — what the allocation span-label program
 * (allocspan.bpf.c) and its loader (profiler/alloc/allocbpf.c) agree on.
 * Its events are the span-label program's (spanctx_abi.h) behind a head of
 * their own, which says which probe hit they belong to.
 */
#ifndef IG_PROFILER_BPF_ALLOCSPAN_ABI_H
#define IG_PROFILER_BPF_ALLOCSPAN_ABI_H

#include "profiler/bpf/spanctx_abi.h"

/* Probe events the program can be attached to at once (a thread's entry
 * probes each take one slot of the perf event array). */
#define IG_ALLOCSPAN_MAX_SLOTS 16384

/* The source of its events (struct ig_spanbpf_head.src). */
#define IG_ALLOCSPAN_SRC 2

/* Which probe hit an event is of.  `hit` is the probe event's count with
 * this hit (read in the program, from the event itself, before the kernel
 * counts the hit): the PERF_SAMPLE_READ value of the sample the kernel
 * writes for this hit, if it writes one. */
struct ig_allocspan_head {
    __u64 cookie; /* the attach cookie: slot (low 32 bits), generation (high 32) */
    __u64 hit;    /* the probe event's count including this hit */
    __u64 seq;    /* the program's events for this slot so far (written or lost), this one included */
    __u64 drops;  /* events the program could not write (all slots) before this one */
};

struct ig_allocspan_event {
    struct ig_allocspan_head a;
    struct ig_spanbpf_event e; /* without the record bytes when there is no span */
};

_Static_assert(sizeof(struct ig_allocspan_head) == 32, "ig_allocspan_head layout");

#endif
