/*
 * tests/profile/test_tree.c — call trees and top tables: order, totals,
 * filters (pprof's focus/ignore/hide/show/show_from/prune_from/tagfocus/
 * tagignore), filters that match nothing, totals before filters, reverse,
 * pruning, diff (value type checks, normalize, order by change, removed
 * frames), threads, filtered copies, inline expansion, value formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
    /* the value types differ ({samples, cpu} and {cpu}): only a value
     * chosen explicitly is compared */
    ig_tree *t = ig_tree_build(p, NULL, &err);
    assert_int_equal(ig_tree_add_base(t, base, &err), -1);
    assert_non_null(strstr(err.msg, "incompatible sample types [samples/count cpu/nanoseconds] and [cpu/nanoseconds]"));
    ig_tree_free(t);
    ig_tree_opts cpu = {.value = 1};
    t = ig_tree_build(p, &cpu, &err);
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
    /* drawn widths: x, only in the base, as wide as its base value, and
     * its ancestors wider by as much; a has nothing removed below it */
    int64_t widths[8];
    for (uint32_t i = 0; i < 8; i++)
        widths[i] = ig_tree_draw_width(t, i);
    int64_t want[8] = {16, 15, 12, 5, 3, 2, 1, 1};
    assert_memory_equal(widths, want, sizeof want);
    assert_true(ig_tree_node_removed(t, ig_tree_node_at(t, 6)));
    assert_false(ig_tree_node_removed(t, ig_tree_node_at(t, 3)));
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

/* Adds a sample with labels bytes=N (numeric, unit bytes) and span=S. */
static void add_labelled(ignis_profile *p, const char *path, int64_t v, int64_t bytes, const char *span)
{
    uint32_t locs[16];
    size_t n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        locs[n++] = ignis_profile_location_for_function(p, ignis_profile_function_named(p, tok, "", 0),
                                                        IGNIS_FRAME_USER);
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t t = locs[i];
        locs[i] = locs[n - 1 - i];
        locs[n - 1 - i] = t;
    }
    ignis_label l[2] = {{ignis_profile_intern(p, "bytes"), 0, bytes, ignis_profile_intern(p, "bytes")},
                        {ignis_profile_intern(p, "span"), ignis_profile_intern(p, span), 0, 0}};
    int64_t vals[2] = {1, v};
    assert_int_equal(ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, n),
                                              ignis_profile_add_labels(p, l, 2), vals), 0);
}

static void test_frame_filters(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ig_err err;
    char s[512];
    /* hide: a is dropped from the paths, its samples stay */
    ig_tree_opts h = {.value = -1, .hide = "^a$"};
    ig_tree *t = ig_tree_build(p, &h, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/0) main(14/4) b(5/5) c(3/3) d(2/2) other(1/1)");
    assert_int_equal(ig_tree_total_all(t), 15);
    ig_tree_free(t);
    /* show: only main and b are left */
    ig_tree_opts sh = {.value = -1, .show = "^(main|b)$"};
    t = ig_tree_build(p, &sh, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/1) main(14/9) b(5/5)");
    ig_tree_free(t);
    /* prune_from: a's callees go, a keeps their value as self */
    ig_tree_opts pf = {.value = -1, .prune_from = "^a$"};
    t = ig_tree_build(p, &pf, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(15/0) main(14/0) a(12/12) d(2/2) other(1/1)");
    ig_tree_free(t);
    /* the top table sees the same paths */
    ig_top *top = ig_top_build(p, &pf, IG_SORT_FLAT, &err);
    assert_string_equal(ig_top_name(top, ig_top_row_at(top, 0)->name), "a");
    assert_int_equal(ig_top_row_at(top, 0)->flat, 12);
    ig_top_free(top);
    ig_tree_opts bad = {.value = -1, .hide = "("};
    assert_null(ig_tree_build(p, &bad, &err));
    assert_non_null(strstr(err.msg, "--hide: invalid regular expression"));
    /* glibc's regcomp copies repeated repetitions: refused before it runs */
    ig_tree_opts slow = {.value = -1, .focus = "x+++++++++++++++++++++++++"};
    assert_null(ig_tree_build(p, &slow, &err));
    assert_non_null(strstr(err.msg, "--focus: invalid regular expression 'x++"));
    assert_non_null(strstr(err.msg, "invalid nested repetition operator"));
    /* stacked operators after an optional item: exponential in glibc (the
     * fuzzer's 12 s timeout), refused as Go's regexp does */
    ig_tree_opts stacked = {.value = -1, .focus = "x?++++++++++/+SISSs"};
    assert_null(ig_tree_build(p, &stacked, &err));
    assert_non_null(strstr(err.msg, "invalid nested repetition operator"));
    ig_tree_opts lazy = {.value = -1, .focus = "a+?|b*?|c{2}?|[+*]+|\\*+"};
    t = ig_tree_build(p, &lazy, &err);
    assert_non_null(t);
    ig_tree_free(t);
    ig_tree_opts nested = {.value = -1, .ignore = "((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+"};
    assert_null(ig_tree_build(p, &nested, &err));
    ig_tree_opts fine = {.value = -1, .focus = "^(main|[[:alpha:]]+_x{2,9})$|b{100}|\\+\\+\\+"};
    t = ig_tree_build(p, &fine, &err);
    assert_non_null(t);
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_unmatched_filters_and_totals(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    ig_err err;
    char msg[256];
    ig_tree_opts f = {.value = -1, .focus = "^b$"};
    ig_top *top = ig_top_build(p, &f, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_total(top), 5);
    assert_int_equal(ig_top_total_all(top), 15);
    assert_int_equal(ig_top_pct_total(top), 15); /* percentages of the whole profile */
    assert_false(ig_top_unmatched(top, msg, sizeof msg));
    ig_top_free(top);
    f.relative = 1;
    top = ig_top_build(p, &f, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_pct_total(top), 5);
    ig_top_free(top);

    ig_tree_opts none = {.value = -1, .focus = "^b$", .ignore = "nosuch"};
    top = ig_top_build(p, &none, IG_SORT_FLAT, &err);
    assert_true(ig_top_unmatched(top, msg, sizeof msg));
    assert_string_equal(msg, "--ignore=nosuch: expression matched no samples");
    ig_top_free(top);
    /* focus is judged on every sample, not only those ignore kept */
    ig_tree_opts both = {.value = -1, .focus = "^b$", .ignore = "^a$"};
    ig_tree *t = ig_tree_build(p, &both, &err);
    assert_int_equal(ig_tree_total(t), 0);
    assert_false(ig_tree_unmatched(t, msg, sizeof msg));
    ig_tree_free(t);
    ig_tree_opts th = {.value = -1, .thread = "t9"};
    t = ig_tree_build(p, &th, &err);
    assert_true(ig_tree_unmatched(t, msg, sizeof msg));
    assert_string_equal(msg, "--thread=t9: expression matched no samples");
    ig_tree_free(t);
    static const char *const tf[] = {"thread=t9", NULL};
    ig_tree_opts tag = {.value = -1, .tagfocus = tf};
    t = ig_tree_build(p, &tag, &err);
    assert_true(ig_tree_unmatched(t, msg, sizeof msg));
    assert_string_equal(msg, "--tagfocus=thread=t9: expression matched no samples");
    ig_tree_free(t);
    ignis_profile_free(p);
}

static void test_tag_filters(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "alloc_space", "bytes");
    add_labelled(p, "main;small", 100, 100, "GET /a");
    add_labelled(p, "main;mid", 4096, 4096, "GET /b");
    add_labelled(p, "main;big", 2 << 20, 2 << 20, "POST /c");
    ig_err err;
    char s[512];
    struct { const char *focus, *ignore, *want; } cases[] = {
        {"bytes=1kb:", NULL, "root(2101248/0) main(2101248/0) big(2097152/2097152) mid(4096/4096)"},
        {"bytes=:1kb", NULL, "root(100/0) main(100/0) small(100/100)"},
        {"bytes=4kb", NULL, "root(4096/0) main(4096/0) mid(4096/4096)"},
        {"bytes=1kb:1mb", NULL, "root(4096/0) main(4096/0) mid(4096/4096)"},
        {"span=^GET", NULL, "root(4196/0) main(4196/0) mid(4096/4096) small(100/100)"},
        {"span=/a,/c", NULL, "root(2097252/0) main(2097252/0) big(2097152/2097152) small(100/100)"},
        {"POST", NULL, "root(2097152/0) main(2097152/0) big(2097152/2097152)"},
        {NULL, "span=GET", "root(2097152/0) main(2097152/0) big(2097152/2097152)"},
        {NULL, "1mb:", "root(4196/0) main(4196/0) mid(4096/4096) small(100/100)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *f[] = {cases[i].focus, NULL}, *g[] = {cases[i].ignore, NULL};
        ig_tree_opts o = {.value = -1, .tagfocus = cases[i].focus ? f : NULL, .tagignore = cases[i].ignore ? g : NULL};
        ig_tree *t = ig_tree_build(p, &o, &err);
        assert_non_null(t);
        render(t, s, sizeof s);
        assert_string_equal(s, cases[i].want);
        ig_tree_free(t);
    }
    /* every tagfocus entry must hold */
    static const char *const two[] = {"span=GET", "bytes=1kb:", NULL};
    ig_tree_opts o = {.value = -1, .tagfocus = two};
    ig_tree *t = ig_tree_build(p, &o, &err);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(4096/0) main(4096/0) mid(4096/4096)");
    ig_tree_free(t);
    static const char *const bad[] = {"=x", NULL};
    ig_tree_opts b = {.value = -1, .tagfocus = bad};
    assert_null(ig_tree_build(p, &b, &err));
    assert_non_null(strstr(err.msg, "--tagfocus==x"));
    ignis_profile_free(p);
}

static void test_diff_order_normalize_removed(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new(), *base = ignis_profile_new();
    for (int i = 0; i < 2; i++) {
        ignis_profile_add_value_type(i ? base : p, "samples", "count");
        ignis_profile_add_value_type(i ? base : p, "cpu", "nanoseconds");
    }
    add(p, "main;a", 50, NULL);
    add(p, "main;b", 48, NULL);
    add(p, "main;c", 2, NULL);
    add(base, "main;a", 52, NULL);
    add(base, "main;b", 28, NULL);
    add(base, "main;gone", 20, NULL);
    add(base, "main;c", 100, NULL);
    ig_err err;
    ig_tree_opts o = {.value = -1};
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_add_base(top, base, IG_SORT_FLAT, &err), 0);
    assert_true(ig_top_is_diff(top));
    /* by |change|: c -98, b +20, gone -20 (b first: the larger flat), a -2, main 0 */
    const char *want[] = {"c", "b", "gone", "a", "main"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(ig_top_name(top, ig_top_row_at(top, i)->name), want[i]);
    assert_int_equal(ig_top_row_at(top, 2)->flat, 0);
    assert_int_equal(ig_top_row_at(top, 2)->base_flat, 20);
    assert_int_equal(ig_top_base_total(top), 200);
    ig_top_free(top);
    /* normalized: the base (200) is scaled to 100 */
    o.normalize = 1;
    top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_add_base(top, base, IG_SORT_FLAT, &err), 0);
    assert_int_equal(ig_top_base_total(top), 100);
    assert_int_equal(ig_top_base_total_all(top), 200);
    assert_true(ig_top_base_scale(top) == 0.5);
    assert_string_equal(ig_top_name(top, ig_top_row_at(top, 0)->name), "c"); /* 2 - 50 */
    assert_string_equal(ig_top_name(top, ig_top_row_at(top, 1)->name), "b"); /* 48 - 14 */
    assert_int_equal(ig_top_row_at(top, 1)->base_flat, 14);
    ig_top_free(top);
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_int_equal(ig_tree_add_base(t, base, &err), 0);
    assert_int_equal(ig_tree_node_at(t, 0)->base_total, 100);
    ig_tree_free(t);
    /* a pruned tree keeps removed frames that reach the threshold */
    ig_tree_opts pr = {.value = -1, .min_total = 10};
    t = ig_tree_build(p, &pr, &err);
    assert_int_equal(ig_tree_add_base(t, base, &err), 0);
    char s[512];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(100/0) main(100/0) a(50/50) b(48/48) c(0/0) gone(0/0)");
    ig_tree_free(t);
    ignis_profile_free(base);
    ignis_profile_free(p);
}

static void test_threads(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    add(p, "main;x", 6, "t3");
    ig_err err;
    ig_tree_opts o = {.value = -1, .thread = "t1", .ignore = "^d$"};
    ig_threads *th = ig_threads_build(p, &o, &err); /* thread is ignored, ignore is not */
    assert_non_null(th);
    assert_int_equal(ig_threads_count(th), 3);
    assert_string_equal(ig_threads_row(th, 0)->name, "t1");
    assert_int_equal(ig_threads_row(th, 0)->value, 12);
    assert_string_equal(ig_threads_row(th, 1)->name, "t3");
    assert_string_equal(ig_threads_row(th, 2)->name, "t2");
    assert_int_equal(ig_threads_total_all(th), 21);
    ig_threads_free(th);
    const char *pick[] = {"t2", "t3"};
    char *re = ig_thread_regex(pick, 2);
    assert_string_equal(re, "^(t2|t3)$");
    ig_tree_opts two = {.value = -1, .thread = re};
    ig_tree *t = ig_tree_build(p, &two, &err);
    char s[512];
    render(t, s, sizeof s);
    assert_string_equal(s, "root(7/0) main(6/0) x(6/6) other(1/1)");
    ig_tree_free(t);
    free(re);
    const char *odd[] = {"a.b(1)"};
    re = ig_thread_regex(odd, 1);
    assert_string_equal(re, "^(a\\.b\\(1\\))$");
    free(re);
    assert_null(ig_thread_regex(NULL, 0));
    ignis_profile_free(p);
}

static void test_profile_filter(void **state)
{
    (void)state;
    ignis_profile *p = sample_profile();
    /* an inlined chain: location with lines leaf_inl (inlined) in caller */
    uint32_t f_leaf = ignis_profile_function_named(p, "leaf_inl", "x.c", 3);
    uint32_t f_caller = ignis_profile_function_named(p, "caller", "x.c", 1);
    ignis_line lines[] = {{f_leaf, 4, 0}, {f_caller, 2, 0}};
    ignis_location loc = {0, 0x10, lines, 2, IGNIS_FRAME_USER, false};
    uint32_t l = ignis_profile_add_location(p, &loc);
    uint32_t m = ignis_profile_location_for_function(p, ignis_profile_function_named(p, "main", "", 0),
                                                     IGNIS_FRAME_USER);
    uint32_t st[] = {l, m};
    int64_t vals[2] = {1, 7};
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, st, 2), 0, vals);
    ig_err err;
    char s[512], s2[512];
    ig_tree_opts o = {.value = -1, .focus = "^main$", .hide = "^(a|leaf_inl)$", .thread = "t1|^$"};
    ignis_profile *q = ig_profile_filter(p, &o, NULL, 0, &err);
    assert_non_null(q);
    /* the copy's plain tree is the filtered tree of the original */
    ig_tree *t = ig_tree_build(p, &o, &err), *u = ig_tree_build(q, NULL, &err);
    render(t, s, sizeof s);
    render(u, s2, sizeof s2);
    assert_string_equal(s, "root(21/0) main(21/4) b(5/5) c(3/3) caller(7/7) d(2/2)");
    assert_string_equal(s2, s);
    ig_tree_free(t);
    ig_tree_free(u);
    /* every value, the labels and the functions' files survive */
    assert_int_equal(ignis_profile_num_values(q), 2);
    assert_int_equal(ignis_profile_total(q, 0), 5);
    ig_tree_opts t1 = {.value = -1, .thread = "^t1$"};
    t = ig_tree_build(q, &t1, &err);
    assert_int_equal(ig_tree_total(t), 14);
    ig_tree_free(t);
    int found = 0;
    for (uint32_t id = 1; id <= ignis_profile_num_locations(q); id++) {
        const ignis_location *ql = ignis_profile_location(q, id);
        const ignis_function *f = ignis_profile_function(q, ql->lines[0].function);
        if (!strcmp(ignis_profile_string(q, f->name), "caller")) {
            found = 1;
            assert_int_equal(ql->nlines, 1);
            assert_int_equal(ql->lines[0].line, 2);
            assert_int_equal(ql->address, 0x10);
            assert_string_equal(ignis_profile_string(q, f->filename), "x.c");
        }
    }
    assert_true(found);
    ignis_profile_free(q);
    ig_tree_opts bad = {.value = -1, .show = "["};
    assert_null(ig_profile_filter(p, &bad, NULL, 0, &err));
    ignis_profile_free(p);
}

/* Adds stack `leaf` under main with value v, labelled pprof::base=true
 * (what pprof -diff_base puts on the base's negated samples) when base. */
static void add_signed(ignis_profile *p, const char *leaf, int64_t v, int base)
{
    uint32_t locs[2] = {
        ignis_profile_location_for_function(p, ignis_profile_function_named(p, leaf, "", 0), IGNIS_FRAME_USER),
        ignis_profile_location_for_function(p, ignis_profile_function_named(p, "main", "", 0), IGNIS_FRAME_USER)};
    ignis_label l = {ignis_profile_intern(p, "pprof::base"), ignis_profile_intern(p, "true"), 0, 0};
    int64_t vals[2] = {1, v};
    assert_int_equal(
        ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, 2), base ? ignis_profile_add_labels(p, &l, 1) : 0,
                                 vals),
        0);
}

/* Percentages of a mixed-sign profile, as `go tool pprof -top` prints
 * them: of the sum of absolute values (850 here, where the values sum to
 * -50), rows by the size of their flat value. */
static void test_mixed_sign_percent_base(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "delta", "count");
    add_signed(p, "hot", 300, 0);
    add_signed(p, "cold", -200, 0);
    add_signed(p, "c", 100, 0);
    add_signed(p, "d", -250, 0);
    ig_err err;
    ig_tree_opts o = {.value = 1};
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_non_null(top);
    assert_int_equal(ig_top_total_all(top), -50);
    assert_int_equal(ig_top_pct_total(top), 850);
    const char *order[] = {"hot", "d", "cold", "c", "main"};
    assert_int_equal(ig_top_rows(top), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(ig_top_name(top, ig_top_row_at(top, i)->name), order[i]);
    ig_top_free(top);
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_int_equal(ig_tree_total(t), -50);
    assert_int_equal(ig_tree_pct_total(t), 850);
    ig_tree_free(t);
    o.focus = "^(hot|d)$"; /* relative: of what was kept, 300 + |-250| */
    o.relative = 1;
    top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_pct_total(top), 550);
    assert_int_equal(ig_top_pct_total_all(top), 850);
    ig_top_free(top);
    ig_threads *th = ig_threads_build(p, &o, &err);
    assert_int_equal(ig_threads_pct_total(th, 0), 850);
    assert_int_equal(ig_threads_pct_total(th, 1), 550);
    ig_threads_free(th);
    ignis_profile_free(p);
}

/* A profile written by pprof -proto -diff_base: percentages are of the
 * base's samples alone (go tool pprof -top: "0, 0% of 100 total"). */
static void test_diff_base_samples_are_the_percent_base(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "delta", "count");
    add_signed(p, "a", 30, 0);
    add_signed(p, "b", 50, 0);
    add_signed(p, "c", 20, 0);
    add_signed(p, "a", -60, 1);
    add_signed(p, "b", -40, 1);
    ig_err err;
    ig_tree_opts o = {.value = 1};
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_int_equal(ig_top_pct_total(top), 100);
    ig_top_free(top);
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_int_equal(ig_tree_pct_total(t), 100);
    ig_tree_free(t);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_order_and_totals), cmocka_unit_test(test_tree_filters),
        cmocka_unit_test(test_tree_reverse_and_prune), cmocka_unit_test(test_tree_diff),
        cmocka_unit_test(test_tree_root_reverse_gives_callers), cmocka_unit_test(test_tree_diff_filters_base_too),
        cmocka_unit_test(test_inline_frames_expand),  cmocka_unit_test(test_top_table),
        cmocka_unit_test(test_format_value),          cmocka_unit_test(test_frame_filters),
        cmocka_unit_test(test_unmatched_filters_and_totals), cmocka_unit_test(test_tag_filters),
        cmocka_unit_test(test_diff_order_normalize_removed), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_profile_filter),
        cmocka_unit_test(test_mixed_sign_percent_base), cmocka_unit_test(test_diff_base_samples_are_the_percent_base),
    };
    return cmocka_run_group_tests_name("call tree", tests, NULL, NULL);
}
