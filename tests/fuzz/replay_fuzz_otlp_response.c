#include <setjmp.h> /* cmocka.h, included by fuzz/replay.c, needs these first */
#include <stdarg.h>
#include "fuzz/fuzz_otlp_response.c"
#define FUZZ_NAME "fuzz_otlp_response"
#include "fuzz/replay.c"
