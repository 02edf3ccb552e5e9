/*
 * collect/forward.h — `ignis collect --forward URL`: every accepted
 * request is sent on, unchanged (same bytes, content type and encoding),
 * to an upstream OTLP/HTTP endpoint, so `ignis collect` can sit in front
 * of a real Collector.
 *
 * The receiver queues a copy of the body and returns; one thread posts
 * the queue in order through the project's OTLP/HTTP exporter
 * (exporters/otlp_http.c: kept-alive libcurl handle, retries on 429, 502,
 * 503, 504 and transport errors with backoff and jitter or Retry-After,
 * one deadline per request; OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and
 * _CERTIFICATE apply).  The queue is bounded in bytes; a body that does
 * not fit, or that the upstream refuses or never takes, is counted in
 * spans_forward_failed and reported once per change of state — the local
 * store is not held up by a slow upstream.
 */
#ifndef IG_COLLECT_FORWARD_H
#define IG_COLLECT_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/metrics.h"
#include "utils/err.h"

typedef struct ig_forwarder ig_forwarder;

/* url: the upstream's full traces URL (http:// or https://). */
ig_forwarder *ig_forwarder_start(const char *url, uint64_t max_queue_bytes, ig_collect_counters *counters,
                                 void (*log)(const char *msg), ig_err *err);

/* Queues a copy of a request body of nspans spans (thread-safe, never
 * blocks).  False when the queue is full (the spans count as failed). */
bool ig_forwarder_submit(ig_forwarder *f, const void *body, size_t len, bool json, bool gzip, uint32_t nspans);

/* Sends what is queued until deadline_ms from now, counts the rest as
 * failed, and stops. */
void ig_forwarder_stop(ig_forwarder *f, int deadline_ms);

#endif
