/*
 * samples/cpu/cpu_blip.c — a short-lived process: burns its CPU in
 * blip_hot (called from blip_run) for SECONDS (default 0.05; CPU time
 * with CPU_SAMPLE_CLOCK=cpu) and exits.  A loop of these is the ground
 * truth for system-wide recording: processes that are gone long before
 * the recorder reads their samples must still be named (process label
 * "cpu_blip") and symbolized (main;blip_run;blip_hot).
 *   usage: cpu_blip [SECONDS]
 */
#include "cpu_common.h"

__attribute__((noipa)) uint64_t blip_hot(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

__attribute__((noipa)) static uint64_t blip_run(uint64_t x)
{
    while (cpu_running())
        x = blip_hot(x);
    return x;
}

int main(int argc, char **argv)
{
    char *args[] = {argv[0], argc > 1 ? argv[1] : "0.05", NULL};
    cpu_setup(2, args);
    cpu_result = blip_run(3);
    return 0;
}
