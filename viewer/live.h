/*
 * viewer/live.h — the sliding window behind `ignis top`.
 *
 * The recorder hands over one profile per refresh (about a second of
 * samples).  The window keeps the last N of them and merges them into the
 * profile the viewer shows; a session profile accumulates everything since
 * the start, resets of the window included, for `-o FILE`.
 */
#ifndef IG_VIEWER_LIVE_H
#define IG_VIEWER_LIVE_H

#include "ignis/profile.h"

#define IG_LIVE_MAX_SLOTS 600

typedef struct ig_live {
    ignis_profile *slots[IG_LIVE_MAX_SLOTS]; /* ring, oldest first from head */
    int nslots, head, window;
    ignis_profile *session;  /* everything since the start */
    ignis_profile *view;     /* the merged window */
    ignis_profile *retired;  /* the previous view, freed on the next push */
} ig_live;

/* window: slots (refreshes) kept, 1..IG_LIVE_MAX_SLOTS. */
void ig_live_init(ig_live *l, int window);
void ig_live_free(ig_live *l);

/* Adds one refresh worth of samples (ownership passes to l) and rebuilds
 * the window view, which stays valid until the push after the next. */
ignis_profile *ig_live_push(ig_live *l, ignis_profile *p);

/* Forgets the window; the session keeps everything for -o. */
void ig_live_reset(ig_live *l);

/* Adds every sample of src to dst, copying what the samples refer to
 * (strings, mappings, functions, locations, stacks, labels).  dst takes
 * src's value types when it has none; returns -1 when they differ. */
int ig_profile_merge_into(ignis_profile *dst, const ignis_profile *src);

#endif
