/*
 * profile/framename.h — what the views call a frame without a symbol.
 *
 * The model keeps every unsymbolized frame as what it is, an address in a
 * mapping (so pprof and OTLP exports carry it and pprof can symbolize it
 * later); ignis_profile_frame_name() names it by that address
 * ("libfoo.so+0x1a2b").  The views a person reads (report, flame graphs,
 * folded stacks, the viewer, diffs) name it instead by the code it is in,
 * as perf and FlameGraph's stackcollapse-perf do: "[libfoo.so]" for a
 * mapped file, the mapping's own name when it is bracketed ("[vdso]",
 * "[heap]", "[anon:x]"), "[anon]" for anonymous memory, "[jit]" for JIT
 * code the profiler found no perf map name for, "[kernel]" for a kernel
 * address, else "[unknown]".  So the thousands of addresses of a stripped
 * library are one frame whose time adds up.  Naming happens when a view
 * is built, never in the model.
 */
#ifndef IG_PROFILE_FRAMENAME_H
#define IG_PROFILE_FRAMENAME_H

#include "ignis/profile.h"

/* Does line li of location loc name no function (an address only)? */
int ig_frame_unsymbolized(const ignis_profile *p, const ignis_location *loc, uint32_t li);

/* The bracketed name of the code location loc is in ("[libfoo.so]", ...). */
const char *ig_frame_region_name(const ignis_profile *p, const ignis_location *loc, char *buf, size_t size);

/* The name of line li of location loc_id in a view: its function, else
 * with `addresses` its address (ignis_profile_frame_name), else its region
 * (ig_frame_region_name).  Returns buf. */
const char *ig_frame_display_name(const ignis_profile *p, uint32_t loc_id, uint32_t li, int addresses, char *buf,
                                  size_t size);

#endif
