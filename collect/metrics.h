/*
 * collect/metrics.h — what `ignis collect` serves on GET /metrics.
 *
 * Span-duration histograms per (service, span name, span kind, status
 * code) with the OpenTelemetry spanmetrics default boundaries
 * (ig_span_bounds_s, collect/store.h), named and labelled like the
 * Collector's spanmetrics connector exports them to Prometheus:
 *
 *   ignis_span_duration_seconds_bucket{service_name="api",span_name="GET /",
 *       span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",le="0.002"} 3
 *   ..._sum, ..._count
 *
 * and the collector's own counters (spans received, rejected, stored,
 * forwarded, dropped, requests by HTTP status, queue gauges).  The number
 * of histogram series is capped (hostile span names cannot grow memory
 * without bound); spans beyond the cap go to one overflow series labelled
 * otel_metric_overflow="true", as spanmetrics does.
 */
#ifndef IG_COLLECT_METRICS_H
#define IG_COLLECT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/batch.h"
#include "collect/conns.h"
#include "utils/strbuf.h"

/* Counters shared by the receiver, the writer and the forwarder. */
typedef struct ig_collect_counters {
    _Atomic uint64_t spans_received;   /* spans in decoded requests */
    _Atomic uint64_t spans_rejected;   /* invalid spans (partial_success) */
    _Atomic uint64_t spans_refused;    /* spans in requests answered 429/503 (the client retries) */
    _Atomic uint64_t spans_accepted;   /* acknowledged with 200: queued for the store */
    _Atomic uint64_t spans_stored;     /* committed to the store */
    _Atomic uint64_t spans_dropped;    /* accepted but never stored (store failure at exit) */
    _Atomic uint64_t spans_forwarded;  /* accepted by the upstream */
    _Atomic uint64_t spans_forward_failed; /* not forwarded: upstream down or refusing, queue full */
    _Atomic uint64_t spans_deleted;    /* removed by retention */
    _Atomic uint64_t traces_deleted;
    _Atomic uint64_t queue_spans, queue_bytes; /* waiting for the writer */
    _Atomic uint64_t store_retries;    /* transactions that failed and will be retried (disk full) */
    _Atomic uint64_t requests[6];      /* by status: 200, 400, 413, 415, 429, 503 */
    _Atomic uint64_t requests_other;   /* 404, 405, 500 */
    _Atomic uint64_t requests_closed;  /* cut off unanswered: a refused body went on too long */
    ig_conn_cuts conns_cut;            /* connections cut: slow, evicted, refused (collect/conns.h) */
} ig_collect_counters;

/* Counts one answered request in counters->requests. */
void ig_collect_count_status(ig_collect_counters *c, unsigned status);

typedef struct ig_metrics ig_metrics;

/* max_series bounds the histogram series (>= 1). */
ig_metrics *ig_metrics_new(size_t max_series);
void ig_metrics_free(ig_metrics *m);

/* Adds every span of an accepted batch to its histogram (thread-safe). */
void ig_metrics_observe(ig_metrics *m, const ig_batch *b);

/* Appends the Prometheus text exposition (format 0.0.4) of the
 * histograms and of counters. */
void ig_metrics_render(ig_metrics *m, const ig_collect_counters *counters, ig_strbuf *out);

#endif
