/*
 * profiler/alloc/heapprof.c — building heap profiles from sampled records.
 *
 * Design.  A record is (stack of return addresses, size, the span it was
 * made in, sampled count, sampled live count).  Each becomes one pprof sample whose four values
 * are the counts and bytes multiplied by the pprof unbiasing scale for
 * that size.  Locations come from a caller-supplied resolver so the same
 * code serves the shim (its own address space: dl_iterate_phdr + dladdr)
 * and the attach route (the target's maps).  Locations are cached per
 * address in a u64 map; a frame's location address is the call
 * instruction (return address - 1) so symbolizers name the call's line.
 */
#include "profiler/alloc/heapprof.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exporters/pbarena.h"
#include "profiler/alloc/sampler.h"
#include "profiler/u64map.h"
#include "utils/utf8.h"

ignis_profile *ig_heapprof_new(int64_t interval)
{
    ignis_profile *p = ignis_profile_new();
    if (!p)
        return NULL;
    ignis_profile_add_value_type(p, "alloc_objects", "count");
    ignis_profile_add_value_type(p, "alloc_space", "bytes");
    ignis_profile_add_value_type(p, "inuse_objects", "count");
    ignis_profile_add_value_type(p, "inuse_space", "bytes");
    ignis_profile_set_period(p, "space", "bytes", interval > 1 ? interval : 1);
    ignis_profile_set_default_sample_type(p, "inuse_space");
    return p;
}

static int64_t scaled(double v)
{
    return v >= 9.0e18 ? INT64_MAX : (int64_t)(v + 0.5);
}

static uint32_t hex_string(ignis_profile *p, const uint8_t *b, size_t n)
{
    char hex[2 * 16 + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    return ignis_profile_intern(p, hex);
}

/* The labels of a record: bytes, and the span it was made in as CPU
 * samples name it (trace_id, span_id lowercase hex, span_name).  The span
 * comes from a file a process wrote: its name is cut to its bounds and to
 * valid UTF-8. */
static uint32_t record_labels(ignis_profile *p, uint64_t size, const ig_heapspan *span)
{
    ignis_label l[4] = {{.key = ignis_profile_intern(p, "bytes"), .num = (int64_t)size,
                         .num_unit = ignis_profile_intern(p, "bytes")}};
    size_t n = 1;
    if (span && span->in_span) {
        l[n].key = ignis_profile_intern(p, "trace_id");
        l[n++].str = hex_string(p, span->trace_id, sizeof span->trace_id);
        l[n].key = ignis_profile_intern(p, "span_id");
        l[n++].str = hex_string(p, span->span_id, sizeof span->span_id);
        size_t len = span->name_len < IG_HEAP_SPAN_NAME_MAX ? span->name_len : IG_HEAP_SPAN_NAME_MAX;
        len = ig_utf8_valid_prefix(span->name, len); /* a name cut at the bound may end mid-character */
        if (len) {
            l[n].key = ignis_profile_intern(p, "span_name");
            l[n++].str = ig_pb_intern_string(p, span->name, len); /* a NUL kept as \u0000 */
        }
    }
    return ignis_profile_add_labels(p, l, n);
}

int ig_heapprof_add(ignis_profile *p, uint32_t stack, uint64_t size, uint64_t count, uint64_t inuse,
                    int64_t interval)
{
    return ig_heapprof_add_span(p, stack, size, count, inuse, interval, NULL);
}

int ig_heapprof_add_span(ignis_profile *p, uint32_t stack, uint64_t size, uint64_t count, uint64_t inuse,
                         int64_t interval, const ig_heapspan *span)
{
    double scale = ig_sampler_scale((double)size, (double)interval);
    int64_t v[IG_HEAP_NVALUES];
    v[IG_HEAP_ALLOC_OBJECTS] = scaled((double)count * scale);
    v[IG_HEAP_ALLOC_SPACE] = scaled((double)count * (double)size * scale);
    v[IG_HEAP_INUSE_OBJECTS] = scaled((double)inuse * scale);
    v[IG_HEAP_INUSE_SPACE] = scaled((double)inuse * (double)size * scale);
    return ignis_profile_add_sample(p, stack, record_labels(p, size, span), v);
}

size_t ig_heapprof_add_records(ignis_profile *p, const ig_heaprec *recs, size_t n, int64_t interval,
                               ig_heap_locate locate, void *ctx)
{
    size_t added = 0;
    uint32_t locs[IG_HEAP_MAX_DEPTH + 1];
    for (size_t i = 0; i < n; i++) {
        const ig_heaprec *r = &recs[i];
        if (!r->count)
            continue;
        size_t d = 0;
        if (r->depth == 1 && r->ips[0] == IG_HEAP_IP_SIGNAL)
            locs[d++] = ignis_profile_location_for_function(
                p, ignis_profile_function_named(p, IG_HEAP_SIGNAL_FRAME, NULL, 0), IGNIS_FRAME_USER);
        else
            for (uint32_t f = 0; f < r->depth; f++) {
                uint32_t id = locate(ctx, p, r->ips[f], (int)f);
                if (id)
                    locs[d++] = id;
            }
        if (!d) /* keep the bytes even without a stack */
            locs[d++] = ignis_profile_location_for_function(
                p, ignis_profile_function_named(p, "[unknown stack]", NULL, 0), IGNIS_FRAME_USER);
        uint32_t stack = ignis_profile_add_stack(p, locs, d);
        if (stack && ig_heapprof_add_span(p, stack, r->size, r->count, r->inuse, interval, &r->span) == 0)
            added++;
    }
    return added;
}

/* ---- in-process symbols ------------------------------------------------- */

struct ig_selfsym {
    ig_u64map cache; /* ip -> location id */
};

/* Hex build-id from the PT_NOTE segments of a loaded object. */
static void note_build_id(const struct dl_phdr_info *info, char *out, size_t len)
{
    out[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *at = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = at + ph->p_memsz;
        while (at + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)at;
            const uint8_t *name = at + sizeof *nh;
            const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
            const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
                nh->n_descsz * 2 + 1 <= len) {
                for (uint32_t k = 0; k < nh->n_descsz; k++)
                    snprintf(out + 2 * k, 3, "%02x", desc[k]);
                return;
            }
            at = next;
        }
    }
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    ignis_profile *p = arg;
    char exe[PATH_MAX];
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    char bid[128];
    note_build_id(info, bid, sizeof bid);
    long pg = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uint64_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uint64_t)(pg - 1);
        ignis_mapping m = {
            .start = start,
            .limit = info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
            .offset = ph->p_offset & ~(uint64_t)(pg - 1),
            .filename = ignis_profile_intern(p, name),
            .build_id = bid[0] ? ignis_profile_intern(p, bid) : 0,
        };
        ignis_profile_add_mapping(p, &m);
    }
    return 0;
}

ig_selfsym *ig_selfsym_new(ignis_profile *p)
{
    ig_selfsym *s = ig_xcalloc(1, sizeof *s);
    dl_iterate_phdr(add_object, p);
    return s;
}

void ig_selfsym_free(ig_selfsym *s)
{
    if (!s)
        return;
    ig_u64map_clear(&s->cache);
    free(s);
}

uint32_t ig_selfsym_locate(void *ctx, ignis_profile *p, uint64_t ip, int frame)
{
    (void)frame;
    ig_selfsym *s = ctx;
    uint64_t at = ip ? ip - 1 : 0, id;
    if (ig_u64map_get(&s->cache, at + 1, &id))
        return (uint32_t)id;
    ignis_location loc = {.mapping = ignis_profile_mapping_for(p, at), .address = at};
    ignis_line line = {0};
    Dl_info di;
    if (dladdr((void *)(uintptr_t)at, &di) && di.dli_sname) {
        line.function = ignis_profile_function_named(p, di.dli_sname, NULL, 0);
        loc.lines = &line;
        loc.nlines = 1;
    }
    uint32_t lid = ignis_profile_add_location(p, &loc);
    ig_u64map_put(&s->cache, at + 1, lid);
    return lid;
}
