/*
 * bench/collect_request.h — OTLP/HTTP protobuf request bodies like
 * libignis's, built once for the collector benchmarks
 * (bench/collect_ingest.c, bench/collect_send.c).
 *
 * A body is one ExportTraceServiceRequest: one resource with the SDK's
 * attributes, one scope, BENCH_PER_REQUEST spans in traces of
 * BENCH_PER_TRACE (a SERVER root and CLIENT/INTERNAL children with five
 * attributes).  The body remembers where each trace id and each span's
 * start and end time sit in it, so a sender can give every copy it sends
 * new trace ids and current times in place (bench_request_new_traces)
 * instead of encoding again: the collector sees new traces that start in
 * time order, as from live services.
 */
#ifndef IG_BENCH_COLLECT_REQUEST_H
#define IG_BENCH_COLLECT_REQUEST_H

#include <stddef.h>
#include <stdint.h>

enum { BENCH_PER_REQUEST = 512, BENCH_PER_TRACE = 20 };

typedef struct bench_request {
    uint8_t *body;
    size_t len;
    size_t *id_at;   /* offsets of the trace ids' 16 bytes, trace after trace */
    size_t nids;     /* entries of id_at */
    int per_trace[BENCH_PER_REQUEST / BENCH_PER_TRACE + 1]; /* occurrences of each trace's id */
    int ntraces;
    size_t time_at[2 * BENCH_PER_REQUEST]; /* offsets of the spans' start and end times */
    uint64_t times[2 * BENCH_PER_REQUEST]; /* their values, relative to the request's first start */
} bench_request;

/* Builds request `number` (its start times follow the number's) of
 * service `service`; exits on allocation failure. */
void bench_request_build(bench_request *r, int number, const char *service);

/* Writes new random trace ids (never all zero) over every trace of the
 * body, and times that start at start_ns; *rng is the caller's generator
 * state. */
void bench_request_new_traces(bench_request *r, uint64_t *rng, uint64_t start_ns);

/* The current time (CLOCK_REALTIME) in nanoseconds since the epoch. */
uint64_t bench_now_ns(void);

/* Fills p with n pseudo-random bytes, the first never zero. */
void bench_random_bytes(uint8_t *p, size_t n, uint64_t *rng);

#endif
