/*
 * viewer/layout.h — flame graph geometry in terminal cells, without curses.
 *
 * A layout is the list of frames one pane of the screen shows: which tree
 * node sits on which row, from which column, how many columns wide, and in
 * which colour class.  It is recomputed from the call tree (profile/tree.h)
 * for every redraw, visiting only nodes at least one cell wide, so its cost
 * follows the size of the screen rather than the size of the profile.
 */
#ifndef IG_VIEWER_LAYOUT_H
#define IG_VIEWER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "profile/tree.h"

/* Colour classes of cells; the curses layer maps them to colour pairs. */
enum ig_style {
    IG_ST_NORMAL = 0,
    IG_ST_HEADER,     /* title line */
    IG_ST_STATUS,     /* status line */
    IG_ST_PROMPT,     /* input line */
    IG_ST_ERROR,      /* error message */
    IG_ST_SELECTED,   /* selected frame / table row */
    IG_ST_MATCH,      /* search match */
    IG_ST_DIM,        /* ancestors of the zoomed frame */
    IG_ST_ROOT,       /* the root frame "all" */
    IG_ST_USER0,      /* user code: IG_USER_SHADES warm shades */
    IG_ST_KERNEL = IG_ST_USER0 + 6,
    IG_ST_JIT,
    IG_ST_INLINED,
    IG_ST_SAME,       /* diff: unchanged */
    IG_ST_GROW1,      /* diff: grew a little .. a lot */
    IG_ST_GROW2,
    IG_ST_GROW3,
    IG_ST_SHRINK1,    /* diff: shrank a little .. a lot */
    IG_ST_SHRINK2,
    IG_ST_SHRINK3,
    IG_ST_TABLE_HEADER,
    IG_ST_SVC0,       /* trace views: a service's bars, IG_SVC_SHADES colours */
    IG_ST_REMOVED = IG_ST_SVC0 + 8, /* diff: a frame only in the base */
    IG_ST_COUNT
};
#define IG_USER_SHADES 6
#define IG_SVC_SHADES 8

/* Frame flags. */
enum { IG_FRAME_DIM = 1, IG_FRAME_MATCH = 2, IG_FRAME_SELECTED = 4 };

typedef struct ig_frame {
    uint32_t node;   /* node index in the pane's tree */
    int32_t row;     /* screen row */
    int32_t col;     /* first screen column */
    int32_t width;   /* columns, >= 1 */
    uint8_t pane;    /* which pane (tree) the frame belongs to */
    uint8_t style;   /* enum ig_style (base colour, before overlays) */
    uint8_t flags;   /* IG_FRAME_* */
} ig_frame;

typedef struct ig_frames {
    ig_frame *v;
    size_t n, cap;
    int clipped;     /* some wide enough frame was deeper than the rows */
} ig_frames;

/* A child and its total, read in order. */
typedef struct ig_child {
    uint32_t node;
    int64_t total;
} ig_child;

/* The children of wide nodes (IG_WIDE_NODE or more), kept in one array
 * per node: in a huge tree a node's children lie megabytes apart, and
 * reading 20,000 of them for every redraw costs tens of milliseconds in
 * cache and TLB misses; read once, they are a contiguous array.  One cache
 * per tree; it forgets everything when given another tree or when it
 * holds IG_CHILD_CACHE_MAX children. */
#define IG_WIDE_NODE 64
#define IG_CHILD_CACHE_MAX (4u << 20)
typedef struct ig_child_cache {
    const ig_tree *tree;
    uint32_t *slots;   /* open addressing: node + 1, 0 = empty */
    uint32_t *first;   /* per slot: index of the first child in kids */
    uint32_t *count;   /* per slot */
    size_t nslots, used;
    ig_child *kids;
    size_t nkids, capkids;
    ig_child *scratch; /* narrow nodes, refilled on each call */
    size_t capscratch;
} ig_child_cache;

/* The children of node in t, in tree order; valid until the next call
 * with the same cache. */
size_t ig_tree_children(ig_child_cache *cache, const ig_tree *t, uint32_t node, const ig_child **out);
void ig_child_cache_free(ig_child_cache *c);

/* Where and how a tree is drawn. */
typedef struct ig_layout_spec {
    const ig_tree *tree;
    uint8_t pane;
    uint32_t zoom;       /* node spanning the full width */
    int col0, width;     /* horizontal extent in columns */
    int row0;            /* screen row of depth `first_depth` */
    int dir;             /* +1: deeper frames further down (icicle), -1: up (flame) */
    int nrows;           /* rows available */
    int first_depth;     /* shallowest depth drawn (vertical scroll) */
    int show_ancestors;  /* draw the zoom node's ancestors full width, dimmed */
    ig_child_cache *children; /* optional: the tree's wide nodes' children */
} ig_layout_spec;

/* Appends the frames of one pane to out.  A node is drawn when it spans at
 * least one column after rounding its start and end to cells; its subtree
 * is skipped otherwise. */
void ig_layout_flame(ig_frames *out, const ig_layout_spec *spec);

/* The base colour of a node: IG_ST_REMOVED for a frame only in the base
 * of a diff, by diff growth for others in a diff tree, else by kind,
 * and for user code by a hash of its module (or name when unknown). */
uint8_t ig_layout_style(const ig_tree *t, uint32_t node);

/* Diff classification of (new, base) against the totals of both trees:
 * 0 unchanged, +1..+3 grew, -1..-3 shrank (relative change of the share
 * of the whole: <5%, <25%, <100%, >=100%). */
int ig_layout_diff_level(int64_t v, int64_t total, int64_t base_v, int64_t base_total);

void ig_frames_reset(ig_frames *f);
void ig_frames_free(ig_frames *f);

/* Index of the frame covering cell (row, col), or -1. */
long ig_frames_at(const ig_frames *f, int row, int col);

/* Index of the frame showing (pane, node), or -1. */
long ig_frames_find(const ig_frames *f, uint8_t pane, uint32_t node);

/* Truncates a UTF-8 name to fit `cols` cells: returns how many bytes of
 * name fit and sets *ellipsis when a truncation mark is needed (the mark
 * takes one cell).  Every code point counts as one cell. */
size_t ig_layout_fit(const char *name, int cols, int *ellipsis);

/* Number of code points of a UTF-8 string (invalid bytes count as one). */
size_t ig_utf8_len(const char *s);

/* Decodes one code point; returns bytes consumed (>= 1); invalid -> U+FFFD. */
int ig_utf8_decode(const char *s, uint32_t *cp);

#endif
