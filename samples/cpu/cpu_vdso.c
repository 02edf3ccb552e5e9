/*
 * samples/cpu/cpu_vdso.c — a loop that spends its time in the vDSO.
 *
 * spin_clock calls clock_gettime(CLOCK_MONOTONIC) back to back: with a
 * clocksource the vDSO can read (tsc, kvm-clock) the time is spent in the
 * kernel-provided image mapped as [vdso], which has no file on disk, so a
 * profiler must read the image to name its frames (perf shows
 * __vdso_clock_gettime).  With a clocksource it cannot read, the vDSO
 * falls back to the system call, and the user frame is still the vDSO's.
 *   usage: cpu_vdso [SECONDS]
 */
#include "cpu_common.h"

__attribute__((noipa)) uint64_t spin_clock(uint64_t x)
{
    struct timespec ts;
    for (int i = 0; i < 2000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x += (uint64_t)ts.tv_nsec;
    }
    return x;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    uint64_t x = 7;
    while (cpu_running())
        x = spin_clock(x);
    cpu_result = x;
    return 0;
}
