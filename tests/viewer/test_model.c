/*
 * tests/viewer/test_model.c — the viewer model driven by keys, read back
 * from its rendered cell grid; no curses involved.
 *
 * Profiles are small enough that every expected number is worked out by
 * hand from the sample counts in the comments.
 */
#include "tests/viewer/helpers.h"

#include <stdio.h>
#include <unistd.h>

#include "exporters/formats.h"
#include "viewer/model.h"
#include "viewer/screen.h"

/* main;a;b 50 / main;a;c 30 / main;d 20  (total 100) */
static const char *const simple[] = {"main;a;b 50", "main;a;c 30", "main;d 20", NULL};

typedef struct fixture {
    ignis_profile *p, *base;
    ig_viewer *v;
    ig_screen s;
} fixture;

static fixture *open_viewer(const char *const *lines, const char *const *base_lines, int w, int h)
{
    fixture *f = calloc(1, sizeof *f);
    f->p = test_profile(lines);
    f->base = base_lines ? test_profile(base_lines) : NULL;
    ig_err err;
    f->v = ig_viewer_new(f->p, f->base, "test.folded", &err);
    assert_non_null(f->v);
    ig_screen_init(&f->s, w, h, 1);
    ig_viewer_render(f->v, &f->s);
    return f;
}

static void close_viewer(fixture *f)
{
    ig_viewer_free(f->v);
    ignis_profile_free(f->p);
    ignis_profile_free(f->base);
    ig_screen_free(&f->s);
    free(f);
}

static void keys(fixture *f, const char *ks)
{
    for (const char *k = ks; *k; k++)
        ig_viewer_key(f->v, *k == '\n' ? IG_KEY_ENTER : (unsigned char)*k);
    ig_viewer_render(f->v, &f->s);
}

static void key(fixture *f, int k)
{
    ig_viewer_key(f->v, k);
    ig_viewer_render(f->v, &f->s);
}

/* Row of the screen containing text, or -1. */
static int screen_find(fixture *f, const char *text)
{
    for (int r = 0; r < f->s.h; r++) {
        char *row = ig_screen_row(&f->s, r);
        int hit = strstr(row, text) != NULL;
        free(row);
        if (hit)
            return r;
    }
    return -1;
}

static void assert_on_screen(fixture *f, const char *text)
{
    if (screen_find(f, text) < 0) {
        for (int r = 0; r < f->s.h; r++) {
            char *row = ig_screen_row(&f->s, r);
            print_message("|%s|\n", row);
            free(row);
        }
        fail_msg("not on screen: %s", text);
    }
}

static const char *selected(fixture *f)
{
    return ig_viewer_selected_name(f->v);
}

static void test_initial_screen(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    assert_on_screen(f, "ignis view test.folded | samples | total 100");
    /* root at the bottom of the graph (row 21), main above it */
    assert_int_equal(screen_find(f, "main"), 20);
    assert_int_equal(screen_find(f, "root"), 21);
    assert_on_screen(f, " total 100 (100.00% of all) | self 0 (0.00%) | root");
    close_viewer(f);
}

static void test_navigation(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    key(f, IG_KEY_UP);
    assert_string_equal(selected(f), "main");
    key(f, IG_KEY_UP);
    assert_string_equal(selected(f), "a"); /* heaviest child: 80 vs 20 */
    key(f, IG_KEY_RIGHT);
    assert_string_equal(selected(f), "d");
    key(f, IG_KEY_RIGHT);
    assert_string_equal(selected(f), "d"); /* nothing further right */
    keys(f, "h");
    assert_string_equal(selected(f), "a");
    keys(f, "k");
    assert_string_equal(selected(f), "b");
    keys(f, "l");
    assert_string_equal(selected(f), "c");
    assert_on_screen(f, " total 30 (30.00% of all) | self 30 (30.00%) | c");
    keys(f, "jj");
    assert_string_equal(selected(f), "main");
    /* icicle: up goes to the parent */
    keys(f, "ik");
    assert_string_equal(selected(f), "root");
    assert_int_equal(screen_find(f, "root"), 1);
    close_viewer(f);
}

static void test_zoom_stack(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "kk\n"); /* zoom into a (80) */
    assert_int_equal(ig_viewer_zoom_node(f->v), f->v->sel);
    assert_on_screen(f, " total 80 (100.00% zoom, 80.00% all) | self 0 (0.00% zoom) | a");
    assert_on_screen(f, "| zoom 1");
    keys(f, "l"); /* d is outside the zoom: not drawn, a has no right neighbour */
    assert_string_equal(selected(f), "a");
    keys(f, "k");
    assert_string_equal(selected(f), "b");
    assert_on_screen(f, " total 50 (62.50% zoom, 50.00% all) | self 50 (62.50% zoom) | b");
    keys(f, "\n"); /* zoom into b */
    assert_int_equal(f->v->nzoom, 3);
    key(f, IG_KEY_ESC);
    assert_int_equal(f->v->nzoom, 2);
    assert_string_equal(selected(f), "b");
    key(f, IG_KEY_BACKSPACE);
    assert_int_equal(f->v->nzoom, 1);
    assert_string_equal(selected(f), "a");
    assert_on_screen(f, " d ");
    close_viewer(f);
}

/* x;f 10 / y;f;f 20 / y;g 30 / z 40: "f" matches 30 of 100 (the nested f
 * is not counted twice). */
static const char *const searchy[] = {"x;f 10", "y;f;f 20", "y;g 30", "z 40", NULL};

static void test_search(void **state)
{
    (void)state;
    fixture *f = open_viewer(searchy, NULL, 120, 30);
    keys(f, "/^f$\n");
    assert_true(f->v->has_search);
    assert_on_screen(f, "/^f$: matched 30.00% of total / 30.00% of view");
    /* the first match in depth-first order is x;f */
    assert_string_equal(selected(f), "f");
    uint32_t first = f->v->sel;
    keys(f, "n");
    uint32_t second = f->v->sel;
    assert_true(second > first);
    keys(f, "n");
    uint32_t third = f->v->sel;
    assert_true(third > second); /* the nested f */
    keys(f, "n");
    assert_int_equal(f->v->sel, first); /* wraps */
    keys(f, "N");
    assert_int_equal(f->v->sel, third);
    /* zoom into y (total 50): f covers 20 of it */
    f->v->sel = 0; /* root; its heaviest child is y */
    keys(f, "k");
    assert_string_equal(selected(f), "y");
    keys(f, "\n");
    assert_on_screen(f, "matched 30.00% of total / 40.00% of view");
    /* a bad regex is reported and keeps the search there was */
    keys(f, "/(\n");
    assert_true(f->v->has_search);
    assert_string_equal(f->v->search, "^f$");
    assert_on_screen(f, "search: invalid regular expression '('");
    close_viewer(f);
}

static void test_filters(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "f^c$\n");
    assert_on_screen(f, "total 30 | focus=^c$");
    keys(f, "f");
    assert_string_equal(f->v->edit.text, "^c$"); /* the prompt starts with the filter */
    for (int i = 0; i < 3; i++)
        key(f, IG_KEY_BACKSPACE);
    keys(f, "\n");
    assert_null(f->v->focus);
    assert_on_screen(f, "total 100");
    keys(f, "x^a$\n");
    assert_on_screen(f, "total 20 | ignore=^a$");
    keys(f, "x[\n"); /* bad: keeps the previous filter */
    assert_string_equal(f->v->ignore, "^a$");
    assert_on_screen(f, "--ignore");
    close_viewer(f);
}

static void test_thread_and_value_pickers(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    test_add(p, "main;work", (int64_t[]){3, 3000000}, "worker-1");
    test_add(p, "main;io", (int64_t[]){1, 1000000}, "io-thread");
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_non_null(v);
    ig_screen s;
    ig_screen_init(&s, 80, 24, 1);
    assert_int_equal(v->value, 1); /* the last value type by default */
    ig_viewer_key(v, 'T');
    assert_int_equal(v->mode, IG_MODE_PICK);
    assert_int_equal(v->npick, 3);
    assert_string_equal(v->pick_items[0], "(all threads)");
    assert_string_equal(v->pick_items[1], "io-thread");
    ig_viewer_key(v, IG_KEY_DOWN);
    ig_viewer_key(v, IG_KEY_DOWN);
    ig_viewer_key(v, IG_KEY_ENTER);
    assert_string_equal(v->thread, "^worker-1$");
    assert_int_equal(ig_tree_total(v->tree), 3000000);
    ig_viewer_key(v, 's');
    ig_viewer_render(v, &s);
    char *row = ig_screen_row(&s, 2);
    assert_non_null(strstr(row, "samples (count)"));
    free(row);
    ig_viewer_key(v, IG_KEY_UP);
    ig_viewer_key(v, IG_KEY_ENTER);
    assert_int_equal(v->value, 0);
    assert_int_equal(ig_tree_total(v->tree), 3); /* thread filter kept */
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

static void test_top_table(void **state)
{
    (void)state;
    /* flat: b 50, c 30, d 20; cum: main 100, a 80 */
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "t");
    assert_int_equal(f->v->mode, IG_MODE_TOP);
    assert_on_screen(f, "      flat   flat%    sum%        cum    cum%  name");
    assert_int_equal(screen_find(f, "        50  50.00%  50.00%         50  50.00%  b"), 2);
    assert_int_equal(screen_find(f, "        30  30.00%  80.00%         30  30.00%  c"), 3);
    assert_int_equal(screen_find(f, "        20  20.00% 100.00%         20  20.00%  d"), 4);
    keys(f, "o");
    assert_int_equal(screen_find(f, "         0   0.00%   0.00%        100 100.00%  main"), 2);
    assert_on_screen(f, "sorted by cum");
    keys(f, "j\n"); /* a: focus */
    assert_int_equal(f->v->mode, IG_MODE_FLAME);
    assert_string_equal(f->v->focus, "^a$");
    assert_on_screen(f, "total 80 | focus=^a$");
    close_viewer(f);
}

/* f is called from p (10) and q (30); f calls g (25), self 15 */
static const char *const sandwich[] = {"main;p;f 10", "main;q;f;g 25", "main;q;f 5", "main;r 7", NULL};

static void test_sandwich(void **state)
{
    (void)state;
    fixture *f = open_viewer(sandwich, NULL, 100, 30);
    assert_int_equal(ig_viewer_show_sandwich(f->v, "f"), 0);
    ig_viewer_render(f->v, &f->s);
    const ig_tree *up = f->v->callers, *down = f->v->callees;
    const ig_tree_node *fu = ig_tree_node_at(up, ig_tree_node_at(up, 0)->first_child);
    assert_string_equal(ig_tree_name(up, fu->name), "f");
    assert_int_equal(fu->total, 40);
    /* callers: p 10, q 30, each called by main */
    const ig_tree_node *c1 = ig_tree_node_at(up, fu->first_child);
    const ig_tree_node *c2 = ig_tree_node_at(up, c1->next_sibling);
    assert_string_equal(ig_tree_name(up, c1->name), "p");
    assert_int_equal(c1->total, 10);
    assert_string_equal(ig_tree_name(up, c2->name), "q");
    assert_int_equal(c2->total, 30);
    assert_string_equal(ig_tree_name(up, ig_tree_node_at(up, c2->first_child)->name), "main");
    const ig_tree_node *fd = ig_tree_node_at(down, ig_tree_node_at(down, 0)->first_child);
    assert_int_equal(fd->total, 40);
    assert_int_equal(fd->self, 15);
    const ig_tree_node *g = ig_tree_node_at(down, fd->first_child);
    assert_string_equal(ig_tree_name(down, g->name), "g");
    assert_int_equal(g->total, 25);
    assert_on_screen(f, "callers of f");
    assert_on_screen(f, "callees of f");
    /* callers above: "main" is drawn above "q" which is above "f" */
    int rf = screen_find(f, "f    ");
    int rq = screen_find(f, "q  ");
    assert_true(rq >= 0 && rq < rf);
    assert_string_equal(selected(f), "f");
    keys(f, "j");
    assert_string_equal(selected(f), "g");
    key(f, IG_KEY_ESC);
    assert_int_equal(f->v->mode, IG_MODE_FLAME);
    close_viewer(f);
}

static void test_sandwich_from_keys(void **state)
{
    (void)state;
    fixture *f = open_viewer(sandwich, NULL, 100, 30);
    keys(f, "t"); /* by flat: g 25, f 15 (10 under p + 5 under q), r 7 */
    assert_string_equal(ig_top_name(f->v->top, ig_top_row_at(f->v->top, 0)->name), "g");
    assert_string_equal(ig_top_name(f->v->top, ig_top_row_at(f->v->top, 1)->name), "f");
    assert_int_equal(ig_top_row_at(f->v->top, 1)->flat, 15);
    keys(f, "jc");
    assert_int_equal(f->v->mode, IG_MODE_SANDWICH);
    assert_string_equal(f->v->sandwich_fn, "f");
    key(f, IG_KEY_ESC);
    assert_int_equal(f->v->mode, IG_MODE_TOP);
    keys(f, "t"); /* back in the flame graph, the selection is there too */
    assert_int_equal(f->v->sel_pane, IG_PANE_MAIN);
    assert_string_equal(selected(f), "root");
    keys(f, "k");
    assert_string_equal(selected(f), "main");
    close_viewer(f);
}

/* A profile of mixed signs (a diff saved as pprof): shares are of the sum
 * of absolute values (400 here; the values sum to 200), as `go tool pprof
 * -top` and `ignis report` print them, never negative or over 100%. */
static void test_mixed_sign_percentages(void **state)
{
    (void)state;
    static const char *const now[] = {"main;a 300", "main;b -100", NULL};
    fixture *f = open_viewer(now, NULL, 120, 24);
    assert_on_screen(f, "total 200 (50.00% of all) | self 0 (0.00%)");
    keys(f, "t");
    assert_on_screen(f, "       300  75.00%  75.00%        300  75.00%  a");
    assert_on_screen(f, "      -100  25.00%  50.00%       -100  25.00%  b");
    assert_on_screen(f, "         0   0.00%  50.00%        200  50.00%  main");
    close_viewer(f);
}

static void test_diff(void **state)
{
    (void)state;
    /* base: a 50 b 50; new: a 80 b 20 -> a grew (+60%), b shrank (-60%) */
    static const char *const base[] = {"main;a 50", "main;b 50", NULL};
    static const char *const now[] = {"main;a 80", "main;b 20", NULL};
    fixture *f = open_viewer(now, base, 120, 24);
    assert_on_screen(f, "ignis diff");
    const ig_frames *fr = ig_viewer_layout(f->v);
    int seen = 0;
    for (size_t i = 0; i < fr->n; i++) {
        const char *n = ig_tree_name(f->v->tree, ig_tree_node_at(f->v->tree, fr->v[i].node)->name);
        if (!strcmp(n, "a")) {
            assert_int_equal(fr->v[i].style, IG_ST_GROW2);
            seen++;
        } else if (!strcmp(n, "b")) {
            assert_int_equal(fr->v[i].style, IG_ST_SHRINK2);
            seen++;
        } else if (!strcmp(n, "main")) {
            assert_int_equal(fr->v[i].style, IG_ST_SAME);
        }
    }
    assert_int_equal(seen, 2);
    keys(f, "kk");
    assert_on_screen(f, "diff +30.00% (base 50.00%)");
    keys(f, "t");
    assert_on_screen(f, "cum%       dflat       dcum  name");
    assert_on_screen(f, " 80.00%         +30        +30  a");
    assert_on_screen(f, " 20.00%         -30        -30  b");
    assert_on_screen(f, "100.00%           0          0  main");
    /* a diff exports the new side; the SVG carries the comparison */
    char dir[] = "/tmp/ig-diff-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/d.folded", dir);
    assert_int_equal(ig_viewer_export(f->v, path), 0);
    ignis_profile *back;
    ig_err err;
    assert_int_equal(ig_profile_load(path, "folded", &back, &err), 0);
    assert_int_equal(ignis_profile_total(back, 0), 100);
    ignis_profile_free(back);
    unlink(path);
    snprintf(path, sizeof path, "%s/d.svg", dir);
    assert_int_equal(ig_viewer_export(f->v, path), 0);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    fclose(fp);
    unlink(path);
    rmdir(dir);
    close_viewer(f);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

static void test_export_zoomed_view(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "kk\n"); /* zoom a */
    char dir[] = "/tmp/ig-view-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/view.folded", dir);
    keys(f, "e");
    assert_string_equal(f->v->edit.text, "ignis-view.svg");
    while (f->v->edit.len)
        key(f, IG_KEY_BACKSPACE);
    keys(f, path);
    keys(f, "\n");
    assert_on_screen(f, "exported the view to");
    /* the zoomed subtree with its ancestors, nothing of d */
    ignis_profile *back;
    ig_err err;
    assert_int_equal(ig_profile_load(path, "folded", &back, &err), 0);
    assert_int_equal(ignis_profile_total(back, 0), 80);
    assert_int_equal(ignis_profile_num_samples(back), 2);
    ignis_profile_free(back);
    char *text = slurp(path);
    assert_non_null(strstr(text, "main;a;b 50"));
    assert_non_null(strstr(text, "main;a;c 30"));
    assert_null(strstr(text, ";d"));
    unlink(path);
    snprintf(path, sizeof path, "%s/view.svg", dir);
    assert_int_equal(ig_viewer_export(f->v, path), 0);
    text = slurp(path);
    assert_non_null(strstr(text, "<svg"));
    unlink(path);
    snprintf(path, sizeof path, "%s/view.perf", dir);
    assert_int_equal(ig_viewer_export(f->v, path), -1);
    rmdir(dir);
    close_viewer(f);
}

static void test_small_ascii_and_mouse(void **state)
{
    (void)state;
    static const char *const uni[] = {"main;caf\xc3\xa9_very_long_function_name_that_wont_fit 1", "main;z 1", NULL};
    fixture *f = open_viewer(uni, NULL, 40, 10);
    /* the 20-column frame shows 19 code points and an ellipsis, then z */
    assert_on_screen(f, "caf\xc3\xa9_very_long_func\xe2\x80\xa6z");
    ig_screen_free(&f->s);
    ig_screen_init(&f->s, 40, 10, 0);
    ig_viewer_render(f->v, &f->s);
    assert_on_screen(f, "caf?_very_long_func~z");
    ig_screen_free(&f->s);
    ig_screen_init(&f->s, 30, 8, 1);
    ig_viewer_render(f->v, &f->s);
    assert_on_screen(f, "terminal too small (30x8)");
    ig_screen_free(&f->s);
    ig_screen_init(&f->s, 40, 10, 1);
    ig_viewer_render(f->v, &f->s);
    int row = screen_find(f, "z   ");
    ig_viewer_click(f->v, row, 25, 0);
    assert_string_equal(selected(f), "z");
    ig_viewer_click(f->v, row, 25, 1);
    assert_int_equal(ig_viewer_zoom_node(f->v), f->v->sel);
    close_viewer(f);
}

static void test_help_and_quit(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "?");
    assert_on_screen(f, "ignis view: keys");
    keys(f, "x"); /* any key closes the help */
    assert_int_equal(f->v->mode, IG_MODE_FLAME);
    assert_int_equal(f->v->prompt, IG_PROMPT_NONE);
    keys(f, "q");
    assert_true(f->v->quit);
    close_viewer(f);
}

/* A rebuilt profile (live view) keeps the zoom by its path of names. */
static void test_set_profile_keeps_zoom(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 24);
    keys(f, "kk\n");
    static const char *const more[] = {"main;d 5", "main;a;x 1", "main;a;c 9", NULL};
    ignis_profile *p2 = test_profile(more);
    ig_err err;
    assert_int_equal(ig_viewer_set_profile(f->v, p2, &err), 0);
    ig_viewer_render(f->v, &f->s);
    assert_on_screen(f, " total 10 (100.00% zoom, 66.67% all) | self 0 (0.00% zoom) | a");
    ignis_profile_free(f->p);
    f->p = p2;
    close_viewer(f);
}

/* Thousands of pseudo-random keys and clicks over every mode at several
 * sizes: nothing crashes (the suite also runs under ASan/UBSan) and after
 * every key the selection is a drawn frame whenever a graph is shown. */
static void random_session(fixture *f, uint64_t rng)
{
    static const int pool[] = {IG_KEY_UP, IG_KEY_DOWN, IG_KEY_LEFT, IG_KEY_RIGHT, IG_KEY_ENTER, IG_KEY_ESC,
                               IG_KEY_BACKSPACE, IG_KEY_PGUP, IG_KEY_PGDN, IG_KEY_HOME, IG_KEY_END,
                               'h', 'j', 'k', 'l', 'i', 't', 'o', 'c', '/', 'n', 'N', 'f', 'x', 'T',
                               's', '?', 'a', 'b', '.', '*', '(', '^', '$'};
    static const int sizes[][2] = {{80, 24}, {40, 10}, {200, 60}, {20, 5}};
    for (int i = 0; i < 20000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (i % 2500 == 0) {
            const int *sz = sizes[(i / 2500) % 4];
            ig_screen_free(&f->s);
            ig_screen_init(&f->s, sz[0], sz[1], (i / 2500) % 2);
        }
        if (rng % 17 == 0)
            ig_viewer_click(f->v, (int)(rng >> 8) % f->s.h, (int)(rng >> 16) % f->s.w, (rng >> 24) % 2);
        else
            ig_viewer_key(f->v, pool[(rng >> 8) % (sizeof pool / sizeof pool[0])]);
        f->v->quit = 0;
        ig_viewer_render(f->v, &f->s);
        int big = f->s.w >= IG_MIN_W && f->s.h >= IG_MIN_H;
        if (big && (f->v->mode == IG_MODE_FLAME || f->v->mode == IG_MODE_SANDWICH) &&
            f->v->prompt == IG_PROMPT_NONE && ig_frames_find(ig_viewer_layout(f->v), f->v->sel_pane, f->v->sel) < 0)
            fail_msg("key %d: mode %d pane %d sel %u zoom %u: the selection is not drawn", i, f->v->mode,
                     f->v->sel_pane, f->v->sel, ig_viewer_zoom_node(f->v));
    }
}

static void test_random_keys_keep_invariants(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;a;b;c 50", "main;a;k:sys 7", "main;d;j:jit 20", "x;f;f;f 9",
                                        "main;a;b;c;d;e;f;g;h;i;j;k 3", NULL};
    static const char *const base[] = {"main;a;b;c 20", "main;q 30", "x;f 9", NULL};
    fixture *f = open_viewer(lines, NULL, 80, 24);
    random_session(f, 42);
    close_viewer(f);
    f = open_viewer(lines, base, 80, 24);
    random_session(f, 4242);
    close_viewer(f);
}


/* Search as you type: every edit searches; Esc puts the previous search
 * back; smart case (a capital letter makes case count, "(?i)" ignores it). */
static void test_search_as_you_type(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;Hot 30", "main;hot 20", "main;cold 50", NULL};
    fixture *f = open_viewer(lines, NULL, 120, 30);
    keys(f, "/ho");
    assert_int_equal(f->v->prompt, IG_PROMPT_SEARCH);
    assert_true(f->v->has_search); /* before Enter */
    assert_string_equal(f->v->search, "ho");
    assert_true(f->v->search_icase);
    assert_true(f->v->match_ready);
    assert_true(f->v->match_total > 0.499 && f->v->match_total < 0.501); /* Hot and hot: 50 of 100 */
    keys(f, "\n");
    assert_on_screen(f, "/ho: matched 50.00% of total / 50.00% of view (n/N: next/prev; any case)");
    keys(f, "/H");
    assert_false(f->v->search_icase);
    assert_true(f->v->match_total > 0.299 && f->v->match_total < 0.301); /* Hot only */
    key(f, IG_KEY_ESC); /* back to the search before the prompt */
    assert_string_equal(f->v->search, "ho");
    keys(f, "/(?i)HOT\n");
    assert_true(f->v->match_total > 0.499 && f->v->match_total < 0.501);
    /* Up recalls the last search */
    keys(f, "/");
    key(f, IG_KEY_UP);
    assert_string_equal(f->v->edit.text, "(?i)HOT");
    key(f, IG_KEY_ESC);
    close_viewer(f);
}

/* q and Esc close the help; q does not quit there. */
static void test_help_closes_with_q(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 80, 30);
    keys(f, "?");
    assert_on_screen(f, "ignis view: keys (the same in ignis top)");
    assert_on_screen(f, "reset the sliding window (the -o file keeps all)  [top]");
    keys(f, "q");
    assert_false(f->v->quit);
    assert_int_equal(f->v->mode, IG_MODE_FLAME);
    keys(f, "t?");
    key(f, IG_KEY_ESC);
    assert_int_equal(f->v->mode, IG_MODE_TOP);
    key(f, IG_KEY_CTRL_L); /* a redraw changes nothing */
    assert_int_equal(f->v->mode, IG_MODE_TOP);
    close_viewer(f);
}

/* Zoomed, shares are of the zoom and never above 100%: the zoom's
 * ancestors (drawn dimmed) say they contain it. */
static void test_zoom_percentages(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 120, 24);
    keys(f, "kk\n"); /* zoom a (80) */
    keys(f, "j");    /* main, an ancestor: 100 of a zoom of 80 */
    assert_string_equal(selected(f), "main");
    assert_on_screen(f, " total 100 (contains the zoom, 100.00% of all) | self 0 (0.00% of all) | main");
    for (int r = 0; r < f->s.h; r++) {
        char *row = ig_screen_row(&f->s, r);
        assert_null(strstr(row, "125.00%"));
        free(row);
    }
    keys(f, "kk"); /* b: 50 of 80 */
    assert_on_screen(f, " total 50 (62.50% of zoom, 50.00% of all) | self 50 (62.50% of zoom) | b");
    close_viewer(f);
}

/* In a diff the selected frame keeps its diff colour, marked by reverse
 * video and brackets; in the table the deltas keep their colours. */
static void test_diff_selection_keeps_colour(void **state)
{
    (void)state;
    static const char *const base[] = {"main;a 50", "main;b 50", NULL};
    static const char *const now[] = {"main;a 80", "main;b 20", NULL};
    fixture *f = open_viewer(now, base, 120, 24);
    keys(f, "kk");
    assert_string_equal(selected(f), "a");
    int row = screen_find(f, "[a");
    assert_true(row >= 0);
    char *text = ig_screen_row(&f->s, row);
    int col = (int)(strstr(text, "[a") - text);
    free(text);
    const ig_cell *c = ig_screen_cell(&f->s, row, col + 1);
    assert_int_equal(c->style, IG_ST_GROW2); /* a grew: its colour stays */
    assert_true(c->attr & IG_ATTR_REVERSE);
    assert_on_screen(f, "]");
    keys(f, "t");
    row = screen_find(f, "+30        +30  a");
    assert_true(row >= 0);
    text = ig_screen_row(&f->s, row);
    col = (int)(strstr(text, "+30") - text);
    free(text);
    /* the selected row is b or a; a grew, its delta stays red */
    assert_int_equal(ig_screen_cell(&f->s, row, col)->style, IG_ST_GROW2);
    close_viewer(f);
}

/* Long C++ names are folded in frames, the table and the status line; F
 * shows them whole. */
static void test_cxx_names_folded(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;std::vector<int, std::allocator<int> >::push_back(int const&) 10", NULL};
    fixture *f = open_viewer(lines, NULL, 120, 24);
    keys(f, "kk");
    assert_on_screen(f, "| std::vector<\xe2\x80\xa6>::push_back(\xe2\x80\xa6)");
    keys(f, "F");
    assert_on_screen(f, "| std::vector<int, std::allocator<int> >::push_back(int const&)");
    keys(f, "F");
    keys(f, "t");
    assert_on_screen(f, "  std::vector<\xe2\x80\xa6>::push_back(\xe2\x80\xa6)");
    close_viewer(f);
}

/* The status line: numbers first, the name cut to what is left, then the
 * module and file:line of the frame. */
static void test_status_line_order(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_mapping m = {0x1000, 0x2000, 0, ignis_profile_intern(p, "/usr/lib/libwork.so"), 0, true, true, true, true};
    uint32_t mid = ignis_profile_add_mapping(p, &m);
    char longname[200];
    memset(longname, 'w', 120);
    longname[120] = 0;
    uint32_t fmain = ignis_profile_function_named(p, "main", "src/main.c", 3);
    uint32_t fwork = ignis_profile_function_named(p, longname, "src/work.c", 40);
    ignis_line lm = {fmain, 7, 0}, lw = {fwork, 42, 0};
    ignis_location locm = {mid, 0x1010, &lm, 1, IGNIS_FRAME_USER, false};
    ignis_location locw = {mid, 0x1020, &lw, 1, IGNIS_FRAME_USER, false};
    uint32_t locs[2] = {ignis_profile_add_location(p, &locw), ignis_profile_add_location(p, &locm)};
    int64_t val = 5;
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, 2), 0, &val);
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_non_null(v);
    ig_screen s;
    ig_screen_init(&s, 100, 20, 1);
    ig_viewer_key(v, 'k');
    ig_viewer_key(v, 'k');
    ig_viewer_render(v, &s);
    char *row = ig_screen_row(&s, s.h - 2);
    /* numbers whole, the long name cut, the location at the end */
    assert_non_null(strstr(row, " total 5 (100.00% of all) | self 5 (100.00%) | www"));
    assert_non_null(strstr(row, "\xe2\x80\xa6 | libwork.so src/work.c:40"));
    free(row);
    /* by line: the frame's own line */
    ig_viewer_key(v, 'g');
    ig_viewer_render(v, &s);
    row = ig_screen_row(&s, 0);
    assert_non_null(strstr(row, "| by line"));
    free(row);
    ig_viewer_key(v, 'k');
    ig_viewer_key(v, 'k');
    ig_viewer_render(v, &s);
    row = ig_screen_row(&s, s.h - 2);
    assert_non_null(strstr(row, "libwork.so src/work.c:42"));
    free(row);
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

/* g cycles what a frame is: function, line, file, module. */
static void test_granularity_key(void **state)
{
    (void)state;
    fixture *f = open_viewer(simple, NULL, 120, 24);
    keys(f, "g");
    assert_int_equal(f->v->gran, IG_GRAN_LINE);
    keys(f, "g");
    assert_on_screen(f, "| by file");
    assert_on_screen(f, "[no file]"); /* a folded profile knows no files */
    keys(f, "gg");
    assert_int_equal(f->v->gran, IG_GRAN_FUNCTION);
    assert_on_screen(f, "main");
    close_viewer(f);
}

/* L: the selected function's lines with their costs beside the source. */
static void test_source_view(void **state)
{
    (void)state;
    char dir[] = "/tmp/ig-src-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/work.c", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 1; i <= 20; i++)
        fprintf(fp, "line %d of work.c\n", i);
    fclose(fp);
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    uint32_t fmain = ignis_profile_function_named(p, "main", "main.c", 1);
    uint32_t fwork = ignis_profile_function_named(p, "work", path, 10);
    for (int64_t line = 11; line <= 12; line++) {
        ignis_line lm = {fmain, 2, 0}, lw = {fwork, line, 0};
        ignis_location locm = {0, 0x10, &lm, 1, IGNIS_FRAME_USER, false};
        ignis_location locw = {0, 0x20 + (uint64_t)line, &lw, 1, IGNIS_FRAME_USER, false};
        uint32_t locs[2] = {ignis_profile_add_location(p, &locw), ignis_profile_add_location(p, &locm)};
        int64_t val = line == 11 ? 7 : 3;
        ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, 2), 0, &val);
    }
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    ig_screen s;
    ig_screen_init(&s, 100, 24, 1);
    ig_viewer_key(v, 'k');
    ig_viewer_key(v, 'k');
    assert_string_equal(ig_viewer_selected_name(v), "work");
    ig_viewer_key(v, 'L');
    ig_viewer_render(v, &s);
    assert_int_equal(v->mode, IG_MODE_SOURCE);
    int seen = 0;
    for (int r = 0; r < s.h; r++) {
        char *row = ig_screen_row(&s, r);
        if (strstr(row, "       7        7     11  line 11 of work.c"))
            seen |= 1;
        if (strstr(row, "       3        3     12  line 12 of work.c"))
            seen |= 2;
        if (strstr(row, "       .        .     10  line 10 of work.c"))
            seen |= 4;
        if (strstr(row, "flat 10 (100.00%) | cum 10 (100.00%) | work"))
            seen |= 8;
        free(row);
    }
    assert_int_equal(seen, 15);
    assert_string_equal(ig_source_at(v->source, 0)->name, "work");
    ig_viewer_key(v, IG_KEY_ESC);
    assert_int_equal(v->mode, IG_MODE_FLAME);
    /* the root is no function */
    v->sel = 0;
    ig_viewer_key(v, 'L');
    assert_int_equal(v->mode, IG_MODE_FLAME);
    assert_true(v->message_is_error);
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
    unlink(path);
    rmdir(dir);
}

/* Callers/callees of a function with thousands of tiny callees: the tiny
 * ones merge into cut leaves, the totals stay exact. */
static void test_sandwich_cuts_tiny_frames(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    int64_t big = 100000, one = 1;
    test_add(p, "main;f;g", &big, NULL);
    char stack[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(stack, sizeof stack, "main;f;tiny%04d;deeper", i);
        test_add(p, stack, &one, NULL);
    }
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_int_equal(ig_viewer_show_sandwich(v, "f"), 0);
    const ig_tree *down = v->callees;
    const ig_tree_node *fd = ig_tree_node_at(down, ig_tree_node_at(down, 0)->first_child);
    assert_int_equal(fd->total, 105000);
    assert_int_equal(fd->self, 0);
    /* g is kept whole; each tinyNNNN (1 < 105000/4096) is a leaf: "deeper" is cut */
    size_t tiny = 0, deeper = 0;
    for (uint32_t i = 0; i < ig_tree_size(down); i++) {
        const char *n = ig_tree_name(down, ig_tree_node_at(down, i)->name);
        tiny += !strncmp(n, "tiny", 4);
        deeper += !strcmp(n, "deeper");
    }
    assert_int_equal(tiny, 5000);
    assert_int_equal(deeper, 0);
    const ig_tree *up = v->callers;
    assert_int_equal(ig_tree_node_at(up, 0)->total, 105000);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_screen),
        cmocka_unit_test(test_navigation),
        cmocka_unit_test(test_zoom_stack),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_thread_and_value_pickers),
        cmocka_unit_test(test_top_table),
        cmocka_unit_test(test_sandwich),
        cmocka_unit_test(test_sandwich_from_keys),
        cmocka_unit_test(test_mixed_sign_percentages), cmocka_unit_test(test_diff),
        cmocka_unit_test(test_export_zoomed_view),
        cmocka_unit_test(test_small_ascii_and_mouse),
        cmocka_unit_test(test_help_and_quit),
        cmocka_unit_test(test_set_profile_keeps_zoom),
        cmocka_unit_test(test_random_keys_keep_invariants),
        cmocka_unit_test(test_search_as_you_type),
        cmocka_unit_test(test_help_closes_with_q),
        cmocka_unit_test(test_zoom_percentages),
        cmocka_unit_test(test_diff_selection_keeps_colour),
        cmocka_unit_test(test_cxx_names_folded),
        cmocka_unit_test(test_status_line_order),
        cmocka_unit_test(test_granularity_key),
        cmocka_unit_test(test_source_view),
        cmocka_unit_test(test_sandwich_cuts_tiny_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
