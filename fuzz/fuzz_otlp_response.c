/*
 * fuzz/fuzz_otlp_response.c — ExportTraceServiceResponse bodies from a
 * receiver, read for partial_success.  The first byte picks the encoding
 * (even: protobuf, odd: JSON).  Never crashes; on success the message is
 * NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool json = data[0] & 1;
    int64_t rejected;
    char msg[64];
    ig_err err;
    uint8_t *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    if (ig_otlp_parse_response(body, size - 1, json, &rejected, msg, sizeof msg, &err) == 0 &&
        memchr(msg, '\0', sizeof msg) == NULL)
        abort();
    free(body);
    return 0;
}
