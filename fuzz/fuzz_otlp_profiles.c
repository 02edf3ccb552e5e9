/*
 * fuzz/fuzz_otlp_profiles.c — libFuzzer target for the OTLP profiles
 * decoder (protobuf, and OTLP/JSON when the input starts with '{').
 *
 * Any input must either fail with a one-line error or give a profile that
 * encodes to OTLP and decodes back with the same totals, and survives the
 * pprof round trip every reader's target checks.
 */
#include "exporters/otlp_profiles.h"
#include "fuzz/profile_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignis_profile *p = NULL;
    ig_err err;
    int rc = size && data[0] == '{' ? ig_otlp_profiles_read_json(data, size, &p, &err)
                                    : ig_otlp_profiles_read(data, size, &p, &err);
    if (rc) {
        fuzz_check_error(&err);
        return 0;
    }
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_otlp_profiles_encode(p, NULL, &sb);
    ignis_profile *q = NULL;
    if (ig_otlp_profiles_read((const uint8_t *)sb.data, sb.len, &q, &err))
        abort();
    size_t nv = ignis_profile_num_values(p);
    if (ignis_profile_num_values(q) != nv)
        abort();
    for (size_t i = 0; i < nv; i++)
        if (ignis_profile_total(p, i) != ignis_profile_total(q, i))
            abort();
    fuzz_check_pprof_round_trip(p);
    ig_sb_free(&sb);
    ignis_profile_free(q);
    ignis_profile_free(p);
    return 0;
}
