/*
 * libFuzzer target: the loader (YAML and JSON) and every rule over whatever
 * loads. Build with -DFUZZ=ON and CC=clang; run with a seed corpus:
 *   out/fuzz/tests/fuzz/fuzz_loader -max_total_time=60 tests/fuzz/seeds
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

#include "k5_internal.h"
#include "yaml_same.h"

/* Differential: the findings k5_run_each streams, slice by slice, are the report's. */
typedef struct streamed {
    const k5_report *rep;
    size_t next;
} streamed;

static int same_as_report(void *ctx, const k5_finding *f, size_t n)
{
    streamed *s = ctx;
    for (size_t i = 0; i < n; i++, s->next++) {
        const k5_finding *r = k5_report_at(s->rep, s->next);
        if (!r || r->rule != f[i].rule || r->line != f[i].line || r->column != f[i].column ||
            r->severity != f[i].severity || r->suppressed != f[i].suppressed ||
            r->object != f[i].object || strcmp(r->message, f[i].message) != 0 ||
            strcmp(r->path, f[i].path) != 0)
            abort();
    }
    return 0;
}

static void one(const uint8_t *data, size_t size, k5_format fmt)
{
    k5_docset *set = NULL;
    if (k5_docset_new(&set, "fuzz") != K5_OK)
        return;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        k5_docset_free(&set);
        return;
    }
    memcpy(buf, data, size);
    k5_error err;
    memset(&err, 0, sizeof err);
    if (k5_docset_load(set, "fuzz.yaml", buf, size, fmt, &err) == K5_OK) {
        k5_report *rep = NULL;
        if (k5_run(set, NULL, 0, &rep, &err) == K5_OK) {
            for (size_t i = 0; i < k5_report_count(rep); i++) {
                const k5_finding *f = k5_report_at(rep, i);
                if (!f->message || !f->path)
                    abort();
            }
            /* After k5_docset_loaded, as the linter runs. */
            k5_docset_loaded(set);
            streamed s = {rep, 0};
            k5_summary sum, want = k5_report_summary(rep);
            if (k5_run_each(set, NULL, 0, 1, same_as_report, &s, &sum, &err) != K5_OK ||
                s.next != k5_report_count(rep) || memcmp(&sum, &want, sizeof sum) != 0)
                abort();
            k5_report_free(&rep);
        }
    }
    k5_docset_free(&set);
}

/* The engine's split thresholds (rules/src/docset.c), lowered so that tiny inputs split. */
extern size_t k5__split_min, k5__split_part;

static k5_docset *load_with(const uint8_t *data, size_t size, unsigned jobs, k5_load_item *it)
{
    k5_docset *set = NULL;
    if (k5_docset_new(&set, NULL) != K5_OK)
        return NULL;
    memset(it, 0, sizeof *it);
    it->name = "fuzz.yaml";
    it->buf = malloc(size ? size : 1);
    if (!it->buf) {
        k5_docset_free(&set);
        return NULL;
    }
    memcpy(it->buf, data, size);
    it->len = size;
    it->format = K5_FORMAT_YAML;
    if (k5_docset_load_all(set, it, 1, jobs) != K5_OK)
        k5_docset_free(&set);
    return set;
}

static bool str_same(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || (a.p && b.p && memcmp(a.p, b.p, a.n) == 0));
}

/*
 * Differential: the stream cut at its column-0 `---` lines and parsed on two threads must load
 * exactly as the one-thread parse does (status, error and its position, objects with their
 * positions and Helm sources, notices). Any difference aborts.
 */
static void split_same(const uint8_t *data, size_t size)
{
    k5_load_item a, b;
    k5_docset *one = load_with(data, size, 1, &a), *two = load_with(data, size, 2, &b);
    if (!one || !two) {
        k5_docset_free(&one);
        k5_docset_free(&two);
        return;
    }
    if (a.status != b.status || a.err.line != b.err.line || a.err.column != b.err.column ||
        strcmp(a.err.msg, b.err.msg) != 0 ||
        k5_docset_object_count(one) != k5_docset_object_count(two) ||
        k5_docset_notice_count(one) != k5_docset_notice_count(two))
        abort();
    for (size_t i = 0; i < k5_docset_object_count(one); i++) {
        const k5_object *x = k5_docset_object(one, i), *y = k5_docset_object(two, i);
        k5_position px = k5_docset_position(one, x->file, x->root);
        k5_position py = k5_docset_position(two, y->file, y->root);
        if (px.line != py.line || px.column != py.column || !str_same(x->kind, y->kind) ||
            !str_same(x->name, y->name) || !str_same(x->source, y->source))
            abort();
    }
    for (size_t i = 0; i < k5_docset_notice_count(one); i++) {
        const k5_notice *x = k5_docset_notice(one, i), *y = k5_docset_notice(two, i);
        if (x->line != y->line || x->column != y->column || strcmp(x->message, y->message) != 0)
            abort();
    }
    k5_docset_free(&one);
    k5_docset_free(&two);
}

static bool same_tree(const k5_node *a, const k5_node *b)
{
    if (a->pos != b->pos || a->bits != b->bits)
        return false;
    size_t n = k5_node_len(a);
    if (k5_node_is_scalar(a))
        return !n || memcmp(a->u.str, b->u.str, n) == 0;
    size_t items = k5_node_is_map(a) ? 2 * n : n;
    for (size_t i = 0; i < items; i++)
        if (!same_tree(&a->u.items[i], &b->u.items[i]))
            return false;
    return true;
}

/*
 * Differential: the direct JSON parser (parse_json.c) against the cJSON-based loader it
 * replaced, on the same bytes: the same status, and on success the same documents, trees and
 * positions; a duplicate key the same error at the same place. The parser differs on purpose
 * only where its header says (control characters, \u escapes that are not four hexadecimal
 * digits, what follows \u0000): such inputs must still not crash, and are not compared.
 */
static void json_same(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    uint32_t *lines = malloc((size + 1) * sizeof *lines);
    if (!buf || !lines) {
        free(buf);
        free(lines);
        return;
    }
    memcpy(buf, data, size);
    size_t nl = 0;
    lines[nl++] = 0;
    for (size_t i = 0; i < size; i++)
        if (buf[i] == '\n')
            lines[nl++] = (uint32_t)i + 1;
    k5__file f;
    memset(&f, 0, sizeof f);
    f.name = "fuzz.json";
    f.buf = buf;
    f.len = size;
    f.lines = lines;
    f.nlines = nl;
    f.ascii = true;
    k5__arena aa = {0}, ab = {0};
    k5__vec da = K5__VEC_INIT(k5__doc), db = K5__VEC_INIT(k5__doc);
    k5_error ea, eb;
    memset(&ea, 0, sizeof ea);
    memset(&eb, 0, sizeof eb);
    k5_status sa = k5__load_json_cjson(&aa, &f, &da, &ea);
    k5_status sb = k5__load_json(&ab, &f, &db, &eb);
    /* The parser's deliberate refusals: where cJSON read on, it stops here with this error. */
    bool stricter = sb == K5_EPARSE &&
                    (strstr(eb.msg, "control character") || strstr(eb.msg, "byte 0x0") ||
                     strstr(eb.msg, "byte 0x1") || strstr(eb.msg, "four hexadecimal digits"));
    bool meant = sa == K5_OK && stricter;
    for (size_t i = 0; !meant && i + 6 <= size; i++)
        meant = memcmp(buf + i, "\\u0000", 6) == 0;
    /* cJSON skipped a byte order mark before each value, and the old position scan lost step
     * there: trees are compared, positions are not. */
    bool bom = false;
    for (size_t i = 0; !bom && i + 3 <= size; i++)
        bom = memcmp(buf + i, "\xEF\xBB\xBF", 3) == 0;
    /* A depth limit and a syntax error in one value: the old loader's scan found the first,
     * whichever came first; both are errors. */
    bool both_failed = sa != K5_OK && sb != K5_OK && sa != K5_ENOMEM && sb != K5_ENOMEM;
    if (!meant && !bom && !both_failed) {
        if (sa != sb || da.len != db.len)
            abort();
        for (size_t i = 0; sa == K5_OK && i < da.len; i++) {
            k5__doc x = K5__VEC_AT(&da, k5__doc, i), y = K5__VEC_AT(&db, k5__doc, i);
            if (x.start != y.start || x.end != y.end || !same_tree(x.root, y.root))
                abort();
        }
    }
    /* A duplicate key after a byte the parser refuses: cJSON reached the key, the parser did
     * not (found by fuzz_loader on integrated main; kept as a regression seed). */
    if (!meant && !stricter && !bom && sa == K5_EPARSE && sb == K5_EPARSE &&
        strstr(ea.msg, "duplicate key") &&
        (strcmp(ea.msg, eb.msg) != 0 || ea.line != eb.line || ea.column != eb.column))
        abort();
    k5__arena_free(&aa);
    k5__arena_free(&ab);
    k5__vec_free(&da);
    k5__vec_free(&db);
    free(lines);
    free(buf);
}

/*
 * Differential: the YAML fast path against libyaml's path (yaml_same.h) on the whole input and
 * on the spans before and after its first column-0 `---` lines, as a split stream's parts load:
 * the same status, error and position, documents, trees, node positions and styles. Any
 * difference aborts.
 */
static void yaml_fast_same(const uint8_t *data, size_t size)
{
    char why[1024];
    size_t kept = 0;
    if (!yaml_same((const char *)data, size, 3, why, sizeof why, &kept)) {
        fprintf(stderr, "yaml fast path differs from libyaml: %s\n", why);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    k5__split_min = 8;
    k5__split_part = 4;
    k5__run_slice = 2;
    one(data, size, K5_FORMAT_AUTO);
    one(data, size, K5_FORMAT_JSON);
    split_same(data, size);
    json_same(data, size);
    yaml_fast_same(data, size);
    return 0;
}
