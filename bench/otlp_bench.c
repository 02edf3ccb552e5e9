/*
 * bench/otlp_bench.c — OTLP/HTTP export throughput to a loopback receiver.
 *
 * The receiver (tests/otlp/receiver.c, decoding every request with
 * protobuf-c to count its spans) runs in a forked child so that the peak
 * RSS measured here is the exporting process's alone.  The exporter is fed
 * batches of 512 spans with 3 attributes each (the batch processor's
 * default batch size), back to back, for a fixed number of spans; the
 * figure is spans accepted by the receiver per second of wall time.  The
 * run is checked against ground truth: the receiver must have decoded
 * exactly the number of spans sent and the exporter must count them all
 * as exported.
 *
 * Mode "sdk" measures the same path through the SDK instead: the main
 * thread starts and ends spans (3 attributes) through the batch processor
 * with its defaults (queue 2048, batch 512) and the export thread ships
 * them with this exporter.  The producer is flow-controlled — it yields
 * while more than 1536 spans are queued — so the figure is what export
 * sustains (spans exported per second until the final flush returns),
 * not how fast a tight loop overflows the queue.
 *
 *   usage: otlp_bench [SPANS] [protobuf|json|sdk] [gzip]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exporters/otlp.h"
#include "ignis/trace.h"
#include "tests/otlp/receiver.c"

#define BATCH 512

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Child: serve until the parent closes `ctl`, then report the span count. */
static void run_receiver(int port_fd, int ctl_fd, int result_fd)
{
    rcv *r = rcv_start(true);
    int port = r ? rcv_port(r) : -1;
    if (write(port_fd, &port, sizeof port) != sizeof port || !r)
        _exit(1);
    char c;
    while (read(ctl_fd, &c, 1) > 0)
        ;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    uint64_t out[3] = {rcv_span_count(r), rcv_posts(r), cpu_us};
    if (write(result_fd, out, sizeof out) != sizeof out)
        _exit(1);
    rcv_stop(r);
    _exit(0);
}

static void fill_batch(ig_span_data *spans, const ig_span_data **ptrs, ig_attr (*attrs)[3],
                       const ig_resource *res, const ig_scope *scope)
{
    uint64_t t0 = 1700000000000000000ULL;
    for (int i = 0; i < BATCH; i++) {
        ig_span_data *s = &spans[i];
        memset(s, 0, sizeof *s);
        s->resource = res;
        s->scope = scope;
        for (int k = 0; k < 16; k++)
            s->trace_id[k] = (uint8_t)(i * 7 + k + 1);
        for (int k = 0; k < 8; k++)
            s->span_id[k] = (uint8_t)(i * 13 + k + 1);
        s->has_parent = i % 4 != 0;
        memcpy(s->parent_span_id, spans[i & ~3].span_id, 8);
        s->flags = 1;
        s->name = "GET /api/v1/users";
        s->kind = IG_KIND_SERVER;
        s->start_ns = t0 + (uint64_t)i * 1000;
        s->end_ns = s->start_ns + 500;
        attrs[i][0] = (ig_attr){.key = "http.request.method", .type = IG_ATTR_STRING, .len = 3, .v.s = "GET"};
        attrs[i][1] = (ig_attr){.key = "http.response.status_code", .type = IG_ATTR_INT, .v.i = 200};
        attrs[i][2] = (ig_attr){.key = "url.path", .type = IG_ATTR_STRING, .len = 13, .v.s = "/api/v1/users"};
        s->attrs = attrs[i];
        s->nattrs = 3;
        ptrs[i] = s;
    }
}

static uint64_t receiver_result(int ctl_fd, int res_fd, pid_t pid, uint64_t *posts, double *cpu)
{
    close(ctl_fd);
    uint64_t got[3] = {0, 0, 0};
    if (read(res_fd, got, sizeof got) != sizeof got)
        fprintf(stderr, "otlp_bench: no result from the receiver\n");
    waitpid(pid, NULL, 0);
    *posts = got[1];
    *cpu = got[2] / 1e6;
    return got[0];
}

static int run_sdk(const char *url, long total, uint64_t *exported, uint64_t *dropped);

static int bench_sdk(const char *url, long total, int ctl_fd, int res_fd, pid_t pid)
{
    uint64_t exported = 0, dropped = 0, posts;
    double cpu_r, t0 = now_s();
    int rc = run_sdk(url, total, &exported, &dropped);
    double dt = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t got = receiver_result(ctl_fd, res_fd, pid, &posts, &cpu_r);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("otlp export through the SDK (batch processor, http/protobuf): %ld spans in %.2f s = %.0f spans/s, "
           "peak RSS %.1f MB\n", total, dt, exported / dt, ru.ru_maxrss / 1024.0);
    printf("  receiver decoded %llu spans in %llu requests; SDK counted %llu exported, %llu dropped;\n"
           "  CPU: application+exporter %.2f s (%.0f ns/span), receiver %.2f s\n",
           (unsigned long long)got, (unsigned long long)posts, (unsigned long long)exported,
           (unsigned long long)dropped, cpu, cpu * 1e9 / (double)total, cpu_r);
    if (rc != 0 || got != exported || exported + dropped != (uint64_t)total) {
        fprintf(stderr, "otlp_bench: span counts do not match\n");
        return 1;
    }
    return 0;
}

/* Spans through the SDK's batch processor into the OTLP exporter. */
static int run_sdk(const char *url, long total, uint64_t *exported, uint64_t *dropped)
{
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url, 1);
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.service_name = "otlp-bench";
    o.exporter = IGNIS_EXPORTER_OTLP;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp) {
        fprintf(stderr, "otlp_bench: %s\n", err);
        return -1;
    }
    ignis_tracer *t = ignis_tracer_get(tp, "bench", "1.0", NULL, 0);
    for (long i = 0; i < total; i++) {
        if (i % 256 == 0)
            for (;;) {
                ignis_trace_counters c;
                ignis_tracer_provider_counters(tp, &c);
                if (c.spans_ended - c.spans_exported - c.spans_dropped - c.export_failures < 1536)
                    break;
                struct timespec pause = {0, 50000};
                nanosleep(&pause, NULL);
            }
        ignis_span *s = ignis_span_start(t, "GET /api/v1/users", NULL);
        ignis_span_set_string(s, "http.request.method", "GET");
        ignis_span_set_int(s, "http.response.status_code", 200);
        ignis_span_set_string(s, "url.path", "/api/v1/users");
        ignis_span_end(s, 0);
    }
    int rc = ignis_tracer_provider_force_flush(tp, 60000);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    *exported = c.spans_exported;
    *dropped = c.spans_dropped;
    ignis_tracer_provider_shutdown(tp, 10000);
    ignis_tracer_provider_free(tp);
    return rc;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 4000000;
    bool json = argc > 2 && !strcmp(argv[2], "json");
    bool sdk = argc > 2 && !strcmp(argv[2], "sdk");
    bool gzip = argc > 3 && !strcmp(argv[3], "gzip");
    if (total <= 0) {
        fprintf(stderr, "otlp_bench: SPANS must be a positive number\n");
        return 2;
    }
    int port_p[2], ctl_p[2], res_p[2];
    if (pipe(port_p) || pipe(ctl_p) || pipe(res_p))
        return perror("pipe"), 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ctl_p[1]);
        run_receiver(port_p[1], ctl_p[0], res_p[1]);
    }
    close(ctl_p[0]);
    int port;
    if (read(port_p[0], &port, sizeof port) != sizeof port || port <= 0) {
        fprintf(stderr, "otlp_bench: receiver did not start\n");
        return 1;
    }

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", port);
    if (sdk)
        return bench_sdk(url, total, ctl_p[1], res_p[0], pid);
    ig_otlp_config cfg = {.url = url, .json = json, .gzip = gzip, .timeout_ms = 10000,
                          .retry_base_ms = 100, .retry_max_ms = 1000, .retry_max_attempts = 3};
    ig_err err;
    ig_exporter *e = ig_otlp_http_exporter_new(&cfg, &err);
    if (!e) {
        fprintf(stderr, "otlp_bench: %s\n", err.msg);
        return 1;
    }
    static ig_span_data spans[BATCH];
    static const ig_span_data *ptrs[BATCH];
    static ig_attr attrs[BATCH][3];
    static const ig_attr res_attrs[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 10, .v.s = "otlp-bench"}};
    static const ig_resource res = {res_attrs, 1};
    static const ig_scope scope = {"bench", "1.0", NULL, 0};
    fill_batch(spans, ptrs, attrs, &res, &scope);

    long sent = 0;
    int failed_batches = 0;
    double t0 = now_s();
    while (sent < total) {
        size_t n = total - sent < BATCH ? (size_t)(total - sent) : BATCH;
        if (e->export_spans(e, ptrs, n, 0) != IG_EXPORT_OK)
            failed_batches++;
        sent += (long)n;
    }
    double dt = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    close(ctl_p[1]);
    uint64_t got[3] = {0, 0, 0};
    if (read(res_p[0], got, sizeof got) != sizeof got)
        fprintf(stderr, "otlp_bench: no result from the receiver\n");
    waitpid(pid, NULL, 0);

    uint64_t exported = atomic_load(&e->counters.exported);
    printf("otlp export (%s%s, batch %d, 3 attrs): %ld spans in %.2f s = %.0f spans/s, peak RSS %.1f MB\n",
           json ? "http/json" : "http/protobuf", gzip ? "+gzip" : "", BATCH, sent, dt, sent / dt,
           ru.ru_maxrss / 1024.0);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("  receiver decoded %llu spans in %llu requests; exporter counted %llu exported, %d failed batches;\n"
           "  CPU: exporter %.2f s (%.0f ns/span), receiver %.2f s\n",
           (unsigned long long)got[0], (unsigned long long)got[1], (unsigned long long)exported, failed_batches,
           cpu, cpu * 1e9 / sent, got[2] / 1e6);
    e->destroy(e);
    if (got[0] != (uint64_t)sent || exported != (uint64_t)sent) {
        fprintf(stderr, "otlp_bench: span counts do not match\n");
        return 1;
    }
    return 0;
}
