/*
 * viewer/tdetails.c — the span details page of the trace viewer.
 *
 * A span's details are read once (ig_store_span_details_load) and turned
 * into lines of text: the span itself (ids, kind, parent and why it is
 * drawn where it is, timing, status), its attributes, events (times from
 * the span's start), links, resource and scope.  A "key  value" line knows
 * the width of its key so the renderer can dim it; values longer than
 * 2 KiB (a 1 MB attribute) are cut with their length noted.  A link line
 * remembers its link: Enter follows it to the linked span, in the trace
 * page below when the link stays in that trace, else in a new trace page;
 * whether the linked trace is stored is looked up when the page is built,
 * so a dangling link says so before anyone presses Enter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/arena.h"
#include "utils/strbuf.h"
#include "viewer/layout.h"
#include "viewer/tpages.h"

typedef struct lines_builder {
    ig_tspan *sp;
    size_t cap;
} lines_builder;

enum { VALUE_SHOWN_MAX = 2048 };

static ig_tline *line_add(lines_builder *b, uint8_t style, const char *text)
{
    ig_tspan *sp = b->sp;
    if (sp->nlines == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        sp->lines = ig_xrealloc(sp->lines, b->cap * sizeof *sp->lines);
    }
    ig_tline *l = &sp->lines[sp->nlines++];
    *l = (ig_tline){ig_arena_strdup(sp->arena, text), style, -1, 0};
    return l;
}

static void line_printf(lines_builder *b, uint8_t style, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line_printf(lines_builder *b, uint8_t style, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    line_add(b, style, buf);
}

/* "  key    value" with the key padded to key_width; long values are cut. */
static void line_kv(lines_builder *b, int indent, int key_width, const char *key, const char *value, size_t len)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_printf(&sb, "%*s%-*s  ", indent, "", key_width, key);
    int kw = (int)ig_utf8_len(sb.data);
    size_t shown = len > VALUE_SHOWN_MAX ? VALUE_SHOWN_MAX : len;
    while (shown < len && shown > 0 && ((unsigned char)value[shown] & 0xc0) == 0x80)
        shown--; /* do not cut a UTF-8 sequence */
    ig_sb_append(&sb, value, shown);
    if (shown < len)
        ig_sb_printf(&sb, " ... (%zu bytes)", len);
    ig_tline *l = line_add(b, IG_ST_NORMAL, sb.data);
    l->key_width = kw;
    ig_sb_free(&sb);
}

static void lines_attrs(lines_builder *b, int indent, const ig_store_attrs *a)
{
    int kw = 0;
    for (size_t i = 0; i < a->n; i++) {
        int n = (int)ig_utf8_len(a->kv[i].key);
        if (n > kw)
            kw = n;
    }
    if (kw > 32)
        kw = 32;
    for (size_t i = 0; i < a->n; i++)
        line_kv(b, indent, kw, a->kv[i].key, a->kv[i].value, a->kv[i].value_len);
    if (a->dropped)
        line_printf(b, IG_ST_DIM, "%*s(%u dropped by the sender)", indent, "", a->dropped);
}

static const char *kind_name(uint8_t kind)
{
    static const char *names[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
    return kind < 6 ? names[kind] : "unspecified";
}

static void lines_span(lines_builder *b, const ig_ttrace *t, uint32_t i)
{
    const ig_store_span *sp = &t->trace.spans[i];
    const ig_wf_node *nd = &t->wf.nodes[i];
    char id[17], pid[17], d[32], at[32];
    ig_hex(sp->span_id, 8, id);
    ig_hex(sp->parent_span_id, 8, pid);
    ig_format_duration(sp->end_ns - sp->start_ns, d, sizeof d);
    uint64_t t0 = t->zoom_from[0];
    ig_format_duration(sp->start_ns >= t0 ? sp->start_ns - t0 : 0, at, sizeof at);
    line_printf(b, IG_ST_TABLE_HEADER, "Span %s", sp->name);
    const char *kv[][2] = {{"service", sp->service}, {"span id", id}, {"kind", kind_name(sp->kind)}};
    for (size_t k = 0; k < 3; k++)
        line_kv(b, 2, 12, kv[k][0], kv[k][1], strlen(kv[k][1]));
    char buf[256];
    if (sp->parent_state == IG_PARENT_NONE)
        snprintf(buf, sizeof buf, "none (a root)");
    else if (nd->flags & IG_WF_ORPHAN)
        snprintf(buf, sizeof buf, "%s never arrived: shown under the root", pid);
    else if (nd->flags & IG_WF_CYCLE)
        snprintf(buf, sizeof buf, "%s closes a loop of parents: cut, shown under the root", pid);
    else
        snprintf(buf, sizeof buf, "%s %s", pid, t->trace.spans[nd->parent].name);
    line_kv(b, 2, 12, "parent", buf, strlen(buf));
    if (nd->flags & IG_WF_SKEW) {
        const ig_store_span *pp = &t->trace.spans[nd->parent];
        char e[32];
        if (sp->start_ns < pp->start_ns) {
            ig_format_duration(pp->start_ns - sp->start_ns, e, sizeof e);
            snprintf(buf, sizeof buf, "starts %s before its parent (clock skew?)", e);
        } else {
            ig_format_duration(sp->end_ns - pp->end_ns, e, sizeof e);
            snprintf(buf, sizeof buf, "ends %s after its parent (clock skew?)", e);
        }
        line_kv(b, 2, 12, "timing", buf, strlen(buf));
    }
    snprintf(buf, sizeof buf, "+%s from the trace start, lasts %s", at, d);
    line_kv(b, 2, 12, "time", buf, strlen(buf));
    snprintf(buf, sizeof buf, "%s%s%s", sp->status_code == 2 ? "ERROR" : sp->status_code == 1 ? "OK" : "unset",
             *sp->status_message ? ": " : "", sp->status_message);
    line_kv(b, 2, 12, "status", buf, strlen(buf));
    if (sp->status_code == 2)
        b->sp->lines[b->sp->nlines - 1].style = IG_ST_ERROR;
    if (*b->sp->d.trace_state)
        line_kv(b, 2, 12, "trace state", b->sp->d.trace_state, strlen(b->sp->d.trace_state));
    if (nd->flags & IG_WF_CRITICAL)
        line_kv(b, 2, 12, "critical", "on the critical path", 20);
}

static void lines_events(lines_builder *b, const ig_ttrace *t, uint32_t i)
{
    const ig_store_span_details *d = &b->sp->d;
    line_add(b, IG_ST_NORMAL, "");
    line_printf(b, IG_ST_TABLE_HEADER, "Events (%zu)", d->nevents);
    uint64_t t0 = t->trace.spans[i].start_ns;
    for (size_t e = 0; e < d->nevents; e++) {
        char at[32];
        const ig_store_event_details *ev = &d->events[e];
        ig_format_duration(ev->time_ns >= t0 ? ev->time_ns - t0 : t0 - ev->time_ns, at, sizeof at);
        line_printf(b, IG_ST_NORMAL, "  %s%s  %s", ev->time_ns >= t0 ? "+" : "-", at, ev->name);
        lines_attrs(b, 6, &ev->attrs);
    }
    if (d->dropped_events)
        line_printf(b, IG_ST_DIM, "  (%u dropped by the sender)", d->dropped_events);
}

static void lines_links(ig_tview *v, lines_builder *b)
{
    ig_tspan *sp = b->sp;
    const ig_store_span_details *d = &sp->d;
    line_add(b, IG_ST_NORMAL, "");
    line_printf(b, IG_ST_TABLE_HEADER, "Links (%zu)", d->nlinks);
    sp->link_stored = ig_xcalloc(d->nlinks ? d->nlinks : 1, sizeof *sp->link_stored);
    sp->link_trace = ig_xcalloc(d->nlinks ? d->nlinks : 1, sizeof *sp->link_trace);
    for (size_t k = 0; k < d->nlinks; k++) {
        const ig_store_link *l = &d->links[k];
        char tid[33], sid[17];
        ig_hex(l->trace_id, 16, tid);
        ig_hex(l->span_id, 8, sid);
        ig_err err;
        int found = ig_store_find_trace(v->store, l->trace_id, &sp->link_trace[k], &err);
        sp->link_stored[k] = found == 1;
        bool same = !memcmp(l->trace_id, sp->trace_id, 16);
        line_printf(b, found == 1 ? IG_ST_NORMAL : IG_ST_DIM, "  -> trace %s span %s  %s", tid, sid,
                    found == 1 ? (same ? "(this trace: Enter selects the span)" : "(Enter opens it)")
                               : "(not in the store)");
        sp->lines[sp->nlines - 1].link = (int32_t)k;
        if (*l->trace_state)
            line_kv(b, 6, 11, "trace state", l->trace_state, strlen(l->trace_state));
        lines_attrs(b, 6, &l->attrs);
    }
    if (d->dropped_links)
        line_printf(b, IG_ST_DIM, "  (%u dropped by the sender)", d->dropped_links);
}

static void lines_resource(lines_builder *b)
{
    const ig_store_span_details *d = &b->sp->d;
    line_add(b, IG_ST_NORMAL, "");
    line_printf(b, IG_ST_TABLE_HEADER, "Resource (%s)", d->service);
    lines_attrs(b, 2, &d->resource);
    if (*d->resource_schema_url)
        line_kv(b, 2, 10, "schema url", d->resource_schema_url, strlen(d->resource_schema_url));
    line_add(b, IG_ST_NORMAL, "");
    line_printf(b, IG_ST_TABLE_HEADER, "Scope %s%s%s", *d->scope_name ? d->scope_name : "(unnamed)",
                *d->scope_version ? " " : "", d->scope_version);
    lines_attrs(b, 2, &d->scope);
}

int ig_tdetails_open(ig_tview *v)
{
    int32_t s = ig_tview_selected_span(v);
    if (s < 0)
        return -1;
    const ig_ttrace *t = &ig_tview_page(v)->trace;
    ig_tpage *p = ig_tpage_new(IG_TP_SPAN);
    ig_err err;
    if (ig_store_span_details_load(v->store, t->trace.spans[s].id, &p->span.d, &err) < 0) {
        ig_tpage_free(p);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    p->span.arena = ig_arena_new();
    memcpy(p->span.trace_id, t->trace.trace_id, 16);
    lines_builder b = {&p->span, 0};
    lines_span(&b, t, (uint32_t)s);
    line_add(&b, IG_ST_NORMAL, "");
    line_printf(&b, IG_ST_TABLE_HEADER, "Attributes (%zu)", p->span.d.attrs.n);
    lines_attrs(&b, 2, &p->span.d.attrs);
    lines_events(&b, t, (uint32_t)s);
    lines_links(v, &b);
    lines_resource(&b);
    ig_tpage_push(v, p);
    return 0;
}

/* Enter on a link line: the linked trace, at the linked span. */
int ig_tdetails_follow_link(ig_tview *v, ig_tspan *sp)
{
    if (sp->sel >= sp->nlines || sp->lines[sp->sel].link < 0)
        return -1;
    int32_t k = sp->lines[sp->sel].link;
    const ig_store_link *l = &sp->d.links[k];
    char tid[33];
    ig_hex(l->trace_id, 16, tid);
    ig_err err;
    int64_t id;
    int found = ig_store_find_trace(v->store, l->trace_id, &id, &err);
    if (found < 0) {
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    if (!found) {
        ig_tview_message(v, 1, "linked trace %s is not in the store", tid);
        return -1;
    }
    ig_tpage *below = v->npages >= 2 ? v->pages[v->npages - 2] : NULL;
    if (below && below->kind == IG_TP_TRACE && below->trace.trace.id == id) {
        int32_t s = ig_waterfall_find_span(&below->trace.wf, l->span_id);
        if (s >= 0) { /* a link within the trace shown below: select the span there */
            ig_tpage_pop(v);
            ig_ttrace_select(v, &below->trace, s);
            return 0;
        }
    }
    return ig_tview_open_trace(v, id, l->span_id);
}

void ig_tdetails_free(ig_tspan *sp)
{
    ig_store_span_details_free(&sp->d);
    free(sp->lines);
    free(sp->link_stored);
    free(sp->link_trace);
    ig_arena_destroy(sp->arena);
}
