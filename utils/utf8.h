/*
 * utils/utf8.h — UTF-8 validation and repair for output formats that
 * require well-formed text (SVG/XML, OTLP JSON) and for terminals.
 *
 * Names in profiles and spans, attribute values, baggage come from binaries,
 * callers and environments that owe us nothing: any byte sequence.  Decoding follows Unicode's Table 3-7
 * (no overlongs, no surrogates, nothing above U+10FFFF), and an ill-formed
 * sequence is replaced by one U+FFFD per maximal subpart, as Unicode
 * recommends (so "\xe2\x82" is one U+FFFD, "\xff\xfe" two).
 */
#ifndef IG_UTF8_H
#define IG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/strbuf.h"

/* U+FFFD REPLACEMENT CHARACTER, encoded. */
#define IG_UTF8_REPLACEMENT "\xef\xbf\xbd"

/* What ig_utf8_next() sets *cp to for an ill-formed sequence. */
#define IG_UTF8_INVALID UINT32_C(0xFFFFFFFF)

/* Decodes the character at s, n > 0 bytes being readable.  Returns its
 * length (1..4) and sets *cp; for an ill-formed sequence returns the length
 * of its maximal subpart (1..3, what one U+FFFD replaces) and sets *cp to
 * IG_UTF8_INVALID.  Returns 0 only when n is 0. */
size_t ig_utf8_next(const char *s, size_t n, uint32_t *cp);

/* Length of the longest prefix of s[0..n) that is well-formed UTF-8 (n
 * when all of it is).  ASCII is skipped eight bytes at a time, so clean
 * text costs a load and a mask per word: cheap enough for every string of
 * every exported span. */
size_t ig_utf8_valid_prefix(const char *s, size_t n);

/* Whether s[0..n) is well-formed UTF-8. */
static inline bool ig_utf8_valid(const char *s, size_t n) { return ig_utf8_valid_prefix(s, n) == n; }

/* The most bytes ig_utf8_sanitize_to() writes for n input bytes (each
 * byte may become a 3-byte U+FFFD). */
#define IG_UTF8_SANITIZED_MAX(n) (3 * (n))

/* Writes s[0..n) to dst, which has room for IG_UTF8_SANITIZED_MAX(n)
 * bytes, each ill-formed sequence replaced by U+FFFD (no NUL is written).
 * Returns the length written. */
size_t ig_utf8_sanitize_to(char *dst, const char *s, size_t n);

/* Appends s[0..n) to out, each ill-formed sequence replaced by U+FFFD. */
void ig_utf8_append_valid(ig_strbuf *out, const char *s, size_t n);

/* Whether cp is a control character (C0, DEL or C1): what a terminal may
 * act on and what most text formats should not carry raw. */
bool ig_utf8_is_control(uint32_t cp);

/* Appends s[0..n) to out for a terminal or a line-oriented text: control
 * characters and the bytes of ill-formed sequences become "\xHH" (one per
 * byte), a backslash stays as it is, everything else is copied. */
void ig_utf8_append_escaped(ig_strbuf *out, const char *s, size_t n);

/* How a NUL inside a string is kept where strings are C strings (the
 * profile model, the trace store's read API): U+0000 is valid UTF-8 and
 * OTLP and pprof strings may hold it, so rather than ending the string
 * there (a shorter name, merged with another), it becomes the six
 * characters \u0000, as JSON writes it. */
#define IG_NUL_SHOWN "\\u0000"

/* Appends s[0..n) to out with each NUL as IG_NUL_SHOWN. */
void ig_utf8_append_nul_shown(ig_strbuf *out, const char *s, size_t n);

#endif
