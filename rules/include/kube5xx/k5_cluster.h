/*
 * kube5xx engine: a cache of a cluster's objects, and the objects around one
 * object ("partners") for judging it with the cross-object rules.
 *
 * The webhook keeps one k5_cluster fed from list+watch. A review then puts the
 * reviewed object in a docset first, asks the cluster for its partners (the
 * Services, PDBs and HPAs that select or target a workload, the workloads a
 * Service or PDB selects, an Ingress's backend Services, and the objects those
 * need to be judged in turn), adds them to the docset without copying, and
 * runs the rules with K5_RUN_PARTNERS_CROSS_ONLY: the first object gets every
 * rule, partners only the cross-object ones.
 *
 * What is cached is what the rules read, nothing else (see cluster.c's
 * project_* functions): name, namespace and "kube5xx/..." annotations; for
 * workloads replicas, the pod template's labels and its containers' names,
 * ports and port-like command/args; for Services type, selector and ports;
 * for Ingresses the backends; PDBs' spec; HPAs' target and replica bounds.
 * managedFields, status and every other annotation are dropped. Kinds without
 * a projection of their own (NetworkPolicy, IngressClass, Namespace, Gateway
 * API kinds...: the table's other K5_KF_CACHE kinds) keep labels, annotations
 * under 256 bytes but last-applied-configuration, and the whole spec.
 *
 * Indexes (by name, pod labels, selectors, HPA targets, Ingress backends) are
 * updated by every put and remove, never rebuilt. A k5_cluster is not
 * thread-safe: the caller serialises writers against readers (the webhook
 * holds a read lock from k5_cluster_partners until the review's docset is
 * freed, because partners are borrowed).
 */
#ifndef KUBE5XX_K5_CLUSTER_H
#define KUBE5XX_K5_CLUSTER_H

#include "k5_config.h"
#include "k5_doc.h"
#include "k5_object.h"

struct cJSON;

/* The kinds a cluster caches: the ones the cross-object rules read (K5_KF_CACHE in the table). */
extern const k5_kind k5__cluster_kinds;
#define K5_CLUSTER_KINDS k5__cluster_kinds
/* Of those, the ones the partner search knows by their references (selectors, backends,
 * targets); the others are handed to a review as context: those of its namespace, the
 * Namespace itself, and the cluster-scoped ones. */
#define K5_CLUSTER_KINDS_LINKED                                                                  \
    (K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_DAEMONSET | K5_KIND_SERVICE |             \
     K5_KIND_INGRESS | K5_KIND_PDB | K5_KIND_HPA)
#define K5_CLUSTER_MAX_CONTEXT 32u /* context objects of one kind given to one review */

/* Named limits. */
#define K5_CLUSTER_MAX_OBJECT_BYTES (64u * 1024u) /* one cached object, after trimming */
#define K5_CLUSTER_MAX_PARTNERS 256u              /* partners of one review (then truncated) */

typedef struct k5_cluster k5_cluster;

/* An empty cluster. The caller frees it with k5_cluster_free. On failure *out is untouched. */
K5_WUR k5_status k5_cluster_new(k5_cluster **out);
/* Frees the cluster and every cached object. Accepts NULL; sets *cl to NULL. */
void k5_cluster_free(k5_cluster **cl);

/*
 * Caches a trimmed copy of one object (a cJSON tree as the API server sends
 * it; borrowed), replacing the cached object of the same kind, namespace and
 * name, and clears its stale mark. K5_EINVAL (err says why) when it is not a
 * cached kind or has no name or namespace; K5_ELIMIT past
 * K5_CLUSTER_MAX_OBJECT_BYTES. On failure the cluster is unchanged.
 */
K5_WUR k5_status k5_cluster_put(k5_cluster *cl, const struct cJSON *obj, k5_error *err);

/* Removes the cached object of obj's kind, namespace and name; K5_ENOTFOUND when none. */
k5_status k5_cluster_remove(k5_cluster *cl, const struct cJSON *obj);

/*
 * A relist: k5_cluster_mark marks every cached object of the kinds stale, the
 * relisted objects are put (which clears the mark), and k5_cluster_sweep
 * removes what is still stale and returns how many it removed.
 */
void k5_cluster_mark(k5_cluster *cl, k5_kind kinds);
size_t k5_cluster_sweep(k5_cluster *cl, k5_kind kinds);

/* Cached objects of the given kinds. */
size_t k5_cluster_count(const k5_cluster *cl, k5_kind kinds);
/* Bytes held: the trimmed objects, their bookkeeping and the indexes. */
size_t k5_cluster_bytes(const k5_cluster *cl);

/* The partners of one review: cached objects, borrowed from the cluster. */
typedef struct k5_partners k5_partners;

/*
 * Collects the partners of `subjects` (objects of a docset: the reviewed
 * object, and for an UPDATE its old version too, so that a partner the update
 * stops selecting is still judged). Cached objects with the kind, namespace
 * and name of a subject are left out: the subject replaces its cached copy.
 * The list borrows from `cl`, which must not change until the list and every
 * docset it was added to are freed. `cfg` is the config the review is judged
 * under (borrowed; NULL: the defaults): it says which rule parameters name
 * objects to fetch, such as networkpolicy-blocks-ingress's
 * controller-namespaces, whose Namespace objects come along. On failure *out
 * is untouched.
 */
K5_WUR k5_status k5_cluster_partners(const k5_cluster *cl, const k5_config *cfg,
                                     const k5_object *const *subjects, size_t nsubjects,
                                     k5_partners **out);
size_t k5_partners_count(const k5_partners *p);
/* True when more than K5_CLUSTER_MAX_PARTNERS were found (the rest were left out). */
bool k5_partners_truncated(const k5_partners *p);
/* Accepts NULL; sets *p to NULL. */
void k5_partners_free(k5_partners **p);

/*
 * Adds the partners to `set` as objects of a file named "cluster" (no
 * positions), after the objects already there. Nodes are borrowed, not copied.
 */
K5_WUR k5_status k5_docset_add_partners(k5_docset *set, const k5_partners *p);

#endif
