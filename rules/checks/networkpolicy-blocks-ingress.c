/*
 * networkpolicy-blocks-ingress: pods that an Ingress or a Gateway API route reaches (through
 * a Service) are isolated by NetworkPolicies that admit no peer the ingress controller can
 * be, on the port the traffic uses.
 */
#include <stdlib.h>

#include "k5_check.h"

/*
 * The controller namespaces are k5__controller_namespaces': this rule's parameter
 * controller-namespaces, where the cluster's ingress controller or Gateway data plane runs. A
 * namespaceSelector that selects one of these is taken as admitting the controller. The
 * default cannot know which controller the cluster runs, so it lists ingress-nginx (the
 * issue's default) and the namespaces common controllers install into; a cluster that names
 * its own replaces the list. For routes, the namespaces of their parent Gateways are added.
 */

#define MAX_CTRL_NS 8 /* Gateway namespaces kept per route */
#define MAX_OPEN 16   /* distinct open ways in remembered per workload (a cache only) */

typedef struct edge {
    const k5_object *user; /* the Ingress or route */
    const k5_object *svc;
    int64_t port;          /* the Service port used */
    int64_t target;        /* the pods' port number it resolves to */
    k5_str target_name;    /* that container port's name, or empty */
    k5_str gw_ns[MAX_CTRL_NS];
    size_t ngw;
} edge;

typedef enum tri { T_NO = 0, T_YES = 1, T_UNKNOWN = 2 } tri;

/* How far the union of the policies selecting a pod admits the controller. */
typedef enum verdict {
    V_NO_RULE = 0,   /* no ingress rule of any policy covers the port */
    V_SAME_NS = 1,   /* only pods of the pods' own namespace are admitted */
    V_OTHER_NS = 2,  /* only namespaces that are not a known controller namespace */
    V_ADMITS = 3     /* some peer admits (or may admit) the controller: nothing to say */
} verdict;

static bool str_is(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool controller_ns(const k5_check *c, const edge *e, k5_str ns)
{
    k5_str known;
    for (const char *cur = k5__controller_namespaces(c); k5_names_next(&cur, &known);)
        if (k5__str_eq(ns, known))
            return true;
    for (size_t i = 0; i < e->ngw; i++)
        if (k5__str_eq(e->gw_ns[i], ns))
            return true;
    return false;
}

/* ---- namespace selectors, with the labels the input can tell ---- */

typedef struct ns_view {
    k5_str name;
    const k5_node *labels; /* the Namespace object's labels, when it is in the input */
    bool known;            /* the Namespace object is in the input */
} ns_view;

/* A namespace's label: kubernetes.io/metadata.name is its name (set by the API server). */
static tri ns_label(const ns_view *ns, k5_str key, k5_str *val)
{
    if (str_is(key, "kubernetes.io/metadata.name")) {
        *val = ns->name;
        return T_YES;
    }
    if (!ns->known)
        return T_UNKNOWN;
    for (size_t i = 0; i < k5_node_len(ns->labels); i++)
        if (k5__str_eq(k5_node_str(k5_map_key(ns->labels, i)), key)) {
            *val = k5_node_str(k5_map_value(ns->labels, i));
            return T_YES;
        }
    return T_NO;
}

static bool in_values(const k5_node *values, k5_str v)
{
    for (size_t i = 0; i < k5_node_len(values); i++)
        if (k5__str_eq(k5_node_str(k5_seq_at(values, i)), v))
            return true;
    return false;
}

/* A LabelSelector against a namespace, three-valued: unknown labels give T_UNKNOWN. */
static tri ns_matches(const k5_node *sel, const ns_view *ns)
{
    tri r = T_YES;
    const k5_node *ml = k5_map_get(sel, "matchLabels");
    for (size_t i = 0; i < k5_node_len(ml); i++) {
        k5_str v;
        tri t = ns_label(ns, k5_node_str(k5_map_key(ml, i)), &v);
        if (t == T_UNKNOWN)
            r = T_UNKNOWN;
        else if (t == T_NO || !k5__str_eq(v, k5_node_str(k5_map_value(ml, i))))
            return T_NO;
    }
    const k5_node *me = k5_map_get(sel, "matchExpressions");
    for (size_t i = 0; i < k5_node_len(me); i++) {
        const k5_node *ex = k5_seq_at(me, i);
        const k5_node *op = k5_map_get(ex, "operator");
        const k5_node *vals = k5_map_get(ex, "values");
        k5_str v;
        tri t = ns_label(ns, k5_node_str(k5_map_get(ex, "key")), &v);
        if (t == T_UNKNOWN) {
            r = T_UNKNOWN;
            continue;
        }
        bool has = t == T_YES;
        bool ok;
        if (k5_node_is(op, "In"))
            ok = has && in_values(vals, v);
        else if (k5_node_is(op, "NotIn"))
            ok = !has || !in_values(vals, v);
        else if (k5_node_is(op, "Exists"))
            ok = has;
        else if (k5_node_is(op, "DoesNotExist"))
            ok = !has;
        else {
            r = T_UNKNOWN; /* an operator the API server would refuse */
            continue;
        }
        if (!ok)
            return T_NO;
    }
    return r;
}

static ns_view view_of(const k5_check *c, k5_str name)
{
    const k5_object *o = k5_index_find_cluster(k5_check_index(c), K5_KIND_NAMESPACE, name);
    ns_view v = {name, o ? o->labels : NULL, o != NULL};
    return v;
}

static tri selects_ns(const k5_check *c, const k5_node *sel, k5_str name, tri best)
{
    if (best == T_YES)
        return T_YES;
    ns_view v = view_of(c, name);
    tri t = ns_matches(sel, &v);
    return t == T_NO ? best : t;
}

/* Whether a namespaceSelector selects a controller namespace: a known one or a Gateway's. */
static tri selects_controller_ns(const k5_check *c, const edge *e, const k5_node *sel)
{
    tri best = T_NO;
    k5_str known;
    for (const char *cur = k5__controller_namespaces(c); k5_names_next(&cur, &known);)
        best = selects_ns(c, sel, known, best);
    for (size_t i = 0; i < e->ngw; i++)
        best = selects_ns(c, sel, e->gw_ns[i], best);
    return best;
}

/* ---- one policy rule ---- */

/* Whether the rule's ports admit the pods' port (number and container port name). */
static bool ports_admit(const k5_node *ports, const edge *e)
{
    if (!k5_node_len(ports))
        return true;
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        const k5_node *proto = k5_map_get(p, "protocol");
        if (proto && !k5_node_is(proto, "TCP"))
            continue;
        const k5_node *port = k5_map_get(p, "port");
        k5_intstr v;
        if (!port || !k5_intstr_get(port, &v))
            return true; /* every port of the protocol (or a value not understood) */
        int64_t end = 0;
        if (v.is_int && (v.i == e->target ||
                         (k5_node_int(k5_map_get(p, "endPort"), &end) && v.i <= e->target &&
                          e->target <= end)))
            return true;
        if (!v.is_int && e->target_name.n && k5__str_eq(v.s, e->target_name))
            return true;
    }
    return false;
}

/* What one `from` peer admits, for pods in namespace ns. */
static verdict peer_verdict(const k5_check *c, const edge *e, k5_str ns, const k5_node *peer,
                            k5_str *other_ns)
{
    if (!k5_node_is_map(peer) || k5_map_get(peer, "ipBlock"))
        return V_ADMITS; /* an address range: a load balancer's or node's, maybe */
    const k5_node *nss = k5_map_get(peer, "namespaceSelector");
    if (!nss) /* pods of the policy's own namespace only */
        return controller_ns(c, e, ns) ? V_ADMITS : V_SAME_NS;
    tri t = selects_controller_ns(c, e, nss);
    if (t != T_NO)
        return V_ADMITS; /* with a podSelector the controller's pod labels decide: unknown */
    /* Names no controller namespace. The policy's own namespace by name is V_SAME_NS. */
    ns_view own = view_of(c, ns);
    /* Not k5_node_at: the label key holds dots. */
    const k5_node *name = k5_map_get(k5_map_get(nss, "matchLabels"), "kubernetes.io/metadata.name");
    if (ns_matches(nss, &own) == T_YES && (!name || k5__str_eq(k5_node_str(name), ns)))
        return V_SAME_NS;
    if (name && !other_ns->n)
        *other_ns = k5_node_str(name);
    return V_OTHER_NS;
}

/* ---- the union of the policies selecting one workload ---- */

typedef struct judge {
    const k5_check *c;
    const edge *e;
    const k5_object *w;
    verdict v;          /* the best any policy gives so far */
    size_t policies;    /* Ingress policies selecting the pods */
    k5_str other_ns;    /* a namespace the policies admit instead, for the message */
} judge;

static bool isolates_ingress(const k5_object *np)
{
    const k5_node *types = k5_node_at(np->root, "spec.policyTypes");
    /* Without policyTypes, Ingress is always implied (Egress only with egress rules). */
    if (!types)
        return true;
    for (size_t i = 0; i < k5_node_len(types); i++)
        if (k5_node_is(k5_seq_at(types, i), "Ingress"))
            return true;
    return false;
}

static bool judge_policy(const k5_object *np, void *ud)
{
    judge *j = ud;
    if (!isolates_ingress(np))
        return true;
    j->policies++;
    const k5_node *rules = k5_node_at(np->root, "spec.ingress");
    for (size_t r = 0; r < k5_node_len(rules) && j->v != V_ADMITS; r++) {
        const k5_node *rule = k5_seq_at(rules, r);
        if (!ports_admit(k5_map_get(rule, "ports"), j->e))
            continue;
        const k5_node *from = k5_map_get(rule, "from");
        if (!k5_node_len(from)) {
            j->v = V_ADMITS; /* from every source */
            break;
        }
        for (size_t p = 0; p < k5_node_len(from) && j->v != V_ADMITS; p++) {
            verdict v = peer_verdict(j->c, j->e, j->w->namespace_, k5_seq_at(from, p),
                                     &j->other_ns);
            if (v > j->v)
                j->v = v;
        }
    }
    return j->v != V_ADMITS;
}

/* ---- finding the edges that reach a workload ---- */

typedef struct found {
    k5_check *c;
    const k5_object *policy; /* the policy being checked */
    const k5_object *w;      /* the workload being looked at */
    const k5_object *svc;    /* the Service being looked at */
    edge e;                  /* the first blocked edge */
    judge j;
    bool blocked;
    k5_status st; /* an engine failure on the way (out of memory) */
    edge open[MAX_OPEN]; /* ways in of this workload judged not blocked */
    size_t nopen;
} found;

/* The pods' port number (and container port name) a Service port's targetPort designates. */
static bool resolve_target(const k5_object *w, const k5_node *svc_port, int64_t *num, k5_str *name)
{
    const k5_node *tp = k5_map_get(svc_port, "targetPort");
    k5_intstr v;
    if (!tp)
        tp = k5_map_get(svc_port, "port");
    if (!k5_intstr_get(tp, &v))
        return false;
    *name = (k5_str){"", 0};
    k5__ctr_iter it;
    k5__ctr_iter_init(&it, w, K5__CTR_RUNNING);
    for (const k5_node *ctr; (ctr = k5__ctr_next(&it, NULL));) {
        const k5_node *cp = k5__ctr_port_for(ctr, tp);
        if (cp) {
            if (!k5_node_int(k5_map_get(cp, "containerPort"), num))
                return false;
            *name = k5_node_str(k5_map_get(cp, "name"));
            return true;
        }
    }
    if (v.is_int) { /* an undeclared number: the port all the same */
        *num = v.i;
        return true;
    }
    return false; /* a name no container declares: service-target-port-mismatch's finding */
}

/* The Service port an Ingress backend or backendRef port designates (number or name). */
static const k5_node *service_port(const k5_object *svc, const k5_node *port)
{
    k5_intstr want;
    if (!port || !k5_intstr_get(port, &want))
        return NULL;
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t n;
        if (want.is_int ? k5_node_int(k5_map_get(p, "port"), &n) && n == want.i
                        : k5__str_eq(k5_node_str(k5_map_get(p, "name")), want.s))
            return p;
    }
    return NULL;
}

/*
 * One way in to the Services of a namespace and name, as their users write it: the Service
 * port named (number or name) and, for a route, its Gateways' namespaces. The verdict on a
 * way in depends on these (and the workload) only, so users writing the same port and
 * Gateways are one way in, kept with the first of them (the one a finding names). With the
 * same Service name in many files of one namespace, this keeps a workload's ways in at the
 * distinct ports used, not Services x users.
 */
typedef struct ref_way {
    const k5_object *user; /* the first Ingress or route using it */
    const k5_node *port;   /* the backend's or backendRef's port */
    k5_intstr want;        /* that port, read */
    k5_str gw_ns[MAX_CTRL_NS];
    size_t ngw;
} ref_way;

typedef struct ref_ways {
    size_t n;
    ref_way w[];
} ref_ways;

typedef struct collect {
    k5_str ns, name; /* the Services' */
    ref_way *w;
    size_t n, cap;
    k5_status st;
} collect;

static bool same_way(const ref_way *a, const ref_way *b)
{
    if (a->want.is_int != b->want.is_int || a->ngw != b->ngw)
        return false;
    if (a->want.is_int ? a->want.i != b->want.i : !k5__str_eq(a->want.s, b->want.s))
        return false;
    for (size_t i = 0; i < a->ngw; i++)
        if (!k5__str_eq(a->gw_ns[i], b->gw_ns[i]))
            return false;
    return true;
}

static k5_status add_way(collect *k, const ref_way *proto, const k5_object *user,
                         const k5_node *port)
{
    ref_way r = *proto;
    r.user = user;
    r.port = port;
    if (!port || !k5_intstr_get(port, &r.want))
        return K5_OK; /* designates no Service port (service_port): never a way in */
    for (size_t i = 0; i < k->n; i++)
        if (same_way(&k->w[i], &r))
            return K5_OK;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 8;
        ref_way *w = cap < SIZE_MAX / sizeof *w ? realloc(k->w, cap * sizeof *w) : NULL;
        if (!w)
            return K5_ENOMEM;
        k->w = w;
        k->cap = cap;
    }
    k->w[k->n++] = r;
    return K5_OK;
}

static k5_status collect_backend(k5_check *c, const k5_object *ing, const k5__backend *b,
                                 void *ud)
{
    (void)c;
    collect *k = ud;
    if (!k5__str_eq(k5_node_str(b->service), k->name))
        return K5_OK;
    ref_way proto;
    memset(&proto, 0, sizeof proto);
    return add_way(k, &proto, ing, b->port);
}

static k5_status collect_route(collect *k, const k5_object *route)
{
    ref_way proto;
    memset(&proto, 0, sizeof proto);
    const k5_node *parents = k5_node_at(route->root, "spec.parentRefs");
    for (size_t i = 0; i < k5_node_len(parents) && proto.ngw < MAX_CTRL_NS; i++) {
        const k5_node *pr = k5_seq_at(parents, i);
        const k5_node *kind = k5_map_get(pr, "kind");
        if (kind && !k5_node_is(kind, "Gateway"))
            continue;
        k5_str ns = k5_node_str(k5_map_get(pr, "namespace"));
        proto.gw_ns[proto.ngw++] = ns.n ? ns : route->namespace_;
    }
    const k5_node *rules = k5_node_at(route->root, "spec.rules");
    for (size_t r = 0; r < k5_node_len(rules); r++) {
        const k5_node *refs = k5_map_get(k5_seq_at(rules, r), "backendRefs");
        for (size_t i = 0; i < k5_node_len(refs); i++) {
            const k5_node *ref = k5_seq_at(refs, i);
            k5_str ns = k5_node_str(k5_map_get(ref, "namespace"));
            if (!k5__backend_ref_is_service(ref) ||
                !k5__str_eq(k5_node_str(k5_map_get(ref, "name")), k->name) ||
                !k5__str_eq(ns.n ? ns : route->namespace_, k->ns))
                continue;
            k5_status st = add_way(k, &proto, route, k5_map_get(ref, "port"));
            if (st != K5_OK)
                return st;
        }
    }
    return K5_OK;
}

typedef struct collect_ud {
    k5_check *c;
    collect *k;
} collect_ud;

static bool collect_user(const k5_object *user, void *ud)
{
    collect_ud *u = ud;
    if (user->kind_id == K5_KIND_INGRESS)
        u->k->st = k5__ingress_each_backend(u->c, user, collect_backend, u->k);
    else
        u->k->st = collect_route(u->k, user);
    return u->k->st == K5_OK;
}

/*
 * The distinct ways in to the Services named like svc in its namespace, in the order their
 * users meet them (index order, then document order), once per run (k5__memo). *own is set
 * when the memo could not keep them: the caller frees it after use.
 */
static const ref_ways *ways_of(k5_check *c, const k5_object *svc, ref_ways **own, k5_status *st)
{
    const k5_index *idx = k5_check_index(c);
    const k5_object *key = k5_index_find(idx, svc->namespace_, K5_KIND_SERVICE, svc->name);
    if (!key)
        key = svc;
    *own = NULL;
    const ref_ways *rw = k5__memo_get(c, K5__MEMO_NETPOL_WAYS, key);
    if (rw)
        return rw;
    collect k = {svc->namespace_, svc->name, NULL, 0, 0, K5_OK};
    collect_ud u = {c, &k};
    k5_index_service_users(idx, svc->namespace_, svc->name, collect_user, &u);
    size_t size = sizeof(ref_ways) + k.n * sizeof(ref_way);
    ref_ways *mine = k.st == K5_OK ? malloc(size) : NULL;
    if (!mine) {
        free(k.w);
        *st = K5_ENOMEM;
        return NULL;
    }
    mine->n = k.n;
    if (k.n)
        memcpy(mine->w, k.w, k.n * sizeof(ref_way));
    free(k.w);
    rw = k5__memo_put(c, K5__MEMO_NETPOL_WAYS, key, mine, size);
    if (rw == mine)
        *own = mine;
    else
        free(mine);
    return rw;
}

/* Whether e judges as an earlier way in of this workload that was not blocked. */
static bool judged_open(const found *f, const edge *e)
{
    for (size_t i = 0; i < f->nopen; i++) {
        const edge *o = &f->open[i];
        if (o->target != e->target || !k5__str_eq(o->target_name, e->target_name) ||
            o->ngw != e->ngw)
            continue;
        size_t g = 0;
        while (g < e->ngw && k5__str_eq(o->gw_ns[g], e->gw_ns[g]))
            g++;
        if (g == e->ngw)
            return true;
    }
    return false;
}

/* Judges one way in (the Service port used); true when it is blocked (f->e, f->j set). */
static bool try_edge(found *f, const ref_way *way)
{
    const k5_node *sp = service_port(f->svc, way->port);
    edge e;
    memset(&e, 0, sizeof e);
    e.user = way->user;
    e.svc = f->svc;
    memcpy(e.gw_ns, way->gw_ns, sizeof e.gw_ns);
    e.ngw = way->ngw;
    if (!sp || !k5_node_int(k5_map_get(sp, "port"), &e.port) ||
        !resolve_target(f->w, sp, &e.target, &e.target_name))
        return false;
    /* The same pod port, name and Gateways judge the same: one judgement per workload. */
    if (judged_open(f, &e))
        return false;
    judge j = {f->c, &e, f->w, V_NO_RULE, 0, {"", 0}};
    k5_index_netpols_for(k5_check_index(f->c), f->w, judge_policy, &j);
    if (!j.policies || j.v == V_ADMITS) {
        if (f->nopen < MAX_OPEN)
            f->open[f->nopen++] = e;
        return false;
    }
    f->e = e;
    f->j = j;
    f->j.e = &f->e;
    f->blocked = true;
    return true;
}

static bool each_service(const k5_object *svc, void *ud)
{
    found *f = ud;
    f->svc = svc;
    ref_ways *own;
    const ref_ways *rw = ways_of(f->c, svc, &own, &f->st);
    for (size_t i = 0; rw && i < rw->n; i++)
        if (try_edge(f, &rw->w[i]))
            break;
    free(own);
    return !f->blocked && f->st == K5_OK;
}

/*
 * A workload's first blocked way in and the union's verdict on it. It depends on the workload
 * alone (every policy selecting it is read, whichever policy is being checked), so it is
 * computed once per run and kept (k5__memo): P policies selecting the same pods cost P
 * lookups per workload, not P walks over all P policies.
 */
typedef struct way_in {
    bool blocked;
    edge e;
    verdict v;
    size_t policies;
    k5_str other_ns;
} way_in;

static bool each_workload(const k5_object *w, void *ud)
{
    found *f = ud;
    bool host = false;
    /* Host-network pods are outside pod networking: common CNIs do not apply policies. */
    if (k5_node_bool(k5_map_get(w->pod_spec, "hostNetwork"), &host) && host)
        return true;
    way_in mine;
    /* Copies of one manifest (k5__memo_copy) are judged alike: judged once for all. */
    const k5_object *twin = k5__memo_copy(f->c, w, NULL);
    const way_in *b = k5__memo_get(f->c, K5__MEMO_NETPOL_INGRESS, twin);
    if (!b) {
        f->w = w;
        f->blocked = false;
        f->nopen = 0;
        k5_index_services_for(k5_check_index(f->c), w, each_service, f);
        if (f->st != K5_OK)
            return false;
        memset(&mine, 0, sizeof mine);
        if (f->blocked) {
            mine.blocked = true;
            mine.e = f->e;
            mine.v = f->j.v;
            mine.policies = f->j.policies;
            mine.other_ns = f->j.other_ns;
        }
        b = k5__memo_put(f->c, K5__MEMO_NETPOL_INGRESS, twin, &mine, sizeof mine);
    }
    if (!b->blocked)
        return true;
    f->w = w;
    f->e = b->e;
    f->j = (judge){f->c, &f->e, w, b->v, b->policies, b->other_ns};
    f->blocked = true;
    return false;
}

/* What a policy's search found: its first blocked workload, the way in and the verdict. */
typedef struct policy_found {
    bool blocked;
    const k5_object *w;
    edge e;
    verdict v;
    size_t policies;
    k5_str other_ns;
} policy_found;

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (!isolates_ingress(obj))
        return K5_OK;
    const k5_node *sel = k5_node_at(obj->root, "spec.podSelector");
    if (!k5_node_is_map(sel))
        return K5_OK;
    found f;
    memset(&f, 0, sizeof f);
    f.c = c;
    f.policy = obj;
    /* Copies of one policy (k5__memo_copy) select the same pods and find the same first
     * blocked workload: searched once for all. */
    bool copies;
    const k5_object *twin = k5__memo_copy(c, obj, &copies);
    const policy_found *kept = copies ? k5__memo_get(c, K5__MEMO_NETPOL_FOUND, twin) : NULL;
    if (kept) {
        f.blocked = kept->blocked;
        f.w = kept->w;
        f.e = kept->e;
        f.j = (judge){c, &f.e, f.w, kept->v, kept->policies, kept->other_ns};
    } else {
        k5_index_select(k5_check_index(c), obj->namespace_, sel, K5_SELECTOR_LABEL,
                        K5_KINDS_SERVING, each_workload, &f);
        if (f.st != K5_OK)
            return f.st;
        policy_found mine = {f.blocked, f.w, f.e, f.j.v, f.j.policies, f.j.other_ns};
        if (copies)
            (void)k5__memo_put(c, K5__MEMO_NETPOL_FOUND, twin, &mine, sizeof mine);
    }
    if (!f.blocked)
        return K5_OK;

    const edge *e = &f.e;
    char why[300], controller[200];
    if (f.j.v == V_NO_RULE)
        snprintf(why, sizeof why, "no ingress rule of the %zu NetworkPolic%s selecting them "
                 "allows port %lld", f.j.policies, f.j.policies == 1 ? "y" : "ies",
                 (long long)e->target);
    else if (f.j.v == V_SAME_NS)
        snprintf(why, sizeof why, "the rules allowing port %lld admit only pods of namespace "
                 "\"%.*s\"", (long long)e->target, (int)f.w->namespace_.n, f.w->namespace_.p);
    else
        snprintf(why, sizeof why, "the rules allowing port %lld admit only other namespaces "
                 "(%s%.*s%s), none an ingress controller namespace (controller-namespaces)",
                 (long long)e->target,
                 f.j.other_ns.n ? "\"" : "", (int)f.j.other_ns.n,
                 f.j.other_ns.n ? f.j.other_ns.p : "chosen by labels", f.j.other_ns.n ? "\"" : "");
    if (e->ngw)
        snprintf(controller, sizeof controller, "the Gateway's data plane (namespace \"%.*s\")",
                 (int)e->gw_ns[0].n, e->gw_ns[0].p);
    else
        snprintf(controller, sizeof controller, "the ingress controller");
    /* Where: the ingress rules, else what makes the policy isolate. */
    const k5_node *at = k5_node_at(obj->root, "spec.ingress");
    if (!at)
        at = k5_node_at(obj->root, "spec.policyTypes");
    if (!at)
        at = sel;
    k5_severity max = K5_SEV_ERROR;
    /* Other namespaces may be where this cluster's controller runs; a failed input may hold
     * the policy that admits it. */
    if (f.j.v == V_OTHER_NS || k5_check_inputs_failed(c))
        max = K5_SEV_WARNING;
    /* Policy and pods from different files, one of them naming no namespace: they meet only
     * when both are applied to the same namespace (unrelated examples of one repository
     * linted together), so the rule cannot be sure. */
    bool apart = (obj->namespace_implicit || f.w->namespace_implicit) && obj->file != f.w->file;
    if (apart)
        max = K5_SEV_WARNING;
    return k5_check_report_capped(
        c, max, at, NULL,
        "NetworkPolicy \"%.*s\" isolates the pods of %.*s \"%.*s\", which %.*s \"%.*s\" reaches "
        "through Service \"%.*s\" port %lld (pod port %lld), and %s: %s cannot connect, its "
        "SYNs are dropped and the %.*s answers 504; add an ingress rule admitting it on port "
        "%lld (a namespaceSelector on kubernetes.io/metadata.name, or an ipBlock for a cloud "
        "load balancer)%s%s",
        (int)obj->name.n, obj->name.p, (int)f.w->kind.n, f.w->kind.p, (int)f.w->name.n,
        f.w->name.p, (int)e->user->kind.n, e->user->kind.p, (int)e->user->name.n,
        e->user->name.p, (int)e->svc->name.n, e->svc->name.p, (long long)e->port,
        (long long)e->target, why, controller, (int)e->user->kind.n, e->user->kind.p,
        (long long)e->target,
        k5_check_inputs_failed(c) ? " (some input failed to load: a policy there may admit it)"
                                  : "",
        apart ? " (the policy and the pods are in different files and one names no namespace: "
                "they meet only if applied to the same one)"
              : "");
}

const k5_rule k5__rule_networkpolicy_blocks_ingress = {
    .id = "networkpolicy-blocks-ingress",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_NETWORKPOLICY,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "at admission a warning only: policies add up, so the policy admitting the "
                  "controller may come later in the same apply (a default deny is often applied "
                  "first)",
    .cost = "per workload selected by some policy, once per run: its Services and those "
            "Services' Ingresses and routes (indexes), each distinct way in (the port named and "
            "a route's Gateways: users of Services of one namespace and name are read once per "
            "run, so same-named Services repeated across files do not multiply) judged against "
            "the policies selecting the workload (label index), once per distinct pod port "
            "that is not blocked; then per NetworkPolicy: a lookup "
            "per workload its podSelector matches (label index). The verdict is kept per "
            "workload for the run (at admission, per review), so P policies selecting the same "
            "W pods cost P x W lookups plus W x P to judge, not P x P x W (measured at "
            "admission, bench/cluster_bench.sh's NetworkPolicy figure: a Deployment's review "
            "under 16, 64 and 256 such policies costs 2.4x, 7.7x and 37x its CPU without any, "
            "0.06, 0.21 and 0.99 ms; before the memo 9.0x, 112x and 1,917x)"
            "; word-for-word copies of the object, in one file or many (the same manifest "
            "repeated: renders of one chart, examples concatenated or in n files) are searched "
            "once for all copies (k5__memo_copy), so n copies cost n, not n^2 (measured: "
            "bench/scale_bench.sh figures 8 and 10)",
    .summary = "NetworkPolicies isolate pods behind an Ingress or route and admit no ingress "
               "controller",
    .explanation =
        "Once any NetworkPolicy with policyTypes Ingress (or ingress rules, or no policyTypes "
        "at all) selects a pod, the pod accepts only connections that some policy selecting it "
        "admits, on the ports that policy lists; policies add up. The ingress controller or "
        "Gateway data plane that serves an Ingress or HTTPRoute connects to the pods from its "
        "own namespace (or, for cloud load balancers, from addresses outside the cluster): when "
        "no rule allows it on the pods' port, its SYNs are dropped, the connection times out "
        "and clients get 504. Reported as an error when the policies admit nothing on that "
        "port (a default-deny) or only pods of the pods' own namespace, and as a warning when "
        "they admit only namespaces chosen by name that are not a controller namespace (the "
        "parameter controller-namespaces, plus the Gateway's namespace for routes): the "
        "cluster's controller may run there. The default lists ingress-nginx and the "
        "namespaces common controllers install into (kube-system, traefik, kong, "
        "projectcontour, istio-system, envoy-gateway-system and others); set it to where "
        "your controller runs and a policy admitting only another namespace is reported "
        "(`rules: {networkpolicy-blocks-ingress: {controller-namespaces: [edge]}}` in "
        ".kube5xx.yaml or the webhook's config). A namespaceSelector on labels other than "
        "kubernetes.io/metadata.name is judged only when the Namespace objects are in the "
        "input; a peer with both selectors, an ipBlock or no `from` is taken as admitting. "
        "Reference: https://kubernetes.io/docs/concepts/services-networking/network-policies/",
    .remediation = "Add an ingress rule to a policy selecting these pods that admits the "
                   "controller on the pods' port: a namespaceSelector matching the "
                   "controller's namespace (kubernetes.io/metadata.name: ingress-nginx), or an "
                   "ipBlock of the load balancer's addresses.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: NetworkPolicy\n"
                      "metadata: {name: default-deny}\n"
                      "spec:\n"
                      "  podSelector: {}\n"
                      "  policyTypes: [Ingress]\n"
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
                      "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata: {name: shop}\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 80}}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: NetworkPolicy\n"
               "metadata: {name: default-deny}\n"
               "spec:\n"
               "  podSelector: {}\n"
               "  policyTypes: [Ingress]\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: NetworkPolicy\n"
               "metadata: {name: web-from-ingress}\n"
               "spec:\n"
               "  podSelector: {matchLabels: {app: web}}\n"
               "  ingress:\n"
               "    - from:\n"
               "        - namespaceSelector:\n"
               "            matchLabels: {kubernetes.io/metadata.name: ingress-nginx}\n"
               "      ports: [{port: 8080}]\n"
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
               "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata: {name: shop}\n"
               "spec:\n"
               "  defaultBackend:\n"
               "    service: {name: web, port: {number: 80}}\n",
    .params = {{"controller-namespaces", K5_PARAM_NAMES,
                "ingress-nginx, nginx-ingress, kube-system, traefik, traefik-system, kong, "
                "contour, projectcontour, haproxy-controller, haproxy-ingress, istio-system, "
                "istio-ingress, envoy-gateway-system, gloo-system, emissary, ambassador, "
                "app-routing-system, nginx-gateway, skipper, heptio-contour",
                "namespaces where the ingress controller or Gateway data plane runs (a list); "
                "a policy admitting one of them admits the controller"}},
    .check = check,
};
