/*
 * libtrace/provider.c — tracer providers, options, tracers and counters.
 *
 * A provider owns everything a span needs besides its own block: the
 * resource, sampler, limits, the processor and exporter, its tracers (one
 * per instrumentation scope, created under a mutex and never freed before
 * the provider) and the counters.  Hot counters live in per-thread stripes
 * (see internal.h) and are summed when read.
 *
 * Options come from ignis_provider_options_init (spec defaults) or
 * ignis_provider_options_from_env (defaults overridden by OTEL_*); each
 * invalid environment value is warned about and defaulted.
 *
 * Fork safety: every live provider is in a registry; one pthread_atfork
 * handler set locks the registry, the thread-cache registry and each
 * processor before fork() and resets them in the child (empty queue, no
 * export thread until the next span ends, exporter->after_fork_child, the
 * resource's process.pid set to the child's, the process context published
 * again for the child, counters from zero: the child's are its own, and
 * the end of a span its parent started is neither counted nor exported
 * there, see ig_fork_gen).
 */
#include "libtrace/internal.h"
#include "exporters/otlp.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- options -------------------------------------------------------------------- */

void ignis_provider_options_init(ignis_provider_options *o)
{
    memset(o, 0, sizeof *o);
    o->sampler = IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON;
    o->sampler_ratio = 1.0;
    o->exporter = IGNIS_EXPORTER_OTLP;
    o->processor = IGNIS_PROCESSOR_BATCH;
    o->batch = (ignis_batch_options){5000, 30000, 2048, 512};
    o->limits = (ignis_span_limits){128, -1, 128, 128, 128, 128};
    o->thread_context = true;
    o->thread_attributes = true;
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return false;
    if (!strcasecmp(v, "true") || !strcmp(v, "1"))
        return true;
    if (strcasecmp(v, "false") && strcmp(v, "0"))
        ig_tlog(IGNIS_LOG_WARN, "%s: invalid boolean \"%.32s\"; using false", name, v);
    return false;
}

/* A boolean that defaults to true: true unless set to 0/false. */
static bool env_off(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return false;
    if (!strcasecmp(v, "false") || !strcmp(v, "0"))
        return true;
    if (strcasecmp(v, "true") && strcmp(v, "1"))
        ig_tlog(IGNIS_LOG_WARN, "%s: invalid boolean \"%.32s\"; using true", name, v);
    return false;
}

static int env_limit(const char *specific, const char *general, int def)
{
    int g = ig_env_int(general, def, 0);
    return ig_env_int(specific, g, 0);
}

void ignis_provider_options_from_env(ignis_provider_options *o)
{
    ignis_provider_options_init(o);
    o->disabled = env_true("OTEL_SDK_DISABLED");
    const char *svc = getenv("OTEL_SERVICE_NAME");
    o->service_name = svc && *svc ? svc : NULL;
    o->resource_attributes = getenv("OTEL_RESOURCE_ATTRIBUTES");
    ig_sampler_from_strings(getenv("OTEL_TRACES_SAMPLER"), getenv("OTEL_TRACES_SAMPLER_ARG"), &o->sampler,
                            &o->sampler_ratio);
    o->keep_errors = env_true("IGNIS_KEEP_ERRORS");
    o->thread_context = !env_off("IGNIS_THREAD_CONTEXT");
    o->thread_attributes = !env_off("IGNIS_THREAD_ATTRIBUTES");
    const char *ex = getenv("OTEL_TRACES_EXPORTER");
    if (ex && *ex) {
        const char *p;
        size_t n = ig_trim(ex, strlen(ex), &p);
        const char *comma = memchr(p, ',', n);
        if (comma) {
            ig_tlog(IGNIS_LOG_WARN, "OTEL_TRACES_EXPORTER: only one exporter is supported; using the first");
            n = ig_trim(p, (size_t)(comma - p), &p);
        }
        if (n == 4 && !memcmp(p, "otlp", 4))
            o->exporter = IGNIS_EXPORTER_OTLP;
        else if (n == 7 && !memcmp(p, "console", 7))
            o->exporter = IGNIS_EXPORTER_CONSOLE;
        else if (n == 4 && !memcmp(p, "none", 4))
            o->exporter = IGNIS_EXPORTER_NONE;
        else if (n == 9 && !memcmp(p, "otlp_file", 9))
            o->exporter = IGNIS_EXPORTER_OTLP_FILE;
        else
            ig_tlog(IGNIS_LOG_WARN, "OTEL_TRACES_EXPORTER: unknown exporter \"%.32s\"; using otlp", ex);
    }
    const char *file = getenv("IGNIS_TRACES_FILE");
    o->file_path = file && *file ? file : NULL;
    const char *proc = getenv("IGNIS_TRACES_PROCESSOR");
    if (proc && !strcmp(proc, "simple"))
        o->processor = IGNIS_PROCESSOR_SIMPLE;
    else if (proc && *proc && strcmp(proc, "batch"))
        ig_tlog(IGNIS_LOG_WARN, "IGNIS_TRACES_PROCESSOR: unknown processor \"%.32s\"; using batch", proc);
    o->batch.schedule_delay_ms = ig_env_int("OTEL_BSP_SCHEDULE_DELAY", 5000, 0);
    o->batch.export_timeout_ms = ig_env_int("OTEL_BSP_EXPORT_TIMEOUT", 30000, 0);
    o->batch.max_queue_size = ig_env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1);
    o->batch.max_export_batch_size = ig_env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1);
    if (o->batch.max_export_batch_size > o->batch.max_queue_size) {
        ig_tlog(IGNIS_LOG_WARN, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE %d exceeds OTEL_BSP_MAX_QUEUE_SIZE %d; using %d",
                o->batch.max_export_batch_size, o->batch.max_queue_size, o->batch.max_queue_size);
        o->batch.max_export_batch_size = o->batch.max_queue_size;
    }
    o->limits.attribute_count = env_limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
    int vlen = ig_env_int("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", -1, 0);
    o->limits.attribute_value_length = ig_env_int("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", vlen, 0);
    o->limits.event_count = ig_env_int("OTEL_SPAN_EVENT_COUNT_LIMIT", 128, 0);
    o->limits.link_count = ig_env_int("OTEL_SPAN_LINK_COUNT_LIMIT", 128, 0);
    o->limits.event_attribute_count = env_limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
    o->limits.link_attribute_count = env_limit("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
}

/* ---- fork registry --------------------------------------------------------------------- */

static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static ignis_tracer_provider *g_live;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_live_mu);
    for (ignis_tracer_provider *p = g_live; p; p = p->next_live)
        for (size_t i = 0; i < p->nqueues; i++)
            ig_processor_atfork_prepare(p->queues[i]);
    ig_tcache_atfork_prepare();
}

static void atfork_parent(void)
{
    ig_tcache_atfork_parent();
    for (ignis_tracer_provider *p = g_live; p; p = p->next_live)
        for (size_t i = 0; i < p->nqueues; i++)
            ig_processor_atfork_parent(p->queues[i]);
    pthread_mutex_unlock(&g_live_mu);
}

/* The child's spans carry its own process.pid (unless the application set
 * the attribute itself: then it is left alone). */
static void update_pid(ignis_tracer_provider *tp, int64_t pid)
{
    ig_attr *a = (ig_attr *)ig_attr_set_find(&tp->resource_attrs, "process.pid");
    if (a && a->type == IG_ATTR_INT && a->v.i == tp->detected_pid) {
        a->v.i = pid;
        tp->detected_pid = pid;
    }
}

static ignis_tracer_provider *g_ctx_owner; /* whose resource the process context shows (g_live_mu) */

static void atfork_child(void)
{
    ig_tcache_atfork_child();
    int64_t pid = (int64_t)getpid();
    for (ignis_tracer_provider *p = g_live; p; p = p->next_live) {
        pthread_mutex_init(&p->lock, NULL);
        update_pid(p, pid);
        /* the child's counters are its own (its processors reset theirs) */
        memset(p->stripes, 0, IG_NSTRIPES * sizeof *p->stripes);
        atomic_store(&p->dropped_late, 0);
        for (size_t i = 0; i < p->nqueues; i++)
            ig_processor_atfork_child(p->queues[i]);
    }
    /* The mapping is MADV_DONTFORK: the child publishes its own, with its pid. */
    ig_procctx_forget();
    if (g_ctx_owner)
        ig_procctx_publish(&g_ctx_owner->resource_attrs);
    pthread_mutex_init(&g_live_mu, NULL);
}

static void register_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

/* The first live provider that publishes owns the process context (a
 * singleton, OTEP 4719); when it goes, the next one takes over, and with
 * none left the mapping is dropped.  Thread records stay on for good. */
static void live_add(ignis_tracer_provider *tp)
{
    pthread_once(&g_atfork_once, register_atfork);
    pthread_mutex_lock(&g_live_mu);
    tp->next_live = g_live;
    g_live = tp;
    if (tp->publishes_ctx && !g_ctx_owner && ig_procctx_publish(&tp->resource_attrs) == 0)
        g_ctx_owner = tp;
    pthread_mutex_unlock(&g_live_mu);
    if (tp->publishes_ctx)
        ig_tctx_enable();
}

static void live_remove(ignis_tracer_provider *tp)
{
    pthread_mutex_lock(&g_live_mu);
    for (ignis_tracer_provider **pp = &g_live; *pp; pp = &(*pp)->next_live)
        if (*pp == tp) {
            *pp = tp->next_live;
            break;
        }
    if (g_ctx_owner == tp) {
        g_ctx_owner = NULL;
        for (ignis_tracer_provider *p = g_live; p && !g_ctx_owner; p = p->next_live)
            if (p->publishes_ctx && ig_procctx_publish(&p->resource_attrs) == 0)
                g_ctx_owner = p;
        if (!g_ctx_owner)
            ig_procctx_drop();
    }
    pthread_mutex_unlock(&g_live_mu);
}

/* ---- provider ----------------------------------------------------------------------------- */

static ig_exporter *make_exporter(const ignis_provider_options *o, char *errbuf, size_t errlen)
{
    ig_err err = {{0}};
    ig_exporter *e = NULL;
    switch (o->exporter) {
    case IGNIS_EXPORTER_NONE:
        return NULL;
    case IGNIS_EXPORTER_CONSOLE:
        return ig_console_exporter_new(stdout);
    case IGNIS_EXPORTER_OTLP_FILE:
        e = ig_otlp_file_exporter_new(o->file_path ? o->file_path : "traces.jsonl", &err);
        break;
    case IGNIS_EXPORTER_OTLP:
        e = ig_otlp_http_exporter_from_env(&err);
        break;
    }
    if (!e) {
        const char *why = err.msg[0] ? err.msg : "cannot create the trace exporter";
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", why);
        else /* nowhere else to say it: a silent NULL would turn tracing off unseen */
            ig_tlog(IGNIS_LOG_ERROR, "no tracer provider: %s", why);
    }
    return e;
}

/* Sorts the given processors into hooks (callbacks) and queues
 * (batch/simple), the built-in one last. */
static void attach_processors(ignis_tracer_provider *tp, ig_processor *const *procs, size_t n)
{
    tp->queues = ig_xcalloc(n + 1, sizeof *tp->queues);
    tp->hooks = ig_xcalloc(n + 1, sizeof *tp->hooks);
    for (size_t i = 0; i < n; i++) {
        if (!procs[i])
            continue;
        if (ig_processor_kind(procs[i]) == IG_PROC_CALLBACKS) {
            tp->hooks[tp->nhooks++] = procs[i];
            tp->start_hooks = true;
        } else {
            tp->queues[tp->nqueues++] = procs[i];
        }
    }
    if (tp->proc)
        tp->queues[tp->nqueues++] = tp->proc;
}

static ignis_tracer_provider *provider_new(const ignis_provider_options *o, ig_exporter *e, ig_processor *const *procs,
                                           size_t n)
{
    ig_clock_setup();
    ignis_tracer_provider *tp = ig_xcalloc(1, sizeof *tp);
    ig_resource_build(&tp->resource_attrs, o);
    tp->detected_pid = (int64_t)getpid();
    tp->resource.attrs = tp->resource_attrs.attrs;
    tp->resource.nattrs = tp->resource_attrs.n;
    ig_sampler_init(&tp->sampler, o->sampler, o->sampler_ratio);
    tp->limits = o->limits;
    tp->keep_errors = o->keep_errors;
    tp->disabled = o->disabled;
    tp->thread_attrs = o->thread_attributes && (o->limits.attribute_count < 0 || o->limits.attribute_count >= 2);
    /* IGNIS_THREAD_CONTEXT=0 is the operator's switch: it wins over the option. */
    tp->publishes_ctx = o->thread_context && !o->disabled && !env_off("IGNIS_THREAD_CONTEXT");
    tp->exporter = e;
    if (e)
        tp->proc = o->processor == IGNIS_PROCESSOR_SIMPLE ? ig_simple_processor_new(e, o->batch.export_timeout_ms)
                                                          : ig_batch_processor_new(e, &o->batch);
    attach_processors(tp, procs, n);
    pthread_mutex_init(&tp->lock, NULL);
    tp->stripes = aligned_alloc(64, IG_NSTRIPES * sizeof *tp->stripes);
    if (!tp->stripes)
        abort();
    memset(tp->stripes, 0, IG_NSTRIPES * sizeof *tp->stripes);
    live_add(tp);
    ig_tlog(IGNIS_LOG_DEBUG, "provider: sampler %s ratio %g, exporter %s, keep_errors %d, %zu more processor(s)",
            ig_sampler_name(o->sampler), o->sampler_ratio, e ? e->name : "none", o->keep_errors,
            tp->nqueues + tp->nhooks - (tp->proc ? 1 : 0));
    return tp;
}

ignis_tracer_provider *ig_tracer_provider_new_with_exporter(const ignis_provider_options *o, ig_exporter *e,
                                                            char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    return provider_new(o, e, NULL, 0);
}

static void free_unused(ig_processor *const *procs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (procs[i])
            ignis_span_processor_free(procs[i]);
}

ignis_tracer_provider *ignis_tracer_provider_new_with_processors(const ignis_provider_options *o,
                                                                ignis_span_processor *const *procs, size_t n,
                                                                char *errbuf, size_t errlen)
{
    ignis_provider_options def;
    if (!o) {
        ignis_provider_options_init(&def);
        o = &def;
    }
    if (n && !procs)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (procs[i] && ig_processor_given(procs[i])) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "span processor %zu was already given to a provider", i);
            return NULL; /* it belongs to that provider: nothing is taken or freed */
        }
    ig_exporter *e = NULL;
    if (!o->disabled) {
        e = make_exporter(o, errbuf, errlen);
        if (!e && o->exporter != IGNIS_EXPORTER_NONE) {
            free_unused(procs, n); /* taken over, as documented */
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (procs[i])
            ig_processor_give(procs[i]);
    return provider_new(o, e, procs, n);
}

ignis_tracer_provider *ignis_tracer_provider_new(const ignis_provider_options *o, char *errbuf, size_t errlen)
{
    return ignis_tracer_provider_new_with_processors(o, NULL, 0, errbuf, errlen);
}

ignis_tracer_provider *ignis_tracer_provider_from_env(char *errbuf, size_t errlen)
{
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    return ignis_tracer_provider_new(&o, errbuf, errlen);
}

void ignis_tracer_provider_counters(ignis_tracer_provider *tp, ignis_trace_counters *out)
{
    memset(out, 0, sizeof *out);
    if (!tp)
        return;
    for (unsigned i = 0, n = ig_tcache_stripes_used(); i < n; i++) {
        const ig_stripe *st = &tp->stripes[i];
        out->spans_started += atomic_load_explicit(&st->started, memory_order_relaxed);
        out->spans_sampled += atomic_load_explicit(&st->sampled, memory_order_relaxed);
        out->spans_ended += atomic_load_explicit(&st->ended, memory_order_relaxed);
        out->spans_kept_errors += atomic_load_explicit(&st->kept, memory_order_relaxed);
        /* exporter `none`: discarded, counted as exported */
        out->spans_exported += atomic_load_explicit(&st->discarded, memory_order_relaxed);
    }
    out->spans_dropped = atomic_load(&tp->dropped_late);
    for (size_t i = 0; i < tp->nqueues; i++) {
        uint64_t c[4];
        out->spans_dropped += ig_processor_dropped(tp->queues[i]);
        ig_processor_counters(tp->queues[i], c);
        out->spans_exported += c[0];
        out->export_failures += c[1];
        out->export_rejected += c[2];
        out->export_retries += c[3];
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int remaining_ms(uint64_t deadline)
{
    uint64_t now = mono_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Runs op on every processor (hooks first) within one deadline. */
static int each_processor(ignis_tracer_provider *tp, int timeout_ms, int (*op)(ig_processor *, int))
{
    uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    int rc = 0;
    for (size_t i = 0; i < tp->nhooks; i++)
        if (op(tp->hooks[i], remaining_ms(deadline)) < 0)
            rc = -1;
    for (size_t i = 0; i < tp->nqueues; i++)
        if (op(tp->queues[i], remaining_ms(deadline)) < 0)
            rc = -1;
    return rc;
}

int ignis_tracer_provider_force_flush(ignis_tracer_provider *tp, int timeout_ms)
{
    if (!tp || atomic_load(&tp->shut))
        return 0;
    return each_processor(tp, timeout_ms, ig_processor_force_flush);
}

static void log_counters(ignis_tracer_provider *tp)
{
    ignis_trace_counters c;
    ignis_tracer_provider_counters(tp, &c);
    ig_tlog(IGNIS_LOG_INFO,
            "shutdown: spans started %llu sampled %llu ended %llu kept-errors %llu exported %llu dropped %llu "
            "export failures %llu rejected %llu retries %llu",
            (unsigned long long)c.spans_started, (unsigned long long)c.spans_sampled,
            (unsigned long long)c.spans_ended, (unsigned long long)c.spans_kept_errors,
            (unsigned long long)c.spans_exported, (unsigned long long)c.spans_dropped,
            (unsigned long long)c.export_failures, (unsigned long long)c.export_rejected,
            (unsigned long long)c.export_retries);

}

int ignis_tracer_provider_shutdown(ignis_tracer_provider *tp, int timeout_ms)
{
    if (!tp)
        return 0;
    bool expected = false;
    if (!atomic_compare_exchange_strong(&tp->shut, &expected, true))
        return 0;
    int rc = each_processor(tp, timeout_ms, ig_processor_shutdown);
    if (rc < 0)
        ig_tlog(IGNIS_LOG_WARN, "shutdown: exporter did not finish within %d ms; abandoned", timeout_ms);
    log_counters(tp);
    return rc;
}

static void provider_release(ignis_tracer_provider *tp)
{
    for (size_t i = 0; i < tp->nhooks; i++)
        ig_processor_free(tp->hooks[i]);
    for (size_t i = 0; i < tp->nqueues; i++)
        ig_processor_free(tp->queues[i]);
    free(tp->hooks);
    free(tp->queues);
    for (ignis_tracer *t = tp->tracers, *n; t; t = n) {
        n = t->next;
        free(t->name);
        free(t->version);
        ig_attr_set_free(&t->scope_attrs);
        free(t);
    }
    ig_attr_set_free(&tp->resource_attrs);
    pthread_mutex_destroy(&tp->lock);
    free(tp->stripes);
    free(tp);
}

/* The last of the abandoned export threads (or the provider's owner)
 * frees the provider. */
static void provider_release_cb(void *arg)
{
    ignis_tracer_provider *tp = arg;
    if (atomic_fetch_sub(&tp->pending_release, 1) == 1)
        provider_release(tp);
}

void ignis_tracer_provider_free(ignis_tracer_provider *tp)
{
    if (!tp)
        return;
    ignis_tracer_provider_shutdown(tp, 30000);
    live_remove(tp);
    if (ignis_tracer_provider_global() == tp)
        ignis_tracer_provider_set_global(NULL);
    /* A stuck export thread may still read spans that point into tp: the
     * last one frees everything itself when (if ever) it finishes. */
    atomic_store(&tp->pending_release, 1 + (int)tp->nqueues);
    for (size_t i = 0; i < tp->nqueues; i++)
        if (!ig_processor_abandoned(tp->queues[i]) ||
            ig_processor_hand_over(tp->queues[i], provider_release_cb, tp))
            atomic_fetch_sub(&tp->pending_release, 1);
    provider_release_cb(tp);
}

/* ---- span processors at span start and end ------------------------------------- */

void ig_provider_run_start_hooks(ignis_tracer_provider *tp, ignis_span *s, const ig_sc *parent)
{
    ignis_span_context pc, *pp = NULL;
    if (parent->valid) {
        memset(&pc, 0, sizeof pc);
        memcpy(pc.trace_id, parent->trace_id, 16);
        memcpy(pc.span_id, parent->span_id, 8);
        pc.trace_flags = parent->flags;
        pc.is_remote = parent->remote;
        pc.tracestate = parent->tracestate;
        pp = &pc;
    }
    for (size_t i = 0; i < tp->nhooks; i++)
        ig_processor_started(tp->hooks[i], s, pp);
}

void ig_provider_run_end_hooks(ignis_tracer_provider *tp, const ignis_span *s)
{
    for (size_t i = 0; i < tp->nhooks; i++)
        ig_processor_ended(tp->hooks[i], s);
}

/* A span to export when there is not exactly one batch/simple processor:
 * none (exporter `none`: discarded, and counted unless callback processors
 * took it) or several (each gets a reference). */
void ig_provider_dispatch(ignis_tracer_provider *tp, ig_tcache *tc, ignis_span *s)
{
    size_t n = tp->nqueues;
    if (!n) {
        if (!tp->nhooks)
            ig_count(tc, &tp->stripes[tc->stripe].discarded);
        ig_span_unref(s);
        return;
    }
    for (size_t i = 0; i + 1 < n; i++)
        ig_processor_on_end(tp->queues[i], ignis_span_retain(s));
    ig_processor_on_end(tp->queues[n - 1], s);
}

static _Atomic(ignis_tracer_provider *) g_global;

void ignis_tracer_provider_set_global(ignis_tracer_provider *tp) { atomic_store(&g_global, tp); }
ignis_tracer_provider *ignis_tracer_provider_global(void) { return atomic_load(&g_global); }

/* ---- tracers ------------------------------------------------------------------------------------ */

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static bool same_attr(const ig_attr *x, const ignis_attribute *a)
{
    if (x->type != (uint8_t)a->type)
        return false;
    switch (a->type) {
    case IGNIS_ATTR_STRING: return !strcmp(x->v.s, a->v.s ? a->v.s : "");
    case IGNIS_ATTR_BOOL: return x->v.b == a->v.b;
    case IGNIS_ATTR_INT: return x->v.i == a->v.i;
    case IGNIS_ATTR_DOUBLE: return x->v.d == a->v.d;
    default: return false; /* arrays: treat as a distinct scope */
    }
}

static bool same_scope(const ignis_tracer *t, const char *name, const char *version, const ignis_attribute *attrs,
                       size_t n)
{
    if (!same_str(t->name, name) || !same_str(t->version, version) || t->scope_attrs.n != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const ig_attr *x = attrs[i].key ? ig_attr_set_find(&t->scope_attrs, attrs[i].key) : NULL;
        if (!x || !same_attr(x, &attrs[i]))
            return false;
    }
    return true;
}

ignis_tracer *ignis_tracer_get(ignis_tracer_provider *tp, const char *name, const char *version,
                               const ignis_attribute *attrs, size_t nattrs)
{
    if (!tp)
        return NULL;
    if (!attrs)
        nattrs = 0;
    if (!name || !*name) {
        ig_tlog(IGNIS_LOG_WARN, "ignis_tracer_get: empty instrumentation scope name");
        name = "";
    }
    pthread_mutex_lock(&tp->lock);
    ignis_tracer *t;
    for (t = tp->tracers; t; t = t->next)
        if (same_scope(t, name, version, attrs, nattrs))
            break;
    if (!t) {
        t = ig_xcalloc(1, sizeof *t);
        t->tp = tp;
        t->name = ig_xstrdup(name);
        t->version = version ? ig_xstrdup(version) : NULL;
        for (size_t i = 0; i < nattrs; i++)
            ig_attr_set_put(&t->scope_attrs, &attrs[i]);
        t->scope = (ig_scope){t->name, t->version, t->scope_attrs.attrs, t->scope_attrs.n};
        t->next = tp->tracers;
        tp->tracers = t;
    }
    pthread_mutex_unlock(&tp->lock);
    return t;
}
