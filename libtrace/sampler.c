/*
 * libtrace/sampler.c — the OpenTelemetry samplers.
 *
 * TraceIdRatioBased is deterministic on the trace id, following the
 * spec's consistent-probability approach: the least significant 56 bits of
 * the trace id (bytes 9..15, big-endian) are the randomness R and a span is
 * kept when R >= T with the rejection threshold T = (1 - ratio) * 2^56.  A
 * higher ratio lowers T, so it keeps a superset of the traces a lower
 * ratio keeps, and every service with the same ratio agrees.
 */
#include "libtrace/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO56 72057594037927936.0 /* 2^56 */

uint64_t ig_ratio_threshold(double ratio)
{
    if (!(ratio > 0))
        return 1ull << 56; /* nothing is >= 2^56 */
    if (ratio >= 1)
        return 0;
    double t = ceil((1.0 - ratio) * TWO56);
    if (t >= TWO56)
        return (1ull << 56) - 1; /* tiny ratio: keep only the maximum R */
    return (uint64_t)t;
}

void ig_sampler_init(ig_sampler *s, ignis_sampler_kind kind, double ratio)
{
    s->kind = kind;
    s->ratio = ratio;
    s->threshold = ig_ratio_threshold(ratio);
}

static const struct {
    const char *name;
    ignis_sampler_kind kind;
} sampler_names[] = {
    {"always_on", IGNIS_SAMPLER_ALWAYS_ON},
    {"always_off", IGNIS_SAMPLER_ALWAYS_OFF},
    {"traceidratio", IGNIS_SAMPLER_TRACEIDRATIO},
    {"parentbased_always_on", IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON},
    {"parentbased_always_off", IGNIS_SAMPLER_PARENTBASED_ALWAYS_OFF},
    {"parentbased_traceidratio", IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO},
};

const char *ig_sampler_name(ignis_sampler_kind k)
{
    for (size_t i = 0; i < sizeof sampler_names / sizeof *sampler_names; i++)
        if (sampler_names[i].kind == k)
            return sampler_names[i].name;
    return "?";
}

void ig_sampler_from_strings(const char *name, const char *arg, ignis_sampler_kind *kind, double *ratio)
{
    *kind = IGNIS_SAMPLER_PARENTBASED_ALWAYS_ON;
    *ratio = 1.0;
    if (name && *name) {
        bool found = false;
        for (size_t i = 0; i < sizeof sampler_names / sizeof *sampler_names; i++)
            if (strcmp(name, sampler_names[i].name) == 0) {
                *kind = sampler_names[i].kind;
                found = true;
            }
        if (!found)
            ig_tlog(IGNIS_LOG_WARN, "OTEL_TRACES_SAMPLER: unknown sampler \"%.64s\"; using parentbased_always_on",
                    name);
    }
    bool ratio_kind = *kind == IGNIS_SAMPLER_TRACEIDRATIO || *kind == IGNIS_SAMPLER_PARENTBASED_TRACEIDRATIO;
    if (!ratio_kind || !arg || !*arg)
        return;
    const char *p;
    size_t n = ig_trim(arg, strlen(arg), &p);
    char buf[64];
    char *end = NULL;
    double v = -1;
    if (n > 0 && n < sizeof buf) {
        memcpy(buf, p, n);
        buf[n] = '\0';
        v = strtod(buf, &end);
    }
    if (!end || *end || !(v >= 0.0 && v <= 1.0)) {
        ig_tlog(IGNIS_LOG_WARN, "OTEL_TRACES_SAMPLER_ARG: invalid ratio \"%.64s\" (want 0..1); using 1.0", arg);
        return;
    }
    *ratio = v;
}
