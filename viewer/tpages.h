/*
 * viewer/tpages.h — what the trace viewer's files share (not a public API):
 * tmodel.c owns the page stack, the trace list and the waterfall page;
 * tdetails.c builds the span details page; tops.c the operations and
 * histogram pages.  Each returns 0, or -1 after setting the viewer's
 * one-line message.
 */
#ifndef IG_VIEWER_TPAGES_H
#define IG_VIEWER_TPAGES_H

#include "viewer/tmodel.h"

/* ---- pages (tmodel.c) ---------------------------------------------------- */
ig_tpage *ig_tpage_new(ig_tpage_kind kind);
void ig_tpage_free(ig_tpage *p);
/* Pushes p; a full stack forgets its oldest page above the first list. */
void ig_tpage_push(ig_tview *v, ig_tpage *p);
void ig_tpage_pop(ig_tview *v);
/* Rows of the screen that show table rows, waterfall rows or lines. */
size_t ig_tview_body_rows(const ig_tview *v);
/* A list page of the traces matching filter (which it takes over). */
ig_tpage *ig_tlist_page_new(ig_tview *v, ig_tfilter filter, int sort, ig_err *err);
/* Selects span on trace page t, unfolding its ancestors, and scrolls to it. */
void ig_ttrace_select(ig_tview *v, ig_ttrace *t, int32_t span);

/* ---- span details (tdetails.c) --------------------------------------------- */
/* The details of the span selected on the shown trace page. */
int ig_tdetails_open(ig_tview *v);
/* Enter on a details line: follows the link on it to the linked span. */
int ig_tdetails_follow_link(ig_tview *v, ig_tspan *sp);
void ig_tdetails_free(ig_tspan *sp);

/* ---- operations and histograms (tops.c) ------------------------------------ */
int ig_tops_load(ig_tview *v, ig_tops *o, ig_err *err);
int ig_tops_sort(ig_tops *o);
void ig_tops_settle(ig_tview *v, ig_tops *o);
int ig_thist_open(ig_tview *v, const ig_store_op_stats *op);
int ig_thist_load(ig_tview *v, ig_thist *h, ig_err *err);
/* Enter on a bucket: the traces with a span of the operation in it. */
int ig_thist_list_bucket(ig_tview *v, const ig_thist *h);

#endif
