/*
 * fuzz/fuzz_allocspan.c — libFuzzer target for the allocation span-label
 * program's event decoder and the count join (profiler/alloc/allocbpf.c).
 * The input is decoded as one ring buffer record, then replayed as join
 * operations, 16 bytes each: byte 0 picks push, take, forget or a drop
 * count note, then slot, generation, hit, run, thread, drops and span
 * from small ranges so that pushes and takes meet.  Whatever the order, a
 * take may only give a sample the span of an event pushed for that very
 * cookie, count and thread.
 */
#include "profiler/alloc/allocbpf.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#define MAX_PUSHED 4096

typedef struct pushed {
    uint64_t cookie, hit;
    uint32_t tid;
    uint8_t span;
} pushed;

static bool was_pushed(const pushed *p, size_t n, uint64_t cookie, uint64_t hit, uint32_t tid, uint8_t span)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].cookie == cookie && p[i].hit == hit && p[i].tid == tid && p[i].span == span)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_allocspan d;
    if (ig_allocspan_decode(data, size, &d) == 0 &&
        (d.l.name_len > IG_SPANBPF_NAME_MAX || d.l.name[d.l.name_len] != '\0' || (!d.l.in_span && d.l.name_len)))
        abort();
    static pushed seen[MAX_PUSHED];
    size_t nseen = 0;
    ig_allocjoin *j = ig_allocjoin_new(16);
    for (size_t at = 0; at + 16 <= size; at += 16) {
        const uint8_t *op = data + at;
        uint64_t cookie = (uint64_t)(1 + op[2] % 2) << 32 | (op[1] % 5 == 4 ? 2000000u + op[1] : op[1] % 5);
        uint64_t hit = op[3] % 8;
        uint32_t tid = 1 + op[4] % 2;
        switch (op[0] % 4) {
        case 0:
        case 1: {
            ig_allocspan e;
            memset(&e, 0, sizeof e);
            e.cookie = cookie;
            e.hit = hit;
            e.seq = op[5] % 8;
            e.drops = op[6] % 2;
            e.l.tid = tid;
            e.l.in_span = op[7] & 1;
            e.l.span_id[0] = e.l.in_span ? (uint8_t)(1 + op[8] % 3) : 0;
            ig_allocjoin_push(j, &e);
            if (nseen < MAX_PUSHED)
                seen[nseen++] = (pushed){cookie, hit, tid, e.l.span_id[0]};
            break;
        }
        case 2: {
            ig_heapspan s;
            memset(&s, 0, sizeof s);
            ig_allocjoin_result r = ig_allocjoin_take(j, cookie, hit, tid, &s);
            if (r == IG_ALLOCJOIN_SPAN && (!s.in_span || !was_pushed(seen, nseen, cookie, hit, tid, s.span_id[0])))
                abort();
            if (r == IG_ALLOCJOIN_OUTSIDE && !was_pushed(seen, nseen, cookie, hit, tid, 0))
                abort();
            break;
        }
        default:
            if (op[5] & 1)
                ig_allocjoin_forget(j, cookie);
            else
                ig_allocjoin_note_drops(j, op[6] % 2);
        }
    }
    ig_allocjoin_free(j);
    return 0;
}
