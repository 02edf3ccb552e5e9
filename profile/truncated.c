/*
 * profile/truncated.c — the share of a profile in truncated stacks
 * (profile/truncated.h).
 *
 * One pass over the merged samples: a location is a "[truncated]" frame
 * when it has no mapping and a single line whose function is named
 * "[truncated]"; a stack counts when its outermost frame is one, or the
 * frame below the outermost (the thread frame of --per-thread).  The
 * verdict per location is memoized, so the pass costs two array reads per
 * distinct sample (about 5 ms for 200,000), and a profile without a
 * function of that name is answered from its function table.  Sums
 * saturate rather than wrap.
 */
#include "profile/truncated.h"
#include "utils/strbuf.h"

#include <stdlib.h>
#include <string.h>

uint32_t ig_truncated_location(ignis_profile *p)
{
    uint32_t f = ignis_profile_function_named(p, IG_TRUNCATED_FRAME, NULL, 0);
    return ignis_profile_location_for_function(p, f, IGNIS_FRAME_USER);
}

static bool is_truncated_frame(const ignis_profile *p, uint32_t loc_id)
{
    const ignis_location *loc = ignis_profile_location(p, loc_id);
    if (!loc || loc->mapping || loc->nlines != 1)
        return false;
    const ignis_function *f = ignis_profile_function(p, loc->lines[0].function);
    return f && !strcmp(ignis_profile_string(p, f->name), IG_TRUNCATED_FRAME);
}

/* memo[id]: 0 not looked at, 1 no, 2 yes */
static bool truncated_at(const ignis_profile *p, uint8_t *memo, uint32_t loc_id)
{
    if (!memo[loc_id])
        memo[loc_id] = is_truncated_frame(p, loc_id) ? 2 : 1;
    return memo[loc_id] == 2;
}

static int64_t saturating_add(int64_t a, int64_t b)
{
    int64_t s;
    if (__builtin_add_overflow(a, b, &s))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return s;
}

/* Profiles not made by `ignis record` have no such function: one pass
 * over the functions (not the samples) says so. */
static bool has_truncated_function(const ignis_profile *p)
{
    for (size_t i = 1, n = ignis_profile_num_functions(p); i <= n; i++)
        if (!strcmp(ignis_profile_string(p, ignis_profile_function(p, (uint32_t)i)->name), IG_TRUNCATED_FRAME))
            return true;
    return false;
}

int64_t ig_truncated_value(const ignis_profile *p, size_t vi)
{
    size_t nloc = ignis_profile_num_locations(p);
    if (vi >= ignis_profile_num_values(p) || !has_truncated_function(p))
        return 0;
    uint8_t *memo = ig_xcalloc(nloc + 1, 1);
    int64_t sum = 0;
    for (size_t i = 0, n = ignis_profile_num_samples(p); i < n; i++) {
        ignis_sample s = ignis_profile_sample(p, i);
        size_t depth = 0;
        const uint32_t *st = ignis_profile_stack(p, s.stack, &depth);
        if (!st || !depth)
            continue;
        if (truncated_at(p, memo, st[depth - 1]) || (depth > 1 && truncated_at(p, memo, st[depth - 2])))
            sum = saturating_add(sum, s.values[vi]);
    }
    free(memo);
    return sum;
}

double ig_truncated_percent(const ignis_profile *p, size_t vi)
{
    int64_t part = ig_truncated_value(p, vi);
    int64_t total = vi < ignis_profile_num_values(p) ? ignis_profile_total(p, vi) : 0;
    return total > 0 && part > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

double ig_truncated_percent_cached(const ignis_profile *p, size_t vi)
{
    static _Thread_local struct {
        const ignis_profile *p;
        size_t vi, nsamples, nlocations;
        int64_t total;
        double percent;
    } last;
    size_t nsamples = ignis_profile_num_samples(p), nlocations = ignis_profile_num_locations(p);
    int64_t total = vi < ignis_profile_num_values(p) ? ignis_profile_total(p, vi) : 0;
    if (last.p != p || last.vi != vi || last.nsamples != nsamples || last.nlocations != nlocations ||
        last.total != total) {
        last.p = p;
        last.vi = vi;
        last.nsamples = nsamples;
        last.nlocations = nlocations;
        last.total = total;
        last.percent = ig_truncated_percent(p, vi);
    }
    return last.percent;
}
