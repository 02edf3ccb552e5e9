/*
 * samples/cpu/cpu_threads.c — many busy threads.
 *
 * Starts N threads (default 100) that all spin in threads_hot until the
 * time is up, so the process uses every CPU it can get however many
 * threads it has.  The threads wait for one another before they spin (so
 * starting hundreds is quick), then the main thread prints "threads N" and
 * only waits.  A recorder attached with -p must sample the process's CPU
 * time whatever N is, or say what it could not sample.
 *   usage: cpu_threads [SECONDS] [THREADS]
 */
#include <pthread.h>

#include "cpu_common.h"

__attribute__((noipa)) uint64_t threads_hot(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

static pthread_barrier_t all_started;

static void *spinner(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    pthread_barrier_wait(&all_started);
    while (cpu_running())
        x = threads_hot(x);
    return (void *)(uintptr_t)x;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    long n = argc > 2 ? atol(argv[2]) : 100;
    if (n < 1 || n > 100000) {
        fprintf(stderr, "cpu_threads: THREADS must be 1..100000\n");
        return 2;
    }
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&all_started, NULL, (unsigned)n + 1);
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], &attr, spinner, (void *)(uintptr_t)(i + 1)) != 0) {
            perror("cpu_threads: pthread_create");
            _exit(1); /* the others wait at the barrier for good */
        }
    pthread_barrier_wait(&all_started);
    printf("threads %ld\n", n);
    fflush(stdout);
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    return 0;
}
