/*
 * viewer/layout.c — flame graph geometry in terminal cells.
 *
 * The tree stores nodes in depth-first order with children sorted by name,
 * so laying out a pane is one walk from the zoomed node with an explicit
 * stack: a child starts where its previous sibling ended (children are
 * packed to the left, the parent's self value is the gap on the right).
 * Start and end are rounded to whole cells separately, so frames tile the
 * row without gaps or overlaps, and a subtree whose rounded width is zero
 * is never entered.  The walk therefore visits the visible frames plus the
 * sibling lists they own — a few thousand nodes for a huge profile.
 *
 * Colours are classes (enum ig_style), not curses pairs: the model decides
 * what a frame means (kernel, JIT, inlined, module shade, diff growth), the
 * curses layer decides what that looks like.  Widths are the tree's drawn
 * widths (ig_tree_draw_width): in a diff, frames only in the base are laid
 * out as wide as their base value, beside their siblings, in a style of
 * their own (IG_ST_REMOVED).
 */
#include "viewer/layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utils/hash.h"
#include "utils/strbuf.h"

void ig_frames_reset(ig_frames *f)
{
    f->n = 0;
    f->clipped = 0;
}

void ig_frames_free(ig_frames *f)
{
    free(f->v);
    memset(f, 0, sizeof *f);
}

static ig_frame *frames_push(ig_frames *f)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->v = ig_xrealloc(f->v, f->cap * sizeof *f->v);
    }
    return &f->v[f->n++];
}

long ig_frames_at(const ig_frames *f, int row, int col)
{
    for (size_t i = 0; i < f->n; i++) {
        const ig_frame *fr = &f->v[i];
        if (fr->row == row && col >= fr->col && col < fr->col + fr->width)
            return (long)i;
    }
    return -1;
}

long ig_frames_find(const ig_frames *f, uint8_t pane, uint32_t node)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].pane == pane && f->v[i].node == node)
            return (long)i;
    return -1;
}

/* ---- UTF-8 ------------------------------------------------------------- */

int ig_utf8_decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int n;
    uint32_t c;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    } else if ((u[0] & 0xe0) == 0xc0) {
        n = 2, c = u[0] & 0x1f;
    } else if ((u[0] & 0xf0) == 0xe0) {
        n = 3, c = u[0] & 0x0f;
    } else if ((u[0] & 0xf8) == 0xf0) {
        n = 4, c = u[0] & 0x07;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3f);
    }
    *cp = c;
    return n;
}

size_t ig_utf8_len(const char *s)
{
    size_t n = 0;
    uint32_t cp;
    while (*s) {
        s += ig_utf8_decode(s, &cp);
        n++;
    }
    return n;
}

size_t ig_layout_fit(const char *name, int cols, int *ellipsis)
{
    *ellipsis = 0;
    if (cols <= 0)
        return 0;
    size_t len = ig_utf8_len(name);
    int keep = cols;
    if (len > (size_t)cols && cols >= 2) {
        keep = cols - 1;
        *ellipsis = 1;
    }
    const char *p = name;
    uint32_t cp;
    for (int i = 0; i < keep && *p; i++)
        p += ig_utf8_decode(p, &cp);
    return (size_t)(p - name);
}

/* ---- colours ----------------------------------------------------------- */

int ig_layout_diff_level(int64_t v, int64_t total, int64_t base_v, int64_t base_total)
{
    double now = total > 0 ? (double)v / (double)total : 0;
    double before = base_total > 0 ? (double)base_v / (double)base_total : 0;
    if (now == before)
        return 0;
    if (before <= 0)
        return 3;
    double r = (now - before) / before;
    double a = fabs(r);
    int level = a < 0.05 ? 0 : a < 0.25 ? 1 : a < 1.0 ? 2 : 3;
    return r < 0 ? -level : level;
}

static uint8_t user_shade(const ig_tree *t, const ig_tree_node *n)
{
    uint32_t module = ig_tree_node_module(t, n);
    const char *key = ig_tree_name(t, module ? module : n->name);
    return (uint8_t)(IG_ST_USER0 + ig_hash_bytes(key, strlen(key), 7) % IG_USER_SHADES);
}

uint8_t ig_layout_style(const ig_tree *t, uint32_t node)
{
    const ig_tree_node *n = ig_tree_node_at(t, node);
    if (ig_tree_node_removed(t, n))
        return IG_ST_REMOVED;
    if (ig_tree_is_diff(t)) {
        const ig_tree_node *root = ig_tree_node_at(t, 0);
        int level = ig_layout_diff_level(n->total, root->total, n->base_total, root->base_total);
        if (level > 0)
            return (uint8_t)(IG_ST_GROW1 + level - 1);
        if (level < 0)
            return (uint8_t)(IG_ST_SHRINK1 - level - 1);
        return IG_ST_SAME;
    }
    switch (n->kind) {
    case IG_NODE_ROOT: return IG_ST_ROOT;
    case IG_NODE_KERNEL: return IG_ST_KERNEL;
    case IG_NODE_JIT: return IG_ST_JIT;
    case IG_NODE_INLINED: return IG_ST_INLINED;
    default: return user_shade(t, n);
    }
}

/* ---- geometry ---------------------------------------------------------- */

struct walk {
    uint32_t node;
    int64_t offset; /* value offset of the node's left edge from the zoom's */
};

typedef struct layout_ctx {
    const ig_layout_spec *s;
    ig_child_cache *children;
    ig_frames *out;
    double scale;     /* columns per unit of value */
    int *row_end;     /* per visible row: column where the last frame ended */
    uint8_t *row_style;
} layout_ctx;

static int depth_visible(const ig_layout_spec *s, int depth)
{
    int rel = depth - s->first_depth;
    return rel >= 0 && rel < s->nrows;
}

/* Same-coloured neighbours would merge visually: bump the shade. */
static uint8_t distinct_from_left(layout_ctx *c, int rel, int col, uint8_t style)
{
    if (c->row_end[rel] == col && c->row_style[rel] == style && style >= IG_ST_USER0 &&
        style < IG_ST_USER0 + IG_USER_SHADES)
        style = (uint8_t)(IG_ST_USER0 + (style - IG_ST_USER0 + 1) % IG_USER_SHADES);
    return style;
}

static void emit(layout_ctx *c, uint32_t node, int depth, int col, int width, uint8_t flags)
{
    const ig_layout_spec *s = c->s;
    int rel = depth - s->first_depth;
    ig_frame *f = frames_push(c->out);
    f->node = node;
    f->row = s->row0 + s->dir * rel;
    f->col = col;
    f->width = width;
    f->pane = s->pane;
    f->flags = flags;
    f->style = distinct_from_left(c, rel, col, ig_layout_style(s->tree, node));
    c->row_end[rel] = col + width;
    c->row_style[rel] = f->style;
}

static void emit_ancestors(layout_ctx *c)
{
    const ig_layout_spec *s = c->s;
    uint32_t chain[4096];
    int n = 0;
    uint32_t a = s->zoom;
    while (a != 0 && n < 4096) {
        a = ig_tree_node_at(s->tree, a)->parent;
        chain[n++] = a;
    }
    for (int i = n - 1; i >= 0; i--) {
        int depth = (int)ig_tree_node_at(s->tree, chain[i])->depth;
        if (depth_visible(s, depth))
            emit(c, chain[i], depth, s->col0, s->width, IG_FRAME_DIM);
    }
}

static int cell_of(const layout_ctx *c, int64_t offset)
{
    return c->s->col0 + (int)floor((double)offset * c->scale + 0.5);
}

/* ---- children of wide nodes --------------------------------------------- */

static size_t walk_children(const ig_tree *t, uint32_t node, ig_child **buf, size_t *cap)
{
    size_t n = 0;
    for (uint32_t ch = ig_tree_node_at(t, node)->first_child; ch; ch = ig_tree_node_at(t, ch)->next_sibling) {
        if (n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *buf = ig_xrealloc(*buf, *cap * sizeof **buf);
        }
        (*buf)[n++] = (ig_child){ch, ig_tree_draw_width(t, ch)};
    }
    return n;
}

static void cache_reset(ig_child_cache *c, const ig_tree *t)
{
    ig_child *scratch = c->scratch;
    size_t capscratch = c->capscratch;
    free(c->slots);
    free(c->first);
    free(c->count);
    free(c->kids);
    memset(c, 0, sizeof *c);
    c->tree = t;
    c->scratch = scratch;
    c->capscratch = capscratch;
}

static size_t cache_slot(const ig_child_cache *c, uint32_t node)
{
    size_t i = ig_hash_u64(3, node) & (c->nslots - 1);
    while (c->slots[i] && c->slots[i] != node + 1)
        i = (i + 1) & (c->nslots - 1);
    return i;
}

static void cache_grow(ig_child_cache *c)
{
    ig_child_cache old = *c;
    c->nslots = old.nslots ? 2 * old.nslots : 64;
    c->slots = ig_xcalloc(c->nslots, sizeof *c->slots);
    c->first = ig_xcalloc(c->nslots, sizeof *c->first);
    c->count = ig_xcalloc(c->nslots, sizeof *c->count);
    for (size_t i = 0; i < old.nslots; i++)
        if (old.slots[i]) {
            size_t j = cache_slot(c, old.slots[i] - 1);
            c->slots[j] = old.slots[i];
            c->first[j] = old.first[i];
            c->count[j] = old.count[i];
        }
    free(old.slots);
    free(old.first);
    free(old.count);
}

size_t ig_tree_children(ig_child_cache *c, const ig_tree *t, uint32_t node, const ig_child **out)
{
    if (c->tree != t || c->nkids >= IG_CHILD_CACHE_MAX)
        cache_reset(c, t);
    if (c->nslots) {
        size_t i = cache_slot(c, node);
        if (c->slots[i]) {
            *out = c->kids + c->first[i];
            return c->count[i];
        }
    }
    size_t n = walk_children(t, node, &c->scratch, &c->capscratch);
    *out = c->scratch;
    if (n < IG_WIDE_NODE)
        return n;
    if (2 * (c->used + 1) > c->nslots)
        cache_grow(c);
    if (c->nkids + n > c->capkids) {
        while (c->nkids + n > c->capkids)
            c->capkids = c->capkids ? 2 * c->capkids : 1024;
        c->kids = ig_xrealloc(c->kids, c->capkids * sizeof *c->kids);
    }
    memcpy(c->kids + c->nkids, c->scratch, n * sizeof *c->kids);
    size_t i = cache_slot(c, node);
    c->slots[i] = node + 1;
    c->first[i] = (uint32_t)c->nkids;
    c->count[i] = (uint32_t)n;
    c->used++;
    *out = c->kids + c->nkids;
    c->nkids += n;
    return n;
}

void ig_child_cache_free(ig_child_cache *c)
{
    cache_reset(c, NULL);
    free(c->scratch);
    memset(c, 0, sizeof *c);
}

static void push_children(layout_ctx *c, struct walk **stack, size_t *n, size_t *cap,
                          uint32_t parent, int64_t offset)
{
    /* Children are pushed right to left so the stack pops them in order. */
    size_t first = *n;
    const ig_child *kids;
    size_t nk = ig_tree_children(c->children, c->s->tree, parent, &kids);
    for (size_t k = 0; k < nk; k++) {
        int64_t total = kids[k].total;
        if (cell_of(c, offset + total) > cell_of(c, offset)) {
            if (*n == *cap) {
                *cap *= 2;
                *stack = ig_xrealloc(*stack, *cap * sizeof **stack);
            }
            (*stack)[(*n)++] = (struct walk){kids[k].node, offset};
        }
        offset += total > 0 ? total : 0;
    }
    for (size_t i = first, j = *n ? *n - 1 : 0; i < j; i++, j--) {
        struct walk t = (*stack)[i];
        (*stack)[i] = (*stack)[j];
        (*stack)[j] = t;
    }
}

void ig_layout_flame(ig_frames *out, const ig_layout_spec *s)
{
    if (s->width <= 0 || s->nrows <= 0 || s->zoom >= ig_tree_size(s->tree))
        return;
    ig_child_cache own = {0}; /* without the caller's cache: one for this walk */
    layout_ctx c = {s, s->children ? s->children : &own, out, 0, ig_xcalloc((size_t)s->nrows, sizeof(int)),
                    ig_xcalloc((size_t)s->nrows, 1)};
    for (int i = 0; i < s->nrows; i++)
        c.row_end[i] = -1;
    if (s->show_ancestors)
        emit_ancestors(&c);
    const ig_tree_node *z = ig_tree_node_at(s->tree, s->zoom);
    int64_t zwidth = ig_tree_draw_width(s->tree, s->zoom);
    if (zwidth <= 0) {
        if (depth_visible(s, (int)z->depth))
            emit(&c, s->zoom, (int)z->depth, s->col0, s->width, 0);
        goto done;
    }
    c.scale = (double)s->width / (double)zwidth;
    size_t cap = 256, n = 0;
    struct walk *stack = ig_xmalloc(cap * sizeof *stack);
    stack[n++] = (struct walk){s->zoom, 0};
    while (n > 0) {
        struct walk w = stack[--n];
        const ig_tree_node *node = ig_tree_node_at(s->tree, w.node);
        int depth = (int)node->depth;
        int col = cell_of(&c, w.offset);
        int end = cell_of(&c, w.offset + ig_tree_draw_width(s->tree, w.node));
        if (end <= col)
            continue;
        if (depth - s->first_depth >= s->nrows) {
            out->clipped = 1;
            continue;
        }
        if (depth_visible(s, depth))
            emit(&c, w.node, depth, col, end - col, 0);
        push_children(&c, &stack, &n, &cap, w.node, w.offset);
    }
    free(stack);
done:
    free(c.row_end);
    free(c.row_style);
    ig_child_cache_free(&own);
}
