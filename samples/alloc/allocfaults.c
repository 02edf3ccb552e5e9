/*
 * samples/alloc/allocfaults.c — the allocator corner cases a heap profiler
 * must survive: calloc overflow, realloc to 0 and from NULL, every aligned
 * allocator, a fork with a live heap, threads freeing each other's
 * blocks, and (with --double-free) a double free, which glibc itself
 * detects and aborts on.  Prints "ok" when every check held.
 *   usage: allocfaults [--double-free]
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;
static int failures;

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "allocfaults: check failed: %s\n", #c);        \
            failures++;                                                   \
        }                                                                 \
    } while (0)

static void *cross_free(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < 1000; i++)
        free(blocks[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    int double_free = argc > 1 && !strcmp(argv[1], "--double-free");
    volatile size_t huge = SIZE_MAX / 2; /* volatile: hide the overflow from the compiler */

    errno = 0;
    void *p = calloc(huge, 4);
    CHECK(p == NULL && errno == ENOMEM);
    p = calloc(0, 0);
    free(p);

    p = realloc(NULL, 100);
    CHECK(p != NULL);
    memset(p, 1, 100);
    void *q = realloc(p, 0); /* glibc: frees p, returns NULL */
    free(q);

    p = malloc(10);
    p = realloc(p, 100000);
    CHECK(p && ((char *)p)[0] == ((char *)p)[0]);
    p = realloc(p, 10);
    free(p);

    void *a = NULL;
    CHECK(posix_memalign(&a, 64, 1000) == 0 && ((uintptr_t)a & 63) == 0);
    free(a);
    CHECK(posix_memalign(&a, 3, 1000) == EINVAL);
    a = aligned_alloc(256, 512);
    CHECK(a && ((uintptr_t)a & 255) == 0);
    free(a);
    a = memalign(4096, 100);
    CHECK(a && ((uintptr_t)a & 4095) == 0);
    free(a);
    a = valloc(100);
    CHECK(a && ((uintptr_t)a & 4095) == 0);
    free(a);
    errno = 0;
    a = reallocarray(NULL, huge, 4);
    CHECK(a == NULL && errno == ENOMEM);

    /* blocks allocated here, freed by another thread */
    void *blocks[1000];
    for (int i = 0; i < 1000; i++)
        blocks[i] = malloc(64 + (size_t)i);
    pthread_t th;
    pthread_create(&th, NULL, cross_free, blocks);
    pthread_join(th, NULL);

    /* fork with a live heap: the child allocates and frees, then exits */
    void *live = malloc(5000);
    sink = live;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 10000; i++) {
            void *c = malloc(300);
            sink = c;
            free(c);
        }
        free(live);
        _exit(0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(live);

    if (double_free) {
        void *d = malloc(200);
        void *volatile again = d; /* the same pointer, hidden from the compiler */
        sink = d;
        free(d);
        printf("double free next\n");
        fflush(stdout);
        free(again); /* glibc aborts here ("double free detected") */
    }
    if (failures)
        return 1;
    printf("ok\n");
    return 0;
}
