#include "fuzz/fuzz_sched_format.c"
#define FUZZ_NAME "fuzz_sched_format"
#include "fuzz/replay.c"
