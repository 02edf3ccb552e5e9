/*
 * profiler/sym/symbols.c — the symbolizer behind profiler/symbols.h.
 *
 * Three caches make every sample after the first cheap:
 *
 *   paths    "path\0build-id" -> module.  The hot path hashes the path
 *            string and probes; no syscall per sample.
 *   modules  identity -> module, identity being "b:<build-id>" or
 *            "f:dev:ino:mtime:size" for files without one.  The same
 *            library reached through several paths (/proc/PID/root/...,
 *            symlinks) is opened and indexed once.  When the engine gives
 *            a build-id it is looked up before any file is opened.
 *   results  (module, offset) -> frames.  A sample's addresses repeat
 *            (hot loops), so after warm-up a lookup is two hash probes
 *            and a memcpy of the frames.
 *
 * Resolving a miss: offset -> vaddr through PT_LOAD (module.c), DWARF
 * frames with inline chain (dwarf.c), else the ELF symbol table, else
 * nothing (the caller prints module+0xoffset).  Names are interned once
 * into a chunked arena that never moves, so the strings handed out live
 * as long as the ig_symtab; C++ names are demangled with the C++ runtime's
 * __cxa_demangle, once per distinct mangled name.
 *
 * Modules that cannot be read (missing, corrupt, replaced under the
 * mapping) are cached too, as unusable, so a bad mapping costs one probe per
 * sample rather than an open().  Single-threaded by design: the engine's
 * sampling thread owns the ig_symtab.
 */
#include "profiler/sym/sym_internal.h"
#include "utils/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_FRAMES 32          /* inline depth kept per address */
#define ARENA_CHUNK 65536
#define MAX_DEMANGLE_LEN 4096

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

typedef struct path_ent {
    char *key;      /* path "\0" build-id */
    size_t keylen;
    uint32_t mod;   /* module id (index + 1) */
} path_ent;

typedef struct result {
    uint32_t mod;
    uint32_t n;
    uint64_t offset;
    size_t first;   /* index into frames */
} result;

struct ig_symtab {
    ig_debug_dirs dd;
    ig_symcache *cache;  /* NULL: no persistent cache */
    char *kallsyms_path;
    char *perfmap_dir;

    ig_module *mods;
    char **mod_ids;
    size_t nmods, cap_mods;
    ig_idtab mod_tab;

    path_ent *paths;
    size_t npaths, cap_paths;
    ig_idtab path_tab;

    result *results;
    size_t nresults, cap_results;
    ig_idtab result_tab;
    ig_symframe *frames;
    size_t nframes, cap_frames;

    /* interned strings: id -> pointer, demangled form of each (0 unknown,
     * UINT32_MAX none) */
    const char **strs;
    uint32_t *demangled;
    size_t nstrs, cap_strs;
    ig_idtab str_tab;
    char **chunks;
    size_t nchunks;
    char *chunk_pos;
    size_t chunk_left;

    ig_kernsyms kernel;
    ig_perfmap *pmaps;
    size_t npmaps;
    size_t pmaps_held;     /* perf map files opened by ig_symtab_perfmap_hold */

    ig_symtab_stats stats;
};

/* ---- string interning ---------------------------------------------------- */

static int str_eq(const void *ctx, uint32_t id, const void *key)
{
    const ig_symtab *st = ctx;
    return strcmp(st->strs[id - 1], key) == 0;
}

static char *arena_copy(ig_symtab *st, const char *s, size_t len)
{
    if (len + 1 > st->chunk_left) {
        size_t sz = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
        st->chunks = ig_xrealloc(st->chunks, (st->nchunks + 1) * sizeof *st->chunks);
        st->chunks[st->nchunks++] = st->chunk_pos = ig_xmalloc(sz);
        st->chunk_left = sz;
    }
    char *p = st->chunk_pos;
    memcpy(p, s, len);
    p[len] = '\0';
    st->chunk_pos += len + 1;
    st->chunk_left -= len + 1;
    return p;
}

static uint32_t intern_id(ig_symtab *st, const char *s)
{
    size_t len = strlen(s);
    uint64_t h = ig_hash_bytes(s, len, 0x5e1f);
    uint32_t id = ig_idtab_find(&st->str_tab, h, s, str_eq, st);
    if (id)
        return id;
    if (st->nstrs == st->cap_strs) {
        st->cap_strs = st->cap_strs ? st->cap_strs * 2 : 256;
        st->strs = ig_xrealloc(st->strs, st->cap_strs * sizeof *st->strs);
        st->demangled = ig_xrealloc(st->demangled, st->cap_strs * sizeof *st->demangled);
    }
    st->strs[st->nstrs] = arena_copy(st, s, len);
    st->demangled[st->nstrs] = 0;
    id = (uint32_t)++st->nstrs;
    ig_idtab_insert(&st->str_tab, h, id);
    return id;
}

static const char *intern(ig_symtab *st, const char *s)
{
    if (!s)
        return NULL;
    uint32_t id = intern_id(st, s); /* may grow st->strs: read it after */
    return st->strs[id - 1];
}

/* The demangled form of an interned mangled name, or the name itself. */
static const char *demangle(ig_symtab *st, const char *name)
{
    if (!name)
        return NULL;
    uint32_t id = intern_id(st, name);
    if (st->demangled[id - 1] == 0) {
        st->demangled[id - 1] = UINT32_MAX;
        if (strncmp(name, "_Z", 2) == 0 && strlen(name) < MAX_DEMANGLE_LEN) {
            int status = -1;
            char *d = __cxa_demangle(name, NULL, NULL, &status);
            if (d && status == 0) {
                uint32_t did = intern_id(st, d); /* may grow st->demangled */
                st->demangled[id - 1] = did;
            }
            free(d);
        }
    }
    uint32_t did = st->demangled[id - 1];
    return st->strs[(did == UINT32_MAX ? id : did) - 1];
}

/* ---- modules ------------------------------------------------------------- */

static int mod_eq(const void *ctx, uint32_t id, const void *key)
{
    const ig_symtab *st = ctx;
    return strcmp(st->mod_ids[id - 1], key) == 0;
}

static uint32_t find_module(ig_symtab *st, const char *ident)
{
    return ig_idtab_find(&st->mod_tab, ig_hash_bytes(ident, strlen(ident), 0x30d), ident, mod_eq, st);
}

static uint32_t add_module(ig_symtab *st, const char *ident, const char *path, int fd, Elf *elf,
                           const struct stat *sb, const char *bid)
{
    if (st->nmods == st->cap_mods) {
        st->cap_mods = st->cap_mods ? st->cap_mods * 2 : 16;
        st->mods = ig_xrealloc(st->mods, st->cap_mods * sizeof *st->mods);
        st->mod_ids = ig_xrealloc(st->mod_ids, st->cap_mods * sizeof *st->mod_ids);
    }
    ig_module *m = &st->mods[st->nmods];
    ig_module_init(m, path, fd, elf, sb, bid);
    st->mod_ids[st->nmods] = ig_xstrdup(ident);
    uint32_t id = (uint32_t)++st->nmods;
    ig_idtab_insert(&st->mod_tab, ig_hash_bytes(ident, strlen(ident), 0x30d), id);
    st->stats.modules++;
    return id;
}

/* Debug info and symbols of a module, looked for on its first lookup. */
static void load_module(ig_symtab *st, ig_module *m)
{
    if (m->loaded)
        return;
    ig_module_load(m, &st->dd, st->cache);
    if (m->dbg_elf || m->cache_elf)
        st->stats.debug_files++;
    if (m->cache_elf)
        st->stats.cached_debug_files++;
}

/* The module for a path the cache has not seen.  With a build-id from the
 * engine, a module already known by it is reused without opening anything;
 * a file that is gone or carries another build-id (replaced under the
 * mapping) gives a module that names nothing, cached per build-id. */
static uint32_t open_module(ig_symtab *st, const char *path, const char *bid)
{
    char ident[160];
    if (bid) {
        snprintf(ident, sizeof ident, "b:%s", bid);
        uint32_t id = find_module(st, ident);
        if (id)
            return id;
    }
    int fd;
    Elf *elf;
    struct stat sb;
    int opened = ig_elf_open(path, &fd, &elf, &sb) == 0;
    char file_ident[160];
    if (opened)
        ig_elf_identity(elf, &sb, file_ident, sizeof file_ident);
    if (bid && (!opened || strcmp(file_ident, ident) != 0)) {
        if (opened) {
            elf_end(elf);
            close(fd);
        }
        snprintf(ident, sizeof ident, "dbg:%s", bid);
        uint32_t id = find_module(st, ident);
        return id ? id : add_module(st, ident, path, -1, NULL, NULL, bid);
    }
    if (!opened) {
        snprintf(ident, sizeof ident, "missing:%s", path);
        uint32_t id = find_module(st, ident);
        return id ? id : add_module(st, ident, path, -1, NULL, NULL, NULL);
    }
    uint32_t id = find_module(st, file_ident);
    if (id) {
        elf_end(elf);
        close(fd);
        return id;
    }
    return add_module(st, file_ident, path, fd, elf, &sb, NULL);
}

/* The module of a real file with that build-id, else fallback. */
static uint32_t module_by_build_id(ig_symtab *st, const char *bid, uint32_t fallback)
{
    char ident[160];
    snprintf(ident, sizeof ident, "b:%s", bid);
    uint32_t id = find_module(st, ident);
    return id ? id : fallback;
}

static int path_eq(const void *ctx, uint32_t id, const void *key)
{
    const ig_symtab *st = ctx;
    const path_ent *e = &st->paths[id - 1];
    const ig_strbuf *k = key;
    return e->keylen == k->len && memcmp(e->key, k->data, k->len) == 0;
}

static uint32_t module_for_path(ig_symtab *st, const char *path, const char *bid)
{
    char keybuf[4096 + 64];
    size_t plen = strlen(path), blen = bid ? strlen(bid) : 0;
    if (plen + blen + 2 > sizeof keybuf || blen > 128)
        return 0;
    memcpy(keybuf, path, plen + 1);
    memcpy(keybuf + plen + 1, bid ? bid : "", blen);
    ig_strbuf key = {keybuf, plen + 1 + blen, 0};
    uint64_t h = ig_hash_bytes(keybuf, key.len, 0x9a7);
    uint32_t id = ig_idtab_find(&st->path_tab, h, &key, path_eq, st);
    if (id) {
        path_ent *e = &st->paths[id - 1];
        if (bid && !st->mods[e->mod - 1].usable)
            e->mod = module_by_build_id(st, bid, e->mod); /* known by now? */
        return e->mod;
    }
    uint32_t mod = open_module(st, path, bid);
    if (st->npaths == st->cap_paths) {
        st->cap_paths = st->cap_paths ? st->cap_paths * 2 : 16;
        st->paths = ig_xrealloc(st->paths, st->cap_paths * sizeof *st->paths);
    }
    path_ent *e = &st->paths[st->npaths];
    e->key = ig_xmalloc(key.len);
    memcpy(e->key, keybuf, key.len);
    e->keylen = key.len;
    e->mod = mod;
    ig_idtab_insert(&st->path_tab, h, (uint32_t)++st->npaths);
    return mod;
}

/* ---- results ------------------------------------------------------------- */

typedef struct result_key {
    uint32_t mod;
    uint64_t offset;
} result_key;

static int result_eq(const void *ctx, uint32_t id, const void *key)
{
    const ig_symtab *st = ctx;
    const result *r = &st->results[id - 1];
    const result_key *k = key;
    return r->mod == k->mod && r->offset == k->offset;
}

static ig_symframe *new_frame(ig_symtab *st)
{
    if (st->nframes == st->cap_frames) {
        st->cap_frames = st->cap_frames ? st->cap_frames * 2 : 256;
        st->frames = ig_xrealloc(st->frames, st->cap_frames * sizeof *st->frames);
    }
    ig_symframe *f = &st->frames[st->nframes++];
    memset(f, 0, sizeof *f);
    return f;
}

static uint64_t start_offset(const ig_module *m, uint64_t vaddr)
{
    uint64_t off = 0;
    if (vaddr && ig_module_vaddr_to_off(m, vaddr, &off) < 0)
        off = 0;
    return off;
}

static int add_dwarf_frames(ig_symtab *st, ig_module *m, uint64_t vaddr)
{
    ig_rawframe raw[MAX_FRAMES];
    int n = ig_dwarf_frames(m, vaddr, raw, MAX_FRAMES);
    for (int i = 0; i < n; i++) {
        const char *sys = raw[i].linkage ? raw[i].linkage : raw[i].name;
        const ig_elfsym *es = NULL;
        if (!sys && i == n - 1 && (es = ig_module_elfsym(m, vaddr)))
            sys = es->name;
        ig_symframe *f = new_frame(st);
        f->sysname = intern(st, sys);
        f->func = raw[i].linkage || es ? demangle(st, f->sysname) : f->sysname;
        f->file = intern(st, raw[i].file);
        f->line = raw[i].line;
        f->column = raw[i].column;
        f->func_start = start_offset(m, raw[i].start_vaddr);
    }
    return n;
}

static int add_elf_frame(ig_symtab *st, ig_module *m, uint64_t vaddr)
{
    const ig_elfsym *es = ig_module_elfsym(m, vaddr);
    if (!es)
        return 0;
    ig_symframe *f = new_frame(st);
    f->sysname = intern(st, es->name);
    f->func = demangle(st, f->sysname);
    f->func_start = start_offset(m, es->addr);
    return 1;
}

/* ---- the persistent frames cache (framecache.c) ---------------------------- */

static void frames_entry_name(const ig_module *m, char *sub, size_t sublen, char *name, size_t namelen)
{
    snprintf(sub, sublen, "debug/%.2s", m->build_id);
    snprintf(name, namelen, "%s.frames", m->build_id + 2);
}

static void drop_frames_cache(ig_symtab *st, ig_module *m, const char *why)
{
    char sub[16], name[64];
    frames_entry_name(m, sub, sizeof sub, name, sizeof name);
    if (why)
        ig_symcache_remove(st->cache, sub, name, why);
    if (m->fc_map)
        ig_symcache_unmap(m->fc_map, m->fc_len);
    m->fc_map = NULL;
    m->fc_state = 2;
}

static void load_frames_cache(ig_symtab *st, ig_module *m)
{
    m->fc_state = 2;
    char sub[16], name[64];
    frames_entry_name(m, sub, sizeof sub, name, sizeof name);
    m->fc_map = ig_symcache_map(st->cache, sub, name, &m->fc_len);
    if (!m->fc_map)
        return;
    const char *why = ig_framecache_view(&m->fc, m->fc_map, m->fc_len);
    if (why)
        drop_frames_cache(st, m, why);
    else if (m->fc.debug_kind != ig_module_debug_kind(m))
        drop_frames_cache(st, m, NULL); /* other debug info then: rewritten at the end */
    else
        m->fc_state = 1;
}

/* Pushes the cached frames of offset; their count, or -1 when not cached. */
static int frames_from_cache(ig_symtab *st, ig_module *m, uint64_t offset)
{
    if (!m->fc_state)
        load_frames_cache(st, m);
    uint32_t first, n;
    int corrupt = 0;
    if (m->fc_state != 1 || ig_framecache_find(&m->fc, offset, &first, &n, &corrupt) != 0) {
        if (corrupt)
            drop_frames_cache(st, m, "corrupt entry");
        return -1;
    }
    size_t mark = st->nframes;
    for (uint32_t i = 0; i < n; i++) {
        ig_symframe in;
        if (ig_framecache_frame(&m->fc, first + i, &in) != 0) {
            st->nframes = mark;
            drop_frames_cache(st, m, "corrupt frame");
            return -1;
        }
        ig_symframe *f = new_frame(st);
        f->func = intern(st, in.func);
        f->sysname = intern(st, in.sysname);
        f->file = intern(st, in.file);
        f->line = in.line;
        f->column = in.column;
        f->func_start = in.func_start;
    }
    st->stats.persisted_hits++;
    return (int)n;
}

static void note_new_result(ig_module *m, uint32_t id)
{
    if (m->nfc_new == m->cap_fc_new) {
        m->cap_fc_new = m->cap_fc_new ? m->cap_fc_new * 2 : 64;
        m->fc_new = ig_xrealloc(m->fc_new, m->cap_fc_new * sizeof *m->fc_new);
    }
    m->fc_new[m->nfc_new++] = id;
}

/* Writes the module's entry again: this run's new answers, then the
 * entry's old ones, up to the cap. */
static void save_frames_cache(ig_symtab *st, ig_module *m)
{
    size_t max = ig_framecache_max_entries(), n = 0;
    /* the old answers only while made from the same debug info (a cached
     * debug file libdw refused on first use changes it mid-record) */
    size_t old = m->fc_state == 1 && m->fc.debug_kind == ig_module_debug_kind(m) ? m->fc.nents : 0;
    size_t total = m->nfc_new + old < max ? m->nfc_new + old : max;
    ig_fc_entry *ents = ig_xmalloc((total ? total : 1) * sizeof *ents);
    for (size_t i = 0; i < m->nfc_new && n < total; i++) {
        const result *r = &st->results[m->fc_new[i] - 1];
        ents[n++] = (ig_fc_entry){r->offset, &st->frames[r->first], r->n};
    }
    /* old answers: their frames go through the arena (one pointer per string) */
    ig_symframe *old_frames = ig_xmalloc((old ? m->fc.nframes : 1) * sizeof *old_frames);
    for (size_t i = 0; i < old && n < total; i++) {
        uint64_t off;
        memcpy(&off, m->fc.ents + i * 16, 8);
        uint32_t first, k;
        int corrupt = 0;
        if (ig_framecache_find(&m->fc, off, &first, &k, &corrupt) != 0)
            break;
        int ok = 1;
        for (uint32_t j = 0; j < k && ok; j++) {
            ig_symframe *f = &old_frames[first + j];
            ok = ig_framecache_frame(&m->fc, first + j, f) == 0;
            f->func = intern(st, f->func);
            f->sysname = intern(st, f->sysname);
            f->file = intern(st, f->file);
        }
        if (!ok)
            break;
        ents[n++] = (ig_fc_entry){off, &old_frames[first], k};
    }
    size_t len;
    uint8_t *data = ig_framecache_encode(ents, n, ig_module_debug_kind(m), &len);
    if (data) {
        char sub[16], name[64];
        frames_entry_name(m, sub, sizeof sub, name, sizeof name);
        ig_symcache_write(st->cache, sub, name, data, len);
    }
    free(data);
    free(old_frames);
    free(ents);
}

static void save_frames_caches(ig_symtab *st)
{
    for (size_t i = 0; st->cache && i < st->nmods; i++)
        if (st->mods[i].nfc_new && st->mods[i].build_id[0])
            save_frames_cache(st, &st->mods[i]);
}

/* ---- resolving ------------------------------------------------------------- */

static result *resolve(ig_symtab *st, uint32_t mod, uint64_t offset, uint64_t hash)
{
    ig_module *m = &st->mods[mod - 1];
    size_t first = st->nframes;
    int n = -1;
    int persist = st->cache && m->build_id[0];
    if (persist)
        n = frames_from_cache(st, m, offset);
    uint64_t vaddr;
    if (n < 0) {
        n = 0;
        if (ig_module_off_to_vaddr(m, offset, &vaddr) == 0) {
            n = add_dwarf_frames(st, m, vaddr);
            if (n == 0)
                n = add_elf_frame(st, m, vaddr);
        }
        if (persist)
            note_new_result(m, (uint32_t)st->nresults + 1);
    }
    if (st->nresults == st->cap_results) {
        st->cap_results = st->cap_results ? st->cap_results * 2 : 1024;
        st->results = ig_xrealloc(st->results, st->cap_results * sizeof *st->results);
    }
    result *r = &st->results[st->nresults];
    *r = (result){mod, (uint32_t)n, offset, first};
    ig_idtab_insert(&st->result_tab, hash, (uint32_t)++st->nresults);
    return r;
}

/* The frames of offset in module mod (0: none), from the results cache
 * or resolved now. */
static int lookup_in_module(ig_symtab *st, uint32_t mod, uint64_t offset, ig_symframe *out, int max)
{
    if (!mod)
        return 0;
    load_module(st, &st->mods[mod - 1]);
    if (!st->mods[mod - 1].usable)
        return 0;
    result_key k = {mod, offset};
    uint64_t h = ig_hash_u64(mod, offset);
    uint32_t id = ig_idtab_find(&st->result_tab, h, &k, result_eq, st);
    const result *r;
    if (id) {
        st->stats.cache_hits++;
        r = &st->results[id - 1];
    } else {
        r = resolve(st, mod, offset, h);
    }
    int n = (int)r->n < max ? (int)r->n : max;
    if (n > 0)
        memcpy(out, &st->frames[r->first], (size_t)n * sizeof *out);
    return n;
}

int ig_symtab_lookup(ig_symtab *st, const char *path, const char *build_id_hex, uint64_t offset, ig_symframe *out,
                     int max)
{
    if (!st || !path || !out || max <= 0)
        return 0;
    st->stats.lookups++;
    if (build_id_hex && !*build_id_hex)
        build_id_hex = NULL;
    return lookup_in_module(st, module_for_path(st, path, build_id_hex), offset, out, max);
}

/* The module of an ELF image in memory, known by its own build-id (else a
 * hash of its bytes): copied on first sight, the copy owned by the module.
 * A build-id from the caller that is already known skips even the copy. */
static uint32_t module_for_image(ig_symtab *st, const char *name, const char *bid, const void *image, size_t size)
{
    char ident[200];
    if (bid) {
        snprintf(ident, sizeof ident, "b:%s", bid);
        uint32_t id = find_module(st, ident);
        if (id)
            return id;
    }
    void *copy = ig_xmalloc(size);
    memcpy(copy, image, size);
    Elf *elf = elf_memory(copy, size);
    char own[41];
    if (elf && elf_kind(elf) == ELF_K_ELF && ig_elf_build_id_hex(elf, own, sizeof own) == 0)
        snprintf(ident, sizeof ident, "b:%s", own);
    else
        snprintf(ident, sizeof ident, "img:%.64s:%016llx:%zu", name,
                 (unsigned long long)ig_hash_bytes(image, size, 0x1a6e), size);
    uint32_t id = find_module(st, ident);
    if (id || !elf || elf_kind(elf) != ELF_K_ELF) {
        if (elf)
            elf_end(elf);
        free(copy);
        return id ? id : add_module(st, ident, name, -1, NULL, NULL, NULL);
    }
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    sb.st_size = (off_t)size;
    id = add_module(st, ident, name, -1, elf, &sb, NULL);
    st->mods[id - 1].image = copy;
    return id;
}

int ig_symtab_lookup_image(ig_symtab *st, const char *name, const char *build_id_hex, const void *image, size_t size,
                           uint64_t offset, ig_symframe *out, int max)
{
    if (!st || !name || !image || !size || !out || max <= 0)
        return 0;
    st->stats.lookups++;
    if (build_id_hex && !*build_id_hex)
        build_id_hex = NULL;
    return lookup_in_module(st, module_for_image(st, name, build_id_hex, image, size), offset, out, max);
}

/* ---- build-id, kernel, perf maps ----------------------------------------- */

/* Goes through the module cache, so the file is opened once for both its
 * build-id and its symbols. */
int ig_symtab_build_id(ig_symtab *st, const char *path, char *buf, size_t len)
{
    if (!st || !path || !buf || len < 41)
        return -1;
    uint32_t mod = module_for_path(st, path, NULL);
    if (!mod || !st->mods[mod - 1].build_id[0])
        return -1;
    snprintf(buf, len, "%s", st->mods[mod - 1].build_id);
    return 0;
}

const char *ig_symtab_kernel(ig_symtab *st, uint64_t addr)
{
    const char *name = ig_kernsyms_find(&st->kernel, st->kallsyms_path, st->cache, addr);
    st->stats.kallsyms_source = st->kernel.source;
    return name;
}

/* The perf map state of pid, created on first use. */
static ig_perfmap *perfmap_of(ig_symtab *st, int pid)
{
    for (size_t i = 0; i < st->npmaps; i++)
        if (st->pmaps[i].pid == pid)
            return &st->pmaps[i];
    st->pmaps = ig_xrealloc(st->pmaps, (st->npmaps + 1) * sizeof *st->pmaps);
    ig_perfmap *pm = &st->pmaps[st->npmaps++];
    memset(pm, 0, sizeof *pm);
    pm->pid = pid;
    pm->fd = -1;
    return pm;
}

static void perfmap_path(const ig_symtab *st, int pid, char *path, size_t len)
{
    snprintf(path, len, "%s/perf-%d.map", ig_symtab_perfmap_dir(st), pid);
}

const char *ig_symtab_perfmap(ig_symtab *st, int pid, uint64_t addr)
{
    char path[4096];
    perfmap_path(st, pid, path, sizeof path);
    return ig_perfmap_find(perfmap_of(st, pid), path, addr);
}

int ig_symtab_perfmap_hold(ig_symtab *st, int pid)
{
    if (st->pmaps_held >= IG_PERFMAP_HELD)
        return -1;
    char path[4096];
    perfmap_path(st, pid, path, sizeof path);
    if (access(path, F_OK) != 0)
        return -1; /* the common case: no JIT, no state */
    ig_perfmap *pm = perfmap_of(st, pid);
    int had = pm->fd >= 0;
    int rc = ig_perfmap_hold(pm, path);
    st->pmaps_held += !had && pm->fd >= 0;
    return rc;
}

const char *ig_symtab_perfmap_dir(const ig_symtab *st)
{
    return st->perfmap_dir ? st->perfmap_dir : "/tmp";
}

/* ---- life cycle and settings --------------------------------------------- */

static void free_debug_dirs(ig_debug_dirs *dd)
{
    for (size_t i = 0; i < dd->n; i++)
        free(dd->dirs[i]);
    free(dd->dirs);
    dd->dirs = NULL;
    dd->n = 0;
}

void ig_symtab_set_debug_dirs(ig_symtab *st, const char *dirs)
{
    free_debug_dirs(&st->dd);
    const char *p = dirs ? dirs : "";
    while (*p) {
        size_t len = strcspn(p, ":");
        if (len) {
            st->dd.dirs = ig_xrealloc(st->dd.dirs, (st->dd.n + 1) * sizeof *st->dd.dirs);
            char *d = ig_xmalloc(len + 1);
            memcpy(d, p, len);
            d[len] = '\0';
            st->dd.dirs[st->dd.n++] = d;
        }
        p += len + (p[len] == ':');
    }
}

void ig_symtab_set_kallsyms_path(ig_symtab *st, const char *path)
{
    free(st->kallsyms_path);
    st->kallsyms_path = path ? ig_xstrdup(path) : NULL;
}

void ig_symtab_set_cache_dir(ig_symtab *st, const char *dir)
{
    ig_symcache_free(st->cache);
    st->cache = ig_symcache_new(dir);
}

void ig_symtab_set_perfmap_dir(ig_symtab *st, const char *dir)
{
    free(st->perfmap_dir);
    st->perfmap_dir = dir ? ig_xstrdup(dir) : NULL;
}

void ig_symtab_get_stats(const ig_symtab *st, ig_symtab_stats *out)
{
    *out = st->stats;
    out->dwarf_opened = 0;
    for (size_t i = 0; i < st->nmods; i++)
        out->dwarf_opened += st->mods[i].dwarf != NULL;
}

ig_symtab *ig_symtab_new(void)
{
    elf_version(EV_CURRENT);
    ig_symtab *st = ig_xcalloc(1, sizeof *st);
    ig_symtab_set_debug_dirs(st, "/usr/lib/debug");
    return st;
}

void ig_symtab_free(ig_symtab *st)
{
    if (!st)
        return;
    save_frames_caches(st);
    for (size_t i = 0; i < st->nmods; i++) {
        ig_module_close(&st->mods[i]);
        free(st->mod_ids[i]);
    }
    for (size_t i = 0; i < st->npaths; i++)
        free(st->paths[i].key);
    for (size_t i = 0; i < st->nchunks; i++)
        free(st->chunks[i]);
    for (size_t i = 0; i < st->npmaps; i++)
        ig_perfmap_free(&st->pmaps[i]);
    free(st->mods);
    free(st->mod_ids);
    free(st->paths);
    free(st->results);
    free(st->frames);
    free(st->strs);
    free(st->demangled);
    free(st->chunks);
    free(st->pmaps);
    ig_idtab_free(&st->mod_tab);
    ig_idtab_free(&st->path_tab);
    ig_idtab_free(&st->result_tab);
    ig_idtab_free(&st->str_tab);
    ig_kernsyms_free(&st->kernel);
    ig_symcache_free(st->cache);
    free_debug_dirs(&st->dd);
    free(st->kallsyms_path);
    free(st->perfmap_dir);
    free(st);
}
