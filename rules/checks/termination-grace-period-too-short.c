/*
 * termination-grace-period-too-short: a serving workload that leaves its
 * containers no time to drain.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *node;
    int64_t grace = k5__pod_grace_seconds(obj, &node), min = k5_check_param(c, 0);
    /* Unset means the default of 30s, which is never judged too short here. */
    if (!node || grace >= min)
        return K5_OK;
    k5__serving sv;
    k5__serving_of(c, obj, &sv);
    k5__ctr_iter it;
    const k5_node *ctr, *serving = NULL;
    k5__ctr_iter_init(&it, obj, K5__CTR_MAIN);
    while (!serving && (ctr = k5__ctr_next(&it, NULL)) != NULL)
        if (k5__serving_has(&sv, obj, ctr))
            serving = ctr;
    if (!serving)
        return K5_OK;
    k5_str name = k5__container_name(serving);
    return k5_check_report(
        c, node, NULL,
        "terminationGracePeriodSeconds of %.*s \"%.*s\" is %lld, below %llds: serving container "
        "\"%.*s\" is SIGKILLed before it can finish its in-flight requests",
        (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p, (long long)grace,
        (long long)min, (int)name.n, name.p);
}

const k5_rule k5__rule_termination_grace_period_too_short = {
    .id = "termination-grace-period-too-short",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .cost = K5__COST_SERVING,
    .scope_note = "also cross-object: a container without ports counts as serving when a "
                  "Service in the input selects its pod template",
    .summary = "A serving workload's terminationGracePeriodSeconds is too short to drain",
    .explanation =
        "terminationGracePeriodSeconds is all the time a pod gets between the start of its "
        "shutdown (preStop, then SIGTERM) and SIGKILL. Load balancers keep sending requests "
        "for a few seconds after the pod starts terminating, and requests already in flight "
        "need time to finish; a pod killed sooner resets those connections: 502.",
    .remediation = "Leave terminationGracePeriodSeconds unset (30s) or set it above the "
                   "preStop delay plus your slowest request.",
    .example_broken = "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      terminationGracePeriodSeconds: 2\n"
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
               "      terminationGracePeriodSeconds: 30\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .params = {{"min", K5_PARAM_SECONDS, "5s", "shortest acceptable grace period"}},
    .check = check,
};
