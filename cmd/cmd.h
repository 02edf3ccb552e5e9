/*
 * cmd/cmd.h — the subcommands of `ignis`, one file each.
 *
 * Commands are thin: they parse options, call into the shared model
 * (profile/), formats (exporters/), profiler/ and viewer/, print, and exit.
 * Each returns the process exit status (0 ok, 1 error, 2 usage error).
 * Errors are printed as one line: "ignis CMD: <file or flag>: <reason>".
 */
#ifndef IG_CMD_H
#define IG_CMD_H

int cmd_convert(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* Prints "ignis CMD: msg" to stderr. */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
