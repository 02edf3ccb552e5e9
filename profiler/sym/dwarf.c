/*
 * profiler/sym/dwarf.c — from an ELF virtual address to function names,
 * source lines and inline frames, with libdw.
 *
 * Two sorted interval tables per module, both built lazily and kept:
 *   1. CU ranges: every compile unit's address ranges (dwarf_ranges on the
 *      CU DIE), built on the module's first lookup that .debug_aranges
 *      cannot answer.  The aranges (when a file has them) name the CU of
 *      an address without touching the others, which for libc is most of
 *      the first lookup's cost; clang and some gcc builds do not emit
 *      them, and an address they miss or misplace (no function of that
 *      CU contains it) takes the full table.
 *   2. function ranges per CU: every DW_TAG_subprogram with code (also
 *      inside namespaces and classes), built on the CU's first lookup.
 * A lookup is then two binary searches and a walk down ONE function's DIE
 * subtree to the innermost DW_TAG_inlined_subroutine containing the
 * address (dwarf_getscopes would walk the whole CU each time).
 *
 * Frames come out innermost first: the innermost inlined function with the
 * line-table line of the address, then each caller with the call site
 * (DW_AT_call_file/line/column) of the inlined instance it contains, the
 * physical function last.  Names follow DW_AT_abstract_origin and
 * DW_AT_specification (dwarf_attr_integrate).
 *
 * Corrupt DWARF: libdw reports errors, we stop; the recursion is bounded
 * in depth and in DIEs visited.
 */
#include "profiler/sym/sym_internal.h"
#include "utils/strbuf.h"

#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCOPE_DEPTH 64
#define MAX_DIES_PER_LOOKUP 200000
#define MAX_UNITS 1000000

/* ---- interval tables ----------------------------------------------------- */

typedef struct range_vec {
    ig_range *v;
    size_t n, cap;
} range_vec;

static void push_range(range_vec *rv, uint64_t lo, uint64_t hi, uint64_t ref)
{
    if (hi <= lo)
        return;
    if (rv->n == rv->cap) {
        rv->cap = rv->cap ? rv->cap * 2 : 64;
        rv->v = ig_xrealloc(rv->v, rv->cap * sizeof *rv->v);
    }
    rv->v[rv->n++] = (ig_range){lo, hi, ref};
}

static void push_die_ranges(range_vec *rv, Dwarf_Die *die, uint64_t ref)
{
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    int guard = 0;
    while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0 && guard++ < 100000)
        push_range(rv, lo, hi, ref);
}

static int cmp_range(const void *pa, const void *pb)
{
    const ig_range *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->hi > b->hi) - (a->hi < b->hi);
}

/* The range containing addr; ranges are sorted by lo.  Overlaps are rare
 * (a CU's low/high pc spanning another's code), so a short backward scan
 * from the last range starting at or before addr suffices. */
static const ig_range *find_range(const ig_range *v, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
        if (addr < v[i - 1].hi)
            return &v[i - 1];
    return NULL;
}

/* ---- CU table ------------------------------------------------------------ */

static void build_cu_index(ig_module *m)
{
    m->dwarf_indexed = 1;
    range_vec rv = {0};
    size_t cap = 0;
    Dwarf_CU *cu = NULL, *next = NULL;
    Dwarf_Die cudie;
    uint8_t unit_type;
    while (m->ncus < MAX_UNITS && dwarf_get_units(m->dwarf, cu, &next, NULL, &unit_type, &cudie, NULL) == 0) {
        cu = next;
        if (unit_type == DW_UT_type || unit_type == DW_UT_split_type)
            continue;
        if (m->ncus == cap) {
            cap = cap ? cap * 2 : 16;
            m->cus = ig_xrealloc(m->cus, cap * sizeof *m->cus);
        }
        m->cus[m->ncus] = (ig_cuinfo){.die_off = dwarf_dieoffset(&cudie)};
        push_die_ranges(&rv, &cudie, m->ncus);
        m->ncus++;
    }
    if (rv.n)
        qsort(rv.v, rv.n, sizeof *rv.v, cmp_range);
    m->cu_ranges = rv.v;
    m->ncu_ranges = rv.n;
}

/* ---- CU table through the persistent cache --------------------------------
 *
 * debug/<xx>/<rest>.cuidx, native byte order, keyed by the build-id of
 * the module whose DWARF it indexes:
 *   header  "IGCUIX\0\1", u32 version, u32 ncus, u64 nranges,
 *           u64 size of .debug_info
 *   cus     ncus x u64 CU DIE offset (each < the .debug_info size)
 *   ranges  nranges x {u64 lo, u64 hi, u64 cu index (< ncus)}, lo < hi,
 *           sorted by lo
 * and nothing after.  Walking every CU of libc is ~20 ms; this is one
 * read. */

#define CUIDX_MAGIC "IGCUIX\0\1"
#define CUIDX_VERSION 1u

typedef struct cuidx_hdr {
    char magic[8];
    uint32_t version, ncus;
    uint64_t nranges, info_size;
} cuidx_hdr;

const char *ig_cuindex_parse(const uint8_t *data, size_t len, uint64_t info_size, ig_cuinfo **cus, size_t *ncus,
                             ig_range **ranges, size_t *nranges)
{
    cuidx_hdr h;
    const char *why = ig_symcache_header(data, len, &h, sizeof h, CUIDX_MAGIC, CUIDX_VERSION);
    if (why)
        return why;
    if (h.info_size != info_size)
        return ".debug_info size differs";
    uint64_t cus_bytes = (uint64_t)h.ncus * 8, room = len - sizeof h;
    if (cus_bytes > room || h.nranges > (room - cus_bytes) / sizeof(ig_range) ||
        room - cus_bytes != h.nranges * sizeof(ig_range))
        return "size does not match its header (truncated?)";
    ig_cuinfo *c = ig_xcalloc(h.ncus ? h.ncus : 1, sizeof *c);
    ig_range *r = ig_xmalloc((h.nranges ? h.nranges : 1) * sizeof *r);
    const uint8_t *p = data + sizeof h;
    for (uint32_t i = 0; i < h.ncus && !why; i++) {
        uint64_t off;
        memcpy(&off, p + (size_t)i * 8, 8);
        c[i].die_off = off;
        if (off >= info_size)
            why = "CU offset outside .debug_info";
    }
    memcpy(r, p + cus_bytes, h.nranges * sizeof *r);
    for (uint64_t i = 0; i < h.nranges && !why; i++)
        if (r[i].lo >= r[i].hi || r[i].ref >= h.ncus || (i && r[i].lo < r[i - 1].lo))
            why = "corrupt range";
    if (why) {
        free(c);
        free(r);
        return why;
    }
    *cus = c;
    *ncus = h.ncus;
    *ranges = r;
    *nranges = h.nranges;
    return NULL;
}

uint8_t *ig_cuindex_encode(const ig_module *m, uint64_t info_size, size_t *len)
{
    if (m->ncus > UINT32_MAX)
        return NULL;
    cuidx_hdr h = {.version = CUIDX_VERSION, .ncus = (uint32_t)m->ncus, .nranges = m->ncu_ranges,
                   .info_size = info_size};
    memcpy(h.magic, CUIDX_MAGIC, 8);
    *len = sizeof h + m->ncus * 8 + m->ncu_ranges * sizeof(ig_range);
    uint8_t *out = ig_xmalloc(*len), *p = out + sizeof h;
    memcpy(out, &h, sizeof h);
    for (size_t i = 0; i < m->ncus; i++, p += 8)
        memcpy(p, &m->cus[i].die_off, 8);
    if (m->ncu_ranges)
        memcpy(p, m->cu_ranges, m->ncu_ranges * sizeof(ig_range));
    return out;
}

static uint64_t debug_info_size(Dwarf *dw)
{
    Elf *elf = dwarf_getelf(dw);
    size_t shstrndx;
    Elf_Scn *scn = NULL;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        const char *name;
        if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
            !strcmp(name, ".debug_info"))
            return (sh.sh_flags & SHF_COMPRESSED) ? 0 : sh.sh_size;
    }
    return 0;
}

/* The CU table from the cache, else built and stored there. */
static void cached_cu_index(ig_module *m)
{
    char name[64];
    snprintf(name, sizeof name, "%s.cuidx", m->build_id + 2);
    char sub[16];
    snprintf(sub, sizeof sub, "debug/%.2s", m->build_id);
    uint64_t info = debug_info_size(m->dwarf);
    uint8_t *data = NULL;
    size_t len = 0;
    if (info && ig_symcache_read(m->cache, sub, name, &data, &len) == 0) {
        const char *why = ig_cuindex_parse(data, len, info, &m->cus, &m->ncus, &m->cu_ranges, &m->ncu_ranges);
        free(data);
        if (!why) {
            m->dwarf_indexed = 1;
            return;
        }
        ig_symcache_remove(m->cache, sub, name, why);
    }
    build_cu_index(m);
    if (!info)
        return;
    data = ig_cuindex_encode(m, info, &len);
    if (data)
        ig_symcache_write(m->cache, sub, name, data, len);
    free(data);
}

/* ---- function table of one CU -------------------------------------------- */

static void collect_functions(range_vec *rv, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child;
    if (depth > 16 || dwarf_child(parent, &child) != 0)
        return;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram:
            push_die_ranges(rv, &child, dwarf_dieoffset(&child));
            break;
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_module:
        case DW_TAG_interface_type:
            collect_functions(rv, &child, depth + 1);
            break;
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

static void index_functions(ig_module *m, ig_cuinfo *ci)
{
    ci->indexed = 1;
    Dwarf_Die cudie;
    if (!dwarf_offdie(m->dwarf, ci->die_off, &cudie))
        return;
    range_vec rv = {0};
    collect_functions(&rv, &cudie, 0);
    if (rv.n)
        qsort(rv.v, rv.n, sizeof *rv.v, cmp_range);
    ci->funcs = rv.v;
    ci->nfuncs = rv.n;
}

/* ---- the inline chain ---------------------------------------------------- */

typedef struct chain {
    Dwarf_Die scopes[MAX_SCOPE_DEPTH]; /* [0] the function, then inlined */
    int n;
    int budget;                        /* DIEs we may still visit */
} chain;

static int is_code_scope(int tag)
{
    return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
           tag == DW_TAG_catch_block;
}

static int has_no_pc_attrs(Dwarf_Die *d)
{
    return !dwarf_hasattr(d, DW_AT_low_pc) && !dwarf_hasattr(d, DW_AT_ranges);
}

/* Descends from parent to the innermost scope containing pc, pushing the
 * inlined subroutines on the way.  Returns 1 when pc was found below. */
static int descend(chain *c, Dwarf_Die *parent, uint64_t pc, int depth)
{
    Dwarf_Die child;
    if (depth >= MAX_SCOPE_DEPTH || dwarf_child(parent, &child) != 0)
        return 0;
    do {
        if (--c->budget < 0)
            return 0;
        int tag = dwarf_tag(&child);
        if (!is_code_scope(tag))
            continue;
        int has = dwarf_haspc(&child, pc) > 0;
        if (!has) {
            /* A block without addresses of its own may still hold
             * inlined code; look inside, then carry on. */
            if (tag != DW_TAG_inlined_subroutine && has_no_pc_attrs(&child) && descend(c, &child, pc, depth + 1))
                return 1;
            continue;
        }
        if (tag == DW_TAG_inlined_subroutine && c->n < MAX_SCOPE_DEPTH)
            c->scopes[c->n++] = child;
        descend(c, &child, pc, depth + 1);
        return 1;
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

/* ---- frames -------------------------------------------------------------- */

static const char *die_string(Dwarf_Die *d, int name)
{
    Dwarf_Attribute a;
    return dwarf_formstring(dwarf_attr_integrate(d, name, &a));
}

static void die_names(Dwarf_Die *d, ig_rawframe *f)
{
    f->name = die_string(d, DW_AT_name);
    f->linkage = die_string(d, DW_AT_linkage_name);
    if (!f->linkage)
        f->linkage = die_string(d, DW_AT_MIPS_linkage_name);
}

static int die_udata(Dwarf_Die *d, int name, Dwarf_Word *v)
{
    Dwarf_Attribute a;
    return dwarf_formudata(dwarf_attr(d, name, &a), v);
}

static uint64_t function_entry(Dwarf_Die *fn)
{
    Dwarf_Addr a;
    if (dwarf_entrypc(fn, &a) == 0)
        return a;
    Dwarf_Addr base, lo, hi, best = 0;
    ptrdiff_t off = 0;
    int guard = 0;
    while ((off = dwarf_ranges(fn, off, &base, &lo, &hi)) > 0 && guard++ < 1000)
        if (!best || lo < best)
            best = lo;
    return best;
}

/* File:line:column of the call site recorded on an inlined instance. */
static void call_site(Dwarf_Die *cudie, Dwarf_Die *inl, ig_rawframe *f)
{
    Dwarf_Word v;
    if (die_udata(inl, DW_AT_call_line, &v) == 0)
        f->line = (int)v;
    if (die_udata(inl, DW_AT_call_column, &v) == 0)
        f->column = (int)v;
    Dwarf_Files *files;
    size_t nfiles;
    if (die_udata(inl, DW_AT_call_file, &v) == 0 && dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && v < nfiles)
        f->file = dwarf_filesrc(files, v, NULL, NULL);
}

static void line_of(Dwarf_Die *cudie, uint64_t pc, ig_rawframe *f)
{
    Dwarf_Line *ln = dwarf_getsrc_die(cudie, pc);
    if (!ln)
        return;
    f->file = dwarf_linesrc(ln, NULL, NULL);
    dwarf_lineno(ln, &f->line);
    dwarf_linecol(ln, &f->column);
}

static int fill_frames(chain *c, Dwarf_Die *cudie, uint64_t pc, ig_rawframe *out, int max)
{
    int k = 0;
    for (int i = c->n - 1; i >= 0 && k < max; i--, k++) {
        ig_rawframe *f = &out[k];
        memset(f, 0, sizeof *f);
        die_names(&c->scopes[i], f);
        if (i == c->n - 1)
            line_of(cudie, pc, f);
        else
            call_site(cudie, &c->scopes[i + 1], f);
        if (i == 0)
            f->start_vaddr = function_entry(&c->scopes[0]);
    }
    return k;
}

/* The function range of vaddr in a CU, indexing the CU on first use. */
static const ig_range *function_in(ig_module *m, ig_cuinfo *ci, uint64_t vaddr)
{
    if (!ci->indexed)
        index_functions(m, ci);
    return find_range(ci->funcs, ci->nfuncs, vaddr);
}

/* The CU of vaddr through .debug_aranges, without walking every CU (that
 * walk is most of the cost of a big library's first lookup).  Only CUs
 * actually hit get an entry.  NULL when there are no aranges or they do
 * not cover vaddr; the caller then falls back to the full CU table. */
static ig_cuinfo *cu_by_aranges(ig_module *m, uint64_t vaddr)
{
    Dwarf_Die cudie;
    if (m->dwarf_indexed || !dwarf_addrdie(m->dwarf, vaddr, &cudie))
        return NULL;
    Dwarf_Off off = dwarf_dieoffset(&cudie);
    for (size_t i = 0; i < m->nacus; i++)
        if (m->acus[i].die_off == off)
            return &m->acus[i];
    m->acus = ig_xrealloc(m->acus, (m->nacus + 1) * sizeof *m->acus);
    m->acus[m->nacus] = (ig_cuinfo){.die_off = off};
    return &m->acus[m->nacus++];
}

int ig_dwarf_frames(ig_module *m, uint64_t vaddr, ig_rawframe *out, int max)
{
    if (max <= 0 || !ig_module_dwarf(m))
        return 0;
    if (!m->dwarf_indexed && m->cache && m->build_id[0])
        cached_cu_index(m); /* the cache has it, or gets it for next time */
    ig_cuinfo *ci = cu_by_aranges(m, vaddr);
    const ig_range *fr = ci ? function_in(m, ci, vaddr) : NULL;
    if (!fr) {
        if (!m->dwarf_indexed)
            build_cu_index(m);
        const ig_range *cr = find_range(m->cu_ranges, m->ncu_ranges, vaddr);
        if (!cr)
            return 0;
        ci = &m->cus[cr->ref];
        fr = function_in(m, ci, vaddr);
    }
    if (!fr)
        return 0;
    chain c;
    Dwarf_Die cudie;
    if (!dwarf_offdie(m->dwarf, fr->ref, &c.scopes[0]) || !dwarf_offdie(m->dwarf, ci->die_off, &cudie))
        return 0;
    c.n = 1;
    c.budget = MAX_DIES_PER_LOOKUP;
    descend(&c, &c.scopes[0], vaddr, 0);
    return fill_frames(&c, &cudie, vaddr, out, max);
}

void ig_dwarf_index_free(ig_module *m)
{
    for (size_t i = 0; i < m->nacus; i++)
        free(m->acus[i].funcs);
    free(m->acus);
    m->acus = NULL;
    m->nacus = 0;
    for (size_t i = 0; i < m->ncus; i++)
        free(m->cus[i].funcs);
    free(m->cus);
    free(m->cu_ranges);
    m->cus = NULL;
    m->cu_ranges = NULL;
    m->ncus = m->ncu_ranges = 0;
    m->dwarf_indexed = 0;
}
