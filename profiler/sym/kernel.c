/*
 * profiler/sym/kernel.c — symbols that do not come from ELF files:
 * /proc/kallsyms for kernel addresses and /tmp/perf-PID.map, the text
 * file JIT compilers (V8, the JVM with perf-map-agent, LuaJIT...) write.
 *
 * Both become one sorted array of (addr, size, name) whose names point
 * into the file text kept alongside.  kallsyms is read once; its symbols
 * have no size, each extends to the next.  When kptr_restrict hides the
 * addresses every address reads 0, and the table stays empty (callers get
 * NULL).  A perf map is re-read when its size, mtime or inode changes: on
 * every miss (new JIT code is appended) and at most every 100 ms on hits
 * (code replaced at the same address).  In a perf map later lines win
 * over earlier ones at the same start address.
 *
 * kallsyms is read only when a kernel address first needs a name.  With
 * the persistent cache (cache.c) the table comes from
 * kallsyms/<boot-id>.ksym when the loaded modules are the same as when it
 * was written; it then answers only the addresses it is sure of (see
 * compute_cover) and any other makes us read /proc/kallsyms after all.
 */
#include "profiler/sym/sym_internal.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KSYM_LAST_SPAN 0x10000 /* the last kallsyms symbol covers 64 KiB */

typedef struct ksym_vec {
    ig_ksym *v;
    size_t n, cap;
    uint64_t core_lo, core_hi; /* kallsyms: extent of the core kernel's symbols */
} ksym_vec;

static void push_ksym(ksym_vec *kv, uint64_t addr, uint64_t size, const char *name)
{
    if (kv->n == kv->cap) {
        kv->cap = kv->cap ? kv->cap * 2 : 1024;
        kv->v = ig_xrealloc(kv->v, kv->cap * sizeof *kv->v);
    }
    kv->v[kv->n++] = (ig_ksym){addr, size, name};
}

/* Splits text into lines in place; calls fn for each NUL-terminated line. */
static void for_each_line(char *text, size_t len, void (*fn)(ksym_vec *, char *), ksym_vec *kv)
{
    char *p = text, *end = text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        *eol = '\0';
        fn(kv, p);
        p = eol + 1;
    }
}

/* Parses a hex number; returns the end or NULL. */
static char *parse_hex(char *p, uint64_t *v)
{
    char *e;
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
        return NULL;
    *v = strtoull(p, &e, 16);
    return e;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "ffffffff81000000 T _stext" (optionally "\t[module]").  Hand-parsed:
 * strtoull per line was a third of the parse. */
static void kallsyms_line(ksym_vec *kv, char *line)
{
    uint64_t addr = 0;
    char *p = line;
    int d, ndig = 0;
    while ((d = hex_digit((unsigned char)*p)) >= 0 && ndig < 17)
        addr = addr << 4 | (uint64_t)d, p++, ndig++;
    if (!ndig || ndig > 16 || p[0] != ' ' || !p[1] || p[2] != ' ')
        return;
    char type = p[1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W')
        return;
    char *name = p + 3;
    size_t len = strcspn(name, "\t \r");
    int in_module = name[len] == '\t';
    name[len] = '\0';
    if (!*name || !addr)
        return;
    push_ksym(kv, addr, 0, name);
    if (!in_module) {
        if (!kv->core_lo || addr < kv->core_lo)
            kv->core_lo = addr;
        if (addr > kv->core_hi)
            kv->core_hi = addr;
    }
}

/* "START SIZE name with spaces", hex, 0x prefixes allowed. */
static void perfmap_line(ksym_vec *kv, char *line)
{
    uint64_t start, size;
    char *p = parse_hex(line, &start);
    if (!p || *p != ' ')
        return;
    p = parse_hex(p + 1, &size);
    if (!p || *p != ' ' || size == 0)
        return;
    char *name = p + 1;
    name[strcspn(name, "\r")] = '\0';
    if (*name)
        push_ksym(kv, start, size, name);
}

static int cmp_ksym_addr(const void *pa, const void *pb)
{
    const ig_ksym *a = pa, *b = pb;
    return (a->addr > b->addr) - (a->addr < b->addr);
}

static void finish(ig_ksymtab *tab, ksym_vec *kv, char *text)
{
    tab->syms = kv->v;
    tab->n = kv->n;
    tab->text = text;
}

static int sorted_by_addr(const ig_ksym *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i].addr < v[i - 1].addr)
            return 0;
    return 1;
}

void ig_kallsyms_parse(ig_ksymtab *tab, char *text, size_t len)
{
    ksym_vec kv = {0};
    kv.cap = len / 48 + 16; /* ~40 bytes a line, most of them text symbols */
    kv.v = ig_xmalloc(kv.cap * sizeof *kv.v);
    for_each_line(text, len, kallsyms_line, &kv);
    /* qsort is not stable, but kallsyms aliases at one address are equal
     * choices; keep the first after sorting.  The core kernel comes
     * sorted; sort only when modules broke the order. */
    if (kv.n && !sorted_by_addr(kv.v, kv.n))
        qsort(kv.v, kv.n, sizeof *kv.v, cmp_ksym_addr);
    finish(tab, &kv, text);
    tab->core_lo = kv.core_lo;
    tab->core_hi = kv.core_hi;
}

/* Perf maps: entries are pushed in line order; a stable merge sort keeps
 * that order among equal starts, then the last of each start wins. */
static void merge_sort(ig_ksym *v, ig_ksym *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(v, tmp, h);
    merge_sort(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = v[j].addr < v[i].addr ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

void ig_perfmap_parse(ig_ksymtab *tab, char *text, size_t len)
{
    ksym_vec kv = {0};
    for_each_line(text, len, perfmap_line, &kv);
    if (kv.n > 1) {
        ig_ksym *tmp = ig_xmalloc(kv.n * sizeof *tmp);
        merge_sort(kv.v, tmp, kv.n);
        free(tmp);
        size_t w = 0;
        for (size_t i = 0; i < kv.n; i++) {
            if (w && kv.v[w - 1].addr == kv.v[i].addr)
                w--;
            kv.v[w++] = kv.v[i];
        }
        kv.n = w;
    }
    finish(tab, &kv, text);
}

const char *ig_ksymtab_find(const ig_ksymtab *tab, uint64_t addr)
{
    size_t lo = 0, hi = tab->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const ig_ksym *s = &tab->syms[lo - 1];
    if (s->size == 0) /* kallsyms: up to the next symbol */
        return lo < tab->n || addr - s->addr < KSYM_LAST_SPAN ? s->name : NULL;
    /* perf map: sized; an earlier, longer entry may still cover addr. */
    for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++)
        if (addr - tab->syms[i - 1].addr < tab->syms[i - 1].size)
            return tab->syms[i - 1].name;
    return NULL;
}

void ig_ksymtab_free(ig_ksymtab *tab)
{
    free(tab->syms);
    free(tab->text);
    memset(tab, 0, sizeof *tab);
}

/* ---- the cached table ------------------------------------------------------
 *
 * kallsyms/<boot-id>.ksym, native byte order (the cache never leaves the
 * machine):
 *   header   "IGKSYM\0\1", u32 version, u32 count, u64 strings_len,
 *            u64 modules_hash, u64 core_lo, u64 core_hi, char boot_id[40]
 *   entries  count x {u64 addr, u32 name_offset, u32 zero}, sorted by addr
 *   strings  strings_len bytes of NUL-terminated names
 * and nothing after.  Every field is checked before use. */

#define KSYMCACHE_MAGIC "IGKSYM\0\1"
#define KSYMCACHE_VERSION 1u

typedef struct ksymcache_hdr {
    char magic[8];
    uint32_t version, count;
    uint64_t strings_len, modules_hash, core_lo, core_hi;
    char boot_id[40];
} ksymcache_hdr;

typedef struct ksymcache_ent {
    uint64_t addr;
    uint32_t name, zero;
} ksymcache_ent;

const char *ig_ksymcache_view(ig_ksymview *v, const uint8_t *data, size_t len)
{
    ksymcache_hdr h;
    const char *why = ig_symcache_header(data, len, &h, sizeof h, KSYMCACHE_MAGIC, KSYMCACHE_VERSION);
    if (why)
        return why;
    if (!memchr(h.boot_id, '\0', sizeof h.boot_id))
        return "bad boot id";
    uint64_t ents = (uint64_t)h.count * sizeof(ksymcache_ent);
    if (h.strings_len > len || ents > len - sizeof h || h.strings_len != len - sizeof h - ents)
        return "size does not match its header (truncated?)";
    if (h.strings_len == 0 ? h.count != 0 : data[len - 1] != '\0')
        return "unterminated name";
    if (h.core_lo > h.core_hi)
        return "bad core range";
    memset(v, 0, sizeof *v);
    v->ents = data + sizeof h;
    v->count = h.count;
    v->strs = (const char *)(data + sizeof h + ents);
    v->strings_len = h.strings_len;
    v->core_lo = h.core_lo;
    v->core_hi = h.core_hi;
    memcpy(v->key.boot_id, h.boot_id, sizeof v->key.boot_id);
    v->key.modules_hash = h.modules_hash;
    return NULL;
}

static uint64_t view_addr(const ig_ksymview *v, size_t i)
{
    ksymcache_ent e;
    memcpy(&e, v->ents + i * sizeof e, sizeof e);
    return e.addr;
}

/* Index of the first entry whose address is > addr (binary search). */
static size_t view_upper(const ig_ksymview *v, uint64_t addr)
{
    size_t lo = 0, hi = v->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (view_addr(v, mid) <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Entries are checked as they are used: the one found must name a string
 * inside the table and sit in order with its neighbour, else *corrupt. */
const char *ig_ksymview_find(const ig_ksymview *v, uint64_t addr, int *corrupt)
{
    size_t lo = view_upper(v, addr);
    if (lo == 0)
        return NULL;
    ksymcache_ent e;
    memcpy(&e, v->ents + (lo - 1) * sizeof e, sizeof e);
    if (e.name >= v->strings_len || e.zero || e.addr > addr || (lo < v->count && view_addr(v, lo) <= addr)) {
        *corrupt = 1;
        return NULL;
    }
    return lo < v->count || addr - e.addr < KSYM_LAST_SPAN ? v->strs + e.name : NULL;
}

uint8_t *ig_ksymcache_encode(const ig_ksymtab *tab, const ig_ksymkey *key, size_t *len)
{
    uint64_t strings = 0;
    for (size_t i = 0; i < tab->n; i++)
        strings += strlen(tab->syms[i].name) + 1;
    if (tab->n > UINT32_MAX || strings > UINT32_MAX)
        return NULL;
    ksymcache_hdr h = {.version = KSYMCACHE_VERSION, .count = (uint32_t)tab->n, .strings_len = strings,
                       .modules_hash = key->modules_hash, .core_lo = tab->core_lo, .core_hi = tab->core_hi};
    memcpy(h.magic, KSYMCACHE_MAGIC, 8);
    memcpy(h.boot_id, key->boot_id, sizeof h.boot_id);
    h.boot_id[sizeof h.boot_id - 1] = '\0';
    if (!strings)
        h.count = 0;
    *len = sizeof h + tab->n * sizeof(ksymcache_ent) + strings;
    uint8_t *out = ig_xmalloc(*len);
    memcpy(out, &h, sizeof h);
    uint8_t *ep = out + sizeof h;
    char *sp = (char *)(ep + tab->n * sizeof(ksymcache_ent));
    uint32_t off = 0;
    for (size_t i = 0; i < tab->n; i++) {
        ksymcache_ent e = {tab->syms[i].addr, off, 0};
        memcpy(ep + i * sizeof e, &e, sizeof e);
        size_t n = strlen(tab->syms[i].name) + 1;
        memcpy(sp + off, tab->syms[i].name, n);
        off += (uint32_t)n;
    }
    return out;
}

/* ---- loading ------------------------------------------------------------- */

/* /proc files report size 0: read in big steps into one growing buffer
 * (the kernel formats /proc/kallsyms per read call, ~5 MB). */
/* Reads a /proc text file whole, in reads of about `chunk` bytes: large
 * for kallsyms (fewer system calls), small for sysctl files, whose read
 * handler allocates and clears a kernel buffer as large as the read. */
static char *read_proc_text(const char *path, size_t *len, size_t chunk)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    size_t cap = chunk * 4, n = 0;
    char *buf = ig_xmalloc(cap + 1);
    for (;;) {
        if (cap - n < chunk) {
            cap *= 2;
            buf = ig_xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

void ig_kallsyms_load(ig_ksymtab *tab, const char *path)
{
    size_t len;
    char *text = read_proc_text(path, &len, 1 << 18);
    if (text)
        ig_kallsyms_parse(tab, text, len);
}

/* ---- kernel symbols through the cache ------------------------------------- */

/* The boot id and the hash of the loaded modules; their [addr, addr+size)
 * ranges go to *ranges (pairs) when the addresses are visible. */
static int current_key(ig_ksymkey *key, uint64_t **ranges, size_t *nranges)
{
    memset(key, 0, sizeof *key);
    *ranges = NULL;
    *nranges = 0;
    size_t len;
    char *b = read_proc_text("/proc/sys/kernel/random/boot_id", &len, 64);
    if (!b)
        return -1;
    b[strcspn(b, "\n")] = '\0';
    int ok = strlen(b) > 0 && strlen(b) < sizeof key->boot_id && !strchr(b, '/');
    if (ok)
        snprintf(key->boot_id, sizeof key->boot_id, "%s", b);
    free(b);
    if (!ok)
        return -1;
    /* No /proc/modules: a kernel without module support; none can load. */
    char *mods = read_proc_text("/proc/modules", &len, 4096);
    if (!mods)
        mods = ig_xstrdup("");
    /* "name size refcount deps state 0xaddr" */
    uint64_t h = 0x6b6d6f64;
    size_t cap = 0;
    for (char *line = mods, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char name[64];
        unsigned long long size, addr = 0;
        if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size, &addr) < 2)
            continue;
        h = ig_hash_bytes(name, strlen(name), h);
        h = ig_hash_u64(ig_hash_u64(h, size), addr);
        if (!addr || !size)
            continue;
        if (*nranges + 2 > cap) {
            cap = cap ? cap * 2 : 64;
            *ranges = ig_xrealloc(*ranges, cap * sizeof **ranges);
        }
        (*ranges)[(*nranges)++] = addr;
        (*ranges)[(*nranges)++] = addr + size;
    }
    free(mods);
    key->modules_hash = h;
    return 0;
}

/* Which addresses a cached table answers exactly as /proc/kallsyms would
 * now: between the first and last core-kernel symbol (nothing loads code
 * there), and inside each module from its first symbol on (its symbols
 * are fixed while it is loaded; the modules hash says it is the same).
 * Anything else — BPF programs, ftrace and kprobe trampolines, modules'
 * headers — falls back to reading /proc/kallsyms. */
static void compute_cover(ig_kernsyms *k, const uint64_t *mods, size_t nmods)
{
    const ig_ksymview *v = &k->view;
    k->cover = ig_xmalloc((nmods + 2) * sizeof *k->cover);
    k->ncover = 0;
    if (v->core_lo < v->core_hi) {
        k->cover[k->ncover++] = v->core_lo;
        k->cover[k->ncover++] = v->core_hi;
    }
    for (size_t i = 0; i + 1 < nmods; i += 2) {
        size_t j = mods[i] ? view_upper(v, mods[i] - 1) : 0; /* first at or after the base */
        uint64_t first = j < v->count ? view_addr(v, j) : 0;
        if (j < v->count && first >= mods[i] && first < mods[i + 1]) {
            k->cover[k->ncover++] = first;
            k->cover[k->ncover++] = mods[i + 1];
        }
    }
}

static int covered(const ig_kernsyms *k, uint64_t addr)
{
    for (size_t i = 0; i + 1 < k->ncover; i += 2)
        if (addr >= k->cover[i] && addr < k->cover[i + 1])
            return 1;
    return 0;
}

/* Maps the cache entry; its pages are read only as lookups touch them. */
static int load_cached(ig_kernsyms *k, ig_symcache *cache, const ig_ksymkey *want, const char *name)
{
    size_t len = 0;
    const uint8_t *map = ig_symcache_map(cache, "kallsyms", name, &len);
    if (!map)
        return -1;
    const char *why = ig_ksymcache_view(&k->view, map, len);
    if (why) {
        ig_symcache_unmap(map, len);
        ig_symcache_remove(cache, "kallsyms", name, why);
        return -1;
    }
    if (strcmp(k->view.key.boot_id, want->boot_id) != 0 || k->view.key.modules_hash != want->modules_hash) {
        /* another boot under this name (copied?) or modules came and went */
        ig_symcache_unmap(map, len);
        return -1;
    }
    k->map = map;
    k->map_len = len;
    return 0;
}

static void store_cached(const ig_kernsyms *k, ig_symcache *cache, const ig_ksymkey *key, const char *name)
{
    size_t len;
    uint8_t *data = ig_ksymcache_encode(&k->tab, key, &len);
    if (data)
        ig_symcache_write(cache, "kallsyms", name, data, len);
    free(data);
}

/* Drops whatever table k holds. */
static void release_table(ig_kernsyms *k)
{
    ig_ksymtab_free(&k->tab);
    if (k->map)
        ig_symcache_unmap(k->map, k->map_len);
    k->map = NULL;
    free(k->cover);
    k->cover = NULL;
    k->ncover = 0;
}

/* Reads the kallsyms file instead of whatever k holds. */
static void load_live(ig_kernsyms *k, const char *path)
{
    release_table(k);
    k->source = 1;
    ig_kallsyms_load(&k->tab, path ? path : "/proc/kallsyms");
}

static void load_kernsyms(ig_kernsyms *k, const char *path, ig_symcache *cache)
{
    uint64_t *mods = NULL;
    size_t nmods = 0;
    if (!path && cache && current_key(&k->key, &mods, &nmods) == 0) {
        snprintf(k->entry, sizeof k->entry, "%s.ksym", k->key.boot_id);
        if (load_cached(k, cache, &k->key, k->entry) == 0) {
            k->source = 2;
            compute_cover(k, mods, nmods);
            free(mods);
            return;
        }
    }
    free(mods);
    load_live(k, path);
    if (k->entry[0] && k->tab.n)
        store_cached(k, cache, &k->key, k->entry);
}

const char *ig_kernsyms_find(ig_kernsyms *k, const char *path, ig_symcache *cache, uint64_t addr)
{
    if (!k->source)
        load_kernsyms(k, path, cache);
    if (k->source == 2) {
        int corrupt = 0, in = covered(k, addr);
        const char *name = in ? ig_ksymview_find(&k->view, addr, &corrupt) : NULL;
        if (!corrupt && in)
            return name;
        load_live(k, NULL); /* an address the cache cannot vouch for */
        if (corrupt) {
            ig_symcache_remove(cache, "kallsyms", k->entry, "corrupt entry");
            if (k->tab.n)
                store_cached(k, cache, &k->key, k->entry);
        }
    }
    return ig_ksymtab_find(&k->tab, addr);
}

void ig_kernsyms_free(ig_kernsyms *k)
{
    release_table(k);
    memset(k, 0, sizeof *k);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ig_perfmap_hold(ig_perfmap *pm, const char *path)
{
    if (pm->fd < 0)
        pm->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    return pm->fd >= 0 ? 0 : -1;
}

/* The file now at path if it is not the one held (a new process reusing
 * the pid, a runtime rewriting its map by rename): it replaces the held one. */
static void perfmap_follow_path(ig_perfmap *pm, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat now, held;
    if (pm->fd >= 0 && fstat(fd, &now) == 0 && fstat(pm->fd, &held) == 0 && now.st_ino == held.st_ino &&
        now.st_dev == held.st_dev) {
        close(fd);
        return;
    }
    if (pm->fd >= 0)
        close(pm->fd);
    pm->fd = fd;
}

/* Reads a held regular file whole, from its start; NULL on error. */
static char *read_held(int fd, off_t size, size_t *len)
{
    if (size < 0 || (uint64_t)size > ((uint64_t)1 << 30))
        return NULL; /* a perf map of over 1 GiB is not one */
    size_t cap = (size_t)size + 1, n = 0;
    char *buf = ig_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)1 << 30))
                break;
            cap *= 2;
            buf = ig_xrealloc(buf, cap + 1);
        }
        ssize_t got = pread(fd, buf + n, cap - n, (off_t)n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Re-reads the map when the file changed; returns 1 when it did. */
static int perfmap_refresh(ig_perfmap *pm, const char *path)
{
    pm->checked_ns = now_ns();
    perfmap_follow_path(pm, path);
    struct stat st;
    if (pm->fd < 0 || fstat(pm->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int had = pm->loaded;
        ig_ksymtab_free(&pm->tab);
        pm->loaded = 0;
        return had;
    }
    if (pm->loaded && st.st_size == pm->size && st.st_ino == pm->ino && st.st_mtim.tv_sec == pm->mtime.tv_sec &&
        st.st_mtim.tv_nsec == pm->mtime.tv_nsec)
        return 0;
    size_t len = 0;
    char *text = read_held(pm->fd, st.st_size, &len);
    ig_ksymtab_free(&pm->tab);
    pm->loaded = 1;
    pm->size = st.st_size;
    pm->ino = st.st_ino;
    pm->mtime = st.st_mtim;
    if (text)
        ig_perfmap_parse(&pm->tab, text, len);
    return 1;
}

void ig_perfmap_free(ig_perfmap *pm)
{
    if (pm->fd >= 0)
        close(pm->fd);
    pm->fd = -1;
    ig_ksymtab_free(&pm->tab);
}

const char *ig_perfmap_find(ig_perfmap *pm, const char *path, uint64_t addr)
{
    const char *name = pm->loaded ? ig_ksymtab_find(&pm->tab, addr) : NULL;
    if (name && now_ns() - pm->checked_ns < 100000000u)
        return name;
    if (perfmap_refresh(pm, path) || !name)
        name = pm->loaded ? ig_ksymtab_find(&pm->tab, addr) : NULL;
    return name;
}
