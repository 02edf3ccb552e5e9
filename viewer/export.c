/*
 * viewer/export.c — writes what is on screen (zoom and filters applied).
 *
 * The view is turned back into a small profile: one sample per node of the
 * zoomed subtree that has a self value, whose stack is the node's path from
 * the root (the zoom's ancestors included, so the export keeps its
 * context).  The filters are already applied by the tree, so the writers
 * of exporters/formats.h (SVG, folded, pprof) get exactly the view; a diff
 * exports the base side the same way and hands it over as diff_base.
 */
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "utils/strbuf.h"
#include "viewer/model.h"

static ignis_frame_kind kind_of(uint8_t node_kind)
{
    return node_kind == IG_NODE_KERNEL ? IGNIS_FRAME_KERNEL
           : node_kind == IG_NODE_JIT  ? IGNIS_FRAME_JIT
                                       : IGNIS_FRAME_USER;
}

/* Location of every node on the path root..zoom and in the subtree.
 * Nodes come in depth-first order, so a parent's entry is known first. */
static uint32_t location_of(ignis_profile *p, const ig_tree *t, uint32_t node)
{
    const ig_tree_node *n = ig_tree_node_at(t, node);
    uint32_t fn = ignis_profile_function_named(p, ig_tree_name(t, n->name), NULL, 0);
    return ignis_profile_location_for_function(p, fn, kind_of(n->kind));
}

static ignis_profile *view_profile(const ig_tree *t, uint32_t zoom, int base_side)
{
    ignis_profile *p = ignis_profile_new();
    const char *type = ig_tree_value_type(t), *unit = ig_tree_value_unit(t);
    ignis_profile_add_value_type(p, type && *type ? type : "samples", unit && *unit ? unit : "count");
    size_t n = ig_tree_size(t);
    uint32_t zdepth = ig_tree_node_at(t, zoom)->depth;
    uint32_t end = zoom + 1;
    while (end < n && ig_tree_node_at(t, end)->depth > zdepth)
        end++;
    /* loc[i - zoom] for the subtree; the ancestors are looked up once. */
    uint32_t *loc = ig_xcalloc(end - zoom, sizeof *loc);
    uint32_t prefix[4096];
    size_t nprefix = 0;
    for (uint32_t a = zoom; a != 0 && nprefix < 4096; a = ig_tree_node_at(t, a)->parent)
        if (a != zoom)
            prefix[nprefix++] = location_of(p, t, a);
    uint32_t *stack = ig_xmalloc((zdepth + 4096 + 2) * sizeof *stack);
    for (uint32_t i = zoom; i < end; i++) {
        const ig_tree_node *nd = ig_tree_node_at(t, i);
        if (i != 0)
            loc[i - zoom] = location_of(p, t, i);
        int64_t self = base_side ? nd->base_self : nd->self;
        if (self == 0 || i == 0)
            continue;
        size_t depth = 0;
        for (uint32_t a = i; a != zoom && depth < 4096; a = ig_tree_node_at(t, a)->parent)
            stack[depth++] = loc[a - zoom];
        if (zoom != 0)
            stack[depth++] = loc[0];
        memcpy(stack + depth, prefix, nprefix * sizeof *prefix);
        uint32_t sid = ignis_profile_add_stack(p, stack, depth + nprefix);
        ignis_profile_add_sample(p, sid, 0, &self);
    }
    free(stack);
    free(loc);
    return p;
}

int ig_viewer_export(ig_viewer *v, const char *path)
{
    const char *fmt = ig_format_for_path(path);
    if (!fmt || !strcmp(fmt, "perf-script")) {
        ig_viewer_message(v, 1, "export: %s: use a .svg, .folded or .pb.gz file name", path);
        return -1;
    }
    uint32_t zoom = ig_viewer_zoom_node(v);
    ignis_profile *p = view_profile(v->tree, zoom, 0);
    ignis_profile *base = v->base ? view_profile(v->tree, zoom, 1) : NULL;
    ig_write_opts o = {.tree = {.value = 0}, .title = v->title, .inverted = v->icicle,
                       .minwidth = -1, .diff_base = base};
    ig_err err;
    int rc = ig_profile_save(p, path, fmt, &o, &err);
    if (rc == 0)
        ig_viewer_message(v, 0, "exported the view to %s (%s)", path, fmt);
    else
        ig_viewer_message(v, 1, "export: %s", err.msg);
    ignis_profile_free(p);
    ignis_profile_free(base);
    return rc;
}
