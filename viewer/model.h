/*
 * viewer/model.h — everything `ignis view` and `ignis top` show, without curses.
 *
 * The model owns the profile(s), the filters, the call trees and the top
 * table built from them, the zoom stack, the selection, the search and the
 * picker/prompt state.  It turns keystrokes (ig_viewer_key, with curses-free
 * key codes) into actions, and renders itself into a grid of cells
 * (viewer/screen.h) that the curses layer copies to the terminal.  Unit
 * tests drive it exactly like the terminal does and read the grid.
 */
#ifndef IG_VIEWER_MODEL_H
#define IG_VIEWER_MODEL_H

#include <regex.h>
#include <stdint.h>

#include "ignis/profile.h"
#include "profile/tree.h"
#include "utils/err.h"
#include "viewer/layout.h"

typedef enum ig_view_mode {
    IG_MODE_FLAME = 0,
    IG_MODE_TOP,      /* top table */
    IG_MODE_SANDWICH, /* callers above, callees below */
    IG_MODE_HELP,
    IG_MODE_PICK,     /* choosing a thread or a value type */
} ig_view_mode;

typedef enum ig_prompt_kind {
    IG_PROMPT_NONE = 0,
    IG_PROMPT_SEARCH,
    IG_PROMPT_FOCUS,
    IG_PROMPT_IGNORE,
    IG_PROMPT_EXPORT,
} ig_prompt_kind;

typedef enum ig_nav {
    IG_NAV_PARENT, IG_NAV_CHILD, IG_NAV_LEFT, IG_NAV_RIGHT,
} ig_nav;

/* Key codes besides printable ASCII. */
enum {
    IG_KEY_ENTER = '\n', IG_KEY_ESC = 27, IG_KEY_BACKSPACE = 127,
    IG_KEY_UP = 0x1000, IG_KEY_DOWN, IG_KEY_LEFT, IG_KEY_RIGHT,
    IG_KEY_PGUP, IG_KEY_PGDN, IG_KEY_HOME, IG_KEY_END,
};

/* Panes: the flame graph, or the two halves of the sandwich view. */
enum { IG_PANE_MAIN = 0, IG_PANE_CALLERS = 1, IG_PANE_CALLEES = 2 };

#define IG_MAX_ZOOM 256
#define IG_PROMPT_MAX 256

typedef struct ig_viewer {
    /* data */
    const ignis_profile *profile, *base;  /* borrowed; base != NULL: diff */
    char *title;                          /* shown in the header */
    const char *app;                      /* "top" for the live view; NULL: view/diff */
    int value;                            /* value index shown */
    char *focus, *ignore, *thread;        /* filters (NULL = none) */
    ig_tree *tree;                        /* main flame graph tree */
    ig_top *top;                          /* built on demand */
    ig_tree *callers, *callees;           /* sandwich trees, on demand */
    char *sandwich_fn;                    /* function of the sandwich view */

    /* view state */
    ig_view_mode mode, back_mode;
    int icicle;
    int width, height;                    /* screen size in cells */
    uint32_t zoom[IG_MAX_ZOOM];           /* zoom stack; zoom[nzoom-1] current */
    int nzoom;
    uint8_t sel_pane;
    uint32_t sel;                         /* selected node of sel_pane's tree */
    int scroll;                           /* flame: first depth drawn */
    ig_top_sort sort;
    size_t top_sel, top_scroll;

    /* search */
    char *search;
    regex_t search_re;
    int has_search;
    int8_t *name_match;                   /* per tree name: -1 unknown, 0, 1 */
    size_t name_match_len;
    double match_total, match_view;       /* fractions of total / of zoom */

    /* prompt and picker */
    ig_prompt_kind prompt;
    char input[IG_PROMPT_MAX];
    size_t input_len;
    int pick_kind;                        /* 's' value type, 'T' thread */
    char **pick_items;
    size_t npick, pick_sel;

    char message[256];                    /* one-line feedback */
    int message_is_error;
    int utf8;                             /* draw with Unicode characters */
    int quit;

    /* layout cache */
    ig_frames frames;
    int layout_valid;
} ig_viewer;

/* Creates a viewer of p (and base for a diff; may be NULL).  Both profiles
 * are borrowed and must outlive the viewer.  Returns NULL with err set. */
ig_viewer *ig_viewer_new(const ignis_profile *p, const ignis_profile *base, const char *title,
                         ig_err *err);
void ig_viewer_free(ig_viewer *v);

/* Replaces the profile (live view), keeping filters and the view mode. */
int ig_viewer_set_profile(ig_viewer *v, const ignis_profile *p, ig_err *err);

/* Screen size; the layout follows on the next render. */
void ig_viewer_resize(ig_viewer *v, int width, int height);

/* Handles one key; sets v->quit on `q`. */
void ig_viewer_key(ig_viewer *v, int key);

/* Mouse click at cell (row, col); a double click also zooms/opens. */
void ig_viewer_click(ig_viewer *v, int row, int col, int dbl);

/* ---- actions (what the keys do) ----------------------------------------- */
void ig_viewer_navigate(ig_viewer *v, ig_nav dir);
void ig_viewer_zoom_in(ig_viewer *v);
void ig_viewer_zoom_out(ig_viewer *v);
int ig_viewer_set_search(ig_viewer *v, const char *regex);   /* NULL/"" clears */
void ig_viewer_next_match(ig_viewer *v, int dir);
int ig_viewer_set_filter(ig_viewer *v, char which, const char *regex); /* 'f','x','T' */
int ig_viewer_set_value(ig_viewer *v, int value);
void ig_viewer_show_top(ig_viewer *v);
void ig_viewer_set_sort(ig_viewer *v, ig_top_sort sort);
void ig_viewer_focus_row(ig_viewer *v);         /* Enter in the top table */
int ig_viewer_show_sandwich(ig_viewer *v, const char *function);
int ig_viewer_export(ig_viewer *v, const char *path);

/* Restores invariants after a mode change (the selection belongs to the
 * flame graph outside the sandwich view); the key handler and the
 * renderer call it. */
void ig_viewer_settle(ig_viewer *v);

/* ---- queries ----------------------------------------------------------- */
uint32_t ig_viewer_zoom_node(const ig_viewer *v);
const ig_tree *ig_viewer_pane_tree(const ig_viewer *v, int pane);
const char *ig_viewer_selected_name(const ig_viewer *v);
/* Lays out the current view if needed; the frames of every pane. */
const ig_frames *ig_viewer_layout(ig_viewer *v);
/* True when node matches the search. */
int ig_viewer_node_matches(ig_viewer *v, const ig_tree *t, uint32_t node);

/* True when a name matches the search. */
int ig_viewer_text_matches(ig_viewer *v, const char *name);

/* Sets the one-line message. */
void ig_viewer_message(ig_viewer *v, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Edits a prompt's input (IG_PROMPT_MAX bytes, NUL-terminated) with one
 * key: returns 1 for Enter, -1 for Esc, 0 after an edit (shared by the
 * profile and trace viewers). */
int ig_prompt_edit(char *input, size_t *len, int key);

/* Escapes regex metacharacters of a name and anchors it: ^name$. */
char *ig_regex_exact(const char *name);

#endif
