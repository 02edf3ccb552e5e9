/*
 * tests/trace/test_b3.c — B3 single/multi vectors, OTEL_PROPAGATORS
 * selection, composite extraction order and the header-line helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

#define T32 "80f198ee56343ba864fe8b2a57d3eff7"
#define T16 "a3ce929d0e0e4736"
#define S16 "e457b5a2e4d86bd1"
#define P16 "05e3ac9a4f6e3b90"

static bool single_ok(const char *s, ig_remote *r) { return ig_b3_parse_single(s, strlen(s), r) == 0; }

static void b3_single_vectors(void **st)
{
    (void)st;
    ig_remote r;
    char hex[33];
    assert_true(single_ok(T32 "-" S16 "-1-" P16, &r));
    ig_hex_encode(r.trace_id, 16, hex);
    assert_string_equal(hex, T32);
    ig_hex_encode(r.span_id, 8, hex);
    assert_string_equal(hex, S16);
    assert_int_equal(r.flags, 1);
    assert_true(single_ok(T32 "-" S16, &r)); /* deferred: not sampled */
    assert_int_equal(r.flags, 0);
    assert_true(single_ok(T32 "-" S16 "-0", &r));
    assert_int_equal(r.flags, 0);
    assert_true(single_ok(T32 "-" S16 "-d", &r)); /* debug implies sampled */
    assert_int_equal(r.flags, 1);
    assert_true(single_ok(T16 "-" S16 "-1", &r)); /* 64-bit trace id, left-padded */
    ig_hex_encode(r.trace_id, 16, hex);
    assert_string_equal(hex, "0000000000000000" T16);
    const char *bad[] = {
        "", "0", "1", "d",                          /* sampling-only: no context */
        T32 "-" S16 "-2",                           /* bad sampling state */
        T32 "-" S16 "-1-" P16 "-x",                 /* too many fields */
        T32 "-" S16 "-1-05e3ac9a4f6e3b9",           /* short parent id */
        "80F198EE56343BA864FE8B2A57D3EFF7-" S16 "-1", /* uppercase */
        T32 "-e457b5a2e4d86bd",                     /* short span id */
        "80f198ee56343ba864fe8b2a57d3eff-" S16,     /* 31 hex */
        "00000000000000000000000000000000-" S16 "-1", /* zero trace id */
        T32 "-0000000000000000-1",                  /* zero span id */
        T32 "-" S16 "-",                            /* empty sampling */
        T32 "-" S16 "-11",
        T32 "--" S16,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (single_ok(bad[i], &r))
            fail_msg("accepted invalid b3 \"%s\"", bad[i]);
}

static void b3_multi_vectors(void **st)
{
    (void)st;
    ig_remote r;
    assert_int_equal(ig_b3_parse_multi(T32, S16, "1", NULL, &r), 0);
    assert_int_equal(r.flags, 1);
    assert_int_equal(ig_b3_parse_multi(T16, S16, "0", NULL, &r), 0);
    assert_int_equal(r.flags, 0);
    assert_int_equal(ig_b3_parse_multi(T32, S16, "true", NULL, &r), 0);
    assert_int_equal(r.flags, 1);
    assert_int_equal(ig_b3_parse_multi(T32, S16, "false", NULL, &r), 0);
    assert_int_equal(r.flags, 0);
    assert_int_equal(ig_b3_parse_multi(T32, S16, NULL, "1", &r), 0); /* debug flag */
    assert_int_equal(r.flags, 1);
    assert_int_equal(ig_b3_parse_multi(T32, S16, "0", "1", &r), 0); /* debug wins */
    assert_int_equal(r.flags, 1);
    assert_int_equal(ig_b3_parse_multi(T32, S16, NULL, NULL, &r), 0);
    assert_int_equal(r.flags, 0);
    assert_int_equal(ig_b3_parse_multi(NULL, S16, "1", NULL, &r), -1);
    assert_int_equal(ig_b3_parse_multi(T32, NULL, "1", NULL, &r), -1);
    assert_int_equal(ig_b3_parse_multi(T32, S16, "yes", NULL, &r), -1);
    assert_int_equal(ig_b3_parse_multi(T32, S16, "1", "2", &r), -1);
    assert_int_equal(ig_b3_parse_multi("xyz", S16, "1", NULL, &r), -1);
    assert_int_equal(ig_b3_parse_multi(T32, "E457B5A2E4D86BD1", "1", NULL, &r), -1);
}

/* ---- carrier ------------------------------------------------------------------- */

static void b3_extract_inject(void **st)
{
    (void)st;
    unsigned b3 = IGNIS_PROPAGATE_B3 | IGNIS_PROPAGATE_B3MULTI;
    /* single wins over multi */
    hdrs in = {{"b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled"},
               {T32 "-" S16 "-d", "11111111111111111111111111111111", "2222222222222222", "0"}, 4};
    ignis_carrier c = {&in, hget, hset};
    ignis_context *ctx = ignis_extract_with(b3, NULL, &c);
    ignis_span_context sc;
    assert_true(ignis_context_span_context(ctx, &sc));
    char hex[33];
    ignis_trace_id_hex(sc.trace_id, hex);
    assert_string_equal(hex, T32);
    assert_int_equal(sc.trace_flags, 1);
    ignis_context_release(ctx);
    /* an invalid single header falls back to multi */
    in.v[0] = "garbage";
    ctx = ignis_extract_with(b3, NULL, &c);
    assert_true(ignis_context_span_context(ctx, &sc));
    ignis_trace_id_hex(sc.trace_id, hex);
    assert_string_equal(hex, "11111111111111111111111111111111");
    assert_int_equal(sc.trace_flags, 0);
    /* inject: b3 single and multi, never a parent span id */
    hdrs out = {0};
    ignis_carrier oc = {&out, hget, hset};
    ignis_inject_with(b3, ctx, &oc);
    assert_string_equal(hfind(&out, "b3"), "11111111111111111111111111111111-2222222222222222-0");
    assert_string_equal(hfind(&out, "X-B3-TraceId"), "11111111111111111111111111111111");
    assert_string_equal(hfind(&out, "X-B3-SpanId"), "2222222222222222");
    assert_string_equal(hfind(&out, "X-B3-Sampled"), "0");
    assert_null(hfind(&out, "X-B3-ParentSpanId"));
    assert_int_equal(out.nset, 4);
    ignis_context_release(ctx);
    /* a child span of a B3 parent: injected with its own span id, no parent */
    collector col;
    collector_init(&col);
    ignis_provider_options o;
    test_options(&o, true);
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &col.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "b3", NULL, NULL, 0);
    in.v[0] = T16 "-" S16 "-1-" P16;
    ctx = ignis_extract_with(b3, NULL, &c);
    ignis_scope scope = ignis_context_attach(ctx);
    ignis_span *s = ignis_span_start(t, "child", NULL);
    ignis_scope s2 = ignis_span_make_current(s);
    hdrs out2 = {0};
    oc.arg = &out2;
    ignis_inject_with(IGNIS_PROPAGATE_B3, NULL, &oc); /* NULL: the current context */
    ignis_span_get_context(s, &sc);
    char sid[17], want[80];
    ignis_span_id_hex(sc.span_id, sid);
    snprintf(want, sizeof want, "0000000000000000" T16 "-%s-1", sid);
    assert_string_equal(hfind(&out2, "b3"), want);
    ignis_scope_end(s2);
    ignis_span_end(s, 0);
    ignis_scope_end(scope);
    ignis_context_release(ctx);
    ignis_tracer_provider_free(tp);
    ignis_span_id_hex(col.spans[0].parent, sid);
    assert_string_equal(sid, S16);
    collector_fini(&col);
}

/* The debug flag ("d" / X-B3-Flags: 1) is carried in the context and
 * injected again (the OTel B3 spec: it MUST be propagated), also by a child
 * span of the debug trace, but not into an unrelated trace. */
static void b3_debug_propagated(void **st)
{
    (void)st;
    unsigned b3 = IGNIS_PROPAGATE_B3 | IGNIS_PROPAGATE_B3MULTI;
    ig_remote r;
    assert_true(single_ok(T32 "-" S16 "-d", &r));
    assert_true(r.debug);
    assert_true(single_ok(T32 "-" S16 "-1", &r));
    assert_false(r.debug);
    assert_int_equal(ig_b3_parse_multi(T32, S16, NULL, "1", &r), 0);
    assert_true(r.debug);

    const char *inputs[][2] = {{"b3", T32 "-" S16 "-d"}, {"X-B3-Flags", "1"}};
    for (int k = 0; k < 2; k++) {
        hdrs in = {{inputs[k][0], "X-B3-TraceId", "X-B3-SpanId"}, {inputs[k][1], T32, S16}, 3};
        ignis_carrier c = {&in, hget, hset};
        ignis_context *ctx = ignis_extract_with(b3, NULL, &c);
        hdrs out = {0};
        ignis_carrier oc = {&out, hget, hset};
        ignis_inject_with(b3, ctx, &oc);
        assert_string_equal(hfind(&out, "b3"), T32 "-" S16 "-d");
        assert_string_equal(hfind(&out, "X-B3-Flags"), "1");
        assert_null(hfind(&out, "X-B3-Sampled")); /* debug implies accept: not sent */
        ignis_context_release(ctx);
    }

    collector col;
    collector_init(&col);
    ignis_provider_options o;
    test_options(&o, true);
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, &col.base, NULL, 0);
    ignis_tracer *t = ignis_tracer_get(tp, "b3", NULL, NULL, 0);
    hdrs in = {{"b3"}, {T32 "-" S16 "-d"}, 1};
    ignis_carrier c = {&in, hget, hset};
    ignis_context *ctx = ignis_extract_with(b3, NULL, &c);
    ignis_scope scope = ignis_context_attach(ctx);
    ignis_span *s = ignis_span_start(t, "child", NULL);
    ignis_scope s2 = ignis_span_make_current(s);
    hdrs out = {0};
    ignis_carrier oc = {&out, hget, hset};
    ignis_inject_with(b3, NULL, &oc);
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    char sid[17], want[80];
    ignis_span_id_hex(sc.span_id, sid);
    snprintf(want, sizeof want, T32 "-%s-d", sid);
    assert_string_equal(hfind(&out, "b3"), want);
    assert_string_equal(hfind(&out, "X-B3-Flags"), "1");
    /* a context captured here (for another thread) keeps it */
    ignis_context *cur = ignis_context_current();
    hdrs out2 = {0};
    oc.arg = &out2;
    ignis_inject_with(IGNIS_PROPAGATE_B3, cur, &oc);
    assert_string_equal(hfind(&out2, "b3"), want);
    ignis_context_release(cur);
    /* a new trace started inside the debug context is not debug */
    ignis_span *other = ignis_span_start(t, "other", &(ignis_span_options){.parent_mode = IGNIS_PARENT_NONE});
    ignis_scope s3 = ignis_span_make_current(other);
    hdrs out3 = {0};
    oc.arg = &out3;
    ignis_inject_with(b3, NULL, &oc);
    assert_non_null(hfind(&out3, "b3"));
    assert_string_equal(hfind(&out3, "b3") + strlen(hfind(&out3, "b3")) - 2, "-1");
    assert_null(hfind(&out3, "X-B3-Flags"));
    assert_string_equal(hfind(&out3, "X-B3-Sampled"), "1");
    ignis_scope_end(s3);
    ignis_span_end(other, 0);
    ignis_scope_end(s2);
    ignis_span_end(s, 0);
    ignis_scope_end(scope);
    ignis_context_release(ctx);
    /* W3C trace context alone carries no debug flag */
    hdrs w3c = {{"traceparent"}, {"00-" T32 "-" S16 "-01"}, 1};
    c.arg = &w3c;
    ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT | b3, NULL, &c);
    hdrs out4 = {0};
    oc.arg = &out4;
    ignis_inject_with(IGNIS_PROPAGATE_B3, ctx, &oc);
    assert_string_equal(hfind(&out4, "b3"), T32 "-" S16 "-1");
    ignis_context_release(ctx);
    ignis_tracer_provider_free(tp);
    collector_fini(&col);
}

static void propagators_env(void **st)
{
    (void)st;
    logcap_reset();
    assert_int_equal(ignis_propagators_parse("tracecontext,baggage"), IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    assert_int_equal(ignis_propagators_parse(" b3 , b3multi "), IGNIS_PROPAGATE_B3 | IGNIS_PROPAGATE_B3MULTI);
    assert_int_equal(ignis_propagators_parse("none"), 0);
    assert_int_equal(g_logcap.warnings, 0);
    assert_int_equal(ignis_propagators_parse("xray,b3"), IGNIS_PROPAGATE_B3);
    assert_int_equal(g_logcap.warnings, 1);
    assert_non_null(strstr(g_logcap.last, "xray"));
    /* the process-wide default comes from the environment on first use */
    setenv("OTEL_PROPAGATORS", "b3multi", 1);
    assert_int_equal(ignis_propagators(), IGNIS_PROPAGATE_B3MULTI);
    unsetenv("OTEL_PROPAGATORS");
    assert_int_equal(ignis_propagators(), IGNIS_PROPAGATE_B3MULTI); /* read once */
    ignis_set_propagators(IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    assert_int_equal(ignis_propagators(), IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    ignis_trace_set_logger(NULL, NULL);
}

static void composite_order(void **st)
{
    (void)st;
    /* both present: b3 (applied after tracecontext) wins */
    hdrs in = {{"traceparent", "b3"},
               {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", T32 "-" S16 "-0"}, 2};
    ignis_carrier c = {&in, hget, hset};
    ignis_context *ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_B3, NULL, &c);
    ignis_span_context sc;
    assert_true(ignis_context_span_context(ctx, &sc));
    char hex[33];
    ignis_trace_id_hex(sc.trace_id, hex);
    assert_string_equal(hex, T32);
    ignis_context_release(ctx);
    /* only tracecontext enabled: b3 ignored */
    ctx = ignis_extract_with(IGNIS_PROPAGATE_TRACECONTEXT, NULL, &c);
    assert_true(ignis_context_span_context(ctx, &sc));
    ignis_trace_id_hex(sc.trace_id, hex);
    assert_string_equal(hex, "0af7651916cd43dd8448eb211c80319c");
    ignis_context_release(ctx);
}

static void header_lines(void **st)
{
    (void)st;
    ignis_set_propagators(IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    const char *lines[] = {
        "Host: example.com",
        "TraceParent:   00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01  \r\n",
        "baggage: a=1",
        "Baggage: b=2;p",
        "no colon here",
        NULL,
    };
    ignis_context *ctx = ignis_extract_header_lines(NULL, lines, 6);
    ignis_span_context sc;
    assert_true(ignis_context_span_context(ctx, &sc));
    assert_true(sc.is_remote);
    assert_int_equal(ignis_baggage_count(ctx), 2); /* repeated header joined with "," */
    assert_string_equal(ignis_baggage_get(ctx, "a"), "1");
    assert_string_equal(ignis_baggage_get(ctx, "b"), "2");
    const char *meta;
    assert_true(ignis_baggage_entry(ctx, 1, NULL, NULL, &meta));
    assert_string_equal(meta, "p");
    char *out[4] = {0};
    size_t n = ignis_inject_header_lines(ctx, out, 4);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert_string_equal(out[1], "baggage: a=1,b=2;p");
    free(out[0]);
    free(out[1]);
    /* more lines than room: the count says so, only max are stored */
    char *one[1] = {0};
    assert_int_equal(ignis_inject_header_lines(ctx, one, 1), 2);
    free(one[0]);
    ignis_context_release(ctx);
}

/* A NULL array is no lines (whatever n says), as documented in trace.h:
 * extraction keeps the base, injection only counts. */
static void header_lines_null(void **state)
{
    (void)state;
    ignis_set_propagators(IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    ignis_context *none = ignis_extract_header_lines(NULL, NULL, 5);
    ignis_span_context sc;
    assert_false(ignis_context_span_context(none, &sc));
    assert_int_equal(ignis_baggage_count(none), 0);
    const char *lines[] = {"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "baggage: a=1"};
    ignis_context *base = ignis_extract_header_lines(NULL, lines, 2);
    ignis_context *kept = ignis_extract_header_lines(base, NULL, 5);
    assert_true(ignis_context_span_context(kept, &sc));
    assert_string_equal(ignis_baggage_get(kept, "a"), "1");
    assert_int_equal(ignis_inject_header_lines(kept, NULL, 4), 2);
    ignis_context_release(kept);
    ignis_context_release(base);
    ignis_context_release(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b3_single_vectors), cmocka_unit_test(b3_multi_vectors),
        cmocka_unit_test(b3_extract_inject), cmocka_unit_test(propagators_env),
        cmocka_unit_test(composite_order),   cmocka_unit_test(header_lines),
        cmocka_unit_test(b3_debug_propagated), cmocka_unit_test(header_lines_null),
    };
    return cmocka_run_group_tests_name("trace_b3", tests, NULL, NULL);
}
