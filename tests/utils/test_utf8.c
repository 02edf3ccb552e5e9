/*
 * tests/utils/test_utf8.c — the UTF-8 decoder against Unicode's table of
 * well-formed sequences and its "maximal subpart" replacement examples
 * (Unicode 15, section 3.9, tables 3-8 to 3-11), and the two repairs built
 * on it: U+FFFD for formats, "\xHH" for terminals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utils/utf8.h"

static char *repaired(const char *s, size_t n)
{
    static ig_strbuf sb;
    ig_sb_reset(&sb);
    ig_utf8_append_valid(&sb, s, n);
    return sb.data ? sb.data : "";
}

#define R IG_UTF8_REPLACEMENT

static void decodes_well_formed(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(ig_utf8_next("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(ig_utf8_next("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(ig_utf8_next("\xe2\x82\xac", 3, &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(ig_utf8_next("\xf0\x9f\x94\xa5", 4, &cp), 4);
    assert_int_equal(cp, 0x1f525);
    assert_int_equal(ig_utf8_next("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    assert_int_equal(ig_utf8_next("", 0, &cp), 0);
    assert_true(ig_utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
    assert_true(ig_utf8_valid("", 0));
}

static void rejects_ill_formed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate D800 */
        "\xf0\x80\x80\xaf", /* overlong */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* never a lead */
        "\xff",
        "\xe2\x82",         /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(ig_utf8_valid(bad[i], strlen(bad[i])));
}

/* Unicode's examples: each maximal subpart is one U+FFFD. */
static void replaces_maximal_subparts(void **state)
{
    (void)state;
    /* table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
    const char t38[] = "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64";
    assert_string_equal(repaired(t38, sizeof t38 - 1), "a" R R R "b" R "c" R R "d");
    /* table 3-9: non-shortest forms, one U+FFFD per byte */
    const char t39[] = "\xc0\xaf\xe0\x80\xbf\xf0\x81\x82\x41";
    assert_string_equal(repaired(t39, sizeof t39 - 1), R R R R R R R R "A");
    /* table 3-10: surrogates */
    const char t310[] = "\xed\xa0\x80\xed\xbf\xbf\xed\xaf\x41";
    assert_string_equal(repaired(t310, sizeof t310 - 1), R R R R R R R R "A");
    /* table 3-11: truncated sequences */
    const char t311[] = "\xe1\x80\xe2\xf0\x91\x92\xf1\xbf\x41";
    assert_string_equal(repaired(t311, sizeof t311 - 1), R R R R "A");
    /* well-formed text is copied as it is, NULs included */
    assert_string_equal(repaired("ok \xc3\xa9", 5), "ok \xc3\xa9");
}

static void escapes_for_terminals(void **state)
{
    (void)state;
    ig_strbuf sb = IG_STRBUF_INIT;
    const char name[] = "f\x1b]0;pwned\x07\n\x1b[2J\xc2\x9b" "1m\xff\xc3\xa9\\";
    ig_utf8_append_escaped(&sb, name, sizeof name - 1);
    assert_string_equal(sb.data, "f\\x1b]0;pwned\\x07\\x0a\\x1b[2J\\xc2\\x9b1m\\xff\xc3\xa9\\");
    ig_sb_free(&sb);
    assert_true(ig_utf8_is_control(0x1b));
    assert_true(ig_utf8_is_control(0x7f));
    assert_true(ig_utf8_is_control(0x9b));
    assert_false(ig_utf8_is_control(0xa0));
    assert_false(ig_utf8_is_control('\\'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_well_formed),
        cmocka_unit_test(rejects_ill_formed),
        cmocka_unit_test(replaces_maximal_subparts),
        cmocka_unit_test(escapes_for_terminals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
