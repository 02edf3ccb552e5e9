/*
 * utils/plugin.h — finding and loading one of ignis's own shared
 * libraries (libignis-collect.so, libignis-net.so): the libraries that
 * bring heavy dependencies (libmicrohttpd, libcurl and their TLS stacks)
 * are loaded with dlopen when a command first needs them, so plain
 * `ignis` starts without them.
 */
#ifndef IG_UTILS_PLUGIN_H
#define IG_UTILS_PLUGIN_H

/* dlopen()s lib (RTLD_NOW | RTLD_LOCAL) from, in order: the path in the
 * environment variable env_var when set, the running binary's directory,
 * then ../lib/ignis/ relative to it (an installed tree).  A copy next to
 * the binary that exists but does not load is not skipped: the caller's
 * dlerror() then says why.  Returns the handle, or NULL (see dlerror()). */
void *ig_plugin_open(const char *lib, const char *env_var);

#endif
