/*
 * tests/trace/test_rings.c — the batch processor's per-thread queues.
 *
 * Every thread that ends spans gets its own ring; these tests check what
 * that design must still guarantee: max_queue_size bounds the spans queued
 * by all threads together (the rest are dropped and counted), rings of
 * exited threads are drained and reused rather than leaked, a thread
 * ending spans for more processors than it has slots loses none, and
 * freeing a processor leaves no thread pointing at its rings.  Threads
 * synchronise with joins and condition variables, never sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

static ignis_tracer_provider *make(collector *c, int queue, int batch)
{
    ignis_provider_options o;
    test_options(&o, false);
    o.batch.max_queue_size = queue;
    o.batch.max_export_batch_size = batch;
    o.batch.schedule_delay_ms = 600000; /* only batches and flushes export */
    return ig_tracer_provider_new_with_exporter(&o, &c->base, NULL, 0);
}

typedef struct job {
    ignis_tracer *t;
    int n;
    const char *name;
} job;

static void *end_spans(void *arg)
{
    job *j = arg;
    for (int i = 0; i < j->n; i++) {
        ignis_span *s = ignis_span_start(j->t, j->name, NULL);
        ignis_span_set_int(s, "i", i);
        ignis_span_end(s, 0);
    }
    return NULL;
}

static void run_threads(int nthreads, job *j)
{
    pthread_t th[16];
    for (int i = 0; i < nthreads; i++)
        assert_int_equal(pthread_create(&th[i], NULL, end_spans, j), 0);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
}

/* Four threads end 400 spans while the exporter is stuck: the queue of 64
 * holds at most 64 of them whatever thread ended them; the others are
 * dropped and counted, and every span is either exported or dropped. */
static void queue_bound_holds_across_threads(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    c.block = true;
    ignis_tracer_provider *tp = make(&c, 64, 8);
    ignis_tracer *t = ignis_tracer_get(tp, "rings", NULL, NULL, 0);
    job first = {t, 1, "first"};
    end_spans(&first);
    ignis_tracer_provider_force_flush(tp, 0);
    assert_true(collector_wait_in_export(&c)); /* holds "first"; the queue is empty */
    job j = {t, 100, "queued"};
    run_threads(4, &j);
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_sampled, 401);
    /* credits idle in a thread's hands (at most 2 per ring at this queue
     * size) may only make the bound tighter, never looser */
    assert_true(k.spans_dropped >= 400 - 64);
    assert_true(k.spans_dropped <= 400 - 64 + 2 * 5);
    collector_open_gate(&c);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_exported + k.spans_dropped, 401);
    assert_int_equal(c.n, k.spans_exported);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

/* 200 short-lived threads, one after another: all their spans arrive, and
 * the rings of exited threads are reused by the threads that follow. */
static void exited_threads_rings_are_drained_and_reused(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 2048, 512);
    ignis_tracer *t = ignis_tracer_get(tp, "rings", NULL, NULL, 0);
    job j = {t, 10, "short-lived"};
    for (int i = 0; i < 200; i++)
        run_threads(1, &j);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    assert_int_equal(c.n, 2000);
    size_t rings = ig_processor_rings(tp->proc);
    assert_true(rings >= 1);
    assert_true(rings <= 3); /* not one per thread */
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

/* One thread ends spans for more providers than it has ring slots, round
 * after round: none is lost, and a ring given up is claimed again rather
 * than a new one made each time. */
static void more_providers_than_slots(void **st)
{
    (void)st;
    enum { NP = IG_RING_SLOTS + 2, ROUNDS = 5, PER = 7 };
    collector c[NP];
    ignis_tracer_provider *tp[NP];
    ignis_tracer *t[NP];
    for (int i = 0; i < NP; i++) {
        collector_init(&c[i]);
        tp[i] = make(&c[i], 64, 8);
        t[i] = ignis_tracer_get(tp[i], "rings", NULL, NULL, 0);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NP; i++) {
            job j = {t[i], PER, "rr"};
            end_spans(&j);
        }
    for (int i = 0; i < NP; i++) {
        assert_int_equal(ignis_tracer_provider_force_flush(tp[i], 20000), 0);
        assert_int_equal(c[i].n, ROUNDS * PER);
        assert_true(ig_processor_rings(tp[i]->proc) <= 2);
    }
    /* free in an order unlike creation, then a new provider still works */
    for (int i = NP - 1; i >= 0; i -= 2)
        ignis_tracer_provider_free(tp[i]);
    for (int i = NP - 2; i >= 0; i -= 2)
        ignis_tracer_provider_free(tp[i]);
    collector again;
    collector_init(&again);
    ignis_tracer_provider *tq = make(&again, 64, 8);
    job j = {ignis_tracer_get(tq, "rings", NULL, NULL, 0), 9, "again"};
    end_spans(&j);
    assert_int_equal(ignis_tracer_provider_force_flush(tq, 20000), 0);
    assert_int_equal(again.n, 9);
    ignis_tracer_provider_free(tq);
    collector_fini(&again);
    for (int i = 0; i < NP; i++)
        collector_fini(&c[i]);
}

/* A live thread holds a ring of provider P; P is freed and Q made: the
 * thread's next spans go to Q's own ring (ASan catches any reuse of P's). */
typedef struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ignis_tracer *t; /* the tracer to use next; NULL = quit */
    int round, done;
} handoff;

static void *follower(void *arg)
{
    handoff *h = arg;
    for (int seen = 0;;) {
        pthread_mutex_lock(&h->mu);
        while (h->round == seen)
            pthread_cond_wait(&h->cv, &h->mu);
        seen = h->round;
        ignis_tracer *t = h->t;
        pthread_mutex_unlock(&h->mu);
        if (!t)
            return NULL;
        job j = {t, 25, "follower"};
        end_spans(&j);
        pthread_mutex_lock(&h->mu);
        h->done = seen;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

static void run_round(handoff *h, ignis_tracer *t)
{
    pthread_mutex_lock(&h->mu);
    h->t = t;
    int round = ++h->round;
    pthread_cond_broadcast(&h->cv);
    while (t && h->done != round)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void freed_provider_leaves_no_ring_behind(void **st)
{
    (void)st;
    handoff h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follower, &h), 0);
    for (int round = 0; round < 3; round++) {
        collector c;
        collector_init(&c);
        ignis_tracer_provider *tp = make(&c, 64, 8);
        run_round(&h, ignis_tracer_get(tp, "rings", NULL, NULL, 0));
        assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
        assert_int_equal(c.n, 25);
        ignis_tracer_provider_free(tp);
        collector_fini(&c);
    }
    run_round(&h, NULL);
    pthread_join(th, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_bound_holds_across_threads),
        cmocka_unit_test(exited_threads_rings_are_drained_and_reused),
        cmocka_unit_test(more_providers_than_slots),
        cmocka_unit_test(freed_provider_leaves_no_ring_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
