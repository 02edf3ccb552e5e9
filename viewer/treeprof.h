/*
 * viewer/treeprof.h — profiles and trees made from parts of a call tree.
 *
 * The viewer exports what it shows by turning tree paths back into a
 * small profile that the writers of exporters/ then handle like any other,
 * and builds the sandwich view (callers and callees of one function) by
 * merging the tree's own nodes, never by re-reading the samples.
 */
#ifndef IG_VIEWER_TREEPROF_H
#define IG_VIEWER_TREEPROF_H

#include "ignis/profile.h"
#include "profile/tree.h"
#include "utils/err.h"
#include "utils/progress.h"

/* The subtree of `zoom` with its ancestors as context: one sample per node
 * with a self value (base_self when base_side), stack = path from the root.
 * One value type, the tree's.  NULL when cancelled through pr. */
ignis_profile *ig_profile_of_subtree(const ig_tree *t, uint32_t zoom, int base_side, ig_progress *pr);

/* Frames of a sandwich pane narrower than 1/IG_SANDWICH_DETAIL of the
 * function's total are merged with their subtrees into one leaf (no
 * terminal is that many columns wide, and the panes do not zoom). */
#define IG_SANDWICH_DETAIL 4096

/* The sandwich of function `fn` (exact frame name) in tree t: `callers`
 * has, per outermost node of fn, the path fn, its caller, ... up to the
 * root, weighted by the node's total; `callees` the subtrees below those
 * nodes merged by name, starting at fn.  A diff tree gives diff trees.
 * Both have a single child of the root when fn has one kind (fn).
 * Returns 0, or -1 with err set ("no frame named ...", "cancelled"). */
int ig_sandwich_trees(const ig_tree *t, const char *fn, ig_progress *pr, ig_tree **callers, ig_tree **callees,
                      ig_err *err);

#endif
