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
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "utils/hash.h"
#include "utils/strbuf.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue PbAny;
typedef Opentelemetry__Proto__Common__V1__ArrayValue PbArray;
typedef Opentelemetry__Proto__Common__V1__KeyValueList PbKVList;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKV;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope PbScope;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Span__Event PbEvent;
typedef Opentelemetry__Proto__Trace__V1__Span__Link PbLink;
typedef Opentelemetry__Proto__Trace__V1__Status PbStatus;

/* Strings of the scratch messages that hold a NUL, with their lengths:
 * protobuf-c strings are C strings, but OTLP/JSON's "a\u0000b" is a
 * valid proto3 string of 3 bytes, kept whole (ig_decode_strlen). */
typedef struct nul_strings {
    const char **s;
    size_t *len;
    size_t n, cap;
    ig_idtab ids;             /* hash of the pointer -> index + 1 */
} nul_strings;

typedef struct decode_ctx {
    ig_batch *b;
    ig_decode_stats *st;
    ig_store_arena scratch;   /* one message tree at a time (reset per span: ig_decode_scratch_reset) */
    nul_strings nuls;         /* strings of scratch holding a NUL */
    ProtobufCAllocator alloc; /* bump allocation from scratch */
    ig_strbuf json;           /* attributes being rendered */
    json_object *str;         /* reused to escape strings */
} decode_ctx;

void ig_decode_ctx_init(decode_ctx *c, ig_decode_stats *st);
/* Frees the scratch memory; the batch is the caller's (c->b). */
void ig_decode_ctx_done(decode_ctx *c);

/* Rewinds the scratch arena (and forgets its strings' lengths). */
void ig_decode_scratch_reset(decode_ctx *c);

/* Copies len bytes of a JSON string into scratch, NUL-terminated; one
 * holding a NUL keeps its length for ig_decode_strlen. */
char *ig_decode_strndup(decode_ctx *c, const char *s, size_t len);

/* The length of a string of the scratch messages: its recorded length
 * when it holds a NUL, else strlen.  NULL is 0. */
size_t ig_decode_strlen(const decode_ctx *c, const char *s);

/* Adds a resource (NULL = empty) / scope (NULL = empty); returns its index. */
uint32_t ig_decode_add_resource(decode_ctx *c, const PbResource *r, const char *schema_url);
uint32_t ig_decode_add_scope(decode_ctx *c, const PbScope *s, const char *schema_url);

/* Validates a span; adds it or counts it rejected. */
void ig_decode_add_span(decode_ctx *c, const PbSpan *s, uint32_t resource, uint32_t scope);

/* Counts one span rejected for `why` (kept if it is the first). */
void ig_decode_reject(decode_ctx *c, const char *why);

#endif
