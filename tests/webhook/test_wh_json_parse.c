/*
 * Unit tests of wh_json_parse: the one-pass parser builds exactly cJSON's tree, and hands
 * every input it is not sure of back to cJSON (NULL, the arena as it was).
 */
#include "wh_test_util.h"

#include <dirent.h>

#include <cjson/cJSON.h>

#include "wh_json_arena.h"
#include "wh_json_parse.h"

/* Parses s both ways in one arena span; returns 1 when the fast parser read it, 0 when it passed. */
static int both(const char *s, size_t n)
{
    assert_true(wh_json_arena_begin());
    wh_json_arena_mark before = wh_json_arena_get_mark();
    const char *fend = NULL, *cend = NULL;
    cJSON *f = wh_json_parse_fast(s, n, &fend);
    if (!f) {
        /* Handed back: nothing of the attempt stays in the arena. */
        wh_json_arena_mark after = wh_json_arena_get_mark();
        assert_ptr_equal(before.chunk, after.chunk);
        assert_int_equal(before.used, after.used);
    }
    cJSON *c = cJSON_ParseWithLengthOpts(s, n, &cend, false);
    if (f) {
        if (!c)
            fail_msg("fast parser read what cJSON refuses: %.*s", (int)n, s);
        if (!wh_json_same_tree(f, c))
            fail_msg("trees differ for: %.*s", (int)n, s);
        assert_ptr_equal(fend, cend);
    }
    wh_json_arena_end();
    return f != NULL;
}

static int both_str(const char *s)
{
    return both(s, strlen(s));
}

static void test_wh_json_parse__reads_what_cjson_reads_alike(void **state)
{
    (void)state;
    static const char *const read[] = {
        "{}", "[]", "{ }", " [ ] ", "null", "true", "false", "0", "-0", "7", "-12",
        "123456789012345", "1234567890123456789", "-9223372036854775808", "2147483647",
        "2147483648", "-2147483649", "1.5", "-0.25", "1e3", "1E-3", "2.5e+10", "1e999",
        "-1e999", "0.1", "\"\"", "\"plain\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u20ac\\uD83D\\uDE00\\u0041\"", "\"caf\xc3\xa9 \x01\x1f raw controls\"",
        "{\"a\":1,\"a\":2}", "{\"k\":[1,{\"x\":null},\"s\",true,false,[]]}",
        "{\"a\":1} trailing bytes are ignored, as cJSON does", "[1,2,3]garbage",
        "\t\n\r [ 1 , 2 ]", "{\"long\":\"0123456789abcdef0123456789abcdef0123456789\"}",
        "{\"num\":0.000000000000000000000000000000000000000000000001}",
        "0x10", /* 0, then bytes after the value, which cJSON ignores too */
    };
    for (size_t i = 0; i < sizeof read / sizeof *read; i++)
        if (!both_str(read[i]))
            fail_msg("the fast parser passed on: %s", read[i]);
}

static void test_wh_json_parse__passes_what_it_is_not_sure_of(void **state)
{
    (void)state;
    static const char *const passed[] = {
        "", "   ", "\xef\xbb\xbf{}", "01", "-.5", "1.", "1.e5", ".5", "+1", "1e", "1.5.3",
        "-", "[0x10]", "nul", "tru", "fals", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[[]",
        "{\"a\":{}", "[1 2]", "\"\\u0000\"", "\"\\uZZZZ\"", "\"\\uDC00\"", "\"\\uD800\"",
        "\"\\uD800\\u0041\"", "\"\\x\"", "\"unterminated", "\"\\",
        "12345678901234567890123456789012345678901234567890123456789012345",
    };
    for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
        if (both_str(passed[i]))
            fail_msg("the fast parser read: %s", passed[i]);
    /* A NUL inside a string (cJSON keeps the bytes after it) and as whitespace. */
    assert_int_equal(both("\"a\0b\"", 5), 0);
    assert_int_equal(both("[1,\0 2]", 7), 1);
    /* Nesting past its own limit goes to cJSON (whose limit is 1,000). */
    char deep[2 * (WH_JSON_FAST_MAX_DEPTH + 1) + 1];
    memset(deep, '[', WH_JSON_FAST_MAX_DEPTH + 1);
    memset(deep + WH_JSON_FAST_MAX_DEPTH + 1, ']', WH_JSON_FAST_MAX_DEPTH + 1);
    assert_int_equal(both(deep, sizeof deep - 1), 0);
    assert_int_equal(both(deep + 1, sizeof deep - 3), 1);
}

/* Every review the tests and the shared admission fixtures hold reads the same both ways. */
static void read_dir(const char *dir, const char *suffix, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name), k = strlen(suffix);
        if (n < k || strcmp(e->d_name + n - k, suffix) != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *b = wh_test_read(path, &len);
        assert_non_null(b);
        if (!both(b, len))
            fail_msg("the fast parser passed on %s", path);
        free(b);
        (*count)++;
    }
    closedir(d);
}

static void test_wh_json_parse__fixtures_read_alike(void **state)
{
    (void)state;
    int count = 0;
    read_dir(WH_FIXTURES, ".json", &count);
    assert_true(count >= 10);
    read_dir(WH_SHARED_DIR "/admission-fixtures", ".json", &count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_json_parse__reads_what_cjson_reads_alike),
        cmocka_unit_test(test_wh_json_parse__passes_what_it_is_not_sure_of),
        cmocka_unit_test(test_wh_json_parse__fixtures_read_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
