/*
 * tests/trace/test_percent.c — utils/percent.{c,h}: the one percent-decoder
 * and encoder shared by baggage, OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS, checked against hand-decoded values; and
 * the percentage rule of every profile view (pprof's: shares of the sum of
 * absolute values, 0 of a zero total), against `go tool pprof -top`'s
 * numbers for the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
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

/* go tool pprof -top of "main;a;hot 300 / main;b;cold -200 / main;c 100 /
 * main;d -250": "Showing nodes accounting for -50, 5.88% of 850 total",
 * hot 35.29%, d 29.41%. */
static void percentages_are_of_absolute_values(void **st)
{
    (void)st;
    ig_pct_total t = {0};
    const int64_t v[] = {300, -200, 100, -250};
    for (size_t i = 0; i < 4; i++)
        ig_pct_total_add(&t, v[i], false);
    assert_int_equal(ig_pct_total_get(&t), 850);
    char buf[16];
    ig_percent_format(buf, sizeof buf, -50, 850);
    assert_string_equal(buf, " 5.88%");
    ig_percent_format(buf, sizeof buf, -250, 850);
    assert_string_equal(buf, "29.41%");
    ig_percent_format(buf, sizeof buf, -850, 850);
    assert_string_equal(buf, "  100%");
}

/* A total of 0 (a profile whose values cancel out, or nothing kept) or a
 * negative one (a caller's signed sum) gives 0, never inf, nan or a sign. */
static void zero_and_negative_totals_give_zero(void **st)
{
    (void)st;
    const int64_t totals[] = {0, -50, INT64_MIN};
    const int64_t values[] = {0, 100, -100, INT64_MAX, INT64_MIN};
    char buf[16];
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 5; j++) {
            assert_true(ig_percent(values[j], totals[i]) == 0.0);
            ig_percent_format(buf, sizeof buf, values[j], totals[i]);
            assert_string_equal(buf, " 0.00%");
        }
    assert_true(isfinite(ig_percent(INT64_MIN, 1)) && ig_percent(INT64_MIN, 1) > 0);
    ig_pct_total t = {0};
    ig_pct_total_add(&t, INT64_MIN, false); /* |INT64_MIN| saturates */
    ig_pct_total_add(&t, INT64_MAX, false);
    assert_int_equal(ig_pct_total_get(&t), INT64_MAX);
}

/* pprof -diff_base labels the base's (negated) samples pprof::base=true;
 * its -top then gives percentages of the base's absolute sum alone (base
 * 60+40, new 30+50+20: "0, 0% of 100 total"). */
static void a_diff_base_alone_is_the_total(void **st)
{
    (void)st;
    ig_pct_total t = {0};
    ig_pct_total_add(&t, 30, false);
    ig_pct_total_add(&t, 50, false);
    ig_pct_total_add(&t, 20, false);
    assert_int_equal(ig_pct_total_get(&t), 100);
    ig_pct_total_add(&t, -60, true);
    ig_pct_total_add(&t, -40, true);
    assert_int_equal(ig_pct_total_get(&t), 100);
    assert_int_equal(t.all, 200);
    assert_true(fabs(ig_percent(-30, ig_pct_total_get(&t)) - 30.0) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes_of_either_case),
        cmocka_unit_test(rejects_bad_escapes),
        cmocka_unit_test(predicates_filter_raw_and_decoded_bytes),
        cmocka_unit_test(encode_round_trips),
        cmocka_unit_test(percentages_are_of_absolute_values),
        cmocka_unit_test(zero_and_negative_totals_give_zero),
        cmocka_unit_test(a_diff_base_alone_is_the_total),
    };
    return cmocka_run_group_tests_name("trace_percent", tests, NULL, NULL);
}
