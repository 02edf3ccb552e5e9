/*
 * exporters/folded.c — folded stacks (Brendan Gregg's FlameGraph format).
 *
 * One line per stack: frames root first joined by ';', then the count after
 * the LAST space.  '#' lines and blank lines are ignored.  A profile
 * without samples is written as an empty file, and an empty input reads
 * back as a profile without samples (formats.c hands it over only when
 * the name or the format asked for says folded); text without a stack is
 * an error.  A frame name may
 * end in an annotation: "_[k]" kernel, "_[j]" JIT, "_[i]" inlined.  An
 * inlined frame is a callee inlined into the frame before it, so a run
 * "caller;a_[i];b_[i]" becomes ONE location whose lines are b, a, caller
 * (innermost first) — exactly how pprof and the model store inlining.
 *
 * Counts.  Integers are stored exactly as ("samples", "count").  A file
 * with fractional counts is stored scaled to integers: if the longest
 * fraction has d significant decimals the whole file is read with scale
 * 10^3, 10^6 or 10^9 (the smallest that holds d; more than 9 decimals is
 * an error) and the value unit says so: "milli-count", "micro-count",
 * "nano-count".  The writer prints such values back as decimals, so a
 * fractional file round-trips exactly.  The reader starts with scale 1 and
 * restarts from the top the first time a count needs a finer scale, so an
 * integer file is read in a single pass.
 *
 * Speed.  The reader never copies a line: it walks the buffer with memchr,
 * and caches frame groups (a physical frame plus its inlined callees) by
 * their bytes in a private hash table, so each distinct group is interned
 * in the model once; on a big profile those lookups are cache misses, so
 * a line's frames are hashed in batches whose slots are prefetched first,
 * and stacks go into the model in batches too (profile/batch.h).
 * Consecutive lines of sorted files share long
 * prefixes; the location ids of the shared prefix are reused from the
 * previous line without hashing at all.  Files of 1 MB and more are
 * tokenised by two threads in chunks, merged in file order as soon as
 * each is ready (see "reading in two threads" below), so the model is the
 * same as a one-pass read; between two chunks the profile merged so far is
 * offered to the load's ig_partial_fn (the viewer's first frame).
 *
 * The writer renders each location once (its lines joined by ';' with
 * annotations), assembles every sample's line in one arena, sorts the lines
 * and merges equal stacks (labels are not representable and merge away).
 * A frame without a symbol is named by its module, "[libfoo.so]" as
 * stackcollapse-perf names it (profile/framename.h; its address with the
 * address granularity).  Unlike the views of profile/tree.h, a run of
 * such frames stays a run: consumers of the format count frames (stack
 * depth), and stackcollapse-perf keeps them too.
 * Samples whose chosen value is 0 are not written.  Unless a value is
 * chosen, a sampled profile is written as sample counts ("samples"/"count"),
 * which is what flamegraph.pl and speedscope expect of folded stacks; other
 * profiles (heap) as their default value.
 */
#include "exporters/formats.h"
#include "profile/batch.h"
#include "profile/framename.h"
#include "utils/hash.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_INLINED = 3 };

/* ---- frame-group cache ------------------------------------------------- */

/* Keys are copied into the cache's own arena: comparing against the first
 * occurrence in a 100 MB input would cost a cache miss per lookup.  A key
 * of up to SLOT_INLINE bytes is also kept in its slot and compared there:
 * on a big profile every lookup is a cache miss or two, and they were a
 * third of the time a folded file took to read, so a hit costs one cache
 * line rather than a slot's and then the arena's.  A longer key's slot
 * holds its hash (the low bits, which reject most mismatches) and its
 * offset in the arena, 32 bits (keys_fit). */
enum { SLOT_INLINE = 24 };

typedef struct group_slot {
    uint32_t loc; /* 0 = empty */
    uint32_t len;
    union {
        char text[SLOT_INLINE];
        struct {
            uint32_t hash, off;
        } far;
    } key;
} group_slot;

typedef struct group_cache {
    group_slot *slots;
    size_t cap, count; /* cap is a power of two */
    ig_strbuf keys;
} group_cache;

/* Whether len more bytes of keys keep every offset within 32 bits (more
 * than 4 GB of distinct frame names is refused). */
static int keys_fit(const group_cache *c, size_t len)
{
    return c->keys.len + len < UINT32_MAX;
}

/* A hash for short keys (frame names): one multiply per 8 bytes and the
 * tail read as two overlapping words.  ig_hash_bytes mixes harder, which
 * costs more than all other per-frame work on the hot path. */
static inline uint64_t key_hash(const char *s, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        w = (uint64_t)a << 32 | b;
    } else if (len) {
        const unsigned char *u = (const unsigned char *)s;
        w = (uint64_t)u[0] << 16 | (uint64_t)u[len >> 1] << 8 | u[len - 1];
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

/* memcmp(a, b, len) == 0 for short keys, without the call. */
static inline int key_eq(const char *a, const char *b, size_t len)
{
    while (len >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return 0;
        a += 8;
        b += 8;
        len -= 8;
    }
    while (len--)
        if (*a++ != *b++)
            return 0;
    return 1;
}

/* Slot arrays of 128 KB and more are page blocks (ig_pages_resize): zero
 * when fresh and faulted in at once, where calloc cleared heap pages that
 * then faulted in one at a time. */
static group_slot *slots_new(size_t cap)
{
    if (cap * sizeof(group_slot) < (128 << 10))
        return ig_xcalloc(cap, sizeof(group_slot));
    group_slot *s = ig_pages_resize(NULL, 0, cap * sizeof *s);
    ig_prefault(s, cap * sizeof *s);
    return s;
}

static void slots_free(group_cache *c)
{
    if (c->cap * sizeof(group_slot) < (128 << 10))
        free(c->slots);
    else
        ig_pages_resize(c->slots, c->cap * sizeof(group_slot), 0);
}

static void cache_grow(group_cache *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 4096;
    group_slot *ns = slots_new(ncap);
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].loc)
            continue;
        const group_slot *s = &c->slots[i];
        size_t j = (s->len <= SLOT_INLINE ? (uint32_t)key_hash(s->key.text, s->len) : s->key.far.hash) & (ncap - 1);
        while (ns[j].loc)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    slots_free(c);
    c->slots = ns;
    c->cap = ncap;
}

/* The slot for text: either its cached entry or the empty slot to fill. */
static group_slot *cache_slot(group_cache *c, const char *text, uint32_t len, uint64_t hash)
{
    if ((c->count + 1) * 2 > c->cap)
        cache_grow(c);
    size_t j = (uint32_t)hash & (c->cap - 1); /* 32 bits: what far keys and key_hash[] keep */
    for (;;) {
        group_slot *s = &c->slots[j];
        if (!s->loc)
            return s;
        if (s->len == len && (len <= SLOT_INLINE ? key_eq(s->key.text, text, len)
                                                 : s->key.far.hash == (uint32_t)hash &&
                                                       key_eq(c->keys.data + s->key.far.off, text, len)))
            return s;
        j = (j + 1) & (c->cap - 1);
    }
}

/* Fills the empty slot s (from cache_slot) with key text and its value loc. */
static void cache_put(group_cache *c, group_slot *s, const char *text, uint32_t len, uint64_t hash, uint32_t loc)
{
    s->loc = loc;
    s->len = len;
    if (len <= SLOT_INLINE) {
        memcpy(s->key.text, text, len);
    } else {
        s->key.far.hash = (uint32_t)hash;
        s->key.far.off = (uint32_t)c->keys.len;
    }
    ig_sb_append(&c->keys, text, len);
    c->count++;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct frame {
    const char *name;
    uint32_t len;  /* without the annotation */
    uint8_t kind;  /* ignis_frame_kind or KIND_INLINED */
} frame;

typedef struct folded_reader {
    ignis_profile *p;
    group_cache cache;
    int scale_digits;      /* 0, 3, 6 or 9 */
    int64_t scale;         /* 10^scale_digits */
    int need_digits;       /* set when a count needs a finer scale */
    /* the previous line: its stack text and, per group, end offset + id */
    const char *prev;
    size_t prev_len;
    uint32_t *group_end, *group_loc;
    size_t ngroups, gcap;
    uint32_t *stack;       /* leaf-first scratch */
    size_t scap;
    ignis_line *lines;
    size_t lcap;
    int64_t total;
    ig_err *err;
} folded_reader;

/* Splits an annotation off a frame. */
static frame parse_frame(const char *s, size_t len)
{
    frame f = {s, (uint32_t)len, IGNIS_FRAME_USER};
    if (len >= 4 && s[len - 4] == '_' && s[len - 3] == '[' && s[len - 1] == ']') {
        char c = s[len - 2];
        uint8_t kind = c == 'k' ? IGNIS_FRAME_KERNEL : c == 'j' ? IGNIS_FRAME_JIT : c == 'i' ? KIND_INLINED : 255;
        if (kind != 255) {
            f.kind = kind;
            f.len = (uint32_t)len - 4;
        }
    }
    return f;
}

static int is_inlined_frame(const char *s, size_t len)
{
    return len >= 4 && !memcmp(s + len - 4, "_[i]", 4);
}

/* Parses a count "123", "-4", "1.25" at the current scale. */
static int parse_count(folded_reader *r, const char *s, size_t len, int64_t *out, size_t lineno)
{
    const char *e = s + len;
    int neg = s < e && *s == '-';
    if (neg || (s < e && *s == '+'))
        s++;
    const char *digits = s;
    uint64_t v = 0;
    for (; s < e && *s >= '0' && *s <= '9'; s++) {
        if (v > (uint64_t)(INT64_MAX / 10))
            return ig_err_set(r->err, "line %zu: sample count too large", lineno);
        v = v * 10 + (uint64_t)(*s - '0');
    }
    size_t int_digits = (size_t)(s - digits);
    const char *frac = s, *frac_end = s;
    if (s < e && *s == '.') {
        frac = ++s;
        while (s < e && *s >= '0' && *s <= '9')
            s++;
        frac_end = s;
        while (frac_end > frac && frac_end[-1] == '0') /* 1.50 has two decimals, 2.0 none */
            frac_end--;
    }
    if (s != e || (int_digits == 0 && frac == frac_end && (size_t)(s - frac) == 0))
        return ig_err_set(r->err, "line %zu: invalid sample count '%.*s'", lineno, (int)len, e - len);
    int d = (int)(frac_end - frac);
    if (d > r->scale_digits) {
        if (d > 9)
            return ig_err_set(r->err, "line %zu: sample count '%.*s' has more than 9 decimals", lineno,
                              (int)len, e - len);
        r->need_digits = d <= 3 ? 3 : d <= 6 ? 6 : 9;
        return -1;
    }
    uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)neg; /* INT64_MIN is in range */
    if (v > limit / (uint64_t)r->scale)
        return ig_err_set(r->err, "line %zu: sample count too large", lineno);
    v *= (uint64_t)r->scale;
    int64_t unit = r->scale;
    for (const char *c = frac; c < frac_end; c++) {
        unit /= 10;
        v += (uint64_t)(*c - '0') * (uint64_t)unit;
    }
    if (v > limit)
        return ig_err_set(r->err, "line %zu: sample count too large", lineno);
    *out = !neg ? (int64_t)v : v ? -(int64_t)(v - 1) - 1 : 0;
    return 0;
}

/* Adds |count| to the file's total of magnitudes; -1 when it no longer
 * fits an int64 (as INT64_MIN's 2^63 never does, like the pprof reader). */
static int add_magnitude(int64_t *total, int64_t count)
{
    uint64_t mag = count < 0 ? 0 - (uint64_t)count : (uint64_t)count;
    if (mag > (uint64_t)INT64_MAX - (uint64_t)*total)
        return -1;
    *total += (int64_t)mag;
    return 0;
}

/* Interns one group: frames[0] is the physical caller, the rest inlined. */
static uint32_t add_group(folded_reader *r, const frame *frames, size_t n)
{
    if (n > r->lcap) {
        r->lcap = n * 2;
        r->lines = ig_xrealloc(r->lines, r->lcap * sizeof *r->lines);
    }
    for (size_t i = 0; i < n; i++) {
        ignis_function f = {0, 0, 0, 0};
        f.name = f.system_name = ignis_profile_intern_n(r->p, frames[i].name, frames[i].len);
        ignis_line *l = &r->lines[n - 1 - i]; /* innermost first */
        l->function = ignis_profile_add_function(r->p, &f);
        l->line = l->column = 0;
    }
    uint8_t kind = frames[0].kind == KIND_INLINED ? IGNIS_FRAME_USER : frames[0].kind;
    ignis_location loc = {0, 0, r->lines, (uint32_t)n, kind, false};
    return ignis_profile_add_location(r->p, &loc);
}

static void push_group(folded_reader *r, uint32_t end, uint32_t loc)
{
    if (r->ngroups == r->gcap) {
        r->gcap = r->gcap ? r->gcap * 2 : 64;
        r->group_end = ig_xrealloc(r->group_end, r->gcap * sizeof *r->group_end);
        r->group_loc = ig_xrealloc(r->group_loc, r->gcap * sizeof *r->group_loc);
    }
    r->group_end[r->ngroups] = end;
    r->group_loc[r->ngroups++] = loc;
}

/* How many leading groups of the previous line this stack shares. */
static size_t shared_groups(folded_reader *r, const char *s, size_t len)
{
    size_t max = len < r->prev_len ? len : r->prev_len, common = 0;
    if (!r->prev)
        return 0;
    while (common + 8 <= max) { /* eight bytes at a time, then the tail */
        uint64_t a, b;
        memcpy(&a, s + common, 8);
        memcpy(&b, r->prev + common, 8);
        if (a != b)
            break;
        common += 8;
    }
    while (common < max && s[common] == r->prev[common])
        common++;
    size_t g = 0;
    /* a group is shared when it ends before the common prefix does and
     * both lines continue with ';' there */
    while (g < r->ngroups && r->group_end[g] < common && s[r->group_end[g]] == ';')
        g++;
    /* the frame after the last shared group must not be inlined into it */
    while (g > 0) {
        const char *start = s + r->group_end[g - 1] + 1;
        const char *end = memchr(start, ';', (size_t)(s + len - start));
        if (!end)
            end = s + len;
        if (!is_inlined_frame(start, (size_t)(end - start)))
            break;
        g--;
    }
    return g;
}

/* Parses one group starting at *pos: a frame plus the inlined frames that
 * follow it.  Sets *gend to the group's end offset and advances *pos.
 * *next_len caches the length of the frame at *pos (SIZE_MAX = unknown),
 * so the frame that ended the previous group is not scanned twice. */
static int parse_group(folded_reader *r, const char *s, size_t len, size_t *pos, size_t *gend, size_t *next_len,
                       size_t lineno)
{
    frame frames[64];
    size_t n = 0, start = *pos;
    while (*pos <= len) {
        const char *f = s + *pos;
        size_t flen = *next_len;
        if (flen == SIZE_MAX) {
            const char *semi = memchr(f, ';', len - *pos);
            flen = semi ? (size_t)(semi - f) : len - *pos;
        }
        *next_len = SIZE_MAX;
        if (flen == 0)
            return ig_err_set(r->err, "line %zu: empty frame name", lineno);
        if (n > 0 && !is_inlined_frame(f, flen)) {
            *next_len = flen;
            break;
        }
        if (n == sizeof frames / sizeof frames[0])
            return ig_err_set(r->err, "line %zu: more than 64 inlined frames in a row", lineno);
        frames[n++] = parse_frame(f, flen);
        *gend = *pos + flen;
        *pos = *gend + 1;
    }
    uint32_t glen = (uint32_t)(*gend - start);
    uint64_t h = key_hash(s + start, glen);
    group_slot *slot = cache_slot(&r->cache, s + start, glen, h);
    if (!slot->loc) {
        /* checked here, on first sight of a group, not on every line */
        if (memchr(s + start, '\0', glen))
            return ig_err_set(r->err, "line %zu: NUL byte (not a folded stacks file)", lineno);
        if (!keys_fit(&r->cache, glen))
            return ig_err_set(r->err, "line %zu: more than 4 GB of distinct frame names", lineno);
        uint32_t loc = add_group(r, frames, n);
        if (!loc)
            return ig_err_set(r->err, "line %zu: cannot add frame", lineno);
        cache_put(&r->cache, slot, s + start, glen, h, loc);
    }
    push_group(r, (uint32_t)*gend, slot->loc);
    return 0;
}

static int parse_stack(folded_reader *r, const char *s, size_t len, size_t lineno, uint32_t *stack_id)
{
    size_t g = shared_groups(r, s, len);
    r->ngroups = g;
    size_t pos = g ? r->group_end[g - 1] + 1 : 0, gend = 0, next_len = SIZE_MAX;
    while (pos <= len)
        if (parse_group(r, s, len, &pos, &gend, &next_len, lineno))
            return -1;
    r->prev = s;
    r->prev_len = len;
    if (r->ngroups > r->scap) {
        r->scap = r->ngroups * 2;
        r->stack = ig_xrealloc(r->stack, r->scap * sizeof *r->stack);
    }
    for (size_t i = 0; i < r->ngroups; i++)
        r->stack[i] = r->group_loc[r->ngroups - 1 - i];
    *stack_id = ignis_profile_add_stack(r->p, r->stack, r->ngroups);
    return *stack_id ? 0 : ig_err_set(r->err, "line %zu: cannot add stack", lineno);
}

static int parse_line(folded_reader *r, const char *s, size_t len, size_t lineno)
{
    while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (s[lead] == ' ' || s[lead] == '\t'))
        lead++;
    if (lead == len || s[lead] == '#')
        return 0;
    const char *sp = s + len;
    while (sp > s + lead && sp[-1] != ' ' && sp[-1] != '\t')
        sp--;
    if (sp == s + lead)
        return ig_err_set(r->err, "line %zu: missing sample count", lineno);
    int64_t count;
    if (parse_count(r, sp, (size_t)(s + len - sp), &count, lineno))
        return -1;
    size_t slen = (size_t)(sp - s);
    while (slen > lead && (s[slen - 1] == ' ' || s[slen - 1] == '\t'))
        slen--;
    if (slen == lead)
        return ig_err_set(r->err, "line %zu: empty stack", lineno);
    uint32_t stack;
    if (parse_stack(r, s + lead, slen - lead, lineno, &stack))
        return -1;
    if (add_magnitude(&r->total, count))
        return ig_err_set(r->err, "line %zu: sample counts overflow 64 bits", lineno);
    return ignis_profile_add_sample(r->p, stack, 0, &count) ? ig_err_set(r->err, "line %zu: invalid sample", lineno)
                                                            : 0;
}

static const char *unit_for_digits(int d)
{
    return d == 0 ? "count" : d == 3 ? "milli-count" : d == 6 ? "micro-count" : "nano-count";
}

/* One pass at the reader's scale; sets need_digits when it must restart. */
static int read_pass(folded_reader *r, const uint8_t *data, size_t len)
{
    r->p = ignis_profile_new();
    ignis_profile_add_value_type(r->p, "samples", unit_for_digits(r->scale_digits));
    const char *s = (const char *)data, *end = s + len;
    size_t lineno = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ll = nl ? (size_t)(nl - s) : (size_t)(end - s);
        lineno++;
        if (parse_line(r, s, ll, lineno))
            return -1;
        s += ll + 1;
    }
    if (ignis_profile_num_samples(r->p) == 0)
        return ig_err_set(r->err, "no stacks found");
    return 0;
}

static void reader_reset(folded_reader *r)
{
    ignis_profile_free(r->p);
    r->p = NULL;
    slots_free(&r->cache);
    ig_sb_free(&r->cache.keys);
    memset(&r->cache, 0, sizeof r->cache);
    r->prev = NULL;
    r->prev_len = 0;
    r->ngroups = 0;
    r->total = 0;
}

/* ---- reading in two threads -------------------------------------------- */

/* The common case (integer counts, no inlined frames, no errors) is read
 * in chunks split at newlines.  Each chunk is tokenised (by a worker thread
 * or by the merging one while it would otherwise wait) into a private
 * frame cache (local ids in order of first sight) and one record per line:
 * how many frames it shares with the line before, its new frames' local
 * ids and its count.  The merge takes the chunks in file order: it interns
 * a chunk's unseen frames in local order, then adds its stacks and samples
 * line by line: exactly the order, ids and values of the one-pass reader,
 * so the model is identical.  Merging chunk k overlaps tokenising the
 * next ones, so on two cores the merge, not the tokenising, sets the
 * pace (about 30% less wall time than two halves merged after both were
 * tokenised, on 1M stacks), and memory holds a few chunks' records.  Anything
 * unusual (a fraction, "_[i]", any error) makes the fast path give up and
 * the one-pass reader run instead, with its exact error messages. */

typedef struct part {
    const char *s, *end;   /* whole lines */
    group_cache cache;     /* slot->loc is the local id */
    uint32_t *key_off;     /* per local id: key offset in cache.keys */
    uint32_t *key_len;
    uint32_t *key_hash;    /* per local id: the key's hash, low bits (all a cache of < 2^32 slots uses) */
    size_t nlocal, lcap;
    uint32_t *rec;         /* per line: shared, nnew, count lo, count hi, ids */
    size_t nrec, reccap;
    uint32_t *fend;        /* end offset of each frame of the previous line */
    size_t nf, fcap;
    int fail;
} part;

static void part_free(part *pt)
{
    slots_free(&pt->cache);
    ig_sb_free(&pt->cache.keys);
    free(pt->key_off);
    free(pt->key_len);
    free(pt->key_hash);
    free(pt->rec);
    free(pt->fend);
    *pt = (part){.s = pt->s, .end = pt->end, .fail = pt->fail}; /* freed twice is harmless */
}

static uint32_t *part_rec(part *pt, size_t n)
{
    if (pt->nrec + n > pt->reccap) {
        pt->reccap = (pt->nrec + n) * 2 > 1024 ? (pt->nrec + n) * 2 : 1024;
        pt->rec = ig_xrealloc(pt->rec, pt->reccap * sizeof *pt->rec);
        ig_prefault(pt->rec + pt->nrec, (pt->reccap - pt->nrec) * sizeof *pt->rec);
    }
    uint32_t *p = pt->rec + pt->nrec;
    pt->nrec += n;
    return p;
}

/* A count that the one-pass reader would store unscaled: [+-]digits. */
static int plain_count(const char *s, const char *e, int64_t *out)
{
    int neg = s < e && *s == '-';
    if (neg || (s < e && *s == '+'))
        s++;
    if (s == e)
        return -1;
    uint64_t v = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || v > (uint64_t)(INT64_MAX / 10))
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The local id of a frame, interning it on first sight. */
static uint32_t part_frame(part *pt, const char *f, uint32_t len, uint64_t h)
{
    group_slot *slot = cache_slot(&pt->cache, f, len, h);
    if (slot->loc)
        return slot->loc;
    if (memchr(f, '\0', len) || pt->nlocal + 1 >= UINT32_MAX || !keys_fit(&pt->cache, len))
        return 0;
    if (pt->nlocal + 2 > pt->lcap) {
        pt->lcap = pt->lcap ? pt->lcap * 2 : 1024;
        pt->key_off = ig_xrealloc(pt->key_off, pt->lcap * sizeof *pt->key_off);
        pt->key_len = ig_xrealloc(pt->key_len, pt->lcap * sizeof *pt->key_len);
        pt->key_hash = ig_xrealloc(pt->key_hash, pt->lcap * sizeof *pt->key_hash);
    }
    uint32_t id = (uint32_t)++pt->nlocal;
    pt->key_off[id] = (uint32_t)pt->cache.keys.len;
    pt->key_len[id] = len;
    pt->key_hash[id] = (uint32_t)h;
    cache_put(&pt->cache, slot, f, len, h, id);
    return id;
}

enum { PART_BATCH = 32 }; /* frames of a line hashed and prefetched at once */

/* Tokenises one stack (trimmed, non-empty) sharing what it can with the
 * previous line prev/prev_len. */
static int part_stack(part *pt, const char *s, size_t len, const char *prev, size_t prev_len, int64_t count)
{
    size_t max = len < prev_len ? len : prev_len, common = 0;
    if (prev) {
        while (common + 8 <= max) {
            uint64_t a, b;
            memcpy(&a, s + common, 8);
            memcpy(&b, prev + common, 8);
            if (a != b)
                break;
            common += 8;
        }
        while (common < max && s[common] == prev[common])
            common++;
    }
    size_t g = 0;
    while (g < pt->nf && pt->fend[g] < common && s[pt->fend[g]] == ';')
        g++;
    size_t at = pt->nrec;
    uint32_t *hdr = part_rec(pt, 4);
    hdr[0] = (uint32_t)g;
    hdr[2] = (uint32_t)(uint64_t)count;
    hdr[3] = (uint32_t)((uint64_t)count >> 32);
    pt->nf = g;
    size_t pos = g ? pt->fend[g - 1] + 1 : 0, nnew = 0;
    while (pos <= len) {
        /* a batch of frames is split and hashed and their slots are
         * prefetched before any is looked up: the lookups' cache misses
         * then overlap rather than come one after the other */
        struct { uint32_t pos, len; uint64_t hash; } batch[PART_BATCH];
        size_t nb = 0;
        for (; pos <= len && nb < PART_BATCH; nb++) {
            const char *f = s + pos;
            const char *semi = memchr(f, ';', len - pos);
            size_t flen = semi ? (size_t)(semi - f) : len - pos;
            if (!flen || flen > UINT32_MAX || is_inlined_frame(f, flen))
                return -1;
            batch[nb].pos = (uint32_t)pos;
            batch[nb].len = (uint32_t)flen;
            batch[nb].hash = key_hash(f, flen);
            if (pt->cache.cap)
                __builtin_prefetch(&pt->cache.slots[(uint32_t)batch[nb].hash & (pt->cache.cap - 1)]);
            pos += flen + 1;
        }
        for (size_t b = 0; b < nb; b++) {
            uint32_t id = part_frame(pt, s + batch[b].pos, batch[b].len, batch[b].hash);
            if (!id)
                return -1;
            *part_rec(pt, 1) = id;
            nnew++;
            if (pt->nf == pt->fcap) {
                pt->fcap = pt->fcap ? pt->fcap * 2 : 64;
                pt->fend = ig_xrealloc(pt->fend, pt->fcap * sizeof *pt->fend);
            }
            pt->fend[pt->nf++] = batch[b].pos + batch[b].len;
        }
    }
    pt->rec[at + 1] = (uint32_t)nnew;
    return 0;
}

/* Tokenises every line of a part (the fast path's half of parse_line). */
static void *part_parse(void *arg)
{
    part *pt = arg;
    const char *s = pt->s, *prev = NULL;
    size_t prev_len = 0;
    while (s < pt->end) {
        const char *nl = memchr(s, '\n', (size_t)(pt->end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(pt->end - s);
        const char *line = s;
        s += len + 1;
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == len || line[lead] == '#')
            continue;
        const char *sp = line + len;
        while (sp > line + lead && sp[-1] != ' ' && sp[-1] != '\t')
            sp--;
        int64_t count;
        if (sp == line + lead || plain_count(sp, line + len, &count))
            goto fail;
        size_t slen = (size_t)(sp - line);
        while (slen > lead && (line[slen - 1] == ' ' || line[slen - 1] == '\t'))
            slen--;
        if (slen == lead || slen - lead > UINT32_MAX)
            goto fail;
        if (part_stack(pt, line + lead, slen - lead, prev, prev_len, count))
            goto fail;
        prev = line + lead;
        prev_len = slen - lead;
    }
    return NULL;
fail:
    pt->fail = 1;
    return NULL;
}

enum { MERGE_BATCH = 16, MERGE_BATCH_FRAMES = 1 << 20 };

/* Interns a part's frames and adds its lines.  0 done, 1 give up. */
static int merge_part(folded_reader *r, part *pt, group_cache *global, uint32_t **cur, size_t *ccap)
{
    uint32_t *map = ig_xmalloc((pt->nlocal + 1) * sizeof *map);
    for (uint32_t id = 1; id <= pt->nlocal; id++) {
        /* the tokeniser's hashes pick the slots: the global cache's slots
         * of the frames a batch ahead are prefetched (this is the serial part) */
        size_t ahead = (size_t)id + PART_BATCH;
        if (ahead <= pt->nlocal && global->cap)
            __builtin_prefetch(&global->slots[pt->key_hash[ahead] & (global->cap - 1)]);
        const char *text = pt->cache.keys.data + pt->key_off[id];
        uint32_t len = pt->key_len[id];
        uint64_t h = pt->key_hash[id];
        group_slot *slot = cache_slot(global, text, len, h);
        if (!slot->loc) {
            frame f = parse_frame(text, len);
            uint32_t loc = keys_fit(global, len) ? add_group(r, &f, 1) : 0;
            if (!loc) {
                free(map);
                return 1;
            }
            cache_put(global, slot, text, len, h, loc);
        }
        map[id] = slot->loc;
    }
    /* lines are added MERGE_BATCH at a time (profile/batch.h): their
     * stacks side by side in r->stack, leaf first */
    uint32_t off[MERGE_BATCH + 1], ids[MERGE_BATCH];
    int64_t counts[MERGE_BATCH];
    size_t nb = 0;
    off[0] = 0;
    for (size_t i = 0; i < pt->nrec;) {
        const uint32_t *h = pt->rec + i;
        size_t g = h[0], nnew = h[1], n = g + nnew;
        counts[nb] = (int64_t)((uint64_t)h[2] | (uint64_t)h[3] << 32);
        if (n > *ccap) {
            *ccap = n * 2;
            *cur = ig_xrealloc(*cur, *ccap * sizeof **cur);
        }
        for (size_t k = 0; k < nnew; k++)
            (*cur)[g + k] = map[h[4 + k]];
        i += 4 + nnew;
        if (off[nb] + n > r->scap) {
            r->scap = (off[nb] + n) * 2;
            r->stack = ig_xrealloc(r->stack, r->scap * sizeof *r->stack);
        }
        uint32_t *stack = r->stack + off[nb];
        for (size_t k = 0; k < n; k++)
            stack[k] = (*cur)[n - 1 - k];
        off[nb + 1] = off[nb] + (uint32_t)n;
        nb++;
        if (nb < MERGE_BATCH && off[nb] < MERGE_BATCH_FRAMES && i < pt->nrec)
            continue;
        ig_profile_add_stacks(r->p, r->stack, off, nb, ids);
        for (size_t k = 0; k < nb; k++)
            if (!ids[k] || add_magnitude(&r->total, counts[k]) ||
                ignis_profile_add_sample(r->p, ids[k], 0, &counts[k])) {
                free(map);
                return 1;
            }
        nb = 0;
    }
    free(map);
    return 0;
}

/* Chunks of the pipeline: lines are tokenised a chunk at a time (an 8th
 * of the file, 1 to 16 MB: each chunk re-interns its frames in a private
 * cache, which costs up to 5% more hashing at 8 chunks, and the merge
 * waits for the first), at most PIPE_AHEAD
 * chunks ahead of the merge, so the records of the whole file never exist
 * at once. */
#define PIPE_CHUNK_MIN ((size_t)1 << 20)
#define PIPE_CHUNK_MAX ((size_t)16 << 20)
#define PIPE_AHEAD 4

typedef struct pipeline {
    part *parts;
    size_t nparts;
    part spare[PIPE_AHEAD + 2]; /* storage of merged chunks, for the next ones */
    size_t nspare;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;      /* the next chunk to tokenise */
    size_t merged;    /* chunks merged (and freed) so far */
    uint8_t *ready;   /* per chunk: tokenised */
    int stop;         /* the merge gave up: tokenise nothing more */
} pipeline;

/* Takes the next chunk to tokenise when one may start (mu held); SIZE_MAX
 * when none may now. */
static size_t pipe_take(pipeline *pl)
{
    if (pl->stop || pl->next >= pl->nparts || pl->next >= pl->merged + PIPE_AHEAD)
        return SIZE_MAX;
    return pl->next++;
}

/* Gives chunk dst the storage of a merged chunk: fresh pages cost more
 * than the tokenising on a VM, and freed ones go back to the kernel. */
static void part_reuse(part *dst, part *old)
{
    dst->cache = old->cache;
    memset(dst->cache.slots, 0, dst->cache.cap * sizeof *dst->cache.slots);
    dst->cache.count = 0;
    dst->cache.keys.len = 0;
    if (dst->cache.keys.data)
        dst->cache.keys.data[0] = '\0';
    dst->key_off = old->key_off;
    dst->key_len = old->key_len;
    dst->key_hash = old->key_hash;
    dst->lcap = old->lcap;
    dst->rec = old->rec;
    dst->reccap = old->reccap;
    dst->fend = old->fend;
    dst->fcap = old->fcap;
    *old = (part){0};
}

/* Tokenises chunk i with mu released, then marks it ready. */
static void pipe_tokenise(pipeline *pl, size_t i)
{
    if (pl->nspare)
        part_reuse(&pl->parts[i], &pl->spare[--pl->nspare]);
    pthread_mutex_unlock(&pl->mu);
    part_parse(&pl->parts[i]);
    pthread_mutex_lock(&pl->mu);
    pl->ready[i] = 1;
    pthread_cond_broadcast(&pl->cv);
}

static void *pipe_worker(void *arg)
{
    pipeline *pl = arg;
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop && pl->next < pl->nparts) {
        size_t i = pipe_take(pl);
        if (i == SIZE_MAX)
            pthread_cond_wait(&pl->cv, &pl->mu);
        else
            pipe_tokenise(pl, i);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Splits the input into chunks of whole lines. */
static size_t split_chunks(const char *s, const char *end, part **out)
{
    size_t chunk = (size_t)(end - s) / 8;
    chunk = chunk < PIPE_CHUNK_MIN ? PIPE_CHUNK_MIN : chunk > PIPE_CHUNK_MAX ? PIPE_CHUNK_MAX : chunk;
    size_t cap = (size_t)(end - s) / chunk + 2, n = 0;
    part *parts = ig_xcalloc(cap, sizeof *parts);
    while (s < end) {
        const char *cut = end;
        if ((size_t)(end - s) > chunk + chunk / 2) {
            const char *nl = memchr(s + chunk, '\n', (size_t)(end - s) - chunk);
            cut = nl ? nl + 1 : end;
        }
        parts[n].s = s;
        parts[n++].end = cut;
        s = cut;
    }
    *out = parts;
    return n;
}

/* The fast path: 0 = *out read, 1 = not the common case (read it the
 * one-pass way), 2 = cancelled through ig_reading_progress().  Files of 1 MB and more are a pipeline: a worker thread
 * and this one tokenise chunks in any order while this one merges them in
 * file order as soon as the next is ready, so merging overlaps tokenising. */
static int read_parallel(const uint8_t *data, size_t len, ignis_profile **out)
{
    pipeline pl = {0};
    pl.nparts = split_chunks((const char *)data, (const char *)data + len, &pl.parts);
    pl.ready = ig_xcalloc(pl.nparts + 1, 1);
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    pthread_t th;
    int threaded = len >= ((size_t)1 << 20) && pl.nparts > 1 && pthread_create(&th, NULL, pipe_worker, &pl) == 0;
    folded_reader r = {.scale = 1};
    r.p = ignis_profile_new();
    ignis_profile_add_value_type(r.p, "samples", unit_for_digits(0));
    group_cache global = {0};
    uint32_t *cur = NULL;
    size_t ccap = 0;
    int rc = 0, cancelled = 0;
    ig_progress *pr = ig_reading_progress(); /* the viewer's progress line: bytes merged */
    ig_progress_step(pr, "reading", len);
    for (size_t m = 0; m < pl.nparts && !rc; m++) {
        pthread_mutex_lock(&pl.mu);
        while (!pl.ready[m]) { /* tokenise ahead while the next chunk is not ready */
            size_t i = pipe_take(&pl);
            if (i != SIZE_MAX)
                pipe_tokenise(&pl, i);
            else
                pthread_cond_wait(&pl.cv, &pl.mu);
        }
        pthread_mutex_unlock(&pl.mu);
        rc = pl.parts[m].fail || merge_part(&r, &pl.parts[m], &global, &cur, &ccap);
        if (!rc && ig_progress_add(pr, (uint64_t)(pl.parts[m].end - pl.parts[m].s)))
            rc = cancelled = 2; /* Esc in the viewer: not worth reading again */
        if (!rc && m + 1 < pl.nparts) /* the viewer may draw what is read so far */
            ig_reading_partial(r.p, (uint64_t)(pl.parts[m].end - (const char *)data), len);
        pthread_mutex_lock(&pl.mu);
        if (pl.nspare < sizeof pl.spare / sizeof pl.spare[0] && pl.parts[m].cache.slots) {
            pl.spare[pl.nspare++] = pl.parts[m];
            pl.parts[m] = (part){.s = pl.parts[m].s, .end = pl.parts[m].end};
        } else {
            part_free(&pl.parts[m]);
        }
        pl.merged = m + 1;
        pl.stop = rc;
        pthread_cond_broadcast(&pl.cv);
        pthread_mutex_unlock(&pl.mu);
    }
    if (threaded)
        pthread_join(th, NULL);
    if (!rc && ignis_profile_num_samples(r.p) == 0)
        rc = 1;
    if (!rc) {
        *out = r.p;
        r.p = NULL;
    }
    ignis_profile_free(r.p);
    slots_free(&global);
    ig_sb_free(&global.keys);
    free(cur);
    free(r.stack);
    free(r.lines);
    for (size_t i = 0; i < pl.nparts; i++)
        part_free(&pl.parts[i]);
    for (size_t i = 0; i < pl.nspare; i++)
        part_free(&pl.spare[i]);
    free(pl.parts);
    free(pl.ready);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
    return cancelled ? 2 : rc;
}

int ig_folded_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err)
{
    if (len == 0) { /* what the writer makes of a profile without samples */
        *out = ignis_profile_new();
        ignis_profile_add_value_type(*out, "samples", unit_for_digits(0));
        return 0;
    }
    int fast = read_parallel(data, len, out);
    if (fast == 0)
        return 0;
    if (fast == 2)
        return ig_err_set(err, "cancelled");
    folded_reader r = {.scale = 1, .err = err};
    *out = NULL;
    int rc;
    for (;;) {
        rc = read_pass(&r, data, len);
        if (rc == 0 || !r.need_digits)
            break;
        /* a count needs a finer scale: start over with it */
        int d = r.need_digits;
        reader_reset(&r);
        r.need_digits = 0;
        r.scale_digits = d;
        r.scale = d == 3 ? 1000 : d == 6 ? 1000000 : 1000000000;
    }
    if (rc == 0) {
        *out = r.p;
        r.p = NULL;
    }
    reader_reset(&r);
    free(r.group_end);
    free(r.group_loc);
    free(r.stack);
    free(r.lines);
    return rc;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct line_ref {
    size_t off;
    uint32_t len;
    int64_t value;
} line_ref;

static int line_cmp(const void *a, const void *b, void *arena)
{
    const line_ref *x = a, *y = b;
    const char *arena_base = arena;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(arena_base + x->off, arena_base + y->off, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Appends a frame name so that the reader gets it back: ';' becomes ':',
 * control characters '?', surrounding blanks are dropped, an empty name is
 * "[unknown]", and a name that itself ends like an annotation ("x_[k]")
 * ends in ')' instead of ']'.  (A '#' that would start a line is replaced
 * by the caller.) */
static void put_name(ig_strbuf *sb, const char *name)
{
    while (*name == ' ' || *name == '\t')
        name++;
    size_t n = strlen(name);
    while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    if (!n) {
        name = "[unknown]";
        n = strlen(name);
    }
    size_t start = sb->len;
    ig_sb_append(sb, name, n);
    for (char *c = sb->data + start; c < sb->data + sb->len; c++)
        if (*c == ';')
            *c = ':';
        else if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (parse_frame(sb->data + start, sb->len - start).kind != IGNIS_FRAME_USER)
        sb->data[sb->len - 1] = ')';
}

/* The text of one location: caller first, inlined callees after. */
static void render_location(const ignis_profile *p, uint32_t id, int addresses, ig_strbuf *sb)
{
    const ignis_location *loc = ignis_profile_location(p, id);
    char buf[4096];
    uint32_t n = loc->nlines ? loc->nlines : 1;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t li = n - 1 - k;
        if (k)
            ig_sb_putc(sb, ';');
        put_name(sb, ig_frame_display_name(p, id, li, addresses, buf, sizeof buf));
        if (k)
            ig_sb_puts(sb, "_[i]");
        else if (loc->kind == IGNIS_FRAME_KERNEL)
            ig_sb_puts(sb, "_[k]");
        else if (loc->kind == IGNIS_FRAME_JIT)
            ig_sb_puts(sb, "_[j]");
    }
}

/* Prints a scaled value back as a decimal ("1.25"). */
static void put_value(ig_strbuf *sb, int64_t v, int digits)
{
    if (!digits) {
        ig_sb_printf(sb, "%" PRId64, v);
        return;
    }
    uint64_t scale = digits == 3 ? 1000 : digits == 6 ? 1000000 : 1000000000;
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char frac[16];
    snprintf(frac, sizeof frac, "%0*" PRIu64, digits, m % scale);
    int fl = digits;
    while (fl > 0 && frac[fl - 1] == '0')
        fl--;
    ig_sb_printf(sb, "%s%" PRIu64, v < 0 ? "-" : "", m / scale);
    if (fl)
        ig_sb_printf(sb, ".%.*s", fl, frac);
}

static int unit_digits(const char *unit)
{
    return !strcmp(unit, "milli-count") ? 3 : !strcmp(unit, "micro-count") ? 6 : !strcmp(unit, "nano-count") ? 9 : 0;
}

/* The "samples"/"count" value when the profile has one, else the default. */
static int sample_counts(const ignis_profile *p)
{
    for (size_t i = 0; i < ignis_profile_num_values(p); i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        if (!strcmp(ignis_profile_string(p, vt.type), "samples") && !strcmp(ignis_profile_string(p, vt.unit), "count"))
            return (int)i;
    }
    return ignis_profile_default_value(p);
}

int ig_folded_write(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err)
{
    int vi = o && o->tree.value >= 0 ? o->tree.value : sample_counts(p);
    if (vi < 0 || (size_t)vi >= ignis_profile_num_values(p))
        return ig_err_set(err, "folded: no sample value %d in this profile", vi);
    int digits = unit_digits(ignis_profile_string(p, ignis_profile_value_type(p, (size_t)vi).unit));
    /* each location's text, once */
    size_t nloc = ignis_profile_num_locations(p);
    ig_strbuf names = IG_STRBUF_INIT;
    size_t *name_off = ig_xcalloc(nloc + 2, sizeof *name_off);
    int addresses = o && o->tree.granularity == IG_GRAN_ADDRESS;
    for (uint32_t id = 1; id <= nloc; id++) {
        name_off[id] = names.len;
        render_location(p, id, addresses, &names);
    }
    name_off[nloc + 1] = names.len;
    /* every sample's line, into one arena */
    size_t ns = ignis_profile_num_samples(p), nl = 0;
    line_ref *refs = ig_xmalloc((ns + 1) * sizeof *refs);
    ig_strbuf arena = IG_STRBUF_INIT;
    for (size_t i = 0; i < ns; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t depth;
        const uint32_t *stack = ignis_profile_stack(p, s.stack, &depth);
        if (!s.values[vi] || !depth)
            continue;
        size_t off = arena.len;
        for (size_t j = depth; j-- > 0;) {
            uint32_t id = stack[j];
            ig_sb_append(&arena, names.data + name_off[id], name_off[id + 1] - name_off[id]);
            if (j)
                ig_sb_putc(&arena, ';');
        }
        if (arena.data[off] == '#') /* not a comment */
            arena.data[off] = '?';
        refs[nl++] = (line_ref){off, (uint32_t)(arena.len - off), s.values[vi]};
    }
    qsort_r(refs, nl, sizeof *refs, line_cmp, arena.data);
    for (size_t i = 0; i < nl;) {
        int64_t v = refs[i].value;
        size_t j = i + 1;
        while (j < nl && !line_cmp(&refs[i], &refs[j], arena.data))
            v = (int64_t)((uint64_t)v + (uint64_t)refs[j++].value);
        if (v) {
            ig_sb_append(out, arena.data + refs[i].off, refs[i].len);
            ig_sb_putc(out, ' ');
            put_value(out, v, digits);
            ig_sb_putc(out, '\n');
        }
        i = j;
    }
    free(refs);
    free(name_off);
    ig_sb_free(&arena);
    ig_sb_free(&names);
    return 0;
}
