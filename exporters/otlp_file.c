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
 *
 * The traced application is never blocked by whoever reads the file.  The
 * path is opened O_NONBLOCK (no effect on a regular file): a FIFO that no
 * one has opened for reading yet (ENXIO) is not waited for — the exporter
 * comes up without a descriptor, each export tries the open again, and
 * the spans of a batch that finds no reader are counted as failed (the
 * SDK reports them at shutdown).  Once open, a full pipe is waited for
 * with poll() for at most the export's timeout (the export thread's time,
 * or what is left of shutdown's), never longer; a line cut short by the
 * timeout is counted as failed and its tail is kept and written first by
 * the next export, so the reader only ever sees whole lines.  A reader
 * that goes away (EPIPE) sends the FIFO back to "no reader yet", and the
 * SIGPIPE of that write is caught in the writing thread (blocked, then
 * taken) so it cannot kill the application.
 */
#include "exporters/otlp.h"
#include "libtrace/internal.h" /* ig_tlog */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct otlp_file {
    ig_exporter base;
    int fd;         /* -1: a FIFO with no reader yet */
    bool own_fd;
    char *path;
    ig_strbuf line;
    size_t sent;    /* bytes of `line` written: a tail is pending while sent < line.len */
    bool fifo;      /* the path is a FIFO: reopened when its reader comes or goes */
    bool failing;
    bool waiting_said;
} otlp_file;

static bool is_fifo(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static bool fd_is_fifo(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void say_waiting_for_reader(otlp_file *f)
{
    if (!f->waiting_said)
        ig_tlog(IGNIS_LOG_WARN, "%s: no reader on the FIFO; spans are dropped and counted until one opens it",
                f->path);
    f->waiting_said = true;
}

/* Opens the FIFO again if it had no reader (not O_CREAT: a FIFO removed
 * meanwhile is not replaced by a file); false while it still has none. */
static bool ensure_open(otlp_file *f)
{
    if (f->fd >= 0)
        return true;
    f->fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0) {
        say_waiting_for_reader(f);
        return false;
    }
    f->waiting_said = false;
    ig_tlog(IGNIS_LOG_INFO, "%s: a reader opened the FIFO; writing spans", f->path);
    return true;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* write(2) with this thread's SIGPIPE blocked: a reader that went away
 * gives EPIPE here, and the signal it raised is taken, not delivered. */
static ssize_t write_without_sigpipe(int fd, const char *p, size_t len)
{
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t w = write(fd, p, len);
    int saved = errno;
    if (w < 0 && errno == EPIPE && !was_pending) {
        const struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return w;
}

/* Writes line[sent..] waiting for room until deadline_ms.  0 when all is
 * written; -1 with errno (ETIMEDOUT when the reader did not make room). */
static int write_rest(otlp_file *f, uint64_t deadline_ms)
{
    while (f->sent < f->line.len) {
        ssize_t w = write_without_sigpipe(f->fd, f->line.data + f->sent, f->line.len - f->sent);
        if (w > 0) {
            f->sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return -1;
        uint64_t now = mono_ms();
        if (now >= deadline_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = {.fd = f->fd, .events = POLLOUT};
        if (poll(&pfd, 1, (int)(deadline_ms - now)) < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* A reader that went away: the FIFO waits for the next one; a line cut in
 * the middle is lost with it (the next reader starts on a whole line). */
static void lose_reader(otlp_file *f)
{
    if (!f->fifo)
        return;
    close(f->fd);
    f->fd = -1;
    f->sent = f->line.len;
}

static int fail_batch(otlp_file *f, size_t n, int err)
{
    if (!f->failing)
        ig_tlog(IGNIS_LOG_WARN, "%s: cannot write spans: %s", f->path, strerror(err));
    f->failing = true;
    atomic_fetch_add(&f->base.counters.failed, n);
    return IG_EXPORT_FAILED;
}

static int file_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    otlp_file *f = (otlp_file *)e;
    if (n == 0)
        return IG_EXPORT_OK;
    if (!ensure_open(f)) {
        atomic_fetch_add(&e->counters.failed, n);
        return IG_EXPORT_FAILED;
    }
    uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    if (write_rest(f, deadline) < 0) { /* the tail of a line cut short before */
        int err = errno;
        if (err == EPIPE)
            lose_reader(f);
        return fail_batch(f, n, err);
    }
    ig_sb_reset(&f->line);
    f->sent = 0;
    ig_otlp_encode_json(spans, n, &f->line);
    ig_sb_putc(&f->line, '\n');
    if (write_rest(f, deadline) < 0) {
        int err = errno;
        if (err == EPIPE)
            lose_reader(f);
        else if (f->sent == 0)
            f->sent = f->line.len; /* nothing went out: nothing pending */
        return fail_batch(f, n, err);
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

/* The child after fork(): the tail of a line the parent left pending is
 * the parent's to write, not written twice. */
static void file_after_fork_child(ig_exporter *e)
{
    otlp_file *f = (otlp_file *)e;
    f->sent = f->line.len;
}

static void file_destroy(ig_exporter *e)
{
    otlp_file *f = (otlp_file *)e;
    if (f->own_fd && f->fd >= 0)
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
    bool no_reader = false;
    if (own && (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644)) < 0) {
        int open_errno = errno;
        no_reader = open_errno == ENXIO && is_fifo(path);
        if (!no_reader) {
            ig_err_set(err, "%s: %s", path, strerror(open_errno));
            return NULL;
        }
    }
    otlp_file *f = ig_xcalloc(1, sizeof *f);
    f->fd = fd;
    f->own_fd = own;
    f->path = ig_xstrdup(own ? path : "<stdout>");
    f->base.name = "otlp/file";
    f->base.export_spans = file_export;
    f->base.force_flush = file_force_flush;
    f->base.after_fork_child = file_after_fork_child;
    f->base.destroy = file_destroy;
    f->fifo = own && (no_reader || fd_is_fifo(fd));
    if (no_reader)
        say_waiting_for_reader(f);
    return &f->base;
}
