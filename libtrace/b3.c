/*
 * libtrace/b3.c — B3 propagation headers (openzipkin/b3-propagation).
 *
 * Single header: `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`
 * where TraceId is 16 or 32 lowercase hex digits (a 64-bit id is padded
 * with zeros on the left), SpanId and ParentSpanId 16, and SamplingState
 * one of 1, 0 or d (debug, which implies sampled).  A header holding only
 * a sampling state carries no span context and is ignored.
 *
 * Multi header: X-B3-TraceId, X-B3-SpanId, X-B3-Sampled (1/0, also the
 * legacy true/false) and X-B3-Flags (1 = debug, implies sampled).  An
 * absent sampling state ("defer") is treated as not sampled.
 * ParentSpanId is validated but never used; the injector never sends it.
 *
 * Debug is reported apart (ig_remote.debug): the OTel B3 spec says it MUST
 * be propagated, so extraction keeps it in the context and injection sends
 * `-d` / X-B3-Flags: 1 again (propagate.c).
 */
#include "libtrace/internal.h"

#include <string.h>

static int parse_trace_id(const char *s, size_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    if (n == 32)
        return ig_hex_decode(s, 32, out);
    if (n == 16)
        return ig_hex_decode(s, 16, out + 8);
    return -1;
}

static int parse_sampling(const char *s, size_t n, uint8_t *flags)
{
    if (n == 1 && (s[0] == '1' || s[0] == 'd')) {
        *flags = IGNIS_TRACE_FLAG_SAMPLED;
        return 0;
    }
    if (n == 1 && s[0] == '0') {
        *flags = 0;
        return 0;
    }
    if (n == 4 && !memcmp(s, "true", 4)) {
        *flags = IGNIS_TRACE_FLAG_SAMPLED;
        return 0;
    }
    if (n == 5 && !memcmp(s, "false", 5)) {
        *flags = 0;
        return 0;
    }
    return -1;
}

static int finish(ig_remote *out)
{
    if (ig_all_zero(out->trace_id, 16) || ig_all_zero(out->span_id, 8)) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->valid = true;
    return 0;
}

int ig_b3_parse_single(const char *s, size_t len, ig_remote *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    len = ig_trim(s, len, &p);
    const char *f[5];
    size_t fl[5], nf = 0;
    const char *end = p + len, *q = p;
    while (nf < 5) {
        const char *dash = memchr(q, '-', (size_t)(end - q));
        f[nf] = q;
        fl[nf++] = (size_t)((dash ? dash : end) - q);
        if (!dash)
            break;
        q = dash + 1;
    }
    if (nf < 2 || nf > 4 || q > end)
        return -1; /* sampling-only header, or too many fields */
    if (parse_trace_id(f[0], fl[0], out->trace_id) < 0 || fl[1] != 16 || ig_hex_decode(f[1], 16, out->span_id) < 0)
        return -1;
    if (nf >= 3 && (fl[2] != 1 || parse_sampling(f[2], 1, &out->flags) < 0))
        return -1;
    out->debug = nf >= 3 && f[2][0] == 'd';
    uint8_t parent[8];
    if (nf == 4 && (fl[3] != 16 || ig_hex_decode(f[3], 16, parent) < 0))
        return -1;
    return finish(out);
}

int ig_b3_parse_multi(const char *tid, const char *sid, const char *sampled, const char *flags, ig_remote *out)
{
    memset(out, 0, sizeof *out);
    if (!tid || !sid)
        return -1;
    const char *p;
    size_t n = ig_trim(tid, strlen(tid), &p);
    if (parse_trace_id(p, n, out->trace_id) < 0)
        return -1;
    n = ig_trim(sid, strlen(sid), &p);
    if (n != 16 || ig_hex_decode(p, 16, out->span_id) < 0)
        return -1;
    if (sampled) {
        n = ig_trim(sampled, strlen(sampled), &p);
        if (parse_sampling(p, n, &out->flags) < 0 || (n == 1 && p[0] == 'd'))
            return -1;
    }
    if (flags) {
        n = ig_trim(flags, strlen(flags), &p);
        if (n == 1 && p[0] == '1') {
            out->flags = IGNIS_TRACE_FLAG_SAMPLED;
            out->debug = true;
        }
        else if (!(n == 1 && p[0] == '0'))
            return -1;
    }
    return finish(out);
}
