/*
 * profile/tree.c — call trees and top tables from the profile model.
 *
 * Both views start the same way: every sample is expanded into its
 * root-first frame path (a location gives one frame per line, the physical
 * function first and its inlined callees after it), filtered by the focus /
 * ignore / thread / root regexes, and weighted by one value.  Frame names
 * are interned into the view's own name table so views outlive nothing.
 *
 * The tree is then built without any per-node hash: paths are ordered
 * by (name rank, kind) keys one level at a time, most significant first
 * (an MSD sort fused with the depth-first walk), so each new node is
 * appended in depth-first pre-order, children come out sorted by name, and
 * a run of paths below min_total is skipped before it is ever sorted.
 * When every location is a single frame and no regex looks at frames, the
 * paths are the profile's own stacks read in place through a per-location
 * key table, so nothing is copied per frame (100 MB inputs have 6M).
 * A diff tree merges two such trees (the base's values as base_total /
 * base_self).
 */
#include "profile/tree.h"
#include "utils/hash.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"

#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- a small growable array -------------------------------------------- */

typedef struct arr {
    void *data;
    size_t len, cap, elem;
} arr;

static void *arr_push(arr *a, size_t n)
{
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 64;
        while (cap < a->len + n)
            cap *= 2;
        a->data = ig_xrealloc(a->data, cap * a->elem);
        a->cap = cap;
    }
    void *p = (char *)a->data + a->len * a->elem;
    a->len += n;
    return p;
}

#define ARR(type) {NULL, 0, 0, sizeof(type)}

/* Reserves room for n elements up front.  Big arrays (the node array of a
 * large profile) would otherwise be copied at every doubling and fault in
 * page by page; a single reservation backed by transparent huge pages
 * costs neither, and untouched capacity is never resident. */
static void arr_reserve(arr *a, size_t n)
{
    if (n <= a->cap)
        return;
    a->data = ig_xrealloc(a->data, n * a->elem);
    a->cap = n;
    size_t bytes = n * a->elem, huge = (size_t)2 << 20;
    if (bytes >= 4 * huge) {
        uintptr_t lo = ((uintptr_t)a->data + huge - 1) & ~(uintptr_t)(huge - 1);
        uintptr_t hi = ((uintptr_t)a->data + bytes) & ~(uintptr_t)(huge - 1);
        if (hi > lo)
            madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
}

/* Gives back unused reserved capacity. */
static void arr_shrink(arr *a)
{
    if (a->len && a->len < a->cap) {
        a->data = ig_xrealloc(a->data, a->len * a->elem);
        a->cap = a->len;
    }
}
#define EL(a, type, i) (((type *)(a).data)[i])

/* ---- name table ---------------------------------------------------------- */

typedef struct names {
    arr strs; /* char *, id = index; id 0 is "" */
    ig_idtab ids;
    arr src;  /* name_src per name id (where its frames come from), grown on demand */
} names;

/* The function, file and line of the first frame given a name (all name ids). */
typedef struct name_src {
    uint32_t function, file, set;
    int64_t line;
} name_src;

typedef struct name_key {
    const char *s;
    size_t len;
} name_key;

static int name_eq(const void *ctx, uint32_t id, const void *key)
{
    const names *nm = ctx;
    const name_key *k = key;
    const char *s = EL(nm->strs, char *, id - 1);
    return !strncmp(s, k->s, k->len) && s[k->len] == '\0';
}

static uint32_t names_intern(names *nm, const char *s)
{
    name_key k = {s, strlen(s)};
    uint64_t h = ig_hash_bytes(s, k.len, 7);
    uint32_t id = ig_idtab_find(&nm->ids, h, &k, name_eq, nm);
    if (id)
        return id - 1;
    *(char **)arr_push(&nm->strs, 1) = ig_xstrdup(s);
    ig_idtab_insert(&nm->ids, h, (uint32_t)nm->strs.len);
    return (uint32_t)nm->strs.len - 1;
}

static void names_init(names *nm)
{
    memset(nm, 0, sizeof *nm);
    nm->strs = (arr)ARR(char *);
    nm->src = (arr)ARR(name_src);
    names_intern(nm, "");
}

static void names_note_source(names *nm, uint32_t name, uint32_t function, uint32_t file, int64_t line)
{
    if (nm->src.len <= name) {
        size_t old = nm->src.len;
        arr_push(&nm->src, name + 1 - old);
        memset(&EL(nm->src, name_src, old), 0, (name + 1 - old) * sizeof(name_src));
    }
    name_src *ns = &EL(nm->src, name_src, name);
    if (!ns->set)
        *ns = (name_src){function, file, 1, line};
}

static ig_frame_source names_source(const names *nm, uint32_t name);

static void names_free(names *nm)
{
    for (size_t i = 0; i < nm->strs.len; i++)
        free(EL(nm->strs, char *, i));
    free(nm->strs.data);
    free(nm->src.data);
    ig_idtab_free(&nm->ids);
}

static const char *names_get(const names *nm, uint32_t id)
{
    return id < nm->strs.len ? EL(nm->strs, char *, id) : "";
}

static ig_frame_source names_source(const names *nm, uint32_t name)
{
    ig_frame_source fs = {"", "", 0};
    if (name < nm->src.len && EL(nm->src, name_src, name).set) {
        const name_src *ns = &EL(nm->src, name_src, name);
        fs = (ig_frame_source){names_get(nm, ns->function), names_get(nm, ns->file), ns->line};
    }
    return fs;
}

/* ---- expanding samples into filtered frame paths ------------------------ */

typedef struct frame {
    uint32_t name;
    uint32_t module;
    uint8_t kind;
} frame;

enum { RE_FOCUS, RE_IGNORE, RE_ROOT, RE_THREAD, RE_COUNT };
static const char *const re_flag[RE_COUNT] = {"--focus", "--ignore", "--root", "--thread"};

typedef struct expander {
    const ignis_profile *p;
    names *nm;
    int vi;
    int reverse;
    ig_granularity gran;
    ig_progress *progress;
    regex_t re[RE_COUNT];
    int has_re[RE_COUNT];
    arr loc_off;   /* uint32_t per location id: offset into pool, UINT32_MAX = not yet */
    arr loc_n;     /* uint32_t per location id */
    arr pool;      /* frame */
    arr name_flags;/* uint8_t per name: bit 0 computed, bit 1+r match of regex r */
    arr thread_ok; /* int8_t per label set: 0 unknown, 1 keep, -1 drop */
} expander;

static void expander_free(expander *x)
{
    for (int r = 0; r < RE_COUNT; r++)
        if (x->has_re[r])
            regfree(&x->re[r]);
    free(x->loc_off.data);
    free(x->loc_n.data);
    free(x->pool.data);
    free(x->name_flags.data);
    free(x->thread_ok.data);
}

static int expander_init(expander *x, const ignis_profile *p, names *nm, const ig_tree_opts *o, ig_err *err)
{
    memset(x, 0, sizeof *x);
    x->p = p;
    x->nm = nm;
    x->loc_off = (arr)ARR(uint32_t);
    x->loc_n = (arr)ARR(uint32_t);
    x->pool = (arr)ARR(frame);
    x->name_flags = (arr)ARR(uint8_t);
    x->thread_ok = (arr)ARR(int8_t);
    static const ig_tree_opts none = {-1, 0, NULL, NULL, NULL, NULL, 0};
    if (!o)
        o = &none;
    x->reverse = o->reverse;
    x->gran = o->granularity;
    x->progress = o->progress;
    x->vi = o->value < 0 ? ignis_profile_default_value(p) : o->value;
    if (x->vi < 0 || (size_t)x->vi >= ignis_profile_num_values(p)) {
        if (!ignis_profile_num_values(p))
            return ig_err_set(err, "profile has no sample values");
        return ig_err_set(err, "--value: no value #%d (profile has %zu)", o->value, ignis_profile_num_values(p));
    }
    const char *pat[RE_COUNT] = {o->focus, o->ignore, o->root, o->thread};
    for (int r = 0; r < RE_COUNT; r++) {
        if (!pat[r] || !*pat[r])
            continue;
        int rc = regcomp(&x->re[r], pat[r], REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[128];
            regerror(rc, &x->re[r], msg, sizeof msg);
            expander_free(x);
            return ig_err_set(err, "%s: invalid regular expression '%s': %s", re_flag[r], pat[r], msg);
        }
        x->has_re[r] = 1;
    }
    size_t nloc = ignis_profile_num_locations(p) + 1;
    memset(arr_push(&x->loc_off, nloc), 0xff, nloc * sizeof(uint32_t));
    memset(arr_push(&x->loc_n, nloc), 0, nloc * sizeof(uint32_t));
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The name of line li of a location at the expander's granularity, and
 * where it comes from (names_note_source). */
static uint32_t frame_name(expander *x, uint32_t loc_id, const ignis_location *loc, uint32_t li, uint32_t module)
{
    char buf[1024], full[1100];
    const char *fname = ignis_profile_frame_name(x->p, loc_id, li, buf, sizeof buf);
    const ignis_line *ln = li < loc->nlines ? &loc->lines[li] : NULL;
    const ignis_function *fn = ln ? ignis_profile_function(x->p, ln->function) : NULL;
    const char *file = fn ? ignis_profile_string(x->p, fn->filename) : "";
    int64_t line = x->gran == IG_GRAN_LINE && ln ? ln->line : fn ? fn->start_line : 0;
    const char *name = fname;
    switch (x->gran) {
    case IG_GRAN_LINE:
        if (ln && ln->line > 0) {
            snprintf(full, sizeof full, "%s %s:%" PRId64, fname, *file ? base_name(file) : "?", ln->line);
            name = full;
        }
        break;
    case IG_GRAN_FILE:
        if (*file)
            name = file;
        else if (module)
            name = (snprintf(full, sizeof full, "[%s]", names_get(x->nm, module)), full);
        else
            name = loc->kind == IGNIS_FRAME_KERNEL ? "[kernel]" : "[no file]";
        break;
    case IG_GRAN_MODULE:
        name = module ? names_get(x->nm, module) : loc->kind == IGNIS_FRAME_KERNEL ? "[kernel]" : "[no module]";
        file = "";
        break;
    default: break;
    }
    if (x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE) {
        fname = "";
        line = 0;
    }
    uint32_t id = names_intern(x->nm, name);
    uint32_t fid = names_intern(x->nm, fname), file_id = names_intern(x->nm, file);
    names_note_source(x->nm, id, fid, file_id, line);
    return id;
}

/* Frames of one location, root-first: physical function, then inlined. */
static const frame *location_frames(expander *x, uint32_t loc_id, uint32_t *n)
{
    if (EL(x->loc_off, uint32_t, loc_id) == UINT32_MAX) {
        const ignis_location *loc = ignis_profile_location(x->p, loc_id);
        uint32_t nl = loc->nlines ? loc->nlines : 1;
        uint32_t module = 0;
        const ignis_mapping *m = ignis_profile_mapping(x->p, loc->mapping);
        if (m && m->filename)
            module = names_intern(x->nm, base_name(ignis_profile_string(x->p, m->filename)));
        int whole = x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE; /* no inlined frames */
        size_t off = x->pool.len;
        arr_push(&x->pool, nl);
        for (uint32_t i = 0; i < nl; i++) {
            uint32_t li = nl - 1 - i; /* physical (last line) first */
            frame *f = &EL(x->pool, frame, off + i);
            f->name = frame_name(x, loc_id, loc, li, module);
            f->module = module;
            f->kind = li + 1 < nl && !whole ? IG_NODE_INLINED : loc->kind;
        }
        EL(x->loc_off, uint32_t, loc_id) = (uint32_t)off;
        EL(x->loc_n, uint32_t, loc_id) = nl;
    }
    *n = EL(x->loc_n, uint32_t, loc_id);
    return &EL(x->pool, frame, EL(x->loc_off, uint32_t, loc_id));
}

/* Does regex r match name id? Cached per name. */
static int name_matches(expander *x, uint32_t name, int r)
{
    while (x->name_flags.len <= name)
        *(uint8_t *)arr_push(&x->name_flags, 1) = 0;
    uint8_t *f = &EL(x->name_flags, uint8_t, name);
    if (!(*f & 1)) {
        *f = 1;
        for (int i = 0; i < RE_COUNT - 1; i++)
            if (x->has_re[i] && !regexec(&x->re[i], names_get(x->nm, name), 0, NULL, 0))
                *f |= (uint8_t)(2u << i);
    }
    return (*f >> (r + 1)) & 1;
}

static int thread_matches(expander *x, uint32_t labels)
{
    if (!x->has_re[RE_THREAD])
        return 1;
    while (x->thread_ok.len <= labels)
        *(int8_t *)arr_push(&x->thread_ok, 1) = 0;
    int8_t *ok = &EL(x->thread_ok, int8_t, labels);
    if (!*ok) {
        const char *t = ignis_profile_label_str(x->p, labels, "thread");
        if (!t)
            t = ignis_profile_label_str(x->p, labels, "thread_name");
        char num[32];
        int64_t tid;
        if (!t && (ignis_profile_label_num(x->p, labels, "tid", &tid) ||
                   ignis_profile_label_num(x->p, labels, "thread_id", &tid))) {
            snprintf(num, sizeof num, "%" PRId64, tid);
            t = num;
        }
        *ok = t && !regexec(&x->re[RE_THREAD], t, 0, NULL, 0) ? 1 : -1;
    }
    return *ok > 0;
}

/* Expands sample s into out (root-first).  Returns the path length, or -1
 * when the filters drop the sample. */
static long expand(expander *x, const ignis_sample *s, arr *out)
{
    out->len = 0;
    if (!thread_matches(x, s->labels))
        return -1;
    size_t depth;
    const uint32_t *locs = ignis_profile_stack(x->p, s->stack, &depth);
    for (size_t i = depth; i > 0; i--) {
        uint32_t n;
        const frame *f = location_frames(x, locs[i - 1], &n);
        memcpy(arr_push(out, n), f, n * sizeof *f);
    }
    frame *fr = out->data;
    size_t n = out->len;
    if (x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE) {
        size_t k = 0; /* consecutive frames of one file or module merge */
        for (size_t i = 0; i < n; i++)
            if (!k || fr[k - 1].name != fr[i].name)
                fr[k++] = fr[i];
        out->len = n = k;
    }
    if (x->has_re[RE_IGNORE] || x->has_re[RE_FOCUS]) {
        int focus = !x->has_re[RE_FOCUS];
        for (size_t i = 0; i < n; i++) {
            if (x->has_re[RE_IGNORE] && name_matches(x, fr[i].name, RE_IGNORE))
                return -1;
            if (!focus && name_matches(x, fr[i].name, RE_FOCUS))
                focus = 1;
        }
        if (!focus)
            return -1;
    }
    if (x->has_re[RE_ROOT]) {
        /* root-first: start at the first match (callees of it); reversed:
         * end at the last match, so the reversed path starts there and
         * goes on to its callers */
        size_t i;
        if (x->reverse) {
            i = n;
            while (i > 0 && !name_matches(x, fr[i - 1].name, RE_ROOT))
                i--;
            if (!i)
                return -1;
            n = i;
        } else {
            i = 0;
            while (i < n && !name_matches(x, fr[i].name, RE_ROOT))
                i++;
            if (i == n)
                return -1;
            memmove(fr, fr + i, (n - i) * sizeof *fr);
            n -= i;
        }
        out->len = n;
    }
    if (x->reverse)
        for (size_t i = 0; i < n / 2; i++) {
            frame t = fr[i];
            fr[i] = fr[n - 1 - i];
            fr[n - 1 - i] = t;
        }
    return (long)n;
}

/* ---- tree ---------------------------------------------------------------- */

struct ig_tree {
    names nm;
    arr nodes; /* ig_tree_node */
    int diff;
    int value; /* value index used */
    int64_t min_total; /* pruning threshold the tree was built with */
    int reverse;       /* and its filters, applied to a diff base too */
    char *focus, *ignore, *thread, *root;
    ig_granularity gran;
    char vtype[64], vunit[64];
};

/* A sample's frame path, weighted by its value.  In general ids are keys
 * (name rank << 3 | kind) root-first, copied out of the expanded frames.
 * On the fast path (every location one frame, no frame filter) ids is the
 * sample's stack of location ids read in place from the profile, and a
 * per-location table gives each one's key: nothing is copied per frame. */
typedef struct path {
    const uint32_t *ids;
    uint32_t len;
    int64_t value;
} path;

typedef struct keyer {
    const uint32_t *loc_key; /* key per location id; NULL = ids are keys */
    int leaf_first;          /* ids run leaf-first: frame d is ids[len - 1 - d] */
} keyer;

static inline uint32_t key_at(const keyer *k, const path *pa, uint32_t d)
{
    uint32_t id = pa->ids[k->leaf_first ? pa->len - 1 - d : d];
    return k->loc_key ? k->loc_key[id] : id;
}

static void grow_names(arr *a, size_t n)
{
    if (a->len < n) {
        size_t old = a->len;
        arr_push(a, n - old);
        memset((uint32_t *)a->data + old, 0, (n - old) * sizeof(uint32_t));
    }
}

static int rank_cmp(const void *a, const void *b, void *ctx)
{
    const names *nm = ctx;
    return strcmp(names_get(nm, *(const uint32_t *)a), names_get(nm, *(const uint32_t *)b));
}

static void insertion_sort(uint64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Sorts a[0, n) ascending: insertion-sorted runs of 16, then bottom-up
 * merges through tmp (n elements); inline compares, no callback. */
static void sort_u64(uint64_t *a, size_t n, uint64_t *tmp)
{
    const size_t run = 16;
    for (size_t i = 0; i < n; i += run)
        insertion_sort(a + i, n - i < run ? n - i : run);
    uint64_t *src = a, *dst = tmp;
    for (size_t w = run; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j] < src[i] ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* A run of paths ord[lo, hi) sharing their first `depth` keys, the last of
 * them `key`: one node to emit under `parent` (depth 0 is the root). */
typedef struct group {
    uint32_t lo, hi, depth, parent, key;
    int64_t total;
} group;

/* Orders ord[lo, hi) by the key at `depth`, paths ending there first.
 * sk[i] gets (key + 1, or 0 for an ended path) << 32 | path index, so the
 * caller reads the runs from it.  Ties keep the path index order, and
 * input is often already in order (sorted files), which costs one scan. */
static void sort_level(const path *P, const keyer *k, uint32_t *ord, uint64_t *sk, uint64_t *tmp, uint32_t lo,
                       uint32_t hi, uint32_t depth)
{
    int sorted = 1;
    for (uint32_t i = lo; i < hi; i++) {
        const path *pa = &P[ord[i]];
        uint64_t key = pa->len > depth ? (uint64_t)key_at(k, pa, depth) + 1 : 0;
        sk[i] = key << 32 | ord[i];
        if (i > lo && sk[i] < sk[i - 1])
            sorted = 0;
    }
    if (sorted)
        return;
    sort_u64(sk + lo, hi - lo, tmp);
    for (uint32_t i = lo; i < hi; i++)
        ord[i] = (uint32_t)sk[i];
}

/* Emits the tree depth-first by sorting the paths one level at a time
 * (most significant key first): a node's paths are ordered by their next
 * key only when the node is emitted, and a run below min_total is skipped
 * whole, so neither it nor its subtree is ever sorted or materialised. */
static int build_from_paths(ig_tree *t, const path *P, size_t np, const keyer *k, const uint32_t *rank_name,
                            const uint32_t *name_module, int64_t min_total, ig_progress *pr)
{
    ig_progress_step(pr, "building the call tree", np);
    uint64_t ended = 0; /* paths that ended (at a node or in a pruned run): the progress */
    int cancelled = 0;
    uint32_t *ord = ig_xmalloc((np + 1) * sizeof *ord);
    uint64_t *sk = ig_xmalloc((np + 1) * sizeof *sk), *tmp = ig_xmalloc((np + 1) * sizeof *tmp);
    int64_t all = 0;
    for (size_t i = 0; i < np; i++) {
        ord[i] = (uint32_t)i;
        all = ig_sat_add(all, P[i].value);
    }
    /* last[d]: the last node emitted at depth d under the current parent
     * (pre-order: emitting a node at depth d resets depth d + 1) */
    arr stack = ARR(group), last = ARR(uint32_t);
    *(uint32_t *)arr_push(&last, 1) = 0;
    *(group *)arr_push(&stack, 1) = (group){0, (uint32_t)np, 0, UINT32_MAX, 0, all};
    uint32_t root_name = names_intern(&t->nm, "root");
    size_t ready = t->nodes.len; /* nodes prefaulted up to here */
    while (stack.len) {
        if (ended >= 65536) {
            cancelled = ig_progress_add(pr, ended);
            ended = 0;
            if (cancelled)
                break;
        }
        group g = EL(stack, group, --stack.len);
        uint32_t idx = (uint32_t)t->nodes.len;
        if (idx >= ready && idx < t->nodes.cap) { /* fault in the next 4 MB at once */
            size_t more = t->nodes.cap - idx < 65536 ? t->nodes.cap - idx : 65536;
            ig_prefault(&EL(t->nodes, ig_tree_node, idx), more * sizeof(ig_tree_node));
            ready = idx + more;
        }
        ig_tree_node *nd = arr_push(&t->nodes, 1);
        if (last.len < g.depth + 2)
            arr_push(&last, 1);
        EL(last, uint32_t, g.depth + 1) = 0;
        memset(nd, 0, sizeof *nd);
        nd->total = g.total;
        nd->depth = g.depth;
        if (g.depth) {
            nd->name = rank_name[g.key >> 3];
            nd->kind = (uint8_t)(g.key & 7);
            nd->module = name_module[nd->name];
            nd->parent = g.parent;
            ig_tree_node *nodes = t->nodes.data;
            uint32_t prev = EL(last, uint32_t, g.depth);
            if (prev)
                nodes[prev].next_sibling = idx;
            else
                nodes[g.parent].first_child = idx;
            EL(last, uint32_t, g.depth) = idx;
        } else {
            nd->name = root_name;
            nd->kind = IG_NODE_ROOT;
        }
        sort_level(P, k, ord, sk, tmp, g.lo, g.hi, g.depth);
        /* paths that end here come first: they are this node's self value */
        uint32_t i = g.lo;
        int64_t self = 0;
        while (i < g.hi && !(sk[i] >> 32))
            self = ig_sat_add(self, P[ord[i++]].value);
        ended += i - g.lo;
        EL(t->nodes, ig_tree_node, idx).self = self;
        /* children: runs of equal key at position depth, pushed in reverse */
        size_t first = stack.len;
        while (i < g.hi) {
            uint64_t key = sk[i] >> 32;
            int64_t sum = 0;
            uint32_t j = i;
            while (j < g.hi && sk[j] >> 32 == key)
                sum = ig_sat_add(sum, P[ord[j++]].value);
            if (!(min_total > 0 && sum < min_total))
                *(group *)arr_push(&stack, 1) = (group){i, j, g.depth + 1, idx, (uint32_t)(key - 1), sum};
            else
                ended += j - i;
            i = j;
        }
        for (size_t a = first, b = stack.len; b > a + 1; a++, b--) {
            group tmp = EL(stack, group, a);
            EL(stack, group, a) = EL(stack, group, b - 1);
            EL(stack, group, b - 1) = tmp;
        }
    }
    free(ord);
    free(sk);
    free(tmp);
    free(stack.data);
    free(last.data);
    return cancelled ? -1 : 0;
}

static void set_value_names(ig_tree *t, const ignis_profile *p)
{
    ignis_value_type vt = ignis_profile_value_type(p, (size_t)t->value);
    snprintf(t->vtype, sizeof t->vtype, "%s", ignis_profile_string(p, vt.type));
    snprintf(t->vunit, sizeof t->vunit, "%s", ignis_profile_string(p, vt.unit));
}

/* Can paths be read straight from the profile's stacks?  Yes when every
 * location is one frame and no regex looks at frames. */
static int fast_paths(const expander *x)
{
    if (x->has_re[RE_FOCUS] || x->has_re[RE_IGNORE] || x->has_re[RE_ROOT])
        return 0;
    if (x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE)
        return 0; /* frames merge: paths differ from stacks */
    size_t nloc = ignis_profile_num_locations(x->p);
    for (uint32_t id = 1; id <= nloc; id++)
        if (ignis_profile_location(x->p, id)->nlines > 1)
            return 0;
    return 1;
}

/* Records the module of each name: the first frame met with one, in path
 * order (what the slow path does per frame). */
static void note_modules(expander *x, const path *P, size_t np, int reverse, arr *name_module, size_t nnames)
{
    grow_names(name_module, nnames);
    uint32_t *nmod = name_module->data;
    for (size_t i = 0; i < np; i++)
        for (uint32_t d = 0; d < P[i].len; d++) {
            uint32_t loc = P[i].ids[reverse ? d : P[i].len - 1 - d], n;
            const frame *f = location_frames(x, loc, &n);
            if (!nmod[f->name])
                nmod[f->name] = f->module;
        }
}

/* Fast path: paths are the samples' stacks; names interned in the same
 * order as expand() would (root-first, sample by sample). */
static size_t collect_fast(expander *x, arr *paths, arr *name_module, size_t *nframes)
{
    size_t ns = ignis_profile_num_samples(x->p);
    int modules = 0;
    *nframes = 0;
    ig_progress_step(x->progress, "reading the samples", ns);
    for (size_t i = 0; i < ns; i++) {
        if ((i & 65535) == 65535 && ig_progress_add(x->progress, 65536))
            return 0;
        ignis_sample s = ignis_profile_sample(x->p, i);
        int64_t v = s.values[x->vi];
        if (!v || !thread_matches(x, s.labels))
            continue;
        size_t depth;
        const uint32_t *locs = ignis_profile_stack(x->p, s.stack, &depth);
        for (size_t j = depth; j-- > 0;)
            if (EL(x->loc_off, uint32_t, locs[j]) == UINT32_MAX) {
                uint32_t n;
                modules |= location_frames(x, locs[j], &n)->module != 0;
            }
        *(path *)arr_push(paths, 1) = (path){locs, (uint32_t)depth, v};
        *nframes += depth;
    }
    if (modules)
        note_modules(x, paths->data, paths->len, x->reverse, name_module, x->nm->strs.len);
    return paths->len;
}

/* General path: expand (and filter) every sample into keys of name ids. */
static void collect_keys(expander *x, arr *paths, arr *keys, arr *name_module)
{
    arr tmp = ARR(frame);
    size_t ns = ignis_profile_num_samples(x->p);
    ig_progress_step(x->progress, "reading the samples", ns);
    for (size_t i = 0; i < ns; i++) {
        if ((i & 65535) == 65535 && ig_progress_add(x->progress, 65536))
            break;
        ignis_sample s = ignis_profile_sample(x->p, i);
        int64_t v = s.values[x->vi];
        if (!v)
            continue;
        long n = expand(x, &s, &tmp);
        if (n < 0)
            continue;
        *(path *)arr_push(paths, 1) = (path){NULL, (uint32_t)n, v};
        uint32_t *k = arr_push(keys, (size_t)n);
        grow_names(name_module, x->nm->strs.len);
        for (long j = 0; j < n; j++) {
            const frame *f = &EL(tmp, frame, j);
            k[j] = f->name << 3 | f->kind;
            if (!EL(*name_module, uint32_t, f->name))
                EL(*name_module, uint32_t, f->name) = f->module;
        }
    }
    free(tmp.data);
}

/* Builds a plain tree into t (whose name table may already hold names). */
static int build_into(ig_tree *t, const ignis_profile *p, const ig_tree_opts *o, ig_err *err)
{
    expander x;
    if (expander_init(&x, p, &t->nm, o, err))
        return -1;
    t->value = x.vi;
    t->min_total = o ? o->min_total : 0;
    t->reverse = o ? o->reverse : 0;
    t->gran = o ? o->granularity : IG_GRAN_FUNCTION;
    set_value_names(t, p);
    arr paths = ARR(path), keys = ARR(uint32_t), name_module = ARR(uint32_t);
    int fast = fast_paths(&x);
    size_t nframes = 0;
    /* first pass: paths (and the names they use); names are ranked below */
    if (fast)
        collect_fast(&x, &paths, &name_module, &nframes);
    else
        collect_keys(&x, &paths, &keys, &name_module);
    if (ig_progress_cancelled(x.progress)) {
        free(keys.data);
        free(name_module.data);
        free(paths.data);
        expander_free(&x);
        return ig_err_set(err, "cancelled");
    }
    grow_names(&name_module, t->nm.strs.len + 1);
    /* rank names alphabetically so that sorted paths give sorted children */
    size_t nn = t->nm.strs.len;
    uint32_t *order = ig_xmalloc(nn * sizeof *order);
    uint32_t *rank = ig_xmalloc(nn * sizeof *rank);
    for (size_t i = 0; i < nn; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, nn, sizeof *order, rank_cmp, &t->nm);
    for (size_t i = 0; i < nn; i++)
        rank[order[i]] = (uint32_t)i;
    path *P = paths.data;
    keyer k = {NULL, 0};
    uint32_t *loc_key = NULL;
    if (fast) {
        size_t nloc = ignis_profile_num_locations(p);
        loc_key = ig_xcalloc(nloc + 1, sizeof *loc_key);
        for (uint32_t id = 1; id <= nloc; id++) {
            uint32_t off = EL(x.loc_off, uint32_t, id);
            if (off != UINT32_MAX) {
                const frame *f = &EL(x.pool, frame, off);
                loc_key[id] = rank[f->name] << 3 | f->kind;
            }
        }
        k.loc_key = loc_key;
        k.leaf_first = !x.reverse;
    } else {
        uint32_t *kd = keys.data;
        for (size_t i = 0; i < keys.len; i++)
            kd[i] = rank[kd[i] >> 3] << 3 | (kd[i] & 7);
        size_t off = 0;
        for (size_t i = 0; i < paths.len; i++) {
            P[i].ids = kd + off;
            off += P[i].len;
        }
        nframes = keys.len;
    }
    arr_reserve(&t->nodes, t->nodes.len + nframes + 1); /* a node per frame at most */
    int rc = build_from_paths(t, P, paths.len, &k, order, name_module.data, o ? o->min_total : 0, x.progress);
    arr_shrink(&t->nodes);
    free(loc_key);
    free(order);
    free(rank);
    free(keys.data);
    free(name_module.data);
    free(paths.data);
    expander_free(&x);
    return rc ? ig_err_set(err, "cancelled") : 0;
}

ig_tree *ig_tree_build(const ignis_profile *p, const ig_tree_opts *opts, ig_err *err)
{
    ig_tree *t = ig_xcalloc(1, sizeof *t);
    names_init(&t->nm);
    t->nodes = (arr)ARR(ig_tree_node);
    if (build_into(t, p, opts, err)) {
        ig_tree_free(t);
        return NULL;
    }
    if (opts) {
        t->focus = opts->focus ? ig_xstrdup(opts->focus) : NULL;
        t->ignore = opts->ignore ? ig_xstrdup(opts->ignore) : NULL;
        t->thread = opts->thread ? ig_xstrdup(opts->thread) : NULL;
        t->root = opts->root ? ig_xstrdup(opts->root) : NULL;
    }
    ig_tree_node *nodes = t->nodes.data;
    nodes[0].parent = 0;
    return t;
}

void ig_tree_free(ig_tree *t)
{
    if (!t)
        return;
    names_free(&t->nm);
    free(t->nodes.data);
    free(t->focus);
    free(t->ignore);
    free(t->thread);
    free(t->root);
    free(t);
}

/* ---- diff: merging a base tree ------------------------------------------ */

static int node_cmp(const ig_tree *t, const ig_tree_node *a, const ig_tree_node *b)
{
    int c = strcmp(names_get(&t->nm, a->name), names_get(&t->nm, b->name));
    return c ? c : (int)a->kind - (int)b->kind;
}

typedef struct merge_item {
    uint32_t a, b;      /* node in new tree / base tree; UINT32_MAX = absent */
    uint32_t parent;    /* index in the merged array */
} merge_item;

int ig_tree_add_base(ig_tree *t, const ignis_profile *base, ig_err *err)
{
    ig_tree *bt = ig_xcalloc(1, sizeof *bt);
    bt->nm = t->nm; /* share the name table while building the base */
    bt->nodes = (arr)ARR(ig_tree_node);
    int vi = ignis_profile_find_value(base, t->vtype);
    /* A pruned tree gets a base pruned 16 times finer: a base node dropped
     * there is worth under 1/16 of the smallest node shown, so deltas stay
     * within that, while memory stays proportional to what is drawn. */
    ig_tree_opts o = {vi, t->reverse, t->focus, t->ignore, t->thread, t->root, t->min_total / 16};
    o.granularity = t->gran;
    int rc = build_into(bt, base, &o, err);
    t->nm = bt->nm; /* it may have grown */
    if (rc) {
        free(bt->nodes.data);
        free(bt);
        return ig_err_prefix(err, "base profile");
    }
    const ig_tree_node *A = t->nodes.data, *Bn = bt->nodes.data;
    arr out = ARR(ig_tree_node), lastc = ARR(uint32_t), stack = ARR(merge_item), kids = ARR(merge_item);
    arr_reserve(&out, t->nodes.len + bt->nodes.len);
    arr_reserve(&lastc, t->nodes.len + bt->nodes.len);
    merge_item first = {0, 0, UINT32_MAX};
    *(merge_item *)arr_push(&stack, 1) = first;
    while (stack.len) {
        merge_item it = EL(stack, merge_item, --stack.len);
        uint32_t idx = (uint32_t)out.len;
        ig_tree_node *nd = arr_push(&out, 1);
        *(uint32_t *)arr_push(&lastc, 1) = 0;
        const ig_tree_node *src = it.a != UINT32_MAX ? &A[it.a] : &Bn[it.b];
        *nd = *src;
        nd->first_child = nd->next_sibling = 0;
        nd->total = it.a != UINT32_MAX ? A[it.a].total : 0;
        nd->self = it.a != UINT32_MAX ? A[it.a].self : 0;
        nd->base_total = it.b != UINT32_MAX ? Bn[it.b].total : 0;
        nd->base_self = it.b != UINT32_MAX ? Bn[it.b].self : 0;
        if (it.parent == UINT32_MAX) {
            nd->parent = 0;
        } else {
            ig_tree_node *o2 = out.data;
            nd->parent = it.parent;
            uint32_t last = EL(lastc, uint32_t, it.parent);
            if (last)
                o2[last].next_sibling = idx;
            else
                o2[it.parent].first_child = idx;
            EL(lastc, uint32_t, it.parent) = idx;
        }
        /* merge the two sorted child lists, then push them in reverse */
        kids.len = 0;
        uint32_t ca = it.a != UINT32_MAX ? A[it.a].first_child : 0;
        uint32_t cb = it.b != UINT32_MAX ? Bn[it.b].first_child : 0;
        while (ca || cb) {
            merge_item k = {UINT32_MAX, UINT32_MAX, idx};
            int c = !ca ? 1 : !cb ? -1 : node_cmp(t, &A[ca], &Bn[cb]);
            if (c <= 0) {
                k.a = ca;
                ca = A[ca].next_sibling;
            }
            if (c >= 0) {
                k.b = cb;
                cb = Bn[cb].next_sibling;
            }
            if (k.a == UINT32_MAX && t->min_total > 0)
                continue; /* base-only: total 0, below the pruning threshold */
            *(merge_item *)arr_push(&kids, 1) = k;
        }
        for (size_t i = kids.len; i > 0; i--)
            *(merge_item *)arr_push(&stack, 1) = EL(kids, merge_item, i - 1);
    }
    free(t->nodes.data);
    arr_shrink(&out);
    t->nodes = out;
    t->diff = 1;
    free(bt->nodes.data);
    free(bt);
    free(lastc.data);
    free(stack.data);
    free(kids.data);
    return 0;
}

size_t ig_tree_size(const ig_tree *t) { return t->nodes.len; }

const ig_tree_node *ig_tree_node_at(const ig_tree *t, uint32_t i)
{
    return i < t->nodes.len ? &EL(t->nodes, ig_tree_node, i) : NULL;
}

const char *ig_tree_name(const ig_tree *t, uint32_t name) { return names_get(&t->nm, name); }
int ig_tree_is_diff(const ig_tree *t) { return t->diff; }
int64_t ig_tree_total(const ig_tree *t) { return EL(t->nodes, ig_tree_node, 0).total; }
const char *ig_tree_value_type(const ig_tree *t) { return t->vtype; }
const char *ig_tree_value_unit(const ig_tree *t) { return t->vunit; }
ig_frame_source ig_tree_frame_source(const ig_tree *t, uint32_t name) { return names_source(&t->nm, name); }

int ig_tree_keep_samples(const ignis_profile *p, const ig_tree_opts *opts, uint8_t *keep, ig_err *err)
{
    names nm;
    names_init(&nm);
    ig_tree_opts o = opts ? *opts : (ig_tree_opts){-1, 0, NULL, NULL, NULL, NULL, 0};
    o.reverse = 0;
    expander x;
    if (expander_init(&x, p, &nm, &o, err)) {
        names_free(&nm);
        return -1;
    }
    arr tmp = ARR(frame);
    size_t ns = ignis_profile_num_samples(p);
    int cancelled = 0;
    ig_progress_step(x.progress, "filtering the samples", ns);
    for (size_t i = 0; i < ns && !cancelled; i++) {
        if ((i & 65535) == 65535)
            cancelled = ig_progress_add(x.progress, 65536);
        ignis_sample s = ignis_profile_sample(p, i);
        keep[i] = s.values[x.vi] != 0 && expand(&x, &s, &tmp) >= 0;
    }
    free(tmp.data);
    expander_free(&x);
    names_free(&nm);
    return cancelled ? ig_err_set(err, "cancelled") : 0;
}

/* ---- top table ----------------------------------------------------------- */

struct ig_top {
    names nm;
    arr rows;   /* ig_top_row, sorted */
    int64_t total;
    char *focus, *ignore, *thread, *root; /* filters, applied to a diff base too */
    ig_granularity gran;
    char vtype[64], vunit[64];
};

typedef struct top_acc {
    arr flat, cum, stamp, bflat, bcum; /* int64_t / int64_t / uint64_t per name */
} top_acc;

static void grow_to(arr *a, size_t n)
{
    if (a->len < n) {
        size_t old = a->len;
        arr_push(a, n - old);
        memset((char *)a->data + old * a->elem, 0, (n - old) * a->elem);
    }
}

/* Accumulates flat/cum per name of profile p into acc (base = 1: b arrays). */
static int top_accumulate(ig_top *t, top_acc *acc, const ignis_profile *p, const ig_tree_opts *o, int base,
                          ig_err *err)
{
    ig_tree_opts oo = o ? *o : (ig_tree_opts){-1, 0, NULL, NULL, NULL, NULL, 0};
    oo.reverse = 0;
    expander x;
    if (expander_init(&x, p, &t->nm, &oo, err))
        return -1;
    if (!base) {
        ignis_value_type vt = ignis_profile_value_type(p, (size_t)x.vi);
        snprintf(t->vtype, sizeof t->vtype, "%s", ignis_profile_string(p, vt.type));
        snprintf(t->vunit, sizeof t->vunit, "%s", ignis_profile_string(p, vt.unit));
    }
    arr tmp = ARR(frame);
    size_t ns = ignis_profile_num_samples(p);
    int cancelled = 0;
    ig_progress_step(x.progress, "counting per function", ns);
    for (size_t i = 0; i < ns; i++) {
        if ((i & 65535) == 65535 && (cancelled = ig_progress_add(x.progress, 65536)))
            break;
        ignis_sample s = ignis_profile_sample(p, i);
        int64_t v = s.values[x.vi];
        if (!v)
            continue;
        long n = expand(&x, &s, &tmp);
        if (n < 0)
            continue;
        if (!base)
            t->total = ig_sat_add(t->total, v);
        size_t nn = t->nm.strs.len;
        arr *flat = base ? &acc->bflat : &acc->flat, *cum = base ? &acc->bcum : &acc->cum;
        grow_to(flat, nn);
        grow_to(cum, nn);
        grow_to(&acc->stamp, nn);
        const frame *fr = tmp.data;
        uint64_t stamp = ((uint64_t)base << 63) | (i + 1);
        for (long j = 0; j < n; j++) {
            uint64_t *st = &EL(acc->stamp, uint64_t, fr[j].name);
            if (*st != stamp) {
                *st = stamp;
                EL(*cum, int64_t, fr[j].name) = ig_sat_add(EL(*cum, int64_t, fr[j].name), v);
            }
        }
        if (n > 0)
            EL(*flat, int64_t, fr[n - 1].name) = ig_sat_add(EL(*flat, int64_t, fr[n - 1].name), v);
    }
    free(tmp.data);
    expander_free(&x);
    return cancelled ? ig_err_set(err, "cancelled") : 0;
}

static int row_cmp_flat(const void *a, const void *b, void *ctx)
{
    const ig_top_row *x = a, *y = b;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    return strcmp(names_get(ctx, x->name), names_get(ctx, y->name));
}

static int row_cmp_cum(const void *a, const void *b, void *ctx)
{
    const ig_top_row *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    return row_cmp_flat(a, b, ctx);
}

static void top_rows(ig_top *t, top_acc *acc, ig_top_sort sort)
{
    size_t nn = t->nm.strs.len;
    grow_to(&acc->flat, nn);
    grow_to(&acc->cum, nn);
    grow_to(&acc->bflat, nn);
    grow_to(&acc->bcum, nn);
    t->rows.len = 0;
    for (size_t i = 1; i < nn; i++) {
        int64_t f = EL(acc->flat, int64_t, i), c = EL(acc->cum, int64_t, i);
        int64_t bf = EL(acc->bflat, int64_t, i), bc = EL(acc->bcum, int64_t, i);
        if (!f && !c && !bf && !bc)
            continue;
        ig_top_row *r = arr_push(&t->rows, 1);
        r->name = (uint32_t)i;
        r->flat = f;
        r->cum = c;
        r->base_flat = bf;
        r->base_cum = bc;
    }
    if (t->rows.len)
        qsort_r(t->rows.data, t->rows.len, sizeof(ig_top_row), sort == IG_SORT_CUM ? row_cmp_cum : row_cmp_flat,
            &t->nm);
}

static void acc_free(top_acc *acc)
{
    free(acc->flat.data);
    free(acc->cum.data);
    free(acc->stamp.data);
    free(acc->bflat.data);
    free(acc->bcum.data);
}

ig_top *ig_top_build(const ignis_profile *p, const ig_tree_opts *opts, ig_top_sort sort, ig_err *err)
{
    ig_top *t = ig_xcalloc(1, sizeof *t);
    names_init(&t->nm);
    t->rows = (arr)ARR(ig_top_row);
    top_acc acc = {ARR(int64_t), ARR(int64_t), ARR(uint64_t), ARR(int64_t), ARR(int64_t)};
    if (top_accumulate(t, &acc, p, opts, 0, err)) {
        acc_free(&acc);
        ig_top_free(t);
        return NULL;
    }
    top_rows(t, &acc, sort);
    acc_free(&acc);
    t->gran = opts ? opts->granularity : IG_GRAN_FUNCTION;
    if (opts) {
        t->focus = opts->focus ? ig_xstrdup(opts->focus) : NULL;
        t->ignore = opts->ignore ? ig_xstrdup(opts->ignore) : NULL;
        t->thread = opts->thread ? ig_xstrdup(opts->thread) : NULL;
        t->root = opts->root ? ig_xstrdup(opts->root) : NULL;
    }
    return t;
}

int ig_top_add_base(ig_top *t, const ignis_profile *base, ig_top_sort sort, ig_err *err)
{
    top_acc acc = {ARR(int64_t), ARR(int64_t), ARR(uint64_t), ARR(int64_t), ARR(int64_t)};
    grow_to(&acc.flat, t->nm.strs.len);
    grow_to(&acc.cum, t->nm.strs.len);
    for (size_t i = 0; i < t->rows.len; i++) {
        const ig_top_row *r = &EL(t->rows, ig_top_row, i);
        EL(acc.flat, int64_t, r->name) = r->flat;
        EL(acc.cum, int64_t, r->name) = r->cum;
    }
    ig_tree_opts o = {ignis_profile_find_value(base, t->vtype), 0, t->focus, t->ignore, t->thread, t->root, 0};
    o.granularity = t->gran;
    if (top_accumulate(t, &acc, base, &o, 1, err)) {
        acc_free(&acc);
        return ig_err_prefix(err, "base profile");
    }
    top_rows(t, &acc, sort);
    acc_free(&acc);
    return 0;
}

void ig_top_free(ig_top *t)
{
    if (!t)
        return;
    names_free(&t->nm);
    free(t->rows.data);
    free(t->focus);
    free(t->ignore);
    free(t->thread);
    free(t->root);
    free(t);
}

size_t ig_top_rows(const ig_top *t) { return t->rows.len; }
const ig_top_row *ig_top_row_at(const ig_top *t, size_t i)
{
    return i < t->rows.len ? &EL(t->rows, ig_top_row, i) : NULL;
}
const char *ig_top_name(const ig_top *t, uint32_t name) { return names_get(&t->nm, name); }
int64_t ig_top_total(const ig_top *t) { return t->total; }
const char *ig_top_value_type(const ig_top *t) { return t->vtype; }
const char *ig_top_value_unit(const ig_top *t) { return t->vunit; }
ig_frame_source ig_top_frame_source(const ig_top *t, uint32_t name) { return names_source(&t->nm, name); }

/* ---- value formatting (pprof's ScaledLabel) ------------------------------- */

void ig_format_value(int64_t v, const char *unit, char *buf, size_t len)
{
    static const struct { const char *unit; const char *names[5]; double step[5]; } scales[] = {
        {"nanoseconds", {"ns", "us", "ms", "s", NULL}, {1, 1e3, 1e6, 1e9, 0}},
        {"microseconds", {"us", "ms", "s", NULL, NULL}, {1, 1e3, 1e6, 0, 0}},
        {"milliseconds", {"ms", "s", NULL, NULL, NULL}, {1, 1e3, 0, 0, 0}},
        {"seconds", {"s", NULL, NULL, NULL, NULL}, {1, 0, 0, 0, 0}},
        {"bytes", {"B", "kB", "MB", "GB", "TB"}, {1, 1024.0, 1048576.0, 1073741824.0, 1099511627776.0}},
    };
    for (size_t s = 0; unit && s < sizeof scales / sizeof scales[0]; s++) {
        if (strcmp(unit, scales[s].unit))
            continue;
        double a = v < 0 ? -(double)v : (double)v;
        int k = 0;
        while (k + 1 < 5 && scales[s].names[k + 1] && a >= scales[s].step[k + 1])
            k++;
        char num[64];
        snprintf(num, sizeof num, "%.2f", (double)v / scales[s].step[k]);
        size_t n = strlen(num);
        if (n > 3 && !strcmp(num + n - 3, ".00"))
            num[n - 3] = '\0';
        if (!strcmp(num, "0") || !strcmp(num, "-0")) {
            snprintf(buf, len, "0");
            return;
        }
        snprintf(buf, len, "%s%s", num, scales[s].names[k]);
        return;
    }
    snprintf(buf, len, "%" PRId64, v);
}
