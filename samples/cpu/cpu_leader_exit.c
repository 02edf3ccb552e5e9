/*
 * samples/cpu/cpu_leader_exit.c — a process whose main thread exits
 * first: main starts a thread that burns its CPU in burn() for SECONDS
 * (default 60) and leaves by pthread_exit(0), so the leader is a zombie
 * while the process runs on.  /proc/PID/maps of a zombie leader is empty:
 * the ground truth that `ignis record -p PID` still names burn (the maps
 * are those of a live thread).
 *   usage: cpu_leader_exit [SECONDS]
 */
#include <pthread.h>

#include "cpu_common.h"

__attribute__((noipa)) uint64_t burn(uint64_t x)
{
    while (cpu_running())
        CPU_SPIN(x, CPU_UNIT_ITERS);
    return x;
}

static void *burner(void *arg)
{
    cpu_result = burn((uint64_t)(uintptr_t)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    pthread_t t;
    if (pthread_create(&t, NULL, burner, (void *)3) != 0) {
        perror("pthread_create");
        return 1;
    }
    pthread_exit(0); /* the process ends when burner returns */
}
