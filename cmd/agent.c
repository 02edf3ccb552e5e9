/*
 * cmd/agent.c — `ignis agent`: system-wide continuous profiling, and the
 * interval writer behind `ignis record --every`.
 *
 * `ignis agent [options]` is `ignis record -a -F 19 --every 60s -o
 * ignis-profiles/ [options]`: later options override those defaults, so
 * the agent is record's option parser, sampler and summary, not a second
 * copy of them.  Every interval the recorder hands over its profile
 * (ig_recorder_take_profile starts a fresh one, so the profile model never
 * holds more than one interval; process tables are pruned at exit by the
 * recorder) and this file writes it into the output folder atomically.
 * Shipping intervals to a collector (OTLP `--export`) hooks in where
 * agent_write_interval writes.  samples/ignis-agent.service runs it under
 * systemd.
 */
#include "cmd/agent.h"
#include "cmd/cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exporters/formats.h"
#include "exporters/net.h"
#include "utils/strbuf.h"

int agent_parse_every(const char *s, double *secs)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v <= 0 || s[0] == '-')
        return -1;
    double scale = !strcmp(end, "ms") ? 1e-3 : !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                 : !strcmp(end, "h") ? 3600 : 0;
    if (scale == 0)
        return -1;
    v *= scale;
    if (v < 0.1 || v > AGENT_MAX_EVERY_S)
        return -1;
    *secs = v;
    return 0;
}

int agent_prepare_dir(const char *dir, bool *created, ig_err *err)
{
    struct stat sb;
    *created = false;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT || mkdir(dir, 0755) != 0)
            return ig_err_set(err, "-o %s: %s", dir, strerror(errno));
        *created = true;
        if (stat(dir, &sb) != 0)
            return ig_err_set(err, "-o %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode))
        return ig_err_set(err, "-o %s: not a directory (--every writes one file per interval into a folder)", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return ig_err_set(err, "-o %s: %s", dir, strerror(errno));
    return 0;
}

int agent_write_interval(ig_recorder *r, const char *dir, unsigned *seq, bool quiet, struct ig_net_stream *stream)
{
    ignis_profile *p = ig_recorder_take_profile(r);
    time_t start = (time_t)(ignis_profile_time_nanos(p) / 1000000000LL);
    struct tm tm;
    char stamp[32] = "unknown", path[4096];
    if (gmtime_r(&start, &tm))
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    size_t len = strlen(dir);
    int n = snprintf(path, sizeof path, "%s%signis-%s-%04u.pb.gz", dir, len && dir[len - 1] == '/' ? "" : "/",
                     stamp, *seq);
    (*seq)++;
    ig_err err;
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof path)
        rc = ig_err_set(&err, "-o %s: path too long", dir);
    else
        rc = ig_profile_save(p, path, NULL, NULL, &err);
    if (rc != 0)
        cmd_error("record", "%s", err.msg);
    else if (!quiet)
        fprintf(stderr, "ignis record: wrote %s\n", path);
    if (stream && ignis_profile_num_samples(p))
        ig_net_stream_send(stream, p); /* takes p; a full queue drops (and counts) the oldest */
    else
        ignis_profile_free(p);
    return rc ? -1 : 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: ignis agent [options]\n\n"
                 "Profiles every process on every CPU continuously and writes one pprof profile\n"
                 "per interval into a folder: 'ignis record -a -F 19 --every 60s -o ignis-profiles/'.\n"
                 "Any option of 'ignis record' may follow and overrides those defaults, e.g.\n"
                 "  ignis agent -o /var/lib/ignis/profiles/ --cgroup system.slice/app.service\n"
                 "Runs until SIGINT or SIGTERM (or -d SECS); the last, partial interval is written\n"
                 "too.  Needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 0.\n"
                 "See 'ignis record --help' for the options.\n");
}

int cmd_agent(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    static const char *const defaults[] = {"agent", "-a", "-F", "19", "--every", "60s", "-o", "ignis-profiles/"};
    size_t nd = sizeof defaults / sizeof *defaults;
    char **args = ig_xcalloc(nd + (size_t)argc + 1, sizeof *args);
    for (size_t i = 0; i < nd; i++)
        args[i] = (char *)defaults[i];
    for (int i = 1; i < argc; i++)
        args[nd + (size_t)i - 1] = argv[i];
    int rc = record_main("agent", (int)nd + argc - 1, args);
    free(args);
    return rc;
}
