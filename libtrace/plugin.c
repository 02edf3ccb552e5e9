/*
 * libtrace/plugin.c — the public way to plug in exporters and span
 * processors (include/ignis/trace.h, "Custom exporters and span
 * processors").
 *
 * A custom exporter is an ig_exporter (libtrace/export.h) whose export
 * calls the application's callback with the same array of span records
 * the built-in exporters get (the public ignis_span_data is ig_span_data,
 * read through libtrace/spandata.c), and counts the spans as exported or
 * failed from the result.  Batch and simple processors around it are the
 * SDK's own (batch.c), so a custom exporter gets the same queue, the same
 * export thread and the same counters as OTLP.  A callback processor is
 * a batch.c processor of kind IG_PROC_CALLBACKS.
 *
 * Options structs are read libbpf-style: only the first `sz` bytes come
 * from the caller, the rest is zero, so a program built against an older
 * (smaller) struct keeps working when fields are added.
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Copies the caller's options struct of `sz` bytes into `dst` (`size`
 * bytes, zeroed first); false when sz is smaller than `need`. */
static bool read_opts(void *dst, size_t size, const void *src, size_t sz, size_t need)
{
    memset(dst, 0, size);
    if (!src || sz < need)
        return false;
    memcpy(dst, src, sz < size ? sz : size);
    return true;
}

#define OPTS_NEED(T, field) (offsetof(T, field) + sizeof(((T *)0)->field))

struct ignis_span_exporter {
    ig_exporter base;
    ignis_exporter_options o;
    char *name;
    bool given; /* to a processor, which owns it */
};

static int custom_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    ignis_span_exporter *x = (ignis_span_exporter *)e;
    ignis_export_result r = x->o.export_spans(x->o.arg, spans, n, timeout_ms);
    atomic_fetch_add(r == IGNIS_EXPORT_SUCCESS ? &e->counters.exported : &e->counters.failed, n);
    return r == IGNIS_EXPORT_SUCCESS ? IG_EXPORT_OK : IG_EXPORT_FAILED;
}

static int custom_flush(ig_exporter *e, int timeout_ms)
{
    ignis_span_exporter *x = (ignis_span_exporter *)e;
    return x->o.force_flush ? x->o.force_flush(x->o.arg, timeout_ms) : 0;
}

static void custom_destroy(ig_exporter *e)
{
    ignis_span_exporter *x = (ignis_span_exporter *)e;
    if (x->o.shutdown)
        x->o.shutdown(x->o.arg);
    free(x->name);
    free(x);
}

ignis_span_exporter *ignis_span_exporter_new(const ignis_exporter_options *o)
{
    ignis_exporter_options opts;
    if (!read_opts(&opts, sizeof opts, o, o ? o->sz : 0, OPTS_NEED(ignis_exporter_options, export_spans)) ||
        !opts.export_spans)
        return NULL;
    ignis_span_exporter *x = ig_xcalloc(1, sizeof *x);
    x->o = opts;
    x->name = ig_xstrdup(opts.name ? opts.name : "custom");
    x->base.name = x->name;
    x->base.export_spans = custom_export;
    x->base.force_flush = custom_flush;
    x->base.destroy = custom_destroy;
    return x;
}

void ignis_span_exporter_free(ignis_span_exporter *e)
{
    if (e && e->given) {
        ig_tlog(IGNIS_LOG_WARN, "ignis_span_exporter_free: exporter \"%s\" belongs to a processor; not freed", e->name);
        return;
    }
    if (e)
        custom_destroy(&e->base);
}

/* An exporter goes to one processor; NULL when it already went to one. */
static ig_exporter *take_exporter(ignis_span_exporter *e)
{
    if (!e)
        return NULL;
    if (e->given) {
        ig_tlog(IGNIS_LOG_WARN, "exporter \"%s\" was already given to a processor", e->name);
        return NULL;
    }
    e->given = true;
    return &e->base;
}

ignis_span_processor *ignis_batch_span_processor_new(ignis_span_exporter *e, const ignis_batch_options *o)
{
    ig_exporter *x = take_exporter(e);
    if (!x)
        return NULL;
    ignis_batch_options def = {5000, 30000, 2048, 512};
    return ig_batch_processor_new(x, o ? o : &def);
}

ignis_span_processor *ignis_simple_span_processor_new(ignis_span_exporter *e, int export_timeout_ms)
{
    ig_exporter *x = take_exporter(e);
    return x ? ig_simple_processor_new(x, export_timeout_ms) : NULL;
}

ignis_span_processor *ignis_span_processor_new(const ignis_processor_options *o)
{
    ignis_processor_options opts;
    if (!read_opts(&opts, sizeof opts, o, o ? o->sz : 0, OPTS_NEED(ignis_processor_options, arg)))
        return NULL;
    return ig_callback_processor_new(&opts);
}

static void free_processor_cb(void *p) { ig_processor_free(p); }

void ignis_span_processor_free(ignis_span_processor *p)
{
    if (!p)
        return;
    if (ig_processor_given(p)) {
        ig_tlog(IGNIS_LOG_WARN, "ignis_span_processor_free: the processor belongs to a provider; not freed");
        return;
    }
    if (ig_processor_shutdown(p, 30000) < 0 && ig_processor_abandoned(p) &&
        !ig_processor_hand_over(p, free_processor_cb, p))
        return; /* a stuck export thread frees it if it ever returns (simple: leaked) */
    ig_processor_free(p);
}
