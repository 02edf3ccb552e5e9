/*
 * tests/viewer/test_live.c — profile merging and the sliding window of
 * `ignis top` (viewer/live.c).
 */
#include "tests/viewer/helpers.h"

#include "viewer/live.h"

static ignis_profile *second(const char *stack, int64_t n, const char *thread)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    test_add(p, stack, &n, thread);
    return p;
}

/* Value of the sample whose leaf function is `leaf`, or -1. */
static int64_t value_of(const ignis_profile *p, const char *leaf)
{
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        char buf[128];
        if (!strcmp(ignis_profile_frame_name(p, locs[0], 0, buf, sizeof buf), leaf))
            return s.values[0];
    }
    return -1;
}

static void test_merge_copies_and_sums(void **state)
{
    (void)state;
    ignis_profile *a = second("main;hot", 3, "worker");
    ignis_profile *b = second("main;hot", 4, "worker");
    test_add(b, "main;k:sys_write", (int64_t[]){2}, NULL);
    ignis_profile *dst = ignis_profile_new();
    assert_int_equal(ig_profile_merge_into(dst, a), 0);
    assert_int_equal(ig_profile_merge_into(dst, b), 0);
    assert_int_equal(ignis_profile_num_values(dst), 1);
    assert_int_equal(ignis_profile_num_samples(dst), 2); /* identical stacks merged */
    assert_int_equal(value_of(dst, "hot"), 7);
    assert_int_equal(value_of(dst, "sys_write"), 2);
    assert_int_equal(ignis_profile_total(dst, 0), 9);
    /* the label and the frame kind survive the copy */
    for (size_t i = 0; i < ignis_profile_num_samples(dst); i++) {
        ignis_sample s = ignis_profile_sample(dst, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(dst, s.stack, &n);
        const ignis_location *leaf = ignis_profile_location(dst, locs[0]);
        if (s.values[0] == 7) {
            assert_string_equal(ignis_profile_label_str(dst, s.labels, "thread"), "worker");
            assert_int_equal(leaf->kind, IGNIS_FRAME_USER);
        } else {
            assert_int_equal(s.labels, 0);
            assert_int_equal(leaf->kind, IGNIS_FRAME_KERNEL);
        }
    }
    ignis_profile *other = ignis_profile_new();
    ignis_profile_add_value_type(other, "a", "x");
    ignis_profile_add_value_type(other, "b", "y");
    assert_int_equal(ig_profile_merge_into(dst, other), -1);
    ignis_profile_free(other);
    ignis_profile_free(a);
    ignis_profile_free(b);
    ignis_profile_free(dst);
}

static void test_window_slides(void **state)
{
    (void)state;
    ig_live l;
    ig_live_init(&l, 2);
    ignis_profile *v = ig_live_push(&l, second("main;one", 1, NULL));
    assert_int_equal(ignis_profile_total(v, 0), 1);
    v = ig_live_push(&l, second("main;two", 2, NULL));
    assert_int_equal(ignis_profile_total(v, 0), 3);
    v = ig_live_push(&l, second("main;three", 4, NULL));
    /* the window holds the last two refreshes only */
    assert_int_equal(ignis_profile_total(v, 0), 6);
    assert_int_equal(value_of(v, "one"), -1);
    assert_int_equal(value_of(v, "three"), 4);
    /* the session keeps everything */
    assert_int_equal(ignis_profile_total(l.session, 0), 7);
    /* a reset empties the window, not the session: -o writes everything
     * sampled, reset or not */
    ig_live_reset(&l);
    assert_int_equal(ignis_profile_total(l.session, 0), 7);
    v = ig_live_push(&l, second("main;four", 8, NULL));
    assert_int_equal(ignis_profile_total(v, 0), 8);
    assert_int_equal(ignis_profile_total(l.session, 0), 15);
    assert_int_equal(value_of(l.session, "one"), 1);
    ig_live_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_copies_and_sums),
        cmocka_unit_test(test_window_slides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
