/*
 * tests/cli/mkspanprof.c — writes a span-labelled wall profile and the
 * spans it came from, every number known, for tests/cli/t_spans.sh.
 *
 *   usage: mkspanprof DIR      writes DIR/spans.pb.gz and DIR/spans.jsonl
 *
 * Profile (value wall/nanoseconds, labels trace_id, span_id, span_name):
 *   20 spans "GET /orders", span ids 0000000000001000 + i, trace
 *     0000000000000000000000000000a0NN (NN = i in hex, 2 digits);
 *     i = 0, 1 (slow): main;handle;lock_wait 80 ms + main;handle;compute 20 ms
 *     others (fast):   main;handle;compute 20 ms
 *   each has a child "db.query" (span 0000000000002000 + i, same trace):
 *     main;handle;db_query 5 ms
 *   5 spans "GET /health" (span 0000000000003000 + i, trace ...b0NN):
 *     main;health_check 1 ms
 *   no span: main;idle 50 ms
 * Spans file (OTLP/JSON lines): the same spans with durations orders slow
 * 110 ms, fast 25 ms, db.query 5 ms, health 1 ms.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exporters/formats.h"
#include "ignis/profile.h"

static ignis_profile *P;

static uint32_t loc(const char *fn)
{
    return ignis_profile_location_for_function(P, ignis_profile_function_named(P, fn, "svc.c", 1),
                                               IGNIS_FRAME_USER);
}

static void sample(const char *leaf, const char *mid, int64_t ms, const char *trace, const char *span,
                   const char *name)
{
    uint32_t stack[3];
    size_t n = 0;
    stack[n++] = loc(leaf);
    if (mid)
        stack[n++] = loc(mid);
    stack[n++] = loc("main");
    ignis_label l[3];
    size_t nl = 0;
    if (span) {
        l[nl++] = (ignis_label){ignis_profile_intern(P, "trace_id"), ignis_profile_intern(P, trace), 0, 0};
        l[nl++] = (ignis_label){ignis_profile_intern(P, "span_id"), ignis_profile_intern(P, span), 0, 0};
        l[nl++] = (ignis_label){ignis_profile_intern(P, "span_name"), ignis_profile_intern(P, name), 0, 0};
    }
    int64_t v = ms * 1000000;
    ignis_profile_add_sample(P, ignis_profile_add_stack(P, stack, n), ignis_profile_add_labels(P, l, nl), &v);
}

static void span_json(FILE *f, const char *trace, const char *span, const char *parent, const char *name,
                      long long start_ms, long long dur_ms)
{
    long long t0 = 1700000000000000000LL + start_ms * 1000000LL;
    fprintf(f,
            "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
            "{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"t\"},\"spans\":[{\"traceId\":\"%s\","
            "\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"%s\",\"kind\":2,\"startTimeUnixNano\":\"%lld\","
            "\"endTimeUnixNano\":\"%lld\"}]}]}]}\n",
            trace, span, parent, name, t0, t0 + dur_ms * 1000000LL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkspanprof DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/spans.jsonl", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    P = ignis_profile_new();
    ignis_profile_add_value_type(P, "wall", "nanoseconds");
    ignis_profile_set_period(P, "wall", "nanoseconds", 1000000);
    for (int i = 0; i < 20; i++) {
        char trace[33], span[17], child[17];
        snprintf(trace, sizeof trace, "0000000000000000000000000000a0%02x", i);
        snprintf(span, sizeof span, "%016x", 0x1000 + i);
        snprintf(child, sizeof child, "%016x", 0x2000 + i);
        if (i < 2)
            sample("lock_wait", "handle", 80, trace, span, "GET /orders");
        sample("compute", "handle", 20, trace, span, "GET /orders");
        sample("db_query", "handle", 5, trace, child, "db.query");
        span_json(f, trace, span, "", "GET /orders", i * 1000, i < 2 ? 110 : 25);
        span_json(f, trace, child, span, "db.query", i * 1000 + 1, 5);
    }
    for (int i = 0; i < 5; i++) {
        char trace[33], span[17];
        snprintf(trace, sizeof trace, "0000000000000000000000000000b0%02x", i);
        snprintf(span, sizeof span, "%016x", 0x3000 + i);
        sample("health_check", NULL, 1, trace, span, "GET /health");
        span_json(f, trace, span, "", "GET /health", 50000 + i * 1000, 1);
    }
    sample("idle", NULL, 50, NULL, NULL, NULL);
    if (fclose(f))
        return 1;
    snprintf(path, sizeof path, "%s/spans.pb.gz", argv[1]);
    ig_err err;
    ig_write_opts wo = {.tree = {.value = -1}, .minwidth = -1};
    if (ig_profile_save(P, path, "pprof", &wo, &err)) {
        fprintf(stderr, "mkspanprof: %s\n", err.msg);
        return 1;
    }
    ignis_profile_free(P);
    return 0;
}
