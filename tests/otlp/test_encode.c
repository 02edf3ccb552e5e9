/*
 * tests/otlp/test_encode.c — OTLP encodings against ground truth: the
 * protobuf request is decoded again with protobuf-c and every field is
 * compared with the span records it came from; the JSON request is parsed
 * with json-c and checked against the OTLP/JSON mapping rules; responses
 * with and without partial_success are read back.
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
#include <sys/wait.h>

#include <json-c/json.h>

#include "exporters/otlp.h"
#include "utils/utf8.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "tests/otlp/fixture.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Req;
typedef Opentelemetry__Proto__Common__V1__AnyValue Any;
typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

static Req *encode_decode(const ig_span_data *const *spans, size_t n)
{
    ig_otlp_arena arena = {0};
    ig_strbuf buf = IG_STRBUF_INIT;
    ig_otlp_encode_proto(spans, n, &arena, &buf);
    Req *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, buf.len, (uint8_t *)buf.data);
    ig_sb_free(&buf);
    ig_otlp_arena_free(&arena);
    assert_non_null(r);
    return r;
}

static void free_req(Req *r)
{
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
}

/* Compares a decoded AnyValue with the attribute it came from. */
static void check_value(const Any *v, const ig_attr *a)
{
    assert_non_null(v);
    switch (a->type) {
    case IG_ATTR_STRING:
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
        assert_string_equal(v->string_value, a->v.s);
        return;
    case IG_ATTR_BOOL:
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
        assert_int_equal(v->bool_value, a->v.b);
        return;
    case IG_ATTR_INT:
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
        assert_true(v->int_value == a->v.i);
        return;
    case IG_ATTR_DOUBLE:
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
        assert_true(v->double_value == a->v.d);
        return;
    default:
        break;
    }
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    assert_int_equal(v->array_value->n_values, a->len);
    for (uint32_t i = 0; i < a->len; i++) {
        const Any *e = v->array_value->values[i];
        switch (a->type) {
        case IG_ATTR_STRING_ARRAY: assert_string_equal(e->string_value, a->v.sa[i]); break;
        case IG_ATTR_BOOL_ARRAY: assert_int_equal(e->bool_value, a->v.ba[i]); break;
        case IG_ATTR_INT_ARRAY: assert_true(e->int_value == a->v.ia[i]); break;
        default: assert_true(e->double_value == a->v.da[i]); break;
        }
    }
}

static void check_attrs(KV *const *kv, size_t n, const ig_attr *attrs, size_t nattrs)
{
    assert_int_equal(n, nattrs);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(kv[i]->key, attrs[i].key);
        check_value(kv[i]->value, &attrs[i]);
    }
}

static void check_bytes(ProtobufCBinaryData b, const uint8_t *want, size_t n)
{
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);
}

static void check_span(const Span *p, const ig_span_data *s)
{
    check_bytes(p->trace_id, s->trace_id, 16);
    check_bytes(p->span_id, s->span_id, 8);
    if (s->has_parent)
        check_bytes(p->parent_span_id, s->parent_span_id, 8);
    else
        assert_int_equal(p->parent_span_id.len, 0);
    assert_string_equal(p->trace_state, s->tracestate ? s->tracestate : "");
    uint32_t flags = s->flags | 0x100u | (s->has_parent && s->parent_is_remote ? 0x200u : 0);
    assert_int_equal(p->flags, flags);
    assert_string_equal(p->name, s->name);
    assert_int_equal(p->kind, s->kind);
    assert_true(p->start_time_unix_nano == s->start_ns);
    assert_true(p->end_time_unix_nano == s->end_ns);
    check_attrs(p->attributes, p->n_attributes, s->attrs, s->nattrs);
    assert_int_equal(p->dropped_attributes_count, s->dropped_attrs);
    assert_int_equal(p->n_events, s->nevents);
    for (uint32_t i = 0; i < s->nevents; i++) {
        assert_true(p->events[i]->time_unix_nano == s->events[i].time_ns);
        assert_string_equal(p->events[i]->name, s->events[i].name);
        check_attrs(p->events[i]->attributes, p->events[i]->n_attributes, s->events[i].attrs, s->events[i].nattrs);
        assert_int_equal(p->events[i]->dropped_attributes_count, s->events[i].dropped_attrs);
    }
    assert_int_equal(p->dropped_events_count, s->dropped_events);
    assert_int_equal(p->n_links, s->nlinks);
    for (uint32_t i = 0; i < s->nlinks; i++) {
        check_bytes(p->links[i]->trace_id, s->links[i].trace_id, 16);
        check_bytes(p->links[i]->span_id, s->links[i].span_id, 8);
        assert_string_equal(p->links[i]->trace_state, s->links[i].tracestate);
        check_attrs(p->links[i]->attributes, p->links[i]->n_attributes, s->links[i].attrs, s->links[i].nattrs);
        assert_int_equal(p->links[i]->dropped_attributes_count, s->links[i].dropped_attrs);
        assert_int_equal(p->links[i]->flags, s->links[i].flags | 0x100u);
    }
    assert_int_equal(p->dropped_links_count, s->dropped_links);
    if (s->status_code == IG_STATUS_UNSET) {
        assert_null(p->status);
    } else {
        assert_non_null(p->status);
        assert_int_equal(p->status->code, s->status_code);
        assert_string_equal(p->status->message, s->status_message ? s->status_message : "");
    }
}

static void test_proto_round_trip_every_field(void **state)
{
    (void)state;
    const ig_span_data *batch[FX_NSPANS];
    fx_batch(batch);
    Req *r = encode_decode(batch, FX_NSPANS);

    /* grouping: res1 {scope1: 0, 3; scope2: 1}, res2 {scope1: 2} */
    assert_int_equal(r->n_resource_spans, 2);
    check_attrs(r->resource_spans[0]->resource->attributes, r->resource_spans[0]->resource->n_attributes,
                fx_res1_attrs, 2);
    check_attrs(r->resource_spans[1]->resource->attributes, r->resource_spans[1]->resource->n_attributes,
                fx_res2_attrs, 1);
    assert_int_equal(r->resource_spans[0]->n_scope_spans, 2);
    assert_int_equal(r->resource_spans[1]->n_scope_spans, 1);

    const Opentelemetry__Proto__Trace__V1__ScopeSpans *a1 = r->resource_spans[0]->scope_spans[0];
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *a2 = r->resource_spans[0]->scope_spans[1];
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *b1 = r->resource_spans[1]->scope_spans[0];
    assert_string_equal(a1->scope->name, "lib.a");
    assert_string_equal(a1->scope->version, "1.2.3");
    check_attrs(a1->scope->attributes, a1->scope->n_attributes, fx_scope_attrs, 1);
    assert_string_equal(a2->scope->name, "lib.b");
    assert_string_equal(a2->scope->version, "");
    assert_string_equal(b1->scope->name, "lib.a");

    assert_int_equal(a1->n_spans, 2);
    assert_int_equal(a2->n_spans, 1);
    assert_int_equal(b1->n_spans, 1);
    check_span(a1->spans[0], &fx_spans[0]);
    check_span(a1->spans[1], &fx_spans[3]);
    check_span(a2->spans[0], &fx_spans[1]);
    check_span(b1->spans[0], &fx_spans[2]);
    free_req(r);
}

static void test_proto_arena_reuse_and_large_batch(void **state)
{
    (void)state;
    /* 3000 spans in one batch forces several arena chunks; a second,
     * smaller batch through the same arena must still decode exactly. */
    size_t n = 3000;
    const ig_span_data **batch = malloc(sizeof *batch * n);
    for (size_t i = 0; i < n; i++)
        batch[i] = &fx_spans[i % FX_NSPANS];
    ig_otlp_arena arena = {0};
    for (int round = 0; round < 2; round++) {
        size_t m = round ? 7 : n;
        ig_strbuf buf = IG_STRBUF_INIT;
        ig_otlp_encode_proto(batch, m, &arena, &buf);
        Req *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, buf.len, (uint8_t *)buf.data);
        assert_non_null(r);
        size_t total = 0;
        for (size_t i = 0; i < r->n_resource_spans; i++)
            for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
                total += r->resource_spans[i]->scope_spans[j]->n_spans;
        assert_int_equal(total, m);
        assert_int_equal(r->n_resource_spans, 2);
        check_span(r->resource_spans[0]->scope_spans[0]->spans[0], &fx_spans[0]);
        free_req(r);
        ig_sb_free(&buf);
    }
    ig_otlp_arena_free(&arena);
    free(batch);
}

/* The attribute cache (packed KeyValues reused from span to span) against
 * ground truth: the same key with other values and other types, values
 * that differ only past their first eight bytes, thousands of distinct
 * values (more than the cache takes in one batch), values too large to
 * cache and arrays, over several batches through one arena — every
 * attribute decodes to exactly what its span held. */
static void test_proto_attribute_cache(void **state)
{
    (void)state;
    enum { N = 3000, PER = 6 };
    static ig_span_data spans[N];
    static const ig_span_data *ptrs[N];
    static ig_attr attrs[N][PER];
    static char uniq[N][40], big[2][700];
    static const int64_t ia[] = {1, 2, 3};
    memset(big[0], 'x', sizeof big[0] - 1);
    memset(big[1], 'x', sizeof big[1] - 1);
    big[1][650] = 'y'; /* differs far from the start */
    for (int i = 0; i < N; i++) {
        snprintf(uniq[i], sizeof uniq[i], "value-differs-after-eight-%06d", i);
        spans[i] = fx_spans[2];
        spans[i].span_id[0] = (uint8_t)i;
        attrs[i][0] = (ig_attr){.key = "k", .type = IG_ATTR_STRING, .v.s = i % 3 ? "GET" : "PUT"};
        attrs[i][1] = (ig_attr){.key = "t", .type = (uint8_t)(i % 3 == 0 ? IG_ATTR_INT : i % 3 == 1 ? IG_ATTR_BOOL
                                                                                                    : IG_ATTR_DOUBLE)};
        if (i % 3 == 0)
            attrs[i][1].v.i = 1;
        else if (i % 3 == 1)
            attrs[i][1].v.b = true;
        else
            attrs[i][1].v.d = 1.0;
        attrs[i][2] = (ig_attr){.key = "unique", .type = IG_ATTR_STRING, .v.s = uniq[i]};
        attrs[i][3] = (ig_attr){.key = "big", .type = IG_ATTR_STRING, .v.s = big[i % 2]};
        attrs[i][4] = (ig_attr){.key = "ia", .type = IG_ATTR_INT_ARRAY, .len = 3, .v.ia = ia};
        attrs[i][5] = (ig_attr){.key = i % 2 ? "same-value-key-a" : "same-value-key-b", .type = IG_ATTR_INT,
                                .v.i = 200};
        spans[i].attrs = attrs[i];
        spans[i].nattrs = PER;
        ptrs[i] = &spans[i];
    }
    ig_otlp_arena arena = {0};
    /* one batch of all (more distinct attributes than the cache takes),
     * then batches of 1000 through the same (reset, then warm) cache */
    const size_t batches[][2] = {{0, N}, {0, 1000}, {1000, 1000}, {2000, 1000}, {0, 1000}, {500, 1000}};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        size_t first = batches[b][0], n = batches[b][1];
        ig_strbuf buf = IG_STRBUF_INIT;
        ig_otlp_encode_proto(ptrs + first, n, &arena, &buf);
        Req *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, buf.len, (uint8_t *)buf.data);
        assert_non_null(r);
        const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = r->resource_spans[0]->scope_spans[0];
        assert_int_equal(ss->n_spans, n);
        for (size_t i = 0; i < n; i++)
            check_span(ss->spans[i], &spans[first + i]);
        free_req(r);
        ig_sb_free(&buf);
    }
    ig_otlp_arena_free(&arena);
}

static void test_proto_empty_batch(void **state)
{
    (void)state;
    Req *r = encode_decode(NULL, 0);
    assert_int_equal(r->n_resource_spans, 0);
    free_req(r);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("missing JSON member %s in %s", key, json_object_to_json_string(o));
    return v;
}

static bool has(json_object *o, const char *key)
{
    return json_object_object_get_ex(o, key, NULL);
}

static json_object *idx(json_object *a, size_t i)
{
    assert_true(json_object_is_type(a, json_type_array));
    assert_true(i < json_object_array_length(a));
    return json_object_array_get_idx(a, i);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    assert_true(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static json_object *encode_json(void)
{
    const ig_span_data *batch[FX_NSPANS];
    fx_batch(batch);
    ig_strbuf buf = IG_STRBUF_INIT;
    ig_otlp_encode_json(batch, FX_NSPANS, &buf);
    assert_null(strchr(buf.data, '\n')); /* one line */
    json_object *root = json_tokener_parse(buf.data);
    ig_sb_free(&buf);
    assert_non_null(root);
    return root;
}

static void test_json_mapping(void **state)
{
    (void)state;
    json_object *root = encode_json();
    json_object *rss = get(root, "resourceSpans");
    assert_int_equal(json_object_array_length(rss), 2);
    json_object *rs0 = idx(rss, 0);
    json_object *rattrs = get(get(rs0, "resource"), "attributes");
    assert_string_equal(str(idx(rattrs, 0), "key"), "service.name");
    assert_string_equal(str(get(idx(rattrs, 0), "value"), "stringValue"), "svc-a");

    json_object *ss0 = idx(get(rs0, "scopeSpans"), 0);
    assert_string_equal(str(get(ss0, "scope"), "name"), "lib.a");
    assert_string_equal(str(get(ss0, "scope"), "version"), "1.2.3");
    json_object *span0 = idx(get(ss0, "spans"), 0);
    /* hex ids, lowercase */
    assert_string_equal(str(span0, "traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(str(span0, "spanId"), "00f067aa0ba902b7");
    assert_false(has(span0, "parentSpanId")); /* root */
    assert_false(has(span0, "traceState"));   /* default omitted */
    /* enums and fixed32 as numbers, 64-bit times as strings */
    assert_true(json_object_is_type(get(span0, "kind"), json_type_int));
    assert_int_equal(json_object_get_int(get(span0, "kind")), 2);
    assert_int_equal(json_object_get_int(get(span0, "flags")), 0x101);
    assert_string_equal(str(span0, "startTimeUnixNano"), "1700000000000000000");
    assert_string_equal(str(span0, "endTimeUnixNano"), "1700000000000001000");
    assert_int_equal(json_object_get_int(get(span0, "droppedAttributesCount")), 4);
    assert_int_equal(json_object_get_int(get(get(span0, "status"), "code")), 1);

    json_object *attrs = get(span0, "attributes");
    assert_int_equal(json_object_array_length(attrs), 8);
    assert_string_equal(str(get(idx(attrs, 0), "value"), "stringValue"), "hello");
    assert_true(json_object_get_boolean(get(get(idx(attrs, 1), "value"), "boolValue")));
    assert_string_equal(str(get(idx(attrs, 2), "value"), "intValue"), "-1234567890123");
    assert_true(json_object_get_double(get(get(idx(attrs, 3), "value"), "doubleValue")) == 3.5);
    json_object *sa = get(get(get(idx(attrs, 4), "value"), "arrayValue"), "values");
    assert_string_equal(str(idx(sa, 2), "stringValue"), "zzz");
    json_object *ia = get(get(get(idx(attrs, 6), "value"), "arrayValue"), "values");
    assert_string_equal(str(idx(ia, 2), "intValue"), "9223372036854775807");

    /* span 1 (scope lib.b): remote parent, tracestate, events, links, error */
    json_object *ss1 = idx(get(rs0, "scopeSpans"), 1);
    assert_false(has(get(ss1, "scope"), "version"));
    json_object *span1 = idx(get(ss1, "spans"), 0);
    assert_string_equal(str(span1, "parentSpanId"), "00f067aa0ba902b7");
    assert_string_equal(str(span1, "traceState"), "vendor=abc");
    assert_int_equal(json_object_get_int(get(span1, "flags")), 0x301);
    json_object *ev = idx(get(span1, "events"), 0);
    assert_string_equal(str(ev, "name"), "exception");
    assert_string_equal(str(ev, "timeUnixNano"), "1700000000000000100");
    assert_int_equal(json_object_get_int(get(ev, "droppedAttributesCount")), 2);
    assert_int_equal(json_object_get_int(get(span1, "droppedEventsCount")), 5);
    json_object *ln = idx(get(span1, "links"), 0);
    assert_string_equal(str(ln, "traceId"), "aabb0102030405060708090a0b0c0d0e");
    assert_string_equal(str(ln, "spanId"), "cc01020304050607");
    assert_string_equal(str(ln, "traceState"), "k=v");
    assert_int_equal(json_object_get_int(get(span1, "droppedLinksCount")), 6);
    assert_int_equal(json_object_get_int(get(get(span1, "status"), "code")), 2);
    assert_string_equal(str(get(span1, "status"), "message"), "boom");

    /* span 2: unset status omitted, flags 0x100 (not sampled, local) */
    json_object *span2 = idx(get(idx(get(idx(rss, 1), "scopeSpans"), 0), "spans"), 0);
    assert_false(has(span2, "status"));
    assert_false(has(span2, "attributes"));
    assert_int_equal(json_object_get_int(get(span2, "flags")), 0x100);
    json_object_put(root);
}

static void test_json_non_finite_doubles(void **state)
{
    (void)state;
    ig_attr attrs[] = {
        {.key = "nan", .type = IG_ATTR_DOUBLE, .v.d = NAN},
        {.key = "inf", .type = IG_ATTR_DOUBLE, .v.d = -INFINITY},
    };
    ig_span_data s = fx_spans[2];
    s.attrs = attrs;
    s.nattrs = 2;
    const ig_span_data *batch[] = {&s};
    ig_strbuf buf = IG_STRBUF_INIT;
    ig_otlp_encode_json(batch, 1, &buf);
    json_object *root = json_tokener_parse(buf.data);
    assert_non_null(root); /* still valid JSON */
    assert_non_null(strstr(buf.data, "\"doubleValue\":\"NaN\""));
    assert_non_null(strstr(buf.data, "\"doubleValue\":\"-Infinity\""));
    json_object_put(root);
    ig_sb_free(&buf);
}

static void test_json_escaping_round_trips(void **state)
{
    (void)state;
    static const char *const tricky[] = {"quote\" back\\slash", "line\nbreak\ttab\x01ctl", "caf\xc3\xa9 \xe2\x9c\x93", "</script>"};
    ig_attr attrs[4];
    for (int i = 0; i < 4; i++)
        attrs[i] = (ig_attr){.key = tricky[3 - i], .type = IG_ATTR_STRING, .len = (uint32_t)strlen(tricky[i]), .v.s = tricky[i]};
    ig_span_data s = fx_spans[2];
    s.name = tricky[0];
    s.attrs = attrs;
    s.nattrs = 4;
    const ig_span_data *batch[] = {&s};
    ig_strbuf buf = IG_STRBUF_INIT;
    ig_otlp_encode_json(batch, 1, &buf);
    json_object *root = json_tokener_parse(buf.data);
    assert_non_null(root);
    json_object *span = idx(get(idx(get(idx(get(root, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
    assert_string_equal(str(span, "name"), tricky[0]);
    json_object *a = get(span, "attributes");
    for (int i = 0; i < 4; i++) {
        assert_string_equal(str(idx(a, (size_t)i), "key"), tricky[3 - i]);
        assert_string_equal(str(get(idx(a, (size_t)i), "value"), "stringValue"), tricky[i]);
    }
    json_object_put(root);
    ig_sb_free(&buf);
}

/* ---- invalid UTF-8 ---------------------------------------------------------- */

/* A span whose every string field holds bytes that are not UTF-8: each
 * must come out as valid UTF-8 with one U+FFFD per maximal ill-formed
 * subsequence (JSON strings and protobuf `string` fields require UTF-8:
 * a Collector rejects the whole request otherwise). */
#define FFFD "\xEF\xBF\xBD"
static const char *const bad_sa[] = {"ok", "\xC3(", "\xF0\x9F\x98"};
static const ig_attr bad_attrs[] = {
    {.key = "k\xFF", .type = IG_ATTR_STRING, .len = 5, .v.s = "v\xFF\xFEw"},
    {.key = "arr", .type = IG_ATTR_STRING_ARRAY, .len = 3, .v.sa = bad_sa},
    {.key = "fine", .type = IG_ATTR_STRING, .len = 8, .v.s = "caf\xC3\xA9 ok"},
};
static const ig_attr bad_res_attrs[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 4, .v.s = "s\xC0\xAFx"}};
static const ig_resource bad_res = {bad_res_attrs, 1};
static const ig_scope bad_scope = {"lib\x80", "1\xED\xA0\x80", NULL, 0};
static const ig_event bad_events[] = {{"ev\xE2\x82", 1, bad_attrs, 1, 0}};
static const ig_link bad_links[] = {{{1}, {2}, 1, "k=\xFEv", bad_attrs, 1, 0}};

static void bad_span(ig_span_data *s)
{
    *s = fx_spans[1];
    s->resource = &bad_res;
    s->scope = &bad_scope;
    s->name = "GET /\xFF\xFE/x";
    s->tracestate = "v=\x80";
    s->attrs = bad_attrs;
    s->nattrs = 3;
    s->events = bad_events;
    s->nevents = 1;
    s->links = bad_links;
    s->nlinks = 1;
    s->status_message = "boom\xC3";
}

static void test_json_invalid_utf8_replaced(void **state)
{
    (void)state;
    ig_span_data s;
    bad_span(&s);
    const ig_span_data *batch[] = {&s};
    ig_strbuf buf = IG_STRBUF_INIT;
    ig_otlp_encode_json(batch, 1, &buf);
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex(tok, buf.data, (int)buf.len);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    json_tokener_free(tok);
    assert_non_null(root);
    json_object *rs = idx(get(root, "resourceSpans"), 0);
    assert_string_equal(str(get(idx(get(get(rs, "resource"), "attributes"), 0), "value"), "stringValue"), "s" FFFD FFFD "x");
    json_object *ss = idx(get(rs, "scopeSpans"), 0);
    assert_string_equal(str(get(ss, "scope"), "name"), "lib" FFFD);
    assert_string_equal(str(get(ss, "scope"), "version"), "1" FFFD FFFD FFFD);
    json_object *span = idx(get(ss, "spans"), 0);
    assert_string_equal(str(span, "name"), "GET /" FFFD FFFD "/x");
    assert_string_equal(str(span, "traceState"), "v=" FFFD);
    json_object *a = get(span, "attributes");
    assert_string_equal(str(idx(a, 0), "key"), "k" FFFD);
    assert_string_equal(str(get(idx(a, 0), "value"), "stringValue"), "v" FFFD FFFD "w");
    json_object *arr = get(get(get(idx(a, 1), "value"), "arrayValue"), "values");
    assert_string_equal(str(idx(arr, 1), "stringValue"), FFFD "(");
    assert_string_equal(str(idx(arr, 2), "stringValue"), FFFD);
    assert_string_equal(str(get(idx(a, 2), "value"), "stringValue"), "caf\xC3\xA9 ok");
    assert_string_equal(str(idx(get(span, "events"), 0), "name"), "ev" FFFD);
    assert_string_equal(str(idx(get(span, "links"), 0), "traceState"), "k=" FFFD "v");
    assert_string_equal(str(get(span, "status"), "message"), "boom" FFFD);
    json_object_put(root);

    /* Python's json module, reading the bytes as strict UTF-8, agrees. */
    FILE *py = popen("python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode(\"utf-8\", \"strict\"))' "
                     "2>/dev/null", "w");
    if (py) {
        fwrite(buf.data, 1, buf.len, py);
        int rc = pclose(py);
        if (WIFEXITED(rc) && WEXITSTATUS(rc) != 127) /* 127: no python3 here */
            assert_int_equal(WEXITSTATUS(rc), 0);
    }
    ig_sb_free(&buf);
}

static bool pb_valid(const char *s) { return s && ig_utf8_valid(s, strlen(s)); }

static void test_proto_invalid_utf8_replaced(void **state)
{
    (void)state;
    ig_span_data s;
    bad_span(&s);
    const ig_span_data *batch[] = {&s, &s};
    Req *r = encode_decode(batch, 2);
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = r->resource_spans[0];
    assert_string_equal(rs->resource->attributes[0]->value->string_value, "s" FFFD FFFD "x");
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[0];
    assert_string_equal(ss->scope->name, "lib" FFFD);
    assert_string_equal(ss->scope->version, "1" FFFD FFFD FFFD);
    assert_int_equal(ss->n_spans, 2);
    for (size_t i = 0; i < ss->n_spans; i++) {
        const Span *p = ss->spans[i];
        assert_string_equal(p->name, "GET /" FFFD FFFD "/x");
        assert_string_equal(p->trace_state, "v=" FFFD);
        assert_string_equal(p->attributes[0]->key, "k" FFFD);
        assert_string_equal(p->attributes[0]->value->string_value, "v" FFFD FFFD "w");
        const Opentelemetry__Proto__Common__V1__ArrayValue *arr = p->attributes[1]->value->array_value;
        assert_string_equal(arr->values[0]->string_value, "ok");
        assert_string_equal(arr->values[1]->string_value, FFFD "(");
        assert_string_equal(arr->values[2]->string_value, FFFD);
        assert_string_equal(p->attributes[2]->value->string_value, "caf\xC3\xA9 ok");
        assert_string_equal(p->events[0]->name, "ev" FFFD);
        assert_true(pb_valid(p->events[0]->attributes[0]->key));
        assert_string_equal(p->links[0]->trace_state, "k=" FFFD "v");
        assert_true(pb_valid(p->links[0]->attributes[0]->value->string_value));
        assert_string_equal(p->status->message, "boom" FFFD);
    }
    free_req(r);
}

/* ---- responses ------------------------------------------------------------ */

static void test_response_partial_success_proto(void **state)
{
    (void)state;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&resp);
    opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&ps);
    ps.rejected_spans = 42;
    ps.error_message = "too old";
    resp.partial_success = &ps;
    uint8_t buf[128];
    size_t len = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    int64_t rejected = -1;
    char msg[64];
    ig_err err;
    assert_int_equal(ig_otlp_parse_response(buf, len, false, &rejected, msg, sizeof msg, &err), 0);
    assert_int_equal(rejected, 42);
    assert_string_equal(msg, "too old");
    /* empty body = full success */
    assert_int_equal(ig_otlp_parse_response(buf, 0, false, &rejected, msg, sizeof msg, &err), 0);
    assert_int_equal(rejected, 0);
    /* garbage is an error */
    const uint8_t bad[] = {0x0a, 0xff, 0xff};
    assert_int_equal(ig_otlp_parse_response(bad, sizeof bad, false, &rejected, msg, sizeof msg, &err), -1);
}

static void test_response_partial_success_json(void **state)
{
    (void)state;
    int64_t rejected = -1;
    char msg[64];
    ig_err err;
    const char *a = "{\"partialSuccess\":{\"rejectedSpans\":\"7\",\"errorMessage\":\"bad spans\"}}";
    assert_int_equal(ig_otlp_parse_response((const uint8_t *)a, strlen(a), true, &rejected, msg, sizeof msg, &err), 0);
    assert_int_equal(rejected, 7);
    assert_string_equal(msg, "bad spans");
    const char *b = "{\"partial_success\":{\"rejected_spans\":3}}";
    assert_int_equal(ig_otlp_parse_response((const uint8_t *)b, strlen(b), true, &rejected, msg, sizeof msg, &err), 0);
    assert_int_equal(rejected, 3);
    const char *c = "{}";
    assert_int_equal(ig_otlp_parse_response((const uint8_t *)c, strlen(c), true, &rejected, msg, sizeof msg, &err), 0);
    assert_int_equal(rejected, 0);
    const char *d = "{\"partialSuccess\":";
    assert_int_equal(ig_otlp_parse_response((const uint8_t *)d, strlen(d), true, &rejected, msg, sizeof msg, &err), -1);
    assert_non_null(strstr(err.msg, "invalid JSON"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_round_trip_every_field),
        cmocka_unit_test(test_proto_arena_reuse_and_large_batch),
        cmocka_unit_test(test_proto_attribute_cache),
        cmocka_unit_test(test_proto_empty_batch),
        cmocka_unit_test(test_json_mapping),
        cmocka_unit_test(test_json_non_finite_doubles),
        cmocka_unit_test(test_json_escaping_round_trips),
        cmocka_unit_test(test_json_invalid_utf8_replaced),
        cmocka_unit_test(test_proto_invalid_utf8_replaced),
        cmocka_unit_test(test_response_partial_success_proto),
        cmocka_unit_test(test_response_partial_success_json),
    };
    return cmocka_run_group_tests_name("otlp_encode", tests, NULL, NULL);
}
