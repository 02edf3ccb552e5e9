/*
 * fuzz/fuzz_perfscript.c — libFuzzer target for the perf script importer.
 *
 * Any input must either fail with a one-line error or give a profile that
 * survives a pprof round trip with the same totals.
 */
#include "fuzz/profile_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_perfscript_read(data, size, &p, &err)) {
        fuzz_check_error(&err);
        return 0;
    }
    fuzz_check_pprof_round_trip(p);
    ignis_profile_free(p);
    return 0;
}
