/*
 * tests/trace/test_baggage.c — W3C baggage: parsing (OWS, properties,
 * percent-decoding, invalid members skipped, limits), formatting
 * (percent-encoding, limits) and the context baggage API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/trace/helpers.h"

static ig_baggage *parse(const char *s) { return ig_baggage_parse(s, strlen(s), NULL); }

static const ig_bag_entry *find(const ig_baggage *b, const char *k)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (!strcmp(b->e[i].key, k))
            return &b->e[i];
    return NULL;
}

static void parse_members(void **st)
{
    (void)st;
    ig_baggage *b = parse(" userId = alice , serverNode=DF%2028,isProduction=false;ttl=30 ; p2 ,e=");
    assert_non_null(b);
    assert_int_equal(b->n, 4);
    assert_string_equal(find(b, "userId")->value, "alice");
    assert_string_equal(find(b, "serverNode")->value, "DF 28");
    assert_string_equal(find(b, "isProduction")->value, "false");
    assert_string_equal(find(b, "isProduction")->meta, "ttl=30 ; p2");
    assert_null(find(b, "userId")->meta);
    assert_string_equal(find(b, "e")->value, ""); /* empty value allowed */
    ig_baggage_unref(b);
    /* percent-decoding of UTF-8 and reserved characters */
    b = parse("k=%E2%82%AC%2C%3B%25");
    assert_string_equal(find(b, "k")->value, "\xe2\x82\xac,;%");
    ig_baggage_unref(b);
}

static void invalid_members_skipped(void **st)
{
    (void)st;
    ig_baggage *b = parse("good=1,novalue,bad key=2,k=a b,k2=%zz,k3=%4,=x,k4=\"q\",ok=2");
    assert_non_null(b);
    assert_int_equal(b->n, 2);
    assert_string_equal(find(b, "good")->value, "1");
    assert_string_equal(find(b, "ok")->value, "2");
    ig_baggage_unref(b);
    assert_null(parse(""));
    assert_null(parse(",,,"));
    assert_null(parse("only-invalid"));
    /* repeated key: last wins */
    b = parse("k=1,k=2");
    assert_int_equal(b->n, 1);
    assert_string_equal(b->e[0].value, "2");
    ig_baggage_unref(b);
}

static void limits(void **st)
{
    (void)st;
    /* at most 180 members are taken */
    char *s = malloc(200 * 16);
    s[0] = '\0';
    for (int i = 0; i < 200; i++)
        sprintf(s + strlen(s), "%sk%d=%d", i ? "," : "", i, i);
    ig_baggage *b = parse(s);
    assert_int_equal(b->n, 180);
    assert_non_null(find(b, "k179"));
    assert_null(find(b, "k180"));
    ig_baggage_unref(b);
    free(s);
    /* at most 8192 bytes are read: a member crossing the limit is dropped */
    s = malloc(10000);
    memset(s, 'v', 9999);
    s[9999] = '\0';
    memcpy(s, "a=1,big=", 8);
    b = parse(s);
    assert_int_equal(b->n, 1);
    assert_string_equal(b->e[0].key, "a");
    ig_baggage_unref(b);
    /* exactly 8192 bytes is fine */
    memset(s, 'v', 8192);
    memcpy(s, "big=", 4);
    s[8192] = '\0';
    b = parse(s);
    assert_non_null(b);
    assert_int_equal(strlen(b->e[0].value), 8188);
    ig_baggage_unref(b);
    free(s);
}

static void format_encoding(void **st)
{
    (void)st;
    ig_bag_entry e[] = {{"user", "J\xc3\xb8rn Doe", NULL}, {"x", "a,b;c=d%", "prop=1"}, {"bad key", "v", NULL}};
    ig_baggage *b = ig_baggage_new(e, 3);
    char *s = ig_baggage_format(b);
    assert_string_equal(s, "user=J%C3%B8rn%20Doe,x=a%2Cb%3Bc=d%25;prop=1");
    /* round trip */
    ig_baggage *back = parse(s);
    assert_int_equal(back->n, 2);
    assert_string_equal(find(back, "user")->value, "J\xc3\xb8rn Doe");
    assert_string_equal(find(back, "x")->value, "a,b;c=d%");
    assert_string_equal(find(back, "x")->meta, "prop=1");
    ig_baggage_unref(back);
    free(s);
    ig_baggage_unref(b);
    /* formatting keeps within 8192 bytes */
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    ig_bag_entry e2[] = {{"a", big, NULL}, {"b", big, NULL}, {"c", "small", NULL}};
    b = ig_baggage_new(e2, 3);
    s = ig_baggage_format(b);
    assert_true(strlen(s) <= 8192);
    assert_non_null(strstr(s, "c=small"));
    assert_null(strstr(s, "b=x"));
    free(s);
    ig_baggage_unref(b);
    free(big);
}

static void context_api(void **st)
{
    (void)st;
    ignis_context *c1 = ignis_context_with_baggage(NULL, "a", "1", NULL);
    ignis_context *c2 = ignis_context_with_baggage(c1, "b", "2", "m");
    ignis_context *c3 = ignis_context_with_baggage(c2, "a", "3", NULL); /* replaces */
    ignis_context *c4 = ignis_context_without_baggage(c3, "b");
    assert_int_equal(ignis_baggage_count(c1), 1);
    assert_int_equal(ignis_baggage_count(c2), 2);
    assert_string_equal(ignis_baggage_get(c3, "a"), "3");
    assert_string_equal(ignis_baggage_get(c2, "a"), "1"); /* immutable */
    assert_int_equal(ignis_baggage_count(c4), 1);
    assert_null(ignis_baggage_get(c4, "b"));
    const char *k, *v, *m;
    assert_true(ignis_baggage_entry(c2, 1, &k, &v, &m));
    assert_string_equal(k, "b");
    assert_string_equal(m, "m");
    assert_false(ignis_baggage_entry(c2, 2, &k, &v, &m));
    assert_null(ignis_baggage_get(NULL, "a"));
    /* attach: current baggage; a span made current keeps it */
    ignis_scope s = ignis_context_attach(c3);
    ignis_context *cur = ignis_context_current();
    assert_string_equal(ignis_baggage_get(cur, "b"), "2");
    ignis_context_release(cur);
    ignis_span *span = ignis_span_start(NULL, "x", NULL);
    ignis_scope s2 = ignis_span_make_current(span);
    cur = ignis_context_current();
    assert_string_equal(ignis_baggage_get(cur, "a"), "3");
    ignis_context_release(cur);
    ignis_scope_end(s2);
    ignis_span_end(span, 0);
    ignis_scope_end(s);
    cur = ignis_context_current();
    assert_int_equal(ignis_baggage_count(cur), 0);
    ignis_context_release(cur);
    ignis_context_release(c1);
    ignis_context_release(c2);
    ignis_context_release(c3);
    ignis_context_release(c4);
}

/* W3C baggage: "percent-encoded octet sequences that do not match the
 * UTF-8 encoding scheme MUST be replaced with the replacement code point
 * (U+FFFD)".  A value with %00 is refused (its member is skipped): a C
 * string cannot carry the NUL, and a value silently cut at it would be a
 * different value. */
static void decoded_values_are_utf8(void **st)
{
    (void)st;
    ig_baggage *b = parse("a=%FF%FE,b=x%E2%82,c=caf%C3%A9,d=%ED%A0%80z");
    assert_non_null(b);
    assert_string_equal(find(b, "a")->value, "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(find(b, "b")->value, "x\xEF\xBF\xBD");
    assert_string_equal(find(b, "c")->value, "caf\xC3\xA9");
    assert_string_equal(find(b, "d")->value, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
    ig_baggage_unref(b);

    b = parse("user=admin%00evil,ok=1,nul=%00");
    assert_non_null(b);
    assert_int_equal(b->n, 1);
    assert_null(find(b, "user"));
    assert_null(find(b, "nul"));
    assert_string_equal(find(b, "ok")->value, "1");
    ig_baggage_unref(b);

    /* through extraction and back out: U+FFFD is percent-encoded */
    const char *lines[] = {"baggage: k=%FF"};
    ignis_context *ctx = ignis_extract_header_lines(NULL, lines, 1);
    assert_string_equal(ignis_baggage_get(ctx, "k"), "\xEF\xBF\xBD");
    char *v = ig_baggage_format(ig_context_baggage(ctx));
    assert_string_equal(v, "k=%EF%BF%BD");
    free(v);
    ignis_context_release(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_members), cmocka_unit_test(invalid_members_skipped), cmocka_unit_test(limits),
        cmocka_unit_test(format_encoding), cmocka_unit_test(context_api),
        cmocka_unit_test(decoded_values_are_utf8),
    };
    return cmocka_run_group_tests_name("trace_baggage", tests, NULL, NULL);
}
