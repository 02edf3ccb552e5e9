/*
 * collect/arena.h — a bump allocator for results and decoded batches.
 *
 * Store results (a trace list, a loaded trace, span details) and decoded
 * requests are made of many small strings and arrays that all die
 * together; one arena per result means one free, and no per-string
 * malloc.  Chunks double in size up to 1 MiB; a request bigger than a
 * chunk gets a chunk of its own.
 */
#ifndef IG_COLLECT_ARENA_H
#define IG_COLLECT_ARENA_H

#include <stddef.h>

typedef struct ig_store_arena {
    struct ig_arena_chunk *chunks;
    char *cur, *end;
    size_t bytes;               /* total bytes of all chunks */
} ig_store_arena;

/* Allocates n bytes aligned to 16 (abort on out-of-memory). */
void *ig_arena_alloc(ig_store_arena *a, size_t n);
/* Makes the next n bytes of allocations come from one chunk (a caller
 * that knows roughly how much it will need saves the doubling steps). */
void ig_arena_reserve(ig_store_arena *a, size_t n);
/* Copies len bytes and a NUL. */
char *ig_arena_strndup(ig_store_arena *a, const char *s, size_t len);
char *ig_arena_strdup(ig_store_arena *a, const char *s);
/* Copies len bytes of stored text as a C string for display: each NUL
 * (OTLP strings may hold U+0000; the store keeps it) becomes the six
 * characters \u0000, so the text is shown whole rather than cut there.
 * *out_len (if not NULL) receives the copy's length. */
char *ig_arena_text(ig_store_arena *a, const char *s, size_t len, size_t *out_len);
/* Forgets every allocation but keeps the newest (largest) chunk, so an
 * arena reused for one item after another settles on one chunk. */
void ig_arena_reset(ig_store_arena *a);
/* Releases every chunk; the arena can be used again. */
void ig_arena_free(ig_store_arena *a);

/* A heap-allocated arena (for result structs that hold a pointer). */
ig_store_arena *ig_arena_new(void);
void ig_arena_destroy(ig_store_arena *a);

#endif
