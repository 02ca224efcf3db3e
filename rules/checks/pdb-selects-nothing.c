/*
 * pdb-selects-nothing: a PodDisruptionBudget whose selector matches no pod
 * template of its namespace.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_index *idx = k5_check_index(c);
    size_t workloads = k5_index_count(idx, obj->namespace_, K5_KINDS_WORKLOAD);
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *raw = k5_map_get(spec, "selector");
    const k5_node *sel = k5__pdb_selector(obj);
    if (!raw || k5_node_kind(raw) == K5_NODE_NULL)
        return k5__report_at_path(c, obj->root, "spec.selector",
                               "PodDisruptionBudget \"%.*s\" has no selector: it protects no pod",
                               (int)obj->name.n, obj->name.p);
    if (!k5_node_is_map(raw))
        return K5_OK; /* invalid: the API server rejects it */
    if (sel && !(workloads && k5__selects_some_pod_of(c, obj, sel, K5_SELECTOR_LABEL))) {
        /* The pods may live in another namespace: certain only when both name theirs. */
        bool implicit = false;
        const k5_object *w = k5__select_elsewhere(c, obj, sel, K5_SELECTOR_LABEL, &implicit);
        if (w && !(implicit && !workloads)) {
            k5__absence ab;
            k5__absence_of(c, sel, (k5_str){NULL, 0}, &ab);
            char why[400] = "";
            if (implicit)
                k5__implicit_note(obj, w, why, sizeof why);
            return k5_check_report_capped(
                c, implicit ? K5_SEV_WARNING : ab.max, sel, NULL,
                "PodDisruptionBudget \"%.*s\" in namespace \"%.*s\" selects the pods of %.*s "
                "\"%.*s\" in namespace \"%.*s\", but a PodDisruptionBudget only covers pods in "
                "its own namespace: it protects nothing%s%s",
                (int)obj->name.n, obj->name.p, (int)obj->namespace_.n, obj->namespace_.p,
                (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, (int)w->namespace_.n,
                w->namespace_.p, why, ab.note);
        }
    }
    /* A PDB linted without its workloads is not an error: the pods may come from elsewhere. */
    if (!workloads)
        return K5_OK;
    if (!sel)
        return k5_check_report(c, raw, NULL,
                               "PodDisruptionBudget \"%.*s\" is policy/v1beta1 with an empty "
                               "selector, which selects no pod (only policy/v1 reads {} as every "
                               "pod of the namespace)",
                               (int)obj->name.n, obj->name.p);
    if (k5__selects_some_pod_of(c, obj, sel, K5_SELECTOR_LABEL))
        return K5_OK;
    char desc[400];
    k5__selector_describe(sel, K5_SELECTOR_LABEL, desc, sizeof desc);
    k5__absence ab;
    k5__absence_of(c, sel, (k5_str){NULL, 0}, &ab);
    return k5_check_report_capped(c, ab.max, sel, NULL,
                                  "PodDisruptionBudget \"%.*s\" selects %s, but no pod template of "
                                  "the %zu in namespace \"%.*s\" matches: it protects nothing%s",
                                  (int)obj->name.n, obj->name.p, desc, workloads,
                                  (int)obj->namespace_.n, obj->namespace_.p, ab.note);
}

const k5_rule k5__rule_pdb_selects_nothing = {
    .id = "pdb-selects-nothing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_PDB,
    .scope = K5_SCOPE_CROSS,
    .cost =
        "O(candidates until the first match) per PDB, candidates from the index as for pdb-"
        "blocks-eviction; only when none matches are the custom resources of the namespace "
        "tried (O(custom resources there)) and then workloads of other namespaces: through the "
        "label index across namespaces under the first matchLabels pair, else the values of "
        "the first In expression, else the first Exists key (O(workloads carrying them), "
        "sorted into input order); a selector of NotIn/DoesNotExist alone tries only the "
        "workloads its first expression does not exclude, found by counting over per-label "
        "position lists (O(values x log^2 workloads) per candidate; measured for In and "
        "NotIn: bench/scale_bench.sh)"
        "; word-for-word copies of the object, in one file or many (the same manifest "
        "repeated: renders of one chart, examples concatenated or in n files) are searched "
        "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
        "bench/scale_bench.sh figures 8 and 10)",
    .scope_note = NULL,
    .summary = "A PodDisruptionBudget's selector matches no pod template",
    .explanation =
        "A budget whose selector matches no pod (a typo in a label, labels renamed in the "
        "Deployment but not in the PDB, a policy/v1beta1 empty selector) protects nothing. "
        "Node drains then evict the workload's pods freely, all at once if they share a node, "
        "and the Service answers 503 while the team believes the workload is protected.",
    .remediation = "Make the selector match the pod template's labels exactly (matchLabels and "
                   "matchExpressions are ANDed), in the workload's namespace.",
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
                      "---\n"
                      "apiVersion: policy/v1\n"
                      "kind: PodDisruptionBudget\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  maxUnavailable: 1\n"
                      "  selector:\n"
                      "    matchLabels: {app: wbe}\n",
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
               "---\n"
               "apiVersion: policy/v1\n"
               "kind: PodDisruptionBudget\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  maxUnavailable: 1\n"
               "  selector:\n"
               "    matchLabels: {app: web}\n",
    .check = check,
};
