/*
 * collect/import.c — OTLP-JSON lines into the store (see import.h).
 *
 * zlib's gzread reads plain and gzip files alike, so a line reader on top
 * of it serves both.  Lines are assembled in one growing buffer up to
 * max_line; a longer line stops the import with an error naming the file
 * and the line, without keeping more than max_line bytes, so a file
 * without newlines (/dev/zero) can take neither unbounded memory nor
 * unbounded time.  The bytes read (inflated) and the spans stored may be
 * capped too (the in-memory stores of `ignis view` and --spans): past a
 * cap the import stops with an error naming the file and the limit.  Each
 * line is decoded like a request body (collect/decode_json.c) and
 * inserted in the open transaction; a transaction commits every
 * COMMIT_SPANS spans and at the end, so an import stopped half way keeps
 * whole lines.
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
    uint64_t total;     /* bytes read so far (inflated) */
    uint64_t max_total; /* 0: no limit */
} line_reader;

enum { LINE_END = 0, LINE_READ = 1, LINE_READ_ERROR = -1, LINE_TOO_LONG = -2, INPUT_TOO_BIG = -3 };

/* Refills the buffer: LINE_READ, LINE_END, LINE_READ_ERROR or INPUT_TOO_BIG. */
static int refill(line_reader *r)
{
    if (r->eof)
        return LINE_END;
    if (r->max_total && r->total >= r->max_total) {
        char probe; /* exactly at the cap: too big only if more follows */
        int more = gzread(r->gz, &probe, 1);
        if (more < 0)
            return LINE_READ_ERROR;
        r->eof = more == 0;
        return more ? INPUT_TOO_BIG : LINE_END;
    }
    size_t want = sizeof r->buf;
    if (r->max_total && r->max_total - r->total < want)
        want = (size_t)(r->max_total - r->total);
    int n = gzread(r->gz, r->buf, (unsigned)want);
    if (n < 0)
        return LINE_READ_ERROR;
    r->pos = 0;
    r->len = (size_t)n;
    r->total += (size_t)n;
    r->eof = n == 0;
    return n ? LINE_READ : LINE_END;
}

/* Reads the next line into out (without the newline).  Returns LINE_READ
 * for a line, LINE_END at the end, LINE_TOO_LONG when the line passes max
 * (out holds its first bytes), or refill's errors. */
static int next_line(line_reader *r, ig_strbuf *out, size_t max)
{
    ig_sb_reset(out);
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            int got = refill(r);
            if (got == LINE_END)
                return any ? LINE_READ : LINE_END;
            if (got != LINE_READ)
                return got;
            continue;
        }
        any = true;
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        size_t take = (nl ? (size_t)(nl - r->buf) : r->len) - r->pos;
        if (out->len + take > max)
            return LINE_TOO_LONG;
        ig_sb_append(out, r->buf + r->pos, take);
        r->pos += take + (nl != NULL);
        if (nl)
            return LINE_READ;
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

/* The error that stopped reading, if any: a line or input past its cap. */
static int stop_error(int got, const char *path, uint64_t lineno, const ig_import_limits *lim, ig_err *err)
{
    if (got == LINE_TOO_LONG)
        return ig_err_set(err, "%s:%llu: line longer than %zu bytes: not OTLP-JSON lines (a file without newlines?)",
                          path, (unsigned long long)lineno + 1, lim->max_line);
    if (got == INPUT_TOO_BIG) {
        bool mib = lim->max_bytes % (1u << 20) == 0;
        return ig_err_set(err, "%s: more than %llu %s of input after line %llu: the limit for spans read into "
                               "memory (`ignis collect --import %s --db FILE.db` takes more)",
                          path, (unsigned long long)(mib ? lim->max_bytes >> 20 : lim->max_bytes),
                          mib ? "MiB" : "bytes", (unsigned long long)lineno, path);
    }
    return 0;
}

static int too_many_spans(const char *path, uint64_t lineno, const ig_import_limits *lim, ig_err *err)
{
    return ig_err_set(err, "%s:%llu: more than %llu spans: the limit for spans read into memory (`ignis collect "
                           "--import %s --db FILE.db` takes more)",
                      path, (unsigned long long)lineno, (unsigned long long)lim->max_spans, path);
}

int ig_import_jsonl(ig_store *s, const char *path, size_t max_line, ig_import_warn_fn *warn, void *ctx,
                    ig_import_stats *st, ig_err *err)
{
    const ig_import_limits lim = {.max_line = max_line};
    return ig_import_jsonl_limited(s, path, &lim, warn, ctx, st, err);
}

int ig_import_jsonl_limited(ig_store *s, const char *path, const ig_import_limits *lim, ig_import_warn_fn *warn,
                            void *ctx, ig_import_stats *st, ig_err *err)
{
    memset(st, 0, sizeof *st);
    line_reader *r = ig_xcalloc(1, sizeof *r);
    if (!(r->gz = open_input(path, err))) {
        free(r);
        return -1;
    }
    r->max_total = lim->max_bytes;
    ig_strbuf line = IG_STRBUF_INIT;
    uint64_t lineno = 0, in_txn = 0, committed = 0;
    int rc = ig_store_begin(s, err), got = 0;
    while (rc == 0 && (got = next_line(r, &line, lim->max_line)) == LINE_READ) {
        lineno++;
        if (blank(&line))
            continue;
        st->lines++;
        rc = import_line(s, path, &line, lineno, warn, ctx, st, &in_txn, err);
        if (rc == 0 && lim->max_spans && st->spans > lim->max_spans)
            rc = too_many_spans(path, lineno, lim, err);
        if (rc == 0 && in_txn >= COMMIT_SPANS) {
            if ((rc = ig_store_commit(s, err)) == 0) {
                committed += in_txn;
                in_txn = 0;
                rc = ig_store_begin(s, err);
            }
        }
    }
    if (rc == 0)
        rc = stop_error(got, path, lineno, lim, err);
    int zerr = Z_OK;
    gzerror(r->gz, &zerr);
    bool read_failed = got == LINE_READ_ERROR || (zerr != Z_OK && zerr != Z_STREAM_END);
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
