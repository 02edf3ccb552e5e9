/*
 * viewer/tmodel.c — the state of the trace viewer and the actions on it
 * (viewer/tmodel.h).
 *
 * Pages form a stack; each owns what it shows and frees it when popped.
 * The trace list never holds more than a window of rows: the sorted,
 * filtered list lives in the store, and moving the selection outside the
 * window fetches the rows around it with limit/offset (about 200 rows, one
 * indexed query), so a store of a million traces opens as fast as one of a
 * hundred.  A trace page holds one loaded trace and its waterfall; the
 * time window it shows is a stack of zooms.  The span details page is
 * built in viewer/tdetails.c, the operations and histogram pages in
 * viewer/tops.c (viewer/tpages.h is what they share).  Search matches
 * rows of the page shown; in a waterfall every span, folded or not, with
 * one regexec per distinct (service, name).
 *
 * Live views poll PRAGMA data_version (ig_tview_poll): the list refetches
 * its window, keeping the selected trace; a trace page reloads only when
 * its trace grew; the operations pages are marked stale instead of
 * spending a scan of every span on each commit, and so is a list or trace
 * whose last query took longer than live_budget_ms.
 */
#include "viewer/tmodel.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/tree.h"
#include "utils/hash.h"
#include "utils/strbuf.h"
#include "viewer/tpages.h"

void ig_tview_message(ig_tview *v, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    v->message_is_error = is_error;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void ig_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- durations -------------------------------------------------------------------- */

void ig_format_duration(uint64_t ns, char *buf, size_t len)
{
    ig_format_value(ns > INT64_MAX ? INT64_MAX : (int64_t)ns, "nanoseconds", buf, len);
}

int ig_parse_duration(const char *text, uint64_t *ns, ig_err *err)
{
    static const struct { const char *unit; double scale; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
    };
    while (*text == ' ')
        text++;
    char *end;
    double v = strtod(text, &end);
    if (end == text || !(v >= 0))
        return ig_err_set(err, "'%s' is not a duration (e.g. 250us, 10ms, 1.5s)", text);
    while (*end == ' ')
        end++;
    size_t ulen = strlen(end);
    while (ulen && end[ulen - 1] == ' ')
        ulen--;
    if (ulen == 0 && v == 0) {
        *ns = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].unit) != ulen || strncmp(end, units[i].unit, ulen))
            continue;
        double d = v * units[i].scale;
        if (d > 9e18)
            return ig_err_set(err, "'%s' is too long a duration", text);
        *ns = (uint64_t)llround(d);
        return 0;
    }
    return ig_err_set(err, "'%s' is not a duration: the unit must be ns, us, ms, s, m or h", text);
}

int ig_parse_duration_range(const char *text, uint64_t *min_ns, uint64_t *max_ns, ig_err *err)
{
    *min_ns = *max_ns = 0;
    while (*text == ' ')
        text++;
    const char *dots = strstr(text, "..");
    if (dots) {
        char lo[64];
        size_t n = (size_t)(dots - text);
        if (n >= sizeof lo)
            return ig_err_set(err, "'%s' is not a duration range", text);
        memcpy(lo, text, n);
        lo[n] = '\0';
        if (n && strspn(lo, " ") != n && ig_parse_duration(lo, min_ns, err) < 0)
            return -1;
        const char *hi = dots + 2;
        if (*hi && strspn(hi, " ") != strlen(hi) && ig_parse_duration(hi, max_ns, err) < 0)
            return -1;
        if (*max_ns && *min_ns > *max_ns)
            return ig_err_set(err, "'%s': the lower bound is above the upper one", text);
        return 0;
    }
    if (text[0] == '>') {
        bool eq = text[1] == '=';
        if (ig_parse_duration(text + 1 + eq, min_ns, err) < 0)
            return -1;
        *min_ns += !eq;
        return 0;
    }
    if (text[0] == '<') {
        bool eq = text[1] == '=';
        if (ig_parse_duration(text + 1 + eq, max_ns, err) < 0)
            return -1;
        if (!eq && *max_ns == 0)
            return ig_err_set(err, "'%s': no duration is below zero", text);
        *max_ns -= !eq;
        if (*max_ns == 0) /* 0 means unbounded in the store's filter */
            return ig_err_set(err, "'%s': use a bound above 0", text);
        return 0;
    }
    return ig_parse_duration(text, min_ns, err);
}

/* ---- filters ------------------------------------------------------------------------ */

static void filter_free(ig_tfilter *f)
{
    free(f->service);
    free(f->name_regex);
    free(f->attr_key);
    free(f->attr_value);
    free(f->operation_label);
    memset(f, 0, sizeof *f);
}

static char *dup_or_null(const char *s)
{
    return s ? ig_xstrdup(s) : NULL;
}

static ig_tfilter filter_copy(const ig_tfilter *f)
{
    ig_tfilter c = *f;
    c.service = dup_or_null(f->service);
    c.name_regex = dup_or_null(f->name_regex);
    c.attr_key = dup_or_null(f->attr_key);
    c.attr_value = dup_or_null(f->attr_value);
    c.operation_label = dup_or_null(f->operation_label);
    return c;
}

static ig_trace_filter store_filter(const ig_tfilter *f)
{
    ig_trace_filter s = {
        .service = f->service, .name_regex = f->name_regex, .attr_key = f->attr_key,
        .attr_value = f->attr_value, .min_duration_ns = f->min_duration_ns,
        .max_duration_ns = f->max_duration_ns, .errors_only = f->errors_only, .operation = f->operation,
        .op_min_duration_ns = f->op_min_ns, .op_max_duration_ns = f->op_max_ns,
    };
    return s;
}

/* ---- pages ------------------------------------------------------------------------------ */

void ig_tpage_free(ig_tpage *p)
{
    if (!p)
        return;
    switch (p->kind) {
    case IG_TP_LIST:
        filter_free(&p->list.filter);
        ig_trace_list_free(&p->list.win);
        break;
    case IG_TP_TRACE:
        ig_waterfall_free(&p->trace.wf);
        ig_store_trace_free(&p->trace.trace);
        free(p->trace.match);
        break;
    case IG_TP_SPAN: ig_tdetails_free(&p->span); break;
    case IG_TP_OPS:
        ig_store_ops_free(&p->ops.ops);
        free(p->ops.order);
        break;
    case IG_TP_HIST:
        free(p->hist.names);
        break;
    }
    free(p);
}

ig_tpage *ig_tpage_new(ig_tpage_kind kind)
{
    ig_tpage *p = ig_xcalloc(1, sizeof *p);
    p->kind = kind;
    return p;
}

ig_tpage *ig_tview_page(const ig_tview *v)
{
    return v->npages ? v->pages[v->npages - 1] : NULL;
}

/* Pushes p; a full stack forgets its oldest page above the first list. */
void ig_tpage_push(ig_tview *v, ig_tpage *p)
{
    if (v->npages == IG_TPAGES_MAX) {
        ig_tpage_free(v->pages[1]);
        memmove(&v->pages[1], &v->pages[2], (IG_TPAGES_MAX - 2) * sizeof v->pages[0]);
        v->npages--;
    }
    v->pages[v->npages++] = p;
}

void ig_tpage_pop(ig_tview *v)
{
    if (v->npages <= 1)
        return;
    ig_tpage_free(v->pages[--v->npages]);
}

/* Rows of the screen that show table rows, waterfall rows or lines. */
size_t ig_tview_body_rows(const ig_tview *v)
{
    return v->height > 5 ? (size_t)(v->height - 4) : 1;
}

/* ---- the trace list -------------------------------------------------------------------- */

static const ig_tcolumn list_columns[IG_TCOLS] = {
    [IG_TCOL_START] = {"start", 19, 0},   [IG_TCOL_DURATION] = {"duration", 10, 1},
    [IG_TCOL_SPANS] = {"spans", 7, 1},    [IG_TCOL_ERRORS] = {"errors", 7, 1},
    [IG_TCOL_SERVICE] = {"service", 17, 0}, [IG_TCOL_NAME] = {"root span", 0, 0},
};

static const ig_tcolumn ops_columns[IG_OCOLS] = {
    [IG_OCOL_SERVICE] = {"service", 14, 0}, [IG_OCOL_NAME] = {"operation", 22, 0},
    [IG_OCOL_COUNT] = {"spans", 8, 1},      [IG_OCOL_ERRORS] = {"errors", 8, 1},
    [IG_OCOL_P50] = {"p50", 9, 1},          [IG_OCOL_P90] = {"p90", 9, 1},
    [IG_OCOL_P99] = {"p99", 9, 1},          [IG_OCOL_HIST] = {"  latency (2ms..15s)", 0, 0},
};

const ig_tcolumn *ig_tview_list_columns(void) { return list_columns; }
const ig_tcolumn *ig_tview_ops_columns(void) { return ops_columns; }

int ig_tview_column_at(const ig_tcolumn *cols, int ncols, int w, int col)
{
    int x = 0;
    for (int i = 0; i < ncols; i++) {
        int width = cols[i].width && i < ncols - 1 ? cols[i].width : w - x;
        if (col >= x && col < x + width)
            return i;
        x += width;
    }
    return -1;
}

static ig_trace_sort list_sort_key(int column)
{
    static const ig_trace_sort keys[IG_TCOLS] = {
        [IG_TCOL_START] = IG_TRACE_SORT_START, [IG_TCOL_DURATION] = IG_TRACE_SORT_DURATION,
        [IG_TCOL_SPANS] = IG_TRACE_SORT_SPANS, [IG_TCOL_ERRORS] = IG_TRACE_SORT_ERRORS,
        [IG_TCOL_SERVICE] = IG_TRACE_SORT_SERVICE, [IG_TCOL_NAME] = IG_TRACE_SORT_NAME,
    };
    return column >= 0 && column < IG_TCOLS ? keys[column] : IG_TRACE_SORT_START;
}

static size_t list_window_size(const ig_tview *v)
{
    size_t rows = ig_tview_body_rows(v);
    return rows * 3 > 200 ? rows * 3 : 200;
}

/* Fetches the window of rows that starts at offset. */
static int list_fetch(ig_tview *v, ig_tlist *l, size_t offset, ig_err *err)
{
    ig_trace_filter f = store_filter(&l->filter);
    ig_trace_list rows;
    double t0 = now_ms();
    if (ig_store_list_traces(v->store, &f, list_sort_key(l->sort), l->desc, offset, list_window_size(v), &rows,
                             err) < 0)
        return -1;
    l->fetch_ms = now_ms() - t0;
    l->stale = false;
    ig_trace_list_free(&l->win);
    l->win = rows;
    l->win_off = offset;
    l->total = rows.total;
    return 0;
}

/* Keeps the selection in the list and on screen, and the rows on screen
 * in the window (fetching another window when they are not). */
static int list_settle(ig_tview *v, ig_tlist *l, ig_err *err)
{
    size_t rows = ig_tview_body_rows(v);
    for (int pass = 0; pass < 2; pass++) {
        if (l->sel >= l->total)
            l->sel = l->total ? l->total - 1 : 0;
        if (l->sel < l->scroll)
            l->scroll = l->sel;
        if (l->sel >= l->scroll + rows)
            l->scroll = l->sel - rows + 1;
        size_t want_end = l->scroll + rows < l->total ? l->scroll + rows : l->total;
        if (l->scroll >= l->win_off && want_end <= l->win_off + l->win.n && (l->win.n || !l->total))
            return 0;
        size_t margin = (list_window_size(v) - rows) / 2;
        if (list_fetch(v, l, l->scroll > margin ? l->scroll - margin : 0, err) < 0)
            return -1;
    }
    return 0;
}

const ig_trace_row *ig_tview_selected_trace(const ig_tview *v)
{
    const ig_tpage *p = ig_tview_page(v);
    if (!p || p->kind != IG_TP_LIST)
        return NULL;
    const ig_tlist *l = &p->list;
    if (l->sel < l->win_off || l->sel >= l->win_off + l->win.n)
        return NULL;
    return &l->win.rows[l->sel - l->win_off];
}

/* Reloads the list from the start of its window, keeping the selected trace. */
static int list_reload(ig_tview *v, ig_tlist *l, ig_err *err)
{
    int64_t keep = 0;
    if (l->sel >= l->win_off && l->sel < l->win_off + l->win.n)
        keep = l->win.rows[l->sel - l->win_off].id;
    if (list_fetch(v, l, l->win_off, err) < 0)
        return -1;
    for (size_t i = 0; keep && i < l->win.n; i++)
        if (l->win.rows[i].id == keep) {
            l->sel = l->win_off + i;
            break;
        }
    return list_settle(v, l, err);
}

ig_tpage *ig_tlist_page_new(ig_tview *v, ig_tfilter filter, int sort, ig_err *err)
{
    ig_tpage *p = ig_tpage_new(IG_TP_LIST);
    p->list.filter = filter;
    p->list.sort = sort;
    p->list.desc = true;
    if (list_fetch(v, &p->list, 0, err) < 0) {
        ig_tpage_free(p);
        return NULL;
    }
    return p;
}

/* Applies a changed filter to the shown list; on failure it is put back. */
static int list_apply(ig_tview *v, ig_tfilter *old)
{
    ig_tlist *l = &ig_tview_page(v)->list;
    ig_err err;
    size_t sel = l->sel, scroll = l->scroll;
    l->sel = l->scroll = 0;
    if (list_fetch(v, l, 0, &err) < 0 || list_settle(v, l, &err) < 0) {
        filter_free(&l->filter);
        l->filter = *old;
        l->sel = sel;
        l->scroll = scroll;
        ig_tview_message(v, 1, "%s", err.msg);
        ig_err again; /* the rows of the filter put back (when the store answers) */
        if (list_fetch(v, l, l->win_off, &again) == 0)
            list_settle(v, l, &again);
        return -1;
    }
    filter_free(old);
    ig_tview_message(v, 0, "%llu trace%s", (unsigned long long)l->total, l->total == 1 ? " matches" : "s match");
    return 0;
}

static ig_tlist *shown_list(ig_tview *v)
{
    ig_tpage *p = ig_tview_page(v);
    if (!p || p->kind != IG_TP_LIST) {
        ig_tview_message(v, 1, "filters apply to the trace list (t shows it)");
        return NULL;
    }
    return &p->list;
}

static void set_string(char **slot, const char *s)
{
    *slot = s && *s ? ig_xstrdup(s) : NULL;
}

int ig_tview_filter_service(ig_tview *v, const char *service)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    ig_tfilter old = filter_copy(&l->filter);
    free(l->filter.service);
    set_string(&l->filter.service, service);
    return list_apply(v, &old);
}

int ig_tview_filter_name(ig_tview *v, const char *regex)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    ig_tfilter old = filter_copy(&l->filter);
    free(l->filter.name_regex);
    set_string(&l->filter.name_regex, regex);
    return list_apply(v, &old);
}

int ig_tview_filter_attr(ig_tview *v, const char *key_eq_value)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    const char *eq = key_eq_value ? strchr(key_eq_value, '=') : NULL;
    if (key_eq_value && *key_eq_value && (!eq || eq == key_eq_value)) {
        ig_tview_message(v, 1, "attribute: '%s' is not key=value", key_eq_value);
        return -1;
    }
    ig_tfilter old = filter_copy(&l->filter);
    free(l->filter.attr_key);
    free(l->filter.attr_value);
    l->filter.attr_key = l->filter.attr_value = NULL;
    if (eq) {
        l->filter.attr_key = ig_xstrdup(key_eq_value);
        l->filter.attr_key[eq - key_eq_value] = '\0';
        l->filter.attr_value = ig_xstrdup(eq + 1);
    }
    return list_apply(v, &old);
}

int ig_tview_filter_duration(ig_tview *v, const char *range)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    uint64_t lo = 0, hi = 0;
    ig_err err;
    if (range && *range && ig_parse_duration_range(range, &lo, &hi, &err) < 0) {
        ig_tview_message(v, 1, "duration: %s", err.msg);
        return -1;
    }
    ig_tfilter old = filter_copy(&l->filter);
    l->filter.min_duration_ns = lo;
    l->filter.max_duration_ns = hi;
    return list_apply(v, &old);
}

int ig_tview_filter_errors(ig_tview *v, bool on)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    ig_tfilter old = filter_copy(&l->filter);
    l->filter.errors_only = on;
    return list_apply(v, &old);
}

int ig_tview_filter_clear(ig_tview *v)
{
    ig_tlist *l = shown_list(v);
    if (!l)
        return -1;
    ig_tfilter old = l->filter;
    memset(&l->filter, 0, sizeof l->filter);
    return list_apply(v, &old);
}

/* ---- sorting -------------------------------------------------------------------------------- */

int ig_tview_set_sort(ig_tview *v, int column, bool desc)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_OPS) {
        if (column < 0 || column >= IG_OCOLS)
            return -1;
        p->ops.sort = column;
        p->ops.desc = desc;
        ig_tops_sort(&p->ops);
        ig_tops_settle(v, &p->ops);
        return 0;
    }
    if (p->kind != IG_TP_LIST || column < 0 || column >= IG_TCOLS)
        return -1;
    ig_tlist *l = &p->list;
    int old_sort = l->sort;
    bool old_desc = l->desc;
    l->sort = column;
    l->desc = desc;
    l->sel = l->scroll = 0;
    ig_err err;
    if (list_fetch(v, l, 0, &err) < 0 || list_settle(v, l, &err) < 0) {
        l->sort = old_sort;
        l->desc = old_desc;
        ig_tview_message(v, 1, "%s", err.msg);
        ig_err again; /* the rows of the order put back (when the store answers) */
        if (list_fetch(v, l, 0, &again) == 0)
            list_settle(v, l, &again);
        return -1;
    }
    return 0;
}

/* ---- one trace --------------------------------------------------------------------------------- */

static size_t trace_rows(const ig_tview *v)
{
    return ig_tview_body_rows(v);
}

static void trace_settle(ig_tview *v, ig_ttrace *t)
{
    size_t rows = trace_rows(v), n = t->wf.nrows;
    if (t->sel >= n)
        t->sel = n ? n - 1 : 0;
    if (t->sel < t->scroll)
        t->scroll = t->sel;
    if (t->sel >= t->scroll + rows)
        t->scroll = t->sel - rows + 1;
}

void ig_ttrace_select(ig_tview *v, ig_ttrace *t, int32_t span)
{
    if (span < 0)
        return;
    ig_waterfall_reveal(&t->wf, (uint32_t)span);
    if (t->wf.row_of[span] != IG_WF_NONE)
        t->sel = t->wf.row_of[span];
    trace_settle(v, t);
}

void ig_tview_select_span(ig_tview *v, int32_t span)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_TRACE && span >= 0 && (size_t)span < p->trace.trace.nspans)
        ig_ttrace_select(v, &p->trace, span);
}

int32_t ig_tview_selected_span(const ig_tview *v)
{
    const ig_tpage *p = ig_tview_page(v);
    if (!p || p->kind != IG_TP_TRACE || !p->trace.wf.nrows)
        return -1;
    return (int32_t)p->trace.wf.rows[p->trace.sel];
}

/* Loads a trace into t (fresh, or replacing what t shows). */
static int trace_load(ig_tview *v, ig_ttrace *t, int64_t trace, ig_err *err)
{
    ig_store_trace loaded;
    double t0 = now_ms();
    if (ig_store_load_trace(v->store, trace, &loaded, err) < 0)
        return -1;
    t->load_ms = now_ms() - t0;
    t->stale = false;
    ig_waterfall_free(&t->wf);
    ig_store_trace_free(&t->trace);
    free(t->match);
    t->trace = loaded;
    ig_waterfall_build(&t->wf, &t->trace);
    t->match = ig_xcalloc(t->trace.nspans ? t->trace.nspans : 1, 1);
    t->match_known = false;
    t->zoom_from[0] = t->trace.start_ns;
    t->zoom_to[0] = t->trace.end_ns;
    for (size_t i = 0; i < t->trace.nspans; i++) { /* the summary row may lag a reload */
        if (t->trace.spans[i].start_ns < t->zoom_from[0])
            t->zoom_from[0] = t->trace.spans[i].start_ns;
        if (t->trace.spans[i].end_ns > t->zoom_to[0])
            t->zoom_to[0] = t->trace.spans[i].end_ns;
    }
    if (t->nzoom < 1)
        t->nzoom = 1;
    return 0;
}

int ig_tview_open_trace(ig_tview *v, int64_t trace, const uint8_t *span_id)
{
    ig_tpage *p = ig_tpage_new(IG_TP_TRACE);
    ig_err err;
    if (trace_load(v, &p->trace, trace, &err) < 0) {
        ig_tpage_free(p);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    ig_tpage_push(v, p);
    if (span_id)
        ig_ttrace_select(v, &p->trace, ig_waterfall_find_span(&p->trace.wf, span_id));
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t span_key(const ig_store_span *sp)
{
    uint64_t k;
    memcpy(&k, sp->span_id, 8);
    return k;
}

/* Reloads the shown trace, keeping the selection, folded spans and zoom.
 * Folded spans are found again by id: sorted, one bisection per span. */
static int trace_reload(ig_tview *v, ig_ttrace *t, ig_err *err)
{
    uint8_t sel_id[8] = {0};
    int32_t sel = t->wf.nrows ? (int32_t)t->wf.rows[t->sel] : -1;
    if (sel >= 0)
        memcpy(sel_id, t->trace.spans[sel].span_id, 8);
    size_t ncollapsed = 0;
    uint64_t *collapsed = ig_xmalloc((t->trace.nspans ? t->trace.nspans : 1) * sizeof *collapsed);
    for (size_t i = 0; i < t->trace.nspans; i++)
        if (t->wf.nodes[i].flags & IG_WF_COLLAPSED)
            collapsed[ncollapsed++] = span_key(&t->trace.spans[i]);
    qsort(collapsed, ncollapsed, sizeof *collapsed, cmp_u64);
    int rc = trace_load(v, t, t->trace.id, err);
    if (rc == 0) {
        for (size_t i = 0; ncollapsed && i < t->trace.nspans; i++) {
            uint64_t k = span_key(&t->trace.spans[i]);
            if (bsearch(&k, collapsed, ncollapsed, sizeof *collapsed, cmp_u64))
                t->wf.nodes[i].flags |= IG_WF_COLLAPSED;
        }
        if (ncollapsed)
            ig_waterfall_relayout(&t->wf);
        if (sel >= 0)
            ig_ttrace_select(v, t, ig_waterfall_find_span(&t->wf, sel_id));
    }
    free(collapsed);
    return rc;
}

/* Whether the stored trace changed since t was loaded: its summary row,
 * found among the traces that start when it starts. */
static bool trace_changed(ig_tview *v, const ig_ttrace *t)
{
    ig_trace_filter f = {.start_from_ns = t->trace.start_ns, .start_to_ns = t->trace.start_ns + 1};
    ig_trace_list l;
    ig_err err;
    if (ig_store_list_traces(v->store, &f, IG_TRACE_SORT_START, false, 0, 64, &l, &err) < 0)
        return false;
    bool changed = true;
    for (size_t i = 0; i < l.n; i++)
        if (l.rows[i].id == t->trace.id)
            changed = l.rows[i].span_count != t->trace.nspans || l.rows[i].end_ns != t->trace.end_ns;
    ig_trace_list_free(&l);
    return changed;
}

void ig_tview_collapse(ig_tview *v, int how)
{
    int32_t s = ig_tview_selected_span(v);
    if (s < 0)
        return;
    ig_ttrace *t = &ig_tview_page(v)->trace;
    if (!t->wf.nodes[s].nchildren)
        return;
    bool collapsed = (t->wf.nodes[s].flags & IG_WF_COLLAPSED) != 0;
    bool want = how < 0 ? !collapsed : how > 0;
    if (want != collapsed)
        ig_waterfall_set_collapsed(&t->wf, (uint32_t)s, want);
    t->sel = t->wf.row_of[s];
    trace_settle(v, t);
}

static void zoom_push(ig_tview *v, ig_ttrace *t, uint64_t from, uint64_t to)
{
    if (to <= from)
        to = from + 1;
    uint64_t cf = t->zoom_from[t->nzoom - 1], ct = t->zoom_to[t->nzoom - 1];
    if (from == cf && to == ct)
        return;
    if (t->nzoom == IG_TZOOM_MAX) {
        memmove(&t->zoom_from[1], &t->zoom_from[2], (IG_TZOOM_MAX - 2) * sizeof t->zoom_from[0]);
        memmove(&t->zoom_to[1], &t->zoom_to[2], (IG_TZOOM_MAX - 2) * sizeof t->zoom_to[0]);
        t->nzoom--;
    }
    t->zoom_from[t->nzoom] = from;
    t->zoom_to[t->nzoom] = to;
    t->nzoom++;
    char d[32];
    ig_format_duration(to - from, d, sizeof d);
    ig_tview_message(v, 0, "showing %s (Esc or 0 shows the whole trace)", d);
}

void ig_tview_zoom_span(ig_tview *v)
{
    int32_t s = ig_tview_selected_span(v);
    if (s < 0)
        return;
    ig_ttrace *t = &ig_tview_page(v)->trace;
    const ig_store_span *sp = &t->trace.spans[s];
    zoom_push(v, t, sp->start_ns, sp->end_ns);
}

void ig_tview_zoom(ig_tview *v, int in)
{
    int32_t s = ig_tview_selected_span(v);
    if (s < 0)
        return;
    ig_ttrace *t = &ig_tview_page(v)->trace;
    uint64_t from = t->zoom_from[t->nzoom - 1], to = t->zoom_to[t->nzoom - 1], len = to - from;
    uint64_t all_from = t->zoom_from[0], all_to = t->zoom_to[0], all = all_to - all_from;
    uint64_t width = in ? len / 2 : len * 2;
    if (width == 0)
        width = 1;
    if (width >= all) {
        t->nzoom = 1;
        return;
    }
    /* centred on the selected span when it is in the window */
    const ig_store_span *sp = &t->trace.spans[s];
    uint64_t mid = sp->start_ns / 2 + sp->end_ns / 2;
    if (mid < from || mid > to)
        mid = from + len / 2;
    uint64_t lo = mid - all_from > width / 2 ? mid - width / 2 : all_from;
    if (lo + width > all_to)
        lo = all_to - width;
    zoom_push(v, t, lo, lo + width);
}

void ig_tview_pan(ig_tview *v, int dir)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind != IG_TP_TRACE)
        return;
    ig_ttrace *t = &p->trace;
    if (t->nzoom <= 1)
        return; /* the whole trace is on screen */
    uint64_t from = t->zoom_from[t->nzoom - 1], to = t->zoom_to[t->nzoom - 1], step = (to - from) / 4 + 1;
    if (dir < 0) {
        step = from - t->zoom_from[0] < step ? from - t->zoom_from[0] : step;
        from -= step, to -= step;
    } else {
        step = t->zoom_to[0] - to < step ? (t->zoom_to[0] > to ? t->zoom_to[0] - to : 0) : step;
        from += step, to += step;
    }
    t->zoom_from[t->nzoom - 1] = from;
    t->zoom_to[t->nzoom - 1] = to;
}

/* ---- search ------------------------------------------------------------------------------------ */

int ig_tview_matches(const ig_tview *v, const char *text)
{
    return v->has_search && text && regexec(&v->search_re, text, 0, NULL, 0) == 0;
}

/* Matches every span of t at once: one regexec per distinct (service,
 * name), found by their pointers (the store interns them per operation). */
static void compute_span_matches(ig_tview *v, ig_ttrace *t)
{
    size_t n = t->trace.nspans, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    struct memo { const char *name, *service; int8_t m; } *memo = ig_xcalloc(cap, sizeof *memo);
    for (size_t i = 0; i < n; i++) {
        const ig_store_span *sp = &t->trace.spans[i];
        uint64_t h = ig_hash_u64(ig_hash_mix((uint64_t)(uintptr_t)sp->name), (uint64_t)(uintptr_t)sp->service);
        size_t k = h & (cap - 1);
        while (memo[k].name && (memo[k].name != sp->name || memo[k].service != sp->service))
            k = (k + 1) & (cap - 1);
        if (!memo[k].name)
            memo[k] = (struct memo){sp->name, sp->service,
                                    (int8_t)(ig_tview_matches(v, sp->name) || ig_tview_matches(v, sp->service))};
        t->match[i] = memo[k].m;
    }
    free(memo);
    t->match_known = true;
}

int ig_tview_span_matches(ig_tview *v, uint32_t span)
{
    ig_tpage *p = ig_tview_page(v);
    if (!v->has_search || p->kind != IG_TP_TRACE || span >= p->trace.trace.nspans)
        return 0;
    if (!p->trace.match_known)
        compute_span_matches(v, &p->trace);
    return p->trace.match[span];
}

static void clear_span_matches(ig_tview *v)
{
    for (int i = 0; i < v->npages; i++)
        if (v->pages[i]->kind == IG_TP_TRACE)
            v->pages[i]->trace.match_known = false;
}

int ig_tview_set_search(ig_tview *v, const char *regex)
{
    if (v->has_search)
        regfree(&v->search_re);
    v->has_search = 0;
    free(v->search);
    v->search = NULL;
    clear_span_matches(v);
    if (!regex || !*regex)
        return 0;
    int rc = regcomp(&v->search_re, regex, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char buf[128];
        regerror(rc, &v->search_re, buf, sizeof buf);
        ig_tview_message(v, 1, "search: invalid regular expression '%s': %s", regex, buf);
        return -1;
    }
    v->has_search = 1;
    v->search = ig_xstrdup(regex);
    return 0;
}

/* The next index after `from` (wrapping) in [0, n) for which match says yes. */
static long next_index(ig_tview *v, size_t from, size_t n, int dir, int (*match)(ig_tview *, size_t, void *),
                       void *ctx)
{
    for (size_t k = 1; k <= n; k++) {
        size_t i = (from + n + (dir > 0 ? k : n - k)) % n;
        if (match(v, i, ctx))
            return (long)i;
    }
    return -1;
}

static int list_row_matches(ig_tview *v, size_t i, void *ctx)
{
    const ig_tlist *l = ctx;
    return ig_tview_matches(v, l->win.rows[i].root_name) || ig_tview_matches(v, l->win.rows[i].root_service);
}

static int ops_row_matches(ig_tview *v, size_t i, void *ctx)
{
    const ig_tops *o = ctx;
    const ig_store_op_stats *op = &o->ops.ops[o->order[i]];
    return ig_tview_matches(v, op->name) || ig_tview_matches(v, op->service);
}

static int line_matches(ig_tview *v, size_t i, void *ctx)
{
    return ig_tview_matches(v, ((const ig_tspan *)ctx)->lines[i].text);
}

/* The next matching span in tree order (collapsed spans included). */
static void next_span_match(ig_tview *v, ig_ttrace *t, int dir)
{
    size_t n = t->trace.nspans;
    if (!n)
        return;
    /* tree order of every span, with collapsed ones: walk the links */
    uint32_t *order = ig_xmalloc(n * sizeof *order), *pos = ig_xmalloc(n * sizeof *pos);
    size_t k = 0;
    for (int32_t s = t->wf.first_top; s >= 0;) {
        pos[s] = (uint32_t)k;
        order[k++] = (uint32_t)s;
        const ig_wf_node *nd = &t->wf.nodes[s];
        if (nd->first_child >= 0) {
            s = nd->first_child;
            continue;
        }
        while (s >= 0 && t->wf.nodes[s].next_sibling < 0)
            s = t->wf.nodes[s].parent;
        s = s >= 0 ? t->wf.nodes[s].next_sibling : -1;
    }
    int32_t cur = ig_tview_selected_span(v);
    size_t from = cur >= 0 ? pos[cur] : 0;
    long found = -1;
    for (size_t j = 1; j <= k && found < 0; j++) {
        size_t i = (from + k + (dir > 0 ? j : k - j)) % k;
        if (ig_tview_span_matches(v, order[i]))
            found = (long)order[i];
    }
    free(order);
    free(pos);
    if (found < 0)
        ig_tview_message(v, 0, "no span matches /%s", v->search);
    else
        ig_ttrace_select(v, t, (int32_t)found);
}

void ig_tview_next_match(ig_tview *v, int dir)
{
    if (!v->has_search)
        return;
    ig_tpage *p = ig_tview_page(v);
    long i = -1;
    switch (p->kind) {
    case IG_TP_LIST: {
        ig_tlist *l = &p->list;
        if (!l->win.n)
            break;
        size_t from = l->sel >= l->win_off ? l->sel - l->win_off : 0;
        i = next_index(v, from, l->win.n, dir, list_row_matches, l);
        if (i >= 0) {
            l->sel = l->win_off + (size_t)i;
            ig_err err;
            if (list_settle(v, l, &err) < 0)
                ig_tview_message(v, 1, "%s", err.msg);
        } else {
            ig_tview_message(v, 0, "no other match among the %zu traces loaded around the selection", l->win.n);
        }
        return;
    }
    case IG_TP_TRACE: next_span_match(v, &p->trace, dir); return;
    case IG_TP_SPAN:
        if (p->span.nlines && (i = next_index(v, p->span.sel, p->span.nlines, dir, line_matches, &p->span)) >= 0) {
            p->span.sel = (size_t)i;
            ig_tview_move(v, 0); /* scrolls to it */
        }
        break;
    case IG_TP_OPS:
        if (p->ops.ops.n && (i = next_index(v, p->ops.sel, p->ops.ops.n, dir, ops_row_matches, &p->ops)) >= 0) {
            p->ops.sel = (size_t)i;
            ig_tops_settle(v, &p->ops);
        }
        break;
    case IG_TP_HIST: break;
    }
    if (i < 0)
        ig_tview_message(v, 0, "no other match");
}

/* ---- moving ------------------------------------------------------------------------------------- */

static size_t moved(size_t pos, size_t n, long delta)
{
    if (!n)
        return 0;
    if (delta == LONG_MIN)
        return 0;
    if (delta == LONG_MAX)
        return n - 1;
    if (delta < 0)
        return (size_t)-delta > pos ? 0 : pos - (size_t)-delta;
    return pos + (size_t)delta >= n ? n - 1 : pos + (size_t)delta;
}

void ig_tview_move(ig_tview *v, long delta)
{
    ig_tpage *p = ig_tview_page(v);
    ig_err err;
    switch (p->kind) {
    case IG_TP_LIST:
        p->list.sel = moved(p->list.sel, p->list.total, delta);
        if (list_settle(v, &p->list, &err) < 0)
            ig_tview_message(v, 1, "%s", err.msg);
        break;
    case IG_TP_TRACE:
        p->trace.sel = moved(p->trace.sel, p->trace.wf.nrows, delta);
        trace_settle(v, &p->trace);
        break;
    case IG_TP_SPAN: {
        ig_tspan *s = &p->span;
        s->sel = moved(s->sel, s->nlines, delta);
        size_t rows = ig_tview_body_rows(v);
        if (s->sel < s->scroll)
            s->scroll = s->sel;
        if (s->sel >= s->scroll + rows)
            s->scroll = s->sel - rows + 1;
        break;
    }
    case IG_TP_OPS:
        p->ops.sel = moved(p->ops.sel, p->ops.ops.n, delta);
        ig_tops_settle(v, &p->ops);
        break;
    case IG_TP_HIST:
        p->hist.sel = moved(p->hist.sel, p->hist.nb, delta);
        break;
    }
}

static void settle_stale(ig_tview *v);

/* ---- opening and going back ---------------------------------------------------------------------- */

int ig_tview_open(ig_tview *v)
{
    ig_tpage *p = ig_tview_page(v);
    switch (p->kind) {
    case IG_TP_LIST: {
        const ig_trace_row *r = ig_tview_selected_trace(v);
        if (r && r->span_count > v->max_trace_spans) {
            ig_tview_message(v, 1, "this trace has %u spans; the waterfall shows traces of up to %zu", r->span_count,
                             v->max_trace_spans);
            return -1;
        }
        return r ? ig_tview_open_trace(v, r->id, NULL) : -1;
    }
    case IG_TP_TRACE: return ig_tdetails_open(v);
    case IG_TP_SPAN: return ig_tdetails_follow_link(v, &p->span);
    case IG_TP_OPS:
        if (p->ops.sel >= p->ops.ops.n)
            return -1;
        return ig_thist_open(v, &p->ops.ops.ops[p->ops.order[p->ops.sel]]);
    case IG_TP_HIST: return ig_thist_list_bucket(v, &p->hist);
    }
    return -1;
}

void ig_tview_back(ig_tview *v)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_TRACE && p->trace.nzoom > 1) {
        p->trace.nzoom--;
        return;
    }
    ig_tpage_pop(v);
    settle_stale(v);
}

/* ---- refreshing ------------------------------------------------------------------------------------- */

/* The store's trace and span counts (a scan of the traces table). */
static void summary_load(ig_tview *v)
{
    ig_err err;
    double t0 = now_ms();
    if (ig_store_summary_get(v->store, &v->summary, &err) == 0)
        v->summary_ms = now_ms() - t0;
}

int ig_tview_refresh(ig_tview *v)
{
    ig_tpage *p = ig_tview_page(v);
    ig_err err;
    int rc = 0;
    summary_load(v);
    switch (p->kind) {
    case IG_TP_LIST: rc = list_reload(v, &p->list, &err); break;
    case IG_TP_TRACE: rc = trace_reload(v, &p->trace, &err); break;
    case IG_TP_OPS:
        rc = ig_tops_load(v, &p->ops, &err);
        if (rc == 0)
            ig_tops_settle(v, &p->ops);
        break;
    case IG_TP_HIST:
        rc = ig_thist_load(v, &p->hist, &err);
        p->hist.stale = rc < 0;
        break;
    case IG_TP_SPAN: break;
    }
    if (rc < 0)
        ig_tview_message(v, 1, "%s", err.msg);
    return rc;
}

/* Reloads the page shown when the store changed under it and reloading
 * is cheap enough to do unasked. */
static void settle_stale(ig_tview *v)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_LIST && p->list.stale && p->list.fetch_ms <= v->live_budget_ms) {
        ig_tview_refresh(v);
    } else if (p->kind == IG_TP_TRACE && p->trace.stale) {
        if (!trace_changed(v, &p->trace))
            p->trace.stale = false;
        else if (p->trace.load_ms <= v->live_budget_ms)
            ig_tview_refresh(v);
    }
}

int ig_tview_poll(ig_tview *v)
{
    uint64_t dv = ig_store_data_version(v->store);
    if (dv == v->data_version)
        return 0;
    v->data_version = dv;
    if (v->summary_ms <= v->live_budget_ms)
        summary_load(v);
    for (int i = 0; i < v->npages; i++) {
        ig_tpage *p = v->pages[i];
        if (p->kind == IG_TP_LIST)
            p->list.stale = true;
        else if (p->kind == IG_TP_TRACE)
            p->trace.stale = true;
        else if (p->kind == IG_TP_OPS)
            p->ops.stale = true;
        else if (p->kind == IG_TP_HIST)
            p->hist.stale = true;
    }
    settle_stale(v);
    return 1;
}

/* ---- life cycle --------------------------------------------------------------------------------------- */

ig_tview *ig_tview_new(ig_store *s, const char *title, ig_err *err)
{
    ig_tview *v = ig_xcalloc(1, sizeof *v);
    v->store = s;
    v->title = ig_xstrdup(title ? title : ig_store_path(s));
    v->width = 80;
    v->height = 24;
    v->live_budget_ms = 150;
    v->max_trace_spans = IG_TRACE_SPANS_MAX;
    v->data_version = ig_store_data_version(s);
    ig_tfilter none = {0};
    ig_tpage *p;
    double t0 = now_ms();
    if (ig_store_summary_get(s, &v->summary, err) < 0 || !(p = ig_tlist_page_new(v, none, IG_TCOL_START, err))) {
        ig_tview_free(v);
        return NULL;
    }
    v->summary_ms = now_ms() - t0 - p->list.fetch_ms;
    ig_tpage_push(v, p);
    return v;
}

void ig_tview_free(ig_tview *v)
{
    if (!v)
        return;
    ig_tview_close_flame(v);
    ig_tview_set_profile(v, NULL, NULL);
    while (v->npages)
        ig_tpage_free(v->pages[--v->npages]);
    if (v->has_search)
        regfree(&v->search_re);
    for (size_t i = 0; i < v->npick; i++)
        free(v->pick_items[i]);
    free(v->pick_items);
    for (int k = 0; k < IG_TPROMPT_KINDS; k++)
        ig_history_free(&v->history[k]);
    free(v->search);
    free(v->title);
    free(v);
}

void ig_tview_resize(ig_tview *v, int width, int height)
{
    if (v->width == width && v->height == height)
        return;
    v->width = width;
    v->height = height;
    ig_tpage *p = ig_tview_page(v);
    ig_err err;
    switch (p->kind) {
    case IG_TP_LIST:
        if (list_settle(v, &p->list, &err) < 0)
            ig_tview_message(v, 1, "%s", err.msg);
        break;
    case IG_TP_TRACE: trace_settle(v, &p->trace); break;
    case IG_TP_OPS: ig_tops_settle(v, &p->ops); break;
    default: ig_tview_move(v, 0); break;
    }
}

int ig_tview_name_width(int w)
{
    int nw = w * 2 / 5;
    return nw < 20 ? 20 : nw > 64 ? 64 : nw;
}

int ig_tview_indent(int name_width, uint32_t depth)
{
    int most = name_width / 3;
    return depth > (uint32_t)most / 2 ? most / 2 * 2 : (int)depth * 2;
}

void ig_tview_hist_cells(const ig_tview *v, int *x0, int *bucket_width)
{
    const ig_tpage *p = ig_tview_page(v);
    size_t nb = p && p->kind == IG_TP_HIST && p->hist.nb ? p->hist.nb : 1;
    *x0 = 9;
    int bw = (v->width - *x0 - 1) / (int)nb;
    *bucket_width = bw < 1 ? 1 : bw;
}
