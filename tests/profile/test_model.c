/*
 * tests/profile/test_model.c — the profile model: interning, dedup,
 * merging of identical samples, labels, naming of unnamed frames; pools
 * and tables big enough to live in page blocks (growing, compacting back
 * into the heap, growing again).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ignis/profile.h"
#include "exporters/formats.h" /* ig_profile_compact */

static uint32_t loc_named(ignis_profile *p, const char *name)
{
    return ignis_profile_location_for_function(p, ignis_profile_function_named(p, name, "x.c", 1),
                                               IGNIS_FRAME_USER);
}

static void test_strings_interned(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    assert_int_equal(ignis_profile_intern(p, ""), 0);
    uint32_t a = ignis_profile_intern(p, "main");
    uint32_t b = ignis_profile_intern(p, "work");
    assert_int_not_equal(a, b);
    assert_int_equal(ignis_profile_intern(p, "main"), a);
    assert_int_equal(ignis_profile_intern_n(p, "mainly", 4), a);
    assert_string_equal(ignis_profile_string(p, b), "work");
    assert_string_equal(ignis_profile_string(p, 9999), "");
    /* many strings: ids stay stable and distinct across table growth */
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof buf, "fn%d", i);
        ignis_profile_intern(p, buf);
    }
    assert_int_equal(ignis_profile_num_strings(p), 5003);
    assert_int_equal(ignis_profile_intern(p, "fn4321"), 4321 + 3);
    assert_string_equal(ignis_profile_string(p, a), "main");
    ignis_profile_free(p);
}

static void test_samples_merge(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    assert_int_equal(ignis_profile_add_value_type(p, "samples", "count"), 0);
    assert_int_equal(ignis_profile_add_value_type(p, "cpu", "nanoseconds"), 1);
    uint32_t l_main = loc_named(p, "main"), l_work = loc_named(p, "work");
    assert_int_equal(loc_named(p, "main"), l_main); /* dedup */
    uint32_t st[] = {l_work, l_main};
    uint32_t s1 = ignis_profile_add_stack(p, st, 2);
    assert_int_equal(ignis_profile_add_stack(p, st, 2), s1);
    uint32_t s2 = ignis_profile_add_stack(p, st + 1, 1);
    assert_int_not_equal(s1, s2);
    int64_t v[] = {1, 10};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ignis_profile_add_sample(p, s1, 0, v), 0);
    assert_int_equal(ignis_profile_add_sample(p, s2, 0, v), 0);
    /* memory follows distinct stacks, not samples */
    assert_int_equal(ignis_profile_num_samples(p), 2);
    assert_int_equal(ignis_profile_total(p, 0), 1001);
    assert_int_equal(ignis_profile_total(p, 1), 10010);
    ignis_sample s = ignis_profile_sample(p, 0);
    assert_int_equal(s.stack, s1);
    assert_int_equal(s.values[1], 10000);
    /* value types are fixed once samples exist */
    assert_int_equal(ignis_profile_add_value_type(p, "late", "count"), -1);
    /* bad ids are refused */
    assert_int_equal(ignis_profile_add_sample(p, 999, 0, v), -1);
    uint32_t bad[] = {12345};
    assert_int_equal(ignis_profile_add_stack(p, bad, 1), 0);
    assert_int_equal(ignis_profile_default_value(p), 1);
    ignis_profile_set_default_sample_type(p, "samples");
    assert_int_equal(ignis_profile_default_value(p), 0);
    assert_int_equal(ignis_profile_find_value(p, "cpu"), 1);
    /* compacted (lookup tables dropped, as the viewer does after a load),
     * it still merges what it has and adds what it has not */
    ig_profile_compact(p);
    assert_int_equal(ignis_profile_add_stack(p, st, 2), s1);
    assert_int_equal(ignis_profile_add_sample(p, s1, 0, v), 0);
    assert_int_equal(ignis_profile_num_samples(p), 2);
    assert_int_equal(ignis_profile_total(p, 0), 1002);
    ig_profile_compact(p);
    assert_int_equal(ignis_profile_add_sample(p, s2, 0, v), 0);
    assert_int_equal(ignis_profile_num_samples(p), 2);
    uint32_t st3[] = {l_main, l_work};
    uint32_t s3 = ignis_profile_add_stack(p, st3, 2);
    assert_true(s3 != s1 && s3 != s2);
    assert_int_equal(ignis_profile_add_sample(p, s3, 0, v), 0);
    assert_int_equal(ignis_profile_num_samples(p), 3);
    size_t depth;
    const uint32_t *got = ignis_profile_stack(p, s1, &depth);
    assert_int_equal(depth, 2);
    assert_memory_equal(got, st, sizeof st);
    ignis_profile_free(p);
}

static void test_labels_order_insensitive(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    uint32_t k_thread = ignis_profile_intern(p, "thread"), k_tid = ignis_profile_intern(p, "tid");
    ignis_label a[] = {{k_thread, ignis_profile_intern(p, "worker"), 0, 0}, {k_tid, 0, 42, 0}};
    ignis_label b[] = {a[1], a[0]};
    uint32_t la = ignis_profile_add_labels(p, a, 2);
    assert_true(la > 0);
    assert_int_equal(ignis_profile_add_labels(p, b, 2), la);
    assert_int_equal(ignis_profile_add_labels(p, NULL, 0), 0);
    assert_string_equal(ignis_profile_label_str(p, la, "thread"), "worker");
    int64_t tid = 0;
    assert_true(ignis_profile_label_num(p, la, "tid", &tid));
    assert_int_equal(tid, 42);
    assert_null(ignis_profile_label_str(p, la, "nope"));
    /* same stack, different labels: two samples */
    uint32_t st[] = {loc_named(p, "f")};
    uint32_t s = ignis_profile_add_stack(p, st, 1);
    int64_t one = 1;
    ignis_profile_add_sample(p, s, la, &one);
    ignis_profile_add_sample(p, s, 0, &one);
    ignis_profile_add_sample(p, s, la, &one);
    assert_int_equal(ignis_profile_num_samples(p), 2);
    ignis_profile_free(p);
}

static void test_locations_inline_and_names(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_mapping m = {0x400000, 0x500000, 0x1000, ignis_profile_intern(p, "/usr/bin/app"),
                       ignis_profile_intern(p, "abcd"), true, true, true, true};
    uint32_t mid = ignis_profile_add_mapping(p, &m);
    assert_int_equal(mid, 1);
    assert_int_equal(ignis_profile_add_mapping(p, &m), 1);
    assert_int_equal(ignis_profile_mapping_for(p, 0x400010), 1);
    assert_int_equal(ignis_profile_mapping_for(p, 0x10), 0);
    uint32_t f_in = ignis_profile_function_named(p, "inlined_leaf", "a.c", 3);
    uint32_t f_out = ignis_profile_function_named(p, "caller", "a.c", 10);
    ignis_line lines[] = {{f_in, 4, 0}, {f_out, 12, 0}};
    ignis_location loc = {mid, 0x401000, lines, 2, IGNIS_FRAME_USER, false};
    uint32_t l1 = ignis_profile_add_location(p, &loc);
    assert_int_equal(ignis_profile_add_location(p, &loc), l1);
    /* grow the line pool a lot: earlier views stay correct */
    for (int i = 0; i < 3000; i++) {
        ignis_location o = {mid, 0x402000 + (uint64_t)i, lines, 2, IGNIS_FRAME_USER, false};
        ignis_profile_add_location(p, &o);
    }
    const ignis_location *v = ignis_profile_location(p, l1);
    assert_int_equal(v->nlines, 2);
    assert_int_equal(v->lines[0].function, f_in);
    assert_int_equal(v->lines[1].line, 12);
    char buf[128];
    assert_string_equal(ignis_profile_frame_name(p, l1, 0, buf, sizeof buf), "inlined_leaf");
    assert_string_equal(ignis_profile_frame_name(p, l1, 1, buf, sizeof buf), "caller");
    /* an unnamed address shows as module+0xoffset, never dropped */
    ignis_location bare = {mid, 0x400020, NULL, 0, IGNIS_FRAME_USER, false};
    uint32_t lb = ignis_profile_add_location(p, &bare);
    assert_string_equal(ignis_profile_frame_name(p, lb, 0, buf, sizeof buf), "app+0x1020");
    ignis_location nomap = {0, 0xdead, NULL, 0, IGNIS_FRAME_USER, false};
    assert_string_equal(ignis_profile_frame_name(p, ignis_profile_add_location(p, &nomap), 0, buf, sizeof buf),
                        "0xdead");
    /* a line naming a function that does not exist is refused */
    ignis_line badl = {999, 0, 0};
    ignis_location bad = {0, 1, &badl, 1, 0, false};
    assert_int_equal(ignis_profile_add_location(p, &bad), 0);
    ignis_profile_free(p);
}

/* Stack i of test_big_pools: 2 to 8 frames, unique per i (its first two
 * frames are i % NLOC and i / NLOC). */
enum { NLOC = 3000, NSTACK = 60000 };

static size_t big_stack(const uint32_t *locs, uint32_t i, uint32_t *frames)
{
    size_t n = 2 + i % 7;
    frames[0] = locs[i % NLOC];
    frames[1] = locs[i / NLOC];
    for (size_t d = 2; d < n; d++)
        frames[d] = locs[(i * 7 + d * 131) % NLOC];
    return n;
}

/* 60,000 stacks over 3,000 locations: the stack pool, the stacks, samples
 * and values and their lookup tables pass 128 KB and become page blocks,
 * the line pool moves while locations are added; everything reads back, a
 * compacted profile shrinks them (the smallest back into the heap) and
 * still merges and grows. */
static void test_big_pools(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    static uint32_t locs[NLOC];
    char name[32], buf[64];
    for (int i = 0; i < NLOC; i++) {
        snprintf(name, sizeof name, "fn%d", i);
        locs[i] = loc_named(p, name);
        assert_int_equal(locs[i], i + 1);
    }
    uint32_t frames[8];
    int64_t v[1] = {1};
    for (uint32_t i = 0; i < NSTACK; i++) {
        size_t n = big_stack(locs, i, frames);
        uint32_t s = ignis_profile_add_stack(p, frames, n);
        assert_int_equal(s, i + 1);
        assert_int_equal(ignis_profile_add_sample(p, s, 0, v), 0);
    }
    assert_int_equal(ignis_profile_num_stacks(p), NSTACK);
    assert_int_equal(ignis_profile_num_samples(p), NSTACK);
    for (int i = 0; i < NLOC; i += 997) {
        snprintf(name, sizeof name, "fn%d", i);
        assert_string_equal(ignis_profile_frame_name(p, locs[i], 0, buf, sizeof buf), name);
    }
    int64_t total = NSTACK;
    for (int round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < NSTACK; i += 4999) {
            size_t n = big_stack(locs, i, frames), depth;
            const uint32_t *got = ignis_profile_stack(p, i + 1, &depth);
            assert_int_equal(depth, n);
            assert_memory_equal(got, frames, n * sizeof *frames);
            assert_int_equal(ignis_profile_add_stack(p, frames, n), i + 1); /* merged, not added */
            assert_int_equal(ignis_profile_add_sample(p, i + 1, 0, v), 0);
            total++;
        }
        assert_int_equal(ignis_profile_num_stacks(p), NSTACK);
        assert_int_equal(ignis_profile_num_samples(p), NSTACK);
        ig_profile_compact(p);
    }
    /* growing again after compaction */
    for (uint32_t i = NSTACK; i < NSTACK + 5000; i++) {
        size_t n = big_stack(locs, i, frames);
        assert_int_equal(ignis_profile_add_stack(p, frames, n), i + 1);
        assert_int_equal(ignis_profile_add_sample(p, i + 1, 0, v), 0);
        total++;
    }
    assert_int_equal(ignis_profile_num_samples(p), NSTACK + 5000);
    assert_int_equal(ignis_profile_total(p, 0), total);
    ignis_profile_free(p);

    /* 9,000 samples: 72 KB of samples in a 128 KB page block, compacted
     * back into the heap, then grown into a page block again */
    p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    for (int i = 0; i < NLOC; i++) {
        snprintf(name, sizeof name, "fn%d", i);
        loc_named(p, name);
    }
    for (uint32_t i = 0; i < 18000; i++) {
        if (i == 9000)
            ig_profile_compact(p);
        size_t n = big_stack(locs, i, frames);
        assert_int_equal(ignis_profile_add_stack(p, frames, n), i + 1);
        assert_int_equal(ignis_profile_add_sample(p, i + 1, 0, v), 0);
    }
    for (uint32_t i = 0; i < 18000; i += 1999) {
        size_t n = big_stack(locs, i, frames), depth;
        assert_memory_equal(ignis_profile_stack(p, i + 1, &depth), frames, n * sizeof *frames);
        assert_int_equal(ignis_profile_sample(p, i).stack, i + 1);
    }
    assert_int_equal(ignis_profile_total(p, 0), 18000);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_interned),
        cmocka_unit_test(test_samples_merge),
        cmocka_unit_test(test_labels_order_insensitive),
        cmocka_unit_test(test_locations_inline_and_names),
        cmocka_unit_test(test_big_pools),
    };
    return cmocka_run_group_tests_name("profile model", tests, NULL, NULL);
}
