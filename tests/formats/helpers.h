/*
 * tests/formats/helpers.h — shared by the format tests: reading test data,
 * rendering a model stack as "root;...;leaf" text and summing values by
 * stack or leaf function, so assertions compare against ground truth
 * computed independently of the writers under test.
 */
#ifndef TESTS_FORMATS_HELPERS_H
#define TESTS_FORMATS_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "utils/fileio.h"

static inline uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *d = NULL;
    ig_err err;
    if (ig_read_file(path, &d, len, &err))
        fail_msg("%s", err.msg);
    return d;
}

/* "root;...;leaf" of a stack, every line of every location (callers first). */
static inline void stack_text(const ignis_profile *p, uint32_t stack, char *out, size_t size)
{
    size_t n, used = 0;
    const uint32_t *locs = ignis_profile_stack(p, stack, &n);
    out[0] = '\0';
    for (size_t i = n; i-- > 0;) {
        const ignis_location *l = ignis_profile_location(p, locs[i]);
        uint32_t nl = l->nlines ? l->nlines : 1;
        for (uint32_t k = nl; k-- > 0;) {
            char buf[512];
            ignis_profile_frame_name(p, locs[i], k, buf, sizeof buf);
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ";" : "", buf);
            if (used >= size)
                return;
        }
    }
}

/* Sum of value vi over samples whose stack text equals `text`. */
static inline int64_t value_of_stack(const ignis_profile *p, const char *text, size_t vi)
{
    int64_t v = 0;
    char buf[8192];
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        stack_text(p, s.stack, buf, sizeof buf);
        if (!strcmp(buf, text))
            v += s.values[vi];
    }
    return v;
}

/* Sum of value vi over samples whose leaf line (innermost) is function `name`. */
static inline int64_t flat_of(const ignis_profile *p, const char *name, size_t vi)
{
    int64_t v = 0;
    char buf[512];
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        if (n && !strcmp(ignis_profile_frame_name(p, locs[0], 0, buf, sizeof buf), name))
            v += s.values[vi];
    }
    return v;
}

/* Every (stack text, value) of a profile as sorted "text value" lines in one
 * string, merging equal stacks — a format-independent fingerprint. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline char *fingerprint(const ignis_profile *p, size_t vi)
{
    size_t n = ignis_profile_num_samples(p);
    char **lines = calloc(n + 1, sizeof *lines);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        char buf[8192];
        stack_text(p, s.stack, buf, sizeof buf);
        lines[m] = malloc(strlen(buf) + 32);
        sprintf(lines[m++], "%s %lld", buf, (long long)s.values[vi]);
    }
    qsort(lines, m, sizeof *lines, cmp_str);
    /* merge equal stacks */
    ig_strbuf sb = IG_STRBUF_INIT;
    for (size_t i = 0; i < m;) {
        char *sp = strrchr(lines[i], ' ');
        size_t klen = (size_t)(sp - lines[i]);
        long long v = 0;
        size_t j = i;
        while (j < m && !strncmp(lines[j], lines[i], klen + 1) && strrchr(lines[j], ' ') == lines[j] + klen)
            v += atoll(strrchr(lines[j++], ' ') + 1);
        if (v)
            ig_sb_printf(&sb, "%.*s %lld\n", (int)klen, lines[i], v);
        i = j;
    }
    for (size_t i = 0; i < m; i++)
        free(lines[i]);
    free(lines);
    return sb.data ? sb.data : calloc(1, 1);
}

static inline ignis_profile *read_folded_text(const char *text)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_folded_read((const uint8_t *)text, strlen(text), &p, &err))
        fail_msg("folded read failed: %s", err.msg);
    return p;
}

static inline void expect_folded_error(const char *text, const char *msg)
{
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    assert_int_equal(ig_folded_read((const uint8_t *)text, strlen(text), &p, &err), -1);
    assert_null(p);
    if (!strstr(err.msg, msg))
        fail_msg("expected error containing '%s', got '%s'", msg, err.msg);
}

#endif
