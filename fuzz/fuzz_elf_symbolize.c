/*
 * fuzz/fuzz_elf_symbolize.c — libFuzzer target for the symbolizer: the
 * input is written to a temporary file and symbolized as an ELF file at
 * offsets taken from the input itself and a few fixed ones, and as an ELF
 * image in memory (the vDSO's route); the same bytes are then read as a
 * kallsyms file and as a perf map.  Corrupt ELF, DWARF
 * or text must never crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/symbols.h"

/* A scratch directory per input, removed before returning: libFuzzer ends
 * with _Exit, so nothing registered with atexit would clean up.  One file
 * serves as the ELF, the kallsyms file and (through a symlink) the perf
 * map of pid 1.  tmpfs when there is one: rewriting files on ext4 is slow. */
typedef struct scratch {
    char dir[64], elf[96], map[96];
} scratch;

static void scratch_make(scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/dev/shm/ig-fuzz-sym-XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(s->dir, sizeof s->dir, "/tmp/ig-fuzz-sym-XXXXXX");
        if (!mkdtemp(s->dir))
            abort();
    }
    snprintf(s->elf, sizeof s->elf, "%s/input.elf", s->dir);
    snprintf(s->map, sizeof s->map, "%s/perf-1.map", s->dir);
    if (symlink("input.elf", s->map) != 0)
        abort();
}

static void scratch_remove(const scratch *s)
{
    unlink(s->map);
    unlink(s->elf);
    rmdir(s->dir);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scratch sc;
    scratch_make(&sc);
    const char *elf = sc.elf;
    write_file(elf, data, size);

    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_debug_dirs(st, "");
    ig_symtab_set_kallsyms_path(st, elf);
    ig_symtab_set_perfmap_dir(st, sc.dir);
    uint64_t offs[8] = {0, 0x40, 0x1000, 0x1130, size / 2, size ? size - 1 : 0, 0, 0};
    if (size >= 16) {
        memcpy(&offs[6], data + size - 8, 8);
        memcpy(&offs[7], data + size - 16, 8);
        offs[7] %= size;
    }
    ig_symframe f[16];
    for (int i = 0; i < 8; i++) {
        int n = ig_symtab_lookup(st, elf, NULL, offs[i], f, 16);
        for (int k = 0; k < n; k++)
            if (f[k].func && strlen(f[k].func) > (1u << 20))
                abort();
        n = ig_symtab_lookup_image(st, "[image]", NULL, data, size, offs[i], f, 16); /* as the vDSO */
        if (n < 0 || n > 16)
            abort();
        (void)ig_symtab_kernel(st, offs[i]);
        (void)ig_symtab_perfmap(st, 1, offs[i]);
    }
    char bid[41];
    (void)ig_symtab_build_id(st, elf, bid, sizeof bid);
    ig_symtab_free(st);
    scratch_remove(&sc);
    return 0;
}
