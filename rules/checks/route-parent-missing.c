/*
 * route-parent-missing: an HTTPRoute or GRPCRoute parentRef to a Gateway that
 * is not in the input, or to a listener (sectionName, port) the Gateway does
 * not have or that does not admit the route: the route is never attached.
 */
#include "k5_check.h"

#define GATEWAY_GROUP "gateway.networking.k8s.io"
#define MAX_LISTED 5

static bool str_is(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

typedef struct names {
    char buf[300];
    size_t len, count;
} names;

/* Lists the first MAX_LISTED names; one more says "...": the walk stops there. */
static bool add_name(const k5_object *o, void *ud)
{
    names *n = ud;
    if (n->count++ < MAX_LISTED && n->len < sizeof n->buf) {
        int w = snprintf(n->buf + n->len, sizeof n->buf - n->len, "%s%.*s", n->len ? ", " : "",
                         (int)o->name.n, o->name.p);
        if (w > 0)
            n->len += (size_t)w;
    }
    return n->count <= MAX_LISTED;
}

static bool first_elsewhere(const k5_object *o, void *ud)
{
    *(const k5_object **)ud = o;
    return false;
}

static k5_status judge_absent(k5_check *c, const k5_object *route, const k5_node *name_node,
                              k5_str ns, bool ns_written)
{
    const k5_index *idx = k5_check_index(c);
    /* Linted without the Gateways of that namespace (they usually live with the platform). */
    size_t gateways = k5_index_count(idx, ns, K5_KIND_GATEWAY);
    if (!gateways)
        return K5_OK;
    k5_str name = k5_node_str(name_node);
    names n = {"", 0, 0};
    k5_index_each(idx, ns, K5_KIND_GATEWAY, add_name, &n);
    if (n.len >= sizeof n.buf)
        n.len = sizeof n.buf - 1;
    /* A namespace written nowhere is wherever the route is applied: Gateways the input puts
     * there from other files may belong to unrelated manifests linted together. */
    if (!ns_written && route->namespace_implicit &&
        !k5_index_has_in_file(idx, ns, K5_KIND_GATEWAY, route->file))
        return K5_OK;
    const k5_object *other = NULL;
    k5_index_find_elsewhere(idx, ns, K5_KIND_GATEWAY, (k5_str){NULL, 0}, name, first_elsewhere,
                            &other);
    char hint[200] = "";
    if (other)
        snprintf(hint, sizeof hint, "; a Gateway \"%.*s\" exists in namespace \"%.*s\": set "
                 "parentRefs[].namespace", (int)name.n, name.p, (int)other->namespace_.n,
                 other->namespace_.p);
    return k5_check_report(c, name_node, NULL,
                           "%.*s \"%.*s\" attaches to Gateway \"%.*s\", which is not in namespace "
                           "\"%.*s\" (Gateways there: %.*s%s): the route is never attached, and "
                           "its requests get 404 or 503 at the edge%s",
                           (int)route->kind.n, route->kind.p, (int)route->name.n, route->name.p,
                           (int)name.n, name.p, (int)ns.n, ns.p, (int)n.len, n.buf,
                           gateways > MAX_LISTED ? ", ..." : "", hint);
}

/* True when the listener's allowedRoutes admits this route (namespaces and explicit kinds). */
static bool admits(const k5_node *listener, const k5_object *gw, const k5_object *route)
{
    const k5_node *allowed = k5_map_get(listener, "allowedRoutes");
    const k5_node *from = k5_node_at(allowed, "namespaces.from");
    /* Same is the default; Selector needs the Namespace's labels: given the benefit of doubt. */
    if ((!from || k5_node_is(from, "Same")) && !k5__str_eq(gw->namespace_, route->namespace_))
        return false;
    const k5_node *kinds = k5_map_get(allowed, "kinds");
    if (!k5_node_len(kinds))
        return true; /* the protocol's default kinds: left to the implementation */
    for (size_t i = 0; i < k5_node_len(kinds); i++) {
        const k5_node *k = k5_seq_at(kinds, i);
        const k5_node *g = k5_map_get(k, "group");
        if (k5__str_eq(k5_node_str(k5_map_get(k, "kind")), route->kind) &&
            (!g || str_is(k5_node_str(g), GATEWAY_GROUP)))
            return true;
    }
    return false;
}

static void describe_listeners(const k5_node *listeners, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k5_node_len(listeners) && len < size; i++) {
        const k5_node *l = k5_seq_at(listeners, i);
        k5_str name = k5_node_str(k5_map_get(l, "name"));
        k5_str port = k5_node_str(k5_map_get(l, "port"));
        k5_str proto = k5_node_str(k5_map_get(l, "protocol"));
        int n = snprintf(buf + len, size - len, "%s\"%.*s\" %.*s/%.*s", len ? ", " : "",
                         (int)name.n, name.p ? name.p : "", (int)port.n, port.p ? port.p : "?",
                         (int)proto.n, proto.p ? proto.p : "?");
        if (n > 0)
            len += (size_t)n;
    }
    if (!len)
        snprintf(buf, size, "none");
}

enum { ATTACHED, NOT_ADMITTED, NO_LISTENER };

/* Whether the parentRef's sectionName and port select a listener of gw that admits the route. */
static int attach(const k5_object *route, const k5_node *ref, const k5_object *gw)
{
    const k5_node *section = k5_map_get(ref, "sectionName");
    int64_t port = 0;
    bool by_port = k5_node_int(k5_map_get(ref, "port"), &port);
    bool by_section = k5_node_str(section).n > 0;
    const k5_node *listeners = k5_node_at(gw->root, "spec.listeners");
    if (!k5_node_is_seq(listeners))
        return ATTACHED; /* a Gateway without listeners is rejected by the CRDs */
    int state = NO_LISTENER;
    for (size_t i = 0; i < k5_node_len(listeners); i++) {
        const k5_node *l = k5_seq_at(listeners, i);
        int64_t lp;
        if (by_section && !k5__str_eq(k5_node_str(k5_map_get(l, "name")), k5_node_str(section)))
            continue;
        if (by_port && !(k5_node_int(k5_map_get(l, "port"), &lp) && lp == port))
            continue;
        if (admits(l, gw, route))
            return ATTACHED;
        state = NOT_ADMITTED;
    }
    return state;
}

static k5_status report_listener(k5_check *c, const k5_object *route, const k5_node *ref,
                                 const k5_object *gw, int state)
{
    const k5_node *section = k5_map_get(ref, "sectionName");
    const k5_node *port_node = k5_map_get(ref, "port");
    int64_t port = 0;
    bool by_port = k5_node_int(port_node, &port);
    bool by_section = k5_node_str(section).n > 0;
    char have[400], want[160];
    describe_listeners(k5_node_at(gw->root, "spec.listeners"), have, sizeof have);
    k5_str sn = k5_node_str(section);
    if (by_section && by_port)
        snprintf(want, sizeof want, "listener \"%.*s\" on port %lld", (int)sn.n, sn.p,
                 (long long)port);
    else if (by_section)
        snprintf(want, sizeof want, "listener \"%.*s\"", (int)sn.n, sn.p);
    else if (by_port)
        snprintf(want, sizeof want, "a listener on port %lld", (long long)port);
    else
        snprintf(want, sizeof want, "a listener");
    const k5_node *at = by_section ? section : by_port ? port_node : k5_map_get(ref, "name");
    if (state == NO_LISTENER)
        return k5_check_report(c, at, NULL,
                               "%.*s \"%.*s\" attaches to %s of Gateway \"%.*s\", which has none "
                               "(listeners: %s): the route is never attached, and its requests "
                               "get 404 or 503 at the edge",
                               (int)route->kind.n, route->kind.p, (int)route->name.n,
                               route->name.p, want, (int)gw->name.n, gw->name.p, have);
    return k5_check_report(c, at, NULL,
                           "%.*s \"%.*s\" attaches to %s of Gateway \"%.*s\" in namespace "
                           "\"%.*s\", but its allowedRoutes admit no %.*s from namespace \"%.*s\" "
                           "(namespaces.from defaults to Same): the route is never attached, and "
                           "its requests get 404 or 503 at the edge",
                           (int)route->kind.n, route->kind.p, (int)route->name.n, route->name.p,
                           want, (int)gw->name.n, gw->name.p, (int)gw->namespace_.n,
                           gw->namespace_.p, (int)route->kind.n, route->kind.p,
                           (int)route->namespace_.n, route->namespace_.p);
}

/* The Gateways of that name (duplicates from several files: attached to any is attached). */
typedef struct gateways {
    const k5_object *route;
    const k5_node *ref;
    bool found, attached;
    const k5_object *judged; /* the one reported on: the route's own file's first */
    int state;
} gateways;

static bool visit_gateway(const k5_object *gw, void *ud)
{
    gateways *g = ud;
    g->found = true;
    int state = attach(g->route, g->ref, gw);
    if (state == ATTACHED) {
        g->attached = true;
        return false;
    }
    if (!g->judged || (gw->file == g->route->file && g->judged->file != g->route->file)) {
        g->judged = gw;
        g->state = state;
    }
    return true;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *refs = k5_node_at(obj->root, "spec.parentRefs");
    k5_status st = K5_OK;
    for (size_t i = 0; i < k5_node_len(refs) && st == K5_OK; i++) {
        const k5_node *ref = k5_seq_at(refs, i);
        const k5_node *group = k5_map_get(ref, "group"), *kind = k5_map_get(ref, "kind");
        /* Defaults: group gateway.networking.k8s.io, kind Gateway. A mesh route's Service
         * parent, a ListenerSet or another kind is not judged. */
        if ((group && !str_is(k5_node_str(group), GATEWAY_GROUP)) ||
            (kind && !k5_node_is(kind, "Gateway")))
            continue;
        const k5_node *name = k5_map_get(ref, "name");
        if (k5_node_kind(name) != K5_NODE_STR || !k5_node_str(name).n)
            continue;
        k5_str ns = k5_node_str(k5_map_get(ref, "namespace"));
        if (!ns.n)
            ns = obj->namespace_;
        gateways g = {obj, ref, false, false, NULL, ATTACHED};
        k5_index_each_named(k5_check_index(c), ns, K5_KIND_GATEWAY, k5_node_str(name),
                            visit_gateway, &g);
        if (!g.found)
            st = judge_absent(c, obj, name, ns, k5_node_str(k5_map_get(ref, "namespace")).n > 0);
        else if (!g.attached)
            st = report_listener(c, obj, ref, g.judged, g.state);
    }
    return st;
}

const k5_rule k5__rule_route_parent_missing = {
    .id = "route-parent-missing",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per parentRef: the Gateway is looked up by namespace and name (hash index), "
            "then its listeners are read (every Gateway of that name, when files repeat one); "
            "when the Gateway is missing, the first Gateways of the namespace are listed (at "
            "most 6 visited), whether one comes from the route's file is a binary search "
            "(O(log Gateways there)), and other namespaces are searched through an index by "
            "name (O(objects of that name); measured: bench/scale_bench.sh)",
    .scope_note = NULL,
    .summary = "An HTTPRoute or GRPCRoute parentRef names a Gateway, listener or port that is "
               "not there, or a listener that does not admit the route",
    .explanation =
        "A route serves traffic only once a Gateway accepts it: its parentRef (group "
        "gateway.networking.k8s.io, kind Gateway, the route's namespace, by default) must name "
        "a Gateway, its sectionName a listener of that Gateway and its port a listener's port, "
        "and the listener's allowedRoutes must admit the route's namespace (Same by default) "
        "and kind. Otherwise the route is never attached (Accepted=False, NoMatchingParent or "
        "NotAllowedByListeners) and its requests get 404 from the gateway, or 503 where nothing "
        "else matches. A warning: the Gateway may live in another repository, so the rule is "
        "silent when the input holds no Gateway in that namespace; a listener allowing "
        "namespaces by Selector is given the benefit of the doubt. Reference: "
        "https://gateway-api.sigs.k8s.io/api-types/httproute/#parentrefs and "
        "https://gateway-api.sigs.k8s.io/concepts/api-overview/#attaching-routes-to-gateways",
    .remediation = "Name an existing Gateway (and its namespace, when it is not the route's), a "
                   "listener name it declares in sectionName, or a port one of its listeners "
                   "uses; for a route in another namespace set the listener's "
                   "allowedRoutes.namespaces.from to All or Selector.",
    .example_broken = "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: Gateway\n"
                      "metadata: {name: edge}\n"
                      "spec:\n"
                      "  gatewayClassName: example\n"
                      "  listeners:\n"
                      "    - {name: http, protocol: HTTP, port: 80}\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  parentRefs: [{name: edge, sectionName: https}]\n"
                      "  rules:\n"
                      "    - backendRefs: [{name: web, port: 80}]\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports: [{name: http, port: 80, targetPort: http}]\n",
    .example = "apiVersion: gateway.networking.k8s.io/v1\n"
               "kind: Gateway\n"
               "metadata: {name: edge}\n"
               "spec:\n"
               "  gatewayClassName: example\n"
               "  listeners:\n"
               "    - {name: http, protocol: HTTP, port: 80}\n"
               "---\n"
               "apiVersion: gateway.networking.k8s.io/v1\n"
               "kind: HTTPRoute\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  parentRefs: [{name: edge, sectionName: http}]\n"
               "  rules:\n"
               "    - backendRefs: [{name: web, port: 80}]\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: http}]\n",
    .check = check,
};
