/*
 * profile/version.c — the library version.
 */
#include "ignis/common.h"

IGNIS_API const char *ignis_version(void)
{
    return IGNIS_VERSION;
}
