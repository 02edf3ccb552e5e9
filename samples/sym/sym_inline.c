/*
 * samples/sym/sym_inline.c — ground truth for the symbolizer tests.
 *
 * Built -O2 -g without frame pointers.  sym_hot_leaf is inlined into
 * sym_hot_outer, itself inlined into sym_caller, so the address of the
 * `sym_marker_inline` label (a nop emitted by the asm statement inside
 * sym_hot_leaf) has the inline chain
 *     sym_hot_leaf  (line @leaf_marker)
 *     sym_hot_outer (call site @leaf_call)
 *     sym_caller    (call site @outer_call)
 * The tests find those lines by the @markers in this file.  The program
 * prints the runtime addresses of the marker and of its functions, and the
 * /proc/self/maps lines of its own executable, so a test can compute file
 * offsets exactly as the profiler does (addr - start + page offset).
 * sym_caller is exported (-rdynamic) and so survives stripping in .dynsym;
 * sym_static_helper is static and does not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char sym_marker_inline[];

static inline __attribute__((always_inline)) uint64_t sym_hot_leaf(uint64_t x)
{
    x ^= x >> 13;
    __asm__ volatile(".globl sym_marker_inline\nsym_marker_inline:\n\tnop" : "+r"(x)); /* @leaf_marker */
    return x * 0x9e3779b97f4a7c15ull;
}

static inline __attribute__((always_inline)) uint64_t sym_hot_outer(uint64_t x)
{
    x += 7;
    x = sym_hot_leaf(x); /* @leaf_call */
    return x ^ (x >> 29);
}

__attribute__((noinline, noipa)) uint64_t sym_caller(uint64_t n)
{
    uint64_t acc = 1;
    for (uint64_t i = 0; i < n; i++)
        acc = sym_hot_outer(acc + i); /* @outer_call */
    return acc;
}

static __attribute__((noinline, noipa)) uint64_t sym_static_helper(uint64_t v)
{
    return v * 3 + 1; /* @static_body */
}

/* Prints this executable's lines of /proc/self/maps, prefixed "map ". */
static void print_maps(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (strstr(line, exe))
            printf("map %s", line);
    fclose(f);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
    printf("marker %p\n", (void *)sym_marker_inline);
    printf("sym_caller %p\n", (void *)sym_caller);
    printf("sym_static_helper %p\n", (void *)sym_static_helper);
    printf("main %p\n", (void *)main);
    print_maps();
    printf("result %llu\n", (unsigned long long)(sym_caller(n) + sym_static_helper(n)));
    return 0;
}
