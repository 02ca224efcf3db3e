/*
 * memory-limit-missing: a container that runs next to the application has no
 * memory limit.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    /* Pod-level resources (spec.resources) bound every container together. */
    if (k5__pod_resource(obj, "limits", "memory"))
        return K5_OK;
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Plain init containers run to completion before the app starts: they cannot starve it. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        if (k5__ctr_resource(ctr, "limits", "memory"))
            continue;
        char missing[64], req[64] = "";
        const k5_node *at = k5__ctr_resource_parent(ctr, "limits", "memory", missing,
                                                    sizeof missing);
        const k5_node *rq = k5__ctr_resource(ctr, "requests", "memory");
        if (rq) {
            k5_str r = k5_node_str(rq);
            k5__snprintf(req, sizeof req, " (it requests %.*s)", (int)r.n, r.p);
        }
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, at, missing,
            "%s \"%.*s\" of %.*s \"%.*s\" has no memory limit%s: a leak grows until the node "
            "runs out of memory and the kubelet evicts or OOM-kills its neighbours",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, req);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_memory_limit_missing = {
    .id = "memory-limit-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges regular containers and native sidecars (init containers with "
                  "restartPolicy: Always); a pod-level spec.resources.limits.memory satisfies it",
    .summary = "A container has no memory limit",
    .explanation =
        "Without a limit a container may use all the memory of its node. A leak or a traffic "
        "spike in one pod then drives the node into memory pressure: the kubelet evicts pods "
        "and the kernel OOM-kills processes, often healthy neighbours rather than the culprit, "
        "and their Services lose endpoints: 503.",
    .remediation = "Set resources.limits.memory on every container, above its measured peak "
                   "working set, and a request close to its typical usage.",
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
                      "            requests: {memory: 256Mi}\n",
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
