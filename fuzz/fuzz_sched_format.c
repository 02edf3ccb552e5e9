/*
 * fuzz/fuzz_sched_format.c — libFuzzer target for the parser of the
 * sched_switch format file (profiler/sched_switch.c): any text either
 * fails or yields an id and fields of the sizes the decoder reads, and
 * decoding a sample's raw data with them never reads outside it, for
 * every length up to the fields' end.
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "profiler/sched_switch.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* no terminator: the parser keeps to size */
    if (!text)
        return 0;
    memcpy(text, data, size);
    ig_sched_switch_fmt f;
    if (ig_sched_switch_parse_format(text, size, &f) == 0) {
        if (!f.id || f.prev_pid.size != 4 || (f.prev_state.size != 4 && f.prev_state.size != 8))
            abort();
        size_t end = f.prev_state.offset + f.prev_state.size;
        if (f.prev_pid.offset + 4 > end)
            end = f.prev_pid.offset + 4;
        for (size_t len = end > 8 ? end - 8 : 0; len <= end; len++) {
            uint8_t *raw = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
            if (!raw)
                break;
            memset(raw, 0x5a, len);
            ig_sched_switch_rec rec;
            int rc = ig_sched_switch_decode(&f, raw, len, &rec);
            if ((rc == 0) != (len >= end))
                abort();
            free(raw);
        }
    }
    free(text);
    return 0;
}
