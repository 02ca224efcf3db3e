/*
 * Unit tests of wh_common (bounded text, clean lines, durations) and wh_log.
 */
#include "wh_test_util.h"

#include <unistd.h>

#include "wh_common.h"
#include "wh_log.h"

static void test_wh_common__buf_never_overflows(void **state)
{
    (void)state;
    char s[8];
    wh_buf b;
    wh_buf_init(&b, s, sizeof s);
    wh_buf_puts(&b, "abc");
    wh_buf_printf(&b, "%d", 12345);
    assert_string_equal(s, "abc1234");
    assert_true(b.trunc);
    assert_int_equal(b.len, 7);
}

static void test_wh_common__json_escapes_quotes_and_controls(void **state)
{
    (void)state;
    char s[64];
    wh_buf b;
    wh_buf_init(&b, s, sizeof s);
    wh_buf_json_str(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(s, "a\\\"b\\\\c\\n\\u0001");
}

static void test_wh_common__clean_line_strips_controls_and_bad_utf8(void **state)
{
    (void)state;
    char s[256];
    wh_buf b;
    wh_buf_init(&b, s, sizeof s);
    const char in[] = "  one\ttwo\n\nthree\x7f\xc2\x85" "four\xff caf\xc3\xa9  ";
    size_t n = wh_clean_line(&b, in, sizeof in - 1, 120);
    assert_string_equal(s, "one two three four\xef\xbf\xbd caf\xc3\xa9");
    assert_int_equal(n, 24);
}

/* A control byte, DEL, a non-ASCII byte or a double space at every offset of a 24-byte line. */
static void test_wh_common__clean_line_sees_each_byte_at_every_offset(void **state)
{
    (void)state;
    static const char *const bad[] = {"\x01", "\x7f", "\xc3\xa9", "  "};
    static const char *const want[] = {" ", " ", "\xc3\xa9", " "};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        for (size_t at = 1; at + strlen(bad[k]) < 24; at++) {
            char in[32], out[128], expect[64];
            size_t m = strlen(bad[k]);
            memset(in, 'x', 24);
            memcpy(in + at, bad[k], m);
            in[24] = '\0';
            wh_buf b;
            wh_buf_init(&b, out, sizeof out);
            wh_clean_line(&b, in, 24, 120);
            snprintf(expect, sizeof expect, "%.*s%s%.*s", (int)at, in, want[k], (int)(24 - at - m),
                     in + at + m);
            assert_string_equal(out, expect);
        }
    }
}

static void test_wh_common__clean_line_cuts_on_character_boundary(void **state)
{
    (void)state;
    char s[256];
    wh_buf b;
    wh_buf_init(&b, s, sizeof s);
    /* 20 two-byte characters cut to 10 characters: 7 of them and "...". */
    char in[64] = "";
    for (int i = 0; i < 20; i++)
        strcat(in, "\xc3\xa9");
    size_t n = wh_clean_line(&b, in, strlen(in), 10);
    assert_int_equal(n, 10);
    assert_int_equal(fe_utf8_chars(s, strlen(s)), 10);
    assert_string_equal(s + strlen(s) - 3, "...");
}

static void test_wh_common__duration_parses_go_syntax(void **state)
{
    (void)state;
    int64_t ns;
    assert_true(wh_duration_parse("10s", &ns));
    assert_int_equal(ns, 10000000000LL);
    assert_true(wh_duration_parse("1m30s", &ns));
    assert_int_equal(ns, 90000000000LL);
    assert_true(wh_duration_parse("250ms", &ns));
    assert_int_equal(ns, 250000000LL);
    assert_true(wh_duration_parse("1.5h", &ns));
    assert_int_equal(ns, 5400000000000LL);
    assert_true(wh_duration_parse("0", &ns));
    assert_int_equal(ns, 0);
    assert_false(wh_duration_parse("", &ns));
    assert_false(wh_duration_parse("10", &ns));
    assert_false(wh_duration_parse("-1s", &ns));
    assert_false(wh_duration_parse("s", &ns));
    assert_false(wh_duration_parse("10x", &ns));
    assert_false(wh_duration_parse("99999999999999h", &ns));
}

static void test_wh_log__lines_are_json_and_levels_filter(void **state)
{
    (void)state;
    char path[] = "/tmp/wh-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    wh_log_set_fd(fd);
    wh_log_set_level(WH_LOG_WARN);
    wh_log(WH_LOG_INFO, "hidden");
    wh_log(WH_LOG_ERROR, "shown \"%s\"", "quoted");
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_WARN, "big");
    char big[8000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wh_logline_int(&l, "n", 7);
    wh_logline_str(&l, "big", big);
    wh_logline_emit(&l);
    wh_log_set_fd(2);
    close(fd);
    size_t len;
    char *text = wh_test_read(path, &len);
    unlink(path);
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, "\"level\":\"error\",\"msg\":\"shown \\\"quoted\\\"\"}\n"));
    /* The oversized field is dropped whole; the line stays JSON and says so. */
    assert_non_null(strstr(text, "\"msg\":\"big\",\"n\":7,\"truncated\":true}\n"));
    free(text);
    wh_log_level lvl;
    assert_true(wh_log_level_parse("debug", &lvl));
    assert_int_equal(lvl, WH_LOG_DEBUG);
    assert_false(wh_log_level_parse("loud", &lvl));
}

static void write_n(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('x', f);
    fclose(f);
}

/* The capped reader behind the config file and the PEM files: exactly max is fine, one more
 * byte is WH_ELIMIT naming the file, a missing file is WH_EIO naming it. */
static void test_wh_common__read_file_caps_size_and_names_the_file(void **state)
{
    (void)state;
    char dir[64], path[128], err[256];
    assert_int_equal(wh_test_mkdtemp(dir, sizeof dir, "readfile"), 0);
    snprintf(path, sizeof path, "%s/f", dir);
    char *buf = NULL;
    size_t len = 0;

    write_n(path, 5000);
    assert_int_equal(wh_read_file(path, 5000, &buf, &len, err, sizeof err), WH_OK);
    assert_int_equal(len, 5000);
    assert_int_equal(buf[4999], 'x');
    free(buf);
    buf = NULL;

    write_n(path, 5001);
    assert_int_equal(wh_read_file(path, 5000, &buf, &len, err, sizeof err), WH_ELIMIT);
    assert_null(buf);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "larger than 5000 bytes"));

    write_n(path, 0);
    assert_int_equal(wh_read_file(path, 5000, &buf, &len, err, sizeof err), WH_OK);
    assert_int_equal(len, 0);
    free(buf);
    buf = NULL;

    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(wh_read_file(path, 5000, &buf, &len, err, sizeof err), WH_EIO);
    assert_null(buf);
    assert_non_null(strstr(err, path));
    assert_int_equal(wh_test_rmtree(dir), 0);
}

static void test_wh_common__read_file_refuses_fifo_directory_device_without_blocking(void **state)
{
    (void)state;
    char dir[] = "/tmp/wh-common-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[128], *buf = NULL, err[512];
    size_t len = 0;
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int64_t t0 = wh_now_ns();
    /* No writer ever comes: a blocking open would hang here. */
    assert_int_equal(wh_read_file(fifo, 5000, &buf, &len, err, sizeof err), WH_EIO);
    assert_true(wh_now_ns() - t0 < 1000000000LL);
    assert_null(buf);
    assert_non_null(strstr(err, "not a regular file (a FIFO)"));
    assert_int_equal(wh_read_file(dir, 5000, &buf, &len, err, sizeof err), WH_EIO);
    assert_non_null(strstr(err, "a directory"));
    assert_int_equal(wh_read_file("/dev/zero", 5000, &buf, &len, err, sizeof err), WH_EIO);
    assert_non_null(strstr(err, "a device"));
    assert_null(buf);
    assert_int_equal(wh_test_rmtree(dir), 0);
}

static void test_wh_common__utf8_validation(void **state)
{
    (void)state;
    assert_true(fe_utf8_valid("abc", 3));
    assert_true(fe_utf8_valid("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", 14));
    assert_false(fe_utf8_valid("\xff", 1));
    assert_false(fe_utf8_valid("\xc3", 1));             /* truncated */
    assert_false(fe_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(fe_utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(fe_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

static void test_wh_common__json_member_nul_is_found_in_the_raw_text(void **state)
{
    (void)state;
    const char *esc = "{\"request\":{\"uid\" : \"ab\\u0000cd\"}}";
    assert_true(wh_json_member_has_nul(esc, strlen(esc), "uid", "ab"));
    const char raw[] = "{\"uid\":\"ab\0cd\"}";
    assert_true(wh_json_member_has_nul(raw, sizeof raw - 1, "uid", "ab"));
    const char *clean = "{\"uid\":\"ab\",\"x\":\"\\u0000\"}";
    assert_false(wh_json_member_has_nul(clean, strlen(clean), "uid", "ab"));
    /* Another member named uid with a NUL but a different start is not this uid. */
    const char *other = "{\"uid\":\"ab\",\"o\":{\"uid\":\"zz\\u0000\"}}";
    assert_false(wh_json_member_has_nul(other, strlen(other), "uid", "ab"));
}

static void test_wh_common__json_value_count_caps_without_parsing(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,2,3],\"b\":{\"c\":\"x,y,[z{\\\",\"}}"; /* commas in strings */
    /* values: the object, a, the array, 1, 2, 3, b, its object, c = about 7-9 by count */
    assert_false(wh_json_values_exceed(doc, strlen(doc), 9));
    assert_true(wh_json_values_exceed(doc, strlen(doc), 5));
    size_t n = 300001;
    char *big = malloc(2 * n + 2);
    assert_non_null(big);
    big[0] = '[';
    for (size_t i = 0; i < n; i++) {
        big[1 + 2 * i] = '0';
        big[2 + 2 * i] = ',';
    }
    big[2 * n] = ']';
    assert_true(wh_json_values_exceed(big, 2 * n + 1, 200000));
    assert_false(wh_json_values_exceed(big, 2 * n + 1, 400000));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_common__buf_never_overflows),
        cmocka_unit_test(test_wh_common__json_escapes_quotes_and_controls),
        cmocka_unit_test(test_wh_common__clean_line_strips_controls_and_bad_utf8),
        cmocka_unit_test(test_wh_common__clean_line_cuts_on_character_boundary),
        cmocka_unit_test(test_wh_common__clean_line_sees_each_byte_at_every_offset),
        cmocka_unit_test(test_wh_common__duration_parses_go_syntax),
        cmocka_unit_test(test_wh_common__read_file_caps_size_and_names_the_file),
        cmocka_unit_test(test_wh_common__read_file_refuses_fifo_directory_device_without_blocking),
        cmocka_unit_test(test_wh_common__utf8_validation),
        cmocka_unit_test(test_wh_common__json_value_count_caps_without_parsing),
        cmocka_unit_test(test_wh_common__json_member_nul_is_found_in_the_raw_text),
        cmocka_unit_test(test_wh_log__lines_are_json_and_levels_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
