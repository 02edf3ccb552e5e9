/*
 * profile/batch.h — adding many stacks to the profile model at once.
 *
 * A reader that has several stacks in hand (the folded reader merges a
 * chunk of lines at a time) adds them with one call: every stack is hashed
 * first and its slot of the stack table prefetched, then they are looked
 * up and added one by one, in order, exactly as ignis_profile_add_stack
 * would, so ids and the model are the same.  On a big profile each lookup
 * is a cache miss; in a batch they overlap instead of following each
 * other.
 */
#ifndef IG_PROFILE_BATCH_H
#define IG_PROFILE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ignis/profile.h"

/* Adds n stacks: stack k is locations[off[k], off[k + 1]) (leaf first), so
 * off holds n + 1 offsets.  ids[k] gets its id, 0 when a location id is
 * invalid (as ignis_profile_add_stack returns). */
void ig_profile_add_stacks(ignis_profile *p, const uint32_t *locations, const uint32_t *off, size_t n,
                           uint32_t *ids);

#endif
