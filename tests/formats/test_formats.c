/*
 * tests/formats/test_formats.c — the format registry: choosing formats by
 * extension and by content, loading with file-named errors, atomic saving,
 * the public ignis_profile_read_file/write_file, and a mapped input that
 * shrinks while it is read (and only that) failing the load.
 */
#include "helpers.h"
#include "utils/mapguard.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ignis-fmt-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_text(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Number of entries in the scratch directory (to spot leftover temp files). */
static int dir_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void format_by_extension(void **state)
{
    (void)state;
    assert_string_equal(ig_format_for_path("x.pb.gz"), "pprof");
    assert_string_equal(ig_format_for_path("dir/cpu.pprof"), "pprof");
    assert_string_equal(ig_format_for_path("a.prof"), "pprof");
    assert_string_equal(ig_format_for_path("a.pb"), "pprof");
    assert_string_equal(ig_format_for_path("out.folded"), "folded");
    assert_string_equal(ig_format_for_path("out.TXT"), "folded");
    assert_string_equal(ig_format_for_path("out.collapsed"), "folded");
    assert_string_equal(ig_format_for_path("flame.svg"), "svg");
    assert_string_equal(ig_format_for_path("perf.script"), "perf-script");
    assert_null(ig_format_for_path("noext"));
    assert_null(ig_format_for_path(".svg"));
}

static void detects_by_content(void **state)
{
    (void)state;
    ignis_profile *p = NULL;
    ig_err err;
    /* gzip pprof under a misleading name */
    size_t len;
    uint8_t *gz = slurp("tests/data/go_cpu.pb.gz", &len);
    write_text(path_in("cpu.txt"), gz, len);
    assert_int_equal(ig_profile_load(path_in("cpu.txt"), NULL, &p, &err), 0);
    assert_int_equal(ignis_profile_total(p, 1), 2400000000LL);
    ignis_profile_free(p);
    /* raw (not gzipped) protobuf */
    uint8_t *raw;
    size_t rawlen;
    assert_int_equal(ig_gunzip(gz, len, &raw, &rawlen, 1 << 24, &err), 0);
    write_text(path_in("cpu.raw"), raw, rawlen);
    assert_int_equal(ig_profile_load(path_in("cpu.raw"), NULL, &p, &err), 0);
    assert_int_equal(ignis_profile_total(p, 0), 240);
    ignis_profile_free(p);
    free(raw);
    free(gz);
    /* perf script and folded text */
    assert_int_equal(ig_profile_load("tests/data/perf_dwarf.txt", NULL, &p, &err), 0);
    assert_int_equal(ignis_profile_total(p, 0), 492);
    ignis_profile_free(p);
    write_text(path_in("a.pb.gz"), "main;f 3\n", 9); /* content wins over the name */
    assert_int_equal(ig_profile_load(path_in("a.pb.gz"), NULL, &p, &err), 0);
    assert_int_equal(value_of_stack(p, "main;f", 0), 3);
    ignis_profile_free(p);
    /* an explicit format is obeyed */
    assert_int_equal(ig_profile_load(path_in("a.pb.gz"), "pprof", &p, &err), -1);
    assert_non_null(strstr(err.msg, "not a pprof profile"));
}

static void load_errors_name_the_file(void **state)
{
    (void)state;
    ignis_profile *p = NULL;
    ig_err err;
    char want[512];
    write_text(path_in("empty.pb.gz"), "", 0);
    assert_int_equal(ig_profile_load(path_in("empty.pb.gz"), NULL, &p, &err), -1);
    snprintf(want, sizeof want, "%s: empty file", path_in("empty.pb.gz"));
    assert_string_equal(err.msg, want);
    write_text(path_in("bad.folded"), "a;b 1\nc;d\n", 10);
    assert_int_equal(ig_profile_load(path_in("bad.folded"), NULL, &p, &err), -1);
    snprintf(want, sizeof want, "%s: line 2: missing sample count (read as folded stacks)", path_in("bad.folded"));
    assert_string_equal(err.msg, want);
    size_t len;
    uint8_t *gz = slurp("tests/data/go_heap.pb.gz", &len);
    write_text(path_in("cut.pb.gz"), gz, len / 2);
    free(gz);
    assert_int_equal(ig_profile_load(path_in("cut.pb.gz"), NULL, &p, &err), -1);
    snprintf(want, sizeof want, "%s: truncated gzip stream", path_in("cut.pb.gz"));
    assert_string_equal(err.msg, want);
    /* an ELF binary is not a profile */
    assert_int_equal(ig_profile_load("/bin/true", NULL, &p, &err), -1);
    assert_non_null(strstr(err.msg, "/bin/true: not a profile in a format ignis reads (pprof: not protobuf data"));
    assert_int_equal(ig_profile_load(path_in("missing"), NULL, &p, &err), -1);
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(ig_profile_load("tests/data/go_cpu.pb.gz", "svg", &p, &err), -1);
    assert_non_null(strstr(err.msg, "cannot be read"));
    assert_int_equal(ig_profile_load("tests/data/go_cpu.pb.gz", "xml", &p, &err), -1);
    assert_non_null(strstr(err.msg, "unknown format 'xml'"));
    assert_null(p);
}

static void save_is_atomic(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("main;f 3\nmain;g 1\n");
    ig_err err;
    int before = dir_entries();
    /* a failing writer leaves nothing behind */
    ig_write_opts o = {.tree = {.value = 5}};
    assert_int_equal(ig_profile_save(p, path_in("out.folded"), NULL, &o, &err), -1);
    assert_non_null(strstr(err.msg, "out.folded: folded: no sample value 5"));
    assert_int_equal(dir_entries(), before);
    assert_int_equal(ig_profile_save(p, path_in("out.perf"), NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "cannot be written"));
    assert_int_equal(dir_entries(), before);
    /* a good one writes exactly the file, by extension */
    assert_int_equal(ig_profile_save(p, path_in("out.folded"), NULL, NULL, &err), 0);
    size_t len;
    uint8_t *d = slurp(path_in("out.folded"), &len);
    assert_string_equal((char *)d, "main;f 3\nmain;g 1\n");
    free(d);
    assert_int_equal(ig_profile_save(p, path_in("noext"), NULL, NULL, &err), 0); /* pprof by default */
    d = slurp(path_in("noext"), &len);
    assert_true(ig_is_gzip(d, len));
    free(d);
    assert_int_equal(dir_entries(), before + 2);
    /* devices are written in place, never replaced */
    assert_int_equal(ig_profile_save(p, "/dev/null", "pprof", NULL, &err), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    ignis_profile_free(p);
}

static void public_api(void **state)
{
    (void)state;
    ignis_profile *p = NULL;
    char err[256];
    assert_int_equal(ignis_profile_read_file("tests/data/go_heap.pb.gz", NULL, &p, err, sizeof err), 0);
    assert_int_equal(ignis_profile_write_file(p, path_in("heap.folded"), NULL, err, sizeof err), 0);
    ignis_profile *q = NULL;
    assert_int_equal(ignis_profile_read_file(path_in("heap.folded"), "folded", &q, err, sizeof err), 0);
    /* folded keeps the default value (inuse_space) */
    assert_int_equal(ignis_profile_total(q, 0), ignis_profile_total(p, 3));
    ignis_profile_free(q);
    assert_int_equal(ignis_profile_write_file(p, path_in("x.svg"), "bogus", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown format 'bogus'"));
    assert_int_equal(ignis_profile_read_file(path_in("nope"), NULL, &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "nope"));
    ignis_profile_free(p);
}

/* Values from API callers (or merged profiles) add up saturating: two
 * samples of INT64_MAX give INT64_MAX in the model, the call tree, the
 * top table and the SVG, never a wrapped negative total. */
static void sums_saturate(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_function fa = {ignis_profile_intern(p, "a"), 0, 0, 0}, fb = {ignis_profile_intern(p, "b"), 0, 0, 0};
    ignis_line la = {ignis_profile_add_function(p, &fa), 0, 0}, lb = {ignis_profile_add_function(p, &fb), 0, 0};
    ignis_location loca = {0, 1, &la, 1, IGNIS_FRAME_USER, false}, locb = {0, 2, &lb, 1, IGNIS_FRAME_USER, false};
    uint32_t ids[2] = {ignis_profile_add_location(p, &loca), ignis_profile_add_location(p, &locb)};
    uint32_t sa = ignis_profile_add_stack(p, &ids[0], 1), sb = ignis_profile_add_stack(p, &ids[1], 1);
    int64_t big = INT64_MAX, small = INT64_MIN;
    assert_int_equal(ignis_profile_add_sample(p, sa, 0, &big), 0);
    assert_int_equal(ignis_profile_add_sample(p, sa, 0, &big), 0); /* merged into one sample */
    assert_int_equal(ignis_profile_sample(p, 0).values[0], INT64_MAX);
    assert_int_equal(ignis_profile_add_sample(p, sb, 0, &big), 0);
    assert_int_equal(ignis_profile_total(p, 0), INT64_MAX);
    ig_err err;
    ig_tree_opts o = {0, 0, NULL, NULL, NULL, NULL, 0};
    ig_tree *t = ig_tree_build(p, &o, &err);
    assert_non_null(t);
    assert_int_equal(ig_tree_total(t), INT64_MAX);
    ig_tree_free(t);
    ig_top *top = ig_top_build(p, &o, IG_SORT_FLAT, &err);
    assert_non_null(top);
    assert_int_equal(ig_top_total(top), INT64_MAX);
    ig_top_free(top);
    ig_strbuf sb_svg = IG_STRBUF_INIT;
    ig_write_opts wo = {.tree = o, .minwidth = -1};
    assert_int_equal(ig_svg_write(p, &wo, &sb_svg, &err), 0);
    assert_non_null(strstr(sb_svg.data, "<g v=\"9223372036854775807\"><title>all"));
    assert_null(strstr(sb_svg.data, "v=\"-"));
    ig_sb_free(&sb_svg);
    /* and downwards */
    assert_int_equal(ignis_profile_add_sample(p, sb, 0, &small), 0);
    assert_int_equal(ignis_profile_add_sample(p, sb, 0, &small), 0);
    assert_int_equal(ignis_profile_sample(p, 1).values[0], INT64_MIN);
    ignis_profile_free(p);
}

/* ---- a mapped input that shrinks while it is read ------------------------ */

/* A folded file of 11 MB (read in eighths, offered to the partial
 * callback between them, so most of it is read after the first offer):
 * SHRINK_STACKS distinct stacks of count 1. */
enum { SHRINK_STACKS = 400000 };

static const char *big_folded(void)
{
    const char *path = path_in("shrink.folded");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < SHRINK_STACKS; i++)
        fprintf(f, "main;work_%d;leaf_%d 1\n", i % 1000, i);
    fclose(f);
    return path;
}

typedef struct shrink_ctx {
    int fd;                             /* truncated at the first offer */
    const volatile unsigned char *read; /* read past the cut then, when not NULL */
    int offers;
} shrink_ctx;

static void on_partial(void *ctx, const ignis_profile *so_far, uint64_t done, uint64_t total)
{
    (void)so_far, (void)done, (void)total;
    shrink_ctx *c = ctx;
    if (c->offers++)
        return;
    if (ftruncate(c->fd, 4096) != 0)
        _exit(90);
    if (c->read && c->read[2 * 4096] != 0) /* a page of zeros now */
        _exit(91);
}

/* In a child (cmocka has its own SIGBUS handler): the guard installed,
 * path loaded while ctx's file is cut at the first partial offer.
 * Exits 0 when the load succeeded with every sample, 1 when it failed
 * saying the file shrank, other codes on anything else. */
static int load_while_cutting(const char *path, shrink_ctx *ctx)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL);
        if (ig_mapguard_install() != 0)
            _exit(100);
        ignis_profile *p = NULL;
        ig_err err;
        int rc = ig_profile_load_partial(path, NULL, &p, NULL, on_partial, ctx, &err);
        if (ctx->offers == 0)
            _exit(92);
        if (rc == 0)
            _exit(ignis_profile_num_samples(p) == SHRINK_STACKS ? 0 : 93);
        fprintf(stderr, "%s\n", err.msg);
        _exit(strstr(err.msg, "shrank while it was read") ? 1 : 94);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void input_that_shrinks_fails(void **state)
{
    (void)state;
    const char *path = big_folded();
    shrink_ctx ctx = {open(path, O_RDWR | O_CLOEXEC), NULL, 0};
    assert_true(ctx.fd >= 0);
    assert_int_equal(load_while_cutting(path, &ctx), 1);
    close(ctx.fd);
}

/* Another guarded mapping whose file shrinks, read during the load (as
 * `record` reads a target's ELF files on other threads): the input did
 * not change, so the load succeeds. */
static void other_mapping_shrinking_is_not_the_input(void **state)
{
    (void)state;
    const char *path = big_folded();
    const char *other = path_in("other.bin");
    static unsigned char bytes[4 * 4096];
    memset(bytes, 0xab, sizeof bytes);
    write_text(other, bytes, sizeof bytes);
    shrink_ctx ctx = {open(other, O_RDWR | O_CLOEXEC), NULL, 0};
    assert_true(ctx.fd >= 0);
    void *m = mmap(NULL, sizeof bytes, PROT_READ, MAP_PRIVATE, ctx.fd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(ig_mapguard_add(m, sizeof bytes), 0);
    ctx.read = m;
    assert_int_equal(load_while_cutting(path, &ctx), 0);
    ig_mapguard_remove(m);
    munmap(m, sizeof bytes);
    close(ctx.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_by_extension),
        cmocka_unit_test(detects_by_content),
        cmocka_unit_test(load_errors_name_the_file),
        cmocka_unit_test(save_is_atomic),
        cmocka_unit_test(public_api),
        cmocka_unit_test(sums_saturate),
        cmocka_unit_test(input_that_shrinks_fails),
        cmocka_unit_test(other_mapping_shrinking_is_not_the_input),
    };
    return cmocka_run_group_tests_name("formats/registry", tests, make_dir, remove_dir);
}
