/*
 * viewer/model.h — everything `ignis view` and `ignis top` show, without curses.
 *
 * The model owns the profile(s) it loaded (or borrows them), the filters,
 * the call trees and the top table built from them, the zoom stack, the
 * selection, the search and the picker/prompt state.  It turns keystrokes
 * (ig_viewer_key, with curses-free key codes) into actions, and renders
 * itself into a grid of cells (viewer/screen.h) that the curses layer
 * copies to the terminal.  Unit tests drive it exactly like the terminal
 * does and read the grid.
 *
 * Long work (loading, building a tree, the top table, callers/callees, a
 * source listing, search statistics, an export) is a task (viewer/tasks.c)
 * run as a job (viewer/job.h): on a worker thread when `threaded` is set
 * (the terminal), inline otherwise (tests, benchmarks).  While a task
 * runs the screen keeps the last view and a progress line; Esc cancels.
 */
#ifndef IG_VIEWER_MODEL_H
#define IG_VIEWER_MODEL_H

#include <regex.h>
#include <stdint.h>

#include "ignis/profile.h"
#include "profile/source.h"
#include "profile/tree.h"
#include "utils/err.h"
#include "viewer/layout.h"
#include "viewer/prompt.h"

typedef enum ig_view_mode {
    IG_MODE_FLAME = 0,
    IG_MODE_TOP,      /* top table */
    IG_MODE_SANDWICH, /* callers above, callees below */
    IG_MODE_HELP,
    IG_MODE_PICK,     /* choosing a thread or a value type */
    IG_MODE_SOURCE,   /* a function's lines with their costs beside the source */
    IG_MODE_OUTPUT,   /* `ignis top -- CMD`: the tail of the command's output */
} ig_view_mode;

typedef enum ig_prompt_kind {
    IG_PROMPT_NONE = 0,
    IG_PROMPT_SEARCH,
    IG_PROMPT_FOCUS,
    IG_PROMPT_IGNORE,
    IG_PROMPT_EXPORT,
    IG_PROMPT_KINDS
} ig_prompt_kind;

typedef enum ig_nav {
    IG_NAV_PARENT, IG_NAV_CHILD, IG_NAV_LEFT, IG_NAV_RIGHT,
} ig_nav;

/* Panes: the flame graph, or the two halves of the sandwich view. */
enum { IG_PANE_MAIN = 0, IG_PANE_CALLERS = 1, IG_PANE_CALLEES = 2 };

#define IG_MAX_ZOOM 256

/* What the tree on screen was built from (the desired settings may be
 * newer while a rebuild runs). */
typedef struct ig_view_opts {
    const ignis_profile *profile;
    unsigned generation;                  /* of the profile: a new one may reuse an address */
    int value;
    char *focus, *ignore, *thread;
    ig_granularity gran;
    const ig_tree_opts *fixed;            /* the viewer's fixed filters (ig_viewer.fixed) */
} ig_view_opts;

/* What `ignis view` asks for before the profile is loaded
 * (ig_viewer_new_loading); strings are copied. */
typedef struct ig_viewer_load {
    const char *path, *base_path, *format;
    const char *value;                  /* type name or NULL */
    const char *focus, *ignore, *thread;
    ig_granularity gran;
    int icicle;
    const char *source_path;            /* search path of the source view */
    const ig_tree_opts *fixed;          /* NULL, or filters no key changes (ig_viewer.fixed) */
    /* Profiles the command loaded already (e.g. the two halves of
     * --slow-vs-fast): the load task adopts them instead of reading path
     * and base_path, and the viewer frees them. */
    struct ignis_profile *preloaded, *preloaded_base;
} ig_viewer_load;

struct ig_task;

/* A node named by the names on its path from the root: zoom and selection
 * survive a rebuild that way. */
typedef struct ig_name_path {
    char **names;
    int n;
} ig_name_path;

typedef struct ig_viewer {
    /* data */
    const ignis_profile *profile, *base;  /* base != NULL: diff */
    unsigned generation;                  /* counts profile replacements (live view) */
    ignis_profile *owned, *owned_base;    /* loaded by the viewer itself (freed with it) */
    char *title;                          /* shown in the header */
    const char *app;                      /* "top" for the live view; NULL: view/diff */
    int value;                            /* value index wanted */
    char *focus, *ignore, *thread;        /* filters wanted (NULL = none) */
    ig_granularity gran;                  /* what a frame is */
    ig_view_opts built;                   /* what v->tree shows */
    ig_tree *tree;                        /* main flame graph tree (NULL while the first builds) */
    int tree_partial;                     /* tree is of the part of the file read so far */
    int tree_pruned;                      /* a quick preview: small frames left out */
    ig_top *top;                          /* built on demand */
    ig_tree *callers, *callees;           /* sandwich trees, on demand */
    char *sandwich_fn;                    /* function of the sandwich view */
    char *sandwich_want;                  /* requested, being built */
    ig_source *source;                    /* the source view's listing */
    char *source_fn;                      /* its function */
    char *source_want;                    /* requested, being built */
    char *export_want;                    /* path of a requested export */
    char *source_path;                    /* search path for source files */
    /* Filters from the command line that no key changes (hide, show,
     * show_from, prune_from, tagfocus, tagignore, normalize); every tree
     * and table is built with them.  NULL, or owned by the caller, which
     * keeps it (and its strings) until ig_viewer_free. */
    const ig_tree_opts *fixed;
    size_t source_sel, source_scroll;     /* selected listing line */

    /* view state */
    ig_view_mode mode, back_mode;
    int icicle;
    int full_names;                       /* show C++ names unfolded */
    int width, height;                    /* screen size in cells */
    uint32_t zoom[IG_MAX_ZOOM];           /* zoom stack; zoom[nzoom-1] current */
    int nzoom;
    uint8_t sel_pane;
    uint32_t sel;                         /* selected node of sel_pane's tree */
    int scroll;                           /* flame: first depth drawn */
    ig_top_sort sort;
    size_t top_sel, top_scroll;

    /* search */
    char *search;                         /* the pattern as typed */
    regex_t search_re;
    int has_search;
    int search_icase;                     /* smart case: no capital letter, or a (?i) prefix */
    int8_t *name_match;                   /* per tree name: -1 unknown, 0, 1 */
    size_t name_match_len;
    int match_ready;                      /* match_total/match_view are computed */
    double match_total, match_view;       /* fractions of total / of zoom */
    char *search_before;                  /* the search active when `/` was pressed */

    /* prompt and picker */
    ig_prompt_kind prompt;
    ig_line_edit edit;
    ig_history history[IG_PROMPT_KINDS];
    int pick_kind;                        /* 's' value type, 'T' thread */
    char **pick_items;
    size_t npick, pick_sel;

    /* long work */
    int threaded;                         /* tasks on a worker thread */
    size_t drop_nodes;                    /* a tree this big is freed before its rebuild
                                             (0: IG_TREE_DROP_NODES, 4M nodes) */
    struct ig_task *task;                 /* running, NULL when idle */
    unsigned needs;                       /* IG_NEED_*: work queued behind it */
    unsigned bg_needs;                    /* the part of it that refreshes what is on screen
                                             (the keys do not wait for it) */
    ig_viewer_load *load;                 /* what to load (ig_viewer_new_loading) */
    int restoring;                        /* the next tree rebuilds what a cancel took away */
    int keep_paths;                       /* the tree was freed before its rebuild: */
    ig_name_path keep_zoom, keep_sel;     /* where the zoom and selection were */
    char *fatal;                          /* a loading error: the command prints it and exits 1 */

    /* ignis top -- CMD */
    const char *output_path;              /* file the command writes to, NULL: none */

    char message[256];                    /* one-line feedback */
    int message_is_error;
    int utf8;                             /* draw with Unicode characters */
    int quit;

    /* layout cache */
    ig_frames frames;
    int layout_valid;
    ig_child_cache children[3];           /* per pane: wide nodes' children (viewer/layout.h) */
} ig_viewer;

/* Work the model queues behind the running task (ig_viewer.needs). */
enum {
    IG_NEED_LOAD = 1,      /* read the file(s) (ig_viewer_new_loading) */
    IG_NEED_TREE = 2,      /* rebuild the tree; the screen waits (a huge old tree is freed first) */
    IG_NEED_TREE_BG = 4,   /* rebuild in the background: the old tree stays usable (live
                              refresh, the full tree after a quick preview) */
    IG_NEED_TOP = 8,       /* the top table */
    IG_NEED_SANDWICH = 16, /* callers/callees of sandwich_want */
    IG_NEED_SOURCE = 32,   /* the source listing of source_want */
    IG_NEED_EXPORT = 64,   /* write export_want */
    IG_NEED_MATCH = 128,   /* search statistics (background) */
};

/* Creates a viewer of p (and base for a diff; may be NULL), building the
 * tree at once.  Both profiles are borrowed and must outlive the viewer.
 * Returns NULL with err set. */
ig_viewer *ig_viewer_new(const ignis_profile *p, const ignis_profile *base, const char *title,
                         ig_err *err);

/* Creates a viewer that loads its profile(s) itself, as a task: threaded
 * (a worker thread; the terminal shows progress) or not (done on return).
 * A failure to load or a bad option ends in v->fatal and v->quit. */
ig_viewer *ig_viewer_new_loading(const ig_viewer_load *load, int threaded);
void ig_viewer_free(ig_viewer *v);

/* Replaces the profile (live view), keeping filters and the view mode. */
int ig_viewer_set_profile(ig_viewer *v, const ignis_profile *p, ig_err *err);

/* Screen size; the layout follows on the next render. */
void ig_viewer_resize(ig_viewer *v, int width, int height);

/* Handles one key; sets v->quit on `q`. */
void ig_viewer_key(ig_viewer *v, int key);

/* Mouse click at cell (row, col); a double click also zooms/opens. */
void ig_viewer_click(ig_viewer *v, int row, int col, int dbl);

/* ---- long work (viewer/tasks.c) ------------------------------------------ */

/* Finishes the task if it is done (applying its result) and starts the
 * queued work; returns 1 while something is still running or queued.
 * wait_ms: how long to wait for the running task first. */
int ig_viewer_pump(ig_viewer *v, int wait_ms);
/* True while foreground work (the keys wait for it) runs or is queued. */
int ig_viewer_busy(const ig_viewer *v);
/* The kind of the running task (IG_NEED_*), 0 when idle. */
unsigned ig_viewer_running(const ig_viewer *v);
/* Cancels the running task and the work queued behind it (Esc). */
void ig_viewer_cancel(ig_viewer *v);
/* The progress line while busy ("building the call tree 45% (Esc cancels)"),
 * or "" when idle. */
void ig_viewer_progress_text(const ig_viewer *v, char *buf, size_t len);

/* ---- actions (what the keys do) ----------------------------------------- */
void ig_viewer_navigate(ig_viewer *v, ig_nav dir);
void ig_viewer_zoom_in(ig_viewer *v);
void ig_viewer_zoom_out(ig_viewer *v);
int ig_viewer_set_search(ig_viewer *v, const char *regex);   /* NULL/"" clears */
void ig_viewer_next_match(ig_viewer *v, int dir);
int ig_viewer_set_filter(ig_viewer *v, char which, const char *regex); /* 'f','x','T' */
int ig_viewer_set_value(ig_viewer *v, int value);
void ig_viewer_set_granularity(ig_viewer *v, ig_granularity g);
void ig_viewer_show_top(ig_viewer *v);
void ig_viewer_set_sort(ig_viewer *v, ig_top_sort sort);
void ig_viewer_focus_row(ig_viewer *v);         /* Enter in the top table */
int ig_viewer_show_sandwich(ig_viewer *v, const char *function);
/* The source view of a function (exact name). */
int ig_viewer_show_source(ig_viewer *v, const char *function);
int ig_viewer_export(ig_viewer *v, const char *path);

/* Restores invariants after a mode change (the selection belongs to the
 * flame graph outside the sandwich view); the key handler and the
 * renderer call it. */
void ig_viewer_settle(ig_viewer *v);

/* ---- queries ----------------------------------------------------------- */
uint32_t ig_viewer_zoom_node(const ig_viewer *v);
const ig_tree *ig_viewer_pane_tree(const ig_viewer *v, int pane);
const char *ig_viewer_selected_name(const ig_viewer *v);
/* The function of the selected frame or table row ("" when it has none,
 * e.g. at file granularity). */
const char *ig_viewer_selected_function(const ig_viewer *v);
/* Lays out the current view if needed; the frames of every pane. */
const ig_frames *ig_viewer_layout(ig_viewer *v);
/* True when node matches the search. */
int ig_viewer_node_matches(ig_viewer *v, const ig_tree *t, uint32_t node);

/* True when a name matches the search. */
int ig_viewer_text_matches(ig_viewer *v, const char *name);

/* A name as shown: C++ names folded unless full names are on. */
const char *ig_viewer_display_name(const ig_viewer *v, const char *name, char *buf, size_t len);

/* Sets the one-line message. */
void ig_viewer_message(ig_viewer *v, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Escapes regex metacharacters of a name and anchors it: ^name$. */
char *ig_regex_exact(const char *name);

/* Compiles a search pattern with smart case (no capital letter, or a
 * "(?i)" prefix: case is ignored); returns regcomp's result, *icase set. */
int ig_search_compile(regex_t *re, const char *pattern, int *icase);

/* ---- the key map (viewer/keys.c), shared by `view` and `top` --------------- */

typedef struct ig_key_help {
    const char *keys;   /* "/  n  N" */
    const char *what;   /* "search (regex, smart case); next / previous match" */
    const char *where;  /* NULL: everywhere; "top": ignis top only; ... */
} ig_key_help;

/* The key map as the help screen and the README list it, NULL-terminated. */
const ig_key_help *ig_viewer_key_help(void);

#endif
