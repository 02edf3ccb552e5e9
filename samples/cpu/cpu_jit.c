/*
 * samples/cpu/cpu_jit.c — "JIT-compiled" code: a spin loop copied into an
 * anonymous executable mapping and announced in /tmp/perf-PID.map, the
 * convention JITs use to name their code for profilers.  The profile must
 * name it from the map (a JIT frame), not show a bare address.
 *   usage: cpu_jit [SECONDS]
 */
#include <sys/mman.h>

#include "cpu_common.h"

/* mov rax, rdi; 1: dec rax; jnz 1b; ret */
static const unsigned char spin_code[] = {0x48, 0x89, 0xf8, 0x48, 0xff, 0xc8, 0x75, 0xfb, 0xc3};

typedef uint64_t (*spin_fn)(uint64_t);

__attribute__((noipa)) static uint64_t call_jit(spin_fn f, uint64_t n)
{
    uint64_t r = f(n);
    __asm__ volatile("" : "+r"(r));
    return r;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        perror("cpu_jit: mmap");
        return 1;
    }
    memcpy(mem, spin_code, sizeof spin_code);
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "%lx %zx jit_spin_loop\n", (unsigned long)(uintptr_t)mem, sizeof spin_code);
    fclose(f);
    uint64_t x = 0;
    while (cpu_running())
        x += call_jit((spin_fn)mem, 1000000);
    unlink(path);
    cpu_result = x;
    return 0;
}
