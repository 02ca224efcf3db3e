/*
 * k5_glob_match: the one glob both front-ends use (the config's exempt.objects, the webhook's
 * exempt usernames and groups).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

static bool m(const char *pat, const char *s, char stop)
{
    return k5_glob_match(pat, s, strlen(s), stop);
}

static void test_glob__star_matches_any_run(void **state)
{
    (void)state;
    assert_true(m("system:serviceaccount:kube-system:*", "system:serviceaccount:kube-system:x", 0));
    assert_false(m("system:serviceaccount:kube-system:*", "system:serviceaccount:default:x", 0));
    assert_true(m("*", "", 0));
    assert_true(m("a*b*c", "aXXbYYc", 0));
    assert_false(m("a*b*c", "aXXbYY", 0));
    assert_true(m("*-legacy", "web-legacy", 0));
    assert_false(m("", "x", 0));
    assert_true(m("", "", 0));
    assert_true(m("ab", "ab", 0));
    assert_false(m("ab", "abc", 0));
}

static void test_glob__stop_byte_is_not_crossed(void **state)
{
    (void)state;
    assert_true(m("Deployment/legacy/*", "Deployment/legacy/web", '/'));
    assert_false(m("Deployment/*", "Deployment/legacy/web", '/'));
    assert_true(m("Deployment/*/web", "Deployment/legacy/web", '/'));
    assert_true(m("*/legacy/*", "StatefulSet/legacy/db", '/'));
}

static void test_glob__many_stars_stay_fast(void **state)
{
    (void)state;
    /* A recursive glob takes exponential time here; the match below must not. */
    char s[4097];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    assert_false(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s, 0));
    assert_true(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", s, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob__star_matches_any_run),
        cmocka_unit_test(test_glob__stop_byte_is_not_crossed),
        cmocka_unit_test(test_glob__many_stars_stay_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
