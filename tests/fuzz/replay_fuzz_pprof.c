#include "fuzz/fuzz_pprof.c"
#define FUZZ_NAME "fuzz_pprof"
#include "fuzz/replay.c"
