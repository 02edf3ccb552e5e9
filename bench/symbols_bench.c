/*
 * bench/symbols_bench.c — cost of ig_symtab_lookup, cold and warm.
 *
 * For each module mapped executable in this process (the bench itself,
 * built -g, so DWARF; libc with its debug file from libc6-dbg when
 * installed, and again without debug dirs (.dynsym only); libdw, symbol
 * tables only), it draws offsets uniformly over the r-xp mapping and
 * reports:
 *   first   the first lookup: opening the file, debug info, indexes
 *   cold    ns per lookup for distinct, never-seen offsets
 *   warm    ns per lookup for offsets already looked up (the steady state
 *           of a profiler: hot code repeats), what each sample pays, over
 *           all DISTINCT offsets and over a hot set of 256 of them
 * The profiler's budget is 5 us per sample for everything.  Times are the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy machine inflates
 * them less than wall time would; file reads still count (system time).
 *   usage: symbols_bench [DISTINCT [WARM_ROUNDS]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profiler/symbols.h"

typedef struct text_map {
    char path[4096];
    uint64_t off, len;
} text_map;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int find_text_map(const char *needle, text_map *out)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[8192];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        uint64_t start, end, off;
        char perms[8], path[4096] = "";
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %4095s", &start, &end, perms, &off, path) < 5)
            continue;
        if (strcmp(perms, "r-xp") == 0 && strstr(path, needle)) {
            snprintf(out->path, sizeof out->path, "%s", path);
            out->off = off;
            out->len = end - start;
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void bench_module(const char *label, const text_map *tm, const char *debug_dirs, int distinct, int rounds)
{
    uint64_t *offs = malloc((size_t)distinct * sizeof *offs);
    for (int i = 0; i < distinct; i++)
        offs[i] = tm->off + next_rand() % tm->len;
    ig_symtab *st = ig_symtab_new();
    if (debug_dirs)
        ig_symtab_set_debug_dirs(st, debug_dirs);
    ig_symframe f[32];
    int named = 0, frames = 0;

    uint64_t t0 = now_ns();
    ig_symtab_lookup(st, tm->path, NULL, offs[0], f, 32);
    uint64_t t1 = now_ns();
    for (int i = 1; i < distinct; i++) {
        int n = ig_symtab_lookup(st, tm->path, NULL, offs[i], f, 32);
        named += n > 0;
        frames += n;
    }
    uint64_t t2 = now_ns();
    volatile uint64_t sink = 0; /* frames returned; keeps the loops honest */
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < distinct; i++)
            sink += (uint64_t)ig_symtab_lookup(st, tm->path, NULL, offs[i], f, 32);
    uint64_t t3 = now_ns();
    int hot = distinct < 256 ? distinct : 256;
    for (int r = 0; r < rounds * 40; r++)
        for (int i = 0; i < hot; i++)
            sink += (uint64_t)ig_symtab_lookup(st, tm->path, NULL, offs[i], f, 32);
    uint64_t t4 = now_ns();

    printf("  %-10s %-40s first %8.1f us | cold %7.0f ns/lookup (%d offsets, %d%% named, %.2f frames) | "
           "warm %4.0f ns/lookup, hot-256 %4.0f ns\n",
           label, tm->path, (t1 - t0) / 1e3, (double)(t2 - t1) / (distinct - 1), distinct, 100 * named / (distinct - 1),
           named ? (double)frames / named : 0.0, (double)(t3 - t2) / ((double)rounds * distinct), (double)(t4 - t3) / ((double)rounds * 40 * hot));
    ig_symtab_free(st);
    free(offs);
}

int main(int argc, char **argv)
{
    int distinct = argc > 1 ? atoi(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    if (distinct < 2 || rounds < 1) {
        fprintf(stderr, "usage: symbols_bench [DISTINCT>=2 [WARM_ROUNDS>=1]]\n");
        return 2;
    }
    /* label, mapping to find, debug dirs (NULL: default /usr/lib/debug) */
    const char *mods[][3] = {{"self", "symbols_bench", NULL},
                             {"libc", "libc.so", NULL},
                             {"libc-nodbg", "libc.so", ""},
                             {"libdw", "libdw", NULL}};
    for (size_t i = 0; i < sizeof mods / sizeof *mods; i++) {
        text_map tm;
        if (find_text_map(mods[i][1], &tm) == 0)
            bench_module(mods[i][0], &tm, mods[i][2], distinct, rounds);
        else
            printf("  %-10s not mapped\n", mods[i][0]);
    }
    return 0;
}
