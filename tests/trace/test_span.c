/*
 * tests/trace/test_span.c — the span API: parents, attributes, limits,
 * events, exceptions, links, status rules, names, times, keep-errors mode,
 * current-span scopes and contexts handed to another thread.
 * Spans are exported synchronously (simple processor) into a collector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#include <unistd.h>

typedef struct fx {
    collector col;
    ignis_tracer_provider *tp;
    ignis_tracer *t;
} fx;

static fx *fx_new(void (*tweak)(ignis_provider_options *))
{
    fx *f = calloc(1, sizeof *f);
    collector_init(&f->col);
    ignis_provider_options o;
    test_options(&o, true);
    if (tweak)
        tweak(&o);
    f->tp = ig_tracer_provider_new_with_exporter(&o, &f->col.base, NULL, 0);
    f->t = ignis_tracer_get(f->tp, "test.scope", "1.2", NULL, 0);
    return f;
}

static void fx_free(fx *f)
{
    ignis_tracer_provider_free(f->tp);
    collector_fini(&f->col);
    free(f);
}

static void parents(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_span *root = ignis_span_start(f->t, "root", &(ignis_span_options){.kind = IGNIS_SPAN_KIND_SERVER});
    ignis_scope sc = ignis_span_make_current(root);
    assert_ptr_equal(ignis_span_current(), root);
    ignis_span *implicit = ignis_span_start(f->t, "implicit", NULL);
    ignis_span *none = ignis_span_start(f->t, "none", &(ignis_span_options){.parent_mode = IGNIS_PARENT_NONE});
    ignis_scope_end(sc);
    assert_null(ignis_span_current());
    ignis_span *explicit_ = ignis_span_start(f->t, "explicit",
                                             &(ignis_span_options){.parent_mode = IGNIS_PARENT_SPAN, .parent_span = implicit,
                                                                   .kind = IGNIS_SPAN_KIND_CLIENT});
    ignis_span *noparent = ignis_span_start(f->t, "after-scope", NULL);
    ignis_span_end(explicit_, 0);
    ignis_span_end(noparent, 0);
    ignis_span_end(none, 0);
    ignis_span_end(implicit, 0);
    ignis_span_end(root, 0);
    assert_int_equal(f->col.n, 5);
    const rec_span *r = collector_find(&f->col, "root"), *i = collector_find(&f->col, "implicit"),
                   *n = collector_find(&f->col, "none"), *e = collector_find(&f->col, "explicit"),
                   *a = collector_find(&f->col, "after-scope");
    assert_false(r->has_parent);
    assert_int_equal(r->kind, IG_KIND_SERVER);
    assert_true(i->has_parent);
    assert_false(i->parent_remote);
    assert_memory_equal(i->parent, r->span_id, 8);
    assert_memory_equal(i->trace_id, r->trace_id, 16);
    assert_int_equal(i->kind, IG_KIND_INTERNAL);
    assert_false(n->has_parent);
    assert_memory_not_equal(n->trace_id, r->trace_id, 16);
    assert_memory_equal(e->parent, i->span_id, 8);
    assert_memory_equal(e->trace_id, r->trace_id, 16);
    assert_int_equal(e->kind, IG_KIND_CLIENT);
    assert_false(a->has_parent);
    assert_string_equal(r->scope, "test.scope");
    assert_true(r->flags & 1);
    /* ids are unique */
    for (size_t x = 0; x < 5; x++)
        for (size_t y = x + 1; y < 5; y++)
            assert_memory_not_equal(f->col.spans[x].span_id, f->col.spans[y].span_id, 8);
    fx_free(f);
}

static void attributes(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_attribute start[] = {IGNIS_ATTR_STR("a.start", "yes"), IGNIS_ATTR_I64("n", 1)};
    ignis_span *s = ignis_span_start(f->t, "attrs", &(ignis_span_options){.attrs = start, .nattrs = 2});
    assert_true(ignis_span_is_recording(s));
    ignis_span_set_int(s, "n", 42); /* replaces */
    ignis_span_set_double(s, "d", 2.5);
    ignis_span_set_bool(s, "b", true);
    ignis_span_set_string(s, "s", "text");
    const char *sa[] = {"x", "y"};
    int64_t ia[] = {1, 2, 3};
    double da[] = {0.5};
    bool ba[] = {false, true};
    ignis_span_set_string_array(s, "sa", sa, 2);
    ignis_span_set_int_array(s, "ia", ia, 3);
    ignis_span_set_double_array(s, "da", da, 1);
    ignis_span_set_bool_array(s, "ba", ba, 2);
    ignis_span_set_string(s, "", "ignored"); /* empty key */
    ignis_span_update_name(s, "renamed");
    ignis_span_end(s, 0);
    assert_int_equal(f->col.n, 1);
    const rec_span *r = &f->col.spans[0];
    assert_string_equal(r->name, "renamed");
    assert_int_equal(r->nattrs, 9);
    assert_string_equal(rec_find_attr(r, "a.start")->s, "yes");
    assert_int_equal(rec_find_attr(r, "n")->i, 42);
    assert_true(rec_find_attr(r, "d")->d == 2.5);
    assert_true(rec_find_attr(r, "b")->b);
    assert_string_equal(rec_find_attr(r, "s")->s, "text");
    assert_int_equal(rec_find_attr(r, "sa")->type, IG_ATTR_STRING_ARRAY);
    assert_int_equal(rec_find_attr(r, "sa")->len, 2);
    assert_string_equal(rec_find_attr(r, "sa")->s, "y");
    assert_int_equal(rec_find_attr(r, "ia")->i, 3);
    assert_int_equal(rec_find_attr(r, "ia")->len, 3);
    assert_true(rec_find_attr(r, "da")->d == 0.5);
    assert_true(rec_find_attr(r, "ba")->b);
    assert_int_equal(r->dropped_attrs, 0);
    fx_free(f);
}

/* Many keys (past the preallocated slots, with key-hash collisions) and
 * values of every short length: each key appears once, holding the last
 * value set, whatever path (fast or general) stored it. */
static void many_keys_replaced(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_span *s = ignis_span_start(f->t, "many", NULL);
    char k[16], v[64];
    for (int i = 0; i < 14; i++) {
        snprintf(k, sizeof k, "%.*s%d", i % 5 + 1, "kkkkk", i);
        memset(v, 'a' + i, sizeof v);
        v[i * 3] = '\0'; /* lengths 0, 3, ..., 39 */
        ignis_span_set_string(s, k, v);
    }
    for (int i = 0; i < 14; i += 2) { /* replace every other one with another type */
        snprintf(k, sizeof k, "%.*s%d", i % 5 + 1, "kkkkk", i);
        ignis_span_set_int(s, k, 1000 + i);
    }
    ignis_span_set_bool(s, "k1", true);   /* not a key above: new */
    ignis_span_set_double(s, "k1", 0.25); /* replaced */
    ignis_span_end(s, 0);
    const rec_span *r = &f->col.spans[0];
    assert_int_equal(r->nattrs, 15);
    assert_int_equal(r->dropped_attrs, 0);
    for (int i = 0; i < 14; i++) {
        snprintf(k, sizeof k, "%.*s%d", i % 5 + 1, "kkkkk", i);
        const rec_attr *a = rec_find_attr(r, k);
        assert_non_null(a);
        if (i % 2 == 0) {
            assert_int_equal(a->type, IG_ATTR_INT);
            assert_int_equal(a->i, 1000 + i);
        } else {
            memset(v, 'a' + i, sizeof v);
            v[i * 3] = '\0';
            assert_int_equal(a->type, IG_ATTR_STRING);
            assert_string_equal(a->s, v);
        }
    }
    assert_int_equal(rec_find_attr(r, "k1")->type, IG_ATTR_DOUBLE);
    assert_true(rec_find_attr(r, "k1")->d == 0.25);
    fx_free(f);
}

/* Values larger than the span block's arena go to overflow chunks. */
static void big_values(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    ignis_span *s = ignis_span_start(f->t, "big", NULL);
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ignis_span_set_string(s, k, "some value that takes room in the arena");
    }
    ignis_span_set_string(s, "big", big);
    ignis_span_end(s, 0);
    const rec_span *r = &f->col.spans[0];
    assert_int_equal(r->nattrs, 101);
    free(big);
    fx_free(f);
}

static void limit_opts(ignis_provider_options *o)
{
    o->limits = (ignis_span_limits){.attribute_count = 3, .attribute_value_length = 5, .event_count = 2,
                                    .link_count = 1, .event_attribute_count = 1, .link_attribute_count = 2};
}

static void limits(void **st)
{
    (void)st;
    fx *f = fx_new(limit_opts);
    uint8_t tid[16] = {1}, sid[8] = {2};
    ignis_link links[2] = {{.attrs = (ignis_attribute[]){IGNIS_ATTR_I64("a", 1), IGNIS_ATTR_I64("b", 2), IGNIS_ATTR_I64("c", 3)}, .nattrs = 3},
                           {.nattrs = 0}};
    memcpy(links[0].context.trace_id, tid, 16);
    memcpy(links[0].context.span_id, sid, 8);
    links[1].context = links[0].context;
    ignis_span *s = ignis_span_start(f->t, "limited", &(ignis_span_options){.links = links, .nlinks = 2});
    ignis_span_set_string(s, "k1", "abcdefgh");       /* truncated to 5 */
    ignis_span_set_string(s, "k2", "h\xc3\xa9llo");  /* é spans bytes 1-2: cut at 5 -> "h\xc3\xa9ll" */
    ignis_span_set_string(s, "k3", "\xe2\x82\xac\xe2\x82\xac"); /* two euro signs (6 bytes) -> one */
    ignis_span_set_int(s, "k4", 4);                    /* dropped */
    ignis_span_set_int(s, "k5", 5);                    /* dropped */
    ignis_span_set_string(s, "k1", "ok");              /* replacing an existing key is allowed */
    const char *arr[] = {"123456789"};
    ignis_span_set_string_array(s, "k6", arr, 1);      /* dropped */
    ignis_attribute ev[] = {IGNIS_ATTR_I64("e1", 1), IGNIS_ATTR_I64("e2", 2), IGNIS_ATTR_I64("e3", 3)};
    ignis_span_add_event(s, "ev1", ev, 3, 0);
    ignis_span_add_event(s, "ev2", NULL, 0, 0);
    ignis_span_add_event(s, "ev3", NULL, 0, 0);
    ignis_span_end(s, 0);
    const rec_span *r = &f->col.spans[0];
    assert_int_equal(r->nattrs, 3);
    assert_int_equal(r->dropped_attrs, 3);
    assert_string_equal(rec_find_attr(r, "k1")->s, "ok");
    assert_string_equal(rec_find_attr(r, "k2")->s, "h\xc3\xa9ll");
    assert_string_equal(rec_find_attr(r, "k3")->s, "\xe2\x82\xac");
    assert_int_equal(r->nevents, 2);
    assert_int_equal(r->dropped_events, 1);
    assert_int_equal(r->event_nattrs[0], 1);
    assert_int_equal(r->event_dropped_attrs[0], 2);
    assert_int_equal(r->nlinks, 1);
    assert_int_equal(r->dropped_links, 1);
    assert_int_equal(r->link0_nattrs, 2);
    assert_int_equal(r->link0_dropped, 1);
    assert_memory_equal(r->link0_trace, tid, 16);
    fx_free(f);
}

static void events_status_times(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_span *s = ignis_span_start(f->t, "ev", &(ignis_span_options){.start_time_ns = 1000000000});
    ignis_span_add_event(s, "custom", (ignis_attribute[]){IGNIS_ATTR_STR("k", "v")}, 1, 1500000000);
    ignis_span_record_exception(s, "std::bad_alloc", "out of memory", "at main.c:1", NULL, 0);
    ignis_span_set_status(s, IGNIS_STATUS_ERROR, "it failed");
    ignis_span_set_status(s, IGNIS_STATUS_UNSET, NULL); /* ignored */
    ignis_span_end(s, 2000000000);
    const rec_span *r = &f->col.spans[0];
    assert_int_equal(r->start_ns, 1000000000);
    assert_int_equal(r->end_ns, 2000000000);
    assert_int_equal(r->nevents, 2);
    assert_string_equal(r->event_names[0], "custom");
    assert_string_equal(r->event0_attrs[0].s, "v");
    assert_string_equal(r->event_names[1], "exception");
    assert_int_equal(r->event_nattrs[1], 3);
    assert_int_equal(r->status, IG_STATUS_ERROR);
    assert_string_equal(r->status_msg, "it failed");

    /* OK is final; description is only kept for ERROR */
    s = ignis_span_start(f->t, "ok", NULL);
    ignis_span_set_status(s, IGNIS_STATUS_OK, "ignored");
    ignis_span_set_status(s, IGNIS_STATUS_ERROR, "too late");
    uint64_t before = ig_now_ns();
    ignis_span_end(s, 0);
    r = collector_find(&f->col, "ok");
    assert_int_equal(r->status, IG_STATUS_OK);
    assert_string_equal(r->status_msg, "");
    assert_true(r->end_ns >= r->start_ns);
    assert_true(r->start_ns <= before);

    /* after end: not recording, mutations ignored, context still readable */
    s = ignis_span_start(f->t, "ended", NULL);
    ignis_span_retain(s);
    ignis_span_end(s, 0);
    assert_false(ignis_span_is_recording(s));
    ignis_span_set_int(s, "late", 1);
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    assert_true(ignis_span_context_is_valid(&sc));
    ignis_span_release(s);
    assert_int_equal(collector_find(&f->col, "ended")->nattrs, 0);
    fx_free(f);
}

static void off_opts(ignis_provider_options *o) { o->sampler = IGNIS_SAMPLER_ALWAYS_OFF; }
static void keep_opts(ignis_provider_options *o)
{
    o->sampler = IGNIS_SAMPLER_ALWAYS_OFF;
    o->keep_errors = true;
}

static void unsampled_and_keep_errors(void **st)
{
    (void)st;
    fx *f = fx_new(off_opts);
    ignis_span *s = ignis_span_start(f->t, "dropped", NULL);
    assert_false(ignis_span_is_recording(s));
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    assert_true(ignis_span_context_is_valid(&sc));
    assert_int_equal(sc.trace_flags, 0);
    ignis_span_set_status(s, IGNIS_STATUS_ERROR, "x");
    ignis_span_end(s, 0);
    assert_int_equal(f->col.n, 0);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(f->tp, &c);
    assert_int_equal(c.spans_started, 1);
    assert_int_equal(c.spans_sampled, 0);
    assert_int_equal(c.spans_ended, 1);
    fx_free(f);

    f = fx_new(keep_opts);
    ignis_span *ok = ignis_span_start(f->t, "fine", NULL);
    ignis_span *bad = ignis_span_start(f->t, "broken", NULL);
    assert_true(ignis_span_is_recording(bad)); /* recorded although unsampled */
    ignis_span_get_context(bad, &sc);
    assert_int_equal(sc.trace_flags, 0);
    ignis_span_set_int(bad, "attempt", 3);
    ignis_span_set_status(bad, IGNIS_STATUS_ERROR, "timeout");
    ignis_span_end(bad, 0);
    ignis_span_end(ok, 0);
    assert_int_equal(f->col.n, 1);
    assert_string_equal(f->col.spans[0].name, "broken");
    assert_int_equal(f->col.spans[0].nattrs, 1);
    ignis_tracer_provider_counters(f->tp, &c);
    assert_int_equal(c.spans_kept_errors, 1);
    assert_int_equal(c.spans_sampled, 0);
    assert_int_equal(c.spans_exported, 1);
    fx_free(f);
}

static void null_safety(void **st)
{
    (void)st;
    /* no provider: spans are non-recording but propagate a parent */
    ignis_span *s = ignis_span_start(NULL, "x", NULL);
    assert_non_null(s);
    assert_false(ignis_span_is_recording(s));
    ignis_span_set_string(s, "k", "v");
    ignis_span_add_event(s, "e", NULL, 0, 0);
    ignis_span_end(s, 0);
    ignis_span_end(NULL, 0);
    ignis_span_set_int(NULL, "k", 1);
    assert_null(ignis_tracer_get(NULL, "x", NULL, NULL, 0));
    assert_int_equal(ignis_tracer_provider_shutdown(NULL, 10), 0);
    ignis_span_context sc;
    ignis_span_get_context(NULL, &sc);
    assert_false(ignis_span_context_is_valid(&sc));
}

/* Ending a span twice (a caller bug the OpenTelemetry spec says to
 * ignore) must not drop its reference twice: the pool then handed the
 * same memory to the next two spans, exported as one id twice. */
static void end_twice_is_ignored(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_span *s = ignis_span_start(f->t, "S", NULL);
    ignis_span_end(s, 0);
    ignis_span_end(s, 0);
    ignis_span *a = ignis_span_start(f->t, "a", NULL);
    ignis_span *b = ignis_span_start(f->t, "b", NULL);
    assert_ptr_not_equal(a, b);
    ignis_span_end(a, 0);
    ignis_span_end(b, 0);
    /* retained, ended twice, released once: still one export, no reuse while held */
    ignis_span *r = ignis_span_start(f->t, "r", NULL);
    ignis_span_retain(r);
    ignis_span_end(r, 0);
    ignis_span_end(r, 0);
    ignis_span *c = ignis_span_start(f->t, "c", NULL);
    assert_ptr_not_equal(c, r);
    ignis_span_end(c, 0);
    ignis_span_release(r);
    assert_int_equal(f->col.n, 5);
    const char *want[] = {"S", "a", "b", "r", "c"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(f->col.spans[i].name, want[i]);
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(f->col.spans[i].span_id, f->col.spans[j].span_id, 8);
    }
    fx_free(f);
}

/* NULL arrays with a count: nothing is read from them (the header's
 * promise that NULL arguments are safe). */
static void null_arrays_with_counts(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_span *s = ignis_span_start(f->t, "nulls", NULL);
    ignis_span_set_string_array(s, "sa", NULL, 5);
    ignis_span_set_int_array(s, "ia", NULL, 1000000);
    ignis_span_set_double_array(s, "da", NULL, 3);
    ignis_span_set_bool_array(s, "ba", NULL, 3);
    ignis_span_set_attributes(s, NULL, 100);
    ignis_span_add_event(s, "e", NULL, 5, 0);
    ignis_span_record_exception(s, NULL, NULL, NULL, NULL, 3);
    ignis_span_add_link(s, &(ignis_link){.context = {.trace_id = {1}, .span_id = {1}}, .attrs = NULL, .nattrs = 7});
    assert_non_null(ignis_tracer_get(f->tp, "other", NULL, NULL, 9));
    ignis_span_end(s, 0);
    assert_int_equal(f->col.n, 1);
    const rec_span *r = &f->col.spans[0];
    assert_int_equal(rec_find_attr(r, "sa")->len, 0);
    assert_int_equal(rec_find_attr(r, "ia")->len, 0);
    assert_int_equal(rec_find_attr(r, "ba")->len, 0);
    assert_int_equal(r->nevents, 2);
    assert_int_equal(r->event_nattrs[0], 0);
    assert_int_equal(r->event_nattrs[1], 0);
    assert_int_equal(r->nlinks, 1);
    assert_int_equal(r->link0_nattrs, 0);
    fx_free(f);
}

static void tracers_by_scope(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_attribute a1[] = {IGNIS_ATTR_STR("k", "v")};
    ignis_tracer *t1 = ignis_tracer_get(f->tp, "lib", "1", a1, 1);
    ignis_tracer *t2 = ignis_tracer_get(f->tp, "lib", "1", a1, 1);
    ignis_tracer *t3 = ignis_tracer_get(f->tp, "lib", "2", a1, 1);
    ignis_tracer *t4 = ignis_tracer_get(f->tp, "lib", "1", NULL, 0);
    assert_ptr_equal(t1, t2);
    assert_ptr_not_equal(t1, t3);
    assert_ptr_not_equal(t1, t4);
    assert_ptr_equal(ignis_tracer_get(f->tp, "test.scope", "1.2", NULL, 0), f->t);
    fx_free(f);
}

/* ---- contexts across threads ---------------------------------------------------------- */

typedef struct handoff {
    ignis_context *ctx;
    ignis_tracer *t;
    const char *baggage_seen;
} handoff;

static void *worker(void *arg)
{
    handoff *h = arg;
    assert_null(ignis_span_current()); /* a new thread starts empty */
    ignis_scope sc = ignis_context_attach(h->ctx);
    ignis_span *s = ignis_span_start(h->t, "worker", NULL);
    ignis_context *cur = ignis_context_current();
    h->baggage_seen = ignis_baggage_get(cur, "user") ? "yes" : "no";
    ignis_context_release(cur);
    ignis_span_end(s, 0);
    ignis_scope_end(sc);
    return NULL;
}

static void context_to_thread(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    ignis_context *bctx = ignis_context_with_baggage(NULL, "user", "alice", NULL);
    ignis_scope outer = ignis_context_attach(bctx);
    ignis_span *parent = ignis_span_start(f->t, "parent", NULL);
    ignis_scope sc = ignis_span_make_current(parent);
    handoff h = {ignis_context_current(), f->t, NULL};
    ignis_scope_end(sc);
    ignis_span_end(parent, 0); /* the context keeps the span alive */
    pthread_t th;
    pthread_create(&th, NULL, worker, &h);
    pthread_join(th, NULL);
    ignis_context_release(h.ctx);
    ignis_scope_end(outer);
    ignis_context_release(bctx);
    assert_string_equal(h.baggage_seen, "yes");
    const rec_span *p = collector_find(&f->col, "parent"), *w = collector_find(&f->col, "worker");
    assert_non_null(w);
    assert_memory_equal(w->parent, p->span_id, 8);
    assert_memory_equal(w->trace_id, p->trace_id, 16);
    fx_free(f);
}

static void scopes_nest(void **st)
{
    (void)st;
    fx *f = fx_new(NULL);
    logcap_reset();
    ignis_span *a = ignis_span_start(f->t, "a", NULL);
    ignis_scope sa = ignis_span_make_current(a);
    ignis_span *b = ignis_span_start(f->t, "b", NULL);
    ignis_scope sb = ignis_span_make_current(b);
    assert_ptr_equal(ignis_span_current(), b);
    ignis_scope_end(sb);
    assert_ptr_equal(ignis_span_current(), a);
    ignis_span *c = ignis_span_start(f->t, "c", NULL);
    ignis_scope sc = ignis_span_make_current(c);
    ignis_scope_end(sa); /* ends sc too, with a warning */
    assert_null(ignis_span_current());
    assert_int_equal(g_logcap.warnings, 1);
    ignis_scope_end(sc); /* no longer active: ignored with a warning */
    assert_int_equal(g_logcap.warnings, 2);
    ignis_span_end(c, 0);
    ignis_span_end(b, 0);
    ignis_span_end(a, 0);
    assert_memory_equal(collector_find(&f->col, "c")->parent, collector_find(&f->col, "a")->span_id, 8);
    assert_memory_equal(collector_find(&f->col, "b")->parent, collector_find(&f->col, "a")->span_id, 8);
    ignis_trace_set_logger(NULL, NULL);
    fx_free(f);
}

static void thread_attrs_on(ignis_provider_options *o) { o->thread_attributes = true; }
static void thread_attrs_tight(ignis_provider_options *o)
{
    o->thread_attributes = true;
    o->limits.attribute_value_length = 3;
}
static void thread_attrs_one(ignis_provider_options *o)
{
    o->thread_attributes = true;
    o->limits.attribute_count = 1;
}

typedef struct named_run {
    ignis_tracer *t;
    int64_t tid;
} named_run;

static void *named_thread(void *arg)
{
    named_run *r = arg;
    pthread_setname_np(pthread_self(), "ig-worker-7");
    r->tid = (int64_t)gettid();
    ignis_span_end(ignis_span_start(r->t, "on-worker", NULL), 0);
    return NULL;
}

/* thread.id (the OS thread id) and thread.name on recording spans, per
 * thread; the application's own value replaces ours; limits apply. */
static void thread_attributes(void **st)
{
    (void)st;
    fx *f = fx_new(thread_attrs_on);
    ignis_span *s = ignis_span_start(f->t, "on-main", NULL);
    ignis_span_set_int(s, "k", 1);
    ignis_span_end(s, 0);
    char main_name[16] = "";
    pthread_getname_np(pthread_self(), main_name, sizeof main_name); /* named before its first span */
    named_run r = {f->t, 0};
    pthread_t th;
    pthread_create(&th, NULL, named_thread, &r);
    pthread_join(th, NULL);
    s = ignis_span_start(f->t, "replaced", NULL);
    ignis_span_set_int(s, "thread.id", 42);
    ignis_span_end(s, 0);
    const rec_span *m = collector_find(&f->col, "on-main"), *w = collector_find(&f->col, "on-worker");
    assert_int_equal(m->nattrs, 3);
    assert_int_equal(rec_find_attr(m, "thread.id")->i, (int64_t)gettid());
    assert_string_equal(rec_find_attr(m, "thread.name")->s, main_name);
    assert_int_equal(rec_find_attr(w, "thread.id")->i, r.tid);
    assert_true(r.tid != (int64_t)gettid());
    assert_string_equal(rec_find_attr(w, "thread.name")->s, "ig-worker-7");
    const rec_span *x = collector_find(&f->col, "replaced");
    assert_int_equal(x->nattrs, 2);
    assert_int_equal(rec_find_attr(x, "thread.id")->i, 42);
    fx_free(f);
    f = fx_new(thread_attrs_tight); /* the value length limit cuts the name */
    ignis_span_end(ignis_span_start(f->t, "tight", NULL), 0);
    char cut[4];
    snprintf(cut, sizeof cut, "%s", main_name);
    assert_string_equal(rec_find_attr(collector_find(&f->col, "tight"), "thread.name")->s, cut);
    fx_free(f);
    f = fx_new(thread_attrs_one); /* no room for both: neither is added */
    ignis_span_end(ignis_span_start(f->t, "one", NULL), 0);
    assert_int_equal(collector_find(&f->col, "one")->nattrs, 0);
    fx_free(f);
}

static void console_line(void **st)
{
    (void)st;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    ig_exporter *e = ig_console_exporter_new(mem);
    ignis_provider_options o;
    test_options(&o, true);
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, e, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "console", NULL, NULL, 0);
    ignis_span *s = ignis_span_start(t, "GET /x", &(ignis_span_options){.kind = IGNIS_SPAN_KIND_SERVER});
    ignis_span_set_int(s, "http.response.status_code", 500);
    ignis_span_set_status(s, IGNIS_STATUS_ERROR, "boom");
    ignis_span_end(s, 0);
    ignis_tracer_provider_free(tp);
    fclose(mem);
    assert_non_null(strstr(buf, "name=\"GET /x\""));
    assert_non_null(strstr(buf, "kind=server"));
    assert_non_null(strstr(buf, "status=error(\"boom\")"));
    assert_non_null(strstr(buf, "http.response.status_code=500"));
    assert_non_null(strstr(buf, "parent=-"));
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0'); /* exactly one line */
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parents),          cmocka_unit_test(attributes), cmocka_unit_test(many_keys_replaced),
        cmocka_unit_test(big_values),       cmocka_unit_test(limits),
        cmocka_unit_test(events_status_times), cmocka_unit_test(unsampled_and_keep_errors),
        cmocka_unit_test(null_safety),      cmocka_unit_test(end_twice_is_ignored),
        cmocka_unit_test(null_arrays_with_counts),      cmocka_unit_test(tracers_by_scope),
        cmocka_unit_test(context_to_thread), cmocka_unit_test(scopes_nest),
        cmocka_unit_test(console_line),     cmocka_unit_test(thread_attributes),
    };
    return cmocka_run_group_tests_name("trace_span", tests, NULL, NULL);
}
