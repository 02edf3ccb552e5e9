/*
 * tests/trace/test_env.c — configuration from the environment: batch
 * settings, span limits (general vs specific variables), exporter and
 * processor selection, invalid values (warned, defaulted), and the
 * resource (service.name rules, OTEL_RESOURCE_ATTRIBUTES percent-decoding,
 * a decoding error discarding the whole value, detected attributes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"
#include "exporters/otlp.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *vars[] = {
    "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT", "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED", "IGNIS_KEEP_ERRORS", "IGNIS_TRACES_PROCESSOR", "IGNIS_TRACES_FILE",
    "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
};

static int clear_env(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    logcap_reset();
    return 0;
}

static void defaults(void **st)
{
    (void)st;
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.batch.schedule_delay_ms, 5000);
    assert_int_equal(o.batch.export_timeout_ms, 30000);
    assert_int_equal(o.batch.max_queue_size, 2048);
    assert_int_equal(o.batch.max_export_batch_size, 512);
    assert_int_equal(o.limits.attribute_count, 128);
    assert_int_equal(o.limits.attribute_value_length, -1);
    assert_int_equal(o.limits.event_count, 128);
    assert_int_equal(o.limits.link_count, 128);
    assert_int_equal(o.limits.event_attribute_count, 128);
    assert_int_equal(o.limits.link_attribute_count, 128);
    assert_int_equal(o.sampler, IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_OTLP);
    assert_int_equal(o.processor, IGNIS_PROCESSOR_BATCH);
    assert_false(o.keep_errors);
    assert_false(o.disabled);
    assert_null(o.service_name);
    assert_int_equal(g_logcap.warnings, 0);
}

static void values(void **st)
{
    (void)st;
    setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", " 1000 ", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
    setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10", 1);
    setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "7", 1);         /* general */
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5", 1);    /* specific wins */
    setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64", 1);
    setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "3", 1);
    setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "0", 1);
    setenv("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "2", 1);
    setenv("OTEL_TRACES_EXPORTER", "console", 1);
    setenv("IGNIS_KEEP_ERRORS", "1", 1);
    setenv("IGNIS_TRACES_PROCESSOR", "simple", 1);
    setenv("OTEL_SDK_DISABLED", "true", 1);
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.batch.schedule_delay_ms, 250);
    assert_int_equal(o.batch.export_timeout_ms, 1000);
    assert_int_equal(o.batch.max_queue_size, 100);
    assert_int_equal(o.batch.max_export_batch_size, 10);
    assert_int_equal(o.limits.attribute_count, 5);
    assert_int_equal(o.limits.event_attribute_count, 7); /* falls back to the general limit */
    assert_int_equal(o.limits.link_attribute_count, 2);
    assert_int_equal(o.limits.attribute_value_length, 64);
    assert_int_equal(o.limits.event_count, 3);
    assert_int_equal(o.limits.link_count, 0);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_CONSOLE);
    assert_int_equal(o.processor, IGNIS_PROCESSOR_SIMPLE);
    assert_true(o.keep_errors);
    assert_true(o.disabled);
    assert_int_equal(g_logcap.warnings, 0);
    setenv("OTEL_TRACES_EXPORTER", "none", 1);
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_NONE);
    setenv("OTEL_TRACES_EXPORTER", "otlp_file", 1);
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_OTLP_FILE);
    setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_OTLP);
}

static void invalid_values(void **st)
{
    (void)st;
    setenv("OTEL_BSP_SCHEDULE_DELAY", "soon", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "-5", 1);
    setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "99999999999999", 1);
    setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "12abc", 1);
    setenv("OTEL_TRACES_EXPORTER", "zipkin", 1);
    setenv("OTEL_SDK_DISABLED", "maybe", 1);
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.batch.schedule_delay_ms, 5000);
    assert_int_equal(o.batch.max_queue_size, 2048);
    assert_int_equal(o.batch.max_export_batch_size, 512);
    assert_int_equal(o.limits.event_count, 128);
    assert_int_equal(o.exporter, IGNIS_EXPORTER_OTLP);
    assert_false(o.disabled);
    assert_int_equal(g_logcap.warnings, 6);
    /* batch larger than queue: clamped with a warning */
    clear_env(NULL);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64", 1);
    setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128", 1);
    ignis_provider_options_from_env(&o);
    assert_int_equal(o.batch.max_export_batch_size, 64);
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(g_logcap.last, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"));
}

/* ---- resource ------------------------------------------------------------------ */

static void resource_parse(void **st)
{
    (void)st;
    ig_kv *kv;
    size_t n;
    char why[128];
    assert_int_equal(ig_resource_attrs_parse("a=1, b = two%20words ,c=%E2%82%AC,d=x%3Dy%2Cz,,", &kv, &n, why, sizeof why), 0);
    assert_int_equal(n, 4);
    assert_string_equal(kv[0].key, "a");
    assert_string_equal(kv[0].value, "1");
    assert_string_equal(kv[1].key, "b");
    assert_string_equal(kv[1].value, "two words");
    assert_string_equal(kv[2].value, "\xe2\x82\xac");
    assert_string_equal(kv[3].value, "x=y,z");
    ig_kv_free(kv, n);
    const char *bad[] = {"a=1,b=%zz", "a=1,b=%4", "a=%", "novalue", "=x", "a=1,b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (ig_resource_attrs_parse(bad[i], &kv, &n, why, sizeof why) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(kv);
        assert_int_equal(n, 0);
    }
}

static const ig_attr *res_find(const ignis_tracer_provider *tp, const char *k)
{
    return ig_attr_set_find(&tp->resource_attrs, k);
}

static void resource_build(void **st)
{
    (void)st;
    setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment=prod,team=a%20b", 1);
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, NULL, 0);
    assert_string_equal(res_find(tp, "service.name")->v.s, "from-attrs");
    assert_string_equal(res_find(tp, "deployment.environment")->v.s, "prod");
    assert_string_equal(res_find(tp, "team")->v.s, "a b");
    assert_string_equal(res_find(tp, "telemetry.sdk.name")->v.s, "ignis");
    assert_string_equal(res_find(tp, "telemetry.sdk.language")->v.s, "c");
    assert_string_equal(res_find(tp, "telemetry.sdk.version")->v.s, IGNIS_VERSION);
    assert_int_equal(res_find(tp, "process.pid")->v.i, getpid());
    assert_string_equal(res_find(tp, "process.executable.name")->v.s, "test_env");
    char host[256];
    gethostname(host, sizeof host);
    assert_string_equal(res_find(tp, "host.name")->v.s, host);
    ignis_tracer_provider_free(tp);

    /* OTEL_SERVICE_NAME wins over the attribute */
    setenv("OTEL_SERVICE_NAME", "checkout", 1);
    ignis_provider_options_from_env(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    tp = ignis_tracer_provider_new(&o, NULL, 0);
    assert_string_equal(res_find(tp, "service.name")->v.s, "checkout");
    ignis_tracer_provider_free(tp);

    /* a decoding error discards the whole value, with a warning */
    unsetenv("OTEL_SERVICE_NAME");
    setenv("OTEL_RESOURCE_ATTRIBUTES", "team=ok,service.name=svc,broken=%G1", 1);
    ignis_provider_options_from_env(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    tp = ignis_tracer_provider_new(&o, NULL, 0);
    assert_null(res_find(tp, "team"));
    assert_string_equal(res_find(tp, "service.name")->v.s, "unknown_service:test_env");
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(g_logcap.last, "OTEL_RESOURCE_ATTRIBUTES"));
    ignis_tracer_provider_free(tp);

    /* options: programmatic attributes win over the string */
    ignis_provider_options_init(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    o.resource_attributes = "k=from-string,j=1";
    ignis_attribute extra[] = {IGNIS_ATTR_STR("k", "from-options"), IGNIS_ATTR_I64("n", 7)};
    o.resource = extra;
    o.nresource = 2;
    tp = ignis_tracer_provider_new(&o, NULL, 0);
    assert_string_equal(res_find(tp, "k")->v.s, "from-options");
    assert_string_equal(res_find(tp, "j")->v.s, "1");
    assert_int_equal(res_find(tp, "n")->v.i, 7);
    ignis_tracer_provider_free(tp);
}

/* OTEL_TRACES_EXPORTER=none: spans are processed and discarded, which the
 * counters show (discarded spans count as exported, as the header says);
 * spans ending after shutdown count as dropped. */
static void exporter_none_and_disabled(void **st)
{
    (void)st;
    setenv("OTEL_TRACES_EXPORTER", "none", 1);
    setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
    ignis_tracer_provider *tp = ignis_tracer_provider_from_env(NULL, 0);
    assert_non_null(tp);
    ignis_tracer *t = ignis_tracer_get(tp, "x", NULL, NULL, 0);
    for (int i = 0; i < 3; i++) {
        ignis_span *s = ignis_span_start(t, "a", NULL);
        assert_true(ignis_span_is_recording(s));
        ignis_span_end(s, 0);
    }
    ignis_span *late = ignis_span_start(t, "late", NULL);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_sampled, 4);
    assert_int_equal(c.spans_ended, 3);
    assert_int_equal(c.spans_exported, 3);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 100), 0);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 100), 0);
    ignis_span_end(late, 0);
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_exported, 3);
    assert_int_equal(c.spans_dropped, 1);
    ignis_tracer_provider_free(tp);
    ignis_span *s;

    setenv("OTEL_SDK_DISABLED", "true", 1);
    tp = ignis_tracer_provider_from_env(NULL, 0);
    t = ignis_tracer_get(tp, "x", NULL, NULL, 0);
    s = ignis_span_start(t, "a", NULL);
    assert_false(ignis_span_is_recording(s));
    ignis_span_end(s, 0);
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_started, 0);
    ignis_tracer_provider_free(tp);
}

/* otlp_file: spans land in IGNIS_TRACES_FILE as OTLP-JSON lines. */
static void exporter_otlp_file(void **st)
{
    (void)st;
    char path[] = "/tmp/ignis-trace-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    setenv("OTEL_TRACES_EXPORTER", "otlp_file", 1);
    setenv("IGNIS_TRACES_FILE", path, 1);
    setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
    char err[256] = "";
    ignis_tracer_provider *tp = ignis_tracer_provider_from_env(err, sizeof err);
    assert_non_null(tp);
    ignis_tracer *t = ignis_tracer_get(tp, "file", NULL, NULL, 0);
    ignis_span *s = ignis_span_start(t, "to-file", NULL);
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    char tid[33];
    ignis_trace_id_hex(sc.trace_id, tid);
    ignis_span_end(s, 0);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 10000), 0);
    ignis_tracer_provider_free(tp);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    assert_true(getline(&line, &cap, f) > 0);
    assert_non_null(strstr(line, tid));
    assert_non_null(strstr(line, "to-file"));
    free(line);
    fclose(f);
    unlink(path);
}

/* otlp_file with text that is not UTF-8 (a resource value percent-decoded
 * from OTEL_RESOURCE_ATTRIBUTES, a span name, an attribute): every line
 * is strict UTF-8 JSON for json-c and for Python's json module, with
 * U+FFFD where the bytes were. */
static void exporter_otlp_file_invalid_utf8(void **st)
{
    (void)st;
    char path[] = "/tmp/ignis-trace-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    setenv("OTEL_TRACES_EXPORTER", "otlp_file", 1);
    setenv("IGNIS_TRACES_FILE", path, 1);
    setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "team=ops%FF%FE", 1);
    char err[256] = "";
    ignis_tracer_provider *tp = ignis_tracer_provider_from_env(err, sizeof err);
    assert_non_null(tp);
    ignis_tracer *t = ignis_tracer_get(tp, "file\xC0", NULL, NULL, 0);
    ignis_span *s = ignis_span_start(t, "GET /\xFF\xFE", NULL);
    ignis_span_set_string(s, "path\x80", "/caf\xE9");
    ignis_span_end(s, 0);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 10000), 0);
    ignis_tracer_provider_free(tp);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    assert_true(n > 0);
    fclose(f);
    assert_int_equal(line[n - 1], '\n');
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, line, (int)n - 1);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    json_tokener_free(tok);
    assert_non_null(root);
    json_object_put(root);
    assert_non_null(strstr(line, "\"stringValue\":\"ops\xEF\xBF\xBD\xEF\xBF\xBD\""));
    assert_non_null(strstr(line, "\"name\":\"GET /\xEF\xBF\xBD\xEF\xBF\xBD\""));
    assert_non_null(strstr(line, "\"key\":\"path\xEF\xBF\xBD\""));
    assert_non_null(strstr(line, "\"stringValue\":\"/caf\xEF\xBF\xBD\""));
    assert_non_null(strstr(line, "\"name\":\"file\xEF\xBF\xBD\""));
    free(line);

    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys\nfor l in open(sys.argv[1], \"rb\"): json.loads(l.decode(\"utf-8\", \"strict\"))' "
             "%s 2>/dev/null", path);
    int rc = system(cmd);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) != 127) /* 127: no python3 here */
        assert_int_equal(WEXITSTATUS(rc), 0);
    unlink(path);
}

/* ---- a FIFO as IGNIS_TRACES_FILE ----------------------------------------------- */

/* The application's side of the FIFO tests runs in a child with an alarm:
 * an exporter that blocks the application shows as a child killed by
 * SIGALRM, not as a test that never ends. */
static int run_app_child(int (*app)(const char *fifo), const char *fifo)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        _exit(app(fifo));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "app child killed by signal %d\n", WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static ignis_tracer_provider *fifo_provider(const char *fifo)
{
    setenv("OTEL_TRACES_EXPORTER", "otlp_file", 1);
    setenv("IGNIS_TRACES_FILE", fifo, 1);
    setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
    return ignis_tracer_provider_from_env(NULL, 0);
}

static void end_span(ignis_tracer_provider *tp, const char *name)
{
    ignis_span_end(ignis_span_start(ignis_tracer_get(tp, "fifo", NULL, NULL, 0), name, NULL), 0);
}

/* No reader: the provider comes up, spans end, shutdown returns, and the
 * spans are counted as lost (no abandoned export thread). */
static int app_without_reader(const char *fifo)
{
    ignis_tracer_provider *tp = fifo_provider(fifo);
    if (!tp)
        return 2;
    for (int i = 0; i < 3; i++)
        end_span(tp, "unread");
    if (ignis_tracer_provider_shutdown(tp, 10000) != 0)
        return 3;
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    ignis_tracer_provider_free(tp);
    if (c.spans_exported != 0 || c.export_failures + c.spans_dropped != 3)
        return 4;
    return g_logcap.warnings >= 1 && strstr(g_logcap.last, fifo) && strstr(g_logcap.last, "no reader") ? 0 : 5;
}

/* Runs app in a child with a new FIFO (no reader) as its traces file. */
static void run_with_fifo(int (*app)(const char *fifo))
{
    char dir[] = "/tmp/ignis-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/traces.jsonl", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(run_app_child(app, fifo), 0);
    unlink(fifo);
    rmdir(dir);
}

static void fifo_without_reader_does_not_block(void **st)
{
    (void)st;
    run_with_fifo(app_without_reader);
}

/* Reads what is in the pipe now (the export that wrote it has returned). */
static void read_available(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
}

/* A reader that comes after the provider: spans ended before it are
 * counted as lost, those after it arrive as whole lines. */
static int app_reader_later(const char *fifo)
{
    ignis_tracer_provider *tp = fifo_provider(fifo);
    if (!tp)
        return 2;
    end_span(tp, "before-reader");
    if (ignis_tracer_provider_force_flush(tp, 10000) != 0)
        return 3;
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (rfd < 0)
        return 4;
    end_span(tp, "after-reader");
    if (ignis_tracer_provider_force_flush(tp, 10000) != 0)
        return 5;
    static char got[1 << 16];
    read_available(rfd, got, sizeof got);
    close(rfd);
    if (!strstr(got, "\"after-reader\"") || strstr(got, "before-reader") || got[strlen(got) - 1] != '\n')
        return 6;
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    ignis_tracer_provider_free(tp);
    return c.spans_exported == 1 && c.export_failures == 1 ? 0 : 7;
}

static void fifo_reader_that_comes_later_gets_spans(void **st)
{
    (void)st;
    run_with_fifo(app_reader_later);
}

/* The simple processor exports on the application's thread: a reader that
 * never reads makes it wait at most the export timeout per span, and a
 * reader that went away neither kills it (SIGPIPE) nor stops later spans
 * from reaching the next reader. */
static int app_simple_stuck_then_gone(const char *fifo)
{
    setenv("IGNIS_TRACES_PROCESSOR", "simple", 1);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "100", 1);
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (rfd < 0)
        return 2;
    ignis_tracer_provider *tp = fifo_provider(fifo);
    if (!tp)
        return 3;
    ignis_trace_counters c;
    do { /* fill the pipe: the reader never reads */
        end_span(tp, "fill");
        ignis_tracer_provider_counters(tp, &c);
    } while (c.export_failures == 0);
    close(rfd); /* the reader goes away */
    end_span(tp, "gone");
    rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (rfd < 0)
        return 4;
    end_span(tp, "next-reader");
    static char got[1 << 16];
    read_available(rfd, got, sizeof got);
    close(rfd);
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_free(tp);
    return strncmp(got, "{", 1) == 0 && strstr(got, "\"next-reader\"") ? 0 : 5;
}

static void fifo_simple_processor_never_blocked_nor_killed(void **st)
{
    (void)st;
    run_with_fifo(app_simple_stuck_then_gone);
}

/* ---- endpoints ----------------------------------------------------------------- */

/* A bad endpoint variable is warned about (one line naming the variable
 * and the value, and what is used instead) and the provider still comes
 * up: a scheme-less host[:port] is taken as http://, anything else that is
 * not an http(s) URL gives way to the next setting or the default. */
static void bad_endpoints_warned_and_replaced(void **st)
{
    (void)st;
    static const struct {
        const char *var, *value, *other, *other_value, *said, *url;
    } cases[] = {
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", NULL, NULL, "http://collector:4318",
         "http://collector:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318/v1/traces", NULL, NULL,
         "http://collector:4318/v1/traces", "http://collector:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector", NULL, NULL, "http://localhost:4318",
         "http://localhost:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unix:///run/otel.sock", NULL, NULL, "http://localhost:4318",
         "http://localhost:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://", "OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw:4318",
         "OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "://", NULL, NULL, "http://localhost:4318",
         "http://localhost:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "collector 4318", NULL, NULL, "http://localhost:4318",
         "http://localhost:4318/v1/traces"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        clear_env(NULL);
        setenv(cases[i].var, cases[i].value, 1);
        if (cases[i].other)
            setenv(cases[i].other, cases[i].other_value, 1);
        ignis_tracer_provider *tp = ignis_tracer_provider_from_env(NULL, 0);
        assert_non_null(tp);
        assert_int_equal(g_logcap.warnings, 1);
        assert_non_null(strstr(g_logcap.last, cases[i].var));
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", cases[i].value);
        assert_non_null(strstr(g_logcap.last, quoted));
        assert_non_null(strstr(g_logcap.last, cases[i].said));
        assert_null(strchr(g_logcap.last, '\n'));
        ignis_tracer_provider_free(tp);

        /* the URL the exporter posts to */
        ig_otlp_config cfg;
        ig_err err = {{0}};
        assert_int_equal(ig_otlp_config_from_env(&cfg, ig_otlp_warn_log, NULL, &err), 0);
        assert_string_equal(cfg.url, cases[i].url);
        ig_otlp_config_free(&cfg);
    }
    clear_env(NULL);
}

/* A provider that cannot be made says why through the logger when the
 * caller gave no errbuf (README's ignis_tracer_provider_from_env(NULL, 0)). */
static void provider_failure_logged_without_errbuf(void **st)
{
    (void)st;
    char dir[] = "/tmp/ignis-env-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/missing/traces.jsonl", dir);
    setenv("OTEL_TRACES_EXPORTER", "otlp_file", 1);
    setenv("IGNIS_TRACES_FILE", path, 1);
    assert_null(ignis_tracer_provider_from_env(NULL, 0));
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(g_logcap.last, path));
    char buf[256];
    assert_null(ignis_tracer_provider_from_env(buf, sizeof buf)); /* the caller gets the reason: not logged */
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(buf, path));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults, clear_env),
        cmocka_unit_test_setup(values, clear_env),
        cmocka_unit_test_setup(invalid_values, clear_env),
        cmocka_unit_test_setup(resource_parse, clear_env),
        cmocka_unit_test_setup(resource_build, clear_env),
        cmocka_unit_test_setup(exporter_none_and_disabled, clear_env),
        cmocka_unit_test_setup(exporter_otlp_file, clear_env),
        cmocka_unit_test_setup(exporter_otlp_file_invalid_utf8, clear_env),
        cmocka_unit_test_setup(fifo_without_reader_does_not_block, clear_env),
        cmocka_unit_test_setup(fifo_reader_that_comes_later_gets_spans, clear_env),
        cmocka_unit_test_setup(fifo_simple_processor_never_blocked_nor_killed, clear_env),
        cmocka_unit_test_setup(bad_endpoints_warned_and_replaced, clear_env),
        cmocka_unit_test_setup(provider_failure_logged_without_errbuf, clear_env),
    };
    return cmocka_run_group_tests_name("trace_env", tests, NULL, NULL);
}
