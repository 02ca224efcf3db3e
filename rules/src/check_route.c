/*
 * Shared helpers for the Gateway API rules: the backendRefs of an HTTPRoute or
 * GRPCRoute, their parentRefs, ReferenceGrants, and Service ports as a person
 * reads them.
 */
#include "k5_check.h"

#define GATEWAY_GROUP "gateway.networking.k8s.io"

static bool str_is(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/*
 * A backendRef names a core Service when its group is "" and its kind Service,
 * the defaults (the Gateway API's BackendObjectReference).
 */
static bool names_service(const k5_node *ref)
{
    const k5_node *group = k5_map_get(ref, "group"), *kind = k5_map_get(ref, "kind");
    if (group && !str_is(k5_node_str(group), ""))
        return false;
    return !kind || k5_node_is(kind, "Service");
}

/* weight 0: the backend receives no traffic, so an invalid one answers nothing. */
static bool zero_weight(const k5_node *ref)
{
    int64_t weight;
    return k5_node_int(k5_map_get(ref, "weight"), &weight) && weight == 0;
}

typedef struct walk {
    k5_check *c;
    const k5_object *route;
    k5__route_backend_fn fn;
    void *ud;
} walk;

static k5_status visit(walk *w, const k5_node *ref, size_t rule, bool mirror, const char *where)
{
    k5__route_backend rb;
    memset(&rb, 0, sizeof rb);
    if (!k5_node_is_map(ref) || !names_service(ref))
        return K5_OK;
    if (!mirror && zero_weight(ref))
        return K5_OK;
    rb.mirror = mirror;
    rb.ref = ref;
    rb.name = k5_map_get(ref, "name");
    if (k5_node_kind(rb.name) != K5_NODE_STR || !k5_node_str(rb.name).n)
        return K5_OK;
    rb.port = k5_map_get(ref, "port");
    if (rb.port && k5_node_kind(rb.port) == K5_NODE_NULL)
        rb.port = NULL;
    rb.ns_node = k5_map_get(ref, "namespace");
    k5_str ns = k5_node_str(rb.ns_node);
    if (!rb.ns_node || !ns.n) {
        rb.ns_node = NULL;
        ns = w->route->namespace_;
    }
    rb.ns = ns;
    rb.cross = !k5__str_eq(ns, w->route->namespace_);
    rb.rule = rule;
    snprintf(rb.where, sizeof rb.where, "%s", where);
    return w->fn(w->c, w->route, &rb, w->ud);
}

/* filters[].requestMirror.backendRef of a rule or of one of its backendRefs. */
static k5_status visit_mirrors(walk *w, const k5_node *filters, size_t rule, bool in_ref,
                               size_t ref)
{
    k5_status st = K5_OK;
    for (size_t f = 0; f < k5_node_len(filters) && st == K5_OK; f++) {
        const k5_node *m = k5_map_get(k5_seq_at(filters, f), "requestMirror");
        const k5_node *ref_node = k5_map_get(m, "backendRef");
        if (!ref_node)
            continue;
        char where[96];
        if (in_ref)
            snprintf(where, sizeof where, "rules[%zu].backendRefs[%zu].filters[%zu].requestMirror",
                     rule, ref, f);
        else
            snprintf(where, sizeof where, "rules[%zu].filters[%zu].requestMirror", rule, f);
        st = visit(w, ref_node, rule, true, where);
    }
    return st;
}

k5_status k5__route_each_backend(k5_check *c, const k5_object *route, k5__route_backend_fn fn,
                                 void *ud)
{
    walk w = {c, route, fn, ud};
    const k5_node *rules = k5_node_at(route->root, "spec.rules");
    k5_status st = K5_OK;
    for (size_t r = 0; r < k5_node_len(rules) && st == K5_OK; r++) {
        const k5_node *rule = k5_seq_at(rules, r);
        const k5_node *refs = k5_map_get(rule, "backendRefs");
        for (size_t i = 0; i < k5_node_len(refs) && st == K5_OK; i++) {
            const k5_node *ref = k5_seq_at(refs, i);
            char where[96];
            snprintf(where, sizeof where, "rules[%zu].backendRefs[%zu]", r, i);
            st = visit(&w, ref, r, false, where);
            if (st == K5_OK && !zero_weight(ref))
                st = visit_mirrors(&w, k5_map_get(ref, "filters"), r, true, i);
        }
        if (st == K5_OK)
            st = visit_mirrors(&w, k5_map_get(rule, "filters"), r, false, 0);
    }
    return st;
}

const char *k5__route_backend_effect(const k5__route_backend *b)
{
    return b->mirror ? "the gateway drops the mirror and sends no copy (ResolvedRefs=False)"
                     : "the gateway answers 500";
}

bool k5__route_parent_service(const k5_object *route, k5_str ns, k5_str name)
{
    const k5_node *refs = k5_node_at(route->root, "spec.parentRefs");
    for (size_t i = 0; i < k5_node_len(refs); i++) {
        const k5_node *p = k5_seq_at(refs, i);
        k5_str pns = k5_node_str(k5_map_get(p, "namespace"));
        if (!pns.n)
            pns = route->namespace_;
        if (k5_map_get(p, "group") && str_is(k5_node_str(k5_map_get(p, "group")), "") &&
            k5_node_is(k5_map_get(p, "kind"), "Service") &&
            k5__str_eq(k5_node_str(k5_map_get(p, "name")), name) && k5__str_eq(pns, ns))
            return true;
    }
    return false;
}

/* True when the ReferenceGrant's from[] admits routes of that kind from namespace ns. */
static bool grant_from(const k5_node *from, k5_str kind, k5_str ns)
{
    for (size_t i = 0; i < k5_node_len(from); i++) {
        const k5_node *f = k5_seq_at(from, i);
        if (str_is(k5_node_str(k5_map_get(f, "group")), GATEWAY_GROUP) &&
            k5__str_eq(k5_node_str(k5_map_get(f, "kind")), kind) &&
            k5__str_eq(k5_node_str(k5_map_get(f, "namespace")), ns))
            return true;
    }
    return false;
}

/* True when the ReferenceGrant's to[] covers the core Service `name` (no name: every one). */
static bool grant_to(const k5_node *to, k5_str name)
{
    for (size_t i = 0; i < k5_node_len(to); i++) {
        const k5_node *t = k5_seq_at(to, i);
        k5_str n = k5_node_str(k5_map_get(t, "name"));
        if (str_is(k5_node_str(k5_map_get(t, "group")), "") &&
            k5_node_is(k5_map_get(t, "kind"), "Service") && (!n.n || k5__str_eq(n, name)))
            return true;
    }
    return false;
}

typedef struct grant_ctx {
    k5_str kind, from_ns, name;
    k5__grants *out;
} grant_ctx;

static bool visit_grant(const k5_object *g, void *ud)
{
    grant_ctx *x = ud;
    x->out->count++;
    const k5_node *spec = k5_map_get(g->root, "spec");
    if (grant_from(k5_map_get(spec, "from"), x->kind, x->from_ns) &&
        grant_to(k5_map_get(spec, "to"), x->name)) {
        x->out->allowing = g;
        return false;
    }
    return true;
}

void k5__route_grants(const k5_check *c, const k5_object *route, const k5__route_backend *b,
                      k5__grants *out)
{
    out->count = 0;
    out->allowing = NULL;
    grant_ctx x = {route->kind, route->namespace_, k5_node_str(b->name), out};
    k5_index_each(k5_check_index(c), b->ns, K5_KIND_REFERENCEGRANT, visit_grant, &x);
}

void k5__service_ports_describe(const k5_node *ports, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k5_node_len(ports) && len < size; i++) {
        const k5_node *p = k5_seq_at(ports, i);
        k5_str num = k5_node_str(k5_map_get(p, "port"));
        k5_str name = k5_node_str(k5_map_get(p, "name"));
        int n;
        if (name.n)
            n = snprintf(buf + len, size - len, "%s%.*s \"%.*s\"", len ? ", " : "", (int)num.n,
                         num.p ? num.p : "?", (int)name.n, name.p);
        else
            n = snprintf(buf + len, size - len, "%s%.*s (unnamed)", len ? ", " : "", (int)num.n,
                         num.p ? num.p : "?");
        if (n > 0)
            len += (size_t)n;
    }
}
