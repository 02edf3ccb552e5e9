/*
 * profile/spans.c — selecting samples by span, trace or operation, and
 * splitting an operation's spans into slow and fast (see spans.h).
 *
 * A selection is asked once per label set, so its cost is one label lookup
 * and one hash probe per distinct (thread, span, ...) set, not per sample.
 * Span ids are kept as 64-bit integers (id 0 is invalid in W3C trace
 * context, and the hash map never stores key 0).  Descendants are found by
 * walking each known span's parent chain (bounded, so a cycle in a hostile
 * span file ends).
 */
#include "profile/spans.h"

#include <ctype.h>
#include <math.h>
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

/* Is `ancestor` span_id itself or one of its ancestors? */
static int descends_from(const ig_span_times *t, uint64_t span_id, uint64_t ancestor)
{
    for (int depth = 0; span_id && depth < MAX_SPAN_DEPTH; depth++) {
        if (span_id == ancestor)
            return 1;
        uint64_t row;
        if (!ig_u64map_get(&t->index, span_id, &row))
            return 0;
        span_id = t->rows[row - 1].parent_id;
    }
    return 0;
}

void ig_span_select_add(ig_span_select *s, uint64_t span_id, const ig_span_times *times)
{
    s->by_span = 1;
    ig_u64map_put(&s->spans, span_id, 1);
    if (!times)
        return;
    for (size_t i = 0; i < times->n; i++)
        if (times->rows[i].span_id != span_id && descends_from(times, times->rows[i].parent_id, span_id))
            ig_u64map_put(&s->spans, times->rows[i].span_id, 1);
}

void ig_span_select_free(ig_span_select *s)
{
    ig_u64map_clear(&s->spans);
    free(s->name);
    memset(s, 0, sizeof *s);
}

int ig_span_keep_labels(void *ctx, const ignis_profile *p, uint32_t labels)
{
    const ig_span_select *s = ctx;
    if (s->name) {
        const char *n = ignis_profile_label_str(p, labels, "span_name");
        if (!n || strcmp(n, s->name))
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
    if (!n) {
        free(d);
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
        return ig_err_set(err, "--slow-vs-fast: all %zu spans named '%s' are %s %s; nothing to compare", n, name,
                          st->slow ? "slow at" : "fast at",
                          threshold_ns ? "that --threshold" : "their p90 (they take the same time)");
    }
    st->fast_p50_ns = d[first_slow / 2].ns;
    st->slow_p50_ns = d[first_slow + st->slow / 2].ns;
    memset(slow, 0, sizeof *slow);
    memset(fast, 0, sizeof *fast);
    for (size_t i = 0; i < n; i++)
        ig_span_select_add(i >= first_slow ? slow : fast, d[i].span_id, times);
    free(d);
    return 0;
}
