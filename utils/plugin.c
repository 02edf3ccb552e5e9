/*
 * utils/plugin.c — loads ignis's own plugin libraries (see plugin.h).
 *
 * The search order is the same for every plugin, so an installed ignis
 * (bin/ignis, lib/ignis/NAME.so) and a build tree (build/ignis next to its
 * libraries) both work without configuration, and tests can point at a
 * particular copy through the environment.
 */
#include "utils/plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Directory of the running binary into dir; false when unknown. */
static bool exe_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0)
        return false;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

void *ig_plugin_open(const char *lib, const char *env_var)
{
    const char *env = getenv(env_var);
    if (env && *env)
        return dlopen(env, RTLD_NOW | RTLD_LOCAL);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    if (!exe_dir(dir, sizeof dir))
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, lib);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h || access(path, F_OK) == 0) /* there, but it does not load: dlerror() says why */
        return h;
    snprintf(path, sizeof path, "%s/../lib/ignis/%s", dir, lib);
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}
