/*
 * libtrace/baggage.c — the W3C `baggage` header.
 *
 *   baggage = member *( OWS "," OWS member )
 *   member  = key OWS "=" OWS value *( OWS ";" OWS property )
 *
 * Keys are RFC 7230 tokens; values are percent-decoded (baggage-octets
 * only: no spaces, quotes, commas, semicolons or backslashes raw).  The
 * decoded value is UTF-8: as the W3C spec requires, escaped octets that
 * are not UTF-8 become U+FFFD (one per maximal ill-formed subsequence, so
 * %FF%FE gives two).  A value holding %00 is refused and its member
 * skipped: the API hands values out as C strings, which cannot carry the
 * NUL, and a value cut at it would silently be another value.
 * Properties are kept verbatim as the entry's metadata.  An invalid member
 * is skipped and the others kept.  Limits (W3C): at most 180 members and
 * 8192 bytes — when parsing, members past the limits are ignored; when
 * formatting, entries that would exceed them are left out.
 */
#include "libtrace/internal.h"
#include "utils/percent.h"
#include "utils/strbuf.h"
#include "utils/utf8.h"

#include <stdlib.h>
#include <string.h>

#define BAGGAGE_MAX_MEMBERS 180
#define BAGGAGE_MAX_BYTES 8192

static bool tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool not_nul(unsigned char c) { return c != 0; }

static bool octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e);
}

/* Parses one member into e (malloc'd strings); -1 if invalid. */
static int parse_member(const char *m, size_t n, ig_bag_entry *e)
{
    const char *semi = memchr(m, ';', n);
    size_t kvn = semi ? (size_t)(semi - m) : n;
    const char *eq = memchr(m, '=', kvn);
    if (!eq)
        return -1;
    const char *k, *v;
    size_t kn = ig_trim(m, (size_t)(eq - m), &k);
    size_t vn = ig_trim(eq + 1, kvn - (size_t)(eq - m) - 1, &v);
    if (kn == 0)
        return -1;
    for (size_t i = 0; i < kn; i++)
        if (!tchar((unsigned char)k[i]))
            return -1;
    char *val = ig_percent_decode_dup(v, vn, octet, not_nul); /* raw bytes: baggage-octets only */
    if (!val)
        return -1;
    size_t len = strlen(val);
    if (!ig_utf8_valid(val, len)) {
        ig_strbuf sb = IG_STRBUF_INIT;
        ig_utf8_append_valid(&sb, val, len);
        free(val);
        val = ig_sb_detach(&sb, NULL);
    }
    e->key = strndup(k, kn);
    e->value = val;
    e->meta = NULL;
    if (semi) {
        const char *p;
        size_t pn = ig_trim(semi + 1, n - kvn - 1, &p);
        for (size_t i = 0; i < pn; i++)
            if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e) {
                free(e->key);
                free(e->value);
                return -1; /* properties are printable ASCII */
            }
        if (pn)
            e->meta = strndup(p, pn);
    }
    return 0;
}

ig_baggage *ig_baggage_parse(const char *s, size_t len, const ig_baggage *base)
{
    (void)base;
    ig_bag_entry e[BAGGAGE_MAX_MEMBERS];
    size_t n = 0;
    bool cut = len > BAGGAGE_MAX_BYTES;
    if (cut)
        len = BAGGAGE_MAX_BYTES; /* the member cut by the limit is dropped below */
    const char *end = s + len;
    while (s < end && n < BAGGAGE_MAX_MEMBERS) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        const char *m;
        size_t mn = ig_trim(s, (size_t)(stop - s), &m);
        if (mn > 0 && (comma || !cut)) {
            ig_bag_entry x;
            if (parse_member(m, mn, &x) == 0) {
                size_t j;
                for (j = 0; j < n; j++)
                    if (!strcmp(e[j].key, x.key))
                        break;
                if (j < n) { /* a repeated key: the last one wins */
                    free(e[j].key);
                    free(e[j].value);
                    free(e[j].meta);
                    e[j] = x;
                } else {
                    e[n++] = x;
                }
            }
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    ig_baggage *b = n ? ig_baggage_new(e, n) : NULL;
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].value);
        free(e[i].meta);
    }
    return b;
}

char *ig_baggage_format(const ig_baggage *b)
{
    if (!b || !b->n)
        return NULL;
    ig_strbuf out = IG_STRBUF_INIT, m = IG_STRBUF_INIT;
    size_t members = 0;
    for (size_t i = 0; i < b->n && members < BAGGAGE_MAX_MEMBERS; i++) {
        const ig_bag_entry *e = &b->e[i];
        bool ok = *e->key != '\0';
        for (const char *k = e->key; ok && *k; k++)
            ok = tchar((unsigned char)*k);
        if (!ok)
            continue;
        ig_sb_reset(&m);
        ig_sb_puts(&m, e->key);
        ig_sb_putc(&m, '=');
        ig_percent_encode(&m, e->value, octet);
        if (e->meta) {
            ig_sb_putc(&m, ';');
            ig_sb_puts(&m, e->meta);
        }
        if (out.len + (out.len ? 1 : 0) + m.len > BAGGAGE_MAX_BYTES)
            continue;
        if (out.len)
            ig_sb_putc(&out, ',');
        ig_sb_append(&out, m.data, m.len);
        members++;
    }
    ig_sb_free(&m);
    if (!out.len) {
        ig_sb_free(&out);
        return NULL;
    }
    return ig_sb_detach(&out, NULL);
}
