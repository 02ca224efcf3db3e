/*
 * cpu-limit-too-low: a CPU limit so small that CFS throttling dominates latency.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param(c, 0);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Throttling a plain init container only delays start-up; it serves nothing. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        const k5_node *lim = k5__ctr_resource(ctr, "limits", "cpu");
        int64_t milli;
        /* A zero limit sets no CFS quota at all (the kubelet skips it). */
        if (!k5_quantity_node(lim, NULL, &milli) || milli <= 0 || milli >= min)
            continue;
        k5_str name = k5__container_name(ctr), text = k5_node_str(lim);
        /* The value as written, and in millicores only when that says something new. */
        char as_milli[32], shown[40] = "";
        snprintf(as_milli, sizeof as_milli, "%lldm", (long long)milli);
        if (text.n != strlen(as_milli) || memcmp(text.p, as_milli, text.n) != 0)
            snprintf(shown, sizeof shown, " (%s)", as_milli);
        k5_status st = k5_check_report(
            c, lim, NULL,
            "%s \"%.*s\" of %.*s \"%.*s\" has a CPU limit of %.*s%s, below %lldm: it is "
            "throttled for most of every 100ms CFS period, so requests and probes stall",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, (int)text.n, text.p, shown, (long long)min);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_cpu_limit_too_low = {
    .id = "cpu-limit-too-low",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges regular containers and native sidecars",
    .summary = "A container's CPU limit is below a sane floor",
    .explanation =
        "A CPU limit is enforced as a CFS quota per 100ms period: a container limited to 50m "
        "may run 5ms, then waits 95ms. Every request that needs more CPU than that is "
        "stretched over several periods, probes time out and restart or unready the pod, and "
        "proxies give up on the upstream with 504.",
    .remediation = "Raise the CPU limit well above the per-request CPU cost (or drop the CPU "
                   "limit and rely on the request for scheduling and fair sharing).",
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
                      "            limits: {cpu: 50m}\n",
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
               "            limits: {cpu: 500m}\n",
    .params = {{"min", K5_PARAM_CPU, "100m", "smallest acceptable CPU limit"}},
    .check = check,
};
