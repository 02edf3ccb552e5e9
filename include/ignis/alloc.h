/*
 * ignis/alloc.h — switching the allocation sampler on from inside a service.
 *
 * The sampler itself lives in libignis-alloc.so, which must be loaded with
 * LD_PRELOAD (or linked before libc) because it has to own malloc and free
 * from the first allocation on.  These functions find it at run time:
 * linked with libignis but started without the preload library, they
 * return -1 with errno = ENOSYS and change nothing.  Limits, honestly:
 * allocations made before ignis_alloc_start() are not tracked (their
 * frees are ignored), and the sampler covers malloc-family calls that go
 * through the dynamic symbol (not a statically linked allocator, not
 * mmap, not custom pools).
 *
 * Environment of the preload library: IGNIS_ALLOC_SAMPLE_BYTES (mean bytes
 * between samples, default 524288), IGNIS_ALLOC_OUTPUT (profile written at
 * exit; default ignis-heap.%p.pb.gz, %p = pid), IGNIS_ALLOC_SIGNAL (dump on
 * this signal, e.g. USR2), IGNIS_ALLOC_INTERVAL (dump every N seconds),
 * IGNIS_ALLOC_START=0 (load inactive, wait for ignis_alloc_start()).
 * Preloaded this way, each process writes only its own allocations (a
 * forked child starts empty), and a process that ends without exit() —
 * _exit, a signal, exec — writes nothing; `ignis record --alloc -- CMD`
 * keeps every process's records in a file as it runs and misses none.
 */
#ifndef IGNIS_ALLOC_H
#define IGNIS_ALLOC_H

#include "ignis/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** True when the preload sampler (libignis-alloc.so) is in this process. */
IGNIS_API bool ignis_alloc_available(void);

/**
 * Starts (or resumes) sampling; sample_bytes is the mean number of bytes
 * between samples (0 keeps the current value, 1 samples every
 * allocation).  Returns 0, or -1 with errno = ENOSYS when the preload
 * library is not loaded.
 */
IGNIS_API int ignis_alloc_start(size_t sample_bytes);

/** Stops sampling new allocations (frees are still matched).  0 or -1 (ENOSYS). */
IGNIS_API int ignis_alloc_stop(void);

/**
 * Writes the heap profile (pprof, gzipped) to `path` (NULL: the
 * IGNIS_ALLOC_OUTPUT pattern; %p expands to the pid), atomically.
 * Returns 0, or -1 with a one-line reason in err (errlen bytes; may be
 * NULL) — "libignis-alloc.so is not preloaded" when it is absent.
 */
IGNIS_API int ignis_alloc_dump(const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
