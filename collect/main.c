/*
 * collect/main.c — `ignis collect`: options, start-up, signals, shutdown.
 *
 * This file and the receiver, writer, forwarder and metrics are built
 * into libignis-collect.so, which `ignis collect` (cmd/collect.c) loads
 * with dlopen: libmicrohttpd and libcurl, with their TLS stacks, are then
 * only loaded by the one command that serves HTTP, not at every start of
 * `ignis` (see docs/ARCHITECTURE.md).  ignis_collect_main is the plugin's
 * only exported symbol.
 *
 * Start-up opens (or creates) the store first, so a database that is not
 * ours fails before anything listens; then the writer, the forwarder and
 * the receiver.  SIGINT and SIGTERM are blocked in every thread and
 * taken by the main thread with sigtimedwait, which also polls the
 * writer for a fatal store error.  Shutdown stops the receiver (requests
 * in progress finish), then the writer commits everything accepted
 * (retrying a full disk for a while), then the forwarder sends what it
 * holds; the last line says what was stored, forwarded and dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/forward.h"
#include "collect/import.h"
#include "collect/metrics.h"
#include "collect/receiver.h"
#include "collect/store.h"
#include "collect/writer.h"
#include "ignis/trace.h"

__attribute__((visibility("default"))) int ignis_collect_main(int argc, char **argv);

typedef struct collect_opts {
    const char *listen, *db, *forward;
    const char **imports;
    size_t nimports;
    uint64_t retain_ns, max_db_bytes, max_body, max_queue_bytes;
    size_t max_series;
    unsigned max_connections, header_timeout_s, body_timeout_s;
    int shutdown_ms;
    bool quiet;
} collect_opts;

static bool quiet;

static void say(const char *msg)
{
    fprintf(stderr, "ignis collect: %s\n", msg);
}

static void info(const char *msg)
{
    if (!quiet)
        say(msg);
}

static void usage(FILE *out)
{
    char def[512];
    const char *db = ig_store_default_path(def, sizeof def);
    fprintf(out,
            "usage: ignis collect [options]\n"
            "       ignis collect --import FILE [--import FILE...] [--db FILE]\n\n"
            "Receive OpenTelemetry traces over OTLP/HTTP (POST /v1/traces, protobuf or JSON,\n"
            "gzip) into a local SQLite trace store that 'ignis view' opens; serve span-duration\n"
            "histograms for Prometheus on GET /metrics.\n\n"
            "Options:\n"
            "  --listen ADDR:PORT   where to listen (default 127.0.0.1:4318)\n"
            "  --db FILE            trace store (default %s)\n"
            "  --retain DURATION    delete traces that arrived longer ago: 30m, 24h, 7d; 0 keeps\n"
            "                       them (default 24h)\n"
            "  --max-db-mb N        delete the oldest traces while the store uses more than N MiB\n"
            "                       (default 1024; 0: no limit)\n"
            "  --max-body SIZE      largest request body, compressed and inflated (default 16M)\n"
            "  --max-queue-mb N     memory for spans waiting for the store (default 48); when it\n"
            "                       is full, senders get 429 and retry\n"
            "  --forward URL        also send every accepted request, unchanged, to this OTLP/HTTP\n"
            "                       endpoint (OTEL_EXPORTER_OTLP_HEADERS etc. apply)\n"
            "  --max-series N       histogram series in /metrics (default 10000)\n"
            "  --max-connections N  open connections at most (default 1000); when all are taken,\n"
            "                       the oldest one waiting for a request is closed; one address\n"
            "                       other than loopback holds at most a quarter of them\n"
            "  --header-timeout DURATION  a request's headers must arrive within this of the\n"
            "                       connection (default 10s), however slowly they trickle\n"
            "  --body-timeout DURATION    its body within this of its headers, plus 1s per\n"
            "                       64 KiB received (default 10s)\n"
            "  --import FILE        store the OTLP-JSON lines of FILE (libignis otlp_file or the\n"
            "                       Collector's file exporter; gzip ok; - = stdin) and exit\n"
            "  -q, --quiet          only errors on stderr\n"
            "  -h, --help           this help\n\n"
            "Send traces with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318; look at them\n"
            "with 'ignis view %s'.\n",
            db ? db : "$XDG_DATA_HOME/ignis/traces.db", db ? db : "traces.db");
}

/* ---- option values ------------------------------------------------------------------ */

/* "24h", "30m", "90s", "7d", "0" -> ns. */
static int parse_duration(const char *v, uint64_t *ns)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *v == '-')
        return -1;
    uint64_t unit;
    if (!*end || !strcmp(end, "s"))
        unit = 1000000000ull;
    else if (!strcmp(end, "m"))
        unit = 60ull * 1000000000ull;
    else if (!strcmp(end, "h"))
        unit = 3600ull * 1000000000ull;
    else if (!strcmp(end, "d"))
        unit = 86400ull * 1000000000ull;
    else
        return -1;
    if (n > UINT64_MAX / unit)
        return -1;
    *ns = n * unit;
    return 0;
}

/* "16M", "512k", "1G", "1048576" (binary units) -> bytes. */
static int parse_size(const char *v, uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *v == '-')
        return -1;
    uint64_t unit = 1;
    if (*end == 'k' || *end == 'K')
        unit = 1 << 10;
    else if (*end == 'm' || *end == 'M')
        unit = 1 << 20;
    else if (*end == 'g' || *end == 'G')
        unit = 1 << 30;
    if (unit > 1)
        end++;
    if (*end == 'i' && end[-1] != '\0' && unit > 1)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || n > UINT64_MAX / unit)
        return -1;
    *bytes = n * unit;
    return 0;
}

static int bad_value(const char *flag, const char *v, const char *want)
{
    fprintf(stderr, "ignis collect: %s: invalid value '%s' (%s)\n", flag, v, want);
    return 2;
}

static int parse_options(int argc, char **argv, collect_opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, 0, 'l'},   {"db", required_argument, 0, 'd'},
        {"retain", required_argument, 0, 'r'},   {"max-db-mb", required_argument, 0, 'M'},
        {"max-body", required_argument, 0, 'b'}, {"max-queue-mb", required_argument, 0, 'Q'},
        {"forward", required_argument, 0, 'f'},  {"max-series", required_argument, 0, 'S'},
        {"import", required_argument, 0, 'i'},   {"quiet", no_argument, 0, 'q'},
        {"max-connections", required_argument, 0, 'C'}, {"header-timeout", required_argument, 0, 'H'},
        {"body-timeout", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    uint64_t n;
    int c;
    optind = 1;
    opterr = 0; /* one line of our own instead */
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen = optarg; break;
        case 'd': o->db = optarg; break;
        case 'f': o->forward = optarg; break;
        case 'q': o->quiet = true; break;
        case 'r':
            if (parse_duration(optarg, &o->retain_ns) < 0)
                return bad_value("--retain", optarg, "a duration like 30m, 24h, 7d, or 0");
            break;
        case 'M':
            if (parse_size(optarg, &n) < 0 || n > (UINT64_MAX >> 20))
                return bad_value("--max-db-mb", optarg, "MiB, 0 for no limit");
            o->max_db_bytes = n << 20;
            break;
        case 'b':
            /* a batch holds strings as long as the body, and SQLite's
             * longest value is 1e9 bytes */
            if (parse_size(optarg, &o->max_body) < 0 || o->max_body < 1024 || o->max_body > (512u << 20))
                return bad_value("--max-body", optarg, "a size from 1k to 512M, like 16M");
            break;
        case 'Q':
            if (parse_size(optarg, &n) < 0 || n < 1 || n > (1u << 20))
                return bad_value("--max-queue-mb", optarg, "MiB, at least 1");
            o->max_queue_bytes = n << 20;
            break;
        case 'S':
            if (parse_size(optarg, &n) < 0 || n < 1 || n > 10000000)
                return bad_value("--max-series", optarg, "a count from 1");
            o->max_series = (size_t)n;
            break;
        case 'C':
            if (parse_size(optarg, &n) < 0 || n < 2 || n > 100000)
                return bad_value("--max-connections", optarg, "a count from 2 to 100000");
            o->max_connections = (unsigned)n;
            break;
        case 'H':
        case 'B':
            if (parse_duration(optarg, &n) < 0 || n < 1000000000ull || n > 3600ull * 1000000000ull)
                return bad_value(c == 'H' ? "--header-timeout" : "--body-timeout", optarg,
                                 "a duration from 1s to 1h, like 10s");
            *(c == 'H' ? &o->header_timeout_s : &o->body_timeout_s) = (unsigned)(n / 1000000000ull);
            break;
        case 'i':
            o->imports = realloc(o->imports, (o->nimports + 1) * sizeof *o->imports);
            o->imports[o->nimports++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "ignis collect: %s: unknown option or missing value (see 'ignis collect --help')\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ignis collect: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return -1; /* go on */
}

/* ---- --import ---------------------------------------------------------------------------- */

static void import_warn(void *ctx, const char *msg)
{
    (void)ctx;
    say(msg);
}

static int run_import(const collect_opts *o, ig_store *s)
{
    int status = 0;
    for (size_t i = 0; i < o->nimports; i++) {
        ig_import_stats st;
        ig_err err;
        int rc = ig_import_jsonl(s, o->imports[i], o->max_body, import_warn, NULL, &st, &err);
        char line[512];
        snprintf(line, sizeof line, "%s: stored %llu spans from %llu lines (%llu spans rejected, %llu lines skipped)",
                 o->imports[i], (unsigned long long)st.spans, (unsigned long long)st.lines,
                 (unsigned long long)st.rejected, (unsigned long long)st.bad_lines);
        info(line);
        if (rc < 0) {
            say(err.msg);
            status = 1;
        } else if (st.bad_lines) {
            status = 1;
        }
    }
    return status;
}

/* ---- serving -------------------------------------------------------------------------------- */

static void trace_log(int level, const char *msg, void *arg)
{
    (void)level;
    (void)arg;
    char line[600];
    snprintf(line, sizeof line, "forward: %s", msg);
    say(line);
}

/* Waits for SIGINT/SIGTERM, or for the writer to fail for good. */
static int wait_for_stop(ig_writer *w, const sigset_t *set)
{
    struct timespec tick = {1, 0};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM)
            return 0;
        ig_err err;
        if (ig_writer_fatal(w, &err))
            return 1;
    }
}

static void report_exit(const ig_collect_counters *k, uint64_t dropped, bool forwarding)
{
    char line[512];
    int n = snprintf(line, sizeof line, "stored %llu spans (%llu received, %llu rejected, %llu refused with 429/503)",
                     (unsigned long long)atomic_load(&k->spans_stored), (unsigned long long)atomic_load(&k->spans_received),
                     (unsigned long long)atomic_load(&k->spans_rejected), (unsigned long long)atomic_load(&k->spans_refused));
    if (forwarding)
        n += snprintf(line + n, sizeof line - (size_t)n, "; forwarded %llu, %llu not forwarded",
                      (unsigned long long)atomic_load(&k->spans_forwarded),
                      (unsigned long long)atomic_load(&k->spans_forward_failed));
    if (dropped)
        snprintf(line + n, sizeof line - (size_t)n, "; %llu accepted spans could NOT be stored", (unsigned long long)dropped);
    (dropped ? say : info)(line);
}

static int serve(const collect_opts *o, ig_store *s)
{
    static ig_collect_counters counters; /* zero; read by the threads until they stop */
    /* every thread started from here on inherits the blocked signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ig_err err;
    if (ig_store_checkpoint_in_background(s, &err) < 0) {
        say(err.msg);
        return 1;
    }
    ig_writer_config wc = {s, &counters, o->max_queue_bytes, 200, 1000, o->retain_ns, o->max_db_bytes, say};
    ig_writer *w = ig_writer_start(&wc, &err);
    if (!w) {
        say(err.msg);
        return 1;
    }
    ig_forwarder *f = NULL;
    if (o->forward) {
        ignis_trace_set_logger(trace_log, NULL);
        if (!(f = ig_forwarder_start(o->forward, o->max_queue_bytes, &counters, say, &err))) {
            say(err.msg);
            ig_writer_stop(w, 0);
            return 1;
        }
    }
    ig_metrics *m = ig_metrics_new(o->max_series);
    ig_receiver_config rc = {o->listen, o->max_body, 2 * o->max_body, 2, w, f, m, &counters,
                             o->max_connections, o->header_timeout_s, o->body_timeout_s};
    ig_receiver *r = ig_receiver_start(&rc, &err);
    int status = 1;
    if (!r) {
        say(err.msg);
    } else {
        /* stdout: the address, for scripts that listen on port 0 */
        char where[300];
        snprintf(where, sizeof where, "%.*s:%d", (int)(strrchr(o->listen, ':') - o->listen), o->listen,
                 ig_receiver_port(r));
        printf("listening on %s\n", where);
        fflush(stdout);
        char line[900];
        snprintf(line, sizeof line, "receiving OTLP/HTTP on %s (POST /v1/traces, GET /metrics), storing in %s%s%s",
                 where, ig_store_path(s), f ? ", forwarding to " : "", f ? o->forward : "");
        info(line);
        status = wait_for_stop(w, &set);
        ig_receiver_stop(r);
    }
    uint64_t dropped = ig_writer_stop(w, o->shutdown_ms);
    ig_forwarder_stop(f, o->shutdown_ms);
    if (r)
        report_exit(&counters, dropped, f != NULL);
    ig_metrics_free(m);
    return status || dropped ? 1 : 0;
}

int ignis_collect_main(int argc, char **argv)
{
    char defdb[1024];
    collect_opts o = {.listen = "127.0.0.1:4318", .retain_ns = 24ull * 3600 * 1000000000ull,
                      .max_db_bytes = 1024ull << 20, .max_body = 16u << 20, .max_queue_bytes = 48u << 20,
                      .max_series = 10000, .shutdown_ms = 10000};
    int st = parse_options(argc, argv, &o);
    if (st >= 0) {
        free(o.imports);
        return st;
    }
    quiet = o.quiet;
    if (!o.db && !(o.db = ig_store_default_path(defdb, sizeof defdb))) {
        say("--db: no default location (HOME is not set); give --db FILE");
        free(o.imports);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Request bodies and batches come and go by the megabyte: keep them on
     * the heap (reused) rather than in fresh mmaps that fault page by page. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    /* No heap statistics in SQLite: they take a global mutex on every one
     * of its allocations (store CPU per span about 5-10% lower in
     * bench/collect_ingest).  Refused (harmlessly) if SQLite is in use. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    ig_err err;
    ig_store *s = ig_store_open(o.db, IG_STORE_CREATE, &err);
    if (!s) {
        say(err.msg);
        free(o.imports);
        return 1;
    }
    int status = o.nimports ? run_import(&o, s) : serve(&o, s);
    ig_store_close(s);
    free(o.imports);
    return status;
}
