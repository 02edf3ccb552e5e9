/*
 * collect/store_write.c — inserting decoded batches (collect/batch.h).
 *
 * The writer thread calls ig_store_begin, then ig_store_insert for each
 * queued batch, then ig_store_commit: many requests per transaction, one
 * prepared statement per table, values bound straight from the batch.
 *
 * Per batch, spans are first grouped by trace in a small hash table, so
 * each trace's summary row is upserted once (INSERT … ON CONFLICT DO
 * UPDATE … RETURNING id gives the row id whether it existed or not), then
 * spans, events and links are appended.  Spans go SPAN_ROWS to a
 * statement (one multi-row INSERT: the statement's set-up and cursors are
 * paid once per 16 rows) with row ids the writer hands out itself from
 * max(id) + 1, so events and links know their span's id without asking.
 * Resources, scopes and operations
 * are deduplicated through in-memory caches keyed by content (the
 * decoder's digest for resources and scopes, service and name for
 * operations) in front of the same upsert; the caches are bounded
 * (cleared when full) and cleared on rollback, since ids handed out by a
 * transaction that is rolled back no longer exist.
 */
#include "collect/store_impl.h"

#include <stdlib.h>
#include <string.h>

#include "collect/batch.h"
#include "utils/hash.h"
#include "utils/strbuf.h"

/* ---- a bounded (key bytes -> id) cache ------------------------------------------- */

typedef struct cache_entry {
    uint64_t hash;
    int64_t id;     /* 0 = empty slot */
    char *key;      /* key bytes (malloc'd) */
    size_t keylen;
} cache_entry;

typedef struct id_cache {
    cache_entry *slots;
    size_t cap, count;
    size_t max;                 /* entries before it is cleared (0: CACHE_MAX) */
} id_cache;

enum { CACHE_MAX = 1 << 16, TRACE_CACHE_MAX = 1 << 18 };

static void cache_clear(id_cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].key);
    free(c->slots);
    size_t max = c->max;
    memset(c, 0, sizeof *c);
    c->max = max;
}

static cache_entry *cache_slot(id_cache *c, uint64_t hash, const void *key, size_t keylen)
{
    if (!c->cap)
        return NULL;
    for (size_t i = hash & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        cache_entry *e = &c->slots[i];
        if (!e->id || (e->hash == hash && e->keylen == keylen && !memcmp(e->key, key, keylen)))
            return e;
    }
}

static int64_t cache_get(id_cache *c, uint64_t hash, const void *key, size_t keylen)
{
    cache_entry *e = cache_slot(c, hash, key, keylen);
    return e ? e->id : 0;
}

static void cache_put(id_cache *c, uint64_t hash, const void *key, size_t keylen, int64_t id)
{
    if (c->count >= (c->max ? c->max : CACHE_MAX))
        cache_clear(c);
    if (2 * (c->count + 1) > c->cap) {
        id_cache bigger = {ig_xcalloc(c->cap ? c->cap * 2 : 64, sizeof(cache_entry)), c->cap ? c->cap * 2 : 64, 0, c->max};
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].id) {
                *cache_slot(&bigger, c->slots[i].hash, c->slots[i].key, c->slots[i].keylen) = c->slots[i];
                bigger.count++;
            }
        free(c->slots);
        *c = bigger;
    }
    cache_entry *e = cache_slot(c, hash, key, keylen);
    if (e->id)
        return;
    e->hash = hash;
    e->id = id;
    e->key = ig_xmalloc(keylen ? keylen : 1);
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    c->count++;
}

/* ---- the writer's state ------------------------------------------------------------ */

/* Aggregate of one trace's spans within a batch. */
typedef struct trace_agg {
    const uint8_t *trace_id;  /* into the batch (0 = empty slot: trace ids are never all zero) */
    uint64_t start, end;
    uint32_t spans, errors;
    int32_t root;             /* index of the batch span that stands for the root */
    bool has_root;
    int64_t id;               /* traces.id after the upsert */
} trace_agg;

struct store_writer {
    sqlite3_stmt *resource, *scope, *operation, *trace_find, *trace_new, *trace_add, *event, *link;
    id_cache traces_by_id;        /* trace_id -> traces.id of traces seen lately */
    sqlite3_stmt *span1, *spans;  /* one row, SPAN_ROWS rows */
    int64_t next_span;            /* id of the next span; 0 = read max(id) first */
    int64_t *ops, *traces;        /* per span of the batch: operation and trace ids */
    size_t ops_cap;
    id_cache resources, scopes, operations;
    trace_agg *aggs;          /* per-batch table, power-of-two capacity */
    size_t aggcap;
    int64_t *resource_ids, *scope_ids; /* per batch: batch index -> row id */
    size_t ids_cap_r, ids_cap_s;
    ig_strbuf key;
};

static const char SQL_RESOURCE[] =
    "INSERT INTO resources (digest, service, attributes, dropped_attributes, schema_url) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (digest) DO UPDATE SET digest = excluded.digest RETURNING id";
static const char SQL_SCOPE[] =
    "INSERT INTO scopes (digest, name, version, attributes, dropped_attributes, schema_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (digest) DO UPDATE SET digest = excluded.digest RETURNING id";
static const char SQL_OPERATION[] =
    "INSERT INTO operations (service, name) VALUES (?1, ?2) "
    "ON CONFLICT (service, name) DO UPDATE SET name = excluded.name RETURNING id";
/* Traces: found through the writer's cache and updated by row id, or
 * else inserted; only when the insert is ignored (a trace stored before
 * the cache knew it) looked up through the unique index and updated.  Most
 * traces are new, and this way cost one index search instead of two.
 * Single-row statements need no statement journal, unlike an upsert. */
static const char SQL_TRACE_FIND[] = "SELECT id FROM traces WHERE trace_id = ?1";
static const char SQL_TRACE_NEW[] =
    "INSERT OR IGNORE INTO traces (trace_id, received_ns, start_ns, end_ns, root_service, root_name, has_root, span_count, error_count) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_TRACE_ADD[] =
    "UPDATE traces SET "
    "root_service = CASE WHEN NOT has_root AND (?4 OR ?2 < start_ns) THEN ?5 ELSE root_service END, "
    "root_name = CASE WHEN NOT has_root AND (?4 OR ?2 < start_ns) THEN ?6 ELSE root_name END, "
    "has_root = has_root OR ?4, start_ns = min(start_ns, ?2), end_ns = max(end_ns, ?3), "
    "span_count = span_count + ?7, error_count = error_count + ?8 WHERE id = ?1";
enum { SPAN_COLS = 18, SPAN_ROWS = 16 };
/* OR IGNORE: a NOT NULL constraint that may abort would make every
 * multi-row INSERT open a statement journal; nothing bound here is NULL
 * where the schema says NOT NULL and ids are unique, and insert_spans
 * checks that every row went in. */
static const char SQL_SPAN_HEAD[] =
    "INSERT OR IGNORE INTO spans (id, trace, span_id, parent_span_id, operation, resource, scope, kind, start_ns, end_ns, "
    "status_code, status_message, flags, trace_state, attributes, dropped_attributes, dropped_events, dropped_links) "
    "VALUES ";
static const char SQL_SPAN_ROW[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char SQL_EVENT[] =
    "INSERT INTO events (span, time_ns, name, attributes, dropped_attributes) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_LINK[] =
    "INSERT INTO links (span, trace_id, span_id, trace_state, flags, attributes, dropped_attributes) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

void ig_store_writer_free(ig_store *s)
{
    struct store_writer *w = s->w;
    if (!w)
        return;
    sqlite3_stmt *all[] = {w->resource, w->scope, w->operation, w->trace_find, w->trace_new, w->trace_add,
                           w->span1, w->spans, w->event, w->link};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    cache_clear(&w->resources);
    cache_clear(&w->scopes);
    cache_clear(&w->operations);
    cache_clear(&w->traces_by_id);
    free(w->aggs);
    free(w->ops);
    free(w->traces);
    free(w->resource_ids);
    free(w->scope_ids);
    ig_sb_free(&w->key);
    free(w);
    s->w = NULL;
}

static int writer_init(ig_store *s, ig_err *err)
{
    if (s->w)
        return 0;
    if (s->flags & IG_STORE_READONLY)
        return ig_err_set(err, "%s: opened read-only", s->path);
    struct store_writer *w = s->w = ig_xcalloc(1, sizeof *w);
    ig_strbuf one = IG_STRBUF_INIT, many = IG_STRBUF_INIT;
    ig_sb_puts(&one, SQL_SPAN_HEAD);
    ig_sb_puts(&one, SQL_SPAN_ROW);
    ig_sb_puts(&many, SQL_SPAN_HEAD);
    for (int i = 0; i < SPAN_ROWS; i++) {
        ig_sb_puts(&many, i ? "," : "");
        ig_sb_puts(&many, SQL_SPAN_ROW);
    }
    w->traces_by_id.max = TRACE_CACHE_MAX;
    int rc = ig_store_prepare(s, SQL_RESOURCE, &w->resource, err) || ig_store_prepare(s, SQL_SCOPE, &w->scope, err) ||
             ig_store_prepare(s, SQL_OPERATION, &w->operation, err) ||
             ig_store_prepare(s, SQL_TRACE_FIND, &w->trace_find, err) ||
             ig_store_prepare(s, SQL_TRACE_NEW, &w->trace_new, err) ||
             ig_store_prepare(s, SQL_TRACE_ADD, &w->trace_add, err) ||
             ig_store_prepare(s, one.data, &w->span1, err) || ig_store_prepare(s, many.data, &w->spans, err) ||
             ig_store_prepare(s, SQL_EVENT, &w->event, err) || ig_store_prepare(s, SQL_LINK, &w->link, err);
    ig_sb_free(&one);
    ig_sb_free(&many);
    if (rc) {
        ig_store_writer_free(s);
        return -1;
    }
    return 0;
}

/* ---- transactions --------------------------------------------------------------------- */

int ig_store_begin(ig_store *s, ig_err *err)
{
    if (writer_init(s, err) < 0)
        return -1;
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, "begin", err);
    s->in_txn = true;
    return 0;
}

int ig_store_commit(ig_store *s, ig_err *err)
{
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int r = ig_store_fail(s, rc, "commit", err);
        ig_store_rollback(s);
        return r;
    }
    s->in_txn = false;
    return 0;
}

void ig_store_rollback(ig_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = false;
    if (s->w) { /* ids created in the transaction are gone */
        cache_clear(&s->w->resources);
        cache_clear(&s->w->scopes);
        cache_clear(&s->w->operations);
        cache_clear(&s->w->traces_by_id);
        s->w->next_span = 0;
    }
}

void ig_store_writer_forget_traces(ig_store *s)
{
    if (s->w)
        cache_clear(&s->w->traces_by_id);
}

/* ---- binding helpers ------------------------------------------------------------------ */

static void bind_text(sqlite3_stmt *st, int i, ig_bstr v)
{
    sqlite3_bind_text(st, i, v.s, (int)v.len, SQLITE_STATIC);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, ig_bstr v)
{
    if (v.len)
        sqlite3_bind_text(st, i, v.s, (int)v.len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a statement that returns one id (RETURNING) or none. */
static int step_id(ig_store *s, sqlite3_stmt *st, const char *what, int64_t *id, ig_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (id)
            *id = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ig_store_fail(s, rc, what, err);
    return 0;
}

static int step_done(ig_store *s, sqlite3_stmt *st, const char *what, ig_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return ig_store_fail(s, rc, what, err);
    return 0;
}

/* ---- resources, scopes, operations ------------------------------------------------------ */

static int resource_id(ig_store *s, const ig_batch_resource *r, int64_t *id, ig_err *err)
{
    struct store_writer *w = s->w;
    if ((*id = cache_get(&w->resources, r->digest, &r->digest, sizeof r->digest)))
        return 0;
    sqlite3_stmt *st = w->resource;
    sqlite3_bind_int64(st, 1, (int64_t)r->digest);
    bind_text(st, 2, r->service);
    bind_text(st, 3, r->attrs);
    sqlite3_bind_int64(st, 4, r->dropped_attrs);
    bind_text(st, 5, r->schema_url);
    int rc = step_id(s, st, "insert resource", id, err);
    if (rc == 0)
        cache_put(&w->resources, r->digest, &r->digest, sizeof r->digest, *id);
    return rc;
}

static int scope_id(ig_store *s, const ig_batch_scope *c, int64_t *id, ig_err *err)
{
    struct store_writer *w = s->w;
    if ((*id = cache_get(&w->scopes, c->digest, &c->digest, sizeof c->digest)))
        return 0;
    sqlite3_stmt *st = w->scope;
    sqlite3_bind_int64(st, 1, (int64_t)c->digest);
    bind_text(st, 2, c->name);
    bind_text(st, 3, c->version);
    bind_text(st, 4, c->attrs);
    sqlite3_bind_int64(st, 5, c->dropped_attrs);
    bind_text(st, 6, c->schema_url);
    int rc = step_id(s, st, "insert scope", id, err);
    if (rc == 0)
        cache_put(&w->scopes, c->digest, &c->digest, sizeof c->digest, *id);
    return rc;
}

static int operation_id(ig_store *s, ig_bstr service, ig_bstr name, int64_t *id, ig_err *err)
{
    struct store_writer *w = s->w;
    ig_sb_reset(&w->key);
    ig_sb_append(&w->key, service.s, service.len + 1); /* with the NUL as separator */
    ig_sb_append(&w->key, name.s, name.len);
    uint64_t h = ig_hash_bytes(w->key.data, w->key.len, 0x6f70);
    if ((*id = cache_get(&w->operations, h, w->key.data, w->key.len)))
        return 0;
    sqlite3_stmt *st = w->operation;
    bind_text(st, 1, service);
    bind_text(st, 2, name);
    int rc = step_id(s, st, "insert operation", id, err);
    if (rc == 0)
        cache_put(&w->operations, h, w->key.data, w->key.len, *id);
    return rc;
}

/* ---- traces ------------------------------------------------------------------------------- */

static trace_agg *agg_slot(struct store_writer *w, const uint8_t *trace_id)
{
    uint64_t h;
    memcpy(&h, trace_id, 8);
    h = ig_hash_mix(h ^ trace_id[8]);
    for (size_t i = h & (w->aggcap - 1);; i = (i + 1) & (w->aggcap - 1))
        if (!w->aggs[i].trace_id || !memcmp(w->aggs[i].trace_id, trace_id, 16))
            return &w->aggs[i];
}

static void aggregate_traces(struct store_writer *w, const ig_batch *b)
{
    size_t need = 16;
    while (need < 2 * (size_t)b->nspans)
        need *= 2;
    if (need > w->aggcap) {
        free(w->aggs);
        w->aggs = ig_xmalloc(need * sizeof *w->aggs);
        w->aggcap = need;
    }
    memset(w->aggs, 0, w->aggcap * sizeof *w->aggs);
    for (uint32_t i = 0; i < b->nspans; i++) {
        const ig_batch_span *sp = &b->spans[i];
        trace_agg *a = agg_slot(w, sp->trace_id);
        if (!a->trace_id) {
            *a = (trace_agg){.trace_id = sp->trace_id, .start = sp->start_ns, .end = sp->end_ns,
                             .root = (int32_t)i, .has_root = !sp->has_parent};
        } else {
            if (!a->has_root && (!sp->has_parent || sp->start_ns < b->spans[a->root].start_ns)) {
                a->root = (int32_t)i;
                a->has_root = !sp->has_parent;
            }
            if (sp->start_ns < a->start)
                a->start = sp->start_ns;
            if (sp->end_ns > a->end)
                a->end = sp->end_ns;
        }
        a->spans++;
        a->errors += sp->status_code == 2;
    }
}

static uint64_t trace_hash(const uint8_t *trace_id)
{
    return ig_hash_bytes(trace_id, 16, 0x7472);
}

/* traces.id of a stored trace (the unique index), or 0. */
static int find_trace(ig_store *s, const uint8_t *trace_id, int64_t *id, ig_err *err)
{
    sqlite3_stmt *st = s->w->trace_find;
    sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ig_store_fail(s, rc, "find trace", err);
    return 0;
}

/* Adds a batch's share to a stored trace; *gone when the row is not there
 * any more (retention deleted it after it was cached). */
static int add_to_trace(ig_store *s, const ig_batch *b, const trace_agg *a, int64_t id, bool *gone, ig_err *err)
{
    sqlite3_stmt *st = s->w->trace_add;
    const ig_batch_span *root = &b->spans[a->root];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)a->start);
    sqlite3_bind_int64(st, 3, (int64_t)a->end);
    sqlite3_bind_int(st, 4, a->has_root);
    bind_text(st, 5, b->resources[root->resource].service);
    bind_text(st, 6, root->name);
    sqlite3_bind_int64(st, 7, a->spans);
    sqlite3_bind_int64(st, 8, a->errors);
    int rc = step_done(s, st, "update trace", err);
    *gone = rc == 0 && sqlite3_changes(s->db) == 0;
    return rc;
}

/* Inserts the trace; a->id = 0 when it is stored already. */
static int new_trace(ig_store *s, const ig_batch *b, trace_agg *a, ig_err *err)
{
    sqlite3_stmt *st = s->w->trace_new;
    const ig_batch_span *root = &b->spans[a->root];
    sqlite3_bind_blob(st, 1, a->trace_id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)b->received_ns);
    sqlite3_bind_int64(st, 3, (int64_t)a->start);
    sqlite3_bind_int64(st, 4, (int64_t)a->end);
    bind_text(st, 5, b->resources[root->resource].service);
    bind_text(st, 6, root->name);
    sqlite3_bind_int(st, 7, a->has_root);
    sqlite3_bind_int64(st, 8, a->spans);
    sqlite3_bind_int64(st, 9, a->errors);
    int rc = step_done(s, st, "insert trace", err);
    a->id = rc == 0 && sqlite3_changes(s->db) == 1 ? sqlite3_last_insert_rowid(s->db) : 0;
    return rc;
}

static int store_trace(ig_store *s, const ig_batch *b, trace_agg *a, ig_err *err)
{
    struct store_writer *w = s->w;
    uint64_t h = trace_hash(a->trace_id);
    bool gone = true;
    int rc = 0;
    if ((a->id = cache_get(&w->traces_by_id, h, a->trace_id, 16)) &&
        ((rc = add_to_trace(s, b, a, a->id, &gone, err)) || !gone))
        return rc;
    if (a->id) /* stale: retention deleted the trace */
        cache_clear(&w->traces_by_id);
    if ((rc = new_trace(s, b, a, err)))
        return rc;
    if (!a->id) { /* stored before the cache knew it */
        if ((rc = find_trace(s, a->trace_id, &a->id, err)) || (rc = add_to_trace(s, b, a, a->id, &gone, err)))
            return rc;
        if (!a->id || gone)
            return ig_err_set(err, "%s: trace row neither inserted nor found", s->path);
    }
    cache_put(&w->traces_by_id, h, a->trace_id, 16, a->id);
    return 0;
}

/* ---- spans, events, links ------------------------------------------------------------------- */

static int insert_events(ig_store *s, const ig_batch *b, const ig_batch_span *sp, int64_t span, ig_err *err)
{
    sqlite3_stmt *st = s->w->event;
    for (uint32_t i = 0; i < sp->nevents; i++) {
        const ig_batch_event *e = &b->events[sp->first_event + i];
        sqlite3_bind_int64(st, 1, span);
        sqlite3_bind_int64(st, 2, (int64_t)e->time_ns);
        bind_text(st, 3, e->name);
        bind_text(st, 4, e->attrs);
        sqlite3_bind_int64(st, 5, e->dropped_attrs);
        int rc = step_done(s, st, "insert event", err);
        if (rc)
            return rc;
    }
    return 0;
}

static int insert_links(ig_store *s, const ig_batch *b, const ig_batch_span *sp, int64_t span, ig_err *err)
{
    sqlite3_stmt *st = s->w->link;
    for (uint32_t i = 0; i < sp->nlinks; i++) {
        const ig_batch_link *l = &b->links[sp->first_link + i];
        sqlite3_bind_int64(st, 1, span);
        sqlite3_bind_blob(st, 2, l->trace_id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, l->span_id, 8, SQLITE_STATIC);
        bind_text_or_null(st, 4, l->trace_state);
        sqlite3_bind_int64(st, 5, l->flags);
        bind_text(st, 6, l->attrs);
        sqlite3_bind_int64(st, 7, l->dropped_attrs);
        int rc = step_done(s, st, "insert link", err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Binds span i of the batch as the row starting at parameter p. */
static void bind_span(struct store_writer *w, sqlite3_stmt *st, int p, const ig_batch *b, uint32_t i, int64_t id)
{
    const ig_batch_span *sp = &b->spans[i];
    sqlite3_bind_int64(st, p, id);
    sqlite3_bind_int64(st, p + 1, w->traces[i]);
    sqlite3_bind_blob(st, p + 2, sp->span_id, 8, SQLITE_STATIC);
    if (sp->has_parent)
        sqlite3_bind_blob(st, p + 3, sp->parent_span_id, 8, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, p + 3);
    sqlite3_bind_int64(st, p + 4, w->ops[i]);
    sqlite3_bind_int64(st, p + 5, w->resource_ids[sp->resource]);
    sqlite3_bind_int64(st, p + 6, w->scope_ids[sp->scope]);
    sqlite3_bind_int(st, p + 7, sp->kind);
    sqlite3_bind_int64(st, p + 8, (int64_t)sp->start_ns);
    sqlite3_bind_int64(st, p + 9, (int64_t)sp->end_ns);
    sqlite3_bind_int(st, p + 10, sp->status_code);
    bind_text_or_null(st, p + 11, sp->status_message);
    sqlite3_bind_int64(st, p + 12, sp->flags);
    bind_text_or_null(st, p + 13, sp->trace_state);
    bind_text(st, p + 14, sp->attrs);
    sqlite3_bind_int64(st, p + 15, sp->dropped_attrs);
    sqlite3_bind_int64(st, p + 16, sp->dropped_events);
    sqlite3_bind_int64(st, p + 17, sp->dropped_links);
}

/* The id the next span gets: one past the largest stored. */
static int first_span_id(ig_store *s, int64_t *id, ig_err *err)
{
    struct store_writer *w = s->w;
    if (!w->next_span) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) + 1 FROM spans", -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            w->next_span = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            return ig_store_fail(s, rc, "span ids", err);
    }
    *id = w->next_span;
    return 0;
}

/* Operation and trace ids of every span of the batch. */
static int span_refs(ig_store *s, const ig_batch *b, ig_err *err)
{
    struct store_writer *w = s->w;
    if (b->nspans > w->ops_cap) {
        w->ops = ig_xrealloc(w->ops, b->nspans * sizeof *w->ops);
        w->traces = ig_xrealloc(w->traces, b->nspans * sizeof *w->traces);
        w->ops_cap = b->nspans;
    }
    for (uint32_t i = 0; i < b->nspans; i++) {
        const ig_batch_span *sp = &b->spans[i];
        int rc = operation_id(s, b->resources[sp->resource].service, sp->name, &w->ops[i], err);
        if (rc)
            return rc;
        w->traces[i] = agg_slot(w, sp->trace_id)->id;
    }
    return 0;
}

static int insert_spans(ig_store *s, const ig_batch *b, int64_t first, ig_err *err)
{
    struct store_writer *w = s->w;
    uint32_t i = 0;
    while (i < b->nspans) {
        uint32_t n = b->nspans - i >= SPAN_ROWS ? SPAN_ROWS : 1;
        sqlite3_stmt *st = n == SPAN_ROWS ? w->spans : w->span1;
        for (uint32_t k = 0; k < n; k++)
            bind_span(w, st, 1 + (int)k * SPAN_COLS, b, i + k, first + i + k);
        int rc = step_done(s, st, "insert span", err);
        if (rc)
            return rc;
        if (sqlite3_changes(s->db) != (int)n)
            return ig_err_set(err, "%s: insert span: %d of %u rows stored", s->path, sqlite3_changes(s->db), n);
        i += n;
    }
    for (i = 0; i < b->nspans; i++) {
        const ig_batch_span *sp = &b->spans[i];
        int rc = insert_events(s, b, sp, first + i, err);
        if (!rc)
            rc = insert_links(s, b, sp, first + i, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Row ids of the batch's resources and scopes. */
static int batch_owner_ids(ig_store *s, const ig_batch *b, ig_err *err)
{
    struct store_writer *w = s->w;
    if (b->nresources > w->ids_cap_r) {
        w->resource_ids = ig_xrealloc(w->resource_ids, b->nresources * sizeof *w->resource_ids);
        w->ids_cap_r = b->nresources;
    }
    if (b->nscopes > w->ids_cap_s) {
        w->scope_ids = ig_xrealloc(w->scope_ids, b->nscopes * sizeof *w->scope_ids);
        w->ids_cap_s = b->nscopes;
    }
    int rc = 0;
    for (uint32_t i = 0; i < b->nresources && !rc; i++)
        rc = resource_id(s, &b->resources[i], &w->resource_ids[i], err);
    for (uint32_t i = 0; i < b->nscopes && !rc; i++)
        rc = scope_id(s, &b->scopes[i], &w->scope_ids[i], err);
    return rc;
}

int ig_store_insert(ig_store *s, const ig_batch *b, ig_err *err)
{
    if (!s->in_txn)
        return ig_err_set(err, "%s: insert outside a transaction", s->path);
    if (!b->nspans)
        return 0;
    struct store_writer *w = s->w;
    int rc = batch_owner_ids(s, b, err);
    if (rc)
        return rc;
    aggregate_traces(w, b);
    for (size_t i = 0; i < w->aggcap && !rc; i++)
        if (w->aggs[i].trace_id)
            rc = store_trace(s, b, &w->aggs[i], err);
    int64_t first = 0;
    if (!rc)
        rc = span_refs(s, b, err);
    if (!rc)
        rc = first_span_id(s, &first, err);
    if (!rc && !(rc = insert_spans(s, b, first, err)))
        w->next_span = first + b->nspans;
    return rc;
}
