/*
 * utils/mapguard.c — see mapguard.h.
 *
 * The table is SLOTS triples of atomic words: start, end and the faults
 * of the registration.  A writer (under the mutex) zeroes a free slot's
 * faults, fills its end, then its start with release order; removal
 * clears start.  The handler scans every slot with acquire loads and no
 * lock, so it never waits for a writer it interrupted.  A slot reused
 * while the handler scans can at worst match a mapping that is also ours.
 *
 * On a hit the handler maps an anonymous zero page over the faulting page
 * (MAP_FIXED replaces just that page of our private read-only mapping),
 * adds one to that slot's faults and to the program's total (lock-free
 * atomic additions, no allocation: async-signal-safe) and returns; the
 * faulting load is restarted and reads zeros.  mmap is a plain system
 * call, safe in a signal handler on Linux.  A registration's count is
 * read by its start address (ig_mapguard_faults), so a reader asks about
 * its own file only, whatever other threads' mappings do meanwhile.
 *
 * A fault while SIGBUS is blocked is not delivered at all: the kernel
 * kills the process with the default action.  libunwind blocks every
 * signal while it holds its cache lock, and reads unwind tables through
 * our callbacks meanwhile; ig_mapguard_unblock is for such callbacks.
 */
#include "utils/mapguard.h"

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 65536

typedef struct slot {
    _Atomic uintptr_t start, end;
    _Atomic uint64_t faults; /* pages zeroed since this registration */
} slot;

static slot table[SLOTS];
static _Atomic size_t used;            /* slots ever filled: the handler scans these */
static _Atomic uint64_t zeroed_pages;
static pthread_mutex_t writers = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_status = -1;
static uintptr_t page_size = 4096;

/* The registered slot holding address a, or NULL. */
static slot *guarding(uintptr_t a)
{
    size_t n = atomic_load_explicit(&used, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s = atomic_load_explicit(&table[i].start, memory_order_acquire);
        if (s && a >= s && a < atomic_load_explicit(&table[i].end, memory_order_relaxed))
            return &table[i];
    }
    return NULL;
}

static void pass_on(int sig, siginfo_t *info, void *ctx)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction)
            previous.sa_sigaction(sig, info, ctx);
        return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    /* default action: restore it; the load faults again and the kernel
     * ends the process as if we had never been here */
    signal(sig, SIG_DFL);
}

static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    uintptr_t a = (uintptr_t)info->si_addr;
    slot *hit = info->si_code == BUS_ADRERR ? guarding(a) : NULL;
    if (hit) {
        void *p = (void *)(a & ~(page_size - 1));
        if (mmap(p, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p) {
            atomic_fetch_add_explicit(&hit->faults, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&zeroed_pages, 1, memory_order_relaxed);
            return;
        }
    }
    pass_on(sig, info, ctx);
}

static void install_once(void)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0)
        page_size = (uintptr_t)page;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    install_status = sigaction(SIGBUS, &sa, &previous);
}

int ig_mapguard_install(void)
{
    pthread_once(&installed, install_once);
    return install_status;
}

void ig_mapguard_unblock(void)
{
    sigset_t bus;
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
}

int ig_mapguard_add(const void *addr, size_t len)
{
    uintptr_t s = (uintptr_t)addr;
    if (!s || !len || len > UINTPTR_MAX - s)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&writers);
    size_t n = atomic_load_explicit(&used, memory_order_relaxed);
    for (size_t i = 0; i <= n && i < SLOTS; i++) {
        if (atomic_load_explicit(&table[i].start, memory_order_relaxed))
            continue;
        atomic_store_explicit(&table[i].faults, 0, memory_order_relaxed);
        atomic_store_explicit(&table[i].end, s + len, memory_order_relaxed);
        atomic_store_explicit(&table[i].start, s, memory_order_release);
        if (i == n)
            atomic_store_explicit(&used, n + 1, memory_order_release);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&writers);
    return rc;
}

void ig_mapguard_remove(const void *addr)
{
    uintptr_t s = (uintptr_t)addr;
    if (!s)
        return;
    pthread_mutex_lock(&writers);
    size_t n = atomic_load_explicit(&used, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&table[i].start, memory_order_relaxed) == s) {
            atomic_store_explicit(&table[i].start, 0, memory_order_release);
            break;
        }
    pthread_mutex_unlock(&writers);
}

uint64_t ig_mapguard_pages(void)
{
    return atomic_load_explicit(&zeroed_pages, memory_order_relaxed);
}

uint64_t ig_mapguard_faults(const void *addr)
{
    uintptr_t s = (uintptr_t)addr;
    if (!s)
        return 0;
    size_t n = atomic_load_explicit(&used, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (atomic_load_explicit(&table[i].start, memory_order_acquire) == s)
            return atomic_load_explicit(&table[i].faults, memory_order_relaxed);
    return 0;
}
