/*
 * tests/trace/test_scopes.c — scope references and the published record.
 *
 * A span made current holds a reference; when its scope ends the reference
 * is parked in the thread cache (tc->parked) and dropped by the span's own
 * end on that thread with a plain store (libtrace/internal.h,
 * ig_span_park).  These tests follow every order a span and its scope can
 * end in — scope first, span first, the span ended on another thread, made
 * current again, the thread gone — and check that each span is exported
 * once and its block freed exactly when its last reference goes (the next
 * span on the thread gets the same block back, ASan sees no use after
 * free).  Along the way they check what the thread's OTEP 4947 record
 * (otel_thread_ctx_v1) says: always the current span, or valid = 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

extern __thread ig_otel_record *otel_thread_ctx_v1;

typedef struct fx {
    collector col;
    ignis_tracer_provider *tp;
    ignis_tracer *t;
} fx;

/* exporting: a simple processor into a collector; else no exporter (an
 * ended span's block goes straight back to its thread). */
static fx *fx_new(bool exporting)
{
    fx *f = calloc(1, sizeof *f);
    collector_init(&f->col);
    ignis_provider_options o;
    test_options(&o, true);
    f->tp = ig_tracer_provider_new_with_exporter(&o, exporting ? &f->col.base : NULL, NULL, 0);
    f->t = ignis_tracer_get(f->tp, "test.scopes", "1", NULL, 0);
    return f;
}

static void fx_free(fx *f)
{
    ignis_tracer_provider_free(f->tp);
    collector_fini(&f->col);
    free(f);
}

static uint32_t refs(ignis_span *s) { return atomic_load(&s->refs); }

static const ig_tctx_block *block_of(const ig_otel_record *r)
{
    return (const ig_tctx_block *)((const char *)r - offsetof(ig_tctx_block, rec));
}

/* The record describes s (ids, flags, and its name when s records). */
static void assert_published(const ignis_span *s)
{
    const ig_otel_record *r = otel_thread_ctx_v1;
    assert_non_null(r);
    assert_int_equal(r->valid, 1);
    assert_memory_equal(r->trace_id, s->d.trace_id, 16);
    assert_memory_equal(r->span_id, s->d.span_id, 8);
    assert_int_equal(r->trace_flags, s->d.flags);
    size_t n = strlen(s->d.name);
    assert_int_equal(r->attrs_data_size, n + 2);
    assert_int_equal(r->attrs_data[0], 0); /* key index 0: span_name */
    assert_int_equal(r->attrs_data[1], n);
    assert_memory_equal(r->attrs_data + 2, s->d.name, n);
}

static void assert_nothing_published(void)
{
    assert_non_null(otel_thread_ctx_v1);
    assert_int_not_equal(otel_thread_ctx_v1->valid, 1);
}

/* scope_end then span_end: the scope's reference is parked, then dropped
 * by the end; the block comes back for the next span. */
static void scope_then_span(void **st)
{
    (void)st;
    fx *f = fx_new(false);
    ignis_span *s = ignis_span_start(f->t, "first", NULL);
    ignis_scope sc = ignis_span_make_current(s);
    assert_int_equal(refs(s), 2);
    assert_published(s);
    ignis_scope_end(sc);
    assert_nothing_published();
    assert_ptr_equal(ig_tls_cache->parked, s);
    assert_int_equal(refs(s), 2);
    ignis_span_end(s, 0);
    assert_null(ig_tls_cache->parked);
    ignis_span *next = ignis_span_start(f->t, "next", NULL);
    assert_ptr_equal(next, s); /* both references went: the block was free */
    ignis_span_end(next, 0);
    fx_free(f);
}

/* span_end while current: the scope keeps the block (a child started
 * meanwhile gets another one and the right parent), scope_end frees it
 * once the next parked span replaces it. */
static void span_then_scope(void **st)
{
    (void)st;
    fx *f = fx_new(true);
    ignis_span *s = ignis_span_start(f->t, "ended-while-current", NULL);
    ignis_scope sc = ignis_span_make_current(s);
    ignis_span_end(s, 0);
    assert_int_equal(refs(s), 1);
    assert_ptr_equal(ignis_span_current(), s);
    assert_published(s);
    ignis_span *child = ignis_span_start(f->t, "child", NULL);
    assert_ptr_not_equal(child, s);
    ignis_scope_end(sc);
    assert_ptr_equal(ig_tls_cache->parked, s);
    ignis_scope cc = ignis_span_make_current(child);
    assert_published(child);
    ignis_scope_end(cc); /* parks child, drops s's last reference */
    assert_ptr_equal(ig_tls_cache->parked, child);
    ignis_span_end(child, 0);
    assert_null(ig_tls_cache->parked);
    assert_int_equal(f->col.n, 2);
    assert_memory_equal(collector_find(&f->col, "child")->parent,
                        collector_find(&f->col, "ended-while-current")->span_id, 8);
    fx_free(f);
}

static void *end_it(void *arg)
{
    ignis_span_end(arg, 0);
    return NULL;
}

/* The span whose reference is parked here is ended on another thread:
 * that end drops only its own reference; the parked one goes later. */
static void parked_span_ended_elsewhere(void **st)
{
    (void)st;
    fx *f = fx_new(true);
    ignis_span *s = ignis_span_start(f->t, "ended-elsewhere", NULL);
    ignis_scope sc = ignis_span_make_current(s);
    ignis_scope_end(sc);
    pthread_t th;
    pthread_create(&th, NULL, end_it, s);
    pthread_join(th, NULL);
    assert_int_equal(refs(s), 1); /* the parked reference */
    assert_ptr_equal(ig_tls_cache->parked, s);
    ignis_span *t = ignis_span_start(f->t, "next", NULL);
    assert_ptr_not_equal(t, s);
    ignis_scope tc = ignis_span_make_current(t);
    ignis_scope_end(tc); /* parks t, drops s */
    ignis_span_end(t, 0);
    assert_int_equal(f->col.n, 2);
    assert_non_null(collector_find(&f->col, "ended-elsewhere"));
    fx_free(f);
}

/* Made current again after its scope ended: the parked reference becomes
 * the new scope's (no reference taken, none lost). */
static void current_again(void **st)
{
    (void)st;
    fx *f = fx_new(false);
    ignis_span *s = ignis_span_start(f->t, "again", NULL);
    ignis_scope a = ignis_span_make_current(s);
    ignis_scope_end(a);
    ignis_scope b = ignis_span_make_current(s);
    assert_null(ig_tls_cache->parked);
    assert_int_equal(refs(s), 2);
    assert_published(s);
    ignis_scope_end(b);
    assert_nothing_published();
    ignis_span_end(s, 0);
    ignis_span *next = ignis_span_start(f->t, "next", NULL);
    assert_ptr_equal(next, s);
    ignis_span_end(next, 0);
    fx_free(f);
}

typedef struct exiting {
    ignis_tracer *t;
    ignis_span *s;
} exiting;

static void *current_then_exit(void *arg)
{
    exiting *e = arg;
    e->s = ignis_span_start(e->t, "outlives-thread", NULL);
    ignis_scope sc = ignis_span_make_current(e->s);
    ignis_scope_end(sc);
    return NULL; /* the thread's exit drops the parked reference */
}

static void thread_exit_drops_parked(void **st)
{
    (void)st;
    fx *f = fx_new(true);
    exiting e = {f->t, NULL};
    pthread_t th;
    pthread_create(&th, NULL, current_then_exit, &e);
    pthread_join(th, NULL);
    assert_int_equal(refs(e.s), 1); /* the caller's, handed to this thread */
    ignis_span_end(e.s, 0);
    assert_int_equal(f->col.n, 1);
    fx_free(f);
}

/* Nested spans and a remote context: the record always describes the
 * top of the stack, and every change counts one update. */
static void record_follows_stack(void **st)
{
    (void)st;
    fx *f = fx_new(true);
    const ig_tctx_block *b = NULL;
    ignis_span *p = ignis_span_start(f->t, "parent", NULL);
    ignis_scope ps = ignis_span_make_current(p);
    b = block_of(otel_thread_ctx_v1);
    uint32_t seq = b->seq;
    assert_published(p);
    ignis_span *c = ignis_span_start(f->t, "a child with a longer name than the parent", NULL);
    ignis_scope cs = ignis_span_make_current(c);
    assert_published(c);
    assert_int_equal(b->seq, seq + 1);
    ignis_scope_end(cs);
    assert_published(p); /* the parent, name cut back to its own length */
    assert_int_equal(b->seq, seq + 2);
    ignis_span_end(c, 0);
    const char *lines[] = {"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    ignis_context *remote = ignis_extract_header_lines(NULL, lines, 1);
    ignis_scope rs = ignis_context_attach(remote);
    const ig_otel_record *r = otel_thread_ctx_v1;
    assert_int_equal(r->valid, 1);
    assert_int_equal(r->span_id[0], 0x00);
    assert_int_equal(r->span_id[1], 0xf0);
    assert_int_equal(r->trace_id[0], 0x4b);
    assert_int_equal(r->trace_flags, 1);
    assert_int_equal(r->attrs_data_size, 0); /* a remote span has no name here */
    ignis_scope_end(rs);
    ignis_context_release(remote);
    assert_published(p);
    ignis_scope_end(ps);
    assert_nothing_published();
    assert_int_equal(b->seq, seq + 5);
    ignis_span_end(p, 0);
    assert_int_equal(f->col.n, 2);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scope_then_span),          cmocka_unit_test(span_then_scope),
        cmocka_unit_test(parked_span_ended_elsewhere), cmocka_unit_test(current_again),
        cmocka_unit_test(thread_exit_drops_parked), cmocka_unit_test(record_follows_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
