#include "fuzz/fuzz_allocspan.c"
#define FUZZ_NAME "fuzz_allocspan"
#include "fuzz/replay.c"
