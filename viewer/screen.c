/*
 * viewer/screen.c — renders the viewer model into a grid of styled cells.
 *
 * Screen layout, whatever the mode:
 *   row 0        header: file, value type, total, active filters
 *   rows 1..h-3  the flame graph, sandwich, top table, source, help, a
 *                picker, the command's output, or the loading progress
 *   row h-2      status: the selected frame's numbers first (total, self,
 *                shares of the zoom and of all), then its name cut to fit,
 *                then its module and file:line
 *   row h-1      prompt, progress of long work, message, search result or
 *                key hints
 * Frames are drawn with their name truncated to their width (an ellipsis
 * marks the cut); search matches and zoom ancestors are overlays on the
 * frame's own colour; the selection is a colour of its own, except in a
 * diff, where the frame keeps its diff colour and is shown in reverse
 * video between brackets.  Nothing here knows about curses.
 */
#include "viewer/screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/truncated.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"
#include "viewer/tasks.h"

void ig_screen_init(ig_screen *s, int w, int h, int utf8)
{
    s->w = w > 0 ? w : 1;
    s->h = h > 0 ? h : 1;
    s->utf8 = utf8;
    s->cells = ig_xcalloc((size_t)s->w * (size_t)s->h, sizeof *s->cells);
    ig_screen_clear(s);
}

void ig_screen_free(ig_screen *s)
{
    free(s->cells);
    s->cells = NULL;
}

void ig_screen_clear(ig_screen *s)
{
    for (int i = 0; i < s->w * s->h; i++)
        s->cells[i] = (ig_cell){' ', IG_ST_NORMAL, 0};
}

ig_cell *ig_screen_cell(ig_screen *s, int row, int col)
{
    if (row < 0 || row >= s->h || col < 0 || col >= s->w)
        return NULL;
    return &s->cells[(size_t)row * (size_t)s->w + (size_t)col];
}

static uint32_t drawable(const ig_screen *s, uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7f)
        return '?';
    if (cp >= 0x80 && !s->utf8)
        return '?';
    return cp;
}

int ig_screen_text(ig_screen *s, int row, int col, int maxcols, uint8_t style, const char *text)
{
    int limit = s->w - col;
    if (maxcols >= 0 && maxcols < limit)
        limit = maxcols;
    int n = 0;
    while (*text && n < limit) {
        uint32_t cp;
        text += ig_utf8_decode(text, &cp);
        ig_cell *c = ig_screen_cell(s, row, col + n);
        if (c)
            *c = (ig_cell){drawable(s, cp), style, 0};
        n++;
    }
    return n;
}

void ig_screen_fill(ig_screen *s, int row, int col, int n, uint32_t ch, uint8_t style)
{
    for (int i = 0; i < n; i++) {
        ig_cell *c = ig_screen_cell(s, row, col + i);
        if (c)
            *c = (ig_cell){drawable(s, ch), style, 0};
    }
}

void ig_screen_attr(ig_screen *s, int row, int col, int n, uint8_t attr)
{
    for (int i = 0; i < n; i++) {
        ig_cell *c = ig_screen_cell(s, row, col + i);
        if (c)
            c->attr |= attr;
    }
}

char *ig_screen_row(const ig_screen *s, int row)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    for (int c = 0; c < s->w; c++) {
        uint32_t cp = s->cells[(size_t)row * (size_t)s->w + (size_t)c].ch;
        char b[4];
        if (cp < 0x80) {
            ig_sb_putc(&sb, (char)cp);
        } else if (cp < 0x800) {
            b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f));
            ig_sb_append(&sb, b, 2);
        } else if (cp < 0x10000) {
            b[0] = (char)(0xe0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            b[2] = (char)(0x80 | (cp & 0x3f));
            ig_sb_append(&sb, b, 3);
        } else {
            b[0] = (char)(0xf0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f));
            ig_sb_append(&sb, b, 4);
        }
    }
    if (!sb.data)
        ig_sb_puts(&sb, "");
    return ig_sb_detach(&sb, NULL);
}

/* ---- helpers ------------------------------------------------------------- */

/* part's share of whole, pprof's rule (utils/percent.h): never negative,
 * 0 when whole is not positive. */
static double pct(int64_t part, int64_t whole) { return ig_percent(part, whole); }

static void fmt_value(const char *unit, int64_t v, char *buf, size_t len)
{
    ig_format_value(v, unit ? unit : "", buf, len);
}

/* A node's name as shown (C++ names folded unless F was pressed). */
static const char *node_label(const ig_viewer *v, const ig_tree *t, uint32_t node, char *buf, size_t len)
{
    const char *name = ig_tree_name(t, ig_tree_node_at(t, node)->name);
    return *name ? ig_viewer_display_name(v, name, buf, len) : "all";
}

static int cols(const char *s)
{
    return (int)ig_utf8_len(s);
}

/* The last `n` columns of s (a file path cut from the left). */
static const char *tail_cols(const char *s, int n)
{
    int len = cols(s);
    while (len > n && *s) {
        uint32_t cp;
        s += ig_utf8_decode(s, &cp);
        len--;
    }
    return s;
}

/* Writes text into at most width columns, with an ellipsis when cut. */
static int text_cut(ig_screen *s, int row, int col, int width, uint8_t style, const char *text)
{
    if (width <= 0)
        return 0;
    int ell;
    size_t bytes = ig_layout_fit(text, width, &ell);
    char buf[1024];
    if (bytes >= sizeof buf)
        bytes = sizeof buf - 1;
    memcpy(buf, text, bytes);
    buf[bytes] = 0;
    int n = ig_screen_text(s, row, col, width, style, buf);
    if (ell)
        ig_screen_fill(s, row, col + n++, 1, s->utf8 ? 0x2026 : '~', style);
    return n;
}

/* ---- prompt ------------------------------------------------------------- */

void ig_screen_prompt(ig_screen *s, int row, const char *label, const ig_line_edit *e)
{
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_NORMAL);
    int lc = cols(label);
    int x = ig_screen_text(s, row, 0, -1, IG_ST_PROMPT, label);
    int room = s->w - x - 1; /* one cell for the cursor at the end */
    if (room < 1)
        return;
    /* scroll so the cursor is on screen: skip code points from the start */
    int before = (int)ig_line_edit_columns(e->text, e->cursor);
    size_t skip = 0;
    for (int over = before - room + 1; over > 0; over--) {
        uint32_t cp;
        skip += (size_t)ig_utf8_decode(e->text + skip, &cp);
    }
    (void)lc;
    int col = x;
    size_t i = skip;
    while (e->text[i] && col < s->w) {
        uint32_t cp;
        int n = ig_utf8_decode(e->text + i, &cp);
        char one[5] = {0};
        memcpy(one, e->text + i, (size_t)n);
        ig_screen_text(s, row, col, 1, IG_ST_PROMPT, one);
        if (e->selected || i == e->cursor)
            ig_screen_attr(s, row, col, 1, IG_ATTR_REVERSE);
        i += (size_t)n;
        col++;
    }
    if (e->cursor >= e->len && col < s->w) {
        ig_screen_fill(s, row, col, 1, ' ', IG_ST_PROMPT);
        ig_screen_attr(s, row, col, 1, IG_ATTR_REVERSE);
    }
}

/* ---- header and footer ----------------------------------------------------- */

static const char *gran_name(ig_granularity g)
{
    static const char *const names[] = {"", "by line", "by file", "by module", "by address"};
    return names[g];
}

/* The command line's filters that no key changes (--hide, --tagfocus, ...). */
static void fixed_filters(ig_strbuf *sb, const ig_tree_opts *f)
{
    const char *const names[] = {"show_from", "hide", "show", "prune_from"};
    const char *const values[] = {f->root, f->hide, f->show, f->prune_from};
    for (int i = 0; i < 4; i++)
        if (values[i])
            ig_sb_printf(sb, " | %s=%s", names[i], values[i]);
    for (const char *const *t = f->tagfocus; t && *t; t++)
        ig_sb_printf(sb, " | tagfocus=%s", *t);
    for (const char *const *t = f->tagignore; t && *t; t++)
        ig_sb_printf(sb, " | tagignore=%s", *t);
}

static void draw_header(ig_viewer *v, ig_screen *s)
{
    ig_screen_fill(s, 0, 0, s->w, ' ', IG_ST_HEADER);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, " ignis %s %s", v->app ? v->app : v->base ? "diff" : "view", v->title);
    if (v->tree) {
        char total[48];
        fmt_value(ig_tree_value_unit(v->tree), ig_tree_total(v->tree), total, sizeof total);
        ig_sb_printf(&sb, " | %s | total %s", ig_tree_value_type(v->tree), total);
        if (v->base) { /* a diff: the base and its total */
            fmt_value(ig_tree_value_unit(v->tree), ig_tree_node_at(v->tree, 0)->base_total, total, sizeof total);
            ig_sb_printf(&sb, " | base %s%stotal %s", v->load && v->load->base_path ? v->load->base_path : "",
                         v->load && v->load->base_path ? " " : "", total);
        }
        double truncated = v->profile && v->value >= 0 ? ig_truncated_percent_cached(v->profile, (size_t)v->value) : 0.0;
        if (truncated > 0)
            ig_sb_printf(&sb, " | truncated %.1f%%", truncated);
        if (v->built.gran)
            ig_sb_printf(&sb, " | %s", gran_name(v->built.gran));
        if (v->built.focus)
            ig_sb_printf(&sb, " | focus=%s", v->built.focus);
        if (v->built.ignore)
            ig_sb_printf(&sb, " | ignore=%s", v->built.ignore);
        if (v->built.thread)
            ig_sb_printf(&sb, " | thread=%s", v->built.thread);
        if (v->fixed)
            fixed_filters(&sb, v->fixed);
        int64_t kept = ig_tree_pct_total_kept(v->tree), all = ig_tree_pct_total_all(v->tree);
        if (kept != all) /* the share the filters kept (of absolute values, as percentages) */
            ig_sb_printf(&sb, " | kept %.2f%%", pct(kept, all));
        if (v->nzoom > 1)
            ig_sb_printf(&sb, " | zoom %d", v->nzoom - 1);
        if (v->mode == IG_MODE_FLAME) {
            const ig_frames *f = ig_viewer_layout(v);
            if (v->scroll > 0 || f->clipped)
                ig_sb_printf(&sb, " | depth %d-%d%s", v->scroll, v->scroll + s->h - 4, f->clipped ? "+" : "");
        }
    }
    ig_screen_text(s, 0, 0, s->w - 7, IG_ST_HEADER, sb.data);
    ig_screen_text(s, 0, s->w - 7, 7, IG_ST_HEADER, " ? help");
    ig_sb_free(&sb);
}

/* The numbers of a frame: total and self with their shares.  Shares are
 * of the zoom when zoomed (the zoom's ancestors contain it: they get no
 * share of it) or of the pane, and of the whole profile. */
static void frame_numbers(ig_viewer *v, const ig_tree *t, const ig_tree_node *n, int compact, ig_strbuf *sb)
{
    const char *unit = ig_tree_value_unit(t);
    int64_t whole = ig_tree_pct_total(v->tree); /* of the whole profile, as pprof, filters or not */
    /* with --relative-percentages, of what the filters kept */
    const char *all = whole != ig_tree_pct_total_all(v->tree) ? "kept" : "all";
    char self[48], total[48];
    fmt_value(unit, n->self, self, sizeof self);
    fmt_value(unit, n->total, total, sizeof total);
    uint32_t z = ig_viewer_zoom_node(v);
    int main_pane = v->sel_pane == IG_PANE_MAIN;
    int zoomed = main_pane ? z != 0 : 1;
    int64_t base = main_pane ? ig_tree_node_at(t, z)->total : ig_tree_node_at(t, 0)->total;
    const char *of = main_pane ? "zoom" : "pane";
    int outside = main_pane && zoomed && n->depth < ig_tree_node_at(t, z)->depth; /* an ancestor of the zoom */
    if (!zoomed && compact)
        ig_sb_printf(sb, "total %s (%.2f%%) | self %s (%.2f%%)", total, pct(n->total, whole), self,
                     pct(n->self, whole));
    else if (!zoomed)
        ig_sb_printf(sb, "total %s (%.2f%% of %s) | self %s (%.2f%%)", total, pct(n->total, whole), all, self,
                     pct(n->self, whole));
    else if (outside)
        ig_sb_printf(sb, compact ? "total %s (>%s, %.2f%% %s) | self %s (%.2f%% %s)"
                                 : "total %s (contains the %s, %.2f%% of %s) | self %s (%.2f%% of %s)",
                     total, of, pct(n->total, whole), all, self, pct(n->self, whole), all);
    else
        ig_sb_printf(sb, compact ? "total %s (%.2f%% %s, %.2f%% %s) | self %s (%.2f%% %s)"
                                 : "total %s (%.2f%% of %s, %.2f%% of %s) | self %s (%.2f%% of %s)",
                     total, pct(n->total, base), of, pct(n->total, whole), all, self, pct(n->self, base), of);
    if (ig_tree_is_diff(t)) {
        /* shares of the two profiles' percentage bases, signed as the change */
        double now = pct(n->total, whole), was = pct(n->base_total, ig_tree_base_pct_total(v->tree));
        ig_sb_printf(sb, compact ? " | %+.2f%% (base %.2f%%)" : " | diff %+.2f%% (base %.2f%%)", now - was, was);
        if (ig_tree_node_removed(t, n))
            ig_sb_puts(sb, compact ? " | removed" : " | removed: only in the base");
    }
}

/* Module and file:line of a frame (each "" when unknown). */
static void frame_location(ig_viewer *v, const ig_tree *t, const ig_tree_node *n, ig_strbuf *mod, ig_strbuf *file)
{
    uint32_t module = ig_tree_node_module(t, n);
    if (module && !(t == v->tree && v->built.gran == IG_GRAN_MODULE))
        ig_sb_puts(mod, ig_tree_name(t, module));
    if (t != v->tree || v->built.gran == IG_GRAN_FILE)
        return;
    ig_frame_source fs = ig_tree_frame_source(t, n->name);
    if (*fs.file) {
        ig_sb_puts(file, fs.file);
        if (fs.line > 0)
            ig_sb_printf(file, ":%lld", (long long)fs.line);
    }
}

/* The numbers, " | " the name cut to fit, " | " module and file (the
 * file cut from the left: its end names it best). */
static void draw_frame_status(ig_viewer *v, ig_screen *s, int row)
{
    const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
    const ig_tree_node *n = ig_tree_node_at(t, v->sel);
    ig_strbuf nums = IG_STRBUF_INIT, mod = IG_STRBUF_INIT, file = IG_STRBUF_INIT;
    frame_numbers(v, t, n, 0, &nums);
    if (cols(nums.data) + 24 > s->w) {
        ig_sb_reset(&nums);
        frame_numbers(v, t, n, 1, &nums);
    }
    frame_location(v, t, n, &mod, &file);
    char buf[1024];
    const char *name = node_label(v, t, v->sel, buf, sizeof buf);
    int x = ig_screen_text(s, row, 1, -1, IG_ST_STATUS, nums.data) + 1;
    int room = s->w - x - 3; /* " | " before the name */
    int mc = mod.len ? cols(mod.data) : 0, fc = file.len ? cols(file.data) : 0;
    int lc = mc + (mc && fc ? 1 : 0) + fc; /* module, space, file */
    int namec = cols(name);
    if (room <= 0)
        goto out;
    x += ig_screen_text(s, row, x, -1, IG_ST_STATUS, " | ");
    if (lc && namec + 3 + lc > room) {
        /* the location gets what the name leaves, the name at least half */
        int want = room - (namec < room / 2 ? namec : room / 2) - 3;
        if (want < mc + 8) { /* no room for a useful file name */
            fc = 0;
            lc = mc <= want ? mc : 0;
        } else if (lc > want) {
            fc = want - mc - (mc ? 1 : 0);
            lc = want;
        }
    }
    x += text_cut(s, row, x, room - (lc ? lc + 3 : 0), IG_ST_STATUS, name);
    if (lc) {
        x += ig_screen_text(s, row, x, -1, IG_ST_STATUS, " | ");
        if (mc)
            x += ig_screen_text(s, row, x, mc, IG_ST_STATUS, mod.data) + (fc ? 1 : 0);
        if (fc) {
            const char *f = file.data;
            if (cols(f) > fc) {
                ig_screen_fill(s, row, x++, 1, s->utf8 ? 0x2026 : '~', IG_ST_STATUS);
                f = tail_cols(f, fc - 1);
            }
            ig_screen_text(s, row, x, -1, IG_ST_STATUS, f);
        }
    }
out:
    ig_sb_free(&nums);
    ig_sb_free(&mod);
    ig_sb_free(&file);
}

static void draw_top_status(ig_viewer *v, ig_strbuf *sb)
{
    size_t rows = v->top ? ig_top_rows(v->top) : 0;
    ig_sb_printf(sb, " row %zu of %zu | sorted by %s (o toggles) | Enter: focus | c: callers/callees | L: source",
                 rows ? v->top_sel + 1 : 0, rows, v->sort == IG_SORT_CUM ? "cum" : "flat");
}

static void draw_source_status(ig_viewer *v, ig_screen *s, int row)
{
    const ig_source_fn *f = v->source && ig_source_count(v->source) ? ig_source_at(v->source, 0) : NULL;
    if (!f)
        return;
    const char *unit = ig_source_value_unit(v->source);
    int64_t total = ig_source_pct_total(v->source, 1);
    char flat[48], cum[48];
    fmt_value(unit, f->flat, flat, sizeof flat);
    fmt_value(unit, f->cum, cum, sizeof cum);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, " flat %s (%.2f%%) | cum %s (%.2f%%)", flat, pct(f->flat, total), cum, pct(f->cum, total));
    if (f->nolines_cum) {
        char nl[48];
        fmt_value(unit, f->nolines_cum, nl, sizeof nl);
        ig_sb_printf(&sb, " | %s without a line", nl);
    }
    ig_sb_puts(&sb, " | ");
    int x = ig_screen_text(s, row, 0, -1, IG_ST_STATUS, sb.data);
    char buf[1024];
    text_cut(s, row, x, s->w - x, IG_ST_STATUS, ig_viewer_display_name(v, f->name, buf, sizeof buf));
    ig_sb_free(&sb);
}

static void draw_status(ig_viewer *v, ig_screen *s)
{
    int row = s->h - 2;
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_STATUS);
    ig_strbuf sb = IG_STRBUF_INIT;
    if (!v->tree)
        ig_sb_puts(&sb, " no call tree yet");
    else if (v->prompt == IG_PROMPT_SEARCH) { /* what the search finds, as it is typed */
        if (!v->has_search)
            ig_sb_puts(&sb, " type a regex (no capital letter: any case)");
        else if (!v->match_ready)
            ig_sb_puts(&sb, " counting the matches...");
        else
            ig_sb_printf(&sb, " matched %.2f%% of total / %.2f%% of view%s", 100 * v->match_total,
                         100 * v->match_view, v->search_icase ? " (any case)" : "");
    }
    else if (v->mode == IG_MODE_FLAME || v->mode == IG_MODE_SANDWICH)
        draw_frame_status(v, s, row);
    else if (v->mode == IG_MODE_TOP)
        draw_top_status(v, &sb);
    else if (v->mode == IG_MODE_SOURCE)
        draw_source_status(v, s, row);
    else if (v->mode == IG_MODE_PICK)
        ig_sb_puts(&sb, " Enter: choose | Esc: cancel");
    else if (v->mode == IG_MODE_OUTPUT)
        ig_sb_printf(&sb, " the command's output: %s | O or Esc: back", v->output_path ? v->output_path : "");
    else
        ig_sb_puts(&sb, " any key closes the help");
    if (sb.data)
        ig_screen_text(s, row, 0, -1, IG_ST_STATUS, sb.data);
    ig_sb_free(&sb);
}

static const char *prompt_label(ig_prompt_kind k)
{
    switch (k) {
    case IG_PROMPT_SEARCH: return "/";
    case IG_PROMPT_FOCUS: return "focus (regex, empty clears): ";
    case IG_PROMPT_IGNORE: return "ignore (regex, empty clears): ";
    case IG_PROMPT_EXPORT: return "export view to (.svg/.folded/.pb.gz): ";
    default: return "";
    }
}

static void draw_bottom(ig_viewer *v, ig_screen *s)
{
    int row = s->h - 1;
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_NORMAL);
    char buf[512];
    if (v->prompt != IG_PROMPT_NONE) {
        ig_screen_prompt(s, row, prompt_label(v->prompt), &v->edit);
        return;
    }
    if (ig_viewer_busy(v)) {
        ig_viewer_progress_text(v, buf, sizeof buf);
        ig_screen_text(s, row, 0, -1, IG_ST_PROMPT, *buf ? buf : "waiting (Esc cancels)");
        return;
    }
    if (v->message[0]) {
        ig_screen_text(s, row, 0, -1, v->message_is_error ? IG_ST_ERROR : IG_ST_NORMAL, v->message);
        return;
    }
    if (v->has_search) {
        if (v->match_ready)
            snprintf(buf, sizeof buf, "/%s: matched %.2f%% of total / %.2f%% of view (n/N: next/prev%s)", v->search,
                     100 * v->match_total, 100 * v->match_view, v->search_icase ? "; any case" : "");
        else
            snprintf(buf, sizeof buf, "/%s: counting the matches... (n/N: next/prev%s)", v->search,
                     v->search_icase ? "; any case" : "");
        ig_screen_text(s, row, 0, -1, IG_ST_MATCH, buf);
        return;
    }
    if (ig_viewer_running(v)) { /* background work */
        ig_viewer_progress_text(v, buf, sizeof buf);
        ig_screen_text(s, row, 0, -1, IG_ST_DIM, buf);
        return;
    }
    const char *hint = v->mode == IG_MODE_TOP ? "up/down move  Enter focus  o sort  c callers  L source  / search  t flame  ? help  q quit"
                       : v->mode == IG_MODE_SOURCE ? "up/down move  Esc back  ? help  q quit"
                       : "arrows move  Enter zoom  Esc back  / search  t top  c callers  L source  ? help  q quit";
    ig_screen_text(s, row, 0, -1, IG_ST_NORMAL, hint);
}

/* ---- flame graph ---------------------------------------------------------- */

static void draw_frame(ig_viewer *v, ig_screen *s, const ig_frame *f)
{
    const ig_tree *t = ig_viewer_pane_tree(v, f->pane);
    uint8_t style = f->style;
    if (f->flags & IG_FRAME_DIM)
        style = IG_ST_DIM;
    if (ig_viewer_node_matches(v, t, f->node))
        style = IG_ST_MATCH;
    int selected = f->pane == v->sel_pane && f->node == v->sel;
    /* a diff frame keeps its colour when selected: reverse video and brackets */
    int mark = selected && ig_tree_is_diff(t) && !(f->flags & IG_FRAME_DIM);
    if (selected && !mark)
        style = IG_ST_SELECTED;
    /* a frame only in the base of a diff: its own colour and a '-' fill */
    int removed = ig_tree_node_removed(t, ig_tree_node_at(t, f->node));
    ig_screen_fill(s, f->row, f->col, f->width, removed ? '-' : ' ', style);
    int col = f->col, width = f->width;
    if (mark) {
        ig_screen_attr(s, f->row, f->col, f->width, IG_ATTR_REVERSE | IG_ATTR_BOLD);
        if (width >= 3) {
            ig_screen_fill(s, f->row, col, 1, '[', style);
            ig_screen_fill(s, f->row, col + width - 1, 1, ']', style);
            ig_screen_attr(s, f->row, col, 1, IG_ATTR_REVERSE | IG_ATTR_BOLD);
            ig_screen_attr(s, f->row, col + width - 1, 1, IG_ATTR_REVERSE | IG_ATTR_BOLD);
            col++;
            width -= 2;
        }
    }
    if (width < 3 && !(mark && width >= 1))
        return; /* a letter or two of a name reads as noise: colour only */
    char buf[1024];
    int n = text_cut(s, f->row, col, width, style, node_label(v, t, f->node, buf, sizeof buf));
    if (mark)
        ig_screen_attr(s, f->row, col, n, IG_ATTR_REVERSE | IG_ATTR_BOLD);
}

static void draw_frames(ig_viewer *v, ig_screen *s)
{
    const ig_frames *f = ig_viewer_layout(v);
    for (size_t i = 0; i < f->n; i++)
        draw_frame(v, s, &f->v[i]);
    if (v->mode == IG_MODE_SANDWICH) {
        int rows = s->h - 3;
        char buf[256], name[256];
        const char *fn = ig_viewer_display_name(v, v->sandwich_fn, name, sizeof name);
        snprintf(buf, sizeof buf, " callers of %s %s ", fn, s->utf8 ? "\u2191" : "^");
        ig_screen_text(s, 1, s->w - cols(buf) > 0 ? s->w - cols(buf) : 0, -1, IG_ST_TABLE_HEADER, buf);
        snprintf(buf, sizeof buf, " callees of %s %s ", fn, s->utf8 ? "\u2193" : "v");
        ig_screen_text(s, rows, s->w - cols(buf) > 0 ? s->w - cols(buf) : 0, -1, IG_ST_TABLE_HEADER, buf);
    }
}

/* ---- top table -------------------------------------------------------------- */

static uint8_t delta_style(int64_t v, int64_t total, int64_t base_v, int64_t base_total)
{
    int level = ig_layout_diff_level(v, total, base_v, base_total);
    return level > 0 ? (uint8_t)(IG_ST_GROW1 + level - 1)
           : level < 0 ? (uint8_t)(IG_ST_SHRINK1 - level - 1) : IG_ST_NORMAL;
}

/* A delta with its sign: "+30", "-1.50s", "0". */
static void signed_value(const char *unit, int64_t d, char *buf, size_t len)
{
    char v[32];
    fmt_value(unit, d < 0 ? -d : d, v, sizeof v);
    snprintf(buf, len, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", v);
}

static int64_t top_base_total(const ig_top *t)
{
    /* The base total is the sum of the base flat values. */
    int64_t sum = 0;
    for (size_t i = 0; i < ig_top_rows(t); i++)
        sum += ig_top_row_at(t, i)->base_flat;
    return sum;
}

static void draw_top(ig_viewer *v, ig_screen *s)
{
    if (!v->top)
        return;
    int first = 2, rows = s->h - 4;
    int diff = v->base != NULL;
    const char *hdr = diff ? "      flat   flat%    sum%        cum    cum%       dflat       dcum  name"
                           : "      flat   flat%    sum%        cum    cum%  name";
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    ig_screen_text(s, 1, 0, -1, IG_ST_TABLE_HEADER, hdr);
    size_t n = ig_top_rows(v->top);
    if (v->top_sel < v->top_scroll)
        v->top_scroll = v->top_sel;
    if (rows > 0 && v->top_sel >= v->top_scroll + (size_t)rows)
        v->top_scroll = v->top_sel - (size_t)rows + 1;
    int64_t total = ig_top_pct_total(v->top), btotal = diff ? top_base_total(v->top) : 0;
    const char *unit = ig_top_value_unit(v->top);
    int64_t sum = 0; /* of the flat values, as report's sum% */
    for (size_t i = 0; i < v->top_scroll && i < n; i++)
        sum = ig_sat_add(sum, ig_top_row_at(v->top, i)->flat);
    for (int r = 0; r < rows && v->top_scroll + (size_t)r < n; r++) {
        size_t i = v->top_scroll + (size_t)r;
        const ig_top_row *row = ig_top_row_at(v->top, i);
        sum = ig_sat_add(sum, row->flat);
        char flat[32], cum[32], fp[16], sp[16], cp[16], line[256], name[1024];
        fmt_value(unit, row->flat, flat, sizeof flat);
        fmt_value(unit, row->cum, cum, sizeof cum);
        snprintf(fp, sizeof fp, "%.2f%%", pct(row->flat, total));
        snprintf(sp, sizeof sp, "%.2f%%", pct(sum, total));
        snprintf(cp, sizeof cp, "%.2f%%", pct(row->cum, total));
        snprintf(line, sizeof line, "%10s %7s %7s %10s %7s  ", flat, fp, sp, cum, cp);
        const char *full = ig_top_name(v->top, row->name);
        int sel = i == v->top_sel;
        uint8_t style = sel ? IG_ST_SELECTED
                        : v->has_search && ig_viewer_text_matches(v, full) ? IG_ST_MATCH : IG_ST_NORMAL;
        ig_screen_fill(s, first + r, 0, s->w, ' ', style);
        int col = ig_screen_text(s, first + r, 0, -1, style, line);
        if (diff) {
            /* the deltas keep their colours on the selected row, in reverse video */
            char df[40], dc[40], cell[64];
            signed_value(unit, row->flat - row->base_flat, df, sizeof df);
            signed_value(unit, row->cum - row->base_cum, dc, sizeof dc);
            snprintf(cell, sizeof cell, "%10s ", df);
            uint8_t ds = delta_style(row->flat, total, row->base_flat, btotal);
            int c0 = col;
            col += ig_screen_text(s, first + r, col, -1, sel && ds == IG_ST_NORMAL ? style : ds, cell);
            snprintf(cell, sizeof cell, "%10s  ", dc);
            ds = delta_style(row->cum, total, row->base_cum, btotal);
            col += ig_screen_text(s, first + r, col, -1, sel && ds == IG_ST_NORMAL ? style : ds, cell);
            if (sel)
                ig_screen_attr(s, first + r, c0, col - c0, IG_ATTR_REVERSE);
        }
        text_cut(s, first + r, col, s->w - col, style, ig_viewer_display_name(v, full, name, sizeof name));
    }
}

/* ---- source view ---------------------------------------------------------------- */

/* A source line made drawable: tabs expanded (stops of 8), other control
 * characters shown as '?'. */
static void clean_text(const char *in, char *out, size_t cap)
{
    size_t n = 0, col = 0;
    for (const char *p = in; *p && n + 8 < cap; p++) {
        if (*p == '\t') {
            do
                out[n++] = ' ';
            while (++col % 8 && n + 1 < cap);
            continue;
        }
        out[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
        col += ((unsigned char)*p & 0xc0) != 0x80;
    }
    out[n] = 0;
}

static void draw_source(ig_viewer *v, ig_screen *s)
{
    const ig_source_fn *f = v->source && ig_source_count(v->source) ? ig_source_at(v->source, 0) : NULL;
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    char title[1200], name[1024];
    if (!f) {
        ig_screen_text(s, 1, 0, -1, IG_ST_TABLE_HEADER, "  no samples in this function");
        return;
    }
    snprintf(title, sizeof title, "    flat      cum   line  %s (%s)", ig_viewer_display_name(v, f->name, name, sizeof name),
             f->path ? f->path : f->why ? f->why : "");
    text_cut(s, 1, 0, s->w, IG_ST_TABLE_HEADER, title);
    int first = 2, rows = s->h - 4;
    if (!f->nlines) {
        ig_screen_text(s, first, 2, -1, IG_ST_DIM,
                       *f->file ? "no line numbers in the profile for this function" : "no source file recorded");
        return;
    }
    if (v->source_sel >= f->nlines)
        v->source_sel = f->nlines - 1;
    if (v->source_sel < v->source_scroll)
        v->source_scroll = v->source_sel;
    if (rows > 0 && v->source_sel >= v->source_scroll + (size_t)rows)
        v->source_scroll = v->source_sel - (size_t)rows + 1;
    const char *unit = ig_source_value_unit(v->source);
    for (int r = 0; r < rows && v->source_scroll + (size_t)r < f->nlines; r++) {
        size_t i = v->source_scroll + (size_t)r;
        const ig_source_line *l = &f->lines[i];
        char flat[32] = ".", cum[32] = ".", line[2300], text[1100];
        if (l->flat)
            fmt_value(unit, l->flat, flat, sizeof flat);
        if (l->cum)
            fmt_value(unit, l->cum, cum, sizeof cum);
        if (l->line == 0) {
            snprintf(line, sizeof line, "%8s %8s %6s", "", "", "...");
        } else {
            clean_text(l->text ? l->text : "", text, sizeof text);
            snprintf(line, sizeof line, "%8s %8s %6lld  %s", flat, cum, (long long)l->line, text);
        }
        uint8_t style = i == v->source_sel ? IG_ST_SELECTED : l->flat ? IG_ST_GROW2 : l->cum ? IG_ST_GROW1 : IG_ST_NORMAL;
        ig_screen_fill(s, first + r, 0, s->w, ' ', style);
        ig_screen_text(s, first + r, 0, -1, style, line);
    }
}

/* ---- the command's output ---------------------------------------------------------- */

/* Copies text without terminal escape sequences (ESC [ ... final byte,
 * ESC ] ... BEL) and with other control characters as '?'. */
static size_t strip_escapes(const char *in, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == 0x1b && i + 1 < n && in[i + 1] == '[') {
            i += 2;
            while (i < n && !((unsigned char)in[i] >= 0x40 && (unsigned char)in[i] <= 0x7e))
                i++;
            continue;
        }
        if (c == 0x1b && i + 1 < n && in[i + 1] == ']') {
            while (i < n && in[i] != 7)
                i++;
            continue;
        }
        out[k++] = c == '\n' ? '\n' : c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    return k;
}

static void draw_output(ig_viewer *v, ig_screen *s)
{
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, " output of the command (the end of %s)", v->output_path);
    text_cut(s, 1, 0, s->w, IG_ST_TABLE_HEADER, sb.data);
    ig_sb_free(&sb);
    FILE *f = fopen(v->output_path, "rb");
    if (!f)
        return;
    static char raw[65536], clean[65536];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)sizeof raw - 1 ? size - (long)sizeof raw + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    n = strip_escapes(raw, n, clean);
    while (n && clean[n - 1] == '\n')
        n--;
    clean[n] = 0;
    int rows = s->h - 4;
    /* the last `rows` lines */
    size_t start = n;
    for (int k = 0; k < rows && start > 0;) {
        start--;
        if (clean[start] == '\n' && ++k == rows) {
            start++;
            break;
        }
    }
    int r = 2;
    for (char *line = clean + start; line && *line && r < 2 + rows; r++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        ig_screen_text(s, r, 0, -1, IG_ST_NORMAL, line);
        line = nl ? nl + 1 : NULL;
    }
    if (!n)
        ig_screen_text(s, 2, 2, -1, IG_ST_DIM, "(nothing written yet)");
}

/* ---- help, picker, loading ---------------------------------------------------- */

static void draw_help(ig_viewer *v, ig_screen *s)
{
    int row = 1;
    ig_screen_text(s, row++, 1, -1, IG_ST_TABLE_HEADER,
                   v->app && !strcmp(v->app, "top") ? "ignis top: keys (the same as ignis view)"
                                                    : "ignis view: keys (the same in ignis top)");
    row++;
    for (const ig_key_help *k = ig_viewer_key_help(); k->keys && row < s->h - 3; k++, row++) {
        char line[256];
        snprintf(line, sizeof line, "  %-16s  %s%s", k->keys, k->what, k->where ? "  [top]" : "");
        ig_screen_text(s, row, 1, -1, IG_ST_NORMAL, line);
    }
    if (row < s->h - 2)
        ig_screen_text(s, row + 1 < s->h - 2 ? row + 1 : row, 1, -1, IG_ST_DIM,
                       "  diff colours: red grew, blue shrank, grey unchanged (share of total)");
}

static void draw_pick(ig_viewer *v, ig_screen *s)
{
    ig_screen_text(s, 1, 1, -1, IG_ST_TABLE_HEADER,
                   v->pick_kind == 's' ? "Show which value?" : "Show which thread?");
    int rows = s->h - 5;
    size_t first = v->pick_sel >= (size_t)rows ? v->pick_sel - (size_t)rows + 1 : 0;
    for (int r = 0; r < rows && first + (size_t)r < v->npick; r++) {
        size_t i = first + (size_t)r;
        uint8_t st = i == v->pick_sel ? IG_ST_SELECTED : IG_ST_NORMAL;
        ig_screen_fill(s, 2 + r, 1, s->w - 2, ' ', st);
        ig_screen_text(s, 2 + r, 2, s->w - 4, st, v->pick_items[i]);
    }
}

/* No tree to draw yet (loading, or a huge tree being rebuilt): say why. */
static void draw_waiting(ig_viewer *v, ig_screen *s)
{
    char buf[512];
    ig_viewer_progress_text(v, buf, sizeof buf);
    if (!*buf)
        snprintf(buf, sizeof buf, "waiting (Esc cancels)");
    int w = cols(buf);
    ig_screen_text(s, s->h / 2, w < s->w ? (s->w - w) / 2 : 0, -1, IG_ST_PROMPT, buf);
}

static void draw_too_small(ig_screen *s)
{
    char buf[96];
    snprintf(buf, sizeof buf, "terminal too small (%dx%d); need at least %dx%d", s->w, s->h, IG_MIN_W, IG_MIN_H);
    ig_screen_text(s, s->h / 2, 0, -1, IG_ST_ERROR, buf);
}

void ig_viewer_render(ig_viewer *v, ig_screen *s)
{
    ig_screen_clear(s);
    if (s->w < IG_MIN_W || s->h < IG_MIN_H) {
        draw_too_small(s);
        return;
    }
    if (v->width != s->w || v->height != s->h)
        ig_viewer_resize(v, s->w, s->h);
    if (v->utf8 != s->utf8) {
        v->utf8 = s->utf8;
        v->layout_valid = 0;
    }
    ig_viewer_settle(v);
    draw_header(v, s);
    if (v->mode == IG_MODE_HELP)
        draw_help(v, s);
    else if (!v->tree)
        draw_waiting(v, s);
    else
        switch (v->mode) {
        case IG_MODE_FLAME:
        case IG_MODE_SANDWICH: draw_frames(v, s); break;
        case IG_MODE_TOP: draw_top(v, s); break;
        case IG_MODE_PICK: draw_pick(v, s); break;
        case IG_MODE_SOURCE: draw_source(v, s); break;
        case IG_MODE_OUTPUT: draw_output(v, s); break;
        default: break;
        }
    draw_status(v, s);
    draw_bottom(v, s);
}
