/*
 * fuzz/fuzz_perfscript.c — libFuzzer target for the perf script importer.
 *
 * Any input must either fail with a one-line error or give a profile that
 * survives a pprof round trip with the same totals.
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "exporters/formats.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignis_profile *p = NULL, *q = NULL;
    ig_err err;
    if (ig_perfscript_read(data, size, &p, &err)) {
        if (strchr(err.msg, '\n') || !err.msg[0])
            abort();
        return 0;
    }
    ig_strbuf sb = IG_STRBUF_INIT;
    if (ig_pprof_write(p, &sb, &err) || ig_pprof_read((const uint8_t *)sb.data, sb.len, &q, &err))
        abort();
    for (size_t i = 0; i < ignis_profile_num_values(p); i++)
        if (ignis_profile_total(p, i) != ignis_profile_total(q, i))
            abort();
    ig_sb_free(&sb);
    ignis_profile_free(p);
    ignis_profile_free(q);
    return 0;
}
