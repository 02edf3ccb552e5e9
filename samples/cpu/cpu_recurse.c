/*
 * samples/cpu/cpu_recurse.c — a hot leaf 20 calls deep, and an inlined
 * hot function.
 *
 * main -> run -> recurse x20 -> recurse_leaf, and run -> inline_caller,
 * where inline_caller's work is the always_inline function inlined_hot:
 * the symbolized profile must show inlined_hot as its own frame under
 * inline_caller although no call instruction exists.  recurse is noipa
 * and uses its callee's result after the call, so the compiler can
 * neither inline nor turn the recursion into a loop.  A DEPTH of a few
 * thousand puts the hot leaf deeper than a sampled stack copy reaches
 * (16 KiB by default), so its stacks cannot be unwound to _start while
 * inline_caller's still can: the ground truth for truncated stacks.
 *   usage: cpu_recurse [SECONDS [DEPTH]]
 */
#include "cpu_common.h"

#define DEPTH 20

static int depth = DEPTH;

__attribute__((noipa)) uint64_t recurse_leaf(uint64_t x) { CPU_SPIN(x, CPU_UNIT_ITERS); return x; }

__attribute__((noipa)) uint64_t recurse(int depth, uint64_t x)
{
    uint64_t r = depth == 1 ? recurse_leaf(x) : recurse(depth - 1, x + 1);
    __asm__ volatile("" : "+r"(r));
    return r ^ (uint64_t)depth;
}

static inline __attribute__((always_inline)) uint64_t inlined_hot(uint64_t x)
{
    CPU_SPIN(x, CPU_UNIT_ITERS);
    return x;
}

__attribute__((noipa)) uint64_t inline_caller(uint64_t x)
{
    x = inlined_hot(x);
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

__attribute__((noipa)) static uint64_t run(uint64_t x)
{
    while (cpu_running())
        for (int i = 0; i < 20; i++) {
            x = recurse(depth, x);
            x = inline_caller(x);
        }
    return x;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    if (argc > 2 && atoi(argv[2]) > 0)
        depth = atoi(argv[2]);
    cpu_result = run(7);
    return 0;
}
