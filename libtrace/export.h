/*
 * libtrace/export.h — the contract between the tracing SDK and exporters.
 *
 * The SDK (libtrace/) turns ended, sampled spans into read-only
 * ig_span_data records and hands batches of them to an ig_exporter from its
 * export thread.  Exporters (console here, OTLP/HTTP and OTLP-JSON file in
 * exporters/) only read these records and never keep pointers into them
 * after export_spans() returns.  Kinds and status codes use the OTLP enum
 * values, so an exporter can copy them straight into the wire format.
 */
#ifndef IG_TRACE_EXPORT_H
#define IG_TRACE_EXPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ignis/trace.h"

typedef enum ig_attr_type {
    IG_ATTR_STRING = 0,
    IG_ATTR_BOOL,
    IG_ATTR_INT,
    IG_ATTR_DOUBLE,
    IG_ATTR_STRING_ARRAY,
    IG_ATTR_BOOL_ARRAY,
    IG_ATTR_INT_ARRAY,
    IG_ATTR_DOUBLE_ARRAY,
} ig_attr_type;

/* One attribute.  `len` is the string length for IG_ATTR_STRING and the
 * element count for arrays; strings are NUL-terminated as well. */
typedef struct ig_attr {
    const char *key;
    uint8_t type; /* ig_attr_type */
    uint16_t key_len; /* strlen(key) when < 65535 (set by the SDK; 0 = unknown) */
    uint32_t len;
    ignis_attr_value v; /* the public union: what the application passed, copied */
} ig_attr;

typedef struct ig_resource {
    const ig_attr *attrs;
    size_t nattrs;
} ig_resource;

typedef struct ig_scope {
    const char *name;
    const char *version; /* may be NULL */
    const ig_attr *attrs;
    size_t nattrs;
} ig_scope;

typedef struct ig_event {
    const char *name;
    uint64_t time_ns; /* since the epoch */
    const ig_attr *attrs;
    uint32_t nattrs;
    uint32_t dropped_attrs;
} ig_event;

typedef struct ig_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
    const char *tracestate; /* may be NULL */
    const ig_attr *attrs;
    uint32_t nattrs;
    uint32_t dropped_attrs;
} ig_link;

/* OTLP Span.SpanKind values. */
enum { IG_KIND_UNSPECIFIED = 0, IG_KIND_INTERNAL = 1, IG_KIND_SERVER = 2,
       IG_KIND_CLIENT = 3, IG_KIND_PRODUCER = 4, IG_KIND_CONSUMER = 5 };
/* OTLP Status.StatusCode values. */
enum { IG_STATUS_UNSET = 0, IG_STATUS_OK = 1, IG_STATUS_ERROR = 2 };

/* The public ignis_span_data (include/ignis/trace.h) is this record: the
 * accessors in libtrace/spandata.c read it for custom exporters. */
typedef struct ignis_span_data {
    const ig_resource *resource;
    const ig_scope *scope;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero when there is no parent */
    bool has_parent;
    bool parent_is_remote;
    uint8_t flags;             /* W3C trace flags (bit 0 = sampled) */
    const char *tracestate;    /* may be NULL */
    const char *name;
    uint8_t kind;              /* IG_KIND_* */
    uint64_t start_ns, end_ns; /* since the epoch */
    const ig_attr *attrs;
    uint32_t nattrs, dropped_attrs;
    const ig_event *events;
    uint32_t nevents, dropped_events;
    const ig_link *links;
    uint32_t nlinks, dropped_links;
    uint8_t status_code;       /* IG_STATUS_* */
    const char *status_message; /* may be NULL */
} ig_span_data;

/* Counters every exporter keeps; the SDK reports them through its API. */
typedef struct ig_export_counters {
    _Atomic uint64_t exported;  /* spans the receiver accepted */
    _Atomic uint64_t failed;    /* spans lost to failed exports */
    _Atomic uint64_t rejected;  /* spans the receiver rejected (partial_success) */
    _Atomic uint64_t retries;   /* export attempts retried */
} ig_export_counters;

enum { IG_EXPORT_OK = 0, IG_EXPORT_FAILED = -1 };

typedef struct ig_exporter ig_exporter;
struct ig_exporter {
    const char *name;
    ig_export_counters counters;
    /* Exports n spans; may block up to timeout_ms (called from the export
     * thread only, never from the application's thread in batch mode). */
    int (*export_spans)(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms);
    /* Flushes anything buffered; returns within timeout_ms. May be NULL. */
    int (*force_flush)(ig_exporter *e, int timeout_ms);
    /* Called in the child after fork(): drop connections and locks held
     * by the parent's threads so the child can export on its own. May be NULL. */
    void (*after_fork_child)(ig_exporter *e);
    /* Called from another thread when shutdown's time ran out: the export
     * in progress, if any, should return as soon as it can, and every
     * later one at once (the processor starts none).  May be NULL. */
    void (*cancel)(ig_exporter *e);
    /* Releases everything; the exporter is not used afterwards. */
    void (*destroy)(ig_exporter *e);
};

#endif
