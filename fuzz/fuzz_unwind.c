/*
 * fuzz/fuzz_unwind.c — libFuzzer target for the unwinder
 * (profiler/unwind.c: the cached-CFI fast path and libunwind's remote
 * unwinder with our accessors), the module reads under it
 * (profiler/procmap.c) and the symbolizer's offset arithmetic, run
 * against real code: the modules mapped in this very process (this
 * binary, libc, ld.so, libdw, libunwind, libelf, the vDSO), whose CFI
 * both paths read.  Registers, stack bytes and the start address are all
 * the input's, as a hostile target's are.
 *
 * Input layout:
 *   byte 0        flags: bit 0 libunwind only; bits 1-7 frame limit - 1
 *   17 x 8 bytes  registers in perf order (AX BX CX DX SI DI BP SP IP R8-R15)
 *   the rest      the stack copy starting at SP (at most perf's 65528 bytes)
 * A register or stack word whose top 16 bits are a tag is relocated, so
 * that inputs keep pointing at real code and at their own stack copy
 * whatever the load addresses are (ASLR), and so that a mutator can reach
 * both:
 *   0xc0de  code: anchor[bits 32-39] + bits 0-31 (anchors: see anchors[])
 *   0x57ac  stack: SP + (int32_t) bits 0-31; for SP itself, a fixed base
 * Any other value is used as it is (addresses near 2^64 included).
 *
 * Every unwind must stay within the frame limit, start at the IP, and
 * give only return addresses inside a mapping; every frame is then
 * symbolized as `ignis record` does it.
 *
 * IGNIS_FUZZ_UNWIND_SEEDS=DIR makes the first call write seeds captured
 * from this process's real stacks (direct, through libc's qsort, deep
 * recursion) into DIR, tagged as above; fuzz/corpus/fuzz_unwind/ holds
 * them with hand-made inputs (a loop without CFI whose rbp holds -8).
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/perf.h"
#include "profiler/procmap.h"
#include "profiler/symbols.h"
#include "profiler/unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG_CODE 0xc0deu
#define TAG_STACK 0x57acu
#define STACK_BASE 0x7ffd12340000ull
#define RESET_EVERY 4096 /* inputs between cache flushes: memory stays bounded */

/* Code without CFI (no .cfi directives, so no FDE): the unwinder can only
 * guess there, which is how rbp = -8 once crashed it. */
uint64_t fuzz_nocfi_code(uint64_t x);
__asm__(".text\n"
        ".globl fuzz_nocfi_code\n"
        ".type fuzz_nocfi_code, @function\n"
        "fuzz_nocfi_code:\n"
        "    push %rbp\n"
        "    mov $-8, %rbp\n"
        "    lea 1(%rdi), %rax\n"
        "    pop %rbp\n"
        "    ret\n"
        ".size fuzz_nocfi_code, .-fuzz_nocfi_code\n");

/* Anchors of tagged code addresses: a module's load bias (where its ELF
 * vaddr 0 is), found by a piece of its mapped name; the last two are
 * functions of this binary. */
static const char *const anchor_names[] = {"", "/libc.so", "/ld-linux", "[vdso]", "/libdw", "/libunwind", "/libelf"};
enum { NANCHORS = 9, ANCHOR_NOCFI = 7, ANCHOR_CFI = 8 };

typedef struct fuzz_world {
    ig_modcache mods;
    ig_maps maps;
    ig_unwinder *fast, *slow;
    ig_symtab *sym;
    uint64_t anchors[NANCHORS];
    unsigned long inputs;
} fuzz_world;

static fuzz_world W;

static void find_anchors(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    for (int a = 0; a < ANCHOR_NOCFI; a++)
        for (size_t i = 0; i < W.maps.n && !W.anchors[a]; i++) {
            const ig_map *m = &W.maps.v[i];
            if (m->mod && (a ? strstr(m->name, anchor_names[a]) != NULL : !strcmp(m->name, exe)))
                W.anchors[a] = m->bias;
        }
    W.anchors[ANCHOR_NOCFI] = (uintptr_t)fuzz_nocfi_code;
    W.anchors[ANCHOR_CFI] = (uintptr_t)LLVMFuzzerTestOneInput;
}

static void world_reset(void)
{
    ig_symtab_free(W.sym);
    W.sym = ig_symtab_new();
    ig_symtab_set_debug_dirs(W.sym, ""); /* this binary's DWARF, the others' symbols */
    ig_unwinder_flush(W.fast);
    ig_unwinder_flush(W.slow);
}

static void world_init(void)
{
    if (ig_maps_load(&W.maps, &W.mods, getpid()) != 0)
        abort();
    W.fast = ig_unwinder_new(&W.maps);
    setenv("IGNIS_UNWINDER", "libunwind", 1);
    W.slow = ig_unwinder_new(&W.maps);
    unsetenv("IGNIS_UNWINDER");
    if (!W.fast || !W.slow)
        abort();
    find_anchors();
    world_reset();
}

static uint64_t decode(uint64_t w, uint64_t sp)
{
    uint32_t low = (uint32_t)w;
    switch (w >> 48) {
    case TAG_CODE: return W.anchors[((w >> 32) & 0xff) % NANCHORS] + low;
    case TAG_STACK: return sp + (uint64_t)(int64_t)(int32_t)low;
    default: return w;
    }
}

/* Names every frame as record.c does: file offset within its mapping,
 * minus one for return addresses. */
static void symbolize(const uint64_t *ips, int n)
{
    for (int i = 0; i < n; i++) {
        ig_map *m = ig_maps_find(&W.maps, ips[i]);
        if (!m || !m->mod)
            continue;
        uint64_t off = ips[i] - m->start + m->pgoff - (i > 0 ? 1 : 0);
        ig_symframe f[16];
        int k = m->mod->open_path[0]
                    ? ig_symtab_lookup(W.sym, m->mod->open_path, NULL, off, f, 16)
                    : ig_symtab_lookup_image(W.sym, m->mod->name, NULL, m->mod->bytes, m->mod->size, off, f, 16);
        if (k < 0 || k > 16)
            abort();
    }
}

static void run_unwinder(ig_unwinder *u, const ig_perf_sample *s, int max)
{
    uint64_t ips[128];
    ig_unwind_end end = (ig_unwind_end)-1;
    int n = ig_unwind(u, s, ips, max, &end);
    if (n < 1 || n > max || ips[0] != s->regs[IG_PREG_IP] || end < IG_UNWIND_ROOT || end > IG_UNWIND_TOO_DEEP)
        abort();
    for (int i = 1; i < n; i++)
        if (!ig_maps_find(&W.maps, ips[i]))
            abort();
    symbolize(ips, n);
}

static void write_seeds(const char *dir);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!W.fast) {
        world_init();
        const char *dir = getenv("IGNIS_FUZZ_UNWIND_SEEDS");
        if (dir)
            write_seeds(dir);
    }
    if (++W.inputs % RESET_EVERY == 0)
        world_reset();
    if (size < 1 + 8 * IG_PREG_COUNT)
        return 0;
    uint8_t flags = data[0];
    ig_perf_sample s;
    memset(&s, 0, sizeof s);
    s.regs_abi = PERF_SAMPLE_REGS_ABI_64;
    uint64_t raw[IG_PREG_COUNT];
    memcpy(raw, data + 1, sizeof raw);
    uint64_t sp = raw[IG_PREG_SP] >> 48 == TAG_STACK ? STACK_BASE + (uint32_t)raw[IG_PREG_SP] : raw[IG_PREG_SP];
    for (int r = 0; r < IG_PREG_COUNT; r++)
        s.regs[r] = r == IG_PREG_SP ? sp : decode(raw[r], sp);
    size_t off = 1 + sizeof raw, len = size - off;
    if (len > IG_PERF_MAX_STACK)
        len = IG_PERF_MAX_STACK;
    len &= ~(size_t)7;
    uint64_t *stack = malloc(len ? len : 8); /* exactly len bytes: ASan sees any overrun */
    for (size_t i = 0; i < len / 8; i++) {
        uint64_t w;
        memcpy(&w, data + off + 8 * i, 8);
        stack[i] = decode(w, sp);
    }
    s.stack = (const uint8_t *)stack;
    s.stack_size = len;
    s.ip = s.regs[IG_PREG_IP];
    run_unwinder(flags & 1 ? W.slow : W.fast, &s, (flags >> 1) + 1);
    free(stack);
    return 0;
}

/* ---- seeds captured from real stacks -------------------------------------- */

typedef struct capture {
    uint64_t regs[IG_PREG_COUNT];
    uint8_t stack[16384];
    size_t len;
} capture;

static capture *snap_target;

/* Copies the live stack above sp word by word (not memcpy: ASan poisons
 * parts of the stack, and these reads are meant). */
__attribute__((no_sanitize("address"), noinline)) static void copy_stack(capture *c, uint64_t sp)
{
    pthread_attr_t a;
    void *lo;
    size_t sz;
    uint64_t end = sp + sizeof c->stack;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstack(&a, &lo, &sz) == 0 && (uint64_t)(uintptr_t)lo + sz < end)
            end = (uint64_t)(uintptr_t)lo + sz;
        pthread_attr_destroy(&a);
    }
    c->len = end > sp ? (size_t)(end - sp) & ~(size_t)7 : 0;
    for (size_t i = 0; i < c->len / 8; i++) {
        uint64_t w = ((const volatile uint64_t *)(uintptr_t)sp)[i];
        memcpy(c->stack + 8 * i, &w, 8);
    }
}

/* Takes this frame's registers at one instruction (so the IP's CFI row
 * describes them) and the stack above them. */
__attribute__((noinline)) static void snap(capture *c)
{
    uint64_t ip, sp, bp, bx, r12, r13, r14, r15;
    __asm__ volatile("lea 0(%%rip), %0\n\t"
                     "mov %%rsp, %1\n\t"
                     "mov %%rbp, %2\n\t"
                     "mov %%rbx, %3\n\t"
                     "mov %%r12, %4\n\t"
                     "mov %%r13, %5\n\t"
                     "mov %%r14, %6\n\t"
                     "mov %%r15, %7\n\t"
                     : "=r"(ip), "=r"(sp), "=r"(bp), "=r"(bx), "=r"(r12), "=r"(r13), "=r"(r14), "=r"(r15));
    memset(c->regs, 0, sizeof c->regs);
    c->regs[IG_PREG_IP] = ip;
    c->regs[IG_PREG_SP] = sp;
    c->regs[IG_PREG_BP] = bp;
    c->regs[IG_PREG_BX] = bx;
    c->regs[IG_PREG_R12] = r12;
    c->regs[IG_PREG_R13] = r13;
    c->regs[IG_PREG_R14] = r14;
    c->regs[IG_PREG_R15] = r15;
    copy_stack(c, sp);
}

static int snap_in_comparator(const void *a, const void *b)
{
    if (snap_target) {
        snap(snap_target);
        snap_target = NULL;
    }
    return memcmp(a, b, sizeof(int));
}

__attribute__((noinline)) static uint64_t snap_deep(capture *c, int depth)
{
    if (depth == 0) {
        snap(c);
        return 1;
    }
    uint64_t r = snap_deep(c, depth - 1);
    __asm__ volatile("" : "+r"(r));
    return r + (uint64_t)depth;
}

/* A value of this process as the input encodes it. */
static uint64_t encode(uint64_t v, uint64_t sp, size_t len)
{
    if (v >= sp && v - sp < len)
        return (uint64_t)TAG_STACK << 48 | (uint32_t)(v - sp);
    ig_map *m = ig_maps_find(&W.maps, v);
    for (int a = 0; m && a < ANCHOR_NOCFI; a++)
        if (W.anchors[a] && m->bias == W.anchors[a] && v - m->bias < UINT32_MAX)
            return (uint64_t)TAG_CODE << 48 | (uint64_t)a << 32 | (uint32_t)(v - m->bias);
    return v;
}

static void write_input(const char *dir, const char *name, uint8_t flags, const uint64_t *regs, const uint64_t *stack,
                        size_t words)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(&flags, 1, 1, f);
    fwrite(regs, 8, IG_PREG_COUNT, f);
    fwrite(stack, 8, words, f);
    fclose(f);
}

static void write_capture(const char *dir, const char *name, const capture *c)
{
    uint64_t regs[IG_PREG_COUNT], sp = c->regs[IG_PREG_SP];
    size_t words = c->len / 8;
    uint64_t *stack = malloc((words ? words : 1) * 8);
    for (int r = 0; r < IG_PREG_COUNT; r++)
        regs[r] = r == IG_PREG_SP ? (uint64_t)TAG_STACK << 48 : encode(c->regs[r], sp, c->len);
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, c->stack + 8 * i, 8);
        stack[i] = encode(w, sp, c->len);
    }
    char lu[128];
    snprintf(lu, sizeof lu, "%s_libunwind", name);
    write_input(dir, name, 127u << 1, regs, stack, words);
    write_input(dir, lu, 127u << 1 | 1, regs, stack, words);
    free(stack);
}

static void write_seeds(const char *dir)
{
    capture *c = calloc(1, sizeof *c);
    snap(c);
    write_capture(dir, "real_direct", c);
    int v[2] = {2, 1};
    snap_target = c;
    qsort(v, 2, sizeof v[0], snap_in_comparator);
    write_capture(dir, "real_qsort", c);
    snap_deep(c, 200);
    write_capture(dir, "real_deep", c);
    free(c);
    /* the crash: code without CFI, rbp = -8 (both paths) */
    uint64_t regs[IG_PREG_COUNT] = {0}, stack[32] = {0};
    regs[IG_PREG_SP] = (uint64_t)TAG_STACK << 48;
    regs[IG_PREG_IP] = (uint64_t)TAG_CODE << 48 | (uint64_t)ANCHOR_NOCFI << 32 | 5;
    regs[IG_PREG_BP] = (uint64_t)-8;
    write_input(dir, "nocfi_rbp_minus_8", 127u << 1, regs, stack, 32);
    write_input(dir, "nocfi_rbp_minus_8_libunwind", 127u << 1 | 1, regs, stack, 32);
    /* a stack copy that ends at 2^64 (SP + size wraps) */
    regs[IG_PREG_SP] = (uint64_t)-256;
    regs[IG_PREG_BP] = (uint64_t)-16;
    regs[IG_PREG_IP] = (uint64_t)TAG_CODE << 48 | (uint64_t)ANCHOR_CFI << 32;
    write_input(dir, "sp_at_top", 127u << 1, regs, stack, 32);
    write_input(dir, "sp_at_top_libunwind", 127u << 1 | 1, regs, stack, 32);
}
