/*
 * tests/collect/test_decode.c — the request decoders against ground
 * truth: requests built field by field with protobuf-c (and by libignis's
 * own OTLP encoders) are decoded and every batch field is compared with
 * what was sent; invalid spans are rejected with their reason while the
 * rest of the request is kept; malformed bodies are refused whole;
 * hostile nesting is refused before protobuf-c recurses into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/decode.h"
#include "exporters/otlp.h"
#include "tests/collect/helpers.h"

#define T0 1700000000000000000ULL

static int teardown(void **state)
{
    (void)state;
    h_reset();
    return 0;
}

static void assert_bstr(ig_bstr s, const char *want)
{
    assert_string_equal(s.s, want);
    assert_int_equal(s.len, strlen(want));
}

/* ---- protobuf: every field -------------------------------------------------------- */

static void proto_fields(void **state)
{
    (void)state;
    PbSpan *s = h_span(0xabc, 0x11, 0x22, "GET /users", T0, T0 + 5000);
    const uint8_t raw[] = {0, 1, 2, 0xff};
    PbAny *arr = h_nested(2);
    PbAny *kvl = h_any();
    PbKVList *list = h_alloc(sizeof *list);
    opentelemetry__proto__common__v1__key_value_list__init(list);
    list->n_values = 2;
    list->values = h_alloc(2 * sizeof *list->values);
    list->values[0] = h_str("a", "x\"y");
    list->values[1] = h_bool("b", false);
    kvl->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kvl->kvlist_value = list;
    h_attrs(s, 9, h_str("http.method", "GET"), h_int("code", -200), h_dbl("ratio", 0.5), h_bool("ok", true),
            h_bytes("raw", raw, sizeof raw), h_kv("nested", arr), h_kv("map", kvl), h_dbl("nan", NAN),
            h_dbl("whole", 3.0));
    h_status(s, 2, "boom");
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    s->flags = 0x301;
    s->trace_state = (char *)"vendor=1";
    s->dropped_attributes_count = 4;
    s->dropped_events_count = 5;
    s->dropped_links_count = 6;
    h_event(s, "retry", T0 + 100, h_int("attempt", 2));
    h_link(s, 0xdef, 0x33, 16, h_str("why", "batch"));
    PbSpan *spans[] = {s};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("users-api", spans, 1), &st);
    assert_non_null(b);
    assert_int_equal(st.spans, 1);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(b->nspans, 1);
    const ig_batch_span *x = &b->spans[0];
    uint8_t id[16];
    h_id_bytes(0xabc, id, 16);
    assert_memory_equal(x->trace_id, id, 16);
    h_id_bytes(0x11, id, 8);
    assert_memory_equal(x->span_id, id, 8);
    h_id_bytes(0x22, id, 8);
    assert_true(x->has_parent);
    assert_memory_equal(x->parent_span_id, id, 8);
    assert_bstr(x->name, "GET /users");
    assert_int_equal(x->kind, 3);
    assert_int_equal(x->status_code, 2);
    assert_bstr(x->status_message, "boom");
    assert_bstr(x->trace_state, "vendor=1");
    assert_int_equal(x->flags, 0x301);
    assert_true(x->start_ns == T0 && x->end_ns == T0 + 5000);
    assert_int_equal(x->dropped_attrs, 4);
    assert_int_equal(x->dropped_events, 5);
    assert_int_equal(x->dropped_links, 6);
    assert_bstr(x->attrs, "{\"http.method\":\"GET\",\"code\":-200,\"ratio\":0.5,\"ok\":true,\"raw\":\"AAEC/w==\","
                          "\"nested\":[[7]],\"map\":{\"a\":\"x\\\"y\",\"b\":false},\"nan\":\"NaN\",\"whole\":3.0}");
    assert_int_equal(x->nevents, 1);
    const ig_batch_event *e = &b->events[x->first_event];
    assert_bstr(e->name, "retry");
    assert_true(e->time_ns == T0 + 100);
    assert_bstr(e->attrs, "{\"attempt\":2}");
    assert_int_equal(x->nlinks, 1);
    const ig_batch_link *l = &b->links[x->first_link];
    h_id_bytes(0xdef, id, 16);
    assert_memory_equal(l->trace_id, id, 16);
    assert_bstr(l->trace_state, "k=v");
    assert_bstr(l->attrs, "{\"why\":\"batch\"}");
    assert_int_equal(b->nresources, 1);
    assert_bstr(b->resources[0].service, "users-api");
    assert_bstr(b->resources[0].attrs, "{\"service.name\":\"users-api\",\"host.name\":\"box\"}");
    assert_int_equal(b->nscopes, 1);
    assert_bstr(b->scopes[0].name, "test.scope");
    assert_bstr(b->scopes[0].version, "1.2");
    ig_batch_free(b);
}

/* A resource without service.name stands for "unknown_service"; equal
 * resources get equal digests, different ones different digests. */
static void resource_identity(void **state)
{
    (void)state;
    PbSpan *spans[] = {h_span(1, 1, 0, "a", T0, T0 + 1)};
    PbRequest *r = h_request("svc", spans, 1);
    ig_decode_stats st;
    ig_batch *a = h_decode(r, &st), *b = h_decode(r, &st);
    assert_true(a->resources[0].digest == b->resources[0].digest);
    assert_true(a->scopes[0].digest == b->scopes[0].digest);
    r->resource_spans[0]->resource->attributes[0] = h_str("service.namespace", "x");
    ig_batch *c = h_decode(r, &st);
    assert_bstr(c->resources[0].service, "unknown_service");
    assert_true(c->resources[0].digest != a->resources[0].digest);
    r->resource_spans[0]->resource = NULL;
    ig_batch *d = h_decode(r, &st);
    assert_bstr(d->resources[0].attrs, "{}");
    ig_batch_free(a);
    ig_batch_free(b);
    ig_batch_free(c);
    ig_batch_free(d);
}

/* ---- validation ------------------------------------------------------------------ */

static void rejects_invalid_spans(void **state)
{
    (void)state;
    PbSpan *ok1 = h_span(1, 1, 0, "ok", T0, T0 + 10);
    PbSpan *short_trace = h_span(1, 2, 0, "bad", T0, T0 + 10);
    short_trace->trace_id = h_id(1, 15);
    PbSpan *zero_trace = h_span(0, 3, 0, "bad", T0, T0 + 10);
    PbSpan *long_span = h_span(1, 4, 0, "bad", T0, T0 + 10);
    long_span->span_id = h_id(4, 9);
    PbSpan *zero_span = h_span(1, 0, 0, "bad", T0, T0 + 10);
    PbSpan *bad_parent = h_span(1, 6, 0, "bad", T0, T0 + 10);
    bad_parent->parent_span_id = h_id(5, 5);
    PbSpan *backwards = h_span(1, 7, 0, "bad", T0 + 10, T0);
    PbSpan *no_start = h_span(1, 8, 0, "bad", 0, T0);
    PbSpan *far_future = h_span(1, 9, 0, "bad", T0, UINT64_MAX);
    PbSpan *bad_link = h_span(1, 10, 0, "bad", T0, T0 + 1);
    h_link(bad_link, 5, 5, 3, NULL);
    PbSpan *ok2 = h_span(1, 11, 1, "ok", T0, T0); /* zero duration is fine */
    PbSpan *spans[] = {ok1, short_trace, zero_trace, long_span, zero_span, bad_parent,
                       backwards, no_start, far_future, bad_link, ok2};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("svc", spans, 11), &st);
    assert_non_null(b);
    assert_int_equal(st.spans, 11);
    assert_int_equal(st.rejected, 9);
    assert_int_equal(b->nspans, 2);
    assert_bstr(b->spans[0].name, "ok");
    assert_bstr(b->spans[1].name, "ok");
    assert_int_equal(b->nlinks, 0); /* nothing of a rejected span stays */
    assert_string_equal(st.reason, "trace_id must be 16 bytes, not 15");
    char msg[256];
    ig_decode_message(&st, msg, sizeof msg);
    assert_string_equal(msg, "9 of 11 spans rejected; first: trace_id must be 16 bytes, not 15");
    ig_batch_free(b);

    /* each reason, alone */
    struct { PbSpan *s; const char *why; } cases[] = {
        {zero_trace, "trace_id is all zero"},
        {long_span, "span_id must be 8 bytes, not 9"},
        {zero_span, "span_id is all zero"},
        {bad_parent, "parent_span_id must be empty or 8 bytes, not 5"},
        {backwards, "end_time_unix_nano is before start_time_unix_nano"},
        {no_start, "start_time_unix_nano is missing"},
        {far_future, "end_time_unix_nano is past the year 2262"},
        {bad_link, "link trace_id must be 16 bytes, not 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        PbSpan *one[] = {cases[i].s};
        b = h_decode(h_request("svc", one, 1), &st);
        assert_int_equal(st.rejected, 1);
        assert_string_equal(st.reason, cases[i].why);
        assert_int_equal(b->nspans, 0);
        ig_batch_free(b);
    }
}

static void zero_parent_is_root_and_unknown_enums(void **state)
{
    (void)state;
    PbSpan *s = h_span(1, 1, 0, "root", T0, T0 + 1);
    s->parent_span_id = h_id(0, 8);
    s->kind = 77;
    h_status(s, 9, "");
    PbSpan *spans[] = {s};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("svc", spans, 1), &st);
    assert_int_equal(b->nspans, 1);
    assert_false(b->spans[0].has_parent);
    assert_int_equal(b->spans[0].kind, 0);
    assert_int_equal(b->spans[0].status_code, 0);
    ig_batch_free(b);
}

static void long_attribute_value(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *big = h_alloc(n + 1);
    memset(big, 'x', n);
    PbSpan *s = h_span(1, 1, 0, "big", T0, T0 + 1);
    h_attrs(s, 1, h_str("payload", big));
    PbSpan *spans[] = {s};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("svc", spans, 1), &st);
    assert_int_equal(b->nspans, 1);
    assert_int_equal(b->spans[0].attrs.len, n + strlen("{\"payload\":\"\"}"));
    ig_batch_free(b);
}

/* ---- nesting ----------------------------------------------------------------------- */

static void compare_batches(const ig_batch *a, const ig_batch *b);

static void nesting_limit(void **state)
{
    (void)state;
    PbSpan *at = h_span(1, 1, 0, "at-limit", T0, T0 + 1);
    h_attrs(at, 1, h_kv("deep", h_nested(IG_DECODE_MAX_DEPTH - 1)));
    PbSpan *over = h_span(1, 2, 0, "over", T0, T0 + 1);
    h_attrs(over, 1, h_kv("deep", h_nested(IG_DECODE_MAX_DEPTH)));
    PbSpan *spans[] = {at, over};
    ig_decode_stats st;
    ig_batch *b = h_decode(h_request("svc", spans, 2), &st);
    assert_int_equal(b->nspans, 1);
    assert_bstr(b->spans[0].name, "at-limit");
    assert_int_equal(st.rejected, 1);
    assert_string_equal(st.reason, "attribute values nested deeper than 32 levels");
    ig_batch_free(b);
}

/* An any-value nested `depth` key-value lists deep around the int 7
 * (the deepest JSON per level: kvlistValue{ values[ { value{ ). */
static PbAny *kvlists_nested(int depth)
{
    PbAny *v = h_nested(0);
    for (int i = 0; i < depth; i++) {
        PbAny *outer = h_any();
        PbKVList *l = h_alloc(sizeof *l);
        opentelemetry__proto__common__v1__key_value_list__init(l);
        l->n_values = 1;
        l->values = h_alloc(sizeof *l->values);
        l->values[0] = h_kv("k", v);
        outer->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        outer->kvlist_value = l;
        v = outer;
    }
    return v;
}

/* The OTLP/JSON of h_nested(depth) (arrays) or kvlists_nested(depth). */
static void json_nested(ig_strbuf *out, int depth, bool kvlists)
{
    for (int i = 0; i < depth; i++)
        ig_sb_puts(out, kvlists ? "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":" : "{\"arrayValue\":{\"values\":[");
    ig_sb_puts(out, "{\"intValue\":\"7\"}");
    for (int i = 0; i < depth; i++)
        ig_sb_puts(out, kvlists ? "}]}}" : "]}}");
}

/* A span of trace 1 with id `id`, its one attribute "deep" nested `depth`
 * levels (arrays) in the span, in an event (key-value lists) and in a
 * link (key-value lists): protobuf and OTLP/JSON. */
static PbSpan *deep_span(ig_strbuf *js, uint64_t id, const char *name, int depth)
{
    PbSpan *s = h_span(1, id, 0, name, T0, T0 + 1);
    h_attrs(s, 1, h_kv("deep", h_nested(depth)));
    h_event(s, "e", T0, h_kv("deep", kvlists_nested(depth)));
    h_link(s, 9, 9, 16, h_kv("deep", kvlists_nested(depth)));
    ig_sb_printf(js, "{\"traceId\":\"00000000000000000000000000000001\",\"spanId\":\"%016llx\",\"name\":\"%s\","
                     "\"kind\":2,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\",\"attributes\":[{\"key\":\"deep\",\"value\":",
                 (unsigned long long)id, name, (unsigned long long)T0, (unsigned long long)T0 + 1);
    json_nested(js, depth, false);
    ig_sb_printf(js, "}],\"events\":[{\"name\":\"e\",\"timeUnixNano\":\"%llu\",\"attributes\":[{\"key\":\"deep\",\"value\":",
                 (unsigned long long)T0);
    json_nested(js, depth, true);
    ig_sb_puts(js, "}]}],\"links\":[{\"traceId\":\"00000000000000000000000000000009\",\"spanId\":\"0000000000000009\","
                   "\"traceState\":\"k=v\",\"attributes\":[{\"key\":\"deep\",\"value\":");
    json_nested(js, depth, true);
    ig_sb_puts(js, "}]}]}");
    return s;
}

/* What protobuf takes, OTLP/JSON takes: values 32 levels deep (31
 * nestings around a scalar) are stored alike in both encodings, even in
 * event and link attributes where JSON nests deepest; one level more
 * rejects that span alone, with the same reason, in both. */
static void nesting_limit_json_as_protobuf(void **state)
{
    (void)state;
    ig_strbuf js = IG_STRBUF_INIT;
    ig_sb_puts(&js, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
                    "\"svc\"}},{\"key\":\"host.name\",\"value\":{\"stringValue\":\"box\"}}]},\"scopeSpans\":[{\"scope\":"
                    "{\"name\":\"test.scope\",\"version\":\"1.2\"},\"spans\":[");
    PbSpan *at = deep_span(&js, 1, "at-limit", IG_DECODE_MAX_DEPTH - 1);
    ig_sb_puts(&js, ",");
    PbSpan *over = deep_span(&js, 2, "over", IG_DECODE_MAX_DEPTH);
    ig_sb_puts(&js, ",");
    PbSpan *shallow = deep_span(&js, 3, "shallow", 1);
    ig_sb_puts(&js, "]}]}]}");
    PbSpan *spans[] = {at, over, shallow};
    ig_decode_stats st1, st2;
    ig_batch *a = h_decode(h_request("svc", spans, 3), &st1);
    assert_non_null(a);
    ig_err err;
    ig_batch *b = ig_decode_json(js.data, js.len, &st2, &err);
    if (!b)
        fail_msg("%s", err.msg);
    compare_batches(a, b);
    assert_int_equal(b->nspans, 2);
    assert_bstr(b->spans[0].name, "at-limit");
    assert_bstr(b->spans[1].name, "shallow");
    assert_int_equal(st1.spans, 3);
    assert_int_equal(st2.spans, 3);
    assert_int_equal(st2.rejected, 1);
    assert_string_equal(st1.reason, st2.reason);
    assert_string_equal(st2.reason, "attribute values nested deeper than 32 levels");
    ig_batch_free(a);
    ig_batch_free(b);
    ig_sb_free(&js);
}

/* A resource or scope nested too deep rejects every span under it, in
 * OTLP/JSON as in protobuf. */
static void nesting_limit_resource_and_scope(void **state)
{
    (void)state;
    ig_strbuf js = IG_STRBUF_INIT;
    for (int where = 0; where < 2; where++) {
        ig_sb_reset(&js);
        ig_sb_puts(&js, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"r\",\"value\":");
        json_nested(&js, where == 0 ? IG_DECODE_MAX_DEPTH : 1, true);
        ig_sb_puts(&js, "}]},\"scopeSpans\":[{\"scope\":{\"name\":\"s\",\"attributes\":[{\"key\":\"s\",\"value\":");
        json_nested(&js, where == 1 ? IG_DECODE_MAX_DEPTH : 1, true);
        ig_sb_puts(&js, "}]},\"spans\":[{\"name\":\"a\"},{\"name\":\"b\"}]},{\"spans\":[{\"name\":\"c\"}]}]}]}");
        ig_decode_stats st;
        ig_err err;
        ig_batch *b = ig_decode_json(js.data, js.len, &st, &err);
        if (!b)
            fail_msg("%s", err.msg);
        assert_int_equal(b->nspans, 0);
        assert_int_equal(st.spans, 3);
        /* a deep resource rejects all 3; a deep scope its 2, and the third span has no ids */
        assert_int_equal(st.rejected, 3);
        assert_string_equal(st.reason, "attribute values nested deeper than 32 levels");
        ig_batch_free(b);
    }
    ig_sb_free(&js);
}

static void put_varint(ig_strbuf *b, uint64_t v)
{
    while (v >= 0x80) {
        ig_sb_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    ig_sb_putc(b, (char)v);
}

/* Wraps b's content as field `field` (length-delimited). */
static void wrap(ig_strbuf *b, int field)
{
    ig_strbuf o = IG_STRBUF_INIT;
    put_varint(&o, (uint64_t)field << 3 | 2);
    put_varint(&o, b->len);
    ig_sb_append(&o, b->data, b->len);
    ig_sb_free(b);
    *b = o;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* 200,000 nested arrays, written on the wire by hand: protobuf-c would
 * recurse once per level (and overflow the stack) if it were let in.
 * Lengths are computed inside out first, so the bytes are written in one
 * pass from the outside in. */
static void hostile_nesting_on_the_wire(void **state)
{
    (void)state;
    enum { LEVELS = 200000 };
    uint64_t *any_len = malloc((LEVELS + 1) * sizeof *any_len), *arr_len = malloc((LEVELS + 1) * sizeof *arr_len);
    any_len[0] = 2; /* AnyValue{int_value: 7} */
    for (int i = 1; i <= LEVELS; i++) {
        arr_len[i] = 1 + varint_len(any_len[i - 1]) + any_len[i - 1];  /* ArrayValue{values: any} */
        any_len[i] = 1 + varint_len(arr_len[i]) + arr_len[i];          /* AnyValue{array_value: arr} */
    }
    ig_strbuf v = IG_STRBUF_INIT;
    ig_sb_reserve(&v, any_len[LEVELS]);
    for (int i = LEVELS; i >= 1; i--) {
        ig_sb_putc(&v, 0x2a);
        put_varint(&v, arr_len[i]);
        ig_sb_putc(&v, 0x0a);
        put_varint(&v, any_len[i - 1]);
    }
    ig_sb_append(&v, "\x18\x07", 2);
    assert_int_equal(v.len, any_len[LEVELS]);
    free(any_len);
    free(arr_len);
    wrap(&v, 2); /* KeyValue.value */
    ig_strbuf span = IG_STRBUF_INIT;
    ig_sb_append(&span, "\x0a\x10", 2);
    ig_sb_append(&span, "0123456789abcdef", 16); /* trace_id */
    ig_sb_append(&span, "\x12\x08", 2);
    ig_sb_append(&span, "01234567", 8);          /* span_id */
    ig_sb_append(&span, "\x2a\x01x", 3);         /* name */
    ig_sb_putc(&span, 0x39);                       /* start, fixed64 */
    uint64_t t = T0;
    ig_sb_append(&span, &t, 8);
    ig_sb_putc(&span, 0x41);                       /* end */
    ig_sb_append(&span, &t, 8);
    ig_sb_append(&span, "\x4a", 1);                /* attributes: KeyValue */
    put_varint(&span, v.len + 3);
    ig_sb_append(&span, "\x0a\x01k", 3);
    ig_sb_append(&span, v.data, v.len);
    wrap(&span, 2); /* ScopeSpans.spans */
    wrap(&span, 2); /* ResourceSpans.scope_spans */
    wrap(&span, 1); /* Request.resource_spans */
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_proto((const uint8_t *)span.data, span.len, &st, &err);
    assert_non_null(b);
    assert_int_equal(st.spans, 1);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(b->nspans, 0);
    ig_batch_free(b);
    ig_sb_free(&v);
    ig_sb_free(&span);
}

/* A span of 300,000 empty events ("5a 00"): 600 KB on the wire, 30 MB
 * once protobuf-c has unpacked it; refused on the wire (1.35 GB for
 * 7M events before), the valid span next to it kept. */
static void empty_events_are_counted_on_the_wire(void **state)
{
    (void)state;
    ig_strbuf ev = IG_STRBUF_INIT;
    for (int i = 0; i < 300000; i++)
        ig_sb_append(&ev, "\x5a\x00", 2);
    PbSpan *ok = h_span(1, 1, 0, "ok", T0, T0 + 1);
    PbSpan *spans[] = {ok};
    ig_strbuf req = IG_STRBUF_INIT;
    /* the valid span, then the same span with the events appended */
    ig_strbuf one = IG_STRBUF_INIT;
    size_t n = opentelemetry__proto__trace__v1__span__get_packed_size(ok);
    ig_sb_reserve(&one, n);
    opentelemetry__proto__trace__v1__span__pack(ok, (uint8_t *)one.data);
    one.len = n;
    ig_strbuf big = IG_STRBUF_INIT;
    ig_sb_append(&big, one.data, one.len);
    ig_sb_append(&big, ev.data, ev.len);
    wrap(&one, 2);
    wrap(&big, 2);
    ig_sb_append(&req, one.data, one.len);
    ig_sb_append(&req, big.data, big.len);
    wrap(&req, 2); /* ResourceSpans.scope_spans */
    wrap(&req, 1); /* Request.resource_spans */
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_proto((const uint8_t *)req.data, req.len, &st, &err);
    assert_non_null(b);
    assert_int_equal(st.spans, 2);
    assert_int_equal(st.rejected, 1);
    assert_string_equal(st.reason, "more than 262144 attributes, events, links and values");
    assert_int_equal(b->nspans, 1);
    ig_batch_free(b);
    (void)spans;
    ig_sb_free(&ev);
    ig_sb_free(&one);
    ig_sb_free(&big);
    ig_sb_free(&req);
}

/* 4M empty spans ("12 00") in 8 MB: the request is refused before the
 * shallow unpack gives each a 16-byte slot and the batch a span (400 MB
 * for 8M before). */
static void empty_spans_are_counted_on_the_wire(void **state)
{
    (void)state;
    ig_strbuf req = IG_STRBUF_INIT;
    for (int i = 0; i < 4000000; i++)
        ig_sb_append(&req, "\x12\x00", 2);
    wrap(&req, 2);
    wrap(&req, 1);
    ig_decode_stats st;
    ig_err err;
    assert_null(ig_decode_proto((const uint8_t *)req.data, req.len, &st, &err));
    assert_non_null(strstr(err.msg, "spans in 8000"));
    ig_sb_free(&req);
}

/* ---- malformed bodies ---------------------------------------------------------------- */

static void malformed_protobuf(void **state)
{
    (void)state;
    PbSpan *spans[] = {h_span(1, 1, 0, "a", T0, T0 + 1)};
    size_t len;
    uint8_t *body = h_pack(h_request("svc", spans, 1), &len);
    ig_decode_stats st;
    ig_err err;
    for (size_t cut = 1; cut < len; cut += 7) { /* every truncation is refused whole */
        ig_batch *b = ig_decode_proto(body, cut, &st, &err);
        if (b) { /* a cut at a field boundary of the outer message is a valid, shorter request */
            assert_true(b->nspans <= 1);
            ig_batch_free(b);
        } else {
            assert_non_null(strstr(err.msg, "malformed"));
        }
    }
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_null(ig_decode_proto(junk, sizeof junk, &st, &err));
    ig_batch *empty = ig_decode_proto((const uint8_t *)"", 0, &st, &err);
    assert_non_null(empty); /* an empty request is a valid one */
    assert_int_equal(empty->nspans, 0);
    ig_batch_free(empty);
}

static void malformed_json(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "{", "[]", "nul", "{\"resourceSpans\":5}", "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}",
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"-1\"}]}]}]}",
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":"
        "{\"intValue\":\"99999999999999999999\"}}]}]}]}]}",
        "{\"resourceSpans\":[]} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ig_decode_stats st;
        ig_err err;
        ig_batch *b = ig_decode_json(bad[i], strlen(bad[i]), &st, &err);
        if (b)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.msg, "malformed OTLP/JSON"));
    }
}

static void json_fields(void **state)
{
    (void)state;
    const char *body =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"js\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"s\",\"version\":\"2\"},\"spans\":["
        "{\"traceId\":\"0102030405060708090A0b0c0d0e0f10\",\"spanId\":\"1112131415161718\",\"parentSpanId\":\"\","
        "\"name\":\"op\",\"kind\":\"SPAN_KIND_PRODUCER\",\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":1700000000000000500,\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"m\"},"
        "\"attributes\":[{\"key\":\"i\",\"value\":{\"intValue\":\"-5\"}},{\"key\":\"d\",\"value\":{\"doubleValue\":\"Infinity\"}},"
        "{\"key\":\"b\",\"value\":{\"bytesValue\":\"AAEC/w==\"}},{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":"
        "[{\"stringValue\":\"x\"},{\"boolValue\":true}]}}},{\"key\":\"e\",\"value\":{}}],"
        "\"events\":[{\"timeUnixNano\":\"1700000000000000001\",\"name\":\"ev\"}],"
        "\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f11\",\"spanId\":\"2122232425262728\"}]},"
        "{\"traceId\":\"zz02030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\",\"name\":\"bad\","
        "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}"
        "]}]}]}";
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_json(body, strlen(body), &st, &err);
    assert_non_null(b);
    assert_int_equal(st.spans, 2);
    assert_int_equal(st.rejected, 1);
    assert_string_equal(st.reason, "traceId is not hexadecimal");
    assert_int_equal(b->nspans, 1);
    const ig_batch_span *x = &b->spans[0];
    const uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    assert_memory_equal(x->trace_id, tid, 16);
    assert_false(x->has_parent);
    assert_int_equal(x->kind, 4);
    assert_int_equal(x->status_code, 2);
    assert_true(x->start_ns == T0 && x->end_ns == T0 + 500);
    assert_bstr(x->attrs, "{\"i\":-5,\"d\":\"Infinity\",\"b\":\"AAEC/w==\",\"a\":[\"x\",true],\"e\":null}");
    assert_int_equal(x->nevents, 1);
    assert_int_equal(x->nlinks, 1);
    assert_bstr(b->resources[0].service, "js");
    assert_bstr(b->scopes[0].version, "2");
    ig_batch_free(b);
}

/* U+0000 is valid UTF-8, so a proto3 string may hold it (the OpenTelemetry
 * Collector keeps it): every string of an OTLP/JSON request keeps its
 * whole length, NUL included, never cut at the NUL into a shorter name. */
static void json_strings_keep_nul(void **state)
{
    (void)state;
    const char *body =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\\u0000vc\"}},"
        "{\"key\":\"r\\u0000k\",\"value\":{\"stringValue\":\"r\\u0000v\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"sc\\u0000ope\",\"version\":\"1\\u00002\"},\"spans\":["
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
        "\"name\":\"a\\u0000b\",\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":\"1700000000000000500\",\"status\":{\"code\":2,\"message\":\"m\\u0000x\"},"
        "\"traceState\":\"k=v\\u0000\","
        "\"attributes\":[{\"key\":\"k\\u0000ey\",\"value\":{\"stringValue\":\"a\\u0000b\"}},"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"\\u0000\"}]}}}],"
        "\"events\":[{\"timeUnixNano\":\"1700000000000000001\",\"name\":\"e\\u0000v\"}]}"
        "]}]}]}";
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_json(body, strlen(body), &st, &err);
    assert_non_null(b);
    assert_int_equal(b->nspans, 1);
    const ig_batch_span *x = &b->spans[0];
    assert_int_equal(x->name.len, 3);
    assert_memory_equal(x->name.s, "a\0b", 4);
    assert_int_equal(x->status_message.len, 3);
    assert_memory_equal(x->status_message.s, "m\0x", 4);
    assert_int_equal(x->trace_state.len, 4);
    assert_memory_equal(x->trace_state.s, "k=v\0", 5);
    assert_bstr(x->attrs, "{\"k\\u0000ey\":\"a\\u0000b\",\"arr\":[\"\\u0000\"]}");
    assert_int_equal(b->events[0].name.len, 3);
    assert_memory_equal(b->events[0].name.s, "e\0v", 4);
    assert_int_equal(b->resources[0].service.len, 4);
    assert_memory_equal(b->resources[0].service.s, "s\0vc", 5);
    assert_bstr(b->resources[0].attrs, "{\"service.name\":\"s\\u0000vc\",\"r\\u0000k\":\"r\\u0000v\"}");
    assert_int_equal(b->scopes[0].name.len, 6);
    assert_memory_equal(b->scopes[0].name.s, "sc\0ope", 7);
    assert_int_equal(b->scopes[0].version.len, 3);
    ig_batch_free(b);
}

/* The same in a protobuf request: protobuf-c gives `string` fields as C
 * strings, which would cut each one at its NUL ("a\0b" -> "a"). */
static void proto_strings_keep_nul(void **state)
{
    (void)state;
    PbSpan *s = h_span(0xabc, 0x11, 0, "a~b", T0, T0 + 500);
    PbAny *arr = h_any();
    PbArray *a = h_alloc(sizeof *a);
    opentelemetry__proto__common__v1__array_value__init(a);
    a->n_values = 1;
    a->values = h_alloc(sizeof *a->values);
    a->values[0] = h_str("unused", "~")->value;
    arr->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    arr->array_value = a;
    h_attrs(s, 2, h_str("k~ey", "va~l"), h_kv("arr", arr));
    h_status(s, 2, "m~x");
    s->trace_state = (char *)"k=v~";
    h_event(s, "e~v", T0 + 1, h_str("ek~", "ev~"));
    h_link(s, 0xdef, 0x33, 16, h_str("lk~", "lv~"));
    PbRequest *r = h_request("s~vc", &s, 1);
    PbResource *res = r->resource_spans[0]->resource;
    res->attributes[1] = h_str("r~k", "r~v");
    PbScope *sc = r->resource_spans[0]->scope_spans[0]->scope;
    sc->name = (char *)"sc~ope";
    sc->version = (char *)"1~2";
    r->resource_spans[0]->schema_url = (char *)"rs~url";
    r->resource_spans[0]->scope_spans[0]->schema_url = (char *)"ss~url";
    size_t len;
    uint8_t *body = h_pack(r, &len);
    static const char *const markers[] = {"a~b", "k~ey", "va~l", "m~x", "k=v~", "e~v", "ek~", "ev~", "lk~", "lv~",
                                          "s~vc", "r~k", "r~v", "sc~ope", "1~2", "rs~url", "ss~url"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
        assert_int_equal(h_nul(body, len, markers[i]), 1);
    assert_non_null(memmem(body, len, "\x0a\x01~", 3)); /* the array's "~": a string of its own */
    h_nul(body, len, "\x0a\x01~");
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_proto(body, len, &st, &err);
    assert_non_null(b);
    assert_int_equal(b->nspans, 1);
    const ig_batch_span *x = &b->spans[0];
    assert_int_equal(x->name.len, 3);
    assert_memory_equal(x->name.s, "a\0b", 4);
    assert_int_equal(x->status_message.len, 3);
    assert_memory_equal(x->status_message.s, "m\0x", 4);
    assert_int_equal(x->trace_state.len, 4);
    assert_memory_equal(x->trace_state.s, "k=v\0", 5);
    assert_bstr(x->attrs, "{\"k\\u0000ey\":\"va\\u0000l\",\"arr\":[\"\\u0000\"]}");
    assert_int_equal(b->events[0].name.len, 3);
    assert_memory_equal(b->events[0].name.s, "e\0v", 4);
    assert_bstr(b->events[0].attrs, "{\"ek\\u0000\":\"ev\\u0000\"}");
    assert_int_equal(b->links[0].trace_state.len, 3);
    assert_bstr(b->links[0].attrs, "{\"lk\\u0000\":\"lv\\u0000\"}");
    assert_int_equal(b->resources[0].service.len, 4);
    assert_memory_equal(b->resources[0].service.s, "s\0vc", 5);
    assert_bstr(b->resources[0].attrs, "{\"service.name\":\"s\\u0000vc\",\"r\\u0000k\":\"r\\u0000v\"}");
    assert_int_equal(b->resources[0].schema_url.len, 6);
    assert_memory_equal(b->resources[0].schema_url.s, "rs\0url", 7);
    assert_int_equal(b->scopes[0].name.len, 6);
    assert_memory_equal(b->scopes[0].name.s, "sc\0ope", 7);
    assert_int_equal(b->scopes[0].version.len, 3);
    assert_memory_equal(b->scopes[0].version.s, "1\0" "2", 4);
    assert_int_equal(b->scopes[0].schema_url.len, 6);
    ig_batch_free(b);
}

/* ---- the two encodings of one request give one batch ---------------------------------- */

static void compare_batches(const ig_batch *a, const ig_batch *b)
{
    assert_int_equal(a->nspans, b->nspans);
    assert_int_equal(a->nevents, b->nevents);
    assert_int_equal(a->nlinks, b->nlinks);
    for (uint32_t i = 0; i < a->nspans; i++) {
        const ig_batch_span *x = &a->spans[i], *y = &b->spans[i];
        assert_memory_equal(x->trace_id, y->trace_id, 16);
        assert_memory_equal(x->span_id, y->span_id, 8);
        assert_int_equal(x->has_parent, y->has_parent);
        assert_string_equal(x->name.s, y->name.s);
        assert_string_equal(x->attrs.s, y->attrs.s);
        assert_string_equal(x->status_message.s, y->status_message.s);
        assert_true(x->start_ns == y->start_ns && x->end_ns == y->end_ns);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->status_code, y->status_code);
        assert_string_equal(a->resources[x->resource].attrs.s, b->resources[y->resource].attrs.s);
        assert_true(a->resources[x->resource].digest == b->resources[y->resource].digest);
        assert_true(a->scopes[x->scope].digest == b->scopes[y->scope].digest);
    }
    for (uint32_t i = 0; i < a->nevents; i++)
        assert_string_equal(a->events[i].attrs.s, b->events[i].attrs.s);
}

static void proto_and_json_agree(void **state)
{
    (void)state;
    ig_attr rattr[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 3, .v.s = "web"}};
    ig_resource res = {rattr, 1};
    ig_scope scope = {.name = "lib", .version = "9"};
    static const char *const tags[] = {"a", "b\n"};
    static const int64_t nums[] = {1, -2, 3};
    ig_attr attrs[] = {
        {.key = "s", .type = IG_ATTR_STRING, .len = 5, .v.s = "h\"ey\\"},
        {.key = "i", .type = IG_ATTR_INT, .v.i = INT64_MIN},
        {.key = "d", .type = IG_ATTR_DOUBLE, .v.d = 1e300},
        {.key = "b", .type = IG_ATTR_BOOL, .v.b = true},
        {.key = "sa", .type = IG_ATTR_STRING_ARRAY, .len = 2, .v.sa = tags},
        {.key = "ia", .type = IG_ATTR_INT_ARRAY, .len = 3, .v.ia = nums},
    };
    ig_event ev = {.name = "e", .time_ns = T0 + 3, .attrs = attrs, .nattrs = 1};
    ig_span_data spans[3];
    const ig_span_data *ptrs[3];
    for (int i = 0; i < 3; i++) {
        memset(&spans[i], 0, sizeof spans[i]);
        ig_span_data *s = &spans[i];
        s->resource = &res;
        s->scope = &scope;
        memset(s->trace_id, 0x40 + i, 16);
        memset(s->span_id, 0x50 + i, 8);
        s->has_parent = i > 0;
        memset(s->parent_span_id, 0x50, 8);
        s->name = i ? "child" : "root";
        s->kind = (uint8_t)i;
        s->start_ns = T0 + (uint64_t)i;
        s->end_ns = T0 + 1000;
        s->attrs = attrs;
        s->nattrs = 6;
        s->events = &ev;
        s->nevents = 1;
        s->status_code = (uint8_t)i;
        s->status_message = i == 2 ? "failed" : NULL;
        ptrs[i] = s;
    }
    ig_otlp_arena arena = {0};
    ig_strbuf pb = IG_STRBUF_INIT, js = IG_STRBUF_INIT;
    ig_otlp_encode_proto(ptrs, 3, &arena, &pb);
    ig_otlp_encode_json(ptrs, 3, &js);
    ig_decode_stats st1, st2;
    ig_err err;
    ig_batch *a = ig_decode_proto((const uint8_t *)pb.data, pb.len, &st1, &err);
    assert_non_null(a);
    ig_batch *b = ig_decode_json(js.data, js.len, &st2, &err);
    if (!b)
        fail_msg("%s", err.msg);
    compare_batches(a, b);
    assert_string_equal(a->spans[0].attrs.s, "{\"s\":\"h\\\"ey\\\\\",\"i\":-9223372036854775808,\"d\":1.0000000000000001e+300,"
                                             "\"b\":true,\"sa\":[\"a\",\"b\\n\"],\"ia\":[1,-2,3]}");
    ig_batch_free(a);
    ig_batch_free(b);
    ig_sb_free(&pb);
    ig_sb_free(&js);
    ig_otlp_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(proto_fields, teardown),
        cmocka_unit_test_teardown(resource_identity, teardown),
        cmocka_unit_test_teardown(rejects_invalid_spans, teardown),
        cmocka_unit_test_teardown(zero_parent_is_root_and_unknown_enums, teardown),
        cmocka_unit_test_teardown(long_attribute_value, teardown),
        cmocka_unit_test_teardown(nesting_limit, teardown),
        cmocka_unit_test_teardown(nesting_limit_json_as_protobuf, teardown),
        cmocka_unit_test_teardown(nesting_limit_resource_and_scope, teardown),
        cmocka_unit_test_teardown(hostile_nesting_on_the_wire, teardown),
        cmocka_unit_test_teardown(empty_events_are_counted_on_the_wire, teardown),
        cmocka_unit_test_teardown(empty_spans_are_counted_on_the_wire, teardown),
        cmocka_unit_test_teardown(malformed_protobuf, teardown),
        cmocka_unit_test_teardown(malformed_json, teardown),
        cmocka_unit_test_teardown(json_fields, teardown),
        cmocka_unit_test_teardown(json_strings_keep_nul, teardown),
        cmocka_unit_test_teardown(proto_strings_keep_nul, teardown),
        cmocka_unit_test_teardown(proto_and_json_agree, teardown),
    };
    return cmocka_run_group_tests_name("collect/decode", tests, NULL, NULL);
}
