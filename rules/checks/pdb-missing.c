/*
 * pdb-missing: a replicated Deployment or StatefulSet that no
 * PodDisruptionBudget protects.
 */
#include "k5_check.h"

static bool found_one(const k5_object *o, void *ud)
{
    (void)o;
    *(bool *)ud = true;
    return false;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *replicas = k5_node_at(obj->root, "spec.replicas");
    if (replicas && k5_node_kind(replicas) == K5_NODE_NULL)
        replicas = NULL;
    int64_t n = 1, hpa_min = 0;
    if (replicas && !k5_node_int(replicas, &n))
        return K5_OK; /* a template placeholder: the count is not known */
    /* An HPA owns the count once it targets the workload: its minimum is what a drain meets. */
    const k5_object *hpa = k5__workload_best_hpa(c, obj, &hpa_min);
    if (n < 2 && !(hpa && hpa_min >= 2))
        return K5_OK;
    /* Copies of one manifest (k5__memo_copy) are covered alike: searched once for all. */
    bool copies, found = false;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const bool *kept = copies ? k5__memo_get(c, K5__MEMO_PDB_COVERED, twin) : NULL;
    if (kept) {
        found = *kept;
    } else {
        k5_index_pdbs_for(k5_check_index(c), obj, found_one, &found);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_PDB_COVERED, twin, &found, sizeof found);
    }
    if (found)
        return K5_OK;
    char count[200], labels[300];
    if (n >= 2)
        k5__snprintf(count, sizeof count, "runs %lld replicas", (long long)n);
    else
        k5__snprintf(
            count, sizeof count,
            "runs at least %lld replicas (minReplicas of HorizontalPodAutoscaler \"%.*s\")",
            (long long)hpa_min, (int)hpa->name.n, hpa->name.p);
    if (k5_node_len(obj->pod_labels))
        k5__selector_describe(obj->pod_labels, K5_SELECTOR_MAP, labels, sizeof labels);
    else
        k5__snprintf(labels, sizeof labels, "none: its pod template declares no labels");
    const k5_node *at = n >= 2 ? replicas : obj->pod_labels;
    const char *missing = NULL;
    if (!at && obj->pod_metadata) {
        at = obj->pod_metadata;
        missing = "labels";
    } else if (!at) {
        const k5_node *tmpl = k5_node_at(obj->root, "spec.template");
        at = tmpl ? tmpl : obj->root;
        missing = tmpl ? "metadata.labels" : NULL;
    }
    return k5_check_report(c, at, missing,
                           "%.*s \"%.*s\" %s but no PodDisruptionBudget in namespace \"%.*s\" "
                           "selects its pods (labels: %s): a node drain may evict all of them at "
                           "once",
                           (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p, count,
                           (int)obj->namespace_.n, obj->namespace_.p, labels);
}

const k5_rule k5__rule_pdb_missing = {
    .id = "pdb-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(PDBs indexed under the workload's labels) per workload, stopping at the first that "
            "selects it; of the PDBs whose selector is only `NotIn`/`DoesNotExist`, only those "
            "whose first expression does not exclude the workload's labels are checked, found "
            "by counting over per-label position lists (O(labels x log^2 such PDBs) per "
            "candidate; measured: bench/scale_bench.sh)"
            "; word-for-word copies of the object, in one file or many (the same manifest "
            "repeated: renders of one chart, examples concatenated or in n files) are searched "
            "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
            "bench/scale_bench.sh figures 8 and 10)",
    .scope_note = NULL,
    .summary = "A replicated Deployment or StatefulSet has no PodDisruptionBudget",
    .explanation =
        "Without a PodDisruptionBudget, a node drain (cluster upgrade, autoscaler scale-down, "
        "spot reclaim) evicts pods without regard for how many of the workload are still "
        "ready. When its replicas share a node or a drain runs over several nodes, all of them "
        "go at once and the Service answers 503 until replacements are ready.",
    .remediation = "Add a PodDisruptionBudget in the same namespace whose selector matches the "
                   "pod template's labels, with maxUnavailable 1 (or minAvailable below the "
                   "replica count).",
    .example_broken = "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 3\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: web\n"
                      "          image: web:1.0\n"
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "          readinessProbe: {httpGet: {path: /ready, port: http}}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports: [{name: http, port: 80, targetPort: http}]\n",
    .example = "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  replicas: 3\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: http}]\n"
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
