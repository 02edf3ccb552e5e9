/*
 * samples/cpu/cpu_common.h — shared pieces of the CPU sample programs:
 * a unit of work whose cost does not depend on where it runs, a bounded
 * run time, and a SIGUSR1 trigger the tests use instead of sleeps.
 */
#ifndef CPU_COMMON_H
#define CPU_COMMON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One unit: a dependent multiply-add chain the compiler cannot shorten. */
#define CPU_UNIT_ITERS 20000
#define CPU_SPIN(x, n)                                                     \
    do {                                                                   \
        for (long i_ = 0; i_ < (n); i_++) {                                \
            (x) = (x) * 6364136223846793005ULL + 1442695040888963407ULL;   \
            __asm__ volatile("" : "+r"(x));                                \
        }                                                                  \
    } while (0)

static volatile sig_atomic_t cpu_triggered, cpu_stop;
/* Results land here, so the work is not elided and exit statuses stay 0
 * (`ignis record -- CMD` exits with CMD's status). */
static volatile uint64_t cpu_result __attribute__((unused));

static inline void cpu_on_usr1(int sig) { (void)sig; cpu_triggered = 1; }
static inline void cpu_on_term(int sig) { (void)sig; cpu_stop = 1; }

/* The run time is wall time, or with CPU_SAMPLE_CLOCK=cpu in the
 * environment the process's CPU time: a test that needs so many samples
 * gets them on a loaded machine too. */
static clockid_t cpu_clock = CLOCK_MONOTONIC;

static inline double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(cpu_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_deadline __attribute__((unused));

/* argv[1] = seconds to run (default 60); SIGTERM/SIGINT end it early. */
static inline void cpu_setup(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 60.0;
    if (secs <= 0)
        secs = 60.0;
    const char *clk = getenv("CPU_SAMPLE_CLOCK");
    if (clk && !strcmp(clk, "cpu"))
        cpu_clock = CLOCK_PROCESS_CPUTIME_ID;
    cpu_deadline = cpu_now() + secs;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cpu_on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = cpu_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static inline int cpu_running(void)
{
    return !cpu_stop && cpu_now() < cpu_deadline;
}

#endif
