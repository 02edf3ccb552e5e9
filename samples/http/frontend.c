/*
 * samples/http/frontend.c — the front sample service.
 *
 * GET /hello?items=N[&fail=1][&slow=1] extracts the incoming trace context (W3C
 * traceparent/baggage by default, OTEL_PROPAGATORS selects), starts a
 * SERVER span, and calls the backend over libcurl inside a CLIENT span
 * whose context it injects into the outgoing headers — so the backend's
 * spans join the same trace.  A backend error (5xx) marks both spans as
 * errors and is answered 502.  fail and slow are passed on to the backend.
 *
 *   usage: sample-frontend --backend http://127.0.0.1:PORT [--port N]
 */
#include "samples/http/common.h"

static ignis_tracer *tracer;
static const char *backend;

/* Calls the backend inside a CLIENT span; returns the HTTP status (0 on a
 * transport error) and the body in out. */
static long call_backend(const char *query, char *out)
{
    char url[512];
    snprintf(url, sizeof url, "%s/work%s%s", backend, query[0] ? "?" : "", query);
    ignis_span_options o = {.kind = IGNIS_SPAN_KIND_CLIENT};
    ignis_span *span = ignis_span_start(tracer, "GET /work", &o);
    ignis_span_set_string(span, "url.full", url);
    ignis_scope scope = ignis_span_make_current(span);

    struct curl_slist *headers = NULL;
    ignis_carrier carrier;
    ignis_inject(NULL, sample_curl_carrier(&headers, &carrier)); /* current context = the client span */
    CURL *curl = curl_easy_init();
    out[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sample_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);

    if (rc != CURLE_OK)
        ignis_span_set_status(span, IGNIS_STATUS_ERROR, curl_easy_strerror(rc));
    else {
        ignis_span_set_int(span, "http.response.status_code", status);
        if (status >= 500)
            ignis_span_set_status(span, IGNIS_STATUS_ERROR, "backend error");
    }
    ignis_scope_end(scope);
    ignis_span_end(span, 0);
    return status;
}

static void query_string(struct MHD_Connection *c, char *q, size_t len)
{
    const char *items = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "items");
    const char *fail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail");
    const char *slow = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "slow");
    snprintf(q, len, "items=%d%s%s", items ? atoi(items) : 3, fail && atoi(fail) ? "&fail=1" : "",
             slow && atoi(slow) ? "&slow=1" : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size;
    if (sample_first_call(con_cls))
        return MHD_YES;
    ignis_context *parent;
    ignis_span *span = sample_server_span(tracer, c, method, url, &parent);
    ignis_scope ctx_scope = ignis_context_attach(parent); /* baggage flows on to the backend */
    ignis_scope scope = ignis_span_make_current(span);

    char q[128], body[256], reply[300];
    query_string(c, q, sizeof q);
    long status = call_backend(q, body);
    unsigned code = status == 200 ? 200 : 502;
    if (code != 200)
        ignis_span_set_status(span, IGNIS_STATUS_ERROR, "backend failed");
    ignis_span_set_int(span, "http.response.status_code", code);
    snprintf(reply, sizeof reply, "frontend: %s", body);

    ignis_scope_end(scope);
    ignis_span_end(span, 0);
    ignis_scope_end(ctx_scope);
    ignis_context_release(parent);
    return sample_reply(c, code, reply);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = sample_int_arg("sample-frontend", "--port", argv[++i], 0, 65535);
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: sample-frontend --backend http://127.0.0.1:PORT [--port N]\n");
            return 0;
        } else {
            fprintf(stderr, "sample-frontend: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!backend || strncmp(backend, "http://127.0.0.1:", 17)) {
        fprintf(stderr, "sample-frontend: --backend must be http://127.0.0.1:PORT\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sample_block_signals();
    ignis_tracer_provider *tp = sample_provider("sample-frontend");
    tracer = ignis_tracer_get(tp, "ignis.samples.frontend", "1.0", NULL, 0);
    struct MHD_Daemon *d = sample_listen(port, handle, NULL, "sample-frontend");
    sample_wait_for_signal();
    MHD_stop_daemon(d);
    sample_shutdown(tp, "sample-frontend");
    curl_global_cleanup();
    return 0;
}
