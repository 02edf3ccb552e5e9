/*
 * viewer/tasks.h — the viewer's long work, between the model and the jobs.
 *
 * Internal to viewer/: model.c queues work (ig_viewer.needs) and calls
 * ig_viewer_pump(); tasks.c starts one job at a time for the most urgent
 * need, with copies of the inputs, and applies its result to the model
 * when it is done — on the model's thread, so the model itself is never
 * shared.  A request that makes the running job's result useless (a new
 * filter while a tree builds) cancels it first.
 */
#ifndef IG_VIEWER_TASKS_H
#define IG_VIEWER_TASKS_H

#include "viewer/model.h"

/* Queues work (IG_NEED_*) and starts it when nothing runs; a need that
 * invalidates the running task cancels it.  Sync viewers finish it now. */
void ig_viewer_request(ig_viewer *v, unsigned needs);

/* Queues work that refreshes what is on screen: the keys do not wait. */
void ig_viewer_request_bg(ig_viewer *v, unsigned needs);

/* Drops queued work of these kinds and cancels a running one of them. */
void ig_viewer_drop(ig_viewer *v, unsigned needs);

/* The search statistics for the current tree and zoom; cheap when the
 * per-name matches are complete. */
void ig_viewer_request_match(ig_viewer *v);

/* Frees whatever the task system holds (the running job is cancelled and
 * joined). */
void ig_viewer_tasks_free(ig_viewer *v);


/* Test hook: when set, a load that reads in steps (a folded file of
 * several chunks) leaves its partial view at the first step, then calls
 * this on the worker thread (a test holds the load there). */
extern void (*ig_viewer_test_partial)(ig_progress *progress);
/* Paths of names that keep zoom and selection across a rebuild. */
ig_name_path ig_name_path_of(const ig_tree *t, uint32_t node);
uint32_t ig_name_path_find(const ig_tree *t, const ig_name_path *p);
void ig_name_path_free(ig_name_path *p);

/* Model internals the tasks use (viewer/model.c). */
/* Puts tree t on screen, zoom and selection found by their paths.
 * background: what was derived from the old tree stays on screen until
 * its refresh (queued in the background) replaces it; keep_opts: the
 * options are unchanged, so the top table and source listing stay. */
void ig_viewer_install_tree(ig_viewer *v, ig_tree *t, const ig_name_path *zoom, const ig_name_path *sel,
                            int background, int keep_opts);
void ig_viewer_free_view_opts(ig_view_opts *o);
void ig_viewer_copy_view_opts(ig_view_opts *dst, const ig_viewer *v);
void ig_viewer_restore_opts(ig_viewer *v);

#endif
