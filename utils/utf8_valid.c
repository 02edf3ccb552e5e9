/*
 * utils/utf8_valid.c — UTF-8 validation and U+FFFD replacement.
 *
 * One decoder step, seq_len(), tells how long the well-formed sequence at
 * a position is, or how many bytes form its maximal ill-formed subpart:
 * the lead byte fixes the allowed range of the second byte (E0, ED, F0 and
 * F4 narrow it to exclude overlongs, surrogates and code points above
 * U+10FFFF) and every later byte must be a continuation byte.  Validation
 * skips ASCII eight bytes at a time, so clean text costs a load and a mask
 * per word.
 */
#include "utils/utf8_valid.h"

#include <stdint.h>
#include <string.h>

/* Length of the well-formed sequence at p (1..4), or 0 with *bad set to
 * the length of its maximal ill-formed subpart (>= 1). */
static size_t seq_len(const unsigned char *p, size_t n, size_t *bad)
{
    unsigned c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1; /* 80..C1, F5..FF never start a sequence */
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n || p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF)) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

size_t ig_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t bad, len = seq_len(p + i, n - i, &bad);
        if (!len)
            return i;
        i += len;
    }
    return n;
}

size_t ig_utf8_sanitize_to(char *dst, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char *o = dst;
    size_t i = 0;
    while (i < n) {
        size_t ok = ig_utf8_valid_prefix((const char *)p + i, n - i);
        memcpy(o, p + i, ok);
        o += ok;
        i += ok;
        if (i == n)
            break;
        size_t bad = 1;
        seq_len(p + i, n - i, &bad);
        memcpy(o, "\xEF\xBF\xBD", 3);
        o += 3;
        i += bad;
    }
    return (size_t)(o - dst);
}

void ig_utf8_sanitize(ig_strbuf *out, const char *s, size_t n)
{
    ig_sb_reserve(out, IG_UTF8_SANITIZED_MAX(n) + 1);
    out->len += ig_utf8_sanitize_to(out->data + out->len, s, n);
    out->data[out->len] = '\0';
}
