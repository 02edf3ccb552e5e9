/*
 * tests/profiler/profdump.c — prints every sample of a profile with its
 * labels, for the shell tests of off-CPU and wall-clock profiles:
 *     VALUE <tab> THREAD <tab> STATE <tab> WCHAN <tab> STACK
 * VALUE is the sample's value of the named type, THREAD, STATE and WCHAN
 * its labels ("-" when absent), STACK its frames root first, joined by
 * ';' (inlined functions after their caller, as flame graphs draw them),
 * then one column per extra label KEY asked for (span labels: span_name...).
 *   usage: profdump FILE VALUE_TYPE [KEY...]
 */
#include <stdio.h>
#include <string.h>

#include "ignis/profile.h"

static const char *label(const ignis_profile *p, uint32_t labels, const char *key)
{
    const char *s = labels ? ignis_profile_label_str(p, labels, key) : NULL;
    return s && *s ? s : "-";
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: profdump FILE VALUE_TYPE [KEY...]\n");
        return 2;
    }
    ignis_profile *p;
    char err[512];
    if (ignis_profile_read_file(argv[1], NULL, &p, err, sizeof err) != 0) {
        fprintf(stderr, "profdump: %s\n", err);
        return 1;
    }
    int vi = ignis_profile_find_value(p, argv[2]);
    if (vi < 0) {
        fprintf(stderr, "profdump: %s: no value type %s\n", argv[1], argv[2]);
        ignis_profile_free(p);
        return 1;
    }
    char name[1024];
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        printf("%lld\t%s\t%s\t%s\t", (long long)s.values[vi], label(p, s.labels, "thread"),
               label(p, s.labels, "state"), label(p, s.labels, "wchan"));
        size_t n;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        const char *sep = "";
        for (size_t j = n; j-- > 0;) {
            const ignis_location *loc = ignis_profile_location(p, locs[j]);
            for (uint32_t li = loc->nlines ? loc->nlines : 1; li-- > 0;) {
                printf("%s%s", sep, ignis_profile_frame_name(p, locs[j], li, name, sizeof name));
                sep = ";";
            }
        }
        for (int k = 3; k < argc; k++)
            printf("\t%s", label(p, s.labels, argv[k]));
        printf("\n");
    }
    ignis_profile_free(p);
    return 0;
}
