/*
 * tests/profile/test_source.c — per-line costs beside the source
 * (profile/source.c, pprof's `list`) on the hand-computed profile of
 * lines_fixture.h: flat at the leaf, cum once per sample, inlined frames,
 * frames without lines, context and gaps, source files found directly or
 * through the search path, unreadable files, filters, case-insensitive
 * regexes and hostile line numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "profile/source.h"
#include "tests/profile/lines_fixture.h"

static const ig_source_fn *find_fn(const ig_source *s, const char *name)
{
    for (size_t i = 0; i < ig_source_count(s); i++)
        if (!strcmp(ig_source_at(s, i)->name, name))
            return ig_source_at(s, i);
    return NULL;
}

static const ig_source_line *find_line(const ig_source_fn *f, int64_t line)
{
    for (size_t i = 0; i < f->nlines; i++)
        if (f->lines[i].line == line)
            return &f->lines[i];
    return NULL;
}

static void assert_line(const ig_source_fn *f, int64_t line, int64_t flat, int64_t cum)
{
    const ig_source_line *l = find_line(f, line);
    assert_non_null(l);
    assert_int_equal(l->flat, flat);
    assert_int_equal(l->cum, cum);
}

static void test_costs_per_line(void **state)
{
    (void)state;
    ignis_profile *p = fx_lines_profile("hot.c");
    ig_err err;
    ig_source_opts o = {NULL, 1, NULL};
    ig_source *s = ig_source_list(p, ".", &o, &err);
    assert_non_null(s);
    assert_int_equal(ig_source_total(s), 24);
    assert_int_equal(ig_source_profile_total(s), 24);
    assert_string_equal(ig_source_value_type(s), "samples");
    /* sorted by cum: main 24, hot 20, memcpy 4, inl 2 */
    assert_int_equal(ig_source_count(s), 4);
    assert_string_equal(ig_source_at(s, 0)->name, "main");
    assert_string_equal(ig_source_at(s, 1)->name, "hot");
    assert_string_equal(ig_source_at(s, 2)->name, "memcpy");
    assert_string_equal(ig_source_at(s, 3)->name, "inl");

    const ig_source_fn *hot = find_fn(s, "hot");
    assert_string_equal(hot->file, "hot.c");
    assert_int_equal(hot->flat, 18); /* 10 + 5 + 3: inl is the leaf of the last */
    assert_int_equal(hot->cum, 20);  /* the recursive sample counts once */
    assert_line(hot, 5, 10, 13);     /* the outer hot of the recursion: cum only */
    assert_line(hot, 6, 5, 5);
    assert_line(hot, 7, 3, 3);
    assert_line(hot, 8, 0, 2);       /* calls the inlined inl */
    /* context 1 around lines 4 (the start) .. 8: lines 3 to 9, no gap */
    assert_int_equal(hot->nlines, 7);
    assert_int_equal(hot->lines[0].line, 3);
    assert_int_equal(hot->lines[6].line, 9);
    assert_line(hot, 4, 0, 0);

    const ig_source_fn *inl = find_fn(s, "inl");
    assert_int_equal(inl->flat, 2);
    assert_line(inl, 20, 2, 2);

    const ig_source_fn *mc = find_fn(s, "memcpy");
    assert_int_equal(mc->nolines_flat, 4);
    assert_int_equal(mc->nolines_cum, 4);
    assert_int_equal(mc->nlines, 0);
    assert_null(mc->path);
    assert_string_equal(mc->why, "no source file recorded");

    const ig_source_fn *m = find_fn(s, "main");
    assert_int_equal(m->flat, 0);
    assert_int_equal(m->cum, 24);
    assert_line(m, 10, 0, 15);
    assert_line(m, 13, 0, 4);
    /* hot.c is not in the current directory */
    assert_null(hot->path);
    assert_non_null(strstr(hot->why, "cannot open hot.c"));
    assert_null(find_line(hot, 5)->text);
    ig_source_free(s);
    ignis_profile_free(p);
}

/* Writes lines "hot line N" (N = 1..n) into dir/name. */
static void write_source(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 1; i <= n; i++)
        fprintf(f, "hot line %d\n", i);
    fclose(f);
}

static void test_source_text_and_search_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-source-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/hot.c", dir);
    write_source(path, 6); /* shorter than the listing: lines 7.. have no text */
    ig_err err;

    ignis_profile *p = fx_lines_profile(path); /* recorded with its full path */
    ig_source_opts o = {NULL, 1, NULL};
    ig_source *s = ig_source_list(p, "^hot$", &o, &err);
    assert_non_null(s);
    assert_int_equal(ig_source_count(s), 1);
    const ig_source_fn *hot = ig_source_at(s, 0);
    assert_string_equal(hot->path, path);
    assert_string_equal(find_line(hot, 5)->text, "hot line 5");
    assert_string_equal(find_line(hot, 3)->text, "hot line 3");
    assert_null(find_line(hot, 7)->text);
    ig_source_free(s);
    ignis_profile_free(p);

    /* recorded under a build directory that is gone: found through the
     * search path with its leading directories dropped */
    p = fx_lines_profile("/build/somewhere/src/hot.c");
    char search[300];
    snprintf(search, sizeof search, "/nonexistent:%s", dir);
    o.search_path = search;
    s = ig_source_list(p, "^hot$", &o, &err);
    assert_non_null(s);
    assert_string_equal(ig_source_at(s, 0)->path, path);
    assert_string_equal(find_line(ig_source_at(s, 0), 6)->text, "hot line 6");
    ig_source_free(s);
    ignis_profile_free(p);

    /* a FIFO of that name is never opened */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    p = fx_lines_profile(path);
    o.search_path = NULL;
    s = ig_source_list(p, "^hot$", &o, &err);
    assert_non_null(s);
    assert_null(ig_source_at(s, 0)->path);
    ig_source_free(s);
    ignis_profile_free(p);
    unlink(path);
    rmdir(dir);
}

static void test_filters_and_regex(void **state)
{
    (void)state;
    ignis_profile *p = fx_lines_profile("hot.c");
    ig_err err;
    ig_tree_opts t = {-1, 0, "^inl$", NULL, NULL, NULL, 0};
    ig_source_opts o = {&t, 0, NULL};
    ig_source *s = ig_source_list(p, "(?i)^HOT$", &o, &err);
    assert_non_null(s);
    assert_int_equal(ig_source_total(s), 2);          /* only the sample through inl */
    assert_int_equal(ig_source_profile_total(s), 24);
    assert_int_equal(ig_source_count(s), 1);
    assert_int_equal(ig_source_at(s, 0)->cum, 2);
    assert_int_equal(ig_source_at(s, 0)->flat, 0);
    ig_source_free(s);

    s = ig_source_list(p, "^nothing$", NULL, &err);
    assert_non_null(s);
    assert_int_equal(ig_source_count(s), 0);
    ig_source_free(s);

    assert_null(ig_source_list(p, "(", NULL, &err));
    assert_non_null(strstr(err.msg, "--list: invalid regular expression"));
    ig_tree_opts bad = {-1, 0, "(", NULL, NULL, NULL, 0};
    o.tree = &bad;
    assert_null(ig_source_list(p, "hot", &o, &err));
    assert_non_null(strstr(err.msg, "--focus"));
    ignis_profile_free(p);
}

/* Lines far apart become ranges with a gap; lines at the ends of int64
 * and below 1 neither crash nor allocate by their value. */
static void test_gaps_and_hostile_lines(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    uint32_t fn = ignis_profile_function_named(p, "far", "far.c", 0);
    const int64_t lines[] = {10, 1000, INT64_MAX, -5, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        ignis_line l = {fn, lines[i], 0};
        ignis_location loc = {0, 0x100 + i, &l, 1, IGNIS_FRAME_USER, false};
        uint32_t id = ignis_profile_add_location(p, &loc);
        int64_t v = 1;
        ignis_profile_add_sample(p, ignis_profile_add_stack(p, &id, 1), 0, &v);
    }
    ig_err err;
    ig_source_opts o = {NULL, 2, NULL};
    ig_source *s = ig_source_list(p, "far", &o, &err);
    assert_non_null(s);
    const ig_source_fn *f = ig_source_at(s, 0);
    assert_int_equal(f->flat, 5);
    assert_int_equal(f->nolines_flat, 1); /* line -5 */
    /* 8..12, gap, 998..1002, gap, INT64_MAX-3 .. INT64_MAX */
    assert_int_equal(f->nlines, 5 + 1 + 5 + 1 + 4);
    assert_int_equal(f->lines[0].line, 8);
    assert_int_equal(f->lines[5].line, 0);
    assert_int_equal(f->lines[6].line, 998);
    assert_int_equal(f->lines[11].line, 0);
    assert_int_equal(f->lines[15].line, INT64_MAX);
    assert_int_equal(f->lines[15].flat, 1);
    ig_source_free(s);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_costs_per_line),
        cmocka_unit_test(test_source_text_and_search_path),
        cmocka_unit_test(test_filters_and_regex),
        cmocka_unit_test(test_gaps_and_hostile_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
