/*
 * tests/utils/test_jsonbudget.c — the JSON tree cost estimate: strings
 * and escapes are skipped, objects cost what json-c spends on them, and
 * the budget refuses texts of empty objects (a 3 MB body of "{}," took
 * 800 MB to parse) while real OTLP/JSON passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utils/jsonbudget.h"

static size_t cost(const char *s)
{
    return ig_json_tree_cost(s, strlen(s));
}

static void strings_and_escapes_are_skipped(void **state)
{
    (void)state;
    size_t one = cost("{}");
    assert_true(one >= 640);
    assert_int_equal(cost("{\"{{{{\":\"[,,]\"}"), cost("{\"a\":\"b\"}"));
    assert_int_equal(cost("{\"a\\\"{{\":1}"), cost("{\"a\":1}")); /* \" does not end the string */
    assert_int_equal(cost("{\"a\\\\\":{}}"), cost("{\"a\":{}}"));   /* \\ does */
    assert_true(cost("[{},{}]") > 2 * one);
}

static char *repeated(const char *head, const char *item, size_t n, const char *tail)
{
    size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
    char *s = malloc(hl + il * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * il, item, il);
    memcpy(s + hl + il * n, tail, tl + 1);
    return s;
}

static void empty_objects_are_refused(void **state)
{
    (void)state;
    char *s = repeated("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[", "{},", 1000000, "{}]}]}]}");
    ig_err err = {0};
    assert_int_equal(ig_json_check_budget(s, strlen(s), "body.json", &err), -1);
    assert_non_null(strstr(err.msg, "body.json: "));
    assert_non_null(strstr(err.msg, "MiB to parse"));
    free(s);
}

static void real_spans_pass(void **state)
{
    (void)state;
    const char *span = "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
                       "\"name\":\"GET /api/item\",\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
                       "\"endTimeUnixNano\":\"1700000000100000000\",\"attributes\":[{\"key\":\"http.method\","
                       "\"value\":{\"stringValue\":\"GET\"}},{\"key\":\"thread.id\",\"value\":{\"intValue\":\"1\"}}],"
                       "\"status\":{}},";
    char *s = repeated("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[", span, 200000, "{}]}]}]}");
    ig_err err = {0};
    assert_int_equal(ig_json_check_budget(s, strlen(s), "spans.json", &err), 0);
    free(s);
    assert_int_equal(ig_json_check_budget("{}", 2, "tiny", &err), 0); /* the floor */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_and_escapes_are_skipped),
        cmocka_unit_test(empty_objects_are_refused),
        cmocka_unit_test(real_spans_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
