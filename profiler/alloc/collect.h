/*
 * profiler/alloc/collect.h — turning raw heap dumps into the final profile.
 *
 * The preload shim writes address-level profiles (mappings with build-ids,
 * locations with addresses, names only where dladdr knew them).  The
 * collector, running in `ignis record`, merges any number of such dumps
 * (one per process of the command) into one profile and symbolizes every
 * location through profiler/symbols.h: functions, files, lines, inline
 * frames.  Locations it cannot name keep what the dump had.
 */
#ifndef IG_ALLOC_COLLECT_H
#define IG_ALLOC_COLLECT_H

#include "ignis/profile.h"
#include "profiler/symbols.h"
#include "utils/err.h"

typedef struct ig_heapcollect ig_heapcollect;

ig_heapcollect *ig_heapcollect_new(void);
void ig_heapcollect_free(ig_heapcollect *c);

/* Merges the heap profile `in` (value types alloc_objects, alloc_space,
 * inuse_objects, inuse_space) into the result.  `name` is used in
 * messages.  Returns 0, or -1 when `in` is not a heap profile. */
int ig_heapcollect_add(ig_heapcollect *c, const ignis_profile *in, const char *name, ig_err *err);

/* Reads a pprof file and merges it (ig_heapcollect_add). */
int ig_heapcollect_add_file(ig_heapcollect *c, const char *path, ig_err *err);

/* The merged profile (owned by the collector) and how many inputs it has. */
ignis_profile *ig_heapcollect_profile(ig_heapcollect *c);
int ig_heapcollect_inputs(const ig_heapcollect *c);

/* Samples left out because a value was negative or a total of the merged
 * profile would have passed INT64_MAX (hostile input). */
uint64_t ig_heapcollect_skipped(const ig_heapcollect *c);

/* Symbolizes an address of a mapped file into locations of p (shared with
 * the attach route): file offset `offset` in `path`; falls back to a
 * module+offset location in mapping `mapping_id`.  Returns a location id. */
uint32_t ig_heap_symbolize(ignis_profile *p, ig_symtab *st, uint32_t mapping_id, const char *path,
                           const char *build_id, uint64_t address, uint64_t offset);

#endif
