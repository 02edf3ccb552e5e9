/*
 * utils/utf8_valid.h — UTF-8 validation and U+FFFD replacement.
 *
 * Formats that require UTF-8 (JSON strings, protobuf `string` fields, W3C
 * baggage values after percent-decoding) get text from applications and
 * environments that may hold any bytes.  These helpers check text cheaply
 * (ASCII is scanned eight bytes at a time) and replace what is not
 * well-formed UTF-8 (Unicode Table 3-7: no overlongs, no surrogates,
 * nothing above U+10FFFF) by U+FFFD, one per maximal ill-formed
 * subsequence (Unicode §3.9 "U+FFFD substitution of maximal subparts", as
 * WHATWG decoders and Python's "replace" handler do): "\xFF\xFE" gives two
 * U+FFFD, "\xE2\x82" (a cut-off euro sign) one.
 */
#ifndef IG_UTF8_VALID_H
#define IG_UTF8_VALID_H

#include <stdbool.h>
#include <stddef.h>

#include "utils/strbuf.h"

/* Length of the longest prefix of s[0..n) that is well-formed UTF-8
 * (n when all of it is). */
size_t ig_utf8_valid_prefix(const char *s, size_t n);

static inline bool ig_utf8_is_valid(const char *s, size_t n) { return ig_utf8_valid_prefix(s, n) == n; }

/* The most bytes ig_utf8_sanitize_to can write for n input bytes (every
 * byte may become a 3-byte U+FFFD). */
#define IG_UTF8_SANITIZED_MAX(n) (3 * (n))

/* Writes s[0..n) to dst with every maximal ill-formed subsequence
 * replaced by U+FFFD; dst has room for IG_UTF8_SANITIZED_MAX(n) bytes
 * (no NUL is written).  Returns the length written. */
size_t ig_utf8_sanitize_to(char *dst, const char *s, size_t n);

/* Appends s[0..n), sanitized the same way, to out. */
void ig_utf8_sanitize(ig_strbuf *out, const char *s, size_t n);

#endif
