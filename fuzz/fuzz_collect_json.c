/*
 * fuzz/fuzz_collect_json.c — `ignis collect`'s OTLP/JSON request decoder
 * (collect/decode_json.c), also used for --import lines.  Same checks as
 * fuzz_collect_proto.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/decode.h"
#include "fuzz/collect_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_json(body, size, &st, &err);
    if (b)
        check_batch(b, &st);
    ig_batch_free(b);
    free(body);
    return 0;
}
