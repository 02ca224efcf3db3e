/*
 * The document model: accessors, YAML 1.1 scalar typing, merge keys,
 * duplicate keys, and field paths.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "k5_internal.h"

k5_str k5_node_str(const k5_node *n)
{
    k5_str s = {NULL, 0};
    if (k5_node_is_scalar(n) && n) {
        s.p = n->u.str;
        s.n = k5_node_len(n);
    }
    return s;
}

bool k5_node_text_is(const k5_node *n, const char *s)
{
    if (!k5_node_is_scalar(n) || !n)
        return false;
    size_t len = strlen(s);
    return k5_node_len(n) == len && (len == 0 || memcmp(n->u.str, s, len) == 0);
}

bool k5_node_is(const k5_node *n, const char *s)
{
    return k5_node_kind(n) == K5_NODE_STR && k5_node_text_is(n, s);
}

const k5_node *k5_map_getn(const k5_node *map, const char *key, size_t klen)
{
    if (!map || (map->bits & 7u) != K5_NODE_MAP || klen > (UINT32_MAX >> 4))
        return NULL;
    /* Rules look keys up constantly (~100 lookups per object): a key is a candidate when its
     * bits say a scalar (a type below MAP) of klen bytes, one compare of the length and one of
     * the type; then the first byte, then memcmp. */
    const uint32_t want = (uint32_t)klen << 4;
    size_t n = map->bits >> 4;
    if (!n) /* an empty map's items are NULL: no offset on it */
        return NULL;
    const k5_node *it = map->u.items, *end = it + 2 * n;
    for (; it != end; it += 2) {
        uint32_t b = it->bits;
        if ((b & ~15u) != want || (b & 7u) >= K5_NODE_MAP)
            continue;
        if (klen == 0 || (it->u.str[0] == key[0] && memcmp(it->u.str, key, klen) == 0))
            return it + 1;
    }
    return NULL;
}

const k5_node *k5_map_key(const k5_node *map, size_t i)
{
    if (!k5_node_is_map(map) || i >= k5_node_len(map))
        return NULL;
    return &map->u.items[2 * i];
}

const k5_node *k5_map_value(const k5_node *map, size_t i)
{
    if (!k5_node_is_map(map) || i >= k5_node_len(map))
        return NULL;
    return &map->u.items[2 * i + 1];
}

const k5_node *k5_seq_at(const k5_node *seq, size_t i)
{
    if (!k5_node_is_seq(seq) || i >= k5_node_len(seq))
        return NULL;
    return &seq->u.items[i];
}

const k5_node *k5_node_at(const k5_node *n, const char *dotted)
{
    /* Each segment is looked up in place, by length: copying it out and measuring it again
     * showed in the webhook's profile (every object's metadata is read this way). */
    while (n && *dotted) {
        /* The segment measured here, not by strchr and strlen: two calls per segment, and
         * the segments are short ("spec", "template", "metadata"). */
        size_t len = 0;
        while (dotted[len] && dotted[len] != '.')
            len++;
        if (len >= 128) /* the segment cap the copying version had */
            return NULL;
        n = k5_map_getn(n, dotted, len);
        dotted += len + (dotted[len] == '.');
    }
    return n;
}

/* Integer syntax of yaml.v2: underscores dropped, then Go's ParseInt base 0. */
static bool parse_yaml_int(const char *s, size_t n, int64_t *out)
{
    char buf[96];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        if (m + 1 >= sizeof buf)
            return false;
        buf[m++] = s[i];
    }
    buf[m] = '\0';
    if (m == 0)
        return false;
    const char *p = buf;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        base = 8; /* Go's base-0 rule: a leading 0 means octal */
        p += 1;
    }
    if (*p == '\0')
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return false;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1u)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* yaml.v2's float syntax: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and .inf/.nan. */
static bool is_yaml_float(const char *s, size_t n)
{
    static const char *const special[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                          "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        if (strlen(special[i]) == n && memcmp(special[i], s, n) == 0)
            return true;
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t digits = 0;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
        if (!digits)
            return false;
    } else {
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
        if (!digits)
            return false;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && isdigit((unsigned char)s[i]))
                i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, ed++;
        if (!ed)
            return false;
    }
    return i == n;
}

/* YAML 1.1's booleans as yaml.v2 reads them: y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|
 * false|False|FALSE|on|On|ON|off|Off|OFF. Compared by length first: every plain scalar of a
 * document comes through here (a list of 22 strlen+memcmp was 2.8% of a lint). */
static bool is_yaml_bool(const char *s, size_t n)
{
    static const char *const by_len[6][6] = {
        {NULL},
        {"y", "Y", "n", "N", NULL},
        {"no", "No", "NO", "on", "On", "ON"},
        {"yes", "Yes", "YES", "off", "Off", "OFF"},
        {"true", "True", "TRUE", NULL},
        {"false", "False", "FALSE", NULL},
    };
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < 6 && by_len[n][i]; i++)
        if (memcmp(by_len[n][i], s, n) == 0)
            return true;
    return false;
}

k5_node_type k5__resolve_plain(const char *s, size_t n)
{
    if (n == 0)
        return K5_NODE_NULL;
    switch (s[0]) {
    case '~':
    case 'n':
    case 'N':
        if ((n == 1 && s[0] == '~') ||
            (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
            return K5_NODE_NULL;
        break;
    default:
        break;
    }
    /* Only these first characters can start a boolean or a number. */
    unsigned char c = (unsigned char)s[0];
    switch (c) {
    case 'y': case 'Y': case 'n': case 'N': case 't': case 'T':
    case 'f': case 'F': case 'o': case 'O':
        return n <= 5 && is_yaml_bool(s, n) ? K5_NODE_BOOL : K5_NODE_STR;
    default:
        break;
    }
    if (!(isdigit(c) || c == '-' || c == '+' || c == '.'))
        return K5_NODE_STR;
    int64_t v;
    if (parse_yaml_int(s, n, &v))
        return K5_NODE_INT;
    if (is_yaml_float(s, n))
        return K5_NODE_FLOAT;
    return K5_NODE_STR;
}

bool k5_node_int(const k5_node *n, int64_t *out)
{
    k5_node_type t = k5_node_kind(n);
    if (t == K5_NODE_INT)
        return parse_yaml_int(n->u.str, k5_node_len(n), out);
    if (t == K5_NODE_FLOAT) {
        char buf[64];
        size_t len = k5_node_len(n);
        if (len >= sizeof buf)
            return false;
        memcpy(buf, n->u.str, len);
        buf[len] = '\0';
        errno = 0;
        char *end = NULL;
        double d = strtod(buf, &end);
        /* YAML's .inf and .nan are no C numbers: strtod reads nothing of them (and must not
         * turn them into 0). */
        if (errno || end == buf || *end || !isfinite(d) || d != floor(d) || d > 9.2e18 ||
            d < -9.2e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

bool k5_node_bool(const k5_node *n, bool *out)
{
    if (k5_node_kind(n) != K5_NODE_BOOL)
        return false;
    char c = n->u.str[0];
    *out = c == 'y' || c == 'Y' || c == 't' || c == 'T' || (k5_node_len(n) == 2 && (c == 'o' || c == 'O'));
    return true;
}

static bool key_eq(const k5_node *a, const k5_node *b)
{
    size_t n = k5_node_len(a);
    return n == k5_node_len(b) && (n == 0 || memcmp(a->u.str, b->u.str, n) == 0);
}

static bool is_merge_key(const k5_node *k)
{
    return k5_node_kind(k) == K5_NODE_STR && !k5_node_quoted(k) && k5_node_len(k) == 2 &&
           k->u.str[0] == '<' && k->u.str[1] == '<';
}

/* Finds a duplicate among the keys of kv (2n entries); returns the second occurrence. */
static k5_status find_dup(const k5_node *kv, size_t n, const k5_node **dup)
{
    *dup = NULL;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (key_eq(&kv[2 * i], &kv[2 * j])) {
                    *dup = &kv[2 * i];
                    return K5_OK;
                }
        return K5_OK;
    }
    size_t cap = 32;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots); /* index + 1; 0 = empty */
    if (!slots)
        return K5_ENOMEM;
    for (size_t i = 0; i < n && !*dup; i++) {
        const k5_node *k = &kv[2 * i];
        uint64_t h = k5__hash_key(k->u.str, k5_node_len(k));
        for (size_t s = h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            if (!slots[s]) {
                slots[s] = (uint32_t)i + 1;
                break;
            }
            if (key_eq(&kv[2 * (slots[s] - 1)], k)) {
                *dup = k;
                break;
            }
        }
    }
    free(slots);
    return K5_OK;
}

static bool has_key(const k5_node *kv, size_t n, const k5_node *key)
{
    for (size_t i = 0; i < n; i++)
        if (key_eq(&kv[2 * i], key))
            return true;
    return false;
}

k5_status k5__map_finish(k5__arena *a, const k5_node *kv, size_t n, k5_node *out,
                         const k5_node **dup)
{
    *dup = NULL;
    size_t merges = 0;
    for (size_t i = 0; i < n; i++)
        if (is_merge_key(&kv[2 * i]))
            merges++;
    if (!merges) {
        k5_status st = find_dup(kv, n, dup);
        if (st != K5_OK || *dup)
            return st != K5_OK ? st : K5_EPARSE;
        k5_node *items = NULL;
        if (n) {
            items = k5__arena_alloc(a, 2 * n * sizeof *items);
            if (!items)
                return K5_ENOMEM;
            memcpy(items, kv, 2 * n * sizeof *items);
        }
        out->u.items = items;
        out->bits = k5__bits(K5_NODE_MAP, false, n);
        return K5_OK;
    }
    if (merges > 1) {
        for (size_t i = 0, seen = 0; i < n; i++)
            if (is_merge_key(&kv[2 * i]) && seen++) {
                *dup = &kv[2 * i];
                return K5_EPARSE;
            }
    }
    /* Explicit keys first, then merged keys they do not override (YAML merge key semantics:
     * explicit keys win, and in a sequence of maps the earlier map wins). */
    size_t total = n;
    const k5_node *mv = NULL;
    for (size_t i = 0; i < n; i++)
        if (is_merge_key(&kv[2 * i]))
            mv = &kv[2 * i + 1];
    size_t nsrc = k5_node_is_seq(mv) ? k5_node_len(mv) : 1;
    for (size_t s = 0; s < nsrc; s++) {
        const k5_node *m = k5_node_is_seq(mv) ? k5_seq_at(mv, s) : mv;
        if (!k5_node_is_map(m)) {
            *dup = NULL;
            return K5_EINVAL;
        }
        total += k5_node_len(m);
    }
    k5_node *items = k5__arena_alloc(a, 2 * total * sizeof *items);
    if (!items)
        return K5_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_merge_key(&kv[2 * i]))
            continue;
        items[2 * m] = kv[2 * i];
        items[2 * m + 1] = kv[2 * i + 1];
        m++;
    }
    k5_status st = find_dup(items, m, dup);
    if (st != K5_OK || *dup)
        return st != K5_OK ? st : K5_EPARSE;
    for (size_t s = 0; s < nsrc; s++) {
        const k5_node *src = k5_node_is_seq(mv) ? k5_seq_at(mv, s) : mv;
        for (size_t j = 0; j < k5_node_len(src); j++) {
            const k5_node *k = &src->u.items[2 * j];
            if (has_key(items, m, k))
                continue;
            items[2 * m] = *k;
            items[2 * m + 1] = src->u.items[2 * j + 1];
            m++;
        }
    }
    out->u.items = items;
    out->bits = k5__bits(K5_NODE_MAP, false, m);
    return K5_OK;
}

static bool plain_key(k5_str s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!(isalnum(c) || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* One step of the way from the root to the target: the collection and the entry taken. */
typedef struct step {
    const k5_node *coll;
    size_t i;
} step;

/*
 * Depth-first search by pointer identity, recording only the trail; the text is formatted
 * once, for the path found (formatting every visited key cost more than the search). A
 * collection answers for its own entries by address (the target lies in its items array or
 * not), so the search descends only into collections, and it does so with the trail as its
 * stack instead of a call per node (a call per scalar was most of a finding's cost on large
 * objects). No collection's items can be reached again below it (an alias or a merge key
 * refers to a node that ended before it), so the path found is the one the entry-by-entry
 * walk found: the first in document order. Collections at depth K5_MAX_DEPTH are not
 * searched, as before.
 */
static bool find_trail(const k5_node *root, const k5_node *target, step *trail, size_t *len)
{
    if (root == target) {
        *len = 0;
        return true;
    }
    if (!k5_node_is_map(root) && !k5_node_is_seq(root))
        return false;
    const uintptr_t t = (uintptr_t)target;
    const k5_node *n = root;
    size_t d = 0, i = 0;
    bool entered = true; /* n was just reached: test its entries by address first */
    for (;;) {
        bool map = (n->bits & 7u) == K5_NODE_MAP;
        size_t count = n->bits >> 4;
        if (entered) {
            uintptr_t lo = (uintptr_t)n->u.items;
            size_t slots = map ? 2 * count : count;
            if (slots && t >= lo && t - lo < slots * sizeof *target &&
                (t - lo) % sizeof *target == 0) {
                size_t k = (t - lo) / sizeof *target;
                trail[d].coll = n;
                trail[d].i = map ? k / 2 : k; /* a key: the path of its entry */
                *len = d + 1;
                return true;
            }
            i = 0;
        }
        const k5_node *child = NULL;
        for (; i < count; i++) {
            const k5_node *c = map ? &n->u.items[2 * i + 1] : &n->u.items[i];
            uint32_t ct = c->bits & 7u;
            if ((ct == K5_NODE_MAP || ct == K5_NODE_SEQ) && (c->bits >> 4)) {
                child = c;
                break;
            }
        }
        if (child && d + 1 < K5_MAX_DEPTH) {
            trail[d].coll = n;
            trail[d].i = i;
            n = child;
            d++;
            entered = true;
            continue;
        }
        if (child) { /* too deep to search, as the recursive walk was */
            i++;
            entered = false;
            continue;
        }
        if (d == 0)
            return false;
        d--;
        n = trail[d].coll;
        i = trail[d].i + 1;
        entered = false;
    }
}

/*
 * The same search where no node is reachable twice and positions grow in document order (a
 * JSON document): at each collection the target is one of its entries, or inside the last
 * collection entry that starts at or before it. False when that leads nowhere (a target
 * without a position, or not in this tree); the caller then walks. Found, the path is the
 * only one there is, so the walk would find it too.
 */
static bool find_trail_by_pos(const k5_node *root, const k5_node *target, step *trail,
                              size_t *len)
{
    if (root == target) {
        *len = 0;
        return true;
    }
    const uintptr_t t = (uintptr_t)target;
    const uint32_t tpos = target->pos;
    const k5_node *n = root;
    for (size_t d = 0; d < K5_MAX_DEPTH && tpos; d++) {
        bool map = (n->bits & 7u) == K5_NODE_MAP;
        if (!map && (n->bits & 7u) != K5_NODE_SEQ)
            return false;
        size_t count = n->bits >> 4, slots = map ? 2 * count : count;
        if (!slots)
            return false;
        uintptr_t lo = (uintptr_t)n->u.items;
        if (t >= lo && t - lo < slots * sizeof *target && (t - lo) % sizeof *target == 0) {
            size_t k = (t - lo) / sizeof *target;
            trail[d].coll = n;
            trail[d].i = map ? k / 2 : k;
            *len = d + 1;
            return true;
        }
        const k5_node *next = NULL;
        for (size_t i = 0; i < count; i++) {
            const k5_node *c = map ? &n->u.items[2 * i + 1] : &n->u.items[i];
            uint32_t ct = c->bits & 7u;
            if ((ct != K5_NODE_MAP && ct != K5_NODE_SEQ) || !(c->bits >> 4))
                continue;
            if (!c->pos || c->pos > tpos)
                break;
            next = c;
            trail[d].coll = n;
            trail[d].i = i;
        }
        if (!next)
            return false;
        n = next;
    }
    return false;
}

bool k5__node_path(const k5_node *root, const k5_node *target, bool unique, char *buf,
                   size_t size, const k5_node **key)
{
    step trail[K5_MAX_DEPTH + 1];
    size_t len = 0, used = 0;
    if (!size)
        return false;
    buf[0] = '\0';
    if (key)
        *key = NULL;
    if (!(unique && find_trail_by_pos(root, target, trail, &len)) &&
        !find_trail(root, target, trail, &len))
        return false;
    if (key && len && k5_node_is_map(trail[len - 1].coll))
        *key = &trail[len - 1].coll->u.items[2 * trail[len - 1].i];
    /* Appended piece by piece with explicit lengths (snprintf per segment showed in profiles);
     * the path is cut, never overrun, when it does not fit. */
#define K5__PUT(src, n)                                                                          \
    do {                                                                                         \
        size_t k_ = (n);                                                                         \
        if (k_ > size - 1 - used)                                                                \
            k_ = size - 1 - used;                                                                \
        memcpy(buf + used, (src), k_);                                                           \
        used += k_;                                                                              \
    } while (0)
    for (size_t d = 0; d < len && used + 1 < size; d++) {
        if (k5_node_is_map(trail[d].coll)) {
            k5_str ks = k5_node_str(&trail[d].coll->u.items[2 * trail[d].i]);
            if (plain_key(ks)) {
                if (used)
                    K5__PUT(".", 1);
                K5__PUT(ks.p, ks.n);
            } else {
                K5__PUT("[\"", 2);
                K5__PUT(ks.p, ks.n);
                K5__PUT("\"]", 2);
            }
        } else {
            /* "[%zu]" without snprintf: a container's index is in nearly every path. */
            char num[24];
            size_t w = sizeof num, i = trail[d].i;
            num[--w] = ']';
            do {
                num[--w] = (char)('0' + i % 10);
                i /= 10;
            } while (i);
            num[--w] = '[';
            K5__PUT(num + w, sizeof num - w);
        }
    }
#undef K5__PUT
    buf[used] = '\0';
    return true;
}
