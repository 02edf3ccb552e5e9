/*
 * ignis/common.h — what every public ignis header shares.
 *
 * All public symbols carry the `ignis_` prefix and are marked IGNIS_API; the
 * library is built with -fvisibility=hidden, so nothing else is exported.
 */
#ifndef IGNIS_COMMON_H
#define IGNIS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(IGNIS_BUILDING) && defined(__GNUC__)
#define IGNIS_API __attribute__((visibility("default")))
#else
#define IGNIS_API
#endif

#define IGNIS_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns the library version string, e.g. "0.1.0". */
IGNIS_API const char *ignis_version(void);

#ifdef __cplusplus
}
#endif

#endif
