/*
 * tests/trace/spanctx_child.c — a service linked with libignis.so (as a
 * real one is) whose spans are known, for tests/profiler/test_spanctx.c.
 *
 * It walks through fixed steps; at each it prints one line on stdout
 *
 *   STEP <n> tid=<tid> tp=<thread pointer> slot=<&otel_thread_ctx_v1>
 *        trace=<32 hex|-> span=<16 hex|-> flags=<n> name=<name|->
 *
 * describing the span current on the reporting thread (the ground truth),
 * then waits for one byte on stdin, so the reader looks at a stopped
 * scene.  Steps: 1 main, no span current; 2 main in "outer"; 3 main in
 * "inner" (a child of outer, name longer than the 64 published bytes);
 * 4 inner's scope ended: outer again; 5 thread "worker-a" in "work" (main
 * still in outer); 6 worker exited; 7 outer's scope ended; 8 an
 * unsampled span current (always_off tracer provider); then it exits.
 */
#include "ignis/trace.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void step(int n, ignis_span *current, const char *name)
{
    void **slot = dlsym(RTLD_DEFAULT, "otel_thread_ctx_v1"); /* this thread's instance */
    char trace[33] = "-", span[17] = "-";
    unsigned flags = 0;
    if (current) {
        ignis_span_context sc;
        ignis_span_get_context(current, &sc);
        hex(sc.trace_id, 16, trace);
        hex(sc.span_id, 8, span);
        flags = sc.trace_flags;
    }
    printf("STEP %d tid=%d tp=%p slot=%p trace=%s span=%s flags=%u name=%s\n", n, (int)gettid(),
           __builtin_thread_pointer(), (void *)slot, trace, span, flags, name ? name : "-");
    fflush(stdout);
    char c;
    if (read(0, &c, 1) != 1)
        exit(3); /* the test went away */
}

static ignis_tracer *g_tracer;

static void *worker(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "worker-a");
    ignis_span *w = ignis_span_start(g_tracer, "work", NULL);
    ignis_scope sc = ignis_span_make_current(w);
    step(5, w, "work");
    ignis_scope_end(sc);
    ignis_span_end(w, 0);
    return NULL;
}

#define LONG_NAME "inner-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

int main(void)
{
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    o.service_name = "spanctx-child";
    o.exporter = IGNIS_EXPORTER_NONE;
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp) {
        fprintf(stderr, "spanctx_child: %s\n", err);
        return 2;
    }
    g_tracer = ignis_tracer_get(tp, "spanctx", "1", NULL, 0);
    ignis_span_end(ignis_span_start(g_tracer, "warm-up", NULL), 0); /* this thread is known, idle */
    step(1, NULL, NULL);

    ignis_span *outer = ignis_span_start(g_tracer, "outer", NULL);
    ignis_scope so = ignis_span_make_current(outer);
    step(2, outer, "outer");

    ignis_span *inner = ignis_span_start(g_tracer, LONG_NAME, NULL);
    ignis_scope si = ignis_span_make_current(inner);
    step(3, inner, LONG_NAME);
    ignis_scope_end(si);
    ignis_span_end(inner, 0);
    step(4, outer, "outer");

    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    pthread_join(th, NULL);
    step(6, outer, "outer");

    ignis_scope_end(so);
    ignis_span_end(outer, 0);
    step(7, NULL, NULL);

    o.sampler = IGNIS_SAMPLER_ALWAYS_OFF;
    ignis_tracer_provider *off = ignis_tracer_provider_new(&o, err, sizeof err);
    ignis_span *u = ignis_span_start(ignis_tracer_get(off, "spanctx", "1", NULL, 0), "unsampled", NULL);
    ignis_scope su = ignis_span_make_current(u);
    step(8, u, NULL); /* not recording: ids and flags, no name */
    ignis_scope_end(su);
    ignis_span_end(u, 0);
    ignis_tracer_provider_free(off);
    ignis_tracer_provider_free(tp);
    return 0;
}
