#include "fuzz/fuzz_b3.c"
#define FUZZ_NAME "fuzz_b3"
#include "fuzz/replay.c"
