/*
 * bench/collect_ingest.c — the collector's own CPU per span, without the
 * load generator or the network: what `ignis collect` spends on one span
 * in each of its stages, measured in CPU time (not wall time), so the
 * figure holds on a machine shared with other work.
 *
 * Requests are built once like libignis's (tests/collect/emit): one
 * resource with the SDK's attributes, one scope, 512 spans per request in
 * traces of 20 (a SERVER root and CLIENT/INTERNAL children with five
 * attributes).  Then, for SPANS spans:
 *   - decode: ig_decode_proto and ig_metrics_observe, the HTTP thread's
 *     work per request (its CPU time, this thread);
 *   - store: the batches go through the real writer thread (collect/
 *     writer.c: transactions of at most 200 ms) into a new store with
 *     background checkpoints, as `ignis collect` runs it; the writer's and
 *     the checkpointer's CPU time together (the process's minus this
 *     thread's); with RATE, requests arrive at RATE spans/s (senders
 *     slower than the writer, as live), otherwise as fast as the writer
 *     takes them.
 * Each batch gets fresh trace ids, so every trace is new as in the live
 * collector.  Prints the minimum over REPS runs and the spread.
 *
 *   usage: collect_ingest [SPANS] [REPS] [RATE]   (default 200000 spans, 3 runs, unpaced)
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/decode.h"
#include "collect/metrics.h"
#include "collect/store.h"
#include "collect/writer.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

enum { PER_REQUEST = 512, PER_TRACE = 20, REQUESTS = 16 };

typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__AnyValue AV;

static KV *kv_str(const char *k, const char *v)
{
    KV *kv = calloc(1, sizeof *kv);
    AV *av = calloc(1, sizeof *av);
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = strdup(v);
    kv->key = strdup(k);
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

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void random_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(rng >> 56) | (i == 0); /* never all zero */
    }
}

/* One ExportTraceServiceRequest of PER_REQUEST spans, packed. */
static uint8_t *make_request(int number, size_t *len)
{
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    KV *rattrs[] = {kv_str("telemetry.sdk.name", "ignis"), kv_str("telemetry.sdk.language", "c"),
                    kv_str("telemetry.sdk.version", "0.1.0"), kv_int("process.pid", 12718),
                    kv_str("process.executable.name", "emit"), kv_str("host.name", "vm"),
                    kv_str("service.name", "bench-a")};
    res.attributes = rattrs;
    res.n_attributes = sizeof rattrs / sizeof rattrs[0];
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "emit";
    scope.version = "1.0";
    static const char *const routes[] = {"GET /api/users", "GET /api/orders", "POST /api/items", "GET /health"};
    Opentelemetry__Proto__Trace__V1__Span *spans[PER_REQUEST], **sp = spans;
    uint8_t ids[PER_REQUEST][32];
    uint64_t t = 1796177472509383486ull + (uint64_t)number * 100000000ull;
    for (int i = 0; i < PER_REQUEST; i++) {
        Opentelemetry__Proto__Trace__V1__Span *s = sp[i] = calloc(1, sizeof *s);
        opentelemetry__proto__trace__v1__span__init(s);
        int k = i % PER_TRACE;
        random_bytes(ids[i], 32);
        if (k)
            memcpy(ids[i], ids[i - k], 16); /* same trace as its root */
        s->trace_id = (ProtobufCBinaryData){16, ids[i]};
        s->span_id = (ProtobufCBinaryData){8, ids[i] + 16};
        if (k)
            s->parent_span_id = (ProtobufCBinaryData){8, ids[i - k] + 16};
        s->name = (char *)(k ? (k % 2 ? "SELECT users" : "render") : routes[(i / PER_TRACE) % 4]);
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
            a[4] = kv_int("trace.number", i / PER_TRACE);
        }
        s->attributes = malloc(sizeof a);
        memcpy(s->attributes, a, sizeof a);
        s->n_attributes = 5;
    }
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.scope = &scope;
    ss.spans = spans;
    ss.n_spans = PER_REQUEST;
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
    *len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
    /* the messages leak on purpose: built once, the process exits soon */
    return buf;
}

static double cpu_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Gives every trace of the batch new ids (spans of a trace stay together). */
static void fresh_traces(ig_batch *b)
{
    uint8_t id[16];
    for (uint32_t i = 0; i < b->nspans; i++) {
        if (i % PER_TRACE == 0)
            random_bytes(id, 16);
        memcpy(b->spans[i].trace_id, id, 16);
    }
}

static ig_batch *decode(const uint8_t *body, size_t len, ig_metrics *m)
{
    ig_decode_stats st;
    ig_err err;
    ig_batch *b = ig_decode_proto(body, len, &st, &err);
    if (!b || st.rejected) {
        fprintf(stderr, "collect_ingest: decode: %s\n", b ? st.reason : err.msg);
        exit(1);
    }
    ig_metrics_observe(m, b);
    return b;
}

static double decode_run(uint8_t **bodies, size_t *lens, long spans, ig_metrics *m)
{
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (long n = 0, i = 0; n < spans; n += PER_REQUEST, i++)
        ig_batch_free(decode(bodies[i % REQUESTS], lens[i % REQUESTS], m));
    return cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* Writer and checkpointer CPU for spans spans into a new store in dir. */
static double wall_s(void)
{
    return cpu_s(CLOCK_MONOTONIC);
}

static double store_run(const char *dir, int rep, uint8_t **bodies, size_t *lens, long spans, long rate, ig_metrics *m)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ingest%d.db", dir, rep);
    ig_err err;
    ig_store *s = ig_store_open(path, IG_STORE_CREATE, &err);
    if (!s || ig_store_checkpoint_in_background(s, &err) < 0) {
        fprintf(stderr, "collect_ingest: %s\n", err.msg);
        exit(1);
    }
    ig_collect_counters counters = {0};
    ig_writer_config wc = {s, &counters, 48u << 20, 200, 1000, 0, 0, NULL};
    double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    ig_writer *w = ig_writer_start(&wc, &err);
    if (!w) {
        fprintf(stderr, "collect_ingest: %s\n", err.msg);
        exit(1);
    }
    double start = wall_s();
    for (long n = 0, i = 0; n < spans; n += PER_REQUEST, i++) {
        if (rate) { /* requests arrive at `rate` spans/s, as from senders slower than the writer */
            double at = start + (double)n / (double)rate, now = wall_s();
            if (at > now)
                usleep((useconds_t)((at - now) * 1e6));
        }
        ig_batch *b = decode(bodies[i % REQUESTS], lens[i % REQUESTS], m);
        fresh_traces(b);
        while (ig_writer_submit(w, b) == IG_SUBMIT_FULL)
            usleep(1000);
    }
    uint64_t dropped = ig_writer_stop(w, 60000);
    ig_store_close(s); /* the last checkpoint, as the collector at exit */
    double total = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0, mine = cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    if (dropped || atomic_load(&counters.spans_stored) < (uint64_t)spans) {
        fprintf(stderr, "collect_ingest: %llu spans dropped\n", (unsigned long long)dropped);
        exit(1);
    }
    for (const char *suffix = ""; suffix; suffix = !*suffix ? "-wal" : !strcmp(suffix, "-wal") ? "-shm" : NULL) {
        char p[4300];
        snprintf(p, sizeof p, "%s%s", path, suffix);
        unlink(p);
    }
    return total - mine;
}

static void report(const char *what, const double *v, int reps, long spans)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < reps; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    printf("  %-56s %5.2f us per span (min of %d; max %.2f)\n", what, lo * 1e6 / (double)spans, reps,
           hi * 1e6 / (double)spans);
}

int main(int argc, char **argv)
{
    long spans = argc > 1 ? atol(argv[1]) : 200000;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    long rate = argc > 3 ? atol(argv[3]) : 0;
    if (spans <= 0 || reps <= 0 || reps > 20 || rate < 0) {
        fprintf(stderr, "usage: collect_ingest [SPANS] [REPS] [RATE]\n");
        return 2;
    }
    mallopt(M_MMAP_THRESHOLD, 64 << 20); /* as the collector (collect/main.c) */
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    uint8_t *bodies[REQUESTS];
    size_t lens[REQUESTS];
    for (int i = 0; i < REQUESTS; i++)
        bodies[i] = make_request(i, &lens[i]);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/collect_ingest.XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir - 64) {
        fprintf(stderr, "collect_ingest: TMPDIR too long\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("collect_ingest: mkdtemp");
        return 1;
    }
    ig_metrics *m = ig_metrics_new(10000);
    double dec[20], sto[20];
    for (int r = 0; r < reps; r++) {
        dec[r] = decode_run(bodies, lens, spans, m);
        sto[r] = store_run(dir, r, bodies, lens, spans, rate, m);
    }
    rmdir(dir);
    printf("== ignis collect, CPU per span by stage (%ld spans of %zu-byte requests, %d per request)\n", spans, lens[0],
           PER_REQUEST);
    report("decode + metrics (an HTTP thread):", dec, reps, spans);
    char what[80];
    if (rate)
        snprintf(what, sizeof what, "store at %ld spans/s (writer + checkpoints):", rate);
    else
        snprintf(what, sizeof what, "store, queue always full (writer + checkpoints):");
    report(what, sto, reps, spans);
    ig_metrics_free(m);
    return 0;
}
