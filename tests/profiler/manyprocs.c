/*
 * tests/profiler/manyprocs.c — thousands of processes for the system-wide
 * recorder's bad-input tests (t_manyprocs.sh).
 *
 *   manyprocs sleep N     forks N children that sleep until manyprocs ends,
 *                         prints "ready N" once all exist, then waits for
 *                         its standard input to close (or a signal)
 *   manyprocs churn N [J] runs N short-lived processes, J at a time
 *                         (default 64): each execs itself as "manyprocs
 *                         exit", which maps its ELF file and libc and
 *                         exits; prints "done N" when all were reaped
 *   manyprocs forks N [J] the same with children that exit at once (no
 *                         exec: cheaper, so more of them)
 *
 * Clean-up is reliable: every child blocks on a pipe whose write end only
 * the parent holds, with PR_SET_PDEATHSIG SIGKILL as well, so however the
 * parent ends (EOF, SIGTERM, SIGKILL) the children go with it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: manyprocs sleep N | churn N [J] | forks N [J] | exit\n");
    return 2;
}

static long count_arg(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 && v <= max ? v : -1;
}

/* The child of sleep: waits until the parent's end of the pipe closes. */
static void sleeper(int rfd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    char c;
    while (read(rfd, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static int sleep_many(long n)
{
    int p[2];
    if (pipe(p) != 0)
        return perror("pipe"), 1;
    pid_t self = getpid();
    long made = 0;
    for (; made < n; made++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "manyprocs: fork %ld: %s\n", made, strerror(errno));
            break;
        }
        if (pid == 0) {
            close(p[1]);
            sleeper(p[0], self);
        }
    }
    close(p[0]);
    printf("ready %ld\n", made);
    fflush(stdout);
    char buf[64];
    for (ssize_t got; (got = read(0, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR);)
        ;
    close(p[1]); /* every sleeper's read returns 0 */
    for (pid_t pid; (pid = wait(NULL)) > 0 || (pid < 0 && errno == EINTR);)
        ;
    return made == n ? 0 : 1;
}

static int churn(long n, long jobs, const char *self)
{
    long started = 0, running = 0, done = 0;
    while (done < n) {
        while (running < jobs && started < n) {
            pid_t pid = fork();
            if (pid < 0) {
                if (running)
                    break;
                fprintf(stderr, "manyprocs: fork: %s\n", strerror(errno));
                return 1;
            }
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (self)
                    execl(self, "manyprocs", "exit", (char *)NULL);
                _exit(self ? 127 : 0);
            }
            started++, running++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        running--, done++;
    }
    printf("done %ld\n", done);
    return done == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "exit"))
        return 0;
    if (argc < 3)
        return usage();
    long n = count_arg(argv[2], 100000);
    if (n < 0)
        return usage();
    if (!strcmp(argv[1], "sleep") && argc == 3)
        return sleep_many(n);
    long jobs = argc > 3 ? count_arg(argv[3], 4096) : 64;
    if (!strcmp(argv[1], "churn") && argc <= 4 && jobs > 0)
        return churn(n, jobs, "/proc/self/exe");
    if (!strcmp(argv[1], "forks") && argc <= 4 && jobs > 0)
        return churn(n, jobs, NULL);
    return usage();
}
