/*
 * fuzz/fuzz_spanctx.c — libFuzzer target for the span context reader's two
 * decoders (profiler/spanctx.c): the first byte picks the key index of
 * span_name, the rest is decoded both as an OTEP 4947 record (what a BPF
 * program or process_vm_readv copied) and as an OTEP 4719 payload (a
 * protobuf Resource).  A decoded name must fit its buffer, be terminated
 * and lie inside the input.
 */
#include "profiler/spanctx.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int key = data[0] == 255 ? -1 : data[0];
    ig_spanlabel l;
    if (ig_spanctx_decode_record(data + 1, size - 1, key, &l) == 1) {
        if (l.name_len >= sizeof l.name || l.name[l.name_len] != '\0' || l.name_len + 1 > size)
            abort();
    } else if (l.name_len) {
        abort(); /* an invalid record yields nothing */
    }
    ig_spanctx *c = ig_spanctx_new_detached();
    ig_err err;
    if (ig_spanctx_decode_payload(c, data + 1, size - 1, &err) == 0) {
        ig_spanctx_attr a;
        for (size_t i = 0; ig_spanctx_resource_at(c, i, &a); i++)
            if (!a.key || !a.value || a.key[a.key_len] || a.value[a.value_len] || a.key_len > size)
                abort(); /* whole, terminated, and no longer than the input */
    }
    ig_spanctx_free(c);
    return 0;
}
