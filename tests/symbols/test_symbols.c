/*
 * tests/symbols/test_symbols.c — ELF/DWARF symbolization against ground
 * truth from the samples in samples/sym/ (runtime addresses and maps they
 * print themselves, source lines from @markers, build-ids from readelf):
 * inline chains with call sites, physical functions, C++ demangling,
 * stripped binaries (.dynsym or nothing), separate debug info by
 * debuglink and by build-id, the caches, and files that are missing,
 * replaced, truncated or corrupt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profiler/symbols.h"
#include "tests/symbols/sym_fixture.h"

#define SRC_INLINE "samples/sym/sym_inline.c"
#define SRC_CPP "samples/sym/sym_cpp.cpp"

static fx_sample inline_fx, cpp_fx;
static char inline_path[512], stripped_path[512], dbglink_path[512], debug_path[512], cpp_path[512];

static int setup(void **state)
{
    (void)state;
    fx_path(inline_path, sizeof inline_path, "sym_inline");
    fx_path(stripped_path, sizeof stripped_path, "sym_inline.stripped");
    fx_path(dbglink_path, sizeof dbglink_path, "sym_inline.dbglink");
    fx_path(debug_path, sizeof debug_path, "sym_inline.debug");
    fx_path(cpp_path, sizeof cpp_path, "sym_cpp");
    if (fx_run(inline_path, &inline_fx) < 0 || fx_run(cpp_path, &cpp_fx) < 0) {
        fprintf(stderr, "samples missing: build %s and %s first\n", inline_path, cpp_path);
        return -1;
    }
    return 0;
}

/* A symtab that ignores the system's /usr/lib/debug. */
static ig_symtab *fresh(const char *debug_dirs)
{
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_debug_dirs(st, debug_dirs);
    return st;
}

/* Build-id through a throwaway symtab, so the caller's caches stay cold. */
static void build_id_of(const char *path, char *bid)
{
    ig_symtab *st = ig_symtab_new();
    assert_int_equal(ig_symtab_build_id(st, path, bid, 41), 0);
    ig_symtab_free(st);
}

static void assert_inline_chain(const ig_symframe *f, int n)
{
    assert_int_equal(n, 3);
    assert_string_equal(f[0].func, "sym_hot_leaf");
    assert_int_equal(f[0].line, fx_line_of(SRC_INLINE, "/* @leaf_marker */"));
    assert_string_equal(f[1].func, "sym_hot_outer");
    assert_int_equal(f[1].line, fx_line_of(SRC_INLINE, "/* @leaf_call */"));
    assert_string_equal(f[2].func, "sym_caller");
    assert_int_equal(f[2].line, fx_line_of(SRC_INLINE, "/* @outer_call */"));
    for (int i = 0; i < 3; i++)
        assert_true(fx_ends_with(f[i].file, SRC_INLINE));
    assert_int_equal(f[0].func_start, 0);
    assert_int_equal(f[2].func_start, fx_offset(&inline_fx, "sym_caller"));
}

static void inline_chain_innermost_first(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    int n = ig_symtab_lookup(st, inline_path, NULL, fx_offset(&inline_fx, "marker"), f, 8);
    assert_inline_chain(f, n);
    /* A short buffer keeps the innermost frames. */
    n = ig_symtab_lookup(st, inline_path, NULL, fx_offset(&inline_fx, "marker"), f, 1);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "sym_hot_leaf");
    ig_symtab_free(st);
}

static void physical_function_with_its_own_line(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "sym_static_helper");
    int n = ig_symtab_lookup(st, inline_path, NULL, off, f, 8);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "sym_static_helper");
    assert_string_equal(f[0].sysname, "sym_static_helper");
    assert_int_equal(f[0].func_start, off);
    assert_true(f[0].line >= fx_line_of(SRC_INLINE, "sym_static_helper(uint64_t v)"));
    assert_true(f[0].line <= fx_line_of(SRC_INLINE, "/* @static_body */"));
    n = ig_symtab_lookup(st, inline_path, NULL, fx_offset(&inline_fx, "main"), f, 8);
    assert_true(n >= 1);
    assert_string_equal(f[n - 1].func, "main");
    ig_symtab_free(st);
}

static void cpp_names_are_demangled(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    int n = ig_symtab_lookup(st, cpp_path, NULL, fx_offset(&cpp_fx, "scale"), f, 8);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "long ignis_sample::detail::scale<long>(long, int)");
    assert_string_equal(f[0].sysname, "_ZN12ignis_sample6detail5scaleIlEET_S2_i");
    /* non-PIE: vaddr 0x400000 + offset, translated both ways */
    assert_int_equal(f[0].func_start, fx_offset(&cpp_fx, "scale"));
    assert_true(fx_ends_with(f[0].file, SRC_CPP));
    n = ig_symtab_lookup(st, cpp_path, NULL, fx_offset(&cpp_fx, "spin"), f, 8);
    assert_true(n >= 1);
    assert_string_equal(f[n - 1].func, "ignis_sample::Widget::spin(int, int)");
    ig_symtab_free(st);
}

static void repeated_lookups_hit_the_cache(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe a[8], b[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    int na = ig_symtab_lookup(st, inline_path, NULL, off, a, 8);
    int nb = ig_symtab_lookup(st, inline_path, NULL, off, b, 8);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_ptr_equal(a[i].func, b[i].func);
        assert_ptr_equal(a[i].file, b[i].file);
        assert_int_equal(a[i].line, b[i].line);
    }
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.lookups, 2);
    assert_int_equal(s.cache_hits, 1);
    assert_int_equal(s.modules, 1);
    ig_symtab_free(st);
}

/* The stripped copy shares the build-id: one module, full answers. */
static void one_module_per_build_id(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    char bid[41];
    assert_int_equal(ig_symtab_build_id(st, inline_path, bid, sizeof bid), 0);
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    assert_int_equal(ig_symtab_lookup(st, inline_path, NULL, off, f, 8), 3);
    assert_inline_chain(f, ig_symtab_lookup(st, stripped_path, NULL, off, f, 8));
    assert_inline_chain(f, ig_symtab_lookup(st, "/no/such/file", bid, off, f, 8));
    /* a container path (/proc/PID/root/...) is just another path */
    char abs[4096], via_root[4200];
    assert_non_null(realpath(inline_path, abs));
    snprintf(via_root, sizeof via_root, "/proc/%d/root%s", (int)getpid(), abs);
    assert_inline_chain(f, ig_symtab_lookup(st, via_root, NULL, off, f, 8));
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.modules, 1);
    ig_symtab_free(st);
}

static void build_id_matches_readelf(void **state)
{
    (void)state;
    char cmd[700], line[512], want[128] = "";
    snprintf(cmd, sizeof cmd, "readelf -n %s", inline_path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p))
        if (sscanf(line, " Build ID: %127s", want) == 1)
            break;
    pclose(p);
    if (!want[0])
        skip();
    ig_symtab *st = fresh("");
    char bid[41];
    assert_int_equal(ig_symtab_build_id(st, inline_path, bid, sizeof bid), 0);
    assert_string_equal(bid, want);
    assert_int_equal(ig_symtab_build_id(st, "/no/such/file", bid, sizeof bid), -1);
    assert_int_equal(ig_symtab_build_id(st, SRC_INLINE, bid, sizeof bid), -1);
    ig_symtab_free(st);
}

static void stripped_falls_back_to_dynsym(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    uint64_t caller = fx_offset(&inline_fx, "sym_caller");
    int n = ig_symtab_lookup(st, stripped_path, NULL, fx_offset(&inline_fx, "marker"), f, 8);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "sym_caller");
    assert_null(f[0].file);
    assert_int_equal(f[0].line, 0);
    assert_int_equal(f[0].func_start, caller);
    /* static, so absent from .dynsym: nothing to name */
    assert_int_equal(ig_symtab_lookup(st, stripped_path, NULL, fx_offset(&inline_fx, "sym_static_helper"), f, 8), 0);
    /* an offset outside every PT_LOAD */
    assert_int_equal(ig_symtab_lookup(st, stripped_path, NULL, 1u << 30, f, 8), 0);
    ig_symtab_free(st);
}

static void debuglink_is_followed(void **state)
{
    (void)state;
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    assert_inline_chain(f, ig_symtab_lookup(st, dbglink_path, NULL, fx_offset(&inline_fx, "marker"), f, 8));
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.debug_files, 1);
    ig_symtab_free(st);
}

static char *make_temp_dir(void)
{
    char *d = strdup("/tmp/ig-symtest-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void run_ok(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    assert_int_equal(system(cmd), 0);
}

/* The other two debuglink places: <dir>/.debug/ and <debugdir>/<dir>/. */
static void debuglink_directories(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    char app[600], sub[700], global[700], where[1400];
    snprintf(app, sizeof app, "%s/bin/sym_inline.dbglink", root);
    snprintf(sub, sizeof sub, "%s/bin/.debug", root);
    snprintf(global, sizeof global, "%s/debugroot", root);
    run_ok("mkdir -p '%s' '%s'", sub, global);
    copy_file(dbglink_path, app);
    copy_file(debug_path, sub);
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    assert_inline_chain(f, ig_symtab_lookup(st, app, NULL, off, f, 8));
    ig_symtab_free(st);

    snprintf(where, sizeof where, "%s%s/bin", global, root);
    run_ok("rm -rf '%s' && mkdir -p '%s'", sub, where);
    copy_file(debug_path, where);
    st = fresh("");
    assert_int_equal(ig_symtab_lookup(st, app, NULL, off, f, 8), 1); /* not searched */
    ig_symtab_free(st);
    st = fresh(global);
    assert_inline_chain(f, ig_symtab_lookup(st, app, NULL, off, f, 8));
    ig_symtab_free(st);
    remove_tree(root);
    free(root);
}

static void debug_file_found_by_build_id(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    ig_symtab *st = fresh("");
    char bid[41], dir[1024], file[1200];
    build_id_of(inline_path, bid);
    snprintf(dir, sizeof dir, "%s/.build-id/%.2s", root, bid);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(file, sizeof file, "%s/%s.debug", dir, bid + 2);
    copy_file(debug_path, file);
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    /* without the directory: .dynsym only */
    assert_int_equal(ig_symtab_lookup(st, stripped_path, NULL, off, f, 8), 1);
    ig_symtab_free(st);
    st = fresh(root);
    assert_inline_chain(f, ig_symtab_lookup(st, stripped_path, NULL, off, f, 8));
    ig_symtab_free(st);
    remove_tree(root);
    free(root);
}

/* A debuglink target whose CRC does not match is not used. */
static void stale_debuglink_is_rejected(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    char bin[600], dbg[600];
    snprintf(bin, sizeof bin, "%s/app", root);
    snprintf(dbg, sizeof dbg, "%s/sym_inline.debug", root);
    /* No build-id, so only the link's CRC can vouch for the debug file;
     * the link names the right debug file first... */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "objcopy --strip-all --remove-section=.note.gnu.build-id --remove-section=.gnu_debuglink '%s' '%s' && "
             "objcopy --add-gnu-debuglink='%s' '%s'",
             inline_path, bin, debug_path, bin);
    assert_int_equal(system(cmd), 0);
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    copy_file(debug_path, dbg);
    assert_int_equal(ig_symtab_lookup(st, bin, NULL, off, f, 8), 3);
    ig_symtab_free(st);
    /* ...then the file behind the link is replaced by another one. */
    copy_file(cpp_path, dbg);
    st = fresh("");
    int n = ig_symtab_lookup(st, bin, NULL, off, f, 8);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].func, "sym_caller");
    assert_null(f[0].file);
    ig_symtab_free(st);
    remove_tree(root);
    free(root);
}

static void missing_and_odd_files_give_nothing(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", root);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    const char *paths[] = {"/no/such/file", "/", "/dev/null", "/dev/zero", fifo, SRC_INLINE, ""};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        assert_int_equal(ig_symtab_lookup(st, paths[i], NULL, 0x1000, f, 8), 0);
        assert_int_equal(ig_symtab_lookup(st, paths[i], "00112233445566778899", 0x1000, f, 8), 0);
    }
    assert_int_equal(ig_symtab_lookup(st, NULL, NULL, 0x1000, f, 8), 0);
    assert_int_equal(ig_symtab_lookup(st, inline_path, NULL, 0x1000, f, 0), 0);
    ig_symtab_free(st);
    remove_tree(root);
    free(root);
}

/* The engine's build-id says the mapped file is not the one at the path
 * any more: naming it from the new file would be wrong.  Once the module
 * of that build-id is known (from its real path), it answers. */
static void replaced_file_is_not_misnamed(void **state)
{
    (void)state;
    char bid[41];
    build_id_of(inline_path, bid);
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    uint64_t off = fx_offset(&inline_fx, "marker");
    assert_int_equal(ig_symtab_lookup(st, cpp_path, bid, off, f, 8), 0);
    assert_int_equal(ig_symtab_lookup(st, cpp_path, bid, off, f, 8), 0);
    assert_int_equal(ig_symtab_lookup(st, "/gone/after/upgrade", bid, off, f, 8), 0);
    /* the right file under the same build-id resolves... */
    assert_inline_chain(f, ig_symtab_lookup(st, inline_path, bid, off, f, 8));
    /* ...and from then on the build-id alone names the mapping */
    assert_inline_chain(f, ig_symtab_lookup(st, "/gone/after/upgrade (deleted)", bid, off, f, 8));
    assert_inline_chain(f, ig_symtab_lookup(st, "/gone/after/upgrade", bid, off, f, 8));
    assert_inline_chain(f, ig_symtab_lookup(st, cpp_path, bid, off, f, 8));
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.modules, 2); /* the unusable "replaced" one and the real one */
    ig_symtab_free(st);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *d = malloc(*len);
    assert_int_equal(fread(d, 1, *len, fp), *len);
    fclose(fp);
    return d;
}

static void spit(const char *path, const uint8_t *d, size_t len)
{
    unlink(path); /* a fresh inode: ext4 flushes files truncated by rewrite */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(d, 1, len, fp), len);
    fclose(fp);
}

static void probe_all(const char *path)
{
    ig_symtab *st = fresh("");
    ig_symframe f[8];
    const char *offs[] = {"marker", "sym_caller", "sym_static_helper", "main"};
    for (size_t i = 0; i < 4; i++) {
        int n = ig_symtab_lookup(st, path, NULL, fx_offset(&inline_fx, offs[i]), f, 8);
        assert_true(n >= 0 && n <= 8);
        for (int k = 0; k < n; k++)
            assert_true(f[k].func == NULL || strlen(f[k].func) < 4096);
    }
    char bid[41];
    ig_symtab_build_id(st, path, bid, sizeof bid);
    ig_symtab_free(st);
}

static void truncated_and_corrupt_elf_never_crash(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    char path[600];
    snprintf(path, sizeof path, "%s/bad", root);
    size_t len;
    uint8_t *orig = slurp(inline_path, &len);
    uint8_t *buf = malloc(len);
    size_t cuts[] = {0, 4, 16, 63, 64, 200, 0x1000, 0x1290, 0x2000, 0x3000, len / 2, len - 200, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(path, orig, cuts[i] < len ? cuts[i] : len);
        probe_all(path);
    }
    /* Deterministic byte smashing over headers, program/section headers
     * and the rest of the file (where the DWARF lives). */
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        memcpy(buf, orig, len);
        int flips = 1 + round % 8;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = round < 100 ? (seed >> 8) % 0x400 : (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            buf[at] = (uint8_t)(seed >> 16);
        }
        spit(path, buf, len);
        probe_all(path);
    }
    free(buf);
    free(orig);
    remove_tree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inline_chain_innermost_first),
        cmocka_unit_test(physical_function_with_its_own_line),
        cmocka_unit_test(cpp_names_are_demangled),
        cmocka_unit_test(repeated_lookups_hit_the_cache),
        cmocka_unit_test(one_module_per_build_id),
        cmocka_unit_test(build_id_matches_readelf),
        cmocka_unit_test(stripped_falls_back_to_dynsym),
        cmocka_unit_test(debuglink_is_followed),
        cmocka_unit_test(debuglink_directories),
        cmocka_unit_test(debug_file_found_by_build_id),
        cmocka_unit_test(stale_debuglink_is_rejected),
        cmocka_unit_test(missing_and_odd_files_give_nothing),
        cmocka_unit_test(replaced_file_is_not_misnamed),
        cmocka_unit_test(truncated_and_corrupt_elf_never_crash),
    };
    return cmocka_run_group_tests_name("symbols", tests, setup, NULL);
}
