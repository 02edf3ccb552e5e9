/*
 * profile/source.c — per-line costs of functions beside their source.
 *
 * The samples are walked once, leaf first.  Each function id of the
 * profile is resolved once to a routine (name and file) or to "not
 * listed", so the regex runs once per function, never per frame.  Costs
 * go to (routine, line) entries found through one id table; a per-sample
 * stamp on each entry and routine counts cum once per sample however
 * often the line recurs in the stack.  Then each routine's entries are
 * sorted by line, widened by the context into ranges, and the ranges are
 * filled with the text of the source file, which is read once per path
 * (bounded, regular files only: a FIFO or a device named by a hostile
 * profile is never opened for reading, O_NONBLOCK guards the open).
 * Line numbers come from the profile and may be anything: they are only
 * compared and widened with overflow checks, never used to size memory.
 */
#include "profile/source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/hash.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"

#define SOURCE_MAX_FILE ((size_t)64 << 20)
#define SOURCE_MAX_LINE 4096

enum { FN_UNKNOWN = 0, FN_SKIP = UINT32_MAX };

typedef struct routine {
    uint32_t name, file; /* profile string ids */
    int64_t start_line;  /* the first function's start line, 0 unknown */
    int64_t flat, cum, nl_flat, nl_cum;
    uint64_t stamp, nl_stamp;
} routine;

typedef struct entry {
    uint32_t routine;
    int64_t line, flat, cum;
    uint64_t stamp;
} entry;

typedef struct src_file {
    char *path;  /* the file read, NULL when none */
    char *why;
    char *data;  /* contents, NUL-terminated */
    size_t *off; /* start of each line (1-based line i at off[i - 1]) */
    size_t nlines;
} src_file;

struct ig_source {
    ig_source_fn *fns;
    size_t nfns;
    ig_source_line *lines;
    char **strs; /* every string the listing owns */
    size_t nstrs, capstrs;
    int64_t total, all;
    ig_pct_total pct_kept, pct_all; /* percentage bases (utils/percent.h) */
    char vtype[64], vunit[64];
};

/* ---- the walk ---------------------------------------------------------------- */

typedef struct walker {
    const ignis_profile *p;
    regex_t re;
    uint32_t *fn_routine;   /* per function id: routine + 1, FN_SKIP, or FN_UNKNOWN */
    routine *rt;
    size_t nrt, caprt;
    ig_idtab rt_ids;        /* (name, file) -> routine + 1 */
    entry *en;
    size_t nen, capen;
    ig_idtab en_ids;        /* (routine, line) -> entry + 1 */
} walker;

static int routine_eq(const void *ctx, uint32_t id, const void *key)
{
    const routine *r = &((const walker *)ctx)->rt[id - 1];
    const uint32_t *k = key;
    return r->name == k[0] && r->file == k[1];
}

static int entry_eq(const void *ctx, uint32_t id, const void *key)
{
    const entry *e = &((const walker *)ctx)->en[id - 1];
    const entry *k = key;
    return e->routine == k->routine && e->line == k->line;
}

/* The routine of function id fn, or FN_SKIP when its name does not match. */
static uint32_t routine_of(walker *w, uint32_t fn)
{
    uint32_t *slot = &w->fn_routine[fn];
    if (*slot != FN_UNKNOWN)
        return *slot;
    const ignis_function *f = ignis_profile_function(w->p, fn);
    const char *name = f ? ignis_profile_string(w->p, f->name) : "";
    if (!*name || regexec(&w->re, name, 0, NULL, 0)) {
        *slot = FN_SKIP;
        return *slot;
    }
    uint32_t key[2] = {f->name, f->filename};
    uint64_t h = ig_hash_u64(ig_hash_u64(1, f->name), f->filename);
    uint32_t id = ig_idtab_find(&w->rt_ids, h, key, routine_eq, w);
    if (!id) {
        if (w->nrt == w->caprt) {
            w->caprt = w->caprt ? 2 * w->caprt : 16;
            w->rt = ig_xrealloc(w->rt, w->caprt * sizeof *w->rt);
        }
        w->rt[w->nrt++] = (routine){f->name, f->filename, f->start_line > 0 ? f->start_line : 0,
                                    0, 0, 0, 0, 0, 0};
        id = (uint32_t)w->nrt;
        ig_idtab_insert(&w->rt_ids, h, id);
    }
    *slot = id;
    return id;
}

static entry *entry_of(walker *w, uint32_t routine, int64_t line)
{
    entry key = {routine, line, 0, 0, 0};
    uint64_t h = ig_hash_u64(ig_hash_u64(2, routine), (uint64_t)line);
    uint32_t id = ig_idtab_find(&w->en_ids, h, &key, entry_eq, w);
    if (!id) {
        if (w->nen == w->capen) {
            w->capen = w->capen ? 2 * w->capen : 64;
            w->en = ig_xrealloc(w->en, w->capen * sizeof *w->en);
        }
        w->en[w->nen++] = key;
        id = (uint32_t)w->nen;
        ig_idtab_insert(&w->en_ids, h, id);
    }
    return &w->en[id - 1];
}

/* Charges one frame (function fn at line) of sample number stamp. */
static void charge(walker *w, uint32_t fn, int64_t line, int64_t v, int leaf, uint64_t stamp)
{
    uint32_t rid = routine_of(w, fn);
    if (rid == FN_SKIP)
        return;
    routine *r = &w->rt[rid - 1];
    if (leaf)
        r->flat = ig_sat_add(r->flat, v);
    if (r->stamp != stamp) {
        r->stamp = stamp;
        r->cum = ig_sat_add(r->cum, v);
    }
    if (line <= 0) {
        if (leaf)
            r->nl_flat = ig_sat_add(r->nl_flat, v);
        if (r->nl_stamp != stamp) {
            r->nl_stamp = stamp;
            r->nl_cum = ig_sat_add(r->nl_cum, v);
        }
        return;
    }
    entry *e = entry_of(w, rid, line);
    if (leaf)
        e->flat = ig_sat_add(e->flat, v);
    if (e->stamp != stamp) {
        e->stamp = stamp;
        e->cum = ig_sat_add(e->cum, v);
    }
}

static void walk_sample(walker *w, ignis_sample s, int vi, uint64_t stamp)
{
    size_t depth;
    const uint32_t *locs = ignis_profile_stack(w->p, s.stack, &depth);
    int64_t v = s.values[vi];
    int leaf = 1;
    for (size_t i = 0; i < depth; i++) {
        const ignis_location *loc = ignis_profile_location(w->p, locs[i]);
        for (uint32_t li = 0; loc && li < loc->nlines; li++) {
            charge(w, loc->lines[li].function, loc->lines[li].line, v, leaf, stamp);
            leaf = 0;
        }
        leaf = 0; /* a location without lines is still the leaf frame */
    }
}

/* ---- reading source files ------------------------------------------------------ */

static char *read_regular(const char *path, char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = ig_xstrdup(strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = ig_xstrdup("not a regular file");
        return NULL;
    }
    size_t cap = (size_t)st.st_size < SOURCE_MAX_FILE ? (size_t)st.st_size : SOURCE_MAX_FILE;
    char *data = ig_xmalloc(cap + 1);
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    data[len] = 0;
    return data;
}

static int exists_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the file: as recorded, then under each search directory, whole
 * and without its leading directories one at a time.  malloc'd or NULL. */
static char *find_file(const char *file, const char *search_path)
{
    if (exists_regular(file))
        return ig_xstrdup(file);
    for (const char *d = search_path; d && *d;) {
        const char *end = strchr(d, ':');
        size_t dl = end ? (size_t)(end - d) : strlen(d);
        for (const char *rest = file; rest;) {
            while (*rest == '/')
                rest++;
            if (!*rest)
                break;
            char *cand = NULL;
            if (asprintf(&cand, "%.*s/%s", (int)dl, d, rest) < 0)
                cand = NULL;
            if (cand && exists_regular(cand))
                return cand;
            free(cand);
            rest = strchr(rest, '/');
        }
        d = end ? end + 1 : NULL;
    }
    return NULL;
}

static void load_file(src_file *f, const char *file, const char *search_path)
{
    memset(f, 0, sizeof *f);
    if (!*file) {
        f->why = ig_xstrdup("no source file recorded");
        return;
    }
    char *path = find_file(file, search_path);
    char *why = NULL;
    f->data = path ? read_regular(path, &why) : NULL;
    if (!f->data) {
        ig_strbuf sb = IG_STRBUF_INIT;
        ig_sb_printf(&sb, "cannot open %s: %s", file, why ? why : "no such file");
        f->why = ig_sb_detach(&sb, NULL);
        free(why);
        free(path);
        return;
    }
    f->path = path;
    size_t cap = 64;
    f->off = ig_xmalloc(cap * sizeof *f->off);
    for (const char *s = f->data; *s;) {
        if (f->nlines == cap)
            f->off = ig_xrealloc(f->off, (cap *= 2) * sizeof *f->off);
        f->off[f->nlines++] = (size_t)(s - f->data);
        const char *nl = strchr(s, '\n');
        if (!nl || !nl[1])
            break;
        s = nl + 1;
    }
}

static void free_file(src_file *f)
{
    free(f->path);
    free(f->why);
    free(f->data);
    free(f->off);
}

/* ---- the listing ------------------------------------------------------------------ */

static const char *own(ig_source *s, char *str)
{
    if (s->nstrs == s->capstrs) {
        s->capstrs = s->capstrs ? 2 * s->capstrs : 64;
        s->strs = ig_xrealloc(s->strs, s->capstrs * sizeof *s->strs);
    }
    s->strs[s->nstrs++] = str;
    return str;
}

static const char *line_text(ig_source *s, const src_file *f, int64_t line)
{
    if (!f->data || line < 1 || (uint64_t)line > f->nlines)
        return NULL;
    const char *start = f->data + f->off[line - 1];
    size_t n = strcspn(start, "\n");
    if (n && start[n - 1] == '\r')
        n--;
    if (n > SOURCE_MAX_LINE)
        n = SOURCE_MAX_LINE;
    char *t = ig_xmalloc(n + 1);
    memcpy(t, start, n);
    t[n] = 0;
    return own(s, t);
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->routine != y->routine)
        return x->routine < y->routine ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int64_t add_clamped(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Appends the lines of routine r (its entries en[0, n), sorted by line). */
static size_t list_lines(ig_source *s, ig_source_line **out, size_t *cap, size_t len, const routine *r,
                         const entry *en, size_t n, const src_file *f, int context)
{
    /* anchors: every line with a cost, and the function's first line */
    size_t i = 0;
    const entry *e = en, *end = en + n; /* costs, read as the ranges ascend */
    int64_t lo = 0, hi = -1; /* current range [lo, hi] */
    int anchor_start = r->start_line > 0 && (!n || r->start_line < en[0].line);
    for (;;) {
        int64_t a;
        if (anchor_start) {
            a = r->start_line;
            anchor_start = 0;
        } else if (i < n) {
            a = en[i++].line;
        } else {
            break;
        }
        int64_t from = a - context > 1 ? a - context : 1, to = add_clamped(a, context);
        if (hi >= 0 && to <= hi)
            continue; /* already listed (hi + 1 would overflow at INT64_MAX) */
        if (hi < 0 || from > add_clamped(hi, 1)) {
            if (hi >= 0) { /* a gap between two ranges */
                if (len == *cap)
                    *out = ig_xrealloc(*out, (*cap = *cap ? 2 * *cap : 64) * sizeof **out);
                (*out)[len++] = (ig_source_line){0, 0, 0, NULL};
            }
            lo = from;
        } else {
            lo = hi + 1;
        }
        /* emit [lo, to], costs from the entries */
        for (int64_t l = lo;; l++) {
            while (e < end && e->line < l)
                e++;
            if (len == *cap)
                *out = ig_xrealloc(*out, (*cap = *cap ? 2 * *cap : 64) * sizeof **out);
            int hit = e < end && e->line == l;
            (*out)[len++] = (ig_source_line){l, hit ? e->flat : 0, hit ? e->cum : 0, line_text(s, f, l)};
            if (l == to)
                break;
        }
        hi = to;
    }
    return len;
}

static int fn_cmp(const void *a, const void *b)
{
    const ig_source_fn *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->file, y->file);
}

static void build_listing(ig_source *s, walker *w, const ig_source_opts *o)
{
    int context = o && o->context >= 0 ? o->context : 3;
    if (context > 1000)
        context = 1000;
    if (w->nen) /* qsort must not get a null array, even empty */
        qsort(w->en, w->nen, sizeof *w->en, entry_cmp);
    s->fns = ig_xcalloc(w->nrt ? w->nrt : 1, sizeof *s->fns);
    /* line indexes first (the array moves while it grows), pointers after */
    size_t *first = ig_xcalloc(w->nrt + 1, sizeof *first), cap = 0, len = 0;
    size_t e = 0;
    for (size_t r = 0; r < w->nrt; r++) {
        const routine *rt = &w->rt[r];
        size_t e0 = e;
        while (e < w->nen && w->en[e].routine == r + 1)
            e++;
        src_file f;
        load_file(&f, ignis_profile_string(w->p, rt->file), o ? o->search_path : NULL);
        ig_source_fn *fn = &s->fns[s->nfns++];
        fn->name = own(s, ig_xstrdup(ignis_profile_string(w->p, rt->name)));
        fn->file = own(s, ig_xstrdup(ignis_profile_string(w->p, rt->file)));
        fn->path = f.path ? own(s, ig_xstrdup(f.path)) : NULL;
        fn->why = f.why ? own(s, ig_xstrdup(f.why)) : NULL;
        fn->flat = rt->flat;
        fn->cum = rt->cum;
        fn->nolines_flat = rt->nl_flat;
        fn->nolines_cum = rt->nl_cum;
        first[r] = len;
        len = list_lines(s, &s->lines, &cap, len, rt, w->en + e0, e - e0, &f, context);
        fn->nlines = len - first[r];
        free_file(&f);
    }
    for (size_t r = 0; r < s->nfns; r++)
        s->fns[r].lines = s->lines + first[r];
    free(first);
    qsort(s->fns, s->nfns, sizeof *s->fns, fn_cmp);
}

static int compile(regex_t *re, const char *regex, ig_err *err)
{
    int flags = REG_EXTENDED | REG_NOSUB;
    if (!strncmp(regex, "(?i)", 4)) {
        flags |= REG_ICASE;
        regex += 4;
    }
    int rc = regcomp(re, regex, flags);
    if (rc) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        return ig_err_set(err, "--list: invalid regular expression '%s': %s", regex, msg);
    }
    return 0;
}

ig_source *ig_source_list(const ignis_profile *p, const char *regex, const ig_source_opts *o, ig_err *err)
{
    walker w;
    memset(&w, 0, sizeof w);
    w.p = p;
    if (compile(&w.re, regex ? regex : "", err))
        return NULL;
    size_t ns = ignis_profile_num_samples(p);
    uint8_t *keep = ig_xmalloc(ns ? ns : 1);
    ig_tree_opts topts = o && o->tree ? *o->tree : (ig_tree_opts){-1, 0, NULL, NULL, NULL, NULL, 0};
    if (ig_tree_keep_samples(p, &topts, keep, err) < 0) {
        free(keep);
        regfree(&w.re);
        return NULL;
    }
    int vi = topts.value < 0 ? ignis_profile_default_value(p) : topts.value;
    ig_source *s = ig_xcalloc(1, sizeof *s);
    ignis_value_type vt = ignis_profile_value_type(p, (size_t)vi);
    snprintf(s->vtype, sizeof s->vtype, "%s", ignis_profile_string(p, vt.type));
    snprintf(s->vunit, sizeof s->vunit, "%s", ignis_profile_string(p, vt.unit));
    w.fn_routine = ig_xcalloc(ignis_profile_num_functions(p) + 1, sizeof *w.fn_routine);
    ig_progress_step(topts.progress, "charging source lines", ns);
    int cancelled = 0;
    for (size_t i = 0; i < ns && !cancelled; i++) {
        if ((i & 65535) == 65535)
            cancelled = ig_progress_add(topts.progress, 65536);
        ignis_sample smp = ignis_profile_sample(p, i);
        s->all = ig_sat_add(s->all, smp.values[vi]);
        int in_base = ig_labels_in_diff_base(p, smp.labels);
        ig_pct_total_add(&s->pct_all, smp.values[vi], in_base);
        if (!keep[i])
            continue;
        s->total = ig_sat_add(s->total, smp.values[vi]);
        ig_pct_total_add(&s->pct_kept, smp.values[vi], in_base);
        walk_sample(&w, smp, vi, (uint64_t)i + 1);
    }
    if (!cancelled)
        build_listing(s, &w, o);
    free(keep);
    regfree(&w.re);
    free(w.fn_routine);
    free(w.rt);
    free(w.en);
    ig_idtab_free(&w.rt_ids);
    ig_idtab_free(&w.en_ids);
    if (cancelled) {
        ig_source_free(s);
        ig_err_set(err, "cancelled");
        return NULL;
    }
    return s;
}

void ig_source_free(ig_source *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstrs; i++)
        free(s->strs[i]);
    free(s->strs);
    free(s->fns);
    free(s->lines);
    free(s);
}

size_t ig_source_count(const ig_source *s) { return s->nfns; }
const ig_source_fn *ig_source_at(const ig_source *s, size_t i) { return i < s->nfns ? &s->fns[i] : NULL; }
int64_t ig_source_total(const ig_source *s) { return s->total; }
int64_t ig_source_profile_total(const ig_source *s) { return s->all; }
int64_t ig_source_pct_total(const ig_source *s, int relative)
{
    return ig_pct_total_get(relative ? &s->pct_kept : &s->pct_all);
}
const char *ig_source_value_type(const ig_source *s) { return s->vtype; }
const char *ig_source_value_unit(const ig_source *s) { return s->vunit; }
