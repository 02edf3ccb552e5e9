/*
 * collect/decode_impl.h — what the two request decoders share: protobuf-c
 * messages in, batch entries out (collect/decode.c), used by the protobuf
 * decoder there and by the JSON decoder (collect/decode_json.c), which
 * builds the same messages from JSON.  Internal to collect/decode*.c.
 */
#ifndef IG_COLLECT_DECODE_IMPL_H
#define IG_COLLECT_DECODE_IMPL_H

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "collect/arena.h"
#include "collect/decode.h"
#include "opentelemetry/ignis/text.pb-c.h"
#include "utils/strbuf.h"

/* The messages a request's parts are decoded into: OTLP's, with every
 * string as bytes (proto/opentelemetry/ignis/text.proto), so a string
 * holding U+0000 keeps its length (protobuf-c strings are C strings). */
typedef Ignis__Otlp__Text__AnyValue PbAny;
typedef Ignis__Otlp__Text__ArrayValue PbArray;
typedef Ignis__Otlp__Text__KeyValueList PbKVList;
typedef Ignis__Otlp__Text__KeyValue PbKV;
typedef Ignis__Otlp__Text__InstrumentationScope PbScope;
typedef Ignis__Otlp__Text__Resource PbResource;
typedef Ignis__Otlp__Text__Span PbSpan;
typedef Ignis__Otlp__Text__Span__Event PbEvent;
typedef Ignis__Otlp__Text__Span__Link PbLink;
typedef Ignis__Otlp__Text__Status PbStatus;

typedef struct decode_ctx {
    ig_batch *b;
    ig_decode_stats *st;
    ig_store_arena scratch;   /* one message tree at a time (reset per span: ig_decode_scratch_reset) */
    ProtobufCAllocator alloc; /* bump allocation from scratch */
    ig_strbuf json;           /* attributes being rendered */
    json_object *str;         /* reused to escape strings */
} decode_ctx;

void ig_decode_ctx_init(decode_ctx *c, ig_decode_stats *st);
/* Frees the scratch memory; the batch is the caller's (c->b). */
void ig_decode_ctx_done(decode_ctx *c);

/* Rewinds the scratch arena. */
void ig_decode_scratch_reset(decode_ctx *c);

/* A copy of len bytes of a JSON string in scratch, as a message's string. */
ProtobufCBinaryData ig_decode_text(decode_ctx *c, const char *s, size_t len);

/* Adds a resource (NULL = empty) / scope (NULL = empty); returns its index. */
uint32_t ig_decode_add_resource(decode_ctx *c, const PbResource *r, ProtobufCBinaryData schema_url);
uint32_t ig_decode_add_scope(decode_ctx *c, const PbScope *s, ProtobufCBinaryData schema_url);

/* Validates a span; adds it or counts it rejected. */
void ig_decode_add_span(decode_ctx *c, const PbSpan *s, uint32_t resource, uint32_t scope);

/* Counts one span rejected for `why` (kept if it is the first). */
void ig_decode_reject(decode_ctx *c, const char *why);

#endif
