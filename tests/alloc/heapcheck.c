/*
 * tests/alloc/heapcheck.c — prints a heap profile's values per leaf
 * function, exactly, for the shell tests:
 *     FUNCTION alloc_objects alloc_space inuse_objects inuse_space
 * one line per function that is the leaf (first named frame) of some
 * sample, plus "TOTAL ..." and "PERIOD type unit value".
 * With -s the profile first goes through the collector (collect.c), which
 * symbolizes the addresses of a standalone shim dump from the ELF files.
 *   usage: heapcheck [-s] FILE.pb.gz
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "profiler/alloc/collect.h"

typedef struct row {
    char name[256];
    long long v[4];
} row;

int main(int argc, char **argv)
{
    int symbolize = argc == 3 && !strcmp(argv[1], "-s");
    if (argc != 2 + symbolize) {
        fprintf(stderr, "usage: heapcheck [-s] FILE\n");
        return 2;
    }
    argv += symbolize;
    ignis_profile *p;
    ig_err err;
    if (ig_profile_load(argv[1], NULL, &p, &err) < 0) {
        fprintf(stderr, "heapcheck: %s\n", err.msg);
        return 1;
    }
    ig_heapcollect *hc = NULL;
    if (symbolize) {
        hc = ig_heapcollect_new();
        if (ig_heapcollect_add(hc, p, argv[1], &err) < 0) {
            fprintf(stderr, "heapcheck: %s\n", err.msg);
            return 1;
        }
        ignis_profile_free(p);
        p = ig_heapcollect_profile(hc);
    }
    static const char *types[4] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
    int idx[4];
    for (int i = 0; i < 4; i++)
        if ((idx[i] = ignis_profile_find_value(p, types[i])) < 0) {
            fprintf(stderr, "heapcheck: %s: no %s values\n", argv[1], types[i]);
            return 1;
        }
    size_t nrows = 0, cap = 64;
    row *rows = calloc(cap, sizeof *rows);
    long long total[4] = {0};
    for (size_t s = 0; s < ignis_profile_num_samples(p); s++) {
        ignis_sample smp = ignis_profile_sample(p, s);
        size_t depth;
        const uint32_t *locs = ignis_profile_stack(p, smp.stack, &depth);
        char name[256] = "[none]";
        if (depth) {
            const ignis_location *l = ignis_profile_location(p, locs[0]);
            ignis_profile_frame_name(p, locs[0], l && l->nlines ? l->nlines - 1 : 0, name, sizeof name);
        }
        size_t r = 0;
        while (r < nrows && strcmp(rows[r].name, name))
            r++;
        if (r == nrows) {
            if (nrows == cap)
                rows = realloc(rows, (cap *= 2) * sizeof *rows);
            memset(&rows[r], 0, sizeof rows[r]);
            snprintf(rows[r].name, sizeof rows[r].name, "%s", name);
            nrows++;
        }
        for (int i = 0; i < 4; i++) {
            rows[r].v[i] += smp.values[idx[i]];
            total[i] += smp.values[idx[i]];
        }
    }
    for (size_t r = 0; r < nrows; r++)
        printf("%s %lld %lld %lld %lld\n", rows[r].name, rows[r].v[0], rows[r].v[1], rows[r].v[2], rows[r].v[3]);
    printf("TOTAL %lld %lld %lld %lld\n", total[0], total[1], total[2], total[3]);
    ignis_value_type pt = ignis_profile_period_type(p);
    printf("PERIOD %s %s %lld\n", ignis_profile_string(p, pt.type), ignis_profile_string(p, pt.unit),
           (long long)ignis_profile_period(p));
    free(rows);
    if (hc)
        ig_heapcollect_free(hc);
    else
        ignis_profile_free(p);
    return 0;
}
