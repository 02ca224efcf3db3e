/*
 * libFuzzer target: the loader (YAML and JSON) and every rule over whatever
 * loads. Build with -DFUZZ=ON and CC=clang; run with a seed corpus:
 *   out/fuzz/tests/fuzz/fuzz_loader -max_total_time=60 tests/fuzz/seeds
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    k5__split_min = 8;
    k5__split_part = 4;
    one(data, size, K5_FORMAT_AUTO);
    one(data, size, K5_FORMAT_JSON);
    split_same(data, size);
    return 0;
}
