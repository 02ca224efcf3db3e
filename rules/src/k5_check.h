/*
 * kube5xx engine, internal: what a rule's check function may use.
 *
 * A check reads the object it is given (and, through the index, any other
 * object of the input), and reports findings against nodes of the object it
 * was given. It never allocates, never does I/O, never formats output and
 * never looks at suppression or severity: the engine does those once.
 */
#ifndef KUBE5XX_K5_CHECK_H
#define KUBE5XX_K5_CHECK_H

#include <stdio.h>
#include <string.h>

#include <kube5xx/kube5xx.h>

typedef struct k5_check k5_check;
typedef struct k5_index k5_index;

/*
 * Reports a finding on the object being checked. `at` is the most specific
 * node: the offending value where it exists, else the enclosing entry (the
 * container's list item) with `missing` naming the absent field
 * ("readinessProbe", or "lifecycle.preStop"); `missing` is NULL otherwise. The
 * engine derives the field path and position from `at`. The message names the
 * concrete values judged. Returns K5_ENOMEM only.
 */
K5_WUR k5_status k5_check_report(k5_check *c, const k5_node *at, const char *missing,
                                 const char *fmt, ...) K5_PRINTF(4, 5);

/* Effective value of the rule's i-th parameter (units: see k5_param_type). */
int64_t k5_check_param(const k5_check *c, size_t i);

/* The index of all input objects (one object alone in the webhook). */
const k5_index *k5_check_index(const k5_check *c);

/* ---- index (built once per run) ---- */

/* Return false to stop the walk. */
typedef bool (*k5_visit_fn)(const k5_object *o, void *ud);

/* Number of objects of the given kinds in namespace ns. */
size_t k5_index_count(const k5_index *idx, k5_str ns, unsigned kinds);
/* Calls fn for every object of the given kinds in namespace ns, in input order. */
void k5_index_each(const k5_index *idx, k5_str ns, unsigned kinds, k5_visit_fn fn, void *ud);
/* The object of that kind and name in ns, or NULL. */
const k5_object *k5_index_find(const k5_index *idx, k5_str ns, unsigned kinds, k5_str name);

typedef enum k5_selector_type {
    K5_SELECTOR_MAP = 0,  /* a Service/RC selector: a plain map of labels */
    K5_SELECTOR_LABEL = 1 /* a LabelSelector: matchLabels and matchExpressions */
} k5_selector_type;

/*
 * Calls fn for every workload (kinds within K5_KINDS_WORKLOAD) in ns whose pod
 * template labels match the selector. A NULL or empty MAP selector matches
 * nothing; an empty LabelSelector ({}) matches everything, as in Kubernetes.
 */
void k5_index_select(const k5_index *idx, k5_str ns, const k5_node *selector,
                     k5_selector_type type, unsigned kinds, k5_visit_fn fn, void *ud);

/* Calls fn for every Service in the workload's namespace whose selector matches its pod labels. */
void k5_index_services_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn,
                           void *ud);
/* Calls fn for every PDB in the workload's namespace whose selector matches its pod labels. */
void k5_index_pdbs_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn, void *ud);
/* Calls fn for every HPA in the workload's namespace whose scaleTargetRef names it. */
void k5_index_hpas_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn, void *ud);

/* ---- selectors and pod helpers ---- */

/* True when labels (a map, may be NULL) match the selector. */
bool k5_selector_matches(const k5_node *selector, k5_selector_type type, const k5_node *labels);

/*
 * True when the container of a serving workload serves traffic: it declares a
 * TCP containerPort, or the pod template is selected by a Service in the
 * input. Only for items of spec.containers (init containers never serve). A bare Pod that
 * runs to completion (restartPolicy Never or OnFailure) never serves.
 */
bool k5_container_serving(const k5_check *c, const k5_object *obj, const k5_node *container);

/* True when the workload's pod template is selected by at least one Service of the input. */
bool k5_workload_has_service(const k5_check *c, const k5_object *obj);

/* The container's name ("" when absent). */
k5_str k5_container_name(const k5_node *container);

/*
 * Writes the container's declared ports as `8080/TCP "http", 9090/TCP` into
 * buf ("none" when it declares none).
 */
void k5_ports_describe(const k5_node *container, char *buf, size_t size);

/* spec.replicas of a Deployment/StatefulSet/ReplicaSet/RC, with the Kubernetes default 1. */
int64_t k5_workload_replicas(const k5_object *obj);

#endif
