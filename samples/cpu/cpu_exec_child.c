/*
 * samples/cpu/cpu_exec_child.c — one thread spinning in child_hot until
 * it used SECONDS of CPU time (not wall time: on a busy machine the share
 * of start-up stays small): the program cpu_forkexec execs, and a
 * short-lived process for the tests of processes that exit before the
 * recorder drains.
 *
 *   usage: cpu_exec_child [SECONDS] [--cpu N] [--after-usr1]
 *
 * --cpu N moves it to CPU N first (cpu_forkexec execs it on one CPU and
 * has it run on another); --after-usr1 waits, using no CPU, until SIGUSR1
 * before it starts its SECONDS of spinning (the tests send it once the
 * recorder is attached).
 */
#include <sched.h>
#include <stdbool.h>

#include "cpu_common.h"

__attribute__((noipa)) uint64_t child_hot(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

static double cpu_used(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 60.0;
    bool wait_usr1 = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(atoi(argv[++i]), &set);
            sched_setaffinity(0, sizeof set, &set);
        } else if (!strcmp(argv[i], "--after-usr1")) {
            wait_usr1 = true;
        }
    }
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    cpu_setup(argc, argv);
    while (wait_usr1 && !cpu_triggered && !cpu_stop)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    double until = cpu_used() + (secs > 0 ? secs : 60.0);
    uint64_t x = 1;
    while (!cpu_stop && cpu_used() < until) /* a syscall: not at every call */
        for (int i = 0; i < 16; i++)
            x = child_hot(x);
    printf("x %llu\n", (unsigned long long)x);
    return 0;
}
