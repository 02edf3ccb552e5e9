/*
 * tests/profiler/test_offcpu.c — the pieces of off-CPU profiles against
 * known records: the sched_switch format file and raw data (the kernel's
 * own format text, then damaged ones), the state names of prev_state
 * bits, switch-out samples with raw data and switch records as perf lays
 * them out (including truncated ones), pairing switch-outs with switch-ins
 * (lost switch-ins, waits found at attach, intervals split between
 * profiles) and wait channels (the first frame below the scheduler).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/offcpu.h"
#include "profiler/perf.h"
#include "profiler/sched_switch.h"

/* Linux 6.18's events/sched/sched_switch/format (print fmt shortened). */
static const char real_format[] =
    "name: sched_switch\n"
    "ID: 372\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
    "\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
    "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
    "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
    "\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s\", REC->prev_comm\n";

static void test_format(void **state)
{
    (void)state;
    ig_sched_switch_fmt f;
    assert_int_equal(ig_sched_switch_parse_format(real_format, strlen(real_format), &f), 0);
    assert_int_equal(f.id, 372);
    assert_int_equal(f.prev_pid.offset, 24);
    assert_int_equal(f.prev_pid.size, 4);
    assert_int_equal(f.prev_state.offset, 32);
    assert_int_equal(f.prev_state.size, 8);

    /* next_pid must not be taken for prev_pid, nor prev_comm[16] for anything */
    char *s = strdup(real_format);
    char *at = strstr(s, "pid_t prev_pid");
    memcpy(at, "pid_t prev_xid", 14);
    assert_int_equal(ig_sched_switch_parse_format(s, strlen(s), &f), -1);
    free(s);

    /* an older kernel: prev_state an int; the text cut anywhere stays in bounds */
    s = strdup(real_format);
    at = strstr(s, "offset:32;\tsize:8");
    memcpy(at, "offset:32;\tsize:4", 17);
    assert_int_equal(ig_sched_switch_parse_format(s, strlen(s), &f), 0);
    assert_int_equal(f.prev_state.size, 4);
    for (size_t n = 0; n < strlen(s); n++)
        ig_sched_switch_parse_format(s, n, &f);
    free(s);

    const char *bad[] = {
        "",                                                                        /* nothing */
        "ID: 0\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\n\tfield:long prev_state;\toffset:32;\tsize:8;\n",
        "ID: 9\n\tfield:pid_t prev_pid;\toffset:24;\tsize:2;\n\tfield:long prev_state;\toffset:32;\tsize:8;\n",
        "ID: 9\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\n\tfield:long prev_state;\toffset:32;\tsize:3;\n",
        "ID: 9\n\tfield:pid_t prev_pid;\toffset:99999999999;\tsize:4;\n\tfield:long prev_state;\toffset:32;\tsize:8;\n",
        "ID: 99999999999\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\n\tfield:long prev_state;\toffset:32;\tsize:8;\n",
        "ID: 9\n\tfield:long prev_state;\toffset:32;\tsize:8;\n", /* no prev_pid */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ig_sched_switch_parse_format(bad[i], strlen(bad[i]), &f), -1);
}

static void test_decode_and_states(void **state)
{
    (void)state;
    ig_sched_switch_fmt f;
    assert_int_equal(ig_sched_switch_parse_format(real_format, strlen(real_format), &f), 0);
    uint8_t raw[68] = {0};
    int32_t pid = 4242;
    int64_t st = 2;
    memcpy(raw + 24, &pid, 4);
    memcpy(raw + 32, &st, 8);
    ig_sched_switch_rec rec;
    assert_int_equal(ig_sched_switch_decode(&f, raw, sizeof raw, &rec), 0);
    assert_int_equal(rec.prev_pid, 4242);
    assert_int_equal(rec.prev_state, 2);
    assert_int_equal(ig_sched_switch_decode(&f, raw, 39, &rec), -1); /* prev_state cut */
    assert_int_equal(ig_sched_switch_decode(&f, raw, 0, &rec), -1);
    assert_int_equal(ig_sched_switch_decode(&f, NULL, 68, &rec), -1);
    ig_sched_switch_fmt huge = f;
    huge.prev_state.offset = UINT32_MAX - 2; /* offset + size would wrap */
    assert_int_equal(ig_sched_switch_decode(&huge, raw, sizeof raw, &rec), -1);

    assert_string_equal(ig_sched_state_name(0), "runnable");     /* R */
    assert_string_equal(ig_sched_state_name(0x100), "runnable"); /* R+: preempted */
    assert_string_equal(ig_sched_state_name(0x101), "runnable"); /* preempted wins */
    assert_string_equal(ig_sched_state_name(1), "sleeping");
    assert_string_equal(ig_sched_state_name(2), "uninterruptible");
    assert_string_equal(ig_sched_state_name(4), "stopped");
    assert_string_equal(ig_sched_state_name(8), "traced");
    assert_string_equal(ig_sched_state_name(0x10), "dead");
    assert_string_equal(ig_sched_state_name(0x40), "parked");
    assert_string_equal(ig_sched_state_name(0x80), "idle");
}

/* A sched_switch sample as perf writes it: ip, pid/tid, time, period,
 * callchain, raw (u32 size + data, 8-aligned), user regs, user stack. */
static size_t build_switch_sample(uint8_t *buf, uint32_t raw_size, uint64_t stack)
{
    uint8_t *p = buf + sizeof(struct perf_event_header);
    uint64_t w;
#define PUT64(v) (w = (v), memcpy(p, &w, 8), p += 8)
    PUT64(0xffffffff81000010ULL);
    PUT64(((uint64_t)77 << 32) | 66);
    PUT64(5000);
    PUT64(1);
    PUT64(3);
    PUT64((uint64_t)PERF_CONTEXT_KERNEL);
    PUT64(0xffffffff81000100ULL);
    PUT64(0xffffffff81000200ULL);
    memcpy(p, &raw_size, 4);
    p += 4;
    for (uint32_t i = 0; i < raw_size; i++)
        *p++ = (uint8_t)i;
    PUT64(PERF_SAMPLE_REGS_ABI_64);
    for (int i = 0; i < IG_PREG_COUNT; i++)
        PUT64(2000 + (uint64_t)i);
    PUT64(stack);
    memset(p, 0xcd, stack);
    p += stack;
    PUT64(stack);
#undef PUT64
    size_t size = (size_t)(p - buf);
    struct perf_event_header h = {PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, (uint16_t)size};
    memcpy(buf, &h, sizeof h);
    return size;
}

static void test_parse_switch_sample(void **state)
{
    (void)state;
    static uint64_t buf8[1024];
    uint8_t *buf = (uint8_t *)buf8;
    struct perf_event_header *h = (struct perf_event_header *)buf;
    size_t size = build_switch_sample(buf, 68, 64);
    ig_perf_sample s;
    assert_int_equal(ig_perf_parse_sample_of(h, IG_PERF_SCHED_SWITCH, &s), 0);
    assert_int_equal(s.tid, 77);
    assert_int_equal(s.nr_chain, 3);
    assert_int_equal(s.raw_size, 68);
    assert_int_equal(s.raw[67], 67);
    assert_ptr_equal(s.raw, buf + sizeof *h + 8 * 8 + 4);
    assert_int_equal(s.regs[IG_PREG_SP], 2000 + IG_PREG_SP);
    assert_int_equal(s.stack_size, 64);
    assert_false(s.user_mode);
    /* the same bytes read as a cpu-clock sample are misread, not overread */
    ig_perf_parse_sample(h, &s);

    /* a raw size beyond the record */
    build_switch_sample(buf, 68, 64);
    uint32_t big = 60000;
    memcpy(buf + sizeof *h + 8 * 8, &big, 4);
    assert_int_equal(ig_perf_parse_sample_of(h, IG_PERF_SCHED_SWITCH, &s), -1);
    /* cut inside the raw data, and every shorter cut */
    for (size_t cut = sizeof *h; cut < size; cut += 4) {
        build_switch_sample(buf, 68, 64);
        h->size = (uint16_t)cut;
        assert_int_equal(ig_perf_parse_sample_of(h, IG_PERF_SCHED_SWITCH, &s), -1);
    }
}

static void test_parse_switch_record(void **state)
{
    (void)state;
    uint64_t buf8[8] = {0};
    uint8_t *buf = (uint8_t *)buf8;
    struct perf_event_header *h = (struct perf_event_header *)buf;
    uint32_t pid = 10, tid = 11;
    uint64_t t = 123456;
    /* PERF_RECORD_SWITCH: header + sample_id {pid, tid, time} */
    *h = (struct perf_event_header){PERF_RECORD_SWITCH, PERF_RECORD_MISC_SWITCH_OUT | PERF_RECORD_MISC_SWITCH_OUT_PREEMPT,
                                    24};
    memcpy(buf + 8, &pid, 4);
    memcpy(buf + 12, &tid, 4);
    memcpy(buf + 16, &t, 8);
    ig_perf_switch sw;
    assert_int_equal(ig_perf_parse_switch(h, &sw), 0);
    assert_int_equal(sw.pid, 10);
    assert_int_equal(sw.tid, 11);
    assert_int_equal(sw.time, 123456);
    assert_true(sw.out);
    assert_true(sw.preempt);
    h->misc = 0; /* a switch-in */
    assert_int_equal(ig_perf_parse_switch(h, &sw), 0);
    assert_false(sw.out);
    assert_false(sw.preempt);
    h->size = 23;
    assert_int_equal(ig_perf_parse_switch(h, &sw), -1);
    /* CPU-wide: next_prev pid/tid first, then the sample_id */
    *h = (struct perf_event_header){PERF_RECORD_SWITCH_CPU_WIDE, 0, 32};
    memcpy(buf + 16, &pid, 4);
    memcpy(buf + 20, &tid, 4);
    memcpy(buf + 24, &t, 8);
    assert_int_equal(ig_perf_parse_switch(h, &sw), 0);
    assert_int_equal(sw.tid, 11);
    h->size = 24;
    assert_int_equal(ig_perf_parse_switch(h, &sw), -1);
    h->type = PERF_RECORD_EXIT;
    h->size = 32;
    assert_int_equal(ig_perf_parse_switch(h, &sw), -1);
}

static ig_offcpu_interval out_at(pid_t tid, uint64_t t, const uint64_t *ips, uint32_t nk, uint32_t nu)
{
    ig_offcpu_interval iv = {0};
    iv.pid = 1;
    iv.tid = tid;
    iv.out_time = t;
    iv.state = IG_STATE_BLOCKED;
    iv.ips = ips;
    iv.nkernel = nk;
    iv.nuser = nu;
    return iv;
}

typedef struct collected {
    ig_offcpu_interval iv[8];
    size_t n;
} collected;

static void collect(const ig_offcpu_interval *iv, void *ctx)
{
    collected *c = ctx;
    if (c->n < 8)
        c->iv[c->n++] = *iv;
}

static void test_pairing(void **state)
{
    (void)state;
    ig_offcpu *oc = ig_offcpu_new();
    uint64_t ips[3] = {0xffffffff81000100ULL, 0x401000, 0x401100};
    ig_offcpu_interval iv = out_at(5, 1000, ips, 1, 2);
    ig_offcpu_out(oc, &iv);
    ips[1] = 0; /* the frames were copied */
    ig_offcpu_set_state(oc, 5, IG_STATE_RUNNABLE);
    assert_null(ig_offcpu_in(oc, 6, 1500)); /* another thread */
    const ig_offcpu_interval *got = ig_offcpu_in(oc, 5, 1800);
    assert_non_null(got);
    assert_int_equal(got->start, 1000);
    assert_int_equal(got->end, 1800);
    assert_int_equal(got->nkernel, 1);
    assert_int_equal(got->nuser, 2);
    assert_int_equal(got->ips[1], 0x401000);
    assert_string_equal(got->state, IG_STATE_RUNNABLE);
    assert_null(ig_offcpu_in(oc, 5, 1900)); /* closed once */

    /* a lost switch-in: the next switch-out drops the open interval */
    iv = out_at(5, 2000, ips, 1, 2);
    ig_offcpu_out(oc, &iv);
    iv.out_time = 3000;
    ig_offcpu_out(oc, &iv);
    assert_int_equal(ig_offcpu_get_stats(oc)->unmatched, 1);
    got = ig_offcpu_in(oc, 5, 2500); /* a stamp before the start clamps */
    assert_int_equal(got->start, 3000);
    assert_int_equal(got->end, 3000);

    /* a wait found at attach is replaced by a switch-out without a count */
    iv = out_at(7, 4000, NULL, 0, 0);
    iv.before_start = true;
    ig_offcpu_out(oc, &iv);
    iv = out_at(7, 4100, ips, 1, 2);
    ig_offcpu_out(oc, &iv);
    assert_int_equal(ig_offcpu_get_stats(oc)->unmatched, 1);

    /* open intervals split between profiles: each part once */
    iv = out_at(8, 5000, ips, 1, 2);
    ig_offcpu_out(oc, &iv);
    collected c = {.n = 0};
    ig_offcpu_split_all(oc, 6000, collect, &c);
    assert_int_equal(c.n, 2); /* threads 7 and 8 */
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.iv[i].end, 6000);
    got = ig_offcpu_in(oc, 8, 6500);
    assert_int_equal(got->start, 6000);
    assert_int_equal(got->out_time, 5000);
    assert_int_equal(got->end, 6500);
    assert_int_equal(ig_offcpu_get_stats(oc)->open, 1);
    assert_int_equal(ig_offcpu_get_stats(oc)->switches, 6);

    /* many threads at once, then all closed: slots are reused */
    for (pid_t t = 100; t < 300; t++) {
        iv = out_at(t, 7000, ips, 1, 2);
        ig_offcpu_out(oc, &iv);
    }
    for (pid_t t = 100; t < 300; t++)
        assert_non_null(ig_offcpu_in(oc, t, 7001));
    assert_int_equal(ig_offcpu_get_stats(oc)->open, 1);
    ig_offcpu_free(oc);
}

static const char *fake_name(uint64_t addr, void *ctx)
{
    (void)ctx;
    switch (addr) {
    case 0x10: return "__traceiter_sched_switch";
    case 0x20: return "__schedule";
    case 0x30: return "schedule";
    case 0x40: return "do_nanosleep.constprop.0";
    case 0x50: return "hrtimer_nanosleep";
    case 0x60: return "common_nsleep";
    case 0x70: return "perf_trace_buf_submit";
    default: return NULL;
    }
}

static void test_wchan(void **state)
{
    (void)state;
    ig_offcpu *oc = ig_offcpu_new();
    const uint64_t ctx = (uint64_t)PERF_CONTEXT_KERNEL;
    uint64_t chain[] = {ctx, 0x70, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60};
    for (int round = 0; round < 2; round++) /* the second from the cache */
        assert_int_equal(ig_offcpu_wchan(oc, chain, 8, fake_name, NULL), 0x50);
    uint64_t none[] = {ctx, 0x50, 0x60}; /* no scheduler frame */
    assert_int_equal(ig_offcpu_wchan(oc, none, 3, fake_name, NULL), 0);
    uint64_t user[] = {ctx, 0x30, (uint64_t)PERF_CONTEXT_USER, 0x401000};
    assert_int_equal(ig_offcpu_wchan(oc, user, 4, fake_name, NULL), 0);
    assert_int_equal(ig_offcpu_wchan(oc, chain, 0, fake_name, NULL), 0);
    ig_offcpu_free(oc);

    assert_true(ig_offcpu_is_sched_function("schedule"));
    assert_true(ig_offcpu_is_sched_function("schedule_hrtimeout_range_clock"));
    assert_true(ig_offcpu_is_sched_function("io_schedule.cold"));
    assert_true(ig_offcpu_is_sched_function("_raw_spin_lock_irqsave"));
    assert_true(ig_offcpu_is_sched_function("__cond_resched"));
    assert_true(ig_offcpu_is_sched_function("yield_to"));
    assert_false(ig_offcpu_is_sched_function("schedule_x"));
    assert_false(ig_offcpu_is_sched_function("anon_pipe_read"));
    assert_false(ig_offcpu_is_sched_function("futex_wait_queue"));
    assert_false(ig_offcpu_is_sched_function(""));
    assert_false(ig_offcpu_is_sched_function(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_decode_and_states),
        cmocka_unit_test(test_parse_switch_sample),
        cmocka_unit_test(test_parse_switch_record),
        cmocka_unit_test(test_pairing),
        cmocka_unit_test(test_wchan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
