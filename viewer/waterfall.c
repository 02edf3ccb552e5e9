/*
 * viewer/waterfall.c — the rows, nesting, colours and critical path of one
 * trace (viewer/waterfall.h).
 *
 * Building is linear plus one sort per parent: display parents first
 * (found parents as they are; missing or cyclic ones under the root),
 * then child lists appended in span order — the store sorts spans by
 * start, so children come out in start order without a sort — then
 * depths in one pre-order walk that follows first_child / next_sibling /
 * parent links instead of recursing, so a chain of 100,000 spans needs no
 * stack.  Every walk starts at the top-level spans and only follows child
 * lists, so it ends even if the store ever handed over a loop.
 *
 * The critical path is computed backwards from the end of the trace, as
 * Jaeger does: of a span's children, the one that finishes last is on
 * it; the cursor moves to that child's start, and the next child on the
 * path is the one finishing last among those that started before the
 * cursor; each child taken is followed the same way within the time the
 * cursor allowed it.  The top-level spans are the children of a virtual
 * span covering the whole trace.
 */
#include "viewer/waterfall.h"

#include <stdlib.h>
#include <string.h>

#include "utils/hash.h"
#include "utils/strbuf.h"
#include "viewer/layout.h"

/* ---- display parents and child lists ------------------------------------------- */

static int32_t primary_root(const ig_store_trace *t)
{
    for (size_t i = 0; i < t->nspans; i++)
        if (t->spans[i].parent_state == IG_PARENT_NONE)
            return (int32_t)i;
    return -1;
}

static int32_t display_parent(const ig_waterfall *w, size_t i, uint8_t *flags)
{
    const ig_store_span *sp = &w->trace->spans[i];
    switch (sp->parent_state) {
    case IG_PARENT_FOUND:
        if (sp->parent >= 0 && (size_t)sp->parent < w->trace->nspans && (size_t)sp->parent != i)
            return sp->parent;
        /* a parent index the trace does not have: as if missing */
        __attribute__((fallthrough));
    case IG_PARENT_MISSING:
        *flags |= IG_WF_ORPHAN;
        break;
    case IG_PARENT_CYCLE:
        *flags |= IG_WF_CYCLE;
        break;
    default:
        return -1;
    }
    return w->root >= 0 && (size_t)w->root != i ? w->root : -1;
}

static void link_children(ig_waterfall *w)
{
    size_t n = w->trace->nspans;
    int32_t *last = ig_xmalloc((n ? n : 1) * sizeof *last);
    int32_t last_top = -1;
    for (size_t i = 0; i < n; i++) {
        ig_wf_node *nd = &w->nodes[i];
        nd->first_child = nd->next_sibling = last[i] = -1;
        if (w->trace->spans[i].status_code == 2)
            nd->flags |= IG_WF_ERROR;
        nd->parent = display_parent(w, i, &nd->flags);
    }
    for (size_t i = 0; i < n; i++) {
        int32_t p = w->nodes[i].parent;
        int32_t *tail = p >= 0 ? &last[p] : &last_top;
        if (*tail < 0) {
            if (p >= 0)
                w->nodes[p].first_child = (int32_t)i;
            else
                w->first_top = (int32_t)i;
        } else {
            w->nodes[*tail].next_sibling = (int32_t)i;
        }
        *tail = (int32_t)i;
        if (p >= 0)
            w->nodes[p].nchildren++;
    }
    free(last);
}

/* The next span in pre-order after n, skipping n's children when
 * `skip_children`; -1 at the end. */
static int32_t preorder_next(const ig_waterfall *w, int32_t n, bool skip_children)
{
    if (!skip_children && w->nodes[n].first_child >= 0)
        return w->nodes[n].first_child;
    while (n >= 0 && w->nodes[n].next_sibling < 0)
        n = w->nodes[n].parent;
    return n >= 0 ? w->nodes[n].next_sibling : -1;
}

static void compute_depths(ig_waterfall *w)
{
    for (int32_t n = w->first_top; n >= 0; n = preorder_next(w, n, false)) {
        int32_t p = w->nodes[n].parent;
        w->nodes[n].depth = p >= 0 ? w->nodes[p].depth + 1 : 0;
        const ig_store_span *sp = &w->trace->spans[n];
        if (p >= 0 && !(w->nodes[n].flags & (IG_WF_ORPHAN | IG_WF_CYCLE)) &&
            (sp->start_ns < w->trace->spans[p].start_ns || sp->end_ns > w->trace->spans[p].end_ns))
            w->nodes[n].flags |= IG_WF_SKEW;
    }
}

/* ---- services ------------------------------------------------------------------- */

/* Colour slots by order of first appearance (spans are in start order),
 * so the services of one trace get distinct colours up to IG_SVC_SHADES. */
static void assign_services(ig_waterfall *w)
{
    size_t n = w->trace->nspans, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    const char **slots = ig_xcalloc(cap, sizeof *slots);
    uint32_t *colour = ig_xmalloc(cap * sizeof *colour);
    const char *last = NULL;
    uint8_t last_colour = 0;
    for (size_t i = 0; i < n; i++) {
        const char *svc = w->trace->spans[i].service;
        if (svc != last) { /* names are shared per operation: most spans skip the hash */
            size_t h = ig_hash_bytes(svc, strlen(svc), 0x5c) & (cap - 1);
            while (slots[h] && strcmp(slots[h], svc))
                h = (h + 1) & (cap - 1);
            if (!slots[h]) {
                slots[h] = svc;
                colour[h] = (uint32_t)(w->nservices++ % IG_SVC_SHADES);
            }
            last = svc;
            last_colour = (uint8_t)colour[h];
        }
        w->nodes[i].service = last_colour;
    }
    free(slots);
    free(colour);
}

/* ---- critical path ---------------------------------------------------------------- */

static int by_end_desc(const void *a, const void *b, void *ctx)
{
    const ig_store_span *s = ctx;
    uint64_t x = s[*(const int32_t *)a].end_ns, y = s[*(const int32_t *)b].end_ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

typedef struct crit_item {
    int32_t span;   /* -1: the virtual span over the whole trace */
    uint64_t limit; /* the cursor when it was taken */
} crit_item;

static void mark_critical_path(ig_waterfall *w)
{
    const ig_store_span *sp = w->trace->spans;
    size_t n = w->trace->nspans;
    if (!n)
        return;
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++)
        if (sp[i].end_ns > end)
            end = sp[i].end_ns;
    int32_t *kids = ig_xmalloc(n * sizeof *kids);
    crit_item *stack = ig_xmalloc((n + 1) * sizeof *stack);
    size_t depth = 0;
    stack[depth++] = (crit_item){-1, end};
    while (depth) {
        crit_item it = stack[--depth];
        uint64_t cursor = it.limit;
        int32_t first = w->first_top;
        if (it.span >= 0) {
            w->nodes[it.span].flags |= IG_WF_CRITICAL;
            w->ncritical++;
            if (sp[it.span].end_ns < cursor)
                cursor = sp[it.span].end_ns;
            first = w->nodes[it.span].first_child;
        }
        size_t k = 0;
        for (int32_t c = first; c >= 0; c = w->nodes[c].next_sibling)
            kids[k++] = c;
        qsort_r(kids, k, sizeof *kids, by_end_desc, (void *)sp);
        for (size_t j = 0; j < k; j++) {
            const ig_store_span *c = &sp[kids[j]];
            if (c->start_ns >= cursor)
                continue; /* ran in parallel with a later child on the path */
            stack[depth++] = (crit_item){kids[j], cursor};
            cursor = c->start_ns;
        }
    }
    free(kids);
    free(stack);
}

/* ---- rows --------------------------------------------------------------------------- */

static void compute_rows(ig_waterfall *w)
{
    size_t n = w->trace->nspans;
    for (size_t i = 0; i < n; i++)
        w->row_of[i] = IG_WF_NONE;
    w->nrows = 0;
    for (int32_t s = w->first_top; s >= 0; s = preorder_next(w, s, (w->nodes[s].flags & IG_WF_COLLAPSED) != 0)) {
        w->row_of[s] = (uint32_t)w->nrows;
        w->rows[w->nrows++] = (uint32_t)s;
    }
}

void ig_waterfall_build(ig_waterfall *w, const ig_store_trace *t)
{
    memset(w, 0, sizeof *w);
    w->trace = t;
    size_t n = t->nspans ? t->nspans : 1;
    w->nodes = ig_xcalloc(n, sizeof *w->nodes);
    w->rows = ig_xmalloc(n * sizeof *w->rows);
    w->row_of = ig_xmalloc(n * sizeof *w->row_of);
    w->first_top = -1;
    w->root = primary_root(t);
    link_children(w);
    compute_depths(w);
    assign_services(w);
    mark_critical_path(w);
    compute_rows(w);
}

void ig_waterfall_free(ig_waterfall *w)
{
    free(w->nodes);
    free(w->rows);
    free(w->row_of);
    memset(w, 0, sizeof *w);
}

void ig_waterfall_set_collapsed(ig_waterfall *w, uint32_t span, bool collapsed)
{
    if (span >= w->trace->nspans)
        return;
    if (collapsed)
        w->nodes[span].flags |= IG_WF_COLLAPSED;
    else
        w->nodes[span].flags &= (uint8_t)~IG_WF_COLLAPSED;
    compute_rows(w);
}

void ig_waterfall_relayout(ig_waterfall *w)
{
    compute_rows(w);
}

void ig_waterfall_expand_all(ig_waterfall *w)
{
    for (size_t i = 0; i < w->trace->nspans; i++)
        w->nodes[i].flags &= (uint8_t)~IG_WF_COLLAPSED;
    compute_rows(w);
}

void ig_waterfall_reveal(ig_waterfall *w, uint32_t span)
{
    if (span >= w->trace->nspans || w->row_of[span] != IG_WF_NONE)
        return;
    for (int32_t p = w->nodes[span].parent; p >= 0; p = w->nodes[p].parent)
        w->nodes[p].flags &= (uint8_t)~IG_WF_COLLAPSED;
    compute_rows(w);
}

int32_t ig_waterfall_find_span(const ig_waterfall *w, const uint8_t span_id[8])
{
    for (size_t i = 0; i < w->trace->nspans; i++)
        if (!memcmp(w->trace->spans[i].span_id, span_id, 8))
            return (int32_t)i;
    return -1;
}

/* ---- geometry ------------------------------------------------------------------------ */

int64_t ig_waterfall_cell(uint64_t t0, uint64_t t1, int width, uint64_t t)
{
    double span = t1 > t0 ? (double)(t1 - t0) : 1.0;
    double off = t >= t0 ? (double)(t - t0) : -(double)(t0 - t);
    double c = off * (double)width / span;
    if (c < -1e9)
        c = -1e9;
    if (c > 1e9)
        c = 1e9;
    return (int64_t)(c < 0 ? c - 0.999999 : c); /* floor */
}

int ig_waterfall_bar(uint64_t t0, uint64_t t1, int width, uint64_t start, uint64_t end, int *col, int *ncols)
{
    if (width <= 0 || end < t0 || start >= (t1 > t0 ? t1 : t0 + 1))
        return 0;
    int64_t c0 = ig_waterfall_cell(t0, t1, width, start);
    int64_t c1 = ig_waterfall_cell(t0, t1, width, end);
    if (c1 <= c0)
        c1 = c0 + 1;
    if (c0 < 0)
        c0 = 0;
    if (c1 > width)
        c1 = width;
    if (c0 >= width)
        c0 = width - 1;
    if (c1 <= c0)
        c1 = c0 + 1;
    *col = (int)c0;
    *ncols = (int)(c1 - c0);
    return 1;
}
