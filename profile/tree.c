/*
 * profile/tree.c — call trees and top tables from the profile model.
 *
 * Both views start the same way: every sample is expanded into its
 * root-first frame path (a location gives one frame per line, the physical
 * function first and its inlined callees after it), filtered, and weighted
 * by one value.  Label filters (thread, tagfocus, tagignore) are decided
 * once per label set, frame regexes once per frame name; each filter
 * notes whether it matched anything, and the value of every sample read
 * is summed before filtering, so percentages can be of the whole profile.
 * Frame names are interned into the view's own name table so views
 * outlive nothing.
 *
 * The tree is then built without any per-node hash: paths are ordered
 * by (name rank, kind) keys one level at a time, most significant first
 * (an MSD sort fused with the depth-first walk), so each new node is
 * appended in depth-first pre-order, children come out sorted by name, and
 * a run of paths below min_total is skipped before it is ever sorted.
 * When every location is a single frame, no regex looks at frames and no
 * two frames without a symbol of one module are neighbours (they merge:
 * profile/framename.h), the paths are the profile's own stacks read in place through a per-location
 * key table, so nothing is copied per frame (100 MB inputs have 6M).
 * A diff tree merges two such trees (the base's values as base_total /
 * base_self, scaled when normalized; base-only paths as nodes of total 0).
 * The base must have the same value types unless the value was chosen.
 *
 * The same expander gives the top table (flat at the leaf, cum once per
 * function per sample), the per-thread values of the thread picker, and
 * ig_profile_filter(), which copies the samples the filters keep into a
 * new profile, rebuilding locations whose inlined lines a frame filter cut.
 */
#include "profile/tree.h"
#include "profile/framename.h"
#include "utils/hash.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

/* ---- a small growable array -------------------------------------------- */

typedef struct arr {
    void *data;
    size_t len, cap, elem;
} arr;

/* Appends n elements (uninitialised) and returns the first; pushing none
 * to an empty array returns NULL (no offset from a null pointer). */
static void *arr_push(arr *a, size_t n)
{
    if (!a->data && !n)
        return NULL;
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

static char *xstrndup(const char *s, size_t n)
{
    char *d = ig_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

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
    uint8_t unsym; /* named by its module: merges with a like frame next to it */
} frame;

/* The frame regexes (cached per name as bits of name_flags), then the
 * thread regex (cached per label set with the label filters). */
enum { RE_FOCUS, RE_IGNORE, RE_ROOT, RE_HIDE, RE_SHOW, RE_PRUNE, RE_FRAMES, RE_THREAD = RE_FRAMES, RE_COUNT };
static const char *const re_flag[RE_COUNT] = {"--focus", "--ignore", "--show-from", "--hide",
                                              "--show",  "--prune-from", "--thread"};
#define RE_BIT(r) (1u << ((r) + 1))

/* Units of numeric label values and of tag filter ranges: a quantity is
 * converted to bytes or nanoseconds, or left as is (UNIT_NONE). */
enum { UNIT_NONE, UNIT_BYTES, UNIT_TIME };

/* One value of a tag filter: a regex, and a numeric range when the text
 * reads as one. */
typedef struct tag_value {
    regex_t re;
    int numeric, unit_kind;
    double lo, hi; /* inclusive, in bytes / nanoseconds / plain */
} tag_value;

typedef struct tag_filter {
    const char *spec;  /* as given, for messages */
    char *key;         /* NULL: any label */
    tag_value *values;
    size_t n;
    int ignore;        /* tagignore: a match drops the sample */
    int matched;       /* some label set matched */
} tag_filter;

typedef struct expander {
    const ignis_profile *p;
    names *nm;
    int vi;
    int reverse;
    ig_granularity gran;
    ig_progress *progress;
    regex_t re[RE_COUNT];
    int has_re[RE_COUNT];
    int frame_filters;  /* some frame regex is set */
    int label_filters;  /* the thread regex, a tag filter or keep_labels is set */
    int (*keep_labels)(void *ctx, const ignis_profile *p, uint32_t labels);
    void *keep_labels_ctx;
    tag_filter *tags;
    size_t ntags;
    unsigned matched;   /* RE_BIT(r): regex r matched (a frame, or a thread) */
    int64_t all;        /* value of every sample read, before filters */
    ig_pct_total pct_all, pct_kept; /* percentage bases (utils/percent.h): every sample read, those kept */
    arr loc_off;   /* uint32_t per location id: offset into pool, UINT32_MAX = not yet */
    arr loc_n;     /* uint32_t per location id */
    arr pool;      /* frame */
    arr name_flags;/* uint8_t per name: bit 0 computed, RE_BIT(r) match of frame regex r */
    arr labels_ok; /* int8_t per label set: 0 unknown, 1 keep, -1 drop */
    arr in_base;   /* int8_t per label set: 0 unknown, 1 a diff's base (pprof::base), -1 not */
} expander;

static void expander_free(expander *x)
{
    for (int r = 0; r < RE_COUNT; r++)
        if (x->has_re[r])
            regfree(&x->re[r]);
    for (size_t i = 0; i < x->ntags; i++) {
        for (size_t j = 0; j < x->tags[i].n; j++)
            regfree(&x->tags[i].values[j].re);
        free(x->tags[i].values);
        free(x->tags[i].key);
    }
    free(x->tags);
    free(x->loc_off.data);
    free(x->loc_n.data);
    free(x->pool.data);
    free(x->name_flags.data);
    free(x->labels_ok.data);
    free(x->in_base.data);
}

/* ---- regexes --------------------------------------------------------------- */

/* How big glibc's compiled form of an extended regex may grow, roughly:
 * regcomp copies a repeated item once per repetition ('+' as "xx*",
 * "{m,n}" n times), so repeating a repetition multiplies ("a++++...",
 * "((a+)+)+", "(a{99}){99}") and a short pattern can take minutes and
 * gigabytes.  Each item costs 1, a group the sum of its items, a
 * repetition multiplies the item before it. */
static double regex_cost(const char *p)
{
    double sum[64] = {0}, last[64] = {0};
    int d = 0;
    for (; *p; p++) {
        double mult = 0;
        switch (*p) {
        case '\\':
            if (p[1])
                p++;
            sum[d] += last[d] = 1;
            break;
        case '[': { /* a bracket expression is one item */
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q += q[0] == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=') && strchr(q + 2, ']') ? strchr(q + 2, ']') - q + 1 : 1;
            p = *q ? q : q - 1;
            sum[d] += last[d] = 1;
            break;
        }
        case '(':
            if (d < 63) {
                d++;
                sum[d] = last[d] = 0;
            }
            break;
        case ')':
            if (d > 0) {
                double g = sum[d] > 1 ? sum[d] : 1;
                d--;
                sum[d] += last[d] = g;
            }
            break;
        case '*': case '?': mult = 1; break;
        case '+': mult = 2; break;
        case '{': {
            char *end;
            unsigned long lo = strtoul(p + 1, &end, 10), hi = lo;
            if (*end == ',')
                hi = isdigit((unsigned char)end[1]) ? strtoul(end + 1, &end, 10) : (end++, lo + 1);
            if (*end != '}') {
                sum[d] += last[d] = 1;
                break;
            }
            p = end;
            mult = (double)(hi > lo ? hi : lo) + 1;
            break;
        }
        case '|': last[d] = 0; break;
        default: sum[d] += last[d] = 1;
        }
        if (mult > 0) { /* replace the last item by its repetition */
            sum[d] += last[d] * (mult - 1);
            last[d] *= mult;
        }
    }
    double total = 0;
    for (int i = 0; i <= d; i++)
        total += sum[i];
    return total;
}

/* Does pat stack repetition operators ("a++", "x?+*", "a{2}*")?  glibc
 * compiles such a stack in time exponential in its height (a 15-byte
 * pattern ran past the fuzzer's 12 s), and Go's regexp, which pprof users
 * type for, refuses them as "invalid nested repetition operator".  One
 * '?' after a repetition (Go's non-greedy "+?") is allowed. */
static bool nested_repetition(const char *p)
{
    int after_rep = 0; /* repetitions stacked on the current item */
    for (; *p; p++) {
        if (*p == '\\') {
            p += p[1] != 0;
            after_rep = 0;
        } else if (*p == '[') {
            const char *q = p + 1;
            q += *q == '^';
            q += *q == ']';
            while (*q && *q != ']')
                q++;
            p = *q ? q : q - 1;
            after_rep = 0;
        } else if (*p == '*' || *p == '+' || *p == '?' || (*p == '{' && isdigit((unsigned char)p[1]))) {
            if (after_rep && !(after_rep == 1 && *p == '?'))
                return true;
            after_rep++;
            if (*p == '{') {
                const char *q = strchr(p, '}');
                if (q)
                    p = q;
            }
        } else {
            after_rep = 0;
        }
    }
    return false;
}

/* Compiles pat (POSIX extended, no subexpressions) for option flag; a
 * pattern glibc would take too long to compile is refused. */
static int compile_regex(regex_t *re, const char *pat, const char *flag, ig_err *err)
{
    if (nested_repetition(pat))
        return ig_err_set(err, "%s: invalid regular expression '%s': invalid nested repetition operator", flag, pat);
    if (regex_cost(pat) > 2000)
        return ig_err_set(err, "%s: regular expression '%s' repeats repetitions too deeply (simplify it)", flag, pat);
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        return ig_err_set(err, "%s: invalid regular expression '%s': %s", flag, pat, msg);
    }
    return 0;
}

/* ---- quantities with units (tag filter ranges, numeric labels) ---------- */

typedef struct unit_def {
    const char *name;
    int kind;
    double factor;
} unit_def;

static const unit_def units[] = {
    {"b", UNIT_BYTES, 1}, {"byte", UNIT_BYTES, 1}, {"bytes", UNIT_BYTES, 1},
    {"kb", UNIT_BYTES, 1024.0}, {"kib", UNIT_BYTES, 1024.0}, {"kilobytes", UNIT_BYTES, 1024.0},
    {"mb", UNIT_BYTES, 1048576.0}, {"mib", UNIT_BYTES, 1048576.0}, {"megabytes", UNIT_BYTES, 1048576.0},
    {"gb", UNIT_BYTES, 1073741824.0}, {"gib", UNIT_BYTES, 1073741824.0},
    {"tb", UNIT_BYTES, 1099511627776.0}, {"tib", UNIT_BYTES, 1099511627776.0},
    {"pb", UNIT_BYTES, 1125899906842624.0},
    {"ns", UNIT_TIME, 1}, {"nanosecond", UNIT_TIME, 1}, {"nanoseconds", UNIT_TIME, 1},
    {"us", UNIT_TIME, 1e3}, {"\xc2\xb5s", UNIT_TIME, 1e3}, {"microsecond", UNIT_TIME, 1e3},
    {"microseconds", UNIT_TIME, 1e3}, {"ms", UNIT_TIME, 1e6}, {"millisecond", UNIT_TIME, 1e6},
    {"milliseconds", UNIT_TIME, 1e6}, {"s", UNIT_TIME, 1e9}, {"sec", UNIT_TIME, 1e9},
    {"second", UNIT_TIME, 1e9}, {"seconds", UNIT_TIME, 1e9}, {"m", UNIT_TIME, 60e9},
    {"min", UNIT_TIME, 60e9}, {"minute", UNIT_TIME, 60e9}, {"minutes", UNIT_TIME, 60e9},
    {"h", UNIT_TIME, 3600e9}, {"hour", UNIT_TIME, 3600e9}, {"hours", UNIT_TIME, 3600e9},
};

static const unit_def *unit_named(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == len && !strncasecmp(units[i].name, s, len))
            return &units[i];
    return NULL;
}

/* Parses "12", "-3", "1.5kb", "10ms" (all of [s, end)) into a value in base
 * units and its unit kind.  Returns 0, or -1 if it is not a quantity. */
static int parse_quantity(const char *s, const char *end, double *v, int *kind)
{
    const char *digits = s < end && *s == '-' ? s + 1 : s; /* pprof's bounds may be negative */
    const char *q = digits;
    while (q < end && (isdigit((unsigned char)*q) || *q == '.'))
        q++;
    if (q == digits || !isdigit((unsigned char)*digits))
        return -1;
    char num[64];
    if ((size_t)(q - s) >= sizeof num)
        return -1;
    memcpy(num, s, (size_t)(q - s));
    num[q - s] = '\0';
    char *nend;
    double d = strtod(num, &nend);
    if (*nend)
        return -1;
    *kind = UNIT_NONE;
    if (q < end) {
        const unit_def *u = unit_named(q, (size_t)(end - q));
        if (!u)
            return -1;
        d *= u->factor;
        *kind = u->kind;
    }
    *v = d;
    return 0;
}

/* "N", "N:", ":N", "N:M" (pprof's numeric tag ranges). */
static int parse_range(const char *s, tag_value *tv)
{
    const char *end = s + strlen(s), *colon = strchr(s, ':');
    int klo = UNIT_NONE, khi = UNIT_NONE;
    tv->lo = -HUGE_VAL;
    tv->hi = HUGE_VAL;
    if (!colon) {
        if (parse_quantity(s, end, &tv->lo, &klo))
            return -1;
        tv->hi = tv->lo;
        khi = klo;
    } else {
        if (colon == s && colon + 1 == end)
            return -1;
        if (colon > s && parse_quantity(s, colon, &tv->lo, &klo))
            return -1;
        if (colon + 1 < end && parse_quantity(colon + 1, end, &tv->hi, &khi))
            return -1;
        if (colon == s)
            klo = khi;
        if (colon + 1 == end)
            khi = klo;
    }
    if (klo != khi && klo != UNIT_NONE && khi != UNIT_NONE)
        return -1;
    tv->unit_kind = klo != UNIT_NONE ? klo : khi;
    tv->numeric = 1;
    return 0;
}

/* A numeric label's value in base units: its num_unit, else a key that
 * names a unit ("bytes"), else plain. */
static double label_quantity(const ignis_profile *p, const ignis_label *l, int *kind)
{
    const char *u = l->num_unit ? ignis_profile_string(p, l->num_unit) : "";
    const unit_def *d = *u ? unit_named(u, strlen(u)) : NULL;
    if (!d) {
        const char *k = ignis_profile_string(p, l->key);
        d = unit_named(k, strlen(k));
    }
    *kind = d ? d->kind : UNIT_NONE;
    return (double)l->num * (d ? d->factor : 1);
}

static int tag_filter_init(tag_filter *tf, const char *spec, int ignore, ig_err *err)
{
    const char *flag = ignore ? "--tagignore" : "--tagfocus";
    memset(tf, 0, sizeof *tf);
    tf->spec = spec;
    tf->ignore = ignore;
    const char *eq = strchr(spec, '='), *vals = spec;
    if (eq) {
        if (eq == spec)
            return ig_err_set(err, "%s=%s: missing label name before '='", flag, spec);
        tf->key = xstrndup(spec, (size_t)(eq - spec));
        vals = eq + 1;
    }
    if (!*vals)
        return ig_err_set(err, "%s=%s: no value to match", flag, spec);
    size_t n = 1;
    for (const char *c = vals; *c; c++)
        n += *c == ',';
    tf->values = ig_xcalloc(n, sizeof *tf->values);
    const char *v = vals;
    for (size_t i = 0; i < n; i++) {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        char *text = xstrndup(v, len);
        tag_value *tv = &tf->values[i];
        char which[512];
        snprintf(which, sizeof which, "%s=%s", flag, spec);
        if (compile_regex(&tv->re, text, which, err)) {
            free(text);
            return -1;
        }
        tf->n++;
        parse_range(text, tv);
        free(text);
        v = comma ? comma + 1 : v + len;
    }
    return 0;
}

static int tag_value_matches(const ignis_profile *p, const tag_value *tv, const ignis_label *l)
{
    if (l->str)
        return !regexec(&tv->re, ignis_profile_string(p, l->str), 0, NULL, 0);
    if (tv->numeric) {
        int kind;
        double q = label_quantity(p, l, &kind);
        if (tv->unit_kind == UNIT_NONE)
            q = (double)l->num;
        else if (kind != tv->unit_kind)
            return 0;
        return q >= tv->lo && q <= tv->hi;
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, l->num);
    return !regexec(&tv->re, num, 0, NULL, 0);
}

static int tag_matches(const ignis_profile *p, const tag_filter *tf, uint32_t labels)
{
    size_t n;
    const ignis_label *ls = ignis_profile_labels(p, labels, &n);
    for (size_t i = 0; i < n; i++) {
        if (tf->key && strcmp(ignis_profile_string(p, ls[i].key), tf->key))
            continue;
        for (size_t j = 0; j < tf->n; j++)
            if (tag_value_matches(p, &tf->values[j], &ls[i]))
                return 1;
    }
    return 0;
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
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
    x->labels_ok = (arr)ARR(int8_t);
    x->in_base = (arr)ARR(int8_t);
    static const ig_tree_opts none = {.value = -1};
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
    const char *pat[RE_COUNT] = {o->focus, o->ignore, o->root, o->hide, o->show, o->prune_from, o->thread};
    for (int r = 0; r < RE_COUNT; r++) {
        if (!pat[r] || !*pat[r])
            continue;
        if (compile_regex(&x->re[r], pat[r], re_flag[r], err)) {
            expander_free(x);
            return -1;
        }
        x->has_re[r] = 1;
        if (r < RE_FRAMES)
            x->frame_filters = 1;
    }
    size_t nf = list_len(o->tagfocus), ni = list_len(o->tagignore);
    x->tags = ig_xcalloc(nf + ni + 1, sizeof *x->tags);
    for (size_t i = 0; i < nf + ni; i++) {
        int bad = tag_filter_init(&x->tags[i], i < nf ? o->tagfocus[i] : o->tagignore[i - nf], i >= nf, err);
        x->ntags++; /* freed by expander_free even when incomplete */
        if (bad) {
            expander_free(x);
            return -1;
        }
    }
    x->keep_labels = o->keep_labels;
    x->keep_labels_ctx = o->keep_labels_ctx;
    x->label_filters = x->has_re[RE_THREAD] || x->ntags || x->keep_labels;
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
    const char *fname = ig_frame_display_name(x->p, loc_id, li, x->gran == IG_GRAN_ADDRESS, buf, sizeof buf);
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
            f->unsym = x->gran != IG_GRAN_ADDRESS && ig_frame_unsymbolized(x->p, loc, li);
        }
        EL(x->loc_off, uint32_t, loc_id) = (uint32_t)off;
        EL(x->loc_n, uint32_t, loc_id) = nl;
    }
    *n = EL(x->loc_n, uint32_t, loc_id);
    return &EL(x->pool, frame, EL(x->loc_off, uint32_t, loc_id));
}


/* Which frame regexes match name id (RE_BIT(r) bits)?  Cached per name. */
static unsigned name_flags(expander *x, uint32_t name)
{
    while (x->name_flags.len <= name)
        *(uint8_t *)arr_push(&x->name_flags, 1) = 0;
    uint8_t *f = &EL(x->name_flags, uint8_t, name);
    if (!(*f & 1)) {
        *f = 1;
        for (int r = 0; r < RE_FRAMES; r++)
            if (x->has_re[r] && !regexec(&x->re[r], names_get(x->nm, name), 0, NULL, 0))
                *f |= (uint8_t)RE_BIT(r);
    }
    return *f;
}

/* The name --thread matches for a label set: "thread", else "thread_name",
 * else the decimal "tid" or "thread_id" (written into num); NULL if none
 * (matched as ""). */
static const char *thread_name(const ignis_profile *p, uint32_t labels, char num[32])
{
    const char *t = ignis_profile_label_str(p, labels, "thread");
    if (!t)
        t = ignis_profile_label_str(p, labels, "thread_name");
    int64_t tid;
    if (!t && (ignis_profile_label_num(p, labels, "tid", &tid) || ignis_profile_label_num(p, labels, "thread_id", &tid))) {
        snprintf(num, 32, "%" PRId64, tid);
        t = num;
    }
    return t;
}

int ig_labels_in_diff_base(const ignis_profile *p, uint32_t labels)
{
    size_t n;
    const ignis_label *l = labels ? ignis_profile_labels(p, labels, &n) : NULL;
    for (size_t i = 0; l && i < n; i++)
        if (l[i].str && !strcmp(ignis_profile_string(p, l[i].key), IG_PCT_DIFF_BASE_KEY) &&
            !strcmp(ignis_profile_string(p, l[i].str), IG_PCT_DIFF_BASE_VALUE))
            return 1;
    return 0;
}

/* ig_labels_in_diff_base, cached per label set. */
static int in_diff_base(expander *x, uint32_t labels)
{
    if (!labels)
        return 0;
    while (x->in_base.len <= labels)
        *(int8_t *)arr_push(&x->in_base, 1) = 0;
    int8_t *b = &EL(x->in_base, int8_t, labels);
    if (!*b)
        *b = ig_labels_in_diff_base(x->p, labels) ? 1 : -1;
    return *b > 0;
}

/* A sample read (before filters): its value counts in the totals. */
static void count_read(expander *x, const ignis_sample *s, int64_t v)
{
    x->all = ig_sat_add(x->all, v);
    ig_pct_total_add(&x->pct_all, v, in_diff_base(x, s->labels));
}

/* A sample the filters kept: its value counts in the relative percentages' base. */
static void count_kept(expander *x, const ignis_sample *s, int64_t v)
{
    ig_pct_total_add(&x->pct_kept, v, in_diff_base(x, s->labels));
}

/* Do the label filters (thread, tagfocus, tagignore) keep a label set?
 * Cached per set; every filter is evaluated, so each one knows whether it
 * matched anything. */
static int labels_ok(expander *x, uint32_t labels)
{
    if (!x->label_filters)
        return 1;
    while (x->labels_ok.len <= labels)
        *(int8_t *)arr_push(&x->labels_ok, 1) = 0;
    int8_t *ok = &EL(x->labels_ok, int8_t, labels);
    if (!*ok) {
        int keep = 1;
        if (x->has_re[RE_THREAD]) {
            char num[32];
            const char *t = thread_name(x->p, labels, num);
            int m = !regexec(&x->re[RE_THREAD], t ? t : "", 0, NULL, 0);
            x->matched |= m ? RE_BIT(RE_THREAD) : 0;
            keep = m;
        }
        for (size_t i = 0; i < x->ntags; i++) {
            tag_filter *tf = &x->tags[i];
            int m = tag_matches(x->p, tf, labels);
            tf->matched |= m;
            if (tf->ignore ? m : !m)
                keep = 0;
        }
        if (keep && x->keep_labels && !x->keep_labels(x->keep_labels_ctx, x->p, labels))
            keep = 0;
        *ok = keep ? 1 : -1;
    }
    return *ok > 0;
}

/* The frames of a root-first path fr[0, n) that the frame filters keep
 * (before hide/show): [*lo, *hi).  Returns 0 when show_from (root) finds
 * no match, which drops the sample. */
static int kept_range(expander *x, const frame *fr, size_t n, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = n;
    if (x->has_re[RE_ROOT]) {
        /* root-first: start at the first match (callees of it); reversed:
         * end at the last match, so the reversed path starts there and
         * goes on to its callers */
        if (x->reverse) {
            while (*hi > 0 && !(name_flags(x, fr[*hi - 1].name) & RE_BIT(RE_ROOT)))
                (*hi)--;
            if (!*hi)
                return 0;
        } else {
            while (*lo < n && !(name_flags(x, fr[*lo].name) & RE_BIT(RE_ROOT)))
                (*lo)++;
            if (*lo == n)
                return 0;
        }
    }
    if (x->has_re[RE_PRUNE])
        for (size_t i = *hi; i > *lo; i--)
            if (name_flags(x, fr[i - 1].name) & RE_BIT(RE_PRUNE)) {
                *hi = i;
                break;
            }
    return 1;
}

/* Is a frame left by hide and show? */
static int frame_shown(expander *x, const frame *f)
{
    if (!x->has_re[RE_HIDE] && !x->has_re[RE_SHOW])
        return 1;
    unsigned fl = name_flags(x, f->name);
    return !(fl & RE_BIT(RE_HIDE)) && (!x->has_re[RE_SHOW] || (fl & RE_BIT(RE_SHOW)));
}

/* Do two frames next to each other in a path merge into one?  At file and
 * module granularity when they are of one file or module; else when both
 * are named by the module of code without a symbol (the same module). */
static int frames_merge(const expander *x, const frame *a, const frame *b)
{
    if (a->name != b->name)
        return 0;
    return x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE || (a->unsym && b->unsym);
}

static void merge_neighbours(const expander *x, arr *path)
{
    frame *fr = path->data;
    size_t k = 0;
    for (size_t i = 0; i < path->len; i++)
        if (!k || !frames_merge(x, &fr[k - 1], &fr[i]))
            fr[k++] = fr[i];
    path->len = k;
}

/* Expands sample s into out, root-first and unedited, and applies the
 * sample filters (labels, focus, ignore).  Returns the path length, or -1
 * when the filters drop the sample. */
static long sample_frames(expander *x, const ignis_sample *s, arr *out)
{
    out->len = 0;
    if (!labels_ok(x, s->labels))
        return -1;
    size_t depth;
    const uint32_t *locs = ignis_profile_stack(x->p, s->stack, &depth);
    for (size_t i = depth; i > 0; i--) {
        uint32_t n;
        const frame *f = location_frames(x, locs[i - 1], &n);
        memcpy(arr_push(out, n), f, n * sizeof *f);
    }
    merge_neighbours(x, out);
    if (x->frame_filters) {
        const frame *fr = out->data;
        unsigned any = 0;
        for (size_t i = 0; i < out->len; i++)
            any |= name_flags(x, fr[i].name);
        x->matched |= any & ~1u;
        if (x->has_re[RE_IGNORE] && (any & RE_BIT(RE_IGNORE)))
            return -1;
        if (x->has_re[RE_FOCUS] && !(any & RE_BIT(RE_FOCUS)))
            return -1;
    }
    return (long)out->len;
}

/* Expands sample s into out (root-first, or leaf-first when reversed) with
 * every filter applied.  Returns the path length, or -1 when the filters
 * drop the sample. */
static long expand(expander *x, const ignis_sample *s, arr *out)
{
    long len = sample_frames(x, s, out);
    if (len < 0)
        return -1;
    frame *fr = out->data;
    size_t n = (size_t)len;
    if (x->frame_filters) {
        size_t lo, hi;
        if (!kept_range(x, fr, n, &lo, &hi))
            return -1;
        n = 0;
        for (size_t i = lo; i < hi; i++)
            if (frame_shown(x, &fr[i]))
                fr[n++] = fr[i];
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

/* The first filter that matched nothing, described into buf ("" if none). */
static void describe_unmatched(const expander *x, const ig_tree_opts *o, char *buf, size_t len)
{
    static const int order[] = {RE_THREAD, RE_FOCUS, RE_IGNORE, RE_ROOT, RE_HIDE, RE_SHOW, RE_PRUNE};
    const char *pat[RE_COUNT] = {o->focus, o->ignore, o->root, o->hide, o->show, o->prune_from, o->thread};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int r = order[i];
        if (x->has_re[r] && !(x->matched & RE_BIT(r))) {
            snprintf(buf, len, "%s=%s: expression matched no samples", re_flag[r], pat[r]);
            return;
        }
        if (r == RE_THREAD)
            for (size_t t = 0; t < x->ntags; t++)
                if (!x->tags[t].matched) {
                    snprintf(buf, len, "%s=%s: expression matched no samples",
                             x->tags[t].ignore ? "--tagignore" : "--tagfocus", x->tags[t].spec);
                    return;
                }
    }
}

/* ---- options a view keeps (its filters apply to a diff base too) -------- */

static char *xstrdup_or_null(const char *s)
{
    return s ? ig_xstrdup(s) : NULL;
}

static const char *const *list_dup(const char *const *l)
{
    if (!l)
        return NULL;
    size_t n = list_len(l);
    char **d = ig_xcalloc(n + 1, sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = ig_xstrdup(l[i]);
    return (const char *const *)d;
}

static void list_free(const char *const *l)
{
    for (size_t i = 0; l && l[i]; i++)
        free((char *)l[i]);
    free((void *)l);
}

/* dst = a deep copy of src (or the defaults when src is NULL). */
static void opts_keep(ig_tree_opts *dst, const ig_tree_opts *src)
{
    static const ig_tree_opts none = {.value = -1};
    *dst = src ? *src : none;
    dst->focus = xstrdup_or_null(dst->focus);
    dst->ignore = xstrdup_or_null(dst->ignore);
    dst->thread = xstrdup_or_null(dst->thread);
    dst->root = xstrdup_or_null(dst->root);
    dst->hide = xstrdup_or_null(dst->hide);
    dst->show = xstrdup_or_null(dst->show);
    dst->prune_from = xstrdup_or_null(dst->prune_from);
    dst->tagfocus = list_dup(dst->tagfocus);
    dst->tagignore = list_dup(dst->tagignore);
}

static void opts_release(ig_tree_opts *o)
{
    free((char *)o->focus);
    free((char *)o->ignore);
    free((char *)o->thread);
    free((char *)o->root);
    free((char *)o->hide);
    free((char *)o->show);
    free((char *)o->prune_from);
    list_free(o->tagfocus);
    list_free(o->tagignore);
}

/* ---- which value a diff compares ----------------------------------------- */

/* The value types of p as "type/unit" lines. */
static char *value_types(const ignis_profile *p)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    for (size_t i = 0; i < ignis_profile_num_values(p); i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        ig_sb_printf(&sb, "%s/%s\n", ignis_profile_string(p, vt.type), ignis_profile_string(p, vt.unit));
    }
    ig_sb_putc(&sb, '\0');
    return ig_sb_detach(&sb, NULL);
}

/* Is every line of a also a line of b? */
static int lines_within(const char *a, const char *b)
{
    for (const char *l = a; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = (size_t)(e - l);
        int found = 0;
        for (const char *m = b; *m && !found;) {
            const char *f = strchr(m, '\n');
            found = (size_t)(f - m) == len && !memcmp(l, m, len);
            m = f + 1;
        }
        if (!found)
            return 0;
        l = e + 1;
    }
    return 1;
}

/* "[a/b c/d]" of a value_types() text. */
static void types_display(const char *types, char *buf, size_t len)
{
    snprintf(buf, len, "[%s", types);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
    if (n + 2 <= len) {
        buf[n] = ']';
        buf[n + 1] = '\0';
    }
}

/* The index in base of the value (vtype, vunit) of a profile whose value
 * types are `types`; see ig_tree_add_base. */
static int base_value(const char *types, const char *vtype, const char *vunit, int explicit_value,
                      const ignis_profile *base, ig_err *err)
{
    char *btypes = value_types(base);
    int same = lines_within(types, btypes) && lines_within(btypes, types), bi = -1;
    for (size_t i = 0; i < ignis_profile_num_values(base) && bi < 0; i++) {
        ignis_value_type vt = ignis_profile_value_type(base, i);
        if (!strcmp(ignis_profile_string(base, vt.type), vtype) && !strcmp(ignis_profile_string(base, vt.unit), vunit))
            bi = (int)i;
    }
    if (bi < 0 || (!same && !explicit_value)) {
        char a[256], b[256];
        types_display(types, a, sizeof a);
        types_display(btypes, b, sizeof b);
        if (bi >= 0)
            ig_err_set(err, "incompatible sample types %s and %s (--value picks one both have)", a, b);
        else
            ig_err_set(err, "incompatible sample types %s and %s", a, b);
        bi = -1;
    }
    free(btypes);
    return bi;
}

int ig_diff_base_value(const ignis_profile *p, int vi, int explicit_value, const ignis_profile *base, ig_err *err)
{
    if (vi < 0 || (size_t)vi >= ignis_profile_num_values(p))
        return ig_err_set(err, "--value: no value #%d", vi);
    char *types = value_types(p);
    ignis_value_type vt = ignis_profile_value_type(p, (size_t)vi);
    int bi = base_value(types, ignis_profile_string(p, vt.type), ignis_profile_string(p, vt.unit), explicit_value,
                        base, err);
    free(types);
    return bi;
}

/* v * f, rounded, saturating. */
static int64_t scale_value(int64_t v, double f)
{
    if (f == 1)
        return v;
    double r = nearbyint((double)v * f);
    if (r >= 9223372036854775807.0)
        return INT64_MAX;
    if (r <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)r;
}

/* ---- tree ---------------------------------------------------------------- */

struct ig_tree {
    names nm;
    arr nodes; /* ig_tree_node */
    int diff;
    int value;            /* value index used */
    ig_tree_opts opts;    /* as built (a copy): applied to a diff base too */
    char *types;          /* the profile's value types (value_types) */
    int64_t total_all;    /* every sample, before filters */
    int64_t base_total_all;
    int64_t pct_all, pct_kept;           /* percentage bases (utils/percent.h): every sample, those kept */
    int64_t base_pct_all, base_pct_kept; /* the same of a diff's base, unscaled */
    double base_scale;    /* diff: base values were multiplied by this */
    int64_t *widths;      /* diff with removed frames: drawn width per node (ig_tree_draw_width) */
    uint32_t *name_module;/* per name id: its module's name id (0 = none) */
    size_t nname_module;
    char unmatched[256];  /* the first filter that matched nothing, or "" */
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
                            int64_t min_total, ig_progress *pr)
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

/* Is location id a frame without a symbol (one that may merge)?  Asked of
 * the profile, not through location_frames, so that names are interned in
 * the order the paths meet them. */
static int unsymbolized_location(const expander *x, uint32_t id)
{
    const ignis_location *loc = ignis_profile_location(x->p, id);
    return x->gran != IG_GRAN_ADDRESS && loc->nlines <= 1 && ig_frame_unsymbolized(x->p, loc, 0);
}

/* Does a stack hold two locations without a symbol of one module next to
 * each other (frames that merge, so its path is not the stack)? */
static int unsymbolized_neighbours(const expander *x)
{
    size_t nloc = ignis_profile_num_locations(x->p), ns = ignis_profile_num_stacks(x->p);
    uint32_t id = 1;
    while (id <= nloc && !unsymbolized_location(x, id))
        id++;
    if (id > nloc)
        return 0; /* every frame has a symbol: no stack to look at */
    char a[512], b[512];
    for (uint32_t s = 1; s <= ns; s++) {
        size_t depth;
        const uint32_t *locs = ignis_profile_stack(x->p, s, &depth);
        for (size_t i = 1; i < depth; i++)
            if (unsymbolized_location(x, locs[i - 1]) && unsymbolized_location(x, locs[i]) &&
                !strcmp(ig_frame_region_name(x->p, ignis_profile_location(x->p, locs[i - 1]), a, sizeof a),
                        ig_frame_region_name(x->p, ignis_profile_location(x->p, locs[i]), b, sizeof b)))
                return 1;
    }
    return 0;
}

/* Can paths be read straight from the profile's stacks?  Yes when every
 * location is one frame, no regex looks at frames and no frames merge. */
static int fast_paths(const expander *x)
{
    if (x->frame_filters)
        return 0;
    if (x->gran == IG_GRAN_FILE || x->gran == IG_GRAN_MODULE)
        return 0; /* frames merge: paths differ from stacks */
    size_t nloc = ignis_profile_num_locations(x->p);
    for (uint32_t id = 1; id <= nloc; id++)
        if (ignis_profile_location(x->p, id)->nlines > 1)
            return 0;
    return !unsymbolized_neighbours(x);
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
    /* once every location has its frames, stacks need not be read here:
     * a path is a pointer to its stack (1M stacks: 120 MB not read) */
    size_t nloc = ignis_profile_num_locations(x->p), unexpanded = 0;
    for (size_t id = 1; id <= nloc; id++)
        unexpanded += id >= x->loc_off.len || EL(x->loc_off, uint32_t, id) == UINT32_MAX;
    int modules = 0;
    *nframes = 0;
    ig_progress_step(x->progress, "reading the samples", ns);
    for (size_t i = 0; i < ns; i++) {
        if ((i & 65535) == 65535 && ig_progress_add(x->progress, 65536))
            return 0;
        ignis_sample s = ignis_profile_sample(x->p, i);
        int64_t v = s.values[x->vi];
        if (!v)
            continue;
        count_read(x, &s, v);
        if (!labels_ok(x, s.labels))
            continue;
        count_kept(x, &s, v);
        size_t depth;
        const uint32_t *locs = ignis_profile_stack(x->p, s.stack, &depth);
        for (size_t j = depth; unexpanded && j-- > 0;)
            if (EL(x->loc_off, uint32_t, locs[j]) == UINT32_MAX) {
                uint32_t n;
                modules |= location_frames(x, locs[j], &n)->module != 0;
                unexpanded--;
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
        count_read(x, &s, v);
        long n = expand(x, &s, &tmp);
        if (n < 0)
            continue;
        count_kept(x, &s, v);
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
            P[i].ids = kd ? kd + off : NULL; /* NULL: every path is empty */
            off += P[i].len;
        }
        nframes = keys.len;
    }
    arr_reserve(&t->nodes, t->nodes.len + nframes + 1); /* a node per frame at most */
    int rc = build_from_paths(t, P, paths.len, &k, order, o ? o->min_total : 0, x.progress);
    arr_shrink(&t->nodes);
    free(t->name_module); /* the tree keeps the modules of its names */
    t->name_module = name_module.data;
    t->nname_module = name_module.len;
    name_module = (arr)ARR(uint32_t);
    free(loc_key);
    free(order);
    free(rank);
    free(keys.data);
    free(name_module.data);
    free(paths.data);
    t->total_all = x.all;
    t->pct_all = ig_pct_total_get(&x.pct_all);
    t->pct_kept = ig_pct_total_get(&x.pct_kept);
    if (o)
        describe_unmatched(&x, o, t->unmatched, sizeof t->unmatched);
    expander_free(&x);
    return rc ? ig_err_set(err, "cancelled") : 0;
}

ig_tree *ig_tree_build(const ignis_profile *p, const ig_tree_opts *opts, ig_err *err)
{
    ig_tree *t = ig_xcalloc(1, sizeof *t);
    names_init(&t->nm);
    t->nodes = (arr)ARR(ig_tree_node);
    opts_keep(&t->opts, opts);
    t->types = value_types(p);
    t->base_scale = 1;
    if (build_into(t, p, &t->opts, err)) {
        ig_tree_free(t);
        return NULL;
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
    free(t->widths);
    free(t->name_module);
    opts_release(&t->opts);
    free(t->types);
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

/* 14M nodes for 1M stacks: every 8 bytes is 110 MB of the viewer's peak */
_Static_assert(sizeof(ig_tree_node) == 56, "ig_tree_node grew");

uint32_t ig_tree_node_module(const ig_tree *t, const ig_tree_node *n)
{
    return n->name < t->nname_module ? t->name_module[n->name] : 0;
}

/* A diff's names come from both trees (they share the name table): a name
 * only in the base takes its module from the base. */
static void merge_name_modules(ig_tree *t, ig_tree *bt)
{
    if (bt->nname_module > t->nname_module) {
        t->name_module = ig_xrealloc(t->name_module, bt->nname_module * sizeof *t->name_module);
        memset(t->name_module + t->nname_module, 0, (bt->nname_module - t->nname_module) * sizeof *t->name_module);
        t->nname_module = bt->nname_module;
    }
    for (size_t i = 0; i < bt->nname_module; i++)
        if (!t->name_module[i])
            t->name_module[i] = bt->name_module[i];
}

int ig_tree_node_removed(const ig_tree *t, const ig_tree_node *n)
{
    return t->diff && n->total == 0 && n->base_total > 0;
}

/* A diff's drawn widths: a removed frame is as wide as its base total, any
 * other node as its total plus the widths of the removed frames below it.
 * Nodes are in pre-order, so a backward pass sees children first.  Kept
 * only when some frame is removed (else the totals are the widths). */
static void diff_widths(ig_tree *t)
{
    const ig_tree_node *nodes = t->nodes.data;
    size_t n = t->nodes.len, nremoved = 0;
    free(t->widths);
    t->widths = NULL;
    for (size_t i = 0; i < n; i++)
        nremoved += ig_tree_node_removed(t, &nodes[i]);
    if (!nremoved)
        return;
    int64_t *w = ig_xmalloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = ig_tree_node_removed(t, &nodes[i]) ? nodes[i].base_total : nodes[i].total;
    for (size_t i = n; i-- > 1;) {
        uint32_t p = nodes[i].parent;
        if (!ig_tree_node_removed(t, &nodes[p]))
            w[p] = ig_sat_add(w[p], ig_sat_sub(w[i], nodes[i].total));
    }
    t->widths = w;
}

int64_t ig_tree_draw_width(const ig_tree *t, uint32_t node)
{
    return t->widths ? t->widths[node] : ((const ig_tree_node *)t->nodes.data)[node].total;
}

int ig_tree_add_base(ig_tree *t, const ignis_profile *base, ig_err *err)
{
    int vi = base_value(t->types, t->vtype, t->vunit, t->opts.value >= 0, base, err);
    if (vi < 0)
        return ig_err_prefix(err, "base profile");
    ig_tree *bt = ig_xcalloc(1, sizeof *bt);
    bt->nm = t->nm; /* share the name table while building the base */
    bt->nodes = (arr)ARR(ig_tree_node);
    /* A pruned tree gets a base pruned 16 times finer: a base node dropped
     * there is worth under 1/16 of the smallest node shown, so deltas stay
     * within that, while memory stays proportional to what is drawn.  The
     * base's total (before filters) is only known after its build, so a
     * normalized base is pruned by the whole profiles' ratio. */
    ig_tree_opts o = t->opts;
    o.value = vi;
    double scale = 1;
    if (t->opts.normalize) {
        int64_t btotal = ignis_profile_total(base, (size_t)vi);
        scale = btotal > 0 && t->total_all > 0 ? (double)t->total_all / (double)btotal : 1;
    }
    o.min_total = scale_value(t->opts.min_total / 16, 1 / scale);
    int rc = build_into(bt, base, &o, err);
    t->nm = bt->nm; /* it may have grown */
    if (rc) {
        free(bt->nodes.data);
        free(bt->name_module);
        free(bt);
        return ig_err_prefix(err, "base profile");
    }
    t->base_total_all = bt->total_all;
    t->base_pct_all = bt->pct_all;
    t->base_pct_kept = bt->pct_kept;
    t->base_scale = scale;
    merge_name_modules(t, bt);
    if (scale != 1) {
        ig_tree_node *bn = bt->nodes.data;
        for (size_t i = 0; i < bt->nodes.len; i++) {
            bn[i].total = scale_value(bn[i].total, scale);
            bn[i].self = scale_value(bn[i].self, scale);
        }
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
            if (k.a == UINT32_MAX && Bn[k.b].total < t->opts.min_total)
                continue; /* base-only, below the pruning threshold */
            *(merge_item *)arr_push(&kids, 1) = k;
        }
        for (size_t i = kids.len; i > 0; i--)
            *(merge_item *)arr_push(&stack, 1) = EL(kids, merge_item, i - 1);
    }
    free(t->nodes.data);
    arr_shrink(&out);
    t->nodes = out;
    t->diff = 1;
    diff_widths(t);
    free(bt->nodes.data);
    free(bt->name_module);
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
int64_t ig_tree_total_all(const ig_tree *t) { return t->total_all; }
int64_t ig_tree_pct_total(const ig_tree *t) { return t->opts.relative ? t->pct_kept : t->pct_all; }
int64_t ig_tree_pct_total_all(const ig_tree *t) { return t->pct_all; }
int64_t ig_tree_pct_total_kept(const ig_tree *t) { return t->pct_kept; }
int64_t ig_tree_base_pct_total(const ig_tree *t)
{
    return scale_value(t->opts.relative ? t->base_pct_kept : t->base_pct_all, t->base_scale);
}
int64_t ig_tree_base_total_all(const ig_tree *t) { return t->base_total_all; }
double ig_tree_base_scale(const ig_tree *t) { return t->base_scale; }

int ig_tree_unmatched(const ig_tree *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s", t->unmatched);
    return t->unmatched[0] != '\0';
}
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
    int diff;
    int64_t total, total_all;           /* kept / every sample */
    int64_t base_total, base_total_all; /* diff: the base's (kept scaled, all raw) */
    int64_t pct_all, pct_kept;          /* percentage bases (utils/percent.h): every sample, those kept */
    double base_scale;
    ig_tree_opts opts;                  /* filters, applied to a diff base too */
    char *types;                        /* the profile's value types (value_types) */
    char unmatched[256];
    char vtype[64], vunit[64];
};

/* A name's cum while samples are counted, beside the stamp that says
 * whether the sample being counted has added to it already: one cache
 * line per frame rather than two (the counting is a random access per
 * frame of every sample, the most of `ignis report`'s own time). */
typedef struct name_hot {
    uint64_t stamp;
    int64_t cum;
} name_hot;

typedef struct top_acc {
    arr flat, cum, hot, bflat, bcum; /* int64_t / int64_t / name_hot per name */
} top_acc;

static void grow_to(arr *a, size_t n)
{
    if (a->len < n) {
        size_t old = a->len;
        arr_push(a, n - old);
        memset((char *)a->data + old * a->elem, 0, (n - old) * a->elem);
    }
}

/* Room for every name in the accumulators. */
static void top_grow(ig_top *t, top_acc *acc)
{
    size_t nn = t->nm.strs.len;
    grow_to(&acc->flat, nn);
    grow_to(&acc->bflat, nn);
    grow_to(&acc->hot, nn);
}

/* Adds v to the cum of every name of fr[0, n) not yet stamped (stamp: one
 * per sample, so a name counts once per sample). */
static void top_cum(top_acc *acc, uint64_t stamp, int64_t v, const frame *fr, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        name_hot *h = &EL(acc->hot, name_hot, fr[j].name);
        if (h->stamp != stamp) {
            h->stamp = stamp;
            h->cum = ig_sat_add(h->cum, v);
        }
    }
}

/* Moves the cums counted in hot into cum (base: bcum), which hold none yet. */
static void top_cum_done(top_acc *acc, int base)
{
    arr *cum = base ? &acc->bcum : &acc->cum;
    grow_to(cum, acc->hot.len);
    for (size_t i = 0; i < acc->hot.len; i++)
        EL(*cum, int64_t, i) = EL(acc->hot, name_hot, i).cum;
    acc->hot.len = 0;
}

static void top_flat(top_acc *acc, int base, uint32_t name, int64_t v)
{
    arr *flat = base ? &acc->bflat : &acc->flat;
    EL(*flat, int64_t, name) = ig_sat_add(EL(*flat, int64_t, name), v);
}

static uint64_t top_stamp(int base, size_t i)
{
    return ((uint64_t)base << 63) | (i + 1);
}

/* Without frame filters a sample's frames are its locations' frames in
 * any order (cum counts distinct names, and merging equal neighbours at
 * file or module granularity changes no name), the leaf location's last
 * frame flat: read in place, nothing is copied.  single[loc] is the name
 * of a location that is one frame (0: not known yet or a frame named "",
 * UINT32_MAX: several frames), so the common frame costs one small array
 * read rather than location_frames' three.  0 when the labels drop the
 * sample. */
static int top_add_stack(ig_top *t, top_acc *acc, expander *x, int base, size_t i, const ignis_sample *s,
                         uint32_t *single)
{
    if (!labels_ok(x, s->labels))
        return 0;
    size_t depth;
    uint32_t n;
    const uint32_t *locs = ignis_profile_stack(x->p, s->stack, &depth);
    int64_t v = s->values[x->vi];
    uint64_t stamp = top_stamp(base, i);
    for (size_t j = 0; j < depth; j++) {
        uint32_t name = single[locs[j]];
        if (name && name != UINT32_MAX) {
            frame one = {.name = name};
            top_cum(acc, stamp, v, &one, 1);
            if (j == 0)
                top_flat(acc, base, name, v);
            continue;
        }
        const frame *fr = location_frames(x, locs[j], &n);
        single[locs[j]] = n == 1 ? fr[0].name : UINT32_MAX;
        if (acc->hot.len < t->nm.strs.len) /* the location brought new names */
            top_grow(t, acc);
        top_cum(acc, stamp, v, fr, n);
        if (j == 0)
            top_flat(acc, base, fr[n - 1].name, v);
    }
    return 1;
}

/* Accumulates flat/cum per name of profile p into acc (base = 1: b arrays). */
static int top_accumulate(ig_top *t, top_acc *acc, const ignis_profile *p, const ig_tree_opts *o, int base,
                          ig_err *err)
{
    ig_tree_opts oo = *o;
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
    int64_t kept = 0;
    size_t ns = ignis_profile_num_samples(p);
    uint32_t *single = ig_xcalloc(ignis_profile_num_locations(p) + 1, sizeof *single);
    int cancelled = 0;
    ig_progress_step(x.progress, "counting per function", ns);
    for (size_t i = 0; i < ns; i++) {
        if ((i & 65535) == 65535 && (cancelled = ig_progress_add(x.progress, 65536)))
            break;
        ignis_sample s = ignis_profile_sample(p, i);
        int64_t v = s.values[x.vi];
        if (!v)
            continue;
        count_read(&x, &s, v);
        if (!x.frame_filters) {
            if (top_add_stack(t, acc, &x, base, i, &s, single)) {
                kept = ig_sat_add(kept, v);
                count_kept(&x, &s, v);
            }
            continue;
        }
        long n = expand(&x, &s, &tmp);
        if (n < 0)
            continue;
        kept = ig_sat_add(kept, v);
        count_kept(&x, &s, v);
        top_grow(t, acc);
        top_cum(acc, top_stamp(base, i), v, tmp.data, (size_t)n);
        if (n > 0)
            top_flat(acc, base, EL(tmp, frame, n - 1).name, v);
    }
    free(single);
    top_grow(t, acc);
    top_cum_done(acc, base);
    if (base) {
        t->base_total = kept;
        t->base_total_all = x.all;
    } else {
        t->total = kept;
        t->total_all = x.all;
        t->pct_all = ig_pct_total_get(&x.pct_all);
        t->pct_kept = ig_pct_total_get(&x.pct_kept);
        describe_unmatched(&x, o, t->unmatched, sizeof t->unmatched);
    }
    free(tmp.data);
    expander_free(&x);
    return cancelled ? ig_err_set(err, "cancelled") : 0;
}

typedef struct row_order {
    const names *nm;
    int diff;
} row_order;

static int64_t abs_delta(int64_t now, int64_t was)
{
    return ig_sat_abs(ig_sat_sub(now, was));
}

static int cmp_desc(int64_t a, int64_t b)
{
    return a != b ? (a > b ? -1 : 1) : 0;
}

static int row_cmp_flat(const void *a, const void *b, void *ctx)
{
    const ig_top_row *x = a, *y = b;
    const row_order *ro = ctx;
    int c = 0;
    if (ro->diff && !(c = cmp_desc(abs_delta(x->flat, x->base_flat), abs_delta(y->flat, y->base_flat))))
        c = cmp_desc(abs_delta(x->cum, x->base_cum), abs_delta(y->cum, y->base_cum));
    if (!c && !(c = cmp_desc(ig_sat_abs(x->flat), ig_sat_abs(y->flat))))
        c = cmp_desc(ig_sat_abs(x->cum), ig_sat_abs(y->cum));
    return c ? c : strcmp(names_get(ro->nm, x->name), names_get(ro->nm, y->name));
}

static int row_cmp_cum(const void *a, const void *b, void *ctx)
{
    const ig_top_row *x = a, *y = b;
    const row_order *ro = ctx;
    int c = ro->diff ? cmp_desc(abs_delta(x->cum, x->base_cum), abs_delta(y->cum, y->base_cum))
                     : cmp_desc(ig_sat_abs(x->cum), ig_sat_abs(y->cum));
    return c ? c : row_cmp_flat(a, b, ctx);
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
    row_order ro = {&t->nm, t->diff};
    if (t->rows.len)
        qsort_r(t->rows.data, t->rows.len, sizeof(ig_top_row), sort == IG_SORT_CUM ? row_cmp_cum : row_cmp_flat,
                &ro);
}

static void acc_free(top_acc *acc)
{
    free(acc->flat.data);
    free(acc->cum.data);
    free(acc->hot.data);
    free(acc->bflat.data);
    free(acc->bcum.data);
}

ig_top *ig_top_build(const ignis_profile *p, const ig_tree_opts *opts, ig_top_sort sort, ig_err *err)
{
    ig_top *t = ig_xcalloc(1, sizeof *t);
    names_init(&t->nm);
    t->rows = (arr)ARR(ig_top_row);
    t->base_scale = 1;
    opts_keep(&t->opts, opts);
    t->types = value_types(p);
    top_acc acc = {ARR(int64_t), ARR(int64_t), ARR(name_hot), ARR(int64_t), ARR(int64_t)};
    if (top_accumulate(t, &acc, p, &t->opts, 0, err)) {
        acc_free(&acc);
        ig_top_free(t);
        return NULL;
    }
    top_rows(t, &acc, sort);
    acc_free(&acc);
    return t;
}

int ig_top_add_base(ig_top *t, const ignis_profile *base, ig_top_sort sort, ig_err *err)
{
    int vi = base_value(t->types, t->vtype, t->vunit, t->opts.value >= 0, base, err);
    if (vi < 0)
        return ig_err_prefix(err, "base profile");
    top_acc acc = {ARR(int64_t), ARR(int64_t), ARR(name_hot), ARR(int64_t), ARR(int64_t)};
    grow_to(&acc.flat, t->nm.strs.len);
    grow_to(&acc.cum, t->nm.strs.len);
    for (size_t i = 0; i < t->rows.len; i++) {
        const ig_top_row *r = &EL(t->rows, ig_top_row, i);
        EL(acc.flat, int64_t, r->name) = r->flat;
        EL(acc.cum, int64_t, r->name) = r->cum;
    }
    ig_tree_opts o = t->opts;
    o.value = vi;
    if (top_accumulate(t, &acc, base, &o, 1, err)) {
        acc_free(&acc);
        return ig_err_prefix(err, "base profile");
    }
    t->base_scale = 1;
    if (t->opts.normalize && t->base_total_all > 0 && t->total_all > 0)
        t->base_scale = (double)t->total_all / (double)t->base_total_all;
    if (t->base_scale != 1) {
        grow_to(&acc.bflat, t->nm.strs.len);
        grow_to(&acc.bcum, t->nm.strs.len);
        for (size_t i = 0; i < acc.bflat.len; i++) {
            EL(acc.bflat, int64_t, i) = scale_value(EL(acc.bflat, int64_t, i), t->base_scale);
            EL(acc.bcum, int64_t, i) = scale_value(EL(acc.bcum, int64_t, i), t->base_scale);
        }
        t->base_total = scale_value(t->base_total, t->base_scale);
    }
    t->diff = 1;
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
    opts_release(&t->opts);
    free(t->types);
    free(t);
}

size_t ig_top_rows(const ig_top *t) { return t->rows.len; }
const ig_top_row *ig_top_row_at(const ig_top *t, size_t i)
{
    return i < t->rows.len ? &EL(t->rows, ig_top_row, i) : NULL;
}
const char *ig_top_name(const ig_top *t, uint32_t name) { return names_get(&t->nm, name); }
int64_t ig_top_total(const ig_top *t) { return t->total; }
int64_t ig_top_total_all(const ig_top *t) { return t->total_all; }
int64_t ig_top_pct_total(const ig_top *t) { return t->opts.relative ? t->pct_kept : t->pct_all; }
int64_t ig_top_pct_total_all(const ig_top *t) { return t->pct_all; }
int64_t ig_top_pct_total_kept(const ig_top *t) { return t->pct_kept; }
int ig_top_is_diff(const ig_top *t) { return t->diff; }
int64_t ig_top_base_total(const ig_top *t) { return t->base_total; }
int64_t ig_top_base_total_all(const ig_top *t) { return t->base_total_all; }
double ig_top_base_scale(const ig_top *t) { return t->base_scale; }
const char *ig_top_value_type(const ig_top *t) { return t->vtype; }
const char *ig_top_value_unit(const ig_top *t) { return t->vunit; }
ig_frame_source ig_top_frame_source(const ig_top *t, uint32_t name) { return names_source(&t->nm, name); }

int ig_top_unmatched(const ig_top *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s", t->unmatched);
    return t->unmatched[0] != '\0';
}

/* ---- threads --------------------------------------------------------------- */

struct ig_threads {
    names nm;
    arr rows;        /* ig_thread_row */
    int64_t total, total_all;
    int64_t pct_all, pct_kept; /* percentage bases (utils/percent.h): every sample, those kept */
};

static int thread_row_cmp(const void *a, const void *b)
{
    const ig_thread_row *x = a, *y = b;
    int c = cmp_desc(x->value, y->value);
    return c ? c : strcmp(x->name, y->name);
}

ig_threads *ig_threads_build(const ignis_profile *p, const ig_tree_opts *opts, ig_err *err)
{
    ig_threads *t = ig_xcalloc(1, sizeof *t);
    names_init(&t->nm);
    t->rows = (arr)ARR(ig_thread_row);
    ig_tree_opts o = opts ? *opts : (ig_tree_opts){.value = -1};
    o.thread = NULL;
    o.reverse = 0;
    names frames;  /* the expander's frame names, apart from the thread names */
    names_init(&frames);
    expander x;
    if (expander_init(&x, p, &frames, &o, err)) {
        names_free(&frames);
        ig_threads_free(t);
        return NULL;
    }
    arr tmp = ARR(frame), value = ARR(int64_t), by_labels = ARR(uint32_t); /* labels -> name id + 1 */
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        int64_t v = s.values[x.vi];
        if (!v)
            continue;
        count_read(&x, &s, v);
        if (expand(&x, &s, &tmp) < 0)
            continue;
        count_kept(&x, &s, v);
        grow_names(&by_labels, (size_t)s.labels + 1);
        uint32_t *id = &EL(by_labels, uint32_t, s.labels);
        if (!*id) {
            char num[32];
            const char *name = thread_name(p, s.labels, num);
            *id = names_intern(&t->nm, name ? name : "") + 1;
        }
        grow_to(&value, t->nm.strs.len);
        EL(value, int64_t, *id - 1) = ig_sat_add(EL(value, int64_t, *id - 1), v);
        t->total = ig_sat_add(t->total, v);
    }
    for (size_t i = 0; i < value.len; i++)
        if (EL(value, int64_t, i))
            *(ig_thread_row *)arr_push(&t->rows, 1) = (ig_thread_row){names_get(&t->nm, (uint32_t)i),
                                                                        EL(value, int64_t, i)};
    if (t->rows.len)
        qsort(t->rows.data, t->rows.len, sizeof(ig_thread_row), thread_row_cmp);
    t->total_all = x.all;
    t->pct_all = ig_pct_total_get(&x.pct_all);
    t->pct_kept = ig_pct_total_get(&x.pct_kept);
    free(tmp.data);
    free(value.data);
    free(by_labels.data);
    expander_free(&x);
    names_free(&frames);
    return t;
}

void ig_threads_free(ig_threads *t)
{
    if (!t)
        return;
    names_free(&t->nm);
    free(t->rows.data);
    free(t);
}

size_t ig_threads_count(const ig_threads *t) { return t->rows.len; }
const ig_thread_row *ig_threads_row(const ig_threads *t, size_t i)
{
    return i < t->rows.len ? &EL(t->rows, ig_thread_row, i) : NULL;
}
int64_t ig_threads_total(const ig_threads *t) { return t->total; }
int64_t ig_threads_total_all(const ig_threads *t) { return t->total_all; }
int64_t ig_threads_pct_total(const ig_threads *t, int relative) { return relative ? t->pct_kept : t->pct_all; }

char *ig_thread_regex(const char *const *names_, size_t n)
{
    if (!n)
        return NULL;
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_puts(&sb, "^(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            ig_sb_putc(&sb, '|');
        for (const char *c = names_[i]; *c; c++) {
            if (strchr("\\^$.|?*+()[]{}", *c))
                ig_sb_putc(&sb, '\\');
            ig_sb_putc(&sb, *c);
        }
    }
    ig_sb_puts(&sb, ")$");
    return ig_sb_detach(&sb, NULL);
}

/* ---- filtered copy --------------------------------------------------------- */

/* Ids of the new profile for ids of the old one, made on first use. */
typedef struct copier {
    const ignis_profile *p;
    ignis_profile *q;
    arr mapping, function, location, labels; /* uint32_t per old id: new id, 0 = not yet */
    arr lines;                                /* ignis_line scratch */
} copier;

static uint32_t *slot(arr *a, uint32_t id)
{
    grow_names(a, (size_t)id + 1);
    return &EL(*a, uint32_t, id);
}

static uint32_t copy_string(copier *c, uint32_t id)
{
    return id ? ignis_profile_intern(c->q, ignis_profile_string(c->p, id)) : 0;
}

static uint32_t copy_mapping(copier *c, uint32_t id)
{
    const ignis_mapping *m = ignis_profile_mapping(c->p, id);
    if (!m)
        return 0;
    uint32_t *s = slot(&c->mapping, id);
    if (!*s) {
        ignis_mapping n = *m;
        n.filename = copy_string(c, m->filename);
        n.build_id = copy_string(c, m->build_id);
        *s = ignis_profile_add_mapping(c->q, &n);
    }
    return *s;
}

static uint32_t copy_function(copier *c, uint32_t id)
{
    const ignis_function *f = ignis_profile_function(c->p, id);
    if (!f)
        return 0;
    uint32_t *s = slot(&c->function, id);
    if (!*s) {
        ignis_function n = {copy_string(c, f->name), copy_string(c, f->system_name), copy_string(c, f->filename),
                            f->start_line};
        *s = ignis_profile_add_function(c->q, &n);
    }
    return *s;
}

/* The location's lines[first, first + n) as a location of the new profile
 * (the whole location is copied once and remembered). */
static uint32_t copy_lines(copier *c, uint32_t id, uint32_t first, uint32_t n)
{
    const ignis_location *loc = ignis_profile_location(c->p, id);
    int whole = first == 0 && n == loc->nlines;
    uint32_t *s = whole ? slot(&c->location, id) : NULL;
    if (s && *s)
        return *s;
    c->lines.len = 0;
    for (uint32_t i = first; i < first + n; i++) {
        ignis_line l = loc->lines[i];
        l.function = copy_function(c, l.function);
        *(ignis_line *)arr_push(&c->lines, 1) = l;
    }
    ignis_location nl = *loc;
    nl.mapping = copy_mapping(c, loc->mapping);
    nl.lines = c->lines.data;
    nl.nlines = n;
    uint32_t nid = ignis_profile_add_location(c->q, &nl);
    if (s)
        *s = nid;
    return nid;
}

static uint32_t copy_labels(copier *c, uint32_t id)
{
    if (!id)
        return 0;
    uint32_t *s = slot(&c->labels, id);
    if (!*s) {
        size_t n;
        const ignis_label *ls = ignis_profile_labels(c->p, id, &n);
        ignis_label *nl = ig_xmalloc((n ? n : 1) * sizeof *nl);
        for (size_t i = 0; i < n; i++)
            nl[i] = (ignis_label){copy_string(c, ls[i].key), copy_string(c, ls[i].str), ls[i].num,
                                  copy_string(c, ls[i].num_unit)};
        *s = ignis_profile_add_labels(c->q, nl, n);
        free(nl);
    }
    return *s;
}

static void copy_metadata(copier *c)
{
    const ignis_profile *p = c->p;
    for (size_t i = 0; i < ignis_profile_num_values(p); i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        ignis_profile_add_value_type(c->q, ignis_profile_string(p, vt.type), ignis_profile_string(p, vt.unit));
    }
    ignis_value_type pt = ignis_profile_period_type(p);
    if (pt.type || pt.unit || ignis_profile_period(p))
        ignis_profile_set_period(c->q, ignis_profile_string(p, pt.type), ignis_profile_string(p, pt.unit),
                                 ignis_profile_period(p));
    ignis_profile_set_time(c->q, ignis_profile_time_nanos(p), ignis_profile_duration_nanos(p));
    if (ignis_profile_default_sample_type(p))
        ignis_profile_set_default_sample_type(c->q, ignis_profile_string(p, ignis_profile_default_sample_type(p)));
    for (size_t i = 0; i < ignis_profile_num_comments(p); i++)
        ignis_profile_add_comment(c->q, ignis_profile_string(p, ignis_profile_comment(p, i)));
    if (ignis_profile_drop_frames(p) || ignis_profile_keep_frames(p))
        ignis_profile_set_drop_keep(c->q, ignis_profile_string(p, ignis_profile_drop_frames(p)),
                                    ignis_profile_string(p, ignis_profile_keep_frames(p)));
}

/* Appends to stack (leaf-first, built root-first here and reversed by the
 * caller) the locations of one stack entry whose frames fr[0, n) are kept
 * where keep[i].  Frame i of a location is its line n - 1 - i; kept lines
 * form runs, and a location that keeps every line is copied as it is. */
static void copy_entry(copier *c, uint32_t loc_id, const uint8_t *keep, uint32_t n, arr *stack)
{
    const ignis_location *loc = ignis_profile_location(c->p, loc_id);
    if (!loc->nlines) { /* one frame named by its address */
        if (keep[0])
            *(uint32_t *)arr_push(stack, 1) = copy_lines(c, loc_id, 0, 0);
        return;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++)
        kept += keep[i];
    if (!kept)
        return;
    if (kept == n) {
        *(uint32_t *)arr_push(stack, 1) = copy_lines(c, loc_id, 0, n);
        return;
    }
    /* the kept lines, inlined-first, as one new location */
    c->lines.len = 0;
    for (uint32_t li = 0; li < n; li++)
        if (keep[n - 1 - li]) {
            ignis_line l = loc->lines[li];
            l.function = copy_function(c, l.function);
            *(ignis_line *)arr_push(&c->lines, 1) = l;
        }
    ignis_location nl = *loc;
    nl.mapping = copy_mapping(c, loc->mapping);
    nl.lines = c->lines.data;
    nl.nlines = kept;
    *(uint32_t *)arr_push(stack, 1) = ignis_profile_add_location(c->q, &nl);
}

ignis_profile *ig_profile_filter(const ignis_profile *p, const ig_tree_opts *opts, char *unmatched, size_t len,
                                 ig_err *err)
{
    ig_tree_opts o = {.value = -1};
    if (opts) { /* the filters only: frames stay one per line */
        o.focus = opts->focus, o.ignore = opts->ignore, o.thread = opts->thread, o.root = opts->root;
        o.hide = opts->hide, o.show = opts->show, o.prune_from = opts->prune_from;
        o.tagfocus = opts->tagfocus, o.tagignore = opts->tagignore;
        o.keep_labels = opts->keep_labels, o.keep_labels_ctx = opts->keep_labels_ctx;
    }
    names nm;
    names_init(&nm);
    expander x;
    if (expander_init(&x, p, &nm, &o, err)) {
        names_free(&nm);
        return NULL;
    }
    copier c = {p, ignis_profile_new(), ARR(uint32_t), ARR(uint32_t), ARR(uint32_t), ARR(uint32_t), ARR(ignis_line)};
    copy_metadata(&c);
    arr tmp = ARR(frame), keep = ARR(uint8_t), stack = ARR(uint32_t);
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        long n = sample_frames(&x, &s, &tmp);
        size_t lo = 0, hi = n > 0 ? (size_t)n : 0;
        if (n < 0 || (x.frame_filters && !kept_range(&x, tmp.data, (size_t)n, &lo, &hi)))
            continue;
        keep.len = 0;
        uint8_t *k = arr_push(&keep, (size_t)n + 1);
        for (size_t f = 0; f < (size_t)n; f++)
            k[f] = f >= lo && f < hi && frame_shown(&x, &EL(tmp, frame, f));
        size_t depth, off = 0;
        const uint32_t *locs = ignis_profile_stack(p, s.stack, &depth);
        stack.len = 0;
        for (size_t d = depth; d > 0; d--) { /* root-first, as the frames */
            uint32_t nf;
            location_frames(&x, locs[d - 1], &nf);
            copy_entry(&c, locs[d - 1], k + off, nf, &stack);
            off += nf;
        }
        uint32_t *st = stack.data;
        for (size_t a = 0, b = stack.len; b > a + 1; a++, b--) {
            uint32_t t = st[a];
            st[a] = st[b - 1];
            st[b - 1] = t;
        }
        uint32_t sid = ignis_profile_add_stack(c.q, st, stack.len);
        uint32_t labels = copy_labels(&c, s.labels);
        if (opts && opts->relabel)
            labels = opts->relabel(opts->relabel_ctx, c.q, labels);
        ignis_profile_add_sample(c.q, sid, labels, s.values);
    }
    free(tmp.data);
    free(keep.data);
    free(stack.data);
    free(c.mapping.data);
    free(c.function.data);
    free(c.location.data);
    free(c.labels.data);
    free(c.lines.data);
    if (unmatched && len)
        describe_unmatched(&x, &o, unmatched, len);
    expander_free(&x);
    names_free(&nm);
    return c.q;
}

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
    /* fractional counts (a folded file with "1.5"), stored scaled */
    static const struct { const char *unit; int digits; int64_t scale; } counts[] = {
        {"milli-count", 3, 1000}, {"micro-count", 6, 1000000}, {"nano-count", 9, 1000000000}};
    for (size_t s = 0; unit && s < sizeof counts / sizeof counts[0]; s++) {
        if (strcmp(unit, counts[s].unit))
            continue;
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, m = (uint64_t)counts[s].scale;
        char frac[16];
        int fl = snprintf(frac, sizeof frac, "%0*" PRIu64, counts[s].digits, a % m);
        while (fl > 0 && frac[fl - 1] == '0')
            frac[--fl] = '\0';
        snprintf(buf, len, "%s%" PRIu64 "%s%s", v < 0 ? "-" : "", a / m, fl ? "." : "", frac);
        return;
    }
    snprintf(buf, len, "%" PRId64, v);
}

