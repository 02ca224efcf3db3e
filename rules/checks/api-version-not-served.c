/*
 * api-version-not-served: a built-in kind under an apiVersion the API server
 * does not serve for it (`apiVersion: v1` with `kind: PodDisruptionBudget`).
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const char *served = NULL;
    if (!k5_kind_api_version_impossible(obj->api_version, obj->kind, &served))
        return K5_OK;
    return k5_check_report(
        c, k5_map_get(obj->root, "apiVersion"), NULL,
        "%.*s \"%.*s\" is not served under apiVersion \"%.*s\" (served: %s): the API server "
        "rejects it (no matches for kind \"%.*s\" in version \"%.*s\"): the object is never "
        "created",
        (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p, (int)obj->api_version.n,
        obj->api_version.p, served, (int)obj->kind.n, obj->kind.p, (int)obj->api_version.n,
        obj->api_version.p);
}

const k5_rule k5__rule_api_version_not_served = {
    .id = "api-version-not-served",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_ALL,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "built-in kinds under a Kubernetes API group only: custom resources, "
                  "unknown kinds and removed versions (policy/v1beta1, extensions/v1beta1) "
                  "stay silent",
    .summary = "A built-in kind under an apiVersion the API server does not serve for it",
    .explanation =
        "`kubectl apply` and Helm fail on the whole object (\"no matches for kind "
        "PodDisruptionBudget in version v1\"): the PodDisruptionBudget, probe or Service the "
        "manifest meant to add never exists, so the drains, rollouts and selections it was "
        "meant to protect produce the 502/503s it was written against. Worse, a partial apply "
        "leaves the objects before it changed and the ones after it untouched. Linters that "
        "skip unknown apiVersions silently judge nothing in it.",
    .remediation = "Use the apiVersion the kind is served under (kube5xx names it): policy/v1 "
                   "for PodDisruptionBudget, apps/v1 for Deployment, StatefulSet and "
                   "DaemonSet, networking.k8s.io/v1 for Ingress, autoscaling/v2 for "
                   "HorizontalPodAutoscaler.",
    .example_broken = "apiVersion: v1\n"
                      "kind: PodDisruptionBudget\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  maxUnavailable: 1\n"
                      "  selector:\n"
                      "    matchLabels: {app: web}\n",
    .example = "apiVersion: policy/v1\n"
               "kind: PodDisruptionBudget\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  maxUnavailable: 1\n"
               "  selector:\n"
               "    matchLabels: {app: web}\n",
    .check = check,
};
