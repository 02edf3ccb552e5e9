/*
 * tests/otlp/test_config.c — OTLP exporter settings: the
 * OTEL_EXPORTER_OTLP_HEADERS list (percent-decoding, invalid entries warned
 * about and skipped), endpoint resolution, Retry-After values, and the
 * environment (traces-specific variables win, bad values fall back to the
 * defaults with a warning, a non-http endpoint is an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp.h"

typedef struct warnings {
    int n;
    char last[512];
} warnings;

static void collect(void *ctx, const char *msg)
{
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static void clear_env(void)
{
    static const char *const vars[] = {
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "IGNIS_OTLP_RETRY_BASE_MS", "IGNIS_OTLP_RETRY_MAX_MS",
        "IGNIS_OTLP_RETRY_MAX_ATTEMPTS", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

/* ---- headers ---------------------------------------------------------------- */

static void test_headers_valid(void **state)
{
    (void)state;
    ig_otlp_config cfg = {0};
    warnings w = {0};
    int skipped = ig_otlp_parse_headers(" api-key = secret%20value , X-Tenant=t1,empty-ok=%3D%2C",
                                        "OTEL_EXPORTER_OTLP_HEADERS", &cfg, collect, &w);
    assert_int_equal(skipped, 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(cfg.nheaders, 3);
    assert_string_equal(cfg.headers[0], "api-key: secret value");
    assert_string_equal(cfg.headers[1], "X-Tenant: t1");
    assert_string_equal(cfg.headers[2], "empty-ok: =,");
    ig_otlp_config_free(&cfg);
}

static void test_headers_invalid_entries_skipped(void **state)
{
    (void)state;
    static const struct {
        const char *entry;
        const char *why;
    } bad[] = {
        {"novalue", "missing '='"},
        {"=v", "empty key"},
        {"bad key=v", "not an HTTP token"},
        {"k(=v", "not an HTTP token"},
        {"k=%zz", "invalid percent-encoding"},
        {"k=%4", "invalid percent-encoding"},
        {"k=a%0D%0AInjected: 1", "control character"},
        {"k=%00", "control character"},
        {"k=", "empty value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ig_otlp_config cfg = {0};
        warnings w = {0};
        char list[128];
        snprintf(list, sizeof list, "good=1,%s,also=2", bad[i].entry);
        int skipped = ig_otlp_parse_headers(list, "OTEL_EXPORTER_OTLP_HEADERS", &cfg, collect, &w);
        assert_int_equal(skipped, 1);
        assert_int_equal(w.n, 1);
        assert_non_null(strstr(w.last, "OTEL_EXPORTER_OTLP_HEADERS: ignoring entry 2"));
        if (!strstr(w.last, bad[i].why))
            fail_msg("entry '%s': warning '%s' lacks '%s'", bad[i].entry, w.last, bad[i].why);
        assert_int_equal(cfg.nheaders, 2);
        assert_string_equal(cfg.headers[0], "good: 1");
        assert_string_equal(cfg.headers[1], "also: 2");
        ig_otlp_config_free(&cfg);
    }
}

static void test_headers_empty_list_members(void **state)
{
    (void)state;
    ig_otlp_config cfg = {0};
    warnings w = {0};
    assert_int_equal(ig_otlp_parse_headers(",, a=b ,", "H", &cfg, collect, &w), 0);
    assert_int_equal(cfg.nheaders, 1);
    assert_string_equal(cfg.headers[0], "a: b");
    ig_otlp_config_free(&cfg);
    assert_int_equal(ig_otlp_parse_headers("", "H", &cfg, collect, &w), 0);
    assert_int_equal(cfg.nheaders, 0);
}

/* ---- endpoint ------------------------------------------------------------- */

static void check_url(const char *traces, const char *base, const char *want)
{
    ig_err err;
    char *u = ig_otlp_traces_url(traces, base, &err);
    if (!u)
        fail_msg("unexpected error: %s", err.msg);
    assert_string_equal(u, want);
    free(u);
}

static void test_endpoint_resolution(void **state)
{
    (void)state;
    check_url(NULL, NULL, "http://localhost:4318/v1/traces");
    check_url("", "", "http://localhost:4318/v1/traces");
    check_url(NULL, "http://collector:4318", "http://collector:4318/v1/traces");
    check_url(NULL, "http://collector:4318/", "http://collector:4318/v1/traces");
    check_url(NULL, "https://c.example/otlp", "https://c.example/otlp/v1/traces");
    /* the per-signal endpoint is used as-is */
    check_url("http://x:1234/custom/path", "http://collector:4318", "http://x:1234/custom/path");
    check_url("http://x:1234", NULL, "http://x:1234");

    ig_err err;
    assert_null(ig_otlp_traces_url(NULL, "collector:4318", &err));
    assert_non_null(strstr(err.msg, "OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' is not an http"));
    assert_null(ig_otlp_traces_url("ftp://x/", NULL, &err));
    assert_non_null(strstr(err.msg, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    assert_null(ig_otlp_traces_url("http://", NULL, &err));
}

/* ---- Retry-After ------------------------------------------------------------- */

static void test_retry_after(void **state)
{
    (void)state;
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    assert_int_equal(ig_otlp_parse_retry_after("0", now), 0);
    assert_int_equal(ig_otlp_parse_retry_after(" 3 ", now), 3000);
    assert_int_equal(ig_otlp_parse_retry_after("120", now), 120000);
    assert_int_equal(ig_otlp_parse_retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now), 5000);
    assert_int_equal(ig_otlp_parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", now), 10000);
    assert_int_equal(ig_otlp_parse_retry_after("Tue Nov 14 22:13:22 2023", now), 2000);
    /* a date in the past means "now" */
    assert_int_equal(ig_otlp_parse_retry_after("Mon, 13 Nov 2023 00:00:00 GMT", now), 0);
    assert_int_equal(ig_otlp_parse_retry_after("", now), -1);
    assert_int_equal(ig_otlp_parse_retry_after("-1", now), -1);
    assert_int_equal(ig_otlp_parse_retry_after("5s", now), -1);
    assert_int_equal(ig_otlp_parse_retry_after("soon", now), -1);
    /* huge values (and far-future dates) saturate at a year instead of
     * overflowing */
    assert_int_equal(ig_otlp_parse_retry_after("99999999999999999999999", now), 86400LL * 365 * 1000);
    assert_int_equal(ig_otlp_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), 86400LL * 365 * 1000);
}

/* ---- backoff ------------------------------------------------------------------ */

static void test_backoff_exponential_with_jitter(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    int64_t expect[] = {1000, 2000, 4000, 5000, 5000, 5000};
    for (int attempt = 1; attempt <= 6; attempt++) {
        int64_t lo = INT64_MAX, hi = 0;
        for (int k = 0; k < 200; k++) {
            int64_t d = ig_otlp_backoff_ms(1000, 5000, attempt, &rng);
            assert_true(d >= expect[attempt - 1] / 2 && d <= expect[attempt - 1]);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* jitter spreads the delays over most of [d/2, d] */
        assert_true(hi - lo > expect[attempt - 1] / 4);
    }
    assert_int_equal(ig_otlp_backoff_ms(1, 1, 30, &rng), 1);
}

/* ---- environment ------------------------------------------------------------ */

static void test_env_defaults(void **state)
{
    (void)state;
    clear_env();
    ig_otlp_config cfg;
    warnings w = {0};
    ig_err err;
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_string_equal(cfg.url, "http://localhost:4318/v1/traces");
    assert_false(cfg.json);
    assert_false(cfg.gzip);
    assert_int_equal(cfg.timeout_ms, 10000);
    assert_int_equal(cfg.nheaders, 0);
    assert_int_equal(cfg.retry_base_ms, 1000);
    assert_int_equal(cfg.retry_max_ms, 5000);
    assert_int_equal(cfg.retry_max_attempts, 5);
    assert_int_equal(w.n, 0);
    ig_otlp_config_free(&cfg);
}

static void test_env_traces_specific_wins(void **state)
{
    (void)state;
    clear_env();
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/t", 1);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "", 1); /* empty = unset */
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=general", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=traces", 1);
    setenv("IGNIS_OTLP_RETRY_BASE_MS", "5", 1);
    setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/general-ca.pem", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/traces-ca.pem", 1);
    setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/key.pem", 1);
    ig_otlp_config cfg;
    warnings w = {0};
    ig_err err;
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_string_equal(cfg.url, "http://traces:9999/t");
    assert_true(cfg.json);
    assert_true(cfg.gzip);
    assert_int_equal(cfg.timeout_ms, 2500);
    assert_int_equal(cfg.nheaders, 1);
    assert_string_equal(cfg.headers[0], "b: traces");
    assert_int_equal(cfg.retry_base_ms, 5);
    assert_string_equal(cfg.ca_file, "/etc/traces-ca.pem");
    assert_null(cfg.client_cert);
    assert_string_equal(cfg.client_key, "/etc/key.pem");
    assert_int_equal(w.n, 0);
    ig_otlp_config_free(&cfg);
    clear_env();
}

static void test_env_invalid_values_default_with_warning(void **state)
{
    (void)state;
    clear_env();
    ig_otlp_config cfg;
    warnings w = {0};
    ig_err err;

    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_false(cfg.json);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol 'grpc'"));
    ig_otlp_config_free(&cfg);
    clear_env();

    w.n = 0;
    setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s", 1);
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_int_equal(cfg.timeout_ms, 10000);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: invalid value '10s'"));
    ig_otlp_config_free(&cfg);
    clear_env();

    w.n = 0;
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "ok=1,broken", 1);
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_false(cfg.gzip);
    assert_int_equal(cfg.nheaders, 1);
    assert_int_equal(w.n, 2);
    ig_otlp_config_free(&cfg);
    clear_env();

    /* an endpoint without a scheme is taken as http://, with a warning */
    w.n = 0;
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", 1);
    assert_int_equal(ig_otlp_config_from_env(&cfg, collect, &w, &err), 0);
    assert_string_equal(cfg.url, "http://localhost:4318/v1/traces");
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' has no scheme"));
    ig_otlp_config_free(&cfg);
    clear_env();
}

static void test_env_exporter_constructor(void **state)
{
    (void)state;
    clear_env();
    ig_err err;
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
    ig_exporter *e = ig_otlp_http_exporter_from_env(&err);
    assert_non_null(e);
    assert_string_equal(e->name, "otlp/http-json");
    assert_non_null(e->export_spans);
    assert_non_null(e->after_fork_child);
    e->destroy(e);
    /* not an http(s) URL: warned about, the default endpoint is used */
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unix:///x", 1);
    e = ig_otlp_http_exporter_from_env(&err);
    assert_non_null(e);
    e->destroy(e);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_valid),
        cmocka_unit_test(test_headers_invalid_entries_skipped),
        cmocka_unit_test(test_headers_empty_list_members),
        cmocka_unit_test(test_endpoint_resolution),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff_exponential_with_jitter),
        cmocka_unit_test(test_env_defaults),
        cmocka_unit_test(test_env_traces_specific_wins),
        cmocka_unit_test(test_env_invalid_values_default_with_warning),
        cmocka_unit_test(test_env_exporter_constructor),
    };
    return cmocka_run_group_tests_name("otlp_config", tests, NULL, NULL);
}
