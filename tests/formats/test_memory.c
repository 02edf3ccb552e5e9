/*
 * tests/formats/test_memory.c — memory of the readers is bounded by their
 * input (issue 11, item 3).
 *
 * Each case runs in a forked child whose address space may grow by only a
 * small multiple of the input (setrlimit(RLIMIT_AS), what `ulimit -v`
 * does): an allocation past it fails, ig_xmalloc aborts, and the child's
 * death fails the test.  Hostile inputs are built here: pprof tables of
 * millions of empty or near-empty elements (protobuf-c spends 40-90 bytes
 * on each two- to five-byte element when it unpacks a whole Profile), and
 * a gzip stream of zeros several times the inflate cap.  Sanitizer builds
 * reserve terabytes of shadow memory, so there the cases only check the
 * results, not the limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "exporters/formats.h"
#include "utils/fileio.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMITS_WORK 0
#else
#define LIMITS_WORK 1
#endif

#define MiB ((size_t)1 << 20)

static size_t address_space_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

typedef int (*bounded_fn)(const void *arg);

/* Runs fn(arg) in a child that may map at most `budget` more bytes; returns
 * its exit status, or 128 + the signal that killed it. */
static int run_bounded(size_t budget, bounded_fn fn, const void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (LIMITS_WORK) {
            /* big blocks mmapped, so a realloc moves pages instead of
             * copying (the heap would briefly hold both copies) */
            mallopt(M_MMAP_THRESHOLD, 128 << 10);
            rlim_t limit = (rlim_t)(address_space_now() + budget);
            struct rlimit rl = {limit, limit};
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(99);
        }
        _exit(fn(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- pprof tables --------------------------------------------------------- */

typedef struct buf {
    uint8_t *d;
    size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static void put_varint(buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, t, n);
}

/* Profile field `field` holding a message {1: id} (id 0: empty message). */
static void put_element_with_id(buf *b, unsigned field, uint64_t id)
{
    buf inner = {0};
    if (id) {
        put(&inner, "\x08", 1);
        put_varint(&inner, id);
    }
    put_varint(b, field << 3 | 2);
    put_varint(b, inner.len);
    if (inner.len)
        put(b, inner.d, inner.len);
    free(inner.d);
}

typedef struct pprof_case {
    buf in;
    int want_rc;          /* ig_pprof_read's result */
    const char *want_err; /* substring of the error, when it fails */
} pprof_case;

static int read_pprof(const void *arg)
{
    const pprof_case *c = arg;
    ignis_profile *p = NULL;
    ig_err err = {{0}};
    int rc = ig_pprof_read(c->in.d, c->in.len, &p, &err);
    ignis_profile_free(p);
    if (rc != c->want_rc) {
        fprintf(stderr, "ig_pprof_read returned %d (%s), want %d\n", rc, err.msg, c->want_rc);
        return 1;
    }
    if (rc && !strstr(err.msg, c->want_err)) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, c->want_err);
        return 2;
    }
    return 0;
}

/* A profile of a few MiB whose memory must stay under 8x its size + 16 MiB. */
static void check_pprof(pprof_case *c)
{
    size_t budget = 8 * c->in.len + 16 * MiB;
    assert_int_equal(run_bounded(budget, read_pprof, c), 0);
    free(c->in.d);
}

#define ELEMENTS ((size_t)1 << 21)

static void empty_strings(void **state)
{
    (void)state;
    pprof_case c = {{0}, 0, NULL};
    for (size_t i = 0; i < 4 * ELEMENTS; i++)
        put(&c.in, "\x32\x00", 2); /* string_table: "" */
    check_pprof(&c);
}

static void empty_locations(void **state)
{
    (void)state;
    pprof_case c = {{0}, -1, "location with id 0"};
    put(&c.in, "\x32\x00", 2);
    for (size_t i = 0; i < 4 * ELEMENTS; i++)
        put_element_with_id(&c.in, 4, 0);
    check_pprof(&c);
}

/* Locations, functions, mappings with distinct ids and nothing else:
 * valid, and all alike for the model. */
static void tables_of_bare_ids(unsigned field)
{
    pprof_case c = {{0}, 0, NULL};
    put(&c.in, "\x32\x00", 2);
    for (size_t i = 1; i <= ELEMENTS; i++)
        put_element_with_id(&c.in, field, i);
    check_pprof(&c);
}

static void bare_locations(void **state)
{
    (void)state;
    tables_of_bare_ids(4);
}

static void bare_functions(void **state)
{
    (void)state;
    tables_of_bare_ids(5);
}

static void bare_mappings(void **state)
{
    (void)state;
    tables_of_bare_ids(3);
}

static void empty_sample_types(void **state)
{
    (void)state;
    pprof_case c = {{0}, 0, NULL};
    put(&c.in, "\x32\x00", 2);
    for (size_t i = 0; i < 4 * ELEMENTS; i++)
        put(&c.in, "\x0a\x00", 2); /* sample_type: {} */
    check_pprof(&c);
}

/* One sample with two million empty labels: refused by the decoding
 * budget rather than allowed ~70 bytes per 2-byte label. */
static void sample_of_empty_labels(void **state)
{
    (void)state;
    pprof_case c = {{0}, -1, "sample 0: decoding its"};
    put(&c.in, "\x32\x00\x0a\x00", 4);
    buf s = {0};
    put(&s, "\x10\x01", 2); /* value: 1 */
    for (size_t i = 0; i < 2 * ELEMENTS; i++)
        put(&s, "\x1a\x00", 2);
    put(&c.in, "\x12", 1);
    put_varint(&c.in, s.len);
    put(&c.in, s.d, s.len);
    free(s.d);
    check_pprof(&c);
}

/* Four million "period" fields: protobuf-c would keep 32-64 bytes of
 * bookkeeping for each 2-byte field; only the last one counts. */
static void repeated_scalars(void **state)
{
    (void)state;
    pprof_case c = {{0}, 0, NULL};
    put(&c.in, "\x32\x00", 2);
    for (size_t i = 0; i < 4 * ELEMENTS; i++)
        put(&c.in, "\x60\x01", 2);
    check_pprof(&c);
}

/* Big but real elements still read: a location with 5000 inlined lines,
 * a sample with 3000 labels. */
static void big_real_elements(void **state)
{
    (void)state;
    pprof_case c = {{0}, 0, NULL};
    put(&c.in, "\x0a\x04\x08\x01\x10\x02\x32\x00\x32\x01" "s" "\x32\x01" "c" "\x32\x01" "f", 17);
    put(&c.in, "\x2a\x04\x08\x01\x10\x03", 6); /* function 1 "f" */
    buf loc = {0};
    put(&loc, "\x08\x01", 2);
    for (size_t i = 0; i < 5000; i++)
        put(&loc, "\x22\x04\x08\x01\x10\x07", 6); /* line {function 1, line 7} */
    put(&c.in, "\x22", 1);
    put_varint(&c.in, loc.len);
    put(&c.in, loc.d, loc.len);
    buf s = {0};
    put(&s, "\x0a\x01\x01\x12\x01\x05", 6); /* location 1, value 5 */
    for (size_t i = 0; i < 3000; i++)
        put(&s, "\x1a\x04\x08\x02\x10\x03", 6); /* label {key "s", str "c"} */
    put(&c.in, "\x12", 1);
    put_varint(&c.in, s.len);
    put(&c.in, s.d, s.len);
    free(loc.d);
    free(s.d);
    check_pprof(&c);
}

/* ---- gzip ------------------------------------------------------------------ */

typedef struct gz_case {
    uint8_t *gz;
    size_t len, cap_bytes;
} gz_case;

static int inflate_capped(const void *arg)
{
    const gz_case *c = arg;
    uint8_t *out = NULL;
    size_t outlen = 0;
    ig_err err = {{0}};
    int rc = ig_gunzip(c->gz, c->len, &out, &outlen, c->cap_bytes, &err);
    free(out);
    if (rc == 0 || !strstr(err.msg, "decompressed data larger than")) {
        fprintf(stderr, "ig_gunzip: %d '%s'\n", rc, err.msg);
        return 1;
    }
    return 0;
}

/* `total` zero bytes as one gzip member, deflated from a small buffer. */
static uint8_t *gzip_zeros(size_t total, size_t *len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    static uint8_t zeros[1 << 20];
    size_t cap = total / 256 + 4096;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    for (size_t done = 0; done < total; done += sizeof zeros) {
        zs.next_in = zeros;
        zs.avail_in = sizeof zeros;
        assert_int_equal(deflate(&zs, done + sizeof zeros >= total ? Z_FINISH : Z_NO_FLUSH) >= 0, 1);
        assert_int_equal(zs.avail_in, 0);
    }
    *len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* 256 MiB of zeros against a 32 MiB cap: the output stops at the cap, so
 * the child never holds much more than 32 MiB (it held 64 when the cap was
 * checked only after a doubled buffer had been filled). */
static void gunzip_stops_at_the_cap(void **state)
{
    (void)state;
    gz_case c = {NULL, 0, 32 * MiB};
    c.gz = gzip_zeros(256 * MiB, &c.len);
    assert_int_equal(run_bounded(c.cap_bytes + 12 * MiB, inflate_capped, &c), 0);
    free(c.gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_strings),       cmocka_unit_test(empty_locations),
        cmocka_unit_test(bare_locations),      cmocka_unit_test(bare_functions),
        cmocka_unit_test(bare_mappings),       cmocka_unit_test(empty_sample_types),
        cmocka_unit_test(sample_of_empty_labels), cmocka_unit_test(repeated_scalars),
        cmocka_unit_test(big_real_elements),   cmocka_unit_test(gunzip_stops_at_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
