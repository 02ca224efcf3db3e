/*
 * memory-limit-below-request: a memory limit smaller than the memory request.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Every container, init containers included: the API server rejects any of them. */
    k5__ctr_iter_init(&it, obj, K5__CTR_ALL);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        const k5_node *lim = k5__ctr_resource(ctr, "limits", "memory");
        const k5_node *req = k5__ctr_resource(ctr, "requests", "memory");
        int64_t l, r;
        if (!k5_quantity_node(lim, &l, NULL) || !k5_quantity_node(req, &r, NULL) || l >= r)
            continue;
        k5_str name = k5__container_name(ctr), ls = k5_node_str(lim), rs = k5_node_str(req);
        k5_status st = k5_check_report(
            c, lim, NULL,
            "%s \"%.*s\" of %.*s \"%.*s\" has a memory limit of %.*s, below its request of "
            "%.*s: the API server rejects it, or the container is OOM-killed before it uses "
            "what it asked for",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, (int)ls.n, ls.p, (int)rs.n, rs.p);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_memory_limit_below_request = {
    .id = "memory-limit-below-request",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "A container's memory limit is below its memory request",
    .explanation =
        "Kubernetes requires limit >= request: the API server rejects the pod, so a Deployment "
        "rolls out no new pods (and a template edit that introduces it stalls the rollout). "
        "Where a mutating webhook or LimitRange rewrites one side, the container is killed as "
        "soon as it uses the memory it was scheduled for: 502/503.",
    .remediation = "Raise the limit to at least the request (or lower the request), keeping "
                   "the limit above the measured peak.",
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
                      "            requests: {memory: 256Mi}\n"
                      "            limits: {memory: 128Mi}\n",
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
               "            limits: {memory: 256Mi}\n",
    .check = check,
};
