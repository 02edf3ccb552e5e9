/*
 * tests/otlp/send_profile.c — sends a profile to the OTLP endpoint the
 * environment configures, as `ignis record --export` does, for the shell
 * tests of the profiles exporter (tests/otlp/t_profiles_export.sh).
 *
 *   send_profile IN             a profile file in any format ignis reads
 *   send_profile --fixture OUT  a profile built here, with two value
 *                               types, threads, a numeric label with a
 *                               unit, span links (trace_id/span_id labels)
 *                               and a sample whose values are all zero,
 *                               first written to OUT as pprof
 * Prints the exporter's counters ("requests N splits N retries N") on
 * stdout; on failure the one-line error on stderr and exit status 1.
 */
#include <stdio.h>
#include <string.h>

#include "exporters/formats.h"
#include "exporters/otlp_profiles.h"

static ignis_profile *fixture(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    ignis_profile_set_period(p, "cpu", "nanoseconds", 10000000);
    ignis_profile_set_time(p, 1700000000000000000, 2000000000);
    ignis_profile_add_comment(p, "made by tests/otlp/send_profile");
    const char *names[] = {"main", "serve", "handle", "parse", "compute"};
    uint32_t loc[5];
    for (int i = 0; i < 5; i++)
        loc[i] = ignis_profile_location_for_function(p, ignis_profile_function_named(p, names[i], "app.c", 10 * i),
                                                     IGNIS_FRAME_USER);
    uint32_t s1[] = {loc[3], loc[2], loc[1], loc[0]}, s2[] = {loc[4], loc[2], loc[1], loc[0]}, s3[] = {loc[1], loc[0]};
    uint32_t stacks[3] = {ignis_profile_add_stack(p, s1, 4), ignis_profile_add_stack(p, s2, 4),
                          ignis_profile_add_stack(p, s3, 2)};
    for (int i = 0; i < 12; i++) {
        char trace[33], span[17];
        snprintf(trace, sizeof trace, "%032x", 0x1000 + i / 3);
        snprintf(span, sizeof span, "%016x", 0x20 + i);
        ignis_label l[5] = {
            {ignis_profile_intern(p, "thread"), ignis_profile_intern(p, i % 2 ? "worker" : "main"), 0, 0},
            {ignis_profile_intern(p, "tid"), 0, 1000 + i % 2, 0},
            {ignis_profile_intern(p, "bytes"), 0, 4096 * i, ignis_profile_intern(p, "bytes")},
            {ignis_profile_intern(p, "trace_id"), ignis_profile_intern(p, trace), 0, 0},
            {ignis_profile_intern(p, "span_id"), ignis_profile_intern(p, span), 0, 0},
        };
        int64_t v[2] = {i + 1, (i + 1) * 10000000};
        ignis_profile_add_sample(p, stacks[i % 3], ignis_profile_add_labels(p, l, i < 8 ? 5 : 3), v);
    }
    int64_t zero[2] = {0, 0};
    ignis_profile_add_sample(p, stacks[2], 0, zero);
    return p;
}

int main(int argc, char **argv)
{
    ig_err err;
    ignis_profile *p = NULL;
    if (argc == 3 && !strcmp(argv[1], "--fixture")) {
        p = fixture();
        if (ig_profile_save(p, argv[2], "pprof", NULL, &err)) {
            fprintf(stderr, "send_profile: %s\n", err.msg);
            return 1;
        }
    } else if (argc == 2) {
        if (ig_profile_load(argv[1], NULL, &p, &err)) {
            fprintf(stderr, "send_profile: %s\n", err.msg);
            return 1;
        }
    } else {
        fprintf(stderr, "usage: send_profile IN | send_profile --fixture OUT.pb.gz\n");
        return 2;
    }
    ig_otlp_profiles_exporter *x = ig_otlp_profiles_exporter_from_env(NULL, &err);
    int rc = x ? ig_otlp_profiles_export(x, p, NULL, 0, &err) : -1;
    if (rc)
        fprintf(stderr, "send_profile: %s\n", err.msg);
    if (x) {
        ig_otlp_profiles_stats st;
        ig_otlp_profiles_exporter_stats(x, &st);
        printf("requests %llu splits %llu retries %llu\n", (unsigned long long)st.requests,
               (unsigned long long)st.splits, (unsigned long long)st.retries);
    }
    ig_otlp_profiles_exporter_free(x, 0);
    ignis_profile_free(p);
    return rc ? 1 : 0;
}
