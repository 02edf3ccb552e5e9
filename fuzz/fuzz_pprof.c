/*
 * fuzz/fuzz_pprof.c — libFuzzer target for the pprof reader.
 *
 * Any input must either fail with a one-line error or give a profile that
 * the writer encodes and the reader reads back with the same totals.
 */
#include "fuzz/profile_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_pprof_read(data, size, &p, &err)) {
        fuzz_check_error(&err);
        return 0;
    }
    fuzz_check_pprof_round_trip(p);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_write_opts o = {.tree = {.value = -1}};
    if (ignis_profile_num_values(p))
        ig_folded_write(p, &o, &sb, &err);
    ig_sb_free(&sb);
    ignis_profile_free(p);
    return 0;
}
