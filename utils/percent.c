/*
 * utils/percent.c — percent-encoding and decoding.
 *
 * Decoding writes into a buffer at least as long as the input (a decoded
 * string is never longer than its encoding), so it is a single pass with
 * no reallocation.  The caller's predicates decide what is valid: raw_ok
 * sees each byte that is not part of an escape, byte_ok each decoded
 * byte.  A '%' must be followed by two hex digits, else the whole input is
 * invalid — callers decide whether that drops one member or all.
 *
 * Percentages (see percent.h) are of absolute values, pprof's rule, so
 * the sum of a mixed-sign profile (which can be 0 or negative) is never a
 * divisor.
 */
#include "utils/percent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "utils/satmath.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes into o (room for n bytes); stores the decoded length in *len. */
static int decode_into(const char *s, size_t n, ig_pct_pred *raw_ok, ig_pct_pred *byte_ok, char *o, size_t *len)
{
    char *start = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = n - i >= 3 ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = n - i >= 3 ? hex_value((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return IG_PCT_BAD_ESCAPE;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (raw_ok && !raw_ok(c)) {
            return IG_PCT_BAD_CHAR;
        }
        if (byte_ok && !byte_ok(c))
            return IG_PCT_BAD_CHAR;
        *o++ = (char)c;
    }
    *len = (size_t)(o - start);
    return IG_PCT_OK;
}

int ig_percent_decode(const char *s, size_t n, ig_pct_pred *raw_ok, ig_pct_pred *byte_ok, ig_strbuf *out)
{
    ig_sb_reserve(out, n + 1);
    size_t len = 0;
    int rc = decode_into(s, n, raw_ok, byte_ok, out->data + out->len, &len);
    if (rc == IG_PCT_OK)
        out->len += len;
    out->data[out->len] = '\0';
    return rc;
}

char *ig_percent_decode_dup(const char *s, size_t n, ig_pct_pred *raw_ok, ig_pct_pred *byte_ok)
{
    char *out = ig_xmalloc(n + 1);
    size_t len;
    if (decode_into(s, n, raw_ok, byte_ok, out, &len) != IG_PCT_OK) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

void ig_percent_encode(ig_strbuf *out, const char *s, ig_pct_pred *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p != '%' && (!keep || keep(*p))) {
            ig_sb_putc(out, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ig_sb_append(out, esc, 3);
        }
    }
}

void ig_pct_total_add(ig_pct_total *t, int64_t value, bool in_diff_base)
{
    int64_t magnitude = ig_sat_abs(value);
    t->all = ig_sat_add(t->all, magnitude);
    if (in_diff_base)
        t->diff_base = ig_sat_add(t->diff_base, magnitude);
}

int64_t ig_pct_total_get(const ig_pct_total *t)
{
    return t->diff_base > 0 ? t->diff_base : t->all;
}

double ig_percent(int64_t value, int64_t total)
{
    if (total <= 0)
        return 0.0;
    return 100.0 * fabs((double)value) / (double)total;
}

void ig_percent_format(char *buf, size_t len, int64_t value, int64_t total)
{
    double p = ig_percent(value, total);
    if (p >= 99.995 && p < 100.005)
        snprintf(buf, len, "  100%%");
    else
        snprintf(buf, len, "%5.2f%%", p);
}
