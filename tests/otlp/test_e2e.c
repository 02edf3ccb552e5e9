/*
 * tests/otlp/test_e2e.c — the two sample services (samples/http) export to
 * a loopback OTLP receiver started here; requests go through the frontend
 * to the backend and the decoded OTLP requests are checked:
 *
 *   - one trace per request across both processes, with the right parents
 *     (remote parent from the caller's traceparent, client span under the
 *     server span, backend server span under the frontend client span),
 *     kinds, attributes (baggage carried to the backend), events,
 *     error statuses and resources (service.name, process.pid per process);
 *   - collector down: every request is still served, spans are dropped
 *     and counted, the frontend's memory stays bounded;
 *   - 503 with Retry-After: retried after the server's delay and delivered;
 *   - 400: not retried, the batch counted as failed.
 *
 * Services are child processes; the test waits on pipes, waitpid and
 * receiver conditions with generous bounds, never on sleeps.  SIGTERM makes
 * a service shut its provider down (flushing) and print its counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/otlp/receiver.c"

#define BOUND_MS 30000

typedef struct svc {
    pid_t pid;
    int out;        /* child's stdout */
    char buf[8192]; /* everything it printed */
    size_t len;
    int port;
} svc;

typedef struct counters {
    unsigned long long started, sampled, ended, exported, dropped, failed, rejected, retries;
    char shutdown[16];
} counters;

static rcv *R;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *build_dir(void)
{
    const char *b = getenv("IGNIS_BUILD");
    return b && *b ? b : "build";
}

/* Reads whatever the child printed, waiting at most until deadline;
 * returns false on EOF. */
static bool read_some(svc *s, int64_t deadline)
{
    struct pollfd p = {s->out, POLLIN, 0};
    int left = (int)(deadline - now_ms());
    if (left <= 0 || poll(&p, 1, left) <= 0)
        return true;
    ssize_t n = read(s->out, s->buf + s->len, sizeof s->buf - 1 - s->len);
    if (n <= 0)
        return false;
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return true;
}

/* Starts a sample (argv[0] = name under $B/samples) with extra env
 * "K=V" entries, and waits for its "port N" line. */
static void spawn(svc *s, char *const *argv, char *const *env)
{
    memset(s, 0, sizeof *s);
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/samples/%s", build_dir(), argv[0]);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(path, argv);
        fprintf(stderr, "cannot run %s\n", path);
        _exit(127);
    }
    close(p[1]);
    s->out = p[0];
    int64_t deadline = now_ms() + BOUND_MS;
    char *line;
    while (!(line = strstr(s->buf, "port ")) || !strchr(line, '\n'))
        if (!read_some(s, deadline) || now_ms() >= deadline)
            fail_msg("%s did not report its port (output: %s)", argv[0], s->buf);
    s->port = atoi(line + 5);
    assert_true(s->port > 0);
}

/* SIGTERM, then collect output until EOF and reap (bounded). */
static void stop(svc *s, counters *c)
{
    kill(s->pid, SIGTERM);
    int64_t deadline = now_ms() + BOUND_MS;
    while (read_some(s, deadline))
        if (now_ms() >= deadline) {
            kill(s->pid, SIGKILL);
            fail_msg("service %d did not exit after SIGTERM", (int)s->pid);
        }
    close(s->out);
    int status;
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("service exited with status %d (output: %s)", status, s->buf);
    const char *line = strstr(s->buf, "counters ");
    assert_non_null(line);
    memset(c, 0, sizeof *c);
    int n = sscanf(line, "counters %*s shutdown=%15s started=%llu sampled=%llu ended=%llu exported=%llu dropped=%llu "
                         "failed=%llu rejected=%llu retries=%llu",
                   c->shutdown, &c->started, &c->sampled, &c->ended, &c->exported, &c->dropped, &c->failed,
                   &c->rejected, &c->retries);
    assert_int_equal(n, 9);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    ig_strbuf *sb = ud;
    ig_sb_append(sb, p, size * n);
    return size * n;
}

/* GET through the frontend with a traceparent and baggage; returns the
 * status and the body in sb. */
static long get(int port, const char *query, const char *traceparent, ig_strbuf *sb)
{
    CURL *c = curl_easy_init();
    char url[256], tp[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello?%s", port, query);
    struct curl_slist *h = NULL;
    if (traceparent) {
        snprintf(tp, sizeof tp, "traceparent: %s", traceparent);
        h = curl_slist_append(h, tp);
        h = curl_slist_append(h, "baggage: user.id=alice");
    }
    ig_sb_reset(sb);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sb);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)BOUND_MS);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}

/* Starts backend then frontend with OTLP pointed at `endpoint`. */
static void start_pair(svc *be, svc *fe, const char *endpoint, char *const *extra)
{
    static char ep[160], fe_name[] = "OTEL_SERVICE_NAME=e2e-frontend", be_name[] = "OTEL_SERVICE_NAME=e2e-backend";
    snprintf(ep, sizeof ep, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=%s", endpoint);
    char *env[16] = {ep, "OTEL_BSP_SCHEDULE_DELAY=20", "OTEL_TRACES_EXPORTER=otlp", "OTEL_PROPAGATORS=tracecontext,baggage"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 14; i++)
        env[n++] = extra[i];
    env[n] = be_name;
    char *be_argv[] = {"sample-backend", NULL};
    spawn(be, be_argv, env);
    char backend[64];
    snprintf(backend, sizeof backend, "http://127.0.0.1:%d", be->port);
    env[n] = fe_name;
    char *fe_argv[] = {"sample-frontend", "--backend", backend, NULL};
    spawn(fe, fe_argv, env);
}

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
    return 0;
}

/* ---- span lookup ----------------------------------------------------------- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static const rcv_span *find(const rcv_span *v, size_t n, const char *trace, int kind, const char *service)
{
    const rcv_span *hit = NULL;
    for (size_t i = 0; i < n; i++) {
        char t[33];
        hex(v[i].span->trace_id.data, 16, t);
        const char *svc = rcv_attr_str(v[i].rs->resource->attributes, v[i].rs->resource->n_attributes, "service.name");
        if (!strcmp(t, trace) && (int)v[i].span->kind == kind && svc && !strcmp(svc, service)) {
            if (hit)
                fail_msg("two spans of kind %d from %s in trace %s", kind, service, trace);
            hit = &v[i];
        }
    }
    if (!hit)
        fail_msg("no span of kind %d from %s in trace %s", kind, service, trace);
    return hit;
}

static size_t count_trace(const rcv_span *v, size_t n, const char *trace)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        char t[33];
        hex(v[i].span->trace_id.data, 16, t);
        c += !strcmp(t, trace);
    }
    return c;
}

static void assert_parent(const rcv_span *child, const rcv_span *parent, bool remote)
{
    assert_int_equal(child->span->parent_span_id.len, 8);
    assert_memory_equal(child->span->parent_span_id.data, parent->span->span_id.data, 8);
    assert_int_equal(child->span->flags & 0x300u, remote ? 0x300u : 0x100u);
}

static const char *span_str(const rcv_span *s, const char *key)
{
    const char *v = rcv_attr_str(s->span->attributes, s->span->n_attributes, key);
    if (!v)
        fail_msg("span %s lacks string attribute %s", s->span->name, key);
    return v;
}

static int64_t span_int(const rcv_span *s, const char *key)
{
    int64_t v = 0;
    if (!rcv_attr_int(s->span->attributes, s->span->n_attributes, key, &v))
        fail_msg("span %s lacks int attribute %s", s->span->name, key);
    return v;
}

static int64_t resource_pid(const rcv_span *s)
{
    int64_t v = -1;
    assert_true(rcv_attr_int(s->rs->resource->attributes, s->rs->resource->n_attributes, "process.pid", &v));
    return v;
}

static const Opentelemetry__Proto__Trace__V1__Span__Event *event(const rcv_span *s, const char *name)
{
    for (size_t i = 0; i < s->span->n_events; i++)
        if (!strcmp(s->span->events[i]->name, name))
            return s->span->events[i];
    return NULL;
}

/* ---- tests ----------------------------------------------------------------- */

#define NREQ 5
#define FAIL_REQ 2

static void test_one_trace_across_two_processes(void **state)
{
    (void)state;
    svc be, fe;
    start_pair(&be, &fe, rcv_url(R), NULL);
    ig_strbuf body = IG_STRBUF_INIT;
    char traces[NREQ][33];
    const char *caller_span = "b7ad6b7169203331";
    size_t expect_spans = 0;
    for (int i = 0; i < NREQ; i++) {
        snprintf(traces[i], sizeof traces[i], "0af7651916cd43dd8448eb211c80319%x", i);
        char tp[64], q[32];
        snprintf(tp, sizeof tp, "00-%s-%s-01", traces[i], caller_span);
        snprintf(q, sizeof q, "items=%d%s", i + 1, i == FAIL_REQ ? "&fail=1" : "");
        long status = get(fe.port, q, tp, &body);
        if (i == FAIL_REQ) {
            assert_int_equal(status, 502);
            expect_spans += 3;
        } else {
            assert_int_equal(status, 200);
            char want[64];
            int64_t sum = 0;
            for (int k = 1; k <= i + 1; k++)
                sum += k * k;
            snprintf(want, sizeof want, "frontend: %lld\n", (long long)sum);
            assert_string_equal(body.data, want);
            expect_spans += 4;
        }
    }
    ig_sb_free(&body);
    /* the batch processor exports on its schedule, before any shutdown */
    assert_true(rcv_wait_spans(R, expect_spans, BOUND_MS));
    counters fc, bc;
    stop(&fe, &fc);
    stop(&be, &bc);
    assert_string_equal(fc.shutdown, "ok");
    assert_int_equal(fc.exported, 2 * NREQ);
    assert_int_equal(bc.exported, expect_spans - 2 * NREQ);
    assert_int_equal(fc.failed + bc.failed + fc.dropped + bc.dropped, 0);
    assert_int_equal(rcv_span_count(R), expect_spans);

    rcv_span *v = NULL;
    size_t n = rcv_spans(R, &v);
    for (int i = 0; i < NREQ; i++) {
        bool fail = i == FAIL_REQ;
        assert_int_equal(count_trace(v, n, traces[i]), fail ? 3 : 4);
        const rcv_span *fs = find(v, n, traces[i], 2, "e2e-frontend");
        const rcv_span *fcl = find(v, n, traces[i], 3, "e2e-frontend");
        const rcv_span *bs = find(v, n, traces[i], 2, "e2e-backend");
        /* parents: caller -> frontend server -> client -> backend server */
        char parent[17];
        hex(fs->span->parent_span_id.data, 8, parent);
        assert_string_equal(parent, caller_span);
        assert_int_equal(fs->span->flags & 0x3ffu, 0x301u);
        assert_parent(fcl, fs, false);
        assert_parent(bs, fcl, true);
        /* resources: one per process */
        assert_int_equal(resource_pid(fs), fe.pid);
        assert_int_equal(resource_pid(fcl), fe.pid);
        assert_int_equal(resource_pid(bs), be.pid);
        assert_string_equal(fs->ss->scope->name, "ignis.samples.frontend");
        assert_string_equal(bs->ss->scope->name, "ignis.samples.backend");
        /* attributes */
        assert_string_equal(fs->span->name, "GET /hello");
        assert_string_equal(span_str(fs, "http.request.method"), "GET");
        assert_string_equal(span_str(fs, "url.path"), "/hello");
        assert_int_equal(span_int(fs, "http.response.status_code"), fail ? 502 : 200);
        assert_int_equal(span_int(fcl, "http.response.status_code"), fail ? 500 : 200);
        assert_string_equal(bs->span->name, "GET /work");
        assert_int_equal(span_int(bs, "app.items"), i + 1);
        assert_string_equal(span_str(bs, "app.user"), "alice"); /* baggage crossed both hops */
        assert_non_null(event(bs, "cache.miss"));
        /* the backend ran inside the frontend's client span */
        assert_true(fcl->span->start_time_unix_nano >= fs->span->start_time_unix_nano);
        assert_true(fcl->span->end_time_unix_nano <= fs->span->end_time_unix_nano);
        assert_true(bs->span->start_time_unix_nano >= fcl->span->start_time_unix_nano);
        assert_true(bs->span->end_time_unix_nano <= fcl->span->end_time_unix_nano);
        if (fail) {
            assert_non_null(fs->span->status);
            assert_int_equal(fs->span->status->code, 2);
            assert_string_equal(fs->span->status->message, "backend failed");
            assert_int_equal(fcl->span->status->code, 2);
            assert_int_equal(bs->span->status->code, 2);
            assert_string_equal(bs->span->status->message, "computation failed");
            const Opentelemetry__Proto__Trace__V1__Span__Event *ex = event(bs, "exception");
            assert_non_null(ex);
            assert_string_equal(rcv_attr_str(ex->attributes, ex->n_attributes, "exception.type"), "ComputeError");
            assert_string_equal(rcv_attr_str(ex->attributes, ex->n_attributes, "exception.message"), "items rejected");
        } else {
            assert_true(!fs->span->status || fs->span->status->code == 0);
            assert_true(!bs->span->status || bs->span->status->code == 0);
            const rcv_span *bc2 = find(v, n, traces[i], 1, "e2e-backend");
            assert_string_equal(bc2->span->name, "compute");
            assert_parent(bc2, bs, false);
            int64_t sum = 0;
            for (int k = 1; k <= i + 1; k++)
                sum += k * k;
            assert_int_equal(span_int(bc2, "app.result"), sum);
        }
    }
    free(v);
}

static long vm_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, strlen(field)))
            kb = atol(line + strlen(field) + 1);
    fclose(f);
    return kb;
}

/* Runs the load driver against the frontend; returns requests served ok. */
static long run_load(int port, int count)
{
    char url[96], cnt[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
    snprintf(cnt, sizeof cnt, "%d", count);
    char *argv[] = {"sample-load", "--url", url, "--count", cnt, NULL};
    svc load;
    memset(&load, 0, sizeof load);
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/samples/sample-load", build_dir());
    load.pid = fork();
    if (load.pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(path, argv);
        _exit(127);
    }
    close(p[1]);
    load.out = p[0];
    int64_t deadline = now_ms() + 120000;
    while (read_some(&load, deadline) && now_ms() < deadline)
        ;
    close(load.out);
    int status;
    assert_int_equal(waitpid(load.pid, &status, 0), load.pid);
    long total = 0, ok = 0, errors = -1;
    double max_ms = 0;
    assert_int_equal(sscanf(load.buf, "requests %ld ok %ld errors %ld max_ms %lf", &total, &ok, &errors, &max_ms), 4);
    assert_int_equal(total, count);
    assert_int_equal(errors, 0);
    /* "served quickly": no request waited for the stuck exporter, whose
     * attempts block for up to 20 s each */
    if (max_ms > 10000)
        fail_msg("a request took %.0f ms while the collector was down", max_ms);
    return ok;
}

static void test_collector_down(void **state)
{
    (void)state;
    rcv *gone = rcv_start(false);
    char url[64];
    snprintf(url, sizeof url, "%s", rcv_url(gone));
    rcv_stop(gone); /* nothing listens there now */
    char *extra[] = {"OTEL_BSP_MAX_QUEUE_SIZE=64", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=32",
                     "OTEL_EXPORTER_OTLP_TIMEOUT=20000", "IGNIS_OTLP_RETRY_BASE_MS=1000",
                     "IGNIS_OTLP_RETRY_MAX_ATTEMPTS=10",
                     /* shutdown abandons the stuck exporter and leaks it on
                      * purpose; a small quarantine keeps ASan builds' RSS
                      * meaningful for the memory check */
                     "ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=1:thread_local_quarantine_size_kb=64", NULL};
    svc be, fe;
    start_pair(&be, &fe, url, extra);
    assert_int_equal(run_load(fe.port, 300), 300);
    long rss1 = vm_kb(fe.pid, "VmRSS:");
    assert_int_equal(run_load(fe.port, 1200), 1200);
    long rss2 = vm_kb(fe.pid, "VmRSS:");
    fprintf(stderr, "collector down: frontend RSS %ld kB after 300 requests, %ld kB after 1500\n", rss1, rss2);
    counters fc, bc;
    stop(&fe, &fc);
    stop(&be, &bc);
    /* every span was started and ended, none exported; the queue (64)
     * bounded what was kept: the rest were dropped and counted */
    assert_int_equal(fc.sampled, 2 * 1500);
    assert_int_equal(fc.ended, 2 * 1500);
    assert_int_equal(fc.exported + bc.exported, 0);
    assert_true(fc.dropped > 0 && bc.dropped > 0);
    assert_true(fc.dropped + fc.failed >= fc.sampled - 64 - 32); /* all but queue + one batch */
    assert_true(fc.dropped + fc.failed <= fc.sampled);
    /* 1200 more requests did not grow memory with their 2400 frontend spans
     * (an SDK keeping them would need at least 2.4 MB: 1 kB blocks) */
    if (rss2 - rss1 > 2048)
        fail_msg("frontend RSS grew from %ld kB to %ld kB with the collector down", rss1, rss2);
}

static void test_retry_after_503_delivered(void **state)
{
    (void)state;
    rcv_script(R, 503, "1", 2);
    /* backoff alone (60 s) would exceed the 10 s export timeout: only
     * honouring Retry-After can deliver */
    char *extra[] = {"IGNIS_OTLP_RETRY_BASE_MS=60000", "OTEL_EXPORTER_OTLP_TIMEOUT=10000", NULL};
    svc be, fe;
    start_pair(&be, &fe, rcv_url(R), extra);
    ig_strbuf body = IG_STRBUF_INIT;
    for (int i = 0; i < 3; i++)
        assert_int_equal(get(fe.port, "items=2", NULL, &body), 200);
    ig_sb_free(&body);
    assert_true(rcv_wait_spans(R, 12, BOUND_MS));
    counters fc, bc;
    stop(&fe, &fc);
    stop(&be, &bc);
    assert_int_equal(fc.retries + bc.retries, 2);
    assert_int_equal(fc.exported + bc.exported, 12);
    assert_int_equal(fc.failed + bc.failed, 0);
    assert_int_equal(rcv_span_count(R), 12);
    assert_int_equal(rcv_posts(R), rcv_accepted(R) + 2);
}

static void test_bad_request_400_not_retried(void **state)
{
    (void)state;
    rcv_script(R, 400, NULL, 1);
    svc be, fe;
    start_pair(&be, &fe, rcv_url(R), NULL);
    ig_strbuf body = IG_STRBUF_INIT;
    for (int i = 0; i < 3; i++)
        assert_int_equal(get(fe.port, "items=2", NULL, &body), 200);
    ig_sb_free(&body);
    int64_t deadline = now_ms() + BOUND_MS;
    while (rcv_span_count(R) + rcv_refused_spans(R) < 12 && now_ms() < deadline)
        rcv_wait_posts(R, rcv_posts(R) + 1, 200);
    counters fc, bc;
    stop(&fe, &fc);
    stop(&be, &bc);
    size_t refused = rcv_refused_spans(R);
    assert_true(refused > 0);
    assert_int_equal(rcv_span_count(R) + refused, 12);
    assert_int_equal(fc.failed + bc.failed, refused);
    assert_int_equal(fc.retries + bc.retries, 0);
    assert_int_equal(fc.exported + bc.exported, rcv_span_count(R));
    assert_int_equal(rcv_posts(R), rcv_accepted(R) + 1);
}

int main(void)
{
    char fe[512];
    snprintf(fe, sizeof fe, "%s/samples/sample-frontend", build_dir());
    if (access(fe, X_OK) != 0) {
        fprintf(stderr, "test_e2e: %s not built\n", fe);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_one_trace_across_two_processes),
        T(test_collector_down),
        T(test_retry_after_503_delivered),
        T(test_bad_request_400_not_retried),
    };
    int rc = cmocka_run_group_tests_name("otlp_e2e", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
