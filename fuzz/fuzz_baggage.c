/*
 * fuzz/fuzz_baggage.c — libFuzzer target for the W3C baggage parser and
 * formatter: whatever parses must format within the limits (8192 bytes,
 * 180 members) and the formatted text must parse back to the same
 * entries (keys, decoded values, metadata).  Every decoded value is
 * valid UTF-8 (escapes that are not become U+FFFD).
 */
#include "libtrace/internal.h"
#include "utils/utf8.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

static bool same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_baggage *b = ig_baggage_parse((const char *)data, size, NULL);
    if (!b)
        return 0;
    if (b->n > 180)
        abort();
    for (size_t i = 0; i < b->n; i++)
        if (!ig_utf8_valid(b->e[i].value, strlen(b->e[i].value)))
            abort();
    char *s = ig_baggage_format(b);
    if (s) {
        if (strlen(s) > 8192)
            abort();
        ig_baggage *back = ig_baggage_parse(s, strlen(s), NULL);
        if (!back)
            abort();
        for (size_t i = 0; i < back->n; i++) {
            size_t j;
            for (j = 0; j < b->n; j++)
                if (!strcmp(b->e[j].key, back->e[i].key))
                    break;
            if (j == b->n || strcmp(b->e[j].value, back->e[i].value) != 0 ||
                !same_str(b->e[j].meta, back->e[i].meta))
                abort();
        }
        ig_baggage_unref(back);
        free(s);
    }
    ig_baggage_unref(b);
    return 0;
}
