/*
 * collect/receiver.c — the OTLP/HTTP endpoints (see collect/receiver.h).
 *
 * libmicrohttpd runs a small pool of threads (epoll); the access handler
 * is called once with the headers, then once per chunk of body, then once
 * more at the end.  The headers decide everything that does not need the
 * body (route, method, content type and encoding, conflicting
 * Content-Length headers, a Content-Length over the limit or over the
 * in-flight budget), so such requests are answered before any body is
 * read when the sender waits for "100 Continue"; a sender that does not
 * is already sending its body, which is then read on and discarded (up to
 * twice the limit) and answered at its end, so that the answer is not
 * lost to the reset of a connection closed with its body unread: every
 * answer decided from the headers is built by send_counted and held until
 * then (hold_answers).  Body chunks are appended to a per-request buffer
 * and counted against a global in-flight budget, so many slow or large
 * uploads cannot add up to unbounded memory.  libmicrohttpd (0.9.75)
 * sends an answer queued with the headers or at the end of the body,
 * never one queued in between: a chunked body that proves too large or
 * over the budget is read on and dropped, answered at its end
 * (take_chunk).  At the end the body is inflated (capped at max_body
 * while inflating), decoded (collect/decode.h), and the batch's bytes are
 * reserved in the writer's queue; only then are the spans counted in the
 * metrics, the body queued for forwarding, the batch pushed to the writer
 * and 200 sent.  All of this runs on the HTTP thread; the disk is the
 * writer thread's.  HTTP threads lower their own priority (nice +5): when
 * the CPUs are short, the one writer thread, the pipeline's narrowest
 * point, runs first and drains the queue, so senders are slowed by later
 * answers more often than turned away with 429.
 *
 * The receiver accepts connections itself, on a thread of its own
 * (ig-accept), and hands each to the daemon with MHD_add_connection,
 * which deals them out over the HTTP threads in turn (by descriptor).
 * Left to accept, libmicrohttpd's first idle thread takes every
 * connection that is waiting: senders that connect at once (services
 * starting together, a load generator) all landed on one thread, and the
 * other idled while it decoded everything.
 *
 * Slow clients: an idle timeout cannot stop a client that sends a byte
 * now and then, so 1000 such connections from one script used to hold
 * every connection the acceptor allowed, for as long as they went on,
 * and real senders waited in the listen backlog for good.  Every
 * connection now has its place in a table (collect/conns.h) from its
 * accept to its close, with total deadlines the acceptor enforces: the
 * headers within --header-timeout (10 s) of the accept, the body within
 * --body-timeout (10 s) of the headers plus one second per MIN_BODY_RATE
 * (64 KiB) received, the next request on a kept-alive connection within
 * IDLE_TIMEOUT_S (60 s) of the last answer; libmicrohttpd's own idle
 * timeout (30 s) still closes connections that send nothing.  At
 * --max-connections (1000) the oldest connection waiting for its headers
 * or idle between requests (a second at least, everything it sent read)
 * is shut down to make room for the new one
 * (libmicrohttpd has no such policy: its limit only refuses the new
 * connection; the acceptor shuts the old one's socket down and its HTTP
 * thread closes it); only when all are in the middle of a request do new
 * ones wait, and those have deadlines.  One peer address other than
 * loopback holds at most a quarter of the connections (its own oldest
 * waiting one is closed beyond, or the new one refused); a loopback peer
 * is every local process at once and has no share.  What was cut is
 * counted: ignis_collect_connections_cut_total{reason=slow|evicted|refused}.
 */
#include "collect/receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "collect/conns.h"
#include "collect/decode.h"
#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "utils/fileio.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse PbResponse;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess PbPartialSuccess;

struct ig_receiver {
    ig_receiver_config cfg;
    struct MHD_Daemon *d;
    int port;
    _Atomic uint64_t inflight;  /* body bytes held by requests in progress */
    int listen_fd;
    int wake[2];                /* a byte in wake[1] stops the acceptor */
    pthread_t acceptor;
    ig_conns *conns;            /* connections handed to the daemon and not yet closed */
    ig_conn_limits lim;
};

enum { RPC_INVALID_ARGUMENT = 3, RPC_RESOURCE_EXHAUSTED = 8, RPC_UNAVAILABLE = 14 };
enum { HTTP_NICE = 5, ACCEPT_BACKOFF_MS = 100, FULL_RETRY_MS = 10, SWEEP_MS = 250 };
/* Open connections at most, by default (--max-connections).  The
 * acceptor counts them itself (collect/conns.h) and, when no connection
 * can be evicted, stops accepting at the limit (new ones wait in the
 * listen backlog) instead of relying on libmicrohttpd's limit: it checks
 * a worker's count before the worker has taken the connections handed to
 * it, and a worker that finds itself over its share deadlocks (0.9.75:
 * both HTTP threads blocked for good once ~1030 clients were connected at
 * once; even SIGTERM then hung).  The daemon's own limit is set so high
 * that it is never the one reached. */
enum { MAX_CONNECTIONS = 1000, PER_HOST_SHARE = 4 /* a host holds at most 1/4 of them */ };
/* Deadlines by default (see the top comment): seconds, and bytes/s. */
enum { HEADER_TIMEOUT_S = 10, BODY_TIMEOUT_S = 10, IDLE_TIMEOUT_S = 60, MIN_BODY_RATE = 64 << 10 };
enum { IDLE_TIMEOUT_MHD_S = 30 }; /* libmicrohttpd's: no byte at all for that long */

/* One request in progress. */
typedef struct request {
    bool traces;                /* POST /v1/traces with an acceptable type */
    bool json, gzip;
    bool answered;              /* a response is queued or held; ignore the rest of the body */
    bool hold;                  /* answers decided now wait for the end of the body (hold_answers) */
    struct MHD_Response *held;  /* such an answer, its status in held_status */
    unsigned held_status;
    unsigned refusal;           /* 413 or 429 decided partway through the body, sent at its end */
    ig_conn *conn;              /* its connection's place in r->conns (NULL: none) */
    ig_strbuf body;
    uint64_t reserved;          /* bytes counted in inflight */
    uint64_t read;              /* body bytes read, kept or discarded */
} request;

/* ---- responses ---------------------------------------------------------------------- */

static struct MHD_Response *new_response(unsigned status, void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                                         const char *ctype, int retry_after)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp)
        return NULL;
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    return resp;
}

/* Queues resp (NULL: it could not be built) and lets go of it. */
static enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Queues an answer and counts it in /metrics if it is out: answers are
 * queued only when the library sends them (before the body is read, or
 * after all of it), so what is counted is what senders get. */
static enum MHD_Result queue_counted(ig_receiver *r, struct MHD_Connection *c, unsigned status,
                                     struct MHD_Response *resp)
{
    enum MHD_Result ret = queue_response(c, status, resp);
    if (ret == MHD_YES)
        ig_collect_count_status(r->cfg.counters, status);
    return ret;
}

/* Answers a request counted in /metrics: now, or, while q->hold is set
 * (an answer decided from the headers of a body on its way), at the end
 * of the body (send_held). */
static enum MHD_Result send_counted(ig_receiver *r, struct MHD_Connection *c, request *q, unsigned status, void *body,
                                    size_t len, enum MHD_ResponseMemoryMode mode, const char *ctype, int retry_after)
{
    q->answered = true;
    struct MHD_Response *resp = new_response(status, body, len, mode, ctype, retry_after);
    if (!resp || !q->hold)
        return queue_counted(r, c, status, resp);
    q->held = resp;
    q->held_status = status;
    return MHD_YES;
}

/* The end of a body read on and discarded: its held answer goes out. */
static enum MHD_Result send_held(ig_receiver *r, struct MHD_Connection *c, request *q)
{
    struct MHD_Response *resp = q->held;
    q->held = NULL;
    return queue_counted(r, c, q->held_status, resp);
}

/* An error answer: a google.rpc.Status in the request's encoding. */
static enum MHD_Result send_status(ig_receiver *r, struct MHD_Connection *c, request *q, unsigned http, int code,
                                   const char *message, int retry_after)
{
    if (q->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "code", json_object_new_int(code));
        json_object_object_add(o, "message", json_object_new_string(message));
        size_t n;
        const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        enum MHD_Result ret = send_counted(r, c, q, http, (void *)t, n, MHD_RESPMEM_MUST_COPY, "application/json", retry_after);
        json_object_put(o);
        return ret;
    }
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = code;
    st.message = (char *)message;
    size_t n = google__rpc__status__get_packed_size(&st);
    uint8_t *buf = ig_xmalloc(n ? n : 1);
    google__rpc__status__pack(&st, buf);
    return send_counted(r, c, q, http, buf, n, MHD_RESPMEM_MUST_FREE, "application/x-protobuf", retry_after);
}

static enum MHD_Result send_success(ig_receiver *r, struct MHD_Connection *c, request *q, const ig_decode_stats *st)
{
    char msg[256];
    ig_decode_message(st, msg, sizeof msg);
    if (q->json) {
        json_object *o = json_object_new_object();
        if (st->rejected) {
            json_object *ps = json_object_new_object();
            char n[24];
            snprintf(n, sizeof n, "%u", st->rejected); /* int64 fields are strings in OTLP/JSON */
            json_object_object_add(ps, "rejectedSpans", json_object_new_string(n));
            json_object_object_add(ps, "errorMessage", json_object_new_string(msg));
            json_object_object_add(o, "partialSuccess", ps);
        }
        size_t n;
        const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        enum MHD_Result ret = send_counted(r, c, q, 200, (void *)t, n, MHD_RESPMEM_MUST_COPY, "application/json", 0);
        json_object_put(o);
        return ret;
    }
    PbResponse resp;
    PbPartialSuccess ps;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&resp);
    opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&ps);
    if (st->rejected) {
        ps.rejected_spans = st->rejected;
        ps.error_message = msg;
        resp.partial_success = &ps;
    }
    uint8_t buf[512];
    size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    return send_counted(r, c, q, 200, buf, n, MHD_RESPMEM_MUST_COPY, "application/x-protobuf", 0);
}

static enum MHD_Result send_metrics(ig_receiver *r, struct MHD_Connection *c)
{
    ig_strbuf out = IG_STRBUF_INIT;
    ig_metrics_render(r->cfg.metrics, r->cfg.counters, &out);
    size_t len;
    char *text = ig_sb_detach(&out, &len);
    return queue_response(c, 200, new_response(200, text ? text : ig_xstrdup(""), len, MHD_RESPMEM_MUST_FREE,
                                               "text/plain; version=0.0.4; charset=utf-8", 0));
}

/* ---- headers ------------------------------------------------------------------------------ */

/* The media type without parameters equals `want` (case-insensitive). */
static bool media_type_is(const char *v, const char *want)
{
    size_t n = strlen(want);
    while (*v == ' ')
        v++;
    if (strncasecmp(v, want, n))
        return false;
    v += n;
    while (*v == ' ')
        v++;
    return *v == '\0' || *v == ';';
}

/* Counts n more body bytes of q against the in-flight budget; false when
 * that would exceed it, unless q is the only request holding bytes (one
 * body up to max_body always gets through). */
static bool reserve_inflight(ig_receiver *r, request *q, uint64_t n)
{
    uint64_t before = atomic_fetch_add(&r->inflight, n);
    if (before + n > r->cfg.max_inflight && before > q->reserved) {
        atomic_fetch_sub(&r->inflight, n);
        return false;
    }
    q->reserved += n;
    return true;
}

static enum MHD_Result send_too_large(ig_receiver *r, struct MHD_Connection *c, request *q)
{
    char msg[120];
    snprintf(msg, sizeof msg, "body larger than %zu bytes (--max-body)", r->cfg.max_body);
    return send_status(r, c, q, MHD_HTTP_CONTENT_TOO_LARGE, RPC_INVALID_ARGUMENT, msg, 0);
}

static enum MHD_Result send_too_many(ig_receiver *r, struct MHD_Connection *c, request *q)
{
    return send_status(r, c, q, MHD_HTTP_TOO_MANY_REQUESTS, RPC_RESOURCE_EXHAUSTED,
                       "too many request bodies in flight; retry later", 1);
}

/* Decides a POST /v1/traces from its headers; answers it when it can.
 * A body whose Content-Length is over the limit or over the in-flight
 * budget is refused here, now or at the end of the body (hold_answers):
 * libmicrohttpd never sends an answer queued in the middle of an upload
 * (0.9.75). */
static enum MHD_Result start_traces(ig_receiver *r, struct MHD_Connection *c, request *q)
{
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cenc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    q->json = ctype && media_type_is(ctype, "application/json");
    bool proto = ctype && (media_type_is(ctype, "application/x-protobuf") || media_type_is(ctype, "application/protobuf"));
    if (!q->json && !proto) {
        char msg[200];
        snprintf(msg, sizeof msg, "Content-Type '%.100s' is not supported: use application/x-protobuf or application/json",
                 ctype ? ctype : "");
        return send_status(r, c, q, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, RPC_INVALID_ARGUMENT, msg, 0);
    }
    if (cenc && !media_type_is(cenc, "identity")) {
        if (!media_type_is(cenc, "gzip")) {
            char msg[200];
            snprintf(msg, sizeof msg, "Content-Encoding '%.100s' is not supported: use gzip or none", cenc);
            return send_status(r, c, q, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, RPC_INVALID_ARGUMENT, msg, 0);
        }
        q->gzip = true;
    }
    uint64_t announced = clen ? strtoull(clen, NULL, 10) : 0;
    if (announced > r->cfg.max_body)
        return send_too_large(r, c, q);
    if (announced && !reserve_inflight(r, q, announced))
        return send_too_many(r, c, q);
    q->traces = true;
    if (announced) /* one allocation for the body when its size is announced */
        ig_sb_reserve(&q->body, announced + 1);
    return MHD_YES;
}

/* ---- body ------------------------------------------------------------------------------------ */

/* Frees what a refused body held, in memory and in the budget. */
static void drop_body(ig_receiver *r, request *q)
{
    atomic_fetch_sub(&r->inflight, q->reserved);
    q->reserved = 0;
    ig_sb_free(&q->body);
}

/* More than twice the limit: a refused body read on that far is cut off. */
static bool beyond_twice_limit(const ig_receiver *r, uint64_t n)
{
    return n > r->cfg.max_body && n - r->cfg.max_body > r->cfg.max_body;
}

/* n more bytes of a refused body, read on and dropped until its end; a
 * sender that goes on beyond twice the limit is cut off without an
 * answer, and counted as such. */
static enum MHD_Result discard_chunk(ig_receiver *r, request *q, size_t n)
{
    q->read += n;
    if (!beyond_twice_limit(r, q->read))
        return MHD_YES;
    atomic_fetch_add(&r->cfg.counters->requests_closed, 1);
    return MHD_NO;
}

/* Keeps a chunk of body, or decides to refuse the request (a chunked body
 * going over the limit or the budget: only known partway).  A refused
 * body is read on and dropped (discard_chunk), and the answer is queued
 * once it has all arrived (the only time after the headers when
 * libmicrohttpd sends one); a 429 becomes a 413 if the body turns out
 * too large. */
static enum MHD_Result take_chunk(ig_receiver *r, request *q, const char *data, size_t n)
{
    if (q->read + n > r->cfg.max_body)
        q->refusal = MHD_HTTP_CONTENT_TOO_LARGE;
    else if (!q->refusal && q->body.len + n > q->reserved && !reserve_inflight(r, q, q->body.len + n - q->reserved))
        q->refusal = MHD_HTTP_TOO_MANY_REQUESTS;
    if (!q->refusal) {
        q->read += n;
        ig_sb_append(&q->body, data, n);
        return MHD_YES;
    }
    drop_body(r, q);
    return discard_chunk(r, q, n);
}

/* The body, inflated when it is gzip; *plain may be the body itself. */
static enum MHD_Result inflate_body(ig_receiver *r, struct MHD_Connection *c, request *q, uint8_t **plain,
                                    size_t *len, bool *answered)
{
    *answered = false;
    *plain = (uint8_t *)(q->body.data ? q->body.data : "");
    *len = q->body.len;
    if (!q->gzip)
        return MHD_YES;
    ig_err err;
    if (ig_gunzip((const uint8_t *)*plain, *len, plain, len, r->cfg.max_body, &err) == 0)
        return MHD_YES;
    *answered = true;
    if (!strncmp(err.msg, "decompressed data larger", 24)) { /* ig_gunzip's message for its cap */
        char msg[120];
        snprintf(msg, sizeof msg, "inflated body larger than %zu bytes (--max-body)", r->cfg.max_body);
        return send_status(r, c, q, MHD_HTTP_CONTENT_TOO_LARGE, RPC_INVALID_ARGUMENT, msg, 0);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "gzip body: %s", err.msg);
    return send_status(r, c, q, MHD_HTTP_BAD_REQUEST, RPC_INVALID_ARGUMENT, msg, 0);
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Hands an accepted batch to the metrics, the forwarder and the writer. */
static enum MHD_Result accept_batch(ig_receiver *r, struct MHD_Connection *c, request *q, ig_batch *b,
                                    const ig_decode_stats *st)
{
    ig_collect_counters *k = r->cfg.counters;
    uint64_t bytes = ig_batch_bytes(b);
    ig_submit_result res = b->nspans ? ig_writer_reserve(r->cfg.writer, bytes) : IG_SUBMIT_OK;
    if (res != IG_SUBMIT_OK) {
        atomic_fetch_add(&k->spans_refused, b->nspans);
        ig_batch_free(b);
        int after = ig_writer_retry_after(r->cfg.writer);
        if (res == IG_SUBMIT_FULL)
            return send_status(r, c, q, MHD_HTTP_TOO_MANY_REQUESTS, RPC_RESOURCE_EXHAUSTED,
                               "the store's queue is full; retry later", after);
        return send_status(r, c, q, MHD_HTTP_SERVICE_UNAVAILABLE, RPC_UNAVAILABLE,
                           "the trace store cannot write (disk full?); retry later", after);
    }
    atomic_fetch_add(&k->spans_accepted, b->nspans);
    if (r->cfg.forwarder && b->nspans)
        ig_forwarder_submit(r->cfg.forwarder, q->body.data, q->body.len, q->json, q->gzip, st->spans);
    if (b->nspans) {
        b->received_ns = wall_ns();
        ig_metrics_observe(r->cfg.metrics, b);
        ig_writer_push(r->cfg.writer, b, bytes);
    } else {
        ig_batch_free(b);
    }
    return send_success(r, c, q, st);
}

static enum MHD_Result finish_traces(ig_receiver *r, struct MHD_Connection *c, request *q)
{
    uint8_t *plain;
    size_t len;
    bool answered;
    enum MHD_Result ret = inflate_body(r, c, q, &plain, &len, &answered);
    if (answered)
        return ret;
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = q->json ? ig_decode_json((const char *)plain, len, &st, &err) : ig_decode_proto(plain, len, &st, &err);
    if (plain != (uint8_t *)q->body.data && q->gzip)
        free(plain);
    if (!b)
        return send_status(r, c, q, MHD_HTTP_BAD_REQUEST, RPC_INVALID_ARGUMENT, err.msg, 0);
    atomic_fetch_add(&r->cfg.counters->spans_received, st.spans);
    atomic_fetch_add(&r->cfg.counters->spans_rejected, st.rejected);
    return accept_batch(r, c, q, b, &st);
}

/* ---- the handler ------------------------------------------------------------------------------- */

/* Notes a Content-Length header that differs from the first one seen. */
static enum MHD_Result note_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    const char **first = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        return MHD_YES;
    if (!*first) {
        *first = value;
        return MHD_YES;
    }
    if (strcmp(*first, value)) {
        *first = NULL; /* conflicting: stop */
        return MHD_NO;
    }
    return MHD_YES;
}

/* Two Content-Length headers with different values (RFC 9112 6.3: a
 * request to refuse, as a proxy in front may have framed the body by the
 * other one).  Identical repeats are accepted. */
static bool lengths_conflict(struct MHD_Connection *c)
{
    const char *first = NULL;
    MHD_get_connection_values(c, MHD_HEADER_KIND, note_length, &first);
    return first == NULL && MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) != NULL;
}

/* Does the sender wait for "100 Continue" before it sends the body? */
static bool expects_continue(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return v && media_type_is(v, "100-continue");
}

/* Do answers decided from these headers wait for the end of the body?
 * A sender that waits for "100 Continue" gets them now, before it sends
 * the body: libmicrohttpd sends an answer queued with the headers and
 * closes the connection.  One that does not is already writing its body:
 * answered now, the connection would close with the body unread and the
 * kernel's reset could throw the answer away before the sender reads it.
 * So its body is read on and discarded (discard_chunk: nothing kept,
 * nothing reserved) and the answer goes out at its end (send_held), as
 * for a chunked body refused partway.  Answered now all the same: a
 * request without a body, one whose body is announced beyond twice
 * --max-body (discard_chunk would cut it off: the best that can be done),
 * and one with conflicting Content-Length headers, whose body's end is
 * in doubt. */
static bool hold_answers(const ig_receiver *r, struct MHD_Connection *c)
{
    const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    bool chunked = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
    uint64_t announced = clen ? strtoull(clen, NULL, 10) : 0;
    if (expects_continue(c) || (!announced && !chunked) || beyond_twice_limit(r, announced))
        return false;
    return !lengths_conflict(c);
}

static enum MHD_Result route(ig_receiver *r, struct MHD_Connection *c, request *q, const char *url, const char *method)
{
    if (lengths_conflict(c))
        return send_status(r, c, q, MHD_HTTP_BAD_REQUEST, RPC_INVALID_ARGUMENT,
                           "conflicting Content-Length headers", 0);
    if (!strcmp(url, "/v1/traces")) {
        if (strcmp(method, MHD_HTTP_METHOD_POST))
            return send_status(r, c, q, MHD_HTTP_METHOD_NOT_ALLOWED, RPC_INVALID_ARGUMENT, "use POST", 0);
        return start_traces(r, c, q);
    }
    if (!strcmp(url, "/metrics") && (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD))) {
        q->answered = true;
        return send_metrics(r, c);
    }
    static const char nf[] = "not found: ignis collect serves POST /v1/traces and GET /metrics\n";
    return send_counted(r, c, q, MHD_HTTP_NOT_FOUND, (void *)nf, sizeof nf - 1, MHD_RESPMEM_PERSISTENT, "text/plain", 0);
}

static ig_conn *connection_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    ig_receiver *r = cls;
    (void)version;
    static __thread bool reniced;
    if (!reniced) { /* see the top comment */
        reniced = true;
        setpriority(PRIO_PROCESS, (id_t)gettid(), HTTP_NICE);
    }
    request *q = *con_cls;
    if (!q) {
        q = *con_cls = ig_xcalloc(1, sizeof *q);
        q->conn = connection_of(c);
        if (q->conn)
            ig_conn_headers_done(r->conns, q->conn, ig_conns_now());
        q->hold = hold_answers(r, c);
        enum MHD_Result ret = route(r, c, q, url, method);
        q->hold = false; /* only the answers decided from the headers */
        return ret;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (q->conn)
            ig_conn_body_read(r->conns, q->conn, n);
        if (q->held)
            return discard_chunk(r, q, n);
        if (q->answered || !q->traces)
            return MHD_YES; /* the answer is out; the rest is discarded */
        return take_chunk(r, q, upload, n);
    }
    if (q->conn)
        ig_conn_body_done(q->conn);
    if (q->held)
        return send_held(r, c, q);
    if (q->answered || !q->traces)
        return MHD_YES;
    if (q->refusal == MHD_HTTP_CONTENT_TOO_LARGE)
        return send_too_large(r, c, q);
    if (q->refusal)
        return send_too_many(r, c, q);
    return finish_traces(r, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    ig_receiver *r = cls;
    (void)c;
    (void)toe;
    request *q = *con_cls;
    if (!q)
        return;
    if (q->conn)
        ig_conn_answered(r->conns, q->conn, ig_conns_now());
    atomic_fetch_sub(&r->inflight, q->reserved);
    ig_sb_free(&q->body);
    if (q->held) /* cut off, or the sender went away */
        MHD_destroy_response(q->held);
    free(q);
    *con_cls = NULL;
}

/* A connection's place in r->conns: found by its descriptor when
 * libmicrohttpd starts it (the acceptor admitted it), released when it
 * closes it, before its descriptor is closed. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
    ig_receiver *r = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = i ? ig_conns_find(r->conns, i->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        ig_conns_release(r->conns, *socket_context);
        *socket_context = NULL;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

/* Resolves "ADDR:PORT" ("[v6]:PORT") to one socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, socklen_t *salen, ig_err *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return ig_err_set(err, "--listen %s: expected ADDR:PORT (e.g. 127.0.0.1:4318)", listen);
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (*h == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return ig_err_set(err, "--listen %s: address too long", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return ig_err_set(err, "--listen %s: invalid port", listen);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0)
        return ig_err_set(err, "--listen %s: %s", listen, gai_strerror(rc));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* A listening socket on sa, or -1. */
static int listen_on(const struct sockaddr_storage *sa, socklen_t salen)
{
    /* non-blocking: a connection reset between poll and accept must not
     * leave the acceptor blocked in accept, where stop cannot wake it */
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (sa->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, (const struct sockaddr *)sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port : ((struct sockaddr_in *)&sa)->sin_port);
}

enum wake { WAKE_STOP, WAKE_CONNECTION, WAKE_TIMEOUT };

/* Waits for the receiver to stop, for a connection (unless listen is
 * false) or for timeout_ms (-1: no timeout). */
static enum wake wait_for(ig_receiver *r, bool listen, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = r->wake[0], .events = POLLIN}, {.fd = r->listen_fd, .events = POLLIN}};
    for (;;) {
        int n = poll(p, listen ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (p[0].revents)
            return WAKE_STOP;
        return n == 0 ? WAKE_TIMEOUT : WAKE_CONNECTION; /* or a poll error: accept tells */
    }
}

/* Milliseconds from now to deadline, rounded up (-1: no deadline). */
static int ms_until(uint64_t deadline, uint64_t now)
{
    if (deadline == UINT64_MAX)
        return -1;
    uint64_t ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Accepts one connection and hands it to the daemon; false when out of
 * descriptors or memory (the caller pauses). */
static bool accept_one(ig_receiver *r, uint64_t now)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(r->listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return !(errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM);
    ig_conn *c = ig_conns_admit(r->conns, fd, (const struct sockaddr *)&sa, len, now);
    if (!c) { /* its host is over its share, all of it busy */
        close(fd);
        return true;
    }
    if (MHD_add_connection(r->d, fd, (const struct sockaddr *)&sa, len) != MHD_YES) /* closes fd */
        ig_conns_release(r->conns, c);
    return true;
}

/* Cuts the connections past their deadlines; when to look again: at the
 * nearest deadline, and while connections are open at least every
 * SWEEP_MS (a request's progress can bring a deadline nearer, or give one
 * to a connection that had none: the end of its headers starts the
 * body's, an answer sent the idle one). */
static uint64_t sweep_next(ig_receiver *r, uint64_t now)
{
    uint64_t next = ig_conns_sweep(r->conns, now), soon = now + SWEEP_MS * 1000000ull;
    return ig_conns_live(r->conns) && next > soon ? soon : next;
}

/* The acceptor thread: every connection goes to the daemon, which picks
 * its HTTP thread.  Between connections it cuts those past their
 * deadlines (sweep_next).  With no room even after evicting
 * (every connection in the middle of a request), it stops listening for
 * a moment; out of descriptors or memory, it pauses rather than spinning
 * on the connection it cannot take. */
static void *accept_main(void *arg)
{
    ig_receiver *r = arg;
    pthread_setname_np(pthread_self(), "ig-accept"); /* in top -H and /proc */
    uint64_t next = UINT64_MAX; /* the nearest deadline known */
    bool full = false;
    for (;;) {
        uint64_t now = ig_conns_now();
        if (now >= next)
            next = sweep_next(r, now);
        int ms = ms_until(next, now);
        if (full && (ms < 0 || ms > FULL_RETRY_MS))
            ms = FULL_RETRY_MS;
        enum wake w = wait_for(r, !full, ms);
        if (w == WAKE_STOP)
            break;
        full = false;
        if (w != WAKE_CONNECTION)
            continue;
        now = ig_conns_now();
        if (!ig_conns_make_room(r->conns, now)) {
            full = true;
            continue;
        }
        if (now + SWEEP_MS * 1000000ull < next)
            next = now + SWEEP_MS * 1000000ull;
        if (!accept_one(r, now) && wait_for(r, false, ACCEPT_BACKOFF_MS) == WAKE_STOP)
            break;
    }
    return NULL;
}

/* The limits of cfg, defaults where it leaves them 0. */
static ig_conn_limits conn_limits(const ig_receiver_config *cfg)
{
    ig_conn_limits l = {
        .max = cfg->max_connections ? cfg->max_connections : MAX_CONNECTIONS,
        .header_timeout_ns = (cfg->header_timeout_s ? cfg->header_timeout_s : HEADER_TIMEOUT_S) * 1000000000ull,
        .body_timeout_ns = (cfg->body_timeout_s ? cfg->body_timeout_s : BODY_TIMEOUT_S) * 1000000000ull,
        .min_body_rate = MIN_BODY_RATE,
        .idle_timeout_ns = IDLE_TIMEOUT_S * 1000000000ull,
    };
    l.per_host = l.max / PER_HOST_SHARE ? l.max / PER_HOST_SHARE : 1;
    return l;
}

ig_receiver *ig_receiver_start(const ig_receiver_config *cfg, ig_err *err)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    if (parse_listen(cfg->listen, &sa, &salen, err) < 0)
        return NULL;
    ig_receiver *r = ig_xcalloc(1, sizeof *r);
    r->cfg = *cfg;
    if (!r->cfg.threads)
        r->cfg.threads = 2;
    r->wake[0] = r->wake[1] = -1;
    if ((r->listen_fd = listen_on(&sa, salen)) < 0) {
        ig_err_set(err, "--listen %s: cannot listen there (%s)", cfg->listen, strerror(errno));
        free(r);
        return NULL;
    }
    r->port = bound_port(r->listen_fd);
    r->lim = conn_limits(cfg);
    r->conns = ig_conns_new(&r->lim, &r->cfg.counters->conns_cut);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    r->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, r, MHD_OPTION_THREAD_POOL_SIZE, r->cfg.threads,
                            MHD_OPTION_CONNECTION_LIMIT, r->lim.max * 2 * r->cfg.threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_MHD_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, r, MHD_OPTION_END);
    if (!r->d || pipe2(r->wake, O_CLOEXEC) < 0 || pthread_create(&r->acceptor, NULL, accept_main, r) != 0) {
        ig_err_set(err, "--listen %s: cannot start the HTTP threads", cfg->listen);
        if (r->d)
            MHD_stop_daemon(r->d);
        if (r->wake[0] >= 0) {
            close(r->wake[0]);
            close(r->wake[1]);
        }
        close(r->listen_fd);
        ig_conns_free(r->conns);
        free(r);
        return NULL;
    }
    return r;
}

int ig_receiver_port(const ig_receiver *r)
{
    return r->port;
}

void ig_receiver_stop(ig_receiver *r)
{
    if (!r)
        return;
    while (write(r->wake[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(r->acceptor, NULL);
    close(r->listen_fd); /* no new connections; those open finish below */
    MHD_stop_daemon(r->d);
    close(r->wake[0]);
    close(r->wake[1]);
    ig_conns_free(r->conns);
    free(r);
}
