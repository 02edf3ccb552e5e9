/*
 * samples/spans/spanfake.c — a program WITHOUT libignis whose static TLS is
 * full of pointers to a record that looks like a valid OTEP 4947 record
 * (span id 6666666666666666, "fakefake"), for tests/profiler/test_spanbpf.c.
 *
 * spanwork -x execs it under the same pid: a reader that kept using the
 * TLS offset it resolved for spanwork would find, at that offset below the
 * new thread pointer, one of these pointers and label samples with the fake
 * span.  It fills its TLS, prints "FAKE", spins for -m milliseconds of CPU
 * (default 300) and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 4096 /* 32 KiB of static TLS right below the thread pointer */

/* Not static: stores to them must not be optimized away (nothing here reads them). */
__thread uintptr_t g_slots[SLOTS];
uint8_t g_record[96] __attribute__((aligned(8)));
static volatile uint64_t g_sink;

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned ms = argc > 2 && !strcmp(argv[1], "-m") ? (unsigned)atoi(argv[2]) : 300;
    memset(g_record, 0x66, 24);    /* trace id, span id */
    g_record[24] = 1;              /* valid */
    g_record[25] = 1;              /* sampled */
    g_record[26] = 6;              /* attrs-data-size */
    g_record[28] = 0;              /* span_name, */
    g_record[29] = 4;              /* 4 bytes */
    memcpy(g_record + 30, "fake", 4);
    for (int i = 0; i < SLOTS; i++)
        g_slots[i] = (uintptr_t)g_record;
    printf("FAKE\n");
    fflush(stdout);
    uint64_t end = cpu_ns() + ms * 1000000ull, x = 1;
    do {
        for (int i = 0; i < 5000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        g_sink = x;
    } while (cpu_ns() < end);
    return 0;
}
