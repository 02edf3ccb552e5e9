/*
 * profiler/alloc/shim.c — libignis-alloc.so, the LD_PRELOAD heap sampler.
 *
 * Design.  The shim defines malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc.  Each calls
 * the real function (found with dlsym(RTLD_NEXT) on first use) and then
 * charges the size to a per-thread byte countdown (sampler.h).  Almost
 * every call ends there: one thread-local subtraction and a branch.  When
 * the countdown runs out the allocation is sampled: its stack is captured
 * with libunwind's local unw_backtrace and it is entered in the heap table
 * (heaptab.h), which free() consults through a lock-free filter.
 *
 * Safety rules, in the order they bite:
 *   - Early use.  dlsym itself may allocate; while the real functions are
 *     being resolved, requests are served from a static bootstrap buffer
 *     (never freed; free() and realloc() recognise its addresses).
 *   - Re-entry.  A thread-local guard is set while we initialise, write a
 *     profile or run the unwinder for the first time in a thread (when
 *     libunwind allocates for itself); allocations made meanwhile go
 *     straight to the real allocator unsampled.  While a sample is taken
 *     the thread is "busy" instead (next rule).  Thread-locals use the
 *     initial-exec TLS model, so touching them never allocates.
 *   - libunwind is dlopen'ed RTLD_LOCAL: its _Unwind_* and backtrace
 *     exports must not interpose the target's C++ exception machinery.
 *   - Threads.  Counters are per thread; the tables are lock-striped.
 *   - Signal handlers that allocate.  A handler that allocates or frees
 *     while its thread is inside the sampler (unwinding, or holding a
 *     table lock) has its operations queued and applied when the thread
 *     leaves the sampler: counted, never waiting on its own thread, no
 *     system call on the way (see "re-entry" for when its stack is left
 *     out).
 *   - fork.  A child starts with empty tables of its own (the parent's
 *     allocations stay the parent's: counted once, not once per process)
 *     and a new wake-up pipe and dumper thread.  Built with system calls
 *     only, in the atfork child handler.  A raw clone() that skips the
 *     atfork handlers is not supported.
 *   - Double free, realloc(p, 0), realloc(NULL, n), calloc overflow: we
 *     only ever look up the pointer (absent the second time) and pass the
 *     call on unchanged, so the target sees libc's own behaviour.
 *
 * Delivery.  Under `ignis record --alloc` (IGNIS_ALLOC_TABLE_DIR set) the
 * records live in a file of the process's own (heapfile.h) that ignis
 * reads after the process ended, whichever way it ended (exit, _exit, a
 * signal, exec): nothing is written at exit.  If that file cannot be
 * created, and when the shim is preloaded on its own, a profile is
 * written (guarded, signals blocked, taking no table lock) at exit, on
 * IGNIS_ALLOC_SIGNAL, every IGNIS_ALLOC_INTERVAL seconds, or on request
 * through the API.  The signal handler only writes a byte into a
 * pipe; a dumper thread (started only when a signal or an interval is
 * configured) does the work, so no profile is ever written inside a
 * signal handler or a malloc hook.  Profiles carry raw addresses, the
 * process's mappings with build-ids and dladdr names; `ignis record`
 * re-symbolizes them with file and line.
 *
 * Environment: IGNIS_ALLOC_SAMPLE_BYTES (mean sampling interval, default
 * 524288; 1 = every allocation), IGNIS_ALLOC_OUTPUT (default
 * ignis-heap.%p.pb.gz, %p = pid), IGNIS_ALLOC_SIGNAL (USR1, USR2 or a
 * number), IGNIS_ALLOC_INTERVAL (seconds), IGNIS_ALLOC_START=0 (load
 * inactive; start through ignis_alloc_start()), IGNIS_ALLOC_TABLE_DIR
 * (set by `ignis record`: keep the records in a file there).
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "exporters/formats.h"
#include "opentelemetry/ignis/text.pb-c.h"
#include "profiler/alloc/heapfile.h"
#include "profiler/alloc/heapprof.h"
#include "profiler/alloc/heaptab.h"
#include "profiler/alloc/sampler.h"
#include "utils/fileio.h"
#include "utils/hash.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define SKIP_FRAMES_MAX 8
#define MAX_RECORDS (1u << 16)
#define LIVE_PER_STRIPE (1u << 13)

/* ---- the real allocator and the bootstrap buffer ------------------------- */

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static _Alignas(64) char boot_buf[1 << 18];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t need = size + 16;
    for (;;) {
        size_t old = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
        size_t at = (old + 16 + align - 1) & ~(align - 1);
        if (at + size > sizeof boot_buf || need > sizeof boot_buf)
            return NULL;
        if (__atomic_compare_exchange_n(&boot_used, &old, at + size, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            memcpy(boot_buf + at - sizeof(size_t), &size, sizeof size);
            return boot_buf + at;
        }
    }
}

static inline int is_boot(const void *p)
{
    return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof boot_buf;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - sizeof n, sizeof n);
    return n;
}

static void resolve_real(void)
{
    if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQ_REL))
        return; /* another thread (or dlsym itself) is resolving: use boot_buf */
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    real_valloc = dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    __atomic_store_n(&real_malloc, (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc"), __ATOMIC_RELEASE);
    if (!real_malloc || !real_free || !real_calloc || !real_realloc) {
        static const char msg[] = "ignis-alloc: cannot find the real malloc (dlsym RTLD_NEXT); aborting\n";
        if (write(2, msg, sizeof msg - 1) < 0)
            _exit(127);
        _exit(127);
    }
}

static inline int ready(void)
{
    if (__builtin_expect(__atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) != NULL, 1))
        return 1;
    resolve_real();
    return __atomic_load_n(&real_malloc, __ATOMIC_ACQUIRE) != NULL;
}

/* ---- sampler state -------------------------------------------------------- */

static TLS ig_sampler tls_sampler;
static TLS int tls_guard;
static TLS unsigned tls_gen;   /* g_gen when this thread drew its countdown */
static unsigned g_gen = 1;     /* bumped when the interval changes */

static ig_heaptab *g_tab;
static ig_heapfile *g_file;     /* g_tab's records under ignis record, else NULL */
static char g_table_dir[2048];  /* IGNIS_ALLOC_TABLE_DIR */
static int64_t g_interval = IG_ALLOC_DEFAULT_INTERVAL;
static int g_active;
static uint64_t g_self_lo, g_self_hi; /* our own text: frames skipped */
static int (*unw_backtrace_fn)(void **, int);
static uint64_t g_samples;

/* Blocks every signal of the calling thread (dumps, and the rare drain). */
static inline void block_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static inline void restore_signals(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- re-entry from signal handlers -----------------------------------------
 *
 * A thread is "busy" while it unwinds or works in the tables.  A signal
 * handler that allocates or frees on that thread meanwhile must not wait
 * for a lock its own thread holds: its operations go to the thread's
 * queue and the thread applies them in order when it leaves.  Its stack is
 * taken at once with unw_backtrace — unless the thread was inside the
 * dynamic loader's lists (unw_backtrace, or logging modules, both run
 * dl_iterate_phdr, whose lock is not async-signal-safe: a handler that
 * interrupts taking it and takes it again waits forever).  Then the
 * allocation is counted under the synthetic frame IG_HEAP_IP_SIGNAL.
 * Slots are reserved with a compare-and-swap (handlers may nest); the
 * queue is only compacted with signals blocked, which happens only after
 * a handler queued something.  No system call on the common paths. */

enum { OP_ADD, OP_REMOVE };

typedef struct queued_op {
    uint64_t ptr, size;
    uint32_t op;
    int32_t stack; /* slot in tls_stacks, or -1: IG_HEAP_IP_SIGNAL */
} queued_op;

typedef struct queued_stack {
    int32_t depth;
    uint64_t ips[IG_HEAP_MAX_DEPTH];
} queued_stack;

#define NQUEUED 32
#define NSTACKS 4 /* more adds in one stay counted, under IG_HEAP_IP_SIGNAL */
static TLS queued_op tls_ops[NQUEUED];
static TLS queued_stack tls_stacks[NSTACKS];
static TLS unsigned tls_nops, tls_nstacks;
static TLS int tls_busy, tls_in_loader, tls_warm;

/* The caller's stack, leaf first, without the shim's own frames. */
static int capture_stack(uint64_t *ips)
{
    if (tls_in_loader) { /* a handler that interrupted dl_iterate_phdr */
        ips[0] = IG_HEAP_IP_SIGNAL;
        return 1;
    }
    void *buf[IG_HEAP_MAX_DEPTH + SKIP_FRAMES_MAX];
    tls_in_loader = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int n = unw_backtrace_fn ? unw_backtrace_fn(buf, IG_HEAP_MAX_DEPTH + SKIP_FRAMES_MAX) : 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tls_in_loader = 0;
    int skip = 0;
    while (skip < n && (uint64_t)(uintptr_t)buf[skip] >= g_self_lo && (uint64_t)(uintptr_t)buf[skip] < g_self_hi)
        skip++;
    int d = 0;
    for (int i = skip; i < n && d < IG_HEAP_MAX_DEPTH; i++)
        ips[d++] = (uint64_t)(uintptr_t)buf[i];
    return d;
}

/* Reserves slot *out of [0, cap) in *count; false when all are taken. */
static bool reserve_slot(unsigned *count, unsigned cap, unsigned *out)
{
    unsigned i = __atomic_load_n(count, __ATOMIC_RELAXED);
    do {
        if (i >= cap)
            return false;
    } while (!__atomic_compare_exchange_n(count, &i, i + 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    *out = i;
    return true;
}

/* Queues an operation of a signal handler (tls_busy); a full queue drops
 * it, counted. */
static void queue_op(uint32_t op, uint64_t ptr, uint64_t size)
{
    unsigned i, k;
    if (!reserve_slot(&tls_nops, NQUEUED, &i)) {
        ig_heaptab_count_dropped(g_tab, op == OP_ADD, op == OP_REMOVE);
        return;
    }
    int32_t stack = -1;
    if (op == OP_ADD && reserve_slot(&tls_nstacks, NSTACKS, &k)) {
        tls_stacks[k].depth = capture_stack(tls_stacks[k].ips);
        stack = (int32_t)k;
    }
    tls_ops[i] = (queued_op){ptr, size, op, stack};
}

static void add_sample(uint64_t p, uint64_t size, const uint64_t *ips, int depth, const ig_heapspan *span)
{
    if (g_file) {
        tls_in_loader = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        ig_heapfile_note_modules(g_file); /* a dlopen'ed library is logged before its frames */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_in_loader = 0;
        ig_heapfile_count_sample(g_file);
    }
    ig_heaptab_add_span(g_tab, p, size, ips, depth, span);
    __atomic_add_fetch(&g_samples, 1, __ATOMIC_RELAXED);
}

static void apply(const queued_op *q)
{
    static const uint64_t signal_stack[1] = {IG_HEAP_IP_SIGNAL};
    if (q->op == OP_REMOVE)
        ig_heaptab_remove(g_tab, q->ptr);
    else if (q->stack < 0)
        add_sample(q->ptr, q->size, signal_stack, 1, NULL);
    else
        add_sample(q->ptr, q->size, tls_stacks[q->stack].ips, tls_stacks[q->stack].depth, NULL);
}

static inline void enter_busy(void)
{
    tls_busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Applies what handlers queued meanwhile, in order (handlers may queue
 * more while it runs, past the ones applied), then stops being busy.
 * Stack slots are freed once the queue is empty. */
static void leave_busy(void)
{
    for (;;) {
        unsigned n;
        while ((n = __atomic_load_n(&tls_nops, __ATOMIC_RELAXED)) != 0) {
            for (unsigned i = 0; i < n; i++)
                apply(&tls_ops[i]);
            sigset_t old;
            block_signals(&old);
            memmove(tls_ops, tls_ops + n, (tls_nops - n) * sizeof tls_ops[0]);
            tls_nops -= n;
            if (!tls_nops)
                tls_nstacks = 0;
            restore_signals(&old);
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_busy = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&tls_nops, __ATOMIC_RELAXED))
            return;
        enter_busy(); /* a handler queued between the last look and now */
    }
}

static uint64_t thread_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ig_hash_mix((uint64_t)syscall(SYS_gettid) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_nsec ^
                       (uint64_t)(uintptr_t)&tls_sampler);
}

/* A thread's first unwind allocates for libunwind itself (the loader
 * gives its thread-local storage a block): done once, guarded, before the
 * thread's first sample, so that it is not counted as the program's. */
static void warm_unwinder(void)
{
    void *buf[4];
    tls_warm = 1;
    tls_guard = 1;
    if (unw_backtrace_fn)
        unw_backtrace_fn(buf, 4);
    tls_guard = 0;
}

/* ---- span labels -----------------------------------------------------------
 *
 * A sampled allocation carries the span its thread is in: the thread's own
 * OTEP 4947 record, read in place by the thread that writes it (we are in
 * its malloc call), so it cannot change while it is read: exact, no race.
 * The slot otel_thread_ctx_v1 is found once per thread with dlsym (which
 * gives the calling thread's instance, static or dynamic TLS alike), the
 * key index of span_name once per process in the OTEP 4719 process
 * context (the payload the OTEL_CTX mapping points to, a protobuf
 * Resource: threadlocal.attribute_key_map).  Both are looked up with the
 * re-entry guard set (dlsym, reading /proc/self/maps and decoding
 * allocate).  Signal handlers' queued samples are not labelled.  A record
 * that is not valid, or a process context that cannot be read, labels
 * nothing. */

#define OTEL_REC_VALID 24
#define OTEL_REC_ATTRS_SIZE 26
#define OTEL_REC_ATTRS 28
#define OTEL_REC_MAX 640

static TLS void *const *tls_ctx_slot; /* this thread's otel_thread_ctx_v1, NULL: none */
static TLS int tls_ctx_looked;
static bool g_span_labels = true;      /* IGNIS_ALLOC_SPAN_LABELS=0 turns them off */
static int g_name_key = -2;            /* span_name's key index; -1: none; -2: not read yet */

/* Does a protobuf string (decoded as bytes, ignis/text.proto) hold exactly s?
 * All its bytes count: "span_name\0x" is not span_name. */
static bool bytes_are(ProtobufCBinaryData b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (!n || !memcmp(b.data, s, n));
}

/* span_name's index in the process context's attribute_key_map: -1 if it
 * has none, -2 if it cannot be read now (not published yet, updating).
 * Decoded as ignis.otlp.text.Resource, strings as bytes, so an entry
 * holding U+0000 is compared whole, not cut at the NUL. */
static int read_name_key(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -2;
    char line[512];
    uint64_t start = 0, end = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "OTEL_CTX") && sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2)
            break;
        else
            start = end = 0;
    fclose(f);
    if (end - start < 32)
        return -2;
    const volatile uint8_t *hdr = (const volatile uint8_t *)(uintptr_t)start;
    uint64_t sig, published, payload;
    uint32_t version, psize;
    memcpy(&sig, (const void *)hdr, 8);
    memcpy(&version, (const void *)(hdr + 8), 4);
    memcpy(&psize, (const void *)(hdr + 12), 4);
    memcpy(&published, (const void *)(hdr + 16), 8);
    memcpy(&payload, (const void *)(hdr + 24), 8);
    if (memcmp(&sig, "OTEL_CTX", 8) || version != 2 || !published || !payload || psize > (1u << 20))
        return -2;
    Ignis__Otlp__Text__Resource *res =
        ignis__otlp__text__resource__unpack(NULL, psize, (const uint8_t *)(uintptr_t)payload);
    int key = -2;
    uint64_t again;
    memcpy(&again, (const void *)(hdr + 16), 8);
    if (res && again == published) {
        key = -1;
        for (size_t i = 0; i < res->n_attributes && key == -1; i++) {
            const Ignis__Otlp__Text__KeyValue *kv = res->attributes[i];
            if (!bytes_are(kv->key, "threadlocal.attribute_key_map") || !kv->value ||
                kv->value->value_case != IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_ARRAY_VALUE || !kv->value->array_value)
                continue;
            const Ignis__Otlp__Text__ArrayValue *a = kv->value->array_value;
            for (size_t k = 0; k < a->n_values && k < 256; k++)
                if (a->values[k]->value_case == IGNIS__OTLP__TEXT__ANY_VALUE__VALUE_STRING_VALUE &&
                    bytes_are(a->values[k]->string_value, "span_name")) {
                    key = (int)k;
                    break;
                }
        }
    }
    if (res)
        ignis__otlp__text__resource__free_unpacked(res, NULL);
    return key;
}

/* The span this thread is in, into *out; false when none (or not known). */
static bool current_span(ig_heapspan *out)
{
    if (!tls_ctx_looked) {
        int saved = tls_guard;
        tls_guard = 1;
        /* dlsym is declared leaf (it never calls into this file, says glibc):
         * without the fence the guard's store could be moved past it, yet
         * it allocates through our malloc */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_ctx_slot = (void *const *)dlsym(RTLD_DEFAULT, "otel_thread_ctx_v1");
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_guard = saved;
        tls_ctx_looked = 1;
    }
    const uint8_t *rec = tls_ctx_slot ? (const uint8_t *)*tls_ctx_slot : NULL;
    if (!rec || ((uintptr_t)rec & 1) || rec[OTEL_REC_VALID] != 1)
        return false;
    memset(out, 0, sizeof *out);
    memcpy(out->trace_id, rec, 16);
    memcpy(out->span_id, rec + 16, 8);
    out->in_span = 1;
    int key = __atomic_load_n(&g_name_key, __ATOMIC_RELAXED);
    if (key == -2) {
        int saved = tls_guard;
        tls_guard = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        key = read_name_key();
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_guard = saved;
        __atomic_store_n(&g_name_key, key, __ATOMIC_RELAXED);
    }
    uint16_t attrs;
    memcpy(&attrs, rec + OTEL_REC_ATTRS_SIZE, 2);
    if (attrs > OTEL_REC_MAX - OTEL_REC_ATTRS)
        attrs = OTEL_REC_MAX - OTEL_REC_ATTRS;
    const uint8_t *a = rec + OTEL_REC_ATTRS, *end = a + attrs;
    while (key >= 0 && end - a >= 2 && a[1] <= end - a - 2) { /* {key, len, bytes}... */
        if (a[0] == key) {
            size_t n = a[1] < IG_HEAP_SPAN_NAME_MAX ? a[1] : IG_HEAP_SPAN_NAME_MAX;
            memcpy(out->name, a + 2, n);
            out->name_len = (uint8_t)n;
            break;
        }
        a += 2 + a[1];
    }
    return true;
}

static __attribute__((noinline)) void sample_slow(void *p, size_t size)
{
    ig_sampler *s = &tls_sampler;
    int64_t interval = __atomic_load_n(&g_interval, __ATOMIC_RELAXED);
    unsigned gen = __atomic_load_n(&g_gen, __ATOMIC_RELAXED);
    if (tls_gen != gen) { /* first allocation of this thread, or a new interval */
        tls_gen = gen;
        ig_sampler_init(s, s->rng ? s->rng : thread_seed(), interval);
        s->countdown -= (int64_t)size;
        if (s->countdown > 0)
            return;
    }
    s->countdown = ig_sampler_next(s, interval);
    if (tls_guard || !p || !__atomic_load_n(&g_active, __ATOMIC_RELAXED))
        return;
    if (tls_busy) { /* a signal handler, inside the sampler of its own thread */
        queue_op(OP_ADD, (uint64_t)(uintptr_t)p, size);
        return;
    }
    if (!tls_warm)
        warm_unwinder();
    ig_heapspan span;
    bool in_span = g_span_labels && current_span(&span);
    enter_busy();
    uint64_t ips[IG_HEAP_MAX_DEPTH];
    int depth = capture_stack(ips);
    add_sample((uint64_t)(uintptr_t)p, size, ips, depth, in_span ? &span : NULL);
    leave_busy();
}

/* The only per-allocation cost: a thread-local subtraction and two
 * compares (the second notices a new interval set through the API). */
static inline void account(void *p, size_t size)
{
    tls_sampler.countdown -= (int64_t)size;
    if (__builtin_expect(tls_sampler.countdown <= 0 || tls_gen != __atomic_load_n(&g_gen, __ATOMIC_RELAXED), 0))
        sample_slow(p, size);
}

static const uint16_t *g_filter; /* the live filter of g_tab */

static __attribute__((noinline)) void forget_slow(uint64_t a)
{
    if (tls_busy) { /* a signal handler, inside the sampler of its own thread */
        queue_op(OP_REMOVE, a, 0);
        return;
    }
    enter_busy();
    ig_heaptab_remove(g_tab, a);
    leave_busy();
}

/* A handler frees what it allocated while its add waits in the queue
 * (the filter does not know it yet): the remove follows the add. */
static __attribute__((noinline)) void forget_queued(uint64_t a)
{
    if (!tls_busy)
        return;
    unsigned n = __atomic_load_n(&tls_nops, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++)
        if (tls_ops[i].op == OP_ADD && tls_ops[i].ptr == a) {
            queue_op(OP_REMOVE, a, 0);
            return;
        }
}

/* free()'s cost: one multiply and two loads unless p may be sampled. */
static inline void forget(void *p)
{
    const uint16_t *f = __atomic_load_n(&g_filter, __ATOMIC_ACQUIRE);
    uint64_t a = (uint64_t)(uintptr_t)p;
    if (f && __builtin_expect(__atomic_load_n(&f[ig_heaptab_filter_index(a)], __ATOMIC_RELAXED) != 0, 0))
        forget_slow(a);
    else if (__builtin_expect(__atomic_load_n(&tls_nops, __ATOMIC_RELAXED) != 0, 0))
        forget_queued(a);
}

/* ---- the interposed functions -------------------------------------------- */

EXPORT void *malloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 16);
    void *p = real_malloc(size);
    account(p, size);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || is_boot(p))
        return;
    forget(p);
    if (ready())
        real_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        if (!ready()) {
            errno = ENOMEM;
            return NULL;
        }
        return real_calloc(n, size); /* libc reports the overflow (ENOMEM) */
    }
    if (!ready())
        return boot_alloc(total, 16); /* static memory is zero and never reused */
    void *p = real_calloc(n, size);
    account(p, total);
    return p;
}

EXPORT void *realloc(void *old, size_t size)
{
    if (old && is_boot(old)) {
        void *p = malloc(size);
        if (p) {
            size_t have = boot_size(old);
            memcpy(p, old, have < size ? have : size);
        }
        return p;
    }
    if (!ready())
        return boot_alloc(size, 16);
    if (old)
        forget(old); /* it is freed or moved; a failed realloc keeps it untracked */
    void *p = real_realloc(old, size);
    if (size)
        account(p, size);
    return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (!ready()) {
        void *p = boot_alloc(size, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    int rc = real_posix_memalign(out, align, size);
    if (rc == 0)
        account(*out, size);
    return rc;
}

static void *aligned_via(void *(*fn)(size_t, size_t), size_t align, size_t size)
{
    if (!ready())
        return boot_alloc(size, align);
    void *p = fn ? fn(align, size) : NULL;
    account(p, size);
    return p;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return aligned_via(ready() ? real_aligned_alloc : NULL, align, size);
}

EXPORT void *memalign(size_t align, size_t size)
{
    return aligned_via(ready() ? real_memalign : NULL, align, size);
}

EXPORT void *valloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    void *p = real_valloc ? real_valloc(size) : NULL;
    account(p, size);
    return p;
}

EXPORT void *pvalloc(size_t size)
{
    if (!ready())
        return boot_alloc(size, 4096);
    void *p = real_pvalloc ? real_pvalloc(size) : NULL;
    account(p, size);
    return p;
}

/* ---- writing profiles ----------------------------------------------------- */

static char g_output[4096] = "ignis-heap.%p.pb.gz";
static int g_dump_lock;
static int g_pipe[2] = {-1, -1};
static int g_signal;
static int g_period_s;

/* Expands %p (pid) in a path pattern. */
static void expand_path(const char *pattern, char *out, size_t len)
{
    size_t o = 0;
    for (const char *c = pattern; *c && o + 1 < len; c++) {
        if (c[0] == '%' && c[1] == 'p') {
            o += (size_t)snprintf(out + o, len - o, "%d", (int)getpid());
            c++;
        } else {
            out[o++] = *c;
        }
    }
    out[o < len ? o : len - 1] = 0;
}

static int write_profile(const char *path, ig_err *err)
{
    size_t cap = 1024, n;
    ig_heaprec *recs;
    for (;;) { /* records only grow: retry until the copy holds them all */
        recs = ig_xmalloc(cap * sizeof *recs);
        n = ig_heaptab_snapshot(g_tab, recs, cap);
        if (n <= cap)
            break;
        free(recs);
        cap = n + n / 4;
    }
    int64_t interval = __atomic_load_n(&g_interval, __ATOMIC_RELAXED);
    ignis_profile *p = ig_heapprof_new(interval);
    ig_selfsym *ss = ig_selfsym_new(p);
    ig_heapprof_add_records(p, recs, n, interval, ig_selfsym_locate, ss);
    ig_selfsym_free(ss);
    free(recs);
    ig_heaptab_stats st;
    ig_heaptab_get_stats(g_tab, &st);
    char note[256];
    snprintf(note, sizeof note,
             "ignis-alloc: pid %d, sample interval %lld bytes, %llu sampled allocations, %llu live, "
             "%llu dropped",
             (int)getpid(), (long long)interval, (unsigned long long)__atomic_load_n(&g_samples, __ATOMIC_RELAXED),
             (unsigned long long)st.live, (unsigned long long)(st.dropped_records + st.dropped_live));
    ignis_profile_add_comment(p, note);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ignis_profile_set_time(p, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
    ig_strbuf sb = IG_STRBUF_INIT;
    int rc = ig_pprof_write(p, &sb, err);
    if (rc == 0)
        rc = ig_write_file_atomic(path, sb.data, sb.len, err);
    ig_sb_free(&sb);
    ignis_profile_free(p);
    return rc;
}

/* Writes a profile to path (NULL: the configured output).  Serialised;
 * runs with the re-entry guard set so the writer's own allocations are
 * neither sampled nor able to deadlock on our tables. */
static int dump_profile(const char *path, ig_err *err)
{
    if (!g_tab)
        return ig_err_set(err, "heap sampler not initialised");
    sigset_t old;
    block_signals(&old);
    int saved_guard = tls_guard;
    tls_guard = 1;
    while (__atomic_exchange_n(&g_dump_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
    char full[4096];
    expand_path(path ? path : g_output, full, sizeof full);
    int rc = write_profile(full, err);
    __atomic_store_n(&g_dump_lock, 0, __ATOMIC_RELEASE);
    tls_guard = saved_guard;
    restore_signals(&old);
    return rc;
}

static void dump_or_complain(void)
{
    ig_err err;
    if (dump_profile(NULL, &err) < 0)
        fprintf(stderr, "ignis-alloc: %s\n", err.msg);
}

static void on_signal(int sig)
{
    (void)sig;
    int e = errno;
    if (g_pipe[1] >= 0 && write(g_pipe[1], "d", 1) < 0) {
        /* pipe full: a dump is already pending */
    }
    errno = e;
}

static void *dumper_main(void *arg)
{
    (void)arg;
    tls_guard = 1;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* the target's threads take signals */
    for (;;) {
        struct pollfd pfd = {.fd = g_pipe[0], .events = POLLIN};
        int rc = poll(&pfd, 1, g_period_s > 0 ? g_period_s * 1000 : -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc > 0) {
            char buf[64];
            if (read(g_pipe[0], buf, sizeof buf) <= 0)
                return NULL;
        }
        dump_or_complain();
    }
    return NULL;
}

static void start_dumper(void)
{
    if (!g_signal && g_period_s <= 0)
        return;
    if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, dumper_main, NULL) != 0)
        fprintf(stderr, "ignis-alloc: cannot start the dumper thread; dumping at exit only\n");
    pthread_attr_destroy(&at);
}

/* ---- the tables ------------------------------------------------------------ */

/* "ignis-alloc: MSG\n" with write(2) alone (usable in a fork child). */
static void complain_async(const char *msg)
{
    struct iovec iov[3] = {{(void *)"ignis-alloc: ", 13}, {(void *)msg, strlen(msg)}, {(void *)"\n", 1}};
    if (writev(2, iov, 3) < 0)
        return;
}

/* Makes empty tables the current ones: records in a new file of
 * g_table_dir when set (its module log copied from `parent`'s, else read
 * from the loader), else in anonymous memory.  System calls only when
 * parent is given (the atfork child handler).  0 or -1. */
static int start_tables(const ig_heapfile *parent)
{
    ig_heapfile *file = NULL;
    int64_t interval = __atomic_load_n(&g_interval, __ATOMIC_RELAXED);
    if (g_table_dir[0]) {
        file = ig_heapfile_create(g_table_dir, interval, MAX_RECORDS);
        if (!file)
            complain_async("cannot create a heap table file in IGNIS_ALLOC_TABLE_DIR; writing a profile at exit "
                           "instead (lost if the process does not end through exit)");
        else if (parent)
            ig_heapfile_copy_modules(file, parent);
        else
            ig_heapfile_note_modules(file);
    }
    ig_heaptab_store store;
    if (file)
        ig_heapfile_store(file, &store);
    ig_heaptab *tab = ig_heaptab_new_with(MAX_RECORDS, LIVE_PER_STRIPE, file ? &store : NULL);
    if (!tab) {
        ig_heapfile_close(file);
        return -1;
    }
    g_file = file;
    g_tab = tab;
    __atomic_store_n(&g_filter, ig_heaptab_filter(tab), __ATOMIC_RELEASE);
    return 0;
}

/* ---- fork ------------------------------------------------------------------ */

static void before_fork(void)
{
    while (__atomic_exchange_n(&g_dump_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void after_fork_parent(void)
{
    __atomic_store_n(&g_dump_lock, 0, __ATOMIC_RELEASE);
}

/* The child's allocations are its own: it drops the copy of the parent's
 * tables (and its mapping of the parent's file, untouched) for new ones. */
static void after_fork_child(void)
{
    g_dump_lock = 0;
    tls_nops = tls_nstacks = 0; /* a handler's leftovers belong to the parent */
    tls_busy = tls_in_loader = 0;
    ig_heaptab *old_tab = g_tab;
    ig_heapfile *old_file = g_file;
    __atomic_store_n(&g_filter, NULL, __ATOMIC_RELEASE);
    g_tab = NULL;
    g_file = NULL;
    g_samples = 0;
    if (old_tab && start_tables(old_file) < 0)
        complain_async("cannot map heap tables in a forked child; not sampling it");
    if (old_tab)
        ig_heaptab_destroy(old_tab);
    ig_heapfile_close(old_file);
    if (g_pipe[0] >= 0) { /* the parent's dumper is not ours: start our own */
        close(g_pipe[0]);
        close(g_pipe[1]);
        g_pipe[0] = g_pipe[1] = -1;
        start_dumper();
    }
}

/* ---- initialisation --------------------------------------------------------- */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    uint64_t me = (uint64_t)(uintptr_t)&find_self;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < hi) {
            g_self_lo = lo;
            g_self_hi = hi;
            return 1;
        }
    }
    return 0;
}

static int parse_signal(const char *s)
{
    if (!s || !*s)
        return 0;
    if (!strncmp(s, "SIG", 3))
        s += 3;
    if (!strcmp(s, "USR1"))
        return SIGUSR1;
    if (!strcmp(s, "USR2"))
        return SIGUSR2;
    if (!strcmp(s, "PROF"))
        return SIGPROF;
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v <= 0 || v >= NSIG) ? -1 : (int)v;
}

static void read_environment(void)
{
    const char *v = getenv("IGNIS_ALLOC_SAMPLE_BYTES");
    if (v && *v) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end || n < 1)
            fprintf(stderr, "ignis-alloc: IGNIS_ALLOC_SAMPLE_BYTES=%s: not a positive integer; using %d\n", v,
                    IG_ALLOC_DEFAULT_INTERVAL);
        else
            g_interval = n;
        /* threads that allocated before this constructor drew their
         * countdown from the default interval: make them redraw */
        __atomic_add_fetch(&g_gen, 1, __ATOMIC_RELAXED);
    }
    if ((v = getenv("IGNIS_ALLOC_SPAN_LABELS")) && !strcmp(v, "0"))
        g_span_labels = false;
    if ((v = getenv("IGNIS_ALLOC_OUTPUT")) && *v)
        snprintf(g_output, sizeof g_output, "%s", v);
    g_signal = parse_signal(getenv("IGNIS_ALLOC_SIGNAL"));
    if (g_signal < 0) {
        fprintf(stderr, "ignis-alloc: IGNIS_ALLOC_SIGNAL=%s: unknown signal; not dumping on a signal\n",
                getenv("IGNIS_ALLOC_SIGNAL"));
        g_signal = 0;
    }
    if ((v = getenv("IGNIS_ALLOC_INTERVAL")) && *v)
        g_period_s = atoi(v);
    if ((v = getenv("IGNIS_ALLOC_TABLE_DIR")) && *v) {
        if (strlen(v) < sizeof g_table_dir - 64)
            snprintf(g_table_dir, sizeof g_table_dir, "%s", v);
        else
            fprintf(stderr, "ignis-alloc: IGNIS_ALLOC_TABLE_DIR: path too long; writing a profile at exit\n");
    }
}

static void load_unwinder(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h)
        unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
    if (!unw_backtrace_fn)
        fprintf(stderr, "ignis-alloc: libunwind.so.8 not loadable; recording allocations without stacks\n");
}

__attribute__((constructor(101))) static void shim_init(void)
{
    if (!ready())
        return;
    tls_guard = 1;
    read_environment();
    dl_iterate_phdr(find_self, NULL);
    load_unwinder();
    if (start_tables(NULL) < 0) {
        fprintf(stderr, "ignis-alloc: cannot map the heap tables; not sampling\n");
        tls_guard = 0;
        return;
    }
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    start_dumper();
    if (g_signal && g_pipe[0] >= 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(g_signal, &sa, NULL);
    }
    const char *start = getenv("IGNIS_ALLOC_START");
    __atomic_store_n(&g_active, !(start && !strcmp(start, "0")), __ATOMIC_RELEASE);
    tls_guard = 0;
}

/* Without a table file, the profile is written at exit.  (A file needs
 * nothing: ignis reads it.) */
__attribute__((destructor)) static void shim_fini(void)
{
    if (g_tab && !g_file && __atomic_load_n(&g_active, __ATOMIC_RELAXED))
        dump_or_complain();
}

/* ---- control from libignis (include/ignis/alloc.h) ------------------------- */

EXPORT int ig_alloc_shim_start(int64_t sample_bytes)
{
    if (!g_tab)
        return -1;
    if (sample_bytes > 0) {
        __atomic_store_n(&g_interval, sample_bytes, __ATOMIC_RELAXED);
        if (g_file)
            ig_heapfile_set_interval(g_file, sample_bytes);
        __atomic_add_fetch(&g_gen, 1, __ATOMIC_RELAXED); /* every thread redraws its countdown */
    }
    __atomic_store_n(&g_active, 1, __ATOMIC_RELEASE);
    return 0;
}

EXPORT int ig_alloc_shim_stop(void)
{
    __atomic_store_n(&g_active, 0, __ATOMIC_RELEASE);
    return g_tab ? 0 : -1;
}

EXPORT int ig_alloc_shim_dump(const char *path, char *errbuf, size_t errlen)
{
    ig_err err;
    int rc = dump_profile(path, &err);
    if (rc < 0 && errbuf && errlen)
        ig_err_copy(&err, errbuf, errlen);
    return rc;
}
