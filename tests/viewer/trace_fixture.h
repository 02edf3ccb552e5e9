/*
 * tests/viewer/trace_fixture.h — trace stores with known traces, written
 * through the store's own write API (collect/store.h, collect/batch.h),
 * for the trace view tests (test_traces.c) and the tmux test
 * (trace_store.c writes the same store to a file for e2e_traces.sh).
 *
 * A span is one line of a table: trace number, span id, parent id (0 for
 * a root), service, name, start and end in microseconds from the trace's
 * base time (trace n starts n seconds after TF_T0), status, attributes,
 * one optional event and one optional link.  Every expected number in the
 * tests is worked out from these tables by hand.
 */
#ifndef IG_TESTS_VIEWER_TRACE_FIXTURE_H
#define IG_TESTS_VIEWER_TRACE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/batch.h"
#include "collect/store.h"
#include "utils/hash.h"

#define TF_T0 1700000000000000000ull /* 2023-11-14 22:13:20 UTC */
#define TF_MS 1000ll                 /* microseconds */

typedef struct tf_span {
    uint64_t trace, span, parent;
    const char *service, *name;
    int64_t start_us, end_us;
    int status;
    const char *message;
    const char *attrs;               /* JSON object, NULL for {} */
    const char *event;               /* name of one event, at event_us */
    int64_t event_us;
    uint64_t link_trace, link_span;  /* one link when link_trace != 0 */
} tf_span;

static inline void tf_trace_id(uint64_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    for (int i = 0; i < 8; i++)
        out[15 - i] = (uint8_t)(n >> (8 * i));
}

static inline void tf_span_id(uint64_t n, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[7 - i] = (uint8_t)(n >> (8 * i));
}

static inline uint64_t tf_time(uint64_t trace, int64_t us)
{
    return TF_T0 + trace * 1000000000ull + (uint64_t)(us * 1000);
}

static inline ig_bstr tf_str(ig_batch *b, const char *s)
{
    return ig_batch_str(b, s, strlen(s));
}

static inline uint32_t tf_resource(ig_batch *b, const char *service)
{
    uint64_t digest = ig_hash_bytes(service, strlen(service), 11);
    for (uint32_t i = 0; i < b->nresources; i++)
        if (b->resources[i].digest == digest)
            return i;
    ig_batch_resource *r = ig_batch_add_resource(b);
    char attrs[256];
    snprintf(attrs, sizeof attrs, "{\"service.name\":\"%s\",\"host.name\":\"h1\"}", service);
    r->digest = digest;
    r->service = tf_str(b, service);
    r->attrs = tf_str(b, attrs);
    r->schema_url = tf_str(b, "");
    return b->nresources - 1;
}

/* Appends spans to a batch (one scope for all). */
static inline void tf_add(ig_batch *b, const tf_span *spans, size_t n)
{
    if (!b->nscopes) {
        ig_batch_scope *c = ig_batch_add_scope(b);
        c->digest = 7;
        c->name = tf_str(b, "tests");
        c->version = tf_str(b, "1.0");
        c->attrs = tf_str(b, "{}");
        c->schema_url = tf_str(b, "");
    }
    for (size_t i = 0; i < n; i++) {
        const tf_span *t = &spans[i];
        uint32_t res = tf_resource(b, t->service);
        uint32_t first_event = b->nevents, first_link = b->nlinks;
        if (t->event) {
            ig_batch_event *e = ig_batch_add_event(b);
            e->time_ns = tf_time(t->trace, t->event_us);
            e->name = tf_str(b, t->event);
            e->attrs = tf_str(b, "{\"key\":\"user:42\"}");
        }
        if (t->link_trace) {
            ig_batch_link *l = ig_batch_add_link(b);
            tf_trace_id(t->link_trace, l->trace_id);
            tf_span_id(t->link_span, l->span_id);
            l->trace_state = tf_str(b, "");
            l->attrs = tf_str(b, "{\"link.kind\":\"follows\"}");
        }
        ig_batch_span *sp = ig_batch_add_span(b);
        sp->resource = res;
        sp->scope = 0;
        tf_trace_id(t->trace, sp->trace_id);
        tf_span_id(t->span, sp->span_id);
        sp->has_parent = t->parent != 0;
        if (t->parent)
            tf_span_id(t->parent, sp->parent_span_id);
        sp->kind = t->parent ? 1 : 2;
        sp->status_code = (uint8_t)t->status;
        sp->name = tf_str(b, t->name);
        sp->status_message = tf_str(b, t->message ? t->message : "");
        sp->trace_state = tf_str(b, "");
        sp->start_ns = tf_time(t->trace, t->start_us);
        sp->end_ns = tf_time(t->trace, t->end_us);
        sp->attrs = tf_str(b, t->attrs ? t->attrs : "{}");
        sp->first_event = first_event;
        sp->nevents = b->nevents - first_event;
        sp->first_link = first_link;
        sp->nlinks = b->nlinks - first_link;
    }
}

/* Inserts spans in one transaction; 0 or -1 (message on stderr). */
static inline int tf_insert(ig_store *s, const tf_span *spans, size_t n)
{
    ig_batch *b = ig_batch_new();
    b->received_ns = TF_T0;
    tf_add(b, spans, n);
    ig_err err;
    int rc = ig_store_begin(s, &err);
    if (rc == 0)
        rc = ig_store_insert(s, b, &err);
    if (rc == 0)
        rc = ig_store_commit(s, &err);
    if (rc != 0)
        fprintf(stderr, "tf_insert: %s\n", err.msg);
    ig_batch_free(b);
    return rc ? -1 : 0;
}

#define MS_ TF_MS
/* The known traces:
 *  1 checkout: frontend GET /checkout 0-100ms (root; an event at 5ms)
 *      backend POST /charge 10-60 > db SELECT orders 15-40 (ERROR deadlock), db INSERT audit 20-30
 *      backend render 65-95
 *    critical path: GET /checkout, render, POST /charge, SELECT orders (not INSERT audit)
 *  2 orphans: frontend GET /orphans 0-50; backend handle 5-20 whose parent 0xdead never
 *    arrived; backend skewed -3..45 under GET /orphans (starts 3ms before it)
 *  3 cycle: frontend GET /cycle 0-10; loop a 1-5 (parent loop b), loop b 2-4 (parent loop a)
 *  4 links: worker consume 0-30, linked to trace 1 span 0x12 and to trace 99 (not stored)
 *  5 errors: payments POST /pay 0-200 (ERROR card declined, status_code 500) > charge card 10-190 (ERROR)
 *  6..25: frontend GET /item lasting 1..20 ms > db SELECT item (half as long)
 *  26: no root: backend late child 0-5 whose parent 0xbeef never arrived */
static const tf_span tf_known[] = {
    {1, 0x11, 0, "frontend", "GET /checkout", 0, 100 * MS_, 0, NULL,
     "{\"http.request.method\":\"GET\",\"http.response.status_code\":200}", "cache miss", 5 * MS_, 0, 0},
    {1, 0x12, 0x11, "backend", "POST /charge", 10 * MS_, 60 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {1, 0x13, 0x12, "db", "SELECT orders", 15 * MS_, 40 * MS_, 2, "deadlock", NULL, NULL, 0, 0, 0},
    {1, 0x14, 0x11, "backend", "render", 65 * MS_, 95 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {1, 0x15, 0x12, "db", "INSERT audit", 20 * MS_, 30 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {2, 0x21, 0, "frontend", "GET /orphans", 0, 50 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {2, 0x22, 0xdead, "backend", "handle", 5 * MS_, 20 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {2, 0x23, 0x21, "backend", "skewed", -3 * MS_, 45 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {3, 0x31, 0, "frontend", "GET /cycle", 0, 10 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {3, 0x32, 0x33, "backend", "loop a", 1 * MS_, 5 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {3, 0x33, 0x32, "backend", "loop b", 2 * MS_, 4 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
    {4, 0x41, 0, "worker", "consume", 0, 30 * MS_, 0, NULL, NULL, NULL, 0, 1, 0x12},
    {5, 0x51, 0, "payments", "POST /pay", 0, 200 * MS_, 2, "card declined",
     "{\"http.response.status_code\":500}", NULL, 0, 0, 0},
    {5, 0x52, 0x51, "payments", "charge card", 10 * MS_, 190 * MS_, 2, NULL, NULL, NULL, 0, 0, 0},
    {26, 0x261, 0xbeef, "backend", "late child", 0, 5 * MS_, 0, NULL, NULL, NULL, 0, 0, 0},
};
#undef MS_

/* Trace 4's second link, to a trace that is not stored. */
static const tf_span tf_dangling_link = {4, 0x42, 0x41, "worker", "ack", 5 * TF_MS, 10 * TF_MS, 0, NULL, NULL,
                                         NULL, 0, 99, 0x99};

/* Writes the known traces into s. */
static inline int tf_fill_known(ig_store *s)
{
    tf_span items[40];
    size_t n = 0;
    for (uint64_t k = 6; k <= 25; k++) {
        int64_t d = (int64_t)(k - 5) * TF_MS; /* 1..20 ms */
        items[n++] = (tf_span){k, 0x100 + k, 0, "frontend", "GET /item", 0, d, 0, NULL, NULL, NULL, 0, 0, 0};
        items[n++] = (tf_span){k, 0x200 + k, 0x100 + k, "db", "SELECT item", d / 4, d / 4 + d / 2, 0, NULL, NULL,
                               NULL, 0, 0, 0};
    }
    if (tf_insert(s, tf_known, sizeof tf_known / sizeof tf_known[0]) < 0 || tf_insert(s, &tf_dangling_link, 1) < 0)
        return -1;
    return tf_insert(s, items, n);
}

/* A trace of n spans, trace number `trace`: span i+1's parent is span i
 * (a chain n deep) when chain, else span (i-1)/4 (a 4-ary tree); span i
 * lasts from i to i+10 microseconds... nested within its parent's time.
 * Inserted in batches of 10,000. */
static inline int tf_big_trace(ig_store *s, uint64_t trace, size_t n, int chain)
{
    tf_span *spans = calloc(n, sizeof *spans);
    for (size_t i = 0; i < n; i++) {
        uint64_t parent = i == 0 ? 0 : chain ? i : (i - 1) / 4 + 1;
        spans[i] = (tf_span){trace, i + 1, parent, i % 3 ? "backend" : "frontend", i % 2 ? "work" : "step",
                             (int64_t)i, (int64_t)(2 * n - i), i % 1000 == 999 ? 2 : 0, NULL, NULL, NULL, 0, 0, 0};
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += 10000)
        rc = tf_insert(s, spans + i, n - i < 10000 ? n - i : 10000);
    free(spans);
    return rc;
}

#endif
