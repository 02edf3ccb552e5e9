/*
 * viewer/tops.c — the operations and histogram pages of the trace viewer.
 *
 * The operations page holds ig_store_operations' statistics of the whole
 * store (count, errors, exact p50/p90/p99, the spanmetrics buckets drawn
 * as a sparkline) and sorts them in memory by any column.  Enter on an
 * operation opens its histogram: a finer one from ig_store_op_histogram,
 * on log-spaced bounds between the operation's fastest and slowest span
 * (as many buckets as the screen has room for, up to IG_THIST_MAX).  A
 * bucket counts durations in (previous bound, bound]; Enter lists the
 * traces with a span of the operation in it through the trace filter's
 * operation range [bound before + 1, bound + 1), the same set in integer
 * nanoseconds, so the list has exactly the bucket's traces.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "viewer/tpages.h"

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int ops_cmp(const void *a, const void *b, void *ctx)
{
    const ig_tops *o = ctx;
    const ig_store_op_stats *x = &o->ops.ops[*(const size_t *)a], *y = &o->ops.ops[*(const size_t *)b];
    int c = 0;
    switch (o->sort) {
    case IG_OCOL_SERVICE: c = strcmp(x->service, y->service); break;
    case IG_OCOL_NAME: c = strcmp(x->name, y->name); break;
    case IG_OCOL_COUNT: c = cmp_u64(x->count, y->count); break;
    case IG_OCOL_ERRORS:
        c = (x->errors * (double)y->count > y->errors * (double)x->count) -
            (x->errors * (double)y->count < y->errors * (double)x->count);
        break;
    case IG_OCOL_P50: c = cmp_u64(x->p50_ns, y->p50_ns); break;
    case IG_OCOL_P90: c = cmp_u64(x->p90_ns, y->p90_ns); break;
    default: c = cmp_u64(x->p99_ns, y->p99_ns); break;
    }
    if (o->desc)
        c = -c;
    if (!c) /* the store's order: service, then name */
        c = cmp_u64(*(const size_t *)a, *(const size_t *)b);
    return c;
}

int ig_tops_sort(ig_tops *o)
{
    int64_t keep = o->sel < o->ops.n ? o->ops.ops[o->order[o->sel]].id : 0;
    for (size_t i = 0; i < o->ops.n; i++)
        o->order[i] = i;
    qsort_r(o->order, o->ops.n, sizeof *o->order, ops_cmp, o);
    for (size_t i = 0; i < o->ops.n; i++)
        if (o->ops.ops[o->order[i]].id == keep)
            o->sel = i;
    return 0;
}

int ig_tops_load(ig_tview *v, ig_tops *o, ig_err *err)
{
    ig_store_ops ops;
    if (ig_store_operations(v->store, NULL, &ops, err) < 0)
        return -1;
    int64_t keep = o->sel < o->ops.n ? o->ops.ops[o->order[o->sel]].id : 0;
    ig_store_ops_free(&o->ops);
    free(o->order);
    o->ops = ops;
    o->order = ig_xmalloc((ops.n ? ops.n : 1) * sizeof *o->order);
    o->sel = 0;
    for (size_t i = 0; i < ops.n; i++)
        o->order[i] = i;
    qsort_r(o->order, ops.n, sizeof *o->order, ops_cmp, o);
    for (size_t i = 0; keep && i < ops.n; i++)
        if (ops.ops[o->order[i]].id == keep)
            o->sel = i;
    o->stale = false;
    return 0;
}

int ig_tview_open_operations(ig_tview *v)
{
    ig_tpage *p = ig_tpage_new(IG_TP_OPS);
    p->ops.sort = IG_OCOL_SERVICE;
    ig_err err;
    if (ig_tops_load(v, &p->ops, &err) < 0) {
        ig_tpage_free(p);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    ig_tpage_push(v, p);
    return 0;
}

void ig_tops_settle(ig_tview *v, ig_tops *o)
{
    size_t rows = ig_tview_body_rows(v);
    if (o->sel >= o->ops.n)
        o->sel = o->ops.n ? o->ops.n - 1 : 0;
    if (o->sel < o->scroll)
        o->scroll = o->sel;
    if (o->sel >= o->scroll + rows)
        o->scroll = o->sel - rows + 1;
}

/* Upper bounds of about `want` buckets, log-spaced from lo to hi, strictly
 * increasing, the last one hi. */
static size_t hist_bounds(uint64_t lo, uint64_t hi, size_t want, uint64_t *b)
{
    if (hi <= lo || want < 2) {
        b[0] = hi;
        return 1;
    }
    double a = lo > 0 ? (double)lo : 1.0, r = (double)hi / a;
    size_t n = 0;
    for (size_t i = 1; i <= want; i++) {
        uint64_t e = i == want ? hi : (uint64_t)ceil(a * pow(r, (double)i / (double)want));
        if (e > hi)
            e = hi;
        if (n && e <= b[n - 1])
            continue;
        b[n++] = e;
        if (e == hi)
            break;
    }
    return n;
}

int ig_thist_load(ig_tview *v, ig_thist *h, ig_err *err)
{
    return ig_store_op_histogram(v->store, h->op.id, NULL, h->bounds, h->nb, h->counts, err);
}

int ig_thist_open(ig_tview *v, const ig_store_op_stats *op)
{
    ig_tpage *p = ig_tpage_new(IG_TP_HIST);
    ig_thist *h = &p->hist;
    h->op = *op;
    size_t ls = strlen(op->service), ln = strlen(op->name);
    h->names = ig_xmalloc(ls + ln + 2);
    memcpy(h->names, op->service, ls + 1);
    memcpy(h->names + ls + 1, op->name, ln + 1);
    h->op.service = h->names;
    h->op.name = h->names + ls + 1;
    int want = (v->width - 12) / 2;
    want = want < 8 ? 8 : want > IG_THIST_MAX ? IG_THIST_MAX : want;
    h->nb = hist_bounds(op->min_ns, op->max_ns, (size_t)want, h->bounds);
    ig_err err;
    if (ig_thist_load(v, h, &err) < 0) {
        ig_tpage_free(p);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    /* start on the fullest bucket */
    for (size_t i = 0; i < h->nb; i++)
        if (h->counts[i] > h->counts[h->sel])
            h->sel = i;
    ig_tpage_push(v, p);
    return 0;
}

/* Enter on a histogram: the traces with a span of the operation in the bucket. */
int ig_thist_list_bucket(ig_tview *v, const ig_thist *h)
{
    if (h->sel >= h->nb)
        return -1;
    uint64_t lo = h->sel ? h->bounds[h->sel - 1] + 1 : 0, hi = h->bounds[h->sel] + 1;
    ig_tfilter f = {0};
    f.operation = h->op.id;
    f.op_min_ns = lo;
    f.op_max_ns = hi;
    char a[32], b[32];
    ig_format_duration(h->sel ? h->bounds[h->sel - 1] : 0, a, sizeof a);
    ig_format_duration(h->bounds[h->sel], b, sizeof b);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, "%s %s %s%s..%s", h->op.service, h->op.name, h->sel ? ">" : "", a, b);
    f.operation_label = ig_sb_detach(&sb, NULL);
    ig_err err;
    ig_tpage *p = ig_tlist_page_new(v, f, IG_TCOL_DURATION, &err);
    if (!p) {
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    ig_tpage_push(v, p);
    ig_tview_message(v, 0, "%llu trace%s with %s", (unsigned long long)p->list.total, p->list.total == 1 ? "" : "s",
                     f.operation_label);
    return 0;
}
