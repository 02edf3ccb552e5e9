/*
 * cmd/top.c — `ignis top -p PID`: a live view of a running process.
 *
 * The recorder (profiler/record.h) samples the target; every second its
 * profile is taken and pushed into a sliding window (viewer/live.h) whose
 * merged profile replaces the one the viewer shows.  The viewer keeps its
 * zoom, filters and search across refreshes because it rebuilds by frame
 * path.  `ignis top` starts on the top table (self and total per
 * function); `f` switches between it and the live flame graph, `r`
 * resets the window and the session, `q` quits and, with -o, writes
 * everything sampled since the start (or the last reset).  A stop signal
 * (cmd/stop.h) quits the same way, so -o is written then too: its handler
 * is set before the terminal opens, which keeps ncurses's own away.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/stop.h"
#include "exporters/formats.h"
#include "profiler/record.h"
#include "viewer/live.h"
#include "viewer/model.h"
#include "viewer/tui.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis top [options] -p PID[,PID...]\n"
            "       ignis top [options] -- COMMAND [ARGS...]\n\n"
            "Live view of the hottest functions of running processes, refreshed\n"
            "every second over a sliding window (like perf top).\n\n"
            "Options:\n"
            "  -p, --pid PIDS       processes to sample (comma-separated)\n"
            "  -F, --freq HZ        samples per second per thread (default 99)\n"
            "  -w, --window SECS    length of the sliding window (default 10)\n"
            "  -o, --output FILE    on quit, write everything sampled (pprof, .folded, .svg)\n"
            "      --no-kernel      leave kernel frames out\n"
            "  -h, --help           this help\n\n"
            "Keys: f flame graph / table, r reset, q quit; the keys of `ignis view`\n"
            "(search, zoom, callers, thread and value pickers) work too.\n");
}

typedef struct top_state {
    ig_recorder *rec;
    ig_live live;
    pid_t pid;
    int window;
    int alive;
    double last_ms;
} top_state;

static volatile sig_atomic_t top_stop;

static void on_stop(int sig)
{
    (void)sig;
    top_stop = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void set_title(ig_viewer *v, const top_state *t)
{
    const ig_record_stats *st = ig_recorder_stats(t->rec);
    char buf[256];
    snprintf(buf, sizeof buf, "PID %d, last %ds | %llu samples, %llu lost%s", (int)t->pid, t->window,
             (unsigned long long)st->samples, (unsigned long long)st->lost, t->alive ? "" : " | exited");
    free(v->title);
    v->title = strdup(buf);
}

/* Takes the last second of samples into the window and shows it. */
static void refresh(ig_viewer *v, top_state *t)
{
    ignis_profile *view = ig_live_push(&t->live, ig_recorder_take_profile(t->rec));
    ig_err err;
    if (ig_viewer_set_profile(v, view, &err) < 0)
        ig_viewer_message(v, 1, "%s", err.msg);
    set_title(v, t);
}

static void tick(ig_viewer *v, void *ctx)
{
    top_state *t = ctx;
    if (top_stop)
        v->quit = 1;
    if (t->alive) {
        int rc = ig_recorder_poll(t->rec, 0);
        if (rc <= 0) {
            t->alive = 0;
            ig_viewer_message(v, rc < 0 ? 1 : 0, "%s; q quits",
                              rc < 0 ? "sampling failed" : "the target exited");
        }
    }
    double now = now_ms();
    if (now - t->last_ms >= 1000) {
        t->last_ms = now;
        refresh(v, t);
    }
}

static int key(ig_viewer *v, int k, void *ctx)
{
    top_state *t = ctx;
    if (v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK)
        return 0;
    if (k == 'f') {
        if (v->mode == IG_MODE_TOP) {
            v->mode = IG_MODE_FLAME;
            v->layout_valid = 0;
        } else {
            ig_viewer_show_top(v);
        }
        return 1;
    }
    if (k == 'r') {
        ig_live_reset(&t->live);
        refresh(v, t);
        ig_viewer_message(v, 0, "reset: the window and the session start again");
        return 1;
    }
    return 0;
}

struct top_opts {
    const char *pids, *output;
    unsigned freq;
    int window, no_kernel;
    char **argv;
};

static int parse(int argc, char **argv, struct top_opts *o)
{
    static const struct option longopts[] = {
        {"pid", required_argument, 0, 'p'},    {"freq", required_argument, 0, 'F'},
        {"window", required_argument, 0, 'w'}, {"output", required_argument, 0, 'o'},
        {"no-kernel", no_argument, 0, 'K'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:F:w:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': o->pids = optarg; break;
        case 'o': o->output = optarg; break;
        case 'K': o->no_kernel = 1; break;
        case 'F':
            o->freq = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o->freq == 0 || o->freq > IG_RECORD_MAX_FREQ) {
                cmd_error("top", "--freq: '%s' is not a rate between 1 and %u", optarg, IG_RECORD_MAX_FREQ);
                return 2;
            }
            break;
        case 'w':
            o->window = (int)strtol(optarg, &end, 10);
            if (*end || o->window < 1 || o->window > IG_LIVE_MAX_SLOTS) {
                cmd_error("top", "--window: '%s' is not a number of seconds (1-%d)", optarg, IG_LIVE_MAX_SLOTS);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        o->argv = argv + optind;
    if (!o->pids == !o->argv) {
        cmd_error("top", "give either -p PID or -- COMMAND (see --help)");
        return 2;
    }
    if (o->output && !ig_format_for_path(o->output)) {
        cmd_error("top", "-o: %s: unknown extension (use .pb.gz, .folded or .svg)", o->output);
        return 2;
    }
    return -1;
}

static int write_session(top_state *t, const char *path)
{
    ignis_profile *last = ig_recorder_take_profile(t->rec);
    ig_profile_merge_into(t->live.session, last);
    ignis_profile_free(last);
    ig_err err;
    if (ignis_profile_num_values(t->live.session) == 0 ||
        ig_profile_save(t->live.session, path, NULL, NULL, &err) < 0) {
        cmd_error("top", "%s", ignis_profile_num_values(t->live.session) ? err.msg : "nothing was sampled");
        return 1;
    }
    fprintf(stderr, "ignis top: wrote %s (%zu distinct samples)\n", path,
            ignis_profile_num_samples(t->live.session));
    return 0;
}

static int run(top_state *t, const struct top_opts *o)
{
    /* The first second is collected before the screen opens. */
    double start = now_ms();
    while (t->alive && !top_stop && now_ms() - start < 1000)
        t->alive = ig_recorder_poll(t->rec, 100) > 0;
    ig_err err;
    ig_viewer *v = ig_viewer_new(ig_live_push(&t->live, ig_recorder_take_profile(t->rec)), NULL, "", &err);
    if (!v) {
        cmd_error("top", "%s", err.msg);
        return 1;
    }
    t->last_ms = now_ms();
    v->app = "top";
    set_title(v, t);
    ig_viewer_show_top(v);
    ig_tui_hooks hooks = {100, tick, key, t};
    int rc = 0;
    if (ig_tui_run(v, &hooks, &err) < 0) {
        cmd_error("top", "%s", err.msg);
        rc = 1;
    }
    ig_viewer_free(v);
    if (rc == 0 && o->output)
        rc = write_session(t, o->output);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    struct top_opts o = {NULL, NULL, IG_RECORD_DEFAULT_FREQ, 10, 0, NULL};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    top_state t = {0};
    ig_record_opts ro = IG_RECORD_OPTS_INIT;
    pid_t *pids = NULL;
    if (o.pids) {
        int n = ig_parse_pid_list(o.pids, &pids);
        if (n <= 0) {
            cmd_error("top", "-p: '%s' is not a list of process ids", o.pids);
            return 2;
        }
        ro.pids = pids;
        ro.npids = (size_t)n;
        t.pid = pids[0];
    }
    ro.argv = o.argv;
    ro.freq = o.freq;
    ro.no_kernel = o.no_kernel;
    sigset_t stops;
    cmd_stop_signals(&stops);
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&stops, sig) == 1)
            sigaction(sig, &sa, NULL);
    ig_err err;
    t.rec = ig_recorder_new(&ro, &err);
    if (!t.rec) {
        cmd_error("top", "%s", err.msg);
        free(pids);
        return 1;
    }
    if (!t.pid)
        t.pid = ig_recorder_stats(t.rec)->child;
    t.window = o.window;
    t.alive = 1;
    ig_live_init(&t.live, o.window);
    rc = run(&t, &o);
    ig_recorder_free(t.rec);
    ig_live_free(&t.live);
    free(pids);
    return rc;
}
