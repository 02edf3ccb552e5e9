/*
 * exporters/otlp_profiles_send.c — posting profiles to an OTLP collector
 * (see otlp_profiles.h).
 *
 * Every request goes through the shared OTLP/HTTP sender
 * (exporters/otlp_http.c: one HTTP client, the same environment variables,
 * headers, gzip, retries of 429/502/503/504 with backoff or Retry-After
 * inside one deadline).  What is particular to profiles is what the
 * answers that are not retried mean:
 *   413  the request is too large: the samples are halved (each half gets
 *        a dictionary of its own, see otlp_profiles_encode.c) and both
 *        halves are sent, recursively, until they fit or one sample alone
 *        does not;
 *   404  the collector has no profiles endpoint: the message says so and
 *        how an OpenTelemetry Collector gets one (the profiles feature
 *        gate), which is what users of the eBPF profiler run into;
 *   400  not retried; the collector's own message (google.rpc.Status,
 *        JSON or text) is shown.
 * A 2xx answer is read for partial_success (rejected profiles counted).
 *
 * Sending now (ig_otlp_profiles_export) serves `ignis record --export` and
 * the viewer; a continuous recording calls ig_otlp_profiles_enqueue once
 * per interval instead: a thread started on the first call sends queued
 * intervals in order, the queue holds at most max_queue of them and drops
 * the oldest waiting one (counted, and reported once per change between
 * working and failing) when a new one comes to a full queue, so a
 * collector that is down costs neither the recorder's time nor memory.
 * One lock serialises posts (the sender is single-threaded); another
 * guards the queue and the counters.
 */
#include "exporters/otlp_profiles.h"
#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_QUEUE 8

typedef struct item {
    ignis_profile *p;
    ig_profile_resource res;
} item;

struct ig_otlp_profiles_exporter {
    ig_otlp_sender *sender;
    ig_otlp_profiles_opts o;
    pthread_mutex_t send_lock; /* one post at a time */
    pthread_mutex_t lock;      /* the queue, the counters, the state */
    pthread_cond_t wake;       /* an item or stop, for the thread */
    pthread_cond_t idle;       /* the queue drained, for flush */
    item *queue;               /* ring of max_queue */
    size_t head, n;
    bool busy, stop, started, failing;
    pthread_t thread;
    ig_otlp_profiles_stats st;
};

/* ---- resources ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s && *s ? ig_xstrdup(s) : NULL;
}

void ig_profile_resource_add(ig_profile_resource *r, const char *key, const char *value)
{
    r->extra_keys = ig_xrealloc(r->extra_keys, (r->nextra + 1) * sizeof *r->extra_keys);
    r->extra_values = ig_xrealloc(r->extra_values, (r->nextra + 1) * sizeof *r->extra_values);
    r->extra_keys[r->nextra] = ig_xstrdup(key);
    r->extra_values[r->nextra++] = ig_xstrdup(value);
}

void ig_profile_resource_copy(ig_profile_resource *dst, const ig_profile_resource *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src)
        return;
    dst->pid = src->pid;
    dst->executable_name = dup_or_null(src->executable_name);
    dst->host_name = dup_or_null(src->host_name);
    dst->service_name = dup_or_null(src->service_name);
    dst->container_id = dup_or_null(src->container_id);
    for (size_t i = 0; i < src->nextra; i++)
        ig_profile_resource_add(dst, src->extra_keys[i], src->extra_values[i]);
}

void ig_profile_resource_free(ig_profile_resource *r)
{
    if (!r)
        return;
    free(r->executable_name);
    free(r->host_name);
    free(r->service_name);
    free(r->container_id);
    for (size_t i = 0; i < r->nextra; i++) {
        free(r->extra_keys[i]);
        free(r->extra_values[i]);
    }
    free(r->extra_keys);
    free(r->extra_values);
    memset(r, 0, sizeof *r);
}

/* ---- answers -------------------------------------------------------------------------- */

/* A short printable excerpt of a text body: its first line. */
static void text_excerpt(const uint8_t *b, size_t n, char *out, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < n && b[i] != '\n' && j + 1 < len && j < 200; i++)
        out[j++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
    while (j && out[j - 1] == '\r')
        j--;
    out[j] = '\0';
}

/* The collector's explanation in an error answer: google.rpc.Status
 * (protobuf), {"message": ...} (JSON), or the text. */
static void error_message(const ig_otlp_post *r, char *out, size_t len)
{
    out[0] = '\0';
    if (!r->body_len)
        return;
    if (strstr(r->content_type, "protobuf")) {
        Google__Rpc__Status *s = google__rpc__status__unpack(NULL, r->body_len, r->body);
        if (s) {
            text_excerpt((const uint8_t *)s->message, strlen(s->message), out, len);
            google__rpc__status__free_unpacked(s, NULL);
            return;
        }
    }
    if (strstr(r->content_type, "json")) {
        json_tokener *tok = json_tokener_new_ex(16);
        json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)r->body, (int)r->body_len) : NULL;
        json_object *m = NULL;
        if (o && json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
            text_excerpt((const uint8_t *)json_object_get_string(m), (size_t)json_object_get_string_len(m), out, len);
        json_object_put(o);
        if (tok)
            json_tokener_free(tok);
        if (out[0])
            return;
    }
    text_excerpt(r->body, r->body_len, out, len);
}

/* partial_success of a 2xx answer: rejected profiles and the message. */
static int64_t rejected_in(const ig_otlp_post *r, bool json, char *msg, size_t len)
{
    msg[0] = '\0';
    int64_t rejected = 0;
    if (!r->body_len)
        return 0;
    if (!json) {
        Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse *resp =
            opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack(
                NULL, r->body_len, r->body);
        if (resp && resp->partial_success) {
            rejected = resp->partial_success->rejected_profiles;
            text_excerpt((const uint8_t *)resp->partial_success->error_message,
                         strlen(resp->partial_success->error_message), msg, len);
        }
        if (resp)
            opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked(
                resp, NULL);
        return rejected > 0 ? rejected : 0;
    }
    json_tokener *tok = json_tokener_new_ex(16);
    json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)r->body, (int)r->body_len) : NULL, *ps, *v;
    if (o && json_object_object_get_ex(o, "partialSuccess", &ps)) {
        if (json_object_object_get_ex(ps, "rejectedProfiles", &v))
            rejected = json_object_get_int64(v); /* a number or a decimal string */
        if (json_object_object_get_ex(ps, "errorMessage", &v) && json_object_is_type(v, json_type_string))
            text_excerpt((const uint8_t *)json_object_get_string(v), (size_t)json_object_get_string_len(v), msg, len);
    }
    json_object_put(o);
    if (tok)
        json_tokener_free(tok);
    return rejected > 0 ? rejected : 0;
}

/* The one-line error for a request that was not delivered. */
static int delivery_error(const ig_otlp_profiles_exporter *x, ig_otlp_outcome o, const ig_otlp_post *r,
                          size_t body_len, ig_err *err)
{
    const char *url = ig_otlp_sender_config(x->sender)->url;
    char msg[256];
    if (o != IG_OTLP_REFUSED)
        return ig_err_set(err, "%s: %s", url, r->why);
    error_message(r, msg, sizeof msg);
    switch (r->status) {
    case 404:
        return ig_err_set(err, "%s: HTTP 404: the collector has no OTLP profiles endpoint (an OpenTelemetry "
                               "Collector needs --feature-gates=service.profilesSupport and a profiles pipeline)",
                          url);
    case 413:
        return ig_err_set(err, "%s: HTTP 413: the collector refuses even a request of one sample (%zu bytes)", url,
                          body_len);
    case 400:
        return ig_err_set(err, "%s: HTTP 400 Bad Request (not retried)%s%s", url, msg[0] ? ": " : "", msg);
    default:
        return ig_err_set(err, "%s: HTTP %ld%s%s", url, r->status, msg[0] ? ": " : "", msg);
    }
}

/* ---- sending (send_lock held) -------------------------------------------------------------- */

static void count(ig_otlp_profiles_exporter *x, uint64_t *counter, uint64_t n)
{
    pthread_mutex_lock(&x->lock);
    *counter += n;
    pthread_mutex_unlock(&x->lock);
}

/* Sends samples [first, first + n) of p, halving on 413. */
static int send_range(ig_otlp_profiles_exporter *x, const ignis_profile *p, const ig_profile_resource *res,
                      size_t first, size_t n, int64_t deadline, ig_err *err)
{
    const ig_otlp_config *cfg = ig_otlp_sender_config(x->sender);
    ig_otlp_encode_opts eo = {res, first, n, x->o.htlhash, x->o.htlhash_ctx};
    ig_strbuf body = IG_STRBUF_INIT;
    if (cfg->json)
        ig_otlp_profiles_encode_json(p, &eo, &body);
    else
        ig_otlp_profiles_encode(p, &eo, &body);
    ig_otlp_post r;
    ig_otlp_outcome o = ig_otlp_sender_send(x->sender, body.data, body.len, deadline, &r);
    count(x, &x->st.retries, (uint64_t)r.retries);
    int rc = 0;
    if (o == IG_OTLP_SENT) {
        char msg[256];
        int64_t rejected = rejected_in(&r, cfg->json, msg, sizeof msg);
        count(x, &x->st.requests, 1);
        count(x, &x->st.rejected, (uint64_t)rejected);
        if (rejected && x->o.warn) {
            char line[512];
            snprintf(line, sizeof line, "OTLP profiles: the collector rejected %lld profiles%s%s", (long long)rejected,
                     msg[0] ? ": " : "", msg);
            x->o.warn(x->o.warn_ctx, line);
        }
    } else if (o == IG_OTLP_REFUSED && r.status == 413 && n > 1) {
        count(x, &x->st.splits, 1);
        size_t half = n / 2;
        rc = send_range(x, p, res, first, half, deadline, err);
        ig_err err2;
        if (send_range(x, p, res, first + half, n - half, deadline, rc ? &err2 : err))
            rc = -1;
    } else {
        rc = delivery_error(x, o, &r, body.len, err);
    }
    ig_sb_free(&body);
    return rc;
}

static int send_profile(ig_otlp_profiles_exporter *x, const ignis_profile *p, const ig_profile_resource *res,
                        int timeout_ms, ig_err *err)
{
    const ig_otlp_config *cfg = ig_otlp_sender_config(x->sender);
    int64_t budget = timeout_ms > 0 ? timeout_ms : cfg->timeout_ms;
    pthread_mutex_lock(&x->send_lock);
    int rc = send_range(x, p, res, 0, ignis_profile_num_samples(p), ig_otlp_now_ms() + budget, err);
    pthread_mutex_unlock(&x->send_lock);
    count(x, rc ? &x->st.failed : &x->st.exported, 1);
    return rc;
}

int ig_otlp_profiles_export(ig_otlp_profiles_exporter *x, const ignis_profile *p, const ig_profile_resource *res,
                            int timeout_ms, ig_err *err)
{
    return send_profile(x, p, res, timeout_ms, err);
}

/* ---- the queue ------------------------------------------------------------------------------- */

static void warn(ig_otlp_profiles_exporter *x, const char *msg)
{
    if (x->o.warn)
        x->o.warn(x->o.warn_ctx, msg);
    else
        fprintf(stderr, "ignis: %s\n", msg);
}

/* Reports a change between working and failing (lock held). */
static void note_state(ig_otlp_profiles_exporter *x, bool failed, const char *why)
{
    if (failed == x->failing)
        return;
    x->failing = failed;
    char line[768];
    if (failed)
        snprintf(line, sizeof line, "OTLP profiles export failed: %s (intervals are queued, at most %zu, then "
                                    "dropped and counted; reported once until it recovers)",
                 why, x->o.max_queue);
    else
        snprintf(line, sizeof line, "OTLP profiles export to %s recovered", ig_otlp_sender_config(x->sender)->url);
    warn(x, line);
}

static void drop_item(item *it)
{
    ignis_profile_free(it->p);
    ig_profile_resource_free(&it->res);
}

static void *sender_thread(void *arg)
{
    ig_otlp_profiles_exporter *x = arg;
    pthread_mutex_lock(&x->lock);
    for (;;) {
        while (!x->n && !x->stop)
            pthread_cond_wait(&x->wake, &x->lock);
        if (x->stop)
            break;
        item it = x->queue[x->head];
        x->head = (x->head + 1) % x->o.max_queue;
        x->n--;
        x->st.queued = x->n;
        x->busy = true;
        pthread_mutex_unlock(&x->lock);
        ig_err err;
        int rc = send_profile(x, it.p, &it.res, 0, &err);
        drop_item(&it);
        pthread_mutex_lock(&x->lock);
        x->busy = false;
        note_state(x, rc != 0, rc ? err.msg : NULL);
        pthread_cond_broadcast(&x->idle);
    }
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

int ig_otlp_profiles_enqueue(ig_otlp_profiles_exporter *x, ignis_profile *p, const ig_profile_resource *res)
{
    pthread_mutex_lock(&x->lock);
    int dropped = 0;
    if (x->n == x->o.max_queue) { /* full: the oldest waiting interval goes */
        drop_item(&x->queue[x->head]);
        x->head = (x->head + 1) % x->o.max_queue;
        x->n--;
        x->st.dropped++;
        dropped = 1;
    }
    item *it = &x->queue[(x->head + x->n) % x->o.max_queue];
    it->p = p;
    ig_profile_resource_copy(&it->res, res);
    x->n++;
    x->st.queued = x->n;
    if (!x->started && pthread_create(&x->thread, NULL, sender_thread, x) == 0)
        x->started = true;
    pthread_cond_signal(&x->wake);
    pthread_mutex_unlock(&x->lock);
    return dropped;
}

static struct timespec deadline_ts(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return ts;
}

int ig_otlp_profiles_flush(ig_otlp_profiles_exporter *x, int timeout_ms)
{
    struct timespec until = deadline_ts(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&x->lock);
    int rc = 0;
    while ((x->n || x->busy) && x->started && rc == 0)
        if (pthread_cond_timedwait(&x->idle, &x->lock, &until))
            rc = -1;
    if (x->n && !x->started)
        rc = -1; /* no thread could be started */
    pthread_mutex_unlock(&x->lock);
    return rc;
}

void ig_otlp_profiles_exporter_stats(ig_otlp_profiles_exporter *x, ig_otlp_profiles_stats *st)
{
    pthread_mutex_lock(&x->lock);
    *st = x->st;
    pthread_mutex_unlock(&x->lock);
}

/* ---- life ---------------------------------------------------------------------------------------- */

ig_otlp_profiles_exporter *ig_otlp_profiles_exporter_new(const ig_otlp_config *cfg, const ig_otlp_profiles_opts *o,
                                                         ig_err *err)
{
    ig_otlp_sender *s = ig_otlp_sender_new(cfg, err);
    if (!s)
        return NULL;
    ig_otlp_profiles_exporter *x = ig_xcalloc(1, sizeof *x);
    x->sender = s;
    if (o)
        x->o = *o;
    if (!x->o.max_queue)
        x->o.max_queue = DEFAULT_QUEUE;
    x->queue = ig_xcalloc(x->o.max_queue, sizeof *x->queue);
    pthread_mutex_init(&x->send_lock, NULL);
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->wake, NULL);
    pthread_cond_init(&x->idle, NULL);
    return x;
}

static void warn_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "ignis: %s\n", msg);
}

ig_otlp_profiles_exporter *ig_otlp_profiles_exporter_from_env(const ig_otlp_profiles_opts *o, ig_err *err)
{
    ig_otlp_config cfg;
    ig_otlp_warn_fn *w = o && o->warn ? o->warn : warn_stderr;
    if (ig_otlp_config_from_env_for(&ig_otlp_profiles, &cfg, w, o ? o->warn_ctx : NULL, err) < 0)
        return NULL;
    ig_otlp_profiles_exporter *x = ig_otlp_profiles_exporter_new(&cfg, o, err);
    ig_otlp_config_free(&cfg);
    return x;
}

const char *ig_otlp_profiles_exporter_url(const ig_otlp_profiles_exporter *x)
{
    return ig_otlp_sender_config(x->sender)->url;
}

void ig_otlp_profiles_exporter_free(ig_otlp_profiles_exporter *x, int timeout_ms)
{
    if (!x)
        return;
    bool drained = !x->started || ig_otlp_profiles_flush(x, timeout_ms) == 0;
    pthread_mutex_lock(&x->lock);
    x->stop = true; /* the thread takes no other interval */
    pthread_cond_signal(&x->wake);
    pthread_mutex_unlock(&x->lock);
    if (!drained)
        ig_otlp_sender_cancel(x->sender); /* ends the post in progress */
    if (x->started)
        pthread_join(x->thread, NULL);
    for (; x->n; x->n--, x->head = (x->head + 1) % x->o.max_queue) {
        drop_item(&x->queue[x->head]);
        x->st.dropped++;
    }
    free(x->queue);
    ig_otlp_sender_free(x->sender);
    pthread_mutex_destroy(&x->send_lock);
    pthread_mutex_destroy(&x->lock);
    pthread_cond_destroy(&x->wake);
    pthread_cond_destroy(&x->idle);
    free(x);
}
