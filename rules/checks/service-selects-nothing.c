/*
 * service-selects-nothing: a Service whose selector matches no pod template
 * of its namespace.
 */
#include "check_workload.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *sel = k5_map_get(spec, "selector");
    if (k5_node_is(k5_map_get(spec, "type"), "ExternalName") || !k5_node_is_map(sel) ||
        !k5_node_len(sel))
        return K5_OK; /* no selector: endpoints are managed by hand or by a controller */
    const k5_index *idx = k5_check_index(c);
    /* A Service linted without its workloads is not an error: the pods may come from elsewhere. */
    size_t workloads = k5_index_count(idx, obj->namespace_, K5_KINDS_WORKLOAD);
    if (!workloads)
        return K5_OK;
    if (k5__selects_some_pod(c, obj->namespace_, sel, K5_SELECTOR_MAP))
        return K5_OK;
    char desc[400];
    k5__selector_describe(sel, K5_SELECTOR_MAP, desc, sizeof desc);
    return k5_check_report(c, sel, NULL,
                           "Service \"%.*s\" selects %s, but no pod template of the %zu in "
                           "namespace \"%.*s\" has all of these labels: the Service has no "
                           "endpoints",
                           (int)obj->name.n, obj->name.p, desc, workloads, (int)obj->namespace_.n,
                           obj->namespace_.p);
}

const k5_rule k5__rule_service_selects_nothing = {
    .id = "service-selects-nothing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = NULL,
    .summary = "A Service's selector matches no pod template",
    .explanation =
        "A Service selects the pods whose labels contain every pair of its selector, in its own "
        "namespace. When none match (a typo, a label renamed in the Deployment, a Service in "
        "the wrong namespace) the Service has no endpoints: ingress controllers answer 503 and "
        "in-cluster clients get connection refused or timeouts.",
    .remediation = "Make every selector pair appear in the pod template's labels "
                   "(spec.template.metadata.labels, not the Deployment's own metadata.labels), "
                   "and create the Service in the workload's namespace.",
    .example = "# Deployment\n"
               "spec:\n"
               "  template:\n"
               "    metadata:\n"
               "      labels: {app: web, tier: front}\n"
               "---\n"
               "# Service\n"
               "spec:\n"
               "  selector: {app: web}\n",
    .nparams = 0,
    .check = check,
};
