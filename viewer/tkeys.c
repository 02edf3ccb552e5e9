/*
 * viewer/tkeys.c — what each key and mouse click does in the trace views.
 *
 * The same conventions as the profile viewer (viewer/keys.c): arrows or
 * h j k l move, Enter opens, Esc and Backspace go back, / n N search,
 * ? help, q quit, 'o' changes the sort order, F the span's flame graph
 * (viewer/tflame.c, which then gets every key until its q); prompts edit one line like
 * a shell (viewer/prompt.h, the same editor as the profile views, with a
 * history per prompt); a picker is a list moved with up/down.  Keys that only
 * mean something on one page are looked up per page after the common
 * ones.  Clicks use the geometry the renderer uses (ig_tview_column_at,
 * ig_tview_name_width, ig_tview_hist_cells), so a click always lands on
 * what is drawn under it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "viewer/tmodel.h"

/* ---- prompts ------------------------------------------------------------------------ */

static void prompt_begin(ig_tview *v, ig_tprompt kind, const char *initial)
{
    v->prompt = kind;
    ig_line_edit_begin(&v->edit, initial, &v->history[kind]);
}

static void prompt_submit(ig_tview *v)
{
    ig_tprompt kind = v->prompt;
    v->prompt = IG_TPROMPT_NONE;
    ig_history_add(&v->history[kind], v->edit.text);
    const char *input = v->edit.text;
    switch (kind) {
    case IG_TPROMPT_SEARCH:
        if (ig_tview_set_search(v, input) == 0 && v->has_search)
            ig_tview_next_match(v, 1);
        break;
    case IG_TPROMPT_NAME: ig_tview_filter_name(v, input); break;
    case IG_TPROMPT_ATTR: ig_tview_filter_attr(v, input); break;
    case IG_TPROMPT_DURATION: ig_tview_filter_duration(v, input); break;
    default: break;
    }
}

static void begin_duration_prompt(ig_tview *v, const ig_tfilter *f)
{
    char lo[32] = "", hi[32] = "", buf[80] = "";
    if (f->min_duration_ns)
        ig_format_duration(f->min_duration_ns, lo, sizeof lo);
    if (f->max_duration_ns)
        ig_format_duration(f->max_duration_ns, hi, sizeof hi);
    if (*lo || *hi)
        snprintf(buf, sizeof buf, "%s..%s", lo, hi);
    prompt_begin(v, IG_TPROMPT_DURATION, buf);
}

static void begin_attr_prompt(ig_tview *v, const ig_tfilter *f)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    if (f->attr_key)
        ig_sb_printf(&sb, "%s=%s", f->attr_key, f->attr_value ? f->attr_value : "");
    prompt_begin(v, IG_TPROMPT_ATTR, sb.data);
    ig_sb_free(&sb);
}

/* ---- the service picker ----------------------------------------------------------------- */

static void pick_clear(ig_tview *v)
{
    for (size_t i = 0; i < v->npick; i++)
        free(v->pick_items[i]);
    free(v->pick_items);
    v->pick_items = NULL;
    v->npick = v->pick_sel = 0;
}

static void pick_begin(ig_tview *v, const ig_tlist *l)
{
    char **names;
    size_t n;
    ig_err err;
    if (ig_store_services(v->store, &names, &n, &err) < 0) {
        ig_tview_message(v, 1, "%s", err.msg);
        return;
    }
    pick_clear(v);
    v->pick_items = ig_xmalloc((n + 1) * sizeof *v->pick_items);
    v->pick_items[v->npick++] = ig_xstrdup("(all services)");
    for (size_t i = 0; i < n; i++) {
        if (l->filter.service && !strcmp(l->filter.service, names[i]))
            v->pick_sel = v->npick;
        v->pick_items[v->npick++] = ig_xstrdup(names[i]);
    }
    free(names);
}

static void pick_key(ig_tview *v, int key)
{
    if ((key == IG_KEY_UP || key == 'k') && v->pick_sel > 0) {
        v->pick_sel--;
    } else if ((key == IG_KEY_DOWN || key == 'j') && v->pick_sel + 1 < v->npick) {
        v->pick_sel++;
    } else if (key == IG_KEY_PGUP || key == IG_KEY_HOME) {
        v->pick_sel = 0;
    } else if (key == IG_KEY_PGDN || key == IG_KEY_END) {
        v->pick_sel = v->npick - 1;
    } else if (key == IG_KEY_ENTER || key == '\r') {
        char *chosen = v->pick_sel ? ig_xstrdup(v->pick_items[v->pick_sel]) : NULL;
        pick_clear(v);
        ig_tview_filter_service(v, chosen);
        free(chosen);
    } else if (key == IG_KEY_ESC || key == IG_KEY_BACKSPACE || key == 'q') {
        pick_clear(v);
    }
}

/* ---- pages -------------------------------------------------------------------------------- */

/* Moves common to every page; returns 1 when the key was a move. */
static int move_key(ig_tview *v, int key)
{
    long page = v->height > 6 ? v->height - 4 : 1;
    switch (key) {
    case IG_KEY_UP: case 'k': ig_tview_move(v, -1); return 1;
    case IG_KEY_DOWN: case 'j': ig_tview_move(v, 1); return 1;
    case IG_KEY_PGUP: ig_tview_move(v, -page); return 1;
    case IG_KEY_PGDN: ig_tview_move(v, page); return 1;
    case IG_KEY_HOME: ig_tview_move(v, LONG_MIN); return 1;
    case IG_KEY_END: ig_tview_move(v, LONG_MAX); return 1;
    default: return 0;
    }
}

/* Numbers and text sort the natural way first: biggest / newest first,
 * names from A. */
static bool default_desc(ig_tpage_kind kind, int column)
{
    if (kind == IG_TP_OPS)
        return column != IG_OCOL_SERVICE && column != IG_OCOL_NAME;
    return column != IG_TCOL_SERVICE && column != IG_TCOL_NAME;
}

/* Sorts by column; the column already sorted by is reversed. */
static void sort_by(ig_tview *v, int column)
{
    ig_tpage *p = ig_tview_page(v);
    int cur = p->kind == IG_TP_OPS ? p->ops.sort : p->list.sort;
    bool desc = p->kind == IG_TP_OPS ? p->ops.desc : p->list.desc;
    ig_tview_set_sort(v, column, column == cur ? !desc : default_desc(p->kind, column));
}

static void sort_key(ig_tview *v, int key)
{
    ig_tpage *p = ig_tview_page(v);
    int n = p->kind == IG_TP_OPS ? IG_OCOLS - 1 : IG_TCOLS; /* the sparkline does not sort */
    int cur = p->kind == IG_TP_OPS ? p->ops.sort : p->list.sort;
    bool desc = p->kind == IG_TP_OPS ? p->ops.desc : p->list.desc;
    if (key == 'o')
        ig_tview_set_sort(v, (cur + 1) % n, default_desc(p->kind, (cur + 1) % n));
    else if (key == 'O')
        ig_tview_set_sort(v, cur, !desc);
    else if (key >= '1' && key < '1' + n)
        sort_by(v, key - '1');
}

static void list_key(ig_tview *v, ig_tlist *l, int key)
{
    switch (key) {
    case IG_KEY_ENTER: case '\r': ig_tview_open(v); break;
    case 'o': case 'O': case '1': case '2': case '3': case '4': case '5': case '6': sort_key(v, key); break;
    case 's': pick_begin(v, l); break;
    case 'f': prompt_begin(v, IG_TPROMPT_NAME, l->filter.name_regex); break;
    case 'a': begin_attr_prompt(v, &l->filter); break;
    case 'd': begin_duration_prompt(v, &l->filter); break;
    case 'e': ig_tview_filter_errors(v, !l->filter.errors_only); break;
    case 'c': ig_tview_filter_clear(v); break;
    default: break;
    }
}

static void trace_key(ig_tview *v, ig_ttrace *t, int key)
{
    switch (key) {
    case IG_KEY_ENTER: case '\r': ig_tview_open(v); break;
    case IG_KEY_LEFT: case 'h': {
        int32_t s = ig_tview_selected_span(v);
        if (s >= 0 && t->wf.nodes[s].nchildren && !(t->wf.nodes[s].flags & IG_WF_COLLAPSED))
            ig_tview_collapse(v, 1);
        else if (s >= 0 && t->wf.nodes[s].parent >= 0)
            ig_tview_select_span(v, t->wf.nodes[s].parent);
        break;
    }
    case IG_KEY_RIGHT: case 'l': {
        int32_t s = ig_tview_selected_span(v);
        if (s >= 0 && (t->wf.nodes[s].flags & IG_WF_COLLAPSED))
            ig_tview_collapse(v, 0);
        else if (s >= 0 && t->wf.nodes[s].first_child >= 0)
            ig_tview_select_span(v, t->wf.nodes[s].first_child);
        break;
    }
    case ' ': ig_tview_collapse(v, -1); break;
    case 'E': {
        int32_t s = ig_tview_selected_span(v);
        ig_waterfall_expand_all(&t->wf);
        ig_tview_select_span(v, s);
        break;
    }
    case 'z': ig_tview_zoom_span(v); break;
    case '+': case '=': ig_tview_zoom(v, 1); break;
    case '-': ig_tview_zoom(v, 0); break;
    case '<': case ',': ig_tview_pan(v, -1); break;
    case '>': case '.': ig_tview_pan(v, 1); break;
    case '0': t->nzoom = 1; break;
    case 'c': t->no_critical = !t->no_critical; break;
    default: break;
    }
}

static void ops_key(ig_tview *v, int key)
{
    if (key == IG_KEY_ENTER || key == '\r')
        ig_tview_open(v);
    else
        sort_key(v, key);
}

static void hist_key(ig_tview *v, int key)
{
    switch (key) {
    case IG_KEY_LEFT: case 'h': case IG_KEY_UP: case 'k': ig_tview_move(v, -1); break;
    case IG_KEY_RIGHT: case 'l': case IG_KEY_DOWN: case 'j': ig_tview_move(v, 1); break;
    case IG_KEY_HOME: ig_tview_move(v, LONG_MIN); break;
    case IG_KEY_END: ig_tview_move(v, LONG_MAX); break;
    case IG_KEY_ENTER: case '\r': ig_tview_open(v); break;
    default: break;
    }
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

/* Keys every page shares; returns 1 when the key was one of them. */
static int common_key(ig_tview *v, int key)
{
    switch (key) {
    case 'q': v->quit = 1; return 1;
    case '?': v->help = 1; return 1;
    case IG_KEY_ESC: case IG_KEY_BACKSPACE: case 8: ig_tview_back(v); return 1;
    case '/': prompt_begin(v, IG_TPROMPT_SEARCH, NULL); return 1;
    case 'n': ig_tview_next_match(v, 1); return 1;
    case 'N': ig_tview_next_match(v, -1); return 1;
    case 't':
        while (v->npages > 1)
            ig_tview_back(v);
        return 1;
    case 'p': /* back to the operations when they are open below, else open them */
        for (int i = v->npages - 1; i >= 0; i--)
            if (v->pages[i]->kind == IG_TP_OPS) {
                while (ig_tview_page(v)->kind != IG_TP_OPS)
                    ig_tview_back(v);
                return 1;
            }
        ig_tview_open_operations(v);
        return 1;
    case 'r': ig_tview_refresh(v); return 1;
    case 'F': ig_tview_open_flame(v); return 1;
    default: return 0;
    }
}

void ig_tview_key(ig_tview *v, int key)
{
    if (v->flame) {
        ig_tflame_key(v, key);
        return;
    }
    if (v->prompt != IG_TPROMPT_NONE) {
        int done = ig_line_edit_key(&v->edit, &v->history[v->prompt], key);
        if (done == IG_EDIT_SUBMIT)
            prompt_submit(v);
        else if (done == IG_EDIT_CANCEL)
            v->prompt = IG_TPROMPT_NONE;
        return;
    }
    v->message[0] = 0;
    if (v->help) { /* any key closes the help; q too, as in the profile views */
        v->help = 0;
        return;
    }
    if (v->npick) {
        pick_key(v, key);
        return;
    }
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_HIST) { /* left/right pick a bucket, before the common keys */
        hist_key(v, key);
        if (key != 'h' && key != 'l' && key != 'k' && key != 'j')
            common_key(v, key);
        return;
    }
    if (common_key(v, key) || move_key(v, key))
        return;
    switch (p->kind) {
    case IG_TP_LIST: list_key(v, &p->list, key); break;
    case IG_TP_TRACE: trace_key(v, &p->trace, key); break;
    case IG_TP_SPAN:
        if (key == IG_KEY_ENTER || key == '\r')
            ig_tview_open(v);
        break;
    case IG_TP_OPS: ops_key(v, key); break;
    case IG_TP_HIST: break;
    }
}

/* ---- mouse ------------------------------------------------------------------------------------------ */

static void click_table(ig_tview *v, size_t *sel, size_t scroll, size_t n, int row, int dbl)
{
    size_t i = scroll + (size_t)(row - 2);
    if (row < 2 || row >= v->height - 2 || i >= n)
        return;
    *sel = i;
    if (dbl)
        ig_tview_open(v);
}

static void click_trace(ig_tview *v, ig_ttrace *t, int row, int col, int dbl)
{
    size_t i = t->scroll + (size_t)(row - 2);
    if (row < 2 || row >= v->height - 2 || i >= t->wf.nrows)
        return;
    t->sel = i;
    uint32_t s = t->wf.rows[i];
    int marker = ig_tview_indent(ig_tview_name_width(v->width), t->wf.nodes[s].depth);
    if (col == marker && t->wf.nodes[s].nchildren)
        ig_tview_collapse(v, -1);
    else if (dbl)
        ig_tview_open(v);
}

static void click_hist(ig_tview *v, ig_thist *h, int row, int col, int dbl)
{
    int x0, bw;
    ig_tview_hist_cells(v, &x0, &bw);
    if (row < 2 || row >= v->height - 2 || col < x0 || bw <= 0)
        return;
    size_t b = (size_t)((col - x0) / bw);
    if (b >= h->nb)
        return;
    h->sel = b;
    if (dbl)
        ig_tview_open(v);
}

void ig_tview_click(ig_tview *v, int row, int col, int dbl)
{
    if (v->flame) {
        ig_tflame_click(v, row, col, dbl);
        return;
    }
    if (v->prompt != IG_TPROMPT_NONE || v->help || v->npick)
        return;
    v->message[0] = 0;
    ig_tpage *p = ig_tview_page(v);
    switch (p->kind) {
    case IG_TP_LIST:
        if (row == 1) {
            int c = ig_tview_column_at(ig_tview_list_columns(), IG_TCOLS, v->width, col);
            if (c >= 0)
                sort_by(v, c);
            return;
        }
        click_table(v, &p->list.sel, p->list.scroll, p->list.total, row, dbl);
        ig_tview_move(v, 0); /* fetch rows if the click landed outside the window */
        break;
    case IG_TP_TRACE: click_trace(v, &p->trace, row, col, dbl); break;
    case IG_TP_SPAN: click_table(v, &p->span.sel, p->span.scroll, p->span.nlines, row, dbl); break;
    case IG_TP_OPS:
        if (row == 1) {
            int c = ig_tview_column_at(ig_tview_ops_columns(), IG_OCOLS, v->width, col);
            if (c >= 0 && c < IG_OCOL_HIST)
                sort_by(v, c);
            return;
        }
        click_table(v, &p->ops.sel, p->ops.scroll, p->ops.ops.n, row, dbl);
        break;
    case IG_TP_HIST: click_hist(v, &p->hist, row, col, dbl); break;
    }
}
