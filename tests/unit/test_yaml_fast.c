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

/* Each case must load as libyaml's path loads it, and stay on the fast path (want_fast) or
 * go to libyaml (!want_fast). */
static void check_cases(const char *const *cases, size_t n, bool want_fast)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t *lines;
        k5__file f = yaml_file_of("in.yaml", cases[i], strlen(cases[i]), &lines);
        char why[600];
        bool fast = !want_fast;
        if (!yaml_same_span(&f, 0, f.len, why, sizeof why, &fast))
            fail_msg("case %zu (%s): differs: %s", i, cases[i], why);
        if (fast != want_fast)
            fail_msg("case %zu (%s): %s", i, cases[i],
                     want_fast ? "the fast path gave up" : "the fast path kept it");
        free(lines);
    }
}

static void test_yaml_fast__kept_cases_are_kept_and_equal(void **state)
{
    (void)state;
    check_cases(kept, sizeof kept / sizeof *kept, true);
}

static void test_yaml_fast__left_cases_go_to_libyaml(void **state)
{
    (void)state;
    check_cases(left, sizeof left / sizeof *left, false);
}

/* Each byte of bytes put in place of, and inserted before, every byte of every kept case;
 * with delete_and_cut, each byte also deleted and the case cut there. Every edit must load as
 * libyaml's path loads it. */
static void edit_kept_cases(const unsigned char *bytes, size_t nbytes, bool delete_and_cut,
                            size_t *edits, size_t *fast)
{
    for (size_t c = 0; c < sizeof kept / sizeof *kept; c++) {
        const char *src = kept[c];
        size_t n = strlen(src);
        char *buf = malloc(n + 2);
        assert_non_null(buf);
        for (size_t i = 0; i <= n; i++) {
            for (size_t k = 0; k < nbytes; k++) {
                /* Replaced at i (inserted at the end). */
                memcpy(buf, src, n);
                buf[i] = (char)bytes[k];
                char what[64];
                snprintf(what, sizeof what, "case %zu, byte %zu := 0x%02x", c, i, bytes[k]);
                same_bytes(what, buf, i == n ? n + 1 : n, 2, fast);
                /* Inserted before i. */
                memcpy(buf, src, i);
                buf[i] = (char)bytes[k];
                memcpy(buf + i + 1, src + i, n - i);
                snprintf(what, sizeof what, "case %zu, 0x%02x inserted at %zu", c, bytes[k], i);
                same_bytes(what, buf, n + 1, 2, fast);
                *edits += 2;
            }
            if (delete_and_cut && i < n) {
                memcpy(buf, src, i);
                memcpy(buf + i, src + i + 1, n - i - 1);
                same_bytes("deleted byte", buf, n - 1, 2, fast);
                same_bytes("cut", src, i, 2, fast);
                *edits += 2;
            }
        }
        free(buf);
    }
}

/* Every one-byte edit of small documents: replaced by an indicator, deleted, or cut there. */
static void test_yaml_fast__one_byte_edits_load_as_libyaml_does(void **state)
{
    (void)state;
    static const char subst[] = " \n:-#'\"[]{},\t&*!|>?.%@`x0~\\";
    size_t edits = 0, fast = 0;
    edit_kept_cases((const unsigned char *)subst, sizeof subst - 1, true, &edits, &fast);
    print_message("%zu edits, %zu spans kept by the fast path\n", edits, fast);
    assert_true(fast > edits / 4);
}

/* Hand-written edge cases (review of the fast path): each is compared with libyaml whole and
 * cut at its `---` lines, whether the fast path keeps it or not. Lengths come from the
 * literals, so NUL bytes count. */
#define EDGE(s)                                                                                   \
    {                                                                                             \
        s, sizeof s - 1                                                                           \
    }
static const struct {
    const char *s;
    size_t n;
} edge[] = {
    /* Control characters, NUL, DEL, non-ASCII line breaks, CR. */
    EDGE("a: b\x01\n"),
    EDGE("a: \x1f\n"),
    EDGE("a: b\x7f\n"),
    EDGE("a: b\0c\n"),
    EDGE("a: 1\n\0"),
    EDGE("\0"),
    EDGE("a: b # c\x01\n"),
    EDGE("# \x02\na: 1\n"),
    EDGE("a: 'x\x7fy'\n"),
    EDGE("a: \"x\x1by\"\n"),
    EDGE("a: [x\x01]\n"),
    EDGE("--- # \x7f\na: 1\n"),
    EDGE("a: b\x0b\n"),
    EDGE("a: b\x0c\n"),
    EDGE("a: b\xc2\x85 c\n"),
    EDGE("a: b\x85\n"),
    EDGE("a: b\xe2\x80\xa8 c\n"),
    EDGE("a: b\rc: d\n"),
    EDGE("a: b\r\nc: d\r\n"),
    EDGE("a: b\r"),
    EDGE("\r\na: 1\n"),
    EDGE("---\r\na: 1\n"),
    EDGE("a: 1\n---\r\nb: 2\n"),
    /* Trailing blanks. */
    EDGE("a: b  \n"),
    EDGE("a: b\t\n"),
    EDGE("a: b \t\n"),
    EDGE("a:  \nb: 1\n"),
    EDGE("- a  \n-  \n"),
    EDGE("a: 'b'  \n"),
    EDGE("a: b  # c  \n"),
    EDGE("a: 1   "),
    EDGE("   \n"),
    EDGE("a: 1\n   "),
    /* Colons, comments and dashes inside scalars. */
    EDGE("a: b#c\n"),
    EDGE("a: b #c\n"),
    EDGE("a:b\n"),
    EDGE("a: b:c\n"),
    EDGE("a: b: c\n"),
    EDGE("a: b :c\n"),
    EDGE("a: b::c\n"),
    EDGE("a: b:\n"),
    EDGE("a:: b\n"),
    EDGE("a :b\n"),
    EDGE("a: -\n"),
    EDGE("a: -x\n"),
    EDGE("a: - x\n"),
    EDGE("- -x\n"),
    EDGE("- - a\n"),
    EDGE("-x\n"),
    EDGE("-\n"),
    EDGE("- \n"),
    EDGE("-#c\n"),
    EDGE("- #c\n"),
    EDGE("--x\n"),
    EDGE("-- -\n"),
    EDGE("a: --- \n"),
    EDGE("  ---: 1\n"),
    EDGE("- ...\n"),
    EDGE("- ---\n"),
    EDGE("key:"),
    EDGE("key:\n"),
    EDGE("a: 1\nkey:"),
    EDGE("a:\n  key:"),
    EDGE("- a:"),
    EDGE("a b c: d e f\n"),
    EDGE("a  b : c\n"),
    EDGE("'a b': c\n"),
    EDGE("\"a\": b\n"),
    EDGE("\"a\":b\n"),
    EDGE("'a':b\n"),
    EDGE("'a' :b\n"),
    EDGE("'a' x: b\n"),
    EDGE("''': a\n"),
    EDGE("a: 'it''s'\n"),
    EDGE("a: ''''\n"),
    EDGE("a: ''\n"),
    EDGE("a: '' ''\n"),
    EDGE("a: \"\\\"\"\n"),
    EDGE("a: \"x\\\\\"\n"),
    EDGE("a: \"x\\\"\n"),
    EDGE("a: \"'\"\n"),
    EDGE("a: '\"'\n"),
    EDGE("a: \"#\"\n"),
    EDGE("a: '#'\n"),
    EDGE("a: 'x' # c\n"),
    EDGE("a: 'x'#c\n"),
    EDGE("a: \"x\" y\n"),
    EDGE("a: 'x\n"),
    EDGE("a: \"x\n"),
    /* Plain scalars that begin with indicators. */
    EDGE("a: @x\n"),
    EDGE("a: `x\n"),
    EDGE("a: %x\n"),
    EDGE("a: !x\n"),
    EDGE("a: &x\n"),
    EDGE("a: *x\n"),
    EDGE("a: |x\n"),
    EDGE("a: >x\n"),
    EDGE("a: ?x\n"),
    EDGE("a: :x\n"),
    EDGE("a: ,x\n"),
    EDGE("a: [x\n"),
    EDGE("a: ]x\n"),
    EDGE("a: {x\n"),
    EDGE("a: }x\n"),
    EDGE("a: #x\n"),
    EDGE("a: x@y`z%!&*|>?,]}{[\n"),
    EDGE("@: 1\n"),
    EDGE("%: 1\n"),
    EDGE("%x\n"),
    EDGE("x%: 1\n"),
    EDGE("a: x, y\n"),
    EDGE("a: x]\n"),
    EDGE("- ? x\n"),
    EDGE("? \n"),
    EDGE(": x\n"),
    EDGE("- : x\n"),
    EDGE("a: .\n"),
    EDGE("a: ~x\n"),
    /* Document markers. */
    EDGE("--- a\n"),
    EDGE("--- # c\na: 1\n"),
    EDGE("---x\n"),
    EDGE("---\tx\n"),
    EDGE("--- \n"),
    EDGE("---"),
    EDGE("---\n..."),
    EDGE("...\n"),
    EDGE("...\n---\na: 1\n"),
    EDGE("a: 1\n...\nb: 1\n"),
    EDGE("a: 1\n... # c\n---\nb: 1\n"),
    EDGE("a: 1\n...x\n"),
    EDGE("a: 1\n... x\n"),
    EDGE("a: 1\n...\n...\n"),
    EDGE("a: 1\n...\n# c\n"),
    EDGE("# only\n# comments\n"),
    EDGE("#\n"),
    EDGE("# c"),
    EDGE(""),
    EDGE("\n\n\n"),
    EDGE("---\n# c\n"),
    EDGE("---\n# c\n---\n# d\n"),
    EDGE("a: 1"),
    EDGE("---\na: 1"),
    EDGE("a:\n---\nb:\n"),
    EDGE("- a\n---\n- b\n...\n"),
    EDGE("a: 1\n ---\n"),
    EDGE("a:\n  ---\n"),
    EDGE("a:\n  ...\n"),
    EDGE("a: 1\n--- \nb: 2\n---  # x\n"),
    EDGE("---\n---\n---\n"),
    EDGE("x\n---\ny\n---\n'z'\n"),
    EDGE("--- |\n x\n---\na: 1\n"),
    EDGE("%YAML 1.1\n---\n"),
    EDGE("a: 1\n%x\n"),
    /* Indentation. */
    EDGE("a:\n- x\n- y\n"),
    EDGE("a:\n- x\nb:\n- y\n"),
    EDGE("- a:\n  - x\n  b: 1\n"),
    EDGE("- a:\n- x\n"),
    EDGE("a:\n-\n  b: 1\n"),
    EDGE("a:\n-\n- b\n"),
    EDGE("a:\n- x\n  - y\n"),
    EDGE("a:\n  b: 1\n c: 2\n"),
    EDGE("a:\n  b: 1\nc: 2\n"),
    EDGE("a:\n    b: 1\n  c: 2\n"),
    EDGE("-   a: 1\n  b: 2\n"),
    EDGE("-   a: 1\n    b: 2\n"),
    EDGE("- a\n - b\n"),
    EDGE("  a: 1\nb: 2\n"),
    EDGE("  - a\n- b\n"),
    EDGE("a: b\n  c\n"),
    EDGE("a: b\n# c\n  d\n"),
    EDGE("a:\n  - x\n  - y\n b: 1\n"),
    EDGE("a:\n - x\n -\n"),
    EDGE("- - - x\n"),
    EDGE("-\n -\n  - x\n"),
    EDGE("a:\n  b:\n  - c\n  d: 1\n"),
    EDGE("a:\n  # c\n  b: 1\n"),
    EDGE("a:\n# c\n  b: 1\n"),
    EDGE("a: 1\n    # c\nb: 2\n"),
    EDGE("- a: 1\n  # c\n  b: 2\n"),
    EDGE("a:\n\n\n  b\n"),
    EDGE("a:\n  b\n  c\n"),
    EDGE("a:\n  'b'\n"),
    EDGE("a:\n  [b]\n"),
    EDGE("a:\n  {}\n"),
    EDGE("- \n  a\n"),
    EDGE("- [a]\n  - b\n"),
    EDGE("- a: 1\n -\n"),
    /* Flow collections. */
    EDGE("a: [a,b]\n"),
    EDGE("a: [a, ]\n"),
    EDGE("a: [ ]\n"),
    EDGE("a: []\n"),
    EDGE("a: [a: b]\n"),
    EDGE("a: [a, [b]]\n"),
    EDGE("a: [a] x\n"),
    EDGE("a: [a]#c\n"),
    EDGE("a: [a] #c\n"),
    EDGE("a: [ a , b ]\n"),
    EDGE("a: [-]\n"),
    EDGE("a: [-1, +1]\n"),
    EDGE("a: [.5, -.5, a.b]\n"),
    EDGE("a: [a b]\n"),
    EDGE("a: [a,,b]\n"),
    EDGE("a: [,a]\n"),
    EDGE("a: [a\n"),
    EDGE("a: [a]]\n"),
    EDGE("a: ['a', \"b\"]\n"),
    EDGE("a: ['a''b']\n"),
    EDGE("a: [\"a\":b]\n"),
    EDGE("a: [a/b=c]\n"),
    EDGE("a: [a-]\n"),
    EDGE("a: [--]\n"),
    EDGE("a: [---]\n"),
    EDGE("a: [~, null, true]\n"),
    EDGE("a: {}\n"),
    EDGE("a: { }\n"),
    EDGE("a: {  }  # c\n"),
    EDGE("a: {} x\n"),
    EDGE("a: {a}\n"),
    EDGE("a: {\n"),
    EDGE("[]\n"),
    EDGE("{}\n"),
    EDGE("[a]: b\n"),
    EDGE("{}: b\n"),
    EDGE("- []\n- {}\n"),
    EDGE("[a]\n[b]\n"),
    EDGE("[a]\n---\n[b]\n"),
    /* Scalar resolution. */
    EDGE("a: ~\nb: null\nc: Null\nd: NULL\ne: nULL\nf: ''\n"),
    EDGE("a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: True\nh: FALSE\ni: tRUE\n"),
    EDGE("a: 0x1F\nb: 0o17\nc: 017\nd: 0b11\ne: -0\nf: +1\ng: 1_000\nh: 0x\n"),
    EDGE("a: .inf\nb: -.Inf\nc: +.INF\nd: .nan\ne: .NaN\nf: -.5\ng: 1e3\nh: 1.5e-3\ni: 1.\n"),
    EDGE("a: 1e\nb: e3\nc: 1.2.3\nd: 12:30\ne: 2020-01-01\nf: '1'\ng: \"true\"\n"),
    EDGE("- ~\n- null\n- 1\n- 1.0\n- true\n- [1, 1.0, true, ~]\n"),
    EDGE("~: 1\nnull: 2\n1: 3\ntrue: 4\n"),
    EDGE("<<: 1\n"),
    EDGE("<<: []\n"),
    EDGE("<<: [{}]\n"),
    EDGE("a: 1\na: 1\n"),
    EDGE("a: 1\n'a': 1\n"),
    EDGE("1: a\n'1': b\n"),
};

static void test_yaml_fast__edge_cases_load_as_libyaml_does(void **state)
{
    (void)state;
    size_t fast = 0;
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        char what[96];
        snprintf(what, sizeof what, "edge case %zu (%.40s)", i, edge[i].s);
        same_bytes(what, edge[i].s, edge[i].n, 8, &fast);
    }
    print_message("%zu edge cases, %zu spans kept by the fast path\n", sizeof edge / sizeof *edge,
                  fast);
}

/* Every byte of the kept cases replaced by (or preceded by) a byte libyaml refuses or reads
 * as a line break or a non-ASCII character: the fast path must give up on each. */
static void test_yaml_fast__control_bytes_load_as_libyaml_does(void **state)
{
    (void)state;
    static const unsigned char bad[] = {0x00, 0x01, 0x08, 0x0b, 0x0c, 0x0d, 0x1b, 0x1f,
                                        0x7f, 0x80, 0x85, 0xa0, 0xc2, 0xe2, 0xef, 0xff};
    size_t edits = 0, fast = 0;
    edit_kept_cases(bad, sizeof bad, false, &edits, &fast);
    print_message("%zu edits, %zu spans kept by the fast path\n", edits, fast);
}

/* Generated shapes at the limits: nesting around K5_MAX_DEPTH (maps, sequences, indentless
 * sequences), keys and scalars around libyaml's 1,024-character simple-key limit, and a
 * stream of many small documents of every kind cut at each `---` as the parallel loader does. */
static void test_yaml_fast__limits_load_as_libyaml_does(void **state)
{
    (void)state;
    size_t cap = 1u << 20, n, fast = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (unsigned depth = K5_MAX_DEPTH - 3; depth <= K5_MAX_DEPTH + 2; depth++) {
        for (int shape = 0; shape < 3; shape++) {
            n = 0;
            for (unsigned d = 0; d < depth; d++) {
                for (unsigned k = 0; k < d; k++)
                    buf[n++] = ' ';
                if (shape == 0)
                    n += (size_t)sprintf(buf + n, "k%u:\n", d);
                else if (shape == 1)
                    n += (size_t)sprintf(buf + n, "-\n");
                else
                    n += (size_t)sprintf(buf + n, "- k%u:\n", d);
            }
            n += (size_t)sprintf(buf + n, "%*sleaf\n", (int)depth + 1, "");
            char what[64];
            snprintf(what, sizeof what, "depth %u, shape %d", depth, shape);
            same_bytes(what, buf, n, 0, &fast);
        }
    }
    for (size_t len = 990; len <= 1030; len++) {
        for (int shape = 0; shape < 5; shape++) {
            n = 0;
            if (shape == 1 || shape == 4)
                buf[n++] = '\'';
            for (size_t k = 0; k < len; k++)
                buf[n++] = k % 7 == 3 && shape != 2 ? ' ' : 'k';
            if (shape == 1 || shape == 4)
                buf[n++] = '\'';
            n += (size_t)sprintf(buf + n, shape == 3 ? "\n" : shape == 4 ? "   : v\n" : ": v\n");
            n += (size_t)sprintf(buf + n, "b: %s\n", shape == 2 ? "x" : "");
            char what[64];
            snprintf(what, sizeof what, "key of %zu bytes, shape %d", len, shape);
            same_bytes(what, buf, n, 0, &fast);
            /* The same text as a value and as a sequence item. */
            memmove(buf + 3, buf, n);
            memcpy(buf, "a: ", 3);
            same_bytes(what, buf, n + 3, 0, &fast);
            buf[0] = '-';
            buf[1] = ' ';
            buf[2] = ' ';
            same_bytes(what, buf, n + 3, 0, &fast);
        }
    }
    /* Many documents, each cut. */
    n = 0;
    for (size_t i = 0; i < sizeof kept / sizeof *kept && n < cap / 2; i++) {
        if (i % 3 == 0)
            n += (size_t)sprintf(buf + n, "---\n");
        else if (i % 3 == 1)
            n += (size_t)sprintf(buf + n, "--- # doc %zu\n", i);
        else
            n += (size_t)sprintf(buf + n, "...\n---\n");
        const char *k = kept[i];
        /* Only documents without their own markers. */
        if (strstr(k, "---") || strstr(k, "..."))
            continue;
        n += (size_t)sprintf(buf + n, "%s%s", k, k[strlen(k) - 1] == '\n' ? "" : "\n");
    }
    same_bytes("many documents", buf, n, 1000, &fast);
    free(buf);
    print_message("%zu spans kept by the fast path\n", fast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_fast__kept_cases_are_kept_and_equal),
        cmocka_unit_test(test_yaml_fast__left_cases_go_to_libyaml),
        cmocka_unit_test(test_yaml_fast__one_byte_edits_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__edge_cases_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__control_bytes_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__limits_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__tree_files_load_as_libyaml_does),
        cmocka_unit_test(test_yaml_fast__shared_corpus_loads_as_libyaml_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
