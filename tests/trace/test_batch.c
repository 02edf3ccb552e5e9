/*
 * tests/trace/test_batch.c — the batch processor: delivery in batches
 * without a flush, the schedule-delay timer, drops counted when the queue
 * is full (a blocking exporter holds the export thread), force_flush and
 * shutdown returning within their timeout when the exporter is stuck,
 * shutdown delivering what is queued, spans ended after shutdown.
 * Synchronisation is by condition variables only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

static ignis_tracer_provider *make(collector *c, int queue, int batch, int delay_ms)
{
    ignis_provider_options o;
    test_options(&o, false);
    o.batch.max_queue_size = queue;
    o.batch.max_export_batch_size = batch;
    o.batch.schedule_delay_ms = delay_ms;
    o.batch.export_timeout_ms = 1234;
    return ig_tracer_provider_new_with_exporter(&o, &c->base, NULL, 0);
}

static void end_n(ignis_tracer *t, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        ignis_span *s = ignis_span_start(t, name, NULL);
        ignis_span_set_int(s, "i", i);
        ignis_span_end(s, 0);
    }
}

static void delivers_full_batches(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 16, 4, 600000); /* the timer never fires */
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 8, "full");
    assert_int_equal(collector_wait(&c, 8), 8); /* woken by full batches, no flush */
    end_n(t, 2, "partial");
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 10000), 0);
    assert_int_equal(c.n, 10);
    assert_true(c.max_batch <= 4);
    assert_int_equal(c.last_timeout, 1234);
    assert_true(c.flushes >= 1);
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_exported, 10);
    assert_int_equal(k.spans_dropped, 0);
    ignis_tracer_provider_free(tp);
    assert_int_equal(c.destroyed, 1);
    collector_fini(&c);
}

static void schedule_delay_timer(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 2048, 512, 20);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 3, "timer");
    assert_int_equal(collector_wait(&c, 3), 3); /* below the batch size: the timer exports */
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

static void full_queue_drops_and_counts(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    c.block = true;
    ignis_tracer_provider *tp = make(&c, 8, 4, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 1, "first");
    ignis_tracer_provider_force_flush(tp, 0); /* wake the thread without waiting */
    assert_true(collector_wait_in_export(&c)); /* the export thread is now stuck */
    end_n(t, 8 + 5, "queued"); /* never blocks: 8 fit, 5 are dropped */
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_dropped, 5);
    assert_int_equal(k.spans_sampled, 14);
    assert_int_equal(k.spans_ended, 14);
    collector_open_gate(&c);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    assert_int_equal(c.n, 9);
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_exported, 9);
    /* the counters are logged once, at shutdown */
    logcap_reset();
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_free(tp);
    assert_int_equal(g_logcap.infos, 1);
    assert_non_null(strstr(g_logcap.last_info, "spans started 14 sampled 14 ended 14"));
    assert_non_null(strstr(g_logcap.last_info, "exported 9 dropped 5"));
    ignis_trace_set_logger(NULL, NULL);
    collector_fini(&c);
}

static void wait_destroyed(collector *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&c->mu);
    while (!c->destroyed)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->mu);
}

static int destroy_signal(ig_exporter *e, const ig_span_data *const *s, size_t n, int t)
{
    return collector_export(e, s, n, t);
}

static void destroy_and_signal(ig_exporter *e)
{
    collector *c = (collector *)e;
    pthread_mutex_lock(&c->mu);
    c->destroyed++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Producers take queue credits in chunks (2 here: batch 8, queue 64) and
 * wake the export thread when the credits taken reach a batch.  After 7
 * spans 8 credits are taken, one still in the producer's hand; the 8th
 * span would use it and wake nobody.  The export thread must then not
 * sleep for the schedule delay (10 minutes here): before the fix it did
 * whenever it looked before the 8th span was queued, which made
 * stuck_exporter_timeouts hang under TSan; with 7 spans it always did. */
static void credits_in_hand_wake_export(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 64, 8, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 7, "in-hand");
    assert_int_equal(collector_wait(&c, 7), 7);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

static void stuck_exporter_timeouts(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    c.block = true;
    c.base.export_spans = destroy_signal;
    c.base.destroy = destroy_and_signal;
    ignis_tracer_provider *tp = make(&c, 64, 8, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 8, "stuck");
    assert_true(collector_wait_in_export(&c));
    /* both return (with -1) although the exporter never returns */
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 100), -1);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 100), -1);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 100), 0); /* idempotent */
    /* new spans after shutdown are non-recording */
    ignis_span *s = ignis_span_start(t, "late", NULL);
    assert_false(ignis_span_is_recording(s));
    ignis_span_end(s, 0);
    ignis_tracer_provider_free(tp); /* returns at once; the stuck thread owns the rest */
    assert_int_equal(c.destroyed, 0);
    collector_open_gate(&c);
    wait_destroyed(&c); /* the thread finishes, destroys the exporter, frees everything */
    assert_int_equal(c.destroyed, 1);
    collector_fini(&c);
}

static void shutdown_delivers_queue(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 2048, 512, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    ignis_span *open_span = ignis_span_start(t, "open", NULL);
    end_n(t, 3, "pending");
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.destroyed, 1);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 10), 0);
    ignis_span_set_int(open_span, "k", 1);
    ignis_span_end(open_span, 0); /* ended after shutdown: dropped quietly */
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_exported, 3); /* final counters survive the exporter */
    ignis_tracer_provider_free(tp);
    assert_int_equal(c.n, 3);
    collector_fini(&c);
}

static void failed_exports_counted(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    c.fail = 1;
    ignis_tracer_provider *tp = make(&c, 2048, 512, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    end_n(t, 5, "fails");
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 10000), 0);
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.export_failures, 5);
    assert_int_equal(k.spans_exported, 0);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

/* Spans still referenced when they end (a retained handle, a scope) and
 * spans with overflow chunks travel the batch queue's slower paths. */
static void retained_and_large_spans(void **st)
{
    (void)st;
    collector c;
    collector_init(&c);
    ignis_tracer_provider *tp = make(&c, 64, 8, 600000);
    ignis_tracer *t = ignis_tracer_get(tp, "batch", NULL, NULL, 0);
    ignis_span *kept = ignis_span_start(t, "retained", NULL);
    ignis_span_retain(kept);
    ignis_scope sc = ignis_span_make_current(kept);
    ignis_span_end(kept, 0);
    char big[5000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        ignis_span *s = ignis_span_start(t, "large", NULL); /* child of the ended current span */
        ignis_span_set_string(s, "big", big);
        ignis_span_end(s, 0);
    }
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    assert_int_equal(c.n, 21);
    const rec_span *r = collector_find(&c, "retained"), *l = collector_find(&c, "large");
    assert_memory_equal(l->parent, r->span_id, 8);
    assert_int_equal(strlen(rec_find_attr(l, "big")->s), 255); /* copy truncated by the recorder */
    ignis_span_context ctx;
    ignis_span_get_context(kept, &ctx); /* still readable: exported but referenced */
    assert_memory_equal(ctx.span_id, r->span_id, 8);
    ignis_scope_end(sc);
    ignis_span_release(kept);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delivers_full_batches), cmocka_unit_test(schedule_delay_timer),
        cmocka_unit_test(full_queue_drops_and_counts), cmocka_unit_test(stuck_exporter_timeouts),
        cmocka_unit_test(shutdown_delivers_queue), cmocka_unit_test(failed_exports_counted),
        cmocka_unit_test(retained_and_large_spans), cmocka_unit_test(credits_in_hand_wake_export),
    };
    return cmocka_run_group_tests_name("trace_batch", tests, NULL, NULL);
}
