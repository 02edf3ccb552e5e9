/*
 * fuzz/fuzz_folded.c — libFuzzer target for the folded stacks reader.
 *
 * Any input must either fail with a one-line error or give a profile whose
 * folded rendering reads back and renders to the same text (the writer's
 * output is a fixed point: counts may change scale, "2.50" -> "2.5").
 */
#include "fuzz/profile_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ignis_profile *p = NULL, *q = NULL;
    ig_err err;
    if (ig_folded_read(data, size, &p, &err)) {
        fuzz_check_error(&err);
        return 0;
    }
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_write_opts o = {.tree = {.value = -1}};
    if (ig_folded_write(p, &o, &sb, &err))
        abort();
    if (sb.len) {
        ig_strbuf again = IG_STRBUF_INIT;
        if (ig_folded_read((const uint8_t *)sb.data, sb.len, &q, &err) || ig_folded_write(q, &o, &again, &err))
            abort();
        if (again.len != sb.len || memcmp(again.data, sb.data, sb.len))
            abort();
        ig_sb_free(&again);
    }
    ig_sb_free(&sb);
    ignis_profile_free(p);
    ignis_profile_free(q);
    return 0;
}
