/*
 * collect/import.c — OTLP-JSON lines into the store (see import.h).
 *
 * zlib's gzread reads plain and gzip files alike, so a line reader on top
 * of it serves both.  Lines are assembled in one growing buffer; a line
 * that passes max_line is skipped to its end without being kept, so a
 * file without newlines cannot take unbounded memory.  Each line is
 * decoded like a request body (collect/decode_json.c) and inserted in the
 * open transaction; a transaction commits every COMMIT_SPANS spans and at
 * the end, so an import stopped half way keeps whole lines.
 */
#include "collect/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "collect/decode.h"
#include "utils/strbuf.h"

enum { COMMIT_SPANS = 50000, READ_CHUNK = 1 << 16 };

typedef struct line_reader {
    gzFile gz;
    char buf[READ_CHUNK];
    size_t pos, len;
    bool eof;
} line_reader;

/* Reads the next line into out (without the newline).  Returns 1 for a
 * line, 0 at the end, -1 on a read error.  *too_long: the line passed max
 * and was skipped (out holds its first max bytes). */
static int next_line(line_reader *r, ig_strbuf *out, size_t max, bool *too_long)
{
    ig_sb_reset(out);
    *too_long = false;
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                return any ? 1 : 0;
            int n = gzread(r->gz, r->buf, sizeof r->buf);
            if (n < 0)
                return -1;
            r->pos = 0;
            r->len = (size_t)n;
            r->eof = n == 0;
            continue;
        }
        any = true;
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        size_t take = (nl ? (size_t)(nl - r->buf) : r->len) - r->pos;
        if (out->len + take > max)
            *too_long = true;
        else
            ig_sb_append(out, r->buf + r->pos, take);
        r->pos += take + (nl != NULL);
        if (nl)
            return 1;
    }
}

static bool blank(const ig_strbuf *line)
{
    for (size_t i = 0; i < line->len; i++)
        if (!strchr(" \t\r", line->data[i]))
            return false;
    return true;
}

static void warnf(ig_import_warn_fn *warn, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(ig_import_warn_fn *warn, void *ctx, const char *fmt, ...)
{
    if (!warn)
        return;
    char buf[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    warn(ctx, buf);
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static gzFile open_input(const char *path, ig_err *err)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
    if (fd < 0) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        ig_err_set(err, "%s: cannot read", path);
    }
    return gz;
}

/* Decodes and inserts one line; a bad line is reported, not fatal. */
static int import_line(ig_store *s, const char *path, const ig_strbuf *line, uint64_t lineno, ig_import_warn_fn *warn,
                       void *ctx, ig_import_stats *st, uint64_t *in_txn, ig_err *err)
{
    ig_decode_stats ds;
    ig_err derr;
    ig_batch *b = ig_decode_json(line->data ? line->data : "", line->len, &ds, &derr);
    if (!b) {
        st->bad_lines++;
        warnf(warn, ctx, "%s:%llu: %s", path, (unsigned long long)lineno, derr.msg);
        return 0;
    }
    st->rejected += ds.rejected;
    if (ds.rejected)
        warnf(warn, ctx, "%s:%llu: %u of %u spans rejected: %s", path, (unsigned long long)lineno, ds.rejected,
              ds.spans, ds.reason);
    b->received_ns = wall_ns();
    int rc = ig_store_insert(s, b, err);
    if (rc == 0) {
        *in_txn += b->nspans;
        st->spans += b->nspans;
    }
    ig_batch_free(b);
    return rc;
}

int ig_import_jsonl(ig_store *s, const char *path, size_t max_line, ig_import_warn_fn *warn, void *ctx,
                    ig_import_stats *st, ig_err *err)
{
    memset(st, 0, sizeof *st);
    line_reader *r = ig_xcalloc(1, sizeof *r);
    if (!(r->gz = open_input(path, err))) {
        free(r);
        return -1;
    }
    ig_strbuf line = IG_STRBUF_INIT;
    uint64_t lineno = 0, in_txn = 0, committed = 0;
    int rc = ig_store_begin(s, err), got = 0;
    bool too_long;
    while (rc == 0 && (got = next_line(r, &line, max_line, &too_long)) == 1) {
        lineno++;
        if (blank(&line) && !too_long)
            continue;
        st->lines++;
        if (too_long) {
            st->bad_lines++;
            warnf(warn, ctx, "%s:%llu: line longer than %zu bytes, skipped", path, (unsigned long long)lineno, max_line);
            continue;
        }
        rc = import_line(s, path, &line, lineno, warn, ctx, st, &in_txn, err);
        if (rc == 0 && in_txn >= COMMIT_SPANS) {
            if ((rc = ig_store_commit(s, err)) == 0) {
                committed += in_txn;
                in_txn = 0;
                rc = ig_store_begin(s, err);
            }
        }
    }
    int zerr = Z_OK;
    gzerror(r->gz, &zerr);
    bool read_failed = got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END);
    if (rc == 0)
        rc = ig_store_commit(s, err); /* what was read before a read error is kept */
    else
        ig_store_rollback(s);
    if (rc == 0)
        committed += in_txn;
    st->spans = committed;
    if (rc == 0 && read_failed)
        rc = ig_err_set(err, "%s: read error after line %llu (truncated or corrupt gzip?)", path,
                        (unsigned long long)lineno);
    gzclose(r->gz);
    free(r);
    ig_sb_free(&line);
    return rc == 0 ? 0 : -1;
}
