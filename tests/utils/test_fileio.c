/*
 * tests/utils/test_fileio.c — reading whole inputs that need not be
 * regular files: a device that never ends (/dev/zero) is refused once it
 * passes the limit instead of growing memory without bound (`ignis
 * report /dev/zero` reached 3.4 GB in 45 s), and a file within the limit
 * is read whole.  ig_gunzip_checked shows its check the first inflated
 * bytes of a big stream, stops there when the check refuses them, and
 * never checks (nor stops) a stream that inflates to less; an ig_ofile
 * on /dev/fd/N writes through that descriptor (its O_APPEND kept); an
 * input read from a descriptor shows its check the first bytes and stops
 * when refused, and /dev/fd/N of a socket is read through the descriptor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "utils/err.h"
#include "utils/fileio.h"

static void endless_device_is_refused(void **state)
{
    (void)state;
    uint8_t *data = NULL;
    size_t len = 0;
    ig_err err = {0};
    assert_int_equal(ig_read_file_max("/dev/zero", &data, &len, 1 << 20, &err), -1);
    assert_null(data);
    assert_non_null(strstr(err.msg, "/dev/zero"));
    assert_non_null(strstr(err.msg, "too large"));
}

static void file_within_the_limit_is_read_whole(void **state)
{
    (void)state;
    char path[] = "/tmp/ignis-test-fileio.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    uint8_t *data = NULL;
    size_t len = 0;
    ig_err err = {0};
    assert_int_equal(ig_read_file_max(path, &data, &len, 10, &err), 0);
    assert_int_equal(len, 10);
    assert_memory_equal(data, "0123456789", 10);
    free(data);
    data = NULL;
    assert_int_equal(ig_read_file_max(path, &data, &len, 9, &err), -1); /* one byte over */
    assert_null(data);
    unlink(path);
}

typedef struct seen {
    size_t calls, len;
    int refuse;
} seen;

static int note_head(const uint8_t *head, size_t len, void *ctx, ig_err *err)
{
    seen *s = ctx;
    s->calls++;
    s->len = len;
    assert_int_equal(head[len], 0); /* NUL-terminated, as documented */
    return s->refuse ? ig_err_set(err, "refused at %zu bytes", len) : 0;
}

static void gunzip_check_sees_the_head_only(void **state)
{
    (void)state;
    size_t big = 8u << 20;
    uint8_t *plain = calloc(1, big), *gz, *out = NULL;
    size_t gzlen, outlen;
    ig_err err = {0};
    assert_int_equal(ig_gzip(plain, big, &gz, &gzlen, 6, &err), 0);
    seen s = {.refuse = 1};
    assert_int_equal(ig_gunzip_checked(gz, gzlen, &out, &outlen, big, note_head, &s, &err), -1);
    assert_int_equal(s.calls, 1);
    assert_true(s.len >= IG_GUNZIP_HEAD && s.len < 4 * IG_GUNZIP_HEAD); /* stopped long before the 8 MB */
    assert_null(out);
    assert_non_null(strstr(err.msg, "refused at"));
    s = (seen){0}; /* accepted: the whole stream comes out, checked once */
    assert_int_equal(ig_gunzip_checked(gz, gzlen, &out, &outlen, big, note_head, &s, &err), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(outlen, big);
    assert_memory_equal(out, plain, big);
    free(out);
    free(gz);
    s = (seen){.refuse = 1}; /* shorter than the head: never checked */
    assert_int_equal(ig_gzip(plain, 100, &gz, &gzlen, 6, &err), 0);
    assert_int_equal(ig_gunzip_checked(gz, gzlen, &out, &outlen, big, note_head, &s, &err), 0);
    assert_int_equal(s.calls, 0);
    assert_int_equal(outlen, 100);
    free(out);
    free(gz);
    free(plain);
}

/* A stream's first bytes go to the check as soon as they are read: an
 * endless device it refuses costs the head, not the cap. */
static void read_fd_check_stops_an_endless_stream(void **state)
{
    (void)state;
    int fd = open("/dev/zero", O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *data = NULL;
    size_t len = 0;
    ig_err err = {0};
    seen s = {.refuse = 1};
    assert_int_equal(ig_read_fd_max(fd, &data, &len, (size_t)1 << 30, note_head, &s, &err), -1);
    assert_int_equal(s.calls, 1);
    assert_true(s.len >= IG_GUNZIP_HEAD && s.len < 2 * IG_GUNZIP_HEAD);
    assert_null(data);
    assert_non_null(strstr(err.msg, "refused at"));
    close(fd);
    /* accepted: read on to the cap, checked once */
    fd = open("/dev/zero", O_RDONLY);
    s = (seen){0};
    assert_int_equal(ig_read_fd_max(fd, &data, &len, 1 << 20, note_head, &s, &err), -1);
    assert_int_equal(s.calls, 1);
    assert_non_null(strstr(err.msg, "too large to read"));
    close(fd);
}

/* "-" and /dev/fd/N are read through the descriptor, from its offset,
 * never reopened by name. */
static void input_open_uses_own_descriptors(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], "abc", 3), 3);
    close(sv[0]);
    char name[64];
    snprintf(name, sizeof name, "/dev/fd/%d", sv[1]);
    ig_err err = {0};
    int own = 0, fd = ig_input_open(name, &own, &err); /* a socket: open(2) of the name fails */
    assert_true(fd >= 0 && fd != sv[1]);
    assert_true(own);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(ig_read_fd_max(fd, &data, &len, 100, NULL, NULL, &err), 0);
    assert_int_equal(len, 3);
    assert_string_equal((char *)data, "abc");
    free(data);
    close(fd);
    close(sv[1]);
    assert_int_equal(ig_input_open(name, &own, &err), -1); /* closed now */
    assert_non_null(strstr(err.msg, name));
}

static void ofile_on_own_descriptor_appends(void **state)
{
    (void)state;
    char path[] = "/tmp/ignis-test-fileio.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "before\n", 7), 7);
    char name[64];
    snprintf(name, sizeof name, "/dev/fd/%d", fd);
    ig_err err = {0};
    assert_int_equal(ig_write_file_atomic(name, "ours\n", 5, &err), 0);
    snprintf(name, sizeof name, "/proc/%d/fd/%d", (int)getpid(), fd);
    assert_int_equal(ig_write_file_atomic(name, "again\n", 6, &err), 0);
    assert_int_equal(write(fd, "after\n", 6), 6);
    close(fd);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(ig_read_file(path, &data, &len, &err), 0);
    assert_string_equal((char *)data, "before\nours\nagain\nafter\n");
    free(data);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endless_device_is_refused),
        cmocka_unit_test(file_within_the_limit_is_read_whole),
        cmocka_unit_test(gunzip_check_sees_the_head_only),
        cmocka_unit_test(ofile_on_own_descriptor_appends),
        cmocka_unit_test(read_fd_check_stops_an_endless_stream),
        cmocka_unit_test(input_open_uses_own_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
