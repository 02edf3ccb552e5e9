/*
 * bench/collect_request.c — request bodies for the collector benchmarks
 * (see bench/collect_request.h).
 *
 * The request is built with protobuf-c's generated messages and packed
 * once; afterwards each trace id is found in the packed bytes (16 random
 * bytes occur nowhere else) and its offsets kept, one per span of the
 * trace, and so is each start and end time (fixed64 fields, found in
 * span order), so new ids and times cost 32 bytes of writes per span and
 * no encoding.
 */
#include "bench/collect_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AV;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "collect bench: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = xcalloc(1, strlen(s) + 1);
    return strcpy(p, s);
}

static KV *kv_str(const char *k, const char *v)
{
    KV *kv = xcalloc(1, sizeof *kv);
    AV *av = xcalloc(1, sizeof *av);
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = xstrdup(v);
    kv->key = xstrdup(k);
    kv->value = av;
    return kv;
}

static KV *kv_int(const char *k, int64_t v)
{
    KV *kv = kv_str(k, "");
    free(kv->value->string_value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

static void free_kv(KV *kv)
{
    if (kv->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        free(kv->value->string_value);
    free(kv->value);
    free(kv->key);
    free(kv);
}

void bench_random_bytes(uint8_t *p, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(*rng >> 56) | (i == 0); /* never all zero */
    }
}

/* Span i of a request: a root (SERVER) every BENCH_PER_TRACE spans, else
 * its CLIENT or INTERNAL child. */
static Span *make_span(int i, uint8_t ids[][32], uint64_t t)
{
    static const char *const routes[] = {"GET /api/users", "GET /api/orders", "POST /api/items", "GET /health"};
    Span *s = xcalloc(1, sizeof *s);
    opentelemetry__proto__trace__v1__span__init(s);
    int k = i % BENCH_PER_TRACE;
    s->trace_id = (ProtobufCBinaryData){16, ids[i]};
    s->span_id = (ProtobufCBinaryData){8, ids[i] + 16};
    if (k)
        s->parent_span_id = (ProtobufCBinaryData){8, ids[i - k] + 16};
    s->name = (char *)(k ? (k % 2 ? "SELECT users" : "render") : routes[(i / BENCH_PER_TRACE) % 4]);
    s->kind = k ? (k % 2 ? 3 : 1) : 2;
    s->start_time_unix_nano = t + (uint64_t)i * 1000;
    s->end_time_unix_nano = s->start_time_unix_nano + 300 + (uint64_t)k * 17;
    s->flags = 257;
    KV *a[5] = {kv_int("thread.id", 12718), kv_str("thread.name", "emit")};
    if (k) {
        a[2] = kv_str("db.system", "sqlite");
        a[3] = kv_int("rows", k);
        a[4] = kv_str("peer.service", "db");
    } else {
        a[2] = kv_str("http.request.method", "GET");
        a[3] = kv_int("http.response.status_code", 200);
        a[4] = kv_int("trace.number", i / BENCH_PER_TRACE);
    }
    s->attributes = xcalloc(5, sizeof *s->attributes);
    memcpy(s->attributes, a, sizeof a);
    s->n_attributes = 5;
    return s;
}

/* Records where each trace's id sits in the packed body. */
static void find_trace_ids(bench_request *r, uint8_t ids[][32])
{
    r->id_at = xcalloc(BENCH_PER_REQUEST, sizeof *r->id_at);
    r->ntraces = 0;
    for (int i = 0; i < BENCH_PER_REQUEST; i += BENCH_PER_TRACE) {
        int found = 0;
        for (const uint8_t *p = r->body, *end = r->body + r->len;
             (p = memmem(p, (size_t)(end - p), ids[i], 16)); p += 16, found++)
            r->id_at[r->nids++] = (size_t)(p - r->body);
        int want = BENCH_PER_REQUEST - i < BENCH_PER_TRACE ? BENCH_PER_REQUEST - i : BENCH_PER_TRACE;
        if (found != want) {
            fprintf(stderr, "collect bench: trace %d's id found %d times in the body, not %d\n", i, found, want);
            exit(1);
        }
        r->per_trace[r->ntraces++] = found;
    }
}

/* Records where each span's start and end time sits in the packed body:
 * they come in span order, start before end, so each search goes on from
 * the one before. */
static void find_times(bench_request *r, Span *const *spans)
{
    uint64_t first = spans[0]->start_time_unix_nano;
    const uint8_t *from = r->body, *end = r->body + r->len;
    for (int i = 0; i < 2 * BENCH_PER_REQUEST; i++) {
        uint64_t v = i % 2 ? spans[i / 2]->end_time_unix_nano : spans[i / 2]->start_time_unix_nano;
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)(v >> (8 * k)); /* fixed64: little-endian */
        const uint8_t *p = memmem(from, (size_t)(end - from), le, 8);
        if (!p) {
            fprintf(stderr, "collect bench: span %d's time is not in the body\n", i / 2);
            exit(1);
        }
        r->time_at[i] = (size_t)(p - r->body);
        r->times[i] = v - first;
        from = p + 8;
    }
}

void bench_request_build(bench_request *r, int number, const char *service)
{
    memset(r, 0, sizeof *r);
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)number << 32);
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    KV *rattrs[] = {kv_str("telemetry.sdk.name", "ignis"), kv_str("telemetry.sdk.language", "c"),
                    kv_str("telemetry.sdk.version", "0.1.0"), kv_int("process.pid", 12718),
                    kv_str("process.executable.name", "emit"), kv_str("host.name", "vm"),
                    kv_str("service.name", service)};
    res.attributes = rattrs;
    res.n_attributes = sizeof rattrs / sizeof rattrs[0];
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "emit";
    scope.version = "1.0";
    Span *spans[BENCH_PER_REQUEST];
    uint8_t ids[BENCH_PER_REQUEST][32];
    uint64_t t = 1796177472509383486ull + (uint64_t)number * 100000000ull;
    for (int i = 0; i < BENCH_PER_REQUEST; i++) {
        int k = i % BENCH_PER_TRACE;
        bench_random_bytes(ids[i], 32, &rng);
        if (k)
            memcpy(ids[i], ids[i - k], 16); /* same trace as its root */
        spans[i] = make_span(i, ids, t);
    }
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.scope = &scope;
    ss.spans = spans;
    ss.n_spans = BENCH_PER_REQUEST;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.scope_spans = &ssp;
    rs.n_scope_spans = 1;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.resource_spans = &rsp;
    req.n_resource_spans = 1;
    r->len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    r->body = xcalloc(1, r->len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, r->body);
    find_trace_ids(r, ids);
    find_times(r, spans);
    for (int i = 0; i < BENCH_PER_REQUEST; i++) {
        for (size_t a = 0; a < spans[i]->n_attributes; a++)
            free_kv(spans[i]->attributes[a]);
        free(spans[i]->attributes);
        free(spans[i]);
    }
    for (size_t a = 0; a < res.n_attributes; a++)
        free_kv(rattrs[a]);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_request_new_traces(bench_request *r, uint64_t *rng, uint64_t start_ns)
{
    for (int i = 0; i < 2 * BENCH_PER_REQUEST; i++) {
        uint64_t v = start_ns + r->times[i];
        for (int k = 0; k < 8; k++)
            r->body[r->time_at[i] + (size_t)k] = (uint8_t)(v >> (8 * k));
    }
    size_t at = 0;
    for (int t = 0; t < r->ntraces; t++) {
        uint8_t id[16];
        bench_random_bytes(id, 16, rng);
        for (int k = 0; k < r->per_trace[t]; k++)
            memcpy(r->body + r->id_at[at++], id, 16);
    }
}
