/*
 * tests/symbols/test_sizeless.c — names from symbols without a size, and
 * from ELF images that exist only in memory (the vDSO).
 *
 * Ground truth: tests/symbols/sizeless.S, built into libsizeless.so
 * (tests/symbols/build.mk), whose symbol addresses the test reads from the
 * file itself with libelf; ld.so's own _start (a size-0 label) when its
 * debug file is installed; this process's vDSO and its .dynsym.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "profiler/sym/sym_internal.h"
#include "profiler/symbols.h"
#include "utils/strbuf.h"

static char lib_path[512];

/* ---- reading the ground truth -------------------------------------------- */

/* vaddr of a symbol (by == 0) or of a section (by == 1) in an ELF file;
 * false when absent. */
static bool elf_find(const char *path, const char *name, int by, uint64_t *vaddr)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    bool found = false;
    size_t shstrndx = 0;
    if (e)
        elf_getshdrstrndx(e, &shstrndx);
    for (Elf_Scn *scn = NULL; e && !found && (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *sname = elf_strptr(e, shstrndx, sh.sh_name);
        if (by == 1 && sname && !strcmp(sname, name)) {
            *vaddr = sh.sh_addr;
            found = true;
        }
        if (by != 0 || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !found; i++) {
            GElf_Sym s;
            const char *n = gelf_getsym(d, (int)i, &s) ? elf_strptr(e, sh.sh_link, s.st_name) : NULL;
            if (n && !strcmp(n, name)) {
                *vaddr = s.st_value;
                found = true;
            }
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return found;
}

/* The file offset of vaddr in an ELF file, through its PT_LOAD headers. */
static bool file_offset(const char *path, uint64_t vaddr, uint64_t *off)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t nph = 0;
    bool placed = false;
    if (e && elf_getphdrnum(e, &nph) == 0)
        for (size_t i = 0; i < nph && !placed; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
                vaddr < ph.p_vaddr + ph.p_filesz) {
                *off = vaddr - ph.p_vaddr + ph.p_offset;
                placed = true;
            }
        }
    if (e)
        elf_end(e);
    close(fd);
    return placed;
}

/* The file offset of a symbol (by 0) or section (by 1) of the fixture. */
static uint64_t lib_off(const char *name, int by)
{
    uint64_t vaddr = 0, off = 0;
    assert_true(elf_find(lib_path, name, by, &vaddr));
    assert_true(file_offset(lib_path, vaddr, &off));
    return off;
}

static uint64_t sym_off(const char *name)
{
    return lib_off(name, 0);
}

static ig_symtab *fresh(void)
{
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_debug_dirs(st, "");
    return st;
}

/* The physical function named at offset, or "" when nothing is named. */
static const char *name_at(ig_symtab *st, const char *path, uint64_t off)
{
    ig_symframe f[8];
    int n = ig_symtab_lookup(st, path, NULL, off, f, 8);
    return n > 0 && f[n - 1].func ? f[n - 1].func : "";
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("IGNIS_BUILD");
    snprintf(lib_path, sizeof lib_path, "%s/tests/symbols/libsizeless.so", b && *b ? b : "build");
    if (access(lib_path, R_OK) != 0) {
        fprintf(stderr, "%s missing: run make first\n", lib_path);
        return -1;
    }
    return 0;
}

/* ---- size-0 symbols -------------------------------------------------------- */

static void labels_are_named_up_to_the_next_symbol(void **state)
{
    (void)state;
    ig_symtab *st = fresh();
    assert_string_equal(name_at(st, lib_path, sym_off("local_start") + 2), "local_start");
    assert_string_equal(name_at(st, lib_path, sym_off("global_label") + 7), "global_label");
    assert_string_equal(name_at(st, lib_path, sym_off("func_nosize")), "func_nosize");
    assert_string_equal(name_at(st, lib_path, sym_off("func_nosize") + 7), "func_nosize");
    /* the sized function before them is unchanged */
    assert_string_equal(name_at(st, lib_path, sym_off("sized_first") + 7), "sized_first");
    ig_symtab_free(st);
}

static void a_label_inside_a_function_is_not_a_function(void **state)
{
    (void)state;
    ig_symtab *st = fresh();
    assert_string_equal(name_at(st, lib_path, sym_off("inner_label") + 1), "sized_outer");
    /* and a function beats a label at the same address */
    assert_string_equal(name_at(st, lib_path, sym_off("alias_label")), "aliased_fn");
    ig_symtab_free(st);
}

static void the_last_symbol_stops_at_its_section_end(void **state)
{
    (void)state;
    ig_symtab *st = fresh();
    uint64_t after = lib_off(".nosymcode", 1);
    assert_string_equal(name_at(st, lib_path, sym_off("last_label") + 7), "last_label");
    assert_string_equal(name_at(st, lib_path, after), "");
    assert_string_equal(name_at(st, lib_path, after + 4), "");
    ig_symtab_free(st);
}

/* Frames cached by the rules that named only sized functions (an empty
 * answer for local_start) are dropped, not served. */
static void frames_cached_under_older_rules_are_named_again(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-sizeless-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char bid[41];
    ig_symtab *st = fresh();
    assert_int_equal(ig_symtab_build_id(st, lib_path, bid, sizeof bid), 0);
    ig_symtab_free(st);
    ig_fc_entry ent = {sym_off("local_start") + 2, NULL, 0};
    size_t len;
    uint8_t *data = ig_framecache_encode(&ent, 1, 0 /* old rules, no DWARF */, &len);
    assert_non_null(data);
    char sub[64], name[64];
    snprintf(sub, sizeof sub, "debug/%.2s", bid);
    snprintf(name, sizeof name, "%s.frames", bid + 2);
    ig_symcache *c = ig_symcache_new(dir);
    assert_int_equal(ig_symcache_write(c, sub, name, data, len), 0);
    ig_symcache_free(c);
    free(data);
    st = fresh();
    ig_symtab_set_cache_dir(st, dir);
    ig_symframe f[4];
    int n = ig_symtab_lookup(st, lib_path, bid, sym_off("local_start") + 2, f, 4);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "local_start");
    ig_symtab_free(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ld.so's entry, _start, is a size-0 label in its debug file's symbol
 * table: the outermost frame of every process's first instructions. */
static void ld_so_start_is_named(void **state)
{
    (void)state;
    const char *ldso = "/lib64/ld-linux-x86-64.so.2";
    char bid[41], dbg[256];
    ig_symtab *st = ig_symtab_new();
    if (ig_symtab_build_id(st, ldso, bid, sizeof bid) != 0) {
        ig_symtab_free(st);
        skip();
        return;
    }
    snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
    uint64_t vaddr, off;
    if (!elf_find(dbg, "_start", 0, &vaddr)) {
        ig_symtab_free(st);
        skip(); /* no debug file with ld.so's symbol table (libc6-dbg) */
        return;
    }
    assert_true(file_offset(ldso, vaddr, &off));
    assert_string_equal(name_at(st, ldso, off + 3), "_start"); /* its call to _dl_start */
    ig_symtab_free(st);
}

/* ---- images in memory: the vDSO -------------------------------------------- */

/* This process's vDSO image and its size. */
static const uint8_t *own_vdso(size_t *size)
{
    uint64_t base = getauxval(AT_SYSINFO_EHDR);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    *size = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == base)
            *size = hi - lo;
    }
    if (f)
        fclose(f);
    return base && *size ? (const uint8_t *)(uintptr_t)base : NULL;
}

/* Offset of a .dynsym symbol of an ELF image in memory. */
static uint64_t image_sym(const uint8_t *img, size_t size, const char *name)
{
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)img, size);
    assert_non_null(e);
    uint64_t at = 0;
    for (Elf_Scn *scn = NULL; !at && (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !at; i++) {
            GElf_Sym s;
            const char *n = gelf_getsym(d, (int)i, &s) ? elf_strptr(e, sh.sh_link, s.st_name) : NULL;
            if (n && !strcmp(n, name))
                at = s.st_value; /* the vDSO's vaddrs are its file offsets */
        }
    }
    elf_end(e);
    return at;
}

static void vdso_image_is_named(void **state)
{
    (void)state;
    size_t size;
    const uint8_t *img = own_vdso(&size);
    if (!img) {
        skip();
        return;
    }
    uint64_t off = image_sym(img, size, "__vdso_clock_gettime");
    assert_true(off > 0);
    ig_symtab *st = fresh();
    ig_symframe f[4];
    int n = ig_symtab_lookup_image(st, "[vdso]", NULL, img, size, off + 4, f, 4);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "__vdso_clock_gettime");
    /* a second look (and one by build-id) reuses the module */
    char bid[41];
    Elf *e = elf_memory((char *)img, size);
    assert_int_equal(ig_elf_build_id_hex(e, bid, sizeof bid), 0);
    elf_end(e);
    assert_int_equal(ig_symtab_lookup_image(st, "[vdso]", bid, img, size, off + 8, f, 4), 1);
    assert_int_equal(ig_symtab_lookup_image(st, "[vdso]", NULL, img, size, off, f, 4), 1);
    ig_symtab_stats stats;
    ig_symtab_get_stats(st, &stats);
    assert_int_equal(stats.modules, 1);
    ig_symtab_free(st);
}

static void garbage_images_name_nothing(void **state)
{
    (void)state;
    size_t size;
    const uint8_t *img = own_vdso(&size);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    ig_symtab *st = fresh();
    ig_symframe f[4];
    assert_int_equal(ig_symtab_lookup_image(st, "[junk]", NULL, junk, sizeof junk, 16, f, 4), 0);
    assert_int_equal(ig_symtab_lookup_image(st, "[junk]", NULL, junk, sizeof junk, UINT64_MAX, f, 4), 0);
    if (img) { /* a truncated copy of a real image */
        uint8_t *cut = ig_xmalloc(256);
        memcpy(cut, img, 256);
        assert_int_equal(ig_symtab_lookup_image(st, "[cut]", NULL, cut, 256, 0x100, f, 4), 0);
        free(cut);
    }
    assert_int_equal(ig_symtab_lookup_image(st, "[none]", NULL, NULL, 0, 0, f, 4), 0);
    ig_symtab_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labels_are_named_up_to_the_next_symbol),
        cmocka_unit_test(a_label_inside_a_function_is_not_a_function),
        cmocka_unit_test(the_last_symbol_stops_at_its_section_end),
        cmocka_unit_test(frames_cached_under_older_rules_are_named_again),
        cmocka_unit_test(ld_so_start_is_named),
        cmocka_unit_test(vdso_image_is_named),
        cmocka_unit_test(garbage_images_name_nothing),
    };
    return cmocka_run_group_tests_name("sizeless", tests, setup, NULL);
}
