/*
 * fuzz/profile_checks.h — the properties every profile reader's fuzz target
 * asserts: a rejected input gets exactly one non-empty line of error, and
 * an accepted one survives a pprof round trip with the same totals.
 * A violated property aborts, which libFuzzer (and the replay test) report.
 */
#ifndef IG_FUZZ_PROFILE_CHECKS_H
#define IG_FUZZ_PROFILE_CHECKS_H

#include "exporters/formats.h"

#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_error(const ig_err *err)
{
    if (strchr(err->msg, '\n') || !err->msg[0])
        abort();
}

static inline void fuzz_check_pprof_round_trip(const ignis_profile *p)
{
    ignis_profile *q = NULL;
    ig_err err;
    ig_strbuf sb = IG_STRBUF_INIT;
    if (ig_pprof_write(p, &sb, &err) || ig_pprof_read((const uint8_t *)sb.data, sb.len, &q, &err))
        abort();
    for (size_t i = 0; i < ignis_profile_num_values(p); i++)
        if (ignis_profile_total(p, i) != ignis_profile_total(q, i))
            abort();
    ig_sb_free(&sb);
    ignis_profile_free(q);
}

#endif
