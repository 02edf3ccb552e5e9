/*
 * collect/store.h — the trace store: one SQLite database of spans.
 *
 * `ignis collect` writes it (collect/writer.c, one writer thread), `ignis
 * view` reads it; the schema is documented for users in
 * docs/TRACE_STORE.md and is the contract between the two, together with
 * this header.  A store is one database file in WAL mode, so any number of
 * readers (the viewer, the sqlite3 CLI) see consistent snapshots while the
 * collector writes, and a crash never corrupts it.
 *
 * Reading:
 *   ig_store *s = ig_store_open(path, IG_STORE_READONLY, &err);
 *   ig_trace_list l;  ig_store_list_traces(s, &filter, IG_TRACE_SORT_START, true, 0, 100, &l, &err);
 *   ig_store_trace t; ig_store_load_trace(s, l.rows[0].id, &t, &err);     (the waterfall)
 *   ig_store_span_details d; ig_store_span_details_load(s, t.spans[i].id, &d, &err);
 *   ig_store_ops ops; ig_store_operations(s, &filter, &ops, &err);        (operations view)
 *   ... ig_trace_list_free / ig_store_trace_free / ig_store_span_details_free /
 *   ig_store_ops_free; ig_store_close(s);
 *
 * Every call returns 0 on success or -1 with err set to one line ("FILE:
 * reason"); results own their memory (one arena each) and stay valid
 * after the store changes or closes.  A store handle is used by one thread
 * at a time.  Strings in results are never NULL unless documented.
 *
 * Writing (the collector's writer thread and imports): ig_store_begin,
 * ig_store_insert (one decoded batch, collect/batch.h), ig_store_commit,
 * and ig_store_retain for retention.  Write calls tell an error that may
 * pass (IG_STORE_RETRY: disk full, I/O error, busy; insert the batches
 * again later) from a damaged database (IG_STORE_CORRUPT: stop writing)
 * and from anything else (-1: this batch cannot be stored, e.g. a value
 * over SQLite's length limit).
 */
#ifndef IG_COLLECT_STORE_H
#define IG_COLLECT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/err.h"

typedef struct ig_store ig_store;
struct ig_batch;

/* ---- opening ---------------------------------------------------------------- */

/* The schema version this build writes and reads (PRAGMA user_version). */
#define IG_STORE_SCHEMA_VERSION 1
/* PRAGMA application_id of an ignis trace store: "IGNS". */
#define IG_STORE_APPLICATION_ID 0x49474E53

enum {
    IG_STORE_READONLY = 1, /* never writes; the file must exist and be a store */
    IG_STORE_CREATE = 2,   /* read-write; creates the file (and its directory) if missing */
    IG_STORE_MEMORY = 4,   /* a private in-memory store (path ignored), e.g. for a .jsonl file */
};

/* Opens (or creates, with IG_STORE_CREATE) a trace store.  A file that is
 * not an SQLite database, an SQLite database of another application, a
 * store of a newer schema or a damaged one is refused with a one-line
 * reason and left untouched (the check reads before anything is written).
 * Returns NULL with err set ("PATH: reason"). */
ig_store *ig_store_open(const char *path, int flags, ig_err *err);

/* Closes the store; a write transaction still open is rolled back. */
void ig_store_close(ig_store *s);

/* The default store path shared by `ignis collect` and `ignis view`:
 * $IGNIS_TRACE_DB if set, else $XDG_DATA_HOME/ignis/traces.db, else
 * $HOME/.local/share/ignis/traces.db.  Returns buf, or NULL when no path
 * can be formed (no HOME) or it does not fit. */
const char *ig_store_default_path(char *buf, size_t len);

/* The path the store was opened with (":memory:" for IG_STORE_MEMORY). */
const char *ig_store_path(const ig_store *s);

/* A number that changes whenever another connection (the collector)
 * commits to the database: poll it to refresh a live view cheaply. */
uint64_t ig_store_data_version(ig_store *s);

typedef struct ig_store_summary {
    uint64_t traces, spans;         /* stored (spans = sum of traces.span_count) */
    uint64_t first_start_ns;        /* earliest trace start (0 when empty) */
    uint64_t last_start_ns;         /* latest trace start */
    uint64_t file_bytes;            /* pages in use * page size (what --max-db-mb bounds) */
} ig_store_summary;

int ig_store_summary_get(ig_store *s, ig_store_summary *out, ig_err *err);

/* ---- the trace list --------------------------------------------------------- */

typedef enum ig_trace_sort {
    IG_TRACE_SORT_START = 0, /* trace start time */
    IG_TRACE_SORT_DURATION,  /* end - start of the whole trace */
    IG_TRACE_SORT_SPANS,     /* span count */
    IG_TRACE_SORT_ERRORS,    /* spans with status ERROR */
    IG_TRACE_SORT_SERVICE,   /* root service name */
    IG_TRACE_SORT_NAME,      /* root span name */
} ig_trace_sort;

/* Which traces to list; a zeroed filter (or NULL) selects every trace.
 * All conditions must hold. */
typedef struct ig_trace_filter {
    /* The trace has a span of this service (exact match). */
    const char *service;
    /* The trace has a span whose name matches this POSIX extended regex
     * (of `service` when that is set too, as in Jaeger's service and
     * operation search).  An invalid regex fails the call with err set. */
    const char *name_regex;
    /* A span of the trace, or its resource, has the attribute attr_key
     * with a value equal to attr_value (compared as text: 200, true, GET). */
    const char *attr_key, *attr_value;
    /* Trace duration (end - start) in [min_duration_ns, max_duration_ns];
     * max_duration_ns 0 means no upper bound. */
    uint64_t min_duration_ns, max_duration_ns;
    /* Trace start in [start_from_ns, start_to_ns); 0 means unbounded. */
    uint64_t start_from_ns, start_to_ns;
    /* Only traces with at least one span with status ERROR. */
    bool errors_only;
    /* A bucket of the operations view: the trace has a span of operation
     * `operation` (ig_store_op_stats.id; 0 = no condition) whose duration
     * is in [op_min_duration_ns, op_max_duration_ns) (max 0: unbounded). */
    int64_t operation;
    uint64_t op_min_duration_ns, op_max_duration_ns;
} ig_trace_filter;

typedef struct ig_trace_row {
    int64_t id;                 /* traces.id: the handle for ig_store_load_trace */
    uint8_t trace_id[16];
    uint64_t start_ns, end_ns;  /* min start, max end over its spans */
    const char *root_service;   /* of the root span, or of the earliest span while no root arrived */
    const char *root_name;
    bool has_root;              /* a span without parent has arrived */
    uint32_t span_count, error_count;
} ig_trace_row;

typedef struct ig_trace_list {
    ig_trace_row *rows;
    size_t n;
    uint64_t total;             /* traces matching the filter, before offset/limit */
    struct ig_store_arena *arena;
} ig_trace_list;

/* Lists matching traces sorted by `sort` (ties broken by trace start, then
 * id), skipping `offset` and returning at most `limit` rows.  The sorted
 * columns and the filter conditions use indexes or the per-trace summary
 * table, never a scan of all spans, except attr_key (a scan of span
 * attributes, pre-filtered by substring). */
int ig_store_list_traces(ig_store *s, const ig_trace_filter *f, ig_trace_sort sort, bool descending,
                         size_t offset, size_t limit, ig_trace_list *out, ig_err *err);
void ig_trace_list_free(ig_trace_list *l);

/* Finds a trace by its 16-byte id (to follow a link).  Returns 1 and sets
 * *id when stored, 0 when not, -1 on error. */
int ig_store_find_trace(ig_store *s, const uint8_t trace_id[16], int64_t *id, ig_err *err);

/* Distinct service names, sorted (filter completion).  *names is one
 * malloc'd block (free(*names) releases everything). */
int ig_store_services(ig_store *s, char ***names, size_t *n, ig_err *err);

/* ---- one trace: the waterfall ------------------------------------------------ */

/* How a span's parent resolved. */
enum {
    IG_PARENT_NONE = 0,   /* no parent span id: a root */
    IG_PARENT_FOUND,      /* parent is spans[parent] */
    IG_PARENT_MISSING,    /* the parent never arrived (parent = -1) */
    IG_PARENT_CYCLE,      /* following parents loops back: the link that closes the loop is cut (parent = -1) */
};

typedef struct ig_store_span {
    int64_t id;                 /* spans.id: the handle for ig_store_span_details_load */
    uint8_t span_id[8];
    uint8_t parent_span_id[8];  /* zero when there is none */
    int32_t parent;             /* index in ig_store_trace.spans, or -1 */
    uint8_t parent_state;       /* IG_PARENT_* */
    uint8_t kind;               /* OTLP SpanKind 0..5 */
    uint8_t status_code;        /* 0 unset, 1 ok, 2 error */
    const char *name;
    const char *service;        /* service.name of its resource */
    const char *status_message; /* "" when none */
    int64_t operation;          /* operations.id (service, name) */
    int64_t resource, scope;    /* resources.id, scopes.id */
    uint64_t start_ns, end_ns;
    uint32_t first_event;       /* its events are ig_store_trace.events[first_event .. +nevents] */
    uint32_t nevents;
    uint32_t nlinks;            /* links are read with the details */
} ig_store_span;

typedef struct ig_store_event {
    uint32_t span;              /* index in ig_store_trace.spans */
    uint64_t time_ns;
    const char *name;
} ig_store_event;

typedef struct ig_store_trace {
    int64_t id;
    uint8_t trace_id[16];
    uint64_t start_ns, end_ns;
    /* Spans sorted by start time (then id); parents resolve by span id
     * within the trace (the first span with that id wins). */
    ig_store_span *spans;
    size_t nspans;
    ig_store_event *events;     /* grouped by span, each group by time */
    size_t nevents;
    struct ig_store_arena *arena;
} ig_store_trace;

/* Loads every span of a trace with its events (not attributes or links:
 * see ig_store_span_details_load).  A trace that is not there (deleted by
 * retention) fails with err "trace not found". */
int ig_store_load_trace(ig_store *s, int64_t trace, ig_store_trace *out, ig_err *err);
void ig_store_trace_free(ig_store_trace *t);

/* ---- one span: attributes, events, links, resource, scope -------------------- */

typedef enum ig_store_vtype {
    IG_SV_NULL = 0, IG_SV_STRING, IG_SV_INT, IG_SV_DOUBLE, IG_SV_BOOL,
    IG_SV_ARRAY,   /* value is JSON text: ["a","b"] */
    IG_SV_OBJECT,  /* a kvlist, as JSON text: {"k":1} */
} ig_store_vtype;

/* One attribute; value is display text (strings unquoted, numbers as
 * written, true/false, arrays and kvlists as JSON, bytes as base64). */
typedef struct ig_store_kv {
    const char *key;
    const char *value;
    size_t value_len;           /* value may be long (1 MB) */
    uint8_t type;               /* ig_store_vtype */
} ig_store_kv;

typedef struct ig_store_attrs {
    ig_store_kv *kv;
    size_t n;
    uint32_t dropped;           /* dropped_attributes_count from the sender */
} ig_store_attrs;

typedef struct ig_store_event_details {
    uint64_t time_ns;
    const char *name;
    ig_store_attrs attrs;
} ig_store_event_details;

typedef struct ig_store_link {
    uint8_t trace_id[16], span_id[8];
    const char *trace_state;    /* "" when none */
    uint32_t flags;
    ig_store_attrs attrs;
} ig_store_link;

typedef struct ig_store_span_details {
    int64_t id;
    ig_store_attrs attrs;
    ig_store_event_details *events;
    size_t nevents;
    uint32_t dropped_events;
    ig_store_link *links;
    size_t nlinks;
    uint32_t dropped_links;
    const char *trace_state;    /* "" when none */
    uint32_t flags;             /* W3C trace flags and OTLP span flags */
    const char *service;
    ig_store_attrs resource;    /* resource attributes (service.name included) */
    const char *resource_schema_url;
    const char *scope_name, *scope_version;
    ig_store_attrs scope;
    struct ig_store_arena *arena;
} ig_store_span_details;

int ig_store_span_details_load(ig_store *s, int64_t span, ig_store_span_details *out, ig_err *err);
void ig_store_span_details_free(ig_store_span_details *d);

/* ---- operations: per (service, span name) ------------------------------------ */

/* The OpenTelemetry spanmetrics default histogram boundaries, in seconds
 * (2 ms .. 15 s); bucket i counts durations <= bound i and > bound i-1,
 * the last bucket (index IG_SPAN_BOUNDS) everything above 15 s.  Shared
 * with the collector's /metrics histograms. */
#define IG_SPAN_BOUNDS 16
extern const double ig_span_bounds_s[IG_SPAN_BOUNDS];

typedef struct ig_store_op_stats {
    int64_t id;                 /* operations.id, for ig_trace_filter.operation */
    const char *service, *name;
    uint64_t count, errors;     /* spans, and spans with status ERROR */
    uint64_t min_ns, max_ns, p50_ns, p90_ns, p99_ns; /* exact (nearest-rank) */
    double mean_ns;
    uint64_t buckets[IG_SPAN_BOUNDS + 1]; /* ig_span_bounds_s buckets (not cumulative) */
} ig_store_op_stats;

typedef struct ig_store_ops {
    ig_store_op_stats *ops;     /* sorted by service, then name */
    size_t n;
    struct ig_store_arena *arena;
} ig_store_ops;

/* Statistics of every operation over the spans of traces that start in
 * the filter's [start_from_ns, start_to_ns) (other filter fields are
 * ignored; NULL = all).  One pass over the spans' covering index. */
int ig_store_operations(ig_store *s, const ig_trace_filter *f, ig_store_ops *out, ig_err *err);
void ig_store_ops_free(ig_store_ops *o);

/* A finer histogram of one operation for drawing: counts[i] is the number
 * of its spans with bounds_ns[i-1] < duration <= bounds_ns[i] (counts has
 * nbounds + 1 entries; the last counts durations above the last bound).
 * bounds_ns must increase.  Same time restriction as ig_store_operations. */
int ig_store_op_histogram(ig_store *s, int64_t operation, const ig_trace_filter *f, const uint64_t *bounds_ns,
                          size_t nbounds, uint64_t *counts, ig_err *err);

/* ---- writing (collect/writer.c, collect/import.c) ---------------------------- */

/* Write calls return 0 or, with err set, -1 (this write cannot succeed:
 * roll back and leave the batch out), IG_STORE_RETRY (the database is
 * full, an I/O error or a lock timeout happened: roll back; nothing
 * committed is affected and the same batches can be inserted again
 * later) or IG_STORE_CORRUPT (the database is damaged or was replaced:
 * stop writing to it). */
#define IG_STORE_RETRY (-2)
#define IG_STORE_CORRUPT (-3)

int ig_store_begin(ig_store *s, ig_err *err);
/* Inserts a batch of validated spans (collect/batch.h) in the open
 * transaction: resources, scopes and operations are deduplicated, the
 * traces summary and trace_operations rows are updated. */
int ig_store_insert(ig_store *s, const struct ig_batch *b, ig_err *err);
int ig_store_commit(ig_store *s, ig_err *err);
void ig_store_rollback(ig_store *s);

/* Moves WAL checkpoints (copying committed pages into the database file,
 * and its fsync) to a thread with its own connection, woken when the WAL
 * passes about 4 MiB, so the thread that commits never waits for the
 * disk.  For a writable store on disk; stopped by ig_store_close. */
int ig_store_checkpoint_in_background(ig_store *s, ig_err *err);

/* Retention, in its own short transactions: deletes whole traces, oldest
 * arrival first, while they arrived before received_before_ns (0: no age
 * limit) or the pages in use exceed max_bytes (0: no size limit; deletes
 * down to 90% of it), at most max_traces per call (so inserts are not
 * held up).  Freed pages are returned to the file system
 * (incremental vacuum).  *deleted_traces / *deleted_spans count what went. */
int ig_store_retain(ig_store *s, uint64_t received_before_ns, uint64_t max_bytes, size_t max_traces,
                    uint64_t *deleted_traces, uint64_t *deleted_spans, ig_err *err);

/* ---- spans by thread (collect/store_threads.c) --------------------------------- */
/* Calls fn for each span overlapping [from_ns, to_ns) that carries the
 * attribute thread.id (an integer or a string of digits); *skips counts
 * the window's other spans, by reason.  0, or -1 with err set. */
typedef void (*ig_store_thread_span_fn)(void *ctx, int64_t tid, uint64_t start_ns, uint64_t end_ns,
                                        const uint8_t trace_id[16], const uint8_t span_id[8], const char *name);
typedef struct ig_store_thread_skips {
    uint64_t no_thread;  /* no attribute thread.id */
    uint64_t bad_thread; /* a thread.id that is no positive integer (a double, a name, 0) */
    uint64_t bad_ids;    /* trace or span id of the wrong size */
} ig_store_thread_skips;
int ig_store_thread_spans(ig_store *s, uint64_t from_ns, uint64_t to_ns, ig_store_thread_span_fn fn, void *ctx,
                          ig_store_thread_skips *skips, ig_err *err);
/* Spans of the whole store that carry thread.id. */
int ig_store_count_thread_spans(ig_store *s, uint64_t *n, ig_err *err);

#endif
