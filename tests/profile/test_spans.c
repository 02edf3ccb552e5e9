/*
 * tests/profile/test_spans.c — profile/spans.c against brute-force
 * references, and the work its two lookups do on the shapes that made them
 * quadratic:
 *   - selecting spans with their descendants (--span, --slow-vs-fast, the
 *     viewer's F key) gives what following every row's parent chain (up to
 *     1024 links) gives, on random forests with unknown parents, cycles and
 *     a chain longer than the bound, and follows each row's parent link
 *     once per selection however many spans are chosen;
 *   - slow vs fast with span times takes an operation's outermost spans
 *     as its instances (no span on both sides when spans of one name
 *     nest) and counts the profile's spans the times lack;
 *   - --span-name with span times keeps the operation's descendants;
 *   - joining samples to spans by thread and time labels each sample with
 *     the innermost span of its thread (latest start, then earliest end),
 *     and visits O(log spans) tree nodes per lookup when one long span
 *     covers thousands of short ones.
 * The work is counted by the steps the code reports, not timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ignis/profile.h"
#include "profile/spans.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

/* ---- descendants ----------------------------------------------------------------- */

/* The definition: row r is selected when it is chosen, or a chosen span is
 * among its first 1024 ancestors (parent ids, followed through the rows). */
static int reference_selected(const ig_span_times *t, const ig_u64map *chosen, size_t r)
{
    uint64_t v, row, id = t->rows[r].parent_id;
    if (ig_u64map_get(chosen, t->rows[r].span_id, &v))
        return 1;
    for (int depth = 0; id && depth < 1024; depth++) {
        if (ig_u64map_get(chosen, id, &v))
            return 1;
        if (!ig_u64map_get(&t->index, id, &row))
            return 0;
        id = t->rows[row - 1].parent_id;
    }
    return 0;
}

/* Span ids 1..n in a random forest: parents earlier or later (so cycles
 * form), unknown (id > n), or none; plus a chain of 1500 ids above. */
static void random_times(ig_span_times *t, size_t n)
{
    for (size_t i = 1; i <= n; i++) {
        uint64_t kind = rnd(10), parent = kind < 2 ? 0 : kind < 3 ? n + 5000 + rnd(3) : 1 + rnd(n);
        ig_span_times_add(t, i, parent, i, i % 7 ? "op" : "other");
    }
    for (uint64_t i = 0; i < 1500; i++)
        ig_span_times_add(t, 100000 + i, i ? 100000 + i - 1 : 1 + rnd(n), i, "chain");
}

static void check_selection(const ig_span_times *t, const uint64_t *ids, size_t n)
{
    ig_span_select all = {0}, one_by_one = {0};
    ig_u64map chosen = {0};
    ig_span_select_add_all(&all, ids, n, t);
    for (size_t i = 0; i < n; i++) {
        ig_u64map_put(&chosen, ids[i], 1);
        ig_span_select_add(&one_by_one, ids[i], t);
    }
    assert_true(all.by_span);
    size_t expected = 0;
    uint64_t v;
    for (size_t r = 0; r < t->n; r++) {
        int want = reference_selected(t, &chosen, r);
        expected += want;
        if (want != ig_u64map_get(&all.spans, t->rows[r].span_id, &v))
            fail_msg("row %zu (span %llu, parent %llu): selected %d, expected %d", r,
                     (unsigned long long)t->rows[r].span_id, (unsigned long long)t->rows[r].parent_id, !want, want);
        assert_int_equal(want, ig_u64map_get(&one_by_one.spans, t->rows[r].span_id, &v));
    }
    for (size_t i = 0; i < n; i++) /* chosen ids the times do not know are selected too (ids distinct) */
        if (!ig_u64map_get(&t->index, ids[i], &v)) {
            assert_true(ig_u64map_get(&all.spans, ids[i], &v));
            expected++;
        }
    assert_int_equal(all.spans.count, expected);
    assert_true(all.steps <= t->n); /* each row's parent link once */
    ig_u64map_clear(&chosen);
    ig_span_select_free(&all);
    ig_span_select_free(&one_by_one);
}

static void test_descendants_match_reference(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        ig_span_times t = {0};
        size_t n = 50 + rnd(400);
        random_times(&t, n);
        uint64_t ids[40];
        size_t k = 1 + rnd(40);
        for (size_t i = 0; i < k; i++) /* distinct: known spans, chain links, an unknown parent */
            ids[i] = i == 0 && round % 3 == 0 ? n + 5000 : i == 1 && round % 2 ? 100000 + rnd(1500) : 1 + rnd(n);
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < i; j++)
                if (ids[j] == ids[i])
                    ids[i] = 0;
        size_t m = 0;
        for (size_t i = 0; i < k; i++)
            if (ids[i])
                ids[m++] = ids[i];
        check_selection(&t, ids, m);
        ig_span_times_free(&t);
    }
}

static void test_descendants_chain_bound(void **state)
{
    (void)state;
    ig_span_times t = {0};
    for (uint64_t i = 1; i <= 1100; i++) /* 1 <- 2 <- ... <- 1100 */
        ig_span_times_add(&t, i, i - 1, 1, "x");
    ig_span_times_add(&t, 5000, 5001, 1, "cycle"); /* 5000 <-> 5001, neither chosen */
    ig_span_times_add(&t, 5001, 5000, 1, "cycle");
    ig_span_select s = {0};
    ig_span_select_add(&s, 1, &t);
    uint64_t v;
    assert_true(ig_u64map_get(&s.spans, 1025, &v));  /* 1024 links up */
    assert_false(ig_u64map_get(&s.spans, 1026, &v)); /* 1025: cut */
    assert_false(ig_u64map_get(&s.spans, 5000, &v));
    assert_int_equal(s.spans.count, 1025);
    ig_span_select_free(&s);
    ig_span_times_free(&t);
}

/* A profile with one sample labelled with each span 1..n named `name`. */
static ignis_profile *one_sample_per_span(uint64_t first, size_t n, const char *name)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "wall", "nanoseconds");
    uint32_t loc = ignis_profile_location_for_function(p, ignis_profile_function_named(p, "work", "w.c", 1),
                                                       IGNIS_FRAME_USER);
    uint32_t stack = ignis_profile_add_stack(p, &loc, 1);
    for (size_t i = 0; i < n; i++) {
        char tr[33], sp[17];
        snprintf(tr, sizeof tr, "%032llx", (unsigned long long)(first + i));
        snprintf(sp, sizeof sp, "%016llx", (unsigned long long)(first + i));
        ignis_label l[3] = {{ignis_profile_intern(p, "trace_id"), ignis_profile_intern(p, tr), 0, 0},
                            {ignis_profile_intern(p, "span_id"), ignis_profile_intern(p, sp), 0, 0},
                            {ignis_profile_intern(p, "span_name"), ignis_profile_intern(p, name), 0, 0}};
        int64_t v = 1000000;
        ignis_profile_add_sample(p, stack, ignis_profile_add_labels(p, l, 3), &v);
    }
    return p;
}

/* The reviewer's shape: 40000 "req" spans with a child each (24.7 s before,
 * when every span of the operation scanned every row's parent chain). */
static void test_split_many_spans_is_linear(void **state)
{
    (void)state;
    enum { N = 40000 };
    ig_span_times t = {0};
    for (uint64_t i = 1; i <= N; i++) {
        ig_span_times_add(&t, i, 0, 1000 + i, "req");
        ig_span_times_add(&t, i + 1000000000, i, 500, "db");
    }
    ignis_profile *p = one_sample_per_span(1, N, "req");
    ig_span_select slow, fast;
    ig_span_split_stats st;
    ig_err err;
    assert_int_equal(ig_span_split(p, 0, "req", &t, 0, &slow, &fast, &st, &err), 0);
    assert_int_equal(st.spans, N);
    assert_int_equal(st.slow, N / 10);
    assert_int_equal(slow.spans.count, 2 * (N / 10)); /* each with its child */
    assert_int_equal(fast.spans.count, 2 * (N - N / 10));
    uint64_t v;
    assert_true(ig_u64map_get(&slow.spans, N + 1000000000, &v)); /* the slowest one's child */
    assert_true(ig_u64map_get(&fast.spans, 1 + 1000000000, &v));
    assert_true(slow.steps <= t.n && fast.steps <= t.n);
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    ignis_profile_free(p);
    ig_span_times_free(&t);
}

/* 200 "req" roots and one 5000-span parent chain in the same trace (10.7 s
 * before: every req span walked 1024 links up from each chain row). */
static void test_split_deep_chain_is_linear(void **state)
{
    (void)state;
    ig_span_times t = {0};
    for (uint64_t i = 1; i <= 200; i++)
        ig_span_times_add(&t, i, 0, 1000 + i, "req");
    for (uint64_t j = 0; j < 5000; j++)
        ig_span_times_add(&t, 1000000 + j, j ? 1000000 + j - 1 : 0, 1000000000 - j, "x");
    ignis_profile *p = one_sample_per_span(1, 200, "req");
    ig_span_select slow, fast;
    ig_span_split_stats st;
    ig_err err;
    assert_int_equal(ig_span_split(p, 0, "req", &t, 0, &slow, &fast, &st, &err), 0);
    assert_int_equal(slow.spans.count, 20);
    assert_int_equal(fast.spans.count, 180);
    assert_true(slow.steps <= t.n && fast.steps <= t.n);
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    ignis_profile_free(p);
    ig_span_times_free(&t);
}

/* Recursive operations: spans of "op" at random depths under other spans
 * of "op" (and "db" children), on random forests with cycles.  The
 * operation's instances are its outermost spans, and no span is on both
 * sides (the inner ones used to be on the fast side and, as descendants
 * of a slow outer one, on the slow side too). */
static void test_split_nested_spans_one_side(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        ig_span_times t = {0};
        size_t n = 100 + rnd(300), ops = 0, roots = 0;
        for (uint64_t i = 1; i <= n; i++) {
            uint64_t kind = rnd(10), parent = kind < 3 ? 0 : kind < 4 ? n + 7 : 1 + rnd(n);
            int op = rnd(3) != 0;
            ops += op;
            roots += op && !parent;
            ig_span_times_add(&t, i, parent, 1 + rnd(1000), op ? "op" : "db");
        }
        ignis_profile *p = one_sample_per_span(1, n, "op");
        ig_span_select slow, fast;
        ig_span_split_stats st;
        ig_err err;
        if (ig_span_split(p, 0, "op", &t, 500, &slow, &fast, &st, &err) == 0) {
            assert_int_equal(st.spans + st.nested, ops);
            assert_true(st.spans >= roots); /* a root is never inside another span */
            uint64_t v;
            for (uint64_t i = 1; i <= n; i++)
                if (ig_u64map_get(&slow.spans, i, &v) && ig_u64map_get(&fast.spans, i, &v))
                    fail_msg("round %d: span %llu on both sides", round, (unsigned long long)i);
            ig_span_select_free(&slow);
            ig_span_select_free(&fast);
        }
        assert_int_equal(st.cov.missing, 0);
        ignis_profile_free(p);
        ig_span_times_free(&t);
    }
    /* the reviewer's shape: each "op" of 30 ms has an "op" child of 10 ms */
    ig_span_times t = {0};
    for (uint64_t i = 1; i <= 20; i++) {
        ig_span_times_add(&t, i, 0, i <= 2 ? 90 : 30, "op");
        ig_span_times_add(&t, 100 + i, i, 10, "op");
    }
    ignis_profile *p = one_sample_per_span(1, 20, "op");
    ig_span_select slow, fast;
    ig_span_split_stats st;
    ig_err err;
    assert_int_equal(ig_span_split(p, 0, "op", &t, 0, &slow, &fast, &st, &err), 0);
    assert_int_equal(st.spans, 20);
    assert_int_equal(st.nested, 20);
    assert_int_equal(st.slow, 2);
    assert_int_equal(slow.spans.count, 4); /* 2 outer spans, each with its inner one */
    assert_int_equal(fast.spans.count, 36);
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    ignis_profile_free(p);
    ig_span_times_free(&t);
}

/* The profile's spans of the operation that the span times lack are
 * counted; --span-name with times keeps the operation's descendants. */
static void test_coverage_and_name_selection(void **state)
{
    (void)state;
    enum { N = 40 };
    ig_span_times t = {0};
    for (uint64_t i = 1; i <= N; i += 2) /* the odd ones only */
        ig_span_times_add(&t, i, 0, i, "req");
    for (uint64_t i = 1; i <= N; i++) /* each with a child, whose row is there */
        ig_span_times_add(&t, 1000 + i, i, 1, "db");
    ignis_profile *p = one_sample_per_span(1, N, "req");
    ig_span_select slow, fast;
    ig_span_split_stats st;
    ig_err err;
    assert_int_equal(ig_span_split(p, 0, "req", &t, 0, &slow, &fast, &st, &err), 0);
    assert_int_equal(st.spans, N / 2);
    assert_int_equal(st.cov.labelled, N);
    assert_int_equal(st.cov.missing, N / 2);
    uint64_t v;
    assert_false(ig_u64map_get(&slow.spans, 2, &v) || ig_u64map_get(&fast.spans, 2, &v)); /* left out */
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    ig_span_select sel = {0};
    ig_span_coverage cov;
    ig_span_select_name(&sel, "req", p, &t, &cov);
    assert_int_equal(cov.missing, N / 2);
    for (uint64_t i = 1; i <= N; i++) { /* every span of req, missing or not, brings its child */
        assert_true(ig_u64map_get(&sel.named, i, &v));
        assert_true(ig_u64map_get(&sel.named, 1000 + i, &v));
    }
    ig_span_select_free(&sel);
    ig_span_select_name(&sel, "req", p, NULL, &cov); /* without times: the name alone */
    assert_false(sel.by_named);
    assert_int_equal(sel.named.count, 0);
    ig_span_select_free(&sel);
    ignis_profile_free(p);
    ig_span_times_free(&t);
}

/* ---- joining by thread and time ----------------------------------------------------- */

typedef struct span_row {
    int64_t tid;
    uint64_t start, end;
} span_row;

/* The innermost span of tid at t: the latest start, then the earliest
 * end; -1 when none contains t. */
static long reference_span_at(const span_row *s, size_t n, int64_t tid, uint64_t t)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i].tid != tid || s[i].start > t || s[i].end <= t)
            continue;
        if (best < 0 || s[i].start > s[best].start || (s[i].start == s[best].start && s[i].end < s[best].end))
            best = (long)i;
    }
    return best;
}

static ignis_profile *timed_samples(const int64_t *tid, const uint64_t *t, size_t n)
{
    ignis_profile *p = ignis_profile_new();
    ignis_profile_add_value_type(p, "wall", "nanoseconds");
    uint32_t loc = ignis_profile_location_for_function(p, ignis_profile_function_named(p, "work", "w.c", 1),
                                                       IGNIS_FRAME_USER);
    uint32_t stack = ignis_profile_add_stack(p, &loc, 1);
    for (size_t i = 0; i < n; i++) {
        ignis_label l[3] = {{ignis_profile_intern(p, "tid"), 0, tid[i], 0},
                            {ignis_profile_intern(p, "time_ns"), 0, (int64_t)t[i], 0},
                            {ignis_profile_intern(p, "seq"), 0, (int64_t)i, 0}};
        int64_t v = 1;
        ignis_profile_add_sample(p, stack, ignis_profile_add_labels(p, l, 3), &v);
    }
    return p;
}

static void add_span(ig_thread_spans *ts, span_row *rows, size_t i, int64_t tid, uint64_t start, uint64_t end)
{
    char trace[33], id[17];
    snprintf(trace, sizeof trace, "%032zx", i + 1);
    snprintf(id, sizeof id, "%016zx", i + 1);
    rows[i] = (span_row){tid, start, end};
    ig_thread_spans_add(ts, tid, start, end, trace, id, "s");
}

static void test_join_matches_reference(void **state)
{
    (void)state;
    enum { SPANS = 600, SAMPLES = 3000 };
    span_row *rows = calloc(SPANS, sizeof *rows);
    int64_t tid[SAMPLES];
    uint64_t at[SAMPLES];
    for (int round = 0; round < 5; round++) {
        ig_thread_spans ts = {0};
        for (size_t i = 0; i < SPANS; i++) { /* nested, overlapping and equal starts; (tid, start, end) unique */
            int64_t th = 101 + (int64_t)rnd(3);
            uint64_t start = 1000 + rnd(5000), end;
            int dup;
            do {
                end = start + 1 + rnd(i % 10 == 0 ? 4000 : 200);
                dup = 0;
                for (size_t k = 0; k < i; k++)
                    dup |= rows[k].tid == th && rows[k].start == start && rows[k].end == end;
            } while (dup);
            add_span(&ts, rows, i, th, start, end);
        }
        for (size_t i = 0; i < SAMPLES; i++)
            tid[i] = 101 + (int64_t)rnd(4), at[i] = 500 + rnd(10000);
        ignis_profile *p = timed_samples(tid, at, SAMPLES);
        ig_span_join_stats st;
        ig_err err;
        ignis_profile *q = ig_span_join_threads(p, &ts, &st, &err);
        assert_non_null(q);
        size_t joined = 0;
        for (size_t i = 0; i < ignis_profile_num_samples(q); i++) {
            uint32_t labels = ignis_profile_sample(q, i).labels;
            int64_t seq;
            assert_true(ignis_profile_label_num(q, labels, "seq", &seq));
            long want = reference_span_at(rows, SPANS, tid[seq], at[seq]);
            const char *got = ignis_profile_label_str(q, labels, "span_id");
            char id[17];
            snprintf(id, sizeof id, "%016lx", (unsigned long)(want + 1));
            if (want < 0 ? got != NULL : !got || strcmp(got, id))
                fail_msg("sample %lld (tid %lld at %llu): span %s, expected %s", (long long)seq,
                         (long long)tid[seq], (unsigned long long)at[seq], got ? got : "none",
                         want < 0 ? "none" : id);
            joined += want >= 0;
        }
        assert_int_equal(st.joined, joined);
        ignis_profile_free(q);
        ignis_profile_free(p);
        ig_thread_spans_free(&ts);
    }
    free(rows);
}

static unsigned log2_ceil(size_t n)
{
    unsigned l = 0;
    while (((size_t)1 << l) < n)
        l++;
    return l;
}

/* The reviewer's shape: one worker-loop span around 100000 1 ns request
 * spans, 20000 samples after them (each walked back over all 100000). */
static void test_join_long_span_is_logarithmic(void **state)
{
    (void)state;
    enum { M = 100000, NS = 20000 };
    const uint64_t T0 = 1700000000000000000ULL, S = 1000000000ULL;
    span_row *rows = calloc(M + 1, sizeof *rows);
    ig_thread_spans ts = {0};
    add_span(&ts, rows, 0, 101, T0, T0 + 10 * S);
    for (size_t i = 0; i < M; i++) {
        uint64_t start = T0 + S + i * (S / M) + 1;
        add_span(&ts, rows, i + 1, 101, start, start + 1);
    }
    int64_t *tid = malloc(NS * sizeof *tid);
    uint64_t *at = malloc(NS * sizeof *at);
    for (size_t i = 0; i < NS; i++)
        tid[i] = 101, at[i] = T0 + S + i * (S / NS) + (i % 2 ? 1 : 0); /* odd ones in a request span */
    ignis_profile *p = timed_samples(tid, at, NS);
    ig_span_join_stats st;
    ig_err err;
    ignis_profile *q = ig_span_join_threads(p, &ts, &st, &err);
    assert_non_null(q);
    assert_int_equal(st.joined, NS);
    size_t in_loop = 0;
    for (size_t i = 0; i < ignis_profile_num_samples(q); i++) {
        const char *id = ignis_profile_label_str(q, ignis_profile_sample(q, i).labels, "span_id");
        assert_non_null(id);
        in_loop += !strcmp(id, "0000000000000001");
    }
    assert_int_equal(in_loop, NS / 2);
    /* two lookups per sample (the survey, the relabel), each O(log spans) */
    uint64_t bound = 2ULL * NS * 4 * (log2_ceil(M + 1) + 2);
    if (st.lookup_steps > bound)
        fail_msg("%llu steps for %d samples over %d spans (bound %llu)", (unsigned long long)st.lookup_steps, NS,
                 M + 1, (unsigned long long)bound);
    ignis_profile_free(q);
    ignis_profile_free(p);
    ig_thread_spans_free(&ts);
    free(tid);
    free(at);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descendants_match_reference),
        cmocka_unit_test(test_descendants_chain_bound),
        cmocka_unit_test(test_split_many_spans_is_linear),
        cmocka_unit_test(test_split_deep_chain_is_linear),
        cmocka_unit_test(test_split_nested_spans_one_side),
        cmocka_unit_test(test_coverage_and_name_selection),
        cmocka_unit_test(test_join_matches_reference),
        cmocka_unit_test(test_join_long_span_is_logarithmic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
