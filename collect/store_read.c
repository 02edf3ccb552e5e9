/*
 * collect/store_read.c — the store's queries for `ignis view`.
 *
 * Trace list: one SELECT over the `traces` summary table with the
 * filter's conditions in its WHERE clause, sorted and paged by SQLite, and
 * one count(*) with the same conditions.  Conditions about spans (service,
 * name, operation bucket) are EXISTS probes into the spans_trace index
 * (trace, operation, start, end, status), so the first page of a sorted
 * list stops after `limit` matches; the attribute condition pre-filters
 * span rows by substring (the key as the JSON text spells it) before it
 * looks inside the JSON.
 *
 * One trace: its spans (sorted by start) with operation names interned per
 * operation id, then its events and link counts; parents are resolved
 * in memory by span id, and a parent chain that loops is cut where it
 * closes (ig_store_span.parent_state says why a span has no parent).
 *
 * Operations: one pass over the spans_trace index (it covers operation,
 * start, end and status) collects every span's duration per operation;
 * sorting each operation's durations gives exact nearest-rank
 * percentiles.
 *
 * Text comes back as C strings for display: a stored NUL (OTLP strings
 * may hold U+0000) is shown as \u0000 (ig_arena_text), in names, values
 * and what REGEXP matches, so a name is never cut into a shorter one.
 *
 * Values the writer never stores are not trusted either (a store copied
 * and edited by hand): a negative count reads as 0, and an id of the
 * wrong size as the all-zero (invalid) id — never a count of 2^32 - 5 nor
 * a prefix shown as a real id.
 */
#include "collect/store_impl.h"

#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/hash.h"
#include "utils/strbuf.h"

const double ig_span_bounds_s[IG_SPAN_BOUNDS] = {0.002, 0.004, 0.006, 0.008, 0.010, 0.050, 0.100, 0.200,
                                                 0.400, 0.800, 1.0,   1.4,   2.0,   5.0,   10.0,  15.0};

/* ---- REGEXP ----------------------------------------------------------------------- */

static void regex_free(void *p)
{
    regfree(p);
    free(p);
}

/* text REGEXP pattern: calls regexp(pattern, text); POSIX ERE, compiled
 * once per statement (auxdata).  Text holding a NUL is matched as shown
 * (ig_arena_text: \u0000), so "^a$" never matches "a\u0000b". */
static void sql_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    regex_t *re = sqlite3_get_auxdata(ctx, 0);
    if (!re) {
        const char *pattern = (const char *)sqlite3_value_text(argv[0]);
        re = ig_xmalloc(sizeof *re);
        if (!pattern || regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            free(re);
            sqlite3_result_error(ctx, "invalid regular expression", -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, re, regex_free);
        if (!(re = sqlite3_get_auxdata(ctx, 0))) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    const char *text = (const char *)sqlite3_value_text(argv[1]);
    size_t len = text ? (size_t)sqlite3_value_bytes(argv[1]) : 0;
    if (text && memchr(text, '\0', len)) {
        ig_store_arena shown = {0};
        sqlite3_result_int(ctx, regexec(re, ig_arena_text(&shown, text, len, NULL), 0, NULL, 0) == 0);
        ig_arena_free(&shown);
        return;
    }
    sqlite3_result_int(ctx, text && regexec(re, text, 0, NULL, 0) == 0);
}

int ig_store_register_functions(ig_store *s)
{
    return sqlite3_create_function(s->db, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_regexp,
                                   NULL, NULL);
}

/* ---- helpers ------------------------------------------------------------------------- */

/* Column i as display text: whole, a NUL in it shown as \u0000 (ig_arena_text). */
static const char *col_text_len(sqlite3_stmt *st, int i, ig_store_arena *a, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return ig_arena_text(a, t ? t : "", t ? (size_t)sqlite3_column_bytes(st, i) : 0, len);
}

static const char *col_text(sqlite3_stmt *st, int i, ig_store_arena *a)
{
    return col_text_len(st, i, a, NULL);
}

/* Column i as an id of n bytes.  The store writes ids of exactly their
 * size; one of another size (a store edited by hand) reads as the all-zero
 * id, which OTLP calls invalid, never as a prefix passed off as a real id. */
static void col_blob(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    const void *p = sqlite3_column_blob(st, i);
    if (p && (size_t)sqlite3_column_bytes(st, i) == n)
        memcpy(out, p, n);
}

/* Column i as a count: the store writes 0 or more; a negative one (a store
 * edited by hand) reads as 0, and one past 32 bits as UINT32_MAX. */
static uint32_t col_count(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Finishes a statement that stepped until rc; 0 when it ended well. */
static int finish(ig_store *s, sqlite3_stmt *st, int rc, const char *what, ig_err *err)
{
    if (rc == SQLITE_DONE || rc == SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    ig_store_fail(s, rc, what, err);
    sqlite3_finalize(st);
    return -1;
}

static int prepare(ig_store *s, const char *sql, sqlite3_stmt **st, ig_err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        ig_store_fail(s, rc, "query", err);
        sqlite3_finalize(*st);
        *st = NULL;
        return -1;
    }
    return 0;
}

/* The key as it appears in the stored JSON text, with its quotes and
 * colon: the substring a span's attributes must contain to have it. */
static void json_key_needle(const char *key, ig_strbuf *out)
{
    json_object *o = json_object_new_string(key);
    size_t n;
    const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    ig_sb_append(out, t, n);
    ig_sb_putc(out, ':');
    json_object_put(o);
}

/* A read transaction so several queries see one snapshot; nested in a
 * transaction the caller has open, it is that one. */
static bool read_begin(ig_store *s, ig_err *err)
{
    err->msg[0] = '\0';
    if (!sqlite3_get_autocommit(s->db))
        return false;
    return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

static void read_end(ig_store *s, bool began)
{
    if (began)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* ---- the trace list --------------------------------------------------------------------- */

/* Text of a json_each value as the filter compares it. */
#define JSON_VALUE_TEXT "(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN '' " \
                        "ELSE CAST(j.value AS TEXT) END)"

typedef struct where_clause {
    ig_strbuf sql;
    ig_strbuf needle;
} where_clause;

/* Appends the filter's conditions; parameters are named so one binding
 * function serves both the list and the count. */
static int build_where(const ig_trace_filter *f, where_clause *w, ig_err *err)
{
    ig_sb_puts(&w->sql, " WHERE 1");
    if (!f)
        return 0;
    if (f->name_regex && *f->name_regex) {
        regex_t re;
        int rc = regcomp(&re, f->name_regex, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &re, msg, sizeof msg);
            return ig_err_set(err, "name regex '%s': %s", f->name_regex, msg);
        }
        regfree(&re);
    }
    bool by_service = f->service && *f->service, by_name = f->name_regex && *f->name_regex;
    if (by_service || by_name) {
        ig_sb_puts(&w->sql, " AND EXISTS (SELECT 1 FROM spans s WHERE s.trace = t.id AND s.operation IN "
                            "(SELECT id FROM operations WHERE 1");
        if (by_service)
            ig_sb_puts(&w->sql, " AND service = :service");
        if (by_name)
            ig_sb_puts(&w->sql, " AND name REGEXP :name");
        ig_sb_puts(&w->sql, "))");
    }
    if (f->attr_key && *f->attr_key) {
        json_key_needle(f->attr_key, &w->needle);
        ig_sb_puts(&w->sql, " AND EXISTS (SELECT 1 FROM spans s WHERE s.trace = t.id AND ("
                            "(instr(s.attributes, :needle) AND EXISTS (SELECT 1 FROM json_each(s.attributes) j "
                            "WHERE j.key = :key AND " JSON_VALUE_TEXT " = :value)) "
                            "OR s.resource IN (SELECT r.id FROM resources r, json_each(r.attributes) j "
                            "WHERE j.key = :key AND " JSON_VALUE_TEXT " = :value)))");
    }
    if (f->min_duration_ns)
        ig_sb_puts(&w->sql, " AND t.end_ns - t.start_ns >= :mindur");
    if (f->max_duration_ns)
        ig_sb_puts(&w->sql, " AND t.end_ns - t.start_ns <= :maxdur");
    if (f->start_from_ns)
        ig_sb_puts(&w->sql, " AND t.start_ns >= :from");
    if (f->start_to_ns)
        ig_sb_puts(&w->sql, " AND t.start_ns < :to");
    if (f->errors_only)
        ig_sb_puts(&w->sql, " AND t.error_count > 0");
    if (f->operation) {
        ig_sb_puts(&w->sql, " AND EXISTS (SELECT 1 FROM spans s WHERE s.trace = t.id AND s.operation = :op"
                            " AND s.end_ns - s.start_ns >= :opmin");
        if (f->op_max_duration_ns)
            ig_sb_puts(&w->sql, " AND s.end_ns - s.start_ns < :opmax");
        ig_sb_puts(&w->sql, ")");
    }
    return 0;
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *v, int len)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        sqlite3_bind_text(st, i, v, len, SQLITE_STATIC);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, uint64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i)
        sqlite3_bind_int64(st, i, (int64_t)v);
}

static void bind_filter(sqlite3_stmt *st, const ig_trace_filter *f, const where_clause *w)
{
    if (!f)
        return;
    bind_named_text(st, ":service", f->service, -1);
    bind_named_text(st, ":name", f->name_regex, -1);
    bind_named_text(st, ":needle", w->needle.data, (int)w->needle.len);
    bind_named_text(st, ":key", f->attr_key, -1);
    bind_named_text(st, ":value", f->attr_value ? f->attr_value : "", -1);
    bind_named_int(st, ":mindur", f->min_duration_ns);
    bind_named_int(st, ":maxdur", f->max_duration_ns);
    bind_named_int(st, ":from", f->start_from_ns);
    bind_named_int(st, ":to", f->start_to_ns);
    bind_named_int(st, ":op", (uint64_t)f->operation);
    bind_named_int(st, ":opmin", f->op_min_duration_ns);
    bind_named_int(st, ":opmax", f->op_max_duration_ns);
}

static const char *sort_column(ig_trace_sort sort)
{
    switch (sort) {
    case IG_TRACE_SORT_DURATION: return "t.end_ns - t.start_ns";
    case IG_TRACE_SORT_SPANS: return "t.span_count";
    case IG_TRACE_SORT_ERRORS: return "t.error_count";
    case IG_TRACE_SORT_SERVICE: return "t.root_service";
    case IG_TRACE_SORT_NAME: return "t.root_name";
    default: return "t.start_ns";
    }
}

static int count_traces(ig_store *s, const ig_trace_filter *f, const where_clause *w, uint64_t *total, ig_err *err)
{
    ig_strbuf sql = IG_STRBUF_INIT;
    ig_sb_puts(&sql, "SELECT count(*) FROM traces t");
    ig_sb_append(&sql, w->sql.data, w->sql.len);
    sqlite3_stmt *st;
    int rc = prepare(s, sql.data, &st, err);
    ig_sb_free(&sql);
    if (rc)
        return -1;
    bind_filter(st, f, w);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *total = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    return finish(s, st, rc, "count traces", err);
}

static void read_trace_row(sqlite3_stmt *st, ig_trace_row *r, ig_store_arena *a)
{
    r->id = sqlite3_column_int64(st, 0);
    col_blob(st, 1, r->trace_id, 16);
    r->start_ns = (uint64_t)sqlite3_column_int64(st, 2);
    r->end_ns = (uint64_t)sqlite3_column_int64(st, 3);
    r->root_service = col_text(st, 4, a);
    r->root_name = col_text(st, 5, a);
    r->has_root = sqlite3_column_int(st, 6) != 0;
    r->span_count = col_count(st, 7);
    r->error_count = col_count(st, 8);
}

static int select_traces(ig_store *s, const ig_trace_filter *f, const where_clause *w, ig_trace_sort sort,
                         bool desc, size_t offset, size_t limit, ig_trace_list *out, ig_err *err)
{
    ig_strbuf sql = IG_STRBUF_INIT;
    const char *dir = desc ? "DESC" : "ASC";
    ig_sb_puts(&sql, "SELECT t.id, t.trace_id, t.start_ns, t.end_ns, t.root_service, t.root_name, t.has_root, "
                     "t.span_count, t.error_count FROM traces t");
    ig_sb_append(&sql, w->sql.data, w->sql.len);
    ig_sb_printf(&sql, " ORDER BY %s %s", sort_column(sort), dir);
    if (sort != IG_TRACE_SORT_START)
        ig_sb_printf(&sql, ", t.start_ns %s", dir);
    ig_sb_printf(&sql, ", t.id %s LIMIT %zu OFFSET %zu", dir, limit, offset);
    sqlite3_stmt *st;
    int rc = prepare(s, sql.data, &st, err);
    ig_sb_free(&sql);
    if (rc)
        return -1;
    bind_filter(st, f, w);
    size_t cap = limit < 1024 ? limit : 1024;
    out->rows = ig_xmalloc((cap ? cap : 1) * sizeof *out->rows);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap *= 2;
            out->rows = ig_xrealloc(out->rows, cap * sizeof *out->rows);
        }
        read_trace_row(st, &out->rows[out->n++], out->arena);
    }
    return finish(s, st, rc, "list traces", err);
}

int ig_store_list_traces(ig_store *s, const ig_trace_filter *f, ig_trace_sort sort, bool descending, size_t offset,
                         size_t limit, ig_trace_list *out, ig_err *err)
{
    memset(out, 0, sizeof *out);
    out->arena = ig_arena_new();
    where_clause w = {IG_STRBUF_INIT, IG_STRBUF_INIT};
    bool began = read_begin(s, err); /* the count and the rows agree */
    int rc = build_where(f, &w, err);
    if (rc == 0)
        rc = count_traces(s, f, &w, &out->total, err);
    if (rc == 0 && limit)
        rc = select_traces(s, f, &w, sort, descending, offset, limit, out, err);
    read_end(s, began);
    ig_sb_free(&w.sql);
    ig_sb_free(&w.needle);
    if (rc)
        ig_trace_list_free(out);
    return rc ? -1 : 0;
}

void ig_trace_list_free(ig_trace_list *l)
{
    free(l->rows);
    ig_arena_destroy(l->arena);
    memset(l, 0, sizeof *l);
}

int ig_store_find_trace(ig_store *s, const uint8_t trace_id[16], int64_t *id, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT id FROM traces WHERE trace_id = ?1", &st, err))
        return -1;
    sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found) {
        *id = sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    return finish(s, st, rc, "find trace", err) ? -1 : found;
}

int ig_store_services(ig_store *s, char ***names, size_t *n, ig_err *err)
{
    *names = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT DISTINCT service FROM operations ORDER BY service", &st, err))
        return -1;
    ig_strbuf text = IG_STRBUF_INIT;
    size_t count = 0;
    int rc;
    ig_store_arena shown = {0};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len;
        ig_arena_reset(&shown);
        const char *t = col_text_len(st, 0, &shown, &len);
        ig_sb_append(&text, t, len + 1);
        count++;
    }
    ig_arena_free(&shown);
    if (finish(s, st, rc, "services", err)) {
        ig_sb_free(&text);
        return -1;
    }
    /* one block: the pointer array, then the strings */
    char **block = ig_xmalloc(count * sizeof(char *) + text.len + 1);
    char *strings = (char *)(block + count);
    if (text.len)
        memcpy(strings, text.data, text.len);
    for (size_t i = 0, off = 0; i < count; i++) {
        block[i] = strings + off;
        off += strlen(strings + off) + 1;
    }
    ig_sb_free(&text);
    *names = block;
    *n = count;
    return 0;
}

/* ---- one trace -------------------------------------------------------------------------- */

/* Interned (service, name) per operation id, for the spans of one trace. */
typedef struct op_name {
    int64_t id; /* 0 = empty */
    const char *service, *name;
} op_name;

typedef struct op_names {
    op_name *slots;
    size_t cap, count;
} op_names;

static op_name *op_slot(op_names *t, int64_t id)
{
    if (2 * (t->count + 1) > t->cap) {
        op_names bigger = {ig_xcalloc(t->cap ? t->cap * 2 : 64, sizeof(op_name)), t->cap ? t->cap * 2 : 64, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].id) {
                *op_slot(&bigger, t->slots[i].id) = t->slots[i];
                bigger.count++;
            }
        free(t->slots);
        *t = bigger;
    }
    for (size_t i = ig_hash_mix((uint64_t)id) & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
        if (!t->slots[i].id || t->slots[i].id == id)
            return &t->slots[i];
}

/* A hash of span ids (first wins) and of span row ids, to an index. */
typedef struct span_index {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t cap;
} span_index;

static void index_init(span_index *x, size_t n)
{
    x->cap = 16;
    while (x->cap < 2 * n)
        x->cap *= 2;
    x->slots = ig_xcalloc(x->cap, sizeof *x->slots);
}

static uint64_t span_key(const uint8_t id[8])
{
    uint64_t k;
    memcpy(&k, id, 8);
    return k;
}

/* Finds the slot of key among spans (keyed by key_of); inserts when absent. */
static uint32_t *index_slot(span_index *x, uint64_t key, const ig_store_span *spans, bool by_row)
{
    for (size_t i = ig_hash_mix(key) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        uint32_t v = x->slots[i];
        if (!v)
            return &x->slots[i];
        const ig_store_span *sp = &spans[v - 1];
        if ((by_row ? (uint64_t)sp->id : span_key(sp->span_id)) == key)
            return &x->slots[i];
    }
}

static int cmp_span_start(const void *a, const void *b)
{
    const ig_store_span *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int load_spans(ig_store *s, int64_t trace, ig_store_trace *t, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT s.id, s.span_id, s.parent_span_id, s.operation, s.resource, s.scope, s.kind, s.start_ns, "
                   "s.end_ns, s.status_code, s.status_message, o.service, o.name "
                   "FROM spans s JOIN operations o ON o.id = s.operation WHERE s.trace = ?1",
                &st, err))
        return -1;
    sqlite3_bind_int64(st, 1, trace);
    op_names ops = {0};
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->nspans == cap) {
            cap = cap ? cap * 2 : 64;
            t->spans = ig_xrealloc(t->spans, cap * sizeof *t->spans);
        }
        ig_store_span *sp = &t->spans[t->nspans++];
        memset(sp, 0, sizeof *sp);
        sp->id = sqlite3_column_int64(st, 0);
        col_blob(st, 1, sp->span_id, 8);
        col_blob(st, 2, sp->parent_span_id, 8);
        sp->parent_state = sqlite3_column_type(st, 2) == SQLITE_NULL ? IG_PARENT_NONE : IG_PARENT_MISSING;
        sp->parent = -1;
        sp->operation = sqlite3_column_int64(st, 3);
        sp->resource = sqlite3_column_int64(st, 4);
        sp->scope = sqlite3_column_int64(st, 5);
        sp->kind = (uint8_t)sqlite3_column_int(st, 6);
        sp->start_ns = (uint64_t)sqlite3_column_int64(st, 7);
        sp->end_ns = (uint64_t)sqlite3_column_int64(st, 8);
        sp->status_code = (uint8_t)sqlite3_column_int(st, 9);
        sp->status_message = col_text(st, 10, t->arena);
        op_name *o = op_slot(&ops, sp->operation);
        if (!o->id) {
            *o = (op_name){sp->operation, col_text(st, 11, t->arena), col_text(st, 12, t->arena)};
            ops.count++;
        }
        sp->service = o->service;
        sp->name = o->name;
    }
    free(ops.slots);
    /* sorted here: SQLite's ORDER BY (a temporary B-tree of whole rows)
     * took three times as long as reading them */
    qsort(t->spans, t->nspans, sizeof *t->spans, cmp_span_start);
    return finish(s, st, rc, "load trace", err);
}

/* Walks up from span i; cuts the parent link that closes a loop. */
static void break_cycles_from(ig_store_trace *t, size_t i, uint8_t *mark, uint32_t *path)
{
    size_t depth = 0;
    int32_t cur = (int32_t)i;
    while (cur >= 0 && mark[cur] == 0) {
        mark[cur] = 1;
        path[depth++] = (uint32_t)cur;
        int32_t up = t->spans[cur].parent;
        if (up >= 0 && mark[up] == 1) { /* up is on this path: the edge cur -> up closes a loop */
            t->spans[cur].parent = -1;
            t->spans[cur].parent_state = IG_PARENT_CYCLE;
            break;
        }
        cur = up;
    }
    while (depth)
        mark[path[--depth]] = 2;
}

static void resolve_parents(ig_store_trace *t)
{
    span_index byid;
    index_init(&byid, t->nspans);
    for (size_t i = 0; i < t->nspans; i++) {
        uint32_t *slot = index_slot(&byid, span_key(t->spans[i].span_id), t->spans, false);
        if (!*slot)
            *slot = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < t->nspans; i++) {
        ig_store_span *sp = &t->spans[i];
        if (sp->parent_state == IG_PARENT_NONE)
            continue;
        uint32_t v = *index_slot(&byid, span_key(sp->parent_span_id), t->spans, false);
        if (v) {
            sp->parent = (int32_t)(v - 1);
            sp->parent_state = IG_PARENT_FOUND;
        }
    }
    free(byid.slots);
    uint8_t *mark = ig_xcalloc(t->nspans ? t->nspans : 1, 1);
    uint32_t *path = ig_xmalloc((t->nspans ? t->nspans : 1) * sizeof *path);
    for (size_t i = 0; i < t->nspans; i++)
        if (!mark[i])
            break_cycles_from(t, i, mark, path);
    free(mark);
    free(path);
}

/* Events of the trace's spans, and how many links each has. */
static int load_events_and_links(ig_store *s, int64_t trace, ig_store_trace *t, ig_err *err)
{
    span_index byrow;
    index_init(&byrow, t->nspans);
    for (size_t i = 0; i < t->nspans; i++)
        *index_slot(&byrow, (uint64_t)t->spans[i].id, t->spans, true) = (uint32_t)i + 1;
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, "SELECT e.span, e.time_ns, e.name FROM events e "
                        "WHERE e.span IN (SELECT id FROM spans WHERE trace = ?1) ORDER BY e.span, e.time_ns, e.id",
                     &st, err) ? SQLITE_ERROR : SQLITE_OK;
    size_t cap = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, trace);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint32_t v = *index_slot(&byrow, (uint64_t)sqlite3_column_int64(st, 0), t->spans, true);
            if (!v)
                continue;
            if (t->nevents == cap) {
                cap = cap ? cap * 2 : 64;
                t->events = ig_xrealloc(t->events, cap * sizeof *t->events);
            }
            t->events[t->nevents++] = (ig_store_event){v - 1, (uint64_t)sqlite3_column_int64(st, 1),
                                                       col_text(st, 2, t->arena)};
        }
        if (finish(s, st, rc, "load events", err))
            rc = SQLITE_ERROR;
        else
            rc = SQLITE_OK;
    }
    if (rc == SQLITE_OK && prepare(s, "SELECT l.span, count(*) FROM links l "
                                      "WHERE l.span IN (SELECT id FROM spans WHERE trace = ?1) GROUP BY l.span",
                                   &st, err) == 0) {
        sqlite3_bind_int64(st, 1, trace);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            uint32_t v = *index_slot(&byrow, (uint64_t)sqlite3_column_int64(st, 0), t->spans, true);
            if (v)
                t->spans[v - 1].nlinks = (uint32_t)sqlite3_column_int64(st, 1);
        }
        rc = finish(s, st, rc, "load links", err) ? SQLITE_ERROR : SQLITE_OK;
    } else {
        rc = SQLITE_ERROR;
    }
    free(byrow.slots);
    /* events are grouped by span row id; point each span at its group */
    for (size_t i = 0; i < t->nevents; i++) {
        ig_store_span *sp = &t->spans[t->events[i].span];
        if (!sp->nevents++)
            sp->first_event = (uint32_t)i;
    }
    return rc == SQLITE_OK ? 0 : -1;
}

static int load_trace_row(ig_store *s, int64_t trace, ig_store_trace *t, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT trace_id, start_ns, end_ns FROM traces WHERE id = ?1", &st, err))
        return -1;
    sqlite3_bind_int64(st, 1, trace);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return ig_err_set(err, "%s: trace not found (deleted by retention?)", s->path);
    }
    if (rc == SQLITE_ROW) {
        col_blob(st, 0, t->trace_id, 16);
        t->start_ns = (uint64_t)sqlite3_column_int64(st, 1);
        t->end_ns = (uint64_t)sqlite3_column_int64(st, 2);
        rc = SQLITE_DONE;
    }
    return finish(s, st, rc, "load trace", err);
}

int ig_store_load_trace(ig_store *s, int64_t trace, ig_store_trace *out, ig_err *err)
{
    memset(out, 0, sizeof *out);
    out->id = trace;
    out->arena = ig_arena_new();
    /* one read transaction: the trace, its spans and events agree */
    bool began = read_begin(s, err);
    int rc = load_trace_row(s, trace, out, err);
    if (rc == 0)
        rc = load_spans(s, trace, out, err);
    if (rc == 0) {
        resolve_parents(out);
        rc = load_events_and_links(s, trace, out, err);
    }
    read_end(s, began);
    if (rc) {
        if (!err->msg[0])
            ig_err_set(err, "%s: cannot read: %s", s->path, sqlite3_errmsg(s->db));
        ig_store_trace_free(out);
        return -1;
    }
    return 0;
}

void ig_store_trace_free(ig_store_trace *t)
{
    free(t->spans);
    free(t->events);
    ig_arena_destroy(t->arena);
    memset(t, 0, sizeof *t);
}

/* ---- one span's details ---------------------------------------------------------------- */

static uint8_t vtype(const char *json_type)
{
    if (!json_type)
        return IG_SV_NULL;
    switch (json_type[0]) {
    case 't': return json_type[1] == 'e' ? IG_SV_STRING : IG_SV_BOOL; /* text, true */
    case 'f': return IG_SV_BOOL;
    case 'i': return IG_SV_INT;
    case 'r': return IG_SV_DOUBLE;
    case 'a': return IG_SV_ARRAY;
    case 'o': return IG_SV_OBJECT;
    default: return IG_SV_NULL;
    }
}

/* Stored JSON whose strings hold U+0000 ("\u0000"; OTLP strings may)
 * with each such escape turned into an escaped backslash and "u0000":
 * SQLite's json_each cuts a string at a decoded NUL, and the text
 * \u0000 is how a NUL is shown (ig_arena_text).  Backslashes occur only in
 * escapes, which are skipped in pairs, so "\\u0000" stays as it is.
 * Returns json itself when there is nothing to change. */
static const char *nul_escapes_shown(const char *json, int *len, ig_store_arena *a)
{
    static const char nul[] = "\\u0000";
    size_t n = (size_t)*len;
    if (!memmem(json, n, nul, sizeof nul - 1))
        return json;
    ig_strbuf sb = IG_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (json[i] == '\\' && n - i >= sizeof nul - 1 && !memcmp(json + i, nul, sizeof nul - 1)) {
            ig_sb_puts(&sb, "\\\\u0000");
            i += sizeof nul - 2;
        } else if (json[i] == '\\' && i + 1 < n) {
            ig_sb_append(&sb, json + i, 2);
            i++;
        } else {
            ig_sb_putc(&sb, json[i]);
        }
    }
    char *t = ig_arena_strndup(a, sb.data, sb.len);
    *len = (int)sb.len;
    ig_sb_free(&sb);
    return t;
}

/* Parses a stored JSON object of attributes with json_each. */
static int parse_attrs(ig_store *s, const char *json, int len, uint32_t dropped, ig_store_attrs *out,
                       ig_store_arena *a, ig_err *err)
{
    memset(out, 0, sizeof *out);
    out->dropped = dropped;
    if (!json || len <= 2)
        return 0;
    json = nul_escapes_shown(json, &len, a);
    sqlite3_stmt *st;
    if (prepare(s, "SELECT key, type, CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                   "WHEN 'null' THEN '' ELSE CAST(value AS TEXT) END FROM json_each(?1)",
                &st, err))
        return -1;
    sqlite3_bind_text(st, 1, json, len, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            ig_store_kv *bigger = ig_arena_alloc(a, (cap ? cap * 2 : 8) * sizeof *bigger);
            if (out->n)
                memcpy(bigger, out->kv, out->n * sizeof *bigger);
            out->kv = bigger;
            cap = cap ? cap * 2 : 8;
        }
        ig_store_kv *kv = &out->kv[out->n++];
        kv->key = col_text(st, 0, a);
        kv->type = vtype((const char *)sqlite3_column_text(st, 1));
        kv->value = col_text_len(st, 2, a, &kv->value_len);
    }
    return finish(s, st, rc, "attributes", err);
}

static int load_span_row(ig_store *s, int64_t span, ig_store_span_details *d, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT s.attributes, s.dropped_attributes, s.dropped_events, s.dropped_links, s.trace_state, "
                   "s.flags, r.service, r.attributes, r.dropped_attributes, r.schema_url, c.name, c.version, "
                   "c.attributes, c.dropped_attributes FROM spans s JOIN resources r ON r.id = s.resource "
                   "JOIN scopes c ON c.id = s.scope WHERE s.id = ?1",
                &st, err))
        return -1;
    sqlite3_bind_int64(st, 1, span);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return ig_err_set(err, "%s: span not found (deleted by retention?)", s->path);
    }
    if (rc != SQLITE_ROW)
        return finish(s, st, rc, "span details", err);
    ig_store_arena *a = d->arena;
#define JSON_COL(i) (const char *)sqlite3_column_text(st, i), sqlite3_column_bytes(st, i)
    int r = parse_attrs(s, JSON_COL(0), col_count(st, 1), &d->attrs, a, err);
    d->dropped_events = col_count(st, 2);
    d->dropped_links = col_count(st, 3);
    d->trace_state = col_text(st, 4, a);
    d->flags = (uint32_t)sqlite3_column_int64(st, 5);
    d->service = col_text(st, 6, a);
    if (r == 0)
        r = parse_attrs(s, JSON_COL(7), col_count(st, 8), &d->resource, a, err);
    d->resource_schema_url = col_text(st, 9, a);
    d->scope_name = col_text(st, 10, a);
    d->scope_version = col_text(st, 11, a);
    if (r == 0)
        r = parse_attrs(s, JSON_COL(12), col_count(st, 13), &d->scope, a, err);
#undef JSON_COL
    sqlite3_finalize(st);
    return r;
}

static int load_span_events(ig_store *s, int64_t span, ig_store_span_details *d, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT time_ns, name, attributes, dropped_attributes FROM events WHERE span = ?1 "
                   "ORDER BY time_ns, id",
                &st, err))
        return -1;
    sqlite3_bind_int64(st, 1, span);
    size_t cap = 0;
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (d->nevents == cap) {
            cap = cap ? cap * 2 : 8;
            d->events = ig_xrealloc(d->events, cap * sizeof *d->events);
        }
        ig_store_event_details *e = &d->events[d->nevents++];
        e->time_ns = (uint64_t)sqlite3_column_int64(st, 0);
        e->name = col_text(st, 1, d->arena);
        r = parse_attrs(s, (const char *)sqlite3_column_text(st, 2), sqlite3_column_bytes(st, 2),
                        col_count(st, 3), &e->attrs, d->arena, err);
    }
    if (r) {
        sqlite3_finalize(st);
        return -1;
    }
    return finish(s, st, rc, "span events", err);
}

static int load_span_links(ig_store *s, int64_t span, ig_store_span_details *d, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT trace_id, span_id, trace_state, flags, attributes, dropped_attributes FROM links "
                   "WHERE span = ?1 ORDER BY id",
                &st, err))
        return -1;
    sqlite3_bind_int64(st, 1, span);
    size_t cap = 0;
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (d->nlinks == cap) {
            cap = cap ? cap * 2 : 8;
            d->links = ig_xrealloc(d->links, cap * sizeof *d->links);
        }
        ig_store_link *l = &d->links[d->nlinks++];
        col_blob(st, 0, l->trace_id, 16);
        col_blob(st, 1, l->span_id, 8);
        l->trace_state = col_text(st, 2, d->arena);
        l->flags = (uint32_t)sqlite3_column_int64(st, 3);
        r = parse_attrs(s, (const char *)sqlite3_column_text(st, 4), sqlite3_column_bytes(st, 4),
                        col_count(st, 5), &l->attrs, d->arena, err);
    }
    if (r) {
        sqlite3_finalize(st);
        return -1;
    }
    return finish(s, st, rc, "span links", err);
}

int ig_store_span_details_load(ig_store *s, int64_t span, ig_store_span_details *out, ig_err *err)
{
    memset(out, 0, sizeof *out);
    out->id = span;
    out->arena = ig_arena_new();
    bool began = read_begin(s, err);
    int rc = load_span_row(s, span, out, err);
    if (rc == 0)
        rc = load_span_events(s, span, out, err);
    if (rc == 0)
        rc = load_span_links(s, span, out, err);
    read_end(s, began);
    if (rc) {
        if (!err->msg[0])
            ig_err_set(err, "%s: cannot read: %s", s->path, sqlite3_errmsg(s->db));
        ig_store_span_details_free(out);
        return -1;
    }
    return 0;
}

void ig_store_span_details_free(ig_store_span_details *d)
{
    free(d->events);
    free(d->links);
    ig_arena_destroy(d->arena);
    memset(d, 0, sizeof *d);
}

/* ---- operations ------------------------------------------------------------------------- */

typedef struct op_acc {
    uint64_t *durations;
    size_t n, cap;
    uint64_t errors;
} op_acc;

/* Operation id -> accumulator, an array indexed by id: the writer hands
 * ids out densely from 1; a larger id than the operations table holds
 * (a foreign or damaged file) is skipped. */
typedef struct op_table {
    op_acc *by_id;
    size_t cap;
    int64_t only;      /* one operation, or 0 */
    const uint64_t *bounds; /* ig_store_op_histogram: its bounds */
    size_t nbounds;
    uint64_t *counts;
} op_table;

enum { MAX_OPERATIONS = 1 << 24 };

static void op_acc_add(op_acc *a, uint64_t d, bool error)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->durations = ig_xrealloc(a->durations, a->cap * sizeof *a->durations);
    }
    a->durations[a->n++] = d;
    a->errors += error;
}

/* First index in bounds[0..n) that is >= d (n when none). */
static size_t first_bound_at_least(const uint64_t *bounds, size_t n, uint64_t d)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bounds[mid] < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ig_collect_span(operation, duration, status): called by SQLite for every
 * span row of the scan, so the scan returns one row, not one per span
 * (sqlite3_step and column calls per row cost more than the scan). */
static void sql_collect_span(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    ig_store *s = sqlite3_user_data(ctx);
    op_table *t = s->scan;
    if (!t)
        return;
    int64_t op = sqlite3_value_int64(argv[0]), d = sqlite3_value_int64(argv[1]);
    uint64_t dur = d > 0 ? (uint64_t)d : 0;
    if (t->counts) {
        if (op == t->only)
            t->counts[first_bound_at_least(t->bounds, t->nbounds, dur)]++;
        return;
    }
    if (op > 0 && (size_t)op < t->cap)
        op_acc_add(&t->by_id[op], dur, sqlite3_value_int(argv[2]) == 2);
}

int ig_store_register_scan_function(ig_store *s)
{
    return sqlite3_create_function(s->db, "ig_collect_span", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, s, sql_collect_span,
                                   NULL, NULL);
}

/* Moves the k-th smallest of v[0..n) to v[k] (everything before it is
 * <= it, everything after >=): Hoare partitioning, median of three. */
static void select_kth(uint64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t a = v[lo], b = v[mid], c = v[hi];
        uint64_t pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t x = v[i];
                v[i] = v[j];
                v[j] = x;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return; /* between j and i: equal to the pivot */
    }
}

/* Nearest rank: the smallest value with at least p% of values <= it.
 * Called for decreasing p, so each selection works on what the previous
 * one left below its rank. */
static uint64_t percentile(uint64_t *v, size_t n, size_t *limit, unsigned p)
{
    size_t rank = (n * p + 99) / 100, k = rank ? rank - 1 : 0;
    select_kth(v, *limit, k);
    *limit = k + 1;
    return v[k];
}

static void op_stats_fill(ig_store_op_stats *o, op_acc *a, const uint64_t *bounds_ns)
{
    o->count = a->n;
    o->errors = a->errors;
    uint64_t mn = UINT64_MAX, mx = 0;
    double sum = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t d = a->durations[i];
        mn = d < mn ? d : mn;
        mx = d > mx ? d : mx;
        sum += (double)d;
        o->buckets[first_bound_at_least(bounds_ns, IG_SPAN_BOUNDS, d)]++;
    }
    o->min_ns = mn;
    o->max_ns = mx;
    o->mean_ns = sum / (double)a->n;
    size_t limit = a->n;
    o->p99_ns = percentile(a->durations, a->n, &limit, 99);
    o->p90_ns = percentile(a->durations, a->n, &limit, 90);
    o->p50_ns = percentile(a->durations, a->n, &limit, 50);
}

/* Runs the span scan with `t` receiving every span (one statement, one row). */
static int scan_spans(ig_store *s, const ig_trace_filter *f, op_table *t, ig_err *err)
{
    ig_strbuf sql = IG_STRBUF_INIT;
    ig_sb_puts(&sql, "SELECT count(ig_collect_span(operation, end_ns - start_ns, status_code)) FROM spans WHERE 1");
    if (t->only)
        ig_sb_puts(&sql, " AND operation = :op");
    if (f && (f->start_from_ns || f->start_to_ns)) {
        ig_sb_puts(&sql, " AND trace IN (SELECT id FROM traces WHERE 1");
        if (f->start_from_ns)
            ig_sb_puts(&sql, " AND start_ns >= :from");
        if (f->start_to_ns)
            ig_sb_puts(&sql, " AND start_ns < :to");
        ig_sb_puts(&sql, ")");
    }
    sqlite3_stmt *st;
    int rc = prepare(s, sql.data, &st, err);
    ig_sb_free(&sql);
    if (rc)
        return -1;
    if (f) {
        bind_named_int(st, ":from", f->start_from_ns);
        bind_named_int(st, ":to", f->start_to_ns);
    }
    bind_named_int(st, ":op", (uint64_t)t->only);
    s->scan = t;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    s->scan = NULL;
    return finish(s, st, rc, "operations", err);
}

/* Names of the operations that have spans, and the size of the id table. */
static int op_table_init(ig_store *s, op_table *t, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT coalesce(max(id), 0) FROM operations", &st, err))
        return -1;
    int rc = sqlite3_step(st);
    int64_t max = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (finish(s, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, "operations", err))
        return -1;
    if (max < 0 || max >= MAX_OPERATIONS)
        return ig_err_set(err, "%s: operation ids up to %lld: not a store this ignis wrote", s->path, (long long)max);
    t->cap = (size_t)max + 1;
    t->by_id = ig_xcalloc(t->cap, sizeof *t->by_id);
    return 0;
}

static int op_names_fill(ig_store *s, ig_store_ops *out, ig_err *err)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT id, service, name FROM operations", &st, err))
        return -1;
    /* out->ops is in increasing id order: find each row by bisection */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        size_t lo = 0, hi = out->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (out->ops[mid].id < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < out->n && out->ops[lo].id == id) { /* only operations that have spans */
            out->ops[lo].service = col_text(st, 1, out->arena);
            out->ops[lo].name = col_text(st, 2, out->arena);
        }
    }
    return finish(s, st, rc, "operations", err);
}

static int cmp_ops(const void *a, const void *b)
{
    const ig_store_op_stats *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    return c ? c : strcmp(x->name, y->name);
}

int ig_store_operations(ig_store *s, const ig_trace_filter *f, ig_store_ops *out, ig_err *err)
{
    memset(out, 0, sizeof *out);
    out->arena = ig_arena_new();
    op_table table = {0};
    uint64_t bounds_ns[IG_SPAN_BOUNDS];
    for (size_t i = 0; i < IG_SPAN_BOUNDS; i++)
        bounds_ns[i] = (uint64_t)(ig_span_bounds_s[i] * 1e9 + 0.5);
    bool began = read_begin(s, err);
    int rc = op_table_init(s, &table, err);
    if (rc == 0)
        rc = scan_spans(s, f, &table, err);
    if (rc == 0) {
        size_t n = 0;
        for (size_t i = 0; i < table.cap; i++)
            n += table.by_id[i].n > 0;
        out->ops = ig_xcalloc(n ? n : 1, sizeof *out->ops);
        for (size_t i = 0; i < table.cap; i++) {
            if (!table.by_id[i].n)
                continue;
            ig_store_op_stats *o = &out->ops[out->n++];
            o->id = (int64_t)i;
            o->service = o->name = "";
            op_stats_fill(o, &table.by_id[i], bounds_ns);
        }
        rc = op_names_fill(s, out, err);
    }
    read_end(s, began);
    for (size_t i = 0; i < table.cap; i++)
        free(table.by_id[i].durations);
    free(table.by_id);
    if (rc) {
        ig_store_ops_free(out);
        return -1;
    }
    qsort(out->ops, out->n, sizeof *out->ops, cmp_ops);
    return 0;
}

void ig_store_ops_free(ig_store_ops *o)
{
    free(o->ops);
    ig_arena_destroy(o->arena);
    memset(o, 0, sizeof *o);
}

int ig_store_op_histogram(ig_store *s, int64_t operation, const ig_trace_filter *f, const uint64_t *bounds_ns,
                          size_t nbounds, uint64_t *counts, ig_err *err)
{
    memset(counts, 0, (nbounds + 1) * sizeof *counts);
    for (size_t i = 1; i < nbounds; i++)
        if (bounds_ns[i] <= bounds_ns[i - 1])
            return ig_err_set(err, "histogram bounds must increase");
    if (operation <= 0)
        return 0;
    op_table t = {.only = operation, .bounds = bounds_ns, .nbounds = nbounds, .counts = counts};
    return scan_spans(s, f, &t, err) ? -1 : 0;
}
