/*
 * tests/formats/test_folded.c — folded stacks reader and writer.
 */
#include "helpers.h"

#include <unistd.h>

static char *write_folded(const ignis_profile *p, int value)
{
    ig_write_opts o = {.tree = {.value = value}};
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err;
    if (ig_folded_write(p, &o, &sb, &err))
        fail_msg("%s", err.msg);
    return sb.data ? sb.data : calloc(1, 1);
}

static void parses_lines(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("# a comment\n"
                                        "main;parse;lex 7\n"
                                        "\n"
                                        "   \n"
                                        "main;parse 3\r\n"
                                        "main;parse;lex 5\n" /* merges with line 2 */
                                        "main;run work 2\n"  /* spaces inside names */
                                        "solo 1");           /* no final newline */
    assert_int_equal(ignis_profile_num_values(p), 1);
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 0).type), "samples");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 0).unit), "count");
    assert_int_equal(ignis_profile_total(p, 0), 18);
    assert_int_equal(ignis_profile_num_samples(p), 4);
    assert_int_equal(value_of_stack(p, "main;parse;lex", 0), 12);
    assert_int_equal(value_of_stack(p, "main;parse", 0), 3);
    assert_int_equal(value_of_stack(p, "main;run work", 0), 2);
    assert_int_equal(value_of_stack(p, "solo", 0), 1);
    /* leaf first in the model, one location per function */
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t n;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &n);
        char buf[64];
        if (s.values[0] == 12) {
            assert_int_equal(n, 3);
            assert_string_equal(ignis_profile_frame_name(p, locs[0], 0, buf, sizeof buf), "lex");
            assert_string_equal(ignis_profile_frame_name(p, locs[2], 0, buf, sizeof buf), "main");
        }
    }
    assert_int_equal(ignis_profile_num_functions(p), 5);
    assert_int_equal(ignis_profile_num_locations(p), 5);
    ignis_profile_free(p);
}

/* Files of 1 MB or more are parsed in chunks by two threads and merged in
 * file order: a generated 3 MB file (three chunks) must give exactly the
 * sums computed here, stacks merged across the chunks, and the same output
 * as the text read line by line in small pieces (the one-pass reader);
 * a fraction in the last chunk makes the whole file be read again at the
 * finer scale. */
static void large_file_two_threads(void **state)
{
    (void)state;
    enum { LINES = 60000, LEAVES = 97 };
    ig_strbuf big = IG_STRBUF_INIT;
    int64_t leaf_sum[LEAVES] = {0}, total = 0;
    for (int i = 0; i < LINES; i++) {
        int leaf = (i * 7919) % LEAVES, count = i % 5 + 1;
        ig_sb_printf(&big, "main;service_loop;handler_%d;worker_function_with_long_name_%d;leaf_%d %d\n",
                     i % 13, i % 31, leaf, count);
        leaf_sum[leaf] += count;
        total += count;
    }
    assert_true(big.len > 3 * 1000 * 1000);
    ignis_profile *p = read_folded_text(big.data);
    assert_int_equal(ignis_profile_total(p, 0), total);
    ig_err err;
    ig_top *t = ig_top_build(p, NULL, IG_SORT_FLAT, &err);
    assert_non_null(t);
    int seen = 0;
    for (size_t i = 0; i < ig_top_rows(t); i++) {
        const ig_top_row *r = ig_top_row_at(t, i);
        int leaf;
        if (sscanf(ig_top_name(t, r->name), "leaf_%d", &leaf) == 1) {
            assert_int_equal(r->flat, leaf_sum[leaf]);
            seen++;
        }
    }
    assert_int_equal(seen, LEAVES);
    ig_top_free(t);
    /* the same text in pieces below the threshold, merged: same model */
    ignis_profile *ref = NULL;
    char *out_big = write_folded(p, -1);
    size_t off = 0;
    ig_strbuf merged = IG_STRBUF_INIT;
    while (off < big.len) {
        size_t end = off + 200000 < big.len ? off + 200000 : big.len;
        while (end < big.len && big.data[end - 1] != '\n')
            end++;
        char save = big.data[end];
        big.data[end] = '\0';
        ref = read_folded_text(big.data + off);
        big.data[end] = save;
        char *piece = write_folded(ref, -1);
        ig_sb_puts(&merged, piece);
        free(piece);
        ignis_profile_free(ref);
        off = end;
    }
    ignis_profile *again = read_folded_text(merged.data);
    char *out_ref = write_folded(again, -1);
    assert_string_equal(out_big, out_ref);
    assert_int_equal(ignis_profile_num_samples(p), ignis_profile_num_samples(again));
    free(out_big);
    free(out_ref);
    ignis_profile_free(again);
    ig_sb_free(&merged);
    /* a fraction on the last line: every count is read in milli-counts */
    ig_sb_puts(&big, "main;late 0.5\n");
    ignis_profile *frac = read_folded_text(big.data);
    ignis_value_type vt = ignis_profile_value_type(frac, 0);
    assert_string_equal(ignis_profile_string(frac, vt.unit), "milli-count");
    assert_int_equal(ignis_profile_total(frac, 0), total * 1000 + 500);
    assert_int_equal(ignis_profile_num_samples(frac), ignis_profile_num_samples(p) + 1);
    ignis_profile_free(frac);
    ig_sb_free(&big);
    ignis_profile_free(p);
}

/* A load reports the bytes merged on the progress it is given (the
 * viewer's progress line: "reading FILE 40%") and stops, with "cancelled",
 * when that progress is cancelled. */
static void reading_reports_progress(void **state)
{
    (void)state;
    ig_strbuf big = IG_STRBUF_INIT;
    for (int i = 0; i < 60000; i++)
        ig_sb_printf(&big, "main;loop_%d;work_function_with_a_long_name_%d;leaf_%d %d\n", i % 7, i % 29, i % 97,
                     i % 3 + 1);
    char path[] = "/tmp/ignis-test-folded-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, big.data, big.len), (ssize_t)big.len);
    close(fd);
    ig_progress pr = {0};
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(ig_profile_load_progress(path, NULL, &p, &pr, &err), 0);
    assert_non_null(p);
    assert_int_equal(atomic_load(&pr.total), big.len);
    assert_int_equal(atomic_load(&pr.done), big.len);
    assert_null(ig_reading_progress()); /* only during the load */
    ignis_profile_free(p);
    p = NULL;
    ig_progress stop = {0};
    ig_progress_cancel(&stop);
    assert_int_equal(ig_profile_load_progress(path, NULL, &p, &stop, &err), -1);
    assert_null(p);
    assert_non_null(strstr(err.msg, "cancelled"));
    unlink(path);
    ig_sb_free(&big);
}

static void writer_sorts_and_merges(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("b;c 1\na;b 2\nb;c 4\nb 0\n");
    char *out = write_folded(p, -1);
    assert_string_equal(out, "a;b 2\nb;c 5\n"); /* sorted, merged, zero dropped */
    free(out);
    ignis_profile_free(p);
}

static void annotations_are_kinds(void **state)
{
    (void)state;
    const char *text = "main;read;sys_read_[k];vfs_read_[k] 4\n"
                       "main;interp;hot_[j] 2\n"
                       "main;outer;inl_a_[i];inl_b_[i];leaf 3\n"
                       "main;outer;inl_a_[i] 1\n";
    ignis_profile *p = read_folded_text(text);
    int kernel = 0, jit = 0, inl = 0;
    for (uint32_t id = 1; id <= ignis_profile_num_locations(p); id++) {
        const ignis_location *l = ignis_profile_location(p, id);
        char n0[64], n1[64], n2[64];
        ignis_profile_frame_name(p, id, 0, n0, sizeof n0);
        if (!strncmp(n0, "sys_read", 8) || !strncmp(n0, "vfs_read", 8)) {
            assert_int_equal(l->kind, IGNIS_FRAME_KERNEL);
            kernel++;
        } else if (!strcmp(n0, "hot")) {
            assert_int_equal(l->kind, IGNIS_FRAME_JIT);
            jit++;
        } else if (l->nlines == 3) { /* outer with two inlined callees, innermost first */
            ignis_profile_frame_name(p, id, 1, n1, sizeof n1);
            ignis_profile_frame_name(p, id, 2, n2, sizeof n2);
            assert_string_equal(n0, "inl_b");
            assert_string_equal(n1, "inl_a");
            assert_string_equal(n2, "outer");
            inl++;
        } else if (l->nlines == 2) {
            ignis_profile_frame_name(p, id, 1, n1, sizeof n1);
            assert_string_equal(n0, "inl_a");
            assert_string_equal(n1, "outer");
            inl++;
        } else {
            assert_int_equal(l->nlines, 1);
            assert_int_equal(l->kind, IGNIS_FRAME_USER);
        }
    }
    assert_int_equal(kernel, 2);
    assert_int_equal(jit, 1);
    assert_int_equal(inl, 2);
    /* the stack depth counts locations: outer+inlined is one */
    assert_int_equal(value_of_stack(p, "main;outer;inl_a;inl_b;leaf", 0), 3);
    /* the writer puts the annotations back, byte for byte (sorted input) */
    char *out = write_folded(p, -1);
    assert_string_equal(out, "main;interp;hot_[j] 2\n"
                             "main;outer;inl_a_[i] 1\n"
                             "main;outer;inl_a_[i];inl_b_[i];leaf 3\n"
                             "main;read;sys_read_[k];vfs_read_[k] 4\n");
    free(out);
    ignis_profile_free(p);
}

/* Lines that share prefixes with their predecessor: the reused prefix must
 * never swallow or split an inline group. */
static void shared_prefixes(void **state)
{
    (void)state;
    const char *text = "a;b;c 1\n"
                       "a;b;c_[i] 2\n"
                       "a;b_[i];c 3\n"
                       "a;b_[i];c_[i] 4\n"
                       "a;b 5\n"
                       "a;b;c;d 6\n"
                       "a;bb;c 7\n"
                       "a;b;c 8\n";
    ignis_profile *p = read_folded_text(text);
    char *out = write_folded(p, -1);
    assert_string_equal(out, "a;b 5\n"
                             "a;b;c 9\n"
                             "a;b;c;d 6\n"
                             "a;b;c_[i] 2\n"
                             "a;b_[i];c 3\n"
                             "a;b_[i];c_[i] 4\n"
                             "a;bb;c 7\n");
    /* depths in locations */
    for (size_t i = 0; i < ignis_profile_num_samples(p); i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t n;
        ignis_profile_stack(p, s.stack, &n);
        size_t expect = s.values[0] == 2 ? 2 : s.values[0] == 3 ? 2 : s.values[0] == 4 ? 1 : s.values[0] == 5 ? 2
                      : s.values[0] == 6 ? 4 : 3;
        assert_int_equal(n, expect);
    }
    free(out);
    ignis_profile_free(p);
}

static void decimal_counts(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("a;b 2\na;c 1.5\na;d 0.25\n");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 0).unit), "milli-count");
    assert_int_equal(ignis_profile_total(p, 0), 3750);
    assert_int_equal(value_of_stack(p, "a;b", 0), 2000);
    char *out = write_folded(p, -1);
    assert_string_equal(out, "a;b 2\na;c 1.5\na;d 0.25\n");
    free(out);
    ignis_profile_free(p);
    /* finer scales, and "2.0"/"3.50" do not need more than they carry */
    p = read_folded_text("x 2.0\ny 3.50\nz 0.0000001\n");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 0).unit), "nano-count");
    assert_int_equal(value_of_stack(p, "z", 0), 100);
    out = write_folded(p, -1);
    assert_string_equal(out, "x 2\ny 3.5\nz 0.0000001\n");
    free(out);
    ignis_profile_free(p);
    /* integer files stay exact integers, even huge ones */
    p = read_folded_text("x 9000000000000000000\ny 1.0\n");
    assert_string_equal(ignis_profile_string(p, ignis_profile_value_type(p, 0).unit), "count");
    assert_int_equal(value_of_stack(p, "x", 0), 9000000000000000000LL);
    ignis_profile_free(p);
    expect_folded_error("x 1.0123456789\n", "line 1: sample count '1.0123456789' has more than 9 decimals");
    expect_folded_error("x 9300000000000000000\n", "line 1: sample count too large");
    expect_folded_error("x 9000000000000000000\ny 9000000000000000000\n", "line 2: sample counts overflow");
}

/* INT64_MIN is a count in range, refused for the reason a sum of two
 * other negative counts is: its magnitude, 2^63, does not fit the int64
 * total (as the pprof reader refuses it); it used to be "too large". */
static void extreme_negative_counts(void **state)
{
    (void)state;
    ignis_profile *p = read_folded_text("x -9223372036854775807\n");
    assert_int_equal(value_of_stack(p, "x", 0), -INT64_MAX);
    ignis_profile_free(p);
    expect_folded_error("x -9223372036854775808\n", "line 1: sample counts overflow 64 bits");
    expect_folded_error("x -9223372036854775.808\n", "line 1: sample counts overflow 64 bits");
    expect_folded_error("x -9223372036854775807\ny -1\n", "line 2: sample counts overflow 64 bits");
    expect_folded_error("x -9223372036854775809\n", "line 1: sample count too large");
    expect_folded_error("x 9223372036854775808\n", "line 1: sample count too large");
    /* the same in a file read by two threads (1 MB and more) */
    ig_strbuf big = IG_STRBUF_INIT;
    for (int i = 0; i < 40000; i++)
        ig_sb_printf(&big, "main;service_loop;handler_%d;leaf_%d 1\n", i % 13, i % 31);
    size_t lines = 40000;
    ig_sb_puts(&big, "main;y -9223372036854775808\n");
    assert_true(big.len > 1000 * 1000);
    char want[64];
    snprintf(want, sizeof want, "line %zu: sample counts overflow 64 bits", lines + 1);
    expect_folded_error(big.data, want);
    ig_sb_free(&big);
}

static void errors_name_the_line(void **state)
{
    (void)state;
    expect_folded_error("a;b 1\n# c\n\nmain;foo\n", "line 4: missing sample count");
    expect_folded_error("a;b 1\na;b x12\n", "line 2: invalid sample count 'x12'");
    expect_folded_error("a;;b 1\n", "line 1: empty frame name");
    expect_folded_error("a;b; 1\n", "line 1: empty frame name");
    expect_folded_error(";a 1\n", "line 1: empty frame name");
    expect_folded_error("   5\n", "line 1: missing sample count");
    expect_folded_error("# only comments\n\n", "no stacks found");
    ignis_profile *p = NULL;
    ig_err err;
    assert_int_equal(ig_folded_read((const uint8_t *)"a 1\nb\0c 2\n", 10, &p, &err), -1);
    assert_string_equal(err.msg, "line 2: NUL byte (not a folded stacks file)");
    expect_folded_error("a .\n", "line 1: invalid sample count '.'");
    expect_folded_error("a -\n", "line 1: invalid sample count '-'");
}

static void value_choice(void **state)
{
    (void)state;
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "samples", "count");
    ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    uint32_t f = ignis_profile_function_named(p, "f", NULL, 0);
    uint32_t loc = ignis_profile_location_for_function(p, f, IGNIS_FRAME_USER);
    int64_t v[] = {3, 30000};
    ignis_profile_add_sample(p, ignis_profile_add_stack(p, &loc, 1), 0, v);
    char *out = write_folded(p, -1); /* default: sample counts, as flamegraph.pl expects */
    assert_string_equal(out, "f 3\n");
    free(out);
    out = write_folded(p, 1);
    assert_string_equal(out, "f 30000\n");
    free(out);
    ig_write_opts o = {.tree = {.value = 2}};
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_err err;
    assert_int_equal(ig_folded_write(p, &o, &sb, &err), -1);
    assert_non_null(strstr(err.msg, "no sample value 2"));
    ignis_profile_free(p);
}

/* pprof -> folded -> model and folded -> pprof -> folded keep every stack
 * and total exactly. */
static void round_trips_with_pprof(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = slurp("tests/data/go_cpu.pb.gz", &len);
    ignis_profile *p = NULL, *q;
    ig_err err;
    assert_int_equal(ig_pprof_read(d, len, &p, &err), 0);
    free(d);
    char *text = write_folded(p, 1);
    q = read_folded_text(text);
    assert_int_equal(ignis_profile_total(q, 0), ignis_profile_total(p, 1));
    char *a = fingerprint(p, 1), *b = fingerprint(q, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* folded -> pprof -> folded is the identity on sorted folded text */
    ig_strbuf pb = IG_STRBUF_INIT;
    assert_int_equal(ig_pprof_write(q, &pb, &err), 0);
    ignis_profile *r = NULL;
    assert_int_equal(ig_pprof_read((const uint8_t *)pb.data, pb.len, &r, &err), 0);
    char *text2 = write_folded(r, -1);
    assert_string_equal(text, text2);
    ig_sb_free(&pb);
    free(text);
    free(text2);
    ignis_profile_free(p);
    ignis_profile_free(q);
    ignis_profile_free(r);
    /* the same for a file with every annotation and decimal counts */
    const char *src = "m;k_[k] 1.5\nm;o;i_[i] 2\nm;o;i_[i];x_[j] 0.001\n";
    q = read_folded_text(src);
    assert_int_equal(ig_pprof_write(q, &pb, &err), 0);
    assert_int_equal(ig_pprof_read((const uint8_t *)pb.data, pb.len, &r, &err), 0);
    text2 = write_folded(r, -1);
    assert_string_equal(text2, src);
    free(text2);
    ig_sb_free(&pb);
    ignis_profile_free(q);
    ignis_profile_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_lines),
        cmocka_unit_test(large_file_two_threads),
        cmocka_unit_test(reading_reports_progress),
        cmocka_unit_test(writer_sorts_and_merges),
        cmocka_unit_test(annotations_are_kinds),
        cmocka_unit_test(shared_prefixes),
        cmocka_unit_test(decimal_counts),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(extreme_negative_counts),
        cmocka_unit_test(value_choice),
        cmocka_unit_test(round_trips_with_pprof),
    };
    return cmocka_run_group_tests_name("formats/folded", tests, NULL, NULL);
}
