/*
 * tests/trace/test_stress.c — two application threads ending spans as
 * fast as they can into a small batch queue (so drops happen), handing
 * contexts to each other, while a third thread flushes and reads the
 * counters.  Checks the accounting invariants afterwards:
 *   started == ended == sampled, exported + dropped == sampled,
 * and that every exported child carries its parent's trace id.
 * Meant to run under TSan too: make TSAN=1 B=build-tsan-trace ...
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#define PER_THREAD 20000

typedef struct shared {
    ignis_tracer *t;
    pthread_mutex_t mu;
    ignis_context *mailbox; /* a context handed between the workers */
    _Atomic int running;
    ignis_tracer_provider *tp;
} shared;

static void *worker(void *arg)
{
    shared *sh = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        ignis_context *from_other = NULL;
        pthread_mutex_lock(&sh->mu);
        from_other = sh->mailbox;
        sh->mailbox = NULL;
        pthread_mutex_unlock(&sh->mu);
        ignis_scope outer = {0};
        if (from_other)
            outer = ignis_context_attach(from_other);
        ignis_span *p = ignis_span_start(sh->t, "parent", NULL);
        ignis_span_set_int(p, "i", i);
        ignis_scope sc = ignis_span_make_current(p);
        ignis_span *c = ignis_span_start(sh->t, "child", NULL);
        ignis_span_set_string(c, "k", "v");
        ignis_span_add_event(c, "e", NULL, 0, 0);
        if (i % 64 == 0) {
            ignis_context *mine = ignis_context_current();
            pthread_mutex_lock(&sh->mu);
            if (sh->mailbox)
                ignis_context_release(sh->mailbox);
            sh->mailbox = mine;
            pthread_mutex_unlock(&sh->mu);
        }
        ignis_span_end(c, 0);
        ignis_scope_end(sc);
        ignis_span_end(p, 0);
        if (from_other) {
            ignis_scope_end(outer);
            ignis_context_release(from_other);
        }
    }
    atomic_fetch_sub(&sh->running, 1);
    return NULL;
}

static void *flusher(void *arg)
{
    shared *sh = arg;
    while (atomic_load(&sh->running) > 0) {
        ignis_trace_counters k;
        ignis_tracer_provider_counters(sh->tp, &k);
        ignis_tracer_provider_force_flush(sh->tp, 1000);
    }
    return NULL;
}

static void two_threads(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_provider_options o;
    test_options(&o, false);
    o.batch.max_queue_size = 256;
    o.batch.max_export_batch_size = 64;
    o.batch.schedule_delay_ms = 5;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &c.base, NULL, 0);
    shared sh = {.t = ignis_tracer_get(tp, "stress", NULL, NULL, 0), .running = 2, .tp = tp};
    pthread_mutex_init(&sh.mu, NULL);
    pthread_t th[3];
    pthread_create(&th[0], NULL, worker, &sh);
    pthread_create(&th[1], NULL, worker, &sh);
    pthread_create(&th[2], NULL, flusher, &sh);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    if (sh.mailbox)
        ignis_context_release(sh.mailbox);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 30000), 0);
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    const uint64_t total = 2ull * 2 * PER_THREAD;
    assert_int_equal(k.spans_started, total);
    assert_int_equal(k.spans_ended, total);
    assert_int_equal(k.spans_sampled, total);
    assert_int_equal(k.spans_exported + k.spans_dropped, total);
    assert_int_equal(k.spans_exported, c.n);
    /* parent/child: children exported after their parents were started share trace ids */
    size_t checked = 0;
    for (size_t i = 0; i < c.n; i++) {
        const rec_span *r = &c.spans[i];
        if (strcmp(r->name, "child") != 0)
            continue;
        assert_true(r->has_parent);
        for (size_t j = i + 1; j < c.n && j < i + 4; j++)
            if (!memcmp(c.spans[j].span_id, r->parent, 8)) {
                assert_memory_equal(c.spans[j].trace_id, r->trace_id, 16);
                checked++;
            }
    }
    assert_true(checked > 0);
    ignis_tracer_provider_free(tp);
    pthread_mutex_destroy(&sh.mu);
    collector_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(two_threads)};
    return cmocka_run_group_tests_name("trace_stress", tests, NULL, NULL);
}
