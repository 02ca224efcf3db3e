/*
 * k5_arith.h: the saturating and checked int64 arithmetic the rules use on numbers from
 * manifests. Run under UBSan these also prove the helpers themselves never overflow.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "k5_arith.h"

static void test_arith__mul_sat_clamps_both_ways(void **state)
{
    (void)state;
    assert_int_equal(k5__mul_sat(3, 10), 30);
    assert_int_equal(k5__mul_sat(0, INT64_MAX), 0);
    assert_int_equal(k5__mul_sat(INT64_MAX, 10), INT64_MAX);
    assert_int_equal(k5__mul_sat(INT64_MAX, INT64_MAX), INT64_MAX);
    assert_int_equal(k5__mul_sat(INT64_MIN, -1), INT64_MAX);
    assert_int_equal(k5__mul_sat(INT64_MIN, 2), INT64_MIN);
    assert_int_equal(k5__mul_sat(-(INT64_C(1) << 53), INT64_C(1) << 53), INT64_MIN);
    assert_int_equal(k5__mul_sat(INT64_C(1) << 53, 1000), (INT64_C(1) << 53) * 1000);
    /* The case: failureThreshold 2^62 x periodSeconds 3 was -4611686018427387904s. */
    assert_int_equal(k5__mul_sat(INT64_C(1) << 62, 3), INT64_MAX);
}

static void test_arith__add_sub_sat(void **state)
{
    (void)state;
    assert_int_equal(k5__add_sat(1, 2), 3);
    assert_int_equal(k5__add_sat(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(k5__add_sat(INT64_MIN, -1), INT64_MIN);
    assert_int_equal(k5__add_sat(INT64_MAX, INT64_MIN), -1);
    assert_int_equal(k5__sub_sat(5, 7), -2);
    assert_int_equal(k5__sub_sat(INT64_MIN, 1), INT64_MIN);
    assert_int_equal(k5__sub_sat(0, INT64_MIN), INT64_MAX);
    assert_int_equal(k5__sub_sat(INT64_MAX, -1), INT64_MAX);
}

static void test_arith__mul_checked_refuses_overflow(void **state)
{
    (void)state;
    int64_t r = 42;
    assert_true(k5__mul_checked(INT32_MAX, INT32_MAX, &r));
    assert_int_equal(r, (int64_t)INT32_MAX * INT32_MAX);
    r = 42;
    assert_false(k5__mul_checked(INT64_MAX, 2, &r));
    assert_int_equal(r, 42); /* untouched */
    assert_false(k5__mul_checked(INT64_MIN, -1, &r));
    assert_true(k5__mul_checked(INT64_MIN, 1, &r));
    assert_int_equal(r, INT64_MIN);
}

static void test_arith__double_to_int64_clamps(void **state)
{
    (void)state;
    assert_int_equal(k5__i64_from_double(1.9), 1);
    assert_int_equal(k5__i64_from_double(-1.9), -1);
    assert_int_equal(k5__i64_from_double(9007199254740992.0), INT64_C(9007199254740992));
    assert_int_equal(k5__i64_from_double(9223372036854775807.0), INT64_MAX); /* rounds to 2^63 */
    assert_int_equal(k5__i64_from_double(1e300), INT64_MAX);
    assert_int_equal(k5__i64_from_double(-1e300), INT64_MIN);
    assert_int_equal(k5__i64_from_double(-9223372036854775808.0), INT64_MIN);
    assert_int_equal(k5__i64_from_double(INFINITY), INT64_MAX);
    assert_int_equal(k5__i64_from_double(-INFINITY), INT64_MIN);
    assert_int_equal(k5__i64_from_double(NAN), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arith__mul_sat_clamps_both_ways),
        cmocka_unit_test(test_arith__add_sub_sat),
        cmocka_unit_test(test_arith__mul_checked_refuses_overflow),
        cmocka_unit_test(test_arith__double_to_int64_clamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
