/*
 * tests/collect/test_store.c — the trace store against ground truth.
 *
 * Batches come from real protobuf requests (tests/collect/helpers.h), go
 * in through the write API and are read back through the read API (and,
 * where the schema is the contract, with plain SQL): the trace summary,
 * the list's filters and sort orders, parents resolved (missing parents,
 * cycles), span details, operation statistics compared with percentiles
 * computed here, retention by age and size, and the refusals of files
 * that are not ours (which must stay byte for byte unchanged).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/import.h"
#include "collect/store.h"
#include "exporters/otlp.h"
#include "tests/collect/helpers.h"
#include "utils/fileio.h"

#define T0 1700000000000000000ULL
#define MS 1000000ULL

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ignis-store-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/traces.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_reset();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static ig_store *open_new(void)
{
    ig_err err;
    ig_store *s = ig_store_open(path, IG_STORE_CREATE, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

/* Decodes spans (one request, service `svc`) and inserts them in one
 * transaction, as arriving at `received`. */
static void put(ig_store *s, const char *svc, PbSpan **spans, size_t n, uint64_t received)
{
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request(svc, spans, n), &st);
    assert_non_null(b);
    assert_int_equal(st.rejected, 0);
    b->received_ns = received;
    ig_err err;
    if (ig_store_begin(s, &err) || ig_store_insert(s, b, &err) || ig_store_commit(s, &err))
        fail_msg("%s", err.msg);
    ig_batch_free(b);
}

static int64_t sql_int(const char *file, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- opening ------------------------------------------------------------------------ */

static void creates_and_stamps(void **state)
{
    (void)state;
    ig_store *s = open_new();
    ig_store_close(s);
    assert_int_equal(sql_int(path, "PRAGMA application_id"), IG_STORE_APPLICATION_ID);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), IG_STORE_SCHEMA_VERSION);
    assert_int_equal(sql_int(path, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(sql_int(path, "PRAGMA page_size"), 16384); /* appending spans costs per page */
    assert_int_equal(sql_int(path, "SELECT value FROM meta WHERE key = 'schema'"), 1);
    ig_err err;
    s = ig_store_open(path, IG_STORE_READONLY, &err);
    assert_non_null(s);
    ig_store_close(s);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nope.db", dir);
    assert_null(ig_store_open(missing, IG_STORE_READONLY, &err));
    assert_non_null(strstr(err.msg, "nope.db: No such file"));
}

static void default_path(void **state)
{
    (void)state;
    char buf[512];
    setenv("IGNIS_TRACE_DB", "/x/y.db", 1);
    assert_string_equal(ig_store_default_path(buf, sizeof buf), "/x/y.db");
    unsetenv("IGNIS_TRACE_DB");
    setenv("XDG_DATA_HOME", "/data", 1);
    assert_string_equal(ig_store_default_path(buf, sizeof buf), "/data/ignis/traces.db");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    assert_string_equal(ig_store_default_path(buf, sizeof buf), "/home/u/.local/share/ignis/traces.db");
}

/* Opening `file` fails with `why` in the message and leaves it unchanged. */
static void assert_refused(const char *file, int flags, const char *why)
{
    uint8_t *before, *after;
    size_t nb, na;
    ig_err err;
    assert_int_equal(ig_read_file(file, &before, &nb, &err), 0);
    ig_store *s = ig_store_open(file, flags, &err);
    if (s)
        fail_msg("opened %s", file);
    if (!strstr(err.msg, why))
        fail_msg("'%s' does not say '%s'", err.msg, why);
    assert_non_null(strstr(err.msg, file));
    assert_int_equal(ig_read_file(file, &after, &na, &err), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb);
    free(before);
    free(after);
}

static void refuses_what_is_not_ours(void **state)
{
    (void)state;
    char file[400];
    snprintf(file, sizeof file, "%s/text.db", dir);
    assert_int_equal(ig_write_file_atomic(file, "hello, world\nnot a database at all\n", 34, NULL), 0);
    assert_refused(file, IG_STORE_CREATE, "not an SQLite database");
    assert_refused(file, IG_STORE_READONLY, "not an SQLite database");

    snprintf(file, sizeof file, "%s/other.db", dir);
    sqlite3 *db;
    sqlite3_open(file, &db);
    sqlite3_exec(db, "CREATE TABLE accounts(id, balance); INSERT INTO accounts VALUES (1, 100)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_refused(file, IG_STORE_CREATE, "not an ignis trace store");

    ig_store *s = open_new();
    ig_store_close(s);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_refused(path, IG_STORE_CREATE, "newer");
}

static void refuses_a_damaged_store(void **state)
{
    (void)state;
    ig_store *s = open_new();
    PbSpan *spans[] = {h_span(1, 1, 0, "a", T0, T0 + 1)};
    put(s, "svc", spans, 1, T0);
    ig_store_close(s);
    int64_t root = sql_int(path, "SELECT rootpage FROM sqlite_schema WHERE name = 'traces'");
    int64_t psize = sql_int(path, "PRAGMA page_size");
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t junk[65536];
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(pwrite(fd, junk, (size_t)psize, (root - 1) * psize), psize);
    close(fd);
    assert_refused(path, IG_STORE_CREATE, "damaged");
}

static void one_writer_at_a_time(void **state)
{
    (void)state;
    ig_store *s = open_new();
    ig_err err;
    assert_null(ig_store_open(path, IG_STORE_CREATE, &err));
    assert_non_null(strstr(err.msg, "in use"));
    ig_store *r = ig_store_open(path, IG_STORE_READONLY, &err); /* readers are welcome */
    assert_non_null(r);
    ig_store_close(r);
    ig_store_close(s);
    s = open_new();
    ig_store_close(s);
}

/* ---- the trace summary -------------------------------------------------------------- */

static void summary_follows_the_root(void **state)
{
    (void)state;
    ig_store *s = open_new();
    /* children first, as a batch processor sends them; the root last */
    PbSpan *c1 = h_span(7, 2, 1, "query", T0 + 2 * MS, T0 + 5 * MS);
    PbSpan *c2 = h_span(7, 3, 1, "render", T0 + 6 * MS, T0 + 8 * MS);
    h_status(c2, 2, "template missing");
    PbSpan *kids[] = {c2, c1};
    put(s, "backend", kids, 2, T0);
    ig_trace_list l;
    ig_err err;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_int_equal(l.total, 1);
    assert_false(l.rows[0].has_root);
    assert_string_equal(l.rows[0].root_name, "query"); /* the earliest span stands in */
    assert_true(l.rows[0].start_ns == T0 + 2 * MS && l.rows[0].end_ns == T0 + 8 * MS);
    assert_int_equal(l.rows[0].span_count, 2);
    assert_int_equal(l.rows[0].error_count, 1);
    ig_trace_list_free(&l);

    PbSpan *root = h_span(7, 1, 0, "GET /page", T0, T0 + 10 * MS);
    PbSpan *r[] = {root};
    put(s, "frontend", r, 1, T0 + 1);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_true(l.rows[0].has_root);
    assert_string_equal(l.rows[0].root_name, "GET /page");
    assert_string_equal(l.rows[0].root_service, "frontend");
    assert_true(l.rows[0].start_ns == T0 && l.rows[0].end_ns == T0 + 10 * MS);
    assert_int_equal(l.rows[0].span_count, 3);
    assert_int_equal(l.rows[0].error_count, 1);
    uint8_t tid[16];
    h_id_bytes(7, tid, 16);
    assert_memory_equal(l.rows[0].trace_id, tid, 16);
    int64_t id;
    assert_int_equal(ig_store_find_trace(s, tid, &id, &err), 1);
    assert_true(id == l.rows[0].id);
    tid[0] ^= 1;
    assert_int_equal(ig_store_find_trace(s, tid, &id, &err), 0);
    ig_trace_list_free(&l);

    /* a later span without parent does not replace the root */
    PbSpan *late = h_span(7, 9, 0, "stray", T0 - MS, T0 + MS);
    PbSpan *lt[] = {late};
    put(s, "other", lt, 1, T0 + 2);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_string_equal(l.rows[0].root_name, "GET /page");
    assert_true(l.rows[0].start_ns == T0 - MS);
    ig_trace_list_free(&l);
    ig_store_close(s);

    /* a new writer (an empty trace cache) adds to the stored trace */
    s = open_new();
    PbSpan *again = h_span(7, 10, 1, "retry", T0 + MS, T0 + 12 * MS);
    h_status(again, 2, "timeout");
    PbSpan *ag[] = {again};
    put(s, "backend", ag, 1, T0 + 3);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_int_equal(l.total, 1);
    assert_string_equal(l.rows[0].root_name, "GET /page");
    assert_true(l.rows[0].start_ns == T0 - MS && l.rows[0].end_ns == T0 + 12 * MS);
    assert_int_equal(l.rows[0].span_count, 5);
    assert_int_equal(l.rows[0].error_count, 2);
    ig_trace_list_free(&l);
    ig_store_close(s);
}

/* ---- the list: sorting and filters ------------------------------------------------------ */

/* Trace i: service svc-(i%3), root "op-i", duration (i+1) ms, start T0+i s,
 * errors when i%4==0, attribute user=u(i%5), one child "db". */
static ig_store *fill_list(int n)
{
    ig_store *s = open_new();
    for (int i = 0; i < n; i++) {
        char *name = h_alloc(16), *svc = h_alloc(16), *user = h_alloc(16);
        snprintf(name, 16, "op-%d", i);
        snprintf(svc, 16, "svc-%d", i % 3);
        snprintf(user, 16, "u%d", i % 5);
        uint64_t start = T0 + (uint64_t)i * 1000 * MS;
        PbSpan *root = h_span(100 + (uint64_t)i, 1, 0, name, start, start + (uint64_t)(i + 1) * MS);
        h_attrs(root, 1, h_str("user", user));
        PbSpan *child = h_span(100 + (uint64_t)i, 2, 1, "db", start, start + MS / 2);
        if (i % 4 == 0)
            h_status(child, 2, "x");
        PbSpan *spans[] = {child, root};
        put(s, svc, spans, 2, T0 + (uint64_t)i);
    }
    return s;
}

static void list_sorts(void **state)
{
    (void)state;
    ig_store *s = fill_list(12);
    ig_trace_list l;
    ig_err err;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, true, 0, 5, &l, &err), 0);
    assert_int_equal(l.total, 12);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.rows[0].root_name, "op-11");
    assert_string_equal(l.rows[4].root_name, "op-7");
    ig_trace_list_free(&l);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, true, 10, 5, &l, &err), 0);
    assert_int_equal(l.n, 2); /* paging */
    assert_string_equal(l.rows[1].root_name, "op-0");
    ig_trace_list_free(&l);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_DURATION, false, 0, 3, &l, &err), 0);
    assert_string_equal(l.rows[0].root_name, "op-0");
    assert_string_equal(l.rows[2].root_name, "op-2");
    ig_trace_list_free(&l);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_ERRORS, true, 0, 12, &l, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.rows[i].error_count, 1);
    assert_int_equal(l.rows[3].error_count, 0);
    assert_string_equal(l.rows[0].root_name, "op-8"); /* ties: later start first */
    ig_trace_list_free(&l);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_SERVICE, false, 0, 12, &l, &err), 0);
    assert_string_equal(l.rows[0].root_service, "svc-0");
    assert_string_equal(l.rows[11].root_service, "svc-2");
    ig_trace_list_free(&l);
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_NAME, true, 0, 1, &l, &err), 0);
    assert_string_equal(l.rows[0].root_name, "op-9");
    ig_trace_list_free(&l);
    ig_store_close(s);
}

/* Names of the listed traces, sorted by start, joined with ','. */
static const char *names(ig_store *s, const ig_trace_filter *f)
{
    static char out[512];
    ig_trace_list l;
    ig_err err;
    if (ig_store_list_traces(s, f, IG_TRACE_SORT_START, false, 0, 100, &l, &err))
        fail_msg("%s", err.msg);
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "," : "", l.rows[i].root_name);
    assert_int_equal(l.total, l.n);
    ig_trace_list_free(&l);
    return out;
}

static void list_filters(void **state)
{
    (void)state;
    ig_store *s = fill_list(12);
    ig_trace_filter f = {.service = "svc-1"};
    assert_string_equal(names(s, &f), "op-1,op-4,op-7,op-10");
    f = (ig_trace_filter){.name_regex = "^op-1[01]?$"};
    assert_string_equal(names(s, &f), "op-1,op-10,op-11");
    f = (ig_trace_filter){.service = "svc-2", .name_regex = "^db$"};
    assert_string_equal(names(s, &f), "op-2,op-5,op-8,op-11");
    f = (ig_trace_filter){.attr_key = "user", .attr_value = "u3"};
    assert_string_equal(names(s, &f), "op-3,op-8");
    f = (ig_trace_filter){.attr_key = "host.name", .attr_value = "box"}; /* a resource attribute */
    assert_int_equal(strlen(names(s, &f)) > 0, 1);
    f = (ig_trace_filter){.attr_key = "user", .attr_value = "nobody"};
    assert_string_equal(names(s, &f), "");
    f = (ig_trace_filter){.min_duration_ns = 3 * MS, .max_duration_ns = 5 * MS};
    assert_string_equal(names(s, &f), "op-2,op-3,op-4");
    f = (ig_trace_filter){.errors_only = true};
    assert_string_equal(names(s, &f), "op-0,op-4,op-8");
    f = (ig_trace_filter){.start_from_ns = T0 + 10000 * MS, .start_to_ns = T0 + 11000 * MS};
    assert_string_equal(names(s, &f), "op-10");
    f = (ig_trace_filter){.errors_only = true, .service = "svc-2"};
    assert_string_equal(names(s, &f), "op-8");
    ig_trace_list l;
    ig_err err;
    f = (ig_trace_filter){.name_regex = "(unclosed"};
    assert_int_equal(ig_store_list_traces(s, &f, IG_TRACE_SORT_START, false, 0, 10, &l, &err), -1);
    assert_non_null(strstr(err.msg, "name regex '(unclosed'"));
    ig_store_close(s);
}

/* ---- one trace ------------------------------------------------------------------------- */

static const ig_store_span *by_name(const ig_store_trace *t, const char *name)
{
    for (size_t i = 0; i < t->nspans; i++)
        if (!strcmp(t->spans[i].name, name))
            return &t->spans[i];
    fail_msg("no span %s", name);
    return NULL;
}

static void parents_missing_and_cycles(void **state)
{
    (void)state;
    ig_store *s = open_new();
    PbSpan *root = h_span(5, 1, 0, "root", T0, T0 + 100);
    PbSpan *child = h_span(5, 2, 1, "child", T0 + 10, T0 + 20);
    h_event(child, "late", T0 + 15, NULL);
    h_event(child, "early", T0 + 11, h_int("n", 1));
    h_link(child, 9, 9, 16, NULL);
    h_link(child, 8, 8, 16, NULL);
    PbSpan *orphan = h_span(5, 3, 77, "orphan", T0 + 5, T0 + 6);
    PbSpan *a = h_span(5, 4, 5, "cycle-a", T0 + 30, T0 + 31); /* a -> b -> a */
    PbSpan *b = h_span(5, 5, 4, "cycle-b", T0 + 32, T0 + 33);
    PbSpan *self = h_span(5, 6, 6, "self", T0 + 40, T0 + 41);
    PbSpan *spans[] = {self, b, a, orphan, child, root};
    put(s, "svc", spans, 6, T0);
    ig_trace_list l;
    ig_err err;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 1, &l, &err), 0);
    ig_store_trace t;
    assert_int_equal(ig_store_load_trace(s, l.rows[0].id, &t, &err), 0);
    ig_trace_list_free(&l);
    assert_int_equal(t.nspans, 6);
    for (size_t i = 1; i < t.nspans; i++) /* sorted by start */
        assert_true(t.spans[i - 1].start_ns <= t.spans[i].start_ns);
    const ig_store_span *r = by_name(&t, "root"), *c = by_name(&t, "child"), *o = by_name(&t, "orphan");
    assert_int_equal(r->parent_state, IG_PARENT_NONE);
    assert_int_equal(r->parent, -1);
    assert_int_equal(c->parent_state, IG_PARENT_FOUND);
    assert_string_equal(t.spans[c->parent].name, "root");
    assert_int_equal(o->parent_state, IG_PARENT_MISSING);
    assert_int_equal(o->parent, -1);
    const ig_store_span *ca = by_name(&t, "cycle-a"), *cb = by_name(&t, "cycle-b"), *sf = by_name(&t, "self");
    assert_int_equal(sf->parent_state, IG_PARENT_CYCLE);
    assert_int_equal(sf->parent, -1);
    /* exactly one link of the a/b loop is cut; the other stays */
    assert_true((ca->parent_state == IG_PARENT_CYCLE) != (cb->parent_state == IG_PARENT_CYCLE));
    const ig_store_span *kept = ca->parent_state == IG_PARENT_CYCLE ? cb : ca;
    assert_int_equal(kept->parent_state, IG_PARENT_FOUND);
    for (size_t i = 0; i < t.nspans; i++) { /* following parents always ends */
        int32_t p = (int32_t)i;
        for (size_t steps = 0; p >= 0; steps++) {
            assert_true(steps <= t.nspans);
            p = t.spans[p].parent;
        }
    }
    assert_string_equal(c->service, "svc");
    assert_int_equal(c->nevents, 2);
    assert_string_equal(t.events[c->first_event].name, "early");
    assert_string_equal(t.events[c->first_event + 1].name, "late");
    assert_int_equal(t.nevents, 2);
    assert_int_equal(c->nlinks, 2);
    assert_int_equal(r->nlinks, 0);

    ig_store_span_details d;
    assert_int_equal(ig_store_span_details_load(s, c->id, &d, &err), 0);
    assert_int_equal(d.nevents, 2);
    assert_int_equal(d.events[0].attrs.n, 1);
    assert_string_equal(d.events[0].attrs.kv[0].key, "n");
    assert_string_equal(d.events[0].attrs.kv[0].value, "1");
    assert_int_equal(d.nlinks, 2);
    uint8_t tid[16];
    h_id_bytes(9, tid, 16);
    assert_memory_equal(d.links[0].trace_id, tid, 16);
    assert_string_equal(d.links[0].trace_state, "k=v");
    ig_store_span_details_free(&d);
    ig_store_trace_free(&t);
    ig_store_close(s);
}

static void span_details(void **state)
{
    (void)state;
    ig_store *s = open_new();
    size_t n = 1 << 20;
    char *big = h_alloc(n + 1);
    memset(big, 'y', n);
    PbSpan *sp = h_span(3, 1, 0, "work", T0, T0 + 1);
    h_attrs(sp, 6, h_str("s", "text"), h_int("i", 42), h_dbl("d", 2.5), h_bool("b", false), h_kv("arr", h_nested(1)),
            h_str("big", big));
    sp->trace_state = (char *)"a=b";
    sp->dropped_attributes_count = 3;
    PbSpan *spans[] = {sp};
    put(s, "svc", spans, 1, T0);
    ig_trace_list l;
    ig_err err;
    ig_store_trace t;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 1, &l, &err), 0);
    assert_int_equal(ig_store_load_trace(s, l.rows[0].id, &t, &err), 0);
    ig_store_span_details d;
    assert_int_equal(ig_store_span_details_load(s, t.spans[0].id, &d, &err), 0);
    assert_int_equal(d.attrs.n, 6);
    assert_int_equal(d.attrs.dropped, 3);
    const struct { const char *k, *v; int type; } want[] = {
        {"s", "text", IG_SV_STRING}, {"i", "42", IG_SV_INT}, {"d", "2.5", IG_SV_DOUBLE},
        {"b", "false", IG_SV_BOOL},  {"arr", "[7]", IG_SV_ARRAY},
    };
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(d.attrs.kv[i].key, want[i].k);
        assert_string_equal(d.attrs.kv[i].value, want[i].v);
        assert_int_equal(d.attrs.kv[i].type, want[i].type);
    }
    assert_int_equal(d.attrs.kv[5].value_len, n);
    assert_string_equal(d.trace_state, "a=b");
    assert_string_equal(d.service, "svc");
    assert_int_equal(d.resource.n, 2);
    assert_string_equal(d.resource.kv[1].key, "host.name");
    assert_string_equal(d.scope_name, "test.scope");
    assert_string_equal(d.scope_version, "1.2");
    ig_store_span_details_free(&d);
    ig_store_trace_free(&t);
    ig_trace_list_free(&l);
    ig_store_close(s);
}

/* 100,000 spans in one trace, in 100 batches: a chain of 10 under each
 * of 10,000 children of the root. */
static void hundred_thousand_spans(void **state)
{
    (void)state;
    ig_store *s = open_new();
    enum { N = 100000, PER = 1000 };
    for (int b = 0; b < N / PER; b++) {
        PbSpan **spans = h_alloc(PER * sizeof *spans);
        for (int k = 0; k < PER; k++) {
            uint64_t id = (uint64_t)b * PER + (uint64_t)k + 1;
            uint64_t parent = id == 1 ? 0 : id % 10 == 1 ? 1 : id - 1;
            spans[k] = h_span(42, id, parent, id == 1 ? "root" : "work", T0 + id, T0 + N + 10);
        }
        put(s, "svc", spans, PER, T0);
        h_reset();
    }
    ig_trace_list l;
    ig_err err;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 1, &l, &err), 0);
    assert_int_equal(l.rows[0].span_count, N);
    assert_string_equal(l.rows[0].root_name, "root");
    ig_store_trace t;
    assert_int_equal(ig_store_load_trace(s, l.rows[0].id, &t, &err), 0);
    assert_int_equal(t.nspans, N);
    size_t found = 0;
    for (size_t i = 0; i < t.nspans; i++)
        found += t.spans[i].parent_state == IG_PARENT_FOUND;
    assert_int_equal(found, N - 1);
    ig_store_trace_free(&t);
    ig_trace_list_free(&l);
    ig_store_close(s);
}

/* ---- operations ---------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void operations(void **state)
{
    (void)state;
    ig_store *s = open_new();
    /* "fetch": 200 spans with durations (k*k % 997 + 1) ms, every 10th an error;
     * "render": 3 spans */
    enum { N = 200 };
    uint64_t dur[N];
    for (int k = 0; k < N; k++) {
        dur[k] = (uint64_t)((k * k) % 997 + 1) * MS;
        PbSpan *sp = h_span(1000 + (uint64_t)k, 1, 0, "fetch", T0 + (uint64_t)k, T0 + (uint64_t)k + dur[k]);
        if (k % 10 == 0)
            h_status(sp, 2, "e");
        PbSpan *spans[] = {sp};
        put(s, "api", spans, 1, T0);
    }
    for (int k = 0; k < 3; k++) {
        PbSpan *sp = h_span(5000 + (uint64_t)k, 1, 0, "render", T0, T0 + (uint64_t)(k + 1) * 3000 * MS);
        PbSpan *spans[] = {sp};
        put(s, "web", spans, 1, T0);
    }
    /* many equal durations (the selection's hard case): 150 x 5 ms, 50 x 3 ms, 1 x 7 ms */
    for (int k = 0; k < 201; k++) {
        uint64_t d = k < 150 ? 5 * MS : k < 200 ? 3 * MS : 7 * MS;
        PbSpan *sp = h_span(6000 + (uint64_t)k, 1, 0, "flat", T0, T0 + d);
        PbSpan *spans[] = {sp};
        put(s, "api", spans, 1, T0);
    }
    ig_store_ops ops;
    ig_err err;
    assert_int_equal(ig_store_operations(s, NULL, &ops, &err), 0);
    assert_int_equal(ops.n, 3);
    const ig_store_op_stats *flat = &ops.ops[1];
    assert_string_equal(flat->name, "flat");
    assert_true(flat->min_ns == 3 * MS && flat->max_ns == 7 * MS);
    assert_true(flat->p50_ns == 5 * MS && flat->p90_ns == 5 * MS && flat->p99_ns == 5 * MS);
    assert_true(flat->mean_ns > 4.5 * MS && flat->mean_ns < 4.6 * MS);
    const ig_store_op_stats *f = &ops.ops[0];
    assert_string_equal(f->service, "api");
    assert_string_equal(f->name, "fetch");
    assert_int_equal(f->count, N);
    assert_int_equal(f->errors, 20);
    qsort(dur, N, sizeof dur[0], cmp_u64);
    assert_true(f->min_ns == dur[0] && f->max_ns == dur[N - 1]);
    assert_true(f->p50_ns == dur[N / 2 - 1]);  /* nearest rank: ceil(0.50 * 200) = 100th */
    assert_true(f->p90_ns == dur[180 - 1]);
    assert_true(f->p99_ns == dur[198 - 1]);
    uint64_t in_buckets = 0, want_le_10ms = 0;
    for (int i = 0; i <= IG_SPAN_BOUNDS; i++)
        in_buckets += f->buckets[i];
    for (int k = 0; k < N; k++)
        want_le_10ms += dur[k] <= 10 * MS;
    assert_int_equal(in_buckets, N);
    assert_int_equal(f->buckets[0] + f->buckets[1] + f->buckets[2] + f->buckets[3] + f->buckets[4], want_le_10ms);
    const ig_store_op_stats *r = &ops.ops[2];
    assert_string_equal(r->name, "render");
    assert_int_equal(r->buckets[13], 1); /* 3 s: (2 s, 5 s] */
    assert_int_equal(r->buckets[14], 2); /* 6 s, 9 s: (5 s, 10 s] */

    uint64_t bounds[] = {100 * MS, 500 * MS}, counts[3];
    assert_int_equal(ig_store_op_histogram(s, f->id, NULL, bounds, 2, counts, &err), 0);
    uint64_t want[3] = {0};
    for (int k = 0; k < N; k++)
        want[dur[k] <= 100 * MS ? 0 : dur[k] <= 500 * MS ? 1 : 2]++;
    assert_memory_equal(counts, want, sizeof want);

    /* the traces in one bucket of the histogram */
    ig_trace_filter fl = {.operation = f->id, .op_min_duration_ns = 900 * MS, .op_max_duration_ns = 950 * MS};
    ig_trace_list l;
    assert_int_equal(ig_store_list_traces(s, &fl, IG_TRACE_SORT_START, false, 0, 1000, &l, &err), 0);
    uint64_t in_range = 0;
    for (int k = 0; k < N; k++)
        in_range += dur[k] >= 900 * MS && dur[k] < 950 * MS;
    assert_true(in_range > 0);
    assert_int_equal(l.total, in_range);
    ig_trace_list_free(&l);
    ig_store_ops_free(&ops);
    ig_store_close(s);
}

/* ---- retention ----------------------------------------------------------------------------- */

static void retention_by_age(void **state)
{
    (void)state;
    ig_store *s = open_new();
    for (int i = 0; i < 10; i++) {
        PbSpan *sp = h_span(200 + (uint64_t)i, 1, 0, "x", T0, T0 + 1);
        h_event(sp, "e", T0, NULL);
        h_link(sp, 1, 1, 16, NULL);
        PbSpan *spans[] = {sp};
        put(s, "svc", spans, 1, T0 + (uint64_t)i * 1000);
    }
    uint64_t traces, spans;
    ig_err err;
    assert_int_equal(ig_store_retain(s, T0 + 4500, 0, 1000, &traces, &spans, &err), 0);
    assert_int_equal(traces, 5);
    assert_int_equal(spans, 5);
    assert_int_equal(ig_store_retain(s, T0 + 4500, 0, 1000, &traces, &spans, &err), 0);
    assert_int_equal(traces, 0);
    ig_store_summary sum;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_int_equal(sum.traces, 5);
    assert_int_equal(sum.spans, 5);
    ig_store_close(s);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM spans"), 5);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM events"), 5);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM links"), 5);
    assert_int_equal(sql_int(path, "SELECT min(received_ns) FROM traces") - (int64_t)T0, 5000);
}

static void retention_by_size(void **state)
{
    (void)state;
    ig_store *s = open_new();
    char *pad = h_alloc(2001);
    memset(pad, 'p', 2000);
    for (int i = 0; i < 2000; i++) {
        PbSpan *sp = h_span(300 + (uint64_t)i, 1, 0, "x", T0, T0 + 1);
        h_attrs(sp, 1, h_str("pad", pad));
        PbSpan *spans[] = {sp};
        put(s, "svc", spans, 1, T0 + (uint64_t)i);
    }
    ig_store_summary sum;
    ig_err err;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    uint64_t limit = sum.file_bytes / 2, traces, spans, deleted = 0;
    do { /* in slices, as the writer does */
        assert_int_equal(ig_store_retain(s, 0, limit, 300, &traces, &spans, &err), 0);
        deleted += traces;
    } while (traces);
    assert_true(deleted > 900 && deleted < 1400);
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_true(sum.file_bytes <= limit);
    ig_store_close(s);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_size <= limit + limit / 4); /* pages went back to the file system */
    /* the oldest went: what is left is the newest `2000 - deleted` */
    assert_int_equal(sql_int(path, "SELECT min(received_ns) FROM traces") - (int64_t)T0, (int64_t)deleted);
}

/* ---- transactions -------------------------------------------------------------------------- */

static void rollback_forgets_new_ids(void **state)
{
    (void)state;
    ig_store *s = open_new();
    PbSpan *a[] = {h_span(1, 1, 0, "first", T0, T0 + 1)};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("new-service", a, 1), &st);
    ig_err err;
    assert_int_equal(ig_store_begin(s, &err), 0);
    assert_int_equal(ig_store_insert(s, b, &err), 0);
    ig_store_rollback(s);
    assert_int_equal(ig_store_begin(s, &err), 0);
    assert_int_equal(ig_store_insert(s, b, &err), 0);
    assert_int_equal(ig_store_commit(s, &err), 0);
    ig_batch_free(b);
    ig_store_close(s);
    /* every span joins its resource, scope and operation */
    assert_int_equal(sql_int(path, "SELECT count(*) FROM spans s JOIN resources r ON r.id = s.resource "
                                   "JOIN scopes c ON c.id = s.scope JOIN operations o ON o.id = s.operation"),
                     1);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM span_view WHERE service = 'new-service'"), 1);
}

static void data_version_moves(void **state)
{
    (void)state;
    ig_store *w = open_new();
    ig_err err;
    ig_store *r = ig_store_open(path, IG_STORE_READONLY, &err);
    uint64_t v0 = ig_store_data_version(r);
    PbSpan *a[] = {h_span(1, 1, 0, "x", T0, T0 + 1)};
    put(w, "svc", a, 1, T0);
    assert_true(ig_store_data_version(r) != v0);
    char **svcs;
    size_t n;
    assert_int_equal(ig_store_services(r, &svcs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(svcs[0], "svc");
    free(svcs);
    ig_store_close(r);
    ig_store_close(w);
}

/* Background checkpoints move committed pages from the WAL into the
 * database file while the writer goes on (the file grows without a
 * checkpoint of the writer's own). */
static void background_checkpoints(void **state)
{
    (void)state;
    ig_store *s = open_new();
    ig_err err;
    assert_int_equal(ig_store_checkpoint_in_background(s, &err), 0);
    char *pad = h_alloc(3001);
    memset(pad, 'c', 3000);
    for (int i = 0; i < 3000; i++) { /* ~10 MB, 1000-page WALs many times over */
        PbSpan *sp = h_span(900 + (uint64_t)i, 1, 0, "x", T0, T0 + 1);
        h_attrs(sp, 1, h_str("pad", pad));
        PbSpan *spans[] = {sp};
        put(s, "svc", spans, 1, T0);
    }
    struct stat sb;
    bool moved = false;
    for (int tries = 0; tries < 1000 && !moved; tries++) { /* bounded wait for the thread */
        moved = stat(path, &sb) == 0 && sb.st_size > (4 << 20);
        if (!moved) {
            struct timespec pause = {0, 10 * 1000000};
            nanosleep(&pause, NULL);
        }
    }
    assert_true(moved);
    ig_store_close(s);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM spans"), 3000);
}

/* `ignis view FILE.jsonl`: OTLP-JSON lines into a private in-memory store. */
static void import_into_memory(void **state)
{
    (void)state;
    ig_attr rattr[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 4, .v.s = "file"}};
    ig_resource res = {rattr, 1};
    ig_scope scope = {.name = "lib"};
    ig_span_data sp[2];
    const ig_span_data *ptrs[2];
    ig_strbuf lines = IG_STRBUF_INIT;
    for (int line = 0; line < 2; line++) {
        for (int i = 0; i < 2; i++) {
            memset(&sp[i], 0, sizeof sp[i]);
            sp[i].resource = &res;
            sp[i].scope = &scope;
            memset(sp[i].trace_id, 0x10 + line, 16);
            memset(sp[i].span_id, 0x20 + i, 8);
            sp[i].has_parent = i == 1;
            memset(sp[i].parent_span_id, 0x20, 8);
            sp[i].name = i ? "child" : "root";
            sp[i].start_ns = T0;
            sp[i].end_ns = T0 + MS;
            ptrs[i] = &sp[i];
        }
        ig_otlp_encode_json(ptrs, 2, &lines);
        ig_sb_putc(&lines, '\n');
    }
    ig_sb_puts(&lines, "\n{not json\n");
    char file[400];
    snprintf(file, sizeof file, "%s/spans.jsonl", dir);
    assert_int_equal(ig_write_file_atomic(file, lines.data, lines.len, NULL), 0);
    ig_sb_free(&lines);
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_non_null(s);
    ig_import_stats st;
    assert_int_equal(ig_import_jsonl(s, file, 1 << 20, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.bad_lines, 1);
    assert_int_equal(st.spans, 4);
    ig_trace_list l;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_int_equal(l.total, 2);
    assert_string_equal(l.rows[0].root_service, "file");
    assert_int_equal(l.rows[0].span_count, 2);
    ig_trace_list_free(&l);
    ig_store_close(s);
}

/* Limits of an import: a line past max_line stops it with an error naming
 * the file and line (a file without newlines, /dev/zero, can neither hang
 * nor fill memory), and so do input past max_bytes and spans past
 * max_spans (the in-memory stores); input of exactly max_bytes is whole. */
static void import_limits_stop_with_an_error(void **state)
{
    (void)state;
    ig_attr rattr[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 4, .v.s = "file"}};
    ig_resource res = {rattr, 1};
    ig_scope scope = {.name = "lib"};
    ig_strbuf lines = IG_STRBUF_INIT;
    for (int line = 0; line < 10; line++) {
        ig_span_data sp[2];
        const ig_span_data *ptrs[2] = {&sp[0], &sp[1]};
        for (int i = 0; i < 2; i++) {
            memset(&sp[i], 0, sizeof sp[i]);
            sp[i].resource = &res;
            sp[i].scope = &scope;
            memset(sp[i].trace_id, 0x10 + line, 16);
            memset(sp[i].span_id, 0x20 + i, 8);
            sp[i].name = "op";
            sp[i].start_ns = T0;
            sp[i].end_ns = T0 + MS;
        }
        ig_otlp_encode_json(ptrs, 2, &lines);
        ig_sb_putc(&lines, '\n');
    }
    char file[400], endless[400];
    snprintf(file, sizeof file, "%s/ten.jsonl", dir);
    assert_int_equal(ig_write_file_atomic(file, lines.data, lines.len, NULL), 0);
    snprintf(endless, sizeof endless, "%s/endless.jsonl", dir);
    char zeros[5000] = {0};
    assert_int_equal(ig_write_file_atomic(endless, zeros, sizeof zeros, NULL), 0);
    ig_err err;
    ig_import_stats st;
    struct {
        const char *path;
        ig_import_limits lim;
        const char *said;
    } cases[] = {
        {file, {1 << 20, 0, 5}, "ten.jsonl:3: more than 5 spans: the limit for spans read into memory"},
        {file, {1 << 20, lines.len - 1, 0}, "ten.jsonl: more than"},
        {endless, {1000, 0, 0}, "endless.jsonl:1: line longer than 1000 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
        assert_non_null(s);
        assert_int_equal(ig_import_jsonl_limited(s, cases[i].path, &cases[i].lim, NULL, NULL, &st, &err), -1);
        assert_non_null(strstr(err.msg, cases[i].said));
        assert_null(strchr(err.msg, '\n'));
        ig_store_close(s);
    }
    /* the line limit of a store on disk: an endless line is an error too */
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_int_equal(ig_import_jsonl(s, endless, 1000, NULL, NULL, &st, &err), -1);
    assert_non_null(strstr(err.msg, "endless.jsonl:1: line longer than 1000 bytes"));
    ig_store_close(s);
    /* exactly at the byte limit: all of it */
    s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    const ig_import_limits exact = {1 << 20, lines.len, 20};
    assert_int_equal(ig_import_jsonl_limited(s, file, &exact, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.spans, 20);
    ig_store_close(s);
    ig_sb_free(&lines);
}

/* Strings holding U+0000 (valid in OTLP: "a\u0000b" in OTLP/JSON) are
 * stored whole and read back for display with the NUL as the text
 * \u0000: shown whole, never cut into a shorter name. */
static void nul_in_strings_is_shown_escaped(void **state)
{
    (void)state;
    static const char line[] =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\\u0000vc\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"sc\\u0000\"},\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"1112131415161718\",\"name\":\"a\\u0000b\",\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":\"1700000000000000500\",\"status\":{\"code\":2,\"message\":\"m\\u0000\"},"
        "\"attributes\":[{\"key\":\"k\\u0000\",\"value\":{\"stringValue\":\"\\u0000v\\u0000\"}}],"
        "\"events\":[{\"timeUnixNano\":\"1700000000000000001\",\"name\":\"\\u0000\"}]}]}]}]}\n";
    char file[400];
    snprintf(file, sizeof file, "%s/nul.jsonl", dir);
    assert_int_equal(ig_write_file_atomic(file, line, sizeof line - 1, NULL), 0);
    ig_err err;
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, &err);
    assert_non_null(s);
    ig_import_stats st;
    assert_int_equal(ig_import_jsonl(s, file, 1 << 20, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.spans, 1);
    ig_trace_list l;
    assert_int_equal(ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, false, 0, 10, &l, &err), 0);
    assert_string_equal(l.rows[0].root_name, "a\\u0000b");
    assert_string_equal(l.rows[0].root_service, "s\\u0000vc");
    ig_trace_list none;
    ig_trace_filter f = {.name_regex = "^a$"}; /* the name is not "a" */
    assert_int_equal(ig_store_list_traces(s, &f, IG_TRACE_SORT_START, false, 0, 10, &none, &err), 0);
    assert_int_equal(none.total, 0);
    ig_trace_list_free(&none);
    f.name_regex = "^a\\\\u0000b$"; /* as shown */
    assert_int_equal(ig_store_list_traces(s, &f, IG_TRACE_SORT_START, false, 0, 10, &none, &err), 0);
    assert_int_equal(none.total, 1);
    ig_trace_list_free(&none);
    ig_store_trace t;
    assert_int_equal(ig_store_load_trace(s, l.rows[0].id, &t, &err), 0);
    assert_string_equal(t.spans[0].name, "a\\u0000b");
    assert_string_equal(t.spans[0].status_message, "m\\u0000");
    assert_string_equal(t.events[0].name, "\\u0000");
    ig_store_span_details d;
    assert_int_equal(ig_store_span_details_load(s, t.spans[0].id, &d, &err), 0);
    assert_int_equal(d.attrs.n, 1);
    assert_string_equal(d.attrs.kv[0].key, "k\\u0000");
    assert_string_equal(d.attrs.kv[0].value, "\\u0000v\\u0000");
    assert_int_equal(d.attrs.kv[0].value_len, 13);
    assert_string_equal(d.scope_name, "sc\\u0000");
    ig_store_span_details_free(&d);
    ig_store_trace_free(&t);
    ig_trace_list_free(&l);
    char **services;
    size_t n;
    assert_int_equal(ig_store_services(s, &services, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(services[0], "s\\u0000vc");
    free(services);
    ig_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(creates_and_stamps, setup, teardown),
        cmocka_unit_test_setup_teardown(default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_what_is_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_damaged_store, setup, teardown),
        cmocka_unit_test_setup_teardown(one_writer_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(summary_follows_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(list_sorts, setup, teardown),
        cmocka_unit_test_setup_teardown(list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(parents_missing_and_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(span_details, setup, teardown),
        cmocka_unit_test_setup_teardown(hundred_thousand_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(operations, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_forgets_new_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(data_version_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(import_into_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(import_limits_stop_with_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(nul_in_strings_is_shown_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(background_checkpoints, setup, teardown),
    };
    return cmocka_run_group_tests_name("collect/store", tests, NULL, NULL);
}
