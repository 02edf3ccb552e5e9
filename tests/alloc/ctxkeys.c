/*
 * tests/alloc/ctxkeys.c — a target that publishes its span context itself,
 * as an SDK other than libignis may, with a process context whose
 * threadlocal.attribute_key_map is ["span_name\0x", "span_name"]: the
 * first entry holds U+0000 and is NOT span_name.  Its thread record
 * carries attribute 0 = "wrong" and attribute 1 = "rig\0ht" (a span name
 * holding U+0000 too), so a reader that cuts strings at the NUL labels its
 * allocations span_name=wrong, one that keeps them whole
 * span_name=rig\u0000ht (the profile model shows a NUL as that text).
 *
 * OTEP 4719: a memfd named OTEL_CTX holding the 32-byte header (version 2,
 * payload size, a non-zero timestamp, the payload's address); OTEP 4947:
 * the TLS pointer otel_thread_ctx_v1 (exported: built with -rdynamic, so
 * dlsym finds it) to a record {trace id, span id, valid, flags,
 * attrs-size, {key, len, bytes}...}.  Then it allocates 64 MiB in 4 KiB
 * blocks inside that span, and exits 0.  With -c it computes instead, in
 * burn(), inside that span (for CPU samples' span labels): it starts when
 * it reads a byte on stdin, so that a recorder can say first that it
 * follows the process, and does a fixed amount of work.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((visibility("default"))) __thread void *otel_thread_ctx_v1;

/* A length-delimited protobuf field (tag byte, one-byte length). */
static size_t put_ld(uint8_t *out, uint8_t tag, const void *data, size_t len)
{
    out[0] = tag;
    out[1] = (uint8_t)len;
    memcpy(out + 2, data, len);
    return 2 + len;
}

/* Resource{attributes: [threadlocal.attribute_key_map = ["span_name\0x", "span_name"]]} */
static size_t payload(uint8_t *out)
{
    uint8_t e1[32], e2[32], arr[96], any[128], kv[192];
    size_t n1 = put_ld(e1, 0x0a, "span_name\0x", 11), n2 = put_ld(e2, 0x0a, "span_name", 9);
    size_t na = put_ld(arr, 0x0a, e1, n1);
    na += put_ld(arr + na, 0x0a, e2, n2);
    size_t ny = put_ld(any, 0x2a, arr, na);
    const char *key = "threadlocal.attribute_key_map";
    size_t nk = put_ld(kv, 0x0a, key, strlen(key));
    nk += put_ld(kv + nk, 0x12, any, ny);
    return put_ld(out, 0x0a, kv, nk);
}

static int publish(void)
{
    static uint8_t pb[256];
    size_t n = payload(pb);
    int fd = memfd_create("OTEL_CTX", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 4096) < 0)
        return -1;
    uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -1;
    uint32_t version = 2, size = (uint32_t)n;
    uint64_t at = 1, addr = (uint64_t)(uintptr_t)pb;
    memcpy(m + 8, &version, 4);
    memcpy(m + 12, &size, 4);
    memcpy(m + 16, &at, 8);
    memcpy(m + 24, &addr, 8);
    memcpy(m, "OTEL_CTX", 8);
    return 0;
}

static __attribute__((noinline)) uint64_t burn(void)
{
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < 600000000L; i++) { /* xorshift: no call, no memory */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

int main(int argc, char **argv)
{
    int cpu = argc > 1 && !strcmp(argv[1], "-c");
    if (publish() < 0) {
        perror("ctxkeys: OTEL_CTX");
        return 1;
    }
    static uint8_t rec[640] __attribute__((aligned(8)));
    memset(rec, 0x11, 16);      /* trace id */
    memset(rec + 16, 0x22, 8);  /* span id */
    rec[24] = 1;                /* valid */
    rec[25] = 1;                /* sampled */
    const uint8_t attrs[] = {0, 5, 'w', 'r', 'o', 'n', 'g', 1, 6, 'r', 'i', 'g', 0, 'h', 't'};
    uint16_t asize = sizeof attrs;
    memcpy(rec + 26, &asize, 2);
    memcpy(rec + 28, attrs, sizeof attrs);
    /* volatile stores: gcc knows malloc and free read no memory of ours,
     * and would drop a plain store overwritten after the loop */
    *(void *volatile *)&otel_thread_ctx_v1 = rec;
    if (cpu) {
        char go;
        if (read(0, &go, 1) != 1)
            return 1;
        printf("%llu\n", (unsigned long long)burn());
    }
    for (int i = 0; !cpu && i < 16384; i++) {
        volatile char *p = malloc(4096);
        if (p)
            p[0] = 1;
        free((void *)p);
    }
    *(void *volatile *)&otel_thread_ctx_v1 = NULL;
    return 0;
}
