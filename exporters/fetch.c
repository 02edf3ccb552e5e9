/*
 * exporters/fetch.c — a profile from an http(s) URL, as `go tool pprof
 * http://host:6060/debug/pprof/profile?seconds=30` fetches one.
 *
 * One GET with libcurl (redirects followed, http and https only).  A CPU
 * profile endpoint answers only after it sampled for `seconds`, so the
 * timeout is that plus a margin (else 60 s; $IGNIS_FETCH_TIMEOUT sets
 * it), and a progress line on stderr (a terminal) shows the seconds
 * waited and the bytes received meanwhile.  The body is capped (256 MiB,
 * $IGNIS_FETCH_MAX_BYTES): a Content-Length over the cap ends the
 * transfer before any body, and the bytes are counted while they arrive
 * otherwise.  An answer that is an error status, an HTML page (the pprof
 * index, a login page) or empty is refused with a one-line reason naming
 * the URL; everything else goes to the format readers, which say what
 * the bytes are not.
 */
#include "exporters/net.h"
#include "ignis/common.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 60
#define MARGIN_S 30
#define DEFAULT_MAX_BYTES ((size_t)256 << 20)
#define CONNECT_TIMEOUT_S 10

typedef struct fetch {
    const char *url;
    ig_strbuf body;
    size_t max;
    bool over;           /* the cap was hit */
    char reason[96];     /* the last status line's reason phrase */
    bool progress;
    struct timespec t0;
    double last_shown;
} fetch;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = size * n;
    if (len > f->max - f->body.len) {
        f->over = true;
        return 0; /* ends the transfer */
    }
    ig_sb_append(&f->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = size * n;
    if (len > 12 && !strncmp(p, "HTTP/", 5)) { /* "HTTP/1.1 404 Not Found\r\n" */
        const char *sp = memchr(p, ' ', len), *end = p + len;
        const char *r = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
        size_t j = 0;
        for (r = r ? r + 1 : end; r < end && *r != '\r' && *r != '\n' && j + 1 < sizeof f->reason; r++)
            f->reason[j++] = *r >= 0x20 && *r < 0x7f ? *r : '?';
        f->reason[j] = '\0';
    }
    static const char name[] = "content-length:";
    if (len > sizeof name - 1 && len < 100 && !strncasecmp(p, name, sizeof name - 1)) {
        char value[100];
        memcpy(value, p + sizeof name - 1, len - (sizeof name - 1));
        value[len - (sizeof name - 1)] = '\0';
        unsigned long long cl = strtoull(value, NULL, 10);
        if (cl > f->max) {
            f->over = true;
            return 0;
        }
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)ultotal, (void)ulnow;
    fetch *f = ud;
    double t = since(&f->t0);
    if (f->progress && t - f->last_shown >= 0.5) {
        f->last_shown = t;
        fprintf(stderr, "\r\033[Kignis: fetching %s: %.0f s, %lld bytes", f->url, t, (long long)dlnow);
        fflush(stderr);
    }
    return 0;
}

/* The seconds= parameter of the URL's query, or -1. */
static long seconds_param(const char *url)
{
    const char *q = strchr(url, '?');
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "seconds=", 8))
            continue;
        char *end;
        errno = 0;
        long s = strtol(p + 9, &end, 10);
        if (!errno && end != p + 9 && (*end == '\0' || *end == '&' || *end == '#') && s >= 0 && s <= 86400 * 30)
            return s;
    }
    return -1;
}

int ig_fetch_timeout_for(const char *url)
{
    long s = seconds_param(url);
    return s >= 0 ? (int)s + MARGIN_S : DEFAULT_TIMEOUT_S;
}

/* A positive integer from the environment into *out; -1 when set but bad. */
static int env_number(const char *name, unsigned long long max, unsigned long long *out, ig_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || n == 0 || n > max)
        return ig_err_set(err, "%s: '%s' is not a positive whole number (at most %llu)", name, v, max);
    *out = n;
    return 0;
}

static bool want_progress(const ig_fetch_opts *o)
{
    const char *v = getenv("IGNIS_FETCH_PROGRESS");
    if (v && *v)
        return strcmp(v, "0") != 0;
    return o && o->progress >= 0 ? o->progress == 1 : isatty(2);
}

/* Whether the body looks like HTML rather than a profile. */
static bool is_html(const char *content_type, const ig_strbuf *b)
{
    if (content_type && !strncasecmp(content_type, "text/html", 9))
        return true;
    size_t i = 0;
    while (i < b->len && strchr(" \t\r\n", b->data[i]))
        i++;
    return (b->len - i >= 9 && !strncasecmp(b->data + i, "<!doctype", 9)) ||
           (b->len - i >= 5 && !strncasecmp(b->data + i, "<html", 5));
}

/* The first line of a body, printable, for an error message. */
static void first_line(const ig_strbuf *b, char *out, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < b->len && b->data[i] != '\n' && j + 1 < len && j < 160; i++) {
        unsigned char c = (unsigned char)b->data[i];
        out[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    while (j && (out[j - 1] == '\r' || out[j - 1] == ' '))
        j--;
    out[j] = '\0';
}

static CURL *open_handle(fetch *f, long timeout_s)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s < CONNECT_TIMEOUT_S ? timeout_s : (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ignis/" IGNIS_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    return c;
}

/* What went wrong with a finished transfer, as one line; 0 when nothing. */
static int check_answer(fetch *f, CURL *c, CURLcode rc, long timeout_s, ig_err *err)
{
    if (f->over)
        return ig_err_set(err, "%s: the answer is larger than %zu bytes (set IGNIS_FETCH_MAX_BYTES to allow more)",
                          f->url, f->max);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return ig_err_set(err, "%s: no complete answer within %ld s (set IGNIS_FETCH_TIMEOUT=SECONDS to wait longer)",
                          f->url, timeout_s);
    if (rc != CURLE_OK)
        return ig_err_set(err, "%s: %s", f->url, curl_easy_strerror(rc));
    long status = 0;
    char *ctype = NULL, line[192];
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
    if (status >= 400 || (status && status < 200)) {
        line[0] = '\0';
        if (!is_html(ctype, &f->body)) /* Go's pprof handlers explain errors in text */
            first_line(&f->body, line, sizeof line);
        return ig_err_set(err, "%s: HTTP %ld%s%s%s%s", f->url, status, f->reason[0] ? " " : "", f->reason,
                          line[0] ? ": " : "", line);
    }
    if (is_html(ctype, &f->body))
        return ig_err_set(err, "%s: the server answered with an HTML page, not a profile (for Go's net/http/pprof "
                               "use /debug/pprof/profile?seconds=N or /debug/pprof/heap)", f->url);
    if (!f->body.len)
        return ig_err_set(err, "%s: empty answer", f->url);
    return 0;
}

int ig_fetch_url(const char *url, const ig_fetch_opts *o, uint8_t **data, size_t *len, ig_err *err)
{
    *data = NULL;
    *len = 0;
    unsigned long long timeout_s = o && o->timeout_s > 0 ? (unsigned long long)o->timeout_s
                                                         : (unsigned long long)ig_fetch_timeout_for(url);
    unsigned long long max = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    if (env_number("IGNIS_FETCH_TIMEOUT", 86400ULL * 30, &timeout_s, err) ||
        env_number("IGNIS_FETCH_MAX_BYTES", (unsigned long long)SIZE_MAX / 2, &max, err))
        return -1;
    fetch f = {url, IG_STRBUF_INIT, (size_t)max, false, "", want_progress(o), {0, 0}, 0};
    clock_gettime(CLOCK_MONOTONIC, &f.t0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = open_handle(&f, (long)timeout_s);
    if (!c)
        return ig_err_set(err, "%s: cannot initialise libcurl", url);
    CURLcode rc = curl_easy_perform(c);
    if (f.progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    int bad = check_answer(&f, c, rc, (long)timeout_s, err);
    curl_easy_cleanup(c);
    if (bad) {
        ig_sb_free(&f.body);
        return -1;
    }
    *data = (uint8_t *)ig_sb_detach(&f.body, len);
    return 0;
}
