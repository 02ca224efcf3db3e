/*
 * single-replica: a serving Deployment or StatefulSet that runs one pod, with
 * no HorizontalPodAutoscaler keeping a higher minimum.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param(c, 0);
    const k5_node *replicas = k5_node_at(obj->root, "spec.replicas");
    if (replicas && k5_node_kind(replicas) == K5_NODE_NULL)
        replicas = NULL;
    int64_t n = 1; /* the API server defaults replicas to 1 */
    if (replicas && !k5_node_int(replicas, &n))
        return K5_OK; /* a template placeholder: the count is not known */
    /* replicas: 0 is a workload switched off on purpose: nothing runs, nothing restarts. */
    if (n >= min || n == 0 || !k5__workload_serving(c, obj))
        return K5_OK;
    /* An HPA owns the count once it targets the workload; its minimum is the floor. */
    int64_t hpa_min = 0;
    const k5_object *hpa = k5__workload_best_hpa(c, obj, &hpa_min);
    if (hpa && hpa_min >= min)
        return K5_OK;
    char why[300];
    if (hpa)
        k5__snprintf(why, sizeof why,
                     "HorizontalPodAutoscaler \"%.*s\" allows %lld (its minReplicas)",
                     (int)hpa->name.n, hpa->name.p, (long long)hpa_min);
    else
        k5__snprintf(why, sizeof why, "no HorizontalPodAutoscaler in the input keeps %lld or more",
                     (long long)min);
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *at = replicas ? replicas : k5_node_is_map(spec) ? spec : obj->root;
    const char *missing = replicas ? NULL : k5_node_is_map(spec) ? "replicas" : "spec.replicas";
    return k5_check_report(c, at, missing,
                           "%.*s \"%.*s\" runs %lld replica%s (%s) and %s: any restart, rollout "
                           "or node drain is a full outage",
                           (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p,
                           (long long)n, n == 1 ? "" : "s",
                           replicas ? "spec.replicas" : "replicas unset, default 1", why);
}

const k5_rule k5__rule_single_replica = {
    .id = "single-replica",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET,
    .scope = K5_SCOPE_SINGLE,
    .cost = "O(HPAs targeting the workload) per workload (hash index by namespace, kind and "
            "name), plus serving: O(Service groups selecting the workload x its ports), as for "
            "readiness-probe-missing",
    .scope_note = "also cross-object: a HorizontalPodAutoscaler in the input that targets the "
                  "workload with minReplicas at or above the minimum satisfies the rule",
    .summary = "A serving Deployment or StatefulSet runs a single replica",
    .explanation =
        "With one pod there is nothing to fail over to: while that pod restarts, is "
        "rescheduled after a node drain, or is replaced by a rollout, the Service has no ready "
        "endpoint and every request gets 503 from the ingress or a connection error. An OOM "
        "kill or a failed liveness probe is a full outage too.",
    .remediation = "Run at least two replicas (spread over nodes with topologySpreadConstraints "
                   "or pod anti-affinity), or let a HorizontalPodAutoscaler with minReplicas 2 "
                   "or more own the count.",
    .example_broken = "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 1\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: web\n"
                      "          image: web:1.0\n"
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .example = "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  replicas: 2\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .params = {{"min", K5_PARAM_INT, "2", "smallest number of replicas that is not a warning"}},
    .check = check,
};
