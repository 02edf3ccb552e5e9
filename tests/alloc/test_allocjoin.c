/*
 * tests/alloc/test_allocjoin.c — the join of the allocation span-label
 * program's events with uprobe samples (profiler/alloc/allocbpf.h): a
 * sample takes the event of its cookie with its count; events of hits
 * that wrote no sample are skipped; an event whose next run may have been
 * lost, a count seen twice, another thread, a former owner of the slot or
 * an evicted event never label a sample; the decoder refuses short records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profiler/alloc/allocbpf.h"
#include "profiler/bpf/allocspan_abi.h"

#define SLOT_COOKIE(slot, gen) ((uint64_t)(gen) << 32 | (slot))

/* An event of probe `cookie`, hit `hit`, run `seq`, in span number `span`
 * (0: none), by thread tid, after `drops` losses. */
static ig_allocspan ev(uint64_t cookie, uint64_t hit, uint64_t seq, int span, uint32_t tid, uint64_t drops)
{
    ig_allocspan e;
    memset(&e, 0, sizeof e);
    e.cookie = cookie;
    e.hit = hit;
    e.seq = seq;
    e.drops = drops;
    e.l.tid = tid;
    if (span) {
        e.l.in_span = true;
        e.l.span_id[0] = (uint8_t)span;
        e.l.trace_id[0] = 0xee;
        memcpy(e.l.name, "alloc-a", 7);
        e.l.name_len = 7;
    }
    return e;
}

static void push(ig_allocjoin *j, ig_allocspan e) { ig_allocjoin_push(j, &e); }

static void test_count_joins_and_skips(void **state)
{
    (void)state;
    ig_allocjoin *j = ig_allocjoin_new(0);
    uint64_t c = SLOT_COOKIE(3, 1);
    /* --every 2: hits 1..4, samples for hits 2 and 4 */
    push(j, ev(c, 1, 1, 7, 100, 0));
    push(j, ev(c, 2, 2, 8, 100, 0));
    push(j, ev(c, 3, 3, 0, 100, 0));
    push(j, ev(c, 4, 4, 0, 100, 0));
    ig_allocjoin_note_drops(j, 0);
    ig_heapspan s;
    assert_int_equal(ig_allocjoin_take(j, c, 2, 100, &s), IG_ALLOCJOIN_SPAN);
    assert_int_equal(s.span_id[0], 8); /* hit 2's, not hit 1's */
    assert_int_equal(s.trace_id[0], 0xee);
    assert_int_equal(s.name_len, 7);
    assert_memory_equal(s.name, "alloc-a", 7);
    assert_int_equal(ig_allocjoin_take(j, c, 4, 100, &s), IG_ALLOCJOIN_OUTSIDE);
    /* the kernel's second sample of hit 4: the same answer */
    assert_int_equal(ig_allocjoin_take(j, c, 4, 100, &s), IG_ALLOCJOIN_OUTSIDE);
    assert_int_equal(ig_allocjoin_take(j, c, 2, 100, &s), IG_ALLOCJOIN_UNKNOWN); /* not the latest: gone */
    /* hit 6: no event drained for it */
    assert_int_equal(ig_allocjoin_take(j, c, 6, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    ig_allocjoin_stats st;
    ig_allocjoin_stats_get(j, &st);
    assert_int_equal(st.labelled, 1);
    assert_int_equal(st.outside, 2);
    assert_int_equal(st.unknown, 2);
    assert_int_equal(st.skipped, 2);
    ig_allocjoin_free(j);
}

static void test_lost_next_run_is_not_trusted(void **state)
{
    (void)state;
    ig_allocjoin *j = ig_allocjoin_new(0);
    uint64_t c = SLOT_COOKIE(0, 1);
    ig_heapspan s;
    /* run 1 (hit 5) written, run 2 lost (it may have been hit 5 too, the
     * kernel's), run 3 (hit 6) written: hit 5's event is not trusted */
    push(j, ev(c, 5, 1, 1, 100, 0));
    push(j, ev(c, 6, 3, 2, 100, 1));
    ig_allocjoin_note_drops(j, 1);
    assert_int_equal(ig_allocjoin_take(j, c, 5, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    /* hit 6 is the latest: trusted only if nothing was lost since */
    assert_int_equal(ig_allocjoin_take(j, c, 6, 100, &s), IG_ALLOCJOIN_SPAN);
    push(j, ev(c, 7, 4, 2, 100, 1));
    ig_allocjoin_note_drops(j, 2);
    assert_int_equal(ig_allocjoin_take(j, c, 7, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    ig_allocjoin_free(j);
}

static void test_twice_thread_and_owner(void **state)
{
    (void)state;
    ig_allocjoin *j = ig_allocjoin_new(0);
    uint64_t c = SLOT_COOKIE(9, 1), next_owner = SLOT_COOKIE(9, 2);
    ig_heapspan s;
    /* the program saw hit 3 twice (the kernel counted only the second) */
    push(j, ev(c, 3, 1, 1, 100, 0));
    push(j, ev(c, 3, 2, 2, 100, 0));
    push(j, ev(c, 4, 3, 2, 100, 0));
    push(j, ev(c, 5, 4, 2, 101, 0));
    ig_allocjoin_note_drops(j, 0);
    assert_int_equal(ig_allocjoin_take(j, c, 3, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    assert_int_equal(ig_allocjoin_take(j, c, 4, 100, &s), IG_ALLOCJOIN_SPAN);
    assert_int_equal(ig_allocjoin_take(j, c, 5, 100, &s), IG_ALLOCJOIN_UNKNOWN); /* another thread's */
    /* the slot's next owner: the former's events never label its samples */
    push(j, ev(c, 6, 5, 1, 100, 0));
    ig_allocjoin_forget(j, c);
    assert_int_equal(ig_allocjoin_take(j, next_owner, 6, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    push(j, ev(c, 7, 6, 1, 100, 0)); /* a late one of the former owner */
    push(j, ev(next_owner, 7, 1, 3, 102, 0));
    assert_int_equal(ig_allocjoin_take(j, next_owner, 7, 102, &s), IG_ALLOCJOIN_SPAN);
    assert_int_equal(s.span_id[0], 3);
    assert_int_equal(ig_allocjoin_take(j, c, 7, 100, &s), IG_ALLOCJOIN_UNKNOWN);
    ig_allocjoin_free(j);
}

static void test_bound_evicts(void **state)
{
    (void)state;
    ig_allocjoin *j = ig_allocjoin_new(16);
    uint64_t c = SLOT_COOKIE(1, 1);
    for (uint64_t h = 1; h <= 40; h++)
        push(j, ev(c, h, h, 1, 100, 0));
    ig_allocjoin_note_drops(j, 0);
    ig_heapspan s;
    assert_int_equal(ig_allocjoin_take(j, c, 10, 100, &s), IG_ALLOCJOIN_UNKNOWN); /* pushed out */
    assert_int_equal(ig_allocjoin_take(j, c, 30, 100, &s), IG_ALLOCJOIN_SPAN);
    assert_int_equal(ig_allocjoin_take(j, c, 40, 100, &s), IG_ALLOCJOIN_SPAN);
    ig_allocjoin_stats st;
    ig_allocjoin_stats_get(j, &st);
    assert_int_equal(st.evicted, 24);
    ig_allocjoin_free(j);
}

static void test_decode(void **state)
{
    (void)state;
    struct ig_allocspan_event e;
    memset(&e, 0, sizeof e);
    e.a.cookie = SLOT_COOKIE(4, 2);
    e.a.hit = 11;
    e.a.seq = 12;
    e.a.drops = 1;
    e.e.h.tid = 77;
    e.e.h.kind = IG_SPANBPF_NONE;
    e.e.h.src = IG_ALLOCSPAN_SRC;
    ig_allocspan out;
    size_t short_size = sizeof e.a + sizeof e.e.h;
    assert_int_equal(ig_allocspan_decode(&e, short_size, &out), 0);
    assert_int_equal(out.cookie, SLOT_COOKIE(4, 2));
    assert_int_equal(out.hit, 11);
    assert_int_equal(out.seq, 12);
    assert_int_equal(out.drops, 1);
    assert_int_equal(out.l.tid, 77);
    assert_false(out.l.in_span);
    assert_int_equal(ig_allocspan_decode(&e, short_size - 1, &out), -1);
    assert_int_equal(ig_allocspan_decode(&e, 8, &out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_joins_and_skips), cmocka_unit_test(test_lost_next_run_is_not_trusted),
        cmocka_unit_test(test_twice_thread_and_owner), cmocka_unit_test(test_bound_evicts),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
