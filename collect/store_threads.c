/*
 * collect/store_threads.c — the spans of a time window that carry the
 * semantic-convention attribute `thread.id`, for joining profile samples
 * with spans by thread and time (profile/spans.h, `ignis record --spans`,
 * `--join-spans`).
 *
 * One query: the traces that overlap the window (the traces_start index
 * bounds the scan), then their spans that overlap it, thread.id read from
 * the span's JSON attributes (an integer, or a string of digits as some
 * SDKs send it).  Spans of the window without a usable thread.id are
 * counted, not returned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/store_impl.h"

/* 1: a thread id in *tid; 0: no thread.id; -1: one that is no thread id
 * (a double, a name, 0 or negative). */
static int tid_of(sqlite3_stmt *st, int col, int64_t *tid)
{
    int type = sqlite3_column_type(st, col);
    if (type == SQLITE_NULL)
        return 0;
    if (type == SQLITE_INTEGER) {
        *tid = sqlite3_column_int64(st, col);
        return *tid > 0 ? 1 : -1;
    }
    if (type != SQLITE_TEXT)
        return -1;
    const char *t = (const char *)sqlite3_column_text(st, col);
    char *end;
    long long v = t && *t ? strtoll(t, &end, 10) : 0;
    if (!t || !*t || *end || v <= 0)
        return -1;
    *tid = v;
    return 1;
}

int ig_store_thread_spans(ig_store *s, uint64_t from_ns, uint64_t to_ns, ig_store_thread_span_fn fn, void *ctx,
                          ig_store_thread_skips *skips, ig_err *err)
{
    static const char sql[] =
        "SELECT t.trace_id, s.span_id, o.name, s.start_ns, s.end_ns, json_extract(s.attributes, '$.\"thread.id\"')"
        " FROM spans s JOIN traces t ON t.id = s.trace JOIN operations o ON o.id = s.operation"
        " WHERE s.trace IN (SELECT id FROM traces WHERE start_ns < ?2 AND end_ns > ?1)"
        " AND s.start_ns < ?2 AND s.end_ns > ?1";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        ig_store_fail(s, rc, "thread spans", err);
        return -1;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(from_ns > INT64_MAX ? INT64_MAX : from_ns));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(to_ns > INT64_MAX ? INT64_MAX : to_ns));
    *skips = (ig_store_thread_skips){0};
    ig_store_arena names = {0}; /* a name as shown: whole, a NUL as \u0000 (ig_arena_text) */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t tid;
        int has_tid = tid_of(st, 5, &tid);
        if (has_tid <= 0) {
            ++*(has_tid ? &skips->bad_thread : &skips->no_thread);
            continue;
        }
        if (sqlite3_column_bytes(st, 0) != 16 || sqlite3_column_bytes(st, 1) != 8) {
            skips->bad_ids++;
            continue;
        }
        const char *raw = (const char *)sqlite3_column_text(st, 2);
        ig_arena_reset(&names);
        const char *name = ig_arena_text(&names, raw ? raw : "", raw ? (size_t)sqlite3_column_bytes(st, 2) : 0, NULL);
        fn(ctx, tid, (uint64_t)sqlite3_column_int64(st, 3), (uint64_t)sqlite3_column_int64(st, 4),
           sqlite3_column_blob(st, 0), sqlite3_column_blob(st, 1), name);
    }
    ig_arena_free(&names);
    if (rc != SQLITE_DONE) {
        ig_store_fail(s, rc, "thread spans", err);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

int ig_store_count_thread_spans(ig_store *s, uint64_t *n, ig_err *err)
{
    static const char sql[] =
        "SELECT count(*) FROM spans WHERE json_extract(attributes, '$.\"thread.id\"') IS NOT NULL";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *n = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ig_store_fail(s, rc, "thread spans", err);
        return -1;
    }
    return 0;
}
