/*
 * kube5xx engine: the Kubernetes object model.
 *
 * Every document (or List item) with an apiVersion and a kind becomes one
 * k5_object, owned by its docset. Strings are borrowed from the docset.
 */
#ifndef KUBE5XX_K5_OBJECT_H
#define KUBE5XX_K5_OBJECT_H

#include <stdint.h>

#include "k5_doc.h"

/* Kind flags (k5_kinds.def). */
#define K5_KF_BUILTIN 1u /* a kind of Kubernetes itself (not from a CRD) */
#define K5_KF_WEBHOOK 2u /* the webhook admits it */
#define K5_KF_CACHE 4u   /* read from a cluster: cached by the webhook, listed by audit */
#define K5_KF_AUDIT 8u   /* listed by `kube5xx audit` only (owned objects left out) */
#define K5_KF_CLUSTER_SCOPED 16u /* not namespaced */

/* Bit positions of the kinds, in table order; K5__KIND_BIT_OTHER comes last. */
enum {
#define K5_KIND(ident, name, resource, served, older, flags) K5__KIND_BIT_##ident,
#include "k5_kinds.def"
#undef K5_KIND
    K5__KIND_BIT_OTHER,
    K5__KIND_COUNT /* kinds in the table, plus "other" */
};

/*
 * Kinds the rules know, as bits of a 64-bit mask so that a rule or a lookup can name several:
 * one kind is one bit, a set of kinds is their OR (same type). C11 enumeration constants are
 * ints (31 usable bits), so the masks are macros: one line here per k5_kinds.def line, in the
 * same order (kinds.c builds the table from these names: a missing one does not compile).
 */
typedef uint64_t k5_kind;
#define K5_KIND_AT(bit) ((k5_kind)1 << (bit))
_Static_assert(K5__KIND_COUNT < 64, "the kind mask has 64 bits (K5_KINDS_ALL needs one more)");

#define K5_KIND_DEPLOYMENT K5_KIND_AT(K5__KIND_BIT_DEPLOYMENT)
#define K5_KIND_STATEFULSET K5_KIND_AT(K5__KIND_BIT_STATEFULSET)
#define K5_KIND_DAEMONSET K5_KIND_AT(K5__KIND_BIT_DAEMONSET)
#define K5_KIND_REPLICASET K5_KIND_AT(K5__KIND_BIT_REPLICASET)
#define K5_KIND_REPLICATIONCONTROLLER K5_KIND_AT(K5__KIND_BIT_REPLICATIONCONTROLLER)
#define K5_KIND_POD K5_KIND_AT(K5__KIND_BIT_POD)
#define K5_KIND_JOB K5_KIND_AT(K5__KIND_BIT_JOB)
#define K5_KIND_CRONJOB K5_KIND_AT(K5__KIND_BIT_CRONJOB)
#define K5_KIND_SERVICE K5_KIND_AT(K5__KIND_BIT_SERVICE)
#define K5_KIND_INGRESS K5_KIND_AT(K5__KIND_BIT_INGRESS)
#define K5_KIND_PDB K5_KIND_AT(K5__KIND_BIT_PDB)
#define K5_KIND_HPA K5_KIND_AT(K5__KIND_BIT_HPA)
#define K5_KIND_NETWORKPOLICY K5_KIND_AT(K5__KIND_BIT_NETWORKPOLICY)
#define K5_KIND_INGRESSCLASS K5_KIND_AT(K5__KIND_BIT_INGRESSCLASS)
#define K5_KIND_NAMESPACE K5_KIND_AT(K5__KIND_BIT_NAMESPACE)
#define K5_KIND_GATEWAY K5_KIND_AT(K5__KIND_BIT_GATEWAY)
#define K5_KIND_HTTPROUTE K5_KIND_AT(K5__KIND_BIT_HTTPROUTE)
#define K5_KIND_GRPCROUTE K5_KIND_AT(K5__KIND_BIT_GRPCROUTE)
#define K5_KIND_REFERENCEGRANT K5_KIND_AT(K5__KIND_BIT_REFERENCEGRANT)
#define K5_KIND_VIRTUALSERVICE K5_KIND_AT(K5__KIND_BIT_VIRTUALSERVICE)
#define K5_KIND_DESTINATIONRULE K5_KIND_AT(K5__KIND_BIT_DESTINATIONRULE)
#define K5_KIND_BACKENDCONFIG K5_KIND_AT(K5__KIND_BIT_BACKENDCONFIG)
#define K5_KIND_OTHER K5_KIND_AT(K5__KIND_BIT_OTHER)

/* The bit position of the lowest kind in a mask (K5__KIND_BIT_*), -1 for none. */
int k5_kind_bit(k5_kind kinds);

/* One line of the kind table. */
typedef struct k5_kind_info {
    k5_kind kind;
    const char *name;     /* "Deployment" */
    const char *resource; /* "deployments" */
    const char *served;   /* apiVersions served today, space-separated, preferred first */
    const char *older;    /* apiVersions once served, space-separated ("" for none) */
    unsigned flags;       /* K5_KF_* */
} k5_kind_info;

/* Number of kinds in the table (without "other"). */
size_t k5_kind_count(void);
/* The i-th kind of the table (i < k5_kind_count()), else NULL. */
const k5_kind_info *k5_kind_at(size_t i);
/* The table line of one kind bit, or NULL (K5_KIND_OTHER, several bits, 0). */
const k5_kind_info *k5_kind_info_of(k5_kind kind);
/*
 * The i-th apiVersion of ki->served (0: the preferred one), split into its group ("" for the
 * core group) and version; false past the last. The strings point into the table.
 */
bool k5_kind_served_at(const k5_kind_info *ki, size_t i, k5_str *group, k5_str *version);

/* Every kind, "other" (unknown kinds and custom resources) included. */
#define K5_KINDS_ALL (K5_KIND_AT(K5__KIND_COUNT) - 1u)

/* Workloads that serve traffic: probe, preStop and replica rules apply to these. */
#define K5_KINDS_SERVING                                                                          \
    (K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_DAEMONSET | K5_KIND_REPLICASET |          \
     K5_KIND_REPLICATIONCONTROLLER | K5_KIND_POD)
/* Cluster-scoped kinds of the table: the index finds them by name alone. */
#define K5_KINDS_CLUSTER (K5_KIND_NAMESPACE | K5_KIND_INGRESSCLASS)
/* Everything with a pod template (serving workloads plus Job and CronJob). */
#define K5_KINDS_WORKLOAD (K5_KINDS_SERVING | K5_KIND_JOB | K5_KIND_CRONJOB)

typedef struct k5_object {
    const k5_node *root;
    k5_str api_version;
    k5_str kind;
    k5_str name;      /* metadata.name, or metadata.generateName, or "" */
    k5_str namespace_; /* metadata.namespace, else a kustomization's, else the docset's default */
    /* True when neither metadata.namespace nor a kustomization names it: the object lands in
     * whatever namespace it is applied to (`kubectl apply -n`), so an absence across
     * namespaces is not certain. */
    bool namespace_implicit;
    /* metadata.name is a non-empty string (not generateName): the object's identity, by which
     * the loader notices duplicates. */
    bool named;
    k5_kind kind_id;
    const k5_node *metadata;
    const k5_node *labels;      /* metadata.labels (a map) or NULL */
    const k5_node *annotations; /* metadata.annotations (a map) or NULL */
    /* Workloads only (NULL otherwise): the pod template's metadata and spec. */
    const k5_node *pod_metadata;
    const k5_node *pod_labels;
    const k5_node *pod_annotations;
    const k5_node *pod_spec;
    size_t file;   /* index of its file in the docset */
    k5_str source; /* Helm "# Source: chart/templates/x.yaml", or {NULL, 0} */
    size_t index;  /* position in the docset */
} k5_object;

/*
 * Maps kind + apiVersion to a k5_kind: the kind's name and the group of one of
 * its served or older apiVersions (any version of that group, so an object
 * under a mistyped version is still judged). K5_KIND_OTHER for everything else.
 */
k5_kind k5_kind_from(k5_str api_version, k5_str kind);

/*
 * True when the API server cannot serve this kind under this apiVersion: the
 * kind is a built-in of the table, the apiVersion's group is a Kubernetes
 * group (no dot, or ending in ".k8s.io"; a CRD group always has a dot), and
 * the apiVersion is neither served nor an older one of the kind. CRD groups
 * and unknown kinds are never impossible. `expected` receives the kind's
 * served apiVersions when true.
 */
bool k5_kind_api_version_impossible(k5_str api_version, k5_str kind, const char **expected);

#endif
