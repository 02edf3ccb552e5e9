/*
 * utils/err.c — one-line error messages (see err.h).
 */
#include "utils/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ig_err_set(ig_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* keep it one line */
    for (char *c = err->msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return -1;
}

int ig_err_prefix(ig_err *err, const char *prefix)
{
    if (!err)
        return -1;
    char tmp[sizeof err->msg];
    memcpy(tmp, err->msg, sizeof tmp);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t m = strnlen(tmp, rest);
    memcpy(err->msg + n + 2, tmp, m);
    err->msg[n + 2 + m] = '\0';
    return -1;
}

void ig_err_copy(const ig_err *err, char *buf, size_t len)
{
    if (buf && len)
        snprintf(buf, len, "%s", err->msg);
}
