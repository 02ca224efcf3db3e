/*
 * pdb-blocks-eviction: a PodDisruptionBudget that never allows a single
 * voluntary eviction.
 */
#include "k5_check.h"

/* Beyond this the percentage arithmetic could overflow; no real workload gets near it. */
#define MAX_JUDGED_PODS 1000000

typedef struct tally {
    const k5_check *c;
    int64_t pods;
    size_t workloads;
    bool unknown;
    const k5_object *first;
    k5__scale first_scale;
} tally;

/* The disruption controller's expected count: the sum of the scale of every selected controller. */
static bool visit(const k5_object *w, void *ud)
{
    tally *t = ud;
    k5__scale s = {1, true, NULL, NULL};
    if (w->kind_id & (K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_REPLICASET |
                      K5_KIND_REPLICATIONCONTROLLER))
        k5__workload_scale(t->c, w, &s);
    else if (w->kind_id != K5_KIND_POD)
        s.known = false; /* a DaemonSet's count is its nodes; Jobs run to completion */
    if (!s.known || s.count < 0 || s.count > MAX_JUDGED_PODS) {
        t->unknown = true;
        return false;
    }
    if (!t->first) {
        t->first = w;
        t->first_scale = s;
    }
    t->workloads++;
    t->pods += s.count;
    if (t->pods > MAX_JUDGED_PODS) {
        t->unknown = true;
        return false;
    }
    return true;
}

static bool is_zero_percent(k5_str s)
{
    if (s.n < 2 || s.p[s.n - 1] != '%')
        return false;
    for (size_t i = 0; i + 1 < s.n; i++)
        if (s.p[i] != '0')
            return false;
    return true;
}

static void describe_selected(const tally *t, char *buf, size_t size)
{
    const k5_object *w = t->first;
    const k5__scale *s = &t->first_scale;
    char how[200];
    if (w->kind_id == K5_KIND_POD)
        snprintf(how, sizeof how, "1 pod");
    else if (s->replicas)
        snprintf(how, sizeof how, "replicas %lld", (long long)s->count);
    else if (s->hpa)
        snprintf(how, sizeof how, "minReplicas %lld of HorizontalPodAutoscaler \"%.*s\"",
                 (long long)s->count, (int)s->hpa->name.n, s->hpa->name.p);
    else
        snprintf(how, sizeof how, "replicas unset, default 1");
    snprintf(buf, size, "%.*s \"%.*s\" %s%s", (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p,
             how, t->workloads > 1 ? ", and other workloads" : "");
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *mu = k5_map_get(spec, "maxUnavailable");
    const k5_node *ma = k5_map_get(spec, "minAvailable");
    k5_intstr v;
    if (mu && k5_intstr_get(mu, &v) &&
        ((v.is_int && v.i == 0) || (!v.is_int && is_zero_percent(v.s))))
        return k5_check_report(c, mu, NULL,
                               "PodDisruptionBudget \"%.*s\" has maxUnavailable %.*s: no pod "
                               "may ever be evicted, so node drains hang until they are forced",
                               (int)obj->name.n, obj->name.p, (int)k5_node_str(mu).n,
                               k5_node_str(mu).p);
    if (!ma || !k5_intstr_get(ma, &v))
        return K5_OK;
    int64_t pct = 0;
    if (!v.is_int) {
        k5_intstr one = v;
        /* N% of 100 pods is N: the way to read the percentage itself. */
        if (!k5_intstr_scaled(&one, 100, true, &pct))
            return K5_OK;
        if (pct >= 100)
            return k5_check_report(c, ma, NULL,
                                   "PodDisruptionBudget \"%.*s\" has minAvailable %.*s: no pod "
                                   "may ever be evicted, so node drains hang until they are "
                                   "forced",
                                   (int)obj->name.n, obj->name.p, (int)v.s.n, v.s.p);
    } else if (v.i <= 0) {
        return K5_OK;
    }
    /* Cross-object: the pods the budget covers. */
    const k5_node *sel = k5__pdb_selector(obj);
    if (!sel)
        return K5_OK;
    tally t = {c, 0, 0, false, NULL, {0, false, NULL, NULL}};
    /* Copies of one manifest (k5__memo_copy) select the same pods: counted once for all. */
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const tally *kept = copies ? k5__memo_get(c, K5__MEMO_PDB_TALLY, twin) : NULL;
    if (kept) {
        t = *kept;
        t.c = c;
    } else {
        k5_index_select(k5_check_index(c), obj->namespace_, sel, K5_SELECTOR_LABEL,
                        K5_KINDS_WORKLOAD, visit, &t);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_PDB_TALLY, twin, &t, sizeof t);
    }
    if (t.unknown || t.pods <= 0)
        return K5_OK;
    int64_t desired = v.i;
    char what[120];
    if (!v.is_int) {
        /* The disruption controller rounds a minAvailable percentage up. */
        k5_intstr_scaled(&v, t.pods, true, &desired);
        snprintf(what, sizeof what, "minAvailable %.*s of %lld pod%s rounds up to %lld", (int)v.s.n,
                 v.s.p, (long long)t.pods, t.pods == 1 ? "" : "s", (long long)desired);
    } else {
        snprintf(what, sizeof what, "minAvailable %lld", (long long)desired);
    }
    if (desired < t.pods)
        return K5_OK;
    char sel_desc[300];
    describe_selected(&t, sel_desc, sizeof sel_desc);
    return k5_check_report(c, ma, NULL,
                           "PodDisruptionBudget \"%.*s\": %s, not below the %lld pod%s it selects "
                           "(%s): no pod may ever be evicted, so node drains hang until they are "
                           "forced",
                           (int)obj->name.n, obj->name.p, what, (long long)t.pods,
                           t.pods == 1 ? "" : "s", sel_desc);
}

const k5_rule k5__rule_pdb_blocks_eviction = {
    .id = "pdb-blocks-eviction",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_PDB,
    .scope = K5_SCOPE_SINGLE,
    .cost =
        "O(pods selected) per PDB: candidates come from the index under the selector's first "
        "matchLabels pair, else each value of its first `In`, else its first `Exists` key; for "
        "a selector of only `NotIn`/`DoesNotExist`, the workloads its first expression does "
        "not exclude, found by counting over per-label position lists (O(values of that "
        "expression x log^2 workloads) per candidate)"
        "; word-for-word copies of the object, in one file or many (the same manifest "
        "repeated: renders of one chart, examples concatenated or in n files) are searched "
        "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
        "bench/scale_bench.sh figures 8 and 10)",
    .on_partners = true, /* reads a PDB's budget and selector, workloads' replicas, HPAs */
    .scope_note = "also cross-object: minAvailable is compared with the replicas of the "
                  "workloads of the input that the budget selects",
    .summary = "A PodDisruptionBudget allows no eviction at all",
    .explanation =
        "With maxUnavailable 0, minAvailable 100%, or minAvailable at or above the number of "
        "pods, the eviction API refuses every voluntary eviction. Node drains for upgrades and "
        "autoscaler scale-downs hang, and operators or managed platforms end up forcing them "
        "(deleting pods or draining with --disable-eviction): the pods then go all at once "
        "with no budget, and the Service answers 503.",
    .remediation = "Allow at least one disruption: maxUnavailable 1 (or a percentage that "
                   "resolves to at least one pod), or minAvailable below the replica count; run "
                   "enough replicas for the budget to leave room.",
    .example_broken = "apiVersion: policy/v1\n"
                      "kind: PodDisruptionBudget\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  maxUnavailable: 0\n"
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
