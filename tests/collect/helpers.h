/*
 * tests/collect/helpers.h — building OTLP requests for the collector's
 * tests: protobuf-c messages allocated from one test arena (h_reset frees
 * everything), packed into ExportTraceServiceRequest bodies.  Ids come
 * from small integers ("seeds"), so tests can name spans and parents:
 * trace id = 16 bytes ending in the seed, span id = 8 bytes ending in it.
 */
#ifndef IG_TESTS_COLLECT_HELPERS_H
#define IG_TESTS_COLLECT_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "collect/arena.h"
#include "collect/decode.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* The real OTLP messages (strings as C strings), as senders build them. */
typedef Opentelemetry__Proto__Common__V1__AnyValue PbAny;
typedef Opentelemetry__Proto__Common__V1__ArrayValue PbArray;
typedef Opentelemetry__Proto__Common__V1__KeyValueList PbKVList;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKV;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope PbScope;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Span__Event PbEvent;
typedef Opentelemetry__Proto__Trace__V1__Span__Link PbLink;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest PbRequest;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans PbResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans PbScopeSpans;

static ig_store_arena h_arena;

static inline void h_reset(void)
{
    ig_arena_free(&h_arena);
}

static inline void *h_alloc(size_t n)
{
    void *p = ig_arena_alloc(&h_arena, n);
    memset(p, 0, n);
    return p;
}

static inline ProtobufCBinaryData h_id(uint64_t seed, size_t len)
{
    ProtobufCBinaryData d = {len, h_alloc(len ? len : 1)};
    for (size_t i = 0; i < len && i < 8; i++)
        d.data[len - 1 - i] = (uint8_t)(seed >> (8 * i));
    return d;
}

static inline void h_id_bytes(uint64_t seed, uint8_t *out, size_t len)
{
    ProtobufCBinaryData d = h_id(seed, len);
    memcpy(out, d.data, len);
}

static inline PbKV *h_kv(const char *key, PbAny *v)
{
    PbKV *kv = h_alloc(sizeof *kv);
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

static inline PbAny *h_any(void)
{
    PbAny *v = h_alloc(sizeof *v);
    opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

static inline PbKV *h_str(const char *key, const char *s)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
    return h_kv(key, v);
}

static inline PbKV *h_int(const char *key, int64_t i)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    return h_kv(key, v);
}

static inline PbKV *h_dbl(const char *key, double d)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v->double_value = d;
    return h_kv(key, v);
}

static inline PbKV *h_bool(const char *key, bool b)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v->bool_value = b;
    return h_kv(key, v);
}

static inline PbKV *h_bytes(const char *key, const void *p, size_t n)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    v->bytes_value.len = n;
    v->bytes_value.data = h_alloc(n ? n : 1);
    memcpy(v->bytes_value.data, p, n);
    return h_kv(key, v);
}

/* An any-value nested `depth` arrays deep around the int 7. */
static inline PbAny *h_nested(int depth)
{
    PbAny *v = h_any();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = 7;
    for (int i = 0; i < depth; i++) {
        PbAny *outer = h_any();
        PbArray *a = h_alloc(sizeof *a);
        opentelemetry__proto__common__v1__array_value__init(a);
        a->n_values = 1;
        a->values = h_alloc(sizeof *a->values);
        a->values[0] = v;
        outer->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        outer->array_value = a;
        v = outer;
    }
    return v;
}

/* A span of trace `trace` with id `span`, parent `parent` (0: none). */
static inline PbSpan *h_span(uint64_t trace, uint64_t span, uint64_t parent, const char *name, uint64_t start, uint64_t end)
{
    PbSpan *s = h_alloc(sizeof *s);
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = h_id(trace, 16);
    s->span_id = h_id(span, 8);
    if (parent)
        s->parent_span_id = h_id(parent, 8);
    s->name = (char *)name;
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = end;
    return s;
}

static inline void h_attrs(PbSpan *s, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    s->n_attributes = n;
    s->attributes = h_alloc(n * sizeof *s->attributes);
    for (size_t i = 0; i < n; i++)
        s->attributes[i] = va_arg(ap, PbKV *);
    va_end(ap);
}

static inline void h_status(PbSpan *s, int code, const char *msg)
{
    s->status = h_alloc(sizeof *s->status);
    opentelemetry__proto__trace__v1__status__init(s->status);
    s->status->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    s->status->message = (char *)msg;
}

static inline void h_event(PbSpan *s, const char *name, uint64_t t, PbKV *attr)
{
    PbEvent *e = h_alloc(sizeof *e);
    opentelemetry__proto__trace__v1__span__event__init(e);
    e->name = (char *)name;
    e->time_unix_nano = t;
    if (attr) {
        e->n_attributes = 1;
        e->attributes = h_alloc(sizeof *e->attributes);
        e->attributes[0] = attr;
    }
    PbEvent **old = s->events;
    s->events = h_alloc((s->n_events + 1) * sizeof *s->events);
    if (s->n_events)
        memcpy(s->events, old, s->n_events * sizeof *old);
    s->events[s->n_events++] = e;
}

static inline void h_link(PbSpan *s, uint64_t trace, uint64_t span, size_t trace_len, PbKV *attr)
{
    PbLink *l = h_alloc(sizeof *l);
    opentelemetry__proto__trace__v1__span__link__init(l);
    l->trace_id = h_id(trace, trace_len);
    l->span_id = h_id(span, 8);
    l->trace_state = (char *)"k=v";
    if (attr) {
        l->n_attributes = 1;
        l->attributes = h_alloc(sizeof *l->attributes);
        l->attributes[0] = attr;
    }
    PbLink **old = s->links;
    s->links = h_alloc((s->n_links + 1) * sizeof *s->links);
    if (s->n_links)
        memcpy(s->links, old, s->n_links * sizeof *old);
    s->links[s->n_links++] = l;
}

/* A request with one resource (service.name = service) and one scope. */
static inline PbRequest *h_request(const char *service, PbSpan **spans, size_t n)
{
    PbRequest *r = h_alloc(sizeof *r);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    PbResourceSpans *rs = h_alloc(sizeof *rs);
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    PbResource *res = h_alloc(sizeof *res);
    opentelemetry__proto__resource__v1__resource__init(res);
    res->n_attributes = 2;
    res->attributes = h_alloc(2 * sizeof *res->attributes);
    res->attributes[0] = h_str("service.name", service);
    res->attributes[1] = h_str("host.name", "box");
    rs->resource = res;
    PbScopeSpans *ss = h_alloc(sizeof *ss);
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    PbScope *sc = h_alloc(sizeof *sc);
    opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
    sc->name = (char *)"test.scope";
    sc->version = (char *)"1.2";
    ss->scope = sc;
    ss->n_spans = n;
    ss->spans = spans;
    rs->n_scope_spans = 1;
    rs->scope_spans = h_alloc(sizeof *rs->scope_spans);
    rs->scope_spans[0] = ss;
    r->n_resource_spans = 1;
    r->resource_spans = h_alloc(sizeof *r->resource_spans);
    r->resource_spans[0] = rs;
    return r;
}

static inline uint8_t *h_pack(const PbRequest *r, size_t *len)
{
    *len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(r);
    uint8_t *buf = h_alloc(*len ? *len : 1);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(r, buf);
    return buf;
}

/* Turns each '~' of every occurrence of `marker` in a packed body into a
 * NUL (the messages' strings are C strings, so a NUL cannot be packed
 * directly; '~' keeps the length).  Returns the occurrences patched. */
static inline size_t h_nul(uint8_t *body, size_t len, const char *marker)
{
    size_t n = strlen(marker), found = 0;
    for (uint8_t *p = body; (p = memmem(p, len - (size_t)(p - body), marker, n)); p += n, found++)
        for (size_t i = 0; i < n; i++)
            p[i] = p[i] == '~' ? 0 : p[i];
    return found;
}

/* Decodes a packed request; asserts it is well-formed. */
static inline ig_batch *h_decode(const PbRequest *r, ig_decode_stats *st)
{
    size_t len;
    uint8_t *body = h_pack(r, &len);
    ig_err err;
    ig_batch *b = ig_decode_proto(body, len, st, &err);
    if (!b)
        fprintf(stderr, "decode: %s\n", err.msg);
    return b;
}

#endif
