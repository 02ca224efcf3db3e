/*
 * liveness-probe-aggressive: a liveness probe that restarts a container after
 * one slow moment.
 */
#include "k5_check.h"
#include "k5_arith.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param(c, 0);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        k5__probe p;
        if (!k5__probe_get(ctr, "livenessProbe", &p))
            continue;
        /* Saturated: a window past int64 is long, never "below" the minimum. */
        int64_t window = k5__mul_sat(p.failure, p.period);
        bool short_window = window < min;
        bool one_shot = p.timeout == 1 && p.failure == 1;
        if (!short_window && !one_shot)
            continue;
        /* Point at the field that made it aggressive. */
        const k5_node *at = short_window ? (p.period_node ? p.period_node : p.failure_node)
                                         : p.failure_node;
        if (!at)
            at = p.node;
        char what[160];
        if (short_window)
            snprintf(what, sizeof what, "a window of %lld x %llds = %llds, below %llds%s",
                     (long long)p.failure, (long long)p.period, (long long)window,
                     (long long)min, one_shot ? ", and a single 1s timeout restarts it" : "");
        else
            snprintf(what, sizeof what,
                     "failureThreshold 1 with timeoutSeconds 1%s: one response slower than 1s "
                     "restarts it",
                     p.timeout_node ? "" : " (default)");
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, at, NULL, "livenessProbe of %s \"%.*s\" of %.*s \"%.*s\" has %s",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, what);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_liveness_probe_aggressive = {
    .id = "liveness-probe-aggressive",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "A liveness probe restarts the container after a very short failure",
    .explanation =
        "The kubelet restarts a container once its liveness probe has failed failureThreshold "
        "times in a row, periodSeconds apart. With a window of a few seconds, or a single 1s "
        "timeout, one garbage-collection pause or burst of traffic kills a healthy process: "
        "its in-flight requests fail with 502, and repeated restarts end in CrashLoopBackOff.",
    .remediation = "Give liveness a window of tens of seconds (failureThreshold x "
                   "periodSeconds) and a timeoutSeconds above the endpoint's worst latency; "
                   "use a startupProbe for slow starts.",
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
                      "          livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}\n",
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
               "          livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 3}\n",
    .params = {{"min-window", K5_PARAM_SECONDS, "10s",
                "shortest acceptable failureThreshold x periodSeconds"}},
    .check = check,
};
