/*
 * pdb-selects-nothing: a PodDisruptionBudget whose selector matches no pod
 * template of its namespace.
 */
#include "check_workload.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_index *idx = k5_check_index(c);
    /* A PDB linted without its workloads is not an error: the pods may come from elsewhere. */
    size_t workloads = k5_index_count(idx, obj->namespace_, K5_KINDS_WORKLOAD);
    if (!workloads)
        return K5_OK;
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *raw = k5_map_get(spec, "selector");
    const k5_node *sel = k5__pdb_selector(obj);
    if (!raw || k5_node_kind(raw) == K5_NODE_NULL)
        return k5_check_report(c, k5_node_is_map(spec) ? spec : obj->root,
                               k5_node_is_map(spec) ? "selector" : "spec.selector",
                               "PodDisruptionBudget \"%.*s\" has no selector: it protects no pod",
                               (int)obj->name.n, obj->name.p);
    if (!k5_node_is_map(raw))
        return K5_OK; /* invalid: the API server rejects it */
    if (!sel)
        return k5_check_report(c, raw, NULL,
                               "PodDisruptionBudget \"%.*s\" is policy/v1beta1 with an empty "
                               "selector, which selects no pod (only policy/v1 reads {} as every "
                               "pod of the namespace)",
                               (int)obj->name.n, obj->name.p);
    if (k5__selects_some_pod(c, obj->namespace_, sel, K5_SELECTOR_LABEL))
        return K5_OK;
    char desc[400];
    k5__selector_describe(sel, K5_SELECTOR_LABEL, desc, sizeof desc);
    return k5_check_report(c, sel, NULL,
                           "PodDisruptionBudget \"%.*s\" selects %s, but no pod template of the "
                           "%zu in namespace \"%.*s\" matches: it protects nothing",
                           (int)obj->name.n, obj->name.p, desc, workloads, (int)obj->namespace_.n,
                           obj->namespace_.p);
}

const k5_rule k5__rule_pdb_selects_nothing = {
    .id = "pdb-selects-nothing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_PDB,
    .scope = K5_SCOPE_CROSS,
    .scope_note = NULL,
    .summary = "A PodDisruptionBudget's selector matches no pod template",
    .explanation =
        "A budget whose selector matches no pod (a typo in a label, labels renamed in the "
        "Deployment but not in the PDB, a policy/v1beta1 empty selector) protects nothing. "
        "Node drains then evict the workload's pods freely, all at once if they share a node, "
        "and the Service answers 503 while the team believes the workload is protected.",
    .remediation = "Make the selector match the pod template's labels exactly (matchLabels and "
                   "matchExpressions are ANDed), in the workload's namespace.",
    .example = "# Deployment: spec.template.metadata.labels: {app: web}\n"
               "apiVersion: policy/v1\n"
               "kind: PodDisruptionBudget\n"
               "spec:\n"
               "  maxUnavailable: 1\n"
               "  selector:\n"
               "    matchLabels:\n"
               "      app: web\n",
    .nparams = 0,
    .check = check,
};
