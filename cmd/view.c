/*
 * cmd/view.c — `ignis view FILE` and `ignis view --diff BASE NEW`.
 *
 * Loads the profile(s) with the format registry before touching the
 * terminal, so a file that cannot be read prints one line and exits 1
 * without ever opening a screen.  Then hands a viewer model to the curses
 * loop.  IGNIS_VIEW_BENCH=N replaces the loop with an offscreen benchmark
 * (N keystrokes rendered through curses into /dev/null) that prints the
 * open time, the time per keystroke and the peak RSS; bench/viewer.sh
 * uses it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "viewer/model.h"
#include "viewer/tui.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis view [options] FILE\n"
            "       ignis view [options] --diff BASE NEW\n\n"
            "Explore a profile (pprof, folded stacks, perf script) in the terminal:\n"
            "flame graph, top table, callers/callees, search, filters, export.\n\n"
            "Options:\n"
            "  --diff BASE        compare NEW against BASE (colours by growth/shrink)\n"
            "  -s, --value TYPE   value to show (e.g. cpu, samples, alloc_space)\n"
            "  --format FMT       input format: pprof, folded, perf-script (default: detect)\n"
            "  --focus RE         keep only samples with a frame matching RE\n"
            "  --ignore RE        drop samples with a frame matching RE\n"
            "  --thread RE        keep only samples of threads matching RE\n"
            "  --icicle           start with the root at the top\n"
            "  -h, --help         this help\n\n"
            "Press ? in the viewer for its keys.\n");
}

struct view_opts {
    const char *diff, *value, *format, *focus, *ignore, *thread;
    int icicle;
};

static int parse(int argc, char **argv, struct view_opts *o)
{
    static const struct option longopts[] = {
        {"diff", required_argument, 0, 'd'},   {"value", required_argument, 0, 's'},
        {"format", required_argument, 0, 'F'}, {"focus", required_argument, 0, 'f'},
        {"ignore", required_argument, 0, 'x'}, {"thread", required_argument, 0, 'T'},
        {"icicle", no_argument, 0, 'i'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->diff = optarg; break;
        case 's': o->value = optarg; break;
        case 'F': o->format = optarg; break;
        case 'f': o->focus = optarg; break;
        case 'x': o->ignore = optarg; break;
        case 'T': o->thread = optarg; break;
        case 'i': o->icicle = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        cmd_error("view", optind >= argc ? "missing the profile file (see --help)"
                                         : "too many arguments (see --help)");
        return 2;
    }
    return -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Keys of a typical session: move, zoom, back, flip, search, next match. */
static int run_bench(ig_viewer *v, int n, double load_ms, double open_ms, double open_cpu_ms)
{
    static const int session[] = {IG_KEY_UP, IG_KEY_UP, IG_KEY_UP, IG_KEY_RIGHT, IG_KEY_LEFT,
                                  IG_KEY_ENTER, IG_KEY_UP, IG_KEY_UP, IG_KEY_ENTER, IG_KEY_ESC,
                                  IG_KEY_ESC, IG_KEY_DOWN, 'i', 'i', '/', 'f', 'u', 'n', 'c', '0',
                                  IG_KEY_ENTER, 'n',
                                  'n', 'N', IG_KEY_DOWN, IG_KEY_DOWN};
    size_t len = sizeof session / sizeof session[0];
    int *keys = malloc((size_t)n * sizeof *keys);
    for (int i = 0; i < n; i++)
        keys[i] = session[(size_t)i % len];
    ig_err err;
    ig_tui_timing small, wide;
    int rc = ig_tui_bench(v, 80, 24, keys, n, &small, &err);
    if (rc == 0)
        rc = ig_tui_bench(v, 300, 80, keys, n, &wide, &err);
    free(keys);
    if (rc < 0) {
        cmd_error("view", "%s", err.msg);
        return 1;
    }
    double t0 = now_ms();
    ig_viewer_show_top(v);
    double top_ms = now_ms() - t0;
    printf("load_ms=%.1f open_ms=%.1f open_cpu_ms=%.1f", load_ms, open_ms, open_cpu_ms);
    printf(" key_ms_80x24=%.2f key_max_ms_80x24=%.2f key_cpu_ms_80x24=%.2f key_cpu_max_ms_80x24=%.2f",
           small.wall_mean, small.wall_max, small.cpu_mean, small.cpu_max);
    printf(" key_ms_300x80=%.2f key_max_ms_300x80=%.2f key_cpu_ms_300x80=%.2f key_cpu_max_ms_300x80=%.2f",
           wide.wall_mean, wide.wall_max, wide.cpu_mean, wide.cpu_max);
    printf(" top_table_ms=%.1f tree_nodes=%zu peak_rss_mb=%.1f\n", top_ms, ig_tree_size(v->tree),
           (double)peak_rss_kb() / 1024.0);
    return 0;
}

static int apply_options(ig_viewer *v, const struct view_opts *o, const ignis_profile *p)
{
    if (o->value) {
        int vi = ignis_profile_find_value(p, o->value);
        if (vi < 0 || ig_viewer_set_value(v, vi) < 0) {
            cmd_error("view", "--value: the profile has no value '%s'", o->value);
            return -1;
        }
    }
    static const char which[] = {'f', 'x', 'T'};
    const char *re[] = {o->focus, o->ignore, o->thread};
    for (int i = 0; i < 3; i++)
        if (re[i] && ig_viewer_set_filter(v, which[i], re[i]) < 0) {
            cmd_error("view", "%s", v->message);
            return -1;
        }
    v->message[0] = 0;
    v->icicle = o->icicle;
    return 0;
}

int cmd_view(int argc, char **argv)
{
    struct view_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *path = argv[argc - 1];
    double t0 = now_ms(), c0 = cpu_ms();
    ignis_profile *p = NULL, *base = NULL;
    ig_err err;
    if (ig_profile_load(path, o.format, &p, &err) < 0 ||
        (o.diff && ig_profile_load(o.diff, o.format, &base, &err) < 0)) {
        cmd_error("view", "%s", err.msg);
        ignis_profile_free(p);
        return 1;
    }
    double load_ms = now_ms() - t0;
    ig_viewer *v = ig_viewer_new(p, base, path, &err);
    rc = 1;
    if (!v) {
        cmd_error("view", "%s", err.msg);
    } else if (apply_options(v, &o, p) == 0) {
        double open_ms = now_ms() - t0;
        const char *bench = getenv("IGNIS_VIEW_BENCH");
        if (bench && atoi(bench) > 0)
            rc = run_bench(v, atoi(bench), load_ms, open_ms, cpu_ms() - c0);
        else if (ig_tui_run(v, NULL, &err) < 0)
            cmd_error("view", "%s", err.msg);
        else
            rc = 0;
    }
    ig_viewer_free(v);
    ignis_profile_free(p);
    ignis_profile_free(base);
    return rc;
}
