/*
 * The JSON loader: bytes straight to document nodes, with no intermediate tree (issue #10: a
 * 64 MiB minified `kubectl get -o json` List went through a cJSON tree about ten times the
 * input, then a conversion, then cJSON's free).
 *
 * What it accepts, and what it makes of it, is what the cJSON-based loader it replaces
 * (k5__load_json_cjson, kept as the reference that the differential tests and fuzz_loader
 * compare against) accepted and made, positions included: a stream of top-level values
 * (as kubectl reads), numbers spelled as in the source (cJSON's number syntax: `01`, `1.`,
 * `-.5` load), strings borrowed from the input when they have no escape, duplicate keys an
 * error naming the second one, K5_MAX_DEPTH on nesting with the position of the first bracket
 * too deep, K5_MAX_DOCUMENTS values per file. Where cJSON was lax in ways YAML and kubectl
 * are not, this parser is strict and says where (K5_EPARSE, so that K5_FORMAT_AUTO gives the
 * input to the YAML loader, which then reads it as YAML would or reports YAML's error):
 *   - control characters (below U+0020) inside strings, and as whitespace between tokens
 *     (cJSON skipped every byte up to 0x20 there; it also made the old position scan lose
 *     step, so nodes after one had wrong or no positions);
 *   - `\u` escapes with characters that are not hexadecimal digits (cJSON decoded them as
 *     U+0000, which then cut the string short).
 * It is also stricter in one limit, as the YAML loader is: a string longer than
 * K5_MAX_SCALAR_BYTES is K5_ELIMIT. And `\u0000` keeps its NUL byte and the rest of the string
 * (cJSON's copy stopped at it; a string without escapes always kept its bytes whole).
 * Invalid UTF-8 inside strings is kept as it is, as before: the front-ends repair it on output.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "k5_internal.h"

typedef struct frame {
    size_t base; /* where this container's entries start on the scratch stack */
    uint32_t pos;
    bool obj;
} frame;

typedef struct jparser {
    const unsigned char *b;
    size_t len, i;
    k5__arena *a;
    const k5__file *file;
    k5_error *err;
    k5_node *stk; /* finished children of the open containers, keys and values alternating */
    size_t nstk, capstk;
    frame fr[K5_MAX_DEPTH];
    size_t depth;
} jparser;

static k5_status fail_at(jparser *p, size_t off, k5_status st, const char *fmt, ...)
    K5_PRINTF(4, 5);
static k5_status fail_at(jparser *p, size_t off, k5_status st, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k5_node at = {{NULL}, (uint32_t)off + 1, 0};
    k5_position pos = k5__file_position(p->file, &at);
    k5__err(p->err, p->file->name, pos.line, pos.column, "%s", msg);
    return st;
}

/* A byte as the error shows it: printable ASCII quoted, the rest as hex. */
static k5_status unexpected(jparser *p, const char *what)
{
    if (p->i >= p->len)
        return fail_at(p, p->len ? p->len - 1 : 0, K5_EPARSE,
                       "invalid JSON: the input ends where %s was expected", what);
    unsigned char c = p->b[p->i];
    if (c > 0x20 && c < 0x7f)
        return fail_at(p, p->i, K5_EPARSE, "invalid JSON: '%c' where %s was expected", c, what);
    return fail_at(p, p->i, K5_EPARSE, "invalid JSON: byte 0x%02X where %s was expected", c, what);
}

static inline void skip_ws(jparser *p)
{
    while (p->i < p->len) {
        unsigned char c = p->b[p->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p->i++;
    }
}

static inline bool push(jparser *p, const k5_node *n)
{
    if (p->nstk == p->capstk) {
        void *stk = p->stk;
        if (!k5__grow(&stk, &p->capstk, 256, sizeof *p->stk))
            return false;
        p->stk = stk;
    }
    p->stk[p->nstk++] = *n;
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at q (inside the string, which ends at end); -1 when they are not. */
static long hex4(const unsigned char *q, const unsigned char *end)
{
    if (end - q < 4)
        return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(q[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Decodes the escaped string body [s, e) into out; returns the length, or -1 with *bad set. */
static long unescape(const unsigned char *s, const unsigned char *e, char *out,
                     const unsigned char **bad, const char **why)
{
    char *o = out;
    while (s < e) {
        if (*s != '\\') {
            *o++ = (char)*s++;
            continue;
        }
        *bad = s;
        unsigned char c = s[1];
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case '"': case '\\': case '/': *o++ = (char)c; break;
        case 'u': {
            long cp = hex4(s + 2, e);
            if (cp < 0) {
                *why = "invalid JSON: \\u escape without four hexadecimal digits";
                return -1;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                *why = "invalid JSON: \\u escape of a lone low surrogate";
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = e - (s + 6) >= 6 && s[6] == '\\' && s[7] == 'u' ? hex4(s + 8, e) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    *why = "invalid JSON: \\u escape of a high surrogate without its low half";
                    return -1;
                }
                cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
                s += 6;
            }
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            s += 6;
            continue;
        }
        default:
            *why = "invalid JSON: unknown escape in a string";
            return -1;
        }
        s += 2;
    }
    return (long)(o - out);
}

/* A string at p->i (its opening quote) into *out; p->i ends after the closing quote. */
static k5_status string_node(jparser *p, k5_node *out)
{
    size_t start = p->i;
    const unsigned char *b = p->b, *s = b + start + 1, *end = b + p->len, *q = s;
    bool esc = false;
    for (;;) {
        /* Eight bytes at a time while none is a quote, a backslash or a control character. */
        while (end - q >= 8) {
            uint64_t w;
            memcpy(&w, q, 8);
            uint64_t quote = w ^ 0x2222222222222222ULL, bs = w ^ 0x5C5C5C5C5C5C5C5CULL;
            uint64_t hit = ((quote - 0x0101010101010101ULL) & ~quote) |
                           ((bs - 0x0101010101010101ULL) & ~bs) |
                           ((w - 0x2020202020202020ULL) & ~w);
            hit &= 0x8080808080808080ULL;
            if (hit) {
                /* The lowest flagged byte is the first one that stops the scan: a borrow
                 * only runs towards higher bytes, so false flags sit above a true one.
                 * Stepping to it at once, instead of a byte at a time through the word,
                 * halved the parser's instructions on minified JSON (short strings). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                q += (unsigned)__builtin_ctzll(hit) / 8u;
#endif
                break;
            }
            q += 8;
        }
        if (q >= end) {
            p->i = start;
            return fail_at(p, start, K5_EPARSE, "invalid JSON: %s", "a string without its closing quote");
        }
        unsigned char c = *q;
        if (c == '"')
            break;
        if (c == '\\') {
            esc = true;
            if (end - q < 2) {
                p->i = start;
                return fail_at(p, start, K5_EPARSE, "invalid JSON: %s",
                               "a string without its closing quote");
            }
            q += 2;
            continue;
        }
        if (c < 0x20)
            return fail_at(p, (size_t)(q - b), K5_EPARSE,
                           "invalid JSON: control character U+%04X inside a string", c);
        q++;
    }
    size_t n = (size_t)(q - s);
    if (n > K5_MAX_SCALAR_BYTES) {
        return fail_at(p, start, K5_ELIMIT, "scalar of more than %u bytes (limit K5_MAX_SCALAR_BYTES)",
                       K5_MAX_SCALAR_BYTES);
    }
    const char *text = (const char *)s;
    if (esc) {
        char *d = k5__arena_alloc(p->a, n + 1);
        if (!d)
            return K5_ENOMEM;
        const unsigned char *bad = s;
        const char *why = "";
        long dn = unescape(s, q, d, &bad, &why);
        if (dn < 0)
            return fail_at(p, (size_t)(bad - b), K5_EPARSE, "%s", why);
        n = (size_t)dn;
        text = d;
    }
    out->u.str = text;
    out->pos = (uint32_t)start + 1;
    out->bits = k5__bits(K5_NODE_STR, true, n);
    p->i = (size_t)(q - b) + 1;
    return K5_OK;
}

static inline bool num_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/*
 * How much of s[0, n) strtod takes in the C locale when s holds only [0-9+-.eE]: a sign,
 * digits with at most one point (at least one digit), then an exponent if digits follow it.
 */
static size_t strtod_len(const unsigned char *s, size_t n)
{
    size_t k = 0, digits = 0;
    if (k < n && (s[k] == '-' || s[k] == '+'))
        k++;
    while (k < n && s[k] >= '0' && s[k] <= '9')
        k++, digits++;
    if (k < n && s[k] == '.') {
        k++;
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++, digits++;
    }
    if (!digits)
        return 0;
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        size_t e = k + 1;
        if (e < n && (s[e] == '-' || s[e] == '+'))
            e++;
        if (e < n && s[e] >= '0' && s[e] <= '9') {
            while (e < n && s[e] >= '0' && s[e] <= '9')
                e++;
            k = e;
        }
    }
    return k;
}

/*
 * A number as cJSON reads it: strtod over the whole run of the characters [0-9+-.eE] that
 * follow. The node's text is that whole run (what the old loader borrowed); the parse goes on
 * where strtod stopped, so inside a container anything strtod left is an error, and at the top
 * level it starts the next value. Upstream cJSON 1.7.15 copied at most 63 of those characters
 * for strtod, so it refused `[<64 digits>]` (valid JSON) and split a long top-level number
 * into several values; Debian's cJSON carries the fix (CVE-2023-26819, 1.7.15-1+deb12u3, as
 * upstream 1.7.18 does) and reads the whole run, which is what JSON means. fuzz_loader found
 * the top-level split against it (tests/fuzz/regressions/loader/top-level-long-number*).
 */
static k5_status number_node(jparser *p, k5_node *out)
{
    size_t start = p->i, e = start;
    bool fl = false;
    while (e < p->len && num_char(p->b[e])) {
        fl |= p->b[e] == '.' || p->b[e] == 'e' || p->b[e] == 'E';
        e++;
    }
    size_t run = e - start;
    size_t took = strtod_len(p->b + start, run);
    if (!took)
        return unexpected(p, "a value");
    if (run > K5_MAX_SCALAR_BYTES) {
        return fail_at(p, start, K5_ELIMIT, "scalar of more than %u bytes (limit K5_MAX_SCALAR_BYTES)",
                       K5_MAX_SCALAR_BYTES);
    }
    out->u.str = (const char *)p->b + start;
    out->pos = (uint32_t)start + 1;
    out->bits = k5__bits(fl ? K5_NODE_FLOAT : K5_NODE_INT, false, run);
    p->i = start + took;
    return K5_OK;
}

static bool literal(jparser *p, const char *word, size_t n)
{
    return p->len - p->i >= n && memcmp(p->b + p->i, word, n) == 0;
}

/* A finished container at the top of the frame stack, into *out. */
static k5_status close_container(jparser *p, k5_node *out)
{
    frame *f = &p->fr[p->depth - 1];
    size_t n = p->nstk - f->base;
    /* An empty first container leaves the stack unallocated: no offset on NULL. */
    const k5_node *kids = n ? p->stk + f->base : NULL;
    if (f->obj) {
        const k5_node *dup = NULL;
        k5_status st = k5__map_finish(p->a, kids, n / 2, out, &dup);
        if (st == K5_EPARSE && dup) {
            k5_str ks = k5_node_str(dup);
            k5_position pos = k5__file_position(p->file, dup);
            k5__err(p->err, p->file->name, pos.line, pos.column, "duplicate key \"%.*s\"",
                    (int)(ks.n > 60 ? 60 : ks.n), ks.p);
        }
        if (st != K5_OK)
            return st;
    } else {
        k5_node *items = NULL;
        if (n) {
            items = k5__arena_alloc(p->a, n * sizeof *items);
            if (!items)
                return K5_ENOMEM;
            memcpy(items, kids, n * sizeof *items);
        }
        out->u.items = items;
        out->bits = k5__bits(K5_NODE_SEQ, false, n);
    }
    out->pos = f->pos;
    p->nstk = f->base;
    p->depth--;
    return K5_OK;
}

/* A key (a string) and its colon, pushed; p->i is left at the value. */
static k5_status key(jparser *p)
{
    if (p->i >= p->len || p->b[p->i] != '"')
        return unexpected(p, "a key (a string)");
    k5_node k;
    k5_status st = string_node(p, &k);
    if (st != K5_OK)
        return st;
    if (!push(p, &k))
        return K5_ENOMEM;
    skip_ws(p);
    if (p->i >= p->len || p->b[p->i] != ':')
        return unexpected(p, "':' after a key");
    p->i++;
    skip_ws(p);
    return K5_OK;
}

/* One top-level value starting at p->i (whitespace skipped), into *root. */
static k5_status value(jparser *p, k5_node *root)
{
    k5_status st;
    k5_node n;
    for (;;) {
        /* p->i is at a value. */
        if (p->i >= p->len)
            return unexpected(p, "a value");
        unsigned char c = p->b[p->i];
        if (c == '{' || c == '[') {
            if (p->depth >= K5_MAX_DEPTH) {
                return fail_at(p, p->i, K5_ELIMIT, "nesting deeper than %u levels (limit K5_MAX_DEPTH)",
                               K5_MAX_DEPTH);
            }
            frame *f = &p->fr[p->depth++];
            f->base = p->nstk;
            f->pos = (uint32_t)p->i + 1;
            f->obj = c == '{';
            p->i++;
            skip_ws(p);
            if (p->i < p->len && p->b[p->i] == (f->obj ? '}' : ']')) {
                p->i++;
                if ((st = close_container(p, &n)) != K5_OK)
                    return st;
            } else {
                if (f->obj && (st = key(p)) != K5_OK)
                    return st;
                continue;
            }
        } else if (c == '"') {
            if ((st = string_node(p, &n)) != K5_OK)
                return st;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if ((st = number_node(p, &n)) != K5_OK)
                return st;
        } else {
            k5_node_type t;
            size_t len;
            if (literal(p, "true", 4)) {
                t = K5_NODE_BOOL, len = 4;
                n.u.str = "true";
            } else if (literal(p, "false", 5)) {
                t = K5_NODE_BOOL, len = 5;
                n.u.str = "false";
            } else if (literal(p, "null", 4)) {
                t = K5_NODE_NULL, len = 4;
                n.u.str = "null";
            } else {
                return unexpected(p, "a value");
            }
            n.pos = (uint32_t)p->i + 1;
            n.bits = k5__bits(t, false, len);
            p->i += len;
        }
        /* A finished value n: the top level's, or the next entry of the open container; a
         * closing bracket finishes that container in turn. */
        for (;;) {
            if (!p->depth) {
                *root = n;
                return K5_OK;
            }
            if (!push(p, &n))
                return K5_ENOMEM;
            frame *f = &p->fr[p->depth - 1];
            skip_ws(p);
            if (p->i < p->len && p->b[p->i] == ',') {
                p->i++;
                skip_ws(p);
                if (f->obj && (st = key(p)) != K5_OK)
                    return st;
                break;
            }
            if (p->i < p->len && p->b[p->i] == (f->obj ? '}' : ']')) {
                p->i++;
                if ((st = close_container(p, &n)) != K5_OK)
                    return st;
                continue;
            }
            return unexpected(p, f->obj ? "',' or '}'" : "',' or ']'");
        }
    }
}

k5_status k5__load_json(k5__arena *arena, const k5__file *file, k5__vec *docs, k5_error *err)
{
    jparser *p = calloc(1, sizeof *p);
    if (!p)
        return K5_ENOMEM;
    p->b = (const unsigned char *)file->buf;
    p->len = file->len;
    p->a = arena;
    p->file = file;
    p->err = err;
    k5_status st = K5_OK;
    size_t ndocs = 0;
    while (st == K5_OK) {
        skip_ws(p);
        if (p->i >= p->len)
            break;
        size_t start = p->i;
        if (++ndocs > K5_MAX_DOCUMENTS) {
            st = fail_at(p, start, K5_ELIMIT, "more than %u documents (limit K5_MAX_DOCUMENTS)",
                         K5_MAX_DOCUMENTS);
            break;
        }
        /* cJSON skipped a UTF-8 byte order mark at the start of each value it was given. */
        if (p->len - p->i >= 3 && memcmp(p->b + p->i, "\xEF\xBB\xBF", 3) == 0) {
            p->i += 3;
            skip_ws(p);
        }
        k5_node *root = k5__arena_alloc(arena, sizeof *root);
        if (!root) {
            st = K5_ENOMEM;
            break;
        }
        p->depth = 0;
        p->nstk = 0;
        st = value(p, root);
        if (st != K5_OK)
            break;
        k5__doc d = {root, (uint32_t)start, (uint32_t)start};
        if (!k5__vec_push(docs, &d))
            st = K5_ENOMEM;
    }
    if (st == K5_ENOMEM)
        k5__err(err, file->name, 0, 0, "out of memory");
    free(p->stk);
    free(p);
    return st;
}
