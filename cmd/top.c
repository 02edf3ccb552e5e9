/*
 * cmd/top.c — `ignis top -p PID`: a live view of a running process.
 *
 * The recorder (profiler/record.h) samples the target; every second its
 * profile is taken and pushed into a sliding window (viewer/live.h) whose
 * merged profile replaces the one the viewer shows.  The viewer keeps its
 * zoom, filters and search across refreshes because it rebuilds by frame
 * path, in the background.  `ignis top` starts on the top table (self and
 * total per function) and has the keys of `ignis view` (t: table / flame
 * graph, f: focus, ...); `r` resets the window, `q` quits and, with -o,
 * writes everything sampled since the start, resets included.  When the
 * target exits, the last window stays on screen.  A stop signal
 * (cmd/stop.h) quits the same way, so -o is written then too: its handler
 * is set before the terminal opens, which keeps ncurses's own away.
 *
 * With -- CMD the command must not draw over the screen: its standard
 * output and error go to a file (--cmd-output, else a new file in
 * $TMPDIR) that `O` shows, and its standard input is /dev/null, so it
 * cannot steal the keys.  While the screen is open our own standard error
 * goes there too; the file is named on screen and again on exit.
 *
 * `ignis top -a` is system-wide, as `record -a` (profiler/syswide.c): one
 * event per CPU follows every process (`--cgroup PATH`: those of a cgroup;
 * `-a -p`: those processes and their children), and the samples carry
 * pid and process labels (the thread picker and --tagfocus see them).
 * The window never freezes then: processes come and go.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
            "       ignis top [options] -- COMMAND [ARGS...]\n"
            "       ignis top [options] -a [--cgroup PATH]\n\n"
            "Live view of the hottest functions of running processes, refreshed\n"
            "every second over a sliding window (like perf top).\n\n"
            "Options:\n"
            "  -p, --pid PIDS       processes to sample (comma-separated)\n"
            "  -a, --all-cpus       every process on every CPU, as record -a (root,\n"
            "                       CAP_PERFMON or perf_event_paranoid <= 0); with -p\n"
            "                       only those and their children\n"
            "      --cgroup PATH    only the tasks of this cgroup (implies -a)\n"
            "  -F, --freq HZ        samples per second per thread (default 99)\n"
            "  -w, --window SECS    length of the sliding window (default 10)\n"
            "  -o, --output FILE    on quit, write everything sampled since the start,\n"
            "                       resets included (pprof, .folded, .svg)\n"
            "      --cmd-output FILE  where the output of -- COMMAND goes (default: a new\n"
            "                       file in $TMPDIR, named on screen; O shows it)\n"
            "      --no-kernel      leave kernel frames out\n"
            "  -h, --help           this help\n\n"
            "Keys: those of `ignis view` (? lists them: t table / flame graph, f focus,\n"
            "/ search, c callers...), plus r to reset the window and O for the\n"
            "command's output.  When the target exits the last window stays.\n");
}

typedef struct top_state {
    ig_recorder *rec;
    ig_live live;
    pid_t pid;
    const char *scope; /* -a: "every process", "cgroup X"; NULL: PID */
    int window;
    int alive;
    int frozen; /* the target exited and its last samples are shown */
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
    char buf[512], who[300];
    if (t->scope)
        snprintf(who, sizeof who, "%s", t->scope);
    else
        snprintf(who, sizeof who, "PID %d", (int)t->pid);
    snprintf(buf, sizeof buf, "%s, last %ds | %llu samples, %llu lost%s", who, t->window,
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

/* Polls the recorder and refreshes once a second; after the target
 * exited, one last refresh takes its final samples and the window then
 * stays as it is.  No refresh while the viewer works on the current
 * profile (the window keeps only the previous one alive). */
static void tick(ig_viewer *v, void *ctx)
{
    top_state *t = ctx;
    if (top_stop)
        v->quit = 1;
    if (t->alive) {
        int rc = ig_recorder_poll(t->rec, 0);
        if (rc <= 0) {
            t->alive = 0;
            ig_viewer_message(v, rc < 0 ? 1 : 0, "%s; the last window stays, q quits",
                              rc < 0 ? "sampling failed" : "the target exited");
        }
    }
    if (t->frozen || ig_viewer_running(v))
        return;
    double now = now_ms();
    if (now - t->last_ms >= 1000 || !t->alive) {
        t->last_ms = now;
        refresh(v, t);
        t->frozen = !t->alive;
    }
}

static int key(ig_viewer *v, int k, void *ctx)
{
    top_state *t = ctx;
    if (v->mode == IG_MODE_HELP || v->mode == IG_MODE_PICK || k != 'r')
        return 0;
    if (ig_viewer_running(v)) {
        ig_viewer_message(v, 0, "busy; r again in a moment");
        return 1;
    }
    ig_live_reset(&t->live);
    refresh(v, t);
    ig_viewer_message(v, 0, "reset: the window starts again (-o still gets everything)");
    return 1;
}

struct top_opts {
    const char *pids, *output, *cmd_output, *cgroup;
    unsigned freq;
    int window, no_kernel, all;
    char **argv;
};

enum { OPT_PID = 1, OPT_FREQ, OPT_WINDOW, OPT_OUTPUT, OPT_NO_KERNEL, OPT_CMD_OUTPUT, OPT_HELP, OPT_ALL, OPT_CGROUP };

/* Returns -1 to go on, else the exit status; -- COMMAND (or the first
 * operand) ends the options. */
static int parse(int argc, char **argv, struct top_opts *o, cmd_opts *a)
{
    static const cmd_opt own[] = {
        {"pid", 'p', CMD_ARG_REQUIRED, 0, OPT_PID},
        {"freq", 'F', CMD_ARG_REQUIRED, 0, OPT_FREQ},
        {"window", 'w', CMD_ARG_REQUIRED, 0, OPT_WINDOW},
        {"output", 'o', CMD_ARG_REQUIRED, 0, OPT_OUTPUT},
        {"no-kernel", 0, CMD_ARG_NONE, 0, OPT_NO_KERNEL},
        {"cmd-output", 0, CMD_ARG_REQUIRED, 0, OPT_CMD_OUTPUT},
        {"help", 'h', CMD_ARG_NONE, 0, OPT_HELP},
        {"all-cpus", 'a', CMD_ARG_NONE, 0, OPT_ALL},
        {"cgroup", 0, CMD_ARG_REQUIRED, 0, OPT_CGROUP},
        {NULL, 0, 0, 0, 0},
    };
    static const cmd_opt *const tables[] = {own, NULL};
    cmd_opts_init(a, "top", tables, argc, argv, 1);
    char *end;
    for (int id; (id = cmd_opts_next(a)) != CMD_OPTS_END;) {
        switch (id) {
        case CMD_OPTS_ERROR: return 2;
        case OPT_PID: o->pids = a->arg; break;
        case OPT_OUTPUT: o->output = a->arg; break;
        case OPT_NO_KERNEL: o->no_kernel = 1; break;
        case OPT_CMD_OUTPUT: o->cmd_output = a->arg; break;
        case OPT_ALL: o->all = 1; break;
        case OPT_CGROUP: o->cgroup = a->arg, o->all = 1; break;
        case OPT_FREQ:
            o->freq = (unsigned)strtoul(a->arg, &end, 10);
            if (!*a->arg || *end || o->freq == 0 || o->freq > IG_RECORD_MAX_FREQ)
                return cmd_usage_error("top", a->spelled, "'%s' is not a rate between 1 and %u", a->arg,
                                       IG_RECORD_MAX_FREQ);
            break;
        case OPT_WINDOW:
            o->window = (int)strtol(a->arg, &end, 10);
            if (!*a->arg || *end || o->window < 1 || o->window > IG_LIVE_MAX_SLOTS)
                return cmd_usage_error("top", a->spelled, "'%s' is not a number of seconds (1-%d)", a->arg,
                                       IG_LIVE_MAX_SLOTS);
            break;
        case OPT_HELP: usage(stdout); return 0;
        }
    }
    if (a->noperands)
        o->argv = a->operands;
    if (o->all && o->argv)
        return cmd_usage_error("top", o->argv[0], "-a takes -p or --cgroup, not a command");
    if (!o->all && !o->pids == !o->argv)
        return cmd_usage_error("top", o->pids ? "-p" : "-p PID", "%s", o->pids ? "give -p PID or -- COMMAND, not both"
                                                                               : "give -p PID or -- COMMAND");
    if (o->cmd_output && !o->argv)
        return cmd_usage_error("top", "--cmd-output", "only with -- COMMAND");
    if (o->output && !ig_format_for_path(o->output))
        return cmd_usage_error("top", "-o", "%s: unknown extension (use .pb.gz, .folded or .svg)", o->output);
    return -1;
}

static int write_session(top_state *t, const char *path)
{
    ignis_profile *last = ig_recorder_take_profile(t->rec);
    ig_profile_merge_into(t->live.session, last);
    ignis_profile_free(last);
    if (ignis_profile_num_values(t->live.session) == 0) { /* nothing ever came: keep the value types */
        ignis_profile *p = ig_recorder_take_profile(t->rec);
        ig_profile_merge_into(t->live.session, p);
        ignis_profile_free(p);
    }
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

/* The command's standard streams while the recorder starts it. */
typedef struct cmd_io {
    char path[4096];
    int saved[3]; /* our stdin, stdout, stderr */
} cmd_io;

/* Points stdin at /dev/null and stdout and stderr at the output file, so
 * the command started next inherits them; ours come back with
 * cmd_io_restore.  Returns 0 or -1 with err set. */
static int cmd_io_redirect(cmd_io *io, const char *path, ig_err *err)
{
    int fd;
    if (path) {
        snprintf(io->path, sizeof io->path, "%s", path);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    } else {
        const char *dir = getenv("TMPDIR");
        snprintf(io->path, sizeof io->path, "%s/ignis-top-XXXXXX.log", dir && *dir ? dir : "/tmp");
        fd = mkostemps(io->path, 4, O_CLOEXEC);
    }
    if (fd < 0)
        return ig_err_set(err, "--cmd-output: %s: %s", io->path, strerror(errno));
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (int i = 0; i < 3; i++)
        io->saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
    if (null < 0 || io->saved[0] < 0 || io->saved[1] < 0 || io->saved[2] < 0 || dup2(null, 0) < 0 ||
        dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
        int e = errno;
        for (int i = 0; i < 3; i++)
            if (io->saved[i] >= 0)
                dup2(io->saved[i], i);
        close(fd);
        if (null >= 0)
            close(null);
        return ig_err_set(err, "cannot redirect the command's output: %s", strerror(e));
    }
    close(fd);
    close(null);
    return 0;
}

/* Gives stream i back (0, 1, 2), or all three with -1. */
static void cmd_io_restore(cmd_io *io, int i)
{
    for (int k = 0; k < 3; k++)
        if ((i < 0 || i == k) && io->saved[k] >= 0) {
            fflush(k == 1 ? stdout : stderr);
            dup2(io->saved[k], k);
            if (i < 0 || i == k) {
                close(io->saved[k]);
                io->saved[k] = -1;
            }
        }
}

static int run(top_state *t, const struct top_opts *o, cmd_io *io)
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
    v->threaded = 1;
    set_title(v, t);
    ig_viewer_show_top(v);
    if (io) {
        v->output_path = io->path;
        ig_viewer_message(v, 0, "the command's output goes to %s (O shows it)", io->path);
    }
    ig_tui_hooks hooks = {100, tick, key, t};
    int rc = 0;
    if (ig_tui_run(v, &hooks, &err) < 0) {
        if (io)
            cmd_io_restore(io, 2);
        cmd_error("top", "%s", err.msg);
        rc = 1;
    }
    ig_viewer_free(v);
    if (io) {
        cmd_io_restore(io, 2);
        fprintf(stderr, "ignis top: the command's output is in %s\n", io->path);
    }
    if (rc == 0 && o->output)
        rc = write_session(t, o->output);
    return rc;
}

static int top(const struct top_opts *o);

int cmd_top(int argc, char **argv)
{
    struct top_opts o = {NULL, NULL, NULL, NULL, IG_RECORD_DEFAULT_FREQ, 10, 0, 0, NULL};
    cmd_opts args; /* o.argv points into its operands */
    int rc = parse(argc, argv, &o, &args);
    if (rc < 0)
        rc = top(&o);
    cmd_opts_free(&args);
    return rc;
}

static int top(const struct top_opts *op)
{
    struct top_opts o = *op;
    int rc;
    top_state t = {0};
    ig_record_opts ro = IG_RECORD_OPTS_INIT;
    pid_t *pids = NULL;
    if (o.pids) {
        int n = ig_parse_pid_list(o.pids, &pids);
        if (n <= 0) {
            return cmd_usage_error("top", "-p", "'%s' is not a list of process ids", o.pids);
        }
        ro.pids = pids;
        ro.npids = (size_t)n;
        t.pid = pids[0];
    }
    ro.argv = o.argv;
    ro.freq = o.freq;
    ro.no_kernel = o.no_kernel;
    ro.all = o.all;
    ro.cgroup = o.cgroup;
    char scope[300];
    if (o.all) {
        snprintf(scope, sizeof scope, "%s%s%s", o.cgroup ? "cgroup " : o.pids ? "PIDs and children " : "every process",
                 o.cgroup ? o.cgroup : o.pids ? o.pids : "", o.cgroup && o.pids ? " (and -p)" : "");
        t.scope = scope;
    }
    sigset_t stops;
    cmd_stop_signals(&stops);
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&stops, sig) == 1)
            sigaction(sig, &sa, NULL);
    ig_err err;
    cmd_io io = {.saved = {-1, -1, -1}};
    if (o.argv && cmd_io_redirect(&io, o.cmd_output, &err) < 0) {
        cmd_error("top", "%s", err.msg);
        free(pids);
        return 1;
    }
    t.rec = ig_recorder_new(&ro, &err);
    /* our stdin and stdout come back for the screen; stderr stays in the
     * file while the screen is open (a warning must not draw over it) */
    if (o.argv)
        cmd_io_restore(&io, 0), cmd_io_restore(&io, 1);
    if (!t.rec) {
        if (o.argv)
            cmd_io_restore(&io, 2);
        cmd_error("top", "%s", err.msg);
        free(pids);
        return 1;
    }
    if (!t.pid)
        t.pid = ig_recorder_stats(t.rec)->child;
    t.window = o.window;
    t.alive = 1;
    ig_live_init(&t.live, o.window);
    rc = run(&t, &o, o.argv ? &io : NULL);
    ig_recorder_free(t.rec);
    ig_live_free(&t.live);
    free(pids);
    return rc;
}
