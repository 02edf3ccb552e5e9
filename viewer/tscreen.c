/*
 * viewer/tscreen.c — renders the trace views into the cell grid
 * (viewer/screen.h), laid out like the profile views:
 *   row 0        header: store, what the page shows, filters, "? help"
 *   row 1        column titles, or the waterfall's time axis
 *   rows 2..h-3  table rows, waterfall rows, detail lines or the histogram
 *   row h-2      status: the selected row
 *   row h-1      prompt, message, search or key hints
 *
 * The waterfall row of a span: its name column (indentation, fold marker
 * + / -, '!' for an error, '?' parent missing, '@' loop cut, '~' clock
 * skew, a badge with the service where it changes, the name), then its bar
 * on the time axis in the service's colour — filled with '=' (U+2501 with
 * UTF-8) on the critical path, a diamond ('*') at each event, the duration
 * beside it.  Only the rows on screen are visited, so a redraw costs the
 * same for a trace of ten spans or of a hundred thousand.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utils/strbuf.h"
#include "viewer/screen.h"
#include "viewer/tmodel.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* The plural ending of a count: "1 span", "2 spans". */
static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* Glyphs with their ASCII fallback. */
static uint32_t glyph(const ig_screen *s, uint32_t unicode, char ascii)
{
    return s->utf8 ? unicode : (uint32_t)ascii;
}

/* Text in a cell range, left- or right-aligned, cut with a mark. */
static void cell_text(ig_screen *s, int row, int col, int width, int right, uint8_t style, const char *text)
{
    if (width <= 0)
        return;
    int ell;
    size_t bytes = ig_layout_fit(text, width, &ell);
    int len = 0;
    for (const char *p = text; p < text + bytes;) {
        uint32_t cp;
        p += ig_utf8_decode(p, &cp);
        len++;
    }
    int x = right && !ell ? col + width - len : col;
    char buf[512];
    if (bytes >= sizeof buf)
        bytes = sizeof buf - 1;
    memcpy(buf, text, bytes);
    buf[bytes] = 0;
    int n = ig_screen_text(s, row, x, width, style, buf);
    if (ell)
        ig_screen_fill(s, row, x + n, 1, glyph(s, 0x2026, '~'), style);
}

static void format_start(uint64_t ns, char *buf, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    localtime_r(&secs, &tm);
    char day[24];
    if (!strftime(day, sizeof day, "%m-%d %H:%M:%S", &tm))
        day[0] = '\0';
    snprintf(buf, len, "%.20s.%03u", day, (unsigned)(ns % 1000000000u / 1000000u));
}

static void describe_filter(const ig_tfilter *f, ig_strbuf *sb)
{
    if (f->service)
        ig_sb_printf(sb, " | service=%s", f->service);
    if (f->name_regex)
        ig_sb_printf(sb, " | name~%s", f->name_regex);
    if (f->attr_key)
        ig_sb_printf(sb, " | %s=%s", f->attr_key, f->attr_value ? f->attr_value : "");
    if (f->min_duration_ns || f->max_duration_ns) {
        char lo[32] = "", hi[32] = "";
        if (f->min_duration_ns)
            ig_format_duration(f->min_duration_ns, lo, sizeof lo);
        if (f->max_duration_ns)
            ig_format_duration(f->max_duration_ns, hi, sizeof hi);
        ig_sb_printf(sb, " | duration %s..%s", lo, hi);
    }
    if (f->errors_only)
        ig_sb_puts(sb, " | errors only");
    if (f->operation_label)
        ig_sb_printf(sb, " | %s", f->operation_label);
}

static void table_header(ig_tview *v, ig_screen *s, const ig_tcolumn *cols, int ncols, int sorted, bool desc)
{
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    int x = 0;
    for (int i = 0; i < ncols && x < s->w; i++) {
        int width = cols[i].width && i < ncols - 1 ? cols[i].width : s->w - x;
        char title[64];
        snprintf(title, sizeof title, "%s%s", cols[i].title,
                 i == sorted ? (desc ? (v->utf8 ? "\u25bc" : "v") : (v->utf8 ? "\u25b2" : "^")) : "");
        cell_text(s, 1, x, width - 1, cols[i].right, IG_ST_TABLE_HEADER, title);
        x += width;
    }
}

/* ---- header, status, bottom line --------------------------------------------------- */

/* The header, shorter as `cut` grows: 1 names the store by its file name
 * only, 2 also cuts trace ids to their first 16 digits. */
static void header_text(ig_tview *v, const ig_tpage *p, int cut, ig_strbuf *sb)
{
    const char *slash = strrchr(v->title, '/');
    bool short_ids = cut >= 2;
    ig_sb_printf(sb, " ignis view %s", cut >= 1 && slash && slash[1] ? slash + 1 : v->title);
    char a[32], b[32], c[32], tid[33];
    switch (p->kind) {
    case IG_TP_LIST:
        ig_sb_printf(sb, " | %llu trace%s, %llu span%s", (unsigned long long)v->summary.traces,
                     plural(v->summary.traces), (unsigned long long)v->summary.spans, plural(v->summary.spans));
        describe_filter(&p->list.filter, sb);
        break;
    case IG_TP_TRACE: {
        const ig_ttrace *t = &p->trace;
        size_t errors = 0;
        for (size_t i = 0; i < t->trace.nspans; i++)
            errors += t->trace.spans[i].status_code == 2;
        ig_hex(t->trace.trace_id, 16, tid);
        if (short_ids)
            strcpy(tid + 16, v->utf8 ? "\u2026" : "~");
        ig_format_duration(t->zoom_to[0] - t->zoom_from[0], a, sizeof a);
        ig_sb_printf(sb, " | trace %s | %s, %zu span%s, %zu error%s", tid, a, t->trace.nspans,
                     plural(t->trace.nspans), errors, plural(errors));
        break;
    }
    case IG_TP_SPAN:
        ig_hex(p->span.trace_id, 16, tid);
        if (short_ids)
            strcpy(tid + 16, v->utf8 ? "\u2026" : "~");
        ig_sb_printf(sb, " | span of trace %s", tid);
        break;
    case IG_TP_OPS:
        ig_sb_printf(sb, " | %zu operation%s, %llu span%s", p->ops.ops.n, plural(p->ops.ops.n),
                     (unsigned long long)v->summary.spans, plural(v->summary.spans));
        break;
    case IG_TP_HIST:
        ig_format_duration(p->hist.op.p50_ns, a, sizeof a);
        ig_format_duration(p->hist.op.p90_ns, b, sizeof b);
        ig_format_duration(p->hist.op.p99_ns, c, sizeof c);
        ig_sb_printf(sb, " | %s %s | %llu span%s | p50 %s p90 %s p99 %s", p->hist.op.service, p->hist.op.name,
                     (unsigned long long)p->hist.op.count, plural(p->hist.op.count), a, b, c);
        break;
    }
    if (v->live)
        ig_sb_puts(sb, " | live");
}

static void draw_header(ig_tview *v, ig_screen *s)
{
    ig_screen_fill(s, 0, 0, s->w, ' ', IG_ST_HEADER);
    ig_strbuf sb = IG_STRBUF_INIT;
    header_text(v, ig_tview_page(v), 0, &sb);
    for (int cut = 1; cut <= 2 && (int)ig_utf8_len(sb.data) > s->w - 7; cut++) {
        ig_sb_reset(&sb);
        header_text(v, ig_tview_page(v), cut, &sb);
    }
    ig_screen_text(s, 0, 0, s->w - 7, IG_ST_HEADER, sb.data);
    ig_screen_text(s, 0, s->w - 7, 7, IG_ST_HEADER, " ? help");
    ig_sb_free(&sb);
}

static const char *prompt_label(ig_tprompt k)
{
    switch (k) {
    case IG_TPROMPT_SEARCH: return "/";
    case IG_TPROMPT_NAME: return "span name (regex, empty clears): ";
    case IG_TPROMPT_ATTR: return "attribute (key=value, empty clears): ";
    case IG_TPROMPT_DURATION: return "trace duration (10ms..2s, >100ms, <1s; empty clears): ";
    default: return "";
    }
}

static const char *hints(ig_tpage_kind kind)
{
    switch (kind) {
    case IG_TP_LIST:
        return "Enter open  F flame graph  o sort  s service  f name  a attribute  d duration  e errors  "
               "c clear  p operations  / search  ? help  q quit";
    case IG_TP_TRACE:
        return "Enter details  F flame graph  Space fold  z zoom  +/- zoom  </> pan  c critical path  / search  "
               "Esc back  ? help";
    case IG_TP_SPAN: return "up/down move  Enter follow a link  F flame graph  / search  Esc back  ? help  q quit";
    case IG_TP_OPS:
        return "Enter latency histogram  F slow vs fast  o sort  1-7 sort by column  / search  t traces  Esc back  "
               "? help";
    case IG_TP_HIST: return "left/right choose a bucket  Enter its traces  F slow vs fast  Esc back  ? help  q quit";
    }
    return "";
}

static void draw_bottom(ig_tview *v, ig_screen *s)
{
    int row = s->h - 1;
    char buf[512];
    if (v->prompt != IG_TPROMPT_NONE) {
        ig_screen_prompt(s, row, prompt_label(v->prompt), &v->edit);
        return;
    }
    if (v->message[0]) {
        ig_screen_text(s, row, 0, -1, v->message_is_error ? IG_ST_ERROR : IG_ST_NORMAL, v->message);
        return;
    }
    if (v->has_search) {
        snprintf(buf, sizeof buf, "/%s (n/N: next/previous match)", v->search);
        ig_screen_text(s, row, 0, -1, IG_ST_MATCH, buf);
        return;
    }
    ig_screen_text(s, row, 0, -1, IG_ST_NORMAL, hints(ig_tview_page(v)->kind));
}

/* ---- the trace list --------------------------------------------------------------------- */

static void list_row(ig_tview *v, ig_screen *s, int row, const ig_trace_row *r, uint8_t style)
{
    const ig_tcolumn *cols = ig_tview_list_columns();
    char start[40], dur[32], spans[16], errors[16];
    format_start(r->start_ns, start, sizeof start);
    ig_format_duration(r->end_ns - r->start_ns, dur, sizeof dur);
    snprintf(spans, sizeof spans, "%u", r->span_count);
    snprintf(errors, sizeof errors, "%u", r->error_count);
    ig_strbuf name = IG_STRBUF_INIT;
    ig_sb_printf(&name, "%s%s", r->has_root ? "" : "(root missing) ", r->root_name);
    const char *text[IG_TCOLS] = {start, dur, spans, errors, r->root_service, name.data};
    ig_screen_fill(s, row, 0, s->w, ' ', style);
    int x = 0;
    for (int i = 0; i < IG_TCOLS && x < s->w; i++) {
        int width = cols[i].width && i < IG_TCOLS - 1 ? cols[i].width : s->w - x;
        uint8_t st = i == IG_TCOL_ERRORS && r->error_count && style == IG_ST_NORMAL ? IG_ST_ERROR : style;
        cell_text(s, row, x, width - 1, cols[i].right, st, text[i]);
        x += width;
    }
    ig_sb_free(&name);
    (void)v;
}

static void draw_list(ig_tview *v, ig_screen *s, ig_tlist *l)
{
    table_header(v, s, ig_tview_list_columns(), IG_TCOLS, l->sort, l->desc);
    int rows = s->h - 4;
    if (!l->total) {
        bool filtered = l->filter.service || l->filter.name_regex || l->filter.attr_key ||
                        l->filter.min_duration_ns || l->filter.max_duration_ns || l->filter.errors_only ||
                        l->filter.operation;
        ig_screen_text(s, 3, 2, -1, IG_ST_DIM,
                       filtered ? "no trace matches the filters (c clears them)" : "the store has no traces yet");
        return;
    }
    for (int r = 0; r < rows; r++) {
        size_t i = l->scroll + (size_t)r;
        if (i >= l->total || i < l->win_off || i >= l->win_off + l->win.n)
            break;
        const ig_trace_row *tr = &l->win.rows[i - l->win_off];
        uint8_t style = i == l->sel ? IG_ST_SELECTED
                        : ig_tview_matches(v, tr->root_name) || ig_tview_matches(v, tr->root_service) ? IG_ST_MATCH
                                                                                                        : IG_ST_NORMAL;
        list_row(v, s, 2 + r, tr, style);
    }
}

static void list_status(ig_tview *v, const ig_tlist *l, ig_strbuf *sb)
{
    static const char *names[IG_TCOLS] = {"start", "duration", "span count", "errors", "service", "name"};
    bool text = l->sort == IG_TCOL_SERVICE || l->sort == IG_TCOL_NAME;
    ig_sb_printf(sb, " trace %llu of %llu | by %s, %s", (unsigned long long)(l->total ? l->sel + 1 : 0),
                 (unsigned long long)l->total, names[l->sort],
                 l->sort == IG_TCOL_START ? (l->desc ? "newest first" : "oldest first")
                 : text                   ? (l->desc ? "Z to A" : "A to Z")
                                          : (l->desc ? "largest first" : "smallest first"));
    if (l->stale)
        ig_sb_puts(sb, " | the store changed: r refreshes");
    const ig_trace_row *r = ig_tview_selected_trace(v);
    if (r) {
        char tid[33];
        ig_hex(r->trace_id, 16, tid);
        ig_sb_printf(sb, " | %s", tid);
    }
}

/* ---- the waterfall ----------------------------------------------------------------------- */

/* Time offsets from the trace start along the axis, a label every 16 cells or so. */
static void draw_axis(ig_tview *v, ig_screen *s, const ig_ttrace *t, int x0, int bw)
{
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    ig_screen_text(s, 1, 1, x0 - 2, IG_ST_TABLE_HEADER, "span");
    uint64_t from = t->zoom_from[t->nzoom - 1], to = t->zoom_to[t->nzoom - 1], base = t->zoom_from[0];
    if (t->nzoom > 1) {
        char d[32], z[64];
        ig_format_duration(to - from, d, sizeof d);
        snprintf(z, sizeof z, "zoom %d: %s ", t->nzoom - 1, d);
        cell_text(s, 1, 6, x0 - 7, 1, IG_ST_TABLE_HEADER, z);
    }
    int ticks = bw / 16;
    if (ticks < 1)
        ticks = 1;
    for (int k = 0; k < ticks; k++) {
        int cell = bw * k / ticks;
        uint64_t at = from + (uint64_t)((double)(to - from) * (double)k / ticks);
        char d[40], label[48];
        ig_format_duration(at - base, d, sizeof d);
        snprintf(label, sizeof label, "%s%s", s->utf8 ? "\u2502" : "|", d);
        ig_screen_text(s, 1, x0 + cell, bw - cell, IG_ST_TABLE_HEADER, label);
    }
    (void)v;
}

static uint8_t service_style(const ig_wf_node *nd)
{
    return (uint8_t)(IG_ST_SVC0 + nd->service % IG_SVC_SHADES);
}

static void draw_name(ig_tview *v, ig_screen *s, const ig_ttrace *t, int row, uint32_t span, int nw, bool selected)
{
    const ig_wf_node *nd = &t->wf.nodes[span];
    const ig_store_span *sp = &t->trace.spans[span];
    bool match = v->has_search && ig_tview_span_matches(v, span);
    uint8_t style = selected ? IG_ST_SELECTED : match ? IG_ST_MATCH : IG_ST_NORMAL;
    ig_screen_fill(s, row, 0, nw, ' ', style);
    int x = ig_tview_indent(nw, nd->depth);
    if (nd->nchildren)
        ig_screen_fill(s, row, x, 1, (nd->flags & IG_WF_COLLAPSED) ? '+' : '-', style);
    x++;
    if (nd->flags & IG_WF_ERROR)
        ig_screen_fill(s, row, x, 1, '!', selected ? style : IG_ST_ERROR);
    x++;
    uint32_t mark = nd->flags & IG_WF_ORPHAN ? '?'
                    : nd->flags & IG_WF_CYCLE ? '@'
                    : nd->flags & IG_WF_SKEW  ? '~'
                                              : ' ';
    ig_screen_fill(s, row, x, 1, mark, style);
    x += 2;
    /* the service where it changes (and at the top) */
    int parent = nd->parent;
    if (parent < 0 || strcmp(t->trace.spans[parent].service, sp->service)) {
        int room = nw - x - 1;
        int bw = (int)ig_utf8_len(sp->service);
        if (bw > 16)
            bw = 16;
        if (bw > room / 2)
            bw = room / 2;
        if (bw > 0) {
            cell_text(s, row, x, bw, 0, service_style(nd), sp->service);
            x += bw + 1;
        }
    }
    cell_text(s, row, x, nw - x - 1, 0, style, sp->name);
}

static void draw_bar(ig_tview *v, ig_screen *s, const ig_ttrace *t, int row, uint32_t span, int x0, int bw)
{
    const ig_wf_node *nd = &t->wf.nodes[span];
    const ig_store_span *sp = &t->trace.spans[span];
    uint64_t from = t->zoom_from[t->nzoom - 1], to = t->zoom_to[t->nzoom - 1];
    int col, n;
    if (!ig_waterfall_bar(from, to, bw, sp->start_ns, sp->end_ns, &col, &n)) {
        bool before = sp->end_ns < from;
        ig_screen_fill(s, row, before ? x0 : x0 + bw - 1, 1, before ? glyph(s, 0x25c2, '<') : glyph(s, 0x25b8, '>'),
                       IG_ST_DIM);
        return;
    }
    uint8_t style = service_style(nd);
    bool critical = (nd->flags & IG_WF_CRITICAL) && !t->no_critical;
    ig_screen_fill(s, row, x0 + col, n, critical ? glyph(s, 0x2501, '=') : ' ', style);
    for (uint32_t e = 0; e < sp->nevents; e++) {
        const ig_store_event *ev = &t->trace.events[sp->first_event + e];
        int64_t c = ig_waterfall_cell(from, to, bw, ev->time_ns);
        if (c >= 0 && c < bw)
            ig_screen_fill(s, row, x0 + (int)c, 1, glyph(s, 0x25c6, '*'),
                           c >= col && c < col + n ? style : IG_ST_NORMAL);
    }
    char d[32];
    ig_format_duration(sp->end_ns - sp->start_ns, d, sizeof d);
    int len = (int)strlen(d);
    if (col + n + 1 + len <= bw)
        ig_screen_text(s, row, x0 + col + n + 1, len, IG_ST_NORMAL, d);
    else if (col >= len + 1)
        ig_screen_text(s, row, x0 + col - len - 1, len, IG_ST_NORMAL, d);
    (void)v;
}

static void draw_trace(ig_tview *v, ig_screen *s, ig_ttrace *t)
{
    int nw = ig_tview_name_width(s->w), x0 = nw + 1, bw = s->w - x0;
    draw_axis(v, s, t, x0, bw);
    int rows = s->h - 4;
    for (int r = 0; r < rows; r++) {
        size_t i = t->scroll + (size_t)r;
        if (i >= t->wf.nrows)
            break;
        uint32_t span = t->wf.rows[i];
        draw_name(v, s, t, 2 + r, span, nw, i == t->sel);
        draw_bar(v, s, t, 2 + r, span, x0, bw);
    }
    if (!t->wf.nrows)
        ig_screen_text(s, 3, 2, -1, IG_ST_DIM, "this trace has no spans");
}

static void trace_status(ig_tview *v, const ig_ttrace *t, ig_strbuf *sb)
{
    int32_t i = ig_tview_selected_span(v);
    if (i < 0)
        return;
    const ig_store_span *sp = &t->trace.spans[i];
    const ig_wf_node *nd = &t->wf.nodes[i];
    char d[32], at[32];
    ig_format_duration(sp->end_ns - sp->start_ns, d, sizeof d);
    uint64_t base = t->zoom_from[0];
    ig_format_duration(sp->start_ns - base, at, sizeof at);
    if (t->stale)
        ig_sb_puts(sb, " the trace changed: r reloads |");
    ig_sb_printf(sb, " %s (%s) | %s at +%s", sp->name, sp->service, d, at);
    if (sp->status_code == 2)
        ig_sb_printf(sb, " | ERROR%s%s", *sp->status_message ? ": " : "", sp->status_message);
    if (sp->nevents || sp->nlinks)
        ig_sb_printf(sb, " | %u event%s, %u link%s", sp->nevents, sp->nevents == 1 ? "" : "s", sp->nlinks,
                     sp->nlinks == 1 ? "" : "s");
    if (nd->flags & IG_WF_ORPHAN)
        ig_sb_puts(sb, " | parent never arrived: shown under the root");
    else if (nd->flags & IG_WF_CYCLE)
        ig_sb_puts(sb, " | its parents loop: cut here, shown under the root");
    else if (nd->flags & IG_WF_SKEW) {
        const ig_store_span *pp = &t->trace.spans[nd->parent];
        char e[32];
        bool early = sp->start_ns < pp->start_ns;
        ig_format_duration(early ? pp->start_ns - sp->start_ns : sp->end_ns - pp->end_ns, e, sizeof e);
        ig_sb_printf(sb, " | %s %s %s its parent (clock skew?)", early ? "starts" : "ends", e,
                     early ? "before" : "after");
    }
    if ((nd->flags & IG_WF_CRITICAL) && !t->no_critical)
        ig_sb_puts(sb, " | critical path");
    if (nd->nchildren && (nd->flags & IG_WF_COLLAPSED))
        ig_sb_printf(sb, " | %u %s folded", nd->nchildren, nd->nchildren == 1 ? "child" : "children");
}

/* ---- span details --------------------------------------------------------------------------- */

static void draw_span(ig_tview *v, ig_screen *s, ig_tspan *sp)
{
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    ig_strbuf title = IG_STRBUF_INIT;
    ig_sb_printf(&title, " span details (%zu lines)", sp->nlines);
    ig_screen_text(s, 1, 0, -1, IG_ST_TABLE_HEADER, title.data);
    ig_sb_free(&title);
    int rows = s->h - 4;
    for (int r = 0; r < rows; r++) {
        size_t i = sp->scroll + (size_t)r;
        if (i >= sp->nlines)
            break;
        const ig_tline *l = &sp->lines[i];
        uint8_t style = i == sp->sel ? IG_ST_SELECTED : ig_tview_matches(v, l->text) ? IG_ST_MATCH : l->style;
        if (i == sp->sel)
            ig_screen_fill(s, 2 + r, 0, s->w, ' ', style);
        /* the key of a "key  value" line is dimmed */
        int n = ig_screen_text(s, 2 + r, 1, l->key_width, style == IG_ST_NORMAL ? IG_ST_DIM : style, l->text);
        const char *rest = l->text;
        for (int k = 0; k < n && *rest; k++) {
            uint32_t cp;
            rest += ig_utf8_decode(rest, &cp);
        }
        ig_screen_text(s, 2 + r, 1 + n, -1, style, rest);
    }
}

/* ---- operations ------------------------------------------------------------------------------ */

static void sparkline(const ig_screen *s, const uint64_t *buckets, size_t n, char *out, size_t len)
{
    static const char *blocks[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587",
                                   "\u2588"};
    static const char ascii[] = " .:-=+*#%@";
    uint64_t most = 0;
    for (size_t i = 0; i < n; i++)
        if (buckets[i] > most)
            most = buckets[i];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < len; i++) {
        int level = most ? (int)((buckets[i] * 8 + most - 1) / most) : 0; /* any count shows */
        if (s->utf8) {
            size_t bl = strlen(blocks[level]);
            memcpy(out + o, blocks[level], bl);
            o += bl;
        } else {
            out[o++] = ascii[most ? (buckets[i] * 9 + most - 1) / most : 0];
        }
    }
    out[o] = 0;
}

static void ops_row(ig_screen *s, int row, const ig_store_op_stats *op, uint8_t style)
{
    const ig_tcolumn *cols = ig_tview_ops_columns();
    char count[24], errors[24], p50[32], p90[32], p99[32], spark[IG_SPAN_BOUNDS * 4 + 8];
    snprintf(count, sizeof count, "%llu", (unsigned long long)op->count);
    if (op->errors)
        snprintf(errors, sizeof errors, "%.1f%%", 100.0 * (double)op->errors / (double)op->count);
    else
        snprintf(errors, sizeof errors, "0");
    ig_format_duration(op->p50_ns, p50, sizeof p50);
    ig_format_duration(op->p90_ns, p90, sizeof p90);
    ig_format_duration(op->p99_ns, p99, sizeof p99);
    sparkline(s, op->buckets, IG_SPAN_BOUNDS + 1, spark, sizeof spark);
    const char *text[IG_OCOLS] = {op->service, op->name, count, errors, p50, p90, p99, spark};
    ig_screen_fill(s, row, 0, s->w, ' ', style);
    int x = 0;
    for (int i = 0; i < IG_OCOLS && x < s->w; i++) {
        int width = cols[i].width && i < IG_OCOLS - 1 ? cols[i].width : s->w - x;
        uint8_t st = i == IG_OCOL_ERRORS && op->errors && style == IG_ST_NORMAL ? IG_ST_ERROR : style;
        cell_text(s, row, i == IG_OCOL_HIST ? x + 2 : x, width - 1, cols[i].right, st, text[i]);
        x += width;
    }
}

static void draw_ops(ig_tview *v, ig_screen *s, ig_tops *o)
{
    table_header(v, s, ig_tview_ops_columns(), IG_OCOLS, o->sort, o->desc);
    int rows = s->h - 4;
    if (!o->ops.n)
        ig_screen_text(s, 3, 2, -1, IG_ST_DIM, "the store has no spans yet");
    for (int r = 0; r < rows; r++) {
        size_t i = o->scroll + (size_t)r;
        if (i >= o->ops.n)
            break;
        const ig_store_op_stats *op = &o->ops.ops[o->order[i]];
        uint8_t style = i == o->sel ? IG_ST_SELECTED
                        : ig_tview_matches(v, op->name) || ig_tview_matches(v, op->service) ? IG_ST_MATCH
                                                                                              : IG_ST_NORMAL;
        ops_row(s, 2 + r, op, style);
    }
}

static void ops_status(const ig_tops *o, ig_strbuf *sb)
{
    static const char *names[IG_OCOLS] = {"service", "operation", "span count", "error rate", "p50", "p90", "p99", ""};
    ig_sb_printf(sb, " operation %zu of %zu | by %s%s", o->ops.n ? o->sel + 1 : 0, o->ops.n, names[o->sort],
                 o->desc ? ", largest first" : "");
    if (o->sel < o->ops.n) {
        const ig_store_op_stats *op = &o->ops.ops[o->order[o->sel]];
        char mn[32], mx[32], mean[32];
        ig_format_duration(op->min_ns, mn, sizeof mn);
        ig_format_duration(op->max_ns, mx, sizeof mx);
        ig_format_duration((uint64_t)op->mean_ns, mean, sizeof mean);
        ig_sb_printf(sb, " | min %s mean %s max %s", mn, mean, mx);
    }
    if (o->stale)
        ig_sb_puts(sb, " | the store changed: r refreshes");
}

/* ---- the histogram ------------------------------------------------------------------------------- */

static void draw_hist(ig_tview *v, ig_screen *s, ig_thist *h)
{
    ig_screen_fill(s, 1, 0, s->w, ' ', IG_ST_TABLE_HEADER);
    char line[256], mn[32], mx[32];
    ig_format_duration(h->op.min_ns, mn, sizeof mn);
    ig_format_duration(h->op.max_ns, mx, sizeof mx);
    snprintf(line, sizeof line, " latency of %s %s: %llu span%s from %s to %s, %llu error%s", h->op.service,
             h->op.name, (unsigned long long)h->op.count, plural(h->op.count), mn, mx,
             (unsigned long long)h->op.errors, plural(h->op.errors));
    ig_screen_text(s, 1, 0, -1, IG_ST_TABLE_HEADER, line);
    int x0, bw;
    ig_tview_hist_cells(v, &x0, &bw);
    int top = 2, height = s->h - 6; /* bar rows top .. top+height-1; then the axis and labels */
    if (height < 1)
        return;
    uint64_t most = 0;
    for (size_t b = 0; b < h->nb; b++)
        if (h->counts[b] > most)
            most = h->counts[b];
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)most);
    cell_text(s, top, 0, x0 - 1, 1, IG_ST_DIM, num);
    cell_text(s, top + height - 1, 0, x0 - 1, 1, IG_ST_DIM, "0");
    for (size_t b = 0; b < h->nb; b++) {
        int x = x0 + (int)b * bw, w = bw > 1 ? bw - 1 : 1; /* a gap between buckets when there is room */
        bool sel = b == h->sel;
        if (sel)
            for (int r = 0; r < height; r++)
                ig_screen_fill(s, top + r, x, w, ' ', IG_ST_DIM);
        /* height in eighths of a cell; any count shows */
        uint64_t eighths = most ? (h->counts[b] * (uint64_t)height * 8 + most - 1) / most : 0;
        uint8_t style = sel ? IG_ST_SELECTED : IG_ST_NORMAL;
        for (int r = 0; r < height && eighths; r++) {
            uint32_t ch;
            if (eighths >= 8 || !s->utf8) {
                ch = s->utf8 ? 0x2588 : '#';
                eighths = eighths >= 8 ? eighths - 8 : 0;
            } else {
                ch = 0x2580 + (uint32_t)eighths; /* lower 1/8 .. 7/8 blocks: U+2581..U+2587 */
                eighths = 0;
            }
            ig_screen_fill(s, top + height - 1 - r, x, w, ch, style);
        }
    }
    int axis = top + height;
    ig_screen_fill(s, axis, x0, (int)h->nb * bw, glyph(s, 0x2500, '-'), IG_ST_DIM);
    /* labels: the lower bound of a bucket every so often, never overlapping */
    int free_from = x0;
    for (size_t b = 0; b < h->nb; b++) {
        char d[32];
        ig_format_duration(b ? h->bounds[b - 1] : h->op.min_ns, d, sizeof d);
        int x = x0 + (int)b * bw;
        if (x < free_from || x + (int)strlen(d) >= s->w)
            continue;
        ig_screen_fill(s, axis, x, 1, glyph(s, 0x2514, '|'), IG_ST_DIM);
        ig_screen_text(s, axis + 1, x, -1, IG_ST_DIM, d);
        free_from = x + (int)strlen(d) + 2;
    }
}

static void hist_status(const ig_thist *h, ig_strbuf *sb)
{
    if (h->sel >= h->nb)
        return;
    char lo[32], hi[32];
    ig_format_duration(h->sel ? h->bounds[h->sel - 1] : 0, lo, sizeof lo);
    ig_format_duration(h->bounds[h->sel], hi, sizeof hi);
    uint64_t c = h->counts[h->sel];
    ig_sb_printf(sb, " bucket %zu of %zu: ", h->sel + 1, h->nb);
    if (h->sel)
        ig_sb_printf(sb, "%s < ", lo);
    ig_sb_printf(sb, "duration <= %s: %llu span%s (%.1f%%) | Enter: their traces", hi, (unsigned long long)c,
                 c == 1 ? "" : "s", h->op.count ? 100.0 * (double)c / (double)h->op.count : 0.0);
    if (h->stale)
        ig_sb_puts(sb, " | the store changed: r refreshes");
}

/* ---- help and picker --------------------------------------------------------------------------- */

static const char *help_lines[] = {
    "ignis view: trace keys",
    "",
    "  arrows, h j k l   move; in a waterfall left/right fold, unfold, go to parent/child",
    "  Enter             open: trace -> waterfall -> span details -> linked trace",
    "  Esc, Backspace    back (in a zoomed waterfall: the previous zoom first)",
    "  t  p              the trace list; the operations (count, errors, p50/p90/p99)",
    "  o  O  1-7         sort by the next column / reverse / by column N (or click a title)",
    "  s  f  a  d  e  c  filter traces: service, span name regex, attribute key=value,",
    "                    duration (10ms..2s, >100ms), errors only; c clears the filters",
    "  Space  E          fold / unfold a span; unfold everything",
    "  z  +  -  <  >  0  zoom the time axis: to the span, in, out, pan, whole trace",
    "  c                 (waterfall) critical path highlight on/off",
    "  /  n  N           search by regex; next / previous match",
    "  r                 reload from the store (the operations are not reloaded by themselves)",
    "  F                 the flame graph (of --profile FILE) of the selected span and its",
    "                    descendants, or trace; in the operations: the slow-vs-fast diff of",
    "                    the operation (spans above its p90 against the rest); in the flame",
    "                    graph s picks the value (cpu, off_cpu, wall), q comes back here",
    "  mouse             click selects, double click opens, a click on a title sorts",
    "  ?  q              this help; quit",
    "",
    "  waterfall marks: ! error  ? parent never arrived (shown under the root)",
    "  @ parent loop cut  ~ clock skew (drawn at its own time, under its parent)",
    "  = critical path  * event  + folded",
};

static void draw_help(ig_screen *s)
{
    size_t n = sizeof help_lines / sizeof help_lines[0];
    int row = 1;
    for (size_t i = 0; i < n && row < s->h - 2; i++, row++)
        ig_screen_text(s, row, 1, -1, i == 0 ? IG_ST_TABLE_HEADER : IG_ST_NORMAL, help_lines[i]);
}

static void draw_pick(ig_tview *v, ig_screen *s)
{
    ig_screen_text(s, 1, 1, -1, IG_ST_TABLE_HEADER, "Show the traces of which service?");
    int rows = s->h - 5;
    size_t first = v->pick_sel >= (size_t)rows ? v->pick_sel - (size_t)rows + 1 : 0;
    for (int r = 0; r < rows && first + (size_t)r < v->npick; r++) {
        size_t i = first + (size_t)r;
        uint8_t st = i == v->pick_sel ? IG_ST_SELECTED : IG_ST_NORMAL;
        ig_screen_fill(s, 2 + r, 1, s->w - 2, ' ', st);
        ig_screen_text(s, 2 + r, 2, s->w - 4, st, v->pick_items[i]);
    }
}

/* ---- the whole screen ------------------------------------------------------------------------------ */

static void draw_status(ig_tview *v, ig_screen *s)
{
    int row = s->h - 2;
    ig_screen_fill(s, row, 0, s->w, ' ', IG_ST_STATUS);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_tpage *p = ig_tview_page(v);
    if (v->help)
        ig_sb_puts(&sb, " press any key to close the help");
    else if (v->npick)
        ig_sb_puts(&sb, " Enter: choose | Esc: cancel");
    else if (p->kind == IG_TP_LIST)
        list_status(v, &p->list, &sb);
    else if (p->kind == IG_TP_TRACE)
        trace_status(v, &p->trace, &sb);
    else if (p->kind == IG_TP_SPAN)
        ig_sb_printf(&sb, " line %zu of %zu", p->span.nlines ? p->span.sel + 1 : 0, p->span.nlines);
    else if (p->kind == IG_TP_OPS)
        ops_status(&p->ops, &sb);
    else
        hist_status(&p->hist, &sb);
    if (sb.data)
        ig_screen_text(s, row, 0, -1, IG_ST_STATUS, sb.data);
    ig_sb_free(&sb);
}

void ig_tview_render(ig_tview *v, ig_screen *s)
{
    if (v->flame) {
        ig_tflame_render(v, s);
        return;
    }
    ig_screen_clear(s);
    if (s->w < IG_MIN_W || s->h < IG_MIN_H) {
        char buf[96];
        snprintf(buf, sizeof buf, "terminal too small (%dx%d); need at least %dx%d", s->w, s->h, IG_MIN_W,
                 IG_MIN_H);
        ig_screen_text(s, s->h / 2, 0, -1, IG_ST_ERROR, buf);
        return;
    }
    ig_tview_resize(v, s->w, s->h);
    v->utf8 = s->utf8;
    draw_header(v, s);
    ig_tpage *p = ig_tview_page(v);
    if (v->help)
        draw_help(s);
    else if (v->npick)
        draw_pick(v, s);
    else if (p->kind == IG_TP_LIST)
        draw_list(v, s, &p->list);
    else if (p->kind == IG_TP_TRACE)
        draw_trace(v, s, &p->trace);
    else if (p->kind == IG_TP_SPAN)
        draw_span(v, s, &p->span);
    else if (p->kind == IG_TP_OPS)
        draw_ops(v, s, &p->ops);
    else
        draw_hist(v, s, &p->hist);
    draw_status(v, s);
    draw_bottom(v, s);
}
