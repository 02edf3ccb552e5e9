/*
 * cmd/common.c — what several subcommands share: loading a profile with a
 * one-line error, resolving the --value option the same way everywhere,
 * and reporting a failed write to standard output.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ignis %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

struct ignis_profile *cmd_load_profile(const char *cmd, const char *path, const char *format)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_profile_load(path, format, &p, &err)) {
        cmd_error(cmd, "%s", err.msg);
        return NULL;
    }
    return p;
}

int cmd_resolve_value(const char *cmd, const struct ignis_profile *p, const char *spec)
{
    size_t n = ignis_profile_num_values(p);
    if (!n) {
        cmd_error(cmd, "profile has no sample values");
        return -1;
    }
    if (!spec)
        return ignis_profile_default_value(p);
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (idx < 0 || (size_t)idx >= n) {
            cmd_error(cmd, "--value: index %ld out of range (profile has %zu values)", idx, n);
            return -1;
        }
        return (int)idx;
    }
    for (size_t i = 0; i < n; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        const char *type = ignis_profile_string(p, vt.type), *unit = ignis_profile_string(p, vt.unit);
        char both[256];
        snprintf(both, sizeof both, "%s/%s", type, unit);
        if (!strcmp(spec, type) || !strcmp(spec, both))
            return (int)i;
    }
    char avail[512] = "";
    for (size_t i = 0; i < n; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        size_t l = strlen(avail);
        snprintf(avail + l, sizeof avail - l, "%s%s", i ? ", " : "", ignis_profile_string(p, vt.type));
    }
    cmd_error(cmd, "--value: no value named '%s' (available: %s)", spec, avail);
    return -1;
}

int cmd_finish_stdout(const char *cmd)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    cmd_error(cmd, "stdout: %s", strerror(errno ? errno : EIO));
    return 1;
}
