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
 * bench/: the encoders, the configuration parsers (each one fuzzed) and a
 * constructor taking an explicit configuration.
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

/* The traces URL: a non-empty traces endpoint as-is, else base (default
 * http://localhost:4318) + "/v1/traces".  NULL with err set when the URL
 * is not http:// or https://.  Caller frees. */
char *ig_otlp_traces_url(const char *traces_endpoint, const char *base_endpoint, ig_err *err);

/* Parses a Retry-After header value: delta-seconds or an HTTP-date
 * (relative to now).  Returns the delay in ms (>= 0), or -1 if invalid. */
int64_t ig_otlp_parse_retry_after(const char *value, time_t now);

/* Fills cfg from the environment, warning (through warn) about settings
 * it replaces by their defaults.  Returns 0 or -1 with err set. */
int ig_otlp_config_from_env(ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx, ig_err *err);

void ig_otlp_config_free(ig_otlp_config *cfg);

/* The default warning sink: the SDK's logger (ignis_trace_set_logger). */
void ig_otlp_warn_log(void *ctx, const char *msg);

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
