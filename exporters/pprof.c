/*
 * exporters/pprof.c — pprof (profile.proto) reader and writer.
 *
 * Reading: the input is gunzipped if it starts with the gzip magic (output
 * capped at IG_PPROF_MAX_SIZE while inflating, so a hostile file cannot
 * exhaust memory), then decoded by the protobuf-c code generated from our
 * own proto/profile.proto one table element at a time (see "streaming the
 * tables"), each into a recycled bump arena whose budget is a small
 * multiple of the element's wire size, so memory follows the input and
 * the model, never protobuf-c's tens of bytes per empty sub-message.
 * Samples that are only location ids and values, the bulk of a big
 * profile, are decoded straight from the wire instead and added to the
 * model in batches (see "samples without labels").
 * Elements are validated and copied into an ignis_profile: strings first
 * (every pprof string index becomes a model string id), then sample types,
 * mappings, functions, locations and samples.  pprof ids
 * are arbitrary nonzero integers; an ig_idmap translates them to the model's
 * own ids (a dense table when a producer numbered them 1..n, as Go and
 * pprof do, and nothing to look up when the model's ids are those too;
 * otherwise a sorted table searched by bisection).  Every index is
 * checked before use and every failure is one line saying which element is
 * wrong ("location 7: mapping id 99 does not exist").  Sample values may be
 * negative (diff profiles) but their absolute sum per value type must fit
 * in an int64, so merging never overflows.
 *
 * Writing: the model's tables already are pprof tables (dense ids 1..n,
 * string id 0 = ""), so the writer points protobuf-c messages at the
 * model's strings without copying them and packs the message; samples,
 * the bulk of a profile, are then packed one by one into the same buffer
 * (a repeated field may be split anywhere on the wire), and the result is
 * gzipped (level 1, like the Go runtime).
 *
 * Frame kinds, which profile.proto has no field for, travel in the mapping
 * file name, as perf names them: a location in a mapping called
 * "[kernel.kallsyms]" (or any "[kernel...]"/"[vmlinux]") is kernel code, in
 * "[jit]" or "/tmp/perf-PID.map" JIT code.  The writer gives a kernel (JIT)
 * location whose mapping does not already say so a synthetic mapping
 * "[kernel.kallsyms]" ("[jit]") with has_functions set, so `pprof` neither
 * tries to symbolize it nor loses the kind.
 */
#include "exporters/formats.h"
#include "exporters/pbarena.h"
#include "profile/batch.h"
#include "profile.pb-c.h"
#include "utils/fileio.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define IG_PPROF_MAX_SIZE IG_PROFILE_MAX_SIZE /* decompressed bytes */

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* ---- frame kinds in mapping names -------------------------------------- */

#define KERNEL_MAPPING "[kernel.kallsyms]"
#define JIT_MAPPING "[jit]"

/* The frame kind a mapping file name implies (see the comment on top). */
static ignis_frame_kind kind_of_mapping_name(const char *name)
{
    if (!strncmp(name, "[kernel", 7) || !strcmp(name, "[vmlinux]"))
        return IGNIS_FRAME_KERNEL;
    if (!strcmp(name, JIT_MAPPING))
        return IGNIS_FRAME_JIT;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    if (!strncmp(base, "perf-", 5) && n > 4 && !strcmp(base + n - 4, ".map"))
        return IGNIS_FRAME_JIT;
    return IGNIS_FRAME_USER;
}

/* ---- pprof id -> model id ---------------------------------------------- */

typedef struct idpair {
    uint64_t pprof_id;
    uint32_t model_id;
} idpair;

typedef struct ig_idmap {
    idpair *pairs; /* sorted by pprof_id unless dense */
    size_t n, cap;
    int dense;     /* pprof ids are exactly 1..n in order */
    int identity;  /* dense, and each model id is its pprof id: nothing to look up */
} ig_idmap;

static int idpair_cmp(const void *a, const void *b)
{
    uint64_t x = ((const idpair *)a)->pprof_id, y = ((const idpair *)b)->pprof_id;
    return x < y ? -1 : x > y;
}

/* Sorts the pairs and rejects zero or duplicate ids; what names the table. */
static int idmap_finish(ig_idmap *m, const char *what, ig_err *err)
{
    m->dense = m->identity = 1;
    for (size_t i = 0; i < m->n; i++) {
        if (m->pairs[i].pprof_id != i + 1)
            m->dense = 0;
        if (m->pairs[i].model_id != i + 1)
            m->identity = 0;
    }
    m->identity &= m->dense;
    if (m->dense)
        return 0;
    qsort(m->pairs, m->n, sizeof *m->pairs, idpair_cmp);
    for (size_t i = 0; i < m->n; i++) {
        if (m->pairs[i].pprof_id == 0)
            return ig_err_set(err, "%s with id 0", what);
        if (i && m->pairs[i].pprof_id == m->pairs[i - 1].pprof_id)
            return ig_err_set(err, "duplicate %s id %" PRIu64, what, m->pairs[i].pprof_id);
    }
    return 0;
}

/* The model id for a pprof id, 0 when it does not exist. */
static inline uint32_t idmap_get(const ig_idmap *m, uint64_t id)
{
    if (m->identity)
        return id >= 1 && id <= m->n ? (uint32_t)id : 0;
    if (m->dense)
        return id >= 1 && id <= m->n ? m->pairs[id - 1].model_id : 0;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->pairs[mid].pprof_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->pairs[lo].pprof_id == id ? m->pairs[lo].model_id : 0;
}

/* Records the i-th pair of a table of `count` (i < count); the array grows
 * as the table is read, so an input that fails early costs little. */
static void idmap_set(ig_idmap *m, size_t i, size_t count, uint64_t pprof_id, uint32_t model_id)
{
    if (i >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        if (cap > count)
            cap = count;
        m->pairs = ig_xrealloc(m->pairs, cap * sizeof *m->pairs);
        m->cap = cap;
    }
    m->pairs[i] = (idpair){pprof_id, model_id};
    m->n = i + 1;
}

/* ---- reading ----------------------------------------------------------- */

/* Elements are decoded into a budgeted arena (exporters/pbarena.h). */

/* Profile fields (profile.proto).  The repeated ones are streamed one
 * element at a time; of the scalars only the last occurrence counts. */
enum {
    F_SAMPLE_TYPE = 1,
    F_SAMPLE = 2,
    F_MAPPING = 3,
    F_LOCATION = 4,
    F_FUNCTION = 5,
    F_STRING = 6,
    F_PERIOD_TYPE = 11,
    F_COMMENT = 13,
    F_LAST = 14
};

enum { SAMPLE_BATCH = 16, SAMPLE_BATCH_FRAMES = 1 << 24 };

typedef struct reader {
    const pb_profile *pb; /* the scalar fields (period, time, drop/keep frames, ...) */
    ignis_profile *p;
    size_t count[F_LAST + 1]; /* occurrences of each field on the wire */
    uint32_t period_type, period_unit; /* model strings, merged from every period_type */
    uint32_t *str;          /* pprof string index -> model string id */
    size_t nstrings;
    size_t nvalues;         /* sample types */
    ig_idmap mappings, functions, locations;
    uint32_t *scratch;      /* one stack */
    ignis_label *labels;    /* one sample's labels */
    ignis_line *lines;      /* one location's lines */
    size_t scap, lcap, linecap;
    uint64_t *mag;          /* |value| sums per type, to refuse overflow */
    /* plain samples decoded but not added yet (add_pending): their stacks
     * side by side in scratch, pend_off[k] where the k-th starts, their
     * values nvalues apiece in values */
    int64_t *values;
    size_t vcap;
    uint32_t pend_off[SAMPLE_BATCH + 1];
    size_t pend_index[SAMPLE_BATCH], npend;
    ig_pb_arena arena;      /* the element being decoded */
    ig_pb_arena rest_arena; /* r->pb, the fields outside the tables */
    ig_err *err;
} reader;

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Decodes one message of a table into the arena; NULL with the error set
 * ("location entry 7: invalid protobuf data"; `what` names the table). */
static void *unpack_element(reader *r, const ProtobufCMessageDescriptor *d, const char *what, size_t index,
                            const uint8_t *payload, size_t plen)
{
    void *m = ig_pb_arena_unpack(&r->arena, d, plen, payload);
    if (m)
        return m;
    if (r->arena.over)
        ig_err_set(r->err, "%s %zu: decoding its %zu bytes needs more than %zu bytes of memory", what, index,
                   plen, r->arena.budget);
    else
        ig_err_set(r->err, "%s %zu: invalid protobuf data", what, index);
    return NULL;
}

/* Translates a string index; -1 with the error naming `what` when bad. */
static int string_at(reader *r, int64_t idx, uint32_t *out, const char *what, uint64_t id)
{
    if (idx < 0 || (uint64_t)idx >= r->nstrings)
        return ig_err_set(r->err, "%s %" PRIu64 ": string index %" PRId64 " out of range (%zu strings)",
                          what, id, idx, r->nstrings);
    *out = r->str[idx];
    return 0;
}

/* One string of the table, interned straight from the wire bytes, whole
 * (a NUL shown as \u0000: ig_pb_intern_string). */
static int read_string(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    if (i == 0 && plen)
        return ig_err_set(r->err, "not a pprof profile (string table must start with \"\")");
    r->str[i] = ig_pb_intern_string(r->p, (const char *)payload, plen);
    r->nstrings = i + 1;
    return 0;
}

static int read_value_type(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const pb_value_type *vt =
        unpack_element(r, &perftools__profiles__value_type__descriptor, "sample type entry", i, payload, plen);
    uint32_t t = 0, u = 0;
    if (!vt || string_at(r, vt->type, &t, "sample type", i) || string_at(r, vt->unit, &u, "sample type", i))
        return -1;
    ignis_profile *p = r->p;
    if (ignis_profile_add_value_type(p, ignis_profile_string(p, t), ignis_profile_string(p, u)) < 0)
        return ig_err_set(r->err, "cannot add sample type %zu", i);
    r->nvalues++;
    return 0;
}

/* Period, time, comments, default sample type, drop/keep frames. */
/* One period_type message; like protobuf's merge of a repeated singular
 * message, a later one overrides the fields it sets. */
static int read_period_type(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const pb_value_type *vt =
        unpack_element(r, &perftools__profiles__value_type__descriptor, "period type entry", i, payload, plen);
    uint32_t t = 0, u = 0;
    if (!vt || string_at(r, vt->type, &t, "period type", 0) || string_at(r, vt->unit, &u, "period type", 0))
        return -1;
    r->period_type = vt->type ? t : r->period_type;
    r->period_unit = vt->unit ? u : r->period_unit;
    return 0;
}

/* One comment field: a string index (varint) or a packed run of them. */
static int read_comments(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const uint8_t *c = payload, *end = payload + plen;
    while (c < end) {
        uint64_t idx;
        uint32_t s = 0;
        if (get_varint(&c, end, &idx))
            return ig_err_set(r->err, "comment field %zu: invalid protobuf data", i);
        if (string_at(r, (int64_t)idx, &s, "comment", i))
            return -1;
        ignis_profile_add_comment(r->p, ignis_profile_string(r->p, s));
    }
    return 0;
}

static int read_metadata(reader *r)
{
    const pb_profile *pb = r->pb;
    ignis_profile *p = r->p;
    uint32_t s = 0, t = r->period_type, u = r->period_unit;
    if (t || u || pb->period)
        ignis_profile_set_period(p, ignis_profile_string(p, t), ignis_profile_string(p, u), pb->period);
    ignis_profile_set_time(p, pb->time_nanos, pb->duration_nanos);
    if (string_at(r, pb->default_sample_type, &s, "default sample type", 0))
        return -1;
    if (s)
        ignis_profile_set_default_sample_type(p, ignis_profile_string(p, s));
    uint32_t drop = 0, keep = 0;
    if (string_at(r, pb->drop_frames, &drop, "drop_frames", 0) ||
        string_at(r, pb->keep_frames, &keep, "keep_frames", 0))
        return -1;
    if (drop || keep)
        ignis_profile_set_drop_keep(p, ignis_profile_string(p, drop), ignis_profile_string(p, keep));
    return 0;
}

static int read_mapping(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const pb_mapping *pm =
        unpack_element(r, &perftools__profiles__mapping__descriptor, "mapping entry", i, payload, plen);
    if (!pm)
        return -1;
    ignis_mapping m = {pm->memory_start, pm->memory_limit, pm->file_offset, 0, 0,
                       pm->has_functions, pm->has_filenames, pm->has_line_numbers,
                       pm->has_inline_frames};
    if (string_at(r, pm->filename, &m.filename, "mapping", pm->id) ||
        string_at(r, pm->build_id, &m.build_id, "mapping", pm->id))
        return -1;
    if (!pm->id)
        return ig_err_set(r->err, "mapping with id 0");
    idmap_set(&r->mappings, i, r->count[F_MAPPING], pm->id, ignis_profile_add_mapping(r->p, &m));
    return 0;
}

static int read_function(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const pb_function *pf =
        unpack_element(r, &perftools__profiles__function__descriptor, "function entry", i, payload, plen);
    if (!pf)
        return -1;
    ignis_function f = {0, 0, 0, pf->start_line};
    if (string_at(r, pf->name, &f.name, "function", pf->id) ||
        string_at(r, pf->system_name, &f.system_name, "function", pf->id) ||
        string_at(r, pf->filename, &f.filename, "function", pf->id))
        return -1;
    if (!pf->id)
        return ig_err_set(r->err, "function with id 0");
    idmap_set(&r->functions, i, r->count[F_FUNCTION], pf->id, ignis_profile_add_function(r->p, &f));
    return 0;
}

static int read_location(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const pb_location *pl =
        unpack_element(r, &perftools__profiles__location__descriptor, "location entry", i, payload, plen);
    if (!pl)
        return -1;
    if (!pl->id)
        return ig_err_set(r->err, "location with id 0");
    if (pl->n_line > UINT32_MAX)
        return ig_err_set(r->err, "location %" PRIu64 ": too many lines", pl->id);
    if (pl->n_line > r->linecap) { /* bounded: each line took its own decoded message */
        r->linecap = pl->n_line * 2;
        r->lines = ig_xrealloc(r->lines, r->linecap * sizeof *r->lines);
    }
    ignis_line *lines = r->lines;
    ignis_location loc = {0, pl->address, lines, (uint32_t)pl->n_line, IGNIS_FRAME_USER, pl->is_folded};
    if (pl->mapping_id) {
        loc.mapping = idmap_get(&r->mappings, pl->mapping_id);
        if (!loc.mapping)
            return ig_err_set(r->err, "location %" PRIu64 ": mapping id %" PRIu64 " does not exist",
                              pl->id, pl->mapping_id);
        const ignis_mapping *m = ignis_profile_mapping(r->p, loc.mapping);
        loc.kind = (uint8_t)kind_of_mapping_name(ignis_profile_string(r->p, m->filename));
    }
    for (size_t j = 0; j < pl->n_line; j++) {
        const pb_line *pn = pl->line[j];
        lines[j].function = idmap_get(&r->functions, pn->function_id);
        if (!lines[j].function)
            return ig_err_set(r->err, "location %" PRIu64 ": function id %" PRIu64 " does not exist",
                              pl->id, pn->function_id);
        lines[j].line = pn->line;
        lines[j].column = pn->column;
    }
    uint32_t id = ignis_profile_add_location(r->p, &loc);
    if (!id)
        return ig_err_set(r->err, "location %" PRIu64 ": invalid", pl->id);
    idmap_set(&r->locations, i, r->count[F_LOCATION], pl->id, id);
    return 0;
}

static int read_labels(reader *r, const pb_sample *ps, size_t si, uint32_t *out)
{
    for (size_t j = 0; j < ps->n_label; j++) {
        const pb_label *pl = ps->label[j];
        ignis_label *l = &r->labels[j];
        memset(l, 0, sizeof *l);
        if (string_at(r, pl->key, &l->key, "sample", si) || string_at(r, pl->str, &l->str, "sample", si) ||
            string_at(r, pl->num_unit, &l->num_unit, "sample", si))
            return -1;
        if (l->str)
            l->num_unit = 0;
        else
            l->num = pl->num;
    }
    *out = ignis_profile_add_labels(r->p, r->labels, ps->n_label);
    return 0;
}

/* Adds |v| to *sum; false when the sum no longer fits in an int64. */
static int add_magnitude(uint64_t *sum, int64_t v)
{
    if (v == INT64_MIN)
        return 0;
    *sum += (uint64_t)(v < 0 ? -v : v);
    return *sum <= (uint64_t)INT64_MAX;
}

/* ---- samples without labels, straight from the wire ---------------------- */

/* Most samples are two packed runs of varints and nothing else; decoding
 * them with protobuf-c (two passes, a message and two arrays in the arena
 * per sample) took more time than everything else a pprof file costs to
 * read.  read_plain_sample decodes those itself; anything else (labels,
 * fields profile.proto does not give a Sample, a malformed varint, a
 * location id that does not exist, values that overflow) is left to
 * protobuf-c and read_sample's checks, with their messages.  Nothing is
 * changed before the sample is known to be plain, so the slow path starts
 * from where it would have.  Plain samples are added SAMPLE_BATCH at a
 * time (profile/batch.h: their stack table lookups overlap), and always
 * before a sample that is not plain, so the model is built in file order. */

/* A varint protobuf-c reads the same: at most 10 bytes, the 10th 0 or 1.
 * Inline, with one byte (ids below 128, small counts) on the short path. */
static inline int plain_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (*p < end && !(**p & 0x80)) {
        *v = *(*p)++;
        return 0;
    }
    uint64_t r = 0;
    for (int k = 0; k < 10 && *p < end; k++) {
        uint8_t b = *(*p)++;
        if (k == 9 && b > 1)
            return -1;
        r |= (uint64_t)(b & 0x7f) << (7 * k);
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* Appends the varints of one field occurrence (packed: all of a payload)
 * to the stacks (field 1, as model location ids) or to the values (2);
 * nloc and nval index scratch and values. */
static int plain_field(reader *r, int field, const uint8_t *c, const uint8_t *end, size_t *nloc, size_t *nval)
{
    while (c < end) {
        uint64_t v;
        if (plain_varint(&c, end, &v))
            return -1;
        if (field == 1) {
            if (*nloc == r->scap) {
                r->scap = r->scap ? r->scap * 2 : 64;
                r->scratch = ig_xrealloc(r->scratch, r->scap * sizeof *r->scratch);
            }
            if (!(r->scratch[(*nloc)++] = idmap_get(&r->locations, v)))
                return -1;
        } else {
            if (*nval == r->vcap) {
                r->vcap = r->vcap ? r->vcap * 2 : 8;
                r->values = ig_xrealloc(r->values, r->vcap * sizeof *r->values);
            }
            r->values[(*nval)++] = (int64_t)v;
        }
    }
    return 0;
}

/* Adds the pending samples; -1 with err set when the model refuses one. */
static int add_pending(reader *r)
{
    uint32_t ids[SAMPLE_BATCH];
    size_t n = r->npend;
    r->npend = 0;
    if (!n)
        return 0;
    ig_profile_add_stacks(r->p, r->scratch, r->pend_off, n, ids);
    for (size_t k = 0; k < n; k++)
        if (!ids[k] || ignis_profile_add_sample(r->p, ids[k], 0, r->values + k * r->nvalues) < 0)
            return ig_err_set(r->err, "sample %zu: invalid", r->pend_index[k]);
    return 0;
}

/* 0: the sample was plain and is pending; 1: let read_sample decode it. */
static int read_plain_sample(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    const uint8_t *c = payload, *end = payload + plen;
    size_t first = r->npend ? r->pend_off[r->npend] : 0, vfirst = r->npend * r->nvalues;
    size_t nloc = first, nval = vfirst;
    while (c < end) {
        uint64_t tag, len = 1;
        if (plain_varint(&c, end, &tag) || (tag >> 3) < 1 || (tag >> 3) > 2)
            return 1;
        const uint8_t *body = c;
        if ((tag & 7) == 2) {
            if (plain_varint(&c, end, &len) || len == 0 || len > (uint64_t)(end - c))
                return 1;
            body = c;
        } else if ((tag & 7) != 0) {
            return 1;
        }
        const uint8_t *stop = (tag & 7) == 2 ? body + len : NULL;
        if (!stop) { /* one varint */
            uint64_t v;
            const uint8_t *q = c;
            if (plain_varint(&q, end, &v))
                return 1;
            stop = q;
        }
        if (plain_field(r, (int)(tag >> 3), body, stop, &nloc, &nval))
            return 1;
        c = stop;
    }
    const int64_t *values = r->values + vfirst;
    if (nval - vfirst != r->nvalues)
        return 1;
    for (size_t k = 0; k < r->nvalues; k++) { /* checked before any sum changes */
        uint64_t sum = r->mag[k];
        if (!add_magnitude(&sum, values[k]))
            return 1;
    }
    for (size_t k = 0; k < r->nvalues; k++)
        add_magnitude(&r->mag[k], values[k]);
    r->pend_off[r->npend] = (uint32_t)first;
    r->pend_index[r->npend++] = i;
    r->pend_off[r->npend] = (uint32_t)nloc;
    return 0;
}

static int read_sample(reader *r, const uint8_t *payload, size_t plen, size_t i)
{
    if (read_plain_sample(r, payload, plen, i) == 0)
        return r->npend == SAMPLE_BATCH || r->pend_off[r->npend] >= SAMPLE_BATCH_FRAMES ? add_pending(r) : 0;
    if (add_pending(r)) /* the samples before this one come first */
        return -1;
    const pb_sample *ps = unpack_element(r, &perftools__profiles__sample__descriptor, "sample", i, payload, plen);
    if (!ps)
        return -1;
    size_t nv = r->nvalues;
    if (ps->n_value != nv)
        return ig_err_set(r->err, "sample %zu: %zu values but %zu sample types", i, ps->n_value, nv);
    if (ps->n_location_id > r->scap) {
        r->scap = ps->n_location_id * 2;
        r->scratch = ig_xrealloc(r->scratch, r->scap * sizeof *r->scratch);
    }
    for (size_t j = 0; j < ps->n_location_id; j++) {
        r->scratch[j] = idmap_get(&r->locations, ps->location_id[j]);
        if (!r->scratch[j])
            return ig_err_set(r->err, "sample %zu: location id %" PRIu64 " does not exist", i, ps->location_id[j]);
    }
    for (size_t k = 0; k < nv; k++)
        if (!add_magnitude(&r->mag[k], ps->value[k]))
            return ig_err_set(r->err, "sample %zu: values too large (sum overflows 64 bits)", i);
    if (ps->n_label > r->lcap) {
        r->lcap = ps->n_label * 2;
        r->labels = ig_xrealloc(r->labels, r->lcap * sizeof *r->labels);
    }
    uint32_t labels = 0;
    if (read_labels(r, ps, i, &labels))
        return -1;
    uint32_t stack = ignis_profile_add_stack(r->p, r->scratch, ps->n_location_id);
    if (!stack || ignis_profile_add_sample(r->p, stack, labels, ps->value) < 0)
        return ig_err_set(r->err, "sample %zu: invalid", i);
    return 0;
}

/* ---- streaming the tables ---------------------------------------------- */

/* Rather than letting protobuf-c build the whole Profile at once (which
 * costs many times the wire size), the reader walks the top-level fields
 * itself.  One walk counts each table's elements and copies the remaining
 * fields (scalars, period type, comments) aside to be unpacked as a small
 * Profile; then one walk per table, in dependency order (strings, sample
 * types, mappings, functions, locations, samples), decodes each element
 * on its own into the recycled arena and adds it to the model.  Memory
 * stays proportional to the model plus one element. */

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0; /* protobuf's base-128 varint: the framing protobuf-c does not expose */
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

/* Calls fn for each top-level field: its number, its bytes [start, end)
 * (tag included) and, for a length-delimited field, its payload. */
typedef int (*field_fn)(void *ctx, uint64_t field, int wire, const uint8_t *start, const uint8_t *end,
                        const uint8_t *payload, size_t plen);

static int for_each_field(const uint8_t *data, size_t len, field_fn fn, void *ctx)
{
    const uint8_t *p = data, *end = data + len;
    while (p < end) {
        const uint8_t *start = p, *payload = NULL;
        uint64_t tag, v, plen = 0;
        if (get_varint(&p, end, &tag) || (tag >> 3) == 0)
            return -1;
        int wire = (int)(tag & 7);
        if (wire == 0 && get_varint(&p, end, &v))
            return -1;
        else if (wire == 1 && (size_t)(end - p) >= 8)
            p += 8;
        else if (wire == 5 && (size_t)(end - p) >= 4)
            p += 4;
        else if (wire == 2 && !get_varint(&p, end, &plen) && plen <= (uint64_t)(end - p))
            payload = p, p += plen;
        else if (wire != 0)
            return -1;
        int rc = fn(ctx, tag >> 3, wire, start, p, payload, (size_t)plen);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct split {
    reader *r;
    const uint8_t *last[F_LAST + 1][2]; /* the last occurrence of each scalar field [start, end) */
} split;

/* The wire type profile.proto gives each field, -1 for numbers it lacks. */
static int field_wire_type(uint64_t field)
{
    static const int8_t wire[F_LAST + 1] = {-1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 0, 0, 0};
    return field <= F_LAST ? wire[field] : -1;
}

/* Counts the repeated fields and notes the last occurrence of each scalar
 * one; fields profile.proto does not define are skipped. */
static int split_fields(void *ctx, uint64_t field, int wire, const uint8_t *start, const uint8_t *end,
                        const uint8_t *payload, size_t plen)
{
    split *sp = ctx;
    (void)payload;
    (void)plen;
    int want = field_wire_type(field);
    if (want < 0)
        return 0;
    if (wire != want && !(field == F_COMMENT && wire == 2)) /* comments may be packed */
        return -1;
    sp->r->count[field]++;
    sp->last[field][0] = start;
    sp->last[field][1] = end;
    return 0;
}

typedef int (*element_fn)(reader *r, const uint8_t *payload, size_t plen, size_t index);

typedef struct table_walk {
    reader *r;
    uint64_t field;
    element_fn fn;
    size_t index;
} table_walk;

static int table_field(void *ctx, uint64_t field, int wire, const uint8_t *start, const uint8_t *end,
                       const uint8_t *payload, size_t plen)
{
    table_walk *w = ctx;
    if (field != w->field)
        return 0;
    if (wire == 0) { /* a varint field: its value's bytes */
        uint64_t tag;
        get_varint(&start, end, &tag);
        payload = start, plen = (size_t)(end - start);
    }
    return w->fn(w->r, payload, plen, w->index++);
}

static int read_table(reader *r, const uint8_t *data, size_t len, uint64_t field, element_fn fn)
{
    table_walk w = {r, field, fn, 0};
    if (!r->count[field])
        return 0;
    return for_each_field(data, len, table_field, &w) ? -1 : 0;
}

/* The scalar fields (their last occurrences): a small Profile message. */
static int unpack_rest(reader *r, const ig_strbuf *rest)
{
    r->pb = ig_pb_arena_unpack(&r->rest_arena, &perftools__profiles__profile__descriptor, rest->len,
                               (const uint8_t *)rest->data);
    if (!r->pb)
        return r->rest_arena.over ? ig_err_set(r->err, "not a pprof profile (decoding its %zu bytes of fields outside "
                                                       "the tables needs more than %zu bytes of memory)", rest->len,
                                               r->rest_arena.budget)
                             : ig_err_set(r->err, "not a pprof profile (invalid protobuf data)");
    return 0;
}

static int read_tables(reader *r, const uint8_t *data, size_t len)
{
    if (r->count[F_STRING] == 0)
        return ig_err_set(r->err, "not a pprof profile (no string table)");
    r->str = ig_xmalloc(r->count[F_STRING] * sizeof *r->str);
    if (read_table(r, data, len, F_STRING, read_string) || read_table(r, data, len, F_SAMPLE_TYPE, read_value_type) ||
        read_table(r, data, len, F_PERIOD_TYPE, read_period_type) || read_table(r, data, len, F_COMMENT, read_comments))
        return -1;
    if (r->count[F_SAMPLE] && !r->nvalues)
        return ig_err_set(r->err, "samples without sample types");
    if (read_metadata(r) || read_table(r, data, len, F_MAPPING, read_mapping) ||
        idmap_finish(&r->mappings, "mapping", r->err) || read_table(r, data, len, F_FUNCTION, read_function) ||
        idmap_finish(&r->functions, "function", r->err) || read_table(r, data, len, F_LOCATION, read_location) ||
        idmap_finish(&r->locations, "location", r->err))
        return -1;
    r->mag = ig_xcalloc(r->nvalues + 1, sizeof *r->mag);
    r->scap = 64;
    r->lcap = 8;
    r->scratch = ig_xmalloc(r->scap * sizeof *r->scratch);
    r->labels = ig_xmalloc(r->lcap * sizeof *r->labels);
    if (read_table(r, data, len, F_SAMPLE, read_sample))
        return -1;
    return add_pending(r);
}

static void reader_free(reader *r)
{
    free(r->str);
    free(r->mappings.pairs);
    free(r->functions.pairs);
    free(r->locations.pairs);
    free(r->scratch);
    free(r->labels);
    free(r->lines);
    free(r->mag);
    free(r->values);
    ig_pb_arena_release(&r->arena);
    ig_pb_arena_release(&r->rest_arena);
}

/* Decodes raw (not gzipped) profile.proto bytes into r->p. */
static int read_message(reader *r, const uint8_t *data, size_t len)
{
    split sp = {r, {{0}}};
    int rc = for_each_field(data, len, split_fields, &sp);
    ig_strbuf rest = IG_STRBUF_INIT;
    for (uint64_t f = 1; !rc && f <= F_LAST; f++)
        if (field_wire_type(f) == 0 && f != F_COMMENT && sp.last[f][0])
            ig_sb_append(&rest, sp.last[f][0], (size_t)(sp.last[f][1] - sp.last[f][0]));
    if (rc)
        rc = ig_err_set(r->err, "not a pprof profile (invalid protobuf data)");
    else
        rc = unpack_rest(r, &rest);
    ig_sb_free(&rest);
    if (rc)
        return -1;
    return read_tables(r, data, len);
}

int ig_pprof_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err)
{
    *out = NULL;
    uint8_t *raw = NULL;
    if (ig_is_gzip(data, len)) {
        if (ig_gunzip(data, len, &raw, &len, IG_PPROF_MAX_SIZE, err))
            return -1;
        data = raw;
    }
    if (len == 0) {
        free(raw);
        return ig_err_set(err, "empty pprof profile");
    }
    reader r = {.p = ignis_profile_new(), .err = err};
    int rc = read_message(&r, data, len);
    reader_free(&r);
    free(raw);
    if (rc) {
        ignis_profile_free(r.p);
        return -1;
    }
    *out = r.p;
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* Everything the encoded message points at, freed in one place. */
typedef struct writer {
    const ignis_profile *p;
    pb_profile pb;
    char **strings;
    pb_value_type *vtypes, **vtype_ptrs, period_type;
    pb_mapping *maps, **map_ptrs;
    pb_function *funcs, **func_ptrs;
    pb_location *locs, **loc_ptrs;
    pb_line *lines, **line_ptrs;
    int64_t *comments;
    uint64_t kernel_map, jit_map; /* synthetic mapping ids, 0 = unused */
} writer;

static void write_strings(writer *w, size_t extra)
{
    size_t n = ignis_profile_num_strings(w->p);
    w->strings = ig_xmalloc((n + extra) * sizeof *w->strings);
    for (size_t i = 0; i < n; i++)
        w->strings[i] = (char *)ignis_profile_string(w->p, (uint32_t)i);
    w->pb.n_string_table = n;
    w->pb.string_table = w->strings;
}

/* Appends a string the model does not have; returns its index. */
static int64_t extra_string(writer *w, const char *s)
{
    for (size_t i = 0; i < w->pb.n_string_table; i++)
        if (!strcmp(w->strings[i], s))
            return (int64_t)i;
    w->strings[w->pb.n_string_table] = (char *)s;
    return (int64_t)w->pb.n_string_table++;
}

static void write_value_types(writer *w)
{
    const ignis_profile *p = w->p;
    size_t n = ignis_profile_num_values(p);
    w->vtypes = ig_xcalloc(n + 1, sizeof *w->vtypes);
    w->vtype_ptrs = ig_xcalloc(n + 1, sizeof *w->vtype_ptrs);
    for (size_t i = 0; i < n; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        perftools__profiles__value_type__init(&w->vtypes[i]);
        w->vtypes[i].type = vt.type;
        w->vtypes[i].unit = vt.unit;
        w->vtype_ptrs[i] = &w->vtypes[i];
    }
    w->pb.n_sample_type = n;
    w->pb.sample_type = w->vtype_ptrs;
}

static void write_metadata(writer *w)
{
    const ignis_profile *p = w->p;
    ignis_value_type pt = ignis_profile_period_type(p);
    perftools__profiles__value_type__init(&w->period_type);
    if (pt.type || pt.unit) {
        w->period_type.type = pt.type;
        w->period_type.unit = pt.unit;
        w->pb.period_type = &w->period_type;
    }
    w->pb.period = ignis_profile_period(p);
    w->pb.time_nanos = ignis_profile_time_nanos(p);
    w->pb.duration_nanos = ignis_profile_duration_nanos(p);
    w->pb.default_sample_type = ignis_profile_default_sample_type(p);
    w->pb.drop_frames = ignis_profile_drop_frames(p);
    w->pb.keep_frames = ignis_profile_keep_frames(p);
    size_t nc = ignis_profile_num_comments(p);
    w->comments = ig_xcalloc(nc + 1, sizeof *w->comments);
    for (size_t i = 0; i < nc; i++)
        w->comments[i] = ignis_profile_comment(p, i);
    w->pb.n_comment = nc;
    w->pb.comment = w->comments;
}

/* Whether a location's kind is not already implied by its own mapping. */
static int needs_kind_mapping(const writer *w, const ignis_location *loc)
{
    if (loc->kind == IGNIS_FRAME_USER)
        return 0;
    const ignis_mapping *m = ignis_profile_mapping(w->p, loc->mapping);
    return !m || kind_of_mapping_name(ignis_profile_string(w->p, m->filename)) != loc->kind;
}

/* The mapping a location is written with: its own unless its kind needs
 * a synthetic kernel/JIT mapping (see the comment on top). */
static uint64_t mapping_for_location(const writer *w, const ignis_location *loc)
{
    if (!needs_kind_mapping(w, loc))
        return loc->mapping;
    return loc->kind == IGNIS_FRAME_KERNEL ? w->kernel_map : w->jit_map;
}

static void write_mappings(writer *w)
{
    const ignis_profile *p = w->p;
    size_t n = ignis_profile_num_mappings(p);
    w->maps = ig_xcalloc(n + 2, sizeof *w->maps);
    w->map_ptrs = ig_xcalloc(n + 2, sizeof *w->map_ptrs);
    for (size_t i = 0; i < n; i++) {
        const ignis_mapping *m = ignis_profile_mapping(p, (uint32_t)(i + 1));
        pb_mapping *pm = &w->maps[i];
        perftools__profiles__mapping__init(pm);
        pm->id = i + 1;
        pm->memory_start = m->start;
        pm->memory_limit = m->limit;
        pm->file_offset = m->offset;
        pm->filename = m->filename;
        pm->build_id = m->build_id;
        pm->has_functions = m->has_functions;
        pm->has_filenames = m->has_filenames;
        pm->has_line_numbers = m->has_line_numbers;
        pm->has_inline_frames = m->has_inline_frames;
        w->map_ptrs[i] = pm;
    }
    w->pb.n_mapping = n;
    /* synthetic kind mappings, only when some location needs them */
    int need_k = 0, need_j = 0;
    for (uint32_t id = 1; id <= ignis_profile_num_locations(p); id++) {
        const ignis_location *loc = ignis_profile_location(p, id);
        if (!needs_kind_mapping(w, loc))
            continue;
        need_k |= loc->kind == IGNIS_FRAME_KERNEL;
        need_j |= loc->kind == IGNIS_FRAME_JIT;
    }
    const char *names[2] = {KERNEL_MAPPING, JIT_MAPPING};
    int need[2] = {need_k, need_j};
    for (int k = 0; k < 2; k++) {
        if (!need[k])
            continue;
        pb_mapping *pm = &w->maps[w->pb.n_mapping];
        perftools__profiles__mapping__init(pm);
        pm->id = w->pb.n_mapping + 1;
        pm->filename = extra_string(w, names[k]);
        pm->has_functions = 1;
        w->map_ptrs[w->pb.n_mapping++] = pm;
        *(k ? &w->jit_map : &w->kernel_map) = pm->id;
    }
    w->pb.mapping = w->map_ptrs;
}

static void write_functions(writer *w)
{
    const ignis_profile *p = w->p;
    size_t n = ignis_profile_num_functions(p);
    w->funcs = ig_xcalloc(n + 1, sizeof *w->funcs);
    w->func_ptrs = ig_xcalloc(n + 1, sizeof *w->func_ptrs);
    for (size_t i = 0; i < n; i++) {
        const ignis_function *f = ignis_profile_function(p, (uint32_t)(i + 1));
        pb_function *pf = &w->funcs[i];
        perftools__profiles__function__init(pf);
        pf->id = i + 1;
        pf->name = f->name;
        pf->system_name = f->system_name;
        pf->filename = f->filename;
        pf->start_line = f->start_line;
        w->func_ptrs[i] = pf;
    }
    w->pb.n_function = n;
    w->pb.function = w->func_ptrs;
}

static void write_locations(writer *w)
{
    const ignis_profile *p = w->p;
    size_t n = ignis_profile_num_locations(p), nl = 0;
    for (uint32_t id = 1; id <= n; id++)
        nl += ignis_profile_location(p, id)->nlines;
    w->locs = ig_xcalloc(n + 1, sizeof *w->locs);
    w->loc_ptrs = ig_xcalloc(n + 1, sizeof *w->loc_ptrs);
    w->lines = ig_xcalloc(nl + 1, sizeof *w->lines);
    w->line_ptrs = ig_xcalloc(nl + 1, sizeof *w->line_ptrs);
    size_t li = 0;
    for (uint32_t id = 1; id <= n; id++) {
        const ignis_location *loc = ignis_profile_location(p, id);
        pb_location *pl = &w->locs[id - 1];
        perftools__profiles__location__init(pl);
        pl->id = id;
        pl->mapping_id = mapping_for_location(w, loc);
        pl->address = loc->address;
        pl->is_folded = loc->is_folded;
        pl->n_line = loc->nlines;
        pl->line = &w->line_ptrs[li];
        for (uint32_t j = 0; j < loc->nlines; j++, li++) {
            perftools__profiles__line__init(&w->lines[li]);
            w->lines[li].function_id = loc->lines[j].function;
            w->lines[li].line = loc->lines[j].line;
            w->lines[li].column = loc->lines[j].column;
            w->line_ptrs[li] = &w->lines[li];
        }
        w->loc_ptrs[id - 1] = pl;
    }
    w->pb.n_location = n;
    w->pb.location = w->loc_ptrs;
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

/* Samples are encoded one at a time straight after the rest of the message
 * (repeated fields may come in any order on the wire), so the writer never
 * holds a protobuf-c copy of every sample. */
static void write_samples(writer *w, ig_strbuf *raw)
{
    const ignis_profile *p = w->p;
    size_t n = ignis_profile_num_samples(p), nv = ignis_profile_num_values(p);
    size_t scap = 64, lcap = 8;
    uint64_t *ids = ig_xmalloc(scap * sizeof *ids);
    pb_label *labels = ig_xmalloc(lcap * sizeof *labels);
    pb_label **label_ptrs = ig_xmalloc(lcap * sizeof *label_ptrs);
    for (size_t i = 0; i < n; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t depth, nlab;
        const uint32_t *stack = ignis_profile_stack(p, s.stack, &depth);
        const ignis_label *ml = ignis_profile_labels(p, s.labels, &nlab);
        if (depth > scap) {
            scap = depth * 2;
            ids = ig_xrealloc(ids, scap * sizeof *ids);
        }
        if (nlab > lcap) {
            lcap = nlab * 2;
            labels = ig_xrealloc(labels, lcap * sizeof *labels);
            label_ptrs = ig_xrealloc(label_ptrs, lcap * sizeof *label_ptrs);
        }
        for (size_t j = 0; j < depth; j++)
            ids[j] = stack[j];
        for (size_t j = 0; j < nlab; j++) {
            perftools__profiles__label__init(&labels[j]);
            labels[j].key = ml[j].key;
            labels[j].str = ml[j].str;
            if (!ml[j].str) {
                labels[j].num = ml[j].num;
                labels[j].num_unit = ml[j].num_unit;
            }
            label_ptrs[j] = &labels[j];
        }
        pb_sample ps;
        perftools__profiles__sample__init(&ps);
        ps.location_id = ids;
        ps.n_location_id = depth;
        ps.value = (int64_t *)s.values;
        ps.n_value = nv;
        ps.label = label_ptrs;
        ps.n_label = nlab;
        size_t len = perftools__profiles__sample__get_packed_size(&ps);
        put_varint(raw, 2 << 3 | 2); /* field 2 (sample), length-delimited */
        put_varint(raw, len);
        ig_sb_reserve(raw, len + 1);
        perftools__profiles__sample__pack(&ps, (uint8_t *)raw->data + raw->len);
        raw->len += len;
    }
    free(ids);
    free(labels);
    free(label_ptrs);
}

static void writer_free(writer *w)
{
    free(w->strings);
    free(w->vtypes);
    free(w->vtype_ptrs);
    free(w->maps);
    free(w->map_ptrs);
    free(w->funcs);
    free(w->func_ptrs);
    free(w->locs);
    free(w->loc_ptrs);
    free(w->lines);
    free(w->line_ptrs);
    free(w->comments);
}

int ig_pprof_write(const ignis_profile *p, ig_strbuf *out, ig_err *err)
{
    writer w = {.p = p};
    perftools__profiles__profile__init(&w.pb);
    write_strings(&w, 2);
    write_value_types(&w);
    write_metadata(&w);
    write_mappings(&w);
    write_functions(&w);
    write_locations(&w);
    ig_strbuf raw = IG_STRBUF_INIT;
    size_t n = perftools__profiles__profile__get_packed_size(&w.pb);
    ig_sb_reserve(&raw, n + 1);
    perftools__profiles__profile__pack(&w.pb, (uint8_t *)raw.data);
    raw.len = n;
    write_samples(&w, &raw);
    writer_free(&w);
    uint8_t *gz;
    size_t gzlen;
    int rc = ig_gzip((const uint8_t *)raw.data, raw.len, &gz, &gzlen, 1, err);
    ig_sb_free(&raw);
    if (rc)
        return -1;
    ig_sb_append(out, gz, gzlen);
    free(gz);
    return 0;
}
