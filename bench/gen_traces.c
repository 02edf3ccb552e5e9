/*
 * bench/gen_traces.c — writes the trace views' benchmark store: about
 * 50,000 traces holding 1,000,000 spans over one hour, through the store's
 * write API (what `ignis collect` does), deterministic (a fixed seed).
 *
 * 8 services with 5 operations each; a trace has 2..38 spans (20 on
 * average) and one has 10,000; a span's parent is a random earlier span
 * of its trace and it runs within its parent's time; 2% of spans end in
 * error, 5% carry an event; each has three attributes.
 *   usage: gen_traces FILE   (FILE must not exist)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect/batch.h"
#include "collect/store.h"
#include "utils/hash.h"

enum { SPANS = 1000000, BIG_TRACE = 10000, SERVICES = 8, OPS = 5, PER_TXN = 50000, PER_BATCH = 2000 };

static const char *services[SERVICES] = {"frontend", "cart", "checkout", "payments",
                                         "inventory", "shipping", "users", "search"};
static const char *verbs[OPS] = {"GET /api/%s", "POST /api/%s", "SELECT %s", "cache %s", "publish %s"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t below(uint64_t n)
{
    return n ? next() % n : 0;
}

typedef struct gen {
    ig_store *s;
    ig_batch *b;
    uint32_t resource[SERVICES];
    char names[SERVICES][OPS][48];
    size_t in_txn;
} gen;

static ig_bstr str(ig_batch *b, const char *s)
{
    return ig_batch_str(b, s, strlen(s));
}

static void new_batch(gen *g)
{
    g->b = ig_batch_new();
    g->b->received_ns = 1700000000000000000ull;
    for (int i = 0; i < SERVICES; i++) {
        ig_batch_resource *r = ig_batch_add_resource(g->b);
        char attrs[128];
        snprintf(attrs, sizeof attrs, "{\"service.name\":\"%s\",\"host.name\":\"node-%d\"}", services[i], i);
        r->digest = ig_hash_bytes(attrs, strlen(attrs), 1);
        r->service = str(g->b, services[i]);
        r->attrs = str(g->b, attrs);
        r->schema_url = str(g->b, "");
        g->resource[i] = (uint32_t)i;
    }
    ig_batch_scope *c = ig_batch_add_scope(g->b);
    c->digest = 1;
    c->name = str(g->b, "bench");
    c->version = str(g->b, "1");
    c->attrs = str(g->b, "{}");
    c->schema_url = str(g->b, "");
}

static int flush(gen *g, int commit)
{
    ig_err err;
    if (g->b->nspans && ig_store_insert(g->s, g->b, &err) != 0) {
        fprintf(stderr, "gen_traces: %s\n", err.msg);
        return -1;
    }
    ig_batch_free(g->b);
    new_batch(g);
    if (commit) {
        if (ig_store_commit(g->s, &err) != 0 || ig_store_begin(g->s, &err) != 0) {
            fprintf(stderr, "gen_traces: %s\n", err.msg);
            return -1;
        }
        g->in_txn = 0;
    }
    return 0;
}

typedef struct span_time {
    uint64_t start, end;
} span_time;

/* One trace of n spans starting at t0. */
static int add_trace(gen *g, uint64_t number, size_t n, uint64_t t0, span_time *times)
{
    uint8_t trace_id[16];
    uint64_t hi = next(), lo = number;
    memcpy(trace_id, &hi, 8);
    memcpy(trace_id + 8, &lo, 8);
    for (size_t i = 0; i < n; i++) {
        ig_batch_span *sp = ig_batch_add_span(g->b);
        memcpy(sp->trace_id, trace_id, 16);
        uint64_t id = number << 20 | (i + 1);
        memcpy(sp->span_id, &id, 8);
        int svc = i == 0 ? 0 : (int)below(SERVICES), op = (int)below(OPS);
        if (i == 0) {
            uint64_t dur = 1000000 + below(400000000); /* 1 ms .. 400 ms */
            times[0] = (span_time){t0, t0 + dur};
        } else {
            size_t p = (size_t)below(i);
            uint64_t pid = number << 20 | (p + 1), len = times[p].end - times[p].start;
            memcpy(sp->parent_span_id, &pid, 8);
            sp->has_parent = true;
            uint64_t start = times[p].start + below(len / 2 + 1);
            uint64_t dur = below((times[p].end - start) + 1);
            times[i] = (span_time){start, start + dur};
        }
        sp->resource = g->resource[svc];
        sp->scope = 0;
        sp->kind = i == 0 ? 2 : 1;
        sp->status_code = below(50) == 0 ? 2 : 0;
        sp->name = str(g->b, g->names[svc][op]);
        sp->status_message = str(g->b, sp->status_code == 2 ? "failed" : "");
        sp->trace_state = str(g->b, "");
        sp->start_ns = times[i].start;
        sp->end_ns = times[i].end > times[i].start ? times[i].end : times[i].start + 1;
        char attrs[160];
        snprintf(attrs, sizeof attrs,
                 "{\"http.request.method\":\"GET\",\"http.response.status_code\":%d,\"user.id\":\"u%llu\"}",
                 sp->status_code == 2 ? 500 : 200, (unsigned long long)below(10000));
        sp->attrs = str(g->b, attrs);
        sp->nattrs = 3;
        if (below(20) == 0) {
            ig_batch_event *e = ig_batch_add_event(g->b);
            e->time_ns = sp->start_ns;
            e->name = str(g->b, "retry");
            e->attrs = str(g->b, "{}");
            sp->first_event = g->b->nevents - 1;
            sp->nevents = 1;
        }
        if (g->b->nspans >= PER_BATCH && flush(g, ++g->in_txn * PER_BATCH >= PER_TXN) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct stat st;
    if (argc != 2 || stat(argv[1], &st) == 0) {
        fprintf(stderr, "usage: gen_traces FILE (a new file)\n");
        return 2;
    }
    gen g = {0};
    ig_err err;
    if (!(g.s = ig_store_open(argv[1], IG_STORE_CREATE, &err)) || ig_store_begin(g.s, &err) != 0) {
        fprintf(stderr, "gen_traces: %s\n", err.msg);
        return 1;
    }
    for (int s = 0; s < SERVICES; s++)
        for (int o = 0; o < OPS; o++) {
            char what[32];
            snprintf(what, sizeof what, "%s%d", services[s], o);
            snprintf(g.names[s][o], sizeof g.names[s][o], verbs[o], what);
        }
    new_batch(&g);
    span_time *times = malloc(BIG_TRACE * sizeof *times);
    const uint64_t t0 = 1700000000000000000ull, hour = 3600000000000ull;
    size_t spans = 0;
    uint64_t number = 1;
    int rc = 0;
    while (rc == 0 && spans < SPANS) {
        size_t n = number == 25000 ? BIG_TRACE : 2 + (size_t)below(37);
        if (spans + n > SPANS)
            n = SPANS - spans;
        rc = add_trace(&g, number, n, t0 + hour * spans / SPANS, times);
        spans += n;
        number++;
    }
    if (rc == 0)
        rc = flush(&g, 0);
    if (rc == 0 && ig_store_commit(g.s, &err) != 0) {
        fprintf(stderr, "gen_traces: %s\n", err.msg);
        rc = -1;
    }
    ig_batch_free(g.b);
    free(times);
    ig_store_close(g.s);
    if (rc == 0)
        printf("%llu traces, %zu spans\n", (unsigned long long)(number - 1), spans);
    return rc ? 1 : 0;
}
