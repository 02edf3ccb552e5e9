/* Replays fuzz/corpus/fuzz_elf_symbolize/ (see fuzz/replay.c). */
#include <setjmp.h> /* before cmocka.h, which fuzz/replay.c includes first */
#include <stdarg.h>
#include <stddef.h>
#include "fuzz/fuzz_elf_symbolize.c"
#define FUZZ_NAME "fuzz_elf_symbolize"
#include "fuzz/replay.c"
