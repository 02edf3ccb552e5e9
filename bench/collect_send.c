/*
 * bench/collect_send.c — load for `ignis collect`'s ingest figure:
 * pre-encoded OTLP/HTTP protobuf requests replayed over libcurl keep-alive
 * connections, as telemetrygen-like load tools do, so the sender costs a
 * small part of what the collector does and the figure measures the
 * collector.
 *
 * Each of CONNS threads owns POOL bodies (bench/collect_request.c: 512
 * spans in traces of 20, like a libignis service's batches, services
 * bench-a and bench-b alternating) and one curl handle, and posts them in
 * turn until it has sent its share of SPANS.  Before each post the body
 * gets new trace ids and the current time in place, so every trace the
 * collector sees is new and starts after the ones before, as live.
 * A 429 or 503 is counted and the same body posted again after a pause of
 * RETRY_MS (the Retry-After of whole seconds would idle the benchmark);
 * any other answer stops the sender with an error.
 *
 *   usage: collect_send URL SPANS [CONNS]
 * Prints "sent N spans in R requests (Q answered 429/503), CPU C s = U us per span".
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/collect_request.h"

enum { POOL = 8, RETRY_MS = 5, MAX_CONNS = 64 };

typedef struct sender {
    pthread_t thread;
    const char *url;
    int index;
    long requests;             /* to send */
    long sent, refused;        /* done */
    char error[CURL_ERROR_SIZE + 64];
    bench_request pool[POOL];
} sender;

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* Posts one body until it is taken; 0, or -1 with s->error set. */
static int post(sender *s, CURL *c, const bench_request *q)
{
    for (;;) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK) {
            snprintf(s->error, sizeof s->error, "%s: %s", s->url, curl_easy_strerror(rc));
            return -1;
        }
        if (code == 200)
            return 0;
        if (code != 429 && code != 503) {
            snprintf(s->error, sizeof s->error, "%s: answered HTTP %ld", s->url, code);
            return -1;
        }
        s->refused++;
        struct timespec pause = {0, RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

static void *send_main(void *arg)
{
    sender *s = arg;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(s->error, sizeof s->error, "curl_easy_init failed");
        return NULL;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    uint64_t rng = 0xb5ad4eceda1ce2a9ull * (uint64_t)(s->index + 1);
    for (; s->sent < s->requests; s->sent++) {
        bench_request *q = &s->pool[s->sent % POOL];
        bench_request_new_traces(q, &rng, bench_now_ns());
        if (post(s, c, q) < 0)
            break;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    long spans = argc > 2 ? atol(argv[2]) : 0;
    int conns = argc > 3 ? atoi(argv[3]) : 4;
    if (argc < 3 || argc > 4 || spans <= 0 || conns <= 0 || conns > MAX_CONNS) {
        fprintf(stderr, "usage: collect_send URL SPANS [CONNS (1..%d, default 4)]\n", MAX_CONNS);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "collect_send: curl_global_init failed\n");
        return 1;
    }
    long requests = (spans + BENCH_PER_REQUEST - 1) / BENCH_PER_REQUEST;
    sender *all = calloc((size_t)conns, sizeof *all);
    if (!all) {
        fprintf(stderr, "collect_send: out of memory\n");
        return 1;
    }
    for (int i = 0; i < conns; i++) {
        sender *s = &all[i];
        s->url = argv[1];
        s->index = i;
        s->requests = requests / conns + (i < requests % conns);
        for (int k = 0; k < POOL; k++)
            bench_request_build(&s->pool[k], i * POOL + k, (i * POOL + k) % 2 ? "bench-b" : "bench-a");
    }
    double cpu0 = cpu_s();
    int started = 0;
    for (; started < conns; started++)
        if (pthread_create(&all[started].thread, NULL, send_main, &all[started]) != 0) {
            fprintf(stderr, "collect_send: cannot start a thread\n");
            break;
        }
    long sent = 0, refused = 0;
    int failed = started < conns;
    for (int i = 0; i < started; i++) {
        pthread_join(all[i].thread, NULL);
        sent += all[i].sent;
        refused += all[i].refused;
        if (all[i].error[0]) {
            fprintf(stderr, "collect_send: %s\n", all[i].error);
            failed = 1;
        }
    }
    double cpu = cpu_s() - cpu0;
    printf("sent %ld spans in %ld requests (%ld answered 429/503), CPU %.2f s = %.2f us per span\n",
           sent * BENCH_PER_REQUEST, sent, refused, cpu, sent ? cpu * 1e6 / ((double)sent * BENCH_PER_REQUEST) : 0.0);
    curl_global_cleanup();
    return failed;
}
