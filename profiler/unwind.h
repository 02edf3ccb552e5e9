/*
 * profiler/unwind.h — DWARF unwinding of sampled user stacks.
 *
 * One ig_unwinder per target process.  Frames are stepped with CFI rows
 * that libdw computed once per code address and that are cached here
 * ("CFA = reg + off, registers saved at CFA + n"); rows of any other shape
 * (DWARF expressions, signal frames, no CFI) hand over to a libunwind
 * remote address space whose accessors serve the sample's registers and
 * stack copy and the modules' unwind tables (procmap.h).  Setting
 * IGNIS_UNWINDER=libunwind in the environment uses libunwind for every
 * frame (for benchmarks and comparisons).
 */
#ifndef IG_PROFILER_UNWIND_H
#define IG_PROFILER_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "profiler/perf.h"
#include "profiler/procmap.h"

typedef struct ig_unwinder ig_unwinder;

/* The process's maps must outlive the unwinder (it keeps the pointer). */
ig_unwinder *ig_unwinder_new(ig_maps *maps);
void ig_unwinder_free(ig_unwinder *u);

/* Forgets cached unwind state (after exec or munmap-like changes). */
void ig_unwinder_flush(ig_unwinder *u);

/* Why an unwind ended.  Only IG_UNWIND_ROOT means the stack is whole: the
 * last frame is where its thread began, which the unwinder knows from the
 * CFI (the return address marked undefined, as in glibc's _start, clone
 * and clone3, or computed as 0), or, in code without CFI, from a frame
 * pointer of 0 in a frame reached by unwinding (the frame-chain convention
 * of musl's _start and Go).  Every other end is a truncated stack. */
typedef enum ig_unwind_end {
    IG_UNWIND_ROOT,      /* reached the thread's outermost frame (fully unwound) */
    IG_UNWIND_NO_REGS,   /* no user registers in the sample (kernel thread) */
    IG_UNWIND_NO_INFO,   /* code without unwind info (JIT, unknown module) */
    IG_UNWIND_BAD_STACK, /* needed memory outside the stack copy */
    IG_UNWIND_TOO_DEEP,  /* hit the frame limit */
} ig_unwind_end;

/* Unwinds the user stack of sample `s` into ips[0..return) (ips[0] is the
 * sampled PC, later ones return addresses).  `*end` says why it stopped. */
int ig_unwind(ig_unwinder *u, const ig_perf_sample *s, uint64_t *ips, int max, ig_unwind_end *end);

/* Where ig_unwind_repeated's frames came from. */
typedef enum ig_unwind_from {
    IG_UNWIND_FRESH,        /* unwound (no memo entry matched) */
    IG_UNWIND_FROM_MEMO,    /* the memo's, for a repeated sample */
    IG_UNWIND_MEMO_DIFFERS, /* IGNIS_UNWIND_CACHE=verify: the memo's frames
                             * differed from a fresh unwind (which is
                             * returned): a bug, counted by tests */
} ig_unwind_from;

/* ig_unwind for samples that often repeat exactly (a blocked thread's
 * switch-outs): a sample whose registers the unwind uses, stack copy size
 * and the bytes of the copy its unwind reads equal those of a recent one
 * of the process gets that unwind's frames without unwinding again; the
 * result is always ig_unwind's.  *from says which.  IGNIS_UNWIND_CACHE=0
 * in the environment turns the memo off; =verify unwinds every hit too
 * and compares.  The memo is forgotten with ig_unwinder_flush. */
int ig_unwind_repeated(ig_unwinder *u, const ig_perf_sample *s, uint64_t *ips, int max, ig_unwind_end *end,
                       ig_unwind_from *from);

#endif
