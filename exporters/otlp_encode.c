/*
 * exporters/otlp_encode.c — ig_span_data batches to OTLP request bodies.
 *
 * Protobuf: a batch becomes one ExportTraceServiceRequest built as a
 * protobuf-c message tree and packed by protobuf-c.  Spans are grouped by
 * resource and then by instrumentation scope (compared by pointer: the SDK
 * shares one ig_resource per provider and one ig_scope per tracer), keeping
 * the order in which each group first appears.  The tree never copies
 * strings or ids: its fields point into the span records, which outlive the
 * call.  All tree nodes come from an arena that is rewound, not freed,
 * between batches, so steady-state encoding does no malloc at all.
 *
 * JSON: the same request in the OTLP/JSON mapping (protobuf JSON with
 * lowerCamelCase names, trace and span ids as lowercase hex, enums as
 * integers, 64-bit integers as decimal strings, default values omitted),
 * built as a json-c tree.
 *
 * Responses: partial_success is read from either encoding.
 */
#include "exporters/otlp.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue PbAny;
typedef Opentelemetry__Proto__Common__V1__ArrayValue PbArray;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKV;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope PbScope;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans PbResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans PbScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Span__Event PbEvent;
typedef Opentelemetry__Proto__Trace__V1__Span__Link PbLink;
typedef Opentelemetry__Proto__Trace__V1__Status PbStatus;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest PbRequest;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse PbResponse;

#define FLAG_HAS_IS_REMOTE 0x100u
#define FLAG_IS_REMOTE 0x200u

/* ---- arena ---------------------------------------------------------------- */

struct ig_otlp_chunk {
    struct ig_otlp_chunk *next;
    size_t size;
    _Alignas(16) char data[];
};

static void arena_add_chunk(ig_otlp_arena *a, size_t size)
{
    struct ig_otlp_chunk *c = ig_xmalloc(sizeof *c + size);
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->cur = c->data;
    a->end = c->data + size;
}

/* Rewinds the arena; when the last batch needed several chunks they are
 * merged into one big enough for it, so the arena settles on one chunk. */
static void arena_reset(ig_otlp_arena *a)
{
    if (!a->chunks)
        return;
    if (a->chunks->next) {
        size_t total = 0;
        for (struct ig_otlp_chunk *c = a->chunks; c; c = c->next)
            total += c->size;
        ig_otlp_arena_free(a);
        arena_add_chunk(a, total);
        return;
    }
    a->cur = a->chunks->data;
}

static void *arena_alloc(ig_otlp_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->cur || (size_t)(a->end - a->cur) < n) {
        size_t size = a->chunks ? a->chunks->size * 2 : 1 << 16;
        arena_add_chunk(a, size > n ? size : n);
    }
    void *p = a->cur;
    a->cur += n;
    return p;
}

void ig_otlp_arena_free(ig_otlp_arena *a)
{
    struct ig_otlp_chunk *c = a->chunks;
    while (c) {
        struct ig_otlp_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->cur = a->end = NULL;
}

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * ((n) ? (n) : 1)))

/* ---- protobuf: attributes ----------------------------------------------- */

static PbAny *pb_any(ig_otlp_arena *a)
{
    PbAny *v = ARENA_NEW(a, PbAny);
    opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

static PbAny *pb_any_string(ig_otlp_arena *a, const char *s)
{
    PbAny *v = pb_any(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)(s ? s : "");
    return v;
}

static PbAny *pb_any_bool(ig_otlp_arena *a, bool b)
{
    PbAny *v = pb_any(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v->bool_value = b;
    return v;
}

static PbAny *pb_any_int(ig_otlp_arena *a, int64_t i)
{
    PbAny *v = pb_any(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    return v;
}

static PbAny *pb_any_double(ig_otlp_arena *a, double d)
{
    PbAny *v = pb_any(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v->double_value = d;
    return v;
}

static PbAny *pb_any_array(ig_otlp_arena *a, const ig_attr *at)
{
    PbArray *arr = ARENA_NEW(a, PbArray);
    opentelemetry__proto__common__v1__array_value__init(arr);
    arr->n_values = at->len;
    arr->values = ARENA_ARRAY(a, PbAny *, at->len);
    for (uint32_t i = 0; i < at->len; i++) {
        switch (at->type) {
        case IG_ATTR_STRING_ARRAY: arr->values[i] = pb_any_string(a, at->v.sa[i]); break;
        case IG_ATTR_BOOL_ARRAY: arr->values[i] = pb_any_bool(a, at->v.ba[i]); break;
        case IG_ATTR_INT_ARRAY: arr->values[i] = pb_any_int(a, at->v.ia[i]); break;
        default: arr->values[i] = pb_any_double(a, at->v.da[i]); break;
        }
    }
    PbAny *v = pb_any(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = arr;
    return v;
}

static PbAny *pb_value(ig_otlp_arena *a, const ig_attr *at)
{
    switch (at->type) {
    case IG_ATTR_STRING: return pb_any_string(a, at->v.s);
    case IG_ATTR_BOOL: return pb_any_bool(a, at->v.b);
    case IG_ATTR_INT: return pb_any_int(a, at->v.i);
    case IG_ATTR_DOUBLE: return pb_any_double(a, at->v.d);
    default: return pb_any_array(a, at);
    }
}

static PbKV **pb_attrs(ig_otlp_arena *a, const ig_attr *attrs, size_t n)
{
    if (!n)
        return NULL;
    PbKV **out = ARENA_ARRAY(a, PbKV *, n);
    PbKV *kvs = ARENA_ARRAY(a, PbKV, n);
    for (size_t i = 0; i < n; i++) {
        opentelemetry__proto__common__v1__key_value__init(&kvs[i]);
        kvs[i].key = (char *)(attrs[i].key ? attrs[i].key : "");
        kvs[i].value = pb_value(a, &attrs[i]);
        out[i] = &kvs[i];
    }
    return out;
}

/* ---- protobuf: spans ------------------------------------------------------ */

static ProtobufCBinaryData pb_bytes(const uint8_t *p, size_t n)
{
    return (ProtobufCBinaryData){n, (uint8_t *)p};
}

static PbEvent **pb_events(ig_otlp_arena *a, const ig_span_data *s)
{
    if (!s->nevents)
        return NULL;
    PbEvent **out = ARENA_ARRAY(a, PbEvent *, s->nevents);
    for (uint32_t i = 0; i < s->nevents; i++) {
        const ig_event *e = &s->events[i];
        PbEvent *pe = ARENA_NEW(a, PbEvent);
        opentelemetry__proto__trace__v1__span__event__init(pe);
        pe->time_unix_nano = e->time_ns;
        pe->name = (char *)(e->name ? e->name : "");
        pe->n_attributes = e->nattrs;
        pe->attributes = pb_attrs(a, e->attrs, e->nattrs);
        pe->dropped_attributes_count = e->dropped_attrs;
        out[i] = pe;
    }
    return out;
}

static PbLink **pb_links(ig_otlp_arena *a, const ig_span_data *s)
{
    if (!s->nlinks)
        return NULL;
    PbLink **out = ARENA_ARRAY(a, PbLink *, s->nlinks);
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const ig_link *l = &s->links[i];
        PbLink *pl = ARENA_NEW(a, PbLink);
        opentelemetry__proto__trace__v1__span__link__init(pl);
        pl->trace_id = pb_bytes(l->trace_id, 16);
        pl->span_id = pb_bytes(l->span_id, 8);
        pl->trace_state = (char *)(l->tracestate ? l->tracestate : "");
        pl->n_attributes = l->nattrs;
        pl->attributes = pb_attrs(a, l->attrs, l->nattrs);
        pl->dropped_attributes_count = l->dropped_attrs;
        pl->flags = l->flags | FLAG_HAS_IS_REMOTE;
        out[i] = pl;
    }
    return out;
}

static uint32_t span_flags(const ig_span_data *s)
{
    return s->flags | FLAG_HAS_IS_REMOTE | (s->has_parent && s->parent_is_remote ? FLAG_IS_REMOTE : 0);
}

static PbSpan *pb_span(ig_otlp_arena *a, const ig_span_data *s)
{
    PbSpan *p = ARENA_NEW(a, PbSpan);
    opentelemetry__proto__trace__v1__span__init(p);
    p->trace_id = pb_bytes(s->trace_id, 16);
    p->span_id = pb_bytes(s->span_id, 8);
    p->trace_state = (char *)(s->tracestate ? s->tracestate : "");
    if (s->has_parent)
        p->parent_span_id = pb_bytes(s->parent_span_id, 8);
    p->flags = span_flags(s);
    p->name = (char *)(s->name ? s->name : "");
    p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
    p->start_time_unix_nano = s->start_ns;
    p->end_time_unix_nano = s->end_ns;
    p->n_attributes = s->nattrs;
    p->attributes = pb_attrs(a, s->attrs, s->nattrs);
    p->dropped_attributes_count = s->dropped_attrs;
    p->n_events = s->nevents;
    p->events = pb_events(a, s);
    p->dropped_events_count = s->dropped_events;
    p->n_links = s->nlinks;
    p->links = pb_links(a, s);
    p->dropped_links_count = s->dropped_links;
    if (s->status_code != IG_STATUS_UNSET || (s->status_message && *s->status_message)) {
        PbStatus *st = ARENA_NEW(a, PbStatus);
        opentelemetry__proto__trace__v1__status__init(st);
        st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status_code;
        st->message = (char *)(s->status_message ? s->status_message : "");
        p->status = st;
    }
    return p;
}

/* ---- grouping -------------------------------------------------------------- */

typedef struct span_group {
    const ig_resource *res;
    const ig_scope *scope;
    size_t count;
    PbScopeSpans *ss; /* protobuf: the group's node once built */
    bool emitted;     /* JSON: the group's node was added */
} span_group;

/* Assigns every span a group (resource, scope) in first-seen order.
 * Returns the number of groups; gid[i] is span i's group. */
static size_t group_spans(const ig_span_data *const *spans, size_t n, span_group *groups, size_t *gid)
{
    size_t ng = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        const ig_span_data *s = spans[i];
        size_t g = last;
        if (!(ng && groups[g].res == s->resource && groups[g].scope == s->scope)) {
            for (g = 0; g < ng; g++)
                if (groups[g].res == s->resource && groups[g].scope == s->scope)
                    break;
            if (g == ng)
                groups[ng++] = (span_group){s->resource, s->scope, 0, NULL, false};
        }
        groups[g].count++;
        gid[i] = last = g;
    }
    return ng;
}

static PbScopeSpans *pb_scope_spans(ig_otlp_arena *a, span_group *g)
{
    PbScopeSpans *ss = ARENA_NEW(a, PbScopeSpans);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (g->scope) {
        PbScope *sc = ARENA_NEW(a, PbScope);
        opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
        sc->name = (char *)(g->scope->name ? g->scope->name : "");
        sc->version = (char *)(g->scope->version ? g->scope->version : "");
        sc->n_attributes = g->scope->nattrs;
        sc->attributes = pb_attrs(a, g->scope->attrs, g->scope->nattrs);
        ss->scope = sc;
    }
    ss->spans = ARENA_ARRAY(a, PbSpan *, g->count);
    return ss;
}

static PbResourceSpans *pb_resource_spans(ig_otlp_arena *a, span_group *groups, size_t ng, size_t first)
{
    PbResourceSpans *rs = ARENA_NEW(a, PbResourceSpans);
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    const ig_resource *r = groups[first].res;
    if (r) {
        PbResource *pr = ARENA_NEW(a, PbResource);
        opentelemetry__proto__resource__v1__resource__init(pr);
        pr->n_attributes = r->nattrs;
        pr->attributes = pb_attrs(a, r->attrs, r->nattrs);
        rs->resource = pr;
    }
    rs->scope_spans = ARENA_ARRAY(a, PbScopeSpans *, ng - first);
    for (size_t g = first; g < ng; g++) {
        if (groups[g].res != r || groups[g].ss)
            continue;
        groups[g].ss = pb_scope_spans(a, &groups[g]);
        rs->scope_spans[rs->n_scope_spans++] = groups[g].ss;
    }
    return rs;
}

void ig_otlp_encode_proto(const ig_span_data *const *spans, size_t n, ig_otlp_arena *a, ig_strbuf *out)
{
    arena_reset(a);
    span_group *groups = ARENA_ARRAY(a, span_group, n);
    size_t *gid = ARENA_ARRAY(a, size_t, n);
    size_t ng = group_spans(spans, n, groups, gid);

    PbRequest req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.resource_spans = ARENA_ARRAY(a, PbResourceSpans *, ng);
    for (size_t g = 0; g < ng; g++)
        if (!groups[g].ss)
            req.resource_spans[req.n_resource_spans++] = pb_resource_spans(a, groups, ng, g);
    for (size_t i = 0; i < n; i++) {
        PbScopeSpans *ss = groups[gid[i]].ss;
        ss->spans[ss->n_spans++] = pb_span(a, spans[i]);
    }

    size_t size = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    ig_sb_reserve(out, size);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, (uint8_t *)out->data + out->len);
    out->len += size;
    out->data[out->len] = '\0';
}

/* ---- JSON ------------------------------------------------------------------ */

static json_object *js_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[33];
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return json_object_new_string(buf);
}

static json_object *js_u64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_object_new_string(buf);
}

static json_object *js_i64(int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return json_object_new_string(buf);
}

/* Protobuf JSON writes non-finite doubles as strings. */
static json_object *js_double(double d)
{
    if (isnan(d))
        return json_object_new_string("NaN");
    if (isinf(d))
        return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
    return json_object_new_double(d);
}

static json_object *js_any(const char *member, json_object *v)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, member, v);
    return o;
}

static json_object *js_array_value(const ig_attr *at)
{
    json_object *vals = json_object_new_array_ext((int)at->len);
    for (uint32_t i = 0; i < at->len; i++) {
        json_object *v;
        switch (at->type) {
        case IG_ATTR_STRING_ARRAY:
            v = js_any("stringValue", json_object_new_string(at->v.sa[i] ? at->v.sa[i] : ""));
            break;
        case IG_ATTR_BOOL_ARRAY: v = js_any("boolValue", json_object_new_boolean(at->v.ba[i])); break;
        case IG_ATTR_INT_ARRAY: v = js_any("intValue", js_i64(at->v.ia[i])); break;
        default: v = js_any("doubleValue", js_double(at->v.da[i])); break;
        }
        json_object_array_add(vals, v);
    }
    return js_any("arrayValue", js_any("values", vals));
}

static json_object *js_value(const ig_attr *at)
{
    switch (at->type) {
    case IG_ATTR_STRING:
        return js_any("stringValue", json_object_new_string_len(at->v.s ? at->v.s : "", at->v.s ? (int)at->len : 0));
    case IG_ATTR_BOOL: return js_any("boolValue", json_object_new_boolean(at->v.b));
    case IG_ATTR_INT: return js_any("intValue", js_i64(at->v.i));
    case IG_ATTR_DOUBLE: return js_any("doubleValue", js_double(at->v.d));
    default: return js_array_value(at);
    }
}

static void js_add_attrs(json_object *o, const ig_attr *attrs, size_t n, uint32_t dropped)
{
    if (n) {
        json_object *arr = json_object_new_array_ext((int)n);
        for (size_t i = 0; i < n; i++) {
            json_object *kv = json_object_new_object();
            json_object_object_add(kv, "key", json_object_new_string(attrs[i].key ? attrs[i].key : ""));
            json_object_object_add(kv, "value", js_value(&attrs[i]));
            json_object_array_add(arr, kv);
        }
        json_object_object_add(o, "attributes", arr);
    }
    if (dropped)
        json_object_object_add(o, "droppedAttributesCount", json_object_new_int64(dropped));
}

static void js_add_string(json_object *o, const char *key, const char *s)
{
    if (s && *s)
        json_object_object_add(o, key, json_object_new_string(s));
}

static void js_add_uint(json_object *o, const char *key, uint32_t v)
{
    if (v)
        json_object_object_add(o, key, json_object_new_int64(v));
}

static json_object *js_event(const ig_event *e)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "timeUnixNano", js_u64(e->time_ns));
    js_add_string(o, "name", e->name);
    js_add_attrs(o, e->attrs, e->nattrs, e->dropped_attrs);
    return o;
}

static json_object *js_link(const ig_link *l)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "traceId", js_hex(l->trace_id, 16));
    json_object_object_add(o, "spanId", js_hex(l->span_id, 8));
    js_add_string(o, "traceState", l->tracestate);
    js_add_attrs(o, l->attrs, l->nattrs, l->dropped_attrs);
    json_object_object_add(o, "flags", json_object_new_int64(l->flags | FLAG_HAS_IS_REMOTE));
    return o;
}

static json_object *js_span(const ig_span_data *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "traceId", js_hex(s->trace_id, 16));
    json_object_object_add(o, "spanId", js_hex(s->span_id, 8));
    js_add_string(o, "traceState", s->tracestate);
    if (s->has_parent)
        json_object_object_add(o, "parentSpanId", js_hex(s->parent_span_id, 8));
    json_object_object_add(o, "flags", json_object_new_int64(span_flags(s)));
    json_object_object_add(o, "name", json_object_new_string(s->name ? s->name : ""));
    js_add_uint(o, "kind", s->kind);
    json_object_object_add(o, "startTimeUnixNano", js_u64(s->start_ns));
    json_object_object_add(o, "endTimeUnixNano", js_u64(s->end_ns));
    js_add_attrs(o, s->attrs, s->nattrs, s->dropped_attrs);
    if (s->nevents) {
        json_object *arr = json_object_new_array_ext((int)s->nevents);
        for (uint32_t i = 0; i < s->nevents; i++)
            json_object_array_add(arr, js_event(&s->events[i]));
        json_object_object_add(o, "events", arr);
    }
    js_add_uint(o, "droppedEventsCount", s->dropped_events);
    if (s->nlinks) {
        json_object *arr = json_object_new_array_ext((int)s->nlinks);
        for (uint32_t i = 0; i < s->nlinks; i++)
            json_object_array_add(arr, js_link(&s->links[i]));
        json_object_object_add(o, "links", arr);
    }
    js_add_uint(o, "droppedLinksCount", s->dropped_links);
    if (s->status_code != IG_STATUS_UNSET || (s->status_message && *s->status_message)) {
        json_object *st = json_object_new_object();
        js_add_string(st, "message", s->status_message);
        js_add_uint(st, "code", s->status_code);
        json_object_object_add(o, "status", st);
    }
    return o;
}

static json_object *js_scope_spans(const ig_scope *sc)
{
    json_object *ss = json_object_new_object();
    if (sc) {
        json_object *o = json_object_new_object();
        js_add_string(o, "name", sc->name);
        js_add_string(o, "version", sc->version);
        js_add_attrs(o, sc->attrs, sc->nattrs, 0);
        json_object_object_add(ss, "scope", o);
    }
    json_object_object_add(ss, "spans", json_object_new_array());
    return ss;
}

static json_object *js_resource_spans(const ig_resource *r)
{
    json_object *rs = json_object_new_object();
    if (r) {
        json_object *o = json_object_new_object();
        js_add_attrs(o, r->attrs, r->nattrs, 0);
        json_object_object_add(rs, "resource", o);
    }
    json_object_object_add(rs, "scopeSpans", json_object_new_array());
    return rs;
}

void ig_otlp_encode_json(const ig_span_data *const *spans, size_t n, ig_strbuf *out)
{
    span_group *groups = ig_xmalloc(sizeof *groups * (n ? n : 1));
    size_t *gid = ig_xmalloc(sizeof *gid * (n ? n : 1));
    json_object **scope_arr = ig_xmalloc(sizeof *scope_arr * (n ? n : 1));
    size_t ng = group_spans(spans, n, groups, gid);

    json_object *root = json_object_new_object();
    json_object *rss = json_object_new_array();
    json_object_object_add(root, "resourceSpans", rss);
    for (size_t g = 0; g < ng; g++) {
        if (groups[g].emitted)
            continue;
        json_object *rs = js_resource_spans(groups[g].res);
        json_object *sss = json_object_object_get(rs, "scopeSpans");
        for (size_t h = g; h < ng; h++) {
            if (groups[h].res != groups[g].res)
                continue;
            json_object *ss = js_scope_spans(groups[h].scope);
            json_object_array_add(sss, ss);
            scope_arr[h] = json_object_object_get(ss, "spans");
            groups[h].emitted = true;
        }
        json_object_array_add(rss, rs);
    }
    for (size_t i = 0; i < n; i++)
        json_object_array_add(scope_arr[gid[i]], js_span(spans[i]));

    size_t len;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    ig_sb_append(out, text, len);
    json_object_put(root);
    free(groups);
    free(gid);
    free(scope_arr);
}

/* ---- responses ------------------------------------------------------------- */

static json_object *js_member(json_object *o, const char *camel, const char *snake)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, camel, &v))
        json_object_object_get_ex(o, snake, &v);
    return v;
}

static int parse_response_json(const uint8_t *body, size_t len, int64_t *rejected, char *msg, size_t msglen, ig_err *err)
{
    json_tokener *tok = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tok, (const char *)body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return ig_err_set(err, "response: invalid JSON ExportTraceServiceResponse");
    }
    json_object *ps = js_member(root, "partialSuccess", "partial_success");
    if (ps && json_object_is_type(ps, json_type_object)) {
        json_object *r = js_member(ps, "rejectedSpans", "rejected_spans");
        if (r && (json_object_is_type(r, json_type_int) || json_object_is_type(r, json_type_string)))
            *rejected = json_object_get_int64(r);
        json_object *m = js_member(ps, "errorMessage", "error_message");
        if (m && json_object_is_type(m, json_type_string) && msglen)
            snprintf(msg, msglen, "%s", json_object_get_string(m));
    }
    json_object_put(root);
    return 0;
}

int ig_otlp_parse_response(const uint8_t *body, size_t len, bool json, int64_t *rejected,
                           char *msg, size_t msglen, ig_err *err)
{
    *rejected = 0;
    if (msglen)
        msg[0] = '\0';
    if (len == 0)
        return 0;
    if (json)
        return parse_response_json(body, len, rejected, msg, msglen, err);
    PbResponse *r = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, len, body);
    if (!r)
        return ig_err_set(err, "response: invalid protobuf ExportTraceServiceResponse");
    if (r->partial_success) {
        *rejected = r->partial_success->rejected_spans;
        if (msglen && r->partial_success->error_message)
            snprintf(msg, msglen, "%s", r->partial_success->error_message);
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
    return 0;
}
