/*
 * samples/alloc/allocfork.c — allocations with exactly known counts across
 * fork, for the heap profiler's tests.
 *
 * The parent makes N allocations of 64 bytes at parent_site and keeps them
 * (they are live when it exits), then forks C children.  Each child frees
 * the parent's blocks it inherited (not its own allocations: they must not
 * count for it), makes K allocations of 32 bytes at child_site, keeps one
 * of them, and then ends as asked:
 *   exit     exit(0): atexit handlers and destructors run
 *   _exit    _exit(0): no atexit, no destructors
 *   kill     raise(SIGKILL): killed before it could do anything else
 *   exec     execs `allocfork --leaf K` (a new image in the same pid),
 *            which makes K allocations of 32 bytes at leaf_site and exits
 * The parent waits for every child and exits with 0.  So, with every
 * allocation recorded:
 *   parent_site  N allocations, N live;       child_site C*K, C live;
 *   leaf_site    C*K (exec only), C live.
 *   usage: allocfork [-n N] [-c C] [-k K] [--end exit|_exit|kill|exec]
 *          allocfork --leaf K
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) static void parent_site(void **p, long n)
{
    for (long i = 0; i < n; i++) {
        p[i] = malloc(64);
        memset(p[i], 1, 8);
    }
}

__attribute__((noinline)) static void child_site(long k)
{
    for (long i = 0; i < k; i++) {
        void *q = malloc(32);
        memset(q, 2, 8);
        sink = q;
        if (i + 1 < k)
            free(q);
    }
}

__attribute__((noinline)) static void leaf_site(long k)
{
    for (long i = 0; i < k; i++) {
        void *q = malloc(32);
        memset(q, 3, 8);
        sink = q;
        if (i + 1 < k)
            free(q);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: allocfork [-n N] [-c C] [-k K] [--end exit|_exit|kill|exec]\n"
                    "       allocfork --leaf K\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long n = 1000, c = 4, k = 100;
    const char *end = "exit";
    if (argc == 3 && !strcmp(argv[1], "--leaf")) {
        leaf_site(atol(argv[2]));
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "-n"))
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "-c"))
            c = atol(argv[++i]);
        else if (!strcmp(argv[i], "-k"))
            k = atol(argv[++i]);
        else if (!strcmp(argv[i], "--end"))
            end = argv[++i];
        else
            usage();
    }
    if (n < 1 || c < 0 || c > 64 || k < 1 ||
        (strcmp(end, "exit") && strcmp(end, "_exit") && strcmp(end, "kill") && strcmp(end, "exec")))
        usage();
    void **blocks = malloc((size_t)n * sizeof *blocks); /* main's, not parent_site's */
    if (!blocks)
        return 1;
    parent_site(blocks, n);
    fflush(stdout);
    for (long i = 0; i < c; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("allocfork: fork");
            return 1;
        }
        if (pid > 0)
            continue;
        for (long j = 0; j < n; j++)
            free(blocks[j]);
        child_site(k);
        if (!strcmp(end, "exit"))
            exit(0);
        if (!strcmp(end, "_exit"))
            _exit(0);
        if (!strcmp(end, "kill"))
            raise(SIGKILL);
        char karg[32];
        snprintf(karg, sizeof karg, "%ld", k);
        execl("/proc/self/exe", argv[0], "--leaf", karg, (char *)NULL);
        perror("allocfork: exec");
        _exit(127);
    }
    int failed = 0;
    for (long i = 0; i < c; i++) {
        int status;
        if (wait(&status) < 0)
            return 1;
        if (strcmp(end, "kill") ? !WIFEXITED(status) || WEXITSTATUS(status) : !WIFSIGNALED(status))
            failed = 1;
    }
    sink = blocks;
    printf("done\n");
    return failed;
}
