/*
 * tests/alloc/test_heaptab.c — the sampled-allocation tables: records
 * merge by (stack, size), frees find exactly the live sampled pointers
 * (a double free or an unknown pointer finds nothing), address reuse,
 * full tables drop and count, deletions keep probe chains intact (checked
 * against a reference model under random operations), and concurrent
 * threads lose no record and corrupt no count.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profiler/alloc/heaptab.h"

static const uint64_t stack1[3] = {0x401000, 0x402000, 0x403000};
static const uint64_t stack2[2] = {0x501000, 0x502000};

static void test_records_and_inuse(void **state)
{
    (void)state;
    ig_heaptab *t = ig_heaptab_new(64, 64);
    assert_non_null(t);
    int a = ig_heaptab_add(t, 0x1000, 100, stack1, 3);
    int b = ig_heaptab_add(t, 0x2000, 100, stack1, 3);
    int c = ig_heaptab_add(t, 0x3000, 200, stack1, 3); /* same stack, other size */
    int d = ig_heaptab_add(t, 0x4000, 100, stack2, 2);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_not_equal(a, d);
    assert_true(ig_heaptab_remove(t, 0x1000));
    assert_false(ig_heaptab_remove(t, 0x1000)); /* double free: nothing */
    assert_false(ig_heaptab_remove(t, 0x9999)); /* never sampled */
    ig_heaprec recs[8];
    size_t n = ig_heaptab_snapshot(t, recs, 8);
    assert_int_equal(n, 3);
    assert_int_equal(recs[a].count, 2);
    assert_int_equal(recs[a].inuse, 1);
    assert_int_equal(recs[a].size, 100);
    assert_int_equal(recs[a].depth, 3);
    assert_memory_equal(recs[a].ips, stack1, sizeof stack1);
    assert_int_equal(recs[c].inuse, 1);
    ig_heaptab_stats st;
    ig_heaptab_get_stats(t, &st);
    assert_int_equal(st.live, 3);
    ig_heaptab_destroy(t);
}

static void test_address_reuse_and_untracked(void **state)
{
    (void)state;
    ig_heaptab *t = ig_heaptab_new(64, 64);
    int a = ig_heaptab_add(t, 0x1000, 100, stack1, 3);
    int b = ig_heaptab_add(t, 0x1000, 50, stack2, 2); /* freed unseen, reused */
    int c = ig_heaptab_add(t, 0, 10, stack2, 2);      /* counted, not live */
    ig_heaprec recs[8];
    ig_heaptab_snapshot(t, recs, 8);
    assert_int_equal(recs[a].inuse, 0);
    assert_int_equal(recs[b].inuse, 1);
    assert_int_equal(recs[c].count, 1);
    assert_int_equal(recs[c].inuse, 0);
    ig_heaptab_destroy(t);
}

static void test_full_tables_drop_and_count(void **state)
{
    (void)state;
    ig_heaptab *t = ig_heaptab_new(4, 8); /* 4 records, 8 slots (7 usable) per stripe */
    uint64_t st[1];
    for (int i = 0; i < 6; i++) {
        st[0] = 0x1000 + (uint64_t)i;
        int id = ig_heaptab_add(t, 0, 8, st, 1);
        assert_true(i < 4 ? id == i : id == -1);
    }
    for (uint64_t p = 1; p <= 2000; p++)
        ig_heaptab_add(t, p * 16, 8, stack1, 3);
    ig_heaptab_stats s;
    ig_heaptab_get_stats(t, &s);
    assert_int_equal(s.dropped_records, 2 + 2000);
    ig_heaptab_destroy(t);
    t = ig_heaptab_new(4, 8);
    for (uint64_t p = 1; p <= 2000; p++)
        ig_heaptab_add(t, p * 16, 8, stack1, 3);
    ig_heaptab_get_stats(t, &s);
    assert_true(s.live <= 64 * 7);
    assert_int_equal(s.live + s.dropped_live, 2000);
    ig_heaprec r;
    ig_heaptab_snapshot(t, &r, 1);
    assert_int_equal(r.inuse, s.live);
    assert_int_equal(r.count, 2000);
    ig_heaptab_destroy(t);
}

static void test_random_ops_match_a_model(void **state)
{
    (void)state;
    enum { N = 4096 };
    ig_heaptab *t = ig_heaptab_new(16, 256);
    static bool live[N];
    memset(live, 0, sizeof live);
    uint64_t rng = 42;
    size_t nlive = 0;
    for (int i = 0; i < 200000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint64_t k = rng % N, ptr = 0x10000 + k * 48;
        if (rng & (1ULL << 40)) {
            if (live[k])
                continue;
            assert_true(ig_heaptab_add(t, ptr, 48, stack1, 3) >= 0);
            live[k] = true;
            nlive++;
        } else {
            assert_int_equal(ig_heaptab_remove(t, ptr), live[k]);
            if (live[k])
                nlive--;
            live[k] = false;
        }
    }
    for (uint64_t k = 0; k < N; k++) /* every live pointer is still findable */
        assert_int_equal(ig_heaptab_remove(t, 0x10000 + k * 48), live[k]);
    ig_heaprec r;
    ig_heaptab_snapshot(t, &r, 1);
    assert_int_equal(r.inuse, 0);
    (void)nlive;
    ig_heaptab_destroy(t);
}

typedef struct worker_arg {
    ig_heaptab *t;
    int id;
} worker_arg;

enum { THREADS = 4, PER_THREAD = 20000 };

static void *worker(void *p)
{
    worker_arg *a = p;
    uint64_t st[2] = {0x7000, 0x8000 + (uint64_t)a->id};
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        uint64_t ptr = ((uint64_t)a->id << 32) | (i * 16 + 16);
        ig_heaptab_add(a->t, ptr, 16, st, 2);
        if (i % 4) /* three in four are freed, by this thread */
            ig_heaptab_remove(a->t, ptr);
    }
    return NULL;
}

static void test_threads_lose_nothing(void **state)
{
    (void)state;
    ig_heaptab *t = ig_heaptab_new(64, 1 << 12);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){t, i};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ig_heaprec recs[THREADS + 1];
    size_t n = ig_heaptab_snapshot(t, recs, THREADS + 1);
    assert_int_equal(n, THREADS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(recs[i].count, PER_THREAD);
        assert_int_equal(recs[i].inuse, PER_THREAD / 4);
    }
    ig_heaptab_stats s;
    ig_heaptab_get_stats(t, &s);
    assert_int_equal(s.live, THREADS * PER_THREAD / 4);
    assert_int_equal(s.dropped_live + s.dropped_records, 0);
    ig_heaptab_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_and_inuse),         cmocka_unit_test(test_address_reuse_and_untracked),
        cmocka_unit_test(test_full_tables_drop_and_count), cmocka_unit_test(test_random_ops_match_a_model),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
