/*
 * tests/trace/test_fork.c — fork() while the export thread is in the
 * middle of an export (held at the collector's gate) with spans queued.
 * The child must start with an empty queue, get its own export thread,
 * export only its own spans and shut down; the parent must not deadlock
 * and still deliver everything it had.  The child reports through its
 * exit status; the parent waits with waitpid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#include <sys/wait.h>
#include <unistd.h>

static int forked_child;

static void collector_after_fork(ig_exporter *e)
{
    collector *c = (collector *)e;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->block = false;
    c->in_export = false;
    c->n = 0;
    forked_child++;
}

/* process.pid of an exported span's resource (-1 if absent). */
static int64_t resource_pid(const ig_resource *r)
{
    for (size_t i = 0; r && i < r->nattrs; i++)
        if (!strcmp(r->attrs[i].key, "process.pid") && r->attrs[i].type == IG_ATTR_INT)
            return r->attrs[i].v.i;
    return -1;
}

static int child_main(collector *c, ignis_tracer_provider *tp, ignis_tracer *t, const uint8_t parent_trace[16])
{
    if (forked_child != 1)
        return 10;
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    ignis_span *s = ignis_span_start(t, "child-span", NULL);
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    ignis_span_end(s, 0);
    if (memcmp(sc.trace_id, parent_trace, 16) == 0)
        return 11; /* the child must reseed its id generator */
    if (ignis_tracer_provider_shutdown(tp, 20000) != 0)
        return 12;
    if (c->n != 1 || strcmp(c->spans[0].name, "child-span") != 0)
        return 13; /* only its own span, none of the parent's queue */
    if (resource_pid(c->spans[0].resource) != (int64_t)getpid())
        return 14; /* the child's spans carry the child's process.pid */
    return 0;
}

/* TSan cannot run threads in a child forked from a threaded process. */
#if defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_TSAN() skip()
#else
#define SKIP_UNDER_TSAN() ((void)0)
#endif

static void fork_mid_export(void **st)
{
    (void)st;
    SKIP_UNDER_TSAN();
    collector c;
    collector_init(&c);
    c.block = true;
    c.base.after_fork_child = collector_after_fork;
    ignis_provider_options o;
    test_options(&o, false);
    o.batch.schedule_delay_ms = 600000;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &c.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "fork", NULL, NULL, 0);
    ignis_span *s = ignis_span_start(t, "parent-in-export", NULL);
    ignis_span_context psc;
    ignis_span_get_context(s, &psc);
    ignis_span_end(s, 0);
    ignis_tracer_provider_force_flush(tp, 0);
    assert_true(collector_wait_in_export(&c)); /* export thread held mid-export */
    for (int i = 0; i < 3; i++) {
        s = ignis_span_start(t, "parent-queued", NULL);
        ignis_span_end(s, 0);
    }
    /* the next random ids the parent would draw: the child must differ */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_main(&c, tp, t, psc.trace_id));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the parent carries on */
    collector_open_gate(&c);
    assert_int_equal(ignis_tracer_provider_force_flush(tp, 20000), 0);
    assert_int_equal(c.n, 4);
    s = ignis_span_start(t, "parent-after", NULL);
    ignis_span_end(s, 0);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(resource_pid(c.spans[4].resource), (int64_t)getpid());
    assert_int_equal(forked_child, 0);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

/* fork before the export thread ever started, and fork twice in a row */
static void fork_twice_idle(void **st)
{
    (void)st;
    SKIP_UNDER_TSAN();
    collector c;
    collector_init(&c);
    c.base.after_fork_child = collector_after_fork;
    ignis_provider_options o;
    test_options(&o, false);
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &c.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "fork", NULL, NULL, 0);
    uint8_t none[16] = {0};
    for (int round = 0; round < 2; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_main(&c, tp, t, none));
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        ignis_span *s = ignis_span_start(t, "parent", NULL);
        ignis_span_end(s, 0);
    }
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    assert_int_equal(c.n, 2);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

/* The documented balance once shutdown returned. */
static bool balanced(const ignis_trace_counters *k)
{
    return k->spans_sampled == k->spans_exported + k->spans_dropped + k->export_failures + k->export_rejected;
}

/* The child of fork_counters_are_per_process: its counters start at zero,
 * the parent's span it inherited in flight is the parent's (ending the
 * copy exports and counts nothing), and its own two spans balance.  It
 * sends the ids of its first span through the pipe. */
static int counting_child(collector *c, ignis_tracer_provider *tp, ignis_tracer *t, ignis_span *inherited, int wfd)
{
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    if (k.spans_started || k.spans_sampled || k.spans_ended || k.spans_exported || k.spans_dropped ||
        k.export_failures || k.export_rejected || k.export_retries)
        return 20; /* the parent's totals leaked into the child */
    ignis_span_end(inherited, 0);
    for (int i = 0; i < 2; i++) {
        ignis_span *s = ignis_span_start(t, "child-own", NULL);
        if (i == 0) {
            ignis_span_context sc;
            ignis_span_get_context(s, &sc);
            uint8_t ids[24];
            memcpy(ids, sc.trace_id, 16);
            memcpy(ids + 16, sc.span_id, 8);
            if (write(wfd, ids, sizeof ids) != (ssize_t)sizeof ids)
                return 21;
        }
        ignis_span_end(s, 0);
    }
    if (ignis_tracer_provider_force_flush(tp, 20000) != 0)
        return 22;
    if (ignis_tracer_provider_shutdown(tp, 20000) != 0)
        return 23;
    ignis_tracer_provider_counters(tp, &k);
    if (k.spans_started != 2 || k.spans_sampled != 2 || k.spans_ended != 2)
        return 24;
    if (k.spans_exported != 2 || !balanced(&k))
        return 25;
    if (c->n != 2 || strcmp(c->spans[0].name, "child-own") || strcmp(c->spans[1].name, "child-own"))
        return 26; /* neither the parent's queue nor its span in flight */
    return 0;
}

/* fork() with spans queued, one in the export held at the gate and one
 * not ended yet: each process counts its own spans and both balance; the
 * ids each draws after the fork differ. */
static void fork_counters_are_per_process(void **st)
{
    (void)st;
    SKIP_UNDER_TSAN();
    collector c;
    collector_init(&c);
    c.block = true;
    c.base.after_fork_child = collector_after_fork;
    ignis_provider_options o;
    test_options(&o, false);
    o.batch.schedule_delay_ms = 600000;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &c.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "fork", NULL, NULL, 0);
    ignis_span_end(ignis_span_start(t, "parent-in-export", NULL), 0);
    ignis_tracer_provider_force_flush(tp, 0);
    assert_true(collector_wait_in_export(&c));
    for (int i = 0; i < 3; i++)
        ignis_span_end(ignis_span_start(t, "parent-queued", NULL), 0);
    ignis_span *live = ignis_span_start(t, "parent-live", NULL);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(counting_child(&c, tp, t, live, fds[1]));
    }
    close(fds[1]);
    ignis_span *mine = ignis_span_start(t, "parent-after-fork", NULL);
    ignis_span_context sc;
    ignis_span_get_context(mine, &sc);
    uint8_t child_ids[24];
    ssize_t got = read(fds[0], child_ids, sizeof child_ids);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(got, (ssize_t)sizeof child_ids);
    assert_memory_not_equal(child_ids, sc.trace_id, 16); /* each process reseeded its ids */
    assert_memory_not_equal(child_ids + 16, sc.span_id, 8);
    ignis_span_end(mine, 0);
    ignis_span_end(live, 0);
    collector_open_gate(&c);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 20000), 0);
    ignis_trace_counters k;
    ignis_tracer_provider_counters(tp, &k);
    assert_int_equal(k.spans_started, 6);
    assert_int_equal(k.spans_sampled, 6);
    assert_int_equal(k.spans_exported, 6);
    assert_true(balanced(&k));
    assert_int_equal(c.n, 6);
    ignis_tracer_provider_free(tp);
    collector_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(fork_mid_export), cmocka_unit_test(fork_twice_idle),
                                       cmocka_unit_test(fork_counters_are_per_process)};
    return cmocka_run_group_tests_name("trace_fork", tests, NULL, NULL);
}
