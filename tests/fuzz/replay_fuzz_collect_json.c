#include <setjmp.h> /* cmocka.h, included by fuzz/replay.c, needs these first */
#include <stdarg.h>
#include "fuzz/fuzz_collect_json.c"
#define FUZZ_NAME "fuzz_collect_json"
#include "fuzz/replay.c"
