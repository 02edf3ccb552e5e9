/*
 * collect/batch.c — the arrays and arena of a decoded request
 * (collect/batch.h).
 *
 * Arrays grow by doubling; strings go to the arena.  The byte count a
 * batch reports is what it really holds (capacities, not lengths), so the
 * writer's queue bound is a bound on memory.
 */
#include "collect/batch.h"

#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"

ig_batch *ig_batch_new(void)
{
    return ig_xcalloc(1, sizeof(ig_batch));
}

void ig_batch_free(ig_batch *b)
{
    if (!b)
        return;
    free(b->resources);
    free(b->scopes);
    free(b->spans);
    free(b->events);
    free(b->links);
    ig_arena_free(&b->arena);
    free(b);
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
