/*
 * profiler/sym/module.c — one ELF file as the symbolizer sees it.
 *
 * A module is opened once (ig_symtab caches it per build-id) and keeps:
 * the PT_LOAD program headers that turn a file offset into an ELF virtual
 * address, a sorted table of function symbols, and the libdw Dwarf handle
 * of whichever file carries the DWARF — the file itself, or a separate
 * debug file found the way gdb and elfutils look for one:
 *
 *   <debugdir>/.build-id/ab/cdef...debug       (by build-id)
 *   <dir>/<debuglink>, <dir>/.debug/<debuglink>,
 *   <debugdir>/<dir>/<debuglink>               (by .gnu_debuglink)
 *
 * A debuglink candidate is accepted only when its build-id matches the
 * file's (or, without build-ids, when its CRC32 matches the link's), so a
 * stale debug file never names the wrong code.  A path under
 * /proc/PID/root/ (a container) also searches the container's debugdir.
 *
 * Files are read with ELF_C_READ (pread on demand, no mmap), so a file
 * truncated behind our back yields read errors, never SIGBUS.  Every
 * failure leaves a module that names nothing (usable = 0): callers show
 * module+0xoffset.
 *
 * Opening is split in two: ig_module_init reads the build-id and program
 * headers only (enough for a mapping's build-id), ig_module_load the debug
 * info and symbol table, when the first address of the module needs a
 * name, so libraries that are mapped but never sampled cost nothing.
 * DWARF whose sections are compressed (Debian's -dbg files) is taken from
 * the persistent cache (cache.c): inflated once, mapped from then on.
 * DWARF libdw can open as it is (cached, or uncompressed) is only opened
 * when an address needs it (ig_module_dwarf): the frames cache answers most
 * addresses of a service recorded again.
 */
#include "profiler/sym/sym_internal.h"
#include "utils/strbuf.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int ig_elf_open(const char *path, int *fd, Elf **elf, struct stat *st)
{
    *fd = -1;
    *elf = NULL;
    /* O_NONBLOCK: a FIFO planted at the path must not hang us. */
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0)
        return -1;
    if (fstat(f, st) < 0 || !S_ISREG(st->st_mode)) {
        close(f);
        return -1;
    }
    Elf *e = elf_begin(f, ELF_C_READ, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        if (e)
            elf_end(e);
        close(f);
        return -1;
    }
    *fd = f;
    *elf = e;
    return 0;
}

int ig_elf_build_id_hex(Elf *elf, char *buf, size_t len)
{
    const void *id = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
    if (n <= 0 || !id || len < 3)
        return -1;
    const unsigned char *p = id;
    size_t max = (len - 1) / 2;
    if ((size_t)n > max)
        n = (ssize_t)max;
    for (ssize_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    return 0;
}

void ig_elf_identity(Elf *elf, const struct stat *st, char *buf, size_t len)
{
    char bid[41];
    if (elf && ig_elf_build_id_hex(elf, bid, sizeof bid) == 0) {
        snprintf(buf, len, "b:%s", bid);
        return;
    }
    snprintf(buf, len, "f:%llu:%llu:%lld.%09ld:%lld", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
             (long long)st->st_size);
}

/* ---- program headers ----------------------------------------------------- */

static void load_program_headers(ig_module *m, Elf *elf)
{
    size_t n = 0;
    if (elf_getphdrnum(elf, &n) != 0 || n == 0 || n > 4096)
        return;
    m->loads = ig_xcalloc(n, sizeof *m->loads);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_filesz == 0)
            continue;
        m->loads[m->nloads++] = (ig_load){ph.p_offset, ph.p_filesz, ph.p_vaddr};
    }
}

int ig_module_off_to_vaddr(const ig_module *m, uint64_t off, uint64_t *vaddr)
{
    for (size_t i = 0; i < m->nloads; i++) {
        const ig_load *l = &m->loads[i];
        if (off >= l->off && off - l->off < l->filesz) {
            *vaddr = off - l->off + l->vaddr;
            return 0;
        }
    }
    return -1;
}

int ig_module_vaddr_to_off(const ig_module *m, uint64_t vaddr, uint64_t *off)
{
    for (size_t i = 0; i < m->nloads; i++) {
        const ig_load *l = &m->loads[i];
        if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
            *off = vaddr - l->vaddr + l->off;
            return 0;
        }
    }
    return -1;
}

/* ---- ELF symbol table ---------------------------------------------------- */

static int bind_rank(int bind)
{
    return bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
}

/* Code sections by index: flags and extent, for the symbols that point
 * into them. */
typedef struct code_sections {
    GElf_Shdr *v;
    size_t n;
} code_sections;

static void read_sections(Elf *elf, code_sections *cs)
{
    cs->v = NULL;
    cs->n = 0;
    size_t n;
    if (elf_getshdrnum(elf, &n) != 0 || n == 0 || n > 65536)
        return;
    cs->v = ig_xcalloc(n, sizeof *cs->v);
    cs->n = n;
    for (size_t i = 0; i < n; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        if (!scn || !gelf_getshdr(scn, &cs->v[i]))
            memset(&cs->v[i], 0, sizeof cs->v[i]);
    }
}

/* A function symbol, or a label in code (perf's rule: STT_NOTYPE, named,
 * defined, visible); *limit is the end of its section. */
static bool wanted_symbol(const GElf_Sym *s, const code_sections *cs, uint64_t *limit, uint8_t *label)
{
    int type = GELF_ST_TYPE(s->st_info), vis = GELF_ST_VISIBILITY(s->st_other);
    *label = type == STT_NOTYPE;
    if ((type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) || s->st_shndx == SHN_UNDEF ||
        s->st_value == 0 || s->st_name == 0)
        return false;
    const GElf_Shdr *sh = s->st_shndx < cs->n ? &cs->v[s->st_shndx] : NULL;
    if (*label && (!sh || !(sh->sh_flags & SHF_EXECINSTR) || vis == STV_HIDDEN || vis == STV_INTERNAL))
        return false;
    *limit = UINT64_MAX;
    if (sh && (sh->sh_flags & SHF_ALLOC) && s->st_value >= sh->sh_addr && s->st_value - sh->sh_addr < sh->sh_size)
        *limit = sh->sh_addr + sh->sh_size;
    else if (*label)
        return false; /* a label outside its section names nothing */
    return true;
}

static void push_symbols(ig_module *m, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, size_t *cap)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    size_t esz = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    if (!d || !d->d_buf || esz == 0)
        return;
    code_sections cs;
    read_sections(elf, &cs);
    size_t n = d->d_size / esz;
    for (size_t i = 1; i < n; i++) {
        GElf_Sym s;
        if (!gelf_getsym(d, (int)i, &s))
            break;
        uint64_t limit;
        uint8_t label;
        if (!wanted_symbol(&s, &cs, &limit, &label))
            continue;
        const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
        if (!name || !*name)
            continue;
        if (m->nsyms == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            m->syms = ig_xrealloc(m->syms, *cap * sizeof *m->syms);
        }
        m->syms[m->nsyms++] =
            (ig_elfsym){s.st_value, s.st_size, limit, name, (uint8_t)bind_rank(GELF_ST_BIND(s.st_info)), label};
    }
    free(cs.v);
}

static void load_symbols_of_type(ig_module *m, Elf *elf, Elf64_Word type)
{
    size_t cap = 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
            push_symbols(m, elf, scn, &sh, &cap);
    }
}

/* Aliases at one address: keep a function over a label, then the global,
 * sized, non-underscore one. */
static int better_alias(const ig_elfsym *a, const ig_elfsym *b)
{
    if (a->label != b->label)
        return !a->label;
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if ((a->size > 0) != (b->size > 0))
        return a->size > 0;
    return (a->name[0] != '_') && (b->name[0] == '_');
}

static int cmp_elfsym(const void *pa, const void *pb)
{
    const ig_elfsym *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    return better_alias(a, b) ? -1 : better_alias(b, a) ? 1 : 0;
}

/* Gives each unsized symbol the extent up to the next symbol, at most to
 * its section's end, and drops labels inside a sized function (a label
 * there is a jump target, not a function).  Sizes stay as the file says
 * otherwise (a sized symbol followed by a gap names nothing in the gap). */
static void size_unsized_symbols(ig_module *m)
{
    uint64_t covered_to = 0; /* end of the last sized symbol kept */
    size_t w = 0;
    for (size_t i = 0; i < m->nsyms; i++) {
        ig_elfsym s = m->syms[i];
        if (s.size == 0 && s.label && s.addr < covered_to)
            continue;
        if (s.size > 0 && s.addr + s.size > covered_to)
            covered_to = s.addr + s.size < s.addr ? UINT64_MAX : s.addr + s.size;
        m->syms[w++] = s;
    }
    m->nsyms = w;
    for (size_t i = 0; i < m->nsyms; i++) {
        ig_elfsym *s = &m->syms[i];
        if (s->size)
            continue;
        uint64_t end = i + 1 < m->nsyms ? m->syms[i + 1].addr : s->limit;
        if (end > s->limit)
            end = s->limit;
        s->size = end > s->addr && end != UINT64_MAX ? end - s->addr : 0;
    }
}

static void sort_symbols(ig_module *m)
{
    if (!m->nsyms)
        return;
    qsort(m->syms, m->nsyms, sizeof *m->syms, cmp_elfsym);
    size_t w = 0;
    for (size_t i = 0; i < m->nsyms; i++)
        if (w == 0 || m->syms[w - 1].addr != m->syms[i].addr)
            m->syms[w++] = m->syms[i];
    m->nsyms = w;
    size_unsized_symbols(m);
}

/* .symtab of the file, else .symtab of the debug file, else .dynsym. */
static void load_symbols(ig_module *m)
{
    if (m->elf)
        load_symbols_of_type(m, m->elf, SHT_SYMTAB);
    if (!m->nsyms && m->cache_elf) /* mapped: no copy */
        load_symbols_of_type(m, m->cache_elf, SHT_SYMTAB);
    if (!m->nsyms && m->dbg_elf)
        load_symbols_of_type(m, m->dbg_elf, SHT_SYMTAB);
    if (!m->nsyms && m->elf)
        load_symbols_of_type(m, m->elf, SHT_DYNSYM);
    sort_symbols(m);
}

const ig_elfsym *ig_module_elfsym(ig_module *m, uint64_t vaddr)
{
    if (m->syms_pending) { /* DWARF names most addresses: read on first need */
        m->syms_pending = 0;
        load_symbols(m);
    }
    size_t lo = 0, hi = m->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].addr <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const ig_elfsym *s = &m->syms[lo - 1];
    return vaddr - s->addr < s->size ? s : NULL; /* unsized ones were given a size */
}

/* ---- separate debug info ------------------------------------------------- */

static uint32_t file_crc32(int fd)
{
    unsigned char buf[65536];
    uLong crc = crc32(0L, Z_NULL, 0);
    off_t pos = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        crc = crc32(crc, buf, (uInt)n);
        pos += n;
    }
    return (uint32_t)crc;
}

typedef struct debug_want {
    const char *bid;     /* build-id the debug file must carry, or NULL */
    int check_crc;
    GElf_Word crc;
    dev_t self_dev;      /* the module file itself is never its debug file */
    ino_t self_ino;
} debug_want;

static int try_debug_file(ig_module *m, const char *cand, const debug_want *w)
{
    int fd;
    Elf *elf;
    struct stat st;
    if (ig_elf_open(cand, &fd, &elf, &st) < 0)
        return 0;
    int ok = !(st.st_dev == w->self_dev && st.st_ino == w->self_ino);
    if (ok && w->bid) {
        char bid[41] = "";
        ok = ig_elf_build_id_hex(elf, bid, sizeof bid) == 0 && strcmp(bid, w->bid) == 0;
    } else if (ok && w->check_crc) {
        ok = file_crc32(fd) == w->crc;
    }
    if (!ok) {
        elf_end(elf);
        close(fd);
        return 0;
    }
    m->dbg_fd = fd;
    m->dbg_elf = elf;
    return 1;
}

/* Length of a "/proc/PID/root" prefix of path, else 0. */
static size_t container_root_len(const char *path)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return 0;
    const char *p = path + 6;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == path + 6 || strncmp(p, "/root/", 6) != 0)
        return 0;
    return (size_t)(p + 5 - path);
}

static int find_by_build_id(ig_module *m, const char *bid, const char *path, const ig_debug_dirs *dd,
                            const debug_want *w)
{
    if (strlen(bid) < 4)
        return 0;
    size_t root = container_root_len(path);
    char cand[4096];
    for (size_t i = 0; i < dd->n; i++) {
        snprintf(cand, sizeof cand, "%s/.build-id/%.2s/%s.debug", dd->dirs[i], bid, bid + 2);
        if (try_debug_file(m, cand, w))
            return 1;
        if (root) {
            snprintf(cand, sizeof cand, "%.*s%s/.build-id/%.2s/%s.debug", (int)root, path, dd->dirs[i], bid,
                     bid + 2);
            if (try_debug_file(m, cand, w))
                return 1;
        }
    }
    return 0;
}

static int find_by_debuglink(ig_module *m, const char *path, const ig_debug_dirs *dd, debug_want *w)
{
    if (m->image)
        return 0; /* an image from memory (the vDSO) has no directory */
    GElf_Word crc = 0;
    const char *link = dwelf_elf_gnu_debuglink(m->elf, &crc);
    if (!link || !*link || strchr(link, '/') || strlen(link) > 255)
        return 0;
    w->check_crc = 1;
    w->crc = crc;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    size_t root = container_root_len(path);
    char cand[4096];
    snprintf(cand, sizeof cand, "%.*s/%s", dirlen, dir, link);
    if (try_debug_file(m, cand, w))
        return 1;
    snprintf(cand, sizeof cand, "%.*s/.debug/%s", dirlen, dir, link);
    if (try_debug_file(m, cand, w))
        return 1;
    for (size_t i = 0; i < dd->n && slash; i++) {
        /* <debugdir>/<dir>/<link>, dir taken inside the container. */
        snprintf(cand, sizeof cand, "%s%.*s/%s", dd->dirs[i], dirlen - (int)root, path + root, link);
        if (try_debug_file(m, cand, w))
            return 1;
        if (root) {
            snprintf(cand, sizeof cand, "%.*s%s%.*s/%s", (int)root, path, dd->dirs[i], dirlen - (int)root,
                     path + root, link);
            if (try_debug_file(m, cand, w))
                return 1;
        }
    }
    return 0;
}

/* The next section after scn that has contents and a name. */
static Elf_Scn *next_section(Elf *elf, Elf_Scn *scn, size_t shstrndx, GElf_Shdr *sh, const char **name)
{
    while ((scn = elf_nextscn(elf, scn))) {
        if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS)
            continue;
        if ((*name = elf_strptr(elf, shstrndx, sh->sh_name)))
            return scn;
    }
    return NULL;
}

/* libdw 0.188 runs strlen() on DWARF string sections without bounds, so a
 * corrupt file whose .debug_str / .debug_line_str lacks its final NUL
 * reads past the buffer (found by fuzz/fuzz_elf_symbolize.c).  Compilers
 * always terminate them; refuse the DWARF of a file that does not.
 * Called after dwarf_begin_elf, which has decompressed the sections. */
static int string_sections_terminated(Elf *elf)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    GElf_Shdr sh;
    const char *name;
    for (Elf_Scn *scn = NULL; (scn = next_section(elf, scn, shstrndx, &sh, &name));) {
        if (strcmp(name, ".debug_str") != 0 && strcmp(name, ".debug_line_str") != 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (d && d->d_size > 0 && (!d->d_buf || ((const char *)d->d_buf)[d->d_size - 1] != '\0'))
            return 0;
    }
    return 1;
}

int ig_elf_has_compressed_debug(Elf *elf)
{
    size_t shstrndx;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    GElf_Shdr sh;
    const char *name;
    for (Elf_Scn *scn = NULL; (scn = next_section(elf, scn, shstrndx, &sh, &name));)
        if ((sh.sh_flags & SHF_COMPRESSED) && !strncmp(name, ".debug_", 7))
            return 1;
    return 0;
}

Dwarf *ig_dwarf_open(Elf *elf)
{
    Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
    if (!dw)
        return NULL;
    if (!string_sections_terminated(elf)) {
        dwarf_end(dw);
        return NULL;
    }
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    uint8_t unit_type;
    if (dwarf_get_units(dw, NULL, &cu, NULL, &unit_type, &cudie, NULL) != 0) {
        dwarf_end(dw);
        return NULL;
    }
    return dw;
}

/* The Dwarf of an ELF whose DWARF sections are compressed comes from the
 * persistent cache (decompressed once, mapped afterwards) when the file
 * carries the module's build-id; otherwise libdw inflates it in memory. */
static Dwarf *open_dwarf_cached(ig_module *m, Elf *elf, int elf_fd, ig_symcache *cache)
{
    if (!cache || elf_fd < 0 || !m->build_id[0] || !ig_elf_has_compressed_debug(elf))
        return ig_dwarf_open(elf);
    char bid[41] = "";
    if (ig_elf_build_id_hex(elf, bid, sizeof bid) != 0 || strcmp(bid, m->build_id) != 0)
        return ig_dwarf_open(elf);
    int fd;
    Elf *cached;
    if (ig_symcache_debug_store(cache, m->build_id, elf_fd, &fd, &cached) != 0)
        return ig_dwarf_open(elf);
    Dwarf *dw = ig_dwarf_open(cached);
    if (!dw) {
        ig_symcache_elf_end(cached);
        close(fd);
        return ig_dwarf_open(elf);
    }
    m->cache_fd = fd;
    m->cache_elf = cached;
    return dw;
}

/* True when elf has a .debug_info and no compressed .debug_* section:
 * libdw can open it as it is, so that can wait (ig_module_dwarf). */
static int has_plain_dwarf(Elf *elf)
{
    size_t shstrndx;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    GElf_Shdr sh;
    const char *name;
    int info = 0;
    for (Elf_Scn *scn = NULL; (scn = next_section(elf, scn, shstrndx, &sh, &name));) {
        if ((sh.sh_flags & SHF_COMPRESSED) && !strncmp(name, ".debug_", 7))
            return 0;
        info |= !strcmp(name, ".debug_info") && sh.sh_size > 0;
    }
    return info;
}

/* The cached, decompressed DWARF of this build-id, when there is one. */
static int use_cached_debug(ig_module *m, ig_symcache *cache)
{
    if (!cache || !m->build_id[0] || ig_symcache_debug_open(cache, m->build_id, &m->cache_fd, &m->cache_elf) != 0)
        return 0;
    m->dwarf_elf = m->cache_elf;
    return 1;
}

/* DWARF in elf: left for later when it is plain (defer), else opened now
 * (compressed DWARF goes through the cache, which inflates it once). */
static int take_dwarf_of(ig_module *m, Elf *elf, int fd, ig_symcache *cache, int defer)
{
    if (defer && has_plain_dwarf(elf)) {
        m->dwarf_elf = elf;
        return 1;
    }
    return (m->dwarf = open_dwarf_cached(m, elf, fd, cache)) != NULL;
}

/* A separate debug file, by build-id, else by debuglink. */
static void find_separate_debug_info(ig_module *m, const ig_debug_dirs *dd, ig_symcache *cache, int defer)
{
    debug_want w = {.bid = m->build_id[0] ? m->build_id : NULL, .self_dev = m->dev, .self_ino = m->ino};
    int found = w.bid && find_by_build_id(m, w.bid, m->path, dd, &w);
    if (!found)
        found = find_by_debuglink(m, m->path, dd, &w);
    if (found)
        take_dwarf_of(m, m->dbg_elf, m->dbg_fd, cache, defer);
}

/* The debug info of a module not (or not usably) in the cache. */
static void find_uncached_debug_info(ig_module *m, const ig_debug_dirs *dd, ig_symcache *cache, int defer)
{
    if (!take_dwarf_of(m, m->elf, m->fd, cache, defer))
        find_separate_debug_info(m, dd, cache, defer);
}

static void find_debug_info(ig_module *m, const ig_debug_dirs *dd, ig_symcache *cache)
{
    if (!use_cached_debug(m, cache))
        find_uncached_debug_info(m, dd, cache, 1);
}

Dwarf *ig_module_dwarf(ig_module *m)
{
    Elf *elf = m->dwarf_elf;
    if (!elf)
        return m->dwarf;
    m->dwarf_elf = NULL;
    if ((m->dwarf = ig_dwarf_open(elf)))
        return m->dwarf;
    if (elf == m->cache_elf) { /* refused: search as if it were not cached */
        ig_symcache_elf_end(m->cache_elf);
        close(m->cache_fd);
        m->cache_elf = NULL;
        m->cache_fd = -1;
        if (m->elf)
            find_uncached_debug_info(m, m->dd, m->cache, 0);
    } else if (elf == m->elf) { /* the file's own DWARF refused: a debug file's */
        find_separate_debug_info(m, m->dd, m->cache, 0);
    }
    return m->dwarf;
}

/* Revision of the rules that name addresses from the ELF symbol table,
 * kept in bits 8-15 of the debug kind: 1 named only sized functions, 2
 * also labels and unsized symbols.  Frames cached under other rules are
 * dropped silently and named again. */
#define SYMBOL_RULES 2u

unsigned ig_module_debug_kind(const ig_module *m)
{
    return (m->dwarf || m->dwarf_elf ? 1u : 0u) | (m->dbg_elf || m->cache_elf ? 2u : 0u) | SYMBOL_RULES << 8;
}

/* ---- the module ---------------------------------------------------------- */

void ig_module_init(ig_module *m, const char *path, int fd, Elf *elf, const struct stat *st, const char *bid)
{
    memset(m, 0, sizeof *m);
    m->path = ig_xstrdup(path);
    m->fd = fd;
    m->dbg_fd = m->cache_fd = -1;
    m->elf = elf;
    if (!elf) {
        /* The file is gone or was replaced: a debug file has the names but
         * not the file layout (objcopy --only-keep-debug zeroes p_offset
         * and p_filesz), so offsets cannot be placed.  Name nothing. */
        if (bid)
            snprintf(m->build_id, sizeof m->build_id, "%s", bid);
        m->loaded = 1;
        return;
    }
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    ig_elf_build_id_hex(elf, m->build_id, sizeof m->build_id);
    load_program_headers(m, elf);
    m->usable = m->nloads > 0; /* until ig_module_load says otherwise */
}

void ig_module_load(ig_module *m, const ig_debug_dirs *dd, ig_symcache *cache)
{
    if (m->loaded)
        return;
    m->loaded = 1;
    m->cache = cache;
    m->dd = dd;
    find_debug_info(m, dd, cache);
    if (m->dwarf || m->dwarf_elf)
        m->syms_pending = 1;
    else
        load_symbols(m);
    m->usable = m->nloads > 0 && (m->dwarf || m->dwarf_elf || m->nsyms);
}

void ig_module_close(ig_module *m)
{
    ig_dwarf_index_free(m);
    if (m->dwarf)
        dwarf_end(m->dwarf);
    if (m->dbg_elf)
        elf_end(m->dbg_elf);
    if (m->cache_elf)
        ig_symcache_elf_end(m->cache_elf);
    if (m->cache_fd >= 0)
        close(m->cache_fd);
    if (m->fc_map)
        ig_symcache_unmap(m->fc_map, m->fc_len);
    free(m->fc_new);
    if (m->elf)
        elf_end(m->elf);
    free(m->image);
    if (m->dbg_fd >= 0)
        close(m->dbg_fd);
    if (m->fd >= 0)
        close(m->fd);
    free(m->loads);
    free(m->syms);
    free(m->path);
    memset(m, 0, sizeof *m);
    m->fd = m->dbg_fd = m->cache_fd = -1;
}
