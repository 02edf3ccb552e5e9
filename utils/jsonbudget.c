/*
 * utils/jsonbudget.c — see jsonbudget.h.  One pass over the bytes; inside
 * a string only '\\' and '"' matter.  The costs are json-c 0.16's on
 * x86-64 glibc, rounded up: an object node with its 16-entry table, an
 * array node with its first slots, and any other value.
 */
#include "utils/jsonbudget.h"

#include <stdbool.h>
#include <stdint.h>

enum { OBJECT_COST = 640, ARRAY_COST = 160, VALUE_COST = 64 };

size_t ig_json_tree_cost(const char *s, size_t len)
{
    size_t objects = 0, arrays = 0, values = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '{': objects++; break;
        case '[': arrays++; break;
        case ',': case ':': values++; break;
        default: break;
        }
    }
    /* no overflow: each count is at most len, and len < SIZE_MAX / 1024
     * for any buffer that exists */
    return objects * OBJECT_COST + arrays * ARRAY_COST + (values + 1) * VALUE_COST;
}

int ig_json_check_budget(const char *s, size_t len, const char *what, ig_err *err)
{
    size_t cost = ig_json_tree_cost(s, len);
    size_t budget = IG_JSON_BUDGET_FLOOR;
    if (len <= (SIZE_MAX - budget) / IG_JSON_BUDGET_PER_BYTE)
        budget += len * IG_JSON_BUDGET_PER_BYTE;
    else
        budget = SIZE_MAX;
    if (cost <= budget)
        return 0;
    return ig_err_set(err, "%s: %zu bytes of JSON would take %zu MiB to parse (at most %zu MiB): too many empty or tiny objects",
                      what, len, cost >> 20, budget >> 20);
}
