/*
 * utils/satmath.h — saturating 64-bit arithmetic for profile values.
 *
 * Profile values are int64 sums of samples that may come from hostile
 * files or API callers.  The readers refuse files whose totals do not fit
 * (with the line or element at fault); everywhere else values are added
 * with these, so an extreme profile clamps at INT64_MAX/INT64_MIN instead
 * of wrapping into a number of the wrong sign.
 */
#ifndef IG_SATMATH_H
#define IG_SATMATH_H

#include <stdint.h>

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t ig_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_add_overflow(a, b, &r))
        return r;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

/* a - b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t ig_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_sub_overflow(a, b, &r))
        return r;
    return b < 0 ? INT64_MAX : INT64_MIN;
}

/* |a|, with |INT64_MIN| clamped to INT64_MAX. */
static inline int64_t ig_sat_abs(int64_t a)
{
    return a >= 0 ? a : a == INT64_MIN ? INT64_MAX : -a;
}

#endif
