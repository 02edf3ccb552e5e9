/*
 * samples/cpu/cpu_late.c — code that appears after the profiler attached.
 *
 * Until SIGUSR1 arrives the main thread burns in before_trigger.  Then it
 * dlopen()s libcpu_late.so (next to this executable), starts thread "late"
 * spinning in the library's late_lib_hot, and itself spins in
 * after_trigger.  The tests send SIGUSR1 once `ignis record` reported that
 * it is recording, so the library and the thread are both new to it.
 *   usage: cpu_late [SECONDS]
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>

#include "cpu_common.h"

typedef uint64_t (*hot_fn)(uint64_t);
static hot_fn late_hot;

__attribute__((noipa)) uint64_t before_trigger(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }
__attribute__((noipa)) uint64_t after_trigger(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

__attribute__((noipa)) static void *late_thread(void *arg)
{
    uint64_t x = (uintptr_t)arg;
    while (cpu_running())
        x = late_hot(x);
    return (void *)(uintptr_t)x;
}

static int load_library(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    strcpy(slash + 1, "libcpu_late.so");
    void *h = dlopen(exe, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "cpu_late: %s\n", dlerror());
        return -1;
    }
    late_hot = (hot_fn)dlsym(h, "late_lib_hot");
    return late_hot ? 0 : -1;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    uint64_t x = 3;
    while (!cpu_triggered && cpu_running())
        x = before_trigger(x);
    if (!cpu_running())
        return 0;
    if (load_library() != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, late_thread, (void *)5);
    pthread_setname_np(t, "late");
    while (cpu_running())
        x = after_trigger(x);
    pthread_join(t, NULL);
    return (int)(x & 1) * 0;
}
