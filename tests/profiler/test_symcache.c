/*
 * tests/profiler/test_symcache.c — the symbolizer's persistent cache
 * (profiler/sym/cache.c) against ground truth: the answers of a symtab
 * without a cache.
 *
 * Fixtures: samples/sym/sym_inline (an inline chain with known lines) and
 * its DWARF moved to a separate file found by build-id, compressed with
 * objcopy --compress-debug-sections (what Debian's -dbg packages ship);
 * a copy of sym_inline with its own DWARF compressed; the live
 * /proc/kallsyms when readable.  Every cache lives in a temporary
 * directory.  Checked: cold and warm lookups give the very frames of an
 * uncached symtab; a warm symtab takes the entries (same inode, counters)
 * instead of rebuilding them; the frames entry answers earlier runs'
 * addresses by itself and takes new ones; truncated or garbage entries
 * are refused with one warning and rebuilt; the entry parsers refuse every
 * truncation and inconsistency; an unwritable cache directory still
 * symbolizes with at most one warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "profiler/sym/sym_internal.h"
#include "tests/symbols/sym_fixture.h"

#define SRC_INLINE "samples/sym/sym_inline.c"

static fx_sample fx;
static char tmp[64], inline_path[512], stripped_path[512], zself_path[600], dbgdir[600], bid[41];

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    fx_path(inline_path, sizeof inline_path, "sym_inline");
    fx_path(stripped_path, sizeof stripped_path, "sym_inline.stripped");
    char debug_path[512];
    fx_path(debug_path, sizeof debug_path, "sym_inline.debug");
    if (fx_run(inline_path, &fx) < 0) {
        fprintf(stderr, "samples missing: build %s first\n", inline_path);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/ig-symcache-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    ig_symtab *st = ig_symtab_new();
    if (ig_symtab_build_id(st, inline_path, bid, sizeof bid) != 0)
        return -1;
    ig_symtab_free(st);
    /* <dbgdir>/.build-id/xx/rest.debug, compressed; sym_inline with its own DWARF compressed */
    snprintf(dbgdir, sizeof dbgdir, "%s/dbg/.build-id/%.2s", tmp, bid);
    if (sh("mkdir -p '%s'%s", dbgdir, ""))
        return -1;
    char target[800];
    snprintf(target, sizeof target, "%s/%s.debug", dbgdir, bid + 2);
    if (sh("objcopy --compress-debug-sections=zlib-gabi '%s' '%s'", debug_path, target))
        return -1;
    snprintf(dbgdir, sizeof dbgdir, "%s/dbg", tmp);
    snprintf(zself_path, sizeof zself_path, "%s/sym_inline.z", tmp);
    return sh("objcopy --compress-debug-sections=zlib-gabi '%s' '%s'", inline_path, zself_path);
}

static int teardown(void **state)
{
    (void)state;
    return sh("rm -rf '%s'%s", tmp, "");
}

/* ---- helpers ------------------------------------------------------------ */

static ig_symtab *symtab_with(const char *cache_dir)
{
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_debug_dirs(st, dbgdir);
    ig_symtab_set_cache_dir(st, cache_dir);
    return st;
}

static char *fresh_dir(const char *name)
{
    static char buf[4][700];
    static int k;
    char *d = buf[k++ % 4];
    snprintf(d, sizeof buf[0], "%s/%s", tmp, name);
    sh("rm -rf '%s'; mkdir -p '%s'", d, d);
    return d;
}

/* One lookup's frames, copied out (the strings die with their symtab). */
typedef struct frame {
    char func[128], file[256];
    int line, column;
    uint64_t func_start;
} frame;

typedef struct answer {
    int n;
    frame f[8];
} answer;

static void lookup_into(ig_symtab *st, const char *path, uint64_t off, answer *a)
{
    ig_symframe f[8];
    a->n = ig_symtab_lookup(st, path, NULL, off, f, 8);
    for (int j = 0; j < a->n; j++) {
        snprintf(a->f[j].func, sizeof a->f[j].func, "%s", f[j].func ? f[j].func : "(null)");
        snprintf(a->f[j].file, sizeof a->f[j].file, "%s", f[j].file ? f[j].file : "(null)");
        a->f[j].line = f[j].line;
        a->f[j].column = f[j].column;
        a->f[j].func_start = f[j].func_start;
    }
}

/* Frames of every fixture function (and 4 bytes in) in path. */
static void answers(ig_symtab *st, const char *path, answer *out)
{
    for (int i = 0; i < fx.nnames; i++) {
        uint64_t off = fx_offset(&fx, fx.names[i]);
        lookup_into(st, path, off, &out[2 * i]);
        lookup_into(st, path, off + 4, &out[2 * i + 1]);
    }
}

/* The answers of a symbolizer without any cache: the ground truth. */
/* answers() from a symtab of its own on cache_dir (NULL: no cache). */
static void answers_through(const char *cache_dir, const char *path, answer *out)
{
    ig_symtab *st = symtab_with(cache_dir);
    answers(st, path, out);
    ig_symtab_free(st);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void assert_same_answers(const answer *a, const answer *b)
{
    int named = 0;
    for (int i = 0; i < 2 * fx.nnames; i++) {
        assert_int_equal(a[i].n, b[i].n);
        for (int j = 0; j < a[i].n; j++) {
            assert_string_equal(a[i].f[j].func, b[i].f[j].func);
            assert_string_equal(a[i].f[j].file, b[i].f[j].file);
            assert_int_equal(a[i].f[j].line, b[i].f[j].line);
            assert_int_equal(a[i].f[j].column, b[i].f[j].column);
            assert_int_equal(a[i].f[j].func_start, b[i].f[j].func_start);
        }
        named += a[i].n > 0;
    }
    assert_true(named >= fx.nnames); /* the ground truth names things */
}

/* The inline chain of the marker, as tests/symbols checks it. */
static void assert_inline_chain(ig_symtab *st, const char *path)
{
    ig_symframe f[8];
    int n = ig_symtab_lookup(st, path, NULL, fx_offset(&fx, "marker"), f, 8);
    assert_int_equal(n, 3);
    assert_string_equal(f[0].func, "sym_hot_leaf");
    assert_int_equal(f[0].line, fx_line_of(SRC_INLINE, "/* @leaf_marker */"));
    assert_string_equal(f[1].func, "sym_hot_outer");
    assert_string_equal(f[2].func, "sym_caller");
    assert_true(fx_ends_with(f[0].file, SRC_INLINE));
}

static void entry_path(const char *cache, const char *ext, char *buf, size_t len)
{
    snprintf(buf, len, "%s/debug/%.2s/%s.%s", cache, bid, bid + 2, ext);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* stderr into a file while capturing; returns how many lines mention the cache. */
static int saved_stderr = -1;
static char errfile[700];

static void capture_stderr(void)
{
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", tmp);
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
}

static int release_stderr(const char *must_contain)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(errfile, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0, found = must_contain == NULL;
    while (fgets(line, sizeof line, f)) {
        fputs(line, stderr);
        if (strstr(line, "ignis: cache: "))
            n++;
        if (must_contain && strstr(line, must_contain))
            found = 1;
    }
    fclose(f);
    assert_true(found);
    return n;
}

static void truncate_half(const char *path)
{
    off_t sz = size_of(path);
    assert_true(sz > 0);
    assert_int_equal(truncate(path, sz / 2), 0);
}

/* ---- decompressed debug files and CU tables ----------------------------- */

static void separate_debug_file_cold_warm_same_frames(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], cold[2 * FX_MAX], warm[2 * FX_MAX];
    ig_symtab *ref = symtab_with(NULL);
    answers(ref, stripped_path, want);
    assert_inline_chain(ref, stripped_path);
    ig_symtab_free(ref);

    const char *cache = fresh_dir("cache-sep");
    ig_symtab *st = symtab_with(cache);
    answers(st, stripped_path, cold);
    assert_inline_chain(st, stripped_path);
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.cached_debug_files, 1);
    ig_symtab_free(st);
    assert_same_answers(want, cold);

    char dbg[800], cu[800];
    entry_path(cache, "debug", dbg, sizeof dbg);
    entry_path(cache, "cuidx", cu, sizeof cu);
    ino_t dbg_ino = inode_of(dbg), cu_ino = inode_of(cu);
    assert_true(dbg_ino != 0 && cu_ino != 0);

    st = symtab_with(cache);
    answers(st, stripped_path, warm);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.cached_debug_files, 1);
    ig_symtab_free(st);
    assert_same_answers(want, warm);
    assert_true(inode_of(dbg) == dbg_ino); /* taken, not rewritten */
    assert_true(inode_of(cu) == cu_ino);
    assert_int_equal(s.persisted_hits, 2 * fx.nnames); /* every address from the frames entry */

    /* the entry is a valid, uncompressed ELF with the build-id */
    int fd;
    Elf *e;
    ig_symcache *c = ig_symcache_new(cache);
    assert_int_equal(ig_symcache_debug_open(c, bid, &fd, &e), 0);
    assert_false(ig_elf_has_compressed_debug(e));
    elf_end(e);
    close(fd);
    ig_symcache_free(c);
}

static void own_compressed_dwarf_is_cached_too(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], cold[2 * FX_MAX], warm[2 * FX_MAX];
    answers_through(NULL, zself_path, want);
    const char *cache = fresh_dir("cache-self");
    ig_symtab *st = symtab_with(cache);
    answers(st, zself_path, cold);
    assert_inline_chain(st, zself_path);
    ig_symtab_free(st);
    st = symtab_with(cache);
    answers(st, zself_path, warm);
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.cached_debug_files, 1);
    /* every answer came from the frames entry: the DWARF stayed closed */
    assert_int_equal(s.persisted_hits, 2 * fx.nnames);
    assert_int_equal(s.dwarf_opened, 0);
    ig_symtab_free(st);
    assert_same_answers(want, cold);
    assert_same_answers(want, warm);
    /* an address the entry lacks opens it, and is named as without a cache */
    uint64_t extra = fx_offset(&fx, "marker") + 1;
    answer extra_want, extra_got;
    st = symtab_with(NULL);
    lookup_into(st, zself_path, extra, &extra_want);
    ig_symtab_free(st);
    st = symtab_with(cache);
    lookup_into(st, zself_path, extra, &extra_got);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.dwarf_opened, 1);
    ig_symtab_free(st);
    assert_true(extra_want.n > 0);
    assert_int_equal(extra_got.n, extra_want.n);
    for (int j = 0; j < extra_got.n; j++) {
        assert_string_equal(extra_got.f[j].func, extra_want.f[j].func);
        assert_int_equal(extra_got.f[j].line, extra_want.f[j].line);
    }
    /* uncompressed DWARF in the file itself: only the CU table is cached */
    cache = fresh_dir("cache-plain");
    st = symtab_with(cache);
    assert_inline_chain(st, inline_path);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.cached_debug_files, 0);
    ig_symtab_free(st);
    char dbg[800], cu[800];
    entry_path(cache, "debug", dbg, sizeof dbg);
    entry_path(cache, "cuidx", cu, sizeof cu);
    assert_int_equal(size_of(dbg), -1);
    assert_true(size_of(cu) > 0);
    /* ... and the file's own DWARF stays closed when the frames answer */
    st = symtab_with(cache);
    assert_inline_chain(st, inline_path);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.persisted_hits, 1);
    assert_int_equal(s.dwarf_opened, 0);
    ig_symtab_free(st);
}

/* Zeroes the start of path's .debug_info: still an ELF, but DWARF libdw
 * refuses. */
static void spoil_debug_info(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    assert_non_null(elf);
    size_t shstrndx;
    assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
    GElf_Shdr sh = {0};
    int found = 0;
    for (Elf_Scn *scn = NULL; !found && (scn = elf_nextscn(elf, scn));) {
        const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
        found = name && !strcmp(name, ".debug_info");
    }
    elf_end(elf);
    assert_true(found && sh.sh_size > 0);
    static char zeros[4096];
    size_t n = sh.sh_size < sizeof zeros ? sh.sh_size : sizeof zeros;
    assert_int_equal(pwrite(fd, zeros, n, (off_t)sh.sh_offset), (ssize_t)n);
    close(fd);
}

/* The cached DWARF is opened on first need; should libdw refuse it then,
 * the module finds its debug file as if uncached, and names alike. */
static void refused_cached_dwarf_falls_back(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], got[2 * FX_MAX];
    answers_through(NULL, stripped_path, want);
    const char *cache = fresh_dir("cache-refused");
    answers_through(cache, stripped_path, got);
    char dbg[800], frames[800];
    entry_path(cache, "debug", dbg, sizeof dbg);
    entry_path(cache, "frames", frames, sizeof frames);
    spoil_debug_info(dbg);
    ino_t spoilt = inode_of(dbg);
    unlink(frames); /* so that names need the DWARF */
    ig_symtab *st = symtab_with(cache);
    answers(st, stripped_path, got);
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.dwarf_opened, 1);
    ig_symtab_free(st);
    assert_same_answers(want, got);
    /* the spoilt entry was stored again from the debug file */
    assert_true(size_of(dbg) > 0 && inode_of(dbg) != spoilt);
    unlink(frames);
    answers_through(cache, stripped_path, got);
    assert_same_answers(want, got);
}

static void corrupt_entries_are_ignored_and_rebuilt(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], got[2 * FX_MAX];
    answers_through(NULL, stripped_path, want);
    const char *cache = fresh_dir("cache-corrupt");
    answers_through(cache, stripped_path, got);
    char dbg[800], cu[800];
    entry_path(cache, "debug", dbg, sizeof dbg);
    entry_path(cache, "cuidx", cu, sizeof cu);
    off_t dbg_size = size_of(dbg), cu_size = size_of(cu);

    /* truncated debug file and CU table (without the frames entry, which
     * would answer every address before they are read) */
    char frames[800];
    entry_path(cache, "frames", frames, sizeof frames);
    assert_int_equal(unlink(frames), 0);
    truncate_half(dbg);
    truncate_half(cu);
    capture_stderr();
    answers_through(cache, stripped_path, got);
    assert_int_equal(release_stderr("ignored and rebuilt"), 2);
    assert_same_answers(want, got);
    assert_int_equal(size_of(dbg), dbg_size);
    assert_int_equal(size_of(cu), cu_size);

    /* garbage */
    assert_int_equal(unlink(frames), 0);
    sh("head -c %s /dev/urandom > '%s'", "4096", dbg);
    sh("head -c %s /dev/zero > '%s'", "200", cu);
    capture_stderr();
    answers_through(cache, stripped_path, got);
    assert_int_equal(release_stderr("ignored and rebuilt"), 2);
    assert_same_answers(want, got);
    assert_int_equal(size_of(dbg), dbg_size);

    /* the next one is warm and silent */
    capture_stderr();
    answers_through(cache, stripped_path, got);
    assert_int_equal(release_stderr(NULL), 0);
    assert_same_answers(want, got);
}

/* The frames entry answers the addresses of earlier runs by itself, takes
 * new ones at the end of a run, and is refused when corrupt. */
static void frames_of_earlier_runs_answer_again(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], got[2 * FX_MAX];
    ig_symtab *ref = symtab_with(NULL);
    answers(ref, stripped_path, want);
    answer extra_want;
    uint64_t extra = fx_offset(&fx, "marker") + 1; /* an address the fixture list does not have */
    lookup_into(ref, stripped_path, extra, &extra_want);
    ig_symtab_free(ref);

    const char *cache = fresh_dir("cache-frames");
    answers_through(cache, stripped_path, got);
    assert_same_answers(want, got);
    char frames[800];
    entry_path(cache, "frames", frames, sizeof frames);
    off_t first_size = size_of(frames);
    assert_true(first_size > 0);

    /* warm: all from the entry, which is not rewritten (nothing new) */
    ino_t ino = inode_of(frames);
    ig_symtab *st = symtab_with(cache);
    answers(st, stripped_path, got);
    ig_symtab_stats s;
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.persisted_hits, 2 * fx.nnames);
    ig_symtab_free(st);
    assert_same_answers(want, got);
    assert_true(inode_of(frames) == ino);

    /* a new address: resolved, then added; the next run has it too */
    st = symtab_with(cache);
    answer a;
    lookup_into(st, stripped_path, extra, &a);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.persisted_hits, 0);
    ig_symtab_free(st);
    assert_true(size_of(frames) > first_size);
    st = symtab_with(cache);
    lookup_into(st, stripped_path, extra, &a);
    answers(st, stripped_path, got);
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.persisted_hits, 2 * fx.nnames + 1);
    ig_symtab_free(st);
    assert_same_answers(want, got);
    assert_int_equal(a.n, extra_want.n);
    for (int j = 0; j < a.n; j++) {
        assert_string_equal(a.f[j].func, extra_want.f[j].func);
        assert_int_equal(a.f[j].line, extra_want.f[j].line);
    }

    /* truncated, then garbage: one warning, the right answers, rewritten */
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            truncate_half(frames);
        else
            sh("head -c %s /dev/urandom > '%s'", "3000", frames);
        capture_stderr();
        st = symtab_with(cache);
        answers(st, stripped_path, got);
        ig_symtab_get_stats(st, &s);
        assert_int_equal(s.persisted_hits, 0);
        ig_symtab_free(st);
        assert_int_equal(release_stderr("ignored and rebuilt"), 1);
        assert_same_answers(want, got);
        st = symtab_with(cache);
        answers(st, stripped_path, got);
        ig_symtab_get_stats(st, &s);
        assert_int_equal(s.persisted_hits, 2 * fx.nnames);
        ig_symtab_free(st);
    }
}

static void frames_entry_parser_refuses_bad_entries(void **state)
{
    (void)state;
    ig_symtab *st = symtab_with(NULL);
    ig_symframe f[4];
    int n = ig_symtab_lookup(st, stripped_path, NULL, fx_offset(&fx, "marker"), f, 4);
    assert_int_equal(n, 3);
    ig_fc_entry ents[2] = {{0x2000, f, 3}, {0x1000, f + 2, 1}};
    size_t len;
    uint8_t *e = ig_framecache_encode(ents, 2, 3, &len);
    assert_non_null(e);
    ig_fc_view v;
    assert_null(ig_framecache_view(&v, e, len));
    assert_int_equal(v.nents, 2);
    assert_int_equal(v.debug_kind, 3);
    uint32_t first, k;
    int corrupt = 0;
    assert_int_equal(ig_framecache_find(&v, 0x2000, &first, &k, &corrupt), 0);
    assert_int_equal(k, 3);
    for (uint32_t j = 0; j < k; j++) {
        ig_symframe g;
        assert_int_equal(ig_framecache_frame(&v, first + j, &g), 0);
        assert_string_equal(g.func, f[j].func);
        assert_string_equal(g.file, f[j].file);
        assert_int_equal(g.line, f[j].line);
        assert_int_equal(g.func_start, f[j].func_start);
    }
    assert_int_equal(ig_framecache_find(&v, 0x1000, &first, &k, &corrupt), 0);
    assert_int_equal(k, 1);
    assert_int_equal(ig_framecache_find(&v, 0x1800, &first, &k, &corrupt), -1);
    assert_false(corrupt);
    for (size_t cut = 0; cut < len; cut++)
        assert_non_null(ig_framecache_view(&v, e, cut));
    uint8_t *bad = malloc(len);
    /* header 32, entries {u64 offset, u32 first, u32 n} at 32 */
    memcpy(bad, e, len);
    bad[0] = 'x';
    assert_non_null(ig_framecache_view(&v, bad, len));
    memcpy(bad, e, len);
    bad[len - 1] = 'x';
    assert_non_null(ig_framecache_view(&v, bad, len));
    memcpy(bad, e, len);
    bad[32 + 16 + 12] = 40; /* the second entry claims 40 frames */
    assert_null(ig_framecache_view(&v, bad, len));
    assert_int_equal(ig_framecache_find(&v, 0x2000, &first, &k, &corrupt), -1);
    assert_true(corrupt);
    memcpy(bad, e, len);
    uint32_t far = 0xfffff0;
    memcpy(bad + 32 + 2 * 16, &far, 4); /* frame 0's function name far outside */
    assert_null(ig_framecache_view(&v, bad, len));
    ig_symframe g;
    assert_int_equal(ig_framecache_frame(&v, 0, &g), -1);
    free(bad);
    free(e);
    ig_symtab_free(st);
}

static void unwritable_cache_dir_still_symbolizes(void **state)
{
    (void)state;
    static answer want[2 * FX_MAX], got[2 * FX_MAX], other[2 * FX_MAX];
    char file[700], cache[800];
    snprintf(file, sizeof file, "%s/plainfile", tmp);
    sh("echo x > '%s'%s", file, "");
    snprintf(cache, sizeof cache, "%s/cache", file); /* under a regular file: mkdir fails, even for root */
    capture_stderr();
    ig_symtab *st = symtab_with(cache);
    answers(st, stripped_path, got);
    answers(st, zself_path, other); /* a second module: still one warning */
    ig_symtab_kernel(st, 0xffffffff81000000ULL);
    ig_symtab_free(st);
    assert_true(release_stderr(NULL) <= 1);
    answers_through(NULL, stripped_path, want);
    answers_through(cache, stripped_path, got);
    assert_same_answers(want, got);
}

/* ---- the CU table entry parser ------------------------------------------ */

static void cuindex_entry_parser_refuses_bad_entries(void **state)
{
    (void)state;
    ig_module m;
    memset(&m, 0, sizeof m);
    ig_cuinfo cus[3] = {{.die_off = 0x0b}, {.die_off = 0x200}, {.die_off = 0x3f0}};
    ig_range ranges[4] = {{0x1000, 0x1100, 0}, {0x1100, 0x1180, 1}, {0x1180, 0x2000, 2}, {0x3000, 0x3010, 0}};
    m.cus = cus, m.ncus = 3, m.cu_ranges = ranges, m.ncu_ranges = 4;
    size_t len;
    uint8_t *e = ig_cuindex_encode(&m, 0x400, &len);
    assert_non_null(e);
    ig_module p;
    memset(&p, 0, sizeof p);
    assert_null(ig_cuindex_parse(e, len, 0x400, &p.cus, &p.ncus, &p.cu_ranges, &p.ncu_ranges));
    assert_int_equal(p.ncus, 3);
    assert_int_equal(p.ncu_ranges, 4);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p.cus[i].die_off, cus[i].die_off);
    assert_memory_equal(p.cu_ranges, ranges, sizeof ranges);
    free(p.cus);
    free(p.cu_ranges);
    /* every truncation, another .debug_info, every corrupted field */
    for (size_t cut = 0; cut < len; cut++)
        assert_non_null(ig_cuindex_parse(e, cut, 0x400, &p.cus, &p.ncus, &p.cu_ranges, &p.ncu_ranges));
    assert_non_null(ig_cuindex_parse(e, len, 0x3f0, &p.cus, &p.ncus, &p.cu_ranges, &p.ncu_ranges));
    uint8_t *bad = malloc(len);
    /* header 32 bytes, 3 CU offsets, then ranges of {lo, hi, cu} at 56 */
    struct {
        size_t at;
        uint8_t v;
    } flips[] = {
        {0, 'X'},                /* magic */
        {8, 9},                  /* version */
        {12, 200},               /* ncus: the sizes no longer add up */
        {24 + 1, 0x03},          /* .debug_info size 0x300, not 0x400 */
        {32 + 2 * 8 + 1, 0x04},  /* CU offset 0x4f0, past .debug_info */
        {56 + 8 + 1, 0x0f},      /* range 0 ends (0xf00) before it starts */
        {56 + 24 * 3 + 16, 7},   /* range 3 names CU 7 of 3 */
        {56 + 24 * 3 + 1, 0x00}, /* range 3 starts at 0: out of order */
    };
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        memcpy(bad, e, len);
        bad[flips[i].at] = flips[i].v;
        assert_non_null(ig_cuindex_parse(bad, len, 0x400, &p.cus, &p.ncus, &p.cu_ranges, &p.ncu_ranges));
    }
    free(bad);
    free(e);
}

/* ---- kallsyms ----------------------------------------------------------- */

static const char *KALLSYMS = "ffffffff81000000 T _stext\n"
                              "ffffffff81001000 t helper_local\n"
                              "ffffffff81001800 D some_data\n"
                              "ffffffff81002000 T do_work\n"
                              "ffffffff81004000 W weak_one\n"
                              "ffffffffc0001000 t mod_func\t[mymod]\n"
                              "ffffffffc0002000 t mod_other\t[mymod]\n";

static void ksym_entry_round_trip_and_refusals(void **state)
{
    (void)state;
    ig_ksymtab tab;
    char *text = strdup(KALLSYMS);
    ig_kallsyms_parse(&tab, text, strlen(text));
    assert_int_equal(tab.n, 6);
    assert_true(tab.core_lo == 0xffffffff81000000ULL && tab.core_hi == 0xffffffff81004000ULL);
    ig_ksymkey key = {.modules_hash = 0x1234};
    snprintf(key.boot_id, sizeof key.boot_id, "boot-1");
    size_t len;
    uint8_t *e = ig_ksymcache_encode(&tab, &key, &len);
    assert_non_null(e);
    ig_ksymview v;
    assert_null(ig_ksymcache_view(&v, e, len));
    assert_string_equal(v.key.boot_id, "boot-1");
    assert_true(v.key.modules_hash == 0x1234);
    /* the same answer as the table for every symbol, between them and around */
    for (size_t i = 0; i < tab.n; i++) {
        uint64_t probes[3] = {tab.syms[i].addr, tab.syms[i].addr + 0x10, tab.syms[i].addr - 1};
        for (int k = 0; k < 3; k++) {
            int corrupt = 0;
            const char *a = ig_ksymview_find(&v, probes[k], &corrupt), *b = ig_ksymtab_find(&tab, probes[k]);
            assert_false(corrupt);
            assert_true(same_str(a, b));
        }
    }
    for (size_t cut = 0; cut < len; cut++)
        assert_non_null(ig_ksymcache_view(&v, e, cut));
    uint8_t *bad = malloc(len);
    memcpy(bad, e, len);
    bad[0] ^= 1;
    assert_non_null(ig_ksymcache_view(&v, bad, len)); /* magic */
    memcpy(bad, e, len);
    bad[8] = 7;
    assert_non_null(ig_ksymcache_view(&v, bad, len)); /* version */
    memcpy(bad, e, len);
    bad[len - 1] = 'x';
    assert_non_null(ig_ksymcache_view(&v, bad, len)); /* last name unterminated */
    /* a name offset past the strings: refused when used */
    memcpy(bad, e, len);
    size_t hdr = len - tab.n * 16;
    for (size_t i = 0; i < tab.n; i++)
        hdr -= strlen(tab.syms[i].name) + 1;
    uint32_t far = 0xffffff;
    memcpy(bad + hdr + 2 * 16 + 8, &far, 4);
    assert_null(ig_ksymcache_view(&v, bad, len));
    int corrupt = 0;
    assert_null(ig_ksymview_find(&v, tab.syms[2].addr + 1, &corrupt));
    assert_true(corrupt);
    free(bad);
    free(e);
    ig_ksymtab_free(&tab);
}

/* Addresses of core-kernel text symbols of the live kallsyms, or 0 when
 * it is not readable with addresses. */
static size_t live_kernel_addrs(uint64_t *out, size_t max)
{
    ig_ksymtab tab;
    ig_kallsyms_load(&tab, "/proc/kallsyms");
    size_t n = 0;
    for (size_t i = 0; i < tab.n && n < max; i += tab.n / max + 1)
        if (tab.syms[i].addr >= tab.core_lo && tab.syms[i].addr < tab.core_hi)
            out[n++] = tab.syms[i].addr + 1;
    ig_ksymtab_free(&tab);
    return n;
}

static void kallsyms_through_the_cache(void **state)
{
    (void)state;
    uint64_t addrs[256];
    size_t n = live_kernel_addrs(addrs, 256);
    if (n < 16)
        skip(); /* kptr_restrict hides the addresses */
    const char *cache = fresh_dir("cache-kernel");
    const char *want[256];
    ig_symtab *ref = ig_symtab_new();
    for (size_t i = 0; i < n; i++)
        want[i] = ig_symtab_kernel(ref, addrs[i]);

    ig_symtab_stats s;
    for (int round = 0; round < 2; round++) { /* cold, then warm */
        ig_symtab *st = symtab_with(cache);
        for (size_t i = 0; i < n; i++)
            assert_true(same_str(ig_symtab_kernel(st, addrs[i]), want[i]));
        ig_symtab_get_stats(st, &s);
        assert_int_equal(s.kallsyms_source, round == 0 ? 1 : 2);
        ig_symtab_free(st);
    }
    /* an address the cache cannot vouch for (module space): kallsyms after all */
    ig_symtab *st = symtab_with(cache);
    assert_true(same_str(ig_symtab_kernel(st, addrs[0]), want[0]));
    uint64_t outside = 0xffffffffc0000010ULL;
    assert_true(same_str(ig_symtab_kernel(st, outside), ig_symtab_kernel(ref, outside)));
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.kallsyms_source, 1);
    ig_symtab_free(st);

    /* a truncated entry: one warning, kallsyms, rewritten */
    char cmd[900];
    snprintf(cmd, sizeof cmd, "%s/kallsyms", cache);
    char entry[1200] = "";
    FILE *p = popen("cat /proc/sys/kernel/random/boot_id", "r");
    char boot[64] = "";
    assert_non_null(fgets(boot, sizeof boot, p));
    pclose(p);
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(entry, sizeof entry, "%s/%s.ksym", cmd, boot);
    off_t full = size_of(entry);
    truncate_half(entry);
    capture_stderr();
    st = symtab_with(cache);
    for (size_t i = 0; i < n; i++)
        assert_true(same_str(ig_symtab_kernel(st, addrs[i]), want[i]));
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.kallsyms_source, 1);
    ig_symtab_free(st);
    assert_int_equal(release_stderr("ignored and rebuilt"), 1);
    assert_int_equal(size_of(entry), full);
    st = symtab_with(cache);
    assert_true(same_str(ig_symtab_kernel(st, addrs[1]), want[1]));
    ig_symtab_get_stats(st, &s);
    assert_int_equal(s.kallsyms_source, 2);
    ig_symtab_free(st);
    ig_symtab_free(ref);
}

static void default_cache_dir_follows_the_environment(void **state)
{
    (void)state;
    char buf[512];
    setenv("IGNIS_CACHE_DIR", "/x/ignis-cache", 1);
    assert_int_equal(ig_symtab_default_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/ignis-cache");
    unsetenv("IGNIS_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/x/xdg", 1);
    assert_int_equal(ig_symtab_default_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/xdg/ignis");
    setenv("XDG_CACHE_HOME", "relative", 1); /* the XDG spec: ignore relative paths */
    setenv("HOME", "/x/home", 1);
    assert_int_equal(ig_symtab_default_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/home/.cache/ignis");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_int_equal(ig_symtab_default_cache_dir(buf, sizeof buf), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(separate_debug_file_cold_warm_same_frames),
        cmocka_unit_test(own_compressed_dwarf_is_cached_too),
        cmocka_unit_test(refused_cached_dwarf_falls_back),
        cmocka_unit_test(corrupt_entries_are_ignored_and_rebuilt),
        cmocka_unit_test(frames_of_earlier_runs_answer_again),
        cmocka_unit_test(frames_entry_parser_refuses_bad_entries),
        cmocka_unit_test(unwritable_cache_dir_still_symbolizes),
        cmocka_unit_test(cuindex_entry_parser_refuses_bad_entries),
        cmocka_unit_test(ksym_entry_round_trip_and_refusals),
        cmocka_unit_test(kallsyms_through_the_cache),
        cmocka_unit_test(default_cache_dir_follows_the_environment),
    };
    return cmocka_run_group_tests_name("symcache", tests, setup, teardown);
}
