#include "fuzz/fuzz_offbpf.c"
#define FUZZ_NAME "fuzz_offbpf"
#include "fuzz/replay.c"
