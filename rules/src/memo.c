/*
 * Per-run memos: one value per object and slot, kept with the run's index and freed with it,
 * for a cross-object rule whose work for an object is the same whichever object is being
 * checked (networkpolicy-blocks-ingress judges a workload by the union of every policy
 * selecting it, for each of those policies).
 *
 * Rules may run on several threads (k5_run_jobs), so the memo takes no lock: the table is
 * created on first use and published with a compare-and-swap, each value is copied into its
 * own allocation and published the same way. Two threads that judge the same object at once
 * both compute it; the first to publish wins, the other frees its copy. Both computed the
 * same value, so it does not matter which.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "k5_index.h"

typedef _Atomic(const void *) memo_cell;

struct k5__memo {
    size_t n; /* objects of the run */
    /* One array of n cells per slot, made on the slot's first put: a run pays only for the
     * slots its rules use. */
    _Atomic(memo_cell *) slot[K5__MEMO_SLOTS];
};

static k5__memo *memo_of(const k5_check *c, bool create)
{
    k5_index *idx = (k5_index *)k5_check_index(c);
    if (!idx->set) /* the empty index handed out when building failed: no memo */
        return NULL;
    k5__memo *m = atomic_load_explicit(&idx->memo, memory_order_acquire);
    if (m || !create)
        return m;
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n = k5_docset_object_count(idx->set);
    k5__memo *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&idx->memo, &seen, m, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(m);
        return seen;
    }
    return m;
}

static memo_cell *cells_of(k5__memo *m, k5__memo_slot slot, bool create)
{
    memo_cell *cells = atomic_load_explicit(&m->slot[slot], memory_order_acquire);
    if (cells || !create)
        return cells;
    if (m->n > SIZE_MAX / sizeof *cells)
        return NULL;
    cells = calloc(m->n ? m->n : 1, sizeof *cells);
    if (!cells)
        return NULL;
    memo_cell *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&m->slot[slot], &seen, cells,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        free(cells);
        return seen;
    }
    return cells;
}

const void *k5__memo_get(const k5_check *c, k5__memo_slot slot, const k5_object *o)
{
    k5__memo *m = memo_of(c, false);
    if (!m || o->index >= m->n || (unsigned)slot >= K5__MEMO_SLOTS)
        return NULL;
    memo_cell *cells = cells_of(m, slot, false);
    return cells ? atomic_load_explicit(&cells[o->index], memory_order_acquire) : NULL;
}

const void *k5__memo_put(const k5_check *c, k5__memo_slot slot, const k5_object *o,
                         const void *val, size_t n)
{
    k5__memo *m = memo_of(c, true);
    if (!m || o->index >= m->n || (unsigned)slot >= K5__MEMO_SLOTS)
        return val;
    memo_cell *cells = cells_of(m, slot, true);
    void *copy = cells ? malloc(n ? n : 1) : NULL;
    if (!copy)
        return val;
    memcpy(copy, val, n);
    const void *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&cells[o->index], &seen, copy,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        free(copy);
        return seen;
    }
    return copy;
}

void k5__memo_free(k5__memo *m)
{
    if (!m)
        return;
    for (size_t s = 0; s < K5__MEMO_SLOTS; s++) {
        memo_cell *cells = atomic_load_explicit(&m->slot[s], memory_order_relaxed);
        for (size_t i = 0; cells && i < m->n; i++)
            free((void *)atomic_load_explicit(&cells[i], memory_order_relaxed));
        free(cells);
    }
    free(m);
}

/* ---- copies: objects repeated word for word ---- */

/*
 * The same manifests linted many times in one run (renders of one chart, the same examples
 * concatenated, or written to n files) repeat objects that are equal in every respect a
 * rule reads but their file and place: kind, names, namespace and content. Whatever a
 * cross-object rule works out for one of them from its content and the index alone, it
 * works out for the others, so a rule that keeps a result per object (k5__memo) may keep it
 * per first copy and compute it once for all the copies. Results that depend on the
 * asker's file (a partner of its own file preferred) are kept apart from the file's part
 * (k5__workload_best_hpa keeps each file's best HPA; ingress-class-missing the files
 * IngressClasses come from), so copies in many files share them too.
 */

uint64_t k5__hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

uint64_t k5__node_hash(const k5_node *n, uint64_t h)
{
    if (!n)
        return k5__hash_mix(h, 1);
    h = k5__hash_mix(h, n->bits);
    size_t len = k5_node_len(n);
    if (k5_node_is_map(n) || k5_node_is_seq(n)) {
        size_t items = k5_node_is_map(n) ? 2 * len : len;
        for (size_t i = 0; i < items; i++)
            h = k5__node_hash(&n->u.items[i], h);
    } else if (len && n->u.str) {
        h = k5__hash_mix(h, k5__hash_key(n->u.str, len));
    }
    return h;
}

bool k5__node_same(const k5_node *a, const k5_node *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->bits != b->bits)
        return false;
    size_t len = k5_node_len(a);
    if (k5_node_is_map(a) || k5_node_is_seq(a)) {
        size_t items = k5_node_is_map(a) ? 2 * len : len;
        for (size_t i = 0; i < items; i++)
            if (!k5__node_same(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    }
    if (len == 0 || a->u.str == b->u.str)
        return true;
    return a->u.str && b->u.str && memcmp(a->u.str, b->u.str, len) == 0;
}

static bool str_same(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Equal in every respect a rule reads but the file: kind, names, namespace, content. */
static bool copies_of(const k5_object *a, const k5_object *b)
{
    return a->kind_id == b->kind_id && a->namespace_implicit == b->namespace_implicit &&
           str_same(a->kind, b->kind) && str_same(a->api_version, b->api_version) &&
           str_same(a->name, b->name) && str_same(a->namespace_, b->namespace_) &&
           str_same(a->source, b->source) && k5__node_same(a->root, b->root);
}

typedef struct named {
    const k5_object **o;
    size_t n, cap;
    bool failed;
} named;

static bool collect_named(const k5_object *o, void *ud)
{
    named *g = ud;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        const k5_object **p = realloc(g->o, cap * sizeof *p);
        if (!p) {
            g->failed = true;
            return false;
        }
        g->o = p;
        g->cap = cap;
    }
    g->o[g->n++] = o;
    return true;
}

typedef struct twin_of {
    const k5_object *copy; /* the first copy, of any file */
    bool copies;           /* o has another copy */
} twin_of;

/* Classes of equal objects among g's by an open-addressing table of cap slots (a power of 2
 * over twice the objects): class[i] is the first of i's class, size[] counts each class's
 * members. */
static void classify(const named *g, const uint64_t *hash, size_t cap, size_t *slot, size_t *class,
                     size_t *size)
{
    for (size_t i = 0; i < g->n; i++) {
        const k5_object *x = g->o[i];
        size_t at = (size_t)hash[i] & (cap - 1);
        class[i] = i;
        for (; slot[at]; at = (at + 1) & (cap - 1)) {
            size_t j = slot[at] - 1;
            if (hash[j] == hash[i] && copies_of(g->o[j], x)) {
                class[i] = j;
                break;
            }
        }
        if (!slot[at])
            slot[at] = i + 1;
        size[class[i]]++;
    }
}

const k5_object *k5__memo_copy(const k5_check *c, const k5_object *o, bool *copies)
{
    bool none;
    copies = copies ? copies : &none;
    *copies = false;
    if (!o->named || !o->root)
        return o;
    const k5_object *known;
    if (k5__check_twin_get(c, o, &known, copies))
        return known;
    const twin_of *kept = k5__memo_get(c, K5__MEMO_TWIN, o);
    if (kept) {
        *copies = kept->copies;
        return kept->copy;
    }
    /* Alone with its name: k5_index_each_named would find o only (the usual case). */
    if (k5__index_name_once(k5_check_index(c), o)) {
        k5__check_twin_put(c, o, o, false);
        return o;
    }
    /* The first ask for a name judges every object of that kind, namespace and name at once
     * (each is its own first copy or an earlier one's copy), so copies cost one pass, not one
     * each. A name defined once is its own, and nothing is kept for it. */
    named g = {NULL, 0, 0, false};
    k5_index_each_named(k5_check_index(c), o->namespace_, o->kind_id, o->name, collect_named, &g);
    const k5_object *copy = o;
    size_t cap = 16;
    while (cap < 2 * g.n)
        cap *= 2;
    uint64_t *hash = g.failed || g.n < 2 ? NULL : malloc(g.n * sizeof *hash);
    size_t *first = hash ? malloc(g.n * sizeof *first) : NULL; /* each one's class */
    size_t *size = first ? calloc(g.n, sizeof *size) : NULL;   /* by class: its members */
    size_t *slot = size ? calloc(cap, sizeof *slot) : NULL;    /* 1 + a class, or 0 */
    if (slot) {
        for (size_t i = 0; i < g.n; i++)
            hash[i] = k5__node_hash(g.o[i]->root, g.o[i]->kind_id);
        classify(&g, hash, cap, slot, first, size);
        for (size_t i = 0; i < g.n; i++) {
            twin_of t = {g.o[first[i]], size[first[i]] > 1};
            if (g.o[i] == o) {
                copy = t.copy;
                *copies = t.copies;
            }
            (void)k5__memo_put(c, K5__MEMO_TWIN, g.o[i], &t, sizeof t);
        }
    }
    /* Not when memory ran out: the next ask tries again, as before. */
    if (!g.failed && (g.n < 2 || slot))
        k5__check_twin_put(c, o, copy, *copies);
    free(slot);
    free(size);
    free(first);
    free(hash);
    free(g.o);
    return copy;
}
