/*
 * kube5xx engine, internal: the index's layout, built once per run.
 */
#ifndef KUBE5XX_K5_INDEX_H
#define KUBE5XX_K5_INDEX_H

#include <pthread.h>
#include <stdatomic.h>

#include "k5_check.h"
#include "k5_internal.h"

typedef struct k5__lb_cache k5__lb_cache;

struct k5_index {
    const k5_docset *set;
    k5__arena arena;
    k5__arena arena_names; /* the keys of the maps add_names builds (index.c): by_ns_kind,
                            * by_name, by_cluster, of_kind, pod_labels and pod_keys */
    k5__hmap by_ns_kind; /* ns, kind            -> objects */
    k5__hmap by_name;    /* ns, kind, name      -> objects */
    k5__hmap pod_labels; /* ns, key, value      -> workloads whose pod template has that label */
    k5__hmap sel_svc;    /* ns, key, value      -> Services whose selector's first pair it is */
    k5__hmap svc_class;  /* a Service's namespace and selector -> its group (svc_groups) */
    k5__hmap sel_svc_rep; /* ns, key, value     -> as sel_svc, the first Service of each group */
    k5__vec svc_groups;  /* k5__svc_group */
    uint32_t *svc_group_of; /* by object index: 1 + the group of that Service, or 0 */
    /* By object index: 1 when by_name's entry for its namespace, kind and name holds it alone
     * (k5__index_name_once), from one pass over by_name's slots in their order. */
    uint8_t *name_once;
    k5__hmap svc_target; /* group id, target    -> present: a traffic target of the group */
    k5__hmap svc_sel;    /* group id, port      -> present: declared by a selected workload */
    k5__hmap pod_keys;   /* ns, key             -> workloads whose pod template has that key */
    k5__hmap sel_pdb;    /* ns, key, value      -> PDBs whose matchLabels' first pair it is, or
                          *                        without matchLabels, each value of their first
                          *                        `In` expression */
    k5__hmap sel_pdb_key; /* ns, key            -> PDBs with neither, by their first `Exists` key */
    k5__hmap pdb_scan;   /* ns                  -> PDBs with none of these (NotIn and
                          *                        DoesNotExist only, or empty): checked one by one */
    k5__hmap hpa_target; /* ns, Kind, name      -> HPAs scaling that workload */
    k5__hmap mesh_dr;    /* ns, name            -> DestinationRules whose host is that Service */
    k5__hmap mesh_se;    /* host as written; ns, name, "svc"; "*" (wildcards) -> ServiceEntries */
    k5__hmap by_cluster; /* kind, name          -> cluster-scoped objects (K5_KINDS_CLUSTER) */
    /* NetworkPolicies by spec.podSelector, as PDBs by their selector (same three maps). */
    k5__hmap sel_np, sel_np_key, np_scan;
    k5__hmap svc_users;  /* ns, Service name    -> Ingresses and routes with a backend on it */
    k5__hmap of_kind;    /* kind                -> objects of any namespace */
    bool files_ordered;  /* objects come file by file, in file order (k5_index_has_in_file) */
    _Atomic bool any_built; /* the two below, built on first use (index.c, build_any), */
    pthread_mutex_t any_lock; /* under this lock: rules may run on several threads */
    k5__hmap name_any;   /* name                -> objects of that name, in every namespace */
    k5__hmap label_any;  /* key, value          -> workloads whose pod template has that label,
                          *                        in every namespace */
    k5__hmap key_any;    /* key                 -> workloads whose pod template has that label
                          *                        key, in every namespace */
    /* Selectors of NotIn and DoesNotExist alone, without a scan (index.c, build_neg): built on
     * first use, under any_lock. Positions in a list (a namespace's objects of one kind, every
     * workload, a namespace's PDBs or NetworkPolicies to scan) that such a selector's first
     * expression certainly excludes, so a search skips them by counting. */
    _Atomic bool neg_built;
    bool neg_ok;         /* false: a label or key too long to key exactly; searches scan */
    k5__hmap neg;        /* group, 'V', key, value / group, 'K', key / group, 'S' -> positions */
    uint32_t *wl_all;    /* every workload, in input order (the group "every workload") */
    size_t nwl_all;
    _Atomic(k5__memo *) memo; /* the run's rule memos (memo.c), created on first use */
    _Atomic(k5__lb_cache *) lb; /* the lb-* rules' shared walks (lb.c), created on first use */
};

/* True when o is the only object of its namespace, kind and name (k5_index_each_named would
 * visit o alone); false when it is not, or when that is not known. */
bool k5__index_name_once(const k5_index *idx, const k5_object *o);
/* Frees the run's memos (NULL is fine): k5__index_free's. */
void k5__memo_free(k5__memo *m);
/* Frees the lb-* rules' shared walks (NULL is fine): k5__index_free's. */
void k5__lb_cache_free(k5__lb_cache *x);

/*
 * Builds the index of every object of set into *out (freed with k5__index_free). With jobs > 1
 * and enough objects, a second thread builds the maps by namespace, kind and name while this
 * one builds the rest; the index is the same either way. Returns K5_ENOMEM (nothing built).
 */
k5_status k5__index_build(k5_index **out, const k5_docset *set, unsigned jobs);

/*
 * Services that select the workload, one group at a time: Services of one namespace with the
 * same selector select the same pods, so "serving" visits each group once, with its size and
 * the set of distinct traffic targets of all its members' ports (k5__svc_port_target), looked
 * up by the workload's declared ports: N Services sharing one selector over N workloads cost
 * N, with one port list or N different ones.
 */
#define K5__SELECTION_FIRST 8u

typedef struct k5__svc_group {
    uint32_t id;
    uint32_t first;    /* object index of its first Service in input order */
    uint32_t members;  /* Services in the group */
    uint32_t ntargets; /* distinct traffic targets of their ports ('x' ones included) */
    /* A group of several Services: what its selector selects, summed up once (index.c,
     * summarize) for service-target-port-mismatch, which would otherwise visit every selected
     * workload for each member whose port none declares. */
    bool summarized;
    bool noports;      /* a selected workload declares no port in its running containers */
    uint32_t selected; /* serving workloads selected */
    const k5_object *sel_first[K5__SELECTION_FIRST]; /* the first of them, in visit order */
} k5__svc_group;

typedef bool (*k5__group_fn)(const k5__svc_group *g, void *ud);
void k5__index_service_groups_for(const k5_index *idx, const k5_object *w, k5__group_fn fn,
                                  void *ud);
/* Whether the group has the target ('s' and a port name, or 'i' and a number). */
bool k5__index_group_has(const k5_index *idx, const k5__svc_group *g, char type, k5_str text);
bool k5__index_group_has_port(const k5_index *idx, const k5__svc_group *g, int64_t port);
void k5__index_free(k5_index **idx);

#endif
