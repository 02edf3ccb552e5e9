/*
 * viewer/screen.c — renders the viewer model into a grid of styled cells.
 *
 * Screen layout, whatever the mode:
 *   row 0        header: file, value type, total, active filters
 *   rows 1..h-3  the flame graph, sandwich, top table, help or a picker
 *   row h-2      status: the selected frame or row with its values
 *   row h-1      prompt, message, search result or key hints
 * Frames are drawn with their name truncated to their width (an ellipsis
 * marks the cut); the selection, search matches and zoom ancestors are
 * overlays on the frame's own colour.  Nothing here knows about curses.
 */
#include "viewer/screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/truncated.h"
#include "utils/strbuf.h"

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
        s->cells[i] = (ig_cell){' ', IG_ST_NORMAL};
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
            *c = (ig_cell){drawable(s, cp), style};
        n++;
    }
    return n;
}

void ig_screen_fill(ig_screen *s, int row, int col, int n, uint32_t ch, uint8_t style)
{
    for (int i = 0; i < n; i++) {
        ig_cell *c = ig_screen_cell(s, row, col + i);
        if (c)
            *c = (ig_cell){drawable(s, ch), style};
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

static double pct(int64_t part, int64_t whole)
{
    return whole != 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static void fmt_value(const char *unit, int64_t v, char *buf, size_t len)
{
    ig_format_value(v, unit ? unit : "", buf, len);
}

static const char *node_label(const ig_tree *t, uint32_t node)
{
    const char *name = ig_tree_name(t, ig_tree_node_at(t, node)->name);
    return *name ? name : "all";
}

/* ---- header and footer ----------------------------------------------------- */

static void draw_header(ig_viewer *v, ig_screen *s)
{
    ig_screen_fill(s, 0, 0, s->w, ' ', IG_ST_HEADER);
    char total[48];
    fmt_value(ig_tree_value_unit(v->tree), ig_tree_total(v->tree), total, sizeof total);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, " ignis %s %s | %s | total %s", v->app ? v->app : v->base ? "diff" : "view", v->title,
                 ig_tree_value_type(v->tree), total);
    double truncated = v->value >= 0 ? ig_truncated_percent_cached(v->profile, (size_t)v->value) : 0.0;
    if (truncated > 0)
        ig_sb_printf(&sb, " | truncated %.1f%%", truncated);
    if (v->focus)
        ig_sb_printf(&sb, " | focus=%s", v->focus);
    if (v->ignore)
        ig_sb_printf(&sb, " | ignore=%s", v->ignore);
    if (v->thread)
        ig_sb_printf(&sb, " | thread=%s", v->thread);
    if (v->nzoom > 1)
        ig_sb_printf(&sb, " | zoom %d", v->nzoom - 1);
    if (v->mode == IG_MODE_FLAME) {
        const ig_frames *f = ig_viewer_layout(v);
        if (v->scroll > 0 || f->clipped)
            ig_sb_printf(&sb, " | depth %d-%d%s", v->scroll, v->scroll + s->h - 4, f->clipped ? "+" : "");
    }
    int n = ig_screen_text(s, 0, 0, s->w - 7, IG_ST_HEADER, sb.data);
    (void)n;
    ig_screen_text(s, 0, s->w - 7, 7, IG_ST_HEADER, " ? help");
    ig_sb_free(&sb);
}

static void draw_frame_status(ig_viewer *v, ig_screen *s, ig_strbuf *sb)
{
    const ig_tree *t = ig_viewer_pane_tree(v, v->sel_pane);
    const ig_tree_node *n = ig_tree_node_at(t, v->sel);
    const char *unit = ig_tree_value_unit(t);
    int64_t whole = ig_tree_total(v->tree);
    int64_t zoom = v->sel_pane == IG_PANE_MAIN ? ig_tree_node_at(t, ig_viewer_zoom_node(v))->total
                                               : ig_tree_node_at(t, 0)->total;
    char self[48], total[48];
    fmt_value(unit, n->self, self, sizeof self);
    fmt_value(unit, n->total, total, sizeof total);
    const char *of = v->sel_pane == IG_PANE_MAIN ? "zoom" : "pane";
    for (int compact = 0; compact < 2; compact++) {
        ig_sb_reset(sb);
        ig_sb_printf(sb, compact ? " %s | total %s (%.2f%% all, %.2f%% %s) | self %s (%.2f%%)"
                                 : " %s | total %s (%.2f%% of all, %.2f%% of %s) | self %s (%.2f%%)",
                     node_label(t, v->sel), total, pct(n->total, whole), pct(n->total, zoom), of, self,
                     pct(n->self, whole));
        if (ig_tree_is_diff(t)) {
            const ig_tree_node *r = ig_tree_node_at(t, 0);
            double d = pct(n->total, r->total) - pct(n->base_total, r->base_total);
            ig_sb_printf(sb, compact ? " | %+.2f%% (base %.2f%%)" : " | diff %+.2f%% (base %.2f%%)", d,
                         pct(n->base_total, r->base_total));
        }
        /* Short form when the long one does not fit. */
        if ((int)ig_utf8_len(sb->data) <= s->w)
            break;
    }
}

static void draw_top_status(ig_viewer *v, ig_strbuf *sb)
{
    size_t rows = v->top ? ig_top_rows(v->top) : 0;
    ig_sb_printf(sb, " row %zu of %zu | sorted by %s (o toggles) | Enter: focus | c: callers/callees",
                 rows ? v->top_sel + 1 : 0, rows, v->sort == IG_SORT_CUM ? "cum" : "flat");
}

static void draw_status(ig_viewer *v, ig_screen *s)
{
    int row = s->h - 2;
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_STATUS);
    ig_strbuf sb = IG_STRBUF_INIT;
    if (v->mode == IG_MODE_FLAME || v->mode == IG_MODE_SANDWICH)
        draw_frame_status(v, s, &sb);
    else if (v->mode == IG_MODE_TOP)
        draw_top_status(v, &sb);
    else if (v->mode == IG_MODE_PICK)
        ig_sb_puts(&sb, " Enter: choose | Esc: cancel");
    else
        ig_sb_puts(&sb, " press any key to close the help");
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
    case IG_PROMPT_EXPORT: return "export view to (.svg/.folded): ";
    default: return "";
    }
}

static void draw_bottom(ig_viewer *v, ig_screen *s)
{
    int row = s->h - 1;
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_NORMAL);
    char buf[512];
    if (v->prompt != IG_PROMPT_NONE) {
        snprintf(buf, sizeof buf, "%s%.*s", prompt_label(v->prompt), (int)v->input_len, v->input);
        int n = ig_screen_text(s, row, 0, -1, IG_ST_PROMPT, buf);
        ig_screen_fill(s, row, n, 1, '_', IG_ST_PROMPT);
        return;
    }
    if (v->message[0]) {
        ig_screen_text(s, row, 0, -1, v->message_is_error ? IG_ST_ERROR : IG_ST_NORMAL, v->message);
        return;
    }
    if (v->has_search) {
        snprintf(buf, sizeof buf, "/%s: matched %.2f%% of total / %.2f%% of view (n/N: next/prev)",
                 v->search, 100 * v->match_total, 100 * v->match_view);
        ig_screen_text(s, row, 0, -1, IG_ST_MATCH, buf);
        return;
    }
    const char *hint = v->mode == IG_MODE_TOP
        ? "up/down move  Enter focus  o sort  c callers  / search  t flame  ? help  q quit"
        : "arrows move  Enter zoom  Esc back  / search  t top  c callers  ? help  q quit";
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
    if (f->pane == v->sel_pane && f->node == v->sel)
        style = IG_ST_SELECTED;
    ig_screen_fill(s, f->row, f->col, f->width, ' ', style);
    if (f->width < 3)
        return; /* a letter or two of a name reads as noise: colour only */
    const char *name = node_label(t, f->node);
    int ell;
    size_t bytes = ig_layout_fit(name, f->width, &ell);
    char buf[1024];
    if (bytes >= sizeof buf)
        bytes = sizeof buf - 1;
    memcpy(buf, name, bytes);
    buf[bytes] = 0;
    int n = ig_screen_text(s, f->row, f->col, f->width, style, buf);
    if (ell)
        ig_screen_fill(s, f->row, f->col + n, 1, s->utf8 ? 0x2026 : '~', style);
}

static void draw_frames(ig_viewer *v, ig_screen *s)
{
    const ig_frames *f = ig_viewer_layout(v);
    for (size_t i = 0; i < f->n; i++)
        draw_frame(v, s, &f->v[i]);
    if (v->mode == IG_MODE_SANDWICH) {
        int rows = s->h - 3, up = rows / 2;
        char buf[256];
        snprintf(buf, sizeof buf, " callers of %s %s ", v->sandwich_fn, s->utf8 ? "\u2191" : "^");
        ig_screen_text(s, 1, s->w - (int)ig_utf8_len(buf) > 0 ? s->w - (int)ig_utf8_len(buf) : 0, -1,
                       IG_ST_TABLE_HEADER, buf);
        snprintf(buf, sizeof buf, " callees of %s %s ", v->sandwich_fn, s->utf8 ? "\u2193" : "v");
        ig_screen_text(s, rows, s->w - (int)ig_utf8_len(buf) > 0 ? s->w - (int)ig_utf8_len(buf) : 0, -1,
                       IG_ST_TABLE_HEADER, buf);
        (void)up;
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
    int64_t total = ig_top_total(v->top), btotal = diff ? top_base_total(v->top) : 0;
    const char *unit = ig_top_value_unit(v->top);
    double sum = 0;
    for (size_t i = 0; i < v->top_scroll && i < n; i++)
        sum += pct(ig_top_row_at(v->top, i)->flat, total);
    for (int r = 0; r < rows && v->top_scroll + (size_t)r < n; r++) {
        size_t i = v->top_scroll + (size_t)r;
        const ig_top_row *row = ig_top_row_at(v->top, i);
        sum += pct(row->flat, total);
        char flat[32], cum[32], fp[16], sp[16], cp[16], line[256];
        fmt_value(unit, row->flat, flat, sizeof flat);
        fmt_value(unit, row->cum, cum, sizeof cum);
        snprintf(fp, sizeof fp, "%.2f%%", pct(row->flat, total));
        snprintf(sp, sizeof sp, "%.2f%%", sum);
        snprintf(cp, sizeof cp, "%.2f%%", pct(row->cum, total));
        snprintf(line, sizeof line, "%10s %7s %7s %10s %7s  ", flat, fp, sp, cum, cp);
        uint8_t style = i == v->top_sel ? IG_ST_SELECTED
                        : v->has_search && ig_viewer_text_matches(v, ig_top_name(v->top, row->name)) ? IG_ST_MATCH : IG_ST_NORMAL;
        ig_screen_fill(s, first + r, 0, s->w, ' ', style);
        int col = ig_screen_text(s, first + r, 0, -1, style, line);
        if (diff) {
            char df[40], dc[40], cell[64];
            signed_value(unit, row->flat - row->base_flat, df, sizeof df);
            signed_value(unit, row->cum - row->base_cum, dc, sizeof dc);
            snprintf(cell, sizeof cell, "%10s ", df);
            uint8_t ds = i == v->top_sel ? style : delta_style(row->flat, total, row->base_flat, btotal);
            col += ig_screen_text(s, first + r, col, -1, ds, cell);
            snprintf(cell, sizeof cell, "%10s  ", dc);
            ds = i == v->top_sel ? style : delta_style(row->cum, total, row->base_cum, btotal);
            col += ig_screen_text(s, first + r, col, -1, ds, cell);
        }
        ig_screen_text(s, first + r, col, -1, style, ig_top_name(v->top, row->name));
    }
}

/* ---- help and picker -------------------------------------------------------- */

static const char *help_lines[] = {
    "ignis view: keys",
    "",
    "  arrows, h j k l   move the selection (parent, child, neighbours)",
    "  Enter             zoom into the frame (table: focus on the function)",
    "  Esc, Backspace    zoom out / go back",
    "  i                 root at the bottom (flame) or at the top (icicle)",
    "  /  n  N           search by regex; next / previous match",
    "  t  o              top table; sort it by flat or by cum",
    "  c                 callers and callees of the function (sandwich)",
    "  f  x              focus on / ignore frames matching a regex",
    "  T  s              pick a thread / the value shown (cpu, alloc...)",
    "  e                 export the view (zoom, filters) as .svg/.folded",
    "  E                 send the view to the OTLP collector (OTEL_EXPORTER_OTLP_*)",
    "  mouse             click selects, double click zooms",
    "  ?  q              this help; quit",
    "",
    "  diff colours: red grew, blue shrank, grey unchanged (share of total)",
};

static void draw_help(ig_viewer *v, ig_screen *s)
{
    size_t n = sizeof help_lines / sizeof help_lines[0];
    int row = 1;
    for (size_t i = 0; i < n && row < s->h - 2; i++, row++)
        ig_screen_text(s, row, 1, -1, i == 0 ? IG_ST_TABLE_HEADER : IG_ST_NORMAL, help_lines[i]);
    if (v->app && !strcmp(v->app, "top") && row < s->h - 2)
        ig_screen_text(s, row, 1, -1, IG_ST_NORMAL,
                       "  ignis top: f switches table / flame graph, r resets the window");
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
    v->utf8 = s->utf8;
    ig_viewer_settle(v);
    draw_header(v, s);
    switch (v->mode) {
    case IG_MODE_FLAME:
    case IG_MODE_SANDWICH: draw_frames(v, s); break;
    case IG_MODE_TOP: draw_top(v, s); break;
    case IG_MODE_HELP: draw_help(v, s); break;
    case IG_MODE_PICK: draw_pick(v, s); break;
    }
    draw_status(v, s);
    draw_bottom(v, s);
}
