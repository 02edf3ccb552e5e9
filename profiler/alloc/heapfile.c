/*
 * profiler/alloc/heapfile.c — the table file of one process (heapfile.h).
 *
 * Design.  The file is the process's record store: the shim hands
 * ig_heaptab_new_with() the records region and the header's counters, and
 * the table writes its records there as it samples; the private parts of
 * the table (live addresses, filter, index) stay in anonymous memory.
 * Nothing in the file is a pointer, so a reader needs only the offsets in
 * the header.  Space is reserved before use with posix_fallocate on a
 * descriptor opened for the call (the process keeps none open: a program
 * that closes every descriptor it does not know cannot break us, nor can
 * a reused descriptor number make us extend one of its files).
 *
 * The module log holds one entry per executable PT_LOAD segment of each
 * loaded object: address range, file offset, raw GNU build-id and the
 * object's path (the main program's from /proc/self/exe).  It is appended
 * when the loader's object list changed (dlpi_adds/dlpi_subs), so a
 * dlopen'ed library is there before its first sampled frame is read.
 *
 * The reader copies the header, the committed module log and the records
 * (in chunks) with pread, checking every field against the file's size;
 * it never maps the file, so a writer that truncates it cannot fault us.
 */
#include "profiler/alloc/heapfile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profiler/alloc/heapprof.h"
#include "profiler/alloc/sampler.h"
#include "profiler/u64map.h"
#include "utils/strbuf.h"

#define HF_MODS_STEP 4096u /* module log bytes reserved at a time */
#define HF_READ_CHUNK 256u

typedef ig_heapfile_header hf_header;
typedef ig_heapfile_module hf_mod;

_Static_assert(sizeof(hf_header) <= IG_HEAPFILE_HDR, "the header fits its page");

struct ig_heapfile {
    hf_header h;
};

/* ---- writer ------------------------------------------------------------------ */

static void spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            sched_yield();
}

static void spin_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static size_t put_uint(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t map_len(uint64_t recs_off, uint64_t rec_cap)
{
    return (size_t)(recs_off + rec_cap * sizeof(ig_heaprec));
}

/* Reserves [off, off + len) of f's file; 0 or -1. */
static int reserve_bytes(ig_heapfile *f, uint64_t off, uint64_t len)
{
    int fd = open(f->h.path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = posix_fallocate(fd, (off_t)off, (off_t)len);
    close(fd);
    return rc == 0 ? 0 : -1;
}

static uint32_t reserve_records(void *ctx, uint32_t need)
{
    ig_heapfile *f = ctx;
    uint32_t have = f->h.recs_reserved, cap = (uint32_t)f->h.rec_cap;
    if (need <= have)
        return have;
    uint32_t want = have < 8 ? 8 : have * 2;
    if (want < need)
        want = need;
    if (want > cap)
        want = cap;
    if (want < need)
        return have;
    uint64_t rs = sizeof(ig_heaprec);
    if (reserve_bytes(f, f->h.recs_off + have * rs, (uint64_t)(want - have) * rs) < 0) {
        if (want == need || reserve_bytes(f, f->h.recs_off + have * rs, (uint64_t)(need - have) * rs) < 0)
            return have;
        want = need;
    }
    f->h.recs_reserved = want;
    return want;
}

ig_heapfile *ig_heapfile_create(const char *dir, int64_t interval, uint32_t max_records)
{
    hf_header proto;
    size_t dl = strlen(dir);
    if (dl + 64 > sizeof proto.path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    char *path = proto.path;
    memcpy(path, dir, dl);
    memcpy(path + dl, "/heap.", 6);
    size_t at = dl + 6;
    at += put_uint(path + at, (uint64_t)getpid());
    path[at++] = '.';
    int fd = -1;
    size_t len = 0;
    for (unsigned n = 0; n < 10000; n++) {
        size_t e = at + put_uint(path + at, n);
        memcpy(path + e, ".tab", 5);
        len = e + 4;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0)
        return NULL;
    uint64_t rec_cap = ig_heaptab_capacity(max_records);
    uint64_t recs_off = IG_HEAPFILE_HDR + IG_HEAPFILE_MODS_CAP;
    size_t total = map_len(recs_off, rec_cap);
    void *m = MAP_FAILED;
    int e = 0;
    if (ftruncate(fd, (off_t)total) != 0)
        e = errno;
    else if ((e = posix_fallocate(fd, 0, IG_HEAPFILE_HDR + HF_MODS_STEP)) == 0)
        m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (!e && m == MAP_FAILED)
        e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        unlink(path);
        errno = e;
        return NULL;
    }
    ig_heapfile *f = m;
    hf_header *h = &f->h;
    memcpy(h->path, path, len + 1);
    h->path_len = (uint32_t)len;
    h->version = IG_HEAPFILE_VERSION;
    h->hdr_size = IG_HEAPFILE_HDR;
    h->rec_size = sizeof(ig_heaprec);
    h->max_depth = IG_HEAP_MAX_DEPTH;
    h->pid = (int32_t)getpid();
    h->interval = interval;
    h->mods_off = IG_HEAPFILE_HDR;
    h->mods_cap = IG_HEAPFILE_MODS_CAP;
    h->mods_reserved = HF_MODS_STEP;
    h->recs_off = recs_off;
    h->rec_cap = rec_cap;
    uint64_t magic;
    memcpy(&magic, IG_HEAPFILE_MAGIC, 8);
    /* last, with release order: a reader never sees half a header */
    __atomic_store_n((uint64_t *)(void *)h->magic, magic, __ATOMIC_RELEASE);
    return f;
}

void ig_heapfile_store(ig_heapfile *f, ig_heaptab_store *store)
{
    store->recs = (ig_heaprec *)((char *)f + f->h.recs_off);
    store->shared = &f->h.tab;
    store->reserve = reserve_records;
    store->ctx = f;
}

void ig_heapfile_count_sample(ig_heapfile *f)
{
    __atomic_add_fetch(&f->h.samples, 1, __ATOMIC_RELAXED);
}

void ig_heapfile_set_interval(ig_heapfile *f, int64_t interval)
{
    __atomic_store_n(&f->h.interval, interval, __ATOMIC_RELAXED);
}

void ig_heapfile_close(ig_heapfile *f)
{
    if (f)
        munmap(f, map_len(f->h.recs_off, f->h.rec_cap));
}

/* Makes room for `len` more bytes in the log; 0 or -1.  mods_lock held. */
static int reserve_log(ig_heapfile *f, uint64_t len)
{
    hf_header *h = &f->h;
    if (h->mods_len + len > h->mods_cap)
        return -1;
    if (h->mods_len + len <= h->mods_reserved)
        return 0;
    uint64_t want = (h->mods_len + len + HF_MODS_STEP - 1) / HF_MODS_STEP * HF_MODS_STEP;
    if (want > h->mods_cap)
        want = h->mods_cap;
    if (reserve_bytes(f, h->mods_off + h->mods_reserved, want - h->mods_reserved) < 0)
        return -1;
    h->mods_reserved = want;
    return 0;
}

void ig_heapfile_copy_modules(ig_heapfile *dst, const ig_heapfile *src)
{
    uint64_t n = __atomic_load_n(&src->h.mods_len, __ATOMIC_ACQUIRE);
    if (n > dst->h.mods_cap || reserve_log(dst, n) < 0)
        return;
    memcpy((char *)dst + dst->h.mods_off, (const char *)src + src->h.mods_off, n);
    dst->h.dl_gen = src->h.dl_gen;
    dst->h.dl_gen_valid = src->h.dl_gen_valid;
    __atomic_store_n(&dst->h.mods_len, n, __ATOMIC_RELEASE);
}

/* The raw GNU build-id of a loaded object (0 bytes when it has none). */
static size_t note_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
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
                nh->n_descsz <= IG_HEAPFILE_MAX_BID) {
                memcpy(out, desc, nh->n_descsz);
                return nh->n_descsz;
            }
            at = next;
        }
    }
    return 0;
}

static bool logged(const ig_heapfile *f, const hf_mod *m, const char *name)
{
    const char *log = (const char *)f + f->h.mods_off;
    for (uint64_t at = 0; at + sizeof(hf_mod) <= f->h.mods_len;) {
        const hf_mod *e = (const hf_mod *)(log + at);
        if (e->size < sizeof *e)
            return false;
        if (e->start == m->start && e->limit == m->limit && e->offset == m->offset &&
            e->name_len == m->name_len && !memcmp((const char *)(e + 1) + e->bid_len, name, m->name_len))
            return true;
        at += e->size;
    }
    return false;
}

/* dl_iterate_phdr callback: logs each executable segment of one object. */
static int log_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    ig_heapfile *f = arg;
    char exe[PATH_MAX];
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    size_t name_len = strnlen(name, UINT16_MAX);
    uint8_t bid[IG_HEAPFILE_MAX_BID];
    size_t bid_len = note_build_id(info, bid);
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        hf_mod m = {
            .name_len = (uint16_t)name_len,
            .bid_len = (uint8_t)bid_len,
            .start = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1),
            .limit = info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
            .offset = ph->p_offset & ~(pg - 1),
        };
        m.size = (uint32_t)((sizeof m + bid_len + name_len + 7) & ~(size_t)7);
        if (logged(f, &m, name) || reserve_log(f, m.size) < 0)
            continue;
        char *at = (char *)f + f->h.mods_off + f->h.mods_len;
        memcpy(at, &m, sizeof m);
        memcpy(at + sizeof m, bid, bid_len);
        memcpy(at + sizeof m + bid_len, name, name_len);
        __atomic_store_n(&f->h.mods_len, f->h.mods_len + m.size, __ATOMIC_RELEASE);
    }
    return 0;
}

static int loader_generation(struct dl_phdr_info *info, size_t size, void *arg)
{
    uint64_t *gen = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        *gen = (uint64_t)info->dlpi_adds ^ ((uint64_t)info->dlpi_subs << 40);
    return 1; /* the counters are the same in every object's info */
}

void ig_heapfile_note_modules(ig_heapfile *f)
{
    uint64_t gen = UINT64_MAX;
    dl_iterate_phdr(loader_generation, &gen);
    hf_header *h = &f->h;
    if (gen != UINT64_MAX && __atomic_load_n(&h->dl_gen_valid, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&h->dl_gen, __ATOMIC_RELAXED) == gen)
        return;
    spin_lock(&h->mods_lock);
    if (gen == UINT64_MAX || !h->dl_gen_valid || h->dl_gen != gen) {
        dl_iterate_phdr(log_object, f);
        __atomic_store_n(&h->dl_gen, gen, __ATOMIC_RELAXED);
        __atomic_store_n(&h->dl_gen_valid, gen != UINT64_MAX, __ATOMIC_RELEASE);
    }
    spin_unlock(&h->mods_lock);
}

/* ---- reader ------------------------------------------------------------------ */

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* [off, off + len) inside a file of `size` bytes, without overflow. */
static bool inside(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static int check_header(const hf_header *h, uint64_t size, const char *name, ig_err *err)
{
    static const char zero[8];
    if (!memcmp(h->magic, zero, 8))
        return ig_err_set(err, "%s: header not written (the process was starting)", name);
    if (memcmp(h->magic, IG_HEAPFILE_MAGIC, 8) || h->version != IG_HEAPFILE_VERSION || h->hdr_size != IG_HEAPFILE_HDR)
        return ig_err_set(err, "%s: not an ignis heap table (or another version)", name);
    if (h->rec_size != sizeof(ig_heaprec) || h->max_depth != IG_HEAP_MAX_DEPTH)
        return ig_err_set(err, "%s: records of %u bytes and depth %u, expected %zu and %d", name, h->rec_size,
                          h->max_depth, sizeof(ig_heaprec), IG_HEAP_MAX_DEPTH);
    if (h->interval < 1)
        return ig_err_set(err, "%s: sampling interval %lld", name, (long long)h->interval);
    if (h->mods_off < IG_HEAPFILE_HDR || h->mods_len > h->mods_cap || h->mods_len > IG_HEAPFILE_MODS_CAP ||
        !inside(h->mods_off, h->mods_len, size))
        return ig_err_set(err, "%s: module log (%llu bytes at %llu) outside the file", name,
                          (unsigned long long)h->mods_len, (unsigned long long)h->mods_off);
    if (h->rec_cap > IG_HEAPFILE_MAX_RECS || h->tab.nrecs > h->rec_cap || h->recs_off < IG_HEAPFILE_HDR ||
        !inside(h->recs_off, (uint64_t)h->tab.nrecs * sizeof(ig_heaprec), size))
        return ig_err_set(err, "%s: %u records (of %llu) at %llu outside the file", name, h->tab.nrecs,
                          (unsigned long long)h->rec_cap, (unsigned long long)h->recs_off);
    return 0;
}

/* Adds a mapping for each well-formed log entry; a malformed one ends the
 * log (what came before it was committed and stays). */
static void add_modules(ignis_profile *p, const uint8_t *log, uint64_t len)
{
    for (uint64_t at = 0; at + sizeof(hf_mod) <= len;) {
        hf_mod m;
        memcpy(&m, log + at, sizeof m);
        if (m.size < sizeof m || m.size % 8 || m.size > len - at || m.bid_len > IG_HEAPFILE_MAX_BID ||
            sizeof m + m.bid_len + (uint64_t)m.name_len > m.size)
            return;
        const uint8_t *bid = log + at + sizeof m;
        const char *path = (const char *)bid + m.bid_len;
        char hex[2 * IG_HEAPFILE_MAX_BID + 1];
        for (unsigned i = 0; i < m.bid_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", bid[i]);
        hex[2 * m.bid_len] = 0;
        if (m.start < m.limit) {
            ignis_mapping pm = {
                .start = m.start,
                .limit = m.limit,
                .offset = m.offset,
                .filename = ignis_profile_intern_n(p, path, strnlen(path, m.name_len)),
                .build_id = m.bid_len ? ignis_profile_intern(p, hex) : 0,
            };
            ignis_profile_add_mapping(p, &pm);
        }
        at += m.size;
    }
}

/* Hostile counts must not wrap the profile's totals: a record is taken
 * while the file's largest value total (objects or bytes, unbiased) stays
 * under 2^62, which also leaves room to merge a few processes. */
static bool fits(double *budget, ig_heaprec *r, int64_t interval)
{
    if (r->inuse > r->count)
        r->inuse = r->count;
    double scale = ig_sampler_scale((double)r->size, (double)interval);
    double v = (double)r->count * scale * (r->size > 1 ? (double)r->size : 1.0);
    if (!(v <= *budget))
        return false;
    *budget -= v;
    return true;
}

typedef struct locate_ctx {
    ig_u64map cache; /* ip + 1 -> location id */
} locate_ctx;

/* A return address's location: the call instruction (ip - 1) in its
 * mapping, unnamed (collect.c symbolizes it from the file). */
static uint32_t locate(void *ctx, ignis_profile *p, uint64_t ip, int frame)
{
    (void)frame;
    locate_ctx *c = ctx;
    uint64_t at = ip ? ip - 1 : 0, id;
    if (ig_u64map_get(&c->cache, at + 1, &id))
        return (uint32_t)id;
    ignis_location loc = {.mapping = ignis_profile_mapping_for(p, at), .address = at};
    uint32_t lid = ignis_profile_add_location(p, &loc);
    ig_u64map_put(&c->cache, at + 1, lid);
    return lid;
}

ignis_profile *ig_heapfile_read(int fd, const char *name, ig_heapfile_info *info, ig_err *err)
{
    memset(info, 0, sizeof *info);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ig_err_set(err, "%s: %s", name, strerror(errno)), NULL;
    hf_header h;
    if ((uint64_t)st.st_size < IG_HEAPFILE_HDR || read_at(fd, &h, sizeof h, 0) < 0)
        return ig_err_set(err, "%s: shorter than a heap table header", name), NULL;
    if (check_header(&h, (uint64_t)st.st_size, name, err) < 0)
        return NULL;
    uint8_t *log = ig_xmalloc(h.mods_len ? h.mods_len : 1);
    if (read_at(fd, log, h.mods_len, h.mods_off) < 0) {
        free(log);
        return ig_err_set(err, "%s: cannot read the module log", name), NULL;
    }
    ignis_profile *p = ig_heapprof_new(h.interval);
    add_modules(p, log, h.mods_len);
    free(log);
    ig_heaprec *recs = ig_xmalloc(HF_READ_CHUNK * sizeof *recs);
    locate_ctx lc = {{0}};
    double budget = 4.6e18;
    for (uint32_t done = 0; done < h.tab.nrecs;) {
        uint32_t n = h.tab.nrecs - done < HF_READ_CHUNK ? h.tab.nrecs - done : HF_READ_CHUNK;
        if (read_at(fd, recs, n * sizeof *recs, h.recs_off + (uint64_t)done * sizeof *recs) < 0) {
            ig_err_set(err, "%s: cannot read records %u..%u", name, done, done + n);
            free(recs), ig_u64map_clear(&lc.cache), ignis_profile_free(p);
            return NULL;
        }
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (recs[i].depth > IG_HEAP_MAX_DEPTH)
                recs[i].depth = IG_HEAP_MAX_DEPTH; /* hostile: cut, never read past ips */
            if (fits(&budget, &recs[i], h.interval))
                recs[k++] = recs[i];
            else
                info->skipped++;
        }
        ig_heapprof_add_records(p, recs, k, h.interval, locate, &lc);
        done += n;
    }
    free(recs);
    ig_u64map_clear(&lc.cache);
    info->pid = h.pid;
    info->samples = h.samples;
    info->dropped = h.tab.dropped_records + h.tab.dropped_live;
    char note[256];
    snprintf(note, sizeof note,
             "ignis-alloc: pid %d, sample interval %lld bytes, %llu sampled allocations, %llu dropped", (int)h.pid,
             (long long)h.interval, (unsigned long long)h.samples, (unsigned long long)info->dropped);
    ignis_profile_add_comment(p, note);
    return p;
}
