/*
 * libtrace/env.c — the SDK's logger and environment-variable parsing.
 *
 * Every setting the SDK reads from the environment goes through here, so
 * that an invalid value is handled the same way everywhere: one warning
 * line naming the variable and the reason, then the spec default.  The
 * logger is replaceable (ignis_trace_set_logger) so tests can observe
 * warnings and services can route them to their own log.
 */
#include "libtrace/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef void (*ig_log_fn)(int level, const char *msg, void *arg);

static _Atomic(ig_log_fn) g_log_fn;
static void *_Atomic g_log_arg;

void ignis_trace_set_logger(void (*fn)(int level, const char *msg, void *arg), void *arg)
{
    atomic_store(&g_log_arg, arg);
    atomic_store(&g_log_fn, fn);
}

static void default_log(int level, const char *msg)
{
    if (level >= IGNIS_LOG_DEBUG) {
        const char *v = getenv("IGNIS_TRACE_VERBOSE");
        if (!v || strcmp(v, "1") != 0)
            return;
    }
    if (level >= IGNIS_LOG_INFO) {
        const char *q = getenv("IGNIS_TRACE_QUIET");
        if (q && strcmp(q, "1") == 0)
            return;
    }
    fprintf(stderr, "ignis: trace: %s\n", msg);
}

void ig_tlog(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    ig_log_fn fn = atomic_load(&g_log_fn);
    if (fn)
        fn(level, msg, atomic_load(&g_log_arg));
    else
        default_log(level, msg);
}

size_t ig_trim(const char *s, size_t len, const char **start)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    *start = s;
    return len;
}

int ig_parse_int(const char *s, long min, long max, long *out)
{
    const char *p;
    size_t n = ig_trim(s, strlen(s), &p);
    if (n == 0 || n > 20)
        return -1;
    char buf[24];
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int ig_env_int(const char *name, int def, int min)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    long v;
    if (ig_parse_int(s, min, 0x7fffffff, &v) < 0) {
        ig_tlog(IGNIS_LOG_WARN, "%s: invalid value \"%.64s\" (want an integer >= %d); using %d", name, s, min, def);
        return def;
    }
    return (int)v;
}
