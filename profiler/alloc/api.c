/*
 * profiler/alloc/api.c — ignis_alloc_* (include/ignis/alloc.h).
 *
 * Design.  libignis cannot interpose malloc itself (it is an ordinary
 * shared or static library, loaded after libc's symbols are bound), so the
 * API is a thin bridge: it looks up the control entry points that
 * libignis-alloc.so exports (ig_alloc_shim_start/stop/dump) with
 * dlsym(RTLD_DEFAULT) and forwards to them.  Without the preload library
 * every call fails with ENOSYS; nothing is emulated.
 */
#include "ignis/alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

typedef int (*start_fn)(int64_t);
typedef int (*stop_fn)(void);
typedef int (*dump_fn)(const char *, char *, size_t);

static void *shim_symbol(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

IGNIS_API bool ignis_alloc_available(void)
{
    return shim_symbol("ig_alloc_shim_start") != NULL;
}

IGNIS_API int ignis_alloc_start(size_t sample_bytes)
{
    start_fn fn = (start_fn)shim_symbol("ig_alloc_shim_start");
    if (!fn) {
        errno = ENOSYS;
        return -1;
    }
    return fn(sample_bytes > (size_t)INT64_MAX ? INT64_MAX : (int64_t)sample_bytes);
}

IGNIS_API int ignis_alloc_stop(void)
{
    stop_fn fn = (stop_fn)shim_symbol("ig_alloc_shim_stop");
    if (!fn) {
        errno = ENOSYS;
        return -1;
    }
    return fn();
}

IGNIS_API int ignis_alloc_dump(const char *path, char *err, size_t errlen)
{
    dump_fn fn = (dump_fn)shim_symbol("ig_alloc_shim_dump");
    if (!fn) {
        if (err && errlen)
            snprintf(err, errlen, "libignis-alloc.so is not preloaded (LD_PRELOAD)");
        errno = ENOSYS;
        return -1;
    }
    return fn(path, err, errlen);
}
