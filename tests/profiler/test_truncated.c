/*
 * tests/profiler/test_truncated.c — the share of a profile in stacks
 * rooted at the synthetic "[truncated]" frame (profile/truncated.h), as
 * `ignis report` and `ignis view` show it in their headers: which stacks
 * count, the sum, the same share after a pprof or folded round trip, and
 * the viewer's header line.  Profiles are written like folded stacks
 * (root first); every expected number follows from the counts given.
 */
#include "tests/viewer/helpers.h"

#include <stdio.h>
#include <unistd.h>

#include "profile/truncated.h"
#include "viewer/model.h"
#include "viewer/screen.h"

/* 25 of 100 under [truncated] */
static const char *const quarter[] = {"[truncated];f 25", "_start;main;g 75", NULL};

static void stacks_rooted_at_truncated_count(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(quarter);
    assert_int_equal(ig_truncated_value(p, 0), 25);
    assert_true(ig_truncated_percent(p, 0) > 24.999 && ig_truncated_percent(p, 0) < 25.001);
    assert_int_equal(ig_truncated_value(p, 1), 0); /* no such value */
    ignis_profile_free(p);
}

/* --per-thread puts the thread's frame above [truncated]. */
static void under_a_thread_frame_too(void **state)
{
    (void)state;
    const char *const lines[] = {"w [12];[truncated];f 10", "w [12];_start;g 30", "[truncated] 10", NULL};
    ignis_profile *p = test_profile(lines);
    assert_int_equal(ig_truncated_value(p, 0), 20);
    assert_true(ig_truncated_percent(p, 0) > 39.999 && ig_truncated_percent(p, 0) < 40.001);
    ignis_profile_free(p);
}

/* Deeper in a stack, or at a mapped location, the name is just a name. */
static void only_the_synthetic_root_counts(void **state)
{
    (void)state;
    const char *const lines[] = {"main;a;[truncated];x 50", "main;b 50", NULL};
    ignis_profile *p = test_profile(lines);
    assert_int_equal(ig_truncated_value(p, 0), 0);
    assert_true(ig_truncated_percent(p, 0) == 0.0);
    ignis_mapping m = {0x1000, 0x2000, 0, ignis_profile_intern(p, "/bin/x"), 0, true, false, false, false};
    ignis_line line = {ignis_profile_function_named(p, IG_TRUNCATED_FRAME, NULL, 0), 0, 0};
    ignis_location loc = {ignis_profile_add_mapping(p, &m), 0x1234, &line, 1, IGNIS_FRAME_USER, false};
    uint32_t id = ignis_profile_add_location(p, &loc);
    uint32_t stack = ignis_profile_add_stack(p, &id, 1);
    int64_t v = 7;
    assert_int_equal(ignis_profile_add_sample(p, stack, 0, &v), 0);
    assert_int_equal(ig_truncated_value(p, 0), 0);
    /* the recorder's own location is the unmapped one */
    id = ig_truncated_location(p);
    assert_int_equal(ignis_profile_location(p, id)->mapping, 0);
    stack = ignis_profile_add_stack(p, &id, 1);
    assert_int_equal(ignis_profile_add_sample(p, stack, 0, &v), 0);
    assert_int_equal(ig_truncated_value(p, 0), 7);
    ignis_profile_free(p);
}

static void empty_and_huge_profiles(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    assert_int_equal(ig_truncated_value(p, 0), 0);
    assert_true(ig_truncated_percent(p, 0) == 0.0);
    ignis_profile_add_value_type(p, "samples", "count");
    assert_true(ig_truncated_percent(p, 0) == 0.0);
    int64_t big[1] = {INT64_MAX - 1};
    test_add(p, "[truncated];a", big, NULL);
    test_add(p, "[truncated];b", big, NULL);
    assert_int_equal(ig_truncated_value(p, 0), INT64_MAX); /* saturated, not wrapped */
    ignis_profile_free(p);
}

/* The share is computed from the profile, so a file read back keeps it. */
static void the_share_survives_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-trunc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    ignis_profile *p = test_profile(quarter);
    const char *names[] = {"out.pb.gz", "out.folded"};
    for (int i = 0; i < 2; i++) {
        char path[128], err[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(ignis_profile_write_file(p, path, NULL, err, sizeof err), 0);
        ignis_profile *q = NULL;
        assert_int_equal(ignis_profile_read_file(path, NULL, &q, err, sizeof err), 0);
        int vi = ignis_profile_default_value(q);
        assert_true(vi >= 0);
        assert_true(ig_truncated_percent(q, (size_t)vi) > 24.999 && ig_truncated_percent(q, (size_t)vi) < 25.001);
        ignis_profile_free(q);
        unlink(path);
    }
    ignis_profile_free(p);
    rmdir(dir);
}

/* The viewer's cached share follows a profile that grows (ignis top). */
static void the_cached_share_follows_the_profile(void **state)
{
    (void)state;
    ignis_profile *p = test_profile(quarter);
    assert_true(ig_truncated_percent_cached(p, 0) > 24.999 && ig_truncated_percent_cached(p, 0) < 25.001);
    int64_t v[1] = {100};
    test_add(p, "_start;main;h", v, NULL);
    assert_true(ig_truncated_percent_cached(p, 0) > 12.499 && ig_truncated_percent_cached(p, 0) < 12.501);
    test_add(p, "[truncated];f", v, NULL); /* an existing sample grows */
    assert_true(ig_truncated_percent_cached(p, 0) > 41.666 && ig_truncated_percent_cached(p, 0) < 41.667);
    ignis_profile_free(p);
}

static char *header_of(const char *const *lines)
{
    ignis_profile *p = test_profile(lines);
    ig_err err;
    ig_viewer *v = ig_viewer_new(p, NULL, "t.folded", &err);
    assert_non_null(v);
    ig_screen s;
    ig_screen_init(&s, 120, 20, 1);
    ig_viewer_render(v, &s);
    char *row = ig_screen_row(&s, 0);
    ig_screen_free(&s);
    ig_viewer_free(v);
    ignis_profile_free(p);
    return row;
}

static void the_viewer_header_shows_it(void **state)
{
    (void)state;
    char *row = header_of(quarter);
    assert_non_null(strstr(row, "| truncated 25.0%"));
    free(row);
    const char *const whole[] = {"_start;main;g 75", NULL};
    row = header_of(whole);
    assert_null(strstr(row, "truncated"));
    free(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stacks_rooted_at_truncated_count),
        cmocka_unit_test(under_a_thread_frame_too),
        cmocka_unit_test(only_the_synthetic_root_counts),
        cmocka_unit_test(empty_and_huge_profiles),
        cmocka_unit_test(the_share_survives_files),
        cmocka_unit_test(the_cached_share_follows_the_profile),
        cmocka_unit_test(the_viewer_header_shows_it),
    };
    return cmocka_run_group_tests_name("truncated", tests, NULL, NULL);
}
