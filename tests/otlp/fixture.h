/*
 * tests/otlp/fixture.h — a batch of ig_span_data records that uses every
 * field of the export contract: two resources, two scopes, all attribute
 * types, events, links, remote and local parents, every status.
 */
#ifndef IG_TESTS_OTLP_FIXTURE_H
#define IG_TESTS_OTLP_FIXTURE_H

#include <string.h>

#include "libtrace/export.h"

static const ig_attr fx_res1_attrs[] = {
    {.key = "service.name", .type = IG_ATTR_STRING, .len = 5, .v.s = "svc-a"},
    {.key = "host.name", .type = IG_ATTR_STRING, .len = 2, .v.s = "h1"},
};
static const ig_attr fx_res2_attrs[] = {
    {.key = "service.name", .type = IG_ATTR_STRING, .len = 5, .v.s = "svc-b"},
};
static const ig_resource fx_res1 = {fx_res1_attrs, 2};
static const ig_resource fx_res2 = {fx_res2_attrs, 1};

static const ig_attr fx_scope_attrs[] = {{.key = "scope.attr", .type = IG_ATTR_INT, .v.i = 7}};
static const ig_scope fx_scope1 = {"lib.a", "1.2.3", fx_scope_attrs, 1};
static const ig_scope fx_scope2 = {"lib.b", NULL, NULL, 0};

static const char *const fx_sa[] = {"x", "yy", "zzz"};
static const bool fx_ba[] = {true, false};
static const int64_t fx_ia[] = {-1, 0, INT64_MAX};
static const double fx_da[] = {0.5, -2.25};

static const ig_attr fx_all_attrs[] = {
    {.key = "s", .type = IG_ATTR_STRING, .len = 5, .v.s = "hello"},
    {.key = "b", .type = IG_ATTR_BOOL, .v.b = true},
    {.key = "i", .type = IG_ATTR_INT, .v.i = -1234567890123LL},
    {.key = "d", .type = IG_ATTR_DOUBLE, .v.d = 3.5},
    {.key = "sa", .type = IG_ATTR_STRING_ARRAY, .len = 3, .v.sa = fx_sa},
    {.key = "ba", .type = IG_ATTR_BOOL_ARRAY, .len = 2, .v.ba = fx_ba},
    {.key = "ia", .type = IG_ATTR_INT_ARRAY, .len = 3, .v.ia = fx_ia},
    {.key = "da", .type = IG_ATTR_DOUBLE_ARRAY, .len = 2, .v.da = fx_da},
};

static const ig_attr fx_event_attrs[] = {{.key = "exception.type", .type = IG_ATTR_STRING, .len = 3, .v.s = "EIO"}};
static const ig_event fx_events[] = {
    {"exception", 1700000000000000100ULL, fx_event_attrs, 1, 2},
    {"retry", 1700000000000000200ULL, NULL, 0, 0},
};
static const ig_attr fx_link_attrs[] = {{.key = "link.kind", .type = IG_ATTR_STRING, .len = 6, .v.s = "follow"}};
static const ig_link fx_links[] = {
    {{0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, {0xcc, 1, 2, 3, 4, 5, 6, 7}, 1, "k=v", fx_link_attrs, 1, 3},
};

#define FX_TRACE {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

static const ig_span_data fx_spans[] = {
    /* 0: root server span, all attribute types */
    {.resource = &fx_res1, .scope = &fx_scope1, .trace_id = FX_TRACE, .span_id = {0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
     .flags = 1, .name = "GET /", .kind = IG_KIND_SERVER, .start_ns = 1700000000000000000ULL,
     .end_ns = 1700000000000001000ULL, .attrs = fx_all_attrs, .nattrs = 8, .dropped_attrs = 4,
     .status_code = IG_STATUS_OK},
    /* 1: remote parent, events, links, error status, tracestate */
    {.resource = &fx_res1, .scope = &fx_scope2, .trace_id = FX_TRACE, .span_id = {1, 2, 3, 4, 5, 6, 7, 8},
     .parent_span_id = {0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, .has_parent = true, .parent_is_remote = true,
     .flags = 1, .tracestate = "vendor=abc", .name = "backend", .kind = IG_KIND_CLIENT,
     .start_ns = 1700000000000000050ULL, .end_ns = 1700000000000000900ULL, .events = fx_events, .nevents = 2,
     .dropped_events = 5, .links = fx_links, .nlinks = 1, .dropped_links = 6, .status_code = IG_STATUS_ERROR,
     .status_message = "boom"},
    /* 2: other resource */
    {.resource = &fx_res2, .scope = &fx_scope1, .trace_id = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9},
     .span_id = {9, 8, 7, 6, 5, 4, 3, 2}, .flags = 0, .name = "other", .kind = IG_KIND_INTERNAL,
     .start_ns = 5, .end_ns = 6},
    /* 3: local parent, same group as 0 */
    {.resource = &fx_res1, .scope = &fx_scope1, .trace_id = FX_TRACE, .span_id = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88},
     .parent_span_id = {0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, .has_parent = true, .flags = 1,
     .name = "db.query", .kind = IG_KIND_CONSUMER, .start_ns = 1700000000000000010ULL, .end_ns = 1700000000000000020ULL},
};
#define FX_NSPANS 4

static inline void fx_batch(const ig_span_data **out)
{
    for (int i = 0; i < FX_NSPANS; i++)
        out[i] = &fx_spans[i];
}

#endif
