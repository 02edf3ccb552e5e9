/*
 * tests/symbols/unsym_lib.c — the stripped library of t_unsymbolized.sh.
 *
 * Only unsym_lib_run is exported (-fvisibility=hidden): once the library
 * is stripped of .symtab, its hot loop and the function between are code
 * without a symbol.  unsym_lib_run calls middle, which calls spin, so a
 * sample in spin has two unsymbolized frames of the library in a row.
 */
#include <stdint.h>

__attribute__((noinline)) static uint64_t spin(uint64_t n)
{
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x += i ^ (x >> 3);
    return x;
}

__attribute__((noinline)) static uint64_t middle(uint64_t n)
{
    uint64_t r = spin(n);
    __asm__ volatile("" ::: "memory"); /* not a tail call: middle stays a frame */
    return r + 1;
}

__attribute__((visibility("default"))) uint64_t unsym_lib_run(uint64_t n)
{
    uint64_t r = middle(n);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}
