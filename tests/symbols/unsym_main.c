/*
 * tests/symbols/unsym_main.c — the program of t_unsymbolized.sh: it spins
 * in its own main_spin and in the stripped library's hidden loop, and
 * writes the CPU time each took (CLOCK_THREAD_CPUTIME_ID around each call:
 * the ground truth of the library's share) to the file named by argv[1]
 * as "LIB_NS MAIN_NS".  argv[2] is the number of rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t unsym_lib_run(uint64_t n);

__attribute__((noinline)) static uint64_t main_spin(uint64_t n)
{
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x += i ^ (x >> 3);
    return x;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: unsym_main OUT ROUNDS\n");
        return 2;
    }
    long rounds = atol(argv[2]);
    int64_t lib = 0, own = 0;
    uint64_t sink = 0;
    for (long r = 0; r < rounds; r++) {
        int64_t t0 = cpu_ns();
        sink += unsym_lib_run(3000000); /* three parts in the library */
        int64_t t1 = cpu_ns();
        sink += main_spin(1000000);     /* one in the program */
        own += cpu_ns() - t1;
        lib += t1 - t0;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "%lld %lld\n", (long long)lib, (long long)own);
    fclose(f);
    return sink == 42; /* never: keeps the loops */
}
