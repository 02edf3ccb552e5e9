/*
 * exporters/otlp_file.c — OTLP-JSON lines file exporter.
 *
 * Each batch becomes one ExportTraceServiceRequest in the OTLP/JSON
 * mapping on one line, the format the OpenTelemetry Collector's file
 * exporter writes and its otlpjsonfile receiver reads.  The file is a
 * live log that other tools read while the service runs, so it is not
 * written through ig_ofile's temp-and-rename: it is opened O_APPEND and
 * every line goes out in a single write(2) (looping only on a short
 * write), which keeps lines whole when a forked child appends to the same
 * file.  "-" writes to standard output.
 */
#include "exporters/otlp.h"
#include "libtrace/internal.h" /* ig_tlog */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct otlp_file {
    ig_exporter base;
    int fd;
    bool own_fd;
    char *path;
    ig_strbuf line;
    bool failing;
} otlp_file;

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int file_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    otlp_file *f = (otlp_file *)e;
    (void)timeout_ms;
    if (n == 0)
        return IG_EXPORT_OK;
    ig_sb_reset(&f->line);
    ig_otlp_encode_json(spans, n, &f->line);
    ig_sb_putc(&f->line, '\n');
    if (write_all(f->fd, f->line.data, f->line.len) < 0) {
        if (!f->failing)
            ig_tlog(IGNIS_LOG_WARN, "%s: cannot write spans: %s", f->path, strerror(errno));
        f->failing = true;
        atomic_fetch_add(&e->counters.failed, n);
        return IG_EXPORT_FAILED;
    }
    f->failing = false;
    atomic_fetch_add(&e->counters.exported, n);
    return IG_EXPORT_OK;
}

static int file_force_flush(ig_exporter *e, int timeout_ms)
{
    (void)e;
    (void)timeout_ms;
    return 0; /* every batch is already written */
}

static void file_destroy(ig_exporter *e)
{
    otlp_file *f = (otlp_file *)e;
    if (f->own_fd)
        close(f->fd);
    ig_sb_free(&f->line);
    free(f->path);
    free(f);
}

ig_exporter *ig_otlp_file_exporter_new(const char *path, ig_err *err)
{
    if (!path || !*path) {
        ig_err_set(err, "OTLP file exporter: no output path");
        return NULL;
    }
    int fd = 1;
    bool own = strcmp(path, "-") != 0;
    if (own && (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    otlp_file *f = ig_xcalloc(1, sizeof *f);
    f->fd = fd;
    f->own_fd = own;
    f->path = ig_xstrdup(own ? path : "<stdout>");
    f->base.name = "otlp/file";
    f->base.export_spans = file_export;
    f->base.force_flush = file_force_flush;
    f->base.destroy = file_destroy;
    return &f->base;
}
