/*
 * liveness-same-as-readiness: liveness and readiness run the same check and
 * liveness gives up no later than readiness.
 */
#include "k5_check.h"
#include "k5_arith.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        k5__probe live, ready;
        if (!k5__probe_get(ctr, "livenessProbe", &live) ||
            !k5__probe_get(ctr, "readinessProbe", &ready) ||
            !k5__probe_same_handler(ctr, &live, &ready))
            continue;
        /*
         * Both factors are int32 in the API, so a window past int64 only comes from a manifest
         * the API server refuses; such windows cannot be compared exactly: say nothing.
         */
        int64_t lw, rw;
        if (!k5__mul_checked(live.failure, live.period, &lw) ||
            !k5__mul_checked(ready.failure, ready.period, &rw) || lw > rw)
            continue;
        char how[200];
        k5__probe_describe(ctr, &live, how, sizeof how);
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, live.node, NULL,
            "livenessProbe and readinessProbe of %s \"%.*s\" of %.*s \"%.*s\" both run %s, and "
            "the liveness window (%lld x %llds = %llds) is not longer than the readiness window "
            "(%lld x %llds = %llds): an overloaded pod is restarted as it leaves the endpoints",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, how, (long long)live.failure, (long long)live.period,
            (long long)lw, (long long)ready.failure, (long long)ready.period, (long long)rw);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_liveness_same_as_readiness = {
    .id = "liveness-same-as-readiness",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "Liveness and readiness probes run the same check with no longer liveness window",
    .explanation =
        "Readiness should take a busy pod out of rotation so it can recover; liveness should "
        "restart only a pod that is truly stuck. When both run the same check and liveness "
        "fails just as fast, a load spike makes the pod unready and restarts it at the same "
        "moment, its load moves to the remaining pods, which fail in turn: cascading 503s.",
    .remediation = "Give liveness a cheaper check that only fails when the process is wedged "
                   "(not when dependencies are slow), or at least a window "
                   "(failureThreshold x periodSeconds) clearly longer than readiness's.",
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
                      "          readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 3}\n"
                      "          livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 3}\n",
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
               "          readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 10, failureThreshold: 3}\n"
               "          livenessProbe: {httpGet: {path: /livez, port: http}, periodSeconds: 10, failureThreshold: 6}\n",
    .check = check,
};
