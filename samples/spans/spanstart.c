/*
 * samples/spans/spanstart.c — a service linked with libignis.so that
 * opens spans from its first moments, without waiting for any profiler:
 * the ground truth for span labels on the samples of a program recorded
 * from its very first instruction (tests/profiler/t_spans_start.sh).
 *
 * main initialises the tracer provider (which publishes the process
 * context) and at once makes span "boot" current: work_in() for 20 ms of
 * CPU.  Then T worker threads (half of them created before the provider,
 * waiting for it; half after) each run R rounds of:
 *   span "in" current: work_in() 4 ms (with -w: then block_in() sleeps
 *   1 ms, with -m: alloc_in() allocates 64 blocks), no span current:
 *   work_out() 2 ms (with -w: block_out() sleeps 1 ms, with -m:
 *   alloc_out() allocates 64 blocks).
 * Durations are of thread CPU time, so a loaded machine stretches the run
 * but not the number of samples each part gets.  Each function runs in its
 * own code, so a sample's stack says whether a span was current: every
 * sample through work_in, block_in or alloc_in was taken in a span, every
 * one through work_out, block_out or alloc_out outside any.
 *
 * With -s MS it first works outside any span, before the provider exists:
 * work_pre() for MS ms of CPU (a service's own start, config and caches,
 * before its tracing).  With -g it reads one byte on stdin before that
 * (so a profiler attached with -p is there before the context exists).
 * When done it writes, to the -l file, one line per span instance
 * (the format of samples/spans/spanwork.c):
 *   SPAN <tid> <name> <trace id hex> <span id hex>
 *
 *   usage: spanstart -l LOG [-r ROUNDS (100)] [-t THREADS (2)] [-s MS (0)] [-w|-m] [-g]
 */
#include "ignis/trace.h"
#include "samples/spans/spanlog.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALLOC_BLOCKS 64
#define ALLOC_BLOCK (64 * 1024)

typedef struct worker {
    span_logbook book;
    pthread_t th;
    int rounds;
} worker;

enum mode { SPIN, WAIT, ALLOC };

static ignis_tracer *g_tracer;
static enum mode g_mode = SPIN;
static volatile uint64_t g_sink;

/* The threads created before the provider wait here for its tracer. */
static pthread_mutex_t g_go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_go_cond = PTHREAD_COND_INITIALIZER;

static ignis_tracer *tracer_when_ready(void)
{
    pthread_mutex_lock(&g_go_lock);
    while (!g_tracer)
        pthread_cond_wait(&g_go_cond, &g_go_lock);
    ignis_tracer *t = g_tracer;
    pthread_mutex_unlock(&g_go_lock);
    return t;
}

static void tracer_ready(ignis_tracer *t)
{
    pthread_mutex_lock(&g_go_lock);
    g_tracer = t;
    pthread_cond_broadcast(&g_go_cond);
    pthread_mutex_unlock(&g_go_lock);
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins for us microseconds of this thread's CPU time, in the caller's code. */
static inline __attribute__((always_inline)) void spin_us(unsigned us)
{
    uint64_t end = thread_cpu_ns() + us * 1000ull;
    uint64_t x = g_sink;
    do {
        for (int i = 0; i < 5000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        g_sink = x;
    } while (thread_cpu_ns() < end);
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static inline __attribute__((always_inline)) void allocate(void)
{
    void *blocks[ALLOC_BLOCKS];
    for (int i = 0; i < ALLOC_BLOCKS; i++)
        if (!(blocks[i] = malloc(ALLOC_BLOCK)))
            abort();
    __asm__ volatile("" ::"r"(blocks) : "memory");
    for (int i = 0; i < ALLOC_BLOCKS; i++)
        free(blocks[i]);
}

__attribute__((noinline)) void work_in(unsigned us) { spin_us(us); }
__attribute__((noinline)) void work_out(unsigned us) { spin_us(us); }
__attribute__((noinline)) void work_pre(unsigned us) { spin_us(us); }

__attribute__((noinline)) void block_in(void)
{
    sleep_us(1000);
    __asm__ volatile("" ::: "memory"); /* not a tail call: block_in stays on the stack */
}

__attribute__((noinline)) void block_out(void)
{
    sleep_us(1000);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void alloc_in(void) { allocate(); }
__attribute__((noinline)) void alloc_out(void) { allocate(); }

/* One span `name` current around work_in (and block_in or alloc_in). */
static void in_span(worker *w, ignis_tracer *t, const char *name, unsigned us)
{
    ignis_span *s = ignis_span_start(t, name, NULL);
    ignis_scope sc = ignis_span_make_current(s);
    span_log_add(&w->book, s, name);
    work_in(us);
    if (g_mode == WAIT)
        block_in();
    else if (g_mode == ALLOC)
        alloc_in();
    ignis_scope_end(sc);
    ignis_span_end(s, 0);
}

static void out_of_span(unsigned us)
{
    work_out(us);
    if (g_mode == WAIT)
        block_out();
    else if (g_mode == ALLOC)
        alloc_out();
}

static void *run(void *arg)
{
    worker *w = arg;
    ignis_tracer *t = tracer_when_ready();
    for (int r = 0; r < w->rounds; r++) {
        in_span(w, t, "in", 4000);
        out_of_span(2000);
    }
    return NULL;
}


static ignis_tracer_provider *provider_new(void)
{
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    o.service_name = "spanstart";
    o.exporter = IGNIS_EXPORTER_NONE;
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp)
        fprintf(stderr, "spanstart: %s\n", err);
    return tp;
}

int main(int argc, char **argv)
{
    const char *log = NULL;
    int rounds = 100, threads = 2, opt, go = 0, pre_ms = 0;
    while ((opt = getopt(argc, argv, "l:r:t:s:wmg")) != -1) {
        if (opt == 'l')
            log = optarg;
        else if (opt == 'r')
            rounds = atoi(optarg);
        else if (opt == 't')
            threads = atoi(optarg);
        else if (opt == 's')
            pre_ms = atoi(optarg);
        else if (opt == 'w')
            g_mode = WAIT;
        else if (opt == 'm')
            g_mode = ALLOC;
        else if (opt == 'g')
            go = 1;
        else
            return 2;
    }
    if (!log || rounds < 1 || threads < 1 || threads > 64 || pre_ms < 0 || pre_ms > 60000) {
        fprintf(stderr, "usage: spanstart -l LOG [-r ROUNDS] [-t THREADS (1..64)] [-s MS (0..60000)] [-w|-m] [-g]\n");
        return 2;
    }
    worker *ws = calloc((size_t)threads + 1, sizeof *ws); /* ws[threads]: main's */
    for (int t = 0; t < threads; t++)
        ws[t].rounds = rounds;
    int early = threads / 2;
    for (int t = 0; t < early; t++)
        pthread_create(&ws[t].th, NULL, run, &ws[t]);
    char c;
    if (go && read(0, &c, 1) != 1)
        return 3; /* the driver went away (waiting threads end with the process) */
    if (pre_ms)
        work_pre((unsigned)pre_ms * 1000u);

    ignis_tracer_provider *tp = provider_new();
    if (!tp)
        return 2;
    ignis_tracer *tracer = ignis_tracer_get(tp, "spanstart", "1", NULL, 0);
    in_span(&ws[threads], tracer, "boot", 20000);
    tracer_ready(tracer);
    for (int t = early; t < threads; t++)
        pthread_create(&ws[t].th, NULL, run, &ws[t]);
    for (int t = 0; t < threads; t++)
        pthread_join(ws[t].th, NULL);

    int wrote = span_log_write(log, &ws[0].book, sizeof *ws, threads + 1, false);
    for (int t = 0; t <= threads; t++)
        free(ws[t].book.v);
    free(ws);
    ignis_tracer_provider_free(tp);
    if (wrote != 0) {
        fprintf(stderr, "spanstart: cannot write %s\n", log);
        return 1;
    }
    printf("DONE\n");
    return 0;
}
