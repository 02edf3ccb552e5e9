/*
 * tests/otlp/receiver.c — loopback OTLP/HTTP receiver (libmicrohttpd).
 *
 * Listens on 127.0.0.1 with an ephemeral port and one internal polling
 * thread.  POST /v1/traces bodies are collected per connection, gunzipped
 * when Content-Encoding is gzip, and decoded with protobuf-c (or json-c
 * for application/json).  Decoded requests are kept until rcv_stop so
 * tests can walk them; a condition variable lets tests wait for "n spans
 * arrived" with a bound instead of sleeping.  A small script queue makes
 * the next requests fail (503 + Retry-After, 400, ...) so the exporter's
 * retry rules can be checked against ground truth, and a delay makes
 * every answer late (a slow collector).
 */
#include "tests/otlp/receiver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "opentelemetry/ignis/trace_shallow.pb-c.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

typedef struct rcv_reply {
    int status;
    char retry_after[64];
    int times;
} rcv_reply;

struct rcv {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    bool count_only;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rcv_reply script[32];
    size_t nscript;
    int delay_ms;
    int64_t partial_rejected;
    char partial_msg[128];
    char capture_name[64];
    char captured[256];
    RcvRequest **reqs;
    size_t nreqs;
    json_object **jreqs;
    size_t njreqs;
    size_t posts, accepted, spans, connections, gzip_posts, json_posts;
    size_t refused_spans; /* spans in requests answered with a scripted failure */
    uint64_t bytes;
};

typedef struct rcv_conn {
    ig_strbuf body;
} rcv_conn;

/* ---- decoding ------------------------------------------------------------ */

static size_t count_proto_spans(const RcvRequest *q)
{
    size_t n = 0;
    for (size_t i = 0; i < q->n_resource_spans; i++)
        for (size_t j = 0; j < q->resource_spans[i]->n_scope_spans; j++)
            n += q->resource_spans[i]->scope_spans[j]->n_spans;
    return n;
}

static size_t count_json_spans(json_object *root)
{
    size_t n = 0;
    json_object *rss, *sss, *spans;
    if (!json_object_object_get_ex(root, "resourceSpans", &rss))
        return 0;
    for (size_t i = 0; i < json_object_array_length(rss); i++) {
        if (!json_object_object_get_ex(json_object_array_get_idx(rss, i), "scopeSpans", &sss))
            continue;
        for (size_t j = 0; j < json_object_array_length(sss); j++)
            if (json_object_object_get_ex(json_object_array_get_idx(sss, j), "spans", &spans))
                n += json_object_array_length(spans);
    }
    return n;
}

/* Counts the spans of a protobuf request through the shallow view (spans
 * left as bytes), so a benchmark receiver keeps up with the exporter. */
static bool count_shallow(rcv *r, const uint8_t *data, size_t len)
{
    Ignis__Otlp__Shallow__Request *q = ignis__otlp__shallow__request__unpack(NULL, len, data);
    if (!q)
        return false;
    for (size_t i = 0; i < q->n_resource_spans; i++)
        for (size_t j = 0; j < q->resource_spans[i]->n_scope_spans; j++) {
            const Ignis__Otlp__Shallow__ScopeSpans *ss = q->resource_spans[i]->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++)
                r->spans += ss->spans[k].len > 0;
        }
    ignis__otlp__shallow__request__free_unpacked(q, NULL);
    return true;
}

/* Spans in a body that will not be recorded (0 when it does not parse). */
static size_t count_any(rcv_conn *conn, bool gz, bool json)
{
    uint8_t *plain = (uint8_t *)conn->body.data;
    size_t plen = conn->body.len, n = 0;
    ig_err err;
    if (gz && ig_gunzip((uint8_t *)conn->body.data, conn->body.len, &plain, &plen, 256u << 20, &err) < 0)
        return 0;
    if (json) {
        json_object *root = json_tokener_parse(plain ? (const char *)plain : "");
        n = root ? count_json_spans(root) : 0;
        json_object_put(root);
    } else {
        RcvRequest *q = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, plen, plain);
        n = q ? count_proto_spans(q) : 0;
        if (q)
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(q, NULL);
    }
    if (gz)
        free(plain);
    return n;
}

/* Decodes and records a body; returns false when it does not parse.
 * Called with r->mu held. */
static bool record_body(rcv *r, const uint8_t *data, size_t len, bool json)
{
    if (json) {
        json_tokener *tok = json_tokener_new();
        json_object *root = json_tokener_parse_ex(tok, (const char *)data, (int)len);
        bool ok = root && json_tokener_get_error(tok) == json_tokener_success &&
                  json_object_is_type(root, json_type_object);
        json_tokener_free(tok);
        if (!ok) {
            json_object_put(root);
            return false;
        }
        if (r->count_only) {
            r->spans += count_json_spans(root);
            json_object_put(root);
            return true;
        }
        r->jreqs = ig_xrealloc(r->jreqs, sizeof *r->jreqs * (r->njreqs + 1));
        r->jreqs[r->njreqs++] = root;
        r->spans += count_json_spans(root);
        return true;
    }
    if (r->count_only)
        return count_shallow(r, data, len);
    RcvRequest *q = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len, data);
    if (!q)
        return false;
    r->reqs = ig_xrealloc(r->reqs, sizeof *r->reqs * (r->nreqs + 1));
    r->reqs[r->nreqs++] = q;
    r->spans += count_proto_spans(q);
    return true;
}

/* ---- responses ------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, int status, const void *body, size_t len,
                             const char *ctype, const char *retry_after)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(resp, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_ok(rcv *r, struct MHD_Connection *c, bool json)
{
    if (json) {
        char body[256] = "{}";
        if (r->partial_rejected)
            snprintf(body, sizeof body, "{\"partialSuccess\":{\"rejectedSpans\":\"%lld\",\"errorMessage\":\"%s\"}}",
                     (long long)r->partial_rejected, r->partial_msg);
        return reply(c, 200, body, strlen(body), "application/json", NULL);
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&resp);
    opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&ps);
    if (r->partial_rejected) {
        ps.rejected_spans = r->partial_rejected;
        ps.error_message = r->partial_msg;
        resp.partial_success = &ps;
    }
    uint8_t buf[256];
    size_t len = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    return reply(c, 200, buf, len, "application/x-protobuf", NULL);
}

/* Pops the next scripted failure, if any (r->mu held). */
static bool next_scripted(rcv *r, rcv_reply *out)
{
    if (!r->nscript)
        return false;
    *out = r->script[0];
    if (--r->script[0].times <= 0) {
        memmove(r->script, r->script + 1, sizeof r->script[0] * (r->nscript - 1));
        r->nscript--;
    }
    return true;
}

static enum MHD_Result finish_post(rcv *r, struct MHD_Connection *c, rcv_conn *conn)
{
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *cenc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    bool json = ctype && !strncasecmp(ctype, "application/json", 16);
    bool gz = cenc && !strcasecmp(cenc, "gzip");
    enum MHD_Result ret;

    pthread_mutex_lock(&r->mu);
    int delay = r->delay_ms;
    pthread_mutex_unlock(&r->mu);
    if (delay > 0) { /* a slow collector, not synchronisation: nothing waits for it */
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&r->mu);
    r->posts++;
    r->bytes += conn->body.len;
    r->gzip_posts += gz;
    r->json_posts += json;
    if (r->capture_name[0]) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, r->capture_name);
        snprintf(r->captured, sizeof r->captured, "%s", v ? v : "");
    }
    rcv_reply scripted;
    if (next_scripted(r, &scripted)) {
        r->refused_spans += count_any(conn, gz, json);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        return reply(c, scripted.status, "", 0, NULL, scripted.retry_after[0] ? scripted.retry_after : NULL);
    }
    bool ok = true;
    {
        uint8_t *plain = (uint8_t *)conn->body.data;
        size_t plen = conn->body.len;
        ig_err err;
        if (gz && ig_gunzip((uint8_t *)conn->body.data, conn->body.len, &plain, &plen, 256u << 20, &err) < 0)
            ok = false;
        else
            ok = record_body(r, plain ? plain : (const uint8_t *)"", plen, json);
        if (gz && ok)
            free(plain);
    }
    if (ok)
        r->accepted++;
    pthread_cond_broadcast(&r->cv);
    if (ok)
        ret = reply_ok(r, c, json);
    else
        ret = reply(c, 400, "bad request", 11, "text/plain", NULL);
    pthread_mutex_unlock(&r->mu);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    rcv *r = cls;
    (void)version;
    if (!*con_cls) {
        *con_cls = ig_xcalloc(1, sizeof(rcv_conn));
        return MHD_YES;
    }
    rcv_conn *conn = *con_cls;
    if (*upload_size) {
        ig_sb_append(&conn->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") || strcmp(url, "/v1/traces"))
        return reply(c, 404, "not found", 9, "text/plain", NULL);
    return finish_post(r, c, conn);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    rcv_conn *conn = *con_cls;
    if (conn) {
        ig_sb_free(&conn->body);
        free(conn);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode code)
{
    rcv *r = cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&r->mu);
        r->connections++;
        pthread_mutex_unlock(&r->mu);
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

rcv *rcv_start(bool count_only)
{
    rcv *r = ig_xcalloc(1, sizeof *r);
    r->count_only = count_only;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, r,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, r,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_END);
    if (!r->d) {
        free(r);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info ? info->port : 0;
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/v1/traces", r->port);
    return r;
}

void rcv_stop(rcv *r)
{
    if (!r)
        return;
    MHD_stop_daemon(r->d);
    for (size_t i = 0; i < r->nreqs; i++)
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r->reqs[i], NULL);
    for (size_t i = 0; i < r->njreqs; i++)
        json_object_put(r->jreqs[i]);
    free(r->reqs);
    free(r->jreqs);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

int rcv_port(const rcv *r) { return r->port; }
const char *rcv_url(const rcv *r) { return r->url; }

void rcv_script(rcv *r, int status, const char *retry_after, int times)
{
    pthread_mutex_lock(&r->mu);
    if (r->nscript < sizeof r->script / sizeof r->script[0]) {
        rcv_reply *s = &r->script[r->nscript++];
        s->status = status;
        s->times = times;
        snprintf(s->retry_after, sizeof s->retry_after, "%s", retry_after ? retry_after : "");
    }
    pthread_mutex_unlock(&r->mu);
}

void rcv_set_delay(rcv *r, int ms)
{
    pthread_mutex_lock(&r->mu);
    r->delay_ms = ms;
    pthread_mutex_unlock(&r->mu);
}

void rcv_set_partial_success(rcv *r, int64_t rejected, const char *msg)
{
    pthread_mutex_lock(&r->mu);
    r->partial_rejected = rejected;
    snprintf(r->partial_msg, sizeof r->partial_msg, "%s", msg ? msg : "");
    pthread_mutex_unlock(&r->mu);
}

void rcv_capture_header(rcv *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->capture_name, sizeof r->capture_name, "%s", name);
    pthread_mutex_unlock(&r->mu);
}

void rcv_captured(rcv *r, char *buf, size_t len)
{
    pthread_mutex_lock(&r->mu);
    if (len) {
        size_t n = strnlen(r->captured, len - 1);
        memcpy(buf, r->captured, n);
        buf[n] = '\0';
    }
    pthread_mutex_unlock(&r->mu);
}

#define RCV_COUNTER(name, field, type)        \
    type name(rcv *r)                         \
    {                                         \
        pthread_mutex_lock(&r->mu);           \
        type v = r->field;                    \
        pthread_mutex_unlock(&r->mu);         \
        return v;                             \
    }
RCV_COUNTER(rcv_posts, posts, size_t)
RCV_COUNTER(rcv_accepted, accepted, size_t)
RCV_COUNTER(rcv_span_count, spans, size_t)
RCV_COUNTER(rcv_connections, connections, size_t)
RCV_COUNTER(rcv_gzip_posts, gzip_posts, size_t)
RCV_COUNTER(rcv_json_posts, json_posts, size_t)
RCV_COUNTER(rcv_bytes, bytes, uint64_t)
RCV_COUNTER(rcv_refused_spans, refused_spans, size_t)

static bool rcv_wait_field(rcv *r, const size_t *field, size_t n, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    while (*field < n && rc == 0)
        rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
    bool ok = *field >= n;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

bool rcv_wait_spans(rcv *r, size_t n, int timeout_ms) { return rcv_wait_field(r, &r->spans, n, timeout_ms); }
bool rcv_wait_posts(rcv *r, size_t n, int timeout_ms) { return rcv_wait_field(r, &r->posts, n, timeout_ms); }

size_t rcv_spans(rcv *r, rcv_span **out)
{
    pthread_mutex_lock(&r->mu);
    size_t n = 0, cap = 16;
    rcv_span *v = ig_xmalloc(sizeof *v * cap);
    for (size_t q = 0; q < r->nreqs; q++)
        for (size_t i = 0; i < r->reqs[q]->n_resource_spans; i++) {
            const RcvResourceSpans *rs = r->reqs[q]->resource_spans[i];
            for (size_t j = 0; j < rs->n_scope_spans; j++)
                for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++) {
                    if (n == cap)
                        v = ig_xrealloc(v, sizeof *v * (cap *= 2));
                    v[n++] = (rcv_span){rs, rs->scope_spans[j], rs->scope_spans[j]->spans[k]};
                }
        }
    pthread_mutex_unlock(&r->mu);
    *out = v;
    return n;
}

size_t rcv_json_requests(rcv *r, json_object ***out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->jreqs;
    size_t n = r->njreqs;
    pthread_mutex_unlock(&r->mu);
    return n;
}

const RcvAny *rcv_attr(RcvKV *const *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i]->key, key))
            return kv[i]->value;
    return NULL;
}

const char *rcv_attr_str(RcvKV *const *kv, size_t n, const char *key)
{
    const RcvAny *v = rcv_attr(kv, n, key);
    return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ? v->string_value : NULL;
}

bool rcv_attr_int(RcvKV *const *kv, size_t n, const char *key, int64_t *out)
{
    const RcvAny *v = rcv_attr(kv, n, key);
    if (!v || v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
        return false;
    *out = v->int_value;
    return true;
}
