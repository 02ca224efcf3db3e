/*
 * memory-limit-too-low: a memory limit below a sane floor.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param(c, 0);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* A floor is a heuristic for what serves: a plain init container copying a file lives in
     * 16Mi (the same policy as cpu-limit-too-low; see k5__ctr_role). */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        const k5_node *lim = k5__ctr_resource(ctr, "limits", "memory");
        int64_t bytes;
        if (!lim || !k5_quantity_node(lim, &bytes, NULL) || bytes >= min)
            continue;
        k5_str name = k5__container_name(ctr), text = k5_node_str(lim);
        char floor[32];
        k5_bytes_fmt(min, floor, sizeof floor);
        k5_status st = k5_check_report(
            c, lim, NULL,
            "%s \"%.*s\" of %.*s \"%.*s\" has a memory limit of %.*s, below %s: it is "
            "OOMKilled at the first real load",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, (int)text.n, text.p, floor);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_memory_limit_too_low = {
    .id = "memory-limit-too-low",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges regular containers and native sidecars",
    .summary = "A container's memory limit is below a sane floor",
    .explanation =
        "A limit this small leaves no headroom for the runtime, buffers and a burst of "
        "concurrent requests. The kernel OOM-kills the container the first time real traffic "
        "arrives; its in-flight requests fail with 502, and while it restarts (with growing "
        "back-off) the Service has fewer or no endpoints: 503.",
    .remediation = "Measure the container's working set under load (kubectl top, or the "
                   "container_memory_working_set_bytes metric) and set the limit with headroom "
                   "above the peak; keep the request close to the typical usage.",
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
                      "            requests: {memory: 32Mi}\n"
                      "            limits: {memory: 32Mi}\n",
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
    .params = {{"min", K5_PARAM_MEMORY, "64Mi", "smallest acceptable memory limit"}},
    .check = check,
};
