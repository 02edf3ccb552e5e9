/*
 * tests/viewer/test_layout.c — flame graph geometry in cells, no curses.
 *
 * Ground truth is arithmetic on the sample counts: a frame of total T in a
 * zoom of total Z at width W starts at round(offset*W/Z) and ends at
 * round((offset+T)*W/Z).
 */
#include "tests/viewer/helpers.h"

#include <stdio.h>

#include "profile/tree.h"
#include "viewer/layout.h"

/* Node reached from the root by names ("main", "a", ...), or UINT32_MAX. */
static uint32_t node_by_path(const ig_tree *t, const char *const *names)
{
    uint32_t n = 0;
    for (size_t i = 0; names[i]; i++) {
        uint32_t c = ig_tree_node_at(t, n)->first_child;
        while (c && strcmp(ig_tree_name(t, ig_tree_node_at(t, c)->name), names[i]))
            c = ig_tree_node_at(t, c)->next_sibling;
        if (!c)
            return UINT32_MAX;
        n = c;
    }
    return n;
}

static ig_tree *tree_of(const char *const *lines, ignis_profile **pp)
{
    *pp = test_profile(lines);
    ig_tree_opts o = {.value = 0};
    ig_err err;
    ig_tree *t = ig_tree_build(*pp, &o, &err);
    assert_non_null(t);
    return t;
}

static const ig_frame *frame_of(const ig_frames *f, const ig_tree *t, const char *const *path)
{
    uint32_t n = node_by_path(t, path);
    assert_int_not_equal(n, UINT32_MAX);
    long i = ig_frames_find(f, 0, n);
    return i < 0 ? NULL : &f->v[i];
}

static const char *const simple[] = {"main;a;b 50", "main;a;c 30", "main;d 20", NULL};

static void test_widths_proportional(void **state)
{
    (void)state;
    ignis_profile *p;
    ig_tree *t = tree_of(simple, &p);
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .width = 100, .row0 = 20, .dir = -1, .nrows = 20};
    ig_layout_flame(&f, &s);
    const ig_frame *root = &f.v[ig_frames_find(&f, 0, 0)];
    assert_int_equal(root->col, 0);
    assert_int_equal(root->width, 100);
    assert_int_equal(root->row, 20);
    const ig_frame *a = frame_of(&f, t, (const char *[]){"main", "a", NULL});
    const ig_frame *b = frame_of(&f, t, (const char *[]){"main", "a", "b", NULL});
    const ig_frame *c = frame_of(&f, t, (const char *[]){"main", "a", "c", NULL});
    const ig_frame *d = frame_of(&f, t, (const char *[]){"main", "d", NULL});
    assert_int_equal(a->col, 0);
    assert_int_equal(a->width, 80);
    assert_int_equal(a->row, 18); /* depth 2, root at the bottom */
    assert_int_equal(b->width, 50);
    assert_int_equal(b->row, 17);
    assert_int_equal(c->col, 50);
    assert_int_equal(c->width, 30);
    assert_int_equal(d->col, 80);
    assert_int_equal(d->width, 20);
    assert_int_equal(f.n, 6);
    assert_false(f.clipped);
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_icicle_direction(void **state)
{
    (void)state;
    ignis_profile *p;
    ig_tree *t = tree_of(simple, &p);
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .width = 100, .row0 = 1, .dir = 1, .nrows = 20};
    ig_layout_flame(&f, &s);
    assert_int_equal(f.v[ig_frames_find(&f, 0, 0)].row, 1);
    assert_int_equal(frame_of(&f, t, (const char *[]){"main", "a", "b", NULL})->row, 4);
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

/* Rounding start and end separately tiles a row without gaps/overlaps. */
static void test_rounding_tiles(void **state)
{
    (void)state;
    static const char *const thirds[] = {"r;a 1", "r;b 1", "r;c 1", "r;d 1", "r;e 1", "r;f 1", "r;g 1", NULL};
    ignis_profile *p;
    ig_tree *t = tree_of(thirds, &p);
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .width = 80, .row0 = 10, .dir = -1, .nrows = 10};
    ig_layout_flame(&f, &s);
    int covered[80] = {0};
    int n = 0;
    for (size_t i = 0; i < f.n; i++)
        if (f.v[i].row == 8) {
            for (int c = f.v[i].col; c < f.v[i].col + f.v[i].width; c++)
                covered[c]++;
            n++;
        }
    assert_int_equal(n, 7);
    for (int c = 0; c < 80; c++)
        assert_int_equal(covered[c], 1);
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_narrow_frames_pruned(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;big;x 999", "main;tiny;deep;deeper 1", NULL};
    ignis_profile *p;
    ig_tree *t = tree_of(lines, &p);
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .width = 80, .row0 = 10, .dir = -1, .nrows = 10};
    ig_layout_flame(&f, &s);
    assert_null(frame_of(&f, t, (const char *[]){"main", "tiny", NULL}));
    assert_null(frame_of(&f, t, (const char *[]){"main", "tiny", "deep", NULL}));
    assert_non_null(frame_of(&f, t, (const char *[]){"main", "big", "x", NULL}));
    assert_int_equal(f.n, 4);
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_zoom_and_ancestors(void **state)
{
    (void)state;
    ignis_profile *p;
    ig_tree *t = tree_of(simple, &p);
    uint32_t a = node_by_path(t, (const char *[]){"main", "a", NULL});
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .zoom = a, .width = 100, .row0 = 20, .dir = -1, .nrows = 20,
                        .show_ancestors = 1};
    ig_layout_flame(&f, &s);
    const ig_frame *fa = &f.v[ig_frames_find(&f, 0, a)];
    assert_int_equal(fa->width, 100);
    assert_int_equal(fa->flags & IG_FRAME_DIM, 0);
    const ig_frame *main = frame_of(&f, t, (const char *[]){"main", NULL});
    assert_int_equal(main->width, 100);
    assert_true(main->flags & IG_FRAME_DIM);
    const ig_frame *b = frame_of(&f, t, (const char *[]){"main", "a", "b", NULL});
    assert_int_equal(b->width, 63); /* round(50/80*100) = 62.5 -> 63 */
    assert_int_equal(frame_of(&f, t, (const char *[]){"main", "a", "c", NULL})->col, 63);
    assert_null(frame_of(&f, t, (const char *[]){"main", "d", NULL}));
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_vertical_window(void **state)
{
    (void)state;
    static const char *const deep[] = {"a;b;c;d;e;f 10", NULL};
    ignis_profile *p;
    ig_tree *t = tree_of(deep, &p);
    ig_frames f = {0};
    ig_layout_spec s = {.tree = t, .width = 40, .row0 = 5, .dir = -1, .nrows = 3, .first_depth = 2};
    ig_layout_flame(&f, &s);
    assert_int_equal(f.n, 3); /* depths 2, 3, 4 = b, c, d */
    assert_true(f.clipped);    /* e and f are deeper */
    assert_int_equal(frame_of(&f, t, (const char *[]){"a", "b", NULL})->row, 5);
    assert_int_equal(frame_of(&f, t, (const char *[]){"a", "b", "c", "d", NULL})->row, 3);
    assert_int_equal(ig_frames_at(&f, 4, 39), ig_frames_find(&f, 0, node_by_path(t, (const char *[]){"a", "b", "c", NULL})));
    assert_int_equal(ig_frames_at(&f, 2, 0), -1);
    ig_frames_free(&f);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_styles_by_kind(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;k:sys_read 1", "main;j:jitted 1", NULL};
    ignis_profile *p;
    ig_tree *t = tree_of(lines, &p);
    assert_int_equal(ig_layout_style(t, 0), IG_ST_ROOT);
    assert_int_equal(ig_layout_style(t, node_by_path(t, (const char *[]){"main", "sys_read", NULL})), IG_ST_KERNEL);
    assert_int_equal(ig_layout_style(t, node_by_path(t, (const char *[]){"main", "jitted", NULL})), IG_ST_JIT);
    uint8_t u = ig_layout_style(t, node_by_path(t, (const char *[]){"main", NULL}));
    assert_true(u >= IG_ST_USER0 && u < IG_ST_USER0 + IG_USER_SHADES);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_diff_levels(void **state)
{
    (void)state;
    assert_int_equal(ig_layout_diff_level(50, 100, 50, 100), 0);
    assert_int_equal(ig_layout_diff_level(51, 100, 50, 100), 0);  /* +2% relative */
    assert_int_equal(ig_layout_diff_level(60, 100, 50, 100), 1);  /* +20% */
    assert_int_equal(ig_layout_diff_level(90, 100, 50, 100), 2);  /* +80% */
    assert_int_equal(ig_layout_diff_level(100, 100, 50, 100), 3); /* +100% */
    assert_int_equal(ig_layout_diff_level(10, 100, 0, 100), 3);   /* new */
    assert_int_equal(ig_layout_diff_level(40, 100, 50, 100), 1 * -1);
    assert_int_equal(ig_layout_diff_level(0, 100, 50, 100), -3);
    /* shares, not absolute values: 2x the samples of a 2x larger total */
    assert_int_equal(ig_layout_diff_level(100, 200, 50, 100), 0);
}

static void test_fit_and_utf8(void **state)
{
    (void)state;
    int ell;
    assert_int_equal(ig_layout_fit("runtime.mallocgc", 20, &ell), 16);
    assert_int_equal(ell, 0);
    assert_int_equal(ig_layout_fit("runtime.mallocgc", 8, &ell), 7);
    assert_int_equal(ell, 1);
    assert_int_equal(ig_layout_fit("abc", 1, &ell), 1);
    assert_int_equal(ell, 0);
    assert_int_equal(ig_layout_fit("abc", 0, &ell), 0);
    /* "héllo wörld": é and ö are two bytes each */
    assert_int_equal(ig_utf8_len("h\xc3\xa9llo w\xc3\xb6rld"), 11);
    assert_int_equal(ig_layout_fit("h\xc3\xa9llo w\xc3\xb6rld", 5, &ell), 5); /* "héll" + … */
    assert_int_equal(ell, 1);
    uint32_t cp;
    assert_int_equal(ig_utf8_decode("\xe2\x80\xa6", &cp), 3);
    assert_int_equal(cp, 0x2026);
    assert_int_equal(ig_utf8_decode("\xff", &cp), 1);
    assert_int_equal(cp, 0xfffd);
}

/* A node with IG_WIDE_NODE or more children has them cached: the cached
 * list is the tree's, in order, the frames drawn with the cache are the
 * ones drawn without it, and another tree is never answered from the
 * first one's cache. */
static void test_wide_node_children(void **state)
{
    (void)state;
    enum { N = IG_WIDE_NODE * 3 };
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    for (int i = 0; i < N; i++) {
        char stack[64];
        snprintf(stack, sizeof stack, "main;f%03d;leaf", i);
        int64_t v = 1 + i % 7;
        test_add(p, stack, &v, NULL);
    }
    ig_tree_opts o = {.value = 0};
    ig_err err;
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_non_null(t);
    uint32_t main_node = node_by_path(t, (const char *[]){"main", NULL});
    ig_child_cache cache = {0};
    for (int round = 0; round < 2; round++) { /* the second round is answered from the cache */
        const ig_child *kids;
        size_t n = ig_tree_children(&cache, t, main_node, &kids);
        assert_int_equal(n, N);
        uint32_t ch = ig_tree_node_at(t, main_node)->first_child;
        for (size_t k = 0; k < n; k++, ch = ig_tree_node_at(t, ch)->next_sibling) {
            assert_int_equal(kids[k].node, ch);
            assert_int_equal(kids[k].total, ig_tree_node_at(t, ch)->total);
        }
        assert_int_equal(ch, 0);
    }
    ig_frames plain = {0}, cached = {0};
    ig_layout_spec s = {.tree = t, .width = 3 * N, .row0 = 10, .dir = -1, .nrows = 10};
    ig_layout_flame(&plain, &s);
    s.children = &cache;
    ig_layout_flame(&cached, &s);
    ig_layout_flame(&cached, &s);
    assert_int_equal(cached.n, 2 * plain.n);
    assert_true(plain.n > N);
    for (size_t i = 0; i < plain.n; i++) {
        assert_int_equal(cached.v[i].node, plain.v[i].node);
        assert_int_equal(cached.v[i].col, plain.v[i].col);
        assert_int_equal(cached.v[i].width, plain.v[i].width);
        assert_int_equal(cached.v[plain.n + i].node, plain.v[i].node);
    }

    ignis_profile *p2;
    ig_tree *t2 = tree_of(simple, &p2); /* the same cache, another tree */
    const ig_child *kids;
    size_t n = ig_tree_children(&cache, t2, node_by_path(t2, (const char *[]){"main", NULL}), &kids);
    assert_int_equal(n, 2);
    assert_string_equal(ig_tree_name(t2, ig_tree_node_at(t2, kids[0].node)->name), "a");
    ig_child_cache_free(&cache);
    ig_frames_free(&plain);
    ig_frames_free(&cached);
    ig_tree_free(t);
    ig_tree_free(t2);
    ignis_profile_free(p);
    ignis_profile_free(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths_proportional), cmocka_unit_test(test_icicle_direction),
        cmocka_unit_test(test_rounding_tiles),      cmocka_unit_test(test_narrow_frames_pruned),
        cmocka_unit_test(test_zoom_and_ancestors),  cmocka_unit_test(test_vertical_window),
        cmocka_unit_test(test_styles_by_kind),      cmocka_unit_test(test_diff_levels),
        cmocka_unit_test(test_fit_and_utf8),        cmocka_unit_test(test_wide_node_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
