/*
 * cmd/stop.h — how `ignis record` stops and what it exits with when it runs
 * a command (the CPU route in cmd/record.c, the heap routes in
 * profiler/alloc/).
 *
 * Stop signals are SIGINT, SIGTERM, SIGQUIT and SIGHUP — SIGHUP only if it
 * was not ignored when ignis started (nohup).  SIGINT and SIGQUIT count
 * even when a script started ignis in the background (which ignores them):
 * `kill -INT` is how scripts stop a recording.  A launched command keeps
 * the dispositions ignis started with (an ignored signal is caught only
 * once it is launched).  A stop signal that only ignis received (kill,
 * timeout, a service manager sending it to the main process) is passed on
 * to the command and every process it started (its own process group when
 * ignis has no controlling terminal, and each process of its tree ignis
 * knows of); one the terminal sent went to the whole foreground
 * process group, the command included, and is not sent twice.  ignis then waits for the command to end, at most
 * CMD_STOP_GRACE_S seconds (a second stop signal ends the wait at once),
 * writes the profile, and ends a command still running, with everything it
 * started, as `timeout` does (SIGTERM, SIGKILL 2 s later; SIGKILL at once
 * after a second stop signal; -d ends it the same way).
 *
 * Exit status with a command: the command's (128 + N when signal N ended
 * it, as shells and `time` report it; 0 when -d ended the recording while
 * it ran), CMD_EXIT_FAILED when the profile could not be written (or the
 * recording could not start), 126/127 when the command could not be run.
 */
#ifndef IG_CMD_STOP_H
#define IG_CMD_STOP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#define CMD_STOP_GRACE_S 5
#define CMD_STOP_STR_(x) #x
#define CMD_STOP_STR(x) CMD_STOP_STR_(x)
#define CMD_EXIT_FAILED 125
#define CMD_EXIT_CANNOT_RUN 126
#define CMD_EXIT_NOT_FOUND 127

/* The help text's paragraph about stop signals and exit statuses. */
#define CMD_STOP_HELP                                                                                        \
    "Stopping: SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the recording and the profile is\n"                   \
    "written.  With -- CMD the signal is passed on to CMD and the processes it started\n"                  \
    "(unless the terminal sent it to all), ignis waits up to " CMD_STOP_STR(CMD_STOP_GRACE_S) " s for them to end (a second\n" \
    "signal: at once) and ends what still runs (SIGTERM, then SIGKILL; SIGKILL after a\n"                    \
    "second signal).  -d ends them the same way.\n\n"                                                        \
    "Exit status: with -- CMD, CMD's exit status (128+N if signal N ended it; 0 if -d\n"                   \
    "ended the recording while it ran), 126/127 if it could not be run; with -p, 0.\n"                     \
    "125 (-- CMD) or 1 (-p) if ignis failed and no profile was written; 2 for bad usage.\n"

/* Fills set with the stop signals (SIGHUP left out when ignored). */
void cmd_stop_signals(sigset_t *set);

/* Whether a stop signal (its si_code and si_pid) goes on to the command
 * `child` (0 when there is none). */
bool cmd_stop_forward(int si_code, pid_t sender, pid_t child);

/* The exit status a wait status stands for: the exit code, else 128 + N. */
int cmd_exit_status(int wait_status);

/* Why a command could not be started, for the exit status when the
 * recorder reports only a message: CMD_EXIT_NOT_FOUND when `file` (a
 * path, or a name searched in $PATH as execvp does) exists nowhere,
 * CMD_EXIT_CANNOT_RUN when it exists but is not executable, else 0. */
int cmd_lookup_status(const char *file);

/* "ignis record: SIGTERM passed on to NAME (pid N); waiting ..." */
void cmd_stop_notice(int sig, bool forwarded, const char *name, pid_t child);

#endif
