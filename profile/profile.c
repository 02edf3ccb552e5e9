/*
 * profile/profile.c — the profile model (see include/ignis/profile.h).
 *
 * Every table is a dense array addressed by id plus, where elements are
 * deduplicated, an ig_idtab (utils/hash.h) that maps content hashes to ids.
 * Variable-length parts (strings, location lines, stack frames, label sets,
 * sample values) live in pools: one growable array per kind, elements
 * pointing into them by offset.  So adding a sample with a known stack costs
 * one hash probe and an addition, and memory grows only with what is
 * distinct.  Pools double; those of a megabyte and more are page blocks
 * (ig_pages_resize), which grow by moving page tables rather than by
 * copying into fresh pages, and are faulted in a few megabytes at a time
 * just ahead of what is written (ig_prefault): filling big pools page
 * fault by page fault cost more than the interning itself on a VM, and
 * prefaulting a whole doubled capacity made the kernel zero pages that
 * were never used.  The sample table is filled only as lookups need it
 * (a folded file's distinct stacks never need one).
 */
#include "ignis/profile.h"
#include "profile/batch.h"
#include "utils/hash.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

/* A growable array of fixed-size elements.  Its first `ready` elements'
 * pages are faulted in (all of a small vec's, which lives in malloc's heap). */
typedef struct vec {
    void *data;
    size_t len, cap, elem, ready;
} vec;

enum {
    VEC_PAGES_MIN = 128 << 10, /* a vec this big is a page block */
    VEC_AHEAD = 4 << 20,     /* bytes of a page block faulted in at once */
};

static int vec_paged(const vec *v, size_t cap)
{
    return cap * v->elem >= VEC_PAGES_MIN;
}

/* Gives v room for exactly cap elements (cap >= len). */
static void vec_resize(vec *v, size_t cap)
{
    size_t have = v->cap * v->elem, want = cap * v->elem, used = v->len * v->elem;
    if (vec_paged(v, cap) && vec_paged(v, v->cap)) {
        v->data = ig_pages_resize(v->data, have, want);
    } else if (vec_paged(v, cap)) { /* out of the heap: copied once */
        void *d = ig_pages_resize(NULL, 0, want);
        ig_prefault(d, used);
        if (used)
            memcpy(d, v->data, used);
        free(v->data);
        v->data = d;
        v->ready = v->len;
    } else if (vec_paged(v, v->cap)) { /* back into the heap */
        void *d = ig_xmalloc(want ? want : 1);
        if (used)
            memcpy(d, v->data, used);
        ig_pages_resize(v->data, have, 0);
        v->data = d;
    } else {
        v->data = ig_xrealloc(v->data, want);
    }
    v->cap = cap;
    if (!vec_paged(v, cap) || v->ready > cap)
        v->ready = cap;
}

static void vec_free(vec *v)
{
    if (vec_paged(v, v->cap))
        ig_pages_resize(v->data, v->cap * v->elem, 0);
    else
        free(v->data);
    v->data = NULL;
    v->len = v->cap = v->ready = 0;
}

static void *vec_push(vec *v, size_t n)
{
    if (v->len + n > v->ready) {
        if (v->len + n > v->cap) {
            size_t cap = v->cap ? v->cap : 16;
            while (cap < v->len + n)
                cap *= 2;
            vec_resize(v, cap);
        }
        if (v->len + n > v->ready) { /* a page block: fault in what comes next */
            size_t ahead = v->len + n + VEC_AHEAD / v->elem;
            if (ahead > v->cap)
                ahead = v->cap;
            ig_prefault((char *)v->data + v->ready * v->elem, (ahead - v->ready) * v->elem);
            v->ready = ahead;
        }
    }
    void *p = (char *)v->data + v->len * v->elem;
    v->len += n;
    return p;
}

#define VEC(type) {NULL, 0, 0, sizeof(type), 0}
#define AT(v, type, i) (((type *)(v).data)[i])

/* String arena: chunks that never move, so interned pointers are stable. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

typedef struct str {
    const char *s;
    uint32_t len;
} str;

typedef struct loc_rec {
    ignis_location view; /* what accessors return; view.lines points into the pool */
    uint32_t lines_off;
} loc_rec;

typedef struct span_rec { /* a run in a pool: stacks and label sets */
    uint32_t off, len;
} span_rec;

typedef struct sample_rec {
    uint32_t stack, labels;
} sample_rec;

struct ignis_profile {
    chunk *arena;
    vec strings;   /* str, id = index */
    ig_idtab string_ids;

    vec value_types; /* ignis_value_type */
    ignis_value_type period_type;
    int64_t period, time_nanos, duration_nanos;
    uint32_t default_sample_type, drop_frames, keep_frames;
    vec comments;  /* uint32_t */

    vec mappings;  /* ignis_mapping, id = index + 1 */
    ig_idtab mapping_ids;
    vec functions; /* ignis_function, id = index + 1 */
    ig_idtab function_ids;
    vec locations; /* loc_rec, id = index + 1 */
    vec lines;     /* ignis_line pool; when it moves, views are re-pointed */
    ig_idtab location_ids;
    vec stacks;    /* span_rec into stack_pool, id = index + 1 */
    vec stack_pool;/* uint32_t */
    ig_idtab stack_ids;
    vec labelsets; /* span_rec into label_pool, id = index + 1 */
    vec label_pool;/* ignis_label */
    ig_idtab labelset_ids;
    vec samples;   /* sample_rec */
    vec values;    /* int64_t, nvalues per sample */
    ig_idtab sample_ids;
    size_t samples_indexed;    /* samples [0, this) are in sample_ids (see index_samples) */
    uint32_t max_sample_stack; /* no sample has a stack above it: a new stack's sample is new */
    int compact;   /* stack_ids and sample_ids dropped (ig_profile_compact) */
};

/* ---- lifetime ---------------------------------------------------------- */

IGNIS_API ignis_profile *ignis_profile_new(void)
{
    ignis_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->strings = (vec)VEC(str);
    p->value_types = (vec)VEC(ignis_value_type);
    p->comments = (vec)VEC(uint32_t);
    p->mappings = (vec)VEC(ignis_mapping);
    p->functions = (vec)VEC(ignis_function);
    p->locations = (vec)VEC(loc_rec);
    p->lines = (vec)VEC(ignis_line);
    p->stacks = (vec)VEC(span_rec);
    p->stack_pool = (vec)VEC(uint32_t);
    p->labelsets = (vec)VEC(span_rec);
    p->label_pool = (vec)VEC(ignis_label);
    p->samples = (vec)VEC(sample_rec);
    p->values = (vec)VEC(int64_t);
    ignis_profile_intern_n(p, "", 0); /* id 0 */
    return p;
}

IGNIS_API void ignis_profile_free(ignis_profile *p)
{
    if (!p)
        return;
    for (chunk *c = p->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    vec *vecs[] = {&p->strings, &p->value_types, &p->comments, &p->mappings, &p->functions,
                   &p->locations, &p->lines, &p->stacks, &p->stack_pool,
                   &p->labelsets, &p->label_pool, &p->samples, &p->values};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
        vec_free(vecs[i]);
    ig_idtab *tabs[] = {&p->string_ids, &p->mapping_ids, &p->function_ids, &p->location_ids,
                        &p->stack_ids, &p->labelset_ids, &p->sample_ids};
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++)
        ig_idtab_free(tabs[i]);
    free(p);
}

/* ---- strings ----------------------------------------------------------- */

static char *arena_copy(ignis_profile *p, const char *s, size_t len)
{
    chunk *c = p->arena;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > 65536 ? len + 1 : 65536;
        c = ig_xmalloc(sizeof *c + cap);
        c->used = 0;
        c->cap = cap;
        c->next = p->arena;
        p->arena = c;
    }
    char *d = c->data + c->used;
    memcpy(d, s, len);
    d[len] = '\0';
    c->used += len + 1;
    return d;
}

typedef struct str_key {
    const char *s;
    size_t len;
} str_key;

static int str_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const str_key *k = key;
    const str *e = &AT(p->strings, str, id - 1);
    return e->len == k->len && !memcmp(e->s, k->s, k->len);
}

IGNIS_API uint32_t ignis_profile_intern_n(ignis_profile *p, const char *s, size_t len)
{
    if (!s)
        s = "", len = 0;
    str_key k = {s, len};
    uint64_t h = ig_hash_bytes(s, len, 0);
    /* ids in the table are index + 1 so that 0 means "empty slot" */
    uint32_t id = ig_idtab_find(&p->string_ids, h, &k, str_eq, p);
    if (id)
        return id - 1;
    str *e = vec_push(&p->strings, 1);
    e->s = arena_copy(p, s, len);
    e->len = (uint32_t)len;
    ig_idtab_insert(&p->string_ids, h, (uint32_t)p->strings.len);
    return (uint32_t)p->strings.len - 1;
}

IGNIS_API uint32_t ignis_profile_intern(ignis_profile *p, const char *s)
{
    return ignis_profile_intern_n(p, s, s ? strlen(s) : 0);
}

IGNIS_API const char *ignis_profile_string(const ignis_profile *p, uint32_t id)
{
    if (id >= p->strings.len)
        return "";
    return AT(p->strings, str, id).s;
}

IGNIS_API size_t ignis_profile_num_strings(const ignis_profile *p)
{
    return p->strings.len;
}

/* ---- value types and metadata ------------------------------------------ */

IGNIS_API int ignis_profile_add_value_type(ignis_profile *p, const char *type, const char *unit)
{
    if (p->samples.len)
        return -1;
    ignis_value_type *vt = vec_push(&p->value_types, 1);
    vt->type = ignis_profile_intern(p, type);
    vt->unit = ignis_profile_intern(p, unit);
    return (int)p->value_types.len - 1;
}

IGNIS_API size_t ignis_profile_num_values(const ignis_profile *p)
{
    return p->value_types.len;
}

IGNIS_API ignis_value_type ignis_profile_value_type(const ignis_profile *p, size_t i)
{
    ignis_value_type none = {0, 0};
    return i < p->value_types.len ? AT(p->value_types, ignis_value_type, i) : none;
}

IGNIS_API int ignis_profile_find_value(const ignis_profile *p, const char *type)
{
    for (size_t i = 0; i < p->value_types.len; i++)
        if (!strcmp(ignis_profile_string(p, AT(p->value_types, ignis_value_type, i).type), type))
            return (int)i;
    return -1;
}

IGNIS_API int ignis_profile_default_value(const ignis_profile *p)
{
    if (!p->value_types.len)
        return -1;
    if (p->default_sample_type) {
        int i = ignis_profile_find_value(p, ignis_profile_string(p, p->default_sample_type));
        if (i >= 0)
            return i;
    }
    return (int)p->value_types.len - 1;
}

IGNIS_API void ignis_profile_set_period(ignis_profile *p, const char *type, const char *unit, int64_t period)
{
    p->period_type.type = ignis_profile_intern(p, type);
    p->period_type.unit = ignis_profile_intern(p, unit);
    p->period = period;
}

IGNIS_API ignis_value_type ignis_profile_period_type(const ignis_profile *p)
{
    return p->period_type;
}

IGNIS_API int64_t ignis_profile_period(const ignis_profile *p)
{
    return p->period;
}

IGNIS_API void ignis_profile_set_time(ignis_profile *p, int64_t time_nanos, int64_t duration_nanos)
{
    p->time_nanos = time_nanos;
    p->duration_nanos = duration_nanos;
}

IGNIS_API int64_t ignis_profile_time_nanos(const ignis_profile *p)
{
    return p->time_nanos;
}

IGNIS_API int64_t ignis_profile_duration_nanos(const ignis_profile *p)
{
    return p->duration_nanos;
}

IGNIS_API void ignis_profile_set_default_sample_type(ignis_profile *p, const char *type)
{
    p->default_sample_type = type && *type ? ignis_profile_intern(p, type) : 0;
}

IGNIS_API uint32_t ignis_profile_default_sample_type(const ignis_profile *p)
{
    return p->default_sample_type;
}

IGNIS_API void ignis_profile_add_comment(ignis_profile *p, const char *comment)
{
    uint32_t id = ignis_profile_intern(p, comment);
    *(uint32_t *)vec_push(&p->comments, 1) = id;
}

IGNIS_API size_t ignis_profile_num_comments(const ignis_profile *p)
{
    return p->comments.len;
}

IGNIS_API uint32_t ignis_profile_comment(const ignis_profile *p, size_t i)
{
    return i < p->comments.len ? AT(p->comments, uint32_t, i) : 0;
}

IGNIS_API void ignis_profile_set_drop_keep(ignis_profile *p, const char *drop, const char *keep)
{
    p->drop_frames = ignis_profile_intern(p, drop);
    p->keep_frames = ignis_profile_intern(p, keep);
}

IGNIS_API uint32_t ignis_profile_drop_frames(const ignis_profile *p)
{
    return p->drop_frames;
}

IGNIS_API uint32_t ignis_profile_keep_frames(const ignis_profile *p)
{
    return p->keep_frames;
}

/* ---- mappings ---------------------------------------------------------- */

static int mapping_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const ignis_mapping *a = &AT(p->mappings, ignis_mapping, id - 1), *b = key;
    return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
           a->filename == b->filename && a->build_id == b->build_id &&
           a->has_functions == b->has_functions && a->has_filenames == b->has_filenames &&
           a->has_line_numbers == b->has_line_numbers && a->has_inline_frames == b->has_inline_frames;
}

static uint64_t mapping_hash(const ignis_mapping *m)
{
    uint64_t h = ig_hash_u64(0x6d6170, m->start);
    h = ig_hash_u64(h, m->limit);
    h = ig_hash_u64(h, m->offset);
    h = ig_hash_u64(h, ((uint64_t)m->filename << 32) | m->build_id);
    return ig_hash_u64(h, (uint64_t)m->has_functions | (uint64_t)m->has_filenames << 1 |
                              (uint64_t)m->has_line_numbers << 2 | (uint64_t)m->has_inline_frames << 3);
}

IGNIS_API uint32_t ignis_profile_add_mapping(ignis_profile *p, const ignis_mapping *m)
{
    ignis_mapping copy = *m;
    if (copy.filename >= p->strings.len)
        copy.filename = 0;
    if (copy.build_id >= p->strings.len)
        copy.build_id = 0;
    uint64_t h = mapping_hash(&copy);
    uint32_t id = ig_idtab_find(&p->mapping_ids, h, &copy, mapping_eq, p);
    if (id)
        return id;
    *(ignis_mapping *)vec_push(&p->mappings, 1) = copy;
    id = (uint32_t)p->mappings.len;
    ig_idtab_insert(&p->mapping_ids, h, id);
    return id;
}

IGNIS_API size_t ignis_profile_num_mappings(const ignis_profile *p)
{
    return p->mappings.len;
}

IGNIS_API const ignis_mapping *ignis_profile_mapping(const ignis_profile *p, uint32_t id)
{
    return id >= 1 && id <= p->mappings.len ? &AT(p->mappings, ignis_mapping, id - 1) : NULL;
}

IGNIS_API uint32_t ignis_profile_mapping_for(const ignis_profile *p, uint64_t addr)
{
    for (size_t i = p->mappings.len; i > 0; i--) {
        const ignis_mapping *m = &AT(p->mappings, ignis_mapping, i - 1);
        if (addr >= m->start && addr < m->limit)
            return (uint32_t)i;
    }
    return 0;
}

/* ---- functions --------------------------------------------------------- */

static int function_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const ignis_function *a = &AT(p->functions, ignis_function, id - 1), *b = key;
    return a->name == b->name && a->system_name == b->system_name && a->filename == b->filename &&
           a->start_line == b->start_line;
}

IGNIS_API uint32_t ignis_profile_add_function(ignis_profile *p, const ignis_function *f)
{
    ignis_function copy = *f;
    if (copy.name >= p->strings.len)
        copy.name = 0;
    if (copy.system_name >= p->strings.len)
        copy.system_name = 0;
    if (copy.filename >= p->strings.len)
        copy.filename = 0;
    uint64_t h = ig_hash_u64(ig_hash_u64(0x66756e, ((uint64_t)copy.name << 32) | copy.system_name),
                             ((uint64_t)copy.filename << 32) ^ (uint64_t)copy.start_line);
    uint32_t id = ig_idtab_find(&p->function_ids, h, &copy, function_eq, p);
    if (id)
        return id;
    *(ignis_function *)vec_push(&p->functions, 1) = copy;
    id = (uint32_t)p->functions.len;
    ig_idtab_insert(&p->function_ids, h, id);
    return id;
}

IGNIS_API uint32_t ignis_profile_function_named(ignis_profile *p, const char *name, const char *file,
                                                int64_t start_line)
{
    ignis_function f = {0, 0, 0, start_line};
    f.name = f.system_name = ignis_profile_intern(p, name);
    f.filename = ignis_profile_intern(p, file);
    return ignis_profile_add_function(p, &f);
}

IGNIS_API size_t ignis_profile_num_functions(const ignis_profile *p)
{
    return p->functions.len;
}

IGNIS_API const ignis_function *ignis_profile_function(const ignis_profile *p, uint32_t id)
{
    return id >= 1 && id <= p->functions.len ? &AT(p->functions, ignis_function, id - 1) : NULL;
}

/* ---- locations --------------------------------------------------------- */

static int location_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const ignis_location *a = &AT(p->locations, loc_rec, id - 1).view;
    const ignis_location *b = key;
    if (a->mapping != b->mapping || a->address != b->address || a->nlines != b->nlines ||
        a->kind != b->kind || a->is_folded != b->is_folded)
        return 0;
    const ignis_line *la = a->lines;
    for (uint32_t i = 0; i < a->nlines; i++)
        if (la[i].function != b->lines[i].function || la[i].line != b->lines[i].line ||
            la[i].column != b->lines[i].column)
            return 0;
    return 1;
}

IGNIS_API uint32_t ignis_profile_add_location(ignis_profile *p, const ignis_location *loc)
{
    if (loc->mapping > p->mappings.len || (loc->nlines && !loc->lines))
        return 0;
    uint64_t h = ig_hash_u64(ig_hash_u64(0x6c6f63, loc->address),
                             (uint64_t)loc->mapping << 8 | loc->kind | (uint64_t)loc->is_folded << 7);
    for (uint32_t i = 0; i < loc->nlines; i++) {
        if (loc->lines[i].function < 1 || loc->lines[i].function > p->functions.len)
            return 0;
        h = ig_hash_u64(h, (uint64_t)loc->lines[i].function << 40 ^ (uint64_t)loc->lines[i].line ^
                               (uint64_t)loc->lines[i].column << 24);
    }
    uint32_t id = ig_idtab_find(&p->location_ids, h, loc, location_eq, p);
    if (id)
        return id;
    ignis_location view = *loc; /* loc->lines may point into our own pool */
    uint32_t off = (uint32_t)p->lines.len;
    if (loc->nlines) {
        ignis_line tmp[8];
        ignis_line *copy = loc->nlines <= 8 ? tmp : ig_xmalloc(loc->nlines * sizeof *copy);
        memcpy(copy, loc->lines, loc->nlines * sizeof *copy);
        void *old = p->lines.data;
        memcpy(vec_push(&p->lines, loc->nlines), copy, loc->nlines * sizeof *copy);
        if (copy != tmp)
            free(copy);
        if (p->lines.data != old) /* the pool moved: re-point every view */
            for (size_t i = 0; i < p->locations.len; i++) {
                loc_rec *r = &AT(p->locations, loc_rec, i);
                if (r->view.nlines)
                    r->view.lines = &AT(p->lines, ignis_line, r->lines_off);
            }
    }
    loc_rec *r = vec_push(&p->locations, 1);
    r->view = view;
    r->lines_off = off;
    r->view.lines = view.nlines ? &AT(p->lines, ignis_line, off) : NULL;
    id = (uint32_t)p->locations.len;
    ig_idtab_insert(&p->location_ids, h, id);
    return id;
}

IGNIS_API uint32_t ignis_profile_location_for_function(ignis_profile *p, uint32_t function_id,
                                                       ignis_frame_kind kind)
{
    ignis_line line = {function_id, 0, 0};
    ignis_location loc = {0, 0, &line, 1, (uint8_t)kind, false};
    return ignis_profile_add_location(p, &loc);
}

IGNIS_API size_t ignis_profile_num_locations(const ignis_profile *p)
{
    return p->locations.len;
}

IGNIS_API const ignis_location *ignis_profile_location(const ignis_profile *p, uint32_t id)
{
    if (id < 1 || id > p->locations.len)
        return NULL;
    return &AT(p->locations, loc_rec, id - 1).view;
}

/* ---- stacks ------------------------------------------------------------ */

typedef struct ids_key {
    const void *ids;
    size_t n, elem;
} ids_key;

static int stack_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const span_rec *s = &AT(p->stacks, span_rec, id - 1);
    const ids_key *k = key;
    return s->len == k->n &&
           (k->n == 0 || !memcmp(&AT(p->stack_pool, uint32_t, s->off), k->ids, k->n * sizeof(uint32_t)));
}

/* ---- compacting: a profile done growing ---------------------------------- */

static void vec_fit(vec *v)
{
    if (v->len && v->len < v->cap)
        vec_resize(v, v->len);
}

void ig_profile_compact(ignis_profile *p)
{
    ig_idtab_free(&p->stack_ids);
    ig_idtab_free(&p->sample_ids);
    p->samples_indexed = 0;
    vec_fit(&p->stack_pool);
    vec_fit(&p->stacks);
    vec_fit(&p->samples);
    vec_fit(&p->values);
    p->compact = 1;
}

/* Two location ids per multiply, mixed hard once at the end: a stack of
 * 30 costs 15 short steps rather than 15 full mixes, on the path every
 * sample of a reader takes. */
static uint64_t stack_hash(const uint32_t *locations, size_t n)
{
    uint64_t h = 0x737461 ^ (n * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint64_t w;
        memcpy(&w, locations + i, sizeof w);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i < n)
        h = (h ^ locations[i]) * 0xff51afd7ed558ccdULL;
    return ig_hash_mix(h);
}

static uint64_t sample_hash(uint32_t stack, uint32_t labels)
{
    return ig_hash_u64(ig_hash_u64(0x736d70, stack), labels);
}

/* Adding to a compacted profile: its stack table again, from its elements
 * (the sample table comes back as lookups need it, index_samples). */
static void reindex(ignis_profile *p)
{
    p->compact = 0;
    for (size_t i = 0; i < p->stacks.len; i++) {
        const span_rec *s = &AT(p->stacks, span_rec, i);
        ig_idtab_insert(&p->stack_ids, stack_hash(&AT(p->stack_pool, uint32_t, s->off), s->len), (uint32_t)i + 1);
    }
}

/* Samples are indexed only when a lookup needs them: a sample whose stack
 * no sample had is new without a probe, so a reader whose stacks are all
 * distinct (a folded file) never builds the sample table at all, and one
 * that repeats stacks indexes what was added since its last lookup. */
static void index_samples(ignis_profile *p)
{
    for (size_t i = p->samples_indexed; i < p->samples.len; i++) {
        const sample_rec *r = &AT(p->samples, sample_rec, i);
        ig_idtab_insert(&p->sample_ids, sample_hash(r->stack, r->labels), (uint32_t)i + 1);
    }
    p->samples_indexed = p->samples.len;
}

/* ignis_profile_add_stack with the stack's hash h known. */
static uint32_t add_stack_hashed(ignis_profile *p, const uint32_t *locations, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        if (locations[i] < 1 || locations[i] > p->locations.len)
            return 0;
    ids_key k = {locations, n, sizeof(uint32_t)};
    uint32_t id = ig_idtab_find(&p->stack_ids, h, &k, stack_eq, p);
    if (id)
        return id;
    span_rec *s = vec_push(&p->stacks, 1);
    s->off = (uint32_t)p->stack_pool.len;
    s->len = (uint32_t)n;
    if (n)
        memcpy(vec_push(&p->stack_pool, n), locations, n * sizeof(uint32_t));
    id = (uint32_t)p->stacks.len;
    ig_idtab_insert(&p->stack_ids, h, id);
    return id;
}

IGNIS_API uint32_t ignis_profile_add_stack(ignis_profile *p, const uint32_t *locations, size_t n)
{
    if (p->compact)
        reindex(p);
    return add_stack_hashed(p, locations, n, stack_hash(locations, n));
}

enum { STACK_BATCH = 16 }; /* stacks hashed and prefetched at once */

void ig_profile_add_stacks(ignis_profile *p, const uint32_t *locations, const uint32_t *off, size_t n,
                           uint32_t *ids)
{
    if (p->compact)
        reindex(p);
    for (size_t b = 0; b < n; b += STACK_BATCH) {
        size_t m = n - b < STACK_BATCH ? n - b : STACK_BATCH;
        uint64_t h[STACK_BATCH];
        for (size_t k = 0; k < m; k++) {
            h[k] = stack_hash(locations + off[b + k], off[b + k + 1] - off[b + k]);
            if (p->stack_ids.cap) { /* where the lookup will start (utils/hash.c) */
                size_t slot = (uint32_t)h[k] & (p->stack_ids.cap - 1);
                __builtin_prefetch(&p->stack_ids.ids[slot]);
                __builtin_prefetch(&p->stack_ids.hashes[slot]);
            }
        }
        for (size_t k = 0; k < m; k++)
            ids[b + k] = add_stack_hashed(p, locations + off[b + k], off[b + k + 1] - off[b + k], h[k]);
    }
}

IGNIS_API size_t ignis_profile_num_stacks(const ignis_profile *p)
{
    return p->stacks.len;
}

IGNIS_API const uint32_t *ignis_profile_stack(const ignis_profile *p, uint32_t id, size_t *n)
{
    if (id < 1 || id > p->stacks.len) {
        *n = 0;
        return NULL;
    }
    const span_rec *s = &AT(p->stacks, span_rec, id - 1);
    *n = s->len;
    return s->len ? &AT(p->stack_pool, uint32_t, s->off) : NULL;
}

/* ---- labels ------------------------------------------------------------ */

static int label_cmp(const void *a, const void *b)
{
    const ignis_label *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->str != y->str)
        return x->str < y->str ? -1 : 1;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    return x->num_unit < y->num_unit ? -1 : x->num_unit > y->num_unit;
}

static int labelset_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const span_rec *s = &AT(p->labelsets, span_rec, id - 1);
    const ids_key *k = key;
    if (s->len != k->n)
        return 0;
    const ignis_label *a = &AT(p->label_pool, ignis_label, s->off);
    for (size_t i = 0; i < k->n; i++)
        if (label_cmp(&a[i], (const ignis_label *)k->ids + i))
            return 0;
    return 1;
}

IGNIS_API uint32_t ignis_profile_add_labels(ignis_profile *p, const ignis_label *labels, size_t n)
{
    if (!n)
        return 0;
    ignis_label stackbuf[16];
    ignis_label *sorted = n <= 16 ? stackbuf : ig_xmalloc(n * sizeof *sorted);
    memcpy(sorted, labels, n * sizeof *sorted);
    for (size_t i = 0; i < n; i++) {
        if (sorted[i].key >= p->strings.len)
            sorted[i].key = 0;
        if (sorted[i].str >= p->strings.len)
            sorted[i].str = 0;
        if (sorted[i].num_unit >= p->strings.len)
            sorted[i].num_unit = 0;
    }
    qsort(sorted, n, sizeof *sorted, label_cmp);
    uint64_t h = 0x6c6162;
    for (size_t i = 0; i < n; i++)
        h = ig_hash_u64(ig_hash_u64(h, (uint64_t)sorted[i].key << 32 | sorted[i].str),
                        (uint64_t)sorted[i].num ^ (uint64_t)sorted[i].num_unit << 48);
    ids_key k = {sorted, n, sizeof(ignis_label)};
    uint32_t id = ig_idtab_find(&p->labelset_ids, h, &k, labelset_eq, p);
    if (!id) {
        span_rec *s = vec_push(&p->labelsets, 1);
        s->off = (uint32_t)p->label_pool.len;
        s->len = (uint32_t)n;
        memcpy(vec_push(&p->label_pool, n), sorted, n * sizeof *sorted);
        id = (uint32_t)p->labelsets.len;
        ig_idtab_insert(&p->labelset_ids, h, id);
    }
    if (sorted != stackbuf)
        free(sorted);
    return id;
}

IGNIS_API const ignis_label *ignis_profile_labels(const ignis_profile *p, uint32_t id, size_t *n)
{
    if (id < 1 || id > p->labelsets.len) {
        *n = 0;
        return NULL;
    }
    const span_rec *s = &AT(p->labelsets, span_rec, id - 1);
    *n = s->len;
    return &AT(p->label_pool, ignis_label, s->off);
}

static const ignis_label *find_label(const ignis_profile *p, uint32_t labels, const char *key)
{
    size_t n;
    const ignis_label *l = ignis_profile_labels(p, labels, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ignis_profile_string(p, l[i].key), key))
            return &l[i];
    return NULL;
}

IGNIS_API const char *ignis_profile_label_str(const ignis_profile *p, uint32_t labels, const char *key)
{
    const ignis_label *l = find_label(p, labels, key);
    return l && l->str ? ignis_profile_string(p, l->str) : NULL;
}

IGNIS_API bool ignis_profile_label_num(const ignis_profile *p, uint32_t labels, const char *key, int64_t *out)
{
    const ignis_label *l = find_label(p, labels, key);
    if (!l || l->str)
        return false;
    *out = l->num;
    return true;
}

/* ---- samples ----------------------------------------------------------- */

static int sample_eq(const void *ctx, uint32_t id, const void *key)
{
    const ignis_profile *p = ctx;
    const sample_rec *a = &AT(p->samples, sample_rec, id - 1), *b = key;
    return a->stack == b->stack && a->labels == b->labels;
}

IGNIS_API int ignis_profile_add_sample(ignis_profile *p, uint32_t stack, uint32_t labels, const int64_t *values)
{
    size_t nv = p->value_types.len;
    if (!nv || stack < 1 || stack > p->stacks.len || labels > p->labelsets.len)
        return -1;
    if (p->compact)
        reindex(p);
    sample_rec key = {stack, labels};
    uint32_t id = 0;
    if (stack <= p->max_sample_stack) { /* a stack no sample has yet (a reader's fresh stack) needs no probe */
        index_samples(p);
        id = ig_idtab_find(&p->sample_ids, sample_hash(stack, labels), &key, sample_eq, p);
    }
    int64_t *v;
    if (id) {
        v = &AT(p->values, int64_t, (size_t)(id - 1) * nv);
    } else { /* indexed by the next lookup */
        *(sample_rec *)vec_push(&p->samples, 1) = key;
        v = vec_push(&p->values, nv);
        memset(v, 0, nv * sizeof *v);
        if (stack > p->max_sample_stack)
            p->max_sample_stack = stack;
    }
    for (size_t i = 0; i < nv; i++)
        v[i] = ig_sat_add(v[i], values[i]); /* clamps, never wraps */
    return 0;
}

IGNIS_API size_t ignis_profile_num_samples(const ignis_profile *p)
{
    return p->samples.len;
}

IGNIS_API ignis_sample ignis_profile_sample(const ignis_profile *p, size_t i)
{
    ignis_sample s = {0, 0, NULL};
    if (i >= p->samples.len)
        return s;
    const sample_rec *r = &AT(p->samples, sample_rec, i);
    s.stack = r->stack;
    s.labels = r->labels;
    s.values = &AT(p->values, int64_t, i * p->value_types.len);
    return s;
}

IGNIS_API int64_t ignis_profile_total(const ignis_profile *p, size_t vi)
{
    size_t nv = p->value_types.len;
    if (vi >= nv)
        return 0;
    int64_t t = 0;
    for (size_t i = 0; i < p->samples.len; i++)
        t = ig_sat_add(t, AT(p->values, int64_t, i * nv + vi));
    return t;
}

/* ---- naming ------------------------------------------------------------ */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

IGNIS_API const char *ignis_profile_frame_name(const ignis_profile *p, uint32_t loc_id, uint32_t li,
                                               char *buf, size_t size)
{
    if (!size)
        return buf;
    buf[0] = '\0';
    if (loc_id < 1 || loc_id > p->locations.len)
        return buf;
    const ignis_location *r = &AT(p->locations, loc_rec, loc_id - 1).view;
    if (li < r->nlines) {
        const ignis_line *l = &r->lines[li];
        const ignis_function *f = ignis_profile_function(p, l->function);
        if (f && (f->name || f->system_name)) {
            snprintf(buf, size, "%s", ignis_profile_string(p, f->name ? f->name : f->system_name));
            return buf;
        }
    }
    const ignis_mapping *m = ignis_profile_mapping(p, r->mapping);
    if (m && m->filename) {
        uint64_t off = r->address - m->start + m->offset;
        snprintf(buf, size, "%s+0x%llx", base_name(ignis_profile_string(p, m->filename)),
                 (unsigned long long)off);
    } else {
        snprintf(buf, size, "0x%llx", (unsigned long long)r->address);
    }
    return buf;
}
