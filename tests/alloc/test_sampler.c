/*
 * tests/alloc/test_sampler.c — the byte sampler's statistics against
 * their closed forms (fixed seeds, so each run draws the same numbers):
 * intervals are exponential with the configured mean, an allocation of s
 * bytes is sampled with probability 1 - exp(-s/I), and the pprof scale
 * makes the estimated bytes unbiased for a mix of sizes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "profiler/alloc/sampler.h"

static void test_interval_mean_and_shape(void **state)
{
    (void)state;
    ig_sampler s;
    ig_sampler_init(&s, 12345, 524288);
    const int n = 200000;
    double sum = 0, below_mean = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = ig_sampler_next(&s, 524288);
        assert_true(v >= 1);
        sum += (double)v;
        below_mean += v < 524288;
    }
    double mean = sum / n;
    assert_true(fabs(mean - 524288) < 524288 * 0.01);          /* sd of the mean: 0.22% */
    assert_true(fabs(below_mean / n - (1 - exp(-1))) < 0.005); /* P(X < mean) = 1 - 1/e */
}

static void test_every_allocation_when_interval_is_one(void **state)
{
    (void)state;
    ig_sampler s;
    ig_sampler_init(&s, 7, 1);
    for (int i = 0; i < 1000; i++)
        assert_true(ig_sampler_take(&s, 1 + (size_t)i % 100, 1));
    assert_true(ig_sampler_scale(100, 1) == 1.0);
}

static void test_sampling_probability_by_size(void **state)
{
    (void)state;
    const double interval = 65536;
    const size_t sizes[] = {64, 4096, 65536, 262144};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ig_sampler s;
        ig_sampler_init(&s, 99 + k, (int64_t)interval);
        const int n = 200000;
        int hits = 0;
        for (int i = 0; i < n; i++)
            hits += ig_sampler_take(&s, sizes[k], (int64_t)interval);
        double p = 1 - exp(-(double)sizes[k] / interval);
        double sd = sqrt(p * (1 - p) / n);
        assert_true(fabs((double)hits / n - p) < 5 * sd + 1e-4);
        assert_true(fabs(ig_sampler_scale((double)sizes[k], interval) - 1 / p) < 1e-9 / p);
    }
}

static void test_unbiased_total_for_mixed_sizes(void **state)
{
    (void)state;
    const int64_t interval = 524288;
    ig_sampler s;
    ig_sampler_init(&s, 2024, interval);
    uint64_t rng = 88172645463325252ULL;
    double truth = 0, estimate = 0;
    for (int i = 0; i < 2000000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t size = (rng % 5 == 0) ? 65536 + rng % 200000 : 16 + rng % 2000; /* small and large */
        truth += (double)size;
        if (ig_sampler_take(&s, size, interval))
            estimate += (double)size * ig_sampler_scale((double)size, (double)interval);
    }
    /* about 40000 samples: the relative error's sd is about 0.5% */
    assert_true(fabs(estimate - truth) < truth * 0.03);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_mean_and_shape),
        cmocka_unit_test(test_every_allocation_when_interval_is_one),
        cmocka_unit_test(test_sampling_probability_by_size),
        cmocka_unit_test(test_unbiased_total_for_mixed_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
