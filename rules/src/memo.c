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

#include "k5_index.h"

struct k5__memo {
    size_t n;                     /* objects of the run */
    _Atomic(const void *) slot[]; /* n x K5__MEMO_SLOTS */
};

static k5__memo *memo_of(const k5_check *c, bool create)
{
    k5_index *idx = (k5_index *)k5_check_index(c);
    if (!idx->set) /* the empty index handed out when building failed: no memo */
        return NULL;
    k5__memo *m = atomic_load_explicit(&idx->memo, memory_order_acquire);
    if (m || !create)
        return m;
    size_t n = k5_docset_object_count(idx->set);
    if (n > (SIZE_MAX - sizeof *m) / K5__MEMO_SLOTS / sizeof m->slot[0])
        return NULL;
    m = calloc(1, sizeof *m + n * K5__MEMO_SLOTS * sizeof m->slot[0]);
    if (!m)
        return NULL;
    m->n = n;
    k5__memo *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&idx->memo, &seen, m, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(m);
        return seen;
    }
    return m;
}

const void *k5__memo_get(const k5_check *c, k5__memo_slot slot, const k5_object *o)
{
    k5__memo *m = memo_of(c, false);
    if (!m || o->index >= m->n || (unsigned)slot >= K5__MEMO_SLOTS)
        return NULL;
    return atomic_load_explicit(&m->slot[o->index * K5__MEMO_SLOTS + slot], memory_order_acquire);
}

const void *k5__memo_put(const k5_check *c, k5__memo_slot slot, const k5_object *o,
                         const void *val, size_t n)
{
    k5__memo *m = memo_of(c, true);
    if (!m || o->index >= m->n || (unsigned)slot >= K5__MEMO_SLOTS)
        return val;
    void *copy = malloc(n ? n : 1);
    if (!copy)
        return val;
    memcpy(copy, val, n);
    const void *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&m->slot[o->index * K5__MEMO_SLOTS + slot], &seen,
                                                 copy, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(copy);
        return seen;
    }
    return copy;
}

void k5__memo_free(k5__memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n * K5__MEMO_SLOTS; i++)
        free((void *)atomic_load_explicit(&m->slot[i], memory_order_relaxed));
    free(m);
}
