/*
 * tests/otlp/test_http.c — the OTLP/HTTP exporter against the loopback
 * receiver: delivery in protobuf, JSON and gzip; configured headers sent;
 * one kept-alive connection; retries on 503/429/502/504 and on a refused
 * connection; Retry-After honoured (proved by a backoff too long for the
 * timeout, so only the server's delay can make delivery possible);
 * Retry-After past the deadline and 400 not retried; partial_success
 * counted; a forked child exporting on its own handle; the JSON lines file
 * exporter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporters/otlp.h"
#include "tests/otlp/fixture.h"
#include "tests/otlp/receiver.c"

#define WAIT_MS 20000

static rcv *R;

static int setup(void **state)
{
    (void)state;
    R = rcv_start(false);
    return R ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rcv_stop(R);
    R = NULL;
    return 0;
}

static ig_exporter *exporter(const char *url, bool json, bool gzip, int timeout_ms, int base_ms, int attempts)
{
    ig_otlp_config cfg = {0};
    cfg.url = (char *)url;
    cfg.json = json;
    cfg.gzip = gzip;
    cfg.timeout_ms = timeout_ms;
    cfg.retry_base_ms = base_ms;
    cfg.retry_max_ms = base_ms * 4;
    cfg.retry_max_attempts = attempts;
    ig_err err;
    ig_exporter *e = ig_otlp_http_exporter_new(&cfg, &err);
    assert_non_null(e);
    return e;
}

static int export_fixture(ig_exporter *e)
{
    const ig_span_data *batch[FX_NSPANS];
    fx_batch(batch);
    return e->export_spans(e, batch, FX_NSPANS, 0);
}

#define COUNTER(e, f) atomic_load(&(e)->counters.f)

static void test_protobuf_delivered(void **state)
{
    (void)state;
    ig_exporter *e = exporter(rcv_url(R), false, false, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(rcv_span_count(R), 2 * FX_NSPANS);
    assert_int_equal(COUNTER(e, exported), 2 * FX_NSPANS);
    assert_int_equal(COUNTER(e, failed), 0);
    assert_int_equal(COUNTER(e, retries), 0);
    /* keep-alive: both POSTs on one connection */
    assert_int_equal(rcv_connections(R), 1);
    rcv_span *spans;
    size_t n = rcv_spans(R, &spans);
    assert_int_equal(n, 2 * FX_NSPANS);
    assert_string_equal(rcv_attr_str(spans[0].rs->resource->attributes, spans[0].rs->resource->n_attributes,
                                     "service.name"), "svc-a");
    assert_string_equal(spans[0].span->name, "GET /");
    assert_memory_equal(spans[0].span->trace_id.data, fx_spans[0].trace_id, 16);
    free(spans);
    e->destroy(e);
}

static void test_json_and_gzip_delivered(void **state)
{
    (void)state;
    ig_exporter *e = exporter(rcv_url(R), true, true, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(rcv_json_posts(R), 1);
    assert_int_equal(rcv_gzip_posts(R), 1);
    assert_int_equal(rcv_span_count(R), FX_NSPANS);
    json_object **reqs;
    assert_int_equal(rcv_json_requests(R, &reqs), 1);
    assert_non_null(strstr(json_object_to_json_string_ext(reqs[0], JSON_C_TO_STRING_PLAIN), "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""));
    e->destroy(e);

    e = exporter(rcv_url(R), false, true, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(rcv_gzip_posts(R), 2);
    assert_int_equal(rcv_span_count(R), 2 * FX_NSPANS);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS);
    e->destroy(e);
}

static void test_headers_from_env_sent(void **state)
{
    (void)state;
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rcv_url(R), 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr%C3%A9t%20k,bad entry", 1);
    rcv_capture_header(R, "x-api-key");
    ig_err err;
    ig_exporter *e = ig_otlp_http_exporter_from_env(&err);
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    assert_non_null(e);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    char v[64];
    rcv_captured(R, v, sizeof v);
    assert_string_equal(v, "s3cr\xc3\xa9t k");
    e->destroy(e);
}

static void test_retryable_statuses_retried(void **state)
{
    (void)state;
    rcv_script(R, 503, NULL, 1);
    rcv_script(R, 429, NULL, 1);
    rcv_script(R, 502, NULL, 1);
    rcv_script(R, 504, NULL, 1);
    ig_exporter *e = exporter(rcv_url(R), false, false, 20000, 1, 5);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(rcv_posts(R), 5);
    assert_int_equal(rcv_span_count(R), FX_NSPANS);
    assert_int_equal(COUNTER(e, retries), 4);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS);
    assert_int_equal(COUNTER(e, failed), 0);
    e->destroy(e);
}

static void test_retry_after_honoured(void **state)
{
    (void)state;
    /* Backoff alone would wait 60 s, past the 8 s timeout, and give up;
     * only honouring "Retry-After: 1" lets the export succeed. */
    rcv_script(R, 503, "1", 2);
    ig_exporter *e = exporter(rcv_url(R), false, false, 8000, 60000, 5);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(rcv_posts(R), 3);
    assert_int_equal(COUNTER(e, retries), 2);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS);
    assert_int_equal(rcv_span_count(R), FX_NSPANS);
    e->destroy(e);
}

static void test_retry_after_beyond_deadline_gives_up(void **state)
{
    (void)state;
    rcv_script(R, 503, "3600", 1);
    ig_exporter *e = exporter(rcv_url(R), false, false, 5000, 1, 5);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(rcv_posts(R), 1);
    assert_int_equal(COUNTER(e, retries), 0);
    assert_int_equal(COUNTER(e, failed), FX_NSPANS);
    /* the next export works again */
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS);
    e->destroy(e);
}

static void test_bad_request_not_retried(void **state)
{
    (void)state;
    rcv_script(R, 400, NULL, 1);
    ig_exporter *e = exporter(rcv_url(R), false, false, 10000, 1, 5);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(rcv_posts(R), 1);
    assert_int_equal(COUNTER(e, retries), 0);
    assert_int_equal(COUNTER(e, failed), FX_NSPANS);
    assert_int_equal(COUNTER(e, exported), 0);
    rcv_script(R, 404, NULL, 1);
    rcv_script(R, 413, NULL, 1);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(rcv_posts(R), 3);
    assert_int_equal(COUNTER(e, retries), 0);
    e->destroy(e);
}

static void test_attempts_bounded(void **state)
{
    (void)state;
    rcv_script(R, 503, NULL, 10);
    ig_exporter *e = exporter(rcv_url(R), false, false, 20000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(rcv_posts(R), 3);
    assert_int_equal(COUNTER(e, retries), 2);
    assert_int_equal(COUNTER(e, failed), FX_NSPANS);
    e->destroy(e);
}

static void test_connection_refused_retried_then_failed(void **state)
{
    (void)state;
    rcv *gone = rcv_start(false);
    char url[64];
    snprintf(url, sizeof url, "%s", rcv_url(gone));
    rcv_stop(gone); /* nothing listens on this port any more */
    ig_exporter *e = exporter(url, false, false, 10000, 1, 4);
    assert_int_equal(export_fixture(e), IG_EXPORT_FAILED);
    assert_int_equal(COUNTER(e, retries), 3);
    assert_int_equal(COUNTER(e, failed), FX_NSPANS);
    e->destroy(e);
}

static void test_partial_success_counted(void **state)
{
    (void)state;
    rcv_set_partial_success(R, 3, "spans too old");
    ig_exporter *e = exporter(rcv_url(R), false, false, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(COUNTER(e, rejected), 3);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS - 3);
    e->destroy(e);
    e = exporter(rcv_url(R), true, false, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    assert_int_equal(COUNTER(e, rejected), 3);
    assert_int_equal(COUNTER(e, exported), FX_NSPANS - 3);
    e->destroy(e);
}

static void test_fork_child_exports_on_own_connection(void **state)
{
    (void)state;
    ig_exporter *e = exporter(rcv_url(R), false, false, 10000, 1, 3);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e->after_fork_child(e);
        int rc = export_fixture(e);
        _exit(rc == IG_EXPORT_OK && atomic_load(&e->counters.exported) == 2 * FX_NSPANS ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(export_fixture(e), IG_EXPORT_OK); /* parent still works */
    assert_int_equal(rcv_span_count(R), 3 * FX_NSPANS);
    assert_int_equal(rcv_connections(R), 2);
    e->destroy(e);
}

static void test_file_exporter_json_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/ignis-otlp-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ig_err err;
    ig_exporter *e = ig_otlp_file_exporter_new(path, &err);
    assert_non_null(e);
    const ig_span_data *batch[FX_NSPANS];
    fx_batch(batch);
    assert_int_equal(e->export_spans(e, batch, 1, 0), IG_EXPORT_OK);
    assert_int_equal(e->export_spans(e, batch + 1, 3, 0), IG_EXPORT_OK);
    assert_int_equal(COUNTER(e, exported), 4);
    /* written per batch: readable before destroy */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0;
    size_t spans = 0;
    while (getline(&line, &cap, f) > 0) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        spans += count_json_spans(o);
        json_object_put(o);
        lines++;
    }
    free(line);
    fclose(f);
    assert_int_equal(lines, 2);
    assert_int_equal(spans, 4);
    e->destroy(e);
    unlink(path);

    assert_null(ig_otlp_file_exporter_new("/nonexistent-dir/x.jsonl", &err));
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.jsonl: No such file or directory"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_protobuf_delivered),
        T(test_json_and_gzip_delivered),
        T(test_headers_from_env_sent),
        T(test_retryable_statuses_retried),
        T(test_retry_after_honoured),
        T(test_retry_after_beyond_deadline_gives_up),
        T(test_bad_request_not_retried),
        T(test_attempts_bounded),
        T(test_connection_refused_retried_then_failed),
        T(test_partial_success_counted),
        T(test_fork_child_exports_on_own_connection),
        T(test_file_exporter_json_lines),
    };
    return cmocka_run_group_tests_name("otlp_http", tests, NULL, NULL);
}
