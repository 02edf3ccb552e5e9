/*
 * tests/alloc/alloc_record_main.c — `ignis record --alloc` as a standalone
 * program, so the shell tests can drive ig_alloc_record_main() whether or
 * not cmd/record.c already dispatches --alloc to it.
 *   usage: alloc_record record --alloc [options] [-- CMD...]
 */
#include "profiler/alloc/alloc_record.h"

#include <stdarg.h>
#include <stdio.h>

#include "cmd/cmd.h"

/* cmd/main.c's error printer, which is not in libignis-internal.a. */
void cmd_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ignis %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: alloc_record record --alloc [options] [-- CMD...]\n");
        return 2;
    }
    return ig_alloc_record_main(argc - 1, argv + 1);
}
