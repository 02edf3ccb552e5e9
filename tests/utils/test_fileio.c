/*
 * tests/utils/test_fileio.c — reading whole inputs that need not be
 * regular files: a device that never ends (/dev/zero) is refused once it
 * passes the limit instead of growing memory without bound (`ignis
 * report /dev/zero` reached 3.4 GB in 45 s), and a file within the limit
 * is read whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endless_device_is_refused),
        cmocka_unit_test(file_within_the_limit_is_read_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
