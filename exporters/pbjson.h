/*
 * exporters/pbjson.h — protobuf wire bytes <-> OTLP/JSON, driven by the
 * protobuf-c descriptors generated from our .proto files.
 *
 * The OTLP/JSON encoding is protobuf's JSON mapping with OTLP's
 * exceptions: field names in lowerCamelCase (snake_case accepted when
 * reading), 64-bit integers as decimal strings (numbers accepted), enums
 * as numbers (names accepted), trace_id / span_id bytes as hex, other
 * bytes as base64, doubles as numbers or "NaN" / "Infinity" /
 * "-Infinity".  Default scalar values are left out; messages and oneof
 * members are written when present.  Unknown fields are skipped both
 * ways.  Nesting is limited to 64 levels (the JSON parser's limit too).
 */
#ifndef IG_EXPORTERS_PBJSON_H
#define IG_EXPORTERS_PBJSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/err.h"
#include "utils/strbuf.h"

/* Appends the JSON form of the message of type d in data[0..len) to out
 * (one line).  -1 with err set when the bytes are not such a message. */
int ig_pbjson_from_pb(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, ig_strbuf *out,
                      ig_err *err);

/* Appends the protobuf encoding of the JSON text json[0..len), a message
 * of type d, to out.  -1 with err set ("malformed OTLP/JSON: ...") when
 * it does not parse or a value has the wrong type or range. */
int ig_pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len, ig_strbuf *out, ig_err *err);

#endif
