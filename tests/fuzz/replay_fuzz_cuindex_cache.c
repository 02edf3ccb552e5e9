#include "fuzz/fuzz_cuindex_cache.c"
#define FUZZ_NAME "fuzz_cuindex_cache"
#include "fuzz/replay.c"
