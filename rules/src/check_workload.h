/*
 * kube5xx engine, internal: helpers shared by the replica, PDB, Service and
 * Ingress rules (single-replica, rollout-causes-downtime, pdb-*,
 * service-selects-nothing, ingress-backend-*). They only read nodes and the
 * index; like a check, they never allocate.
 */
#ifndef KUBE5XX_CHECK_WORKLOAD_H
#define KUBE5XX_CHECK_WORKLOAD_H

#include "k5_check.h"

bool k5__str_eq(k5_str a, k5_str b);

/* True when the workload serves traffic (k5_serving_of). */
bool k5__workload_serving(const k5_check *c, const k5_object *obj);

/* True when a port name (of a Service or a container) names a metrics port. */
bool k5__port_is_metrics(const k5_node *port_name);

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
 * be sure and reports at most a warning. NULL when there is no match anywhere.
 */
const k5_object *k5__select_elsewhere(const k5_check *c, const k5_object *self,
                                      const k5_node *sel, k5_selector_type type, bool *implicit);
/* The same for an object of those kinds and that name (kind: its Kind, or {NULL, 0} for any). */
const k5_object *k5__find_elsewhere(const k5_check *c, const k5_object *self, unsigned kinds,
                                    k5_str kind, k5_str name, bool *implicit);

/* The words that say why an implicit namespace makes a cross-namespace finding uncertain. */
void k5__implicit_note(const k5_object *self, const k5_object *other, char *buf, size_t size);

#endif
