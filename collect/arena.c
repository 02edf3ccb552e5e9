/*
 * collect/arena.c — the bump allocator of collect/arena.h.
 *
 * A chunk list with the newest chunk first; allocation bumps a pointer in
 * it.  Chunks start at 4 KiB and double up to 1 MiB, so a small result
 * costs one small malloc and a big one few; a single request larger than
 * the next chunk gets a chunk of exactly its size.
 */
#include "collect/arena.h"

#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "utils/utf8.h"

struct ig_arena_chunk {
    struct ig_arena_chunk *next;
    size_t size;
    _Alignas(16) char data[];
};

enum { FIRST_CHUNK = 4096, MAX_CHUNK = 1 << 20 };

static void add_chunk(ig_store_arena *a, size_t min)
{
    size_t size = a->chunks ? a->chunks->size * 2 : FIRST_CHUNK;
    if (size > MAX_CHUNK)
        size = MAX_CHUNK;
    if (size < min)
        size = min;
    struct ig_arena_chunk *c = ig_xmalloc(sizeof *c + size);
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->cur = c->data;
    a->end = c->data + size;
    a->bytes += sizeof *c + size;
}

void *ig_arena_alloc(ig_store_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!a->cur || (size_t)(a->end - a->cur) < n)
        add_chunk(a, n);
    void *p = a->cur;
    a->cur += n;
    return p;
}

void ig_arena_reserve(ig_store_arena *a, size_t n)
{
    if (!a->cur || (size_t)(a->end - a->cur) < n)
        add_chunk(a, n);
}

char *ig_arena_strndup(ig_store_arena *a, const char *s, size_t len)
{
    char *p = ig_arena_alloc(a, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ig_arena_text(ig_store_arena *a, const char *s, size_t len, size_t *out_len)
{
    static const char nul[] = IG_NUL_SHOWN;
    size_t nuls = 0;
    for (const char *p = len ? memchr(s, '\0', len) : NULL; p; p = memchr(p + 1, '\0', len - (size_t)(p + 1 - s)))
        nuls++;
    if (!nuls) {
        if (out_len)
            *out_len = len;
        return ig_arena_strndup(a, s, len);
    }
    size_t n = len + nuls * (sizeof nul - 2); /* NUL -> 6 bytes */
    char *t = ig_arena_alloc(a, n + 1), *o = t;
    for (size_t i = 0; i < len; i++)
        if (s[i]) {
            *o++ = s[i];
        } else {
            memcpy(o, nul, sizeof nul - 1);
            o += sizeof nul - 1;
        }
    *o = '\0';
    if (out_len)
        *out_len = n;
    return t;
}

char *ig_arena_strdup(ig_store_arena *a, const char *s)
{
    return ig_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

void ig_arena_reset(ig_store_arena *a)
{
    struct ig_arena_chunk *keep = a->chunks;
    if (!keep)
        return;
    struct ig_arena_chunk *c = keep->next;
    while (c) {
        struct ig_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    a->chunks = keep;
    a->cur = keep->data;
    a->end = keep->data + keep->size;
    a->bytes = sizeof *keep + keep->size;
}

void ig_arena_free(ig_store_arena *a)
{
    struct ig_arena_chunk *c = a->chunks;
    while (c) {
        struct ig_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof *a);
}

ig_store_arena *ig_arena_new(void)
{
    return ig_xcalloc(1, sizeof(ig_store_arena));
}

void ig_arena_destroy(ig_store_arena *a)
{
    if (!a)
        return;
    ig_arena_free(a);
    free(a);
}
