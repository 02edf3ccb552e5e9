/*
 * profiler/alloc/attach.h — heap profiles of a running process via uprobes.
 *
 * Entry and return uprobes (perf_event_open's uprobe PMU, no tracefs) on
 * the allocator the target has mapped: glibc's libc.so.6, or jemalloc /
 * tcmalloc when loaded.  Sizes and pointers come from the sampled user
 * registers, stacks from the copied user stack unwound with the CPU
 * profiler's unwinder (profiler/unwind.h), frees match allocations so
 * in-use is exact for what was recorded.  Allocations made while a
 * libignis span was current carry its labels (profiler/alloc/allocbpf.h).
 */
#ifndef IG_ALLOC_ATTACH_H
#define IG_ALLOC_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ig_attach_opts {
    pid_t pid;
    double duration;      /* seconds; 0 = until the target exits or SIGINT */
    long every;           /* record one allocation in `every` per probe */
    unsigned stack_size;  /* user stack bytes copied per allocation; 0 = 8192 */
    const char *output;
    struct ig_ofile *out; /* output already opened (checked before attaching); committed or aborted here */
    bool quiet;
    bool no_span_labels;  /* no trace_id/span_id/span_name labels (allocbpf.h) */
    const char *cache_dir; /* ignis's cache (kernel field offsets for the BPF program); NULL: none */
} ig_attach_opts;

/* Runs `ignis record --alloc -p PID`; returns the exit status. */
int ig_alloc_attach(const ig_attach_opts *o);

/* Allocator entry points we probe. */
typedef enum ig_alloc_fn {
    IG_FN_MALLOC, IG_FN_CALLOC, IG_FN_REALLOC, IG_FN_POSIX_MEMALIGN, IG_FN_ALIGNED_ALLOC,
    IG_FN_MEMALIGN, IG_FN_VALLOC, IG_FN_PVALLOC, IG_FN_FREE, IG_FN_COUNT
} ig_alloc_fn;

/* Finds the file offsets of the allocator functions in ELF file `path`
 * (.dynsym, then .symtab).  offsets[i] = 0 when absent; functions at an
 * offset already taken by an earlier one (aliases) are left 0 too.
 * Returns how many were found, -1 when the file is not a readable ELF. */
int ig_alloc_find_offsets(const char *path, uint64_t offsets[IG_FN_COUNT]);

extern const char *const ig_alloc_fn_names[IG_FN_COUNT];

#endif
