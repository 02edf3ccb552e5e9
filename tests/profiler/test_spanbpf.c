/*
 * tests/profiler/test_spanbpf.c — span labels taken at sample time by the
 * BPF program (profiler/spanbpf.c), against ground truth.
 *
 * samples/spans/spanwork (linked with libignis.so) runs spans doing known
 * CPU work in known functions and logs every span instance (ids, thread,
 * start and end on CLOCK_MONOTONIC).  The test samples it at 999 Hz with
 * cpu-clock events in both of the recorder's layouts — per-thread events
 * with `inherit` (per thread x CPU, redirected into per-CPU rings, opened
 * before the worker threads exist) and per-CPU events for every thread —
 * with the program attached, drains labels and samples as the recorder is
 * to (perf ring heads first, then labels, then samples in time order
 * through ig_spanjoin_take), and checks each sample whose IP lies in a
 * work function: in work_a / work_b / work_short the label must be the
 * span instance of that thread whose interval holds the sample's time
 * (>= 99% labelled, none with another span's id); in work_none (no span
 * current) no label at all.
 *
 * Also: an exec into a program with a fake record everywhere in its TLS
 * (samples/spans/spanfake) is never read with the old offset; a process
 * without libignis, or with publishing off, is not followed; not permitted
 * and missing BTF give the one-line errors; and the join alone (no BPF):
 * lost samples, lost labels, other threads, windows, capacity.
 * The BPF tests skip where the program cannot be loaded (not root, ...);
 * tests/profiler/t_spanbpf_pidns.sh runs the accuracy test again from a
 * new pid namespace (SPANBPF_TEST_FILTER picks it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "profiler/bpf/spanctx_abi.h"
#include "profiler/perf.h"
#include "profiler/spanbpf.h"
#include "profiler/spanctx.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <grp.h>
#include <inttypes.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_build[4096];

/* ---- the join alone -------------------------------------------------------------- */

static ig_spanbpf_label ev(uint32_t cpu, uint32_t tid, uint64_t time, uint64_t ip, int span)
{
    ig_spanbpf_label l = {.tgid = 100, .tid = tid, .cpu = cpu, .time = time, .ip = ip, .period = 1001001};
    if (span >= 0) {
        l.in_span = true;
        memset(l.span_id, span, sizeof l.span_id);
    }
    return l;
}

static const ig_spanbpf_label *take(ig_spanjoin *j, uint32_t cpu, uint32_t tid, uint64_t time, uint64_t ip)
{
    ig_spanjoin_sample s = {.cpu = cpu, .tid = tid, .time = time, .ip = ip, .period = 1001001};
    return ig_spanjoin_take(j, &s);
}

static void push(ig_spanjoin *j, ig_spanbpf_label l) { ig_spanjoin_push(j, &l); }

static void test_join_in_step(void **state)
{
    (void)state;
    ig_spanjoin *j = ig_spanjoin_new(0);
    /* two CPUs, threads taking turns on them; odd steps outside any span;
     * the event comes 3 us (or, a stalled virtual CPU, 700 us) after its sample */
    for (int i = 0; i < 100; i++) {
        uint64_t delay = i % 10 ? 3000 : 700000;
        push(j, ev(0, 7 + i % 3, 1000000ull * i + delay, 0x400000 + i, i % 2 ? -1 : i));
        push(j, ev(1, 8 + i % 3, 1000000ull * i + 400000 + delay, 0x500000 + i, i % 2 ? -1 : i + 100));
    }
    for (int i = 0; i < 100; i++) {
        const ig_spanbpf_label *l = take(j, 0, 7 + i % 3, 1000000ull * i, 0x400000 + i);
        if (i % 2) {
            assert_null(l);
        } else {
            assert_non_null(l);
            assert_int_equal(l->span_id[0], i);
        }
        l = take(j, 1, 8 + i % 3, 1000000ull * i + 400000, 0x500000 + i);
        if (i % 2) {
            assert_null(l);
        } else {
            assert_non_null(l);
            assert_int_equal(l->span_id[0], i + 100);
        }
    }
    assert_int_equal(ig_spanjoin_pending(j), 0);
    ig_spanjoin_stats st;
    ig_spanjoin_stats_get(j, &st);
    assert_int_equal(st.labelled, 100);
    assert_int_equal(st.outside, 100);
    assert_int_equal(st.unlabelled, 0);
    ig_spanjoin_free(j);
}

/* The switch-out join: the event comes just BEFORE its sample on the same
 * CPU, and only threads of followed processes get one. */
static const ig_spanbpf_label *take_sw(ig_spanjoin *j, uint32_t cpu, uint32_t tid, uint64_t time)
{
    ig_spanjoin_sample s = {.cpu = cpu, .tid = tid, .time = time};
    return ig_spanjoin_take_switch(j, &s);
}

static void test_switch_join(void **state)
{
    (void)state;
    ig_spanjoin *j = ig_spanjoin_new(0);
    /* CPU 0: switch-outs of threads 7 and 8 at 1 ms steps, each event 2 us before its sample */
    for (int i = 0; i < 10; i++)
        push(j, ev(0, 7 + i % 2, 1000000ull * i - 2000 + 1000000, 0, i % 3 ? i : -1));
    ig_spanjoin_note_drops(j, 0, 0);
    for (int i = 0; i < 10; i++) {
        if (i == 4)
            continue; /* its sample was lost: its event is skipped */
        const ig_spanbpf_label *l = take_sw(j, 0, 7 + i % 2, 1000000ull * i + 1000000);
        if (i % 3) {
            assert_non_null(l);
            assert_int_equal(l->span_id[0], i);
        } else {
            assert_null(l);
        }
    }
    assert_int_equal(ig_spanjoin_pending(j), 0);
    /* a sample whose own event is missing never takes an older one:
     * another thread's last event before it */
    push(j, ev(1, 7, 20000000, 0, 1));
    push(j, ev(1, 8, 20100000, 0, 2)); /* 8's sample lost */
    assert_null(take_sw(j, 1, 7, 20200000)); /* the program did not write 7's: not followed */
    /* the same thread's older event, but the program lost events after it
     * (the next one says so): not told */
    push(j, ev(1, 7, 21000000, 0, 3));
    ig_spanbpf_label e = ev(1, 9, 22000000, 0, 4);
    e.cpu_drops = 1;
    push(j, e);
    assert_null(take_sw(j, 1, 7, 21500000));
    /* ... or no event after it yet, and the count read after the drain moved past it */
    e = ev(1, 7, 23000000, 0, 5);
    e.cpu_drops = 1;
    push(j, e);
    ig_spanjoin_note_drops(j, 1, 2);
    assert_null(take_sw(j, 1, 7, 23100000));
    /* the count read after the drain is the event's: nothing lost since, its own */
    e = ev(1, 7, 24000000, 0, 6);
    e.cpu_drops = 2;
    push(j, e);
    const ig_spanbpf_label *l = take_sw(j, 1, 7, 24100000);
    assert_non_null(l);
    assert_int_equal(l->span_id[0], 6);
    assert_int_equal(ig_spanjoin_pending(j), 0);
    ig_spanjoin_free(j);
}

static void test_join_lost_samples_and_events(void **state)
{
    (void)state;
    ig_spanjoin *j = ig_spanjoin_new(0);
    push(j, ev(1, 7, 1000, 0x10, 1));    /* its sample is lost (perf ring full) */
    push(j, ev(1, 7, 1001000, 0x10, 2)); /* same IP: a spinning thread */
    const ig_spanbpf_label *l = take(j, 1, 7, 1000900, 0x10);
    assert_non_null(l);
    assert_int_equal(l->span_id[0], 2); /* the earlier sample's event was skipped */
    /* the program drops the next sample's event (ring buffer full): the
     * event after it says so, and is given to no sample, even its own */
    ig_spanbpf_label e = ev(1, 7, 3001000, 0x10, 4);
    e.cpu_drops = 1;
    push(j, e);
    assert_null(take(j, 1, 7, 2000000, 0x10)); /* would be the wrong span */
    assert_null(take(j, 1, 7, 3000000, 0x10)); /* its own: cannot be told */
    assert_int_equal(ig_spanjoin_pending(j), 1);
    ig_spanjoin_stats st;
    ig_spanjoin_stats_get(j, &st);
    assert_int_equal(st.unlabelled, 2);
    /* the next event of CPU 1 carries the same drop count: in step again */
    e = ev(1, 7, 4001000, 0x10, 5);
    e.cpu_drops = 1;
    push(j, e);
    l = take(j, 1, 7, 4000000, 0x10);
    assert_non_null(l);
    assert_int_equal(l->span_id[0], 5);
    /* drops are counted per CPU: CPU 0 had none */
    push(j, ev(0, 9, 4001000, 0x20, 6));
    l = take(j, 0, 9, 4000000, 0x20);
    assert_non_null(l);
    assert_int_equal(l->span_id[0], 6);
    assert_int_equal(ig_spanjoin_pending(j), 0);
    ig_spanjoin_free(j);
}

static void test_join_checks(void **state)
{
    (void)state;
    ig_spanjoin *j = ig_spanjoin_new(0);
    assert_null(take(j, 1, 7, 1000, 0x10)); /* not drained yet */
    push(j, ev(1, 7, 1001, 0x10, 1));
    assert_null(take(j, 1, 9, 1000, 0x10));   /* another thread */
    assert_null(take(j, 1, 7, 1000, 0x11));   /* another IP */
    assert_null(take(j, 2, 7, 1000, 0x10));   /* another CPU's queue */
    assert_null(take(j, 70000, 7, 1000, 0x10)); /* not a CPU */
    ig_spanjoin_sample s = {.cpu = 1, .tid = 7, .time = 1000, .ip = 0x10, .period = 5};
    assert_null(ig_spanjoin_take(j, &s)); /* another period */
    s.period = 0;
    s.ip = 0;
    assert_non_null(ig_spanjoin_take(j, &s)); /* IP and period unknown: not compared */
    push(j, ev(100000, 7, 5000, 0x10, 1));    /* not a CPU: ignored */
    assert_int_equal(ig_spanjoin_pending(j), 0);
    ig_spanjoin_free(j);
}

static void test_join_capacity(void **state)
{
    (void)state;
    ig_spanjoin *j = ig_spanjoin_new(16);
    for (uint32_t i = 0; i < 40; i++)
        push(j, ev(i % 2, 1000 + i, 1000ull * i + 1, 0x10, (int)i));
    assert_int_equal(ig_spanjoin_pending(j), 16);
    ig_spanjoin_stats st;
    ig_spanjoin_stats_get(j, &st);
    assert_int_equal(st.evicted, 24);
    for (uint32_t i = 0; i < 40; i++) {
        const ig_spanbpf_label *l = take(j, i % 2, 1000 + i, 1000ull * i, 0x10);
        if (i < 24) {
            assert_null(l); /* pushed out: never the next event instead */
        } else {
            assert_non_null(l);
            assert_int_equal(l->span_id[0], i);
        }
    }
    /* a long run through a small join */
    for (uint32_t i = 0; i < 100000; i++) {
        push(j, ev(i % 7, 5000 + i, 1000000000ull + 1000000ull * i + 1, 0x10, 9));
        assert_non_null(take(j, i % 7, 5000 + i, 1000000000ull + 1000000ull * i, 0x10));
    }
    assert_int_equal(ig_spanjoin_pending(j), 0);
    ig_spanjoin_free(j);
}

/* ---- the program's events ------------------------------------------------------ */

static void test_decode_event(void **state)
{
    (void)state;
    struct ig_spanbpf_event e;
    memset(&e, 0, sizeof e);
    e.h = (struct ig_spanbpf_head){.time = 123456789, .ip = 0x401234, .period = 1001001, .tgid = 40, .tid = 41,
                                   .cpu = 3, .drops = 2, .kind = IG_SPANBPF_SPAN, .rec_len = 36, .name_key = 0};
    for (int i = 0; i < 16; i++)
        e.rec[i] = (uint8_t)(0xa0 + i); /* trace id */
    memset(e.rec + 16, 0x5b, 8);        /* span id */
    e.rec[24] = 1;                      /* valid */
    e.rec[25] = 1;                      /* sampled */
    e.rec[26] = 8;                      /* attrs-data-size */
    memcpy(e.rec + 28, "\x00\x06span-a", 8);
    ig_spanbpf_label l;
    assert_int_equal(ig_spanbpf_decode_event(&e, sizeof e, &l), 0);
    assert_true(l.in_span);
    assert_int_equal(l.tgid, 40);
    assert_int_equal(l.tid, 41);
    assert_int_equal(l.cpu, 3);
    assert_int_equal(l.cpu_drops, 2);
    assert_int_equal(l.time, 123456789);
    assert_int_equal(l.ip, 0x401234);
    assert_int_equal(l.period, 1001001);
    assert_int_equal(l.trace_id[0], 0xa0);
    assert_int_equal(l.trace_id[15], 0xaf);
    assert_int_equal(l.span_id[7], 0x5b);
    assert_int_equal(l.trace_flags, 1);
    assert_string_equal(l.name, "span-a");
    assert_int_equal(l.name_len, 6);

    e.h.name_key = -1; /* no span_name in the key map: ids only */
    assert_int_equal(ig_spanbpf_decode_event(&e, sizeof e, &l), 0);
    assert_true(l.in_span);
    assert_int_equal(l.name_len, 0);
    e.h.name_key = 0;
    e.h.rec_len = 60000; /* beyond the copy: bounded by it */
    e.rec[26] = 0xff;
    e.rec[27] = 0xff;
    e.rec[36] = 1;   /* then an entry of another key */
    e.rec[37] = 200; /* running past the copy: ends the parse */
    assert_int_equal(ig_spanbpf_decode_event(&e, sizeof e, &l), 0);
    assert_true(l.in_span);
    assert_string_equal(l.name, "span-a");
    e.rec[24] = 2; /* not valid: no span */
    assert_int_equal(ig_spanbpf_decode_event(&e, sizeof e, &l), 0);
    assert_false(l.in_span);
    assert_int_equal(l.tid, 41);
    e.rec[24] = 1;
    assert_int_equal(ig_spanbpf_decode_event(&e, sizeof e - 1, &l), 0); /* a span event cut short */
    assert_false(l.in_span);
    e.h.kind = IG_SPANBPF_NONE; /* a short event: no record */
    assert_int_equal(ig_spanbpf_decode_event(&e.h, sizeof e.h, &l), 0);
    assert_false(l.in_span);
    assert_int_equal(l.time, 123456789);
    assert_int_equal(ig_spanbpf_decode_event(&e.h, sizeof e.h - 1, &l), -1);
}

/* ---- a child with pipes ------------------------------------------------------------ */

typedef struct child {
    pid_t pid;
    FILE *out;
    int in;
} child;

static void child_start(child *c, char *const argv[], const char *env)
{
    int to[2], from[2];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        unsetenv("IGNIS_THREAD_CONTEXT");
        if (env)
            putenv((char *)env);
        setenv("IGNIS_TRACE_QUIET", "1", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c->in = to[1];
    c->out = fdopen(from[0], "r");
    assert_non_null(c->out);
}

static int child_end(child *c)
{
    if (c->in >= 0)
        close(c->in);
    fclose(c->out);
    int st;
    assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- sampling sessions ------------------------------------------------------------- */

typedef struct sample_rec {
    uint32_t tid;
    uint64_t time, ip;
    bool labelled;
    ig_spanbpf_label l;
} sample_rec;

typedef struct session {
    bool per_cpu;
    pid_t target;
    int fds[512], sinks[512], ring_cpu[512];
    ig_ring rings[512];
    size_t nfds, nrings;
    ig_spanbpf *sb;
    ig_spanjoin *join;
    sample_rec *samples;
    size_t n, cap;
    size_t labels, foreign_events;
    uint64_t lost;
    uint64_t delay_min, delay_max; /* label time - sample time, matched samples */
    int drain_ms;                  /* between drains; 0: 50 */
} session;

static ig_spanbpf *load_or_skip_opts(const ig_spanbpf_opts *o)
{
    ig_err err = {{0}};
    ig_spanbpf *sb = ig_spanbpf_new_opts(o, &err);
    if (!sb) {
        fprintf(stderr, "skipped: %s\n", err.msg);
        skip();
    }
    return sb;
}

static ig_spanbpf *load_or_skip(void) { return load_or_skip_opts(NULL); }

static ig_perf_opts sampling_opts(bool inherit)
{
    return (ig_perf_opts){.freq = 999, .stack_size = 0, .inherit = inherit, .mono_clock = true};
}

/* Opens the events (program attached before any is enabled by a 'g'). */
static void session_open_pages(session *s, pid_t tid, size_t pages)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    ig_perf_opts o = sampling_opts(!s->per_cpu);
    for (long cpu = 0; cpu < ncpu && cpu < 512; cpu++) {
        int fd = ig_perf_open(&o, s->per_cpu ? -1 : tid, (int)cpu);
        if (fd < 0) {
            assert_true(errno == ENODEV || errno == EINVAL); /* offline CPU */
            continue;
        }
        ig_err err = {{0}};
        if (ig_spanbpf_attach(s->sb, fd, &err) != 0)
            fail_msg("%s", err.msg);
        int ring_fd = fd;
        if (!s->per_cpu) { /* the recorder's layout: redirected into a per-CPU ring */
            ring_fd = ig_perf_open_sink((int)cpu, &o);
            assert_true(ring_fd >= 0);
            s->sinks[s->nrings] = ring_fd;
        }
        assert_int_equal(ig_ring_map(&s->rings[s->nrings], ring_fd, pages), 0);
        if (!s->per_cpu)
            assert_int_equal(ig_perf_redirect(fd, ring_fd), 0);
        s->ring_cpu[s->nrings++] = (int)cpu;
        s->fds[s->nfds++] = fd;
    }
    assert_true(s->nrings > 0);
    s->join = ig_spanjoin_new(0);
    s->delay_min = UINT64_MAX;
}

static void session_open(session *s, pid_t tid) { session_open_pages(s, tid, 64); }

static void on_label(void *ctx, const ig_spanbpf_label *l)
{
    session *s = ctx;
    ig_spanjoin_push(s->join, l); /* every event: the CPU's sequence */
    if (l->tgid == (uint32_t)s->target)
        s->labels += l->in_span;
    else
        s->foreign_events++;
}

typedef struct batch_item {
    ig_perf_sample ps;
    int cpu;
} batch_item;

static int by_time(const void *a, const void *b)
{
    const batch_item *x = a, *y = b;
    return x->ps.time < y->ps.time ? -1 : x->ps.time > y->ps.time;
}

/* One drain, in the recorder's order: ring heads, labels, samples by time. */
static void session_drain(session *s)
{
    for (size_t i = 0; i < s->nrings; i++)
        ig_ring_begin(&s->rings[i]);
    ig_spanbpf_drain(s->sb, on_label, s);
    batch_item *batch = NULL;
    size_t nb = 0, capb = 0;
    for (size_t i = 0; i < s->nrings; i++) {
        const struct perf_event_header *h;
        while ((h = ig_ring_next(&s->rings[i]))) {
            if (h->type == PERF_RECORD_LOST) {
                s->lost += ((const uint64_t *)(h + 1))[1];
                continue;
            }
            ig_perf_sample ps;
            if (h->type != PERF_RECORD_SAMPLE || ig_perf_parse_sample(h, &ps) != 0 || ps.pid != (uint32_t)s->target)
                continue;
            if (nb == capb) {
                capb = capb ? 2 * capb : 256;
                batch = realloc(batch, capb * sizeof *batch);
                assert_non_null(batch);
            }
            batch[nb++] = (batch_item){ps, s->ring_cpu[i]};
        }
        ig_ring_end(&s->rings[i]);
    }
    if (nb)
        qsort(batch, nb, sizeof *batch, by_time);
    for (size_t i = 0; i < nb; i++) {
        const ig_perf_sample *ps = &batch[i].ps;
        ig_spanjoin_sample q = {.cpu = (uint32_t)batch[i].cpu, .tid = ps->tid, .time = ps->time, .ip = ps->ip,
                                .period = ps->period};
        const ig_spanbpf_label *l = ig_spanjoin_take(s->join, &q);
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 1024;
            s->samples = realloc(s->samples, s->cap * sizeof *s->samples);
            assert_non_null(s->samples);
        }
        sample_rec *r = &s->samples[s->n++];
        *r = (sample_rec){.tid = ps->tid, .time = ps->time, .ip = ps->ip, .labelled = l != NULL};
        if (l) {
            r->l = *l;
            uint64_t d = l->time - ps->time;
            s->delay_min = d < s->delay_min ? d : s->delay_min;
            s->delay_max = d > s->delay_max ? d : s->delay_max;
        }
    }
    free(batch);
}

/* Drains every 50 ms until the child's stdout ends; returns its lines. */
static void session_run(session *s, child *c, char *lines, size_t cap)
{
    size_t used = 0;
    lines[0] = '\0';
    int fd = fileno(c->out);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, s->drain_ms ? s->drain_ms : 50);
        session_drain(s);
        if (r > 0) {
            char buf[512];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            if (used + (size_t)n < cap) {
                memcpy(lines + used, buf, (size_t)n);
                used += (size_t)n;
                lines[used] = '\0';
            }
        }
    }
    session_drain(s);
}

static void session_close(session *s)
{
    for (size_t i = 0; i < s->nrings; i++) {
        ig_ring_unmap(&s->rings[i]);
        if (!s->per_cpu)
            close(s->sinks[i]);
    }
    for (size_t i = 0; i < s->nfds; i++)
        close(s->fds[i]);
    ig_spanjoin_free(s->join);
    ig_spanbpf_free(s->sb);
    free(s->samples);
}

/* ---- ground truth ------------------------------------------------------------------ */

typedef struct span_truth {
    int tid;
    char name[16];
    uint8_t trace[16], span[8];
    uint64_t start, end;
} span_truth;

typedef struct func_range {
    const char *name;
    uint64_t lo, hi; /* runtime addresses */
} func_range;

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static span_truth *read_truth(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    span_truth *t = NULL;
    size_t cap = 0;
    *n = 0;
    char line[256], trace[40], span[24];
    while (fgets(line, sizeof line, f)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            t = realloc(t, cap * sizeof *t);
            assert_non_null(t);
        }
        span_truth *x = &t[*n];
        unsigned long long a, b;
        assert_int_equal(sscanf(line, "SPAN %d %15s %39s %23s %llu %llu", &x->tid, x->name, trace, span, &a, &b), 6);
        unhex(trace, x->trace, 16);
        unhex(span, x->span, 8);
        x->start = a;
        x->end = b;
        (*n)++;
    }
    fclose(f);
    return t;
}

/* work_* symbol ranges of the spanwork binary, moved to where it runs. */
static void work_ranges(const char *exe, uint64_t work_a_at, func_range *fr, size_t nfr)
{
    elf_version(EV_CURRENT);
    int fd = open(exe, O_RDONLY);
    assert_true(fd >= 0);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    assert_non_null(e);
    uint64_t value[8] = {0}, size[8] = {0}, a_value = 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && i < d->d_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(d, (int)i, &sym))
                continue;
            const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
            for (size_t k = 0; name && k < nfr; k++)
                if (!strcmp(name, fr[k].name)) {
                    value[k] = sym.st_value;
                    size[k] = sym.st_size;
                }
            if (name && !strcmp(name, "work_a"))
                a_value = sym.st_value;
        }
    }
    elf_end(e);
    close(fd);
    assert_true(a_value != 0);
    for (size_t k = 0; k < nfr; k++) {
        assert_true(size[k] > 0);
        fr[k].lo = value[k] - a_value + work_a_at;
        fr[k].hi = fr[k].lo + size[k];
    }
}

typedef struct verdict {
    size_t in_span, right, unlabelled, wrong, no_truth;
    size_t outside, outside_labelled;
} verdict;

static const span_truth *truth_at(const span_truth *t, size_t n, uint32_t tid, const char *name, uint64_t time)
{
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)t[i].tid == tid && !strcmp(t[i].name, name) && t[i].start <= time && time <= t[i].end)
            return &t[i];
    return NULL;
}

static verdict judge(const session *s, const func_range *fr, const span_truth *t, size_t nt)
{
    static const char *span_of[] = {"span-a", "span-b", "short", NULL}; /* by fr index */
    verdict v = {0};
    for (size_t i = 0; i < s->n; i++) {
        const sample_rec *r = &s->samples[i];
        int k = -1;
        for (int j = 0; j < 4; j++)
            if (r->ip >= fr[j].lo && r->ip < fr[j].hi)
                k = j;
        if (k < 0)
            continue; /* the clock check, libignis, the kernel: not judged */
        if (!span_of[k]) {
            v.outside++;
            v.outside_labelled += r->labelled;
            continue;
        }
        v.in_span++;
        const span_truth *want = truth_at(t, nt, r->tid, span_of[k], r->time);
        if (!want) {
            v.no_truth++;
            continue;
        }
        if (!r->labelled)
            v.unlabelled++;
        else if (!memcmp(r->l.span_id, want->span, 8) && !memcmp(r->l.trace_id, want->trace, 16) &&
                 !strcmp(r->l.name, span_of[k]))
            v.right++;
        else
            v.wrong++;
    }
    return v;
}

/* ---- the accuracy tests ------------------------------------------------------------- */

/* lossy: a one-page perf ring per CPU and a one-page event ring buffer, so
 * that samples and events are lost: the labels left must still be right. */
static void accuracy(bool per_cpu, bool lossy)
{
    /* lossy: drained every 250 ms, when a page holds ~30 events and ~40
     * samples of the ~250 taken meanwhile, so both rings overflow every
     * time (at 50 ms, whether they did depended on the machine's load) */
    session s = {.per_cpu = per_cpu, .drain_ms = lossy ? 250 : 0};
    ig_spanbpf_opts bo = {.ring_bytes = lossy ? 4096 : 0};
    s.sb = load_or_skip_opts(&bo);
    char exe[4200], logp[] = "/tmp/ignis-spanbpf-XXXXXX";
    snprintf(exe, sizeof exe, "%s/samples/spans/spanwork", g_build);
    int lfd = mkstemp(logp);
    assert_true(lfd >= 0);
    close(lfd);
    char *argv[] = {exe, "-l", logp, "-r", "10", "-t", "2", NULL};
    child c;
    child_start(&c, argv, NULL);
    char line[256];
    unsigned long long work_a_at = 0;
    int pid = 0;
    assert_non_null(fgets(line, sizeof line, c.out));
    assert_int_equal(sscanf(line, "READY pid=%d work_a=%llx", &pid, &work_a_at), 2);
    s.target = pid;
    ig_err err = {{0}};
    if (ig_spanbpf_add_process(s.sb, pid, &err) != 0)
        fail_msg("add_process: %s", err.msg);
    session_open_pages(&s, pid, lossy ? 1 : 64);
    assert_int_equal(write(c.in, "g", 1), 1);
    char out[4096];
    session_run(&s, &c, out, sizeof out);
    assert_int_equal(child_end(&c), 0);
    assert_non_null(strstr(out, "DONE"));

    size_t nt;
    span_truth *t = read_truth(logp, &nt);
    unlink(logp);
    assert_int_equal(nt, 2 * 10 * 22); /* 2 threads x 10 rounds x (a, b, 20 short) */
    func_range fr[4] = {{"work_a", 0, 0}, {"work_b", 0, 0}, {"work_short", 0, 0}, {"work_none", 0, 0}};
    work_ranges(exe, work_a_at, fr, 4);
    verdict v = judge(&s, fr, t, nt);
    ig_spanbpf_stats bs;
    ig_spanbpf_stats_get(s.sb, &bs);
    ig_spanjoin_stats js;
    ig_spanjoin_stats_get(s.join, &js);
    fprintf(stderr,
            "%s: %zu samples (%" PRIu64 " lost), %zu labels; in spans %zu: right %zu, unlabelled %zu, wrong %zu, "
            "no truth %zu; outside %zu: labelled %zu; label delay %" PRIu64 "..%" PRIu64 " ns; program: samples %" PRIu64
            " labelled %" PRIu64 " no_span %" PRIu64 " unreadable %" PRIu64 " dropped %" PRIu64 "; join: labelled %" PRIu64
            " outside %" PRIu64 " unlabelled %" PRIu64 " skipped %" PRIu64 "\n",
            lossy ? "lossy rings" : per_cpu ? "per-CPU events" : "inherited per-thread events", s.n, s.lost, s.labels, v.in_span, v.right,
            v.unlabelled, v.wrong, v.no_truth, v.outside, v.outside_labelled, s.delay_min, s.delay_max, bs.samples,
            bs.labelled, bs.no_span, bs.unreadable, bs.dropped, js.labelled, js.outside, js.unlabelled, js.skipped);
    assert_int_equal(v.no_truth, 0);     /* the log covers every in-span sample */
    assert_int_equal(v.wrong, 0);        /* never another span's label */
    assert_int_equal(v.outside_labelled, 0);
    if (lossy) { /* what got through is right; the rest is unlabelled, never wrong */
        assert_true(s.lost > 0 || bs.dropped > 0);
        assert_true(v.right > 0);
    } else {
        assert_true(v.in_span >= 300); /* ~500 ms of CPU in spans at 999 Hz */
        assert_true(v.outside >= 100); /* ~280 ms outside */
        assert_true(v.right * 100 >= v.in_span * 99);
    }
    free(t);
    session_close(&s);
}

static void test_accuracy_inherited_events(void **state)
{
    (void)state;
    accuracy(false, false);
}

static void test_accuracy_per_cpu_events(void **state)
{
    (void)state;
    accuracy(true, false);
}

static void test_lossy_rings(void **state)
{
    (void)state;
    accuracy(false, true);
}

/* ---- processes that must not be labelled ------------------------------------------ */

static void test_exec_into_fake_records(void **state)
{
    (void)state;
    session s = {.per_cpu = false};
    s.sb = load_or_skip();
    char exe[4200], fake[4200], logp[] = "/tmp/ignis-spanbpf-XXXXXX";
    snprintf(exe, sizeof exe, "%s/samples/spans/spanwork", g_build);
    snprintf(fake, sizeof fake, "%s/samples/spans/spanfake", g_build);
    int lfd = mkstemp(logp);
    assert_true(lfd >= 0);
    close(lfd);
    char *argv[] = {exe, "-l", logp, "-r", "2", "-t", "1", "-x", fake, NULL};
    child c;
    child_start(&c, argv, NULL);
    char line[256];
    unsigned long long work_a_at;
    int pid = 0;
    assert_non_null(fgets(line, sizeof line, c.out));
    assert_int_equal(sscanf(line, "READY pid=%d work_a=%llx", &pid, &work_a_at), 2);
    s.target = pid;
    /* spanfake's fake pointers cover 32 KiB below the thread pointer */
    ig_spanctx *ctx;
    ig_err err = {{0}};
    int64_t off = 0;
    assert_int_equal(ig_spanctx_open(pid, &ctx, &err), 0);
    assert_int_equal(ig_spanctx_tls_offset(ctx, &off, &err), 0);
    ig_spanctx_free(ctx);
    assert_true(off < 0 && off >= -32768);
    if (ig_spanbpf_add_process(s.sb, pid, &err) != 0)
        fail_msg("add_process: %s", err.msg);
    session_open(&s, pid);
    assert_int_equal(write(c.in, "g", 1), 1);
    char out[4096];
    session_run(&s, &c, out, sizeof out);
    assert_int_equal(child_end(&c), 0);
    unlink(logp);
    assert_non_null(strstr(out, "DONE"));
    assert_non_null(strstr(out, "FAKE")); /* the exec happened, and the fake spun */

    size_t fake_labels = 0, labelled = 0;
    uint8_t fake_id[8];
    memset(fake_id, 0x66, sizeof fake_id);
    for (size_t i = 0; i < s.n; i++) {
        labelled += s.samples[i].labelled;
        fake_labels += s.samples[i].labelled && !memcmp(s.samples[i].l.span_id, fake_id, 8);
    }
    ig_spanbpf_stats bs;
    ig_spanbpf_stats_get(s.sb, &bs);
    fprintf(stderr,
            "exec: %zu samples, %zu labelled, %zu fake; program: samples %" PRIu64 " labelled %" PRIu64
            " no_span %" PRIu64 " stale %" PRIu64 " unreadable %" PRIu64 "; offset %" PRId64 "\n",
            s.n, labelled, fake_labels, bs.samples, bs.labelled, bs.no_span, bs.stale, bs.unreadable, off);
    assert_true(labelled > 0);       /* spanwork's spans were labelled */
    assert_int_equal(fake_labels, 0); /* spanfake's records never */
    assert_true(bs.stale > 0);        /* the program saw the new image */
    session_close(&s);
}

static void test_process_without_libignis(void **state)
{
    (void)state;
    session s = {.per_cpu = false};
    s.sb = load_or_skip();
    char fake[4200];
    snprintf(fake, sizeof fake, "%s/samples/spans/spanfake", g_build);
    char *argv[] = {fake, "-m", "200", NULL};
    child c;
    child_start(&c, argv, NULL);
    s.target = c.pid;
    session_open(&s, c.pid); /* fake records and all */
    char line[64];
    assert_non_null(fgets(line, sizeof line, c.out));
    assert_string_equal(line, "FAKE\n");
    ig_err err = {{0}};
    assert_int_equal(ig_spanbpf_add_process(s.sb, c.pid, &err), -1);
    assert_non_null(strstr(err.msg, "publishes no OpenTelemetry process context"));
    char out[256];
    session_run(&s, &c, out, sizeof out);
    assert_int_equal(child_end(&c), 0);
    size_t labelled = 0;
    for (size_t i = 0; i < s.n; i++)
        labelled += s.samples[i].labelled;
    assert_true(s.n >= 50);
    assert_int_equal(labelled, 0);
    assert_int_equal(s.labels, 0);
    session_close(&s);
}

static void test_publishing_off(void **state)
{
    (void)state;
    ig_spanbpf *sb = load_or_skip();
    char exe[4200], logp[] = "/tmp/ignis-spanbpf-XXXXXX";
    snprintf(exe, sizeof exe, "%s/samples/spans/spanwork", g_build);
    char *argv[] = {exe, "-l", logp, NULL};
    child c;
    child_start(&c, argv, "IGNIS_THREAD_CONTEXT=0");
    char line[256];
    assert_non_null(fgets(line, sizeof line, c.out));
    ig_err err = {{0}};
    assert_int_equal(ig_spanbpf_add_process(sb, c.pid, &err), -1);
    assert_non_null(strstr(err.msg, "OTEL_CTX"));
    assert_int_equal(child_end(&c), 3); /* stdin closed before 'g' */
    ig_spanbpf_free(sb);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_not_permitted(void **state)
{
    (void)state;
    ig_err err = {{0}};
    if (getuid() != 0) { /* can only be checked as it is */
        ig_spanbpf *sb = ig_spanbpf_new(&err);
        if (sb) {
            ig_spanbpf_free(sb);
            skip(); /* permitted without root (CAP_BPF + CAP_PERFMON) */
        }
        assert_non_null(strstr(err.msg, "span labels need BPF"));
        return;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* nobody, without capabilities */
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        ig_spanbpf *sb = ig_spanbpf_new(&err);
        if (sb)
            _exit(2);
        printf("%s\n", err.msg);
        fflush(stdout);
        _exit(strstr(err.msg, "not permitted") && strstr(err.msg, "CAP_BPF") && !strchr(err.msg, '\n') ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_missing_btf(void **state)
{
    (void)state;
    ig_err err = {{0}};
    ig_spanbpf_opts o = {.btf_path = "/nonexistent/vmlinux"};
    assert_null(ig_spanbpf_new_opts(&o, &err));
    assert_non_null(strstr(err.msg, "kernel BTF /nonexistent/vmlinux"));
    assert_non_null(strstr(err.msg, "CONFIG_DEBUG_INFO_BTF"));

    char junk[] = "/tmp/ignis-btf-XXXXXX";
    int fd = mkstemp(junk);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not BTF at all", 14), 14);
    close(fd);
    o.btf_path = junk;
    memset(&err, 0, sizeof err);
    ig_spanbpf *sb = ig_spanbpf_new_opts(&o, &err);
    unlink(junk);
    if (sb) {
        ig_spanbpf_free(sb);
        fail_msg("loaded with a junk BTF file");
    }
    fprintf(stderr, "junk BTF: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "span labels need BPF"));
    assert_null(strchr(err.msg, '\n'));
}

/* The kernel field offsets are found in the kernel's BTF once per boot and
 * cached (no CO-RE: a load must not parse the 5 MB BTF every time): a load
 * with a cache directory writes them; a later one reads them (the same
 * for the same boot); a
 * damaged entry is found again and rewritten. */
static void test_offsets_cache(void **state)
{
    (void)state;
    char dir[] = "/tmp/ignis-spanbpf-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    ig_spanbpf_opts o = {.cache_dir = dir};
    ig_spanbpf *sb = load_or_skip_opts(&o);
    ig_spanbpf_free(sb);
    char boot[64] = "", path[512], line[256] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    assert_non_null(f);
    assert_non_null(fgets(boot, sizeof boot, f));
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(path, sizeof path, "%s/spanbpf/%s.offsets", dir, boot);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    unsigned v[5];
    assert_int_equal(sscanf(line, "ignis-spanbpf-offsets 1 %u %u %u %u %u", &v[0], &v[1], &v[2], &v[3], &v[4]), 5);
    /* damaged: found again, rewritten, the load succeeds */
    f = fopen(path, "we");
    assert_non_null(f);
    fputs("ignis-spanbpf-offsets 1 3 5 7\n", f);
    fclose(f);
    ig_err err = {{0}};
    sb = ig_spanbpf_new_opts(&o, &err);
    assert_non_null(sb);
    ig_spanbpf_free(sb);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    unsigned w[5];
    assert_int_equal(sscanf(line, "ignis-spanbpf-offsets 1 %u %u %u %u %u", &w[0], &w[1], &w[2], &w[3], &w[4]), 5);
    assert_memory_equal(v, w, sizeof v);
    unlink(path);
    snprintf(path, sizeof path, "%s/spanbpf", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const char *b = getenv("IGNIS_BUILD");
    snprintf(g_build, sizeof g_build, "%s", b && *b ? b : "build");
    char exe[4200];
    snprintf(exe, sizeof exe, "%s/samples/spans/spanwork", g_build);
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "test_spanbpf: %s not built\n", exe);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *only = getenv("SPANBPF_TEST_FILTER"); /* t_spanbpf_pidns.sh */
    if (only && *only)
        cmocka_set_test_filter(only);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_event),
        cmocka_unit_test(test_join_in_step),
        cmocka_unit_test(test_switch_join),
        cmocka_unit_test(test_join_lost_samples_and_events),
        cmocka_unit_test(test_join_checks),
        cmocka_unit_test(test_join_capacity),
        cmocka_unit_test(test_accuracy_inherited_events),
        cmocka_unit_test(test_accuracy_per_cpu_events),
        cmocka_unit_test(test_lossy_rings),
        cmocka_unit_test(test_exec_into_fake_records),
        cmocka_unit_test(test_process_without_libignis),
        cmocka_unit_test(test_publishing_off),
        cmocka_unit_test(test_not_permitted),
        cmocka_unit_test(test_missing_btf),
        cmocka_unit_test(test_offsets_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
