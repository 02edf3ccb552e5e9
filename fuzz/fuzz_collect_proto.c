/*
 * fuzz/fuzz_collect_proto.c — `ignis collect`'s protobuf request decoder
 * (collect/decode.c).  Never crashes, never recurses without bound; what
 * it accepts obeys the store's rules: ids non-zero, 0 < start <= end,
 * event and link ranges inside the batch, and every attribute set is a
 * JSON object that parses.
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
    uint8_t *body = malloc(size ? size : 1); /* exact size: overreads are caught */
    memcpy(body, data, size);
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_proto(body, size, &st, &err);
    if (b)
        check_batch(b, &st);
    ig_batch_free(b);
    free(body);
    return 0;
}
