/*
 * collect/base64.h — base64 (RFC 4648, standard alphabet, padded), the
 * encoding of OTLP/JSON bytes values.  None of the libraries ignis links
 * (json-c, protobuf-c, sqlite3, libcurl) exports one.
 */
#ifndef IG_COLLECT_BASE64_H
#define IG_COLLECT_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/strbuf.h"

/* Appends the encoding of n bytes to out. */
void ig_base64_encode(const uint8_t *in, size_t n, ig_strbuf *out);

/* Decodes text (padding optional, no whitespace) into out, which must
 * hold 3 * (len / 4) + 3 bytes; sets *outlen.  False on invalid input. */
bool ig_base64_decode(const char *text, size_t len, uint8_t *out, size_t *outlen);

#endif
