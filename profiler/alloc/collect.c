/*
 * profiler/alloc/collect.c — merging and symbolizing heap dumps.
 *
 * Design.  Each input profile is copied table by table into the result:
 * mappings (filename, build-id, range), then locations, then stacks and
 * samples, with small arrays translating the input's ids into the
 * result's.  A location in a file-backed mapping is symbolized from its
 * file offset (address - mapping start + mapping offset) by ig_symtab,
 * which opens each file once per build-id and caches per offset; an
 * address the symbolizer cannot name keeps the input's lines (dladdr
 * names) or none, and then reads as module+0xoffset.  Sample values add
 * up, so dumps of several processes (a shell and its children) make one
 * profile; a sample that would carry a total past INT64_MAX (hostile
 * input) is left out and counted, so totals never wrap.
 */
#include "profiler/alloc/collect.h"

#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "profiler/alloc/heapprof.h"
#include "utils/strbuf.h"

struct ig_heapcollect {
    ignis_profile *out;
    ig_symtab *st;
    int inputs;
    int64_t totals[IG_HEAP_NVALUES];
    uint64_t skipped;
};

ig_heapcollect *ig_heapcollect_new(void)
{
    ig_heapcollect *c = ig_xcalloc(1, sizeof *c);
    c->st = ig_symtab_new();
    return c;
}

void ig_heapcollect_free(ig_heapcollect *c)
{
    if (!c)
        return;
    ignis_profile_free(c->out);
    if (c->st)
        ig_symtab_free(c->st);
    free(c);
}

ignis_profile *ig_heapcollect_profile(ig_heapcollect *c)
{
    return c->out;
}

int ig_heapcollect_inputs(const ig_heapcollect *c)
{
    return c->inputs;
}

uint64_t ig_heapcollect_skipped(const ig_heapcollect *c)
{
    return c->skipped;
}

/* Adds v to the running totals unless a value is negative or a total
 * would pass INT64_MAX. */
static bool take_values(ig_heapcollect *c, const int64_t *v)
{
    int64_t t[IG_HEAP_NVALUES];
    for (int k = 0; k < IG_HEAP_NVALUES; k++)
        if (v[k] < 0 || __builtin_add_overflow(c->totals[k], v[k], &t[k]))
            return false;
    memcpy(c->totals, t, sizeof t);
    return true;
}

static const char *const heap_types[IG_HEAP_NVALUES] = {"alloc_objects", "alloc_space", "inuse_objects",
                                                        "inuse_space"};

uint32_t ig_heap_symbolize(ignis_profile *p, ig_symtab *st, uint32_t mapping_id, const char *path,
                           const char *build_id, uint64_t address, uint64_t offset)
{
    ig_symframe fr[16];
    int n = (st && path && path[0] == '/') ? ig_symtab_lookup(st, path, build_id, offset, fr, 16) : 0;
    ignis_line lines[16];
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *name = fr[i].func ? fr[i].func : fr[i].sysname;
        if (!name)
            continue;
        ignis_function f = {.name = ignis_profile_intern(p, name),
                            .system_name = ignis_profile_intern(p, fr[i].sysname ? fr[i].sysname : name),
                            .filename = ignis_profile_intern(p, fr[i].file)};
        lines[k].function = ignis_profile_add_function(p, &f);
        lines[k].line = fr[i].line;
        lines[k].column = fr[i].column;
        k++;
    }
    ignis_location loc = {.mapping = mapping_id, .address = address, .lines = k ? lines : NULL,
                          .nlines = (uint32_t)k};
    return ignis_profile_add_location(p, &loc);
}

/* The result's location for input location `id`. */
static uint32_t copy_location(ig_heapcollect *c, const ignis_profile *in, uint32_t id, const uint32_t *mapmap)
{
    const ignis_location *l = ignis_profile_location(in, id);
    if (!l)
        return 0;
    const ignis_mapping *m = l->mapping ? ignis_profile_mapping(in, l->mapping) : NULL;
    uint32_t out_map = l->mapping ? mapmap[l->mapping] : 0;
    if (m && l->address >= m->start && l->address < m->limit) {
        const char *bid = m->build_id ? ignis_profile_string(in, m->build_id) : NULL;
        uint32_t lid = ig_heap_symbolize(c->out, c->st, out_map, ignis_profile_string(in, m->filename), bid,
                                         l->address, l->address - m->start + m->offset);
        const ignis_location *r = ignis_profile_location(c->out, lid);
        if (r && r->nlines)
            return lid;
    }
    /* Unnamed by the symbolizer: keep what the dump knew. */
    ignis_line lines[16];
    uint32_t nl = l->nlines < 16 ? l->nlines : 16;
    for (uint32_t i = 0; i < nl; i++) {
        const ignis_function *f = ignis_profile_function(in, l->lines[i].function);
        ignis_function nf = {.name = ignis_profile_intern(c->out, ignis_profile_string(in, f->name)),
                             .system_name = ignis_profile_intern(c->out, ignis_profile_string(in, f->system_name)),
                             .filename = ignis_profile_intern(c->out, ignis_profile_string(in, f->filename)),
                             .start_line = f->start_line};
        lines[i] = l->lines[i];
        lines[i].function = ignis_profile_add_function(c->out, &nf);
    }
    ignis_location loc = {.mapping = out_map, .address = l->address, .lines = nl ? lines : NULL, .nlines = nl,
                          .kind = l->kind};
    return ignis_profile_add_location(c->out, &loc);
}

static int value_index(const ignis_profile *in, int *idx, const char *name, ig_err *err)
{
    for (int i = 0; i < IG_HEAP_NVALUES; i++) {
        idx[i] = ignis_profile_find_value(in, heap_types[i]);
        if (idx[i] < 0)
            return ig_err_set(err, "%s: not a heap profile (no %s values)", name, heap_types[i]);
    }
    return 0;
}

static uint32_t copy_labels(ignis_profile *out, const ignis_profile *in, uint32_t set)
{
    size_t n;
    const ignis_label *ls = ignis_profile_labels(in, set, &n);
    ignis_label copy[16];
    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n; i++) {
        copy[i] = ls[i];
        copy[i].key = ignis_profile_intern(out, ignis_profile_string(in, ls[i].key));
        copy[i].str = ls[i].str ? ignis_profile_intern(out, ignis_profile_string(in, ls[i].str)) : 0;
        copy[i].num_unit = ls[i].num_unit ? ignis_profile_intern(out, ignis_profile_string(in, ls[i].num_unit)) : 0;
    }
    return ignis_profile_add_labels(out, copy, n);
}

int ig_heapcollect_add(ig_heapcollect *c, const ignis_profile *in, const char *name, ig_err *err)
{
    int idx[IG_HEAP_NVALUES];
    if (value_index(in, idx, name, err) < 0)
        return -1;
    if (!c->out) {
        c->out = ig_heapprof_new(ignis_profile_period(in));
        ignis_profile_set_time(c->out, ignis_profile_time_nanos(in), ignis_profile_duration_nanos(in));
    }
    for (size_t i = 0; i < ignis_profile_num_comments(in); i++)
        ignis_profile_add_comment(c->out, ignis_profile_string(in, ignis_profile_comment(in, i)));
    size_t nm = ignis_profile_num_mappings(in);
    uint32_t *mapmap = ig_xcalloc(nm + 1, sizeof *mapmap);
    for (uint32_t i = 1; i <= nm; i++) {
        ignis_mapping m = *ignis_profile_mapping(in, i);
        m.filename = ignis_profile_intern(c->out, ignis_profile_string(in, m.filename));
        m.build_id = m.build_id ? ignis_profile_intern(c->out, ignis_profile_string(in, m.build_id)) : 0;
        m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = true;
        mapmap[i] = ignis_profile_add_mapping(c->out, &m);
    }
    size_t nl = ignis_profile_num_locations(in);
    uint32_t *locmap = ig_xcalloc(nl + 1, sizeof *locmap);
    for (uint32_t i = 1; i <= nl; i++)
        locmap[i] = copy_location(c, in, i, mapmap);
    for (size_t s = 0; s < ignis_profile_num_samples(in); s++) {
        ignis_sample smp = ignis_profile_sample(in, s);
        size_t depth;
        const uint32_t *locs = ignis_profile_stack(in, smp.stack, &depth);
        uint32_t *nl_ids = ig_xmalloc((depth + 1) * sizeof *nl_ids);
        size_t d = 0;
        for (size_t k = 0; k < depth; k++)
            if (locs[k] <= nl && locmap[locs[k]])
                nl_ids[d++] = locmap[locs[k]];
        uint32_t stack = ignis_profile_add_stack(c->out, nl_ids, d);
        free(nl_ids);
        int64_t v[IG_HEAP_NVALUES];
        for (int k = 0; k < IG_HEAP_NVALUES; k++)
            v[k] = smp.values[idx[k]];
        if (!take_values(c, v))
            c->skipped++;
        else if (stack)
            ignis_profile_add_sample(c->out, stack, copy_labels(c->out, in, smp.labels), v);
    }
    free(locmap);
    free(mapmap);
    c->inputs++;
    return 0;
}

int ig_heapcollect_add_file(ig_heapcollect *c, const char *path, ig_err *err)
{
    ignis_profile *in = NULL;
    if (ig_profile_load(path, "pprof", &in, err) < 0)
        return -1;
    int rc = ig_heapcollect_add(c, in, path, err);
    ignis_profile_free(in);
    return rc;
}
