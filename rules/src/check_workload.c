/*
 * Helpers shared by the replica, PDB, Service and Ingress rules.
 */
#include <stdlib.h>

#include "k5_check.h"

bool k5__str_eq(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool k5__hpa_min_replicas(const k5_object *hpa, int64_t *out)
{
    const k5_node *n = k5_node_at(hpa->root, "spec.minReplicas");
    if (!n || k5_node_kind(n) == K5_NODE_NULL) {
        *out = 1; /* the API server defaults minReplicas to 1 */
        return true;
    }
    return k5_node_int(n, out);
}

/* An HPA and its minReplicas, and the file it comes from. */
typedef struct hpa_min {
    const k5_object *hpa;
    int64_t min;
    size_t file;
    size_t seen; /* its place in the walk: of equal minimums the first wins */
} hpa_min;

/* A workload's HPAs: the best of all, and the best of each file that has one, by file. */
typedef struct best_hpas {
    hpa_min all;
    size_t n;
    hpa_min by_file[];
} best_hpas;

typedef struct hpa_walk {
    hpa_min *h;
    size_t n, cap;
    bool failed;
} hpa_walk;

static bool visit_hpa(const k5_object *h, void *ud)
{
    hpa_walk *w = ud;
    int64_t m;
    if (!k5__hpa_min_replicas(h, &m))
        return true;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        hpa_min *p = realloc(w->h, cap * sizeof *p);
        if (!p) {
            w->failed = true;
            return false;
        }
        w->h = p;
        w->cap = cap;
    }
    w->h[w->n] = (hpa_min){h, m, h->file, w->n};
    w->n++;
    return true;
}

static int by_file_then_seen(const void *a, const void *b)
{
    const hpa_min *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->seen < y->seen ? -1 : x->seen > y->seen;
}

/* The highest minimum, the first of equals in the walk (the order the HPAs were read in). */
static bool better(const hpa_min *cand, const hpa_min *best)
{
    return !best->hpa || cand->min > best->min;
}

static best_hpas *best_hpas_of(hpa_walk *w)
{
    best_hpas *b = calloc(1, sizeof *b + w->n * sizeof b->by_file[0]);
    if (!b)
        return NULL;
    for (size_t i = 0; i < w->n; i++)
        if (better(&w->h[i], &b->all))
            b->all = w->h[i];
    if (w->n) /* qsort must not be given NULL, even for no items */
        qsort(w->h, w->n, sizeof *w->h, by_file_then_seen);
    for (size_t i = 0; i < w->n; i++) {
        if (!b->n || b->by_file[b->n - 1].file != w->h[i].file)
            b->by_file[b->n++] = w->h[i];
        else if (better(&w->h[i], &b->by_file[b->n - 1]))
            b->by_file[b->n - 1] = w->h[i];
    }
    return b;
}

/*
 * A workload's HPA depends on the workload and its file, and rules ask for it once per object
 * that selects the workload (every PDB, every Service): with the same names repeated in many
 * files the HPAs targeting one name grow with the workloads, so the answer is kept for the
 * run (k5__memo) rather than walked again per asker. Same-named objects in several files are
 * common (examples, test data, overlays): an HPA of the workload's own file speaks for it
 * before one from elsewhere. The walk and what it finds do not depend on the file, only the
 * choice does: so the best of every file is kept, once for all the copies of the workload in
 * every file (k5__memo_copy), and each copy picks its own file's, else the best of all.
 */
const k5_object *k5__workload_best_hpa(const k5_check *c, const k5_object *obj, int64_t *min)
{
    const k5_index *idx = k5_check_index(c);
    if (!idx)
        return NULL;
    const k5_object *copy = k5__memo_copy(c, obj, NULL);
    const best_hpas *b = k5__memo_get(c, K5__MEMO_BEST_HPA, copy);
    best_hpas *own = NULL;
    if (!b) {
        hpa_walk w = {NULL, 0, 0, false};
        k5_index_hpas_for(idx, obj, visit_hpa, &w);
        own = w.failed ? NULL : best_hpas_of(&w);
        free(w.h);
        if (!own)
            return NULL; /* out of memory: no HPA known */
        b = k5__memo_put(c, K5__MEMO_BEST_HPA, copy, own,
                         sizeof *own + own->n * sizeof own->by_file[0]);
        if (b != own) {
            free(own);
            own = NULL;
        }
    }
    const hpa_min *pick = &b->all;
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->by_file[mid].file < obj->file)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < b->n && b->by_file[lo].file == obj->file)
        pick = &b->by_file[lo];
    const k5_object *hpa = pick->hpa;
    if (hpa && min)
        *min = pick->min;
    free(own);
    return hpa;
}

void k5__workload_scale(const k5_check *c, const k5_object *obj, k5__scale *out)
{
    out->count = 1;
    out->known = true;
    out->hpa = NULL;
    out->replicas = k5_node_at(obj->root, "spec.replicas");
    if (out->replicas && k5_node_kind(out->replicas) == K5_NODE_NULL)
        out->replicas = NULL;
    if (out->replicas) {
        out->known = k5_node_int(out->replicas, &out->count);
        return;
    }
    int64_t min;
    const k5_object *hpa = k5__workload_best_hpa(c, obj, &min);
    if (hpa) {
        out->hpa = hpa;
        out->count = min;
    }
}

const k5_node *k5__pdb_selector(const k5_object *pdb)
{
    const k5_node *sel = k5_node_at(pdb->root, "spec.selector");
    if (!k5_node_is_map(sel))
        return NULL;
    static const char v1beta1[] = "policy/v1beta1";
    k5_str b = {v1beta1, sizeof v1beta1 - 1};
    if (k5_node_len(sel) == 0 && k5__str_eq(pdb->api_version, b))
        return NULL;
    return sel;
}

static bool found_one(const k5_object *o, void *ud)
{
    (void)o;
    *(bool *)ud = true;
    return false;
}

static bool str_is(k5_str s, const char *z)
{
    size_t n = strlen(z);
    return s.n == n && memcmp(s.p, z, n) == 0;
}

static bool all_digits(k5_str s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

static bool controller_key(k5_str key)
{
    return str_is(key, "statefulset.kubernetes.io/pod-name") ||
           str_is(key, "apps.kubernetes.io/pod-index") ||
           str_is(key, "controller-revision-hash") || str_is(key, "pod-template-hash");
}

/*
 * Whether a controller of kind w would put label key=value on its pods: 1 yes,
 * 0 no, -1 the key is not one that controllers add.
 */
static int controller_label(const k5_object *w, k5_str key, k5_str value)
{
    if (str_is(key, "statefulset.kubernetes.io/pod-name")) {
        /* "<statefulset name>-<ordinal>" */
        if (w->kind_id != K5_KIND_STATEFULSET || value.n <= w->name.n + 1 ||
            memcmp(value.p, w->name.p, w->name.n) != 0 || value.p[w->name.n] != '-')
            return 0;
        k5_str ord = {value.p + w->name.n + 1, value.n - w->name.n - 1};
        return all_digits(ord);
    }
    if (str_is(key, "apps.kubernetes.io/pod-index"))
        return w->kind_id == K5_KIND_STATEFULSET && all_digits(value);
    if (str_is(key, "controller-revision-hash"))
        return (w->kind_id & (K5_KIND_STATEFULSET | K5_KIND_DAEMONSET)) != 0;
    if (str_is(key, "pod-template-hash"))
        return (w->kind_id & (K5_KIND_DEPLOYMENT | K5_KIND_REPLICASET)) != 0;
    return -1;
}

/*
 * The fallbacks below walk the objects of one namespace, once per Service or
 * PDB that the index found selecting nothing. They stop after this many
 * objects, so that an input with thousands of such Services stays linear;
 * a walk cut short finds nothing and the finding is reported as usual.
 */
#define MAX_FALLBACK_VISITS 2048

typedef struct tolerant {
    const k5_node *pairs;
    bool found;
    size_t visits;
} tolerant;

static bool visit_tolerant(const k5_object *w, void *ud)
{
    tolerant *t = ud;
    if (++t->visits > MAX_FALLBACK_VISITS)
        return false;
    for (size_t i = 0; i < k5_node_len(t->pairs); i++) {
        k5_str key = k5_node_str(k5_map_key(t->pairs, i));
        k5_str value = k5_node_str(k5_map_value(t->pairs, i));
        int added = controller_label(w, key, value);
        if (added == 0)
            return true;
        if (added == 1)
            continue;
        const k5_node *have = NULL;
        for (size_t j = 0; j < k5_node_len(w->pod_labels) && !have; j++)
            if (k5__str_eq(k5_node_str(k5_map_key(w->pod_labels, j)), key))
                have = k5_map_value(w->pod_labels, j);
        if (!have || !k5__str_eq(k5_node_str(have), value))
            return true;
    }
    t->found = true;
    return false;
}

typedef struct cr_walk {
    const k5_node *sel;
    k5_selector_type type;
    bool found;
    size_t visits;
} cr_walk;

#define MAX_CR_DEPTH 8

static void walk_labels(cr_walk *w, const k5_node *n, int depth)
{
    if (w->found || depth > MAX_CR_DEPTH)
        return;
    if (k5_node_is_map(n)) {
        for (size_t i = 0; i < k5_node_len(n) && !w->found; i++) {
            const k5_node *v = k5_map_value(n, i);
            if (k5_node_is(k5_map_key(n, i), "labels") && k5_node_is_map(v) && k5_node_len(v) &&
                k5_selector_matches(w->sel, w->type, v))
                w->found = true;
            else
                walk_labels(w, v, depth + 1);
        }
    } else if (k5_node_is_seq(n)) {
        for (size_t i = 0; i < k5_node_len(n) && !w->found; i++)
            walk_labels(w, k5_seq_at(n, i), depth + 1);
    }
}

/* A custom resource: its API group has a dot and is not one of Kubernetes' own (*.k8s.io). */
static bool custom_resource(const k5_object *o)
{
    k5_str av = o->api_version;
    size_t slash = 0;
    while (slash < av.n && av.p[slash] != '/')
        slash++;
    if (slash == av.n || !memchr(av.p, '.', slash))
        return false;
    static const char k8s[] = ".k8s.io";
    size_t kn = sizeof k8s - 1;
    return !(slash >= kn && memcmp(av.p + slash - kn, k8s, kn) == 0);
}

static bool visit_cr(const k5_object *o, void *ud)
{
    cr_walk *w = ud;
    if (++w->visits > MAX_FALLBACK_VISITS)
        return false;
    if (custom_resource(o))
        walk_labels(w, k5_map_get(o->root, "spec"), 0);
    return !w->found;
}

bool k5__selects_some_pod(const k5_check *c, k5_str ns, const k5_node *sel, k5_selector_type type)
{
    const k5_index *idx = k5_check_index(c);
    bool found = false;
    k5_index_select(idx, ns, sel, type, K5_KINDS_WORKLOAD, found_one, &found);
    if (found)
        return true;
    const k5_node *pairs = type == K5_SELECTOR_MAP ? sel : k5_map_get(sel, "matchLabels");
    bool controller_keys = false;
    for (size_t i = 0; i < k5_node_len(pairs); i++)
        if (controller_key(k5_node_str(k5_map_key(pairs, i))))
            controller_keys = true;
    if (controller_keys) {
        /* matchExpressions next to controller-added keys: too rare to evaluate here. */
        if (type == K5_SELECTOR_LABEL && k5_node_len(k5_map_get(sel, "matchExpressions")))
            return true;
        /* "<statefulset>-<ordinal>" names its StatefulSet: look it up rather than walk. */
        const k5_node *pod = k5_map_get(pairs, "statefulset.kubernetes.io/pod-name");
        tolerant t = {pairs, false, 0};
        k5_str v = k5_node_str(pod);
        size_t end = v.n;
        while (end && v.p[end - 1] >= '0' && v.p[end - 1] <= '9')
            end--;
        if (pod && end > 1 && end < v.n && v.p[end - 1] == '-') {
            k5_str sts = {v.p, end - 1};
            const k5_object *w = k5_index_find(idx, ns, K5_KIND_STATEFULSET, sts);
            if (w)
                visit_tolerant(w, &t);
        } else if (!pod) {
            k5_index_each(idx, ns, K5_KINDS_WORKLOAD, visit_tolerant, &t);
        }
        if (t.found)
            return true;
    }
    cr_walk w = {sel, type, false, 0};
    k5_index_each(idx, ns, K5_KIND_OTHER, visit_cr, &w);
    return w.found;
}

bool k5__selects_some_pod_of(const k5_check *c, const k5_object *obj, const k5_node *sel,
                             k5_selector_type type)
{
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const bool *kept = copies ? k5__memo_get(c, K5__MEMO_SELECTS_SOME, twin) : NULL;
    if (kept)
        return *kept;
    bool some = k5__selects_some_pod(c, obj->namespace_, sel, type);
    if (copies)
        (void)k5__memo_put(c, K5__MEMO_SELECTS_SOME, twin, &some, sizeof some);
    return some;
}

typedef struct sbuf {
    char *p;
    size_t size, len;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->len + 1 >= b->size)
        return;
    size_t room = b->size - b->len - 1;
    if (n > room)
        n = room;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_str(sbuf *b, k5_str s)
{
    put(b, s.p ? s.p : "", s.n);
}

static void put_pairs(sbuf *b, const k5_node *map)
{
    for (size_t i = 0; i < k5_node_len(map); i++) {
        if (b->len)
            put(b, ", ", 2);
        put_str(b, k5_node_str(k5_map_key(map, i)));
        put(b, "=", 1);
        put_str(b, k5_node_str(k5_map_value(map, i)));
    }
}

void k5__selector_describe(const k5_node *sel, k5_selector_type type, char *buf, size_t size)
{
    sbuf b = {buf, size, 0};
    if (!size)
        return;
    buf[0] = '\0';
    if (type == K5_SELECTOR_MAP) {
        put_pairs(&b, sel);
    } else {
        put_pairs(&b, k5_map_get(sel, "matchLabels"));
        const k5_node *me = k5_map_get(sel, "matchExpressions");
        for (size_t i = 0; i < k5_node_len(me); i++) {
            const k5_node *ex = k5_seq_at(me, i);
            const k5_node *op = k5_map_get(ex, "operator");
            k5_str key = k5_node_str(k5_map_get(ex, "key"));
            if (b.len)
                put(&b, ", ", 2);
            if (k5_node_is(op, "Exists")) {
                put_str(&b, key);
            } else if (k5_node_is(op, "DoesNotExist")) {
                put(&b, "!", 1);
                put_str(&b, key);
            } else {
                put_str(&b, key);
                put(&b, k5_node_is(op, "NotIn") ? " notin (" : " in (",
                    k5_node_is(op, "NotIn") ? 8 : 5);
                const k5_node *vals = k5_map_get(ex, "values");
                for (size_t j = 0; j < k5_node_len(vals); j++) {
                    if (j)
                        put(&b, ",", 1);
                    put_str(&b, k5_node_str(k5_seq_at(vals, j)));
                }
                put(&b, ")", 1);
            }
        }
    }
    if (!b.len)
        put(&b, "<empty>", 7);
}

/*
 * An AWS Load Balancer Controller action (`port.name: use-annotation` with an
 * alb.ingress.kubernetes.io/actions.<name> annotation: a redirect, a fixed response, a
 * weighted forward) is not a Service.
 */
static bool alb_action(const k5_object *ing, const k5__backend *b)
{
    static const char prefix[] = "alb.ingress.kubernetes.io/actions.";
    if (!k5_node_is(b->port, "use-annotation"))
        return false;
    k5_str name = k5_node_str(b->service);
    for (size_t i = 0; i < k5_node_len(ing->annotations); i++) {
        k5_str key = k5_node_str(k5_map_key(ing->annotations, i));
        if (key.n == sizeof prefix - 1 + name.n && memcmp(key.p, prefix, sizeof prefix - 1) == 0 &&
            memcmp(key.p + sizeof prefix - 1, name.p, name.n) == 0)
            return true;
    }
    return false;
}

static k5_status one_backend(k5_check *c, const k5_object *ing, const k5_node *be,
                             const k5_node *host, const k5_node *path, bool is_default,
                             k5__backend_fn fn, void *ud)
{
    if (!k5_node_is_map(be))
        return K5_OK;
    k5__backend b = {be, NULL, NULL, host, path, is_default};
    const k5_node *svc = k5_map_get(be, "service");
    if (svc) {
        /* networking.k8s.io/v1: service.name and service.port.number or service.port.name */
        b.service = k5_map_get(svc, "name");
        const k5_node *port = k5_map_get(svc, "port");
        b.port = k5_map_get(port, "number");
        if (!b.port)
            b.port = k5_map_get(port, "name");
    } else {
        /* extensions/v1beta1 and networking.k8s.io/v1beta1: serviceName, servicePort */
        b.service = k5_map_get(be, "serviceName");
        b.port = k5_map_get(be, "servicePort");
    }
    if (!k5_node_is_scalar(b.service) || !k5_node_len(b.service))
        return K5_OK; /* a resource backend, or no backend at all */
    if (alb_action(ing, &b))
        return K5_OK;
    return fn(c, ing, &b, ud);
}

k5_status k5__ingress_each_backend(k5_check *c, const k5_object *ing, k5__backend_fn fn, void *ud)
{
    const k5_node *spec = k5_map_get(ing->root, "spec");
    k5_status st =
        one_backend(c, ing, k5_map_get(spec, "defaultBackend"), NULL, NULL, true, fn, ud);
    if (st == K5_OK)
        st = one_backend(c, ing, k5_map_get(spec, "backend"), NULL, NULL, true, fn, ud);
    const k5_node *rules = k5_map_get(spec, "rules");
    for (size_t i = 0; i < k5_node_len(rules) && st == K5_OK; i++) {
        const k5_node *rule = k5_seq_at(rules, i);
        const k5_node *host = k5_map_get(rule, "host");
        const k5_node *paths = k5_node_at(rule, "http.paths");
        for (size_t j = 0; j < k5_node_len(paths) && st == K5_OK; j++) {
            const k5_node *p = k5_seq_at(paths, j);
            st = one_backend(c, ing, k5_map_get(p, "backend"), host, k5_map_get(p, "path"), false,
                             fn, ud);
        }
    }
    return st;
}

void k5__backend_describe(const k5__backend *b, char *buf, size_t size)
{
    if (b->is_default) {
        snprintf(buf, size, "the default backend");
        return;
    }
    k5_str path = k5_node_str(b->path), host = k5_node_str(b->host);
    if (!path.n) {
        path.p = "/";
        path.n = 1;
    }
    if (host.n)
        snprintf(buf, size, "path %.*s of host %.*s", (int)path.n, path.p, (int)host.n, host.p);
    else
        snprintf(buf, size, "path %.*s", (int)path.n, path.p);
}

void k5__absence_of(const k5_check *c, const k5_node *sel, k5_str name, k5__absence *a)
{
    a->max = K5_SEV_ERROR;
    a->note = "";
    if (!k5_check_inputs_failed(c))
        return;
    /* The values of a selector (matchLabels, or a plain map), or the name looked for. */
    k5_str words[16];
    size_t n = 0;
    const k5_node *pairs = k5_map_get(sel, "matchLabels");
    if (!pairs && !k5_map_get(sel, "matchExpressions"))
        pairs = sel;
    for (size_t i = 0; i < k5_node_len(pairs) && n < 16; i++)
        words[n++] = k5_node_str(k5_map_value(pairs, i));
    if (name.n && n < 16)
        words[n++] = name;
    if (n && k5_check_failed_input_mentions(c, words, n)) {
        a->max = K5_SEV_WARNING;
        a->note = "; some input files failed to load, and one of them mentions these values: "
                  "the match may be there";
    } else {
        a->note = " (some input files failed to load; none of them mentions these values)";
    }
}

typedef struct elsewhere {
    const k5_object *self;
    const k5_object *found;        /* the first match where both namespaces are explicit */
    const k5_object *implicit_obj; /* the first match where one of the two is implicit */
} elsewhere;

static bool visit_elsewhere(const k5_object *o, void *ud)
{
    elsewhere *e = ud;
    if (o->namespace_implicit || e->self->namespace_implicit) {
        if (!e->implicit_obj)
            e->implicit_obj = o;
        return true;
    }
    e->found = o;
    return false;
}

const k5_object *k5__select_elsewhere(const k5_check *c, const k5_object *self, const k5_node *sel,
                                      k5_selector_type type, bool *implicit)
{
    bool copies;
    const k5_object *twin = k5__memo_copy(c, self, &copies);
    const elsewhere *kept = copies ? k5__memo_get(c, K5__MEMO_ELSEWHERE, twin) : NULL;
    elsewhere e = {self, NULL, NULL};
    if (kept) {
        e = *kept;
    } else {
        k5_index_select_elsewhere(k5_check_index(c), self->namespace_, sel, type,
                                  K5_KINDS_WORKLOAD, visit_elsewhere, &e);
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_ELSEWHERE, twin, &e, sizeof e);
    }
    *implicit = !e.found && e.implicit_obj;
    return e.found ? e.found : e.implicit_obj;
}

const k5_object *k5__find_elsewhere(const k5_check *c, const k5_object *self, k5_kind kinds,
                                    k5_str kind, k5_str name, bool *implicit)
{
    elsewhere e = {self, NULL, NULL};
    k5_index_find_elsewhere(k5_check_index(c), self->namespace_, kinds, kind, name,
                            visit_elsewhere, &e);
    *implicit = !e.found && e.implicit_obj;
    return e.found ? e.found : e.implicit_obj;
}

void k5__implicit_note(const k5_object *self, const k5_object *other, char *buf, size_t size)
{
    const k5_object *o = self->namespace_implicit ? self : other;
    snprintf(buf, size,
             " (%.*s \"%.*s\" names no namespace and lands in the one it is applied to, "
             "\"%.*s\" when none is given; set metadata.namespace, or lint the rendered "
             "output: `kubectl kustomize DIR | kube5xx lint -`)",
             (int)o->kind.n, o->kind.p, (int)o->name.n, o->name.p, (int)o->namespace_.n,
             o->namespace_.p);
}

bool k5__backend_ref_is_service(const k5_node *ref)
{
    /* Gateway API: group defaults to "" (core) and kind to Service. */
    const k5_node *g = k5_map_get(ref, "group"), *k = k5_map_get(ref, "kind");
    return k5_node_is_map(ref) && (!g || k5_node_str(g).n == 0) &&
           (!k || k5_node_is(k, "Service"));
}

extern const k5_rule k5__rule_networkpolicy_blocks_ingress;

/* The i-th name of a "a, b, c" list; false past the last. */
static bool nth_name(const char *cur, size_t i, k5_str *out)
{
    k5_str name;
    for (size_t j = 0; k5_names_next(&cur, &name); j++)
        if (j == i) {
            *out = name;
            return true;
        }
    return false;
}

/* networkpolicy-blocks-ingress's parameter controller-namespaces (its descriptor has the
 * default: ingress-nginx, then the namespaces common controllers install into). */
const char *k5__controller_namespaces(const k5_check *c)
{
    return k5_check_param_names_of(c, &k5__rule_networkpolicy_blocks_ingress, 0);
}

bool k5__controller_namespace_in(const k5_config *cfg, size_t i, k5_str *out)
{
    return nth_name(k5_config_param_names(cfg, &k5__rule_networkpolicy_blocks_ingress, 0), i, out);
}
