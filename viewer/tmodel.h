/*
 * viewer/tmodel.h — the trace views of `ignis view`, without curses.
 *
 * A trace viewer reads one trace store (collect/store.h) and shows a stack
 * of pages: the trace list (filters, sort, paged through the store with
 * limit/offset, never every trace at once), the waterfall of one trace
 * (viewer/waterfall.h), one span's details, the operations table and one
 * operation's latency histogram.  Enter pushes a page, Esc pops it; a
 * histogram bucket pushes a trace list filtered to that bucket, a link
 * pushes the linked trace.  Like the profile viewer (viewer/model.h) it
 * takes curses-free key codes and clicks, renders into a cell grid
 * (viewer/tscreen.c), and is driven the same way by the terminal
 * (viewer/tui.c), the tests and the benchmark.
 */
#ifndef IG_VIEWER_TMODEL_H
#define IG_VIEWER_TMODEL_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "collect/store.h"
#include "profile/spans.h"
#include "profile/tree.h"
#include "utils/err.h"
#include "viewer/model.h"
#include "viewer/waterfall.h"

struct ig_screen;

typedef enum ig_tpage_kind {
    IG_TP_LIST = 0, /* traces */
    IG_TP_TRACE,    /* the waterfall of one trace */
    IG_TP_SPAN,     /* one span's details */
    IG_TP_OPS,      /* operations */
    IG_TP_HIST,     /* one operation's latency histogram */
} ig_tpage_kind;

typedef enum ig_tprompt {
    IG_TPROMPT_NONE = 0,
    IG_TPROMPT_SEARCH,
    IG_TPROMPT_NAME,     /* span name regex */
    IG_TPROMPT_ATTR,     /* key=value */
    IG_TPROMPT_DURATION, /* 10ms..2s, >100ms, <1s */
    IG_TPROMPT_KINDS
} ig_tprompt;

/* A trace list's conditions, owning their strings (NULL = none). */
typedef struct ig_tfilter {
    char *service, *name_regex, *attr_key, *attr_value;
    uint64_t min_duration_ns, max_duration_ns; /* max 0: unbounded */
    bool errors_only;
    int64_t operation;                         /* a histogram bucket: operation id, 0 = none */
    uint64_t op_min_ns, op_max_ns;             /* its durations, [min, max) */
    char *operation_label;                     /* "service name 1ms..2ms" */
} ig_tfilter;

/* Columns of the trace list and of the operations table. */
typedef struct ig_tcolumn {
    const char *title;
    int width;   /* cells; the last column takes the rest */
    int right;   /* right-aligned */
} ig_tcolumn;

enum { IG_TCOL_START, IG_TCOL_DURATION, IG_TCOL_SPANS, IG_TCOL_ERRORS, IG_TCOL_SERVICE, IG_TCOL_NAME, IG_TCOLS };
enum { IG_OCOL_SERVICE, IG_OCOL_NAME, IG_OCOL_COUNT, IG_OCOL_ERRORS, IG_OCOL_P50, IG_OCOL_P90, IG_OCOL_P99,
       IG_OCOL_HIST, IG_OCOLS };

typedef struct ig_tlist {
    ig_tfilter filter;
    int sort;                /* IG_TCOL_* */
    bool desc;
    size_t sel, scroll;      /* positions in the whole sorted list */
    ig_trace_list win;       /* the rows [win_off, win_off + win.n) */
    size_t win_off;
    uint64_t total;          /* traces matching the filter */
    double fetch_ms;         /* what the last fetch took (live refresh budget) */
    bool stale;              /* the store changed since the last fetch */
} ig_tlist;

#define IG_TZOOM_MAX 32
/* Traces with more spans are not loaded from the list (memory follows spans). */
#define IG_TRACE_SPANS_MAX 1000000

typedef struct ig_ttrace {
    ig_store_trace trace;
    ig_waterfall wf;
    size_t sel, scroll;      /* rows of the waterfall */
    uint64_t zoom_from[IG_TZOOM_MAX], zoom_to[IG_TZOOM_MAX]; /* time windows; [0] the whole trace */
    int nzoom;
    bool no_critical;        /* critical path highlight turned off */
    int8_t *match;           /* per span: matches the search */
    bool match_known;        /* match is computed for the current search */
    double load_ms;          /* what loading it took (live refresh budget) */
    bool stale;              /* the store changed: the trace may have too */
} ig_ttrace;

/* One line of the span details; link >= 0 for a line that follows a link. */
typedef struct ig_tline {
    const char *text;
    uint8_t style;
    int32_t link;
    int key_width;           /* the key part (drawn in its own style), 0 for none */
} ig_tline;

typedef struct ig_tspan {
    ig_store_span_details d;
    uint8_t trace_id[16];    /* the trace it belongs to */
    ig_tline *lines;
    size_t nlines, sel, scroll;
    bool *link_stored;       /* per link: the linked trace is in the store */
    int64_t *link_trace;     /* per link: its traces.id */
    struct ig_store_arena *arena;
} ig_tspan;

typedef struct ig_tops {
    ig_store_ops ops;
    size_t *order;           /* rows sorted by `sort` */
    int sort;                /* IG_OCOL_* */
    bool desc;
    size_t sel, scroll;
    bool stale;              /* the store changed since: r refreshes */
} ig_tops;

#define IG_THIST_MAX 96

typedef struct ig_thist {
    ig_store_op_stats op;    /* strings owned by `names` */
    char *names;
    uint64_t bounds[IG_THIST_MAX];     /* upper bounds of the buckets */
    uint64_t counts[IG_THIST_MAX + 1];
    size_t nb, sel;
    bool stale;
} ig_thist;

typedef struct ig_tpage {
    ig_tpage_kind kind;
    union {
        ig_tlist list;
        ig_ttrace trace;
        ig_tspan span;
        ig_tops ops;
        ig_thist hist;
    };
} ig_tpage;

#define IG_TPAGES_MAX 32

typedef struct ig_tview {
    ig_store *store;                     /* borrowed */
    char *title;
    ig_tpage *pages[IG_TPAGES_MAX];      /* pages[npages-1] is shown */
    int npages;
    ig_store_summary summary;
    double summary_ms;                   /* what reading the summary took */
    uint64_t data_version;
    int width, height;
    int help;

    char *search;
    regex_t search_re;
    int has_search;

    ig_tprompt prompt;
    ig_line_edit edit;                     /* the prompt's line (viewer/prompt.h) */
    ig_history history[IG_TPROMPT_KINDS];
    char **pick_items;                   /* the service picker when npick > 0 */
    size_t npick, pick_sel;

    char message[256];
    int message_is_error;
    int utf8;
    int live;                            /* refreshed as the store changes (header says so) */
    double live_budget_ms;               /* a live refresh repeats a query by itself only when
                                          * it took at most this long (default 150 ms) */
    size_t max_trace_spans;              /* bigger traces are not opened (IG_TRACE_SPANS_MAX) */
    int quit;

    /* span profiles (viewer/tflame.c) */
    ignis_profile *profile;              /* --profile: samples labelled with spans, or NULL */
    char *profile_path;
    ig_viewer *flame;                    /* the open flame graph (F), shown instead of the pages */
    ig_tree_opts flame_fixed;            /* its fixed options (a slow-vs-fast diff is normalized) */
    int flame_threaded;                  /* build it on a worker thread (the terminal; 0 in tests) */
} ig_tview;

/* Opens the trace list of store s (borrowed; must outlive the viewer),
 * newest traces first.  Returns NULL with err set when the store cannot
 * be read. */
ig_tview *ig_tview_new(ig_store *s, const char *title, ig_err *err);
void ig_tview_free(ig_tview *v);

void ig_tview_resize(ig_tview *v, int width, int height);
void ig_tview_key(ig_tview *v, int key);
void ig_tview_click(ig_tview *v, int row, int col, int dbl);
/* Renders the shown page into s (viewer/tscreen.c). */
void ig_tview_render(ig_tview *v, struct ig_screen *s);

/* Live view: when another connection committed since the last call,
 * returns 1 and reloads what the page shows (the list, a trace that grew)
 * when the query that reloads it took at most live_budget_ms last time;
 * a slower page (an attribute filter over millions of spans) and the
 * operations pages are marked stale instead, and 'r' reloads them, so a
 * busy collector never keeps the interface waiting. */
int ig_tview_poll(ig_tview *v);

/* ---- actions (what the keys do); 0 or -1 with the message set ----------- */
ig_tpage *ig_tview_page(const ig_tview *v);
int ig_tview_open(ig_tview *v);            /* Enter on the shown page */
void ig_tview_back(ig_tview *v);           /* Esc */
int ig_tview_open_trace(ig_tview *v, int64_t trace, const uint8_t *span_id);
int ig_tview_open_operations(ig_tview *v);
int ig_tview_refresh(ig_tview *v);         /* r: reload the shown page */
void ig_tview_move(ig_tview *v, long delta); /* rows; LONG_MIN / LONG_MAX: first / last */

int ig_tview_set_sort(ig_tview *v, int column, bool desc);
int ig_tview_filter_service(ig_tview *v, const char *service);
int ig_tview_filter_name(ig_tview *v, const char *regex);
int ig_tview_filter_attr(ig_tview *v, const char *key_eq_value);
int ig_tview_filter_duration(ig_tview *v, const char *range);
int ig_tview_filter_errors(ig_tview *v, bool on);
int ig_tview_filter_clear(ig_tview *v);

int ig_tview_set_search(ig_tview *v, const char *regex); /* NULL/"" clears */
void ig_tview_next_match(ig_tview *v, int dir);

/* Waterfall: collapse (1), expand (0) or toggle (-1) the selected span. */
void ig_tview_collapse(ig_tview *v, int how);
void ig_tview_zoom_span(ig_tview *v);      /* the time axis to the selected span */
void ig_tview_zoom(ig_tview *v, int in);   /* by 2 around the selection; in 0 zooms out */
void ig_tview_pan(ig_tview *v, int dir);   /* a quarter of the window */

/* ---- span profiles (viewer/tflame.c) --------------------------------------------
 * F opens, from the trace list, the flame graph of the selected trace; from
 * a waterfall or span details, of the selected span and its descendants;
 * from the operations or a histogram, the slow-vs-fast diff of the
 * operation (`--slow-vs-fast NAME --spans STORE`).  The flame graph is an
 * ordinary profile viewer (viewer/model.h) over a copy of the selected
 * samples; while v->flame is set, keys, clicks and rendering go to it, and
 * its `q` comes back.  Without a profile, or without samples in the
 * selection, a one-line message says so and nothing opens. */
/* Takes p over (NULL: none); path names it in messages. */
void ig_tview_set_profile(ig_tview *v, ignis_profile *p, const char *path);
int ig_tview_open_flame(ig_tview *v);
void ig_tview_close_flame(ig_tview *v);
/* Runs the flame graph's work (ig_viewer_pump); 1 while some remains. */
int ig_tview_pump(ig_tview *v, int wait_ms);
/* What ig_tview_key/click/render do while the flame graph is open. */
void ig_tflame_key(ig_tview *v, int key);
void ig_tflame_click(ig_tview *v, int row, int col, int dbl);
void ig_tflame_render(ig_tview *v, struct ig_screen *s);

/* Span times (profile/spans.h) of one stored trace; of every trace of
 * store s the samples of p name (*ntraces: how many they name).  The
 * join of samples and spans is by ids, never by clock. */
void ig_tspan_times_trace(ig_span_times *t, const ig_store_trace *tr);
int ig_tspan_times_load(ig_store *s, const ignis_profile *p, ig_span_times *t, size_t *ntraces, ig_err *err);

/* ---- queries ------------------------------------------------------------- */
const ig_trace_row *ig_tview_selected_trace(const ig_tview *v);   /* list page */
int32_t ig_tview_selected_span(const ig_tview *v);                /* trace page, or -1 */
void ig_tview_select_span(ig_tview *v, int32_t span);             /* expands its ancestors */
const ig_tcolumn *ig_tview_list_columns(void);                    /* IG_TCOLS of them */
const ig_tcolumn *ig_tview_ops_columns(void);                     /* IG_OCOLS of them */
/* The column under cell `col` of a table drawn w cells wide, or -1. */
int ig_tview_column_at(const ig_tcolumn *cols, int ncols, int w, int col);
/* The waterfall's name column width for a screen w cells wide, and the
 * cell of a span's fold marker at a depth (its indentation). */
int ig_tview_name_width(int w);
int ig_tview_indent(int name_width, uint32_t depth);
/* The histogram's first bucket cell and cells per bucket. */
void ig_tview_hist_cells(const ig_tview *v, int *x0, int *bucket_width);
/* True when text matches the search. */
int ig_tview_matches(const ig_tview *v, const char *text);
/* Whether span i of the shown trace matches the search (cached per span). */
int ig_tview_span_matches(ig_tview *v, uint32_t span);

void ig_tview_message(ig_tview *v, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "10ms", "1.5s", "250us", "42ns", "2m": nanoseconds, or -1 with err set. */
int ig_parse_duration(const char *text, uint64_t *ns, ig_err *err);
/* "10ms..2s", ">100ms", ">=100ms", "<1s", "100ms" (at least): the bounds
 * (max 0 = none), or -1 with err set. */
int ig_parse_duration_range(const char *text, uint64_t *min_ns, uint64_t *max_ns, ig_err *err);
/* Durations as the views print them: 12.50ms, 1.20s, 830us. */
void ig_format_duration(uint64_t ns, char *buf, size_t len);
/* Lower-case hex of n bytes. */
void ig_hex(const uint8_t *bytes, size_t n, char *out);

#endif
