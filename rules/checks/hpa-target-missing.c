/*
 * hpa-target-missing: an HPA whose scaleTargetRef names no workload of the input.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *ref = k5_node_at(obj->root, "spec.scaleTargetRef");
    const k5_node *name_node = k5_map_get(ref, "name");
    k5_str api = k5_node_str(k5_map_get(ref, "apiVersion"));
    k5_str kind = k5_node_str(k5_map_get(ref, "kind")), name = k5_node_str(name_node);
    if (!kind.n || !name.n)
        return K5_OK; /* invalid: the API server rejects it */
    k5_kind target = k5_kind_from(api, kind);
    /* A custom resource with a scale subresource (an Argo Rollout...): not ours to judge. */
    if (!(target & K5_KINDS_WORKLOAD))
        return K5_OK;
    const k5_index *idx = k5_check_index(c);
    if (k5_index_find(idx, obj->namespace_, target, name))
        return K5_OK;
    k5__absence ab;
    k5__absence_of(c, NULL, name, &ab);
    bool implicit = false;
    size_t workloads = k5_index_count(idx, obj->namespace_, K5_KINDS_WORKLOAD);
    const k5_object *other = k5__find_elsewhere(c, obj, target, kind, name, &implicit);
    if (other && !(implicit && !workloads)) {
        char why[400] = "";
        if (implicit)
            k5__implicit_note(obj, other, why, sizeof why);
        return k5_check_report_capped(
            c, implicit ? K5_SEV_WARNING : ab.max, name_node, NULL,
            "HorizontalPodAutoscaler \"%.*s\" in namespace \"%.*s\" scales %.*s \"%.*s\", which "
            "exists only in namespace \"%.*s\": an autoscaler scales workloads of its own "
            "namespace only, so nothing scales out under load%s%s",
            (int)obj->name.n, obj->name.p, (int)obj->namespace_.n, obj->namespace_.p,
            (int)kind.n, kind.p, (int)name.n, name.p, (int)other->namespace_.n,
            other->namespace_.p, why, ab.note);
    }
    /* An HPA linted without its workloads is not an error: the target may come from elsewhere. */
    if (!workloads)
        return K5_OK;
    return k5_check_report_capped(
        c, ab.max, name_node, NULL,
        "HorizontalPodAutoscaler \"%.*s\" scales %.*s \"%.*s\", which is not in namespace "
        "\"%.*s\" (%zu other workload%s there): nothing scales out under load%s",
        (int)obj->name.n, obj->name.p, (int)kind.n, kind.p, (int)name.n, name.p,
        (int)obj->namespace_.n, obj->namespace_.p, workloads, workloads == 1 ? "" : "s",
        ab.note);
}

const k5_rule k5__rule_hpa_target_missing = {
    .id = "hpa-target-missing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_HPA,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per HPA: its target is looked up by namespace, kind and name; when it is missing, "
            "other namespaces are searched through an index by name (O(objects of that name))",
    .scope_note = NULL,
    .summary = "A HorizontalPodAutoscaler's scaleTargetRef names no workload",
    .explanation =
        "An autoscaler whose target does not exist (a typo, a renamed Deployment, the wrong "
        "kind or namespace) reports FailedGetScale and scales nothing. The workload it was "
        "meant for stays at its manifest's replica count, and the next traffic peak is "
        "answered with 503 and 504 by pods that were supposed to be joined by more.",
    .remediation = "Point scaleTargetRef at the workload's apiVersion, kind and name, in the "
                   "autoscaler's own namespace.",
    .example_broken = "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: api}\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  selector: {matchLabels: {app: api}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: api}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: api\n"
                      "          image: api:1.0\n"
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "---\n"
                      "apiVersion: autoscaling/v2\n"
                      "kind: HorizontalPodAutoscaler\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web-api}\n"
                      "  minReplicas: 2\n"
                      "  maxReplicas: 10\n",
    .example = "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: api}\n"
               "spec:\n"
               "  replicas: 2\n"
               "  selector: {matchLabels: {app: api}}\n"
               "  template:\n"
               "    metadata: {labels: {app: api}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: api\n"
               "          image: api:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "---\n"
               "apiVersion: autoscaling/v2\n"
               "kind: HorizontalPodAutoscaler\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}\n"
               "  minReplicas: 2\n"
               "  maxReplicas: 10\n",
    .nparams = 0,
    .check = check,
};
