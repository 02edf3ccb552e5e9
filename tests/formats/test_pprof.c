/*
 * tests/formats/test_pprof.c — the pprof reader and writer.
 *
 * Ground truth for the Go files (tests/data/go_*.pb.gz, written by the Go
 * 1.19 runtime from tests/data/gen/gopprof.go) was obtained when they were
 * generated, with
 *   go tool pprof -raw FILE     (per-sample values; summed with awk)
 *   go tool pprof -top [-sample_index=...] FILE
 * go_cpu.pb.gz:  13 samples, 16 locations, samples/count total 240,
 *                cpu/nanoseconds total 2400000000, period 10000000 cpu/ns,
 *                flat main.hotLoop 1800ms, main.warmLoop 600ms.
 * go_heap.pb.gz: 22 samples (pprof -raw shows 21: it omits the one whose
 *                values are all zero), 37 locations (36 + that sample's),
 *                totals alloc_objects 7050,
 *                alloc_space 37784969, inuse_objects 1992, inuse_space
 *                15936349; period 4096 space/bytes; flat inuse_space of
 *                main.allocKeep 15918424 (15545.34kB); numeric "bytes" labels.
 * pprof_merged.pb.gz: written by pprof itself, `go tool pprof -proto
 *                go_cpu.pb.gz go_cpu.pb.gz` (a merge of two copies): 13
 *                samples, totals 480 samples and 4800000000 cpu ns, flat
 *                main.hotLoop 3.60s, duration 5.02s.
 */
#include "helpers.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;

static ignis_profile *read_file(const char *path)
{
    size_t len;
    uint8_t *d = slurp(path, &len);
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_pprof_read(d, len, &p, &err))
        fail_msg("%s: %s", path, err.msg);
    free(d);
    return p;
}

static const char *vt_type(const ignis_profile *p, size_t i)
{
    return ignis_profile_string(p, ignis_profile_value_type(p, i).type);
}

static const char *vt_unit(const ignis_profile *p, size_t i)
{
    return ignis_profile_string(p, ignis_profile_value_type(p, i).unit);
}

static void go_cpu_profile(void **state)
{
    (void)state;
    ignis_profile *p = read_file("tests/data/go_cpu.pb.gz");
    assert_int_equal(ignis_profile_num_values(p), 2);
    assert_string_equal(vt_type(p, 0), "samples");
    assert_string_equal(vt_unit(p, 0), "count");
    assert_string_equal(vt_type(p, 1), "cpu");
    assert_string_equal(vt_unit(p, 1), "nanoseconds");
    assert_int_equal(ignis_profile_num_samples(p), 13);
    assert_int_equal(ignis_profile_num_locations(p), 16);
    assert_int_equal(ignis_profile_total(p, 0), 240);
    assert_int_equal(ignis_profile_total(p, 1), 2400000000LL);
    assert_int_equal(ignis_profile_period(p), 10000000);
    assert_string_equal(ignis_profile_string(p, ignis_profile_period_type(p).type), "cpu");
    assert_true(ignis_profile_time_nanos(p) > 1700000000000000000LL);
    assert_true(ignis_profile_duration_nanos(p) > 2000000000LL);
    assert_int_equal(flat_of(p, "main.hotLoop", 1), 1800000000LL);
    assert_int_equal(flat_of(p, "main.warmLoop", 1), 600000000LL);
    /* every stack is leaf..main.main;runtime.main */
    assert_int_equal(value_of_stack(p, "runtime.main;main.main;main.hotLoop", 0), 180);
    /* the Go runtime also lists [vdso] and [vsyscall] */
    assert_int_equal(ignis_profile_num_mappings(p), 3);
    assert_string_equal(ignis_profile_string(p, ignis_profile_mapping(p, 2)->filename), "[vdso]");
    const ignis_mapping *m = ignis_profile_mapping(p, 1);
    const char *file = ignis_profile_string(p, m->filename);
    assert_string_equal(file + strlen(file) - 8, "/gopprof");
    assert_true(m->has_functions);
    assert_int_equal(m->start, 0x400000);
    /* a location keeps address, mapping, file and line */
    const ignis_location *l = ignis_profile_location(p, 1);
    assert_int_equal(l->mapping, 1);
    assert_true(l->address > 0x400000);
    assert_int_equal(l->nlines, 1);
    assert_true(l->lines[0].line > 0);
    const ignis_function *f = ignis_profile_function(p, l->lines[0].function);
    assert_non_null(strstr(ignis_profile_string(p, f->filename), "gopprof.go"));
    ignis_profile_free(p);
}

static void go_heap_profile(void **state)
{
    (void)state;
    ignis_profile *p = read_file("tests/data/go_heap.pb.gz");
    assert_int_equal(ignis_profile_num_values(p), 4);
    const char *types[] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
    const int64_t totals[] = {7050, 37784969, 1992, 15936349};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(vt_type(p, i), types[i]);
        assert_int_equal(ignis_profile_total(p, i), totals[i]);
    }
    assert_int_equal(ignis_profile_num_samples(p), 22);
    assert_int_equal(ignis_profile_num_locations(p), 37);
    assert_int_equal(ignis_profile_period(p), 4096);
    assert_int_equal(ignis_profile_default_value(p), 3);
    assert_int_equal(flat_of(p, "main.allocKeep", 3), 15918424);
    int zero = 0;
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        zero += !s.values[0] && !s.values[1] && !s.values[2] && !s.values[3];
    }
    assert_int_equal(zero, 1);
    /* numeric labels with their unit */
    int found = 0;
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        int64_t bytes;
        if (s.values[1] == 20547371) {
            assert_true(ignis_profile_label_num(p, s.labels, "bytes", &bytes));
            assert_int_equal(bytes, 4096);
            size_t nl;
            const ignis_label *l = ignis_profile_labels(p, s.labels, &nl);
            assert_int_equal(nl, 1);
            assert_int_equal(l[0].str, 0);
            found = 1;
        }
    }
    assert_true(found);
    ignis_profile_free(p);
}

static void pprof_tool_profile(void **state)
{
    (void)state;
    ignis_profile *p = read_file("tests/data/pprof_merged.pb.gz");
    assert_int_equal(ignis_profile_num_samples(p), 13);
    assert_int_equal(ignis_profile_total(p, 0), 480);
    assert_int_equal(ignis_profile_total(p, 1), 4800000000LL);
    assert_int_equal(flat_of(p, "main.hotLoop", 1), 3600000000LL);
    assert_true(ignis_profile_duration_nanos(p) > 5000000000LL && ignis_profile_duration_nanos(p) < 5100000000LL);
    ignis_profile_free(p);
}

/* A profile exercising every field the writer must keep. */
static ignis_profile *rich_profile(void)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    ignis_profile_set_period(p, "cpu", "nanoseconds", 10000000);
    ignis_profile_set_time(p, 1700000000123456789LL, 3000000000LL);
    ignis_profile_set_default_sample_type(p, "samples");
    ignis_profile_add_comment(p, "first comment");
    ignis_profile_add_comment(p, "second");
    ignis_profile_set_drop_keep(p, "^runtime\\.", "^runtime\\.main$");
    ignis_mapping m = {0x1000, 0x9000, 0x200, ignis_profile_intern(p, "/usr/bin/app"),
                       ignis_profile_intern(p, "abcdef0123"), true, true, true, true};
    uint32_t map = ignis_profile_add_mapping(p, &m);
    ignis_mapping km = {0xffffffff81000000ULL, 0xffffffff82000000ULL, 0, ignis_profile_intern(p, "[kernel.kallsyms]"),
                        0, true, false, false, false};
    uint32_t kmap = ignis_profile_add_mapping(p, &km);
    uint32_t fmain = ignis_profile_function_named(p, "main", "app.c", 10);
    uint32_t fwork = ignis_profile_function_named(p, "work", "app.c", 20);
    uint32_t finl = ignis_profile_function_named(p, "helper", "util.h", 3);
    uint32_t fsys = ignis_profile_function_named(p, "do_syscall_64", NULL, 0);
    uint32_t fjit = ignis_profile_function_named(p, "jitted", NULL, 0);
    ignis_line lmain = {fmain, 12, 0};
    ignis_line lwork[2] = {{finl, 5, 7}, {fwork, 25, 0}}; /* helper inlined into work */
    ignis_line lsys = {fsys, 0, 0};
    ignis_line ljit = {fjit, 0, 0};
    ignis_location loc_main = {map, 0x1100, &lmain, 1, IGNIS_FRAME_USER, false};
    ignis_location loc_work = {map, 0x1200, lwork, 2, IGNIS_FRAME_USER, true};
    ignis_location loc_sys = {kmap, 0xffffffff81000100ULL, &lsys, 1, IGNIS_FRAME_KERNEL, false};
    ignis_location loc_jit = {0, 0x7000, &ljit, 1, IGNIS_FRAME_JIT, false};
    uint32_t a = ignis_profile_add_location(p, &loc_main), b = ignis_profile_add_location(p, &loc_work),
             c = ignis_profile_add_location(p, &loc_sys), d = ignis_profile_add_location(p, &loc_jit);
    uint32_t s1[] = {b, a}, s2[] = {c, b, a}, s3[] = {d, a};
    ignis_label labels[2] = {{ignis_profile_intern(p, "thread_name"), ignis_profile_intern(p, "worker"), 0, 0},
                             {ignis_profile_intern(p, "tid"), 0, 4242, ignis_profile_intern(p, "id")}};
    uint32_t ls = ignis_profile_add_labels(p, labels, 2);
    int64_t v1[] = {3, 30000000}, v2[] = {2, 20000000}, v3[] = {1, 10000000};
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, s1, 2), ls, v1);
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, s2, 3), 0, v2);
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, s3, 2), ls, v3);
    return p;
}

static ignis_profile *round_trip(const ignis_profile *p)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err;
    assert_int_equal(ig_pprof_write(p, &sb, &err), 0);
    assert_true(ig_is_gzip((const uint8_t *)sb.data, sb.len));
    ignis_profile *q = NULL;
    if (ig_pprof_read((const uint8_t *)sb.data, sb.len, &q, &err))
        fail_msg("re-read: %s", err.msg);
    ig_sb_free(&sb);
    return q;
}

static void write_read_keeps_everything(void **state)
{
    (void)state;
    ignis_profile *p = rich_profile(), *q = round_trip(p);
    assert_int_equal(ignis_profile_num_values(q), 2);
    assert_int_equal(ignis_profile_total(q, 0), 6);
    assert_int_equal(ignis_profile_total(q, 1), 60000000);
    assert_int_equal(ignis_profile_period(q), 10000000);
    assert_string_equal(ignis_profile_string(q, ignis_profile_period_type(q).unit), "nanoseconds");
    assert_int_equal(ignis_profile_time_nanos(q), 1700000000123456789LL);
    assert_int_equal(ignis_profile_duration_nanos(q), 3000000000LL);
    assert_string_equal(ignis_profile_string(q, ignis_profile_default_sample_type(q)), "samples");
    assert_int_equal(ignis_profile_default_value(q), 0);
    assert_int_equal(ignis_profile_num_comments(q), 2);
    assert_string_equal(ignis_profile_string(q, ignis_profile_comment(q, 0)), "first comment");
    assert_string_equal(ignis_profile_string(q, ignis_profile_comment(q, 1)), "second");
    assert_string_equal(ignis_profile_string(q, ignis_profile_drop_frames(q)), "^runtime\\.");
    assert_string_equal(ignis_profile_string(q, ignis_profile_keep_frames(q)), "^runtime\\.main$");
    /* mapping fields */
    const ignis_mapping *m = ignis_profile_mapping(q, 1);
    assert_int_equal(m->start, 0x1000);
    assert_int_equal(m->limit, 0x9000);
    assert_int_equal(m->offset, 0x200);
    assert_string_equal(ignis_profile_string(q, m->filename), "/usr/bin/app");
    assert_string_equal(ignis_profile_string(q, m->build_id), "abcdef0123");
    assert_true(m->has_functions && m->has_filenames && m->has_line_numbers && m->has_inline_frames);
    /* stacks, inlining, kinds, labels */
    char *fa = fingerprint(q, 1), *fb = fingerprint(p, 1);
    assert_string_equal(fa, fb);
    free(fa);
    free(fb);
    assert_int_equal(value_of_stack(q, "main;work;helper", 0), 3);
    assert_int_equal(value_of_stack(q, "main;work;helper;do_syscall_64", 0), 2);
    for (size_t i = 0; i < ignis_profile_num_samples(q); i++) {
        ignis_sample s = ignis_profile_sample(q, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(q, s.stack, &n);
        const ignis_location *leaf = ignis_profile_location(q, locs[0]);
        char name[64];
        ignis_profile_frame_name(q, locs[0], 0, name, sizeof name);
        if (!strcmp(name, "helper")) {
            assert_int_equal(leaf->nlines, 2);
            assert_true(leaf->is_folded);
            assert_int_equal(leaf->lines[0].line, 5);
            assert_int_equal(leaf->lines[0].column, 7);
            assert_int_equal(leaf->lines[1].line, 25);
            const ignis_function *f = ignis_profile_function(q, leaf->lines[0].function);
            assert_string_equal(ignis_profile_string(q, f->filename), "util.h");
            assert_int_equal(f->start_line, 3);
            assert_string_equal(ignis_profile_label_str(q, s.labels, "thread_name"), "worker");
            int64_t tid;
            assert_true(ignis_profile_label_num(q, s.labels, "tid", &tid));
            assert_int_equal(tid, 4242);
            size_t nl;
            const ignis_label *l = ignis_profile_labels(q, s.labels, &nl);
            for (size_t k = 0; k < nl; k++)
                if (l[k].num == 4242)
                    assert_string_equal(ignis_profile_string(q, l[k].num_unit), "id");
        } else if (!strcmp(name, "do_syscall_64")) {
            assert_int_equal(leaf->kind, IGNIS_FRAME_KERNEL);
            assert_int_equal(s.labels, 0);
        } else {
            assert_string_equal(name, "jitted");
            assert_int_equal(leaf->kind, IGNIS_FRAME_JIT);
        }
    }
    ignis_profile_free(p);
    ignis_profile_free(q);
}

/* Kernel frames without a kernel mapping (as read from folded _[k]) keep
 * their kind through pprof via the synthetic "[kernel.kallsyms]" mapping. */
static void kernel_kind_survives_without_mapping(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("main;read_k;sys_read_[k] 4\nmain;jit_fn_[j] 2\n");
    ignis_profile *q = round_trip(p);
    char *a = fingerprint(p, 0), *b = fingerprint(q, 0);
    assert_string_equal(a, b);
    int kernel = 0, jit = 0;
    for (uint32_t id = 1; id <= ignis_profile_num_locations(q); id++) {
        const ignis_location *l = ignis_profile_location(q, id);
        char name[64];
        ignis_profile_frame_name(q, id, 0, name, sizeof name);
        if (!strcmp(name, "sys_read")) {
            assert_int_equal(l->kind, IGNIS_FRAME_KERNEL);
            kernel = 1;
            assert_string_equal(ignis_profile_string(q, ignis_profile_mapping(q, l->mapping)->filename),
                                "[kernel.kallsyms]");
        } else if (!strcmp(name, "jit_fn")) {
            assert_int_equal(l->kind, IGNIS_FRAME_JIT);
            jit = 1;
        } else {
            assert_int_equal(l->kind, IGNIS_FRAME_USER);
        }
    }
    assert_true(kernel && jit);
    free(a);
    free(b);
    ignis_profile_free(p);
    ignis_profile_free(q);
}

static void go_files_round_trip(void **state)
{
    (void)state;
    const char *files[] = {"tests/data/go_cpu.pb.gz", "tests/data/go_heap.pb.gz"};
    for (size_t f = 0; f < 2; f++) {
        ignis_profile *p = read_file(files[f]), *q = round_trip(p);
        assert_int_equal(ignis_profile_num_values(p), ignis_profile_num_values(q));
        for (size_t i = 0; i < ignis_profile_num_values(p); i++) {
            assert_int_equal(ignis_profile_total(p, i), ignis_profile_total(q, i));
            char *a = fingerprint(p, i), *b = fingerprint(q, i);
            assert_string_equal(a, b);
            free(a);
            free(b);
        }
        assert_int_equal(ignis_profile_num_samples(p), ignis_profile_num_samples(q));
        assert_int_equal(ignis_profile_num_locations(p), ignis_profile_num_locations(q));
        ignis_profile_free(p);
        ignis_profile_free(q);
    }
}

/* ---- hand-built protobuf messages ------------------------------------- */

/* A small valid message: 1 mapping, 2 functions, 2 locations, 1 sample;
 * ids deliberately not 1..n.  Tests break one field and expect an error. */
typedef struct msg {
    pb_profile pb;
    Perftools__Profiles__ValueType vt, *vtp[1];
    Perftools__Profiles__Mapping map, *mapp[1];
    Perftools__Profiles__Function fn[2], *fnp[2];
    Perftools__Profiles__Line line[2], *linep[2];
    Perftools__Profiles__Location loc[2], *locp[2];
    Perftools__Profiles__Sample s, *sp[1];
    Perftools__Profiles__Label lab[2], *labp[2];
    uint64_t stack[2];
    int64_t value[1];
    char *strings[8];
} msg;

static void msg_init(msg *m)
{
    memset(m, 0, sizeof *m);
    static const char *strs[] = {"", "samples", "count", "leaf", "root", "thread", "bytes", "a.so"};
    for (int i = 0; i < 8; i++)
        m->strings[i] = (char *)strs[i];
    perftools__profiles__profile__init(&m->pb);
    m->pb.n_string_table = 8;
    m->pb.string_table = m->strings;
    perftools__profiles__value_type__init(&m->vt);
    m->vt.type = 1;
    m->vt.unit = 2;
    m->vtp[0] = &m->vt;
    m->pb.n_sample_type = 1;
    m->pb.sample_type = m->vtp;
    perftools__profiles__mapping__init(&m->map);
    m->map.id = 9;
    m->map.memory_start = 0x1000;
    m->map.memory_limit = 0x2000;
    m->map.filename = 7;
    m->mapp[0] = &m->map;
    m->pb.n_mapping = 1;
    m->pb.mapping = m->mapp;
    for (int i = 0; i < 2; i++) {
        perftools__profiles__function__init(&m->fn[i]);
        m->fn[i].id = 100 + (uint64_t)i;
        m->fn[i].name = 3 + i;
        m->fnp[i] = &m->fn[i];
        perftools__profiles__line__init(&m->line[i]);
        m->line[i].function_id = 100 + (uint64_t)i;
        m->linep[i] = &m->line[i];
        perftools__profiles__location__init(&m->loc[i]);
        m->loc[i].id = 50 - (uint64_t)i * 10;
        m->loc[i].mapping_id = 9;
        m->loc[i].address = 0x1100 + (uint64_t)i;
        m->loc[i].n_line = 1;
        m->loc[i].line = &m->linep[i];
        m->locp[i] = &m->loc[i];
    }
    m->pb.n_function = 2;
    m->pb.function = m->fnp;
    m->pb.n_location = 2;
    m->pb.location = m->locp;
    perftools__profiles__sample__init(&m->s);
    m->stack[0] = 50;
    m->stack[1] = 40;
    m->s.n_location_id = 2;
    m->s.location_id = m->stack;
    m->value[0] = 7;
    m->s.n_value = 1;
    m->s.value = m->value;
    for (int i = 0; i < 2; i++) {
        perftools__profiles__label__init(&m->lab[i]);
        m->labp[i] = &m->lab[i];
    }
    m->lab[0].key = 5;
    m->lab[0].str = 3;
    m->lab[1].key = 6;
    m->lab[1].num = 512;
    m->lab[1].num_unit = 6;
    m->s.n_label = 2;
    m->s.label = m->labp;
    m->sp[0] = &m->s;
    m->pb.n_sample = 1;
    m->pb.sample = m->sp;
}

static int msg_read(msg *m, ignis_profile **out, ig_err *err)
{
    size_t n = perftools__profiles__profile__get_packed_size(&m->pb);
    uint8_t *buf = malloc(n + 1);
    perftools__profiles__profile__pack(&m->pb, buf);
    int rc = ig_pprof_read(buf, n, out, err);
    free(buf);
    return rc;
}

static void expect_msg_error(msg *m, const char *what)
{
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    assert_int_equal(msg_read(m, &p, &err), -1);
    assert_null(p);
    if (!strstr(err.msg, what))
        fail_msg("expected '%s' in '%s'", what, err.msg);
    assert_null(strchr(err.msg, '\n'));
}

static void sparse_ids_are_mapped(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    ignis_profile *p = NULL;
    ig_err err;
    if (msg_read(&m, &p, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ignis_profile_total(p, 0), 7);
    assert_int_equal(value_of_stack(p, "root;leaf", 0), 7);
    ignis_sample s = ignis_profile_sample(p, 0);
    assert_string_equal(ignis_profile_label_str(p, s.labels, "thread"), "leaf");
    int64_t b;
    assert_true(ignis_profile_label_num(p, s.labels, "bytes", &b));
    assert_int_equal(b, 512);
    ignis_profile_free(p);
}

static void mapping_without_file(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    m.map.filename = 0; /* Pyroscope and others leave it empty */
    m.fn[0].name = 0;   /* and an unnamed function: named from the address */
    ignis_profile *p = NULL;
    ig_err err;
    if (msg_read(&m, &p, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(value_of_stack(p, "root;0x1100", 0), 7);
    ignis_profile_free(p);
}

static void bad_string_index(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    m.fn[1].name = 99;
    expect_msg_error(&m, "function 101: string index 99 out of range");
    msg_init(&m);
    m.lab[0].str = -3;
    expect_msg_error(&m, "string index -3 out of range");
    msg_init(&m);
    m.vt.unit = 8;
    expect_msg_error(&m, "sample type 0: string index 8 out of range");
    msg_init(&m);
    m.pb.default_sample_type = 1000;
    expect_msg_error(&m, "default sample type");
    msg_init(&m);
    m.map.build_id = 42;
    expect_msg_error(&m, "mapping 9: string index 42");
}

static void bad_ids(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    m.loc[0].mapping_id = 3;
    expect_msg_error(&m, "location 50: mapping id 3 does not exist");
    msg_init(&m);
    m.line[1].function_id = 7;
    expect_msg_error(&m, "location 40: function id 7 does not exist");
    msg_init(&m);
    m.stack[1] = 41;
    expect_msg_error(&m, "sample 0: location id 41 does not exist");
    msg_init(&m);
    m.loc[1].id = 50;
    expect_msg_error(&m, "duplicate location id 50");
    msg_init(&m);
    m.fn[0].id = 0;
    expect_msg_error(&m, "function with id 0");
}

static void bad_values(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    int64_t two[2] = {1, 2};
    m.s.value = two;
    m.s.n_value = 2;
    expect_msg_error(&m, "sample 0: 2 values but 1 sample types");
    msg_init(&m);
    m.value[0] = INT64_MIN;
    expect_msg_error(&m, "values too large");
    /* two samples whose sum overflows */
    msg_init(&m);
    Perftools__Profiles__Sample s2 = m.s;
    Perftools__Profiles__Sample *sp[2] = {&m.s, &s2};
    int64_t big = INT64_MAX - 5;
    m.s.value = &big;
    s2.value = &big;
    m.pb.sample = sp;
    m.pb.n_sample = 2;
    expect_msg_error(&m, "values too large");
    /* negative values (diff profiles) are fine */
    msg_init(&m);
    m.value[0] = -4;
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(msg_read(&m, &p, &err), 0);
    assert_int_equal(ignis_profile_total(p, 0), -4);
    ignis_profile_free(p);
}

static void bad_string_table(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    m.strings[0] = (char *)"x";
    expect_msg_error(&m, "string table must start with \"\"");
    msg_init(&m);
    m.pb.n_string_table = 0;
    m.pb.n_sample = 0;
    m.pb.n_location = m.pb.n_function = m.pb.n_mapping = 0;
    expect_msg_error(&m, "no string table");
}

/* Packs m, appends `extra` bytes and reads the result. */
static int msg_read_plus(msg *m, const uint8_t *extra, size_t n, ignis_profile **out, ig_err *err)
{
    size_t len = perftools__profiles__profile__get_packed_size(&m->pb);
    uint8_t *buf = malloc(len + n);
    perftools__profiles__profile__pack(&m->pb, buf);
    memcpy(buf + len, extra, n);
    int rc = ig_pprof_read(buf, len + n, out, err);
    free(buf);
    return rc;
}

/* Samples are decoded one by one from the wire: framing errors in them are
 * caught, and a sample may come before or after the tables. */
static void sample_framing(void **state)
{
    (void)state;
    msg m;
    msg_init(&m);
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    /* a second copy of the sample, after the string table */
    size_t n = perftools__profiles__sample__get_packed_size(&m.s);
    uint8_t extra[256] = {0x12, (uint8_t)n};
    perftools__profiles__sample__pack(&m.s, extra + 2);
    assert_int_equal(msg_read_plus(&m, extra, n + 2, &p, &err), 0);
    assert_int_equal(ignis_profile_total(p, 0), 14);
    ignis_profile_free(p);
    const uint8_t truncated[] = {0x12, 0x05, 0x0a};
    assert_int_equal(msg_read_plus(&m, truncated, sizeof truncated, &p, &err), -1);
    assert_string_equal(err.msg, "not a pprof profile (invalid protobuf data)");
    const uint8_t wrong_wire[] = {0x10, 0x01};
    assert_int_equal(msg_read_plus(&m, wrong_wire, sizeof wrong_wire, &p, &err), -1);
    assert_string_equal(err.msg, "not a pprof profile (invalid protobuf data)");
    const uint8_t bad_sample[] = {0x12, 0x02, 0x0a, 0x05};
    assert_int_equal(msg_read_plus(&m, bad_sample, sizeof bad_sample, &p, &err), -1);
    assert_string_equal(err.msg, "sample 1: invalid protobuf data");
    const uint8_t group[] = {0x0b};
    assert_int_equal(msg_read_plus(&m, group, sizeof group, &p, &err), -1);
    assert_null(p);
}

static void not_protobuf(void **state)
{
    (void)state;
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x12};
    assert_int_equal(ig_pprof_read(junk, sizeof junk, &p, &err), -1);
    assert_non_null(strstr(err.msg, "not a pprof profile"));
    const char *text = "main;foo 12\n";
    assert_int_equal(ig_pprof_read((const uint8_t *)text, strlen(text), &p, &err), -1);
    assert_non_null(strstr(err.msg, "not a pprof profile"));
    assert_int_equal(ig_pprof_read((const uint8_t *)"", 0, &p, &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    assert_null(p);
}

static void truncated_gzip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = slurp("tests/data/go_cpu.pb.gz", &len);
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    for (size_t cut = 2; cut < len; cut += len / 7) {
        assert_int_equal(ig_pprof_read(d, cut, &p, &err), -1);
        assert_null(p);
        assert_non_null(strstr(err.msg, "gzip"));
    }
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_cpu_profile),
        cmocka_unit_test(go_heap_profile),
        cmocka_unit_test(pprof_tool_profile),
        cmocka_unit_test(write_read_keeps_everything),
        cmocka_unit_test(kernel_kind_survives_without_mapping),
        cmocka_unit_test(go_files_round_trip),
        cmocka_unit_test(sparse_ids_are_mapped),
        cmocka_unit_test(mapping_without_file),
        cmocka_unit_test(bad_string_index),
        cmocka_unit_test(bad_ids),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(bad_string_table),
        cmocka_unit_test(sample_framing),
        cmocka_unit_test(not_protobuf),
        cmocka_unit_test(truncated_gzip),
    };
    return cmocka_run_group_tests_name("formats/pprof", tests, NULL, NULL);
}
