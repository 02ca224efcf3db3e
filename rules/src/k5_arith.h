/*
 * kube5xx engine, internal: int64 arithmetic on numbers from manifests.
 *
 * A manifest may hold any integer up to int64 (failureThreshold: 9223372036854775807 loads
 * fine even though the API server would refuse it), so a rule never multiplies or adds two
 * such numbers with plain operators: signed overflow is undefined behaviour (UBSan aborts the
 * webhook's review) and in release builds prints windows like -4611686018427387904s.
 * Saturating forms clamp to INT64_MIN/INT64_MAX, which keeps every comparison with a
 * threshold right (a saturated window is never "below 10s"); the checked form says whether
 * the exact result exists, for rules that must not judge an approximation.
 */
#ifndef KUBE5XX_K5_ARITH_H
#define KUBE5XX_K5_ARITH_H

#include <stdbool.h>
#include <stdint.h>

/* a * b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t k5__mul_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_mul_overflow(a, b, &r))
        return r;
    return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
}

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t k5__add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_add_overflow(a, b, &r))
        return r;
    return b < 0 ? INT64_MIN : INT64_MAX;
}

/* a - b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t k5__sub_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_sub_overflow(a, b, &r))
        return r;
    return b < 0 ? INT64_MAX : INT64_MIN;
}

/* a * b into *out when it fits in int64; false (and *out untouched) when it does not. */
static inline bool k5__mul_checked(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/*
 * A double as int64, truncated toward zero and clamped (NaN gives 0): converting a double
 * outside int64's range with a cast is undefined behaviour.
 */
static inline int64_t k5__i64_from_double(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775808.0) /* 2^63: the first double above INT64_MAX */
        return INT64_MAX;
    if (d < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

#endif
