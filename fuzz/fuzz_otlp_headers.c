/*
 * fuzz/fuzz_otlp_headers.c — OTEL_EXPORTER_OTLP_HEADERS parsing.
 *
 * Any input must parse without crashing, and every header it keeps must
 * be a well-formed "Name: value" line with a token name and no CR, LF or
 * NUL (a header-injection guard for values that are percent-decoded).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp.h"

static void quiet(void *ctx, const char *msg)
{
    (void)msg;
    ++*(int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    ig_otlp_config cfg = {0};
    int warnings = 0;
    int skipped = ig_otlp_parse_headers(s, "OTEL_EXPORTER_OTLP_HEADERS", &cfg, quiet, &warnings);
    if (skipped != warnings)
        abort();
    for (size_t i = 0; i < cfg.nheaders; i++) {
        const char *h = cfg.headers[i];
        const char *colon = strstr(h, ": ");
        if (!colon || colon == h || strpbrk(h, "\r\n") || strcspn(h, " \t:") != (size_t)(colon - h))
            abort();
    }
    ig_otlp_config_free(&cfg);
    free(s);
    return 0;
}
