/*
 * kube5xx engine, internal: the index's layout, built once per run.
 */
#ifndef KUBE5XX_K5_INDEX_H
#define KUBE5XX_K5_INDEX_H

#include <pthread.h>
#include <stdatomic.h>

#include "k5_check.h"
#include "k5_internal.h"

struct k5_index {
    const k5_docset *set;
    k5__arena arena;
    k5__hmap by_ns_kind; /* ns, kind            -> objects */
    k5__hmap by_name;    /* ns, kind, name      -> objects */
    k5__hmap pod_labels; /* ns, key, value      -> workloads whose pod template has that label */
    k5__hmap sel_svc;    /* ns, key, value      -> Services whose selector's first pair it is */
    k5__hmap svc_class;  /* a Service's namespace, selector and ports -> the first such Service */
    k5__hmap sel_svc_rep; /* ns, key, value     -> as sel_svc, the first Service of each class */
    uint32_t *svc_class_n; /* by object index: the Services of the class it is the first of */
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
    _Atomic bool any_built; /* the two below, built on first use (index.c, build_any), */
    pthread_mutex_t any_lock; /* under this lock: rules may run on several threads */
    k5__hmap name_any;   /* name                -> objects of that name, in every namespace */
    k5__hmap label_any;  /* key, value          -> workloads whose pod template has that label,
                          *                        in every namespace */
};

k5_status k5__index_build(k5_index **out, const k5_docset *set);

/*
 * Services that select the workload, one per class: Services of one namespace with the same
 * selector and the same ports (name, port, targetPort) look the same to every workload, so
 * "serving" visits each class once, with its size: N Services sharing one selector over N
 * workloads cost N, not N^2. fn gets the first Service of the class in input order.
 */
typedef bool (*k5__class_fn)(const k5_object *svc, size_t members, void *ud);
void k5__index_service_classes_for(const k5_index *idx, const k5_object *workload,
                                   k5__class_fn fn, void *ud);
void k5__index_free(k5_index **idx);

#endif
