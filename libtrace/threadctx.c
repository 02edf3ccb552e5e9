/*
 * libtrace/threadctx.c — the current span of each thread, published for
 * profilers outside the process (OTEP 4947 "Thread Context").
 *
 * The spec: a thread-local pointer `otel_thread_ctx_v1`, exported in the
 * dynamic symbol table, points at the thread's Thread-Local Context Record
 * (trace id, span id, valid, trace flags, attrs-data-size, attrs-data).  A
 * reader (the OpenTelemetry eBPF profiler, Parca, ignis record) finds the
 * variable's thread-pointer offset from the ELF relocations of the module
 * that defines it, then reads pointer and record of a stopped thread.
 *
 * Our choices, all allowed by the spec:
 *   - one record per thread cache, never freed (caches are adopted by new
 *     threads, so memory follows the peak number of threads); the pointer
 *     is set once per thread and `valid` toggles around each update, so an
 *     update is a few plain stores (ig_tctx_publish in internal.h), done on
 *     every scope push and pop (context.c) — never in span start or end;
 *   - the pointer uses the TLSDESC dialect (libtrace/build.mk compiles this
 *     file with -mtls-dialect=gnu2), the one the spec recommends; it is
 *     written only here, once per thread, so its access cost is irrelevant;
 *   - one attribute, key index 0 = "span_name" (threadlocal.attribute_key_map
 *     in the process context), the span's name cut to IG_TCTX_NAME_MAX bytes
 *     at a UTF-8 boundary, for recording spans (unsampled spans keep no name).
 *
 * The ignis extension: a reader that cannot get a thread's thread pointer
 * (process_vm_readv from another process: perf samples do not carry
 * fs_base) finds records through the thread directory, a list of chunks of
 * record addresses whose head address the process context publishes as
 * `ignis.threadlocal.directory`.  Entries are only appended (records are
 * never freed), so a reader can walk it without locks; each record is
 * preceded by its owner's thread id (0 once the thread exits) and an update
 * count, which a reader checks on every read.
 *
 * Thread names for the thread.name span attribute are interned (a bounded
 * table, strings never freed) so that a span can point at its thread's
 * name even after the thread is gone.
 */
#include "libtrace/internal.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The OTEP 4947 thread-local; exported (the reader looks it up in .dynsym). */
__attribute__((visibility("default"), used)) __thread ig_otel_record *otel_thread_ctx_v1;

_Atomic int ig_tctx_enabled;

/* ---- the thread directory (read by ignis readers) ------------------------ */

#define IG_TCTX_DIR_CAP 61
typedef struct ig_tctx_dir {
    char magic[8];             /* "IGTCDIR1" */
    uint32_t count;            /* entries written (release: entry first) */
    uint32_t cap;              /* IG_TCTX_DIR_CAP */
    uint64_t next;             /* address of the next chunk, 0 = none */
    uint64_t blocks[IG_TCTX_DIR_CAP]; /* addresses of ig_tctx_block */
} ig_tctx_dir;
_Static_assert(sizeof(ig_tctx_dir) == 512, "directory chunk is 512 bytes");

static ig_tctx_dir g_dir_head = {.magic = "IGTCDIR1", .cap = IG_TCTX_DIR_CAP};
static ig_tctx_dir *g_dir_tail = &g_dir_head; /* under the registry lock */

uint64_t ig_tctx_directory_address(void) { return (uint64_t)(uintptr_t)&g_dir_head; }

/* Appends a record's address (registry lock held). */
static void dir_append(ig_tctx_block *b)
{
    ig_tctx_dir *d = g_dir_tail;
    if (d->count == d->cap) {
        ig_tctx_dir *n = ig_xcalloc(1, sizeof *n);
        memcpy(n->magic, "IGTCDIR1", 8);
        n->cap = IG_TCTX_DIR_CAP;
        __atomic_store_n(&d->next, (uint64_t)(uintptr_t)n, __ATOMIC_RELEASE);
        g_dir_tail = d = n;
    }
    d->blocks[d->count] = (uint64_t)(uintptr_t)b;
    __atomic_store_n(&d->count, d->count + 1, __ATOMIC_RELEASE);
}

/* ---- thread identity ------------------------------------------------------- */

#define IG_MAX_THREAD_NAMES 1024
static const char *g_names[IG_MAX_THREAD_NAMES]; /* under the registry lock */
static size_t g_nnames;

static const char *intern_name(const char *name)
{
    for (size_t i = 0; i < g_nnames; i++)
        if (!strcmp(g_names[i], name))
            return g_names[i];
    if (g_nnames == IG_MAX_THREAD_NAMES)
        return NULL; /* a process naming every thread apart: no thread.name */
    return g_names[g_nnames++] = ig_xstrdup(name);
}

/* span.c's key-mask bit (kept in step with key_bit there). */
static uint64_t key_bit(const char *key, size_t kl)
{
    return 1ull << ((kl * 7 + (unsigned char)key[kl - 1] + (unsigned char)key[0]) & 63);
}

void ig_tcache_identify(ig_tcache *tc)
{
    char name[17] = {0};
    tc->tid = (int64_t)gettid();
    tc->thread_name = prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && name[0] ? intern_name(name) : NULL;
    tc->thread_name_len = tc->thread_name ? (uint32_t)strlen(tc->thread_name) : 0;
    /* The span attributes, ready to copy (semantic conventions: thread.id
     * is the OS thread id here, the one perf samples carry). */
    tc->thread_attrs[0] = (ig_attr){.key = "thread.id", .type = IG_ATTR_INT, .key_len = 9, .v.i = tc->tid};
    tc->thread_keymask = key_bit("thread.id", 9);
    tc->nthread_attrs = 1;
    if (tc->thread_name) {
        tc->thread_attrs[1] = (ig_attr){.key = "thread.name", .type = IG_ATTR_STRING, .key_len = 11,
                                        .len = tc->thread_name_len, .v.s = tc->thread_name};
        tc->thread_keymask |= key_bit("thread.name", 11);
        tc->nthread_attrs = 2;
    }
    if (tc->tctx)
        tc->tctx->tid = (uint32_t)tc->tid;
}

/* ---- records ---------------------------------------------------------------- */

void ig_tctx_enable(void) { atomic_store_explicit(&ig_tctx_enabled, 1, memory_order_relaxed); }

void ig_tctx_attach(ig_tcache *tc)
{
    if (!tc->tctx) {
        ig_tctx_block *b = aligned_alloc(64, (sizeof *b + 63) & ~(size_t)63);
        if (!b)
            return; /* not published: nothing else changes */
        memset(b, 0, sizeof *b);
        ig_tcache_lock();
        b->tid = (uint32_t)tc->tid;
        dir_append(b);
        tc->tctx = b;
        ig_tcache_unlock();
    }
    otel_thread_ctx_v1 = &tc->tctx->rec;
    ig_tctx_publish(tc->tctx, tc);
}

void ig_tctx_detach(ig_tcache *tc)
{
    if (!tc->tctx)
        return;
    ig_tctx_begin(tc->tctx);
    tc->tctx->tid = 0;
}
