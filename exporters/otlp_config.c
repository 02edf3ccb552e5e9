/*
 * exporters/otlp_config.c — OTLP exporter settings from the environment.
 *
 * Follows the OpenTelemetry exporter specification: every setting has a
 * general OTEL_EXPORTER_OTLP_* variable and a signal-specific one
 * (OTEL_EXPORTER_OTLP_TRACES_*, OTEL_EXPORTER_OTLP_PROFILES_*) that wins
 * when set (an empty variable counts as unset).  The signal (ig_otlp_signal)
 * names that prefix and the path a base endpoint gets (v1/traces,
 * v1development/profiles); everything else is shared by every signal.  A bad value never stops the service: it is reported
 * once through the warning callback (by default the SDK's logger, see
 * ignis_trace_set_logger) and replaced by its default.  That includes the
 * endpoints: a value without a scheme (`collector:4318`) is taken as
 * http://, as the OpenTelemetry SDKs do, and one that is still not an
 * http(s) URL (another scheme, no host, what libcurl cannot parse) gives
 * way to the general endpoint or the default, each with a warning naming
 * the variable, its value and what is used.  An endpoint passed in
 * explicitly (ig_otlp_signal_url: a command-line flag) is a hard error
 * instead, which its caller reports.
 *
 * The two parsers that read text from outside (the W3C-baggage-like header
 * list and the Retry-After value of responses) are pure functions with
 * fuzz targets in fuzz/.
 */
#include "exporters/otlp.h"
#include "libtrace/internal.h" /* ig_tlog: the SDK's (replaceable) logger */
#include "utils/percent.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRY_BASE_MS 1000
#define DEFAULT_RETRY_MAX_MS 5000
#define DEFAULT_RETRY_ATTEMPTS 5
#define MAX_RETRY_AFTER_S (86400 * 365) /* longer delays saturate */

void ig_otlp_warn_log(void *ctx, const char *msg)
{
    (void)ctx;
    ig_tlog(IGNIS_LOG_WARN, "%s", msg);
}

static void warnf(ig_otlp_warn_fn *warn, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(ig_otlp_warn_fn *warn, void *ctx, const char *fmt, ...)
{
    if (!warn)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    warn(ctx, buf);
}

/* ---- headers --------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* A header value may not contain CR, LF or NUL, raw or escaped. */
static bool header_byte_ok(unsigned char c) { return c != '\r' && c != '\n' && c != '\0'; }

/* Percent-decodes [b, e) into out; returns a reason on failure. */
static const char *percent_decode(const char *b, const char *e, ig_strbuf *out)
{
    switch (ig_percent_decode(b, (size_t)(e - b), NULL, header_byte_ok, out)) {
    case IG_PCT_OK: return NULL;
    case IG_PCT_BAD_ESCAPE: return "invalid percent-encoding";
    default: return "control character in value";
    }
}

/* Parses one `key=value` entry into a "Key: value" line; NULL reason = ok. */
static const char *parse_header_entry(const char *b, const char *e, ig_strbuf *line)
{
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (!eq)
        return "missing '='";
    const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    if (kb == ke)
        return "empty key";
    for (const char *p = kb; p < ke; p++)
        if (!is_tchar((unsigned char)*p))
            return "key is not an HTTP token";
    if (vb == ve)
        return "empty value";
    ig_sb_append(line, kb, (size_t)(ke - kb));
    ig_sb_puts(line, ": ");
    return percent_decode(vb, ve, line);
}

int ig_otlp_parse_headers(const char *s, const char *what, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx)
{
    int skipped = 0, index = 0;
    const char *p = s ? s : "";
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *b = p, *te = e;
        trim(&b, &te);
        index++;
        if (b < te) {
            ig_strbuf line = IG_STRBUF_INIT;
            const char *why = parse_header_entry(b, te, &line);
            if (why) {
                warnf(warn, ctx, "%s: ignoring entry %d: %s", what, index, why);
                ig_sb_free(&line);
                skipped++;
            } else {
                cfg->headers = ig_xrealloc(cfg->headers, sizeof *cfg->headers * (cfg->nheaders + 1));
                cfg->headers[cfg->nheaders++] = ig_sb_detach(&line, NULL);
            }
        }
        p = *e ? e + 1 : e;
    }
    return skipped;
}

/* ---- endpoint -------------------------------------------------------------- */

static bool is_http_url(const char *u)
{
    size_t skip = !strncasecmp(u, "http://", 7) ? 7 : !strncasecmp(u, "https://", 8) ? 8 : 0;
    return skip && u[skip] && u[skip] != '/';
}

const ig_otlp_signal ig_otlp_traces = {"TRACES", "v1/traces"};
const ig_otlp_signal ig_otlp_profiles = {"PROFILES", "v1development/profiles"};

char *ig_otlp_signal_url(const ig_otlp_signal *sig, const char *signal_endpoint, const char *base_endpoint,
                         ig_err *err)
{
    ig_strbuf url = IG_STRBUF_INIT;
    char what[64];
    if (signal_endpoint && *signal_endpoint) {
        snprintf(what, sizeof what, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", sig->env_name);
        ig_sb_puts(&url, signal_endpoint);
    } else {
        snprintf(what, sizeof what, "OTEL_EXPORTER_OTLP_ENDPOINT");
        const char *base = base_endpoint && *base_endpoint ? base_endpoint : DEFAULT_ENDPOINT;
        ig_sb_puts(&url, base);
        if (!url.len || url.data[url.len - 1] != '/')
            ig_sb_putc(&url, '/');
        ig_sb_puts(&url, sig->path);
    }
    if (!is_http_url(url.data)) {
        ig_err_set(err, "%s: '%s' is not an http:// or https:// URL", what,
                   signal_endpoint && *signal_endpoint ? signal_endpoint : base_endpoint);
        ig_sb_free(&url);
        return NULL;
    }
    return ig_sb_detach(&url, NULL);
}

char *ig_otlp_traces_url(const char *traces_endpoint, const char *base_endpoint, ig_err *err)
{
    return ig_otlp_signal_url(&ig_otlp_traces, traces_endpoint, base_endpoint, err);
}

/* ---- Retry-After ----------------------------------------------------------- */

int64_t ig_otlp_parse_retry_after(const char *value, time_t now)
{
    const char *b = value, *e = value + strlen(value);
    trim(&b, &e);
    if (b == e)
        return -1;
    if (*b >= '0' && *b <= '9') {
        int64_t secs = 0;
        for (const char *p = b; p < e; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            if (secs < MAX_RETRY_AFTER_S)
                secs = secs * 10 + (*p - '0');
        }
        return (secs < MAX_RETRY_AFTER_S ? secs : MAX_RETRY_AFTER_S) * 1000;
    }
    char date[128];
    if ((size_t)(e - b) >= sizeof date)
        return -1;
    memcpy(date, b, (size_t)(e - b));
    date[e - b] = '\0';
    time_t t = curl_getdate(date, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t secs = t > now ? (int64_t)t - (int64_t)now : 0;
    return (secs < MAX_RETRY_AFTER_S ? secs : MAX_RETRY_AFTER_S) * 1000;
}

/* ---- environment ----------------------------------------------------------- */

/* The signal-specific variable when set and non-empty, else the general. */
static const char *otlp_env(const ig_otlp_signal *sig, const char *suffix, const char **name)
{
    static __thread char buf[2][96];
    snprintf(buf[0], sizeof buf[0], "OTEL_EXPORTER_OTLP_%s_%s", sig->env_name, suffix);
    snprintf(buf[1], sizeof buf[1], "OTEL_EXPORTER_OTLP_%s", suffix);
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(buf[i]);
        if (v && *v) {
            *name = buf[i];
            return v;
        }
    }
    *name = buf[1];
    return NULL;
}

/* A positive int from the environment, or def with a warning. */
static int env_positive_int(const char *name, const char *v, int def, ig_otlp_warn_fn *warn, void *ctx)
{
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end || n <= 0 || n > INT_MAX) {
        warnf(warn, ctx, "%s: invalid value '%s', using %d", name, v, def);
        return def;
    }
    return (int)n;
}

static void config_protocol(const ig_otlp_signal *sig, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx)
{
    const char *name, *v = otlp_env(sig, "PROTOCOL", &name);
    if (!v || !strcmp(v, "http/protobuf"))
        cfg->json = false;
    else if (!strcmp(v, "http/json"))
        cfg->json = true;
    else
        warnf(warn, ctx, "%s: unsupported protocol '%s', using http/protobuf", name, v);
}

static void config_compression(const ig_otlp_signal *sig, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx)
{
    const char *name, *v = otlp_env(sig, "COMPRESSION", &name);
    if (!v || !strcmp(v, "none"))
        cfg->gzip = false;
    else if (!strcmp(v, "gzip"))
        cfg->gzip = true;
    else
        warnf(warn, ctx, "%s: unsupported compression '%s', sending uncompressed", name, v);
}

/* An endpoint variable's value as libcurl would post to it. */
typedef struct env_endpoint {
    const char *name, *value; /* value NULL: unset or empty */
    char *url;                /* what is used; NULL if unset or unusable */
    bool schemeless;          /* http:// was put in front */
} env_endpoint;

static bool usable_http_url(const char *u)
{
    if (!is_http_url(u))
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    CURLU *h = curl_url();
    if (!h)
        return false;
    bool ok = curl_url_set(h, CURLUPART_URL, u, 0) == CURLUE_OK;
    curl_url_cleanup(h);
    return ok;
}

static env_endpoint read_endpoint(const char *name)
{
    env_endpoint ep = {name, getenv(name), NULL, false};
    if (!ep.value || !*ep.value) {
        ep.value = NULL;
        return ep;
    }
    ig_strbuf u = IG_STRBUF_INIT;
    ep.schemeless = !strstr(ep.value, "://");
    if (ep.schemeless)
        ig_sb_puts(&u, "http://");
    ig_sb_puts(&u, ep.value);
    if (usable_http_url(u.data))
        ep.url = ig_sb_detach(&u, NULL);
    else
        ig_sb_free(&u);
    return ep;
}

/* One warning for a value that was mended or cannot be used (instead:
 * what is used in its place). */
static void warn_endpoint(const env_endpoint *ep, const char *instead, ig_otlp_warn_fn *warn, void *ctx)
{
    if (ep->value && !ep->url)
        warnf(warn, ctx, "%s: '%s' is not an http:// or https:// URL; using %s", ep->name, ep->value, instead);
    else if (ep->value && ep->schemeless)
        warnf(warn, ctx, "%s: '%s' has no scheme; using %s", ep->name, ep->value, ep->url);
}

/* The signal's URL from its endpoint variable, else the general one
 * (with the signal's path), else the default; a bad value is warned about
 * and skipped (the general variable only when it would be used). */
static char *env_signal_url(const ig_otlp_signal *sig, ig_otlp_warn_fn *warn, void *ctx, ig_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", sig->env_name);
    env_endpoint own = read_endpoint(name), base = {"OTEL_EXPORTER_OTLP_ENDPOINT", NULL, NULL, false};
    if (!own.url) {
        base = read_endpoint(base.name);
        warn_endpoint(&base, "the default " DEFAULT_ENDPOINT, warn, ctx);
    }
    char instead[160];
    if (base.url)
        snprintf(instead, sizeof instead, "OTEL_EXPORTER_OTLP_ENDPOINT (%s)", base.url);
    else
        snprintf(instead, sizeof instead, "the default %s", DEFAULT_ENDPOINT);
    warn_endpoint(&own, instead, warn, ctx);
    char *url = ig_otlp_signal_url(sig, own.url, base.url, err);
    free(own.url);
    free(base.url);
    return url;
}

int ig_otlp_config_from_env_for(const ig_otlp_signal *sig, ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx,
                                ig_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = env_signal_url(sig, warn, ctx, err);
    if (!cfg->url)
        return -1;
    config_protocol(sig, cfg, warn, ctx);
    config_compression(sig, cfg, warn, ctx);
    const char *name, *v = otlp_env(sig, "TIMEOUT", &name);
    cfg->timeout_ms = env_positive_int(name, v, DEFAULT_TIMEOUT_MS, warn, ctx);
    if ((v = otlp_env(sig, "HEADERS", &name)))
        ig_otlp_parse_headers(v, name, cfg, warn, ctx);
    if ((v = otlp_env(sig, "CERTIFICATE", &name)))
        cfg->ca_file = ig_xstrdup(v);
    if ((v = otlp_env(sig, "CLIENT_CERTIFICATE", &name)))
        cfg->client_cert = ig_xstrdup(v);
    if ((v = otlp_env(sig, "CLIENT_KEY", &name)))
        cfg->client_key = ig_xstrdup(v);
    cfg->retry_base_ms = env_positive_int("IGNIS_OTLP_RETRY_BASE_MS", getenv("IGNIS_OTLP_RETRY_BASE_MS"),
                                          DEFAULT_RETRY_BASE_MS, warn, ctx);
    cfg->retry_max_ms = env_positive_int("IGNIS_OTLP_RETRY_MAX_MS", getenv("IGNIS_OTLP_RETRY_MAX_MS"),
                                         DEFAULT_RETRY_MAX_MS, warn, ctx);
    cfg->retry_max_attempts = env_positive_int("IGNIS_OTLP_RETRY_MAX_ATTEMPTS", getenv("IGNIS_OTLP_RETRY_MAX_ATTEMPTS"),
                                               DEFAULT_RETRY_ATTEMPTS, warn, ctx);
    return 0;
}

int ig_otlp_config_from_env(ig_otlp_config *cfg, ig_otlp_warn_fn *warn, void *ctx, ig_err *err)
{
    return ig_otlp_config_from_env_for(&ig_otlp_traces, cfg, warn, ctx, err);
}

void ig_otlp_config_free(ig_otlp_config *cfg)
{
    free(cfg->url);
    for (size_t i = 0; i < cfg->nheaders; i++)
        free(cfg->headers[i]);
    free(cfg->headers);
    free(cfg->ca_file);
    free(cfg->client_cert);
    free(cfg->client_key);
    memset(cfg, 0, sizeof *cfg);
}
