/*
 * profile/spans.h — span-linked profiles: the samples of one span, one
 * trace or one operation, and an operation's slow spans against its fast
 * ones.
 *
 * Samples taken while a libignis span was current on their thread carry
 * the labels trace_id and span_id (lowercase hex, 32 and 16 digits) and
 * span_name, the names Pyroscope uses for span profiles.  A selection
 * (ig_span_select) is a predicate on those labels that the tree code asks
 * once per label set (ig_tree_opts.keep_labels), so `report`, `flame`,
 * `view` and `convert` all select the same samples.
 *
 * Span times (ig_span_times) come from a span source when the command has
 * one (a trace store or an OTLP-JSON file, `--spans`): then selecting a
 * span selects its descendants too, and slow vs fast compares the spans'
 * real durations.  Without one, a span's duration is estimated from the
 * profile: the chosen value summed over the span's samples (wall time in
 * a --wall profile, CPU time in a CPU profile), and only the samples
 * labelled with the span itself are its own.  Unlabelled samples are never
 * attributed to any span.
 */
#ifndef IG_PROFILE_SPANS_H
#define IG_PROFILE_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "ignis/profile.h"
#include "profiler/u64map.h"
#include "utils/err.h"

/* Durations and parents of spans, keyed by span id. */
typedef struct ig_span_time {
    uint64_t span_id, parent_id; /* parent 0: a root (or unknown) */
    uint64_t duration_ns;
    char *name;
} ig_span_time;

typedef struct ig_span_times {
    ig_span_time *rows;
    size_t n, cap;
    ig_u64map index; /* span id -> 1 + row */
} ig_span_times;

/* Adds a span (a repeated id keeps its first row). */
void ig_span_times_add(ig_span_times *t, uint64_t span_id, uint64_t parent_id, uint64_t duration_ns,
                       const char *name);
void ig_span_times_free(ig_span_times *t);

/* What to keep: samples of the given spans (and, with span times, their
 * descendants), of one trace, and/or of one operation; every condition
 * given must hold. */
typedef struct ig_span_select {
    ig_u64map spans;   /* selected span ids (value unused) */
    int by_span;       /* the span condition is set (spans may be empty) */
    char trace_id[33]; /* lowercase hex, "" = any trace */
    char *name;        /* span_name, NULL = any */
    ig_u64map named;   /* with span times: the spans of name and their descendants */
    int by_named;      /* name is matched through named (a sample labelled name passes too) */
    uint64_t steps;    /* parent links followed selecting descendants (tests bound the work) */
} ig_span_select;

/* The spans named `name` that label samples of p, and how many of them
 * times lacks (their descendants cannot be found: a span source that
 * sampled, or kept less than the profile covers). */
typedef struct ig_span_coverage {
    size_t labelled, missing;
} ig_span_coverage;

/* Parses a span id (16 hex digits) or trace id (32) as printed by
 * traces and logs; case-insensitive.  Returns 0, or -1 with err naming
 * flag ("--span: 'xyz' is not a 16-digit hex span id"). */
int ig_span_parse_span_id(const char *s, const char *flag, uint64_t *out, ig_err *err);
int ig_span_parse_trace_id(const char *s, const char *flag, char out[33], ig_err *err);

/* Selects span id (and its descendants when times is not NULL: those
 * whose chain of parents reaches it within 1024 links). */
void ig_span_select_add(ig_span_select *s, uint64_t span_id, const ig_span_times *times);
/* The same for n span ids at once, in one pass over times (O(rows)). */
void ig_span_select_add_all(ig_span_select *s, const uint64_t *span_ids, size_t n, const ig_span_times *times);
/* Selects the operation `name`: samples labelled with it and, when times
 * is not NULL, those of the descendants of its spans (of times, and of
 * the profile's labels) — the operation with its children, as a span
 * with its children.  *cov (may be NULL) says how many of the profile's
 * spans of name times lacks. */
void ig_span_select_name(ig_span_select *s, const char *name, const ignis_profile *p, const ig_span_times *times,
                         ig_span_coverage *cov);
void ig_span_select_free(ig_span_select *s);

/* The predicate for ig_tree_opts.keep_labels (ctx: an ig_span_select). */
int ig_span_keep_labels(void *ctx, const ignis_profile *p, uint32_t labels);

/* Number of samples of p carrying a span_id label. */
size_t ig_span_labelled_samples(const ignis_profile *p);

/* The trace ids (lowercase hex) the samples of p carry, each once, as a
 * malloc'd array of char[33]; *n their count. */
char (*ig_span_trace_ids(const ignis_profile *p, size_t *n))[33];

/* A new profile of the samples sel keeps (every value, labels and
 * metadata as in p); NULL with err set. */
ignis_profile *ig_span_select_profile(const ignis_profile *p, ig_span_select *sel, ig_err *err);

typedef struct ig_span_split_stats {
    size_t spans, slow;  /* spans of the operation; how many are slow */
    uint64_t cut_ns;     /* slow: duration > cut (the p90), or >= the threshold */
    int from_times;      /* durations from span times, not estimated */
    uint64_t slow_p50_ns, fast_p50_ns;
    ig_span_coverage cov; /* with times: the profile's spans of name that times lacks (left out) */
    size_t nested;        /* with times: spans of name inside another span of name (part of it) */
} ig_span_split_stats;

/* Splits the spans named `name` into slow and fast: durations from times
 * when given, else estimated from value vi of p (see the file comment);
 * slow are those above the p90 or, with threshold_ns > 0, at least the
 * threshold.  Fills two selections (descendants included with times).
 * With times, a sample belongs to the OUTERMOST span of name above it:
 * a span of name nested in another (recursion, middleware and handler
 * under one route name) is part of that span, not an instance of its
 * own, so its samples go to one side only, the outer span's (counted in
 * st->nested).  The spans of name that label samples but are missing
 * from times are left out of both sides (counted in st->cov: say so).
 * Errors: no sample carries span labels, no span has that name, or one
 * side would be empty. */
int ig_span_split(const ignis_profile *p, int vi, const char *name, const ig_span_times *times,
                  uint64_t threshold_ns, ig_span_select *slow, ig_span_select *fast, ig_span_split_stats *st,
                  ig_err *err);
/* What a split of `name` with span times from src left out, said after
 * its span count ("2 of 10 spans" + this): " (PARTIAL: N of the profile's
 * M spans of 'name' are not in src: left out, their samples on neither
 * side)", or "" when src has them all.  The one wording of the command
 * line's summary and the viewer's title.  Returns out (len > 0). */
const char *ig_span_split_partial(const ig_span_split_stats *st, const char *name, const char *src, char *out,
                                  size_t len);

/* ---- joining samples to spans by thread and time ----------------------------------
 *
 * Spans from SDKs that publish no thread context (OpenTelemetry's, other
 * languages') can still be joined with samples when they carry the
 * semantic-convention attribute `thread.id`: a sample of thread T taken
 * at time t belongs to the innermost span with thread.id == T and
 * start <= t < end (the one that started last).  Samples must carry the
 * labels `tid` (numeric, as `ignis record` writes it) and `time_ns`
 * (numeric: nanoseconds since the Unix epoch, CLOCK_REALTIME, the clock
 * OTLP span times are in; `ignis record --spans` writes it).  Samples
 * already labelled with a span (libignis' thread context) keep their
 * labels; samples without tid or time, or in no span, stay unlabelled.
 * time_ns is dropped from the result, so samples merge again.
 *
 * Clocks: both sides must be the same machine's CLOCK_REALTIME.  When
 * they are far apart, the join refuses rather than mislabels: no span of
 * a sampled thread overlaps the samples' time range, or samples that
 * libignis labelled with a span fall outside that span's times in the
 * source (more than 1 in 10 of those checked).  A skew shorter than the
 * recording is not detected when no sample carries a libignis label. */
typedef struct ig_thread_span {
    int64_t tid;
    uint64_t start_ns, end_ns;
    char trace_id[33], span_id[17];
    char *name;
} ig_thread_span;

typedef struct ig_thread_spans {
    ig_thread_span *rows;
    size_t n, cap;
    uint64_t without_thread; /* spans of the source without thread.id (skipped) */
    uint64_t bad_thread;     /* ... whose thread.id is no thread id: a double, a name (skipped) */
    uint64_t unplaceable;    /* ... of no duration (end <= start) or with bad ids (skipped) */
} ig_thread_spans;

/* Adds a span (ids lowercase hex; copied). */
void ig_thread_spans_add(ig_thread_spans *t, int64_t tid, uint64_t start_ns, uint64_t end_ns,
                         const char *trace_id, const char *span_id, const char *name);
void ig_thread_spans_free(ig_thread_spans *t);

typedef struct ig_span_join_stats {
    uint64_t samples;       /* samples read */
    uint64_t joined;        /* ... labelled by the join */
    uint64_t had_span;      /* ... labelled already (kept) */
    uint64_t no_time;       /* ... without tid or time_ns labels (unlabelled) */
    uint64_t outside;       /* ... of a thread and time no span covers (unlabelled) */
    uint64_t checked, disagree; /* labelled-already samples whose span the source has with
                                 * thread.id, and of those, taken outside its times */
    uint64_t first_ns, last_ns; /* the samples' time range */
    uint64_t lookup_steps;      /* tree nodes visited finding samples' spans (tests bound the work) */
} ig_span_join_stats;

/* The time range of the samples with tid and time_ns labels; 0 when none
 * has them. */
int ig_span_time_range(const ignis_profile *p, uint64_t *first, uint64_t *last);

/* A new profile: p with the span labels of the join (see above); NULL
 * with err set when no sample has times, or the clocks disagree (err
 * says how). */
ignis_profile *ig_span_join_threads(const ignis_profile *p, ig_thread_spans *spans, ig_span_join_stats *st,
                                    ig_err *err);

#endif
