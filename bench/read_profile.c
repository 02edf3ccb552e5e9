/*
 * bench/read_profile.c — times the phases of a conversion separately:
 * reading a profile (ig_profile_load) and encoding it in memory as pprof
 * and as folded text (no file written).  Prints one line per phase:
 *   read 0.123 s | pprof encode 0.045 s (7.8 MB) | folded encode ...
 * usage: read_profile FILE [--no-encode]
 */
#include "exporters/formats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: read_profile FILE [--no-encode]\n");
        return 2;
    }
    ignis_profile *p;
    ig_err err;
    double t0 = now();
    if (ig_profile_load(argv[1], NULL, &p, &err)) {
        fprintf(stderr, "read_profile: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    printf("read %.3f s (%zu samples, %zu locations)", t1 - t0, ignis_profile_num_samples(p),
           ignis_profile_num_locations(p));
    if (argc < 3 || strcmp(argv[2], "--no-encode")) {
        ig_strbuf sb = IG_STRBUF_INIT;
        t0 = now();
        if (ig_pprof_write(p, &sb, &err))
            return 1;
        t1 = now();
        printf(" | pprof encode %.3f s (%.1f MB)", t1 - t0, sb.len / 1e6);
        ig_sb_free(&sb);
        ig_write_opts o = {.tree = {.value = -1}};
        t0 = now();
        if (ig_folded_write(p, &o, &sb, &err))
            return 1;
        t1 = now();
        printf(" | folded encode %.3f s (%.1f MB)", t1 - t0, sb.len / 1e6);
        ig_sb_free(&sb);
    }
    printf("\n");
    ignis_profile_free(p);
    return 0;
}
