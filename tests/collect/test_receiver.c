/*
 * tests/collect/test_receiver.c — the collector's threads in one process,
 * for ThreadSanitizer as much as for behaviour: two receivers (the first
 * forwarding to the second), each with its writer thread and background
 * checkpoints, take requests from two client threads at once (libcurl),
 * protobuf and gzip'd JSON, while a third thread scrapes /metrics.  In
 * the end both stores hold every span, the counters agree, and the
 * forwarded bodies were counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/receiver.h"
#include "exporters/otlp.h"
#include "utils/fileio.h"

#define T0 1700000000000000000ULL
enum { REQUESTS = 40, SPANS = 50 };

typedef struct collector {
    ig_store *store;
    ig_collect_counters counters;
    ig_writer *writer;
    ig_forwarder *forwarder;
    ig_metrics *metrics;
    ig_receiver *receiver;
    char url[64];
} collector;

static char dir[] = "/tmp/ignis-recv-XXXXXX";

static void start(collector *c, const char *name, const char *forward)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    ig_err err;
    c->store = ig_store_open(path, IG_STORE_CREATE, &err);
    if (!c->store || ig_store_checkpoint_in_background(c->store, &err))
        fail_msg("%s", err.msg);
    ig_writer_config wc = {c->store, &c->counters, 64 << 20, 20, 100, 0, 0, NULL};
    c->writer = ig_writer_start(&wc, &err);
    assert_non_null(c->writer);
    if (forward && !(c->forwarder = ig_forwarder_start(forward, 64 << 20, &c->counters, NULL, &err)))
        fail_msg("%s", err.msg);
    c->metrics = ig_metrics_new(100);
    ig_receiver_config rc = {"127.0.0.1:0", 1 << 20, 8 << 20, 2, c->writer, c->forwarder, c->metrics, &c->counters};
    c->receiver = ig_receiver_start(&rc, &err);
    if (!c->receiver)
        fail_msg("%s", err.msg);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d/v1/traces", ig_receiver_port(c->receiver));
}

static void stop(collector *c)
{
    ig_receiver_stop(c->receiver);
    assert_int_equal(ig_writer_stop(c->writer, 5000), 0);
    ig_forwarder_stop(c->forwarder, 10000);
    ig_metrics_free(c->metrics);
    ig_store_close(c->store);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* POSTs a body; returns the HTTP status. */
static long post(const char *url, const void *body, size_t len, const char *ctype, bool gzip)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, ctype);
    if (gzip)
        hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return status;
}

typedef struct bodies {
    uint8_t *body[REQUESTS];
    size_t len[REQUESTS];
    const char *url;
    bool json;
    long failures;
} bodies;

static void *client(void *arg)
{
    bodies *b = arg;
    for (int i = 0; i < REQUESTS; i++)
        if (post(b->url, b->body[i], b->len[i], b->json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf",
                 b->json) != 200)
            b->failures++;
    return NULL;
}

typedef struct scraper {
    const char *url;
    volatile int stop;
    int scrapes;
} scraper;

static size_t count_bytes(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    *(size_t *)ud += size * n;
    return size * n;
}

static void *scrape(void *arg)
{
    scraper *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) || s->scrapes < 3) {
        CURL *h = curl_easy_init();
        size_t got = 0;
        curl_easy_setopt(h, CURLOPT_URL, s->url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        assert_int_equal(status, 200);
        assert_true(got > 0);
        s->scrapes++;
    }
    return NULL;
}

/* Request i of a client: SPANS spans of trace (base + i), as protobuf or
 * gzip'd OTLP/JSON (through libignis's own encoders). */
static void make_bodies(bodies *b, int base, bool json)
{
    ig_attr rattr[] = {{.key = "service.name", .type = IG_ATTR_STRING, .len = 3, .v.s = json ? "jsn" : "pbf"}};
    ig_resource res = {rattr, 1};
    ig_scope scope = {.name = "t"};
    ig_attr attr = {.key = "n", .type = IG_ATTR_INT};
    ig_span_data sp[SPANS];
    const ig_span_data *ptrs[SPANS];
    ig_otlp_arena arena = {0};
    b->json = json;
    for (int i = 0; i < REQUESTS; i++) {
        for (int k = 0; k < SPANS; k++) {
            memset(&sp[k], 0, sizeof sp[k]);
            sp[k].resource = &res;
            sp[k].scope = &scope;
            memset(sp[k].trace_id, 0, 16);
            sp[k].trace_id[0] = (uint8_t)base;
            sp[k].trace_id[15] = (uint8_t)(i + 1);
            memset(sp[k].span_id, 0, 8);
            sp[k].span_id[7] = (uint8_t)(k + 1);
            sp[k].has_parent = k > 0;
            sp[k].parent_span_id[7] = 1;
            sp[k].name = k ? "child" : "root";
            sp[k].start_ns = T0 + (uint64_t)k;
            sp[k].end_ns = T0 + 1000000 + (uint64_t)k;
            sp[k].attrs = &attr;
            sp[k].nattrs = 1;
            ptrs[k] = &sp[k];
        }
        ig_strbuf out = IG_STRBUF_INIT;
        if (json) {
            ig_otlp_encode_json(ptrs, SPANS, &out);
            ig_err err;
            assert_int_equal(ig_gzip((uint8_t *)out.data, out.len, &b->body[i], &b->len[i], 1, &err), 0);
            ig_sb_free(&out);
        } else {
            ig_otlp_encode_proto(ptrs, SPANS, &arena, &out);
            b->body[i] = (uint8_t *)ig_sb_detach(&out, &b->len[i]);
        }
    }
    ig_otlp_arena_free(&arena);
}

static void threads_together(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static collector up, front;
    start(&up, "upstream", NULL);
    start(&front, "front", up.url);
    bodies pb = {.url = front.url}, js = {.url = front.url};
    make_bodies(&pb, 1, false);
    make_bodies(&js, 2, true);
    char metrics_url[80];
    snprintf(metrics_url, sizeof metrics_url, "http://127.0.0.1:%d/metrics", ig_receiver_port(front.receiver));
    scraper sc = {metrics_url, 0, 0};
    pthread_t t1, t2, t3;
    pthread_create(&t3, NULL, scrape, &sc);
    pthread_create(&t1, NULL, client, &pb);
    pthread_create(&t2, NULL, client, &js);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    __atomic_store_n(&sc.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t3, NULL);
    assert_int_equal(pb.failures + js.failures, 0);
    stop(&front); /* the forwarder sends everything before it stops */
    stop(&up);
    uint64_t total = 2 * REQUESTS * SPANS;
    assert_int_equal(atomic_load(&front.counters.spans_stored), total);
    assert_int_equal(atomic_load(&front.counters.spans_forwarded), total);
    assert_int_equal(atomic_load(&up.counters.spans_stored), total);
    assert_int_equal(atomic_load(&front.counters.requests[0]), 2 * REQUESTS);
    char path[128];
    snprintf(path, sizeof path, "%s/upstream.db", dir);
    ig_err err;
    ig_store *s = ig_store_open(path, IG_STORE_READONLY, &err);
    ig_store_summary sum;
    assert_int_equal(ig_store_summary_get(s, &sum, &err), 0);
    assert_int_equal(sum.spans, total);
    assert_int_equal(sum.traces, 2 * REQUESTS);
    ig_store_close(s);
    for (int i = 0; i < REQUESTS; i++) {
        free(pb.body[i]);
        free(js.body[i]);
    }
    curl_global_cleanup();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(threads_together)};
    return cmocka_run_group_tests_name("collect/receiver", tests, NULL, NULL);
}
