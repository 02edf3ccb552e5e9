/*
 * tests/viewer/test_traces.c — the trace views driven by keys and clicks,
 * read back from the rendered cell grid; no curses involved.
 *
 * The store holds the known traces of tests/viewer/trace_fixture.h (an
 * in-memory store written through the store's write API; a file store
 * for the live refresh), so every expected row, nesting, mark and number
 * below follows from those tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/viewer/trace_fixture.h"
#include "viewer/screen.h"
#include "viewer/tmodel.h"
#include "viewer/waterfall.h"

typedef struct fixture {
    ig_store *store;
    ig_tview *v;
    ig_screen s;
} fixture;

static fixture *open_view(ig_store *store, int w, int h)
{
    fixture *f = calloc(1, sizeof *f);
    f->store = store;
    ig_err err;
    f->v = ig_tview_new(store, "test.db", &err);
    if (!f->v)
        fail_msg("ig_tview_new: %s", err.msg);
    ig_screen_init(&f->s, w, h, 1);
    ig_tview_render(f->v, &f->s);
    return f;
}

static ig_store *known_store(void)
{
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_non_null(s);
    assert_int_equal(tf_fill_known(s), 0);
    return s;
}

static fixture *open_known(int w, int h)
{
    return open_view(known_store(), w, h);
}

static void close_view(fixture *f)
{
    ig_tview_free(f->v);
    ig_store_close(f->store);
    ig_screen_free(&f->s);
    free(f);
}

static void render(fixture *f)
{
    ig_tview_render(f->v, &f->s);
}

static void key(fixture *f, int k)
{
    ig_tview_key(f->v, k);
    render(f);
}

static void keys(fixture *f, const char *ks)
{
    for (const char *k = ks; *k; k++)
        ig_tview_key(f->v, *k == '\n' ? IG_KEY_ENTER : (unsigned char)*k);
    render(f);
}

static char *row_text(fixture *f, int r)
{
    return ig_screen_row(&f->s, r);
}

static int screen_find(fixture *f, const char *text)
{
    for (int r = 0; r < f->s.h; r++) {
        char *row = row_text(f, r);
        int hit = strstr(row, text) != NULL;
        free(row);
        if (hit)
            return r;
    }
    return -1;
}

static void dump(fixture *f)
{
    for (int r = 0; r < f->s.h; r++) {
        char *row = row_text(f, r);
        print_message("|%s|\n", row);
        free(row);
    }
}

static void assert_on_screen(fixture *f, const char *text)
{
    if (screen_find(f, text) < 0) {
        dump(f);
        fail_msg("not on screen: %s", text);
    }
}

static void assert_not_on_screen(fixture *f, const char *text)
{
    if (screen_find(f, text) >= 0) {
        dump(f);
        fail_msg("unexpectedly on screen: %s", text);
    }
}

/* The row text starting at column col (malloc'd). */
static char *row_from(fixture *f, int r, int col)
{
    char *row = row_text(f, r);
    const char *p = row;
    for (int c = 0; c < col && *p; c++) {
        uint32_t cp;
        p += ig_utf8_decode(p, &cp);
    }
    char *out = strdup(p);
    free(row);
    return out;
}

static const ig_trace_row *selected_row(fixture *f)
{
    const ig_trace_row *r = ig_tview_selected_trace(f->v);
    assert_non_null(r);
    return r;
}

static uint64_t trace_number(const ig_trace_row *r)
{
    uint64_t n = 0;
    for (int i = 8; i < 16; i++)
        n = n << 8 | r->trace_id[i];
    return n;
}

static const char *selected_span_name(fixture *f)
{
    int32_t s = ig_tview_selected_span(f->v);
    assert_true(s >= 0);
    return ig_tview_page(f->v)->trace.trace.spans[s].name;
}

/* Opens trace n from the list (sorted by start, oldest first). */
static void open_trace(fixture *f, uint64_t n)
{
    assert_int_equal(ig_tview_set_sort(f->v, IG_TCOL_START, false), 0);
    ig_tview_move(f->v, LONG_MIN);
    while (trace_number(selected_row(f)) != n) {
        size_t before = ig_tview_page(f->v)->list.sel;
        ig_tview_move(f->v, 1);
        assert_true(ig_tview_page(f->v)->list.sel != before);
    }
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
}

/* The screen row of a waterfall span by name. */
static int span_row(fixture *f, const char *name)
{
    const ig_ttrace *t = &ig_tview_page(f->v)->trace;
    for (size_t i = t->scroll; i < t->wf.nrows; i++)
        if (!strcmp(t->trace.spans[t->wf.rows[i]].name, name))
            return 2 + (int)(i - t->scroll);
    return -1;
}

static const ig_wf_node *span_node(fixture *f, const char *name)
{
    const ig_ttrace *t = &ig_tview_page(f->v)->trace;
    for (size_t i = 0; i < t->trace.nspans; i++)
        if (!strcmp(t->trace.spans[i].name, name))
            return &t->wf.nodes[i];
    fail_msg("no span %s", name);
    return NULL;
}

static void select_span(fixture *f, const char *name)
{
    const ig_ttrace *t = &ig_tview_page(f->v)->trace;
    for (size_t i = 0; i < t->trace.nspans; i++)
        if (!strcmp(t->trace.spans[i].name, name)) {
            ig_tview_select_span(f->v, (int32_t)i);
            render(f);
            return;
        }
    fail_msg("no span %s", name);
}

/* ---- the trace list ------------------------------------------------------------ */

static void test_list_opens_newest_first(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    assert_on_screen(f, "ignis view test.db | 26 traces, 56 spans");
    assert_on_screen(f, "start\u25bc");
    assert_on_screen(f, "root span");
    /* trace 26 started last; its root never arrived */
    assert_int_equal(trace_number(selected_row(f)), 26);
    assert_int_equal(screen_find(f, "(root missing) late child"), 2);
    assert_on_screen(f, " trace 1 of 26 | by start, newest first | 0000000000000000000000000000001a");
    /* 22:13:21 UTC is trace 1's start (TZ=UTC, see main) */
    assert_on_screen(f, "11-14 22:13:21.000     100ms      5      1 frontend         GET /checkout");
    close_view(f);
}

static void test_list_sorts(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    keys(f, "2"); /* by duration, longest first */
    assert_int_equal(trace_number(selected_row(f)), 5);
    assert_on_screen(f, "by duration, largest first");
    assert_on_screen(f, "duration\u25bc");
    keys(f, "O"); /* reversed: the 1 ms GET /item of trace 6 */
    assert_int_equal(trace_number(selected_row(f)), 6);
    assert_on_screen(f, "duration\u25b2");
    keys(f, "o"); /* the next column: span count, most first */
    assert_int_equal(trace_number(selected_row(f)), 1);
    /* a click on the "service" title sorts by service A to Z; again: Z to A */
    int col = screen_find(f, "service") >= 0 ? 43 : -1;
    ig_tview_click(f->v, 1, col + 2, 0);
    render(f);
    assert_on_screen(f, "by service, A to Z");
    assert_string_equal(selected_row(f)->root_service, "backend");
    ig_tview_click(f->v, 1, col + 2, 0);
    render(f);
    assert_on_screen(f, "by service, Z to A");
    assert_string_equal(selected_row(f)->root_service, "worker");
    close_view(f);
}

static void test_list_filters(void **state)
{
    (void)state;
    fixture *f = open_known(120, 30);
    assert_int_equal(ig_tview_filter_service(f->v, "payments"), 0);
    render(f);
    assert_on_screen(f, "| service=payments");
    assert_int_equal(ig_tview_page(f->v)->list.total, 1);
    assert_int_equal(trace_number(selected_row(f)), 5);
    keys(f, "c");
    assert_int_equal(ig_tview_page(f->v)->list.total, 26);

    keys(f, "f^SELECT\n"); /* traces with a span named SELECT...: 1 and 6..25 */
    assert_on_screen(f, "| name~^SELECT");
    assert_int_equal(ig_tview_page(f->v)->list.total, 21);
    keys(f, "f\b\b\b\b\b\b\b\n"); /* emptied: cleared */
    assert_int_equal(ig_tview_page(f->v)->list.total, 26);

    keys(f, "ahttp.response.status_code=500\n");
    assert_on_screen(f, "| http.response.status_code=500");
    assert_int_equal(ig_tview_page(f->v)->list.total, 1);
    assert_int_equal(trace_number(selected_row(f)), 5);
    keys(f, "c");

    keys(f, "d>=100ms\n"); /* traces 1 (100 ms) and 5 (200 ms) */
    assert_on_screen(f, "| duration 100ms..");
    assert_int_equal(ig_tview_page(f->v)->list.total, 2);
    keys(f, "d\b\b\b\b\b\b\b\b\b10ms..19ms\n"); /* GET /item 10..19 ms, trace 3 (10 ms) */
    assert_int_equal(ig_tview_page(f->v)->list.total, 11);
    keys(f, "c");

    keys(f, "e"); /* errors: traces 1 and 5 */
    assert_on_screen(f, "| errors only");
    assert_int_equal(ig_tview_page(f->v)->list.total, 2);
    /* the service picker: every service, then the filter */
    keys(f, "s");
    assert_on_screen(f, "Show the traces of which service?");
    assert_on_screen(f, "(all services)");
    assert_on_screen(f, "payments");
    keys(f, "jj\n"); /* (all services), backend, db */
    assert_on_screen(f, "| service=db | errors only");
    assert_int_equal(ig_tview_page(f->v)->list.total, 1);
    assert_int_equal(trace_number(selected_row(f)), 1);
    keys(f, "c");
    close_view(f);
}

static void test_list_bad_filters(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    keys(f, "f(\n");
    assert_on_screen(f, "name regex '(':");
    assert_int_equal(ig_tview_page(f->v)->list.total, 26);
    assert_null(ig_tview_page(f->v)->list.filter.name_regex);
    keys(f, "dfast\n");
    assert_on_screen(f, "duration: 'fast' is not a duration");
    keys(f, "anokey\n");
    assert_on_screen(f, "attribute: 'nokey' is not key=value");
    keys(f, "d10ms..2ms\n");
    assert_on_screen(f, "the lower bound is above the upper one");
    assert_int_equal(ig_tview_page(f->v)->list.filter.min_duration_ns, 0);
    keys(f, "fno such span\n");
    assert_on_screen(f, "no trace matches the filters (c clears them)");
    key(f, IG_KEY_ENTER); /* nothing to open */
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_LIST);
    close_view(f);
}

static void test_list_pages_through_large_store(void **state)
{
    (void)state;
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    /* 1500 one-span traces, trace k lasting k microseconds */
    tf_span *spans = calloc(1500, sizeof *spans);
    for (size_t i = 0; i < 1500; i++)
        spans[i] = (tf_span){i + 1, i + 1, 0, "svc", "op", 0, (int64_t)i + 1, 0, NULL, NULL, NULL, 0, 0, 0};
    assert_int_equal(tf_insert(s, spans, 1500), 0);
    free(spans);
    fixture *f = open_view(s, 80, 24);
    const ig_tlist *l = &ig_tview_page(f->v)->list;
    assert_int_equal(l->total, 1500);
    assert_true(l->win.n < 1500); /* a window, not every trace */
    key(f, IG_KEY_END);
    assert_int_equal(l->sel, 1499);
    assert_int_equal(trace_number(selected_row(f)), 1); /* the oldest */
    assert_true(l->win.n < 1500);
    assert_on_screen(f, "trace 1500 of 1500");
    for (int i = 0; i < 30; i++)
        key(f, IG_KEY_PGUP);
    assert_int_equal(l->sel, 1499 - 30 * 20);
    assert_int_equal(trace_number(selected_row(f)), 1 + 30 * 20);
    key(f, IG_KEY_HOME);
    assert_int_equal(trace_number(selected_row(f)), 1500);
    close_view(f);
}

/* ---- the waterfall ------------------------------------------------------------- */

static void test_waterfall_nests_and_marks(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    assert_on_screen(f, "| trace 00000000000000000000000000000001 | 100ms, 5 spans, 1 error");
    /* tree order, children by start; a service badge where the service changes */
    assert_int_equal(span_row(f, "GET /checkout"), 2);
    assert_int_equal(span_row(f, "POST /charge"), 3);
    assert_int_equal(span_row(f, "SELECT orders"), 4);
    assert_int_equal(span_row(f, "INSERT audit"), 5);
    assert_int_equal(span_row(f, "render"), 6);
    char *r = row_text(f, 2);
    assert_non_null(strstr(r, "-   frontend GET /checkout"));
    free(r);
    r = row_text(f, 3);
    assert_non_null(strstr(r, "  -   backend POST /charge"));
    free(r);
    r = row_text(f, 4);
    assert_non_null(strstr(r, "     !  db SELECT orders")); /* error mark */
    free(r);
    r = row_text(f, 5);
    assert_non_null(strstr(r, "        db INSERT audit")); /* a sibling: its own badge */
    free(r);
    r = row_text(f, 6);
    assert_non_null(strstr(r, "      backend render")); /* under frontend: a badge */
    free(r);
    assert_int_equal(span_node(f, "SELECT orders")->depth, 2);
    assert_int_equal(span_node(f, "render")->depth, 1);
    /* services get distinct colours */
    assert_int_not_equal(span_node(f, "GET /checkout")->service, span_node(f, "POST /charge")->service);
    assert_int_not_equal(span_node(f, "POST /charge")->service, span_node(f, "SELECT orders")->service);
    assert_int_equal(span_node(f, "POST /charge")->service, span_node(f, "render")->service);
    close_view(f);
}

static void test_waterfall_critical_path(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    assert_true(span_node(f, "GET /checkout")->flags & IG_WF_CRITICAL);
    assert_true(span_node(f, "render")->flags & IG_WF_CRITICAL);
    assert_true(span_node(f, "POST /charge")->flags & IG_WF_CRITICAL);
    assert_true(span_node(f, "SELECT orders")->flags & IG_WF_CRITICAL);
    assert_false(span_node(f, "INSERT audit")->flags & IG_WF_CRITICAL);
    /* drawn: critical bars are filled with the heavy line, others are not */
    int nw = ig_tview_name_width(100);
    char *orders = row_from(f, span_row(f, "SELECT orders"), nw + 1);
    char *audit = row_from(f, span_row(f, "INSERT audit"), nw + 1);
    assert_non_null(strstr(orders, "\u2501"));
    assert_null(strstr(audit, "\u2501"));
    free(orders);
    free(audit);
    select_span(f, "SELECT orders");
    assert_on_screen(f, " SELECT orders (db) | 25ms at +15ms | ERROR: deadlock | critical path");
    keys(f, "c"); /* highlight off */
    orders = row_from(f, span_row(f, "SELECT orders"), nw + 1);
    assert_null(strstr(orders, "\u2501"));
    free(orders);
    close_view(f);
}

/* Bars sit where their times are on the axis. */
static void test_waterfall_bar_geometry(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    int nw = ig_tview_name_width(100), x0 = nw + 1, bw = 100 - x0;
    int row = span_row(f, "render"); /* 65..95 ms of 0..100 */
    int col, n;
    assert_int_equal(ig_waterfall_bar(0, 100, bw, 65, 95, &col, &n), 1);
    assert_int_equal(col, 65 * bw / 100);
    assert_int_equal(col + n, 95 * bw / 100);
    for (int c = x0; c < 100; c++) {
        uint8_t st = ig_screen_cell(&f->s, row, c)->style;
        bool in = c >= x0 + col && c < x0 + col + n;
        if (in != (st >= IG_ST_SVC0 && st < IG_ST_SVC0 + IG_SVC_SHADES))
            fail_msg("cell %d of the render bar: style %d (bar %d+%d)", c, st, x0 + col, n);
    }
    /* the duration is written beside the bar (no room after it: before it) */
    char *rest = row_from(f, row, x0 + col - 5);
    assert_int_equal(strncmp(rest, "30ms ", 5), 0);
    free(rest);
    /* an event diamond at 5 ms on the root's bar */
    int ev = x0 + (int)ig_waterfall_cell(0, 100, bw, 5);
    assert_int_equal(ig_screen_cell(&f->s, span_row(f, "GET /checkout"), ev)->ch, 0x25c6);
    close_view(f);
}

static void test_waterfall_missing_parent_and_skew(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 2);
    /* the root first though the skewed child starts 3 ms earlier; the
     * orphan under the root, not dropped */
    assert_int_equal(span_row(f, "GET /orphans"), 2);
    assert_int_equal(span_row(f, "skewed"), 3);
    assert_int_equal(span_row(f, "handle"), 4);
    assert_int_equal(span_node(f, "skewed")->depth, 1);
    assert_int_equal(span_node(f, "handle")->depth, 1);
    assert_true(span_node(f, "handle")->flags & IG_WF_ORPHAN);
    assert_true(span_node(f, "skewed")->flags & IG_WF_SKEW);
    char *r = row_text(f, 4);
    assert_non_null(strstr(r, "    ? backend handle"));
    free(r);
    r = row_text(f, 3);
    assert_non_null(strstr(r, "    ~ backend skewed"));
    free(r);
    /* the skewed child's bar starts at the left edge, before its parent's */
    int nw = ig_tview_name_width(100), x0 = nw + 1;
    assert_true(ig_screen_cell(&f->s, 3, x0)->style >= IG_ST_SVC0);
    assert_true(ig_screen_cell(&f->s, 2, x0)->style < IG_ST_SVC0);
    select_span(f, "skewed");
    assert_on_screen(f, "| starts 3ms before its parent (clock skew?)");
    select_span(f, "handle");
    assert_on_screen(f, "| parent never arrived: shown under the root");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "parent        000000000000dead never arrived: shown under the root");
    close_view(f);
}

static void test_waterfall_cycle(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 3);
    /* loop b's parent link closes the loop a <-> b: cut; b under the root, a under b */
    assert_int_equal(span_row(f, "GET /cycle"), 2);
    assert_int_equal(span_row(f, "loop b"), 3);
    assert_int_equal(span_row(f, "loop a"), 4);
    assert_true(span_node(f, "loop b")->flags & IG_WF_CYCLE);
    assert_int_equal(span_node(f, "loop a")->depth, 2);
    char *r = row_text(f, 3);
    assert_non_null(strstr(r, "  - @ backend loop b"));
    free(r);
    /* loop a starts 1 ms before loop b, its parent now: skew */
    assert_true(span_node(f, "loop a")->flags & IG_WF_SKEW);
    select_span(f, "loop b");
    assert_on_screen(f, "| its parents loop: cut here, shown under the root");
    close_view(f);
}

/* A trace bigger than the viewer's bound is not loaded. */
static void test_trace_too_big(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    f->v->max_trace_spans = 4;
    assert_int_equal(ig_tview_set_sort(f->v, IG_TCOL_SPANS, true), 0);
    key(f, IG_KEY_ENTER); /* trace 1: 5 spans */
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_LIST);
    assert_on_screen(f, "this trace has 5 spans; the waterfall shows traces of up to 4");
    key(f, IG_KEY_DOWN);
    key(f, IG_KEY_ENTER); /* 3 spans */
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
    close_view(f);
}

static void test_waterfall_no_root(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 26);
    assert_int_equal(span_row(f, "late child"), 2);
    assert_int_equal(span_node(f, "late child")->depth, 0);
    assert_on_screen(f, "| parent never arrived: shown under the root");
    close_view(f);
}

static void test_waterfall_fold_and_move(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    select_span(f, "POST /charge");
    key(f, ' ');
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 3);
    assert_int_equal(span_row(f, "SELECT orders"), -1);
    char *r = row_text(f, 3);
    assert_non_null(strstr(r, "  +   backend POST /charge"));
    free(r);
    assert_on_screen(f, "| 2 children folded");
    key(f, IG_KEY_RIGHT); /* unfolds */
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 5);
    key(f, IG_KEY_RIGHT); /* first child */
    assert_string_equal(selected_span_name(f), "SELECT orders");
    key(f, IG_KEY_LEFT); /* a leaf: to its parent */
    assert_string_equal(selected_span_name(f), "POST /charge");
    key(f, IG_KEY_LEFT); /* folds */
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 3);
    key(f, IG_KEY_DOWN);
    assert_string_equal(selected_span_name(f), "render");
    keys(f, "E");
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 5);
    assert_string_equal(selected_span_name(f), "render");
    /* a click on the fold marker folds; a double click on a row opens it */
    int indent = ig_tview_indent(ig_tview_name_width(100), 0);
    ig_tview_click(f->v, 2, indent, 0);
    render(f);
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 1);
    ig_tview_click(f->v, 2, 20, 1);
    render(f);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_SPAN);
    close_view(f);
}

static void test_waterfall_zoom(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    select_span(f, "POST /charge");
    keys(f, "z"); /* the axis is 10..60 ms now */
    const ig_ttrace *t = &ig_tview_page(f->v)->trace;
    assert_int_equal(t->nzoom, 2);
    assert_int_equal(t->zoom_to[1] - t->zoom_from[1], 50000000);
    assert_on_screen(f, "zoom 1: 50ms");
    assert_on_screen(f, "\u2502" "10ms");
    /* render (65..95 ms) lies after the window: an arrow at the right edge */
    assert_int_equal(ig_screen_cell(&f->s, span_row(f, "render"), 99)->ch, 0x25b8);
    keys(f, "+"); /* 25 ms around the selection's middle (35 ms) */
    assert_int_equal(t->nzoom, 3);
    assert_int_equal(t->zoom_from[2], tf_time(1, 22500));
    assert_int_equal(t->zoom_to[2], tf_time(1, 47500));
    keys(f, ">"); /* a quarter to the right */
    assert_int_equal(t->zoom_from[2], tf_time(1, 22500) + 25000000 / 4 + 1);
    key(f, IG_KEY_ESC);
    assert_int_equal(t->nzoom, 2);
    keys(f, "0");
    assert_int_equal(t->nzoom, 1);
    assert_not_on_screen(f, "zoom 1");
    key(f, IG_KEY_ESC); /* no zoom left: back to the list */
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_LIST);
    close_view(f);
}

static void test_waterfall_search(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    open_trace(f, 1);
    keys(f, "/^db$\n"); /* the service db: SELECT orders, then INSERT audit */
    assert_string_equal(selected_span_name(f), "SELECT orders");
    assert_on_screen(f, "/^db$ (n/N: next/previous match)");
    keys(f, "n");
    assert_string_equal(selected_span_name(f), "INSERT audit");
    keys(f, "n");
    assert_string_equal(selected_span_name(f), "SELECT orders");
    keys(f, "N");
    assert_string_equal(selected_span_name(f), "INSERT audit");
    /* a match inside a folded span unfolds it */
    select_span(f, "POST /charge");
    key(f, ' ');
    keys(f, "/audit\n");
    assert_string_equal(selected_span_name(f), "INSERT audit");
    assert_int_equal(ig_tview_page(f->v)->trace.wf.nrows, 5);
    keys(f, "/(\n");
    assert_on_screen(f, "search: invalid regular expression '('");
    close_view(f);
}

/* 100,000 spans in one chain (a parent each, 100,000 deep) and in a
 * 4-ary tree: loaded, drawn, folded, searched and walked without recursion. */
static void test_waterfall_huge_traces(void **state)
{
    (void)state;
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_int_equal(tf_big_trace(s, 1, 100000, 1), 0);
    assert_int_equal(tf_big_trace(s, 2, 100000, 0), 0);
    fixture *f = open_view(s, 120, 40);
    for (uint64_t n = 1; n <= 2; n++) {
        open_trace(f, n);
        const ig_ttrace *t = &ig_tview_page(f->v)->trace;
        assert_int_equal(t->trace.nspans, 100000);
        assert_int_equal(t->wf.nrows, 100000);
        assert_on_screen(f, "100000 spans, 100 errors");
        key(f, IG_KEY_END);
        int32_t last = ig_tview_selected_span(f->v);
        if (n == 1) { /* the last in tree order: span 100000, 99999 deep */
            assert_int_equal(t->trace.spans[last].span_id[7] | t->trace.spans[last].span_id[6] << 8 |
                                 t->trace.spans[last].span_id[5] << 16,
                             100000);
            assert_int_equal(t->wf.nodes[last].depth, 99999);
            assert_int_equal(t->wf.ncritical, 100000); /* every span is nested in its parent's time */
        } else {
            /* the first child ends last and starts before its siblings: the path
             * is the first children 0, 1, 5, 21, ... 87381 (index 4i+1) */
            assert_int_equal(t->wf.ncritical, 10);
            assert_true(t->wf.nodes[87381].flags & IG_WF_CRITICAL);
            assert_false(t->wf.nodes[87382].flags & IG_WF_CRITICAL);
        }
        key(f, IG_KEY_HOME);
        key(f, ' '); /* fold the root: one row */
        assert_int_equal(t->wf.nrows, 1);
        keys(f, "/work\n"); /* unfolds the way to the first "work" span (span 2) */
        assert_string_equal(selected_span_name(f), "work");
        assert_int_equal(ig_tview_selected_span(f->v), 1);
        key(f, IG_KEY_ESC);
        key(f, IG_KEY_ESC);
        assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_LIST);
    }
    close_view(f);
}

/* ---- span details and links ---------------------------------------------------------- */

static void test_span_details(void **state)
{
    (void)state;
    fixture *f = open_known(120, 50);
    open_trace(f, 1);
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_SPAN);
    assert_on_screen(f, "Span GET /checkout");
    assert_on_screen(f, "service       frontend");
    assert_on_screen(f, "span id       0000000000000011");
    assert_on_screen(f, "kind          server");
    assert_on_screen(f, "parent        none (a root)");
    assert_on_screen(f, "time          +0 from the trace start, lasts 100ms");
    assert_on_screen(f, "status        unset");
    assert_on_screen(f, "Attributes (2)");
    assert_on_screen(f, "http.request.method        GET");
    assert_on_screen(f, "http.response.status_code  200");
    assert_on_screen(f, "Events (1)");
    assert_on_screen(f, "+5ms  cache miss");
    assert_on_screen(f, "key  user:42");
    assert_on_screen(f, "Links (0)");
    assert_on_screen(f, "Resource (frontend)");
    assert_on_screen(f, "service.name  frontend");
    assert_on_screen(f, "host.name     h1");
    assert_on_screen(f, "Scope tests 1.0");
    keys(f, "/cache\n");
    assert_int_equal(ig_tview_page(f->v)->span.sel, (size_t)screen_find(f, "cache miss") - 2);
    key(f, IG_KEY_ESC);
    select_span(f, "SELECT orders");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "status        ERROR: deadlock");
    assert_on_screen(f, "critical      on the critical path");
    close_view(f);
}

static int line_of(fixture *f, const char *text)
{
    const ig_tspan *sp = &ig_tview_page(f->v)->span;
    for (size_t i = 0; i < sp->nlines; i++)
        if (strstr(sp->lines[i].text, text))
            return (int)i;
    fail_msg("no line %s", text);
    return -1;
}

static void test_links(void **state)
{
    (void)state;
    fixture *f = open_known(120, 40);
    open_trace(f, 4);
    key(f, IG_KEY_ENTER); /* consume */
    assert_on_screen(f, "Links (1)");
    assert_on_screen(f, "-> trace 00000000000000000000000000000001 span 0000000000000012  (Enter opens it)");
    assert_on_screen(f, "link.kind  follows");
    ig_tview_page(f->v)->span.sel = (size_t)line_of(f, "-> trace");
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
    assert_on_screen(f, "| trace 00000000000000000000000000000001 |");
    assert_string_equal(selected_span_name(f), "POST /charge");
    key(f, IG_KEY_ESC);
    assert_on_screen(f, "-> trace 00000000000000000000000000000001"); /* back on the details */
    key(f, IG_KEY_ESC);
    select_span(f, "ack"); /* its link goes to trace 99, never stored */
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "-> trace 00000000000000000000000000000063 span 0000000000000099  (not in the store)");
    ig_tview_page(f->v)->span.sel = (size_t)line_of(f, "-> trace");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "linked trace 00000000000000000000000000000063 is not in the store");
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_SPAN);
    close_view(f);
}

/* A 1 MB attribute value and a name with control characters: stored as
 * sent, shown cut (with the length) and with the control characters
 * drawn as '?'. */
static void test_long_values(void **state)
{
    (void)state;
    size_t big = 1 << 20;
    char *attrs = malloc(big + 64);
    int n = snprintf(attrs, 64, "{\"payload\":\"");
    memset(attrs + n, 'x', big);
    strcpy(attrs + n + big, "\"}");
    tf_span sp = {1, 1, 0, "svc", "line one\nline\ttwo", 0, 1000, 0, NULL, attrs, NULL, 0, 0, 0};
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_int_equal(tf_insert(s, &sp, 1), 0);
    free(attrs);
    fixture *f = open_view(s, 100, 30);
    assert_on_screen(f, "svc              line one?line?two");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "svc line one?line?two");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "Span line one?line?two");
    const ig_tspan *d = &ig_tview_page(f->v)->span;
    int found = 0;
    for (size_t i = 0; i < d->nlines; i++)
        if (strstr(d->lines[i].text, "payload  xxxx")) {
            assert_non_null(strstr(d->lines[i].text, "x ... (1048576 bytes)"));
            assert_true(strlen(d->lines[i].text) < 4096);
            found = 1;
        }
    assert_true(found);
    close_view(f);
}

/* ---- operations ------------------------------------------------------------------------ */

static void select_operation(fixture *f, const char *service, const char *name)
{
    ig_tops *o = &ig_tview_page(f->v)->ops;
    for (size_t i = 0; i < o->ops.n; i++) {
        const ig_store_op_stats *op = &o->ops.ops[o->order[i]];
        if (!strcmp(op->service, service) && !strcmp(op->name, name)) {
            o->sel = i;
            render(f);
            return;
        }
    }
    fail_msg("no operation %s %s", service, name);
}

static void test_operations(void **state)
{
    (void)state;
    fixture *f = open_known(120, 40);
    keys(f, "p");
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_OPS);
    assert_on_screen(f, "| 18 operations, 56 spans");
    /* GET /item: 20 spans of 1..20 ms: nearest-rank p50 10 ms, p90 18 ms, p99 20 ms */
    assert_on_screen(f, "frontend      GET /item                  20       0     10ms     18ms     20ms");
    assert_on_screen(f, "payments      POST /pay                   1  100.0%    200ms    200ms    200ms");
    assert_on_screen(f, "db            SELECT orders               1  100.0%     25ms     25ms     25ms");
    /* the spanmetrics buckets as a sparkline: GET /item has 1 ms spans in the
     * first four buckets (<=2, 4, 6, 8 ms: 2 each), 2 in <=10 ms, 10 in <=50 ms */
    assert_on_screen(f, "GET /item                  20       0     10ms     18ms     20ms   "
                        "\u2582\u2582\u2582\u2582\u2582\u2588 ");
    /* sorted by p99, largest first: POST /pay (200 ms) */
    keys(f, "7");
    const ig_tops *o = &ig_tview_page(f->v)->ops;
    assert_string_equal(o->ops.ops[o->order[0]].name, "POST /pay");
    assert_on_screen(f, "by p99, largest first");
    keys(f, "/charge\n"); /* charge card (180 ms) sorts right after POST /pay */
    assert_string_equal(o->ops.ops[o->order[o->sel]].name, "charge card");
    close_view(f);
}

/* Every span of GET /item is in exactly one bucket, and a bucket lists the
 * traces whose GET /item span is in it: trace k lasts k-5 ms. */
static void test_histogram_buckets_list_their_traces(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    keys(f, "p");
    select_operation(f, "frontend", "GET /item");
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_HIST);
    assert_on_screen(f, "latency of frontend GET /item: 20 spans from 1ms to 20ms, 0 errors");
    const ig_thist *h = &ig_tview_page(f->v)->hist;
    assert_true(h->nb > 8);
    assert_int_equal(h->bounds[h->nb - 1], 20000000);
    uint64_t sum = 0;
    for (size_t b = 0; b < h->nb; b++)
        sum += h->counts[b];
    assert_int_equal(sum, 20);
    size_t listed = 0;
    for (size_t b = 0; b < h->nb; b++) {
        ig_tpage *p = ig_tview_page(f->v);
        assert_int_equal(p->kind, IG_TP_HIST);
        p->hist.sel = b;
        render(f);
        uint64_t count = p->hist.counts[b];
        uint64_t lo = b ? p->hist.bounds[b - 1] : 0, hi = p->hist.bounds[b];
        key(f, IG_KEY_ENTER);
        const ig_tlist *l = &ig_tview_page(f->v)->list;
        assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_LIST);
        assert_int_equal(l->total, count);
        for (size_t i = 0; i < l->win.n; i++) {
            uint64_t d = l->win.rows[i].end_ns - l->win.rows[i].start_ns;
            assert_true(d > lo || (b == 0 && d == lo));
            assert_true(d <= hi);
            assert_int_equal(d, (trace_number(&l->win.rows[i]) - 5) * 1000000);
        }
        listed += l->win.n;
        key(f, IG_KEY_ESC);
    }
    assert_int_equal(listed, 20);
    /* 44 buckets at 100 columns: the last is (18.68 ms, 20 ms]: traces 24 and 25, longest first */
    assert_int_equal(h->nb, 44);
    ig_tview_page(f->v)->hist.sel = h->nb - 1;
    render(f);
    assert_on_screen(f, "bucket 44 of 44: 18.68ms < duration <= 20ms: 2 spans (10.0%) | Enter: their traces");
    key(f, IG_KEY_ENTER);
    assert_on_screen(f, "| frontend GET /item >18.68ms..20ms");
    assert_on_screen(f, "2 traces with frontend GET /item");
    assert_int_equal(trace_number(selected_row(f)), 25);
    keys(f, "p"); /* back to the operations below, not a second copy */
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_OPS);
    assert_int_equal(f->v->npages, 2);
    close_view(f);
}

static void test_histogram_keys_and_clicks(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    keys(f, "p");
    select_operation(f, "frontend", "GET /item");
    key(f, IG_KEY_ENTER);
    ig_thist *h = &ig_tview_page(f->v)->hist;
    key(f, IG_KEY_HOME);
    assert_int_equal(h->sel, 0);
    key(f, IG_KEY_RIGHT);
    assert_int_equal(h->sel, 1);
    key(f, IG_KEY_END);
    assert_int_equal(h->sel, h->nb - 1);
    int x0, bw;
    ig_tview_hist_cells(f->v, &x0, &bw);
    ig_tview_click(f->v, 10, x0 + 2 * bw, 0);
    render(f);
    assert_int_equal(h->sel, 2);
    assert_on_screen(f, "bucket 3 of");
    close_view(f);
}

/* ---- help, search in the list, small screens, empty stores ------------------------------ */

static void test_help_and_quit(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    keys(f, "?");
    assert_on_screen(f, "ignis view: trace keys");
    assert_on_screen(f, "? parent never arrived (shown under the root)");
    keys(f, "x"); /* any key closes it */
    assert_on_screen(f, "root span");
    keys(f, "/pay\n");
    assert_int_equal(trace_number(selected_row(f)), 5);
    keys(f, "q");
    assert_true(f->v->quit);
    close_view(f);
}

static void test_small_and_empty(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    ig_screen small;
    ig_screen_init(&small, 30, 8, 1);
    ig_tview_render(f->v, &small);
    char *r = ig_screen_row(&small, 4);
    assert_non_null(strstr(r, "terminal too small (30x8)"));
    free(r);
    ig_screen_free(&small);
    close_view(f);

    ig_err err;
    f = open_view(ig_store_open(NULL, IG_STORE_MEMORY, &err), 80, 24);
    assert_on_screen(f, "| 0 traces, 0 spans");
    assert_on_screen(f, "the store has no traces yet");
    key(f, IG_KEY_ENTER);
    key(f, IG_KEY_END);
    keys(f, "p");
    assert_on_screen(f, "the store has no spans yet");
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_OPS);
    close_view(f);
}

static void test_ascii_fallback(void **state)
{
    (void)state;
    fixture *f = open_known(100, 30);
    ig_screen_free(&f->s);
    ig_screen_init(&f->s, 100, 30, 0);
    open_trace(f, 1);
    int nw = ig_tview_name_width(100);
    char *bar = row_from(f, span_row(f, "render"), nw + 1);
    assert_non_null(strstr(bar, "=============="));
    free(bar);
    assert_on_screen(f, "|0");
    close_view(f);
}

/* A header too long for the screen names the store by its file name,
 * then cuts the trace id. */
static void test_narrow_header(void **state)
{
    (void)state;
    fixture *f = open_known(80, 24);
    free(f->v->title);
    f->v->title = strdup("/a/long/directory/name/of/the/store/traces.db");
    render(f);
    assert_on_screen(f, " ignis view traces.db | 26 traces, 56 spans");
    open_trace(f, 1);
    assert_on_screen(f, " ignis view traces.db | trace 0000000000000000\u2026 | 100ms, 5 spans, 1 error");
    close_view(f);
}

/* ---- live refresh ----------------------------------------------------------------------- */

static void test_live_refresh(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-tview-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/traces.db", dir);
    ig_err err;
    ig_store *w = ig_store_open(path, IG_STORE_CREATE, &err);
    assert_non_null(w);
    assert_int_equal(tf_insert(w, tf_known, 5), 0); /* trace 1 */
    ig_store *r = ig_store_open(path, IG_STORE_READONLY, &err);
    assert_non_null(r);
    fixture *f = open_view(r, 100, 30);
    f->v->live_budget_ms = 1e9; /* whatever the machine's load: reload by itself */
    assert_on_screen(f, "| 1 trace, 5 spans");
    assert_int_equal(ig_tview_poll(f->v), 0); /* nothing new */
    assert_int_equal(tf_insert(w, tf_known + 5, 3), 0); /* trace 2 */
    assert_int_equal(ig_tview_poll(f->v), 1);
    render(f);
    assert_on_screen(f, "| 2 traces, 8 spans");
    assert_int_equal(ig_tview_page(f->v)->list.total, 2);
    assert_int_equal(trace_number(selected_row(f)), 1); /* the selection stays on its trace */
    /* a waterfall reloads when its trace grows, keeping the selection */
    open_trace(f, 1);
    select_span(f, "render");
    static const tf_span late = {1, 0x16, 0x11, "backend", "late arrival", 96 * TF_MS, 99 * TF_MS, 0, NULL, NULL,
                                 NULL, 0, 0, 0};
    assert_int_equal(tf_insert(w, &late, 1), 0);
    assert_int_equal(ig_tview_poll(f->v), 1);
    render(f);
    assert_int_equal(ig_tview_page(f->v)->trace.trace.nspans, 6);
    assert_string_equal(selected_span_name(f), "render");
    assert_int_equal(span_row(f, "late arrival"), 7);
    /* the operations are marked stale, not recomputed on every commit */
    keys(f, "p");
    assert_int_equal(tf_insert(w, tf_known + 8, 3), 0);
    assert_int_equal(ig_tview_poll(f->v), 1);
    render(f);
    assert_on_screen(f, "the store changed: r refreshes");
    keys(f, "r");
    assert_not_on_screen(f, "the store changed");
    /* a page whose query costs more than the budget waits for r */
    keys(f, "t");
    f->v->live_budget_ms = 0;
    static const tf_span more = {30, 0x301, 0, "frontend", "GET /more", 0, TF_MS, 0, NULL, NULL, NULL, 0, 0, 0};
    assert_int_equal(tf_insert(w, &more, 1), 0);
    assert_int_equal(ig_tview_poll(f->v), 1);
    render(f);
    assert_int_equal(ig_tview_page(f->v)->list.total, 3);
    assert_on_screen(f, "| 3 traces, 12 spans"); /* the summary is a query too */
    assert_on_screen(f, "| the store changed: r refreshes");
    keys(f, "r");
    assert_int_equal(ig_tview_page(f->v)->list.total, 4);
    assert_on_screen(f, "| 4 traces, 13 spans");
    assert_not_on_screen(f, "the store changed");
    /* and a trace that changed under its page says so */
    open_trace(f, 1);
    assert_int_equal(tf_insert(w, &(tf_span){1, 0x17, 0x11, "backend", "later still", 97 * TF_MS, 98 * TF_MS, 0,
                                             NULL, NULL, NULL, 0, 0, 0}, 1), 0);
    assert_int_equal(ig_tview_poll(f->v), 1);
    render(f);
    assert_int_equal(ig_tview_page(f->v)->trace.trace.nspans, 6);
    assert_on_screen(f, " the trace changed: r reloads | GET /checkout (frontend)");
    keys(f, "r");
    assert_int_equal(ig_tview_page(f->v)->trace.trace.nspans, 7);
    assert_not_on_screen(f, "the trace changed");
    close_view(f);
    ig_store_close(w);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Bars at the edges of the window: clipped, at least one cell, or none. */
static void test_bar_edges(void **state)
{
    (void)state;
    int col, n;
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 10, 99, &col, &n), 0);   /* before */
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 200, 300, &col, &n), 0); /* after */
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 50, 150, &col, &n), 1);  /* across the start */
    assert_true(col == 0 && n == 5);
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 150, 900, &col, &n), 1); /* across the end */
    assert_true(col == 5 && n == 5);
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 100, 100, &col, &n), 1); /* zero length */
    assert_true(col == 0 && n == 1);
    assert_int_equal(ig_waterfall_bar(100, 200, 10, 199, 199, &col, &n), 1); /* at the last cell */
    assert_true(col == 9 && n == 1);
    assert_int_equal(ig_waterfall_bar(100, 100, 10, 100, 100, &col, &n), 1); /* an empty window */
    assert_true(col == 0 && n >= 1 && col + n <= 10);
    assert_int_equal(ig_waterfall_bar(100, 200, 0, 100, 200, &col, &n), 0);  /* no room */
    assert_int_equal(ig_waterfall_cell(100, 200, 10, 50), -5);
    assert_int_equal(ig_waterfall_cell(0, UINT64_MAX, 100, UINT64_MAX), 100); /* no overflow */
}

/* ---- parsing --------------------------------------------------------------------------- */

static void test_durations(void **state)
{
    (void)state;
    uint64_t lo, hi;
    ig_err err;
    assert_int_equal(ig_parse_duration("250us", &lo, &err), 0);
    assert_int_equal(lo, 250000);
    assert_int_equal(ig_parse_duration("1.5s", &lo, &err), 0);
    assert_int_equal(lo, 1500000000);
    assert_int_equal(ig_parse_duration("2m", &lo, &err), 0);
    assert_int_equal(lo, 120000000000ull);
    assert_int_equal(ig_parse_duration("0", &lo, &err), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(ig_parse_duration("10", &lo, &err), -1);
    assert_int_equal(ig_parse_duration("-1ms", &lo, &err), -1);
    assert_int_equal(ig_parse_duration("1e300s", &lo, &err), -1);
    assert_int_equal(ig_parse_duration_range("10ms..2s", &lo, &hi, &err), 0);
    assert_true(lo == 10000000 && hi == 2000000000);
    assert_int_equal(ig_parse_duration_range("..2s", &lo, &hi, &err), 0);
    assert_true(lo == 0 && hi == 2000000000);
    assert_int_equal(ig_parse_duration_range("5ms..", &lo, &hi, &err), 0);
    assert_true(lo == 5000000 && hi == 0);
    assert_int_equal(ig_parse_duration_range(">1ms", &lo, &hi, &err), 0);
    assert_true(lo == 1000001 && hi == 0);
    assert_int_equal(ig_parse_duration_range("<=1ms", &lo, &hi, &err), 0);
    assert_true(lo == 0 && hi == 1000000);
    assert_int_equal(ig_parse_duration_range("<1ns", &lo, &hi, &err), -1);
    assert_int_equal(ig_parse_duration_range("2s..1s", &lo, &hi, &err), -1);
    char buf[32];
    ig_format_duration(12500000, buf, sizeof buf);
    assert_string_equal(buf, "12.50ms");
    ig_format_duration(0, buf, sizeof buf);
    assert_string_equal(buf, "0");
}

/* ---- F: the flame graph of a span, a trace, an operation's slow vs fast ---------------- */

static uint32_t fn_loc(ignis_profile *p, const char *fn)
{
    return ignis_profile_location_for_function(p, ignis_profile_function_named(p, fn, "svc.c", 1),
                                               IGNIS_FRAME_USER);
}

static void span_sample(ignis_profile *p, const char *fn, uint64_t trace, uint64_t span, const char *name,
                        int64_t v)
{
    uint32_t stack[2] = {fn_loc(p, fn), fn_loc(p, "main")};
    ignis_label l[3];
    size_t n = 0;
    if (span) {
        uint8_t t[16], s[8];
        char th[33], sh[17];
        tf_trace_id(trace, t);
        tf_span_id(span, s);
        ig_hex(t, 16, th);
        ig_hex(s, 8, sh);
        l[n++] = (ignis_label){ignis_profile_intern(p, "trace_id"), ignis_profile_intern(p, th), 0, 0};
        l[n++] = (ignis_label){ignis_profile_intern(p, "span_id"), ignis_profile_intern(p, sh), 0, 0};
        l[n++] = (ignis_label){ignis_profile_intern(p, "span_name"), ignis_profile_intern(p, name), 0, 0};
    }
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, stack, 2), ignis_profile_add_labels(p, l, n), &v);
}

/* pay_fn 1 in POST /pay (trace 5, span 0x51), charge_fn 2 in its child
 * charge card (0x52); item_fn 1 in each GET /item (traces 6..25), slow_fn
 * 5 more in the two slowest (24, 25: 19 and 20 ms, above the p90 18 ms);
 * idle_fn 7 in no span. */
static ignis_profile *span_profile(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "wall", "nanoseconds");
    span_sample(p, "pay_fn", 5, 0x51, "POST /pay", 1000000);
    span_sample(p, "charge_fn", 5, 0x52, "charge card", 2000000);
    for (uint64_t k = 6; k <= 25; k++) {
        span_sample(p, "item_fn", k, 0x100 + k, "GET /item", 1000000);
        if (k >= 24)
            span_sample(p, "slow_fn", k, 0x100 + k, "GET /item", 5000000);
    }
    span_sample(p, "idle_fn", 0, 0, NULL, 7000000);
    return p;
}

static void settle_flame(fixture *f)
{
    while (ig_tview_pump(f->v, 0))
        ;
    render(f);
}

static void test_flame_of_span_trace_and_operation(void **state)
{
    (void)state;
    fixture *f = open_known(120, 40);
    keys(f, "F"); /* no profile yet */
    assert_null(f->v->flame);
    assert_on_screen(f, "no profile loaded: start with `ignis view test.db --profile FILE`");
    ig_tview_set_profile(f->v, span_profile(), "spans.pb.gz");
    keys(f, "2"); /* by duration: trace 5 (200 ms) first */
    keys(f, "\n");
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
    keys(f, "F");
    assert_non_null(f->v->flame);
    settle_flame(f);
    assert_on_screen(f, "span 0000000000000051 'POST /pay' and 1 descendant");
    assert_on_screen(f, "pay_fn");
    assert_on_screen(f, "charge_fn");
    assert_on_screen(f, "total 3ms");
    assert_not_on_screen(f, "idle_fn");
    assert_not_on_screen(f, "item_fn");
    keys(f, "q"); /* back to the waterfall, not out */
    assert_null(f->v->flame);
    assert_false(f->v->quit);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
    key(f, IG_KEY_DOWN); /* charge card alone */
    keys(f, "F");
    settle_flame(f);
    assert_on_screen(f, "span 0000000000000052 'charge card' and 0 descendants");
    assert_on_screen(f, "charge_fn");
    assert_not_on_screen(f, "pay_fn");
    keys(f, "q");
    /* the list: the whole trace */
    keys(f, "t");
    keys(f, "F");
    settle_flame(f);
    assert_on_screen(f, "trace 00000000000000000000000000000005 'POST /pay'");
    assert_on_screen(f, "pay_fn");
    keys(f, "q");
    /* a trace no sample was taken in */
    keys(f, "j");
    keys(f, "F");
    assert_null(f->v->flame);
    assert_on_screen(f, "no sample of spans.pb.gz was taken in it");
    /* the operations: GET /item slow vs fast, from the store's durations */
    keys(f, "p");
    ig_tops *o = &ig_tview_page(f->v)->ops;
    for (o->sel = 0; strcmp(o->ops.ops[o->order[o->sel]].name, "GET /item"); o->sel++)
        ;
    keys(f, "F");
    assert_non_null(f->v->flame);
    settle_flame(f);
    assert_on_screen(f, "slow vs fast 'GET /item': 2 of 20 spans above 18ms");
    assert_on_screen(f, "slow_fn");
    assert_non_null(f->v->flame->base);
    keys(f, "q");
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_OPS);
    /* an operation of one span cannot be split */
    for (o->sel = 0; strcmp(o->ops.ops[o->order[o->sel]].name, "POST /pay"); o->sel++)
        ;
    keys(f, "F");
    assert_null(f->v->flame);
    assert_on_screen(f, "all 1 spans named 'POST /pay' are");
    close_view(f);
}

/* A profile without span labels says so. */
static void test_flame_needs_span_labels(void **state)
{
    (void)state;
    fixture *f = open_known(120, 40);
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    span_sample(p, "idle_fn", 0, 0, NULL, 1);
    ig_tview_set_profile(f->v, p, "plain.pb.gz");
    keys(f, "F");
    assert_null(f->v->flame);
    assert_on_screen(f, "plain.pb.gz: no sample carries span labels");
    close_view(f);
}

/* ---- a hostile store ----------------------------------------------------------------------- */

/* A copy of a store edited by hand: a negative span and error count and a
 * trace id of one byte.  The counts are read as 0 (never 2^64 - 5 nor
 * 2^32 - 5), the id as the invalid all-zero id (not the byte padded into
 * a real-looking one), and Enter opens the trace from its spans. */
static void test_hostile_counts_and_ids(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-tview-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/h1.db", dir);
    ig_err err;
    ig_store *w = ig_store_open(path, IG_STORE_CREATE, &err);
    assert_non_null(w);
    assert_int_equal(tf_insert(w, tf_known, 5), 0); /* trace 1 */
    ig_store_close(w);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE traces SET span_count = -5, error_count = -5, trace_id = x'01'", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ig_store *r = ig_store_open(path, IG_STORE_READONLY, &err);
    assert_non_null(r);
    fixture *f = open_view(r, 100, 30);
    assert_on_screen(f, "| 1 trace, 0 spans");
    assert_not_on_screen(f, "18446744073709551611");
    assert_not_on_screen(f, "4294967291");
    assert_on_screen(f, "| 00000000000000000000000000000000"); /* the 1-byte id: invalid, not 01000000... */
    key(f, IG_KEY_ENTER);
    assert_int_equal(ig_tview_page(f->v)->kind, IG_TP_TRACE);
    assert_int_equal(ig_tview_page(f->v)->trace.trace.nspans, 5);
    close_view(f);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_opens_newest_first),
        cmocka_unit_test(test_flame_of_span_trace_and_operation),
        cmocka_unit_test(test_flame_needs_span_labels),
        cmocka_unit_test(test_list_sorts),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_list_bad_filters),
        cmocka_unit_test(test_list_pages_through_large_store),
        cmocka_unit_test(test_waterfall_nests_and_marks),
        cmocka_unit_test(test_waterfall_critical_path),
        cmocka_unit_test(test_waterfall_bar_geometry),
        cmocka_unit_test(test_waterfall_missing_parent_and_skew),
        cmocka_unit_test(test_waterfall_cycle),
        cmocka_unit_test(test_waterfall_no_root),
        cmocka_unit_test(test_trace_too_big),
        cmocka_unit_test(test_waterfall_fold_and_move),
        cmocka_unit_test(test_waterfall_zoom),
        cmocka_unit_test(test_waterfall_search),
        cmocka_unit_test(test_waterfall_huge_traces),
        cmocka_unit_test(test_span_details),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_operations),
        cmocka_unit_test(test_histogram_buckets_list_their_traces),
        cmocka_unit_test(test_histogram_keys_and_clicks),
        cmocka_unit_test(test_help_and_quit),
        cmocka_unit_test(test_small_and_empty),
        cmocka_unit_test(test_ascii_fallback),
        cmocka_unit_test(test_narrow_header),
        cmocka_unit_test(test_live_refresh),
        cmocka_unit_test(test_bar_edges),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_hostile_counts_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
