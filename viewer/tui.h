/*
 * viewer/tui.h — the curses layer: draws the model's cell grid, maps
 * terminal keys and mouse events to model actions.
 *
 * It drives any model that renders into an ig_screen: the profile viewer
 * (ig_tui_run) and the trace viewer (viewer/tmodel.h) through the same
 * ig_tui_app callbacks, so both share keys, mouse handling and colours.
 */
#ifndef IG_VIEWER_TUI_H
#define IG_VIEWER_TUI_H

#include "utils/err.h"
#include "viewer/model.h"

struct ig_screen;

/* A model the loop drives.  render draws it into the grid; key and click
 * take curses-free key codes (viewer/model.h) and cell coordinates; done
 * says when to leave; tick (optional) runs after every key and at least
 * every tick_ms milliseconds when tick_ms > 0 (input waits no longer). */
typedef struct ig_tui_app {
    void *model;
    void (*render)(void *model, struct ig_screen *s);
    void (*key)(void *model, int key);
    void (*click)(void *model, int row, int col, int dbl);
    int (*done)(void *model);
    int tick_ms;
    void (*tick)(void *model);
    /* optional: long work.  pump finishes what is done (waiting up to
     * wait_ms) and says whether work remains; while it does, the screen is
     * redrawn every 100 ms so its progress moves. */
    int (*pump)(void *model, int wait_ms);
} ig_tui_app;

/* tick is called after every key and at least every tick_ms (live views;
 * it checks the time itself) and may change v.
 * A key hook sees every key first and returns 1 when it consumed it. */
typedef struct ig_tui_hooks {
    int tick_ms;                                  /* 0: no ticks */
    void (*tick)(ig_viewer *v, void *ctx);
    int (*key)(ig_viewer *v, int key, void *ctx);
    void *ctx;
} ig_tui_hooks;

/* True when the locale (set from the environment) uses UTF-8. */
int ig_tui_locale_utf8(void);

/* Runs the interactive loop until the user quits.  Returns 0, or -1 with
 * err set when the terminal cannot be initialised. */
int ig_tui_run(ig_viewer *v, const ig_tui_hooks *hooks, ig_err *err);

/* Runs the interactive loop of any model until app->done says so. */
int ig_tui_run_app(const ig_tui_app *app, ig_err *err);

/* Per-keystroke times of ig_tui_bench, in milliseconds: wall clock and
 * process CPU time (CLOCK_PROCESS_CPUTIME_ID). */
typedef struct ig_tui_timing {
    double wall_mean, wall_max, cpu_mean, cpu_max;
} ig_tui_timing;

/* Benchmark: renders v offscreen (a w x h curses screen writing to
 * /dev/null) after each of nkeys keys and times each keystroke (the
 * model's action plus the redraw).  Returns 0 or -1 with err set. */
int ig_tui_bench(ig_viewer *v, int w, int h, const int *keys, int nkeys, ig_tui_timing *out, ig_err *err);

/* The same benchmark for any model. */
int ig_tui_bench_app(const ig_tui_app *app, int w, int h, const int *keys, int nkeys, ig_tui_timing *out,
                     ig_err *err);

#endif
