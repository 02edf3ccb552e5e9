/*
 * viewer/treeprof.c — profiles made from parts of a call tree.
 *
 * Each tree node becomes one location (a function named like the node, of
 * the node's kind), looked up once per node and cached in an array indexed
 * by node, so a path is a walk up the parent links.  Nodes come in
 * depth-first order, which makes "outermost occurrence of fn" one linear
 * pass: a node is inside fn when it is fn or its parent is inside fn.
 */
#include "viewer/treeprof.h"

#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"

typedef struct tp {
    const ig_tree *t;
    ignis_profile *p;
    uint32_t *loc;    /* per node, 0 = not looked up yet */
    uint32_t *stack;  /* scratch */
    size_t cap;
    int base_side;
} tp;

static void tp_init(tp *x, const ig_tree *t, int base_side)
{
    x->t = t;
    x->p = ignis_profile_new();
    const char *type = ig_tree_value_type(t), *unit = ig_tree_value_unit(t);
    ignis_profile_add_value_type(x->p, type && *type ? type : "samples", unit && *unit ? unit : "count");
    x->loc = ig_xcalloc(ig_tree_size(t), sizeof *x->loc);
    x->cap = 64;
    x->stack = ig_xmalloc(x->cap * sizeof *x->stack);
    x->base_side = base_side;
}

static ignis_profile *tp_finish(tp *x)
{
    free(x->loc);
    free(x->stack);
    return x->p;
}

static uint32_t tp_location(tp *x, uint32_t node)
{
    if (!x->loc[node]) {
        const ig_tree_node *n = ig_tree_node_at(x->t, node);
        ignis_frame_kind kind = n->kind == IG_NODE_KERNEL ? IGNIS_FRAME_KERNEL
                                : n->kind == IG_NODE_JIT  ? IGNIS_FRAME_JIT
                                                          : IGNIS_FRAME_USER;
        uint32_t fn = ignis_profile_function_named(x->p, ig_tree_name(x->t, n->name), NULL, 0);
        x->loc[node] = ignis_profile_location_for_function(x->p, fn, kind);
    }
    return x->loc[node];
}

static void tp_push(tp *x, size_t *n, uint32_t loc)
{
    if (*n == x->cap) {
        x->cap *= 2;
        x->stack = ig_xrealloc(x->stack, x->cap * sizeof *x->stack);
    }
    x->stack[(*n)++] = loc;
}

static void tp_sample(tp *x, size_t n, int64_t value)
{
    if (value == 0 || n == 0)
        return;
    uint32_t sid = ignis_profile_add_stack(x->p, x->stack, n);
    if (sid)
        ignis_profile_add_sample(x->p, sid, 0, &value);
}

/* Leaf-first stack of node up to (and including) `top`, then on to the
 * root when `to_root`. */
static size_t tp_path(tp *x, uint32_t node, uint32_t top, int to_root)
{
    size_t n = 0;
    for (uint32_t a = node; a != 0; a = ig_tree_node_at(x->t, a)->parent) {
        tp_push(x, &n, tp_location(x, a));
        if (a == top && !to_root)
            break;
    }
    return n;
}

static uint32_t subtree_end(const ig_tree *t, uint32_t node)
{
    size_t n = ig_tree_size(t);
    uint32_t depth = ig_tree_node_at(t, node)->depth, i = node + 1;
    while (i < n && ig_tree_node_at(t, i)->depth > depth)
        i++;
    return i;
}

ignis_profile *ig_profile_of_subtree(const ig_tree *t, uint32_t zoom, int base_side)
{
    tp x;
    tp_init(&x, t, base_side);
    uint32_t end = subtree_end(t, zoom);
    for (uint32_t i = zoom; i < end; i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        if (i != 0)
            tp_sample(&x, tp_path(&x, i, 0, 1), base_side ? n->base_self : n->self);
    }
    return tp_finish(&x);
}

void ig_sandwich_profiles(const ig_tree *t, const char *fn, int base_side, ignis_profile **callers,
                          ignis_profile **callees)
{
    tp up, down;
    tp_init(&up, t, base_side);
    tp_init(&down, t, base_side);
    size_t size = ig_tree_size(t);
    uint8_t *inside = ig_xcalloc(size ? size : 1, 1);
    for (uint32_t i = 1; i < size; i++) {
        const ig_tree_node *n = ig_tree_node_at(t, i);
        int is_fn = !strcmp(ig_tree_name(t, n->name), fn);
        uint32_t outer = 0;
        if (inside[n->parent]) {
            inside[i] = 1;
        } else if (is_fn) {
            inside[i] = 1;
            outer = 1;
            /* callers: fn first (the root-first path), then its callers */
            size_t k = tp_path(&up, i, 0, 1);
            for (size_t a = 0, b = k - 1; a < b; a++, b--) {
                uint32_t tmp = up.stack[a];
                up.stack[a] = up.stack[b];
                up.stack[b] = tmp;
            }
            tp_sample(&up, k, base_side ? n->base_total : n->total);
        }
        (void)outer;
        if (inside[i]) {
            /* callees: the path from the outermost fn down to this node */
            uint32_t top = i;
            while (!(inside[top] && !inside[ig_tree_node_at(t, top)->parent]))
                top = ig_tree_node_at(t, top)->parent;
            tp_sample(&down, tp_path(&down, i, top, 0), base_side ? n->base_self : n->self);
        }
    }
    free(inside);
    *callers = tp_finish(&up);
    *callees = tp_finish(&down);
}
