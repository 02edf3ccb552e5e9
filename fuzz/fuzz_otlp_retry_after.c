/*
 * fuzz/fuzz_otlp_retry_after.c — Retry-After header values (delta-seconds
 * or HTTP-date through curl_getdate).  Never crashes; the delay is either
 * -1 (invalid) or a non-negative number of milliseconds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = ig_otlp_parse_retry_after(s, 1700000000);
    if (ms < -1)
        abort();
    free(s);
    return 0;
}
