/*
 * profile/spans.c — selecting samples by span, trace or operation, and
 * splitting an operation's spans into slow and fast (see spans.h).
 *
 * A selection is asked once per label set, so its cost is one label lookup
 * and one hash probe per distinct (thread, span, ...) set, not per sample.
 * Span ids are kept as 64-bit integers (id 0 is invalid in W3C trace
 * context, and the hash map never stores key 0).  Descendants of a set of
 * spans are found in one pass over the span times, each row's distance to
 * its nearest selected ancestor memoised (parent chains longer than
 * MAX_SPAN_DEPTH are cut, and a cycle in a hostile span file ends).
 * An operation (--span-name) with span times is its spans with their
 * descendants, as one span is.  Slow vs fast with span times takes the
 * outermost spans of the operation as its instances (a nested span of the
 * same name is part of its outer one, so no sample is on both sides) and
 * counts the profile's spans of the operation that the times lack, whose
 * samples are on neither side.
 */
#include "profile/spans.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/tree.h"
#include "utils/strbuf.h"

#define MAX_SPAN_DEPTH 1024 /* parent chains longer than this are cut */

void ig_span_times_add(ig_span_times *t, uint64_t span_id, uint64_t parent_id, uint64_t duration_ns,
                       const char *name)
{
    uint64_t row;
    if (!span_id || ig_u64map_get(&t->index, span_id, &row))
        return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->rows = ig_xrealloc(t->rows, t->cap * sizeof *t->rows);
    }
    t->rows[t->n] = (ig_span_time){span_id, parent_id, duration_ns, ig_xstrdup(name ? name : "")};
    ig_u64map_put(&t->index, span_id, ++t->n);
}

void ig_span_times_free(ig_span_times *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].name);
    free(t->rows);
    ig_u64map_clear(&t->index);
    memset(t, 0, sizeof *t);
}

static int hex_id(const char *s, size_t digits, char *lower)
{
    if (strlen(s) != digits)
        return -1;
    int nonzero = 0;
    for (size_t i = 0; i < digits; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return -1;
        lower[i] = (char)tolower((unsigned char)s[i]);
        nonzero |= s[i] != '0';
    }
    lower[digits] = '\0';
    return nonzero ? 0 : -1;
}

int ig_span_parse_span_id(const char *s, const char *flag, uint64_t *out, ig_err *err)
{
    char buf[17];
    if (hex_id(s, 16, buf) < 0)
        return ig_err_set(err, "%s: '%s' is not a span id (16 hex digits, not all zero)", flag, s);
    *out = strtoull(buf, NULL, 16);
    return 0;
}

int ig_span_parse_trace_id(const char *s, const char *flag, char out[33], ig_err *err)
{
    if (hex_id(s, 32, out) < 0)
        return ig_err_set(err, "%s: '%s' is not a trace id (32 hex digits, not all zero)", flag, s);
    return 0;
}

/* The span id label of a label set, or 0 when absent or not an id. */
static uint64_t label_span_id(const ignis_profile *p, uint32_t labels)
{
    const char *v = ignis_profile_label_str(p, labels, "span_id");
    char buf[17];
    if (!v || hex_id(v, 16, buf) < 0)
        return 0;
    return strtoull(buf, NULL, 16);
}

/* Adds to s every row of t that descends from a span of chosen, in one
 * pass: a row's distance to its nearest chosen ancestor is 1 when its parent
 * is chosen, else its parent row's distance + 1, so each row is resolved
 * once by walking up to the first resolved row and back (O(rows), however
 * many spans are chosen).  Distances beyond MAX_SPAN_DEPTH count as
 * none, and a parent cycle without a chosen span resolves to none. */
enum { UNRESOLVED = 0, VISITING = UINT16_MAX - 1, NONE = UINT16_MAX };

static void select_descendants(ig_u64map *out, uint64_t *steps, const ig_u64map *chosen, const ig_span_times *t)
{
    uint16_t *dist = ig_xcalloc(t->n + 1, sizeof *dist);
    size_t *path = ig_xmalloc((t->n + 1) * sizeof *path);
    for (size_t r = 0; r < t->n; r++) {
        size_t len = 0, cur = r;
        uint16_t d; /* the distance of the row above the path's top */
        for (;;) {
            if (dist[cur] != UNRESOLVED) { /* resolved before, or on this path: a cycle */
                d = dist[cur] == VISITING ? NONE : dist[cur];
                break;
            }
            uint64_t parent = t->rows[cur].parent_id, row, v;
            ++*steps;
            dist[cur] = VISITING;
            path[len++] = cur;
            if (parent && ig_u64map_get(chosen, parent, &v)) {
                d = 0;
                break;
            }
            if (!parent || !ig_u64map_get(&t->index, parent, &row)) {
                d = NONE;
                break;
            }
            cur = row - 1;
        }
        while (len--) {
            d = d == NONE || d >= MAX_SPAN_DEPTH ? NONE : (uint16_t)(d + 1);
            dist[path[len]] = d;
        }
    }
    for (size_t r = 0; r < t->n; r++)
        if (dist[r] != NONE)
            ig_u64map_put(out, t->rows[r].span_id, 1);
    free(path);
    free(dist);
}

void ig_span_select_add_all(ig_span_select *s, const uint64_t *span_ids, size_t n, const ig_span_times *times)
{
    ig_u64map chosen = {0};
    s->by_span = 1;
    for (size_t i = 0; i < n; i++) {
        ig_u64map_put(&s->spans, span_ids[i], 1);
        ig_u64map_put(&chosen, span_ids[i], 1);
    }
    if (times && n)
        select_descendants(&s->spans, &s->steps, &chosen, times);
    ig_u64map_clear(&chosen);
}

/* Puts into ids (and, when not NULL, into also) the distinct span ids of
 * p's samples labelled `name`, counting in *cov those times lacks. */
static void label_spans_named(const ignis_profile *p, const char *name, const ig_span_times *times, ig_u64map *ids,
                              ig_u64map *also, ig_span_coverage *cov)
{
    ig_u64map seen = {0};
    size_t ns = ignis_profile_num_samples(p);
    memset(cov, 0, sizeof *cov);
    for (size_t i = 0; i < ns; i++) {
        uint32_t labels = ignis_profile_sample(p, i).labels;
        uint64_t v, id;
        if (ig_u64map_get(&seen, (uint64_t)labels + 1, &v))
            continue;
        ig_u64map_put(&seen, (uint64_t)labels + 1, 1);
        const char *sn = ignis_profile_label_str(p, labels, "span_name");
        if (!sn || strcmp(sn, name) || !(id = label_span_id(p, labels)) || ig_u64map_get(ids, id, &v))
            continue;
        ig_u64map_put(ids, id, 1);
        if (also)
            ig_u64map_put(also, id, 1);
        cov->labelled++;
        cov->missing += times && !ig_u64map_get(&times->index, id, &v);
    }
    ig_u64map_clear(&seen);
}

void ig_span_select_name(ig_span_select *s, const char *name, const ignis_profile *p, const ig_span_times *times,
                         ig_span_coverage *cov)
{
    ig_span_coverage c;
    free(s->name);
    s->name = ig_xstrdup(name);
    ig_u64map chosen = {0};
    label_spans_named(p, name, times, &chosen, times ? &s->named : NULL, &c);
    if (times) {
        for (size_t i = 0; i < times->n; i++)
            if (!strcmp(times->rows[i].name, name)) {
                ig_u64map_put(&chosen, times->rows[i].span_id, 1);
                ig_u64map_put(&s->named, times->rows[i].span_id, 1);
            }
        select_descendants(&s->named, &s->steps, &chosen, times);
        s->by_named = 1;
    }
    ig_u64map_clear(&chosen);
    if (cov)
        *cov = c;
}

void ig_span_select_add(ig_span_select *s, uint64_t span_id, const ig_span_times *times)
{
    ig_span_select_add_all(s, &span_id, 1, times);
}

void ig_span_select_free(ig_span_select *s)
{
    ig_u64map_clear(&s->spans);
    ig_u64map_clear(&s->named);
    free(s->name);
    memset(s, 0, sizeof *s);
}

int ig_span_keep_labels(void *ctx, const ignis_profile *p, uint32_t labels)
{
    const ig_span_select *s = ctx;
    if (s->name) {
        const char *n = ignis_profile_label_str(p, labels, "span_name");
        uint64_t v, id;
        int named = n && !strcmp(n, s->name);
        if (!named && s->by_named)
            named = (id = label_span_id(p, labels)) && ig_u64map_get(&s->named, id, &v);
        if (!named)
            return 0;
    }
    if (s->trace_id[0]) {
        const char *t = ignis_profile_label_str(p, labels, "trace_id");
        if (!t || strcasecmp(t, s->trace_id))
            return 0;
    }
    if (s->by_span) {
        uint64_t v, id = label_span_id(p, labels);
        if (!ig_u64map_get(&s->spans, id, &v))
            return 0;
    }
    return 1;
}

ignis_profile *ig_span_select_profile(const ignis_profile *p, ig_span_select *sel, ig_err *err)
{
    ig_tree_opts o = {.value = -1, .keep_labels = ig_span_keep_labels, .keep_labels_ctx = sel};
    char why[64];
    return ig_profile_filter(p, &o, why, sizeof why, err);
}

size_t ig_span_labelled_samples(const ignis_profile *p)
{
    size_t n = 0, ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++)
        n += label_span_id(p, ignis_profile_sample(p, i).labels) != 0;
    return n;
}

char (*ig_span_trace_ids(const ignis_profile *p, size_t *n))[33]
{
    char(*ids)[33] = NULL;
    size_t cap = 0;
    ig_u64map seen_labels = {0}, seen_ids = {0};
    *n = 0;
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        uint32_t labels = ignis_profile_sample(p, i).labels;
        uint64_t v;
        if (ig_u64map_get(&seen_labels, (uint64_t)labels + 1, &v))
            continue;
        ig_u64map_put(&seen_labels, (uint64_t)labels + 1, 1);
        const char *t = ignis_profile_label_str(p, labels, "trace_id");
        char buf[33];
        if (!t || hex_id(t, 32, buf) < 0)
            continue;
        uint64_t h = ig_hash_bytes(buf, 32, 0x5eed) | 1;
        if (ig_u64map_get(&seen_ids, h, &v) && !strcmp(ids[v], buf))
            continue;
        ig_u64map_put(&seen_ids, h, *n);
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = ig_xrealloc(ids, cap * sizeof *ids);
        }
        memcpy(ids[(*n)++], buf, 33);
    }
    ig_u64map_clear(&seen_labels);
    ig_u64map_clear(&seen_ids);
    return ids;
}

typedef struct span_dur {
    uint64_t span_id, ns;
} span_dur;

static int by_duration(const void *a, const void *b)
{
    const span_dur *x = a, *y = b;
    return x->ns < y->ns ? -1 : x->ns > y->ns ? 1 : (x->span_id > y->span_id) - (x->span_id < y->span_id);
}

/* The spans named `name` with their durations: from times, or summed
 * from value vi of the samples labelled with them. */
static span_dur *operation_spans(const ignis_profile *p, int vi, const char *name, const ig_span_times *times,
                                 size_t *n)
{
    span_dur *d = NULL;
    size_t cap = 0;
    *n = 0;
    if (times) {
        for (size_t i = 0; i < times->n; i++) {
            if (strcmp(times->rows[i].name, name))
                continue;
            if (*n == cap)
                d = ig_xrealloc(d, (cap = cap ? cap * 2 : 64) * sizeof *d);
            d[(*n)++] = (span_dur){times->rows[i].span_id, times->rows[i].duration_ns};
        }
        return d;
    }
    ig_u64map row = {0};
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        const char *sn = ignis_profile_label_str(p, s.labels, "span_name");
        uint64_t id, r;
        if (!sn || strcmp(sn, name) || !(id = label_span_id(p, s.labels)))
            continue;
        int64_t v = s.values[vi] > 0 ? s.values[vi] : 0;
        if (!ig_u64map_get(&row, id, &r)) {
            if (*n == cap)
                d = ig_xrealloc(d, (cap = cap ? cap * 2 : 64) * sizeof *d);
            d[*n] = (span_dur){id, 0};
            ig_u64map_put(&row, id, r = ++*n);
        }
        uint64_t sum = d[r - 1].ns + (uint64_t)v;
        d[r - 1].ns = sum < d[r - 1].ns ? UINT64_MAX : sum;
    }
    ig_u64map_clear(&row);
    return d;
}

/* Keeps the outermost of the n spans d: one that descends from another of
 * them is part of that span (its samples go where the outer one's go),
 * counted in *nested.  Returns how many are left. */
static size_t drop_nested(span_dur *d, size_t n, const ig_span_times *times, size_t *nested)
{
    ig_u64map chosen = {0}, inner = {0};
    uint64_t steps = 0, v;
    for (size_t i = 0; i < n; i++)
        ig_u64map_put(&chosen, d[i].span_id, 1);
    if (n)
        select_descendants(&inner, &steps, &chosen, times);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!ig_u64map_get(&inner, d[i].span_id, &v))
            d[kept++] = d[i];
    *nested = n - kept;
    ig_u64map_clear(&chosen);
    ig_u64map_clear(&inner);
    return kept;
}

const char *ig_span_split_partial(const ig_span_split_stats *st, const char *name, const char *src, char *out,
                                  size_t len)
{
    *out = '\0';
    if (st->cov.missing) /* never shown as the whole operation */
        snprintf(out, len,
                 " (PARTIAL: %zu of the profile's %zu spans of '%s' are not in %s: left out, their samples on "
                 "neither side)",
                 st->cov.missing, st->cov.labelled, name, src);
    return out;
}

int ig_span_split(const ignis_profile *p, int vi, const char *name, const ig_span_times *times,
                  uint64_t threshold_ns, ig_span_select *slow, ig_span_select *fast, ig_span_split_stats *st,
                  ig_err *err)
{
    memset(st, 0, sizeof *st);
    if (!ig_span_labelled_samples(p))
        return ig_err_set(err, "no sample carries span labels (span_id): record a service that uses libignis "
                               "with `ignis record`, which labels samples with the span current on their thread");
    size_t n;
    span_dur *d = operation_spans(p, vi, name, times, &n);
    if (times) {
        ig_u64map ids = {0};
        label_spans_named(p, name, times, &ids, NULL, &st->cov);
        ig_u64map_clear(&ids);
        n = drop_nested(d, n, times, &st->nested);
    }
    if (!n) {
        free(d);
        if (times && st->cov.missing)
            return ig_err_set(err, "--slow-vs-fast: no span named '%s' in the span source (the profile's %zu spans "
                                   "of that name are not there)", name, st->cov.missing);
        return ig_err_set(err, "--slow-vs-fast: no span named '%s'%s", name,
                          times ? " in the span source" : " labels any sample");
    }
    qsort(d, n, sizeof *d, by_duration);
    size_t p90 = (size_t)ceil(0.9 * (double)n);
    st->cut_ns = threshold_ns ? threshold_ns : d[p90 ? p90 - 1 : 0].ns;
    st->spans = n;
    st->from_times = times != NULL;
    size_t first_slow = n;
    for (size_t i = 0; i < n; i++)
        if (threshold_ns ? d[i].ns >= threshold_ns : d[i].ns > st->cut_ns) {
            first_slow = i;
            break;
        }
    st->slow = n - first_slow;
    if (!st->slow || first_slow == 0) {
        free(d);
        char partial[96] = "";
        if (st->cov.missing)
            snprintf(partial, sizeof partial, " of the span source (%zu more of the profile are not there)",
                     st->cov.missing);
        return ig_err_set(err, "--slow-vs-fast: all %zu spans named '%s'%s are %s %s; nothing to compare", n, name,
                          partial, st->slow ? "slow at" : "fast at",
                          threshold_ns ? "that --threshold" : "their p90 (they take the same time)");
    }
    st->fast_p50_ns = d[first_slow / 2].ns;
    st->slow_p50_ns = d[first_slow + st->slow / 2].ns;
    memset(slow, 0, sizeof *slow);
    memset(fast, 0, sizeof *fast);
    uint64_t *ids = ig_xmalloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = d[i].span_id;
    ig_span_select_add_all(fast, ids, first_slow, times);
    ig_span_select_add_all(slow, ids + first_slow, n - first_slow, times);
    free(ids);
    free(d);
    return 0;
}

/* ---- joining samples to spans by thread and time ------------------------------------ */

void ig_thread_spans_add(ig_thread_spans *t, int64_t tid, uint64_t start_ns, uint64_t end_ns,
                         const char *trace_id, const char *span_id, const char *name)
{
    ig_thread_span r = {tid, start_ns, end_ns, "", "", NULL};
    if (hex_id(trace_id, 32, r.trace_id) < 0 || hex_id(span_id, 16, r.span_id) < 0 || end_ns <= start_ns) {
        t->unplaceable++; /* not a span we can place in time */
        return;
    }
    if (t->n == t->cap)
        t->rows = ig_xrealloc(t->rows, (t->cap = t->cap ? t->cap * 2 : 256) * sizeof *t->rows);
    r.name = ig_xstrdup(name ? name : "");
    t->rows[t->n++] = r;
}

void ig_thread_spans_free(ig_thread_spans *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].name);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* By thread, then start; of two spans that start together the longer
 * (the outer) first, so the scan below meets the inner one first. */
static int by_thread_start(const void *a, const void *b)
{
    const ig_thread_span *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return (x->end_ns < y->end_ns) - (x->end_ns > y->end_ns);
}

/* The rows of a thread that start by t are a run of the sorted rows; the
 * innermost span at t is the last row of that run that ends after t.  A
 * max-of-ends segment tree over the rows finds it in O(log rows) however
 * the spans overlap (a worker-loop span around thousands of requests). */
typedef struct joiner {
    ig_thread_spans *s;
    uint64_t *max_end; /* segment tree: node k covers its leaves; leaves at leaves + row */
    size_t leaves;     /* a power of two >= rows */
    ig_u64map by_id;   /* span id -> 1 + row */
    ig_span_join_stats *st;
} joiner;

static void joiner_init(joiner *j, ig_thread_spans *s, ig_span_join_stats *st)
{
    memset(j, 0, sizeof *j);
    j->s = s;
    j->st = st;
    qsort(s->rows, s->n, sizeof *s->rows, by_thread_start);
    for (j->leaves = 1; j->leaves < s->n; j->leaves *= 2)
        ;
    j->max_end = ig_xcalloc(2 * j->leaves, sizeof *j->max_end);
    for (size_t i = 0; i < s->n; i++) {
        j->max_end[j->leaves + i] = s->rows[i].end_ns;
        uint64_t id = strtoull(s->rows[i].span_id, NULL, 16), v;
        if (!ig_u64map_get(&j->by_id, id, &v))
            ig_u64map_put(&j->by_id, id, i + 1);
    }
    for (size_t k = j->leaves; k-- > 1;)
        j->max_end[k] = j->max_end[2 * k] > j->max_end[2 * k + 1] ? j->max_end[2 * k] : j->max_end[2 * k + 1];
}

static void joiner_free(joiner *j)
{
    free(j->max_end);
    ig_u64map_clear(&j->by_id);
}

/* The last row in [from, to) of node k (covering [lo, hi)) that ends after
 * t, or SIZE_MAX.  Only the O(log rows) nodes on the range's edges are
 * entered without a row that qualifies below them. */
static size_t last_ending_after(const joiner *j, size_t k, size_t lo, size_t hi, size_t from, size_t to,
                                uint64_t t)
{
    j->st->lookup_steps++;
    if (hi <= from || to <= lo || j->max_end[k] <= t)
        return SIZE_MAX;
    if (hi - lo == 1)
        return lo;
    size_t mid = lo + (hi - lo) / 2;
    size_t r = last_ending_after(j, 2 * k + 1, mid, hi, from, to, t);
    return r != SIZE_MAX ? r : last_ending_after(j, 2 * k, lo, mid, from, to, t);
}

/* The first row of the sorted rows after (tid, t); with t = -1 after all
 * of tid's rows, and with a tid before it, the first of tid's. */
static size_t first_after(const joiner *j, int64_t tid, uint64_t t, int before_tid)
{
    const ig_thread_span *r = j->s->rows;
    size_t lo = 0, hi = j->s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].tid < tid || (!before_tid && r[mid].tid == tid && r[mid].start_ns <= t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The innermost span of thread tid at time t: of those that contain t,
 * the one that started last (of two that start together, the shorter:
 * the sort puts it after the longer). */
static const ig_thread_span *span_at(const joiner *j, int64_t tid, uint64_t t)
{
    size_t from = first_after(j, tid, 0, 1), to = first_after(j, tid, t, 0);
    if (from >= to)
        return NULL;
    size_t row = last_ending_after(j, 1, 0, j->leaves, from, to, t);
    return row == SIZE_MAX ? NULL : &j->s->rows[row];
}

static int thread_known(const joiner *j, int64_t tid)
{
    size_t first = first_after(j, tid, 0, 1);
    return first < j->s->n && j->s->rows[first].tid == tid;
}

/* The first pass: what the join would do, and whether the clocks agree. */
static void survey(joiner *j, const ignis_profile *p, uint64_t *known_threads)
{
    ig_span_join_stats *st = j->st;
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        uint32_t labels = ignis_profile_sample(p, i).labels;
        int64_t tid, t;
        int timed = ignis_profile_label_num(p, labels, "tid", &tid) &&
                    ignis_profile_label_num(p, labels, "time_ns", &t) && t > 0;
        uint64_t span = label_span_id(p, labels), row;
        st->samples++;
        if (timed) {
            st->first_ns = !st->first_ns || (uint64_t)t < st->first_ns ? (uint64_t)t : st->first_ns;
            st->last_ns = (uint64_t)t > st->last_ns ? (uint64_t)t : st->last_ns;
        }
        if (span) {
            st->had_span++;
            if (timed && ig_u64map_get(&j->by_id, span, &row) && j->s->rows[row - 1].tid == tid) {
                const ig_thread_span *r = &j->s->rows[row - 1];
                st->checked++;
                st->disagree += (uint64_t)t < r->start_ns || (uint64_t)t >= r->end_ns;
            }
        } else if (!timed) {
            st->no_time++;
        } else if (span_at(j, tid, (uint64_t)t)) {
            st->joined++;
        } else {
            st->outside++;
            *known_threads += thread_known(j, tid);
        }
    }
}

/* The second pass (ig_profile_filter's relabel): time_ns goes, the span
 * labels come. */
static uint32_t relabel(void *ctx, ignis_profile *q, uint32_t labels)
{
    const joiner *j = ctx;
    size_t n;
    const ignis_label *l = ignis_profile_labels(q, labels, &n);
    ignis_label *out = ig_xmalloc((n + 3) * sizeof *out);
    uint32_t k_time = ignis_profile_intern(q, "time_ns"), k_tid = ignis_profile_intern(q, "tid");
    uint32_t k_span = ignis_profile_intern(q, "span_id");
    l = ignis_profile_labels(q, labels, &n); /* interning may have moved them */
    size_t m = 0;
    int64_t tid = 0, t = 0;
    int has_tid = 0, has_time = 0, has_span = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].key == k_time && !l[i].str) {
            t = l[i].num, has_time = 1;
            continue;
        }
        if (l[i].key == k_tid && !l[i].str)
            tid = l[i].num, has_tid = 1;
        has_span |= l[i].key == k_span;
        out[m++] = l[i];
    }
    const ig_thread_span *s = has_tid && has_time && t > 0 && !has_span ? span_at(j, tid, (uint64_t)t) : NULL;
    if (s) {
        out[m++] = (ignis_label){ignis_profile_intern(q, "trace_id"), ignis_profile_intern(q, s->trace_id), 0, 0};
        out[m++] = (ignis_label){k_span, ignis_profile_intern(q, s->span_id), 0, 0};
        out[m++] = (ignis_label){ignis_profile_intern(q, "span_name"), ignis_profile_intern(q, s->name), 0, 0};
    }
    uint32_t id = m == n && !s ? labels : ignis_profile_add_labels(q, out, m);
    free(out);
    return id;
}

int ig_span_time_range(const ignis_profile *p, uint64_t *first, uint64_t *last)
{
    *first = *last = 0;
    ig_u64map seen = {0};
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++) {
        uint32_t labels = ignis_profile_sample(p, i).labels;
        int64_t tid, t;
        uint64_t v;
        if (ig_u64map_get(&seen, (uint64_t)labels + 1, &v))
            continue;
        ig_u64map_put(&seen, (uint64_t)labels + 1, 1);
        if (!ignis_profile_label_num(p, labels, "tid", &tid) || !ignis_profile_label_num(p, labels, "time_ns", &t) ||
            t <= 0)
            continue;
        if (!*first || (uint64_t)t < *first)
            *first = (uint64_t)t;
        if ((uint64_t)t > *last)
            *last = (uint64_t)t;
    }
    ig_u64map_clear(&seen);
    return *first != 0;
}

ignis_profile *ig_span_join_threads(const ignis_profile *p, ig_thread_spans *spans, ig_span_join_stats *st,
                                    ig_err *err)
{
    memset(st, 0, sizeof *st);
    joiner j;
    joiner_init(&j, spans, st);
    uint64_t known_threads = 0;
    survey(&j, p, &known_threads);
    ignis_profile *q = NULL;
    if (!st->first_ns) {
        ig_err_set(err, "no sample carries the labels tid and time_ns that joining by thread and time needs "
                        "(record with `ignis record --spans SRC`)");
    } else if (st->checked && st->disagree * 10 > st->checked) {
        ig_err_set(err, "the spans' clock disagrees with the profile's: %" PRIu64 " of %" PRIu64
                        " samples labelled with a span fall outside its times there; no sample joined",
                   st->disagree, st->checked);
    } else if (!st->joined && known_threads) {
        ig_err_set(err, "no sample falls in a span of its thread, though %" PRIu64 " samples are of threads "
                        "the spans name: the spans' clock disagrees with the profile's (or they are of another "
                        "run); no sample joined", known_threads);
    } else {
        ig_tree_opts o = {.value = -1, .relabel = relabel, .relabel_ctx = &j};
        char why[64];
        q = ig_profile_filter(p, &o, why, sizeof why, err);
    }
    joiner_free(&j);
    return q;
}
