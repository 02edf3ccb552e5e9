/*
 * bench/collect_read.c — the trace store's read side, timed: what `ignis
 * view` asks of a store that `ignis collect` filled (bench/collect.sh).
 *
 *   trace list:  the first page sorted by start (and the total), then
 *                sorted by duration, then filtered by a service
 *   waterfall:   the biggest trace with its events, parents resolved
 *   operations:  count, errors, exact p50/p90/p99 per (service, name)
 *
 * Each figure is the median of five runs on a read-only connection.
 *
 *   usage: collect_read DB
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "collect/store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, 5, sizeof *v, cmp_double);
    return v[2];
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: collect_read DB\n");
        return 2;
    }
    ig_err err;
    ig_store *s = ig_store_open(argv[1], IG_STORE_READONLY, &err);
    if (!s) {
        fprintf(stderr, "collect_read: %s\n", err.msg);
        return 1;
    }
    ig_store_summary sum;
    if (ig_store_summary_get(s, &sum, &err)) {
        fprintf(stderr, "collect_read: %s\n", err.msg);
        return 1;
    }
    double list[5], bydur[5], bysvc[5], trace[5], ops[5];
    int64_t biggest = 0;
    size_t nspans = 0, nops = 0;
    uint64_t total = 0;
    for (int r = 0; r < 5; r++) {
        ig_trace_list l;
        double t0 = now_ms();
        if (ig_store_list_traces(s, NULL, IG_TRACE_SORT_START, true, 0, 100, &l, &err))
            goto fail;
        list[r] = now_ms() - t0;
        total = l.total;
        ig_trace_list_free(&l);
        t0 = now_ms();
        if (ig_store_list_traces(s, NULL, IG_TRACE_SORT_DURATION, true, 0, 100, &l, &err))
            goto fail;
        bydur[r] = now_ms() - t0;
        ig_trace_list_free(&l);
        ig_trace_filter f = {.service = "bench-a"};
        t0 = now_ms();
        if (ig_store_list_traces(s, &f, IG_TRACE_SORT_START, true, 0, 100, &l, &err))
            goto fail;
        bysvc[r] = now_ms() - t0;
        ig_trace_list_free(&l);
        if (ig_store_list_traces(s, NULL, IG_TRACE_SORT_SPANS, true, 0, 1, &l, &err))
            goto fail;
        biggest = l.n ? l.rows[0].id : 0;
        ig_trace_list_free(&l);
        ig_store_trace t;
        t0 = now_ms();
        if (ig_store_load_trace(s, biggest, &t, &err))
            goto fail;
        trace[r] = now_ms() - t0;
        nspans = t.nspans;
        ig_store_trace_free(&t);
        ig_store_ops o;
        t0 = now_ms();
        if (ig_store_operations(s, NULL, &o, &err))
            goto fail;
        ops[r] = now_ms() - t0;
        nops = o.n;
        ig_store_ops_free(&o);
    }
    printf("  store: %llu traces, %llu spans, %.0f MB in use\n", (unsigned long long)sum.traces,
           (unsigned long long)sum.spans, sum.file_bytes / 1048576.0);
    printf("  trace list (%llu traces), newest 100 by start:   %7.1f ms  (target <= 500 ms)\n",
           (unsigned long long)total, median(list));
    printf("  trace list sorted by duration:                  %7.1f ms\n", median(bydur));
    printf("  trace list filtered by service:                 %7.1f ms\n", median(bysvc));
    printf("  one trace of %zu spans (waterfall data):        %7.1f ms  (target <= 100 ms for 10k spans)\n", nspans,
           median(trace));
    printf("  operations view (%zu operations, p50/p90/p99):   %7.1f ms  (target <= 1000 ms)\n", nops, median(ops));
    ig_store_close(s);
    return 0;
fail:
    fprintf(stderr, "collect_read: %s\n", err.msg);
    return 1;
}
