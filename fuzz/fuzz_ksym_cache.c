/*
 * fuzz/fuzz_ksym_cache.c — libFuzzer target for the kallsyms cache entry
 * reader (ig_ksymcache_view / ig_ksymview_find, profiler/sym/kernel.c).
 *
 * The input is a cache entry.  When its header is accepted, lookups at
 * addresses taken from the input, around every entry and at the extremes
 * must stay inside the buffer (ASan) and return either NULL or a
 * NUL-terminated name inside the string table.
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "fuzz/cache_checks.h"
#include "profiler/sym/sym_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = fuzz_exact_copy(data, size);
    ig_ksymview v;
    if (ig_ksymcache_view(&v, copy, size) == NULL) {
        int corrupt = 0;
        uint64_t probes[] = {0, 1, UINT64_MAX, v.core_lo, v.core_hi, 0xffffffff81000000ULL};
        for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
            fuzz_check_string(v.strs, v.strings_len, ig_ksymview_find(&v, probes[i], &corrupt));
        for (uint32_t i = 0; i < v.count && i < 4096; i++) {
            uint64_t a;
            memcpy(&a, v.ents + (size_t)i * 16, 8);
            fuzz_check_string(v.strs, v.strings_len, ig_ksymview_find(&v, a, &corrupt));
            fuzz_check_string(v.strs, v.strings_len, ig_ksymview_find(&v, a + 7, &corrupt));
            fuzz_check_string(v.strs, v.strings_len, ig_ksymview_find(&v, a - 1, &corrupt));
        }
        for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
            uint64_t a;
            memcpy(&a, copy + i, 8);
            fuzz_check_string(v.strs, v.strings_len, ig_ksymview_find(&v, a, &corrupt));
        }
    }
    free(copy);
    return 0;
}
