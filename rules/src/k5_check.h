/*
 * kube5xx engine, internal: what a rule's check function may use.
 *
 * A check reads the object it is given (and, through the index, any other
 * object of the input), and reports findings against nodes of the object it
 * was given. It never allocates, never does I/O, never formats output and
 * never looks at suppression or severity: the engine does those once.
 *
 * This is the one header of everything a rule may call: the engine's check
 * API (k5_check_*, k5_index_*, k5_selector_matches) and the shared helpers
 * (k5__*, implemented in check_pod.c, check_workload.c and serving.c). A
 * helper two rules need goes here, not into a check file or a second header.
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
 * True when the object being checked already has K5_MAX_FINDINGS_PER_OBJECT findings: no
 * rule can add another to it (k5_check_report drops them, and nothing counts the dropped), so
 * a walk whose only effect is reporting may stop.
 */
bool k5_check_object_full(const k5_check *c);

/*
 * True when `o` comes from a live cluster (the webhook's cache: k5_docset_add_partners), not
 * from a file. The cluster's objects of a kind are all of them, where a file's may be a few
 * independent examples: a rule that judges only "when they come with the object" may count
 * these as coming with it.
 */
bool k5_check_from_cluster(const k5_check *c, const k5_object *o);

/*
 * The same, for a finding that reports a missing partner object (no ReferenceGrant allows
 * it) in a rule that also reports contradictions: the finding is marked absent, so the
 * webhook only warns about it (the partner may come later in the same `kubectl apply`).
 * A rule whose every finding is an absence is listed in wh_admission.c instead.
 */
K5_WUR k5_status k5_check_report_absence(k5_check *c, k5_severity max, const k5_node *at,
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

/*
 * Where a finding about the field at `path` (dotted, below `from`:
 * "spec.minReplicas", "lifecycle.preStop") is reported: the value itself when
 * it is set, else the deepest map on the way that exists, with *missing (may
 * be NULL) pointing into `path` at the first absent segment ("minReplicas").
 * *missing is NULL when the value is set. A null value counts as absent.
 */
const k5_node *k5__path_at(const k5_node *from, const char *path, const char **missing);

/* k5_check_report at k5__path_at(from, path): the value, or its deepest parent naming the rest. */
K5_WUR k5_status k5__report_at_path(k5_check *c, const k5_node *from, const char *path,
                                    const char *fmt, ...) K5_PRINTF(4, 5);

/* Effective value of the rule's i-th parameter (units: see k5_param_type). */
int64_t k5_check_param(const k5_check *c, size_t i);
/* The rule's i-th parameter of type NAMES ("a, b": walk it with k5_names_next); else NULL. */
const char *k5_check_param_names(const k5_check *c, size_t i);

/*
 * Effective value of another rule's i-th parameter, for a rule of the same family that
 * shares its threshold (route-timeout-too-short judges with ingress-timeout-too-short's
 * read-timeout), so that one line of config sets both. Name the owner's descriptor
 * (declare `extern const k5_rule k5__rule_<ident>;`) and say so in the rule's docs.
 */
int64_t k5_check_param_of(const k5_check *c, const k5_rule *owner, size_t i);
/* The same for a NAMES parameter ("a, b"); NULL when it is not one. */
const char *k5_check_param_names_of(const k5_check *c, const k5_rule *owner, size_t i);

/* The index of all input objects (one object alone in the webhook). */
const k5_index *k5_check_index(const k5_check *c);

/*
 * True when the object is the only one of the run (the webhook without its
 * cluster cache): no other object can select, target or overlap it, so a
 * check may skip building the index just to find nothing.
 */
bool k5_check_alone(const k5_check *c);

/*
 * snprintf for the rules' texts (run.c): what snprintf(out, cap, fmt, ...) writes and returns,
 * byte for byte. %s, %.*s, %lld, %zu and %% are formatted without glibc's printf (a call of
 * which cost ~800 instructions: 8% of a lint of the 63 MiB JSON List went to a few snprintf
 * calls per workload); a format with anything else goes to vsnprintf.
 */
int k5__snprintf(char *out, size_t cap, const char *fmt, ...) K5_PRINTF(3, 4);

/*
 * ---- per-run memos (memo.c) ----
 * One value per object and slot for the run (kept with its index; at admission, one review),
 * for a rule whose work for an object is the same whichever object is being checked: the
 * rule computes it once, keeps it, and every later check reads it. k5__memo_get gives the
 * value kept for o in that slot, or NULL. k5__memo_put copies n bytes of val into the memo
 * (the engine allocates; the value must hold no pointer into the rule's stack) and returns
 * the kept value: the copy, another thread's if it kept one first, or val itself when it
 * could not keep it (out of memory: the rule goes on with its own value, only slower).
 */
typedef enum k5__memo_slot {
    /* networkpolicy-blocks-ingress: a workload's first blocked way in */
    K5__MEMO_NETPOL_INGRESS = 0,
    /* networkpolicy-blocks-ingress: the distinct ways in to Services of one namespace and
     * name, kept on the first such Service (k5_index_find) */
    K5__MEMO_NETPOL_WAYS,
    /* k5__workload_best_hpa: a workload's best HPA of all and of each file, with minReplicas */
    K5__MEMO_BEST_HPA,
    /* k5__memo_copy: the object's first copy, and whether it has copies */
    K5__MEMO_TWIN,
    /* Kept per first copy for objects with copies (k5__memo_copy), each the result of one rule's
     * search for the object: pdb-missing (a budget covers the workload), pdb-overlap,
     * pdb-blocks-eviction (the pods selected), k5__selects_some_pod_of, k5__select_elsewhere,
     * hpa-replicas-conflict (a workload's HPAs, an HPA's rival), networkpolicy-blocks-ingress
     * (the policy's first blocked workload), ingress-class-missing (the input's classes) */
    K5__MEMO_PDB_COVERED,
    K5__MEMO_PDB_OVERLAP,
    K5__MEMO_PDB_TALLY,
    K5__MEMO_SELECTS_SOME,
    K5__MEMO_ELSEWHERE,
    K5__MEMO_HPAS,
    K5__MEMO_HPA_RIVAL,
    K5__MEMO_NETPOL_FOUND,
    K5__MEMO_INGRESS_CLASSES,
    K5__MEMO_SLOTS
} k5__memo_slot;
typedef struct k5__memo k5__memo;
const void *k5__memo_get(const k5_check *c, k5__memo_slot slot, const k5_object *o);
const void *k5__memo_put(const k5_check *c, k5__memo_slot slot, const k5_object *o,
                         const void *val, size_t n);
/*
 * The object's first copy: the first object of the run of the same kind, namespace and name
 * whose content is equal node for node (type, quoting, text, item by item; also apiVersion,
 * Helm source and whether the namespace is implicit), from any file (the same manifest
 * repeated in one file, or a directory of examples that each define "web", n renders of one
 * chart written to n files), else o itself (also for unnamed objects, and when memory runs
 * out). *copies (may be NULL) is set when o has such copies. A cross-object rule whose result
 * for o depends only on o's content and namespace and on the index, never on o's file or
 * place, may keep it per first copy: every copy then reuses one computation. A rule that
 * asks only once per object keeps its result only when *copies says another copy will ask.
 * A result that depends on the file (a partner of o's own file preferred) keeps the file's
 * part apart (k5__workload_best_hpa keeps every file's best HPA and picks o's).
 * Kept for the run (K5__MEMO_TWIN).
 */
const k5_object *k5__memo_copy(const k5_check *c, const k5_object *o, bool *copies);

/* ---- index (built once per run) ---- */

/* Return false to stop the walk. */
typedef bool (*k5_visit_fn)(const k5_object *o, void *ud);

/* Number of objects of the given kinds in namespace ns. */
size_t k5_index_count(const k5_index *idx, k5_str ns, k5_kind kinds);
/* Calls fn for every object of the given kinds in namespace ns, in input order. */
void k5_index_each(const k5_index *idx, k5_str ns, k5_kind kinds, k5_visit_fn fn, void *ud);
/*
 * True when some object of the given kinds in ns comes from file `file` (k5_object.file).
 * O(log objects of those kinds in ns): objects are indexed in input order, file by file.
 */
bool k5_index_has_in_file(const k5_index *idx, k5_str ns, k5_kind kinds, size_t file);
/* The object of that kind and name in ns, or NULL. */
const k5_object *k5_index_find(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str name);
/*
 * Calls fn for every object of those kinds named `name` in ns, in input order: the same
 * Kind/namespace/name may come from several files (duplicates: one notice, all judged).
 */
void k5_index_each_named(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str name,
                         k5_visit_fn fn, void *ud);
/*
 * The cluster-scoped object (kinds within K5_KINDS_CLUSTER: Namespace, IngressClass) of that
 * name, whatever namespace the input wrote on it, or NULL. The first in input order.
 */
const k5_object *k5_index_find_cluster(const k5_index *idx, k5_kind kinds, k5_str name);

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
                     k5_selector_type type, k5_kind kinds, k5_visit_fn fn, void *ud);

/*
 * For a Service that shares its namespace and selector with other Services: whether a
 * serving workload its selector selects (k5_index_select, K5_KINDS_SERVING) declares the
 * target `want` in a running container, as service-target-port-mismatch judges it: a number
 * as a containerPort or mentioned on its own in command/args of a container with ports (or
 * any number, on a workload that declares no port); a name with protocol `proto`
 * (*other_proto: some port has the name under another protocol). *selected and first[]
 * (up to nfirst) are the selected workloads, as that visit meets them. False when there is
 * no such summary (a Service alone in its group): the caller visits the workloads.
 */
bool k5__index_selection_judge(const k5_index *idx, const k5_object *svc, const k5_intstr *want,
                               k5_str proto, bool *resolved, bool *other_proto, size_t *selected,
                               const k5_object **first, size_t nfirst);

/*
 * Calls fn for every workload of the given kinds OUTSIDE namespace ns whose pod template
 * labels match the selector, in input order (for "it lives in another namespace" messages).
 */
void k5_index_select_elsewhere(const k5_index *idx, k5_str ns, const k5_node *selector,
                               k5_selector_type type, k5_kind kinds, k5_visit_fn fn, void *ud);
/*
 * Calls fn for every object of the given kinds named `name` (and of Kind `kind` unless
 * kind.n is 0) outside namespace ns, in input order.
 */
void k5_index_find_elsewhere(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str kind,
                             k5_str name, k5_visit_fn fn, void *ud);

/* Calls fn for every Service in the workload's namespace whose selector matches its pod labels. */
void k5_index_services_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn,
                           void *ud);
/* Calls fn for every PDB in the workload's namespace whose selector matches its pod labels. */
void k5_index_pdbs_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn, void *ud);
/* Calls fn for every NetworkPolicy in the workload's namespace whose podSelector matches it. */
void k5_index_netpols_for(const k5_index *idx, const k5_object *workload, k5_visit_fn fn,
                          void *ud);
/*
 * Calls fn for every Ingress, HTTPRoute and GRPCRoute with a backend on Service `name` of
 * namespace ns (a route's backendRef may name another namespace), once each, in input order.
 */
void k5_index_service_users(const k5_index *idx, k5_str ns, k5_str name, k5_visit_fn fn,
                            void *ud);
/* Number of objects of the given kinds in every namespace (cluster-scoped kinds included). */
size_t k5_index_count_all(const k5_index *idx, k5_kind kinds);
/* Calls fn for every object of the given kinds in every namespace, in input order per kind. */
void k5_index_each_all(const k5_index *idx, k5_kind kinds, k5_visit_fn fn, void *ud);
/* True when a Gateway API backendRef designates a Service (group "" and kind Service, the
 * defaults). */
bool k5__backend_ref_is_service(const k5_node *ref);
/*
 * The namespaces an ingress controller or Gateway data plane is taken to run in: the parameter
 * controller-namespaces of networkpolicy-blocks-ingress under c's config, whole ("a, b": walk
 * it with k5_names_next, one lookup and one pass per loop). Every reader goes through here or
 * through k5__controller_namespace_in.
 */
const char *k5__controller_namespaces(const k5_check *c);
/*
 * The i-th of them under a config (false past the last), for code that has no check: the
 * cluster cache's partner search fetches these namespaces' Namespace objects under the
 * review's config. cfg NULL gives the default list.
 */
bool k5__controller_namespace_in(const k5_config *cfg, size_t i, k5_str *out);
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
typedef struct k5__serving {
    bool serving;                    /* the workload receives traffic */
    bool by_service;                 /* ... through a Service of the input */
    size_t services;                 /* Services of the input selecting its pods */
    const k5_object *first_service;  /* the first of them in input order, or NULL */
    uint64_t mask;                   /* bit i: spec.containers[i] receives traffic */
} k5__serving;

void k5__serving_of(const k5_check *c, const k5_object *obj, k5__serving *out);
/*
 * The run's memo of k5__serving_of for the object being checked (run.c): up to five rules ask
 * whether the same workload serves, and the answer depends on the input alone (not on the
 * rule or its settings), so it is worked out once per object. _get copies it into *out and
 * says true when c's object is obj and the answer is known; _put keeps it.
 */
bool k5__check_serving_get(const k5_check *c, const k5_object *obj, k5__serving *out);
void k5__check_serving_put(const k5_check *c, const k5_object *obj, const k5__serving *s);
/*
 * The same for k5__memo_copy's answer about the object being checked (up to three rules ask
 * it per workload): a name defined once keeps nothing in the run's memo (that would cost a
 * word per object), so without this each ask searched the index again. _get sets *copy and
 * *copies and says true when c's object is obj and the answer is known; _put keeps it.
 */
bool k5__check_twin_get(const k5_check *c, const k5_object *obj, const k5_object **copy,
                        bool *copies);
void k5__check_twin_put(const k5_check *c, const k5_object *obj, const k5_object *copy,
                        bool copies);
/*
 * A dry run of a check's reporting (lb.c asks which targets a rule would report on, once for
 * all the Services that share them): between _begin and _end, k5_check_report and its
 * siblings keep nothing, count no finding and return K5_OK, whatever the object's cap.
 * _end says whether any of them was called since _begin.
 */
void k5__check_dry_begin(k5_check *c);
bool k5__check_dry_end(k5_check *c);

/* True when `container` (an item of obj's spec.containers) receives traffic. */
bool k5__serving_has(const k5__serving *s, const k5_object *obj, const k5_node *container);

/* k5__serving_of then k5__serving_has, for one container. */
bool k5__container_serving(const k5_check *c, const k5_object *obj, const k5_node *container);

/* The Cost line (docs/rules.md) of a rule whose work is k5__serving_of's, one text for all. */
#define K5__COST_SERVING                                                                         \
    "O(Service groups selecting the workload x its declared ports) per workload (serving, "      \
    "through the index): Services of one namespace with the same selector form one group, "      \
    "visited once with its size and the set of its members' distinct targetPorts, looked up by " \
    "the workload's ports, so N Services sharing one selector over N workloads cost N, with one " \
    "port list or N different ones (measured: bench/scale_bench.sh, figures 4 and 7)"
/* The scope note of a rule that judges only the serving containers (k5__serving_has). */
#define K5__SCOPE_SERVING_CONTAINERS                                                             \
    "also cross-object: the serving containers are those a selecting Service's targetPort "     \
    "resolves to (see \"Serving\" in docs/rules.md)"

/*
 * Writes the names of the Services of the input selecting obj's pods as
 * `"web", "web-headless"` into buf; returns how many were written.
 */
size_t k5__services_describe(const k5_check *c, const k5_object *obj, char *buf, size_t size);

/* True when the workload's pod template is selected by at least one Service of the input. */
bool k5__workload_has_service(const k5_check *c, const k5_object *obj);

/* The container's name ("" when absent). */
k5_str k5__container_name(const k5_node *container);

/*
 * Writes the container's declared ports as `8080/TCP "http", 9090/TCP` into
 * buf ("none" when it declares none).
 */
void k5__ports_describe(const k5_node *container, char *buf, size_t size);

/* spec.replicas of a Deployment/StatefulSet/ReplicaSet/RC, with the Kubernetes default 1. */
int64_t k5__workload_replicas(const k5_object *obj);

/* ==== Shared helpers: every helper a rule may call is declared in this one header. ==== */

/* ---- pod specs: containers, resources, probes, heap settings (check_pod.c) ---- */

/*
 * What a container is in its pod; a set of roles is a bit mask of these.
 *
 * The container policy: every rule walks containers with k5__ctr_iter (never
 * by hand), and chooses its roles by what it judges:
 * - traffic (readiness, preStop, grace period, "serving"): K5__CTR_MAIN. A
 *   native sidecar may proxy, but the pod's serving ports belong to its
 *   containers, and the Service-selection rules resolve sidecar ports too;
 * - heuristic floors and missing settings (cpu/memory-limit-too-low,
 *   memory-limit-missing, memory-request-missing, probe timing):
 *   K5__CTR_RUNNING, the containers that live as long as the pod. A plain
 *   init container runs to completion first and serves nothing: a 16Mi limit
 *   on a busybox copy is fine;
 * - certain failures (memory-limit-below-request, which the API server
 *   rejects; a heap above the limit, which OOMs on start): K5__CTR_ALL,
 *   because a crashing init container keeps the pod from ever serving.
 * Ephemeral containers (spec.ephemeralContainers) are never walked: they are
 * added to a running pod through the ephemeralcontainers subresource for
 * debugging, cannot declare ports, probes, lifecycle or resources, and never
 * appear in a manifest that is linted or admitted.
 */
typedef enum k5__ctr_role {
    K5__CTR_MAIN = 1u,    /* an item of spec.containers */
    K5__CTR_SIDECAR = 2u, /* a native sidecar: an init container with restartPolicy: Always */
    K5__CTR_INIT = 4u     /* any other init container: runs to completion before the app starts */
} k5__ctr_role;

/* Containers that run for the pod's whole life, next to the application. */
#define K5__CTR_RUNNING (K5__CTR_MAIN | K5__CTR_SIDECAR)
#define K5__CTR_ALL (K5__CTR_MAIN | K5__CTR_SIDECAR | K5__CTR_INIT)

typedef struct k5__ctr_iter {
    const k5_node *lists[2]; /* initContainers, containers */
    unsigned roles;
    size_t list, i;
} k5__ctr_iter;

/* Starts a walk over the containers of obj's pod template that have one of the roles. */
void k5__ctr_iter_init(k5__ctr_iter *it, const k5_object *obj, unsigned roles);
/* The next container (its list item), or NULL at the end; *role (may be NULL) receives its role. */
const k5_node *k5__ctr_next(k5__ctr_iter *it, k5__ctr_role *role);
/* "container", "sidecar container" or "init container", for messages. */
const char *k5__ctr_role_str(k5__ctr_role role);

/*
 * The container's resources.<which>.<resource> value ("limits", "memory"), or
 * NULL when it is absent or null.
 */
const k5_node *k5__ctr_resource(const k5_node *ctr, const char *which, const char *resource);

/*
 * The pod-level spec.resources.<which>.<resource> of obj's pod template, which
 * bounds all its containers together, or NULL when it is absent or null.
 */
const k5_node *k5__pod_resource(const k5_object *obj, const char *which, const char *resource);

/*
 * Where to report an absent resources.<which>.<resource>: the innermost map
 * that exists (limits, resources, or the container itself), with the missing
 * field path written into `missing`.
 */
const k5_node *k5__ctr_resource_parent(const k5_node *ctr, const char *which,
                                       const char *resource, char *missing, size_t size);

/*
 * terminationGracePeriodSeconds of the pod template, with the Kubernetes
 * default 30; *node (may be NULL) receives the field or NULL when it is unset.
 */
int64_t k5__pod_grace_seconds(const k5_object *obj, const k5_node **node);

/*
 * The shortest time a preStop hook (the lifecycle.preStop map, may be NULL) takes, in ms:
 * the native sleep action, an exec of `sleep N...`, or `sh -c` whose script begins with a
 * sleep that runs to its end. *at receives the node holding the duration. False when the
 * duration cannot be known (any other exec, an httpGet).
 */
bool k5__prestop_sleep(const k5_node *prestop, int64_t *ms, const k5_node **at);

/* ---- probes ---- */

typedef enum k5__handler {
    K5__HANDLER_NONE = 0,
    K5__HANDLER_HTTP = 1, /* httpGet */
    K5__HANDLER_TCP = 2,  /* tcpSocket */
    K5__HANDLER_GRPC = 3, /* grpc */
    K5__HANDLER_EXEC = 4  /* exec */
} k5__handler;

typedef struct k5__probe {
    const k5_node *node;    /* the probe (a map) */
    const k5_node *handler; /* httpGet, tcpSocket, grpc or exec (a map), or NULL */
    k5__handler type;
    const k5_node *port; /* handler.port, or NULL */
    /* The timing fields with the API server's defaults (0 or absent means the default). */
    int64_t period, failure, timeout;
    const k5_node *period_node, *failure_node, *timeout_node; /* NULL when unset */
} k5__probe;

/* Reads ctr.<field> ("livenessProbe"); false when the container has no such probe. */
bool k5__probe_get(const k5_node *ctr, const char *field, k5__probe *out);

/*
 * Resolves a probe port as the kubelet does (probe.ResolveContainerPort): a
 * number is itself, a name is looked up among the container's own declared
 * ports, and a string of digits that names no port is taken as a number.
 * Returns the port number, or 0 when the name is not declared.
 */
int64_t k5__probe_port(const k5_node *ctr, const k5_node *port);

/*
 * True when both probes of the container run the same check: the same httpGet
 * scheme, host, path and (resolved) port, the same tcpSocket port, the same grpc
 * port and service, or the same exec command.
 */
bool k5__probe_same_handler(const k5_node *ctr, const k5__probe *a, const k5__probe *b);

/* Writes the handler as a person reads it ("httpGet HTTP /healthz port 8080") into buf. */
void k5__probe_describe(const k5_node *ctr, const k5__probe *p, char *buf, size_t size);

/* ---- runtime heap bounds ---- */

/* One heap setting found in the container, and where. */
typedef struct k5__heap_flag {
    bool set;            /* a flag was found */
    bool known;          /* ... and its value parsed (false: `-Xmx${HEAP}`, judged unknown) */
    int64_t bytes;       /* the size in bytes (MaxHeapSize, max-old-space-size, GOMEMLIMIT) */
    double percent;      /* MaxRAMPercentage */
    const k5_node *at;   /* the env value or command/args item holding it */
    const char *source;  /* "JAVA_TOOL_OPTIONS", "command", "args", ...; NULL for GOMEMLIMIT */
    const char *prefix;  /* what to print before text: "" or the flag named in the word before */
    k5_str text;         /* the flag as written ("-Xmx2g") */
} k5__heap_flag;

/*
 * The JVM's effective -Xmx/-XX:MaxHeapSize and -XX:MaxRAMPercentage, read in
 * the order the JVM applies them (JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS, the
 * command line where JAVA_OPTS is conventionally expanded, then
 * _JAVA_OPTIONS); the last occurrence wins.
 */
void k5__heap_jvm(const k5_node *ctr, k5__heap_flag *max_heap, k5__heap_flag *ram_pct);

/* Node's --max-old-space-size (MiB) from NODE_OPTIONS, then command and args; the last wins. */
void k5__heap_node(const k5_node *ctr, k5__heap_flag *old_space);

/*
 * Go's GOMEMLIMIT (B, KiB, MiB, GiB, TiB; "off" is no limit). A value taken
 * from the container's own limits.memory through resourceFieldRef is
 * resolved against `limit` (bytes; 0 when there is none).
 */
void k5__heap_go(const k5_node *ctr, int64_t limit, k5__heap_flag *memlimit);

/* ---- workloads, replicas, PDBs, selectors, Ingress backends (check_workload.c) ---- */

bool k5__str_eq(k5_str a, k5_str b);

/* True when the workload serves traffic (k5__serving_of). */
bool k5__workload_serving(const k5_check *c, const k5_object *obj);

/* True when a port name (of a Service or a container) names a metrics port. */
bool k5__port_is_metrics(const k5_node *port_name);

/*
 * What a Service port (an item of spec.ports) sends traffic to, as "serving" reads it: 0 for
 * a metrics port (by its name or its targetPort's), else 'i' (a number, in *num), 's' (a port
 * name, in *text) or 'x' (no valid targetPort: it resolves to no container port). targetPort
 * unset or 0 means the port, as the API server defaults it.
 */
char k5__svc_port_target(const k5_node *sp, int64_t *num, k5_str *text);

/*
 * The item of ctr.ports that a Service targetPort or probe port (a number or a
 * name) designates, or NULL when the container declares none.
 */
const k5_node *k5__ctr_port_for(const k5_node *ctr, const k5_node *target);

/* spec.minReplicas of an HPA, with the Kubernetes default 1; false when it is not an integer. */
bool k5__hpa_min_replicas(const k5_object *hpa, int64_t *out);

/*
 * The replica count a workload runs at, as the rules judge it: spec.replicas
 * when it is set; else the minReplicas of an HPA of the input that targets it
 * (scaleTargetRef kind and name, same namespace), since the HPA then owns the
 * count and may go down to that minimum; else Kubernetes' default 1.
 */
typedef struct k5__scale {
    int64_t count;
    bool known;              /* false: spec.replicas is set but is not an integer (a template) */
    const k5_node *replicas; /* spec.replicas, or NULL when unset */
    const k5_object *hpa;    /* the HPA that supplied the count, or NULL */
} k5__scale;

void k5__workload_scale(const k5_check *c, const k5_object *obj, k5__scale *out);

/* The HPA targeting obj with the largest minReplicas, those of obj's own file first, or NULL. */
const k5_object *k5__workload_best_hpa(const k5_check *c, const k5_object *obj, int64_t *min);

/*
 * A PDB's selector as the PDB controller reads it: NULL when it selects
 * nothing (absent, not a map, or an empty selector under policy/v1beta1,
 * which selected no pod; policy/v1 made {} select every pod of the namespace).
 */
const k5_node *k5__pdb_selector(const k5_object *pdb);

/*
 * True when a selector of a Service (MAP) or PDB (LABEL) in namespace ns may
 * select pods of the input, beyond what k5_index_select finds:
 * - labels that controllers add to each pod and that no template declares
 *   (statefulset.kubernetes.io/pod-name "<sts>-<ordinal>",
 *   apps.kubernetes.io/pod-index, controller-revision-hash, pod-template-hash)
 *   are matched against the workload that would add them;
 * - a custom resource of the input (an operator's Prometheus, Alertmanager,
 *   Argo Rollout...) that declares matching pod labels somewhere in its spec
 *   (a `labels` map: podMetadata.labels, template.metadata.labels) creates
 *   those pods itself.
 * Both walks run only after the index found nothing, on the reporting path.
 */
bool k5__selects_some_pod(const k5_check *c, k5_str ns, const k5_node *sel, k5_selector_type type);
/* The same for obj's own selector `sel` in its namespace, kept for obj's copies (k5__memo_copy). */
bool k5__selects_some_pod_of(const k5_check *c, const k5_object *obj, const k5_node *sel,
                             k5_selector_type type);

/*
 * Writes a selector the way kubectl prints one: `app=web, tier in (a,b),
 * !legacy` into buf ("<empty>" for {}).
 */
void k5__selector_describe(const k5_node *sel, k5_selector_type type, char *buf, size_t size);

/* One backend of an Ingress: a rule path or the default backend. */
typedef struct k5__backend {
    const k5_node *backend; /* the backend map */
    const k5_node *service; /* name node (service.name or serviceName); NULL: not a Service */
    const k5_node *port;    /* port.number, port.name or servicePort; may be NULL */
    const k5_node *host;    /* the rule's host, or NULL */
    const k5_node *path;    /* the path's path, or NULL */
    bool is_default;        /* spec.defaultBackend (v1) or spec.backend (v1beta1) */
} k5__backend;

typedef k5_status (*k5__backend_fn)(k5_check *c, const k5_object *ing, const k5__backend *b,
                                    void *ud);

/*
 * Calls fn for every backend of the Ingress, in document order, in both the
 * networking.k8s.io/v1 form (service.name, service.port.number|name) and the
 * extensions/v1beta1 and networking.k8s.io/v1beta1 form (serviceName,
 * servicePort). Stops at and returns the first non-OK status.
 */
K5_WUR k5_status k5__ingress_each_backend(k5_check *c, const k5_object *ing, k5__backend_fn fn,
                                          void *ud);

/* Writes `path /api of host example.com` or `the default backend` into buf. */
void k5__backend_describe(const k5__backend *b, char *buf, size_t size);

/*
 * How a rule reports an absence ("selects nothing", "no such Service"): when some input
 * failed to load, the finding says so (note, appended to the message); when a failed file
 * mentions every value of the selector `sel` (may be NULL) and `name` (may be empty), the
 * match may be in it and the finding is at most a warning (max).
 */
typedef struct k5__absence {
    k5_severity max;
    const char *note;
} k5__absence;

void k5__absence_of(const k5_check *c, const k5_node *sel, k5_str name, k5__absence *a);

/*
 * The target of a Service, PDB, HPA or Ingress found only in another namespace: the first
 * workload outside self's namespace that the selector matches, preferring one where both
 * namespaces are written down (metadata.namespace, a kustomization or --namespace): a
 * certain mistake. When the only matches are where one of the two names no namespace (it
 * lands wherever it is applied), returns such a match and sets *implicit: the rule cannot
 * be sure and reports at most a warning. NULL when there is no match anywhere. sel must be
 * self's own selector: the answer is kept for self's copies (k5__memo_copy).
 */
const k5_object *k5__select_elsewhere(const k5_check *c, const k5_object *self,
                                      const k5_node *sel, k5_selector_type type, bool *implicit);
/* The same for an object of those kinds and that name (kind: its Kind, or {NULL, 0} for any). */
const k5_object *k5__find_elsewhere(const k5_check *c, const k5_object *self, k5_kind kinds,
                                    k5_str kind, k5_str name, bool *implicit);

/* The words that say why an implicit namespace makes a cross-namespace finding uncertain. */
void k5__implicit_note(const k5_object *self, const k5_object *other, char *buf, size_t size);

/* ---- Istio (mesh.c) ---- */

/* How an Istio host names a Kubernetes Service. */
typedef enum k5__mesh_form {
    K5__MESH_SHORT = 1, /* "reviews": in the namespace of the object that writes it */
    K5__MESH_NS = 2,    /* "reviews.prod": also what an external name (example.com) looks like */
    K5__MESH_SVC = 3    /* "reviews.prod.svc", "reviews.prod.svc.cluster.local" */
} k5__mesh_form;

typedef struct k5__mesh_host {
    k5_str name, ns; /* the Service's name and namespace (borrowed from the host) */
    k5__mesh_form form;
} k5__mesh_host;

/*
 * Reads an Istio host written in namespace own_ns (a VirtualService destination, a
 * DestinationRule's host, a ServiceEntry's hosts) as a Service reference. False when it cannot
 * name a Service: a wildcard, an IP address, or a name of three labels or more that is not
 * `name.ns.svc[.domain]` (an external host).
 */
bool k5__mesh_host_parse(k5_str host, k5_str own_ns, k5__mesh_host *out);

/* True when o is the Istio kind `kind` ("ServiceEntry", "Gateway") of networking.istio.io. */
bool k5__mesh_is(const k5_object *o, const char *kind);

/* Calls fn for every DestinationRule of the input whose spec.host names Service ns/name. */
void k5_index_mesh_rules(const k5_index *idx, k5_str ns, k5_str name, k5_visit_fn fn, void *ud);

/*
 * A ServiceEntry of the input that declares the host, else NULL: one declaring it as written
 * is tried first, then `*`, then one declaring the same Service (svc, may be NULL: the host
 * parsed by k5__mesh_host_parse), then wildcards by the suffix at each of the host's dots. Not
 * necessarily the first such entry in input order (wildcards are looked up by suffix): use it
 * as yes or no, as mesh-route-reference-invalid does.
 */
const k5_object *k5_index_mesh_entry(const k5_index *idx, k5_str host, const k5__mesh_host *svc);

/* ---- Gateway API routes (check_route.c) ---- */

/* One backendRef of an HTTPRoute or GRPCRoute that names a core Service (group "", kind Service). */
typedef struct k5__route_backend {
    const k5_node *ref;     /* the backendRef map */
    const k5_node *name;    /* its name: a non-empty string */
    const k5_node *port;    /* its port, or NULL */
    const k5_node *ns_node; /* its namespace, or NULL when it names none */
    k5_str ns;              /* the Service's namespace: its own, else the route's */
    bool cross;             /* ns is not the route's namespace */
    bool mirror;            /* a requestMirror's backendRef: an invalid one is dropped (the
                             * copy is lost, clients see no 5xx), so it is worth a warning */
    size_t rule;            /* index in spec.rules */
    char where[96];         /* "rules[0].backendRefs[1]", "rules[0].filters[2].requestMirror" */
} k5__route_backend;

typedef k5_status (*k5__route_backend_fn)(k5_check *c, const k5_object *route,
                                          const k5__route_backend *b, void *ud);

/*
 * Calls fn for every Service backendRef of the route, in document order: each
 * spec.rules[].backendRefs[] item, the requestMirror backendRef of its filters, then the
 * requestMirror backendRef of the rule's filters. References to other kinds (ServiceImport,
 * a custom backend) and backendRefs of weight 0 (they receive no traffic) are skipped.
 * Stops at and returns the first non-OK status.
 */
K5_WUR k5_status k5__route_each_backend(k5_check *c, const k5_object *route,
                                        k5__route_backend_fn fn, void *ud);

/* What an invalid backendRef does: "the gateway answers 500", or for a mirror, drops it. */
const char *k5__route_backend_effect(const k5__route_backend *b);

/*
 * True when one of the route's parentRefs is the Service `name` of namespace ns (group "",
 * kind Service): a GAMMA mesh route attached to that Service. A consumer route in another
 * namespace may send its parent's traffic on to it without a ReferenceGrant.
 */
bool k5__route_parent_service(const k5_object *route, k5_str ns, k5_str name);

/* The ReferenceGrants of a cross-namespace backend's namespace, as k5__route_grants counts them. */
typedef struct k5__grants {
    size_t count;              /* ReferenceGrants of the input in the backend's namespace */
    const k5_object *allowing; /* the first that admits this route kind from the route's
                                * namespace to this Service, or NULL */
} k5__grants;

/* Looks through the ReferenceGrants of b->ns (index by namespace and kind). */
void k5__route_grants(const k5_check *c, const k5_object *route, const k5__route_backend *b,
                      k5__grants *out);

/* Writes a Service's spec.ports as `80 "http", 9090 (unnamed)` into buf. */
void k5__service_ports_describe(const k5_node *ports, char *buf, size_t size);

/* ---- cloud load balancers: AWS Load Balancer Controller, GKE Ingress (lb.c) ---- */

/* Whole seconds written "30" or "30s" (spaces around allowed); saturates instead of wrapping. */
bool k5__lb_seconds(k5_str s, int64_t *out);

/*
 * The value of `key` in an AWS Load Balancer Controller attribute list
 * ("deregistration_delay.timeout_seconds=30, stickiness.enabled=true"); the last occurrence
 * wins, as in the controller's map. False when the key is absent.
 */
bool k5__lb_attr(k5_str list, const char *key, k5_str *val);

typedef enum k5__lb {
    K5__LB_NONE = 0, /* another controller, or unknown */
    K5__LB_ALB = 1,  /* the AWS Load Balancer Controller's Application Load Balancer */
    K5__LB_GCE = 2   /* GKE's Ingress controller (external or internal Application LB) */
} k5__lb;

/*
 * Which load balancer serves an Ingress: the kubernetes.io/ingress.class annotation (alb;
 * gce or gce-internal, the only way GKE is chosen), else spec.ingressClassName through an
 * IngressClass of the input (controller ingress.k8s.aws/alb) or the well-known name alb;
 * without a class, or with an unknown one, alb.ingress.kubernetes.io/ annotations say ALB.
 */
k5__lb k5__ingress_lb(const k5_check *c, const k5_object *ing);

/*
 * An ALB annotation as the AWS Load Balancer Controller reads it for one backend: the
 * Service's (svc may be NULL) takes precedence over the Ingress's (ing may be NULL).
 * *on_service (may be NULL) says which one it was. NULL when neither sets it.
 */
const k5_node *k5__alb_annotation(const k5_object *ing, const k5_object *svc, const char *name,
                                  bool *on_service);

/*
 * True when the AWS Load Balancer Controller gives the Service an NLB with IP targets
 * (aws-load-balancer-nlb-target-type: ip, or the legacy aws-load-balancer-type: nlb-ip);
 * *at receives the annotation saying so.
 */
bool k5__nlb_ip_service(const k5_object *svc, const k5_node **at);

/*
 * The item of svc's spec.ports an Ingress backend port (a number or a name; NULL: the only
 * port) designates, or NULL.
 */
const k5_node *k5__service_port_for(const k5_object *svc, const k5_node *backend_port);

/*
 * The GKE BackendConfig attached to a Service port through the cloud.google.com/backend-config
 * (or beta.cloud.google.com/backend-config) annotation, {"default": NAME} overridden per port
 * by {"ports": {PORT-NAME-OR-NUMBER: NAME}}: the object of the input in the Service's
 * namespace, or NULL. *ann and *name receive the annotation and the name when one is attached
 * (also when the BackendConfig is not in the input); untouched otherwise.
 */
const k5_object *k5__backendconfig_for(const k5_check *c, const k5_object *svc,
                                       const k5_node *svc_port, const k5_node **ann,
                                       k5_str *name);

/* One workload behind a load-balanced Service port, and the container serving it. */
typedef struct k5__lb_target {
    const k5_object *svc;
    const k5_node *svc_port;  /* the Service port item, or NULL (all of them) */
    const k5_object *workload;
    const k5_node *ctr;       /* the container owning the targetPort, or NULL when unknown */
    const k5_node *ctr_port;  /* its ports item, or NULL when it declares none for it */
} k5__lb_target;

typedef k5_status (*k5__lb_target_fn)(k5_check *c, const k5__lb_target *t, void *ud);

/*
 * What a k5__lb_target_fn decides from besides the target, for k5__lb_each_target to share
 * its decisions: every value that can change whether fn reports on a target (a threshold, a
 * health-check path; not what only its messages name), appended in a fixed order with
 * k5__lb_key_int and k5__lb_key_str. A key too long for the buffer is marked and not shared.
 */
typedef struct k5__lb_key {
    size_t n;
    bool overflow;
    unsigned char b[240];
} k5__lb_key;
void k5__lb_key_int(k5__lb_key *k, int64_t v);
void k5__lb_key_str(k5__lb_key *k, k5_str s);

/*
 * Calls fn for every serving workload of the input that the Service selects (through the
 * index), with the main container that owns the port's targetPort (by name or number; a
 * number no container declares is the pod's only container's). Stops at and returns the
 * first non-OK status, and stops once the object holds its cap of findings.
 *
 * With a key (may be NULL: every target is walked), the walk is shared: fn's choice to
 * report on a target must depend only on that target (its workload and container, the port's
 * targetPort) and on the key, never on the Service or Ingress being checked; its messages may
 * name them. The workloads a selector reaches are found once per run for all the Services of
 * one namespace, selector and file, and which of them fn reports on is found once per
 * (those workloads, targetPort, fn, key) by a dry run (k5__check_dry_begin); each call then
 * calls fn for those targets only, in the same order, so it reports exactly what walking
 * every target would.
 */
K5_WUR k5_status k5__lb_each_target(k5_check *c, const k5_object *svc, const k5_node *svc_port,
                                    k5__lb_target_fn fn, void *ud, const k5__lb_key *key);

/*
 * What a rule's judge reads from one target, whatever the Service's settings, as an index
 * over the targets keeps it (k5__lb_each_indexed). A target is a candidate for a query when
 * it is not `never` and v < query.lt, or query.s_on and has_s and s differs from query.s,
 * or query.n_on and n is not 0 and differs from query.n, or query.flag_on and flag.
 */
typedef struct k5__lb_feat {
    bool never;  /* the judge reports on this target under no setting */
    int64_t v;   /* a value the judge compares with a threshold of the setting */
    bool has_s;
    k5_str s;    /* a string the judge compares with one of the setting (borrowed) */
    int64_t n;   /* a number the judge compares with one of the setting; 0: none */
    bool flag;   /* a verdict of the target alone, that some settings ask for */
} k5__lb_feat;

/* Fills *out for target t; ud is the judge's, of which it may read only what fkey holds. */
typedef void (*k5__lb_feat_fn)(const k5__lb_target *t, const void *ud, k5__lb_feat *out);

typedef struct k5__lb_query {
    k5__lb_feat_fn feat;
    k5__lb_key fkey;  /* every value of ud that feat reads (min-prestop-sleep), else empty */
    int64_t lt;       /* candidates by v: v < lt (INT64_MIN: none) */
    bool s_on;
    k5_str s;
    bool n_on;
    int64_t n;
    bool flag_on;
} k5__lb_query;

/*
 * k5__lb_each_target for a judge fn whose reports are decided by a query: fn may report on a
 * target only when the target is a candidate for q (k5__lb_feat), from the features feat
 * gives it. The features of a selection's targets are worked out once per run per (targets,
 * targetPort, feat, fkey) into a segment tree over the targets in order whose nodes keep the
 * least v, the string s if all are equal (else "mixed"), n likewise and whether any flag is
 * set; each call then visits the candidates in order, the next one found in O(log n), until
 * the object holds its cap of findings. Targets that are not candidates report nothing, so
 * this reports exactly what walking every target would, however many distinct settings
 * the Services carry. fn still decides; a candidate it does not report on costs a visit.
 * The first call of each (targets, targetPort, feat, fkey) walks every target instead and
 * the second builds the index, so keys used once (a targetPort per Service) hold none.
 */
K5_WUR k5_status k5__lb_each_indexed(k5_check *c, const k5_object *svc, const k5_node *svc_port,
                                     k5__lb_target_fn fn, void *ud, const k5__lb_query *q);

#endif
