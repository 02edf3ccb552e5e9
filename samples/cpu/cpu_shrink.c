/*
 * samples/cpu/cpu_shrink.c — a library that shrinks under the profiler.
 *
 * dlopen()s the library given as argv[1] (a copy the test owns), prints
 * "ready" and spins in its shrink_before() until SIGUSR1, then in its
 * shrink_after() for ever.  The test truncates that copy once `ignis
 * record` has mapped it, then sends SIGUSR1: the pages holding the
 * library's unwind tables and section headers are gone from every mapping
 * of the file, while the code this program runs (the library's first
 * pages, touching nothing else of it) stays.  The profiler must go on
 * (samples in shrink_after lose their callers; nothing crashes).
 *   usage: cpu_shrink LIBRARY
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>

typedef void (*spin_fn)(volatile int *stop);

static volatile int cut, never;

static void on_usr1(int sig)
{
    (void)sig;
    cut = 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cpu_shrink LIBRARY\n");
        return 2;
    }
    signal(SIGUSR1, on_usr1);
    void *h = dlopen(argv[1], RTLD_NOW);
    spin_fn before = h ? (spin_fn)dlsym(h, "shrink_before") : NULL;
    spin_fn after = h ? (spin_fn)dlsym(h, "shrink_after") : NULL;
    if (!before || !after) {
        fprintf(stderr, "cpu_shrink: %s\n", dlerror());
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    before(&cut);
    after(&never); /* never returns: the test kills us */
    return 0;
}
