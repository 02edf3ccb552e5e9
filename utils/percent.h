/*
 * utils/percent.h — percent-encoding (RFC 3986 style %XX escapes).
 *
 * One decoder and one encoder for every format that carries
 * percent-encoded text: W3C baggage values, OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS.  The formats differ only in which raw bytes
 * they allow and which decoded bytes they refuse, so callers pass those
 * rules as predicates.
 */
#ifndef IG_PERCENT_H
#define IG_PERCENT_H

#include <stdbool.h>
#include <stddef.h>

#include "utils/strbuf.h"

/* Results of ig_percent_decode. */
enum {
    IG_PCT_OK = 0,
    IG_PCT_BAD_ESCAPE = -1, /* '%' not followed by two hex digits */
    IG_PCT_BAD_CHAR = -2,   /* a byte refused by raw_ok or byte_ok */
};

/* Byte predicate: true when c is acceptable. */
typedef bool ig_pct_pred(unsigned char c);

/* Decodes [s, s+n) — %XX escapes with hex digits of either case — and
 * appends the bytes to out (kept NUL-terminated).  raw_ok, if not NULL,
 * must accept every byte outside an escape; byte_ok, if not NULL, must
 * accept every decoded byte, raw or escaped.  Returns IG_PCT_OK or the
 * first error; on error out holds a partial result the caller discards. */
int ig_percent_decode(const char *s, size_t n, ig_pct_pred *raw_ok, ig_pct_pred *byte_ok, ig_strbuf *out);

/* Same into a new malloc'd NUL-terminated string; NULL on any error. */
char *ig_percent_decode_dup(const char *s, size_t n, ig_pct_pred *raw_ok, ig_pct_pred *byte_ok);

/* Appends the NUL-terminated s to out, writing every byte that keep()
 * refuses, and every '%', as an uppercase %XX escape. */
void ig_percent_encode(ig_strbuf *out, const char *s, ig_pct_pred *keep);

#endif
