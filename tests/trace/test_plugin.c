/*
 * tests/trace/test_plugin.c — custom exporters and span processors
 * through the public API only (include/ignis/trace.h): a recording
 * exporter behind the batch and the simple processor asserts every field
 * of the exported spans against what the test set; a callback processor
 * enriches spans at start and sees them end; failures, flush, shutdown,
 * options sizes and ownership rules are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ignis/trace.h>

/* ---- a recording exporter ------------------------------------------------------ */

typedef struct got_span {
    char name[64], scope[32], service[32], method[16], event[32], status_msg[32];
    ignis_span_context ctx, link;
    uint8_t parent[8];
    bool has_parent, enriched;
    int64_t status_code_attr;
    double ratio;
    int64_t ints[3];
    size_t nints;
    ignis_span_kind kind;
    ignis_status_code status;
    uint64_t start, end;
    size_t nevents, nlinks, event_nattrs;
} got_span;

typedef struct rec {
    pthread_mutex_t mu;
    got_span spans[256];
    size_t n, exports, flushes, shutdowns;
    ignis_export_result result;
} rec;

static void copy(char *dst, size_t len, const char *s) { snprintf(dst, len, "%s", s ? s : ""); }

static void read_span(got_span *g, const ignis_span_data *d)
{
    memset(g, 0, sizeof *g);
    copy(g->name, sizeof g->name, ignis_span_data_name(d));
    const char *version;
    copy(g->scope, sizeof g->scope, ignis_span_data_scope(d, &version));
    ignis_span_data_context(d, &g->ctx);
    g->has_parent = ignis_span_data_parent(d, g->parent, NULL);
    g->kind = ignis_span_data_kind(d);
    const char *desc;
    g->status = ignis_span_data_status(d, &desc);
    copy(g->status_msg, sizeof g->status_msg, desc);
    g->start = ignis_span_data_start_time(d);
    g->end = ignis_span_data_end_time(d);
    ignis_attribute a;
    for (size_t i = 0; ignis_span_data_attribute(d, i, &a); i++) {
        if (!strcmp(a.key, "http.request.method") && a.type == IGNIS_ATTR_STRING)
            copy(g->method, sizeof g->method, a.v.s);
        else if (!strcmp(a.key, "http.response.status_code") && a.type == IGNIS_ATTR_INT)
            g->status_code_attr = a.v.i;
        else if (!strcmp(a.key, "ratio") && a.type == IGNIS_ATTR_DOUBLE)
            g->ratio = a.v.d;
        else if (!strcmp(a.key, "enriched") && a.type == IGNIS_ATTR_BOOL)
            g->enriched = a.v.b;
        else if (!strcmp(a.key, "ints") && a.type == IGNIS_ATTR_INT_ARRAY)
            for (g->nints = 0; g->nints < a.len && g->nints < 3; g->nints++)
                g->ints[g->nints] = a.v.ia[g->nints];
    }
    assert_int_equal(ignis_span_data_attribute_count(d) > 0, ignis_span_data_attribute(d, 0, &a));
    g->nevents = ignis_span_data_event_count(d);
    const char *ename;
    if (ignis_span_data_event(d, 0, &ename, NULL, &g->event_nattrs))
        copy(g->event, sizeof g->event, ename);
    g->nlinks = ignis_span_data_link_count(d);
    ignis_span_data_link(d, 0, &g->link, NULL);
    for (size_t i = 0; ignis_span_data_resource_attribute(d, i, &a); i++)
        if (!strcmp(a.key, "service.name"))
            copy(g->service, sizeof g->service, a.v.s);
}

static ignis_export_result rec_export(void *arg, const ignis_span_data *const *spans, size_t n, int timeout_ms)
{
    rec *r = arg;
    assert_true(timeout_ms > 0);
    pthread_mutex_lock(&r->mu);
    r->exports++;
    for (size_t i = 0; i < n && r->n < 256; i++)
        read_span(&r->spans[r->n++], spans[i]);
    ignis_export_result res = r->result;
    pthread_mutex_unlock(&r->mu);
    return res;
}

static int rec_flush(void *arg, int timeout_ms)
{
    (void)timeout_ms;
    rec *r = arg;
    pthread_mutex_lock(&r->mu);
    r->flushes++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void rec_shutdown(void *arg)
{
    rec *r = arg;
    pthread_mutex_lock(&r->mu);
    r->shutdowns++;
    pthread_mutex_unlock(&r->mu);
}

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static ignis_span_exporter *rec_exporter(rec *r)
{
    ignis_exporter_options eo = {.sz = sizeof eo, .name = "recorder", .arg = r, .export_spans = rec_export,
                                 .force_flush = rec_flush, .shutdown = rec_shutdown};
    ignis_span_exporter *e = ignis_span_exporter_new(&eo);
    assert_non_null(e);
    return e;
}

static const got_span *find(const rec *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->spans[i].name, name))
            return &r->spans[i];
    return NULL;
}

static ignis_tracer_provider *provider_with(ignis_span_processor *p)
{
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.service_name = "plugin-svc";
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    o.exporter = IGNIS_EXPORTER_NONE; /* the given processor alone */
    char err[128] = "";
    ignis_tracer_provider *tp = ignis_tracer_provider_new_with_processors(&o, &p, 1, err, sizeof err);
    assert_non_null(tp);
    return tp;
}

/* A server span with attributes of every kind, an event, a link and an
 * error status, and a client child. */
static void make_trace(ignis_tracer *t, ignis_span_context *parent_ctx)
{
    ignis_span_context other = {.trace_id = {7, 7, 7}, .span_id = {8, 8}, .trace_flags = 1};
    ignis_link link = {other, NULL, 0};
    ignis_span *s = ignis_span_start(t, "GET /items",
                                     &(ignis_span_options){.kind = IGNIS_SPAN_KIND_SERVER, .links = &link, .nlinks = 1});
    ignis_span_set_string(s, "http.request.method", "GET");
    ignis_span_set_int(s, "http.response.status_code", 503);
    ignis_span_set_double(s, "ratio", 0.25);
    int64_t ints[] = {1, -2, 3};
    ignis_span_set_int_array(s, "ints", ints, 3);
    ignis_attribute ev[] = {IGNIS_ATTR_STR("detail", "x"), IGNIS_ATTR_I64("n", 2)};
    ignis_span_add_event(s, "retry", ev, 2, 0);
    ignis_span_set_status(s, IGNIS_STATUS_ERROR, "upstream down");
    ignis_span_get_context(s, parent_ctx);
    ignis_span *c = ignis_span_start(t, "SELECT", &(ignis_span_options){.kind = IGNIS_SPAN_KIND_CLIENT,
                                                                       .parent_mode = IGNIS_PARENT_SPAN,
                                                                       .parent_span = s});
    ignis_span_end(c, 0);
    ignis_span_end(s, 0);
}

static void check_trace(const rec *r, const ignis_span_context *pc)
{
    const got_span *g = find(r, "GET /items");
    assert_non_null(g);
    assert_memory_equal(g->ctx.trace_id, pc->trace_id, 16);
    assert_memory_equal(g->ctx.span_id, pc->span_id, 8);
    assert_int_equal(g->ctx.trace_flags, IGNIS_TRACE_FLAG_SAMPLED);
    assert_false(g->has_parent);
    assert_int_equal(g->kind, IGNIS_SPAN_KIND_SERVER);
    assert_string_equal(g->method, "GET");
    assert_int_equal(g->status_code_attr, 503);
    assert_true(g->ratio == 0.25);
    assert_int_equal(g->nints, 3);
    assert_int_equal(g->ints[1], -2);
    assert_int_equal(g->nevents, 1);
    assert_string_equal(g->event, "retry");
    assert_int_equal(g->event_nattrs, 2);
    assert_int_equal(g->nlinks, 1);
    assert_int_equal(g->link.trace_id[0], 7);
    assert_int_equal(g->status, IGNIS_STATUS_ERROR);
    assert_string_equal(g->status_msg, "upstream down");
    assert_true(g->end >= g->start && g->start > 0);
    assert_string_equal(g->scope, "plugin.test");
    assert_string_equal(g->service, "plugin-svc");
    const got_span *c = find(r, "SELECT");
    assert_non_null(c);
    assert_true(c->has_parent);
    assert_memory_equal(c->parent, pc->span_id, 8);
    assert_memory_equal(c->ctx.trace_id, pc->trace_id, 16);
    assert_int_equal(c->kind, IGNIS_SPAN_KIND_CLIENT);
}

static void custom_exporter_batch(void **st)
{
    (void)st;
    rec r;
    rec_init(&r);
    ignis_batch_options bo = {.schedule_delay_ms = 600000, .export_timeout_ms = 5000, .max_queue_size = 256,
                              .max_export_batch_size = 16};
    ignis_tracer_provider *tp = provider_with(ignis_batch_span_processor_new(rec_exporter(&r), &bo));
    ignis_tracer *t = ignis_tracer_get(tp, "plugin.test", "1.0", NULL, 0);
    ignis_span_context pc;
    make_trace(t, &pc);
    for (int i = 0; i < 48; i++)
        ignis_span_end(ignis_span_start(t, "filler", NULL), 0);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    pthread_mutex_lock(&r.mu);
    assert_int_equal(r.n, 50);
    assert_true(r.exports >= 4); /* batches of at most 16 */
    assert_int_equal(r.flushes, 1);
    check_trace(&r, &pc);
    pthread_mutex_unlock(&r.mu);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_exported, 50);
    assert_int_equal(c.export_failures, 0);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(r.shutdowns, 1);
    ignis_tracer_provider_free(tp);
    assert_int_equal(r.shutdowns, 1);
}

static void custom_exporter_simple_and_failure(void **st)
{
    (void)st;
    rec r;
    rec_init(&r);
    r.result = IGNIS_EXPORT_FAILURE;
    ignis_tracer_provider *tp = provider_with(ignis_simple_span_processor_new(rec_exporter(&r), 0));
    ignis_tracer *t = ignis_tracer_get(tp, "plugin.test", NULL, NULL, 0);
    ignis_span_context pc;
    make_trace(t, &pc);
    assert_int_equal(r.n, 2); /* exported synchronously, no flush */
    check_trace(&r, &pc);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_exported, 0);
    assert_int_equal(c.export_failures, 2);
    ignis_tracer_provider_free(tp);
    assert_int_equal(r.shutdowns, 1);
}

/* ---- a callback processor ---------------------------------------------------------- */

typedef struct hooks {
    pthread_mutex_t mu;
    int starts, ends, roots, flushes, shutdowns;
    uint8_t last_parent[8];
} hooks;

static void on_start(void *arg, ignis_span *span, const ignis_span_context *parent)
{
    hooks *h = arg;
    assert_true(ignis_span_is_recording(span));
    ignis_span_set_bool(span, "enriched", true);
    pthread_mutex_lock(&h->mu);
    h->starts++;
    if (!parent)
        h->roots++;
    else
        memcpy(h->last_parent, parent->span_id, 8);
    pthread_mutex_unlock(&h->mu);
}

static void on_end(void *arg, const ignis_span_data *d)
{
    hooks *h = arg;
    assert_true(ignis_span_data_end_time(d) > 0);
    pthread_mutex_lock(&h->mu);
    h->ends++;
    pthread_mutex_unlock(&h->mu);
}

static int hooks_flush(void *arg, int timeout_ms)
{
    (void)timeout_ms;
    ((hooks *)arg)->flushes++;
    return 0;
}

static int hooks_shutdown(void *arg, int timeout_ms)
{
    (void)timeout_ms;
    ((hooks *)arg)->shutdowns++;
    return 0;
}

static void callback_processor_with_exporter(void **st)
{
    (void)st;
    hooks h = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, {0}};
    ignis_processor_options po = {.sz = sizeof po, .arg = &h, .on_start = on_start, .on_end = on_end,
                                  .force_flush = hooks_flush, .shutdown = hooks_shutdown};
    rec r;
    rec_init(&r);
    ignis_span_processor *procs[] = {ignis_span_processor_new(&po),
                                     ignis_batch_span_processor_new(rec_exporter(&r), NULL)};
    assert_non_null(procs[0]);
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.service_name = "plugin-svc";
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    o.exporter = IGNIS_EXPORTER_NONE;
    ignis_tracer_provider *tp = ignis_tracer_provider_new_with_processors(&o, procs, 2, NULL, 0);
    assert_non_null(tp);
    /* a processor belongs to one provider */
    char err[128] = "";
    assert_null(ignis_tracer_provider_new_with_processors(&o, procs, 1, err, sizeof err));
    assert_non_null(strstr(err, "already"));
    ignis_tracer *t = ignis_tracer_get(tp, "plugin.test", NULL, NULL, 0);
    ignis_span_context pc;
    make_trace(t, &pc);
    assert_int_equal(h.starts, 2);
    assert_int_equal(h.roots, 1);
    assert_memory_equal(h.last_parent, pc.span_id, 8);
    assert_int_equal(h.ends, 2);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    assert_int_equal(h.flushes, 1);
    assert_int_equal(r.n, 2);
    check_trace(&r, &pc);
    assert_true(find(&r, "GET /items")->enriched); /* set by on_start */
    assert_true(find(&r, "SELECT")->enriched);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_exported, 2); /* the recorder's, nothing for `none` */
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(h.shutdowns, 1);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(h.shutdowns, 1);
    ignis_tracer_provider_free(tp);
}

/* libbpf-style sizes: a struct from an older, shorter header works, its
 * missing fields taken as zero; one too short for the required fields is
 * refused. */
static void options_sizes(void **st)
{
    (void)st;
    rec r;
    rec_init(&r);
    ignis_exporter_options eo = {.sz = offsetof(ignis_exporter_options, force_flush), .arg = &r,
                                 .export_spans = rec_export, .force_flush = rec_flush, .shutdown = rec_shutdown};
    ignis_span_exporter *e = ignis_span_exporter_new(&eo);
    assert_non_null(e);
    ignis_span_exporter_free(e);
    assert_int_equal(r.shutdowns, 0); /* beyond sz: not seen */
    eo.sz = offsetof(ignis_exporter_options, export_spans);
    assert_null(ignis_span_exporter_new(&eo));
    eo.sz = sizeof eo;
    eo.export_spans = NULL;
    assert_null(ignis_span_exporter_new(&eo));
    assert_null(ignis_span_exporter_new(NULL));
    ignis_processor_options po = {.sz = 4};
    assert_null(ignis_span_processor_new(&po));
    assert_null(ignis_batch_span_processor_new(NULL, NULL));
    assert_null(ignis_simple_span_processor_new(NULL, 0));
    /* a processor never given to a provider is freed on its own; an
     * exporter goes to one processor only, and what belongs to a processor
     * or provider is not freed by the application (ASan would see it) */
    eo = (ignis_exporter_options){.sz = sizeof eo, .arg = &r, .export_spans = rec_export, .shutdown = rec_shutdown};
    ignis_span_exporter *ex = ignis_span_exporter_new(&eo);
    ignis_span_processor *p = ignis_batch_span_processor_new(ex, NULL);
    assert_non_null(p);
    assert_null(ignis_simple_span_processor_new(ex, 0));
    ignis_span_exporter_free(ex); /* belongs to p: warned, not freed */
    assert_int_equal(r.shutdowns, 0);
    ignis_span_processor_free(p);
    assert_int_equal(r.shutdowns, 1);
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    p = ignis_span_processor_new(&(ignis_processor_options){.sz = sizeof(ignis_processor_options)});
    ignis_tracer_provider *tp = ignis_tracer_provider_new_with_processors(&o, &p, 1, NULL, 0);
    assert_non_null(tp);
    ignis_span_processor_free(p); /* belongs to tp: warned, not freed */
    ignis_tracer_provider_free(tp);
    /* a provider that cannot be made still takes its processors over */
    o.exporter = IGNIS_EXPORTER_OTLP_FILE;
    o.file_path = "/nonexistent-dir/traces.jsonl";
    eo.arg = &r;
    p = ignis_batch_span_processor_new(ignis_span_exporter_new(&eo), NULL);
    char err[256] = "";
    assert_null(ignis_tracer_provider_new_with_processors(&o, &p, 1, err, sizeof err));
    assert_non_null(strstr(err, "nonexistent-dir"));
    assert_int_equal(r.shutdowns, 2); /* freed with its exporter */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(custom_exporter_batch),
        cmocka_unit_test(custom_exporter_simple_and_failure),
        cmocka_unit_test(callback_processor_with_exporter),
        cmocka_unit_test(options_sizes),
    };
    return cmocka_run_group_tests_name("trace_plugin", tests, NULL, NULL);
}
