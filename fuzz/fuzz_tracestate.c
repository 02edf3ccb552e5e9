/*
 * fuzz/fuzz_tracestate.c — libFuzzer target for the W3C tracestate parser.
 * A value that parses must parse again to itself (normalised form), have
 * at most 32 members, and contain no OWS around members.
 */
#include "libtrace/internal.h"

#include <setjmp.h> /* for fuzz/replay.c, which includes cmocka.h */
#include <stdarg.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool invalid;
    char *v = ig_tracestate_parse((const char *)data, size, &invalid);
    if (!v)
        return 0;
    size_t members = 1;
    for (const char *p = v; *p; p++)
        members += *p == ',';
    bool again_invalid;
    char *again = ig_tracestate_parse(v, strlen(v), &again_invalid);
    if (invalid || members > 32 || !again || strcmp(again, v) != 0 || v[0] == ' ')
        abort();
    free(again);
    free(v);
    return 0;
}
