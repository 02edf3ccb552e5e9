/*
 * fuzz/fuzz_traceparent.c — libFuzzer target for the W3C traceparent parser.
 * Checks that a parsed header round-trips: formatting the result and
 * parsing it again gives the same ids and sampled flag.
 */
#include "libtrace/internal.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_remote r;
    if (ig_traceparent_parse((const char *)data, size, &r) != 0)
        return 0;
    char out[56];
    ig_traceparent_format(r.trace_id, r.span_id, r.flags, out);
    ig_remote again;
    if (ig_traceparent_parse(out, 55, &again) != 0 || memcmp(again.trace_id, r.trace_id, 16) ||
        memcmp(again.span_id, r.span_id, 8) || again.flags != r.flags)
        abort();
    return 0;
}
