/*
 * profiler/spanctx.c — the reader of OTEP 4719 process contexts and OTEP
 * 4947 thread contexts (see spanctx.h for the API and the two routes to a
 * thread's record).
 *
 * Design: the process context is read once at open, following the spec's
 * reading protocol (header, payload, header again, retry on a changed
 * timestamp, at most a few times) and decoded with protobuf-c as
 * ignis.otlp.text.Resource, whose strings are `bytes`
 * (proto/opentelemetry/ignis/text.proto): a value holding U+0000 is kept
 * whole, with its length, and keys are matched on all their bytes (a key
 * map entry "span_name\0x" is not span_name).  Thread ids
 * map to record addresses through libignis's thread directory, walked
 * again only when an unknown thread shows up (a miss is remembered until
 * the next walk, so a thread that never publishes costs one walk).  A read
 * is then one process_vm_readv of the record and its 8-byte ignis header;
 * the header's owner id must be the thread asked for, so a record whose
 * thread exited (and whose cache another thread adopted) is never taken
 * for the old thread's.
 *
 * Everything from the target is bounded: header fields, payload size (1
 * MiB), directory chunks (counts against their fixed capacity, at most
 * 4096 chunks), attrs-data (the record bound of 640 bytes, entries that
 * run past the end are ignored as the spec says), ELF tables (libelf,
 * from the module file, with every offset checked).
 */
#include "profiler/spanctx.h"
#include "profiler/u64map.h"
#include "opentelemetry/ignis/text.pb-c.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAYLOAD_MAX (1u << 20)
#define DIR_CHUNK 512
#define DIR_CAP 61
#define DIR_MAX_CHUNKS 4096
#define BLOCK_HDR 8
#define TLS_SYMBOL "otel_thread_ctx_v1"

/* A resource attribute, both sides kept whole: a string may hold U+0000
 * (proto3 allows it), so each has its length (and a NUL after it). */
typedef struct kv {
    char *key, *value;
    size_t key_len, value_len;
} kv;

typedef Ignis__Otlp__Text__AnyValue PbAny;
typedef Ignis__Otlp__Text__KeyValue PbKV;

struct ig_spanctx {
    pid_t pid;
    kv *attrs;
    size_t nattrs;
    char *schema;          /* threadlocal.schema_version */
    int name_key;          /* index of "span_name" in the key map, -1 none */
    uint64_t directory;    /* ignis.threadlocal.directory, 0 none */
    ig_u64map blocks;      /* tid -> record block address */
    ig_u64map misses;      /* tid -> 1: not in the directory at the last walk */
    bool tls_known;
    int64_t tls_offset;
};

/* ---- target memory --------------------------------------------------------------- */

/* Reads exactly n bytes at addr of the target; -1 on any shortfall. */
static int peek(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    if (!addr || addr + n < addr)
        return -1;
    struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
    ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return r == (ssize_t)n ? 0 : -1;
}

/* ---- the process context ------------------------------------------------------------ */

enum { HDR_SIZE = 32 };

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* One line of /proc/PID/maps names the mapping (memfd, or a named
 * anonymous mapping, shared in some kernels' words). */
static bool is_ctx_mapping(const char *path)
{
    return !strncmp(path, "/memfd:OTEL_CTX", 15) || !strcmp(path, "[anon:OTEL_CTX]") ||
           !strcmp(path, "[anon_shmem:OTEL_CTX]");
}

static bool bytes_are(ProtobufCBinaryData b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (!n || !memcmp(b.data, s, n));
}

static bool is_string(const PbAny *v)
{
    return v && v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE;
}

/* A value as text, every byte of a string kept (its length in *len). */
static char *render_any(const PbAny *v, int depth, size_t *len)
{
    ig_strbuf sb = {0};
    switch (v ? v->value_case : 0) {
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE:
        ig_sb_append(&sb, v->string_value.data, v->string_value.len);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_BOOL_VALUE:
        ig_sb_puts(&sb, v->bool_value ? "true" : "false");
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE:
        ig_sb_printf(&sb, "%" PRId64, v->int_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_DOUBLE_VALUE:
        ig_sb_printf(&sb, "%g", v->double_value);
        break;
    case IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE:
        ig_sb_putc(&sb, '[');
        for (size_t i = 0; v->array_value && depth < 4 && i < v->array_value->n_values; i++) {
            size_t n;
            char *e = render_any(v->array_value->values[i], depth + 1, &n);
            if (i)
                ig_sb_putc(&sb, ',');
            ig_sb_append(&sb, e, n);
            free(e);
        }
        ig_sb_putc(&sb, ']');
        break;
    default:
        break;
    }
    *len = sb.len;
    ig_sb_putc(&sb, '\0');
    return ig_sb_detach(&sb, NULL);
}

static char *dup_bytes(ProtobufCBinaryData b)
{
    char *s = ig_xmalloc(b.len + 1);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    return s;
}

static void clear_attrs(ig_spanctx *c)
{
    for (size_t i = 0; i < c->nattrs; i++) {
        free(c->attrs[i].key);
        free(c->attrs[i].value);
    }
    free(c->attrs);
    c->attrs = NULL;
    c->nattrs = 0;
    free(c->schema);
    c->schema = NULL;
    c->name_key = -1;
    c->directory = 0;
}

static void take_threadlocal(ig_spanctx *c, const PbKV *a)
{
    const PbAny *v = a->value;
    if (bytes_are(a->key, "threadlocal.attribute_key_map") && v &&
        v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE && v->array_value) {
        for (size_t i = 0; i < v->array_value->n_values && i < 256; i++) {
            const PbAny *e = v->array_value->values[i];
            if (is_string(e) && bytes_are(e->string_value, "span_name")) {
                c->name_key = (int)i;
                break;
            }
        }
    } else if (bytes_are(a->key, "ignis.threadlocal.directory") && v &&
               v->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_INT_VALUE) {
        c->directory = (uint64_t)v->int_value;
    } else if (bytes_are(a->key, "threadlocal.schema_version") && is_string(v) &&
               !memchr(v->string_value.data, '\0', v->string_value.len)) {
        free(c->schema); /* a schema name with a NUL names no schema we know: none */
        c->schema = dup_bytes(v->string_value);
    }
}

int ig_spanctx_decode_payload(ig_spanctx *c, const uint8_t *buf, size_t n, ig_err *err)
{
    clear_attrs(c);
    Ignis__Otlp__Text__Resource *r = ignis__otlp__text__resource__unpack(NULL, n, buf);
    if (!r)
        return ig_err_set(err, "process context payload is not a protobuf Resource");
    c->attrs = ig_xcalloc(r->n_attributes + 1, sizeof *c->attrs);
    for (size_t i = 0; i < r->n_attributes; i++) {
        const PbKV *a = r->attributes[i];
        if (!a)
            continue;
        take_threadlocal(c, a);
        kv *e = &c->attrs[c->nattrs++];
        e->key = dup_bytes(a->key);
        e->key_len = a->key.len;
        e->value = render_any(a->value, 0, &e->value_len);
    }
    ignis__otlp__text__resource__free_unpacked(r, NULL);
    return 0;
}

/* The OTEP 4719 reading protocol on one mapping; 0 ok, -1 not a (stable) context. */
static int read_context(ig_spanctx *c, uint64_t addr, ig_err *err)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t h[HDR_SIZE], h2[HDR_SIZE];
        if (peek(c->pid, addr, h, sizeof h) < 0)
            return ig_err_set(err, "cannot read the OTEL_CTX header at %#" PRIx64 ": %s", addr, strerror(errno));
        if (memcmp(h, "OTEL_CTX", 8))
            return ig_err_set(err, "OTEL_CTX mapping without the OTEL_CTX signature");
        uint32_t version = rd32(h + 8), size = rd32(h + 12);
        uint64_t at = rd64(h + 16), payload = rd64(h + 24);
        if (version != 2)
            return ig_err_set(err, "OTEL_CTX version %u is not supported (2 is)", version);
        if (!at)
            continue; /* being updated */
        if (size > PAYLOAD_MAX)
            return ig_err_set(err, "OTEL_CTX payload of %u bytes exceeds %u", size, PAYLOAD_MAX);
        uint8_t *buf = ig_xmalloc(size ? size : 1);
        int rc = size ? peek(c->pid, payload, buf, size) : 0;
        if (peek(c->pid, addr, h2, sizeof h2) < 0 || memcmp(h, h2, sizeof h)) {
            free(buf);
            continue; /* changed while we read it */
        }
        if (rc < 0) {
            free(buf);
            return ig_err_set(err, "cannot read the OTEL_CTX payload (%u bytes at %#" PRIx64 ")", size, payload);
        }
        rc = ig_spanctx_decode_payload(c, buf, size, err);
        free(buf);
        return rc;
    }
    return ig_err_set(err, "OTEL_CTX kept changing while read");
}

static int find_context(ig_spanctx *c, ig_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)c->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return ig_err_set(err, "%s: %s", path, strerror(errno));
    char line[4096];
    int rc = ig_err_set(err, "process %d publishes no OpenTelemetry process context (OTEL_CTX)", (int)c->pid);
    ig_err why = {{0}};
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &name_at) < 2 || !name_at)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        if (!is_ctx_mapping(name) || hi - lo < HDR_SIZE)
            continue;
        if (read_context(c, lo, &why) == 0) {
            rc = 0;
            break;
        }
        rc = ig_err_set(err, "process %d: %s", (int)c->pid, why.msg);
    }
    fclose(f);
    return rc;
}

ig_spanctx *ig_spanctx_new_detached(void)
{
    ig_spanctx *c = ig_xcalloc(1, sizeof *c);
    c->name_key = -1;
    return c;
}

int ig_spanctx_open(pid_t pid, ig_spanctx **out, ig_err *err)
{
    *out = NULL;
    if (pid <= 0)
        return ig_err_set(err, "bad process id %d", (int)pid);
    ig_spanctx *c = ig_spanctx_new_detached();
    c->pid = pid;
    if (find_context(c, err) < 0) {
        ig_spanctx_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void ig_spanctx_free(ig_spanctx *c)
{
    if (!c)
        return;
    clear_attrs(c);
    ig_u64map_clear(&c->blocks);
    ig_u64map_clear(&c->misses);
    free(c);
}

const char *ig_spanctx_resource(const ig_spanctx *c, const char *key, size_t *len)
{
    size_t n = strlen(key);
    for (size_t i = 0; c && i < c->nattrs; i++)
        if (c->attrs[i].key_len == n && !memcmp(c->attrs[i].key, key, n)) {
            if (len)
                *len = c->attrs[i].value_len;
            return c->attrs[i].value;
        }
    return NULL;
}

size_t ig_spanctx_resource_count(const ig_spanctx *c) { return c ? c->nattrs : 0; }

bool ig_spanctx_resource_at(const ig_spanctx *c, size_t i, ig_spanctx_attr *out)
{
    if (!c || i >= c->nattrs)
        return false;
    *out = (ig_spanctx_attr){c->attrs[i].key, c->attrs[i].key_len, c->attrs[i].value, c->attrs[i].value_len};
    return true;
}

const char *ig_spanctx_schema(const ig_spanctx *c) { return c ? c->schema : NULL; }

int ig_spanctx_name_key(const ig_spanctx *c) { return c ? c->name_key : -1; }

/* ---- records -------------------------------------------------------------------------- */

int ig_spanctx_decode_record(const uint8_t *buf, size_t n, int name_key, ig_spanlabel *out)
{
    memset(out, 0, sizeof *out);
    if (n < IG_OTEL_REC_ATTRS || buf[IG_OTEL_REC_VALID] != 1)
        return 0;
    memcpy(out->trace_id, buf + IG_OTEL_REC_TRACE_ID, 16);
    memcpy(out->span_id, buf + IG_OTEL_REC_SPAN_ID, 8);
    out->trace_flags = buf[IG_OTEL_REC_FLAGS];
    uint16_t size;
    memcpy(&size, buf + IG_OTEL_REC_ATTRS_SIZE, 2);
    size_t end = IG_OTEL_REC_ATTRS + (size_t)size;
    if (end > n)
        end = n; /* what was not read is not parsed */
    for (size_t p = IG_OTEL_REC_ATTRS; p + 2 <= end;) {
        size_t key = buf[p], len = buf[p + 1];
        if (p + 2 + len > end)
            break; /* an incomplete entry ends the parse */
        if (name_key >= 0 && key == (size_t)name_key) { /* the last occurrence wins */
            memcpy(out->name, buf + p + 2, len);
            out->name[len] = '\0';
            out->name_len = len;
        }
        p += 2 + len;
    }
    return 1;
}

/* Bytes of record read per thread: our records are 94 bytes; another
 * writer's attrs beyond this are ignored (the name is the first entry). */
enum { REC_READ = IG_OTEL_REC_ATTRS + 2 + 255 };

/* Walks the thread directory: tid -> block for every live owner. */
static void walk_directory(ig_spanctx *c)
{
    ig_u64map_clear(&c->blocks);
    ig_u64map_clear(&c->misses);
    uint64_t at = c->directory;
    for (int chunks = 0; at && chunks < DIR_MAX_CHUNKS; chunks++) {
        uint8_t d[DIR_CHUNK];
        if (peek(c->pid, at, d, sizeof d) < 0 || memcmp(d, "IGTCDIR1", 8))
            return;
        uint32_t count = rd32(d + 8), cap = rd32(d + 12);
        if (cap != DIR_CAP || count > cap)
            return;
        for (uint32_t i = 0; i < count; i++) {
            uint64_t block = rd64(d + 24 + 8 * (size_t)i);
            uint8_t hdr[BLOCK_HDR];
            if (peek(c->pid, block, hdr, sizeof hdr) == 0 && rd32(hdr) != 0)
                ig_u64map_put(&c->blocks, rd32(hdr), block);
        }
        at = rd64(d + 16);
    }
}

int ig_spanctx_read(ig_spanctx *c, pid_t tid, ig_spanlabel *out)
{
    memset(out, 0, sizeof *out);
    uint64_t block, dummy;
    if (!c || tid <= 0 || !c->directory)
        return -1;
    if (!ig_u64map_get(&c->blocks, (uint64_t)tid, &block) || !block) {
        if (ig_u64map_get(&c->misses, (uint64_t)tid, &dummy))
            return -1;
        walk_directory(c);
        if (!ig_u64map_get(&c->blocks, (uint64_t)tid, &block)) {
            ig_u64map_put(&c->misses, (uint64_t)tid, 1);
            return -1;
        }
    }
    uint8_t buf[BLOCK_HDR + REC_READ];
    size_t n = BLOCK_HDR + IG_OTEL_REC_ATTRS + 2 + 64; /* an ignis record */
    if (peek(c->pid, block, buf, n) < 0 || rd32(buf) != (uint32_t)tid) {
        ig_u64map_put(&c->blocks, (uint64_t)tid, 0); /* stale: walk again next time */
        return -1;
    }
    int rc = ig_spanctx_decode_record(buf + BLOCK_HDR, n - BLOCK_HDR, c->name_key, out);
    out->seq = rd32(buf + 4);
    return rc;
}

/* ---- the spec's route: the TLS variable ------------------------------------------------ */

/* A module of the target, as mapped. */
typedef struct module {
    char path[4096];
    uint64_t base; /* address of file offset 0 */
} module;

/* The module defining the TLS symbol: its st_value, the relocation that
 * resolves it, and its PT_TLS for local-exec. */
typedef struct tls_def {
    bool found;
    uint64_t value;
    int rtype; /* R_X86_64_TLSDESC, R_X86_64_TPOFF64, or 0 (none: local-exec) */
    uint64_t roff;
    uint64_t vaddr0; /* p_vaddr of the PT_LOAD at file offset 0 */
    uint64_t tls_memsz, tls_align;
    bool exec;
} tls_def;

#ifndef R_X86_64_TLSDESC
#define R_X86_64_TLSDESC 36
#endif

static bool find_tls_symbol(Elf *e, tls_def *d)
{
    Elf_Scn *scn = NULL;
    size_t symidx = 0;
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = data ? data->d_size / sh.sh_entsize : 0;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym sym;
            const char *name;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_TLS ||
                sym.st_shndx == SHN_UNDEF || !(name = elf_strptr(e, sh.sh_link, sym.st_name)) ||
                strcmp(name, TLS_SYMBOL))
                continue;
            d->found = true;
            d->value = sym.st_value;
            symidx = i;
        }
        break;
    }
    if (!d->found)
        return false;
    scn = NULL;
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = data ? data->d_size / sh.sh_entsize : 0;
        for (size_t i = 0; i < n; i++) {
            GElf_Rela r;
            if (!gelf_getrela(data, (int)i, &r) || GELF_R_SYM(r.r_info) != symidx)
                continue;
            int t = (int)GELF_R_TYPE(r.r_info);
            if (t == R_X86_64_TLSDESC || (t == R_X86_64_TPOFF64 && d->rtype != R_X86_64_TLSDESC)) {
                d->rtype = t;
                d->roff = r.r_offset;
            }
        }
    }
    return true;
}

static void program_headers(Elf *e, tls_def *d)
{
    size_t n = 0;
    GElf_Ehdr eh;
    if (gelf_getehdr(e, &eh))
        d->exec = eh.e_type == ET_EXEC;
    elf_getphdrnum(e, &n);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph))
            continue;
        if (ph.p_type == PT_LOAD && ph.p_offset == 0)
            d->vaddr0 = ph.p_vaddr;
        if (ph.p_type == PT_TLS) {
            d->tls_memsz = ph.p_memsz;
            d->tls_align = ph.p_align ? ph.p_align : 1;
        }
        if (ph.p_type == PT_INTERP)
            d->exec = true; /* a PIE executable */
    }
}

static bool module_tls(pid_t pid, const module *m, tls_def *d)
{
    char path[4200];
    snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, m->path);
    /* the target's mount namespace may have a FIFO at that path: never
     * wait for a writer, read regular files only */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        return false;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    bool ok = e && elf_kind(e) == ELF_K_ELF && find_tls_symbol(e, d);
    if (ok)
        program_headers(e, d);
    if (e)
        elf_end(e);
    close(fd);
    return ok;
}

/* The first module mapped in pid that defines the TLS symbol, into m and
 * d; false (errno set if /proc/PID/maps could not be read) if none. */
static bool find_tls_module(pid_t pid, module *m, tls_def *d)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[4600];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &off, &name_at) < 3 || !name_at || off)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        if (name[0] != '/' || strlen(name) >= sizeof m->path)
            continue;
        snprintf(m->path, sizeof m->path, "%s", name);
        m->base = lo;
        memset(d, 0, sizeof *d);
        found = module_tls(pid, m, d);
    }
    fclose(f);
    errno = 0;
    return found;
}

bool ig_spanctx_defines_tls(pid_t pid)
{
    module m;
    tls_def d;
    return find_tls_module(pid, &m, &d);
}

/* The TP offset of the TLS symbol in process pid. */
static int resolve_tls_of(pid_t pid, int64_t *offset, ig_err *err)
{
#ifndef __x86_64__
    return ig_err_set(err, "reading " TLS_SYMBOL " by thread pointer is implemented for x86-64 only");
#endif
    module m;
    tls_def d;
    if (!find_tls_module(pid, &m, &d)) {
        if (errno)
            return ig_err_set(err, "/proc/%d/maps: %s", (int)pid, strerror(errno));
        return ig_err_set(err, "process %d: no module defines the TLS symbol " TLS_SYMBOL, (int)pid);
    }
    uint64_t bias = m.base - d.vaddr0;
    if (d.rtype == R_X86_64_TLSDESC) { /* {resolver, argument}: static TLS gives a TP offset */
        uint8_t desc[16];
        if (peek(pid, bias + d.roff + 8, desc, 8) < 0)
            return ig_err_set(err, "%s: cannot read the TLS descriptor of " TLS_SYMBOL, m.path);
        int64_t off = (int64_t)rd64(desc);
        if (off >= 0 || off < -(int64_t)(1u << 30))
            return ig_err_set(err, "%s: " TLS_SYMBOL " is in dynamic TLS (a dlopen'ed library)", m.path);
        *offset = off;
    } else if (d.rtype == R_X86_64_TPOFF64) { /* initial-exec: the GOT slot holds the offset */
        uint8_t slot[8];
        if (peek(pid, bias + d.roff, slot, 8) < 0)
            return ig_err_set(err, "%s: cannot read the GOT slot of " TLS_SYMBOL, m.path);
        int64_t off = (int64_t)rd64(slot);
        if (off >= 0) /* static TLS is below TP: a slot the loader has not relocated yet */
            return ig_err_set(err, "%s: the GOT slot of " TLS_SYMBOL " is not relocated", m.path);
        *offset = off;
    } else if (d.exec && d.tls_memsz) { /* local-exec: the executable's block ends at TP */
        uint64_t a = d.tls_align, size = (d.tls_memsz + a - 1) / a * a;
        *offset = (int64_t)d.value - (int64_t)size;
    } else {
        return ig_err_set(err, "%s: unsupported TLS access model for " TLS_SYMBOL, m.path);
    }
    return 0;
}

static int resolve_tls(ig_spanctx *c, ig_err *err)
{
    if (resolve_tls_of(c->pid, &c->tls_offset, err) < 0)
        return -1;
    c->tls_known = true;
    return 0;
}

int ig_spanctx_tls_offset_of(pid_t pid, int64_t *offset, ig_err *err) { return resolve_tls_of(pid, offset, err); }

int ig_spanctx_tls_offset(ig_spanctx *c, int64_t *offset, ig_err *err)
{
    if (!c)
        return ig_err_set(err, "no process context");
    if (!c->tls_known && resolve_tls(c, err) < 0)
        return -1;
    *offset = c->tls_offset;
    return 0;
}

int ig_spanctx_read_tp(ig_spanctx *c, uint64_t tp, ig_spanlabel *out)
{
    memset(out, 0, sizeof *out);
    int64_t off;
    if (!c || ig_spanctx_tls_offset(c, &off, NULL) < 0)
        return -1;
    uint8_t slot[8], buf[REC_READ];
    if (peek(c->pid, tp + (uint64_t)off, slot, sizeof slot) < 0)
        return -1;
    uint64_t rec = rd64(slot);
    if (!rec)
        return 0; /* no record attached */
    if (rec & 1)
        return -1; /* the spec: records are 2-byte aligned */
    if (peek(c->pid, rec, buf, IG_OTEL_REC_ATTRS) < 0)
        return -1;
    uint16_t size;
    memcpy(&size, buf + IG_OTEL_REC_ATTRS_SIZE, 2);
    size_t n = IG_OTEL_REC_ATTRS + (size < REC_READ - IG_OTEL_REC_ATTRS ? size : REC_READ - IG_OTEL_REC_ATTRS);
    if (buf[IG_OTEL_REC_VALID] == 1 && n > IG_OTEL_REC_ATTRS &&
        peek(c->pid, rec + IG_OTEL_REC_ATTRS, buf + IG_OTEL_REC_ATTRS, n - IG_OTEL_REC_ATTRS) < 0)
        n = IG_OTEL_REC_ATTRS; /* the attributes are gone: ids only */
    return ig_spanctx_decode_record(buf, n, c->name_key, out);
}
