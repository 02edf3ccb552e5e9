/*
 * tests/trace/test_w3c.c — W3C Trace Context vectors (traceparent and
 * tracestate), modelled on the cases of the W3C trace-context test suite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define SID "b7ad6b7169203331"

static bool tp_valid(const char *s, uint8_t *flags)
{
    ig_remote r;
    int rc = ig_traceparent_parse(s, strlen(s), &r);
    if (flags)
        *flags = r.flags;
    return rc == 0 && r.valid;
}

static void traceparent_valid(void **st)
{
    (void)st;
    uint8_t f;
    ig_remote r;
    assert_int_equal(ig_traceparent_parse("00-" TID "-" SID "-01", 55, &r), 0);
    char hex[33];
    ig_hex_encode(r.trace_id, 16, hex);
    assert_string_equal(hex, TID);
    ig_hex_encode(r.span_id, 8, hex);
    assert_string_equal(hex, SID);
    assert_int_equal(r.flags, 1);
    assert_true(tp_valid("00-" TID "-" SID "-00", &f));
    assert_int_equal(f, 0);
    assert_true(tp_valid("00-" TID "-" SID "-09", &f)); /* unknown bits ignored */
    assert_int_equal(f, 1);
    assert_true(tp_valid("00-" TID "-" SID "-08", &f));
    assert_int_equal(f, 0);
    assert_true(tp_valid("  00-" TID "-" SID "-01\t", &f)); /* OWS trimmed */
    /* future versions: more fields after a dash are allowed */
    assert_true(tp_valid("cc-" TID "-" SID "-01-what-the-future-will-be-like", &f));
    assert_int_equal(f, 1);
    assert_true(tp_valid("01-" TID "-" SID "-01", &f));
    assert_true(tp_valid("fe-" TID "-" SID "-00-", &f));
}

static void traceparent_invalid(void **st)
{
    (void)st;
    const char *bad[] = {
        "",
        "00",
        "ff-" TID "-" SID "-01",                               /* version ff */
        "00-" TID "-" SID "-01-",                              /* version 00 with extra */
        "00-" TID "-" SID "-01-extra",
        "00-" TID "-" SID "-010",
        "cc-" TID "-" SID "-01what",                           /* future version, no dash */
        "00-0AF7651916CD43DD8448EB211C80319C-" SID "-01",      /* uppercase trace id */
        "00-" TID "-B7AD6B7169203331-01",                      /* uppercase span id */
        "0A-" TID "-" SID "-01",                               /* uppercase version */
        "00-" TID "-" SID "-0A",                               /* uppercase flags */
        "00-00000000000000000000000000000000-" SID "-01",      /* zero trace id */
        "00-" TID "-0000000000000000-01",                      /* zero span id */
        "00-0af7651916cd43dd8448eb211c80319-" SID "-01",       /* 31 hex */
        "00-0af7651916cd43dd8448eb211c80319c0-" SID "-01",     /* 33 hex */
        "00-" TID "-b7ad6b716920333-01",                       /* 15 hex */
        "00-" TID "-b7ad6b71692033311-01",                     /* 17 hex */
        "00-" TID "-" SID "-1",                                /* 1 flag digit */
        "0-" TID "-" SID "-01",                                /* 1 version digit */
        "00_" TID "_" SID "_01",                               /* wrong delimiter */
        "00-0af7651916cd43dd8448eb211c80319g-" SID "-01",      /* non-hex */
        "00-" TID "-b7ad6b716920333.-01",
        "00-" TID "-" SID "-0g",
        "gg-" TID "-" SID "-01",
        "00 -" TID "-" SID "-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (tp_valid(bad[i], NULL))
            fail_msg("accepted invalid traceparent \"%s\"", bad[i]);
    }
}

static char *ts(const char *s, bool *invalid) { return ig_tracestate_parse(s, strlen(s), invalid); }

static void tracestate_valid(void **st)
{
    (void)st;
    bool inv;
    char *v = ts("foo=1,bar=2", &inv);
    assert_false(inv);
    assert_string_equal(v, "foo=1,bar=2");
    free(v);
    v = ts("  foo=1 ,\t, bar=ba r  ", &inv); /* OWS, empty members, inner space */
    assert_false(inv);
    assert_string_equal(v, "foo=1,bar=ba r");
    free(v);
    v = ts("tenant1@sys=x,1abc@z-_*/=y,a-_*/09=z", &inv);
    assert_false(inv);
    assert_string_equal(v, "tenant1@sys=x,1abc@z-_*/=y,a-_*/09=z");
    free(v);
    v = ts("", &inv);
    assert_null(v);
    assert_false(inv);
    /* exactly 32 members */
    char buf[1024] = "";
    for (int i = 0; i < 32; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sk%d=v", i ? "," : "", i);
    v = ts(buf, &inv);
    assert_false(inv);
    assert_non_null(v);
    free(v);
    /* key of 256 chars and value of 256 chars */
    char big[600];
    memset(big, 'a', 256);
    big[256] = '=';
    memset(big + 257, 'b', 256);
    big[513] = '\0';
    v = ts(big, &inv);
    assert_false(inv);
    free(v);
}

static void tracestate_invalid(void **st)
{
    (void)st;
    const char *bad[] = {
        "Foo=1",          /* uppercase key */
        "1foo=1",         /* simple key must start with a letter */
        "foo bar=1",      /* space in key */
        "=1",             /* empty key */
        "foo=",           /* empty value */
        "foo=a=b",        /* '=' in value */
        "foo=1,foo=2",    /* duplicate key */
        "foo",            /* no '=' */
        "t@SYS=1",        /* uppercase system id */
        "t@s123456789012345=1", /* system id longer than 14 */
        "@s=1",           /* empty tenant */
        "t@=1",           /* empty system */
        "foo=\x01",       /* control character */
        "foo=\xc3\xa9",   /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bool inv;
        char *v = ts(bad[i], &inv);
        if (v || !inv)
            fail_msg("accepted invalid tracestate \"%s\"", bad[i]);
    }
    char buf[1024] = "";
    for (int i = 0; i < 33; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sk%d=v", i ? "," : "", i);
    bool inv;
    assert_null(ts(buf, &inv));
    assert_true(inv);
    char big[600];
    memset(big, 'a', 257); /* 257-char key */
    big[257] = '=';
    big[258] = 'v';
    big[259] = '\0';
    assert_null(ts(big, &inv));
    assert_true(inv);
    memset(big, 'b', 300); /* 257-char value */
    memcpy(big, "k=", 2);
    big[259] = '\0';
    assert_null(ts(big, &inv));
    assert_true(inv);
}

/* ---- through the carrier ---------------------------------------------------------- */

static void extract_and_inject(void **st)
{
    (void)st;
    hdrs in = {{"traceparent", "tracestate"}, {"00-" TID "-" SID "-01", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}, 2};
    ignis_carrier c = {&in, hget, hset};
    ignis_context *ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT, NULL, &c);
    ignis_span_context sc;
    assert_true(ignis_context_span_context(ctx, &sc));
    assert_true(sc.is_remote);
    assert_int_equal(sc.trace_flags, 1);
    assert_string_equal(sc.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    /* a child span continues the trace, keeps tracestate, has the remote parent */
    collector col;
    collector_init(&col);
    ignis_provider_options o;
    test_options(&o, true);
    o.sampler = IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &col.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "w3c", NULL, NULL, 0);
    ignis_span *s = ignis_span_start(t, "child", &(ignis_span_options){.parent_mode = IGNIS_PARENT_CONTEXT, .parent_context = ctx});
    assert_true(ignis_span_is_recording(s)); /* remote sampled parent */
    hdrs out = {0};
    ignis_carrier oc = {&out, hget, hset};
    ignis_context *sctx = ignis_context_with_span(NULL, s);
    ignis_inject_with(IGNIS_PROPAGATE_TRACECONTEXT, sctx, &oc);
    ignis_span_context child;
    ignis_span_get_context(s, &child);
    char sid[17], want[64];
    ignis_span_id_hex(child.span_id, sid);
    snprintf(want, sizeof want, "00-" TID "-%s-01", sid);
    assert_string_equal(hfind(&out, "traceparent"), want);
    assert_string_equal(hfind(&out, "tracestate"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    ignis_context_release(sctx);
    ignis_span_end(s, 0);
    assert_int_equal(collector_wait(&col, 1), 1);
    assert_true(col.spans[0].has_parent);
    assert_true(col.spans[0].parent_remote);
    char pid[17];
    ig_hex_encode(col.spans[0].parent, 8, pid);
    assert_string_equal(pid, SID);
    ignis_context_release(ctx);

    /* valid traceparent + invalid tracestate: tracestate dropped only */
    hdrs in2 = {{"traceparent", "tracestate"}, {"00-" TID "-" SID "-00", "BAD=1"}, 2};
    c.arg = &in2;
    ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT, NULL, &c);
    assert_true(ignis_context_span_context(ctx, &sc));
    assert_null(sc.tracestate);
    assert_int_equal(sc.trace_flags, 0);
    /* parentbased: an unsampled remote parent gives a non-recording child */
    s = ignis_span_start(t, "unsampled", &(ignis_span_options){.parent_mode = IGNIS_PARENT_CONTEXT, .parent_context = ctx});
    assert_false(ignis_span_is_recording(s));
    ignis_span_get_context(s, &child);
    assert_memory_equal(child.trace_id, sc.trace_id, 16);
    assert_int_equal(child.trace_flags, 0);
    ignis_span_end(s, 0);
    ignis_context_release(ctx);

    /* invalid traceparent: nothing extracted, tracestate ignored */
    hdrs in3 = {{"traceparent", "tracestate"}, {"00-" TID "-" SID "-01-", "a=1"}, 2};
    c.arg = &in3;
    ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT, NULL, &c);
    assert_false(ignis_context_span_context(ctx, &sc));
    /* and injecting an empty context writes nothing */
    hdrs out2 = {0};
    oc.arg = &out2;
    ignis_inject_with(IGNIS_PROPAGATE_TRACECONTEXT, ctx, &oc);
    assert_int_equal(out2.nset, 0);
    ignis_context_release(ctx);
    ignis_tracer_provider_free(tp);
    assert_int_equal(col.destroyed, 1);
    collector_fini(&col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(traceparent_valid),   cmocka_unit_test(traceparent_invalid),
        cmocka_unit_test(tracestate_valid),    cmocka_unit_test(tracestate_invalid),
        cmocka_unit_test(extract_and_inject),
    };
    return cmocka_run_group_tests_name("trace_w3c", tests, NULL, NULL);
}
