/*
 * viewer/model.c — the state of the viewer and the actions on it.
 *
 * Every view is derived from the profile through profile/tree.h: the flame
 * graph is one ig_tree built with the current filters, value and
 * granularity, the top table an ig_top, the source view an ig_source.  The
 * sandwich view is two more trees merged from the flame graph's own tree
 * (viewer/treeprof.c), so both honour the filters and a diff carries over.
 * Building any of them is a task (viewer/tasks.c): the model records what
 * it wants (the filter, the function) and asks for the work; the result
 * replaces the old view when it is ready.  Zoom and selection survive a
 * rebuild by the path of frame names from the root, which is also what
 * keeps a live `ignis top` flame graph steady while it refreshes.
 *
 * Navigation is geometric: left/right move to the neighbouring frame on the
 * same row, up/down to the parent or the widest visible child, so what the
 * keys do always matches what is on screen.  Search matches are cached per
 * distinct name (20k names, not millions of nodes); the matched share is a
 * task too, counted in one pass over the depth-first node array where a
 * match's subtree is skipped.
 */
#include "viewer/model.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "utils/strbuf.h"
#include "viewer/cxxname.h"
#include "viewer/tasks.h"

void ig_viewer_message(ig_viewer *v, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    v->message_is_error = is_error;
}

char *ig_regex_exact(const char *name)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_putc(&sb, '^');
    for (const char *p = name; *p; p++) {
        if (strchr("\\^$.|?*+()[]{}", *p))
            ig_sb_putc(&sb, '\\');
        ig_sb_putc(&sb, *p);
    }
    ig_sb_putc(&sb, '$');
    return ig_sb_detach(&sb, NULL);
}

int ig_search_compile(regex_t *re, const char *pattern, int *icase)
{
    int flags = REG_EXTENDED | REG_NOSUB;
    *icase = 1;
    if (!strncmp(pattern, "(?i)", 4)) {
        pattern += 4;
    } else {
        for (const char *p = pattern; *p; p++)
            if (isupper((unsigned char)*p))
                *icase = 0;
    }
    if (*icase)
        flags |= REG_ICASE;
    return regcomp(re, pattern, flags);
}

const char *ig_viewer_display_name(const ig_viewer *v, const char *name, char *buf, size_t len)
{
    if (v->full_names || (!strchr(name, '<') && !strchr(name, '(')))
        return name;
    return ig_short_name(name, buf, len, v->utf8);
}

/* ---- options ------------------------------------------------------------- */

static void set_str(char **slot, const char *s)
{
    char *old = *slot;
    *slot = s && *s ? ig_xstrdup(s) : NULL;
    free(old);
}

void ig_viewer_free_view_opts(ig_view_opts *o)
{
    free(o->focus);
    free(o->ignore);
    free(o->thread);
    memset(o, 0, sizeof *o);
}

void ig_viewer_copy_view_opts(ig_view_opts *dst, const ig_viewer *v)
{
    memset(dst, 0, sizeof *dst);
    dst->profile = v->profile;
    dst->generation = v->generation;
    dst->value = v->value;
    set_str(&dst->focus, v->focus);
    set_str(&dst->ignore, v->ignore);
    set_str(&dst->thread, v->thread);
    dst->gran = v->gran;
    dst->fixed = v->fixed;
}

void ig_viewer_restore_opts(ig_viewer *v)
{
    if (!v->built.profile)
        return;
    v->profile = v->built.profile;
    v->generation = v->built.generation;
    v->value = v->built.value;
    set_str(&v->focus, v->built.focus);
    set_str(&v->ignore, v->built.ignore);
    set_str(&v->thread, v->built.thread);
    v->gran = v->built.gran;
}

/* ---- paths of names (zoom and selection survive rebuilds) --------------- */

ig_name_path ig_name_path_of(const ig_tree *t, uint32_t node)
{
    ig_name_path p = {0, 0};
    if (!t)
        return p;
    int depth = (int)ig_tree_node_at(t, node)->depth;
    p.names = ig_xcalloc((size_t)depth + 1, sizeof *p.names);
    for (uint32_t n = node; n != 0; n = ig_tree_node_at(t, n)->parent)
        p.names[--depth] = ig_xstrdup(ig_tree_name(t, ig_tree_node_at(t, n)->name));
    p.n = (int)ig_tree_node_at(t, node)->depth;
    return p;
}

uint32_t ig_name_path_find(const ig_tree *t, const ig_name_path *p)
{
    uint32_t node = 0;
    for (int i = 0; p && i < p->n; i++) {
        uint32_t ch = ig_tree_node_at(t, node)->first_child;
        while (ch && strcmp(ig_tree_name(t, ig_tree_node_at(t, ch)->name), p->names[i]))
            ch = ig_tree_node_at(t, ch)->next_sibling;
        if (!ch)
            break;
        node = ch;
    }
    return node;
}

void ig_name_path_free(ig_name_path *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->names[i]);
    free(p->names);
    p->names = NULL;
    p->n = 0;
}

/* ---- building ----------------------------------------------------------- */

static void reset_name_match(ig_viewer *v)
{
    free(v->name_match);
    v->name_match = NULL;
    v->name_match_len = 0;
    v->match_ready = 0;
}

/* Drops what was derived from the tree and the options. */
static void drop_derived(ig_viewer *v)
{
    ig_top_free(v->top);
    ig_tree_free(v->callers);
    ig_tree_free(v->callees);
    ig_child_cache_free(&v->children[IG_PANE_CALLERS]);
    ig_child_cache_free(&v->children[IG_PANE_CALLEES]);
    v->top = NULL;
    v->callers = v->callees = NULL;
    reset_name_match(v);
    v->layout_valid = 0;
}

/* After a rebuild, what is on screen besides the graph is built again:
 * in the background when the old one stays on screen meanwhile (a live
 * refresh), else in the foreground.  keep_opts: the options did not
 * change (the full tree after its preview), so the table and the source
 * listing are still right. */
static void refresh_mode(ig_viewer *v, int background, int keep_opts)
{
    ig_view_mode shown = v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK ? v->back_mode : v->mode;
    unsigned needs = 0;
    if (!keep_opts && (shown == IG_MODE_TOP || v->back_mode == IG_MODE_TOP || v->top))
        needs |= IG_NEED_TOP;
    if (v->sandwich_fn && (shown == IG_MODE_SANDWICH || v->callers)) {
        if (!v->sandwich_want)
            v->sandwich_want = ig_xstrdup(v->sandwich_fn);
        needs |= IG_NEED_SANDWICH;
    }
    if (!keep_opts && shown == IG_MODE_SOURCE && v->source_fn && !v->source_want) {
        v->source_want = ig_xstrdup(v->source_fn);
        needs |= IG_NEED_SOURCE;
    }
    if (v->has_search)
        needs |= IG_NEED_MATCH;
    if (!background) { /* nothing stale stays on screen */
        if (!keep_opts) {
            ig_top_free(v->top);
            v->top = NULL;
        }
        ig_tree_free(v->callers);
        ig_tree_free(v->callees);
        ig_child_cache_free(&v->children[IG_PANE_CALLERS]);
        ig_child_cache_free(&v->children[IG_PANE_CALLEES]);
        v->callers = v->callees = NULL;
        if (shown == IG_MODE_SANDWICH)
            v->mode = v->back_mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
    }
    unsigned fg_queued = v->needs & ~v->bg_needs;
    v->needs |= needs;
    if (background)
        v->bg_needs |= needs & ~fg_queued;
    else
        v->bg_needs &= ~needs;
}

void ig_viewer_install_tree(ig_viewer *v, ig_tree *t, const ig_name_path *zp, const ig_name_path *sp, int background,
                            int keep_opts)
{
    ig_child_cache_free(&v->children[IG_PANE_MAIN]); /* a new tree may take the old one's address */
    ig_tree_free(v->tree);
    reset_name_match(v); /* it is indexed by the old tree's names */
    v->layout_valid = 0;
    v->tree = t;
    v->nzoom = 1;
    v->zoom[0] = 0;
    if (v->sel_pane == IG_PANE_MAIN || !background || !v->callers) {
        v->sel = 0;
        v->sel_pane = IG_PANE_MAIN;
    }
    if (!t) {
        drop_derived(v);
        return;
    }
    uint32_t z = ig_name_path_find(t, zp);
    if (z != 0)
        v->zoom[v->nzoom++] = z;
    if (v->sel_pane == IG_PANE_MAIN) {
        v->sel = ig_name_path_find(t, sp);
        if (v->sel < z || (v->sel != z && ig_tree_node_at(t, v->sel)->depth <= ig_tree_node_at(t, z)->depth))
            v->sel = z;
    }
    refresh_mode(v, background, keep_opts);
}

/* Asks for the tree the options describe: the screen waits for it. */
static void rebuild(ig_viewer *v)
{
    ig_viewer_request(v, IG_NEED_TREE);
}

static void init_view(ig_viewer *v, const char *title)
{
    v->title = ig_xstrdup(title ? title : "");
    v->width = 80;
    v->height = 24;
    v->nzoom = 1;
    v->sort = IG_SORT_FLAT;
}

ig_viewer *ig_viewer_new(const ignis_profile *p, const ignis_profile *base, const char *title, ig_err *err)
{
    ig_viewer *v = ig_xcalloc(1, sizeof *v);
    init_view(v, title);
    v->profile = p;
    v->base = base;
    v->value = ignis_profile_default_value(p);
    if (v->value < 0) {
        ig_err_set(err, "%s: profile has no sample values", v->title);
        ig_viewer_free(v);
        return NULL;
    }
    rebuild(v);
    if (!v->tree) {
        ig_err_set(err, "%s", v->fatal ? v->fatal : v->message);
        ig_viewer_free(v);
        return NULL;
    }
    return v;
}

ig_viewer *ig_viewer_new_loading(const ig_viewer_load *load, int threaded)
{
    ig_viewer *v = ig_xcalloc(1, sizeof *v);
    init_view(v, load->path);
    v->threaded = threaded;
    v->load = ig_xcalloc(1, sizeof *v->load);
    *v->load = *load;
#define DUP(f) v->load->f = load->f ? ig_xstrdup(load->f) : NULL
    DUP(path);
    DUP(base_path);
    DUP(format);
    DUP(value);
    DUP(focus);
    DUP(ignore);
    DUP(thread);
    DUP(source_path);
#undef DUP
    v->icicle = load->icicle;
    v->gran = load->gran;
    v->fixed = load->fixed;
    v->source_path = load->source_path ? ig_xstrdup(load->source_path) : NULL;
    ig_viewer_request(v, IG_NEED_LOAD);
    return v;
}

static void free_load(ig_viewer_load *l)
{
    if (!l)
        return;
    free((char *)l->path);
    free((char *)l->base_path);
    free((char *)l->format);
    free((char *)l->value);
    free((char *)l->focus);
    free((char *)l->ignore);
    free((char *)l->thread);
    free((char *)l->source_path);
    free(l);
}

void ig_viewer_free(ig_viewer *v)
{
    if (!v)
        return;
    ig_viewer_tasks_free(v);
    drop_derived(v);
    ig_tree_free(v->tree);
    ig_source_free(v->source);
    ig_frames_free(&v->frames);
    for (int pane = 0; pane < 3; pane++)
        ig_child_cache_free(&v->children[pane]);
    if (v->has_search)
        regfree(&v->search_re);
    for (size_t i = 0; i < v->npick; i++)
        free(v->pick_items[i]);
    for (int k = 0; k < IG_PROMPT_KINDS; k++)
        ig_history_free(&v->history[k]);
    ig_name_path_free(&v->keep_zoom);
    ig_name_path_free(&v->keep_sel);
    ig_viewer_free_view_opts(&v->built);
    free(v->pick_items);
    free(v->search);
    free(v->search_before);
    free(v->focus);
    free(v->ignore);
    free(v->thread);
    free(v->sandwich_fn);
    free(v->sandwich_want);
    free(v->source_fn);
    free(v->source_want);
    free(v->source_path);
    free(v->export_want);
    free(v->fatal);
    free(v->title);
    free_load(v->load);
    ignis_profile_free(v->owned);
    ignis_profile_free(v->owned_base);
    free(v);
}

int ig_viewer_set_profile(ig_viewer *v, const ignis_profile *p, ig_err *err)
{
    (void)err;
    v->profile = p;
    v->generation++;
    ig_viewer_request_bg(v, IG_NEED_TREE_BG);
    return 0;
}

void ig_viewer_resize(ig_viewer *v, int width, int height)
{
    v->width = width;
    v->height = height;
    v->layout_valid = 0;
}

/* ---- queries ----------------------------------------------------------- */

uint32_t ig_viewer_zoom_node(const ig_viewer *v)
{
    return v->nzoom > 0 ? v->zoom[v->nzoom - 1] : 0;
}

const ig_tree *ig_viewer_pane_tree(const ig_viewer *v, int pane)
{
    return pane == IG_PANE_CALLERS ? v->callers : pane == IG_PANE_CALLEES ? v->callees : v->tree;
}

const char *ig_viewer_selected_name(const ig_viewer *v)
{
    const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
    return t ? ig_tree_name(t, ig_tree_node_at(t, v->sel)->name) : "";
}

const char *ig_viewer_selected_function(const ig_viewer *v)
{
    if (v->mode == IG_MODE_TOP) {
        if (!v->top || v->top_sel >= ig_top_rows(v->top))
            return "";
        uint32_t name = ig_top_row_at(v->top, v->top_sel)->name;
        ig_frame_source fs = ig_top_frame_source(v->top, name);
        return v->gran == IG_GRAN_FUNCTION || v->gran == IG_GRAN_ADDRESS ? ig_top_name(v->top, name) : fs.function;
    }
    const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
    if (!t || v->sel == 0)
        return "";
    uint32_t name = ig_tree_node_at(t, v->sel)->name;
    if (v->sel_pane != IG_PANE_MAIN || v->gran == IG_GRAN_FUNCTION || v->gran == IG_GRAN_ADDRESS)
        return ig_tree_name(t, name); /* sandwich panes name functions (or lines) */
    return ig_tree_frame_source(t, name).function;
}

/* ---- layout ------------------------------------------------------------ */

/* The root of a sandwich pane: the chosen function when the tree starts
 * with it alone, else the tree root. */
static uint32_t pane_root(const ig_tree *t)
{
    const ig_tree_node *r = ig_tree_node_at(t, 0);
    if (r->first_child && !ig_tree_node_at(t, r->first_child)->next_sibling)
        return r->first_child;
    return 0;
}

static int flame_rows(const ig_viewer *v)
{
    return v->height - 3;
}

/* Keeps the selected frame's depth on screen. */
static void keep_selection_visible(ig_viewer *v)
{
    if (v->sel_pane != IG_PANE_MAIN)
        return;
    int depth = (int)ig_tree_node_at(v->tree, v->sel)->depth;
    int rows = flame_rows(v);
    if (rows < 1)
        return;
    if (depth < v->scroll)
        v->scroll = depth;
    if (depth >= v->scroll + rows)
        v->scroll = depth - rows + 1;
}

static void layout_flame(ig_viewer *v)
{
    keep_selection_visible(v);
    int rows = flame_rows(v);
    ig_layout_spec s = {.tree = v->tree, .pane = IG_PANE_MAIN, .zoom = ig_viewer_zoom_node(v),
                        .col0 = 0, .width = v->width, .nrows = rows, .first_depth = v->scroll,
                        .show_ancestors = 1, .children = &v->children[IG_PANE_MAIN]};
    s.row0 = v->icicle ? 1 : 1 + rows - 1;
    s.dir = v->icicle ? 1 : -1;
    ig_layout_flame(&v->frames, &s);
}

static void layout_sandwich(ig_viewer *v)
{
    int rows = flame_rows(v);
    int up = rows / 2, down = rows - up;
    uint32_t cr = pane_root(v->callers), ce = pane_root(v->callees);
    ig_layout_spec s = {.tree = v->callers, .pane = IG_PANE_CALLERS, .zoom = cr, .width = v->width,
                        .row0 = up, .dir = -1, .nrows = up,
                        .first_depth = (int)ig_tree_node_at(v->callers, cr)->depth,
                        .children = &v->children[IG_PANE_CALLERS]};
    ig_layout_flame(&v->frames, &s);
    s = (ig_layout_spec){.tree = v->callees, .pane = IG_PANE_CALLEES, .zoom = ce, .width = v->width,
                         .row0 = up + 1, .dir = 1, .nrows = down,
                         .first_depth = (int)ig_tree_node_at(v->callees, ce)->depth,
                         .children = &v->children[IG_PANE_CALLEES]};
    ig_layout_flame(&v->frames, &s);
}

void ig_viewer_settle(ig_viewer *v)
{
    /* Outside the sandwich view the selection lives in the flame graph
     * (help and pickers return to the view they were opened from). */
    ig_view_mode shown = v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK ? v->back_mode : v->mode;
    if (shown == IG_MODE_SANDWICH && (!v->callers || !v->callees)) {
        v->mode = v->back_mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
        shown = v->mode;
    }
    if (shown != IG_MODE_SANDWICH && v->sel_pane != IG_PANE_MAIN) {
        v->sel_pane = IG_PANE_MAIN;
        v->sel = ig_viewer_zoom_node(v);
        v->layout_valid = 0;
    }
}

const ig_frames *ig_viewer_layout(ig_viewer *v)
{
    ig_viewer_settle(v);
    if (v->layout_valid)
        return &v->frames;
    for (;;) {
        ig_frames_reset(&v->frames);
        if (!v->tree)
            break;
        if (v->mode == IG_MODE_FLAME)
            layout_flame(v);
        else if (v->mode == IG_MODE_SANDWICH)
            layout_sandwich(v);
        else
            break;
        /* A rebuild (filter, live refresh) can leave the selection on a
         * frame too narrow to draw: move it to the nearest drawn ancestor. */
        const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
        uint32_t top = v->sel_pane == IG_PANE_MAIN ? 0 : pane_root(t);
        if (ig_frames_find(&v->frames, v->sel_pane, v->sel) >= 0)
            break;
        if (v->sel == top)
            break; /* nothing drawable (no rows) */
        /* Climb; above a sandwich pane's function there is only its root. */
        v->sel = v->sel == 0 ? top : ig_tree_node_at(t, v->sel)->parent;
    }
    v->layout_valid = 1;
    return &v->frames;
}

/* ---- selection and zoom -------------------------------------------------- */

static long selected_frame(ig_viewer *v)
{
    return ig_frames_find(ig_viewer_layout(v), v->sel_pane, v->sel);
}

/* Selects (pane, node) if it is drawn; returns 0 or -1 (selection kept). */
static int try_select(ig_viewer *v, uint8_t pane, uint32_t node)
{
    uint8_t old_pane = v->sel_pane;
    uint32_t old = v->sel;
    int old_scroll = v->scroll;
    v->sel_pane = pane;
    v->sel = node;
    v->layout_valid = 0;
    if (selected_frame(v) >= 0)
        return 0;
    v->sel_pane = old_pane;
    v->sel = old;
    v->scroll = old_scroll;
    v->layout_valid = 0;
    return -1;
}

static void navigate_vertical(ig_viewer *v, ig_nav dir)
{
    const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
    const ig_tree_node *n = ig_tree_node_at(t, v->sel);
    if (dir == IG_NAV_PARENT) {
        if (v->sel != 0)
            try_select(v, v->sel_pane, n->parent);
        return;
    }
    uint32_t best = 0;
    int64_t best_total = -1;
    const ig_child *kids;
    size_t nk = ig_tree_children(&v->children[v->sel_pane], t, v->sel, &kids);
    for (size_t k = 0; k < nk; k++)
        if (kids[k].total > best_total) {
            best = kids[k].node;
            best_total = kids[k].total;
        }
    if (best)
        try_select(v, v->sel_pane, best);
}

static void navigate_horizontal(ig_viewer *v, ig_nav dir)
{
    long cur = selected_frame(v);
    if (cur < 0)
        return;
    const ig_frames *f = &v->frames;
    const ig_frame *s = &f->v[cur];
    long best = -1;
    for (size_t i = 0; i < f->n; i++) {
        const ig_frame *c = &f->v[i];
        if (c->row != s->row || c->pane != s->pane || (long)i == cur)
            continue;
        if (dir == IG_NAV_LEFT && c->col < s->col && (best < 0 || c->col > f->v[best].col))
            best = (long)i;
        if (dir == IG_NAV_RIGHT && c->col > s->col && (best < 0 || c->col < f->v[best].col))
            best = (long)i;
    }
    if (best >= 0)
        try_select(v, f->v[best].pane, f->v[best].node);
}

void ig_viewer_navigate(ig_viewer *v, ig_nav dir)
{
    if (!v->tree)
        return;
    if (dir == IG_NAV_PARENT || dir == IG_NAV_CHILD)
        navigate_vertical(v, dir);
    else
        navigate_horizontal(v, dir);
}

/* The search's share of the view follows the zoom (the share of the
 * whole does not change). */
static void zoom_changed(ig_viewer *v)
{
    v->layout_valid = 0;
    ig_viewer_request_match(v);
}

void ig_viewer_zoom_in(ig_viewer *v)
{
    if (!v->tree)
        return;
    if (v->mode == IG_MODE_SANDWICH) {
        char *fn = ig_xstrdup(ig_viewer_selected_name(v));
        ig_viewer_show_sandwich(v, fn);
        free(fn);
        return;
    }
    if (v->sel == ig_viewer_zoom_node(v))
        return;
    if (v->sel == 0) {
        v->nzoom = 1;
    } else {
        /* Zooming onto an ancestor of the zoom pops back to it. */
        int i = v->nzoom - 1;
        while (i > 0 && v->zoom[i] != v->sel)
            i--;
        if (i > 0 || v->sel == 0)
            v->nzoom = i + 1;
        else if (v->nzoom < IG_MAX_ZOOM)
            v->zoom[v->nzoom++] = v->sel;
        else
            v->zoom[v->nzoom - 1] = v->sel;
    }
    zoom_changed(v);
}

void ig_viewer_zoom_out(ig_viewer *v)
{
    if (v->mode != IG_MODE_FLAME) {
        ig_view_mode back = v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK ? v->back_mode : v->mode;
        if (v->mode == IG_MODE_SANDWICH || v->mode == IG_MODE_SOURCE || v->mode == IG_MODE_OUTPUT)
            back = v->back_mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
        else if (v->mode == IG_MODE_TOP)
            back = IG_MODE_FLAME;
        if (back == IG_MODE_TOP && !v->top)
            back = IG_MODE_FLAME;
        v->mode = back;
        if (v->mode == IG_MODE_FLAME && v->sel_pane != IG_PANE_MAIN) {
            v->sel_pane = IG_PANE_MAIN;
            v->sel = ig_viewer_zoom_node(v);
        }
        v->layout_valid = 0;
        return;
    }
    if (v->nzoom <= 1)
        return;
    v->sel = v->zoom[--v->nzoom];
    zoom_changed(v);
}

/* ---- search -------------------------------------------------------------- */

static int name_matches(ig_viewer *v, uint32_t name)
{
    if (name >= v->name_match_len) {
        size_t len = name + 1 > v->name_match_len * 2 ? name + 1 : v->name_match_len * 2;
        v->name_match = ig_xrealloc(v->name_match, len);
        memset(v->name_match + v->name_match_len, -1, len - v->name_match_len);
        v->name_match_len = len;
    }
    if (v->name_match[name] < 0)
        v->name_match[name] = regexec(&v->search_re, ig_tree_name(v->tree, name), 0, NULL, 0) == 0;
    return v->name_match[name];
}

int ig_viewer_node_matches(ig_viewer *v, const ig_tree *t, uint32_t node)
{
    if (!v->has_search)
        return 0;
    uint32_t name = ig_tree_node_at(t, node)->name;
    if (t == v->tree)
        return name_matches(v, name);
    return regexec(&v->search_re, ig_tree_name(t, name), 0, NULL, 0) == 0;
}

int ig_viewer_set_search(ig_viewer *v, const char *regex)
{
    regex_t re;
    int icase = 0;
    int rc = regex && *regex ? ig_search_compile(&re, regex, &icase) : -1;
    if (rc > 0) {
        char buf[128];
        regerror(rc, &re, buf, sizeof buf);
        ig_viewer_message(v, 1, "search: invalid regular expression '%s': %s", regex, buf);
        return -1;
    }
    if (v->has_search)
        regfree(&v->search_re);
    v->has_search = 0;
    free(v->search);
    v->search = NULL;
    reset_name_match(v);
    v->layout_valid = 0;
    v->match_total = v->match_view = 0;
    ig_viewer_drop(v, IG_NEED_MATCH);
    if (rc < 0)
        return 0;
    v->search_re = re;
    v->search_icase = icase;
    v->has_search = 1;
    v->search = ig_xstrdup(regex);
    ig_viewer_request_match(v);
    return 0;
}

int ig_viewer_text_matches(ig_viewer *v, const char *name)
{
    return v->has_search && regexec(&v->search_re, name, 0, NULL, 0) == 0;
}

static int top_row_matches(ig_viewer *v, size_t i)
{
    return ig_viewer_text_matches(v, ig_top_name(v->top, ig_top_row_at(v->top, i)->name));
}

static void next_top_match(ig_viewer *v, int dir)
{
    size_t n = ig_top_rows(v->top);
    for (size_t k = 1; k <= n; k++) {
        size_t i = (v->top_sel + n + (dir > 0 ? k : n - k)) % n;
        if (top_row_matches(v, i)) {
            v->top_sel = i;
            return;
        }
    }
}

void ig_viewer_next_match(ig_viewer *v, int dir)
{
    if (!v->has_search || !v->tree)
        return;
    if (v->mode == IG_MODE_TOP) {
        if (v->top && ig_top_rows(v->top))
            next_top_match(v, dir);
        return;
    }
    const ig_frames *f = ig_viewer_layout(v);
    long best = -1, wrap = -1;
    for (size_t i = 0; i < f->n; i++) {
        const ig_frame *c = &f->v[i];
        if (c->pane != v->sel_pane || c->node == v->sel ||
            !ig_viewer_node_matches(v, ig_viewer_pane_tree(v, c->pane), c->node))
            continue;
        int after = dir > 0 ? c->node > v->sel : c->node < v->sel;
        long *slot = after ? &best : &wrap;
        if (*slot < 0 || (dir > 0) == (c->node < f->v[*slot].node))
            *slot = (long)i;
    }
    if (best < 0)
        best = wrap;
    if (best >= 0)
        try_select(v, f->v[best].pane, f->v[best].node);
    else
        ig_viewer_message(v, 0, "no other match on screen");
}

/* ---- filters, values, granularity ------------------------------------------ */

static char **filter_slot(ig_viewer *v, char which)
{
    return which == 'f' ? &v->focus : which == 'x' ? &v->ignore : which == 'T' ? &v->thread : NULL;
}

int ig_viewer_set_filter(ig_viewer *v, char which, const char *regex)
{
    char **slot = filter_slot(v, which);
    if (!slot)
        return -1;
    const char *flag = which == 'f' ? "--focus" : which == 'x' ? "--ignore" : "--thread";
    if (regex && *regex) {
        regex_t re;
        int rc = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[128];
            regerror(rc, &re, msg, sizeof msg);
            ig_viewer_message(v, 1, "%s: invalid regular expression '%s': %s", flag, regex, msg);
            return -1;
        }
        regfree(&re);
    }
    set_str(slot, regex);
    const char *what = which == 'f' ? "focus" : which == 'x' ? "ignore" : "thread";
    if (*slot)
        ig_viewer_message(v, 0, "%s: %s", what, *slot);
    else
        ig_viewer_message(v, 0, "%s filter cleared", what);
    rebuild(v);
    return 0;
}

int ig_viewer_set_value(ig_viewer *v, int value)
{
    if (!v->profile || value < 0 || (size_t)value >= ignis_profile_num_values(v->profile))
        return -1;
    v->value = value;
    ignis_value_type vt = ignis_profile_value_type(v->profile, (size_t)value);
    ig_viewer_message(v, 0, "showing %s", ignis_profile_string(v->profile, vt.type));
    rebuild(v);
    return 0;
}

void ig_viewer_set_granularity(ig_viewer *v, ig_granularity g)
{
    static const char *const names[] = {"functions", "functions and lines", "files", "modules"};
    v->gran = g;
    ig_viewer_message(v, 0, "frames are %s", names[g]);
    rebuild(v);
}

/* ---- top table ------------------------------------------------------------ */

void ig_viewer_show_top(ig_viewer *v)
{
    v->mode = IG_MODE_TOP;
    v->layout_valid = 0;
    if (!v->top)
        ig_viewer_request(v, IG_NEED_TOP);
}

void ig_viewer_set_sort(ig_viewer *v, ig_top_sort sort)
{
    if (v->sort == sort && v->top)
        return;
    v->sort = sort;
    ig_top_free(v->top);
    v->top = NULL;
    v->top_sel = v->top_scroll = 0;
    ig_viewer_request(v, IG_NEED_TOP);
}

void ig_viewer_focus_row(ig_viewer *v)
{
    if (!v->top || v->top_sel >= ig_top_rows(v->top))
        return;
    const ig_top_row *r = ig_top_row_at(v->top, v->top_sel);
    char *re = ig_regex_exact(ig_top_name(v->top, r->name));
    if (ig_viewer_set_filter(v, 'f', re) == 0) {
        v->mode = IG_MODE_FLAME;
        v->layout_valid = 0;
    }
    free(re);
}

/* ---- sandwich, source, export ------------------------------------------------- */

int ig_viewer_show_sandwich(ig_viewer *v, const char *function)
{
    if (!v->tree || !*function)
        return -1;
    set_str(&v->sandwich_want, function);
    ig_viewer_request(v, IG_NEED_SANDWICH);
    return v->mode == IG_MODE_SANDWICH || v->sandwich_want ? 0 : -1;
}

int ig_viewer_show_source(ig_viewer *v, const char *function)
{
    if (!function || !*function) {
        ig_viewer_message(v, 1, "source: the selection is not a function (frames are %s)",
                          v->gran == IG_GRAN_FILE ? "files" : v->gran == IG_GRAN_MODULE ? "modules" : "roots");
        return -1;
    }
    set_str(&v->source_want, function);
    ig_viewer_request(v, IG_NEED_SOURCE);
    return 0;
}

int ig_viewer_export(ig_viewer *v, const char *path)
{
    const char *fmt = ig_format_for_path(path);
    if (!fmt || !strcmp(fmt, "perf-script")) {
        ig_viewer_message(v, 1, "export: %s: use a .svg, .folded or .pb.gz file name", path);
        return -1;
    }
    if (!v->tree)
        return -1;
    set_str(&v->export_want, path);
    ig_viewer_message(v, 0, "exporting to %s", path);
    ig_viewer_request(v, IG_NEED_EXPORT);
    return v->message_is_error ? -1 : 0;
}
