/*
 * service-selects-nothing: a Service whose selector matches no pod template
 * of its namespace.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *sel = k5_map_get(spec, "selector");
    if (k5_node_is(k5_map_get(spec, "type"), "ExternalName") || !k5_node_is_map(sel) ||
        !k5_node_len(sel))
        return K5_OK; /* no selector: endpoints are managed by hand or by a controller */
    const k5_index *idx = k5_check_index(c);
    char desc[400];
    k5__selector_describe(sel, K5_SELECTOR_MAP, desc, sizeof desc);
    k5__absence ab;
    k5__absence_of(c, sel, (k5_str){NULL, 0}, &ab);
    size_t workloads = k5_index_count(idx, obj->namespace_, K5_KINDS_WORKLOAD);
    if (workloads && k5__selects_some_pod_of(c, obj, sel, K5_SELECTOR_MAP))
        return K5_OK;
    /* The pods may live in another namespace: certain only when both name theirs. */
    bool implicit = false;
    const k5_object *w = k5__select_elsewhere(c, obj, sel, K5_SELECTOR_MAP, &implicit);
    if (w && implicit && !workloads)
        return K5_OK; /* linted without its workloads, and its namespace is not certain */
    char why[400] = "";
    if (w && implicit)
        k5__implicit_note(obj, w, why, sizeof why);
    if (w)
        return k5_check_report_capped(
            c, implicit ? K5_SEV_WARNING : ab.max, sel, NULL,
            "Service \"%.*s\" in namespace \"%.*s\" selects %s: that selects the pods of %.*s "
            "\"%.*s\" in namespace \"%.*s\", but a Service only selects pods in its own "
            "namespace: the Service has no endpoints%s%s",
            (int)obj->name.n, obj->name.p, (int)obj->namespace_.n, obj->namespace_.p, desc,
            (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, (int)w->namespace_.n,
            w->namespace_.p, why, ab.note);
    /* A Service linted without its workloads is not an error: the pods may come from elsewhere. */
    if (!workloads)
        return K5_OK;
    return k5_check_report_capped(c, ab.max, sel, NULL,
                                  "Service \"%.*s\" selects %s, but no pod template of the %zu in "
                                  "namespace \"%.*s\" has all of these labels: the Service has no "
                                  "endpoints%s",
                                  (int)obj->name.n, obj->name.p, desc, workloads,
                                  (int)obj->namespace_.n, obj->namespace_.p, ab.note);
}

const k5_rule k5__rule_service_selects_nothing = {
    .id = "service-selects-nothing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .cost =
        "O(candidates until the first match) per Service: workloads carrying the selector's first"
        " pair (hash index); only when none matches are the custom resources of the namespace "
        "tried (O(custom resources there)) and then workloads of other namespaces carrying the "
        "same first pair (a label index across namespaces); a selector of only "
        "controller-added keys (pod-template-hash) walks the namespace's workloads"
        "; word-for-word copies of the object, in one file or many (the same manifest "
        "repeated: renders of one chart, examples concatenated or in n files) are searched "
        "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
        "bench/scale_bench.sh figures 8 and 10)",
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
    .example_broken = "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: wbe}\n"
                      "  ports: [{name: http, port: 80, targetPort: http}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
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
                      "          ports: [{name: http, containerPort: 8080}]\n",
    .example = "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: http}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
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
               "          ports: [{name: http, containerPort: 8080}]\n",
    .check = check,
};
