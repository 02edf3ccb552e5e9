/*
 * profiler/sym/framecache.c — answers of earlier runs, per build-id: the
 * persistent half of the (module, offset) -> frames cache of symbols.c.
 *
 * A service profiled again and again runs the same hot code, so most
 * addresses of a new record were already named by the previous one.  The
 * frames found for them are kept in debug/<xx>/<rest>.frames and answer
 * those addresses without touching DWARF at all (libc's first lookup costs
 * milliseconds even with its debug file and CU table cached: CU function
 * index, line table).  Addresses not in the entry take the normal path and
 * are added to it at the end of the run (ig_symtab_free).
 *
 * Keyed by the module's build-id, and valid only with the same kind of
 * debug info as when it was written (none, DWARF in the file, a separate
 * debug file): installing a -dbg package after a run makes the names
 * better, never stale.  Entries grow with the distinct addresses seen and
 * are capped at FC_MAX_ENTRIES per build-id (the newest run's addresses
 * are kept first).
 *
 * Format (native byte order, every field checked before use):
 *   header   "IGFRAM\0\1", u32 version, u32 debug_kind, u32 nentries,
 *            u32 nframes, u64 strings_len
 *   entries  nentries x {u64 offset, u32 first_frame, u32 nframes},
 *            offsets strictly increasing, frames inside the frame table,
 *            at most IG_FC_MAX_INLINE each
 *   frames   nframes x {u32 func, u32 sysname, u32 file, i32 line,
 *            i32 column, u32 zero, u64 func_start}; strings are offsets
 *            into the string table, UINT32_MAX for none
 *   strings  strings_len bytes of NUL-terminated strings
 */
#include "profiler/sym/sym_internal.h"
#include "profiler/u64map.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>

#define FC_MAGIC "IGFRAM\0\1"
#define FC_VERSION 1u
#define FC_NONE UINT32_MAX
#define FC_MAX_ENTRIES 200000

typedef struct fc_hdr {
    char magic[8];
    uint32_t version, debug_kind, nentries, nframes;
    uint64_t strings_len;
} fc_hdr;

typedef struct fc_ent {
    uint64_t offset;
    uint32_t first, n;
} fc_ent;

typedef struct fc_frame {
    uint32_t func, sysname, file;
    int32_t line, column;
    uint32_t zero;
    uint64_t func_start;
} fc_frame;

const char *ig_framecache_view(ig_fc_view *v, const uint8_t *data, size_t len)
{
    fc_hdr h;
    const char *why = ig_symcache_header(data, len, &h, sizeof h, FC_MAGIC, FC_VERSION);
    if (why)
        return why;
    uint64_t ents = (uint64_t)h.nentries * sizeof(fc_ent), frames = (uint64_t)h.nframes * sizeof(fc_frame);
    uint64_t room = len - sizeof h;
    if (ents > room || frames > room - ents || h.strings_len != room - ents - frames)
        return "size does not match its header (truncated?)";
    if (h.strings_len && data[len - 1] != '\0')
        return "unterminated string";
    memset(v, 0, sizeof *v);
    v->ents = data + sizeof h;
    v->nents = h.nentries;
    v->frames = v->ents + ents;
    v->nframes = h.nframes;
    v->strs = (const char *)(v->frames + frames);
    v->strings_len = h.strings_len;
    v->debug_kind = h.debug_kind;
    return NULL;
}

static fc_ent ent_at(const ig_fc_view *v, size_t i)
{
    fc_ent e;
    memcpy(&e, v->ents + i * sizeof e, sizeof e);
    return e;
}

/* Binary search; the entry found is checked (its frames inside the table,
 * in order with its neighbours), else *corrupt. */
int ig_framecache_find(const ig_fc_view *v, uint64_t offset, uint32_t *first, uint32_t *n, int *corrupt)
{
    size_t lo = 0, hi = v->nents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ent_at(v, mid).offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == v->nents)
        return -1;
    fc_ent e = ent_at(v, lo);
    if (e.offset != offset)
        return -1;
    if (e.n > IG_FC_MAX_INLINE || e.first > v->nframes || e.n > v->nframes - e.first ||
        (lo > 0 && ent_at(v, lo - 1).offset >= offset) || (lo + 1 < v->nents && ent_at(v, lo + 1).offset <= offset)) {
        *corrupt = 1;
        return -1;
    }
    *first = e.first;
    *n = e.n;
    return 0;
}

static int string_at(const ig_fc_view *v, uint32_t off, const char **out)
{
    if (off == FC_NONE) {
        *out = NULL;
        return 0;
    }
    if (off >= v->strings_len)
        return -1;
    *out = v->strs + off; /* terminated: the table ends with a NUL */
    return 0;
}

int ig_framecache_frame(const ig_fc_view *v, uint32_t i, ig_symframe *out)
{
    if (i >= v->nframes)
        return -1;
    fc_frame f;
    memcpy(&f, v->frames + (size_t)i * sizeof f, sizeof f);
    memset(out, 0, sizeof *out);
    if (f.zero || string_at(v, f.func, &out->func) || string_at(v, f.sysname, &out->sysname) ||
        string_at(v, f.file, &out->file))
        return -1;
    out->line = f.line;
    out->column = f.column;
    out->func_start = f.func_start;
    return 0;
}

/* ---- writing --------------------------------------------------------------- */

typedef struct strtab {
    ig_strbuf sb;
    ig_u64map seen; /* string pointer -> offset + 1 (interned: one pointer per string) */
} strtab;

static uint32_t add_string(strtab *t, const char *s)
{
    if (!s)
        return FC_NONE;
    uint64_t off;
    if (ig_u64map_get(&t->seen, (uint64_t)(uintptr_t)s, &off))
        return (uint32_t)(off - 1);
    off = t->sb.len;
    ig_sb_append(&t->sb, s, strlen(s) + 1);
    ig_u64map_put(&t->seen, (uint64_t)(uintptr_t)s, off + 1);
    return (uint32_t)off;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const ig_fc_entry *a = pa, *b = pb;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

uint8_t *ig_framecache_encode(ig_fc_entry *ents, size_t n, uint32_t debug_kind, size_t *len)
{
    if (n > 1)
        qsort(ents, n, sizeof *ents, cmp_entry);
    size_t w = 0, nframes = 0; /* one entry per offset: the first given wins */
    for (size_t i = 0; i < n; i++) {
        if (w && ents[w - 1].offset == ents[i].offset)
            continue;
        ents[w] = ents[i];
        if (ents[w].n > IG_FC_MAX_INLINE)
            ents[w].n = IG_FC_MAX_INLINE;
        nframes += ents[w++].n;
    }
    if (w > UINT32_MAX || nframes > UINT32_MAX)
        return NULL;
    ig_strbuf out = IG_STRBUF_INIT;
    fc_hdr h = {.version = FC_VERSION, .debug_kind = debug_kind, .nentries = (uint32_t)w, .nframes = (uint32_t)nframes};
    memcpy(h.magic, FC_MAGIC, 8);
    ig_sb_append(&out, &h, sizeof h);
    uint32_t first = 0;
    for (size_t i = 0; i < w; i++) {
        fc_ent e = {ents[i].offset, first, ents[i].n};
        ig_sb_append(&out, &e, sizeof e);
        first += ents[i].n;
    }
    strtab st = {IG_STRBUF_INIT, {0}};
    for (size_t i = 0; i < w; i++)
        for (uint32_t k = 0; k < ents[i].n; k++) {
            const ig_symframe *s = &ents[i].frames[k];
            fc_frame f = {add_string(&st, s->func), add_string(&st, s->sysname), add_string(&st, s->file),
                          s->line, s->column, 0, s->func_start};
            ig_sb_append(&out, &f, sizeof f);
        }
    if (st.sb.len)
        ig_sb_append(&out, st.sb.data, st.sb.len);
    h.strings_len = st.sb.len;
    memcpy(out.data, &h, sizeof h);
    ig_sb_free(&st.sb);
    ig_u64map_clear(&st.seen);
    *len = out.len;
    return (uint8_t *)out.data;
}

size_t ig_framecache_max_entries(void)
{
    return FC_MAX_ENTRIES;
}
