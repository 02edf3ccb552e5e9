/*
 * profile/framename.c — what the views call a frame without a symbol
 * (see profile/framename.h): the bracketed name of its mapping, perf's
 * and stackcollapse-perf's convention, unless addresses are asked for.
 */
#include "profile/framename.h"

#include <stdio.h>
#include <string.h>

int ig_frame_unsymbolized(const ignis_profile *p, const ignis_location *loc, uint32_t li)
{
    if (li >= loc->nlines)
        return 1;
    const ignis_function *f = ignis_profile_function(p, loc->lines[li].function);
    return !f || (!f->name && !f->system_name);
}

/* Anonymous memory as /proc/PID/maps or perf name it. */
static int anonymous(const char *name)
{
    return !*name || !strcmp(name, "//anon") || !strncmp(name, "[anon", 5) || !strncmp(name, "/anon_hugepage", 14);
}

const char *ig_frame_region_name(const ignis_profile *p, const ignis_location *loc, char *buf, size_t size)
{
    const ignis_mapping *m = ignis_profile_mapping(p, loc->mapping);
    const char *file = m ? ignis_profile_string(p, m->filename) : "";
    const char *base = strrchr(file, '/');
    if (loc->kind == IGNIS_FRAME_KERNEL)
        snprintf(buf, size, "[kernel]");
    else if (loc->kind == IGNIS_FRAME_JIT)
        snprintf(buf, size, "[jit]");
    else if (!m)
        snprintf(buf, size, "[unknown]");
    else if (file[0] == '[') /* [vdso], [heap], [anon:name] */
        snprintf(buf, size, "%s", file);
    else if (anonymous(file))
        snprintf(buf, size, "[anon]");
    else
        snprintf(buf, size, "[%s]", base ? base + 1 : file);
    return buf;
}

const char *ig_frame_display_name(const ignis_profile *p, uint32_t loc_id, uint32_t li, int addresses, char *buf,
                                  size_t size)
{
    const ignis_location *loc = ignis_profile_location(p, loc_id);
    if (!size || !loc || addresses || !ig_frame_unsymbolized(p, loc, li))
        return ignis_profile_frame_name(p, loc_id, li, buf, size);
    return ig_frame_region_name(p, loc, buf, size);
}
