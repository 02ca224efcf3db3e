/*
 * ingress-class-missing: an Ingress whose ingressClassName names no IngressClass of the input.
 */
#include <ctype.h>
#include <stdlib.h>

#include "k5_check.h"

typedef struct {
    const k5_check *c;
    char names[300];
    size_t len, count;
    k5_str want;
    bool cluster; /* an IngressClass is the cluster's own (at admission) */
    bool near;    /* the name is a near miss of an IngressClass's: a typo */
    bool failed;
    size_t nfiles, cap;
    size_t *files; /* the files IngressClasses come from, in walk order (repeats kept) */
} classes;

/* What the walk found, kept per Ingress for all its copies: the files sorted, once each. */
typedef struct {
    char names[300];
    size_t count;
    bool cluster, near;
    size_t nfiles;
    size_t files[];
} classes_kept;

/* Edit distance of two short names (case-insensitive), capped: > 2 is "far". */
static size_t distance(k5_str a, k5_str b)
{
    size_t prev[64], cur[64];
    if (a.n >= 63 || b.n >= 63)
        return 3;
    for (size_t j = 0; j <= b.n; j++)
        prev[j] = j;
    for (size_t i = 1; i <= a.n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= b.n; j++) {
            int ca = tolower((unsigned char)a.p[i - 1]), cb = tolower((unsigned char)b.p[j - 1]);
            size_t sub = prev[j - 1] + (ca != cb), del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (b.n + 1) * sizeof *prev);
    }
    return prev[b.n];
}

static bool collect(const k5_object *o, void *ud)
{
    classes *cl = ud;
    /* At admission the IngressClasses are the cluster's own, all of them: as good as ones
     * that come with the Ingress. */
    cl->cluster |= k5_check_from_cluster(cl->c, o);
    cl->near |= distance(o->name, cl->want) <= 2;
    if (cl->count < 8 && cl->len < sizeof cl->names) {
        int n = snprintf(cl->names + cl->len, sizeof cl->names - cl->len, "%s\"%.*s\"",
                         cl->count ? ", " : "", (int)o->name.n, o->name.p);
        if (n > 0)
            cl->len += (size_t)n;
    }
    cl->count++;
    if (cl->nfiles == cl->cap) {
        size_t cap = cl->cap ? 2 * cl->cap : 8;
        size_t *p = realloc(cl->files, cap * sizeof *p);
        if (!p) {
            cl->failed = true;
            return false;
        }
        cl->files = p;
        cl->cap = cap;
    }
    cl->files[cl->nfiles++] = o->file;
    return true;
}

static int by_file(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static classes_kept *kept_of(classes *cl)
{
    classes_kept *k = malloc(sizeof *k + cl->nfiles * sizeof k->files[0]);
    if (!k)
        return NULL;
    memcpy(k->names, cl->names, sizeof k->names);
    k->count = cl->count;
    k->cluster = cl->cluster;
    k->near = cl->near;
    if (cl->nfiles)
        qsort(cl->files, cl->nfiles, sizeof *cl->files, by_file);
    k->nfiles = 0;
    for (size_t i = 0; i < cl->nfiles; i++)
        if (!k->nfiles || k->files[k->nfiles - 1] != cl->files[i])
            k->files[k->nfiles++] = cl->files[i];
    return k;
}

static bool has_file(const classes_kept *k, size_t file)
{
    size_t lo = 0, hi = k->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->files[mid] < file)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->nfiles && k->files[lo] == file;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_index *idx = k5_check_index(c);
    const k5_node *cls = k5_node_at(obj->root, "spec.ingressClassName");
    k5_str name = k5_node_str(cls);
    /* No class named: the cluster's default IngressClass is applied at admission, or the
     * deprecated kubernetes.io/ingress.class annotation is matched against the controller's
     * own flag; neither can be judged from the input. */
    if (!name.n || k5_node_kind(cls) != K5_NODE_STR)
        return K5_OK;
    /* IngressClass is cluster-scoped: any namespace of the input may hold it. Guard: an input
     * without IngressClasses was linted without the cluster's (they come with the
     * controller's chart), so the absence says nothing. */
    if (!k5_index_count_all(idx, K5_KIND_INGRESSCLASS) ||
        k5_index_find_cluster(idx, K5_KIND_INGRESSCLASS, name))
        return K5_OK;
    /* Copies of one Ingress (k5__memo_copy), in one file or many, name the same class: the
     * IngressClasses are read once for all, with the files they come from, and each copy
     * looks for its own file there. */
    bool copies;
    const k5_object *copy = k5__memo_copy(c, obj, &copies);
    const classes_kept *k = copies ? k5__memo_get(c, K5__MEMO_INGRESS_CLASSES, copy) : NULL;
    classes_kept *own = NULL;
    if (!k) {
        classes cl = {.c = c, .len = 0, .count = 0, .want = name};
        cl.names[0] = '\0';
        k5_index_each_all(idx, K5_KIND_INGRESSCLASS, collect, &cl);
        own = cl.failed ? NULL : kept_of(&cl);
        free(cl.files);
        if (!own)
            return K5_ENOMEM;
        k = copies ? k5__memo_put(c, K5__MEMO_INGRESS_CLASSES, copy, own,
                                  sizeof *own + own->nfiles * sizeof own->files[0])
                   : own;
        if (k != own) {
            free(own);
            own = NULL;
        }
    }
    bool same_file = k->cluster || has_file(k, obj->file);
    /* A repository of independent examples holds some controller's IngressClass while other
     * examples use classes their clusters install (eks-workshop-v2: "eks-auto-alb" in one
     * module, "alb" from the load balancer controller's chart in others). Judged only when an
     * IngressClass comes with the Ingress (same file or stream: a rendered chart) or the name
     * is a near miss of one (a typo). */
    if (!same_file && !k->near) {
        free(own);
        return K5_OK;
    }
    k5_status st = k5_check_report(
        c, cls, NULL,
        "Ingress \"%.*s\" names ingressClassName \"%.*s\", but the input's "
        "IngressClasses are %s%s: unless the cluster has that class, no "
        "controller serves this Ingress and its hosts answer 404 (or 503 "
        "from a default backend)",
        (int)obj->name.n, obj->name.p, (int)name.n, name.p, k->names, k->count > 8 ? ", ..." : "");
    free(own);
    return st;
}

const k5_rule k5__rule_ingress_class_missing = {
    .id = "ingress-class-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "only when an IngressClass comes in the Ingress's own file or stream, or the "
                  "name is a near miss (a typo) of one in the input; at admission, against the "
                  "cluster's IngressClasses (a warning: the class may come later in the same "
                  "apply)",
    .cost = "O(1) per Ingress: IngressClasses are looked up by name (hash index); an Ingress "
            "whose class is missing reads every IngressClass of the input for its message "
            "(once for all word-for-word copies of the Ingress, in one file or many: "
            "k5__memo_copy)",
    .summary = "An Ingress's ingressClassName names no IngressClass of the input",
    .explanation =
        "An ingress controller serves only the Ingresses whose spec.ingressClassName names an "
        "IngressClass whose spec.controller is its own. A class name that no IngressClass "
        "carries (a typo, another environment's controller, a class renamed with the "
        "controller's chart) is served by nobody: the Ingress is accepted and stays without an "
        "address, and its hosts answer 404 from whatever catches them, or 503 from a default "
        "backend. Judged only when the input holds IngressClasses and one comes in the Ingress's "
        "own file or stream (a rendered chart) or the name is within two edits of one (a typo), "
        "so a class that exists only in the cluster is not reported. "
        "Reference: "
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class",
    .remediation = "Set spec.ingressClassName to the name of an IngressClass that exists "
                   "(`kubectl get ingressclass`), or leave it out to use the class annotated "
                   "ingressclass.kubernetes.io/is-default-class: \"true\".",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: IngressClass\n"
                      "metadata: {name: nginx}\n"
                      "spec: {controller: k8s.io/ingress-nginx}\n"
                      "---\n"
                      "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata: {name: shop}\n"
                      "spec:\n"
                      "  ingressClassName: ngnix\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 80}}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: IngressClass\n"
               "metadata: {name: nginx}\n"
               "spec: {controller: k8s.io/ingress-nginx}\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata: {name: shop}\n"
               "spec:\n"
               "  ingressClassName: nginx\n"
               "  defaultBackend:\n"
               "    service: {name: web, port: {number: 80}}\n",
    .check = check,
};
