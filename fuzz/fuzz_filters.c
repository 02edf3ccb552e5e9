/*
 * fuzz/fuzz_filters.c — libFuzzer target for the filters of profile/tree.c:
 * the regexes and the label filter specs (KEY=V1,V2 with numeric ranges
 * and units), parsed from user input.
 *
 * The input is lines "Xvalue": X picks the option (f focus, i ignore,
 * t thread, s show_from, h hide, w show, p prune_from, T tagfocus,
 * I tagignore, r reverse).  On a fixed profile with string and numeric
 * labels, every view must either fail with one line of error or hold
 * together: the tree and the top table keep the same total, never more
 * than the whole profile, and the filtered copy (ig_profile_filter) holds
 * exactly that total.
 */
#include "fuzz/profile_checks.h"
#include "profile/tree.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add(ignis_profile *p, const char *const *frames, int64_t v, const char *thread, int64_t bytes)
{
    uint32_t locs[8];
    size_t n = 0;
    while (frames[n])
        n++;
    for (size_t i = 0; i < n; i++) /* leaf first */
        locs[n - 1 - i] = ignis_profile_location_for_function(p, ignis_profile_function_named(p, frames[i], "x.c", 1),
                                                             IGNIS_FRAME_USER);
    ignis_label l[3] = {{ignis_profile_intern(p, "thread"), ignis_profile_intern(p, thread), 0, 0},
                        {ignis_profile_intern(p, "bytes"), 0, bytes, ignis_profile_intern(p, "bytes")},
                        {ignis_profile_intern(p, "tid"), 0, bytes % 97, 0}};
    int64_t vals[2] = {1, v};
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, locs, n), ignis_profile_add_labels(p, l, 3), vals);
}

static ignis_profile *fixture(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "alloc_space", "bytes");
    static const char *const s1[] = {"main", "parse", "lex", NULL}, *const s2[] = {"main", "parse", NULL},
                             *const s3[] = {"main", "render", "lex", NULL}, *const s4[] = {"worker", "run", NULL};
    add(p, s1, 100, "main", 100);
    add(p, s2, 4096, "main", 4096);
    add(p, s3, 1 << 20, "render-1", 1 << 20);
    add(p, s4, 7, "", 7);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *tagf[33] = {0}, *tagi[33] = {0};
    size_t nf = 0, ni = 0, nl = 0;
    ig_tree_opts o = {.value = -1};
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && nl < 32; l = strtok_r(NULL, "\n", &save)) {
        nl++;
        const char *v = l + 1;
        switch (l[0]) {
        case 'f': o.focus = v; break;
        case 'i': o.ignore = v; break;
        case 't': o.thread = v; break;
        case 's': o.root = v; break;
        case 'h': o.hide = v; break;
        case 'w': o.show = v; break;
        case 'p': o.prune_from = v; break;
        case 'T': tagf[nf++] = v; break;
        case 'I': tagi[ni++] = v; break;
        case 'r': o.reverse = 1; break;
        default: break;
        }
    }
    o.tagfocus = nf ? tagf : NULL;
    o.tagignore = ni ? tagi : NULL;
    ignis_profile *p = fixture();
    ig_err err;
    char why[256];
    ig_tree *t = ig_tree_build(p, &o, &err);
    if (!t) {
        fuzz_check_error(&err);
    } else {
        ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
        ignis_profile *q = ig_profile_filter(p, &o, why, sizeof why, &err);
        ig_threads *th = ig_threads_build(p, &o, &err);
        if (!top || !q || !th || strchr(why, '\n'))
            abort();
        int64_t kept = ig_tree_total(t);
        if (kept != ig_top_total(top) || kept > ig_tree_total_all(t) || ignis_profile_total(q, 1) != kept ||
            ig_threads_total(th) > ig_threads_total_all(th))
            abort();
        ig_tree_unmatched(t, why, sizeof why);
        if (strchr(why, '\n'))
            abort();
        ig_threads_free(th);
        ignis_profile_free(q);
        ig_top_free(top);
        ig_tree_free(t);
    }
    ignis_profile_free(p);
    free(text);
    return 0;
}
