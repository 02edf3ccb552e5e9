/*
 * libtrace/span.c — span lifecycle, attributes, events, links and limits.
 *
 * ignis_span_start takes a block from the thread cache, resolves the parent
 * (current stack top, explicit span, context, or none), draws ids from the
 * thread's wyrand generator and asks the sampler.  An unsampled span (no
 * keep-errors mode) stops there: it carries only its span context and costs
 * a few nanoseconds.  A recording span also fills the export record
 * (ig_span_data) that lives at the head of the block; names, keys and
 * values are copied into the block's bump arena, so a typical span costs
 * no malloc at all.  Ending a span hands the block to the processor (the
 * provider's callback processors see it first, synchronously).
 *
 * Setting an attribute has a fast path (the setters for one scalar or
 * string): eight attribute slots are reserved when a recording span
 * starts, a 64-bit mask of key hashes proves most keys new without
 * scanning, and key and value are copied with one arena bump and inlined
 * fixed-size moves.  Anything else — a key whose mask bit is set (maybe a
 * replacement), the count or length limit, a full array or arena — takes
 * the general path, which keeps the mask and the fast-path bound current.
 *
 * Limits are applied as values arrive: beyond the attribute/event/link
 * count limits new entries are dropped and counted in the record's
 * dropped_* fields; strings are cut to the value length limit at a UTF-8
 * character boundary.  Setting an existing attribute key replaces it.
 */
#include "libtrace/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------ */

static void *arena_alloc_slow(ignis_span *s, size_t n)
{
    size_t size = n > 2048 ? n : 4096;
    ig_chunk *c = malloc(sizeof *c + size);
    if (!c)
        abort();
    c->next = s->chunks;
    s->chunks = c;
    if (n > 2048)
        return c->data;
    s->ap = c->data + n;
    s->aend = c->data + size;
    return c->data;
}

static inline void *arena_alloc(ignis_span *s, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (IG_LIKELY((size_t)(s->aend - s->ap) >= n)) {
        void *p = s->ap;
        s->ap += n;
        return p;
    }
    return arena_alloc_slow(s, n);
}

/* Copies n bytes (1..32) with at most four fixed-size moves, which the
 * compiler inlines; short keys, values and names are the common case. */
static inline __attribute__((always_inline)) void copy_small(char *d, const char *src, size_t n)
{
    if (n >= 16) {
        memcpy(d, src, 16);
        memcpy(d + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, src, 8);
        memcpy(d + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, src, 4);
        memcpy(d + n - 4, src + n - 4, 4);
    } else {
        d[0] = src[0];
        d[n / 2] = src[n / 2];
        d[n - 1] = src[n - 1];
    }
}

/* Copies str[0..n) and a NUL to d. */
static inline __attribute__((always_inline)) void copy_str(char *d, const char *str, size_t n)
{
    if (n < 32 && str[n] == '\0') {
        copy_small(d, str, n + 1);
        return;
    }
    memcpy(d, str, n);
    d[n] = '\0';
}

static char *arena_strndup(ignis_span *s, const char *str, size_t n)
{
    char *p = arena_alloc(s, n + 1);
    copy_str(p, str, n);
    return p;
}

static char *arena_strdup(ignis_span *s, const char *str) { return arena_strndup(s, str, strlen(str)); }

/* Length of str cut to `limit` bytes at a UTF-8 character boundary. */
static size_t utf8_cut(const char *str, size_t len, int limit)
{
    if (limit < 0 || len <= (size_t)limit)
        return len;
    size_t cut = (size_t)limit;
    while (cut > 0 && ((unsigned char)str[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

void ig_span_free_chunks(ignis_span *s)
{
    for (ig_chunk *c = s->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    s->chunks = NULL;
}

void ig_span_free(ignis_span *s)
{
    ig_span_free_chunks(s);
    ig_span_block_free(s);
}

bool ig_span_unref_last(ignis_span *s)
{
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        ig_span_free_chunks(s);
        return true;
    }
    return false;
}

/* ---- attributes --------------------------------------------------------------- */

void ig_attr_copy_value(ig_attr *d, const ignis_attribute *a, int vlimit, ig_alloc_fn *alloc, void *ctx)
{
    d->type = (uint8_t)a->type;
    switch (a->type) {
    case IGNIS_ATTR_STRING: {
        const char *v = a->v.s ? a->v.s : "";
        size_t n = utf8_cut(v, strlen(v), vlimit);
        char *p = alloc(ctx, n + 1);
        copy_str(p, v, n);
        d->v.s = p;
        d->len = (uint32_t)n;
        return;
    }
    case IGNIS_ATTR_BOOL: d->v.b = a->v.b; return;
    case IGNIS_ATTR_INT: d->v.i = a->v.i; return;
    case IGNIS_ATTR_DOUBLE: d->v.d = a->v.d; return;
    case IGNIS_ATTR_STRING_ARRAY: {
        size_t len = a->v.sa ? a->len : 0; /* no array: an empty one, whatever len says */
        const char **sa = alloc(ctx, (len + 1) * sizeof *sa);
        for (size_t i = 0; i < len; i++) {
            const char *v = a->v.sa[i] ? a->v.sa[i] : "";
            size_t n = utf8_cut(v, strlen(v), vlimit);
            char *p = alloc(ctx, n + 1);
            copy_str(p, v, n);
            sa[i] = p;
        }
        sa[len] = NULL;
        d->v.sa = sa;
        d->len = (uint32_t)len;
        return;
    }
    case IGNIS_ATTR_BOOL_ARRAY:
    case IGNIS_ATTR_INT_ARRAY:
    case IGNIS_ATTR_DOUBLE_ARRAY: {
        size_t es = a->type == IGNIS_ATTR_BOOL_ARRAY ? sizeof(bool) : 8;
        size_t len = a->v.ia ? a->len : 0;
        void *p = alloc(ctx, len * es + 1);
        if (len)
            memcpy(p, a->v.ia, len * es);
        d->v.ia = p;
        d->len = (uint32_t)len;
        return;
    }
    }
}

static void *arena_alloc_cb(void *span, size_t n) { return arena_alloc(span, n); }

static void copy_value(ignis_span *s, ig_attr *d, const ignis_attribute *a, int vlimit)
{
    ig_attr_copy_value(d, a, vlimit, arena_alloc_cb, s);
}

/* Appends or replaces attribute `a` in a growable arena array. */
static void put_attr(ignis_span *s, ig_attr **arr, uint32_t *n, uint32_t *cap, uint32_t *dropped, int limit,
                     const ignis_attribute *a)
{
    if (!a->key || !*a->key || (unsigned)a->type > IGNIS_ATTR_DOUBLE_ARRAY)
        return;
    ig_attr *v = *arr;
    size_t kl = strlen(a->key);
    uint16_t kl16 = kl < 0xffff ? (uint16_t)kl : 0xffff;
    for (uint32_t i = 0; i < *n; i++)
        if (v[i].key_len == kl16 && (kl16 < 0xffff ? memcmp(v[i].key, a->key, kl) == 0 : strcmp(v[i].key, a->key) == 0)) {
            copy_value(s, &v[i], a, s->tracer->tp->limits.attribute_value_length);
            return;
        }
    if (limit >= 0 && *n >= (uint32_t)limit) {
        (*dropped)++;
        return;
    }
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        ig_attr *na = arena_alloc(s, nc * sizeof *na);
        if (*n)
            memcpy(na, v, *n * sizeof *na);
        *arr = v = na;
        *cap = nc;
    }
    ig_attr *d = &v[(*n)++];
    d->key = arena_strndup(s, a->key, kl);
    d->key_len = kl16;
    d->len = 0;
    copy_value(s, d, a, s->tracer->tp->limits.attribute_value_length);
}

static inline bool writable(const ignis_span *s)
{
    return s && (s->st & (IG_SPAN_RECORDING | IG_SPAN_ENDED)) == IG_SPAN_RECORDING;
}

/* Key hash bit for the span's key mask (kl > 0). */
static inline uint64_t key_bit(const char *key, size_t kl)
{
    return 1ull << ((kl * 7 + (unsigned char)key[kl - 1] + (unsigned char)key[0]) & 63);
}

/* The general path: replaces, drops over the limit, grows the array. */
static void span_put(ignis_span *s, const ignis_attribute *a)
{
    int limit = s->tracer->tp->limits.attribute_count;
    put_attr(s, (ig_attr **)&s->d.attrs, &s->d.nattrs, &s->attr_cap, &s->d.dropped_attrs, limit, a);
    s->attr_fast = limit >= 0 && (uint32_t)limit < s->attr_cap ? (uint32_t)limit : s->attr_cap;
    if (a->key && *a->key)
        s->keymask |= key_bit(a->key, strlen(a->key));
}

/* The fast path of adding an attribute: a key not set before (its mask
 * bit is clear), a free slot below the count limit and room in the arena
 * for the key and `extra` bytes of value.  Copies the key and returns the
 * slot (value at slot->key + round8(kl + 1)), or NULL for span_put. */
static inline __attribute__((always_inline)) ig_attr *fast_slot(ignis_span *s, const char *key, size_t kl, size_t extra)
{
    uint32_t n = s->d.nattrs;
    if (IG_UNLIKELY(n >= s->attr_fast || kl - 1 >= 0xfffe))
        return NULL;
    uint64_t bit = key_bit(key, kl);
    size_t kspace = (kl + 8) & ~(size_t)7;
    if ((s->keymask & bit) || (size_t)(s->aend - s->ap) < kspace + extra)
        return NULL;
    char *p = s->ap;
    s->ap = p + kspace + extra;
    copy_str(p, key, kl);
    ig_attr *d = (ig_attr *)&s->d.attrs[n];
    d->key = p;
    d->key_len = (uint16_t)kl;
    s->keymask |= bit;
    s->d.nattrs = n + 1;
    return d;
}

static inline bool put_scalar_fast(ignis_span *s, const char *key, uint8_t type, uint64_t bits)
{
    ig_attr *d = fast_slot(s, key, key ? strlen(key) : 0, 0);
    if (!d)
        return false;
    d->type = type;
    d->len = 0;
    memcpy(&d->v, &bits, sizeof bits);
    return true;
}

/* Builds an exactly-sized attribute array (events, links). */
static const ig_attr *attr_list(ignis_span *s, const ignis_attribute *a, size_t n, int limit, uint32_t *count,
                                uint32_t *dropped)
{
    ig_attr *arr = NULL;
    uint32_t cap = 0;
    *count = *dropped = 0;
    if (n == 0 || !a) /* no array: nothing, whatever n says */
        return NULL;
    size_t want = limit >= 0 && (size_t)limit < n ? (size_t)limit : n;
    if (want) {
        arr = arena_alloc(s, want * sizeof *arr);
        cap = (uint32_t)want;
    }
    for (size_t i = 0; i < n; i++)
        put_attr(s, &arr, count, &cap, dropped, limit, &a[i]);
    return arr;
}

void ignis_span_set_attributes(ignis_span *s, const ignis_attribute *attrs, size_t n)
{
    if (!writable(s) || !attrs)
        return;
    for (size_t i = 0; i < n; i++)
        span_put(s, &attrs[i]);
}

void ignis_span_set_string(ignis_span *s, const char *key, const char *value)
{
    if (!writable(s))
        return;
    if (key && value) {
        size_t kl = strlen(key), vl = strlen(value);
        ig_attr *d = vl <= s->vlimit ? fast_slot(s, key, kl, (vl + 8) & ~(size_t)7) : NULL;
        if (IG_LIKELY(d != NULL)) {
            char *v = (char *)d->key + ((kl + 8) & ~(size_t)7);
            copy_str(v, value, vl);
            d->type = IG_ATTR_STRING;
            d->len = (uint32_t)vl;
            d->v.s = v;
            return;
        }
    }
    span_put(s, &IGNIS_ATTR_STR(key, value));
}

void ignis_span_set_int(ignis_span *s, const char *key, int64_t value)
{
    if (writable(s) && !put_scalar_fast(s, key, IG_ATTR_INT, (uint64_t)value))
        span_put(s, &IGNIS_ATTR_I64(key, value));
}

void ignis_span_set_double(ignis_span *s, const char *key, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    if (writable(s) && !put_scalar_fast(s, key, IG_ATTR_DOUBLE, bits))
        span_put(s, &IGNIS_ATTR_F64(key, value));
}

void ignis_span_set_bool(ignis_span *s, const char *key, bool value)
{
    if (!writable(s))
        return;
    ig_attr *d = fast_slot(s, key, key ? strlen(key) : 0, 0);
    if (d) {
        d->type = IG_ATTR_BOOL;
        d->len = 0;
        d->v.i = 0;
        d->v.b = value;
        return;
    }
    span_put(s, &IGNIS_ATTR_BOOL(key, value));
}

#define ARRAY_SETTER(fn, T, TYPE, field)                                                          \
    void fn(ignis_span *s, const char *key, const T *v, size_t n)                                 \
    {                                                                                             \
        if (writable(s))                                                                          \
            span_put(s, &(ignis_attribute){.key = key, .type = TYPE, .len = n, .v.field = v});    \
    }
ARRAY_SETTER(ignis_span_set_int_array, int64_t, IGNIS_ATTR_INT_ARRAY, ia)
ARRAY_SETTER(ignis_span_set_double_array, double, IGNIS_ATTR_DOUBLE_ARRAY, da)
ARRAY_SETTER(ignis_span_set_bool_array, bool, IGNIS_ATTR_BOOL_ARRAY, ba)

void ignis_span_set_string_array(ignis_span *s, const char *key, const char *const *v, size_t n)
{
    if (writable(s))
        span_put(s, &(ignis_attribute){.key = key, .type = IGNIS_ATTR_STRING_ARRAY, .len = n, .v.sa = v});
}

/* ---- events, links, status, name ------------------------------------------------ */

/* A full arena array of n elements of `size` bytes, moved to one twice as
 * large (4 to start with); old space stays in the arena until the span ends. */
static void *arena_grow(ignis_span *s, const void *old, uint32_t n, uint32_t *cap, size_t size)
{
    uint32_t nc = *cap ? *cap * 2 : 4;
    void *p = arena_alloc(s, nc * size);
    if (n)
        memcpy(p, old, n * size);
    *cap = nc;
    return p;
}

void ignis_span_add_event(ignis_span *s, const char *name, const ignis_attribute *attrs, size_t n,
                          uint64_t time_ns)
{
    if (!writable(s))
        return;
    const ignis_span_limits *lim = &s->tracer->tp->limits;
    if (lim->event_count >= 0 && s->d.nevents >= (uint32_t)lim->event_count) {
        s->d.dropped_events++;
        return;
    }
    if (s->d.nevents == s->event_cap)
        s->d.events = arena_grow(s, s->d.events, s->d.nevents, &s->event_cap, sizeof(ig_event));
    ig_event *e = (ig_event *)&s->d.events[s->d.nevents++];
    e->name = arena_strdup(s, name ? name : "");
    e->time_ns = time_ns ? time_ns : ig_now_ns();
    e->attrs = attr_list(s, attrs, n, lim->event_attribute_count, &e->nattrs, &e->dropped_attrs);
}

void ignis_span_record_exception(ignis_span *s, const char *type, const char *message, const char *stacktrace,
                                 const ignis_attribute *attrs, size_t n)
{
    if (!writable(s))
        return;
    ignis_attribute a[3 + 64];
    size_t k = 0;
    if (type)
        a[k++] = IGNIS_ATTR_STR("exception.type", type);
    if (message)
        a[k++] = IGNIS_ATTR_STR("exception.message", message);
    if (stacktrace)
        a[k++] = IGNIS_ATTR_STR("exception.stacktrace", stacktrace);
    for (size_t i = 0; attrs && i < n && k < sizeof a / sizeof *a; i++)
        a[k++] = attrs[i];
    ignis_span_add_event(s, "exception", a, k, 0);
}

static void add_link(ignis_span *s, const ignis_link *l)
{
    const ignis_span_limits *lim = &s->tracer->tp->limits;
    if (!l || !ignis_span_context_is_valid(&l->context))
        return;
    if (lim->link_count >= 0 && s->d.nlinks >= (uint32_t)lim->link_count) {
        s->d.dropped_links++;
        return;
    }
    if (s->d.nlinks == s->link_cap)
        s->d.links = arena_grow(s, s->d.links, s->d.nlinks, &s->link_cap, sizeof(ig_link));
    ig_link *d = (ig_link *)&s->d.links[s->d.nlinks++];
    memcpy(d->trace_id, l->context.trace_id, 16);
    memcpy(d->span_id, l->context.span_id, 8);
    d->flags = l->context.trace_flags;
    d->tracestate = l->context.tracestate && *l->context.tracestate ? arena_strdup(s, l->context.tracestate) : NULL;
    d->attrs = attr_list(s, l->attrs, l->nattrs, lim->link_attribute_count, &d->nattrs, &d->dropped_attrs);
}

void ignis_span_add_link(ignis_span *s, const ignis_link *link)
{
    if (writable(s))
        add_link(s, link);
}

void ignis_span_set_status(ignis_span *s, ignis_status_code code, const char *description)
{
    if (!writable(s) || code == IGNIS_STATUS_UNSET || s->d.status_code == IG_STATUS_OK)
        return;
    if (code == IGNIS_STATUS_OK) {
        s->d.status_code = IG_STATUS_OK;
        s->d.status_message = NULL;
    } else if (code == IGNIS_STATUS_ERROR) {
        s->d.status_code = IG_STATUS_ERROR;
        s->d.status_message = description && *description ? arena_strdup(s, description) : NULL;
    }
}

void ignis_span_update_name(ignis_span *s, const char *name)
{
    if (!writable(s))
        return;
    name = name ? name : "";
    size_t nl = strlen(name);
    s->d.name = arena_strndup(s, name, nl);
    s->pub_name_len = (uint32_t)utf8_cut(name, nl, IG_TCTX_NAME_MAX); /* published at the next scope change */
}

/* ---- context accessors -------------------------------------------------------- */

bool ignis_span_is_recording(const ignis_span *s) { return writable(s); }

void ignis_span_get_context(const ignis_span *s, ignis_span_context *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    memcpy(out->trace_id, s->d.trace_id, 16);
    memcpy(out->span_id, s->d.span_id, 8);
    out->trace_flags = s->d.flags;
    out->tracestate = s->d.tracestate;
}

bool ignis_span_context_is_valid(const ignis_span_context *sc)
{
    return sc && !ig_all_zero(sc->trace_id, 16) && !ig_all_zero(sc->span_id, 8);
}

ignis_span *ignis_span_retain(ignis_span *s) { return s ? ig_span_ref(s) : NULL; }

void ignis_span_release(ignis_span *s)
{
    if (s)
        ig_span_unref(s);
}

/* ---- start / end ---------------------------------------------------------------- */

static void resolve_parent(const ignis_span_options *o, ig_sc *p)
{
    if (!o || o->parent_mode == IGNIS_PARENT_CURRENT) {
        ig_current_sc(p);
    } else if (o->parent_mode == IGNIS_PARENT_SPAN && o->parent_span) {
        ig_span_sc(o->parent_span, p);
    } else if (o->parent_mode == IGNIS_PARENT_CONTEXT && o->parent_context) {
        ig_context_sc(o->parent_context, p);
    } else {
        p->valid = false;
    }
}

static void new_ids(ig_tcache *tc, ignis_span *s, const ig_sc *p)
{
    if (p->valid) {
        memcpy(s->d.trace_id, p->trace_id, 16);
    } else {
        uint64_t a, b;
        do {
            a = ig_rand64(tc);
            b = ig_rand64(tc);
        } while (!(a | b));
        memcpy(s->d.trace_id, &a, 8);
        memcpy(s->d.trace_id + 8, &b, 8);
    }
    uint64_t id;
    do
        id = ig_rand64(tc);
    while (!id);
    memcpy(s->d.span_id, &id, 8);
}

enum { IG_SPAN_COUNTED = 1 << 3 };

/* Attribute slots reserved in the arena when a recording span starts. */
#define IG_ATTR_PREALLOC 8

/* thread.id and thread.name (semantic conventions: the OS thread id, so
 * that a profiler can join samples to spans by thread and time) from the
 * thread cache; the name is interned there, so no copy is made.  Set
 * before the application's attributes, which may replace them. */
static inline void put_thread_attrs(ignis_span *s, const ig_tcache *tc)
{
    if (IG_LIKELY(tc->thread_name_len <= s->vlimit)) {
        memcpy((ig_attr *)s->d.attrs, tc->thread_attrs, sizeof tc->thread_attrs);
        s->keymask = tc->thread_keymask;
        s->d.nattrs = tc->nthread_attrs;
        return;
    }
    memcpy((ig_attr *)s->d.attrs, tc->thread_attrs, sizeof(ig_attr));
    s->keymask = tc->thread_keymask & ~key_bit("thread.name", 11);
    s->d.nattrs = 1;
    span_put(s, &IGNIS_ATTR_STR("thread.name", tc->thread_name)); /* cut to the value length limit */
}

static inline ignis_span *start_recording(ignis_span *s, ig_tcache *tc, ignis_tracer *t, const ig_sc *p,
                                          const char *name, const ignis_span_options *o);

ignis_span *ignis_span_start(ignis_tracer *t, const char *name, const ignis_span_options *o)
{
    ig_tcache *tc = ig_tcache_get();
    ignis_span *s = ig_span_block_alloc(tc);
    if (IG_UNLIKELY(!s))
        return NULL;
    atomic_store_explicit(&s->refs, 1, memory_order_relaxed);
    s->tracer = t;
    s->chunks = NULL;
    s->ap = s->arena;
    s->aend = (char *)s + IG_SPAN_BLOCK;
    s->pub_name_len = 0; /* a name is published for recording spans only (start_recording) */
    ig_sc p; /* resolve_parent sets valid, and the rest when valid */
    resolve_parent(o, &p);
    new_ids(tc, s, &p);
    s->d.tracestate = p.valid && p.tracestate ? arena_strdup(s, p.tracestate) : NULL;
    ignis_tracer_provider *tp = t ? t->tp : NULL;
    if (IG_UNLIKELY(!tp || tp->disabled || atomic_load_explicit(&tp->shut, memory_order_relaxed))) {
        s->d.flags = p.valid ? (p.flags & IGNIS_TRACE_FLAG_SAMPLED) : 0;
        s->st = 0;
        return s;
    }
    ig_stripe *stripe = &tp->stripes[tc->stripe];
    s->fork_gen = ig_fork_gen;
    ig_count(tc, &stripe->started);
    bool sampled = ig_sampler_should_sample(&tp->sampler, s->d.trace_id, p.valid, p.valid && p.remote,
                                            p.valid && (p.flags & IGNIS_TRACE_FLAG_SAMPLED));
    s->d.flags = sampled ? IGNIS_TRACE_FLAG_SAMPLED : 0;
    if (!sampled && !tp->keep_errors) {
        s->st = IG_SPAN_COUNTED;
        return s;
    }
    if (sampled)
        ig_count(tc, &stripe->sampled);
    ig_span_block_prefetch_next(tc);
    s->st = IG_SPAN_COUNTED | IG_SPAN_RECORDING | (sampled ? IG_SPAN_SAMPLED : 0);
    return start_recording(s, tc, t, &p, name, o);
}

/* Fills the export record of a span that records (inlined: a call here
 * costs the sampled path more than its registers cost the other). */
static inline ignis_span *start_recording(ignis_span *s, ig_tcache *tc, ignis_tracer *t, const ig_sc *p,
                                          const char *name, const ignis_span_options *o)
{
    ignis_tracer_provider *tp = t->tp;
    s->d.resource = &tp->resource;
    s->d.scope = &t->scope;
    s->d.has_parent = p->valid;
    s->d.parent_is_remote = p->valid && p->remote;
    if (p->valid)
        memcpy(s->d.parent_span_id, p->span_id, 8);
    else
        memset(s->d.parent_span_id, 0, 8);
    name = name ? name : "";
    size_t nl = strlen(name);
    s->d.name = arena_strndup(s, name, nl);
    s->pub_name_len = (uint32_t)utf8_cut(name, nl, IG_TCTX_NAME_MAX);
    int kind = o ? (int)o->kind : 0;
    s->d.kind = kind >= IG_KIND_INTERNAL && kind <= IG_KIND_CONSUMER ? (uint8_t)kind : IG_KIND_INTERNAL;
    s->d.start_ns = o && o->start_time_ns ? o->start_time_ns : ig_now_ns();
    s->d.end_ns = 0;
    s->d.attrs = arena_alloc(s, IG_ATTR_PREALLOC * sizeof(ig_attr));
    s->d.nattrs = s->d.dropped_attrs = 0;
    s->d.events = NULL;
    s->d.nevents = s->d.dropped_events = 0;
    s->d.links = NULL;
    s->d.nlinks = s->d.dropped_links = 0;
    s->d.status_code = IG_STATUS_UNSET;
    s->d.status_message = NULL;
    s->attr_cap = IG_ATTR_PREALLOC;
    s->event_cap = s->link_cap = 0;
    int climit = tp->limits.attribute_count, vlimit = tp->limits.attribute_value_length;
    s->attr_fast = climit >= 0 && climit < IG_ATTR_PREALLOC ? (uint32_t)climit : IG_ATTR_PREALLOC;
    s->vlimit = vlimit >= 0 ? (uint32_t)vlimit : UINT32_MAX;
    s->keymask = 0;
    if (IG_LIKELY(tp->thread_attrs)) /* off when the count limit leaves no room for both */
        put_thread_attrs(s, tc);
    if (o) {
        for (size_t i = 0; i < o->nattrs; i++)
            span_put(s, &o->attrs[i]);
        for (size_t i = 0; i < o->nlinks; i++)
            add_link(s, &o->links[i]);
    }
    if (IG_UNLIKELY(tp->start_hooks))
        ig_provider_run_start_hooks(tp, s, p);
    return s;
}

/* Ends a recording span and hands it on (apart from ignis_span_end, so
 * that the non-recording path stays short). */
static __attribute__((noinline)) void end_recording(ignis_span *s, ig_tcache *tc, uint8_t st, uint64_t end_time_ns)
{
    ignis_tracer_provider *tp = s->tracer->tp;
    s->d.end_ns = end_time_ns ? end_time_ns : ig_now_ns();
    if (s->d.end_ns < s->d.start_ns)
        s->d.end_ns = s->d.start_ns;
    bool export = st & IG_SPAN_SAMPLED;
    if (!export && s->d.status_code == IG_STATUS_ERROR) {
        export = true;
        ig_count(tc, &tp->stripes[tc->stripe].kept);
    }
    if (IG_UNLIKELY(tp->nhooks))
        ig_provider_run_end_hooks(tp, s);
    if (!export) {
        ig_span_unref(s);
    } else if (IG_UNLIKELY(atomic_load_explicit(&tp->shut, memory_order_relaxed))) {
        if (tp->nqueues || !tp->nhooks)
            atomic_fetch_add(&tp->dropped_late, 1); /* ended after shutdown began */
        ig_span_unref(s);
    } else if (IG_LIKELY(tp->nqueues == 1)) {
        ig_processor_on_end(tp->queues[0], s);
    } else {
        ig_provider_dispatch(tp, tc, s);
    }
}

/* A second ignis_span_end of a span still alive (queued for export, or
 * held by ignis_span_retain): the OpenTelemetry rule is that later calls
 * to End are ignored.  Dropping the reference again would free the span
 * while its exporter or holder still uses it, and the pool would hand the
 * same memory to a new span (two exported spans with one id, one lost).
 * So nothing is dropped; the first such call in the process is logged.
 * (A span already freed and reused cannot be told apart: ending a
 * handle twice stays a caller bug, as freeing twice is.) */
static __attribute__((noinline, cold)) void ended_again(void)
{
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true))
        ig_tlog(IGNIS_LOG_WARN, "ignis_span_end called again on an ended span (ignored: end consumes the "
                                "handle; hold one with ignis_span_retain to use it after its end)");
}

void ignis_span_end(ignis_span *s, uint64_t end_time_ns)
{
    if (IG_UNLIKELY(!s))
        return;
    ig_tcache *own = ig_tls_cache;
    if (own && own->parked == s)
        ig_span_unpark(own, s); /* its scope ended here: that reference goes without an atomic RMW */
    uint8_t st = s->st;
    if (IG_UNLIKELY(st & IG_SPAN_ENDED)) {
        ended_again();
        return;
    }
    s->st = st | IG_SPAN_ENDED;
    if (IG_UNLIKELY((st & IG_SPAN_COUNTED) && s->fork_gen != ig_fork_gen))
        st = 0; /* a fork child's copy of its parent's span: the parent counts and exports it */
    if (st & IG_SPAN_COUNTED) {
        ig_tcache *tc = ig_tcache_get();
        ig_count(tc, &s->tracer->tp->stripes[tc->stripe].ended);
        if (st & IG_SPAN_RECORDING)
            return end_recording(s, tc, st, end_time_ns);
    }
    ig_span_unref(s);
}
