/*
 * prestop-exceeds-grace-period: a preStop sleep that the grace period cuts off.
 */
#include "k5_check.h"
#include "k5_arith.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *gnode;
    int64_t grace = k5__pod_grace_seconds(obj, &gnode);
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Native sidecars get their preStop too, and share the pod's grace period. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        int64_t ms;
        const k5_node *at;
        if (!k5__prestop_sleep(k5_node_at(ctr, "lifecycle.preStop"), &ms, &at) || ms <= 0 ||
            ms < k5__mul_sat(grace, 1000))
            continue;
        char sleep[48];
        if (ms == INT64_MAX) /* saturated: the exact sleep does not fit in int64 milliseconds */
            snprintf(sleep, sizeof sleep, "more than %llds", (long long)(INT64_MAX / 1000));
        else if (ms % 1000)
            snprintf(sleep, sizeof sleep, "%lld.%03llds", (long long)(ms / 1000),
                     (long long)(ms % 1000));
        else
            snprintf(sleep, sizeof sleep, "%llds", (long long)(ms / 1000));
        k5_str name = k5__container_name(ctr);
        k5_status st = k5_check_report(
            c, at, NULL,
            "preStop of %s \"%.*s\" of %.*s \"%.*s\" sleeps %s but terminationGracePeriodSeconds "
            "is %lld%s: the kubelet SIGKILLs the container before it finishes draining",
            k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
            (int)obj->name.n, obj->name.p, sleep, (long long)grace, gnode ? "" : " (default)");
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_prestop_exceeds_grace_period = {
    .id = "prestop-exceeds-grace-period",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "judges the native sleep action and an exec of `sleep N`, directly or as "
                  "the first command of `sh -c`; any other exec has unknown duration",
    .summary = "A preStop sleep is as long as the termination grace period, or longer",
    .explanation =
        "The grace period counts from the start of the preStop hook, not from SIGTERM. A "
        "preStop that sleeps as long as terminationGracePeriodSeconds uses up the whole "
        "budget: the kubelet SIGKILLs the container (after a 2s extension) before the "
        "application ever receives SIGTERM, so every request still in flight is cut off: 502.",
    .remediation = "Keep the preStop sleep well below terminationGracePeriodSeconds: the "
                   "sleep only has to outlast endpoint removal (a few seconds), and the rest "
                   "of the grace period is for the application's own graceful shutdown.",
    .example_broken = "apiVersion: apps/v1\n"
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
                      "          lifecycle: {preStop: {sleep: {seconds: 30}}}\n",
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
               "          lifecycle: {preStop: {sleep: {seconds: 10}}}\n",
    .check = check,
};
