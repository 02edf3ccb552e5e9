/*
 * tests/profile/test_granularity.c — what a frame stands for in trees and
 * top tables (ig_tree_opts.granularity): function, function and line,
 * file and module, on the hand-computed profile of lines_fixture.h; where
 * a frame comes from (ig_tree_frame_source); a diff keeps the granularity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "profile/tree.h"
#include "tests/profile/lines_fixture.h"

/* The tree as "name(total/self)" in depth-first order, depth as indent dots. */
static void render(const ig_tree *t, char *out, size_t len)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < ig_tree_size(t); i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        char one[160];
        snprintf(one, sizeof one, "%s%.*s%s(%lld/%lld)", i ? " " : "", (int)n->depth, "..........",
                 ig_tree_name(t, n->name), (long long)n->total, (long long)n->self);
        strncat(out, one, len - strlen(out) - 1);
    }
}

static ig_tree *build(const ignis_profile *p, ig_granularity g)
{
    ig_tree_opts o = {-1, 0, NULL, NULL, NULL, NULL, 0};
    o.granularity = g;
    ig_err err;
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_non_null(t);
    return t;
}

static void test_function(void **state)
{
    (void)state;
    ignis_profile *p = fx_lines_profile("src/hot.c");
    ig_tree *t = build(p, IG_GRAN_FUNCTION);
    char s[1024];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .main(24/0) ..hot(20/15) ...hot(3/3) ...inl(2/2) ..memcpy(4/4)");
    ig_frame_source fs = ig_tree_frame_source(t, ig_tree_node_at(t, 2)->name);
    assert_string_equal(fs.function, "hot");
    assert_string_equal(fs.file, "src/hot.c");
    assert_int_equal(fs.line, 4); /* the function's start line */
    assert_string_equal(ig_tree_name(t, ig_tree_node_module(t, ig_tree_node_at(t, 2))), "app");
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_line(void **state)
{
    (void)state;
    ignis_profile *p = fx_lines_profile("src/hot.c");
    ig_tree *t = build(p, IG_GRAN_LINE);
    char s[1024];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .main main.c:10(15/0) ..hot hot.c:5(10/10) ..hot hot.c:6(5/5)"
                           " .main main.c:11(3/0) ..hot hot.c:5(3/0) ...hot hot.c:7(3/3)"
                           " .main main.c:12(2/0) ..hot hot.c:8(2/0) ...inl hot.c:20(2/2)"
                           " .main main.c:13(4/0) ..memcpy(4/4)");
    ig_frame_source fs = ig_tree_frame_source(t, ig_tree_node_at(t, 3)->name);
    assert_string_equal(fs.function, "hot");
    assert_string_equal(fs.file, "src/hot.c");
    assert_int_equal(fs.line, 6);
    ig_tree_free(t);

    /* the top table by line: flat at the leaf line, cum once per sample */
    ig_tree_opts o = {-1, 0, NULL, NULL, NULL, NULL, 0};
    o.granularity = IG_GRAN_LINE;
    ig_err err;
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_non_null(top);
    const ig_top_row *r = ig_top_row_at(top, 0);
    assert_string_equal(ig_top_name(top, r->name), "hot hot.c:5");
    assert_int_equal(r->flat, 10);
    assert_int_equal(r->cum, 13);
    fs = ig_top_frame_source(top, r->name);
    assert_string_equal(fs.function, "hot");
    assert_int_equal(fs.line, 5);
    ig_top_free(top);
    ignis_profile_free(p);
}

static void test_file_and_module(void **state)
{
    (void)state;
    ignis_profile *p = fx_lines_profile("src/hot.c");
    char s[1024];
    /* hot;hot and hot;inl (both in src/hot.c) merge into one frame */
    ig_tree *t = build(p, IG_GRAN_FILE);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .main.c(24/0) ..[libc.so.6](4/4) ..src/hot.c(20/20)");
    ig_frame_source fs = ig_tree_frame_source(t, ig_tree_node_at(t, 1)->name);
    assert_string_equal(fs.function, "");
    assert_string_equal(fs.file, "main.c");
    ig_tree_free(t);

    t = build(p, IG_GRAN_MODULE);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .app(24/20) ..libc.so.6(4/4)");
    ig_tree_free(t);

    /* a diff tree keeps the granularity for its base */
    ignis_profile *base = fx_lines_profile("src/hot.c");
    t = build(p, IG_GRAN_MODULE);
    ig_err err;
    assert_int_equal(ig_tree_add_base(t, base, &err), 0);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .app(24/20) ..libc.so.6(4/4)");
    assert_int_equal(ig_tree_node_at(t, 2)->base_total, 4);
    ig_tree_free(t);
    ignis_profile_free(base);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function),
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_file_and_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
