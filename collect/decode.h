/*
 * collect/decode.h — OTLP trace request bodies to store batches.
 *
 * An ExportTraceServiceRequest, as protobuf (collect/decode.c) or in the
 * OTLP/JSON mapping (collect/decode_json.c), becomes an ig_batch of the
 * spans that pass validation; the others are counted as rejected with the
 * first reason, for the response's partial_success.  A body that is not a
 * well-formed request at all (bad wire format, invalid JSON, wrong JSON
 * types) is refused as a whole: NULL with err set, nothing accepted.
 *
 * A span is accepted when its trace_id is 16 bytes and not all zero, its
 * span_id 8 bytes and not all zero, its parent_span_id empty or 8 bytes
 * (all zero means none), 0 < start <= end < 2^63, its links' ids have
 * the right lengths and its attribute values nest at most
 * IG_DECODE_MAX_DEPTH deep.  Both decoders share the validation and
 * conversion code (the JSON decoder builds the same protobuf-c messages),
 * so the two encodings of one request give the same batch.
 *
 * Memory: a request is never unpacked as one tree; each resource, scope
 * and span is decoded on its own into a scratch arena that is reused, so
 * the decoder holds the body, one span's tree and the batch being built.
 */
#ifndef IG_COLLECT_DECODE_H
#define IG_COLLECT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/batch.h"
#include "utils/err.h"

/* Attribute values nested deeper than this (arrays of arrays ...) reject
 * the span, before protobuf-c, which has no depth limit, recurses. */
#define IG_DECODE_MAX_DEPTH 32

typedef struct ig_decode_stats {
    uint32_t spans;       /* spans in the request (accepted + rejected) */
    uint32_t rejected;    /* spans not accepted */
    char reason[200];     /* why the first rejected span was rejected */
} ig_decode_stats;

/* A protobuf ExportTraceServiceRequest. */
ig_batch *ig_decode_proto(const uint8_t *body, size_t len, ig_decode_stats *st, ig_err *err);

/* The same request in OTLP/JSON (field names in lowerCamelCase or as in
 * the .proto, ids in hex, 64-bit integers as strings or numbers, enums as
 * numbers or names; unknown fields are ignored). */
ig_batch *ig_decode_json(const char *body, size_t len, ig_decode_stats *st, ig_err *err);

/* The partial_success error_message for st ("" when nothing was rejected). */
void ig_decode_message(const ig_decode_stats *st, char *buf, size_t len);

#endif
