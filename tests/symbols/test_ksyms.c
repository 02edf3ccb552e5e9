/*
 * tests/symbols/test_ksyms.c — kernel symbols (kallsyms text, including a
 * kptr_restrict-zeroed one and the live /proc/kallsyms when readable) and
 * JIT perf maps (/tmp/perf-PID.map format, reload on change).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiler/symbols.h"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = strdup("/tmp/ig-ksymtest-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    int rc = system(cmd);
    free(tmpdir);
    return rc;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void kallsyms_text_symbols_sorted(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/kallsyms", tmpdir);
    write_text(path, "ffffffff81002000 T do_work\n"
                     "ffffffff81000000 T _stext\n"
                     "ffffffff81001000 t helper_local\n"
                     "ffffffff81001800 D some_data\n"
                     "garbage line\n"
                     "ffffffff81003000 t mod_func\t[mymod]\n"
                     "ffffffff81004000 W weak_one\n");
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_kallsyms_path(st, path);
    assert_null(ig_symtab_kernel(st, 0xffffffff80ffffffull));
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81000000ull), "_stext");
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81000fffull), "_stext");
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81001000ull), "helper_local");
    /* data symbols are not code: helper_local extends over them */
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81001900ull), "helper_local");
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81002010ull), "do_work");
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81003004ull), "mod_func");
    assert_string_equal(ig_symtab_kernel(st, 0xffffffff81004004ull), "weak_one");
    /* the last symbol does not extend forever */
    assert_null(ig_symtab_kernel(st, 0xffffffff91000000ull));
    ig_symtab_free(st);
}

static void kallsyms_restricted_gives_null(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/kallsyms0", tmpdir);
    write_text(path, "0000000000000000 T _stext\n0000000000000000 T do_work\n");
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_kallsyms_path(st, path);
    assert_null(ig_symtab_kernel(st, 0));
    assert_null(ig_symtab_kernel(st, 0xffffffff81000000ull));
    ig_symtab_free(st);
    st = ig_symtab_new();
    ig_symtab_set_kallsyms_path(st, "/no/such/kallsyms");
    assert_null(ig_symtab_kernel(st, 0xffffffff81000000ull));
    ig_symtab_free(st);
}

/* Against the live table: a text symbol whose address no other symbol
 * shares must come back for its address and the byte after. */
static void live_kallsyms(void **state)
{
    (void)state;
    FILE *f = fopen("/proc/kallsyms", "r");
    if (!f)
        skip();
    char line[512], prev_name[256] = "", name[256], type;
    uint64_t prev = 0, addr, pick = 0;
    char picked[256] = "";
    int prev_unique_candidate = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3)
            continue;
        /* prev is unique if it differs from both neighbours */
        if (prev_unique_candidate && addr > prev + 1) {
            pick = prev;
            snprintf(picked, sizeof picked, "%s", prev_name);
            break;
        }
        prev_unique_candidate = (type == 'T' || type == 't') && addr != prev && !strchr(line, '[');
        prev = addr;
        snprintf(prev_name, sizeof prev_name, "%s", name);
    }
    fclose(f);
    if (!pick)
        skip(); /* kptr_restrict: all zeros */
    ig_symtab *st = ig_symtab_new();
    const char *got = ig_symtab_kernel(st, pick);
    assert_non_null(got);
    assert_string_equal(got, picked);
    assert_string_equal(ig_symtab_kernel(st, pick + 1), picked);
    ig_symtab_free(st);
}

static void perfmap_parse_and_lookup(void **state)
{
    (void)state;
    int pid = 4242;
    char path[512];
    snprintf(path, sizeof path, "%s/perf-%d.map", tmpdir, pid);
    write_text(path, "7f0000001000 100 LazyCompile:~foo /app/a.js:1\n"
                     "0x7f0000002000 0x80 Builtin:bar\n"
                     "not a line\n"
                     "7f0000003000 0 zero_size\n"
                     "7f0000001000 40 replaced_later\n");
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_perfmap_dir(st, tmpdir);
    assert_null(ig_symtab_perfmap(st, pid, 0x7f0000000fffull));
    /* later lines win at the same start */
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x7f0000001000ull), "replaced_later");
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x7f000000103full), "replaced_later");
    assert_null(ig_symtab_perfmap(st, pid, 0x7f0000001040ull));
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x7f000000207full), "Builtin:bar");
    assert_null(ig_symtab_perfmap(st, pid, 0x7f0000002080ull));
    assert_null(ig_symtab_perfmap(st, pid, 0x7f0000003000ull));
    assert_null(ig_symtab_perfmap(st, pid + 1, 0x7f0000002000ull));
    ig_symtab_free(st);
}

/* New JIT code is appended: the miss re-reads the changed file. */
static void perfmap_reloads_when_changed(void **state)
{
    (void)state;
    int pid = 4343;
    char path[512];
    snprintf(path, sizeof path, "%s/perf-%d.map", tmpdir, pid);
    write_text(path, "1000 10 first\n");
    ig_symtab *st = ig_symtab_new();
    ig_symtab_set_perfmap_dir(st, tmpdir);
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x1005), "first");
    assert_null(ig_symtab_perfmap(st, pid, 0x2005));
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("2000 10 second with spaces\n", f);
    fclose(f);
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x2005), "second with spaces");
    assert_string_equal(ig_symtab_perfmap(st, pid, 0x1005), "first");
    unlink(path);
    assert_null(ig_symtab_perfmap(st, pid, 0x3000));
    ig_symtab_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kallsyms_text_symbols_sorted),
        cmocka_unit_test(kallsyms_restricted_gives_null),
        cmocka_unit_test(live_kallsyms),
        cmocka_unit_test(perfmap_parse_and_lookup),
        cmocka_unit_test(perfmap_reloads_when_changed),
    };
    return cmocka_run_group_tests_name("ksyms", tests, setup, teardown);
}
