/*
 * tests/symbols/test_unsym_views.c — frames without a symbol in the views
 * (profile/framename.h), on a hand-made profile whose every number is
 * known: main calls into libfoo.so (stripped: two addresses deep), which
 * calls back into cb, which calls into libfoo.so again; libbar.so and a
 * JIT frame beside it.  Trees and top tables name such frames by module
 * and merge a run of one module; a reversed tree and a diff do the same;
 * the address granularity keeps them apart; folded stacks name them by
 * module but keep the run; the model itself is untouched (its locations
 * keep their addresses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "exporters/formats.h"
#include "profile/framename.h"
#include "profile/tree.h"

typedef struct fx {
    ignis_profile *p;
    uint32_t main_, cb, foo1, foo2, foo3, bar, jit;
} fx;

static uint32_t sym_loc(ignis_profile *p, uint32_t map, uint64_t addr, const char *fn)
{
    ignis_line l = {ignis_profile_function_named(p, fn, NULL, 0), 0, 0};
    ignis_location loc = {map, addr, &l, 1, IGNIS_FRAME_USER, false};
    return ignis_profile_add_location(p, &loc);
}

static uint32_t raw_loc(ignis_profile *p, uint32_t map, uint64_t addr, ignis_frame_kind kind)
{
    ignis_location loc = {map, addr, NULL, 0, (uint8_t)kind, false};
    return ignis_profile_add_location(p, &loc);
}

static uint32_t mapping(ignis_profile *p, uint64_t start, const char *file)
{
    ignis_mapping m = {start, start + 0x10000, 0, ignis_profile_intern(p, file), 0, false, false, false, false};
    return ignis_profile_add_mapping(p, &m);
}

/* Stacks are written root first here. */
static void sample(fx *f, int64_t v, size_t n, ...)
{
    uint32_t locs[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        locs[n - 1 - i] = va_arg(ap, uint32_t);
    va_end(ap);
    ignis_profile_add_sample(f->p, ignis_profile_add_stack(f->p, locs, n), 0, &v);
}

static fx make(int64_t scale)
{
    fx f;
    f.p = ignis_profile_new();
    ignis_profile_add_value_type(f.p, "samples", "count");
    uint32_t app = mapping(f.p, 0x400000, "/bin/app"), foo = mapping(f.p, 0x7f0000000000, "/usr/lib/libfoo.so"),
             bar = mapping(f.p, 0x7f1000000000, "/usr/lib/libbar.so");
    f.main_ = sym_loc(f.p, app, 0x401000, "main");
    f.cb = sym_loc(f.p, app, 0x402000, "cb");
    f.foo1 = raw_loc(f.p, foo, 0x7f0000001000, IGNIS_FRAME_USER);
    f.foo2 = raw_loc(f.p, foo, 0x7f0000002000, IGNIS_FRAME_USER);
    f.foo3 = raw_loc(f.p, foo, 0x7f0000003000, IGNIS_FRAME_USER);
    f.bar = raw_loc(f.p, bar, 0x7f1000001000, IGNIS_FRAME_USER);
    f.jit = raw_loc(f.p, 0, 0x7f5500000000, IGNIS_FRAME_JIT);
    sample(&f, 10 * scale, 3, f.main_, f.foo1, f.foo2);                 /* main;[libfoo.so] 10 */
    sample(&f, 5 * scale, 2, f.main_, f.foo3);                          /* main;[libfoo.so] 5 */
    sample(&f, 4 * scale, 5, f.main_, f.foo1, f.foo2, f.cb, f.foo3);    /* ...;cb;[libfoo.so] 4 */
    sample(&f, 3 * scale, 4, f.main_, f.foo1, f.bar, f.foo2);           /* modules alternate: no merge */
    sample(&f, 2 * scale, 2, f.main_, f.jit);
    return f;
}

/* The tree as "name(total/self)" in depth-first order, depth as indent dots. */
static void render(const ig_tree *t, char *out, size_t len)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < ig_tree_size(t); i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        char one[200];
        snprintf(one, sizeof one, "%s%.*s%s(%lld/%lld)", i ? " " : "", (int)n->depth, "..........",
                 ig_tree_name(t, n->name), (long long)n->total, (long long)n->self);
        strncat(out, one, len - strlen(out) - 1);
    }
}

static ig_tree *build(const ignis_profile *p, ig_granularity g, int reverse)
{
    ig_tree_opts o = {.value = -1, .granularity = g, .reverse = reverse};
    ig_err err;
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_non_null(t);
    return t;
}

static void test_names(void **state)
{
    (void)state;
    fx f = make(1);
    char buf[128];
    assert_string_equal(ig_frame_display_name(f.p, f.foo1, 0, 0, buf, sizeof buf), "[libfoo.so]");
    assert_string_equal(ig_frame_display_name(f.p, f.foo1, 0, 1, buf, sizeof buf), "libfoo.so+0x1000");
    assert_string_equal(ig_frame_display_name(f.p, f.jit, 0, 0, buf, sizeof buf), "[jit]");
    assert_string_equal(ig_frame_display_name(f.p, f.main_, 0, 0, buf, sizeof buf), "main");
    ignis_location loc = {0, 0xffffffff81000000ULL, NULL, 0, IGNIS_FRAME_KERNEL, false};
    assert_string_equal(ig_frame_region_name(f.p, &loc, buf, sizeof buf), "[kernel]");
    loc.kind = IGNIS_FRAME_USER;
    assert_string_equal(ig_frame_region_name(f.p, &loc, buf, sizeof buf), "[unknown]");
    loc.mapping = mapping(f.p, 0x7ffd00000000, "[vdso]");
    assert_string_equal(ig_frame_region_name(f.p, &loc, buf, sizeof buf), "[vdso]");
    loc.mapping = mapping(f.p, 0x7ffe00000000, "//anon");
    assert_string_equal(ig_frame_region_name(f.p, &loc, buf, sizeof buf), "[anon]");
    /* the model keeps the address */
    assert_string_equal(ignis_profile_frame_name(f.p, f.foo2, 0, buf, sizeof buf), "libfoo.so+0x2000");
    ignis_profile_free(f.p);
}

static void test_tree_merges_a_run(void **state)
{
    (void)state;
    fx f = make(1);
    char s[2048];
    ig_tree *t = build(f.p, IG_GRAN_FUNCTION, 0);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .main(24/0) ..[jit](2/2) ..[libfoo.so](22/15) ...[libbar.so](3/0)"
                           " ....[libfoo.so](3/3) ...cb(4/0) ....[libfoo.so](4/4)");
    ig_tree_free(t);
    /* callers: the leaf first, the run still one frame (self at the path's end) */
    t = build(f.p, IG_GRAN_FUNCTION, 1);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .[jit](2/0) ..main(2/2) .[libfoo.so](22/0) ..[libbar.so](3/0)"
                           " ...[libfoo.so](3/0) ....main(3/3) ..cb(4/0) ...[libfoo.so](4/0) ....main(4/4)"
                           " ..main(15/15)");
    ig_tree_free(t);
    /* by address: every location its own frame, as before */
    t = build(f.p, IG_GRAN_ADDRESS, 0);
    render(t, s, sizeof s);
    assert_string_equal(s, "root(24/0) .main(24/0) ..0x7f5500000000(2/2) ..libfoo.so+0x1000(17/0)"
                           " ...libbar.so+0x1000(3/0) ....libfoo.so+0x2000(3/3) ...libfoo.so+0x2000(14/10)"
                           " ....cb(4/0) .....libfoo.so+0x3000(4/4) ..libfoo.so+0x3000(5/5)");
    ig_tree_free(t);
    ignis_profile_free(f.p);
}

static void test_top_and_diff(void **state)
{
    (void)state;
    fx f = make(1), base = make(2);
    ig_tree_opts o = {.value = -1};
    ig_err err;
    ig_top *top = ig_top_build(f.p, &o, IG_SORT_FLAT, &err);
    assert_non_null(top);
    const ig_top_row *r = ig_top_row_at(top, 0);
    assert_string_equal(ig_top_name(top, r->name), "[libfoo.so]");
    assert_int_equal(r->flat, 22);
    assert_int_equal(r->cum, 22);
    ig_top_free(top);
    /* a diff pairs the module frames of both profiles */
    ig_tree *t = build(f.p, IG_GRAN_FUNCTION, 0);
    assert_int_equal(ig_tree_add_base(t, base.p, &err), 0);
    const ig_tree_node *n = ig_tree_node_at(t, 3);
    assert_string_equal(ig_tree_name(t, n->name), "[libfoo.so]");
    assert_int_equal(n->total, 22);
    assert_int_equal(n->base_total, 44);
    assert_int_equal(ig_tree_size(t), 8); /* no path only in the base */
    ig_tree_free(t);
    ignis_profile_free(f.p);
    ignis_profile_free(base.p);
}

static void test_folded_keeps_the_run(void **state)
{
    (void)state;
    fx f = make(1);
    ig_write_opts o = {.tree = {.value = -1}};
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err;
    assert_int_equal(ig_folded_write(f.p, &o, &sb, &err), 0);
    ig_sb_putc(&sb, '\0');
    assert_string_equal(sb.data, "main;[jit]_[j] 2\n"
                                 "main;[libfoo.so] 5\n"
                                 "main;[libfoo.so];[libbar.so];[libfoo.so] 3\n"
                                 "main;[libfoo.so];[libfoo.so] 10\n"
                                 "main;[libfoo.so];[libfoo.so];cb;[libfoo.so] 4\n");
    ig_sb_free(&sb);
    sb = (ig_strbuf)IG_STRBUF_INIT;
    o.tree.granularity = IG_GRAN_ADDRESS;
    assert_int_equal(ig_folded_write(f.p, &o, &sb, &err), 0);
    ig_sb_putc(&sb, '\0');
    assert_non_null(strstr(sb.data, "main;libfoo.so+0x1000;libfoo.so+0x2000 10\n"));
    ig_sb_free(&sb);
    ignis_profile_free(f.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_tree_merges_a_run),
        cmocka_unit_test(test_top_and_diff),
        cmocka_unit_test(test_folded_keeps_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
