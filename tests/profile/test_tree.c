/*
 * tests/profile/test_tree.c — call trees and top tables: order, totals,
 * filters, reverse, pruning, diff, inline expansion, value formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ignis/profile.h"
#include "profile/tree.h"

/* Adds "root;..;leaf" with value v (and an optional thread label). */
static void add(ignis_profile *p, const char *path, int64_t v, const char *thread)
{
    uint32_t locs[64];
    size_t n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        locs[n++] = ignis_profile_location_for_function(p, ignis_profile_function_named(p, tok, "", 0),
                                                        IGNIS_FRAME_USER);
    for (size_t i = 0; i < n / 2; i++) { /* leaf first */
        uint32_t t = locs[i];
        locs[i] = locs[n - 1 - i];
        locs[n - 1 - i] = t;
    }
    uint32_t labels = 0;
    if (thread) {
        ignis_label l = {ignis_profile_intern(p, "thread"), ignis_profile_intern(p, thread), 0, 0};
        labels = ignis_profile_add_labels(p, &l, 1);
    }
    int64_t vals[2] = {1, v};
    assert_int_equal(ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, n), labels, vals), 0);
}

static ignis_profile *sample_profile(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    add(p, "main;a;c", 3, "t1");
    add(p, "main;a;b", 5, "t1");
    add(p, "main;d", 2, "t1");
    add(p, "other", 1, "t2");
    add(p, "main;a", 4, "t1"); /* a has self time too */
    return p;
}

/* Renders the tree as "name(total/self)" in depth-first order. */
static void render(const ig_tree *t, char *out, size_t len)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < ig_tree_size(t); i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        char one[128];
        snprintf(one, sizeof one, "%s%s(%lld/%lld)", i ? " " : "", ig_tree_name(t, n->name),
                 (long long)n->total, (long long)n->self);
        strncat(out, one, len - strlen(out) - 1);
    }
}

static void test_tree_order_and_totals(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ig_err err;
    ig_tree *t = ig_tree_build(p, NULL, &err);
    assert_non_null(t);
    char s[512];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/0) main(14/0) a(12/4) b(5/5) c(3/3) d(2/2) other(1/1)");
    /* links: children of main are a then d; parents point back */
    const ig_tree_node *mainn = ig_tree_node_at(t, 1);
    const ig_tree_node *a = ig_tree_node_at(t, mainn->first_child);
    assert_string_equal(ig_tree_name(t, a->name), "a");
    assert_string_equal(ig_tree_name(t, ig_tree_node_at(t, a->next_sibling)->name), "d");
    assert_int_equal(a->parent, 1);
    assert_int_equal(a->depth, 2);
    assert_string_equal(ig_tree_value_type(t), "cpu");
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_tree_filters(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ig_err err;
    char s[512];
    ig_tree_opts o = {-1, 0, "^c$", NULL, NULL, NULL, 0};
    ig_tree *t = ig_tree_build(p, &o, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(3/0) main(3/0) a(3/0) c(3/3)");
    ig_tree_free(t);

    ig_tree_opts ig = {-1, 0, NULL, "^a$", NULL, NULL, 0};
    t = ig_tree_build(p, &ig, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(3/0) main(2/0) d(2/2) other(1/1)");
    ig_tree_free(t);

    ig_tree_opts th = {0, 0, NULL, NULL, "t2", NULL, 0};
    t = ig_tree_build(p, &th, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(1/0) other(1/1)");
    ig_tree_free(t);

    ig_tree_opts rt = {-1, 0, NULL, NULL, NULL, "^a$", 0};
    t = ig_tree_build(p, &rt, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(12/0) a(12/4) b(5/5) c(3/3)");
    ig_tree_free(t);

    ig_tree_opts bad = {-1, 0, "(", NULL, NULL, NULL, 0};
    assert_null(ig_tree_build(p, &bad, &err));
    assert_non_null(strstr(err.msg, "--focus: invalid regular expression"));
    ig_tree_opts badv = {7, 0, NULL, NULL, NULL, NULL, 0};
    assert_null(ig_tree_build(p, &badv, &err));
    assert_non_null(strstr(err.msg, "--value"));
    ignis_profile_free(p);
}

static void test_tree_reverse_and_prune(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ig_err err;
    char s[512];
    ig_tree_opts r = {-1, 1, NULL, NULL, NULL, NULL, 0};
    ig_tree *t = ig_tree_build(p, &r, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/0) a(4/0) main(4/4) b(5/0) a(5/0) main(5/5) c(3/0) a(3/0) main(3/3) "
                           "d(2/0) main(2/2) other(1/1)");
    ig_tree_free(t);
    ig_tree_opts pr = {-1, 0, NULL, NULL, NULL, NULL, 3};
    t = ig_tree_build(p, &pr, &err);
    render(t, s, sizeof s);
    /* d (2) and other (1) are pruned; totals still include them */
    assert_string_equal(s, "root(15/0) main(14/0) a(12/4) b(5/5) c(3/3)");
    const ig_tree_node *mainn = ig_tree_node_at(t, 1);
    const ig_tree_node *a = ig_tree_node_at(t, mainn->first_child);
    assert_int_equal(a->next_sibling, 0);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_tree_root_reverse_gives_callers(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    add(p, "main;x;b", 7, NULL);
    ig_err err;
    char s[512];
    ig_tree_opts o = {-1, 1, NULL, NULL, NULL, "^b$", 0};
    ig_tree *t = ig_tree_build(p, &o, &err);
    render(t, s, sizeof s);
    /* b's callers: a (5) and x (7), each called from main */
    assert_string_equal(s, "root(12/0) b(12/0) a(5/0) main(5/5) x(7/0) main(7/7)");
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_tree_diff_filters_base_too(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ignis_profile *base = sample_profile();
    add(base, "main;d", 10, "t1");
    ig_err err;
    ig_tree_opts o = {-1, 0, NULL, "^d$", NULL, NULL, 0};
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_int_equal(ig_tree_add_base(t, base, &err), 0);
    /* d is ignored on both sides: the base total equals the new total */
    assert_int_equal(ig_tree_node_at(t, 0)->base_total, ig_tree_node_at(t, 0)->total);
    ig_tree_free(t);
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_add_base(top, base, IG_SORT_FLAT, &err), 0);
    for (size_t i = 0; i < ig_top_rows(top); i++)
        assert_string_not_equal(ig_top_name(top, ig_top_row_at(top, i)->name), "d");
    ig_top_free(top);
    ignis_profile_free(base);
    ignis_profile_free(p);
}

static void test_tree_diff(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ignis_profile *base = ignis_profile_new();
    ignis_profile_add_value_type(base, "cpu", "nanoseconds");
    add(base, "main;a;b", 1, NULL); /* note: base has values {1, v} but one type: v ignored */
    add(base, "main;x", 4, NULL);
    ig_err err;
    ig_tree *t = ig_tree_build(p, NULL, &err);
    assert_int_equal(ig_tree_add_base(t, base, &err), 0);
    assert_true(ig_tree_is_diff(t));
    int seen_x = 0, seen_b = 0;
    for (uint32_t i = 0; i < ig_tree_size(t); i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        const char *name = ig_tree_name(t, n->name);
        if (!strcmp(name, "x")) {
            seen_x = 1;
            assert_int_equal(n->total, 0);
            assert_int_equal(n->base_total, 1); /* value 0 of base = samples = 1 */
        }
        if (!strcmp(name, "b")) {
            seen_b = 1;
            assert_int_equal(n->total, 5);
            assert_int_equal(n->base_total, 1);
        }
    }
    assert_true(seen_x && seen_b);
    /* order stays depth-first and sorted: x comes after d under main */
    char s[512];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/0) main(14/0) a(12/4) b(5/5) c(3/3) d(2/2) x(0/0) other(1/1)");
    ig_tree_free(t);
    ignis_profile_free(base);
    ignis_profile_free(p);
}

static void test_inline_frames_expand(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    uint32_t f_leaf = ignis_profile_function_named(p, "leaf_inlined", "", 0);
    uint32_t f_caller = ignis_profile_function_named(p, "caller", "", 0);
    ignis_line lines[] = {{f_leaf, 1, 0}, {f_caller, 2, 0}};
    ignis_location loc = {0, 0x10, lines, 2, IGNIS_FRAME_USER, false};
    uint32_t l = ignis_profile_add_location(p, &loc);
    uint32_t k = ignis_profile_location_for_function(p, ignis_profile_function_named(p, "sys_read", "", 0),
                                                     IGNIS_FRAME_KERNEL);
    uint32_t st[] = {k, l};
    int64_t one = 1;
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, st, 2), 0, &one);
    ig_err err;
    ig_tree *t = ig_tree_build(p, NULL, &err);
    assert_int_equal(ig_tree_size(t), 4);
    assert_string_equal(ig_tree_name(t, ig_tree_node_at(t, 1)->name), "caller");
    assert_int_equal(ig_tree_node_at(t, 1)->kind, IG_NODE_USER);
    assert_string_equal(ig_tree_name(t, ig_tree_node_at(t, 2)->name), "leaf_inlined");
    assert_int_equal(ig_tree_node_at(t, 2)->kind, IG_NODE_INLINED);
    assert_int_equal(ig_tree_node_at(t, 3)->kind, IG_NODE_KERNEL);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_top_table(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    add(p, "main;a;a;b", 1, NULL); /* recursion counts once in cum */
    ig_err err;
    ig_top *t = ig_top_build(p, NULL, IG_SORT_FLAT, &err);
    assert_non_null(t);
    assert_int_equal(ig_top_total(t), 16);
    const ig_top_row *r0 = ig_top_row_at(t, 0);
    assert_string_equal(ig_top_name(t, r0->name), "b");
    assert_int_equal(r0->flat, 6);
    assert_int_equal(r0->cum, 6);
    assert_string_equal(ig_top_name(t, ig_top_row_at(t, 1)->name), "a");
    assert_int_equal(ig_top_row_at(t, 1)->cum, 13);
    ig_top_free(t);
    t = ig_top_build(p, NULL, IG_SORT_CUM, &err);
    assert_string_equal(ig_top_name(t, ig_top_row_at(t, 0)->name), "main");
    assert_int_equal(ig_top_row_at(t, 0)->cum, 15);
    assert_int_equal(ig_top_row_at(t, 0)->flat, 0);
    ig_top_free(t);
    ignis_profile_free(p);
}

static void test_format_value(void **state)
{
    (void)state;
    char b[32];
    ig_format_value(1500000000, "nanoseconds", b, sizeof b);
    assert_string_equal(b, "1.50s");
    ig_format_value(120000000, "nanoseconds", b, sizeof b);
    assert_string_equal(b, "120ms");
    ig_format_value(0, "nanoseconds", b, sizeof b);
    assert_string_equal(b, "0");
    ig_format_value(3 * 1048576 + 524288, "bytes", b, sizeof b);
    assert_string_equal(b, "3.50MB");
    ig_format_value(1234, "count", b, sizeof b);
    assert_string_equal(b, "1234");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_order_and_totals), cmocka_unit_test(test_tree_filters),
        cmocka_unit_test(test_tree_reverse_and_prune), cmocka_unit_test(test_tree_diff),
        cmocka_unit_test(test_tree_root_reverse_gives_callers), cmocka_unit_test(test_tree_diff_filters_base_too),
        cmocka_unit_test(test_inline_frames_expand),  cmocka_unit_test(test_top_table),
        cmocka_unit_test(test_format_value),
    };
    return cmocka_run_group_tests_name("call tree", tests, NULL, NULL);
}
