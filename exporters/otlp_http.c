/*
 * exporters/otlp_http.c — the OTLP/HTTP trace exporter (libcurl).
 *
 * One export = one POST of an ExportTraceServiceRequest (protobuf or JSON,
 * optionally gzip) to the traces URL, on one reused CURL easy handle run
 * through a multi handle (which keeps the connection alive between
 * batches).  The multi handle's poll is what makes an export cancellable:
 * when the SDK's shutdown runs out of time it calls cancel(), which sets
 * a flag and wakes the poll (curl_multi_wakeup), so the transfer or the
 * backoff wait in progress ends at once and no later attempt starts.  The exporter is only
 * ever called from the SDK's export thread, so it needs no lock: the
 * request body, the compressed copy, the response and the encoding arena
 * are buffers owned by the exporter and reused batch after batch.
 *
 * Retries follow the OTLP specification: 429, 502, 503 and 504 and
 * transport errors (refused, reset, nothing received) are retried with
 * exponential backoff and jitter, or after the server's Retry-After delay
 * when it sent one; any other status fails at once.  Every attempt and
 * every wait is bounded by one deadline (the smaller of the configured
 * OTEL_EXPORTER_OTLP_TIMEOUT and the caller's timeout), so an export
 * never blocks beyond it: a Retry-After that ends past the deadline gives
 * up immediately instead of sleeping.  A 2xx response is read for
 * partial_success; rejected spans are counted apart from exported ones.
 *
 * Failures are reported through the SDK's logger once per change of state (working ->
 * failing -> working), not once per batch.
 *
 * After fork() the child abandons the parent's CURL handles — they may be
 * in the middle of a transfer run by a thread that does not exist in the
 * child, and cleaning them up could write to a socket the parent still
 * uses — and opens its own.  Abandoned handles stay on a global list (they are
 * deliberately never released, which keeps leak checkers quiet).
 */
#include "exporters/otlp.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ignis/common.h"
#include "libtrace/internal.h" /* ig_tlog */
#include "utils/fileio.h"

typedef struct otlp_http {
    ig_exporter base;
    ig_otlp_config cfg;
    CURL *curl;
    _Atomic(CURLM *) multi; /* runs curl; woken by cancel() from another thread */
    _Atomic bool cancelled; /* shutdown gave up: end the export, start none */
    struct curl_slist *headers;
    ig_otlp_arena arena;
    ig_strbuf body;     /* encoded request */
    ig_strbuf resp;     /* response body */
    int64_t retry_after_ms; /* from the last response, -1 when absent */
    uint64_t rng;       /* jitter state */
    bool failing;       /* last export failed (for state-change warnings) */
} otlp_http;

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_result;

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static void **abandoned; /* CURL and CURLM handles left by a fork parent */
static size_t nabandoned;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool cancelled(otlp_http *h) { return atomic_load_explicit(&h->cancelled, memory_order_acquire); }

/* Waits ms milliseconds, or less if cancel() comes (the multi handle's
 * poll with nothing to watch is a sleep that curl_multi_wakeup ends). */
static void sleep_ms(otlp_http *h, int64_t ms)
{
    int64_t until = now_ms() + ms;
    for (int64_t left = ms; left > 0 && !cancelled(h); left = until - now_ms())
        curl_multi_poll(h->multi, NULL, 0, left > 1000 ? 1000 : (int)left, NULL);
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    otlp_http *h = ud;
    if (h->resp.len < (1u << 20)) /* responses are tiny; bound hostile ones */
        ig_sb_append(&h->resp, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    otlp_http *h = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && len < 200 && !strncasecmp(p, name, sizeof name - 1)) {
        char value[200];
        memcpy(value, p + sizeof name - 1, len - (sizeof name - 1));
        value[len - (sizeof name - 1)] = '\0';
        value[strcspn(value, "\r\n")] = '\0';
        h->retry_after_ms = ig_otlp_parse_retry_after(value, time(NULL));
    }
    return len;
}

/* ---- set-up ---------------------------------------------------------------- */

static struct curl_slist *build_headers(const ig_otlp_config *cfg)
{
    struct curl_slist *l = NULL;
    l = curl_slist_append(l, cfg->json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
    if (cfg->gzip)
        l = curl_slist_append(l, "Content-Encoding: gzip");
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; i < cfg->nheaders; i++)
        l = curl_slist_append(l, cfg->headers[i]);
    return l;
}

static CURL *open_handle(otlp_http *h)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, h->cfg.url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ignis-otlp-exporter/" IGNIS_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    if (h->cfg.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg.ca_file);
    if (h->cfg.client_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, h->cfg.client_cert);
    if (h->cfg.client_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, h->cfg.client_key);
    return c;
}

/* ---- one attempt ------------------------------------------------------------- */

static bool curl_error_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_OPERATION_TIMEDOUT: /* the deadline is spent */
        return false;
    default:
        return true;
    }
}

static bool status_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Runs the transfer set up on h->curl to its end (curl's own timeouts
 * bound it) or until cancel(). */
static CURLcode perform(otlp_http *h)
{
    if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode rc = CURLE_OK;
    int running = 1;
    for (;;) {
        if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (cancelled(h) || curl_multi_poll(h->multi, NULL, 0, 1000, NULL) != CURLM_OK || cancelled(h)) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    CURLMsg *m;
    int left;
    while (!running && (m = curl_multi_info_read(h->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == h->curl)
            rc = m->data.result;
    curl_multi_remove_handle(h->multi, h->curl);
    return rc;
}

static attempt_result post_once(otlp_http *h, const void *data, size_t len, int64_t remaining,
                                char *why, size_t whylen)
{
    ig_sb_reset(&h->resp);
    h->retry_after_ms = -1;
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)remaining);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)remaining);
    CURLcode rc = perform(h);
    if (rc == CURLE_ABORTED_BY_CALLBACK && cancelled(h)) {
        snprintf(why, whylen, "cancelled at shutdown");
        return ATTEMPT_FAIL;
    }
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        return curl_error_retryable(rc) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
    }
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return ATTEMPT_OK;
    snprintf(why, whylen, "HTTP status %ld", status);
    return status_retryable(status) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
}

/* ---- export ------------------------------------------------------------------ */

int64_t ig_otlp_backoff_ms(int base_ms, int max_ms, int attempt, uint64_t *rng)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    int64_t half = d / 2;
    return d - half + (half ? (int64_t)((*rng >> 33) % (uint64_t)(half + 1)) : 0);
}

static int64_t backoff_ms(otlp_http *h, int attempt)
{
    return ig_otlp_backoff_ms(h->cfg.retry_base_ms, h->cfg.retry_max_ms, attempt, &h->rng);
}

static void note_state(otlp_http *h, bool failed, const char *why)
{
    if (failed && !h->failing)
        ig_tlog(IGNIS_LOG_WARN, "OTLP export to %s failed: %s (spans dropped; reported once until it recovers)",
                h->cfg.url, why);
    else if (!failed && h->failing)
        ig_tlog(IGNIS_LOG_WARN, "OTLP export to %s recovered", h->cfg.url);
    h->failing = failed;
}

static void account_success(otlp_http *h, size_t n)
{
    int64_t rejected = 0;
    char msg[256];
    ig_err err;
    if (ig_otlp_parse_response((const uint8_t *)h->resp.data, h->resp.len, h->cfg.json, &rejected, msg, sizeof msg, &err) < 0)
        rejected = 0; /* delivered; an unreadable response changes nothing */
    if (rejected < 0)
        rejected = 0;
    if ((uint64_t)rejected > n)
        rejected = (int64_t)n;
    if (rejected)
        ig_tlog(IGNIS_LOG_WARN, "OTLP receiver rejected %lld spans%s%s", (long long)rejected, msg[0] ? ": " : "", msg);
    atomic_fetch_add(&h->base.counters.rejected, (uint64_t)rejected);
    atomic_fetch_add(&h->base.counters.exported, n - (uint64_t)rejected);
    note_state(h, false, NULL);
}

static int fail_export(otlp_http *h, size_t n, const char *why)
{
    atomic_fetch_add(&h->base.counters.failed, n);
    note_state(h, true, why);
    return IG_EXPORT_FAILED;
}

static int send_with_retries(otlp_http *h, const void *data, size_t len, size_t n, int64_t deadline)
{
    char why[256] = "export timeout";
    for (int attempt = 1;; attempt++) {
        int64_t remaining = deadline - now_ms();
        if (remaining <= 0 || cancelled(h))
            return fail_export(h, n, cancelled(h) ? "cancelled at shutdown" : why);
        attempt_result r = post_once(h, data, len, remaining, why, sizeof why);
        if (r == ATTEMPT_OK) {
            account_success(h, n);
            return IG_EXPORT_OK;
        }
        if (r == ATTEMPT_FAIL || attempt >= h->cfg.retry_max_attempts)
            return fail_export(h, n, why);
        int64_t delay = h->retry_after_ms >= 0 ? h->retry_after_ms : backoff_ms(h, attempt);
        if (now_ms() + delay >= deadline)
            return fail_export(h, n, why);
        atomic_fetch_add(&h->base.counters.retries, 1);
        sleep_ms(h, delay);
    }
}

static int http_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    otlp_http *h = (otlp_http *)e;
    if (n == 0)
        return IG_EXPORT_OK;
    if (cancelled(h))
        return fail_export(h, n, "cancelled at shutdown");
    /* The SDK always passes a positive timeout; <= 0 (tests, benchmarks)
     * leaves only the configured one. */
    int64_t budget = h->cfg.timeout_ms;
    if (timeout_ms > 0 && timeout_ms < budget)
        budget = timeout_ms;
    int64_t deadline = now_ms() + budget;
    if (!h->curl && !(h->curl = open_handle(h)))
        return fail_export(h, n, "cannot create a CURL handle");
    if (!h->multi) {
        CURLM *m = curl_multi_init();
        if (!m)
            return fail_export(h, n, "cannot create a CURL multi handle");
        atomic_store(&h->multi, m);
    }

    ig_sb_reset(&h->body);
    if (h->cfg.json)
        ig_otlp_encode_json(spans, n, &h->body);
    else
        ig_otlp_encode_proto(spans, n, &h->arena, &h->body);
    if (!h->cfg.gzip)
        return send_with_retries(h, h->body.data, h->body.len, n, deadline);

    uint8_t *gz;
    size_t gzlen;
    ig_err err;
    /* level 1: the exporter shares the CPU with the service, and OTLP
     * bodies (repeated keys and ids) already shrink about 4x at it */
    if (ig_gzip((const uint8_t *)h->body.data, h->body.len, &gz, &gzlen, 1, &err) < 0)
        return fail_export(h, n, err.msg);
    int rc = send_with_retries(h, gz, gzlen, n, deadline);
    free(gz);
    return rc;
}

int ig_otlp_http_send_body(ig_exporter *e, const void *body, size_t len, size_t nspans, int timeout_ms)
{
    otlp_http *h = (otlp_http *)e;
    int64_t budget = h->cfg.timeout_ms;
    if (timeout_ms > 0 && timeout_ms < budget)
        budget = timeout_ms;
    if (!h->curl && !(h->curl = open_handle(h)))
        return fail_export(h, nspans, "cannot create a CURL handle");
    return send_with_retries(h, body, len, nspans, now_ms() + budget);
}

static int http_force_flush(ig_exporter *e, int timeout_ms)
{
    (void)e;
    (void)timeout_ms;
    return 0; /* nothing is buffered between exports */
}

static void abandon(void *handle)
{
    pthread_mutex_lock(&abandoned_lock);
    abandoned = ig_xrealloc(abandoned, sizeof *abandoned * (nabandoned + 1));
    abandoned[nabandoned++] = handle;
    pthread_mutex_unlock(&abandoned_lock);
}

static void http_cancel(ig_exporter *e)
{
    otlp_http *h = (otlp_http *)e;
    atomic_store_explicit(&h->cancelled, true, memory_order_release);
    CURLM *m = atomic_load(&h->multi);
    if (m)
        curl_multi_wakeup(m);
}

static void http_after_fork_child(ig_exporter *e)
{
    otlp_http *h = (otlp_http *)e;
    if (h->curl) {
        abandon(h->curl);
        h->curl = NULL; /* reopened by the next export */
    }
    if (h->multi) {
        abandon(h->multi);
        h->multi = curl_multi_init();
    }
    ig_sb_reset(&h->body);
    ig_sb_reset(&h->resp);
    h->failing = false;
}

static void http_destroy(ig_exporter *e)
{
    otlp_http *h = (otlp_http *)e;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    ig_otlp_arena_free(&h->arena);
    ig_sb_free(&h->body);
    ig_sb_free(&h->resp);
    ig_otlp_config_free(&h->cfg);
    free(h);
}

static void copy_config(ig_otlp_config *dst, const ig_otlp_config *src)
{
    *dst = *src;
    dst->url = ig_xstrdup(src->url);
    dst->headers = ig_xmalloc(sizeof *dst->headers * (src->nheaders ? src->nheaders : 1));
    for (size_t i = 0; i < src->nheaders; i++)
        dst->headers[i] = ig_xstrdup(src->headers[i]);
    dst->ca_file = src->ca_file ? ig_xstrdup(src->ca_file) : NULL;
    dst->client_cert = src->client_cert ? ig_xstrdup(src->client_cert) : NULL;
    dst->client_key = src->client_key ? ig_xstrdup(src->client_key) : NULL;
    if (dst->timeout_ms <= 0)
        dst->timeout_ms = 10000;
    if (dst->retry_max_attempts <= 0)
        dst->retry_max_attempts = 1;
    if (dst->retry_base_ms <= 0)
        dst->retry_base_ms = 1;
    if (dst->retry_max_ms < dst->retry_base_ms)
        dst->retry_max_ms = dst->retry_base_ms;
}

ig_exporter *ig_otlp_http_exporter_new(const ig_otlp_config *cfg, ig_err *err)
{
    if (!cfg->url || !*cfg->url) {
        ig_err_set(err, "OTLP exporter: no endpoint URL");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    otlp_http *h = ig_xcalloc(1, sizeof *h);
    copy_config(&h->cfg, cfg);
    h->headers = build_headers(&h->cfg);
    h->curl = open_handle(h);
    h->multi = curl_multi_init();
    if (!h->curl || !h->headers || !h->multi) {
        ig_err_set(err, "OTLP exporter: cannot initialise libcurl");
        http_destroy(&h->base);
        return NULL;
    }
    h->rng = (uint64_t)now_ms() ^ ((uint64_t)(uintptr_t)h << 16);
    h->base.name = h->cfg.json ? "otlp/http-json" : "otlp/http-protobuf";
    h->base.export_spans = http_export;
    h->base.force_flush = http_force_flush;
    h->base.after_fork_child = http_after_fork_child;
    h->base.cancel = http_cancel;
    h->base.destroy = http_destroy;
    return &h->base;
}

ig_exporter *ig_otlp_http_exporter_from_env(ig_err *err)
{
    ig_otlp_config cfg;
    if (ig_otlp_config_from_env(&cfg, ig_otlp_warn_log, NULL, err) < 0)
        return NULL;
    ig_exporter *e = ig_otlp_http_exporter_new(&cfg, err);
    ig_otlp_config_free(&cfg);
    return e;
}
