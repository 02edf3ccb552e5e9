/*
 * exporters/otlp_profiles.h — the OTLP profiles signal
 * (opentelemetry.proto.profiles.v1development, our own .proto under
 * proto/opentelemetry/proto/profiles/): encoding the one profile model
 * into an ExportProfilesServiceRequest, decoding one back, the OTLP/JSON
 * form of both, the resource a profile is sent with, and the exporter
 * that posts requests through the shared OTLP/HTTP sender.
 *
 * Mapping between the model and OTLP (both directions):
 *   value types        one Profile per value type, all in one ScopeProfiles
 *                      over one ProfilesDictionary; the scope carries
 *                      pprof.scope.sample_type_order and
 *                      pprof.scope.default_sample_type
 *   period, time       every Profile (period_type, period, time_unix_nano,
 *                      duration_nano)
 *   comments, drop/keep  Profile attributes pprof.profile.comment (string
 *                      array), pprof.profile.drop_frames / keep_frames
 *   mappings           Mapping, the build id as process.executable.build_id.gnu,
 *                      has_* as pprof.mapping.has_* (true only), optionally
 *                      process.executable.build_id.htlhash
 *   locations          Location; is_folded as pprof.location.is_folded, the
 *                      frame kind as profile.frame.type ("kernel", "jit")
 *   stacks             Stack (leaf first, as in the model)
 *   labels             sample attributes: a numeric "tid" becomes
 *                      thread.id, a string "thread" thread.name, a pair of
 *                      lowercase hex "trace_id" (32) / "span_id" (16)
 *                      labels a Link; any other label keeps its key (a
 *                      numeric label's unit is the attribute's unit)
 *   samples            identical (stack, attributes, link) merged; a sample
 *                      appears in the Profile of each value type where its
 *                      value is not 0 (a sample whose values are all 0 in
 *                      the first Profile), so nothing pprof holds is lost
 * Tables hold only what the encoded samples reference (the spec wants no
 * orphans), each starting with its zero value.
 */
#ifndef IG_EXPORTERS_OTLP_PROFILES_H
#define IG_EXPORTERS_OTLP_PROFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "exporters/otlp.h"
#include "ignis/profile.h"
#include "utils/err.h"
#include "utils/strbuf.h"

/* The most a gzip-compressed request may inflate to (bytes). */
#define IG_OTLP_PROFILES_MAX_SIZE ((size_t)1 << 30)

/* ---- the resource a profile is sent with ---------------------------------- */

/* Resource attributes (all owned; NULL / 0 when unknown). */
typedef struct ig_profile_resource {
    int64_t pid;            /* process.pid */
    char *executable_name;  /* process.executable.name */
    char *host_name;        /* host.name */
    char *service_name;     /* service.name (OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES) */
    char *container_id;     /* container.id, from the process's cgroup */
    char **extra_keys;      /* the rest of OTEL_RESOURCE_ATTRIBUTES */
    char **extra_values;
    size_t nextra;
} ig_profile_resource;

/* Fills r for process pid (0: no process; attributes of the host and the
 * environment only): the executable name from /proc/PID/exe (else
 * exe_fallback's base name, for a command that already exited), the
 * container id from /proc/PID/cgroup (else, for a command we launched,
 * from our own cgroup, which it inherited), host.name, service.name and
 * OTEL_RESOURCE_ATTRIBUTES.  In libignis-net.so (exporters/resource_detect.c;
 * the command reaches it through exporters/net.h). */
void ig_profile_resource_detect(ig_profile_resource *r, pid_t pid, const char *exe_fallback, bool launched);

/* The container id in the text of a /proc/PID/cgroup file: the last
 * 64-hex-digit id in a path component ("docker-ID.scope", "ID",
 * "cri-containerd-ID.scope", "libpod-ID" ...) of any line.  Copies it
 * (65 bytes with the NUL) and returns true, or false when there is none
 * (exporters/resource_detect.c). */
bool ig_container_id_from_cgroup(const char *text, size_t len, char out[65]);

/* Adds an attribute to the extra ones; copy and free (otlp_profiles_send.c). */
void ig_profile_resource_add(ig_profile_resource *r, const char *key, const char *value);
void ig_profile_resource_copy(ig_profile_resource *dst, const ig_profile_resource *src);
void ig_profile_resource_free(ig_profile_resource *r);

/* ---- encoding (exporters/otlp_profiles_encode.c) -------------------------- */

/* Computes process.executable.build_id.htlhash for a mapped file (32 hex
 * digits into out); false when it does not apply.  gnu_build_id is the
 * mapping's build id ("" when none). */
typedef bool ig_htlhash_fn(void *ctx, const char *filename, const char *gnu_build_id, char out[33]);

typedef struct ig_otlp_encode_opts {
    const ig_profile_resource *resource; /* NULL: no resource attributes */
    size_t first, count;                 /* model samples [first, first + count); count SIZE_MAX: all */
    ig_htlhash_fn *htlhash;              /* NULL: no htlhash attributes */
    void *htlhash_ctx;
} ig_otlp_encode_opts;

/* Appends the protobuf ExportProfilesServiceRequest of p (see the top of
 * this file) to out. */
void ig_otlp_profiles_encode(const ignis_profile *p, const ig_otlp_encode_opts *o, ig_strbuf *out);

/* The same in the OTLP/JSON encoding (one line, no newline). */
void ig_otlp_profiles_encode_json(const ignis_profile *p, const ig_otlp_encode_opts *o, ig_strbuf *out);

/* ---- decoding (exporters/otlp_profiles_decode.c) -------------------------- */

/* Reads an ExportProfilesServiceRequest (or a ProfilesData: same fields)
 * in protobuf into a new profile.  Every index is checked; one line
 * names what is wrong ("stack 7: location index 99 out of range (12
 * locations)").  Memory follows the input: each table element is decoded
 * on its own into a budgeted arena.  Samples of every Profile become
 * samples of one model profile, one value type per distinct sample type;
 * when the request has several resources, each sample also gets its
 * resource's attributes as labels. */
int ig_otlp_profiles_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);

/* The same from OTLP/JSON. */
int ig_otlp_profiles_read_json(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);

/* Whether the bytes have the shape of a protobuf request (only fields 1
 * and 2, length-delimited, whose contents walk as ResourceProfiles and
 * ProfilesDictionary fields); why gets the reason when not. */
bool ig_otlp_profiles_sniff(const uint8_t *d, size_t len, char *why, size_t whylen);

/* Whether the bytes look like an OTLP/JSON profiles request. */
bool ig_otlp_profiles_sniff_json(const uint8_t *d, size_t len, char *why, size_t whylen);

/* ---- exporting (exporters/otlp_profiles_send.c) --------------------------- */

/* Posts profiles to {endpoint}/v1development/profiles through the shared
 * OTLP/HTTP sender (same variables, headers, retries and Retry-After),
 * splitting a request the collector answers 413 in halves.  Profiles are
 * sent now (ig_otlp_profiles_export) or queued for a thread that sends
 * them in order (ig_otlp_profiles_enqueue: one call per interval of a
 * continuous recording; the queue is bounded, the oldest waiting interval
 * is dropped and counted when it is full, so a collector that is down
 * never blocks the caller nor grows memory). */
typedef struct ig_otlp_profiles_exporter ig_otlp_profiles_exporter;

typedef struct ig_otlp_profiles_stats {
    uint64_t exported;  /* profiles delivered (every piece of a split one) */
    uint64_t failed;    /* profiles not delivered: refused, retries or time exhausted */
    uint64_t dropped;   /* intervals dropped from a full queue, or left at shutdown */
    uint64_t requests;  /* requests the collector accepted */
    uint64_t splits;    /* requests halved after 413 */
    uint64_t retries;   /* waits before another attempt */
    uint64_t rejected;  /* profiles the collector rejected in partial_success */
    uint64_t queued;    /* intervals waiting now */
} ig_otlp_profiles_stats;

typedef struct ig_otlp_profiles_opts {
    size_t max_queue;          /* intervals waiting at most; 0: 8 */
    ig_htlhash_fn *htlhash;    /* adds process.executable.build_id.htlhash to mappings; only
                                * for profiles of this machine, just recorded (NULL: none) */
    void *htlhash_ctx;
    ig_otlp_warn_fn *warn;     /* where queued exports report failures (NULL: stderr) */
    void *warn_ctx;
} ig_otlp_profiles_opts;

/* An exporter for cfg (copied); NULL with err set. */
ig_otlp_profiles_exporter *ig_otlp_profiles_exporter_new(const ig_otlp_config *cfg, const ig_otlp_profiles_opts *o,
                                                         ig_err *err);

/* An exporter configured from OTEL_EXPORTER_OTLP_[PROFILES_]* (warnings
 * about bad settings go to warn); NULL with err set. */
ig_otlp_profiles_exporter *ig_otlp_profiles_exporter_from_env(const ig_otlp_profiles_opts *o, ig_err *err);

/* The URL profiles are posted to. */
const char *ig_otlp_profiles_exporter_url(const ig_otlp_profiles_exporter *x);

/* Sends p now, within timeout_ms (<= 0: the configured timeout).  Returns
 * 0, or -1 with one line in err naming the URL and the reason: 400 (not
 * retried; the collector's message), 404 (the collector has no profiles
 * support), 413 for a single sample, 429/503 retried until the time runs
 * out, connection errors. */
int ig_otlp_profiles_export(ig_otlp_profiles_exporter *x, const ignis_profile *p, const ig_profile_resource *res,
                            int timeout_ms, ig_err *err);

/* Queues p (the exporter takes it and frees it) with a copy of res for the
 * sending thread.  Returns 0, or 1 when the queue was full and the oldest
 * waiting interval was dropped to make room. */
int ig_otlp_profiles_enqueue(ig_otlp_profiles_exporter *x, ignis_profile *p, const ig_profile_resource *res);

/* Waits until every queued interval is sent or failed; 0, or -1 when
 * timeout_ms ran out first. */
int ig_otlp_profiles_flush(ig_otlp_profiles_exporter *x, int timeout_ms);

void ig_otlp_profiles_exporter_stats(ig_otlp_profiles_exporter *x, ig_otlp_profiles_stats *st);

/* Stops the sending thread: waits up to timeout_ms for the queue to
 * drain, then cancels the post in progress and drops (counts) the rest.
 * NULL is allowed. */
void ig_otlp_profiles_exporter_free(ig_otlp_profiles_exporter *x, int timeout_ms);

#endif
