/*
 * cJSON trees to document nodes: the webhook's request objects, and the reference JSON loader
 * (k5__load_json_cjson) that the direct parser (parse_json.c, the loader files use) replaced
 * and is tested against. That loader: cJSON parses and validates; a small scanner beforehand records
 * where every value and key starts (cJSON keeps no positions) and enforces
 * K5_MAX_DEPTH, so cJSON's own 1000-level cap is never the one that speaks.
 * A stream of several top-level JSON values is accepted, as kubectl does.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "k5_internal.h"

typedef struct conv {
    k5__arena *a;
    const char *buf; /* NULL when converting a tree without source text */
    size_t len;
    const uint32_t *offs; /* preorder start offsets of values and keys */
    size_t noffs, next;
    const char *fname;
    const k5__file *file;
    k5_error *err;
    const cJSON *skip; /* a member left out of the conversion (metadata.managedFields), or NULL */
    bool borrow_tree;  /* strings point into the cJSON tree instead of the arena */
} conv;

/* strchr() matches the terminator too: a NUL byte in the input must never count as a member. */
static bool in_set(char ch, const char *set)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

static uint32_t take(conv *c)
{
    if (!c->offs || c->next >= c->noffs)
        return 0;
    return c->offs[c->next++] + 1;
}

/* Scans one top-level value from *i; pushes start offsets; returns false on a limit. */
static k5_status skim(const char *b, size_t len, size_t *i, k5__vec *offs, uint32_t *bad)
{
    size_t depth = 0;
    for (;;) {
        while (*i < len && (b[*i] == ' ' || b[*i] == '\t' || b[*i] == '\r' || b[*i] == '\n'))
            (*i)++;
        if (*i >= len)
            return K5_OK;
        char ch = b[*i];
        uint32_t at = (uint32_t)*i;
        if (ch == '{' || ch == '[') {
            if (!k5__vec_push(offs, &at))
                return K5_ENOMEM;
            if (++depth > K5_MAX_DEPTH) {
                *bad = at;
                return K5_ELIMIT;
            }
            (*i)++;
            continue;
        }
        if (ch == '}' || ch == ']') {
            (*i)++;
            if (depth == 0 || --depth == 0)
                return K5_OK;
            continue;
        }
        if (ch == ',' || ch == ':') {
            (*i)++;
            continue;
        }
        if (!k5__vec_push(offs, &at))
            return K5_ENOMEM;
        if (ch == '"') {
            for ((*i)++; *i < len && b[*i] != '"'; (*i)++)
                if (b[*i] == '\\')
                    (*i)++;
            (*i)++;
        } else {
            while (*i < len && !in_set(b[*i], " \t\r\n,:]}[{\""))
                (*i)++;
            if (*i == at)
                return K5_OK; /* a byte no JSON value starts with; cJSON reports it */
            if (*i < len && (b[*i] == '[' || b[*i] == '{' || b[*i] == '"'))
                return K5_OK; /* invalid; cJSON reports it */
        }
        if (depth == 0)
            return K5_OK;
    }
}

/* The raw span of a string or number starting at off-1, if it can be borrowed. */
static const char *borrow(conv *c, uint32_t pos, const cJSON *j, size_t *n)
{
    if (!c->buf || !pos)
        return NULL;
    size_t off = pos - 1;
    if (cJSON_IsString(j)) {
        if (off >= c->len || c->buf[off] != '"')
            return NULL;
        size_t e = off + 1;
        while (e < c->len && c->buf[e] != '"' && c->buf[e] != '\\')
            e++;
        if (e >= c->len || c->buf[e] != '"')
            return NULL; /* has escapes: use cJSON's decoded copy */
        *n = e - off - 1;
        return c->buf + off + 1;
    }
    size_t e = off;
    while (e < c->len && in_set(c->buf[e], "+-.0123456789eE"))
        e++;
    if (e == off)
        return NULL;
    *n = e - off;
    return c->buf + off;
}

static bool scalar_node(conv *c, const cJSON *j, uint32_t pos, k5_node *out)
{
    k5_node_type t;
    const char *s = NULL;
    size_t n = 0;
    char num[64];
    if (cJSON_IsString(j)) {
        t = K5_NODE_STR;
        s = borrow(c, pos, j, &n);
        if (!s) {
            n = strlen(j->valuestring);
            s = c->borrow_tree ? j->valuestring : k5__arena_strndup(c->a, j->valuestring, n);
            if (!s)
                return false;
        }
    } else if (cJSON_IsNumber(j)) {
        s = borrow(c, pos, j, &n);
        if (s) {
            t = memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n) ? K5_NODE_FLOAT
                                                                            : K5_NODE_INT;
        } else {
            double d = j->valuedouble;
            if (d == floor(d) && fabs(d) < 9.2e18) {
                /* What "%lld" writes, without printf: every number of a webhook review
                 * comes this way (cJSON keeps no source text), a dozen per review. */
                long long v = (long long)d;
                unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
                char tmp[24];
                size_t k = 0;
                do {
                    tmp[k++] = (char)('0' + u % 10);
                    u /= 10;
                } while (u);
                size_t w = 0;
                if (v < 0)
                    num[w++] = '-';
                while (k)
                    num[w++] = tmp[--k];
                num[w] = '\0';
                t = K5_NODE_INT;
            } else {
                snprintf(num, sizeof num, "%.17g", d);
                t = K5_NODE_FLOAT;
            }
            n = strlen(num);
            s = k5__arena_strndup(c->a, num, n);
            if (!s)
                return false;
        }
    } else if (cJSON_IsBool(j)) {
        t = K5_NODE_BOOL;
        s = cJSON_IsTrue(j) ? "true" : "false";
        n = strlen(s);
    } else {
        t = K5_NODE_NULL;
        s = "null";
        n = 4;
    }
    out->u.str = s;
    out->pos = pos;
    out->bits = k5__bits(t, t == K5_NODE_STR, n);
    return true;
}

static k5_status convert(conv *c, const cJSON *j, size_t depth, k5_node *out)
{
    uint32_t pos = take(c);
    if (depth > K5_MAX_DEPTH) {
        k5__err(c->err, c->fname, 0, 0, "nesting deeper than %u levels (limit K5_MAX_DEPTH)",
                K5_MAX_DEPTH);
        return K5_ELIMIT;
    }
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return scalar_node(c, j, pos, out) ? K5_OK : K5_ENOMEM;
    size_t n = 0;
    for (const cJSON *ch = j->child; ch; ch = ch->next)
        n += ch != c->skip;
    bool obj = cJSON_IsObject(j);
    /* Most maps and sequences are small: their scratch array lives on the stack (a malloc
     * and a free per map were a visible share of converting a review). At K5_MAX_DEPTH
     * this is under 100 KiB of stack. */
    k5_node small[24];
    size_t need = (obj ? 2 : 1) * n;
    k5_node *kids = need <= sizeof small / sizeof small[0] ? small : malloc(need * sizeof *kids);
    if (!kids)
        return K5_ENOMEM;
    k5_status st = K5_OK;
    size_t i = 0;
    for (const cJSON *ch = j->child; ch && st == K5_OK; ch = ch->next) {
        if (ch == c->skip)
            continue;
        if (obj) {
            uint32_t kpos = take(c);
            size_t kn = 0;
            const char *ks = NULL;
            if (c->buf && kpos && kpos - 1 < c->len && c->buf[kpos - 1] == '"') {
                size_t e = kpos;
                while (e < c->len && c->buf[e] != '"' && c->buf[e] != '\\')
                    e++;
                if (e < c->len && c->buf[e] == '"') {
                    ks = c->buf + kpos;
                    kn = e - kpos;
                }
            }
            if (!ks) {
                const char *name = ch->string ? ch->string : "";
                kn = strlen(name);
                ks = c->borrow_tree ? name : k5__arena_strndup(c->a, name, kn);
                if (!ks) {
                    st = K5_ENOMEM;
                    break;
                }
            }
            kids[2 * i].u.str = ks;
            kids[2 * i].pos = kpos;
            kids[2 * i].bits = k5__bits(K5_NODE_STR, true, kn);
            st = convert(c, ch, depth + 1, &kids[2 * i + 1]);
        } else {
            st = convert(c, ch, depth + 1, &kids[i]);
        }
        i++;
    }
    if (st == K5_OK) {
        if (obj) {
            const k5_node *dup = NULL;
            st = k5__map_finish(c->a, kids, n, out, &dup);
            if (st == K5_EPARSE && dup) {
                k5_str ks = k5_node_str(dup);
                k5_position p = {0, 0};
                if (c->file)
                    p = k5__file_position(c->file, dup);
                k5__err(c->err, c->fname, p.line, p.column, "duplicate key \"%.*s\"",
                        (int)(ks.n > 60 ? 60 : ks.n), ks.p);
            }
        } else {
            k5_node *items = NULL;
            if (n) {
                items = k5__arena_alloc(c->a, n * sizeof *items);
                if (!items)
                    st = K5_ENOMEM;
                else
                    memcpy(items, kids, n * sizeof *items);
            }
            out->u.items = items;
            out->bits = k5__bits(K5_NODE_SEQ, false, n);
        }
        out->pos = pos;
    }
    if (kids != small)
        free(kids);
    return st;
}

static const k5_node *from_cjson(k5__arena *a, const cJSON *j, size_t depth, bool borrow_tree,
                                 k5_error *err, k5_status *st)
{
    conv c = {0};
    c.a = a;
    c.borrow_tree = borrow_tree;
    c.err = err;
    c.fname = "request";
    /* Objects from the API server carry metadata.managedFields, server-side apply's field
     * ownership: often larger than the rest of the object, and never read by a rule. */
    const cJSON *meta = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "metadata") : NULL;
    c.skip = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "managedFields") : NULL;
    k5_node *n = k5__arena_alloc(a, sizeof *n);
    if (!n) {
        *st = K5_ENOMEM;
        return NULL;
    }
    *st = convert(&c, j, depth, n);
    return *st == K5_OK ? n : NULL;
}

const k5_node *k5__node_from_cjson(k5__arena *a, const cJSON *j, size_t depth, k5_error *err,
                                   k5_status *st)
{
    return from_cjson(a, j, depth, false, err, st);
}

const k5_node *k5__node_from_cjson_borrowed(k5__arena *a, const cJSON *j, k5_error *err,
                                            k5_status *st)
{
    return from_cjson(a, j, 0, true, err, st);
}

k5_status k5__load_json_cjson(k5__arena *arena, const k5__file *file, k5__vec *docs,
                             k5_error *err)
{
    k5__vec offs = K5__VEC_INIT(uint32_t);
    k5_status st = K5_OK;
    size_t i = 0, ndocs = 0;
    while (st == K5_OK) {
        while (i < file->len && in_set(file->buf[i], " \t\r\n"))
            i++;
        if (i >= file->len)
            break;
        if (++ndocs > K5_MAX_DOCUMENTS) {
            k5_node at = {{NULL}, (uint32_t)i + 1, 0};
            k5_position p = k5__file_position(file, &at);
            k5__err(err, file->name, p.line, p.column,
                    "more than %u documents (limit K5_MAX_DOCUMENTS)", K5_MAX_DOCUMENTS);
            st = K5_ELIMIT;
            break;
        }
        size_t start = i;
        uint32_t bad = 0;
        offs.len = 0;
        st = skim(file->buf, file->len, &i, &offs, &bad);
        if (st == K5_ELIMIT) {
            k5_node at = {{NULL}, bad + 1, 0};
            k5_position p = k5__file_position(file, &at);
            k5__err(err, file->name, p.line, p.column,
                    "nesting deeper than %u levels (limit K5_MAX_DEPTH)", K5_MAX_DEPTH);
            break;
        }
        if (st != K5_OK)
            break;
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(file->buf + start, file->len - start, &end, 0);
        if (!j) {
            size_t off = end ? (size_t)(end - file->buf) : start;
            k5_node at = {{NULL}, (uint32_t)off + 1, 0};
            k5_position p = k5__file_position(file, &at);
            k5__err(err, file->name, p.line, p.column, "invalid JSON");
            st = K5_EPARSE;
            break;
        }
        conv c = {arena, file->buf, file->len, offs.data, offs.len, 0,
                  file->name, file, err, NULL, false};
        k5_node *root = k5__arena_alloc(arena, sizeof *root);
        if (!root)
            st = K5_ENOMEM;
        else
            st = convert(&c, j, 0, root);
        cJSON_Delete(j);
        if (st != K5_OK)
            break;
        k5__doc d = {root, (uint32_t)start, (uint32_t)start};
        if (!k5__vec_push(docs, &d)) {
            st = K5_ENOMEM;
            break;
        }
        i = (size_t)(end - file->buf);
    }
    k5__vec_free(&offs);
    return st;
}
