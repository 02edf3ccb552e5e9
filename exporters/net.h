/*
 * exporters/net.h — what the ignis command does over the network, in a
 * library of its own: fetching a profile from an http(s) URL
 * (exporters/fetch.c) and sending profiles to an OTLP collector
 * (exporters/otlp_profiles_send.c).
 *
 * Both need libcurl, whose TLS stack is about 20 shared libraries and
 * 10-20 ms at every start of `ignis`; so they live in libignis-net.so,
 * which the command loads with dlopen the first time it needs the
 * network (exporters/net_load.c), as it loads libignis-collect.so for
 * `ignis collect`.  The library exports one symbol, ignis_net_api(), a
 * table of functions; its ABI number changes with the table.  Profiles
 * and resources passed across are the command's own: the library is built
 * from the same sources.
 */
#ifndef IG_EXPORTERS_NET_H
#define IG_EXPORTERS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exporters/otlp_profiles.h"
#include "ignis/profile.h"
#include "utils/err.h"

/* ---- fetching (exporters/fetch.c) ---------------------------------------------- */

typedef struct ig_fetch_opts {
    int timeout_s;    /* 0: the URL's seconds= plus 30 s, else 60 s ($IGNIS_FETCH_TIMEOUT overrides) */
    size_t max_bytes; /* 0: $IGNIS_FETCH_MAX_BYTES, else 256 MiB */
    int progress;     /* a progress line on stderr: 1 yes, 0 no, -1 when stderr is a terminal
                       * ($IGNIS_FETCH_PROGRESS=1/0 overrides) */
} ig_fetch_opts;

/* GETs url (http or https, redirects followed) into *data (malloc'd).
 * Returns 0, or -1 with one line in err naming the URL: no answer in
 * time, an HTTP error status (with the first line of its body), an HTML
 * page instead of a profile, a body over the size cap, an empty body. */
int ig_fetch_url(const char *url, const ig_fetch_opts *o, uint8_t **data, size_t *len, ig_err *err);

/* The timeout for url: its seconds= parameter plus a margin, else 60 s. */
int ig_fetch_timeout_for(const char *url);

/* ---- process.executable.build_id.htlhash (exporters/htlhash.c) ------------------- */

/* The OpenTelemetry profiles build id of a file: the first 16 bytes of
 * SHA-256(first 4096 bytes, last 4096 bytes, big-endian length), in hex.
 * Only for an absolute path to a regular file whose GNU build id is
 * gnu_build_id when that is not "" (so a file replaced since it was
 * mapped is not misnamed).  An ig_htlhash_fn. */
bool ig_htlhash_file(void *ctx, const char *filename, const char *gnu_build_id, char out[33]);

/* ---- the library's table ---------------------------------------------------------- */

#define IG_NET_ABI 1

typedef struct ig_net_api {
    int abi;           /* IG_NET_ABI */
    size_t size;       /* sizeof(ig_net_api) */
    int (*fetch)(const char *url, const ig_fetch_opts *o, uint8_t **data, size_t *len, ig_err *err);
    ig_otlp_profiles_exporter *(*exporter_from_env)(const ig_otlp_profiles_opts *o, ig_err *err);
    const char *(*exporter_url)(const ig_otlp_profiles_exporter *x);
    int (*export_now)(ig_otlp_profiles_exporter *x, const ignis_profile *p, const ig_profile_resource *res,
                      int timeout_ms, ig_err *err);
    int (*enqueue)(ig_otlp_profiles_exporter *x, ignis_profile *p, const ig_profile_resource *res);
    int (*flush)(ig_otlp_profiles_exporter *x, int timeout_ms);
    void (*stats)(ig_otlp_profiles_exporter *x, ig_otlp_profiles_stats *st);
    void (*exporter_free)(ig_otlp_profiles_exporter *x, int timeout_ms);
    ig_htlhash_fn *htlhash;
    void (*resource_detect)(ig_profile_resource *r, pid_t pid, const char *exe_fallback, bool launched);
    void (*resource_free)(ig_profile_resource *r);
} ig_net_api;

/* The table (in libignis-net.so). */
__attribute__((visibility("default"))) const ig_net_api *ignis_net_api(void);

/* Loads libignis-net.so ($IGNIS_NET_LIB, next to the ignis binary, then
 * ../lib/ignis/ relative to it) once and returns its table; NULL with err
 * saying where it was looked for and why it did not load.  In the ignis
 * command only (exporters/net_load.c). */
const ig_net_api *ig_net_load(ig_err *err);

/* What ig_net_send_profile sends a profile with. */
typedef struct ig_net_send_opts {
    pid_t pid;               /* the resource's process (ig_profile_resource_detect), 0: none */
    const char *exe;         /* its executable when /proc no longer has it */
    bool launched;           /* we launched it (it shared our cgroup) */
    bool htlhash;            /* the htlhash of the mapped files (a profile of this machine, just recorded) */
    ig_otlp_warn_fn *warn;   /* warnings about the settings (NULL: stderr) */
    void *warn_ctx;
} ig_net_send_opts;

/* Sends p now to the OTLP endpoint the environment configures
 * (OTEL_EXPORTER_OTLP_[PROFILES_]*).  Copies the URL into url (when not
 * NULL) and the exporter's counters into st (when not NULL).  0, or -1
 * with one line in err.  In the ignis command only (exporters/net_load.c). */
int ig_net_send_profile(const ignis_profile *p, const ig_net_send_opts *o, char *url, size_t urllen,
                        ig_otlp_profiles_stats *st, ig_err *err);

/* A continuous export (`ignis record --every D --export`, `ignis agent
 * --export`): one exporter whose sending thread posts the intervals in
 * order from a bounded queue, so a collector that is slow or down never
 * stalls the recording nor grows memory: the oldest waiting interval is
 * dropped and counted instead.  In the ignis command only. */
typedef struct ig_net_stream ig_net_stream;

/* Opens the stream to the endpoint the environment configures; the
 * resource is detected once, from o.  Copies the URL into url.  NULL with
 * one line in err. */
ig_net_stream *ig_net_stream_open(const ig_net_send_opts *o, size_t max_queue, char *url, size_t urllen,
                                  ig_err *err);
/* Queues p (the stream takes and frees it).  0, or 1 when the queue was
 * full and the oldest waiting interval was dropped. */
int ig_net_stream_send(ig_net_stream *s, ignis_profile *p);
/* Waits up to timeout_ms for the queue to drain, copies the counters into
 * st (when not NULL; what is still unsent then counts as dropped), and
 * closes the stream (NULL allowed). */
void ig_net_stream_close(ig_net_stream *s, int timeout_ms, ig_otlp_profiles_stats *st);

#endif
