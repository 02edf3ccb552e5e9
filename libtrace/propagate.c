/*
 * libtrace/propagate.c — inject/extract through carriers.
 *
 * The process-wide propagator set comes from OTEL_PROPAGATORS on first use
 * (default tracecontext,baggage).  Extraction applies trace context first
 * and B3 after it (a later propagator's span context wins, as in the
 * OpenTelemetry composite propagator); for B3 the single `b3` header wins
 * over X-B3-*.  Invalid headers are ignored.  Baggage from the header
 * replaces the base context's baggage.  A B3 debug flag is kept in the
 * extracted context and injected again for spans of that trace: `-d` in
 * `b3`, and X-B3-Flags: 1 instead of X-B3-Sampled.
 *
 * The header-line helpers adapt arrays of "Name: value" strings (the shape
 * of curl_slist and of many HTTP server APIs) to the carrier interface.
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Atomic unsigned g_props = 0; /* 0 = not initialised; bit 31 marks "set" */
#define PROPS_SET 0x80000000u

unsigned ignis_propagators_parse(const char *list)
{
    unsigned mask = 0;
    const char *s = list;
    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *p;
        n = ig_trim(s, n, &p);
        if (n == 12 && !memcmp(p, "tracecontext", 12))
            mask |= IGNIS_PROPAGATE_TRACECONTEXT;
        else if (n == 7 && !memcmp(p, "baggage", 7))
            mask |= IGNIS_PROPAGATE_BAGGAGE;
        else if (n == 2 && !memcmp(p, "b3", 2))
            mask |= IGNIS_PROPAGATE_B3;
        else if (n == 7 && !memcmp(p, "b3multi", 7))
            mask |= IGNIS_PROPAGATE_B3MULTI;
        else if (n == 4 && !memcmp(p, "none", 4))
            ;
        else if (n)
            ig_tlog(IGNIS_LOG_WARN, "OTEL_PROPAGATORS: unknown propagator \"%.*s\"; skipped", (int)(n > 32 ? 32 : n),
                    p);
        if (!comma)
            break;
        s = comma + 1;
    }
    return mask;
}

unsigned ignis_propagators(void)
{
    unsigned v = atomic_load_explicit(&g_props, memory_order_acquire);
    if (v & PROPS_SET)
        return v & ~PROPS_SET;
    const char *env = getenv("OTEL_PROPAGATORS");
    unsigned mask = env && *env ? ignis_propagators_parse(env)
                                : (IGNIS_PROPAGATE_TRACECONTEXT | IGNIS_PROPAGATE_BAGGAGE);
    unsigned expected = 0;
    atomic_compare_exchange_strong(&g_props, &expected, mask | PROPS_SET);
    return atomic_load(&g_props) & ~PROPS_SET;
}

void ignis_set_propagators(unsigned mask) { atomic_store(&g_props, mask | PROPS_SET); }

/* ---- inject ------------------------------------------------------------------- */

void ignis_inject_with(unsigned props, const ignis_context *ctx, const ignis_carrier *c)
{
    if (!c || !c->set)
        return;
    ig_sc sc;
    const ig_baggage *bag;
    const ignis_context *dbg_ctx; /* where a B3 debug flag would be */
    if (ctx) {
        ig_context_sc(ctx, &sc);
        bag = ig_context_baggage(ctx);
        dbg_ctx = ctx;
    } else {
        ig_current_sc(&sc);
        bag = ig_current_baggage();
        dbg_ctx = ig_current_context_entry();
    }
    if (sc.valid) {
        char tid[33], sid[17];
        ig_hex_encode(sc.trace_id, 16, tid);
        ig_hex_encode(sc.span_id, 8, sid);
        bool sampled = sc.flags & IGNIS_TRACE_FLAG_SAMPLED;
        bool debug = ig_context_b3_debug(dbg_ctx, sc.trace_id);
        if (props & IGNIS_PROPAGATE_TRACECONTEXT) {
            char tp[56];
            ig_traceparent_format(sc.trace_id, sc.span_id, sc.flags, tp);
            tp[55] = '\0';
            c->set(c->arg, "traceparent", tp);
            if (sc.tracestate && *sc.tracestate)
                c->set(c->arg, "tracestate", sc.tracestate);
        }
        if (props & IGNIS_PROPAGATE_B3) {
            char b3[64];
            snprintf(b3, sizeof b3, "%s-%s-%c", tid, sid, debug ? 'd' : sampled ? '1' : '0');
            c->set(c->arg, "b3", b3);
        }
        if (props & IGNIS_PROPAGATE_B3MULTI) {
            c->set(c->arg, "X-B3-TraceId", tid);
            c->set(c->arg, "X-B3-SpanId", sid);
            if (debug) /* implies accept: the spec says not to send X-B3-Sampled too */
                c->set(c->arg, "X-B3-Flags", "1");
            else
                c->set(c->arg, "X-B3-Sampled", sampled ? "1" : "0");
        }
    }
    if ((props & IGNIS_PROPAGATE_BAGGAGE) && bag) {
        char *v = ig_baggage_format(bag);
        if (v)
            c->set(c->arg, "baggage", v);
        free(v);
    }
}

void ignis_inject(const ignis_context *ctx, const ignis_carrier *c) { ignis_inject_with(ignis_propagators(), ctx, c); }

/* ---- extract ---------------------------------------------------------------------- */

static const char *get(const ignis_carrier *c, const char *name) { return c->get ? c->get(c->arg, name) : NULL; }

static bool extract_tracecontext(const ignis_carrier *c, ig_remote *r, char **tracestate)
{
    const char *tp = get(c, "traceparent");
    if (!tp || ig_traceparent_parse(tp, strlen(tp), r) < 0)
        return false;
    const char *ts = get(c, "tracestate");
    bool invalid;
    *tracestate = ts ? ig_tracestate_parse(ts, strlen(ts), &invalid) : NULL;
    return true;
}

static bool extract_b3(const ignis_carrier *c, ig_remote *r)
{
    const char *single = get(c, "b3");
    if (single && ig_b3_parse_single(single, strlen(single), r) == 0)
        return true;
    return ig_b3_parse_multi(get(c, "X-B3-TraceId"), get(c, "X-B3-SpanId"), get(c, "X-B3-Sampled"),
                             get(c, "X-B3-Flags"), r) == 0;
}

ignis_context *ignis_extract_with(unsigned props, const ignis_context *base, const ignis_carrier *c)
{
    ig_remote r = {0};
    char *tracestate = NULL;
    bool found = false;
    if (c && (props & IGNIS_PROPAGATE_TRACECONTEXT))
        found = extract_tracecontext(c, &r, &tracestate);
    if (c && (props & (IGNIS_PROPAGATE_B3 | IGNIS_PROPAGATE_B3MULTI))) {
        ig_remote b;
        if (extract_b3(c, &b)) {
            r = b;
            free(tracestate);
            tracestate = NULL;
            found = true;
        }
    }
    ignis_context *ctx;
    if (found) {
        ignis_span_context sc = {.trace_flags = r.flags, .is_remote = true, .tracestate = tracestate};
        memcpy(sc.trace_id, r.trace_id, 16);
        memcpy(sc.span_id, r.span_id, 8);
        ctx = ignis_context_with_remote(base, &sc);
        ctx->b3_debug = r.debug;
        memcpy(ctx->debug_trace, r.trace_id, 16);
    } else {
        ctx = ig_context_with_bag(base, base ? base->bag : NULL); /* a copy of base */
    }
    free(tracestate);
    const char *bv = c && (props & IGNIS_PROPAGATE_BAGGAGE) ? get(c, "baggage") : NULL;
    ig_baggage *bag = bv ? ig_baggage_parse(bv, strlen(bv), NULL) : NULL;
    if (bag) {
        ignis_context *nc = ig_context_with_bag(ctx, bag);
        ig_baggage_unref(bag);
        ignis_context_release(ctx);
        ctx = nc;
    }
    return ctx;
}

ignis_context *ignis_extract(const ignis_context *base, const ignis_carrier *c)
{
    return ignis_extract_with(ignis_propagators(), base, c);
}

/* ---- header lines -------------------------------------------------------------------- */

typedef struct lines_carrier {
    const char *const *lines;
    size_t n;
    char *vals[16]; /* values handed out (freed after extraction) */
    size_t nvals;
} lines_carrier;

static const char *lines_get(void *arg, const char *name)
{
    lines_carrier *lc = arg;
    size_t nl = strlen(name);
    ig_strbuf sb = IG_STRBUF_INIT;
    bool found = false;
    for (size_t i = 0; i < lc->n; i++) {
        const char *l = lc->lines[i];
        if (!l)
            continue;
        const char *colon = strchr(l, ':');
        if (!colon)
            continue;
        const char *k;
        size_t kn = ig_trim(l, (size_t)(colon - l), &k);
        if (kn != nl || strncasecmp(k, name, nl) != 0)
            continue;
        size_t vn = strlen(colon + 1);
        while (vn && (colon[vn] == '\r' || colon[vn] == '\n'))
            vn--;
        const char *v;
        vn = ig_trim(colon + 1, vn, &v);
        if (found)
            ig_sb_putc(&sb, ',');
        ig_sb_append(&sb, v, vn);
        found = true;
    }
    if (!found || lc->nvals == sizeof lc->vals / sizeof *lc->vals) {
        ig_sb_free(&sb);
        return NULL;
    }
    if (!sb.data)
        ig_sb_puts(&sb, "");
    return lc->vals[lc->nvals++] = ig_sb_detach(&sb, NULL);
}

ignis_context *ignis_extract_header_lines(const ignis_context *base, const char *const *lines, size_t n)
{
    lines_carrier lc = {.lines = lines, .n = lines ? n : 0}; /* NULL: no lines, whatever n says */
    ignis_carrier c = {&lc, lines_get, NULL};
    ignis_context *ctx = ignis_extract(base, &c);
    for (size_t i = 0; i < lc.nvals; i++)
        free(lc.vals[i]);
    return ctx;
}

typedef struct lines_out {
    char **lines;
    size_t max, n;
} lines_out;

static void lines_set(void *arg, const char *name, const char *value)
{
    lines_out *lo = arg;
    if (lo->n < lo->max) {
        ig_strbuf sb = IG_STRBUF_INIT;
        ig_sb_printf(&sb, "%s: %s", name, value);
        lo->lines[lo->n] = ig_sb_detach(&sb, NULL);
    }
    lo->n++;
}

size_t ignis_inject_header_lines(const ignis_context *ctx, char **lines, size_t max)
{
    lines_out lo = {lines, lines ? max : 0, 0}; /* NULL: only counted */
    ignis_carrier c = {&lo, NULL, lines_set};
    ignis_inject(ctx, &c);
    return lo.n;
}
