/*
 * libtrace/spandata.c — the read-only span view for custom exporters and
 * span processors (ignis_span_data_*, include/ignis/trace.h).
 *
 * An ignis_span_data is the SDK's own export record (ig_span_data,
 * libtrace/export.h): the accessors read its fields and convert the
 * internal attribute form (ig_attr) to the public ignis_attribute, with
 * borrowed pointers.  Nothing is copied or allocated.
 */
#include "libtrace/internal.h"

#include <string.h>

static bool attr_out(const ig_attr *attrs, size_t n, size_t i, ignis_attribute *out)
{
    if (!out)
        return false;
    memset(out, 0, sizeof *out);
    if (!attrs || i >= n)
        return false;
    const ig_attr *a = &attrs[i];
    out->key = a->key;
    out->type = (ignis_attr_type)a->type;
    out->len = a->type >= IG_ATTR_STRING_ARRAY ? a->len : 0;
    out->v = a->v;
    return true;
}

const char *ignis_span_data_name(const ignis_span_data *d) { return d && d->name ? d->name : ""; }

void ignis_span_data_context(const ignis_span_data *d, ignis_span_context *out)
{
    memset(out, 0, sizeof *out);
    if (!d)
        return;
    memcpy(out->trace_id, d->trace_id, 16);
    memcpy(out->span_id, d->span_id, 8);
    out->trace_flags = d->flags;
    out->tracestate = d->tracestate;
}

bool ignis_span_data_parent(const ignis_span_data *d, uint8_t span_id[8], bool *remote)
{
    bool has = d && d->has_parent;
    if (span_id) {
        if (has)
            memcpy(span_id, d->parent_span_id, 8);
        else
            memset(span_id, 0, 8);
    }
    if (remote)
        *remote = has && d->parent_is_remote;
    return has;
}

ignis_span_kind ignis_span_data_kind(const ignis_span_data *d)
{
    return d ? (ignis_span_kind)d->kind : IGNIS_SPAN_KIND_INTERNAL;
}

uint64_t ignis_span_data_start_time(const ignis_span_data *d) { return d ? d->start_ns : 0; }
uint64_t ignis_span_data_end_time(const ignis_span_data *d) { return d ? d->end_ns : 0; }

ignis_status_code ignis_span_data_status(const ignis_span_data *d, const char **description)
{
    if (description)
        *description = d ? d->status_message : NULL;
    return d ? (ignis_status_code)d->status_code : IGNIS_STATUS_UNSET;
}

void ignis_span_data_dropped(const ignis_span_data *d, uint32_t *attributes, uint32_t *events, uint32_t *links)
{
    if (attributes)
        *attributes = d ? d->dropped_attrs : 0;
    if (events)
        *events = d ? d->dropped_events : 0;
    if (links)
        *links = d ? d->dropped_links : 0;
}

size_t ignis_span_data_attribute_count(const ignis_span_data *d) { return d ? d->nattrs : 0; }

bool ignis_span_data_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out)
{
    return attr_out(d ? d->attrs : NULL, d ? d->nattrs : 0, i, out);
}

size_t ignis_span_data_event_count(const ignis_span_data *d) { return d ? d->nevents : 0; }

bool ignis_span_data_event(const ignis_span_data *d, size_t i, const char **name, uint64_t *time_ns, size_t *nattrs)
{
    const ig_event *e = d && i < d->nevents ? &d->events[i] : NULL;
    if (name)
        *name = e ? e->name : NULL;
    if (time_ns)
        *time_ns = e ? e->time_ns : 0;
    if (nattrs)
        *nattrs = e ? e->nattrs : 0;
    return e != NULL;
}

bool ignis_span_data_event_attribute(const ignis_span_data *d, size_t i, size_t j, ignis_attribute *out)
{
    const ig_event *e = d && i < d->nevents ? &d->events[i] : NULL;
    return attr_out(e ? e->attrs : NULL, e ? e->nattrs : 0, j, out);
}

size_t ignis_span_data_link_count(const ignis_span_data *d) { return d ? d->nlinks : 0; }

bool ignis_span_data_link(const ignis_span_data *d, size_t i, ignis_span_context *out, size_t *nattrs)
{
    const ig_link *l = d && i < d->nlinks ? &d->links[i] : NULL;
    if (out) {
        memset(out, 0, sizeof *out);
        if (l) {
            memcpy(out->trace_id, l->trace_id, 16);
            memcpy(out->span_id, l->span_id, 8);
            out->trace_flags = l->flags;
            out->tracestate = l->tracestate;
        }
    }
    if (nattrs)
        *nattrs = l ? l->nattrs : 0;
    return l != NULL;
}

bool ignis_span_data_link_attribute(const ignis_span_data *d, size_t i, size_t j, ignis_attribute *out)
{
    const ig_link *l = d && i < d->nlinks ? &d->links[i] : NULL;
    return attr_out(l ? l->attrs : NULL, l ? l->nattrs : 0, j, out);
}

const char *ignis_span_data_scope(const ignis_span_data *d, const char **version)
{
    const ig_scope *s = d ? d->scope : NULL;
    if (version)
        *version = s ? s->version : NULL;
    return s && s->name ? s->name : "";
}

size_t ignis_span_data_scope_attribute_count(const ignis_span_data *d)
{
    return d && d->scope ? d->scope->nattrs : 0;
}

bool ignis_span_data_scope_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out)
{
    const ig_scope *s = d ? d->scope : NULL;
    return attr_out(s ? s->attrs : NULL, s ? s->nattrs : 0, i, out);
}

size_t ignis_span_data_resource_count(const ignis_span_data *d) { return d && d->resource ? d->resource->nattrs : 0; }

bool ignis_span_data_resource_attribute(const ignis_span_data *d, size_t i, ignis_attribute *out)
{
    const ig_resource *r = d ? d->resource : NULL;
    return attr_out(r ? r->attrs : NULL, r ? r->nattrs : 0, i, out);
}
