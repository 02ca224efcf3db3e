/*
 * hpa-min-replicas-too-low: an HPA allowed to scale its target in to one pod.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t want = k5_check_param(c, 0);
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *min_node = k5_map_get(spec, "minReplicas");
    if (min_node && k5_node_kind(min_node) == K5_NODE_NULL)
        min_node = NULL;
    int64_t min;
    if (!k5__hpa_min_replicas(obj, &min) || min >= want)
        return K5_OK; /* a template placeholder is not judged */
    const k5_node *ref = k5_map_get(spec, "scaleTargetRef");
    k5_str tk = k5_node_str(k5_map_get(ref, "kind")), tn = k5_node_str(k5_map_get(ref, "name"));
    char target[300], absent[300] = "";
    k5_kind tkind = k5_kind_from(k5_node_str(k5_map_get(ref, "apiVersion")), tk);
    /* Name the workload only when the input holds it (hpa-target-missing judges the rest). */
    if (tk.n && tn.n && (tkind & K5_KINDS_WORKLOAD) &&
        k5_index_find(k5_check_index(c), obj->namespace_, tkind, tn)) {
        snprintf(target, sizeof target, "%.*s \"%.*s\"", (int)tk.n, tk.p, (int)tn.n, tn.p);
    } else {
        snprintf(target, sizeof target, "its target");
        if (tk.n && tn.n)
            snprintf(absent, sizeof absent, " (%.*s \"%.*s\", not in the input)", (int)tk.n,
                     tk.p, (int)tn.n, tn.p);
    }
    const k5_node *at = min_node ? min_node : k5_node_is_map(spec) ? spec : obj->root;
    const char *missing = min_node               ? NULL
                          : k5_node_is_map(spec) ? "minReplicas"
                                                 : "spec.minReplicas";
    return k5_check_report(c, at, missing,
                           "HorizontalPodAutoscaler \"%.*s\" has minReplicas %lld%s, below %lld: "
                           "it may scale %s in to %lld pod%s, with no redundancy%s",
                           (int)obj->name.n, obj->name.p, (long long)min,
                           min_node ? "" : " (unset, default 1)", (long long)want, target,
                           (long long)min, min == 1 ? "" : "s", absent);
}

const k5_rule k5__rule_hpa_min_replicas_too_low = {
    .id = "hpa-min-replicas-too-low",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_HPA,
    .scope = K5_SCOPE_SINGLE,
    .cost = "O(1) per HPA: its target is looked up by namespace, kind and name",
    .scope_note = NULL,
    .summary = "A HorizontalPodAutoscaler may scale its workload in to a single pod",
    .explanation =
        "At quiet hours the autoscaler scales in to minReplicas. With one pod left, its next "
        "restart, eviction or rollout leaves the Service without a ready endpoint, and every "
        "request is answered 503 until a replacement is ready; the traffic spike that follows "
        "also hits one cold pod.",
    .remediation = "Set minReplicas to at least 2 so that one pod can always fail or be "
                   "replaced while another serves.",
    .example_broken = "apiVersion: autoscaling/v2\n"
                      "kind: HorizontalPodAutoscaler\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
                      "  minReplicas: 1\n"
                      "  maxReplicas: 10\n",
    .example = "apiVersion: autoscaling/v2\n"
               "kind: HorizontalPodAutoscaler\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
               "  minReplicas: 2\n"
               "  maxReplicas: 10\n",
    .params = {{"min", K5_PARAM_INT, "2", "smallest minReplicas that is not a warning"}},
    .check = check,
};
