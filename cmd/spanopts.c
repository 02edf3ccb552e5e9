/*
 * cmd/spanopts.c — the span options every profile-reading command shares:
 * --span, --trace, --span-name, --spans, --slow-vs-fast, --threshold.
 *
 * The selection logic lives in profile/spans.c; this file turns options
 * into it.  Span times come from --spans: a trace store (collect/store.h)
 * or an OTLP-JSON file imported into a private in-memory store, of which
 * only the traces the profile's samples carry are loaded — so the cost
 * follows the profile, not the store.  Times from a trace and samples
 * from a profile are joined by ids only, never by clock, so clocks that
 * disagree between machines cannot misattribute a sample.
 */
#include "cmd/cmd.h"
#include "collect/import.h"
#include "collect/store.h"
#include "profile/spans.h"
#include "profile/tree.h"
#include "viewer/tmodel.h"

#include <inttypes.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

const cmd_opt cmd_span_opts[] = {
    {"span", 0, CMD_ARG_REQUIRED, 0, CMD_O_SPAN},
    {"trace", 0, CMD_ARG_REQUIRED, 0, CMD_O_TRACE},
    {"span-name", 0, CMD_ARG_REQUIRED, 0, CMD_O_SPAN_NAME},
    {"spans", 0, CMD_ARG_REQUIRED, 0, CMD_O_SPANS},
    {"slow-vs-fast", 0, CMD_ARG_REQUIRED, 0, CMD_O_SLOW_VS_FAST},
    {"threshold", 0, CMD_ARG_REQUIRED, 0, CMD_O_THRESHOLD},
    {"join-spans", 0, CMD_ARG_NONE, 0, CMD_O_JOIN_SPANS},
    {NULL, 0, 0, 0, 0},
};

#define IMPORT_MAX_LINE (64u << 20)

static void import_warn(void *ctx, const char *msg)
{
    unsigned *n = ctx;
    if ((*n)++ < 3)
        fprintf(stderr, "ignis: --spans: %s\n", msg);
}

static ig_store *open_source(const char *path, ig_err *err)
{
    size_t n = strlen(path);
    int jsonl = (n > 6 && !strcmp(path + n - 6, ".jsonl")) || (n > 5 && !strcmp(path + n - 5, ".json")) ||
                (n > 9 && !strcmp(path + n - 9, ".jsonl.gz")) || !strcmp(path, "-");
    if (!jsonl)
        return ig_store_open(path, IG_STORE_READONLY, err);
    ig_store *s = ig_store_open(NULL, IG_STORE_MEMORY, err);
    ig_import_stats st = {0};
    unsigned warned = 0;
    const ig_import_limits lim = {IMPORT_MAX_LINE, IG_IMPORT_MEMORY_MAX_BYTES, IG_IMPORT_MEMORY_MAX_SPANS};
    if (s && ig_import_jsonl_limited(s, path, &lim, import_warn, &warned, &st, err) < 0) {
        ig_store_close(s);
        return NULL;
    }
    return s;
}

/* Span times of the traces the profile's samples belong to (the same
 * reading as the trace views' F key, viewer/tflame.c). */
static int load_times(const char *path, const ignis_profile *p, ig_span_times *t, ig_err *err)
{
    ig_store *s = open_source(path, err);
    if (!s)
        return -1;
    size_t n;
    int rc = ig_tspan_times_load(s, p, t, &n, err);
    ig_store_close(s);
    if (rc == 0 && !t->n)
        rc = ig_err_set(err, "%s: none of the profile's %zu trace%s is there", path, n, n == 1 ? "" : "s");
    return rc;
}

/* Does any sample pass the selection? */
static int selects_any(const ignis_profile *p, ig_span_select *sel)
{
    size_t ns = ignis_profile_num_samples(p);
    for (size_t i = 0; i < ns; i++)
        if (ig_span_keep_labels(sel, p, ignis_profile_sample(p, i).labels))
            return 1;
    return 0;
}

static int select_spans(const char *cmd, cmd_common *c, const ignis_profile *p, const ig_span_times *times)
{
    ig_err err;
    ig_span_select *sel = ig_xcalloc(1, sizeof *sel);
    c->span_sel = sel;
    for (size_t i = 0; i < c->nspan_ids; i++) {
        uint64_t id;
        if (ig_span_parse_span_id(c->span_ids[i], "--span", &id, &err) < 0)
            return cmd_usage_error(cmd, "--span", "%s", strchr(err.msg, ' ') + 1);
        ig_span_select_add(sel, id, times);
    }
    if (c->trace_id && ig_span_parse_trace_id(c->trace_id, "--trace", sel->trace_id, &err) < 0)
        return cmd_usage_error(cmd, "--trace", "%s", strchr(err.msg, ' ') + 1);
    if (c->span_name)
        ig_span_select_name(sel, c->span_name, p, times, NULL);
    const char *what = c->nspan_ids ? "--span" : c->trace_id ? "--trace" : "--span-name";
    if (!ig_span_labelled_samples(p)) {
        cmd_error(cmd, "%s: no sample of this profile carries span labels (record a libignis service with "
                       "`ignis record`, which labels samples with their span)", what);
        return 1;
    }
    if (!selects_any(p, sel)) {
        cmd_error(cmd, "%s: no sample was taken in %s", what,
                  c->nspan_ids ? "that span" : c->trace_id ? "that trace" : "spans of that name");
        return 1;
    }
    return 0;
}

static int slow_vs_fast(const char *cmd, cmd_common *c, ignis_profile **p, ignis_profile **base,
                        const ig_span_times *times)
{
    uint64_t threshold = 0;
    ig_err err;
    if (c->threshold) {
        if (ig_parse_duration(c->threshold, &threshold, &err) < 0)
            return cmd_usage_error(cmd, "--threshold", "%s", err.msg);
        if (!threshold)
            return cmd_usage_error(cmd, "--threshold", "must be more than 0");
    }
    int vi = c->value ? cmd_resolve_value(cmd, *p, c->value) : ignis_profile_default_value(*p);
    if (vi < 0)
        return 1;
    ig_span_select slow, fast;
    ig_span_split_stats st;
    if (ig_span_split(*p, vi, c->slow_vs_fast, times, threshold, &slow, &fast, &st, &err) < 0) {
        cmd_error(cmd, "%s", err.msg);
        return 1;
    }
    ignis_profile *s = ig_span_select_profile(*p, &slow, &err), *f = s ? ig_span_select_profile(*p, &fast, &err) : NULL;
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    if (!f) {
        ignis_profile_free(s);
        cmd_error(cmd, "%s", err.msg);
        return 1;
    }
    char cut[32], sp50[32], fp50[32];
    ig_format_duration(st.cut_ns, cut, sizeof cut);
    ig_format_duration(st.slow_p50_ns, sp50, sizeof sp50);
    ig_format_duration(st.fast_p50_ns, fp50, sizeof fp50);
    char partial[512];
    ig_span_split_partial(&st, c->slow_vs_fast, c->spans_src, partial, sizeof partial);
    if (*partial) /* the viewer's title says it too */
        c->span_partial = ig_xstrdup(partial);
    fprintf(stderr,
            "ignis %s: --slow-vs-fast %s: %zu of %zu spans%s %s %s (%s; durations %s): slow p50 %s, "
            "others p50 %s; the diff shows the slow spans' samples against the others', normalized\n",
            cmd, c->slow_vs_fast, st.slow, st.spans, partial, threshold ? "at least" : "above", cut,
            threshold ? "--threshold" : "their p90", st.from_times ? "from the spans" : "estimated from the profile",
            sp50, fp50);
    if (st.nested)
        fprintf(stderr, "ignis %s: --slow-vs-fast %s: %zu spans of that name inside another one are counted as part "
                        "of it: a sample goes with the outermost span of the name above it\n",
                cmd, c->slow_vs_fast, st.nested);
    size_t len = strlen(c->slow_vs_fast) + 128;
    c->span_base = ig_xmalloc(len);
    snprintf(c->span_base, len, "spans of '%s' up to %s (the fast ones%s)", c->slow_vs_fast, cut,
             st.cov.missing ? "; PARTIAL: some spans of the profile are not in --spans" : "");
    c->diff = c->span_base;
    c->normalize = 1;
    ignis_profile_free(*p);
    *p = s;
    *base = f;
    return 0;
}

int cmd_apply_spans(const char *cmd, cmd_common *c, ignis_profile **p, ignis_profile **base)
{
    int selecting = c->nspan_ids || c->trace_id || c->span_name;
    if (c->threshold && !c->slow_vs_fast)
        return cmd_usage_error(cmd, "--threshold", "only with --slow-vs-fast");
    if (c->join_spans && !c->spans_src)
        return cmd_usage_error(cmd, "--join-spans", "needs --spans STORE|FILE.jsonl, the spans to join with");
    if (c->join_spans && cmd_join_spans(cmd, "--spans", c->spans_src, p) != 0)
        return 1;
    if (!selecting && !c->slow_vs_fast) {
        if (c->spans_src && !c->join_spans)
            return cmd_usage_error(cmd, "--spans", "needs --span, --trace, --span-name, --slow-vs-fast or --join-spans");
        return 0;
    }
    if (c->slow_vs_fast && (selecting || c->diff))
        return cmd_usage_error(cmd, "--slow-vs-fast", "chooses its own spans and base: not with %s",
                               c->diff ? "--diff" : "--span, --trace or --span-name");
    ig_span_times times = {0}, *tp = NULL;
    if (c->spans_src) {
        ig_err err;
        if (load_times(c->spans_src, *p, &times, &err) < 0) {
            cmd_error(cmd, "--spans: %s", err.msg);
            ig_span_times_free(&times);
            return 1;
        }
        tp = &times;
    }
    int rc = c->slow_vs_fast ? slow_vs_fast(cmd, c, p, base, tp) : select_spans(cmd, c, *p, tp);
    ig_span_times_free(&times);
    return rc;
}

/* ---- joining by thread and time --------------------------------------------------------- */

static void add_thread_span(void *ctx, int64_t tid, uint64_t start_ns, uint64_t end_ns, const uint8_t trace_id[16],
                            const uint8_t span_id[8], const char *name)
{
    char t[33], sp[17];
    ig_hex(trace_id, 16, t);
    ig_hex(span_id, 8, sp);
    ig_thread_spans_add(ctx, tid, start_ns, end_ns, t, sp, name);
}

static void utc(uint64_t ns, char *buf, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The spans of src in the samples' time that carry thread.id. */
static int thread_spans(const char *src, uint64_t first, uint64_t last, ig_thread_spans *spans, ig_err *err)
{
    ig_store *s = open_source(src, err);
    if (!s)
        return -1;
    ig_store_thread_skips skips;
    int rc = ig_store_thread_spans(s, first, last + 1, add_thread_span, spans, &skips, err);
    spans->without_thread = skips.no_thread;
    spans->bad_thread = skips.bad_thread;
    spans->unplaceable += skips.bad_ids;
    uint64_t all = 0;
    if (rc == 0 && !spans->n && (rc = ig_store_count_thread_spans(s, &all, err)) == 0) {
        char a[40], b[40];
        utc(first, a, sizeof a);
        utc(last, b, sizeof b);
        if (spans->bad_thread) /* in the samples' time: the clocks agree, the thread ids do not parse */
            rc = ig_err_set(err, "%s: %" PRIu64 " spans in the samples' time (%s to %s) carry thread.id, but none "
                                 "as a thread id (a positive integer, or a string of digits: not a double, not a "
                                 "name): nothing to join by thread", src, spans->bad_thread, a, b);
        else if (spans->unplaceable)
            rc = ig_err_set(err, "%s: the %" PRIu64 " spans with thread.id in the samples' time (%s to %s) have "
                                 "no duration (end <= start) or bad ids: nothing to join by thread", src,
                            spans->unplaceable, a, b);
        else if (all)
            rc = ig_err_set(err, "%s: %" PRIu64 " spans carry thread.id, but none is in the samples' time (%s to "
                                 "%s): the spans' clock disagrees with this machine's, or they are of another run",
                            src, all, a, b);
        else
            rc = ig_err_set(err, "%s: no span carries the attribute thread.id (%" PRIu64 " spans in the samples' "
                                 "time, %s to %s): nothing to join by thread", src, spans->without_thread, a, b);
    }
    ig_store_close(s);
    return rc;
}

int cmd_join_spans(const char *cmd, const char *what, const char *src, ignis_profile **p)
{
    ig_err err;
    uint64_t first, last;
    if (!ig_span_time_range(*p, &first, &last)) {
        cmd_error(cmd, "--join-spans: no sample carries the labels tid and time_ns that joining by thread and "
                       "time needs (`ignis record --spans SRC` writes them)");
        return 1;
    }
    ig_thread_spans spans = {0};
    ig_span_join_stats st;
    ignis_profile *q = NULL;
    if (thread_spans(src, first, last, &spans, &err) == 0)
        q = ig_span_join_threads(*p, &spans, &st, &err);
    uint64_t no_thread = spans.without_thread, bad_thread = spans.bad_thread, unplaceable = spans.unplaceable;
    ig_thread_spans_free(&spans);
    if (!q) {
        cmd_error(cmd, "%s: %s", what, err.msg);
        return 1;
    }
    fprintf(stderr,
            "ignis %s: %s: %" PRIu64 " of %" PRIu64 " samples joined to their thread's span by time; %" PRIu64
            " labelled already (kept), %" PRIu64 " in no span, %" PRIu64 " without tid or time; spans skipped: %" PRIu64
            " without thread.id, %" PRIu64 " whose thread.id is no thread id, %" PRIu64
            " of no duration or with bad ids\n",
            cmd, what, st.joined, st.samples, st.had_span, st.outside, st.no_time, no_thread, bad_thread,
            unplaceable);
    ignis_profile_free(*p);
    *p = q;
    return 0;
}
