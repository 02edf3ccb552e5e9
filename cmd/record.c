/*
 * cmd/record.c — `ignis record`: sample running processes or a command
 * and write the profile (pprof, folded or SVG by the output extension).
 *
 * `--alloc` selects allocation profiling instead, handled entirely by
 * profiler/alloc/alloc_record.c.  Otherwise the command only parses
 * options, drives the recorder (profiler/record.h)
 * until the duration ends, a signal arrives or every target exited, and
 * writes what it has.  SIGINT/SIGTERM only set a flag; they are blocked
 * except while the recorder waits in ppoll(), so a stop signal ends the
 * wait at once however long it is, and the profile is still written.  The symbolizer's
 * persistent cache lives in ig_symtab_default_cache_dir() unless
 * --no-cache; the summary's "profiler cpu" is this process's CPU time from
 * attach until the profile and the cache are written.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmd/record_export.h"
#include "exporters/formats.h"
#include "profiler/alloc/alloc_record.h"
#include "profiler/perf.h"
#include "profiler/record.h"
#include "profiler/symbols.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis record [options] -p PID[,PID...]\n"
            "       ignis record [options] -- CMD [ARGS...]\n\n"
            "Samples the threads of running processes (or a command it launches, following\n"
            "every thread and process it creates), unwinds their stacks with DWARF and\n"
            "writes a symbolized CPU profile.\n\n"
            "Options:\n"
            "  -p, --pid PID[,PID]   processes to attach to\n"
            "      --tid TID[,TID]   only these threads (not followed)\n"
            "  -F, --freq HZ         samples per second per thread (default 99, max %u)\n"
            "  -d, --duration SECS   stop after this long (default: until Ctrl-C or exit)\n"
            "  -o, --output FILE     .pb.gz (pprof, default ignis.pb.gz), .folded or .svg\n"
            "      --stack-size N    user stack bytes copied per sample (default 16K,\n"
            "                        max %u; K suffix allowed)\n"
            "      --no-kernel       user frames only (no samples in kernel mode)\n"
            "      --per-thread      add the thread as the root frame\n"
            "      --no-cache        do not use or fill the symbol cache ($IGNIS_CACHE_DIR,\n"
            "                        else $XDG_CACHE_HOME/ignis, else ~/.cache/ignis)\n"
            "      --export          also send the profile to the OTLP collector\n"
            "                        (OTEL_EXPORTER_OTLP_[PROFILES_]ENDPOINT, default\n"
            "                        http://localhost:4318/v1development/profiles)\n"
            "  -q, --quiet           no status line or summary\n"
            "      --alloc           record allocations instead of CPU (see --alloc --help)\n"
            "  -h, --help            this help\n",
            IG_RECORD_MAX_FREQ, IG_PERF_MAX_STACK);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || errno || *end || s[0] == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_stack_size(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || errno || s[0] == '-')
        return -1;
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    if (*end || v > 1024 * 1024)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_status(const ig_record_stats *st, double secs)
{
    fprintf(stderr, "\r\033[Kignis record: %.1f s  %llu samples  %llu lost  %llu threads", secs,
            (unsigned long long)st->samples, (unsigned long long)st->lost, (unsigned long long)st->threads);
    fflush(stderr);
}

/* CPU time (user + system) this process has used so far, in seconds. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void print_summary(const ig_record_stats *st, double secs, double cpu, const char *out)
{
    double pct = st->samples ? 100.0 * (double)st->partial / (double)st->samples : 0.0;
    fprintf(stderr,
            "ignis record: wrote %s\n"
            "  samples           %llu\n"
            "  lost samples      %llu\n"
            "  not fully unwound %llu (%.2f%%), rooted at [truncated]\n"
            "  threads seen      %llu\n"
            "  duration          %.2f s\n"
            "  profiler cpu      %.1f ms (%.1f us/sample, attach to written profile)\n",
            out, (unsigned long long)st->samples, (unsigned long long)st->lost, (unsigned long long)st->partial,
            pct, (unsigned long long)st->threads, secs, cpu * 1e3,
            st->samples ? cpu * 1e6 / (double)st->samples : 0.0);
    if (!st->kernel)
        fprintf(stderr, "  (user frames only: kernel callchains off or not permitted)\n");
    if (!st->samples)
        fprintf(stderr, "  (no samples: the targets used no CPU while recording)\n");
}

typedef struct record_args {
    ig_record_opts o;
    const char *output;
    double duration;
    bool quiet;
    bool no_cache;
    bool export_otlp;
    char cache_dir[4096];
    pid_t *pids, *tids;
} record_args;

enum { OPT_TID = 256, OPT_STACK, OPT_NO_KERNEL, OPT_PER_THREAD, OPT_NO_CACHE, OPT_EXPORT };

/* Returns -1 on success (continue), else the exit status. */
static int parse_args(int argc, char **argv, record_args *a)
{
    static const struct option longopts[] = {
        {"pid", required_argument, NULL, 'p'},
        {"tid", required_argument, NULL, OPT_TID},
        {"freq", required_argument, NULL, 'F'},
        {"duration", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"stack-size", required_argument, NULL, OPT_STACK},
        {"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
        {"per-thread", no_argument, NULL, OPT_PER_THREAD},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"export", no_argument, NULL, OPT_EXPORT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, n;
    unsigned long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+p:F:d:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            free(a->pids);
            if ((n = ig_parse_pid_list(optarg, &a->pids)) < 0)
                return cmd_error("record", "-p %s: expected PID[,PID...]", optarg), 2;
            a->o.pids = a->pids, a->o.npids = (size_t)n;
            break;
        case OPT_TID:
            free(a->tids);
            if ((n = ig_parse_pid_list(optarg, &a->tids)) < 0)
                return cmd_error("record", "--tid %s: expected TID[,TID...]", optarg), 2;
            a->o.tids = a->tids, a->o.ntids = (size_t)n;
            break;
        case 'F':
            if (parse_uint(optarg, IG_RECORD_MAX_FREQ, &v) || v == 0)
                return cmd_error("record", "-F %s: frequency must be an integer in 1..%u Hz", optarg,
                                 IG_RECORD_MAX_FREQ), 2;
            a->o.freq = (unsigned)v;
            break;
        case 'd': {
            char *end;
            errno = 0;
            a->duration = strtod(optarg, &end);
            if (end == optarg || *end || errno || !isfinite(a->duration) || a->duration <= 0 || a->duration > 1e7)
                return cmd_error("record", "-d %s: expected a positive number of seconds", optarg), 2;
            break;
        }
        case 'o': a->output = optarg; break;
        case OPT_STACK:
            if (parse_stack_size(optarg, &a->o.stack_size) || a->o.stack_size < 64 ||
                a->o.stack_size > IG_PERF_MAX_STACK)
                return cmd_error("record", "--stack-size %s: expected 64..%u bytes (K suffix allowed)", optarg,
                                 IG_PERF_MAX_STACK), 2;
            a->o.stack_size &= ~7u; /* perf wants a multiple of 8 */
            break;
        case OPT_NO_KERNEL: a->o.no_kernel = true; break;
        case OPT_PER_THREAD: a->o.per_thread = true; break;
        case OPT_NO_CACHE: a->no_cache = true; break;
        case OPT_EXPORT: a->export_otlp = true; break;
        case 'q': a->quiet = true; break;
        case 'h': usage(stdout); return 0;
        default:
            if (optopt)
                cmd_error("record", "-%c: unknown option or missing value (see --help)", optopt);
            else
                cmd_error("record", "%s: unknown option (see --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        a->o.argv = argv + optind;
    if (!a->o.npids && !a->o.ntids && !a->o.argv)
        return cmd_error("record", "nothing to record: give -p PID, --tid TID or -- CMD (see --help)"), 2;
    if (a->o.argv && (a->o.npids || a->o.ntids))
        return cmd_error("record", "%s: -p/--tid and a command are mutually exclusive", a->o.argv[0]), 2;
    if (!a->output)
        a->output = "ignis.pb.gz";
    if (!a->no_cache && ig_symtab_default_cache_dir(a->cache_dir, sizeof a->cache_dir) == 0)
        a->o.cache_dir = a->cache_dir;
    if (!ig_format_for_path(a->output) && strcmp(a->output, "-"))
        return cmd_error("record", "-o %s: unknown extension (use .pb.gz, .folded or .svg)", a->output), 2;
    return -1;
}

static void record_loop(ig_recorder *r, const record_args *a, const struct timespec *t0)
{
    bool live = !a->quiet && isatty(2);
    double last_status = -1;
    while (!stop_signal) {
        double secs = elapsed_since(t0);
        /* Full rings, exits and stop signals end the wait early; the
         * timeout paces the status line, or else drains all rings at the
         * recorder's own pace (each wake-up costs CPU). */
        int timeout = live ? 500 : ig_recorder_drain_period_ms(r);
        if (a->duration > 0) {
            if (secs >= a->duration)
                break;
            double left_ms = (a->duration - secs) * 1000.0;
            if (left_ms < timeout)
                timeout = (int)left_ms + 1;
        }
        if (ig_recorder_poll(r, timeout) <= 0)
            break;
        if (live && secs - last_status >= 0.45) {
            print_status(ig_recorder_stats(r), secs);
            last_status = secs;
        }
    }
    if (live)
        fprintf(stderr, "\r\033[K");
}

/* True when --alloc appears among the options (before any "--"). */
static bool wants_alloc(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--alloc"))
            return true;
    return false;
}

int cmd_record(int argc, char **argv)
{
    if (wants_alloc(argc, argv))
        return ig_alloc_record_main(argc, argv);
    record_args a = {.o = IG_RECORD_OPTS_INIT};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free(a.pids), free(a.tids);
        return rc;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ig_err err;
    ig_ofile out; /* created before sampling: a bad -o must not cost the run */
    if (!ig_ofile_open(&out, a.output, &err)) {
        cmd_error("record", "%s", err.msg);
        free(a.pids), free(a.tids);
        return 1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double cpu0 = cpu_seconds();
    sigset_t stops, wait_mask, saved;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, NULL, &wait_mask); /* the mask during the wait: stops deliverable */
    a.o.poll_sigmask = &wait_mask;
    ig_recorder *r = ig_recorder_new(&a.o, &err); /* a launched command keeps the usual mask */
    sigprocmask(SIG_BLOCK, &stops, &saved);
    if (!r) {
        sigprocmask(SIG_SETMASK, &saved, NULL);
        ig_ofile_abort(&out);
        cmd_error("record", "%s", err.msg);
        free(a.pids), free(a.tids);
        return 1;
    }
    const ig_record_stats *st = ig_recorder_stats(r);
    if (!a.quiet) {
        if (a.o.argv)
            fprintf(stderr, "ignis record: recording %s (pid %d) at %u Hz\n", a.o.argv[0], (int)st->child, a.o.freq);
        else
            fprintf(stderr, "ignis record: recording %llu threads at %u Hz; Ctrl-C to stop\n",
                    (unsigned long long)st->attached, a.o.freq);
    }
    record_loop(r, &a, &t0);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    ignis_profile *p = ig_recorder_take_profile(r);
    double secs = elapsed_since(&t0);
    rc = 0;
    if (ig_profile_save_to(p, &out, a.output, NULL, NULL, &err) != 0) {
        cmd_error("record", "%s", err.msg);
        rc = 1;
    }
    if (rc == 0 && a.export_otlp)
        rc = cmd_record_export(p, &a.o, st, a.quiet);
    ignis_profile_free(p);
    ig_record_stats final = *st;
    ig_recorder_free(r); /* also writes the symbol cache back */
    if (rc == 0 && !a.quiet)
        print_summary(&final, secs, cpu_seconds() - cpu0, a.output);
    free(a.pids), free(a.tids);
    return rc;
}
