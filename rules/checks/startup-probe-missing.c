/*
 * startup-probe-missing: a livenessProbe that waits a long initialDelaySeconds instead of
 * a startupProbe.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param(c, 0);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Native sidecars run for the pod's life and may have probes too. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        const k5_node *live = k5_map_get(ctr, "livenessProbe");
        const k5_node *delay = k5_map_get(live, "initialDelaySeconds");
        int64_t d;
        if (!k5_node_is_map(live) || k5_map_get(ctr, "startupProbe") || !k5_node_int(delay, &d) ||
            d < min)
            continue;
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, delay, NULL,
            "livenessProbe of %s \"%.*s\" of %.*s \"%.*s\" waits initialDelaySeconds %lld and "
            "there is no startupProbe: a start slower than %llds is killed in a restart loop, "
            "and a hang in the first %llds after every restart goes unnoticed while the pod "
            "still takes traffic",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, (long long)d, (long long)d, (long long)d);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_startup_probe_missing = {
    .id = "startup-probe-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "A livenessProbe covers a slow start with a long initialDelaySeconds instead of "
               "a startupProbe",
    .explanation =
        "A long initialDelaySeconds is a guess at the start time. When a start takes longer "
        "(a cold cache, a migration, a slow node), the liveness probe kills the container "
        "before it is up, again and again: the workload loses capacity and the remaining pods "
        "answer 503 under the extra load. When the guess is generous, a container that hangs "
        "right after a restart is not noticed for the whole delay. A startupProbe holds the "
        "liveness probe back only until the first success, for as long as "
        "failureThreshold x periodSeconds allows.",
    .remediation = "Add a startupProbe on the same check with a failureThreshold x "
                   "periodSeconds that covers the slowest start, and drop the livenessProbe's "
                   "initialDelaySeconds.",
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
                      "          readinessProbe: {httpGet: {path: /ready, port: http}}\n"
                      "          livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 120}\n",
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
               "          startupProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 12}\n"
               "          livenessProbe: {httpGet: {path: /healthz, port: http}}\n",
    .params = {{"min-initial-delay", K5_PARAM_SECONDS, "30s",
                "the livenessProbe initialDelaySeconds from which a startupProbe is expected"}},
    .nparams = 1,
    .check = check,
};
