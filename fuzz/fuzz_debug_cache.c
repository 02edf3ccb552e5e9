/*
 * fuzz/fuzz_debug_cache.c — libFuzzer target for opening a decompressed
 * debug file from the persistent cache (ig_symcache_debug_open and its
 * checks, profiler/sym/cache.c) and reading DWARF from the mapped file.
 *
 * The input becomes the cache entry of the build-id it carries (or of a
 * fixed one when it has none, so the name check fails as it must).  An
 * entry that is accepted was mapped with ELF_C_READ_MMAP: every section
 * must lie inside the file, and DWARF lookups at addresses from the input
 * must neither crash nor read outside the mapping.  A refused entry must
 * have been removed.
 */
#include <setjmp.h> /* before cmocka.h in fuzz/replay.c */
#include <stdarg.h>
#include <stddef.h>

#include "profiler/sym/sym_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The build-id the input's own ELF notes claim, else a fixed one. */
static void input_build_id(const uint8_t *data, size_t size, char *bid, size_t len)
{
    snprintf(bid, len, "0123456789abcdef");
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)data, size);
    if (e && elf_kind(e) == ELF_K_ELF) {
        char have[41];
        if (ig_elf_build_id_hex(e, have, sizeof have) == 0 && strlen(have) >= 4)
            snprintf(bid, len, "%s", have);
    }
    if (e)
        elf_end(e);
}

static void lookups(Elf *elf, const uint8_t *data, size_t size)
{
    ig_module m;
    memset(&m, 0, sizeof m);
    m.dwarf = ig_dwarf_open(elf);
    if (!m.dwarf)
        return;
    ig_rawframe out[32];
    uint64_t fixed[] = {0, 0x1000, 0x1130, 0x401000};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        ig_dwarf_frames(&m, fixed[i], out, 32);
    for (size_t i = 0; i + 8 <= size && i < 256; i += 8) {
        uint64_t a;
        memcpy(&a, data + i, 8);
        ig_dwarf_frames(&m, a & 0xffffff, out, 32);
    }
    ig_dwarf_index_free(&m);
    dwarf_end(m.dwarf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[64] = "/dev/shm/ig-fuzz-dbgcache-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/ig-fuzz-dbgcache-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    char bid[41], sub[128], path[256];
    input_build_id(data, size, bid, sizeof bid);
    snprintf(sub, sizeof sub, "%s/debug", dir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/debug/%.2s", dir, bid);
    mkdir(sub, 0700);
    snprintf(path, sizeof path, "%s/%s.debug", sub, bid + 2);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    ig_symcache *c = ig_symcache_new(dir);
    int fd;
    Elf *elf;
    int saved = dup(2), null = open("/dev/null", O_WRONLY); /* the warning of a refused entry */
    dup2(null, 2);
    int rc = ig_symcache_debug_open(c, bid, &fd, &elf);
    dup2(saved, 2);
    close(saved);
    close(null);
    if (rc == 0) {
        lookups(elf, data, size);
        elf_end(elf);
        close(fd);
    } else if (access(path, F_OK) == 0) {
        abort(); /* a refused entry is removed */
    }
    ig_symcache_free(c);
    unlink(path);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/debug", dir);
    rmdir(sub);
    rmdir(dir);
    return 0;
}
