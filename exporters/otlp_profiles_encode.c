/*
 * exporters/otlp_profiles_encode.c — the profile model as an OTLP
 * profiles ExportProfilesServiceRequest (see exporters/otlp_profiles.h
 * for what maps to what).
 *
 * The dictionary is built lazily from the samples being encoded: each
 * model id (string, mapping, function, location, stack, label set) gets
 * its OTLP index the first time a sample needs it, so a request holds only
 * what its samples reference and half of a profile (a request split after
 * 413) gets a dictionary of its own.  Mappings are the exception: all of
 * them go first, in the model's order, so pprof's mapping ids and unused
 * mappings survive a round trip.  Entries are deduplicated by content
 * (an ig_idtab per table) and packed the moment they are created, each
 * into its table's buffer as one element of the repeated field: the
 * dictionary is those buffers one after the other, and no protobuf-c tree
 * of the whole request ever exists.  Only leaf messages go through
 * protobuf-c (stack-allocated, packed at once); the containers around the
 * samples (Profile, ScopeProfiles, ResourceProfiles, the request) are
 * framed here with the field numbers looked up in the generated
 * descriptors, so our .proto stays the one source of field numbers.
 *
 * Samples are merged by (stack, attribute set, link) into slots holding
 * one sum per value type (saturating), then written once per value type
 * into that type's Profile.  Strings are repaired to UTF-8 (U+FFFD), as
 * protobuf `string` fields must be.
 */
#include "exporters/otlp_profiles.h"
#include "exporters/pbjson.h"
#include "ignis/common.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "utils/hash.h"
#include "utils/satmath.h"
#include "utils/utf8.h"

#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary pb_dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_location;
typedef Opentelemetry__Proto__Profiles__V1development__Line pb_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_function;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__Link pb_link;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pb_kvu;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_value_type;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

#define D_PROFILES(x) opentelemetry__proto__profiles__v1development__##x##__descriptor

/* ---- wire framing -------------------------------------------------------- */

static uint32_t field_id(const ProtobufCMessageDescriptor *d, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    return f ? f->id : 0; /* every name used here is in our .proto */
}

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

/* A length-delimited field: tag, length, bytes. */
static void put_bytes_field(ig_strbuf *sb, uint32_t field, const void *data, size_t len)
{
    put_varint(sb, (uint64_t)field << 3 | 2);
    put_varint(sb, len);
    ig_sb_append(sb, data, len);
}

/* A message field packed in place by protobuf-c. */
static void put_message(ig_strbuf *sb, uint32_t field, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    put_varint(sb, (uint64_t)field << 3 | 2);
    put_varint(sb, len);
    ig_sb_reserve(sb, len + 1);
    protobuf_c_message_pack(m, (uint8_t *)sb->data + sb->len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

/* ---- the encoder ------------------------------------------------------------ */

enum { T_MAPPING, T_LOCATION, T_FUNCTION, T_LINK, T_STRING, T_ATTRIBUTE, T_STACK, NTABLES };
static const char *const table_names[NTABLES] = {"mapping_table", "location_table", "function_table", "link_table",
                                                 "string_table",  "attribute_table", "stack_table"};

enum { A_STR, A_INT, A_BOOL };

typedef struct attr_key {
    uint32_t key, unit; /* OTLP string indices */
    int type;
    int64_t num;
    const char *str;
} attr_key;

typedef struct link_key {
    uint8_t trace[16], span[8];
} link_key;

/* What a model label set becomes: attribute indices and a link. */
typedef struct lset_rec {
    uint32_t model_id;
    uint32_t off, n; /* in attr_pool */
    uint32_t link;
} lset_rec;

/* A merged OTLP sample: its identity; values follow in the values pool. */
typedef struct slot {
    uint32_t stack, link, off, n; /* attribute indices in attr_pool */
} slot;

typedef struct vec {
    void *data;
    size_t len, cap, elem;
} vec;

static void vec_init(vec *v, size_t elem)
{
    v->elem = elem;
    v->cap = 64;
    v->len = 0;
    v->data = ig_xmalloc(v->cap * elem); /* never NULL: views into it are always valid pointers */
}

static void *vec_push(vec *v)
{
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->data = ig_xrealloc(v->data, v->cap * v->elem);
    }
    return (char *)v->data + v->len++ * v->elem;
}

#define AT(v, type, i) (((type *)(v).data)[i])

typedef struct enc {
    const ignis_profile *p;
    const ig_otlp_encode_opts *o;
    size_t nvalues;
    ig_strbuf tab[NTABLES];
    uint32_t tab_field[NTABLES];
    uint32_t count[NTABLES];
    /* strings: content -> index */
    ig_idtab str_ids;
    vec strs; /* const char * */
    uint32_t *model_str; /* model string id -> index (0 = not yet; id 0 is "") */
    /* attributes, links: content -> index */
    ig_idtab attr_ids;
    vec attrs; /* attr_key, index i + 1 */
    ig_idtab link_ids;
    vec links; /* link_key, index i + 1 */
    /* model id -> index, 0 = not yet */
    uint32_t *mapping_idx, *function_idx, *location_idx, *stack_idx;
    /* label sets and samples */
    ig_idtab lset_ids;
    vec lsets; /* lset_rec */
    vec attr_pool; /* uint32_t */
    ig_idtab slot_ids;
    vec slots;  /* slot */
    vec values; /* int64_t, nvalues per slot */
    ig_strbuf text; /* UTF-8 repair */
} enc;

static const char *valid_text(enc *e, const char *s)
{
    size_t n = strlen(s);
    if (ig_utf8_valid(s, n))
        return s;
    ig_sb_reset(&e->text);
    ig_utf8_append_valid(&e->text, s, n);
    return e->text.data;
}

/* ---- strings ------------------------------------------------------------------ */

static int str_eq(const void *ctx, uint32_t id, const void *key)
{
    const enc *e = ctx;
    return !strcmp(AT(e->strs, const char *, id - 1), key);
}

/* The string's index (it is kept by pointer: model strings and literals). */
static uint32_t intern(enc *e, const char *s)
{
    uint64_t h = ig_hash_bytes(s, strlen(s), 0x737472);
    uint32_t id = ig_idtab_find(&e->str_ids, h, s, str_eq, e);
    if (id)
        return id - 1;
    *(const char **)vec_push(&e->strs) = s;
    ig_idtab_insert(&e->str_ids, h, (uint32_t)e->strs.len);
    const char *v = valid_text(e, s);
    put_bytes_field(&e->tab[T_STRING], e->tab_field[T_STRING], v, strlen(v));
    return e->count[T_STRING]++;
}

static uint32_t model_string(enc *e, uint32_t id)
{
    if (id == 0 || id >= ignis_profile_num_strings(e->p))
        return 0;
    if (!e->model_str[id])
        e->model_str[id] = intern(e, ignis_profile_string(e->p, id));
    return e->model_str[id];
}

/* ---- attributes ------------------------------------------------------------------- */

static int attr_eq(const void *ctx, uint32_t id, const void *key)
{
    const enc *e = ctx;
    const attr_key *a = &AT(e->attrs, attr_key, id - 1), *b = key;
    return a->key == b->key && a->unit == b->unit && a->type == b->type && a->num == b->num &&
           (a->type != A_STR || !strcmp(a->str, b->str));
}

static void pack_attribute(enc *e, const attr_key *k)
{
    pb_any any = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    if (k->type == A_STR) {
        any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        any.string_value = (char *)valid_text(e, k->str);
    } else if (k->type == A_INT) {
        any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        any.int_value = k->num;
    } else {
        any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        any.bool_value = k->num != 0;
    }
    pb_kvu kv = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
    kv.key_strindex = (int32_t)k->key;
    kv.unit_strindex = (int32_t)k->unit;
    kv.value = &any;
    put_message(&e->tab[T_ATTRIBUTE], e->tab_field[T_ATTRIBUTE], &kv.base);
}

static uint32_t attribute(enc *e, const attr_key *k)
{
    uint64_t h = ig_hash_u64(ig_hash_u64((uint64_t)k->key << 32 | k->unit, (uint64_t)k->type), (uint64_t)k->num);
    if (k->type == A_STR)
        h = ig_hash_bytes(k->str, strlen(k->str), h);
    uint32_t id = ig_idtab_find(&e->attr_ids, h, k, attr_eq, e);
    if (id)
        return id - 1; /* ids are positions + 1; position 0 is the zero attribute */
    *(attr_key *)vec_push(&e->attrs) = *k;
    ig_idtab_insert(&e->attr_ids, h, (uint32_t)e->attrs.len);
    pack_attribute(e, k);
    return e->count[T_ATTRIBUTE]++;
}

static uint32_t str_attribute(enc *e, const char *key, const char *value)
{
    attr_key k = {intern(e, key), 0, A_STR, 0, value};
    return attribute(e, &k);
}

static uint32_t bool_attribute(enc *e, const char *key)
{
    attr_key k = {intern(e, key), 0, A_BOOL, 1, NULL};
    return attribute(e, &k);
}

/* ---- mappings, functions, locations, stacks ---------------------------------------- */

static uint32_t mapping_index(enc *e, uint32_t id)
{
    if (id == 0 || id > ignis_profile_num_mappings(e->p))
        return 0;
    if (e->mapping_idx[id])
        return e->mapping_idx[id];
    const ignis_mapping *m = ignis_profile_mapping(e->p, id);
    int32_t attrs[8];
    size_t na = 0;
    char htl[33];
    const char *bid = ignis_profile_string(e->p, m->build_id);
    if (m->build_id)
        attrs[na++] = (int32_t)str_attribute(e, "process.executable.build_id.gnu", bid);
    if (e->o->htlhash && m->filename &&
        e->o->htlhash(e->o->htlhash_ctx, ignis_profile_string(e->p, m->filename), bid, htl))
        attrs[na++] = (int32_t)str_attribute(e, "process.executable.build_id.htlhash", htl);
    static const char *const flags[4] = {"pprof.mapping.has_functions", "pprof.mapping.has_filenames",
                                         "pprof.mapping.has_line_numbers", "pprof.mapping.has_inline_frames"};
    const bool set[4] = {m->has_functions, m->has_filenames, m->has_line_numbers, m->has_inline_frames};
    for (int i = 0; i < 4; i++)
        if (set[i])
            attrs[na++] = (int32_t)bool_attribute(e, flags[i]);
    pb_mapping pm = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    pm.memory_start = m->start;
    pm.memory_limit = m->limit;
    pm.file_offset = m->offset;
    pm.filename_strindex = (int32_t)model_string(e, m->filename);
    pm.attribute_indices = attrs;
    pm.n_attribute_indices = na;
    put_message(&e->tab[T_MAPPING], e->tab_field[T_MAPPING], &pm.base);
    return e->mapping_idx[id] = e->count[T_MAPPING]++;
}

static uint32_t function_index(enc *e, uint32_t id)
{
    if (e->function_idx[id])
        return e->function_idx[id];
    const ignis_function *f = ignis_profile_function(e->p, id);
    pb_function pf = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
    pf.name_strindex = (int32_t)model_string(e, f->name);
    pf.system_name_strindex = (int32_t)model_string(e, f->system_name);
    pf.filename_strindex = (int32_t)model_string(e, f->filename);
    pf.start_line = f->start_line;
    put_message(&e->tab[T_FUNCTION], e->tab_field[T_FUNCTION], &pf.base);
    return e->function_idx[id] = e->count[T_FUNCTION]++;
}

static uint32_t location_index(enc *e, uint32_t id)
{
    if (e->location_idx[id])
        return e->location_idx[id];
    const ignis_location *loc = ignis_profile_location(e->p, id);
    pb_line lines_buf[16], *lines = loc->nlines <= 16 ? lines_buf : ig_xmalloc(loc->nlines * sizeof *lines);
    pb_line *ptrs_buf[16], **ptrs = loc->nlines <= 16 ? ptrs_buf : ig_xmalloc(loc->nlines * sizeof *ptrs);
    for (uint32_t i = 0; i < loc->nlines; i++) {
        opentelemetry__proto__profiles__v1development__line__init(&lines[i]);
        lines[i].function_index = (int32_t)function_index(e, loc->lines[i].function);
        lines[i].line = loc->lines[i].line;
        lines[i].column = loc->lines[i].column;
        ptrs[i] = &lines[i];
    }
    int32_t attrs[2];
    size_t na = 0;
    if (loc->is_folded)
        attrs[na++] = (int32_t)bool_attribute(e, "pprof.location.is_folded");
    if (loc->kind == IGNIS_FRAME_KERNEL || loc->kind == IGNIS_FRAME_JIT)
        attrs[na++] = (int32_t)str_attribute(e, "profile.frame.type", loc->kind == IGNIS_FRAME_KERNEL ? "kernel" : "jit");
    pb_location pl = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    pl.mapping_index = (int32_t)mapping_index(e, loc->mapping);
    pl.address = loc->address;
    pl.lines = ptrs;
    pl.n_lines = loc->nlines;
    pl.attribute_indices = attrs;
    pl.n_attribute_indices = na;
    put_message(&e->tab[T_LOCATION], e->tab_field[T_LOCATION], &pl.base);
    if (lines != lines_buf)
        free(lines), free(ptrs);
    return e->location_idx[id] = e->count[T_LOCATION]++;
}

static uint32_t stack_index(enc *e, uint32_t id)
{
    if (e->stack_idx[id])
        return e->stack_idx[id];
    size_t n;
    const uint32_t *locs = ignis_profile_stack(e->p, id, &n);
    int32_t buf[64], *idx = n <= 64 ? buf : ig_xmalloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (int32_t)location_index(e, locs[i]);
    pb_stack ps = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;
    ps.location_indices = idx;
    ps.n_location_indices = n;
    put_message(&e->tab[T_STACK], e->tab_field[T_STACK], &ps.base);
    if (idx != buf)
        free(idx);
    return e->stack_idx[id] = e->count[T_STACK]++;
}

/* ---- links ---------------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lowercase hex of exactly 2 * n digits, not all zero, into out. */
static bool parse_id(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        any |= out[i] = (uint8_t)(hi << 4 | lo);
    }
    return any != 0;
}

static int link_eq(const void *ctx, uint32_t id, const void *key)
{
    const enc *e = ctx;
    return !memcmp(&AT(e->links, link_key, id - 1), key, sizeof(link_key));
}

static uint32_t link_index(enc *e, const link_key *k)
{
    uint64_t h = ig_hash_bytes(k, sizeof *k, 0x6c6e6b);
    uint32_t id = ig_idtab_find(&e->link_ids, h, k, link_eq, e);
    if (id)
        return id - 1;
    *(link_key *)vec_push(&e->links) = *k;
    ig_idtab_insert(&e->link_ids, h, (uint32_t)e->links.len);
    pb_link pl = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT;
    pl.trace_id = (ProtobufCBinaryData){16, (uint8_t *)k->trace};
    pl.span_id = (ProtobufCBinaryData){8, (uint8_t *)k->span};
    put_message(&e->tab[T_LINK], e->tab_field[T_LINK], &pl.base);
    return e->count[T_LINK]++;
}

/* ---- label sets -> attributes and a link ------------------------------------------------ */

/* The link a label set carries: exactly one string "trace_id" and one
 * "span_id" label, both valid ids; their positions in *ti, *si. */
static bool labels_link(const enc *e, const ignis_label *l, size_t n, link_key *k, size_t *ti, size_t *si)
{
    int nt = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (!l[i].str)
            continue;
        const char *key = ignis_profile_string(e->p, l[i].key);
        if (!strcmp(key, "trace_id"))
            nt++, *ti = i;
        else if (!strcmp(key, "span_id"))
            ns++, *si = i;
    }
    return nt == 1 && ns == 1 && parse_id(ignis_profile_string(e->p, l[*ti].str), k->trace, 16) &&
           parse_id(ignis_profile_string(e->p, l[*si].str), k->span, 8);
}

static uint32_t label_attribute(enc *e, const ignis_label *l)
{
    const char *key = ignis_profile_string(e->p, l->key);
    attr_key k = {0, 0, A_STR, 0, NULL};
    if (!l->str) {
        k.type = A_INT;
        k.num = l->num;
        k.unit = model_string(e, l->num_unit);
        k.key = !strcmp(key, "tid") ? intern(e, "thread.id") : model_string(e, l->key);
    } else {
        k.str = ignis_profile_string(e->p, l->str);
        k.key = !strcmp(key, "thread") ? intern(e, "thread.name") : model_string(e, l->key);
    }
    return attribute(e, &k);
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int lset_eq(const void *ctx, uint32_t id, const void *key)
{
    const enc *e = ctx;
    return AT(e->lsets, lset_rec, id - 1).model_id == *(const uint32_t *)key;
}

static const lset_rec *label_set(enc *e, uint32_t model_id)
{
    uint64_t h = ig_hash_u64(0x6c7374, model_id);
    uint32_t id = ig_idtab_find(&e->lset_ids, h, &model_id, lset_eq, e);
    if (id)
        return &AT(e->lsets, lset_rec, id - 1);
    size_t n, ti = SIZE_MAX, si = SIZE_MAX;
    const ignis_label *l = ignis_profile_labels(e->p, model_id, &n);
    link_key lk;
    bool has_link = labels_link(e, l, n, &lk, &ti, &si);
    lset_rec r = {model_id, (uint32_t)e->attr_pool.len, 0, has_link ? link_index(e, &lk) : 0};
    for (size_t i = 0; i < n; i++) {
        if (has_link && (i == ti || i == si))
            continue;
        uint32_t a = label_attribute(e, &l[i]);
        *(uint32_t *)vec_push(&e->attr_pool) = a;
        r.n++;
    }
    if (r.n > 1) /* a set: one order */
        qsort(&AT(e->attr_pool, uint32_t, r.off), r.n, sizeof(uint32_t), u32_cmp);
    *(lset_rec *)vec_push(&e->lsets) = r;
    ig_idtab_insert(&e->lset_ids, h, (uint32_t)e->lsets.len);
    return &AT(e->lsets, lset_rec, e->lsets.len - 1);
}

/* ---- samples ----------------------------------------------------------------------------- */

static int slot_eq(const void *ctx, uint32_t id, const void *key)
{
    const enc *e = ctx;
    const slot *a = &AT(e->slots, slot, id - 1), *b = key;
    return a->stack == b->stack && a->link == b->link && a->n == b->n &&
           (!a->n || !memcmp(&AT(e->attr_pool, uint32_t, a->off), &AT(e->attr_pool, uint32_t, b->off), a->n * sizeof(uint32_t)));
}

static void add_sample(enc *e, const ignis_sample *s)
{
    const lset_rec *ls = label_set(e, s->labels);
    slot k = {stack_index(e, s->stack), ls->link, ls->off, ls->n};
    uint64_t h = ig_hash_u64(ig_hash_u64(0x736c74, (uint64_t)k.stack << 32 | k.link),
                             ig_hash_bytes(&AT(e->attr_pool, uint32_t, k.off), k.n * sizeof(uint32_t), 0));
    uint32_t id = ig_idtab_find(&e->slot_ids, h, &k, slot_eq, e);
    int64_t *v;
    if (id) {
        v = &AT(e->values, int64_t, (size_t)(id - 1) * e->nvalues);
    } else {
        *(slot *)vec_push(&e->slots) = k;
        ig_idtab_insert(&e->slot_ids, h, (uint32_t)e->slots.len);
        for (size_t i = 0; i < e->nvalues; i++)
            *(int64_t *)vec_push(&e->values) = 0;
        v = &AT(e->values, int64_t, (e->slots.len - 1) * e->nvalues);
    }
    for (size_t i = 0; i < e->nvalues; i++)
        v[i] = ig_sat_add(v[i], s->values[i]);
}

/* Whether slot i belongs in the Profile of value type k. */
static bool slot_in_profile(const enc *e, size_t i, size_t k)
{
    const int64_t *v = &AT(e->values, int64_t, i * e->nvalues);
    if (v[k])
        return true;
    if (k)
        return false;
    for (size_t j = 0; j < e->nvalues; j++)
        if (v[j])
            return false;
    return true; /* all zero: kept once, in the first Profile */
}

/* ---- profiles, scope, resource ------------------------------------------------------------ */

/* The Profile attributes shared by every value type: comments, drop/keep. */
static size_t profile_attributes(enc *e, int32_t *attrs)
{
    const ignis_profile *p = e->p;
    size_t na = 0, nc = ignis_profile_num_comments(p);
    if (nc) {
        pb_any *vals = ig_xcalloc(nc, sizeof *vals), **ptrs = ig_xcalloc(nc, sizeof *ptrs);
        ig_strbuf texts = IG_STRBUF_INIT;
        size_t *offs = ig_xcalloc(nc, sizeof *offs);
        for (size_t i = 0; i < nc; i++) { /* repaired copies, kept apart from e->text */
            offs[i] = texts.len;
            const char *c = ignis_profile_string(p, ignis_profile_comment(p, i));
            ig_utf8_append_valid(&texts, c, strlen(c));
            ig_sb_putc(&texts, '\0');
        }
        for (size_t i = 0; i < nc; i++) {
            opentelemetry__proto__common__v1__any_value__init(&vals[i]);
            vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            vals[i].string_value = texts.data + offs[i];
            ptrs[i] = &vals[i];
        }
        pb_array arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        arr.values = ptrs;
        arr.n_values = nc;
        pb_any any = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        any.array_value = &arr;
        pb_kvu kv = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
        kv.key_strindex = (int32_t)intern(e, "pprof.profile.comment");
        kv.value = &any;
        put_message(&e->tab[T_ATTRIBUTE], e->tab_field[T_ATTRIBUTE], &kv.base);
        attr_key placeholder = {0, 0, -1, 0, NULL}; /* keeps positions = indices; matches nothing */
        *(attr_key *)vec_push(&e->attrs) = placeholder;
        attrs[na++] = (int32_t)e->count[T_ATTRIBUTE]++;
        free(vals), free(ptrs), free(offs);
        ig_sb_free(&texts);
    }
    if (ignis_profile_drop_frames(p))
        attrs[na++] = (int32_t)str_attribute(e, "pprof.profile.drop_frames",
                                             ignis_profile_string(p, ignis_profile_drop_frames(p)));
    if (ignis_profile_keep_frames(p))
        attrs[na++] = (int32_t)str_attribute(e, "pprof.profile.keep_frames",
                                             ignis_profile_string(p, ignis_profile_keep_frames(p)));
    return na;
}

/* The Profile of value type k (its samples packed one by one after it). */
static void put_profile(enc *e, size_t k, const int32_t *attrs, size_t na, ig_strbuf *out)
{
    const ignis_profile *p = e->p;
    ig_strbuf body = IG_STRBUF_INIT;
    ignis_value_type vt = ignis_profile_value_type(p, k), pt = ignis_profile_period_type(p);
    pb_value_type st = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT, per = st;
    st.type_strindex = (int32_t)model_string(e, vt.type);
    st.unit_strindex = (int32_t)model_string(e, vt.unit);
    pb_profile pp = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT;
    pp.sample_type = &st;
    if (pt.type || pt.unit) {
        per.type_strindex = (int32_t)model_string(e, pt.type);
        per.unit_strindex = (int32_t)model_string(e, pt.unit);
        pp.period_type = &per;
    }
    pp.period = ignis_profile_period(p);
    pp.time_unix_nano = ignis_profile_time_nanos(p) > 0 ? (uint64_t)ignis_profile_time_nanos(p) : 0;
    pp.duration_nano = ignis_profile_duration_nanos(p) > 0 ? (uint64_t)ignis_profile_duration_nanos(p) : 0;
    pp.attribute_indices = (int32_t *)attrs;
    pp.n_attribute_indices = na;
    size_t len = protobuf_c_message_get_packed_size(&pp.base);
    ig_sb_reserve(&body, len + 1);
    protobuf_c_message_pack(&pp.base, (uint8_t *)body.data);
    body.len = len;
    uint32_t samples_field = field_id(&D_PROFILES(profile), "samples");
    for (size_t i = 0; i < e->slots.len; i++) {
        if (!slot_in_profile(e, i, k))
            continue;
        const slot *s = &AT(e->slots, slot, i);
        pb_sample ps = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SAMPLE__INIT;
        int64_t v = AT(e->values, int64_t, i * e->nvalues + k);
        ps.stack_index = (int32_t)s->stack;
        ps.link_index = (int32_t)s->link;
        ps.attribute_indices = (int32_t *)&AT(e->attr_pool, uint32_t, s->off);
        ps.n_attribute_indices = s->n;
        ps.values = &v;
        ps.n_values = 1;
        put_message(&body, samples_field, &ps.base);
    }
    put_bytes_field(out, field_id(&D_PROFILES(scope_profiles), "profiles"), body.data, body.len);
    ig_sb_free(&body);
}

static void kv_str(pb_kv *kv, pb_any *any, const char *key, const char *value)
{
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(any);
    kv->key = (char *)key;
    kv->value = any;
    any->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    any->string_value = (char *)value;
}

/* The scope: ignis, with the pprof sample type order and default type. */
static void put_scope(enc *e, ig_strbuf *out)
{
    size_t nv = e->nvalues;
    pb_any *order = ig_xcalloc(nv + 1, sizeof *order), **order_ptrs = ig_xcalloc(nv + 1, sizeof *order_ptrs);
    for (size_t i = 0; i < nv; i++) {
        opentelemetry__proto__common__v1__any_value__init(&order[i]);
        order[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        order[i].int_value = (int64_t)i;
        order_ptrs[i] = &order[i];
    }
    pb_array arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    arr.values = order_ptrs;
    arr.n_values = nv;
    pb_kv kvs[2], *kv_ptrs[2] = {&kvs[0], &kvs[1]};
    pb_any anys[2];
    opentelemetry__proto__common__v1__key_value__init(&kvs[0]);
    opentelemetry__proto__common__v1__any_value__init(&anys[0]);
    kvs[0].key = (char *)"pprof.scope.sample_type_order";
    kvs[0].value = &anys[0];
    anys[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    anys[0].array_value = &arr;
    size_t nkv = 1;
    uint32_t def = ignis_profile_default_sample_type(e->p);
    ig_strbuf def_text = IG_STRBUF_INIT;
    if (def) {
        const char *d = ignis_profile_string(e->p, def);
        ig_utf8_append_valid(&def_text, d, strlen(d));
        kv_str(&kvs[nkv++], &anys[1], "pprof.scope.default_sample_type", def_text.data);
    }
    pb_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = (char *)"ignis";
    scope.version = (char *)IGNIS_VERSION;
    scope.attributes = kv_ptrs;
    scope.n_attributes = nkv;
    put_message(out, field_id(&D_PROFILES(scope_profiles), "scope"), &scope.base);
    free(order), free(order_ptrs);
    ig_sb_free(&def_text);
}

/* The resource's attributes (strings repaired into texts). */
static void put_resource(const ig_profile_resource *r, ig_strbuf *out)
{
    pb_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    size_t cap = 5 + (r ? r->nextra : 0), n = 0;
    pb_kv *kvs = ig_xcalloc(cap, sizeof *kvs), **ptrs = ig_xcalloc(cap, sizeof *ptrs);
    pb_any *anys = ig_xcalloc(cap, sizeof *anys);
    char **texts = ig_xcalloc(cap, sizeof *texts);
    if (r) {
        const char *keys[4] = {"process.executable.name", "host.name", "service.name", "container.id"};
        const char *vals[4] = {r->executable_name, r->host_name, r->service_name, r->container_id};
        if (r->pid > 0) {
            opentelemetry__proto__common__v1__key_value__init(&kvs[n]);
            opentelemetry__proto__common__v1__any_value__init(&anys[n]);
            kvs[n].key = (char *)"process.pid";
            kvs[n].value = &anys[n];
            anys[n].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            anys[n].int_value = r->pid;
            n++;
        }
        for (size_t i = 0; i < 4 + r->nextra; i++) {
            const char *k = i < 4 ? keys[i] : r->extra_keys[i - 4], *v = i < 4 ? vals[i] : r->extra_values[i - 4];
            if (!v || !*v)
                continue;
            ig_strbuf t = IG_STRBUF_INIT;
            ig_utf8_append_valid(&t, v, strlen(v));
            texts[n] = ig_sb_detach(&t, NULL);
            kv_str(&kvs[n], &anys[n], k, texts[n]);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &kvs[i];
    res.attributes = ptrs;
    res.n_attributes = n;
    put_message(out, field_id(&D_PROFILES(resource_profiles), "resource"), &res.base);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(kvs), free(ptrs), free(anys), free(texts);
}

/* ---- the request ---------------------------------------------------------------------------- */

static void enc_init(enc *e, const ignis_profile *p, const ig_otlp_encode_opts *o)
{
    memset(e, 0, sizeof *e);
    e->p = p;
    e->o = o;
    e->nvalues = ignis_profile_num_values(p);
    vec_init(&e->strs, sizeof(const char *));
    vec_init(&e->attrs, sizeof(attr_key));
    vec_init(&e->links, sizeof(link_key));
    vec_init(&e->lsets, sizeof(lset_rec));
    vec_init(&e->attr_pool, sizeof(uint32_t));
    vec_init(&e->slots, sizeof(slot));
    vec_init(&e->values, sizeof(int64_t));
    e->model_str = ig_xcalloc(ignis_profile_num_strings(p) + 1, sizeof *e->model_str);
    e->mapping_idx = ig_xcalloc(ignis_profile_num_mappings(p) + 1, sizeof(uint32_t));
    e->function_idx = ig_xcalloc(ignis_profile_num_functions(p) + 1, sizeof(uint32_t));
    e->location_idx = ig_xcalloc(ignis_profile_num_locations(p) + 1, sizeof(uint32_t));
    e->stack_idx = ig_xcalloc(ignis_profile_num_stacks(p) + 1, sizeof(uint32_t));
    /* every table starts with its zero value, "" for strings */
    for (int t = 0; t < NTABLES; t++) {
        e->tab_field[t] = field_id(&D_PROFILES(profiles_dictionary), table_names[t]);
        put_bytes_field(&e->tab[t], e->tab_field[t], "", 0);
        e->count[t] = 1;
    }
    *(const char **)vec_push(&e->strs) = "";
    ig_idtab_insert(&e->str_ids, ig_hash_bytes("", 0, 0x737472), 1);
    attr_key zero = {0, 0, -1, 0, NULL}; /* matches no real attribute */
    *(attr_key *)vec_push(&e->attrs) = zero;
    link_key none;
    memset(&none, 0, sizeof none);
    *(link_key *)vec_push(&e->links) = none;
}

static void enc_free(enc *e)
{
    for (int t = 0; t < NTABLES; t++)
        ig_sb_free(&e->tab[t]);
    ig_idtab_free(&e->str_ids);
    ig_idtab_free(&e->attr_ids);
    ig_idtab_free(&e->link_ids);
    ig_idtab_free(&e->lset_ids);
    ig_idtab_free(&e->slot_ids);
    vec *vs[] = {&e->strs, &e->attrs, &e->links, &e->lsets, &e->attr_pool, &e->slots, &e->values};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        free(vs[i]->data);
    free(e->model_str), free(e->mapping_idx), free(e->function_idx), free(e->location_idx), free(e->stack_idx);
    ig_sb_free(&e->text);
}

void ig_otlp_profiles_encode(const ignis_profile *p, const ig_otlp_encode_opts *o, ig_strbuf *out)
{
    ig_otlp_encode_opts defaults = {NULL, 0, SIZE_MAX, NULL, NULL};
    if (!o)
        o = &defaults;
    enc e;
    enc_init(&e, p, o);
    /* mappings first, all of them in the model's order (few and small):
     * pprof -> OTLP -> pprof keeps mapping ids and unused mappings */
    for (uint32_t id = 1; id <= ignis_profile_num_mappings(p); id++)
        mapping_index(&e, id);
    size_t n = ignis_profile_num_samples(p), first = o->first < n ? o->first : n;
    size_t end = o->count > n - first ? n : first + o->count;
    for (size_t i = first; i < end; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        add_sample(&e, &s);
    }
    int32_t attrs[3];
    size_t na = profile_attributes(&e, attrs);
    ig_strbuf scope = IG_STRBUF_INIT, rp = IG_STRBUF_INIT;
    put_scope(&e, &scope);
    for (size_t k = 0; k < e.nvalues; k++)
        put_profile(&e, k, attrs, na, &scope);
    put_resource(o->resource, &rp);
    put_bytes_field(&rp, field_id(&D_PROFILES(resource_profiles), "scope_profiles"), scope.data, scope.len);
    const ProtobufCMessageDescriptor *req =
        &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor;
    put_bytes_field(out, field_id(req, "resource_profiles"), rp.data, rp.len);
    size_t dict_len = 0;
    for (int t = 0; t < NTABLES; t++)
        dict_len += e.tab[t].len;
    put_varint(out, (uint64_t)field_id(req, "dictionary") << 3 | 2);
    put_varint(out, dict_len);
    for (int t = 0; t < NTABLES; t++)
        ig_sb_append(out, e.tab[t].data, e.tab[t].len);
    ig_sb_free(&scope);
    ig_sb_free(&rp);
    enc_free(&e);
}

void ig_otlp_profiles_encode_json(const ignis_profile *p, const ig_otlp_encode_opts *o, ig_strbuf *out)
{
    ig_strbuf pb = IG_STRBUF_INIT;
    ig_otlp_profiles_encode(p, o, &pb);
    ig_err err;
    /* our own protobuf always converts; an error here is a bug */
    if (ig_pbjson_from_pb(&opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor,
                          (const uint8_t *)pb.data, pb.len, out, &err) < 0)
        ig_sb_puts(out, "{}");
    ig_sb_free(&pb);
}
