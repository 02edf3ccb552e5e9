/*
 * viewer/tui.c — the curses layer of the viewer.
 *
 * It owns no state of its own beyond the terminal: each iteration renders
 * the model into an ig_screen, copies the grid to curses in runs of equal
 * style (addnwstr when the locale is UTF-8, plain bytes otherwise) and
 * lets ncurses send only what changed.  Keys are translated to model key
 * codes, mouse clicks to cell coordinates, KEY_RESIZE to a new grid.  Style
 * classes map to colour pairs: a 256-colour palette when the terminal has
 * one, the eight basic colours otherwise, and attributes alone without
 * colour support.  The loop drives an ig_tui_app (render, key, click,
 * tick), so the profile viewer and the trace viewer share it.  Long work
 * runs on the model's worker thread: after a key the loop waits up to
 * 60 ms for it (quick work shows no progress at all), then redraws every
 * 100 ms while it lasts, so the progress line moves and Esc is read.
 * Ctrl-L repaints the whole terminal.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "viewer/tui.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "viewer/screen.h"
#include "viewer/tasks.h"

int ig_tui_locale_utf8(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

/* ---- colours ---------------------------------------------------------------- */

struct colour { short fg, bg; attr_t attr; };

/* 256-colour palette: fg, bg per style (-1 = default). */
static const struct colour palette256[IG_ST_COUNT] = {
    [IG_ST_NORMAL] = {-1, -1, 0},
    [IG_ST_HEADER] = {231, 24, A_BOLD},
    [IG_ST_STATUS] = {231, 238, 0},
    [IG_ST_PROMPT] = {226, -1, A_BOLD},
    [IG_ST_ERROR] = {196, -1, A_BOLD},
    [IG_ST_SELECTED] = {231, 18, A_BOLD},
    [IG_ST_MATCH] = {16, 207, 0},
    [IG_ST_DIM] = {252, 241, 0},
    [IG_ST_ROOT] = {16, 250, 0},
    [IG_ST_USER0] = {16, 220, 0},
    [IG_ST_USER0 + 1] = {16, 214, 0},
    [IG_ST_USER0 + 2] = {16, 209, 0},
    [IG_ST_USER0 + 3] = {16, 178, 0},
    [IG_ST_USER0 + 4] = {16, 215, 0},
    [IG_ST_USER0 + 5] = {16, 203, 0},
    [IG_ST_KERNEL] = {16, 166, 0},
    [IG_ST_JIT] = {16, 113, 0},
    [IG_ST_INLINED] = {16, 80, 0},
    [IG_ST_SAME] = {16, 252, 0},
    [IG_ST_GROW1] = {16, 224, 0},
    [IG_ST_GROW2] = {16, 210, 0},
    [IG_ST_GROW3] = {231, 160, 0},
    [IG_ST_SHRINK1] = {16, 153, 0},
    [IG_ST_SHRINK2] = {16, 111, 0},
    [IG_ST_SHRINK3] = {231, 27, 0},
    [IG_ST_TABLE_HEADER] = {231, 24, A_BOLD},
    [IG_ST_SVC0] = {16, 75, 0},
    [IG_ST_SVC0 + 1] = {16, 114, 0},
    [IG_ST_SVC0 + 2] = {16, 215, 0},
    [IG_ST_SVC0 + 3] = {16, 176, 0},
    [IG_ST_SVC0 + 4] = {16, 80, 0},
    [IG_ST_SVC0 + 5] = {16, 222, 0},
    [IG_ST_SVC0 + 6] = {16, 147, 0},
    [IG_ST_SVC0 + 7] = {16, 209, 0},
    [IG_ST_REMOVED] = {250, 236, 0},
};

static const struct colour palette8[IG_ST_COUNT] = {
    [IG_ST_NORMAL] = {-1, -1, 0},
    [IG_ST_HEADER] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
    [IG_ST_STATUS] = {COLOR_BLACK, COLOR_WHITE, 0},
    [IG_ST_PROMPT] = {COLOR_YELLOW, -1, A_BOLD},
    [IG_ST_ERROR] = {COLOR_RED, -1, A_BOLD},
    [IG_ST_SELECTED] = {COLOR_WHITE, COLOR_BLACK, A_BOLD | A_REVERSE},
    [IG_ST_MATCH] = {COLOR_BLACK, COLOR_MAGENTA, 0},
    [IG_ST_DIM] = {COLOR_WHITE, COLOR_BLACK, A_DIM},
    [IG_ST_ROOT] = {COLOR_BLACK, COLOR_WHITE, 0},
    [IG_ST_USER0] = {COLOR_BLACK, COLOR_YELLOW, 0},
    [IG_ST_USER0 + 1] = {COLOR_BLACK, COLOR_RED, 0},
    [IG_ST_USER0 + 2] = {COLOR_BLACK, COLOR_YELLOW, 0},
    [IG_ST_USER0 + 3] = {COLOR_BLACK, COLOR_RED, 0},
    [IG_ST_USER0 + 4] = {COLOR_BLACK, COLOR_YELLOW, 0},
    [IG_ST_USER0 + 5] = {COLOR_BLACK, COLOR_RED, 0},
    [IG_ST_KERNEL] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [IG_ST_JIT] = {COLOR_BLACK, COLOR_GREEN, 0},
    [IG_ST_INLINED] = {COLOR_BLACK, COLOR_CYAN, 0},
    [IG_ST_SAME] = {COLOR_BLACK, COLOR_WHITE, 0},
    [IG_ST_GROW1] = {COLOR_BLACK, COLOR_RED, 0},
    [IG_ST_GROW2] = {COLOR_BLACK, COLOR_RED, 0},
    [IG_ST_GROW3] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [IG_ST_SHRINK1] = {COLOR_BLACK, COLOR_CYAN, 0},
    [IG_ST_SHRINK2] = {COLOR_BLACK, COLOR_BLUE, 0},
    [IG_ST_SHRINK3] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
    [IG_ST_TABLE_HEADER] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
    [IG_ST_SVC0] = {COLOR_BLACK, COLOR_CYAN, 0},
    [IG_ST_SVC0 + 1] = {COLOR_BLACK, COLOR_GREEN, 0},
    [IG_ST_SVC0 + 2] = {COLOR_BLACK, COLOR_YELLOW, 0},
    [IG_ST_SVC0 + 3] = {COLOR_BLACK, COLOR_MAGENTA, 0},
    [IG_ST_SVC0 + 4] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
    [IG_ST_SVC0 + 5] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [IG_ST_SVC0 + 6] = {COLOR_BLACK, COLOR_WHITE, 0},
    [IG_ST_SVC0 + 7] = {COLOR_WHITE, COLOR_GREEN, A_BOLD},
    [IG_ST_REMOVED] = {COLOR_WHITE, COLOR_BLACK, A_DIM},
};

static attr_t style_attr[IG_ST_COUNT];

static void setup_colours(void)
{
    int colour = has_colors() && start_color() == OK;
    if (colour)
        use_default_colors();
    const struct colour *pal = colour && COLORS >= 256 ? palette256 : palette8;
    for (int s = 0; s < IG_ST_COUNT; s++) {
        if (!colour) {
            style_attr[s] = s == IG_ST_NORMAL ? A_NORMAL
                            : s == IG_ST_SELECTED ? A_BOLD | A_UNDERLINE
                            : s == IG_ST_MATCH ? A_BOLD : A_REVERSE;
            continue;
        }
        init_pair((short)(s + 1), pal[s].fg, pal[s].bg);
        style_attr[s] = COLOR_PAIR(s + 1) | pal[s].attr;
    }
}

/* ---- drawing ---------------------------------------------------------------- */

static void blit(const ig_screen *s)
{
    wchar_t wbuf[1024];
    char cbuf[1024];
    for (int r = 0; r < s->h; r++) {
        int c = 0;
        while (c < s->w) {
            const ig_cell *row = &s->cells[(size_t)r * (size_t)s->w];
            uint8_t st = row[c].style, at = row[c].attr;
            int n = 0;
            /* The bottom-right cell would scroll the screen: leave it. */
            int end = r == s->h - 1 ? s->w - 1 : s->w;
            while (c + n < end && row[c + n].style == st && row[c + n].attr == at && n < 1023) {
                wbuf[n] = (wchar_t)row[c + n].ch;
                cbuf[n] = row[c + n].ch < 0x80 ? (char)row[c + n].ch : '?';
                n++;
            }
            if (n == 0)
                break;
            attrset(style_attr[st] | (at & IG_ATTR_REVERSE ? A_REVERSE : 0) | (at & IG_ATTR_BOLD ? A_BOLD : 0));
            if (s->utf8)
                mvaddnwstr(r, c, wbuf, n);
            else
                mvaddnstr(r, c, cbuf, n);
            c += n;
        }
    }
    attrset(A_NORMAL);
}

static void draw(const ig_tui_app *app, ig_screen *s)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (w != s->w || h != s->h) {
        int utf8 = s->utf8;
        ig_screen_free(s);
        ig_screen_init(s, w, h, utf8);
    }
    app->render(app->model, s);
    blit(s);
    wnoutrefresh(stdscr);
    doupdate();
}

static int translate_key(int ch)
{
    switch (ch) {
    case KEY_UP: return IG_KEY_UP;
    case KEY_DOWN: return IG_KEY_DOWN;
    case KEY_LEFT: return IG_KEY_LEFT;
    case KEY_RIGHT: return IG_KEY_RIGHT;
    case KEY_PPAGE: return IG_KEY_PGUP;
    case KEY_NPAGE: return IG_KEY_PGDN;
    case KEY_HOME: return IG_KEY_HOME;
    case KEY_END: return IG_KEY_END;
    case KEY_ENTER: case '\r': case '\n': return IG_KEY_ENTER;
    case KEY_BACKSPACE: case 127: return IG_KEY_BACKSPACE;
    case KEY_DC: return IG_KEY_DELETE;
    default: return ch;
    }
}

static void handle_mouse(const ig_tui_app *app)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
        app->click(app->model, ev.y, ev.x, 1);
    else if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED))
        app->click(app->model, ev.y, ev.x, 0);
    else if (ev.bstate & BUTTON4_PRESSED)
        app->key(app->model, IG_KEY_UP);
#ifdef BUTTON5_PRESSED
    else if (ev.bstate & BUTTON5_PRESSED)
        app->key(app->model, IG_KEY_DOWN);
#endif
}

/* Home, End and Delete as the common terminals send them, whatever TERM
 * says (a tmux or screen pane often runs with another terminal's TERM):
 * an unknown sequence would reach the prompt as a lone Esc. */
static void define_keys(void)
{
    static const struct { const char *seq; int key; } keys[] = {
        {"\033[1~", KEY_HOME}, {"\033[7~", KEY_HOME}, {"\033[H", KEY_HOME}, {"\033OH", KEY_HOME},
        {"\033[4~", KEY_END},  {"\033[8~", KEY_END},  {"\033[F", KEY_END},  {"\033OF", KEY_END},
        {"\033[3~", KEY_DC},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (key_defined(keys[i].seq) <= 0)
            define_key(keys[i].seq, keys[i].key);
}

static void setup_terminal(void)
{
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    define_keys();
    set_escdelay(25);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
              | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(300);
    setup_colours();
}

/* ---- the profile viewer as an app ------------------------------------------ */

typedef struct viewer_app {
    ig_viewer *v;
    const ig_tui_hooks *hooks;
} viewer_app;

static void viewer_render(void *m, ig_screen *s) { ig_viewer_render(((viewer_app *)m)->v, s); }
static void viewer_click(void *m, int row, int col, int dbl) { ig_viewer_click(((viewer_app *)m)->v, row, col, dbl); }
static int viewer_done(void *m) { return ((viewer_app *)m)->v->quit; }
static int viewer_pump(void *m, int wait_ms) { return ig_viewer_pump(((viewer_app *)m)->v, wait_ms); }

/* A key hook sees every key first, outside prompts. */
static void viewer_key(void *m, int key)
{
    viewer_app *a = m;
    if (a->hooks && a->hooks->key && a->v->prompt == IG_PROMPT_NONE && a->hooks->key(a->v, key, a->hooks->ctx))
        return;
    ig_viewer_key(a->v, key);
}

static void viewer_tick(void *m)
{
    viewer_app *a = m;
    a->hooks->tick(a->v, a->hooks->ctx);
}

static ig_tui_app viewer_as_app(viewer_app *a)
{
    ig_tui_app app = {a, viewer_render, viewer_key, viewer_click, viewer_done, 0, NULL, viewer_pump};
    if (a->hooks && a->hooks->tick) {
        app.tick = viewer_tick;
        app.tick_ms = a->hooks->tick_ms;
    }
    return app;
}

int ig_tui_run(ig_viewer *v, const ig_tui_hooks *hooks, ig_err *err)
{
    viewer_app a = {v, hooks};
    ig_tui_app app = viewer_as_app(&a);
    return ig_tui_run_app(&app, err);
}

/* ---- the loop ------------------------------------------------------------------ */

int ig_tui_run_app(const ig_tui_app *app, ig_err *err)
{
    int utf8 = ig_tui_locale_utf8();
    /* `ignis view - < file` or a redirected stdout: talk to the terminal. */
    FILE *in = stdin, *out = stdout, *tty = NULL;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        tty = fopen("/dev/tty", "r+");
        if (!tty)
            return ig_err_set(err, "/dev/tty: no terminal to draw on");
        in = isatty(STDIN_FILENO) ? stdin : tty;
        out = isatty(STDOUT_FILENO) ? stdout : tty;
    }
    SCREEN *scr = newterm(NULL, out, in);
    if (!scr) {
        if (tty)
            fclose(tty);
        return ig_err_set(err, "cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
    }
    set_term(scr);
    setup_terminal();
    ig_screen s;
    ig_screen_init(&s, COLS, LINES, utf8);
    int idle_timeout = app->tick && app->tick_ms > 0 ? app->tick_ms : -1;
    while (!app->done(app->model)) {
        int working = app->pump && app->pump(app->model, 0);
        if (app->done(app->model)) /* the work just finished may end the app (a load that failed) */
            break;
        timeout(working && (idle_timeout < 0 || idle_timeout > 100) ? 100 : idle_timeout);
        draw(app, &s);
        int ch = getch();
        /* Ticks run whether or not a key came: typing must not stall a
         * live view (the hook checks the time itself). */
        if (app->tick)
            app->tick(app->model);
        if (ch == ERR)
            continue;
        if (ch == KEY_RESIZE)
            continue;
        if (ch == KEY_MOUSE) {
            handle_mouse(app);
        } else {
            if (ch == IG_KEY_CTRL_L)
                clearok(curscr, TRUE);
            app->key(app->model, translate_key(ch));
        }
        if (app->pump)
            app->pump(app->model, 60);
    }
    ig_screen_free(&s);
    endwin();
    delscreen(scr);
    if (tty)
        fclose(tty);
    return 0;
}

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int ig_tui_bench(ig_viewer *v, int w, int h, const int *keys, int nkeys, ig_tui_timing *t, ig_err *err)
{
    viewer_app a = {v, NULL};
    ig_tui_app app = viewer_as_app(&a);
    return ig_tui_bench_app(&app, w, h, keys, nkeys, t, err);
}

int ig_tui_bench_app(const ig_tui_app *app, int w, int h, const int *keys, int nkeys, ig_tui_timing *t,
                     ig_err *err)
{
    int utf8 = ig_tui_locale_utf8();
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    if (!out || !in) {
        if (out) fclose(out);
        if (in) fclose(in);
        return ig_err_set(err, "/dev/null: cannot open");
    }
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr) {
        fclose(out);
        fclose(in);
        return ig_err_set(err, "cannot create an offscreen xterm-256color terminal");
    }
    set_term(scr);
    resizeterm(h, w);
    setup_terminal();
    ig_screen s;
    ig_screen_init(&s, w, h, utf8);
    memset(t, 0, sizeof *t);
    int verbose = getenv("IGNIS_VIEW_BENCH_VERBOSE") != NULL;
    draw(app, &s);
    for (int i = 0; i < nkeys; i++) {
        double t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        app->key(app->model, keys[i]);
        if (app->pump) /* what the terminal loop does: the key's own work, none of a task's */
            app->pump(app->model, 0);
        draw(app, &s);
        double dt = clock_ms(CLOCK_MONOTONIC) - t0, dc = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        t->wall_mean += dt / nkeys;
        t->cpu_mean += dc / nkeys;
        if (dt > t->wall_max)
            t->wall_max = dt;
        if (dc > t->cpu_max)
            t->cpu_max = dc;
        if (verbose)
            fprintf(stderr, "key %d (%c): %.2f ms wall, %.2f ms cpu\n", keys[i],
                    keys[i] >= 32 && keys[i] < 127 ? keys[i] : '?', dt, dc);
    }
    ig_screen_free(&s);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    return 0;
}
