/*
 * route-backend-service-missing: an HTTPRoute or GRPCRoute backendRef naming
 * a Service that is not in its namespace.
 */
#include "k5_check.h"

#define MAX_LISTED 5

typedef struct names {
    char buf[300];
    size_t len, count;
} names;

/* Lists the first MAX_LISTED names; one more says "...": the walk stops there. */
static bool add_name(const k5_object *s, void *ud)
{
    names *n = ud;
    if (n->count++ < MAX_LISTED && n->len < sizeof n->buf) {
        int w = snprintf(n->buf + n->len, sizeof n->buf - n->len, "%s%.*s", n->len ? ", " : "",
                         (int)s->name.n, s->name.p);
        if (w > 0)
            n->len += (size_t)w;
    }
    return n->count <= MAX_LISTED;
}

typedef struct elsewhere {
    bool self_implicit;            /* the backend's namespace is the route's, written nowhere */
    const k5_object *found;        /* the first match where both namespaces are written down */
    const k5_object *implicit_obj; /* the first match where one of the two is not */
} elsewhere;

static bool visit_elsewhere(const k5_object *o, void *ud)
{
    elsewhere *e = ud;
    if (o->namespace_implicit || e->self_implicit) {
        if (!e->implicit_obj)
            e->implicit_obj = o;
        return true;
    }
    e->found = o;
    return false;
}

static k5_status judge(k5_check *c, const k5_object *route, const k5__route_backend *b, void *ud)
{
    (void)ud;
    const k5_index *idx = k5_check_index(c);
    k5_str name = k5_node_str(b->name);
    if (k5_index_find(idx, b->ns, K5_KIND_SERVICE, name))
        return K5_OK;
    k5__absence ab;
    k5__absence_of(c, NULL, name, &ab);
    /* A backendRef without a namespace lands in the route's, which may be written nowhere. */
    elsewhere e = {!b->ns_node && route->namespace_implicit, NULL, NULL};
    k5_index_find_elsewhere(idx, b->ns, K5_KIND_SERVICE, (k5_str){NULL, 0}, name,
                            visit_elsewhere, &e);
    const k5_object *other = e.found ? e.found : e.implicit_obj;
    bool implicit = !e.found && e.implicit_obj;
    size_t services = k5_index_count(idx, b->ns, K5_KIND_SERVICE);
    if (other && implicit && !services)
        return K5_OK; /* linted without its Services, and its namespace is not certain */
    char why[400] = "";
    if (other && implicit)
        k5__implicit_note(e.self_implicit ? route : other, other, why, sizeof why);
    if (other)
        return k5_check_report_capped(
            c, implicit || b->mirror ? K5_SEV_WARNING : ab.max, b->name, NULL,
            "%.*s \"%.*s\" %s names Service \"%.*s\" in namespace \"%.*s\", which exists only "
            "in namespace \"%.*s\": set the backendRef's namespace and add a ReferenceGrant "
            "there, or %s%s%s",
            (int)route->kind.n, route->kind.p, (int)route->name.n, route->name.p, b->where,
            (int)name.n, name.p, (int)b->ns.n, b->ns.p, (int)other->namespace_.n,
            other->namespace_.p, k5__route_backend_effect(b), why, ab.note);
    /* A route linted without any Service of that namespace is not an error. */
    if (!services)
        return K5_OK;
    names n = {"", 0, 0};
    k5_index_each(idx, b->ns, K5_KIND_SERVICE, add_name, &n);
    if (n.len >= sizeof n.buf)
        n.len = sizeof n.buf - 1;
    /*
     * A namespace nobody wrote down is wherever the manifests are applied: the Services the
     * input puts there may belong to unrelated manifests linted together (a directory of
     * examples), unless the route's own file (one rendered chart, one application) has some.
     */
    k5_severity max = ab.max;
    const char *guess = "";
    if (!b->ns_node && route->namespace_implicit &&
        !k5_index_has_in_file(idx, b->ns, K5_KIND_SERVICE, route->file)) {
        max = K5_SEV_WARNING;
        guess = " (the route names no namespace and the Services of that namespace come from "
                "other files: it may be applied elsewhere)";
    }
    if (b->mirror)
        max = K5_SEV_WARNING;
    return k5_check_report_capped(c, max, b->name, NULL,
                                  "%.*s \"%.*s\" %s names Service \"%.*s\", which is not in "
                                  "namespace \"%.*s\" (Services there: %.*s%s): %s%s%s",
                                  (int)route->kind.n, route->kind.p, (int)route->name.n,
                                  route->name.p, b->where, (int)name.n, name.p, (int)b->ns.n,
                                  b->ns.p, (int)n.len, n.buf, services > MAX_LISTED ? ", ..." : "",
                                  k5__route_backend_effect(b), guess, ab.note);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    return k5__route_each_backend(c, obj, judge, NULL);
}

const k5_rule k5__rule_route_backend_service_missing = {
    .id = "route-backend-service-missing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per backendRef by name; when the Service is missing, the first Services of "
            "the namespace are listed (at most 6 visited), whether one comes from the route's "
            "file is a binary search (O(log Services there)), and other namespaces are searched "
            "through an index by name (O(objects of that name); measured: bench/scale_bench.sh)",
    .scope_note = NULL,
    .summary = "An HTTPRoute or GRPCRoute backendRef names a Service that does not exist in its "
               "namespace",
    .explanation =
        "A Service backendRef (group \"\", kind Service, the defaults) names a Service of the "
        "route's namespace, or of the namespace it sets. When that Service does not exist (a "
        "typo, a renamed Service, one in another namespace) the reference cannot be resolved: "
        "the Gateway API spec says requests to it MUST get a 500 (ResolvedRefs=False, "
        "BackendNotFound), and a rule whose every backend is invalid answers 500 to all its "
        "traffic. The rule stays silent when the input holds no Service in that namespace "
        "(linted without its Services), and is a warning when the only Service of that name "
        "is in a namespace one side does not write down, or when the route names no namespace "
        "and the Services of that namespace all come from other files. An invalid "
        "requestMirror backendRef is dropped (clients see no 5xx, the copy is lost): a "
        "warning. Backends of weight 0 get no traffic and are not judged. Reference: "
        "https://gateway-api.sigs.k8s.io/api-types/httproute/#backendrefs-optional",
    .remediation = "Name a Service that exists in the backendRef's namespace (the route's "
                   "unless it sets namespace); for a Service in another namespace set "
                   "backendRefs[].namespace and add a ReferenceGrant there.",
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
                      "  parentRefs: [{name: edge}]\n"
                      "  rules:\n"
                      "    - backendRefs: [{name: web-svc, port: 80}]\n"
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
               "  parentRefs: [{name: edge}]\n"
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
