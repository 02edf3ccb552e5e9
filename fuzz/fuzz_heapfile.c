/*
 * fuzz/fuzz_heapfile.c — libFuzzer target for the heap table file reader
 * (ig_heapfile_read, profiler/alloc/heapfile.c), which `ignis record
 * --alloc` runs on the file every process of a command kept.
 *
 * The input is a table file, handed over in a memfd as ignis reads the
 * real ones.  It must either be refused with one line naming the file, or
 * give a heap profile whose stacks have at most IG_HEAP_MAX_DEPTH frames,
 * whose values are not negative (no total wrapped), and which survives a
 * pprof round trip with the same totals.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/profile_checks.h"
#include "profiler/alloc/heapfile.h"
#include "profiler/alloc/heapprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("heapfile", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    for (size_t at = 0; at < size;) {
        ssize_t n = write(fd, data + at, size - at);
        if (n <= 0)
            abort();
        at += (size_t)n;
    }
    ig_heapfile_info info;
    ig_err err;
    ignis_profile *p = ig_heapfile_read(fd, "input.tab", &info, &err);
    close(fd);
    if (!p) {
        fuzz_check_error(&err);
        if (!strstr(err.msg, "input.tab"))
            abort();
        return 0;
    }
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t depth;
        ignis_profile_stack(p, s.stack, &depth);
        if (depth > IG_HEAP_MAX_DEPTH)
            abort();
    }
    for (size_t v = 0; v < ignis_profile_num_values(p); v++)
        if (ignis_profile_total(p, v) < 0)
            abort();
    fuzz_check_pprof_round_trip(p);
    ignis_profile_free(p);
    return 0;
}
