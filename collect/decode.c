/*
 * collect/decode.c — protobuf requests, and the validation and conversion
 * both decoders share (see collect/decode.h).
 *
 * The protobuf body is first unpacked shallowly (proto/opentelemetry/
 * ignis/collect_request.proto: resources, scopes and spans stay bytes).
 * Each of those byte strings is then checked by nesting_ok(), a walk over
 * the wire format that follows only the fields through which attribute
 * values nest (span -> attributes/events/links -> key-value -> any-value
 * -> array/kvlist -> ...) and refuses more than IG_DECODE_MAX_DEPTH levels
 * — protobuf-c recurses once per level with no limit of its own — and is
 * then unpacked into a scratch arena that is rewound after every span,
 * as OTLP's message with every string declared bytes (proto/opentelemetry/
 * ignis/text.proto): protobuf-c's strings are C strings, which would cut
 * a string holding U+0000 at its NUL; these keep their length.  The
 * conversion copies what the store keeps into the batch: ids, times,
 * names, and every attribute list rendered as one JSON object
 * ({"key":value,...}, docs/TRACE_STORE.md); json-c escapes strings that
 * need it.
 */
#include "collect/decode_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/base64.h"
#include "opentelemetry/ignis/collect_request.pb-c.h"
#include "utils/hash.h"

typedef Ignis__Otlp__Collect__Request ShallowRequest;
typedef Ignis__Otlp__Collect__ResourceSpans ShallowResourceSpans;
typedef Ignis__Otlp__Collect__ScopeSpans ShallowScopeSpans;

/* ---- context and scratch allocator --------------------------------------------- */

static void *scratch_alloc(void *data, size_t size)
{
    return ig_arena_alloc(data, size);
}

static void scratch_free(void *data, void *p)
{
    (void)data;
    (void)p; /* released all at once by ig_arena_reset */
}

void ig_decode_ctx_init(decode_ctx *c, ig_decode_stats *st)
{
    memset(c, 0, sizeof *c);
    memset(st, 0, sizeof *st);
    c->st = st;
    c->b = ig_batch_new();
    c->alloc = (ProtobufCAllocator){scratch_alloc, scratch_free, &c->scratch};
    c->str = json_object_new_string("");
}

void ig_decode_scratch_reset(decode_ctx *c)
{
    ig_arena_reset(&c->scratch);
}

ProtobufCBinaryData ig_decode_text(decode_ctx *c, const char *s, size_t len)
{
    return (ProtobufCBinaryData){len, (uint8_t *)ig_arena_strndup(&c->scratch, s, len)};
}

void ig_decode_ctx_done(decode_ctx *c)
{
    ig_arena_free(&c->scratch);
    ig_sb_free(&c->json);
    json_object_put(c->str);
}

void ig_decode_reject(decode_ctx *c, const char *why)
{
    if (!c->st->rejected++)
        snprintf(c->st->reason, sizeof c->st->reason, "%s", why);
}

void ig_decode_message(const ig_decode_stats *st, char *buf, size_t len)
{
    if (!st->rejected)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%u of %u spans rejected; first: %s", st->rejected, st->spans, st->reason);
}

/* ---- attributes as JSON ------------------------------------------------------------ */

static void put_string(decode_ctx *c, const char *s, size_t len)
{
    bool plain = true;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char ch = (unsigned char)s[i];
        plain = ch >= 0x20 && ch != '"' && ch != '\\';
    }
    if (plain) { /* the common case: nothing to escape */
        ig_sb_reserve(&c->json, len + 2);
        char *p = c->json.data + c->json.len;
        *p = '"';
        memcpy(p + 1, s, len);
        p[len + 1] = '"';
        c->json.len += len + 2;
        c->json.data[c->json.len] = '\0';
        return;
    }
    json_object_set_string_len(c->str, s, (int)len);
    size_t n;
    const char *t = json_object_to_json_string_length(c->str, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    ig_sb_append(&c->json, t, n);
}

/* Decimal digits of v (printf costs ten times more; attributes are
 * mostly small integers). */
static void put_int(decode_ctx *c, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    ig_sb_append(&c->json, p, (size_t)(buf + sizeof buf - p));
}

static const ProtobufCBinaryData no_text = {0, NULL};

static void put_text(decode_ctx *c, ProtobufCBinaryData s)
{
    put_string(c, s.len ? (const char *)s.data : "", s.len);
}

static void put_double(decode_ctx *c, double d)
{
    if (isnan(d)) {
        ig_sb_puts(&c->json, "\"NaN\"");
    } else if (isinf(d)) {
        ig_sb_puts(&c->json, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        char buf[40];
        int n = snprintf(buf, sizeof buf, "%.17g", d);
        ig_sb_append(&c->json, buf, (size_t)n);
        if (!strpbrk(buf, ".eE")) /* stays a real number for json_each */
            ig_sb_puts(&c->json, ".0");
    }
}

static void put_attrs(decode_ctx *c, PbKV *const *kv, size_t n, int depth);

static void put_value(decode_ctx *c, const PbAny *v, int depth)
{
    if (!v || depth > IG_DECODE_MAX_DEPTH) {
        ig_sb_puts(&c->json, "null");
        return;
    }
    switch (v->value_case) {
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE:
        put_text(c, v->string_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE:
        ig_sb_puts(&c->json, v->bool_value ? "true" : "false");
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE:
        put_int(c, v->int_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_DOUBLE_VALUE:
        put_double(c, v->double_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE:
        ig_sb_putc(&c->json, '[');
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            if (i)
                ig_sb_putc(&c->json, ',');
            put_value(c, v->array_value->values[i], depth + 1);
        }
        ig_sb_putc(&c->json, ']');
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_KVLIST_VALUE:
        if (v->kvlist_value)
            put_attrs(c, v->kvlist_value->values, v->kvlist_value->n_values, depth + 1);
        else
            ig_sb_puts(&c->json, "{}");
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BYTES_VALUE:
        ig_sb_putc(&c->json, '"');
        ig_base64_encode(v->bytes_value.data, v->bytes_value.len, &c->json);
        ig_sb_putc(&c->json, '"');
        break;
    default:
        ig_sb_puts(&c->json, "null");
        break;
    }
}

static void put_attrs(decode_ctx *c, PbKV *const *kv, size_t n, int depth)
{
    ig_sb_putc(&c->json, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            ig_sb_putc(&c->json, ',');
        put_text(c, kv[i] ? kv[i]->key : no_text);
        ig_sb_putc(&c->json, ':');
        put_value(c, kv[i] ? kv[i]->value : NULL, depth);
    }
    ig_sb_putc(&c->json, '}');
}

/* Renders an attribute list into the batch. */
static ig_bstr attrs_json(decode_ctx *c, PbKV *const *kv, size_t n)
{
    ig_sb_reset(&c->json);
    put_attrs(c, kv, n, 0);
    return ig_batch_str(c->b, c->json.data, c->json.len);
}

static ig_bstr str_of(decode_ctx *c, ProtobufCBinaryData s)
{
    return ig_batch_str(c->b, s.len ? (const char *)s.data : "", s.len);
}

/* ---- resources and scopes -------------------------------------------------------------- */

/* The key is exactly service.name ("service.name\u0000x" is another key). */
static ProtobufCBinaryData service_name(const PbResource *r)
{
    static const char key[] = "service.name", unknown[] = "unknown_service";
    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const PbKV *kv = r->attributes[i];
        if (kv && kv->key.len == sizeof key - 1 && !memcmp(kv->key.data, key, sizeof key - 1) && kv->value &&
            kv->value->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE && kv->value->string_value.len)
            return kv->value->string_value;
    }
    return (ProtobufCBinaryData){sizeof unknown - 1, (uint8_t *)unknown};
}

uint32_t ig_decode_add_resource(decode_ctx *c, const PbResource *r, ProtobufCBinaryData schema_url)
{
    ig_batch_resource *x = ig_batch_add_resource(c->b);
    x->attrs = r ? attrs_json(c, r->attributes, r->n_attributes) : ig_batch_str(c->b, "{}", 2);
    x->service = str_of(c, service_name(r));
    x->schema_url = str_of(c, schema_url);
    x->dropped_attrs = r ? r->dropped_attributes_count : 0;
    uint64_t h = ig_hash_bytes(x->attrs.s, x->attrs.len, 0x7265);
    h = ig_hash_bytes(x->schema_url.s, x->schema_url.len, h);
    x->digest = ig_hash_u64(h, x->dropped_attrs);
    return c->b->nresources - 1;
}

uint32_t ig_decode_add_scope(decode_ctx *c, const PbScope *s, ProtobufCBinaryData schema_url)
{
    ig_batch_scope *x = ig_batch_add_scope(c->b);
    x->attrs = s ? attrs_json(c, s->attributes, s->n_attributes) : ig_batch_str(c->b, "{}", 2);
    x->name = str_of(c, s ? s->name : no_text);
    x->version = str_of(c, s ? s->version : no_text);
    x->schema_url = str_of(c, schema_url);
    x->dropped_attrs = s ? s->dropped_attributes_count : 0;
    uint64_t h = ig_hash_bytes(x->attrs.s, x->attrs.len, 0x7363);
    h = ig_hash_bytes(x->name.s, x->name.len + 1, h); /* with NULs: name and version stay apart */
    h = ig_hash_bytes(x->version.s, x->version.len + 1, h);
    h = ig_hash_bytes(x->schema_url.s, x->schema_url.len, h);
    x->digest = ig_hash_u64(h, x->dropped_attrs);
    return c->b->nscopes - 1;
}

/* ---- spans --------------------------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

#define MAX_TIME ((uint64_t)INT64_MAX)

static const char *check_ids(const ProtobufCBinaryData *trace, const ProtobufCBinaryData *span, const char *what,
                             char *buf, size_t len)
{
    if (trace->len != 16)
        return snprintf(buf, len, "%strace_id must be 16 bytes, not %zu", what, trace->len), buf;
    if (all_zero(trace->data, 16))
        return snprintf(buf, len, "%strace_id is all zero", what), buf;
    if (span->len != 8)
        return snprintf(buf, len, "%sspan_id must be 8 bytes, not %zu", what, span->len), buf;
    if (all_zero(span->data, 8))
        return snprintf(buf, len, "%sspan_id is all zero", what), buf;
    return NULL;
}

/* Why a span cannot be stored, or NULL. */
static const char *check_span(const PbSpan *s, char *buf, size_t len)
{
    const char *why = check_ids(&s->trace_id, &s->span_id, "", buf, len);
    if (why)
        return why;
    if (s->parent_span_id.len != 0 && s->parent_span_id.len != 8)
        return snprintf(buf, len, "parent_span_id must be empty or 8 bytes, not %zu", s->parent_span_id.len), buf;
    if (!s->start_time_unix_nano)
        return "start_time_unix_nano is missing";
    if (!s->end_time_unix_nano)
        return "end_time_unix_nano is missing";
    if (s->end_time_unix_nano < s->start_time_unix_nano)
        return "end_time_unix_nano is before start_time_unix_nano";
    if (s->end_time_unix_nano > MAX_TIME)
        return "end_time_unix_nano is past the year 2262";
    for (size_t i = 0; i < s->n_events; i++)
        if (s->events[i] && s->events[i]->time_unix_nano > MAX_TIME)
            return "an event's time_unix_nano is past the year 2262";
    for (size_t i = 0; i < s->n_links; i++)
        if (s->links[i] && (why = check_ids(&s->links[i]->trace_id, &s->links[i]->span_id, "link ", buf, len)))
            return why;
    return NULL;
}

static void add_events(decode_ctx *c, const PbSpan *s, ig_batch_span *x)
{
    x->first_event = c->b->nevents;
    for (size_t i = 0; i < s->n_events; i++) {
        const PbEvent *e = s->events[i];
        if (!e)
            continue;
        ig_batch_event *y = ig_batch_add_event(c->b);
        y->time_ns = e->time_unix_nano;
        y->name = str_of(c, e->name);
        y->attrs = attrs_json(c, e->attributes, e->n_attributes);
        y->dropped_attrs = e->dropped_attributes_count;
        x->nevents++;
    }
}

static void add_links(decode_ctx *c, const PbSpan *s, ig_batch_span *x)
{
    x->first_link = c->b->nlinks;
    for (size_t i = 0; i < s->n_links; i++) {
        const PbLink *l = s->links[i];
        if (!l)
            continue;
        ig_batch_link *y = ig_batch_add_link(c->b);
        memcpy(y->trace_id, l->trace_id.data, 16);
        memcpy(y->span_id, l->span_id.data, 8);
        y->trace_state = str_of(c, l->trace_state);
        y->flags = l->flags;
        y->attrs = attrs_json(c, l->attributes, l->n_attributes);
        y->dropped_attrs = l->dropped_attributes_count;
        x->nlinks++;
    }
}

void ig_decode_add_span(decode_ctx *c, const PbSpan *s, uint32_t resource, uint32_t scope)
{
    char buf[160];
    const char *why = check_span(s, buf, sizeof buf);
    if (why) {
        ig_decode_reject(c, why);
        return;
    }
    ig_batch_span *x = ig_batch_add_span(c->b);
    x->resource = resource;
    x->scope = scope;
    memcpy(x->trace_id, s->trace_id.data, 16);
    memcpy(x->span_id, s->span_id.data, 8);
    if (s->parent_span_id.len == 8 && !all_zero(s->parent_span_id.data, 8)) {
        memcpy(x->parent_span_id, s->parent_span_id.data, 8);
        x->has_parent = true;
    }
    x->kind = s->kind >= 0 && s->kind <= 5 ? (uint8_t)s->kind : 0;
    x->name = str_of(c, s->name);
    x->trace_state = str_of(c, s->trace_state);
    x->flags = s->flags;
    x->start_ns = s->start_time_unix_nano;
    x->end_ns = s->end_time_unix_nano;
    x->attrs = attrs_json(c, s->attributes, s->n_attributes);
    x->nattrs = (uint32_t)s->n_attributes;
    x->dropped_attrs = s->dropped_attributes_count;
    x->dropped_events = s->dropped_events_count;
    x->dropped_links = s->dropped_links_count;
    if (s->status) {
        x->status_code = s->status->code >= 0 && s->status->code <= 2 ? (uint8_t)s->status->code : 0;
        x->status_message = str_of(c, s->status->message);
    } else {
        x->status_message = str_of(c, no_text);
    }
    add_events(c, s, x); /* x stays valid: events and links are other arrays */
    add_links(c, s, x);
}

/* ---- nesting check on the wire ------------------------------------------------------------ */

typedef enum { M_SPAN, M_EVENT, M_LINK, M_RESOURCE, M_SCOPE, M_KV, M_ANY, M_ARRAY, M_KVLIST, M_NONE } msg_kind;

/* The message kind of field `field` of a `k`, when it is one through
 * which attribute values nest; M_NONE for every other field. */
static msg_kind child_kind(msg_kind k, uint32_t field)
{
    switch (k) {
    case M_SPAN: return field == 9 ? M_KV : field == 11 ? M_EVENT : field == 13 ? M_LINK : M_NONE;
    case M_EVENT: return field == 3 ? M_KV : M_NONE;
    case M_LINK: return field == 5 ? M_KV : M_NONE;
    case M_RESOURCE: return field == 1 ? M_KV : M_NONE;
    case M_SCOPE: return field == 3 ? M_KV : M_NONE;
    case M_KV: return field == 2 ? M_ANY : M_NONE;
    case M_ANY: return field == 5 ? M_ARRAY : field == 6 ? M_KVLIST : M_NONE;
    case M_ARRAY: return field == 1 ? M_ANY : M_NONE;
    case M_KVLIST: return field == 1 ? M_KV : M_NONE;
    default: return M_NONE;
    }
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Nested messages (attributes, events, links, values) one span, scope or
 * resource may hold: protobuf-c spends about 100 bytes on each, so a
 * span of empty events ("5a 00" repeated, 2 bytes each) would otherwise
 * decode to 50 times its size (a 14 KB gzip took 1.35 GB).  The SDKs'
 * default limits are 128 attributes, events and links per span. */
#define MAX_ELEMENTS (1u << 18)
/* The shallow request's arrays may take this much beyond the body's size. */
#define MAX_SHALLOW_BYTES (16u << 20)

/* False when any-values nest deeper than IG_DECODE_MAX_DEPTH below this
 * message, or when it holds more than MAX_ELEMENTS nested messages
 * (counted in *elements).  Malformed wire data is left for protobuf-c to
 * report (true). */
static bool nesting_ok(const uint8_t *p, size_t len, msg_kind k, int depth, size_t *elements)
{
    if (k == M_ANY && ++depth > IG_DECODE_MAX_DEPTH)
        return false;
    if (!len) /* an empty message: protobuf-c gives its bytes as NULL */
        return true;
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t tag, n;
        if (!read_varint(&p, end, &tag))
            return true;
        switch (tag & 7) {
        case 0:
            if (!read_varint(&p, end, &n))
                return true;
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return true;
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return true;
            p += 4;
            break;
        case 2: {
            if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
                return true;
            msg_kind child = child_kind(k, (uint32_t)(tag >> 3));
            if (child != M_NONE && (++*elements > MAX_ELEMENTS || !nesting_ok(p, (size_t)n, child, depth, elements)))
                return false;
            p += n;
            break;
        }
        default:
            return true; /* groups: not in these messages; protobuf-c decides */
        }
    }
    return true;
}

/* ---- protobuf requests ------------------------------------------------------------------------ */

static const char too_deep[] = "attribute values nested deeper than 32 levels";
static const char too_big[] = "more than 262144 attributes, events, links and values";

/* NULL when the message at p passes nesting_ok, else why it does not. */
static const char *wire_problem(const uint8_t *p, size_t len, msg_kind k)
{
    size_t elements = 0;
    if (nesting_ok(p, len, k, 0, &elements))
        return NULL;
    return elements > MAX_ELEMENTS ? too_big : too_deep;
}

/* The length-delimited field `field` of the message at *p..end, one at a
 * time: true with its bytes in *f, *n; false at the end (or on malformed
 * wire data, which protobuf-c reports when it unpacks). */
static bool next_field(const uint8_t **p, const uint8_t *end, uint32_t field, const uint8_t **f, uint64_t *n)
{
    while (*p < end) {
        uint64_t tag, v;
        if (!read_varint(p, end, &tag))
            return false;
        switch (tag & 7) {
        case 0: if (!read_varint(p, end, &v)) return false; break;
        case 1: if ((size_t)(end - *p) < 8) return false; *p += 8; break;
        case 5: if ((size_t)(end - *p) < 4) return false; *p += 4; break;
        case 2:
            if (!read_varint(p, end, &v) || v > (uint64_t)(end - *p))
                return false;
            if ((tag >> 3) == field) {
                *f = *p, *n = v, *p += v;
                return true;
            }
            *p += v;
            break;
        default: return false;
        }
    }
    return false;
}

/* The spans of a request counted on the wire, before anything is unpacked
 * (stops counting past max): resource_spans (1) -> scope_spans (2) ->
 * spans (2). */
static size_t spans_on_wire(const uint8_t *body, size_t len, size_t max)
{
    size_t spans = 0;
    const uint8_t *p = body, *end = body + len, *rs, *ss, *sp;
    uint64_t rn, sn, pn;
    while (spans <= max && next_field(&p, end, 1, &rs, &rn)) {
        const uint8_t *q = rs, *qend = rs + rn;
        while (spans <= max && next_field(&q, qend, 2, &ss, &sn)) {
            const uint8_t *r = ss, *rend = ss + sn;
            while (spans <= max && next_field(&r, rend, 2, &sp, &pn))
                spans++;
        }
    }
    return spans;
}

/* Counts every span of a scope as rejected for `why`. */
static void reject_scope(decode_ctx *c, const ShallowScopeSpans *ss, const char *why)
{
    for (size_t k = 0; k < ss->n_spans; k++)
        ig_decode_reject(c, why);
}

static int decode_scope_spans(decode_ctx *c, const ShallowScopeSpans *ss, uint32_t resource, ig_err *err)
{
    c->st->spans += (uint32_t)ss->n_spans;
    PbScope *scope = NULL;
    if (ss->scope.len) {
        const char *why = wire_problem(ss->scope.data, ss->scope.len, M_SCOPE);
        if (why) {
            reject_scope(c, ss, why);
            return 0;
        }
        ig_decode_scratch_reset(c);
        scope = ignis__otlp__text__instrumentation_scope__unpack(&c->alloc, ss->scope.len, ss->scope.data);
        if (!scope)
            return ig_err_set(err, "malformed InstrumentationScope");
    }
    uint32_t sc = ig_decode_add_scope(c, scope, ss->schema_url);
    for (size_t k = 0; k < ss->n_spans; k++) {
        const ProtobufCBinaryData *raw = &ss->spans[k];
        const char *why = wire_problem(raw->data, raw->len, M_SPAN);
        if (why) {
            ig_decode_reject(c, why);
            continue;
        }
        ig_decode_scratch_reset(c);
        PbSpan *span = ignis__otlp__text__span__unpack(&c->alloc, raw->len, raw->data);
        if (!span)
            return ig_err_set(err, "malformed Span");
        ig_decode_add_span(c, span, resource, sc);
    }
    return 0;
}

static int decode_resource_spans(decode_ctx *c, const ShallowResourceSpans *rs, ig_err *err)
{
    PbResource *res = NULL;
    if (rs->resource.len) {
        const char *why = wire_problem(rs->resource.data, rs->resource.len, M_RESOURCE);
        if (why) {
            for (size_t j = 0; j < rs->n_scope_spans; j++) {
                c->st->spans += (uint32_t)rs->scope_spans[j]->n_spans;
                reject_scope(c, rs->scope_spans[j], why);
            }
            return 0;
        }
        ig_decode_scratch_reset(c);
        res = ignis__otlp__text__resource__unpack(&c->alloc, rs->resource.len, rs->resource.data);
        if (!res)
            return ig_err_set(err, "malformed Resource");
    }
    uint32_t r = ig_decode_add_resource(c, res, rs->schema_url);
    for (size_t j = 0; j < rs->n_scope_spans; j++)
        if (decode_scope_spans(c, rs->scope_spans[j], r, err) < 0)
            return -1;
    return 0;
}

ig_batch *ig_decode_proto(const uint8_t *body, size_t len, ig_decode_stats *st, ig_err *err)
{
    /* each span costs 16 bytes of the shallow request and a batch slot
     * before it is even looked at: 8M empty spans ("0a 00") in a 16 MB
     * body took 400 MB */
    size_t max_spans = (MAX_SHALLOW_BYTES + len) / 16, spans_seen = spans_on_wire(body, len, max_spans);
    if (spans_seen > max_spans) {
        memset(st, 0, sizeof *st);
        ig_err_set(err, "ExportTraceServiceRequest: more than %zu spans in %zu bytes", max_spans, len);
        return NULL;
    }
    decode_ctx c;
    ig_decode_ctx_init(&c, st);
    ig_store_arena request = {0};
    ProtobufCAllocator alloc = {scratch_alloc, scratch_free, &request};
    ShallowRequest *req = ignis__otlp__collect__request__unpack(&alloc, len, body);
    int rc = req ? 0 : ig_err_set(err, "malformed ExportTraceServiceRequest (protobuf)");
    if (req) { /* the batch's arrays and strings in one go: about the body's size */
        size_t spans = 0;
        for (size_t i = 0; i < req->n_resource_spans; i++)
            for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
                spans += req->resource_spans[i]->scope_spans[j]->n_spans;
        if (spans > len / 32 + 64) /* a real span is never under 32 bytes: grow past that only as spans are kept */
            spans = len / 32 + 64;
        ig_batch_reserve(c.b, spans < UINT32_MAX ? (uint32_t)spans : 0, len + len / 4 + 4096);
    }
    for (size_t i = 0; req && rc == 0 && i < req->n_resource_spans; i++)
        rc = decode_resource_spans(&c, req->resource_spans[i], err);
    if (rc < 0 && req)
        ig_err_prefix(err, "ExportTraceServiceRequest");
    ig_arena_free(&request);
    ig_decode_ctx_done(&c);
    if (rc < 0) {
        ig_batch_free(c.b);
        return NULL;
    }
    return c.b;
}
