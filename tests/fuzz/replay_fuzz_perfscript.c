#include "fuzz/fuzz_perfscript.c"
#define FUZZ_NAME "fuzz_perfscript"
#include "fuzz/replay.c"
