/*
 * The YAML fast path (rules/src/load_yaml.c) against libyaml's path: the same documents,
 * trees, positions, values, styles and errors, on every file under tests/ (fixtures, fuzz
 * seeds and regressions included), docs/ and manifests/, on ../shared (corpus and admission
 * fixtures; skipped when absent), each whole and cut at its `---` lines as a split stream's
 * parts are; on hand-written cases; and on every one-byte edit of a set of small documents
 * (each byte replaced by each YAML indicator, deleted, or the text cut there). Cases the fast
 * path must keep are checked to be kept, so a fast path that always gave up would fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

#include "../fuzz/yaml_same.h"
#include "k5_internal.h"
#include "unit_test_util.h"

typedef struct tally {
    size_t files, spans_fast;
} tally;

static void same_bytes(const char *what, const char *buf, size_t len, size_t cuts,
                       size_t *fast_spans)
{
    char why[1024];
    size_t ignored = 0;
    if (!yaml_same(buf, len, cuts, why, sizeof why, fast_spans ? fast_spans : &ignored))
        fail_msg("%s: the fast path differs from libyaml: %s", what, why);
}

static void one_file(const char *path, void *ud)
{
    tally *t = ud;
    size_t len;
    char *buf = unit_read_file(path, &len);
    if (!buf)
        return;
    same_bytes(path, buf, len, 8, &t->spans_fast);
    t->files++;
    free(buf);
}

static void test_yaml_fast__tree_files_load_as_libyaml_does(void **state)
{
    (void)state;
    tally t = {0, 0};
    const char *dirs[] = {"/tests", "/docs", "/manifests"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s%s", K5_SOURCE_DIR, dirs[i]);
        assert_true(unit_each_file(dir, one_file, &t));
    }
    print_message("%zu files, %zu spans kept by the fast path\n", t.files, t.spans_fast);
    assert_true(t.files > 300);
    /* Most fixtures are the block subset: the fast path must be what loads them. */
    assert_true(t.spans_fast >= 50);
}

static void test_yaml_fast__shared_corpus_loads_as_libyaml_does(void **state)
{
    (void)state;
    tally t = {0, 0};
    if (!unit_each_file(K5_SHARED_DIR "/corpus", one_file, &t)) {
        print_message("../shared is absent: corpus skipped\n");
        skip();
    }
    (void)unit_each_file(K5_SHARED_DIR "/admission-fixtures", one_file, &t);
    print_message("%zu files, %zu spans kept by the fast path\n", t.files, t.spans_fast);
    assert_true(t.files > 0);
}

/* Cases the fast path keeps: each must be kept and load as libyaml loads it. */
static const char *const kept[] = {
    "a: 1\n",
    "a: 1",
    "---\na: 1\n",
    "# c\n---\n# Source: x\na: 1\n---\nb: 2\n",
    "a: 1\n...\n---\nb: 2\n...\n",
    "---\n",
    "---\n---\n",
    "a: 1\n---\n",
    "---\n# only a comment\n---\na: b\n",
    "---\n...\n",
    "a:\n  b:\n    c: d\n  e: f\ng: h\n",
    "a:\n- x\n- y\nb: 1\n",
    "a:\n  - x\n  -\n  - 'q'\n",
    "- a: 1\n  b: 2\n- c: 3\n-\n",
    "- a: 1\n  b:\n  - x\n  c: d\n",
    "-\n  a: 1\n- # c\n  b: 2\n",
    "a: \"x y\"\nb: 'it is'\nc: \"\"\nd: ''\n",
    "a: b c  # comment\nd: e#f\n'k': v\n\"k2\" : v\nk3 : v\n",
    "a: http://x:80/y\nb: c:d\n",
    "a: [\"x\", 'y', z, 1, -2, a.b/c=d]\nb: []\nc: { }\nd: {}\n",
    "- [a, b]\n- []\n",
    "  a: 1\n  b: 2\n",
    "a:\n\n  b: 1\n\n\nc: 2\n",
    "a: true\nb: null\nc: ~\nd: 1.5\ne: 0x1F\nf: -.inf\ng: 012\nh: yes\n",
    "<<: {}\na: 1\n",
    "a:\n  <<:\n    b: 1\n  c: 2\n",
    "x\n",
    "'x'\n",
    "[a]\n",
    "a: 1\n  # indented comment\nb: 2\n",
    "a:    \n  b: 1\n",
    "key with spaces: value with spaces\n",
    "a: ---\nb: ...\nc: -x\n",
};

/* Cases the fast path must give up on (libyaml's error, or YAML it leaves to libyaml). */
static const char *const left[] = {
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  x\n",
    "a: >\n  x\n",
    "a: b\n  c\n",
    "a: 'b\n  c'\n",
    "a: \"b\\n\"\n",
    "a:\tb\n",
    "a: 1\r\n",
    "%YAML 1.1\n---\na: 1\n",
    "? a\n: b\n",
    "a: 1\na: 2\n",
    "a: b: c\n",
    "a: - b\n",
    "a:\n  b: 1\n c: 2\n",
    "- - x\n",
    "a: 'it''s'\n",
    "a: [b,\n  c]\n",
    "a: [b, ]\n",
    "a: {b: c}\n",
    "a: 1\nb\n",
    "a: 1\n...\nb: 2\n",
    "...\na: 1\n",
    "--- a: 1\n",
    "---x: 1\n",
    "a: \xc3\xa9\n",
    "\xEF\xBB\xBF"
    "a: 1\n",
    "a: 'x'#c\n",
    "a: 1\n- b\n",
    "- a\nb: 1\n",
    "a: 1\n  b: 2\n",
    "a: [b]: c\n",
};

static void test_yaml_fast__kept_cases_are_kept_and_equal(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        uint32_t *lines;
        k5__file f = yaml_file_of("in.yaml", kept[i], strlen(kept[i]), &lines);
        char why[600];
        bool fast = false;
        if (!yaml_same_span(&f, 0, f.len, why, sizeof why, &fast))
            fail_msg("case %zu (%s): differs: %s", i, kept[i], why);
        if (!fast)
            fail_msg("case %zu (%s): the fast path gave up", i, kept[i]);
        free(lines);
    }
}

static void test_yaml_fast__left_cases_go_to_libyaml(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof left / sizeof *left; i++) {
        uint32_t *lines;
        k5__file f = yaml_file_of("in.yaml", left[i], strlen(left[i]), &lines);
        char why[600];
        bool fast = true;
        if (!yaml_same_span(&f, 0, f.len, why, sizeof why, &fast))
            fail_msg("case %zu (%s): differs: %s", i, left[i], why);
        if (fast)
            fail_msg("case %zu (%s): the fast path kept it", i, left[i]);
        free(lines);
    }
}

/* Every one-byte edit of small documents: replaced by an indicator, deleted, or cut there. */
static void test_yaml_fast__one_byte_edits_load_as_libyaml_does(void **state)
{
    (void)state;
    static const char subst[] = " \n:-#'\"[]{},\t&*!|>?.%@`x0~\\";
    size_t edits = 0, fast = 0;
    for (size_t c = 0; c < sizeof kept / sizeof *kept; c++) {
        const char *src = kept[c];
        size_t n = strlen(src);
        char *buf = malloc(n + 2);
        assert_non_null(buf);
        for (size_t i = 0; i <= n; i++) {
            for (size_t k = 0; k + 1 < sizeof subst; k++) {
                /* Replaced at i (inserted at the end). */
                memcpy(buf, src, n);
                buf[i] = subst[k];
                size_t m = i == n ? n + 1 : n;
                char what[64];
                snprintf(what, sizeof what, "case %zu, byte %zu := 0x%02x", c, i,
                         (unsigned char)subst[k]);
                same_bytes(what, buf, m, 2, &fast);
                /* Inserted before i. */
                memcpy(buf, src, i);
                buf[i] = subst[k];
                memcpy(buf + i + 1, src + i, n - i);
                snprintf(what, sizeof what, "case %zu, 0x%02x inserted at %zu", c,
                         (unsigned char)subst[k], i);
                same_bytes(what, buf, n + 1, 2, &fast);
                edits += 2;
            }
            if (i < n) {
                memcpy(buf, src, i);
                memcpy(buf + i, src + i + 1, n - i - 1);
                same_bytes("deleted byte", buf, n - 1, 2, &fast);
                same_bytes("cut", src, i, 2, &fast);
                edits += 2;
            }
        }
        free(buf);
    }
    print_message("%zu edits, %zu spans kept by the fast path\n", edits, fast);
    assert_true(fast > edits / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_fast__kept_cases_are_kept_and_equal),
        cmocka_unit_test(test_yaml_fast__left_cases_go_to_libyaml),
        cmocka_unit_test(test_yaml_fast__one_byte_edits_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__tree_files_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__shared_corpus_loads_as_libyaml_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
