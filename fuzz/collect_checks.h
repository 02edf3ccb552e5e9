/*
 * fuzz/collect_checks.h — what every batch a request decoder returns must
 * satisfy (collect/decode.h); shared by the two collect fuzz targets.
 * Aborts on a violation so libFuzzer (and the corpus replay) report it.
 */
#ifndef IG_FUZZ_COLLECT_CHECKS_H
#define IG_FUZZ_COLLECT_CHECKS_H

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "collect/batch.h"
#include "collect/decode.h"

static inline void check_json_object(ig_bstr s)
{
    if (strlen(s.s) != s.len)
        abort();
    json_tokener *tok = json_tokener_new_ex(2 * IG_DECODE_MAX_DEPTH + 8);
    json_object *o = json_tokener_parse_ex(tok, s.s, (int)s.len);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(o, json_type_object);
    json_object_put(o);
    json_tokener_free(tok);
    if (!ok)
        abort();
}

static inline bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static inline void check_batch(const ig_batch *b, const ig_decode_stats *st)
{
    if (b->nspans + st->rejected != st->spans || st->rejected > st->spans)
        abort();
    for (uint32_t i = 0; i < b->nspans; i++) {
        const ig_batch_span *s = &b->spans[i];
        if (s->resource >= b->nresources || s->scope >= b->nscopes)
            abort();
        if (zero(s->trace_id, 16) || zero(s->span_id, 8) || (s->has_parent && zero(s->parent_span_id, 8)))
            abort();
        if (!s->start_ns || s->end_ns < s->start_ns || s->end_ns > (uint64_t)INT64_MAX || s->kind > 5 || s->status_code > 2)
            abort();
        if ((uint64_t)s->first_event + s->nevents > b->nevents || (uint64_t)s->first_link + s->nlinks > b->nlinks)
            abort();
        check_json_object(s->attrs);
    }
    for (uint32_t i = 0; i < b->nevents; i++)
        check_json_object(b->events[i].attrs);
    for (uint32_t i = 0; i < b->nlinks; i++)
        check_json_object(b->links[i].attrs);
    for (uint32_t i = 0; i < b->nresources; i++)
        check_json_object(b->resources[i].attrs);
    for (uint32_t i = 0; i < b->nscopes; i++)
        check_json_object(b->scopes[i].attrs);
}

#endif
