/* Replays fuzz/corpus/fuzz_unwind/ (see fuzz/replay.c). */
#include <setjmp.h> /* before cmocka.h, which fuzz/replay.c includes first */
#include <stdarg.h>
#include <stddef.h>
#include "fuzz/fuzz_unwind.c"
#define FUZZ_NAME "fuzz_unwind"
#include "fuzz/replay.c"
