/*
 * viewer/treeprof.c — profiles and trees made from parts of a call tree.
 *
 * Export: each tree node becomes one location (a function named like the
 * node, of the node's kind), looked up once per node, so a path is a walk
 * up the parent links.
 *
 * Sandwich: the outermost nodes of the function are found in one pass over
 * the depth-first node array, skipping each match's subtree.  Then both
 * panes are built by merging groups of nodes, depth-first: a group is a
 * set of tree nodes that share one merged path; its children are the
 * children (callees) or the parents (callers) of its members, sorted by
 * frame key and cut into runs.  A run worth less than 1/IG_SANDWICH_DETAIL
 * of the function (on both sides of a diff) becomes a leaf and is not
 * expanded, so the work and the result follow what can be drawn: callers
 * of the root's only child of a 14M-node tree touch a few hundred thousand
 * nodes, not all of them.  Each merged node is written as one sample of a
 * small profile (path from the function, weighted by its self value, or
 * its total for a cut leaf), and profile/tree.c builds the pane from it
 * like from any profile — a diff from a second profile of base values.
 * Member lists live in one pool used as a stack: the group on top of the
 * stack always owns the pool's last segment.
 */
#include "viewer/treeprof.h"

#include <stdlib.h>
#include <string.h>

#include "utils/satmath.h"
#include "utils/strbuf.h"

/* ---- locations per frame key ------------------------------------------------- */

typedef struct locs {
    ignis_profile *p;
    uint32_t *ids; /* per key (name << 3 | kind): location id, 0 = not yet */
    size_t n;
} locs;

static ignis_profile *new_profile(const ig_tree *t)
{
    ignis_profile *p = ignis_profile_new();
    const char *type = ig_tree_value_type(t), *unit = ig_tree_value_unit(t);
    ignis_profile_add_value_type(p, type && *type ? type : "samples", unit && *unit ? unit : "count");
    return p;
}

static uint32_t location_of(locs *l, const ig_tree *t, uint32_t name, uint8_t kind)
{
    size_t key = (size_t)name << 3 | (kind & 7);
    if (key >= l->n) {
        size_t n = l->n ? l->n : 1024;
        while (n <= key)
            n *= 2;
        l->ids = ig_xrealloc(l->ids, n * sizeof *l->ids);
        memset(l->ids + l->n, 0, (n - l->n) * sizeof *l->ids);
        l->n = n;
    }
    if (!l->ids[key]) {
        ignis_frame_kind k = kind == IG_NODE_KERNEL ? IGNIS_FRAME_KERNEL
                             : kind == IG_NODE_JIT  ? IGNIS_FRAME_JIT
                                                    : IGNIS_FRAME_USER;
        uint32_t fn = ignis_profile_function_named(l->p, ig_tree_name(t, name), NULL, 0);
        l->ids[key] = ignis_profile_location_for_function(l->p, fn, k);
    }
    return l->ids[key];
}

static void add_sample(ignis_profile *p, const uint32_t *leaf_first, size_t n, int64_t value)
{
    if (value == 0 || n == 0)
        return;
    uint32_t sid = ignis_profile_add_stack(p, leaf_first, n);
    if (sid)
        ignis_profile_add_sample(p, sid, 0, &value);
}

/* ---- export -------------------------------------------------------------------- */

static uint32_t subtree_end(const ig_tree *t, uint32_t node)
{
    size_t n = ig_tree_size(t);
    uint32_t depth = ig_tree_node_at(t, node)->depth, i = node + 1;
    while (i < n && ig_tree_node_at(t, i)->depth > depth)
        i++;
    return i;
}

ignis_profile *ig_profile_of_subtree(const ig_tree *t, uint32_t zoom, int base_side, ig_progress *pr)
{
    locs l = {new_profile(t), NULL, 0};
    uint32_t end = subtree_end(t, zoom);
    size_t cap = 64;
    uint32_t *stack = ig_xmalloc(cap * sizeof *stack);
    ig_progress_step(pr, base_side ? "exporting the base side" : "exporting the view", end - zoom);
    int cancelled = 0;
    for (uint32_t i = zoom; i < end && !cancelled; i++) {
        if (((i - zoom) & 65535) == 65535)
            cancelled = ig_progress_add(pr, 65536);
        const ig_tree_node *n = ig_tree_node_at(t, i);
        int64_t v = base_side ? n->base_self : n->self;
        if (i == 0 || v == 0)
            continue;
        size_t k = 0;
        for (uint32_t a = i; a != 0; a = ig_tree_node_at(t, a)->parent) {
            if (k == cap)
                stack = ig_xrealloc(stack, (cap *= 2) * sizeof *stack);
            const ig_tree_node *an = ig_tree_node_at(t, a);
            stack[k++] = location_of(&l, t, an->name, an->kind);
        }
        add_sample(l.p, stack, k, v);
    }
    free(stack);
    free(l.ids);
    if (cancelled) {
        ignis_profile_free(l.p);
        return NULL;
    }
    return l.p;
}

/* ---- sandwich ------------------------------------------------------------------ */

/* A member of a group: the node it stands at (callers: an ancestor of the
 * occurrence) and the occurrence it comes from. */
typedef struct member {
    uint32_t at, origin;
} member;

typedef struct group {
    size_t lo, hi;      /* members in the pool (empty for a cut leaf) */
    uint32_t depth;     /* 1 = the function */
    uint32_t name;
    uint8_t kind, cut;
    int64_t total, base_total;
} group;

typedef struct merger {
    const ig_tree *t;
    int callers, diff;
    int64_t th, base_th;   /* runs below both are cut */
    ig_progress *pr;
    uint64_t work;         /* members read since the last progress report */
    member *pool;
    size_t npool, cappool;
    group *stack;
    size_t nstack, capstack;
    uint64_t *runs;        /* scratch: (key << 32 | index into kids) */
    member *kids;          /* scratch: the next members */
    size_t capkids;
    locs side[2];          /* the profile of values, and of base values */
    uint32_t *path[2];     /* location per depth, root-first */
    size_t cappath;
} merger;

static void push_group(merger *m, group g)
{
    if (m->nstack == m->capstack)
        m->stack = ig_xrealloc(m->stack, (m->capstack = m->capstack ? 2 * m->capstack : 64) * sizeof *m->stack);
    m->stack[m->nstack++] = g;
}

static void pool_append(merger *m, const member *v, size_t n)
{
    if (m->npool + n > m->cappool) {
        while (m->npool + n > m->cappool)
            m->cappool = m->cappool ? 2 * m->cappool : 1024;
        m->pool = ig_xrealloc(m->pool, m->cappool * sizeof *m->pool);
    }
    memcpy(m->pool + m->npool, v, n * sizeof *v);
    m->npool += n;
}

static int64_t weight(const merger *m, const member *x, int base)
{
    const ig_tree_node *n = ig_tree_node_at(m->t, m->callers ? x->origin : x->at);
    return base ? n->base_total : n->total;
}

/* The next node of a member: its parent (callers), or 0 when none. */
static uint32_t key_of(const ig_tree *t, uint32_t node)
{
    const ig_tree_node *n = ig_tree_node_at(t, node);
    return n->name << 3 | n->kind;
}

static void reserve_kids(merger *m, size_t n)
{
    if (n > m->capkids) {
        m->capkids = n;
        m->kids = ig_xrealloc(m->kids, n * sizeof *m->kids);
        m->runs = ig_xrealloc(m->runs, n * sizeof *m->runs);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Cuts members kids[0, n) into runs of one key and pushes them as groups
 * at depth: the runs from the last key to the first, each appending its
 * members to the pool, so the first run is on top and owns the last
 * segment.  A cut run keeps only its totals. */
static void push_runs(merger *m, size_t n, uint32_t depth)
{
    for (size_t i = 0; i < n; i++)
        m->runs[i] = (uint64_t)key_of(m->t, m->kids[i].at) << 32 | i;
    qsort(m->runs, n, sizeof *m->runs, cmp_u64);
    for (size_t j = n; j > 0;) {
        uint32_t key = (uint32_t)(m->runs[j - 1] >> 32);
        size_t i = j;
        int64_t total = 0, base_total = 0;
        while (i > 0 && (uint32_t)(m->runs[i - 1] >> 32) == key) {
            const member *x = &m->kids[(uint32_t)m->runs[--i]];
            total = ig_sat_add(total, weight(m, x, 0));
            base_total = ig_sat_add(base_total, weight(m, x, 1));
        }
        group g = {m->npool, m->npool, depth, key >> 3, (uint8_t)(key & 7), 0, total, base_total};
        g.cut = total < m->th && (!m->diff || base_total < m->base_th);
        if (!g.cut) {
            for (size_t k = i; k < j; k++)
                pool_append(m, &m->kids[(uint32_t)m->runs[k]], 1);
            g.hi = m->npool;
        }
        push_group(m, g);
        j = i;
    }
}

static void set_path(merger *m, uint32_t depth, uint32_t name, uint8_t kind)
{
    if (depth >= m->cappath) {
        size_t cap = m->cappath ? m->cappath : 64;
        while (cap <= depth)
            cap *= 2;
        for (int s = 0; s < 2; s++)
            m->path[s] = ig_xrealloc(m->path[s], cap * sizeof *m->path[s]);
        m->cappath = cap;
    }
    for (int s = 0; s < 1 + m->diff; s++)
        m->path[s][depth] = location_of(&m->side[s], m->t, name, kind);
}

/* Writes the merged node at depth (path[1..depth]) with a value per side. */
static void emit(merger *m, uint32_t depth, int64_t v, int64_t bv, uint32_t *scratch)
{
    for (int s = 0; s < 1 + m->diff; s++) {
        for (uint32_t d = 1; d <= depth; d++)
            scratch[depth - d] = m->path[s][d];
        add_sample(m->side[s].p, scratch, depth, s ? bv : v);
    }
}

/* Expands the group on top of the stack. */
static int expand_top(merger *m, uint32_t **scratch, size_t *capscratch)
{
    group g = m->stack[--m->nstack];
    set_path(m, g.depth, g.name, g.kind);
    if (g.depth + 1 > *capscratch) {
        *capscratch = 2 * (g.depth + 1);
        *scratch = ig_xrealloc(*scratch, *capscratch * sizeof **scratch);
    }
    if (g.cut) {
        emit(m, g.depth, g.total, g.base_total, *scratch);
        return 0;
    }
    size_t n = g.hi - g.lo;
    m->work += n;
    if (m->work >= 65536) {
        if (ig_progress_add(m->pr, m->work))
            return -1;
        m->work = 0;
    }
    /* the next members, and the self values of this merged node */
    size_t nk = 0;
    int64_t self = 0, base_self = 0;
    if (m->callers) {
        reserve_kids(m, n);
        for (size_t i = g.lo; i < g.hi; i++) {
            member x = m->pool[i];
            uint32_t up = ig_tree_node_at(m->t, x.at)->parent;
            if (up == 0) {
                self = ig_sat_add(self, weight(m, &x, 0));
                base_self = ig_sat_add(base_self, weight(m, &x, 1));
            } else {
                m->kids[nk++] = (member){up, x.origin};
            }
        }
    } else {
        size_t want = 0;
        for (size_t i = g.lo; i < g.hi; i++) {
            const ig_tree_node *nd = ig_tree_node_at(m->t, m->pool[i].at);
            self = ig_sat_add(self, nd->self);
            base_self = ig_sat_add(base_self, nd->base_self);
            for (uint32_t c = nd->first_child; c; c = ig_tree_node_at(m->t, c)->next_sibling)
                want++;
        }
        reserve_kids(m, want);
        for (size_t i = g.lo; i < g.hi; i++)
            for (uint32_t c = ig_tree_node_at(m->t, m->pool[i].at)->first_child; c;
                 c = ig_tree_node_at(m->t, c)->next_sibling)
                m->kids[nk++] = (member){c, c};
    }
    m->npool = g.lo; /* this group's segment is the last one */
    emit(m, g.depth, self, base_self, *scratch);
    if (nk)
        push_runs(m, nk, g.depth + 1);
    return 0;
}

/* Outermost nodes named fn, in depth-first order. */
static member *occurrences(const ig_tree *t, const char *fn, size_t *count, ig_progress *pr, int *cancelled)
{
    size_t n = ig_tree_size(t), cap = 64, k = 0;
    member *occ = ig_xmalloc(cap * sizeof *occ);
    int8_t *is_fn = NULL; /* per name id: -1 unknown, 0, 1 */
    size_t nnames = 0;
    ig_progress_step(pr, "finding the function", n);
    const ig_tree_node *nodes = ig_tree_node_at(t, 0);
    for (uint32_t i = 1; i < n;) {
        if ((i & 65535) == 0 && ig_progress_add(pr, 65536)) {
            *cancelled = 1;
            break;
        }
        uint32_t name = nodes[i].name;
        if (name >= nnames) {
            size_t nn = nnames ? nnames : 1024;
            while (nn <= name)
                nn *= 2;
            is_fn = ig_xrealloc(is_fn, nn);
            memset(is_fn + nnames, -1, nn - nnames);
            nnames = nn;
        }
        if (is_fn[name] < 0)
            is_fn[name] = !strcmp(ig_tree_name(t, name), fn);
        if (!is_fn[name]) {
            i++;
            continue;
        }
        if (k == cap)
            occ = ig_xrealloc(occ, (cap *= 2) * sizeof *occ);
        occ[k++] = (member){i, i};
        /* skip the subtree: the next sibling of i or of an ancestor */
        uint32_t j = i;
        while (j != 0 && !nodes[j].next_sibling)
            j = nodes[j].parent;
        i = j ? nodes[j].next_sibling : (uint32_t)n;
    }
    free(is_fn);
    *count = k;
    return occ;
}

static ig_tree *pane_tree(merger *m, ig_err *err)
{
    ig_tree_opts o = {.value = 0};
    ig_tree *t = ig_tree_build(m->side[0].p, &o, err);
    if (t && m->diff && ig_tree_add_base(t, m->side[1].p, err) < 0) {
        ig_tree_free(t);
        t = NULL;
    }
    return t;
}

/* Builds one pane (callers or callees) from the occurrences. */
static ig_tree *merge_pane(const ig_tree *t, const member *occ, size_t nocc, int callers, ig_progress *pr,
                           ig_err *err)
{
    merger m;
    memset(&m, 0, sizeof m);
    m.t = t;
    m.callers = callers;
    m.diff = ig_tree_is_diff(t);
    m.pr = pr;
    int64_t total = 0, base_total = 0;
    uint64_t work = 0;
    for (size_t i = 0; i < nocc; i++) {
        const ig_tree_node *n = ig_tree_node_at(t, occ[i].at);
        total = ig_sat_add(total, n->total);
        base_total = ig_sat_add(base_total, n->base_total);
        work += callers ? n->depth : subtree_end(t, occ[i].at) - occ[i].at;
    }
    ig_progress_step(pr, callers ? "merging the callers" : "merging the callees", work);
    m.th = total / IG_SANDWICH_DETAIL;
    m.base_th = base_total / IG_SANDWICH_DETAIL;
    for (int s = 0; s < 1 + m.diff; s++)
        m.side[s].p = new_profile(t);
    reserve_kids(&m, nocc);
    memcpy(m.kids, occ, nocc * sizeof *occ);
    push_runs(&m, nocc, 1);
    uint32_t *scratch = NULL;
    size_t capscratch = 0;
    int rc = 0;
    while (m.nstack && rc == 0)
        rc = expand_top(&m, &scratch, &capscratch);
    ig_tree *pane = rc == 0 ? pane_tree(&m, err) : NULL;
    if (rc)
        ig_err_set(err, "cancelled");
    for (int s = 0; s < 2; s++) {
        ignis_profile_free(m.side[s].p);
        free(m.side[s].ids);
        free(m.path[s]);
    }
    free(scratch);
    free(m.pool);
    free(m.stack);
    free(m.runs);
    free(m.kids);
    return pane;
}

int ig_sandwich_trees(const ig_tree *t, const char *fn, ig_progress *pr, ig_tree **callers, ig_tree **callees,
                      ig_err *err)
{
    *callers = *callees = NULL;
    int cancelled = 0;
    size_t nocc;
    member *occ = occurrences(t, fn, &nocc, pr, &cancelled);
    if (cancelled || !nocc) {
        free(occ);
        return cancelled ? ig_err_set(err, "cancelled") : ig_err_set(err, "no frame named %s", fn);
    }
    *callers = merge_pane(t, occ, nocc, 1, pr, err);
    if (*callers)
        *callees = merge_pane(t, occ, nocc, 0, pr, err);
    free(occ);
    if (!*callees) {
        ig_tree_free(*callers);
        *callers = NULL;
        return -1;
    }
    return 0;
}
