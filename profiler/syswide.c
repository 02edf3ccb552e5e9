/*
 * profiler/syswide.c — /proc and cgroupfs for system-wide recording.
 *
 * `ignis record -a` opens one sampling event per CPU with pid -1 (or a
 * cgroup directory fd and PERF_FLAG_PID_CGROUP for --cgroup), so the
 * kernel samples whatever runs there; the recorder learns processes from
 * the records (FORK, COMM, MMAP2, EXIT) and, for those that already run
 * when it starts, from the list this file reads here.  Nothing here keeps
 * state: the list is read once, the cgroup fd is the caller's.
 */
#include "profiler/syswide.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "profiler/perf.h"
#include "utils/strbuf.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

static int open_dir(const char *path)
{
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int ig_cgroup_open(const char *path, ig_err *err)
{
    int fd = open_dir(path);
    int e = errno;
    if (fd < 0 && path[0] != '/' && e == ENOENT) { /* a name under the cgroup v2 mount, as perf takes */
        static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
        for (size_t i = 0; fd < 0 && i < sizeof roots / sizeof *roots; i++) {
            char full[4096];
            if ((size_t)snprintf(full, sizeof full, "%s/%s", roots[i], path) < sizeof full)
                fd = open_dir(full);
        }
    }
    if (fd < 0)
        return ig_err_set(err, "--cgroup %s: %s", path, strerror(e)), -1;
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0 || (sf.f_type != CGROUP2_SUPER_MAGIC && sf.f_type != CGROUP_SUPER_MAGIC)) {
        close(fd);
        return ig_err_set(err, "--cgroup %s: not a cgroup directory (cgroupfs, e.g. /sys/fs/cgroup/NAME)", path), -1;
    }
    return fd;
}

static void push_pid(pid_t **out, size_t *n, size_t *cap, pid_t pid)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *out = ig_xrealloc(*out, *cap * sizeof **out);
    }
    (*out)[(*n)++] = pid;
}

static size_t cgroup_pids(int cgroup_fd, pid_t **out)
{
    size_t n = 0, cap = 0;
    int fd = openat(cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    long pid;
    while (fscanf(f, "%ld", &pid) == 1)
        if (pid > 0 && pid <= 0x3fffffff)
            push_pid(out, &n, &cap, (pid_t)pid);
    fclose(f);
    return n;
}

size_t ig_syswide_pids(int cgroup_fd, pid_t **out)
{
    *out = NULL;
    if (cgroup_fd >= 0)
        return cgroup_pids(cgroup_fd, out);
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (!*end && pid > 0 && pid <= 0x3fffffff)
            push_pid(out, &n, &cap, (pid_t)pid);
    }
    if (d)
        closedir(d);
    return n;
}

int ig_syswide_open_error(ig_err *err, int e, const char *cgroup)
{
    const char *what = cgroup ? "--cgroup" : "-a";
    if (e == EACCES || e == EPERM)
        return ig_err_set(err,
                          "%s: perf_event_open: permission denied (kernel.perf_event_paranoid=%d); sampling every "
                          "process needs root, CAP_PERFMON, or 'sysctl kernel.perf_event_paranoid=0'",
                          what, ig_perf_paranoid());
    if (cgroup && (e == EBADF || e == EINVAL || e == ENOENT))
        return ig_err_set(err, "--cgroup %s: perf_event_open: %s (is it on cgroup v2, or v1's perf_event hierarchy?)",
                          cgroup, strerror(e));
    return ig_err_set(err, "%s: perf_event_open: %s", what, strerror(e));
}
