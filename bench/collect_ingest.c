/*
 * bench/collect_ingest.c — the collector's own CPU per span, without the
 * load generator or the network: what `ignis collect` spends on one span
 * in each of its stages, measured in CPU time (not wall time), so the
 * figure holds on a machine shared with other work.
 *
 * Requests are built once like libignis's (bench/collect_request.c: one
 * resource with the SDK's attributes, one scope, 512 spans per request in
 * traces of 20).  Then, for SPANS spans:
 *   - decode: ig_decode_proto and ig_metrics_observe, the HTTP thread's
 *     work per request (its CPU time, this thread);
 *   - store: the batches go through the real writer thread (collect/
 *     writer.c: transactions of at most 200 ms) into a new store with
 *     background checkpoints, as `ignis collect` runs it; the writer's and
 *     the checkpointer's CPU time together (the process's minus this
 *     thread's); with RATE, requests arrive at RATE spans/s (senders
 *     slower than the writer, as live), otherwise as fast as the writer
 *     takes them.
 * Each request gets fresh trace ids and the current time before it is
 * decoded, so every trace is new and starts after the ones before, as
 * in the live collector.  Prints the minimum over REPS runs and the spread.
 *
 *   usage: collect_ingest [SPANS] [REPS] [RATE]   (default 200000 spans, 3 runs, unpaced)
 */
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/collect_request.h"
#include "collect/decode.h"
#include "collect/metrics.h"
#include "collect/store.h"
#include "collect/writer.h"

enum { PER_REQUEST = BENCH_PER_REQUEST, REQUESTS = 16 };

static double cpu_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static double decode_run(bench_request *reqs, long spans, ig_metrics *m)
{
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (long n = 0, i = 0; n < spans; n += PER_REQUEST, i++)
        ig_batch_free(decode(reqs[i % REQUESTS].body, reqs[i % REQUESTS].len, m));
    return cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* Writer and checkpointer CPU for spans spans into a new store in dir. */
static double wall_s(void)
{
    return cpu_s(CLOCK_MONOTONIC);
}

static double store_run(const char *dir, int rep, bench_request *reqs, long spans, long rate, ig_metrics *m)
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
    uint64_t rng = 0x5eed0000u + (uint64_t)rep;
    for (long n = 0, i = 0; n < spans; n += PER_REQUEST, i++) {
        if (rate) { /* requests arrive at `rate` spans/s, as from senders slower than the writer */
            double at = start + (double)n / (double)rate, now = wall_s();
            if (at > now)
                usleep((useconds_t)((at - now) * 1e6));
        }
        bench_request *q = &reqs[i % REQUESTS];
        bench_request_new_traces(q, &rng, bench_now_ns()); /* new traces, in time order, as live */
        ig_batch *b = decode(q->body, q->len, m);
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
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    static bench_request reqs[REQUESTS];
    for (int i = 0; i < REQUESTS; i++)
        bench_request_build(&reqs[i], i, "bench-a");
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
        dec[r] = decode_run(reqs, spans, m);
        sto[r] = store_run(dir, r, reqs, spans, rate, m);
    }
    rmdir(dir);
    printf("== ignis collect, CPU per span by stage (%ld spans of %zu-byte requests, %d per request)\n", spans, reqs[0].len,
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
