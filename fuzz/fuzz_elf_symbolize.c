/*
 * fuzz/fuzz_elf_symbolize.c — libFuzzer target for the symbolizer: the
 * input is written to a temporary file and symbolized as an ELF file at
 * offsets taken from the input itself and a few fixed ones; the same bytes
 * are then read as a kallsyms file and as a perf map.  Corrupt ELF, DWARF
 * or text must never crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/symbols.h"

static char fuzz_dir[64];

static void remove_fuzz_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

/* One file serves as the ELF, the kallsyms file and (through a symlink
 * made once) the perf map of pid 1. */
static const char *fuzz_input_path(void)
{
    static char path[96];
    if (!fuzz_dir[0]) {
        /* tmpfs when there is one: rewriting a file on ext4 flushes it */
        snprintf(fuzz_dir, sizeof fuzz_dir, "/dev/shm/ig-fuzz-sym-XXXXXX");
        if (!mkdtemp(fuzz_dir)) {
            snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/ig-fuzz-sym-XXXXXX");
            if (!mkdtemp(fuzz_dir))
                abort();
        }
        atexit(remove_fuzz_dir);
        snprintf(path, sizeof path, "%s/input.elf", fuzz_dir);
        char link[96];
        snprintf(link, sizeof link, "%s/perf-1.map", fuzz_dir);
        if (symlink("input.elf", link) != 0)
            abort();
    }
    return path;
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
    const char *elf = fuzz_input_path();
    write_file(elf, data, size);

    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_debug_dirs(st, "");
    ig_symtab_set_kallsyms_path(st, elf);
    ig_symtab_set_perfmap_dir(st, fuzz_dir);
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
        (void)ig_symtab_kernel(st, offs[i]);
        (void)ig_symtab_perfmap(st, 1, offs[i]);
    }
    char bid[41];
    (void)ig_symtab_build_id(st, elf, bid, sizeof bid);
    ig_symtab_free(st);
    return 0;
}
