/*
 * libtrace/tcache.c — the per-thread cache behind every span.
 *
 * Each thread that starts spans owns an ig_tcache: a wyrand id
 * generator seeded from getrandom(), a stack of pointers to free span
 * blocks, a counter stripe of its own, and the thread's current-span
 * stack.  Allocation pops the local stack; when it is empty the thread
 * takes the whole remote list in one atomic exchange and only then calls
 * malloc.  The export thread returns blocks in "return nodes": the first
 * block of a group lists up to ~95 others in its arena and is pushed with
 * one CAS, so returning a block does not write to it — a block's cache
 * lines move between the two threads as little as possible.  A push-only /
 * take-all list has no ABA problem, so no locks are needed on the hot path.
 *
 * When a thread exits its cache becomes an orphan (blocks still in flight
 * keep returning to it) and the next new thread adopts it, so memory stays
 * bounded by the peak number of live threads; the adopter also inherits
 * the dead thread's span queues (its ring slots, see batch.c).  The
 * registry mutex is taken only on thread start/exit, when a thread first
 * ends a span for a processor, when a processor is freed, and around
 * fork().
 *
 * A cache also carries its thread's identity (thread.id, thread.name for
 * span attributes) and, when thread context publishing is on, the record
 * the thread's otel_thread_ctx_v1 points at (threadctx.c): adopting a
 * cache re-points the adopter's TLS at it and renames its owner.
 */
#include "libtrace/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

__thread ig_tcache *ig_tls_cache __attribute__((tls_model("initial-exec")));

static pthread_mutex_t g_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ig_tcache *g_caches;
static _Atomic unsigned g_next_stripe; /* written under g_reg_mu, read by counter sums */
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void tcache_thread_exit(void *arg)
{
    ig_tcache *tc = arg;
    ig_tcache_stack_clear(tc);
    free(tc->scopes);
    tc->scopes = NULL;
    tc->cap = 0;
    ig_tls_cache = NULL;
    pthread_mutex_lock(&g_reg_mu);
    ig_tctx_detach(tc);
    tc->orphan = true;
    pthread_mutex_unlock(&g_reg_mu);
}

static void make_key(void) { pthread_key_create(&g_key, tcache_thread_exit); }

void ig_tcache_reseed(ig_tcache *tc)
{
    uint64_t seed[4] = {0};
    size_t got = 0;
    while (got < sizeof seed) {
        ssize_t r = getrandom((char *)seed + got, sizeof seed - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < sizeof seed) { /* no getrandom: mix time, pid, address */
        uint64_t x = ig_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)tc;
        for (int i = 0; i < 4; i++) {
            x += 0x9e3779b97f4a7c15ull;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            seed[i] ^= z ^ (z >> 31);
        }
    }
    if (!(seed[0] | seed[1] | seed[2] | seed[3]))
        seed[0] = 1;
    memcpy(tc->rng, seed, sizeof seed);
}

ig_tcache *ig_tcache_slow(void)
{
    pthread_once(&g_key_once, make_key);
    pthread_mutex_lock(&g_reg_mu);
    ig_tcache *tc = NULL;
    for (ig_tcache *c = g_caches; c; c = c->next)
        if (c->orphan) {
            tc = c;
            break;
        }
    if (tc) {
        tc->orphan = false;
        tc->depth = 0; /* a fork orphan may hold a dead thread's stack */
        tc->parked = NULL;
    } else {
        tc = calloc(1, sizeof *tc);
        if (!tc)
            abort();
        tc->stripe = atomic_fetch_add_explicit(&g_next_stripe, 1, memory_order_relaxed);
        tc->owns_stripe = tc->stripe < IG_NSTRIPES;
        if (!tc->owns_stripe)
            tc->stripe = IG_NSTRIPES - 1; /* shared: atomic adds */
        tc->next = g_caches;
        g_caches = tc;
    }
    ig_tcache_identify(tc);
    pthread_mutex_unlock(&g_reg_mu);
    if (!tc->owns_stripe)
        ig_tlog(IGNIS_LOG_DEBUG, "more than %d threads: counters use atomic adds", IG_NSTRIPES);
    ig_tcache_reseed(tc);
    ig_tls_cache = tc;
    pthread_setspecific(g_key, tc);
    if (tc->tctx || atomic_load_explicit(&ig_tctx_enabled, memory_order_relaxed))
        ig_tctx_attach(tc); /* this thread's otel_thread_ctx_v1 -> the cache's record */
    return tc;
}

void ig_tcache_stack_grow(ig_tcache *tc)
{
    uint32_t cap = tc->capstack ? tc->capstack * 2 : 256;
    ignis_span **st = realloc(tc->stack, cap * sizeof *st);
    if (!st)
        abort();
    tc->stack = st;
    tc->capstack = cap;
}

/* Takes every return node pushed by other threads into the local stack. */
static void take_returns(ig_tcache *tc)
{
    ignis_span *node = atomic_exchange_explicit(&tc->remote_free, NULL, memory_order_acquire);
    while (node) {
        ignis_span *next = node->next_free;
        ig_ret_node *r = (ig_ret_node *)node->arena;
        for (uint32_t i = 0; i < r->n; i++)
            ig_span_block_push_local(tc, r->p[i]);
        ig_span_block_push_local(tc, node);
        node = next;
    }
}

ignis_span *ig_span_block_alloc_slow(ig_tcache *tc)
{
    take_returns(tc);
    if (tc->nstack)
        return tc->stack[--tc->nstack];
    ignis_span *s = aligned_alloc(64, IG_SPAN_BLOCK);
    if (!s)
        return NULL;
    s->home = tc;
    return s;
}

void ig_span_block_return(ignis_span *node)
{
    ig_tcache *home = node->home;
    ignis_span *old = atomic_load_explicit(&home->remote_free, memory_order_relaxed);
    do {
        node->next_free = old;
    } while (!atomic_compare_exchange_weak_explicit(&home->remote_free, &old, node, memory_order_release,
                                                    memory_order_relaxed));
}

void ig_span_block_free(ignis_span *s)
{
    if (s->home == ig_tls_cache) {
        ig_span_block_push_local(s->home, s);
        return;
    }
    ((ig_ret_node *)s->arena)->n = 0; /* a node listing only itself */
    ig_span_block_return(s);
}

unsigned ig_tcache_stripes_used(void)
{
    unsigned n = atomic_load_explicit(&g_next_stripe, memory_order_relaxed);
    return n < IG_NSTRIPES ? n : IG_NSTRIPES;
}

void ig_tcache_lock(void) { pthread_mutex_lock(&g_reg_mu); }
void ig_tcache_unlock(void) { pthread_mutex_unlock(&g_reg_mu); }

void ig_tcache_forget_ring(uint64_t proc)
{
    for (ig_tcache *c = g_caches; c; c = c->next)
        for (int i = 0; i < IG_RING_SLOTS; i++)
            if (atomic_load_explicit(&c->rings[i].proc, memory_order_relaxed) == proc) {
                atomic_store_explicit(&c->rings[i].ring, NULL, memory_order_relaxed);
                atomic_store_explicit(&c->rings[i].proc, 0, memory_order_relaxed);
            }
}

void ig_tcache_atfork_prepare(void) { pthread_mutex_lock(&g_reg_mu); }
void ig_tcache_atfork_parent(void) { pthread_mutex_unlock(&g_reg_mu); }

uint16_t ig_fork_gen;

void ig_tcache_atfork_child(void)
{
    ig_fork_gen++;
    pthread_mutex_init(&g_reg_mu, NULL);
    /* The other threads are gone: their caches become adoptable. */
    for (ig_tcache *c = g_caches; c; c = c->next)
        if (c != ig_tls_cache) {
            c->orphan = true;
            ig_tctx_detach(c);
        }
    if (ig_tls_cache) {
        ig_tcache_reseed(ig_tls_cache);
        ig_tcache_identify(ig_tls_cache); /* the child's thread id */
    }
}
