/*
 * tests/trace/test_clock.c — the opt-in TSC clock (IGNIS_TRACE_CLOCK=tsc)
 * must agree with CLOCK_REALTIME: every timestamp lies between realtime
 * readings taken just before and after it (with 1 ms of slack for the
 * anchor's frequency error), across re-anchoring, in several threads.
 * Skipped on CPUs without an invariant TSC (the SDK then uses realtime,
 * which is checked the same way).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

static uint64_t realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define SLACK 1000000ull

static void *check_thread(void *arg)
{
    int *bad = arg;
    for (int i = 0; i < 200000; i++) {
        uint64_t before = realtime();
        uint64_t t = ig_now_ns();
        uint64_t after = realtime();
        if (t + SLACK < before || t > after + SLACK)
            (*bad)++;
    }
    return NULL;
}

static void agrees_with_realtime(void **st)
{
    (void)st;
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.exporter = IGNIS_EXPORTER_NONE;
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, NULL, 0); /* sets the clock up */
    int bad[2] = {0, 0};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, check_thread, &bad[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(bad[0], 0);
    assert_int_equal(bad[1], 0);
    /* span times come from the same clock */
    ignis_tracer *t = ignis_tracer_get(tp, "clock", NULL, NULL, 0);
    collector c;
    collector_init(&c);
    ignis_provider_options so;
    test_options(&so, true);
    ignis_tracer_provider *tp2 = ig_tracer_provider_new_with_exporter(&so, &c.base, NULL, 0);
    t = ignis_tracer_get(tp2, "clock", NULL, NULL, 0);
    uint64_t before = realtime();
    ignis_span *s = ignis_span_start(t, "timed", NULL);
    ignis_span_end(s, 0);
    uint64_t after = realtime();
    assert_true(c.spans[0].start_ns + SLACK >= before);
    assert_true(c.spans[0].end_ns <= after + SLACK);
    assert_true(c.spans[0].end_ns >= c.spans[0].start_ns);
    ignis_tracer_provider_free(tp2);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
    if (!ig_clock_tsc)
        skip(); /* checked realtime only */
}

int main(void)
{
    setenv("IGNIS_TRACE_CLOCK", "tsc", 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(agrees_with_realtime)};
    return cmocka_run_group_tests_name("trace_clock", tests, NULL, NULL);
}
