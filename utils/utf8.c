/*
 * utils/utf8.c — UTF-8 decoding, validation and repair (see utf8.h).
 *
 * One decoder, ig_utf8_next(), checks each byte against the ranges of
 * Unicode's Table 3-7 of well-formed sequences: the second byte's range
 * depends on the lead (E0 needs A0..BF, ED 80..9F, F0 90..BF, F4 80..8F),
 * later ones are 80..BF.  It stops at the first byte out of range, which
 * gives the "maximal subpart" for free.  Everything else is a loop over it,
 * except that validation skips ASCII a 64-bit word at a time.
 */
#include "utils/utf8.h"

#include <stdio.h>
#include <string.h>

size_t ig_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    if (!n)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    unsigned char b = u[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    uint32_t c;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (b >= 0xc2 && b <= 0xdf)
        need = 2, c = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef)
        need = 3, c = b & 0x0f, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
    else if (b >= 0xf0 && b <= 0xf4)
        need = 4, c = b & 0x07, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
    else {
        *cp = IG_UTF8_INVALID; /* 80..C1, F5..FF: never a lead */
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n || u[i] < lo || u[i] > hi) {
            *cp = IG_UTF8_INVALID;
            return i;
        }
        c = c << 6 | (u[i] & 0x3f);
        lo = 0x80, hi = 0xbf;
    }
    *cp = c;
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
        uint32_t cp;
        size_t len = ig_utf8_next(s + i, n - i, &cp);
        if (cp == IG_UTF8_INVALID)
            return i;
        i += len;
    }
    return n;
}

size_t ig_utf8_sanitize_to(char *dst, const char *s, size_t n)
{
    char *o = dst;
    size_t i = 0;
    while (i < n) {
        size_t ok = ig_utf8_valid_prefix(s + i, n - i);
        memcpy(o, s + i, ok);
        o += ok;
        i += ok;
        if (i == n)
            break;
        uint32_t cp;
        i += ig_utf8_next(s + i, n - i, &cp); /* the maximal ill-formed subpart */
        memcpy(o, IG_UTF8_REPLACEMENT, 3);
        o += 3;
    }
    return (size_t)(o - dst);
}

void ig_utf8_append_valid(ig_strbuf *out, const char *s, size_t n)
{
    ig_sb_reserve(out, IG_UTF8_SANITIZED_MAX(n) + 1);
    out->len += ig_utf8_sanitize_to(out->data + out->len, s, n);
    out->data[out->len] = '\0';
}

bool ig_utf8_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

void ig_utf8_append_nul_shown(ig_strbuf *out, const char *s, size_t n)
{
    for (const char *end = s + n, *nul; s < end; s = nul + 1) {
        if (!(nul = memchr(s, '\0', (size_t)(end - s)))) {
            ig_sb_append(out, s, (size_t)(end - s));
            return;
        }
        ig_sb_append(out, s, (size_t)(nul - s));
        ig_sb_puts(out, IG_NUL_SHOWN);
    }
}

void ig_utf8_append_escaped(ig_strbuf *out, const char *s, size_t n)
{
    size_t run = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = ig_utf8_next(s + i, n - i, &cp);
        if (cp == IG_UTF8_INVALID || ig_utf8_is_control(cp)) {
            ig_sb_append(out, s + run, i - run);
            for (size_t k = 0; k < len; k++) {
                char hex[5];
                snprintf(hex, sizeof hex, "\\x%02x", (unsigned char)s[i + k]);
                ig_sb_append(out, hex, 4);
            }
            run = i + len;
        }
        i += len;
    }
    ig_sb_append(out, s + run, n - run);
}
