/*
 * Cloud load balancers in front of Services: which controller owns an Ingress (the AWS Load
 * Balancer Controller's ALB, GKE's Ingress), the annotations those controllers read, GKE
 * BackendConfigs, and the walk from a load-balanced Service port to the containers behind it.
 * Shared by the lb-* rules.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "k5_arith.h"
#include "k5_check.h"
#include "k5_index.h"
#include "k5_internal.h"

static bool str_is(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static k5_str trim(k5_str s)
{
    while (s.n && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && isspace((unsigned char)s.p[s.n - 1]))
        s.n--;
    return s;
}

bool k5__lb_seconds(k5_str s, int64_t *out)
{
    s = trim(s);
    if (s.n && s.p[s.n - 1] == 's')
        s.n--;
    if (!s.n)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!isdigit((unsigned char)s.p[i]))
            return false;
        v = k5__add_sat(k5__mul_sat(v, 10), s.p[i] - '0');
    }
    *out = v;
    return true;
}

bool k5__lb_attr(k5_str list, const char *key, k5_str *val)
{
    size_t kl = strlen(key);
    bool found = false;
    for (size_t i = 0; i < list.n;) {
        size_t b = i;
        while (i < list.n && list.p[i] != ',')
            i++;
        k5_str item = trim((k5_str){list.p + b, i - b});
        if (i < list.n)
            i++;
        size_t eq = 0;
        while (eq < item.n && item.p[eq] != '=')
            eq++;
        if (eq == item.n)
            continue;
        k5_str k = trim((k5_str){item.p, eq});
        if (k.n == kl && memcmp(k.p, key, kl) == 0) {
            /* The controller builds a map from the list: the last occurrence wins. */
            *val = trim((k5_str){item.p + eq + 1, item.n - eq - 1});
            found = true;
        }
    }
    return found;
}

/* An annotation whose name starts with alb.ingress.kubernetes.io/. */
static bool has_alb_annotation(const k5_node *annotations)
{
    static const char prefix[] = "alb.ingress.kubernetes.io/";
    for (size_t i = 0; i < k5_node_len(annotations); i++) {
        k5_str k = k5_node_str(k5_map_key(annotations, i));
        if (k.n > sizeof prefix - 1 && memcmp(k.p, prefix, sizeof prefix - 1) == 0)
            return true;
    }
    return false;
}

/* Ingress classes of other controllers, well known by name (never the ALB's). */
static bool other_controller_class(k5_str cls)
{
    static const char *const names[] = {"nginx",  "gce",     "gce-internal", "traefik",
                                        "istio",  "haproxy", "kong",         "contour",
                                        "cilium", "azure-application-gateway"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (str_is(cls, names[i]))
            return true;
    return cls.n >= 5 && memcmp(cls.p, "nginx", 5) == 0;
}

k5__lb k5__ingress_lb(const k5_check *c, const k5_object *ing)
{
    k5_str ann = k5_node_str(k5_map_get(ing->annotations, "kubernetes.io/ingress.class"));
    /* GKE reads the annotation only, and ignores ingressClassName when it is gce(-internal). */
    if (str_is(ann, "gce") || str_is(ann, "gce-internal"))
        return K5__LB_GCE;
    if (str_is(ann, "alb"))
        return K5__LB_ALB;
    if (ann.n)
        return K5__LB_NONE;
    k5_str cls = k5_node_str(k5_node_at(ing->root, "spec.ingressClassName"));
    if (!cls.n) {
        /* No class: the cluster's default IngressClass takes it (on GKE, GKE's controller).
         * The author's ALB annotations say which one was meant. */
        return has_alb_annotation(ing->annotations) ? K5__LB_ALB : K5__LB_NONE;
    }
    const k5_object *ic = k5_index_find_cluster(k5_check_index(c), K5_KIND_INGRESSCLASS, cls);
    if (ic)
        return k5_node_is(k5_node_at(ic->root, "spec.controller"), "ingress.k8s.aws/alb")
                   ? K5__LB_ALB
                   : K5__LB_NONE;
    if (str_is(cls, "alb"))
        return K5__LB_ALB;
    return !other_controller_class(cls) && has_alb_annotation(ing->annotations) ? K5__LB_ALB
                                                                                : K5__LB_NONE;
}

const k5_node *k5__alb_annotation(const k5_object *ing, const k5_object *svc, const char *name,
                                  bool *on_service)
{
    const k5_node *v = svc ? k5_map_get(svc->annotations, name) : NULL;
    if (on_service)
        *on_service = v != NULL;
    return v ? v : ing ? k5_map_get(ing->annotations, name) : NULL;
}

bool k5__nlb_ip_service(const k5_object *svc, const k5_node **at)
{
    const k5_node *tt =
        k5_map_get(svc->annotations, "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type");
    const k5_node *type =
        k5_map_get(svc->annotations, "service.beta.kubernetes.io/aws-load-balancer-type");
    if (k5_node_is(tt, "ip")) {
        *at = tt;
        return true;
    }
    /* The controller's legacy spelling: aws-load-balancer-type: nlb-ip, ip targets. */
    if (!tt && k5_node_is(type, "nlb-ip")) {
        *at = type;
        return true;
    }
    return false;
}

const k5_node *k5__service_port_for(const k5_object *svc, const k5_node *backend_port)
{
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    k5_intstr want;
    if (!backend_port || !k5_intstr_get(backend_port, &want))
        return k5_node_len(ports) == 1 ? k5_seq_at(ports, 0) : NULL;
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t pn;
        if (want.is_int ? k5_node_int(k5_map_get(p, "port"), &pn) && pn == want.i
                        : k5__str_eq(k5_node_str(k5_map_get(p, "name")), want.s))
            return p;
    }
    return NULL;
}

/* ---- GKE BackendConfig ---- */

/*
 * The value of "key": "..." inside the JSON object that starts at s.p[*i] == '{'. Only what
 * the annotation uses: string keys, string values, one level of nested objects (ports). Sets
 * *i past the object. False on anything malformed.
 */
static bool json_string(k5_str s, size_t *i, k5_str *out)
{
    if (*i >= s.n || s.p[*i] != '"')
        return false;
    size_t b = ++*i;
    while (*i < s.n && s.p[*i] != '"') {
        if (s.p[*i] == '\\')
            return false; /* object names never need escapes */
        ++*i;
    }
    if (*i >= s.n)
        return false;
    *out = (k5_str){s.p + b, *i - b};
    ++*i;
    return true;
}

static void skip_ws(k5_str s, size_t *i)
{
    while (*i < s.n && isspace((unsigned char)s.p[*i]))
        ++*i;
}

/*
 * Looks key up in the JSON object of strings at s.p[*i]: 1 when found (*val set), 0 when
 * absent, -1 when the text is not such an object. The position of the nested object under
 * nested_key (may be NULL) goes to *nested_at; other nested objects are skipped.
 */
static int json_lookup(k5_str s, size_t *i, k5_str key, k5_str *val, size_t *nested_at,
                       const char *nested_key)
{
    skip_ws(s, i);
    if (*i >= s.n || s.p[*i] != '{')
        return -1;
    ++*i;
    int found = 0;
    for (;;) {
        skip_ws(s, i);
        if (*i < s.n && s.p[*i] == '}') {
            ++*i;
            return found;
        }
        k5_str k, v;
        if (!json_string(s, i, &k))
            return -1;
        skip_ws(s, i);
        if (*i >= s.n || s.p[*i] != ':')
            return -1;
        ++*i;
        skip_ws(s, i);
        if (*i < s.n && s.p[*i] == '{') {
            if (nested_key && nested_at && str_is(k, nested_key))
                *nested_at = *i;
            int depth = 0;
            for (; *i < s.n; ++*i) {
                if (s.p[*i] == '{')
                    depth++;
                else if (s.p[*i] == '}' && --depth == 0)
                    break;
            }
            if (*i >= s.n)
                return -1;
            ++*i;
        } else {
            if (!json_string(s, i, &v))
                return -1;
            if (key.n && k5__str_eq(k, key)) {
                *val = v;
                found = 1;
            }
        }
        skip_ws(s, i);
        if (*i < s.n && s.p[*i] == ',')
            ++*i;
        else if (!(*i < s.n && s.p[*i] == '}'))
            return -1;
    }
}

const k5_object *k5__backendconfig_for(const k5_check *c, const k5_object *svc,
                                       const k5_node *svc_port, const k5_node **ann,
                                       k5_str *name)
{
    const k5_node *a = k5_map_get(svc->annotations, "cloud.google.com/backend-config");
    if (!a)
        a = k5_map_get(svc->annotations, "beta.cloud.google.com/backend-config");
    k5_str s = k5_node_str(a);
    if (!s.n)
        return NULL;
    k5_str found = {NULL, 0};
    size_t ports_at = SIZE_MAX, i = 0;
    /* The default, then a per-port entry (by port name or number) that overrides it. The
     * controller refuses an annotation that is not such JSON: nothing is attached then. */
    if (json_lookup(s, &i, (k5_str){"default", 7}, &found, &ports_at, "ports") < 0)
        return NULL;
    if (ports_at != SIZE_MAX && svc_port) {
        k5_str pname = k5_node_str(k5_map_get(svc_port, "name"));
        k5_str pnum = k5_node_str(k5_map_get(svc_port, "port"));
        k5_str v;
        size_t j = ports_at;
        if (pname.n && json_lookup(s, &j, pname, &v, NULL, NULL) == 1) {
            found = v;
        } else {
            j = ports_at;
            if (pnum.n && json_lookup(s, &j, pnum, &v, NULL, NULL) == 1)
                found = v;
        }
    }
    if (!found.n)
        return NULL;
    *ann = a;
    *name = found;
    return k5_index_find(k5_check_index(c), svc->namespace_, K5_KIND_BACKENDCONFIG, found);
}

/* ---- from a Service port to the containers behind it ---- */

typedef struct target_walk {
    k5_check *c;
    const k5_object *svc;
    const k5_node *svc_port;
    k5__lb_target_fn fn;
    void *ud;
} target_walk;

/* The target w is for the walk's Service port: the main container owning its targetPort. */
static void target_of(const target_walk *tw, const k5_object *w, k5__lb_target *t)
{
    const k5_node *target = tw->svc_port ? k5_map_get(tw->svc_port, "targetPort") : NULL;
    if (!target && tw->svc_port)
        target = k5_map_get(tw->svc_port, "port"); /* targetPort defaults to port */
    *t = (k5__lb_target){tw->svc, tw->svc_port, w, NULL, NULL};
    const k5_node *only = NULL;
    size_t mains = 0;
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, w, K5__CTR_MAIN);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        mains++;
        only = ctr;
        const k5_node *p = target ? k5__ctr_port_for(ctr, target) : NULL;
        if (p && !t->ctr) {
            t->ctr = ctr;
            t->ctr_port = p;
        }
    }
    /* A number no container declares is still served by the pod's only container. */
    if (!t->ctr && mains == 1) {
        k5_intstr v;
        if (target && k5_intstr_get(target, &v) && v.is_int)
            t->ctr = only;
    }
}

static k5_status visit_one(target_walk *tw, const k5_object *w)
{
    k5__lb_target t;
    target_of(tw, w, &t);
    return tw->fn(tw->c, &t, tw->ud);
}

/* ---- the targets of a selector, and which of them a rule reports on, shared ---- */

/*
 * The workloads a selector reaches, each duplicate merged into one (in the order the index
 * selects them): one per distinct namespace, selector and file of the run (the file decides
 * which of two duplicates is kept).
 */
typedef struct lb_targets {
    uint64_t hash;
    k5_str ns;
    const k5_node *sel;
    size_t file;
    size_t n;
    const k5_object *w[];
} lb_targets;

/* Which of a selection's targets a rule's fn reports on, for one targetPort and key. */
typedef struct lb_verdict {
    uint64_t hash;
    const lb_targets *t;
    bool has_port;
    const k5_node *target; /* the Service port's targetPort (else port), or NULL */
    k5__lb_target_fn fn;
    size_t keylen;
    const unsigned char *key; /* keylen bytes, in this allocation after at[] */
    size_t n;
    size_t at[]; /* indexes into t->w, in order */
} lb_verdict;

/*
 * A node of an lb_index's segment tree: what the leaves under it (the targets in a range of
 * the selection's order) hold, enough to say exactly whether any of them is a candidate for a
 * query (k5__lb_feat), so the next candidate is found in O(log n) steps.
 */
typedef struct ix_node {
    int64_t minv;   /* least v of the targets that are not `never`; INT64_MAX: none */
    int64_t nval;   /* their n other than 0, when nstate is 1 */
    int32_t sid;    /* their s: -1 none, -2 several distinct, else its id */
    uint8_t nstate; /* their n other than 0: 0 none, 1 all nval, 2 several distinct */
    bool flag;      /* any of them has flag */
} ix_node;

#define SID_NONE (-1)
#define SID_MIXED (-2)
#define SID_ABSENT (-3) /* a query's string that no target has */

/* The features of a selection's targets, for one targetPort, feat function and fkey. */
typedef struct lb_index {
    uint64_t hash;
    const lb_targets *t;
    bool has_port;
    const k5_node *target; /* the Service port's targetPort (else port), or NULL */
    k5__lb_feat_fn feat;
    size_t keylen;
    unsigned char key[sizeof ((k5__lb_key *)0)->b];
    size_t size;   /* leaves: a power of two >= t->n; the tree is nodes[1 .. 2 size) */
    ix_node *nodes;
    k5_str *strs;  /* the distinct s, by id */
    int32_t *slot; /* an open-addressing set of them: 1 + id, or 0 */
    size_t slots;  /* a power of two */
} lb_index;

/* An open-addressing set of entries (lb_targets, lb_verdict or lb_index), each starting with its
 * hash. */
typedef struct lb_table {
    void **e;
    size_t cap, n;
} lb_table;

/*
 * Per run (on the index, freed with it). Rules may run on several threads: lookups and
 * insertions take the lock; an entry is computed outside it, never changes once inserted, and
 * lives until the run ends, so a pointer to it stays valid after the lock is released. Two
 * threads computing the same entry at once compute the same thing: the second keeps the
 * first's.
 */
struct k5__lb_cache {
    pthread_mutex_t lock;
    lb_table targets, verdicts, indexes;
    lb_table seen; /* lb_index headers alone: the indexes asked for once */
};

void k5__lb_cache_free(k5__lb_cache *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->targets.cap; i++)
        free(x->targets.e[i]);
    for (size_t i = 0; i < x->verdicts.cap; i++)
        free(x->verdicts.e[i]);
    for (size_t i = 0; i < x->indexes.cap; i++)
        free(x->indexes.e[i]);
    for (size_t i = 0; i < x->seen.cap; i++)
        free(x->seen.e[i]);
    free(x->targets.e);
    free(x->verdicts.e);
    free(x->indexes.e);
    free(x->seen.e);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static k5__lb_cache *cache_of(const k5_check *c)
{
    k5_index *idx = (k5_index *)k5_check_index(c);
    if (!idx->set) /* the empty index handed out when building failed */
        return NULL;
    k5__lb_cache *x = atomic_load_explicit(&idx->lb, memory_order_acquire);
    if (x)
        return x;
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    if (pthread_mutex_init(&x->lock, NULL) != 0) {
        free(x);
        return NULL;
    }
    k5__lb_cache *seen = NULL;
    if (!atomic_compare_exchange_strong_explicit(&idx->lb, &seen, x, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        k5__lb_cache_free(x);
        return seen;
    }
    return x;
}

typedef bool (*same_fn)(const void *a, const void *b);

static uint64_t hash_of(const void *e)
{
    uint64_t h;
    memcpy(&h, e, sizeof h);
    return h;
}

/* The entry equal to e (same hash, then same_fn), or NULL. Under the lock. */
static void *table_find(const lb_table *t, const void *e, same_fn same)
{
    if (!t->cap)
        return NULL;
    uint64_t h = hash_of(e);
    for (size_t at = (size_t)h & (t->cap - 1); t->e[at]; at = (at + 1) & (t->cap - 1))
        if (hash_of(t->e[at]) == h && same(t->e[at], e))
            return t->e[at];
    return NULL;
}

/* Adds e (not in the table); false when out of memory. Under the lock. */
static bool table_add(lb_table *t, void *e)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        void **ne = calloc(cap, sizeof *ne);
        if (!ne)
            return false;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->e[i])
                continue;
            size_t at = (size_t)hash_of(t->e[i]) & (cap - 1);
            while (ne[at])
                at = (at + 1) & (cap - 1);
            ne[at] = t->e[i];
        }
        free(t->e);
        t->e = ne;
        t->cap = cap;
    }
    size_t at = (size_t)hash_of(e) & (t->cap - 1);
    while (t->e[at])
        at = (at + 1) & (t->cap - 1);
    t->e[at] = e;
    t->n++;
    return true;
}

/*
 * The entry of the table equal to *e, inserting *e when there is none: *e is then owned by
 * the cache, else freed and set to the one kept. Returns false when the cache could not keep
 * it (out of memory): *e stays the caller's.
 */
static bool table_keep(k5__lb_cache *x, lb_table *t, void **e, same_fn same)
{
    pthread_mutex_lock(&x->lock);
    void *kept = table_find(t, *e, same);
    bool ok = kept || table_add(t, *e);
    pthread_mutex_unlock(&x->lock);
    if (kept) {
        free(*e);
        *e = kept;
    }
    return ok;
}

static void *table_get(k5__lb_cache *x, const lb_table *t, const void *e, same_fn same)
{
    pthread_mutex_lock(&x->lock);
    void *kept = table_find(t, e, same);
    pthread_mutex_unlock(&x->lock);
    return kept;
}

static bool targets_same(const void *a, const void *b)
{
    const lb_targets *x = a, *y = b;
    return x->file == y->file && k5__str_eq(x->ns, y->ns) && k5__node_same(x->sel, y->sel);
}

static bool verdict_same(const void *a, const void *b)
{
    const lb_verdict *x = a, *y = b;
    return x->t == y->t && x->has_port == y->has_port && x->fn == y->fn &&
           x->keylen == y->keylen && (!x->keylen || memcmp(x->key, y->key, x->keylen) == 0) &&
           k5__node_same(x->target, y->target);
}

typedef struct collected {
    const k5_object **w;
    size_t n, cap;
    bool failed;
} collected;

static bool collect_workload(const k5_object *w, void *ud)
{
    collected *k = ud;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        const k5_object **p = realloc(k->w, cap * sizeof *p);
        if (!p) {
            k->failed = true;
            return false;
        }
        k->w = p;
        k->cap = cap;
    }
    k->w[k->n++] = w;
    return true;
}

/* True when `b` stands for the same object as `a` (a duplicate Kind/name) and is preferred:
 * from the Service's own file, else earlier in the input. */
static bool preferred_duplicate(size_t file, const k5_object *a, const k5_object *b)
{
    if (a == b || !k5__str_eq(a->kind, b->kind) || !k5__str_eq(a->name, b->name))
        return false;
    bool a_same = a->file == file, b_same = b->file == file;
    return a_same != b_same ? b_same : b->index < a->index;
}

/*
 * The same workload defined twice (in two files, or repeated in one) is judged once: of each
 * Kind/name the one the Service's own file defines, else the first. A table of Kind/name
 * groups keeps this linear in the workloads selected, however many repeat.
 */
static lb_targets *merge_duplicates(size_t file, const collected *k)
{
    lb_targets *t = malloc(sizeof *t + k->n * sizeof t->w[0]);
    size_t cap = 16;
    while (cap < 2 * k->n)
        cap *= 2;
    size_t *best = t ? calloc(cap, sizeof *best) : NULL; /* 1 + the group's preferred, or 0 */
    if (!best) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < k->n; i++) {
        const k5_object *w = k->w[i];
        uint64_t h = k5__hash_key(w->name.p, w->name.n) ^ k5__hash_key(w->kind.p, w->kind.n);
        size_t at = (size_t)h & (cap - 1);
        while (best[at] && !(k5__str_eq(k->w[best[at] - 1]->kind, w->kind) &&
                             k5__str_eq(k->w[best[at] - 1]->name, w->name)))
            at = (at + 1) & (cap - 1);
        if (!best[at] || preferred_duplicate(file, k->w[best[at] - 1], w))
            best[at] = i + 1;
    }
    /* In selection order: each group's preferred member where it was selected. */
    bool *keep = calloc(k->n ? k->n : 1, sizeof *keep);
    if (!keep) {
        free(best);
        free(t);
        return NULL;
    }
    for (size_t at = 0; at < cap; at++)
        if (best[at])
            keep[best[at] - 1] = true;
    t->n = 0;
    for (size_t i = 0; i < k->n; i++)
        if (keep[i])
            t->w[t->n++] = k->w[i];
    free(keep);
    free(best);
    return t;
}

/*
 * The merged targets of svc's selector: what k5_index_select gives for the namespace and
 * the selector, merged by the Service's file. Kept in the cache x (may be NULL) for every
 * Service of the same three, so N Services with one selector select once, not N times.
 * *own is set when the cache could not keep them: the caller frees it.
 */
static const lb_targets *targets_of(k5_check *c, k5__lb_cache *x, const k5_object *svc,
                                    const k5_node *sel, lb_targets **own, k5_status *st)
{
    *own = NULL;
    lb_targets probe = {0, svc->namespace_, sel, svc->file, 0};
    probe.hash = k5__node_hash(sel, k5__hash_mix(k5__hash_key(svc->namespace_.p, svc->namespace_.n),
                                    (uint64_t)svc->file));
    const lb_targets *kept = x ? table_get(x, &x->targets, &probe, targets_same) : NULL;
    if (kept)
        return kept;
    collected k = {NULL, 0, 0, false};
    k5_index_select(k5_check_index(c), svc->namespace_, sel, K5_SELECTOR_MAP, K5_KINDS_SERVING,
                    collect_workload, &k);
    lb_targets *mine = k.failed ? NULL : merge_duplicates(svc->file, &k);
    free(k.w);
    if (!mine) {
        *st = K5_ENOMEM;
        return NULL;
    }
    mine->hash = probe.hash;
    mine->ns = probe.ns;
    mine->sel = sel;
    mine->file = svc->file;
    void *e = mine;
    if (!x || !table_keep(x, &x->targets, &e, targets_same)) {
        *own = mine;
        return mine;
    }
    return e;
}

void k5__lb_key_int(k5__lb_key *k, int64_t v)
{
    if (sizeof v > sizeof k->b - k->n) {
        k->overflow = true;
        return;
    }
    memcpy(k->b + k->n, &v, sizeof v);
    k->n += sizeof v;
}

void k5__lb_key_str(k5__lb_key *k, k5_str s)
{
    /* Its length first: ("ab", "c") and ("a", "bc") are two keys. */
    k5__lb_key_int(k, s.p ? (int64_t)s.n : -1);
    if (s.n > sizeof k->b - k->n) {
        k->overflow = true;
        return;
    }
    if (s.n)
        memcpy(k->b + k->n, s.p, s.n);
    k->n += s.n;
}

/* The Service port's traffic target as visit_one reads it: targetPort, which defaults to port. */
static const k5_node *port_target(const k5_node *svc_port)
{
    const k5_node *target = svc_port ? k5_map_get(svc_port, "targetPort") : NULL;
    return !target && svc_port ? k5_map_get(svc_port, "port") : target;
}

/*
 * Which of t's targets tw's fn reports on, for this targetPort and key: kept in the cache for
 * every later call with the same four. Worked out by a dry run of fn on each target (it
 * reports nothing). NULL with *st K5_OK when it could not be kept (the caller walks every
 * target); *st set when fn failed.
 */
static const lb_verdict *verdict_of(k5_check *c, k5__lb_cache *x, const lb_targets *t,
                                    target_walk *tw, const k5__lb_key *key, k5_status *st)
{
    lb_verdict probe = {0, t, tw->svc_port != NULL, port_target(tw->svc_port), tw->fn,
                        key->n, key->b, 0};
    uint64_t h = k5__hash_mix(k5__hash_mix((uint64_t)(uintptr_t)t, probe.has_port), k5__hash_key(key->b, key->n));
    probe.hash = k5__node_hash(probe.target, k5__hash_mix(h, k5__hash_key(&tw->fn, sizeof tw->fn)));
    const lb_verdict *kept = table_get(x, &x->verdicts, &probe, verdict_same);
    if (kept)
        return kept;
    lb_verdict *v = malloc(sizeof *v + t->n * sizeof v->at[0] + (key->n ? key->n : 1));
    if (!v)
        return NULL;
    *v = probe;
    for (size_t i = 0; i < t->n && *st == K5_OK; i++) {
        k5__check_dry_begin(c);
        *st = visit_one(tw, t->w[i]);
        if (k5__check_dry_end(c))
            v->at[v->n++] = i;
    }
    if (*st != K5_OK) {
        free(v);
        return NULL;
    }
    unsigned char *kb = (unsigned char *)&v->at[t->n];
    if (key->n)
        memcpy(kb, key->b, key->n);
    v->key = kb;
    void *e = v;
    if (!table_keep(x, &x->verdicts, &e, verdict_same)) {
        free(v);
        return NULL;
    }
    return e;
}

/* ---- an index of the targets' features, for judges whose settings differ ---- */

static bool index_same(const void *a, const void *b)
{
    const lb_index *x = a, *y = b;
    return x->t == y->t && x->has_port == y->has_port && x->feat == y->feat &&
           x->keylen == y->keylen && (!x->keylen || memcmp(x->key, y->key, x->keylen) == 0) &&
           k5__node_same(x->target, y->target);
}

/* The slot of s among the index's strings: holding its 1 + id, or empty (0) where it goes. */
static size_t string_slot(const lb_index *ix, k5_str s)
{
    size_t at = (size_t)k5__hash_key(s.p, s.n) & (ix->slots - 1);
    while (ix->slot[at] && !k5__str_eq(ix->strs[ix->slot[at] - 1], s))
        at = (at + 1) & (ix->slots - 1);
    return at;
}

/* The id of s, given the next one (*nstrs) when new. */
static int32_t string_add(lb_index *ix, size_t *nstrs, k5_str s)
{
    size_t at = string_slot(ix, s);
    if (!ix->slot[at]) {
        ix->strs[*nstrs] = s;
        ix->slot[at] = (int32_t)++*nstrs;
    }
    return ix->slot[at] - 1;
}

static ix_node join(const ix_node *l, const ix_node *r)
{
    ix_node x;
    x.minv = l->minv < r->minv ? l->minv : r->minv;
    x.flag = l->flag || r->flag;
    x.sid = l->sid == SID_NONE ? r->sid
            : r->sid == SID_NONE || r->sid == l->sid ? l->sid
                                                     : SID_MIXED;
    if (!l->nstate || !r->nstate) {
        x.nstate = l->nstate ? l->nstate : r->nstate;
        x.nval = l->nstate ? l->nval : r->nval;
    } else {
        x.nstate = l->nstate == 1 && r->nstate == 1 && l->nval == r->nval ? 1 : 2;
        x.nval = l->nval;
    }
    return x;
}

/*
 * True the first time an index like probe is asked for (kept in x->seen): that call walks
 * every target instead, which costs what building the index would, and keeps nothing. Only
 * a second Service of the same targets, targetPort and feat builds it, so the Services with
 * a targetPort of their own (n of them over n targets: n^2 judgements as before) hold no
 * index each.
 */
static bool first_use(k5__lb_cache *x, const lb_index *probe)
{
    lb_index *stub = malloc(sizeof *stub);
    if (!stub)
        return false;
    *stub = *probe;
    pthread_mutex_lock(&x->lock);
    bool first = !table_find(&x->seen, stub, index_same) && table_add(&x->seen, stub);
    pthread_mutex_unlock(&x->lock);
    if (!first)
        free(stub);
    return first;
}

/*
 * The index of t's features under tw's Service port and q's feat and fkey: kept in the cache
 * for every later call with the same four. Worked out by calling feat once on each target.
 * NULL when it could not be made or kept, or on first use (first_use): the caller walks
 * every target.
 */
static const lb_index *index_of(k5__lb_cache *x, const lb_targets *t, const target_walk *tw,
                                const k5__lb_query *q)
{
    lb_index probe;
    memset(&probe, 0, sizeof probe);
    probe.t = t;
    probe.has_port = tw->svc_port != NULL;
    probe.target = port_target(tw->svc_port);
    probe.feat = q->feat;
    probe.keylen = q->fkey.n;
    if (q->fkey.n)
        memcpy(probe.key, q->fkey.b, q->fkey.n);
    uint64_t h = k5__hash_mix(k5__hash_mix((uint64_t)(uintptr_t)t, probe.has_port),
                              k5__hash_key(probe.key, probe.keylen));
    probe.hash = k5__node_hash(probe.target,
                               k5__hash_mix(h, k5__hash_key(&probe.feat, sizeof probe.feat)));
    const lb_index *kept = table_get(x, &x->indexes, &probe, index_same);
    if (kept)
        return kept;
    if (first_use(x, &probe))
        return NULL;

    size_t size = 1, slots = 16;
    while (size < t->n)
        size *= 2;
    while (slots < 2 * t->n)
        slots *= 2;
    /* One block: the header, the tree, the strings, their slots (in decreasing alignment). */
    size_t at_nodes = (sizeof probe + 15) & ~(size_t)15;
    size_t at_strs = at_nodes + 2 * size * sizeof(ix_node);
    size_t at_slot = at_strs + (t->n ? t->n : 1) * sizeof(k5_str);
    unsigned char *block = calloc(1, at_slot + slots * sizeof(int32_t));
    if (!block)
        return NULL;
    lb_index *ix = (lb_index *)block;
    *ix = probe;
    ix->size = size;
    ix->nodes = (ix_node *)(block + at_nodes);
    ix->strs = (k5_str *)(block + at_strs);
    ix->slot = (int32_t *)(block + at_slot);
    ix->slots = slots;
    size_t nstrs = 0;
    for (size_t i = 0; i < size; i++) {
        ix_node *leaf = &ix->nodes[size + i];
        *leaf = (ix_node){INT64_MAX, 0, SID_NONE, 0, false};
        if (i >= t->n)
            continue;
        k5__lb_target tg;
        k5__lb_feat f;
        memset(&f, 0, sizeof f);
        target_of(tw, t->w[i], &tg);
        q->feat(&tg, tw->ud, &f);
        if (f.never)
            continue;
        leaf->minv = f.v;
        if (f.has_s)
            leaf->sid = string_add(ix, &nstrs, f.s);
        if (f.n) {
            leaf->nstate = 1;
            leaf->nval = f.n;
        }
        leaf->flag = f.flag;
    }
    for (size_t i = size - 1; i >= 1; i--)
        ix->nodes[i] = join(&ix->nodes[2 * i], &ix->nodes[2 * i + 1]);
    void *e = ix;
    if (!table_keep(x, &x->indexes, &e, index_same)) {
        free(ix);
        return NULL;
    }
    return e;
}

/* A query with its string resolved to the index's id. */
typedef struct ix_query {
    const k5__lb_query *q;
    int32_t sid;
} ix_query;

/* Exactly: some target under the node is a candidate for the query. */
static bool node_may(const ix_node *x, const ix_query *iq)
{
    const k5__lb_query *q = iq->q;
    return x->minv < q->lt ||
           (q->s_on && (x->sid == SID_MIXED || (x->sid >= 0 && x->sid != iq->sid))) ||
           (q->n_on && (x->nstate == 2 || (x->nstate == 1 && x->nval != q->n))) ||
           (q->flag_on && x->flag);
}

/*
 * The first candidate at or after target j, or SIZE_MAX. From j's leaf up, to the first node
 * that begins after the ranges already ruled out and holds a candidate, then down to its
 * first: the next of a run of candidates costs O(1) steps on average, a distant one O(log n).
 */
static size_t next_candidate(const lb_index *ix, const ix_query *iq, size_t j)
{
    if (j >= ix->size)
        return SIZE_MAX;
    size_t v = ix->size + j;
    while (!node_may(&ix->nodes[v], iq)) {
        while (v & 1) /* a right child: its parent's range is ruled out too */
            v >>= 1;
        if (!v) /* past the root */
            return SIZE_MAX;
        v++; /* the right sibling: the range just after */
    }
    while (v < ix->size)
        v = node_may(&ix->nodes[2 * v], iq) ? 2 * v : 2 * v + 1;
    return v - ix->size;
}

/* ---- the walks ---- */

static k5_status each(k5_check *c, const k5_object *svc, const k5_node *svc_port,
                      k5__lb_target_fn fn, void *ud, const k5__lb_key *key,
                      const k5__lb_query *q)
{
    const k5_node *sel = k5_node_at(svc->root, "spec.selector");
    /* The callbacks only report: once the object holds its cap of findings, neither this walk
     * nor any later one can change the output (n Services over n workloads, each target a
     * finding of lb-drain-exceeds-grace, stop after the cap instead of walking all n). */
    if (!k5_node_is_map(sel) || !k5_node_len(sel) || k5_check_object_full(c))
        return K5_OK;
    target_walk tw = {c, svc, svc_port, fn, ud};
    k5_status st = K5_OK;
    lb_targets *own;
    k5__lb_cache *x = cache_of(c);
    const lb_targets *t = targets_of(c, x, svc, sel, &own, &st);
    /* Indexes and verdicts name their targets by address: only for targets the cache keeps. */
    const lb_index *ix = t && !own && q && !q->fkey.overflow ? index_of(x, t, &tw, q) : NULL;
    if (q && !ix) {
        for (size_t i = 0; t && i < t->n && st == K5_OK && !k5_check_object_full(c); i++)
            st = visit_one(&tw, t->w[i]);
        free(own);
        return st;
    }
    if (ix) {
        /* The candidates, in order; the other targets report nothing, so skipping them
         * changes neither the findings nor where the cap stops the walk. */
        ix_query iq = {q, SID_ABSENT};
        if (q->s_on) {
            size_t at = string_slot(ix, q->s);
            iq.sid = ix->slot[at] ? ix->slot[at] - 1 : SID_ABSENT;
        }
        for (size_t i = next_candidate(ix, &iq, 0); i < t->n && st == K5_OK &&
                                                    !k5_check_object_full(c);
             i = next_candidate(ix, &iq, i + 1))
            st = visit_one(&tw, t->w[i]);
        return st;
    }
    const lb_verdict *v = t && !own && key && !key->overflow ? verdict_of(c, x, t, &tw, key, &st)
                                                            : NULL;
    if (v) {
        /* The targets fn reports on, in order; the others report nothing, so skipping them
         * changes neither the findings nor where the cap stops the walk. */
        for (size_t i = 0; i < v->n && st == K5_OK && !k5_check_object_full(c); i++)
            st = visit_one(&tw, t->w[v->at[i]]);
    } else {
        for (size_t i = 0; t && i < t->n && st == K5_OK && !k5_check_object_full(c); i++)
            st = visit_one(&tw, t->w[i]);
    }
    free(own);
    return st;
}

k5_status k5__lb_each_target(k5_check *c, const k5_object *svc, const k5_node *svc_port,
                             k5__lb_target_fn fn, void *ud, const k5__lb_key *key)
{
    return each(c, svc, svc_port, fn, ud, key, NULL);
}

k5_status k5__lb_each_indexed(k5_check *c, const k5_object *svc, const k5_node *svc_port,
                              k5__lb_target_fn fn, void *ud, const k5__lb_query *q)
{
    return each(c, svc, svc_port, fn, ud, NULL, q);
}
