/*
 * bench/collect_load.c — a traced service as load for `ignis collect`.
 *
 * Produces SPANS spans through libignis's public API (batch processor,
 * OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT) as traces of
 * PER_TRACE spans — a SERVER root and CLIENT/INTERNAL children — each
 * with three attributes, and every 50th trace ending in error.  It is
 * flow-controlled like bench/otlp_bench.c's SDK mode (it waits while more
 * than 1536 spans are queued), so the figure is what the exporter and
 * the receiver sustain, not how fast a tight loop overflows the queue.
 * Prints "exported N dropped M" (the SDK's own counters) at the end.
 *
 *   usage: collect_load SPANS [PER_TRACE]
 */
#include <ignis/trace.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *const routes[] = {"/api/users", "/api/orders", "/api/items", "/health"};

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 100000;
    long per_trace = argc > 2 ? atol(argv[2]) : 10;
    if (total <= 0 || per_trace <= 0) {
        fprintf(stderr, "usage: collect_load SPANS [PER_TRACE]\n");
        return 2;
    }
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_from_env(err, sizeof err);
    if (!tp) {
        fprintf(stderr, "collect_load: %s\n", err);
        return 1;
    }
    ignis_tracer *t = ignis_tracer_get(tp, "collect-load", "1.0", NULL, 0);
    long made = 0;
    for (long trace = 0; made < total; trace++) {
        wait_for_queue(tp);
        const char *route = routes[trace % 4];
        ignis_span_options ro = {.kind = IGNIS_SPAN_KIND_SERVER};
        ignis_span *root = ignis_span_start(t, route, &ro);
        ignis_span_set_string(root, "http.request.method", "GET");
        ignis_span_set_string(root, "http.route", route);
        ignis_span_set_int(root, "http.response.status_code", trace % 50 ? 200 : 500);
        ignis_scope sc = ignis_span_make_current(root);
        for (long k = 1; k < per_trace && made + k < total; k++) {
            ignis_span_options co = {.kind = k % 2 ? IGNIS_SPAN_KIND_CLIENT : IGNIS_SPAN_KIND_INTERNAL};
            ignis_span *c = ignis_span_start(t, k % 2 ? "SELECT users" : "render", &co);
            ignis_span_set_string(c, "db.system", "sqlite");
            ignis_span_set_int(c, "rows", k);
            ignis_span_set_string(c, "peer.service", "db");
            ignis_span_end(c, 0);
        }
        ignis_scope_end(sc);
        if (trace % 50 == 0)
            ignis_span_set_status(root, IGNIS_STATUS_ERROR, "boom");
        ignis_span_end(root, 0);
        made += per_trace < total - made ? per_trace : total - made;
    }
    int rc = ignis_tracer_provider_force_flush(tp, 60000);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    printf("exported %llu dropped %llu failed %llu\n", (unsigned long long)c.spans_exported,
           (unsigned long long)c.spans_dropped, (unsigned long long)c.export_failures);
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_free(tp);
    return rc == 0 ? 0 : 1;
}
