/*
 * tests/viewer/test_tasks.c — long work on the viewer's worker thread
 * (viewer/tasks.c, viewer/job.c), as the terminal drives it.
 *
 * A test hook holds each job before it starts, so the screen can be read
 * while the work "runs": the progress line is there, keys other than Esc
 * are refused, Esc cancels and puts the view back (building the old tree
 * again when it had to be freed), background refreshes leave the keys
 * alone, and loading shows its progress before the first frame.  Nothing
 * waits for a fixed time: the hook signals when a job is held and the test
 * releases it.  Also run under ThreadSanitizer (make check-tsan).
 */
#include "tests/viewer/helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "exporters/formats.h"
#include "viewer/job.h"
#include "viewer/model.h"
#include "viewer/screen.h"
#include "viewer/tasks.h"

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static int held, released;

/* Holds a job until the test releases it or the viewer cancels it. */
static void hold(ig_progress *pr)
{
    pthread_mutex_lock(&hold_lock);
    held++;
    pthread_cond_broadcast(&hold_cond);
    while (!released && !ig_progress_cancelled(pr)) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 5 * 1000000L; /* the cancel flag has no condition variable: look again soon */
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&hold_cond, &hold_lock, &t);
    }
    pthread_mutex_unlock(&hold_lock);
}

static void wait_held(int n)
{
    pthread_mutex_lock(&hold_lock);
    while (held < n)
        pthread_cond_wait(&hold_cond, &hold_lock);
    pthread_mutex_unlock(&hold_lock);
}

static void release(void)
{
    pthread_mutex_lock(&hold_lock);
    released = 1;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_lock);
}

static int setup(void **state)
{
    (void)state;
    held = released = 0;
    ig_job_test_hold = hold;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ig_job_test_hold = NULL;
    ig_viewer_test_partial = NULL;
    return 0;
}

/* main;a;b 50 / main;a;c 30 / main;d 20 */
static const char *const simple[] = {"main;a;b 50", "main;a;c 30", "main;d 20", NULL};

static ig_viewer *threaded_viewer(ignis_profile *p)
{
    ig_job_test_hold = NULL; /* the first tree is built at once */
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
    assert_non_null(v);
    v->threaded = 1;
    ig_job_test_hold = hold;
    return v;
}

static void type(ig_viewer *v, const char *s)
{
    for (; *s; s++)
        ig_viewer_key(v, *s == '\n' ? IG_KEY_ENTER : (unsigned char)*s);
}

static int row_has(ig_screen *s, int row, const char *text)
{
    char *r = ig_screen_row(s, row);
    int hit = strstr(r, text) != NULL;
    free(r);
    return hit;
}

static int screen_has(ig_screen *s, const char *text)
{
    for (int r = 0; r < s->h; r++)
        if (row_has(s, r, text))
            return 1;
    return 0;
}

static void test_rebuild_shows_progress_and_cancels(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(simple);
    ig_viewer *v = threaded_viewer(p);
    ig_screen s;
    ig_screen_init(&s, 100, 24, 1);
    type(v, "f^c$\n");
    wait_held(1);
    assert_true(ig_viewer_pump(v, 0));
    assert_true(ig_viewer_busy(v));
    ig_viewer_render(v, &s);
    assert_true(row_has(&s, s.h - 1, "(Esc cancels)"));
    assert_true(row_has(&s, 0, "| total 100")); /* the old view stays on screen */
    uint32_t sel = v->sel;
    ig_viewer_key(v, 'k'); /* refused, and says why */
    assert_int_equal(v->sel, sel);
    ig_viewer_render(v, &s);
    assert_true(row_has(&s, s.h - 1, "(Esc cancels)"));
    ig_viewer_key(v, IG_KEY_ESC);
    assert_false(ig_viewer_busy(v));
    assert_null(v->focus); /* the filter that was being applied is gone */
    assert_string_equal(v->message, "cancelled");
    assert_int_equal(ig_tree_total(v->tree), 100);
    /* the next one runs to the end */
    release();
    type(v, "x^a$\n");
    while (ig_viewer_pump(v, -1))
        ;
    assert_int_equal(ig_tree_total(v->tree), 20);
    assert_string_equal(v->built.ignore, "^a$");
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

/* A tree too big to keep beside its rebuild is freed first; a cancel
 * builds it again, zoom included, and that cannot be cancelled. */
static void test_dropped_tree_comes_back(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(simple);
    ig_viewer *v = threaded_viewer(p);
    v->drop_nodes = 1;
    ig_screen s;
    ig_screen_init(&s, 100, 24, 1);
    type(v, "kk\n"); /* zoom a */
    assert_int_equal(v->nzoom, 2);
    type(v, "f^c$\n");
    wait_held(1);
    assert_null(v->tree);
    ig_viewer_render(v, &s);
    assert_true(row_has(&s, s.h / 2, "(Esc cancels)")); /* nothing to show: the reason, in the middle */
    ig_viewer_key(v, IG_KEY_ESC);
    wait_held(2); /* the old tree is being built again */
    assert_true(ig_viewer_busy(v));
    ig_viewer_key(v, IG_KEY_ESC);
    assert_string_equal(v->message, "putting the previous view back; it cannot be cancelled");
    release();
    while (ig_viewer_pump(v, -1))
        ;
    assert_non_null(v->tree);
    assert_null(v->focus);
    assert_int_equal(ig_tree_total(v->tree), 100);
    assert_int_equal(v->nzoom, 2);
    assert_string_equal(ig_tree_name(v->tree, ig_tree_node_at(v->tree, ig_viewer_zoom_node(v))->name), "a");
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

/* A live refresh builds in the background: the keys go on meanwhile. */
static void test_background_refresh_leaves_keys(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(simple);
    static const char *const more[] = {"main;a;b 5", "main;d 5", NULL};
    ignis_profile *p2 = test_profile(more);
    ig_viewer *v = threaded_viewer(p);
    ig_err err;
    assert_int_equal(ig_viewer_set_profile(v, p2, &err), 0);
    wait_held(1);
    assert_false(ig_viewer_busy(v));
    ig_viewer_key(v, 'k');
    assert_string_equal(ig_viewer_selected_name(v), "main");
    ig_screen s;
    ig_screen_init(&s, 100, 24, 1);
    ig_viewer_render(v, &s);
    assert_true(row_has(&s, s.h - 1, "(in the background)"));
    release();
    while (ig_viewer_pump(v, -1))
        ;
    assert_int_equal(ig_tree_total(v->tree), 10);
    assert_string_equal(ig_viewer_selected_name(v), "main"); /* kept by its path */
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
    ignis_profile_free(p2);
}

/* Callers/callees and the table are foreground work too. */
static void test_sandwich_and_table_wait(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(simple);
    ig_viewer *v = threaded_viewer(p);
    type(v, "kkc");
    wait_held(1);
    assert_int_equal(v->mode, IG_MODE_FLAME); /* until the panes are ready */
    release();
    while (ig_viewer_pump(v, -1))
        ;
    assert_int_equal(v->mode, IG_MODE_SANDWICH);
    assert_string_equal(v->sandwich_fn, "a");
    ig_viewer_key(v, IG_KEY_ESC);
    ig_viewer_key(v, 't');
    while (ig_viewer_pump(v, -1))
        ;
    assert_int_equal(v->mode, IG_MODE_TOP);
    assert_non_null(v->top);
    ig_viewer_free(v);
    ignis_profile_free(p);
}

static char *write_folded(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loading says what it reads before the first frame; Esc gives up; an
 * unreadable file ends in one error. */
static void test_loading(void **state)
{
    (void)state;
    char dir[] = "/tmp/ig-load-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *good = write_folded(dir, "good.folded", "main;a 3\nmain;b 1\n");
    char *bad = write_folded(dir, "bad.folded", "this is no profile\x01\n");
    ig_viewer_load load = {.path = good, .focus = "^a$"};
    ig_viewer *v = ig_viewer_new_loading(&load, 1);
    wait_held(1);
    assert_null(v->tree);
    ig_screen s;
    ig_screen_init(&s, 100, 24, 1);
    ig_viewer_render(v, &s);
    assert_true(screen_has(&s, "reading"));
    assert_true(screen_has(&s, "good.folded"));
    assert_true(screen_has(&s, "(Esc cancels)"));
    release();
    while (ig_viewer_pump(v, -1))
        ;
    assert_non_null(v->tree);
    assert_int_equal(ig_tree_total(v->tree), 3); /* --focus ^a$ */
    ig_viewer_free(v);

    held = released = 0;
    load.path = good;
    v = ig_viewer_new_loading(&load, 1);
    wait_held(1);
    ig_viewer_key(v, IG_KEY_ESC);
    assert_true(v->quit);
    assert_null(v->fatal); /* cancelled, no error */
    ig_viewer_free(v);

    release();
    ig_viewer_load bl = {.path = bad};
    v = ig_viewer_new_loading(&bl, 1);
    while (ig_viewer_pump(v, -1))
        ;
    assert_true(v->quit);
    assert_non_null(v->fatal);
    assert_non_null(strstr(v->fatal, "bad.folded"));
    ig_viewer_free(v);

    ig_viewer_load bv = {.path = good, .value = "nope"};
    v = ig_viewer_new_loading(&bv, 0);
    assert_true(v->quit);
    assert_string_equal(v->fatal, "--value: the profile has no value 'nope'");
    ig_viewer_free(v);
    ig_screen_free(&s);
    unlink(good);
    unlink(bad);
    free(good);
    free(bad);
    rmdir(dir);
}

/* A folded file of several read chunks (over 1.5 MB): stacks of three
 * frames under main, counts 1..7. */
static char *write_chunked_folded(const char *dir)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/big.folded", dir) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 60000; i++)
        fprintf(f, "main;caller_%03d;middle_function_%03d;leaf_function_number_%05d %d\n", i % 37, i % 101, i,
                1 + i % 7);
    fclose(f);
    return path;
}

/* Same shape, names and values, node by node. */
static void assert_same_tree(const ig_tree *a, const ig_tree *b)
{
    assert_int_equal(ig_tree_size(a), ig_tree_size(b));
    for (uint32_t i = 0; i < ig_tree_size(a); i++) {
        const ig_tree_node *x = ig_tree_node_at(a, i), *y = ig_tree_node_at(b, i);
        assert_string_equal(ig_tree_name(a, x->name), ig_tree_name(b, y->name));
        assert_int_equal(x->parent, y->parent);
        assert_int_equal(x->first_child, y->first_child);
        assert_int_equal(x->next_sibling, y->next_sibling);
        assert_int_equal(x->total, y->total);
        assert_int_equal(x->self, y->self);
    }
}

/* A big load shows the part read so far, marked partial, and then becomes
 * exactly the view of the whole file. */
static void test_partial_load_becomes_whole(void **state)
{
    (void)state;
    char dir[] = "/tmp/ig-partial-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = write_chunked_folded(dir);
    ig_err err;
    ignis_profile *whole = NULL;
    assert_int_equal(ig_profile_load(path, NULL, &whole, &err), 0);
    ig_tree_opts o = {.value = -1};
    ig_tree *want = ig_tree_build(whole, &o, &err);
    assert_non_null(want);

    ig_job_test_hold = NULL;
    ig_viewer_test_partial = hold; /* the load stops after its partial view */
    ig_viewer_load load = {.path = path};
    ig_viewer *v = ig_viewer_new_loading(&load, 1);
    while (!v->tree && ig_viewer_pump(v, 10)) /* the model takes the partial view on a pump */
        ;
    assert_true(v->tree_partial);
    wait_held(1); /* the load waits after its partial view */
    assert_null(v->profile);
    int64_t part = ig_tree_total(v->tree);
    assert_true(part > 0);
    assert_true(part < ig_tree_total(want));
    ig_screen s;
    ig_screen_init(&s, 120, 24, 1);
    ig_viewer_render(v, &s);
    assert_true(screen_has(&s, "partial view, reading"));
    assert_true(screen_has(&s, "main"));
    assert_true(screen_has(&s, "(Esc cancels)"));
    release();
    while (ig_viewer_pump(v, -1))
        ;
    assert_false(v->quit);
    assert_false(v->tree_partial);
    assert_non_null(v->profile);
    assert_same_tree(v->tree, want);
    ig_viewer_render(v, &s);
    assert_false(screen_has(&s, "partial view"));
    ig_viewer_free(v);

    /* Esc while the partial view is up gives the load up, without an error */
    held = released = 0;
    v = ig_viewer_new_loading(&load, 1);
    while (!v->tree && ig_viewer_pump(v, 10))
        ;
    assert_true(v->tree_partial);
    ig_viewer_key(v, IG_KEY_ESC);
    assert_true(v->quit);
    assert_null(v->fatal);
    ig_viewer_free(v);
    release();

    ig_screen_free(&s);
    ig_tree_free(want);
    ignis_profile_free(whole);
    unlink(path);
    free(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rebuild_shows_progress_and_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_tree_comes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_refresh_leaves_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sandwich_and_table_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_load_becomes_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
