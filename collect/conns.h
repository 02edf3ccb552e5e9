/*
 * collect/conns.h — the receiver's table of open connections: how many,
 * from whom, what each is doing, and by when it must have done it.
 *
 * The acceptor (collect/receiver.c) admits every connection here before
 * handing it to libmicrohttpd, and the HTTP threads note the phases of its
 * requests.  The table enforces what idle timeouts cannot (a client that
 * sends a byte now and then is never idle):
 *
 *   - deadlines: a request's headers must be complete header_timeout
 *     after the connection was accepted; its body must be complete
 *     body_timeout after the headers plus one second per min_body_rate
 *     bytes received (a body that keeps coming at that rate is never cut;
 *     a trickle is); the next request on a kept-alive connection must be
 *     complete idle_timeout after the last answer.  A connection past its
 *     deadline is shut down (counted as slow), unless bytes it sent are
 *     still unread (then the server, not the client, is behind).
 *   - a full pool: when max connections are open, the oldest connection
 *     that is waiting for its headers or idle between requests (for a
 *     second at least, with all it sent read) is closed to make room
 *     (counted as evicted); only when every one is in the
 *     middle of a request do new ones wait in the listen backlog (bodies
 *     have deadlines, so not for long).
 *   - a share per host: one peer address holds at most per_host of them;
 *     beyond, its own oldest connection waiting for headers is closed, or
 *     the new one is refused.  Loopback peers are exempt: on 127.0.0.1
 *     every local process shares one address, so a cap there would cap
 *     all local senders together (the collector's usual case); they are
 *     protected by the deadlines and the eviction.
 *
 * A connection is shut down (shutdown(2)), never closed here: the HTTP
 * thread that owns it sees the end of its stream and closes it, and
 * releases the slot (ig_conns_release) before closing the descriptor, so
 * the table never touches a descriptor number that was reused.
 */
#ifndef IG_COLLECT_CONNS_H
#define IG_COLLECT_CONNS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ig_conn_limits {
    unsigned max;               /* open connections */
    unsigned per_host;          /* per non-loopback peer address */
    uint64_t header_timeout_ns; /* accept -> end of the request's headers */
    uint64_t body_timeout_ns;   /* end of headers -> end of body, plus bytes / min_body_rate */
    uint64_t min_body_rate;     /* bytes per second */
    uint64_t idle_timeout_ns;   /* last answer -> end of the next request's headers */
} ig_conn_limits;

/* Connections cut, for /metrics. */
typedef struct ig_conn_cuts {
    _Atomic uint64_t slow;      /* past a deadline */
    _Atomic uint64_t evicted;   /* waiting for headers or idle, closed to make room */
    _Atomic uint64_t refused;   /* a host over its share with nothing to evict */
} ig_conn_cuts;

typedef struct ig_conns ig_conns;
typedef struct ig_conn ig_conn;

ig_conns *ig_conns_new(const ig_conn_limits *lim, ig_conn_cuts *cuts);
void ig_conns_free(ig_conns *t);

/* Before accepting: true when there is room for one more connection,
 * made if need be by evicting the oldest one waiting for headers or idle. */
bool ig_conns_make_room(ig_conns *t, uint64_t now_ns);

/* An accepted connection: its slot, or NULL when its host is over its
 * share with nothing to evict (the caller closes fd). */
ig_conn *ig_conns_admit(ig_conns *t, int fd, const struct sockaddr *peer, socklen_t len, uint64_t now_ns);

/* The slot of descriptor fd (NULL if none), for libmicrohttpd's notice
 * that it started a connection. */
ig_conn *ig_conns_find(ig_conns *t, int fd);

/* Frees a slot (its connection is closing; before its descriptor is). */
void ig_conns_release(ig_conns *t, ig_conn *c);

/* A request's phases, from the HTTP thread that owns the connection. */
void ig_conn_headers_done(const ig_conns *t, ig_conn *c, uint64_t now_ns);
void ig_conn_body_read(const ig_conns *t, ig_conn *c, uint64_t bytes);
void ig_conn_body_done(ig_conn *c);
void ig_conn_answered(const ig_conns *t, ig_conn *c, uint64_t now_ns);

/* Shuts down every connection past its deadline; returns the nearest
 * deadline still ahead (UINT64_MAX: none). */
uint64_t ig_conns_sweep(ig_conns *t, uint64_t now_ns);

/* Connections open and not cut. */
unsigned ig_conns_live(ig_conns *t);

/* The monotonic clock, in ns. */
uint64_t ig_conns_now(void);

#endif
