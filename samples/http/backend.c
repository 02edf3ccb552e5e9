/*
 * samples/http/backend.c — the downstream sample service.
 *
 * GET /work?items=N[&fail=1][&slow=1] extracts the caller's trace context
 * from the request headers, starts a SERVER span under it, records
 * attributes and an event, runs a child INTERNAL span "compute", and
 * answers 200 — or, with fail=1, records an exception event, sets the span
 * status to ERROR and answers 500.  With slow=1 it also records the
 * request in the ledger (record_in_ledger), whose lock a background
 * flusher holds 20 ms out of every 50: the slow path of `make demo`, a
 * request that blocks on a lock inside its span, which a --wall profile
 * shows under the span's labels.  Spans go wherever the OTEL_* environment says (OTLP
 * to a collector by default).
 *
 *   usage: sample-backend [--port N]       (prints "port N"; SIGTERM stops)
 */
#include "samples/http/common.h"

#include <pthread.h>
#include <time.h>

static ignis_tracer *tracer;

/* The ledger and its flusher (see the file comment). */
static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t ledger_entries;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void *ledger_flusher(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&ledger_lock);
        sleep_ms(20); /* "writing the ledger out" */
        pthread_mutex_unlock(&ledger_lock);
        sleep_ms(30);
    }
    return NULL;
}

__attribute__((noinline)) static void record_in_ledger(int64_t items)
{
    pthread_mutex_lock(&ledger_lock);
    ledger_entries += items;
    pthread_mutex_unlock(&ledger_lock);
    __asm__ volatile("" ::: "memory"); /* not a tail call: stays on the stack */
}

static int64_t query_int(struct MHD_Connection *c, const char *name, int64_t def)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? strtoll(v, NULL, 10) : def;
}

/* The "work": a child span with a result attribute; returns the result. */
static int64_t compute(int64_t items)
{
    ignis_span *s = ignis_span_start(tracer, "compute", NULL); /* parent: current span */
    int64_t sum = 0;
    for (int64_t i = 1; i <= items; i++)
        sum += i * i;
    ignis_span_set_int(s, "app.result", sum);
    ignis_span_end(s, 0);
    return sum;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size;
    if (sample_first_call(con_cls))
        return MHD_YES;
    ignis_context *parent;
    ignis_span *span = sample_server_span(tracer, c, method, url, &parent);
    const char *user = ignis_baggage_get(parent, "user.id"); /* W3C baggage from the caller */
    ignis_span_set_string(span, "app.user", user ? user : "anonymous");
    ignis_context_release(parent);
    ignis_scope scope = ignis_span_make_current(span);

    int64_t items = query_int(c, "items", 3);
    bool fail = query_int(c, "fail", 0) != 0;
    if (query_int(c, "slow", 0) != 0)
        record_in_ledger(items);
    ignis_span_set_int(span, "app.items", items);
    ignis_attribute ev[] = {IGNIS_ATTR_I64("cache.size", 0)};
    ignis_span_add_event(span, "cache.miss", ev, 1, 0);

    char body[128];
    unsigned status = 200;
    if (fail) {
        ignis_span_record_exception(span, "ComputeError", "items rejected", NULL, NULL, 0);
        ignis_span_set_status(span, IGNIS_STATUS_ERROR, "computation failed");
        snprintf(body, sizeof body, "error\n");
        status = 500;
    } else {
        snprintf(body, sizeof body, "%lld\n", (long long)compute(items));
    }
    ignis_span_set_int(span, "http.response.status_code", status);
    ignis_scope_end(scope);
    ignis_span_end(span, 0);
    return sample_reply(c, status, body);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = sample_int_arg("sample-backend", "--port", argv[++i], 0, 65535);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: sample-backend [--port N]\n");
            return 0;
        } else {
            fprintf(stderr, "sample-backend: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    sample_block_signals();
    pthread_t flusher; /* signals blocked: it inherits the mask */
    if (pthread_create(&flusher, NULL, ledger_flusher, NULL) != 0 || pthread_detach(flusher) != 0) {
        fprintf(stderr, "sample-backend: cannot start the ledger flusher\n");
        return 1;
    }
    ignis_tracer_provider *tp = sample_provider("sample-backend");
    tracer = ignis_tracer_get(tp, "ignis.samples.backend", "1.0", NULL, 0);
    struct MHD_Daemon *d = sample_listen(port, handle, NULL, "sample-backend");
    sample_wait_for_signal();
    MHD_stop_daemon(d);
    sample_shutdown(tp, "sample-backend");
    return 0;
}
