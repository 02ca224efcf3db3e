/*
 * pdb-overlap: two or more PodDisruptionBudgets selecting the same pods.
 */
#include "k5_check.h"

#define MAX_NAMED 3

typedef struct overlap {
    const k5_check *c;
    const k5_index *idx;
    const k5_object *self;
    const k5_object *workload; /* the first pod template with another budget */
    const k5_object *others[MAX_NAMED];
    size_t nothers;
} overlap;

static bool visit_pdb(const k5_object *p, void *ud)
{
    overlap *o = ud;
    /* The same namespace and name is the same object once applied (the input repeats it). */
    if (p == o->self || k5__str_eq(p->name, o->self->name))
        return true;
    for (size_t i = 0; i < o->nothers; i++)
        if (o->others[i] == p)
            return true;
    o->others[o->nothers++] = p;
    /* The finding names at most MAX_NAMED others: the search stops there, so N budgets over
     * the same pods cost N x MAX_NAMED, not N^2. */
    return o->nothers < MAX_NAMED;
}

static bool visit_workload(const k5_object *w, void *ud)
{
    overlap *o = ud;
    /* A copy of an earlier workload (k5__memo_copy: same namespace, same pod labels, maybe
     * from another file) has the same budgets as its first copy, which this search also
     * selects: only the first is walked, so N files of one manifest cost N, not N^2, per
     * budget's search. The message names the workload by kind and name: the same. */
    if (k5__memo_copy(o->c, w, NULL) != w)
        return true;
    k5_index_pdbs_for(o->idx, w, visit_pdb, o);
    if (o->nothers) {
        o->workload = w;
        return false;
    }
    return true;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *sel = k5__pdb_selector(obj);
    if (!sel)
        return K5_OK;
    overlap o = {c, k5_check_index(c), obj, NULL, {NULL}, 0};
    /* Copies of one manifest (k5__memo_copy) overlap alike (a copy is never counted as
     * another budget: it has the same name): searched once for all. */
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const overlap *kept = copies ? k5__memo_get(c, K5__MEMO_PDB_OVERLAP, twin) : NULL;
    if (kept) {
        o = *kept;
        o.c = c;
    } else {
        k5_index_select(o.idx, obj->namespace_, sel, K5_SELECTOR_LABEL, K5_KINDS_WORKLOAD,
                        visit_workload, &o);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_PDB_OVERLAP, twin, &o, sizeof o);
    }
    if (!o.workload)
        return K5_OK;
    char names[400];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < o.nothers && len < sizeof names; i++) {
        int n = snprintf(names + len, sizeof names - len, "%s\"%.*s\"", i ? ", " : "",
                         (int)o.others[i]->name.n, o.others[i]->name.p);
        if (n > 0)
            len += (size_t)n;
    }
    return k5_check_report(c, sel, NULL,
                           "PodDisruptionBudget \"%.*s\" and PodDisruptionBudget%s %s select the "
                           "pods of %.*s \"%.*s\": the eviction API refuses pods with more than "
                           "one budget, so node drains stall",
                           (int)obj->name.n, obj->name.p, o.nothers > 1 ? "s" : "", names,
                           (int)o.workload->kind.n, o.workload->kind.p, (int)o.workload->name.n,
                           o.workload->name.p);
}

const k5_rule k5__rule_pdb_overlap = {
    .id = "pdb-overlap",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_PDB,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(workloads selected until one has another budget, and that workload's budgets "
            "until 3 others are found) per PDB, through the index as for pdb-missing: N PDBs that "
            "all select the same N pods cost N (one finding per PDB naming at most 3 others, not "
            "one per pair; measured: bench/scale_bench.sh)"
            "; word-for-word copies of the object, in one file or many (the same manifest "
            "repeated: renders of one chart, examples concatenated or in n files) are searched "
            "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
            "bench/scale_bench.sh figures 8 and 10)",
    .scope_note = NULL,
    .summary = "Several PodDisruptionBudgets select the same pods",
    .explanation =
        "The eviction API refuses to evict a pod covered by more than one PodDisruptionBudget "
        "(\"This pod has more than one PodDisruptionBudget, which the eviction subresource "
        "does not support\"). Node drains stall on those pods until someone forces them, and a "
        "forced drain removes pods with no budget at all: 503 during maintenance.",
    .remediation = "Keep exactly one budget per set of pods: make the selectors disjoint (add a "
                   "distinguishing label such as component) or merge the budgets.",
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
                      "    matchLabels: {app: web}\n"
                      "---\n"
                      "apiVersion: policy/v1\n"
                      "kind: PodDisruptionBudget\n"
                      "metadata: {name: web-all}\n"
                      "spec:\n"
                      "  minAvailable: 1\n"
                      "  selector:\n"
                      "    matchLabels: {app: web}\n",
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
