#include "fuzz/fuzz_spanbpf.c"
#define FUZZ_NAME "fuzz_spanbpf"
#include "fuzz/replay.c"
