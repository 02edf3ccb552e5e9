/*
 * exporters/otlp_profiles_decode.c — an OTLP profiles request (protobuf or
 * OTLP/JSON) into the profile model (see exporters/otlp_profiles.h for
 * what maps to what).
 *
 * The request is hostile input, so it is never unpacked whole: protobuf-c
 * would recurse without limit into nested attribute values and spend tens
 * of bytes per sub-message of two wire bytes.  Instead one walk notes
 * where every dictionary element and every resource starts (4 bytes per
 * element), and elements are then decoded one at a time, on first use,
 * each into a bump arena whose budget is a multiple of its wire size.
 * Elements that reference others (a sample its stack, a stack its
 * locations, a location its mapping and functions, any of them their
 * attributes) are decoded at different depths, so each depth has an arena
 * of its own and a message stays valid while the ones below it are
 * resolved.  What was resolved is memoized per element, so the model only
 * receives what some sample references (mappings excepted: all of them,
 * in table order, as the encoder writes pprof's), and each element is
 * decoded once.
 * Attribute values (AnyValue) are walked first and refused when nested
 * deeper than 32 levels.  Every index is checked against its table, and
 * every error names the element ("stack 7: location index 99 out of range
 * (12 locations)").
 *
 * Profiles are read in two passes: the first collects their sample types
 * (one model value type per distinct type/unit pair, in each scope's
 * pprof.scope.sample_type_order when it has one) and the metadata of the
 * first Profile; the second adds every sample with its value in its
 * Profile's column, so a pprof profile written as N Profiles comes back
 * as one model profile with N value types.  Values of one type must sum
 * to something that fits in an int64 in absolute value, as in pprof.
 *
 * OTLP/JSON is converted to protobuf first (exporters/pbjson.c), so both
 * encodings share one validation.
 */
#include "exporters/otlp_profiles.h"
#include "exporters/pbarena.h"
#include "exporters/pbjson.h"
#include "opentelemetry/ignis/text.pb-c.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "utils/fileio.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_location;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_function;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__Link pb_link;
typedef Ignis__Otlp__Text__KeyValueAndUnit pb_kvu; /* strings as bytes: see below */
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_value_type;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
/* Attributes, scopes and resources decode into OTLP's messages with every
 * string declared bytes (proto/opentelemetry/ignis/text.proto):
 * protobuf-c's strings are C strings, cut at a NUL, these keep their
 * length, and a NUL is then shown as \u0000 (ig_pb_intern_string). */
typedef Ignis__Otlp__Text__AnyValue pb_any;
typedef Ignis__Otlp__Text__KeyValue pb_kv;
typedef Ignis__Otlp__Text__InstrumentationScope pb_scope;
typedef Ignis__Otlp__Text__Resource pb_resource;

#define D_PROFILES(x) opentelemetry__proto__profiles__v1development__##x##__descriptor
#define MAX_VALUE_DEPTH 32

/* ---- wire walking -------------------------------------------------------------- */

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

typedef struct field {
    uint64_t number;
    int wire;
    uint64_t value;         /* varint, fixed */
    const uint8_t *start;   /* the field's first byte (its tag) */
    const uint8_t *payload; /* length-delimited: its bytes */
    size_t plen;
} field;

/* The next field at *p; -1 when it is not protobuf. */
static int next_field(const uint8_t **p, const uint8_t *end, field *f)
{
    f->start = *p;
    uint64_t tag, v = 0;
    if (get_varint(p, end, &tag) || (tag >> 3) == 0)
        return -1;
    f->number = tag >> 3;
    f->wire = (int)(tag & 7);
    f->payload = NULL;
    f->plen = 0;
    if (f->wire == 0) {
        if (get_varint(p, end, &v))
            return -1;
    } else if (f->wire == 1 || f->wire == 5) {
        size_t n = f->wire == 1 ? 8 : 4;
        if ((size_t)(end - *p) < n)
            return -1;
        for (size_t i = n; i-- > 0;)
            v = v << 8 | (*p)[i];
        *p += n;
    } else if (f->wire == 2) {
        if (get_varint(p, end, &v) || v > (uint64_t)(end - *p))
            return -1;
        f->payload = *p;
        f->plen = (size_t)v;
        *p += v;
    } else {
        return -1;
    }
    f->value = v;
    return 0;
}

/* ---- the decoder -------------------------------------------------------------------- */

enum { T_MAPPING = 1, T_LOCATION, T_FUNCTION, T_LINK, T_STRING, T_ATTRIBUTE, T_STACK, T_LAST = T_STACK };
static const char *const table_what[T_LAST + 1] = {"", "mapping", "location", "function", "link",
                                                   "string", "attribute", "stack"};
/* arenas by depth */
enum { A_SAMPLE, A_STACK, A_LOCATION, A_LEAF, A_ATTR, A_META, NARENAS };

typedef struct offsets {
    uint32_t *off; /* where each element's length varint starts */
    size_t n, cap;
} offsets;

static void offsets_push(offsets *o, size_t at)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->off = ig_xrealloc(o->off, o->cap * sizeof *o->off);
    }
    o->off[o->n++] = (uint32_t)at;
}

/* A decoded attribute: a label (key 0: nothing to keep) or a renamed one. */
typedef struct attr {
    ignis_label label;
    int kind;   /* A_NONE, A_STR, A_INT, A_BOOL, A_OTHER */
    bool flag;  /* bool value */
} attr;
enum { K_NONE, K_STR, K_INT, K_BOOL, K_OTHER };

typedef struct link_ids {
    uint32_t trace, span; /* model string ids of the hex ids */
} link_ids;

/* A run of bytes: a resource's, a scope's. */
typedef struct span {
    const uint8_t *data;
    size_t len;
} span;

typedef struct spans {
    span *s;
    size_t n, cap;
} spans;

static void push_span(spans *v, const uint8_t *data, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->s = ig_xrealloc(v->s, v->cap * sizeof *v->s);
    }
    v->s[v->n++] = (span){data, len};
}

typedef struct profile_ref {
    const uint8_t *payload;
    size_t plen;
    size_t resource;
    uint32_t column;
} profile_ref;

typedef struct dec {
    const uint8_t *data;
    size_t len;
    ig_err *err;
    ignis_profile *p;
    ig_pb_arena ar[NARENAS];
    offsets tab[T_LAST + 1];
    uint32_t *memo[T_LAST + 1]; /* value + 1; 0 = not resolved yet */
    attr *attrs;                /* decoded attributes, memo[T_ATTRIBUTE] - 1 indexes them */
    size_t nattrs, capattrs;
    link_ids *links;
    size_t nlinks, caplinks;
    spans resources;            /* ResourceProfiles payloads */
    ignis_label **res_labels;   /* per resource, when there are several */
    size_t *res_nlabels;
    profile_ref *profiles;
    size_t nprofiles, capprofiles;
    uint64_t *mag;              /* |value| sums per column */
    size_t ncolumns;
    ignis_label *labels;        /* one sample's labels */
    size_t lcap;
    ig_strbuf text;
} dec;

static int fail(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(dec *d, const char *fmt, ...)
{
    char msg[sizeof d->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ig_err_set(d->err, "%s", msg);
}

/* Decodes one message into the arena of its depth; NULL with the error set. */
static void *unpack(dec *d, int depth, const ProtobufCMessageDescriptor *desc, const char *what, size_t index,
                    const uint8_t *payload, size_t plen)
{
    ig_pb_arena *a = &d->ar[depth];
    void *m = ig_pb_arena_unpack(a, desc, plen, payload);
    if (m)
        return m;
    if (a->over)
        fail(d, "%s %zu: decoding its %zu bytes needs more than %zu bytes of memory", what, index, plen, a->budget);
    else
        fail(d, "%s %zu: invalid protobuf data", what, index);
    return NULL;
}

/* Element i of table t: its payload. */
static void element(const dec *d, int t, size_t i, const uint8_t **payload, size_t *plen)
{
    const uint8_t *p = d->data + d->tab[t].off[i], *end = d->data + d->len;
    uint64_t v = 0;
    get_varint(&p, end, &v); /* checked by the first walk */
    *payload = p;
    *plen = (size_t)v;
}

/* Checks an index into table t; 0 is allowed for an empty table (the
 * zero value every table implies). */
static int check_index(dec *d, int t, int64_t idx, const char *what, size_t at)
{
    if (idx < 0 || (idx > 0 && (uint64_t)idx >= d->tab[t].n))
        return fail(d, "%s %zu: %s index %" PRId64 " out of range (%zu %ss)", what, at, table_what[t], idx,
                    d->tab[t].n, table_what[t]);
    return 0;
}

/* ---- strings ---------------------------------------------------------------------------- */

/* The model id of string idx (checked by the caller), interned on first use. */
static uint32_t string_id(dec *d, int64_t idx)
{
    if (idx <= 0 || (uint64_t)idx >= d->tab[T_STRING].n)
        return 0;
    uint32_t *m = &d->memo[T_STRING][idx];
    if (!*m) {
        const uint8_t *s;
        size_t n;
        element(d, T_STRING, (size_t)idx, &s, &n);
        *m = ig_pb_intern_string(d->p, (const char *)s, n) + 1; /* whole, a NUL shown as \u0000 */
    }
    return *m - 1;
}

static int string_at(dec *d, int64_t idx, uint32_t *out, const char *what, size_t at)
{
    if (check_index(d, T_STRING, idx, what, at))
        return -1;
    *out = string_id(d, idx);
    return 0;
}

static const char *str(const dec *d, uint32_t id)
{
    return ignis_profile_string(d->p, id);
}

/* ---- attribute values ----------------------------------------------------------------------- */

static int check_any(const uint8_t *p, size_t n, int depth);

/* A KeyValue (its value at field 2) or a KeyValueList / ArrayValue entry. */
static int check_kv(const uint8_t *p, size_t n, int depth)
{
    const uint8_t *end = p + n;
    field f;
    while (p < end) {
        if (next_field(&p, end, &f))
            return -1;
        if (f.number == 2 && f.wire == 2 && check_any(f.payload, f.plen, depth + 1))
            return -1;
    }
    return 0;
}

/* An AnyValue: arrays (5) hold AnyValues, kvlists (6) KeyValues. */
static int check_any(const uint8_t *p, size_t n, int depth)
{
    if (depth > MAX_VALUE_DEPTH)
        return -1;
    const uint8_t *end = p + n;
    field f, g;
    while (p < end) {
        if (next_field(&p, end, &f))
            return -1;
        if ((f.number != 5 && f.number != 6) || f.wire != 2)
            continue;
        const uint8_t *q = f.payload, *qe = q + f.plen;
        while (q < qe) {
            if (next_field(&q, qe, &g))
                return -1;
            if (g.number == 1 && g.wire == 2 &&
                (f.number == 5 ? check_any(g.payload, g.plen, depth + 1) : check_kv(g.payload, g.plen, depth + 1)))
                return -1;
        }
    }
    return 0;
}

/* A string of a decoded message, interned whole (a NUL shown as \u0000). */
static uint32_t intern_text(dec *d, ProtobufCBinaryData s)
{
    return ig_pb_intern_string(d->p, s.len ? (const char *)s.data : "", s.len);
}

/* Whether a string of a decoded message is exactly `want`. */
static bool text_is(ProtobufCBinaryData s, const char *want)
{
    return s.len == strlen(want) && !memcmp(s.data, want, s.len);
}

/* Text for a value that is neither a string nor an integer. */
static uint32_t value_text(dec *d, const pb_any *v, const uint8_t *wire, size_t wlen)
{
    ig_sb_reset(&d->text);
    switch (v->value_case) {
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE:
        ig_sb_puts(&d->text, v->bool_value ? "true" : "false");
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_DOUBLE_VALUE:
        ig_sb_printf(&d->text, "%.17g", v->double_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BYTES_VALUE:
        for (size_t i = 0; i < v->bytes_value.len; i++)
            ig_sb_printf(&d->text, "%02x", v->bytes_value.data[i]);
        break;
    default: { /* arrays and maps: their OTLP/JSON */
        ig_err e;
        if (ig_pbjson_from_pb(&opentelemetry__proto__common__v1__any_value__descriptor, wire, wlen, &d->text, &e))
            ig_sb_puts(&d->text, "?");
    }
    }
    return ignis_profile_intern_n(d->p, d->text.data ? d->text.data : "", d->text.len);
}

/* The AnyValue's bytes inside a KeyValue / KeyValueAndUnit (field 2). */
static void value_wire(const uint8_t *p, size_t n, const uint8_t **w, size_t *wl)
{
    const uint8_t *end = p + n;
    field f;
    *w = (const uint8_t *)"";
    *wl = 0;
    while (p < end && !next_field(&p, end, &f))
        if (f.number == 2 && f.wire == 2)
            *w = f.payload, *wl = f.plen;
}

/* A label for key = value (unit a model string id). */
static attr make_attr(dec *d, uint32_t key, const pb_any *v, uint32_t unit, const uint8_t *wire, size_t wlen)
{
    attr a = {{key, 0, 0, 0}, K_NONE, false};
    if (!v)
        return a;
    switch (v->value_case) {
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE:
        a.kind = K_STR;
        a.label.str = intern_text(d, v->string_value);
        if (!a.label.str) /* "" would read as a number: keep it as text */
            a.kind = K_NONE;
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE:
        a.kind = K_INT;
        a.label.num = v->int_value;
        a.label.num_unit = unit;
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE__NOT_SET: break;
    default:
        a.kind = v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE ? K_BOOL : K_OTHER;
        a.flag = v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE && v->bool_value;
        a.label.str = value_text(d, v, wire, wlen);
    }
    return a;
}

/* Renames the thread attributes back to the labels they came from. */
static void rename_thread(dec *d, attr *a)
{
    const char *key = str(d, a->label.key);
    if (a->kind == K_INT && !strcmp(key, "thread.id"))
        a->label.key = ignis_profile_intern(d->p, "tid");
    else if (a->kind == K_STR && !strcmp(key, "thread.name"))
        a->label.key = ignis_profile_intern(d->p, "thread");
}

/* Attribute idx (checked), decoded on first use. */
static const attr *attribute(dec *d, int64_t idx, int *rc)
{
    static const attr none = {{0, 0, 0, 0}, K_NONE, false};
    *rc = 0;
    if (idx == 0 || d->tab[T_ATTRIBUTE].n == 0)
        return &none;
    uint32_t *m = &d->memo[T_ATTRIBUTE][idx];
    if (*m)
        return &d->attrs[*m - 1];
    const uint8_t *payload;
    size_t plen;
    element(d, T_ATTRIBUTE, (size_t)idx, &payload, &plen);
    if (check_kv(payload, plen, 0)) {
        *rc = fail(d, "attribute %" PRId64 ": invalid or nested deeper than %d levels", idx, MAX_VALUE_DEPTH);
        return NULL;
    }
    pb_kvu *kv = unpack(d, A_ATTR, &ignis__otlp__text__key_value_and_unit__descriptor, "attribute", (size_t)idx, payload, plen);
    uint32_t key = 0, unit = 0;
    if (!kv || string_at(d, kv->key_strindex, &key, "attribute", (size_t)idx) ||
        string_at(d, kv->unit_strindex, &unit, "attribute", (size_t)idx)) {
        *rc = -1;
        return NULL;
    }
    const uint8_t *w;
    size_t wl;
    value_wire(payload, plen, &w, &wl);
    attr a = make_attr(d, key, kv->value, unit, w, wl);
    rename_thread(d, &a);
    if (d->nattrs == d->capattrs) {
        d->capattrs = d->capattrs ? d->capattrs * 2 : 64;
        d->attrs = ig_xrealloc(d->attrs, d->capattrs * sizeof *d->attrs);
    }
    d->attrs[d->nattrs++] = a;
    *m = (uint32_t)d->nattrs;
    return &d->attrs[d->nattrs - 1];
}

/* Checks a list of attribute indices of element `at` of kind `what`. */
static int check_attrs(dec *d, const int32_t *idx, size_t n, const char *what, size_t at)
{
    for (size_t i = 0; i < n; i++)
        if (check_index(d, T_ATTRIBUTE, idx[i], what, at))
            return -1;
    return 0;
}

/* ---- mappings, functions, locations, stacks ------------------------------------------------ */

/* The frame kind a mapping's name implies, the rule of exporters/pprof.c
 * ("[kernel...]", "[vmlinux]", "[jit]", perf-PID.map), for producers that
 * send no profile.frame.type. */
static ignis_frame_kind kind_of_mapping_name(const char *name)
{
    if (!strncmp(name, "[kernel", 7) || !strcmp(name, "[vmlinux]"))
        return IGNIS_FRAME_KERNEL;
    if (!strcmp(name, "[jit]"))
        return IGNIS_FRAME_JIT;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    return !strncmp(base, "perf-", 5) && n > 4 && !strcmp(base + n - 4, ".map") ? IGNIS_FRAME_JIT : IGNIS_FRAME_USER;
}

static int mapping_id(dec *d, int64_t idx, uint32_t *out)
{
    *out = 0;
    if (idx == 0)
        return 0; /* no mapping */
    uint32_t *m = &d->memo[T_MAPPING][idx];
    if (*m) {
        *out = *m - 1;
        return 0;
    }
    const uint8_t *payload;
    size_t plen;
    element(d, T_MAPPING, (size_t)idx, &payload, &plen);
    pb_mapping *pm = unpack(d, A_LEAF, &D_PROFILES(mapping), "mapping", (size_t)idx, payload, plen);
    if (!pm || check_attrs(d, pm->attribute_indices, pm->n_attribute_indices, "mapping", (size_t)idx))
        return -1;
    ignis_mapping im = {pm->memory_start, pm->memory_limit, pm->file_offset, 0, 0, false, false, false, false};
    if (string_at(d, pm->filename_strindex, &im.filename, "mapping", (size_t)idx))
        return -1;
    uint32_t go_id = 0;
    for (size_t i = 0; i < pm->n_attribute_indices; i++) {
        int rc;
        const attr *a = attribute(d, pm->attribute_indices[i], &rc);
        if (rc)
            return -1;
        const char *key = str(d, a->label.key);
        if (a->kind == K_STR && !strcmp(key, "process.executable.build_id.gnu"))
            im.build_id = a->label.str;
        else if (a->kind == K_STR && !strcmp(key, "process.executable.build_id.go"))
            go_id = a->label.str;
        else if (a->kind == K_BOOL && !strcmp(key, "pprof.mapping.has_functions"))
            im.has_functions = a->flag;
        else if (a->kind == K_BOOL && !strcmp(key, "pprof.mapping.has_filenames"))
            im.has_filenames = a->flag;
        else if (a->kind == K_BOOL && !strcmp(key, "pprof.mapping.has_line_numbers"))
            im.has_line_numbers = a->flag;
        else if (a->kind == K_BOOL && !strcmp(key, "pprof.mapping.has_inline_frames"))
            im.has_inline_frames = a->flag;
    }
    if (!im.build_id)
        im.build_id = go_id;
    *out = ignis_profile_add_mapping(d->p, &im);
    *m = *out + 1;
    return 0;
}

static int function_id(dec *d, int64_t idx, uint32_t *out)
{
    uint32_t *m = d->tab[T_FUNCTION].n ? &d->memo[T_FUNCTION][idx] : NULL;
    if (m && *m) {
        *out = *m - 1;
        return 0;
    }
    ignis_function f = {0, 0, 0, 0};
    if (m) {
        const uint8_t *payload;
        size_t plen;
        element(d, T_FUNCTION, (size_t)idx, &payload, &plen);
        pb_function *pf = unpack(d, A_LEAF, &D_PROFILES(function), "function", (size_t)idx, payload, plen);
        if (!pf || string_at(d, pf->name_strindex, &f.name, "function", (size_t)idx) ||
            string_at(d, pf->system_name_strindex, &f.system_name, "function", (size_t)idx) ||
            string_at(d, pf->filename_strindex, &f.filename, "function", (size_t)idx))
            return -1;
        f.start_line = pf->start_line;
    }
    *out = ignis_profile_add_function(d->p, &f);
    if (m)
        *m = *out + 1;
    return 0;
}

/* What a location's attributes say: folded, and its frame kind (else its
 * mapping's name says it, as in pprof files). */
static int location_attrs(dec *d, const pb_location *pl, ignis_location *loc)
{
    bool kind_set = false;
    for (size_t i = 0; i < pl->n_attribute_indices; i++) {
        int rc;
        const attr *a = attribute(d, pl->attribute_indices[i], &rc);
        if (rc)
            return -1;
        const char *key = str(d, a->label.key);
        if (a->kind == K_BOOL && !strcmp(key, "pprof.location.is_folded")) {
            loc->is_folded = a->flag;
        } else if (a->kind == K_STR && !strcmp(key, "profile.frame.type")) {
            const char *t = str(d, a->label.str);
            loc->kind = !strcmp(t, "kernel") ? IGNIS_FRAME_KERNEL : !strcmp(t, "jit") ? IGNIS_FRAME_JIT
                                                                                        : IGNIS_FRAME_USER;
            kind_set = true;
        }
    }
    if (!kind_set && loc->mapping)
        loc->kind = (uint8_t)kind_of_mapping_name(str(d, ignis_profile_mapping(d->p, loc->mapping)->filename));
    return 0;
}

static int location_id(dec *d, int64_t idx, uint32_t *out)
{
    uint32_t *m = d->tab[T_LOCATION].n ? &d->memo[T_LOCATION][idx] : NULL;
    if (m && *m) {
        *out = *m - 1;
        return 0;
    }
    ignis_location loc = {0, 0, NULL, 0, IGNIS_FRAME_USER, false};
    ignis_line *lines = NULL;
    if (m) {
        const uint8_t *payload;
        size_t plen;
        element(d, T_LOCATION, (size_t)idx, &payload, &plen);
        pb_location *pl = unpack(d, A_LOCATION, &D_PROFILES(location), "location", (size_t)idx, payload, plen);
        if (!pl || check_index(d, T_MAPPING, pl->mapping_index, "location", (size_t)idx) ||
            check_attrs(d, pl->attribute_indices, pl->n_attribute_indices, "location", (size_t)idx) ||
            mapping_id(d, pl->mapping_index, &loc.mapping))
            return -1;
        if (pl->n_lines > UINT32_MAX)
            return fail(d, "location %" PRId64 ": too many lines", idx);
        lines = ig_xmalloc((pl->n_lines ? pl->n_lines : 1) * sizeof *lines);
        for (size_t i = 0; i < pl->n_lines; i++) {
            const Opentelemetry__Proto__Profiles__V1development__Line *ln = pl->lines[i];
            if (check_index(d, T_FUNCTION, ln->function_index, "location", (size_t)idx) ||
                function_id(d, ln->function_index, &lines[i].function)) {
                free(lines);
                return -1;
            }
            lines[i].line = ln->line;
            lines[i].column = ln->column;
        }
        loc.address = pl->address;
        loc.lines = lines;
        loc.nlines = (uint32_t)pl->n_lines;
        if (location_attrs(d, pl, &loc)) {
            free(lines);
            return -1;
        }
    }
    *out = ignis_profile_add_location(d->p, &loc);
    free(lines);
    if (!*out)
        return fail(d, "location %" PRId64 ": invalid", idx);
    if (m)
        *m = *out + 1;
    return 0;
}

static int stack_id(dec *d, int64_t idx, uint32_t *out)
{
    uint32_t *m = d->tab[T_STACK].n ? &d->memo[T_STACK][idx] : NULL;
    if (m && *m) {
        *out = *m - 1;
        return 0;
    }
    uint32_t *locs = NULL;
    size_t n = 0;
    if (m) {
        const uint8_t *payload;
        size_t plen;
        element(d, T_STACK, (size_t)idx, &payload, &plen);
        pb_stack *ps = unpack(d, A_STACK, &D_PROFILES(stack), "stack", (size_t)idx, payload, plen);
        if (!ps)
            return -1;
        n = ps->n_location_indices;
        locs = ig_xmalloc((n ? n : 1) * sizeof *locs);
        for (size_t i = 0; i < n; i++)
            if (check_index(d, T_LOCATION, ps->location_indices[i], "stack", (size_t)idx) ||
                location_id(d, ps->location_indices[i], &locs[i])) {
                free(locs);
                return -1;
            }
    }
    *out = ignis_profile_add_stack(d->p, locs, n);
    free(locs);
    if (!*out)
        return fail(d, "stack %" PRId64 ": invalid", idx);
    if (m)
        *m = *out + 1;
    return 0;
}

/* ---- links ---------------------------------------------------------------------------------- */

static uint32_t hex_string(dec *d, const ProtobufCBinaryData *b)
{
    ig_sb_reset(&d->text);
    for (size_t i = 0; i < b->len; i++)
        ig_sb_printf(&d->text, "%02x", b->data[i]);
    return ignis_profile_intern_n(d->p, d->text.data ? d->text.data : "", d->text.len);
}

/* Link idx (checked; 0: none) as model strings; *none when no link. */
static int link_of(dec *d, int64_t idx, link_ids *out, bool *none)
{
    *none = true;
    if (idx == 0)
        return 0;
    uint32_t *m = &d->memo[T_LINK][idx];
    if (!*m) {
        const uint8_t *payload;
        size_t plen;
        element(d, T_LINK, (size_t)idx, &payload, &plen);
        pb_link *pl = unpack(d, A_LEAF, &D_PROFILES(link), "link", (size_t)idx, payload, plen);
        if (!pl)
            return -1;
        if ((pl->trace_id.len != 16 || pl->span_id.len != 8) && (pl->trace_id.len || pl->span_id.len))
            return fail(d, "link %" PRId64 ": trace id of %zu bytes and span id of %zu (want 16 and 8)", idx,
                        pl->trace_id.len, pl->span_id.len);
        if (d->nlinks == d->caplinks) {
            d->caplinks = d->caplinks ? d->caplinks * 2 : 64;
            d->links = ig_xrealloc(d->links, d->caplinks * sizeof *d->links);
        }
        link_ids li = {0, 0};
        if (pl->trace_id.len)
            li.trace = hex_string(d, &pl->trace_id), li.span = hex_string(d, &pl->span_id);
        d->links[d->nlinks++] = li;
        *m = (uint32_t)d->nlinks;
    }
    *out = d->links[*m - 1];
    *none = out->trace == 0;
    return 0;
}

/* ---- the first walk: where everything is -------------------------------------------------- */

/* Notes every dictionary element's position (its length varint). */
static int walk_dictionary(dec *d, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    field f;
    while (p < end) {
        if (next_field(&p, end, &f))
            return fail(d, "not an OTLP profiles request (invalid dictionary at byte %zu)", (size_t)(p - d->data));
        if (f.number < T_MAPPING || f.number > T_LAST)
            continue;
        if (f.wire != 2)
            return fail(d, "not an OTLP profiles request (dictionary field %" PRIu64 " has wire type %d)", f.number,
                        f.wire);
        offsets *o = &d->tab[f.number];
        if (o->n >= (size_t)INT32_MAX)
            return fail(d, "dictionary: more than %d %ss", INT32_MAX, table_what[f.number]);
        size_t tag_len = 1;
        for (uint64_t t = f.number << 3 | 2; t >= 0x80; t >>= 7)
            tag_len++;
        offsets_push(o, (size_t)(f.start - d->data) + tag_len);
    }
    return 0;
}

static int walk_request(dec *d)
{
    if (d->len > UINT32_MAX)
        return fail(d, "OTLP profiles request of %zu bytes is too large", d->len);
    const uint8_t *p = d->data, *end = p + d->len;
    field f;
    while (p < end) {
        size_t at = (size_t)(p - d->data);
        if (next_field(&p, end, &f))
            return fail(d, "not an OTLP profiles request (invalid protobuf data at byte %zu)", at);
        if ((f.number == 1 || f.number == 2) && f.wire != 2)
            return fail(d, "not an OTLP profiles request (field %" PRIu64 " at byte %zu has wire type %d)", f.number,
                        at, f.wire);
        if (f.number == 1)
            push_span(&d->resources, f.payload, f.plen);
        else if (f.number == 2 && walk_dictionary(d, f.payload, f.plen))
            return -1;
    }
    for (int t = T_MAPPING; t <= T_LAST; t++)
        if (d->tab[t].n)
            d->memo[t] = ig_xcalloc(d->tab[t].n, sizeof(uint32_t));
    if (d->tab[T_STRING].n) {
        const uint8_t *s;
        size_t n;
        element(d, T_STRING, 0, &s, &n);
        if (n)
            return fail(d, "dictionary: string_table[0] must be \"\"");
    }
    return 0;
}

/* ---- resources and scopes ------------------------------------------------------------------- */

/* Checks the KeyValue lists (field `kvs`) of a Resource or a scope. */
static int check_kv_list(dec *d, const uint8_t *p, size_t n, uint64_t kvs, const char *what, size_t at)
{
    const uint8_t *end = p + n;
    field f;
    while (p < end) {
        if (next_field(&p, end, &f))
            return fail(d, "%s %zu: invalid protobuf data", what, at);
        if (f.number == kvs && f.wire == 2 && check_kv(f.payload, f.plen, 0))
            return fail(d, "%s %zu: attribute value invalid or nested deeper than %d levels", what, at,
                        MAX_VALUE_DEPTH);
    }
    return 0;
}

/* A resource's attributes (a Resource message) as labels, used when the
 * request has several resources. */
static int resource_labels(dec *d, size_t r, const uint8_t *p, size_t n)
{
    if (check_kv_list(d, p, n, 1, "resource", r))
        return -1;
    pb_resource *res = unpack(d, A_META, &ignis__otlp__text__resource__descriptor, "resource", r, p, n);
    if (!res)
        return -1;
    free(d->res_labels[r]);
    d->res_labels[r] = ig_xcalloc(res->n_attributes + 1, sizeof(ignis_label));
    d->res_nlabels[r] = 0;
    for (size_t i = 0; i < res->n_attributes; i++) {
        const pb_kv *kv = res->attributes[i];
        attr a = make_attr(d, intern_text(d, kv->key), kv->value, 0, (const uint8_t *)"", 0);
        if (a.kind != K_NONE)
            d->res_labels[r][d->res_nlabels[r]++] = a.label;
    }
    return 0;
}

typedef struct scope_info {
    int64_t *order;   /* pprof.scope.sample_type_order, or NULL */
    size_t norder;
    uint32_t default_type; /* model string, 0 = none */
} scope_info;

static int read_scope(dec *d, size_t at, const uint8_t *p, size_t n, scope_info *si)
{
    if (check_kv_list(d, p, n, 3, "scope", at))
        return -1;
    pb_scope *sc = unpack(d, A_META, &ignis__otlp__text__instrumentation_scope__descriptor, "scope",
                          at, p, n);
    if (!sc)
        return -1;
    for (size_t i = 0; i < sc->n_attributes; i++) {
        const pb_kv *kv = sc->attributes[i];
        const pb_any *v = kv->value;
        if (!v)
            continue;
        if (text_is(kv->key, "pprof.scope.default_sample_type") &&
            v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE) {
            si->default_type = intern_text(d, v->string_value);
        } else if (text_is(kv->key, "pprof.scope.sample_type_order") &&
                   v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE && v->array_value) {
            size_t m = v->array_value->n_values;
            free(si->order);
            si->order = ig_xcalloc(m + 1, sizeof *si->order);
            si->norder = m;
            for (size_t j = 0; j < m; j++) {
                const pb_any *e = v->array_value->values[j];
                si->order[j] = e->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE
                                   ? e->int_value
                                   : -1;
            }
        }
    }
    return 0;
}

/* ---- profiles: sample types and metadata (pass A) ------------------------------------------ */

/* A Profile without its samples: every other field, unpacked. */
static pb_profile *profile_head(dec *d, size_t at, const uint8_t *p, size_t n, ig_strbuf *rest)
{
    const uint8_t *end = p + n;
    field f;
    ig_sb_reset(rest);
    while (p < end) {
        const uint8_t *start = p;
        if (next_field(&p, end, &f))
            return fail(d, "profile %zu: invalid protobuf data", at), NULL;
        if (f.number != 2)
            ig_sb_append(rest, start, (size_t)(p - start));
    }
    return unpack(d, A_META, &D_PROFILES(profile), "profile", at, (const uint8_t *)(rest->data ? rest->data : ""),
                  rest->len);
}

/* Comments, drop/keep frames from the first Profile's attributes. */
static int profile_metadata(dec *d, const pb_profile *pp, size_t at)
{
    if (check_attrs(d, pp->attribute_indices, pp->n_attribute_indices, "profile", at))
        return -1;
    if (pp->period_type) {
        uint32_t t, u;
        if (string_at(d, pp->period_type->type_strindex, &t, "profile", at) ||
            string_at(d, pp->period_type->unit_strindex, &u, "profile", at))
            return -1;
        ignis_profile_set_period(d->p, str(d, t), str(d, u), pp->period);
    } else if (pp->period) {
        ignis_profile_set_period(d->p, "", "", pp->period);
    }
    int64_t t = pp->time_unix_nano > INT64_MAX ? INT64_MAX : (int64_t)pp->time_unix_nano;
    int64_t dur = pp->duration_nano > INT64_MAX ? INT64_MAX : (int64_t)pp->duration_nano;
    ignis_profile_set_time(d->p, t, dur);
    uint32_t drop = 0, keep = 0;
    for (size_t i = 0; i < pp->n_attribute_indices; i++) {
        int64_t idx = pp->attribute_indices[i];
        if (idx == 0)
            continue;
        const uint8_t *payload;
        size_t plen;
        element(d, T_ATTRIBUTE, (size_t)idx, &payload, &plen);
        if (check_kv(payload, plen, 0))
            return fail(d, "attribute %" PRId64 ": invalid or nested deeper than %d levels", idx, MAX_VALUE_DEPTH);
        pb_kvu *kv = unpack(d, A_ATTR, &ignis__otlp__text__key_value_and_unit__descriptor, "attribute", (size_t)idx, payload, plen);
        uint32_t key;
        if (!kv || string_at(d, kv->key_strindex, &key, "attribute", (size_t)idx))
            return -1;
        const pb_any *v = kv->value;
        if (!v)
            continue;
        const char *k = str(d, key);
        bool is_str = v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE;
        if (!strcmp(k, "pprof.profile.comment") &&
            v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE && v->array_value) {
            for (size_t j = 0; j < v->array_value->n_values; j++) {
                const pb_any *c = v->array_value->values[j];
                if (c->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE)
                    ignis_profile_add_comment(d->p, str(d, intern_text(d, c->string_value)));
            }
        } else if (is_str && !strcmp(k, "pprof.profile.drop_frames")) {
            drop = intern_text(d, v->string_value);
        } else if (is_str && !strcmp(k, "pprof.profile.keep_frames")) {
            keep = intern_text(d, v->string_value);
        }
    }
    if (drop || keep)
        ignis_profile_set_drop_keep(d->p, str(d, drop), str(d, keep));
    return 0;
}

static void push_profile(dec *d, const uint8_t *p, size_t n, size_t resource)
{
    if (d->nprofiles == d->capprofiles) {
        d->capprofiles = d->capprofiles ? d->capprofiles * 2 : 16;
        d->profiles = ig_xrealloc(d->profiles, d->capprofiles * sizeof *d->profiles);
    }
    d->profiles[d->nprofiles++] = (profile_ref){p, n, resource, 0};
}

/* The column of a sample type, added when new. */
static uint32_t column_of(dec *d, uint32_t type, uint32_t unit)
{
    size_t nv = ignis_profile_num_values(d->p);
    for (size_t i = 0; i < nv; i++) {
        ignis_value_type vt = ignis_profile_value_type(d->p, i);
        if (vt.type == type && vt.unit == unit)
            return (uint32_t)i;
    }
    ignis_profile_add_value_type(d->p, str(d, type), str(d, unit));
    return (uint32_t)nv;
}

/* Whether order is a permutation of 0..n-1. */
static bool valid_order(const int64_t *order, size_t norder, size_t n)
{
    if (!order || norder != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (order[i] < 0 || (uint64_t)order[i] >= n)
            return false;
        for (size_t j = 0; j < i; j++)
            if (order[j] == order[i])
                return false;
    }
    return true;
}

/* Gives the profiles of one scope ([first, first + n) in d->profiles)
 * their columns, in the scope's pprof order when it has a valid one. */
static int scope_columns(dec *d, size_t first, size_t n, const scope_info *si, ig_strbuf *rest)
{
    uint32_t *type = ig_xcalloc(n + 1, sizeof *type), *unit = ig_xcalloc(n + 1, sizeof *unit);
    size_t *by_rank = ig_xcalloc(n + 1, sizeof *by_rank);
    bool ordered = valid_order(si->order, si->norder, n);
    int rc = 0;
    for (size_t j = 0; j < n && !rc; j++) {
        size_t at = first + j;
        pb_profile *pp = profile_head(d, at, d->profiles[at].payload, d->profiles[at].plen, rest);
        if (!pp) {
            rc = -1;
            break;
        }
        if (pp->sample_type && (string_at(d, pp->sample_type->type_strindex, &type[j], "profile", at) ||
                                string_at(d, pp->sample_type->unit_strindex, &unit[j], "profile", at)))
            rc = -1;
        else if (at == 0)
            rc = profile_metadata(d, pp, at);
        by_rank[ordered ? (size_t)si->order[j] : j] = j;
    }
    for (size_t r = 0; r < n && !rc; r++)
        d->profiles[first + by_rank[r]].column = column_of(d, type[by_rank[r]], unit[by_rank[r]]);
    free(type), free(unit), free(by_rank);
    return rc;
}

/* Walks resources and scopes: notes every Profile, gives each its column
 * (a model value type), reads the metadata of the first one. */
static int read_structure(dec *d)
{
    size_t nres = d->resources.n;
    d->res_labels = ig_xcalloc(nres + 1, sizeof *d->res_labels);
    d->res_nlabels = ig_xcalloc(nres + 1, sizeof *d->res_nlabels);
    ig_strbuf rest = IG_STRBUF_INIT;
    uint32_t default_type = 0;
    int rc = 0;
    for (size_t r = 0; r < nres && !rc; r++) {
        const uint8_t *p = d->resources.s[r].data, *end = p + d->resources.s[r].len;
        field f;
        while (p < end && !rc) {
            if (next_field(&p, end, &f)) {
                rc = fail(d, "resource %zu: invalid protobuf data", r);
                break;
            }
            if (f.number == 1 && f.wire == 2 && nres > 1) {
                rc = resource_labels(d, r, f.payload, f.plen);
            } else if (f.number == 2 && f.wire == 2) {
                scope_info si = {NULL, 0, 0};
                size_t first = d->nprofiles;
                const uint8_t *q = f.payload, *qe = q + f.plen;
                field g;
                while (q < qe && !rc) {
                    if (next_field(&q, qe, &g))
                        rc = fail(d, "resource %zu: invalid scope", r);
                    else if (g.number == 1 && g.wire == 2)
                        rc = read_scope(d, r, g.payload, g.plen, &si);
                    else if (g.number == 2 && g.wire == 2)
                        push_profile(d, g.payload, g.plen, r);
                }
                if (!rc)
                    rc = scope_columns(d, first, d->nprofiles - first, &si, &rest);
                if (!default_type)
                    default_type = si.default_type;
                free(si.order);
            }
        }
    }
    ig_sb_free(&rest);
    if (!rc && default_type)
        ignis_profile_set_default_sample_type(d->p, str(d, default_type));
    if (!rc && !d->nprofiles)
        rc = fail(d, "OTLP profiles request holds no profile");
    return rc;
}

/* ---- samples (pass B) ----------------------------------------------------------------------- */

static void reserve_labels(dec *d, size_t n)
{
    if (n > d->lcap) {
        d->lcap = n * 2;
        d->labels = ig_xrealloc(d->labels, d->lcap * sizeof *d->labels);
    }
}

/* Adds |v| to *sum; false when the sum no longer fits in an int64. */
static bool add_magnitude(uint64_t *sum, int64_t v)
{
    if (v == INT64_MIN)
        return false;
    *sum += (uint64_t)(v < 0 ? -v : v);
    return *sum <= (uint64_t)INT64_MAX;
}

/* The labels of a sample: its attributes, its link, its resource's. */
static int sample_labels(dec *d, const pb_sample *ps, const profile_ref *pr, size_t pi, size_t si, size_t *nl)
{
    size_t rl = d->resources.n > 1 ? d->res_nlabels[pr->resource] : 0;
    reserve_labels(d, ps->n_attribute_indices + 2 + rl);
    size_t n = 0;
    for (size_t i = 0; i < ps->n_attribute_indices; i++) {
        int rc;
        if (check_index(d, T_ATTRIBUTE, ps->attribute_indices[i], "sample", si))
            return fail(d, "profile %zu sample %zu: attribute index %d out of range (%zu attributes)", pi, si,
                        ps->attribute_indices[i], d->tab[T_ATTRIBUTE].n);
        const attr *a = attribute(d, ps->attribute_indices[i], &rc);
        if (rc)
            return -1;
        if (a->kind != K_NONE)
            d->labels[n++] = a->label;
    }
    if (check_index(d, T_LINK, ps->link_index, "sample", si))
        return fail(d, "profile %zu sample %zu: link index %d out of range (%zu links)", pi, si, ps->link_index,
                    d->tab[T_LINK].n);
    link_ids li;
    bool none;
    if (link_of(d, ps->link_index, &li, &none))
        return -1;
    if (!none) {
        d->labels[n++] = (ignis_label){ignis_profile_intern(d->p, "trace_id"), li.trace, 0, 0};
        d->labels[n++] = (ignis_label){ignis_profile_intern(d->p, "span_id"), li.span, 0, 0};
    }
    for (size_t i = 0; i < rl; i++)
        d->labels[n++] = d->res_labels[pr->resource][i];
    *nl = n;
    return 0;
}

/* The value of one observation series: the sum of its values, else its
 * number of timestamps (a value of 1 each). */
static int sample_value(dec *d, const pb_sample *ps, size_t pi, size_t si, uint32_t column, int64_t *out)
{
    if (!ps->n_values) {
        if (ps->n_timestamps_unix_nano > INT64_MAX)
            return fail(d, "profile %zu sample %zu: too many timestamps", pi, si);
        *out = (int64_t)ps->n_timestamps_unix_nano;
        return add_magnitude(&d->mag[column], *out) ? 0
                                                     : fail(d, "profile %zu sample %zu: values too large (sum "
                                                               "overflows 64 bits)", pi, si);
    }
    int64_t sum = 0;
    for (size_t i = 0; i < ps->n_values; i++) {
        if (!add_magnitude(&d->mag[column], ps->values[i]))
            return fail(d, "profile %zu sample %zu: values too large (sum overflows 64 bits)", pi, si);
        sum += ps->values[i]; /* |sum| <= the magnitude sum, which fits */
    }
    *out = sum;
    return 0;
}

static int read_sample(dec *d, const profile_ref *pr, size_t pi, size_t si, const uint8_t *p, size_t n,
                       int64_t *values)
{
    pb_sample *ps = unpack(d, A_SAMPLE, &D_PROFILES(sample), "sample", si, p, n);
    if (!ps)
        return fail(d, "profile %zu sample %zu: invalid protobuf data", pi, si);
    if (!ps->n_values && !ps->n_timestamps_unix_nano)
        return 0; /* no observation */
    if (check_index(d, T_STACK, ps->stack_index, "sample", si))
        return fail(d, "profile %zu sample %zu: stack index %d out of range (%zu stacks)", pi, si, ps->stack_index,
                    d->tab[T_STACK].n);
    uint32_t stack = 0;
    size_t nl = 0;
    int64_t v = 0;
    if (stack_id(d, ps->stack_index, &stack) || sample_labels(d, ps, pr, pi, si, &nl) ||
        sample_value(d, ps, pi, si, pr->column, &v))
        return -1;
    uint32_t labels = ignis_profile_add_labels(d->p, d->labels, nl);
    values[pr->column] = v;
    int rc = ignis_profile_add_sample(d->p, stack, labels, values);
    values[pr->column] = 0;
    return rc < 0 ? fail(d, "profile %zu sample %zu: invalid", pi, si) : 0;
}

/* Mappings are resolved in table order before any sample, all of them:
 * the writer puts them first in the model's order (few and small), so a
 * pprof profile comes back with its mapping ids and the mappings no
 * sample uses. */
static int read_mappings(dec *d)
{
    uint32_t id;
    int rc = 0;
    for (size_t i = 1; i < d->tab[T_MAPPING].n && !rc; i++)
        rc = mapping_id(d, (int64_t)i, &id);
    return rc;
}

static int read_samples(dec *d)
{
    size_t nv = ignis_profile_num_values(d->p);
    d->mag = ig_xcalloc(nv + 1, sizeof *d->mag);
    int64_t *values = ig_xcalloc(nv + 1, sizeof *values);
    int rc = 0;
    for (size_t pi = 0; pi < d->nprofiles && !rc; pi++) {
        const profile_ref *pr = &d->profiles[pi];
        const uint8_t *p = pr->payload, *end = p + pr->plen;
        size_t si = 0;
        field f;
        while (p < end && !rc) {
            if (next_field(&p, end, &f))
                rc = fail(d, "profile %zu: invalid protobuf data", pi);
            else if (f.number == 2 && f.wire == 2)
                rc = read_sample(d, pr, pi, si++, f.payload, f.plen, values);
        }
    }
    free(values);
    return rc;
}

/* ---- entry points ---------------------------------------------------------------------------- */

static void dec_free(dec *d)
{
    for (int i = 0; i < NARENAS; i++)
        ig_pb_arena_release(&d->ar[i]);
    for (int t = 0; t <= T_LAST; t++) {
        free(d->tab[t].off);
        free(d->memo[t]);
    }
    for (size_t r = 0; r < d->resources.n; r++)
        free(d->res_labels ? d->res_labels[r] : NULL);
    free(d->res_labels);
    free(d->res_nlabels);
    free(d->resources.s);
    free(d->attrs);
    free(d->links);
    free(d->profiles);
    free(d->mag);
    free(d->labels);
    ig_sb_free(&d->text);
}

int ig_otlp_profiles_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err)
{
    *out = NULL;
    uint8_t *raw = NULL;
    if (ig_is_gzip(data, len)) {
        if (ig_gunzip(data, len, &raw, &len, IG_OTLP_PROFILES_MAX_SIZE, err))
            return -1;
        data = raw;
    }
    dec d;
    memset(&d, 0, sizeof d);
    d.data = data;
    d.len = len;
    d.err = err;
    d.p = ignis_profile_new();
    int rc = walk_request(&d);
    if (!rc)
        rc = read_structure(&d);
    if (!rc)
        rc = read_mappings(&d);
    if (!rc)
        rc = read_samples(&d);
    dec_free(&d);
    free(raw);
    if (rc) {
        ignis_profile_free(d.p);
        return -1;
    }
    *out = d.p;
    return 0;
}

int ig_otlp_profiles_read_json(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err)
{
    *out = NULL;
    ig_strbuf pb = IG_STRBUF_INIT;
    int rc = ig_pbjson_to_pb(
        &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor,
        (const char *)data, len, &pb, err);
    if (!rc)
        rc = ig_otlp_profiles_read((const uint8_t *)(pb.data ? pb.data : ""), pb.len, out, err);
    ig_sb_free(&pb);
    return rc;
}

/* ---- sniffing ---------------------------------------------------------------------------------- */

/* Whether p[0..n) walks as fields of the given numbers, each length-delimited. */
static bool walks_as(const uint8_t *p, size_t n, uint64_t max_field)
{
    const uint8_t *end = p + n;
    field f;
    while (p < end) {
        if (next_field(&p, end, &f) || f.wire != 2 || f.number > max_field)
            return false;
    }
    return true;
}

bool ig_otlp_profiles_sniff(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    const uint8_t *p = d, *end = d + len;
    field f;
    bool any = false;
    while (p < end) {
        size_t at = (size_t)(p - d);
        if (next_field(&p, end, &f) || (f.number != 1 && f.number != 2) || f.wire != 2) {
            snprintf(why, whylen, "not an OTLP profiles request (byte %zu is not a request field)", at);
            return false;
        }
        /* a ResourceProfiles has fields 1-3, a dictionary 1-7, all
         * length-delimited */
        if (!walks_as(f.payload, f.plen, f.number == 1 ? 3 : 7)) {
            snprintf(why, whylen, "not an OTLP profiles request (the field at byte %zu is not a %s)", at,
                     f.number == 1 ? "ResourceProfiles" : "ProfilesDictionary");
            return false;
        }
        any = true;
    }
    if (!any)
        snprintf(why, whylen, "empty");
    return any;
}

bool ig_otlp_profiles_sniff_json(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", d[i]))
        i++;
    if (i < len && d[i] == '{') {
        static const char *const keys[] = {"\"resourceProfiles\"", "\"resource_profiles\"", "\"dictionary\""};
        size_t n = len < ((size_t)1 << 20) ? len : (size_t)1 << 20;
        for (size_t k = 0; k < 3; k++)
            if (memmem(d, n, keys[k], strlen(keys[k])))
                return true;
    }
    snprintf(why, whylen, "not an OTLP/JSON profiles request (no resourceProfiles or dictionary)");
    return false;
}
