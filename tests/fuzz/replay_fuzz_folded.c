#include "fuzz/fuzz_folded.c"
#define FUZZ_NAME "fuzz_folded"
#include "fuzz/replay.c"
