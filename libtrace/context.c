/*
 * libtrace/context.c — contexts, baggage and the thread-local current stack.
 *
 * An ignis_context is immutable and reference counted: a local span (held
 * by reference), or a remote span context (ids, flags, tracestate), plus a
 * shared immutable baggage list.  "with_*" functions build new contexts.
 *
 * Each thread keeps a stack of scopes in its ig_tcache: an entry is either
 * a span (ignis_span_make_current) or a whole context (ignis_context_attach,
 * e.g. one captured on another thread).  The current span is the top
 * entry's; the current baggage is that of the nearest context entry, so
 * making a span current keeps the baggage around it (and the B3 debug
 * flag, which applies to the trace it was extracted with).  Scope tokens are
 * stack depths, which makes out-of-order ends detectable.  Every push and
 * pop republishes the new top for profilers (ig_tctx_sync, threadctx.c):
 * inline stores into the thread's record, no call.  A span entry holds a
 * reference; its scope's end parks it rather than dropping it, so that the
 * usual scope_end + span_end pair costs one atomic read-modify-write (the
 * make_current's), not two (ig_span_park, internal.h).
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* ---- baggage ------------------------------------------------------------------ */

ig_baggage *ig_baggage_new(const ig_bag_entry *e, size_t n)
{
    ig_baggage *b = ig_xmalloc(sizeof *b + n * sizeof *b->e);
    atomic_init(&b->refs, 1);
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        b->e[i].key = ig_xstrdup(e[i].key);
        b->e[i].value = ig_xstrdup(e[i].value ? e[i].value : "");
        b->e[i].meta = e[i].meta && *e[i].meta ? ig_xstrdup(e[i].meta) : NULL;
    }
    return b;
}

void ig_baggage_unref(ig_baggage *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->e[i].key);
        free(b->e[i].value);
        free(b->e[i].meta);
    }
    free(b);
}

static ig_baggage *bag_ref(ig_baggage *b)
{
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

/* ---- contexts -------------------------------------------------------------------- */

static ignis_context *ctx_alloc(void)
{
    ignis_context *c = ig_xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    return c;
}

/* A copy of base's span part (ref'd) and baggage (ref'd). */
static ignis_context *ctx_clone(const ignis_context *base)
{
    ignis_context *c = ctx_alloc();
    if (!base)
        return c;
    c->span = base->span ? ig_span_ref(base->span) : NULL;
    c->has_remote = base->has_remote;
    memcpy(c->trace_id, base->trace_id, 16);
    memcpy(c->span_id, base->span_id, 8);
    c->flags = base->flags;
    c->tracestate = base->tracestate ? ig_xstrdup(base->tracestate) : NULL;
    c->bag = bag_ref(base->bag);
    c->b3_debug = base->b3_debug;
    memcpy(c->debug_trace, base->debug_trace, 16);
    return c;
}

bool ig_context_b3_debug(const ignis_context *ctx, const uint8_t trace_id[16])
{
    return ctx && ctx->b3_debug && memcmp(ctx->debug_trace, trace_id, 16) == 0;
}

static void ctx_clear_span(ignis_context *c)
{
    if (c->span)
        ignis_span_release(c->span);
    c->span = NULL;
    c->has_remote = false;
    free(c->tracestate);
    c->tracestate = NULL;
}

ignis_context *ignis_context_retain(ignis_context *ctx)
{
    if (ctx)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

static void ctx_release(ignis_context *ctx);

void ignis_context_release(ignis_context *ctx)
{
    if (ctx)
        ctx_release(ctx);
}

ignis_context *ignis_context_empty(void) { return ctx_alloc(); }

ignis_context *ignis_context_with_span(const ignis_context *base, ignis_span *span)
{
    ignis_context *c = ctx_clone(base);
    ctx_clear_span(c);
    c->span = span ? ig_span_ref(span) : NULL;
    return c;
}

ignis_context *ignis_context_with_remote(const ignis_context *base, const ignis_span_context *sc)
{
    ignis_context *c = ctx_clone(base);
    ctx_clear_span(c);
    if (ignis_span_context_is_valid(sc)) {
        c->has_remote = true;
        memcpy(c->trace_id, sc->trace_id, 16);
        memcpy(c->span_id, sc->span_id, 8);
        c->flags = sc->trace_flags;
        c->tracestate = sc->tracestate && *sc->tracestate ? ig_xstrdup(sc->tracestate) : NULL;
    }
    return c;
}

ignis_context *ig_context_with_bag(const ignis_context *base, ig_baggage *bag)
{
    ignis_context *c = ctx_clone(base);
    ig_baggage_unref(c->bag);
    c->bag = bag_ref(bag);
    return c;
}

void ig_context_sc(const ignis_context *ctx, ig_sc *sc)
{
    if (ctx && ctx->span) {
        ig_span_sc(ctx->span, sc);
    } else if (ctx && ctx->has_remote) {
        sc->trace_id = ctx->trace_id;
        sc->span_id = ctx->span_id;
        sc->flags = ctx->flags;
        sc->remote = true;
        sc->valid = true;
        sc->tracestate = ctx->tracestate;
    } else {
        memset(sc, 0, sizeof *sc);
    }
}

bool ignis_context_span_context(const ignis_context *ctx, ignis_span_context *out)
{
    ig_sc sc;
    ig_context_sc(ctx, &sc);
    memset(out, 0, sizeof *out);
    if (!sc.valid)
        return false;
    memcpy(out->trace_id, sc.trace_id, 16);
    memcpy(out->span_id, sc.span_id, 8);
    out->trace_flags = sc.flags;
    out->is_remote = sc.remote;
    out->tracestate = sc.tracestate;
    return true;
}

/* ---- baggage API -------------------------------------------------------------------- */

const ig_baggage *ig_context_baggage(const ignis_context *ctx) { return ctx ? ctx->bag : NULL; }

ignis_context *ignis_context_with_baggage(const ignis_context *base, const char *key, const char *value,
                                          const char *metadata)
{
    const ig_baggage *old = ig_context_baggage(base);
    if (!key || !*key)
        return ctx_clone(base);
    size_t n = old ? old->n : 0, k = 0;
    ig_bag_entry *e = ig_xcalloc(n + 1, sizeof *e);
    for (size_t i = 0; i < n; i++)
        if (strcmp(old->e[i].key, key) != 0)
            e[k++] = old->e[i];
    e[k++] = (ig_bag_entry){(char *)key, (char *)(value ? value : ""), (char *)metadata};
    ig_baggage *b = ig_baggage_new(e, k);
    free(e);
    ignis_context *c = ig_context_with_bag(base, b);
    ig_baggage_unref(b);
    return c;
}

ignis_context *ignis_context_without_baggage(const ignis_context *base, const char *key)
{
    const ig_baggage *old = ig_context_baggage(base);
    if (!old || !key)
        return ctx_clone(base);
    ig_bag_entry *e = ig_xcalloc(old->n + 1, sizeof *e);
    size_t k = 0;
    for (size_t i = 0; i < old->n; i++)
        if (strcmp(old->e[i].key, key) != 0)
            e[k++] = old->e[i];
    ig_baggage *b = k ? ig_baggage_new(e, k) : NULL;
    free(e);
    ignis_context *c = ig_context_with_bag(base, b);
    ig_baggage_unref(b);
    return c;
}

const char *ignis_baggage_get(const ignis_context *ctx, const char *key)
{
    const ig_baggage *b = ig_context_baggage(ctx);
    for (size_t i = 0; b && key && i < b->n; i++)
        if (strcmp(b->e[i].key, key) == 0)
            return b->e[i].value;
    return NULL;
}

size_t ignis_baggage_count(const ignis_context *ctx)
{
    const ig_baggage *b = ig_context_baggage(ctx);
    return b ? b->n : 0;
}

bool ignis_baggage_entry(const ignis_context *ctx, size_t i, const char **key, const char **value,
                         const char **metadata)
{
    const ig_baggage *b = ig_context_baggage(ctx);
    if (!b || i >= b->n)
        return false;
    if (key)
        *key = b->e[i].key;
    if (value)
        *value = b->e[i].value;
    if (metadata)
        *metadata = b->e[i].meta;
    return true;
}

/* ---- the thread-local stack ------------------------------------------------------------ */

static __attribute__((noinline)) void grow_scopes(ig_tcache *tc)
{
    tc->cap = tc->cap ? tc->cap * 2 : 16;
    tc->scopes = ig_xrealloc(tc->scopes, tc->cap * sizeof *tc->scopes);
}

/* Pushes an entry whose references the caller took. */
static inline ignis_scope push(ig_tcache *tc, ignis_span *span, ignis_context *ctx)
{
    if (IG_UNLIKELY(tc->depth == tc->cap))
        grow_scopes(tc);
    tc->scopes[tc->depth++] = (ig_stack_entry){span, ctx};
    ig_tctx_block *b = tc->tctx;
    if (span && IG_LIKELY(b != NULL))
        ig_tctx_publish_span(b, span); /* the common case, without looking at the stack */
    else if (b || IG_UNLIKELY(atomic_load_explicit(&ig_tctx_enabled, memory_order_relaxed)))
        ig_tctx_sync(tc); /* a context, or the thread's first publication */
    return (ignis_scope){tc->depth};
}

ignis_scope ignis_span_make_current(ignis_span *s)
{
    ig_tcache *tc = ig_tcache_get();
    if (IG_UNLIKELY(!s))
        return push(tc, NULL, ctx_alloc());
    if (tc->parked == s)
        tc->parked = NULL; /* made current again before it ended: the parked reference is the scope's */
    else
        ig_span_ref(s);
    return push(tc, s, NULL);
}

ignis_scope ignis_context_attach(ignis_context *ctx)
{
    ig_tcache *tc = ig_tcache_get();
    return push(tc, NULL, ctx ? ignis_context_retain(ctx) : ctx_alloc());
}

static __attribute__((noinline)) void ctx_release(ignis_context *ctx)
{
    if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    ctx_clear_span(ctx);
    ig_baggage_unref(ctx->bag);
    free(ctx);
}

/* A span entry's reference is parked (ig_span_park, internal.h). */
static inline void pop_one(ig_tcache *tc)
{
    ig_stack_entry e = tc->scopes[--tc->depth];
    if (e.span)
        ig_span_park(tc, e.span);
    if (e.ctx)
        ctx_release(e.ctx);
}

static __attribute__((noinline)) void scope_end_slow(ig_tcache *tc, ignis_scope scope)
{
    if (scope.depth == 0 || scope.depth > tc->depth) {
        ig_tlog(IGNIS_LOG_WARN, "ignis_scope_end: scope %u is not active (depth %u); ignored", scope.depth,
                tc->depth);
        return;
    }
    ig_tlog(IGNIS_LOG_WARN, "ignis_scope_end: ending scope %u also ends %u inner scope(s)", scope.depth,
            tc->depth - scope.depth);
    while (tc->depth >= scope.depth)
        pop_one(tc);
    ig_tctx_sync(tc);
}

void ignis_scope_end(ignis_scope scope)
{
    ig_tcache *tc = ig_tcache_get();
    if (IG_UNLIKELY(scope.depth != tc->depth || scope.depth == 0))
        return scope_end_slow(tc, scope);
    pop_one(tc);
    ig_tctx_block *b = tc->tctx;
    if (IG_LIKELY(b != NULL) && !tc->depth)
        ig_tctx_begin(b); /* nothing current any more: the record stays invalid */
    else if (b || IG_UNLIKELY(atomic_load_explicit(&ig_tctx_enabled, memory_order_relaxed)))
        ig_tctx_sync(tc); /* the new top, or the thread's first publication */
}

void ig_tcache_stack_clear(ig_tcache *tc)
{
    while (tc->depth)
        pop_one(tc);
    ignis_span *parked = tc->parked;
    tc->parked = NULL;
    if (parked)
        ig_span_unref(parked);
    if (tc->tctx)
        ig_tctx_publish(tc->tctx, tc);
}

ignis_span *ignis_span_current(void)
{
    ig_tcache *tc = ig_tls_cache;
    if (!tc || !tc->depth)
        return NULL;
    ig_stack_entry *e = &tc->scopes[tc->depth - 1];
    return e->span ? e->span : e->ctx->span;
}

const ignis_context *ig_current_context_entry(void)
{
    ig_tcache *tc = ig_tls_cache;
    for (uint32_t i = tc ? tc->depth : 0; i > 0; i--)
        if (tc->scopes[i - 1].ctx)
            return tc->scopes[i - 1].ctx;
    return NULL;
}

ig_baggage *ig_current_baggage(void)
{
    const ignis_context *c = ig_current_context_entry();
    return c ? c->bag : NULL;
}

ignis_context *ignis_context_current(void)
{
    ig_tcache *tc = ig_tls_cache;
    if (!tc || !tc->depth)
        return ctx_alloc();
    ig_stack_entry *e = &tc->scopes[tc->depth - 1];
    if (e->ctx)
        return ignis_context_retain(e->ctx);
    ignis_context *c = ctx_alloc();
    c->span = ig_span_ref(e->span);
    const ignis_context *around = ig_current_context_entry();
    if (around) {
        c->bag = bag_ref(around->bag);
        c->b3_debug = around->b3_debug;
        memcpy(c->debug_trace, around->debug_trace, 16);
    }
    return c;
}
