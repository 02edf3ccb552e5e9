/*
 * samples/http/common.h — what the two sample services and the load
 * driver share: command-line parsing, libmicrohttpd and libcurl header
 * carriers for ignis propagation, SIGTERM-driven shutdown, and the
 * counters line printed at exit (read by tests/otlp/test_e2e.c).
 *
 * Everything here uses only the public API (ignis/trace.h), as a service
 * linking libignis would.
 */
#ifndef IG_SAMPLES_HTTP_COMMON_H
#define IG_SAMPLES_HTTP_COMMON_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ignis/trace.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- carriers ------------------------------------------------------------ */

/* Incoming request headers (libmicrohttpd compares names case-insensitively). */
static inline const char *sample_mhd_get(void *arg, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)arg, MHD_HEADER_KIND, name);
}

static inline const ignis_carrier *sample_mhd_carrier(struct MHD_Connection *c, ignis_carrier *out)
{
    *out = (ignis_carrier){.arg = c, .get = sample_mhd_get, .set = NULL};
    return out;
}

/* Libmicrohttpd calls a handler twice per request: first with headers only.
 * Returns true on that first call (the handler just answers MHD_YES). */
static inline bool sample_first_call(void **con_cls)
{
    static int headers_seen;
    if (*con_cls)
        return false;
    *con_cls = &headers_seen;
    return true;
}

/* Starts the SERVER span of a request under the context extracted from
 * its headers ("METHOD /path", with method and path attributes).  The
 * extracted context is returned in *parent; the caller releases it. */
static inline ignis_span *sample_server_span(ignis_tracer *tracer, struct MHD_Connection *c, const char *method,
                                             const char *url, ignis_context **parent)
{
    ignis_carrier carrier;
    *parent = ignis_extract(NULL, sample_mhd_carrier(c, &carrier));
    ignis_attribute attrs[] = {IGNIS_ATTR_STR("http.request.method", method), IGNIS_ATTR_STR("url.path", url)};
    ignis_span_options o = {.kind = IGNIS_SPAN_KIND_SERVER, .parent_mode = IGNIS_PARENT_CONTEXT,
                            .parent_context = *parent, .attrs = attrs, .nattrs = 2};
    char name[128];
    snprintf(name, sizeof name, "%s %s", method, url);
    return ignis_span_start(tracer, name, &o);
}

/* Outgoing request headers: appended to a curl_slist. */
static inline void sample_curl_set(void *arg, const char *name, const char *value)
{
    struct curl_slist **l = arg;
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", name, value);
    *l = curl_slist_append(*l, line);
}

static inline const ignis_carrier *sample_curl_carrier(struct curl_slist **l, ignis_carrier *out)
{
    *out = (ignis_carrier){.arg = l, .get = NULL, .set = sample_curl_set};
    return out;
}

/* ---- responses ------------------------------------------------------------ */

static inline enum MHD_Result sample_reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static inline size_t sample_collect(char *p, size_t size, size_t n, void *ud)
{
    char *buf = ud;
    size_t have = strlen(buf), len = size * n;
    size_t room = 255 - have;
    memcpy(buf + have, p, len < room ? len : room);
    buf[have + (len < room ? len : room)] = '\0';
    return size * n;
}

/* ---- service life cycle ---------------------------------------------------- */

/* Starts a libmicrohttpd daemon on 127.0.0.1:port (0 = ephemeral) with a
 * small thread pool and prints "port N" on stdout. */
static inline struct MHD_Daemon *sample_listen(int port, MHD_AccessHandlerCallback handler, void *arg, const char *prog)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handler, arg,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", prog, port);
        exit(1);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %d\n", info ? info->port : port);
    fflush(stdout);
    return d;
}

/* Blocks until SIGTERM or SIGINT (signals are blocked in every thread). */
static inline void sample_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static inline void sample_wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    sigwait(&set, &sig);
}

/* Shuts the provider down (its flush exports what is queued) and prints
 * the SDK counters as one line on stdout. */
static inline void sample_shutdown(ignis_tracer_provider *tp, const char *prog)
{
    int rc = ignis_tracer_provider_shutdown(tp, 10000);
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    printf("counters %s shutdown=%s started=%llu sampled=%llu ended=%llu exported=%llu dropped=%llu "
           "failed=%llu rejected=%llu retries=%llu\n",
           prog, rc == 0 ? "ok" : "timeout", (unsigned long long)c.spans_started,
           (unsigned long long)c.spans_sampled, (unsigned long long)c.spans_ended,
           (unsigned long long)c.spans_exported, (unsigned long long)c.spans_dropped,
           (unsigned long long)c.export_failures, (unsigned long long)c.export_rejected,
           (unsigned long long)c.export_retries);
    fflush(stdout);
    ignis_tracer_provider_free(tp);
}

/* The provider from the environment, with a default service name. */
static inline ignis_tracer_provider *sample_provider(const char *service)
{
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    if (!getenv("OTEL_SERVICE_NAME") || !*getenv("OTEL_SERVICE_NAME"))
        o.service_name = service;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp) {
        fprintf(stderr, "%s: %s\n", service, err);
        exit(1);
    }
    return tp;
}

/* Parses "--port N" style integers; exits 2 on a bad value. */
static inline int sample_int_arg(const char *prog, const char *flag, const char *v, int lo, int hi)
{
    char *end;
    errno = 0;
    long n = strtol(v ? v : "", &end, 10);
    if (!v || !*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "%s: %s: expected an integer in %d..%d, got '%s'\n", prog, flag, lo, hi, v ? v : "");
        exit(2);
    }
    return (int)n;
}

#endif
