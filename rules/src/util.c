/*
 * Arena, vectors, hash map and error helpers shared by the engine.
 */
#include <stdlib.h>

#include "k5_internal.h"

struct k5__chunk {
    k5__chunk *next;
    size_t used, size;
    max_align_t data[];
};

#define K5__CHUNK_MIN (8u * 1024u) /* small: the webhook makes a docset per review */

void *k5__arena_alloc(k5__arena *a, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    k5__chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        /* Chunks grow with the arena so that big inputs use few chunks. */
        size_t want = K5__CHUNK_MIN;
        if (a->total / 8 > want)
            want = a->total / 8;
        if (want > 4u * 1024u * 1024u)
            want = 4u * 1024u * 1024u;
        if (want < size)
            want = size;
        c = malloc(sizeof(*c) + want);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = want;
        if (a->head && size > K5__CHUNK_MIN && a->head->size - a->head->used > K5__CHUNK_MIN) {
            /* A large one-off block: keep filling the current chunk afterwards. */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        a->total += want;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

void k5__arena_adopt(k5__arena *dst, k5__arena *src)
{
    if (!src->head)
        return;
    k5__chunk *tail = src->head;
    while (tail->next)
        tail = tail->next;
    if (dst->head) {
        /* Behind dst's head, which keeps filling. */
        tail->next = dst->head->next;
        dst->head->next = src->head;
    } else {
        dst->head = src->head;
    }
    dst->total += src->total;
    src->head = NULL;
    src->total = 0;
}

char *k5__arena_strndup(k5__arena *a, const char *s, size_t n)
{
    char *p = k5__arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *k5__arena_printf(k5__arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = k5__arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    if ((size_t)n < sizeof tmp) {
        memcpy(p, tmp, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return p;
}

void k5__arena_free(k5__arena *a)
{
    k5__chunk *c = a->head;
    while (c) {
        k5__chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

bool k5__grow(void **data, size_t *cap, size_t first, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap < *cap || ncap > SIZE_MAX / elem)
        return false;
    void *nd = realloc(*data, ncap * elem);
    if (!nd)
        return false;
    *data = nd;
    *cap = ncap;
    return true;
}

void *k5__vec_push(k5__vec *v, const void *elem)
{
    if (v->len == v->cap && !k5__grow(&v->data, &v->cap, 16, v->elem))
        return NULL;
    void *slot = (char *)v->data + v->len * v->elem;
    memcpy(slot, elem, v->elem);
    v->len++;
    return slot;
}

void k5__vec_free(k5__vec *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* FNV-1a, 64 bit: short keys, no adversarial pressure worth more here. The webhook's cache
 * (cluster.c) walks its buckets in slot order, so its output depends on this exact function. */
uint64_t k5__hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* 64-bit multiply, folded: the high half mixed into the low one. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t k5__hash_key(const void *p, size_t n)
{
    /* Eight bytes a step (FNV's one multiply per byte was most of a lookup's hashing): each
     * word folded in by a 64x64->128 multiply, the length in the seed, a final mix so that
     * the low bits (the slot) depend on every byte. Not for adversarial keys, like FNV. */
    const unsigned char *s = p;
    const uint64_t k0 = 0x9e3779b97f4a7c15ULL, k1 = 0xd6e8feb86659fd93ULL;
    uint64_t h = k0 ^ ((uint64_t)n * k1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix(h ^ w, k1);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        h = mix(h ^ w, k0);
    }
    return mix(h, k1);
}

/* The filter's word for a hash, and its two bits in that word. */
static inline size_t bloom_word(const k5__hmap *m, uint32_t h)
{
    return (size_t)(((uint64_t)h * 0x9e3779b97f4a7c15ULL) >> m->bloom_shift);
}

static inline uint64_t bloom_bits(uint32_t h)
{
    return ((uint64_t)1 << (h & 63)) | ((uint64_t)1 << ((h >> 6) & 63));
}

const k5__hentry *k5__hmap_get(const k5__hmap *m, const char *key, size_t klen)
{
    if (!m->cap)
        return NULL;
    uint32_t h = (uint32_t)k5__hash_key(key, klen);
    if (m->bloom) {
        uint64_t b = bloom_bits(h);
        if ((m->bloom[bloom_word(m, h)] & b) != b)
            return NULL;
    }
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const k5__hentry *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

static k5_status hmap_resize(k5__hmap *m, size_t ncap)
{
    k5__hentry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return K5_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        k5__hentry *e = &m->slots[i];
        if (!e->key)
            continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
        if (e->vals == e->inl)
            ns[j].vals = ns[j].inl;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return K5_OK;
}

static k5_status hmap_grow(k5__hmap *m)
{
    /* Small first: the webhook builds an index over one object for every review. */
    return hmap_resize(m, m->cap ? m->cap * 2 : 8);
}

k5_status k5__hmap_reserve(k5__hmap *m, size_t keys)
{
    /* The capacity k5__hmap_add reaches for that many keys (a load of at most 3/4), no more. */
    size_t cap = m->cap ? m->cap : 8;
    while (keys > cap / 4 * 3) {
        if (cap > SIZE_MAX / 2 / sizeof(k5__hentry))
            return K5_ENOMEM;
        cap *= 2;
    }
    return cap > m->cap ? hmap_resize(m, cap) : K5_OK;
}

void k5__hmap_prefetch(const k5__hmap *m, const char *key, size_t klen)
{
    if (!m->cap)
        return;
    uint32_t h = (uint32_t)k5__hash_key(key, klen);
#if defined(__GNUC__)
    __builtin_prefetch(&m->slots[h & (m->cap - 1)], 1);
#endif
}

k5_status k5__hmap_find_or_add(k5__hmap *m, const char *key, size_t klen, uint32_t val,
                               const k5__hentry **found)
{
    *found = NULL;
    if (klen > UINT32_MAX)
        return K5_EINVAL;
    if (m->cap) {
        uint32_t h = (uint32_t)k5__hash_key(key, klen);
        for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
            const k5__hentry *e = &m->slots[i];
            if (!e->key)
                break;
            if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) {
                *found = e;
                return K5_OK;
            }
        }
    }
    return k5__hmap_add(m, key, klen, val);
}

k5_status k5__hmap_add(k5__hmap *m, const char *key, size_t klen, uint32_t val)
{
    if (klen > UINT32_MAX)
        return K5_EINVAL;
    if ((m->len + 1) * 4 > m->cap * 3 && hmap_grow(m) != K5_OK)
        return K5_ENOMEM;
    uint32_t h = (uint32_t)k5__hash_key(key, klen);
    size_t i = h & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        k5__hentry *e = &m->slots[i];
        if (!e->key) {
            char *k = k5__arena_strndup(m->arena, key, klen);
            if (!k)
                return K5_ENOMEM;
            e->key = k;
            e->klen = (uint32_t)klen;
            e->hash = h;
            e->vals = e->inl;
            e->cap = 2;
            m->len++;
            if (m->bloom)
                m->bloom[bloom_word(m, h)] |= bloom_bits(h);
            break;
        }
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
    }
    k5__hentry *e = &m->slots[i];
    if (e->nvals == e->cap) {
        bool inl = e->vals == e->inl;
        void *vals = inl ? NULL : e->vals;
        size_t cap = inl ? 2 : e->cap;
        /* The count is 32 bits: a list never doubles past it. */
        if (cap > UINT32_MAX / 2 || !k5__grow(&vals, &cap, 2, sizeof *e->vals))
            return K5_ENOMEM;
        if (inl)
            memcpy(vals, e->inl, sizeof e->inl);
        e->vals = vals;
        e->cap = (uint32_t)cap;
    }
    e->vals[e->nvals++] = val;
    return K5_OK;
}

void k5__hmap_seal(k5__hmap *m)
{
    if (m->bloom || !m->len)
        return;
    /* One 64-bit word per 8 keys, a power of two: with two bits per key about 5% of absent
     * keys still reach the slots. */
    unsigned bits = 1;
    while (((size_t)1 << bits) < (m->len + 7) / 8)
        bits++;
    uint64_t *bl = calloc((size_t)1 << bits, sizeof *bl);
    if (!bl)
        return; /* the map works as well without */
    m->bloom = bl;
    m->bloom_shift = 64 - bits;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            bl[bloom_word(m, m->slots[i].hash)] |= bloom_bits(m->slots[i].hash);
}

void k5__hmap_free(k5__hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].vals != m->slots[i].inl)
            free(m->slots[i].vals);
    free(m->slots);
    free(m->bloom);
    m->slots = NULL;
    m->bloom = NULL;
    m->cap = m->len = 0;
}

void k5__err(k5_error *err, const char *file, uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (!err)
        return;
    err->file = file;
    err->line = line;
    err->column = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

const char *k5_status_str(k5_status st)
{
    switch (st) {
    case K5_OK:
        return "ok";
    case K5_ENOMEM:
        return "out of memory";
    case K5_EPARSE:
        return "parse error";
    case K5_ELIMIT:
        return "input limit exceeded";
    case K5_EINVAL:
        return "invalid argument";
    case K5_ENOTFOUND:
        return "not found";
    }
    return "unknown error";
}
