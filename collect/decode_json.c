/*
 * collect/decode_json.c — OTLP/JSON requests (see collect/decode.h).
 *
 * json-c parses the body (depth limited to JSON_MAX_DEPTH, which bounds
 * every recursion below); each resource, scope and span is then mapped onto the
 * protobuf-c message it stands for, built in the shared scratch arena, and
 * handed to the same conversion as protobuf requests (collect/decode.c).
 * The mapping follows the protobuf JSON rules OTLP uses: lowerCamelCase
 * names (the .proto's names are accepted too), trace and span ids as hex,
 * 64-bit integers as strings or numbers, enums as numbers or names,
 * doubles as numbers or "NaN"/"Infinity"/"-Infinity", bytes as base64.
 * Strings are copied with their json-c length into the messages' bytes
 * fields (proto/opentelemetry/ignis/text.proto), so one holding "\u0000"
 * (valid UTF-8, as the Collector keeps it) reaches the batch whole.
 * Attribute values nested deeper than IG_DECODE_MAX_DEPTH reject their
 * span (or every span of their scope or resource), as in protobuf; the
 * parser's depth leaves room for that many levels in the deepest place
 * they can be (event and link attributes) and a little more, so only
 * values nested far beyond the rule make the whole request malformed.
 * Unknown fields are ignored.  A value of the wrong JSON type makes the
 * whole request malformed (400), as in protobuf; ids that are not hex
 * only reject their span.
 */
#include "collect/decode_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collect/base64.h"
#include "utils/jsonbudget.h"

/* JSON containers around the first any-value of an event's attributes
 * (request{ resourceSpans[ { scopeSpans[ { spans[ { events[ { attributes[
 * { value{ ), and those each level of any-value adds at most
 * (kvlistValue{ values[ { value{ ; arrayValue takes 3). */
#define JSON_ENVELOPE_DEPTH 12
#define JSON_LEVEL_DEPTH 4
/* Room for the level that breaks the rule and its contents; json-c's
 * depth counts one more than the containers it lets nest. */
#define JSON_MAX_DEPTH (JSON_ENVELOPE_DEPTH + JSON_LEVEL_DEPTH * (IG_DECODE_MAX_DEPTH + 1) + 1)

/* The reason decode.c gives for the same span. */
static const char too_deep[] = "attribute values nested deeper than 32 levels";

/* Either the request is malformed (err set, -1) or fine (0); a span may
 * also carry a reason to reject it. */
typedef struct jctx {
    decode_ctx *c;
    ig_err *err;
    const char *reject;  /* first reason to reject the current span */
} jctx;

static void *scratch(jctx *j, size_t n)
{
    void *p = ig_arena_alloc(&j->c->scratch, n);
    memset(p, 0, n);
    return p;
}

static json_object *member(json_object *o, const char *camel, const char *snake)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, camel, &v) && snake)
        json_object_object_get_ex(o, snake, &v);
    return json_object_is_type(v, json_type_null) ? NULL : v;
}

static int type_error(jctx *j, const char *field, const char *want)
{
    return ig_err_set(j->err, "malformed OTLP/JSON: %s must be %s", field, want);
}

/* ---- scalars ---------------------------------------------------------------------------- */

static int get_string(jctx *j, json_object *o, const char *camel, const char *snake, ProtobufCBinaryData *out)
{
    json_object *v = member(o, camel, snake);
    *out = (ProtobufCBinaryData){0, NULL};
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return type_error(j, camel, "a string");
    *out = ig_decode_text(j->c, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return 0;
}

/* Digits only (optionally one leading '-' when is_signed), no overflow. */
static bool parse_decimal(const char *s, bool is_signed, uint64_t *mag, bool *neg)
{
    *neg = is_signed && *s == '-';
    if (*neg)
        s++;
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *mag = v;
    return true;
}

static int get_u64(jctx *j, json_object *o, const char *camel, const char *snake, uint64_t *out)
{
    json_object *v = member(o, camel, snake);
    *out = 0;
    if (!v)
        return 0;
    bool neg;
    if (json_object_is_type(v, json_type_string)) {
        if (!parse_decimal(json_object_get_string(v), false, out, &neg))
            return type_error(j, camel, "an unsigned integer");
        return 0;
    }
    if (!json_object_is_type(v, json_type_int))
        return type_error(j, camel, "an unsigned integer");
    errno = 0;
    if (json_object_get_int64(v) < 0)
        return type_error(j, camel, "an unsigned integer");
    *out = json_object_get_uint64(v);
    return 0;
}

static int get_u32(jctx *j, json_object *o, const char *camel, const char *snake, uint32_t *out)
{
    uint64_t v;
    if (get_u64(j, o, camel, snake, &v) < 0)
        return -1;
    if (v > UINT32_MAX)
        return type_error(j, camel, "a 32-bit unsigned integer");
    *out = (uint32_t)v;
    return 0;
}

static int get_i64_value(jctx *j, json_object *v, int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 0;
    }
    uint64_t mag;
    bool neg;
    if (!json_object_is_type(v, json_type_string) || !parse_decimal(json_object_get_string(v), true, &mag, &neg) ||
        mag > (uint64_t)INT64_MAX + neg)
        return type_error(j, "intValue", "a 64-bit integer");
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

static int get_double_value(jctx *j, json_object *v, double *out)
{
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        *out = json_object_get_double(v);
        return 0;
    }
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (s && !strcmp(s, "NaN"))
        *out = NAN;
    else if (s && !strcmp(s, "Infinity"))
        *out = INFINITY;
    else if (s && !strcmp(s, "-Infinity"))
        *out = -INFINITY;
    else
        return type_error(j, "doubleValue", "a number");
    return 0;
}

/* An enum as its number or its name (names[i] is value i). */
static int get_enum(jctx *j, json_object *o, const char *camel, const char *const *names, int n, int *out)
{
    json_object *v = member(o, camel, NULL);
    *out = 0;
    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v);
        *out = x >= 0 && x <= INT32_MAX ? (int)x : 0; /* unknown values are stored as 0 */
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        for (int i = 0; i < n; i++)
            if (!strcmp(json_object_get_string(v), names[i])) {
                *out = i;
                return 0;
            }
        return 0;
    }
    return type_error(j, camel, "an enum number or name");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A hex id.  Not hex rejects the span (j->reject), not the request. */
static int get_id(jctx *j, json_object *o, const char *camel, const char *snake, ProtobufCBinaryData *out)
{
    json_object *v = member(o, camel, snake);
    out->len = 0;
    out->data = NULL;
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return type_error(j, camel, "a hex string");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    out->data = scratch(j, n / 2 + 1);
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            goto not_hex;
        out->data[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    if (n % 2)
        goto not_hex;
    return 0;
not_hex:
    if (!j->reject)
        j->reject = !strcmp(camel, "traceId") ? "traceId is not hexadecimal"
                  : !strcmp(camel, "spanId") ? "spanId is not hexadecimal" : "parentSpanId is not hexadecimal";
    out->len = 0;
    return 0;
}

static int get_array(jctx *j, json_object *o, const char *camel, const char *snake, json_object **out, size_t *n)
{
    *out = member(o, camel, snake);
    *n = 0;
    if (!*out)
        return 0;
    if (!json_object_is_type(*out, json_type_array))
        return type_error(j, camel, "an array");
    *n = json_object_array_length(*out);
    return 0;
}

static int want_object(jctx *j, json_object *v, const char *what)
{
    return json_object_is_type(v, json_type_object) ? 0 : type_error(j, what, "an object");
}

/* ---- attributes ---------------------------------------------------------------------------- */

static int json_kvs(jctx *j, json_object *o, const char *camel, PbKV ***out, size_t *n, int depth);

/* An any-value `depth` levels down (1: an attribute's own value). */
static int json_any(jctx *j, json_object *v, PbAny *out, int depth)
{
    ignis__otlp__text__any_value__init(out);
    if (depth > IG_DECODE_MAX_DEPTH) {
        if (!j->reject)
            j->reject = too_deep;
        return 0;
    }
    if (want_object(j, v, "value") < 0)
        return -1;
    json_object *x;
    if ((x = member(v, "stringValue", "string_value"))) {
        if (!json_object_is_type(x, json_type_string))
            return type_error(j, "stringValue", "a string");
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE;
        out->string_value = ig_decode_text(j->c, json_object_get_string(x), (size_t)json_object_get_string_len(x));
    } else if ((x = member(v, "boolValue", "bool_value"))) {
        if (!json_object_is_type(x, json_type_boolean))
            return type_error(j, "boolValue", "true or false");
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE;
        out->bool_value = json_object_get_boolean(x);
    } else if ((x = member(v, "intValue", "int_value"))) {
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE;
        return get_i64_value(j, x, &out->int_value);
    } else if ((x = member(v, "doubleValue", "double_value"))) {
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_DOUBLE_VALUE;
        return get_double_value(j, x, &out->double_value);
    } else if ((x = member(v, "bytesValue", "bytes_value"))) {
        size_t len = (size_t)json_object_get_string_len(x);
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BYTES_VALUE;
        out->bytes_value.data = scratch(j, len / 4 * 3 + 3);
        if (!json_object_is_type(x, json_type_string) ||
            !ig_base64_decode(json_object_get_string(x), len, out->bytes_value.data, &out->bytes_value.len))
            return type_error(j, "bytesValue", "base64");
    } else if ((x = member(v, "arrayValue", "array_value"))) {
        json_object *values;
        size_t n;
        if (want_object(j, x, "arrayValue") < 0 || get_array(j, x, "values", NULL, &values, &n) < 0)
            return -1;
        PbArray *arr = scratch(j, sizeof *arr);
        ignis__otlp__text__array_value__init(arr);
        arr->values = scratch(j, (n ? n : 1) * sizeof *arr->values);
        for (size_t i = 0; i < n; i++) {
            arr->values[i] = scratch(j, sizeof(PbAny));
            if (json_any(j, json_object_array_get_idx(values, i), arr->values[i], depth + 1) < 0)
                return -1;
        }
        arr->n_values = n;
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE;
        out->array_value = arr;
    } else if ((x = member(v, "kvlistValue", "kvlist_value"))) {
        if (want_object(j, x, "kvlistValue") < 0)
            return -1;
        PbKVList *list = scratch(j, sizeof *list);
        ignis__otlp__text__key_value_list__init(list);
        if (json_kvs(j, x, "values", &list->values, &list->n_values, depth + 1) < 0)
            return -1;
        out->value_case = IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_KVLIST_VALUE;
        out->kvlist_value = list;
    }
    return 0;
}

/* Key-values whose values are `depth` levels down. */
static int json_kvs(jctx *j, json_object *o, const char *camel, PbKV ***out, size_t *n, int depth)
{
    json_object *arr;
    if (get_array(j, o, camel, NULL, &arr, n) < 0)
        return -1;
    *out = scratch(j, (*n ? *n : 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (want_object(j, e, "attribute") < 0)
            return -1;
        PbKV *kv = (*out)[i] = scratch(j, sizeof *kv);
        ignis__otlp__text__key_value__init(kv);
        if (get_string(j, e, "key", NULL, &kv->key) < 0)
            return -1;
        json_object *v = member(e, "value", NULL);
        if (v) {
            kv->value = scratch(j, sizeof *kv->value);
            if (json_any(j, v, kv->value, depth) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- resources, scopes, spans -------------------------------------------------------------- */

static int json_resource(jctx *j, json_object *o, PbResource *r)
{
    ignis__otlp__text__resource__init(r);
    if (want_object(j, o, "resource") < 0)
        return -1;
    if (json_kvs(j, o, "attributes", &r->attributes, &r->n_attributes, 1) < 0)
        return -1;
    return get_u32(j, o, "droppedAttributesCount", "dropped_attributes_count", &r->dropped_attributes_count);
}

static int json_scope(jctx *j, json_object *o, PbScope *s)
{
    ignis__otlp__text__instrumentation_scope__init(s);
    if (want_object(j, o, "scope") < 0 || get_string(j, o, "name", NULL, &s->name) < 0 ||
        get_string(j, o, "version", NULL, &s->version) < 0 ||
        json_kvs(j, o, "attributes", &s->attributes, &s->n_attributes, 1) < 0)
        return -1;
    return get_u32(j, o, "droppedAttributesCount", "dropped_attributes_count", &s->dropped_attributes_count);
}

static int json_event(jctx *j, json_object *o, PbEvent *e)
{
    ignis__otlp__text__span__event__init(e);
    if (want_object(j, o, "event") < 0 || get_u64(j, o, "timeUnixNano", "time_unix_nano", &e->time_unix_nano) < 0 ||
        get_string(j, o, "name", NULL, &e->name) < 0 || json_kvs(j, o, "attributes", &e->attributes, &e->n_attributes, 1) < 0)
        return -1;
    return get_u32(j, o, "droppedAttributesCount", "dropped_attributes_count", &e->dropped_attributes_count);
}

static int json_link(jctx *j, json_object *o, PbLink *l)
{
    ignis__otlp__text__span__link__init(l);
    if (want_object(j, o, "link") < 0 || get_id(j, o, "traceId", "trace_id", &l->trace_id) < 0 ||
        get_id(j, o, "spanId", "span_id", &l->span_id) < 0 ||
        get_string(j, o, "traceState", "trace_state", &l->trace_state) < 0 ||
        json_kvs(j, o, "attributes", &l->attributes, &l->n_attributes, 1) < 0 ||
        get_u32(j, o, "flags", NULL, &l->flags) < 0)
        return -1;
    return get_u32(j, o, "droppedAttributesCount", "dropped_attributes_count", &l->dropped_attributes_count);
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                         "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static int json_status(jctx *j, json_object *o, PbSpan *s)
{
    json_object *st = member(o, "status", NULL);
    if (!st)
        return 0;
    if (want_object(j, st, "status") < 0)
        return -1;
    s->status = scratch(j, sizeof *s->status);
    ignis__otlp__text__status__init(s->status);
    int code;
    if (get_string(j, st, "message", NULL, &s->status->message) < 0 || get_enum(j, st, "code", status_names, 3, &code) < 0)
        return -1;
    s->status->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    return 0;
}

static int json_span_lists(jctx *j, json_object *o, PbSpan *s)
{
    json_object *arr;
    size_t n;
    if (get_array(j, o, "events", NULL, &arr, &n) < 0)
        return -1;
    s->events = scratch(j, (n ? n : 1) * sizeof *s->events);
    for (s->n_events = 0; s->n_events < n; s->n_events++) {
        s->events[s->n_events] = scratch(j, sizeof(PbEvent));
        if (json_event(j, json_object_array_get_idx(arr, s->n_events), s->events[s->n_events]) < 0)
            return -1;
    }
    if (get_array(j, o, "links", NULL, &arr, &n) < 0)
        return -1;
    s->links = scratch(j, (n ? n : 1) * sizeof *s->links);
    for (s->n_links = 0; s->n_links < n; s->n_links++) {
        s->links[s->n_links] = scratch(j, sizeof(PbLink));
        if (json_link(j, json_object_array_get_idx(arr, s->n_links), s->links[s->n_links]) < 0)
            return -1;
    }
    return 0;
}

static int json_span(jctx *j, json_object *o, PbSpan *s)
{
    ignis__otlp__text__span__init(s);
    int kind;
    if (want_object(j, o, "span") < 0 || get_id(j, o, "traceId", "trace_id", &s->trace_id) < 0 ||
        get_id(j, o, "spanId", "span_id", &s->span_id) < 0 ||
        get_id(j, o, "parentSpanId", "parent_span_id", &s->parent_span_id) < 0 ||
        get_string(j, o, "traceState", "trace_state", &s->trace_state) < 0 ||
        get_u32(j, o, "flags", NULL, &s->flags) < 0 || get_string(j, o, "name", NULL, &s->name) < 0 ||
        get_enum(j, o, "kind", kind_names, 6, &kind) < 0 ||
        get_u64(j, o, "startTimeUnixNano", "start_time_unix_nano", &s->start_time_unix_nano) < 0 ||
        get_u64(j, o, "endTimeUnixNano", "end_time_unix_nano", &s->end_time_unix_nano) < 0 ||
        json_kvs(j, o, "attributes", &s->attributes, &s->n_attributes, 1) < 0 ||
        get_u32(j, o, "droppedAttributesCount", "dropped_attributes_count", &s->dropped_attributes_count) < 0 ||
        get_u32(j, o, "droppedEventsCount", "dropped_events_count", &s->dropped_events_count) < 0 ||
        get_u32(j, o, "droppedLinksCount", "dropped_links_count", &s->dropped_links_count) < 0 ||
        json_status(j, o, s) < 0 || json_span_lists(j, o, s) < 0)
        return -1;
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kind;
    return 0;
}

/* ---- the request ------------------------------------------------------------------------------ */

/* Counts n spans as received and rejected for `why` (their scope or
 * resource is nested too deep), as decode.c does. */
static void reject_spans(jctx *j, size_t n, const char *why)
{
    j->c->st->spans += (uint32_t)n;
    for (size_t k = 0; k < n; k++)
        ig_decode_reject(j->c, why);
}

/* The spans of a scopeSpans, rejected for `why` unread. */
static int reject_scope_spans(jctx *j, json_object *ss, const char *why)
{
    json_object *spans;
    size_t n;
    if (want_object(j, ss, "scopeSpans") < 0 || get_array(j, ss, "spans", NULL, &spans, &n) < 0)
        return -1;
    reject_spans(j, n, why);
    return 0;
}

static int json_scope_spans(jctx *j, json_object *ss, uint32_t resource)
{
    decode_ctx *c = j->c;
    if (want_object(j, ss, "scopeSpans") < 0)
        return -1;
    ProtobufCBinaryData schema_url;
    json_object *spans, *scope = member(ss, "scope", NULL);
    size_t n;
    if (get_array(j, ss, "spans", NULL, &spans, &n) < 0)
        return -1;
    ig_decode_scratch_reset(c);
    PbScope *sc = scope ? scratch(j, sizeof *sc) : NULL;
    j->reject = NULL;
    if ((sc && json_scope(j, scope, sc) < 0) || get_string(j, ss, "schemaUrl", "schema_url", &schema_url) < 0)
        return -1;
    if (j->reject) {
        reject_spans(j, n, j->reject);
        return 0;
    }
    uint32_t si = ig_decode_add_scope(c, sc, schema_url);
    c->st->spans += (uint32_t)n;
    for (size_t k = 0; k < n; k++) {
        ig_decode_scratch_reset(c);
        PbSpan *span = scratch(j, sizeof *span);
        j->reject = NULL;
        if (json_span(j, json_object_array_get_idx(spans, k), span) < 0)
            return -1;
        if (j->reject)
            ig_decode_reject(c, j->reject);
        else
            ig_decode_add_span(c, span, resource, si);
    }
    return 0;
}

static int json_resource_spans(jctx *j, json_object *rs)
{
    decode_ctx *c = j->c;
    if (want_object(j, rs, "resourceSpans") < 0)
        return -1;
    json_object *res = member(rs, "resource", NULL), *sss;
    size_t n;
    ProtobufCBinaryData schema_url;
    ig_decode_scratch_reset(c);
    PbResource *r = res ? scratch(j, sizeof *r) : NULL;
    j->reject = NULL;
    if ((r && json_resource(j, res, r) < 0) || get_string(j, rs, "schemaUrl", "schema_url", &schema_url) < 0 ||
        get_array(j, rs, "scopeSpans", "scope_spans", &sss, &n) < 0)
        return -1;
    if (j->reject) {
        const char *why = j->reject;
        for (size_t i = 0; i < n; i++)
            if (reject_scope_spans(j, json_object_array_get_idx(sss, i), why) < 0)
                return -1;
        return 0;
    }
    uint32_t ri = ig_decode_add_resource(c, r, schema_url);
    for (size_t i = 0; i < n; i++)
        if (json_scope_spans(j, json_object_array_get_idx(sss, i), ri) < 0)
            return -1;
    return 0;
}

static json_object *parse_body(const char *body, size_t len, ig_err *err)
{
    if (len > INT32_MAX) {
        ig_err_set(err, "malformed OTLP/JSON: body too large");
        return NULL;
    }
    if (ig_json_check_budget(body, len, "OTLP/JSON", err))
        return NULL;
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (jerr == json_tokener_success && used < len && strchr(" \t\r\n", body[used]))
        used++;
    if (!root || jerr != json_tokener_success || used != len) {
        ig_err_set(err, "malformed OTLP/JSON: %s",
                   jerr == json_tokener_continue || (!root && jerr == json_tokener_success) ? "incomplete JSON"
                   : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                   : "data after the JSON value");
        json_object_put(root);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_object)) {
        ig_err_set(err, "malformed OTLP/JSON: the request must be an object");
        json_object_put(root);
        return NULL;
    }
    return root;
}

ig_batch *ig_decode_json(const char *body, size_t len, ig_decode_stats *st, ig_err *err)
{
    json_object *root = parse_body(body, len, err);
    if (!root) {
        memset(st, 0, sizeof *st);
        return NULL;
    }
    decode_ctx c;
    ig_decode_ctx_init(&c, st);
    ig_batch_reserve(c.b, 0, len / 2 + 4096); /* JSON text is about twice what the batch keeps */
    jctx j = {&c, err, NULL};
    json_object *rss;
    size_t n;
    int rc = get_array(&j, root, "resourceSpans", "resource_spans", &rss, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = json_resource_spans(&j, json_object_array_get_idx(rss, i));
    json_object_put(root);
    ig_decode_ctx_done(&c);
    if (rc < 0) {
        ig_batch_free(c.b);
        return NULL;
    }
    return c.b;
}
