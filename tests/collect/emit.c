/*
 * tests/collect/emit.c — a service traced with libignis, as load and as
 * ground truth for `ignis collect`'s tests and benchmark.
 *
 * Sends SPANS spans through the public API (batch processor and the
 * OTLP/HTTP exporter, configured by OTEL_* like any service: endpoint,
 * protocol http/protobuf or http/json, gzip) as traces of PER_TRACE spans:
 * a SERVER root and CLIENT/INTERNAL children, three attributes each,
 * every 50th trace ending in error.  With "spread", every span gets an
 * explicit duration from a fixed pseudo-random sequence (1 ms to about
 * 3 s, skewed towards short ones) so histograms have shape; otherwise
 * spans take the time they take (nothing: the benchmark).  The producer
 * waits while more than 1536 spans are queued, so nothing is dropped for
 * a full queue and the rate is what export and the receiver sustain.
 * Prints "exported N dropped M failed F" (the SDK's counters) at the end.
 *
 *   usage: emit SPANS [PER_TRACE] [spread]
 */
#include <ignis/trace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void wait_for_queue(ignis_tracer_provider *tp)
{
    for (;;) {
        ignis_trace_counters c;
        ignis_tracer_provider_counters(tp, &c);
        if (c.spans_ended - c.spans_exported - c.spans_dropped - c.export_failures < 1536)
            return;
        struct timespec pause = {0, 50000};
        nanosleep(&pause, NULL);
    }
}

/* 1 ms .. ~3 s, mostly short: the square of a uniform draw. */
static uint64_t next_duration(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(*state >> 11) / 9007199254740992.0;
    return (uint64_t)((1.0 + u * u * 3000.0) * 1e6);
}

static ignis_span *start(ignis_tracer *t, const char *name, ignis_span_kind kind, uint64_t at)
{
    ignis_span_options o = {.kind = kind, .start_time_ns = at};
    return ignis_span_start(t, name, &o);
}

static const char *const routes[] = {"GET /api/users", "GET /api/orders", "POST /api/items", "GET /health"};

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 1000;
    long per_trace = argc > 2 ? atol(argv[2]) : 10;
    bool spread = argc > 3 && !strcmp(argv[3], "spread");
    if (total <= 0 || per_trace <= 0) {
        fprintf(stderr, "usage: emit SPANS [PER_TRACE] [spread]\n");
        return 2;
    }
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_from_env(err, sizeof err);
    if (!tp) {
        fprintf(stderr, "emit: %s\n", err);
        return 1;
    }
    ignis_tracer *t = ignis_tracer_get(tp, "emit", "1.0", NULL, 0);
    uint64_t rng = 42, t0 = (uint64_t)time(NULL) * 1000000000ULL;
    long made = 0;
    for (long trace = 0; made < total; trace++) {
        wait_for_queue(tp);
        long n = per_trace < total - made ? per_trace : total - made;
        uint64_t at = spread ? t0 + (uint64_t)trace * 1000000 : 0;
        uint64_t root_dur = spread ? next_duration(&rng) : 0;
        ignis_span *root = start(t, routes[trace % 4], IGNIS_SPAN_KIND_SERVER, at);
        ignis_span_set_string(root, "http.request.method", routes[trace % 4][0] == 'P' ? "POST" : "GET");
        ignis_span_set_int(root, "http.response.status_code", trace % 50 ? 200 : 500);
        ignis_span_set_int(root, "trace.number", trace);
        ignis_scope sc = ignis_span_make_current(root);
        for (long k = 1; k < n; k++) {
            if (k % 256 == 0)
                wait_for_queue(tp);
            bool client = k % 2;
            ignis_span *c = start(t, client ? "SELECT users" : "render", client ? IGNIS_SPAN_KIND_CLIENT : IGNIS_SPAN_KIND_INTERNAL,
                                  at ? at + (uint64_t)k : 0);
            ignis_span_set_string(c, "db.system", "sqlite");
            ignis_span_set_int(c, "rows", k);
            ignis_span_set_string(c, "peer.service", "db");
            ignis_span_end(c, spread ? at + (uint64_t)k + next_duration(&rng) : 0);
        }
        ignis_scope_end(sc);
        if (trace % 50 == 0)
            ignis_span_set_status(root, IGNIS_STATUS_ERROR, "boom");
        ignis_span_end(root, spread ? at + root_dur : 0);
        made += n;
    }
    int rc = ignis_tracer_provider_force_flush(tp, 60000);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    printf("exported %llu dropped %llu failed %llu\n", (unsigned long long)c.spans_exported,
           (unsigned long long)c.spans_dropped, (unsigned long long)c.export_failures);
    fflush(stdout);
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_free(tp);
    return rc == 0 ? 0 : 1;
}
