/*
 * samples/alloc/allocbench.c — workloads for bench/alloc.sh.
 *
 *   allocbench malloc N   malloc-bound: N malloc/free pairs of 16..1039
 *                         bytes with a window of 64 live blocks (the
 *                         worst case for any allocation profiler)
 *   allocbench mixed N    "a service": N requests, each building a few
 *                         strings and a small array (allocations of 32 B
 *                         to 8 KiB), hashing and sorting them, keeping a
 *                         cache of 4096 live objects with random eviction
 * With a third argument "--wait" it reads a line from stdin first (so a
 * profiler can attach).  Prints "ops N cpu S wall S ns_per_op X"
 * (process CPU time, elapsed time, elapsed ns per operation).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *volatile sink;

static void malloc_bound(long n)
{
    void *win[64] = {0};
    for (long i = 0; i < n; i++) {
        size_t sz = 16 + (next_rand() & 1023);
        int k = (int)(i & 63);
        free(win[k]);
        win[k] = malloc(sz);
        ((char *)win[k])[0] = (char)i;
    }
    for (int k = 0; k < 64; k++)
        free(win[k]);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void mixed(long n)
{
    enum { CACHE = 4096 };
    void **cache = calloc(CACHE, sizeof *cache);
    uint64_t acc = 0;
    for (long i = 0; i < n; i++) {
        /* a request: a key, a body, a parsed array */
        size_t klen = 32 + (next_rand() & 63);
        char *key = malloc(klen);
        for (size_t j = 0; j < klen; j++)
            key[j] = (char)('a' + (next_rand() % 26));
        size_t blen = 256 + (next_rand() & 8191);
        unsigned char *body = malloc(blen);
        for (size_t j = 0; j < blen; j += 8) {
            uint64_t r = next_rand();
            memcpy(body + j, &r, blen - j < 8 ? blen - j : 8);
        }
        size_t cnt = 64 + (next_rand() & 255);
        uint32_t *arr = malloc(cnt * sizeof *arr);
        for (size_t j = 0; j < cnt; j++)
            arr[j] = (uint32_t)next_rand();
        qsort(arr, cnt, sizeof *arr, cmp_u32);
        acc += fnv((unsigned char *)key, klen) ^ fnv(body, blen) ^ arr[cnt / 2];
        /* the response is cached; a random old one is evicted */
        size_t slot = next_rand() % CACHE;
        free(cache[slot]);
        cache[slot] = key;
        free(body);
        free(arr);
    }
    for (int k = 0; k < CACHE; k++)
        free(cache[k]);
    free(cache);
    sink = (void *)(uintptr_t)acc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (strcmp(argv[1], "malloc") && strcmp(argv[1], "mixed"))) {
        fprintf(stderr, "usage: allocbench malloc|mixed N [--wait]\n");
        return 2;
    }
    long n = atol(argv[2]);
    if (argc == 4) {
        char line[16];
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            return 1;
    }
    struct timespec t0, t1, w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    if (!strcmp(argv[1], "malloc"))
        malloc_bound(n);
    else
        mixed(n);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    double cpu = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    printf("ops %ld cpu %.6f wall %.6f ns_per_op %.1f\n", n, cpu, wall, wall * 1e9 / (double)n);
    fflush(stdout);
    return 0;
}
