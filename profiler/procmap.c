/*
 * profiler/procmap.c — modules (mapped ELF files) and per-process maps.
 *
 * Design.  Unwinding reads two kinds of memory: the copied stack, and the
 * unwind tables of the code (.eh_frame_hdr, .eh_frame).  The latter never
 * change at run time, so instead of reading the target's memory we map
 * each ELF file read-only into the profiler once (page cache backed, so it
 * costs address space, not RSS) and translate a target address into a file
 * offset through the load bias and the PT_LOAD headers.  Files are opened
 * through /proc/PID/root (containers); a deleted or replaced file is taken
 * from /proc/PID/map_files, which pins the inode the target really maps.
 * The target chooses what those paths name in its own mount namespace: a
 * candidate is opened O_NONBLOCK and kept only if it is a regular file
 * (a FIFO bind-mounted over a mapped file must not hang the recorder).
 * The vDSO has no file: its image is read from the target's memory when
 * the mapping is added (shared with our own, AT_SYSINFO_EHDR, when the
 * bytes match; ours serves when the target's cannot be read).
 *
 * Only executable mappings are kept per process, sorted by address; an
 * address in a module's read-only data (where .eh_frame lives) is found
 * through the module's extent around its executable mapping.
 */
#include "profiler/procmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "utils/hash.h"
#include "utils/mapguard.h"
#include "utils/strbuf.h"

/* DWARF exception-header pointer encodings we accept in .eh_frame_hdr. */
#define DW_EH_PE_omit 0xff
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_datarel 0x30

static int encoded_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case DW_EH_PE_udata4: case DW_EH_PE_sdata4: return 4;
    case DW_EH_PE_udata8: case DW_EH_PE_sdata8: return 8;
    default: return -1;
    }
}

/* Maps a module vaddr to a file offset; false when not backed by the file.
 * vaddr comes from the target (an unwinder's guess) and the segments from
 * its files: offsets are compared, never sums that could wrap. */
static bool vaddr_to_offset(const ig_module *m, uint64_t vaddr, uint64_t len, uint64_t *off)
{
    for (int i = 0; i < m->nloads; i++) {
        const ig_load *l = &m->loads[i];
        uint64_t in = vaddr - l->vaddr;
        if (vaddr < l->vaddr || in > l->filesz || l->filesz - in < len)
            continue;
        *off = l->offset + in; /* parse_elf keeps every segment inside the file */
        return true;
    }
    return false;
}

/* Locates the binary-search table of PT_GNU_EH_FRAME. */
static void parse_eh_frame_hdr(ig_module *m, uint64_t hdr_vaddr)
{
    uint64_t off;
    if (!vaddr_to_offset(m, hdr_vaddr, 4, &off))
        return;
    const uint8_t *h = m->bytes + off;
    if (h[0] != 1)
        return;
    int ptr_size = encoded_size(h[1]), count_size = encoded_size(h[2]);
    if (ptr_size < 0 || count_size < 0 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
        return;
    uint64_t count_off;
    if (!vaddr_to_offset(m, hdr_vaddr + 4 + ptr_size, count_size, &count_off))
        return;
    uint64_t count = 0;
    if (count_size == 4) {
        uint32_t c32;
        memcpy(&c32, m->bytes + count_off, 4);
        count = c32;
    } else {
        memcpy(&count, m->bytes + count_off, 8);
    }
    uint64_t table = hdr_vaddr + 4 + ptr_size + count_size, table_off;
    if (!count || count > m->size / 8 || !vaddr_to_offset(m, table, count * 8, &table_off))
        return;
    m->eh_hdr_vaddr = hdr_vaddr;
    m->table_vaddr = table;
    m->fde_count = count;
    m->has_table = true;
}

/* Reads the program headers; false for anything that is not a usable ELF. */
static bool parse_elf(ig_module *m)
{
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)m->bytes, m->size);
    if (!e)
        return false;
    size_t n = 0;
    bool ok = elf_kind(e) == ELF_K_ELF && gelf_getclass(e) == ELFCLASS64 && elf_getphdrnum(e, &n) == 0;
    uint64_t eh_vaddr = 0;
    m->loads = ok && n ? ig_xcalloc(n, sizeof *m->loads) : NULL;
    m->lo = UINT64_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_GNU_EH_FRAME)
            eh_vaddr = ph.p_vaddr;
        if (ph.p_type != PT_LOAD || ph.p_offset > m->size || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
            continue;
        ig_load *l = &m->loads[m->nloads++];
        *l = (ig_load){ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz};
        if (l->filesz > m->size - l->offset)
            l->filesz = m->size - l->offset;
        if (ph.p_vaddr < m->lo)
            m->lo = ph.p_vaddr;
        if (ph.p_vaddr + ph.p_memsz > m->hi)
            m->hi = ph.p_vaddr + ph.p_memsz;
    }
    elf_end(e);
    if (!ok || !m->nloads)
        return false;
    if (eh_vaddr)
        parse_eh_frame_hdr(m, eh_vaddr);
    return true;
}

/* A module file mapped read-only, guarded against the file shrinking
 * while we read it (utils/mapguard.h). */
static const uint8_t *map_file(int fd, size_t size)
{
    void *b = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (b == MAP_FAILED)
        return NULL;
    ig_mapguard_add(b, size);
    return b;
}

static void unmap_file(const uint8_t *b, size_t size)
{
    ig_mapguard_remove(b);
    munmap((void *)b, size);
}

static void module_free(ig_module *m)
{
    if (m->cfi)
        dwarf_cfi_end(m->cfi);
    if (m->elf)
        elf_end(m->elf);
    if (m->own_bytes && m->bytes)
        unmap_file(m->bytes, m->size);
    free(m->loads);
    free(m->name);
    free(m->open_path);
    free(m);
}

void ig_modcache_free(ig_modcache *mc)
{
    for (size_t i = 0; i < mc->n; i++)
        module_free(mc->mods[i]);
    free(mc->mods);
    memset(mc, 0, sizeof *mc);
}

static ig_module *cache_find(ig_modcache *mc, uint64_t dev, uint64_t ino, const char *name)
{
    for (size_t i = 0; i < mc->n; i++) {
        ig_module *m = mc->mods[i];
        if (m->dev == dev && m->ino == ino && (ino || !strcmp(m->name, name)))
            return m;
    }
    return NULL;
}

static ig_module *cache_add(ig_modcache *mc, ig_module *m)
{
    if (mc->n == mc->cap) {
        mc->cap = mc->cap ? mc->cap * 2 : 16;
        mc->mods = ig_xrealloc(mc->mods, mc->cap * sizeof *mc->mods);
    }
    mc->mods[mc->n++] = m;
    return m;
}

/* The GNU build-id of a module's ELF as lowercase hex ("" when none). */
static void note_build_id(ig_module *m)
{
    m->build_id[0] = '\0';
    m->build_id_known = true;
    Elf *e = elf_memory((char *)m->bytes, m->size);
    const unsigned char *id = NULL;
    ssize_t n = e ? dwelf_elf_gnu_build_id(e, (const void **)&id) : -1;
    for (ssize_t i = 0; id && i < n && i < 20; i++)
        snprintf(m->build_id + 2 * i, 3, "%02x", id[i]);
    if (e)
        elf_end(e);
}

/* Our own vDSO image (AT_SYSINFO_EHDR). */
static ig_module *own_vdso_module(ig_modcache *mc)
{
    ig_module *m = cache_find(mc, 0, 0, "[vdso]");
    if (m)
        return m->bytes ? m : NULL;
    m = ig_xcalloc(1, sizeof *m);
    m->name = ig_xstrdup("[vdso]");
    m->open_path = ig_xstrdup("");
    cache_add(mc, m);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
            lo == getauxval(AT_SYSINFO_EHDR)) {
            m->bytes = (const uint8_t *)lo;
            m->size = hi - lo;
        }
    }
    if (f)
        fclose(f);
    if (m->bytes && !parse_elf(m))
        m->bytes = NULL;
    if (m->bytes)
        note_build_id(m);
    return m->bytes ? m : NULL;
}

#define VDSO_MAX (1u << 20)
#define VDSO_DEV UINT64_MAX /* modcache key of vDSO images read from a target */

/* The target's vDSO at [start, end) read from /proc/PID/mem into a heap
 * buffer (the caller frees it); NULL when it cannot be read.  Every
 * process has one and nearly all are our own image, so no mapping is made
 * for the comparison: an munmap per process costs a TLB shootdown on
 * every CPU, which dominated attaching to 10k processes (-a). */
static uint8_t *read_vdso(pid_t pid, uint64_t start, uint64_t end, size_t *size)
{
    if (end <= start || end - start > VDSO_MAX)
        return NULL;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    *size = (size_t)(end - start);
    uint8_t *b = ig_xmalloc(*size);
    ssize_t got = pread(fd, b, *size, (off_t)start);
    close(fd);
    if (got < 0 || (size_t)got != *size) {
        free(b);
        return NULL;
    }
    return b;
}

/* A read-only private copy of a new vDSO image, kept for the module. */
static uint8_t *keep_vdso(const uint8_t *img, size_t size)
{
    uint8_t *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    memcpy(b, img, size);
    if (mprotect(b, size, PROT_READ) != 0) {
        munmap(b, size);
        return NULL;
    }
    return b;
}

/* The vDSO of process pid mapped at [start, end): the image the target
 * really runs (read from its memory: a 32-bit process or one that patched
 * its vDSO has another), shared with our own when the bytes are the same,
 * else kept once per distinct image; our own (same kernel) when the
 * target's cannot be read (no ptrace access, or it exited). */
static ig_module *vdso_module(ig_modcache *mc, pid_t pid, uint64_t start, uint64_t end)
{
    ig_module *own = own_vdso_module(mc);
    size_t size;
    uint8_t *img = read_vdso(pid, start, end, &size);
    if (!img)
        return own;
    if (own && own->size == size && !memcmp(own->bytes, img, size)) {
        free(img);
        return own;
    }
    uint64_t key = ig_hash_bytes(img, size, 0xd50) | 1;
    ig_module *m = cache_find(mc, VDSO_DEV, key, "[vdso]");
    if (m) {
        free(img);
        return m->bytes ? m : NULL;
    }
    m = ig_xcalloc(1, sizeof *m);
    m->name = ig_xstrdup("[vdso]");
    m->open_path = ig_xstrdup("");
    m->dev = VDSO_DEV;
    m->ino = key;
    m->bytes = keep_vdso(img, size);
    m->size = size;
    m->own_bytes = m->bytes != NULL;
    free(img);
    cache_add(mc, m);
    if (!m->bytes)
        return NULL;
    if (!parse_elf(m)) {
        munmap((void *)m->bytes, size);
        m->bytes = NULL;
        return NULL;
    }
    note_build_id(m);
    return m;
}

/* A descriptor of the regular file at path, the inode ino when ino is
 * not 0; -1 otherwise.  The path comes from the target, which can make
 * it name anything in its own mount namespace: O_NONBLOCK, so a FIFO
 * bind-mounted over a mapped file (no privilege needed: unshare -Urm)
 * opens at once instead of waiting for a writer forever, and is dropped. */
static int open_regular(const char *path, uint64_t ino)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (ino && st.st_ino != ino)) {
        close(fd); /* not a file, or replaced since it was mapped */
        return -1;
    }
    return fd;
}

static int open_mapped_file(pid_t pid, const char *name, uint64_t start, uint64_t end, uint64_t ino,
                            char *path, size_t len)
{
    size_t nlen = strlen(name);
    bool deleted = nlen > 10 && !strcmp(name + nlen - 10, " (deleted)");
    int fd = -1;
    if (!deleted) {
        snprintf(path, len, "/proc/%d/root%s", (int)pid, name);
        fd = open_regular(path, ino);
    }
    if (fd < 0 && start) {
        snprintf(path, len, "/proc/%d/map_files/%lx-%lx", (int)pid, (unsigned long)start, (unsigned long)end);
        fd = open_regular(path, 0);
    }
    if (fd < 0 && !deleted && ino) {
        /* The process exited (its samples are drained late) and took its
         * /proc entries along: the same path in our namespace, if it is
         * the very inode it mapped. */
        snprintf(path, len, "%s", name);
        fd = open_regular(path, ino);
    }
    return fd;
}

ig_module *ig_module_get(ig_modcache *mc, pid_t pid, const char *name, uint64_t start, uint64_t end,
                         uint64_t dev, uint64_t ino)
{
    (void)dev;
    if (!strcmp(name, "[vdso]"))
        return vdso_module(mc, pid, start, end);
    if (name[0] != '/')
        return NULL;
    char path[4200];
    int fd = open_mapped_file(pid, name, start, end, ino, path, sizeof path);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
        close(fd);
        return NULL;
    }
    ig_module *m = cache_find(mc, st.st_dev, st.st_ino, name);
    if (m) {
        close(fd);
        return m->bytes ? m : NULL;
    }
    m = ig_xcalloc(1, sizeof *m);
    m->name = ig_xstrdup(name);
    /* The symbolizer opens files by path, possibly after the target exited
     * (samples are drained late): prefer the plain path when it is the
     * very same file in our mount namespace, /proc/PID/... otherwise. */
    struct stat same;
    bool plain = !strncmp(path, "/proc/", 6) && strstr(path, "/root/") && stat(name, &same) == 0 &&
                 same.st_dev == st.st_dev && same.st_ino == st.st_ino;
    m->open_path = ig_xstrdup(plain ? name : path);
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    cache_add(mc, m);
    const uint8_t *b = map_file(fd, (size_t)st.st_size);
    close(fd);
    if (!b)
        return NULL;
    m->bytes = b;
    m->size = (size_t)st.st_size;
    m->own_bytes = true;
    if (!parse_elf(m)) {
        unmap_file(b, m->size);
        m->bytes = NULL;
        return NULL;
    }
    return m;
}

/* ---- per-process maps ---------------------------------------------------- */

static void map_free(ig_map *m)
{
    free(m->name);
}

void ig_maps_clear(ig_maps *maps)
{
    for (size_t i = 0; i < maps->n; i++)
        map_free(&maps->v[i]);
    free(maps->v);
    memset(maps, 0, sizeof *maps);
}

void ig_maps_copy(ig_maps *dst, const ig_maps *src)
{
    ig_maps_clear(dst);
    dst->v = ig_xcalloc(src->n ? src->n : 1, sizeof *dst->v);
    dst->cap = src->n ? src->n : 1;
    dst->n = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = src->v[i];
        dst->v[i].name = ig_xstrdup(src->v[i].name);
    }
}

static uint64_t compute_bias(const ig_module *mod, uint64_t start, uint64_t pgoff)
{
    for (int i = 0; i < mod->nloads; i++) {
        const ig_load *l = &mod->loads[i];
        uint64_t page_off = l->offset & ~0xfffULL;
        if (pgoff >= page_off && pgoff < l->offset + (l->filesz ? l->filesz : 1))
            return start - pgoff + l->offset - l->vaddr;
    }
    return start - pgoff; /* no matching segment: assume vaddr == offset */
}

/* Inserts a mapping in address order after dropping the ones it overlaps;
 * the module is opened only when `reuse` has no identical entry. */
static void add_mapping(ig_maps *maps, const ig_maps *reuse, ig_modcache *mc, pid_t pid, uint64_t start,
                        uint64_t len, uint64_t pgoff, const char *name, uint64_t dev, uint64_t ino)
{
    uint64_t end = start + len;
    size_t w = 0;
    for (size_t i = 0; i < maps->n; i++) {
        if (maps->v[i].start < end && maps->v[i].end > start)
            map_free(&maps->v[i]);
        else
            maps->v[w++] = maps->v[i];
    }
    maps->n = w;
    if (maps->n == maps->cap) {
        maps->cap = maps->cap ? maps->cap * 2 : 32;
        maps->v = ig_xrealloc(maps->v, maps->cap * sizeof *maps->v);
    }
    size_t at = maps->n;
    while (at > 0 && maps->v[at - 1].start > start)
        at--;
    memmove(&maps->v[at + 1], &maps->v[at], (maps->n - at) * sizeof *maps->v);
    maps->n++;
    ig_map *m = &maps->v[at];
    memset(m, 0, sizeof *m);
    m->start = start;
    m->end = end;
    m->pgoff = pgoff;
    m->name = ig_xstrdup(name);
    maps->hint = 0;
    for (size_t i = 0; reuse && i < reuse->n; i++) {
        const ig_map *o = &reuse->v[i];
        if (o->start == start && o->end == end && o->pgoff == pgoff && !strcmp(o->name, name)) {
            m->mod = o->mod;
            m->bias = o->bias;
            return;
        }
    }
    m->mod = ig_module_get(mc, pid, name, start, end, dev, ino);
    m->bias = m->mod ? compute_bias(m->mod, start, pgoff) : start - pgoff;
}

void ig_maps_add(ig_maps *maps, ig_modcache *mc, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
                 const char *name, uint64_t dev, uint64_t ino)
{
    add_mapping(maps, NULL, mc, pid, start, len, pgoff, name, dev, ino);
}

/* Adds the executable mappings listed in maps file f to fresh; their
 * files are opened through /proc/VIA (the process, or a live thread). */
static void read_maps(FILE *f, ig_maps *fresh, const ig_maps *reuse, ig_modcache *mc, pid_t via)
{
    char line[4400];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &maj, &min, &ino, &name_at) < 7)
            continue;
        if (perms[2] != 'x')
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        add_mapping(fresh, reuse, mc, via, lo, hi - lo, off, name, makedev(maj, min), ino);
    }
}

/* A process whose main thread exited (pthread_exit) runs on with a zombie
 * leader, whose maps, root and map_files are empty: the maps of its first
 * live thread, whose /proc/TID entries also lead to its files. */
static void read_thread_maps(ig_maps *fresh, const ig_maps *reuse, ig_modcache *mc, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while (!fresh->n && (e = readdir(d))) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || tid <= 0 || tid == pid)
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%ld/maps", (int)pid, tid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        read_maps(f, fresh, reuse, mc, (pid_t)tid);
        fclose(f);
    }
    closedir(d);
}

int ig_maps_load(ig_maps *maps, ig_modcache *mc, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    ig_maps fresh = {0};
    read_maps(f, &fresh, maps, mc, pid);
    fclose(f);
    if (!fresh.n)
        read_thread_maps(&fresh, maps, mc, pid);
    if (!fresh.n) { /* an exited process (a zombie's maps are empty): keep
                     * what the MMAP2 records told */
        ig_maps_clear(&fresh);
        return -1;
    }
    ig_maps_clear(maps);
    *maps = fresh;
    return 0;
}

ig_map *ig_maps_find(ig_maps *maps, uint64_t addr)
{
    if (maps->hint < maps->n) {
        ig_map *h = &maps->v[maps->hint];
        if (addr >= h->start && addr < h->end)
            return h;
    }
    size_t lo = 0, hi = maps->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (maps->v[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < maps->n && addr >= maps->v[lo].start && addr < maps->v[lo].end) {
        maps->hint = lo;
        return &maps->v[lo];
    }
    return NULL;
}

static int read_module_word(const ig_map *m, uint64_t addr, uint64_t *val)
{
    uint64_t off;
    if (!ig_map_module_contains(m, addr) || !vaddr_to_offset(m->mod, addr - m->bias, 8, &off))
        return -1;
    memcpy(val, m->mod->bytes + off, 8);
    return 0;
}

int ig_maps_read_word(ig_maps *maps, uint64_t addr, uint64_t *val)
{
    if (maps->hint < maps->n && read_module_word(&maps->v[maps->hint], addr, val) == 0)
        return 0;
    /* the first mapping ending above addr, and its neighbours */
    size_t lo = 0, hi = maps->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (maps->v[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo > 0 ? lo - 1 : 0; i < maps->n && i <= lo + 1; i++)
        if (read_module_word(&maps->v[i], addr, val) == 0)
            return 0;
    return -1;
}
