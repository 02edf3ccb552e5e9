/*
 * samples/cpu/cpu_churn.c — many short-lived threads.
 *
 * The main thread keeps starting a thread that spins for a few milliseconds in
 * churn_work and exits, four at a time, so a profiler that leaks one file
 * descriptor per thread shows it quickly.
 *   usage: cpu_churn [SECONDS]
 */
#include <pthread.h>

#include "cpu_common.h"

__attribute__((noipa)) uint64_t churn_work(uint64_t x) { CPU_SPIN(x, 100 * CPU_UNIT_ITERS); return x; }

static void *short_thread(void *arg)
{
    return (void *)(uintptr_t)churn_work((uintptr_t)arg);
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    unsigned long started = 0;
    while (cpu_running()) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, short_thread, (void *)(uintptr_t)(started + (unsigned long)i));
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        started += 4;
    }
    printf("threads %lu\n", started);
    return 0;
}
