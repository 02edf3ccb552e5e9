/*
 * viewer/model.c — the state of the viewer and the actions on it.
 *
 * Every view is derived from the profile through profile/tree.h: the flame
 * graph is one ig_tree built with the current filters and value, the top
 * table an ig_top.  The sandwich view is two more trees built from the
 * flame graph's own tree (viewer/treeprof.c): "callers" holds, for each
 * outermost occurrence of the function, its path to the root reversed;
 * "callees" the subtrees below it — so both honour the filters and a diff
 * carries over.  Changing a filter or the value rebuilds everything (the
 * table and sandwich on screen included); zoom and selection survive a
 * rebuild by the path of frame names from the root, which is also what
 * keeps a live `ignis top` flame graph steady while it refreshes.
 *
 * Navigation is geometric: left/right move to the neighbouring frame on the
 * same row, up/down to the parent or the widest visible child, so what the
 * keys do always matches what is on screen.  Search results are cached per
 * distinct name (20k names, not millions of nodes) and the matched share is
 * computed in one pass over the depth-first node array, counting a match
 * only when no ancestor already matched.
 */
#include "viewer/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "viewer/treeprof.h"

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

static ig_tree_opts tree_opts(const ig_viewer *v)
{
    ig_tree_opts o = {.value = v->value, .focus = v->focus, .ignore = v->ignore, .thread = v->thread};
    return o;
}

/* ---- paths of names (zoom and selection survive rebuilds) --------------- */

typedef struct name_path {
    char **names;
    int n;
} name_path;

static name_path path_of(const ig_tree *t, uint32_t node)
{
    name_path p = {0, 0};
    if (!t)
        return p;
    int depth = (int)ig_tree_node_at(t, node)->depth;
    p.names = ig_xcalloc((size_t)depth + 1, sizeof *p.names);
    for (uint32_t n = node; n != 0; n = ig_tree_node_at(t, n)->parent)
        p.names[--depth] = ig_xstrdup(ig_tree_name(t, ig_tree_node_at(t, n)->name));
    p.n = (int)ig_tree_node_at(t, node)->depth;
    return p;
}

static uint32_t find_path(const ig_tree *t, const name_path *p)
{
    uint32_t node = 0;
    for (int i = 0; i < p->n; i++) {
        uint32_t ch = ig_tree_node_at(t, node)->first_child;
        while (ch && strcmp(ig_tree_name(t, ig_tree_node_at(t, ch)->name), p->names[i]))
            ch = ig_tree_node_at(t, ch)->next_sibling;
        if (!ch)
            break;
        node = ch;
    }
    return node;
}

static void path_free(name_path *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->names[i]);
    free(p->names);
}

/* ---- building ----------------------------------------------------------- */

static void drop_derived(ig_viewer *v)
{
    ig_top_free(v->top);
    ig_tree_free(v->callers);
    ig_tree_free(v->callees);
    v->top = NULL;
    v->callers = v->callees = NULL;
    free(v->name_match);
    v->name_match = NULL;
    v->name_match_len = 0;
    v->layout_valid = 0;
}

static void compute_match_stats(ig_viewer *v);
static void compute_view_match(ig_viewer *v);

static ig_tree *build_tree(const ig_viewer *v, const ig_tree_opts *o, ig_err *err)
{
    ig_tree *t = ig_tree_build(v->profile, o, err);
    if (t && v->base && ig_tree_add_base(t, v->base, err) < 0) {
        ig_tree_free(t);
        return NULL;
    }
    return t;
}

static int ensure_top(ig_viewer *v);

/* After a rebuild, the table or sandwich on screen is built again. */
static void refresh_mode(ig_viewer *v)
{
    if (v->mode == IG_MODE_TOP || (v->mode != IG_MODE_FLAME && v->back_mode == IG_MODE_TOP))
        ensure_top(v);
    if (v->mode == IG_MODE_SANDWICH && v->sandwich_fn) {
        char *fn = ig_xstrdup(v->sandwich_fn);
        if (ig_viewer_show_sandwich(v, fn) < 0)
            v->mode = IG_MODE_FLAME;
        free(fn);
    }
}

static int rebuild(ig_viewer *v, ig_err *err)
{
    ig_tree_opts o = tree_opts(v);
    ig_tree *t = build_tree(v, &o, err);
    if (!t)
        return -1;
    name_path zp = path_of(v->tree, ig_viewer_zoom_node(v));
    name_path sp = path_of(v->tree, v->sel_pane == IG_PANE_MAIN ? v->sel : ig_viewer_zoom_node(v));
    ig_tree_free(v->tree);
    drop_derived(v);
    v->tree = t;
    uint32_t z = find_path(t, &zp);
    v->nzoom = 1;
    v->zoom[0] = 0;
    if (z != 0)
        v->zoom[v->nzoom++] = z;
    v->sel = find_path(t, &sp);
    if (v->sel < z || (v->sel != z && ig_tree_node_at(t, v->sel)->depth <= ig_tree_node_at(t, z)->depth))
        v->sel = z;
    v->sel_pane = IG_PANE_MAIN;
    path_free(&zp);
    path_free(&sp);
    compute_match_stats(v);
    refresh_mode(v);
    return 0;
}

ig_viewer *ig_viewer_new(const ignis_profile *p, const ignis_profile *base, const char *title, ig_err *err)
{
    ig_viewer *v = ig_xcalloc(1, sizeof *v);
    v->profile = p;
    v->base = base;
    v->title = ig_xstrdup(title ? title : "");
    v->value = ignis_profile_default_value(p);
    if (v->value < 0) {
        ig_err_set(err, "%s: profile has no sample values", v->title);
        ig_viewer_free(v);
        return NULL;
    }
    v->width = 80;
    v->height = 24;
    v->nzoom = 1;
    v->sort = IG_SORT_FLAT;
    if (rebuild(v, err) < 0) {
        ig_viewer_free(v);
        return NULL;
    }
    return v;
}

void ig_viewer_free(ig_viewer *v)
{
    if (!v)
        return;
    drop_derived(v);
    ig_tree_free(v->tree);
    ig_frames_free(&v->frames);
    if (v->has_search)
        regfree(&v->search_re);
    for (size_t i = 0; i < v->npick; i++)
        free(v->pick_items[i]);
    free(v->pick_items);
    free(v->search);
    free(v->focus);
    free(v->ignore);
    free(v->thread);
    free(v->sandwich_fn);
    free(v->title);
    free(v);
}

int ig_viewer_set_profile(ig_viewer *v, const ignis_profile *p, ig_err *err)
{
    const ignis_profile *old = v->profile;
    v->profile = p;
    if (rebuild(v, err) < 0) {
        v->profile = old;
        return -1;
    }
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
    return ig_tree_name(t, ig_tree_node_at(t, v->sel)->name);
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
                        .show_ancestors = 1};
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
                        .first_depth = (int)ig_tree_node_at(v->callers, cr)->depth};
    ig_layout_flame(&v->frames, &s);
    s = (ig_layout_spec){.tree = v->callees, .pane = IG_PANE_CALLEES, .zoom = ce, .width = v->width,
                         .row0 = up + 1, .dir = 1, .nrows = down,
                         .first_depth = (int)ig_tree_node_at(v->callees, ce)->depth};
    ig_layout_flame(&v->frames, &s);
}

void ig_viewer_settle(ig_viewer *v)
{
    /* Outside the sandwich view the selection lives in the flame graph
     * (help and pickers return to the view they were opened from). */
    ig_view_mode shown = v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK ? v->back_mode : v->mode;
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
    for (uint32_t ch = n->first_child; ch; ch = ig_tree_node_at(t, ch)->next_sibling)
        if (ig_tree_node_at(t, ch)->total > best_total) {
            best = ch;
            best_total = ig_tree_node_at(t, ch)->total;
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
    if (dir == IG_NAV_PARENT || dir == IG_NAV_CHILD)
        navigate_vertical(v, dir);
    else
        navigate_horizontal(v, dir);
}

void ig_viewer_zoom_in(ig_viewer *v)
{
    if (v->mode == IG_MODE_SANDWICH) {
        const char *name = ig_viewer_selected_name(v);
        char *fn = ig_xstrdup(name);
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
    v->layout_valid = 0;
    compute_view_match(v);
}

void ig_viewer_zoom_out(ig_viewer *v)
{
    if (v->mode == IG_MODE_SANDWICH || v->mode == IG_MODE_TOP || v->mode == IG_MODE_HELP ||
        v->mode == IG_MODE_PICK) {
        v->mode = v->mode == IG_MODE_SANDWICH && v->back_mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
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
    v->layout_valid = 0;
    compute_view_match(v);
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

/* The first node after node's subtree, within the subtree [from, to) of
 * `from`: the next sibling of node or of its nearest ancestor that has
 * one (the node array is in depth-first pre-order, profile/tree.h). */
static uint32_t after_subtree(const ig_tree_node *nodes, uint32_t node, uint32_t from, uint32_t to)
{
    for (uint32_t j = node;; j = nodes[j].parent) {
        if (j == from)
            return to;
        if (nodes[j].next_sibling)
            return nodes[j].next_sibling;
    }
}

/* Sum of totals of matched nodes in the subtree [from, to) of `from` not
 * below another match.  A match covers its whole subtree, which is skipped
 * unread, so a search that matches often touches few nodes. */
static int64_t matched_sum(ig_viewer *v, uint32_t from, uint32_t to)
{
    const ig_tree_node *nodes = ig_tree_node_at(v->tree, 0);
    int64_t sum = 0;
    for (uint32_t i = from; i < to;) {
        const ig_tree_node *n = &nodes[i];
        int m = n->name < v->name_match_len ? v->name_match[n->name] : -1;
        if (m < 0)
            m = name_matches(v, n->name);
        if (!m) {
            i++;
            continue;
        }
        sum += n->total;
        i = after_subtree(nodes, i, from, to);
    }
    return sum;
}

/* End (exclusive) of the subtree of node in depth-first order. */
static uint32_t subtree_end(const ig_tree *t, uint32_t node)
{
    const ig_tree_node *nodes = ig_tree_node_at(t, 0);
    size_t n = ig_tree_size(t);
    uint32_t depth = nodes[node].depth;
    uint32_t i = node + 1;
    while (i < n && nodes[i].depth > depth)
        i++;
    return i;
}

/* The share of the zoom that matches; the share of the whole is kept
 * from the last search (zooming does not change it). */
static void compute_view_match(ig_viewer *v)
{
    uint32_t z = ig_viewer_zoom_node(v);
    if (!v->has_search || !v->tree || z == 0) {
        v->match_view = v->match_total;
        return;
    }
    uint32_t end = subtree_end(v->tree, z);
    int64_t ztotal = ig_tree_node_at(v->tree, z)->total;
    v->match_view = ztotal > 0 ? (double)matched_sum(v, z, end) / (double)ztotal : 0;
}

static void compute_match_stats(ig_viewer *v)
{
    v->match_total = v->match_view = 0;
    if (!v->has_search || !v->tree)
        return;
    size_t n = ig_tree_size(v->tree);
    int64_t total = ig_tree_node_at(v->tree, 0)->total;
    v->match_total = total > 0 ? (double)matched_sum(v, 0, (uint32_t)n) / (double)total : 0;
    compute_view_match(v);
}

int ig_viewer_set_search(ig_viewer *v, const char *regex)
{
    if (v->has_search)
        regfree(&v->search_re);
    v->has_search = 0;
    free(v->search);
    v->search = NULL;
    free(v->name_match);
    v->name_match = NULL;
    v->name_match_len = 0;
    v->layout_valid = 0;
    v->match_total = v->match_view = 0;
    if (!regex || !*regex)
        return 0;
    int rc = regcomp(&v->search_re, regex, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char buf[128];
        regerror(rc, &v->search_re, buf, sizeof buf);
        ig_viewer_message(v, 1, "search: invalid regular expression '%s': %s", regex, buf);
        return -1;
    }
    v->has_search = 1;
    v->search = ig_xstrdup(regex);
    compute_match_stats(v);
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
    if (!v->has_search)
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

/* ---- filters and values --------------------------------------------------- */

static char **filter_slot(ig_viewer *v, char which)
{
    return which == 'f' ? &v->focus : which == 'x' ? &v->ignore : which == 'T' ? &v->thread : NULL;
}

int ig_viewer_set_filter(ig_viewer *v, char which, const char *regex)
{
    char **slot = filter_slot(v, which);
    if (!slot)
        return -1;
    char *old = *slot;
    *slot = regex && *regex ? ig_xstrdup(regex) : NULL;
    ig_err err;
    if (rebuild(v, &err) < 0) {
        free(*slot);
        *slot = old;
        ig_viewer_message(v, 1, "%s", err.msg);
        return -1;
    }
    free(old);
    const char *what = which == 'f' ? "focus" : which == 'x' ? "ignore" : "thread";
    if (*slot)
        ig_viewer_message(v, 0, "%s: %s", what, *slot);
    else
        ig_viewer_message(v, 0, "%s filter cleared", what);
    return 0;
}

int ig_viewer_set_value(ig_viewer *v, int value)
{
    if (value < 0 || (size_t)value >= ignis_profile_num_values(v->profile))
        return -1;
    int old = v->value;
    v->value = value;
    ig_err err;
    if (rebuild(v, &err) < 0) {
        v->value = old;
        ig_viewer_message(v, 1, "%s", err.msg);
        return -1;
    }
    ig_viewer_message(v, 0, "showing %s", ig_tree_value_type(v->tree));
    return 0;
}

/* ---- top table ------------------------------------------------------------ */

static int ensure_top(ig_viewer *v)
{
    if (v->top)
        return 0;
    ig_tree_opts o = tree_opts(v);
    ig_err err;
    v->top = ig_top_build(v->profile, &o, v->sort, &err);
    if (v->top && v->base && ig_top_add_base(v->top, v->base, v->sort, &err) < 0) {
        ig_top_free(v->top);
        v->top = NULL;
    }
    if (!v->top) {
        ig_viewer_message(v, 1, "%s", err.msg);
        return -1;
    }
    if (v->top_sel >= ig_top_rows(v->top))
        v->top_sel = 0;
    return 0;
}

void ig_viewer_show_top(ig_viewer *v)
{
    if (ensure_top(v) < 0)
        return;
    v->mode = IG_MODE_TOP;
    v->layout_valid = 0;
}

void ig_viewer_set_sort(ig_viewer *v, ig_top_sort sort)
{
    if (v->sort == sort && v->top)
        return;
    v->sort = sort;
    ig_top_free(v->top);
    v->top = NULL;
    v->top_sel = v->top_scroll = 0;
    ensure_top(v);
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

/* ---- sandwich ------------------------------------------------------------ */

/* Builds a sandwich tree from a profile of tree paths (and its base side). */
static ig_tree *sandwich_tree(const ig_viewer *v, ignis_profile *p, ignis_profile *base, ig_err *err)
{
    ig_tree_opts o = {.value = 0};
    ig_tree *t = ig_tree_build(p, &o, err);
    if (t && v->base && ig_tree_add_base(t, base, err) < 0) {
        ig_tree_free(t);
        t = NULL;
    }
    return t;
}

int ig_viewer_show_sandwich(ig_viewer *v, const char *function)
{
    ignis_profile *up, *down, *bup = NULL, *bdown = NULL;
    ig_sandwich_profiles(v->tree, function, 0, &up, &down);
    if (v->base)
        ig_sandwich_profiles(v->tree, function, 1, &bup, &bdown);
    ig_err err;
    ig_tree *callers = sandwich_tree(v, up, bup, &err);
    ig_tree *callees = callers ? sandwich_tree(v, down, bdown, &err) : NULL;
    ignis_profile_free(up);
    ignis_profile_free(down);
    ignis_profile_free(bup);
    ignis_profile_free(bdown);
    if (!callees) {
        ig_tree_free(callers);
        ig_viewer_message(v, 1, "%s", err.msg);
        return -1;
    }
    ig_tree_free(v->callers);
    ig_tree_free(v->callees);
    v->callers = callers;
    v->callees = callees;
    free(v->sandwich_fn);
    v->sandwich_fn = ig_xstrdup(function);
    if (v->mode != IG_MODE_SANDWICH)
        v->back_mode = v->mode;
    v->mode = IG_MODE_SANDWICH;
    v->sel_pane = IG_PANE_CALLEES;
    v->sel = pane_root(callees);
    v->layout_valid = 0;
    return 0;
}
