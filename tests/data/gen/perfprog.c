/*
 * perfprog.c — the sample program behind tests/data/perf_*.txt.
 *
 * burn_hot() takes about three quarters of the CPU, burn_warm() the rest;
 * mix() is always inlined into burn_hot() so `perf script --inline` prints
 * an (inlined) frame.  Regenerate with tests/data/gen/perf.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static volatile uint64_t sink;

static inline __attribute__((always_inline)) uint64_t mix(uint64_t x)
{
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

__attribute__((noinline)) static uint64_t burn_hot(uint64_t x)
{
    for (int i = 0; i < 300; i++)
        x = mix(x) ^ (x >> 3);
    return x;
}

__attribute__((noinline)) static uint64_t burn_warm(uint64_t x)
{
    for (int i = 0; i < 100000; i++)
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    uint64_t x = 1;
    double end = now() + 1.0;
    while (now() < end) {
        x = burn_hot(x);
        x = burn_warm(x);
    }
    sink = x;
    printf("%llu\n", (unsigned long long)(x & 1));
    return 0;
}
