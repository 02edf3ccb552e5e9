/*
 * fuzz/fuzz_spanbpf.c — libFuzzer target for the span-label program's event
 * decoder and the join (profiler/spanbpf.c).  The input is decoded as one
 * ring buffer record (a decoded name must be terminated and fit), then
 * replayed as a sequence of join operations, 16 bytes each: byte 0 picks
 * push, take or take a switch-out's (bit 1; bit 2 notes a drop count), then CPU, thread, a time step, IP, period and drop count
 * from small ranges so that pushes and takes meet.  Whatever the order,
 * the join must never hand a sample an event of another CPU or thread, or
 * one stamped before the sample (a switch-out: after it), and must hold no more than its capacity.
 */
#include "profiler/spanbpf.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#define CAPACITY 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_spanbpf_label l;
    if (ig_spanbpf_decode_event(data, size, &l) == 0 &&
        (l.name_len > IG_SPANBPF_NAME_MAX || l.name[l.name_len] != '\0' || (!l.in_span && l.name_len)))
        abort();
    ig_spanjoin *j = ig_spanjoin_new(CAPACITY);
    uint64_t now = 1;
    for (size_t at = 0; at + 16 <= size; at += 16) {
        const uint8_t *op = data + at;
        now += op[3];
        if (op[0] & 1) {
            ig_spanbpf_label e = {.cpu = op[1] % 5 == 4 ? 70000u + op[1] : op[1] % 5, .tid = 1 + op[2] % 4,
                                  .time = now, .ip = op[4] % 3, .period = op[5] % 2, .cpu_drops = op[6] % 2,
                                  .in_span = op[7] & 1};
            e.span_id[0] = op[8];
            ig_spanjoin_push(j, &e);
        } else {
            ig_spanjoin_sample s = {.cpu = op[1] % 5 == 4 ? 70000u + op[1] : op[1] % 5, .tid = 1 + op[2] % 4,
                                    .time = now, .ip = op[4] % 3, .period = op[5] % 2};
            if (op[0] & 2) { /* a switch-out: its event came before it */
                if (op[0] & 4)
                    ig_spanjoin_note_drops(j, s.cpu, op[9] % 2);
                const ig_spanbpf_label *got = ig_spanjoin_take_switch(j, &s);
                if (got && (got->cpu != s.cpu || got->tid != s.tid || got->time >= s.time || !got->in_span))
                    abort();
            } else {
                const ig_spanbpf_label *got = ig_spanjoin_take(j, &s);
                if (got && (got->cpu != s.cpu || got->tid != s.tid || got->time < s.time || !got->in_span ||
                            (s.ip && got->ip != s.ip) || (s.period && got->period != s.period)))
                    abort();
            }
        }
        if (ig_spanjoin_pending(j) > CAPACITY)
            abort();
    }
    ig_spanjoin_free(j);
    return 0;
}
