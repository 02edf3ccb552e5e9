/*
 * tests/collect/test_conns.c — the receiver's connection table
 * (collect/conns.h) with socket pairs for connections and a clock of its
 * own: a full pool closes the connection waiting longest for a request
 * (for a second at least; not one in the middle of a request, nor one
 * whose bytes the server has yet to read), a host other than loopback holds its share at most (its
 * own oldest waiting one closed beyond, or the new one refused), and the
 * deadlines of headers, bodies (extended by what arrives at the minimum
 * rate) and kept-alive connections cut what misses them, unless the
 * server has yet to read what the client sent.  A connection
 * cut is one whose peer reads the end of the stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/conns.h"

#define S 1000000000ull
enum { MAXC = 4 };

typedef struct fixture {
    ig_conn_limits lim;
    ig_conn_cuts cuts;
    ig_conns *t;
    int ours[2 * MAXC + 2], peers[2 * MAXC + 2]; /* the server's end, the client's */
    ig_conn *slots[2 * MAXC + 2];
    int n;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.lim = (ig_conn_limits){.max = MAXC, .per_host = 2, .header_timeout_ns = 10 * S, .body_timeout_ns = 10 * S,
                             .min_body_rate = 1000, .idle_timeout_ns = 60 * S};
    f.t = ig_conns_new(&f.lim, &f.cuts);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < f->n; i++) {
        if (f->slots[i])
            ig_conns_release(f->t, f->slots[i]);
        close(f->ours[i]);
        close(f->peers[i]);
    }
    ig_conns_free(f->t);
    return 0;
}

/* Connection number i (returned) from address ip, accepted at second at. */
static int connect_from(fixture *f, const char *ip, uint64_t at)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1234)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int i = f->n++;
    f->ours[i] = sv[0];
    f->peers[i] = sv[1];
    f->slots[i] = ig_conns_admit(f->t, sv[0], (struct sockaddr *)&sa, sizeof sa, at * S);
    return i;
}

/* Has connection i been cut (its client reads the end of the stream)? */
static bool was_cut(const fixture *f, int i)
{
    char c;
    return recv(f->peers[i], &c, 1, MSG_DONTWAIT) == 0;
}

static void full_pool_closes_the_longest_waiting(void **state)
{
    fixture *f = *state;
    for (uint64_t at = 1; at <= MAXC; at++)
        assert_non_null(f->slots[connect_from(f, "127.0.0.1", at)]);
    ig_conn_headers_done(f->t, f->slots[0], 5 * S);                     /* 0: in the middle of a request */
    assert_int_equal(write(f->peers[1], "G", 1), 1);                     /* 1: bytes the server has not read */
    assert_true(ig_conns_make_room(f->t, 6 * S));
    assert_false(was_cut(f, 0));
    assert_false(was_cut(f, 1));
    assert_true(was_cut(f, 2));
    assert_int_equal(atomic_load(&f->cuts.evicted), 1);
    assert_int_equal(ig_conns_live(f->t), MAXC - 1);
    assert_non_null(f->slots[connect_from(f, "127.0.0.1", 6)]);
    ig_conn_headers_done(f->t, f->slots[3], 7 * S);
    ig_conn_headers_done(f->t, f->slots[4], 7 * S);
    assert_false(ig_conns_make_room(f->t, 8 * S)); /* all busy or unread: wait */
    assert_int_equal(atomic_load(&f->cuts.evicted), 1);
}

static void only_a_second_of_waiting_is_stalling(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < MAXC; i++)
        connect_from(f, "127.0.0.1", 1);
    assert_false(ig_conns_make_room(f->t, 1 * S + S / 2));
    assert_true(ig_conns_make_room(f->t, 2 * S));
    assert_int_equal(atomic_load(&f->cuts.evicted), 1);
}

static void a_host_holds_its_share(void **state)
{
    fixture *f = *state;
    assert_non_null(f->slots[connect_from(f, "10.0.0.1", 1)]);
    assert_non_null(f->slots[connect_from(f, "10.0.0.1", 2)]);
    assert_non_null(f->slots[connect_from(f, "10.0.0.1", 3)]); /* over its share of 2: its oldest goes */
    assert_true(was_cut(f, 0));
    assert_int_equal(atomic_load(&f->cuts.evicted), 1);
    ig_conn_headers_done(f->t, f->slots[1], 4 * S);
    ig_conn_headers_done(f->t, f->slots[2], 4 * S);
    assert_null(f->slots[connect_from(f, "10.0.0.1", 5)]); /* both busy: refused */
    assert_int_equal(atomic_load(&f->cuts.refused), 1);
    assert_non_null(f->slots[connect_from(f, "10.0.0.2", 5)]); /* another host */
    assert_non_null(f->slots[connect_from(f, "127.0.0.1", 5)]);
    assert_false(was_cut(f, 1) || was_cut(f, 2) || was_cut(f, 4) || was_cut(f, 5));
}

static void loopback_has_no_share(void **state)
{
    fixture *f = *state;
    for (uint64_t at = 1; at <= MAXC; at++)
        assert_non_null(f->slots[connect_from(f, "127.0.0.1", at)]);
    assert_int_equal(ig_conns_live(f->t), MAXC);
    assert_int_equal(atomic_load(&f->cuts.evicted), 0);
}

static void headers_must_arrive_in_time(void **state)
{
    fixture *f = *state;
    connect_from(f, "127.0.0.1", 0);
    assert_int_equal(ig_conns_sweep(f->t, 9 * S), 10 * S);
    assert_false(was_cut(f, 0));
    ig_conns_sweep(f->t, 10 * S);
    assert_true(was_cut(f, 0));
    assert_int_equal(atomic_load(&f->cuts.slow), 1);
    assert_int_equal(ig_conns_sweep(f->t, 11 * S), UINT64_MAX); /* cut once */
}

static void a_server_behind_spares_the_client(void **state)
{
    fixture *f = *state;
    connect_from(f, "127.0.0.1", 0);
    assert_int_equal(write(f->peers[0], "POST", 4), 4); /* sent, not yet read by the server */
    assert_int_equal(ig_conns_sweep(f->t, 11 * S), UINT64_MAX);
    assert_false(was_cut(f, 0));
    char buf[4];
    assert_int_equal(read(f->ours[0], buf, sizeof buf), 4);
    ig_conns_sweep(f->t, 11 * S);
    assert_true(was_cut(f, 0));
}

static void a_body_earns_time_at_the_minimum_rate(void **state)
{
    fixture *f = *state;
    connect_from(f, "127.0.0.1", 0);
    ig_conn_headers_done(f->t, f->slots[0], 2 * S);
    assert_int_equal(ig_conns_sweep(f->t, 3 * S), 12 * S);
    ig_conn_body_read(f->t, f->slots[0], 2500); /* 2.5 s more at 1000 bytes/s */
    assert_int_equal(ig_conns_sweep(f->t, 14 * S), 14 * S + S / 2);
    assert_false(was_cut(f, 0));
    ig_conns_sweep(f->t, 15 * S);
    assert_true(was_cut(f, 0));
    assert_int_equal(atomic_load(&f->cuts.slow), 1);
}

static void answering_has_no_deadline_and_idle_has_its_own(void **state)
{
    fixture *f = *state;
    connect_from(f, "127.0.0.1", 0);
    ig_conn_headers_done(f->t, f->slots[0], 1 * S);
    ig_conn_body_done(f->slots[0]);
    assert_int_equal(ig_conns_sweep(f->t, 1000 * S), UINT64_MAX);
    ig_conn_answered(f->t, f->slots[0], 1000 * S);
    assert_int_equal(ig_conns_sweep(f->t, 1059 * S), 1060 * S);
    ig_conns_sweep(f->t, 1060 * S);
    assert_true(was_cut(f, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_pool_closes_the_longest_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(only_a_second_of_waiting_is_stalling, setup, teardown),
        cmocka_unit_test_setup_teardown(a_host_holds_its_share, setup, teardown),
        cmocka_unit_test_setup_teardown(loopback_has_no_share, setup, teardown),
        cmocka_unit_test_setup_teardown(headers_must_arrive_in_time, setup, teardown),
        cmocka_unit_test_setup_teardown(a_server_behind_spares_the_client, setup, teardown),
        cmocka_unit_test_setup_teardown(a_body_earns_time_at_the_minimum_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(answering_has_no_deadline_and_idle_has_its_own, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
