/*
 * samples/cpu/cpu_late_lib.c — libcpu_late.so, loaded by cpu_late with
 * dlopen() after the profiler attached.
 */
#include <stdint.h>

#include "cpu_common.h"

__attribute__((noipa)) uint64_t late_lib_leaf(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

__attribute__((noipa)) uint64_t late_lib_hot(uint64_t x)
{
    x = late_lib_leaf(x);
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}
