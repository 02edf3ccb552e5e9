/*
 * samples/alloc/allocsig.c — allocations inside a signal handler, with
 * exactly known counts, for the heap profiler's tests.
 *
 * The main thread allocates and frees 24 bytes at main_site in a loop,
 * so under a heap profiler that records every allocation it spends most
 * of its time inside the profiler's own malloc hook.  A second thread
 * sends it SIGUSR1 M times, each time waiting until the handler has run
 * and the loop has gone round twice more before sending the next one
 * (signals of one kind do not queue; one handler per loop turn at most),
 * so the handler runs exactly M times; each run makes H allocations of
 * 200 bytes at handler_site and frees them.  At the end the program prints
 *     main_site COUNT
 *     handler_site M*H
 * (COUNT depends on timing; the profile must show exactly these).
 *
 * Allocating in a signal handler is only safe here because the handler's
 * size class differs from the interrupted loop's and both are served from
 * glibc's per-thread cache without locks; that is what real programs that
 * do it rely on too.
 *   usage: allocsig [-m M] [-h H]
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;
static volatile int g_handled, g_stop;
static volatile long g_turns;
static long g_per_handler = 4;
static pthread_t g_main;

__attribute__((noinline)) static void handler_site(void)
{
    for (long i = 0; i < g_per_handler; i++) {
        void *p = malloc(200);
        sink = p;
        free(p);
    }
}

static void on_usr1(int sig)
{
    (void)sig;
    handler_site();
    __atomic_add_fetch(&g_handled, 1, __ATOMIC_RELEASE);
}

__attribute__((noinline)) static long main_site(void)
{
    long n = 0;
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
        void *p = malloc(24);
        sink = p;
        free(p);
        n++;
        __atomic_store_n(&g_turns, n, __ATOMIC_RELEASE);
    }
    return n;
}

static void *sender(void *arg)
{
    long m = (long)arg;
    for (long i = 0; i < m; i++) {
        pthread_kill(g_main, SIGUSR1);
        while (__atomic_load_n(&g_handled, __ATOMIC_ACQUIRE) <= i)
            sched_yield();
        long t = __atomic_load_n(&g_turns, __ATOMIC_ACQUIRE);
        while (__atomic_load_n(&g_turns, __ATOMIC_ACQUIRE) < t + 2)
            sched_yield();
    }
    __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    long m = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-m"))
            m = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-h"))
            g_per_handler = atol(argv[i + 1]);
    }
    if (m < 1 || g_per_handler < 1 || argc % 2 == 0) {
        fprintf(stderr, "usage: allocsig [-m M] [-h H]\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    g_main = pthread_self();
    pthread_t th;
    if (pthread_create(&th, NULL, sender, (void *)m) != 0)
        return 1;
    long n = main_site();
    pthread_join(th, NULL);
    printf("main_site %ld\nhandler_site %ld\n", n, m * g_per_handler);
    return 0;
}
