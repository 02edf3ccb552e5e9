/*
 * fuzz/fuzz_cuindex_cache.c — libFuzzer target for the CU table cache
 * entry reader (ig_cuindex_parse, profiler/sym/dwarf.c).
 *
 * The input is a cache entry, parsed once against the .debug_info size
 * its own header claims (so the size check passes and the rest is
 * reached) and once against a fixed size.  An accepted entry must satisfy
 * everything the lookups rely on: ranges non-empty and sorted, every
 * range naming a CU that exists, every CU offset inside .debug_info; and
 * it must re-encode to the same bytes.
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "fuzz/cache_checks.h"
#include "profiler/sym/sym_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_and_check(const uint8_t *data, size_t size, uint64_t info_size)
{
    ig_module m;
    memset(&m, 0, sizeof m);
    if (ig_cuindex_parse(data, size, info_size, &m.cus, &m.ncus, &m.cu_ranges, &m.ncu_ranges) != NULL)
        return;
    for (size_t i = 0; i < m.ncu_ranges; i++)
        if (m.cu_ranges[i].lo >= m.cu_ranges[i].hi || m.cu_ranges[i].ref >= m.ncus ||
            (i && m.cu_ranges[i].lo < m.cu_ranges[i - 1].lo))
            abort();
    for (size_t i = 0; i < m.ncus; i++)
        if (m.cus[i].die_off >= info_size)
            abort();
    size_t len;
    uint8_t *again = ig_cuindex_encode(&m, info_size, &len);
    if (!again || len != size || memcmp(again, data, size) != 0)
        abort();
    free(again);
    free(m.cus);
    free(m.cu_ranges);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = fuzz_exact_copy(data, size);
    uint64_t claimed = 0;
    if (size >= 32)
        memcpy(&claimed, copy + 24, 8);
    parse_and_check(copy, size, claimed);
    parse_and_check(copy, size, 4096);
    free(copy);
    return 0;
}
