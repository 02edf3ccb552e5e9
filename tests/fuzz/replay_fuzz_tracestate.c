#include "fuzz/fuzz_tracestate.c"
#define FUZZ_NAME "fuzz_tracestate"
#include "fuzz/replay.c"
