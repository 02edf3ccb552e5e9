/*
 * exporters/pbarena.h — budgeted bump arenas for decoding hostile protobuf.
 *
 * protobuf-c allocates every decoded message, array and string on its
 * own, and spends tens of bytes on an empty sub-message of two wire
 * bytes, so unpacking a small hostile message could claim gigabytes.  The
 * profile decoders (exporters/pprof.c, exporters/otlp_profiles_decode.c)
 * therefore decode one element at a time into an arena that is refilled
 * for each message, with a budget proportional to the message's wire
 * size: allocations are nearly free, all are released at once, and memory
 * follows the input.
 */
#ifndef IG_EXPORTERS_PBARENA_H
#define IG_EXPORTERS_PBARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ignis/profile.h"

typedef struct ig_pb_arena {
    struct ig_pb_chunk *head; /* newest chunk first */
    size_t spent, budget;     /* bytes handed out since the last unpack, and the most allowed */
    int over;                 /* an allocation was refused */
} ig_pb_arena;

/* Unpacks `len` bytes as a message of `desc` into the arena, forgetting
 * what it held before (its newest chunk is kept, so a stream of small
 * messages allocates nothing).  NULL on invalid data or when the message
 * needs more than its budget; then a->over tells which, and a->budget is
 * the budget that was refused. */
void *ig_pb_arena_unpack(ig_pb_arena *a, const ProtobufCMessageDescriptor *desc, size_t len, const uint8_t *data);

/* Interns the wire string s[0..n) into p whole: one holding a NUL gets
 * each NUL as \u0000 (IG_NUL_SHOWN, utils/utf8.h), since the model's
 * strings are C strings, rather than being cut into a shorter name. */
uint32_t ig_pb_intern_string(ignis_profile *p, const char *s, size_t n);

/* Frees every chunk; the arena can be used again. */
void ig_pb_arena_release(ig_pb_arena *a);

#endif
