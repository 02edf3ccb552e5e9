/*
 * fuzz/fuzz_frames_cache.c — libFuzzer target for the frames cache entry
 * reader (ig_framecache_view / _find / _frame, profiler/sym/framecache.c).
 *
 * The input is a .frames entry.  When its header is accepted, every entry
 * is looked up by its own offset and at offsets taken from the input; a
 * lookup that succeeds must name frames inside the frame table, and every
 * frame read must have its strings inside the string table and
 * NUL-terminated (ASan sees any read past the exact-size buffer).  The
 * frames read re-encode into an entry that is accepted again.
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
    ig_fc_view v;
    if (ig_framecache_view(&v, copy, size) != NULL) {
        free(copy);
        return 0;
    }
    size_t cap = v.nents < 256 ? v.nents : 256;
    ig_fc_entry *ents = calloc(cap ? cap : 1, sizeof *ents);
    ig_symframe *frames = calloc(cap * IG_FC_MAX_INLINE + 1, sizeof *frames);
    size_t n = 0, nf = 0;
    for (size_t i = 0; i < cap; i++) {
        uint64_t off;
        memcpy(&off, v.ents + i * 16, 8);
        uint32_t first, k;
        int corrupt = 0;
        if (ig_framecache_find(&v, off, &first, &k, &corrupt) != 0)
            continue;
        if (k > IG_FC_MAX_INLINE || first > v.nframes || k > v.nframes - first)
            abort();
        ents[n] = (ig_fc_entry){off, &frames[nf], 0};
        for (uint32_t j = 0; j < k; j++) {
            ig_symframe f;
            if (ig_framecache_frame(&v, first + j, &f) != 0)
                break;
            fuzz_check_string(v.strs, v.strings_len, f.func);
            fuzz_check_string(v.strs, v.strings_len, f.sysname);
            fuzz_check_string(v.strs, v.strings_len, f.file);
            frames[nf++] = f;
            ents[n].n++;
        }
        n++;
    }
    for (size_t i = 0; i + 8 <= size && i < 256; i += 8) {
        uint64_t off;
        uint32_t first, k;
        int corrupt = 0;
        memcpy(&off, copy + i, 8);
        if (ig_framecache_find(&v, off, &first, &k, &corrupt) == 0 && (first > v.nframes || k > v.nframes - first))
            abort();
    }
    /* strings are compared by pointer when encoding: equal pointers, equal text */
    size_t len;
    uint8_t *again = ig_framecache_encode(ents, n, v.debug_kind, &len);
    ig_fc_view w;
    if (!again || ig_framecache_view(&w, again, len) != NULL)
        abort();
    free(again);
    free(frames);
    free(ents);
    free(copy);
    return 0;
}
