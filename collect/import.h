/*
 * collect/import.h — OTLP-JSON lines into a trace store.
 *
 * The format libignis's otlp_file exporter and the OpenTelemetry
 * Collector's file exporter write: one ExportTraceServiceRequest in the
 * OTLP/JSON mapping per line.  Used by `ignis collect --import FILE` (into
 * the store on disk) and by `ignis view FILE.jsonl` (into an in-memory
 * store, IG_STORE_MEMORY).
 */
#ifndef IG_COLLECT_IMPORT_H
#define IG_COLLECT_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "collect/store.h"

typedef struct ig_import_stats {
    uint64_t lines;             /* non-empty lines read */
    uint64_t bad_lines;         /* lines that are not a request (skipped, reported) */
    uint64_t spans;             /* spans stored */
    uint64_t rejected;          /* invalid spans (as the receiver rejects them) */
} ig_import_stats;

/* Called with one line per skipped input line: "FILE:LINE: reason". */
typedef void ig_import_warn_fn(void *ctx, const char *msg);

/* What an import may read: a line longer than max_line stops it (an
 * endless line is an error, never a hang); max_bytes (read, inflated) and
 * max_spans (stored), when not 0, bound what an in-memory store takes. */
typedef struct ig_import_limits {
    size_t max_line;
    uint64_t max_bytes;
    uint64_t max_spans;
} ig_import_limits;

/* The limits of spans read into memory (`ignis view FILE.jsonl`, --spans). */
#define IG_IMPORT_MEMORY_MAX_BYTES ((uint64_t)1 << 30)
#define IG_IMPORT_MEMORY_MAX_SPANS ((uint64_t)1 << 20) /* about 350 MB of SQLite in memory */

/* Reads path ("-" = standard input; gzip-compressed files are inflated)
 * and stores every valid span, committing every 50,000 spans.  A line
 * that is not a request is skipped with a warning.  A line longer than
 * the limit, or input past the byte or span limit, stops the import with
 * a one-line error naming the file (and line) and the limit.  Returns 0,
 * or -1 with err set when the file cannot be read, a limit is passed or
 * the store fails (what was committed before stays). */
int ig_import_jsonl_limited(ig_store *s, const char *path, const ig_import_limits *lim, ig_import_warn_fn *warn,
                            void *ctx, ig_import_stats *st, ig_err *err);

/* ig_import_jsonl_limited with only a line limit (a store on disk). */
int ig_import_jsonl(ig_store *s, const char *path, size_t max_line, ig_import_warn_fn *warn, void *ctx,
                    ig_import_stats *st, ig_err *err);

#endif
