/*
 * exporters/otlp_http.c — the OTLP/HTTP sender (libcurl) and, on top of
 * it, the trace exporter.
 *
 * The sender (ig_otlp_sender) is signal-agnostic: it POSTs a body that is
 * already encoded to the configured URL with the configured headers,
 * content type and encoding, on one reused CURL easy handle run through a
 * multi handle (which keeps the connection alive between posts).  Spans
 * (below) and profiles (exporters/otlp_profiles_send.c) both use it, so
 * there is one HTTP client, one retry policy and one set of headers.  The
 * multi handle's poll is what makes a post cancellable: when the SDK's
 * shutdown runs out of time it calls cancel(), which sets a flag and wakes
 * the poll (curl_multi_wakeup), so the transfer or the backoff wait in
 * progress ends at once and no later attempt starts.  A sender is used by
 * one thread at a time (the SDK's export thread, or the profiles
 * exporter under its lock), so it needs no lock: the response buffer and
 * the handles are its own and reused post after post.
 *
 * Retries follow the OTLP specification: 429, 502, 503 and 504 and
 * transport errors (refused, reset, nothing received) are retried with
 * exponential backoff and jitter, or after the server's Retry-After delay
 * when it sent one; any other status ends the post at once and is handed
 * to the caller (IG_OTLP_REFUSED), who knows what it means for its
 * signal (the profiles exporter splits a request on 413).  Every attempt
 * and every wait is bounded by one deadline, so a post never blocks
 * beyond it: a Retry-After that ends past the deadline gives up
 * immediately instead of sleeping.
 *
 * The trace exporter encodes a batch (protobuf or JSON), posts it, reads
 * partial_success from a 2xx answer (rejected spans are counted apart
 * from exported ones) and reports failures through the SDK's logger once
 * per change of state (working -> failing -> working), not once per batch.
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

#define MAX_RESPONSE ((size_t)1 << 20) /* answers are tiny; bound hostile ones */

struct ig_otlp_sender {
    ig_otlp_config cfg;
    CURL *curl;
    _Atomic(CURLM *) multi; /* runs curl; woken by cancel() from another thread */
    _Atomic bool cancelled; /* give up: end the post, start none */
    struct curl_slist *headers;
    ig_strbuf resp;         /* the last answer's body */
    int64_t retry_after_ms; /* from the last answer, -1 when absent */
    uint64_t rng;           /* jitter state */
};

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static void **abandoned; /* CURL and CURLM handles left by a fork parent */
static size_t nabandoned;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t ig_otlp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ig_otlp_sender_cancelled(const ig_otlp_sender *s)
{
    return atomic_load_explicit(&s->cancelled, memory_order_acquire);
}

/* Waits ms milliseconds, or less if cancel() comes (the multi handle's
 * poll with nothing to watch is a sleep that curl_multi_wakeup ends). */
static void sleep_ms(ig_otlp_sender *s, int64_t ms)
{
    int64_t until = ig_otlp_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !ig_otlp_sender_cancelled(s); left = until - ig_otlp_now_ms())
        curl_multi_poll(s->multi, NULL, 0, left > 1000 ? 1000 : (int)left, NULL);
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ig_otlp_sender *s = ud;
    if (s->resp.len < MAX_RESPONSE)
        ig_sb_append(&s->resp, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    ig_otlp_sender *s = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && len < 200 && !strncasecmp(p, name, sizeof name - 1)) {
        char value[200];
        memcpy(value, p + sizeof name - 1, len - (sizeof name - 1));
        value[len - (sizeof name - 1)] = '\0';
        value[strcspn(value, "\r\n")] = '\0';
        s->retry_after_ms = ig_otlp_parse_retry_after(value, time(NULL));
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

static CURL *open_handle(ig_otlp_sender *s)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, s->cfg.url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ignis-otlp-exporter/" IGNIS_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    if (s->cfg.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cfg.ca_file);
    if (s->cfg.client_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, s->cfg.client_cert);
    if (s->cfg.client_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, s->cfg.client_key);
    return c;
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

ig_otlp_sender *ig_otlp_sender_new(const ig_otlp_config *cfg, ig_err *err)
{
    if (!cfg->url || !*cfg->url) {
        ig_err_set(err, "OTLP exporter: no endpoint URL");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    ig_otlp_sender *s = ig_xcalloc(1, sizeof *s);
    copy_config(&s->cfg, cfg);
    s->headers = build_headers(&s->cfg);
    s->curl = open_handle(s);
    s->multi = curl_multi_init();
    if (!s->curl || !s->headers || !s->multi) {
        ig_err_set(err, "OTLP exporter: cannot initialise libcurl");
        ig_otlp_sender_free(s);
        return NULL;
    }
    s->rng = (uint64_t)ig_otlp_now_ms() ^ ((uint64_t)(uintptr_t)s << 16);
    return s;
}

const ig_otlp_config *ig_otlp_sender_config(const ig_otlp_sender *s)
{
    return &s->cfg;
}

void ig_otlp_sender_free(ig_otlp_sender *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->headers);
    ig_sb_free(&s->resp);
    ig_otlp_config_free(&s->cfg);
    free(s);
}

void ig_otlp_sender_cancel(ig_otlp_sender *s)
{
    atomic_store_explicit(&s->cancelled, true, memory_order_release);
    CURLM *m = atomic_load(&s->multi);
    if (m)
        curl_multi_wakeup(m);
}

static void abandon(void *handle)
{
    pthread_mutex_lock(&abandoned_lock);
    abandoned = ig_xrealloc(abandoned, sizeof *abandoned * (nabandoned + 1));
    abandoned[nabandoned++] = handle;
    pthread_mutex_unlock(&abandoned_lock);
}

void ig_otlp_sender_after_fork_child(ig_otlp_sender *s)
{
    if (s->curl) {
        abandon(s->curl);
        s->curl = NULL; /* reopened by the next post */
    }
    if (s->multi) {
        abandon(s->multi);
        s->multi = curl_multi_init();
    }
    ig_sb_reset(&s->resp);
}

/* ---- one attempt ------------------------------------------------------------- */

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_result;

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

/* Runs the transfer set up on s->curl to its end (curl's own timeouts
 * bound it) or until cancel(). */
static CURLcode perform(ig_otlp_sender *s)
{
    if (curl_multi_add_handle(s->multi, s->curl) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode rc = CURLE_OK;
    int running = 1;
    for (;;) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (ig_otlp_sender_cancelled(s) || curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK ||
            ig_otlp_sender_cancelled(s)) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    CURLMsg *m;
    int left;
    while (!running && (m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == s->curl)
            rc = m->data.result;
    curl_multi_remove_handle(s->multi, s->curl);
    return rc;
}

static void note_answer(ig_otlp_sender *s, ig_otlp_post *r)
{
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
    r->body = (const uint8_t *)s->resp.data;
    r->body_len = s->resp.len;
}

static attempt_result post_once(ig_otlp_sender *s, const void *data, size_t len, int64_t remaining, ig_otlp_post *r)
{
    ig_sb_reset(&s->resp);
    s->retry_after_ms = -1;
    r->status = 0;
    r->body = NULL;
    r->body_len = 0;
    r->content_type[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)remaining);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)remaining);
    CURLcode rc = perform(s);
    if (rc == CURLE_ABORTED_BY_CALLBACK && ig_otlp_sender_cancelled(s)) {
        snprintf(r->why, sizeof r->why, "cancelled at shutdown");
        return ATTEMPT_FAIL;
    }
    if (rc != CURLE_OK) {
        snprintf(r->why, sizeof r->why, "%s", curl_easy_strerror(rc));
        return curl_error_retryable(rc) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
    }
    note_answer(s, r);
    if (r->status >= 200 && r->status < 300)
        return ATTEMPT_OK;
    snprintf(r->why, sizeof r->why, "HTTP status %ld", r->status);
    return status_retryable(r->status) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
}

/* ---- a post with retries ------------------------------------------------------- */

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

/* How a failed attempt ends the post: refused when the server answered
 * with a status that is not retried, else failed. */
static ig_otlp_outcome give_up(const ig_otlp_post *r)
{
    return r->status && !status_retryable(r->status) && (r->status < 200 || r->status >= 300) ? IG_OTLP_REFUSED
                                                                                           : IG_OTLP_FAILED;
}

ig_otlp_outcome ig_otlp_sender_post(ig_otlp_sender *s, const void *data, size_t len, int64_t deadline,
                                    ig_otlp_post *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->why, sizeof r->why, "export timeout");
    if (!s->curl && !(s->curl = open_handle(s))) {
        snprintf(r->why, sizeof r->why, "cannot create a CURL handle");
        return IG_OTLP_FAILED;
    }
    if (!s->multi) {
        CURLM *m = curl_multi_init();
        if (!m) {
            snprintf(r->why, sizeof r->why, "cannot create a CURL multi handle");
            return IG_OTLP_FAILED;
        }
        atomic_store(&s->multi, m);
    }
    for (int attempt = 1;; attempt++) {
        int64_t remaining = deadline - ig_otlp_now_ms();
        if (ig_otlp_sender_cancelled(s)) {
            snprintf(r->why, sizeof r->why, "cancelled at shutdown");
            return IG_OTLP_CANCELLED;
        }
        if (remaining <= 0)
            return IG_OTLP_FAILED;
        attempt_result a = post_once(s, data, len, remaining, r);
        if (a == ATTEMPT_OK)
            return IG_OTLP_SENT;
        if (ig_otlp_sender_cancelled(s))
            return IG_OTLP_CANCELLED;
        if (a == ATTEMPT_FAIL || attempt >= s->cfg.retry_max_attempts)
            return give_up(r);
        int64_t delay = s->retry_after_ms >= 0
                            ? s->retry_after_ms
                            : ig_otlp_backoff_ms(s->cfg.retry_base_ms, s->cfg.retry_max_ms, attempt, &s->rng);
        if (ig_otlp_now_ms() + delay >= deadline)
            return IG_OTLP_FAILED;
        r->retries++;
        sleep_ms(s, delay);
    }
}

ig_otlp_outcome ig_otlp_sender_send(ig_otlp_sender *s, const void *raw, size_t len, int64_t deadline,
                                    ig_otlp_post *r)
{
    if (!s->cfg.gzip)
        return ig_otlp_sender_post(s, raw, len, deadline, r);
    uint8_t *gz;
    size_t gzlen;
    ig_err err;
    /* level 1: the exporter shares the CPU with the service, and OTLP
     * bodies (repeated keys and ids) already shrink about 4x at it */
    if (ig_gzip(raw, len, &gz, &gzlen, 1, &err) < 0) {
        memset(r, 0, sizeof *r);
        snprintf(r->why, sizeof r->why, "%s", err.msg);
        return IG_OTLP_FAILED;
    }
    ig_otlp_outcome o = ig_otlp_sender_post(s, gz, gzlen, deadline, r);
    free(gz);
    return o;
}

/* ---- the trace exporter ------------------------------------------------------ */

typedef struct otlp_http {
    ig_exporter base;
    ig_otlp_sender *sender;
    ig_otlp_arena arena;
    ig_strbuf body;     /* encoded request */
    bool failing;       /* last export failed (for state-change warnings) */
} otlp_http;

static void note_state(otlp_http *h, bool failed, const char *why)
{
    const char *url = ig_otlp_sender_config(h->sender)->url;
    if (failed && !h->failing)
        ig_tlog(IGNIS_LOG_WARN, "OTLP export to %s failed: %s (spans dropped; reported once until it recovers)",
                url, why);
    else if (!failed && h->failing)
        ig_tlog(IGNIS_LOG_WARN, "OTLP export to %s recovered", url);
    h->failing = failed;
}

static void account_success(otlp_http *h, const ig_otlp_post *r, size_t n)
{
    int64_t rejected = 0;
    char msg[256];
    ig_err err;
    if (ig_otlp_parse_response(r->body, r->body_len, ig_otlp_sender_config(h->sender)->json, &rejected, msg,
                               sizeof msg, &err) < 0)
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

/* Accounts for a finished post of n spans. */
static int finish_post(otlp_http *h, ig_otlp_outcome o, const ig_otlp_post *r, size_t n)
{
    atomic_fetch_add(&h->base.counters.retries, (uint64_t)r->retries);
    if (o != IG_OTLP_SENT)
        return fail_export(h, n, r->why);
    account_success(h, r, n);
    return IG_EXPORT_OK;
}

/* The export's deadline: the configured timeout, or the caller's when
 * shorter (the SDK always passes a positive timeout; <= 0 — tests,
 * benchmarks — leaves only the configured one). */
static int64_t deadline_for(const otlp_http *h, int timeout_ms)
{
    int64_t budget = ig_otlp_sender_config(h->sender)->timeout_ms;
    if (timeout_ms > 0 && timeout_ms < budget)
        budget = timeout_ms;
    return ig_otlp_now_ms() + budget;
}

static int http_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    otlp_http *h = (otlp_http *)e;
    if (n == 0)
        return IG_EXPORT_OK;
    if (ig_otlp_sender_cancelled(h->sender))
        return fail_export(h, n, "cancelled at shutdown");
    int64_t deadline = deadline_for(h, timeout_ms);
    ig_sb_reset(&h->body);
    if (ig_otlp_sender_config(h->sender)->json)
        ig_otlp_encode_json(spans, n, &h->body);
    else
        ig_otlp_encode_proto(spans, n, &h->arena, &h->body);
    ig_otlp_post r;
    ig_otlp_outcome o = ig_otlp_sender_send(h->sender, h->body.data, h->body.len, deadline, &r);
    return finish_post(h, o, &r, n);
}

int ig_otlp_http_send_body(ig_exporter *e, const void *body, size_t len, size_t nspans, int timeout_ms)
{
    otlp_http *h = (otlp_http *)e;
    ig_otlp_post r;
    ig_otlp_outcome o = ig_otlp_sender_post(h->sender, body, len, deadline_for(h, timeout_ms), &r);
    return finish_post(h, o, &r, nspans);
}

static int http_force_flush(ig_exporter *e, int timeout_ms)
{
    (void)e;
    (void)timeout_ms;
    return 0; /* nothing is buffered between exports */
}

static void http_cancel(ig_exporter *e)
{
    ig_otlp_sender_cancel(((otlp_http *)e)->sender);
}

static void http_after_fork_child(ig_exporter *e)
{
    otlp_http *h = (otlp_http *)e;
    ig_otlp_sender_after_fork_child(h->sender);
    ig_sb_reset(&h->body);
    h->failing = false;
}

static void http_destroy(ig_exporter *e)
{
    otlp_http *h = (otlp_http *)e;
    ig_otlp_sender_free(h->sender);
    ig_otlp_arena_free(&h->arena);
    ig_sb_free(&h->body);
    free(h);
}

ig_exporter *ig_otlp_http_exporter_new(const ig_otlp_config *cfg, ig_err *err)
{
    ig_otlp_sender *s = ig_otlp_sender_new(cfg, err);
    if (!s)
        return NULL;
    otlp_http *h = ig_xcalloc(1, sizeof *h);
    h->sender = s;
    h->base.name = cfg->json ? "otlp/http-json" : "otlp/http-protobuf";
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
