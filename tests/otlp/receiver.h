/*
 * tests/otlp/receiver.h — a loopback OTLP/HTTP receiver for tests and the
 * export benchmark.  Test files include tests/otlp/receiver.c directly
 * (one translation unit; link with libmicrohttpd via TEST_PKGS).
 */
#ifndef IG_TESTS_OTLP_RECEIVER_H
#define IG_TESTS_OTLP_RECEIVER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest RcvRequest;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans RcvResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans RcvScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span RcvSpan;
typedef Opentelemetry__Proto__Common__V1__KeyValue RcvKV;
typedef Opentelemetry__Proto__Common__V1__AnyValue RcvAny;

typedef struct rcv rcv;

/* One received span with its resource and scope (pointers valid until
 * rcv_stop). */
typedef struct rcv_span {
    const RcvResourceSpans *rs;
    const RcvScopeSpans *ss;
    const RcvSpan *span;
} rcv_span;

/* Starts listening on 127.0.0.1 (ephemeral port).  count_only: decode
 * each request only down to its spans (left as bytes) to count them, then
 * drop it (benchmarks: keeps up, memory stays flat); otherwise requests
 * are fully decoded and kept for rcv_spans.  NULL on failure. */
rcv *rcv_start(bool count_only);
void rcv_stop(rcv *r);
int rcv_port(const rcv *r);
/* "http://127.0.0.1:PORT/v1/traces" */
const char *rcv_url(const rcv *r);

/* The next `times` requests get `status` (with Retry-After when
 * retry_after is non-NULL) and are not recorded.  Calls queue up. */
void rcv_script(rcv *r, int status, const char *retry_after, int times);
/* Every later POST is answered `ms` milliseconds late (a slow collector). */
void rcv_set_delay(rcv *r, int ms);
/* Successful responses carry partial_success{rejected, msg} (0: none). */
void rcv_set_partial_success(rcv *r, int64_t rejected, const char *msg);
/* Remember the value of this request header (last request wins). */
void rcv_capture_header(rcv *r, const char *name);
/* Copy of the captured header value ("" if absent). */
void rcv_captured(rcv *r, char *buf, size_t len);

/* Counters. */
size_t rcv_posts(rcv *r);        /* every POST, scripted ones included */
size_t rcv_accepted(rcv *r);     /* requests answered 2xx */
size_t rcv_span_count(rcv *r);   /* spans in accepted requests */
size_t rcv_connections(rcv *r);  /* TCP connections accepted */
size_t rcv_gzip_posts(rcv *r);   /* POSTs with Content-Encoding: gzip */
size_t rcv_json_posts(rcv *r);   /* POSTs with Content-Type: application/json */
uint64_t rcv_bytes(rcv *r);      /* body bytes received */
size_t rcv_refused_spans(rcv *r); /* spans in POSTs answered by the script */

/* Waits (bounded) until at least n spans / n posts arrived; false on timeout. */
bool rcv_wait_spans(rcv *r, size_t n, int timeout_ms);
bool rcv_wait_posts(rcv *r, size_t n, int timeout_ms);

/* Snapshot of all spans decoded so far (malloc'd array, caller frees). */
size_t rcv_spans(rcv *r, rcv_span **out);
/* Accepted JSON request bodies, parsed (borrowed, valid until rcv_stop). */
size_t rcv_json_requests(rcv *r, json_object ***out);

/* Attribute lookups in a KeyValue list: NULL / false when absent. */
const RcvAny *rcv_attr(RcvKV *const *kv, size_t n, const char *key);
const char *rcv_attr_str(RcvKV *const *kv, size_t n, const char *key);
bool rcv_attr_int(RcvKV *const *kv, size_t n, const char *key, int64_t *out);

#endif
