/*
 * exporters/otlp.h — OTLP trace exporters (HTTP protobuf, HTTP JSON, and
 * OTLP-JSON lines files) behind the ig_exporter contract of
 * libtrace/export.h.
 *
 * The SDK chooses an exporter from OTEL_TRACES_EXPORTER and calls one of
 * these constructors; everything protocol-specific (endpoint resolution,
 * headers, timeout, compression, retry with backoff, partial_success)
 * lives behind them.
 *
 * The second half of this header is internal to exporters/, tests/otlp and
 * bench/: the encoders, the configuration parsers (each one fuzzed), the
 * signal-agnostic OTLP/HTTP sender (ig_otlp_sender: one HTTP client for
 * spans and profiles) and a constructor taking an explicit configuration.
 */
#ifndef IG_EXPORTERS_OTLP_H
#define IG_EXPORTERS_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "libtrace/export.h"
#include "utils/err.h"
#include "utils/strbuf.h"

/* OTLP/HTTP exporter configured from the standard environment variables
 * (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _PROTOCOL (http/protobuf default,
 * http/json), _HEADERS, _TIMEOUT, _COMPRESSION, and for https
 * _CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY).  NULL with err set on an
 * invalid setting that cannot be defaulted. */
ig_exporter *ig_otlp_http_exporter_from_env(ig_err *err);

/* OTLP-JSON lines file exporter: one ExportTraceServiceRequest per line,
 * as the OpenTelemetry Collector's file exporter writes. */
ig_exporter *ig_otlp_file_exporter_new(const char *path, ig_err *err);

/* ---- internal: encoding (exporters/otlp_encode.c) ------------------------ */

/* Scratch memory reused across batches so encoding a batch does not call
 * malloc per span.  Zero-initialise; release with ig_otlp_arena_free(). */
typedef struct ig_otlp_arena {
    struct ig_otlp_chunk *chunks;
    char *cur, *end;
    ig_strbuf spans; /* packed spans of the batch being encoded */
    struct ig_otlp_kvcache *kv; /* packed attributes seen before (otlp_encode.c) */
    size_t grown;    /* bytes added by U+FFFD replacement in the span being packed */
} ig_otlp_arena;

void ig_otlp_arena_free(ig_otlp_arena *a);

/* Appends the protobuf ExportTraceServiceRequest for n spans (grouped by
 * resource, then scope, in first-seen order) to out. */
void ig_otlp_encode_proto(const ig_span_data *const *spans, size_t n, ig_otlp_arena *a, ig_strbuf *out);

/* Appends the same request in the OTLP/JSON mapping (one line, no newline). */
void ig_otlp_encode_json(const ig_span_data *const *spans, size_t n, ig_strbuf *out);

/* Reads partial_success from an ExportTraceServiceResponse body (protobuf
 * or JSON).  Sets *rejected (0 when absent) and copies error_message into
 * msg.  Returns 0, or -1 with err set when the body does not parse (an
 * empty body is a valid empty response). */
int ig_otlp_parse_response(const uint8_t *body, size_t len, bool json, int64_t *rejected,
                           char *msg, size_t msglen, ig_err *err);

/* ---- internal: configuration (exporters/otlp_config.c) ------------------- */

typedef struct ig_otlp_config {
    char *url;           /* full POST URL */
    bool json;           /* http/json instead of http/protobuf */
    bool gzip;           /* Content-Encoding: gzip */
    int timeout_ms;      /* per export, including retries */
    char **headers;      /* "Name: value" lines */
    size_t nheaders;
    int retry_base_ms;   /* first backoff delay */
    int retry_max_ms;    /* backoff ceiling */
    int retry_max_attempts; /* attempts in total, >= 1 */
    char *ca_file;       /* _CERTIFICATE: PEM trust roots for https, or NULL */
    char *client_cert;   /* _CLIENT_CERTIFICATE (mTLS), or NULL */
    char *client_key;    /* _CLIENT_KEY (mTLS), or NULL */
} ig_otlp_config;

/* Called with one line per ignored setting or entry (no trailing newline). */
typedef void ig_otlp_warn_fn(void *ctx, const char *msg);

/* Parses OTEL_EXPORTER_OTLP_HEADERS syntax: `k=v,k2=v2`, optional spaces
 * around keys and values, values percent-decoded.  Entries with an invalid
 * key (not an HTTP token), no '=', bad percent-encoding or a decoded CR, LF
 * or NUL are reported through warn and skipped.  Appends "Key: value"
 * lines to cfg->headers; returns the number of entries skipped. */
int ig_otlp_parse_headers(const char *s, const char *what, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx);

/* A signal: the name in its OTEL_EXPORTER_OTLP_<NAME>_* variables and the
 * path appended to a base endpoint. */
typedef struct ig_otlp_signal {
    const char *env_name; /* "TRACES", "PROFILES" */
    const char *path;     /* "v1/traces", "v1development/profiles" */
} ig_otlp_signal;

extern const ig_otlp_signal ig_otlp_traces, ig_otlp_profiles;

/* The signal's URL: a non-empty signal endpoint as-is, else base (default
 * http://localhost:4318) + "/" + the signal's path.  NULL with err set
 * when the URL is not http:// or https://.  Caller frees. */
char *ig_otlp_signal_url(const ig_otlp_signal *sig, const char *signal_endpoint, const char *base_endpoint,
                         ig_err *err);

/* ig_otlp_signal_url for traces ("/v1/traces"). */
char *ig_otlp_traces_url(const char *traces_endpoint, const char *base_endpoint, ig_err *err);

/* Parses a Retry-After header value: delta-seconds or an HTTP-date
 * (relative to now).  Returns the delay in ms (>= 0), or -1 if invalid. */
int64_t ig_otlp_parse_retry_after(const char *value, time_t now);

/* Fills cfg for a signal from the environment (its
 * OTEL_EXPORTER_OTLP_<SIGNAL>_* variables winning over the general ones),
 * warning (through warn) about settings it replaces by their defaults.
 * Returns 0 or -1 with err set. */
int ig_otlp_config_from_env_for(const ig_otlp_signal *sig, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx,
                                ig_err *err);

/* ig_otlp_config_from_env_for(&ig_otlp_traces, ...). */
int ig_otlp_config_from_env(ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx, ig_err *err);

void ig_otlp_config_free(ig_otlp_config *cfg);

/* The default warning sink: the SDK's logger (ignis_trace_set_logger). */
void ig_otlp_warn_log(void *ctx, const char *msg);

/* ---- internal: the OTLP/HTTP sender (exporters/otlp_http.c) --------------- */

/* One HTTP client for every signal: the configured URL, headers, TLS
 * files, content type and encoding, one kept-alive CURL handle run
 * through a multi handle (so cancel() interrupts it), retries with
 * backoff or Retry-After inside one deadline.  Not thread-safe: one
 * caller at a time (cancel() may come from any thread). */
typedef struct ig_otlp_sender ig_otlp_sender;

/* How a post ended. */
typedef enum ig_otlp_outcome {
    IG_OTLP_SENT = 0,      /* a 2xx answer */
    IG_OTLP_REFUSED = 1,   /* an answer the spec says not to retry (400, 404, 413, ...) */
    IG_OTLP_FAILED = 2,    /* retries, transport errors or the deadline exhausted */
    IG_OTLP_CANCELLED = 3, /* ig_otlp_sender_cancel() */
} ig_otlp_outcome;

/* What the caller learns of a post: the last answer and what happened. */
typedef struct ig_otlp_post {
    long status;              /* HTTP status of the last answer, 0 when none came */
    int retries;              /* waits before another attempt */
    char why[512];            /* why it was not sent ("HTTP status 503", curl's reason, "export timeout") */
    const uint8_t *body;      /* the last answer's body (at most 1 MiB kept), valid until the next post */
    size_t body_len;
    char content_type[96];    /* the last answer's Content-Type, "" if none */
} ig_otlp_post;

/* A sender for cfg (copied); NULL with err set when the URL is missing
 * or libcurl cannot be initialised. */
ig_otlp_sender *ig_otlp_sender_new(const ig_otlp_config *cfg, ig_err *err);

/* The configuration the sender uses (its own copy). */
const ig_otlp_config *ig_otlp_sender_config(const ig_otlp_sender *s);

/* Posts body, already in the configured content type and encoding,
 * retrying 429/502/503/504 and transport errors until deadline_ms
 * (CLOCK_MONOTONIC, ig_otlp_now_ms()) or the configured attempts. */
ig_otlp_outcome ig_otlp_sender_post(ig_otlp_sender *s, const void *body, size_t len, int64_t deadline_ms,
                                    ig_otlp_post *r);

/* ig_otlp_sender_post of raw bytes compressed first when the
 * configuration says gzip. */
ig_otlp_outcome ig_otlp_sender_send(ig_otlp_sender *s, const void *raw, size_t len, int64_t deadline_ms,
                                    ig_otlp_post *r);

/* Ends the post or wait in progress and every later one (any thread). */
void ig_otlp_sender_cancel(ig_otlp_sender *s);
bool ig_otlp_sender_cancelled(const ig_otlp_sender *s);

/* In a fork child: abandons the parent's CURL handles (see otlp_http.c). */
void ig_otlp_sender_after_fork_child(ig_otlp_sender *s);

void ig_otlp_sender_free(ig_otlp_sender *s);

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline here. */
int64_t ig_otlp_now_ms(void);

/* ---- internal: exporters -------------------------------------------------- */

/* Delay before retry number `attempt` (1 = first retry): base doubled per
 * attempt up to max, with "equal jitter" (uniform in [d/2, d]) drawn from
 * the LCG state *rng so that clients desynchronise. */
int64_t ig_otlp_backoff_ms(int base_ms, int max_ms, int attempt, uint64_t *rng);

/* OTLP/HTTP exporter with an explicit configuration (copied). */
ig_exporter *ig_otlp_http_exporter_new(const ig_otlp_config *cfg, ig_err *err);

/* Posts an already encoded request body of nspans spans (in the
 * exporter's content type and encoding) with the same retries, deadline
 * and counters as an export; `ignis collect --forward` sends what it
 * received this way.  IG_EXPORT_OK or IG_EXPORT_FAILED. */
int ig_otlp_http_send_body(ig_exporter *e, const void *body, size_t len, size_t nspans, int timeout_ms);

#endif
