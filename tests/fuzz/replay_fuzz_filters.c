#include "fuzz/fuzz_filters.c"
#define FUZZ_NAME "fuzz_filters"
#include "fuzz/replay.c"
