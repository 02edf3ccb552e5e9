/*
 * utils/err.h — one-line error messages carried up to the command.
 *
 * Every reader, writer and command reports failure the same way: a function
 * returns -1 and fills an ig_err with one line naming the file (flag, header)
 * and the reason, e.g. "prof.pb.gz: truncated gzip stream".  Commands print
 * it as "ignis: <msg>" and exit 1.
 */
#ifndef IG_ERR_H
#define IG_ERR_H

#include <stddef.h>

typedef struct ig_err {
    char msg[512];
} ig_err;

/* Formats the message (printf-style); returns -1 so callers can
 * `return ig_err_set(err, ...)`.  err may be NULL. */
int ig_err_set(ig_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message with "prefix: " (e.g. the file name). */
int ig_err_prefix(ig_err *err, const char *prefix);

/* Copies the message into a caller buffer (public API style). */
void ig_err_copy(const ig_err *err, char *buf, size_t len);

#endif
