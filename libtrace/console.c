/*
 * libtrace/console.c — the console exporter: one readable line per span.
 *
 *   span trace=<32 hex> id=<16 hex> parent=<16 hex|-> name="GET /x"
 *        kind=server dur=1.234ms status=error("boom") attrs={k=v,...}
 *        events=[name@+0.5ms{...}] links=1 dropped=a/e/l
 *
 * (on one line).  Lines are assembled in memory and written with one
 * fwrite per batch, so concurrent output from other code does not
 * interleave inside a line.
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <inttypes.h>
#include <stdlib.h>

typedef struct console_exporter {
    ig_exporter base;
    FILE *out;
} console_exporter;

static const char *kind_name(uint8_t k)
{
    static const char *names[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    return k < 6 ? names[k] : "?";
}

static void put_quoted(ig_strbuf *sb, const char *s)
{
    ig_sb_putc(sb, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            ig_sb_printf(sb, "\\%c", c);
        else if (c < 0x20)
            ig_sb_printf(sb, "\\x%02x", c);
        else
            ig_sb_putc(sb, (char)c);
    }
    ig_sb_putc(sb, '"');
}

static void put_value(ig_strbuf *sb, const ig_attr *a)
{
    switch (a->type) {
    case IG_ATTR_STRING: put_quoted(sb, a->v.s); return;
    case IG_ATTR_BOOL: ig_sb_puts(sb, a->v.b ? "true" : "false"); return;
    case IG_ATTR_INT: ig_sb_printf(sb, "%" PRId64, a->v.i); return;
    case IG_ATTR_DOUBLE: ig_sb_printf(sb, "%g", a->v.d); return;
    }
    ig_sb_putc(sb, '[');
    for (uint32_t i = 0; i < a->len; i++) {
        if (i)
            ig_sb_putc(sb, ',');
        switch (a->type) {
        case IG_ATTR_STRING_ARRAY: put_quoted(sb, a->v.sa[i]); break;
        case IG_ATTR_BOOL_ARRAY: ig_sb_puts(sb, a->v.ba[i] ? "true" : "false"); break;
        case IG_ATTR_INT_ARRAY: ig_sb_printf(sb, "%" PRId64, a->v.ia[i]); break;
        case IG_ATTR_DOUBLE_ARRAY: ig_sb_printf(sb, "%g", a->v.da[i]); break;
        }
    }
    ig_sb_putc(sb, ']');
}

static void put_attrs(ig_strbuf *sb, const ig_attr *a, uint32_t n)
{
    ig_sb_putc(sb, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            ig_sb_putc(sb, ',');
        ig_sb_printf(sb, "%s=", a[i].key);
        put_value(sb, &a[i]);
    }
    ig_sb_putc(sb, '}');
}

static void format_span(ig_strbuf *sb, const ig_span_data *d)
{
    char tid[33], sid[17], pid[17];
    ignis_trace_id_hex(d->trace_id, tid);
    ignis_span_id_hex(d->span_id, sid);
    ignis_span_id_hex(d->parent_span_id, pid);
    ig_sb_printf(sb, "span trace=%s id=%s parent=%s name=", tid, sid, d->has_parent ? pid : "-");
    put_quoted(sb, d->name);
    ig_sb_printf(sb, " kind=%s start=%" PRIu64 " dur=%.3fms", kind_name(d->kind), d->start_ns,
                 (double)(d->end_ns - d->start_ns) / 1e6);
    static const char *st[] = {"unset", "ok", "error"};
    ig_sb_printf(sb, " status=%s", d->status_code < 3 ? st[d->status_code] : "?");
    if (d->status_message) {
        ig_sb_putc(sb, '(');
        put_quoted(sb, d->status_message);
        ig_sb_putc(sb, ')');
    }
    if (d->nattrs) {
        ig_sb_puts(sb, " attrs=");
        put_attrs(sb, d->attrs, d->nattrs);
    }
    if (d->nevents) {
        ig_sb_puts(sb, " events=[");
        for (uint32_t i = 0; i < d->nevents; i++) {
            const ig_event *e = &d->events[i];
            if (i)
                ig_sb_putc(sb, ',');
            ig_sb_printf(sb, "%s@+%.3fms", e->name, (double)(int64_t)(e->time_ns - d->start_ns) / 1e6);
            if (e->nattrs)
                put_attrs(sb, e->attrs, e->nattrs);
        }
        ig_sb_putc(sb, ']');
    }
    if (d->nlinks)
        ig_sb_printf(sb, " links=%u", d->nlinks);
    if (d->dropped_attrs || d->dropped_events || d->dropped_links)
        ig_sb_printf(sb, " dropped=%u/%u/%u", d->dropped_attrs, d->dropped_events, d->dropped_links);
    const ig_scope *sc = d->scope;
    if (sc && sc->name && *sc->name)
        ig_sb_printf(sb, " scope=%s", sc->name);
    ig_sb_putc(sb, '\n');
}

static int console_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    (void)timeout_ms;
    console_exporter *c = (console_exporter *)e;
    ig_strbuf sb = IG_STRBUF_INIT;
    for (size_t i = 0; i < n; i++)
        format_span(&sb, spans[i]);
    size_t w = sb.len ? fwrite(sb.data, 1, sb.len, c->out) : 0;
    fflush(c->out);
    bool ok = w == sb.len;
    ig_sb_free(&sb);
    atomic_fetch_add(ok ? &e->counters.exported : &e->counters.failed, n);
    return ok ? IG_EXPORT_OK : IG_EXPORT_FAILED;
}

static int console_flush(ig_exporter *e, int timeout_ms)
{
    (void)timeout_ms;
    return fflush(((console_exporter *)e)->out) == 0 ? 0 : -1;
}

static void console_destroy(ig_exporter *e)
{
    fflush(((console_exporter *)e)->out);
    free(e);
}

ig_exporter *ig_console_exporter_new(FILE *out)
{
    console_exporter *c = ig_xcalloc(1, sizeof *c);
    c->base.name = "console";
    c->base.export_spans = console_export;
    c->base.force_flush = console_flush;
    c->base.destroy = console_destroy;
    c->out = out;
    return &c->base;
}
