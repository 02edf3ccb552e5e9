#include "fuzz/fuzz_spanctx.c"
#define FUZZ_NAME "fuzz_spanctx"
#include "fuzz/replay.c"
