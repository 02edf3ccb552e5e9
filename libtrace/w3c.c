/*
 * libtrace/w3c.c — W3C Trace Context: traceparent and tracestate.
 *
 * traceparent is parsed exactly as the Recommendation says: two lowercase
 * hex digits of version (ff is invalid), then "-" trace-id (32 lowercase
 * hex, not all zero) "-" parent-id (16, not all zero) "-" flags (2).
 * Version 00 must end there; a higher version may carry more fields after
 * another "-", which are ignored (parsed as version 00).  Surrounding
 * spaces/tabs (HTTP OWS) are trimmed.
 *
 * tracestate is a comma-separated list of key=value members (empty members
 * and OWS allowed); keys follow the simple / tenant@system grammar, values
 * are up to 256 printable characters without "," or "=" and not ending in
 * a space.  More than 32 members, a bad member or a duplicate key makes
 * the whole header invalid (it is then ignored, the traceparent kept).
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <string.h>

static int lhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int ig_hex_decode(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        int hi = lhex(s[i]), lo = lhex(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void ig_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ignis_trace_id_hex(const uint8_t id[16], char out[33]) { ig_hex_encode(id, 16, out); }
void ignis_span_id_hex(const uint8_t id[8], char out[17]) { ig_hex_encode(id, 8, out); }

int ig_traceparent_parse(const char *s, size_t len, ig_remote *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    len = ig_trim(s, len, &p);
    if (len < 55)
        return -1;
    uint8_t version, flags;
    if (ig_hex_decode(p, 2, &version) < 0 || version == 0xff)
        return -1;
    if (p[2] != '-' || p[35] != '-' || p[52] != '-')
        return -1;
    if (ig_hex_decode(p + 3, 32, out->trace_id) < 0 || ig_hex_decode(p + 36, 16, out->span_id) < 0 ||
        ig_hex_decode(p + 53, 2, &flags) < 0)
        return -1;
    if (version == 0 && len != 55)
        return -1;
    if (len > 55 && p[55] != '-')
        return -1;
    if (ig_all_zero(out->trace_id, 16) || ig_all_zero(out->span_id, 8))
        return -1;
    out->flags = flags & IGNIS_TRACE_FLAG_SAMPLED;
    out->valid = true;
    return 0;
}

void ig_traceparent_format(const uint8_t tid[16], const uint8_t sid[8], uint8_t flags, char out[56])
{
    memcpy(out, "00-", 3);
    ig_hex_encode(tid, 16, out + 3);
    out[35] = '-';
    ig_hex_encode(sid, 8, out + 36);
    out[52] = '-';
    uint8_t f = flags & IGNIS_TRACE_FLAG_SAMPLED;
    ig_hex_encode(&f, 1, out + 53);
}

/* ---- tracestate ----------------------------------------------------------------- */

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

static bool valid_key(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !(k[0] >= 'a' && k[0] <= 'z'))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i]))
                return false;
        return true;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14)
        return false;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
        return false;
    for (size_t i = 1; i < tn; i++)
        if (!key_char(k[i]))
            return false;
    const char *sys = at + 1;
    if (!(sys[0] >= 'a' && sys[0] <= 'z'))
        return false;
    for (size_t i = 1; i < sn; i++)
        if (!key_char(sys[i]))
            return false;
    return true;
}

static bool valid_value(const char *v, size_t n)
{
    if (n < 1 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return v[n - 1] != ' ';
}

char *ig_tracestate_parse(const char *s, size_t len, bool *invalid)
{
    *invalid = false;
    struct {
        const char *k;
        size_t kn;
    } keys[32];
    size_t nkeys = 0;
    ig_strbuf out = IG_STRBUF_INIT;
    const char *end = s + len;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        const char *m;
        size_t mn = ig_trim(s, (size_t)(stop - s), &m);
        if (mn > 0) {
            const char *eq = memchr(m, '=', mn);
            size_t kn = eq ? (size_t)(eq - m) : 0;
            bool ok = eq && nkeys < 32 && valid_key(m, kn) && valid_value(eq + 1, mn - kn - 1);
            for (size_t i = 0; ok && i < nkeys; i++)
                if (keys[i].kn == kn && !memcmp(keys[i].k, m, kn))
                    ok = false;
            if (!ok) {
                *invalid = true;
                ig_sb_free(&out);
                return NULL;
            }
            keys[nkeys].k = m;
            keys[nkeys++].kn = kn;
            if (out.len)
                ig_sb_putc(&out, ',');
            ig_sb_append(&out, m, mn);
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    if (!out.len) {
        ig_sb_free(&out);
        return NULL;
    }
    return ig_sb_detach(&out, NULL);
}
