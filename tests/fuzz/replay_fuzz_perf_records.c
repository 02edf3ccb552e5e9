#include "fuzz/fuzz_perf_records.c"
#define FUZZ_NAME "fuzz_perf_records"
#include "fuzz/replay.c"
