/*
 * viewer/waterfall.h — one trace as a tree of rows on a time axis, without curses.
 *
 * The store hands over a trace's spans sorted by start with their parents
 * resolved (collect/store.h: ig_store_trace).  The waterfall decides where
 * each span is drawn: under its parent, children in start order; a span
 * whose parent never arrived (IG_PARENT_MISSING) or whose parent link was
 * cut because it closed a loop (IG_PARENT_CYCLE) under the trace's root
 * (the earliest span without a parent), or at the top when there is no
 * root.  Nesting follows parent ids only, never times, so a child whose
 * clock runs ahead of or behind its parent's (skew between services) stays
 * under its parent; its bar is drawn at its own timestamps and it is
 * flagged IG_WF_SKEW.  It also marks the critical path, assigns service
 * colours, and keeps the list of visible rows as spans are collapsed.
 */
#ifndef IG_VIEWER_WATERFALL_H
#define IG_VIEWER_WATERFALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/store.h"

enum {
    IG_WF_CRITICAL = 1,  /* on the critical path */
    IG_WF_COLLAPSED = 2, /* its children are hidden */
    IG_WF_ORPHAN = 4,    /* its parent never arrived: shown under the root */
    IG_WF_CYCLE = 8,     /* its parent link closed a loop and was cut: shown under the root */
    IG_WF_SKEW = 16,     /* starts before or ends after its parent (clock skew) */
    IG_WF_ERROR = 32,    /* status ERROR */
};

#define IG_WF_NONE UINT32_MAX

typedef struct ig_wf_node {
    int32_t parent;        /* span index it is drawn under, or -1 at the top */
    int32_t first_child;   /* -1 when none; children in start order */
    int32_t next_sibling;  /* -1 when last */
    uint32_t depth;        /* 0 at the top */
    uint32_t nchildren;
    uint8_t flags;         /* IG_WF_* */
    uint8_t service;       /* colour slot, 0 .. IG_SVC_SHADES-1 (viewer/layout.h) */
} ig_wf_node;

typedef struct ig_waterfall {
    const ig_store_trace *trace; /* borrowed */
    ig_wf_node *nodes;           /* one per span */
    int32_t first_top;           /* first span drawn at the top (-1: empty trace) */
    int32_t root;                /* the root orphans go under, -1 when none arrived */
    uint32_t *rows;              /* visible spans in tree order */
    size_t nrows;
    uint32_t *row_of;            /* span -> its row, IG_WF_NONE while hidden */
    size_t ncritical;            /* spans on the critical path */
    size_t nservices;            /* distinct services */
} ig_waterfall;

/* Builds the waterfall of t (every span expanded); t must outlive it. */
void ig_waterfall_build(ig_waterfall *w, const ig_store_trace *t);
void ig_waterfall_free(ig_waterfall *w);

/* Collapses or expands one span, or every span, and recomputes the rows. */
void ig_waterfall_set_collapsed(ig_waterfall *w, uint32_t span, bool collapsed);
void ig_waterfall_expand_all(ig_waterfall *w);

/* Recomputes the rows after IG_WF_COLLAPSED flags were changed directly. */
void ig_waterfall_relayout(ig_waterfall *w);

/* Expands the ancestors of span so that it has a row. */
void ig_waterfall_reveal(ig_waterfall *w, uint32_t span);

/* Index of the span with this id in the trace, or -1. */
int32_t ig_waterfall_find_span(const ig_waterfall *w, const uint8_t span_id[8]);

/* The cell of time t in the window [t0, t1) drawn over `width` cells
 * (may be < 0 or >= width when t is outside). */
int64_t ig_waterfall_cell(uint64_t t0, uint64_t t1, int width, uint64_t t);

/* The cells a span [start, end] covers in that window, at least one; 0
 * when it lies entirely outside, else 1 with *col and *ncols clipped to
 * [0, width). */
int ig_waterfall_bar(uint64_t t0, uint64_t t1, int width, uint64_t start, uint64_t end, int *col, int *ncols);

#endif
