/*
 * fuzz/fuzz_perf_records.c — libFuzzer target for the perf ring reader
 * and the sample parser (profiler/perf.c).
 *
 * The input is laid into a 4 KiB ring starting at an offset taken from its
 * first two bytes (so records straddle the wrap point) with data_head at
 * its end, as if the kernel had written it.  Every record ig_ring_next()
 * returns must lie within what was written (its time, ig_perf_record_time,
 * read from within it), and every sample that parses
 * must have its callchain and stack copy inside the record, and be 8-byte
 * aligned (misaligned records are served from the scratch copy); reading must
 * end (the tail only moves forward, never past the head).
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "profiler/perf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t start = (size_t)(data[0] | data[1] << 8) % RING;
    data += 2, size -= 2;
    if (size > RING)
        size = RING;
    static struct perf_event_mmap_page meta;
    static uint8_t ring[RING];
    for (size_t i = 0; i < size; i++)
        ring[(start + i) % RING] = data[i];
    ig_ring r;
    memset(&r, 0, sizeof r);
    r.meta = &meta;
    r.data = ring;
    r.size = RING;
    r.scratch = malloc(65536);
    r.tail = r.head = start;
    meta.data_tail = start;
    meta.data_head = start + size;
    ig_ring_begin(&r);
    const struct perf_event_header *h;
    uint64_t sum = 0;
    while ((h = ig_ring_next(&r))) {
        if (((uintptr_t)h & 7) || r.tail > start + size || h->size < sizeof *h)
            abort();
        sum += ig_perf_record_time(h); /* reads only within the record */
        ig_perf_sample s;
        if (h->type != PERF_RECORD_SAMPLE || ig_perf_parse_sample(h, &s) != 0)
            continue;
        const uint8_t *lo = (const uint8_t *)h, *hi = lo + h->size;
        if (s.nr_chain && ((const uint8_t *)s.chain < lo || (const uint8_t *)(s.chain + s.nr_chain) > hi))
            abort();
        for (uint64_t i = 0; i < s.nr_chain; i++)
            sum += s.chain[i];
        if (s.stack_size && (s.stack < lo || s.stack + s.stack_size > hi))
            abort();
        for (uint64_t i = 0; i < s.stack_size; i++)
            sum += s.stack[i];
    }
    ig_ring_end(&r);
    if (meta.data_tail > start + size)
        abort();
    free(r.scratch);
    return (int)(sum & 0);
}
