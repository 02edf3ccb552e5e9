/*
 * tests/profiler/test_record.c — the sampling engine's pieces against
 * ground truth: ring-buffer reading across the wrap point (a fake ring we
 * fill like the kernel does), sample parsing (including truncated and
 * hostile records), PID lists, and the recorder API on the cpu_shares
 * sample: value types, period, thread labels, symbolized hot leaves, the
 * mapping's build-id (compared with the ELF note read here through
 * libelf) and a second profile after ig_recorder_take_profile().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gelf.h>
#include <libelf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profiler/perf.h"
#include "profiler/record.h"
#include "profiler/u64map.h"

/* ---- ring buffer -------------------------------------------------------- */

typedef struct fake_ring {
    struct perf_event_mmap_page meta;
    uint8_t data[4096];
    ig_ring r;
} fake_ring;

static void fake_init(fake_ring *f, uint64_t start)
{
    memset(f, 0, sizeof *f);
    f->meta.data_head = f->meta.data_tail = start;
    f->r.fd = -1;
    f->r.meta = &f->meta;
    f->r.data = f->data;
    f->r.size = sizeof f->data;
    f->r.tail = f->r.head = start;
    f->r.scratch = malloc(65536);
}

/* Writes a record of `size` bytes (type, then a byte pattern) at head. */
static void fake_write(fake_ring *f, uint32_t type, uint16_t size, uint8_t seed)
{
    uint8_t rec[1024];
    struct perf_event_header h = {type, 0, size};
    memcpy(rec, &h, sizeof h);
    for (size_t i = sizeof h; i < size; i++)
        rec[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < size; i++)
        f->data[(f->meta.data_head + i) & (sizeof f->data - 1)] = rec[i];
    f->meta.data_head += size;
}

static void check_record(const struct perf_event_header *h, uint32_t type, uint16_t size, uint8_t seed)
{
    assert_non_null(h);
    assert_int_equal(h->type, type);
    assert_int_equal(h->size, size);
    const uint8_t *b = (const uint8_t *)h;
    for (size_t i = sizeof *h; i < size; i++)
        assert_int_equal(b[i], (uint8_t)(seed + i));
}

static void test_ring_wraps(void **state)
{
    (void)state;
    fake_ring *f = malloc(sizeof *f);
    /* start 40 bytes before the end: the 2nd record straddles the wrap */
    fake_init(f, 4096 * 3 - 40);
    fake_write(f, 9, 24, 1);
    fake_write(f, 10, 200, 2);
    fake_write(f, 11, 32, 3);
    ig_ring_begin(&f->r);
    const struct perf_event_header *h = ig_ring_next(&f->r);
    check_record(h, 9, 24, 1);
    assert_true((const uint8_t *)h >= f->data && (const uint8_t *)h < f->data + 4096); /* in place */
    h = ig_ring_next(&f->r);
    check_record(h, 10, 200, 2);
    assert_ptr_equal(h, f->r.scratch); /* the straddling record was copied */
    h = ig_ring_next(&f->r);
    check_record(h, 11, 32, 3);
    assert_ptr_equal(h, f->data + ((4096 * 3 - 40 + 224) & 4095)); /* in place again */
    assert_null(ig_ring_next(&f->r));
    ig_ring_end(&f->r);
    assert_int_equal(f->meta.data_tail, 4096 * 3 - 40 + 256);
    free(f->r.scratch);
    free(f);
}

static void test_ring_header_split(void **state)
{
    (void)state;
    fake_ring *f = malloc(sizeof *f);
    fake_init(f, 4096 - 4); /* even the 8-byte header straddles the end */
    fake_write(f, 12, 48, 7);
    ig_ring_begin(&f->r);
    check_record(ig_ring_next(&f->r), 12, 48, 7);
    assert_null(ig_ring_next(&f->r));
    ig_ring_end(&f->r);
    free(f->r.scratch);
    free(f);
}

static void test_ring_partial_and_corrupt(void **state)
{
    (void)state;
    fake_ring *f = malloc(sizeof *f);
    fake_init(f, 0);
    fake_write(f, 9, 64, 1);
    f->meta.data_head -= 16; /* the kernel has not finished the record */
    ig_ring_begin(&f->r);
    assert_null(ig_ring_next(&f->r));
    /* a size below the header size must not loop forever */
    free(f->r.scratch);
    fake_init(f, 0);
    struct perf_event_header bad = {9, 0, 4};
    memcpy(f->data, &bad, sizeof bad);
    f->meta.data_head = 64;
    ig_ring_begin(&f->r);
    assert_null(ig_ring_next(&f->r));
    assert_int_equal(f->r.tail, 64);
    free(f->r.scratch);
    free(f);
}

/* A record left in the ring by ig_ring_peek stays there (the published
 * tail does not pass it) until ig_ring_advance steps over it. */
static void test_ring_peek_holds(void **state)
{
    (void)state;
    fake_ring *f = malloc(sizeof *f);
    fake_init(f, 4096 - 40);
    fake_write(f, 9, 24, 1);
    fake_write(f, 10, 200, 2); /* straddles the end: served from scratch */
    ig_ring_begin(&f->r);
    const struct perf_event_header *h = ig_ring_peek(&f->r);
    check_record(h, 9, 24, 1);
    check_record(ig_ring_peek(&f->r), 9, 24, 1); /* the same again */
    ig_ring_advance(&f->r, h);
    h = ig_ring_peek(&f->r);
    check_record(h, 10, 200, 2);
    ig_ring_end(&f->r);
    assert_int_equal(f->meta.data_tail, 4096 - 40 + 24); /* held: not released */
    ig_ring_begin(&f->r); /* a later drain finds it first */
    h = ig_ring_peek(&f->r);
    check_record(h, 10, 200, 2);
    ig_ring_advance(&f->r, h);
    assert_null(ig_ring_peek(&f->r));
    ig_ring_end(&f->r);
    assert_int_equal(f->meta.data_tail, 4096 - 40 + 224);
    free(f->r.scratch);
    free(f);
}

/* Samples carry their time after ip and pid/tid; every other record ends
 * with the sample_id {pid/tid, time}; too short a record has none (0). */
static void test_record_time(void **state)
{
    (void)state;
    uint64_t buf[8] = {0};
    struct perf_event_header *h = (struct perf_event_header *)buf;
    *h = (struct perf_event_header){PERF_RECORD_SAMPLE, 0, 8 + 32};
    buf[1] = 0x401000, buf[2] = 7 | (uint64_t)8 << 32, buf[3] = 123456789, buf[4] = 10101010;
    assert_int_equal(ig_perf_record_time(h), 123456789);
    h->size = 8 + 16;
    assert_int_equal(ig_perf_record_time(h), 0);
    *h = (struct perf_event_header){PERF_RECORD_FORK, 0, 8 + 24 + 16}; /* pid ppid tid ptid time, id */
    buf[4] = 7 | (uint64_t)7 << 32, buf[5] = 987654321;
    assert_int_equal(ig_perf_record_time(h), 987654321);
    h->size = 8 + 8;
    assert_int_equal(ig_perf_record_time(h), 0);
}

/* ---- sample parsing ----------------------------------------------------- */

static size_t build_sample(uint8_t *buf, uint64_t nr_chain, uint64_t stack_size, uint64_t dyn)
{
    uint64_t *w = (uint64_t *)(buf + sizeof(struct perf_event_header));
    size_t n = 0;
    w[n++] = 0x401000;                       /* ip */
    w[n++] = ((uint64_t)77 << 32) | 66;      /* pid 66, tid 77 */
    w[n++] = 123456789;                      /* time */
    w[n++] = 1010101;                        /* period */
    w[n++] = nr_chain;
    for (uint64_t i = 0; i < nr_chain; i++)
        w[n++] = i == 0 ? (uint64_t)PERF_CONTEXT_KERNEL : 0xffffffff81000000ULL + i;
    w[n++] = PERF_SAMPLE_REGS_ABI_64;
    for (int i = 0; i < IG_PREG_COUNT; i++)
        w[n++] = 1000 + (uint64_t)i;
    w[n++] = stack_size;
    memset(&w[n], 0xab, stack_size);
    n += stack_size / 8;
    w[n++] = dyn;
    size_t size = sizeof(struct perf_event_header) + n * 8;
    struct perf_event_header h = {PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)size};
    memcpy(buf, &h, sizeof h);
    return size;
}

static void test_parse_sample(void **state)
{
    (void)state;
    static uint64_t buf8[4096];
    uint8_t *buf = (uint8_t *)buf8;
    build_sample(buf, 3, 256, 200);
    ig_perf_sample s;
    assert_int_equal(ig_perf_parse_sample((struct perf_event_header *)buf, &s), 0);
    assert_int_equal(s.ip, 0x401000);
    assert_int_equal(s.pid, 66);
    assert_int_equal(s.tid, 77);
    assert_int_equal(s.time, 123456789);
    assert_int_equal(s.period, 1010101);
    assert_int_equal(s.nr_chain, 3);
    assert_int_equal(s.chain[2], 0xffffffff81000002ULL);
    assert_int_equal(s.regs[IG_PREG_SP], 1000 + IG_PREG_SP);
    assert_int_equal(s.regs[IG_PREG_R15], 1000 + IG_PREG_R15);
    assert_int_equal(s.stack_size, 200);
    assert_int_equal(s.stack[0], 0xab);
    assert_true(s.user_mode);

    /* dyn_size larger than the copy is clamped */
    build_sample(buf, 0, 64, 5000);
    assert_int_equal(ig_perf_parse_sample((struct perf_event_header *)buf, &s), 0);
    assert_int_equal(s.stack_size, 64);

    /* truncated: the record claims less than its fields need */
    size_t size = build_sample(buf, 2, 128, 128);
    struct perf_event_header *h = (struct perf_event_header *)buf;
    h->size = (uint16_t)(size - 100);
    assert_int_equal(ig_perf_parse_sample(h, &s), -1);

    /* a hostile callchain length */
    build_sample(buf, 1, 0, 0);
    ((uint64_t *)(buf + 8))[4] = 1ULL << 40;
    assert_int_equal(ig_perf_parse_sample(h, &s), -1);
}

static void test_pid_list(void **state)
{
    (void)state;
    pid_t *p;
    assert_int_equal(ig_parse_pid_list("12,34,5", &p), 3);
    assert_int_equal(p[0], 12);
    assert_int_equal(p[2], 5);
    free(p);
    /* a pid listed twice is followed once (record -p P,P used to fail:
     * the second attach found every thread taken and called it exited) */
    assert_int_equal(ig_parse_pid_list("7,8,7,8,8", &p), 2);
    assert_int_equal(p[0], 7);
    assert_int_equal(p[1], 8);
    free(p);
    const char *bad[] = {"", ",", "1,", ",1", "1,,2", "x", "0", "-3", "12a", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ig_parse_pid_list(bad[i], &p), -1);
        assert_null(p);
    }
}

/* ---- the hash map behind the caches ---------------------------------------- */

static void test_u64map(void **state)
{
    (void)state;
    ig_u64map m = {0};
    uint64_t v;
    assert_false(ig_u64map_get(&m, 5, &v));
    for (uint64_t k = 1; k <= 20000; k++)   /* grows many times */
        ig_u64map_put(&m, k * 0x9e3779b97f4a7c15ULL, k);
    for (uint64_t k = 1; k <= 20000; k++) {
        assert_true(ig_u64map_get(&m, k * 0x9e3779b97f4a7c15ULL, &v));
        assert_int_equal(v, k);
    }
    assert_int_equal(m.count, 20000);
    ig_u64map_put(&m, 0x9e3779b97f4a7c15ULL, 77); /* overwrite */
    assert_true(ig_u64map_get(&m, 0x9e3779b97f4a7c15ULL, &v));
    assert_int_equal(v, 77);
    assert_int_equal(m.count, 20000);
    ig_u64map_put(&m, 0, 1); /* the empty-slot key is never stored */
    assert_false(ig_u64map_get(&m, 0, &v));
    assert_int_equal(m.count, 20000);
    ig_u64map_clear(&m);
    assert_false(ig_u64map_get(&m, 0x9e3779b97f4a7c15ULL, &v));
}

/* Deletion (the -a process and thread tables): backward shifts keep every
 * other key reachable, through collisions and the wrap at the table's end,
 * and a map whose keys come and go does not grow. */
static void test_u64map_del(void **state)
{
    (void)state;
    ig_u64map m = {0};
    uint64_t v;
    for (uint64_t k = 1; k <= 5000; k++)
        ig_u64map_put(&m, k, k + 1);
    for (uint64_t k = 1; k <= 5000; k += 2)
        ig_u64map_del(&m, k);
    ig_u64map_del(&m, 999999); /* absent */
    ig_u64map_del(&m, 0);
    assert_int_equal(m.count, 2500);
    for (uint64_t k = 1; k <= 5000; k++)
        assert_int_equal(ig_u64map_get(&m, k, &v), k % 2 == 0);
    for (uint64_t k = 2; k <= 5000; k += 2) {
        assert_true(ig_u64map_get(&m, k, &v));
        assert_int_equal(v, k + 1);
    }
    size_t cap = m.cap;
    for (uint64_t round = 0; round < 100; round++) /* churn: pids that come and go */
        for (uint64_t k = 1; k <= 1000; k++) {
            ig_u64map_put(&m, 100000 + round * 1000 + k, k);
            ig_u64map_del(&m, 100000 + round * 1000 + k);
        }
    assert_int_equal(m.count, 2500);
    assert_int_equal(m.cap, cap);
    ig_u64map_clear(&m);
}

/* ---- the recorder on a real process ------------------------------------- */

static const char *build_dir(void)
{
    const char *b = getenv("IGNIS_BUILD");
    return b && *b ? b : "build";
}

static pid_t spawn_sample(const char *name, const char *secs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/samples/cpu/%s", build_dir(), name);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(path, path, secs, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Reads the GNU build-id note of a file as hex, with libelf. */
static int read_build_id(const char *path, char *hex, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    int rc = -1;
    Elf_Scn *scn = NULL;
    while (e && rc && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp((char *)d->d_buf + name_off, "GNU", 4)) {
                const uint8_t *id = (const uint8_t *)d->d_buf + desc_off;
                hex[0] = '\0';
                for (size_t i = 0; i < nh.n_descsz && 2 * i + 2 < len; i++)
                    sprintf(hex + 2 * i, "%02x", id[i]);
                rc = 0;
                break;
            }
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

static void poll_until(ig_recorder *r, uint64_t samples)
{
    time_t t0 = time(NULL);
    while (ig_recorder_stats(r)->samples < samples && time(NULL) - t0 < 60)
        assert_true(ig_recorder_poll(r, 100) >= 0);
}

static bool has_function_line(const ignis_profile *p, const char *fn, uint32_t *loc_out)
{
    for (uint32_t id = 1; id <= ignis_profile_num_locations(p); id++) {
        const ignis_location *l = ignis_profile_location(p, id);
        for (uint32_t i = 0; i < l->nlines; i++) {
            const ignis_function *f = ignis_profile_function(p, l->lines[i].function);
            if (!strcmp(ignis_profile_string(p, f->name), fn)) {
                *loc_out = id;
                return true;
            }
        }
    }
    return false;
}

static void test_recorder_profile(void **state)
{
    (void)state;
    pid_t pid = spawn_sample("cpu_shares", "60");
    assert_true(pid > 0);
    ig_record_opts o = IG_RECORD_OPTS_INIT;
    o.pids = &pid;
    o.npids = 1;
    o.freq = 499;
    ig_err err;
    ig_recorder *r = ig_recorder_new(&o, &err);
    if (!r)
        fail_msg("%s", err.msg);
    poll_until(r, 200);
    ignis_profile *p = ig_recorder_take_profile(r);
    assert_true(ignis_profile_total(p, 0) >= 200);

    assert_int_equal(ignis_profile_num_values(p), 2);
    ignis_value_type vt = ignis_profile_value_type(p, 1);
    assert_string_equal(ignis_profile_string(p, vt.type), "cpu");
    assert_string_equal(ignis_profile_string(p, vt.unit), "nanoseconds");
    assert_int_equal(ignis_profile_period(p), 1000000000 / 499);
    assert_true(ignis_profile_duration_nanos(p) > 0);

    /* every sample carries thread and tid labels of a thread of pid */
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        const char *name = ignis_profile_label_str(p, s.labels, "thread");
        int64_t tid;
        assert_non_null(name);
        assert_true(ignis_profile_label_num(p, s.labels, "tid", &tid));
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)tid);
        assert_int_equal(access(path, F_OK), 0);
        assert_true(!strcmp(name, "worker-a") || !strcmp(name, "worker-b") || !strcmp(name, "cpu_shares"));
    }

    /* the hot leaf is named, in a mapping of the sample with its build-id */
    uint32_t loc;
    assert_true(has_function_line(p, "hot_a", &loc));
    const ignis_location *l = ignis_profile_location(p, loc);
    const ignis_mapping *m = ignis_profile_mapping(p, l->mapping);
    assert_non_null(m);
    assert_true(l->address >= m->start && l->address < m->limit);
    assert_non_null(strstr(ignis_profile_string(p, m->filename), "samples/cpu/cpu_shares"));
    char path[512], want[128];
    snprintf(path, sizeof path, "%s/samples/cpu/cpu_shares", build_dir());
    assert_int_equal(read_build_id(path, want, sizeof want), 0);
    assert_string_equal(ignis_profile_string(p, m->build_id), want);

    /* a second profile is independent and complete */
    uint64_t before = ig_recorder_stats(r)->samples;
    poll_until(r, before + 50);
    ignis_profile *p2 = ig_recorder_take_profile(r);
    assert_true(ignis_profile_total(p2, 0) >= 50);
    assert_true(has_function_line(p2, "hot_a", &loc) || has_function_line(p2, "hot_c", &loc));
    char buf[256];
    for (size_t i = 0; i < ignis_profile_num_samples(p2); i++) {
        size_t n;
        const uint32_t *st = ignis_profile_stack(p2, ignis_profile_sample(p2, i).stack, &n);
        assert_true(n > 0);
        for (size_t k = 0; k < n; k++)
            assert_non_null(ignis_profile_frame_name(p2, st[k], 0, buf, sizeof buf));
    }
    ignis_profile_free(p);
    ignis_profile_free(p2);
    ig_recorder_free(r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_recorder_launch_and_exit(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/samples/cpu/cpu_recurse", build_dir());
    char *argv[] = {path, "2", NULL};
    ig_record_opts o = IG_RECORD_OPTS_INIT;
    o.argv = argv;
    o.freq = 999;
    ig_err err;
    ig_recorder *r = ig_recorder_new(&o, &err);
    if (!r)
        fail_msg("%s", err.msg);
    time_t t0 = time(NULL);
    int rc;
    while ((rc = ig_recorder_poll(r, 100)) > 0 && time(NULL) - t0 < 60)
        ;
    assert_int_equal(rc, 0); /* the command exited: the recorder says so */
    const ig_record_stats *st = ig_recorder_stats(r);
    assert_true(WIFEXITED(st->child_status));
    assert_true(st->samples > 0);
    assert_int_equal(st->events_open, 0);
    ignis_profile *p = ig_recorder_take_profile(r);
    uint32_t loc;
    if (!has_function_line(p, "recurse_leaf", &loc))
        fail_msg("no recurse_leaf in %zu locations of %llu samples", ignis_profile_num_locations(p),
                 (unsigned long long)st->samples);
    ignis_profile_free(p);
    ig_recorder_free(r);

    char *bad[] = {"/nonexistent/program", NULL};
    o.argv = bad;
    assert_null(ig_recorder_new(&o, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/program: No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_ring_header_split),
        cmocka_unit_test(test_ring_partial_and_corrupt),
        cmocka_unit_test(test_ring_peek_holds),
        cmocka_unit_test(test_record_time),
        cmocka_unit_test(test_parse_sample),
        cmocka_unit_test(test_pid_list),
        cmocka_unit_test(test_u64map),
        cmocka_unit_test(test_u64map_del),
        cmocka_unit_test(test_recorder_profile),
        cmocka_unit_test(test_recorder_launch_and_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
