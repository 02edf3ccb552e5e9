#include "fuzz/fuzz_baggage.c"
#define FUZZ_NAME "fuzz_baggage"
#include "fuzz/replay.c"
