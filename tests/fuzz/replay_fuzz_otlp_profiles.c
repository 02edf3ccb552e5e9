#include "fuzz/fuzz_otlp_profiles.c"
#define FUZZ_NAME "fuzz_otlp_profiles"
#include "fuzz/replay.c"
