/*
 * profiler/sym/cache.c — the symbolizer's persistent cache, the way perf
 * keeps ~/.debug: what is expensive to rebuild and cannot change for a
 * given key is kept on disk between runs of `ignis record`.
 *
 *   debug/<xx>/<rest-of-build-id>.debug
 *       A copy of the ELF file that carries a module's DWARF (usually its
 *       separate debug file) with every SHF_COMPRESSED section inflated.
 *       libdw inflates all debug sections when it opens a file (~100 ms
 *       for libc6-dbg); the copy is opened with ELF_C_READ_MMAP instead,
 *       so only the pages a lookup touches are read.  Keyed strictly by
 *       build-id: files without one are never cached.  An entry is
 *       checked on every open (ELF, the build-id of its name, nothing
 *       compressed, every section inside the file); a bad one is removed
 *       with a one-line warning and rebuilt.  Entries are replaced only by
 *       rename, never rewritten in place, so a mapping never sees a file
 *       shrink.  The directory is bounded: before a new entry goes in, the
 *       least recently used ones (mtime, refreshed on every open) are
 *       removed until the total stays under IGNIS_CACHE_MAX_MB (default
 *       1024 MiB).
 *
 *   debug/<xx>/<rest-of-build-id>.cuidx, .frames
 *       The module's DWARF CU address table (format in dwarf.c) and the
 *       frames of every address named in earlier runs (framecache.c),
 *       written through the helpers below.
 *
 *   kallsyms/<boot-id>.ksym
 *       /proc/kallsyms text symbols in a binary, sorted form (format in
 *       kernel.c) plus the hash of the loaded modules (name, size,
 *       address).  The kernel spends tens of ms formatting /proc/kallsyms;
 *       this is mapped and binary-searched in place.  See kernel.c for which
 *       addresses the cached table may answer.
 *
 * Location: $IGNIS_CACHE_DIR, else $XDG_CACHE_HOME/ignis, else
 * $HOME/.cache/ignis (ig_symtab_default_cache_dir), created 0700 on the
 * first write.  A directory that cannot be written turns writing off with
 * one warning; every write goes through utils/fileio.h (temporary file,
 * rename, no fsync: entries are checked when read), so readers see whole
 * entries or none.
 */
#include "utils/mapguard.h"
#include "profiler/sym/sym_internal.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_MB 1024

struct ig_symcache {
    char *dir;
    int no_writes;      /* the directory could not be written */
    uint64_t max_bytes; /* bound of debug/ */
};

int ig_symtab_default_cache_dir(char *buf, size_t len)
{
    const char *v = getenv("IGNIS_CACHE_DIR");
    int n;
    if (v && *v)
        n = snprintf(buf, len, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
        n = snprintf(buf, len, "%s/ignis", v);
    else if ((v = getenv("HOME")) && *v)
        n = snprintf(buf, len, "%s/.cache/ignis", v);
    else
        return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

ig_symcache *ig_symcache_new(const char *dir)
{
    if (!dir || !*dir)
        return NULL;
    ig_symcache *c = ig_xcalloc(1, sizeof *c);
    c->dir = ig_xstrdup(dir);
    c->max_bytes = (uint64_t)DEFAULT_MAX_MB << 20;
    const char *mb = getenv("IGNIS_CACHE_MAX_MB");
    if (mb && *mb) {
        char *end;
        unsigned long long v = strtoull(mb, &end, 10);
        if (!*end && v > 0 && v < (1ULL << 40))
            c->max_bytes = (uint64_t)v << 20;
    }
    return c;
}

const char *ig_symcache_header(const uint8_t *data, size_t len, void *hdr, size_t hdr_size, const char *magic,
                               uint32_t version)
{
    if (!data || len < hdr_size || hdr_size < 12)
        return "truncated header";
    memcpy(hdr, data, hdr_size);
    if (memcmp(hdr, magic, 8) != 0)
        return "bad magic";
    uint32_t v;
    memcpy(&v, (const char *)hdr + 8, sizeof v);
    if (v != version)
        return "unknown version";
    return NULL;
}

void ig_symcache_free(ig_symcache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

void ig_symcache_warn(const char *path, const char *why)
{
    fprintf(stderr, "ignis: cache: %s: %s\n", path, why);
}

/* mkdir -p of c->dir/sub (0700); on failure writing is turned off with
 * one warning.  Returns 0 or -1. */
static int make_dirs(ig_symcache *c, const char *sub)
{
    if (c->no_writes)
        return -1;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", c->dir, sub);
    if (n <= 0 || (size_t)n >= sizeof path)
        return -1;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            char why[160];
            snprintf(why, sizeof why, "cannot create (%s); not caching", strerror(errno));
            ig_symcache_warn(path, why);
            c->no_writes = 1;
            return -1;
        }
        *p = saved;
        if (!saved)
            break;
    }
    return 0;
}

/* Writes len bytes of data as c->dir/sub/name atomically. */
int ig_symcache_write(ig_symcache *c, const char *sub, const char *name, const void *data, size_t len)
{
    if (!c || make_dirs(c, sub) != 0)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", c->dir, sub, name);
    ig_err err;
    if (ig_write_cache_file(path, data, len, &err) != 0) {
        ig_symcache_warn(c->dir, "cannot write; not caching");
        c->no_writes = 1;
        return -1;
    }
    return 0;
}

/* Reads c->dir/sub/name whole; 0, or -1 when absent or unreadable. */
int ig_symcache_read(ig_symcache *c, const char *sub, const char *name, uint8_t **data, size_t *len)
{
    if (!c)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", c->dir, sub, name);
    return ig_read_file(path, data, len, NULL);
}

const uint8_t *ig_symcache_map(ig_symcache *c, const char *sub, const char *name, size_t *len)
{
    if (!c)
        return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", c->dir, sub, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    *len = (size_t)st.st_size;
    ig_mapguard_add(p, *len);
    return p;
}

void ig_symcache_unmap(const uint8_t *p, size_t len)
{
    if (!p)
        return;
    ig_mapguard_remove(p);
    munmap((void *)p, len);
}

/* The cached debug copy's mapping, guarded like ig_symcache_map's. */
static void guard_elf(Elf *e, bool on)
{
    size_t n = 0;
    char *raw = e ? elf_rawfile(e, &n) : NULL;
    if (raw && on)
        ig_mapguard_add(raw, n);
    else if (raw)
        ig_mapguard_remove(raw);
}

void ig_symcache_elf_end(Elf *e)
{
    guard_elf(e, false);
    elf_end(e);
}

void ig_symcache_remove(ig_symcache *c, const char *sub, const char *name, const char *why)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", c->dir, sub, name);
    if (why) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s; ignored and rebuilt", why);
        ig_symcache_warn(path, msg);
    }
    unlink(path);
}

/* ---- decompressed debug files --------------------------------------------- */

static int valid_build_id(const char *bid)
{
    size_t n = strlen(bid);
    if (n < 4 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((bid[i] >= '0' && bid[i] <= '9') || (bid[i] >= 'a' && bid[i] <= 'f')))
            return 0;
    return 1;
}

static void debug_path(const ig_symcache *c, const char *bid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/debug/%.2s/%s.debug", c->dir, bid, bid + 2);
}

const char *ig_symcache_debug_check(Elf *elf, size_t file_size, const char *bid)
{
    GElf_Ehdr eh;
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
        return "not an ELF file";
    if (eh.e_shoff > file_size || (uint64_t)eh.e_shnum * eh.e_shentsize > file_size - eh.e_shoff)
        return "section headers outside the file";
    char have[41] = "";
    if (ig_elf_build_id_hex(elf, have, sizeof have) != 0 || strcmp(have, bid) != 0)
        return "build-id does not match its name";
    Elf_Scn *scn = NULL;
    size_t nscn = 0;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            return "unreadable section header";
        if (sh.sh_flags & SHF_COMPRESSED)
            return "compressed section";
        if (sh.sh_type != SHT_NOBITS && (sh.sh_offset > file_size || sh.sh_size > file_size - sh.sh_offset))
            return "section outside the file (truncated?)";
        nscn++;
    }
    return nscn ? NULL : "no sections";
}

int ig_symcache_debug_open(ig_symcache *c, const char *bid, int *fd, Elf **elf)
{
    *fd = -1;
    *elf = NULL;
    if (!c || !valid_build_id(bid))
        return -1;
    char path[4096];
    debug_path(c, bid, path, sizeof path);
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0)
        return -1;
    struct stat st;
    const char *why = NULL;
    Elf *e = NULL;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (!(e = elf_begin(f, ELF_C_READ_MMAP, NULL)))
        why = "not an ELF file";
    else
        guard_elf(e, true), why = ig_symcache_debug_check(e, (size_t)st.st_size, bid);
    if (why) {
        if (e)
            ig_symcache_elf_end(e);
        close(f);
        char msg[256];
        snprintf(msg, sizeof msg, "%s; ignored and rebuilt", why);
        ig_symcache_warn(path, msg);
        unlink(path);
        return -1;
    }
    futimens(f, NULL); /* mtime = last use, for the LRU bound */
    *fd = f;
    *elf = e;
    return 0;
}

typedef struct entry {
    char path[600];
    off_t size;
    struct timespec mtime;
} entry;

static int cmp_entry_age(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    return (a->mtime.tv_nsec > b->mtime.tv_nsec) - (a->mtime.tv_nsec < b->mtime.tv_nsec);
}

static void list_entries(const char *dir, entry **v, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[600];
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (len <= 0 || (size_t)len >= sizeof path || lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            list_entries(path, v, n, cap);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *v = ig_xrealloc(*v, *cap * sizeof **v);
        }
        entry *e = &(*v)[(*n)++];
        memcpy(e->path, path, (size_t)len + 1);
        e->size = st.st_size;
        e->mtime = st.st_mtim;
    }
    if (d)
        closedir(d);
}

/* Removes the least recently used entries of debug/ until `incoming`
 * more bytes fit under the bound. */
static void make_room(ig_symcache *c, uint64_t incoming)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/debug", c->dir);
    entry *v = NULL;
    size_t n = 0, cap = 0;
    list_entries(dir, &v, &n, &cap);
    uint64_t total = incoming;
    for (size_t i = 0; i < n; i++)
        total += (uint64_t)v[i].size;
    if (total > c->max_bytes && n) {
        qsort(v, n, sizeof *v, cmp_entry_age);
        for (size_t i = 0; i < n && total > c->max_bytes; i++)
            if (unlink(v[i].path) == 0)
                total -= (uint64_t)v[i].size;
    }
    free(v);
}

static int copy_fd(int from, int to)
{
    char buf[1 << 16];
    off_t pos = 0;
    for (;;) {
        ssize_t n = pread(from, buf, sizeof buf, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            done += w;
        }
        pos += n;
    }
}

/* Inflates every compressed section of the ELF open read-write at fd and
 * lets libelf lay the file out again. */
static int decompress_in_place(int fd)
{
    Elf *e = elf_begin(fd, ELF_C_RDWR, NULL);
    if (!e)
        return -1;
    int ok = elf_kind(e) == ELF_K_ELF;
    Elf_Scn *scn = NULL;
    while (ok && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            ok = 0;
        else if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
            ok = 0;
    }
    if (ok && elf_update(e, ELF_C_WRITE) < 0)
        ok = 0;
    elf_end(e);
    return ok ? 0 : -1;
}

int ig_symcache_debug_store(ig_symcache *c, const char *bid, int src_fd, int *fd, Elf **elf)
{
    *fd = -1;
    *elf = NULL;
    struct stat st;
    if (!c || c->no_writes || src_fd < 0 || !valid_build_id(bid) || fstat(src_fd, &st) != 0)
        return -1;
    char sub[16], path[4096];
    snprintf(sub, sizeof sub, "debug/%.2s", bid);
    if (make_dirs(c, sub) != 0)
        return -1;
    make_room(c, (uint64_t)st.st_size * 3); /* inflated debug info: ~2.5x */
    debug_path(c, bid, path, sizeof path);
    ig_ofile o;
    ig_err err;
    FILE *fp = ig_ofile_open(&o, path, &err);
    if (!fp) {
        ig_symcache_warn(c->dir, "cannot write; not caching");
        c->no_writes = 1;
        return -1;
    }
    o.no_sync = 1; /* as every entry: checked when opened, rebuilt if bad */
    int wfd = fileno(fp);
    if (copy_fd(src_fd, wfd) != 0 || decompress_in_place(wfd) != 0) {
        ig_ofile_abort(&o);
        return -1;
    }
    if (ig_ofile_commit(&o, &err) != 0)
        return -1;
    return ig_symcache_debug_open(c, bid, fd, elf);
}
