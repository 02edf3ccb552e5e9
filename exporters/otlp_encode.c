/*
 * exporters/otlp_encode.c — ig_span_data batches to OTLP request bodies.
 *
 * Protobuf: a batch becomes one ExportTraceServiceRequest built as a
 * protobuf-c message tree and packed by protobuf-c.  Spans are grouped by
 * resource and then by instrumentation scope (compared by pointer: the SDK
 * shares one ig_resource per provider and one ig_scope per tracer), keeping
 * the order in which each group first appears.  The tree never copies
 * strings or ids: its fields point into the span records, which outlive the
 * call (except a string that is not valid UTF-8: protobuf `string` fields
 * must be UTF-8 and a Collector rejects the whole request otherwise, so it
 * gets an arena copy with U+FFFD in place of each ill-formed subsequence;
 * JSON strings get the same).  All tree nodes come from an arena that is rewound, not freed,
 * between batches, so steady-state encoding does no malloc at all.
 *
 * JSON: the same request in the OTLP/JSON mapping (protobuf JSON with
 * lowerCamelCase names, trace and span ids as lowercase hex, enums as
 * integers, 64-bit integers as decimal strings, default values omitted),
 * streamed with json-c doing the escaping.
 *
 * Responses: partial_success is read from either encoding.
 */
#include "exporters/otlp.h"
#include "utils/utf8.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "utils/jsonbudget.h"

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

static void free_chunks(ig_otlp_arena *a);

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
        free_chunks(a);
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

static void free_chunks(ig_otlp_arena *a)
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

void ig_otlp_arena_free(ig_otlp_arena *a)
{
    free_chunks(a);
    ig_sb_free(&a->spans);
    free(a->kv);
    a->kv = NULL;
}

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * ((n) ? (n) : 1)))

/* A string for a protobuf `string` field, which must be UTF-8: s itself
 * (NULL: ""), or when it is not valid UTF-8 a copy in the arena with
 * U+FFFD for each ill-formed subsequence; a->grown counts the bytes the
 * copies added, for the buffer bound of pack_span. */
static char *pb_str(ig_otlp_arena *a, const char *s)
{
    if (!s)
        return (char *)"";
    size_t n = strlen(s);
    if (__builtin_expect(ig_utf8_valid(s, n), 1))
        return (char *)s;
    char *t = arena_alloc(a, IG_UTF8_SANITIZED_MAX(n) + 1);
    size_t m = ig_utf8_sanitize_to(t, s, n);
    t[m] = '\0';
    a->grown += m - n;
    return t;
}

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
    v->string_value = pb_str(a, s);
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
        kvs[i].key = pb_str(a, attrs[i].key);
        kvs[i].value = pb_value(a, &attrs[i]);
        out[i] = &kvs[i];
    }
    return out;
}

/* ---- protobuf: the attribute cache ----------------------------------------- */

/*
 * Most span attributes repeat from span to span with the same key and
 * value (a method, a status code, a route), and packing one KeyValue with
 * its AnyValue through protobuf-c's generic packer costs more than the
 * rest of the span.  So a scalar attribute is packed once (by the
 * generated KeyValue packer, after UTF-8 repair) into a pool, found again
 * by a hash of its key, type and value bytes (compared in full on a hit),
 * and copied: the span carries its attributes as protobuf-c unknown
 * fields with the attributes' field number (9), which protobuf-c writes
 * verbatim — the same bytes on the wire.  The pool and table have fixed
 * sizes; when one fills up, nothing more is cached until the next batch
 * starts from an empty cache.  Arrays and large values are packed per
 * span.
 */
#define KV_SLOTS 4096          /* power of two */
#define KV_POOL (1u << 20)
#define KV_MAX_ITEM 512        /* key + value bytes worth caching */
#define SPAN_ATTRS_FIELD 9     /* opentelemetry.proto.trace.v1.Span.attributes */

typedef struct kv_slot {
    uint64_t hash;             /* 0: empty */
    uint32_t off;              /* pool: key, value, then the length-prefixed KeyValue */
    uint16_t klen, vlen, plen;
    uint8_t type;
} kv_slot;

struct ig_otlp_kvcache {
    kv_slot slots[KV_SLOTS];
    size_t used;
    size_t pool_len;
    bool full;                 /* start again at the next batch */
    uint8_t pool[KV_POOL];
};

static void kv_reset(struct ig_otlp_kvcache *kv)
{
    memset(kv->slots, 0, sizeof kv->slots);
    kv->used = kv->pool_len = 0;
    kv->full = false;
}

/* protobuf-c writes an unknown field as tag + data, so a length-delimited
 * one carries its own length prefix: a base-128 varint. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* A fast hash of a cache key's bytes (wyhash's 64x64->128 multiply mix;
 * a miss only costs a packing, and a hit is compared in full). */
static inline uint64_t kv_mix(uint64_t a, uint64_t b)
{
    unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static uint64_t kv_hash(const void *data, size_t n, uint64_t h)
{
    const uint8_t *p = data;
    h ^= n * 0x9e3779b97f4a7c15ull;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = kv_mix(h ^ v, 0xa0761d6478bd642full);
    }
    uint64_t v = 0;
    if (n >= 4) { /* two overlapping 4-byte loads cover 4..7 bytes */
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        v = (uint64_t)lo << 32 | hi;
    } else if (n) {
        v = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
    }
    return kv_mix(h ^ v, 0xe7037ed1a0b428dbull);
}

/* memcmp(a, b, n) == 0 for the short keys and values of attributes: eight
 * bytes at a time, the tail with overlapping loads, no call. */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x, y;
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
    }
    if (n >= 4) {
        uint32_t p, q, r, t;
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        memcpy(&r, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return p == q && r == t;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The bytes that identify a scalar attribute's value. */
static size_t value_bytes(const ig_attr *at, const void **p)
{
    switch (at->type) {
    case IG_ATTR_STRING: *p = at->v.s ? at->v.s : ""; return strlen(*p);
    case IG_ATTR_BOOL: *p = &at->v.b; return 1;
    default: *p = &at->v.i; return 8; /* int, double: the 8 bytes */
    }
}

/* Packs attribute `at` with its length prefix at `out` (room for
 * kv_bound bytes); returns the length. */
static size_t pack_kv(ig_otlp_arena *a, const ig_attr *at, uint8_t *out)
{
    PbKV kv;
    opentelemetry__proto__common__v1__key_value__init(&kv);
    kv.key = pb_str(a, at->key);
    kv.value = pb_value(a, at);
    size_t size = opentelemetry__proto__common__v1__key_value__get_packed_size(&kv);
    size_t pre = put_varint(out, size);
    opentelemetry__proto__common__v1__key_value__pack(&kv, out + pre);
    return pre + size;
}

/* Upper bound of pack_kv's output (every byte of text may become a
 * 3-byte U+FFFD; wrappers and scalars fit in 64 bytes, array elements in
 * 24 each). */
static size_t kv_bound(const ig_attr *at)
{
    size_t b = 64 + 3 * (at->key ? strlen(at->key) : 0);
    if (at->type == IG_ATTR_STRING)
        b += 3 * (at->v.s ? strlen(at->v.s) : 0);
    else if (at->type >= IG_ATTR_STRING_ARRAY)
        b += 24 + (size_t)at->len * 24;
    if (at->type == IG_ATTR_STRING_ARRAY)
        for (uint32_t k = 0; k < at->len; k++)
            b += 3 * (at->v.sa[k] ? strlen(at->v.sa[k]) : 0);
    return b;
}

/* The length-prefixed packed KeyValue of `at`: from the cache, packed
 * into it, or (arrays, large values, a full cache) into the arena. */
static ProtobufCMessageUnknownField span_attr(ig_otlp_arena *a, const ig_attr *at)
{
    ProtobufCMessageUnknownField f = {.tag = SPAN_ATTRS_FIELD, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED};
    struct ig_otlp_kvcache *kv = a->kv;
    const char *key = at->key ? at->key : "";
    size_t klen = at->key_len && at->key_len < 0xffff ? at->key_len : strlen(key);
    const void *val = NULL;
    size_t vlen = at->type < IG_ATTR_STRING_ARRAY ? value_bytes(at, &val) : 0;
    if (kv && at->type < IG_ATTR_STRING_ARRAY && klen + vlen <= KV_MAX_ITEM) {
        uint64_t h = kv_hash(val, vlen, kv_hash(key, klen, at->type)) | 1;
        size_t i = h & (KV_SLOTS - 1);
        for (; kv->slots[i].hash; i = (i + 1) & (KV_SLOTS - 1)) {
            const kv_slot *e = &kv->slots[i];
            if (e->hash == h && e->type == at->type && e->klen == klen && e->vlen == vlen &&
                same_bytes(kv->pool + e->off, (const uint8_t *)key, klen) &&
                same_bytes(kv->pool + e->off + klen, val, vlen)) {
                f.len = e->plen;
                f.data = kv->pool + e->off + klen + vlen;
                return f;
            }
        }
        size_t need = klen + vlen + kv_bound(at);
        if (!kv->full && kv->used < KV_SLOTS / 2 && kv->pool_len + need <= KV_POOL) {
            kv_slot *e = &kv->slots[i];
            uint8_t *p = kv->pool + kv->pool_len;
            memcpy(p, key, klen);
            memcpy(p + klen, val, vlen);
            *e = (kv_slot){h, (uint32_t)kv->pool_len, (uint16_t)klen, (uint16_t)vlen, 0, at->type};
            e->plen = (uint16_t)pack_kv(a, at, p + klen + vlen);
            kv->pool_len += klen + vlen + e->plen;
            kv->used++;
            f.len = e->plen;
            f.data = p + klen + vlen;
            return f;
        }
        kv->full = true;
    }
    f.data = arena_alloc(a, kv_bound(at));
    f.len = pack_kv(a, at, f.data);
    return f;
}

/* The span's attributes as unknown fields (see above); *bytes gets their
 * packed size. */
static void pb_span_attrs(ig_otlp_arena *a, PbSpan *p, const ig_span_data *s, size_t *bytes)
{
    *bytes = 0;
    if (!s->nattrs)
        return;
    ProtobufCMessageUnknownField *u = ARENA_ARRAY(a, ProtobufCMessageUnknownField, s->nattrs);
    for (uint32_t i = 0; i < s->nattrs; i++) {
        u[i] = span_attr(a, &s->attrs[i]);
        *bytes += 1 + u[i].len;
    }
    p->base.n_unknown_fields = s->nattrs;
    p->base.unknown_fields = u;
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
        pe->name = pb_str(a, e->name);
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
        pl->trace_state = pb_str(a, l->tracestate);
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

static PbSpan *pb_span(ig_otlp_arena *a, const ig_span_data *s, size_t *attr_bytes)
{
    PbSpan *p = ARENA_NEW(a, PbSpan);
    opentelemetry__proto__trace__v1__span__init(p);
    p->trace_id = pb_bytes(s->trace_id, 16);
    p->span_id = pb_bytes(s->span_id, 8);
    p->trace_state = pb_str(a, s->tracestate);
    if (s->has_parent)
        p->parent_span_id = pb_bytes(s->parent_span_id, 8);
    p->flags = span_flags(s);
    p->name = pb_str(a, s->name);
    p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
    p->start_time_unix_nano = s->start_ns;
    p->end_time_unix_nano = s->end_ns;
    pb_span_attrs(a, p, s, attr_bytes);
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
        st->message = pb_str(a, s->status_message);
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
        sc->name = pb_str(a, g->scope->name);
        sc->version = pb_str(a, g->scope->version);
        sc->n_attributes = g->scope->nattrs;
        sc->attributes = pb_attrs(a, g->scope->attrs, g->scope->nattrs);
        ss->scope = sc;
    }
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

/* An upper bound of an attribute list's encoded size.  Every nested
 * message costs at most a 1-byte tag and a 5-byte length; a scalar at
 * most a tag and a 10-byte varint.  48 bytes per attribute and 24 per
 * array element cover every wrapper with room to spare. */
static size_t attrs_bound(const ig_attr *attrs, size_t n)
{
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        const ig_attr *at = &attrs[i];
        b += 48 + (at->key ? strlen(at->key) : 0);
        if (at->type == IG_ATTR_STRING)
            b += at->v.s ? strlen(at->v.s) : 0;
        else if (at->type >= IG_ATTR_STRING_ARRAY)
            b += 24 + (size_t)at->len * 24;
        if (at->type == IG_ATTR_STRING_ARRAY)
            for (uint32_t k = 0; k < at->len; k++)
                b += at->v.sa[k] ? strlen(at->v.sa[k]) : 0;
    }
    return b;
}

static size_t str_bound(const char *s)
{
    return s ? strlen(s) : 0;
}

/* An upper bound of a span's encoded size (fixed fields, ids, counts and
 * status fit in 256 bytes; strings and attributes are added). */
static size_t span_bound(const ig_span_data *s, size_t attr_bytes)
{
    size_t b = 256 + str_bound(s->name) + str_bound(s->tracestate) + str_bound(s->status_message) + attr_bytes;
    for (uint32_t i = 0; i < s->nevents; i++)
        b += 64 + str_bound(s->events[i].name) + attrs_bound(s->events[i].attrs, s->events[i].nattrs);
    for (uint32_t i = 0; i < s->nlinks; i++)
        b += 96 + str_bound(s->links[i].tracestate) + attrs_bound(s->links[i].attrs, s->links[i].nattrs);
    return b;
}

/* Packs one span, length-prefixed, at the end of buf; returns its offset.
 * protobuf-c needs the buffer to be large enough up front; a computed
 * bound (instead of protobuf_c_message_get_packed_size, which would walk
 * the whole span once more) sizes it.  The span is packed after a gap
 * for the longest prefix, then moved down to its prefix. */
static size_t pack_span(ig_otlp_arena *a, const ig_span_data *s, ig_strbuf *buf)
{
    struct ig_otlp_chunk *chunk = a->chunks;
    char *mark = a->cur;
    a->grown = 0;
    size_t attr_bytes;
    PbSpan *p = pb_span(a, s, &attr_bytes);
    ig_sb_reserve(buf, span_bound(s, attr_bytes) + a->grown + 5);
    size_t off = buf->len;
    uint8_t *out = (uint8_t *)buf->data + off;
    size_t size = opentelemetry__proto__trace__v1__span__pack(p, out + 5);
    size_t pre = put_varint(out, size);
    if (pre < 5)
        memmove(out + pre, out + 5, size);
    buf->len += pre + size;
    if (a->chunks == chunk)
        a->cur = mark; /* the span's tree is no longer needed */
    return off;
}

/*
 * Packing the whole request tree in one protobuf_c_message_pack() call
 * costs O(depth x nodes): protobuf-c recomputes the size of every nested
 * message once per enclosing level (six levels down to an AnyValue).  So
 * each span is packed on its own, and ScopeSpans carries the packed spans
 * as protobuf-c "unknown fields" with the spans' field number (2), which
 * protobuf-c copies verbatim: same bytes on the wire, about half the work.
 */
void ig_otlp_encode_proto(const ig_span_data *const *spans, size_t n, ig_otlp_arena *a, ig_strbuf *out)
{
    arena_reset(a);
    if (!a->kv) {
        a->kv = ig_xmalloc(sizeof *a->kv);
        kv_reset(a->kv);
    } else if (a->kv->full) {
        kv_reset(a->kv);
    }
    ig_sb_reset(&a->spans);
    span_group *groups = ARENA_ARRAY(a, span_group, n);
    size_t *gid = ARENA_ARRAY(a, size_t, n);
    size_t *off = ARENA_ARRAY(a, size_t, n + 1);
    size_t ng = group_spans(spans, n, groups, gid);

    PbRequest req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.resource_spans = ARENA_ARRAY(a, PbResourceSpans *, ng);
    for (size_t g = 0; g < ng; g++)
        if (!groups[g].ss)
            req.resource_spans[req.n_resource_spans++] = pb_resource_spans(a, groups, ng, g);
    for (size_t i = 0; i < n; i++)
        off[i] = pack_span(a, spans[i], &a->spans);
    off[n] = a->spans.len;
    for (size_t g = 0; g < ng; g++)
        groups[g].ss->base.unknown_fields = ARENA_ARRAY(a, ProtobufCMessageUnknownField, groups[g].count);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = &groups[gid[i]].ss->base;
        m->unknown_fields[m->n_unknown_fields++] = (ProtobufCMessageUnknownField){
            .tag = 2, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
            .len = off[i + 1] - off[i], .data = (uint8_t *)a->spans.data + off[i]};
    }

    size_t size = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    ig_sb_reserve(out, size);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, (uint8_t *)out->data + out->len);
    out->len += size;
    out->data[out->len] = '\0';
}

/* ---- JSON ------------------------------------------------------------------ */

/*
 * The JSON body is streamed into the output buffer rather than built as a
 * json-c tree (a tree costs a dozen hash-table objects per span, and
 * freeing them churns the heap).  json-c still does all escaping and
 * number formatting: one reusable string object and one double object are
 * set to each value and serialised into their own reused print buffers.
 */
typedef struct json_writer {
    ig_strbuf *out;
    ig_strbuf fixed; /* a string that was not UTF-8, with U+FFFD in place */
    json_object *str, *dbl;
    bool first; /* no member written yet in the current object/array */
} json_writer;

static void jw_raw(json_writer *w, const char *s)
{
    ig_sb_puts(w->out, s);
}

/* JSON text is UTF-8: json-c escapes quotes and control characters but
 * copies other bytes as they are, so text that is not UTF-8 is first
 * given U+FFFD for each ill-formed subsequence. */
static void jw_string_len(json_writer *w, const char *s, size_t len)
{
    size_t n;
    if (s && !ig_utf8_valid(s, len)) {
        ig_sb_reset(&w->fixed);
        ig_utf8_append_valid(&w->fixed, s, len);
        s = w->fixed.data;
        len = w->fixed.len;
    }
    json_object_set_string_len(w->str, s ? s : "", s ? (int)len : 0);
    const char *t = json_object_to_json_string_length(w->str, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    ig_sb_append(w->out, t, n);
}

static void jw_string(json_writer *w, const char *s)
{
    jw_string_len(w, s, s ? strlen(s) : 0);
}

/* Opens an object or array. */
static void jw_open(json_writer *w, char c)
{
    ig_sb_putc(w->out, c);
    w->first = true;
}

static void jw_close(json_writer *w, char c)
{
    ig_sb_putc(w->out, c);
    w->first = false;
}

/* Separator plus `"key":`; key is a plain ASCII identifier. */
static void jw_key(json_writer *w, const char *key)
{
    if (!w->first)
        ig_sb_putc(w->out, ',');
    w->first = false;
    ig_sb_putc(w->out, '"');
    ig_sb_puts(w->out, key);
    ig_sb_puts(w->out, "\":");
}

/* Separator before an array element. */
static void jw_elem(json_writer *w)
{
    if (!w->first)
        ig_sb_putc(w->out, ',');
    w->first = false;
}

static void jw_hex(json_writer *w, const char *key, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[35];
    buf[0] = '"';
    for (size_t i = 0; i < n; i++) {
        buf[1 + 2 * i] = digits[p[i] >> 4];
        buf[2 + 2 * i] = digits[p[i] & 15];
    }
    buf[1 + 2 * n] = '"';
    buf[2 + 2 * n] = '\0';
    jw_key(w, key);
    jw_raw(w, buf);
}

/* 64-bit integers are decimal strings in OTLP/JSON. */
static void jw_u64_string(json_writer *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    ig_sb_printf(w->out, "\"%llu\"", (unsigned long long)v);
}

static void jw_uint(json_writer *w, const char *key, uint32_t v)
{
    jw_key(w, key);
    ig_sb_printf(w->out, "%lu", (unsigned long)v);
}

static void jw_opt_uint(json_writer *w, const char *key, uint32_t v)
{
    if (v)
        jw_uint(w, key, v);
}

static void jw_opt_string(json_writer *w, const char *key, const char *s)
{
    if (s && *s) {
        jw_key(w, key);
        jw_string(w, s);
    }
}

/* Protobuf JSON writes non-finite doubles as strings. */
static void jw_double(json_writer *w, double d)
{
    if (isnan(d) || isinf(d)) {
        jw_raw(w, isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    size_t n;
    json_object_set_double(w->dbl, d);
    const char *t = json_object_to_json_string_length(w->dbl, JSON_C_TO_STRING_PLAIN, &n);
    ig_sb_append(w->out, t, n);
}

/* One AnyValue object for element i of an array attribute, or the scalar. */
static void jw_any_scalar(json_writer *w, uint8_t type, const ig_attr *at, uint32_t i)
{
    jw_open(w, '{');
    switch (type) {
    case IG_ATTR_STRING:
        jw_key(w, "stringValue");
        if (at->type == IG_ATTR_STRING)
            jw_string(w, at->v.s); /* NUL-terminated, as in the protobuf path */
        else
            jw_string(w, at->v.sa[i]);
        break;
    case IG_ATTR_BOOL:
        jw_key(w, "boolValue");
        jw_raw(w, (at->type == IG_ATTR_BOOL ? at->v.b : at->v.ba[i]) ? "true" : "false");
        break;
    case IG_ATTR_INT:
        jw_key(w, "intValue");
        ig_sb_printf(w->out, "\"%lld\"", (long long)(at->type == IG_ATTR_INT ? at->v.i : at->v.ia[i]));
        break;
    default:
        jw_key(w, "doubleValue");
        jw_double(w, at->type == IG_ATTR_DOUBLE ? at->v.d : at->v.da[i]);
        break;
    }
    jw_close(w, '}');
}

static void jw_value(json_writer *w, const ig_attr *at)
{
    if (at->type < IG_ATTR_STRING_ARRAY) {
        jw_any_scalar(w, at->type, at, 0);
        return;
    }
    uint8_t elem = (uint8_t)(at->type - IG_ATTR_STRING_ARRAY); /* same order as the scalars */
    jw_open(w, '{');
    jw_key(w, "arrayValue");
    jw_open(w, '{');
    jw_key(w, "values");
    jw_open(w, '[');
    for (uint32_t i = 0; i < at->len; i++) {
        jw_elem(w);
        jw_any_scalar(w, elem, at, i);
    }
    jw_close(w, ']');
    jw_close(w, '}');
    jw_close(w, '}');
}

static void jw_attrs(json_writer *w, const ig_attr *attrs, size_t n, uint32_t dropped)
{
    if (n) {
        jw_key(w, "attributes");
        jw_open(w, '[');
        for (size_t i = 0; i < n; i++) {
            jw_elem(w);
            jw_open(w, '{');
            jw_key(w, "key");
            jw_string(w, attrs[i].key);
            jw_key(w, "value");
            jw_value(w, &attrs[i]);
            jw_close(w, '}');
        }
        jw_close(w, ']');
    }
    jw_opt_uint(w, "droppedAttributesCount", dropped);
}

static void jw_event(json_writer *w, const ig_event *e)
{
    jw_open(w, '{');
    jw_u64_string(w, "timeUnixNano", e->time_ns);
    jw_opt_string(w, "name", e->name);
    jw_attrs(w, e->attrs, e->nattrs, e->dropped_attrs);
    jw_close(w, '}');
}

static void jw_link(json_writer *w, const ig_link *l)
{
    jw_open(w, '{');
    jw_hex(w, "traceId", l->trace_id, 16);
    jw_hex(w, "spanId", l->span_id, 8);
    jw_opt_string(w, "traceState", l->tracestate);
    jw_attrs(w, l->attrs, l->nattrs, l->dropped_attrs);
    jw_uint(w, "flags", l->flags | FLAG_HAS_IS_REMOTE);
    jw_close(w, '}');
}

static void jw_span(json_writer *w, const ig_span_data *s)
{
    jw_open(w, '{');
    jw_hex(w, "traceId", s->trace_id, 16);
    jw_hex(w, "spanId", s->span_id, 8);
    jw_opt_string(w, "traceState", s->tracestate);
    if (s->has_parent)
        jw_hex(w, "parentSpanId", s->parent_span_id, 8);
    jw_uint(w, "flags", span_flags(s));
    jw_key(w, "name");
    jw_string(w, s->name);
    jw_opt_uint(w, "kind", s->kind);
    jw_u64_string(w, "startTimeUnixNano", s->start_ns);
    jw_u64_string(w, "endTimeUnixNano", s->end_ns);
    jw_attrs(w, s->attrs, s->nattrs, s->dropped_attrs);
    if (s->nevents) {
        jw_key(w, "events");
        jw_open(w, '[');
        for (uint32_t i = 0; i < s->nevents; i++) {
            jw_elem(w);
            jw_event(w, &s->events[i]);
        }
        jw_close(w, ']');
    }
    jw_opt_uint(w, "droppedEventsCount", s->dropped_events);
    if (s->nlinks) {
        jw_key(w, "links");
        jw_open(w, '[');
        for (uint32_t i = 0; i < s->nlinks; i++) {
            jw_elem(w);
            jw_link(w, &s->links[i]);
        }
        jw_close(w, ']');
    }
    jw_opt_uint(w, "droppedLinksCount", s->dropped_links);
    if (s->status_code != IG_STATUS_UNSET || (s->status_message && *s->status_message)) {
        jw_key(w, "status");
        jw_open(w, '{');
        jw_opt_string(w, "message", s->status_message);
        jw_opt_uint(w, "code", s->status_code);
        jw_close(w, '}');
    }
    jw_close(w, '}');
}

static void jw_scope_spans(json_writer *w, const span_group *g, const ig_span_data *const *spans,
                           const size_t *gid, size_t n, size_t self)
{
    jw_open(w, '{');
    if (g->scope) {
        jw_key(w, "scope");
        jw_open(w, '{');
        jw_opt_string(w, "name", g->scope->name);
        jw_opt_string(w, "version", g->scope->version);
        jw_attrs(w, g->scope->attrs, g->scope->nattrs, 0);
        jw_close(w, '}');
    }
    jw_key(w, "spans");
    jw_open(w, '[');
    for (size_t i = 0; i < n; i++)
        if (gid[i] == self) {
            jw_elem(w);
            jw_span(w, spans[i]);
        }
    jw_close(w, ']');
    jw_close(w, '}');
}

void ig_otlp_encode_json(const ig_span_data *const *spans, size_t n, ig_strbuf *out)
{
    span_group *groups = ig_xmalloc(sizeof *groups * (n ? n : 1));
    size_t *gid = ig_xmalloc(sizeof *gid * (n ? n : 1));
    size_t ng = group_spans(spans, n, groups, gid);
    json_writer w = {out, IG_STRBUF_INIT, json_object_new_string(""), json_object_new_double(0), true};

    jw_open(&w, '{');
    jw_key(&w, "resourceSpans");
    jw_open(&w, '[');
    for (size_t g = 0; g < ng; g++) {
        if (groups[g].emitted)
            continue;
        jw_elem(&w);
        jw_open(&w, '{');
        if (groups[g].res) {
            jw_key(&w, "resource");
            jw_open(&w, '{');
            jw_attrs(&w, groups[g].res->attrs, groups[g].res->nattrs, 0);
            jw_close(&w, '}');
        }
        jw_key(&w, "scopeSpans");
        jw_open(&w, '[');
        for (size_t h = g; h < ng; h++) {
            if (groups[h].res != groups[g].res)
                continue;
            jw_elem(&w);
            jw_scope_spans(&w, &groups[h], spans, gid, n, h);
            groups[h].emitted = true;
        }
        jw_close(&w, ']');
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    json_object_put(w.str);
    json_object_put(w.dbl);
    ig_sb_free(&w.fixed);
    free(groups);
    free(gid);
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
    if (len > INT32_MAX || ig_json_check_budget((const char *)body, len, "response", err))
        return -1;
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
