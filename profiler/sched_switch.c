/*
 * profiler/sched_switch.c — finding sched:sched_switch and reading its
 * records (see sched_switch.h).
 *
 * Design.  tracefs is where the kernel publishes a tracepoint's id and the
 * layout of its data; perf reads the same files.  It is often mounted at
 * /sys/kernel/tracing (or reached through debugfs), readable by root only,
 * and often not mounted at all in containers and minimal systems.  perf
 * mounts it for good when it can; we never change the host: when no
 * tracefs is mounted, a forked child unshares its mount namespace, makes
 * it private, mounts tracefs on /sys/kernel/tracing there and writes the
 * format file into a pipe.  The id it carries is the kernel's, valid in
 * every namespace.  Without the right to mount (no CAP_SYS_ADMIN) the
 * error names the missing mount, as perf's does.
 *
 * Format files are the kernel's text, but they are parsed as untrusted
 * input all the same (fuzz/fuzz_perf_records.c feeds them too): every
 * field must lie within the raw data a sample carries, which is checked
 * per sample.
 */
#include "profiler/sched_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACEFS_MAGIC_NUMBER 0x74726163
#define FORMAT_MAX 65536
#define EVENT_FORMAT "events/sched/sched_switch/format"
#define DEFAULT_ROOT "/sys/kernel/tracing"

/* ---- format files --------------------------------------------------------- */

/* The unsigned decimal at s (at most `max`), else -1. */
static long parse_num(const char *s, const char *end, long max)
{
    long v = 0;
    const char *p = s;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
        p++;
    }
    return p == s ? -1 : v;
}

/* The value of "key:N;" within [line, end), else -1. */
static long field_attr(const char *line, const char *end, const char *key, long max)
{
    size_t klen = strlen(key);
    for (const char *p = line; p + klen <= end; p++)
        if (!memcmp(p, key, klen))
            return parse_num(p + klen, end, max);
    return -1;
}

/* The declared name of a "field:TYPE NAME[N];" line: the last identifier
 * before the first ';' (and before any '['). */
static bool field_name_is(const char *line, const char *end, const char *name)
{
    const char *decl = line, *semi;
    while (decl < end && *decl != ':')
        decl++;
    if (decl == end)
        return false;
    semi = memchr(decl, ';', (size_t)(end - decl));
    if (!semi)
        return false;
    const char *stop = memchr(decl, '[', (size_t)(semi - decl));
    const char *e = stop ? stop : semi;
    while (e > decl && e[-1] == ' ')
        e--;
    const char *b = e;
    while (b > decl && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= 'A' && b[-1] <= 'Z') ||
                        (b[-1] >= '0' && b[-1] <= '9')))
        b--;
    size_t n = strlen(name);
    return (size_t)(e - b) == n && !memcmp(b, name, n);
}

static void take_field(const char *line, const char *end, const char *name, ig_tp_field *f)
{
    if (!field_name_is(line, end, name))
        return;
    long off = field_attr(line, end, "offset:", 65535), size = field_attr(line, end, "size:", 65535);
    if (off >= 0 && size > 0)
        *f = (ig_tp_field){(uint32_t)off, (uint32_t)size};
}

int ig_sched_switch_parse_format(const char *text, size_t len, ig_sched_switch_fmt *f)
{
    memset(f, 0, sizeof *f);
    const char *p = text, *end = text + len;
    long id = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        while (p < le && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(le - p) > 3 && !memcmp(p, "ID:", 3)) {
            const char *q = p + 3;
            while (q < le && *q == ' ')
                q++;
            id = parse_num(q, le, 0x7fffffff);
        } else if ((size_t)(le - p) > 6 && !memcmp(p, "field:", 6)) {
            take_field(p, le, "prev_pid", &f->prev_pid);
            take_field(p, le, "prev_state", &f->prev_state);
        }
        p = le + 1;
    }
    if (id <= 0 || f->prev_pid.size != 4 || (f->prev_state.size != 4 && f->prev_state.size != 8))
        return -1;
    f->id = (unsigned)id;
    return 0;
}

/* ---- raw data ------------------------------------------------------------- */

static bool field_fits(const ig_tp_field *fl, size_t len)
{
    return fl->size && fl->offset <= len && fl->size <= len - fl->offset;
}

int ig_sched_switch_decode(const ig_sched_switch_fmt *f, const uint8_t *raw, size_t len, ig_sched_switch_rec *out)
{
    if (!raw || !field_fits(&f->prev_pid, len) || !field_fits(&f->prev_state, len) || f->prev_pid.size != 4)
        return -1;
    memcpy(&out->prev_pid, raw + f->prev_pid.offset, 4);
    if (f->prev_state.size == 8) {
        memcpy(&out->prev_state, raw + f->prev_state.offset, 8);
    } else if (f->prev_state.size == 4) {
        int32_t s32;
        memcpy(&s32, raw + f->prev_state.offset, 4);
        out->prev_state = s32;
    } else {
        return -1;
    }
    return 0;
}

/* TASK_REPORT bits (include/linux/sched.h since 4.14): the state index as a
 * bit, and TASK_REPORT_MAX (0x100) when the switch was a preemption. */
const char *ig_sched_state_name(int64_t prev_state)
{
    static const char *const names[] = {"sleeping", "uninterruptible", "stopped", "traced",
                                        "dead",     "dead",            "parked",  "idle"};
    if (prev_state & 0x100)
        return IG_STATE_RUNNABLE;
    for (int i = 0; i < 8; i++)
        if (prev_state & (1 << i))
            return names[i];
    return IG_STATE_RUNNABLE; /* R: left the CPU runnable (yield, woken at once) */
}

/* ---- finding tracefs ------------------------------------------------------ */

static bool is_tracefs(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == TRACEFS_MAGIC_NUMBER;
}

/* Reads at most cap bytes of fd; the count, or -1. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int parse_or_fail(const char *text, size_t len, const char *where, ig_sched_switch_fmt *f, ig_err *err)
{
    if (ig_sched_switch_parse_format(text, len, f) != 0)
        return ig_err_set(err, "sched:sched_switch: %s: no id, prev_pid or prev_state in the format", where);
    return 0;
}

static int read_mounted(const char *root, ig_sched_switch_fmt *f, ig_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" EVENT_FORMAT, root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM))
        return ig_err_set(err, "sched:sched_switch: %s: permission denied (tracefs is readable by root only)", path);
    if (fd < 0 && errno == ENOENT)
        return ig_err_set(err, "sched:sched_switch: no such tracepoint in %s/events", root);
    if (fd < 0)
        return ig_err_set(err, "sched:sched_switch: %s: %s", path, strerror(errno));
    char *buf = malloc(FORMAT_MAX);
    ssize_t n = buf ? read_all(fd, buf, FORMAT_MAX) : -1;
    int e = errno;
    close(fd);
    int rc = n < 0 ? ig_err_set(err, "sched:sched_switch: %s: %s", path, strerror(e))
                   : parse_or_fail(buf, (size_t)n, path, f, err);
    free(buf);
    return rc;
}

/* In the child: a private mount namespace with tracefs on DEFAULT_ROOT;
 * writes 'F' and the format file, or 'E' and the errno. */
static void __attribute__((noreturn)) child_read_private(int out)
{
    int e = 0;
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tracefs", DEFAULT_ROOT, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        e = errno;
    int fd = e ? -1 : open(DEFAULT_ROOT "/" EVENT_FORMAT, O_RDONLY | O_CLOEXEC);
    if (!e && fd < 0)
        e = errno;
    char buf[4096];
    if (e) {
        buf[0] = 'E';
        memcpy(buf + 1, &e, sizeof e);
        if (write(out, buf, 1 + sizeof e) < 0)
            _exit(1);
        _exit(1);
    }
    if (write(out, "F", 1) != 1)
        _exit(1);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            _exit(1);
    _exit(0);
}

static int read_private(ig_sched_switch_fmt *f, ig_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return ig_err_set(err, "sched:sched_switch: tracefs not mounted at " DEFAULT_ROOT " (pipe: %s)",
                          strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_read_private(fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return ig_err_set(err, "sched:sched_switch: tracefs not mounted at " DEFAULT_ROOT " (fork: %s)",
                          strerror(errno));
    }
    char *buf = malloc(FORMAT_MAX + 1);
    ssize_t n = buf ? read_all(fds[0], buf, FORMAT_MAX + 1) : -1;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc;
    if (n >= 1 && buf[0] == 'F') {
        rc = parse_or_fail(buf + 1, (size_t)n - 1, DEFAULT_ROOT " (mounted privately)", f, err);
    } else {
        int e = 0;
        if (n >= (ssize_t)(1 + sizeof e) && buf[0] == 'E')
            memcpy(&e, buf + 1, sizeof e);
        rc = ig_err_set(err, "sched:sched_switch: tracefs not mounted at " DEFAULT_ROOT "%s%s%s",
                        e ? " (mounting it: " : "", e ? strerror(e) : "", e ? ")" : "");
    }
    free(buf);
    return rc;
}

int ig_sched_switch_find(ig_sched_switch_fmt *f, ig_err *err)
{
    const char *env = getenv("IGNIS_TRACEFS");
    if (env && *env) {
        if (!is_tracefs(env))
            return ig_err_set(err, "sched:sched_switch: tracefs not mounted at %s", env);
        return read_mounted(env, f, err);
    }
    static const char *const roots[] = {DEFAULT_ROOT, "/sys/kernel/debug/tracing"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
        if (is_tracefs(roots[i]))
            return read_mounted(roots[i], f, err);
    return read_private(f, err);
}
