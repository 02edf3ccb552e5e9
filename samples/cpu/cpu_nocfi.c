/*
 * samples/cpu/cpu_nocfi.c — a hot loop in code without unwind info whose
 * frame pointer register holds -8.
 *
 * spin_nocfi is hand-written assembly with no CFI directives, so it has no
 * .eh_frame entry: an unwinder has to guess, and the usual guess (libunwind
 * and perf follow the frame-pointer chain: caller's rbp at [rbp], return
 * address at [rbp + 8]) reads the stack at 2^64 - 8 and 0.  A profiler must
 * reject those addresses, keep the sample (the leaf, spin_nocfi, is named
 * from its ELF symbol) and say the stack is truncated.  Nearly all of the
 * CPU time is spent inside spin_nocfi.
 *   usage: cpu_nocfi [SECONDS]
 */
#include "cpu_common.h"

uint64_t spin_nocfi(uint64_t x, uint64_t iters);

/* rdi = x, rsi = iterations; returns the mixed x.  No .cfi_* directives. */
__asm__(".text\n"
        ".globl spin_nocfi\n"
        ".type spin_nocfi, @function\n"
        "spin_nocfi:\n"
        "    push %rbp\n"
        "    mov $-8, %rbp\n"
        "    mov %rdi, %rax\n"
        "    movabs $6364136223846793005, %rcx\n"
        "1:  imul %rcx, %rax\n"
        "    add $1442695040888963407 & 0x7fffffff, %rax\n"
        "    dec %rsi\n"
        "    jnz 1b\n"
        "    pop %rbp\n"
        "    ret\n"
        ".size spin_nocfi, .-spin_nocfi\n");

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    uint64_t x = 7;
    while (cpu_running())
        x = spin_nocfi(x, 50 * CPU_UNIT_ITERS);
    cpu_result = x;
    return 0;
}
