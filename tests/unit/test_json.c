/*
 * The direct JSON parser (rules/src/parse_json.c) against the cJSON-based loader it replaced
 * (k5__load_json_cjson): the same node trees, the same positions, the same lint output, on
 * every JSON file of the tree and of ../shared (corpus and admission fixtures), on every YAML
 * fixture written out as JSON (minified, indented, and with every non-ASCII character as a
 * \u escape), and on generated documents. Then each place where the two differ on purpose,
 * and each limit, on its own.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

#include "k5_internal.h"
#include "unit_test_util.h"

/* ---- a growable text buffer ---- */

typedef struct text {
    char *p;
    size_t n, cap;
} text;

static void put(text *t, const void *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        while (t->n + n + 1 > t->cap)
            t->cap = t->cap ? t->cap * 2 : 4096;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void putf(text *t, const char *fmt, ...) K5_PRINTF(2, 3);
static void putf(text *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof buf);
    put(t, buf, (size_t)n);
}

/* ---- the two loaders side by side ---- */

typedef struct side {
    k5__arena arena;
    k5__vec docs;
    k5_status st;
    k5_error err;
} side;

/* A file over the bytes (borrowed), with '\n' line starts: enough for positions of errors. */
static k5__file file_of(const char *buf, size_t len, uint32_t **lines)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    *lines = malloc(n * sizeof **lines);
    assert_non_null(*lines);
    size_t k = 0;
    (*lines)[k++] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n')
            (*lines)[k++] = (uint32_t)i + 1;
    k5__file f;
    memset(&f, 0, sizeof f);
    f.name = "in.json";
    f.buf = (char *)buf;
    f.len = len;
    f.lines = *lines;
    f.nlines = n;
    f.ascii = true;
    return f;
}

static void run_side(side *s, const k5__file *f, bool reference)
{
    memset(s, 0, sizeof *s);
    s->docs.elem = sizeof(k5__doc);
    s->st = reference ? k5__load_json_cjson(&s->arena, f, &s->docs, &s->err)
                      : k5__load_json(&s->arena, f, &s->docs, &s->err);
}

static void side_free(side *s)
{
    k5__arena_free(&s->arena);
    k5__vec_free(&s->docs);
}

static bool same_node(const k5_node *a, const k5_node *b, char *why, size_t whylen)
{
    if (a->pos != b->pos || a->bits != b->bits) {
        snprintf(why, whylen, "node at offset %u (bits %x) vs offset %u (bits %x)", a->pos - 1,
                 a->bits, b->pos - 1, b->bits);
        return false;
    }
    size_t n = k5_node_len(a);
    if (k5_node_is_scalar(a)) {
        if (n && memcmp(a->u.str, b->u.str, n) != 0) {
            snprintf(why, whylen, "text \"%.*s\" vs \"%.*s\" at offset %u", (int)n, a->u.str,
                     (int)n, b->u.str, a->pos - 1);
            return false;
        }
        return true;
    }
    size_t items = k5_node_is_map(a) ? 2 * n : n;
    for (size_t i = 0; i < items; i++)
        if (!same_node(&a->u.items[i], &b->u.items[i], why, whylen))
            return false;
    return true;
}

/*
 * Where the direct parser is meant to differ (parse_json.c's header): it refuses control
 * characters and \u escapes without four hexadecimal digits that cJSON let through, and keeps
 * what follows a \u0000 that cJSON's copy cut off.
 */
static bool meant_to_differ(const side *ref, const side *dir, const char *buf, size_t len)
{
    /* The direct parser refuses these bytes where cJSON read on: whatever cJSON then made of
     * the rest (a tree, or an error further on such as a duplicate key) is not comparable. */
    if ((ref->st == K5_OK || ref->st == K5_EPARSE) && dir->st == K5_EPARSE &&
        (strstr(dir->err.msg, "control character") || strstr(dir->err.msg, "byte 0x0") ||
         strstr(dir->err.msg, "byte 0x1") || strstr(dir->err.msg, "four hexadecimal digits")))
        return true;
    for (size_t i = 0; i + 6 <= len; i++)
        if (memcmp(buf + i, "\\u0000", 6) == 0)
            return true;
    return false;
}

/*
 * A finding's path in a JSON tree is found by following positions (k5__node_path with
 * `unique`); it must be the path the walk over every collection finds, for every node of the
 * tree (keys, values, items, the root), with the same key node. Trees of up to 3,000 nodes
 * (each path walked costs the tree).
 */
static size_t paths_compared;

static size_t tree_size(const k5_node *n)
{
    size_t c = 1;
    if (k5_node_is_map(n) || k5_node_is_seq(n)) {
        size_t items = k5_node_is_map(n) ? 2 * k5_node_len(n) : k5_node_len(n);
        for (size_t i = 0; i < items; i++)
            c += tree_size(&n->u.items[i]);
    }
    return c;
}

static bool same_paths(const k5_node *root, const k5_node *n, char *why, size_t whylen)
{
    static char a[1024], b[1024];
    const k5_node *ka = NULL, *kb = NULL;
    bool fa = k5__node_path(root, n, true, a, sizeof a, &ka);
    bool fb = k5__node_path(root, n, false, b, sizeof b, &kb);
    paths_compared++;
    if (fa != fb || (fa && (strcmp(a, b) != 0 || ka != kb))) {
        snprintf(why, whylen, "path of the node at offset %u: \"%.300s\" by position, \"%.300s\" "
                 "by walking", n->pos - 1, fa ? a : "(none)", fb ? b : "(none)");
        return false;
    }
    if (k5_node_is_map(n) || k5_node_is_seq(n)) {
        size_t items = k5_node_is_map(n) ? 2 * k5_node_len(n) : k5_node_len(n);
        for (size_t i = 0; i < items; i++)
            if (!same_paths(root, &n->u.items[i], why, whylen))
                return false;
    }
    return true;
}

/*
 * Both loaders over the bytes: the same status, and on success the same documents (spans,
 * trees, positions); on a duplicate key the same error and position. Fails the test otherwise,
 * unless `lenient` and the difference is one the direct parser means (meant_to_differ).
 */
static void same_load_as(const char *what, const char *buf, size_t len, bool lenient)
{
    uint32_t *lines;
    k5__file f = file_of(buf, len, &lines);
    side ref, dir;
    run_side(&ref, &f, true);
    run_side(&dir, &f, false);
    char why[1024] = "";
    bool ok = ref.st == dir.st;
    if (!ok)
        snprintf(why, sizeof why, "status %d (%.200s) vs %d (%.200s)", ref.st, ref.err.msg, dir.st,
                 dir.err.msg);
    if (ok && ref.st == K5_OK) {
        ok = ref.docs.len == dir.docs.len;
        if (!ok)
            snprintf(why, sizeof why, "%zu documents vs %zu", ref.docs.len, dir.docs.len);
        for (size_t i = 0; ok && i < ref.docs.len; i++) {
            k5__doc a = K5__VEC_AT(&ref.docs, k5__doc, i), b = K5__VEC_AT(&dir.docs, k5__doc, i);
            ok = a.start == b.start && a.end == b.end && same_node(a.root, b.root, why, sizeof why);
            if (ok && tree_size(b.root) <= 3000)
                ok = same_paths(b.root, b.root, why, sizeof why);
        }
    }
    if (ok && ref.st == K5_EPARSE && strstr(ref.err.msg, "duplicate key")) {
        ok = strcmp(ref.err.msg, dir.err.msg) == 0 && ref.err.line == dir.err.line &&
             ref.err.column == dir.err.column;
        if (!ok)
            snprintf(why, sizeof why, "%.200s at %u:%u vs %.200s at %u:%u", ref.err.msg,
                     (unsigned)ref.err.line, (unsigned)ref.err.column, dir.err.msg,
                     (unsigned)dir.err.line, (unsigned)dir.err.column);
    }
    if (!ok && lenient && meant_to_differ(&ref, &dir, buf, len))
        ok = true;
    side_free(&ref);
    side_free(&dir);
    free(lines);
    if (!ok)
        fail_msg("%s: the direct parser differs from the cJSON loader: %s", what, why);
}

static void same_load(const char *what, const char *buf, size_t len)
{
    same_load_as(what, buf, len, false);
}

/* The lint of the bytes as a file, with the direct parser or the reference loader. */
static void lint_text(const char *buf, size_t len, bool reference, text *out)
{
    k5__json_reference = reference;
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, NULL), K5_OK);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    k5_error err;
    memset(&err, 0, sizeof err);
    k5_status st = k5_docset_load(set, "in.json", copy, len, K5_FORMAT_JSON, &err);
    k5__json_reference = false;
    putf(out, "load %d %u:%u\n", st, err.line, err.column);
    k5_report *rep = NULL;
    assert_int_equal(k5_run(set, NULL, 0, &rep, &err), K5_OK);
    for (size_t i = 0; i < k5_report_count(rep); i++) {
        const k5_finding *fd = k5_report_at(rep, i);
        putf(out, "%u:%u %s %d ", fd->line, fd->column, fd->rule->id, fd->severity);
        puts_(out, fd->path);
        puts_(out, " ");
        puts_(out, fd->message);
        puts_(out, "\n");
    }
    for (size_t i = 0; i < k5_docset_notice_count(set); i++) {
        const k5_notice *nt = k5_docset_notice(set, i);
        putf(out, "notice %u:%u ", nt->line, nt->column);
        puts_(out, nt->message);
        puts_(out, "\n");
    }
    k5_report_free(&rep);
    k5_docset_free(&set);
}

static size_t findings_compared;

static void same_lint(const char *what, const char *buf, size_t len)
{
    text a = {0}, b = {0};
    lint_text(buf, len, true, &a);
    lint_text(buf, len, false, &b);
    if (strcmp(a.p, b.p) != 0)
        fail_msg("%s: lint output differs\n--- cJSON loader\n%s--- direct parser\n%s", what, a.p,
                 b.p);
    for (const char *p = a.p; (p = strchr(p, '\n')); p++)
        findings_compared++;
    free(a.p);
    free(b.p);
}

static bool starts_like_json(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')
            continue;
        return b[i] == '{' || b[i] == '[';
    }
    return false;
}

typedef struct json_walk {
    void (*fn)(const char *path, const char *buf, size_t n);
    size_t count;
} json_walk;

static void if_json(const char *path, void *ud)
{
    json_walk *w = ud;
    size_t n;
    char *buf = unit_read_file(path, &n);
    if (buf && starts_like_json(buf, n)) {
        w->fn(path, buf, n);
        w->count++;
    }
    free(buf);
}

/* Every file under dir (recursively) that starts like JSON, through fn; returns the count. */
static size_t each_json(const char *dir, void (*fn)(const char *path, const char *buf, size_t n))
{
    json_walk w = {fn, 0};
    (void)unit_each_file(dir, if_json, &w);
    return w.count;
}

static void both_ways(const char *path, const char *buf, size_t n)
{
    if (strstr(path, "/fuzz/regressions/")) {
        /* Fuzzer findings: bytes no one wrote, where the parsers may differ as meant. */
        same_load_as(path, buf, n, true);
        return;
    }
    same_load(path, buf, n);
    same_lint(path, buf, n);
}

static void test_json__every_json_file_loads_and_lints_the_same(void **state)
{
    (void)state;
    size_t ours = each_json(K5_SOURCE_DIR "/tests", both_ways);
    assert_true(ours >= 20); /* webhook and fuzz seeds, fixtures that start with '{' */
    struct stat sb;
    if (stat(K5_SHARED_DIR "/corpus", &sb) != 0) {
        print_message("../shared is absent: corpus and admission fixtures skipped\n");
        return;
    }
    size_t corpus = each_json(K5_SHARED_DIR "/corpus", both_ways);
    size_t adm = each_json(K5_SHARED_DIR "/admission-fixtures", both_ways);
    print_message("JSON files compared: %zu in tests/, %zu in the corpus, %zu admission "
                  "fixtures; %zu lines of lint output\n",
                  ours, corpus, adm, findings_compared);
    assert_true(corpus >= 10);
}

/* ---- YAML fixtures written out as JSON ---- */

typedef struct style {
    bool indent;      /* one entry per line, two spaces a level */
    bool ascii_only;  /* every non-ASCII character as \u (surrogate pairs above U+FFFF) */
} style;

static void put_string(text *t, const char *s, size_t n, const style *st)
{
    puts_(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(t, e, 2);
        } else if (c == '\n') {
            puts_(t, "\\n");
        } else if (c == '\t') {
            puts_(t, "\\t");
        } else if (c < 0x20) {
            putf(t, "\\u%04x", c);
        } else if (c >= 0x80 && st->ascii_only) {
            /* The YAML loader only lets valid UTF-8 through. */
            unsigned long cp;
            size_t k;
            if (c >= 0xF0)
                cp = c & 0x07, k = 3;
            else if (c >= 0xE0)
                cp = c & 0x0F, k = 2;
            else
                cp = c & 0x1F, k = 1;
            for (size_t j = 1; j <= k && i + j < n; j++)
                cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3F);
            i += k;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                putf(t, "\\u%04lX\\u%04lX", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                putf(t, "\\u%04lx", cp);
            }
        } else if (c == '/' && st->ascii_only) {
            puts_(t, "\\/");
        } else {
            put(t, &c, 1);
        }
    }
    puts_(t, "\"");
}

static bool json_number(const char *s, size_t n)
{
    if (!n || n > 60 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return false;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i]))
            return false;
    char *end;
    (void)strtod(buf, &end);
    return end == buf + n;
}

static void newline(text *t, const style *st, int level)
{
    if (!st->indent)
        return;
    puts_(t, "\n");
    for (int i = 0; i < level; i++)
        puts_(t, "  ");
}

static void put_node(text *t, const k5_node *n, const style *st, int level)
{
    size_t len = k5_node_len(n);
    switch (k5_node_kind(n)) {
    case K5_NODE_MAP:
        puts_(t, "{");
        for (size_t i = 0; i < len; i++) {
            if (i)
                puts_(t, ",");
            newline(t, st, level + 1);
            k5_str k = k5_node_str(k5_map_key(n, i));
            put_string(t, k.p ? k.p : "", k.n, st);
            puts_(t, st->indent ? ": " : ":");
            put_node(t, k5_map_value(n, i), st, level + 1);
        }
        if (len)
            newline(t, st, level);
        puts_(t, "}");
        return;
    case K5_NODE_SEQ:
        puts_(t, "[");
        for (size_t i = 0; i < len; i++) {
            if (i)
                puts_(t, ",");
            newline(t, st, level + 1);
            put_node(t, k5_seq_at(n, i), st, level + 1);
        }
        if (len)
            newline(t, st, level);
        puts_(t, "]");
        return;
    case K5_NODE_NULL:
        puts_(t, "null");
        return;
    case K5_NODE_BOOL: {
        bool v = false;
        (void)k5_node_bool(n, &v);
        puts_(t, v ? "true" : "false");
        return;
    }
    case K5_NODE_INT:
    case K5_NODE_FLOAT:
        if (json_number(n->u.str, len)) {
            put(t, n->u.str, len);
            return;
        }
        break;
    case K5_NODE_STR:
        break;
    }
    k5_str s = k5_node_str(n);
    put_string(t, s.p ? s.p : "", s.n, st);
}

static size_t fixtures_written;

static void fixture_as_json(const char *path)
{
    size_t n;
    char *buf = unit_read_file(path, &n);
    assert_non_null(buf);
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, NULL), K5_OK);
    k5_error err;
    k5_status st = k5_docset_load(set, path, buf, n, K5_FORMAT_YAML, &err);
    if (st != K5_OK || !k5_docset_object_count(set)) {
        k5_docset_free(&set);
        return;
    }
    static const style styles[] = {{false, false}, {true, false}, {false, true}};
    for (size_t s = 0; s < sizeof styles / sizeof *styles; s++) {
        text t = {0};
        for (size_t i = 0; i < k5_docset_object_count(set); i++) {
            put_node(&t, k5_docset_object(set, i)->root, &styles[s], 0);
            puts_(&t, "\n");
        }
        char what[4200];
        snprintf(what, sizeof what, "%s as JSON (style %zu)", path, s);
        same_load(what, t.p, t.n);
        same_lint(what, t.p, t.n);
        free(t.p);
    }
    fixtures_written++;
    k5_docset_free(&set);
}

static void if_yaml(const char *path, void *ud)
{
    (void)ud;
    if (unit_ends_with(path, ".yaml"))
        fixture_as_json(path);
}

static void test_json__every_yaml_fixture_written_as_json_loads_the_same(void **state)
{
    (void)state;
    assert_true(unit_each_file(K5_SOURCE_DIR "/tests/fixtures", if_yaml, NULL));
    print_message("YAML fixtures written as JSON three ways: %zu; node paths compared so far: "
                  "%zu\n", fixtures_written, paths_compared);
    assert_true(fixtures_written >= 100);
    assert_true(paths_compared >= 10000);
}

/* ---- generated documents ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void ws(text *t)
{
    static const char *const w[] = {"", "", "", " ", "\n", "\t", "\r\n", "  \n  "};
    puts_(t, w[rnd(8)]);
}

static void gen_string(text *t, bool key)
{
    static const char *const parts[] = {
        "a",          "name",       "app.kubernetes.io/name", "\\n",      "\\\"",
        "\\\\",       "\\/",        "\\b\\f\\r\\t",            "\\u00e9",  "\\u2713",
        "\\uD83D\\uDE00", "\\u0041",  "\xC3\xA9",              "\xE2\x9C\x93", "\xF0\x9F\x98\x80",
        "\xFF\xFE",   "\xC3",       " ",                      "-",        "0",
        "\\uFFFF",    "\\uDBFF\\uDFFF", "\\u0080",             "\\u07FF",  "\\u0800",
    };
    puts_(t, "\"");
    int n = (int)rnd(key ? 3 : 5);
    for (int i = 0; i < n; i++)
        puts_(t, parts[rnd(sizeof parts / sizeof *parts)]);
    if (key)
        putf(t, "k%u", rnd(1000000)); /* keys distinct enough; a duplicate is compared too */
    puts_(t, "\"");
}

static void gen_value(text *t, int depth)
{
    static const char *const nums[] = {
        "0",    "-0",   "1",   "8080",      "-17",       "1.5",   "-0.25",   "1e3",
        "1E+3", "2e-2", "01",  "1.",        "-.5",       "1.e5",  "9223372036854775807",
        "9223372036854775808", "-9223372036854775809",   "18446744073709551616",
        "1e400", "-1e400", "4.9e-325", "123456789012345678901234567890",
        "0.000000000000000000000000000000000000000000000000000000000001",
        /* Past the 63 characters upstream cJSON 1.7.15 read of a number. */
        "1234567890123456789012345678901234567890123456789012345678901234",
        "-0.00000000000000000000000000000000000000000000000000000000000000000001e-2",
    };
    uint32_t r = rnd(depth > 6 ? 6 : 9);
    ws(t);
    switch (r) {
    case 0:
    case 1:
        gen_string(t, false);
        break;
    case 2:
        puts_(t, nums[rnd(sizeof nums / sizeof *nums)]);
        break;
    case 3:
        puts_(t, rnd(2) ? "true" : "false");
        break;
    case 4:
        puts_(t, "null");
        break;
    case 5:
        puts_(t, rnd(2) ? "{}" : "[]");
        break;
    case 6:
    case 7: {
        puts_(t, "{");
        int n = (int)rnd(6);
        for (int i = 0; i < n; i++) {
            if (i)
                puts_(t, ",");
            ws(t);
            gen_string(t, true);
            ws(t);
            puts_(t, ":");
            gen_value(t, depth + 1);
            ws(t);
        }
        puts_(t, "}");
        break;
    }
    default: {
        puts_(t, "[");
        int n = (int)rnd(6);
        for (int i = 0; i < n; i++) {
            if (i)
                puts_(t, ",");
            gen_value(t, depth + 1);
            ws(t);
        }
        puts_(t, "]");
        break;
    }
    }
}

static void test_json__generated_documents_load_the_same(void **state)
{
    (void)state;
    for (int i = 0; i < 3000; i++) {
        text t = {0};
        int docs = 1 + (int)rnd(3);
        for (int d = 0; d < docs; d++) {
            gen_value(&t, 0);
            ws(&t);
            puts_(&t, "\n");
        }
        char what[64];
        snprintf(what, sizeof what, "generated document %d", i);
        same_load(what, t.p, t.n);
        /* A broken copy: cut short, or one byte changed. */
        if (t.n > 2) {
            same_load(what, t.p, t.n / 2);
            /* The last choice is the string's terminator: a NUL byte. */
            t.p[rnd((uint32_t)t.n)] = "{}[],:\"\\x0 "[rnd(12)];
            same_load_as(what, t.p, t.n, true);
        }
        free(t.p);
    }
    /* Deep nesting on both sides of K5_MAX_DEPTH. */
    for (size_t depth = K5_MAX_DEPTH - 1; depth <= K5_MAX_DEPTH + 1; depth++) {
        text t = {0};
        for (size_t i = 0; i < depth; i++)
            puts_(&t, i % 2 ? "[" : "{\"a\":");
        puts_(&t, "1");
        for (size_t i = depth; i-- > 0;)
            puts_(&t, i % 2 ? "]" : "}");
        same_load("deep nesting", t.p, t.n);
        free(t.p);
    }
}

/* ---- where the direct parser differs on purpose, and its limits ---- */

static loaded load_fmt(const char *s, size_t n, k5_format fmt)
{
    return unit_load("in.json", NULL, s, n, fmt);
}

static void expect_json_error(const char *s, size_t n, k5_status st, uint32_t line,
                              uint32_t col, const char *needle)
{
    loaded l = load_fmt(s, n, K5_FORMAT_JSON);
    if (l.st != st || l.err.line != line || l.err.column != col || !strstr(l.err.msg, needle) ||
        !l.err.file || strcmp(l.err.file, "in.json") != 0)
        fail_msg("want %d at %u:%u '%s'; got %d at %u:%u '%s'", st, line, col, needle, l.st,
                 l.err.line, l.err.column, l.err.msg);
    k5_docset_free(&l.set);
}

static const k5_node *name_of(const loaded *l, size_t i)
{
    const k5_object *o = k5_docset_object(l->set, i);
    assert_non_null(o);
    return k5_map_get(o->metadata, "name");
}

static void test_json__errors_name_the_line_and_column(void **state)
{
    (void)state;
    expect_json_error("{\"a\": [1, 2,, 3]}", 17, K5_EPARSE, 1, 13, "invalid JSON: ','");
    expect_json_error("{\"a\": 1,\n \"b\" 2}", 16, K5_EPARSE, 2, 6, "':' after a key");
    expect_json_error("{\"a\": 1,\n \"b\": }", 16, K5_EPARSE, 2, 7, "'}' where a value");
    expect_json_error("[1, 2", 5, K5_EPARSE, 1, 5, "input ends");
    expect_json_error("{\"a\": \"x", 8, K5_EPARSE, 1, 7, "closing quote");
    expect_json_error("{\"a\": tru}", 10, K5_EPARSE, 1, 7, "'t' where a value");
    expect_json_error("{\"a\": 1 \"b\": 2}", 15, K5_EPARSE, 1, 9, "',' or '}'");
    expect_json_error("{\"a\": \"\\q\"}", 11, K5_EPARSE, 1, 8, "unknown escape");
    expect_json_error("{\"a\": [1e]}", 11, K5_EPARSE, 1, 9, "'e' where ',' or ']'");
    expect_json_error("{\"a\": 1}}", 9, K5_EPARSE, 1, 9, "'}' where a value");
    /* Duplicate keys: the second one, as before. */
    expect_json_error("{\"kind\": \"Pod\",\n \"kind\": \"Pod\"}", 31, K5_EPARSE, 2, 2,
                      "duplicate key \"kind\"");
    /* Nesting: the first bracket too deep. */
    text t = {0};
    for (size_t i = 0; i <= K5_MAX_DEPTH; i++)
        puts_(&t, "[");
    expect_json_error(t.p, t.n, K5_ELIMIT, 1, K5_MAX_DEPTH + 1, "K5_MAX_DEPTH");
    free(t.p);
}

static void test_json__escapes_surrogates_and_nul(void **state)
{
    (void)state;
    const char *j = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                    "\"a\\uD83D\\uDE00\\u00e9\\u2713\\/\\\"\\\\\\n\"}}";
    loaded l = load_fmt(j, strlen(j), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_OK);
    k5_str s = k5_node_str(name_of(&l, 0));
    assert_int_equal(s.n, 1 + 4 + 2 + 3 + 1 + 1 + 1 + 1);
    assert_memory_equal(s.p, "a\xF0\x9F\x98\x80\xC3\xA9\xE2\x9C\x93/\"\\\n", s.n);
    k5_docset_free(&l.set);
    /* A lone or reversed surrogate, a high half without its low half: errors, as before. */
    expect_json_error("{\"a\":\"\\uDC00\"}", 14, K5_EPARSE, 1, 7, "lone low surrogate");
    expect_json_error("{\"a\":\"\\uD800x\"}", 15, K5_EPARSE, 1, 7, "without its low half");
    expect_json_error("{\"a\":\"\\uD800\\u0041\"}", 20, K5_EPARSE, 1, 7, "without its low half");
    /* Not hexadecimal: cJSON read U+0000 and cut the string there; now an error. */
    expect_json_error("{\"a\":\"x\\u12G4y\"}", 16, K5_EPARSE, 1, 8, "four hexadecimal digits");
    expect_json_error("{\"a\":\"\\u12\"}", 12, K5_EPARSE, 1, 7, "four hexadecimal digits");
    /* \u0000 keeps the NUL and what follows (cJSON's copy ended at the NUL), as a string
     * without escapes always did. */
    const char *z = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                    "\"a\\u0000b\"}}";
    loaded lz = load_fmt(z, strlen(z), K5_FORMAT_JSON);
    assert_int_equal(lz.st, K5_OK);
    s = k5_node_str(name_of(&lz, 0));
    assert_int_equal(s.n, 3);
    assert_memory_equal(s.p, "a\0b", 3);
    k5_docset_free(&lz.set);
    /* Two keys that differ after a NUL are two keys (cJSON saw a duplicate "a"). */
    const char *dk = "{\"a\\u0000x\": 1, \"a\\u0000y\": 2}";
    loaded ld = load_fmt(dk, strlen(dk), K5_FORMAT_JSON);
    assert_int_equal(ld.st, K5_OK);
    k5_docset_free(&ld.set);
}

static void test_json__control_characters_and_invalid_utf8(void **state)
{
    (void)state;
    /* Raw control characters inside strings: JSON forbids them, kubectl refuses them, YAML
     * folds a line break; cJSON took them as they were. An error naming the character. */
    expect_json_error("{\"a\":\"x\ny\"}", 11, K5_EPARSE, 1, 8, "U+000A inside a string");
    expect_json_error("{\"a\":\"x\ty\"}", 11, K5_EPARSE, 1, 8, "U+0009 inside a string");
    const char nul[] = "{\"a\":\"x\0y\"}";
    expect_json_error(nul, sizeof nul - 1, K5_EPARSE, 1, 8, "U+0000 inside a string");
    /* Between tokens only space, tab, CR and LF (cJSON skipped every byte up to 0x20). */
    expect_json_error("{\"a\":\f1}", 8, K5_EPARSE, 1, 6, "byte 0x0C");
    const char nul2[] = "{\"a\":1,\0\"b\":2}";
    expect_json_error(nul2, sizeof nul2 - 1, K5_EPARSE, 1, 8, "byte 0x00");
    /* With K5_FORMAT_AUTO the YAML loader gets the last word: a line break inside a double-
     * quoted scalar folds to a space, as YAML says. */
    const char *fold = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\ny\"}}";
    loaded lf = load_fmt(fold, strlen(fold), K5_FORMAT_AUTO);
    assert_int_equal(lf.st, K5_OK);
    assert_true(k5_node_is(name_of(&lf, 0), "x y"));
    k5_docset_free(&lf.set);
    /* ... and a control character YAML refuses is YAML's error. */
    loaded lc = load_fmt(nul2, sizeof nul2 - 1, K5_FORMAT_AUTO);
    assert_int_equal(lc.st, K5_EPARSE);
    assert_null(strstr(lc.err.msg, "invalid JSON"));
    k5_docset_free(&lc.set);
    /* Invalid UTF-8 inside a string is kept byte for byte, as before (output repairs it). */
    const char *bad = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"\xC3\x28\xFF\"}}";
    loaded lb = load_fmt(bad, strlen(bad), K5_FORMAT_JSON);
    assert_int_equal(lb.st, K5_OK);
    k5_str s = k5_node_str(name_of(&lb, 0));
    assert_int_equal(s.n, 3);
    assert_memory_equal(s.p, "\xC3\x28\xFF", 3);
    k5_docset_free(&lb.set);
}

static void test_json__numbers_keep_their_spelling(void **state)
{
    (void)state;
    const char *j = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"n\"},"
                    "\"data\":[18446744073709551616, 9223372036854775807, -0, 1e400, 1.50, 01, "
                    "-.5, 1E+3]}";
    loaded l = load_fmt(j, strlen(j), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_OK);
    const k5_node *d = k5_map_get(k5_docset_object(l.set, 0)->root, "data");
    static const struct {
        const char *text;
        k5_node_type t;
    } want[] = {{"18446744073709551616", K5_NODE_INT}, {"9223372036854775807", K5_NODE_INT},
                {"-0", K5_NODE_INT},   {"1e400", K5_NODE_FLOAT}, {"1.50", K5_NODE_FLOAT},
                {"01", K5_NODE_INT},   {"-.5", K5_NODE_FLOAT},   {"1E+3", K5_NODE_FLOAT}};
    assert_int_equal(k5_node_len(d), sizeof want / sizeof *want);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_true(k5_node_text_is(k5_seq_at(d, i), want[i].text));
        assert_int_equal(k5_node_kind(k5_seq_at(d, i)), want[i].t);
    }
    int64_t v = 0;
    assert_true(k5_node_int(k5_seq_at(d, 1), &v));
    assert_true(v == INT64_MAX);
    assert_false(k5_node_int(k5_seq_at(d, 0), &v)); /* past int64: not an integer */
    k5_docset_free(&l.set);
    /* A number longer than 63 characters is read whole, inside a container and at the top
     * level, as the cJSON with CVE-2023-26819's fix reads it (upstream 1.7.15 copied 63 of
     * them, refused the container and split the top-level number into several documents). */
    text t = {0};
    puts_(&t, "[");
    for (int i = 0; i < 64; i++)
        puts_(&t, "1");
    puts_(&t, ",-");
    for (int i = 0; i < 100; i++)
        puts_(&t, "2");
    puts_(&t, ".5e3]");
    same_load("a 64-digit and a 105-character number in a sequence", t.p, t.n);
    uint32_t *lines;
    k5__file f = file_of(t.p, t.n, &lines);
    side dir;
    run_side(&dir, &f, false);
    assert_int_equal(dir.st, K5_OK);
    const k5_node *seq = K5__VEC_AT(&dir.docs, k5__doc, 0).root;
    assert_int_equal(k5_node_len(seq), 2);
    assert_int_equal(k5_node_kind(k5_seq_at(seq, 0)), K5_NODE_INT);
    assert_int_equal(k5_node_str(k5_seq_at(seq, 0)).n, 64);
    assert_int_equal(k5_node_kind(k5_seq_at(seq, 1)), K5_NODE_FLOAT);
    assert_int_equal(k5_node_str(k5_seq_at(seq, 1)).n, 105);
    side_free(&dir);
    free(lines);
    t.n = 0;
    for (int i = 0; i < 81; i++)
        puts_(&t, "1");
    same_load("an 81-digit number at the top level", t.p, t.n);
    t.n = 0;
    puts_(&t, "\t");
    for (int i = 0; i < 78; i++)
        puts_(&t, "7");
    puts_(&t, "\"\" 1.5-3");
    same_load("a 78-digit number, a string, then a number strtod stops inside", t.p, t.n);
    f = file_of(t.p, t.n, &lines);
    run_side(&dir, &f, false);
    assert_int_equal(dir.st, K5_OK);
    /* 777…7, "", 1.5 (its text the whole run "1.5-3", as the old loader borrowed it), -3 */
    assert_int_equal(dir.docs.len, 4);
    const k5_node *first = K5__VEC_AT(&dir.docs, k5__doc, 0).root;
    assert_int_equal(k5_node_kind(first), K5_NODE_INT);
    assert_int_equal(k5_node_str(first).n, 78);
    assert_int_equal(K5__VEC_AT(&dir.docs, k5__doc, 3).start, 1 + 78 + 3 + 3);
    assert_true(k5_node_text_is(K5__VEC_AT(&dir.docs, k5__doc, 3).root, "-3"));
    side_free(&dir);
    free(lines);
    free(t.p);
}

static void test_json__limits_and_a_byte_order_mark(void **state)
{
    (void)state;
    /* A string over K5_MAX_SCALAR_BYTES, as the YAML loader says it. */
    size_t big = K5_MAX_SCALAR_BYTES + 10;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, 'x', big);
    memcpy(s, "{\"a\":\"", 6);
    memcpy(s + big - 2, "\"}", 2);
    expect_json_error(s, big, K5_ELIMIT, 1, 6, "K5_MAX_SCALAR_BYTES");
    free(s);
    /* A .json file saved with a byte order mark: every node keeps its position. */
    const char *bom = "\xEF\xBB\xBF{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\n"
                      "\"metadata\":{\"name\":\"b\"}}";
    loaded l = load_fmt(bom, strlen(bom), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_OK);
    k5_position p = k5_docset_position(l.set, 0, name_of(&l, 0));
    assert_int_equal(p.line, 2);
    assert_int_equal(p.column, 20);
    k5_docset_free(&l.set);
    /* Documents: K5_MAX_DOCUMENTS values per file. */
    size_t n = (size_t)K5_MAX_DOCUMENTS + 1;
    char *many = malloc(3 * n);
    assert_non_null(many);
    for (size_t i = 0; i < n; i++)
        memcpy(many + 3 * i, "{}\n", 3);
    expect_json_error(many, 3 * n, K5_ELIMIT, K5_MAX_DOCUMENTS + 1, 1, "K5_MAX_DOCUMENTS");
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json__every_json_file_loads_and_lints_the_same),
        cmocka_unit_test(test_json__every_yaml_fixture_written_as_json_loads_the_same),
        cmocka_unit_test(test_json__generated_documents_load_the_same),
        cmocka_unit_test(test_json__errors_name_the_line_and_column),
        cmocka_unit_test(test_json__escapes_surrogates_and_nul),
        cmocka_unit_test(test_json__control_characters_and_invalid_utf8),
        cmocka_unit_test(test_json__numbers_keep_their_spelling),
        cmocka_unit_test(test_json__limits_and_a_byte_order_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
