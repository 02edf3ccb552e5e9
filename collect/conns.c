/*
 * collect/conns.c — the receiver's table of open connections (see
 * collect/conns.h).
 *
 * A fixed array of twice max slots (a connection cut keeps its slot until
 * its HTTP thread has closed it), scanned whole under one mutex: by the
 * acceptor to admit, evict and sweep (a few thousand slots, a few times a
 * second at most), and by an HTTP thread to find a new connection's slot
 * and to release it.  The phase and deadline of a slot are atomics written
 * only by the thread that owns the connection, so the notes of a request's
 * progress (once per body chunk) take no lock.
 */
#include "collect/conns.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "utils/strbuf.h"

enum { PHASE_HEADERS, PHASE_BODY, PHASE_ANSWER, PHASE_IDLE };
/* Eviction looks at the 16 connections waiting longest, and only at those
 * waiting for a second or more: a connection just accepted, or whose
 * headers an HTTP thread has read but not yet handed over, is not stalled. */
enum { EVICT_TRIES = 16 };
#define EVICT_MIN_WAIT_NS 1000000000ull

struct ig_conn {
    int fd;                      /* -1: free */
    bool cut;                    /* shut down, waiting for its thread to close it */
    bool local;                  /* a loopback peer: no share per host */
    uint8_t addr[16];            /* the peer's address (IPv4 in the first 4 bytes) */
    _Atomic int phase;
    _Atomic uint64_t since_ns;   /* start of the phase: the oldest is evicted first */
    _Atomic uint64_t deadline_ns; /* 0: none of ours (answering) */
    uint64_t body_start_ns, body_bytes;
};

struct ig_conns {
    ig_conn_limits lim;
    ig_conn_cuts *cuts;
    pthread_mutex_t mu;
    unsigned cap, used, live;    /* slots; taken; taken and not cut */
    ig_conn *slots;
};

uint64_t ig_conns_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ig_conns *ig_conns_new(const ig_conn_limits *lim, ig_conn_cuts *cuts)
{
    ig_conns *t = ig_xcalloc(1, sizeof *t);
    t->lim = *lim;
    t->cuts = cuts;
    t->cap = 2 * lim->max;
    t->slots = ig_xcalloc(t->cap, sizeof *t->slots);
    for (unsigned i = 0; i < t->cap; i++)
        t->slots[i].fd = -1;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void ig_conns_free(ig_conns *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

/* ---- under the lock ------------------------------------------------------------- */

static bool waiting_for_request(const ig_conn *c, uint64_t now_ns)
{
    int p = atomic_load(&c->phase);
    uint64_t since = atomic_load(&c->since_ns); /* an HTTP thread's clock may be ahead of now_ns */
    return c->fd >= 0 && !c->cut && (p == PHASE_HEADERS || p == PHASE_IDLE) && now_ns >= since &&
           now_ns - since >= EVICT_MIN_WAIT_NS;
}

static void cut(ig_conns *t, ig_conn *c, _Atomic uint64_t *counter)
{
    shutdown(c->fd, SHUT_RDWR); /* its thread sees the end and closes it */
    c->cut = true;
    t->live--;
    atomic_fetch_add(counter, 1);
}

/* Has the HTTP thread read all the client sent?  Then it is the client
 * that keeps the connection waiting; bytes still unread mean that the
 * server is behind (a connection just accepted, its headers not yet
 * parsed) and the connection is not to be blamed. */
static bool all_read(const ig_conn *c)
{
    int unread = 0;
    return ioctl(c->fd, FIONREAD, &unread) == 0 && unread == 0;
}

/* Is a before b in the order of eviction (the longest waiting first)? */
static bool waited_longer(const ig_conns *t, const ig_conn *a, const ig_conn *b)
{
    uint64_t sa = atomic_load(&a->since_ns), sb = atomic_load(&b->since_ns);
    return sa < sb || (sa == sb && a - t->slots < b - t->slots);
}

/* The connection waiting for a request the longest (from host addr only,
 * unless addr is NULL) with nothing unread, among the EVICT_TRIES that
 * waited longest; or NULL. */
static ig_conn *oldest_waiting(ig_conns *t, const uint8_t *addr, uint64_t now_ns)
{
    const ig_conn *after = NULL;
    for (int tries = 0; tries < EVICT_TRIES; tries++) {
        ig_conn *best = NULL;
        for (unsigned i = 0; i < t->cap; i++) {
            ig_conn *c = &t->slots[i];
            if (!waiting_for_request(c, now_ns) || (addr && (c->local || memcmp(c->addr, addr, 16))))
                continue;
            if ((!after || waited_longer(t, after, c)) && (!best || waited_longer(t, c, best)))
                best = c;
        }
        if (!best || all_read(best))
            return best;
        after = best;
    }
    return NULL;
}

static unsigned host_connections(const ig_conns *t, const uint8_t *addr)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->cap; i++) {
        const ig_conn *c = &t->slots[i];
        n += c->fd >= 0 && !c->cut && !c->local && !memcmp(c->addr, addr, 16);
    }
    return n;
}

static ig_conn *free_slot(ig_conns *t, int fd)
{
    ig_conn *slot = NULL;
    for (unsigned i = 0; i < t->cap; i++) {
        ig_conn *c = &t->slots[i];
        if (c->fd == fd) { /* stale: its descriptor was closed without a notice, and reused */
            t->used--;
            t->live -= !c->cut;
            c->fd = -1;
        }
        if (c->fd < 0 && !slot)
            slot = c;
    }
    return slot;
}

/* The peer's address in 16 bytes; true for a loopback one. */
static bool peer_key(const struct sockaddr *sa, socklen_t len, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct in_addr *a = &((const struct sockaddr_in *)sa)->sin_addr;
        memcpy(key, a, 4);
        return key[0] == 127;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(key, a->s6_addr + 12, 4);
            return key[0] == 127;
        }
        memcpy(key, a, 16);
        return IN6_IS_ADDR_LOOPBACK(a);
    }
    return true; /* a Unix socket or unknown: local */
}

/* ---- the acceptor ------------------------------------------------------------------ */

bool ig_conns_make_room(ig_conns *t, uint64_t now_ns)
{
    pthread_mutex_lock(&t->mu);
    bool room = t->used < t->cap;
    if (room && t->live >= t->lim.max) {
        ig_conn *victim = oldest_waiting(t, NULL, now_ns);
        if (victim)
            cut(t, victim, &t->cuts->evicted);
        room = victim != NULL;
    }
    pthread_mutex_unlock(&t->mu);
    return room;
}

ig_conn *ig_conns_admit(ig_conns *t, int fd, const struct sockaddr *peer, socklen_t len, uint64_t now_ns)
{
    uint8_t key[16];
    bool local = peer_key(peer, len, key);
    pthread_mutex_lock(&t->mu);
    ig_conn *c = free_slot(t, fd);
    if (c && !local && host_connections(t, key) >= t->lim.per_host) {
        ig_conn *victim = oldest_waiting(t, key, now_ns);
        if (victim)
            cut(t, victim, &t->cuts->evicted);
        else
            c = NULL;
    }
    if (c) {
        c->fd = fd;
        c->cut = false;
        c->local = local;
        memcpy(c->addr, key, 16);
        atomic_store(&c->phase, PHASE_HEADERS);
        atomic_store(&c->since_ns, now_ns);
        atomic_store(&c->deadline_ns, now_ns + t->lim.header_timeout_ns);
        t->used++;
        t->live++;
    } else {
        atomic_fetch_add(&t->cuts->refused, 1);
    }
    pthread_mutex_unlock(&t->mu);
    return c;
}

uint64_t ig_conns_sweep(ig_conns *t, uint64_t now_ns)
{
    uint64_t next = UINT64_MAX;
    pthread_mutex_lock(&t->mu);
    for (unsigned i = 0; i < t->cap; i++) {
        ig_conn *c = &t->slots[i];
        uint64_t d = atomic_load(&c->deadline_ns);
        if (c->fd < 0 || c->cut || !d)
            continue;
        if (now_ns >= d && all_read(c)) /* bytes unread: the server is behind, not the client */
            cut(t, c, &t->cuts->slow);
        else if (d > now_ns && d < next) /* one spared stays overdue: looked at again by the next sweep */
            next = d;
    }
    pthread_mutex_unlock(&t->mu);
    return next;
}

unsigned ig_conns_live(ig_conns *t)
{
    pthread_mutex_lock(&t->mu);
    unsigned n = t->live;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* ---- the HTTP threads -------------------------------------------------------------- */

ig_conn *ig_conns_find(ig_conns *t, int fd)
{
    ig_conn *found = NULL;
    pthread_mutex_lock(&t->mu);
    for (unsigned i = 0; i < t->cap && !found; i++)
        if (t->slots[i].fd == fd)
            found = &t->slots[i];
    pthread_mutex_unlock(&t->mu);
    return found;
}

void ig_conns_release(ig_conns *t, ig_conn *c)
{
    pthread_mutex_lock(&t->mu);
    if (c->fd >= 0) {
        t->used--;
        t->live -= !c->cut;
        c->fd = -1;
    }
    pthread_mutex_unlock(&t->mu);
}

void ig_conn_headers_done(const ig_conns *t, ig_conn *c, uint64_t now_ns)
{
    c->body_start_ns = now_ns;
    c->body_bytes = 0;
    atomic_store(&c->since_ns, now_ns);
    atomic_store(&c->deadline_ns, now_ns + t->lim.body_timeout_ns);
    atomic_store(&c->phase, PHASE_BODY);
}

void ig_conn_body_read(const ig_conns *t, ig_conn *c, uint64_t bytes)
{
    c->body_bytes += bytes;
    uint64_t rate = t->lim.min_body_rate ? t->lim.min_body_rate : 1;
    uint64_t earned = c->body_bytes / rate * 1000000000u + c->body_bytes % rate * 1000000000u / rate;
    atomic_store(&c->deadline_ns, c->body_start_ns + t->lim.body_timeout_ns + earned);
}

void ig_conn_body_done(ig_conn *c)
{
    atomic_store(&c->deadline_ns, 0);
    atomic_store(&c->phase, PHASE_ANSWER);
}

void ig_conn_answered(const ig_conns *t, ig_conn *c, uint64_t now_ns)
{
    atomic_store(&c->since_ns, now_ns);
    atomic_store(&c->deadline_ns, now_ns + t->lim.idle_timeout_ns);
    atomic_store(&c->phase, PHASE_IDLE);
}
