/*
 * libtrace/procctx.c — the process context for out-of-process readers
 * (OTEP 4719 "Process Context", format version 2).
 *
 * A 32-byte header in a mapping of its own, which readers find in
 * /proc/PID/maps by name:
 *
 *   offset 0  char[8]  signature "OTEL_CTX" (written last)
 *          8  uint32   version 2
 *         12  uint32   payload_size
 *         16  uint64   published_at_ns (CLOCK_REALTIME; 0 while updating)
 *         24  uint64   payload address (a protobuf Resource, in our heap)
 *
 * The mapping comes from memfd_create("OTEL_CTX") (maps shows
 * "/memfd:OTEL_CTX (deleted)"), or, where memfd is refused, an anonymous
 * mapping named with PR_SET_VMA_ANON_NAME ("[anon:OTEL_CTX]"), as the
 * reference implementation does.  MADV_DONTFORK keeps it out of children
 * (which publish their own: see provider.c's fork handler).  An update
 * follows the spec's protocol: published_at_ns = 0, a fence, the new
 * payload fields, a fence, the new timestamp; the reader re-reads the
 * header after the payload and retries when the timestamp changed.
 *
 * The payload is the provider's resource plus the OTEP 4947 thread-local
 * reference data: threadlocal.schema_version "tlsdesc_v1_dev" (the value
 * the draft asks for until it is final), threadlocal.attribute_key_map
 * ["span_name"], and our own ignis.threadlocal.directory (the address of
 * the thread directory, threadctx.c).  Encoded with protobuf-c.
 */
#include "libtrace/internal.h"
#include "opentelemetry/proto/resource/v1/resource.pb-c.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

typedef Opentelemetry__Proto__Common__V1__AnyValue PbAny;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKV;
typedef Opentelemetry__Proto__Common__V1__ArrayValue PbArray;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;

typedef struct ig_procctx_header {
    uint64_t signature; /* the bytes "OTEL_CTX" */
    uint32_t version;
    uint32_t payload_size;
    uint64_t published_at_ns;
    uint64_t payload;
} ig_procctx_header;
_Static_assert(sizeof(ig_procctx_header) == 32, "OTEP 4719 header is 32 bytes");

static ig_procctx_header *g_map; /* under the provider registry lock */
static size_t g_map_len;
static uint8_t *g_payload;

/* ---- payload ----------------------------------------------------------------- */

/* Values live in a small arena of malloc'd nodes freed after packing. */
typedef struct pb_pool {
    void **p;
    size_t n, cap;
} pb_pool;

static void *pool_new(pb_pool *pool, size_t size)
{
    if (pool->n == pool->cap) {
        pool->cap = pool->cap ? pool->cap * 2 : 64;
        pool->p = ig_xrealloc(pool->p, pool->cap * sizeof *pool->p);
    }
    return pool->p[pool->n++] = ig_xcalloc(1, size);
}

static PbAny *any_new(pb_pool *pool)
{
    PbAny *v = pool_new(pool, sizeof *v);
    opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

static PbAny *any_string(pb_pool *pool, const char *s)
{
    PbAny *v = any_new(pool);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
    return v;
}

static PbAny *any_array(pb_pool *pool, size_t n)
{
    PbArray *a = pool_new(pool, sizeof *a);
    opentelemetry__proto__common__v1__array_value__init(a);
    a->values = pool_new(pool, (n ? n : 1) * sizeof *a->values);
    a->n_values = n;
    PbAny *v = any_new(pool);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = a;
    return v;
}

static PbAny *any_of(pb_pool *pool, const ig_attr *at)
{
    PbAny *v;
    switch (at->type) {
    case IG_ATTR_STRING: return any_string(pool, at->v.s);
    case IG_ATTR_BOOL:
        v = any_new(pool);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = at->v.b;
        return v;
    case IG_ATTR_INT:
        v = any_new(pool);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = at->v.i;
        return v;
    case IG_ATTR_DOUBLE:
        v = any_new(pool);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        v->double_value = at->v.d;
        return v;
    default: break;
    }
    v = any_array(pool, at->len);
    for (uint32_t i = 0; i < at->len; i++) {
        ig_attr e = {.type = (uint8_t)(at->type - IG_ATTR_STRING_ARRAY)};
        if (at->type == IG_ATTR_STRING_ARRAY)
            e.v.s = at->v.sa[i];
        else if (at->type == IG_ATTR_BOOL_ARRAY)
            e.v.b = at->v.ba[i];
        else if (at->type == IG_ATTR_INT_ARRAY)
            e.v.i = at->v.ia[i];
        else
            e.v.d = at->v.da[i];
        v->array_value->values[i] = any_of(pool, &e);
    }
    return v;
}

static PbKV *kv_new(pb_pool *pool, const char *key, PbAny *value)
{
    PbKV *kv = pool_new(pool, sizeof *kv);
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = value;
    return kv;
}

/* The Resource message: res plus the thread-local reference data. */
static uint8_t *encode_payload(const ig_attr_set *res, uint32_t *size)
{
    pb_pool pool = {0};
    PbResource r;
    opentelemetry__proto__resource__v1__resource__init(&r);
    PbKV **kvs = pool_new(&pool, (res->n + 3) * sizeof *kvs);
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++)
        kvs[n++] = kv_new(&pool, res->attrs[i].key, any_of(&pool, &res->attrs[i]));
    kvs[n++] = kv_new(&pool, "threadlocal.schema_version", any_string(&pool, "tlsdesc_v1_dev"));
    PbAny *keys = any_array(&pool, 1);
    keys->array_value->values[0] = any_string(&pool, "span_name");
    kvs[n++] = kv_new(&pool, "threadlocal.attribute_key_map", keys);
    PbAny *dir = any_new(&pool);
    dir->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    dir->int_value = (int64_t)ig_tctx_directory_address();
    kvs[n++] = kv_new(&pool, "ignis.threadlocal.directory", dir);
    r.attributes = kvs;
    r.n_attributes = n;
    size_t len = opentelemetry__proto__resource__v1__resource__get_packed_size(&r);
    uint8_t *out = len <= UINT32_MAX ? malloc(len ? len : 1) : NULL;
    if (out)
        opentelemetry__proto__resource__v1__resource__pack(&r, out);
    *size = (uint32_t)len;
    for (size_t i = 0; i < pool.n; i++)
        free(pool.p[i]);
    free(pool.p);
    return out;
}

/* ---- mapping ------------------------------------------------------------------ */

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return ns ? ns : 1; /* 0 means "being updated" */
}

static void name_mapping(void)
{
    /* Fails for the memfd mapping (not anonymous) and on kernels without
     * CONFIG_ANON_VMA_NAME; done anyway, as the spec asks: a reader may
     * hook prctl to learn of new contexts. */
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)g_map, g_map_len, "OTEL_CTX");
}

static ig_procctx_header *map_header(size_t len)
{
    void *m = MAP_FAILED;
    int fd = memfd_create("OTEL_CTX", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (fd < 0)
        fd = memfd_create("OTEL_CTX", MFD_CLOEXEC | MFD_ALLOW_SEALING); /* kernels before 6.3 */
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)len) == 0)
            m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        close(fd);
    }
    if (m == MAP_FAILED)
        m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (madvise(m, len, MADV_DONTFORK) != 0) {
        munmap(m, len);
        return NULL;
    }
    return m;
}

int ig_procctx_publish(const ig_attr_set *res)
{
    uint32_t size;
    uint8_t *payload = encode_payload(res, &size);
    if (!payload) {
        ig_tlog(IGNIS_LOG_WARN, "process context: cannot encode the resource; not published");
        return -1;
    }
    uint64_t now = realtime_ns();
    if (g_map) { /* the updating protocol; a full barrier after the 0, release before the new time */
        (void)__atomic_exchange_n(&g_map->published_at_ns, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&g_map->payload_size, size, __ATOMIC_RELAXED);
        __atomic_store_n(&g_map->payload, (uint64_t)(uintptr_t)payload, __ATOMIC_RELAXED);
        __atomic_store_n(&g_map->published_at_ns, now, __ATOMIC_RELEASE);
        name_mapping();
        free(g_payload);
        g_payload = payload;
        return 0;
    }
    long page = sysconf(_SC_PAGESIZE);
    g_map_len = page > 0 ? (size_t)page : 4096;
    g_map = map_header(g_map_len);
    if (!g_map) {
        free(payload);
        ig_tlog(IGNIS_LOG_WARN, "process context: cannot create the OTEL_CTX mapping; not published");
        return -1;
    }
    g_payload = payload;
    g_map->version = 2;
    g_map->payload_size = size;
    g_map->published_at_ns = now;
    g_map->payload = (uint64_t)(uintptr_t)payload;
    uint64_t sig;
    memcpy(&sig, "OTEL_CTX", 8);
    __atomic_store_n(&g_map->signature, sig, __ATOMIC_SEQ_CST); /* last: the header is complete */
    name_mapping();
    ig_tlog(IGNIS_LOG_DEBUG, "process context: published %u payload bytes", size);
    return 0;
}

void ig_procctx_drop(void)
{
    if (g_map)
        munmap(g_map, g_map_len);
    g_map = NULL;
    free(g_payload);
    g_payload = NULL;
}

void ig_procctx_forget(void)
{
    g_map = NULL; /* not mapped in a fork child */
    free(g_payload);
    g_payload = NULL;
}
