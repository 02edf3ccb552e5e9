/*
 * tests/cli/mkjoinprof.c — writes a profile whose samples carry the labels
 * tid and time_ns (as `ignis record --spans` writes them) and spans of
 * another SDK that carry thread.id, every join known, for
 * tests/cli/t_spans_join.sh.
 *
 *   usage: mkjoinprof DIR   writes DIR/join.pb.gz, DIR/join.jsonl,
 *                           DIR/far.jsonl (spans 1 h later: another clock),
 *                           DIR/skew.jsonl (spans 8 ms later), DIR/nothread.jsonl,
 *                           DIR/double.jsonl (thread.id as doubleValue: no thread id)
 *
 * Times are ms after T0 = 1700000000 s (Unix).  Spans (join.jsonl):
 *   A "GET /a" 000000000000a001, trace ...c001, thread.id 101, [0, 100)
 *   B "db"     000000000000a002, trace ...c001, parent A, thread.id 101, [20, 40)
 *   C "GET /c" 000000000000a003, trace ...c003, thread.id "102" (a string), [0, 50)
 *   D "lib op" 000000000000d001, trace ...d001, thread.id 101, [55, 65)
 *   N "GET /n" 000000000000a004, trace ...c004, no thread.id, [0, 100)
 *   E "GET /e" 000000000000a005, trace ...c005, thread.id 101, [70, 70): no duration
 *   F "GET /f" 000000000000a006, trace ...c006, thread.id 101.5 (a double), [0, 100)
 * Samples, 1 ms each (value wall/nanoseconds):
 *   tid 101 at 10 a_work -> A; at 30 db_work -> B (the innermost);
 *           at 50 a_work -> A; at 150 idle_work -> none;
 *           at 60 lib_work, labelled by libignis with D already -> kept
 *   tid 102 at 10 c_work -> C
 *   tid 103 at 10 other_work -> none (no span of that thread)
 *   tid 104 without time_ns: old_work -> none
 * So: 8 samples, 4 joined, 1 labelled already, 2 in no span, 1 without
 * time; skipped: 1 span without thread.id, 1 whose thread.id is no
 * thread id, 1 of no duration.
 */
#include <stdio.h>
#include <string.h>

#include "exporters/formats.h"
#include "ignis/profile.h"

#define T0 1700000000000000000LL
#define MS 1000000LL

static ignis_profile *P;

static void sample(const char *fn, long long tid, long long at_ms, const char *span)
{
    uint32_t loc[2] = {
        ignis_profile_location_for_function(P, ignis_profile_function_named(P, fn, "svc.c", 1), IGNIS_FRAME_USER),
        ignis_profile_location_for_function(P, ignis_profile_function_named(P, "main", "svc.c", 1),
                                            IGNIS_FRAME_USER)};
    ignis_label l[6];
    size_t n = 0;
    l[n++] = (ignis_label){ignis_profile_intern(P, "tid"), 0, tid, 0};
    if (at_ms >= 0)
        l[n++] = (ignis_label){ignis_profile_intern(P, "time_ns"), 0, T0 + at_ms * MS,
                               ignis_profile_intern(P, "nanoseconds")};
    if (span) {
        l[n++] = (ignis_label){ignis_profile_intern(P, "trace_id"),
                               ignis_profile_intern(P, "0000000000000000000000000000d001"), 0, 0};
        l[n++] = (ignis_label){ignis_profile_intern(P, "span_id"), ignis_profile_intern(P, span), 0, 0};
        l[n++] = (ignis_label){ignis_profile_intern(P, "span_name"), ignis_profile_intern(P, "lib op"), 0, 0};
    }
    int64_t v = MS;
    ignis_profile_add_sample(P, ignis_profile_add_stack(P, loc, 2), ignis_profile_add_labels(P, l, n), &v);
}

static void span(FILE *f, const char *trace, const char *id, const char *parent, const char *name,
                 const char *thread, long long from_ms, long long to_ms, long long shift_ms)
{
    char attrs[128] = "";
    if (thread)
        snprintf(attrs, sizeof attrs, ",\"attributes\":[{\"key\":\"thread.id\",\"value\":%s}]", thread);
    fprintf(f,
            "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
            "{\"stringValue\":\"other\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"t\"},\"spans\":[{\"traceId\":"
            "\"0000000000000000000000000000%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"%s\","
            "\"kind\":2,\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\"%s}]}]}]}\n",
            trace, id, parent, name, T0 + (from_ms + shift_ms) * MS, T0 + (to_ms + shift_ms) * MS, attrs);
}

/* with_threads: 0 none, 1 as above, 2 every thread.id a double */
static int spans_file(const char *dir, const char *name, long long shift_ms, int with_threads)
{
    const char *t101 = with_threads == 2 ? "{\"doubleValue\":101.0}" : "{\"intValue\":\"101\"}";
    const char *t102 = with_threads == 2 ? "{\"doubleValue\":102.0}" : "{\"stringValue\":\"102\"}";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    span(f, "c001", "000000000000a001", "", "GET /a", with_threads ? t101 : NULL, 0, 100,
         shift_ms);
    span(f, "c001", "000000000000a002", "000000000000a001", "db", with_threads ? t101 : NULL,
         20, 40, shift_ms);
    span(f, "c003", "000000000000a003", "", "GET /c", with_threads ? t102 : NULL, 0, 50,
         shift_ms);
    span(f, "d001", "000000000000d001", "", "lib op", with_threads ? t101 : NULL, 55, 65,
         shift_ms);
    span(f, "c004", "000000000000a004", "", "GET /n", NULL, 0, 100, shift_ms);
    if (with_threads == 1) {
        span(f, "c005", "000000000000a005", "", "GET /e", t101, 70, 70, shift_ms);
        span(f, "c006", "000000000000a006", "", "GET /f", "{\"doubleValue\":101.5}", 0, 100, shift_ms);
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkjoinprof DIR\n");
        return 2;
    }
    if (spans_file(argv[1], "join.jsonl", 0, 1) || spans_file(argv[1], "far.jsonl", 3600000, 1) ||
        spans_file(argv[1], "skew.jsonl", 8, 1) || spans_file(argv[1], "nothread.jsonl", 0, 0) ||
        spans_file(argv[1], "double.jsonl", 0, 2))
        return 1;
    P = ignis_profile_new();
    ignis_profile_add_value_type(P, "wall", "nanoseconds");
    sample("a_work", 101, 10, NULL);
    sample("db_work", 101, 30, NULL);
    sample("a_work", 101, 50, NULL);
    sample("idle_work", 101, 150, NULL);
    sample("lib_work", 101, 60, "000000000000d001");
    sample("c_work", 102, 10, NULL);
    sample("other_work", 103, 10, NULL);
    sample("old_work", 104, -1, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/join.pb.gz", argv[1]);
    ig_err err;
    ig_write_opts wo = {.tree = {.value = -1}, .minwidth = -1};
    if (ig_profile_save(P, path, "pprof", &wo, &err)) {
        fprintf(stderr, "mkjoinprof: %s\n", err.msg);
        return 1;
    }
    ignis_profile_free(P);
    return 0;
}
