/*
 * tests/otlp/test_shutdown.c — a shutdown that runs out of time, through
 * the SDK's batch processor and the OTLP/HTTP exporter, against a
 * collector that is down (connections refused), one that hangs (the
 * kernel accepts connections, nobody ever answers) and one that is slow
 * (each answer takes 200 ms).
 *
 * Ground truth is the invariant that every started span is in exactly
 * one counter once shutdown has returned:
 *   started == (started - sampled) + exported + dropped + failed + rejected
 * and the export thread, abandoned by the timed-out shutdown, ends soon
 * after (it starts no new export and the one in flight is aborted), not
 * after the exporter's 30 s timeout per batch.  No timing is asserted
 * beyond those generous bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exporters/otlp.h"
#include "libtrace/internal.h"
#include "tests/otlp/receiver.c"

#define SPANS 3000

/* A loopback TCP socket bound to an ephemeral port: listening (the kernel
 * completes handshakes, nothing reads: a hanging collector) or not
 * (connections are refused: a collector that is down).  Its URL in url. */
static int dead_socket(bool listening, char *url, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (listening)
        assert_int_equal(listen(fd, 64), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, len, "http://127.0.0.1:%d/v1/traces", ntohs(sa.sin_port));
    return fd;
}

static ignis_tracer_provider *provider(const char *url)
{
    ig_otlp_config cfg = {0};
    cfg.url = (char *)url;
    cfg.timeout_ms = 30000;
    cfg.retry_base_ms = 100;
    cfg.retry_max_ms = 400;
    cfg.retry_max_attempts = 1000;
    ig_err err;
    ig_exporter *e = ig_otlp_http_exporter_new(&cfg, &err);
    assert_non_null(e);
    ignis_provider_options o;
    ignis_provider_options_init(&o);
    o.service_name = "shutdown-test";
    o.sampler = IGNIS_SAMPLER_TRACEIDRATIO;
    o.sampler_ratio = 0.5;
    o.batch.schedule_delay_ms = 600000;
    o.batch.max_queue_size = 4096;
    o.batch.export_timeout_ms = 30000;
    ignis_tracer_provider *tp = ig_tracer_provider_new_with_exporter(&o, e, NULL, 0);
    assert_non_null(tp);
    return tp;
}

static void make_spans(ignis_tracer_provider *tp)
{
    ignis_tracer *t = ignis_tracer_get(tp, "shutdown", NULL, NULL, 0);
    for (int i = 0; i < SPANS; i++) {
        ignis_span *s = ignis_span_start(t, "work", NULL);
        ignis_span_set_int(s, "i", i);
        ignis_span_end(s, 0);
    }
}

/* Every started span is in exactly one counter. */
static void assert_accounted(ignis_tracer_provider *tp)
{
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_started, SPANS);
    assert_int_equal(c.spans_ended, SPANS);
    uint64_t unsampled = c.spans_started - c.spans_sampled;
    uint64_t accounted = unsampled + c.spans_exported + c.spans_dropped + c.export_failures + c.export_rejected;
    if (accounted != c.spans_started)
        fail_msg("started %llu != unsampled %llu + exported %llu + dropped %llu + failed %llu + rejected %llu",
                 (unsigned long long)c.spans_started, (unsigned long long)unsampled,
                 (unsigned long long)c.spans_exported, (unsigned long long)c.spans_dropped,
                 (unsigned long long)c.export_failures, (unsigned long long)c.export_rejected);
}

/* Shuts down with a short timeout, checks the counters at once, then that
 * the abandoned export thread ends well before one export timeout. */
static void shutdown_short(ignis_tracer_provider *tp)
{
    int rc = ignis_tracer_provider_shutdown(tp, 300);
    assert_accounted(tp);
    ignis_trace_counters before;
    ignis_tracer_provider_counters(tp, &before);
    if (rc != 0)
        assert_true(ig_processor_wait_exit(tp->proc, 10000));
    ignis_trace_counters after; /* final: nothing moves after shutdown returned */
    ignis_tracer_provider_counters(tp, &after);
    assert_memory_equal(&before, &after, sizeof before);
    ignis_tracer_provider_free(tp);
}

static void collector_down(void **state)
{
    (void)state;
    char url[64];
    int fd = dead_socket(false, url, sizeof url);
    ignis_tracer_provider *tp = provider(url);
    make_spans(tp);
    shutdown_short(tp);
    close(fd);
}

static void collector_hangs(void **state)
{
    (void)state;
    char url[64];
    int fd = dead_socket(true, url, sizeof url);
    ignis_tracer_provider *tp = provider(url);
    make_spans(tp);
    shutdown_short(tp);
    close(fd);
}

static void collector_slow(void **state)
{
    (void)state;
    rcv *r = rcv_start(true);
    assert_non_null(r);
    rcv_set_delay(r, 200);
    ignis_tracer_provider *tp = provider(rcv_url(r));
    make_spans(tp);
    shutdown_short(tp);
    rcv_stop(r);
}

/* With time enough, the slow collector gets everything. */
static void collector_slow_enough_time(void **state)
{
    (void)state;
    rcv *r = rcv_start(true);
    assert_non_null(r);
    rcv_set_delay(r, 50);
    ignis_tracer_provider *tp = provider(rcv_url(r));
    make_spans(tp);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 60000), 0);
    assert_accounted(tp);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_exported, c.spans_sampled);
    assert_int_equal(rcv_span_count(r), c.spans_sampled);
    ignis_tracer_provider_free(tp);
    rcv_stop(r);
}

/* Spans that end after shutdown began are dropped, and counted so. */
static void ended_after_shutdown(void **state)
{
    (void)state;
    rcv *r = rcv_start(true);
    assert_non_null(r);
    ignis_tracer_provider *tp = provider(rcv_url(r));
    ignis_tracer *t = ignis_tracer_get(tp, "late", NULL, NULL, 0);
    ignis_span *open[SPANS];
    for (int i = 0; i < SPANS; i++)
        open[i] = ignis_span_start(t, "late", NULL);
    assert_int_equal(ignis_tracer_provider_shutdown(tp, 60000), 0);
    for (int i = 0; i < SPANS; i++)
        ignis_span_end(open[i], 0);
    assert_accounted(tp);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    assert_int_equal(c.spans_dropped, c.spans_sampled);
    ignis_tracer_provider_free(tp);
    rcv_stop(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(collector_down),
        cmocka_unit_test(collector_hangs),
        cmocka_unit_test(collector_slow),
        cmocka_unit_test(collector_slow_enough_time),
        cmocka_unit_test(ended_after_shutdown),
    };
    return cmocka_run_group_tests_name("otlp_shutdown", tests, NULL, NULL);
}
