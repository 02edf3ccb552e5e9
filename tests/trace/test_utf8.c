/*
 * tests/trace/test_utf8.c — utils/utf8.{c,h} (validation and U+FFFD repair) against hand-checked
 * cases from Unicode Table 3-7 and the "maximal subpart" examples of
 * Unicode §3.9 (Table 3-8), which Python's bytes.decode("utf-8",
 * "replace") reproduces byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "utils/utf8.h"

#define FFFD "\xEF\xBF\xBD"

static void accepts_well_formed_text(void **st)
{
    (void)st;
    const char *ok[] = {"", "plain ascii, longer than eight bytes", "caf\xC3\xA9", "\xE2\x82\xAC 10",
                        "\xED\x9F\xBF", "\xEE\x80\x80", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                        ("0123456\xC3\xA9" "0123456789abcdef")};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_true(ig_utf8_valid(ok[i], strlen(ok[i])));
}

static void finds_the_first_bad_byte(void **st)
{
    (void)st;
    struct { const char *s; size_t prefix; } bad[] = {
        {"\x80", 0},                       /* lone continuation */
        {"ab\xC0\xAF", 2},                 /* overlong '/' */
        {"abcdefgh\xC1\xBF", 8},           /* overlong, after a clean word */
        {"\xE0\x80\xAF", 0},               /* overlong 3-byte */
        {"x\xED\xA0\x80", 1},              /* surrogate U+D800 */
        {"\xF0\x8F\xBF\xBF", 0},           /* overlong 4-byte */
        {"\xF4\x90\x80\x80", 0},           /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 0},
        {"\xFF\xFE", 0},
        {"ok\xE2\x82", 2},                 /* cut-off euro sign */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ig_utf8_valid_prefix(bad[i].s, strlen(bad[i].s)), bad[i].prefix);
        assert_false(ig_utf8_valid(bad[i].s, strlen(bad[i].s)));
    }
}

static void check_sanitized(const char *in, size_t n, const char *want)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_utf8_append_valid(&sb, in, n);
    assert_string_equal(sb.data, want);
    assert_int_equal(sb.len, strlen(want));
    assert_true(ig_utf8_valid(sb.data, sb.len));
    char *buf = malloc(IG_UTF8_SANITIZED_MAX(n) + 1);
    assert_int_equal(ig_utf8_sanitize_to(buf, in, n), strlen(want));
    free(buf);
    ig_sb_free(&sb);
}

/* One U+FFFD per maximal subpart (Unicode Table 3-8 and friends). */
static void replaces_maximal_subparts(void **st)
{
    (void)st;
    check_sanitized("\xFF\xFE", 2, FFFD FFFD);
    check_sanitized("a\xE2\x82" "b", 4, "a" FFFD "b");
    check_sanitized("\xC0\xAF", 2, FFFD FFFD);
    check_sanitized("\xED\xA0\x80", 3, FFFD FFFD FFFD);
    check_sanitized("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
    check_sanitized("\xF0\x90\x80" "x", 4, FFFD "x");
    check_sanitized("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 13,
                    "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"); /* Table 3-8 */
    check_sanitized("caf\xC3\xA9", 5, "caf\xC3\xA9");
    check_sanitized("", 0, "");
    /* the worst case fills IG_UTF8_SANITIZED_MAX exactly */
    char all_bad[64];
    memset(all_bad, 0x80, sizeof all_bad);
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_utf8_append_valid(&sb, all_bad, sizeof all_bad);
    assert_int_equal(sb.len, IG_UTF8_SANITIZED_MAX(sizeof all_bad));
    ig_sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_well_formed_text),
        cmocka_unit_test(finds_the_first_bad_byte),
        cmocka_unit_test(replaces_maximal_subparts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
