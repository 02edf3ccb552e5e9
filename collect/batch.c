/*
 * collect/batch.c — the arrays and arena of a decoded request
 * (collect/batch.h).
 *
 * Arrays grow by doubling; strings go to the arena.  The byte count a
 * batch reports is what it really holds (capacities, not lengths), so the
 * writer's queue bound is a bound on memory.
 *
 * Freed batches of ordinary size go back to a small pool and are handed
 * out again with their arrays and one arena chunk: a batch is filled on an
 * HTTP thread and freed on the writer thread hundreds of times a second,
 * and fresh memory each time would cost a page fault every 4 KiB.
 */
#include "collect/batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"

enum { POOL_MAX = 4, POOL_MAX_BYTES = 2 << 20 };

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static ig_batch *pool[POOL_MAX];
static size_t npool;

ig_batch *ig_batch_new(void)
{
    pthread_mutex_lock(&pool_lock);
    ig_batch *b = npool ? pool[--npool] : NULL;
    pthread_mutex_unlock(&pool_lock);
    return b ? b : ig_xcalloc(1, sizeof(ig_batch));
}

/* Empties a batch but keeps its arrays and newest arena chunk. */
static void batch_clear(ig_batch *b)
{
    b->nresources = b->nscopes = b->nspans = b->nevents = b->nlinks = 0;
    b->received_ns = 0;
    b->next = NULL;
    ig_arena_reset(&b->arena);
}

void ig_batch_free(ig_batch *b)
{
    if (!b)
        return;
    if (ig_batch_bytes(b) <= POOL_MAX_BYTES) {
        batch_clear(b);
        pthread_mutex_lock(&pool_lock);
        bool kept = npool < POOL_MAX;
        if (kept)
            pool[npool++] = b;
        pthread_mutex_unlock(&pool_lock);
        if (kept)
            return;
    }
    free(b->resources);
    free(b->scopes);
    free(b->spans);
    free(b->events);
    free(b->links);
    ig_arena_free(&b->arena);
    free(b);
}

void ig_batch_reserve(ig_batch *b, uint32_t nspans, size_t arena_bytes)
{
    if (nspans > b->cap_spans) {
        b->spans = ig_xrealloc(b->spans, (size_t)nspans * sizeof *b->spans);
        b->cap_spans = nspans;
    }
    if (arena_bytes)
        ig_arena_reserve(&b->arena, arena_bytes);
}

size_t ig_batch_bytes(const ig_batch *b)
{
    return sizeof *b + b->arena.bytes + b->cap_resources * sizeof *b->resources +
           b->cap_scopes * sizeof *b->scopes + b->cap_spans * sizeof *b->spans +
           b->cap_events * sizeof *b->events + b->cap_links * sizeof *b->links;
}

/* Makes room for one more element of an array; returns the new element. */
static void *grow(void **arr, uint32_t *n, uint32_t *cap, size_t elem)
{
    if (*n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 16;
        *arr = ig_xrealloc(*arr, elem * ncap);
        *cap = ncap;
    }
    char *p = (char *)*arr + elem * (*n)++;
    memset(p, 0, elem);
    return p;
}

#define ADD(b, field, n, cap) grow((void **)&(b)->field, &(b)->n, &(b)->cap, sizeof *(b)->field)

ig_batch_resource *ig_batch_add_resource(ig_batch *b) { return ADD(b, resources, nresources, cap_resources); }
ig_batch_scope *ig_batch_add_scope(ig_batch *b) { return ADD(b, scopes, nscopes, cap_scopes); }
ig_batch_span *ig_batch_add_span(ig_batch *b) { return ADD(b, spans, nspans, cap_spans); }
ig_batch_event *ig_batch_add_event(ig_batch *b) { return ADD(b, events, nevents, cap_events); }
ig_batch_link *ig_batch_add_link(ig_batch *b) { return ADD(b, links, nlinks, cap_links); }

ig_bstr ig_batch_str(ig_batch *b, const char *s, size_t len)
{
    return (ig_bstr){ig_arena_strndup(&b->arena, s, len), (uint32_t)len};
}

void ig_batch_truncate(ig_batch *b, uint32_t nevents, uint32_t nlinks)
{
    b->nevents -= nevents < b->nevents ? nevents : b->nevents;
    b->nlinks -= nlinks < b->nlinks ? nlinks : b->nlinks;
}
