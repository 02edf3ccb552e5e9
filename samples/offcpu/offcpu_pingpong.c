/*
 * samples/offcpu/offcpu_pingpong.c — a context-switch-heavy workload: two
 * threads pass one byte back and forth over a pair of pipes, so each
 * round trip is two switch-outs (each thread blocks in read() once).
 * After SECONDS it prints how many round trips per second it made, how
 * many voluntary context switches that took and how much CPU time (user +
 * system, getrusage) each round trip cost the process, the figures
 * bench/offcpu.sh compares with and without a recorder attached: the rate
 * depends on what else the machine runs, the CPU per round trip much less
 * (a recorder's work in the kernel at each switch is charged to it).
 * With `two-sites` the peer waits for its byte through two functions
 * in turn, peer_wait_even and peer_wait_odd, whose frames are alike: the
 * blocked read has the same PC, stack pointer and registers at both, only
 * the return address on the stack tells them apart, so half of the
 * peer's waits are at each (tests/profiler/t_offcpu_memo.sh: a stack memo
 * keyed on registers alone would file them all under one).  With `deep`
 * the peer waits under peer_deep, 12 levels of 1 KiB frames: a stack
 * over 12 KiB deep, whole only with a stack copy larger than that
 * (tests/profiler/t_offcpu_stack.sh: the switch-outs' default copy of 8K
 * and --stack-size).  With `work=US` each thread computes for US
 * microseconds after each byte it receives, as a service handles a
 * request between two waits: the switch rate of a busy service rather
 * than the highest the kernel allows (bench/offcpu.sh).
 *   usage: offcpu_pingpong [SECONDS [two-sites|deep|work=US]]   (default 2)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int to_peer[2], to_main[2];
static int two_sites, deep;
static double work_s; /* CPU seconds of work after each byte received */

#define DEEP_LEVELS 12

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The work after a byte: work_s of computing, timed by the monotonic
 * clock (the vDSO: no system call, which a recorder hooking system calls
 * would count as the target's own). */
__attribute__((noipa)) static void handle(void)
{
    if (work_s <= 0)
        return;
    double end = now_s() + work_s;
    while (now_s() < end)
        ;
}

/* Waits for one byte DEEP_LEVELS frames of 1 KiB down; false at the end. */
__attribute__((noipa)) static int peer_deep(int level, char *c)
{
    volatile char frame[1024];
    frame[0] = (char)level;
    int ok = level ? peer_deep(level - 1, c) : read(to_peer[0], c, 1) == 1 && *c != 'q';
    return ok + frame[0] - (char)level;
}

/* One byte from the main thread; false at its end ('q').  Two copies, so
 * that the result is used after the call (no tail call: each stays on
 * the stack while the read blocks). */
__attribute__((noipa)) static int peer_wait_even(char *c)
{
    return read(to_peer[0], c, 1) == 1 && *c != 'q';
}

__attribute__((noipa)) static int peer_wait_odd(char *c)
{
    return read(to_peer[0], c, 1) == 1 && *c != 'q';
}

__attribute__((noipa)) static void *peer(void *arg)
{
    char c;
    (void)arg;
    if (deep) {
        while (peer_deep(DEEP_LEVELS - 1, &c))
            if (write(to_main[1], &c, 1) != 1)
                break;
        return NULL;
    }
    if (!two_sites) {
        while (read(to_peer[0], &c, 1) == 1 && c != 'q') {
            handle();
            if (write(to_main[1], &c, 1) != 1)
                break;
        }
        return NULL;
    }
    for (unsigned long i = 0;; i++)
        if (!((i & 1) ? peer_wait_odd(&c) : peer_wait_even(&c)) || write(to_main[1], &c, 1) != 1)
            break;
    return NULL;
}


__attribute__((noipa)) static long ping(double secs, double *elapsed)
{
    double t0 = now_s(), t = t0;
    long n = 0;
    char c = 'x';
    while (t - t0 < secs) {
        if (write(to_peer[1], &c, 1) != 1 || read(to_main[0], &c, 1) != 1)
            abort();
        handle();
        if ((++n & 255) == 0)
            t = now_s();
    }
    *elapsed = t - t0;
    return n;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0, elapsed;
    if (secs <= 0)
        secs = 2.0;
    two_sites = argc > 2 && !strcmp(argv[2], "two-sites");
    deep = argc > 2 && !strcmp(argv[2], "deep");
    if (argc > 2 && !strncmp(argv[2], "work=", 5))
        work_s = atof(argv[2] + 5) / 1e6;
    if (pipe(to_peer) || pipe(to_main))
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, peer, NULL);
    long n = ping(secs, &elapsed);
    if (write(to_peer[1], "q", 1) != 1)
        return 1;
    pthread_join(t, NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("round_trips_per_sec %.0f\nround_trips %ld\nvoluntary_switches %ld\ncpu_us_per_round_trip %.3f\n",
           (double)n / elapsed, n, ru.ru_nvcsw, n ? cpu * 1e6 / (double)n : 0.0);
    return 0;
}
