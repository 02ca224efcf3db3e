/*
 * rollout-causes-downtime: a serving Deployment whose rollout takes every pod
 * down at once (Recreate, or a RollingUpdate whose maxUnavailable covers all
 * replicas).
 */
#include "k5_check.h"

/* Beyond this the percentage arithmetic could overflow; no real Deployment gets near it. */
#define MAX_JUDGED_REPLICAS 1000000

static void describe_count(const k5__scale *s, char *buf, size_t size)
{
    if (s->replicas)
        k5__snprintf(buf, size, "replicas %lld", (long long)s->count);
    else if (s->hpa)
        k5__snprintf(buf, size,
                     "replicas %lld from the minReplicas of HorizontalPodAutoscaler \"%.*s\"",
                     (long long)s->count, (int)s->hpa->name.n, s->hpa->name.p);
    else
        k5__snprintf(buf, size, "replicas %lld by default", (long long)s->count);
}

static void describe_value(const k5_node *n, const char *dflt, char *buf, size_t size)
{
    k5_str s = k5_node_str(n);
    if (n)
        k5__snprintf(buf, size, "%.*s", (int)s.n, s.p);
    else
        k5__snprintf(buf, size, "%s (default)", dflt);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5__scale s;
    k5__workload_scale(c, obj, &s);
    if (!s.known || s.count <= 0 || s.count > MAX_JUDGED_REPLICAS || !k5__workload_serving(c, obj))
        return K5_OK;
    char count[200];
    describe_count(&s, count, sizeof count);
    const k5_node *strategy = k5_node_at(obj->root, "spec.strategy");
    const k5_node *type = k5_map_get(strategy, "type");
    if (k5_node_is(type, "Recreate"))
        return k5_check_report(c, type, NULL,
                               "Deployment \"%.*s\" uses the Recreate strategy: every rollout "
                               "stops all pods before it starts new ones (%s)",
                               (int)obj->name.n, obj->name.p, count);
    if (type && !k5_node_is(type, "RollingUpdate"))
        return K5_OK; /* invalid: the API server rejects it */
    const k5_node *ru = k5_map_get(strategy, "rollingUpdate");
    const k5_node *mu = k5_map_get(ru, "maxUnavailable");
    const k5_node *ms = k5_map_get(ru, "maxSurge");
    k5_intstr mu_v = {false, 0, {"25%", 3}, NULL}, ms_v = {false, 0, {"25%", 3}, NULL};
    if ((mu && !k5_intstr_get(mu, &mu_v)) || (ms && !k5_intstr_get(ms, &ms_v)))
        return K5_OK;
    int64_t unavailable, surge;
    /* As the Deployment controller resolves them: maxUnavailable rounds down, maxSurge up. */
    if (!k5_intstr_scaled(&mu_v, s.count, false, &unavailable) ||
        !k5_intstr_scaled(&ms_v, s.count, true, &surge) || unavailable < 0 || surge < 0)
        return K5_OK;
    bool fencepost = unavailable == 0 && surge == 0;
    if (fencepost)
        unavailable = 1; /* the controller's fencepost: it must make progress somehow */
    if (s.count - unavailable > 0)
        return K5_OK;
    char mu_s[80], ms_s[80];
    describe_value(mu, "25%", mu_s, sizeof mu_s);
    describe_value(ms, "25%", ms_s, sizeof ms_s);
    const k5_node *at = mu ? mu : ms ? ms : obj->root;
    if (fencepost)
        return k5_check_report(c, at, NULL,
                               "Deployment \"%.*s\": %s with maxUnavailable %s and maxSurge %s: "
                               "the controller falls back to maxUnavailable 1, which leaves "
                               "%lld pods during a rollout",
                               (int)obj->name.n, obj->name.p, count, mu_s, ms_s,
                               (long long)(s.count - unavailable));
    int64_t left = s.count - unavailable;
    return k5_check_report(c, at, NULL,
                           "Deployment \"%.*s\": %s with maxUnavailable %s leaves %lld pods "
                           "during a rollout",
                           (int)obj->name.n, obj->name.p, count, mu_s,
                           (long long)(left < 0 ? 0 : left));
}

const k5_rule k5__rule_rollout_causes_downtime = {
    .id = "rollout-causes-downtime",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_DEPLOYMENT,
    .scope = K5_SCOPE_SINGLE,
    .cost = "O(HPAs targeting the workload) per workload (hash index by namespace, kind and "
            "name), plus serving: O(Service groups selecting the workload x its ports), as for "
            "readiness-probe-missing",
    .scope_note = "also cross-object: where replicas is unset, the minReplicas of a "
                  "HorizontalPodAutoscaler in the input that targets the Deployment is the count",
    .summary = "A serving Deployment's rollout takes all of its pods down at once",
    .explanation =
        "The Recreate strategy deletes every old pod before the first new one starts, and a "
        "RollingUpdate whose maxUnavailable resolves to the replica count may do the same. "
        "Until the new pods pass their readiness probes the Service has no endpoints, so every "
        "deploy is an outage answered with 503 by the ingress.",
    .remediation = "Use a RollingUpdate that keeps pods available: maxUnavailable below the "
                   "replica count (0 with maxSurge 1 or 25% is the safest), and at least two "
                   "replicas. Keep Recreate only for workloads that cannot run two versions at "
                   "once, and accept the downtime explicitly.",
    .example_broken = "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  strategy: {rollingUpdate: {maxUnavailable: 2, maxSurge: 0}}\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
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
               "  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .check = check,
};
