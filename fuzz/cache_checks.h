/*
 * fuzz/cache_checks.h — properties shared by the symbol-cache fuzz targets.
 *
 * A cache entry that parses is read in place: every string it hands out
 * must lie inside the entry's string table and end there.
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

#endif
