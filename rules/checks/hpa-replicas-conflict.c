/*
 * hpa-replicas-conflict: a workload that sets spec.replicas while an HPA scales it, and two
 * HPAs scaling one workload.
 */
#include "k5_check.h"

/* The lesser of two objects by name, then input order: what a message names stays the same
 * whatever order the input (or the webhook's cache) lists them in. */
static bool before(const k5_object *a, const k5_object *b)
{
    size_t n = a->name.n < b->name.n ? a->name.n : b->name.n;
    int c = n ? memcmp(a->name.p, b->name.p, n) : 0;
    if (c)
        return c < 0;
    if (a->name.n != b->name.n)
        return a->name.n < b->name.n;
    return a->index < b->index;
}

typedef struct hpas {
    const k5_object *first; /* by name */
    size_t n;
} hpas;

static bool count_hpa(const k5_object *h, void *ud)
{
    hpas *x = ud;
    if (!x->first || before(h, x->first))
        x->first = h;
    x->n++;
    return true;
}

/* "min 1, max 5" of an HPA, as written ("min unset" when it is). */
static void bounds(const k5_object *hpa, char *buf, size_t size)
{
    k5_str min = k5_node_str(k5_node_at(hpa->root, "spec.minReplicas"));
    k5_str max = k5_node_str(k5_node_at(hpa->root, "spec.maxReplicas"));
    snprintf(buf, size, "minReplicas %.*s, maxReplicas %.*s", min.n ? (int)min.n : 9,
             min.n ? min.p : "1 (unset)", max.n ? (int)max.n : 1, max.n ? max.p : "?");
}

static k5_status check_workload(k5_check *c, const k5_object *obj)
{
    const k5_node *replicas = k5_node_at(obj->root, "spec.replicas");
    int64_t n;
    if (!replicas || !k5_node_int(replicas, &n) || n == 0)
        return K5_OK; /* unset (the HPA owns it), a template placeholder, or switched off */
    hpas x = {NULL, 0};
    /* Copies of one manifest (k5__memo_copy) have the same HPAs: counted once for all. */
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const hpas *kept = copies ? k5__memo_get(c, K5__MEMO_HPAS, twin) : NULL;
    if (kept) {
        x = *kept;
    } else {
        k5_index_hpas_for(k5_check_index(c), obj, count_hpa, &x);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_HPAS, twin, &x, sizeof x);
    }
    if (!x.first)
        return K5_OK;
    char b[160];
    bounds(x.first, b, sizeof b);
    return k5_check_report(
        c, replicas, NULL,
        "%.*s \"%.*s\" sets spec.replicas %lld while HorizontalPodAutoscaler \"%.*s\" (%s) "
        "scales it: every kubectl apply or helm upgrade resets it to %lld pod%s, under load "
        "too, until the autoscaler catches up",
        (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p, (long long)n,
        (int)x.first->name.n, x.first->name.p, b, (long long)n, n == 1 ? "" : "s");
}

typedef struct rivals {
    const k5_object *self;
    k5_str kind, name;
    const k5_object *other; /* another HPA with the same target, the first by name */
} rivals;

static bool find_rival(const k5_object *h, void *ud)
{
    rivals *r = ud;
    if (h == r->self || (h->name.n == r->self->name.n && k5__str_eq(h->name, r->self->name)))
        return true; /* itself, or a duplicate of itself (reported once as a notice) */
    const k5_node *ref = k5_node_at(h->root, "spec.scaleTargetRef");
    if (k5__str_eq(k5_node_str(k5_map_get(ref, "kind")), r->kind) &&
        k5__str_eq(k5_node_str(k5_map_get(ref, "name")), r->name) &&
        (!r->other || before(h, r->other)))
        r->other = h;
    return true;
}

static k5_status check_hpa(k5_check *c, const k5_object *obj)
{
    const k5_node *ref = k5_node_at(obj->root, "spec.scaleTargetRef");
    const k5_node *name = k5_map_get(ref, "name");
    rivals r = {obj, k5_node_str(k5_map_get(ref, "kind")), k5_node_str(name), NULL};
    if (!r.kind.n || !r.name.n)
        return K5_OK;
    /* The HPAs indexed under the same target, not every HPA of the namespace (which made
     * this rule quadratic in the HPAs of a namespace). */
    k5_object target;
    memset(&target, 0, sizeof target);
    target.namespace_ = obj->namespace_;
    target.kind = r.kind;
    target.name = r.name;
    /* Copies of one manifest (k5__memo_copy) have the same rival (a copy is never one: it
     * has the same name): searched once for all. */
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const k5_object *const *kept = copies ? k5__memo_get(c, K5__MEMO_HPA_RIVAL, twin) : NULL;
    if (kept) {
        r.other = *kept;
    } else {
        k5_index_hpas_for(k5_check_index(c), &target, find_rival, &r);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_HPA_RIVAL, twin, &r.other, sizeof r.other);
    }
    if (!r.other)
        return K5_OK;
    return k5_check_report(
        c, name, NULL,
        "HorizontalPodAutoscaler \"%.*s\" and HorizontalPodAutoscaler \"%.*s\" both scale %.*s "
        "\"%.*s\": each sets the replica count from its own metrics, so they fight and "
        "capacity flaps",
        (int)obj->name.n, obj->name.p, (int)r.other->name.n, r.other->name.p, (int)r.kind.n,
        r.kind.p, (int)r.name.n, r.name.p);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    return obj->kind_id == K5_KIND_HPA ? check_hpa(c, obj) : check_workload(c, obj);
}

const k5_rule k5__rule_hpa_replicas_conflict = {
    .id = "hpa-replicas-conflict",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_REPLICASET |
             K5_KIND_REPLICATIONCONTROLLER | K5_KIND_HPA,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(HPAs targeting the same workload) per workload and per HPA (hash index by "
            "namespace, kind and name)"
            "; word-for-word copies of the object, in one file or many (the same manifest "
            "repeated: renders of one chart, examples concatenated or in n files) are searched "
            "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
            "bench/scale_bench.sh figures 8 and 10)",
    .scope_note = NULL,
    .summary = "A workload sets spec.replicas while an HPA scales it, or two HPAs scale one "
               "workload",
    .explanation =
        "Once a HorizontalPodAutoscaler scales a workload, spec.replicas in the manifest is a "
        "stale number: every kubectl apply, helm upgrade or GitOps sync writes it back, so a "
        "workload scaled out to 10 pods under load drops to the manifest's count and the "
        "remaining pods answer 503 until the autoscaler scales out again. Two autoscalers on "
        "one workload overwrite each other's count in turn.",
    .remediation = "Remove spec.replicas from workloads an HPA scales (the HPA's minReplicas "
                   "sets the floor), and keep one HorizontalPodAutoscaler per workload.",
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
                      "---\n"
                      "apiVersion: autoscaling/v2\n"
                      "kind: HorizontalPodAutoscaler\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
                      "  minReplicas: 2\n"
                      "  maxReplicas: 10\n",
    .example = "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "---\n"
               "apiVersion: autoscaling/v2\n"
               "kind: HorizontalPodAutoscaler\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
               "  minReplicas: 2\n"
               "  maxReplicas: 10\n",
    .nparams = 0,
    .check = check,
};
