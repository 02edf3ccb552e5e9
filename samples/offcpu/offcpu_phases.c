/*
 * samples/offcpu/offcpu_phases.c — threads that wait in known ways, and
 * say how long each wait took.
 *
 * Each worker thread ("worker-N") loops over four phases, each in a
 * function of its own so a profile can tell them apart:
 *   phase_sleep    nanosleep, 40 ms                          (off the CPU, S)
 *   phase_mutex    pthread_mutex_lock on a mutex its partner
 *                  holds about 20 ms longer                  (off the CPU, S)
 *   phase_pipe     read() of a pipe its partner writes to
 *                  about 20 ms later                         (off the CPU, S)
 *   phase_compute  20 ms of the thread's own CPU time        (on the CPU)
 * so nominally 40/20/20/20 of its wall time.  A partner thread
 * ("partner-N") per worker holds the mutex and feeds the pipe; it starts a
 * cycle when the worker writes to a control pipe.
 *
 * The nominal shares are not the ground truth: on a loaded machine the
 * waits stretch and computing threads are preempted.  So every phase
 * measures itself, wall time (CLOCK_MONOTONIC) and the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), and so does each worker's whole life; the
 * time a phase spent off the CPU is wall - cpu (but see steal below).
 * At exit it prints, per worker, one line of nanoseconds:
 *   worker NAME life WALL CPU sleep WALL CPU mutex WALL CPU pipe WALL CPU compute WALL CPU
 * A virtual machine's steal time (the host runs something else while
 * the thread is, to its kernel, on the CPU) is in a phase's wall time but
 * in no thread's waits: the guest's scheduler never switched the thread
 * out, so no off-CPU profiler can see it, and the thread's CPU clock
 * leaves it out.  phase_compute never blocks, so what its wall - cpu holds
 * beyond the time it waited runnable (the kernel's run_delay,
 * /proc/thread-self/schedstat) was stolen: that is counted as CPU time of
 * the phase and of its worker's life (time the thread was, to its kernel,
 * running), and printed as a line
 *   steal NAME NS
 * (the blocking phases run for well under a millisecond a cycle: what is
 * stolen from them is left in).
 * With `short`, phase_sleep sleeps its 40 ms in steps of 150 us: many short
 * waits, the ones the off-CPU BPF engine records by time-weighted sampling
 * (tests/profiler/t_offcpu_sampling.sh).
 *   usage: offcpu_phases [CYCLES] [WORKERS] [short]   (default 30 cycles of ~100 ms, 2 workers)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define SLEEP_NS (40 * MS)
#define HOLD_NS (SLEEP_NS + 20 * MS) /* the partner's hold: the worker's sleep + 20 ms */
#define FEED_NS (20 * MS)            /* the partner writes the pipe this long after unlocking */
#define COMPUTE_NS (20 * MS)
#define MAX_WORKERS 8

enum { SLEEP, MUTEX, PIPE, COMPUTE, PHASES };
static const char *const phase_names[PHASES] = {"sleep", "mutex", "pipe", "compute"};

typedef struct worker {
    int id, cycles;
    pthread_mutex_t lock;
    int ctl[2], data[2];
    int64_t wall[PHASES], cpu[PHASES], life_wall, life_cpu, stolen;
    pthread_t thread, partner;
} worker;

static int64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static volatile uint64_t sink;
static int64_t sleep_step_ns; /* `short`: phase_sleep's steps */

__attribute__((noipa)) void phase_sleep(void)
{
    if (!sleep_step_ns) {
        sleep_ns(SLEEP_NS);
        return;
    }
    int64_t end = clock_ns(CLOCK_MONOTONIC) + SLEEP_NS;
    while (clock_ns(CLOCK_MONOTONIC) < end)
        sleep_ns(sleep_step_ns);
}

__attribute__((noipa)) void phase_mutex(worker *w)
{
    pthread_mutex_lock(&w->lock);
    pthread_mutex_unlock(&w->lock);
}

__attribute__((noipa)) void phase_pipe(worker *w)
{
    char c;
    if (read(w->data[0], &c, 1) != 1)
        abort();
}

__attribute__((noipa)) void phase_compute(void)
{
    int64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + COMPUTE_NS;
    uint64_t x = sink;
    while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 10000; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            __asm__ volatile("" : "+r"(x));
        }
    sink = x;
}

/* The calling thread's time waiting runnable (run_delay), in ns; -1 if
 * the kernel does not say (no CONFIG_SCHED_INFO). */
static int64_t run_delay_ns(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    long long ran, waited;
    int n = f ? fscanf(f, "%lld %lld", &ran, &waited) : 0;
    if (f)
        fclose(f);
    return n == 2 && ran > 0 ? waited : -1; /* "0 0 0": sched_info off (before 5.14) */
}

/* What the host took from a phase that never blocks: its wall time not
 * spent running (cpu) nor waiting runnable (run_delay). */
static int64_t stolen_ns(int64_t wall, int64_t cpu, int64_t delay0)
{
    int64_t delay1 = run_delay_ns();
    if (delay0 < 0 || delay1 < 0)
        return 0;
    int64_t s = wall - cpu - (delay1 - delay0);
    return s > 0 ? s : 0;
}

static void run_phase(worker *w, int phase)
{
    int64_t delay0 = phase == COMPUTE ? run_delay_ns() : -1;
    int64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    switch (phase) {
    case SLEEP: phase_sleep(); break;
    case MUTEX: phase_mutex(w); break;
    case PIPE: phase_pipe(w); break;
    default: phase_compute(); break;
    }
    int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0, wall = clock_ns(CLOCK_MONOTONIC) - w0;
    int64_t stolen = phase == COMPUTE ? stolen_ns(wall, cpu, delay0) : 0;
    w->cpu[phase] += cpu + stolen;
    w->wall[phase] += wall;
    w->stolen += stolen;
}

static void *partner_main(void *arg)
{
    worker *w = arg;
    char c;
    while (read(w->ctl[0], &c, 1) == 1 && c == 'g') {
        pthread_mutex_lock(&w->lock);
        sleep_ns(HOLD_NS);
        pthread_mutex_unlock(&w->lock);
        sleep_ns(FEED_NS);
        if (write(w->data[1], "d", 1) != 1)
            abort();
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    int64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < w->cycles; i++) {
        if (write(w->ctl[1], "g", 1) != 1) /* the partner takes the mutex while we sleep */
            abort();
        for (int p = 0; p < PHASES; p++)
            run_phase(w, p);
    }
    w->life_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0 + w->stolen;
    w->life_wall = clock_ns(CLOCK_MONOTONIC) - w0;
    return NULL;
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? atoi(argv[1]) : 30, nworkers = argc > 2 ? atoi(argv[2]) : 2;
    if (cycles < 1 || nworkers < 1 || nworkers > MAX_WORKERS || (argc > 3 && strcmp(argv[3], "short"))) {
        fprintf(stderr, "usage: offcpu_phases [CYCLES] [WORKERS (1-%d)] [short]\n", MAX_WORKERS);
        return 2;
    }
    if (argc > 3)
        sleep_step_ns = 150000;
    static worker ws[MAX_WORKERS];
    for (int i = 0; i < nworkers; i++) {
        worker *w = &ws[i];
        w->id = i + 1;
        w->cycles = cycles;
        pthread_mutex_init(&w->lock, NULL);
        if (pipe(w->ctl) || pipe(w->data))
            return 1;
        char name[16];
        pthread_create(&w->partner, NULL, partner_main, w);
        snprintf(name, sizeof name, "partner-%d", w->id);
        pthread_setname_np(w->partner, name);
        pthread_create(&w->thread, NULL, worker_main, w);
        snprintf(name, sizeof name, "worker-%d", w->id);
        pthread_setname_np(w->thread, name);
    }
    for (int i = 0; i < nworkers; i++) {
        worker *w = &ws[i];
        pthread_join(w->thread, NULL);
        if (write(w->ctl[1], "q", 1) != 1)
            return 1;
        pthread_join(w->partner, NULL);
        printf("worker worker-%d life %lld %lld", w->id, (long long)w->life_wall, (long long)w->life_cpu);
        for (int p = 0; p < PHASES; p++)
            printf(" %s %lld %lld", phase_names[p], (long long)w->wall[p], (long long)w->cpu[p]);
        printf("\n");
        printf("steal worker-%d %lld\n", w->id, (long long)w->stolen);
    }
    return 0;
}
