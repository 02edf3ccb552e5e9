/*
 * samples/alloc/allocsites.c — allocations from known call sites in known
 * byte ratios, for the heap profiler's tests and demo.
 *
 * Every round, each thread allocates and frees
 *   site_a   3 x 2000 bytes = 6000 bytes  (60% of the freed bytes)
 *   site_b  30 x  100 bytes = 3000 bytes  (30%)
 *   site_c   1 x 1000 bytes = 1000 bytes  (10%)
 * and leak_site allocates 1 x 48 bytes that are never freed.  site_b uses
 * calloc and site_c realloc (growing from 500 to 1000 bytes: the realloc
 * counts as a 1000-byte allocation, the 500 as one more at site_c_grow).
 * Built -O2 without frame pointers; the site functions are noinline so
 * they appear as frames.
 *
 * Synchronisation for tests (no sleeps): with --wait the program starts
 * its threads, prints "ready PID" on stdout and blocks until a line
 * arrives on stdin, then all threads work; at the end it prints "done" and exits (or, with --hold, waits for
 * another line first, so an attached profiler can be stopped while the
 * leak is still live).
 *   usage: allocsites [-r ROUNDS] [-t THREADS] [--wait] [--hold]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink; /* keeps the compiler from eliding malloc/free */

__attribute__((noinline)) static void site_a(void)
{
    void *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = malloc(2000);
        memset(p[i], 1, 16);
        sink = p[i];
    }
    for (int i = 0; i < 3; i++)
        free(p[i]);
}

__attribute__((noinline)) static void site_b(void)
{
    void *p[30];
    for (int i = 0; i < 30; i++) {
        p[i] = calloc(1, 100);
        sink = p[i];
    }
    for (int i = 0; i < 30; i++)
        free(p[i]);
}

__attribute__((noinline)) static void *site_c_grow(void)
{
    void *p = malloc(500);
    sink = p;
    return p;
}

__attribute__((noinline)) static void site_c(void)
{
    void *p = site_c_grow();
    void *q = realloc(p, 1000);
    sink = q;
    free(q);
}

__attribute__((noinline)) static void leak_site(void)
{
    void *p = malloc(48);
    memset(p, 2, 48);
    sink = p; /* never freed */
}

static long g_rounds = 20000;
static pthread_barrier_t g_start; /* threads exist before "ready"; all start on "go" */

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&g_start);
    for (long r = 0; r < g_rounds; r++) {
        site_a();
        site_b();
        site_c();
        leak_site();
    }
    return NULL;
}

static void wait_line(void)
{
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return;
}

int main(int argc, char **argv)
{
    int threads = 1, wait = 0, hold = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            g_rounds = atol(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--wait"))
            wait = 1;
        else if (!strcmp(argv[i], "--hold"))
            hold = 1;
        else {
            fprintf(stderr, "usage: allocsites [-r ROUNDS] [-t THREADS] [--wait] [--hold]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || g_rounds < 1) {
        fprintf(stderr, "allocsites: bad -t or -r\n");
        return 2;
    }
    pthread_t th[64];
    pthread_barrier_init(&g_start, NULL, (unsigned)threads);
    for (int i = 1; i < threads; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    if (wait) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        wait_line();
    }
    worker(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("done\n");
    fflush(stdout);
    if (hold)
        wait_line();
    return 0;
}
