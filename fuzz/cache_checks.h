/*
 * fuzz/cache_checks.h — properties shared by the symbol-cache fuzz targets.
 *
 * A cache entry that parses is read in place: every string it hands out
 * must lie inside the entry's string table and end there; inputs are
 * parsed from an exact-size copy so that ASan sees any overread.
 */
#ifndef FUZZ_CACHE_CHECKS_H
#define FUZZ_CACHE_CHECKS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Aborts unless s (when set) is a NUL-terminated string in [strs, strs + len). */
static inline void fuzz_check_string(const char *strs, uint64_t len, const char *s)
{
    if (!s)
        return;
    if (s < strs || s >= strs + len || !memchr(s, '\0', (size_t)(strs + len - s)))
        abort();
}

/* A copy of the input in a buffer of exactly its size, so that ASan sees
 * any read past its end (libFuzzer's own buffer may be larger). */
static inline uint8_t *fuzz_exact_copy(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    return copy;
}

#endif
