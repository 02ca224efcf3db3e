/*
 * route-backend-invalid: an HTTPRoute or GRPCRoute backendRef to a Service
 * that has no such port, or to a Service of another namespace that no
 * ReferenceGrant there lets the route reach.
 */
#include "k5_check.h"

static k5_status judge_grant(k5_check *c, const k5_object *route, const k5__route_backend *b,
                             const k5_object *svc)
{
    k5_str name = k5_node_str(b->name);
    /* A GAMMA consumer route sends its parent Service's traffic on to it: no grant needed
     * (the mesh conformance test MeshConsumerRoute has none). */
    if (k5__route_parent_service(route, b->ns, name))
        return K5_OK;
    k5__grants g;
    k5__route_grants(c, route, b, &g);
    if (g.allowing)
        return K5_OK;
    /* No grant of that namespace is in the input: it may be applied from elsewhere
     * (a platform repository), so only with the Service at hand is it worth a warning. */
    if (!g.count && !svc)
        return K5_OK;
    k5_severity max = g.count && !b->mirror ? K5_SEV_ERROR : K5_SEV_WARNING;
    char why[300] = "";
    if (route->namespace_implicit) {
        max = K5_SEV_WARNING;
        k5__implicit_note(route, route, why, sizeof why);
    }
    char have[120];
    if (g.count)
        snprintf(have, sizeof have, "none of the %zu ReferenceGrant%s there admits it", g.count,
                 g.count == 1 ? "" : "s");
    else
        snprintf(have, sizeof have, "the input holds no ReferenceGrant there");
    return k5_check_report_absence(
        c, max, b->ns_node, NULL,
        "%.*s \"%.*s\" %s reaches Service \"%.*s\" in namespace \"%.*s\", but %s (from: group "
        "gateway.networking.k8s.io, kind %.*s, namespace \"%.*s\"; to: group \"\", kind "
        "Service): the reference is refused and %s%s",
        (int)route->kind.n, route->kind.p, (int)route->name.n, route->name.p, b->where,
        (int)name.n, name.p, (int)b->ns.n, b->ns.p, have, (int)route->kind.n, route->kind.p,
        (int)route->namespace_.n, route->namespace_.p, k5__route_backend_effect(b), why);
}

static k5_status judge_port(k5_check *c, const k5_object *route, const k5__route_backend *b,
                            const k5_object *svc)
{
    int64_t want;
    if (!b->port || !k5_node_int(b->port, &want))
        return K5_OK; /* a Service backendRef without a port is rejected by the CRDs */
    const k5_node *spec = k5_map_get(svc->root, "spec");
    const k5_node *ports = k5_map_get(spec, "ports");
    /* An ExternalName Service has no ports of its own; a portless one is another finding. */
    if (k5_node_is(k5_map_get(spec, "type"), "ExternalName") || !k5_node_len(ports))
        return K5_OK;
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        int64_t pn;
        if (k5_node_int(k5_map_get(k5_seq_at(ports, i), "port"), &pn) && pn == want)
            return K5_OK;
    }
    char declared[400], hint[160] = "";
    k5__service_ports_describe(ports, declared, sizeof declared);
    /* The usual mistake: the container's port (the targetPort) instead of the Service's. */
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t tp;
        if (k5_node_int(k5_map_get(p, "targetPort"), &tp) && tp == want) {
            k5_str pn = k5_node_str(k5_map_get(p, "port"));
            snprintf(hint, sizeof hint,
                     "; %lld is the targetPort of port %.*s, and a backendRef names the Service "
                     "port",
                     (long long)want, (int)pn.n, pn.p ? pn.p : "?");
            break;
        }
    }
    k5_str name = k5_node_str(b->name);
    return k5_check_report_capped(c, b->mirror ? K5_SEV_WARNING : K5_SEV_ERROR, b->port, NULL,
                                  "%.*s \"%.*s\" %s sends traffic to port %lld of Service "
                                  "\"%.*s\", which has no such port (ports: %s): %s%s",
                                  (int)route->kind.n, route->kind.p, (int)route->name.n,
                                  route->name.p, b->where, (long long)want, (int)name.n, name.p,
                                  declared, k5__route_backend_effect(b), hint);
}

static k5_status judge(k5_check *c, const k5_object *route, const k5__route_backend *b, void *ud)
{
    (void)ud;
    const k5_object *svc =
        k5_index_find(k5_check_index(c), b->ns, K5_KIND_SERVICE, k5_node_str(b->name));
    k5_status st = K5_OK;
    if (b->cross)
        st = judge_grant(c, route, b, svc);
    if (st == K5_OK && svc)
        st = judge_port(c, route, b, svc);
    return st; /* a missing Service is route-backend-service-missing's finding */
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    return k5__route_each_backend(c, obj, judge, NULL);
}

const k5_rule k5__rule_route_backend_invalid = {
    .id = "route-backend-invalid",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per backendRef: the Service is looked up by namespace and name (hash index); "
            "a backendRef to another namespace also reads the ReferenceGrants of that "
            "namespace (O(grants there), from the namespace-and-kind index)",
    .scope_note = NULL,
    .summary = "An HTTPRoute or GRPCRoute backendRef names a port its Service lacks, or a "
               "Service of another namespace no ReferenceGrant lets it reach",
    .explanation =
        "A Service backendRef (group \"\", kind Service, the defaults) names the Service port "
        "(spec.ports[].port, not the targetPort). When the Service has no such port, or when "
        "the Service is in another namespace and no ReferenceGrant in that namespace admits the "
        "route's kind from the route's namespace, the reference is invalid: the Gateway API "
        "spec says requests to it MUST get a 500, and the route reports ResolvedRefs=False "
        "(BackendNotFound or RefNotPermitted). A ReferenceGrant missing from the input is only "
        "a warning (it may be applied from another repository) unless the namespace holds "
        "other ReferenceGrants; at admission it only warns (the grant may come later in the same "
        "apply). An invalid requestMirror backendRef is dropped (clients see "
        "no 5xx, the copy is lost): a warning. Backends of weight 0 get no traffic and are "
        "not judged; neither is a GAMMA consumer route's reference to its parent Service. "
        "Reference: "
        "https://gateway-api.sigs.k8s.io/api-types/httproute/#backendrefs-optional and "
        "https://gateway-api.sigs.k8s.io/api-types/referencegrant/",
    .remediation = "Use a port of the Service (spec.ports[].port). For a Service in another "
                   "namespace, add a ReferenceGrant in that namespace whose from names the "
                   "route's group, kind and namespace and whose to names the Service.",
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
                      "    - backendRefs: [{name: web, port: 8080}]\n"
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
