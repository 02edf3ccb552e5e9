#include "fuzz/fuzz_debug_cache.c"
#define FUZZ_NAME "fuzz_debug_cache"
#include "fuzz/replay.c"
