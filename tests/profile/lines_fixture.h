/*
 * tests/profile/lines_fixture.h — a small profile with functions, source
 * files, lines, an inlined frame and two modules, whose per-line costs are
 * worked out by hand (test_source.c, test_granularity.c).
 *
 *   stack (root first)                                   value  module
 *   main main.c:10 > hot hot.c:5                           10   app
 *   main main.c:10 > hot hot.c:6                            5   app
 *   main main.c:11 > hot hot.c:5 > hot hot.c:7 (recursion)  3   app
 *   main main.c:12 > hot hot.c:8 > inl hot.c:20 (inlined)   2   app
 *   main main.c:13 > memcpy (no line, libc.so.6)            4   libc
 *
 * Functions: main (main.c, starts at line 9), hot (hot.c, starts at 4),
 * inl (hot.c, starts at 19), memcpy (no file).  Total 24.
 */
#ifndef IG_TESTS_LINES_FIXTURE_H
#define IG_TESTS_LINES_FIXTURE_H

#include "ignis/profile.h"

typedef struct fx_frame {
    const char *fn;  /* NULL ends */
    int64_t line;
    const char *inl; /* an inlined callee at inl_line, or NULL */
    int64_t inl_line;
} fx_frame;

static inline uint32_t fx_location(ignis_profile *p, const char *hot_file, uint32_t app, uint32_t libc,
                                   const fx_frame *f, uint64_t addr)
{
    ignis_line lines[2];
    uint32_t n = 0;
    const char *file = !strcmp(f->fn, "main") ? "main.c" : !strcmp(f->fn, "memcpy") ? "" : hot_file;
    int64_t start = !strcmp(f->fn, "main") ? 9 : !strcmp(f->fn, "hot") ? 4 : 0;
    if (f->inl)
        lines[n++] = (ignis_line){ignis_profile_function_named(p, f->inl, hot_file, 19), f->inl_line, 0};
    lines[n++] = (ignis_line){ignis_profile_function_named(p, f->fn, file, start), f->line, 0};
    ignis_location loc = {!strcmp(f->fn, "memcpy") ? libc : app, addr, lines, n, IGNIS_FRAME_USER, false};
    return ignis_profile_add_location(p, &loc);
}

/* The profile above; hot.c and inl's file are recorded as hot_file. */
static inline ignis_profile *fx_lines_profile(const char *hot_file)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_mapping app = {0x1000, 0x9000, 0, ignis_profile_intern(p, "/usr/bin/app"), 0, true, true, true, true};
    ignis_mapping libc = {0x10000, 0x19000, 0, ignis_profile_intern(p, "/lib/libc.so.6"), 0, true, true, true, true};
    uint32_t ma = ignis_profile_add_mapping(p, &app), ml = ignis_profile_add_mapping(p, &libc);
    static const struct { fx_frame f[4]; int64_t v; } stacks[] = {
        {{{"main", 10, NULL, 0}, {"hot", 5, NULL, 0}, {NULL, 0, NULL, 0}}, 10},
        {{{"main", 10, NULL, 0}, {"hot", 6, NULL, 0}, {NULL, 0, NULL, 0}}, 5},
        {{{"main", 11, NULL, 0}, {"hot", 5, NULL, 0}, {"hot", 7, NULL, 0}, {NULL, 0, NULL, 0}}, 3},
        {{{"main", 12, NULL, 0}, {"hot", 8, "inl", 20}, {NULL, 0, NULL, 0}}, 2},
        {{{"main", 13, NULL, 0}, {"memcpy", 0, NULL, 0}, {NULL, 0, NULL, 0}}, 4},
    };
    for (size_t s = 0; s < sizeof stacks / sizeof stacks[0]; s++) {
        uint32_t locs[4];
        size_t n = 0;
        while (stacks[s].f[n].fn)
            n++;
        for (size_t i = 0; i < n; i++) /* leaf first */
            locs[n - 1 - i] = fx_location(p, hot_file, ma, ml, &stacks[s].f[i],
                                          0x1000 + 16 * (uint64_t)(stacks[s].f[i].line + 100 * i));
        int64_t v = stacks[s].v;
        ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, n), 0, &v);
    }
    return p;
}

#endif
