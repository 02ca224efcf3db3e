/*
 * kube5xx engine: the Kubernetes object model.
 *
 * Every document (or List item) with an apiVersion and a kind becomes one
 * k5_object, owned by its docset. Strings are borrowed from the docset.
 */
#ifndef KUBE5XX_K5_OBJECT_H
#define KUBE5XX_K5_OBJECT_H

#include "k5_doc.h"

/* Kinds the rules know, as bits so a rule can name several. */
typedef enum k5_kind {
    K5_KIND_DEPLOYMENT = 1u << 0,
    K5_KIND_STATEFULSET = 1u << 1,
    K5_KIND_DAEMONSET = 1u << 2,
    K5_KIND_REPLICASET = 1u << 3,
    K5_KIND_REPLICATIONCONTROLLER = 1u << 4,
    K5_KIND_POD = 1u << 5,
    K5_KIND_JOB = 1u << 6,
    K5_KIND_CRONJOB = 1u << 7,
    K5_KIND_SERVICE = 1u << 8,
    K5_KIND_INGRESS = 1u << 9,
    K5_KIND_PDB = 1u << 10,
    K5_KIND_HPA = 1u << 11,
    K5_KIND_OTHER = 1u << 12
} k5_kind;

/* Workloads that serve traffic: probe, preStop and replica rules apply to these. */
#define K5_KINDS_SERVING                                                                          \
    (K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_DAEMONSET | K5_KIND_REPLICASET |          \
     K5_KIND_REPLICATIONCONTROLLER | K5_KIND_POD)
/* Everything with a pod template (serving workloads plus Job and CronJob). */
#define K5_KINDS_WORKLOAD (K5_KINDS_SERVING | K5_KIND_JOB | K5_KIND_CRONJOB)

typedef struct k5_object {
    const k5_node *root;
    k5_str api_version;
    k5_str kind;
    k5_str name;      /* metadata.name, or metadata.generateName, or "" */
    k5_str namespace_; /* metadata.namespace, else the docset's default */
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

/* Maps kind + apiVersion to a k5_kind (K5_KIND_OTHER for everything else). */
k5_kind k5_kind_from(k5_str api_version, k5_str kind);

#endif
