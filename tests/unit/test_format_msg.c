/*
 * k5__format_msg (run.c): a finding's message, formatted without printf for the conversions the
 * rules use (%s, %.*s, %lld, %zu, %%). Its promise is "the bytes vsnprintf(out, cap, ...) would
 * write, truncated the same way", so every case here is judged against snprintf itself, at
 * every buffer size from 0 to two past the full length and at the engine's 1024: the bytes
 * written, the terminating NUL, and that nothing after it is touched (both buffers start
 * filled with the same guard byte and are compared whole). Anything else must return false
 * so that the engine falls back to vsnprintf.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "k5_check.h"
#include "k5_internal.h"

enum { BUF = 1200, GUARD = 0x5a };

static bool format_msg(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = k5__format_msg(out, cap, fmt, ap);
    va_end(ap);
    return ok;
}

/* Checks k5__format_msg against vsnprintf for one format and its arguments at buffer sizes
 * 0 .. length + 2 and 1024 (report_v's). Returns the full length, for callers that check it. */
static int same_as_snprintf(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int same_as_snprintf(const char *where, const char *fmt, ...)
{
    static char want[BUF], got[BUF];
    va_list ap, a1, a2;
    va_start(ap, fmt);
    va_copy(a1, ap);
    int len = vsnprintf(NULL, 0, fmt, a1);
    va_end(a1);
    assert_true(len >= 0 && len + 3 < BUF);
    for (size_t cap = 0; cap <= (size_t)len + 3; cap++) {
        size_t c = cap == (size_t)len + 3 ? 1024 : cap;
        /* Everything up to 16 bytes past the larger of the buffer and the message. */
        size_t span = (c > (size_t)len ? c : (size_t)len) + 16;
        span = span < BUF ? span : BUF;
        memset(want, GUARD, span);
        memset(got, GUARD, span);
        va_copy(a1, ap);
        vsnprintf(want, c, fmt, a1);
        va_end(a1);
        va_copy(a2, ap);
        bool ok = k5__format_msg(got, c, fmt, a2);
        va_end(a2);
        if (!ok)
            fail_msg("%s: format \"%s\" was refused (it uses only what the formatter takes)",
                     where, fmt);
        if (memcmp(want, got, span) != 0) {
            size_t at = 0;
            while (want[at] == got[at])
                at++;
            fail_msg("%s: format \"%s\", buffer of %zu: byte %zu is 0x%02x, snprintf wrote "
                     "0x%02x (snprintf: \"%.*s\", ours: \"%.*s\")",
                     where, fmt, c, at, (unsigned char)got[at], (unsigned char)want[at],
                     (int)strnlen(want, c), want, (int)strnlen(got, c), got);
        }
    }
    va_end(ap);
    return len;
}

#define SAME(...)  same_as_snprintf(__FILE__ ":" K5_STR(__LINE__), __VA_ARGS__)
#define K5_STR(x)  K5_STR_(x)
#define K5_STR_(x) #x

static void test_format_msg__plain_text_and_percent(void **state)
{
    (void)state;
    assert_int_equal(SAME("%s", ""), 0);
    SAME("no conversion at all");
    SAME("%%");
    SAME("%%%%");
    SAME("100%% of %s", "pods");
    SAME("%%s is not a conversion here: %s", "x");
    SAME("a%%");
    SAME("%%b");
    /* A message of 1023 bytes fills report_v's buffer exactly; 1024 and 1100 are cut. */
    static char big[1101];
    memset(big, 'm', sizeof big - 1);
    big[1023] = '\0';
    assert_int_equal(SAME("%s", big), 1023);
    big[1023] = 'm';
    big[1024] = '\0';
    assert_int_equal(SAME("%s", big), 1024);
    big[1024] = 'm';
    assert_int_equal(SAME("%s%%", big), 1101);
    assert_int_equal(SAME("<%s>", big), 1102);
}

static void test_format_msg__strings_and_precision(void **state)
{
    (void)state;
    SAME("%s", "web");
    SAME("%s%s%s", "", "", "");
    SAME("[%s][%s]", "", "a");
    SAME("port %s of Service \"%s\"", "http", "web");
    SAME("%.*s", 0, "anything");
    SAME("%.*s", 0, "");
    SAME("%.*s", 3, "abc");
    SAME("%.*s", 2, "abc");
    SAME("%.*s", 4, "abc");
    SAME("%.*s", INT_MAX, "abc");
    SAME("%.*s|%.*s", 1, "xy", 0, "z");
    /* The precision bounds the read: the bytes need no NUL after them (a node's text). Heap,
     * exactly that long, so that ASan sees a read past it. */
    char *raw = malloc(5);
    assert_non_null(raw);
    memcpy(raw, "hello", 5);
    assert_int_equal(SAME("<%.*s>", 5, raw), 7);
    SAME("<%.*s>", 2, raw);
    free(raw);
}

static void test_format_msg__integers_at_their_limits(void **state)
{
    (void)state;
    const long long ll[] = {0,
                            1,
                            -1,
                            9,
                            10,
                            -10,
                            99,
                            100,
                            12345,
                            -2147483648LL,
                            2147483648LL,
                            LLONG_MAX,
                            LLONG_MIN,
                            LLONG_MIN + 1,
                            LLONG_MAX - 1};
    for (size_t i = 0; i < sizeof ll / sizeof *ll; i++) {
        SAME("%lld", ll[i]);
        SAME("replicas %lld < %lld", ll[i], ll[(i + 1) % (sizeof ll / sizeof *ll)]);
    }
    const size_t zu[] = {0, 1, 9, 10, 4294967295u, (size_t)4294967296ull, SIZE_MAX - 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof zu / sizeof *zu; i++) {
        SAME("%zu", zu[i]);
        SAME("%zu of %zu", zu[i], zu[sizeof zu / sizeof *zu - 1 - i]);
    }
    assert_int_equal(SAME("%lld", LLONG_MIN), 20);
    assert_int_equal(SAME("%zu", SIZE_MAX), SIZE_MAX == UINT64_MAX ? 20 : 10);
    SAME("%lld%zu%%%s%.*s", LLONG_MIN, SIZE_MAX, "", 0, "x");
}

/* What the formatter must leave to vsnprintf: it returns false, whatever the buffer. */
static void test_format_msg__refuses_what_it_does_not_take(void **state)
{
    (void)state;
    char out[64];
    const char *null = NULL;
    assert_false(format_msg(out, sizeof out, "%d", 1));
    assert_false(format_msg(out, sizeof out, "%5s", "x"));
    assert_false(format_msg(out, sizeof out, "%-s", "x"));
    assert_false(format_msg(out, sizeof out, "%.3s", "xyz"));
    assert_false(format_msg(out, sizeof out, "%ld", 1L));
    assert_false(format_msg(out, sizeof out, "%llu", 1ULL));
    assert_false(format_msg(out, sizeof out, "%zd", (size_t)1));
    assert_false(format_msg(out, sizeof out, "%x", 1u));
    assert_false(format_msg(out, sizeof out, "%c", 'c'));
    assert_false(format_msg(out, sizeof out, "ok %s then %g", "a", 1.0));
    assert_false(format_msg(out, sizeof out, "%s", null));
    assert_false(format_msg(out, sizeof out, "%.*s", 2, null));
    /* A negative precision means "no precision" to printf: left to it. */
    assert_false(format_msg(out, sizeof out, "%.*s", -1, "abc"));
    /* A lone % at the end is undefined for printf; refused rather than guessed. */
    assert_false(format_msg(out, sizeof out, "50%"));
    assert_false(format_msg(out, 0, "%d", 1));
}

/* A deterministic random walk over messages of the rules' shape: literal text, every supported
 * conversion in several orders, strings of 0-40 bytes with precisions below, at and above
 * their length, integers near every power of ten and at the limits. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void random_text(char *s, size_t max)
{
    static const char alphabet[] = "abcxyz-._:/\"'%{}\\ 0123456789\t";
    size_t n = rnd() % (max + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[rnd() % (sizeof alphabet - 1)];
    s[n] = '\0';
}

static long long random_ll(void)
{
    static const long long edges[] = {LLONG_MIN, LLONG_MAX, 0, -1, 1};
    uint64_t r = rnd();
    if (r % 4 == 0)
        return edges[(r >> 8) % 5];
    long long p = 1;
    for (int d = (int)((r >> 8) % 19); d > 0; d--)
        p *= 10;
    long long v = p - 1 + (long long)((r >> 16) % 3);
    return (r >> 24) & 1 ? -v : v;
}

static void test_format_msg__random_messages(void **state)
{
    (void)state;
    char a[41], b[41], lit[41];
    for (int i = 0; i < 3000; i++) {
        random_text(a, 40);
        random_text(b, 40);
        random_text(lit, 12);
        int prec = (int)(rnd() % (strlen(b) + 3));
        long long v = random_ll();
        size_t z = rnd() % 3 ? (size_t)(rnd() >> (rnd() % 64)) : SIZE_MAX;
        switch (i % 4) {
        case 0:
            SAME("%s: %s %.*s (%lld, %zu%%)", lit, a, prec, b, v, z);
            break;
        case 1:
            SAME("%lld%s%zu%.*s%%%s", v, a, z, prec, b, lit);
            break;
        case 2:
            SAME("%.*s%%%zu %lld %s.%s", prec, b, z, v, lit, a);
            break;
        default:
            SAME("%%%s%.*s%s", a, prec, b, lit);
            break;
        }
    }
}

/* k5__snprintf, the rules' snprintf: the bytes (and nothing past them) and the return value of
 * snprintf itself at every buffer size, for formats the formatter takes and for those it
 * leaves to vsnprintf (another conversion, a width). */
#define SAME_SNPRINTF(cap, ...)                                                                   \
    do {                                                                                          \
        char want_[64], got_[64];                                                                 \
        memset(want_, GUARD, sizeof want_);                                                       \
        memset(got_, GUARD, sizeof got_);                                                         \
        int w_ = snprintf(want_, (cap), __VA_ARGS__);                                             \
        int g_ = k5__snprintf(got_, (cap), __VA_ARGS__);                                          \
        assert_int_equal(w_, g_);                                                                 \
        assert_memory_equal(want_, got_, sizeof want_);                                           \
    } while (0)

static void test_format_msg__snprintf_is_snprintf(void **state)
{
    (void)state;
    for (size_t cap = 0; cap <= 64; cap++) {
        SAME_SNPRINTF(cap, "%s%.*s/%.*s \"%.*s\"", ", ", 4, "8080xx", 3, "TCP", 4, "http");
        SAME_SNPRINTF(cap, "replicas %lld by default, %zu%%", (long long)-42, (size_t)7);
        SAME_SNPRINTF(cap, "none");
        SAME_SNPRINTF(cap, "ok %s then %d and %5s", "a", -3, "b");
        SAME_SNPRINTF(cap, "[%x] %.*s", 255u, 3, "tail");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_msg__plain_text_and_percent),
        cmocka_unit_test(test_format_msg__strings_and_precision),
        cmocka_unit_test(test_format_msg__integers_at_their_limits),
        cmocka_unit_test(test_format_msg__refuses_what_it_does_not_take),
        cmocka_unit_test(test_format_msg__random_messages),
        cmocka_unit_test(test_format_msg__snprintf_is_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
