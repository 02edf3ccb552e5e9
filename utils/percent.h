/*
 * utils/percent.h — percent-encoding (RFC 3986 style %XX escapes), and
 * the one rule for percentages of profile values.
 *
 * One decoder and one encoder for every format that carries
 * percent-encoded text: W3C baggage values, OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS.  The formats differ only in which raw bytes
 * they allow and which decoded bytes they refuse, so callers pass those
 * rules as predicates.
 *
 * Percentages of a profile's values follow pprof, whatever the signs:
 * the total is the sum of the samples' absolute values (or, when some
 * samples are a diff's base — pprof -diff_base labels them
 * pprof::base=true — the sum of theirs), and a value's share is its
 * absolute value over that total, 0 when the total is 0.  So a profile
 * with negative values (a diff saved as pprof) never shows -300%, inf or
 * nan.  Every view (report, flame, the SVG, the viewer) prints through
 * these.
 */
#ifndef IG_PERCENT_H
#define IG_PERCENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- percentages of profile values ------------------------------------- */

/* What percentages are of, summed sample by sample (saturating). */
typedef struct ig_pct_total {
    int64_t all;       /* sum of |value| of every sample added */
    int64_t diff_base; /* the same over the samples of a diff's base */
} ig_pct_total;

/* Adds one sample's value; in_diff_base: the sample is labelled as a
 * diff's base (pprof::base=true). */
void ig_pct_total_add(ig_pct_total *t, int64_t value, bool in_diff_base);

/* The total by pprof's rule: the base's sum when there is one, else all. */
int64_t ig_pct_total_get(const ig_pct_total *t);

/* The label pprof -diff_base puts on the base's (negated) samples. */
#define IG_PCT_DIFF_BASE_KEY "pprof::base"
#define IG_PCT_DIFF_BASE_VALUE "true"

/* |value| / total * 100: never negative, never inf or nan (0 when total
 * is 0 or negative).  Above 100 only when the total is a diff's base. */
double ig_percent(int64_t value, int64_t total);

/* ig_percent as the tables print it: "  100%" within rounding of 100,
 * else "%5.2f%%".  buf should hold 16 bytes. */
void ig_percent_format(char *buf, size_t len, int64_t value, int64_t total);

#endif
