#include "fuzz/fuzz_ksym_cache.c"
#define FUZZ_NAME "fuzz_ksym_cache"
#include "fuzz/replay.c"
