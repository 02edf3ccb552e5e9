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
 */
#include "profiler/sym/sym_internal.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KSYM_LAST_SPAN 0x10000 /* the last kallsyms symbol covers 64 KiB */

typedef struct ksym_vec {
    ig_ksym *v;
    size_t n, cap;
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

/* "ffffffff81000000 T _stext" (optionally "\t[module]"). */
static void kallsyms_line(ksym_vec *kv, char *line)
{
    uint64_t addr;
    char *p = parse_hex(line, &addr);
    if (!p || p[0] != ' ' || !p[1] || p[2] != ' ')
        return;
    char type = p[1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W')
        return;
    char *name = p + 3;
    name[strcspn(name, "\t \r")] = '\0';
    if (*name && addr)
        push_ksym(kv, addr, 0, name);
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

void ig_kallsyms_parse(ig_ksymtab *tab, char *text, size_t len)
{
    ksym_vec kv = {0};
    for_each_line(text, len, kallsyms_line, &kv);
    /* qsort is not stable, but kallsyms aliases at one address are equal
     * choices; keep the first after sorting. */
    if (kv.n)
        qsort(kv.v, kv.n, sizeof *kv.v, cmp_ksym_addr);
    finish(tab, &kv, text);
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

/* ---- loading ------------------------------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    if (ig_read_file(path, &data, len, NULL) < 0)
        return NULL;
    if (!data) {
        data = ig_xmalloc(1);
        data[0] = 0;
        *len = 0;
    }
    return (char *)data;
}

void ig_kallsyms_load(ig_ksymtab *tab, const char *path)
{
    size_t len;
    char *text = read_text(path, &len);
    if (text)
        ig_kallsyms_parse(tab, text, len);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Re-reads the map when the file changed; returns 1 when it did. */
static int perfmap_refresh(ig_perfmap *pm, const char *path)
{
    pm->checked_ns = now_ns();
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        int had = pm->loaded;
        ig_ksymtab_free(&pm->tab);
        pm->loaded = 0;
        return had;
    }
    if (pm->loaded && st.st_size == pm->size && st.st_ino == pm->ino && st.st_mtim.tv_sec == pm->mtime.tv_sec &&
        st.st_mtim.tv_nsec == pm->mtime.tv_nsec)
        return 0;
    size_t len;
    char *text = read_text(path, &len);
    ig_ksymtab_free(&pm->tab);
    pm->loaded = 1;
    pm->size = st.st_size;
    pm->ino = st.st_ino;
    pm->mtime = st.st_mtim;
    if (text)
        ig_perfmap_parse(&pm->tab, text, len);
    return 1;
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
