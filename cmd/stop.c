/*
 * cmd/stop.c — stop signals and exit statuses of `ignis record` (stop.h).
 *
 * Design.  The terminal's signals carry si_code SI_KERNEL and reach the
 * whole foreground group; everything sent with kill() carries SI_USER (or
 * SI_QUEUE), and reaches only whom it was sent to — so only the latter is
 * passed on.  A SIGHUP ignored at start stays ignored (nohup asked for
 * it); SIGINT and SIGQUIT ignored at start were only the shell's way to
 * shield a background job from the terminal, so they are caught.
 */
#include "cmd/stop.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void cmd_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
        struct sigaction old;
        if (stop_signals[i] == SIGHUP && sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaddset(set, stop_signals[i]);
    }
}

bool cmd_stop_forward(int si_code, pid_t sender, pid_t child)
{
    if (child <= 0 || si_code == SI_KERNEL)
        return false;
    return !(si_code <= 0 && sender == child);
}

int cmd_exit_status(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return CMD_EXIT_FAILED;
}

void cmd_stop_notice(int sig, bool forwarded, const char *name, pid_t child)
{
    const char *abbrev = sigabbrev_np(sig);
    if (forwarded)
        fprintf(stderr, "ignis record: SIG%s passed on to %s (pid %d)", abbrev ? abbrev : "?", name, (int)child);
    else
        fprintf(stderr, "ignis record: SIG%s (sent to %s (pid %d) too)", abbrev ? abbrev : "?", name, (int)child);
    fprintf(stderr, "; waiting up to %d s for it to end (again to stop now)\n", CMD_STOP_GRACE_S);
}

/* Whether `name` names an existing file (and an executable regular one:
 * access(X_OK) also succeeds on a directory, and for root on any file
 * with an x bit). */
static int probe(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? CMD_EXIT_NOT_FOUND : CMD_EXIT_CANNOT_RUN;
    return S_ISREG(st.st_mode) && access(path, X_OK) == 0 ? 0 : CMD_EXIT_CANNOT_RUN;
}

int cmd_lookup_status(const char *file)
{
    if (strchr(file, '/'))
        return probe(file);
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int best = CMD_EXIT_NOT_FOUND;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        char full[PATH_MAX];
        int n = end == p ? snprintf(full, sizeof full, "%s", file)
                         : snprintf(full, sizeof full, "%.*s/%s", (int)(end - p), p, file);
        if (n > 0 && (size_t)n < sizeof full) {
            int rc = probe(full);
            if (rc == 0)
                return 0;
            if (rc == CMD_EXIT_CANNOT_RUN)
                best = rc;
        }
        if (!*end)
            return best;
        p = end;
    }
}
