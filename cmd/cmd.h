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
int cmd_collect(int argc, char **argv);

/* Prints "ignis CMD: msg" to stderr. */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct ignis_profile;

/* Loads a profile in any readable format (cmd/common.c); on failure prints
 * "ignis CMD: FILE: reason" and returns NULL. */
struct ignis_profile *cmd_load_profile(const char *cmd, const char *path, const char *format);

/* Resolves a --value argument: NULL = the profile's default, a 0-based
 * index, a value type name ("cpu", "alloc_space") or "type/unit".  Returns
 * the index, or -1 after printing "ignis CMD: --value: ..." . */
int cmd_resolve_value(const char *cmd, const struct ignis_profile *p, const char *spec);

/* Flushes standard output; on a write error (a full disk, a closed pipe)
 * prints "ignis CMD: stdout: reason" and returns 1, else 0. */
int cmd_finish_stdout(const char *cmd);

#endif
