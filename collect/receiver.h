/*
 * collect/receiver.h — the OTLP/HTTP receiver of `ignis collect`
 * (libmicrohttpd).
 *
 *   POST /v1/traces  protobuf (application/x-protobuf) or JSON
 *                    (application/json), optionally Content-Encoding: gzip
 *   GET  /metrics    Prometheus text exposition (collect/metrics.h)
 *
 * Answers follow the OTLP/HTTP specification: 200 with an
 * ExportTraceServiceResponse (partial_success when spans were rejected),
 * 400 with a google.rpc.Status for a malformed body, 413 above max_body
 * (compressed or inflated: the inflated size is capped while inflating),
 * 415 for another content type or encoding, 429 (queue full, or too many
 * bodies in flight) and 503 (the store cannot write) with Retry-After.
 * Two Content-Length headers that differ get 400.
 * Slow clients are cut: total deadlines for a request's headers and body,
 * the oldest waiting connection closed when all are taken, a share of
 * them per peer address (collect/conns.h).
 * Responses use the request's encoding.  A request is acknowledged only
 * once its batch is queued for the store, so nothing answered 200 is
 * dropped silently.
 */
#ifndef IG_COLLECT_RECEIVER_H
#define IG_COLLECT_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "collect/forward.h"
#include "collect/metrics.h"
#include "collect/writer.h"
#include "utils/err.h"

typedef struct ig_receiver ig_receiver;

typedef struct ig_receiver_config {
    const char *listen;          /* "ADDR:PORT" (ADDR may be a name or [IPv6]; PORT 0 = any) */
    size_t max_body;             /* bytes, compressed and inflated */
    uint64_t max_inflight;       /* request bodies held at once (429 beyond) */
    unsigned threads;            /* HTTP threads (0: 2) */
    ig_writer *writer;
    ig_forwarder *forwarder;     /* or NULL */
    ig_metrics *metrics;
    ig_collect_counters *counters;
    unsigned max_connections;    /* open at most (0: 1000); see collect/conns.h */
    unsigned header_timeout_s;   /* accept -> end of headers (0: 10) */
    unsigned body_timeout_s;     /* end of headers -> end of body, plus 1 s per 64 KiB (0: 10) */
} ig_receiver_config;

/* Binds and starts serving; NULL with err set ("--listen ADDR: reason"). */
ig_receiver *ig_receiver_start(const ig_receiver_config *cfg, ig_err *err);

/* The port bound (useful with port 0). */
int ig_receiver_port(const ig_receiver *r);

/* Stops accepting, waits for requests in progress, releases everything. */
void ig_receiver_stop(ig_receiver *r);

#endif
