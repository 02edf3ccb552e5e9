/*
 * collect/forward.c — the --forward thread (see collect/forward.h).
 *
 * One exporter per (content type, encoding) pair actually seen, created
 * on first use from the same configuration (OTEL_EXPORTER_OTLP_* from the
 * environment, the URL from --forward), so a body goes out with the very
 * Content-Type and Content-Encoding it came in with.  The exporter's own
 * counters tell, per send, how many spans the upstream took and how many
 * it rejected (partial_success); a failed send counts every span failed.
 */
#include "collect/forward.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exporters/otlp.h"

typedef struct fwd_item {
    struct fwd_item *next;
    bool json, gzip;
    uint32_t nspans;
    size_t len;
    uint8_t body[];
} fwd_item;

struct ig_forwarder {
    ig_otlp_config cfg;
    ig_exporter *exporters[4];  /* [json * 2 + gzip] */
    ig_collect_counters *counters;
    void (*log)(const char *msg);
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fwd_item *head, *tail;
    uint64_t bytes, max_bytes;
    bool stop;
    int64_t deadline_ms;
    bool failing;               /* for state-change messages */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(ig_forwarder *f, const char *fmt, const char *arg)
{
    if (!f->log)
        return;
    char buf[512];
    snprintf(buf, sizeof buf, fmt, arg);
    f->log(buf);
}

bool ig_forwarder_submit(ig_forwarder *f, const void *body, size_t len, bool json, bool gzip, uint32_t nspans)
{
    pthread_mutex_lock(&f->mu);
    bool fits = !f->stop && (!f->bytes || f->bytes + len <= f->max_bytes);
    if (fits) {
        fwd_item *it = ig_xmalloc(sizeof *it + (len ? len : 1));
        *it = (fwd_item){NULL, json, gzip, nspans, len};
        memcpy(it->body, body, len);
        if (f->tail)
            f->tail->next = it;
        else
            f->head = it;
        f->tail = it;
        f->bytes += len;
        pthread_cond_signal(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    if (!fits)
        atomic_fetch_add(&f->counters->spans_forward_failed, nspans);
    return fits;
}

static ig_exporter *exporter_for(ig_forwarder *f, bool json, bool gzip, ig_err *err)
{
    ig_exporter **e = &f->exporters[json * 2 + gzip];
    if (!*e) {
        ig_otlp_config cfg = f->cfg;
        cfg.json = json;
        cfg.gzip = gzip;
        *e = ig_otlp_http_exporter_new(&cfg, err);
    }
    return *e;
}

static void send_item(ig_forwarder *f, fwd_item *it, int timeout_ms)
{
    ig_err err;
    ig_exporter *e = exporter_for(f, it->json, it->gzip, &err);
    uint64_t exported = 0, rejected = 0;
    int rc = IG_EXPORT_FAILED;
    if (e) {
        uint64_t ex0 = atomic_load(&e->counters.exported), rj0 = atomic_load(&e->counters.rejected);
        rc = ig_otlp_http_send_body(e, it->body, it->len, it->nspans, timeout_ms);
        exported = atomic_load(&e->counters.exported) - ex0;
        rejected = atomic_load(&e->counters.rejected) - rj0;
    }
    if (rc == IG_EXPORT_OK) {
        atomic_fetch_add(&f->counters->spans_forwarded, exported);
        atomic_fetch_add(&f->counters->spans_forward_failed, rejected);
        if (f->failing)
            say(f, "forwarding to %s works again", f->cfg.url);
        f->failing = false;
    } else {
        atomic_fetch_add(&f->counters->spans_forward_failed, it->nspans);
        if (!f->failing)
            say(f, "cannot forward to %s (spans not forwarded are counted in "
                   "ignis_collect_spans_forward_failed_total; reported once until it recovers)", f->cfg.url);
        f->failing = true;
    }
}

static void *forward_main(void *arg)
{
    ig_forwarder *f = arg;
    pthread_setname_np(pthread_self(), "ig-forward"); /* in top -H and /proc */
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->head && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        fwd_item *it = f->head;
        if (!it)
            break; /* stopping, nothing left */
        f->head = it->next;
        if (!f->head)
            f->tail = NULL;
        int timeout = 0; /* the exporter's own timeout */
        if (f->stop) {
            int64_t left = f->deadline_ms - now_ms();
            if (left <= 0) {
                atomic_fetch_add(&f->counters->spans_forward_failed, it->nspans);
                f->bytes -= it->len;
                free(it);
                continue;
            }
            timeout = (int)left;
        }
        pthread_mutex_unlock(&f->mu);
        send_item(f, it, timeout);
        pthread_mutex_lock(&f->mu);
        f->bytes -= it->len;
        free(it);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void warn_log(void *ctx, const char *msg)
{
    ig_forwarder *f = ctx;
    say(f, "forward: %s", msg);
}

/* The URL as given, or with /v1/traces added when it has no path (a base
 * endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT). */
static char *forward_url(const char *url, ig_err *err)
{
    const char *rest = !strncasecmp(url, "http://", 7) ? url + 7 : !strncasecmp(url, "https://", 8) ? url + 8 : NULL;
    if (!rest || !*rest || *rest == '/') {
        ig_err_set(err, "--forward: '%s' is not an http:// or https:// URL", url);
        return NULL;
    }
    CURLU *u = curl_url();
    CURLUcode rc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
    curl_url_cleanup(u);
    if (rc != CURLUE_OK) { /* e.g. "http://[::1": refused now, not at the first send */
        ig_err_set(err, "--forward: '%s' is not a valid URL (%s)", url, curl_url_strerror(rc));
        return NULL;
    }
    const char *path = strchr(rest, '/');
    if (path && strcmp(path, "/"))
        return ig_xstrdup(url);
    return ig_otlp_traces_url(NULL, url, err);
}

ig_forwarder *ig_forwarder_start(const char *url, uint64_t max_queue_bytes, ig_collect_counters *counters,
                                 void (*log)(const char *msg), ig_err *err)
{
    ig_forwarder *f = ig_xcalloc(1, sizeof *f);
    f->counters = counters;
    f->log = log;
    f->max_bytes = max_queue_bytes;
    char *full = forward_url(url, err);
    if (!full || ig_otlp_config_from_env(&f->cfg, warn_log, f, err) < 0) {
        free(full);
        free(f);
        return NULL;
    }
    free(f->cfg.url);
    f->cfg.url = full;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, forward_main, f) != 0) {
        ig_err_set(err, "cannot start the forwarding thread");
        ig_otlp_config_free(&f->cfg);
        free(f);
        return NULL;
    }
    return f;
}

void ig_forwarder_stop(ig_forwarder *f, int deadline_ms)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    f->deadline_ms = now_ms() + deadline_ms;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < 4; i++)
        if (f->exporters[i])
            f->exporters[i]->destroy(f->exporters[i]);
    ig_otlp_config_free(&f->cfg);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
