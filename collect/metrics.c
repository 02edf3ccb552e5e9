/*
 * collect/metrics.c — span-duration histograms and the /metrics text
 * (see collect/metrics.h).
 *
 * Series live in one array indexed through an open-addressing table keyed
 * by (service, span name, kind, status); one mutex guards both, taken
 * once per accepted batch, so the HTTP threads contend once per request,
 * not per span.  Buckets are kept per bucket and made cumulative when
 * rendered.  Label values are escaped as the exposition format wants
 * (backslash, quote, newline) and made valid UTF-8 (an invalid byte
 * becomes U+FFFD), since Prometheus rejects a whole scrape over one bad
 * label.  Names are kept with their lengths: OTLP strings may hold U+0000,
 * so "a\u0000b" is its own series, labelled with the text the viewer shows
 * (\u0000, its backslash escaped), never cut to "a".
 */
#include "collect/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collect/store.h"
#include "utils/hash.h"

#define LABEL_MAX 256u /* bytes of a service or span name kept as a label value */

typedef struct series {
    char *service, *name;      /* NULL for the overflow series */
    uint32_t service_len, name_len; /* they may hold a NUL */
    uint8_t kind, status;
    uint64_t hash;
    uint64_t buckets[IG_SPAN_BOUNDS + 1];
    uint64_t count;
    double sum;                /* seconds */
} series;

struct ig_metrics {
    pthread_mutex_t mu;
    series *all;
    size_t n, cap, max;
    uint32_t *slots;           /* series index + 1; 0 = empty */
    size_t nslots;
    series overflow;
};

static const unsigned status_codes[6] = {200, 400, 413, 415, 429, 503};

void ig_collect_count_status(ig_collect_counters *c, unsigned status)
{
    for (size_t i = 0; i < 6; i++)
        if (status_codes[i] == status) {
            atomic_fetch_add(&c->requests[i], 1);
            return;
        }
    atomic_fetch_add(&c->requests_other, 1);
}

ig_metrics *ig_metrics_new(size_t max_series)
{
    ig_metrics *m = ig_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->max = max_series ? max_series : 1;
    return m;
}

void ig_metrics_free(ig_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->all[i].service);
        free(m->all[i].name);
    }
    free(m->all);
    free(m->slots);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- series lookup -------------------------------------------------------------- */

static uint64_t series_hash(ig_bstr service, ig_bstr name, uint8_t kind, uint8_t status)
{
    uint64_t h = ig_hash_bytes(service.s, service.len, 0x6d65);
    h = ig_hash_bytes(name.s, name.len, h);
    return ig_hash_u64(h, (uint64_t)kind << 8 | status);
}

static bool same_text(const char *kept, uint32_t kept_len, ig_bstr v)
{
    return kept_len == v.len && !memcmp(kept, v.s, v.len);
}

static bool series_is(const series *s, uint64_t h, ig_bstr service, ig_bstr name, uint8_t kind, uint8_t status)
{
    return s->hash == h && s->kind == kind && s->status == status && same_text(s->service, s->service_len, service) &&
           same_text(s->name, s->name_len, name);
}

/* A label value is at most LABEL_MAX bytes, cut at a UTF-8 character
 * boundary: names longer than that share a series (a span named with
 * 4 MiB of text must not become 4 MiB on every /metrics line). */
static ig_bstr label_value(ig_bstr v)
{
    if (v.len <= LABEL_MAX)
        return v;
    uint32_t n = LABEL_MAX;
    while (n > 0 && ((unsigned char)v.s[n] & 0xc0) == 0x80)
        n--;
    v.len = n;
    return v;
}

static char *keep_text(ig_bstr v)
{
    char *t = ig_xmalloc((size_t)v.len + 1);
    memcpy(t, v.s, v.len);
    t[v.len] = '\0';
    return t;
}

static void rehash(ig_metrics *m)
{
    size_t n = m->nslots ? m->nslots * 2 : 64;
    free(m->slots);
    m->slots = ig_xcalloc(n, sizeof *m->slots);
    m->nslots = n;
    for (size_t i = 0; i < m->n; i++) {
        size_t j = m->all[i].hash & (n - 1);
        while (m->slots[j])
            j = (j + 1) & (n - 1);
        m->slots[j] = (uint32_t)i + 1;
    }
}

static series *find_series(ig_metrics *m, const ig_batch *b, const ig_batch_span *sp)
{
    ig_bstr service = label_value(b->resources[sp->resource].service), name = label_value(sp->name);
    uint64_t h = series_hash(service, name, sp->kind, sp->status_code);
    if (m->nslots) {
        for (size_t j = h & (m->nslots - 1); m->slots[j]; j = (j + 1) & (m->nslots - 1))
            if (series_is(&m->all[m->slots[j] - 1], h, service, name, sp->kind, sp->status_code))
                return &m->all[m->slots[j] - 1];
    }
    if (m->n >= m->max)
        return &m->overflow;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->all = ig_xrealloc(m->all, m->cap * sizeof *m->all);
    }
    series *s = &m->all[m->n++];
    memset(s, 0, sizeof *s);
    s->service = keep_text(service);
    s->name = keep_text(name);
    s->service_len = service.len;
    s->name_len = name.len;
    s->kind = sp->kind;
    s->status = sp->status_code;
    s->hash = h;
    if (2 * m->n > m->nslots)
        rehash(m);
    else {
        size_t j = h & (m->nslots - 1);
        while (m->slots[j])
            j = (j + 1) & (m->nslots - 1);
        m->slots[j] = (uint32_t)m->n;
    }
    return s;
}

static size_t bucket_of(double seconds)
{
    size_t i = 0;
    while (i < IG_SPAN_BOUNDS && seconds > ig_span_bounds_s[i])
        i++;
    return i;
}

void ig_metrics_observe(ig_metrics *m, const ig_batch *b)
{
    pthread_mutex_lock(&m->mu);
    for (uint32_t i = 0; i < b->nspans; i++) {
        const ig_batch_span *sp = &b->spans[i];
        series *s = find_series(m, b, sp);
        double seconds = (double)(sp->end_ns - sp->start_ns) / 1e9;
        s->buckets[bucket_of(seconds)]++;
        s->count++;
        s->sum += seconds;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- exposition ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || n > left || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && c == 0xe0 && p[1] < 0xa0) || (n == 3 && c == 0xed && p[1] >= 0xa0) ||
        (n == 4 && c == 0xf0 && p[1] < 0x90) || (n == 4 && c == 0xf4 && p[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

static void put_label_value(ig_strbuf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = len;
    while (left) {
        size_t n = utf8_seq(p, left);
        if (!n) {
            ig_sb_puts(out, "\xef\xbf\xbd");
            n = 1;
        } else if (!*p) {
            ig_sb_puts(out, "\\\\u0000");
        } else if (*p == '\\') {
            ig_sb_puts(out, "\\\\");
        } else if (*p == '"') {
            ig_sb_puts(out, "\\\"");
        } else if (*p == '\n') {
            ig_sb_puts(out, "\\n");
        } else {
            ig_sb_append(out, p, n);
        }
        p += n;
        left -= n;
    }
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                         "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static void put_labels(ig_strbuf *out, const series *s)
{
    if (!s->service) {
        ig_sb_puts(out, "otel_metric_overflow=\"true\"");
        return;
    }
    ig_sb_puts(out, "service_name=\"");
    put_label_value(out, s->service, s->service_len);
    ig_sb_puts(out, "\",span_name=\"");
    put_label_value(out, s->name, s->name_len);
    ig_sb_printf(out, "\",span_kind=\"%s\",status_code=\"%s\"", kind_names[s->kind < 6 ? s->kind : 0],
                 status_names[s->status < 3 ? s->status : 0]);
}

static void put_series(ig_strbuf *out, const series *s)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= IG_SPAN_BOUNDS; i++) {
        cumulative += s->buckets[i];
        ig_sb_puts(out, "ignis_span_duration_seconds_bucket{");
        put_labels(out, s);
        if (i < IG_SPAN_BOUNDS)
            ig_sb_printf(out, ",le=\"%g\"} %llu\n", ig_span_bounds_s[i], (unsigned long long)cumulative);
        else
            ig_sb_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
    }
    ig_sb_puts(out, "ignis_span_duration_seconds_sum{");
    put_labels(out, s);
    ig_sb_printf(out, "} %.9g\n", s->sum);
    ig_sb_puts(out, "ignis_span_duration_seconds_count{");
    put_labels(out, s);
    ig_sb_printf(out, "} %llu\n", (unsigned long long)s->count);
}

static void put_counter(ig_strbuf *out, const char *name, const char *help, const char *type, uint64_t v)
{
    ig_sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, (unsigned long long)v);
}

#define LOAD(c, f) atomic_load(&(c)->f)

static void put_counters(ig_strbuf *out, const ig_collect_counters *c)
{
    put_counter(out, "ignis_collect_spans_received_total", "Spans in decoded requests.", "counter", LOAD(c, spans_received));
    put_counter(out, "ignis_collect_spans_rejected_total", "Invalid spans rejected (partial_success).", "counter",
                LOAD(c, spans_rejected));
    put_counter(out, "ignis_collect_spans_refused_total", "Spans in requests refused with 429 or 503 (the sender retries).",
                "counter", LOAD(c, spans_refused));
    put_counter(out, "ignis_collect_spans_accepted_total", "Spans acknowledged and queued for the store.", "counter",
                LOAD(c, spans_accepted));
    put_counter(out, "ignis_collect_spans_stored_total", "Spans committed to the store.", "counter", LOAD(c, spans_stored));
    put_counter(out, "ignis_collect_spans_dropped_total", "Spans acknowledged but never stored.", "counter",
                LOAD(c, spans_dropped));
    put_counter(out, "ignis_collect_spans_forwarded_total", "Spans accepted by the --forward upstream.", "counter",
                LOAD(c, spans_forwarded));
    put_counter(out, "ignis_collect_spans_forward_failed_total", "Spans that could not be forwarded.", "counter",
                LOAD(c, spans_forward_failed));
    put_counter(out, "ignis_collect_spans_deleted_total", "Spans deleted by retention.", "counter", LOAD(c, spans_deleted));
    put_counter(out, "ignis_collect_traces_deleted_total", "Traces deleted by retention.", "counter", LOAD(c, traces_deleted));
    put_counter(out, "ignis_collect_store_retries_total", "Store transactions that failed and were retried.", "counter",
                LOAD(c, store_retries));
    put_counter(out, "ignis_collect_queue_spans", "Spans waiting for the store.", "gauge", LOAD(c, queue_spans));
    put_counter(out, "ignis_collect_queue_bytes", "Memory held by spans waiting for the store.", "gauge", LOAD(c, queue_bytes));
    ig_sb_puts(out, "# HELP ignis_collect_requests_total OTLP requests answered, by HTTP status.\n"
                    "# TYPE ignis_collect_requests_total counter\n");
    for (size_t i = 0; i < 6; i++)
        ig_sb_printf(out, "ignis_collect_requests_total{code=\"%u\"} %llu\n", status_codes[i],
                     (unsigned long long)atomic_load(&c->requests[i]));
    ig_sb_printf(out, "ignis_collect_requests_total{code=\"other\"} %llu\n", (unsigned long long)LOAD(c, requests_other));
    put_counter(out, "ignis_collect_requests_closed_total",
                "OTLP requests closed without an answer (a refused body went on beyond twice --max-body).", "counter",
                LOAD(c, requests_closed));
    ig_sb_puts(out, "# HELP ignis_collect_connections_cut_total Connections closed by the collector: past a deadline for "
                    "their headers or body (slow), waiting for a request when all were taken (evicted), a host over its "
                    "share (refused).\n# TYPE ignis_collect_connections_cut_total counter\n");
    ig_sb_printf(out, "ignis_collect_connections_cut_total{reason=\"slow\"} %llu\n", (unsigned long long)LOAD(c, conns_cut.slow));
    ig_sb_printf(out, "ignis_collect_connections_cut_total{reason=\"evicted\"} %llu\n",
                 (unsigned long long)LOAD(c, conns_cut.evicted));
    ig_sb_printf(out, "ignis_collect_connections_cut_total{reason=\"refused\"} %llu\n",
                 (unsigned long long)LOAD(c, conns_cut.refused));
}

void ig_metrics_render(ig_metrics *m, const ig_collect_counters *counters, ig_strbuf *out)
{
    ig_sb_puts(out, "# HELP ignis_span_duration_seconds Span durations by service, span name, span kind and status code.\n"
                    "# TYPE ignis_span_duration_seconds histogram\n");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++)
        put_series(out, &m->all[i]);
    if (m->overflow.count)
        put_series(out, &m->overflow);
    pthread_mutex_unlock(&m->mu);
    if (counters)
        put_counters(out, counters);
}
