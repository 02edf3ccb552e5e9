#include "fuzz/fuzz_frames_cache.c"
#define FUZZ_NAME "fuzz_frames_cache"
#include "fuzz/replay.c"
