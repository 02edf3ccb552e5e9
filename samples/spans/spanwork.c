/*
 * samples/spans/spanwork.c — a service linked with libignis.so whose spans
 * do known CPU work, the ground truth for span labels on samples
 * (tests/profiler/test_spanbpf.c, bench/spanbpf.sh).
 *
 * Each of T threads runs R rounds of:
 *   span "span-a" current: work_a() 10 ms, then span "span-b" (its child)
 *   current: work_b() 10 ms, then work_a() 10 ms again;
 *   no span current: work_none() 20 ms;
 *   20 times: span "short" current: work_short() 1 ms, then no span:
 *   work_none() 0.2 ms (so samples fall on both sides of many span
 *   boundaries a millisecond apart).
 * Durations are of thread CPU time, so a loaded machine stretches the run
 * but not the number of samples each part gets; with -i they are fixed
 * iteration counts instead (about 500 per microsecond), for a benchmark
 * that times the same work with and without a profiler.  Each work function spins
 * in its own code (no calls but the clock check), so a sample's IP says
 * which one ran, hence which span must be current.
 *
 * Protocol: prints "READY pid=<pid> work_a=<address of work_a>" once the
 * tracer provider publishes its context, then waits for one byte on stdin
 * before it starts its threads (so a profiler attaches first and its
 * inherited events follow them); when done it writes, to the -l file, one
 * line per span instance:
 *   SPAN <tid> <name> <trace id hex> <span id hex> <start ns> <end ns>
 * (CLOCK_MONOTONIC, taken right after the span was made current and right
 * before its scope ended), prints "DONE elapsed_ns=<wall time of the
 * threads' work>" and exits, or, with -x PROG, execs PROG (the same pid
 * becomes another program).
 *
 * With -w the rounds wait instead, the ground truth for off-CPU and wall
 * profiles labelled with spans: per round, span "wait-a" current: block_a()
 * takes a mutex all threads share and sleeps 1 ms holding it (so the
 * other threads wait on the mutex, inside block_a and that span too);
 * then span "calc-b" current: work_b() 2 ms of CPU; then no span:
 * idle_none() sleeps 1 ms.  So every switch-out whose stack passes
 * block_a is in a "wait-a" span, every one in idle_none in none, and the
 * only off-CPU time of "calc-b" is preemption.
 *
 * With -m the rounds allocate instead, the ground truth for allocation
 * profiles labelled with spans: per round, span "alloc-a" current:
 * alloc_a() allocates 4 MiB in 64 blocks and frees them; then no span:
 * alloc_none() does the same.  So every sampled allocation in alloc_a is
 * in an "alloc-a" span, every one in alloc_none in none.
 *
 * With -s the threads are started before READY and wait for the byte
 * (a profiler that attaches to the threads present, as record --alloc -p
 * does with its per-thread uprobes, then sees all of their work).
 *
 *   usage: spanwork -l LOG [-r ROUNDS (10)] [-t THREADS (2)] [-i] [-w|-m] [-s] [-x PROG]
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

#define SHORT_SPANS 20

typedef struct worker {
    span_logbook book;
    pthread_t th;
    int rounds;
} worker;

static ignis_tracer *g_tracer;
static volatile uint64_t g_sink;
static int g_fixed; /* -i: iterations, not CPU time */

/* -s: the threads wait here until main has read its byte. */
static pthread_mutex_t g_go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_go_cond = PTHREAD_COND_INITIALIZER;
static int g_go = 1;

static void wait_for_go(void)
{
    pthread_mutex_lock(&g_go_lock);
    while (!g_go)
        pthread_cond_wait(&g_go_cond, &g_go_lock);
    pthread_mutex_unlock(&g_go_lock);
}

static void let_go(void)
{
    pthread_mutex_lock(&g_go_lock);
    g_go = 1;
    pthread_cond_broadcast(&g_go_cond);
    pthread_mutex_unlock(&g_go_lock);
}

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins for us microseconds of this thread's CPU time, in the caller's code. */
static inline __attribute__((always_inline)) void spin_us(unsigned us)
{
    if (g_fixed) {
        uint64_t x = g_sink;
        for (uint64_t i = 0; i < us * 500ull; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        g_sink = x;
        return;
    }
    uint64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + us * 1000ull;
    uint64_t x = g_sink;
    do {
        for (int i = 0; i < 5000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        g_sink = x;
    } while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end);
}

__attribute__((noinline)) void work_a(unsigned us) { spin_us(us); }
__attribute__((noinline)) void work_b(unsigned us) { spin_us(us); }
__attribute__((noinline)) void work_short(unsigned us) { spin_us(us); }
__attribute__((noinline)) void work_none(unsigned us) { spin_us(us); }

static span_log *log_begin(worker *w, ignis_span *s, const char *name)
{
    size_t i = span_log_add(&w->book, s, name); /* it may move the book */
    span_log *l = &w->book.v[i];
    l->start = now_ns(CLOCK_MONOTONIC);
    return l;
}

static void *run(void *arg)
{
    worker *w = arg;
    wait_for_go();
    for (int r = 0; r < w->rounds; r++) {
        ignis_span *a = ignis_span_start(g_tracer, "span-a", NULL);
        ignis_scope sa = ignis_span_make_current(a);
        span_log *la = log_begin(w, a, "span-a");
        size_t ia = (size_t)(la - w->book.v); /* span-b's entry may move the book */
        work_a(10000);
        ignis_span *b = ignis_span_start(g_tracer, "span-b", NULL);
        ignis_scope sb = ignis_span_make_current(b);
        span_log *lb = log_begin(w, b, "span-b");
        work_b(10000);
        lb->end = now_ns(CLOCK_MONOTONIC);
        ignis_scope_end(sb);
        ignis_span_end(b, 0);
        work_a(10000);
        w->book.v[ia].end = now_ns(CLOCK_MONOTONIC);
        ignis_scope_end(sa);
        ignis_span_end(a, 0);

        work_none(20000);

        for (int i = 0; i < SHORT_SPANS; i++) {
            ignis_span *s = ignis_span_start(g_tracer, "short", NULL);
            ignis_scope ss = ignis_span_make_current(s);
            span_log *ls = log_begin(w, s, "short");
            work_short(1000);
            ls->end = now_ns(CLOCK_MONOTONIC);
            ignis_scope_end(ss);
            ignis_span_end(s, 0);
            work_none(200);
        }
    }
    return NULL;
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void sleep_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

__attribute__((noinline)) void block_a(void)
{
    pthread_mutex_lock(&g_lock);
    sleep_us(1000);
    pthread_mutex_unlock(&g_lock);
    __asm__ volatile("" ::: "memory"); /* not a tail call: block_a stays on the stack */
}

__attribute__((noinline)) void idle_none(void)
{
    sleep_us(1000);
    __asm__ volatile("" ::: "memory");
}

#define ALLOC_BLOCKS 64
#define ALLOC_BLOCK (64 * 1024)

static void release(void **blocks)
{
    for (int i = 0; i < ALLOC_BLOCKS; i++)
        free(blocks[i]);
}

__attribute__((noinline)) void alloc_a(void **blocks)
{
    for (int i = 0; i < ALLOC_BLOCKS; i++)
        if (!(blocks[i] = malloc(ALLOC_BLOCK)))
            abort();
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void alloc_none(void **blocks)
{
    for (int i = 0; i < ALLOC_BLOCKS; i++)
        if (!(blocks[i] = malloc(ALLOC_BLOCK)))
            abort();
    __asm__ volatile("" ::: "memory");
}

/* -m: the rounds allocate (see the file comment). */
static void *run_alloc(void *arg)
{
    worker *w = arg;
    void *blocks[ALLOC_BLOCKS];
    wait_for_go();
    for (int r = 0; r < w->rounds; r++) {
        ignis_span *a = ignis_span_start(g_tracer, "alloc-a", NULL);
        ignis_scope sa = ignis_span_make_current(a);
        span_log *la = log_begin(w, a, "alloc-a");
        alloc_a(blocks);
        release(blocks);
        la->end = now_ns(CLOCK_MONOTONIC);
        ignis_scope_end(sa);
        ignis_span_end(a, 0);

        alloc_none(blocks);
        release(blocks);
    }
    return NULL;
}

/* -w: the rounds wait (see the file comment). */
static void *run_wait(void *arg)
{
    worker *w = arg;
    wait_for_go();
    for (int r = 0; r < w->rounds; r++) {
        ignis_span *a = ignis_span_start(g_tracer, "wait-a", NULL);
        ignis_scope sa = ignis_span_make_current(a);
        span_log *la = log_begin(w, a, "wait-a");
        block_a();
        la->end = now_ns(CLOCK_MONOTONIC);
        ignis_scope_end(sa);
        ignis_span_end(a, 0);

        ignis_span *b = ignis_span_start(g_tracer, "calc-b", NULL);
        ignis_scope sb = ignis_span_make_current(b);
        span_log *lb = log_begin(w, b, "calc-b");
        work_b(2000);
        lb->end = now_ns(CLOCK_MONOTONIC);
        ignis_scope_end(sb);
        ignis_span_end(b, 0);

        idle_none();
    }
    return NULL;
}


static void start_threads(worker *ws, int threads, int rounds, int waits, int allocs)
{
    for (int t = 0; t < threads; t++) {
        ws[t].rounds = rounds;
        pthread_create(&ws[t].th, NULL, waits ? run_wait : allocs ? run_alloc : run, &ws[t]);
    }
}

int main(int argc, char **argv)
{
    const char *log = NULL, *exec_prog = NULL;
    int rounds = 10, threads = 2, opt, waits = 0, allocs = 0, started = 0;
    while ((opt = getopt(argc, argv, "l:r:t:iwmsx:")) != -1) {
        if (opt == 'l')
            log = optarg;
        else if (opt == 'r')
            rounds = atoi(optarg);
        else if (opt == 't')
            threads = atoi(optarg);
        else if (opt == 'x')
            exec_prog = optarg;
        else if (opt == 'i')
            g_fixed = 1;
        else if (opt == 'w')
            waits = 1;
        else if (opt == 'm')
            allocs = 1;
        else if (opt == 's')
            started = 1;
        else
            return 2;
    }
    if (!log || rounds < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: spanwork -l LOG [-r ROUNDS] [-t THREADS (1..64)] [-i] [-w|-m] [-s] [-x PROG]\n");
        return 2;
    }
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    o.service_name = "spanwork";
    if (!getenv("OTEL_TRACES_EXPORTER")) /* otlp_file: the spans for a join by thread and time */
        o.exporter = IGNIS_EXPORTER_NONE;
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp) {
        fprintf(stderr, "spanwork: %s\n", err);
        return 2;
    }
    g_tracer = ignis_tracer_get(tp, "spanwork", "1", NULL, 0);
    worker *ws = calloc((size_t)threads, sizeof *ws);
    if (started) {
        g_go = 0;
        start_threads(ws, threads, rounds, waits, allocs);
    }
    printf("READY pid=%d work_a=%p\n", (int)getpid(), (void *)work_a);
    fflush(stdout);
    char c;
    if (read(0, &c, 1) != 1) {
        free(ws);
        return 3; /* the driver went away (waiting threads end with the process) */
    }

    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    if (started)
        let_go();
    else
        start_threads(ws, threads, rounds, waits, allocs);
    for (int t = 0; t < threads; t++)
        pthread_join(ws[t].th, NULL);
    uint64_t elapsed = now_ns(CLOCK_MONOTONIC) - t0;
    int wrote = span_log_write(log, &ws[0].book, sizeof *ws, threads, true);
    for (int t = 0; t < threads; t++)
        free(ws[t].book.v);
    free(ws);
    if (wrote != 0) {
        fprintf(stderr, "spanwork: cannot write %s\n", log);
        return 1;
    }
    printf("DONE elapsed_ns=%llu\n", (unsigned long long)elapsed);
    fflush(stdout);
    ignis_tracer_provider_free(tp);
    if (exec_prog) {
        execl(exec_prog, exec_prog, (char *)NULL);
        perror(exec_prog);
        return 1;
    }
    return 0;
}
