/*
 * tests/alloc/test_heapfile.c — the table file a process keeps under
 * `ignis record --alloc` (profiler/alloc/heapfile.h): records written
 * through the heap table read back exactly, with the process's own
 * mappings from the module log; a fork child's copy of the log; the
 * records region grows by reservations, and a reservation that fails
 * drops and counts the record (never a fault in the process); a reader
 * refuses hostile headers with a message naming the file and cuts
 * hostile stack depths and module entries.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "profiler/alloc/heapfile.h"
#include "profiler/alloc/heapprof.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ignis-heapfile.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/heap.%d.0.tab", fx->dir, (int)getpid());
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char path[160];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/heap.%d.%d.tab", fx->dir, (int)getpid(), i);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

__attribute__((noinline)) static void code_here(void) {}

/* A stack of return addresses inside this program's text. */
static void our_stack(uint64_t *ips, int depth, int salt)
{
    for (int i = 0; i < depth; i++)
        ips[i] = (uint64_t)(uintptr_t)&code_here + 1 + (uint64_t)(salt * 16 + i);
}

static ignis_profile *read_file(const char *path, ig_heapfile_info *info, ig_err *err)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ignis_profile *p = ig_heapfile_read(fd, path, info, err);
    close(fd);
    return p;
}

static ig_heaptab *table_in(ig_heapfile *f, uint32_t max)
{
    ig_heaptab_store store;
    ig_heapfile_store(f, &store);
    ig_heaptab *t = ig_heaptab_new_with(max, 16, &store);
    assert_non_null(t);
    return t;
}

static void test_roundtrip(void **state)
{
    fixture *fx = *state;
    ig_heapfile *f = ig_heapfile_create(fx->dir, 1, 64);
    assert_non_null(f);
    ig_heapfile_note_modules(f);
    ig_heaptab *t = table_in(f, 64);
    uint64_t ips[8];
    for (int i = 0; i < 20; i++) { /* 20 records: reservations grow 8 -> 16 -> 32 */
        our_stack(ips, 3, i);
        assert_true(ig_heaptab_add(t, 0x10000 + (uint64_t)i * 64, 100 + (uint64_t)i, ips, 3) >= 0);
        assert_true(ig_heaptab_add(t, 0x20000 + (uint64_t)i * 64, 100 + (uint64_t)i, ips, 3) >= 0);
        ig_heapfile_count_sample(f);
        ig_heapfile_count_sample(f);
    }
    assert_true(ig_heaptab_remove(t, 0x10000));
    ig_heaptab_destroy(t);
    ig_heapfile_close(f);

    ig_heapfile_info info;
    ig_err err;
    ignis_profile *p = read_file(fx->path, &info, &err);
    assert_non_null(p);
    assert_int_equal(info.pid, getpid());
    assert_int_equal(info.samples, 40);
    assert_int_equal(info.dropped, 0);
    assert_int_equal(ignis_profile_total(p, IG_HEAP_ALLOC_OBJECTS), 40);
    assert_int_equal(ignis_profile_total(p, IG_HEAP_INUSE_OBJECTS), 39);
    int64_t bytes = 0;
    for (int i = 0; i < 20; i++)
        bytes += 2 * (100 + i);
    assert_int_equal(ignis_profile_total(p, IG_HEAP_ALLOC_SPACE), bytes);
    /* every frame lies in this program's logged mapping */
    uint32_t m = ignis_profile_mapping_for(p, (uint64_t)(uintptr_t)&code_here);
    assert_true(m != 0);
    const char *file = ignis_profile_string(p, ignis_profile_mapping(p, m)->filename);
    assert_non_null(strstr(file, "test_heapfile"));
    assert_true(ignis_profile_mapping(p, m)->build_id != 0);
    ignis_profile_free(p);
}

static void test_fork_copy_of_modules(void **state)
{
    fixture *fx = *state;
    ig_heapfile *parent = ig_heapfile_create(fx->dir, 1, 8);
    ig_heapfile *child = ig_heapfile_create(fx->dir, 1, 8);
    assert_non_null(parent);
    assert_non_null(child);
    ig_heapfile_note_modules(parent);
    ig_heapfile_copy_modules(child, parent);
    ig_heapfile_close(parent);
    ig_heapfile_close(child);
    char path[160];
    snprintf(path, sizeof path, "%s/heap.%d.1.tab", fx->dir, (int)getpid());
    ig_heapfile_info info;
    ig_err err;
    ignis_profile *a = read_file(fx->path, &info, &err), *b = read_file(path, &info, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(ignis_profile_num_mappings(a) > 1);
    assert_int_equal(ignis_profile_num_mappings(a), ignis_profile_num_mappings(b));
    ignis_profile_free(a);
    ignis_profile_free(b);
}

/* The file disappears (its directory removed under the process): the
 * next reservation fails, so new records are dropped and counted. */
static void test_failed_reservation_drops(void **state)
{
    fixture *fx = *state;
    ig_heapfile *f = ig_heapfile_create(fx->dir, 1, 64);
    assert_non_null(f);
    ig_heaptab *t = table_in(f, 64);
    uint64_t ips[4];
    for (int i = 0; i < 8; i++) {
        our_stack(ips, 2, i);
        assert_true(ig_heaptab_add(t, 0, 10, ips, 2) >= 0);
    }
    unlink(fx->path);
    for (int i = 8; i < 13; i++) {
        our_stack(ips, 2, i);
        assert_int_equal(ig_heaptab_add(t, 0, 10, ips, 2), -1);
    }
    our_stack(ips, 2, 3); /* an existing record still counts */
    assert_true(ig_heaptab_add(t, 0, 10, ips, 2) >= 0);
    ig_heaptab_stats st;
    ig_heaptab_get_stats(t, &st);
    assert_int_equal(st.records, 8);
    assert_int_equal(st.dropped_records, 5);
    ig_heaptab_destroy(t);
    ig_heapfile_close(f);
}

/* Writes a valid file with one record and one module, then lets `edit`
 * change it before reading. */
static ignis_profile *read_edited(fixture *fx, void (*edit)(int fd), ig_err *err)
{
    ig_heapfile *f = ig_heapfile_create(fx->dir, 1, 8);
    ig_heapfile_note_modules(f);
    ig_heaptab *t = table_in(f, 8);
    uint64_t ips[4];
    our_stack(ips, 4, 0);
    ig_heaptab_add(t, 0x1000, 64, ips, 4);
    ig_heaptab_destroy(t);
    ig_heapfile_close(f);
    int fd = open(fx->path, O_RDWR);
    assert_true(fd >= 0);
    edit(fd);
    ig_heapfile_info info;
    ignis_profile *p = ig_heapfile_read(fd, fx->path, &info, err);
    close(fd);
    unlink(fx->path);
    return p;
}

static ig_heapfile_header header_of(int fd)
{
    ig_heapfile_header h;
    assert_int_equal(pread(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
    return h;
}

static void put_header(int fd, const ig_heapfile_header *h)
{
    assert_int_equal(pwrite(fd, h, sizeof *h, 0), (ssize_t)sizeof *h);
}

static void edit_zero_magic(int fd)
{
    ig_heapfile_header h = header_of(fd);
    memset(h.magic, 0, 8);
    put_header(fd, &h);
}

static void edit_too_many_records(int fd)
{
    ig_heapfile_header h = header_of(fd);
    h.tab.nrecs = (uint32_t)h.rec_cap + 1;
    put_header(fd, &h);
}

static void edit_records_past_end(int fd)
{
    ig_heapfile_header h = header_of(fd);
    h.recs_off = UINT64_MAX - 100; /* offset + length overflows */
    put_header(fd, &h);
}

static void edit_log_past_end(int fd)
{
    ig_heapfile_header h = header_of(fd);
    h.mods_len = h.mods_cap + 8;
    put_header(fd, &h);
}

static void edit_short(int fd)
{
    assert_int_equal(ftruncate(fd, 100), 0);
}

static void edit_deep_stack(int fd)
{
    ig_heapfile_header h = header_of(fd);
    uint32_t depth = 1000000;
    assert_int_equal(pwrite(fd, &depth, 4, (off_t)(h.recs_off + offsetof(ig_heaprec, depth))), 4);
}

static void edit_bad_module(int fd)
{
    ig_heapfile_header h = header_of(fd);
    ig_heapfile_module m = {.size = 0}; /* would loop forever if trusted */
    assert_int_equal(pwrite(fd, &m, sizeof m, (off_t)h.mods_off), (ssize_t)sizeof m);
}

static void test_hostile_files(void **state)
{
    fixture *fx = *state;
    ig_err err;
    struct {
        void (*edit)(int);
        const char *says;
    } bad[] = {
        {edit_zero_magic, "header not written"},
        {edit_too_many_records, "records"},
        {edit_records_past_end, "outside the file"},
        {edit_log_past_end, "module log"},
        {edit_short, "shorter than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(read_edited(fx, bad[i].edit, &err));
        assert_non_null(strstr(err.msg, bad[i].says));
        assert_non_null(strstr(err.msg, fx->path));
    }
    ignis_profile *p = read_edited(fx, edit_deep_stack, &err);
    assert_non_null(p);
    assert_int_equal(ignis_profile_total(p, IG_HEAP_ALLOC_OBJECTS), 1);
    size_t depth;
    ignis_profile_stack(p, ignis_profile_sample(p, 0).stack, &depth);
    assert_true(depth <= IG_HEAP_MAX_DEPTH);
    ignis_profile_free(p);
    p = read_edited(fx, edit_bad_module, &err);
    assert_non_null(p); /* the records stay, without mappings */
    assert_int_equal(ignis_profile_num_mappings(p), 0);
    assert_int_equal(ignis_profile_total(p, IG_HEAP_ALLOC_SPACE), 64);
    ignis_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_copy_of_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reservation_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
