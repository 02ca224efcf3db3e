/*
 * The YAML fast path (rules/src/load_yaml.c) against the libyaml path on the same bytes,
 * shared by fuzz_loader and tests/unit/test_yaml_fast.c: a span loaded both ways must give the
 * same status, the same error at the same place, the same documents (spans, trees, node
 * positions, values, styles) and the same account for the merge of a split stream (documents
 * started, alias nodes, where the last document ended). Header-only, static.
 */
#ifndef KUBE5XX_YAML_SAME_H
#define KUBE5XX_YAML_SAME_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k5_internal.h"

typedef struct yaml_side {
    k5__arena arena;
    k5__vec docs;
    k5__yaml_part part;
    k5_status st;
    k5_error err;
} yaml_side;

static inline void yaml_side_load(yaml_side *s, const k5__file *f, size_t start, size_t end,
                                  bool reference)
{
    memset(s, 0, sizeof *s);
    s->docs.elem = sizeof(k5__doc);
    s->part.start = start;
    s->part.end = end;
    bool was = k5__yaml_reference;
    k5__yaml_reference = reference;
    s->st = k5__load_yaml(&s->arena, f, &s->part, &s->docs, &s->err);
    k5__yaml_reference = was;
}

static inline void yaml_side_free(yaml_side *s)
{
    k5__arena_free(&s->arena);
    k5__vec_free(&s->docs);
}

static inline bool yaml_same_node(const k5_node *a, const k5_node *b, char *why, size_t n)
{
    if (a->pos != b->pos || a->bits != b->bits) {
        snprintf(why, n, "node at offset %u (bits %x) vs offset %u (bits %x)", a->pos - 1, a->bits,
                 b->pos - 1, b->bits);
        return false;
    }
    size_t len = k5_node_len(a);
    if (k5_node_is_scalar(a)) {
        if (len && memcmp(a->u.str, b->u.str, len) != 0) {
            snprintf(why, n, "text \"%.*s\" vs \"%.*s\" at offset %u", (int)(len > 80 ? 80 : len),
                     a->u.str, (int)(len > 80 ? 80 : len), b->u.str, a->pos - 1);
            return false;
        }
        return true;
    }
    size_t items = k5_node_is_map(a) ? 2 * len : len;
    for (size_t i = 0; i < items; i++)
        if (!yaml_same_node(&a->u.items[i], &b->u.items[i], why, n))
            return false;
    return true;
}

/*
 * Loads [start, end) of f with libyaml alone and with the fast path. True when both agree;
 * otherwise why says how. *fast (may be NULL) tells whether the fast path kept the span
 * (meaningful only when no other thread loads YAML meanwhile).
 */
static inline bool yaml_same_span(const k5__file *f, size_t start, size_t end, char *why,
                                  size_t whylen, bool *fast)
{
    yaml_side ref, fp;
    yaml_side_load(&ref, f, start, end, true);
    unsigned long before = k5__yaml_fast_count(false);
    yaml_side_load(&fp, f, start, end, false);
    if (fast)
        *fast = k5__yaml_fast_count(false) != before;
    bool ok = true;
    why[0] = '\0';
    if (ref.st != fp.st || strcmp(ref.err.msg, fp.err.msg) != 0 || ref.err.line != fp.err.line ||
        ref.err.column != fp.err.column) {
        snprintf(why, whylen, "status %d %u:%u \"%.160s\" vs %d %u:%u \"%.160s\"", ref.st,
                 (unsigned)ref.err.line, (unsigned)ref.err.column, ref.err.msg, fp.st,
                 (unsigned)fp.err.line, (unsigned)fp.err.column, fp.err.msg);
        ok = false;
    } else if (ref.part.ndocs != fp.part.ndocs || ref.part.alias_nodes != fp.part.alias_nodes ||
               ref.part.first_initial != fp.part.first_initial ||
               ref.part.any_end != fp.part.any_end || ref.part.last_end != fp.part.last_end ||
               ref.docs.len != fp.docs.len) {
        snprintf(why, whylen,
                 "part: %zu started, %zu kept, first %d, ended %d at %u vs %zu, %zu, %d, %d, %u",
                 ref.part.ndocs, ref.docs.len, ref.part.first_initial, ref.part.any_end,
                 ref.part.last_end, fp.part.ndocs, fp.docs.len, fp.part.first_initial,
                 fp.part.any_end, fp.part.last_end);
        ok = false;
    }
    for (size_t i = 0; ok && i < ref.docs.len; i++) {
        k5__doc a = K5__VEC_AT(&ref.docs, k5__doc, i), b = K5__VEC_AT(&fp.docs, k5__doc, i);
        if (a.start != b.start || a.end != b.end) {
            snprintf(why, whylen, "document %zu spans %u-%u vs %u-%u", i, a.start, a.end, b.start,
                     b.end);
            ok = false;
        } else {
            ok = yaml_same_node(a.root, b.root, why, whylen);
        }
    }
    yaml_side_free(&ref);
    yaml_side_free(&fp);
    return ok;
}

/* A file over the bytes (borrowed) as the docset prepares one: line starts and the ASCII flag
 * (columns of errors); the caller frees *lines. */
static inline k5__file yaml_file_of(const char *name, const char *buf, size_t len,
                                    uint32_t **lines)
{
    k5__file f;
    memset(&f, 0, sizeof f);
    size_t n = 1;
    bool ascii = true;
    for (size_t i = 0; i < len; i++) {
        n += buf[i] == '\n';
        ascii = ascii && (unsigned char)buf[i] < 0x80;
    }
    *lines = malloc(n * sizeof **lines);
    if (!*lines)
        return f;
    size_t k = 0;
    (*lines)[k++] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n')
            (*lines)[k++] = (uint32_t)i + 1;
    f.name = name;
    f.buf = (char *)buf;
    f.len = len;
    f.lines = *lines;
    f.nlines = n;
    f.ascii = ascii;
    return f;
}

/*
 * The whole bytes, then (as a split stream's parts are) the spans before and after each of the
 * first `cuts` column-0 `---` lines. True when every load agrees; why names the first span
 * that does not. *fast_spans counts the spans the fast path kept.
 */
static inline bool yaml_same(const char *buf, size_t len, size_t cuts, char *why, size_t whylen,
                             size_t *fast_spans)
{
    uint32_t *lines = NULL;
    k5__file f = yaml_file_of("in.yaml", buf, len, &lines);
    if (!lines)
        return true; /* out of memory: nothing to compare */
    bool ok = true, fast = false;
    char inner[600];
    ok = yaml_same_span(&f, 0, len, inner, sizeof inner, &fast);
    if (!ok)
        snprintf(why, whylen, "whole: %s", inner);
    *fast_spans += fast;
    for (size_t i = 1, done = 0; ok && done < cuts && i + 3 <= len; i++) {
        if (buf[i - 1] != '\n' || memcmp(buf + i, "---", 3) != 0)
            continue;
        done++;
        ok = yaml_same_span(&f, 0, i, inner, sizeof inner, &fast);
        *fast_spans += fast;
        if (ok) {
            ok = yaml_same_span(&f, i, len, inner, sizeof inner, &fast);
            *fast_spans += fast;
        }
        if (!ok)
            snprintf(why, whylen, "cut at %zu: %s", i, inner);
    }
    free(lines);
    return ok;
}

#endif
