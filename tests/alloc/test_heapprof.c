/*
 * tests/alloc/test_heapprof.c — heap profiles: value types and pprof
 * unbiasing, a pprof round trip, the collector symbolizing an address of
 * this very binary into its function, in-process mappings and dladdr
 * names, allocator symbol offsets found in libc, and the public API with
 * and without the preload library (the latter re-runs this program under
 * LD_PRELOAD=libignis-alloc.so when the build has it).
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "exporters/formats.h"
#include "ignis/alloc.h"
#include "profiler/alloc/attach.h"
#include "profiler/alloc/collect.h"
#include "profiler/alloc/heapprof.h"

static uint32_t one_frame_stack(ignis_profile *p, const char *fn)
{
    uint32_t loc = ignis_profile_location_for_function(p, ignis_profile_function_named(p, fn, NULL, 0),
                                                       IGNIS_FRAME_USER);
    return ignis_profile_add_stack(p, &loc, 1);
}

static void test_value_types_and_scaling(void **state)
{
    (void)state;
    ignis_profile *p = ig_heapprof_new(524288);
    assert_int_equal(ignis_profile_num_values(p), 4);
    assert_int_equal(ignis_profile_find_value(p, "alloc_objects"), IG_HEAP_ALLOC_OBJECTS);
    assert_int_equal(ignis_profile_find_value(p, "inuse_space"), IG_HEAP_INUSE_SPACE);
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 1).unit), "bytes");
    assert_string_equal(ignis_profile_string(p, ignis_profile_period_type(p).type), "space");
    assert_int_equal(ignis_profile_period(p), 524288);
    assert_int_equal(ignis_profile_default_value(p), IG_HEAP_INUSE_SPACE);
    assert_int_equal(ig_heapprof_add(p, one_frame_stack(p, "f"), 1000, 3, 1, 524288), 0);
    double scale = 1 / (1 - exp(-1000.0 / 524288));
    ignis_sample s = ignis_profile_sample(p, 0);
    assert_int_equal(s.values[IG_HEAP_ALLOC_OBJECTS], (int64_t)(3 * scale + 0.5));
    assert_int_equal(s.values[IG_HEAP_ALLOC_SPACE], (int64_t)(3000 * scale + 0.5));
    assert_int_equal(s.values[IG_HEAP_INUSE_OBJECTS], (int64_t)(scale + 0.5));
    int64_t bytes;
    assert_true(ignis_profile_label_num(p, s.labels, "bytes", &bytes));
    assert_int_equal(bytes, 1000);
    ignis_profile_free(p);

    p = ig_heapprof_new(1); /* every allocation: no scaling */
    ig_heapprof_add(p, one_frame_stack(p, "g"), 48, 7, 2, 1);
    s = ignis_profile_sample(p, 0);
    assert_int_equal(s.values[IG_HEAP_ALLOC_SPACE], 336);
    assert_int_equal(s.values[IG_HEAP_INUSE_SPACE], 96);
    ignis_profile_free(p);
}

static void test_pprof_round_trip(void **state)
{
    (void)state;
    ignis_profile *p = ig_heapprof_new(65536);
    ig_heapprof_add(p, one_frame_stack(p, "a"), 2000, 10, 0, 65536);
    ig_heapprof_add(p, one_frame_stack(p, "b"), 100, 5, 5, 65536);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err;
    assert_int_equal(ig_pprof_write(p, &sb, &err), 0);
    ignis_profile *q = NULL;
    assert_int_equal(ig_pprof_read((const uint8_t *)sb.data, sb.len, &q, &err), 0);
    for (size_t v = 0; v < 4; v++)
        assert_int_equal(ignis_profile_total(q, v), ignis_profile_total(p, v));
    assert_int_equal(ignis_profile_period(q), 65536);
    ig_sb_free(&sb);
    ignis_profile_free(p);
    ignis_profile_free(q);
}

__attribute__((noinline)) int heap_marker_function(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

/* The executable mapping of this binary holding `addr`. */
static int self_mapping(uint64_t addr, ignis_mapping *m, ignis_profile *p)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4352];
    int rc = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, off;
        char file[4096];
        if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &lo, &hi, &off, file) == 4 && addr >= lo &&
            addr < hi) {
            *m = (ignis_mapping){.start = lo, .limit = hi, .offset = off, .filename = ignis_profile_intern(p, file)};
            rc = 0;
        }
    }
    if (f)
        fclose(f);
    return rc;
}

static void test_collector_symbolizes_addresses(void **state)
{
    (void)state;
    ignis_profile *in = ig_heapprof_new(1);
    uint64_t addr = (uint64_t)(uintptr_t)&heap_marker_function + 4;
    ignis_mapping m;
    assert_int_equal(self_mapping(addr, &m, in), 0);
    ignis_location loc = {.mapping = ignis_profile_add_mapping(in, &m), .address = addr};
    uint32_t lid = ignis_profile_add_location(in, &loc); /* address only, no name */
    ig_heapprof_add(in, ignis_profile_add_stack(in, &lid, 1), 64, 2, 1, 1);
    ig_heapcollect *hc = ig_heapcollect_new();
    ig_err err;
    assert_int_equal(ig_heapcollect_add(hc, in, "test", &err), 0);
    assert_int_equal(ig_heapcollect_add(hc, in, "test", &err), 0); /* a second dump adds up */
    ignis_profile *out = ig_heapcollect_profile(hc);
    assert_int_equal(ig_heapcollect_inputs(hc), 2);
    assert_int_equal(ignis_profile_total(out, IG_HEAP_ALLOC_SPACE), 256);
    ignis_sample s = ignis_profile_sample(out, 0);
    size_t depth;
    const uint32_t *locs = ignis_profile_stack(out, s.stack, &depth);
    assert_int_equal(depth, 1);
    const ignis_location *l = ignis_profile_location(out, locs[0]);
    assert_true(l->nlines >= 1);
    const ignis_function *f = ignis_profile_function(out, l->lines[l->nlines - 1].function);
    assert_string_equal(ignis_profile_string(out, f->name), "heap_marker_function");
    assert_non_null(strstr(ignis_profile_string(out, f->filename), "test_heapprof.c"));
    ig_heapcollect_free(hc);

    /* a profile without heap values is refused with a reason */
    ignis_profile *cpu = ignis_profile_new();
    ignis_profile_add_value_type(cpu, "cpu", "nanoseconds");
    hc = ig_heapcollect_new();
    assert_int_equal(ig_heapcollect_add(hc, cpu, "cpu.pb.gz", &err), -1);
    assert_non_null(strstr(err.msg, "not a heap profile"));
    ig_heapcollect_free(hc);
    ignis_profile_free(cpu);
    ignis_profile_free(in);
}

static void test_selfsym_mappings_and_names(void **state)
{
    (void)state;
    ignis_profile *p = ig_heapprof_new(1);
    ig_selfsym *ss = ig_selfsym_new(p);
    assert_true(ignis_profile_num_mappings(p) >= 2);
    /* a dynamic symbol of libc, as a return address just after its start */
    uint64_t ra = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "gnu_get_libc_version") + 5;
    uint32_t lid = ig_selfsym_locate(ss, p, ra, 1);
    assert_int_equal(ig_selfsym_locate(ss, p, ra, 1), lid); /* cached */
    const ignis_location *l = ignis_profile_location(p, lid);
    assert_int_equal(l->address, ra - 1);
    assert_true(l->mapping > 0);
    const ignis_mapping *m = ignis_profile_mapping(p, l->mapping);
    assert_non_null(strstr(ignis_profile_string(p, m->filename), "libc"));
    assert_true(m->build_id != 0); /* Debian's libc carries a GNU build-id */
    assert_int_equal(l->nlines, 1);
    assert_non_null(strstr(ignis_profile_string(p, ignis_profile_function(p, l->lines[0].function)->name), "gnu_get_libc_version"));
    ig_selfsym_free(ss);
    ignis_profile_free(p);
}

static void test_allocator_offsets(void **state)
{
    (void)state;
    Dl_info di;
    assert_true(dladdr(dlsym(RTLD_DEFAULT, "gnu_get_libc_version"), &di) && di.dli_fname);
    uint64_t off[IG_FN_COUNT];
    int n = ig_alloc_find_offsets(di.dli_fname, off);
    assert_true(n >= 5);
    assert_true(off[IG_FN_MALLOC] > 0 && off[IG_FN_FREE] > 0 && off[IG_FN_CALLOC] > 0 && off[IG_FN_REALLOC] > 0);
    for (int i = 0; i < IG_FN_COUNT; i++) /* aliases are probed once */
        for (int j = 0; j < i; j++)
            assert_true(!off[i] || off[i] != off[j]);
    assert_int_equal(ig_alloc_find_offsets("/proc/self/status", off), -1);
    assert_int_equal(ig_alloc_find_offsets("/nonexistent", off), -1);
}

static void test_api_without_preload(void **state)
{
    (void)state;
    if (ignis_alloc_available())
        skip();
    errno = 0;
    assert_int_equal(ignis_alloc_start(4096), -1);
    assert_int_equal(errno, ENOSYS);
    assert_int_equal(ignis_alloc_stop(), -1);
    char msg[128];
    assert_int_equal(ignis_alloc_dump("/tmp/x.pb.gz", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "not preloaded"));
}

static void *volatile api_sink;
__attribute__((noinline)) void api_leak_site(void)
{
    for (int i = 0; i < 100; i++)
        api_sink = malloc(1000);
}

/* Runs under LD_PRELOAD: the API switches the sampler on and dumps. */
static int preloaded_child(const char *out)
{
    if (!ignis_alloc_available() || ignis_alloc_start(1) != 0)
        return 10;
    api_leak_site();
    char err[256];
    if (ignis_alloc_dump(out, err, sizeof err) != 0) {
        fprintf(stderr, "dump: %s\n", err);
        return 11;
    }
    ignis_alloc_stop();
    api_leak_site(); /* not sampled any more */
    ignis_profile *p;
    ig_err e;
    if (ig_profile_load(out, NULL, &p, &e) < 0)
        return 12;
    int64_t inuse = ignis_profile_total(p, IG_HEAP_INUSE_SPACE);
    ignis_profile_free(p);
    return inuse >= 100000 && inuse < 120000 ? 0 : 13; /* 100 x 1000 B (+ libc's own) */
}

static void test_api_with_preload(void **state)
{
    (void)state;
    const char *b = getenv("IGNIS_BUILD");
    char lib[512], self[512], out[64];
    snprintf(lib, sizeof lib, "%s/libignis-alloc.so", b ? b : "build");
    if (access(lib, R_OK) != 0)
        skip(); /* sanitizer builds have no preload library */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = 0;
    snprintf(out, sizeof out, "/tmp/ignis-api-%d.pb.gz", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", lib, 1);
        setenv("IGNIS_ALLOC_START", "0", 1); /* loaded inactive: the API starts it */
        setenv("IGNIS_ALLOC_OUTPUT", "/dev/null/never", 1);
        execl(self, self, "--preloaded", out, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    unlink(out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--preloaded"))
        return preloaded_child(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_types_and_scaling),   cmocka_unit_test(test_pprof_round_trip),
        cmocka_unit_test(test_collector_symbolizes_addresses), cmocka_unit_test(test_selfsym_mappings_and_names),
        cmocka_unit_test(test_allocator_offsets),         cmocka_unit_test(test_api_without_preload),
        cmocka_unit_test(test_api_with_preload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
