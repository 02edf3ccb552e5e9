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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(fork_mid_export), cmocka_unit_test(fork_twice_idle)};
    return cmocka_run_group_tests_name("trace_fork", tests, NULL, NULL);
}
