/*
 * collect/batch.h — one decoded OTLP request, ready for the store.
 *
 * The request decoders (collect/decode.c for protobuf, decode_json.c for
 * OTLP/JSON) validate every span and turn the accepted ones into this flat
 * form: arrays of resources, scopes, spans, events and links, with every
 * string copied into the batch's arena and every attribute set already
 * rendered as the JSON object the store keeps (docs/TRACE_STORE.md).  So
 * the writer thread only binds values to prepared statements, and the
 * HTTP threads do the decoding work in parallel with it.  A batch owns
 * all its memory; `bytes` is what it holds, which the writer's queue
 * counts against its bound.
 */
#ifndef IG_COLLECT_BATCH_H
#define IG_COLLECT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/arena.h"

/* A string with its length (NUL-terminated too); s is never NULL. */
typedef struct ig_bstr {
    const char *s;
    uint32_t len;
} ig_bstr;

typedef struct ig_batch_resource {
    uint64_t digest;            /* hash of everything below: equal resources share a row */
    ig_bstr service;            /* service.name, or "unknown_service" */
    ig_bstr attrs;              /* JSON object */
    ig_bstr schema_url;
    uint32_t dropped_attrs;
} ig_batch_resource;

typedef struct ig_batch_scope {
    uint64_t digest;
    ig_bstr name, version;
    ig_bstr attrs;
    ig_bstr schema_url;
    uint32_t dropped_attrs;
} ig_batch_scope;

typedef struct ig_batch_event {
    uint64_t time_ns;
    ig_bstr name;
    ig_bstr attrs;
    uint32_t dropped_attrs;
} ig_batch_event;

typedef struct ig_batch_link {
    uint8_t trace_id[16], span_id[8];
    ig_bstr trace_state;
    uint32_t flags;
    ig_bstr attrs;
    uint32_t dropped_attrs;
} ig_batch_link;

typedef struct ig_batch_span {
    uint32_t resource, scope;   /* indexes into the batch's arrays */
    uint8_t trace_id[16], span_id[8], parent_span_id[8];
    bool has_parent;
    uint8_t kind;               /* 0..5 (unknown values become 0) */
    uint8_t status_code;        /* 0..2 (unknown values become 0) */
    ig_bstr name;
    ig_bstr status_message;
    ig_bstr trace_state;
    uint32_t flags;
    uint64_t start_ns, end_ns;  /* end >= start > 0 */
    ig_bstr attrs;              /* JSON object */
    uint32_t nattrs;
    uint32_t dropped_attrs, dropped_events, dropped_links;
    uint32_t first_event, nevents;
    uint32_t first_link, nlinks;
} ig_batch_span;

typedef struct ig_batch {
    ig_batch_resource *resources;
    ig_batch_scope *scopes;
    ig_batch_span *spans;
    ig_batch_event *events;
    ig_batch_link *links;
    uint32_t nresources, nscopes, nspans, nevents, nlinks;
    uint32_t cap_resources, cap_scopes, cap_spans, cap_events, cap_links;
    uint64_t received_ns;       /* wall clock when the request arrived */
    ig_store_arena arena;       /* strings */
    struct ig_batch *next;      /* queue link (collect/writer.c) */
} ig_batch;

ig_batch *ig_batch_new(void);
void ig_batch_free(ig_batch *b);

/* Sizes the span array for nspans and the string arena for about
 * arena_bytes, when the decoder knows them up front. */
void ig_batch_reserve(ig_batch *b, uint32_t nspans, size_t arena_bytes);

/* Memory the batch holds (arena and arrays), for queue accounting. */
size_t ig_batch_bytes(const ig_batch *b);

/* Appends an element and returns it zeroed; its index is n - 1. */
ig_batch_resource *ig_batch_add_resource(ig_batch *b);
ig_batch_scope *ig_batch_add_scope(ig_batch *b);
ig_batch_span *ig_batch_add_span(ig_batch *b);
ig_batch_event *ig_batch_add_event(ig_batch *b);
ig_batch_link *ig_batch_add_link(ig_batch *b);

/* Copies len bytes into the arena as a NUL-terminated string. */
ig_bstr ig_batch_str(ig_batch *b, const char *s, size_t len);

/* Drops the last nevents events and nlinks links (a span that failed
 * validation after its events were added). */
void ig_batch_truncate(ig_batch *b, uint32_t nevents, uint32_t nlinks);

#endif
