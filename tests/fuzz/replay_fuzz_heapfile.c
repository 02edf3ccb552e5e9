#include "fuzz/fuzz_heapfile.c"
#define FUZZ_NAME "fuzz_heapfile"
#include "fuzz/replay.c"
