/*
 * tests/collect/test_metrics.c — the /metrics exposition and the writer
 * thread.
 *
 * Metrics: spans with durations on and around the spanmetrics boundaries
 * land in the right cumulative buckets; label values are escaped and made
 * valid UTF-8; series beyond the cap go to the overflow series; counters
 * are rendered.  Writer: everything submitted is committed by the time
 * ig_writer_stop returns; the queue bound refuses (429) what does not
 * fit; a stopped writer refuses; retention runs in the writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/metrics.h"
#include "collect/store_impl.h" /* the connection, to lower SQLite's length limit */
#include "collect/writer.h"
#include "tests/collect/helpers.h"

#define T0 1700000000000000000ULL
#define MS 1000000ULL

static int teardown(void **state)
{
    (void)state;
    h_reset();
    return 0;
}

/* The value of the exposition line that starts with `prefix`, or -1. */
static long long metric(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix)) && p[strlen(prefix)] == ' ')
            return atoll(p + strlen(prefix) + 1);
    return -1;
}

static ig_batch *batch_of(const char *service, PbSpan **spans, size_t n)
{
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request(service, spans, n), &st);
    assert_non_null(b);
    return b;
}

static void buckets_are_cumulative(void **state)
{
    (void)state;
    uint64_t durations[] = {2 * MS, 2 * MS + 1, 10 * MS, 999 * MS, 1000 * MS, 15000 * MS, 15000 * MS + 1, 0};
    PbSpan *spans[8];
    for (int i = 0; i < 8; i++)
        spans[i] = h_span(1, (uint64_t)i + 1, 0, "GET /", T0, T0 + durations[i]);
    ig_batch *b = batch_of("api", spans, 8);
    ig_metrics *m = ig_metrics_new(100);
    ig_metrics_observe(m, b);
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(m, NULL, &out);
#define L(le) "ignis_span_duration_seconds_bucket{service_name=\"api\",span_name=\"GET /\",span_kind=\"SPAN_KIND_SERVER\"," \
              "status_code=\"STATUS_CODE_UNSET\",le=\"" le "\"}"
    assert_int_equal(metric(out.data, L("0.002")), 2);  /* 0 and exactly 2 ms */
    assert_int_equal(metric(out.data, L("0.004")), 3);
    assert_int_equal(metric(out.data, L("0.01")), 4);   /* 10 ms is <= 0.01 */
    assert_int_equal(metric(out.data, L("0.8")), 4);
    assert_int_equal(metric(out.data, L("1")), 6);
    assert_int_equal(metric(out.data, L("15")), 7);
    assert_int_equal(metric(out.data, L("+Inf")), 8);
    assert_int_equal(metric(out.data, "ignis_span_duration_seconds_count{service_name=\"api\",span_name=\"GET /\","
                                      "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"}"),
                     8);
    assert_non_null(strstr(out.data, "# TYPE ignis_span_duration_seconds histogram\n"));
    const char *sum = strstr(out.data, "ignis_span_duration_seconds_sum{service_name=\"api\"");
    assert_non_null(sum);
    double want = 0;
    for (int i = 0; i < 8; i++)
        want += (double)durations[i] / 1e9;
    double got = strtod(strchr(sum, '}') + 2, NULL);
    assert_true(got > want * 0.999999 && got < want * 1.000001);
    ig_sb_free(&out);
    ig_metrics_free(m);
    ig_batch_free(b);
}

static void labels_are_escaped(void **state)
{
    (void)state;
    PbSpan *s = h_span(1, 1, 0, "a\"b\\c\nd\xff\xc3\xa9", T0, T0 + 1);
    h_status(s, 2, "x");
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER;
    PbSpan *spans[] = {s};
    ig_batch *b = batch_of("sv\"c", spans, 1);
    ig_metrics *m = ig_metrics_new(10);
    ig_metrics_observe(m, b);
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(m, NULL, &out);
    assert_int_equal(metric(out.data, "ignis_span_duration_seconds_count{service_name=\"sv\\\"c\",span_name="
                                      "\"a\\\"b\\\\c\\nd\xef\xbf\xbd\xc3\xa9\",span_kind=\"SPAN_KIND_CONSUMER\","
                                      "status_code=\"STATUS_CODE_ERROR\"}"),
                     1);
    ig_sb_free(&out);
    ig_metrics_free(m);
    ig_batch_free(b);
}

/* names longer than 256 bytes are cut (at a character boundary) and share
 * a series: a 4 MiB span name made every /metrics line 4 MiB */
static void long_names_are_cut(void **state)
{
    (void)state;
    char *a = malloc(1 << 20), *b = malloc(1 << 20);
    memset(a, 'x', 255);
    memcpy(a + 255, "\xc3\xa9", 2); /* a 2-byte character across the cut */
    memset(a + 257, 'a', (1 << 20) - 258);
    a[(1 << 20) - 1] = '\0';
    memcpy(b, a, 1 << 20);
    b[1000] = 'b';
    PbSpan *spans[] = {h_span(1, 1, 0, a, T0, T0 + 1), h_span(1, 2, 0, b, T0, T0 + 1)};
    ig_batch *bt = batch_of("svc", spans, 2);
    ig_metrics *m = ig_metrics_new(10);
    ig_metrics_observe(m, bt);
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(m, NULL, &out);
    char want[512];
    snprintf(want, sizeof want,
             "ignis_span_duration_seconds_count{service_name=\"svc\",span_name=\"%.255s\",span_kind=\"SPAN_KIND_SERVER\","
             "status_code=\"STATUS_CODE_UNSET\"}",
             a);
    assert_int_equal(metric(out.data, want), 2);
    assert_true(out.len < 64 * 1024);
    ig_sb_free(&out);
    ig_metrics_free(m);
    ig_batch_free(bt);
    free(a);
    free(b);
}

static void series_are_capped(void **state)
{
    (void)state;
    PbSpan *spans[5];
    const char *names[] = {"a", "b", "c", "a", "d"};
    for (int i = 0; i < 5; i++)
        spans[i] = h_span(1, (uint64_t)i + 1, 0, names[i], T0, T0 + 1);
    ig_batch *b = batch_of("svc", spans, 5);
    ig_metrics *m = ig_metrics_new(2);
    ig_metrics_observe(m, b);
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(m, NULL, &out);
    assert_int_equal(metric(out.data, "ignis_span_duration_seconds_count{service_name=\"svc\",span_name=\"a\","
                                      "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"}"),
                     2);
    assert_int_equal(metric(out.data, "ignis_span_duration_seconds_count{otel_metric_overflow=\"true\"}"), 2);
    assert_null(strstr(out.data, "span_name=\"c\""));
    ig_sb_free(&out);
    ig_metrics_free(m);
    ig_batch_free(b);
}

static void counters_are_rendered(void **state)
{
    (void)state;
    static ig_collect_counters c;
    atomic_store(&c.spans_received, 12);
    atomic_store(&c.spans_rejected, 2);
    atomic_store(&c.conns_cut.slow, 3);
    atomic_store(&c.conns_cut.evicted, 4);
    ig_collect_count_status(&c, 200);
    ig_collect_count_status(&c, 200);
    ig_collect_count_status(&c, 413);
    ig_collect_count_status(&c, 404);
    ig_metrics *m = ig_metrics_new(1);
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(m, &c, &out);
    assert_int_equal(metric(out.data, "ignis_collect_spans_received_total"), 12);
    assert_int_equal(metric(out.data, "ignis_collect_spans_rejected_total"), 2);
    assert_int_equal(metric(out.data, "ignis_collect_requests_total{code=\"200\"}"), 2);
    assert_int_equal(metric(out.data, "ignis_collect_requests_total{code=\"413\"}"), 1);
    assert_int_equal(metric(out.data, "ignis_collect_requests_total{code=\"other\"}"), 1);
    assert_int_equal(metric(out.data, "ignis_collect_connections_cut_total{reason=\"slow\"}"), 3);
    assert_int_equal(metric(out.data, "ignis_collect_connections_cut_total{reason=\"evicted\"}"), 4);
    assert_int_equal(metric(out.data, "ignis_collect_connections_cut_total{reason=\"refused\"}"), 0);
    assert_non_null(strstr(out.data, "# TYPE ignis_collect_spans_stored_total counter\n"));
    ig_sb_free(&out);
    ig_metrics_free(m);
}

/* ---- the writer ---------------------------------------------------------------------- */

static char dir[] = "/tmp/ignis-writer-XXXXXX";

static ig_store *temp_store(char *path, size_t len)
{
    if (!mkdtemp(dir))
        fail_msg("mkdtemp");
    snprintf(path, len, "%s/t.db", dir);
    ig_err err;
    ig_store *s = ig_store_open(path, IG_STORE_CREATE, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static void remove_temp(void)
{
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    strcpy(dir, "/tmp/ignis-writer-XXXXXX");
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void writer_commits_everything(void **state)
{
    (void)state;
    char path[200];
    ig_store *s = temp_store(path, sizeof path);
    static ig_collect_counters c;
    memset(&c, 0, sizeof c);
    ig_writer_config cfg = {s, &c, 64 << 20, 50, 100, 0, 0, NULL};
    ig_err err;
    ig_writer *w = ig_writer_start(&cfg, &err);
    assert_non_null(w);
    uint64_t total = 0;
    for (int i = 0; i < 200; i++) {
        PbSpan *spans[10];
        for (int k = 0; k < 10; k++)
            spans[k] = h_span((uint64_t)i + 1, (uint64_t)k + 1, k ? 1 : 0, "op", T0, T0 + 1);
        ig_batch *b = batch_of("svc", spans, 10);
        b->received_ns = wall_ns();
        total += b->nspans;
        assert_int_equal(ig_writer_submit(w, b), IG_SUBMIT_OK);
        h_reset();
    }
    assert_int_equal(ig_writer_stop(w, 5000), 0);
    assert_int_equal(atomic_load(&c.spans_stored), total);
    assert_int_equal(atomic_load(&c.queue_spans), 0);
    ig_store_summary sum;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_int_equal(sum.spans, total);
    assert_int_equal(sum.traces, 200);
    ig_store_close(s);
    remove_temp();
}

static void writer_queue_is_bounded(void **state)
{
    (void)state;
    char path[200];
    ig_store *s = temp_store(path, sizeof path);
    static ig_collect_counters c;
    ig_writer_config cfg = {s, &c, 100000, 50, 100, 0, 0, NULL};
    ig_err err;
    ig_writer *w = ig_writer_start(&cfg, &err);
    assert_int_equal(ig_writer_reserve(w, 60000), IG_SUBMIT_OK);
    assert_int_equal(ig_writer_reserve(w, 40000), IG_SUBMIT_OK);
    assert_int_equal(ig_writer_reserve(w, 1), IG_SUBMIT_FULL);
    assert_int_equal(ig_writer_retry_after(w), 1);
    ig_writer_stop(w, 1000);
    ig_store_close(s);
    remove_temp();
}

static void writer_runs_retention(void **state)
{
    (void)state;
    char path[200];
    ig_store *s = temp_store(path, sizeof path);
    static ig_collect_counters c;
    memset(&c, 0, sizeof c);
    ig_writer_config cfg = {s, &c, 64 << 20, 50, 100, 3600ull * 1000000000ull, 0, NULL};
    ig_err err;
    ig_writer *w = ig_writer_start(&cfg, &err);
    for (int i = 0; i < 20; i++) {
        PbSpan *spans[] = {h_span((uint64_t)i + 1, 1, 0, "op", T0, T0 + 1)};
        ig_batch *b = batch_of("svc", spans, 1);
        b->received_ns = wall_ns() - (i < 15 ? 2 : 0) * 3600ull * 1000000000ull; /* 15 arrived 2 h ago */
        assert_int_equal(ig_writer_submit(w, b), IG_SUBMIT_OK);
    }
    /* retention runs once a second between transactions: wait for it (bounded) */
    for (int tries = 0; atomic_load(&c.traces_deleted) < 15 && tries < 1000; tries++) {
        struct timespec pause = {0, 10 * 1000000};
        nanosleep(&pause, NULL);
    }
    ig_writer_stop(w, 5000);
    assert_int_equal(atomic_load(&c.traces_deleted), 15);
    ig_store_summary sum;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_int_equal(sum.traces, 5);
    ig_store_close(s);
    remove_temp();
}

/* A request the store cannot take (a value past SQLite's length limit)
 * is left out and counted; the requests around it are stored. */
static void writer_drops_what_cannot_be_stored(void **state)
{
    (void)state;
    char path[200];
    ig_store *s = temp_store(path, sizeof path);
    sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, 10000);
    static ig_collect_counters c;
    memset(&c, 0, sizeof c);
    ig_writer_config cfg = {s, &c, 64 << 20, 50, 100, 0, 0, NULL};
    ig_err err;
    ig_writer *w = ig_writer_start(&cfg, &err);
    char *big = h_alloc(20001);
    memset(big, 'b', 20000);
    for (int i = 0; i < 3; i++) {
        PbSpan *sp = h_span((uint64_t)i + 1, 1, 0, "op", T0, T0 + 1);
        PbSpan *sp2 = h_span((uint64_t)i + 1, 2, 1, "op", T0, T0 + 1);
        if (i == 1)
            h_attrs(sp2, 1, h_str("big", big));
        PbSpan *spans[] = {sp, sp2};
        ig_batch *b = batch_of("svc", spans, 2);
        b->received_ns = wall_ns();
        assert_int_equal(ig_writer_submit(w, b), IG_SUBMIT_OK);
    }
    assert_int_equal(ig_writer_stop(w, 5000), 2);
    assert_int_equal(atomic_load(&c.spans_stored), 4);
    assert_int_equal(atomic_load(&c.spans_dropped), 2);
    ig_store_summary sum;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_int_equal(sum.spans, 4);
    assert_int_equal(sum.traces, 2);
    ig_store_close(s);
    remove_temp();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(buckets_are_cumulative, teardown),
        cmocka_unit_test_teardown(labels_are_escaped, teardown),
        cmocka_unit_test_teardown(long_names_are_cut, teardown),
        cmocka_unit_test_teardown(series_are_capped, teardown),
        cmocka_unit_test_teardown(counters_are_rendered, teardown),
        cmocka_unit_test_teardown(writer_commits_everything, teardown),
        cmocka_unit_test_teardown(writer_queue_is_bounded, teardown),
        cmocka_unit_test_teardown(writer_runs_retention, teardown),
        cmocka_unit_test_teardown(writer_drops_what_cannot_be_stored, teardown),
    };
    return cmocka_run_group_tests_name("collect/metrics", tests, NULL, NULL);
}
