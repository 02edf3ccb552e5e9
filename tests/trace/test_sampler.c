/*
 * tests/trace/test_sampler.c — samplers: the 56-bit ratio threshold,
 * determinism on the trace id, the superset property, parent-based rules,
 * OTEL_TRACES_SAMPLER/_ARG parsing (invalid values warn and default).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#include <math.h>

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t next_rand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void random_tid(uint8_t tid[16])
{
    uint64_t a = next_rand(), b = next_rand();
    memcpy(tid, &a, 8);
    memcpy(tid + 8, &b, 8);
}

static void set_low56(uint8_t tid[16], uint64_t r)
{
    memset(tid, 0xab, 9);
    for (int i = 15; i >= 9; i--, r >>= 8)
        tid[i] = (uint8_t)r;
}

static void threshold(void **st)
{
    (void)st;
    assert_int_equal(ig_ratio_threshold(1.0), 0);
    assert_int_equal(ig_ratio_threshold(0.0), 1ull << 56);
    assert_int_equal(ig_ratio_threshold(0.5), 1ull << 55);
    assert_int_equal(ig_ratio_threshold(0.25), 3ull << 54);
    uint8_t tid[16];
    set_low56(tid, 1ull << 55);
    assert_true(ig_ratio_sampled(ig_ratio_threshold(0.5), tid));
    set_low56(tid, (1ull << 55) - 1);
    assert_false(ig_ratio_sampled(ig_ratio_threshold(0.5), tid));
    set_low56(tid, (1ull << 56) - 1);
    assert_false(ig_ratio_sampled(ig_ratio_threshold(0.0), tid));
    assert_true(ig_ratio_sampled(ig_ratio_threshold(1e-12), tid)); /* tiny ratio keeps the maximum */
    set_low56(tid, 0);
    assert_true(ig_ratio_sampled(ig_ratio_threshold(1.0), tid));
    /* the upper 9 bytes do not matter */
    uint8_t t2[16];
    set_low56(tid, 12345);
    memcpy(t2, tid, 16);
    memset(t2, 0x00, 9);
    assert_int_equal(ig_ratio_sampled(ig_ratio_threshold(0.9999999), tid),
                     ig_ratio_sampled(ig_ratio_threshold(0.9999999), t2));
}

static void superset_and_rate(void **st)
{
    (void)st;
    const double ratios[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
    const int nr = sizeof ratios / sizeof *ratios, N = 40000;
    int kept[7] = {0};
    ig_sampler s[7];
    for (int i = 0; i < nr; i++)
        ig_sampler_init(&s[i], IGNIS_SAMPLER_TRACEIDRATIO, ratios[i]);
    for (int n = 0; n < N; n++) {
        uint8_t tid[16];
        random_tid(tid);
        bool prev = false;
        for (int i = 0; i < nr; i++) {
            bool d = ig_sampler_should_sample(&s[i], tid, false, false, false);
            /* deterministic: a second sampler with the same ratio agrees */
            ig_sampler again;
            ig_sampler_init(&again, IGNIS_SAMPLER_TRACEIDRATIO, ratios[i]);
            assert_int_equal(d, ig_sampler_should_sample(&again, tid, false, false, false));
            /* superset: kept at a lower ratio implies kept at every higher one */
            if (prev)
                assert_true(d);
            prev = d;
            kept[i] += d;
        }
    }
    for (int i = 0; i < nr; i++) {
        double rate = (double)kept[i] / N, sd = sqrt(ratios[i] * (1 - ratios[i]) / N);
        if (fabs(rate - ratios[i]) > 5 * sd + 1e-9)
            fail_msg("ratio %g kept %g", ratios[i], rate);
    }
}

static void parent_based(void **st)
{
    (void)st;
    uint8_t tid[16];
    set_low56(tid, 0); /* rejected by any ratio < 1 */
    ig_sampler s;
    ig_sampler_init(&s, IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5);
    assert_false(ig_sampler_should_sample(&s, tid, false, false, false)); /* root: ratio */
    assert_true(ig_sampler_should_sample(&s, tid, true, true, true));    /* sampled remote parent */
    assert_true(ig_sampler_should_sample(&s, tid, true, false, true));   /* sampled local parent */
    set_low56(tid, (1ull << 56) - 1);                                    /* accepted by the ratio */
    assert_true(ig_sampler_should_sample(&s, tid, false, false, false));
    assert_false(ig_sampler_should_sample(&s, tid, true, true, false));  /* unsampled parent wins */
    ig_sampler_init(&s, IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF, 1);
    assert_false(ig_sampler_should_sample(&s, tid, false, false, false));
    assert_true(ig_sampler_should_sample(&s, tid, true, false, true));
    ig_sampler_init(&s, IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON, 1);
    assert_true(ig_sampler_should_sample(&s, tid, false, false, false));
    assert_false(ig_sampler_should_sample(&s, tid, true, false, false));
    ig_sampler_init(&s, IGNIS_SAMPLER_ALWAYS_ON, 1);
    assert_true(ig_sampler_should_sample(&s, tid, true, false, false)); /* ignores the parent */
    ig_sampler_init(&s, IGNIS_SAMPLER_ALWAYS_OFF, 1);
    assert_false(ig_sampler_should_sample(&s, tid, true, false, true));
}

static void env_strings(void **st)
{
    (void)st;
    ignis_sampler_kind k;
    double r;
    logcap_reset();
    ig_sampler_from_strings("traceidratio", "0.25", &k, &r);
    assert_int_equal(k, IGNIS_SAMPLER_TRACEIDRATIO);
    assert_true(r == 0.25);
    assert_int_equal(g_logcap.warnings, 0);
    ig_sampler_from_strings("parentbased_traceidratio", " 0 ", &k, &r);
    assert_int_equal(k, IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_true(r == 0.0);
    ig_sampler_from_strings("traceidratio", "abc", &k, &r);
    assert_int_equal(k, IGNIS_SAMPLER_TRACEIDRATIO);
    assert_true(r == 1.0);
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(g_logcap.last, "OTEL_TRACES_SAMPLER_ARG"));
    ig_sampler_from_strings("traceidratio", "1.5", &k, &r);
    assert_true(r == 1.0);
    ig_sampler_from_strings("traceidratio", "-0.1", &k, &r);
    assert_true(r == 1.0);
    ig_sampler_from_strings("traceidratio", "0.5x", &k, &r);
    assert_true(r == 1.0);
    assert_int_equal(g_logcap.warnings, 4);
    ig_sampler_from_strings("always_off", "junk", &k, &r); /* arg ignored, no warning */
    assert_int_equal(k, IGNIS_SAMPLER_ALWAYS_OFF);
    assert_int_equal(g_logcap.warnings, 4);
    ig_sampler_from_strings("sometimes", NULL, &k, &r);
    assert_int_equal(k, IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_int_equal(g_logcap.warnings, 5);
    assert_non_null(strstr(g_logcap.last, "OTEL_TRACES_SAMPLER"));
    ig_sampler_from_strings(NULL, NULL, &k, &r);
    assert_int_equal(k, IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON);
    const char *names[] = {"always_on", "always_off", "parentbased_always_on", "parentbased_always_off"};
    const ignis_sampler_kind kinds[] = {IGNIS_SAMPLER_ALWAYS_ON, IGNIS_SAMPLER_ALWAYS_OFF,
                                        IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON, IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF};
    for (int i = 0; i < 4; i++) {
        ig_sampler_from_strings(names[i], NULL, &k, &r);
        assert_int_equal(k, kinds[i]);
    }
    ignis_trace_set_logger(NULL, NULL);
}

/* The provider applies the sampler to its spans. */
static void through_provider(void **st)
{
    (void)st;
    setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0.3", 1);
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    assert_int_equal(o.sampler, IGNIS_SAMPLER_TRACEIDRATIO);
    collector col;
    collector_init(&col);
    o.processor = IGNIS_PROCESSOR_SIMPLE;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &col.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "s", NULL, NULL, 0);
    uint64_t thr = ig_ratio_threshold(0.3);
    int sampled = 0;
    for (int i = 0; i < 2000; i++) {
        ignis_span *s = ignis_span_start(t, "x", NULL);
        ignis_span_context sc;
        ignis_span_get_context(s, &sc);
        assert_int_equal(ignis_span_is_recording(s), ig_ratio_sampled(thr, sc.trace_id));
        assert_int_equal(sc.trace_flags & 1, ig_ratio_sampled(thr, sc.trace_id));
        sampled += ignis_span_is_recording(s);
        ignis_span_end(s, 0);
    }
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_started, 2000);
    assert_int_equal(c.spans_sampled, (uint64_t)sampled);
    assert_int_equal(c.spans_ended, 2000);
    assert_int_equal(col.n, (size_t)sampled);
    ignis_tracer_provider_free(tp);
    assert_int_equal(c.spans_exported, (uint64_t)sampled);
    collector_fini(&col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threshold),   cmocka_unit_test(superset_and_rate), cmocka_unit_test(parent_based),
        cmocka_unit_test(env_strings), cmocka_unit_test(through_provider),
    };
    return cmocka_run_group_tests_name("trace_sampler", tests, NULL, NULL);
}
