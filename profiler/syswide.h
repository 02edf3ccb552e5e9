/*
 * profiler/syswide.h — what system-wide recording (`ignis record -a`)
 * needs from the system beside perf events: the processes that exist when
 * it starts, the cgroup a recording is narrowed to (--cgroup), and the
 * one-line error when CPU-wide events are not permitted.  The recorder
 * (profiler/record.c) keeps its process table; this file only reads /proc
 * and cgroupfs.
 */
#ifndef IG_PROFILER_SYSWIDE_H
#define IG_PROFILER_SYSWIDE_H

#include <stddef.h>
#include <sys/types.h>

#include "utils/err.h"

/* Opens a cgroup directory for perf cgroup events: `path` as given, or
 * relative to the cgroup v2 mount (/sys/fs/cgroup or /sys/fs/cgroup/unified).
 * Returns the directory fd, or -1 with a one-line reason naming --cgroup
 * and the path (missing, not a directory, not on cgroupfs). */
int ig_cgroup_open(const char *path, ig_err *err);

/* The processes now running: every numeric /proc entry, or with
 * cgroup_fd >= 0 the members listed in its cgroup.procs.  Returns the count
 * (the caller frees *out), 0 when there are none or they cannot be read. */
size_t ig_syswide_pids(int cgroup_fd, pid_t **out);

/* The error for a refused CPU-wide event (errno e): permission (root,
 * CAP_PERFMON or perf_event_paranoid <= 0 needed), or the plain reason. */
int ig_syswide_open_error(ig_err *err, int e, const char *cgroup);

#endif
