/*
 * profiler/alloc/sampler.h — byte-based Poisson sampling of allocations.
 *
 * Design.  Every thread keeps a countdown of bytes until its next sample.
 * An allocation of `size` bytes subtracts size; when the countdown drops
 * to zero or below, that allocation is sampled and a fresh countdown is
 * drawn from an exponential distribution with mean `interval` bytes.
 * Because the exponential distribution is memoryless, an allocation of s
 * bytes is sampled with probability 1 - exp(-s / interval) whatever
 * happened before, so each sampled allocation stands for
 *     scale = 1 / (1 - exp(-s / interval))
 * allocations (pprof's unbiasing rule, applied per allocation size).
 * The hot path is one subtraction and one compare; drawing an interval
 * (a 64-bit xorshift step and a log) only happens after a sample.
 * Header-only so the preload shim inlines it; tests/alloc checks the
 * statistics under ASan.
 */
#ifndef IG_ALLOC_SAMPLER_H
#define IG_ALLOC_SAMPLER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IG_ALLOC_DEFAULT_INTERVAL (512 * 1024)

typedef struct ig_sampler {
    int64_t countdown; /* bytes left until the next sample */
    uint64_t rng;      /* xorshift64* state, never 0 */
} ig_sampler;

static inline uint64_t ig_sampler_rand(ig_sampler *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Draws the bytes until the next sample: exponential with mean interval.
 * An interval of 1 or less samples every allocation. */
static inline int64_t ig_sampler_next(ig_sampler *s, int64_t interval)
{
    if (interval <= 1)
        return 1;
    /* 53 random bits -> u in (0, 1]; -log(u) is Exp(1). */
    double u = ((double)(ig_sampler_rand(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double v = -log(u) * (double)interval;
    if (v < 1.0)
        v = 1.0;
    if (v > 4.0e18)
        v = 4.0e18;
    return (int64_t)v;
}

static inline void ig_sampler_init(ig_sampler *s, uint64_t seed, int64_t interval)
{
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    s->countdown = ig_sampler_next(s, interval);
}

/* Accounts an allocation of `size` bytes; true when it is sampled. */
static inline bool ig_sampler_take(ig_sampler *s, size_t size, int64_t interval)
{
    s->countdown -= (int64_t)size;
    if (__builtin_expect(s->countdown > 0, 1))
        return false;
    s->countdown = ig_sampler_next(s, interval);
    return true;
}

/* How many allocations of `size` bytes one sample stands for. */
static inline double ig_sampler_scale(double size, double interval)
{
    if (interval <= 1 || size <= 0)
        return 1.0;
    double p = -expm1(-size / interval); /* 1 - exp(-size/interval), exact for small ratios */
    return p > 0 ? 1.0 / p : 1.0;
}

#endif
