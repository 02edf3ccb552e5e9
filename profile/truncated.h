/*
 * profile/truncated.h — how much of a profile is in stacks the profiler
 * could not follow to their thread's first frame.
 *
 * `ignis record` roots such a stack at a synthetic frame, a function named
 * exactly "[truncated]" at a location without a mapping (perf shows
 * "[unknown]" there), directly under the thread's frame when --per-thread
 * adds one.  The share is computed from the profile itself, so `report`
 * and `view` show it for a profile read back from any file format.
 */
#ifndef IG_PROFILE_TRUNCATED_H
#define IG_PROFILE_TRUNCATED_H

#include "ignis/profile.h"

#define IG_TRUNCATED_FRAME "[truncated]"

/* The location of the "[truncated]" frame in p (added on first use). */
uint32_t ig_truncated_location(ignis_profile *p);

/* Sum of value `vi` over the samples whose stack is rooted at a
 * "[truncated]" frame (its outermost frame, or the one below it). */
int64_t ig_truncated_value(const ignis_profile *p, size_t vi);

/* That sum as a percentage of the total of value `vi` (0 when empty). */
double ig_truncated_percent(const ignis_profile *p, size_t vi);

/* The same, remembered for the last (profile, value) asked in this thread
 * while its sample and location counts and its total stay the same: for a viewer that
 * redraws on every keystroke (a pass over 200,000 samples is ~5 ms). */
double ig_truncated_percent_cached(const ignis_profile *p, size_t vi);

#endif
