/*
 * kube5xx engine, internal: the index's layout, built once per run.
 */
#ifndef KUBE5XX_K5_INDEX_H
#define KUBE5XX_K5_INDEX_H

#include "k5_check.h"
#include "k5_internal.h"

struct k5_index {
    const k5_docset *set;
    k5__arena arena;
    k5__hmap by_ns_kind; /* ns, kind            -> objects */
    k5__hmap by_name;    /* ns, kind, name      -> objects */
    k5__hmap pod_labels; /* ns, key, value      -> workloads whose pod template has that label */
    k5__hmap sel_svc;    /* ns, key, value      -> Services whose selector's first pair it is */
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
};

k5_status k5__index_build(k5_index **out, const k5_docset *set);
void k5__index_free(k5_index **idx);

#endif
