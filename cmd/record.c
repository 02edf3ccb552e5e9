/*
 * cmd/record.c — `ignis record`: sample running processes or a command
 * and write the profile (pprof, folded or SVG by the output extension).
 *
 * `--alloc` selects allocation profiling instead, handled entirely by
 * profiler/alloc/alloc_record.c.  Otherwise the command only parses
 * options, drives the recorder (profiler/record.h)
 * until the duration ends, a signal arrives or every target exited, and
 * writes what it has.  Stop signals (cmd/stop.h: SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT) only count themselves in a flag; they are blocked except while
 * the recorder waits in ppoll(), so a stop signal ends the wait at once
 * however long it is, and the profile is still written.  With -- CMD the
 * first one is passed on to the command and every process it started
 * (ig_recorder_signal_command) and recording goes on until they end (at
 * most CMD_STOP_GRACE_S; a second signal stops at once, and what still
 * runs is ended, as after -d); ignis then exits with the command's
 * status (cmd/stop.h).  The symbolizer's
 * persistent cache lives in ig_symtab_default_cache_dir() unless
 * --no-cache; the summary's "profiler cpu" is this process's CPU time from
 * attach until the profile and the cache are written.  -a samples every
 * process (profiler/syswide.c); --every writes one profile per interval
 * into a folder (cmd/agent.c).  Options go through the parser every
 * command shares (cmd/common.c), so they are spelled, and their errors
 * read, as everywhere else; the first operand (or "--") is the command.
 */
#include "cmd/agent.h"
#include "cmd/cmd.h"
#include "cmd/stop.h"

#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmd/record_export.h"
#include "exporters/net.h"
#include "exporters/formats.h"
#include "profiler/alloc/alloc_record.h"
#include "profiler/perf.h"
#include "profiler/record.h"
#include "profiler/symbols.h"
#include "utils/mapguard.h"

/* Set by the stop-signal handler, which runs only inside ppoll: how many
 * came (at most 2), and who sent the first. */
static volatile sig_atomic_t stop_count, stop_signal, stop_code, stop_sender;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (stop_count == 0) {
        stop_signal = sig;
        stop_code = si->si_code;
        stop_sender = si->si_pid;
    }
    if (stop_count < 2)
        stop_count++;
}

/* Catches the stop signals in `stops`; with only_default, just those not
 * ignored now — safe before a command is launched, since a caught signal
 * is SIG_DFL again after exec, as it was; an ignored one must stay ignored
 * for the command, so it is caught only after the launch. */
static void catch_stops(const sigset_t *stops, bool only_default)
{
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(stops, sig) == 1 && sigaction(sig, NULL, &old) == 0 &&
            !(only_default && old.sa_handler == SIG_IGN))
            sigaction(sig, &sa, NULL);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis record [options] -p PID[,PID...]\n"
            "       ignis record [options] -- CMD [ARGS...]\n"
            "       ignis record [options] -a [--cgroup PATH] [--every DUR -o DIR/]\n\n"
            "Samples the threads of running processes (or a command it launches, following\n"
            "every thread and process it creates), unwinds their stacks with DWARF and\n"
            "writes a symbolized CPU profile.\n\n"
            "Options:\n"
            "  -p, --pid PID[,PID]   processes to attach to\n"
            "  -a, --all-cpus        every process on every CPU (root, CAP_PERFMON or\n"
            "                        perf_event_paranoid <= 0); with -p only those and\n"
            "                        their children; labels pid, process, thread, tid\n"
            "      --cgroup PATH     only the tasks of this cgroup (implies -a)\n"
            "      --every DUR       one profile per interval (60s, 5m, 1h) into -o DIR/\n"
            "      --tid TID[,TID]   only these threads (not followed)\n"
            "  -F, --freq HZ         samples per second per thread (default 99, max %u)\n"
            "  -d, --duration SECS   stop after this long (default: until Ctrl-C or exit)\n"
            "  -o, --output FILE     .pb.gz (pprof, default ignis.pb.gz), .folded or .svg\n"
            "      --stack-size N    user stack bytes copied per sample (default 16K,\n"
            "                        max %u; K suffix allowed)\n"
            "  -g, --call-graph dwarf[,N]  perf's spellings: call graphs are always recorded\n"
            "                        and unwound with DWARF; N is --stack-size\n"
            "      --no-kernel       user frames only (no samples in kernel mode)\n"
            "      --per-thread      add the thread as the root frame\n"
            "      --no-cache        do not use or fill the symbol cache ($IGNIS_CACHE_DIR,\n"
            "                        else $XDG_CACHE_HOME/ignis, else ~/.cache/ignis)\n"
            "      --export          also send the profile to the OTLP collector\n"
            "                        (OTEL_EXPORTER_OTLP_[PROFILES_]ENDPOINT, default\n"
            "                        http://localhost:4318/v1development/profiles); if it\n"
            "                        cannot be sent the file is still written, exit status\n"
            "                        125 (-- CMD) or 1 (-p); with --every each interval is\n"
            "                        queued (8 at most) and what is lost is counted\n"
            "  -q, --quiet           no status line or summary\n"
            "      --off-cpu         record where threads wait instead of where they run: every\n"
            "                        switch-out with its stacks, valued by the time off the CPU\n"
            "                        (labels state = sleeping, uninterruptible, runnable... and\n"
            "                        wchan, the kernel function it waited in)\n"
            "      --wall            CPU samples and off-CPU time in one wall-clock profile\n"
            "                        (label state = running for the CPU samples)\n"
            "      --off-cpu-min T   leave out waits shorter than T (e.g. 10us, 1ms; default 0)\n"
            "      --off-cpu-period T  (BPF engine) record every wait of T or more exactly, and a\n"
            "                        shorter wait of d with probability d/T, valued T: the\n"
            "                        expected time per stack is the true one, as with CPU\n"
            "                        sampling, at a fraction of the cost (default 1ms; 0:\n"
            "                        every wait).  IGNIS_OFFCPU_BPF=0: the perf engine\n"
            "      --no-span-labels  do not label CPU samples and off-CPU intervals with their libignis span\n"
            "                        (trace_id, span_id, span_name; needs BPF: root or\n"
            "                        CAP_BPF+CAP_PERFMON, a kernel with BTF)\n"
            "      --spans SRC       label samples no libignis span labels with the spans of\n"
            "                        SRC (a trace store or OTLP-JSON file) that carry\n"
            "                        thread.id, by thread and time (see docs/ARCHITECTURE.md)\n"
            "      --alloc           record allocations instead of CPU (see --alloc --help)\n"
            "  -h, --help            this help\n\n" CMD_STOP_HELP,
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

/* "250us", "1.5ms", "2s", "100ns" or "0" into nanoseconds. */
static int parse_duration_ns(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0 || s[0] == '-')
        return -1;
    static const struct { const char *unit; double ns; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
    };
    double scale = v == 0 && !*end ? 1 : 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !scale; i++)
        if (!strcmp(end, units[i].unit))
            scale = units[i].ns;
    if (!scale || v * scale > 1e18)
        return -1;
    *out = (uint64_t)(v * scale);
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
    uint64_t stacks = st->samples + st->intervals; /* CPU samples and off-CPU intervals */
    double pct = stacks ? 100.0 * (double)st->partial / (double)stacks : 0.0;
    char per_sample[48] = "no CPU samples"; /* --off-cpu: per switch-out below */
    if (st->cpu_events)
        snprintf(per_sample, sizeof per_sample, "%.1f us/sample", st->samples ? cpu * 1e6 / (double)st->samples : 0.0);
    fprintf(stderr,
            "ignis record: wrote %s\n"
            "  samples           %llu\n"
            "  lost samples      %llu\n"
            "  not fully unwound %llu (%.2f%%), rooted at [truncated]\n"
            "  threads seen      %llu\n"
            "  duration          %.2f s\n"
            "  profiler cpu      %.1f ms (%s, attach to written profile)\n",
            out, (unsigned long long)st->samples, (unsigned long long)st->lost, (unsigned long long)st->partial,
            pct, (unsigned long long)st->threads, secs, cpu * 1e3, per_sample);
    fprintf(stderr, "  perf events       %llu opened, %s\n", (unsigned long long)st->events_opened,
            st->per_cpu ? "per CPU (for every thread)" : "per thread");
    if (st->per_cpu && st->cpu_events && st->foreign_samples)
        fprintf(stderr, "  other processes   %llu samples dropped (CPU-wide events sample every process)\n",
                (unsigned long long)st->foreign_samples);
    if (!st->kernel)
        fprintf(stderr, "  (user frames only: kernel callchains off or not permitted)\n");
    double covered = st->target_cpu_ns ? (double)st->target_sampled_ns / (double)st->target_cpu_ns : 1.0;
    if (!st->cpu_events) /* --off-cpu: no CPU samples to compare */
        covered = 1.0;
    else if (st->target_cpu_ns)
        fprintf(stderr, "  target cpu        %.2f s, %.0f%% of it sampled\n", (double)st->target_cpu_ns / 1e9,
                100.0 * covered);
    if (covered < 0.5 && st->target_cpu_ns > 500000000 && !st->per_cpu)
        fprintf(stderr, "  (the kernel samples threads that share CPUs poorly; sampling per CPU needs root,\n"
                        "   CAP_PERFMON or kernel.perf_event_paranoid <= 0, and -p)\n");
    if (st->unattached)
        fprintf(stderr, "  threads not sampled %llu (could not attach: %s)\n", (unsigned long long)st->unattached,
                strerror(st->unattached_errno));
    if (st->throttled)
        fprintf(stderr, "  throttled         %llu times (kernel.perf_cpu_time_max_percent)\n",
                (unsigned long long)st->throttled);
    if (st->span_procs)
        fprintf(stderr, "  span labels       %llu samples in spans, %llu outside, %llu not told (unlabelled)\n",
                (unsigned long long)st->span_labelled, (unsigned long long)st->span_outside,
                (unsigned long long)st->span_unlabelled);
    if (st->span_procs && (st->span_sw_labelled || st->span_sw_outside || st->span_sw_unlabelled))
        fprintf(stderr, "  span labels       %llu switch-outs in spans, %llu outside, %llu not told (unlabelled)\n",
                (unsigned long long)st->span_sw_labelled, (unsigned long long)st->span_sw_outside,
                (unsigned long long)st->span_sw_unlabelled);
    if (!st->samples && st->target_cpu_ns < 10000000 && st->cpu_events)
        fprintf(stderr, "  (no samples: the targets used no CPU while recording)\n");
    if (ig_mapguard_pages())
        fprintf(stderr, "  files changed     %llu page%s of mapped files vanished: a file shrank while recording\n"
                        "                    (its frames may have lost their callers or names)\n",
                (unsigned long long)ig_mapguard_pages(), ig_mapguard_pages() == 1 ? "" : "s");
}

/* The off-CPU lines of the summary (--off-cpu, --wall). */
static void print_offcpu_summary(const ig_record_stats *st, double cpu)
{
    fprintf(stderr,
            "  switch-outs       %llu (%s; %.2f us of profiler cpu each)\n"
            "  off-CPU intervals %llu, %.3f s\n",
            (unsigned long long)st->switches,
            st->offcpu_bpf ? "BPF" : st->switch_states ? "sched:sched_switch" : "context-switches",
            st->switches ? cpu * 1e6 / (double)st->switches : 0.0, (unsigned long long)st->intervals,
            (double)st->offcpu_ns / 1e9);
    if (st->switch_unwinds_cached || st->switch_memo_differs)
        fprintf(stderr, "  repeated stacks   %llu switch-outs unwound from the stack memo (%llu differed)\n",
                (unsigned long long)st->switch_unwinds_cached, (unsigned long long)st->switch_memo_differs);
    if (st->offcpu_bpf) {
        fprintf(stderr,
                "  BPF engine        %llu switch-outs seen, %.3f s off the CPU (exact, in-kernel); %llu events\n"
                "                    (%.2f us of profiler cpu per event, %.3f per switch-out); %llu waits not drawn\n"
                "                    (--off-cpu-period), %llu under --off-cpu-min, %llu lost (ring full), %llu\n"
                "                    dropped (registers changed), %llu dropped (exited in the wait)\n",
                (unsigned long long)st->bpf_seen, (double)st->bpf_off_ns / 1e9, (unsigned long long)st->bpf_recorded,
                st->bpf_recorded ? (cpu * 1e9 + (double)st->bpf_prog_ns) / 1e3 / (double)st->bpf_recorded : 0.0,
                st->bpf_seen ? (cpu * 1e9 + (double)st->bpf_prog_ns) / 1e3 / (double)st->bpf_seen : 0.0,
                (unsigned long long)st->bpf_sampled_out, (unsigned long long)st->bpf_below_min,
                (unsigned long long)st->bpf_dropped, (unsigned long long)st->bpf_mismatch,
                (unsigned long long)st->bpf_exits);
        fprintf(stderr, "  drawn waits       valued %.3f s in all (the exact %.3f s in expectation)\n",
                (double)st->bpf_value_ns / 1e9, (double)st->bpf_off_ns / 1e9);
        if (st->bpf_late_in)
            fprintf(stderr,
                    "  late switch-ins   %llu (not seen by the program; timed at the next switch-out);"
                    " %.3f s drawn among them left out (their stacks are not known)\n",
                    (unsigned long long)st->bpf_late_in, (double)st->bpf_late_ns / 1e9);
        if (st->bpf_prog_ns)
            fprintf(stderr, "  BPF programs      %.1f ms of CPU in the kernel (counted in the line above)\n",
                    (double)st->bpf_prog_ns / 1e6);
    }
    if (st->offcpu_short || st->bpf_below_min) /* the BPF engine leaves them out in the kernel */
        fprintf(stderr, "  shorter waits     %llu left out (--off-cpu-min)\n",
                (unsigned long long)(st->offcpu_short + st->bpf_below_min));
    if (st->offcpu_unmatched)
        fprintf(stderr, "  unmatched         %llu switch-outs dropped: their switch-in was lost\n",
                (unsigned long long)st->offcpu_unmatched);
}

typedef struct record_args {
    ig_record_opts o;
    const char *cmd;      /* "record", or "agent" when cmd/agent.c runs us */
    const char *output;
    double duration;
    double every;         /* --every: seconds per profile written into the folder output */
    bool quiet;
    bool no_cache;
    bool export_otlp;
    struct ig_net_stream *stream; /* --every with --export: the intervals to the collector */
    char stream_url[1024];
    char cache_dir[4096];
    pid_t *pids, *tids;
    const char *spans;    /* --spans: join with other SDKs' spans by thread and time */
    cmd_opts args;        /* o.argv (-- CMD) points into its operands */
} record_args;

enum {
    OPT_PID = 1, OPT_TID, OPT_FREQ, OPT_DURATION, OPT_OUTPUT, OPT_STACK, OPT_NO_KERNEL, OPT_PER_THREAD,
    OPT_NO_CACHE, OPT_CALL_GRAPH_FLAG, OPT_CALL_GRAPH, OPT_OFF_CPU, OPT_WALL, OPT_OFF_CPU_MIN, OPT_OFF_CPU_PERIOD,
    OPT_NO_SPAN_LABELS, OPT_EXPORT, OPT_QUIET, OPT_ALL, OPT_CGROUP, OPT_EVERY, OPT_SPANS, OPT_HELP
};

/* record's options, in the shared parser's table (cmd/cmd.h): the
 * spellings, errors and "--" of every other command. */
static const cmd_opt record_opts[] = {
    {"pid", 'p', CMD_ARG_REQUIRED, 0, OPT_PID},
    {"tid", 0, CMD_ARG_REQUIRED, 0, OPT_TID},
    {"freq", 'F', CMD_ARG_REQUIRED, 0, OPT_FREQ},
    {"duration", 'd', CMD_ARG_REQUIRED, 0, OPT_DURATION},
    {"output", 'o', CMD_ARG_REQUIRED, 0, OPT_OUTPUT},
    {"stack-size", 0, CMD_ARG_REQUIRED, 0, OPT_STACK},
    {"no-kernel", 0, CMD_ARG_NONE, 0, OPT_NO_KERNEL},
    {"per-thread", 0, CMD_ARG_NONE, 0, OPT_PER_THREAD},
    {"no-cache", 0, CMD_ARG_NONE, 0, OPT_NO_CACHE},
    {"call-graph", 0, CMD_ARG_REQUIRED, 0, OPT_CALL_GRAPH},
    {"", 'g', CMD_ARG_NONE, 0, OPT_CALL_GRAPH_FLAG}, /* perf -g: no long name */
    {"off-cpu", 0, CMD_ARG_NONE, 0, OPT_OFF_CPU},
    {"wall", 0, CMD_ARG_NONE, 0, OPT_WALL},
    {"off-cpu-min", 0, CMD_ARG_REQUIRED, 0, OPT_OFF_CPU_MIN},
    {"off-cpu-period", 0, CMD_ARG_REQUIRED, 0, OPT_OFF_CPU_PERIOD},
    {"no-span-labels", 0, CMD_ARG_NONE, 0, OPT_NO_SPAN_LABELS},
    {"export", 0, CMD_ARG_NONE, 0, OPT_EXPORT},
    {"quiet", 'q', CMD_ARG_NONE, 0, OPT_QUIET},
    {"all-cpus", 'a', CMD_ARG_NONE, 0, OPT_ALL},
    {"cgroup", 0, CMD_ARG_REQUIRED, 0, OPT_CGROUP},
    {"every", 0, CMD_ARG_REQUIRED, 0, OPT_EVERY},
    {"spans", 0, CMD_ARG_REQUIRED, 0, OPT_SPANS},
    {"help", 'h', CMD_ARG_NONE, 0, OPT_HELP},
    {NULL, 0, 0, 0, 0},
};

/* A bad value: "ignis record: -F 0: reason (ignis record --help)", the
 * option as it was typed.  Returns 2. */
static int bad_value(const record_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_value(const record_args *a, const char *fmt, ...)
{
    char flag[192], why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(flag, sizeof flag, "%s %s", a->args.spelled, a->args.arg);
    return cmd_usage_error(a->cmd, flag, "%s", why);
}

/* --call-graph dwarf[,SIZE] (perf's spelling; SIZE is --stack-size). */
static int parse_call_graph(record_args *a, const char *s)
{
    if (strncmp(s, "dwarf", 5) || (s[5] && s[5] != ','))
        return bad_value(a, "ignis unwinds with DWARF: use dwarf[,SIZE]");
    if (s[5] && (parse_stack_size(s + 6, &a->o.stack_size) || a->o.stack_size < 64 ||
                 a->o.stack_size > IG_PERF_MAX_STACK))
        return bad_value(a, "expected dwarf,64..%u (bytes, K suffix allowed)", IG_PERF_MAX_STACK);
    a->o.stack_size &= ~7u; /* perf wants a multiple of 8 */
    a->o.switch_stack_size = a->o.stack_size;
    return 0;
}

/* Stores one option's value: 0, or the exit status after an error. */
static int take_option(record_args *a, int id, const char *arg)
{
    int n;
    unsigned long v;
    char *end;
    switch (id) {
    case OPT_PID:
        free(a->pids);
        if ((n = ig_parse_pid_list(arg, &a->pids)) < 0)
            return bad_value(a, "expected PID[,PID...]");
        a->o.pids = a->pids, a->o.npids = (size_t)n;
        break;
    case OPT_TID:
        free(a->tids);
        if ((n = ig_parse_pid_list(arg, &a->tids)) < 0)
            return bad_value(a, "expected TID[,TID...]");
        a->o.tids = a->tids, a->o.ntids = (size_t)n;
        break;
    case OPT_FREQ:
        if (parse_uint(arg, IG_RECORD_MAX_FREQ, &v) || v == 0)
            return bad_value(a, "frequency must be an integer in 1..%u Hz", IG_RECORD_MAX_FREQ);
        a->o.freq = (unsigned)v;
        break;
    case OPT_DURATION:
        errno = 0;
        a->duration = strtod(arg, &end);
        if (end == arg || *end || errno || !isfinite(a->duration) || a->duration <= 0 || a->duration > 1e7)
            return bad_value(a, "expected a positive number of seconds");
        break;
    case OPT_OUTPUT: a->output = arg; break;
    case OPT_STACK:
        if (parse_stack_size(arg, &a->o.stack_size) || a->o.stack_size < 64 || a->o.stack_size > IG_PERF_MAX_STACK)
            return bad_value(a, "expected 64..%u bytes (K suffix allowed)", IG_PERF_MAX_STACK);
        a->o.stack_size &= ~7u; /* perf wants a multiple of 8 */
        a->o.switch_stack_size = a->o.stack_size; /* switch-outs too */
        break;
    case OPT_CALL_GRAPH_FLAG: break; /* perf -g: call graphs are always on */
    case OPT_CALL_GRAPH: return parse_call_graph(a, arg);
    case OPT_NO_KERNEL: a->o.no_kernel = true; break;
    case OPT_PER_THREAD: a->o.per_thread = true; break;
    case OPT_NO_CACHE: a->no_cache = true; break;
    case OPT_OFF_CPU: a->o.off_cpu = true; break;
    case OPT_WALL: a->o.wall = true; break;
    case OPT_NO_SPAN_LABELS: a->o.span_labels = false; break;
    case OPT_OFF_CPU_MIN:
        if (parse_duration_ns(arg, &a->o.off_cpu_min_ns))
            return bad_value(a, "expected a duration such as 10us, 1ms or 0");
        break;
    case OPT_OFF_CPU_PERIOD:
        if (parse_duration_ns(arg, &a->o.off_cpu_period_ns))
            return bad_value(a, "expected a duration such as 1ms, 200us or 0");
        break;
    case OPT_EXPORT: a->export_otlp = true; break;
    case OPT_QUIET: a->quiet = true; break;
    case OPT_ALL: a->o.all = true; break;
    case OPT_CGROUP: a->o.cgroup = arg, a->o.all = true; break;
    case OPT_EVERY:
        if (agent_parse_every(arg, &a->every))
            return bad_value(a, "expected an interval of 0.1 s to 24 h (60s, 5m, 1h)");
        break;
    case OPT_SPANS: a->spans = arg, a->o.sample_times = true; break;
    default: break;
    }
    return 0;
}

/* --spans SRC is read when the recording ends (the traced program or a
 * collector may still be writing it), so only what can never be read is
 * refused up front: a directory, a device, a FIFO.  One that does not
 * exist yet gets a note. */
static bool spans_source_refused(const char *cmd, const char *src, bool quiet)
{
    struct stat st;
    if (!strcmp(src, "-")) {
        cmd_error(cmd, "--spans -: the spans are read when the recording ends; give a file or a store");
        return true;
    }
    if (stat(src, &st) != 0) {
        if (errno != ENOENT) {
            cmd_error(cmd, "--spans %s: %s", src, strerror(errno));
            return true;
        }
        if (!quiet)
            fprintf(stderr, "ignis %s: --spans %s: does not exist yet; it is read when the recording ends\n", cmd, src);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        cmd_error(cmd, "--spans %s: not a regular file (a trace store or an OTLP/JSON file)", src);
        return true;
    }
    return false;
}

/* The options that make sense together.  -1, or the exit status. */
/* An existing device or FIFO (e.g. /dev/null) is written in place, as
 * pprof: it has no extension to tell the format by. */
static bool is_device_or_fifo(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
}

static int check_args(record_args *a)
{
    const char *cmd = a->cmd;
    if (!a->o.all && !a->o.npids && !a->o.ntids && !a->o.argv)
        return cmd_error(cmd, "nothing to record: give -a, -p PID, --tid TID or -- CMD (see --help)"), 2;
    if (a->o.all && (a->o.ntids || a->o.argv))
        return cmd_error(cmd, "%s: -a takes -p or --cgroup, not %s", a->o.argv ? a->o.argv[0] : "--tid",
                         a->o.argv ? "a command" : "--tid"), 2;
    if (a->every > 0 && (!a->output || !strcmp(a->output, "-")))
        return cmd_error(cmd, "--every: give the folder for the profiles with -o DIR/"), 2;
    if (a->o.argv && (a->o.npids || a->o.ntids))
        return cmd_error(cmd, "%s: -p/--tid and a command are mutually exclusive", a->o.argv[0]), 2;
    if (a->spans && a->every > 0)
        return cmd_error(cmd, "--spans: not with --every (join each profile with ignis convert --join-spans)"), 2;
    if (a->spans && spans_source_refused(cmd, a->spans, a->quiet))
        return 2;
    if (a->o.off_cpu && a->o.wall)
        return cmd_error(cmd, "--off-cpu and --wall: choose one (--wall includes the off-CPU time)"), 2;
    if (!a->output)
        a->output = "ignis.pb.gz";
    if (!a->no_cache && ig_symtab_default_cache_dir(a->cache_dir, sizeof a->cache_dir) == 0)
        a->o.cache_dir = a->cache_dir;
    if (a->every <= 0 && !ig_format_for_path(a->output) && strcmp(a->output, "-") && !is_device_or_fifo(a->output))
        return cmd_error(cmd, "-o %s: unknown extension (use .pb.gz, .folded or .svg)", a->output), 2;
    return -1;
}

/* Returns -1 on success (continue), else the exit status.  The first
 * operand (or "--") ends the options: it is the command to launch. */
static int parse_args(int argc, char **argv, record_args *a)
{
    static const cmd_opt *const tables[] = {record_opts, NULL};
    cmd_opts_init(&a->args, a->cmd, tables, argc, argv, 1);
    for (int id, rc; (id = cmd_opts_next(&a->args)) != CMD_OPTS_END;) {
        if (id == CMD_OPTS_ERROR)
            return 2;
        if (id == OPT_HELP) {
            usage(stdout);
            return 0;
        }
        if ((rc = take_option(a, id, a->args.arg)))
            return rc;
    }
    if (a->args.noperands)
        a->o.argv = a->args.operands;
    return check_args(a);
}

/* Why the recording ended. */
typedef enum { REC_EXITED, REC_DURATION, REC_STOPPED } rec_end;

/* The first stop signal: passed on to a command still running (and every
 * process it started), which then has CMD_STOP_GRACE_S seconds to end.
 * Returns that deadline in seconds since the start, or 0 to stop now. */
static double pass_stop_on(ig_recorder *r, const record_args *a, double secs, bool live)
{
    const ig_record_stats *st = ig_recorder_stats(r);
    if (!ig_recorder_command_alive(r))
        return 0;
    bool forward = cmd_stop_forward(stop_code, stop_sender, st->child);
    if (forward)
        ig_recorder_signal_command(r, stop_signal);
    if (!a->quiet) {
        if (live)
            fprintf(stderr, "\r\033[K");
        cmd_stop_notice(stop_signal, forward, a->o.argv[0], st->child);
    }
    return secs + CMD_STOP_GRACE_S;
}

/* The recorder's span-label notes since the last call, one line each
 * (a note replaced before it was shown is not). */
static void show_span_notes(const ig_record_stats *st, const record_args *a, bool live)
{
    static unsigned shown;
    if (st->span_notes == shown)
        return;
    shown = st->span_notes;
    if (!a->quiet)
        fprintf(stderr, "%signis record: %s\n", live ? "\r\033[K" : "", st->span_note);
}

static rec_end record_loop(ig_recorder *r, const record_args *a, const struct timespec *t0, unsigned *seq)
{
    bool live = !a->quiet && isatty(2);
    double last_status = -1, grace_end = 0, next_interval = a->every;
    rec_end why;
    for (;;) {
        double secs = elapsed_since(t0);
        if (stop_count) {
            if (grace_end == 0 && stop_count == 1)
                grace_end = pass_stop_on(r, a, secs, live);
            if (grace_end == 0 || stop_count > 1 || secs >= grace_end) {
                why = REC_STOPPED;
                break;
            }
        }
        /* Full rings, exits and stop signals end the wait early; the
         * timeout paces the status line, or else drains all rings at the
         * recorder's own pace (each wake-up costs CPU). */
        int timeout = live ? 500 : ig_recorder_drain_period_ms(r);
        double until = grace_end;
        if (!until && a->duration > 0) {
            if (secs >= a->duration) {
                why = REC_DURATION;
                break;
            }
            until = a->duration;
        }
        if (a->every > 0) { /* continuous: hand over a profile per interval */
            if (secs >= next_interval) {
                agent_write_interval(r, a->output, seq, a->quiet || live, a->stream);
                while (next_interval <= secs)
                    next_interval += a->every;
            }
            if (!until || next_interval < until)
                until = next_interval;
        }
        if (until > 0) {
            double left_ms = (until - secs) * 1000.0;
            if (left_ms < timeout)
                timeout = (int)left_ms + 1;
        }
        int alive = ig_recorder_poll(r, timeout);
        show_span_notes(ig_recorder_stats(r), a, live);
        if (alive <= 0) {
            why = REC_EXITED;
            break;
        }
        if (live && secs - last_status >= 0.45) {
            print_status(ig_recorder_stats(r), secs);
            last_status = secs;
        }
    }
    if (live)
        fprintf(stderr, "\r\033[K");
    return why;
}

/* A command (or a process it started) still running after a stop
 * signal's grace period gets SIGTERM, and SIGKILL 2 s later; after a
 * second stop signal, SIGKILL at once, repeated as new processes turn up.
 * The command is reaped through the recorder. */
static void end_command(ig_recorder *r)
{
    if (stop_count < 2) {
        ig_recorder_signal_command(r, SIGTERM);
        for (int i = 0; i < 40 && stop_count < 2 && ig_recorder_command_alive(r); i++)
            ig_recorder_poll(r, 50);
    }
    for (int i = 0; i < 100 && ig_recorder_command_alive(r); i++) {
        ig_recorder_signal_command(r, SIGKILL);
        ig_recorder_poll(r, 50);
    }
}

/* The exit status with a command (cmd/stop.h): the command's, or 0 when
 * -d ended the recording while it ran. */
static int command_status(const ig_record_stats *st, rec_end why)
{
    if (st->child_status < 0)
        return why == REC_DURATION ? 0 : CMD_EXIT_FAILED;
    return cmd_exit_status(st->child_status);
}

/* True when --alloc appears among the options (before any "--"). */
static bool wants_alloc(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--alloc"))
            return true;
    return false;
}

static void record_args_free(record_args *a)
{
    free(a->pids);
    free(a->tids);
    cmd_opts_free(&a->args);
}

int cmd_record(int argc, char **argv)
{
    return record_main("record", argc, argv);
}

int record_main(const char *cmd, int argc, char **argv)
{
    if (wants_alloc(argc, argv))
        return ig_alloc_record_main(argc, argv);
    record_args a = {.o = IG_RECORD_OPTS_INIT, .cmd = cmd};
    a.o.span_labels = true;
    a.o.off_cpu_period_ns = 1000000; /* --off-cpu-period 1ms */
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        record_args_free(&a);
        return rc;
    }
    sigset_t stops, wait_mask, saved;
    cmd_stop_signals(&stops);
    catch_stops(&stops, true); /* a signal while attaching stops at once after it */
    ig_err err;
    ig_ofile out; /* created before sampling: a bad -o must not cost the run */
    bool made_dir = false; /* --every: removed again (if still empty) when the recording cannot start */
    if (a.every > 0 ? agent_prepare_dir(a.output, &made_dir, &err) != 0 : !ig_ofile_open(&out, a.output, &err)) {
        cmd_error(cmd, "%s", err.msg);
        record_args_free(&a);
        return a.o.argv ? CMD_EXIT_FAILED : 1;
    }
    if (a.every > 0 && a.export_otlp) { /* a bad endpoint must not cost the run either */
        ig_net_send_opts so = {a.o.npids == 1 ? a.o.pids[0] : 0, NULL, false, true, NULL, NULL};
        if (!(a.stream = ig_net_stream_open(&so, 0, a.stream_url, sizeof a.stream_url, &err))) {
            cmd_error(cmd, "--export: %s", err.msg);
            if (made_dir)
                rmdir(a.output);
            record_args_free(&a);
            return a.o.argv ? CMD_EXIT_FAILED : 1;
        }
    }
    struct timespec t0;
    double cpu0 = cpu_seconds();
    sigprocmask(SIG_BLOCK, NULL, &wait_mask); /* the mask during the wait: stops deliverable */
    a.o.poll_sigmask = &wait_mask;
    ig_recorder *r = ig_recorder_new(&a.o, &err); /* a launched command keeps the usual mask */
    catch_stops(&stops, false); /* after the launch: the command kept our dispositions */
    sigprocmask(SIG_BLOCK, &stops, &saved);
    if (!r) {
        sigprocmask(SIG_SETMASK, &saved, NULL);
        if (a.every <= 0)
            ig_ofile_abort(&out);
        else if (made_dir)
            rmdir(a.output);
        cmd_error(cmd, "%s", err.msg);
        int not_run = a.o.argv ? cmd_lookup_status(a.o.argv[0]) : 0;
        rc = !a.o.argv ? 1 : not_run ? not_run : CMD_EXIT_FAILED;
        record_args_free(&a);
        return rc;
    }
    /* A closed stderr (a pipe whose reader is gone) must not cost the
     * profile; set after the launch, so the command keeps its SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &t0); /* -d counts from when sampling began, after the attach */
    const ig_record_stats *st = ig_recorder_stats(r);
    if (!a.quiet) {
        char how[96];
        const char *waits = st->offcpu_bpf ? "each wait drawn at its end" : "every switch-out";
        if (a.o.off_cpu)
            snprintf(how, sizeof how, "off the CPU (%s)", waits);
        else if (a.o.wall)
            snprintf(how, sizeof how, "in wall-clock time (on the CPU at %u Hz, off it: %s)", a.o.freq, waits);
        else
            snprintf(how, sizeof how, "at %u Hz", a.o.freq);
        if (a.o.argv)
            fprintf(stderr, "ignis record: recording %s (pid %d) %s\n", a.o.argv[0], (int)st->child, how);
        else if (a.o.all)
            fprintf(stderr, "ignis record: recording %s%s%s on every CPU %s; Ctrl-C to stop\n",
                    a.o.cgroup ? "cgroup " : a.o.npids ? "the targets and their children" : "every process",
                    a.o.cgroup ? a.o.cgroup : "", a.o.cgroup && a.o.npids ? " (and -p)" : "", how);
        else
            fprintf(stderr, "ignis record: recording %llu threads %s; Ctrl-C to stop\n",
                    (unsigned long long)st->attached, how);
        if ((a.o.off_cpu || a.o.wall) && st->offcpu_engine[0])
            fprintf(stderr, "ignis record: %s\n", st->offcpu_engine);
        if (st->switch_note[0])
            fprintf(stderr, "ignis record: %s\n", st->switch_note);
    }
    unsigned seq = 0;
    rec_end why = record_loop(r, &a, &t0, &seq);
    if (why == REC_STOPPED && ig_recorder_command_alive(r))
        end_command(r);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    double secs = elapsed_since(&t0);
    rc = a.o.argv ? command_status(st, why) : 0;
    bool written;
    if (a.every > 0) { /* the last, partial interval */
        written = agent_write_interval(r, a.output, &seq, a.quiet, a.stream) == 0;
        if (a.stream) {
            ig_otlp_profiles_stats ps;
            ig_net_stream_close(a.stream, 5000, &ps);
            if (!a.quiet || ps.failed || ps.dropped)
                fprintf(stderr, "ignis record: --export: %" PRIu64 " profile%s sent to %s, %" PRIu64 " failed, %"
                        PRIu64 " dropped (queue full, or unsent 5 s after the end)\n", ps.exported,
                        ps.exported == 1 ? "" : "s", a.stream_url, ps.failed, ps.dropped);
        }
    } else {
        ignis_profile *p = ig_recorder_take_profile(r);
        if (a.spans && !ignis_profile_num_samples(p))
            fprintf(stderr, "ignis %s: --spans: no samples to join with %s\n", cmd, a.spans);
        else if (a.spans && cmd_join_spans(cmd, "--spans", a.spans, &p) != 0)
            fprintf(stderr, "ignis %s: --spans: the profile keeps its tid and time_ns labels: join it later "
                            "with `ignis convert %s --spans SRC --join-spans -o OUT`\n", cmd, a.output);
        written = ig_profile_save_to(p, &out, a.output, NULL, NULL, &err) == 0;
        if (!written)
            cmd_error(cmd, "%s", err.msg);
        /* a profile that was not sent is an ignis failure; a command's own
         * failure status is kept (it says more) */
        if (written && a.export_otlp && cmd_record_export(p, &a.o, st, a.quiet) && rc == 0)
            rc = a.o.argv ? CMD_EXIT_FAILED : 1;
        ignis_profile_free(p);
    }
    if (!written)
        rc = a.o.argv ? CMD_EXIT_FAILED : 1;
    ig_record_stats final = *st;
    ig_recorder_free(r); /* also writes the symbol cache back (and ends a command -d left running) */
    if (written && !a.quiet) {
        double cpu = cpu_seconds() - cpu0;
        print_summary(&final, secs, cpu, a.output);
        if (a.o.off_cpu || a.o.wall)
            print_offcpu_summary(&final, cpu);
    }
    if (written && !a.quiet && a.o.all) {
        fprintf(stderr, "  processes         %llu in the table at the end, %llu seen (pruned at exit); caches rebuilt %llu times\n",
                (unsigned long long)final.procs, (unsigned long long)final.procs_seen,
                (unsigned long long)final.cache_trims);
        if (final.procs_swept)
            fprintf(stderr, "  exits lost        %llu processes pruned once gone from /proc (their EXIT record was lost)\n",
                    (unsigned long long)final.procs_swept);
    }
    record_args_free(&a);
    return rc;
}
