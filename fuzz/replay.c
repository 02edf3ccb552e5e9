/*
 * fuzz/replay.c — replays a fuzz target's committed corpus without
 * libFuzzer, so that every input that once crashed a parser stays a
 * regression test in `make test` (built with gcc, and with ASan under
 * SANITIZE=1).  Included by tests/fuzz/replay_NAME.c after the target.
 *
 * The including file defines FUZZ_NAME; the corpus is fuzz/corpus/NAME/.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void replay_corpus(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", FUZZ_NAME);
    DIR *d = opendir(dir);
    if (!d) {
        skip();
        return;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        size_t got = fread(buf, 1, (size_t)(len > 0 ? len : 0), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, got);
        free(buf);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(replay_corpus)};
    return cmocka_run_group_tests_name(FUZZ_NAME, tests, NULL, NULL);
}
