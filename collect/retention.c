/*
 * collect/retention.c — deleting the oldest traces (--retain, --max-db-mb).
 *
 * Traces get their row id in order of arrival, so "the oldest arrivals"
 * is always a prefix of ids and one cut-off id describes what goes: the
 * traces with id <= cut, every span that refers to them (also spans that
 * arrived late for an old trace), and those spans' events and links.  The
 * cut comes from the age limit (a prefix whose received_ns is before the
 * limit) or from the size limit (enough traces, at the store's average
 * bytes per trace, to bring the pages in use down to 90% of the limit),
 * capped at max_traces so one call's transaction stays short and the
 * writer's inserts are not held up.  Pages freed are handed back to the
 * file system with an incremental vacuum (the store is created with
 * auto_vacuum=INCREMENTAL).  Resources, scopes and operations stay: they
 * are few and shared.
 */
#include "collect/store_impl.h"

#include <string.h>

static int query_u64(ig_store *s, const char *sql, int64_t arg, uint64_t *out, ig_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st))
            sqlite3_bind_int64(st, 1, arg);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int64_t v = sqlite3_column_int64(st, 0);
            *out = v > 0 ? (uint64_t)v : 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : ig_store_fail(s, rc, "retention", err);
}

static int used_bytes(ig_store *s, uint64_t *bytes, ig_err *err)
{
    uint64_t pages, free_pages, size;
    int rc;
    if ((rc = query_u64(s, "PRAGMA page_count", 0, &pages, err)) ||
        (rc = query_u64(s, "PRAGMA freelist_count", 0, &free_pages, err)) ||
        (rc = query_u64(s, "PRAGMA page_size", 0, &size, err)))
        return rc;
    *bytes = (pages - (free_pages < pages ? free_pages : pages)) * size;
    return 0;
}

/* How many of the oldest traces the size limit wants gone. */
static int traces_over_size(ig_store *s, uint64_t max_bytes, uint64_t *n, ig_err *err)
{
    *n = 0;
    uint64_t used, traces;
    int rc;
    if (!max_bytes || (rc = used_bytes(s, &used, err)))
        return max_bytes ? rc : 0;
    if (used <= max_bytes)
        return 0;
    if ((rc = query_u64(s, "SELECT count(*) FROM traces", 0, &traces, err)))
        return rc;
    if (!traces)
        return 0;
    uint64_t target = max_bytes / 10 * 9, per_trace = used / traces;
    *n = (used - target + per_trace - 1) / (per_trace ? per_trace : 1);
    return 0;
}

/* The id of the newest trace among the `n` oldest arrivals that also
 * arrived before `before_ns` (0: no age condition), or 0. */
static int cut_id(ig_store *s, uint64_t n, uint64_t before_ns, uint64_t *cut, ig_err *err)
{
    *cut = 0;
    if (!n)
        return 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "SELECT id, received_ns FROM traces ORDER BY id LIMIT ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)n);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (before_ns && (uint64_t)sqlite3_column_int64(st, 1) >= before_ns)
                break;
            *cut = (uint64_t)sqlite3_column_int64(st, 0);
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : ig_store_fail(s, rc, "retention", err);
}

static int delete_through(ig_store *s, uint64_t cut, uint64_t *traces, uint64_t *spans, ig_err *err)
{
    static const char *const steps[] = {
        "DELETE FROM events WHERE span IN (SELECT id FROM spans WHERE trace <= ?1)",
        "DELETE FROM links WHERE span IN (SELECT id FROM spans WHERE trace <= ?1)",
        "DELETE FROM spans WHERE trace <= ?1",
        "DELETE FROM traces WHERE id <= ?1",
    };
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, "retention", err);
    int r = query_u64(s, "SELECT count(*) FROM traces WHERE id <= ?1", (int64_t)cut, traces, err);
    if (!r)
        r = query_u64(s, "SELECT total(span_count) FROM traces WHERE id <= ?1", (int64_t)cut, spans, err);
    for (size_t i = 0; !r && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st;
        rc = sqlite3_prepare_v2(s->db, steps[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)cut);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE && rc != SQLITE_OK)
            r = ig_store_fail(s, rc, "retention", err);
    }
    if (!r && (rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        r = ig_store_fail(s, rc, "retention", err);
    if (r) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        *traces = *spans = 0;
    }
    return r;
}

int ig_store_retain(ig_store *s, uint64_t received_before_ns, uint64_t max_bytes, size_t max_traces,
                    uint64_t *deleted_traces, uint64_t *deleted_spans, ig_err *err)
{
    *deleted_traces = *deleted_spans = 0;
    if (s->in_txn)
        return ig_err_set(err, "%s: retention inside a write transaction", s->path);
    if (s->flags & IG_STORE_READONLY)
        return ig_err_set(err, "%s: opened read-only", s->path);
    uint64_t by_size, cut_age = 0, cut_size = 0;
    int rc = traces_over_size(s, max_bytes, &by_size, err);
    if (!rc && by_size)
        rc = cut_id(s, by_size < max_traces ? by_size : max_traces, 0, &cut_size, err);
    if (!rc && received_before_ns)
        rc = cut_id(s, max_traces, received_before_ns, &cut_age, err);
    if (rc)
        return rc;
    uint64_t cut = cut_age > cut_size ? cut_age : cut_size;
    if (!cut)
        return 0;
    if ((rc = delete_through(s, cut, deleted_traces, deleted_spans, err)))
        return rc;
    ig_store_writer_forget_traces(s);
    rc = sqlite3_exec(s->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, "incremental vacuum", err);
    return 0;
}
