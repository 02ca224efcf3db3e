/*
 * The front-ends' shared layer (frontend/fe.h): the capped file reader, UTF-8
 * decoding, validation and repair, the JSON string escaper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe.h"

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    fclose(f);
}

static void test_fe__read_file_up_to_its_cap_and_no_further(void **state)
{
    (void)state;
    char dir[] = "/tmp/k5fe.XXXXXX", path[64], why[200];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    write_file(path, 5000);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(fe_read_file(path, 5000, 0, &buf, &len, why, sizeof why), FE_OK);
    assert_int_equal(len, 5000);
    assert_int_equal(buf[len], '\0'); /* the spare byte */
    assert_int_equal(buf[4999], 'a' + 4999 % 26);
    free(buf);
    buf = NULL;
    assert_int_equal(fe_read_file(path, 4999, 0, &buf, &len, why, sizeof why), FE_ELIMIT);
    assert_null(buf);
    assert_string_equal(why, "larger than 4999 bytes");
    /* An empty file is fine. */
    write_file(path, 0);
    assert_int_equal(fe_read_file(path, 10, FE_READ_REGULAR, &buf, &len, why, sizeof why), FE_OK);
    assert_int_equal(len, 0);
    free(buf);
    buf = NULL;
    unlink(path);
    assert_int_equal(fe_read_file(path, 10, 0, &buf, &len, why, sizeof why), FE_ENOENT);
    assert_string_equal(why, "No such file or directory");
    /* Regular files only: a directory and a FIFO are refused, the FIFO without blocking. */
    assert_int_equal(fe_read_file(dir, 10, FE_READ_REGULAR, &buf, &len, why, sizeof why),
                     FE_ENOTREG);
    assert_string_equal(why, "not a regular file (a directory)");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(fe_read_file(path, 10, FE_READ_REGULAR, &buf, &len, why, sizeof why),
                     FE_ENOTREG);
    assert_string_equal(why, "not a regular file (a FIFO)");
    assert_null(buf);
    unlink(path);
    rmdir(dir);
}

static void test_fe__read_fd_refuses_a_stream_one_byte_past_the_cap(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "0123456789", 10), 10);
    close(p[1]);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(fe_read_fd(p[0], 9, &buf, &len, NULL), FE_ELIMIT);
    assert_int_equal(len, 10);
    assert_null(buf);
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "0123456789", 10), 10);
    close(p[1]);
    assert_int_equal(fe_read_fd(p[0], 10, &buf, &len, NULL), FE_OK);
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    close(p[0]);
}

static void test_fe__utf8_next_takes_maximal_invalid_subparts(void **state)
{
    (void)state;
    uint32_t cp;
    bool bad;
    assert_int_equal(fe_utf8_next("\xc3\xa9", 2, &cp, &bad), 2);
    assert_int_equal(cp, 0xe9);
    assert_false(bad);
    assert_int_equal(fe_utf8_next("\xe2\x82", 2, &cp, &bad), 2); /* truncated: one U+FFFD */
    assert_int_equal(cp, FE_REPLACEMENT_CHAR);
    assert_true(bad);
    assert_int_equal(fe_utf8_next("\xff\xff", 2, &cp, &bad), 1);
    assert_true(bad);
    assert_int_equal(fe_utf8_next("\xef\xbf\xbd", 3, &cp, &bad), 3); /* a literal U+FFFD */
    assert_int_equal(cp, FE_REPLACEMENT_CHAR);
    assert_false(bad);
    assert_true(fe_utf8_valid("caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", 14));
    assert_false(fe_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(fe_utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(fe_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(fe_utf8_valid("ok\xc3", 3));           /* truncated at the end */
    assert_int_equal(fe_utf8_chars("caf\xc3\xa9", 5), 4);
}

static void test_fe__utf8_clean_replaces_bad_bytes_and_nul(void **state)
{
    (void)state;
    char *s = fe_utf8_clean("a\0b\xff\xe2\x82" "c", 7);
    assert_non_null(s);
    assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c");
    free(s);
    s = fe_utf8_clean(NULL, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_fe__json_escape_writes_what_cjson_prints(void **state)
{
    (void)state;
    const char in[] = "a\"b\\c\n\r\t\b\f\x01\x7f\xc3\xa9";
    char out[FE_JSON_ESCAPED_MAX(sizeof in)];
    char *end = fe_json_escape(out, in, sizeof in - 1);
    *end = '\0';
    assert_string_equal(out, "a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\x7f\xc3\xa9");
    /* The worst case is exactly six bytes per input byte. */
    char ctl[4] = {1, 2, 3, 4}, big[FE_JSON_ESCAPED_MAX(4) + 1];
    assert_int_equal(fe_json_escape(big, ctl, 4) - big, FE_JSON_ESCAPED_MAX(4));
}

/* Every byte that needs escaping, at every offset of a 24-byte run (the 8-byte fast path's edges). */
static void test_fe__json_escape_finds_each_special_byte_at_every_offset(void **state)
{
    (void)state;
    static const unsigned char special[] = {'"', '\\', 0x00, 0x01, '\n', 0x1f};
    static const char *const want[] = {"\\\"", "\\\\", "\\u0000", "\\u0001", "\\n", "\\u001f"};
    for (size_t k = 0; k < sizeof special; k++) {
        for (size_t at = 0; at < 24; at++) {
            char in[24], out[FE_JSON_ESCAPED_MAX(24) + 1], expect[64];
            memset(in, 'x', sizeof in);
            in[at] = (char)special[k];
            char *end = fe_json_escape(out, in, sizeof in);
            *end = '\0';
            snprintf(expect, sizeof expect, "%.*s%s%.*s", (int)at, "xxxxxxxxxxxxxxxxxxxxxxxx",
                     want[k], (int)(23 - at), "xxxxxxxxxxxxxxxxxxxxxxxx");
            assert_string_equal(out, expect);
        }
    }
}

/* Both programs word a usage error the same way, with and without a subcommand. */
static void test_fe__usage_error_names_the_program_and_its_help(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fe_usage_error(f, "kube5xx", NULL, "unknown format '%s' (text, json)", "xml");
    fe_usage_error(f, "kube5xx", "audit", "%s", "-n and -A exclude each other");
    fe_usage_error(f, "kube5xx-webhook", NULL, "%s", "serve needs --tls-cert and --tls-key");
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "kube5xx: unknown format 'xml' (text, json)\n"
                             "Try 'kube5xx --help'.\n"
                             "kube5xx: audit: -n and -A exclude each other\n"
                             "Try 'kube5xx audit --help'.\n"
                             "kube5xx-webhook: serve needs --tls-cert and --tls-key\n"
                             "Try 'kube5xx-webhook --help'.\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fe__read_file_up_to_its_cap_and_no_further),
        cmocka_unit_test(test_fe__read_fd_refuses_a_stream_one_byte_past_the_cap),
        cmocka_unit_test(test_fe__utf8_next_takes_maximal_invalid_subparts),
        cmocka_unit_test(test_fe__utf8_clean_replaces_bad_bytes_and_nul),
        cmocka_unit_test(test_fe__json_escape_writes_what_cjson_prints),
        cmocka_unit_test(test_fe__json_escape_finds_each_special_byte_at_every_offset),
        cmocka_unit_test(test_fe__usage_error_names_the_program_and_its_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
