#include "fuzz/fuzz_traceparent.c"
#define FUZZ_NAME "fuzz_traceparent"
#include "fuzz/replay.c"
