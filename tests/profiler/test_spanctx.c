/*
 * tests/profiler/test_spanctx.c — the published span context read from
 * outside the process, as a profiler would, against the OTEP 4719 / 4947
 * layouts.
 *
 * tests/trace/spanctx_child (linked with libignis.so) walks through known
 * spans on known threads and stops at each step, printing the ground truth
 * (ids from its own API, thread id, thread pointer, the address of its
 * otel_thread_ctx_v1).  At each stop this test reads the child three ways:
 *   - ig_spanctx_read(tid): the thread directory route the recorder uses;
 *   - ig_spanctx_read_tp(tp): the spec's route (TLS offset from the ELF
 *     relocations, pointer, record);
 *   - raw bytes: the pointer at the child's own slot address and the record
 *     it points to, decoded here with the spec's offsets written out as
 *     numbers (not the reader's nor the writer's structs), so a layout
 *     mistake on either side fails here.
 * Plus: the process context (service.name, schema, key map), the record
 * decoder's bounds, publishing turned off by IGNIS_THREAD_CONTEXT=0, and a
 * process without libignis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "profiler/spanctx.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct child {
    pid_t pid;
    FILE *out; /* its stdout */
    int in;    /* its stdin */
} child;

typedef struct truth {
    int step;
    pid_t tid;
    uint64_t tp, slot;
    char trace[33], span[17], name[128];
    unsigned flags;
} truth;

static char g_child_path[4096];

static void child_start(child *c, const char *env)
{
    int to[2], from[2];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        unsetenv("IGNIS_THREAD_CONTEXT");
        if (env)
            putenv((char *)env);
        setenv("IGNIS_TRACE_QUIET", "1", 1);
        execl(g_child_path, g_child_path, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c->in = to[1];
    c->out = fdopen(from[0], "r");
    assert_non_null(c->out);
}

static void child_next(child *c, truth *t)
{
    char line[512];
    assert_non_null(fgets(line, sizeof line, c->out));
    unsigned long long tp, slot;
    assert_int_equal(sscanf(line, "STEP %d tid=%d tp=%llx slot=%llx trace=%32s span=%16s flags=%u name=%127s", &t->step,
                            &t->tid, &tp, &slot, t->trace, t->span, &t->flags, t->name),
                     8);
    t->tp = tp;
    t->slot = slot;
}

static void child_go(child *c) { assert_int_equal(write(c->in, "g", 1), 1); }

static int child_end(child *c)
{
    close(c->in);
    fclose(c->out);
    int st;
    assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* A reader's result against the truth: span current or not, ids, flags,
 * and the name as published (cut to 64 bytes). */
static void expect_label(int rc, const ig_spanlabel *l, const truth *t)
{
    if (!strcmp(t->trace, "-")) {
        assert_int_equal(rc, 0);
        return;
    }
    assert_int_equal(rc, 1);
    char trace[33], span[17];
    hex(l->trace_id, 16, trace);
    hex(l->span_id, 8, span);
    assert_string_equal(trace, t->trace);
    assert_string_equal(span, t->span);
    assert_int_equal(l->trace_flags, t->flags);
    if (!strcmp(t->name, "-")) {
        assert_int_equal(l->name_len, 0);
    } else {
        size_t want = strlen(t->name) > 64 ? 64 : strlen(t->name);
        assert_int_equal(l->name_len, want);
        assert_memory_equal(l->name, t->name, want);
    }
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* The record through the child's own slot, decoded with the spec's numbers. */
static void expect_raw(pid_t pid, const truth *t)
{
    uint64_t rec = 0;
    assert_int_equal(peek(pid, t->slot, &rec, 8), 0);
    assert_true(rec != 0);       /* libignis keeps the pointer set for the thread's life */
    assert_int_equal(rec % 2, 0); /* records are 2-byte aligned */
    uint8_t b[28 + 2 + 64];
    assert_int_equal(peek(pid, rec, b, sizeof b), 0);
    if (!strcmp(t->trace, "-")) {
        assert_int_not_equal(b[24], 1); /* valid (offset 24) is not 1: no span */
        return;
    }
    assert_int_equal(b[24], 1);
    char trace[33], span[17];
    hex(b + 0, 16, trace);  /* trace-id: uint8[16] at 0 */
    hex(b + 16, 8, span);   /* span-id: uint8[8] at 16 */
    assert_string_equal(trace, t->trace);
    assert_string_equal(span, t->span);
    assert_int_equal(b[25], t->flags); /* trace-flags at 25 */
    uint16_t size = (uint16_t)(b[26] | b[27] << 8); /* attrs-data-size at 26 (little-endian host) */
    if (!strcmp(t->name, "-")) {
        assert_int_equal(size, 0);
        return;
    }
    size_t want = strlen(t->name) > 64 ? 64 : strlen(t->name);
    assert_int_equal(size, 2 + want);
    assert_int_equal(b[28], 0);    /* key index 0: span_name */
    assert_int_equal(b[29], want); /* length */
    assert_memory_equal(b + 30, t->name, want);
}

static void test_reads_known_spans(void **state)
{
    (void)state;
    child c;
    child_start(&c, NULL);
    truth t;
    child_next(&c, &t);
    ig_spanctx *ctx;
    ig_err err = {{0}};
    if (ig_spanctx_open(c.pid, &ctx, &err) < 0)
        fail_msg("open: %s", err.msg);
    assert_string_equal(ig_spanctx_resource(ctx, "service.name", NULL), "spanctx-child");
    assert_string_equal(ig_spanctx_schema(ctx), "tlsdesc_v1_dev");
    assert_string_equal(ig_spanctx_resource(ctx, "threadlocal.attribute_key_map", NULL), "[span_name]");
    int64_t off;
    if (ig_spanctx_tls_offset(ctx, &off, &err) < 0)
        fail_msg("tls: %s", err.msg);
    pid_t main_tid = t.tid, worker_tid = 0;
    truth main_truth = t;
    for (;;) {
        ig_spanlabel l;
        assert_int_equal((int64_t)(t.tp + (uint64_t)off), (int64_t)t.slot); /* the spec's route finds the slot */
        expect_label(ig_spanctx_read(ctx, t.tid, &l), &l, &t);
        expect_label(ig_spanctx_read_tp(ctx, t.tp, &l), &l, &t);
        expect_raw(c.pid, &t);
        if (t.tid == main_tid)
            main_truth = t;
        if (t.step == 5) { /* the worker's span; main is still in outer */
            worker_tid = t.tid;
            expect_label(ig_spanctx_read(ctx, main_tid, &l), &l, &main_truth);
            assert_string_equal(l.name, "outer");
        }
        if (t.step == 6) /* the worker exited: its thread id is not answered for */
            assert_int_equal(ig_spanctx_read(ctx, worker_tid, &l), -1);
        assert_int_equal(ig_spanctx_read(ctx, 0x7ffffff0, &l), -1); /* not a thread of the child */
        child_go(&c);
        if (t.step == 8)
            break;
        child_next(&c, &t);
    }
    assert_int_equal(worker_tid != 0, 1);
    ig_spanctx_free(ctx);
    assert_int_equal(child_end(&c), 0);
}

/* Two reads that agree on seq saw no change in between; a scope change
 * moves seq. */
static void test_seq_counts_updates(void **state)
{
    (void)state;
    child c;
    child_start(&c, NULL);
    truth t;
    child_next(&c, &t); /* 1 */
    ig_spanctx *ctx;
    ig_err err;
    assert_int_equal(ig_spanctx_open(c.pid, &ctx, &err), 0);
    ig_spanlabel a, b;
    assert_int_equal(ig_spanctx_read(ctx, t.tid, &a), 0);
    assert_int_equal(ig_spanctx_read(ctx, t.tid, &b), 0);
    assert_int_equal(a.seq, b.seq);
    child_go(&c);
    child_next(&c, &t); /* 2: outer pushed */
    assert_int_equal(ig_spanctx_read(ctx, t.tid, &b), 1);
    assert_true(b.seq != a.seq);
    child_go(&c);
    for (int i = 3; i <= 8; i++) {
        child_next(&c, &t);
        child_go(&c);
    }
    ig_spanctx_free(ctx);
    assert_int_equal(child_end(&c), 0);
}

static void test_publishing_off(void **state)
{
    (void)state;
    child c;
    child_start(&c, "IGNIS_THREAD_CONTEXT=0");
    truth t;
    child_next(&c, &t);
    ig_spanctx *ctx;
    ig_err err = {{0}};
    assert_int_equal(ig_spanctx_open(c.pid, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "publishes no OpenTelemetry process context"));
    child_go(&c);
    child_next(&c, &t); /* 2: a span is current, and nothing is published */
    uint64_t rec = 1;
    assert_int_equal(peek(c.pid, t.slot, &rec, 8), 0);
    assert_true(rec == 0);
    child_go(&c);
    for (int i = 3; i <= 8; i++) {
        child_next(&c, &t);
        child_go(&c);
    }
    assert_int_equal(child_end(&c), 0);
}

static void test_no_libignis(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    ig_spanctx *ctx;
    ig_err err = {{0}};
    assert_int_equal(ig_spanctx_open(pid, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "publishes no OpenTelemetry process context"));
    assert_int_equal(ig_spanctx_open(-1, &ctx, &err), -1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The decoder alone: hostile sizes, incomplete entries, the last duplicate wins. */
static void test_decode_record_bounds(void **state)
{
    (void)state;
    uint8_t b[64] = {0};
    for (int i = 0; i < 24; i++)
        b[i] = (uint8_t)(i + 1);
    b[24] = 1;
    b[25] = 1;
    b[26] = 0xff; /* attrs-data-size 0xffff: far past what was read */
    b[27] = 0xff;
    b[28] = 0, b[29] = 3, memcpy(b + 30, "abc", 3);
    b[33] = 0, b[34] = 2, memcpy(b + 35, "xy", 2); /* the same key again: wins */
    b[37] = 0, b[38] = 200;                        /* runs past the end: ignored */
    ig_spanlabel l;
    assert_int_equal(ig_spanctx_decode_record(b, sizeof b, 0, &l), 1);
    assert_int_equal(l.name_len, 2);
    assert_string_equal(l.name, "xy");
    assert_int_equal(l.trace_id[0], 1);
    assert_int_equal(l.span_id[7], 24);
    assert_int_equal(ig_spanctx_decode_record(b, sizeof b, 5, &l), 1); /* key not span_name */
    assert_int_equal(l.name_len, 0);
    assert_int_equal(ig_spanctx_decode_record(b, 27, 0, &l), 0); /* shorter than the header */
    b[24] = 2;                                                     /* reserved value: invalid */
    assert_int_equal(ig_spanctx_decode_record(b, sizeof b, 0, &l), 0);
}

/* ---- a process context another SDK wrote: strings holding U+0000 ---------------------- */

/* Protobuf by hand: a length-delimited field (tag byte, one-byte length). */
static size_t put_ld(uint8_t *out, uint8_t tag, const void *data, size_t len)
{
    assert_true(len < 128);
    out[0] = tag;
    out[1] = (uint8_t)len;
    memcpy(out + 2, data, len);
    return 2 + len;
}

/* KeyValue{key, AnyValue{string_value}} as a Resource attribute (field 1). */
static size_t put_string_attr(uint8_t *out, const char *key, size_t klen, const char *val, size_t vlen)
{
    uint8_t any[128], kv[256];
    size_t na = put_ld(any, 0x0a, val, vlen);
    size_t nk = put_ld(kv, 0x0a, key, klen);
    nk += put_ld(kv + nk, 0x12, any, na);
    return put_ld(out, 0x0a, kv, nk);
}

/* threadlocal.attribute_key_map = ["span_name\0x", "span_name"]. */
static size_t put_key_map(uint8_t *out)
{
    uint8_t e1[32], e2[32], arr[96], any[128], kv[192];
    size_t n1 = put_ld(e1, 0x0a, "span_name\0x", 11), n2 = put_ld(e2, 0x0a, "span_name", 9);
    size_t na = put_ld(arr, 0x0a, e1, n1);
    na += put_ld(arr + na, 0x0a, e2, n2);
    size_t ny = put_ld(any, 0x2a, arr, na); /* AnyValue.array_value */
    const char *key = "threadlocal.attribute_key_map";
    size_t nk = put_ld(kv, 0x0a, key, strlen(key));
    nk += put_ld(kv + nk, 0x12, any, ny);
    return put_ld(out, 0x0a, kv, nk);
}

/* A child that publishes this payload as its OTEP 4719 process context
 * (a memfd named OTEL_CTX, version 2), as any SDK may, then waits. */
static pid_t publish_child(const uint8_t *payload, size_t n, int *release)
{
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        int fd = memfd_create("OTEL_CTX", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, 4096) < 0)
            _exit(1);
        uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            _exit(1);
        uint8_t *copy = malloc(n);
        memcpy(copy, payload, n);
        uint32_t version = 2, size = (uint32_t)n;
        uint64_t at = 1, addr = (uint64_t)(uintptr_t)copy;
        memcpy(m + 8, &version, 4);
        memcpy(m + 12, &size, 4);
        memcpy(m + 16, &at, 8);
        memcpy(m + 24, &addr, 8);
        memcpy(m, "OTEL_CTX", 8);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *release = go[1];
    return pid;
}

/* A resource string holding U+0000 is kept whole (key and value, with
 * their lengths), and a key map entry "span_name\0x" is not span_name:
 * the name is at index 1, so span labels read the right attribute. */
static void test_resource_strings_with_nul(void **state)
{
    (void)state;
    uint8_t payload[1024];
    size_t n = put_string_attr(payload, "service.name", 12, "svc\0tail", 8);
    n += put_string_attr(payload + n, "deployment\0env", 14, "prod", 4);
    n += put_key_map(payload + n);
    int release;
    pid_t pid = publish_child(payload, n, &release);
    ig_spanctx *ctx;
    ig_err err = {{0}};
    int rc = ig_spanctx_open(pid, &ctx, &err);
    close(release);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (rc < 0)
        fail_msg("open: %s", err.msg);
    assert_int_equal(ig_spanctx_name_key(ctx), 1);
    size_t len = 0;
    const char *v = ig_spanctx_resource(ctx, "service.name", &len);
    assert_non_null(v);
    assert_int_equal(len, 8);
    assert_memory_equal(v, "svc\0tail", 9);
    assert_null(ig_spanctx_resource(ctx, "deployment", NULL)); /* a key is matched whole */
    assert_int_equal(ig_spanctx_resource_count(ctx), 3);
    ig_spanctx_attr a;
    assert_true(ig_spanctx_resource_at(ctx, 1, &a));
    assert_int_equal(a.key_len, 14);
    assert_memory_equal(a.key, "deployment\0env", 15);
    assert_int_equal(a.value_len, 4);
    assert_string_equal(a.value, "prod");
    assert_true(ig_spanctx_resource_at(ctx, 2, &a));
    assert_int_equal(a.value_len, 23); /* [span_name\0x,span_name] */
    assert_memory_equal(a.value, "[span_name\0x,span_name]", 24);
    ig_spanctx_free(ctx);
}

int main(void)
{
    const char *b = getenv("IGNIS_BUILD");
    snprintf(g_child_path, sizeof g_child_path, "%s/tests/trace/spanctx_child", b && *b ? b : "build");
    if (access(g_child_path, X_OK) != 0) {
        fprintf(stderr, "test_spanctx: %s not built\n", g_child_path);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_known_spans), cmocka_unit_test(test_seq_counts_updates),
        cmocka_unit_test(test_publishing_off),    cmocka_unit_test(test_no_libignis),
        cmocka_unit_test(test_decode_record_bounds), cmocka_unit_test(test_resource_strings_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
