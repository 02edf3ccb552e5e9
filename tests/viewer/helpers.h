/*
 * tests/viewer/helpers.h — profiles for the viewer tests, written like
 * folded stacks ("main;a;b" root first) through the public profile API.
 */
#ifndef IG_TESTS_VIEWER_HELPERS_H
#define IG_TESTS_VIEWER_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ignis/profile.h"

/* Frames prefixed "k:" are kernel frames, "j:" JIT frames. */
static inline uint32_t test_location(ignis_profile *p, const char *name)
{
    ignis_frame_kind kind = IGNIS_FRAME_USER;
    if (!strncmp(name, "k:", 2))
        kind = IGNIS_FRAME_KERNEL, name += 2;
    else if (!strncmp(name, "j:", 2))
        kind = IGNIS_FRAME_JIT, name += 2;
    uint32_t fn = ignis_profile_function_named(p, name, NULL, 0);
    return ignis_profile_location_for_function(p, fn, kind);
}

/* Adds "root;..;leaf" with values (nvalues of them) and an optional thread label. */
static inline void test_add(ignis_profile *p, const char *stack, const int64_t *values, const char *thread)
{
    uint32_t locs[64];
    size_t n = 0;
    char *copy = strdup(stack), *save = NULL;
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
        locs[n++] = test_location(p, tok);
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t t = locs[i];
        locs[i] = locs[n - 1 - i];
        locs[n - 1 - i] = t;
    }
    free(copy);
    uint32_t labels = 0;
    if (thread) {
        ignis_label l = {ignis_profile_intern(p, "thread"), ignis_profile_intern(p, thread), 0, 0};
        labels = ignis_profile_add_labels(p, &l, 1);
    }
    uint32_t sid = ignis_profile_add_stack(p, locs, n);
    assert_int_equal(ignis_profile_add_sample(p, sid, labels, values), 0);
}

/* A one-value ("samples"/"count") profile from "stack count" lines. */
static inline ignis_profile *test_profile(const char *const *lines)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    for (size_t i = 0; lines[i]; i++) {
        char buf[512];
        strcpy(buf, lines[i]);
        char *sp = strrchr(buf, ' ');
        *sp = 0;
        int64_t v = atoll(sp + 1);
        test_add(p, buf, &v, NULL);
    }
    return p;
}

#endif
