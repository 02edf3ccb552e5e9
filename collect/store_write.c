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
 * spans, events and links are appended.  Resources, scopes and operations
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
} id_cache;

enum { CACHE_MAX = 1 << 16 };

static void cache_clear(id_cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].key);
    free(c->slots);
    memset(c, 0, sizeof *c);
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
    if (c->count >= CACHE_MAX)
        cache_clear(c);
    if (2 * (c->count + 1) > c->cap) {
        id_cache bigger = {ig_xcalloc(c->cap ? c->cap * 2 : 64, sizeof(cache_entry)), c->cap ? c->cap * 2 : 64, 0};
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
    sqlite3_stmt *resource, *scope, *operation, *trace, *span, *event, *link;
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
/* In DO UPDATE, bare column names are the stored row's values. */
static const char SQL_TRACE[] =
    "INSERT INTO traces (trace_id, received_ns, start_ns, end_ns, root_service, root_name, has_root, span_count, error_count) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (trace_id) DO UPDATE SET "
    "root_service = CASE WHEN NOT has_root AND (excluded.has_root OR excluded.start_ns < start_ns) "
    "  THEN excluded.root_service ELSE root_service END, "
    "root_name = CASE WHEN NOT has_root AND (excluded.has_root OR excluded.start_ns < start_ns) "
    "  THEN excluded.root_name ELSE root_name END, "
    "has_root = has_root OR excluded.has_root, start_ns = min(start_ns, excluded.start_ns), "
    "end_ns = max(end_ns, excluded.end_ns), span_count = span_count + excluded.span_count, "
    "error_count = error_count + excluded.error_count RETURNING id";
static const char SQL_SPAN[] =
    "INSERT INTO spans (trace, span_id, parent_span_id, operation, resource, scope, kind, start_ns, end_ns, "
    "status_code, status_message, flags, trace_state, attributes, dropped_attributes, dropped_events, dropped_links) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
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
    sqlite3_stmt *all[] = {w->resource, w->scope, w->operation, w->trace, w->span, w->event, w->link};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    cache_clear(&w->resources);
    cache_clear(&w->scopes);
    cache_clear(&w->operations);
    free(w->aggs);
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
    if (ig_store_prepare(s, SQL_RESOURCE, &w->resource, err) || ig_store_prepare(s, SQL_SCOPE, &w->scope, err) ||
        ig_store_prepare(s, SQL_OPERATION, &w->operation, err) || ig_store_prepare(s, SQL_TRACE, &w->trace, err) ||
        ig_store_prepare(s, SQL_SPAN, &w->span, err) || ig_store_prepare(s, SQL_EVENT, &w->event, err) ||
        ig_store_prepare(s, SQL_LINK, &w->link, err)) {
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
    }
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

static int upsert_trace(ig_store *s, const ig_batch *b, trace_agg *a, ig_err *err)
{
    sqlite3_stmt *st = s->w->trace;
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
    return step_id(s, st, "insert trace", &a->id, err);
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

static int insert_span(ig_store *s, const ig_batch *b, const ig_batch_span *sp, int64_t trace, ig_err *err)
{
    struct store_writer *w = s->w;
    int64_t op;
    int rc = operation_id(s, b->resources[sp->resource].service, sp->name, &op, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = w->span;
    sqlite3_bind_int64(st, 1, trace);
    sqlite3_bind_blob(st, 2, sp->span_id, 8, SQLITE_STATIC);
    if (sp->has_parent)
        sqlite3_bind_blob(st, 3, sp->parent_span_id, 8, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, op);
    sqlite3_bind_int64(st, 5, w->resource_ids[sp->resource]);
    sqlite3_bind_int64(st, 6, w->scope_ids[sp->scope]);
    sqlite3_bind_int(st, 7, sp->kind);
    sqlite3_bind_int64(st, 8, (int64_t)sp->start_ns);
    sqlite3_bind_int64(st, 9, (int64_t)sp->end_ns);
    sqlite3_bind_int(st, 10, sp->status_code);
    bind_text_or_null(st, 11, sp->status_message);
    sqlite3_bind_int64(st, 12, sp->flags);
    bind_text_or_null(st, 13, sp->trace_state);
    bind_text(st, 14, sp->attrs);
    sqlite3_bind_int64(st, 15, sp->dropped_attrs);
    sqlite3_bind_int64(st, 16, sp->dropped_events);
    sqlite3_bind_int64(st, 17, sp->dropped_links);
    if ((rc = step_done(s, st, "insert span", err)))
        return rc;
    if (!sp->nevents && !sp->nlinks)
        return 0;
    int64_t id = sqlite3_last_insert_rowid(s->db);
    if ((rc = insert_events(s, b, sp, id, err)))
        return rc;
    return insert_links(s, b, sp, id, err);
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
            rc = upsert_trace(s, b, &w->aggs[i], err);
    for (uint32_t i = 0; i < b->nspans && !rc; i++)
        rc = insert_span(s, b, &b->spans[i], agg_slot(w, b->spans[i].trace_id)->id, err);
    return rc;
}
