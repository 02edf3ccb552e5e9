/*
 * cmd/view.c — `ignis view FILE`, `ignis view --diff BASE NEW` and
 * `ignis view traces.db` / `ignis view --collect` / `ignis view FILE.jsonl`.
 *
 * The viewer loads the profile(s) on a worker thread (viewer/tasks.c).
 * The command waits for that up to 300 ms before it touches the terminal
 * (until the first frame can be drawn: the rest of the work goes on behind
 * the screen), so a small file that cannot be read prints one line and
 * exits 1 without ever opening a screen; a big one opens the screen at
 * once with a progress line (Esc cancels), and a late error closes it and
 * is printed the same way.  A trace store (an SQLite file: the store itself checks its
 * application_id) or OTLP-JSON lines go to the trace views instead
 * (viewer/tmodel.h): a store file is opened read-only and refreshed live
 * while `ignis collect` writes to it; a .jsonl file is imported into a
 * private in-memory store first.  IGNIS_VIEW_BENCH=N replaces the loop
 * with an offscreen benchmark (N keystrokes rendered through curses into
 * /dev/null) that prints the time to the first frame and to the full
 * tree, per keystroke, for callers, search and the top table, and the
 * peak RSS; bench/viewer.sh and bench/traces_view.sh use it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "collect/import.h"
#include "collect/store.h"
#include "exporters/formats.h"
#include "profile/spans.h"
#include "viewer/model.h"
#include "viewer/screen.h"
#include "viewer/tmodel.h"
#include "viewer/tui.h"

/* The OTLP-JSON lines importer (collect/import.c).  Weak, so that this
 * command links in a build without it and says so. */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis view [options] FILE\n"
            "       ignis view [options] --diff BASE NEW\n"
            "       ignis view traces.db | FILE.jsonl [--profile FILE]\n"
            "       ignis view --collect [traces.db]\n\n"
            "Explore a profile (pprof, OTLP profiles, folded stacks, perf script; a file or\n"
            "an http(s):// URL such as http://host:6060/debug/pprof/profile?seconds=30) in\n"
            "the terminal: flame graph, top table, callers/callees, search, filters, export.\n"
            "Or the traces of a trace store (what `ignis collect` writes) or of an\n"
            "OTLP-JSON lines file: trace list, waterfall, span details, operations.\n\n"
            "Options:\n"
            "      --collect         the store `ignis collect` writes by default\n"
            "                        ($IGNIS_TRACE_DB, else ~/.local/share/ignis/traces.db),\n"
            "                        refreshed as spans arrive\n"
            "      --profile FILE    with traces: the profile F opens for the selected span,\n"
            "                        trace or operation (samples labelled with their span\n"
            "                        by `ignis record`; a --wall profile has cpu, off_cpu\n"
            "                        and wall values, s picks one); one with tid and time_ns\n"
            "                        labels (record --spans) is first joined with these\n"
            "                        traces by thread and time, as --join-spans does\n"
            CMD_HELP_DIFF
            CMD_HELP_INPUT
            "  -s, --sort flat|cum   order of the top table (t): self or cumulative value\n"
            CMD_HELP_GRANULARITY
            CMD_HELP_FILTERS
            CMD_HELP_PERCENT
            CMD_HELP_SPANS
            "      --source-path DIRS  where the source view looks for moved files (':'-separated)\n"
            "      --inverted        start with the root at the top (also --icicle)\n"
            "  -h, --help            this help\n\n"
            "Press ? in the viewer for its keys (the same in `ignis top`).\n");
}

struct view_opts {
    cmd_common c;
    const char *source_path, *path, *profile;
    int collect;
    ig_tree_opts fixed; /* the filters no key changes (--hide, --show, ...) */
};

enum { OPT_COLLECT = 1, OPT_SOURCE_PATH, OPT_PROFILE };

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct view_opts *o)
{
    static const cmd_opt own[] = {
        {"collect", 0, CMD_ARG_NONE, 0, OPT_COLLECT},
        {"source-path", 0, CMD_ARG_REQUIRED, 0, OPT_SOURCE_PATH},
        {"profile", 0, CMD_ARG_REQUIRED, 0, OPT_PROFILE},
        {NULL, 0, 0, 0, 0},
    };
    static const cmd_opt *const tables[] = {own, cmd_input_opts, cmd_filter_opts, cmd_percent_opts, cmd_diff_opts,
                                            cmd_sort_opts, cmd_inverted_opts, cmd_granularity_opts, cmd_span_opts, NULL};
    cmd_opts a;
    cmd_opts_init(&a, "view", tables, argc, argv, 0);
    int id, rc = -1;
    while (rc < 0 && (id = cmd_opts_next(&a)) != CMD_OPTS_END) {
        switch (id) {
        case CMD_OPTS_ERROR: rc = 2; break;
        case OPT_COLLECT: o->collect = 1; break;
        case OPT_SOURCE_PATH: o->source_path = a.arg; break;
        case OPT_PROFILE: o->profile = a.arg; break;
        default:
            if (cmd_common_option("view", &o->c, id, a.arg))
                rc = 2;
        }
    }
    if (rc < 0 && o->collect && !o->c.help && a.noperands == 0) {
        cmd_opts_free(&a);
        return -1;
    }
    rc = cmd_one_input("view", &o->c, &a, usage, rc);
    if (rc < 0) {
        o->path = a.operands[0];
        cmd_common_tree_opts(&o->c, &o->fixed);
    }
    cmd_opts_free(&a);
    return rc;
}

static int span_options_given(const cmd_common *c)
{
    return c->nspan_ids || c->trace_id || c->span_name || c->spans_src || c->slow_vs_fast || c->threshold ||
           c->join_spans;
}

/* Options that only mean something for a profile. */
static int profile_options_given(const struct view_opts *o)
{
    const cmd_common *c = &o->c;
    return c->diff || c->value || c->format || c->nactive || c->inverted || c->granularity || c->sort >= 0 ||
           c->normalize || c->relative || o->source_path || span_options_given(c);
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

/* Waits for the viewer's work (polling, so the first frame is seen as
 * soon as it exists); returns the milliseconds since t0. */
static double settle(ig_viewer *v, double t0)
{
    while (ig_viewer_pump(v, 20))
        ;
    return now_ms() - t0;
}

/* Runs the viewer's work until its first frame can be drawn (a tree,
 * perhaps a preview) or the load failed, for at most max_ms; -1: until
 * all of it is done.  The background work after the first tree (the full
 * tree behind a preview, the top table) goes on with the screen open:
 * waiting for it held a big profile's first screen back to the whole
 * 300 ms. */
static void await_first_frame(ig_viewer *v, int max_ms)
{
    if (max_ms < 0) {
        ig_viewer_pump(v, -1);
        return;
    }
    double deadline = now_ms() + max_ms;
    while (!v->tree && !v->quit) {
        int left = (int)(deadline - now_ms());
        if (left <= 0 || !ig_viewer_pump(v, left < 5 ? left : 5))
            break;
    }
}

/* Milliseconds until an action's work is done. */
static double timed_action(ig_viewer *v, int key)
{
    double t0 = now_ms();
    ig_viewer_key(v, key);
    return settle(v, t0);
}

/* Keys of a typical session: move, zoom, back, flip, search as you type,
 * next match.  Then callers of the root's heaviest child and of a frame
 * four levels down, a search and the top table, each timed to the end of
 * its work. */
/* Whether the viewer will find a terminal to draw on (ig_tui_run opens
 * /dev/tty when stdin or stdout is redirected). */
static int have_terminal(void)
{
    if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return 1;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static int run_bench(ig_viewer *v, int n, double t0, double c0)
{
    /* the first frame: a preview tree on a big profile, drawn once */
    double load_ms = -1, load_cpu_ms = -1;
    while (!v->tree && !v->quit) {
        ig_viewer_pump(v, 5);
        if (load_ms < 0 && v->profile) {
            load_ms = now_ms() - t0;
            load_cpu_ms = cpu_ms() - c0;
        }
    }
    if (v->quit) {
        cmd_error("view", "%s", v->fatal ? v->fatal : "cancelled");
        return 1;
    }
    ig_screen scr;
    ig_screen_init(&scr, 120, 40, 1);
    ig_viewer_render(v, &scr);
    double first_ms = now_ms() - t0, first_cpu_ms = cpu_ms() - c0;
    int partial = v->tree_partial; /* drawn while the file was still read */
    while (v->tree_partial && !v->quit) { /* until the first frame of the whole file */
        ig_viewer_pump(v, 5);
        if (load_ms < 0 && v->profile) {
            load_ms = now_ms() - t0;
            load_cpu_ms = cpu_ms() - c0;
        }
    }
    double whole_ms = now_ms() - t0;
    double full_ms = settle(v, t0);
    double open_cpu_ms = cpu_ms() - c0;
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
    settle(v, now_ms());
    if (rc == 0)
        rc = ig_tui_bench(v, 300, 80, keys, n, &wide, &err);
    settle(v, now_ms());
    free(keys);
    if (rc < 0) {
        cmd_error("view", "%s", err.msg);
        ig_screen_free(&scr);
        return 1;
    }
    ig_viewer_set_search(v, NULL);
    settle(v, now_ms());
    while (v->nzoom > 1)
        ig_viewer_zoom_out(v);
    v->sel = 0;
    ig_viewer_navigate(v, IG_NAV_CHILD);
    double callers_root_ms = timed_action(v, 'c');
    size_t callees_nodes = v->callees ? ig_tree_size(v->callees) : 0;
    ig_viewer_zoom_out(v);
    v->sel = 0;
    for (int i = 0; i < 4; i++)
        ig_viewer_navigate(v, IG_NAV_CHILD);
    double callers_mid_ms = timed_action(v, 'c');
    ig_viewer_zoom_out(v);
    double t1 = now_ms();
    ig_viewer_set_search(v, "func0001");
    double search_ms = settle(v, t1);
    ig_viewer_set_search(v, NULL);
    double top_ms = timed_action(v, 't');
    ig_viewer_render(v, &scr);
    ig_screen_free(&scr);
    printf("load_ms=%.1f load_cpu_ms=%.1f first_frame_ms=%.1f first_frame_cpu_ms=%.1f first_frame_partial=%d"
           " whole_frame_ms=%.1f open_ms=%.1f open_cpu_ms=%.1f",
           load_ms, load_cpu_ms, first_ms, first_cpu_ms, partial, whole_ms, full_ms, open_cpu_ms);
    printf(" key_ms_80x24=%.2f key_max_ms_80x24=%.2f key_cpu_ms_80x24=%.2f key_cpu_max_ms_80x24=%.2f",
           small.wall_mean, small.wall_max, small.cpu_mean, small.cpu_max);
    printf(" key_ms_300x80=%.2f key_max_ms_300x80=%.2f key_cpu_ms_300x80=%.2f key_cpu_max_ms_300x80=%.2f",
           wide.wall_mean, wide.wall_max, wide.cpu_mean, wide.cpu_max);
    printf(" callers_root_ms=%.1f callers_mid_ms=%.1f callees_nodes=%zu search_ms=%.1f top_table_ms=%.1f"
           " tree_nodes=%zu peak_rss_mb=%.1f\n",
           callers_root_ms, callers_mid_ms, callees_nodes, search_ms, top_ms, v->tree ? ig_tree_size(v->tree) : 0,
           (double)peak_rss_kb() / 1024.0);
    return 0;
}

/* ---- trace stores and OTLP-JSON files ------------------------------------------- */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

enum { INPUT_PROFILE = 0, INPUT_STORE, INPUT_OTLP_JSON };

/* What a file holds, from its first bytes: an SQLite database is a trace
 * store, OTLP-JSON lines start with {"resourceSpans"; an empty or missing
 * .db is a store too, so that the store explains the problem.  The
 * application_id is not read from the header here: while `ignis collect`
 * has a new store open, the page that carries it is still in the WAL and
 * the file's header says 0.  Opening the store checks it through SQLite
 * and refuses another application's database with one line. */
static int input_kind(const char *path)
{
    struct stat st;
    if (!strcmp(path, "-") || ig_is_url(path)) /* a URL is a profile, whatever it ends with */
        return INPUT_PROFILE;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) /* a FIFO is read once, by the profile loader */
        return has_suffix(path, ".jsonl") ? INPUT_OTLP_JSON : INPUT_PROFILE;
    char head[512];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head - 1, f);
        fclose(f);
    }
    head[n] = 0;
    if (n >= 16 && !memcmp(head, "SQLite format 3", 16))
        return INPUT_STORE;
    if (n == 0 && has_suffix(path, ".db"))
        return INPUT_STORE;
    if (has_suffix(path, ".jsonl"))
        return INPUT_OTLP_JSON;
    size_t i = strspn(head, " \t\r\n");
    if (head[i] == '{' && strstr(head + i, "\"resourceSpans\""))
        return INPUT_OTLP_JSON;
    return INPUT_PROFILE;
}

/* OTLP-JSON lines files (`ignis view FILE.jsonl`): lines up to the
 * receiver's default body limit; the first few bad lines are named on
 * stderr before the screen opens, the rest only counted. */
#define IMPORT_MAX_LINE ((size_t)16 << 20)

static void import_warn(void *ctx, const char *msg)
{
    unsigned *warned = ctx;
    if ((*warned)++ < 5)
        fprintf(stderr, "ignis view: %s\n", msg);
}

static ig_store *open_traces(const char *path, int kind, int collect, ig_err *err)
{
    if (kind == INPUT_OTLP_JSON) {
        ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, err);
        ig_import_stats st = {0};
        unsigned warned = 0;
        const ig_import_limits lim = {IMPORT_MAX_LINE, IG_IMPORT_MEMORY_MAX_BYTES, IG_IMPORT_MEMORY_MAX_SPANS};
        if (s && ig_import_jsonl_limited(s, path, &lim, import_warn, &warned, &st, err) < 0) {
            ig_store_close(s);
            return NULL;
        }
        if (s && st.bad_lines + st.rejected)
            fprintf(stderr, "ignis view: %s: %" PRIu64 " spans read; %" PRIu64 " lines skipped, %" PRIu64
                    " spans rejected\n", path, st.spans, st.bad_lines, st.rejected);
        return s;
    }
    ig_store *s = ig_store_open(path, IG_STORE_READONLY, err);
    if (!s && collect && access(path, F_OK) != 0)
        ig_err_set(err, "%s: no trace store yet (start `ignis collect`, which creates it)", path);
    return s;
}

/* The trace views under the curses loop; live stores are polled once a second. */
typedef struct trace_ui {
    ig_tview *v;
    double last_poll;
} trace_ui;

static void tui_render(void *m, ig_screen *s) { ig_tview_render(((trace_ui *)m)->v, s); }
static void tui_key(void *m, int key) { ig_tview_key(((trace_ui *)m)->v, key); }
static void tui_click(void *m, int row, int col, int dbl) { ig_tview_click(((trace_ui *)m)->v, row, col, dbl); }
static int tui_done(void *m) { return ((trace_ui *)m)->v->quit; }
static int tui_pump(void *m, int wait_ms) { return ig_tview_pump(((trace_ui *)m)->v, wait_ms); }

static void tui_tick(void *m)
{
    trace_ui *u = m;
    double now = now_ms();
    if (now - u->last_poll < 1000)
        return;
    u->last_poll = now;
    ig_tview_poll(u->v);
}

static ig_tui_app trace_app(trace_ui *u)
{
    ig_tui_app app = {u, tui_render, tui_key, tui_click, tui_done, 0, NULL, tui_pump};
    if (u->v->live) {
        app.tick_ms = 250;
        app.tick = tui_tick;
    }
    return app;
}

/* One action and the redraw after it: wall and CPU milliseconds. */
typedef struct cost {
    double wall, cpu;
} cost;

static cost timed(ig_tview *v, ig_screen *s, int key)
{
    double t0 = now_ms(), c0 = cpu_ms();
    if (key)
        ig_tview_key(v, key);
    ig_tview_render(v, s);
    return (cost){now_ms() - t0, cpu_ms() - c0};
}

static int bench_keys(trace_ui *u, const int *session, size_t len, int n, const char *what)
{
    int *keys = malloc((size_t)n * sizeof *keys);
    for (int i = 0; i < n; i++)
        keys[i] = session[(size_t)i % len];
    ig_tui_app app = trace_app(u);
    app.tick = NULL;
    ig_tui_timing small, wide;
    ig_err err;
    int rc = ig_tui_bench_app(&app, 80, 24, keys, n, &small, &err);
    if (rc == 0)
        rc = ig_tui_bench_app(&app, 300, 80, keys, n, &wide, &err);
    free(keys);
    if (rc < 0) {
        cmd_error("view", "%s", err.msg);
        return -1;
    }
    printf(" %s_key_ms_80x24=%.2f %s_key_max_ms_80x24=%.2f", what, small.wall_mean, what, small.wall_max);
    printf(" %s_key_ms_300x80=%.2f %s_key_max_ms_300x80=%.2f", what, wide.wall_mean, what, wide.wall_max);
    return 0;
}

/* The trace views' benchmark (bench/traces_view.sh): the trace list is
 * open (open_ms); then the biggest trace's waterfall, keys in it and in
 * the list (rendered through curses offscreen), the operations and one
 * operation's histogram and bucket. */
static int run_trace_bench(trace_ui *u, int n, cost open)
{
    static const int waterfall_keys[] = {IG_KEY_DOWN, IG_KEY_DOWN, IG_KEY_DOWN, IG_KEY_PGDN, IG_KEY_PGDN,
                                         IG_KEY_UP, ' ', ' ', IG_KEY_RIGHT, IG_KEY_LEFT, 'z', '+', '-', '>',
                                         '<', '0', IG_KEY_END, IG_KEY_HOME, '/', 'w', 'o', 'r', 'k',
                                         IG_KEY_ENTER, 'n', 'n', 'N', IG_KEY_DOWN};
    static const int list_keys[] = {IG_KEY_DOWN, IG_KEY_DOWN, IG_KEY_PGDN, IG_KEY_PGDN, IG_KEY_PGDN, IG_KEY_UP,
                                    IG_KEY_PGUP, IG_KEY_END, IG_KEY_UP, IG_KEY_HOME, IG_KEY_DOWN};
    ig_tview *v = u->v;
    ig_screen s;
    ig_screen_init(&s, 120, 40, 1);
    ig_tview_render(v, &s);
    double t0 = now_ms();
    ig_tview_set_sort(v, IG_TCOL_SPANS, true);
    ig_tview_render(v, &s);
    double sort_ms = now_ms() - t0;
    const ig_trace_row *r = ig_tview_selected_trace(v);
    unsigned spans = r ? r->span_count : 0;
    cost waterfall = timed(v, &s, IG_KEY_ENTER);
    printf("list_open_ms=%.1f list_open_cpu_ms=%.1f sort_by_spans_ms=%.1f waterfall_ms=%.1f waterfall_cpu_ms=%.1f"
           " waterfall_spans=%u",
           open.wall, open.cpu, sort_ms, waterfall.wall, waterfall.cpu, spans);
    int rc = bench_keys(u, waterfall_keys, sizeof waterfall_keys / sizeof waterfall_keys[0], n, "waterfall");
    while (rc == 0 && v->npages > 1)
        ig_tview_back(v);
    ig_tview_set_sort(v, IG_TCOL_START, true);
    if (rc == 0)
        rc = bench_keys(u, list_keys, sizeof list_keys / sizeof list_keys[0], n, "list");
    if (rc == 0) {
        cost ops = timed(v, &s, 'p');
        size_t nops = ig_tview_page(v)->kind == IG_TP_OPS ? ig_tview_page(v)->ops.ops.n : 0;
        ig_tview_set_sort(v, IG_OCOL_COUNT, true);
        cost hist = timed(v, &s, IG_KEY_ENTER), bucket = timed(v, &s, IG_KEY_ENTER);
        printf(" operations_ms=%.1f operations_cpu_ms=%.1f operations=%zu histogram_ms=%.1f bucket_list_ms=%.1f"
               " traces=%llu spans=%llu peak_rss_mb=%.1f\n",
               ops.wall, ops.cpu, nops, hist.wall, bucket.wall, (unsigned long long)v->summary.traces,
               (unsigned long long)v->summary.spans, (double)peak_rss_kb() / 1024.0);
    }
    ig_screen_free(&s);
    return rc < 0 ? 1 : 0;
}

static int view_traces(const struct view_opts *o, const char *path, int kind)
{
    if (profile_options_given(o)) {
        cmd_error("view", "%s: --diff, --value, --format, the filters, --sort, --granularity, --source-path "
                          "and --inverted are for profiles, not traces", path);
        return 2;
    }
    double t0 = now_ms(), c0 = cpu_ms();
    ig_err err;
    ignis_profile *prof = NULL; /* read first: a bad file is one line before the screen */
    if (o->profile && !(prof = cmd_load_profile("view", o->profile, NULL)))
        return 1;
    uint64_t first, last;
    /* a join that finds nothing leaves the profile as it was: its samples
     * that libignis labelled still open with F */
    if (prof && ig_span_time_range(prof, &first, &last) && cmd_join_spans("view", "--profile", path, &prof) != 0)
        fprintf(stderr, "ignis view: --profile %s: shown with the span labels it has\n", o->profile);
    ig_store *s = open_traces(path, kind, o->collect, &err);
    if (!s) {
        cmd_error("view", "%s", err.msg);
        ignis_profile_free(prof);
        return 1;
    }
    trace_ui u = {ig_tview_new(s, path, &err), 0};
    int rc = 1;
    if (!u.v) {
        cmd_error("view", "%s", err.msg);
        ignis_profile_free(prof);
    } else {
        u.v->live = kind == INPUT_STORE;
        ig_tview_set_profile(u.v, prof, o->profile);
        u.v->flame_threaded = 1;
        const char *bench = getenv("IGNIS_VIEW_BENCH");
        if (bench && atoi(bench) > 0) {
            ig_screen scr;
            ig_screen_init(&scr, 120, 40, 1);
            ig_tview_render(u.v, &scr);
            ig_screen_free(&scr);
            rc = run_trace_bench(&u, atoi(bench), (cost){now_ms() - t0, cpu_ms() - c0});
        } else {
            ig_tui_app app = trace_app(&u);
            if (ig_tui_run_app(&app, &err) < 0)
                cmd_error("view", "%s", err.msg);
            else
                rc = 0;
        }
    }
    ig_tview_free(u.v);
    ig_store_close(s);
    return rc;
}

static int view_profile(struct view_opts *o)
{
    double t0 = now_ms(), c0 = cpu_ms();
    const char *bench = getenv("IGNIS_VIEW_BENCH");
    cmd_common *c = &o->c;
    ignis_profile *pre = NULL, *pre_base = NULL;
    if (o->profile) {
        cmd_error("view", "--profile: only with a trace store or an OTLP-JSON file (the profile the trace "
                          "views' F key opens)");
        return 2;
    }
    if (span_options_given(c)) { /* they need the profile: loaded here, before the screen */
        int src;
        if (!(pre = cmd_load_profile("view", o->path, c->format)))
            return 1;
        if ((src = cmd_apply_spans("view", c, &pre, &pre_base)) != 0) {
            ignis_profile_free(pre);
            ignis_profile_free(pre_base);
            return src;
        }
        if (!pre_base && c->diff && !(pre_base = cmd_load_profile("view", c->diff, c->format))) {
            ignis_profile_free(pre);
            return 1;
        }
        cmd_common_tree_opts(c, &o->fixed);
    }
    ig_viewer_load load = {o->path, c->diff, c->format, c->value, c->focus, c->ignore, c->thread,
                           (ig_granularity)c->granularity, c->inverted, o->source_path};
    load.fixed = &o->fixed;
    load.preloaded = pre;
    load.preloaded_base = pre_base;
    char *title = NULL; /* a slow-vs-fast diff that left spans out says so where the file is named */
    if (c->span_partial) {
        size_t len = strlen(o->path) + strlen(c->span_partial) + 1;
        title = ig_xmalloc(len);
        snprintf(title, len, "%s%s", o->path, c->span_partial);
        load.path = title; /* only a title: the profiles are preloaded */
    }
    ig_viewer *v = ig_viewer_new_loading(&load, 1);
    free(title);
    if (c->sort >= 0)
        v->sort = (ig_top_sort)c->sort;
    /* a quick load (or failure) never opens the screen; without a
     * terminal to draw on, the load's own error (a bad file, a failed
     * fetch) is the one worth reporting, so it is awaited (not by the
     * bench, which times the first frame itself) */
    bool benching = bench && atoi(bench) > 0;
    await_first_frame(v, benching || have_terminal() ? 300 : -1);
    int rc = 1;
    if (v->quit) {
        cmd_error("view", "%s", v->fatal ? v->fatal : "cancelled");
    } else if (benching) {
        rc = run_bench(v, atoi(bench), t0, c0);
    } else {
        ig_err err;
        if (ig_tui_run(v, NULL, &err) < 0)
            cmd_error("view", "%s", err.msg);
        else if (v->fatal)
            cmd_error("view", "%s", v->fatal);
        else
            rc = 0;
    }
    ig_viewer_free(v);
    return rc;
}

int cmd_view(int argc, char **argv)
{
    struct view_opts o = {.c = CMD_COMMON_INIT};
    int rc = parse(argc, argv, &o);
    if (rc < 0 && o.collect) {
        char def[4096];
        const char *store = o.path ? o.path : ig_store_default_path(def, sizeof def);
        if (!store) {
            cmd_error("view", "--collect: no default trace store path (set IGNIS_TRACE_DB or HOME)");
            rc = 1;
        } else {
            rc = view_traces(&o, store, INPUT_STORE);
        }
    } else if (rc < 0) {
        int kind = input_kind(o.path);
        rc = kind != INPUT_PROFILE ? view_traces(&o, o.path, kind) : view_profile(&o);
    }
    cmd_common_free(&o.c);
    return rc;
}
