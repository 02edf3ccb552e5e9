/*
 * viewer/treeprof.h — profiles made from parts of a call tree.
 *
 * The viewer exports what it shows and builds its sandwich view by turning
 * tree paths back into small profiles that the formats and tree code of
 * profile/ and exporters/ then handle like any other profile.
 */
#ifndef IG_VIEWER_TREEPROF_H
#define IG_VIEWER_TREEPROF_H

#include "ignis/profile.h"
#include "profile/tree.h"

/* The subtree of `zoom` with its ancestors as context: one sample per node
 * with a self value (base_self when base_side), stack = path from the root.
 * One value type, the tree's. */
ignis_profile *ig_profile_of_subtree(const ig_tree *t, uint32_t zoom, int base_side);

/* The sandwich of function `fn` (exact name): `callers` has, per outermost
 * node of fn, the path root..fn reversed (fn first, then its caller, ...)
 * weighted by the node's total; `callees` has the subtrees below those
 * nodes starting at fn, weighted by self values.  Both trees built from
 * them without options have a single child of the root: fn. */
void ig_sandwich_profiles(const ig_tree *t, const char *fn, int base_side, ignis_profile **callers,
                          ignis_profile **callees);

#endif
