/*
 * exporters/pbjson.c — protobuf wire bytes <-> OTLP/JSON (see pbjson.h).
 *
 * Neither direction builds protobuf-c messages: protobuf to JSON walks the
 * wire bytes once per field of the descriptor, in the descriptor's order,
 * gathering that field's occurrences (the last one for a singular field,
 * all of them, packed or not, for a repeated one) and writing them; JSON
 * to protobuf parses the text with json-c and writes each member the
 * descriptor knows as wire bytes, a nested message into a buffer of its
 * own that is then framed with its length.  So one generic converter
 * serves every OTLP message, and the decoders only ever read protobuf.
 *
 * Base64 is done here: none of the libraries ignis links exports it
 * (collect/base64.c, in the command, is not part of libignis).
 */
#include "exporters/pbjson.h"
#include "utils/utf8.h"
#include "utils/jsonbudget.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

/* ---- wire reading ------------------------------------------------------------ */

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* One field on the wire. */
typedef struct wire_field {
    uint32_t number;
    int wire;
    uint64_t value;         /* varint, fixed32, fixed64 */
    const uint8_t *payload; /* length-delimited */
    size_t plen;
} wire_field;

/* The next field at *p; -1 when the bytes are not protobuf. */
static int next_field(const uint8_t **p, const uint8_t *end, wire_field *f)
{
    uint64_t tag, v = 0;
    if (get_varint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
        return -1;
    f->number = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->payload = NULL;
    f->plen = 0;
    switch (f->wire) {
    case 0:
        if (get_varint(p, end, &v))
            return -1;
        break;
    case 1:
        if (end - *p < 8)
            return -1;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | (*p)[i];
        *p += 8;
        break;
    case 5:
        if (end - *p < 4)
            return -1;
        for (int i = 3; i >= 0; i--)
            v = v << 8 | (*p)[i];
        *p += 4;
        break;
    case 2:
        if (get_varint(p, end, &v) || v > (uint64_t)(end - *p))
            return -1;
        f->payload = *p;
        f->plen = (size_t)v;
        *p += v;
        break;
    default:
        return -1;
    }
    f->value = v;
    return 0;
}

/* ---- text helpers ------------------------------------------------------------------ */

static void put_json_string(ig_strbuf *out, const char *s, size_t n)
{
    ig_strbuf valid = IG_STRBUF_INIT;
    if (!ig_utf8_valid(s, n)) {
        ig_utf8_append_valid(&valid, s, n);
        s = valid.data;
        n = valid.len;
    }
    ig_sb_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            ig_sb_putc(out, '\\');
            ig_sb_putc(out, (char)c);
        } else if (c < 0x20) {
            ig_sb_printf(out, "\\u%04x", c);
        } else {
            ig_sb_putc(out, (char)c);
        }
    }
    ig_sb_putc(out, '"');
    ig_sb_free(&valid);
}

/* lowerCamelCase of a snake_case field name. */
static void camel_name(const char *name, char *out, size_t len)
{
    size_t j = 0;
    bool up = false;
    for (const char *c = name; *c && j + 1 < len; c++) {
        if (*c == '_') {
            up = true;
            continue;
        }
        out[j++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        up = false;
    }
    out[j] = '\0';
}

static bool is_hex_id(const ProtobufCFieldDescriptor *f)
{
    return !strcmp(f->name, "trace_id") || !strcmp(f->name, "span_id");
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(ig_strbuf *out, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        ig_sb_append(out, q, 4);
    }
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Decodes base64 (standard or URL alphabet, padding optional). */
static bool decode_base64(const char *s, size_t n, ig_strbuf *out)
{
    while (n && s[n - 1] == '=')
        n--;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
        int v = b64_value(c);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            ig_sb_putc(out, (char)(acc >> bits & 0xff));
        }
    }
    return bits < 6; /* a lone sextet is not a byte */
}

/* ---- protobuf -> JSON ------------------------------------------------------------------ */

typedef struct to_json {
    ig_strbuf *out;
    ig_err *err;
} to_json;

static int emit_message(to_json *t, const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, int depth);

static bool is_packable(ProtobufCType type)
{
    return type != PROTOBUF_C_TYPE_STRING && type != PROTOBUF_C_TYPE_BYTES && type != PROTOBUF_C_TYPE_MESSAGE;
}

/* The wire type a scalar of this type has (0, 1 or 5). */
static int scalar_wire(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT: return 5;
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 1;
    default: return 0;
    }
}

static void emit_double(ig_strbuf *out, double d)
{
    if (isnan(d))
        ig_sb_puts(out, "\"NaN\"");
    else if (isinf(d))
        ig_sb_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        ig_sb_printf(out, "%.17g", d);
}

/* One scalar value (already read with its wire type) as JSON. */
static void emit_scalar(ig_strbuf *out, ProtobufCType type, uint64_t v)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_ENUM: ig_sb_printf(out, "%" PRId32, (int32_t)v); break;
    case PROTOBUF_C_TYPE_SFIXED32: ig_sb_printf(out, "%" PRId32, (int32_t)(uint32_t)v); break;
    case PROTOBUF_C_TYPE_SINT32: ig_sb_printf(out, "%" PRId32, (int32_t)((uint32_t)v >> 1 ^ -(uint32_t)(v & 1))); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: ig_sb_printf(out, "%" PRIu32, (uint32_t)v); break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SFIXED64: ig_sb_printf(out, "\"%" PRId64 "\"", (int64_t)v); break;
    case PROTOBUF_C_TYPE_SINT64: ig_sb_printf(out, "\"%" PRId64 "\"", (int64_t)(v >> 1 ^ -(v & 1))); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: ig_sb_printf(out, "\"%" PRIu64 "\"", v); break;
    case PROTOBUF_C_TYPE_BOOL: ig_sb_puts(out, v ? "true" : "false"); break;
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        emit_double(out, f);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d;
        memcpy(&d, &v, sizeof d);
        emit_double(out, d);
        break;
    }
    default: break;
    }
}

/* One value of field f from one wire occurrence; for a packed run every
 * value in it.  count says how many were written (for commas). */
static int emit_values(to_json *t, const ProtobufCFieldDescriptor *f, const wire_field *w, int depth, size_t *count)
{
    if (is_packable(f->type) && w->wire == 2) { /* packed */
        const uint8_t *p = w->payload, *end = p + w->plen;
        int want = scalar_wire(f->type);
        while (p < end) {
            uint64_t v = 0;
            if (want == 0 && get_varint(&p, end, &v))
                return ig_err_set(t->err, "field %s: bad packed varint", f->name);
            if (want) {
                size_t n = want == 1 ? 8 : 4;
                if ((size_t)(end - p) < n)
                    return ig_err_set(t->err, "field %s: truncated packed value", f->name);
                for (size_t i = n; i-- > 0;)
                    v = v << 8 | p[i];
                p += n;
            }
            if ((*count)++)
                ig_sb_putc(t->out, ',');
            emit_scalar(t->out, f->type, v);
        }
        return 0;
    }
    if ((*count)++)
        ig_sb_putc(t->out, ',');
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        put_json_string(t->out, (const char *)w->payload, w->plen);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ig_sb_putc(t->out, '"');
        if (is_hex_id(f))
            for (size_t i = 0; i < w->plen; i++)
                ig_sb_printf(t->out, "%02x", w->payload[i]);
        else
            put_base64(t->out, w->payload, w->plen);
        ig_sb_putc(t->out, '"');
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        return emit_message(t, f->descriptor, w->payload, w->plen, depth + 1);
    } else {
        emit_scalar(t->out, f->type, w->value);
    }
    return 0;
}

/* Whether a wire occurrence fits the field's type. */
static bool wire_fits(const ProtobufCFieldDescriptor *f, int wire)
{
    if (!is_packable(f->type))
        return wire == 2;
    return wire == scalar_wire(f->type) || (wire == 2 && f->label == PROTOBUF_C_LABEL_REPEATED);
}

/* Whether a singular proto3 scalar holds its default (left out). */
static bool is_default(const ProtobufCFieldDescriptor *f, const wire_field *w)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return false;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES)
        return w->plen == 0;
    return w->value == 0;
}

static int emit_field(to_json *t, const ProtobufCFieldDescriptor *f, const uint8_t *data, size_t len, int depth,
                      bool *first)
{
    const uint8_t *p = data, *end = data + len;
    wire_field w, last = {0};
    size_t seen = 0, count = 0;
    bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    char name[128];
    camel_name(f->name, name, sizeof name);
    while (p < end) {
        if (next_field(&p, end, &w))
            return ig_err_set(t->err, "invalid protobuf data");
        if (w.number != f->id)
            continue;
        if (!wire_fits(f, w.wire))
            return ig_err_set(t->err, "field %s: wire type %d does not fit its type", f->name, w.wire);
        if (!repeated) {
            last = w;
            seen++;
            continue;
        }
        if (!seen++) {
            ig_sb_printf(t->out, "%s\"%s\":[", *first ? "" : ",", name);
            *first = false;
        }
        if (emit_values(t, f, &w, depth, &count))
            return -1;
    }
    if (repeated && seen)
        ig_sb_putc(t->out, ']');
    if (!repeated && seen && !is_default(f, &last)) {
        ig_sb_printf(t->out, "%s\"%s\":", *first ? "" : ",", name);
        *first = false;
        return emit_values(t, f, &last, depth, &count);
    }
    return 0;
}

static int emit_message(to_json *t, const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, int depth)
{
    if (depth > MAX_DEPTH)
        return ig_err_set(t->err, "messages nested deeper than %d levels", MAX_DEPTH);
    ig_sb_putc(t->out, '{');
    bool first = true;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (emit_field(t, &d->fields[i], data, len, depth, &first))
            return -1;
    ig_sb_putc(t->out, '}');
    return 0;
}

int ig_pbjson_from_pb(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, ig_strbuf *out,
                      ig_err *err)
{
    to_json t = {out, err};
    size_t mark = out->len;
    if (emit_message(&t, d, data, len, 0) == 0)
        return 0;
    out->len = mark;
    if (out->data)
        out->data[mark] = '\0';
    return -1;
}

/* ---- JSON -> protobuf ---------------------------------------------------------------------- */

typedef struct to_pb {
    ig_err *err;
} to_pb;

static void put_varint(ig_strbuf *sb, uint64_t v)
{
    uint8_t buf[10];
    size_t n = 0;
    do {
        buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ig_sb_append(sb, buf, n);
}

static void put_fixed(ig_strbuf *sb, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    ig_sb_append(sb, b, (size_t)bytes);
}

static int malformed(to_pb *c, const ProtobufCFieldDescriptor *f, const char *want)
{
    char name[128];
    camel_name(f->name, name, sizeof name);
    return ig_err_set(c->err, "malformed OTLP/JSON: %s must be %s", name, want);
}

/* An integer from a JSON number or a decimal string, in [min, max] (for
 * unsigned types, min 0 and max up to UINT64_MAX). */
static int json_integer(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, bool is_signed, uint64_t max,
                        uint64_t *out)
{
    const char *s = NULL;
    if (json_object_is_type(v, json_type_int)) {
        if (is_signed) {
            int64_t x = json_object_get_int64(v);
            if (x < 0 ? (uint64_t)-(x + 1) > max : (uint64_t)x > max)
                return malformed(c, f, "in range");
            *out = (uint64_t)x;
            return 0;
        }
        s = json_object_get_string(v); /* may exceed INT64_MAX: parse the text */
    } else if (json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v);
    } else if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (d != floor(d) || fabs(d) > 9007199254740992.0)
            return malformed(c, f, "an integer");
        char buf[32];
        snprintf(buf, sizeof buf, "%.0f", d);
        json_object *tmp = json_object_new_string(buf);
        int rc = json_integer(c, f, tmp, is_signed, max, out);
        json_object_put(tmp);
        return rc;
    } else {
        return malformed(c, f, "an integer");
    }
    errno = 0;
    char *end;
    if (is_signed) {
        long long x = strtoll(s, &end, 10);
        if (errno || end == s || *end || (x < 0 ? (uint64_t)-(x + 1) > max : (uint64_t)x > max))
            return malformed(c, f, "an integer in range");
        *out = (uint64_t)x;
    } else {
        if (*s == '-')
            return malformed(c, f, "a non-negative integer");
        unsigned long long x = strtoull(s, &end, 10);
        if (errno || end == s || *end || x > max)
            return malformed(c, f, "an integer in range");
        *out = x;
    }
    return 0;
}

static int json_double(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, double *out)
{
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        *out = json_object_get_double(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!strcmp(s, "NaN"))
            *out = NAN;
        else if (!strcmp(s, "Infinity"))
            *out = INFINITY;
        else if (!strcmp(s, "-Infinity"))
            *out = -INFINITY;
        else
            return malformed(c, f, "a number");
        return 0;
    }
    return malformed(c, f, "a number");
}

static int json_enum(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, uint64_t *out)
{
    if (json_object_is_type(v, json_type_string)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_object_get_string(v));
        if (ev) {
            *out = (uint64_t)(int64_t)ev->value;
            return 0;
        }
    }
    return json_integer(c, f, v, true, INT32_MAX, out);
}

/* The wire value of a scalar field from JSON. */
static int scalar_value(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, uint64_t *out)
{
    double d;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SFIXED32: {
        if (json_integer(c, f, v, true, INT32_MAX, out))
            return -1;
        if (f->type == PROTOBUF_C_TYPE_SFIXED32)
            *out = (uint32_t)(int32_t)*out;
        return 0;
    }
    case PROTOBUF_C_TYPE_SINT32: {
        if (json_integer(c, f, v, true, INT32_MAX, out))
            return -1;
        int32_t x = (int32_t)*out;
        *out = (uint32_t)(((uint32_t)x << 1) ^ (uint32_t)(x >> 31));
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: return json_integer(c, f, v, false, UINT32_MAX, out);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SFIXED64: return json_integer(c, f, v, true, INT64_MAX, out);
    case PROTOBUF_C_TYPE_SINT64: {
        if (json_integer(c, f, v, true, INT64_MAX, out))
            return -1;
        int64_t x = (int64_t)*out;
        *out = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
        return 0;
    }
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return json_integer(c, f, v, false, UINT64_MAX, out);
    case PROTOBUF_C_TYPE_ENUM: return json_enum(c, f, v, out);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return malformed(c, f, "true or false");
        *out = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT: {
        if (json_double(c, f, v, &d))
            return -1;
        float fl = (float)d;
        uint32_t bits;
        memcpy(&bits, &fl, sizeof bits);
        *out = bits;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        if (json_double(c, f, v, &d))
            return -1;
        memcpy(out, &d, sizeof d);
        return 0;
    default: return malformed(c, f, "a scalar");
    }
}

static void put_scalar(ig_strbuf *sb, ProtobufCType type, uint64_t v)
{
    int w = scalar_wire(type);
    if (w == 0)
        put_varint(sb, type == PROTOBUF_C_TYPE_INT32 || type == PROTOBUF_C_TYPE_ENUM ? (uint64_t)(int64_t)(int32_t)v : v);
    else
        put_fixed(sb, v, w == 1 ? 8 : 4);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int encode_message(to_pb *c, const ProtobufCMessageDescriptor *d, json_object *o, ig_strbuf *out, int depth);

/* One length-delimited value (string, bytes or message) of field f. */
static int put_delimited(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, ig_strbuf *out, int depth)
{
    ig_strbuf tmp = IG_STRBUF_INIT;
    int rc = 0;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        if (!json_object_is_type(v, json_type_string))
            rc = malformed(c, f, "a string");
        else
            ig_sb_append(&tmp, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
        if (!s) {
            rc = malformed(c, f, "a string");
        } else if (is_hex_id(f)) {
            for (size_t i = 0; i + 1 < n && !rc; i += 2) {
                int hi = hexval(s[i]), lo = hexval(s[i + 1]);
                if (hi < 0 || lo < 0)
                    rc = malformed(c, f, "hex");
                else
                    ig_sb_putc(&tmp, (char)(hi << 4 | lo));
            }
            if (n % 2)
                rc = malformed(c, f, "hex");
        } else if (!decode_base64(s, n, &tmp)) {
            rc = malformed(c, f, "base64");
        }
    } else {
        rc = encode_message(c, f->descriptor, v, &tmp, depth + 1);
    }
    if (!rc) {
        put_varint(out, (uint64_t)f->id << 3 | 2);
        put_varint(out, tmp.len);
        ig_sb_append(out, tmp.data ? tmp.data : "", tmp.len);
    }
    ig_sb_free(&tmp);
    return rc;
}

static int encode_field(to_pb *c, const ProtobufCFieldDescriptor *f, json_object *v, ig_strbuf *out, int depth)
{
    uint64_t x;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        if (!is_packable(f->type))
            return put_delimited(c, f, v, out, depth);
        if (scalar_value(c, f, v, &x))
            return -1;
        put_varint(out, (uint64_t)f->id << 3 | (uint64_t)scalar_wire(f->type));
        put_scalar(out, f->type, x);
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return malformed(c, f, "an array");
    size_t n = json_object_array_length(v);
    if (!is_packable(f->type)) {
        for (size_t i = 0; i < n; i++)
            if (put_delimited(c, f, json_object_array_get_idx(v, i), out, depth))
                return -1;
        return 0;
    }
    ig_strbuf packed = IG_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (scalar_value(c, f, json_object_array_get_idx(v, i), &x)) {
            ig_sb_free(&packed);
            return -1;
        }
        put_scalar(&packed, f->type, x);
    }
    put_varint(out, (uint64_t)f->id << 3 | 2);
    put_varint(out, packed.len);
    ig_sb_append(out, packed.data ? packed.data : "", packed.len);
    ig_sb_free(&packed);
    return 0;
}

static int encode_message(to_pb *c, const ProtobufCMessageDescriptor *d, json_object *o, ig_strbuf *out, int depth)
{
    if (depth > MAX_DEPTH)
        return ig_err_set(c->err, "malformed OTLP/JSON: nested deeper than %d levels", MAX_DEPTH);
    if (!json_object_is_type(o, json_type_object))
        return ig_err_set(c->err, "malformed OTLP/JSON: %s must be an object", d->short_name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char name[128];
        camel_name(f->name, name, sizeof name);
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, name, &v))
            json_object_object_get_ex(o, f->name, &v);
        if (!v || json_object_is_type(v, json_type_null))
            continue;
        if (encode_field(c, f, v, out, depth))
            return -1;
    }
    return 0;
}

int ig_pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len, ig_strbuf *out, ig_err *err)
{
    if (len > INT_MAX)
        return ig_err_set(err, "malformed OTLP/JSON: %zu bytes is too large", len);
    if (ig_json_check_budget(json, len, "OTLP/JSON", err))
        return -1;
    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok)
        return ig_err_set(err, "out of memory");
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    int rc = 0;
    if (!root || jerr != json_tokener_success) {
        rc = ig_err_set(err, "malformed OTLP/JSON: %s at byte %zu",
                        jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr),
                        used);
    } else {
        while (used < len && strchr(" \t\r\n", json[used]))
            used++;
        if (used < len)
            rc = ig_err_set(err, "malformed OTLP/JSON: text after the object at byte %zu", used);
    }
    json_tokener_free(tok);
    if (!rc) {
        to_pb c = {err};
        size_t mark = out->len;
        rc = encode_message(&c, d, root, out, 0);
        if (rc) {
            out->len = mark;
            if (out->data)
                out->data[mark] = '\0';
        }
    }
    json_object_put(root);
    return rc;
}
