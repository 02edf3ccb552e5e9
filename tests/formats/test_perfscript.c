/*
 * tests/formats/test_perfscript.c — `perf script` import.
 *
 * Ground truth for the real captures (tests/data/perf_*.txt, recorded with
 * tests/data/gen/perf.sh from tests/data/gen/perfprog.c) was counted from
 * the text with awk when they were captured:
 *   perf_dwarf.txt (--call-graph dwarf, default fields): 492 samples, each
 *     with period 2004008 (cpu-clock, ns); leaf frame "mix (inlined)" in 311
 *     blocks, burn_warm in 173, the kernel's pvm_irq_enable in 4; blocks
 *     containing burn_hot: 315.
 *   perf_fp.txt (-g, -F comm,pid,tid,cpu,time,period,event,ip,sym,dso):
 *     500 samples, period total 1002004000; leaf burn_hot 319, burn_warm 180.
 */
#include "helpers.h"

static ignis_profile *read_perf(const char *path)
{
    size_t len;
    uint8_t *d = slurp(path, &len);
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_perfscript_read(d, len, &p, &err))
        fail_msg("%s: %s", path, err.msg);
    free(d);
    return p;
}

static ignis_profile *read_perf_text(const char *text)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_perfscript_read((const uint8_t *)text, strlen(text), &p, &err))
        fail_msg("%s", err.msg);
    return p;
}

static void expect_perf_error(const char *text, const char *msg)
{
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    assert_int_equal(ig_perfscript_read((const uint8_t *)text, strlen(text), &p, &err), -1);
    assert_null(p);
    if (!strstr(err.msg, msg))
        fail_msg("expected '%s', got '%s'", msg, err.msg);
}

/* Sum of value vi over samples containing function `name` anywhere. */
static int64_t cum_of(const ignis_profile *p, const char *name, size_t vi)
{
    int64_t v = 0;
    char buf[8192], pat[256];
    snprintf(pat, sizeof pat, ";%s;", name);
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        char text[8192];
        stack_text(p, s.stack, text, sizeof text);
        snprintf(buf, sizeof buf, ";%s;", text);
        if (strstr(buf, pat))
            v += s.values[vi];
    }
    return v;
}

static void dwarf_capture(void **state)
{
    (void)state;
    ignis_profile *p = read_perf("tests/data/perf_dwarf.txt");
    assert_int_equal(ignis_profile_num_values(p), 2);
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 1).type), "cpu");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 1).unit), "nanoseconds");
    assert_int_equal(ignis_profile_total(p, 0), 492);
    assert_int_equal(ignis_profile_total(p, 1), 492LL * 2004008);
    assert_int_equal(ignis_profile_period(p), 2004008);
    assert_int_equal(flat_of(p, "mix", 0), 311);
    assert_int_equal(flat_of(p, "burn_warm", 0), 173);
    assert_int_equal(flat_of(p, "pvm_irq_enable", 0), 4);
    assert_int_equal(cum_of(p, "burn_hot", 0), 315);
    /* frames order, leaf first: mix inlined into burn_hot, then main */
    int checked = 0;
    for (size_t i = 0; i < ignis_profile_num_samples(p) && !checked; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        char a[128], b[128], c[128];
        if (strcmp(ignis_profile_frame_name(p, locs[0], 0, a, sizeof a), "mix"))
            continue;
        const ignis_location *leaf = ignis_profile_location(p, locs[0]);
        assert_int_equal(leaf->nlines, 2);
        assert_string_equal(ignis_profile_frame_name(p, locs[0], 1, b, sizeof b), "burn_hot");
        assert_string_equal(ignis_profile_frame_name(p, locs[1], 0, c, sizeof c), "main");
        assert_int_equal(leaf->kind, IGNIS_FRAME_USER);
        const ignis_mapping *m = ignis_profile_mapping(p, leaf->mapping);
        const char *file = ignis_profile_string(p, m->filename);
        assert_string_equal(file + strlen(file) - 9, "/perfprog");
        assert_int_equal(leaf->address, 0x1254);
        assert_string_equal(ignis_profile_label_str(p, s.labels, "thread_name"), "perfprog");
        int64_t tid;
        assert_true(ignis_profile_label_num(p, s.labels, "tid", &tid));
        assert_true(tid > 0);
        checked = 1;
    }
    assert_true(checked);
    /* kernel frames are kernel kind, in the [kernel.kallsyms] mapping */
    int kernel = 0;
    for (uint32_t id = 1; id <= ignis_profile_num_locations(p); id++) {
        const ignis_location *l = ignis_profile_location(p, id);
        char name[128];
        ignis_profile_frame_name(p, id, 0, name, sizeof name);
        if (!strcmp(name, "pvm_irq_enable")) {
            assert_int_equal(l->kind, IGNIS_FRAME_KERNEL);
            assert_string_equal(ignis_profile_string(p, ignis_profile_mapping(p, l->mapping)->filename),
                                "[kernel.kallsyms]");
            kernel = 1;
        }
    }
    assert_true(kernel);
    ignis_profile_free(p);
}

static void frame_pointer_capture(void **state)
{
    (void)state;
    ignis_profile *p = read_perf("tests/data/perf_fp.txt");
    assert_int_equal(ignis_profile_total(p, 0), 500);
    assert_int_equal(ignis_profile_total(p, 1), 1002004000LL);
    assert_int_equal(flat_of(p, "burn_hot", 0), 319);
    assert_int_equal(flat_of(p, "burn_warm", 0), 180);
    ignis_sample s = ignis_profile_sample(p, 0);
    int64_t pid, tid;
    assert_true(ignis_profile_label_num(p, s.labels, "pid", &pid));
    assert_true(ignis_profile_label_num(p, s.labels, "tid", &tid));
    assert_int_equal(pid, tid);
    assert_string_equal(ignis_profile_label_str(p, s.labels, "thread_name"), "perfprog");
    ignis_profile_free(p);
}

static void header_variants(void **state)
{
    (void)state;
    const char *text = "# comment from perf script --header\n"
                       "Web Content 12/34 [002] 100.000001:     250000 cycles:u: \n"
                       "\t    7f0000001000 leaf+0x10 (/usr/lib/libx.so)\n"
                       "\t    7f0000002000 [unknown] (/usr/lib/libx.so)\n"
                       "\t    7f0000003000 [unknown] ([unknown])\n"
                       "\n"
                       "Web Content 12/35 [002] 100.000002:     250000 cycles:u: \n"
                       "\t    7f0000001000 leaf+0x10 (/usr/lib/libx.so)\n"
                       "\n"
                       "kworker/0:1 7 100.5: 100 sched:sched_switch: \n"
                       "\tffffffff81000000 schedule+0x5 ([kernel.kallsyms])\n"
                       "\n";
    ignis_profile *p = read_perf_text(text);
    assert_int_equal(ignis_profile_num_values(p), 3);
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 1).type), "cycles");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 1).unit), "count");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 2).type), "sched:sched_switch");
    assert_int_equal(ignis_profile_total(p, 0), 3);
    assert_int_equal(ignis_profile_total(p, 1), 500000);
    assert_int_equal(ignis_profile_total(p, 2), 100);
    assert_int_equal(value_of_stack(p, "0x7f0000003000;libx.so+0x7f0000002000;leaf", 0), 1);
    assert_int_equal(value_of_stack(p, "leaf", 0), 1);
    assert_int_equal(value_of_stack(p, "schedule", 2), 100);
    int seen = 0;
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        const char *comm = ignis_profile_label_str(p, s.labels, "thread_name");
        int64_t tid;
        assert_true(ignis_profile_label_num(p, s.labels, "tid", &tid));
        if (tid == 7) {
            assert_string_equal(comm, "kworker/0:1");
            assert_false(ignis_profile_label_num(p, s.labels, "pid", &tid));
        } else {
            assert_string_equal(comm, "Web Content");
            seen++;
        }
    }
    assert_int_equal(seen, 2); /* tids 34 and 35 stay apart */
    ignis_profile_free(p);
}

static void no_call_graph_and_no_period(void **state)
{
    (void)state;
    /* perf record without -g: the frame is on the header line */
    ignis_profile *p = read_perf_text("prog 5 1.000001: 1000 cpu-clock:  401000 hot+0x4 (/bin/prog)\n"
                                      "prog 5 1.000002: 1000 cpu-clock:  401000 hot+0x4 (/bin/prog)\n"
                                      "prog 5 1.000003: 1000 cpu-clock:  402000 cold (/bin/prog)\n");
    assert_int_equal(ignis_profile_total(p, 0), 3);
    assert_int_equal(ignis_profile_total(p, 1), 3000);
    assert_int_equal(value_of_stack(p, "hot", 0), 2);
    ignis_profile_free(p);
    /* no period field: only samples/count */
    p = read_perf_text("prog 5 1.000001: cpu-clock: \n\t 401000 hot (/bin/prog)\n");
    assert_int_equal(ignis_profile_num_values(p), 1);
    assert_int_equal(value_of_stack(p, "hot", 0), 1);
    ignis_profile_free(p);
}

static void inlined_frames(void **state)
{
    (void)state;
    const char *text = "p 1 1.0: 10 cpu-clock: \n"
                       "\t 1000 inner+0x1 (inlined)\n"
                       "\t 1000 middle+0x1 (inlined)\n"
                       "\t 1000 outer+0x1 (/bin/p)\n"
                       "\t 2000 stray (inlined)\n"
                       "\t 3000 main (/bin/p)\n"
                       "\n";
    ignis_profile *p = read_perf_text(text);
    assert_int_equal(ignis_profile_num_samples(p), 1);
    ignis_sample s = ignis_profile_sample(p, 0);
    size_t n;
    const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
    assert_int_equal(n, 3); /* {inner, middle, outer}, {stray}, {main} */
    const ignis_location *l = ignis_profile_location(p, locs[0]);
    assert_int_equal(l->nlines, 3);
    char a[64];
    assert_string_equal(ignis_profile_frame_name(p, locs[0], 0, a, sizeof a), "inner");
    assert_string_equal(ignis_profile_frame_name(p, locs[0], 1, a, sizeof a), "middle");
    assert_string_equal(ignis_profile_frame_name(p, locs[0], 2, a, sizeof a), "outer");
    assert_int_equal(l->address, 0x1000);
    assert_string_equal(ignis_profile_frame_name(p, locs[1], 0, a, sizeof a), "stray");
    assert_string_equal(ignis_profile_frame_name(p, locs[2], 0, a, sizeof a), "main");
    ignis_profile_free(p);
}

static void bad_input(void **state)
{
    (void)state;
    expect_perf_error("\t 1000 main (/bin/p)\n", "line 1: stack frame outside a sample");
    expect_perf_error("prog only words here\n", "line 1: malformed sample header (no pid/tid)");
    expect_perf_error("prog 12 1.0: 100\n\t 1 f (x)\n", "line 1: malformed sample header (no event name)");
    expect_perf_error("p 1 1.0: 10 cpu-clock: \n\t zzz main (/bin/p)\n", "line 2: malformed frame address 'zzz'");
    expect_perf_error("# nothing\n\n", "no perf script samples found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dwarf_capture),
        cmocka_unit_test(frame_pointer_capture),
        cmocka_unit_test(header_variants),
        cmocka_unit_test(no_call_graph_and_no_period),
        cmocka_unit_test(inlined_frames),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests_name("formats/perfscript", tests, NULL, NULL);
}
