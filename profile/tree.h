/*
 * profile/tree.h — call trees and top tables derived from the profile model.
 *
 * Every view of a profile (SVG flame graph, `ignis report`, the terminal
 * viewer) is computed here from ignis_profile, so they agree to the unit.
 *
 * A tree merges stacks root-first (or leaf-first with `reverse`), one node
 * per frame: a location expands into its lines, the physical function being
 * the caller and inlined functions its callees.  Sibling nodes merge when
 * their frame name and kind are equal.  Nodes are stored in one array in
 * depth-first order with children sorted by name, so a flame graph is laid
 * out by one linear walk.  The tree is built by sorting the root-first
 * frame paths of all samples and walking them in order, so nodes are
 * appended in depth-first order and no per-node hash table is needed;
 * memory is one node per distinct frame path (fewer with min_total).
 *
 * Filters follow pprof.  Sample filters keep or drop whole samples: `focus`
 * keeps samples with a frame matching the regex, `ignore` drops samples
 * with a frame matching it, `thread` keeps samples whose "thread" (or
 * "thread_name"/"tid") label matches, `tagfocus`/`tagignore` test any label
 * (KEY=VALUES, see ig_tree_opts).  Frame filters keep the sample's value
 * but edit its path: `root` (pprof's show_from) drops the callers of the
 * first matching frame, `prune_from` drops the callees of the matching
 * frame nearest the leaf, `hide` drops matching frames and `show` drops
 * the others.  Focus and ignore look at the whole path, before the frame
 * filters edit it.  Every view records which filter matched nothing
 * (ig_tree_unmatched) and the value of the whole profile before filtering
 * (ig_tree_total_all), so a command can say "matched no samples" and show
 * percentages of the whole profile, as pprof does.
 *
 * A diff tree also carries, per node, the value of the same path in a base
 * profile; paths only in the base are nodes whose total is 0 (removed
 * frames).  Diffs compare the same value type and unit, and refuse
 * profiles whose value types differ unless the value was chosen
 * explicitly; `normalize` scales the base to the new profile's total.
 */
#ifndef IG_PROFILE_TREE_H
#define IG_PROFILE_TREE_H

#include "ignis/profile.h"
#include "utils/err.h"
#include "utils/progress.h"

/* Frame kinds of a tree node: the location kinds plus "inlined". */
enum { IG_NODE_USER = IGNIS_FRAME_USER, IG_NODE_KERNEL = IGNIS_FRAME_KERNEL,
       IG_NODE_JIT = IGNIS_FRAME_JIT, IG_NODE_INLINED = 3, IG_NODE_ROOT = 4 };

/* What one frame of a tree or top table stands for, as pprof's
 * -functions/-lines/-files and perf's --sort sym/srcline/dso choose it.
 * At file and module granularity consecutive frames of the same file or
 * module merge into one (a call inside libc is one "libc.so.6" frame).
 * A frame without a symbol is named by its module (profile/framename.h:
 * "[libfoo.so]") except at address granularity, and consecutive such
 * frames of one module merge: the calls inside a stripped library are
 * not known, only that the time was spent in it. */
typedef enum ig_granularity {
    IG_GRAN_FUNCTION = 0, /* the function (default) */
    IG_GRAN_LINE,         /* function and source line: "fn file.c:12" (fn alone without a line) */
    IG_GRAN_FILE,         /* the source file as recorded ("[no file]" when unknown) */
    IG_GRAN_MODULE,       /* the mapped file's base name ("[kernel]", "[no module]") */
    IG_GRAN_ADDRESS,      /* as function, but a frame without a symbol is its address
                             ("libfoo.so+0x1a2b", pprof -addresses) rather than its module */
} ig_granularity;

typedef struct ig_tree_opts {
    int value;          /* value index; -1 = the profile's default.  A diff
                           refuses profiles whose value types differ unless
                           the index was given (>= 0). */
    int reverse;        /* merge from the leaf (callers tree) */
    const char *focus;  /* POSIX extended regex or NULL */
    const char *ignore; /* POSIX extended regex or NULL */
    const char *thread; /* POSIX extended regex on the thread label or NULL
                           (several threads: "(a)|(b)", ig_thread_regex) */
    const char *root;   /* if set, only the subtree under the first frame
                           matching this regex (pprof's show_from) */
    int64_t min_total;  /* drop nodes whose total is below this (their value
                           stays in the parent's total); 0 keeps every node.
                           Writers that cannot show tiny frames (SVG minwidth)
                           use it to keep memory proportional to what is drawn. */
    ig_granularity granularity; /* what a frame is; IG_GRAN_FUNCTION by default */
    ig_progress *progress;      /* NULL, or progress to report and a cancel flag to
                                   honour: a cancelled build fails with "cancelled" */
    const char *hide;       /* drop frames matching this regex (samples stay) */
    const char *show;       /* drop frames NOT matching this regex (samples stay) */
    const char *prune_from; /* drop the callees of the matching frame nearest
                               the leaf (pprof's prune_from) */
    /* Label filters, NULL-terminated lists of "KEY=V1,V2" or "V1,V2" (any
     * label).  A value is a numeric range when it reads as one (N, N:, :N,
     * N:M, with a unit such as 1kb, 10ms: "bytes=1kb:"), compared with
     * numeric labels converted to the same unit; else a regex matched with
     * string labels (and the decimal text of numeric ones).  A sample is
     * kept when every tagfocus entry has a matching label and no tagignore
     * entry has one. */
    const char *const *tagfocus;
    const char *const *tagignore;
    int normalize;      /* diffs: scale the base so that its total (before
                           filters) equals the new profile's (pprof -normalize) */
    int relative;       /* percentages of what the filters kept rather than of
                           the whole profile (ig_tree_pct_total) */
    /* A sample filter the caller decides per label set (the span
     * selections of profile/spans.h): a sample is kept only when it
     * returns non-zero.  Asked once per label set; NULL = no such filter. */
    int (*keep_labels)(void *ctx, const ignis_profile *p, uint32_t labels);
    void *keep_labels_ctx;
    /* ig_profile_filter only: each kept sample's label set, copied into
     * the new profile q, is replaced by what this returns (a label set of
     * q); the span join of profile/spans.h.  NULL = labels as they are. */
    uint32_t (*relabel)(void *ctx, ignis_profile *q, uint32_t labels);
    void *relabel_ctx;
} ig_tree_opts;

typedef struct ig_tree_node {
    uint32_t name;        /* index into the tree's names (ig_tree_name) */
    uint32_t parent;      /* node index; the root's parent is itself (0) */
    uint32_t first_child; /* 0 = none (node 0 is the root, never a child) */
    uint32_t next_sibling;/* 0 = none */
    uint32_t depth;       /* root = 0 */
    uint8_t kind;         /* IG_NODE_* (after depth: the node packs into 56 bytes) */
    int64_t total;        /* value of this node and its descendants */
    int64_t self;         /* value where this node is the leaf */
    int64_t base_total;   /* diff trees: total of the same path in the base */
    int64_t base_self;
} ig_tree_node;

typedef struct ig_tree ig_tree;

/* Builds the tree of profile p.  Returns NULL with err set on a bad regex
 * ("--focus: invalid regular expression ...") or a bad value index. */
ig_tree *ig_tree_build(const ignis_profile *p, const ig_tree_opts *opts, ig_err *err);

/* Adds the values of a base profile to a tree (diff): each node gets
 * base_total/base_self of the same frame path in base (scaled when the
 * tree was built with `normalize`), paths only present in base are added
 * with total 0 (removed frames; with min_total, those whose base total
 * reaches it).  The base value is the one with the same type and unit; when
 * the two profiles' value types differ (as sets of type/unit), only a value
 * chosen explicitly (opts.value >= 0) is compared, else err says
 * "incompatible sample types [..] and [..]". */
int ig_tree_add_base(ig_tree *t, const ignis_profile *base, ig_err *err);

void ig_tree_free(ig_tree *t);

/* Diff trees: whether a node is a removed frame (a path only in the base:
 * total 0, base total > 0). */
int ig_tree_node_removed(const ig_tree *t, const ig_tree_node *n);
/* How wide a node is drawn, in value units: in a diff tree a removed frame
 * is as wide as its base total and any other node as its total plus the
 * widths of the removed frames below it (so removed frames get room beside
 * their siblings); elsewhere its total. */
int64_t ig_tree_draw_width(const ig_tree *t, uint32_t node);

size_t ig_tree_size(const ig_tree *t);                 /* number of nodes (root included) */
const ig_tree_node *ig_tree_node_at(const ig_tree *t, uint32_t i);
const char *ig_tree_name(const ig_tree *t, uint32_t name);
/* The module of a node (mapping file base name) as an index into the
 * names, 0 = none: a name has one module in a tree, so it is kept per
 * name rather than in every node (8 bytes of 64 per node). */
uint32_t ig_tree_node_module(const ig_tree *t, const ig_tree_node *n);
int ig_tree_is_diff(const ig_tree *t);
int64_t ig_tree_total(const ig_tree *t);               /* root total: what the filters kept */
int64_t ig_tree_total_all(const ig_tree *t);           /* the whole profile, before filters */
/* The total percentages are of: the whole profile, or with opts.relative
 * what the filters kept, by pprof's rule (utils/percent.h: the sum of
 * absolute values, or of a diff's base samples when the profile has
 * pprof::base ones), so it is never negative.  Print shares with
 * ig_percent(). */
int64_t ig_tree_pct_total(const ig_tree *t);
int64_t ig_tree_pct_total_all(const ig_tree *t);  /* that base for the whole profile, */
int64_t ig_tree_pct_total_kept(const ig_tree *t); /* and for what the filters kept */
/* Diffs: the same for the base (scaled like its values). */
int64_t ig_tree_base_pct_total(const ig_tree *t);
/* Diffs: the base's totals before filters, unscaled, and the factor its
 * values were multiplied by (1 unless normalize). */
int64_t ig_tree_base_total_all(const ig_tree *t);
double ig_tree_base_scale(const ig_tree *t);
/* When a filter matched nothing: writes "--focus=RE: expression matched no
 * samples" (the first such filter) into buf and returns 1; else 0. */
int ig_tree_unmatched(const ig_tree *t, char *buf, size_t len);
/* The value type being shown, e.g. "cpu"/"nanoseconds". */
const char *ig_tree_value_type(const ig_tree *t);
const char *ig_tree_value_unit(const ig_tree *t);

/* Which value of `base` a diff compares with value vi of p (see
 * ig_tree_add_base; explicit: the user chose vi).  Returns the index, or -1
 * with err set. */
int ig_diff_base_value(const ignis_profile *p, int vi, int explicit_value, const ignis_profile *base, ig_err *err);

/* Where the frames named `name` come from (the first such frame met):
 * its function, source file ("" when unknown) and line — the function's
 * start line at function granularity, the frame's own line at line
 * granularity, 0 when unknown.  At file and module granularity function is
 * "" (a frame holds many functions). */
typedef struct ig_frame_source {
    const char *function;
    const char *file;
    int64_t line;
} ig_frame_source;
ig_frame_source ig_tree_frame_source(const ig_tree *t, uint32_t name);

/* Marks, per sample of p (ignis_profile_sample order), whether the
 * filters of opts keep it (1) or drop it (0); a sample whose value is 0
 * is dropped.  keep holds ignis_profile_num_samples(p) bytes.  Returns 0,
 * or -1 with err set (bad regex, bad value, cancelled). */
int ig_tree_keep_samples(const ignis_profile *p, const ig_tree_opts *opts, uint8_t *keep, ig_err *err);

/* Is label set `labels` of p a diff's base (pprof::base=true, what pprof
 * -diff_base writes)?  Such samples alone make the percentage base
 * (utils/percent.h), as in pprof. */
int ig_labels_in_diff_base(const ignis_profile *p, uint32_t labels);

/* ---- top table (flat / cumulative per function) ------------------------ */

typedef struct ig_top_row {
    uint32_t name;   /* index into the table's names */
    int64_t flat;    /* value where the function is the leaf */
    int64_t cum;     /* value of samples with the function anywhere (once) */
    int64_t base_flat, base_cum; /* diff tables */
} ig_top_row;

/* The order of a top table.  In a diff table (after ig_top_add_base) flat
 * and cum order by the size of the change, |flat - base_flat| or
 * |cum - base_cum|, so what changed most comes first. */
typedef enum { IG_SORT_FLAT = 0, IG_SORT_CUM = 1 } ig_top_sort;

typedef struct ig_top ig_top;

/* Per-function table, sorted by flat (then cum, then name) or by cum.
 * Uses the same options and filters as the tree (reverse is ignored). */
ig_top *ig_top_build(const ignis_profile *p, const ig_tree_opts *opts, ig_top_sort sort, ig_err *err);
/* Diff table: adds the base's values (as ig_tree_add_base; functions only
 * in the base get rows with flat = cum = 0) and sorts by |change|. */
int ig_top_add_base(ig_top *t, const ignis_profile *base, ig_top_sort sort, ig_err *err);
void ig_top_free(ig_top *t);
size_t ig_top_rows(const ig_top *t);
const ig_top_row *ig_top_row_at(const ig_top *t, size_t i);
const char *ig_top_name(const ig_top *t, uint32_t name);
int64_t ig_top_total(const ig_top *t);     /* total of the samples the filters kept */
int64_t ig_top_total_all(const ig_top *t); /* the whole profile, before filters */
int64_t ig_top_pct_total(const ig_top *t); /* what percentages are of (see ig_tree_pct_total) */
int64_t ig_top_pct_total_all(const ig_top *t);  /* that base for the whole profile, */
int64_t ig_top_pct_total_kept(const ig_top *t); /* and for what the filters kept */
int ig_top_is_diff(const ig_top *t);
/* Diffs: the base's kept total (scaled like its rows), its whole total
 * (unscaled), and the scale factor (1 unless normalize). */
int64_t ig_top_base_total(const ig_top *t);
int64_t ig_top_base_total_all(const ig_top *t);
double ig_top_base_scale(const ig_top *t);
int ig_top_unmatched(const ig_top *t, char *buf, size_t len); /* as ig_tree_unmatched */
const char *ig_top_value_type(const ig_top *t);
const char *ig_top_value_unit(const ig_top *t);
/* As ig_tree_frame_source, for a row's name. */
ig_frame_source ig_top_frame_source(const ig_top *t, uint32_t name);

/* ---- threads (the viewer's thread picker) ------------------------------ */

/* A thread is named by its "thread" label, else "thread_name", else the
 * decimal "tid" (or "thread_id"): the text --thread matches.  Samples with
 * none are one row named "" (and --thread matches "" for them). */
typedef struct ig_thread_row {
    const char *name;
    int64_t value;
} ig_thread_row;

typedef struct ig_threads ig_threads;

/* The value of each thread in the samples the other filters keep
 * (opts->thread is ignored, so every thread is listed), sorted by value,
 * largest first, then by name. */
ig_threads *ig_threads_build(const ignis_profile *p, const ig_tree_opts *opts, ig_err *err);
void ig_threads_free(ig_threads *t);
size_t ig_threads_count(const ig_threads *t);
const ig_thread_row *ig_threads_row(const ig_threads *t, size_t i);
int64_t ig_threads_total(const ig_threads *t);     /* the rows' sum: what the other filters kept */
int64_t ig_threads_total_all(const ig_threads *t); /* the whole profile */
/* What per-thread % are of (see ig_tree_pct_total): the whole profile, or
 * with relative what the other filters kept. */
int64_t ig_threads_pct_total(const ig_threads *t, int relative);

/* A regex for ig_tree_opts.thread that matches exactly these thread names
 * ("^(a|b\.c)$"); malloc'ed. */
char *ig_thread_regex(const char *const *names, size_t n);

/* ---- filtered copy --------------------------------------------------------- */

/* A new profile holding what the filters of opts keep (value, reverse,
 * min_total, granularity and progress are ignored: frames are the
 * profile's lines): the kept samples with every value, their paths
 * edited by the frame filters (a location that loses some of its inlined
 * lines becomes a new location with the rest), labels, mappings and
 * metadata as in p.  unmatched (len bytes, may be NULL) gets what
 * ig_tree_unmatched() would say, or "".  NULL with err set on a bad
 * filter. */
ignis_profile *ig_profile_filter(const ignis_profile *p, const ig_tree_opts *opts, char *unmatched, size_t len,
                                 ig_err *err);

/* Formats a value with its unit the way pprof does ("1.50s", "120ms",
 * "3.2MB", "1234"). */
void ig_format_value(int64_t v, const char *unit, char *buf, size_t len);

#endif
