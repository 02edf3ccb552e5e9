#include <setjmp.h> /* cmocka.h, included by fuzz/replay.c, needs these first */
#include <stdarg.h>
#include "fuzz/fuzz_otlp_retry_after.c"
#define FUZZ_NAME "fuzz_otlp_retry_after"
#include "fuzz/replay.c"
