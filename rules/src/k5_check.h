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

/*
 * The same, at most at severity `max`: for a finding the rule cannot be sure of
 * (an undeclared port number, an absence while some input failed to load). A
 * rule turned down further by the config stays down.
 */
K5_WUR k5_status k5_check_report_capped(k5_check *c, k5_severity max, const k5_node *at,
                                        const char *missing, const char *fmt, ...)
    K5_PRINTF(5, 6);

/*
 * True when some input file failed to load: its objects are missing, so a rule
 * that reports an absence ("selects nothing", "no such Service") may be blaming
 * the wrong file. Such findings say so, and are reported at most as warnings when a
 * failed file mentions what they look for (k5_check_failed_input_mentions).
 */
bool k5_check_inputs_failed(const k5_check *c);

/*
 * True when the text of some input file that failed to load contains every one of the
 * words (a selector's values, a Service's name): the object an absence rule looks for
 * may be in it.
 */
bool k5_check_failed_input_mentions(const k5_check *c, const k5_str *words, size_t n);

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

/*
 * Calls fn for every workload of the given kinds OUTSIDE namespace ns whose pod template
 * labels match the selector, in input order (for "it lives in another namespace" messages).
 */
void k5_index_select_elsewhere(const k5_index *idx, k5_str ns, const k5_node *selector,
                               k5_selector_type type, unsigned kinds, k5_visit_fn fn, void *ud);
/*
 * Calls fn for every object of the given kinds named `name` (and of Kind `kind` unless
 * kind.n is 0) outside namespace ns, in input order.
 */
void k5_index_find_elsewhere(const k5_index *idx, k5_str ns, unsigned kinds, k5_str kind,
                             k5_str name, k5_visit_fn fn, void *ud);

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
 * "Serving" (the one definition every rule uses; see rules/src/serving.c and
 * docs/rules.md): whether a workload receives traffic, and which of its
 * spec.containers do.
 */
typedef struct k5_serving {
    bool serving;                    /* the workload receives traffic */
    bool by_service;                 /* ... through a Service of the input */
    size_t services;                 /* Services of the input selecting its pods */
    const k5_object *first_service;  /* the first of them in input order, or NULL */
    uint64_t mask;                   /* bit i: spec.containers[i] receives traffic */
} k5_serving;

void k5_serving_of(const k5_check *c, const k5_object *obj, k5_serving *out);
/* True when `container` (an item of obj's spec.containers) receives traffic. */
bool k5_serving_has(const k5_serving *s, const k5_object *obj, const k5_node *container);

/* k5_serving_of then k5_serving_has, for one container. */
bool k5_container_serving(const k5_check *c, const k5_object *obj, const k5_node *container);

/*
 * Writes the names of the Services of the input selecting obj's pods as
 * `"web", "web-headless"` into buf; returns how many were written.
 */
size_t k5_services_describe(const k5_check *c, const k5_object *obj, char *buf, size_t size);

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
