/*
 * kube5xx-webhook: a faster parse of well-formed JSON into a cJSON tree (see wh_json_parse.h).
 */
#include "wh_json_parse.h"

#include "wh_json_arena.h"

#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct jp {
    const unsigned char *p, *end;
    unsigned depth;
    char *cur, *lim; /* a block of the arena, handed out item by item */
} jp;

/* Arena blocks taken at a time: one call into the arena per block, not per item. */
#define JP_BLOCK_BYTES 8192u

/* strtod in the C locale: cJSON swaps '.' for the locale's decimal point to get the same. */
static locale_t g_c_locale;
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
    g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* n bytes, 8-aligned, from the current block (a new one when it is spent). */
static inline void *jalloc(jp *j, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if ((size_t)(j->lim - j->cur) < n) {
        size_t block = n > JP_BLOCK_BYTES ? n : JP_BLOCK_BYTES;
        char *b = wh_json_arena_alloc(block);
        if (!b)
            return NULL;
        j->cur = b;
        j->lim = b + block;
    }
    void *p = j->cur;
    j->cur += n;
    return p;
}

static cJSON *new_item(jp *j)
{
    cJSON *it = jalloc(j, sizeof *it);
    if (it)
        memset(it, 0, sizeof *it);
    return it;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES 0x0101010101010101ull
static inline uint64_t zero_bytes(uint64_t v)
{
    /* The lowest flagged byte is exactly the first zero byte (higher ones may be false). */
    return (v - ONES) & ~v & (ONES << 7);
}
#endif

/* The first '"', '\\' or NUL in [q, end), or end: eight bytes at a time where it can. */
static inline const unsigned char *string_stop(const unsigned char *q, const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - q >= 8) {
        uint64_t v;
        memcpy(&v, q, 8);
        uint64_t x = zero_bytes(v) | zero_bytes(v ^ (ONES * '"')) | zero_bytes(v ^ (ONES * '\\'));
        if (x)
            return q + (__builtin_ctzll(x) >> 3);
        q += 8;
    }
#endif
    while (q < end && *q != '"' && *q != '\\' && *q != '\0')
        q++;
    return q;
}

/* cJSON skips every byte up to and including the space as whitespace. */
static inline void skip_ws(jp *j)
{
    while (j->p < j->end && *j->p <= 32)
        j->p++;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        if (c >= '0' && c <= '9')
            v = v * 16 + (int)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (int)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (int)(c - 'A' + 10);
        else
            return -1;
    }
    return v;
}

/* A string's escapes, decoded into out (room for q - s bytes); NULL: not one cJSON reads alike. */
static char *unescape(const unsigned char *s, const unsigned char *q, char *out)
{
    char *o = out;
    while (s < q) {
        if (*s != '\\') {
            *o++ = (char)*s++;
            continue;
        }
        switch (s[1]) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case '"':
        case '\\':
        case '/': *o++ = (char)s[1]; break;
        case 'u': {
            if (q - s < 6)
                return NULL;
            int c = hex4(s + 2);
            if (c <= 0 || (c >= 0xDC00 && c <= 0xDFFF))
                return NULL; /* \u0000, bad hex, a lone low surrogate */
            unsigned long cp = (unsigned long)c;
            if (c >= 0xD800 && c <= 0xDBFF) {
                if (q - s < 12 || s[6] != '\\' || s[7] != 'u')
                    return NULL;
                int lo = hex4(s + 8);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                cp = 0x10000 + ((((unsigned long)c & 0x3FF) << 10) | ((unsigned long)lo & 0x3FF));
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
        default: return NULL;
        }
        s += 2;
    }
    *o = '\0';
    return out;
}

/* A string at j->p (its opening quote): its bytes, NUL-terminated, in the arena. */
static char *parse_string(jp *j)
{
    const unsigned char *s = j->p + 1, *q = s;
    bool escaped = false;
    for (;;) {
        q = string_stop(q, j->end);
        if (q >= j->end || *q == '\0')
            return NULL; /* unterminated, or a NUL that cJSON would keep inside the string */
        if (*q == '"')
            break;
        escaped = true;
        if (q + 1 >= j->end || q[1] == '\0')
            return NULL;
        q += 2; /* the escaped byte is never the end of the string */
    }
    size_t n = (size_t)(q - s);
    char *out = jalloc(j, n + 1);
    if (!out)
        return NULL;
    if (escaped) {
        if (!unescape(s, q, out))
            return NULL;
    } else {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    j->p = q + 1;
    return out;
}

static inline bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The bytes cJSON's number scan takes in (it then lets strtod decide how many it wanted). */
static inline bool number_byte(unsigned char c)
{
    return digit(c) || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

static bool parse_number(jp *j, cJSON *it)
{
    const unsigned char *s = j->p, *q = s, *e = j->end;
    bool neg = *q == '-';
    if (neg)
        q++;
    if (q >= e || !digit(*q))
        return false;
    const unsigned char *int_start = q;
    if (*q == '0')
        q++;
    else
        while (q < e && digit(*q))
            q++;
    size_t int_digits = (size_t)(q - int_start);
    bool integral = true;
    if (q < e && *q == '.') {
        integral = false;
        q++;
        if (q >= e || !digit(*q))
            return false;
        while (q < e && digit(*q))
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        integral = false;
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q >= e || !digit(*q))
            return false;
        while (q < e && digit(*q))
            q++;
    }
    size_t n = (size_t)(q - s);
    /* cJSON would read on (a leading zero, "1.5.3"), or cut the number at 63 bytes. */
    if ((q < e && number_byte(*q)) || n > 63)
        return false;
    double d;
    if (integral && int_digits <= 15) {
        /* Exact in a double, so strtod would give exactly this (and -0.0 for "-0"). */
        int64_t v = 0;
        for (const unsigned char *c = int_start; c < q; c++)
            v = v * 10 + (*c - '0');
        d = neg ? -(double)v : (double)v;
    } else {
        pthread_once(&g_c_locale_once, c_locale_init);
        if (g_c_locale == (locale_t)0)
            return false;
        char buf[64];
        memcpy(buf, s, n);
        buf[n] = '\0';
        char *after = NULL;
        d = strtod_l(buf, &after, g_c_locale);
        if (after != buf + n)
            return false;
    }
    it->type = cJSON_Number;
    it->valuedouble = d;
    /* cJSON's saturation, exactly. */
    if (d >= INT_MAX)
        it->valueint = INT_MAX;
    else if (d <= (double)INT_MIN)
        it->valueint = INT_MIN;
    else
        it->valueint = (int)d;
    j->p = q;
    return true;
}

static bool parse_value(jp *j, cJSON *it);

/* Links c after *last (cJSON's order: head first, each item's prev the one before it). */
static inline void append(cJSON **head, cJSON **last, cJSON *c)
{
    if (!*head) {
        *head = c;
    } else {
        (*last)->next = c;
        c->prev = *last;
    }
    *last = c;
}

/* An object member's `"key":` with the item it names, or NULL; the value comes next. */
static cJSON *parse_key(jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return NULL;
    cJSON *c = new_item(j);
    if (!c || !(c->string = parse_string(j)))
        return NULL;
    skip_ws(j);
    if (j->p >= j->end || *j->p != ':')
        return NULL;
    j->p++;
    skip_ws(j);
    return c;
}

/*
 * An object ('}', members with keys) or an array (']', bare values): one loop,
 * so the two can never drift apart in what they accept.
 */
static bool parse_container(jp *j, cJSON *it, char close, int type)
{
    if (++j->depth > WH_JSON_FAST_MAX_DEPTH)
        return false;
    j->p++;
    skip_ws(j);
    cJSON *head = NULL, *last = NULL;
    if (j->p < j->end && *j->p == close) {
        j->p++;
    } else {
        for (;;) {
            cJSON *c = close == '}' ? parse_key(j) : new_item(j);
            if (!c || !parse_value(j, c))
                return false;
            append(&head, &last, c);
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                skip_ws(j);
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                break;
            }
            return false;
        }
    }
    j->depth--;
    if (head)
        head->prev = last; /* cJSON keeps the last child there, for appending */
    it->type = type;
    it->child = head;
    return true;
}

static bool literal(jp *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool parse_value(jp *j, cJSON *it)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '"': {
        char *s = parse_string(j);
        if (!s)
            return false;
        it->type = cJSON_String;
        it->valuestring = s;
        return true;
    }
    case '{': return parse_container(j, it, '}', cJSON_Object);
    case '[': return parse_container(j, it, ']', cJSON_Array);
    case 'n':
        if (!literal(j, "null", 4))
            return false;
        it->type = cJSON_NULL;
        return true;
    case 'f':
        if (!literal(j, "false", 5))
            return false;
        it->type = cJSON_False;
        return true;
    case 't':
        if (!literal(j, "true", 4))
            return false;
        it->type = cJSON_True;
        it->valueint = 1;
        return true;
    default:
        if (*j->p == '-' || digit(*j->p))
            return parse_number(j, it);
        return false;
    }
}

cJSON *wh_json_parse_fast(const char *body, size_t len, const char **end)
{
    if (!body || len == 0 || (unsigned char)body[0] == 0xEF) /* 0xEF: a BOM is cJSON's to skip */
        return NULL;
    wh_json_arena_mark mark = wh_json_arena_get_mark();
    jp j = {(const unsigned char *)body, (const unsigned char *)body + len, 0, NULL, NULL};
    cJSON *root = new_item(&j);
    if (root) {
        skip_ws(&j);
        if (parse_value(&j, root)) {
            if (end)
                *end = (const char *)j.p;
            return root;
        }
    }
    wh_json_arena_rewind(mark);
    return NULL;
}

bool wh_json_same_tree(const cJSON *a, const cJSON *b)
{
    for (; a && b; a = a->next, b = b->next) {
        if (a->type != b->type || a->valueint != b->valueint ||
            memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0)
            return false;
        if ((a->string == NULL) != (b->string == NULL) ||
            (a->string && strcmp(a->string, b->string) != 0))
            return false;
        if ((a->valuestring == NULL) != (b->valuestring == NULL) ||
            (a->valuestring && strcmp(a->valuestring, b->valuestring) != 0))
            return false;
        if ((a->child == NULL) != (b->child == NULL))
            return false;
        if (a->child) {
            /* The first child's prev is the last child in both. */
            const cJSON *la = a->child, *lb = b->child;
            while (la->next)
                la = la->next;
            while (lb->next)
                lb = lb->next;
            if (a->child->prev != la || b->child->prev != lb)
                return false;
            if (!wh_json_same_tree(a->child, b->child))
                return false;
        }
    }
    return a == NULL && b == NULL;
}
