/*
 * ignis/trace.h — an OpenTelemetry-compatible tracing SDK for C services.
 *
 * Quick start:
 *
 *     ignis_tracer_provider *tp = ignis_tracer_provider_from_env(NULL, 0);
 *     ignis_tracer *t = ignis_tracer_get(tp, "my.lib", "1.0", NULL, 0);
 *     ignis_span *s = ignis_span_start(t, "GET /users", NULL);
 *     ignis_span_set_int(s, "http.response.status_code", 200);
 *     ignis_scope sc = ignis_span_make_current(s);   // children nest under s
 *     ...
 *     ignis_scope_end(sc);
 *     ignis_span_end(s, 0);                          // consumes the handle
 *     ignis_tracer_provider_shutdown(tp, 5000);
 *     ignis_tracer_provider_free(tp);
 *
 * Environment variables understood (OpenTelemetry spec names):
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
 *   OTEL_TRACES_SAMPLER_ARG, OTEL_TRACES_EXPORTER (otlp | console | none |
 *   otlp_file; the file path comes from IGNIS_TRACES_FILE, default
 *   traces.jsonl), OTEL_PROPAGATORS (tracecontext, baggage, b3, b3multi,
 *   none), OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
 *   OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
 *   OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
 *   OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
 *   OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT,
 *   OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
 *   OTEL_SDK_DISABLED; and ours: IGNIS_KEEP_ERRORS=1 (export unsampled spans
 *   that end with status error), IGNIS_TRACES_PROCESSOR=simple (export
 *   synchronously, for debugging), IGNIS_TRACE_CLOCK=auto|tsc|realtime
 *   (tsc: timestamps from the CPU's invariant TSC, re-anchored to
 *   CLOCK_REALTIME every ~1 ms, cheaper than clock_gettime on VMs; the
 *   default auto uses it only when the kernel's own clocksource is tsc),
 *   IGNIS_TRACE_QUIET=1 / IGNIS_TRACE_VERBOSE=1 (logging),
 *   IGNIS_THREAD_CONTEXT=0 (publish nothing for profilers; see "Span context
 *   publishing" below; wins over the provider option),
 *   IGNIS_THREAD_ATTRIBUTES=0 (no thread.id / thread.name).  The OTLP
 *   exporter reads the
 *   OTEL_EXPORTER_OTLP_* variables.  Invalid values are warned about (see
 *   ignis_trace_set_logger) and replaced by the default.
 *
 * Ownership and threads:
 *   - Every function is thread-safe.  A span may be used from any thread,
 *     but concurrent mutation of ONE span from several threads must be
 *     serialised by the caller (as with any C object).
 *   - ignis_span_start() returns a handle owned by the caller;
 *     ignis_span_end() consumes it (do not touch the pointer afterwards
 *     unless you took an extra reference with ignis_span_retain()).
 *   - Contexts are immutable and reference counted; functions returning
 *     `ignis_context *` return a new reference the caller releases.
 *   - All functions accept NULL handles and then do nothing (or return an
 *     invalid/empty value), so instrumented code needs no checks when
 *     tracing is not set up.
 *
 * Span context publishing (for profilers outside the process: ignis record,
 * the OpenTelemetry eBPF profiler, Parca, Pyroscope).  On by default
 * (ignis_provider_options.thread_context; off with IGNIS_THREAD_CONTEXT=0).
 * The contract, all on Linux, native endianness:
 *   - Process context, OTEP 4719 version 2: a mapping named in
 *     /proc/PID/maps "/memfd:OTEL_CTX" (or "[anon:OTEL_CTX]" where memfd is
 *     refused), MADV_DONTFORK, holding a 32-byte header: char[8] "OTEL_CTX"
 *     (written last), uint32 version = 2, uint32 payload_size, uint64
 *     published_at_ns (CLOCK_REALTIME; 0 while an update is in progress),
 *     uint64 address of the payload, a protobuf
 *     opentelemetry.proto.resource.v1.Resource: the first live publishing
 *     provider's resource (service.name, ...) plus threadlocal.schema_version
 *     = "tlsdesc_v1_dev", threadlocal.attribute_key_map = ["span_name"] and
 *     ignis.threadlocal.directory (int: see below).  Readers re-read the
 *     header after the payload and retry if published_at_ns changed.  When
 *     the provider is freed the next publishing provider takes over; with
 *     none left the mapping is removed.  A fork child publishes its own.
 *   - Thread context, OTEP 4947: the thread-local `otel_thread_ctx_v1`
 *     (exported in .dynsym; TLSDESC dialect in libignis.so; a program that
 *     links libignis.a statically must keep it in its dynamic symbol table:
 *     -Wl,--export-dynamic-symbol=otel_thread_ctx_v1) points, from a
 *     thread's first use of the SDK to its exit, at that thread's record:
 *     uint8 trace_id[16] @0, uint8 span_id[8] @16, uint8 valid @24 (1 =
 *     valid), uint8 trace_flags @25, uint16 attrs_data_size @26, attrs @28
 *     as {uint8 key index, uint8 length, bytes}: key 0 = span_name, the
 *     span's name cut to 64 bytes at a UTF-8 boundary (recording spans only;
 *     unsampled spans publish ids and flags without a name).  The pointer
 *     stays fixed; `valid` is cleared, the record rewritten and `valid` set
 *     again (release order) on every ignis_span_make_current,
 *     ignis_context_attach and ignis_scope_end, so the record always
 *     describes ignis_span_current() (or a current remote context); with no
 *     span current `valid` is 0.  Span start and end alone publish nothing.
 *   - ignis extension: 8 bytes before each record, uint32 owner thread id
 *     (0 once the thread exited) and uint32 update count (+1 per update);
 *     ignis.threadlocal.directory is the address of a list of 512-byte
 *     chunks {char[8] "IGTCDIR1", uint32 count, uint32 capacity (61),
 *     uint64 next chunk, uint64 record-block addresses[61]} (append-only),
 *     so a reader without the thread's thread pointer finds its record.
 *   - Spans also get the attributes thread.id (the OS thread id, gettid) and
 *     thread.name (the name the thread had when it first used the SDK), set
 *     before the application's own, which replace them
 *     (ignis_provider_options.thread_attributes; IGNIS_THREAD_ATTRIBUTES=0).
 */
#ifndef IGNIS_TRACE_H
#define IGNIS_TRACE_H

#include <ignis/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

/** The SDK root: resource, sampler, limits, processor and exporter. */
typedef struct ignis_tracer_provider ignis_tracer_provider;
/** A tracer for one instrumentation scope; owned by its provider. */
typedef struct ignis_tracer ignis_tracer;
/** A span (recording or not); see ignis_span_start / ignis_span_end. */
typedef struct ignis_span ignis_span;
/** Immutable propagation context: a (local or remote) span plus baggage. */
typedef struct ignis_context ignis_context;
/** Read-only view of an ended span, handed to custom exporters and span
 *  processors (see "Custom exporters and span processors" below). */
typedef struct ignis_span_data ignis_span_data;
/** A span exporter made of application callbacks (ignis_span_exporter_new). */
typedef struct ignis_span_exporter ignis_span_exporter;
/** A span processor: batch or simple around an exporter, or application
 *  callbacks (ignis_span_processor_new). */
typedef struct ignis_span_processor ignis_span_processor;

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

/** Attribute value types (same numbering as the SDK's export records). */
typedef enum ignis_attr_type {
    IGNIS_ATTR_STRING = 0,
    IGNIS_ATTR_BOOL,
    IGNIS_ATTR_INT,
    IGNIS_ATTR_DOUBLE,
    IGNIS_ATTR_STRING_ARRAY,
    IGNIS_ATTR_BOOL_ARRAY,
    IGNIS_ATTR_INT_ARRAY,
    IGNIS_ATTR_DOUBLE_ARRAY,
} ignis_attr_type;

/** An attribute value: the member that is set follows ignis_attr_type
 *  (s: string, b/i/d: scalars, sa/ba/ia/da: arrays of `len` elements). */
typedef union ignis_attr_value {
    const char *s;
    bool b;
    int64_t i;
    double d;
    const char *const *sa;
    const bool *ba;
    const int64_t *ia;
    const double *da;
} ignis_attr_value;

/** One key/value attribute, used for span start attributes, events, links,
 *  tracer scopes and resources.  The SDK copies keys and values.  `len` is
 *  the element count for arrays and ignored for scalars and strings
 *  (strings are NUL-terminated). */
typedef struct ignis_attribute {
    const char *key;
    ignis_attr_type type;
    size_t len;
    ignis_attr_value v;
} ignis_attribute;

/** Compound literals for attribute arrays:
 *  ignis_attribute a[] = { IGNIS_ATTR_STR("k", "v"), IGNIS_ATTR_I64("n", 3) }; */
#define IGNIS_ATTR_STR(k, val) ((ignis_attribute){.key = (k), .type = IGNIS_ATTR_STRING, .v.s = (val)})
#define IGNIS_ATTR_I64(k, val) ((ignis_attribute){.key = (k), .type = IGNIS_ATTR_INT, .v.i = (val)})
#define IGNIS_ATTR_F64(k, val) ((ignis_attribute){.key = (k), .type = IGNIS_ATTR_DOUBLE, .v.d = (val)})
#define IGNIS_ATTR_BOOL(k, val) ((ignis_attribute){.key = (k), .type = IGNIS_ATTR_BOOL, .v.b = (val)})

/* ------------------------------------------------------------------------ */
/* Provider set-up                                                           */
/* ------------------------------------------------------------------------ */

/** Sampler kinds (OTEL_TRACES_SAMPLER values). */
typedef enum ignis_sampler_kind {
    IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON = 0, /**< spec default */
    IGNIS_SAMPLER_ALWAYS_ON,
    IGNIS_SAMPLER_ALWAYS_OFF,
    IGNIS_SAMPLER_TRACEIDRATIO,
    IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF,
    IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO,
} ignis_sampler_kind;

/** Where ended spans go (OTEL_TRACES_EXPORTER values). */
typedef enum ignis_exporter_kind {
    IGNIS_EXPORTER_OTLP = 0,  /**< OTLP/HTTP, configured by OTEL_EXPORTER_OTLP_* */
    IGNIS_EXPORTER_CONSOLE,   /**< one readable line per span on stdout */
    IGNIS_EXPORTER_NONE,      /**< no exporter: ended spans are processed and
                                   discarded, and counted as spans_exported
                                   (an exporter that accepts everything), so
                                   the counters still show the SDK's work;
                                   with custom processors
                                   (ignis_tracer_provider_new_with_processors)
                                   spans go to those alone */
    IGNIS_EXPORTER_OTLP_FILE, /**< OTLP-JSON lines written to `file_path` */
} ignis_exporter_kind;

/** Span processors. */
typedef enum ignis_processor_kind {
    IGNIS_PROCESSOR_BATCH = 0, /**< background export thread (default) */
    IGNIS_PROCESSOR_SIMPLE,    /**< export synchronously in ignis_span_end (debugging) */
} ignis_processor_kind;

/** Span limits; a negative value means "no limit". */
typedef struct ignis_span_limits {
    int attribute_count;        /**< per span, default 128 */
    int attribute_value_length; /**< bytes of string values, default no limit */
    int event_count;            /**< per span, default 128 */
    int link_count;             /**< per span, default 128 */
    int event_attribute_count;  /**< per event, default 128 */
    int link_attribute_count;   /**< per link, default 128 */
} ignis_span_limits;

/** Batch processor settings (milliseconds / span counts). */
typedef struct ignis_batch_options {
    int schedule_delay_ms;     /**< default 5000 */
    int export_timeout_ms;     /**< default 30000 */
    int max_queue_size;        /**< default 2048: spans queued by all threads together */
    int max_export_batch_size; /**< default 512 (at most max_queue_size) */
} ignis_batch_options;

/** Provider options.  Fill with ignis_provider_options_init() (spec
 *  defaults) or ignis_provider_options_from_env() (defaults overridden by the
 *  environment), then change fields.  Strings are copied by
 *  ignis_tracer_provider_new(). */
typedef struct ignis_provider_options {
    const char *service_name;        /**< NULL: unknown_service:<executable> */
    const char *resource_attributes; /**< OTEL_RESOURCE_ATTRIBUTES syntax, may be NULL */
    const ignis_attribute *resource; /**< extra resource attributes (win over the string) */
    size_t nresource;
    ignis_sampler_kind sampler;
    double sampler_ratio;            /**< for the traceidratio samplers, 0..1; default 1 */
    bool keep_errors;                /**< record unsampled spans, export those ending in error */
    bool disabled;                   /**< OTEL_SDK_DISABLED: every span is non-recording */
    ignis_exporter_kind exporter;
    const char *file_path;           /**< for IGNIS_EXPORTER_OTLP_FILE; default traces.jsonl */
    ignis_processor_kind processor;
    ignis_batch_options batch;
    ignis_span_limits limits;
    bool thread_context;             /**< publish the current span per thread and the process
                                          context for profilers (default true; see "Span context
                                          publishing" below; IGNIS_THREAD_CONTEXT=0 turns it off) */
    bool thread_attributes;          /**< thread.id / thread.name on recording spans (default true) */
} ignis_provider_options;

/** Fills `o` with the OpenTelemetry defaults (no environment). */
IGNIS_API void ignis_provider_options_init(ignis_provider_options *o);

/** Fills `o` with the defaults overridden by the OTEL_* / IGNIS_*
 *  environment variables listed at the top of this header.  Invalid values
 *  are logged as warnings and replaced by defaults.  String fields point
 *  into the environment (valid until it changes). */
IGNIS_API void ignis_provider_options_from_env(ignis_provider_options *o);

/** Creates a provider.  Returns NULL when the exporter cannot be created
 *  (e.g. the output file cannot be opened) and writes a one-line reason
 *  into errbuf, or logs it as an error through the logger when errbuf is
 *  NULL.  A bad OTLP endpoint variable does not fail: one without a scheme
 *  (`collector:4318`) is taken as http://, one that is not an http(s) URL
 *  is replaced by OTEL_EXPORTER_OTLP_ENDPOINT or the default, each with a
 *  warning. */
IGNIS_API ignis_tracer_provider *ignis_tracer_provider_new(const ignis_provider_options *o,
                                                           char *errbuf, size_t errlen);

/** Equivalent to ignis_provider_options_from_env + ignis_tracer_provider_new. */
IGNIS_API ignis_tracer_provider *ignis_tracer_provider_from_env(char *errbuf, size_t errlen);

/** Exports every span ended so far.  Returns 0 when done, -1 if
 *  `timeout_ms` elapsed first (always returns within the timeout). */
IGNIS_API int ignis_tracer_provider_force_flush(ignis_tracer_provider *tp, int timeout_ms);

/** Flushes and stops the processors and exporters; afterwards new spans are
 *  non-recording.  Logs the counters once (info level).  Returns 0, or -1 if
 *  `timeout_ms` elapsed first (always returns within the timeout).  When
 *  the time runs out no new export starts, the OTLP exporter's export in
 *  flight is aborted, and every span not exported by then is counted as
 *  dropped, so that once this returns the counters are final and
 *  spans_sampled + spans_kept_errors == spans_exported + spans_dropped +
 *  export_failures + export_rejected (for the built-in processor; spans
 *  ending after shutdown began count as dropped).  A stuck exporter's
 *  thread is abandoned.  Idempotent. */
IGNIS_API int ignis_tracer_provider_shutdown(ignis_tracer_provider *tp, int timeout_ms);

/** Frees the provider and its tracers (shuts down with a 30 s timeout if
 *  not done yet).  If shutdown timed out, the abandoned export thread frees
 *  the provider itself if its exporter ever returns (with the simple
 *  processor the memory is leaked instead).  All spans must have been
 *  ended, and no tracer of this provider may be used afterwards. */
IGNIS_API void ignis_tracer_provider_free(ignis_tracer_provider *tp);

/** Optional process-wide provider for libraries that do not get one passed
 *  in.  ignis_tracer_provider_global() returns NULL until set. */
IGNIS_API void ignis_tracer_provider_set_global(ignis_tracer_provider *tp);
IGNIS_API ignis_tracer_provider *ignis_tracer_provider_global(void);

/** SDK counters (monotonic since the provider was created).  The export
 *  figures add up over the provider's batch and simple processors (each
 *  counts every span it is given); callback processors have none.
 *  The counters are per process: in a child after fork() they start at
 *  zero and count only the child's own spans.  Spans queued (or being
 *  exported) at the fork belong to the parent, which exports and counts
 *  them, and so does a span the parent started: the child's
 *  ignis_span_end of its copy is not counted, exported nor passed to
 *  processors.  So the balance given at ignis_tracer_provider_shutdown
 *  holds in the parent and in every child. */
typedef struct ignis_trace_counters {
    uint64_t spans_started;      /**< ignis_span_start calls with a live provider */
    uint64_t spans_sampled;      /**< of those, sampled (recorded and exported) */
    uint64_t spans_ended;        /**< ignis_span_end calls */
    uint64_t spans_kept_errors;  /**< unsampled spans exported because they ended in error */
    uint64_t spans_exported;     /**< accepted by the exporter / receiver (IGNIS_EXPORTER_NONE: discarded) */
    uint64_t spans_dropped;      /**< dropped: the queue was full, shutdown's time ran out before
                                      they were exported, or they ended after shutdown began */
    uint64_t export_failures;    /**< spans lost to failed exports */
    uint64_t export_rejected;    /**< spans the receiver rejected (partial success) */
    uint64_t export_retries;     /**< export attempts retried by the exporter */
} ignis_trace_counters;

/** Reads the counters. */
IGNIS_API void ignis_tracer_provider_counters(ignis_tracer_provider *tp, ignis_trace_counters *out);

/** Log levels passed to the logger. */
enum { IGNIS_LOG_ERROR = 0, IGNIS_LOG_WARN = 1, IGNIS_LOG_INFO = 2, IGNIS_LOG_DEBUG = 3 };

/** Replaces the SDK's logger.  The default writes "ignis: trace: <msg>"
 *  lines on stderr for errors, warnings and info (the counter summary at
 *  shutdown); debug lines only with IGNIS_TRACE_VERBOSE=1, and nothing
 *  below a warning with IGNIS_TRACE_QUIET=1.  Pass NULL to restore the
 *  default. */
IGNIS_API void ignis_trace_set_logger(void (*fn)(int level, const char *msg, void *arg), void *arg);

/* ------------------------------------------------------------------------ */
/* Tracers                                                                   */
/* ------------------------------------------------------------------------ */

/** Returns the tracer for an instrumentation scope (same name, version
 *  and attributes give the same tracer).  name NULL or "" is allowed (a
 *  warning is logged).  Owned by the provider.  With tp NULL, returns
 *  NULL, which ignis_span_start accepts (non-recording spans). */
IGNIS_API ignis_tracer *ignis_tracer_get(ignis_tracer_provider *tp, const char *name, const char *version,
                                         const ignis_attribute *attrs, size_t nattrs);

/* ------------------------------------------------------------------------ */
/* Span context                                                              */
/* ------------------------------------------------------------------------ */

/** W3C trace flags bit. */
#define IGNIS_TRACE_FLAG_SAMPLED 0x01

/** The identity of a span as propagated between processes. */
typedef struct ignis_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;
    bool is_remote;
    /** W3C tracestate header value, or NULL.  Borrowed from the span or
     *  context it was read from (valid while that is alive). */
    const char *tracestate;
} ignis_span_context;

/** true if both ids are non-zero. */
IGNIS_API bool ignis_span_context_is_valid(const ignis_span_context *sc);

/** Lowercase hex of a trace id (33 bytes with NUL) / span id (17 bytes). */
IGNIS_API void ignis_trace_id_hex(const uint8_t id[16], char out[33]);
IGNIS_API void ignis_span_id_hex(const uint8_t id[8], char out[17]);

/* ------------------------------------------------------------------------ */
/* Spans                                                                     */
/* ------------------------------------------------------------------------ */

/** Span kinds (OTLP numbering). */
typedef enum ignis_span_kind {
    IGNIS_SPAN_KIND_INTERNAL = 1,
    IGNIS_SPAN_KIND_SERVER = 2,
    IGNIS_SPAN_KIND_CLIENT = 3,
    IGNIS_SPAN_KIND_PRODUCER = 4,
    IGNIS_SPAN_KIND_CONSUMER = 5,
} ignis_span_kind;

/** How the parent of a new span is chosen. */
typedef enum ignis_parent_mode {
    IGNIS_PARENT_CURRENT = 0, /**< this thread's current span/context (default) */
    IGNIS_PARENT_SPAN,        /**< `parent_span` (NULL: root) */
    IGNIS_PARENT_CONTEXT,     /**< `parent_context`, e.g. from ignis_extract (NULL: root) */
    IGNIS_PARENT_NONE,        /**< a new trace */
} ignis_parent_mode;

/** A link to another span, given at start or with ignis_span_add_link. */
typedef struct ignis_link {
    ignis_span_context context;
    const ignis_attribute *attrs;
    size_t nattrs;
} ignis_link;

/** Optional settings for ignis_span_start; zero-initialise ({0}) and set
 *  what you need.  kind 0 means INTERNAL. */
typedef struct ignis_span_options {
    ignis_span_kind kind;
    ignis_parent_mode parent_mode;
    const ignis_span *parent_span;
    const ignis_context *parent_context;
    uint64_t start_time_ns;           /**< ns since the epoch; 0 = now */
    const ignis_attribute *attrs;     /**< start attributes (seen by the sampler) */
    size_t nattrs;
    const ignis_link *links;
    size_t nlinks;
} ignis_span_options;

/** Starts a span.  `opts` may be NULL (internal kind, current parent, now).
 *  Never returns NULL except when out of memory; an unsampled span is a
 *  cheap non-recording span that still carries a span context (so it can
 *  be propagated).  The caller must end it with ignis_span_end. */
IGNIS_API ignis_span *ignis_span_start(ignis_tracer *t, const char *name, const ignis_span_options *opts);

/** Ends the span at `end_time_ns` (0 = now), hands it to the processor
 *  and releases the caller's handle.  Never blocks on I/O: with the batch
 *  processor a full queue drops the span (counted).  Ending a span again
 *  while it is still alive (queued for export, or retained) is ignored,
 *  as the OpenTelemetry spec asks, and logged once; the handle is still
 *  consumed by the first call. */
IGNIS_API void ignis_span_end(ignis_span *s, uint64_t end_time_ns);

/** Takes / releases an extra reference (the span stays readable, e.g. for
 *  its context, after it ended; mutations after end are ignored). */
IGNIS_API ignis_span *ignis_span_retain(ignis_span *s);
IGNIS_API void ignis_span_release(ignis_span *s);

/** true while the span records (sampled or keep-errors) and has not ended. */
IGNIS_API bool ignis_span_is_recording(const ignis_span *s);

/** Copies the span's context (tracestate is borrowed from the span). */
IGNIS_API void ignis_span_get_context(const ignis_span *s, ignis_span_context *out);

/** Attribute setters; setting an existing key replaces its value.  Beyond
 *  the attribute count limit new keys are dropped (counted); strings are
 *  truncated to the value length limit (at a UTF-8 boundary). */
IGNIS_API void ignis_span_set_string(ignis_span *s, const char *key, const char *value);
IGNIS_API void ignis_span_set_int(ignis_span *s, const char *key, int64_t value);
IGNIS_API void ignis_span_set_double(ignis_span *s, const char *key, double value);
IGNIS_API void ignis_span_set_bool(ignis_span *s, const char *key, bool value);
IGNIS_API void ignis_span_set_string_array(ignis_span *s, const char *key, const char *const *v, size_t n);
IGNIS_API void ignis_span_set_int_array(ignis_span *s, const char *key, const int64_t *v, size_t n);
IGNIS_API void ignis_span_set_double_array(ignis_span *s, const char *key, const double *v, size_t n);
IGNIS_API void ignis_span_set_bool_array(ignis_span *s, const char *key, const bool *v, size_t n);
IGNIS_API void ignis_span_set_attributes(ignis_span *s, const ignis_attribute *attrs, size_t n);

/** Adds an event; time_ns 0 = now.  Limited by the event count and event
 *  attribute count limits (drops counted). */
IGNIS_API void ignis_span_add_event(ignis_span *s, const char *name, const ignis_attribute *attrs, size_t n,
                                    uint64_t time_ns);

/** Adds the semantic-convention `exception` event with exception.type,
 *  exception.message and exception.stacktrace (NULL ones omitted), plus
 *  extra attributes.  Does not change the status. */
IGNIS_API void ignis_span_record_exception(ignis_span *s, const char *type, const char *message,
                                           const char *stacktrace, const ignis_attribute *attrs, size_t n);

/** Adds a link after start (limited by the link count limit). */
IGNIS_API void ignis_span_add_link(ignis_span *s, const ignis_link *link);

/** Status codes (OTLP numbering). */
typedef enum ignis_status_code {
    IGNIS_STATUS_UNSET = 0,
    IGNIS_STATUS_OK = 1,
    IGNIS_STATUS_ERROR = 2,
} ignis_status_code;

/** Sets the status per the spec: OK is final, UNSET is ignored, the
 *  description is kept only for ERROR. */
IGNIS_API void ignis_span_set_status(ignis_span *s, ignis_status_code code, const char *description);

/** Replaces the span name. */
IGNIS_API void ignis_span_update_name(ignis_span *s, const char *name);

/* ------------------------------------------------------------------------ */
/* Current span, contexts and scopes                                         */
/* ------------------------------------------------------------------------ */

/** A token from ignis_span_make_current / ignis_context_attach. */
typedef struct ignis_scope {
    uint32_t depth;
} ignis_scope;

/** Makes `s` this thread's current span until ignis_scope_end (keeps a
 *  reference, so the span may be ended while current). */
IGNIS_API ignis_scope ignis_span_make_current(ignis_span *s);

/** Makes a context (e.g. from ignis_extract or from another thread's
 *  ignis_context_current) current on this thread until ignis_scope_end. */
IGNIS_API ignis_scope ignis_context_attach(ignis_context *ctx);

/** Restores the current span/context that was current before the scope
 *  began.  Scopes must end in reverse order; ending an outer scope also
 *  ends the inner ones (with a warning). */
IGNIS_API void ignis_scope_end(ignis_scope scope);

/** This thread's current span (borrowed, NULL if none or if the current
 *  context holds only a remote span context). */
IGNIS_API ignis_span *ignis_span_current(void);

/** A new reference to this thread's current context (span + baggage); hand
 *  it to another thread and ignis_context_attach it there.  Never NULL
 *  (may be empty). */
IGNIS_API ignis_context *ignis_context_current(void);

/** An empty context (no span, no baggage). */
IGNIS_API ignis_context *ignis_context_empty(void);

/** A new context = `base` (NULL: empty) with `span` as its span. */
IGNIS_API ignis_context *ignis_context_with_span(const ignis_context *base, ignis_span *span);

/** A new context = `base` (NULL: empty) with a remote span context. */
IGNIS_API ignis_context *ignis_context_with_remote(const ignis_context *base, const ignis_span_context *sc);

/** The context's span context (false and zeroed if it has none). */
IGNIS_API bool ignis_context_span_context(const ignis_context *ctx, ignis_span_context *out);

IGNIS_API ignis_context *ignis_context_retain(ignis_context *ctx);
IGNIS_API void ignis_context_release(ignis_context *ctx);

/* ------------------------------------------------------------------------ */
/* Baggage                                                                   */
/* ------------------------------------------------------------------------ */

/** A new context = `base` (NULL: empty) with key=value set (replacing an
 *  existing key).  metadata (the `;property` part) may be NULL. */
IGNIS_API ignis_context *ignis_context_with_baggage(const ignis_context *base, const char *key, const char *value,
                                                    const char *metadata);

/** A new context = `base` without baggage entry `key`. */
IGNIS_API ignis_context *ignis_context_without_baggage(const ignis_context *base, const char *key);

/** The baggage value for key (borrowed from ctx), or NULL. */
IGNIS_API const char *ignis_baggage_get(const ignis_context *ctx, const char *key);

/** Number of baggage entries and access by index (0 <= i < count);
 *  outputs are borrowed from ctx; metadata may be NULL. */
IGNIS_API size_t ignis_baggage_count(const ignis_context *ctx);
IGNIS_API bool ignis_baggage_entry(const ignis_context *ctx, size_t i, const char **key, const char **value,
                                   const char **metadata);

/* ------------------------------------------------------------------------ */
/* Propagation                                                               */
/* ------------------------------------------------------------------------ */

/** Propagator set (bitmask). */
enum {
    IGNIS_PROPAGATE_TRACECONTEXT = 1 << 0, /**< W3C traceparent + tracestate */
    IGNIS_PROPAGATE_BAGGAGE = 1 << 1,      /**< W3C baggage */
    IGNIS_PROPAGATE_B3 = 1 << 2,           /**< B3 single header `b3` */
    IGNIS_PROPAGATE_B3MULTI = 1 << 3,      /**< B3 X-B3-* headers */
};

/** A header carrier.  get returns the value of header `name` (the carrier
 *  compares names case-insensitively; if a header occurs several times it
 *  may join the values with ","), or NULL; set adds/replaces a header. */
typedef struct ignis_carrier {
    void *arg;
    const char *(*get)(void *arg, const char *name);
    void (*set)(void *arg, const char *name, const char *value);
} ignis_carrier;

/** The process-wide propagators: from OTEL_PROPAGATORS on first use
 *  (default tracecontext,baggage), unless set explicitly. */
IGNIS_API unsigned ignis_propagators(void);
IGNIS_API void ignis_set_propagators(unsigned mask);

/** Parses an OTEL_PROPAGATORS-style list ("tracecontext,baggage", "b3",
 *  "b3multi", "none").  Unknown names are warned about and skipped. */
IGNIS_API unsigned ignis_propagators_parse(const char *list);

/** Writes ctx (NULL: this thread's current context) into the carrier with
 *  the process-wide propagators.  Nothing is written for an invalid span
 *  context. */
IGNIS_API void ignis_inject(const ignis_context *ctx, const ignis_carrier *c);

/** Reads a remote span context and baggage from the carrier into a new
 *  context based on `base` (NULL: empty).  Invalid headers are ignored.
 *  Baggage values are percent-decoded to UTF-8: escaped octets that are
 *  not UTF-8 become U+FFFD (the W3C rule), and a member whose value holds
 *  %00 is skipped (a C string cannot carry the NUL).  A B3 debug flag
 *  ("d", X-B3-Flags: 1) is kept in the context and injected again for
 *  spans of that trace. */
IGNIS_API ignis_context *ignis_extract(const ignis_context *base, const ignis_carrier *c);

/** Same with an explicit propagator mask. */
IGNIS_API void ignis_inject_with(unsigned propagators, const ignis_context *ctx, const ignis_carrier *c);
IGNIS_API ignis_context *ignis_extract_with(unsigned propagators, const ignis_context *base, const ignis_carrier *c);

/** Extract from an array of "Name: value" header lines (names compared
 *  case-insensitively, values trimmed, trailing CR/LF ignored, repeated
 *  headers joined with ",").  NULL elements are skipped; a NULL `lines`
 *  is no lines at all (whatever `n` says): the result is then based on
 *  `base` alone, as ignis_extract with no headers. */
IGNIS_API ignis_context *ignis_extract_header_lines(const ignis_context *base, const char *const *lines, size_t n);

/** Inject as "name: value" lines: stores up to `max` malloc'd strings in
 *  lines[] (free each with free()) and returns how many were produced
 *  (may exceed max; the extra ones are not stored).  A NULL `lines`
 *  stores nothing (as max 0) and only counts. */
IGNIS_API size_t ignis_inject_header_lines(const ignis_context *ctx, char **lines, size_t max);


/* ------------------------------------------------------------------------ */
/* Custom exporters and span processors                                      */
/* ------------------------------------------------------------------------ */

/*
 * As the OpenTelemetry SDK defines them: an exporter receives batches of
 * ended spans (through a batch or simple processor); a span processor sees
 * every recording span when it starts (and may add attributes) and when it
 * ends.  Both are built from callbacks and handed to
 * ignis_tracer_provider_new_with_processors().
 *
 * Options structs carry their own size (set `sz` to sizeof the struct, as
 * libbpf does): a program built against an older header passes a smaller
 * size and the fields it does not know are taken as zero.
 *
 * Callbacks run on SDK threads (the export thread, or the thread that
 * starts or ends a span), possibly several at once for a span processor;
 * they must not block for long and must not call back into the provider
 * that calls them (shutdown, flush).  Strings and arrays reached through
 * an ignis_span_data are valid only during the callback.
 */

/** Export results (OpenTelemetry ExportResult). */
typedef enum ignis_export_result {
    IGNIS_EXPORT_SUCCESS = 0, /**< the spans count as spans_exported */
    IGNIS_EXPORT_FAILURE = 1, /**< the spans count as export_failures (not retried) */
} ignis_export_result;

/** Callbacks of a custom exporter. */
typedef struct ignis_exporter_options {
    size_t sz;        /**< sizeof(ignis_exporter_options) */
    const char *name; /**< for log lines; copied (NULL: "custom") */
    void *arg;        /**< passed to every callback */
    /** Exports n ended spans; called from one thread at a time.  Should
     *  return within timeout_ms.  Required. */
    ignis_export_result (*export_spans)(void *arg, const ignis_span_data *const *spans, size_t n, int timeout_ms);
    /** Flushes what the exporter buffers itself; 0 on success.  May be NULL. */
    int (*force_flush)(void *arg, int timeout_ms);
    /** Called once, after the last export (release arg here).  May be NULL. */
    void (*shutdown)(void *arg);
} ignis_exporter_options;

/** Creates an exporter from callbacks.  Returns NULL when o is NULL, o->sz
 *  is smaller than the fields up to export_spans, or export_spans is NULL. */
IGNIS_API ignis_span_exporter *ignis_span_exporter_new(const ignis_exporter_options *o);

/** Frees an exporter that was never given to a processor (calls its
 *  shutdown callback).  Exporters given to a processor belong to it: for
 *  those this only logs a warning. */
IGNIS_API void ignis_span_exporter_free(ignis_span_exporter *e);

/** A batch processor around `e`, which it takes over: spans are queued
 *  (bounded by max_queue_size; a full queue drops and counts) and exported
 *  from a background thread in batches, as with the built-in exporters.
 *  o NULL: the defaults (5000, 30000, 2048, 512).  Returns NULL if e is
 *  NULL or already belongs to a processor (warned). */
IGNIS_API ignis_span_processor *ignis_batch_span_processor_new(ignis_span_exporter *e, const ignis_batch_options *o);

/** A simple processor around `e`, which it takes over: each span is
 *  exported synchronously in ignis_span_end, one export at a time
 *  (debugging and tests).  export_timeout_ms <= 0: 30000.  NULL if e is
 *  NULL or already belongs to a processor (warned). */
IGNIS_API ignis_span_processor *ignis_simple_span_processor_new(ignis_span_exporter *e, int export_timeout_ms);

/** Callbacks of a custom span processor (all may be NULL). */
typedef struct ignis_processor_options {
    size_t sz;  /**< sizeof(ignis_processor_options) */
    void *arg;  /**< passed to every callback */
    /** A recording span started: it may be changed (attributes, name) but
     *  not ended here.  parent: the parent's span context, NULL for a root. */
    void (*on_start)(void *arg, ignis_span *span, const ignis_span_context *parent);
    /** A recording span ended (sampled or not: check the context's trace
     *  flags); the view is valid during the call only. */
    void (*on_end)(void *arg, const ignis_span_data *span);
    /** Exports or flushes what it holds; 0 on success. */
    int (*force_flush)(void *arg, int timeout_ms);
    /** Called once by the provider's shutdown; no callback follows. */
    int (*shutdown)(void *arg, int timeout_ms);
} ignis_processor_options;

/** Creates a span processor from callbacks.  NULL when o is NULL or o->sz
 *  is smaller than the fields up to arg. */
IGNIS_API ignis_span_processor *ignis_span_processor_new(const ignis_processor_options *o);

/** Frees a processor that was never given to a provider (shuts it down
 *  first, waiting up to 30 s).  Processors given to a provider belong to
 *  it: for those this only logs a warning. */
IGNIS_API void ignis_span_processor_free(ignis_span_processor *p);

/** Creates a provider as ignis_tracer_provider_new does, with `n` more
 *  processors (NULL entries are skipped).  Callback processors are called
 *  first, in array order, from ignis_span_start / ignis_span_end; then
 *  the batch and simple ones, in array order, get each span to export
 *  (sampled, or kept by keep_errors), and last the exporter the options
 *  select (choose IGNIS_EXPORTER_NONE for the given processors alone).
 *  The provider takes the processors over, also when it returns NULL,
 *  and shuts down, flushes and frees them with itself.  A processor
 *  already given to a provider makes this fail (errbuf says so) and
 *  nothing is taken. */
IGNIS_API ignis_tracer_provider *ignis_tracer_provider_new_with_processors(const ignis_provider_options *o,
                                                                          ignis_span_processor *const *procs, size_t n,
                                                                          char *errbuf, size_t errlen);

/* ---- the read-only span view (valid during the callback only) ---- */

/** The span's name. */
IGNIS_API const char *ignis_span_data_name(const ignis_span_data *d);
/** The span's own context (is_remote false; tracestate borrowed). */
IGNIS_API void ignis_span_data_context(const ignis_span_data *d, ignis_span_context *out);
/** The parent span id: false (and zeros) for a root span; *remote (may
 *  be NULL) tells whether the parent came from another process. */
IGNIS_API bool ignis_span_data_parent(const ignis_span_data *d, uint8_t span_id[8], bool *remote);
IGNIS_API ignis_span_kind ignis_span_data_kind(const ignis_span_data *d);
/** Start / end time, ns since the epoch. */
IGNIS_API uint64_t ignis_span_data_start_time(const ignis_span_data *d);
IGNIS_API uint64_t ignis_span_data_end_time(const ignis_span_data *d);
/** Status code, and its description (NULL when none) in *description. */
IGNIS_API ignis_status_code ignis_span_data_status(const ignis_span_data *d, const char **description);
/** Entries dropped by the span limits (any pointer may be NULL). */
IGNIS_API void ignis_span_data_dropped(const ignis_span_data *d, uint32_t *attributes, uint32_t *events,
                                       uint32_t *links);
/** Attributes: count, and entry i (0 <= i < count) copied into *out with
 *  borrowed key and value (false when i is out of range). */
IGNIS_API size_t ignis_span_data_attribute_count(const ignis_span_data *d);
IGNIS_API bool ignis_span_data_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out);
/** Events: count; event i's name, time and attribute count (any output
 *  may be NULL); attribute j of event i. */
IGNIS_API size_t ignis_span_data_event_count(const ignis_span_data *d);
IGNIS_API bool ignis_span_data_event(const ignis_span_data *d, size_t i, const char **name, uint64_t *time_ns,
                                     size_t *nattrs);
IGNIS_API bool ignis_span_data_event_attribute(const ignis_span_data *d, size_t i, size_t j, ignis_attribute *out);
/** Links: count; link i's span context and attribute count; attribute j
 *  of link i. */
IGNIS_API size_t ignis_span_data_link_count(const ignis_span_data *d);
IGNIS_API bool ignis_span_data_link(const ignis_span_data *d, size_t i, ignis_span_context *out, size_t *nattrs);
IGNIS_API bool ignis_span_data_link_attribute(const ignis_span_data *d, size_t i, size_t j, ignis_attribute *out);
/** The instrumentation scope: name (returned), version (may be NULL;
 *  `version` may be NULL) and attributes. */
IGNIS_API const char *ignis_span_data_scope(const ignis_span_data *d, const char **version);
IGNIS_API size_t ignis_span_data_scope_attribute_count(const ignis_span_data *d);
IGNIS_API bool ignis_span_data_scope_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out);
/** The provider's resource attributes. */
IGNIS_API size_t ignis_span_data_resource_count(const ignis_span_data *d);
IGNIS_API bool ignis_span_data_resource_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out);

#ifdef __cplusplus
}
#endif

#endif
