/*
 * cmd/collect.c — `ignis collect`: loads the collector and runs it.
 *
 * The collector (collect/main.c and the receiver, writer, forwarder and
 * metrics it drives) lives in libignis-collect.so, because it links
 * libmicrohttpd and libcurl, whose TLS stacks would otherwise be loaded at
 * every start of `ignis` (about 20 more shared libraries and 10 ms or
 * more).  The library is looked up like libignis-alloc.so: $IGNIS_COLLECT_LIB,
 * next to the ignis binary, then ../lib/ignis/ relative to it.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "utils/plugin.h"

static const char LIB[] = "libignis-collect.so";

static void *open_collector(void)
{
    return ig_plugin_open(LIB, "IGNIS_COLLECT_LIB");
}

int cmd_collect(int argc, char **argv)
{
    void *h = open_collector();
    if (!h) {
        const char *why = dlerror();
        cmd_error("collect", "%s: cannot load (%s); it is looked for in $IGNIS_COLLECT_LIB, next to the ignis "
                             "binary and in ../lib/ignis",
                  LIB, why ? why : "not found");
        return 1;
    }
    int (*run)(int, char **);
    *(void **)&run = dlsym(h, "ignis_collect_main");
    if (!run) {
        cmd_error("collect", "%s: no ignis_collect_main (a library of another version?)", LIB);
        return 1;
    }
    return run(argc, argv); /* the library stays loaded until exit */
}
