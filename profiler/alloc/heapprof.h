/*
 * profiler/alloc/heapprof.h — heap profiles in the pprof layout.
 *
 * Both routes (the preload shim and the uprobe attach) end in the same
 * profile: value types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes (inuse_space is the default, as
 * in Go heap profiles), period type space/bytes with period = the
 * sampling interval, and one sample per (stack, allocation size) with a
 * numeric label "bytes" = the size, like Go's heap buckets.  Sampled
 * counts are unbiased here with scale = 1/(1 - exp(-size/interval)).
 */
#ifndef IG_ALLOC_HEAPPROF_H
#define IG_ALLOC_HEAPPROF_H

#include <stdint.h>

#include "ignis/profile.h"
#include "profiler/alloc/heaptab.h"

enum { IG_HEAP_ALLOC_OBJECTS, IG_HEAP_ALLOC_SPACE, IG_HEAP_INUSE_OBJECTS, IG_HEAP_INUSE_SPACE, IG_HEAP_NVALUES };

/* A new profile with the heap value types and period.  interval <= 1
 * means every allocation was recorded (period 1, no scaling). */
ignis_profile *ig_heapprof_new(int64_t interval);

/* Adds a sample for `count` sampled allocations of `size` bytes, `inuse`
 * of them still live, at stack id `stack`, scaled by the interval. */
int ig_heapprof_add(ignis_profile *p, uint32_t stack, uint64_t size, uint64_t count, uint64_t inuse,
                    int64_t interval);
/* The same for allocations made in span *span (NULL or not in_span: none):
 * the sample also carries trace_id, span_id and span_name labels. */
int ig_heapprof_add_span(ignis_profile *p, uint32_t stack, uint64_t size, uint64_t count, uint64_t inuse,
                         int64_t interval, const ig_heapspan *span);

/* Resolves a return address to a location id in p. */
typedef uint32_t (*ig_heap_locate)(void *ctx, ignis_profile *p, uint64_t ip, int frame);

/* The frame of allocations a signal handler made while its thread was
 * inside the sampler's unwinder (IG_HEAP_IP_SIGNAL). */
#define IG_HEAP_SIGNAL_FRAME "[in a signal handler: stack not taken]"

/* Adds every record (from ig_heaptab_snapshot) to p, turning addresses
 * into locations through `locate` (frames that give 0 are skipped; a
 * stack of IG_HEAP_IP_SIGNAL gets IG_HEAP_SIGNAL_FRAME).  Returns the
 * number of samples added. */
size_t ig_heapprof_add_records(ignis_profile *p, const ig_heaprec *recs, size_t n, int64_t interval,
                               ig_heap_locate locate, void *ctx);

/* ---- in-process (the shim's own dumps) --------------------------------- */

typedef struct ig_selfsym ig_selfsym;

/* Loads the calling process's executable mappings into p (dl_iterate_phdr:
 * file, file offset, GNU build-id from the loaded notes). */
ig_selfsym *ig_selfsym_new(ignis_profile *p);
void ig_selfsym_free(ig_selfsym *s);

/* ig_heap_locate for the calling process: the location of a return
 * address (the call instruction, ip - 1) in its mapping, named through
 * dladdr when the symbol is dynamic; unnamed ones show module+0xoffset
 * until `ignis record` symbolizes them. */
uint32_t ig_selfsym_locate(void *ctx, ignis_profile *p, uint64_t ip, int frame);

#endif
