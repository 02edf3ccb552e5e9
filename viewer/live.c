/*
 * viewer/live.c — the sliding window behind `ignis top`, and profile merging.
 *
 * Merging copies a sample's whole closure into the destination profile:
 * every id of src (mapping, function, location, stack, label set) is
 * translated once through a per-table array indexed by the src id, so a
 * merge costs one pass over src's tables plus one interning per distinct
 * element.  The profile model deduplicates on insertion, so identical
 * stacks of different seconds collapse into one sample with summed values.
 *
 * The window view is rebuilt from its slots at every refresh (a few
 * seconds of samples), which keeps dropping the oldest second trivial.
 */
#include "viewer/live.h"

#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"

typedef struct idmap {
    uint32_t *v;
    size_t n;
} idmap;

static uint32_t *idmap_slot(idmap *m, uint32_t id)
{
    if (id >= m->n) {
        size_t n = m->n ? m->n : 64;
        while (n <= id)
            n *= 2;
        m->v = ig_xrealloc(m->v, n * sizeof *m->v);
        memset(m->v + m->n, 0, (n - m->n) * sizeof *m->v);
        m->n = n;
    }
    return &m->v[id];
}

typedef struct merge {
    ignis_profile *dst;
    const ignis_profile *src;
    idmap map, fn, loc, stack, labels;
} merge;

static uint32_t str(merge *m, uint32_t id)
{
    return ignis_profile_intern(m->dst, ignis_profile_string(m->src, id));
}

static uint32_t copy_mapping(merge *m, uint32_t id)
{
    if (!id)
        return 0;
    uint32_t *slot = idmap_slot(&m->map, id);
    if (!*slot) {
        ignis_mapping mp = *ignis_profile_mapping(m->src, id);
        mp.filename = str(m, mp.filename);
        mp.build_id = str(m, mp.build_id);
        *slot = ignis_profile_add_mapping(m->dst, &mp);
    }
    return *slot;
}

static uint32_t copy_function(merge *m, uint32_t id)
{
    uint32_t *slot = idmap_slot(&m->fn, id);
    if (!*slot) {
        ignis_function f = *ignis_profile_function(m->src, id);
        f.name = str(m, f.name);
        f.system_name = str(m, f.system_name);
        f.filename = str(m, f.filename);
        *slot = ignis_profile_add_function(m->dst, &f);
    }
    return *slot;
}

static uint32_t copy_location(merge *m, uint32_t id)
{
    uint32_t *slot = idmap_slot(&m->loc, id);
    if (!*slot) {
        const ignis_location *l = ignis_profile_location(m->src, id);
        ignis_line lines[64];
        uint32_t n = l->nlines < 64 ? l->nlines : 64;
        for (uint32_t i = 0; i < n; i++) {
            lines[i] = l->lines[i];
            lines[i].function = copy_function(m, l->lines[i].function);
        }
        ignis_location c = *l;
        c.mapping = copy_mapping(m, l->mapping);
        c.lines = lines;
        c.nlines = n;
        *slot = ignis_profile_add_location(m->dst, &c);
    }
    return *slot;
}

static uint32_t copy_stack(merge *m, uint32_t id)
{
    uint32_t *slot = idmap_slot(&m->stack, id);
    if (!*slot) {
        size_t n;
        const uint32_t *locs = ignis_profile_stack(m->src, id, &n);
        uint32_t *c = ig_xmalloc((n ? n : 1) * sizeof *c);
        for (size_t i = 0; i < n; i++)
            c[i] = copy_location(m, locs[i]);
        *slot = ignis_profile_add_stack(m->dst, c, n);
        free(c);
    }
    return *slot;
}

static uint32_t copy_labels(merge *m, uint32_t id)
{
    if (!id)
        return 0;
    uint32_t *slot = idmap_slot(&m->labels, id);
    if (!*slot) {
        size_t n;
        const ignis_label *ls = ignis_profile_labels(m->src, id, &n);
        ignis_label *c = ig_xmalloc((n ? n : 1) * sizeof *c);
        for (size_t i = 0; i < n; i++) {
            c[i] = ls[i];
            c[i].key = str(m, ls[i].key);
            c[i].str = ls[i].str ? str(m, ls[i].str) : 0;
            c[i].num_unit = ls[i].num_unit ? str(m, ls[i].num_unit) : 0;
        }
        *slot = ignis_profile_add_labels(m->dst, c, n);
        free(c);
    }
    return *slot;
}

static int copy_value_types(ignis_profile *dst, const ignis_profile *src)
{
    size_t nv = ignis_profile_num_values(src);
    if (ignis_profile_num_values(dst) == 0) {
        for (size_t i = 0; i < nv; i++) {
            ignis_value_type vt = ignis_profile_value_type(src, i);
            ignis_profile_add_value_type(dst, ignis_profile_string(src, vt.type),
                                         ignis_profile_string(src, vt.unit));
        }
        ignis_value_type pt = ignis_profile_period_type(src);
        ignis_profile_set_period(dst, ignis_profile_string(src, pt.type), ignis_profile_string(src, pt.unit),
                                 ignis_profile_period(src));
        uint32_t def = ignis_profile_default_sample_type(src);
        if (def)
            ignis_profile_set_default_sample_type(dst, ignis_profile_string(src, def));
        return 0;
    }
    return ignis_profile_num_values(dst) == nv ? 0 : -1;
}

int ig_profile_merge_into(ignis_profile *dst, const ignis_profile *src)
{
    if (copy_value_types(dst, src) < 0)
        return -1;
    merge m = {dst, src, {0}, {0}, {0}, {0}, {0}};
    size_t n = ignis_profile_num_samples(src);
    for (size_t i = 0; i < n; i++) {
        ignis_sample s = ignis_profile_sample(src, i);
        uint32_t stack = copy_stack(&m, s.stack);
        if (stack)
            ignis_profile_add_sample(dst, stack, copy_labels(&m, s.labels), s.values);
    }
    int64_t t = ignis_profile_time_nanos(dst), st = ignis_profile_time_nanos(src);
    int64_t end = t + ignis_profile_duration_nanos(dst), send = st + ignis_profile_duration_nanos(src);
    if (!t || (st && st < t))
        t = st;
    if (send > end)
        end = send;
    ignis_profile_set_time(dst, t, t ? end - t : 0);
    free(m.map.v);
    free(m.fn.v);
    free(m.loc.v);
    free(m.stack.v);
    free(m.labels.v);
    return 0;
}

/* ---- window -------------------------------------------------------------- */

void ig_live_init(ig_live *l, int window)
{
    memset(l, 0, sizeof *l);
    l->window = window < 1 ? 1 : window > IG_LIVE_MAX_SLOTS ? IG_LIVE_MAX_SLOTS : window;
    l->session = ignis_profile_new();
}

static void drop_slots(ig_live *l)
{
    for (int i = 0; i < l->nslots; i++)
        ignis_profile_free(l->slots[(l->head + i) % IG_LIVE_MAX_SLOTS]);
    l->nslots = l->head = 0;
}

void ig_live_free(ig_live *l)
{
    drop_slots(l);
    ignis_profile_free(l->session);
    ignis_profile_free(l->view);
    ignis_profile_free(l->retired);
    memset(l, 0, sizeof *l);
}

ignis_profile *ig_live_push(ig_live *l, ignis_profile *p)
{
    ig_profile_merge_into(l->session, p);
    if (l->nslots == l->window) {
        ignis_profile_free(l->slots[l->head]);
        l->head = (l->head + 1) % IG_LIVE_MAX_SLOTS;
        l->nslots--;
    }
    l->slots[(l->head + l->nslots++) % IG_LIVE_MAX_SLOTS] = p;
    ignis_profile *view = ignis_profile_new();
    for (int i = 0; i < l->nslots; i++)
        ig_profile_merge_into(view, l->slots[(l->head + i) % IG_LIVE_MAX_SLOTS]);
    ignis_profile_free(l->retired);
    l->retired = l->view;
    l->view = view;
    return view;
}

void ig_live_reset(ig_live *l)
{
    drop_slots(l);
}
