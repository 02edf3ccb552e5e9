/*
 * bench/spanbpf_bench.c — what labelling samples with their span at
 * sample time costs (profiler/spanbpf.c, profiler/bpf/spanctx.bpf.c), run
 * by bench/spanbpf.sh.
 *
 * The target is samples/spans/spanwork -i (fixed work: spans, nested spans,
 * 1 ms spans, work outside spans), sampled at 999 Hz by one inherited
 * cpu-clock event per CPU with the recorder's default user stack copy
 * (16 KiB), into per-CPU rings drained every 50 ms.  Runs come in pairs,
 * without and with the program attached, in alternating order so that load
 * drifting on a shared machine hits both sides alike; reported:
 *   - program: the kernel's own run-time statistics of the program
 *     (BPF_ENABLE_STATS run time / run count): ns per sample;
 *   - sample path: the target's CPU time (the kernel charges the overflow
 *     handler, and so the program, to the interrupted thread when it does
 *     not account IRQ time apart) for the same work with minus without the
 *     program, over the samples taken: us per sample, median of the pairs
 *     (cache and frequency effects of a loaded machine make it noisy; the
 *     line above is the exact one);
 *   - user space: draining the events and joining them with the samples
 *     (ig_spanbpf_drain + ig_spanjoin_take), ns per sample;
 *   - load: the CPU time of ig_spanbpf_new_opts, finding the kernel field
 *     offsets in the kernel's BTF (the first load of a boot) and with them
 *     cached (every later `ignis record`), median of 5 each.
 *
 *   usage: spanbpf_bench SPANWORK PAIRS ROUNDS
 */
#include "profiler/perf.h"
#include "profiler/spanbpf.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 256

typedef struct run_result {
    double cpu_ns; /* the target's user + system time */
    uint64_t samples;
    uint64_t user_ns; /* drain + join */
} run_result;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void push_label(void *ctx, const ig_spanbpf_label *l) { ig_spanjoin_push(ctx, l); }

/* One run of spanwork under the sampling events, with the program or not. */
static int run_once(const char *spanwork, const char *rounds, ig_spanbpf *sb, run_result *out)
{
    const char *tmp = getenv("TMPDIR");
    char logp[4096];
    snprintf(logp, sizeof logp, "%s/ignis-spanbpf-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int lfd = mkstemp(logp);
    if (lfd < 0)
        return -1;
    close(lfd);
    int to[2], from[2];
    if (pipe(to) || pipe(from))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        setenv("IGNIS_TRACE_QUIET", "1", 1);
        execl(spanwork, spanwork, "-l", logp, "-r", rounds, "-t", "2", "-i", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    FILE *in = fdopen(from[0], "r");
    char line[256];
    int rc = -1;
    if (!in || !fgets(line, sizeof line, in)) {
        fprintf(stderr, "spanbpf_bench: %s did not start\n", spanwork);
        goto out;
    }
    ig_err err = {{0}};
    if (sb && ig_spanbpf_add_process(sb, pid, &err) != 0) {
        fprintf(stderr, "spanbpf_bench: %s\n", err.msg);
        goto out;
    }
    ig_perf_opts o = {.freq = 999, .stack_size = 16384, .inherit = true, .mono_clock = true};
    int fds[MAX_CPUS], sinks[MAX_CPUS], ring_cpu[MAX_CPUS];
    ig_ring rings[MAX_CPUS];
    size_t n = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    for (long cpu = 0; cpu < ncpu && n < MAX_CPUS; cpu++) {
        int fd = ig_perf_open(&o, pid, (int)cpu);
        if (fd < 0)
            continue;
        int sink = ig_perf_open_sink((int)cpu, &o);
        if (sink < 0 || ig_ring_map(&rings[n], sink, 256) != 0 || ig_perf_redirect(fd, sink) != 0 ||
            (sb && ig_spanbpf_attach(sb, fd, &err) != 0)) {
            fprintf(stderr, "spanbpf_bench: cannot set up CPU %ld: %s\n", cpu, err.msg[0] ? err.msg : strerror(errno));
            goto out;
        }
        fds[n] = fd;
        sinks[n] = sink;
        ring_cpu[n++] = (int)cpu;
    }
    ig_spanjoin *join = ig_spanjoin_new(0);
    *out = (run_result){0};
    if (write(to[1], "g", 1) != 1)
        goto out;
    for (bool done = false; !done;) {
        struct pollfd p = {fileno(in), POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            if (!fgets(line, sizeof line, in))
                break;
            done = !strncmp(line, "DONE", 4);
        }
        for (size_t i = 0; i < n; i++)
            ig_ring_begin(&rings[i]);
        uint64_t t0 = now_ns();
        if (sb)
            ig_spanbpf_drain(sb, push_label, join);
        out->user_ns += now_ns() - t0;
        for (size_t i = 0; i < n; i++) {
            const struct perf_event_header *h;
            while ((h = ig_ring_next(&rings[i]))) {
                ig_perf_sample ps;
                if (h->type != PERF_RECORD_SAMPLE || ig_perf_parse_sample(h, &ps) != 0)
                    continue;
                out->samples++;
                ig_spanjoin_sample q = {.cpu = (uint32_t)ring_cpu[i], .tid = ps.tid, .time = ps.time,
                                        .ip = ps.ip, .period = ps.period};
                t0 = now_ns();
                if (sb)
                    ig_spanjoin_take(join, &q);
                out->user_ns += now_ns() - t0;
            }
            ig_ring_end(&rings[i]);
        }
    }
    ig_spanjoin_free(join);
    for (size_t i = 0; i < n; i++) {
        ig_ring_unmap(&rings[i]);
        close(sinks[i]);
        close(fds[i]);
    }
    rc = 0;
out:
    close(to[1]);
    if (in)
        fclose(in);
    struct rusage ru;
    int st;
    if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        rc = -1;
    else
        out->cpu_ns = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    unlink(logp);
    return rc;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_ms_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* CPU ms of one load with the cache in dir; -1 if it fails. */
static double load_ms(const char *dir)
{
    ig_spanbpf_opts o = {.cache_dir = dir};
    ig_err err = {{0}};
    double t0 = cpu_ms_self();
    ig_spanbpf *sb = ig_spanbpf_new_opts(&o, &err);
    double t = cpu_ms_self() - t0;
    ig_spanbpf_free(sb);
    return sb ? t : -1;
}

/* Median of 5 loads each: the cache emptied before each (the offsets
 * found in the BTF), then with the cache the last of those filled. */
static void bench_load(void)
{
    char dir[] = "/tmp/ignis-bench-spanbpf-XXXXXX", empty[128], rm[128];
    if (!mkdtemp(dir))
        return;
    snprintf(empty, sizeof empty, "rm -rf '%s/spanbpf'", dir);
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    double t[2][5];
    bool ok = true;
    for (int i = 0; i < 5 && ok; i++)
        ok = system(empty) == 0 && (t[0][i] = load_ms(dir)) >= 0;
    for (int i = 0; i < 5 && ok; i++)
        ok = (t[1][i] = load_ms(dir)) >= 0;
    if (system(rm) != 0)
        fprintf(stderr, "spanbpf_bench: could not remove %s\n", dir);
    if (!ok)
        return;
    qsort(t[0], 5, sizeof t[0][0], cmp_double);
    qsort(t[1], 5, sizeof t[1][0], cmp_double);
    printf("  load: %.1f ms CPU finding the kernel field offsets in its BTF (first load of a boot), "
           "%.1f ms with them cached (every later load); median of 5\n",
           t[0][2], t[1][2]);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: spanbpf_bench SPANWORK PAIRS ROUNDS\n");
        return 2;
    }
    int pairs = atoi(argv[2]);
    if (pairs < 1 || pairs > 100)
        pairs = 5;
    ig_err err = {{0}};
    bench_load();
    ig_spanbpf *sb = ig_spanbpf_new(&err);
    if (!sb) {
        printf("skipped: %s\n", err.msg);
        return 0;
    }
    int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    double slow[100];
    uint64_t samples = 0, user_ns = 0;
    for (int p = 0; p < pairs; p++) {
        run_result with, without;
        bool with_first = p % 2;
        if ((with_first && run_once(argv[1], argv[3], sb, &with) != 0) ||
            run_once(argv[1], argv[3], NULL, &without) != 0 ||
            (!with_first && run_once(argv[1], argv[3], sb, &with) != 0)) {
            fprintf(stderr, "spanbpf_bench: a run failed\n");
            return 1;
        }
        slow[p] = (with.cpu_ns - without.cpu_ns) / (double)(with.samples ? with.samples : 1) / 1000.0;
        samples += with.samples;
        user_ns += with.user_ns;
        printf("  pair %d: target CPU %.0f ms without, %.0f ms with the program, %llu samples\n", p + 1,
               without.cpu_ns / 1e6, with.cpu_ns / 1e6, (unsigned long long)with.samples);
    }
    qsort(slow, (size_t)pairs, sizeof *slow, by_value);
    struct bpf_prog_info info = {0};
    uint32_t len = sizeof info;
    if (stats_fd >= 0 && bpf_obj_get_info_by_fd(ig_spanbpf_prog_fd(sb), &info, &len) == 0 && info.run_cnt)
        printf("program: %.0f ns per sample (kernel run-time stats, %llu runs)\n",
               (double)info.run_time_ns / (double)info.run_cnt, (unsigned long long)info.run_cnt);
    else
        printf("program: run-time stats not available (BPF_ENABLE_STATS: %s)\n", strerror(errno));
    printf("sample path at 999 Hz: %+.2f us of target CPU per sample with the program (median of %d pairs, range "
           "%+.2f .. %+.2f)\n",
           slow[pairs / 2], pairs, slow[0], slow[pairs - 1]);
    printf("user space: %.0f ns per sample to drain its event and join it\n",
           samples ? (double)user_ns / (double)samples : 0.0);
    ig_spanbpf_stats st;
    ig_spanbpf_stats_get(sb, &st);
    printf("events: %llu labelled, %llu outside spans, %llu dropped\n", (unsigned long long)st.labelled,
           (unsigned long long)st.no_span, (unsigned long long)st.dropped);
    if (stats_fd >= 0)
        close(stats_fd);
    ig_spanbpf_free(sb);
    return 0;
}
