/*
 * tests/viewer/test_keys.c — one key map, documented once: the `?` screen
 * of `ignis view` and `ignis top` and the README's table list the same
 * keys with the same words, in the same order, and both viewers draw the
 * same help from it.
 */
#include "tests/viewer/helpers.h"

#include <stdio.h>

#include "viewer/model.h"
#include "viewer/screen.h"

/* The README's key table rows, between its markers. */
static char **readme_rows(size_t *n)
{
    FILE *f = fopen("README.md", "r");
    assert_non_null(f); /* tests run from the source tree */
    char line[1024];
    int in = 0;
    char **rows = NULL;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "<!-- viewer keys"))
            in = 1;
        else if (strstr(line, "<!-- /viewer keys"))
            in = 0;
        else if (in && !strncmp(line, "| `", 3)) {
            line[strcspn(line, "\n")] = 0;
            rows = realloc(rows, (*n + 1) * sizeof *rows);
            rows[(*n)++] = strdup(line);
        }
    }
    fclose(f);
    return rows;
}

static void test_readme_lists_the_help(void **state)
{
    (void)state;
    size_t n;
    char **rows = readme_rows(&n);
    const ig_key_help *k = ig_viewer_key_help();
    size_t i = 0;
    for (; k[i].keys; i++) {
        char want[512];
        snprintf(want, sizeof want, "| `%s` | %s%s |", k[i].keys, k[i].what, k[i].where ? " (`ignis top`)" : "");
        if (i >= n)
            fail_msg("README.md lacks the row: %s", want);
        if (strcmp(rows[i], want))
            fail_msg("README.md row %zu:\n  is     %s\n  should %s", i + 1, rows[i], want);
    }
    assert_int_equal(i, n);
    for (size_t j = 0; j < n; j++)
        free(rows[j]);
    free(rows);
}

/* view and top show the same keys on `?`, each line as the table says. */
static void test_help_screen_is_the_map(void **state)
{
    (void)state;
    static const char *const lines[] = {"main;a 1", NULL};
    ignis_profile *p = test_profile(lines);
    ig_err err;
    for (int top = 0; top < 2; top++) {
        ig_viewer *v = ig_viewer_new(p, NULL, "t", &err);
        v->app = top ? "top" : NULL;
        ig_screen s;
        ig_screen_init(&s, 100, 40, 1);
        ig_viewer_key(v, '?');
        ig_viewer_render(v, &s);
        for (const ig_key_help *k = ig_viewer_key_help(); k->keys; k++) {
            char want[256];
            snprintf(want, sizeof want, "  %-16s  %s", k->keys, k->what);
            int found = 0;
            for (int r = 0; r < s.h && !found; r++) {
                char *row = ig_screen_row(&s, r);
                found = strstr(row, want) != NULL;
                free(row);
            }
            if (!found)
                fail_msg("%s help lacks: %s", top ? "top" : "view", want);
        }
        ig_screen_free(&s);
        ig_viewer_free(v);
    }
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_lists_the_help),
        cmocka_unit_test(test_help_screen_is_the_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
