/*
 * tests/trace/helpers.h — test exporters for the tracing SDK tests.
 *
 * collector: copies every exported span into owned records (deep copies
 * of the fields the tests check) under a mutex, and lets a test wait for
 * N spans on a condition variable.  With `block` set, export_spans waits
 * on a "gate" until the test opens it (a stuck or slow exporter), and
 * signals when it has entered an export, so tests synchronise without
 * sleeping.
 */
#ifndef TESTS_TRACE_HELPERS_H
#define TESTS_TRACE_HELPERS_H

#include "libtrace/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct rec_attr {
    char key[64];
    int type;
    char s[256];
    int64_t i;
    double d;
    bool b;
    uint32_t len;
} rec_attr;

typedef struct rec_span {
    char name[128];
    uint8_t trace_id[16], span_id[8], parent[8];
    bool has_parent, parent_remote;
    uint8_t flags, kind, status;
    char status_msg[128];
    char tracestate[256];
    uint64_t start_ns, end_ns;
    rec_attr attrs[16];
    uint32_t nattrs, dropped_attrs;
    char event_names[8][64];
    uint32_t nevents, dropped_events;
    uint32_t event_nattrs[8], event_dropped_attrs[8];
    rec_attr event0_attrs[8];
    uint32_t nlinks, dropped_links;
    uint32_t link0_nattrs, link0_dropped;
    uint8_t link0_trace[16];
    char scope[64];
    const ig_resource *resource;
} rec_span;

typedef struct collector {
    ig_exporter base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_span *spans;
    size_t n, cap;
    size_t exports;      /* export_spans calls */
    size_t max_batch;
    int last_timeout;
    bool block;          /* export_spans waits until gate opens */
    bool gate_open;
    bool in_export;      /* an export is waiting at the gate */
    int destroyed;       /* set by destroy (not freed: tests own it) */
    int flushes;
    int fail;            /* return IG_EXPORT_FAILED */
} collector;

__attribute__((unused)) static void rec_copy_attr(rec_attr *r, const ig_attr *a)
{
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%s", a->key);
    r->type = a->type;
    r->len = a->len;
    switch (a->type) {
    case IG_ATTR_STRING: snprintf(r->s, sizeof r->s, "%s", a->v.s); break;
    case IG_ATTR_INT: r->i = a->v.i; break;
    case IG_ATTR_DOUBLE: r->d = a->v.d; break;
    case IG_ATTR_BOOL: r->b = a->v.b; break;
    case IG_ATTR_STRING_ARRAY: if (a->len) snprintf(r->s, sizeof r->s, "%s", a->v.sa[a->len - 1]); break;
    case IG_ATTR_INT_ARRAY: if (a->len) r->i = a->v.ia[a->len - 1]; break;
    case IG_ATTR_DOUBLE_ARRAY: if (a->len) r->d = a->v.da[a->len - 1]; break;
    case IG_ATTR_BOOL_ARRAY: if (a->len) r->b = a->v.ba[a->len - 1]; break;
    }
}

__attribute__((unused)) static void rec_copy(rec_span *r, const ig_span_data *d)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", d->name);
    memcpy(r->trace_id, d->trace_id, 16);
    memcpy(r->span_id, d->span_id, 8);
    memcpy(r->parent, d->parent_span_id, 8);
    r->has_parent = d->has_parent;
    r->parent_remote = d->parent_is_remote;
    r->flags = d->flags;
    r->kind = d->kind;
    r->status = d->status_code;
    if (d->status_message)
        snprintf(r->status_msg, sizeof r->status_msg, "%s", d->status_message);
    if (d->tracestate)
        snprintf(r->tracestate, sizeof r->tracestate, "%s", d->tracestate);
    r->start_ns = d->start_ns;
    r->end_ns = d->end_ns;
    for (uint32_t i = 0; i < d->nattrs && i < 16; i++)
        rec_copy_attr(&r->attrs[i], &d->attrs[i]);
    r->nattrs = d->nattrs;
    r->dropped_attrs = d->dropped_attrs;
    r->nevents = d->nevents;
    r->dropped_events = d->dropped_events;
    for (uint32_t i = 0; i < d->nevents && i < 8; i++) {
        snprintf(r->event_names[i], 64, "%s", d->events[i].name);
        r->event_nattrs[i] = d->events[i].nattrs;
        r->event_dropped_attrs[i] = d->events[i].dropped_attrs;
    }
    for (uint32_t i = 0; d->nevents && i < d->events[0].nattrs && i < 8; i++)
        rec_copy_attr(&r->event0_attrs[i], &d->events[0].attrs[i]);
    r->nlinks = d->nlinks;
    r->dropped_links = d->dropped_links;
    if (d->nlinks) {
        r->link0_nattrs = d->links[0].nattrs;
        r->link0_dropped = d->links[0].dropped_attrs;
        memcpy(r->link0_trace, d->links[0].trace_id, 16);
    }
    if (d->scope && d->scope->name)
        snprintf(r->scope, sizeof r->scope, "%s", d->scope->name);
    r->resource = d->resource;
}

__attribute__((unused)) static int collector_export(ig_exporter *e, const ig_span_data *const *spans, size_t n, int timeout_ms)
{
    collector *c = (collector *)e;
    pthread_mutex_lock(&c->mu);
    c->exports++;
    c->last_timeout = timeout_ms;
    if (n > c->max_batch)
        c->max_batch = n;
    if (c->block) {
        c->in_export = true;
        pthread_cond_broadcast(&c->cv);
        while (!c->gate_open)
            pthread_cond_wait(&c->cv, &c->mu);
        c->in_export = false;
    }
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->spans = realloc(c->spans, c->cap * sizeof *c->spans);
    }
    for (size_t i = 0; i < n; i++)
        rec_copy(&c->spans[c->n++], spans[i]);
    pthread_cond_broadcast(&c->cv);
    int fail = c->fail;
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(fail ? &e->counters.failed : &e->counters.exported, n);
    return fail ? IG_EXPORT_FAILED : IG_EXPORT_OK;
}

__attribute__((unused)) static int collector_flush(ig_exporter *e, int timeout_ms)
{
    (void)timeout_ms;
    collector *c = (collector *)e;
    pthread_mutex_lock(&c->mu);
    c->flushes++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

__attribute__((unused)) static void collector_destroy(ig_exporter *e)
{
    collector *c = (collector *)e;
    pthread_mutex_lock(&c->mu);
    c->destroyed++;
    pthread_mutex_unlock(&c->mu);
}

__attribute__((unused)) static void collector_init(collector *c)
{
    memset(c, 0, sizeof *c);
    c->base.name = "test-collector";
    c->base.export_spans = collector_export;
    c->base.force_flush = collector_flush;
    c->base.destroy = collector_destroy;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

__attribute__((unused)) static void collector_fini(collector *c)
{
    free(c->spans);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

__attribute__((unused)) static void collector_open_gate(collector *c)
{
    pthread_mutex_lock(&c->mu);
    c->gate_open = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Waits (bounded, 20 s) until an export is blocked at the gate. */
__attribute__((unused)) static bool collector_wait_in_export(collector *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&c->mu);
    while (!c->in_export)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    bool r = c->in_export;
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* Waits (bounded, 20 s) until at least n spans were exported. */
__attribute__((unused)) static size_t collector_wait(collector *c, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&c->mu);
    while (c->n < n)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    size_t r = c->n;
    pthread_mutex_unlock(&c->mu);
    return r;
}

__attribute__((unused)) static const rec_span *collector_find(collector *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->spans[i].name, name))
            return &c->spans[i];
    return NULL;
}

__attribute__((unused)) static const rec_attr *rec_find_attr(const rec_span *r, const char *key)
{
    for (uint32_t i = 0; i < r->nattrs && i < 16; i++)
        if (!strcmp(r->attrs[i].key, key))
            return &r->attrs[i];
    return NULL;
}

/* Options for a provider with an always_on sampler and simple export. */
__attribute__((unused)) static void test_options(ignis_provider_options *o, bool simple)
{
    ignis_provider_options_init(o);
    o->sampler = IGNIS_SAMPLER_ALWAYS_ON;
    o->service_name = "test-svc";
    o->processor = simple ? IGNIS_PROCESSOR_SIMPLE : IGNIS_PROCESSOR_BATCH;
    o->thread_attributes = false; /* attribute counts below are the test's own (test_span checks these) */
}

/* Captured log lines. */
typedef struct logcap {
    pthread_mutex_t mu;
    char last[1024];
    int warnings;
    char last_info[1024];
    int infos;
} logcap;

static logcap g_logcap = {PTHREAD_MUTEX_INITIALIZER, "", 0, "", 0};

__attribute__((unused)) static void logcap_fn(int level, const char *msg, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_logcap.mu);
    if (level <= IGNIS_LOG_WARN) {
        g_logcap.warnings++;
        snprintf(g_logcap.last, sizeof g_logcap.last, "%s", msg);
    } else if (level == IGNIS_LOG_INFO) {
        g_logcap.infos++;
        snprintf(g_logcap.last_info, sizeof g_logcap.last_info, "%s", msg);
    }
    pthread_mutex_unlock(&g_logcap.mu);
}

__attribute__((unused)) static void logcap_reset(void)
{
    pthread_mutex_lock(&g_logcap.mu);
    g_logcap.warnings = 0;
    g_logcap.last[0] = '\0';
    g_logcap.infos = 0;
    g_logcap.last_info[0] = '\0';
    pthread_mutex_unlock(&g_logcap.mu);
    ignis_trace_set_logger(logcap_fn, NULL);
}

/* ---- a header carrier (propagation tests) ---------------------------------------- */

/* Headers to extract from (k/v, n) and the ones injected (setk/setv). */
typedef struct hdrs {
    const char *k[10], *v[10];
    size_t n;
    char setk[10][32], setv[10][600];
    size_t nset;
} hdrs;

static inline const char *hget(void *arg, const char *name)
{
    hdrs *h = arg;
    for (size_t i = 0; i < h->n; i++)
        if (!strcasecmp(h->k[i], name))
            return h->v[i];
    return NULL;
}

static inline void hset(void *arg, const char *name, const char *value)
{
    hdrs *h = arg;
    snprintf(h->setk[h->nset], sizeof h->setk[0], "%s", name);
    snprintf(h->setv[h->nset], sizeof h->setv[0], "%s", value);
    h->nset++;
}

/* The value injected under name (any case), or NULL. */
static inline const char *hfind(hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->nset; i++)
        if (!strcasecmp(h->setk[i], name))
            return h->setv[i];
    return NULL;
}

#endif
