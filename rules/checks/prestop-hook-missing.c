/*
 * prestop-hook-missing: a serving container without lifecycle.preStop.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5__serving sv;
    k5__serving_of(c, obj, &sv);
    if (!sv.serving)
        return K5_OK;
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_MAIN);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        const k5_node *lc = k5_map_get(ctr, "lifecycle");
        if (k5_map_get(lc, "preStop") || !k5__serving_has(&sv, obj, ctr))
            continue;
        k5_str name = k5__container_name(ctr);
        k5_status st = k5__report_at_path(
            c, ctr, "lifecycle.preStop",
            "container \"%.*s\" of %.*s \"%.*s\" serves traffic but has no preStop hook: it gets "
            "SIGTERM while still in the Service endpoints and ingress upstreams",
            (int)name.n, name.p, (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_prestop_hook_missing = {
    .id = "prestop-hook-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .cost = K5__COST_SERVING,
    .scope_note = K5__SCOPE_SERVING_CONTAINERS,
    .summary = "A serving container has no preStop hook",
    .explanation =
        "When a pod is deleted, the kubelet sends SIGTERM at the same moment the endpoints "
        "controller starts removing the pod from Services; kube-proxy, ingress controllers and "
        "cloud load balancers learn of it seconds later. A process that exits on SIGTERM "
        "drops the connections still being routed to it: 502 and 503 on every rollout and "
        "scale-down.",
    .remediation = "Add a preStop hook that waits a few seconds (longer than your ingress and "
                   "load balancer take to remove an endpoint, shorter than "
                   "terminationGracePeriodSeconds) so the pod stops receiving traffic before "
                   "it gets SIGTERM.",
    .example_broken = "apiVersion: apps/v1\n"
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
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n"
               "          lifecycle: {preStop: {sleep: {seconds: 10}}}\n",
    .check = check,
};
