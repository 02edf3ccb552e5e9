/*
 * tests/trace/test_percent.c — utils/percent.{c,h}: the one percent-decoder
 * and encoder shared by baggage, OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS, checked against hand-decoded values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "utils/percent.h"

static bool no_space(unsigned char c) { return c != ' '; }
static bool no_newline(unsigned char c) { return c != '\n'; }
static bool alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static void decodes_escapes_of_either_case(void **st)
{
    (void)st;
    char *s = ig_percent_decode_dup("a%20b%2cc%2Cd%41", 16, NULL, NULL);
    assert_string_equal(s, "a b,c,dA");
    free(s);
    s = ig_percent_decode_dup("", 0, NULL, NULL);
    assert_string_equal(s, "");
    free(s);
    s = ig_percent_decode_dup("xy%41zz", 5, NULL, NULL); /* only the first n bytes */
    assert_string_equal(s, "xyA");
    free(s);
}

static void rejects_bad_escapes(void **st)
{
    (void)st;
    const char *bad[] = {"%", "%4", "a%4", "%G0", "%0g", "%%41", "ok%2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(ig_percent_decode_dup(bad[i], strlen(bad[i]), NULL, NULL));
        ig_strbuf sb = IG_STRBUF_INIT;
        assert_int_equal(ig_percent_decode(bad[i], strlen(bad[i]), NULL, NULL, &sb), IG_PCT_BAD_ESCAPE);
        ig_sb_free(&sb);
    }
}

static void predicates_filter_raw_and_decoded_bytes(void **st)
{
    (void)st;
    /* raw_ok sees only unescaped bytes: an escaped space is fine */
    char *s = ig_percent_decode_dup("a%20b", 5, no_space, NULL);
    assert_string_equal(s, "a b");
    free(s);
    assert_null(ig_percent_decode_dup("a b", 3, no_space, NULL));
    /* byte_ok sees decoded bytes, raw or escaped */
    ig_strbuf sb = IG_STRBUF_INIT;
    assert_int_equal(ig_percent_decode("x%0Ay", 5, NULL, no_newline, &sb), IG_PCT_BAD_CHAR);
    assert_int_equal(ig_percent_decode("x\ny", 3, NULL, no_newline, &sb), IG_PCT_BAD_CHAR);
    assert_int_equal(sb.len, 0); /* nothing appended on failure */
    ig_sb_puts(&sb, "K: ");
    assert_int_equal(ig_percent_decode("v%3D1", 5, NULL, no_newline, &sb), IG_PCT_OK);
    assert_string_equal(sb.data, "K: v=1");
    ig_sb_free(&sb);
}

static void encode_round_trips(void **st)
{
    (void)st;
    const char *in = "a b,c%d\xc3\xa9=";
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_percent_encode(&sb, in, alnum);
    assert_string_equal(sb.data, "a%20b%2Cc%25d%C3%A9%3D");
    char *back = ig_percent_decode_dup(sb.data, sb.len, NULL, NULL);
    assert_string_equal(back, in);
    free(back);
    ig_sb_reset(&sb);
    ig_percent_encode(&sb, "100%", NULL); /* '%' is always escaped */
    assert_string_equal(sb.data, "100%25");
    ig_sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes_of_either_case),
        cmocka_unit_test(rejects_bad_escapes),
        cmocka_unit_test(predicates_filter_raw_and_decoded_bytes),
        cmocka_unit_test(encode_round_trips),
    };
    return cmocka_run_group_tests_name("trace_percent", tests, NULL, NULL);
}
