/*
 * fuzz/fuzz_offbpf.c — libFuzzer target for the off-CPU BPF program's
 * event decoder (profiler/offbpf.c, ig_offbpf_decode).  The input is one
 * ring buffer record; whatever its lengths say, a decoded event's stack
 * must lie inside the input, its frame count within bounds and its span
 * name terminated.
 */
#include "profiler/offbpf.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_offbpf_event e;
    if (ig_offbpf_decode(data, size, &e) != 0)
        return 0;
    if (e.nkernel > IG_OFFBPF_EV_KFRAMES)
        abort();
    if (e.stack && (e.stack < data || e.stack + e.stack_len > data + size))
        abort();
    if (!e.stack && e.stack_len)
        abort();
    if (e.has_span && (e.span.name_len > IG_SPANBPF_NAME_MAX || e.span.name[e.span.name_len] != '\0'))
        abort();
    volatile uint64_t sink = 0;
    for (uint32_t i = 0; i < e.stack_len; i++)
        sink += e.stack[i];
    (void)sink;
    return 0;
}
