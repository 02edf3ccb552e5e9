/*
 * samples/cpu/cpu_shares.c — two threads with known CPU shares.
 *
 * Thread "worker-a" loops { hot_a: 3 units; hot_b: 1 unit }, so inside
 * that thread hot_a takes 75% and hot_b 25% of the CPU whatever the
 * scheduler does; thread "worker-b" loops { hot_c: 1 unit; hot_d: 1 unit }
 * (50/50).  Every hot function is a leaf doing the same unit of work.  At
 * exit it prints the units done per second (the benchmark's work rate).
 *   usage: cpu_shares [SECONDS]
 */
#include <pthread.h>

#include "cpu_common.h"

static uint64_t units_a, units_b;

__attribute__((noipa)) uint64_t hot_a(uint64_t x) { CPU_SPIN(x, 3 * CPU_UNIT_ITERS); return x; }
__attribute__((noipa)) uint64_t hot_b(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }
__attribute__((noipa)) uint64_t hot_c(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }
__attribute__((noipa)) uint64_t hot_d(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

__attribute__((noipa)) static void *worker_a(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    while (cpu_running()) {
        for (int i = 0; i < 50; i++) {
            x = hot_a(x);
            x = hot_b(x);
        }
        __atomic_add_fetch(&units_a, 200, __ATOMIC_RELAXED);
    }
    return (void *)(uintptr_t)x;
}

__attribute__((noipa)) static void *worker_b(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    while (cpu_running()) {
        for (int i = 0; i < 50; i++) {
            x = hot_c(x);
            x = hot_d(x);
        }
        __atomic_add_fetch(&units_b, 100, __ATOMIC_RELAXED);
    }
    return (void *)(uintptr_t)x;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    double t0 = cpu_now();
    pthread_t a, b;
    pthread_create(&a, NULL, worker_a, (void *)1);
    pthread_setname_np(a, "worker-a");
    pthread_create(&b, NULL, worker_b, (void *)2);
    pthread_setname_np(b, "worker-b");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    double secs = cpu_now() - t0;
    printf("units_per_sec %.0f\n", (double)(units_a + units_b) / secs);
    return 0;
}
