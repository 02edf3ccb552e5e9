/*
 * fuzz/fuzz_b3.c — libFuzzer target for the B3 single-header parser and,
 * with the input split at NUL bytes into four strings, the multi-header
 * parser.  A valid result must have non-zero ids and only the sampled bit;
 * a debug flag implies sampled.
 */
#include "libtrace/internal.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

static void check(const ig_remote *r)
{
    if (!r->valid || ig_all_zero(r->trace_id, 16) || ig_all_zero(r->span_id, 8) || (r->flags & ~1u))
        abort();
    if (r->debug && !(r->flags & IGNIS_TRACE_FLAG_SAMPLED))
        abort(); /* debug implies sampled */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_remote r;
    if (ig_b3_parse_single((const char *)data, size, &r) == 0)
        check(&r);
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *f[4] = {NULL, NULL, NULL, NULL};
    size_t nf = 0;
    const char *p = copy, *end = copy + size;
    while (nf < 4 && p <= end) {
        f[nf++] = p;
        p += strlen(p) + 1;
    }
    if (ig_b3_parse_multi(f[0], f[1], f[2], f[3], &r) == 0)
        check(&r);
    free(copy);
    return 0;
}
