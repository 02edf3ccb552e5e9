/*
 * exporters/pbarena.c — budgeted bump arenas for protobuf-c (see
 * pbarena.h).
 *
 * The budget is 8 bytes per wire byte plus 1 MiB: a packed array costs 8
 * bytes per element of at least one wire byte, and protobuf-c spends
 * 32-64 bytes of bookkeeping per field of a message with more than 16
 * fields and 50-70 bytes per repeated sub-message (a line, a label).  The
 * slack lets a real element (thousands of lines or labels) through, while
 * an element of millions of empty sub-messages is refused at 8 times its
 * size plus the slack.
 */
#include "exporters/pbarena.h"
#include "utils/strbuf.h"
#include "utils/utf8.h"

#include <stdlib.h>
#include <string.h>

#define BYTES_PER_WIRE_BYTE 8
#define SLACK ((size_t)1 << 20)
#define MAX_CHUNK ((size_t)64 << 20)

struct ig_pb_chunk {
    struct ig_pb_chunk *next;
    size_t used, size;
    max_align_t data[];
};

static void *arena_alloc(void *ctx, size_t n)
{
    ig_pb_arena *a = ctx;
    n = (n + 15) & ~(size_t)15;
    if (n > a->budget - a->spent) {
        a->over = 1;
        return NULL;
    }
    a->spent += n;
    struct ig_pb_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        /* one chunk for what the budget still allows (up to 64 MiB): a
         * message rarely needs a second */
        size_t size = a->budget - a->spent + n;
        if (size > MAX_CHUNK)
            size = MAX_CHUNK;
        if (size < n)
            size = n;
        c = ig_xmalloc(sizeof *c + size);
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_noop_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p;
}

static void free_chunks(struct ig_pb_chunk *c)
{
    while (c) {
        struct ig_pb_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* Empties the arena for a message of `wire` bytes: keeps the newest
 * (largest) chunk, frees the others, sets the budget. */
static void arena_reset(ig_pb_arena *a, size_t wire)
{
    if (a->head) {
        free_chunks(a->head->next);
        a->head->next = NULL;
        a->head->used = 0;
    }
    a->spent = 0;
    a->over = 0;
    a->budget = wire > (SIZE_MAX - SLACK) / BYTES_PER_WIRE_BYTE ? SIZE_MAX : wire * BYTES_PER_WIRE_BYTE + SLACK;
}

void *ig_pb_arena_unpack(ig_pb_arena *a, const ProtobufCMessageDescriptor *desc, size_t len, const uint8_t *data)
{
    arena_reset(a, len);
    ProtobufCAllocator alloc = {arena_alloc, arena_noop_free, a};
    return protobuf_c_message_unpack(desc, &alloc, len, data ? data : (const uint8_t *)"");
}

void ig_pb_arena_release(ig_pb_arena *a)
{
    free_chunks(a->head);
    a->head = NULL;
}

uint32_t ig_pb_intern_string(ignis_profile *p, const char *s, size_t n)
{
    if (!n || !memchr(s, '\0', n))
        return ignis_profile_intern_n(p, s, n);
    ig_strbuf shown = IG_STRBUF_INIT;
    ig_utf8_append_nul_shown(&shown, s, n);
    uint32_t id = ignis_profile_intern_n(p, shown.data, shown.len);
    ig_sb_free(&shown);
    return id;
}
