/*
 * memory-request-missing: a container that runs next to the application has
 * no memory request (and no limit for Kubernetes to default one from).
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (k5__pod_resource(obj, "requests", "memory") || k5__pod_resource(obj, "limits", "memory"))
        return K5_OK;
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        /* The API server copies a limit into an absent request. */
        if (k5__ctr_resource(ctr, "requests", "memory") || k5__ctr_resource(ctr, "limits", "memory"))
            continue;
        char missing[64];
        const k5_node *at = k5__ctr_resource_parent(ctr, "requests", "memory", missing,
                                                    sizeof missing);
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, at, missing,
            "%s \"%.*s\" of %.*s \"%.*s\" has no memory request (and no limit to default it "
            "from): the scheduler counts it as 0 bytes and may pack the node beyond its memory",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_memory_request_missing = {
    .id = "memory-request-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges regular containers and native sidecars; a memory limit counts, since "
                  "Kubernetes defaults the request to the limit",
    .summary = "A container has no memory request",
    .explanation =
        "The scheduler places pods by their requests; a container without one counts as using "
        "no memory, so the node is overcommitted. When real usage catches up the node comes "
        "under memory pressure and the kubelet evicts pods, BestEffort and Burstable ones "
        "first: their Services lose endpoints and answer 503.",
    .remediation = "Set resources.requests.memory to the container's typical working set (and "
                   "a limit above its peak).",
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
                      "          resources:\n"
                      "            limits: {cpu: 500m}\n",
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
               "          resources:\n"
               "            requests: {memory: 256Mi}\n"
               "            limits: {cpu: 500m}\n",
    .check = check,
};
